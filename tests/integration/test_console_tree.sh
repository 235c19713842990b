#!/usr/bin/env bash
# Tree view: t (or F5) draws the children of a process under it with ├─ └─ (UTF-8) or |- `-
# (any other locale, where no byte >= 0x80 may reach the terminal); t again goes back to the
# flat list.
source "$TEST_LIB"

name=$(st_unique_name tr)
st_fixture named_sleeper "$name" 0 --children 2
parent=$ST_FX_PID
children_of_parent() { [ "$(pgrep -P "$parent" | wc -l)" = 2 ]; }
st_wait_until 10 "the fixture's two children did not appear" children_of_parent
read -r child1 child2 <<<"$(pgrep -P "$parent" | sort -n | tr '\n' ' ')"

# Display column where the command text of PID's row starts (the text after the tree lines).
command_column() {
    local LC_ALL=C.UTF-8 line before
    line=$(st_row_of "$1")
    [ -n "$line" ] || { echo -1; return; }
    before=${line%%named_sleeper*}
    [ "$before" = "$line" ] && { echo -1; return; }
    echo "${#before}"
}
rows_present() { [ -n "$(st_row_of "$parent")" ] && [ -n "$(st_row_of "$child1")" ] &&
    [ -n "$(st_row_of "$child2")" ]; }
children_indented() {
    local p c1 c2
    p=$(command_column "$parent")
    c1=$(command_column "$child1")
    c2=$(command_column "$child2")
    [ "$p" -ge 0 ] && [ "$c1" -gt "$p" ] && [ "$c2" -gt "$p" ]
}
flat() {
    local p c1
    p=$(command_column "$parent")
    c1=$(command_column "$child1")
    [ "$p" -ge 0 ] && [ "$c1" = "$p" ]
}

# ---- UTF-8: filter on the name, then tree view (ancestors are kept above the parent) ----
st_start 160 40 -d 0.5
st_wait_for "Mem[" 30
st_keys '\'
st_wait_for "Filter: _" 10
st_type "$name"
st_keys Enter
st_wait_gone "Filter:" 10
st_wait_until 10 "fixture rows ($parent, $child1, $child2) not shown by the filter" rows_present
flat || st_fail "rows are indented before tree view is on"
st_keys t
st_wait_until 10 "t: children not indented under their parent" children_indented
row1=$(st_row_of "$child1")
row2=$(st_row_of "$child2")
grep -qE '├─|└─' <<<"$row1$row2" || st_fail "no ├─/└─ on the children's rows: $row1 / $row2"
# Exactly one of the two children is the last sibling.
both="$row1"$'\n'"$row2"
[ "$(grep -c '└─' <<<"$both")" = 1 ] || st_fail "expected one └─ (last child) among: $both"
[ "$(grep -c '├─' <<<"$both")" = 1 ] || st_fail "expected one ├─ among: $both"
# The parent row comes before its children.
screen=$(st_screen)
line_parent=$(awk -v p="$parent" '$1 == p { print NR; exit }' <<<"$screen")
line_child=$(awk -v p="$child1" '$1 == p { print NR; exit }' <<<"$screen")
[ "$line_parent" -lt "$line_child" ] || st_fail "child row above its parent in tree view"
st_keys t
st_wait_until 10 "t again did not return to the flat list" flat
st_contains "├─" "$(st_screen)" && st_fail "tree lines remain after leaving tree view"
st_keys F5
st_wait_until 10 "F5: children not indented" children_indented
st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q"
st_check_stderr

# ---- C locale: ASCII tree lines, no UTF-8 at all ----
ST_LANG=C
st_start 160 40 -d 0.5 -p "$parent,$child1,$child2"
st_wait_for "Mem[" 30
st_wait_until 10 "fixture rows not shown with -p" rows_present
st_keys t
st_wait_until 10 "t: children not indented under their parent (C locale)" children_indented
row1=$(st_row_of "$child1")
row2=$(st_row_of "$child2")
both="$row1"$'\n'"$row2"
[ "$(grep -c '`-' <<<"$both")" = 1 ] || st_fail "expected one \`- (last child) in the C locale: $both"
[ "$(grep -c '|-' <<<"$both")" = 1 ] || st_fail "expected one |- in the C locale: $both"
screen=$(st_screen)
if LC_ALL=C grep -q $'[\x80-\xff]' <<<"$screen"; then
    st_fail "non-ASCII bytes on screen in the C locale: $(LC_ALL=C grep -o $'[^\x01-\x7f]\+' <<<"$screen" | head -3 | tr '\n' ' ')"
fi
st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "exit status $ST_RC after q (C locale)"
st_pass
