/*
 * collector: one tick of stacktop's data path, shared by the console and --batch:
 * refresh the process table, then record the tick into the session database.
 *
 * Recording degrades loudly instead of stopping the tool: when the session file cannot be
 * created or written, the collector keeps an in-memory store (so history still works) and
 * says why in record_error, which the console shows in its footer and --batch on stderr.
 */
#ifndef STACKTOP_COLLECTOR_H
#define STACKTOP_COLLECTOR_H

#include <limits.h>
#include <stdbool.h>

#include "options.h"
#include "proctable.h"
#include "store.h"

/* The data path of a session. */
struct collector {
    struct proctable *table;                /* live process table */
    struct store *store;                    /* session database (":memory:" if not recording) */
    struct proctable_options table_options; /* what each refresh collects */
    char path[PATH_MAX];                    /* session file; "" when not recording to a file */
    bool recording;                         /* ticks are being written to path */
    char record_error[640];                 /* why recording is off, if it should be on */
};

/* Opens the proc table and the session store chosen by options (-o, --no-record, default
 * location). argv is recorded as the session's command line. Returns 0, or -1 with err set
 * when /proc cannot be read (recording problems are not fatal; see record_error). */
int collector_open(struct collector *collector, const struct options *options, int argc,
                   char **argv, char *err, size_t errlen);

/* One refresh and its recording. Returns 0, or -1 with err set when /proc cannot be read. */
int collector_tick(struct collector *collector, char *err, size_t errlen);

/* Closes the store (checkpoint, end time) and frees everything. Returns 0, or -1 with err set
 * when the final write failed. */
int collector_close(struct collector *collector, char *err, size_t errlen);

/* Stores one snapshot (returns its id, or -1 with err set). */
typedef int64_t (*collector_record_fn)(struct store *store, void *context, char *err,
                                       size_t errlen);

/* Records one snapshot into the session file chosen by options (-o FILE or the default
 * location) for the one-shot commands (stacks, profile): opens the session, calls record,
 * closes the file, and says on stderr where the snapshot went ("stacktop: KIND snapshot N
 * saved to PATH") or why it was not saved. Returns 0, or 1 when writing failed. */
int collector_record_snapshot(const struct options *options, int argc, char **argv,
                              const char *kind, collector_record_fn record, void *context);

/* The default session path for a session starting now: $XDG_STATE_HOME/stacktop/HOST-DATE.db
 * or ~/.local/state/stacktop/HOST-DATE.db. Creates the directory (0700). Returns 0, or -1
 * with err set. */
int collector_default_path(const char *host, char *path, size_t pathlen, char *err, size_t errlen);

#endif
