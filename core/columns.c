/*
 * columns: the process table's columns as one table (COLUMNS_LIST in columns.h), plus per
 * column comparison and formatting, each a table indexed by enum column_id.
 *
 * Owns: what every column means, how it sorts and how it reads as text.
 * Invariants:
 *   - columns_compare is a total order: equal column values fall back to pid ascending, then
 *     process rows before thread rows, so sorting is stable across refreshes;
 *   - text columns (USER, COMMAND) compare the displayed text case-insensitively;
 *   - NaN percentages sort as the smallest value (they never break the order);
 *   - numeric cells fit their column width (CPU% and MEM% <= 5 characters, VIRT/RSS <= 6,
 *     TIME+ <= 9).
 * COMMAND shows cmdline, or comm when cmdline is empty. Kernel threads are shown as
 * "[comm]" like ps and top, so that they stand out in --batch output and exports where
 * there is no colour; the brackets are part of the displayed text, hence of its sort order.
 */
#include "columns.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "format.h"

const struct column_info columns_table[COLUMN_COUNT] = {
#define COLUMNS_INFO(column, title_text, cells, right, descending)                                 \
    [column] = {.id = column,                                                                      \
                .title = title_text,                                                               \
                .width = cells,                                                                    \
                .right_aligned = right,                                                            \
                .descending_first = descending},
    COLUMNS_LIST(COLUMNS_INFO)
#undef COLUMNS_INFO
};

/* A lower-case alias accepted by columns_from_name besides the titles. */
struct column_alias {
    const char *name;      /* the alias, compared case-insensitively */
    enum column_id column; /* the column it names */
};

static const struct column_alias column_aliases[] = {
    {"pid", COLUMN_PID},     {"user", COLUMN_USER},    {"pri", COLUMN_PRI},
    {"ni", COLUMN_NI},       {"virt", COLUMN_VIRT},    {"rss", COLUMN_RSS},
    {"res", COLUMN_RSS},     {"s", COLUMN_STATE},      {"state", COLUMN_STATE},
    {"cpu", COLUMN_CPU},     {"mem", COLUMN_MEM},      {"time", COLUMN_TIME},
    {"thr", COLUMN_THR},     {"threads", COLUMN_THR},  {"command", COLUMN_COMMAND},
    {"cmd", COLUMN_COMMAND}, {"comm", COLUMN_COMMAND},
};

int columns_from_name(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < COLUMN_COUNT; i++)
        if (strcasecmp(name, columns_table[i].title) == 0)
            return (int)columns_table[i].id;
    for (size_t i = 0; i < sizeof column_aliases / sizeof column_aliases[0]; i++)
        if (strcasecmp(name, column_aliases[i].name) == 0)
            return (int)column_aliases[i].column;
    return -1;
}

/* ---- displayed COMMAND text, without copying ---- */

/* The COMMAND cell as up to three pieces: prefix, body, suffix ("[", comm, "]"). */
struct command_text {
    const char *prefix; /* "[" for kernel threads, else "" */
    const char *body;   /* cmdline, or comm */
    const char *suffix; /* "]" for kernel threads, else "" */
};

static struct command_text command_text_of(const struct proc_entry *e)
{
    if (e->is_kernel_thread)
        return (struct command_text){"[", e->comm, "]"};
    if (e->cmdline && e->cmdline[0])
        return (struct command_text){"", e->cmdline, ""};
    return (struct command_text){"", e->comm, ""};
}

/* Walks the pieces of a command_text one byte at a time. */
struct command_cursor {
    const char *pieces[3]; /* prefix, body, suffix */
    int piece;             /* index of the piece being read; 3 at the end */
    const char *at;        /* next byte inside pieces[piece] */
};

static unsigned char command_cursor_next(struct command_cursor *cursor)
{
    while (cursor->piece < 3) {
        if (*cursor->at)
            return (unsigned char)*cursor->at++;
        if (++cursor->piece < 3)
            cursor->at = cursor->pieces[cursor->piece];
    }
    return 0;
}

static int compare_command_text(const struct proc_entry *a, const struct proc_entry *b)
{
    struct command_text ta = command_text_of(a), tb = command_text_of(b);
    struct command_cursor ca = {{ta.prefix, ta.body, ta.suffix}, 0, ta.prefix};
    struct command_cursor cb = {{tb.prefix, tb.body, tb.suffix}, 0, tb.prefix};
    for (;;) {
        unsigned char x = command_cursor_next(&ca), y = command_cursor_next(&cb);
        int lx = (x >= 'A' && x <= 'Z') ? x - 'A' + 'a' : x;
        int ly = (y >= 'A' && y <= 'Z') ? y - 'A' + 'a' : y;
        if (lx != ly)
            return lx < ly ? -1 : 1;
        if (x == 0)
            return 0;
    }
}

/* ---- comparisons, one per column ---- */

#define COMPARE_VALUES(x, y) (((x) > (y)) - ((x) < (y)))

static int compare_double(double x, double y)
{
    if (isnan(x))
        x = -INFINITY;
    if (isnan(y))
        y = -INFINITY;
    return COMPARE_VALUES(x, y);
}

static uint64_t cpu_ticks_of(const struct proc_entry *e)
{
    uint64_t sum = e->metrics.utime_ticks + e->metrics.stime_ticks;
    return sum < e->metrics.utime_ticks ? UINT64_MAX : sum; /* saturate corrupt counters */
}

static int compare_pid(const struct proc_entry *a, const struct proc_entry *b)
{
    return COMPARE_VALUES(a->pid, b->pid);
}

static int compare_user(const struct proc_entry *a, const struct proc_entry *b)
{
    int r = strcasecmp(a->user, b->user);
    return COMPARE_VALUES(r, 0);
}

static int compare_priority(const struct proc_entry *a, const struct proc_entry *b)
{
    return COMPARE_VALUES(a->metrics.priority, b->metrics.priority);
}

static int compare_nice(const struct proc_entry *a, const struct proc_entry *b)
{
    return COMPARE_VALUES(a->metrics.nice, b->metrics.nice);
}

static int compare_virtual(const struct proc_entry *a, const struct proc_entry *b)
{
    return COMPARE_VALUES(a->metrics.vsize_bytes, b->metrics.vsize_bytes);
}

static int compare_resident(const struct proc_entry *a, const struct proc_entry *b)
{
    return COMPARE_VALUES(a->metrics.rss_bytes, b->metrics.rss_bytes);
}

static int compare_state(const struct proc_entry *a, const struct proc_entry *b)
{
    return COMPARE_VALUES((unsigned char)a->metrics.state, (unsigned char)b->metrics.state);
}

static int compare_cpu(const struct proc_entry *a, const struct proc_entry *b)
{
    return compare_double(a->cpu_percent, b->cpu_percent);
}

static int compare_memory(const struct proc_entry *a, const struct proc_entry *b)
{
    return compare_double(a->mem_percent, b->mem_percent);
}

static int compare_time(const struct proc_entry *a, const struct proc_entry *b)
{
    return COMPARE_VALUES(cpu_ticks_of(a), cpu_ticks_of(b));
}

static int compare_threads(const struct proc_entry *a, const struct proc_entry *b)
{
    return COMPARE_VALUES(a->metrics.num_threads, b->metrics.num_threads);
}

typedef int (*column_compare_fn)(const struct proc_entry *a, const struct proc_entry *b);

static const column_compare_fn column_comparisons[COLUMN_COUNT] = {
    [COLUMN_PID] = compare_pid,      [COLUMN_USER] = compare_user,
    [COLUMN_PRI] = compare_priority, [COLUMN_NI] = compare_nice,
    [COLUMN_VIRT] = compare_virtual, [COLUMN_RSS] = compare_resident,
    [COLUMN_STATE] = compare_state,  [COLUMN_CPU] = compare_cpu,
    [COLUMN_MEM] = compare_memory,   [COLUMN_TIME] = compare_time,
    [COLUMN_THR] = compare_threads,  [COLUMN_COMMAND] = compare_command_text,
};

int columns_compare_value(enum column_id column, const struct proc_entry *a,
                          const struct proc_entry *b)
{
    if ((unsigned)column >= COLUMN_COUNT)
        return 0;
    return column_comparisons[column](a, b);
}

int columns_compare_tie(const struct proc_entry *a, const struct proc_entry *b)
{
    int r = compare_pid(a, b);
    if (r == 0)
        r = COMPARE_VALUES(a->is_thread, b->is_thread);
    return r;
}

int columns_compare(enum column_id column, const struct proc_entry *a, const struct proc_entry *b)
{
    int r = columns_compare_value(column, a, b);
    return r ? r : columns_compare_tie(a, b);
}

/* ---- formatting, one per column ---- */

/* A percentage in at most 5 characters: "0.0".."99.9", then whole numbers "100".."99999". */
static void format_percent(double percent, char *buf, size_t buflen)
{
    if (!(percent >= 0)) /* negative or NaN */
        percent = 0;
    if (percent < 99.95)
        snprintf(buf, buflen, "%.1f", percent);
    else if (percent < 99999.5)
        snprintf(buf, buflen, "%.0f", percent);
    else
        snprintf(buf, buflen, "99999");
}

static void format_pid(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    snprintf(buf, buflen, "%ld", (long)e->pid);
}

static void format_user(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    snprintf(buf, buflen, "%s", e->user);
}

static void format_priority(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    snprintf(buf, buflen, "%ld", e->metrics.priority);
}

static void format_nice(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    snprintf(buf, buflen, "%ld", e->metrics.nice);
}

static void format_virtual(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    format_bytes_compact(e->metrics.vsize_bytes, buf, buflen);
}

static void format_resident(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    format_bytes_compact(e->metrics.rss_bytes, buf, buflen);
}

static void format_state(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    char state = e->metrics.state;
    /* An unknown or unprintable letter shows as '?', never as a raw byte. */
    if (state < '!' || state > '~')
        state = '?';
    snprintf(buf, buflen, "%c", state);
}

static void format_cpu(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    format_percent(e->cpu_percent, buf, buflen);
}

static void format_memory(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    format_percent(e->mem_percent, buf, buflen);
}

static void format_time(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    format_cpu_time(cpu_ticks_of(e), clock_ticks, buf, buflen);
}

static void format_threads(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    snprintf(buf, buflen, "%ld", e->metrics.num_threads);
}

static void format_command(const struct proc_entry *e, long clock_ticks, char *buf, size_t buflen)
{
    (void)clock_ticks;
    struct command_text text = command_text_of(e);
    snprintf(buf, buflen, "%s%s%s", text.prefix, text.body, text.suffix);
}

typedef void (*column_format_fn)(const struct proc_entry *e, long clock_ticks, char *buf,
                                 size_t buflen);

static const column_format_fn column_formatters[COLUMN_COUNT] = {
    [COLUMN_PID] = format_pid,      [COLUMN_USER] = format_user,
    [COLUMN_PRI] = format_priority, [COLUMN_NI] = format_nice,
    [COLUMN_VIRT] = format_virtual, [COLUMN_RSS] = format_resident,
    [COLUMN_STATE] = format_state,  [COLUMN_CPU] = format_cpu,
    [COLUMN_MEM] = format_memory,   [COLUMN_TIME] = format_time,
    [COLUMN_THR] = format_threads,  [COLUMN_COMMAND] = format_command,
};

void columns_format(enum column_id column, const struct proc_entry *e, long clock_ticks, char *buf,
                    size_t buflen)
{
    if ((unsigned)column >= COLUMN_COUNT) {
        if (buflen)
            buf[0] = '\0';
        return;
    }
    column_formatters[column](e, clock_ticks, buf, buflen);
}
