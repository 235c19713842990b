#!/usr/bin/env bash
# Sorting in the console: M (MEM%) puts a 200+ MB memhog first, I inverts, < and > move the
# sort column (status "sorted by ..."), the F6 menu ("Sort by") sorts by the chosen column.
source "$TEST_LIB"

# Bigger than anything else running here, so that "first by memory" is well defined.
biggest=$(ps -eo rss= | sort -n | tail -n 1)
megabytes=$(( biggest / 1024 + 150 ))
[ "$megabytes" -lt 200 ] && megabytes=200
st_fixture memhog "$megabytes"
hog=$ST_FX_PID

# The selection follows its process when the order changes (and the view scrolls to it), so
# Home goes to the top of the list before the first row is read.
first_row_pid() { st_first_row | awk '{print $1}'; }
top() { st_keys Home; sleep 0.2; }
first_is_hog() { [ "$(first_row_pid)" = "$hog" ]; }
first_is_not_hog() { local p; p=$(first_row_pid); [ -n "$p" ] && [ "$p" != "$hog" ]; }

st_start 160 40 -d 0.5
st_wait_for "Mem[" 30
st_wait_for "COMMAND" 10

# Start from PID order so that memhog (a recent, high pid) is not first.
st_keys N
st_wait_for "sorted by PID" 10
top
st_wait_until 10 "PID order: pid 1 (or the lowest pid) first" first_is_not_hog

st_keys M
st_wait_for "sorted by MEM% (descending)" 10
top
st_wait_until 10 "memhog (pid $hog) is not the first row after M" first_is_hog
st_contains memhog "$(st_first_row)" || st_fail "first row after M is not memhog: $(st_first_row)"

# The title row marks the sort column: its title is drawn in its own style (an SGR change
# right before it), and no other title is.
esc=$'\x1b'
title_marked() { st_screen_e | grep -m1 'PID.*USER' | grep -qE "${esc}\\[[0-9;]*m$1"; }
title_marked 'MEM%' || st_fail "MEM% is the sort column but its title is not highlighted"
title_marked 'CPU%' && st_fail "CPU% is still highlighted after sorting by MEM%"
# COMMAND gets no arrow while MEM% is the column.
st_contains "COMMAND▲" "$(st_screen)" && st_fail "COMMAND has an arrow while sorted by MEM%"

# I inverts: memhog leaves the top, and comes back with a second I.
st_keys I
top
st_wait_until 10 "after I (ascending MEM%), memhog is still first" first_is_not_hog
st_keys I
top
st_wait_until 10 "after I twice, memhog is not first again" first_is_hog

# > and < move the sort column right and left of MEM% (TIME+ and CPU%).
st_keys '>'
st_wait_for "sorted by TIME+" 10
st_keys '<'
st_wait_for "sorted by MEM%" 10
top
st_wait_until 10 "< back to MEM% does not put memhog first" first_is_hog
st_keys '<'
st_wait_for "sorted by CPU%" 10
# , and . are the same keys.
st_keys '.'
st_wait_for "sorted by MEM%" 10

# Sorting by COMMAND marks it with an arrow.
for ((i = 0; i < 3; i++)); do st_keys '>'; done # MEM% -> TIME+ -> THR -> COMMAND
st_wait_for "sorted by COMMAND" 10
if ! st_try_wait "COMMAND▲" 5 && ! st_try_wait "COMMAND▼" 1; then
    st_fail "COMMAND is the sort column but has no ▲/▼"
fi

# F6 menu: back to PID first, then choose MEM% from the list.
st_keys N
st_wait_for "sorted by PID" 10
top
st_wait_until 10 "PID order again" first_is_not_hog
st_keys F6
st_wait_for "Sort by" 10
menu=$(st_screen)
for title in PID USER CPU% MEM% TIME+ COMMAND; do
    st_contains "$title" "$menu" || st_fail "sort menu lacks $title"
done
# The menu starts at the current column (PID); MEM% is as many rows down as its position in
# the title row.
titles=$(grep -m1 -E 'PID +USER +PRI' <<<"$menu" | sed 's/^.*PID/PID/')
position=0
for word in $titles; do
    [ "$word" = "MEM%" ] && break
    position=$((position + 1))
done
for ((i = 0; i < position; i++)); do st_keys Down; done
st_keys Enter
st_wait_for "sorted by MEM%" 10
st_wait_gone "Sort by" 10
top
st_wait_until 10 "F6 menu → MEM% does not put memhog first" first_is_hog

st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q"

# --sort on the command line: mem starts with memhog first, +mem (ascending) without it.
st_start 160 40 -d 0.5 --sort mem
st_wait_for "COMMAND" 30
st_wait_until 10 "--sort mem: memhog is not the first row" first_is_hog
st_keys q
st_wait_exit 30
st_start 160 40 -d 0.5 --sort +mem
st_wait_for "COMMAND" 30
st_wait_until 10 "--sort +mem: memhog is the first row" first_is_not_hog
st_keys End
st_wait_until 10 "--sort +mem: memhog is not on the last page" eval '[ -n "$(st_row_of "$hog")" ]'
st_keys q
st_wait_exit 30
st_pass
