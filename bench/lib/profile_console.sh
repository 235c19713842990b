#!/usr/bin/env bash
# Profiles the stacktop console (recording on) in a 200x50 tmux pane with N sleepers:
# strace -c (syscall counts) and, if perf is installed, perf record -g (hot functions).
# Usage: bench/lib/profile_console.sh [STACKTOP] [SECONDS=10] [PROCS=1000] [DELAY=0.5]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stacktop=${1:-$here/../../build/stacktop} secs=${2:-10} procs=${3:-1000} delay=${4:-0.5}
out=$(mktemp -d /tmp/stacktop-profile.XXXXXX)
sock=stacktop-profile-$$
sleepers=()
# shellcheck disable=SC2317
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  [ ${#sleepers[@]} -eq 0 ] || kill "${sleepers[@]}" 2>/dev/null || true
}
trap cleanup EXIT
printf 'set -g remain-on-exit on\nset -g status off\n' >"$out/tmux.conf"
for ((i = 0; i < procs; i++)); do
  # shellcheck disable=SC2217
  sleep $((secs * 3 + 120)) </dev/null >/dev/null 2>&1 &
  sleepers+=($!)
done
run() { # name: starts the console, lets it settle, then returns its pid
  tmux -L "$sock" -f "$out/tmux.conf" new-session -d -s "$1" -x 200 -y 50 \
    "exec env HOME=$out XDG_STATE_HOME=$out $stacktop -d $delay -o $out/$1.db 2>$out/$1.stderr"
  sleep 2
  tmux -L "$sock" display-message -p -t "$1" '#{pane_pid}'
}
pid=$(run strace)
timeout -s INT "$secs" strace -c -f -p "$pid" -o "$out/strace.txt" || true
tmux -L "$sock" send-keys -t strace q
echo "== strace -c -f, ${secs}s, $(find /proc -maxdepth 1 -name "[0-9]*" | wc -l) processes, delay $delay"
head -25 "$out/strace.txt"
if command -v perf >/dev/null; then
  pid=$(run perf)
  perf record -q -g -F 999 -p "$pid" -o "$out/perf.data" -- sleep "$secs" 2>/dev/null || true
  tmux -L "$sock" send-keys -t perf q
  echo "== perf report (self), ${secs}s"
  perf report -i "$out/perf.data" --no-children --stdio --percent-limit 1.5 -g none \
    --sort dso,symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -30
  echo "== perf report (children)"
  perf report -i "$out/perf.data" --children --stdio --percent-limit 4 -g none \
    --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
fi
echo "(data kept in $out)"
