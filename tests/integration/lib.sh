# shellcheck shell=bash
# Helpers for the integration tests: drive the real stacktop binary in a private tmux server
# (console tests) or run it directly (--batch tests).
#
# Environment (set by tests/CMakeLists.txt): STACKTOP, FIXTURES, SOURCE_DIR, TEST_LIB.
#
# Every test sources this file first. It gets:
#   ST_TMP            a private temporary directory (removed on exit)
#   XDG_STATE_HOME    $ST_TMP/state, so no session file lands in $HOME
#   st_tmux ARGS...   tmux on the test's private socket
#   st_start W H [STACKTOP ARGS...]
#                     runs stacktop in a W x H tmux pane through a wrapper that records the
#                     terminal state before and after ($ST_TMP/stty.before/.after), stacktop's
#                     stderr ($ST_TMP/stderr), its pid ($ST_TMP/stacktop.pid, ST_PID) and its
#                     exit status ($ST_TMP/rc), then prints "STACKTOP-EXITED rc=N" and keeps the
#                     pane open. Pane environment: ST_TERM (default tmux-256color), ST_LANG
#                     (default C.UTF-8), ST_ENV (array of extra VAR=VALUE), ST_PRE (shell code
#                     run in the pane right before stacktop).
#   st_screen         the pane as plain text; st_screen_e with SGR escapes
#   st_wait_for TEXT [SECONDS]      wait until TEXT (fixed string) is on screen, else fail
#   st_try_wait TEXT [SECONDS]      the same, but returns 1 instead of failing
#   st_wait_gone TEXT [SECONDS]     wait until TEXT is no longer on screen, else fail
#   st_keys KEYS...   tmux send-keys (key names: Enter Escape F3 Up ...); st_type TEXT: literal
#   st_wait_exit [SECONDS]          wait for stacktop to exit; sets ST_RC
#   st_alive          stacktop still running?
#   st_fixture PROGRAM ARGS...      start a fixture, wait for its "ready PID" line; ST_FX_PID
#   st_fail MESSAGE   print MESSAGE, the last screen and stacktop's stderr; exit 1
#   st_check_stderr   fail when stacktop's stderr has a sanitizer report
#   st_soft_fail MESSAGE            record a failure but go on (the test fails at st_pass), so
#                     that one wrong detail does not hide the checks after it
#   st_pass [MESSAGE] final checks and exit 0 (1 if st_soft_fail was called)
set -u
set -o pipefail

ST_NAME=$(basename "${0%.sh}")
: "${STACKTOP:?STACKTOP must point to the stacktop binary}"
: "${FIXTURES:?FIXTURES must point to the fixtures directory}"
[ -x "$STACKTOP" ] || { echo "FAIL $ST_NAME: $STACKTOP is not an executable" >&2; exit 1; }

# Sanitizer runs: slow, so every wait is scaled; keep reports on stderr (which we inspect).
ST_SLOW=1
if nm -D "$STACKTOP" 2>/dev/null | grep -q __asan_init || strings "$STACKTOP" 2>/dev/null |
    grep -q 'AddressSanitizer' ; then
    ST_SLOW=3
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

ST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/st-${ST_NAME#test_}.XXXXXX")
export XDG_STATE_HOME="$ST_TMP/state"
export XDG_CONFIG_HOME="$ST_TMP/config" # no user themes from the real $HOME
mkdir -p "$XDG_STATE_HOME" "$XDG_CONFIG_HOME"
unset TMUX TMUX_PANE STACKTOP_THEME_DIR NO_COLOR
ST_SOCKET="stacktop-$$-${ST_NAME}"
ST_SESSION=st
ST_PID=
ST_RC=
ST_FX_PIDS=()
ST_LAST_SCREEN=
ST_TERM=${ST_TERM:-tmux-256color}
ST_LANG=${ST_LANG:-C.UTF-8}
ST_ENV=()
ST_PRE=
ST_RUNS=0

st_log() { printf '[%s] %s\n' "$ST_NAME" "$*" >&2; }

st_tmux() { tmux -L "$ST_SOCKET" "$@"; }

st_cleanup() {
    local pid
    st_tmux kill-server >/dev/null 2>&1 || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$ST_SOCKET"
    for pid in "${ST_FX_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    if [ -n "$ST_PID" ] && kill -0 "$ST_PID" 2>/dev/null; then
        kill -TERM "$ST_PID" 2>/dev/null || true
    fi
    if [ "${ST_KEEP_TMP:-}" = "" ]; then
        rm -rf "$ST_TMP"
    else
        st_log "kept $ST_TMP"
    fi
}
trap st_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Seconds scaled for the sanitizer build.
st_scale() { echo $(( $1 * ST_SLOW )); }

st_server_up() { st_tmux has-session -t "$ST_SESSION" 2>/dev/null; }

st_screen() {
    local text
    if text=$(st_tmux capture-pane -p -t "$ST_SESSION" 2>/dev/null); then
        ST_LAST_SCREEN=$text
    fi
    printf '%s\n' "$ST_LAST_SCREEN"
}

st_screen_e() { st_tmux capture-pane -p -e -t "$ST_SESSION" 2>/dev/null; }

st_fail() {
    {
        echo "FAIL $ST_NAME: $*"
        if st_server_up; then
            st_screen >/dev/null
        fi
        if [ -n "$ST_LAST_SCREEN" ]; then
            echo "---- last screen ----"
            printf '%s\n' "$ST_LAST_SCREEN"
            echo "---------------------"
        fi
        if [ -s "$ST_TMP/stderr" ]; then
            echo "---- stacktop stderr ----"
            head -c 8000 "$ST_TMP/stderr"
            echo "-------------------------"
        fi
    } >&2
    exit 1
}

st_contains() { grep -qF -- "$1" <<<"$2"; }

st_try_wait() {
    local text=$1 seconds=${2:-20}
    local deadline=$(( $(date +%s) + seconds * ST_SLOW ))
    while :; do
        if st_contains "$text" "$(st_screen)"; then
            return 0
        fi
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.15
    done
}

st_wait_for() {
    st_try_wait "$1" "${2:-20}" || st_fail "timed out after ${2:-20}s (x$ST_SLOW) waiting for '$1' on screen"
}

st_wait_gone() {
    local text=$1 seconds=${2:-20}
    local deadline=$(( $(date +%s) + seconds * ST_SLOW ))
    while st_contains "$text" "$(st_screen)"; do
        [ "$(date +%s)" -ge "$deadline" ] &&
            st_fail "timed out after ${seconds}s (x$ST_SLOW) waiting for '$text' to disappear"
        sleep 0.15
    done
}

# Waits until a condition command (a function name and arguments) succeeds.
st_wait_until() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$(( $(date +%s) + seconds * ST_SLOW ))
    until "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && st_fail "timed out after ${seconds}s (x$ST_SLOW): $what"
        sleep 0.15
    done
}

st_keys() { st_tmux send-keys -t "$ST_SESSION" "$@"; }
st_type() { st_tmux send-keys -t "$ST_SESSION" -l -- "$1"; }

# st_start W H [stacktop arguments...]
st_start() {
    local width=$1 height=$2
    shift 2
    ST_RUNS=$((ST_RUNS + 1))
    command -v tmux >/dev/null || st_fail "tmux is not installed (the console tests need it)"
    st_tmux kill-server >/dev/null 2>&1 || true
    rm -f "$ST_TMP/stacktop.pid" "$ST_TMP/rc" "$ST_TMP/stderr" "$ST_TMP/stty.before" \
        "$ST_TMP/stty.after"
    ST_PID=
    ST_RC=
    local script="$ST_TMP/run.sh" quoted="" arg
    for arg in "$STACKTOP" "$@"; do
        quoted+=" $(printf '%q' "$arg")"
    done
    {
        echo '#!/bin/bash'
        echo "cd $(printf '%q' "$ST_TMP")"
        echo "unset LANGUAGE LC_ALL LC_CTYPE NO_COLOR STACKTOP_THEME_DIR TMUX TMUX_PANE"
        echo "export TERM=$(printf '%q' "$ST_TERM") LANG=$(printf '%q' "$ST_LANG")"
        echo "export LC_ALL=$(printf '%q' "$ST_LANG")"
        echo "export XDG_STATE_HOME=$(printf '%q' "$XDG_STATE_HOME")"
        echo "export XDG_CONFIG_HOME=$(printf '%q' "$XDG_CONFIG_HOME")"
        echo "export ASAN_OPTIONS=$(printf '%q' "$ASAN_OPTIONS")"
        echo "export UBSAN_OPTIONS=$(printf '%q' "$UBSAN_OPTIONS")"
        for arg in "${ST_ENV[@]}"; do
            echo "export $(printf '%q' "$arg")"
        done
        echo 'stty -a > stty.before 2>&1'
        echo "$ST_PRE"
        echo "bash -c 'echo \$\$ > stacktop.pid; exec \"\$@\"' stacktop $quoted 2> stderr"
        echo 'rc=$?'
        echo 'stty -a > stty.after 2>&1'
        echo 'echo $rc > rc'
        echo 'echo "STACKTOP-EXITED rc=$rc"'
        echo 'exec sleep 3600'
    } >"$script"
    chmod +x "$script"
    # -u: the server treats the panes as UTF-8 whatever the test's locale. Options are set
    # after the session exists (tmux 3.3a crashes when a config file sets window-size or
    # default-terminal before the first session).
    LANG=C.UTF-8 LC_ALL=C.UTF-8 st_tmux -u -f /dev/null new-session -d \
        -s "$ST_SESSION" -x "$width" -y "$height" "$script" \; \
        set -g status off \; set -g window-size manual \; set -g remain-on-exit on \; \
        set -g history-limit 200 \; set -g escape-time 0 \; \
        resize-window -t "$ST_SESSION" -x "$width" -y "$height" ||
        st_fail "cannot start tmux"
    local size
    size=$(st_tmux display -p -t "$ST_SESSION" '#{pane_width}x#{pane_height}')
    [ "$size" = "${width}x${height}" ] || st_fail "tmux pane is $size, wanted ${width}x${height}"
    local deadline=$(( $(date +%s) + 10 * ST_SLOW ))
    while [ ! -s "$ST_TMP/stacktop.pid" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && st_fail "stacktop did not start (no pid file)"
        sleep 0.05
    done
    ST_PID=$(cat "$ST_TMP/stacktop.pid")
}

st_alive() {
    [ -n "$ST_PID" ] && [ ! -e "$ST_TMP/rc" ] && kill -0 "$ST_PID" 2>/dev/null
}

st_exited() { [ -s "$ST_TMP/rc" ]; }

# st_wait_exit [SECONDS]: waits for stacktop to end; ST_RC = its exit status.
st_wait_exit() {
    local seconds=${1:-20}
    st_wait_until "$seconds" "stacktop did not exit" st_exited
    ST_RC=$(cat "$ST_TMP/rc")
}

# Fails when stacktop's stderr carries a sanitizer report or a crash.
st_check_stderr() {
    local file=${1:-$ST_TMP/stderr}
    [ -f "$file" ] || return 0
    if grep -qE 'ERROR: (Address|Leak|Undefined|Memory|Thread)Sanitizer|runtime error:|SUMMARY: ' \
        "$file"; then
        st_fail "sanitizer report in stacktop's stderr ($file)"
    fi
}

# st_fixture PROGRAM ARGS...: starts $FIXTURES/PROGRAM, waits for "ready PID"; sets ST_FX_PID.
st_fixture() {
    local program=$1
    shift
    local out="$ST_TMP/fixture.${#ST_FX_PIDS[@]}.out"
    [ -x "$FIXTURES/$program" ] || st_fail "fixture $FIXTURES/$program is missing (not built?)"
    "$FIXTURES/$program" "$@" >"$out" 2>&1 &
    ST_FX_PID=$!
    ST_FX_PIDS+=("$ST_FX_PID")
    local deadline=$(( $(date +%s) + 20 ))
    until grep -q '^ready ' "$out" 2>/dev/null; do
        kill -0 "$ST_FX_PID" 2>/dev/null || st_fail "fixture $program exited early: $(cat "$out")"
        [ "$(date +%s)" -ge "$deadline" ] && st_fail "fixture $program did not become ready"
        sleep 0.05
    done
    local announced
    announced=$(awk '/^ready /{print $2; exit}' "$out")
    [ "$announced" = "$ST_FX_PID" ] ||
        st_fail "fixture $program announced pid $announced, expected $ST_FX_PID"
}

# A name unique to this test run, at most 11 characters (comm holds 15; threads add "-wN").
st_unique_name() {
    local prefix=${1:-stx}
    printf '%s%05d' "$prefix" $(( ($$ + RANDOM) % 100000 ))
}

# Process table rows on the screen: lines between the column title row and the footer.
st_table_rows() {
    awk '
        /PID +USER +PRI/ { in_table = 1; next }
        in_table { lines[++n] = $0 }
        END { for (i = 1; i < n; i++) if (lines[i] ~ /[^ ]/) print lines[i] }
    ' <<<"$(st_screen)"
}

# First process row.
st_first_row() { st_table_rows | head -n 1; }

# Line of the screen whose first word is PID (a process row).
st_row_of() {
    local pid=$1
    st_table_rows | awk -v pid="$pid" '$1 == pid { print; exit }'
}

ST_SOFT_FAILURES=()
st_soft_fail() {
    ST_SOFT_FAILURES+=("$*")
    {
        echo "FAIL (continuing) $ST_NAME: $*"
        echo "---- screen ----"
        st_screen
        echo "----------------"
    } >&2
}

st_pass() {
    st_check_stderr
    if [ "${#ST_SOFT_FAILURES[@]}" -gt 0 ]; then
        local failure
        for failure in "${ST_SOFT_FAILURES[@]}"; do
            echo "FAIL $ST_NAME: $failure" >&2
        done
        exit 1
    fi
    echo "PASS $ST_NAME${1:+: $1}"
    exit 0
}

# The schema version this build writes (PRAGMA user_version of a fresh session file).
st_schema_version() { sed -n 's/^#define STORE_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$SOURCE_DIR/store/store.h"; }
