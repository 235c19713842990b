/*
 * terminal: the terminal's lifecycle. Decides whether full-screen mode is possible (refuses
 * TERM=dumb, terminals without cursor addressing, and non-terminals, pointing at --batch),
 * starts curses, and guarantees that the terminal is restored on q, SIGINT, SIGTERM, SIGHUP
 * and on crash signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT).
 */
#ifndef STACKTOP_TERMINAL_H
#define STACKTOP_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>

/* Checks and starts curses. Returns 0, or -1 with a message in err (nothing to restore). */
int terminal_start(char *err, size_t errlen);

/* Restores the terminal. Safe to call more than once. */
void terminal_stop(void);

/* True once SIGINT, SIGTERM or SIGHUP arrived: the main loop should end cleanly. */
bool terminal_quit_requested(void);

/* The signal that asked to quit (0 if none), to report it after the terminal is restored. */
int terminal_quit_signal(void);

/* True when the locale's character set is UTF-8 (box drawing, sparklines, wide names). */
bool terminal_utf8(void);

#endif
