#!/usr/bin/env bash
# Instructions per chat request of one micromodel binary, counted by callgrind (repeatable on
# a noisy machine, unlike CPU time). It runs `micromodel demo` (proxy + its built-in upstream)
# under valgrind twice, for 100 and for 1100 non-streamed chat requests on one keep-alive
# connection, and prints (run2 - run1) / 1000 for the whole process and for the proxy side
# alone (everything but the built-in upstream's answer handler). With MICROMODEL_SINK set it
# also prints the sink's own share: the inclusive cost of sealing (compression included),
# appending to the spool and the uploader task, so the sink's cost can be told from the
# run-to-run spread (about ±2 % here: callgrind serialises threads, and the recorder's batches
# depend on timing).
#
#   bash bench/callgrind/run.sh target/release/micromodel
#
# A/B two builds: run it on each binary. Needs valgrind, curl, python3.
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
# callgrind_annotate splits a function's inclusive cost by how it resolves source paths, which
# depends on the folder it runs in; from / every path is absolute and the figures are whole.
ann() { (cd / && callgrind_annotate "$@"); }
one() { # n port -> "total upstream"
  local n=$1 port=$2 d out
  d=$(mktemp -d); out="$d/callgrind.out"
  (cd "$d" && exec valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" demo --port "$port" \
    --data-dir "$d/data" --worker-threads 1 >"$d/stdout" 2>"$d/stderr") &
  local vg=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.2; done
  local ok; ok=$(python3 "$here/load.py" "$port" "$n")
  kill -TERM "$vg"; wait "$vg" || true
  [[ $ok == "$n" ]] || { echo "only $ok of $n requests answered 200" >&2; exit 1; }
  local total upstream sink
  total=$(ann "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
  upstream=$(ann --inclusive=yes --threshold=100 "$out" 2>/dev/null \
    | awk '!seen && /demo\/upstream.rs:micromodel::demo::upstream::answer \[/ {gsub(",","",$1); print $1; seen = 1}')
  sink=$(ann --inclusive=yes --threshold=100 "$out" 2>/dev/null | awk '
    /^ *[0-9,]+ \(/ && (/micromodel::sink::seal::seal \[/ || /micromodel::sink::spool::Spool::append \[/ \
      || /micromodel::sink::upload::Uploader::run::\{\{closure\}\} \[/) && !seen[$3]++ {
      gsub(",", "", $1); sum += $1 }
    END { print sum + 0 }')
  rm -rf "$d"
  echo "$total ${upstream:-0} $sink"
}
read -r t1 u1 s1 < <(one 100 39111)
read -r t2 u2 s2 < <(one 1100 39112)
echo "instructions per request: whole process $(( (t2 - t1) / 1000 )), proxy side $(( ((t2 - u2) - (t1 - u1)) / 1000 ))${MICROMODEL_SINK:+, of which the sink $(( (s2 - s1) / 1000 ))}"
