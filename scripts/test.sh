#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts nothing by hand (each integration
# test starts its own Mosquitto and server on free loopback ports), runs every test via CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_deps
jobs=$(nproc)
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTURBOTWIN_BUILD_TESTS=ON >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs" --timeout 300
