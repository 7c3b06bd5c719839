#!/usr/bin/env bash
# MicroModel benchmark harness: see bench/README.md.
#
#   bash bench/run.sh                  # full run: REPS=3, 10 s per measurement
#   BENCH_QUICK=1 bash bench/run.sh    # smoke run: 1 repetition, 2 s per measurement
#
# Environment: REPS, BENCH_DURATION (seconds), BENCH_STREAMS (phase 4, default 1000),
# BENCH_RECORDS (phase 6), BENCH_OUT (results folder), BENCH_UPSTREAM_PORT / BENCH_PROXY_PORT
# (default 28471 / 28472), BENCH_RELAY_PORT / BENCH_BARE_PORT /
# BENCH_AFFINE_PORT (the references: a plain TCP relay, a bare hyper proxy, and the bare proxy
# with connection affinity, default 28473 / 28474 / 28475), BENCH_PERF=1 (also record a perf profile of MicroModel under the
# closed-loop load), BENCH_KEEP_DATA=1 (keep the recorded data folders), BENCH_REDACT (a REDACT
# value for the workflow, e.g. '["all"]').
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
    REPS=${REPS:-1}
    DURATION=${BENCH_DURATION:-2}
    SLOW_CHUNKS=10
    RECORDS=${BENCH_RECORDS:-50000}
else
    REPS=${REPS:-3}
    DURATION=${BENCH_DURATION:-10}
    SLOW_CHUNKS=30
    RECORDS=${BENCH_RECORDS:-300000}
fi
STREAMS=${BENCH_STREAMS:-1000}
# Below the kernel's ephemeral range (32768+): phase 4's thousand client sockets could
# otherwise hold the proxy's port when it restarts.
UP_PORT=${BENCH_UPSTREAM_PORT:-28471}
PROXY_PORT=${BENCH_PROXY_PORT:-28472}
RELAY_PORT=${BENCH_RELAY_PORT:-28473}
BARE_PORT=${BENCH_BARE_PORT:-28474}
AFFINE_PORT=${BENCH_AFFINE_PORT:-28475}
OUT=${BENCH_OUT:-target/bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

DIRECT_URL="http://127.0.0.1:$UP_PORT/v1/chat/completions"
PROXY_URL="http://127.0.0.1:$PROXY_PORT/v1/chat/completions"
RELAY_URL="http://127.0.0.1:$RELAY_PORT/v1/chat/completions"
BARE_URL="http://127.0.0.1:$BARE_PORT/v1/chat/completions"
AFFINE_URL="http://127.0.0.1:$AFFINE_PORT/v1/chat/completions"
CHAT_BODY='{"model":"bench-model","messages":[{"role":"system","content":"You are a storyteller."},{"role":"user","content":"Tell me a story"}]}'
# The benchmark programs (package micromodel-bench in bench/) sit next to micromodel.
EX=target/release
CLK_TCK=$(getconf CLK_TCK)

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Build and tools

say "building (release): cargo build --release --workspace --bins"
cargo build --release --quiet --workspace --bins

if ! command -v oha >/dev/null 2>&1; then
    say "oha not found; installing it: cargo install oha --locked"
    cargo install oha --locked
fi
OHA_HELP=$(oha --help)
for flag in --no-tui --output-format -z -c -q -m -d -H; do
    grep -q -- "$flag" <<<"$OHA_HELP" || die "this oha ($(oha --version)) has no $flag flag; upgrade it"
done

# Many sockets in phase 4 (client, proxy in and out, upstream).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < 4 * STREAMS + 256 )); then
    say "warning: ulimit -n is $(ulimit -n); phase 4 may run out of file descriptors"
fi

# ---------------------------------------------------------------------------------------------
# Processes

# The processes this script started and that still run (ended by their pid on exit).
UP_PID= PROXY_PID= PERF_PID= RELAY_PID= BARE_PID= AFFINE_PID=
cleanup() {
    local pid
    for pid in $PERF_PID $PROXY_PID $RELAY_PID $BARE_PID $AFFINE_PID $UP_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    local port=$1 pid=$2 i
    for i in $(seq 1 200); do
        port_open "$port" && return 0
        kill -0 "$pid" 2>/dev/null || die "process $pid died before listening on $port (logs in $OUT)"
        sleep 0.05
    done
    die "nothing listens on $port after 10 s (logs in $OUT)"
}

for port in "$UP_PORT" "$PROXY_PORT" "$RELAY_PORT" "$BARE_PORT" "$AFFINE_PORT"; do
    if port_open "$port"; then
        die "port $port is already in use; set the BENCH_*_PORT variables"
    fi
done

"$EX/bench_upstream" --port "$UP_PORT" --chunks 20 --delay-ms 5 >"$OUT/upstream.log" 2>&1 &
UP_PID=$!
wait_port "$UP_PORT" "$UP_PID"
# The references for phases 1-2, to the same upstream: a plain TCP relay (no HTTP), a bare
# hyper proxy (MicroModel's HTTP stack with no parsing, recording or metrics), and the same
# bare proxy with connection affinity (each downstream connection drives its own upstream
# connection in the same task: an architecture, measured for comparison).
"$EX/bench_tcp_relay" --port "$RELAY_PORT" --to "127.0.0.1:$UP_PORT" >"$OUT/relay.log" 2>&1 &
RELAY_PID=$!
wait_port "$RELAY_PORT" "$RELAY_PID"
"$EX/bench_bare_proxy" --port "$BARE_PORT" --to "http://127.0.0.1:$UP_PORT" >"$OUT/bare.log" 2>&1 &
BARE_PID=$!
wait_port "$BARE_PORT" "$BARE_PID"
"$EX/bench_bare_proxy" --port "$AFFINE_PORT" --to "http://127.0.0.1:$UP_PORT" --affinity \
    >"$OUT/affine.log" 2>&1 &
AFFINE_PID=$!
wait_port "$AFFINE_PORT" "$AFFINE_PID"

# The config gets a folder of its own: MicroModel watches the config's folder, and the
# results (perf.data above all) written next to it would wake the watcher during the runs.
mkdir -p "$OUT/etc"
# BENCH_REDACT: a REDACT value for the workflow (e.g. '["all"]'), to measure redaction's cost.
REDACT_FIELD=${BENCH_REDACT:+, \"REDACT\": $BENCH_REDACT}
# BENCH_CLIENT_KEY: a CLIENT_KEYS key for the workflow; every load then sends it as a Bearer
# token (the direct side too, which ignores it), to measure the key check's cost.
KEYS_FIELD=
AUTH_HEADER=()
if [[ -n "${BENCH_CLIENT_KEY:-}" ]]; then
    KEYS_FIELD=", \"CLIENT_KEYS\": [{\"name\": \"bench\", \"key\": \"$BENCH_CLIENT_KEY\"}]"
    AUTH_HEADER=(-H "authorization: Bearer $BENCH_CLIENT_KEY")
fi
cat >"$OUT/etc/config.json" <<EOF
{ "bench": { "OPENAI_API_HOST": "http://127.0.0.1:$UP_PORT", "API_KEY": "", "PORT": $PROXY_PORT$REDACT_FIELD$KEYS_FIELD } }
EOF

# BENCH_SINK=URL also turns the object-storage sink on for the MicroModel of phases 1-3 (the
# proxy under load; phase 6 below runs the recorder alone with it too), so phase 1's CPU per
# request can be compared with and without it. BENCH_SINK_ARGS: more sink flags for it (e.g.
# "--sink-segment-bytes 8388608"), word-split.
SINK_ARGS=()
if [[ -n "${BENCH_SINK:-}" ]]; then
    # shellcheck disable=SC2206
    SINK_ARGS=(--sink "$BENCH_SINK" --instance-id bench ${BENCH_SINK_ARGS:-})
fi
start_proxy() { # data folder [more flags]
    local data=$1
    shift
    target/release/micromodel serve --config "$OUT/etc/config.json" --data-dir "$data" --fsync interval \
        "$@" >>"$OUT/micromodel.log" 2>&1 &
    PROXY_PID=$!
    wait_port "$PROXY_PORT" "$PROXY_PID"
}
stop_proxy() {
    local pid=$PROXY_PID
    PROXY_PID=
    kill -TERM "$pid"
    wait "$pid" || die "MicroModel exited non-zero on SIGTERM (see $OUT/micromodel.log)"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
# Machine-wide count of connections dropped because a listen queue was full (each costs the
# client a 1 s SYN retransmit).
listen_overflows() {
    local n
    n=$(awk '$1 == "TcpExt:" { if (!col) { for (i = 2; i <= NF; i++) if ($i == "ListenOverflows") col = i }
                               else { print $col + 0; exit } }' /proc/net/netstat 2>/dev/null || true)
    echo "${n:-0}"
}
count_lines() { # folder
    local n=0 f
    while IFS= read -r -d '' f; do
        n=$(( n + $(wc -l <"$f") ))
    done < <(find "$1" -name data.jsonl -print0 2>/dev/null)
    echo "$n"
}

# Runs "$@" once per side and repetition, the sides interleaved, alternating their order. The
# sides are direct and proxy, plus the references relay, bare and affine when SIDES says so.
# The command sees SIDE (direct|proxy|relay|bare|affine), URL and REP.
interleave() { # phase command...
    local phase=$1 r sides side
    shift
    for r in $(seq 1 "$REPS"); do
        sides=${SIDES:-direct proxy}
        if (( r % 2 == 0 )); then sides=$(tr ' ' '\n' <<<"$sides" | tac | tr '\n' ' '); fi
        for side in $sides; do
            case $side in
                direct) URL=$DIRECT_URL ;;
                proxy) URL=$PROXY_URL ;;
                relay) URL=$RELAY_URL ;;
                bare) URL=$BARE_URL ;;
                affine) URL=$AFFINE_URL ;;
            esac
            SIDE=$side REP=$r
            say "phase $phase, rep $r/$REPS, $side"
            "$@"
        done
    done
}

oha_json() { # output file, oha args...
    local out=$1
    shift
    oha --no-tui --output-format json -m POST -H 'content-type: application/json' \
        "${AUTH_HEADER[@]}" -d "$CHAT_BODY" "$@" >"$out"
}

# ---------------------------------------------------------------------------------------------
# Phases 1-3: one MicroModel, recording on

if [[ -n "${BENCH_SINK:-}" ]]; then
    say "phases 1-3 with the sink on: --sink $BENCH_SINK ${BENCH_SINK_ARGS:-}"
fi
start_proxy "$OUT/data" "${SINK_ARGS[@]}"
say "warm-up (1 s each side)"
oha_json /dev/null -z 1s -c 32 "$DIRECT_URL"
oha_json /dev/null -z 1s -c 32 "$PROXY_URL"

# CPU seconds of a process since the last call of this function for it.
seconds() { # pid before-ticks
    awk -v t=$(( $(cpu_ticks "$1") - $2 )) -v hz="$CLK_TCK" 'BEGIN { printf "%.6f\n", t / hz }'
}

phase1() {
    local proxy relay bare affine up
    proxy=$(cpu_ticks "$PROXY_PID") relay=$(cpu_ticks "$RELAY_PID") bare=$(cpu_ticks "$BARE_PID")
    affine=$(cpu_ticks "$AFFINE_PID") up=$(cpu_ticks "$UP_PID")
    oha_json "$OUT/p1-$SIDE-$REP.json" -z "${DURATION}s" -c 32 "$URL"
    case $SIDE in
        proxy) seconds "$PROXY_PID" "$proxy" >"$OUT/p1-proxy-$REP.cpu" ;;
        relay) seconds "$RELAY_PID" "$relay" >"$OUT/p1-relay-$REP.cpu" ;;
        bare) seconds "$BARE_PID" "$bare" >"$OUT/p1-bare-$REP.cpu" ;;
        affine) seconds "$AFFINE_PID" "$affine" >"$OUT/p1-affine-$REP.cpu" ;;
        direct) seconds "$UP_PID" "$up" >"$OUT/p1-direct-$REP.upcpu" ;;
    esac
}
SIDES="direct proxy relay bare affine" interleave 1 phase1
# BENCH_PHASE1_ONLY=1: stop after phase 1 and print MicroModel's CPU per request of each rep
# (for A/B runs of one setting, e.g. BENCH_CLIENT_KEY / BENCH_REDACT against none).
if [[ "${BENCH_PHASE1_ONLY:-0}" == 1 ]]; then
    stop_proxy
    for r in $(seq 1 "$REPS"); do
        python3 - "$OUT/p1-proxy-$r.json" "$OUT/p1-proxy-$r.cpu" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = sum(d["statusCodeDistribution"].values())
ok = d["statusCodeDistribution"].get("200", 0)
cpu = float(open(sys.argv[2]).read())
print(f"phase 1 proxy: {n} requests ({ok} x 200), {d['summary']['requestsPerSec']:.0f} req/s, "
      f"CPU {cpu * 1e6 / n:.1f} us/request")
PY
    done
    exit 0
fi

phase2() { oha_json "$OUT/p2-$SIDE-$REP.json" -z "${DURATION}s" -c 32 -q 200 "$URL"; }
SIDES="direct proxy relay bare affine" interleave 2 phase2
for pid in "$RELAY_PID" "$BARE_PID" "$AFFINE_PID"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
RELAY_PID= BARE_PID= AFFINE_PID=

phase3() {
    "$EX/bench_ttfb" --url "$URL" --concurrency 16 --duration-secs "$DURATION" \
        --chunks 20 --delay-ms 5 >"$OUT/p3-$SIDE-$REP.json"
}
interleave 3 phase3

if [[ "${BENCH_PERF:-0}" == 1 ]]; then
    if perf record -q -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
        say "perf: recording MicroModel under the closed-loop load (${DURATION} s)"
        perf record -q -e cpu-clock -F 999 -g -p "$PROXY_PID" -o "$OUT/perf.data" \
            -- sleep "$DURATION" 2>"$OUT/perf-record.log" &
        PERF_PID=$!
        oha_json "$OUT/perf-oha.json" -z "${DURATION}s" -c 32 "$PROXY_URL"
        wait "$PERF_PID" || true
        PERF_PID=
        perf_table() { # sort keys
            perf report -i "$OUT/perf.data" --no-children --sort "$1" --stdio -g none 2>/dev/null \
                | grep -v '^#' | grep '%' \
                | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' || true
        }
        perf_table dso,sym | head -40 >"$OUT/perf-top.txt"
        perf_table dso | head -8 >"$OUT/perf-dso.txt"
        say "perf: top symbols in $OUT/perf-top.txt"
    else
        say "perf does not work here; skipping the profile"
    fi
fi
stop_proxy

# ---------------------------------------------------------------------------------------------
# Phases 4-5: a fresh MicroModel per repetition (idle RSS, then peak RSS of the streams)

phase4() {
    local data="$OUT/data-p4-$REP" want recorded i overflows
    if [[ $SIDE == proxy ]]; then
        start_proxy "$data"
        sleep 1
        status_kb "$PROXY_PID" VmRSS >"$OUT/p5-proxy-$REP.rss_kb"
    fi
    overflows=$(listen_overflows)
    "$EX/bench_slow_streams" --url "$URL" --streams "$STREAMS" --chunks "$SLOW_CHUNKS" \
        --delay-ms 100 >"$OUT/p4-$SIDE-$REP.json"
    echo $(( $(listen_overflows) - overflows )) >"$OUT/p4-$SIDE-$REP.overflows"
    if [[ $SIDE == proxy ]]; then
        want=$STREAMS
        recorded=0
        for i in $(seq 1 100); do
            recorded=$(count_lines "$data")
            if (( recorded >= want )); then break; fi
            sleep 0.1
        done
        echo "$recorded" >"$OUT/p4-proxy-$REP.recorded"
        status_kb "$PROXY_PID" VmHWM >"$OUT/p4-proxy-$REP.hwm_kb"
        stop_proxy
    fi
}
interleave 4 phase4

kill "$UP_PID" 2>/dev/null || true
wait "$UP_PID" 2>/dev/null || true
UP_PID=

# ---------------------------------------------------------------------------------------------
# Phase 6: the recorder alone

for r in $(seq 1 "$REPS"); do
    say "phase 6, rep $r/$REPS: recorder alone, $RECORDS records"
    "$EX/bench_recorder" --records "$RECORDS" --fsync interval --dir "$OUT" >"$OUT/p6-$r.json"
done
# BENCH_SINK=URL (e.g. file:///tmp/bench-bucket, or s3://... with the AWS_* environment): the
# same with the object-storage sink on; the results go to p6-sink-<rep>.json beside.
if [[ -n "${BENCH_SINK:-}" ]]; then
    for r in $(seq 1 "$REPS"); do
        say "phase 6, rep $r/$REPS: recorder alone with --sink $BENCH_SINK"
        "$EX/bench_recorder" --records "$RECORDS" --fsync interval --dir "$OUT" \
            --sink "$BENCH_SINK" >"$OUT/p6-sink-$r.json"
    done
fi

if [[ "${BENCH_KEEP_DATA:-0}" != 1 ]]; then
    rm -rf "$OUT/data" "$OUT"/data-p4-*
fi

# ---------------------------------------------------------------------------------------------
# Report

{
    echo "## MicroModel benchmark"
    echo
    echo "- date (UTC): $(date -u '+%Y-%m-%d %H:%M')"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
    echo "- machine: $(nproc) CPU, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- tools: $(rustc --version), $(oha --version)"
    echo "- settings: REPS=$REPS, ${DURATION} s per measurement, $STREAMS slow streams of $SLOW_CHUNKS chunks 100 ms apart, $RECORDS recorder records$([[ "${BENCH_QUICK:-0}" == 1 ]] && echo ' (BENCH_QUICK)')"
    echo "- raw results: $OUT"
    echo
    "$EX/bench_report" --dir "$OUT" --reps "$REPS" --streams "$STREAMS"
    if [[ -s "$OUT/perf-top.txt" ]]; then
        echo
        echo "MicroModel under the closed-loop load (perf record -g, cpu-clock), self time by"
        echo "binary, then the top 15 symbols:"
        echo
        echo '```'
        cat "$OUT/perf-dso.txt"
        echo
        head -15 "$OUT/perf-top.txt"
        echo '```'
    fi
} | tee "$OUT/report.md"
