#!/usr/bin/env bash
# Leaving the console restores the terminal: after q, F10, SIGTERM and Ctrl-C (SIGINT) the
# tty settings (stty -a) are exactly what they were before, the normal screen is back (the
# table is gone, the shell's next output is visible) and the session is saved. Also: C cycles
# the theme, Space freezes (FROZEN, nothing refreshes) and unfreezes.
source "$TEST_LIB"

check_restored() {
    local how=$1
    st_wait_for "STACKTOP-EXITED" 30
    [ -f "$ST_TMP/stty.before" ] && [ -f "$ST_TMP/stty.after" ] || st_fail "$how: stty state not recorded"
    if ! cmp -s "$ST_TMP/stty.before" "$ST_TMP/stty.after"; then
        st_fail "$how: terminal settings not restored: $(diff "$ST_TMP/stty.before" "$ST_TMP/stty.after" | tr '\n' ' ')"
    fi
    grep -qE '(^| )icanon( |$)' "$ST_TMP/stty.after" && grep -qE '(^| )echo( |$)' "$ST_TMP/stty.after" ||
        st_fail "$how: icanon/echo not on after exit"
    local screen
    screen=$(st_screen)
    st_contains "COMMAND" "$screen" && st_fail "$how: the process table is still on screen after exit"
    st_contains "Mem[" "$screen" && st_fail "$how: the header is still on screen after exit"
    grep -q "^stacktop: session saved to $XDG_STATE_HOME/stacktop/.*\.db$" "$ST_TMP/stderr" ||
        st_fail "$how: stderr does not say 'stacktop: session saved to PATH'"
    st_check_stderr
    st_log "$how: terminal restored, rc=$(cat "$ST_TMP/rc")"
}

# q
st_start 100 30 -d 0.5
st_wait_for "Mem[" 30
st_keys q
check_restored q
[ "$(cat "$ST_TMP/rc")" = 0 ] || st_fail "q: exit status $(cat "$ST_TMP/rc"), expected 0"

# F10
st_start 100 30 -d 0.5
st_wait_for "Mem[" 30
st_keys F10
check_restored F10
[ "$(cat "$ST_TMP/rc")" = 0 ] || st_fail "F10: exit status $(cat "$ST_TMP/rc"), expected 0"

# SIGTERM
st_start 100 30 -d 0.5
st_wait_for "Mem[" 30
kill -TERM "$ST_PID"
check_restored SIGTERM
grep -q "signal" "$ST_TMP/stderr" || st_log "SIGTERM: stderr does not mention the signal"

# SIGINT from the keyboard (Ctrl-C)
st_start 100 30 -d 0.5
st_wait_for "Mem[" 30
st_keys C-c
check_restored "Ctrl-C"

# SIGHUP (the SSH connection drops): the session is still closed properly.
st_start 100 30 -d 0.5
st_wait_for "Mem[" 30
kill -HUP "$ST_PID"
st_wait_exit 30
grep -q "^stacktop: session saved to " "$ST_TMP/stderr" || st_fail "SIGHUP: session not saved"
st_check_stderr
for db in "$XDG_STATE_HOME"/stacktop/*.db; do
    [ -e "$db-wal" ] && st_fail "a WAL file was left behind for $db"
done

# A crash signal (SIGSEGV): the terminal is restored before the process dies, and the ticks
# recorded before the crash are still in the session file (WAL: nothing committed is lost).
st_start 100 30 -d 0.3
st_wait_for "Mem[" 30
st_wait_for "rec " 10
sleep 1
kill -SEGV "$ST_PID"
st_wait_for "STACKTOP-EXITED" 30
cmp -s "$ST_TMP/stty.before" "$ST_TMP/stty.after" ||
    st_fail "SIGSEGV: terminal settings not restored: $(diff "$ST_TMP/stty.before" "$ST_TMP/stty.after" | tr '\n' ' ')"
[ "$(cat "$ST_TMP/rc")" != 0 ] || st_fail "SIGSEGV: exit status 0; the crash was swallowed"
crashed_db=$(ls -t "$XDG_STATE_HOME"/stacktop/*.db | head -n 1)
ticks=$(sqlite3 "$crashed_db" 'select count(*) from tick' 2>&1)
[ "${ticks:-0}" -gt 0 ] 2>/dev/null || st_fail "SIGSEGV: no ticks readable from $crashed_db after the crash: $ticks"
st_log "SIGSEGV: terminal restored, rc=$(cat "$ST_TMP/rc"), $ticks ticks kept"

# Theme cycling and freezing, then q.
st_start 100 30 -d 0.3
st_wait_for "Mem[" 30
st_wait_for "Uptime:" 10
st_keys C
st_wait_for "theme: " 10
st_contains "theme: default" "$(tail -n 1 <<<"$(st_screen)")" &&
    st_fail "C did not move away from the default theme"
uptime_line() { st_screen | grep -o 'Uptime: [0-9a-z, :]*' | head -n 1; }
# Not frozen: the uptime (with seconds) changes.
u1=$(uptime_line)
changed() { [ "$(uptime_line)" != "$u1" ]; }
st_wait_until 10 "the display does not refresh (Uptime stays '$u1')" changed
st_keys Space
st_wait_for "FROZEN" 10
footer=$(tail -n 1 <<<"$(st_screen)")
grep -qE 'FROZEN *$' <<<"$footer" || st_fail "FROZEN is not at the far right of the footer: $footer"
frozen_uptime=$(uptime_line)
frozen_table=$(st_table_rows)
sleep $((2 * ST_SLOW))
[ "$(uptime_line)" = "$frozen_uptime" ] || st_fail "frozen, but the uptime changed"
[ "$(st_table_rows)" = "$frozen_table" ] || st_fail "frozen, but the table changed"
# Keys still work while frozen (help and back).
st_keys '?'
st_wait_for "stacktop help" 10
st_keys Escape
st_wait_for "COMMAND" 10
st_contains "FROZEN" "$(st_screen)" || st_fail "leaving help unfroze the display"
st_keys Space
st_wait_gone "FROZEN" 10
u1=$(uptime_line)
st_wait_until 10 "unfrozen, but the display does not refresh" changed
st_keys q
check_restored "q after C and Space"
[ "$(cat "$ST_TMP/rc")" = 0 ] || st_fail "exit status $(cat "$ST_TMP/rc") after q"
st_pass
