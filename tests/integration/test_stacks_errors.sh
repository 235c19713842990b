#!/usr/bin/env bash
# `stacktop stacks PID` reports what it could not do, and why, without failing the capture
# (DESIGN.md, "attach"; capture.h):
#   - a thread in state D (a vfork parent waiting for its child) is skipped with "did not stop
#     within 10 ms (state D)", left untraced, and runs on normally once the child exits;
#   - permission denied names CAP_SYS_PTRACE (and kernel.yama.ptrace_scope when it restricts);
#   - no such process, a kernel thread: exit 1 with a message naming the cause;
#   - threads appearing and exiting during a capture (many_threads --churn) are reported in
#     "errors", never fatal, and nothing is left stopped or traced (20 captures);
#   - --consistent reports "consistent": true and groups stacks_blocked as the default does.
source "$TEST_LIB"
export LANG=C.UTF-8 LC_ALL=C.UTF-8

out="$ST_TMP/out"
err="$ST_TMP/err"

states_of() {
    local stat
    for stat in /proc/"$1"/task/*/stat; do
        sed -E 's/.*\) ([A-Za-z]).*/\1/' "$stat" 2>/dev/null
    done
}
tracers_of() {
    local status
    for status in /proc/"$1"/task/*/status; do
        awk '/^TracerPid:/ { print $2 }' "$status" 2>/dev/null
    done
}
untraced() { ! tracers_of "$1" | grep -qv '^0$'; }

# ---- D state: a vfork parent ----
st_fixture stacks_vfork
vfork_pid=$ST_FX_PID
vfork_out="$ST_TMP/fixture.$((${#ST_FX_PIDS[@]} - 1)).out"
in_d() { [ "$(states_of "$vfork_pid")" = D ]; }
st_wait_until 5 "the vfork parent never reached state D: $(states_of "$vfork_pid")" in_d
child=$(cat /proc/"$vfork_pid"/task/"$vfork_pid"/children)
child=${child%% *}
[ -n "$child" ] || st_fail "the vfork fixture has no child"
rc=0
"$STACKTOP" stacks "$vfork_pid" --format json --no-record >"$out" 2>"$err" </dev/null || rc=$?
st_check_stderr "$err"
[ "$rc" = 0 ] || st_soft_fail "stacks of a D-state process: exit $rc: $(head -c 500 "$err")"
python3 - "$out" "$vfork_pid" <<'PY' || st_soft_fail "D-state thread not reported: $(head -c 800 "$out")"
import json, sys
d = json.load(open(sys.argv[1]))
errors = {e["tid"]: e["error"] for e in d["errors"]}
sys.exit(0 if errors.get(int(sys.argv[2])) == "did not stop within 10 ms (state D)" else 1)
PY
untraced "$vfork_pid" || st_soft_fail "the D-state process is still traced: $(tracers_of "$vfork_pid")"
kill -KILL "$child"
resumed() { grep -q '^resumed' "$vfork_out"; }
st_wait_until 5 "the vfork parent did not resume after its child exited: $(cat "$vfork_out")" resumed
rc=0
wait "$vfork_pid" || rc=$?
[ "$rc" = 0 ] || st_soft_fail "the vfork parent exited with status $rc"

# ---- permission denied ----
st_fixture stacks_blocked
blocked_pid=$ST_FX_PID
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
    rc=0
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$STACKTOP" stacks "$blocked_pid" --no-record >"$out" 2>"$err" </dev/null || rc=$?
    [ "$rc" = 1 ] || st_soft_fail "permission denied: exit $rc (expected 1): $(head -c 500 "$err")"
    grep -q 'CAP_SYS_PTRACE' "$err" || st_soft_fail "permission denied does not name CAP_SYS_PTRACE: $(cat "$err")"
    scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || true)
    if [ -n "$scope" ] && [ "$scope" != 0 ]; then
        grep -q 'kernel.yama.ptrace_scope' "$err" ||
            st_soft_fail "ptrace_scope is $scope but the message does not name it: $(cat "$err")"
    fi
    untraced "$blocked_pid" || st_soft_fail "the refused target is traced"
else
    st_log "not root or no setpriv: permission check skipped"
fi

# ---- no such process, kernel thread ----
missing=$(($(cat /proc/sys/kernel/pid_max) + 1))
rc=0
"$STACKTOP" stacks "$missing" --no-record >"$out" 2>"$err" </dev/null || rc=$?
[ "$rc" = 1 ] && grep -q 'does not exist' "$err" ||
    st_soft_fail "missing process: exit $rc, $(cat "$err")"
rc=0
"$STACKTOP" stacks 2 --no-record >"$out" 2>"$err" </dev/null || rc=$?
[ "$rc" = 1 ] && grep -q 'kernel thread' "$err" ||
    st_soft_fail "kernel thread: exit $rc, $(cat "$err")"

# ---- --consistent: same groups as the default ----
groups_of() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("consistent=%s" % str(d["consistent"]).lower())
for g in d["groups"]:
    print(g["count"], g["names"], "|".join(f["function"] or "?" for f in g["frames"]))
' "$1"
}
"$STACKTOP" stacks "$blocked_pid" --format json --no-record >"$ST_TMP/default.json" 2>"$err" ||
    st_soft_fail "default capture failed: $(cat "$err")"
"$STACKTOP" stacks "$blocked_pid" --consistent --format json --no-record \
    >"$ST_TMP/consistent.json" 2>"$err" || st_soft_fail "--consistent failed: $(cat "$err")"
st_check_stderr "$err"
default_groups=$(groups_of "$ST_TMP/default.json")
consistent_groups=$(groups_of "$ST_TMP/consistent.json")
head -1 <<<"$consistent_groups" | grep -qx 'consistent=true' ||
    st_soft_fail "--consistent JSON lacks \"consistent\": true"
head -1 <<<"$default_groups" | grep -qx 'consistent=false' ||
    st_soft_fail "default JSON lacks \"consistent\": false"
[ "$(tail -n +2 <<<"$default_groups")" = "$(tail -n +2 <<<"$consistent_groups")" ] ||
    st_soft_fail "--consistent groups differ from the default: $default_groups /// $consistent_groups"
untraced "$blocked_pid" || st_soft_fail "stacks_blocked still traced after --consistent"

# ---- threads appearing and exiting during captures ----
st_fixture many_threads 8 --churn 2
churn_pid=$ST_FX_PID
seen_short=0
for i in $(seq 1 20); do
    rc=0
    "$STACKTOP" stacks "$churn_pid" --format json --no-record >"$out" 2>"$err" </dev/null || rc=$?
    st_check_stderr "$err"
    [ "$rc" = 0 ] || { st_soft_fail "churn capture $i: exit $rc: $(head -c 500 "$err")"; continue; }
    verdict=$(python3 - "$out" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
allowed = re.compile(r"^(exited|appeared during the capture|no stack|did not stop within \d+ ms \(state [A-Za-z]\))$")
bad = [e for e in d["errors"] if not allowed.match(e["error"])]
names = " ".join(g["names"] for g in d["groups"])
if bad:
    print("bad", bad[:3])
elif "churner" not in names:
    print("nochurner", names)
else:
    print("ok", "short" if "churn-short" in names else "")
PY
) || verdict="unparsable JSON: $(head -c 300 "$out")"
    case $verdict in
    "ok short") seen_short=$((seen_short + 1)) ;;
    ok*) ;;
    *) st_soft_fail "churn capture $i: $verdict" ;;
    esac
done
st_log "short-lived threads captured in $seen_short of 20 runs"
sleep 0.1
if states_of "$churn_pid" | grep -q '^[Tt]$'; then
    st_soft_fail "a thread of the churning target is left stopped: $(states_of "$churn_pid" | tr '\n' ' ')"
fi
untraced "$churn_pid" || st_soft_fail "the churning target is still traced"
kill -0 "$churn_pid" 2>/dev/null || st_fail "the churning target died"

st_pass "D state skipped, permission/missing/kernel-thread errors, churn, --consistent"
