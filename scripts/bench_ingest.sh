#!/usr/bin/env bash
# Ingest rate of `serve`, durability on versus off (docs/durability.md).
# usage: scripts/bench_ingest.sh TURBOTWIN DATA_FILE [RUNS] [-- extra serve flags]
# For each run and mode (durable, --no-durability, alternating): a private Mosquitto, a fresh
# serve and data dir, `replay --speed max`, then REST polled every 20 ms until every engine
# equals `predict`. Prints the replay time and the time from the first row sent until REST was
# current (rows / that time is the end-to-end ingest rate), the CPU time serve used meanwhile
# (user + system, from /proc: less sensitive than wall time to other load on the machine), then
# each mode's medians.
set -uo pipefail
BIN=$(realpath "$1"); DATA=$(realpath "$2"); RUNS=${3:-3}
shift $(( $# < 3 ? $# : 3 )); [ "${1:-}" = -- ] && shift
EXTRA=("$@")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/deps.sh"
WORK=$(mktemp -d)
trap 'kill ${SERVE:-} ${MOSQ:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
rows=$(awk 'NF' "$DATA" | wc -l)
"$BIN" predict "$DATA" >"$WORK/predict.csv" || exit 1

# One Python process times a run: replay, then REST polled every 20 ms until current.
cat >"$WORK/time_run.py" <<'PY'
import csv, json, os, subprocess, sys, time, urllib.request
bin_, data, broker, api, predict, label, rows, serve_pid = sys.argv[1:9]
want = {r["asset"]: r for r in csv.DictReader(open(predict))}
def current():
    got = {a["id"]: a for a in json.load(urllib.request.urlopen(api + "/api/v1/assets?limit=1000"))["items"]}
    return all(k in got and got[k]["last_cycle"] == int(r["cycle"]) and float(got[k]["rul"]) == float(r["rul"])
               for k, r in want.items())
def cpu_s():  # serve's user + system CPU time so far (fields 14 and 15 of /proc/PID/stat)
    fields = open(f"/proc/{serve_pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
c0 = cpu_s()
t0 = time.time()
subprocess.run([bin_, "replay", data, "--broker", broker, "--speed", "max", "--quiet"], check=True, stderr=subprocess.DEVNULL)
t1 = time.time()
while not current():
    os.kill(int(serve_pid), 0)  # raises once serve is gone
    time.sleep(0.02)
t2 = time.time()
cpu = cpu_s() - c0
print(f"{label:>14}: replay {t1 - t0:6.2f} s, REST current {t2 - t0:6.2f} s after the first row: "
      f"{int(rows) / (t2 - t0):7.0f} rows/s; serve CPU {cpu:5.2f} s ({cpu / int(rows) * 1e6:5.1f} us/row)")
with open(os.path.join(os.path.dirname(predict), "results.tsv"), "a") as f:
    f.write(f"{label}\t{int(rows) / (t2 - t0):.0f}\t{cpu / int(rows) * 1e6:.1f}\n")
PY

run_once() {  # run_once LABEL [serve flags...]
  local label=$1; shift
  local mq http
  mq=$(free_port); http=$(free_port)
  rm -rf "$WORK/data"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\nset_tcp_nodelay true\n' "$mq" >"$WORK/m.conf"
  [ "$(id -u)" -eq 0 ] && echo "user root" >>"$WORK/m.conf"
  mosquitto -c "$WORK/m.conf" >"$WORK/m.log" 2>&1 & MOSQ=$!
  wait_tcp "$mq" 5 || { echo "mosquitto did not start"; exit 1; }
  "$BIN" serve --broker "tcp://127.0.0.1:$mq" --http "127.0.0.1:$http" --data-dir "$WORK/data" "$@" "${EXTRA[@]}" \
    >"$WORK/serve.log" 2>&1 & SERVE=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$http/healthz" >/dev/null && break; sleep 0.1; done
  python3 "$WORK/time_run.py" "$BIN" "$DATA" "tcp://127.0.0.1:$mq" "http://127.0.0.1:$http" "$WORK/predict.csv" \
    "$label" "$rows" "$SERVE" || { echo "run failed: $(tail -3 "$WORK/serve.log")"; exit 1; }
  kill "$SERVE"; wait "$SERVE" 2>/dev/null; kill "$MOSQ"; wait "$MOSQ" 2>/dev/null; SERVE= MOSQ=
}

echo "$rows rows from $DATA, $RUNS runs per mode, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$RUNS"); do
  run_once "durable"
  run_once "no-durability" --no-durability
done
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }  # the lower one for an even count
declare -A med_rate med_cpu
for mode in durable no-durability; do
  med_rate[$mode]=$(awk -F'\t' -v m="$mode" '$1 == m {print $2}' "$WORK/results.tsv" | median)
  med_cpu[$mode]=$(awk -F'\t' -v m="$mode" '$1 == m {print $3}' "$WORK/results.tsv" | median)
  printf '%14s median: %s rows/s, serve CPU %s us/row\n' "$mode" "${med_rate[$mode]}" "${med_cpu[$mode]}"
done
awk -v r1="${med_rate[durable]}" -v r0="${med_rate[no-durability]}" -v c1="${med_cpu[durable]}" -v c0="${med_cpu[no-durability]}" \
  'BEGIN {printf "durable / no-durability: rate %.2f, serve CPU per row %.2f\n", r1 / r0, c1 / c0}'
