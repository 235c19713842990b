/*
 * keys: every key binding of the console in one table, with the view it applies to and its
 * help text. The help view is generated from this table, and dispatch goes through it.
 */
#ifndef STACKTOP_KEYS_H
#define STACKTOP_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"

/* Where a binding applies. */
enum key_scope {
    KEY_SCOPE_GLOBAL,    /* every view */
    KEY_SCOPE_PROCESSES, /* the process table */
    KEY_SCOPE_DETAILS,   /* the details view */
    KEY_SCOPE_HELP,      /* the help view */
    KEY_SCOPE_STACKS,    /* the stacks view */
    KEY_SCOPE_FLAME,     /* the flame view */
};

/* One key binding. */
struct key_binding {
    int key;                         /* curses key code or character */
    const char *label;               /* how the key is written in help ("F3", "/", "PgDn") */
    enum key_scope scope;            /* where it applies */
    void (*action)(struct app *app); /* what it does */
    const char *help;                /* one line; bindings sharing an action share the text */
};

/* Runs the binding for key in the current view. Returns false when nothing is bound. */
bool keys_dispatch(struct app *app, int key);

/* Help lines, generated: "F3 /        search ...", grouped per scope. Returns the number of
 * lines; line i is written into lines[i] (each up to width bytes) when i < max. */
size_t keys_help_lines(char lines[][128], size_t max);

#endif
