#!/usr/bin/env bash
# scripts/soak.sh — replication under trouble: minutes of writes of every type on a master while its
# two replicas are kill -9'ed and restarted, links are cut from both ends (CLIENT KILL TYPE master /
# TYPE replica) and the master restarts. At the end every replica must hold exactly the master's
# data (DEBUG DIGEST), and the run reports how many syncs were full and how many partial.
#
# Usage: scripts/soak.sh [--seconds N] [--bin PATH] [--keep]
#   --seconds N  how long the chaos lasts (default 300; CI runs a short one)
#   --bin PATH   server binary (default target/release/ferrodis-server; /usr/bin/redis-server works
#                too, for comparison)
#   --keep       leave the work dir (logs, dumps, AOFs) behind
#
# Nodes: 127.0.0.1 on three free ports from SOAK_BASE_PORT (default 7400), AUTH (requirepass and
# masterauth), RDB save points and AOF on every node. Exit status 0 when the replicas converge.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/target/release/ferrodis-server
SECONDS_TOTAL=300
KEEP=0
while (($#)); do
    case $1 in
        --seconds) SECONDS_TOTAL=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -x $BIN ]] || { echo "no server binary at $BIN (run: cargo build --release)" >&2; exit 2; }
command -v redis-cli >/dev/null || { echo "redis-cli is needed (apt-get install redis-tools)" >&2; exit 2; }

BASE=${SOAK_BASE_PORT:-7400}
PORTS=("$BASE" $((BASE + 1)) $((BASE + 2)))
WORK=$(mktemp -d /tmp/ferrodis-soak.XXXXXX)
PIDS=("" "" "")
WRITER=""

log() { printf '[soak %s] %s\n' "$(date +%T)" "$*" >&2; }

cli() {  # cli NODE ARGS...
    local n=$1; shift
    redis-cli -h 127.0.0.1 -p "${PORTS[$n]}" -a password --no-auth-warning "$@"
}

start_node() {  # start_node N
    local n=$1 args=()
    mkdir -p "$WORK/node$n"
    args=(--port "${PORTS[$n]}" --bind 127.0.0.1 --dir "$WORK/node$n" --logfile "$WORK/node$n/log"
        --requirepass password --masterauth password --appendonly yes --save "5 1"
        --repl-diskless-sync-delay 1 --enable-debug-command yes)
    if ((n > 0)); then args+=(--replicaof 127.0.0.1 "${PORTS[0]}"); fi
    "$BIN" "${args[@]}" >/dev/null 2>&1 &
    PIDS[n]=$!
    for _ in $(seq 100); do
        cli "$n" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "node $n did not start"; return 1
}

stop_node() {  # stop_node N [SIGNAL]
    local n=$1 sig=${2:-TERM} pid=${PIDS[$1]}
    [[ -n $pid ]] || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    PIDS[n]=""
}

cleanup() {
    [[ -n $WRITER ]] && { kill "$WRITER" 2>/dev/null || true; wait "$WRITER" 2>/dev/null || true; }
    for n in 0 1 2; do stop_node "$n"; done
    if ((KEEP)); then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The app: batches of writes of every type, always against the master; a batch sent while the master
# restarts just fails and the next one goes on.
writer() {
    local i=0 batch
    while :; do
        batch=""
        for _ in $(seq 50); do
            i=$((i + 1))
            local k=$((RANDOM % 500))
            batch+="INCR counter"$'\n'
            batch+="SET str:$k v$i"$'\n'
            batch+="HSET hash:$((k % 50)) f$((RANDOM % 20)) $i"$'\n'
            batch+="RPUSH list:$((k % 30)) $i"$'\n'
            batch+="LTRIM list:$((k % 30)) -100 -1"$'\n'
            batch+="SADD set:$((k % 40)) m$((RANDOM % 100))"$'\n'
            batch+="ZADD zset:$((k % 40)) $((RANDOM % 1000)) m$((RANDOM % 100))"$'\n'
            batch+="SET ttl:$k x PX $((200 + RANDOM % 3000))"$'\n'
            batch+="EXPIRE str:$((RANDOM % 500)) $((1 + RANDOM % 20))"$'\n'
            batch+="SELECT $((RANDOM % 3))"$'\n'"SET db:$k $i"$'\n'"SELECT 0"$'\n'
        done
        printf '%s' "$batch" | cli 0 >/dev/null 2>&1 || sleep 0.2
    done
}

for n in 0 1 2; do start_node "$n"; done
log "master on ${PORTS[0]}, replicas on ${PORTS[1]} and ${PORTS[2]}, work dir $WORK"
writer &
WRITER=$!

end=$((SECONDS + SECONDS_TOTAL))
round=0
while ((SECONDS < end)); do
    sleep $((2 + RANDOM % 3))
    round=$((round + 1))
    case $((round % 5)) in
        0)
            r=$((1 + RANDOM % 2))
            log "kill -9 replica $r and restart it"
            stop_node "$r" KILL
            sleep 1
            start_node "$r"
            ;;
        1)
            r=$((1 + RANDOM % 2))
            log "cut replica $r's link from its side (CLIENT KILL TYPE master)"
            cli "$r" client kill type master >/dev/null || true
            ;;
        2)
            log "cut every link from the master's side (CLIENT KILL TYPE replica)"
            cli 0 client kill type replica >/dev/null || true
            ;;
        3)
            log "restart the master (clean shutdown: its AOF and dump keep the data)"
            stop_node 0
            start_node 0
            ;;
        4)
            r=$((1 + RANDOM % 2))
            log "restart replica $r cleanly"
            stop_node "$r"
            start_node "$r"
            ;;
    esac
done

kill "$WRITER" 2>/dev/null || true
wait "$WRITER" 2>/dev/null || true
WRITER=""
# Keys with a TTL keep expiring on the master (and their DELs keep flowing) for up to 20 s: stop
# active expiry there so the three datasets hold still while they are compared.
cli 0 debug set-active-expire 0 >/dev/null
log "writes stopped, active expiry off on the master; waiting for the replicas to converge"

offset() { cli "$1" info replication | tr -d '\r' | sed -n 's/^master_repl_offset://p'; }
converged=0
for _ in $(seq 600); do
    m=$(offset 0)
    if [[ -n $m && $m == "$(offset 1)" && $m == "$(offset 2)" ]] \
        && [[ $(cli 1 info replication | tr -d '\r' | sed -n 's/^master_link_status://p') == up ]] \
        && [[ $(cli 2 info replication | tr -d '\r' | sed -n 's/^master_link_status://p') == up ]]; then
        converged=1
        break
    fi
    sleep 0.1
done

full=$(cat "$WORK"/node0/log | grep -c "Starting BGSAVE for SYNC\|Waiting for end of BGSAVE for SYNC" || true)
partial=$(cat "$WORK"/node0/log | grep -c "Partial resynchronization request from .* accepted" || true)
requested=$(cat "$WORK"/node0/log | grep -c "asks for synchronization" || true)
log "sync requests: $requested, partial: $partial, full-sync BGSAVEs: $full"

d0=$(cli 0 debug digest)
d1=$(cli 1 debug digest)
d2=$(cli 2 debug digest)
log "counter: master $(cli 0 get counter), replicas $(cli 1 get counter) $(cli 2 get counter)"
log "digests: $d0 $d1 $d2"
if ((converged)) && [[ $d0 == "$d1" && $d0 == "$d2" ]]; then
    log "PASS: both replicas hold exactly the master's data"
    exit 0
fi
log "FAIL: converged=$converged"
# Show where they differ: keys whose values (DEBUG DIGEST-VALUE) are not the master's.
for r in 1 2; do
    for db in 0 1 2; do
        cli 0 -n "$db" --scan | sort >"$WORK/keys0.$db"
        cli "$r" -n "$db" --scan | sort >"$WORK/keys$r.$db"
        diff "$WORK/keys0.$db" "$WORK/keys$r.$db" | head -5 | sed "s/^/[replica $r db $db keys] /" >&2 || true
        head -2000 "$WORK/keys0.$db" | while read -r k; do
            a=$(cli 0 -n "$db" debug digest-value "$k")
            b=$(cli "$r" -n "$db" debug digest-value "$k")
            [[ $a == "$b" ]] || echo "[replica $r db $db] $k: $(cli 0 -n "$db" type "$k") master=$(cli 0 -n "$db" pttl "$k")ms replica=$(cli "$r" -n "$db" pttl "$k")ms"
        done | head -5 >&2
    done
done
KEEP=1
exit 1
