#!/usr/bin/env bash
# Quick A/B of one setting: closed-loop CPU per request, latency at 200 req/s, idle RSS and
# peak RSS through 1,000 slow streams (QUICK_STREAMS=0 skips the streams).
#   bash bench/quick.sh MICROMODEL_WORKER_THREADS=1   (arguments: environment for micromodel)
# Needs a release build of the workspace (cargo build --release --workspace; bash bench/run.sh
# builds one) and oha. Runs in a temporary folder.
set -u
M=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$(mktemp -d)"
$M/target/release/bench_upstream --port 28471 --chunks 20 --delay-ms 5 >/dev/null 2>&1 &
UP=$!
echo '{"b":{"OPENAI_API_HOST":"http://127.0.0.1:28471","PORT":28472}}' > c.json
rm -rf d; env X=1 "$@" ${MM_BIN:-$M/target/release/micromodel} serve --config c.json --data-dir d 2>/dev/null &
MM=$!
sleep 0.7
echo "idle RSS $(awk '/VmRSS/{print $2}' /proc/$MM/status) kB"
BODY='{"model":"bench-model","messages":[{"role":"user","content":"Tell me a story"}]}'
o() { oha --no-tui --output-format json -m POST -H 'content-type: application/json' -d "$BODY" "$@" 2>/dev/null; }
o -z 1s -c 32 http://127.0.0.1:28472/v1/chat/completions >/dev/null
for rep in 1 2 3; do
t0=$(awk '{print $14+$15}' /proc/$MM/stat)
o -z 5s -c 32 http://127.0.0.1:28472/v1/chat/completions > cl.json
t1=$(awk '{print $14+$15}' /proc/$MM/stat)
python3 - "$t0" "$t1" <<'P'
import json,sys
d=json.load(open('cl.json')); rps=d['summary']['requestsPerSec']; n=sum(d['statusCodeDistribution'].values())
print(f"closed: {rps:.0f} rps, cpu/req {(int(sys.argv[2])-int(sys.argv[1]))*10000/n:.1f} us")
P
done
for url in http://127.0.0.1:28471 http://127.0.0.1:28472; do
o -z 5s -c 32 -q 200 $url/v1/chat/completions > r.json
python3 -c "
import json; d=json.load(open('r.json'))['latencyPercentiles']; print('$url', 'p50 %.3f p99 %.3f ms'%(d['p50']*1000, d['p99']*1000))"
done
STREAMS=${QUICK_STREAMS:-1000}
if (( STREAMS > 0 )); then
    ulimit -n 65536 2>/dev/null
    $M/target/release/bench_slow_streams --url http://127.0.0.1:28472/v1/chat/completions --streams $STREAMS \
        --chunks 30 --delay-ms 100 > s.json
    python3 -c "import json; d=json.load(open('s.json')); print('streams', {k: d[k] for k in list(d)[:4]})"
    echo "peak RSS $(awk '/VmHWM/{print $2}' /proc/$MM/status) kB"
fi
kill $MM $UP; wait 2>/dev/null
