#!/usr/bin/env bash
# `stadtfeed publish` against a real distributed store: a 3-node Garage
# cluster on loopback (bench/garage.sh; replication factor 3).
#
#   bench/publish.sh [CORPUS ...]     # default: the shipped feeds/ and /work/corpora/c10k
#
# For each content directory: a first publish and an unchanged one (timed);
# every document read back through Garage's S3 API (node 2) and its website
# endpoint (node 3) and compared with `build` (bytes, Content-Type,
# Cache-Control); one edited record, published again, and the set of
# uploaded objects compared with the documents `build` rewrote. Last, node 3
# is stopped and an edit is published and read through node 1.
# Corpora are copied first (they are edited). Needs python3 (boto3 is put
# into a venv under ~/.cache/stadtfeed-bench by bench/garage.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d /tmp/stadtfeed-publish.XXXXXX)
trap 'bench/garage.sh stop "$root/garage" || true' EXIT

cargo build --release -q
bin=$PWD/target/release/stadtfeed

eval "$(bench/garage.sh start "$root/garage")"
echo "garage: $(garage --version | head -1); 3 nodes on 127.0.0.1, replication_factor 3, sqlite"
corpora=("$@")
[ ${#corpora[@]} -gt 0 ] || corpora=(feeds /work/corpora/c10k)

publish() { # content bucket [RUST_LOG]
    local started=$(date +%s.%N)
    RUST_LOG=${3:-info} $bin publish --feeds "$1" --to "s3://$2" --endpoint "$GARAGE_S3" \
        --cache-dir "$root/state-$2" 2>"$root/publish.log" || { cat "$root/publish.log"; return 1; }
    local took=$(echo "$(date +%s.%N) - $started" | bc)
    echo "  $(grep '^published' "$root/publish.log") [wall ${took}s]"
}

n=0
for corpus in "${corpora[@]}"; do
    n=$((n + 1))
    bucket=site$n
    content="$root/content$n"
    cp -a "$corpus" "$content"
    bench/garage.sh bucket "$root/garage" $bucket
    echo "== $corpus → s3://$bucket ($(find "$content/articles" -name '*.md' | wc -l) records)"
    publish "$content" $bucket
    publish "$content" $bucket
    $bin build --feeds "$content" --out "$root/out$n" --cache-dir "$root/build-state$n" 2>/dev/null
    "$BENCH_PYTHON" bench/publish_check.py "$root/out$n" $bucket http://127.0.0.1:3920 http://127.0.0.1:3932

    # One edited record: the uploaded objects must be the rewritten documents.
    record=$(find "$content/articles" -name '*.md' | sort | sed -n 1p)
    sed -i '0,/^title *= *"/s//title = "Geändert: /' "$record"
    touch "$root/before-build$n"
    sleep 1
    $bin build --feeds "$content" --out "$root/out$n" --cache-dir "$root/build-state$n" 2>/dev/null
    (cd "$root/out$n" && find . -type f -newer "$root/before-build$n" | sed 's|^\./||' \
        | grep -v -e '^_headers$' -e '^nginx-stadtfeed.conf$' | sort) >"$root/rewritten$n"
    publish "$content" $bucket "stadtfeed::publish::objects=debug"
    grep -o 'path=[^ ]*' "$root/publish.log" | sed 's/^path=//' | sort >"$root/uploaded$n"
    if diff -q "$root/rewritten$n" "$root/uploaded$n" >/dev/null; then
        echo "  one edit: uploaded = rewritten by build ($(wc -l <"$root/uploaded$n") objects)"
    else
        echo "  one edit: uploaded ≠ rewritten:"; diff "$root/rewritten$n" "$root/uploaded$n" | head
        exit 1
    fi
    "$BENCH_PYTHON" bench/publish_check.py "$root/out$n" $bucket http://127.0.0.1:3920 http://127.0.0.1:3932
done

echo "== node 3 stopped"
bench/garage.sh stop-node "$root/garage" 3
sleep 1
record=$(find "$root/content1/articles" -name '*.md' | sort | sed -n 2p)
sed -i '0,/^title *= *"/s//title = "Bei zwei Knoten: /' "$record"
publish "$root/content1" site1
id=$(sed -n 's/^id *= *"\(.*\)".*/\1/p' "$record" | head -1)
id=${id:-$(basename "$record" .md)}
curl -sf -H "Host: site1.web.garage.localhost" "http://127.0.0.1:3912/artikel/$id/" | grep -c "Bei zwei Knoten" \
    | sed "s|^|  website endpoint of node 1: /artikel/$id/ carries the edit: |"
$bin build --feeds "$root/content1" --out "$root/out1" --cache-dir "$root/build-state1" 2>/dev/null
"$BENCH_PYTHON" bench/publish_check.py "$root/out1" site1 http://127.0.0.1:3910 http://127.0.0.1:3912
