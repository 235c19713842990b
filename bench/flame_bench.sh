#!/usr/bin/env bash
# flame_bench.sh: time from 1,000,000 synthetic samples to a drawn flame view (target <= 1 s).
# Compiles bench/flame_bench.c against build/libstacktop_core.a (configuring and building the
# core library first when it is missing), runs it R times and prints every run and the median
# of each phase. Exit status: 0 target met (median), 3 missed, 1 error, 2 usage.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/flame_bench.sh [--repeats R] [--build DIR]
  --repeats R   runs (default 3); medians are reported
  --build DIR   CMake build directory holding libstacktop_core.a (default: build)
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
repeats=3 build=$root/build
while [ $# -gt 0 ]; do
  case $1 in
  --repeats) repeats=$2; shift 2 ;;
  --build) build=$2; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done

cd "$root"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target stacktop_core -j"$(nproc)" >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flame-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -std=c11 -D_GNU_SOURCE -I core bench/flame_bench.c "$build/libstacktop_core.a" \
  $(pkg-config --libs ncursesw libdw) -lm -o "$tmp/flame_bench"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for run in $(seq 1 "$repeats"); do
  "$tmp/flame_bench" >"$tmp/run$run.out" || [ $? -eq 3 ]
  echo "run $run: $(awk '/^(build|layout|draw|total)/ { printf "%s %s ms  ", $1, $2 }' "$tmp/run$run.out")"
done
head -1 "$tmp/run1.out"
for phase in build layout draw total; do
  value=$(cat "$tmp"/run*.out | awk -v p="$phase" '$1 == p { print $2 }' | median)
  printf '%-6s %8.1f ms (median of %d)\n' "$phase" "$value" "$repeats"
  [ "$phase" = total ] && total=$value
done
if awk -v t="$total" 'BEGIN { exit !(t <= 1000) }'; then
  echo "PASS: median total ${total} ms <= 1000 ms"
else
  echo "FAIL: median total ${total} ms > 1000 ms"
  exit 3
fi
