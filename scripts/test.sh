#!/usr/bin/env bash
# The test command: installs what is missing, then
#  1. builds build/release and runs every test via CTest: unit tests, the fuzz corpora replayed,
#     and integration tests (each starts its own Mosquitto and server on free loopback ports);
#  2. builds build/sanitize with clang (Debug -O1, AddressSanitizer + UndefinedBehaviorSanitizer,
#     libFuzzer coverage) and runs every test again there: a memory error, a leak or undefined
#     behaviour fails the test;
#  3. fuzzes each libFuzzer target from that same build for a short smoke run
#     (TURBOTWIN_FUZZ_SMOKE_SECONDS, default 30; scripts/fuzz.sh runs longer ones).
# One clang build serves both 2 and 3: compiling everything a third time (GCC ASan, then clang
# for the fuzzers) took 17 of CI's 24 minutes.
# A failing test pass does not stop the later ones (their findings matter too); a failing build
# does. Ends with one closing line naming the result; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
install_deps
jobs=$(nproc)
fuzz_seconds=${TURBOTWIN_FUZZ_SMOKE_SECONDS:-30}
# Unity builds (16 sources per translation unit) parse the heavy headers (Eigen, Beast, nlohmann,
# spdlog) once per batch instead of once per file: 41% less compile CPU. TURBOTWIN_UNITY=OFF
# builds file by file, as developers' incremental builds do.
unity="-DCMAKE_UNITY_BUILD=${TURBOTWIN_UNITY:-ON} -DCMAKE_UNITY_BUILD_BATCH_SIZE=16"

started=$SECONDS
stage=setup
stage_started=$SECONDS
results=()
failed=()
begin() { stage=$1; stage_started=$SECONDS; echo "=== test.sh: $stage"; }
passed() { results+=("$stage ${1:-}$((SECONDS - stage_started)) s"); }
# Runs a test pass; a failure is remembered and reported at the end instead of stopping here.
test_pass() {
  if "$@"; then passed; else failed+=("$stage"); results+=("$stage FAILED $((SECONDS - stage_started)) s"); fi
}
closing_line() {
  local rc=$?
  local joined
  joined=$(IFS=';'; echo "${results[*]:-}")
  if [ "$rc" -eq 0 ]; then
    echo "=== test.sh: PASSED in $((SECONDS - started)) s (${joined//;/; })"
  elif [ ${#failed[@]} -gt 0 ] && [ "$stage" = done ]; then
    echo "=== test.sh: FAILED: ${failed[*]} (${joined//;/; }; $((SECONDS - started)) s in all)"
  else
    echo "=== test.sh: FAILED in stage '$stage' (exit $rc) after $((SECONDS - started)) s"
  fi
}
trap closing_line EXIT

begin "release: build"
# With the benchmarks (bench_pipeline): built, not run, so that they keep compiling.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTURBOTWIN_BUILD_TESTS=ON -DTURBOTWIN_BUILD_BENCHMARKS=ON $unity >/dev/null
cmake --build build/release -j "$jobs"
passed

begin "release: tests"
test_pass ctest --test-dir build/release --output-on-failure -j "$jobs" --timeout 300

begin "asan+ubsan: build"
# Debug keeps assertions on; -O1 (what ASan's authors advise) because at -O0 Eigen and the model
# run so slowly that the training tests time out. TURBOTWIN_BUILD_FUZZERS implies ASan + UBSan
# on every target, plus the coverage hooks libFuzzer steers by (cheap for the tests).
# Line tables are all a sanitizer report needs (file:line per frame), at a third less object
# size than full debug info; lld links the 30 sanitized executables in a third of ld's time.
# The adapters and their tests (HTTP, MQTT, store, cluster, CLI) at -O0: half the compile CPU
# (585 s against about 1,200), for about 50 s more test time (174-184 s against 125).
cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-gline-tables-only -O1" \
  -DCMAKE_EXE_LINKER_FLAGS="-fuse-ld=lld" -DTURBOTWIN_UNOPTIMIZED_ADAPTERS=ON \
  -DCMAKE_CXX_COMPILER=clang++ -DTURBOTWIN_BUILD_FUZZERS=ON -DTURBOTWIN_BUILD_TESTS=ON $unity >/dev/null
cmake --build build/sanitize -j "$jobs"
passed

begin "asan+ubsan: tests"
# Every test process, and the server the integration tests start, inherits these. UBSan halts
# at the first report (the build already makes undefined behaviour fatal); LSan checks leaks at
# exit, so a server that leaks fails its test by exiting non-zero.
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Leaks inside third-party libraries we cannot fix (see the file) are suppressed; ours are not.
export LSAN_OPTIONS="suppressions=$PWD/tests/support/lsan.supp:print_suppressions=0"
test_pass ctest --test-dir build/sanitize --output-on-failure -j "$jobs" --timeout 600
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

begin "fuzz smoke"
test_pass env TURBOTWIN_FUZZ_BUILD=build/sanitize bash scripts/fuzz.sh "$fuzz_seconds"

stage=done
[ ${#failed[@]} -eq 0 ]
