#!/usr/bin/env bash
# Phase 1's CPU per request with the object-storage sink off and on, measured side by side:
# each repetition runs two fresh MicroModels at the same time, one with the sink (a file://
# bucket, default settings: gzip 1) and one without, each with its own bench upstream and
# its own closed loop (oha, 16 connections), and compares their CPU per request (from
# /proc/<pid>/stat). Whatever else the shared machine does hits both sides at once, so the
# ratio of a repetition varies by a few per cent where back-to-back runs vary by ±20 %.
# Which side has the sink alternates between repetitions.
#
#   bash bench/sink_ab.sh [REPS (10)] [SECONDS (10)]
#
# MM_BIN=path for another build. Needs a release build of the workspace and oha. Prints a line
# a repetition and, last, the median and mean on/off ratio with the mean's standard error.
set -u
M=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${MM_BIN:-$M/target/release/micromodel}
REPS=${1:-10}
SECS=${2:-10}
W=$(mktemp -d)
cd "$W" || exit 1
BODY='{"model":"bench-model","messages":[{"role":"user","content":"Tell me a story"}]}'
o() { oha --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$BODY" "$@" 2>/dev/null; }
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
ups=()
for s in 1 2; do # side s: upstream on 28579+2s, MicroModel on 28580+2s
  "$M/target/release/bench_upstream" --port $((28579 + 2 * s)) --chunks 20 --delay-ms 5 >/dev/null 2>&1 &
  ups+=($!)
  mkdir -p "s$s"
  echo "{\"b\":{\"OPENAI_API_HOST\":\"http://127.0.0.1:$((28579 + 2 * s))\",\"PORT\":$((28580 + 2 * s))}}" > "s$s/c.json"
done
url() { echo "http://127.0.0.1:$((28580 + 2 * $1))/v1/chat/completions"; }
for r in $(seq "$REPS"); do
  on=$(( r % 2 ? 1 : 2 ))
  mm=()
  for s in 1 2; do
    rm -rf "s$s/d" "s$s/bucket"
    if [[ $s == "$on" ]]; then sink=(MICROMODEL_SINK="file://$W/s$s/bucket" MICROMODEL_INSTANCE_ID=ab); else sink=(X=1); fi
    env "${sink[@]}" "$BIN" serve --config "s$s/c.json" --data-dir "s$s/d" --fsync interval 2>/dev/null &
    mm+=($!)
  done
  for s in 1 2; do
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$((28580 + 2 * s))/health" >/dev/null 2>&1 && break; sleep 0.1; done
    o -z 1s -c 16 "$(url $s)" >/dev/null
  done
  t0=("$(cpu "${mm[0]}")" "$(cpu "${mm[1]}")")
  o -z "${SECS}s" -c 16 "$(url 1)" > s1/cl.json & l1=$!
  o -z "${SECS}s" -c 16 "$(url 2)" > s2/cl.json & l2=$!
  wait "$l1" "$l2"
  t1=("$(cpu "${mm[0]}")" "$(cpu "${mm[1]}")")
  kill "${mm[@]}"; wait "${mm[@]}" 2>/dev/null
  python3 - "${t0[0]}" "${t1[0]}" "${t0[1]}" "${t1[1]}" "$on" <<'P' | tee -a runs.txt
import json, sys
t = list(map(int, sys.argv[1:5])); on = int(sys.argv[5]); off = 3 - on
us = {}
for s in (1, 2):
    d = json.load(open(f's{s}/cl.json'))
    n = sum(d['statusCodeDistribution'].values())
    us[s] = (t[2 * s - 1] - t[2 * s - 2]) * 10000 / n
print(f"sink on side {on}: off {us[off]:.2f} us/request, on {us[on]:.2f}, on/off {us[on] / us[off]:.3f}")
P
done
kill "${ups[@]}"; wait 2>/dev/null
python3 - <<'P'
import statistics
r = [float(line.split()[-1]) for line in open('runs.txt')]
se = statistics.stdev(r) / len(r) ** 0.5 if len(r) > 1 else float('nan')
print(f"{len(r)} repetitions: on/off median {statistics.median(r):.3f}, mean {statistics.mean(r):.3f} "
      f"(standard error {se:.3f}), range {min(r):.3f}-{max(r):.3f}")
P
rm -rf "$W"
