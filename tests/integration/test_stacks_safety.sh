#!/usr/bin/env bash
# `stacktop stacks PID` must never hurt its target (DESIGN.md, "attach"):
#   - strace shows PTRACE_SEIZE but no PTRACE_ATTACH, no PTRACE_POKE*, no PTRACE_O_EXITKILL,
#     no process_vm_writev, and no kill/tgkill/tkill aimed at the target;
#   - a target stopped with SIGSTOP is still stopped afterwards, and nothing traces it;
#   - stacktop SIGKILLed at any moment of a capture (50 runs, killed after 0-30 ms) leaves the
#     target running: no thread in state T/t, TracerPid 0, and it still makes progress (the
#     spin_gap fixture rewrites a progress counter every 100 ms).
source "$TEST_LIB"
export LANG=C.UTF-8 LC_ALL=C.UTF-8

out="$ST_TMP/out"
err="$ST_TMP/err"
gap_file="$ST_TMP/gap"

st_fixture spin_gap "$gap_file" 8
target=$ST_FX_PID

# ---- the CLI must have the subcommand ----
rc=0
"$STACKTOP" stacks "$target" >"$out" 2>"$err" </dev/null || rc=$?
st_check_stderr "$err"
[ "$rc" = 0 ] || st_fail "stacktop stacks $target: exit status $rc: $(head -c 2000 "$err")"
[ -s "$out" ] || st_fail "stacktop stacks $target printed nothing"

# Every thread of the target: state and tracer.
target_states() {
    local stat
    for stat in /proc/"$target"/task/*/stat; do
        sed -E 's/.*\) ([A-Za-z]).*/\1/' "$stat" 2>/dev/null
    done
}
tracer_pids() {
    local status
    for status in /proc/"$target"/task/*/status; do
        awk '/^TracerPid:/ { print $2 }' "$status" 2>/dev/null
    done
}
untraced() { ! tracer_pids | grep -qv '^0$'; }
progress() { awk '/^progress/ { print $2 }' "$gap_file" 2>/dev/null; }

# ---- strace: only the allowed requests ----
if command -v strace >/dev/null; then
    log="$ST_TMP/strace.log"
    rc=0
    # LeakSanitizer cannot run under ptrace: leaks are checked by the other runs.
    # -ff: one file per thread, so that no call is split in "<unfinished ...>" and
    # "<... resumed>" halves by another thread's (the capture's tick signal interrupts waits).
    ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
        strace -ff -e trace=ptrace,kill,tgkill,tkill,process_vm_writev -e signal=none \
        -o "$log.part" "$STACKTOP" stacks "$target" >"$out" 2>"$err" </dev/null || rc=$?
    cat "$log.part".* >"$log" 2>/dev/null
    [ "$rc" = 0 ] || st_fail "stacktop stacks under strace: exit status $rc: $(head -c 2000 "$err")"
    grep -q 'PTRACE_SEIZE' "$log" || st_fail "strace saw no PTRACE_SEIZE (is strace working?)"
    if grep -qE 'PTRACE_ATTACH|PTRACE_POKE|EXITKILL|process_vm_writev\(' "$log"; then
        st_soft_fail "forbidden request: $(grep -E 'PTRACE_ATTACH|PTRACE_POKE|EXITKILL|process_vm_writev\(' "$log" | head -3)"
    fi
    tids=$(ls /proc/"$target"/task | tr '\n' '|')
    tids=${tids%|}
    if grep -qE "(^|[^a-z])(kill|tkill)\(($tids)," "$log" || grep -qE "tgkill\(($target)," "$log"; then
        st_soft_fail "a signal was sent to the target: $(grep -E 'kill\(' "$log" | head -3)"
    fi
    # every seized thread was detached
    seized=$(grep -cE 'PTRACE_SEIZE, [0-9]+, NULL, 0\) += 0' "$log")
    detached=$(grep -cE 'PTRACE_DETACH.*\) += 0' "$log")
    [ "$seized" = "$detached" ] ||
        st_soft_fail "$seized threads seized but $detached detached: $(grep -E 'SEIZE|DETACH' "$log" | tail -5)"
else
    st_log "strace is not installed: request check skipped"
fi

# ---- a stopped target stays stopped ----
kill -STOP "$target"
all_stopped() { ! target_states | grep -qv '^T$'; }
st_wait_until 5 "the fixture did not stop on SIGSTOP" all_stopped
rc=0
"$STACKTOP" stacks "$target" >"$out" 2>"$err" </dev/null || rc=$?
[ "$rc" = 0 ] || st_soft_fail "stacks of a stopped process: exit status $rc: $(head -c 2000 "$err")"
sleep 0.1
all_stopped || st_soft_fail "a thread of the stopped target runs again: $(target_states | tr '\n' ' ')"
untraced || st_soft_fail "the stopped target is still traced: $(tracer_pids | tr '\n' ' ')"
kill -CONT "$target"

# ---- SIGKILL at random moments ----
for i in $(seq 1 50); do
    "$STACKTOP" stacks "$target" >/dev/null 2>&1 </dev/null &
    victim=$!
    sleep "$(printf '0.%03d' $((RANDOM % 31)))"
    kill -KILL "$victim" 2>/dev/null
    wait "$victim" 2>/dev/null
done
sleep 0.3
states=$(target_states | tr '\n' ' ')
if target_states | grep -q '^[Tt]$'; then
    st_fail "after 50 killed captures a thread of the target is stopped: $states"
fi
untraced || st_fail "after 50 killed captures the target is still traced: $(tracer_pids | tr '\n' ' ')"
before=$(progress)
sleep 0.5
after=$(progress)
[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
    st_fail "the target makes no progress after the killed captures (progress $before -> $after)"
kill -0 "$target" 2>/dev/null || st_fail "the target died"

st_pass "SEIZE only, no signals, stopped stays stopped, 50 SIGKILLed captures harmless"
