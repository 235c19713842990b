# shellcheck shell=bash
# Helpers for bench/refresh_bench.sh (sourced, not run).

# Number of processes (thread groups) in /proc.
count_procs() {
  local dirs=(/proc/[0-9]*)
  echo "${#dirs[@]}"
}

# Fields of /proc/PID/stat after "pid (comm) ", so that a comm with spaces or ')' cannot
# shift them: index 0 is field 3 (state), so field N is index N-3.
_proc_stat_fields() { # pid
  local line
  line=$(<"/proc/$1/stat") || return 1
  echo "${line##*) }"
}

# starttime (field 22) in clock ticks since boot.
proc_start_ticks() { # pid
  local f
  read -r -a f <<<"$(_proc_stat_fields "$1")" || return 1
  echo "${f[19]}"
}

# utime+stime (fields 14, 15) plus cutime+cstime (16, 17: reaped children) in clock ticks.
# For a multi-threaded process these are the totals of all its threads.
proc_cpu_ticks() { # pid
  local f
  read -r -a f <<<"$(_proc_stat_fields "$1")" || return 1
  echo $((f[11] + f[12] + f[13] + f[14]))
}

# Size of a file plus its -wal, in KiB (0 if absent).
file_kib() { # path
  local total=0 f s
  for f in "$1" "$1-wal"; do
    if [ -f "$f" ]; then s=$(stat -c %s "$f"); total=$((total + s)); fi
  done
  echo $(((total + 1023) / 1024))
}

# Median of the numbers on stdin (one per line); prints nothing for no input.
median() {
  sort -g | awk '{v[NR]=$1} END{if (NR==0) exit; if (NR%2) print v[(NR+1)/2];
                 else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'
}

# Escapes stdin (one line) for a JSON string.
json_escape() {
  local s
  IFS= read -r s || true
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/ }
  printf '%s' "$s"
}
