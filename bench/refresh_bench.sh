#!/usr/bin/env bash
# refresh_bench.sh: CPU time per refresh and peak RSS of stacktop (recording on) against top
# and htop, in the same run, with the same delay, on a machine with >= N processes.
# See bench/README.md. Usage: bench/refresh_bench.sh [--help]
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/refresh_bench.sh [options]
  --procs N        sleeper processes to spawn (default 1000)
  --refreshes R    refreshes per run (default 30)
  --delay D        refresh delay in seconds (default 0.5; htop gets -d D*10)
  --repeats K      runs per tool; the median is reported (default 3)
  --stacktop PATH  stacktop binary (or STACKTOP=PATH); default: build/stacktop, built if needed
  --no-build       do not run cmake; use the existing binary
  --no-stacktop    measure top and htop only (to check the harness while stacktop is not ready)
  --json FILE      where to write the results (default bench/results/refresh-DATE.json)
  --keep           keep the temporary directory (session files, pane captures, logs)
  -h, --help       this help
Exit status: 0 all targets met, 3 a target was missed, 1 error, 2 usage.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib/bench_lib.sh
source "$here/lib/bench_lib.sh"
# shellcheck disable=SC2317  # cleanup is called through the EXIT trap

procs=1000 refreshes=30 delay=0.5 repeats=3 stacktop=${STACKTOP:-} build=1 with_stacktop=1
json_out="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --procs) procs=${2:?}; shift 2 ;;
    --refreshes) refreshes=${2:?}; shift 2 ;;
    --delay) delay=${2:?}; shift 2 ;;
    --repeats) repeats=${2:?}; shift 2 ;;
    --stacktop) stacktop=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-stacktop) with_stacktop=0; shift ;;
    --json) json_out=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "refresh_bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $procs =~ ^[0-9]+$ && $refreshes =~ ^[1-9][0-9]*$ && $repeats =~ ^[1-9][0-9]*$ ]] ||
  { echo "refresh_bench: --procs, --refreshes and --repeats take whole numbers" >&2; exit 2; }
[[ $delay =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v d="$delay" 'BEGIN{exit !(d >= 0.1)}' ||
  { echo "refresh_bench: --delay takes seconds >= 0.1" >&2; exit 2; }

# ---- tools: never installed silently -----------------------------------------------------
missing=()
command -v top >/dev/null || missing+=(procps)
command -v htop >/dev/null || missing+=(htop)
command -v tmux >/dev/null || missing+=(tmux)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "refresh_bench: installing ${missing[*]}: apt-get install -y htop procps tmux time" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq htop procps tmux time >/dev/null
  else
    echo "refresh_bench: missing ${missing[*]}; as root run:" >&2
    echo "  apt-get update && apt-get install -y htop procps tmux time" >&2
    exit 1
  fi
fi

# ---- stacktop binary ---------------------------------------------------------------------
if [ "$with_stacktop" = 1 ]; then
  if [ -z "$stacktop" ]; then
    stacktop=$root/build/stacktop
    if [ "$build" = 1 ]; then
      if [ ! -f "$root/build/CMakeCache.txt" ]; then
        echo "refresh_bench: configuring build/ (RelWithDebInfo)" >&2
        cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
      fi
      echo "refresh_bench: cmake --build build" >&2
      if ! cmake --build "$root/build" -j"$(nproc)" --target stacktop >"$root/build/.bench-build.log" 2>&1; then
        tail -20 "$root/build/.bench-build.log" >&2
        echo "refresh_bench: stacktop does not build (log: build/.bench-build.log)." >&2
        [ -x "$root/build/stacktop" ] &&
          echo "  --no-build measures the existing build/stacktop of" \
               "$(date -r "$root/build/stacktop" '+%F %T')" >&2
        echo "  --no-stacktop measures top and htop only" >&2
        exit 1
      fi
    fi
  fi
  [ -x "$stacktop" ] || { echo "refresh_bench: no stacktop binary at '$stacktop'" >&2; exit 1; }
  stacktop=$(cd "$(dirname "$stacktop")" && pwd)/$(basename "$stacktop")
  "$stacktop" --version >/dev/null 2>&1 ||
    { echo "refresh_bench: '$stacktop --version' fails" >&2; exit 1; }
fi

# ---- scratch space, sleepers, private tmux server; all undone on exit ---------------------
tmp=$(mktemp -d /tmp/stacktop-bench.XXXXXX)
mkdir -p "$tmp/home" "$tmp/xdg-config" "$tmp/xdg-state"
sock=stacktop-bench-$$
sleepers=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  tmux -L "$sock" kill-server 2>/dev/null || true
  if [ ${#sleepers[@]} -gt 0 ]; then
    kill "${sleepers[@]}" 2>/dev/null || true
    wait "${sleepers[@]}" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then echo "refresh_bench: kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Every tool runs with a fresh HOME and XDG dirs: default settings, and no htoprc/toprc written
# into the user's home.
toolenv=(env "HOME=$tmp/home" "XDG_CONFIG_HOME=$tmp/xdg-config" "XDG_STATE_HOME=$tmp/xdg-state"
         LC_ALL=C.UTF-8)

cat >"$tmp/tmux.conf" <<'EOF'
set -g remain-on-exit on
set -g status off
set -g default-size 200x50
set -g history-limit 100
EOF

# Sleepers outlive the longest possible run, but not forever if this script is SIGKILLed.
tools_per_rep=$((with_stacktop ? 5 : 3))
sleep_for=$(awk -v k="$repeats" -v t="$tools_per_rep" -v r="$refreshes" -v d="$delay" \
  'BEGIN{printf "%d", k*t*(r*d+10)+600}')
echo "refresh_bench: spawning $procs sleepers (sleep $sleep_for)" >&2
for ((i = 0; i < procs; i++)); do
  # shellcheck disable=SC2217  # detach the sleepers from our stdin/stdout (pipes, tee)
  sleep "$sleep_for" </dev/null >/dev/null 2>&1 &
  sleepers+=($!)
done
sleep 1
nprocs=$(count_procs)
if [ "$nprocs" -lt "$procs" ]; then
  echo "refresh_bench: only $nprocs processes after spawning (wanted >= $procs)" >&2
  exit 1
fi

clk_tck=$(getconf CLK_TCK)
htop_delay=$(awk -v d="$delay" 'BEGIN{v=int(d*10+0.5); if (v<1) v=1; print v}')
if ! awk -v d="$delay" -v h="$htop_delay" 'BEGIN{exit !(d*10 - h < 0.001 && h - d*10 < 0.001)}'; then
  echo "refresh_bench: warning: htop's delay is in tenths; it runs with -d $htop_delay" >&2
fi
run_seconds=$(awk -v r="$refreshes" -v d="$delay" 'BEGIN{printf "%.3f", r*d}')

# ---- one measurement ----------------------------------------------------------------------
# Each measure_* function appends one line to $tmp/samples:
#   tool cpu_ticks_or_seconds... normalised as: tool refreshes cpu_ms rss_kib ok note
declare -A label=(
  [top-batch]="top -b" [stacktop-batch]="stacktop --batch" [top-console]="top"
  [htop-console]="htop" [stacktop-console]="stacktop"
)

# Batch tools: GNU time gives user+sys and max RSS of the whole run.
measure_batch() { # tool rep
  local tool=$1 rep=$2 cmd
  case $tool in
    top-batch) cmd=(top -b -d "$delay" -n "$refreshes") ;;
    stacktop-batch) cmd=("$stacktop" --batch -n "$refreshes" -d "$delay"
                         -o "$tmp/batch-$rep.db") ;;
  esac
  local rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time.txt" "${toolenv[@]}" "${cmd[@]}" \
    >/dev/null 2>"$tmp/$tool-$rep.stderr" || rc=$?
  local e u s m
  read -r e u s m < <(tail -1 "$tmp/time.txt")
  local note="exit=$rc wall=${e}s"
  if [ "$tool" = stacktop-batch ]; then note+=" db=$(file_kib "$tmp/batch-$rep.db")KiB"; fi
  local ok=0
  [ "$rc" = 0 ] && ok=1
  awk -v t="$tool" -v r="$refreshes" -v u="$u" -v s="$s" -v m="$m" -v ok="$ok" -v n="$note" \
    'BEGIN{printf "%s %s %.3f %d %d %s\n", t, r, (u+s)*1000/r, m, ok, n}' >>"$tmp/samples"
}

# Console tools: a 200x50 tmux pane; after R*D seconds read /proc/PID/stat (utime+stime, plus
# cutime+cstime of any reaped children) and VmHWM, then press q.
measure_console() { # tool rep
  local tool=$1 rep=$2 cmd session=$1-$2
  case $tool in
    top-console) cmd="top -d $delay" ;;
    htop-console) cmd="htop -d $htop_delay" ;;
    stacktop-console) cmd="$(printf %q "$stacktop") -d $delay -o $tmp/console-$rep.db" ;;
  esac
  tmux -L "$sock" -f "$tmp/tmux.conf" new-session -d -s "$session" -x 200 -y 50 \
    "exec ${toolenv[*]} $cmd 2>$tmp/$tool-$rep.stderr"
  local pid
  pid=$(tmux -L "$sock" display-message -p -t "$session" '#{pane_pid}')
  local size
  size=$(tmux -L "$sock" display-message -p -t "$session" '#{pane_width}x#{pane_height}')
  local start_ticks
  start_ticks=$(proc_start_ticks "$pid")
  # Sleep until the tool has lived R*D seconds.
  local up
  up=$(cut -d' ' -f1 /proc/uptime)
  sleep "$(awk -v up="$up" -v st="$start_ticks" -v hz="$clk_tck" -v t="$run_seconds" \
    'BEGIN{w=t-(up-st/hz); if (w<0) w=0; printf "%.3f", w}')"
  local ok=1 note="pane=$size"
  if [ "$(tmux -L "$sock" display-message -p -t "$session" '#{pane_dead}')" = 1 ] ||
     [ ! -r "/proc/$pid/stat" ]; then
    tmux -L "$sock" capture-pane -p -t "$session" >"$tmp/$tool-$rep.pane" 2>/dev/null || true
    echo "refresh_bench: $tool exited early; pane: $(head -c 300 "$tmp/$tool-$rep.pane")" \
         "stderr: $(head -c 300 "$tmp/$tool-$rep.stderr")" >&2
    echo "$tool $refreshes 0 0 0 exited-early" >>"$tmp/samples"
    tmux -L "$sock" kill-session -t "$session" 2>/dev/null || true
    return
  fi
  local stat hwm
  stat=$(proc_cpu_ticks "$pid")
  hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status")
  up=$(cut -d' ' -f1 /proc/uptime)
  tmux -L "$sock" capture-pane -p -t "$session" >"$tmp/$tool-$rep.pane" 2>/dev/null || true
  tmux -L "$sock" send-keys -t "$session" q
  local waited=0
  while [ "$(tmux -L "$sock" display-message -p -t "$session" '#{pane_dead}')" != 1 ]; do
    sleep 0.1
    waited=$((waited + 1))
    if [ $waited -ge 100 ]; then
      ok=0 note+=" did-not-quit-on-q"
      kill "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
  done
  # tmux 3.3 sometimes leaves the exited tool a zombie without a status; report it if known.
  local status
  status=$(tmux -L "$sock" display-message -p -t "$session" '#{pane_dead_status}')
  [ -z "$status" ] || note+=" exit=$status"
  note+=" quit=$((waited * 100))ms"
  if [ "$tool" = stacktop-console ]; then
    local kib
    kib=$(file_kib "$tmp/console-$rep.db")
    note+=" db=${kib}KiB"
    if [ "$kib" = 0 ] || ! grep -q "session saved" "$tmp/$tool-$rep.stderr"; then
      ok=0 note+=" NOT-RECORDING($(head -c 200 "$tmp/$tool-$rep.stderr" | tr '\n ' '|_'))"
    fi
  fi
  tmux -L "$sock" kill-session -t "$session" 2>/dev/null || true
  awk -v t="$tool" -v up="$up" -v st="$start_ticks" -v hz="$clk_tck" -v d="$delay" \
      -v c="$stat" -v m="$hwm" -v ok="$ok" -v n="$note" \
    'BEGIN{el=up-st/hz; r=el/d; printf "%s %.2f %.3f %d %d %s elapsed=%.2fs\n",
           t, r, c*1000/hz/r, m, ok, n, el}' >>"$tmp/samples"
}

tools=(top-batch top-console htop-console)
[ "$with_stacktop" = 1 ] && tools=(top-batch stacktop-batch top-console htop-console stacktop-console)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "refresh_bench: $nprocs processes, delay ${delay}s, $refreshes refreshes, $repeats repeats," \
     "~$(awk -v k="$repeats" -v t="${#tools[@]}" -v s="$run_seconds" \
         'BEGIN{printf "%d", k*t*(s+1)}')s" >&2
: >"$tmp/samples"
for ((rep = 1; rep <= repeats; rep++)); do
  # Rotate the order each repeat so that no tool always runs first (or right after another).
  n=${#tools[@]}
  for ((j = 0; j < n; j++)); do
    tool=${tools[$(((j + rep - 1) % n))]}
    printf 'refresh_bench: run %d/%d %-17s' "$rep" "$repeats" "$tool" >&2
    case $tool in
      *-batch) measure_batch "$tool" "$rep" ;;
      *) measure_console "$tool" "$rep" ;;
    esac
    tail -1 "$tmp/samples" | awk '{printf " %8.2f ms/refresh %7.1f MiB  %s\n", $3, $4/1024,
                                    substr($0, index($0, $6))}' >&2
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- summary ------------------------------------------------------------------------------
declare -A med_cpu med_rss med_ref nok spread
for tool in "${tools[@]}"; do
  med_cpu[$tool]=$(awk -v t="$tool" '$1==t && $5==1{print $3}' "$tmp/samples" | median)
  med_rss[$tool]=$(awk -v t="$tool" '$1==t && $5==1{print $4}' "$tmp/samples" | median)
  med_ref[$tool]=$(awk -v t="$tool" '$1==t && $5==1{print $2}' "$tmp/samples" | median)
  nok[$tool]=$(awk -v t="$tool" '$1==t && $5==1{n++} END{print n+0}' "$tmp/samples")
  spread[$tool]=$(awk -v t="$tool" '$1==t && $5==1{v=$3; if (n==0||v<lo) lo=v; if (n==0||v>hi) hi=v; n++}
                  END{if (n) printf "%.2f-%.2f", lo, hi; else print "-"}' "$tmp/samples")
done

echo
printf '%-18s %9s %14s %13s %13s %5s\n' tool refreshes "CPU ms/refr" "(min-max)" "peak RSS MiB" runs
for tool in "${tools[@]}"; do
  printf '%-18s %9s %14s %13s %13s %5s\n' "${label[$tool]}" \
    "$(awk -v r="${med_ref[$tool]}" 'BEGIN{if (r=="") print "-"; else printf "%.1f", r}')" \
    "${med_cpu[$tool]:--}" "${spread[$tool]}" \
    "$(awk -v k="${med_rss[$tool]}" 'BEGIN{if (k=="") print "-"; else printf "%.1f", k/1024}')" \
    "${nok[$tool]}/$repeats"
done

verdict=0
ratio_json=()
ratio() { # name numerator-tool denominator-tool field target
  local name=$1 num=$2 den=$3 field=$4 target=$5 a b r pf
  if [ "$field" = cpu ]; then a=${med_cpu[$num]:-} b=${med_cpu[$den]:-}
  else a=${med_rss[$num]:-} b=${med_rss[$den]:-}; fi
  if [ -z "$a" ] || [ -z "$b" ] || awk -v b="$b" 'BEGIN{exit !(b<=0)}'; then
    r=null pf=N/A
  else
    r=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a/b}')
    if awk -v r="$r" -v t="$target" 'BEGIN{exit !(r<=t)}'; then pf=PASS; else pf=FAIL verdict=3; fi
  fi
  printf '  %-46s %6s  (target <= %s)  %s\n' "$name" "$r" "$target" "$pf"
  ratio_json+=("{\"name\":\"$name\",\"ratio\":$r,\"target\":$target,\"result\":\"$pf\"}")
}
echo
echo "ratios (medians of $repeats):"
if [ "$with_stacktop" = 1 ]; then
  ratio "CPU/refresh stacktop console / top console" stacktop-console top-console cpu 0.5
  ratio "CPU/refresh stacktop --batch / top -b" stacktop-batch top-batch cpu 0.5
  ratio "peak RSS stacktop console / htop" stacktop-console htop-console rss 2
  ratio "peak RSS stacktop --batch / htop" stacktop-batch htop-console rss 2
else
  echo "  (stacktop not measured: --no-stacktop)"
  verdict=0
fi
for tool in "${tools[@]}"; do
  [ "${nok[$tool]}" = "$repeats" ] || { echo "  note: $tool had failed runs; see the log above"; }
done
echo "machine: $(nproc) CPUs, load ${load_before} -> ${load_after}, $nprocs processes," \
     "delay ${delay}s (htop -d $htop_delay), clock tick $((1000 / clk_tck)) ms"

# ---- JSON ---------------------------------------------------------------------------------
if [ -z "$json_out" ]; then
  mkdir -p "$here/results"
  [ -f "$here/results/.gitignore" ] || printf '*.json\n' >"$here/results/.gitignore"
  json_out=$here/results/refresh-$(date +%Y%m%d-%H%M%S).json
fi
{
  printf '{\n  "date": "%s",\n' "$(date -Iseconds)"
  printf '  "host": {"cpus": %d, "kernel": "%s", "load_before": "%s", "load_after": "%s",' \
    "$(nproc)" "$(uname -r)" "$load_before" "$load_after"
  printf ' "processes": %d, "clk_tck": %d},\n' "$nprocs" "$clk_tck"
  printf '  "params": {"procs": %d, "refreshes": %d, "delay": %s, "htop_delay_tenths": %d,' \
    "$procs" "$refreshes" "$delay" "$htop_delay"
  printf ' "repeats": %d, "pane": "200x50"},\n' "$repeats"
  printf '  "versions": {"top": "%s", "htop": "%s", "tmux": "%s"' \
    "$(top -V 2>&1 | head -1 | json_escape)" "$(htop --version 2>&1 | head -1 | json_escape)" \
    "$(tmux -V | json_escape)"
  if [ "$with_stacktop" = 1 ]; then
    printf ', "stacktop": "%s", "stacktop_path": "%s", "git": "%s"' \
      "$("$stacktop" --version 2>&1 | head -1 | json_escape)" "$(json_escape <<<"$stacktop")" \
      "$(cd "$root" && { git rev-parse --short HEAD 2>/dev/null || echo none; } | json_escape)$(
        cd "$root" && git diff --quiet HEAD 2>/dev/null || echo '-dirty')"
  fi
  printf '},\n  "summary": {\n'
  first=1
  for tool in "${tools[@]}"; do
    [ $first = 1 ] || printf ',\n'
    first=0
    printf '    "%s": {"refreshes": %s, "cpu_ms_per_refresh": %s, "peak_rss_kib": %s, "ok_runs": %d}' \
      "$tool" "${med_ref[$tool]:-null}" "${med_cpu[$tool]:-null}" "${med_rss[$tool]:-null}" \
      "${nok[$tool]}"
  done
  printf '\n  },\n  "ratios": [%s],\n' "$(IFS=,; echo "${ratio_json[*]:-}")"
  printf '  "samples": [\n'
  awk '{note=""; for (i=6;i<=NF;i++) note=note (i>6?" ":"") $i;
        gsub(/"/, "", note);
        printf "%s    {\"tool\": \"%s\", \"refreshes\": %s, \"cpu_ms_per_refresh\": %s, " \
               "\"peak_rss_kib\": %s, \"ok\": %s, \"note\": \"%s\"}", (NR>1?",\n":""),
               $1, $2, $3, $4, ($5==1?"true":"false"), note}' "$tmp/samples"
  printf '\n  ],\n  "result": "%s"\n}\n' "$([ $verdict = 0 ] && echo PASS || echo FAIL)"
} >"$json_out"
echo "results: $json_out"
exit "$verdict"
