#!/usr/bin/env bash
# Filter: "\" + a unique name hides every row but the matching ones, live while typing; Enter
# keeps the filter; Esc (on the filter line, or in the table) clears it and the rows return.
# F4 is the same key.
source "$TEST_LIB"

name=$(st_unique_name fl)
st_fixture named_sleeper "${name}x" 2
pid_x=$ST_FX_PID
st_fixture named_sleeper "${name}y"
pid_y=$ST_FX_PID

row_count() { st_table_rows | wc -l; }
only_fixtures() {
    local rows
    rows=$(st_table_rows)
    [ "$(wc -l <<<"$rows")" = 2 ] || return 1
    [ -n "$(awk -v p="$pid_x" '$1 == p' <<<"$rows")" ] || return 1
    [ -n "$(awk -v p="$pid_y" '$1 == p' <<<"$rows")" ] || return 1
}
only_x() {
    local rows
    rows=$(st_table_rows)
    [ "$(wc -l <<<"$rows")" = 1 ] && [ "$(awk '{print $1}' <<<"$rows")" = "$pid_x" ]
}
many_rows() { [ "$(row_count)" -ge 10 ]; }

st_start 160 40 -d 0.5
st_wait_for "Mem[" 30
st_wait_until 15 "a full table (10+ rows) before filtering" many_rows

st_keys '\'
st_wait_for "Filter: _" 10
st_type "$name"
st_wait_for "Filter: ${name}_" 10
# Live: while the filter line is still open, only the two fixtures remain.
st_wait_until 10 "filter '$name' did not reduce the table to the fixtures $pid_x and $pid_y" only_fixtures
st_contains "Filter:" "$(st_screen)" || st_fail "the filter line closed by itself"
while IFS= read -r row; do
    st_contains "$name" "$row" || st_fail "a shown row does not match the filter: $row"
done <<<"$(st_table_rows)"
# One more letter narrows it to x, Backspace widens it again.
st_type "x"
st_wait_until 10 "filter '${name}x' did not leave only $pid_x" only_x
st_keys BSpace
st_wait_until 10 "Backspace did not bring $pid_y back" only_fixtures
st_keys Enter
st_wait_gone "Filter:" 10
# Kept after Enter, across refreshes.
sleep 1
only_fixtures || st_fail "after Enter the filter is no longer applied"
st_contains "F1" "$(tail -n 1 <<<"$(st_screen)")" || st_fail "footer hints did not come back after Enter"

# Esc in the table clears the kept filter.
st_keys Escape
st_wait_until 10 "Esc in the table did not clear the filter" many_rows

# F4 opens it too; Esc on the filter line clears it.
st_keys F4
st_wait_for "Filter: _" 10
st_type "$name"
st_wait_until 10 "F4 filter did not reduce the table" only_fixtures
st_keys Escape
st_wait_gone "Filter:" 10
st_wait_until 10 "Esc on the filter line did not clear the filter" many_rows

# A filter nobody matches says so instead of showing an empty table.
st_keys '\'
st_wait_for "Filter: _" 10
st_type "zz${name}none"
st_wait_for "no process matches the filter" 10
st_keys Escape
st_wait_until 10 "rows did not come back" many_rows

st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q"
st_pass
