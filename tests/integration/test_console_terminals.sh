#!/usr/bin/env bash
# Terminal types and colour settings: vt100, xterm, screen and tmux-256color run and quit
# cleanly; TERM=dumb, an unknown TERM, an unset TERM and a non-tty are refused with exit status
# 1 and a message pointing to --batch; NO_COLOR=1 draws without colours; the shipped themes
# start; a malformed theme file is reported as FILE:LINE in the footer.
source "$TEST_LIB"

run_and_quit() {
    local what=$1
    shift
    st_start 100 30 -d 0.5 "$@"
    st_wait_for "Mem[" 30
    st_wait_for "COMMAND" 10
    st_keys q
    st_wait_exit 30
    [ "$ST_RC" = 0 ] || st_fail "$what: exit status $ST_RC after q"
    cmp -s "$ST_TMP/stty.before" "$ST_TMP/stty.after" || st_fail "$what: terminal settings not restored"
    st_check_stderr
}

# SGR parameters that select a colour (30-37, 38, 40-47, 48, 90-97, 100-107) in a capture.
colour_codes() {
    grep -o $'\x1b\\[[0-9;]*m' | tr -d $'\x1b[m' | tr ';' '\n' |
        grep -cE '^(3[0-8]|4[0-8]|9[0-7]|10[0-7])$'
}

for term in vt100 xterm screen tmux-256color xterm-256color; do
    ST_TERM=$term
    run_and_quit "TERM=$term"
done
ST_TERM=tmux-256color

# Refusals, inside a real terminal.
refused() {
    local what=$1
    st_wait_exit 30
    [ "$ST_RC" = 1 ] || st_fail "$what: exit status $ST_RC, expected 1"
    grep -q -- "--batch" "$ST_TMP/stderr" || st_fail "$what: the message does not mention --batch"
    st_contains "STACKTOP-EXITED" "$(st_screen)" || st_fail "$what: the pane did not get the shell back"
    cmp -s "$ST_TMP/stty.before" "$ST_TMP/stty.after" || st_fail "$what: terminal settings changed"
    st_check_stderr
}
rm -rf "$XDG_STATE_HOME/stacktop"
ST_TERM=dumb
st_start 100 30
refused "TERM=dumb"
ST_TERM=no-such-terminal-xyz
st_start 100 30
refused "unknown TERM"
ST_TERM=
st_start 100 30
refused "empty TERM"
ST_TERM=tmux-256color

# Not a terminal: stdin and stdout redirected.
rc=0
"$STACKTOP" </dev/null >"$ST_TMP/out" 2>"$ST_TMP/err" || rc=$?
[ "$rc" = 1 ] || st_fail "stdin/stdout not a tty: exit status $rc, expected 1"
grep -q -- "--batch" "$ST_TMP/err" || st_fail "not a tty: the message does not mention --batch: $(cat "$ST_TMP/err")"
[ ! -s "$ST_TMP/out" ] || st_fail "not a tty: something was written to stdout"
st_check_stderr "$ST_TMP/err"
# A refused run records nothing: no session file is left behind (none was announced).
if ls "$XDG_STATE_HOME"/stacktop/*.db >/dev/null 2>&1; then
    st_soft_fail "refused runs (TERM=dumb/unknown/empty, not a tty) left unannounced session files: $(ls "$XDG_STATE_HOME"/stacktop/ | tr '\n' ' ')"
fi
rm -rf "$XDG_STATE_HOME/stacktop"

# Colours: the default theme draws some; NO_COLOR=1 draws none (attributes only).
st_start 100 30 -d 0.5
st_wait_for "Mem[" 30
st_wait_for "COMMAND" 10
coloured=$(st_screen_e | colour_codes)
[ "$coloured" -gt 0 ] || st_fail "the default theme draws no colours in a 256-colour terminal"
st_keys q
st_wait_exit 30
ST_ENV=(NO_COLOR=1)
st_start 100 30 -d 0.5
st_wait_for "Mem[" 30
st_wait_for "COMMAND" 10
st_keys Down
sleep 0.3
coloured=$(st_screen_e | colour_codes)
[ "$coloured" = 0 ] || st_fail "NO_COLOR=1: $coloured colour codes on screen"
# The selection must still be visible without colour (reverse/bold/underline).
st_screen_e | grep -qE $'\x1b\\[([0-9;]*;)?(1|4|7)(;[0-9;]*)?m' ||
    st_fail "NO_COLOR=1: no attribute at all on screen (selection invisible)"
st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "NO_COLOR=1: exit status $ST_RC"
ST_ENV=()

# Shipped themes.
for theme in mono light high-contrast default; do
    run_and_quit "--theme $theme" --theme "$theme"
    grep -qi "theme" "$ST_TMP/stderr" && st_fail "--theme $theme: theme complaint on stderr"
done
st_start 100 30 -d 0.5 --theme mono
st_wait_for "Mem[" 30
coloured=$(st_screen_e | colour_codes)
[ "$coloured" = 0 ] || st_fail "--theme mono: $coloured colour codes on screen"
st_keys q
st_wait_exit 30

# A theme with mistakes: reported as FILE:LINE in the footer; the console still runs.
themes="$ST_TMP/th"
mkdir -p "$themes"
cat >"$themes/broken.theme" <<'THEME'
# a theme with one bad line
description = broken on purpose
selection = not-a-colour black
process = default default
THEME
ST_ENV=(STACKTOP_THEME_DIR="$themes")
st_start 200 30 -d 0.5 --theme broken
st_wait_for "Mem[" 30
st_wait_for "broken.theme:3" 10
footer=$(tail -n 1 <<<"$(st_screen)")
st_contains "broken.theme:3" "$footer" || st_fail "the theme warning is not in the footer: $footer"
st_contains "not-a-colour" "$footer" || st_fail "the theme warning does not quote the bad word: $footer"
st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "broken theme: exit status $ST_RC"
# An unknown theme name falls back with a warning, and still runs.
st_start 200 30 -d 0.5 --theme no-such-theme
st_wait_for "Mem[" 30
st_wait_for "no-such-theme" 10
st_keys q
st_wait_exit 30
[ "$ST_RC" = 0 ] || st_fail "unknown theme: exit status $ST_RC"
ST_ENV=()
st_pass
