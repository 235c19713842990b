#!/usr/bin/env bash
# One command to build and run every test on a fresh Debian 12 machine: installs missing
# packages (as root), then builds twice and runs the whole ctest suite on each build:
#   1. build/       warnings as errors (the release build users get);
#   2. build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer.
# The clang-format check is one of the ctest tests. ctest's summary line is the verdict.
#   bash scripts/test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/deps.sh" test
jobs=$(nproc)
status=0
run_suite() {
  local dir=$1; shift
  echo "== $dir: configure and build"
  cmake -S "$root" -B "$root/$dir" -DSTACKTOP_WERROR=ON "$@" >/dev/null
  cmake --build "$root/$dir" -j"$jobs" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
  [ -x "$root/$dir/stacktop" ] || { echo "build failed in $dir"; return 1; }
  echo "== $dir: ctest"
  (cd "$root/$dir" && ctest --output-on-failure -j"$jobs" --timeout 600)
}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
run_suite build-asan -DSTACKTOP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug || status=1
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo || status=1
exit $status
