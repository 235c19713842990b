/*
 * procview: turns the proctable into the ordered list of rows a user sees: filter, kernel
 * thread and thread toggles, sort by any column, tree by parent, pid selection, incremental
 * search. Pure logic over proc_entry pointers: no I/O, no drawing.
 */
#ifndef STACKTOP_PROCVIEW_H
#define STACKTOP_PROCVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "columns.h"
#include "proctable.h"

/* How rows are chosen and ordered. */
struct procview_options {
    enum column_id sort_column; /* column to sort by */
    bool descending;            /* sort direction */
    bool tree;                  /* children under their parent, siblings sorted by the column */
    bool show_threads;          /* include thread rows (under their process) */
    bool show_kernel_threads;   /* include kernel threads */
    const char *filter;         /* case-insensitive substring of comm or cmdline; NULL = all */
    const pid_t *pids;          /* only these processes (and their threads); NULL = all */
    size_t pid_count;           /* entries in pids */
};

/* One visible row. */
struct procview_row {
    const struct proc_entry *entry; /* the process or thread (points into the proctable) */
    int depth;                      /* tree depth, 0 at a root (always 0 outside tree mode) */
    bool last_sibling;              /* tree: no later sibling at this depth (draw └ not ├) */
    uint64_t open_ancestors;        /* tree: bit d set when the ancestor at depth d has later
                                       siblings (draw │ in column d); depths >= 64 not drawn */
};

/* Rows for the entries of one refresh (processes and threads mixed, any order, as given by
 * proctable_entries()). *rows is a reusable buffer of *capacity rows (grown as needed).
 * Returns the number of rows. */
size_t procview_build(const struct proc_entry *const *entries, size_t count,
                      const struct procview_options *options, struct procview_row **rows,
                      size_t *capacity);

/* True when the entry's comm or cmdline contains needle, case-insensitively. */
bool procview_matches(const struct proc_entry *entry, const char *needle);

/* Index of the next row matching needle, starting at start and moving by direction (+1/-1),
 * wrapping around; start itself is tried first. -1 when no row matches. */
long procview_search(const struct procview_row *rows, size_t count, size_t start,
                     const char *needle, int direction);

/* Index of the row whose entry has this pid (and is a process row unless a thread matches
 * exactly); -1 when absent. Used to keep the selection across re-sorts. */
long procview_index_of(const struct procview_row *rows, size_t count, pid_t pid);

#endif
