#!/usr/bin/env bash
# A local turbotwin cluster on loopback: 3 NATS nodes (config/cluster/nats-node.conf: JetStream,
# an MQTT listener each, the partition mapping) and 3 `turbotwin serve --cluster` instances, all
# on free ports. Engines publish MQTT to any node's MQTT port; REST answers on any instance.
#
#   bash scripts/cluster.sh start    # prints the ports; state, logs and data under $CLUSTER_DIR
#   bash scripts/cluster.sh status   # processes, and each instance's view of members and partitions
#   bash scripts/cluster.sh stop     # stops the instances (handing partitions over), then NATS
#
# CLUSTER_DIR (default /tmp/turbotwin-cluster), TURBOTWIN_BIN (default build/release/src/turbotwin),
# CLUSTER_INSTANCES (3; 0 starts NATS only), CLUSTER_PARTITIONS (64: must match the NATS mapping).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
dir=${CLUSTER_DIR:-/tmp/turbotwin-cluster}
bin=${TURBOTWIN_BIN:-build/release/src/turbotwin}
instances=${CLUSTER_INSTANCES:-3}

# Starts a command in its own process group (so stop can end it and its children), logging to $2.
spawn() {  # spawn NAME LOGFILE CMD...
  local name=$1 log=$2
  shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

alive() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

stop_one() {  # stop_one NAME: SIGTERM to the group, SIGKILL after 10 s
  alive "$1" || { rm -f "$dir/$1.pid"; return 0; }
  local pid
  pid=$(cat "$dir/$1.pid")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$dir/$1.pid"
}

start() {
  command -v nats-server >/dev/null || { echo "cluster.sh: nats-server is not installed (apt-get install nats-server)"; exit 1; }
  if [ "$instances" -gt 0 ] && [ ! -x "$bin" ]; then
    echo "cluster.sh: $bin not found: build it first (cmake --build build/release --target turbotwin) or set TURBOTWIN_BIN"
    exit 1
  fi
  if alive nats1; then echo "cluster.sh: already running (cluster.sh stop first)"; exit 1; fi
  mkdir -p "$dir"
  local i j
  local -a client route mqtt monitor http
  for i in 1 2 3; do
    client[i]=$(free_port); route[i]=$(free_port); mqtt[i]=$(free_port); monitor[i]=$(free_port); http[i]=$(free_port)
  done
  for i in 1 2 3; do
    local -a others=()
    for j in 1 2 3; do [ "$j" = "$i" ] || others+=("nats://127.0.0.1:${route[j]}"); done
    mkdir -p "$dir/nats$i"
    TT_NODE_NAME=n$i TT_CLIENT_PORT=${client[i]} TT_CLUSTER_PORT=${route[i]} TT_MQTT_PORT=${mqtt[i]} \
      TT_MONITOR_PORT=${monitor[i]} TT_STORE_DIR="$dir/nats$i" TT_ROUTE_1=${others[0]} TT_ROUTE_2=${others[1]} \
      spawn "nats$i" "$dir/nats$i.log" nats-server -c config/cluster/nats-node.conf
  done
  for i in 1 2 3; do
    wait_tcp "${monitor[i]}" 20 || { echo "cluster.sh: NATS node $i did not start (see $dir/nats$i.log)"; exit 1; }
  done
  # JetStream is usable once the nodes have elected a meta leader.
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:${monitor[1]}/healthz?js-enabled-only=true" >/dev/null && break
    sleep 0.2
  done
  local urls="nats://127.0.0.1:${client[1]},nats://127.0.0.1:${client[2]},nats://127.0.0.1:${client[3]}"
  python3 - "$dir/cluster.json" "$urls" "tcp://127.0.0.1:${mqtt[1]}" "${CLUSTER_PARTITIONS:-64}" <<'PY'
import json, sys
path, urls, mqtt, partitions = sys.argv[1:]
base = json.load(open("config/cluster/turbotwin-cluster.json"))
base.update(nats_urls=urls.split(","), mqtt_url=mqtt, partitions=int(partitions))
json.dump(base, open(path, "w"), indent=2)
PY
  {
    echo "NATS_URLS=$urls"
    for i in 1 2 3; do
      echo "NATS_CLIENT_PORT_$i=${client[i]}"; echo "MQTT_PORT_$i=${mqtt[i]}"; echo "NATS_MONITOR_PORT_$i=${monitor[i]}"
    done
  } >"$dir/ports.env"
  for i in $(seq 1 "$instances"); do
    echo "HTTP_PORT_$i=${http[i]}" >>"$dir/ports.env"
    spawn "tt$i" "$dir/tt$i.log" "$bin" serve --cluster "$dir/cluster.json" --instance "tt$i" --http "127.0.0.1:${http[i]}" \
      --data-dir "$dir/tt$i" --nats "$urls" --broker "tcp://127.0.0.1:${mqtt[i]}"
  done
  for i in $(seq 1 "$instances"); do
    wait_tcp "${http[i]}" 30 || { echo "cluster.sh: instance tt$i did not start (see $dir/tt$i.log)"; exit 1; }
  done
  # Ready once every partition has a live holder (engines may publish before that: their readings
  # wait in the MQTT listener's stream; this is for whoever reads the REST API right away).
  local t0=$SECONDS live=0
  while (( SECONDS - t0 < 60 )); do
    live=$(curl -s "http://127.0.0.1:${http[1]}/api/v1/cluster" | python3 -c 'import json,sys
try:
    c = json.load(sys.stdin)
    print(sum(1 for p in c["partitions"] if p.get("owner")))
except ValueError:
    print(0)' 2>/dev/null || echo 0)
    [ "$live" = "$(python3 -c "import json; print(json.load(open('$dir/cluster.json'))['partitions'])")" ] && break
    sleep 0.5
  done
  echo "cluster up in $dir ($live partitions held after $((SECONDS - t0)) s):"
  for i in 1 2 3; do echo "  NATS n$i: nats://127.0.0.1:${client[i]}  MQTT tcp://127.0.0.1:${mqtt[i]}  monitor http://127.0.0.1:${monitor[i]}"; done
  for i in $(seq 1 "$instances"); do echo "  turbotwin tt$i: http://127.0.0.1:${http[i]}/  (GET /api/v1/cluster)"; done
}

status() {
  [ -f "$dir/ports.env" ] || { echo "cluster.sh: not started"; exit 1; }
  local name
  for name in nats1 nats2 nats3 tt1 tt2 tt3; do
    if alive "$name"; then echo "$name: running (pid $(cat "$dir/$name.pid"))"; elif [ -f "$dir/$name.log" ]; then echo "$name: stopped"; fi
  done
  # shellcheck disable=SC1091
  source "$dir/ports.env"
  local i port
  for i in 1 2 3; do
    port=$(eval echo "\${HTTP_PORT_$i:-}")
    [ -n "$port" ] && alive "tt$i" || continue
    curl -sf "http://127.0.0.1:$port/api/v1/cluster" | python3 -c '
import json, sys
c = json.load(sys.stdin)
mine = [p for p in c["partitions"] if p["owner"] == c["instance"]]
members = ", ".join(m["id"] for m in c["members"])
print("%s: members [%s], holds %d partitions (%d live), lag %d" % (c["instance"], members, len(mine),
      sum(1 for p in mine if p.get("live")), sum(p.get("lag") or 0 for p in mine)))' || true
  done
}

stop() {
  local name
  # All instances at once: one by one, each would hand its partitions to those still running.
  for name in tt1 tt2 tt3; do
    alive "$name" && kill -TERM -- "-$(cat "$dir/$name.pid")" 2>/dev/null || true
  done
  for name in tt1 tt2 tt3 nats1 nats2 nats3; do stop_one "$name"; done
  echo "cluster stopped (data and logs kept in $dir; remove it for a fresh start)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status"; exit 2 ;;
esac
