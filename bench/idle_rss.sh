#!/usr/bin/env bash
# Idle RSS of a fresh `micromodel serve` (bench/run.sh phase 5, repeated) and where it goes.
#   bash bench/idle_rss.sh [RUNS]     (default 5; MM_BIN=path measures another binary)
# Each run starts a fresh process on a plain http:// config (nothing listens upstream; no
# request is sent), and prints VmRSS 1 s after its port accepts. The last run's resident memory
# is then broken down by mapping (/proc/PID/smaps). The binary is dropped from the page cache
# first: a file just written by `cp` sits in the cache in a way that maps ~1.5 MiB more of it,
# a freshly linked or re-read one does not. Needs a release build (cargo build --release).
set -eu
M=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${MM_BIN:-$M/target/release/micromodel}
RUNS=${1:-5}
PORT=${BENCH_IDLE_PORT:-28476}
cd "$(mktemp -d)"
echo "{\"b\":{\"OPENAI_API_HOST\":\"http://127.0.0.1:9\",\"API_KEY\":\"\",\"PORT\":$PORT}}" >c.json
sync "$BIN"
dd if="$BIN" iflag=nocache count=0 status=none
for run in $(seq "$RUNS"); do
    rm -rf d
    "$BIN" serve --config c.json --data-dir d --fsync interval 2>log &
    MM=$!
    for _ in $(seq 250); do
        (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.02
    done
    sleep 1
    echo "run $run: idle RSS $(awk '/^VmRSS/ {print $2}' "/proc/$MM/status") kB"
    if (( run == RUNS )); then
        awk -v bin="$BIN" '
            /^[0-9a-f]+-[0-9a-f]+ / {
                name = $6
                if (name == bin) key = "binary " $2
                else if (name ~ /^\//) { n = split(name, p, "/"); key = p[n] }
                else if (name != "") key = name
                else key = "anonymous (thread stacks, malloc arenas)"
            }
            /^Rss:/ { rss[key] += $2 }
            END { for (k in rss) if (rss[k]) printf "%8d kB  %s\n", rss[k], k }
        ' "/proc/$MM/smaps" | sort -rn
    fi
    kill -TERM "$MM"
    wait "$MM" || true
done
