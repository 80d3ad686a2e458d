#!/usr/bin/env bash
# scripts/three-nodes.sh — the user's three-node setup on one machine: one master and two
# replicas with requirepass/masterauth, RDB and AOF, a small app incrementing `counter` on the
# master, and redis-cli on each replica showing the key.
#
# Usage: scripts/three-nodes.sh [--keep] [--bin PATH] [--count N]
#   --keep       leave the three servers running (their pids and the work dir are printed)
#   --bin PATH   server binary (default target/release/ferrodis-server; /usr/bin/redis-server works
#                too, for comparison)
#   --count N    how many increments the counter app makes (default 100)
#
# Each node has its own loopback address and the user's port: redis-0 on 127.0.0.10:6379 (master),
# redis-1 on 127.0.0.11:6379 and redis-2 on 127.0.0.12:6379 (replicas). The configs are the user's
# (protected-mode no, port 6379, masterauth/requirepass password, slaveof on the workers,
# dbfilename "dump.rdb", dir, appendonly yes, appendfilename "appendonly.aof"); they differ only by
# `bind`, the master's address in `slaveof`, and `dir`.
#
# Environment: THREE_NODES_DIR (default a new temp dir), THREE_NODES_PORT (default 6379),
# MASTER_HOST (what the workers' slaveof names; default 127.0.0.10 — a hostname works too).
# Exit status 0 when every replica shows the master's counter.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/target/release/ferrodis-server
KEEP=0
COUNT=100
while (($#)); do
    case $1 in
        --keep) KEEP=1; shift ;;
        --bin) BIN=$2; shift 2 ;;
        --count) COUNT=$2; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -x $BIN ]] || { echo "no server binary at $BIN (run: cargo build --release)" >&2; exit 2; }
command -v redis-cli >/dev/null || { echo "redis-cli is needed (apt-get install redis-tools)" >&2; exit 2; }

PORT=${THREE_NODES_PORT:-6379}
WORK=${THREE_NODES_DIR:-$(mktemp -d /tmp/ferrodis-three-nodes.XXXXXX)}
ADDRS=(127.0.0.10 127.0.0.11 127.0.0.12)
MASTER_HOST=${MASTER_HOST:-${ADDRS[0]}}
PIDS=()

log() { printf '[three-nodes] %s\n' "$*" >&2; }

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
if ((KEEP == 0)); then trap stop_all EXIT; fi

cli() {  # cli NODE ARGS...
    timeout 10 redis-cli -h "${ADDRS[$1]}" -p "$PORT" --no-auth-warning -a password "${@:2}"
}

write_config() {  # write_config NODE
    local n=$1 dir=$WORK/redis-$1
    mkdir -p "$dir/data"
    {
        echo "protected-mode no"
        echo "port $PORT"
        echo "bind ${ADDRS[$n]}"
        if ((n > 0)); then echo "slaveof $MASTER_HOST $PORT"; fi
        echo "masterauth password"
        echo "requirepass password"
        echo 'dbfilename "dump.rdb"'
        echo "dir $dir/data"
        echo "appendonly yes"
        echo 'appendfilename "appendonly.aof"'
    } >"$dir/redis.conf"
}

for n in 0 1 2; do
    write_config "$n"
    "$BIN" "$WORK/redis-$n/redis.conf" >"$WORK/redis-$n/log" 2>&1 &
    PIDS+=($!)
done
for n in 0 1 2; do
    for _ in $(seq 100); do
        [[ $(cli "$n" PING 2>/dev/null) == PONG ]] && break
        sleep 0.1
    done
    [[ $(cli "$n" PING 2>/dev/null) == PONG ]] || { log "redis-$n did not start:"; tail "$WORK/redis-$n/log" >&2; exit 1; }
done
log "three nodes up in $WORK (pids ${PIDS[*]})"

# Replicas report their link up before the app starts, so the first increments are replicated too.
for n in 1 2; do
    for _ in $(seq 100); do
        cli "$n" INFO replication | grep -q 'master_link_status:up' && break
        sleep 0.1
    done
done

# The user's sample app: GET counter, SET counter+1, against the master.
for ((i = 0; i < COUNT; i++)); do
    value=$(cli 0 GET counter)
    cli 0 SET counter $((${value:-0} + 1)) >/dev/null
done
expected=$(cli 0 GET counter)
log "master: counter = $expected"

status=0
for n in 1 2; do
    got=""
    for _ in $(seq 50); do
        got=$(cli "$n" GET counter)
        [[ $got == "$expected" ]] && break
        sleep 0.1
    done
    keys=$(printf 'auth password\nkeys *\n' | timeout 10 redis-cli -h "${ADDRS[$n]}" -p "$PORT")
    if [[ $got == "$expected" && $keys == *counter* ]]; then
        log "redis-$n: keys * shows counter, counter = $got"
    else
        log "redis-$n: MISMATCH (counter = '$got', keys: $keys)"
        status=1
    fi
done
if ((KEEP)); then
    log "left running: pids ${PIDS[*]}, work dir $WORK"
fi
exit $status
