#!/usr/bin/env bash
# Accessibility and SEO of the pages, as browsers judge them: axe-core in
# headless Chromium (light and dark colour scheme, 390 px wide) on each kind
# of page, and Lighthouse (accessibility, SEO, best practices) on three.
#   bench/a11y.sh [FEEDS]      # default: the shipped feeds/
# Needs Debian's chromium (apt-get install chromium) and npm; puts
# axe-core, puppeteer-core and lighthouse under ~/.cache/stadtfeed-bench/a11y.
set -euo pipefail
cd "$(dirname "$0")/.."
feeds=${1:-feeds}
modules=~/.cache/stadtfeed-bench/a11y
if [ ! -d $modules/node_modules/lighthouse ]; then
    mkdir -p $modules
    (cd $modules && npm init -y >/dev/null && npm install --no-audit --no-fund --silent axe-core puppeteer-core lighthouse)
fi
cargo build --release -q
state=$(mktemp -d)
RUST_LOG=warn target/release/stadtfeed serve --feeds "$feeds" --addr 127.0.0.1:8089 --cache-dir "$state" &
server=$!
trap 'kill $server; wait $server 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:8089/healthz >/dev/null && break; sleep 0.1; done
first() { curl -s "http://127.0.0.1:8089$1" | grep -o "$2" | head -1; }
article=/$(first / 'artikel/[^"/]*/')
category=/$(first / 'kategorie/[^"/]*/')
month=/archiv/$(first /archiv/ '[0-9]\{4\}/[0-9]\{2\}/')
A11Y_MODULES=$modules/node_modules node bench/a11y.mjs http://127.0.0.1:8089 \
    / "$article" "$category" /archiv/ "$month" /abonnieren/ /gibt-es-nicht
