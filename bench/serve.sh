#!/usr/bin/env bash
# stadtfeed serve against nginx serving the output of `stadtfeed build`, the
# same content on the same machine in the same run, loaded by wrk.
#
# usage: bench/serve.sh [seconds per run, default 10] [content dir, default feeds] [--cache-mb, default 64] [rounds, default 1]
#
# With a large content directory (a gen-corpus one), a last line cycles
# through 2 000 URLs sampled from the built site (articles, archive
# documents of every feed, month pages, front pages; fixed seed) with
# Accept-Encoding: gzip, most of them cold for stadtfeed: rendered on the
# first request and then kept in the --cache-mb cache.
#
# Both serve precompressed gzip (stadtfeed from memory, nginx by
# gzip_static from .gz files made here) and neither writes an access log
# (stadtfeed with RUST_LOG=warn, nginx with access_log off), so the lines
# compare serving, not compressing or logging. Installs nginx-light and wrk
# from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
feeds=$(realpath "${2:-feeds}")
cache_mb=${3:-64}
rounds=${4:-1}
connections=64
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi
# Another binary (an older commit's, for a comparison in the same hour) by
# STADTFEED_BIN.
if [ -n "${STADTFEED_BIN:-}" ]; then
  bin=$STADTFEED_BIN
else
  cargo build --release --quiet
  bin=$PWD/target/release/stadtfeed
fi
work=$(mktemp -d)
chmod 755 "$work"  # nginx workers run as an unprivileged user
sf_port=18080 ng_port=18081
cleanup() {
  [ -n "${sf_pid:-}" ] && kill "$sf_pid" 2>/dev/null && wait "$sf_pid" 2>/dev/null
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  sleep 0.2; rm -rf "$work"
}
trap cleanup EXIT

"$bin" build --feeds "$feeds" --out "$work/site" --cache-dir "$work/state" 2>/dev/null
# The URL sample: 2 000 documents, the same every run.
(cd "$work/site" && find . -type f ! -name '*.gz' | sed 's|^\.||; s|/index\.html$|/|' | sort) >"$work/all-urls"
shuf -n 2000 --random-source=<(yes 1) "$work/all-urls" | grep -v '^/media/' >"$work/urls" || true
# nginx gets .gz files for the documents it is asked for, as gzip_static wants.
(cat "$work/urls"; echo /feed.rss) | sed 's|/$|/index.html|' | while read -r url; do gzip -k -6 -f "$work/site$url"; done
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
daemon on;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  types { application/rss+xml rss; application/atom+xml atom; application/feed+json json; text/html html; }
  charset utf-8; charset_types application/rss+xml application/atom+xml application/feed+json;
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  gzip_static on; gzip_vary on;
  server {
    listen 127.0.0.1:$ng_port;
    root $work/site;
    location / { add_header Cache-Control "public, max-age=300"; }
  }
}
CONF
# The build just wrote gigabytes at 100 000 records: let the kernel put
# them on disk first, or its writeback runs during the first wrk lines.
sync
nginx -c "$work/nginx.conf"
RUST_LOG=warn "$bin" serve --feeds "$feeds" --addr 127.0.0.1:$sf_port --cache-mb "$cache_mb" --cache-dir "$work/state" \
  --max-per-client 1000 2>"$work/stadtfeed.log" &  # wrk's 64 connections are one address
sf_pid=$!
for _ in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:$sf_port/healthz && break; sleep 0.1; done
curl -sf -o /dev/null http://127.0.0.1:$ng_port/feed.rss

# Each server's own ETag for the gzip form, so the 304 line is a real revalidation.
etag_of() { curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}'; }
sf_etag=$(etag_of http://127.0.0.1:$sf_port/feed.rss)
ng_etag=$(etag_of http://127.0.0.1:$ng_port/feed.rss)
run() { # url header... → "requests/s p99"
  local url=$1; shift
  local args=()
  for h in "$@"; do args+=(-H "$h"); done
  wrk -t2 -c$connections -d"${duration}s" --latency "${args[@]}" "$url" >"$work/wrk.txt"
  local rps p99
  rps=$(awk '/^Requests\/sec/{print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%"{print $2}' "$work/wrk.txt")
  echo "$rps $p99"
}
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v }'; }

# Each line is measured in $rounds rounds, the two servers taking turns
# (which goes first alternates), so that the machine's drift within a few
# minutes falls on both alike; the line gives the medians, and the range of
# the rounds' ratios.
cat >"$work/cycle.lua" <<LUA
local paths = {}
for line in io.lines("$work/urls") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end
LUA
measure() { # server case → "requests/s p99"
  local port=$sf_port etag=$sf_etag
  [ "$1" = ng ] && port=$ng_port etag=$ng_etag
  case $2 in
    gzip)  run http://127.0.0.1:$port/feed.rss 'Accept-Encoding: gzip' ;;
    plain) run http://127.0.0.1:$port/feed.rss ;;
    304)   run http://127.0.0.1:$port/feed.rss 'Accept-Encoding: gzip' "If-None-Match: $etag" ;;
    cycle) wrk -t2 -c$connections -d"${duration}s" --latency -s "$work/cycle.lua" http://127.0.0.1:$port >"$work/wrk.txt"
           echo "$(awk '/^Requests\/sec/{print $2}' "$work/wrk.txt") $(awk '$1=="99%"{print $2}' "$work/wrk.txt")" ;;
  esac
}
median() { sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'; }
cases="gzip plain 304"
n_urls=$(grep -c . "$work/urls")
[ "$n_urls" -ge 100 ] && cases="$cases cycle"
printf '%-26s %14s %10s %14s %10s %12s %14s\n' "GET /feed.rss" "stadtfeed r/s" "p99 ms" "nginx r/s" "p99 ms" "r/s ratio" "round ratios"
for case in $cases; do
  : >"$work/sf.rounds"; : >"$work/ng.rounds"; : >"$work/ratios"
  for round in $(seq "$rounds"); do
    order="sf ng"; [ $((round % 2)) = 0 ] && order="ng sf"
    for server in $order; do measure "$server" "$case" >>"$work/$server.rounds"; done
    paste -d' ' "$work/sf.rounds" "$work/ng.rounds" | tail -1 | awk '{print $1/$3}' >>"$work/ratios"
  done
  sf_rps=$(awk '{print $1}' "$work/sf.rounds" | median); ng_rps=$(awk '{print $1}' "$work/ng.rounds" | median)
  sf_p99=$(while read -r _ p; do to_ms "$p"; done <"$work/sf.rounds" | median)
  ng_p99=$(while read -r _ p; do to_ms "$p"; done <"$work/ng.rounds" | median)
  label=$case; [ "$case" = cycle ] && label="$n_urls URLs, gzip"
  printf '%-26s %14.0f %10.2f %14.0f %10.2f %12.2f %14s\n' "$label" "$sf_rps" "$sf_p99" "$ng_rps" "$ng_p99" \
    "$(awk -v a="$sf_rps" -v b="$ng_rps" 'BEGIN{print a/b}')" "$(sort -g "$work/ratios" | awk 'NR==1{lo=$1} {hi=$1} END{printf "%.2f-%.2f", lo, hi}')"
done
echo "($connections connections, 2 wrk threads, ${duration}s per run, $rounds rounds per line, $(nproc) cores shared by server and wrk; --cache-mb $cache_mb; load at the end: $(cut -d" " -f1 /proc/loadavg))"
