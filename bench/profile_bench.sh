#!/usr/bin/env bash
# profile_bench.sh: stacktop's perf sampler (core/perf.c) against `perf record`, in the same run,
# on the CPU-bound prof_split fixture (one thread burning, counting its loop iterations per
# second into a file).
#   (1) overhead: the fixture's iterations/s with no profiler, under stacktop's sampler at
#       -F HZ (DWARF on, and frame pointers only), under `perf record -g -F HZ`; the profiler's
#       own CPU time (user+sys) is shown too;
#   (2) end to end: wall time of a D-second profile, `stacktop profile PID -d D --format folded`
#       against `perf record -g -p PID -- sleep D && perf report --stdio`.
# stacktop is driven through `stacktop profile` when that subcommand works; otherwise through a
# small driver built in a scratch directory against build/libstacktop_core.a (same code path:
# perf_start / perf_poll every 100 ms / perf_close, folded output aggregated with sort|uniq -c).
# Not a ctest: it takes about 1 minute and its numbers depend on the machine.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/profile_bench.sh [options]
  --build DIR      configured build directory (default: build); needs libstacktop_core.a
                   and fixtures/prof_split
  --hz HZ          sampling frequency for the overhead runs (default 999)
  --seconds S      length of each measurement (default 5)
  --driver         use the library driver even when `stacktop profile` works
  --rounds N       rounds of the overhead runs, in rotating order; medians shown (default 3)
  -h, --help       this help
Exit status: 0 done, 1 error, 2 usage.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build hz=999 seconds=5 force_driver=0 rounds=3
while [ $# -gt 0 ]; do
  case $1 in
  --build) build=$2; shift 2 ;;
  --hz) hz=$2; shift 2 ;;
  --seconds) seconds=$2; shift 2 ;;
  --driver) force_driver=1; shift ;;
  --rounds) rounds=$2; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
fixture=$build/fixtures/prof_split
[ -x "$fixture" ] || { echo "profile_bench: no $fixture (cmake --build $build)" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile_bench: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }

scratch=$(mktemp -d /tmp/stacktop-profile-bench.XXXXXX)
fixture_pid=
cleanup() {
  if [ -n "$fixture_pid" ]; then kill "$fixture_pid" 2>/dev/null || true; wait "$fixture_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the stacktop side: the CLI when it works, else a driver over the core library ----
build_driver() {
  cat >"$scratch/driver.c" <<'EOF'
/* profile_bench driver: PID SECONDS HZ DWARF(0|1) -> folded stacks on stdout, one per sample. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "perf.h"
static void on_stack(void *context, const struct perf_stack *stack)
{
    FILE *out = context;
    for (size_t i = stack->frame_count; i-- > 0;)
        fprintf(out, "%s%s", stack->frames[i].function ? stack->frames[i].function : "??",
                i ? ";" : "\n");
}
int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    struct perf_options options;
    perf_options_default(&options, atoi(argv[1]));
    double seconds = atof(argv[2]);
    options.frequency_hz = (unsigned)atoi(argv[3]);
    options.dwarf = atoi(argv[4]) != 0;
    char err[512];
    struct perf_session *session = perf_start(&options, err, sizeof err);
    if (session == NULL) {
        fprintf(stderr, "driver: %s\n", err);
        return 1;
    }
    struct perf_stats stats;
    do {
        if (perf_poll(session, 100, on_stack, stdout, err, sizeof err) < 0) {
            fprintf(stderr, "driver: %s\n", err);
            return 1;
        }
        perf_get_stats(session, &stats);
    } while (stats.elapsed_seconds < seconds && !stats.process_exited);
    perf_poll(session, 0, on_stack, stdout, err, sizeof err);
    perf_get_stats(session, &stats);
    fprintf(stderr, "samples %llu lost %llu throttled %llu unwind_failures %llu\n",
            (unsigned long long)stats.samples, (unsigned long long)stats.lost,
            (unsigned long long)stats.throttled, (unsigned long long)stats.unwind_failures);
    perf_close(session);
    return 0;
}
EOF
  [ -f "$build/libstacktop_core.a" ] || { echo "profile_bench: no $build/libstacktop_core.a" >&2; exit 1; }
  # shellcheck disable=SC2046
  gcc -std=c11 -D_GNU_SOURCE -O2 -I"$root/core" "$scratch/driver.c" -o "$scratch/driver" \
    "$build/libstacktop_core.a" $(pkg-config --libs libdw libunwind-ptrace libunwind-generic) -lm
}

start_fixture() {
  rm -f "$scratch/rate"
  "$fixture" rate "$scratch/rate" >"$scratch/ready" &
  fixture_pid=$!
  for _ in $(seq 50); do grep -q ready "$scratch/ready" 2>/dev/null && break; sleep 0.1; done
  grep -q "ready $fixture_pid" "$scratch/ready" || { echo "profile_bench: fixture did not start" >&2; exit 1; }
}

use_cli=0
start_fixture
if [ "$force_driver" = 0 ] && [ -x "$build/stacktop" ] &&
  "$build/stacktop" profile "$fixture_pid" -d 1 --format folded >/dev/null 2>&1; then
  use_cli=1
else
  build_driver
fi

# $scratch/stacktop_profile SECONDS HZ DWARF: profiles the fixture, folded stacks with counts.
if [ "$use_cli" = 1 ]; then
  cat >"$scratch/stacktop_profile" <<EOF
#!/usr/bin/env bash
# DWARF is always on in the CLI (its default); HZ empty = the CLI's default
exec "$build/stacktop" profile "$fixture_pid" -d "\$1" \${2:+-F "\$2"} --format folded
EOF
else
  cat >"$scratch/stacktop_profile" <<EOF
#!/usr/bin/env bash
"$scratch/driver" "$fixture_pid" "\$1" "\${2:-99}" "\$3" 2>>"$scratch/driver.log" | sort | uniq -c
EOF
fi
chmod +x "$scratch/stacktop_profile"

# rate_during COMMAND...: mean iterations/s of the fixture while COMMAND runs (the first rate
# line, which straddles the command's start, is skipped) and the command's user+sys CPU seconds.
rate_during() {
  local before after cpu rate
  before=$(wc -l <"$scratch/rate")
  /usr/bin/time -f "%U %S" -o "$scratch/cpu" "$@" >/dev/null 2>>"$scratch/cmd.log" || true
  after=$(wc -l <"$scratch/rate")
  cpu=$(awk '{printf "%.2f", $1 + $2}' "$scratch/cpu" 2>/dev/null || echo "?")
  rate=$(sed -n "$((before + 2)),${after}p" "$scratch/rate" |
    awk '{s += $2; n++} END {if (n) printf "%.0f", s / n; else print 0}')
  echo "$rate $cpu"
}

[ -x /usr/bin/time ] || { echo "profile_bench: needs GNU time (apt-get install time)" >&2; exit 1; }
sleep 1.5 # the fixture's first rate line covers its start-up
# one overhead run by name: prints "iterations/s tool-CPU-seconds"
overhead_run() {
  case $1 in
  none) rate_during sleep "$seconds" ;;
  st) rate_during "$scratch/stacktop_profile" "$seconds" "$hz" 1 ;;
  fp) rate_during "$scratch/stacktop_profile" "$seconds" "$hz" 0 ;;
  perf) rate_during perf record -q -g -F "$hz" -p "$fixture_pid" -o "$scratch/perf.data" -- sleep "$seconds" ;;
  perfdwarf) rate_during perf record -q --call-graph dwarf,16384 -F "$hz" -p "$fixture_pid" \
    -o "$scratch/perf-dwarf.data" -- sleep "$seconds" ;;
  esac
}
runs=(none st fp perf perfdwarf)
for ((round = 0; round < rounds; round++)); do
  for ((k = 0; k < ${#runs[@]}; k++)); do # rotate the order: the machine's load drifts
    name=${runs[$(((k + round) % ${#runs[@]}))]}
    overhead_run "$name" >>"$scratch/overhead.$name"
  done
done
median() { sort -n | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : 0}'; }
read -r base_rate < <(awk '{print $1}' "$scratch/overhead.none" | median)
for name in st fp perf perfdwarf; do
  declare "${name}_rate=$(awk '{print $1}' "$scratch/overhead.$name" | median)"
  declare "${name}_cpu=$(awk '{print $2}' "$scratch/overhead.$name" | median)"
done
perf_dwarf_rate=$perfdwarf_rate perf_dwarf_cpu=$perfdwarf_cpu

# ---- end to end: a default-rate profile, report included ----
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
e2e_stacktop=$(wall "$scratch/stacktop_profile" "$seconds" "" 1)
e2e_perf=$(wall bash -c "perf record -q -g -p $fixture_pid -o $scratch/e2e.data -- sleep $seconds &&
  perf report -i $scratch/e2e.data --stdio")

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.1f%%", 100 * (a - b) / b; else print "?" }'; }
echo
echo "profile_bench: prof_split (one CPU-bound thread), $hz Hz, ${seconds} s per run, medians of $rounds rounds, $(nproc) CPUs, stacktop via $([ $use_cli = 1 ] && echo 'stacktop profile' || echo 'core driver')"
printf '%-34s %14s %10s %10s\n' "run" "iterations/s" "vs none" "tool CPU s"
printf '%-34s %14s %10s %10s\n' "no profiler" "$base_rate" "" ""
printf '%-34s %14s %10s %10s\n' "stacktop (DWARF + fp callchain)" "$st_rate" "$(pct "$st_rate" "$base_rate")" "$st_cpu"
printf '%-34s %14s %10s %10s\n' "stacktop (fp callchain only)" "$fp_rate" "$(pct "$fp_rate" "$base_rate")" "$fp_cpu"
printf '%-34s %14s %10s %10s\n' "perf record -g" "$perf_rate" "$(pct "$perf_rate" "$base_rate")" "$perf_cpu"
printf '%-34s %14s %10s %10s\n' "perf record --call-graph dwarf" "$perf_dwarf_rate" "$(pct "$perf_dwarf_rate" "$base_rate")" "$perf_dwarf_cpu"
echo
printf '%-34s %10s\n' "end to end, ${seconds} s profile" "wall s"
printf '%-34s %10.2f\n' "stacktop profile (default Hz)" "$e2e_stacktop"
printf '%-34s %10.2f\n' "perf record -g + perf report" "$e2e_perf"
awk -v a="$e2e_stacktop" -v b="$e2e_perf" 'BEGIN { printf "%-34s %10.2f\n", "ratio stacktop / perf", a / b }'
[ -s "$scratch/driver.log" ] && { echo; echo "stacktop sampler counters per run:"; cat "$scratch/driver.log"; }
exit 0
