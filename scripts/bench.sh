#!/usr/bin/env bash
# Benchmark ferrodis against real Redis 7.0.15 on the same machine, in the same run.
#
#   make bench                      # or: bash scripts/bench.sh
#   BENCH_ROUNDS=5 bash scripts/bench.sh
#   FERRODIS_BIN=/usr/bin/redis-server BENCH_N_P1=20000 BENCH_N_P16=200000 bash scripts/bench.sh
#                                   # (self-check: Redis vs Redis should give ratios near 1.0)
#
# Prints two markdown tables (throughput/CPU and memory) with the targets next to them,
# and writes them to $BENCH_OUT. Rows that miss a target are marked, but the script
# still exits 0: it is a benchmark, not a test. It exits non-zero only when it cannot
# measure at all (ferrodis does not start, a server dies mid-run, tools missing).
#
# Env knobs (defaults in brackets):
#   BENCH_ROUNDS [3]          rounds per row; each round runs ferrodis then redis, and
#                             the tables report the median over rounds
#   BENCH_PERSIST_ROUNDS [5]  SAVEs and restarts per server in the persistence table (a disk
#                             flush swings one SAVE by ±15%; each takes under a second)
#   BENCH_N_P1 [300000]       requests per -P 1 run (~3.5 s for Redis on 2 cores)
#   BENCH_N_P16 [3000000]     requests per -P 16 run, ~3 s (MSET uses a fifth of it, see below)
#   BENCH_CLIENTS [50]        redis-benchmark -c
#   BENCH_KEYSPACE [100000]   redis-benchmark -r
#   BENCH_POPULATE [1000000]  keys created by DEBUG POPULATE for the memory table
#   BENCH_TIMEOUT [300]       seconds before one redis-benchmark run counts as failed
#   BENCH_OUT [target/bench.md]  where the tables are written as well
#   BENCH_NO_INSTALL [0]      1 = never apt-get install redis-tools / redis-server
#   BENCH_SECTIONS ["ops mem persist aof repl"]  which tables to measure (throughput, memory, RDB
#                  persistence, AOF, replication)
#   FERRODIS_BIN [target/release/ferrodis-server]  built with cargo when missing
#   REDIS_BIN [/usr/bin/redis-server]  without it, only ferrodis columns are filled
#
# Adding rows: see the "Rows" section at the bottom; one line per row.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_PERSIST_ROUNDS=${BENCH_PERSIST_ROUNDS:-5}
BENCH_N_P1=${BENCH_N_P1:-300000}
BENCH_N_P16=${BENCH_N_P16:-3000000}
BENCH_CLIENTS=${BENCH_CLIENTS:-50}
BENCH_KEYSPACE=${BENCH_KEYSPACE:-100000}
BENCH_POPULATE=${BENCH_POPULATE:-1000000}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
BENCH_OUT=${BENCH_OUT:-target/bench.md}
BENCH_NO_INSTALL=${BENCH_NO_INSTALL:-0}
BENCH_SECTIONS=${BENCH_SECTIONS:-ops mem persist aof repl}
FERRODIS_BIN=${FERRODIS_BIN:-}
REDIS_BIN=${REDIS_BIN:-/usr/bin/redis-server}

# Targets from the issue: throughput ratio (ferrodis/redis) >= 1.0 on every row,
# CPU-per-request ratio <= 0.8 on pipelined rows, RSS ratio <= 1.0.
TARGET_OPS_RATIO=1.0
TARGET_CPU_RATIO_P16=0.8
TARGET_RSS_RATIO=1.0
MISS='✗'
MISSES_ROWS=0  # rows with at least one marked cell

CLK_TCK=$(getconf CLK_TCK)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Tools: redis-benchmark/redis-cli come from Debian's redis-tools, the reference
# server from Debian's redis-server (7.0.15 on bookworm).
# ---------------------------------------------------------------------------
apt_install() {
    [[ $BENCH_NO_INSTALL == 1 ]] && return 1
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || return 1
        sudo=(sudo)
    fi
    log "installing $* with apt-get"
    # Try without a (slow) index refresh first; refresh only when that fails.
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null; }
}

if ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-tools || die "redis-benchmark/redis-cli missing (apt-get install redis-tools)"
fi

if [[ ! -x $REDIS_BIN ]]; then
    apt_install redis-server || true
fi
HAVE_REDIS=0
[[ -x $REDIS_BIN ]] && HAVE_REDIS=1
[[ $HAVE_REDIS == 1 ]] || log "no $REDIS_BIN: measuring ferrodis only, ratios will be n/a"

if [[ -z $FERRODIS_BIN ]]; then
    FERRODIS_BIN=$ROOT/target/release/ferrodis-server
    if [[ ! -x $FERRODIS_BIN ]]; then
        log "building ferrodis (cargo build --release)"
        cargo build --release >&2 || die "cargo build --release failed"
    fi
fi
[[ -x $FERRODIS_BIN ]] || die "ferrodis binary not found: $FERRODIS_BIN"

# The servers under test, in the order each round runs them (A B A B ...).
KINDS=(ferrodis)
[[ $HAVE_REDIS == 1 ]] && KINDS+=(redis)
declare -A SERVER_BIN=([ferrodis]=$FERRODIS_BIN [redis]=$REDIS_BIN)

# ---------------------------------------------------------------------------
# Server lifecycle. Every server we start is recorded in SERVER_PID so that the
# EXIT trap can kill it whatever happens (error, Ctrl-C, TERM).
# ---------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferrodis-bench.XXXXXX")
declare -A SERVER_PID=() SERVER_PORT=() SERVER_DIR=()

kill_pid() {  # TERM, give it 10 s, then KILL; always reap it.
    local pid=$1 i
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? kind
    trap - EXIT INT TERM
    for kind in "${!SERVER_PID[@]}"; do
        kill_pid "${SERVER_PID[$kind]}"
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() {
    if command -v ss >/dev/null; then
        # Any socket on that local port, listening or not: an outgoing connection
        # bound to it blocks bind() just as much as a listener does.
        [[ -n $(ss -Htan "( sport = :$1 )") ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

free_port() {  # a random unused loopback port
    local port i
    # 10000-20999: below the kernel's ephemeral range (32768+ here), where client
    # sockets (redis-benchmark's among them) would otherwise grab our port.
    for ((i = 0; i < 200; i++)); do
        port=$((10000 + RANDOM % 11000))
        if ! port_in_use "$port"; then
            echo "$port"
            return
        fi
    done
    die "no free loopback port found"
}

cli() {  # cli KIND ARGS... ; a hung server must not hang the benchmark
    timeout 60 redis-cli -h 127.0.0.1 -p "${SERVER_PORT[$1]}" "${@:2}"
}

# start_server KIND [EXTRA_SERVER_ARGS...]: fresh server in its own temp dir, on a
# fresh port; retried on another port if it exits at once (port taken in a race).
# Must not be called inside $(...): the server has to be a child of this shell
# so that we can wait for it.
start_server() {
    local kind=$1 port dir pid attempt i
    shift
    for ((attempt = 1; attempt <= 3; attempt++)); do
        port=$(free_port)
        # START_DIR (when set) reuses a directory, so a restarted server finds its dump there.
        dir=${START_DIR:-$TMP/$kind-$port}
        mkdir -p "$dir"
        "${SERVER_BIN[$kind]}" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --enable-debug-command yes --daemonize no --dir "$dir" "$@" >"$dir/log" 2>&1 &
        pid=$!
        SERVER_PID[$kind]=$pid SERVER_PORT[$kind]=$port SERVER_DIR[$kind]=$dir
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            # Check it is still alive after PONG too: the answer must be ours.
            if [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]] &&
                kill -0 "$pid" 2>/dev/null; then
                return 0
            fi
            sleep 0.1
        done
        kill_pid "$pid"
        unset "SERVER_PID[$kind]"
    done
    log "$kind (${SERVER_BIN[$kind]}) failed to start (last try on port $port); its log:"
    tail -n 20 "$dir/log" >&2 || true
    exit 1
}

stop_server() {
    local kind=$1
    [[ -n ${SERVER_PID[$kind]:-} ]] || return 0
    kill_pid "${SERVER_PID[$kind]}"
    unset "SERVER_PID[$kind]" "SERVER_PORT[$kind]"
}

# shellcheck disable=SC2120  # extra server args are for later rows (AOF modes, ...)
start_servers() { local k; for k in "${KINDS[@]}"; do start_server "$k" "$@"; done; }
stop_servers() { local k; for k in "${KINDS[@]}"; do stop_server "$k"; done; }

assert_alive() {  # a crash mid-benchmark would otherwise show up as a slow row
    local kind=$1
    if ! kill -0 "${SERVER_PID[$kind]}" 2>/dev/null; then
        log "$kind died during $2; its log:"
        tail -n 20 "${SERVER_DIR[$kind]}/log" >&2 || true
        exit 1
    fi
}

# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------
cpu_ticks() {  # utime+stime (fields 14, 15 of /proc/PID/stat), all threads, in clock ticks
    # Field 2 (comm) may contain spaces, so count fields after its closing ')':
    # field 3 becomes $1, hence 14 -> $12 and 15 -> $13.
    local stat
    stat=$(<"/proc/$1/stat")
    awk '{ print $12 + $13 }' <<<"${stat##*) }"
}

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

used_memory() {  # INFO memory used_memory, in bytes, or nothing
    cli "$1" info memory 2>/dev/null | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'
}

is_num() { [[ ${1:-} =~ ^[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

median() {  # median of the arguments; "err" if any of them is not a number
    local v
    for v in "$@"; do is_num "$v" || { echo err; return; }; done
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
        END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() {  # ratio A B -> "1.03", or "n/a" when either side is missing
    if is_num "${1:-}" && is_num "${2:-}" && awk -v b="$2" 'BEGIN { exit !(b > 0) }'; then
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
    else
        echo n/a
    fi
}

# check RATIO OP LIMIT FERRODIS_VALUE -> prints RATIO, with the miss marker when it
# misses the target. (Runs in $(...), so callers count misses by looking for the marker.)
# A missing ratio is a miss only when ferrodis failed, not when redis is absent.
check() {
    local r=$1 op=$2 limit=$3 ferrodis_value=$4
    if [[ $r == n/a ]]; then
        if is_num "$ferrodis_value"; then echo "n/a"; else echo "n/a $MISS"; fi
    elif awk -v r="$r" -v l="$limit" "BEGIN { exit !(r $op l) }"; then
        echo "$r"
    else
        echo "$r $MISS"
    fi
}

count_miss() {  # count_miss CELL...: one more row that misses its target if any cell is marked
    local cell
    for cell; do
        if [[ $cell == *"$MISS"* ]]; then
            MISSES_ROWS=$((MISSES_ROWS + 1))
            return
        fi
    done
}

fmt_int() { if is_num "$1"; then printf '%.0f' "$1"; else echo "${1:-–}"; fi; }
fmt_2() { if is_num "$1"; then printf '%.2f' "$1"; else echo "${1:-–}"; fi; }
fmt_mib() { if is_num "$1"; then awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; else echo "${1:-–}"; fi; }

# run_benchmark KIND TEST PIPELINE N: one redis-benchmark run against a running server.
# Sets RUN_OPS (requests/s) and RUN_CPU (server CPU seconds per million requests),
# both "err" when redis-benchmark failed (it exits 1 on the first error reply).
run_benchmark() {
    local kind=$1 test=$2 pipeline=$3 n=$4 pid=${SERVER_PID[$1]} before after out rps
    RUN_OPS=err RUN_CPU=err
    before=$(cpu_ticks "$pid")
    if out=$(timeout "$BENCH_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "${SERVER_PORT[$kind]}" \
            -c "$BENCH_CLIENTS" -n "$n" -P "$pipeline" -r "$BENCH_KEYSPACE" -t "$test" \
            -q --csv 2>"$TMP/benchmark.err"); then
        after=$(cpu_ticks "$pid")
        # CSV: a "test","rps",... header, then e.g. "MSET (10 keys)","149700.61",...
        rps=$(awk -F'","' '$1 != "\"test" && NF >= 2 { v = $2 } END { print v }' <<<"$out")
        if is_num "$rps"; then
            RUN_OPS=$rps
            RUN_CPU=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$n" \
                'BEGIN { printf "%.4f", t / hz / (n / 1e6) }')
        fi
    fi
    if [[ $RUN_OPS == err ]]; then
        log "  $kind: redis-benchmark -t $test -P $pipeline failed: $(head -c 300 "$TMP/benchmark.err" | tr '\n' ' ')"
    fi
    assert_alive "$kind" "-t $test -P $pipeline"
}

# ---------------------------------------------------------------------------
# Row types. Each appends one or more markdown lines to a table.
# ---------------------------------------------------------------------------
OPS_TABLE=()
MEM_TABLE=()
AOF_TABLE=()
REPL_TABLE=()

# bench_row TEST PIPELINE N [LABEL]: a redis-benchmark test (-t TEST) against the
# servers started by start_servers, BENCH_ROUNDS rounds, each round running every
# server once in turn, so slow drift on the machine hits both sides alike.
bench_row() {
    local test=$1 pipeline=$2 n=$3 label=${4:-${1^^}} round kind
    local -A ops=() cpu=()
    for ((round = 1; round <= BENCH_ROUNDS; round++)); do
        for kind in "${KINDS[@]}"; do
            run_benchmark "$kind" "$test" "$pipeline" "$n"
            ops[$kind]+=" $RUN_OPS" cpu[$kind]+=" $RUN_CPU"
            log "round $round/$BENCH_ROUNDS $label -P $pipeline $kind: $(fmt_int "$RUN_OPS") ops/s, $(fmt_2 "$RUN_CPU") CPU s/M req"
        done
    done
    local f_ops f_cpu r_ops='' r_cpu='' target ops_cell cpu_cell
    # shellcheck disable=SC2086  # word splitting of the per-round lists is intended
    f_ops=$(median ${ops[ferrodis]}) f_cpu=$(median ${cpu[ferrodis]})
    if [[ $HAVE_REDIS == 1 ]]; then
        # shellcheck disable=SC2086
        r_ops=$(median ${ops[redis]}) r_cpu=$(median ${cpu[redis]})
    fi
    ops_cell=$(check "$(ratio "$f_ops" "$r_ops")" '>=' "$TARGET_OPS_RATIO" "$f_ops")
    if ((pipeline >= 16)); then
        cpu_cell=$(check "$(ratio "$f_cpu" "$r_cpu")" '<=' "$TARGET_CPU_RATIO_P16" "$f_cpu")
        target="ratio ≥ $TARGET_OPS_RATIO, CPU ratio ≤ $TARGET_CPU_RATIO_P16"
    else
        cpu_cell=$(ratio "$f_cpu" "$r_cpu")
        target="ratio ≥ $TARGET_OPS_RATIO"
    fi
    count_miss "$ops_cell" "$cpu_cell"
    OPS_TABLE+=("| $label | $pipeline | $(fmt_int "$f_ops") | $(fmt_int "$r_ops") | $ops_cell | $(fmt_2 "$f_cpu") | $(fmt_2 "$r_cpu") | $cpu_cell | $target |")
}

# populate KIND DATASET...: build a dataset on a running server. DATASET is a redis-cli command
# (e.g. DEBUG POPULATE 1000000), or `pipe GENERATOR ARGS...` to stream a generator's RESP commands
# through redis-cli --pipe. Fails (with the reason in POPULATE_ERR) on any error reply.
populate() {
    local kind=$1 out
    shift
    if [[ $1 == pipe ]]; then
        out=$("${@:2}" | timeout "$BENCH_TIMEOUT" redis-cli -h 127.0.0.1 -p "${SERVER_PORT[$kind]}" --pipe 2>&1) &&
            [[ $out == *"errors: 0"* ]] && return 0
    else
        out=$(cli "$kind" "$@" 2>&1) && [[ $out != *ERR* ]] && return 0
    fi
    POPULATE_ERR=$(tail -c 300 <<<"$out")
    return 1
}

# mem_row LABEL DATASET...: on a fresh server of each kind, build DATASET (see populate), then
# record INFO used_memory and the process RSS. One line per server; the ferrodis line carries the
# RSS ratio.
mem_row() {
    local label=$1 kind
    shift
    local -A used=() rss=()
    for kind in "${KINDS[@]}"; do
        start_server "$kind"
        if populate "$kind" "$@"; then
            used[$kind]=$(used_memory "$kind")
            rss[$kind]=$(($(rss_kb "${SERVER_PID[$kind]}") * 1024))
        else
            log "  $kind: '$*' failed: $POPULATE_ERR"
            used[$kind]=err rss[$kind]=err
        fi
        assert_alive "$kind" "$*"
        log "$label $kind: used_memory $(fmt_mib "${used[$kind]:-}"), RSS $(fmt_mib "${rss[$kind]}")"
        stop_server "$kind"
    done
    local r
    r=$(check "$(ratio "${rss[ferrodis]}" "${rss[redis]:-}")" '<=' "$TARGET_RSS_RATIO" "${rss[ferrodis]}")
    count_miss "$r"
    MEM_TABLE+=("| $label | ferrodis | $(fmt_mib "${used[ferrodis]:-}") | $(fmt_mib "${rss[ferrodis]}") | $r | RSS ratio ≤ $TARGET_RSS_RATIO |")
    if [[ $HAVE_REDIS == 1 ]]; then
        MEM_TABLE+=("| $label | redis | $(fmt_mib "${used[redis]:-}") | $(fmt_mib "${rss[redis]}") | 1.00 | |")
    fi
}

# Generators for `populate KIND pipe ...`: RESP commands on stdout, streamed into redis-cli --pipe.
# gen_small_hashes N: N hashes hash:<i> with 10 fields f0..f9 holding short values.
gen_small_hashes() {
    awk -v n="$1" 'function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
        BEGIN { for (i = 0; i < n; i++) {
            printf "*22\r\n"; bulk("HSET"); bulk("hash:" i)
            for (f = 0; f < 10; f++) { bulk("f" f); bulk("v" i "-" f) }
        } }'
}

# gen_big_zset N: one sorted set "zset" of N members member:<i> with random scores,
# 100 members per ZADD.
gen_big_zset() {
    awk -v n="$1" 'function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
        BEGIN { srand(42); for (i = 0; i < n; i += 100) {
            k = (n - i < 100) ? n - i : 100
            printf "*%d\r\n", 2 + 2 * k; bulk("ZADD"); bulk("zset")
            for (j = 0; j < k; j++) { bulk(sprintf("%.6f", rand() * 1000000)); bulk("member:" (i + j)) }
        } }'
}

# gen_big_hashes N FIELDS: N hashes bighash:<i> of FIELDS fields each, 10 fields per HSET.
gen_big_hashes() {
    awk -v n="$1" -v nf="$2" 'function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
        BEGIN { for (i = 0; i < n; i++) for (f = 0; f < nf; f += 10) {
            k = (nf - f < 10) ? nf - f : 10
            printf "*%d\r\n", 2 + 2 * k; bulk("HSET"); bulk("bighash:" i)
            for (j = 0; j < k; j++) { bulk("field:" (f + j)); bulk("value:" i ":" (f + j)) }
        } }'
}

now_ms() { date +%s%3N; }

# persist_row LABEL DATASET...: both servers hold DATASET (see populate) at once; each of
# BENCH_PERSIST_ROUNDS rounds times a SAVE on each, then restarts each on its directory and takes the load
# time it logs ("DB loaded from disk: <s> seconds"). Rounds alternate the servers, so a disk that
# is busy flushing the previous dump slows both alike; the table reports medians. One table line.
PERSIST_TABLE=()
persist_row() {
    local label=$1 kind round t0 t1 loaded
    shift
    local -A dir=() save_ms=() load_s=()
    for kind in "${KINDS[@]}"; do
        dir[$kind]=$TMP/persist-$kind-$RANDOM
        START_DIR=${dir[$kind]} start_server "$kind"
        populate "$kind" "$@" || log "  $kind: '$*' failed: $POPULATE_ERR"
    done
    for ((round = 1; round <= BENCH_PERSIST_ROUNDS; round++)); do
        for kind in "${KINDS[@]}"; do
            t0=$(now_ms)
            cli "$kind" SAVE >/dev/null
            t1=$(now_ms)
            save_ms[$kind]+="$((t1 - t0)) "
            assert_alive "$kind" "SAVE"
            sync
        done
    done
    for kind in "${KINDS[@]}"; do stop_server "$kind"; done
    for ((round = 1; round <= BENCH_PERSIST_ROUNDS; round++)); do
        for kind in "${KINDS[@]}"; do
            START_DIR=${dir[$kind]} start_server "$kind"
            loaded=$(sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "${dir[$kind]}/log" | tail -n 1)
            load_s[$kind]+="${loaded:-err} "
            stop_server "$kind"
        done
    done
    for kind in "${KINDS[@]}"; do
        log "$label $kind: SAVE ms ${save_ms[$kind]}, load s ${load_s[$kind]}"
        save_ms[$kind]=$(median ${save_ms[$kind]})
        load_s[$kind]=$(median ${load_s[$kind]})
        rm -rf "${dir[$kind]}"
    done
    local rs rl
    rs=$(check "$(ratio "${save_ms[ferrodis]}" "${save_ms[redis]:-}")" '<=' 1.0 "${save_ms[ferrodis]}")
    rl=$(check "$(ratio "${load_s[ferrodis]}" "${load_s[redis]:-}")" '<=' 1.0 "${load_s[ferrodis]}")
    count_miss "$rs" "$rl"
    PERSIST_TABLE+=("| $label | ${save_ms[ferrodis]} | ${save_ms[redis]:-–} | $rs | ${load_s[ferrodis]} | ${load_s[redis]:-–} | $rl |")
}

# aof_rewrite_row: 1M keys with AOF on; the time from BGREWRITEAOF until the rewrite is installed
# (INFO aof_rewrite_in_progress back to 0 and nothing scheduled), polled every 20 ms.
aof_rewrite_row() {
    local kind t0 t1 info i
    local -A rw_ms=()
    for kind in "${KINDS[@]}"; do
        start_server "$kind" --appendonly yes
        cli "$kind" DEBUG POPULATE "$BENCH_POPULATE" >/dev/null
        t0=$(now_ms)
        cli "$kind" BGREWRITEAOF >/dev/null
        rw_ms[$kind]=err
        for ((i = 0; i < 6000; i++)); do
            info=$(cli "$kind" INFO persistence)
            if [[ $info == *"aof_rewrite_in_progress:0"* && $info == *"aof_rewrite_scheduled:0"* ]]; then
                t1=$(now_ms)
                rw_ms[$kind]=$((t1 - t0))
                break
            fi
            sleep 0.02
        done
        assert_alive "$kind" "BGREWRITEAOF"
        log "BGREWRITEAOF $BENCH_POPULATE keys $kind: ${rw_ms[$kind]} ms"
        stop_server "$kind"
    done
    local r
    r=$(check "$(ratio "${rw_ms[ferrodis]}" "${rw_ms[redis]:-}")" '<=' 1.0 "${rw_ms[ferrodis]}")
    count_miss "$r"
    AOF_TABLE+=("| BGREWRITEAOF of $BENCH_POPULATE keys | ${rw_ms[ferrodis]} ms | ${rw_ms[redis]:-–} ms | $r | ratio ≤ 1.0 |")
}

# start_replica KIND NAME: a replica NAME of KIND's running master (same binary), diskless sync
# without delay unless more args say otherwise.
start_replica() {
    local kind=$1 name=$2
    shift 2
    SERVER_BIN[$name]=${SERVER_BIN[$kind]}
    start_server "$name" --replicaof 127.0.0.1 "${SERVER_PORT[$kind]}" "$@"
}

wait_link_up() {  # wait_link_up NAME: poll every 20 ms, up to 10 minutes
    local i
    for ((i = 0; i < 30000; i++)); do
        [[ $(cli "$1" INFO replication) == *"master_link_status:up"* ]] && return 0
        sleep 0.02
    done
    return 1
}

# repl_fullsync_row MODE: BENCH_POPULATE keys on a master, then the time from a replica's start
# until its link is up (the RDB transferred and loaded), with repl-diskless-sync MODE.
repl_fullsync_row() {
    local mode=$1 kind t0 t1
    local -A sync_ms=()
    for kind in "${KINDS[@]}"; do
        start_server "$kind" --repl-diskless-sync "$mode" --repl-diskless-sync-delay 0
        cli "$kind" DEBUG POPULATE "$BENCH_POPULATE" >/dev/null
        t0=$(now_ms)
        start_replica "$kind" "$kind-replica"
        sync_ms[$kind]=err
        if wait_link_up "$kind-replica"; then
            t1=$(now_ms)
            sync_ms[$kind]=$((t1 - t0))
        fi
        assert_alive "$kind" "full sync"
        log "full sync of $BENCH_POPULATE keys (diskless $mode) $kind: ${sync_ms[$kind]} ms"
        stop_server "$kind-replica"
        stop_server "$kind"
    done
    local r
    r=$(check "$(ratio "${sync_ms[ferrodis]}" "${sync_ms[redis]:-}")" '<=' 1.0 "${sync_ms[ferrodis]}")
    count_miss "$r"
    REPL_TABLE+=("| full sync of $BENCH_POPULATE keys to one replica (repl-diskless-sync $mode) | ${sync_ms[ferrodis]} ms | ${sync_ms[redis]:-–} ms | $r | ratio ≤ 1.0 |")
}

pss_kb() {  # proportional set size of a process (shared pages split between sharers), 0 when gone
    awk '$1 == "Pss:" { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}

# bgsave_peak_row: 1M keys, a SET load running, BGSAVE; the peak of parent + child memory (PSS, so
# pages the child still shares count once) while the child lives.
bgsave_peak_row() {
    local kind pid child peak cur bench_pid i
    local -A peak_kb=()
    for kind in "${KINDS[@]}"; do
        start_server "$kind"
        cli "$kind" DEBUG POPULATE "$BENCH_POPULATE" >/dev/null
        redis-benchmark -h 127.0.0.1 -p "${SERVER_PORT[$kind]}" -t set -n 100000000 -r "$BENCH_POPULATE" -P 16 \
            -q >/dev/null 2>&1 &
        bench_pid=$!
        sleep 1
        pid=${SERVER_PID[$kind]}
        peak=0
        cli "$kind" BGSAVE >/dev/null
        for ((i = 0; i < 1200; i++)); do
            child=$(pgrep -P "$pid" | head -n 1 || true)
            if [[ -z $child ]]; then
                if ((i > 5)); then break; fi
                sleep 0.05
                continue
            fi
            cur=$(($(pss_kb "$pid") + $(pss_kb "$child")))
            if ((cur > peak)); then peak=$cur; fi
            sleep 0.05
        done
        kill "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
        peak_kb[$kind]=$peak
        log "BGSAVE peak $kind: $((peak / 1024)) MiB"
        stop_server "$kind"
    done
    local r
    r=$(check "$(ratio "${peak_kb[ferrodis]}" "${peak_kb[redis]:-}")" '<=' 1.0 "${peak_kb[ferrodis]}")
    count_miss "$r"
    MEM_TABLE+=("| BGSAVE under a SET load, peak PSS parent+child | ferrodis | – | $(fmt_mib "$((peak_kb[ferrodis] * 1024))") | $r | ratio ≤ $TARGET_RSS_RATIO |")
    if [[ $HAVE_REDIS == 1 ]]; then
        MEM_TABLE+=("| BGSAVE under a SET load, peak PSS parent+child | redis | – | $(fmt_mib "$((peak_kb[redis] * 1024))") | 1.00 | |")
    fi
}

# ---------------------------------------------------------------------------
# Rows. Later rows (AOF modes, ...) go
# here: one bench_row/mem_row line each, or a start_servers/stop_servers block
# with extra server arguments (e.g. `start_servers --appendonly yes`).
# ---------------------------------------------------------------------------

log "ferrodis: $FERRODIS_BIN; redis: $([[ $HAVE_REDIS == 1 ]] && echo "$REDIS_BIN" || echo none)"
log "$BENCH_ROUNDS rounds, -c $BENCH_CLIENTS -r $BENCH_KEYSPACE, -n $BENCH_N_P1 at -P 1, $BENCH_N_P16 at -P 16"

if [[ " $BENCH_SECTIONS " == *" ops "* ]]; then
    start_servers
    for test in set get incr mset; do
        n16=$BENCH_N_P16
        # MSET sets 10 keys per request, about 5x slower per request than SET when
        # pipelined; a fifth of the requests keeps its runs about as long as the others.
        if [[ $test == mset ]]; then n16=$((BENCH_N_P16 / 5)); fi
        bench_row "$test" 1 "$BENCH_N_P1"
        bench_row "$test" 16 "$n16"
    done
    stop_servers

    # The collection types. LPOP runs after LPUSH on the same servers, so it pops what
    # LPUSH pushed (redis-benchmark's own order); LRANGE_100 reads 100 elements per
    # request, so it gets a tenth of the requests.
    start_servers
    for test in lpush lpop sadd hset zadd lrange_100; do
        n1=$BENCH_N_P1 n16=$BENCH_N_P16
        if [[ $test == lrange_100 ]]; then n1=$((BENCH_N_P1 / 10)) n16=$((BENCH_N_P16 / 10)); fi
        bench_row "$test" 1 "$n1"
        bench_row "$test" 16 "$n16"
    done
    stop_servers
fi

if [[ " $BENCH_SECTIONS " == *" mem "* ]]; then
    mem_row "DEBUG POPULATE $BENCH_POPULATE" DEBUG POPULATE "$BENCH_POPULATE"
    mem_row "$BENCH_POPULATE hashes of 10 fields" pipe gen_small_hashes "$BENCH_POPULATE"
    mem_row "1 sorted set of $BENCH_POPULATE members" pipe gen_big_zset "$BENCH_POPULATE"
fi

if [[ " $BENCH_SECTIONS " == *" persist "* ]]; then
    persist_row "$BENCH_POPULATE string keys" DEBUG POPULATE "$BENCH_POPULATE"
    persist_row "$((BENCH_POPULATE / 10)) hashes of 100 fields" pipe gen_big_hashes "$((BENCH_POPULATE / 10))" 100
    bgsave_peak_row
fi

if [[ " $BENCH_SECTIONS " == *" aof "* ]]; then
    # SET throughput with the AOF on, per fsync policy (rows in the throughput table).
    for policy in everysec always; do
        start_servers --appendonly yes --appendfsync "$policy"
        bench_row set 1 "$BENCH_N_P1" "SET (appendfsync $policy)"
        bench_row set 16 "$BENCH_N_P16" "SET (appendfsync $policy)"
        stop_servers
    done
    aof_rewrite_row
fi

if [[ " $BENCH_SECTIONS " == *" repl "* ]]; then
    repl_fullsync_row no
    repl_fullsync_row yes
    # SET on a master with two replicas attached (rows in the throughput table).
    start_servers --repl-diskless-sync-delay 0
    for kind in "${KINDS[@]}"; do
        start_replica "$kind" "$kind-r1"
        start_replica "$kind" "$kind-r2"
        wait_link_up "$kind-r1" && wait_link_up "$kind-r2" || log "$kind: replicas did not sync"
    done
    bench_row set 1 "$BENCH_N_P1" "SET (2 replicas attached)"
    bench_row set 16 "$BENCH_N_P16" "SET (2 replicas attached)"
    for kind in "${KINDS[@]}"; do
        stop_server "$kind-r1"
        stop_server "$kind-r2"
    done
    stop_servers
fi

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
redis_version=n/a
[[ $HAVE_REDIS == 1 ]] && redis_version=$("$REDIS_BIN" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
ferrodis_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo uncommitted)
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

report() {
    echo "ferrodis ($ferrodis_rev) vs Redis $redis_version, $(date -u +%Y-%m-%d), ${cpu_model:-unknown CPU}, $(nproc) cores shared with redis-benchmark."
    echo "redis-benchmark -c $BENCH_CLIENTS -r $BENCH_KEYSPACE, median of $BENCH_ROUNDS rounds; CPU = server utime+stime per million requests."
    echo
    echo "| test | pipeline | ferrodis ops/s | redis ops/s | ratio | ferrodis CPU s/M req | redis CPU s/M req | CPU ratio | target |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${OPS_TABLE[@]}"
    echo
    echo "| after | server | used_memory | RSS | RSS ratio | target |"
    echo "|---|---|---:|---:|---:|---|"
    printf '%s\n' "${MEM_TABLE[@]}"
    echo
    echo "SAVE and load at start: median of $BENCH_PERSIST_ROUNDS per server, the two servers alternating."
    echo
    echo "| dataset | ferrodis SAVE ms | redis SAVE ms | ratio | ferrodis load s | redis load s | ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${PERSIST_TABLE[@]}"
    echo
    echo "| AOF | ferrodis | redis | ratio | target |"
    echo "|---|---:|---:|---:|---|"
    printf '%s\n' "${AOF_TABLE[@]}"
    echo
    echo "| replication | ferrodis | redis | ratio | target |"
    echo "|---|---:|---:|---:|---|"
    printf '%s\n' "${REPL_TABLE[@]}"
    echo
    echo "$MISS = misses its target ($MISSES_ROWS rows)."
}

mkdir -p "$(dirname "$BENCH_OUT")"
report | tee "$BENCH_OUT"
log "tables written to $BENCH_OUT; took ${SECONDS}s"
