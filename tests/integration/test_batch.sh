#!/usr/bin/env bash
# --batch: summary + table per iteration, -n, -d, --sort, -p, sanitized commands, exit codes
# and the session file (default place, --no-record, -o FILE with mode 0600).
source "$TEST_LIB"
# A known locale (CI may have none): UTF-8 here, the C locale where tested explicitly.
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset LANGUAGE

out="$ST_TMP/out"
err="$ST_TMP/err"
batch() {
    BATCH_RC=0
    "$STACKTOP" --batch "$@" >"$out" 2>"$err" </dev/null || BATCH_RC=$?
    st_check_stderr "$err"
}
bfail() { st_fail "$* ; stdout: $(head -c 3000 "$out") ; stderr: $(head -c 2000 "$err")"; }
title_re='^ *PID +USER +PRI +NI +VIRT +RSS +S +CPU% +MEM% +TIME\+ +THR +COMMAND$'

# ---- two tables ----
start=$(date +%s.%N)
batch -n 2 -d 0.2
end=$(date +%s.%N)
[ "$BATCH_RC" = 0 ] || bfail "-n 2 -d 0.2: exit status $BATCH_RC"
[ "$(grep -c '^stacktop - ' "$out")" = 2 ] || bfail "-n 2: expected 2 summaries"
[ "$(grep -cE "$title_re" "$out")" = 2 ] || bfail "-n 2: expected 2 column title lines"
grep -qE '^stacktop - [0-9]{2}:[0-9]{2}:[0-9]{2} up .*, load average: [0-9.]+, [0-9.]+, [0-9.]+$' "$out" ||
    bfail "summary line is not 'stacktop - HH:MM:SS up ..., load average: a, b, c'"
for prefix in "Tasks: " "CPU: " "Mem: " "Swap: "; do
    [ "$(grep -c "^$prefix" "$out")" = 2 ] || bfail "expected a '$prefix' line per table"
done
# Tables are separated by a blank line: the second summary follows an empty line.
awk '/^stacktop - /{ n++; if (n == 2 && prev != "") exit 1 } { prev = $0 }' "$out" ||
    bfail "no blank line before the second table"
# Rows: our own shell is listed with its full command line.
grep -qE "^ *$$ .*bash" "$out" || bfail "the test's shell ($$) is not in the table"
rows=$(awk -v re="$title_re" '$0 ~ re { t++; next } t == 1 && /^ *[0-9]+ / { n++ } END { print n+0 }' "$out")
[ "$rows" -ge 5 ] || bfail "only $rows process rows in the first table"
# First table after one delay, not at once; two tables take about two delays.
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
awk -v e="$elapsed" 'BEGIN { exit !(e >= 0.4) }' || bfail "-n 2 -d 0.2 took ${elapsed}s, expected >= 0.4s"

# ---- -n 1 is the default ----
batch -d 0.1 --no-record
[ "$BATCH_RC" = 0 ] || bfail "default -n: exit status $BATCH_RC"
[ "$(grep -c '^stacktop - ' "$out")" = 1 ] || bfail "without -n, expected exactly one table"

# ---- --sort mem: memhog first ----
biggest=$(ps -eo rss= | sort -n | tail -n 1)
megabytes=$(( biggest / 1024 + 150 ))
[ "$megabytes" -lt 200 ] && megabytes=200
st_fixture memhog "$megabytes"
hog=$ST_FX_PID
batch -n 1 -d 0.2 --sort mem --no-record
[ "$BATCH_RC" = 0 ] || bfail "--sort mem: exit status $BATCH_RC"
first=$(awk -v re="$title_re" 'found { print; exit } $0 ~ re { found = 1 }' "$out")
[ "$(awk '{print $1}' <<<"$first")" = "$hog" ] || bfail "--sort mem: first row is not memhog ($hog): $first"
st_contains memhog "$first" || bfail "--sort mem: first row does not say memhog: $first"
# Ascending puts it last.
batch -n 1 -d 0.2 --sort +mem --no-record
last=$(grep -E '^ *[0-9]+ ' "$out" | tail -n 1)
[ "$(awk '{print $1}' <<<"$last")" = "$hog" ] || bfail "--sort +mem: last row is not memhog: $last"

# ---- -p PID: only that row ----
name=$(st_unique_name bt)
st_fixture named_sleeper "$name" 2
sleeper=$ST_FX_PID
batch -n 1 -d 0.1 -p "$sleeper" --no-record
[ "$BATCH_RC" = 0 ] || bfail "-p $sleeper: exit status $BATCH_RC"
rows=$(grep -cE '^ *[0-9]+ ' "$out")
[ "$rows" = 1 ] || bfail "-p $sleeper: expected 1 row, got $rows"
row=$(grep -E '^ *[0-9]+ ' "$out")
[ "$(awk '{print $1}' <<<"$row")" = "$sleeper" ] || bfail "-p $sleeper: the row is another process: $row"
grep -qE " 3 +$FIXTURES/named_sleeper $name 2$" <<<"$row" ||
    bfail "-p $sleeper: row does not show THR 3 and the full command: $row"
batch -n 1 -d 0.1 -p "$sleeper,$hog" --no-record
[ "$(grep -cE '^ *[0-9]+ ' "$out")" = 2 ] || bfail "-p $sleeper,$hog: expected 2 rows"
# --threads adds a row per thread (first column: the TID).
batch -n 1 -d 0.1 -p "$sleeper" --threads --no-record
for tid in $(ls "/proc/$sleeper/task"); do
    [ "$tid" = "$sleeper" ] && continue
    grep -qE "^ *$tid " "$out" || bfail "--threads: no row for thread $tid"
done

# ---- hostile names are sanitized ----
st_fixture hostile_name
hostile=$ST_FX_PID
batch -n 1 -d 0.1 -p "$hostile" --no-record
[ "$BATCH_RC" = 0 ] || bfail "-p hostile: exit status $BATCH_RC"
[ "$(LC_ALL=C grep -c $'\x1b' "$out")" = 0 ] || bfail "an ESC byte reached the batch output"
[ "$(LC_ALL=C grep -c $'\x9b' "$out")" = 0 ] || bfail "a 0x9b (C1 CSI) byte reached the batch output"
[ "$(LC_ALL=C grep -c $'\x07' "$out")" = 0 ] || bfail "a BEL byte reached the batch output"
[ "$(LC_ALL=C grep -c $'\r' "$out")" = 0 ] || bfail "a CR byte reached the batch output"
[ "$(LC_ALL=C grep -c $'\xe2\x80\xae' "$out")" = 0 ] || bfail "a right-to-left override reached the batch output"
row=$(grep -E "^ *$hostile " "$out")
[ -n "$row" ] || bfail "no row for the hostile process $hostile"
st_contains 'PWNED' "$row" || bfail "hostile row lost its text: $row"
grep -qE '\\e\]0;PWNED|\\x1[bB]\]0;PWNED' <<<"$row" || bfail "ESC is not shown as \\e or \\x1b: $row"
grep -qiE '\\x9b|\\u\{?009b' <<<"$row" || bfail "the C1 CSI is not shown escaped: $row"
grep -qiE '\\u\{?202e' <<<"$row" || bfail "the RLO is not shown as \\u{202E}: $row"
grep -qiE '\\xff' <<<"$row" || bfail "invalid UTF-8 (0xff) is not shown as \\xff: $row"
# One line per process: the newline inside the command line did not split the row.
[ "$(grep -c 'line2' "$out")" = 1 ] || bfail "the hostile command line broke the table"
grep -qE "^ *$hostile .*line2$" "$out" || bfail "the hostile row does not end with its last argument"
# In the C locale the output is pure ASCII: every byte >= 0x80 is spelled \xNN.
LC_ALL=C LANG=C "$STACKTOP" --batch -n 1 -d 0.1 --no-record >"$out" 2>"$err" ||
    bfail "C locale batch failed"
LC_ALL=C grep -q $'[\x80-\xff]' "$out" && bfail "bytes >= 0x80 in C-locale batch output"
LC_ALL=C LANG=C "$STACKTOP" --batch -n 1 -d 0.1 -p "$hostile" --no-record >"$out" 2>"$err" ||
    bfail "C locale batch -p hostile failed"
LC_ALL=C grep -q $'[\x80-\xff\x01-\x09\x0b-\x1f\x7f]' "$out" &&
    bfail "control or non-ASCII bytes in C-locale batch output"
grep -qiF '\xe2\x80\xae' "$out" || bfail "C locale: the RLO is not spelled \\xe2\\x80\\xae: $(grep -E "^ *$hostile " "$out")"

# ---- exit codes ----
batch --no-such-option
[ "$BATCH_RC" = 2 ] || bfail "bad option: exit status $BATCH_RC, expected 2"
grep -q "stacktop:" "$err" || bfail "bad option: no message on stderr"
batch -n abc
[ "$BATCH_RC" = 2 ] || bfail "-n abc: exit status $BATCH_RC, expected 2"
batch -d 0 -n 1
[ "$BATCH_RC" = 2 ] || bfail "-d 0: exit status $BATCH_RC, expected 2"
batch --sort nosuchcolumn
[ "$BATCH_RC" = 2 ] || bfail "--sort nosuchcolumn: exit status $BATCH_RC, expected 2"
batch -p 0
[ "$BATCH_RC" = 2 ] || bfail "-p 0: exit status $BATCH_RC, expected 2"
batch -n 1 -d 0.1 -p 999999999 --no-record
case "$BATCH_RC" in
    1 | 2) ;;
    *) bfail "-p 999999999: exit status $BATCH_RC, expected 1 or 2" ;;
esac
grep -q "999999999" "$err" || bfail "-p 999999999: the message does not name the pid"
batch -o "$ST_TMP/x.db" --no-record
[ "$BATCH_RC" = 2 ] || bfail "-o with --no-record: exit status $BATCH_RC, expected 2"
"$STACKTOP" --help >"$out" 2>"$err" || bfail "--help failed"
grep -q -- "--batch" "$out" || bfail "--help does not mention --batch"

# ---- session files ----
rm -rf "$XDG_STATE_HOME/stacktop"
batch -n 1 -d 0.1
[ "$BATCH_RC" = 0 ] || bfail "recording batch: exit status $BATCH_RC"
dbs=$(ls "$XDG_STATE_HOME"/stacktop/*.db 2>/dev/null | wc -l)
[ "$dbs" = 1 ] || bfail "expected 1 session file under $XDG_STATE_HOME/stacktop, found $dbs"
db=$(ls "$XDG_STATE_HOME"/stacktop/*.db)
grep -qF "stacktop: session saved to $db" "$err" || bfail "stderr does not name the session file $db"
[ ! -e "$db-wal" ] || bfail "WAL file left behind"
[ "$(stat -c %a "$db")" = 600 ] || bfail "session file mode $(stat -c %a "$db"), expected 600"
if command -v sqlite3 >/dev/null; then
    [ "$(sqlite3 "$db" 'pragma user_version')" = "$(st_schema_version)" ] || bfail "user_version is not $(st_schema_version)"
fi

rm -rf "$XDG_STATE_HOME/stacktop"
batch -n 1 -d 0.1 --no-record
[ "$BATCH_RC" = 0 ] || bfail "--no-record: exit status $BATCH_RC"
[ -z "$(find "$XDG_STATE_HOME" -name '*.db' 2>/dev/null)" ] || bfail "--no-record wrote a session file"
grep -q "session saved" "$err" && bfail "--no-record claims a session was saved"

rm -rf "$XDG_STATE_HOME/stacktop"
(umask 022 && "$STACKTOP" --batch -n 1 -d 0.1 -o "$ST_TMP/chosen.db" >"$out" 2>"$err") ||
    bfail "-o FILE: non-zero exit"
st_check_stderr "$err"
[ -f "$ST_TMP/chosen.db" ] || bfail "-o FILE did not write $ST_TMP/chosen.db"
[ "$(stat -c %a "$ST_TMP/chosen.db")" = 600 ] || bfail "-o FILE: mode $(stat -c %a "$ST_TMP/chosen.db"), expected 600 (umask 022)"
[ -z "$(find "$XDG_STATE_HOME" -name '*.db' 2>/dev/null)" ] || bfail "-o FILE also wrote a file under XDG_STATE_HOME"
[ ! -e "$ST_TMP/chosen.db-wal" ] || bfail "-o FILE: WAL file left behind"
# -o through a symlink is refused (O_NOFOLLOW), and the link target is untouched.
ln -s "$ST_TMP/target.db" "$ST_TMP/link.db"
batch -n 1 -d 0.1 -o "$ST_TMP/link.db"
[ ! -e "$ST_TMP/target.db" ] || bfail "-o followed a symlink and wrote its target"

# ---- SIGTERM during an endless run ends it cleanly ----
"$STACKTOP" --batch -n 0 -d 0.2 -o "$ST_TMP/endless.db" >"$out" 2>"$err" &
bpid=$!
ST_FX_PIDS+=("$bpid")
two_tables() { [ "$(grep -c '^stacktop - ' "$out")" -ge 2 ]; }
st_wait_until 20 "-n 0 did not print tables continuously" two_tables
kill -TERM "$bpid"
wait "$bpid"
brc=$?
[ "$brc" = 0 ] || bfail "-n 0 stopped by SIGTERM: exit status $brc"
grep -q "session saved" "$err" || bfail "-n 0 stopped by SIGTERM: session not reported saved"
[ ! -e "$ST_TMP/endless.db-wal" ] || bfail "-n 0 stopped by SIGTERM: WAL left behind"
st_check_stderr "$err"
st_pass
