#!/usr/bin/env bash
# Starts a 3-node Garage cluster on loopback (replication factor 3) and
# prints the variables to reach it. Installs garage with `cargo install`
# when it is missing (about 10 minutes on 2 cores).
#
#   eval "$(bench/garage.sh start /tmp/garage)"   # GARAGE_*, AWS_* and BENCH_PYTHON (with boto3)
#   bench/garage.sh stop-node /tmp/garage 3        # stop one node
#   bench/garage.sh stop /tmp/garage
#
# Node N listens on 127.0.0.1: rpc 39N1, S3 API 39N0, website 39N2, admin 39N3.
set -euo pipefail

cmd=${1:?start|stop|stop-node}
dir=${2:?directory}

node_conf() { echo "$dir/n$1.toml"; }
cli() { garage -c "$(node_conf 1)" "$@"; }

start() {
    command -v garage >/dev/null || cargo install garage --locked --version 2.5.0 >&2
    # boto3, for the scripts that read the bucket back.
    local venv=~/.cache/stadtfeed-bench/venv
    [ -x $venv/bin/python ] || { python3 -m venv $venv && $venv/bin/pip install -q boto3; } >&2
    mkdir -p "$dir"
    if [ -f "$(node_conf 1)" ]; then
        restart
        return
    fi
    local secret
    secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    for n in 1 2 3; do
        mkdir -p "$dir/n$n/meta" "$dir/n$n/data"
        cat >"$(node_conf $n)" <<EOF
metadata_dir = "$dir/n$n/meta"
data_dir = "$dir/n$n/data"
db_engine = "sqlite"
replication_factor = 3
rpc_bind_addr = "127.0.0.1:39${n}1"
rpc_public_addr = "127.0.0.1:39${n}1"
rpc_secret = "$secret"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:39${n}0"
root_domain = ".s3.garage.localhost"

[s3_web]
bind_addr = "127.0.0.1:39${n}2"
root_domain = ".web.garage.localhost"
index = "index.html"

[admin]
api_bind_addr = "127.0.0.1:39${n}3"
EOF
        RUST_LOG=warn garage -c "$(node_conf $n)" server >"$dir/n$n.log" 2>&1 &
        echo $! >"$dir/n$n.pid"
    done
    for _ in $(seq 50); do cli status >/dev/null 2>&1 && break; sleep 0.2; done
    for n in 2 3; do
        local id
        id=$(garage -c "$(node_conf $n)" node id -q 2>/dev/null)
        cli node connect "$id" >/dev/null
    done
    for _ in $(seq 50); do
        [ "$(cli status 2>/dev/null | grep -c 'NO ROLE ASSIGNED')" = 3 ] && break
        sleep 0.2
    done
    for id in $(cli status 2>/dev/null | awk '/NO ROLE ASSIGNED/ {print $1}'); do
        cli layout assign -z loopback -c 10G "$id" >/dev/null
    done
    cli layout apply --version 1 >/dev/null
    local key
    key=$(cli key create stadtfeed-bench 2>/dev/null)
    print_env "$key"
}

# A cluster started before (its data kept): the same nodes, layout and key.
restart() {
    for n in 1 2 3; do
        RUST_LOG=warn garage -c "$(node_conf $n)" server >>"$dir/n$n.log" 2>&1 &
        echo $! >"$dir/n$n.pid"
    done
    for _ in $(seq 50); do
        [ "$(cli status 2>/dev/null | grep -c '127.0.0.1')" -ge 3 ] && break
        sleep 0.2
    done
    print_env "$(cli key info stadtfeed-bench --show-secret 2>/dev/null)"
}

print_env() {
    local key=$1 key_id secret_key
    key_id=$(echo "$key" | awk '/Key ID/ {print $NF}')
    secret_key=$(echo "$key" | awk '/Secret key/ {print $NF}')
    echo "export GARAGE_DIR=$dir"
    echo "export AWS_ACCESS_KEY_ID=$key_id"
    echo "export AWS_SECRET_ACCESS_KEY=$secret_key"
    echo "export AWS_REGION=garage"
    echo "export GARAGE_S3=http://127.0.0.1:3910"
    echo "export BENCH_PYTHON=$venv/bin/python"
}

bucket() {
    local name=${3:?bucket name}
    cli bucket create "$name" >/dev/null
    cli bucket allow --read --write --owner "$name" --key stadtfeed-bench >/dev/null
    cli bucket website --allow "$name" >/dev/null
}

case $cmd in
start) start ;;
bucket) bucket "$@" ;;
stop-node)
    n=${3:?node number}
    kill "$(cat "$dir/n$n.pid")" 2>/dev/null || true
    ;;
status) cli status ;;
stop)
    for n in 1 2 3; do kill "$(cat "$dir/n$n.pid")" 2>/dev/null || true; done
    ;;
esac
