#!/usr/bin/env bash
# `stadtfeed publish` after one new record, N times: each round writes a
# record of now into FEEDS/articles/bench-publish/ (by rename) and times
# one publish into s3://BUCKET on the cluster of bench/garage.sh.
#
# usage: bench/publish_cli_edit.sh FEEDS BUCKET STATE_DIR [N, default 9]
#   (with the exports bench/garage.sh printed: GARAGE_S3 and the key)
set -euo pipefail
cd "$(dirname "$0")/.."
feeds=${1:?content dir}
bucket=${2:?bucket}
state=${3:?state dir}
rounds=${4:-9}
bin=$PWD/target/release/stadtfeed
folder="$feeds/articles/bench-publish"
mkdir -p "$folder"
times=()
echo "load at the start: $(cut -d' ' -f1 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  n=$(date +%s%N)
  cat >"$folder/.new" <<EOR
+++
title = "Bucket-Messung $n"
date = "$(TZ=Europe/Berlin date +'%d.%m.%Y %H:%M')"
categories = ["Rathaus", "Kultur"]
+++
Text der Meldung Bucket-Messung $n.
EOR
  mv "$folder/.new" "$folder/publish-$n.md"
  started=$(date +%s.%N)
  line=$("$bin" publish --feeds "$feeds" --to "s3://$bucket" --endpoint "$GARAGE_S3" --cache-dir "$state" 2>&1 | tail -1)
  took=$(echo "$(date +%s.%N) - $started" | bc)
  times+=("$took")
  printf '%2d  %.2f s  %s\n' "$round" "$took" "${line#*refused; }"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %.2f s, min %.2f s, max %.2f s (%d runs)\n", a[int((NR+1)/2)], a[1], a[NR], NR}'
echo "load at the end: $(cut -d' ' -f1 /proc/loadavg)"
