#!/usr/bin/env bash
# The console's header (CPU bars, Mem, Swp, tasks, load), the footer's "rec PATH" under
# $XDG_STATE_HOME/stacktop/, and a clean session file after q (user_version = the schema version, no WAL left).
source "$TEST_LIB"

st_start 200 40 -d 0.5
st_wait_for "Mem[" 30
screen=$(st_screen)

cpus=$(nproc)
if [ "$cpus" -gt 1 ]; then
    # Per-CPU bars "0[" "1[" ... (labels may be right-aligned: " 0[").
    for ((i = 0; i < cpus && i < 4; i++)); do
        grep -qE "(^| )$i\[" <<<"$screen" || st_fail "no per-CPU bar '${i}[' in the header"
    done
else
    st_contains "CPU[" "$screen" || st_fail "no 'CPU[' bar in the header"
fi
for text in "Mem[" "Swp[" "Tasks:" "Load average:" "Uptime:" "thr" "running"; do
    st_contains "$text" "$screen" || st_fail "header lacks '$text'"
done
grep -qE 'Tasks: [0-9]+, [0-9]+ thr, [0-9]+ kthr; [0-9]+ running' <<<"$screen" ||
    st_fail "the Tasks line is not 'Tasks: N, N thr, N kthr; N running'"
grep -qE 'Load average: [0-9]+\.[0-9]+ [0-9]+\.[0-9]+ [0-9]+\.[0-9]+' <<<"$screen" ||
    st_fail "the load line is not 'Load average: a b c'"
# Column titles in order.
grep -qE 'PID +USER +PRI +NI +VIRT +RSS +S +CPU% +MEM% +TIME\+ +THR +COMMAND' <<<"$screen" ||
    st_fail "column title row missing or out of order"
# The header is above the table.
header_line=$(grep -n 'Mem\[' <<<"$screen" | head -1 | cut -d: -f1)
title_line=$(grep -n 'PID *USER' <<<"$screen" | head -1 | cut -d: -f1)
[ "$header_line" -lt "$title_line" ] || st_fail "Mem[ is not above the column titles"
# Footer: key hints and the session path.
footer=$(tail -n 1 <<<"$screen")
for hint in F1 Help F3 Search F4 Filter F5 Tree F6 Sort Quit; do
    st_contains "$hint" "$footer" || st_fail "footer lacks the hint '$hint': $footer"
done
st_contains "rec " "$footer" || st_fail "footer does not say 'rec PATH': $footer"
# The path may be shortened from the left, but it ends with the file name.
shown=$(sed -n 's/.*rec \(.*\.db\).*/\1/p' <<<"$footer")
[ -n "$shown" ] || st_fail "no .db path in the footer: $footer"
case "$shown" in
    "$XDG_STATE_HOME/stacktop/"*) ;;
    *) st_fail "session path '$shown' is not under \$XDG_STATE_HOME/stacktop/ ($XDG_STATE_HOME)" ;;
esac
# Process rows exist; the test's own shell is among them.
rows=$(st_table_rows | wc -l)
[ "$rows" -ge 5 ] || st_fail "only $rows process rows on a 40-line screen"

st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status after q is $ST_RC, expected 0"
path=$(sed -n 's/^stacktop: session saved to //p' "$ST_TMP/stderr")
[ -n "$path" ] || st_fail "stderr does not say 'stacktop: session saved to PATH'"
[ "$path" = "$shown" ] || st_fail "footer showed '$shown', stderr says '$path'"
[ -f "$path" ] || st_fail "session file $path does not exist"
dbs=$(ls "$XDG_STATE_HOME"/stacktop/*.db 2>/dev/null | wc -l)
[ "$dbs" = 1 ] || st_fail "expected one .db under $XDG_STATE_HOME/stacktop, found $dbs"
mode=$(stat -c %a "$path")
[ "$mode" = 600 ] || st_fail "session file mode is $mode, expected 600"
[ ! -e "$path-wal" ] || st_fail "a WAL file was left behind: $path-wal"
[ ! -e "$path-shm" ] || st_fail "a shared-memory file was left behind: $path-shm"
if command -v sqlite3 >/dev/null; then
    version=$(sqlite3 "$path" 'pragma user_version') || st_fail "sqlite3 cannot read $path"
    [ "$version" = "$(st_schema_version)" ] || st_fail "user_version is '$version', expected $(st_schema_version)"
    mode=$(sqlite3 "$path" 'pragma journal_mode')
    [ "$mode" = delete ] || st_fail "journal_mode is '$mode' after a clean close, expected delete"
    check=$(sqlite3 "$path" 'pragma quick_check')
    [ "$check" = ok ] || st_fail "quick_check: $check"
    [ ! -e "$path-wal" ] || st_fail "WAL file appeared after reading"
else
    st_log "sqlite3 not installed: schema version not checked"
fi
st_pass
