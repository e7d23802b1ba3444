# Sourced by demo.sh and test.sh: installs the Debian packages turbotwin needs, only if missing.
turbotwin_packages=(
  build-essential cmake ninja-build pkg-config python3 curl
  libpaho-mqttpp-dev libpaho-mqtt-dev libeigen3-dev libboost-dev libboost-system-dev
  nlohmann-json3-dev libspdlog-dev libcli11-dev libsimdjson-dev libxgboost-dev libsqlite3-dev
  libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  chromium  # headless browser: the dashboard test (tests/integration/test_dashboard.py)
  mosquitto mosquitto-clients
  nats-server libnats-dev  # cluster mode (serve --cluster) and its test: tests/integration/test_cluster.py
  clang libclang-rt-14-dev lld  # libFuzzer, the clang sanitizer runtimes and a fast linker: scripts/fuzz.sh, test.sh
)

install_deps() {
  local missing=()
  for p in "${turbotwin_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_tcp() {  # wait_tcp PORT SECONDS
  for _ in $(seq 1 $(($2 * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
