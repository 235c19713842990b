#!/usr/bin/env bash
# `stacktop stacks PID` against the stack fixtures (tests/fixtures/stacks_*), with both
# unwinders: groups, counts and source lines (found through the fixtures' LINE: markers);
# --group top/user/start; the lock owner of the "holder blocked in read()" story; the ABBA
# deadlock; -O2 code without frame pointers; C++ demangling. JSON is checked with python3.
# Every fixture must still run (not stopped) after each capture.
source "$TEST_LIB"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset LANGUAGE

FIXTURE_SOURCES="${SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/fixtures"
out="$ST_TMP/out"
err="$ST_TMP/err"
command -v python3 >/dev/null || st_fail "python3 is needed to check the JSON output"

# stacks ARGS...: runs `stacktop stacks ARGS`; RC, $out, $err.
stacks() {
    RC=0
    timeout $(( 60 * ST_SLOW )) "$STACKTOP" stacks "$@" >"$out" 2>"$err" </dev/null || RC=$?
    st_check_stderr "$err"
    if grep -q 'not implemented' "$err"; then
        st_fail "'stacktop stacks' is not implemented in this binary: $(head -c 500 "$err")"
    fi
}
sfail() { st_soft_fail "$* ; stdout: $(head -c 3000 "$out") ; stderr: $(head -c 2000 "$err")"; }

# line_of MARKER FILE: the line of the fixture source that carries /* LINE:MARKER */.
line_of() {
    local line
    line=$(grep -n "/\\* LINE:$1 \\*/" "$FIXTURE_SOURCES/$2" | head -n 1 | cut -d: -f1)
    [ -n "$line" ] || st_fail "no LINE:$1 marker in $FIXTURE_SOURCES/$2"
    echo "$line"
}

# tids_of ROLE: the fixture's "ROLE TID n" lines, comma-separated.
fixture_out() { echo "$ST_TMP/fixture.$(( ${#ST_FX_PIDS[@]} - 1 )).out"; }
tids_of() { awk -v role="$1" '$1 == role && $2 == "TID" { print $3 }' "$(fixture_out)" | paste -sd, -; }

# The fixture's threads must all be running (sleeping), none left stopped by the capture.
check_not_stopped() {
    local task state
    for task in /proc/"$ST_FX_PID"/task/*; do
        state=$(awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "$task/stat" 2>/dev/null)
        case "$state" in
        T | t) sfail "$1: thread ${task##*/} of the fixture was left stopped (state $state)" ;;
        esac
    done
}

# check.py CHECK JSON ARGS...: the JSON assertions; prints what failed and exits 1.
cat >"$ST_TMP/check.py" <<'EOF'
import json, os, sys

check, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(path, encoding="utf-8") as f:
    data = json.load(f)
SYSTEM = ("libc.so", "libc-", "libpthread", "ld-linux", "linux-vdso", "libstdc++", "libgcc_s",
          "[vdso]")

def fail(message):
    groups = [(g["count"], g["tids"], [fr["function"] for fr in g["frames"]])
              for g in data.get("groups", [])]
    print("FAIL:", message, "| groups:", groups, "| locks:", data.get("locks"),
          "| deadlocks:", data.get("deadlocks"), "| errors:", data.get("errors"))
    sys.exit(1)

def tids(text):
    return sorted(int(t) for t in text.split(",") if t)

def functions(group):
    return [fr["function"] for fr in group["frames"]]

def group_of(tid_list):
    for g in data["groups"]:
        if tid_list[0] in g["tids"]:
            return g
    fail("no group holds tid %d" % tid_list[0])

def top_user_frame(group):
    for fr in group["frames"]:
        module = os.path.basename(fr["module"] or "")
        if module and not module.startswith(SYSTEM):
            return fr
    return None

for key in ("pid", "comm", "threads", "captured_us", "stop_us", "groups", "locks", "deadlocks",
            "errors"):
    if key not in data:
        fail("key %s missing" % key)
for key in ("max", "p99", "total"):
    if not isinstance(data["stop_us"].get(key), int):
        fail("stop_us.%s is not a number" % key)
counts = [g["count"] for g in data["groups"]]
if counts != sorted(counts, reverse=True):
    fail("groups are not sorted by count")
for g in data["groups"]:
    if g["count"] != len(g["tids"]):
        fail("count %d but %d tids" % (g["count"], len(g["tids"])))
    for fr in g["frames"]:
        for key in ("function", "module", "file", "line", "inline", "pc"):
            if key not in fr:
                fail("frame key %s missing" % key)
        if not fr["pc"].startswith("0x"):
            fail("pc %r is not hex" % fr["pc"])

if check == "blocked":  # pid alpha beta gamma line_alpha line_beta line_gamma
    pid = int(args[0])
    if data["pid"] != pid:
        fail("pid %s, expected %d" % (data["pid"], pid))
    if data["errors"]:
        fail("errors: %s" % data["errors"])
    for role, role_tids, line in (("alpha", args[1], args[4]), ("beta", args[2], args[5]),
                                  ("gamma", args[3], args[6])):
        expected = tids(role_tids)
        g = group_of(expected)
        if sorted(g["tids"]) != expected:
            fail("%s group has tids %s, expected %s" % (role, g["tids"], expected))
        frames = [fr for fr in g["frames"] if fr["function"] == "wait_in_" + role]
        if not frames:
            fail("no wait_in_%s frame in its group" % role)
        if frames[0]["line"] != int(line):
            fail("wait_in_%s at line %s, expected %s" % (role, frames[0]["line"], line))
        if not frames[0]["file"] or not frames[0]["file"].endswith("stacks_blocked.c"):
            fail("wait_in_%s file is %r" % (role, frames[0]["file"]))
elif check == "grouping":  # grouping pid alpha beta gamma
    grouping, all_tids = args[0], tids(",".join(args[2:5]))
    if data.get("grouping", grouping) != grouping:
        fail("grouping %s, expected %s" % (data.get("grouping"), grouping))
    if grouping == "start":
        g = group_of(all_tids)
        if sorted(g["tids"]) != all_tids:
            fail("start: threads %s apart (group %s)" % (all_tids, g["tids"]))
        outer = g["frames"][-1]["function"] or ""
        if outer not in ("start_thread", "clone3", "__clone3", "clone", "__clone"):
            fail("start: outermost frame is %r" % outer)
    else:
        for role, role_tids in zip(("alpha", "beta", "gamma"), args[2:5]):
            expected = tids(role_tids)
            g = group_of(expected)
            if sorted(g["tids"]) != expected:
                fail("%s: %s group has tids %s, expected %s" %
                     (grouping, role, g["tids"], expected))
            if grouping == "user":
                frame = top_user_frame(g)
                if not frame or frame["function"] != "wait_in_" + role:
                    fail("user: top user frame of the %s group is %r" % (role, frame))
elif check == "mutex":  # holder waiters
    holder, waiters = int(args[0]), tids(args[1])
    found = {lock["waiter"]: lock for lock in data["locks"]}
    for waiter in waiters:
        lock = found.get(waiter)
        if not lock:
            fail("no lock entry for waiter %d" % waiter)
        if lock["owner"] != holder:
            fail("waiter %d: owner %s, expected holder %d" % (waiter, lock["owner"], holder))
        if lock["kind"] != "mutex" or not lock["address"].startswith("0x"):
            fail("waiter %d: lock %s" % (waiter, lock))
    if len({found[w]["address"] for w in waiters}) != 1:
        fail("the waiters wait on different addresses")
    if data["deadlocks"]:
        fail("a deadlock where there is none: %s" % data["deadlocks"])
    g = group_of(waiters)
    if "wait_for_lock" not in functions(g):
        fail("no wait_for_lock frame in the waiters' group")
    g = group_of([holder])
    if "hold_lock_and_read" not in functions(g):
        fail("no hold_lock_and_read frame in the holder's group")
elif check == "deadlock":  # a b
    pair = sorted([int(args[0]), int(args[1])])
    if [sorted(cycle) for cycle in data["deadlocks"]] != [pair]:
        fail("deadlocks %s, expected one cycle %s" % (data["deadlocks"], pair))
    if data["deadlocks"][0][0] != pair[0]:
        fail("the cycle does not start at its smallest tid")
    owners = {lock["waiter"]: lock["owner"] for lock in data["locks"]}
    if owners.get(pair[0]) != pair[1] or owners.get(pair[1]) != pair[0]:
        fail("locks do not show the ABBA owners: %s" % data["locks"])
elif check == "nofp":  # tid
    g = group_of(tids(args[0]))
    names = functions(g)
    try:
        where = [names.index(n) for n in ("nofp_inner", "nofp_middle", "nofp_outer")]
    except ValueError:
        fail("nofp_inner/middle/outer not all in %s" % names)
    if where != sorted(where) or where[2] - where[0] != 2:
        fail("nofp frames out of order: %s" % names)
elif check == "cpp":  # tid
    g = group_of(tids(args[0]))
    if "fixture::Worker::block_here(int)" not in functions(g):
        fail("fixture::Worker::block_here(int) not in %s" % functions(g))
else:
    fail("unknown check " + check)
EOF
json_check() {
    local what=$1
    shift
    local message
    if ! message=$(python3 "$ST_TMP/check.py" "$what" "$out" "$@" 2>&1); then
        sfail "$UNWINDER: $what: $message"
        return 1
    fi
}

# Does `stacktop stacks` take --unwinder? (The option is part of the contract.)
stacks "$$" --format json --unwinder libunwind
[ "$RC" = 2 ] && st_fail "--unwinder libunwind rejected as a usage error: $(head -c 500 "$err")"

line_alpha=$(line_of alpha stacks_blocked.c)
line_beta=$(line_of beta stacks_blocked.c)
line_gamma=$(line_of gamma stacks_blocked.c)

for UNWINDER in libunwind libdw; do
    # ---- stacks_blocked: 4 alpha, 2 beta, 1 gamma, with their lines ----
    st_fixture stacks_blocked 4
    alpha=$(tids_of alpha) beta=$(tids_of beta) gamma=$(tids_of gamma)
    stacks "$ST_FX_PID" --format json --unwinder "$UNWINDER"
    if [ "$RC" != 0 ]; then
        sfail "$UNWINDER: stacks_blocked --format json: exit status $RC"
    else
        json_check blocked "$ST_FX_PID" "$alpha" "$beta" "$gamma" \
            "$line_alpha" "$line_beta" "$line_gamma"
    fi
    check_not_stopped "$UNWINDER blocked"
    for grouping in top user start; do
        stacks "$ST_FX_PID" --group "$grouping" --format json --unwinder "$UNWINDER"
        if [ "$RC" != 0 ]; then
            sfail "$UNWINDER: --group $grouping: exit status $RC"
        else
            json_check grouping "$grouping" "$ST_FX_PID" "$alpha" "$beta" "$gamma"
        fi
    done
    stacks "$ST_FX_PID" --unwinder "$UNWINDER"
    if [ "$RC" != 0 ]; then
        sfail "$UNWINDER: stacks_blocked text: exit status $RC"
    else
        grep -q "^PID $ST_FX_PID (stacks_blocked): 8 threads" "$out" ||
            sfail "$UNWINDER: text header is not 'PID $ST_FX_PID (stacks_blocked): 8 threads...'"
        grep -qE '^4 threads +state S' "$out" || sfail "$UNWINDER: text has no '4 threads  state S'"
        grep -qE "wait_in_alpha \(stacks_blocked\.c:$line_alpha\)" "$out" ||
            sfail "$UNWINDER: text has no 'wait_in_alpha (stacks_blocked.c:$line_alpha)'"
    fi
    check_not_stopped "$UNWINDER blocked (after the groupings)"
    kill "$ST_FX_PID"

    # ---- stacks_mutex_read: 3 waiters, the holder blocked in read() ----
    st_fixture stacks_mutex_read
    holder=$(tids_of holder) waiters=$(tids_of waiter)
    stacks "$ST_FX_PID" --format json --unwinder "$UNWINDER"
    if [ "$RC" != 0 ]; then
        sfail "$UNWINDER: stacks_mutex_read --format json: exit status $RC"
    else
        json_check mutex "$holder" "$waiters"
    fi
    stacks "$ST_FX_PID" --unwinder "$UNWINDER"
    if [ "$RC" != 0 ]; then
        sfail "$UNWINDER: stacks_mutex_read text: exit status $RC"
    else
        grep -q "3 threads wait for mutex 0x[0-9a-f]* held by TID $holder (holder)" "$out" ||
            sfail "$UNWINDER: text does not say '3 threads wait for mutex 0x... held by TID $holder (holder)'"
        grep -q "held by TID $holder.*blocked in read()" "$out" ||
            sfail "$UNWINDER: text does not say 'held by TID $holder ... blocked in read()'"
    fi
    check_not_stopped "$UNWINDER mutex_read"
    kill "$ST_FX_PID"

    # ---- stacks_deadlock: ABBA ----
    st_fixture stacks_deadlock
    a=$(tids_of a) b=$(tids_of b)
    stacks "$ST_FX_PID" --format json --unwinder "$UNWINDER"
    if [ "$RC" != 0 ]; then
        sfail "$UNWINDER: stacks_deadlock --format json: exit status $RC"
    else
        json_check deadlock "$a" "$b"
    fi
    stacks "$ST_FX_PID" --unwinder "$UNWINDER"
    first=$(( a < b ? a : b )) second=$(( a < b ? b : a ))
    grep -qE "^DEADLOCK: $first \([ab]\) waits for $second \([ab]\), which waits for $first" "$out" ||
        sfail "$UNWINDER: text has no 'DEADLOCK: $first (.) waits for $second (.), which waits for $first'"
    check_not_stopped "$UNWINDER deadlock"
    kill "$ST_FX_PID"

    # ---- stacks_blocked_nofp: -O2, no frame pointers ----
    st_fixture stacks_blocked_nofp
    stacks "$ST_FX_PID" --format json --unwinder "$UNWINDER"
    if [ "$RC" != 0 ]; then
        sfail "$UNWINDER: stacks_blocked_nofp: exit status $RC"
    else
        json_check nofp "$(tids_of nofp)"
    fi
    check_not_stopped "$UNWINDER nofp"
    kill "$ST_FX_PID"

    # ---- stacks_cpp: demangled C++ ----
    st_fixture stacks_cpp
    stacks "$ST_FX_PID" --format json --unwinder "$UNWINDER"
    if [ "$RC" != 0 ]; then
        sfail "$UNWINDER: stacks_cpp: exit status $RC"
    else
        json_check cpp "$(tids_of worker)"
    fi
    stacks "$ST_FX_PID" --unwinder "$UNWINDER"
    grep -qF 'fixture::Worker::block_here(int)' "$out" ||
        sfail "$UNWINDER: text has no 'fixture::Worker::block_here(int)'"
    check_not_stopped "$UNWINDER cpp"
    kill "$ST_FX_PID"
done

# ---- usage errors ----
stacks "$$" --group sideways
[ "$RC" = 2 ] || sfail "--group sideways: exit status $RC, expected 2 (usage error)"
st_pass "both unwinders"
