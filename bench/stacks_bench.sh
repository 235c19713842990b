#!/usr/bin/env bash
# stacks_bench.sh: `stacktop stacks PID` (symbolized) against `eu-stack -s -i -p PID`, in the
# same run, on the many_threads fixture (1000 threads blocked in 4 functions plus one thread
# spinning on CLOCK_MONOTONIC that records its longest pause).
# Reports per tool: wall time (median of R interleaved runs) and the longest pause the spinning
# thread saw during its runs; for stacktop also its own stop-window figures ("stop_us" in
# --format json), and the wall time of its first run, which fills its debuginfo cache (an
# uncompressed copy of each compressed separate debug file, e.g. libc6-dbg's libc).
# Targets: stacktop >= 10x faster than eu-stack; per-thread stop p99 <= 100 us, max <= 1 ms.
# stacktop runs with --no-record (the capture, not the session file: the store is measured by
# its own benchmarks); --record keeps the session recording in the measured command.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/stacks_bench.sh [options]
  --threads N      blocked threads in the fixture (default 1000)
  --repeats R      runs per tool, interleaved; medians are reported (default 9)
  --stacktop PATH  stacktop binary (or STACKTOP=PATH); default: build/stacktop
  --fixtures DIR   built fixtures (or FIXTURES=DIR); default: the stacktop binary's fixtures/
  --no-eu-stack    measure stacktop only
  --record         let stacktop record its session file (default: --no-record)
  -h, --help       this help
Exit status: 0 all targets met, 3 a target was missed, 1 error, 2 usage.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
threads=1000 repeats=9 stacktop=${STACKTOP:-$root/build/stacktop} fixtures=${FIXTURES:-}
with_eu_stack=1 record_flag=--no-record
while [ $# -gt 0 ]; do
  case $1 in
  --threads) threads=$2; shift 2 ;;
  --repeats) repeats=$2; shift 2 ;;
  --stacktop) stacktop=$2; shift 2 ;;
  --fixtures) fixtures=$2; shift 2 ;;
  --no-eu-stack) with_eu_stack=0; shift ;;
  --record) record_flag=; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done
[ -n "$fixtures" ] || fixtures=$(dirname "$stacktop")/fixtures
[ -x "$stacktop" ] || { echo "stacks_bench: $stacktop is not an executable" >&2; exit 1; }
[ -x "$fixtures/many_threads" ] || { echo "stacks_bench: no $fixtures/many_threads" >&2; exit 1; }
if [ "$with_eu_stack" = 1 ] && ! command -v eu-stack >/dev/null; then
  echo "stacks_bench: eu-stack not installed (apt-get install elfutils) or use --no-eu-stack" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stacks-bench.XXXXXX")
fixture_pid=
cleanup() {
  [ -n "$fixture_pid" ] && kill -TERM "$fixture_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

gap="$tmp/gap"
"$fixtures/many_threads" "$threads" --gap-file "$gap" >"$tmp/fixture.out" 2>&1 &
fixture_pid=$!
for _ in $(seq 1 200); do
  grep -q '^ready ' "$tmp/fixture.out" 2>/dev/null && break
  sleep 0.05
done
grep -q '^ready ' "$tmp/fixture.out" || { echo "stacks_bench: fixture did not start" >&2; exit 1; }

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max_gap_us() { awk '/^max_gap_us/ { print $2 }' "$gap"; }
# Clears the spinner's maximum and waits until the fixture has taken the reset into account.
reset_gap() {
  touch "$gap.reset"
  while [ -e "$gap.reset" ]; do sleep 0.02; done
  sleep 0.15
}

# CPU time the hypervisor gave to other guests (all CPUs, ms): a run with steal was slowed by
# the host, not by the tool.
steal_ms() { awk '/^cpu / { print $9 * 10 }' /proc/stat; }

# run_once NAME COMMAND...: one timed run; NAME.wall, NAME.gap and NAME.steal get a line each.
run_once() {
  local name=$1
  shift
  reset_gap
  local start end steal_before
  steal_before=$(steal_ms)
  # bash 5's clock variable: no process (not even a subshell) started around the command
  start=${EPOCHREALTIME/,/.}
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || {
    echo "stacks_bench: $name failed: $(head -c 500 "$tmp/$name.err")" >&2
    exit 1
  }
  end=${EPOCHREALTIME/,/.}
  echo $(($(steal_ms) - steal_before)) >>"$tmp/$name.steal"
  sleep 0.25 # the spinner reports every 100 ms
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f\n", b - a }' >>"$tmp/$name.wall"
  max_gap_us >>"$tmp/$name.gap"
}

# stacktop's own stop figures, from its JSON (read after the timed command: python's start-up
# is not stacktop's time).
read_stop_figures() {
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["stop_us"]
open(sys.argv[2], "a").write("%d\n" % s["max"])
open(sys.argv[3], "a").write("%d\n" % s["p99"])
' "$tmp/stacktop.out" "$tmp/stop.max" "$tmp/stop.p99"
}

# stacktop keeps uncompressed copies of compressed debug files (libc6-dbg's) in a cache; the
# benchmark uses a cache of its own: the first run fills it (reported apart), the others hit.
export STACKTOP_CACHE_DIR="$tmp/debuginfo-cache"
stacktop_cmd=("$stacktop" stacks "$fixture_pid" --format json $record_flag)
run_once cold "${stacktop_cmd[@]}"
cold_wall=$(cat "$tmp/cold.wall")
cached_files=$(find "$STACKTOP_CACHE_DIR" -name '*.debug' 2>/dev/null | wc -l)

# R rounds, the tools interleaved so that the machine's noise hits them alike.
for _ in $(seq 1 "$repeats"); do
  reset_gap
  sleep 0.3
  max_gap_us >>"$tmp/idle.gap" # the spinner's pauses with no tool at all: scheduler noise
  run_once stacktop "${stacktop_cmd[@]}"
  read_stop_figures
  if [ "$with_eu_stack" = 1 ]; then
    run_once eu-stack eu-stack -s -i -p "$fixture_pid"
  fi
done

st_wall=$(median <"$tmp/stacktop.wall")
st_gap=$(median <"$tmp/stacktop.gap")
stop_max=$(sort -n "$tmp/stop.max" | tail -1)
stop_p99=$(median <"$tmp/stop.p99")
idle_gap=$(median <"$tmp/idle.gap")
printf 'fixture: %d blocked threads + 1 spinning; %d interleaved runs per tool; %s\n' \
  "$threads" "$repeats" \
  "$(nproc) CPUs, $(uname -r)"
printf '%-10s wall %8.1f ms (median)   spinner pause %7d us (median of runs)\n' idle 0 "$idle_gap"
printf '%-10s wall %8.1f ms (median)   spinner pause %7d us (median of runs)\n' stacktop \
  "$(awk -v s="$st_wall" 'BEGIN { print s * 1000 }')" "$st_gap"
printf '%-10s stop p99 %d us (median of runs), max %d us (worst run)\n' stacktop "$stop_p99" \
  "$stop_max"
printf '%-10s stop max of each run: %s us; p99 of each run: %s us\n' stacktop \
  "$(tr '\n' ' ' <"$tmp/stop.max")" "$(tr '\n' ' ' <"$tmp/stop.p99")"
printf '%-10s wall of each run: %s ms; host steal during each: %s ms\n' stacktop \
  "$(awk '{ printf "%.1f ", $1 * 1000 }' "$tmp/stacktop.wall")" "$(tr '\n' ' ' <"$tmp/stacktop.steal")"
printf '%-10s wall %8.1f ms (first run: %d file(s) put in its empty debuginfo cache)\n' stacktop \
  "$(awk -v s="$cold_wall" 'BEGIN { print s * 1000 }')" "$cached_files"
status=0
if [ "$with_eu_stack" = 1 ]; then
  eu_wall=$(median <"$tmp/eu-stack.wall")
  eu_gap=$(median <"$tmp/eu-stack.gap")
  printf '%-10s wall %8.1f ms (median)   spinner pause %7d us (median of runs)\n' eu-stack \
    "$(awk -v s="$eu_wall" 'BEGIN { print s * 1000 }')" "$eu_gap"
  printf '%-10s wall of each run: %s ms; host steal during each: %s ms\n' eu-stack \
    "$(awk '{ printf "%.1f ", $1 * 1000 }' "$tmp/eu-stack.wall")" \
    "$(tr '\n' ' ' <"$tmp/eu-stack.steal")"
  speedup=$(awk -v a="$eu_wall" -v b="$st_wall" 'BEGIN { printf "%.1f", a / b }')
  echo "speedup: ${speedup}x (target >= 10x)"
  awk -v s="$speedup" 'BEGIN { exit !(s >= 10) }' || { echo "MISSED: speedup"; status=3; }
fi
[ "$stop_p99" -le 100 ] || { echo "MISSED: stop p99 $stop_p99 us > 100 us"; status=3; }
[ "$stop_max" -le 1000 ] || { echo "MISSED: stop max $stop_max us > 1000 us"; status=3; }
exit $status
