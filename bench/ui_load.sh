#!/usr/bin/env bash
# The data page under a large data folder (issue 15's acceptance: "with 1 GiB of records in the
# data folder, the overview renders within a few seconds and the proxy's p99 under load is
# unchanged while the page is open"). See bench/README.md.
#
#   bash bench/ui_load.sh                                  # 1 GiB, 500 req/s for 20 s
#   UI_BYTES=$((50 << 20)) UI_LOAD_SECONDS=5 bash bench/ui_load.sh   # a quick check
#
# Environment: UI_BYTES (bytes of records to generate, default 1 GiB), UI_DAYS (days they
# span, default 30), UI_DATA (a data folder to use; generated into when it has no
# .bench-gen.json, kept afterwards), UI_LOAD_RATE (req/s, default 500), UI_LOAD_SECONDS
# (default 20), UI_LOAD_CONNECTIONS (default 50), UI_PAGE_PAUSE (seconds between page loads,
# default 0), UI_COLD=1 (drop the page cache before the
# first overview, needs root), BENCH_OUT (results folder), BENCH_KEEP_DATA=1 (keep the
# generated folder), BENCH_UPSTREAM_PORT / BENCH_PROXY_PORT / BENCH_ADMIN_PORT (default
# 28481 / 28482 / 28483).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

BYTES=${UI_BYTES:-$((1 << 30))}
DAYS=${UI_DAYS:-30}
RATE=${UI_LOAD_RATE:-500}
SECONDS_LOAD=${UI_LOAD_SECONDS:-20}
CONNECTIONS=${UI_LOAD_CONNECTIONS:-50}
UP_PORT=${BENCH_UPSTREAM_PORT:-28481}
PROXY_PORT=${BENCH_PROXY_PORT:-28482}
ADMIN_PORT=${BENCH_ADMIN_PORT:-28483}
OUT=${BENCH_OUT:-target/bench/ui-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
EX=target/release
PROXY_URL="http://127.0.0.1:$PROXY_PORT/v1/chat/completions"
ADMIN="http://127.0.0.1:$ADMIN_PORT"
CHAT_BODY='{"model":"bench-model","messages":[{"role":"system","content":"You are a storyteller."},{"role":"user","content":"Tell me a story"}]}'
# The admin token, from the environment (not on a command line).
BENCH_UI_TOKEN="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')"
export BENCH_UI_TOKEN

say() { printf '[ui-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

say "building (release): cargo build --release --workspace --bins"
cargo build --release --quiet --workspace --bins
command -v oha >/dev/null 2>&1 || die "oha not found (cargo install oha --locked)"
command -v curl >/dev/null 2>&1 || die "curl not found"

UP_PID= PROXY_PID= PAGES_PID=
cleanup() {
    local pid
    for pid in $PAGES_PID $PROXY_PID $UP_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    local port=$1 pid=$2 i
    for i in $(seq 1 600); do
        port_open "$port" && return 0
        kill -0 "$pid" 2>/dev/null || die "process $pid died before listening on $port (logs in $OUT)"
        sleep 0.05
    done
    die "nothing listens on $port after 30 s (logs in $OUT)"
}
for port in "$UP_PORT" "$PROXY_PORT" "$ADMIN_PORT"; do
    port_open "$port" && die "port $port is already in use; set the BENCH_*_PORT variables"
done

# ---------------------------------------------------------------------------------------------
# The data folder

DATA=${UI_DATA:-$OUT/data}
if [[ -f "$DATA/.bench-gen.json" ]]; then
    say "using the records in $DATA: $(cat "$DATA/.bench-gen.json")"
else
    say "generating $((BYTES >> 20)) MiB of records over $DAYS days into $DATA"
    mkdir -p "$DATA"
    "$EX/bench_gen_records" --dir "$DATA" --bytes "$BYTES" --days "$DAYS" >"$OUT/gen.json"
    cp "$OUT/gen.json" "$DATA/.bench-gen.json"
    say "generated: $(cat "$OUT/gen.json")"
fi
DATA_SIZE=$(du -sh "$DATA" | cut -f1)
DATA_FILES=$(find "$DATA" -name data.jsonl | wc -l)

# ---------------------------------------------------------------------------------------------
# Upstream and MicroModel (admin listener with a token, as in production)

"$EX/bench_upstream" --port "$UP_PORT" --chunks 20 --delay-ms 5 >"$OUT/upstream.log" 2>&1 &
UP_PID=$!
wait_port "$UP_PORT" "$UP_PID"
mkdir -p "$OUT/etc"
cat >"$OUT/etc/config.json" <<EOF
{ "bench": { "OPENAI_API_HOST": "http://127.0.0.1:$UP_PORT", "API_KEY": "", "PORT": $PROXY_PORT } }
EOF
if [[ "${UI_COLD:-0}" == 1 ]]; then
    sync
    if echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
        say "page cache dropped: the first overview reads from disk"
    else
        say "warning: cannot drop the page cache (not root): the first overview is warm"
    fi
fi
"$EX/micromodel" serve --config "$OUT/etc/config.json" --data-dir "$DATA" --fsync interval \
    --admin-addr "127.0.0.1:$ADMIN_PORT" --admin-token env:BENCH_UI_TOKEN \
    >"$OUT/micromodel.log" 2>&1 &
PROXY_PID=$!
wait_port "$PROXY_PORT" "$PROXY_PID"
wait_port "$ADMIN_PORT" "$PROXY_PID"

# ---------------------------------------------------------------------------------------------
# Page times

page() { # path -> "status seconds bytes"
    curl -s -o /dev/null -H "Authorization: Bearer $BENCH_UI_TOKEN" \
        -w '%{http_code} %{time_total} %{size_download}' "$ADMIN$1"
}
timed() { # label path
    local got status
    got=$(page "$2")
    status=${got%% *}
    [[ $status == 200 ]] || die "$2 answered $status (see $OUT/micromodel.log)"
    printf '| %s | `%s` | %s s | %s bytes |\n' "$1" "$2" "$(cut -d' ' -f2 <<<"$got")" \
        "$(cut -d' ' -f3 <<<"$got")" | tee -a "$OUT/pages.md" >&2
}
: >"$OUT/pages.md"
say "timing the pages (curl time_total)"
timed "overview, first load" "/ui/"
timed "overview, second load" "/ui/"
timed "records list" "/ui/records"
timed "records list, page 20" "/ui/records?page=20"
timed "records of one workflow and day" "/ui/records?workflow=support&day=$(date -u +%Y-%m-%d)"
timed "search, few hits" "/ui/records?q=zanzibar"
timed "search, no hit (reads every line)" "/ui/records?q=no-such-phrase-anywhere"
timed "live" "/ui/live"

# ---------------------------------------------------------------------------------------------
# The proxy under a fixed rate, without and with the page open

load() { # name
    oha --no-tui --output-format json --latency-correction -m POST \
        -H 'content-type: application/json' -d "$CHAT_BODY" \
        -z "${SECONDS_LOAD}s" -q "$RATE" -c "$CONNECTIONS" "$PROXY_URL" >"$OUT/load-$1.json"
}
# Somebody with the page open: reloads the overview and the records list, one after the other,
# UI_PAGE_PAUSE seconds apart (default 0: back to back, the worst case; 1: a person clicking
# once a second).
PAGE_PAUSE=${UI_PAGE_PAUSE:-0}
pages_loop() {
    local n=0
    while :; do
        for path in "/ui/" "/ui/records" "/ui/records?page=5"; do
            page "$path" >/dev/null
            [[ "$PAGE_PAUSE" == 0 ]] || sleep "$PAGE_PAUSE"
        done
        n=$((n + 3))
        echo "$n" >"$OUT/page-loads"
    done
}

say "warm-up: 2 s at $RATE req/s"
oha --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$CHAT_BODY" \
    -z 2s -q "$RATE" -c "$CONNECTIONS" "$PROXY_URL" >/dev/null
say "load without the page: $RATE req/s for $SECONDS_LOAD s"
load quiet
say "load with the page reloading in a loop: $RATE req/s for $SECONDS_LOAD s"
echo 0 >"$OUT/page-loads"
pages_loop &
PAGES_PID=$!
load paged
kill "$PAGES_PID" 2>/dev/null || true
wait "$PAGES_PID" 2>/dev/null || true
PAGES_PID=
PAGE_LOADS=$(cat "$OUT/page-loads")

summary() { # file
    python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution", {})
n = sum(codes.values())
p = d["latencyPercentiles"]
print(f"{d['summary']['requestsPerSec']:.0f} | {n} | {codes.get('200', 0)} | "
      f"{p['p50'] * 1000:.2f} ms | {p['p99'] * 1000:.2f} ms | {p['p99.9'] * 1000:.2f} ms")
PY
}

{
    echo "## The data page under $DATA_SIZE of records"
    echo
    echo "- date (UTC): $(date -u '+%Y-%m-%d %H:%M'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
    echo "- machine: $(nproc) CPU, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- data: $DATA ($DATA_SIZE in $DATA_FILES day files$([[ -f "$DATA/.bench-gen.json" ]] && echo ", $(cat "$DATA/.bench-gen.json")"))"
    echo "- load: oha $(oha --version | cut -d' ' -f2), $RATE req/s for $SECONDS_LOAD s, $CONNECTIONS connections, latency-corrected, non-streamed chat requests (the fake upstream answers at once)"
    echo
    echo "| page | path | time | size |"
    echo "|---|---|---|---|"
    cat "$OUT/pages.md"
    echo
    echo "| proxy load | req/s | requests | 200 | p50 | p99 | p99.9 |"
    echo "|---|---|---|---|---|---|---|"
    echo "| without the page | $(summary "$OUT/load-quiet.json") |"
    echo "| with the page reloading ($PAGE_LOADS page loads) | $(summary "$OUT/load-paged.json") |"
    echo
    echo "raw results: $OUT"
} | tee "$OUT/report.md"

if [[ -z "${UI_DATA:-}" && "${BENCH_KEEP_DATA:-0}" != 1 ]]; then
    rm -rf "$DATA"
fi
