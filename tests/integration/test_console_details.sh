#!/usr/bin/env bash
# Details view: select a process with 3 extra threads by searching for it, Enter shows its
# identity (title, Command, cwd, exe), the history sparklines and its 4 threads with their
# names; Esc returns to the table.
source "$TEST_LIB"

name=$(st_unique_name dt)
st_fixture named_sleeper "$name" 3
pid=$ST_FX_PID

st_start 150 45 -d 0.5
st_wait_for "Mem[" 30
st_keys /
st_wait_for "Search: _" 10
st_type "$name"
st_wait_for "Search: ${name}_" 10
st_keys Enter
st_wait_gone "Search:" 10
st_keys Enter
st_wait_for "Process $pid ($name)" 15
screen=$(st_screen)
title=$(grep -m1 "Process $pid ($name)" <<<"$screen")
st_contains "user root" "$title" || st_contains "user $(id -un)" "$title" ||
    st_fail "details title lacks 'user NAME': $title"
st_contains "started " "$title" || st_fail "details title lacks 'started ...': $title"
grep -qE "^Command: +.*named_sleeper $name 3" <<<"$screen" ||
    st_fail "no 'Command: .../named_sleeper $name 3' line"
cwd=$(readlink "/proc/$pid/cwd")
grep -qF "cwd:" <<<"$screen" || st_fail "no 'cwd:' line"
trimmed=$(sed 's/ *$//; s/^\(cwd:\|exe:\) */\1 /' <<<"$screen")
grep -qxF "cwd: $cwd" <<<"$trimmed" || st_fail "the cwd line does not show $cwd"
exe=$(readlink "/proc/$pid/exe")
grep -qxF "exe: $exe" <<<"$trimmed" || st_fail "the exe line does not show $exe"
st_contains "History over the session (" "$screen" || st_fail "no 'History over the session (N ticks shown)'"
grep -qE 'History over the session \([0-9]+ ticks shown\)' <<<"$screen" ||
    st_fail "history title is not 'History over the session (N ticks shown)'"
for label in "CPU%" "RSS" "Threads" "Read" "Write" "Vol. ctxsw" "Invol. ctxsw" "Open fds"; do
    grep -qE "^$(sed 's/[.%]/\\&/g' <<<"$label")( |$)" <<<"$screen" ||
        st_fail "no sparkline row labelled '$label'"
done
# Threads arrive with the next refresh: 4 tasks (the main thread and NAME-w0..w2).
for thread in "$name-w0" "$name-w1" "$name-w2"; do
    st_wait_for "$thread" 15
done
screen=$(st_screen)
grep -qE 'Threads \([0-9]+\) +TID +CPU% +S +WCHAN +NAME' <<<"$screen" ||
    st_fail "thread list title is not 'Threads (N)  TID CPU% S WCHAN NAME'"
if ! st_try_wait "Threads (4)" 5; then
    st_soft_fail "the process has 4 threads (/proc/$pid/task: $(ls /proc/$pid/task | tr '\n' ' ')) but the list says '$(grep -o 'Threads ([0-9]*)' <<<"$(st_screen)")'"
fi
# Each thread row: TID, CPU%, state, wchan, name; the TIDs are the fixture's tasks.
screen=$(st_screen)
for tid in $(ls "/proc/$pid/task"); do
    if ! grep -qE "^ +$tid +[0-9]+\.[0-9] +[A-Za-z] " <<<"$screen"; then
        if [ "$tid" = "$pid" ]; then
            st_soft_fail "no thread row for the main thread (TID $tid = PID)"
        else
            st_fail "no thread row for TID $tid (TID CPU% S ...)"
        fi
    fi
done
# The history fills up over time: the tick count grows.
ticks_now() { st_screen | sed -n 's/.*History over the session (\([0-9]*\) ticks shown).*/\1/p' | head -n 1; }
first_ticks=$(ticks_now)
more_ticks() { local t; t=$(ticks_now); [ -n "$t" ] && [ "$t" -gt "${first_ticks:-0}" ]; }
st_wait_until 15 "history tick count did not grow from $first_ticks" more_ticks
# The threads' view can be scrolled without leaving details.
st_keys Down
st_keys Up
st_contains "Process $pid" "$(st_screen)" || st_fail "Up/Down left the details view"

st_keys Escape
st_wait_gone "History over the session" 10
st_wait_for "COMMAND" 10
st_contains "F1" "$(tail -n 1 <<<"$(st_screen)")" || st_fail "footer is not the table's after Esc"
# The selection is still the fixture: Enter reopens the same process.
st_keys Enter
st_wait_for "Process $pid ($name)" 15
st_keys Escape
st_wait_gone "History over the session" 10

# A process that exits while shown: the view says so instead of crashing.
st_keys Enter
st_wait_for "Process $pid ($name)" 15
kill -TERM "$pid"
st_wait_for "exited" 20
st_alive || st_fail "stacktop died when the shown process exited"
st_keys Escape
st_wait_for "COMMAND" 10

st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q"
st_pass
