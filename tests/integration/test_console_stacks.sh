#!/usr/bin/env bash
# The console's Stacks view: `s` on a process captures every thread's stack and shows the
# groups with counts (the uniq -c view), the lock finding (who holds the mutex the waiters
# wait on, blocked in read()), the stop-window figures in the footer; Enter expands a group
# (whole stack, members), g cycles the grouping, r captures again, Esc goes back; every
# capture is stored as a snapshot in the session file; the target keeps running.
source "$TEST_LIB"

st_fixture stacks_mutex_read
fixture=$ST_FX_PID
holder=$(awk '/^holder TID/{print $3; exit}' "$ST_TMP/fixture.0.out")
[ -n "$holder" ] || st_fail "the fixture did not print its holder TID"

st_start 160 40 -d 0.5 -p "$fixture"
st_wait_for "Mem[" 30
st_wait_for "$fixture" 10
st_keys s
st_wait_for "Stacks of $fixture" 30
screen=$(st_screen)
st_contains "5 threads in 3 groups, by stack" "$screen" || st_soft_fail "title: threads and groups"
grep -qE '^ +3 +S +.*waiter' <<<"$screen" || st_soft_fail "no group of 3 waiters"
st_contains "held by TID $holder (holder), which is blocked in read()" "$screen" ||
    st_soft_fail "lock finding missing (holder $holder blocked in read())"
st_contains "waits for mutex" "$screen" || st_soft_fail "the waiters' group does not show its lock"
grep -qE 'stops: max [0-9]+ us, p99 [0-9]+ us' <<<"$(st_screen)" ||
    st_wait_for "stops: max" 10

# Expand the first group (the 3 waiters): the whole stack with file:line, and the members.
st_keys Home Enter
st_wait_for "Stack (innermost first):" 10
screen=$(st_screen)
grep -qE 'wait_for_lock \(stacks_mutex_read\.c:[0-9]+\)' <<<"$screen" ||
    st_soft_fail "expanded stack lacks wait_for_lock with file:line"
st_contains "Threads (3):" "$screen" || st_soft_fail "expanded group does not list its 3 threads"

# Grouping cycles stack -> top -> user -> start.
st_keys g
st_wait_for "by top" 10
st_keys g
st_wait_for "by user" 10
grep -qE 'wait_for_lock|hold_lock_and_read' <<<"$(st_screen)" ||
    st_soft_fail "user grouping does not show the fixture's own frames"
st_keys g
st_wait_for "by start" 10

# Recapture: a second snapshot.
st_keys r
st_wait_for "snapshot 2 saved" 20

# Back to the table, quit; two snapshots are in the file and the target is not stopped.
st_keys Escape
st_wait_for "PID USER" 10
st_keys q
st_wait_exit 30
db=$(ls -t "$XDG_STATE_HOME"/stacktop/*.db | head -n 1)
snapshots=$(sqlite3 "$db" "select count(*) from snapshot where kind = 'stacks' and pid = $fixture")
[ "$snapshots" = 2 ] || st_soft_fail "expected 2 stack snapshots in $db, found '$snapshots'"
for status in /proc/"$fixture"/task/*/status; do
    grep -q '^TracerPid:[[:space:]]*0$' "$status" || st_soft_fail "$status: still traced"
    grep -qE '^State:[[:space:]]*[TtZ]' "$status" && st_soft_fail "$status: left stopped"
done
st_pass
