/*
 * columns: the process table's columns as one table: title, width, alignment, default sort
 * direction, comparison and text formatting. The console and --batch both render from it.
 * Formatting produces plain (unsanitized for COMMAND/USER) text; no colours here.
 */
#ifndef STACKTOP_COLUMNS_H
#define STACKTOP_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>

#include "proctable.h"

/* X-macro: id, title, width (0 = takes the rest of the line), right aligned, descending first */
#define COLUMNS_LIST(X)                                                                            \
    X(COLUMN_PID, "PID", 7, true, false)                                                           \
    X(COLUMN_USER, "USER", 9, false, false)                                                        \
    X(COLUMN_PRI, "PRI", 3, true, false)                                                           \
    X(COLUMN_NI, "NI", 3, true, false)                                                             \
    X(COLUMN_VIRT, "VIRT", 6, true, true)                                                          \
    X(COLUMN_RSS, "RSS", 6, true, true)                                                            \
    X(COLUMN_STATE, "S", 1, false, false)                                                          \
    X(COLUMN_CPU, "CPU%", 5, true, true)                                                           \
    X(COLUMN_MEM, "MEM%", 5, true, true)                                                           \
    X(COLUMN_TIME, "TIME+", 9, true, true)                                                         \
    X(COLUMN_THR, "THR", 4, true, true)                                                            \
    X(COLUMN_COMMAND, "COMMAND", 0, false, false)

enum column_id {
#define COLUMNS_ENUM(id, title, width, right, descending) id,
    COLUMNS_LIST(COLUMNS_ENUM)
#undef COLUMNS_ENUM
        COLUMN_COUNT
};

/* Static description of one column. */
struct column_info {
    enum column_id id;     /* the column */
    const char *title;     /* header text */
    int width;             /* display width in cells; 0 = the rest of the line */
    bool right_aligned;    /* numbers are right aligned */
    bool descending_first; /* first sort on this column is descending (CPU%, MEM%, ...) */
};

extern const struct column_info columns_table[COLUMN_COUNT];

/* Column by title or lower-case alias ("cpu", "mem", "pid", "time", "command"...); -1 if none. */
int columns_from_name(const char *name);

/* Compares two rows by the column, ascending; ties broken by pid so the order is total. */
int columns_compare(enum column_id column, const struct proc_entry *a, const struct proc_entry *b);

/* The column's own comparison, ascending, without the tie-break (0 when the values are equal).
 * procview reverses this for a descending sort and then applies columns_compare_tie. */
int columns_compare_value(enum column_id column, const struct proc_entry *a,
                          const struct proc_entry *b);

/* The tie-break of columns_compare: pid ascending, then a process row before a thread row. */
int columns_compare_tie(const struct proc_entry *a, const struct proc_entry *b);

/* Formats the column of e into buf (NUL-terminated, truncated to buflen). Memory in human units
 * like htop (KiB below 100000, then M, G, T); TIME+ as format_cpu_time() (m:ss.cc, 12h34:56, NNNh).
 * clock_ticks is proctable_clock_ticks(). COMMAND gives cmdline (or comm for kernel threads / empty
 * cmdline), raw: the caller sanitizes. */
void columns_format(enum column_id column, const struct proc_entry *e, long clock_ticks, char *buf,
                    size_t buflen);

#endif
