#!/usr/bin/env bash
# The console's Flame view: `f` on a process samples it with perf and shows a live icicle flame
# graph (burn_a ~50%, burn_b ~30%, burn_c ~20% under run_workload <- main in the fixture);
# the status line counts samples; `/` highlights frames and shows their share; Enter zooms
# into the selected frame; `l` switches to the call tree (total%, self%) and to the hot
# functions (burn_a first); Esc leaves, which stops sampling and saves a 'profile' snapshot.
source "$TEST_LIB"

paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 3)
if [ "$(id -u)" != 0 ] && [ "$paranoid" -gt 1 ]; then
    echo "SKIP $ST_NAME: perf_event_paranoid is $paranoid and not root"
    exit 0
fi

st_fixture prof_split
fixture=$ST_FX_PID

st_start 160 40 -d 0.5 -p "$fixture"
st_wait_for "Mem[" 30
st_wait_for "$fixture" 10
st_keys f
st_wait_for "Flame of $fixture" 30

has_samples() { grep -qE '[1-9][0-9]* samples in' <<<"$(st_screen)"; }
st_wait_until 60 "no samples counted in the status line" has_samples
st_wait_for "burn_a" 60
st_wait_for "burn_b" 30

# burn_a is drawn in the graph area (below the two title lines, above the footer).
graph_rows() { st_screen | sed -n '3,39p'; }
in_graph() { grep -qF -- "$1" <<<"$(graph_rows)"; }
st_wait_until 30 "burn_a not in the flame area" in_graph burn_a
in_graph run_workload || st_soft_fail "run_workload not in the flame area"
# Row 3 of the screen is the root ("all"), callers above callees.
root_row=$(st_screen | sed -n 3p)
st_contains "all" "$root_row" || st_soft_fail "the graph's first row is not the root: $root_row"
burn_row=$(st_screen | grep -n 'burn_a' | head -n 1 | cut -d: -f1)
workload_row=$(st_screen | grep -n 'run_workload' | head -n 1 | cut -d: -f1)
[ -n "$burn_row" ] && [ -n "$workload_row" ] && [ "$burn_row" -gt "$workload_row" ] ||
    st_soft_fail "burn_a (row $burn_row) is not below run_workload (row $workload_row)"

# Shares are only meaningful over enough samples (99 Hz: about 3 s for 300).
sample_count() { st_screen | sed -nE 's/^([0-9]+) samples in .*/\1/p' | head -n 1; }
enough_samples() { [ "$(sample_count)" -ge 300 ] 2>/dev/null; }
st_wait_until 60 "fewer than 300 samples after 60 s" enough_samples

# Search: burn_b highlighted, its share in the status line.
st_keys /
st_type burn_b
st_wait_for "search burn_b" 10
has_share() { grep -qE 'search burn_b [0-9]+\.[0-9]% of samples' <<<"$(st_screen)"; }
st_wait_until 10 "the share of burn_b is not shown" has_share
share=$(st_screen | sed -nE 's/.*search burn_b ([0-9]+)\.[0-9]% of samples.*/\1/p' | head -n 1)
[ "${share:-0}" -ge 10 ] && [ "${share:-0}" -le 50 ] ||
    st_soft_fail "burn_b's share is $share%, expected about 30%"
# In the graph rows, burn_b's cell has the search_match role (black on yellow by default).
st_screen_e | sed -n '3,39p' | grep -qF $'\e[43mburn_b' || st_soft_fail "burn_b is not highlighted"
st_keys Escape

# Zoom: select burn_a through the search, Enter zooms: the root row shows burn_a.
st_keys /
st_type burn_a
st_keys Enter
st_wait_for "selected burn_a" 10
st_keys Enter
zoomed() { st_contains "burn_a" "$(st_screen | sed -n 3p)"; }
st_wait_until 10 "Enter did not zoom into burn_a (root row)" zoomed
st_contains "burn_b" "$(graph_rows)" && st_soft_fail "burn_b still drawn after zooming into burn_a"
# Backspace zooms out one level (to the caller), Home to all samples.
st_keys BSpace
one_up() { st_contains "run_workload" "$(st_screen | sed -n 3p)"; }
st_wait_until 10 "Backspace did not zoom out to run_workload" one_up
st_keys Home
unzoomed() { st_contains "all" "$(st_screen | sed -n 3p)"; }
st_wait_until 10 "Home did not zoom out to all samples" unzoomed

# Layouts: call tree, then hot functions.
st_keys l
st_wait_for "call tree" 10
st_wait_for "total%" 10
st_contains "self%" "$(st_screen)" || st_soft_fail "call tree lacks self%"
st_wait_for "run_workload" 10
st_keys l
st_wait_for "hot functions" 10
first_hot() { st_screen | awk '/self% +total% +function/ { getline; print; exit }'; }
hot_first_is_a() { st_contains "burn_a" "$(first_hot)"; }
st_wait_until 30 "burn_a is not the first hot function" hot_first_is_a
st_keys l
st_wait_for "flame graph" 10

# Help lists the Flame view's keys.
st_keys F1
st_wait_for "stacktop help: keys" 10
for ((i = 0; i < 120; i++)); do
    st_contains "layout: flame graph" "$(st_screen)" && break
    st_keys Down
    sleep 0.1
done
st_wait_for "Flame view" 10
st_contains "layout: flame graph" "$(st_screen)" || st_soft_fail "help lacks the l key"
st_keys Escape
st_wait_for "PID USER" 10

# f again, Esc leaves (saving a second snapshot); q quits.
st_keys f
st_wait_for "Flame of $fixture" 30
st_wait_until 60 "no samples in the second run" has_samples
st_keys Escape
st_wait_for "PID USER" 10
st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_soft_fail "exit status $ST_RC"
db=$(ls -t "$XDG_STATE_HOME"/stacktop/*.db | head -n 1)
profiles=$(sqlite3 "$db" "select count(*) from snapshot where kind = 'profile'")
[ "${profiles:-0}" -ge 2 ] || st_soft_fail "expected 2 profile snapshots in $db, found '$profiles'"
for status in /proc/"$fixture"/task/*/status; do
    grep -qE '^State:[[:space:]]*[TtZ]' "$status" && st_soft_fail "$status: left stopped"
done
st_pass
