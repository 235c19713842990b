/*
 * terminal: curses start/stop and the signal handlers that make sure the terminal comes back.
 *
 * Invariant: after terminal_start() succeeds, every way out of the process — normal quit, a
 * quit signal, or a crash signal — passes through endwin(). Crash handlers call endwin()
 * (not async-signal-safe in theory, the same trade-off htop and tmux make) and re-raise the
 * signal with its default action so that a core dump is still produced.
 */
#include "terminal.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <unistd.h>

static volatile sig_atomic_t term_pending_quit; /* quit signal number, 0 if none */
static bool term_active;                        /* curses is running */
static bool term_is_utf8;                       /* locale codeset is UTF-8 */
static SCREEN *term_screen;                     /* the curses screen from newterm() */

static void term_on_quit_signal(int signo)
{
    term_pending_quit = signo;
}

static void term_on_crash_signal(int signo)
{
    if (term_active)
        endwin();
    /* SA_RESETHAND restored the default action: raising again terminates (with a core). */
    raise(signo);
}

static void term_install_handlers(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = term_on_quit_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);

    static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    action.sa_handler = term_on_crash_signal;
    action.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        sigaction(crash_signals[i], &action, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int terminal_start(char *err, size_t errlen)
{
    setlocale(LC_ALL, "");
    term_is_utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

    const char *term = getenv("TERM");
    if (!term || !*term || strcmp(term, "dumb") == 0) {
        snprintf(err, errlen,
                 "TERM is %s: this terminal cannot run the full-screen console; "
                 "use 'stacktop --batch' for text output",
                 term && *term ? "dumb" : "not set");
        return -1;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen,
                 "standard %s is not a terminal; use 'stacktop --batch' for text "
                 "output",
                 isatty(STDIN_FILENO) ? "output" : "input");
        return -1;
    }
    int setup_error = 0;
    if (setupterm(term, STDOUT_FILENO, &setup_error) != OK) {
        snprintf(err, errlen,
                 "unknown terminal type '%s' (no terminfo entry); try TERM=xterm, "
                 "or use 'stacktop --batch'",
                 term);
        return -1;
    }
    const char *cursor_move = tigetstr("cup");
    bool can_address = cursor_move && cursor_move != (char *)-1;
    del_curterm(cur_term);
    if (!can_address) {
        snprintf(err, errlen, "terminal '%s' cannot move the cursor; use 'stacktop --batch'", term);
        return -1;
    }

    term_screen = newterm(NULL, stdout, stdin);
    if (!term_screen) {
        snprintf(err, errlen, "cannot initialise terminal '%s'; use 'stacktop --batch'", term);
        return -1;
    }
    term_active = true;
    term_install_handlers();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
    return 0;
}

void terminal_stop(void)
{
    if (!term_active)
        return;
    term_active = false;
    mousemask(0, NULL);
    curs_set(1);
    endwin();
    delscreen(term_screen);
    term_screen = NULL;
}

bool terminal_quit_requested(void)
{
    return term_pending_quit != 0;
}

int terminal_quit_signal(void)
{
    return term_pending_quit;
}

bool terminal_utf8(void)
{
    return term_is_utf8;
}
