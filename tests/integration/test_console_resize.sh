#!/usr/bin/env bash
# Resizing: 20x8 still shows a sensible (aggregate CPU bar) screen, 10x3 says "terminal too
# small" (folded over the rows), 200x60 shows the full header with the right panel; the
# process survives every step and q still quits.
source "$TEST_LIB"

resize() {
    st_tmux resize-window -t "$ST_SESSION" -x "$1" -y "$2" || st_fail "tmux resize-window $1x$2 failed"
    local size
    size=$(st_tmux display -p -t "$ST_SESSION" '#{pane_width}x#{pane_height}')
    [ "$size" = "$1x$2" ] || st_fail "pane is $size after resizing to $1x$2"
}
alive() { st_alive || st_fail "stacktop is gone after resizing to $1 (exit status $(cat "$ST_TMP/rc" 2>/dev/null))"; }
narrow_ok() {
    local screen
    screen=$(st_screen)
    st_contains "CPU[" "$screen" && st_contains "Mem[" "$screen" && st_contains "PID" "$screen"
}
full_header() {
    local screen
    screen=$(st_screen)
    st_contains "Tasks:" "$screen" && st_contains "Load average:" "$screen" &&
        st_contains "Uptime:" "$screen" && st_contains "Mem[" "$screen" &&
        st_contains "Swp[" "$screen" && st_contains "COMMAND" "$screen"
}
right_panel() {
    # Tasks: on the same line as a meter, to its right.
    st_screen | grep -qE '\[.*\].* Tasks: '
}

st_start 100 30 -d 0.5
st_wait_for "Mem[" 30
alive 100x30

resize 20 8
st_wait_until 15 "20x8: no CPU[ / Mem[ / PID on screen" narrow_ok
alive 20x8
st_contains "too small" "$(st_screen)" && st_fail "20x8 is said to be too small (the minimum is 20x5)"
# Nothing is drawn beyond the 20 columns (tmux would wrap or clip): every line fits.
awk 'length($0) > 20 { exit 1 }' <<<"$(LC_ALL=C.UTF-8 st_screen)" || st_fail "a line is wider than 20 columns"

resize 10 3
st_wait_for "termina" 15
screen=$(st_screen)
tr -d '\n' <<<"$screen" | grep -q "terminal *too *small" ||
    st_fail "10x3: 'terminal too small' is not spelled over the rows"
alive 10x3
# Keys other than quit do nothing harmful while too small.
st_keys Down t
sleep 0.5
alive "keys at 10x3"

resize 19 20
st_wait_for "termina" 15
alive 19x20

resize 200 60
st_wait_until 15 "200x60: the full header did not come back" full_header
st_wait_until 10 "200x60: Tasks/Load/Uptime are not in a right-hand panel" right_panel
st_contains "termina" "$(st_screen | head -n 3)" && st_fail "still 'too small' at 200x60"
cpus=$(nproc)
if [ "$cpus" -gt 1 ]; then
    per_cpu_bars() { st_screen | grep -qE '(^| )0\['; }
    st_wait_until 10 "200x60: no per-CPU bars" per_cpu_bars
fi
alive 200x60

# Quick successive resizes (a window being dragged).
for size in 80x24 30x10 150x40 20x5 120x35; do
    resize "${size%x*}" "${size#*x}"
done
st_wait_until 15 "120x35 after a burst of resizes: header missing" full_header
alive "a burst of resizes"
rows=$(st_screen | wc -l)
[ "$rows" = 35 ] || st_fail "captured $rows rows at 120x35"

st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q"
st_pass
