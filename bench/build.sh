#!/usr/bin/env bash
# Time and peak memory of `stadtfeed build` for 1 000 and 10 000 generated
# records, beside a reference in the same run: `cp -r` of the same output
# (the file system's cost of writing that many files, which build pays too).
# usage: bench/build.sh            (release build; results on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/stadtfeed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure() { # label command... → "label: seconds s, peak KB"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1 || true
  read -r secs kb <"$work/time"
  printf '%-34s %6.2f s  %7d KB peak\n' "$label" "$secs" "$kb"
  echo "$secs"  >"$work/last"
}
for n in 1000 10000; do
  python3 bench/gen_records.py "$n" "$work/feeds-$n"
  measure "build $n, fresh --out" "$bin" build --feeds "$work/feeds-$n" --out "$work/out-$n"
  fresh=$(cat "$work/last")
  measure "build $n, again (unchanged --out)" "$bin" build --feeds "$work/feeds-$n" --out "$work/out-$n"
  measure "reference: cp -r of that output" cp -r "$work/out-$n" "$work/copy-$n"
  copy=$(cat "$work/last")
  awk -v a="$fresh" -v b="$copy" 'BEGIN { if (b > 0) printf "  ratio fresh build / cp -r: %.2f\n", a / b }'
done
