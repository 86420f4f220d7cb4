#!/usr/bin/env bash
# How long `stadtfeed serve` takes to start, and to serve a new and a changed
# record, with N generated records (default 10 000); and its memory.
# usage: bench/reload.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
port=18090
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
python3 bench/gen_records.py "$n" "$work/feeds"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f s", b - a}'; }
wait_for() { # url text (no pipe into grep -q: with pipefail, curl's SIGPIPE would loop forever)
  until curl -s -o "$work/page" "$1" && grep -q "$2" "$work/page"; do sleep 0.02; done
}
t=$(now)
RUST_LOG=warn target/release/stadtfeed serve --feeds "$work/feeds" --addr 127.0.0.1:$port &
pid=$!
until curl -sf -o /dev/null http://127.0.0.1:$port/healthz; do sleep 0.05; done
echo "$n records: serving after $(since "$t"), RSS $(( $(ps -o rss= -p $pid) / 1024 )) MB"
sleep 1
t=$(now)
printf '+++\ntitle = "Neue Meldung BENCH1"\ndate = "24.11.2026 10:00"\ncategories = ["Kultur"]\n+++\nText\n' >"$work/feeds/articles/neu.md"
wait_for http://127.0.0.1:$port/feed.rss "BENCH1"
echo "new record (shifts every page of its feeds) served after $(since "$t") (includes the 250 ms debounce)"
sleep 1
t=$(now)
sed -i 's/^Text$/Text, geändert BENCH2/' "$work/feeds/articles/neu.md"
wait_for http://127.0.0.1:$port/artikel/neu/ "BENCH2"
echo "changed record served after $(since "$t")"
echo "RSS after two reloads $(( $(ps -o rss= -p $pid) / 1024 )) MB"
