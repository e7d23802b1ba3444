#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) in build/fuzz and
# runs each for SECONDS (default 60), both at once, one core each.
# usage: scripts/fuzz.sh [SECONDS]
# TURBOTWIN_FUZZ_BUILD=DIR uses that build directory instead (scripts/test.sh points it at its
# sanitizer build, which is configured with the fuzzers and the tests, so clang compiles once).
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>) plus whatever earlier
# runs found (build/fuzz/corpus/<target>, kept between runs). Prints per target: executions,
# exec/s, coverage (cov = edges, ft = features), corpus size, new inputs and findings. Any
# crash, leak, timeout or out-of-memory input is kept in build/fuzz/artifacts/<target>/ and
# makes the script exit 1: copy it into tests/fuzz/corpus/<target>/ as a regression input.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
source scripts/deps.sh
install_deps
targets=(telemetry http)
build=${TURBOTWIN_FUZZ_BUILD:-build/fuzz}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DTURBOTWIN_BUILD_TESTS=OFF -DTURBOTWIN_BUILD_FUZZERS=ON >/dev/null
elif ! grep -q '^TURBOTWIN_BUILD_FUZZERS:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "fuzz.sh: $build is not configured with -DTURBOTWIN_BUILD_FUZZERS=ON (clang)" >&2
  exit 2
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

# -max_len: telemetry and requests worth fuzzing fit in 8 KiB (the limits are tested by unit
# tests); -timeout: an input that takes over 10 s is a hang, reported as a finding.
pids=()
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  rm -f "$build/artifacts/$t"/*
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=8192 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$build/fuzz_$t.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
  wait "${pids[$i]}" || status=1
done

for t in "${targets[@]}"; do
  log="$build/fuzz_$t.log"
  final_stat() { awk -v k="stat::$1:" '$1 == k {print $2}' "$log"; }
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)\/([^ ]+) .*/cov \1, ft \2, corpus \3 inputs (\4)/p' <<<"$last")
  findings=$(find "$build/artifacts/$t" -type f | sort)
  printf 'fuzz_%s: %s s, %s executions (%s exec/s), %s, %s new inputs, peak RSS %s MB, findings: %s\n' \
    "$t" "$seconds" "$(final_stat number_of_executed_units)" "$(final_stat average_exec_per_sec)" "${cov:-no coverage line}" \
    "$(final_stat new_units_added)" "$(final_stat peak_rss_mb)" "${findings:-none}"
  if [ -n "$findings" ]; then
    status=1
    { grep -E 'ERROR|property violated|SUMMARY' "$log" || true; } | head -5 | sed 's/^/    /'
    echo "    full log: $log"
  fi
done
exit $status
