#!/usr/bin/env bash
# Help: F1 and ? open "stacktop help: keys" with its sections and the keys of the table;
# Up/Down scroll it; Esc goes back to the table; q quits from the help too.
source "$TEST_LIB"

help_is_complete() {
    local screen
    screen=$(st_screen)
    for text in "stacktop help: keys" "Everywhere" "Process table" "F1" "F3" "F10" "quit" \
        "search" "filter" "tree" "sort"; do
        st_contains "$text" "$screen" || { st_log "help lacks '$text'"; return 1; }
    done
}
in_table() {
    local screen
    screen=$(st_screen)
    st_contains "PID" "$screen" && st_contains "COMMAND" "$screen" &&
        ! st_contains "stacktop help" "$screen"
}

st_start 120 30 -d 0.5
st_wait_for "Mem[" 30

st_keys F1
st_wait_for "stacktop help: keys" 10
help_is_complete || st_fail "F1 help is incomplete"
screen=$(st_screen)
# Key lines: key names, then their meaning.
grep -qE '^ +F1 \? +show this help' <<<"$screen" || st_fail "no 'F1 ?  show this help' line"
grep -qE '^ +q F10 +quit' <<<"$screen" || st_fail "no 'q F10  quit' line"
grep -qE '^ +/ F3 +incremental search' <<<"$screen" || st_fail "no '/ F3  incremental search' line"
grep -qE '^ +\\ F4 +filter' <<<"$screen" || st_fail "no '\\ F4  filter' line"
st_contains "Mem[" "$screen" && st_fail "the help screen still shows the header meters"
st_contains "Esc" "$(tail -n 1 <<<"$screen")" || st_fail "help footer does not mention Esc"
# Scrolling down moves the text, Up brings it back.
top_before=$(sed -n 2p <<<"$screen")
for ((i = 0; i < 5; i++)); do st_keys Down; done
st_wait_gone "$top_before" 10
for ((i = 0; i < 5; i++)); do st_keys Up; done
st_wait_for "$top_before" 10
st_keys Escape
st_wait_until 10 "Esc did not leave the help" in_table
st_wait_for "Mem[" 10

st_keys '?'
st_wait_for "stacktop help: keys" 10
help_is_complete || st_fail "? help is incomplete"
st_keys Escape
st_wait_until 10 "Esc did not leave the help opened with ?" in_table

# Later sections are reachable by scrolling (the screen is not tall enough for all of them).
st_keys F1
st_wait_for "stacktop help: keys" 10
for ((i = 0; i < 80; i++)); do st_keys Down; done
st_wait_for "Details view" 10
st_wait_for "Mouse" 10

# q quits from the help view.
st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q in help"
st_pass
