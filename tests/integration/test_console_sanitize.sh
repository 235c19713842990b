#!/usr/bin/env bash
# Escape sequences in a process's name and command line never reach the terminal: with the
# hostile_name fixture on screen (filtered, and in its details view) the pane title is not
# changed by its OSC sequence, the screen is not cleared, and the text is shown escaped.
source "$TEST_LIB"

st_fixture hostile_name
hostile=$ST_FX_PID

# The pane title can be set by a program (proved here with a canary); stacktop must not let
# the fixture's "\e]0;PWNED\a" change it.
ST_PRE="printf '\\033]2;CANARY-TITLE\\007'"
st_start 220 40 -d 0.5
st_wait_for "Mem[" 30
title=$(st_tmux display -p -t "$ST_SESSION" '#{pane_title}')
[ "$title" = "CANARY-TITLE" ] || st_fail "the canary did not set the pane title (got '$title'); the test cannot judge"

st_keys '\'
st_wait_for "Filter: _" 10
st_type "PWNED"
st_keys Enter
st_wait_gone "Filter:" 10
hostile_row() { st_row_of "$hostile"; }
has_row() { [ -n "$(hostile_row)" ]; }
st_wait_until 10 "the hostile process $hostile is not shown by the filter PWNED" has_row
sleep 1 # a couple of refreshes with the row on screen
row=$(hostile_row)
title=$(st_tmux display -p -t "$ST_SESSION" '#{pane_title}')
st_contains PWNED "$title" && st_fail "the pane title was changed to '$title' by a process name"
[ "$title" = "CANARY-TITLE" ] || st_fail "the pane title changed to '$title'"
screen=$(st_screen)
st_contains "Mem[" "$screen" || st_fail "the header is gone (was the screen cleared?)"
grep -qE '\\e\]0;PWNED|\\x1[bB]\]0;PWNED' <<<"$row" || st_fail "ESC is not shown escaped in the row: $row"
grep -qiE '\\x9b|\\u\{?009b' <<<"$row" || st_fail "C1 CSI is not shown escaped in the row: $row"
grep -qiE '\\u\{?202e' <<<"$row" || st_fail "the RLO is not shown escaped in the row: $row"
# The raw capture (with SGR codes) holds nothing but SGR sequences.
raw=$(st_screen_e)
others=$(LC_ALL=C grep -o $'\x1b[^[]' <<<"$raw" | head -n 3)
[ -z "$others" ] || st_fail "non-SGR escape sequences on screen"
# The row is one screen line: the "\r\n" inside its command line did not break the table.
[ "$(st_screen | grep -c 'line2')" -le 1 ] || st_fail "the command line's newline split the row"

# Details view: comm in the title and the full command line, escaped.
# Select our fixture's row (another test may run its own hostile_name at the same time).
index=$(st_table_rows | awk -v p="$hostile" '$1 == p { print NR; exit }')
[ -n "$index" ] || st_fail "the hostile row disappeared"
st_keys Home
for ((i = 1; i < index; i++)); do st_keys Down; done
st_keys Enter
st_wait_for "Process $hostile (" 15
st_wait_for "Command:" 10
sleep 1
screen=$(st_screen)
title_line=$(grep -m1 "Process $hostile (" <<<"$screen")
grep -qE '\\e\]0;PWNED' <<<"$title_line" || st_fail "details title does not show the comm escaped: $title_line"
command_line=$(grep -m1 "^Command:" <<<"$screen")
st_contains PWNED2 "$command_line" || st_fail "details Command: lacks the second argument: $command_line"
title=$(st_tmux display -p -t "$ST_SESSION" '#{pane_title}')
[ "$title" = "CANARY-TITLE" ] || st_fail "the pane title changed to '$title' in the details view"
st_keys Escape
st_wait_for "COMMAND" 10

# Search typed with control keys: nothing raw echoes.
st_keys /
st_wait_for "Search: _" 10
st_type "PWN"
st_wait_for "Search: PWN_" 10
st_keys Escape
st_wait_gone "Search:" 10

st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q"
title=$(st_tmux display -p -t "$ST_SESSION" '#{pane_title}')
[ "$title" = "CANARY-TITLE" ] || st_fail "the pane title is '$title' after exit"
st_pass
