#!/usr/bin/env bash
# `stacktop profile PID` against tests/fixtures/prof_split (burn_a ~50%, burn_b ~30%, burn_c
# ~20% under run_workload <- main), built with and without frame pointers: folded lines parse
# and give the expected shares and full paths (DWARF for the -O2 build); JSON parses with
# python3; text has the status line and percentages; the profile is a snapshot of kind
# 'profile' in the -o file; an idle process gives "no samples" and exit 0; a missing process
# exits 1; a bad -F or --format exits 2. Profiling never stops the fixture.
source "$TEST_LIB"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset LANGUAGE

out="$ST_TMP/out"
err="$ST_TMP/err"
command -v python3 >/dev/null || st_fail "python3 is needed to check the outputs"
command -v sqlite3 >/dev/null || st_fail "sqlite3 is needed to check the session file"

# profile ARGS...: runs `stacktop profile ARGS`; RC, $out, $err.
profile() {
    RC=0
    timeout $(( 60 * ST_SLOW )) "$STACKTOP" profile "$@" >"$out" 2>"$err" </dev/null || RC=$?
    st_check_stderr "$err"
    if grep -q 'not implemented' "$err"; then
        st_fail "'stacktop profile' is not implemented in this binary: $(head -c 500 "$err")"
    fi
}
pfail() { st_soft_fail "$* ; stdout: $(head -c 3000 "$out") ; stderr: $(head -c 2000 "$err")"; }

# perf_event_open must be usable here (root, or perf_event_paranoid <= 1).
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 2)
if [ "$(id -u)" != 0 ] && [ "$paranoid" -gt 1 ]; then
    echo "SKIP $ST_NAME: perf_event_paranoid is $paranoid and not root"
    exit 0
fi

# check_folded FIXTURE: folded output of a 2 s profile at 199 Hz.
check_folded() {
    local fixture=$1
    st_fixture "$fixture"
    local pid=$ST_FX_PID
    profile "$pid" -d 2 -F 199 --format folded --no-record
    [ "$RC" = 0 ] || { pfail "$fixture: folded: exit $RC"; return; }
    local report
    report=$(python3 - "$out" <<'EOF'
import sys
total = 0
shares = {"burn_a": 0, "burn_b": 0, "burn_c": 0}
full_path = 0
bad = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if not line:
        continue
    stack, _, count = line.rpartition(" ")
    if not stack or not count.isdigit():
        bad += 1
        continue
    count = int(count)
    frames = stack.split(";")
    total += count
    for name in shares:
        if name in frames:
            shares[name] += count
    for i in range(len(frames) - 2):
        if frames[i:i + 3] == ["main", "run_workload", "burn_a"]:
            full_path += count
            break
pct = {k: (100.0 * v / total if total else 0.0) for k, v in shares.items()}
print(total, bad, full_path, "%.1f" % pct["burn_a"], "%.1f" % pct["burn_b"], "%.1f" % pct["burn_c"])
EOF
    ) || { pfail "$fixture: folded output does not parse"; return; }
    local total bad full a b c
    read -r total bad full a b c <<<"$report"
    st_log "$fixture: $total samples, burn_a $a%, burn_b $b%, burn_c $c%, full paths $full"
    [ "$bad" = 0 ] || pfail "$fixture: $bad folded lines do not parse"
    [ "$total" -gt 50 ] || pfail "$fixture: only $total samples in 2 s at 199 Hz"
    python3 -c "import sys; sys.exit(0 if abs(float('$a') - 50) <= 15 else 1)" ||
        pfail "$fixture: burn_a has $a% of the samples, expected 50 +- 15"
    [ "$full" -gt 0 ] || pfail "$fixture: no main;run_workload;burn_a path"
    python3 -c "import sys; sys.exit(0 if $full >= 0.5 * $total * float('$a') / 100 else 1)" ||
        pfail "$fixture: only $full of burn_a's samples have the full path main;run_workload;burn_a"
    grep -q '^PID '"$pid"' (' "$err" || pfail "$fixture: no status line on stderr"
    kill -0 "$pid" 2>/dev/null || pfail "$fixture: the fixture died during the profile"
    grep -q "^State:.*[Tt]" "/proc/$pid/status" 2>/dev/null && pfail "$fixture: left stopped"
    kill "$pid" 2>/dev/null
}

check_folded prof_split
check_folded prof_split_nofp

# JSON, text and the snapshot in the session file.
st_fixture prof_split
pid=$ST_FX_PID
db="$ST_TMP/profile.db"
profile "$pid" -d 1 --format json -o "$db"
[ "$RC" = 0 ] || pfail "json: exit $RC"
python3 - "$out" "$pid" <<'EOF' || pfail "json: does not parse or lacks fields"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["pid"] == int(sys.argv[2]), d["pid"]
assert d["samples"] > 0, d["samples"]
assert d["frequency_hz"] == 99
assert d["duration_s"] > 0.5
for key in ("comm", "lost", "throttled"):
    assert key in d, key
tree = d["tree"]
assert tree["total"] > 0 and isinstance(tree["children"], list)
EOF
grep -q "snapshot .* saved to $db" "$err" || pfail "json: no 'saved to' message"
[ "$(sqlite3 "$db" "select count(*) from snapshot where kind = 'profile' and pid = $pid")" = 1 ] ||
    pfail "no snapshot of kind 'profile' in $db"
[ "$(sqlite3 "$db" 'pragma user_version')" = "$(st_schema_version)" ] ||
    pfail "user_version is not $(st_schema_version)"
samples=$(sqlite3 "$db" "select sum(count) from snapshot_stack_count")
[ "${samples:-0}" -gt 0 ] || pfail "the profile snapshot has no counted stacks"
[ "$(sqlite3 "$db" "select samples from snapshot_profile")" = "$samples" ] ||
    pfail "snapshot_profile.samples differs from the stacks' counts ($samples)"
sqlite3 "$db" "select function from profile_hot_functions order by self_samples desc limit 3" |
    grep -q burn_ || pfail "profile_hot_functions does not list the burn_ functions"

profile "$pid" -d 1 --no-record
[ "$RC" = 0 ] || pfail "text: exit $RC"
grep -qE "^PID $pid \\(prof_split\\): [0-9]+ samples in [0-9.]+ s at 99 Hz \\([0-9.]+/s\\), lost [0-9]+, throttled [0-9]+, kernel frames (on|off)$" "$out" ||
    pfail "text: no status line"
grep -qE '[0-9]+\.[0-9]+%.*burn_a' "$out" || pfail "text: no percentage for burn_a"
grep -q 'saved to' "$err" && pfail "--no-record: a snapshot was saved"
kill "$pid" 2>/dev/null

# An idle process: no samples, said clearly, exit 0.
sleep 60 &
idle=$!
ST_FX_PIDS+=("$idle")
profile "$idle" -d 1 --no-record
[ "$RC" = 0 ] || pfail "idle: exit $RC, expected 0"
grep -q "no samples: process $idle did not run on a CPU" "$err" || pfail "idle: no 'no samples' message"
kill "$idle" 2>/dev/null

# A missing process: exit 1 with the reason.
profile 4000000 -d 1 --no-record
[ "$RC" = 1 ] || pfail "missing pid: exit $RC, expected 1"
grep -q "does not exist" "$err" || pfail "missing pid: no 'does not exist'"

# An unprivileged user profiling its own process: allowed, user frames only where
# kernel.perf_event_paranoid forbids kernel frames (> 1), and the status line says which.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    "${as_nobody[@]}" "$FIXTURES/prof_split" >"$ST_TMP/nobody.out" 2>&1 &
    own=$!
    ST_FX_PIDS+=("$own")
    for _ in $(seq 100); do grep -q '^ready' "$ST_TMP/nobody.out" && break; sleep 0.05; done
    nobody_out=$("${as_nobody[@]}" "$STACKTOP" profile "$own" -d 1 --no-record 2>&1)
    nobody_rc=$?
    paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
    if [ "$paranoid" -ge 3 ]; then
        # Debian's "3": no perf_event_open for unprivileged users at all. Say what to set.
        [ "$nobody_rc" = 1 ] || pfail "perf_event_paranoid=3: exit $nobody_rc, expected 1"
        grep -q "perf_event_paranoid" <<<"$nobody_out" ||
            pfail "perf_event_paranoid=3: the message does not name the sysctl: $nobody_out"
    else
        [ "$nobody_rc" = 0 ] ||
            pfail "unprivileged profile of its own process: exit $nobody_rc: $nobody_out"
        if [ "$paranoid" -gt 1 ]; then
            grep -q "kernel frames off" <<<"$nobody_out" ||
                pfail "perf_event_paranoid=$paranoid: unprivileged: expected 'kernel frames off'"
        fi
        grep -q "burn_a" <<<"$nobody_out" || pfail "unprivileged profile: no burn_a"
    fi
    kill "$own" 2>/dev/null
fi

# Usage errors: exit 2.
for args in "1 -F 0" "1 -F 20000" "1 -F abc" "1 --format xml" "1 --group top" "" "1 2"; do
    # shellcheck disable=SC2086
    profile $args
    [ "$RC" = 2 ] || pfail "'profile $args': exit $RC, expected 2"
    [ -s "$err" ] || pfail "'profile $args': no message"
done

st_pass
