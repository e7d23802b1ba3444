#!/usr/bin/env bash
# The demo: a simulated 20-engine fleet streams through a private Mosquitto into `turbotwin
# serve`; alerts print here as they arrive; the REST API and dashboard stay up until Ctrl-C.
# Env: DEMO_ENGINES (20), DEMO_SPEED rows/s (80), DEMO_HTTP_PORT (8080 if free).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_deps
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTURBOTWIN_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target turbotwin
bin=$PWD/build/release/src/turbotwin

work=$(mktemp -d -t turbotwin-demo-XXXX)
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping the demo..."
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
  echo "stopped; nothing left running."
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mq_port=$(free_port)
http_port=${DEMO_HTTP_PORT:-8080}
(exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && http_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\nset_tcp_nodelay true\n' "$mq_port" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & pids+=($!)
wait_tcp "$mq_port" 10 || { echo "mosquitto did not start: $(tail -3 "$work/mosquitto.log")"; exit 1; }

# An operator token for this demo only, so the dashboard's Acknowledge button works.
operator_token=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
TURBOTWIN_API_TOKENS="operator:$operator_token" "$bin" serve --broker "tcp://127.0.0.1:$mq_port" --http "127.0.0.1:$http_port" --data-dir "$work/data" >"$work/serve.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$http_port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$http_port/healthz" >/dev/null || { echo "serve did not start: $(tail -5 "$work/serve.log")"; exit 1; }

# Alerts as they arrive, one readable line each.
mkfifo "$work/alerts.fifo"
python3 -u scripts/demo_format.py alerts <"$work/alerts.fifo" & pids+=($!)
mosquitto_sub -p "$mq_port" -t 'turbotwin/v1/alerts/+' -q 1 >"$work/alerts.fifo" & pids+=($!)

engines=${DEMO_ENGINES:-20}
"$bin" simulate --engines "$engines" --seed "$RANDOM" --out "$work/fleet.txt" --truth "$work/truth.csv"
cat <<MSG

turbotwin is running.
  REST API   http://127.0.0.1:$http_port/api/v1/assets   (alerts: /api/v1/alerts, metrics: /metrics)
  dashboard  http://127.0.0.1:$http_port/   (to acknowledge alerts, paste this operator token: $operator_token)
  broker     tcp://127.0.0.1:$mq_port   (try: mosquitto_sub -p $mq_port -t 'turbotwin/v1/#' -v)
Replaying a simulated $engines-engine fleet, all engines flying together, at ${DEMO_SPEED:-80} rows/s.
Press Ctrl-C to stop everything.

MSG
"$bin" replay "$work/fleet.txt" --broker "tcp://127.0.0.1:$mq_port" --interleave --speed "${DEMO_SPEED:-80}" --quiet
echo
echo "Replay finished. Fleet now (most at risk first):"
curl -sf "http://127.0.0.1:$http_port/api/v1/assets?limit=1000&sort=-risk" | python3 scripts/demo_format.py fleet
echo; echo "The server keeps running: REST on http://127.0.0.1:$http_port/ . Ctrl-C to stop."
wait "${pids[1]}"
