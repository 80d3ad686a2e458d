#!/usr/bin/env bash
# scripts/compat.sh — run Redis 7.0.15's own Tcl test suite against ferrodis.
#
# Usage:
#   scripts/compat.sh [UNIT...]            run units, print a markdown table
#   scripts/compat.sh --check FILE [UNIT...]   fail if any unit's ok count is
#                                          below its baseline in FILE
#   scripts/compat.sh --update FILE [UNIT...]  raise FILE's baselines to the
#                                          measured ok counts (never lowers)
#
# Units look like `unit/auth` or `unit/type/string` (paths under tests/,
# without .tcl). Without UNIT arguments the units listed in FILE (or in
# tests/compat-baseline.txt) are run.
#
# Environment:
#   FERRODIS_BIN            server under test (default target/release/ferrodis-server)
#   FERRODIS_COMPAT_SERVER  run the suite against this binary instead, e.g.
#                           /usr/bin/redis-server to get real Redis's numbers
#   FERRODIS_SUITE_DIR      where the suite is unpacked (default <repo>/.suite)
#   FERRODIS_UNIT_TIMEOUT   wall-clock seconds allowed per unit (default 600)
#   FERRODIS_TEST_TIMEOUT   runtest --timeout: seconds without progress before
#                           the harness gives up on a unit (default 120)
#   FERRODIS_RUNTEST_ARGS   extra runtest flags, e.g. "--tags -needs:debug"
#
# Baseline file format: one unit per line, `UNIT MIN_OK [TARGET]`, where
# MIN_OK is the least number of `[ok]:` tests the unit must keep passing and
# the optional TARGET is what real Redis 7.0.15 passes (used for pass %).
# `#` starts a comment.
#
# Exit status: 0, or 1 when --check finds a unit below its baseline, or 2 when
# the suite or the binaries cannot be set up. A plain run only reports.
set -euo pipefail

readonly EXPECTED_VERSION=7.0.15
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR
readonly DEFAULT_BASELINE="$REPO_DIR/tests/compat-baseline.txt"
SUITE_DIR=${FERRODIS_SUITE_DIR:-$REPO_DIR/.suite}
FERRODIS_BIN=${FERRODIS_BIN:-$REPO_DIR/target/release/ferrodis-server}
SERVER_BIN=${FERRODIS_COMPAT_SERVER:-$FERRODIS_BIN}
UNIT_TIMEOUT=${FERRODIS_UNIT_TIMEOUT:-600}
TEST_TIMEOUT=${FERRODIS_TEST_TIMEOUT:-120}
# The Debian binaries the harness calls besides the server (it always runs
# them as src/<name> relative to the suite directory).
readonly TOOLS=(redis-cli redis-benchmark redis-check-rdb redis-check-aof)
# apt must never stop to ask anything (CI has no stdin).
export DEBIAN_FRONTEND=noninteractive

log() { printf 'compat: %s\n' "$*" >&2; }
die() { printf 'compat: error: %s\n' "$*" >&2; exit 2; }
loud() {
    # A warning that should not scroll by unnoticed.
    printf '\n%s\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!' >&2
    printf '!!! compat: %s\n' "$@" >&2
    printf '%s\n\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!' >&2
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# ---------------------------------------------------------------- arguments
MODE=report
BASELINE=""
UNITS=()
while (($#)); do
    case $1 in
        --check | --update)
            [[ $# -ge 2 ]] || die "$1 needs a FILE"
            [[ $MODE == report ]] || die "--check and --update are exclusive"
            MODE=${1#--}
            BASELINE=$2
            shift 2
            ;;
        -h | --help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) UNITS+=("${1%.tcl}"); shift ;;
    esac
done
if [[ -n $BASELINE && ! -f $BASELINE ]]; then
    # --update may start a new file; --check has nothing to check against.
    [[ $MODE == update ]] || die "no such baseline file: $BASELINE"
    : >"$BASELINE"
fi

# Prints "unit min_ok target" for every entry of a baseline file (comments
# and blank lines dropped; a missing target prints as -).
read_baseline() {
    sed -e 's/#.*//' "$1" | awk 'NF { print $1, ($2 == "" ? 0 : $2), ($3 == "" ? "-" : $3) }'
}

if ((${#UNITS[@]} == 0)); then
    mapfile -t UNITS < <(read_baseline "${BASELINE:-$DEFAULT_BASELINE}" | cut -d' ' -f1)
    ((${#UNITS[@]})) || die "no units to run"
fi

# ---------------------------------------------------------------- packages
# Installs Debian packages, refreshing the package lists only when the first
# attempt fails (a fresh machine or container starts with no or stale lists).
apt_install() {
    log "installing $*"
    if ! apt-get install -y -q --no-install-recommends "$@" >&2; then
        apt-get update -q >&2 || true
        apt-get install -y -q --no-install-recommends "$@" >&2
    fi
}

# Writes /etc/apt/sources.list.d/ferrodis-src.sources: a deb-src twin of the
# machine's own Debian entries, so `apt-get source` reaches the very archive
# (and snapshot, and key) the binaries come from. Nothing about the mirror is
# hard-coded here: URIs, suites, components and keys are copied at run time.
add_deb_src() {
    local out=/etc/apt/sources.list.d/ferrodis-src.sources
    # Some other source entry already provides deb-src: nothing to add.
    local f existing=0
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f && $f != "$out" ]] || continue
        if grep -qE '^(Types:.*[[:space:]]deb-src\b|deb-src[[:space:]])' "$f"; then existing=1; fi
    done
    if ((existing)); then
        log "a deb-src entry already exists; not adding $out"
        return 0
    fi

    # Only suites of this release (bookworm, bookworm-updates,
    # bookworm-security, ...) are copied: third-party repositories that also
    # live in the sources (with suites like "nodistro") have no redis source.
    local codename=""
    # shellcheck disable=SC1091 # a system file, read at run time
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

    local tmp
    tmp=$(mktemp)
    {
        echo "# Written by ferrodis scripts/compat.sh: deb-src twin of this machine's"
        echo "# Debian entries, used to fetch Redis's source (and its test suite)."
        # deb822 files (Debian 12's default is debian.sources).
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -f $f && $f != "$out" ]] || continue
            awk -v codename="$codename" -f - "$f" <<'AWK'
                # Collect the fields of one stanza, then print its deb-src twin.
                function flush(   n, i, s, keep) {
                    if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no" && uris != "") {
                        n = split(suites, s, /[ \t]+/); keep = ""
                        for (i = 1; i <= n; i++)
                            if (s[i] != "" && (codename == "" || s[i] == codename || index(s[i], codename "-") == 1))
                                keep = keep (keep == "" ? "" : " ") s[i]
                        if (keep != "") {
                            print ""
                            print "Types: deb-src"
                            print "URIs: " uris
                            print "Suites: " keep
                            if (comps != "") print "Components: " comps
                            if (signed != "") print "Signed-By: " signed
                        }
                    }
                    types = uris = suites = comps = signed = enabled = ""; field = ""
                }
                /^[ \t]*$/ { flush(); next }
                /^#/ { next }
                /^[ \t]/ { if (field == "signed-by") signed = signed "\n" $0; next }  # continuation (inline key)
                {
                    field = tolower($0); sub(/:.*/, "", field)
                    val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                    if (field == "types") types = val
                    else if (field == "uris") uris = val
                    else if (field == "suites") suites = val
                    else if (field == "components") comps = val
                    else if (field == "signed-by") signed = val
                    else if (field == "enabled") enabled = val
                }
                END { flush() }
AWK
        done
        # One-line format: `deb [options] URI SUITE COMPONENT...`.
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -f $f ]] || continue
            awk -v codename="$codename" '
                $1 != "deb" { next }
                {
                    signed = ""; i = 2
                    if ($2 ~ /^\[/) {            # [arch=amd64 signed-by=/path]
                        while (i <= NF) {
                            opt = $i; gsub(/[][]/, "", opt)
                            if (opt ~ /^signed-by=/) { sub(/^signed-by=/, "", opt); signed = opt }
                            if ($i ~ /\]$/) { i++; break }
                            i++
                        }
                    }
                    uri = $i; suite = $(i + 1); comps = ""
                    for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
                    if (codename != "" && suite != codename && index(suite, codename "-") != 1) next
                    print ""
                    print "Types: deb-src"
                    print "URIs: " uri
                    print "Suites: " suite
                    if (comps != "") print "Components: " comps
                    if (signed != "") print "Signed-By: " signed
                }' "$f"
        done
    } >"$tmp"
    grep -q '^Types: deb-src' "$tmp" || { rm -f "$tmp"; die "found no Debian apt source to derive a deb-src entry from"; }
    # Rewrite only on change, so reruns leave the machine as they found it.
    if ! cmp -s "$tmp" "$out"; then
        log "writing $out"
        install -m 0644 "$tmp" "$out"
    fi
    rm -f "$tmp"
}

# Unpacks Debian's redis source package (which carries Redis's tests/ and
# runtest) into $SUITE_DIR, unless it is already there.
fetch_suite() {
    if [[ -x $SUITE_DIR/runtest && -f $SUITE_DIR/tests/test_helper.tcl ]]; then
        return 0
    fi
    [[ ! -e $SUITE_DIR ]] || die "$SUITE_DIR exists but holds no test suite; remove it and rerun"
    command -v dpkg-source >/dev/null || apt_install dpkg-dev
    add_deb_src
    log "updating apt lists"
    # A failing unrelated source should not stop us; apt-get source will
    # complain clearly if the redis source itself cannot be had.
    apt-get update -q >&2 || log "apt-get update reported errors; trying anyway"
    local parent work dir
    parent=$(dirname "$SUITE_DIR")
    mkdir -p "$parent"
    # Unpack next to the final place, then move it in one step, so an
    # interrupted fetch never leaves a half-populated suite dir behind.
    work=$(mktemp -d "$parent/.suite-fetch.XXXXXX")
    # shellcheck disable=SC2064 # expand $work now: it is local
    trap "rm -rf '$work'" EXIT
    log "fetching the redis source package into $work"
    (cd "$work" && apt-get source -q redis >&2)
    dir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'redis-*' | head -n1)
    [[ -n $dir && -x $dir/runtest ]] || { rm -rf "$work"; die "apt-get source redis produced no runtest"; }
    mv "$dir" "$SUITE_DIR"
    rm -rf "$work"
    trap - EXIT
}

check_version() {
    local v
    v=$(sed -n 's/^#define REDIS_VERSION "\(.*\)"/\1/p' "$SUITE_DIR/src/version.h" 2>/dev/null || true)
    if [[ $v != "$EXPECTED_VERSION" ]]; then
        loud "the suite in $SUITE_DIR is Redis '${v:-unknown}', not $EXPECTED_VERSION:" \
            "its counts are NOT comparable with the baseline."
    fi
}

ensure_tools() {
    local t missing=0
    for t in "${TOOLS[@]}"; do [[ -x /usr/bin/$t ]] || missing=1; done
    ((missing == 0)) || apt_install redis-tools
    # runtest only looks for tclsh8.5, tclsh8.6 or tclsh8.7 (not plain tclsh).
    command -v tclsh8.6 >/dev/null || command -v tclsh8.7 >/dev/null ||
        command -v tclsh8.5 >/dev/null || apt_install tcl
}

# The harness always starts `src/redis-server` (and src/redis-cli etc.)
# relative to the suite dir; point those names at what we want to test.
link_binaries() {
    local server
    [[ -x $SERVER_BIN ]] || die "server binary not found or not executable: $SERVER_BIN (build with cargo build --release)"
    # Absolute, but symlinks not resolved: Debian's /usr/bin/redis-server is
    # a link to redis-check-rdb, which picks its role from argv[0].
    server=$(cd "$(dirname "$SERVER_BIN")" && pwd)/$(basename "$SERVER_BIN")
    ln -sfn "$server" "$SUITE_DIR/src/redis-server"
    local t
    for t in "${TOOLS[@]}"; do ln -sfn "/usr/bin/$t" "$SUITE_DIR/src/$t"; done
    log "src/redis-server -> $server"
}

# ---------------------------------------------------------------- running
# Results, by unit: "ok err exception note".
declare -A RESULT=()

unit_log() { echo "$SUITE_DIR/logs/$(basename "$SERVER_BIN")/$1.log"; }

run_unit() {
    local unit=$1 logf rc=0 pid leftovers=()
    [[ -f $SUITE_DIR/tests/$unit.tcl ]] || {
        log "no such unit: $unit"
        RESULT[$unit]="0 0 1 missing"
        return 0
    }
    logf=$(unit_log "$unit")
    mkdir -p "$(dirname "$logf")"
    log "running $unit (log: $logf)"
    # --clients 1: one unit runs in one client anyway, and a 2-core machine
    # gains nothing from more. --durable: an unexpected error (say, a command
    # ferrodis lacks) fails that one test as [err] instead of aborting the
    # whole unit, so the counts reflect every test. --dump-logs puts the
    # server's log into ours when a test fails. TERM=dumb: no colour codes.
    # timeout runs in its own process group and signals all of it (runtest,
    # its test client, and the servers they spawned) when time is up.
    # shellcheck disable=SC2086 # FERRODIS_RUNTEST_ARGS is a list of flags
    (cd "$SUITE_DIR" && exec env TERM=dumb timeout -k 30 "$UNIT_TIMEOUT" \
        ./runtest --single "$unit" --clients 1 --timeout "$TEST_TIMEOUT" \
        --durable --dump-logs ${FERRODIS_RUNTEST_ARGS:-}) </dev/null >"$logf" 2>&1 &
    pid=$!
    wait "$pid" || rc=$?
    # Whatever is still in timeout's process group (a server the harness
    # could not stop) is ours: stop it by pid so ports are free for the next.
    # The test client may still be exiting from runtest's own kill: give
    # the group a few seconds before stepping in.
    local tries
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        mapfile -t leftovers < <(pgrep -g "$pid" || true)
        ((${#leftovers[@]})) || break
        sleep 0.5
    done
    if ((${#leftovers[@]})); then
        log "stopping leftover processes of $unit (after ${tries} checks):" \
            "$(ps -o pid=,comm= -p "$(IFS=,; echo "${leftovers[*]}")" | tr -s ' \n' ' ')"
        kill "${leftovers[@]}" 2>/dev/null || true
        sleep 1
        kill -9 "${leftovers[@]}" 2>/dev/null || true
    fi

    local ok err exc note=""
    ok=$(sed 's/\x1b\[[0-9;]*m//g' "$logf" | grep -c '^\[ok\]:' || true)
    err=$(sed 's/\x1b\[[0-9;]*m//g' "$logf" | grep -c '^\[err\]:' || true)
    exc=$(sed 's/\x1b\[[0-9;]*m//g' "$logf" | grep -c '^\[exception\]:' || true)
    if ((rc == 124 || rc == 137)); then
        note="wall-clock timeout (${UNIT_TIMEOUT}s)"; exc=$((exc + 1))
    elif grep -q '^\[TIMEOUT\]' "$logf"; then
        note="no progress for ${TEST_TIMEOUT}s"; ((exc)) || exc=1
    elif ((rc != 0 && err == 0 && exc == 0)); then
        note="runtest exited $rc"; exc=1
    fi
    RESULT[$unit]="$ok $err $exc $note"
    log "$unit: ok=$ok err=$err exception=$exc${note:+ ($note)}"
}

# ---------------------------------------------------------------- main
ensure_tools
fetch_suite
check_version
link_binaries

for unit in "${UNITS[@]}"; do run_unit "$unit"; done

# Baseline entries by unit: "min_ok target".
declare -A BASE=()
if [[ -n $BASELINE ]]; then
    while read -r u m t; do BASE[$u]="$m $t"; done < <(read_baseline "$BASELINE")
elif [[ -f $DEFAULT_BASELINE ]]; then
    while read -r u m t; do BASE[$u]="$m $t"; done < <(read_baseline "$DEFAULT_BASELINE")
fi

# Markdown table. pass % is ok / TARGET (real Redis's ok count) when the
# baseline knows it; otherwise ok / (ok + err), as the number of tests a unit
# has is only known once it has run to the end.
echo
echo "Redis $EXPECTED_VERSION test suite against \`$(basename "$SERVER_BIN")\`:"
echo
echo "| unit | ok | err | exception | pass % |"
echo "| --- | ---: | ---: | ---: | ---: |"
tot_ok=0 tot_err=0 tot_exc=0 tot_target=0
for unit in "${UNITS[@]}"; do
    read -r ok err exc note <<<"${RESULT[$unit]}"
    target=$(cut -d' ' -f2 <<<"${BASE[$unit]:-0 -}")
    if [[ $target =~ ^[0-9]+$ ]] && ((target > 0)); then
        denom=$target
    elif ((exc == 0)); then
        denom=$((ok + err))
    else
        denom=0 # stopped early and no target known: the total is unknown
    fi
    tot_target=$((tot_target + denom))
    pct=$(awk -v a="$ok" -v b="$denom" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }')
    echo "| $unit | $ok | $err | $exc${note:+ ($note)} | $pct |"
    tot_ok=$((tot_ok + ok)) tot_err=$((tot_err + err)) tot_exc=$((tot_exc + exc))
done
pct=$(awk -v a="$tot_ok" -v b="$tot_target" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }')
echo "| **total** | $tot_ok | $tot_err | $tot_exc | $pct |"
echo

case $MODE in
    check)
        # Counts only ever go up: a unit below its baseline is a regression.
        failed=0
        for unit in "${UNITS[@]}"; do
            read -r ok _ _ note <<<"${RESULT[$unit]}"
            min=$(cut -d' ' -f1 <<<"${BASE[$unit]:-0 -}")
            if [[ $note == missing ]]; then
                echo "MISSING: $unit is not a unit of this suite (typo in $BASELINE?)"
                failed=1
            elif ((ok < min)); then
                # The failing tests by name, so a CI log alone tells what broke.
                echo "below baseline: $unit passed $ok tests, baseline is $min; failed tests:"
                sed 's/\x1b\[[0-9;]*m//g' "$(unit_log "$unit")" | grep -E '^\[(err|exception)\]:' | sed 's/^/    /' || true
                # A few of Redis's tests depend on timing or random data; a
                # unit that regressed is run once more before it counts.
                echo "rerunning $unit once"
                run_unit "$unit"
                read -r ok _ _ note <<<"${RESULT[$unit]}"
                if ((ok < min)); then
                    echo "REGRESSION: $unit passed $ok tests on the rerun too, baseline is $min (see $SUITE_DIR/logs/)"
                    sed 's/\x1b\[[0-9;]*m//g' "$(unit_log "$unit")" | grep -E '^\[(err|exception)\]:' | sed 's/^/    /' || true
                    failed=1
                fi
            fi
        done
        if ((failed)); then exit 1; fi
        echo "compat check: every unit at or above its baseline in $BASELINE"
        ;;
    update)
        # Rewrite FILE in place, keeping comments and order; numbers only go
        # up. Units that were run but not listed are appended.
        tmp=$(mktemp)
        declare -A seen=()
        while IFS= read -r line || [[ -n $line ]]; do
            body=${line%%#*}
            read -r u m t <<<"$body" || true
            if [[ -n ${u:-} && -n ${RESULT[$u]:-} ]]; then
                seen[$u]=1
                read -r ok _ <<<"${RESULT[$u]}"
                m=${m:-0}
                if ((ok > m)); then m=$ok; fi
                comment=""
                [[ $line == *"#"* ]] && comment=" #${line#*#}"
                echo "$u $m${t:+ $t}$comment"
            else
                echo "$line"
            fi
        done <"$BASELINE" >"$tmp"
        for unit in "${UNITS[@]}"; do
            [[ -n ${seen[$unit]:-} ]] && continue
            read -r ok _ _ note <<<"${RESULT[$unit]}"
            [[ $note != missing ]] || continue
            echo "$unit $ok" >>"$tmp"
        done
        # cat (not mv) keeps the file's owner and mode.
        cat "$tmp" >"$BASELINE"
        rm -f "$tmp"
        echo "compat: updated $BASELINE"
        ;;
esac
