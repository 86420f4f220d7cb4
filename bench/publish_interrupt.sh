#!/usr/bin/env bash
# An interrupted `publish` on a real store (3-node Garage, bench/garage.sh):
# a first publish of CORPUS killed (SIGKILL) after a while, then checked:
# no feed or start page may link to a missing object; a second run must
# complete it (every document equal to `build`'s through S3 and the website
# endpoint). Then 40 new records and 2 000 retitled ones, stopped by
# SIGTERM after 6 s (publish finishes the uploads under way), checked and
# completed the same way; then twice 2 000 retitled, killed with SIGKILL
# (uploads cut off), checked and completed.
#   bench/publish_interrupt.sh [CORPUS]      # default /work/corpora/c10k
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-/work/corpora/c10k}
root=$(mktemp -d /tmp/stadtfeed-interrupt.XXXXXX)
trap 'bench/garage.sh stop "$root/garage" || true; rm -rf "$root"' EXIT
cargo build --release -q
bin=$PWD/target/release/stadtfeed
eval "$(bench/garage.sh start "$root/garage")"
bench/garage.sh bucket "$root/garage" site
cp -a "$corpus" "$root/content"

publish() { $bin publish --feeds "$root/content" --to s3://site --endpoint "$GARAGE_S3" --cache-dir "$root/state" 2>&1 | tail -1; }
interrupted() { # seconds signal
    $bin publish --feeds "$root/content" --to s3://site --endpoint "$GARAGE_S3" --cache-dir "$root/state" >/dev/null 2>&1 &
    local pid=$!
    sleep "$1"
    kill "-$2" $pid 2>/dev/null && echo "  SIG$2 after $1 s" || echo "  (finished before $1 s)"
    wait $pid 2>/dev/null || true
    "$BENCH_PYTHON" - <<'EOF'
import os, re, urllib.request
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["GARAGE_S3"], region_name="garage",
                  config=Config(s3={"addressing_style": "path"}))
keys = set()
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="site"):
    keys.update(o["Key"] for o in page.get("Contents", []))
missing = []
checked = 0
for key in [k for k in keys if k.endswith(("feed.rss", "index.html")) and "artikel/" not in k]:
    text = s3.get_object(Bucket="site", Key=key)["Body"].read().decode()
    # Item links of feeds and links of pages; not links inside article
    # bodies (gen-corpus writes some to articles that never existed).
    pattern = r'<link>https://www\.werdau\.de/feeds/(artikel/[^<"]+/)</link>' if key.endswith(".rss") \
        else r'href="(?:https://www\.werdau\.de/feeds/|(?:\.\./)*)(artikel/[^<"]+/)"'
    for link in re.findall(pattern, text):
        checked += 1
        if link + "index.html" not in keys:
            missing.append((key, link))
# The listing may hide a key whose newest version is an aborted upload
# while a GET still serves the complete older one: what a reader gets is
# the GET, through the S3 API and through the website endpoint.
unserved = []
for key, link in missing:
    try:
        s3.head_object(Bucket="site", Key=link + "index.html")
        api = True
    except Exception:
        api = False
    try:
        web = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:3932/{link}index.html", headers={"Host": "site.web.garage.localhost"})).status == 200
    except Exception:
        web = False
    if not (api and web):
        unserved.append(f"{key} -> {link} (S3 {api}, web {web})")
print(f"  {len(keys)} objects listed; {checked} links checked; links from feeds and pages to articles missing "
      f"from the listing: {len(missing)}; of these not served by GET: {len(unserved)}")
for key, link in missing[:4]:
    print(f"    listed missing: {key} -> {link}")
for line in unserved[:8]:
    print("    NOT SERVED: " + line)
EOF
}

check() {
    $bin build --feeds "$root/content" --out "$root/out" --cache-dir "$root/build-state" >/dev/null 2>&1
    "$BENCH_PYTHON" bench/publish_check.py "$root/out" site http://127.0.0.1:3920 http://127.0.0.1:3932 | tail -1
}

echo "== first publish of $corpus, killed"
interrupted 25 KILL
publish
check
retitle() { # prefix
    mapfile -t retitled < <(find "$root/content/articles" -name '*.md' ! -name 'neu-*' | sort | sed -n 1,2000p)
    sed -i "0,/^title *= *\"/s//title = \"$1: /" "${retitled[@]}"
}
echo "== 40 new records, 2 000 retitled, stopped by SIGTERM"
for i in $(seq 1 40); do
    printf '+++\ntitle = "Neue Meldung %s"\ndate = "20.11.2026 10:%02d"\ncategories = ["Rathaus"]\n+++\nText %s.\n' \
        "$i" "$i" "$i" >"$root/content/articles/neu-$i.md"
done
retitle "Überarbeitet"
interrupted 6 TERM
publish
check
for k in 6 9; do
    echo "== 2 000 retitled, killed (SIGKILL) after $k s"
    retitle "Runde $k"
    interrupted $k KILL
    publish
done
check
