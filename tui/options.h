/*
 * options: stacktop's command line, as one table (name, argument, help) from which both the
 * parser and --help are generated. Parsing is pure (no I/O besides the caller's message
 * buffer), so it is unit tested.
 */
#ifndef STACKTOP_OPTIONS_H
#define STACKTOP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "columns.h"

#define OPTIONS_MAX_PIDS 64 /* -p accepts at most this many pids */

/* What the user asked for. */
struct options {
    bool batch;                   /* --batch: print tables instead of the console */
    bool show_help;               /* -h/--help: print usage and exit 0 */
    bool show_version;            /* -V/--version */
    double delay_seconds;         /* -d: refresh delay */
    long iterations;              /* -n: tables to print in batch mode (0 = until killed) */
    int sort_column;              /* --sort: column id, or -1 for the default (CPU%) */
    bool sort_ascending;          /* --sort=+COL: ascending instead of the column's default */
    pid_t pids[OPTIONS_MAX_PIDS]; /* -p: processes to show */
    size_t pid_count;             /* entries in pids */
    const char *output_path;      /* -o: session file; NULL = default location */
    bool no_record;               /* --no-record: do not write a session file */
    const char *theme_name;       /* --theme: theme name; NULL = "default" */
    bool tree;                    /* --tree: start in tree view */
    bool show_threads;            /* --threads: start with thread rows shown */
    const char *group;            /* stacks --group: stack, top, user, start; NULL = stack */
    const char *format;           /* --format: text, json, ...; NULL = text */
    bool consistent;              /* stacks --consistent: stop all threads together */
    const char *unwinder;         /* stacks --unwinder: libunwind, libdw; NULL = default */
    double duration_seconds;      /* profile -d: how long to sample (0 = the default, 5 s) */
    unsigned frequency_hz;        /* profile -F: samples per second (0 = the default, 99) */
    const char *subcommand;       /* stacks, profile, open, diff, report; NULL for the console */
    char **arguments;             /* operands after the subcommand (points into argv) */
    int argument_count;           /* number of operands */
};

/* Parses argv into out. Returns 0 on success, 2 on a usage error with a message in err. */
int options_parse(int argc, char **argv, struct options *out, char *err, size_t errlen);

/* The single PID operand of a subcommand (stacks, profile). Returns 0, or -1 with err set to
 * the subcommand's usage line or "'x' is not a process id" (a usage error: exit 2). */
int options_pid_operand(const struct options *options, pid_t *pid, char *err, size_t errlen);

/* Writes the usage text (generated from the option table) to buf. */
void options_usage(char *buf, size_t buflen);

#endif
