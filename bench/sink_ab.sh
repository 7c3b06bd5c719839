#!/usr/bin/env bash
# Phase 1's CPU per request with the object-storage sink off and on, alternating, so slow
# drifts of a shared machine hit both sides alike: a closed loop (oha, 32 connections, the
# bench upstream, --fsync interval) against a fresh MicroModel per run, CPU from
# /proc/<pid>/stat. The sink writes to a file:// bucket with the default settings (gzip 1).
#
#   bash bench/sink_ab.sh [PAIRS (8)] [SECONDS (10)]
#
# MM_BIN=path for another build. Needs a release build of the workspace and oha. Prints one
# line a run and, last, the medians and their ratio.
set -u
M=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${MM_BIN:-$M/target/release/micromodel}
PAIRS=${1:-8}
SECS=${2:-10}
W=$(mktemp -d)
cd "$W" || exit 1
"$M/target/release/bench_upstream" --port 28571 --chunks 20 --delay-ms 5 >/dev/null 2>&1 &
UP=$!
echo '{"b":{"OPENAI_API_HOST":"http://127.0.0.1:28571","PORT":28572}}' > c.json
BODY='{"model":"bench-model","messages":[{"role":"user","content":"Tell me a story"}]}'
URL=http://127.0.0.1:28572/v1/chat/completions
o() { oha --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$BODY" "$@" 2>/dev/null; }
one() { # label, then environment for micromodel
  local label=$1; shift
  rm -rf d bucket
  env "$@" "$BIN" serve --config c.json --data-dir d --fsync interval 2>/dev/null &
  local mm=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:28572/health >/dev/null 2>&1 && break; sleep 0.1; done
  o -z 1s -c 32 "$URL" >/dev/null
  local t0 t1
  t0=$(awk '{print $14+$15}' "/proc/$mm/stat")
  o -z "${SECS}s" -c 32 "$URL" > cl.json
  t1=$(awk '{print $14+$15}' "/proc/$mm/stat")
  kill "$mm"; wait "$mm" 2>/dev/null
  python3 - "$t0" "$t1" "$label" <<'P' | tee -a runs.txt
import json, sys
d = json.load(open('cl.json'))
n = sum(d['statusCodeDistribution'].values())
ok = d['statusCodeDistribution'].get('200', 0)
print(f"{sys.argv[3]} {(int(sys.argv[2]) - int(sys.argv[1])) * 10000 / n:.2f} us/request, {n} requests, {ok} x 200")
P
}
SINK=(MICROMODEL_SINK="file://$W/bucket" MICROMODEL_INSTANCE_ID=ab)
for i in $(seq "$PAIRS"); do
  if (( i % 2 )); then one off X=1; one on "${SINK[@]}"; else one on "${SINK[@]}"; one off X=1; fi
done
kill "$UP"; wait 2>/dev/null
python3 - <<'P'
import statistics
runs = {'off': [], 'on': []}
for line in open('runs.txt'):
    side, us = line.split()[:2]
    runs[side].append(float(us))
off, on = statistics.median(runs['off']), statistics.median(runs['on'])
print(f"median: sink off {off:.1f} us/request, on {on:.1f} (on/off {on / off:.3f}); "
      f"off {min(runs['off']):.1f}-{max(runs['off']):.1f}, on {min(runs['on']):.1f}-{max(runs['on']):.1f}")
P
rm -rf "$W"
