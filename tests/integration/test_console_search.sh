#!/usr/bin/env bash
# Incremental search: "/" + a unique name selects that process (checked by opening its details
# with Enter, and by the selection highlight); F3 jumps between two processes with the same
# prefix; Esc cancels the search line; "(no match)" for a name nobody has.
source "$TEST_LIB"

prefix=$(st_unique_name sq)
st_fixture named_sleeper "${prefix}a"
pid_a=$ST_FX_PID
st_fixture named_sleeper "${prefix}b"
pid_b=$ST_FX_PID

# The details title names the selected process: "Process PID (comm)". Sets SELECTED.
SELECTED=
selected_pid() {
    st_keys Enter
    st_wait_for "Process " 15
    st_wait_for "Command:" 15
    SELECTED=$(st_screen | sed -n 's/.*Process \([0-9][0-9]*\) (.*/\1/p' | head -n 1)
    st_keys Escape
    st_wait_for "COMMAND" 15
    st_wait_gone "Command:" 15
}

# The first SGR sequence of the row of PID (capture-pane -e).
esc=$'\x1b'
row_first_code() {
    st_screen_e | grep -m1 -E "^(${esc}\[[0-9;]*m)*[[:space:]]*$1 " | grep -o "${esc}\[[0-9;]*m" |
        head -n 1
}

st_start 160 40 -d 0.5
st_wait_for "Mem[" 30
st_wait_for "COMMAND" 15

# Sorted by PID so that a is listed before b.
st_keys N
st_wait_for "sorted by PID" 10

st_keys /
st_wait_for "Search: _" 10
st_type "${prefix}b"
st_wait_for "Search: ${prefix}b_" 10
st_contains "(no match)" "$(st_screen)" && st_fail "search for an existing process says (no match)"
# The selection highlight is on b's row while the search line is open.
st_screen_e | grep -qE "^(${esc}\[[0-9;]*m)*[[:space:]]*$pid_b " ||
    st_fail "cannot find the row of $pid_b in capture-pane -e"
codes_b=$(row_first_code "$pid_b")
codes_a=$(row_first_code "$pid_a")
[ -n "$codes_b" ] || st_fail "the matched row ($pid_b) has no attributes of its own (no highlight)"
[ "$codes_a" != "$codes_b" ] || st_fail "the matched row ($pid_b) is drawn like an unselected one"
st_keys Enter
st_wait_gone "Search:" 10
selected_pid
got=$SELECTED
[ "$got" = "$pid_b" ] || st_fail "after /${prefix}b Enter, the selected process is '$got', expected $pid_b"
# Its comm in the details title.
st_keys Enter
st_wait_for "Process $pid_b (${prefix}b)" 15
st_keys Escape
st_wait_gone "Command:" 15

# Search for the shared prefix: F3 moves between the two matches (and wraps around).
st_keys Home
st_keys /
st_wait_for "Search:" 10
st_keys C-u
st_type "$prefix"
st_wait_for "Search: ${prefix}_" 10
st_keys Enter
st_wait_gone "Search:" 10
selected_pid
first=$SELECTED
case "$first" in "$pid_a" | "$pid_b") ;; *) st_fail "/$prefix selected '$first', not a fixture" ;; esac
[ "$first" = "$pid_a" ] || st_fail "sorted by PID, /$prefix from the top selected $first, expected $pid_a"
st_keys F3
st_wait_for "Search: ${prefix}_" 10
st_keys Enter
st_wait_gone "Search:" 10
selected_pid
second=$SELECTED
[ "$second" = "$pid_b" ] || st_fail "F3 moved the selection to '$second', expected the other match $pid_b"
st_keys F3
st_wait_for "Search: ${prefix}_" 10
st_keys Enter
st_wait_gone "Search:" 10
selected_pid
third=$SELECTED
[ "$third" = "$pid_a" ] || st_fail "F3 after the last match selected '$third', expected to wrap to $pid_a"

# A name nobody has: (no match); Esc cancels the search line.
st_keys /
st_wait_for "Search:" 10
st_keys C-u
st_type "zz${prefix}nomatch"
st_wait_for "(no match)" 10
st_keys Escape
st_wait_gone "Search:" 10
st_wait_for "F1" 10

st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q"
st_pass
