#!/usr/bin/env bash
# H shows thread rows (one per TID, named NAME-wN when the COMMAND shows names, at least the
# TIDs), K hides and shows kernel threads, and the selection keys (Home, End, Up, Down, PgUp,
# PgDn) move between processes — checked through the details view, which opens the selected
# one.
source "$TEST_LIB"

name=$(st_unique_name th)
st_fixture named_sleeper "${name}a" 2
pid_a=$ST_FX_PID
st_fixture named_sleeper "${name}b"
pid_b=$ST_FX_PID
# --sort pid orders the rows by PID, and PIDs may wrap between the two starts
pid_lo=$pid_a pid_hi=$pid_b
[ "$pid_a" -lt "$pid_b" ] || { pid_lo=$pid_b pid_hi=$pid_a; }

SELECTED=
selected_pid() {
    st_keys Enter
    st_wait_for "Command:" 15
    SELECTED=$(st_screen | sed -n 's/.*Process \([0-9][0-9]*\) (.*/\1/p' | head -n 1)
    st_keys Escape
    st_wait_gone "Command:" 15
}
expect_selected() {
    selected_pid
    [ "$SELECTED" = "$2" ] || st_fail "after $1 the selected process is '$SELECTED', expected $2"
}
tids_shown() {
    local tid
    for tid in $(ls "/proc/$pid_a/task"); do
        [ -n "$(st_row_of "$tid")" ] || return 1
    done
}
no_thread_rows() {
    local tid
    for tid in $(ls "/proc/$pid_a/task"); do
        [ "$tid" = "$pid_a" ] && continue
        [ -z "$(st_row_of "$tid")" ] || return 1
    done
}
kernel_shown() { st_screen | grep -qE '^ *2 .*\[kthreadd\]'; }
kernel_hidden() { ! st_screen | grep -qE '\[kthreadd\]' && st_table_rows | grep -q .; }

st_start 160 40 -d 0.5 --sort pid
st_wait_for "Mem[" 30
st_wait_for "COMMAND" 10
# --sort pid: ascending from pid 1; kthreadd (pid 2) is on the first screen.
st_wait_until 10 "kthreadd (pid 2) not shown at the top with --sort pid" kernel_shown
st_keys K
st_wait_for "kernel threads hidden" 10
st_wait_until 10 "K did not hide kernel threads" kernel_hidden
st_keys K
st_wait_for "kernel threads shown" 10
st_wait_until 10 "K again did not show kernel threads" kernel_shown

# Narrow the table to the two fixtures.
st_keys '\'
st_wait_for "Filter: _" 10
st_type "$name"
st_keys Enter
st_wait_gone "Filter:" 10
both() { [ -n "$(st_row_of "$pid_a")" ] && [ -n "$(st_row_of "$pid_b")" ]; }
st_wait_until 10 "the fixtures are not shown" both
no_thread_rows || st_fail "thread rows shown before H"

# Selection keys.
st_keys End
expect_selected End "$pid_hi"
st_keys Home
expect_selected Home "$pid_lo"
st_keys Down
expect_selected Down "$pid_hi"
st_keys Up
expect_selected Up "$pid_lo"
st_keys Down Down Down
expect_selected "Down past the end" "$pid_hi"
st_keys PPage
expect_selected PgUp "$pid_lo"
st_keys NPage
expect_selected PgDn "$pid_hi"

# H: thread rows of a (main thread and the 2 workers) appear; H again hides them.
st_keys H
st_wait_for "thread rows shown" 10
st_wait_until 15 "H did not show a row per thread of $pid_a ($(ls /proc/$pid_a/task | tr '\n' ' '))" tids_shown
# Thread rows follow their process.
screen=$(st_table_rows)
line_a=$(awk -v p="$pid_a" '$1 == p { print NR; exit }' <<<"$screen")
for tid in $(ls "/proc/$pid_a/task"); do
    [ "$tid" = "$pid_a" ] && continue
    line=$(awk -v p="$tid" '$1 == p { print NR; exit }' <<<"$screen")
    [ "$line" -gt "$line_a" ] || st_fail "thread $tid is listed above its process $pid_a"
done
st_keys H
st_wait_for "thread rows hidden" 10
st_wait_until 10 "H again did not hide the thread rows" no_thread_rows

st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q"
st_pass
