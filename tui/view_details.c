/*
 * view_details: one process in depth — identity (command line, cwd, exe, user, start time,
 * state), its history over the session as sparklines (read back from the session store, so
 * it covers the whole session), and its threads with CPU%, state, wait channel and name.
 * While the view is open the collector reads this process's threads and counters every tick.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "format.h"
#include "sanitize.h"
#include "views.h"
#include "xalloc.h"

/* One sparkline: label, how to compute a point from two consecutive samples, and units. */
struct details_series {
    const char *label; /* left-hand label */
    double (*value)(const struct store_history_point *previous,
                    const struct store_history_point *current, double seconds,
                    long clock_ticks); /* the figure at current */
    bool is_bytes;                     /* format the current figure as bytes (else as a number) */
    bool is_rate;                      /* per second: append "/s" */
    double fixed_max; /* scale ceiling (grows to the largest value shown); 0 = relative */
};

static double series_cpu(const struct store_history_point *previous,
                         const struct store_history_point *current, double seconds,
                         long clock_ticks)
{
    if (!previous || seconds <= 0 || clock_ticks <= 0)
        return 0;
    uint64_t before = previous->metrics.utime_ticks + previous->metrics.stime_ticks;
    uint64_t after = current->metrics.utime_ticks + current->metrics.stime_ticks;
    return after > before ? (double)(after - before) / (double)clock_ticks / seconds * 100.0 : 0;
}

static double series_rss(const struct store_history_point *previous,
                         const struct store_history_point *current, double seconds, long ticks)
{
    (void)previous, (void)seconds, (void)ticks;
    return (double)current->metrics.rss_bytes;
}

static double series_threads(const struct store_history_point *previous,
                             const struct store_history_point *current, double seconds, long ticks)
{
    (void)previous, (void)seconds, (void)ticks;
    return (double)current->metrics.num_threads;
}

static double series_fds(const struct store_history_point *previous,
                         const struct store_history_point *current, double seconds, long ticks)
{
    (void)previous, (void)seconds, (void)ticks;
    return current->metrics.fd_count < 0 ? 0 : (double)current->metrics.fd_count;
}

/* Rate of a cumulative counter selected by offset into struct proc_metrics. */
static double counter_rate(const struct store_history_point *previous,
                           const struct store_history_point *current, double seconds, size_t offset)
{
    if (!previous || seconds <= 0)
        return 0;
    uint64_t before, after;
    memcpy(&before, (const char *)&previous->metrics + offset, sizeof before);
    memcpy(&after, (const char *)&current->metrics + offset, sizeof after);
    return after > before ? (double)(after - before) / seconds : 0;
}

static double series_read(const struct store_history_point *previous,
                          const struct store_history_point *current, double seconds, long ticks)
{
    (void)ticks;
    return counter_rate(previous, current, seconds, offsetof(struct proc_metrics, read_bytes));
}

static double series_write(const struct store_history_point *previous,
                           const struct store_history_point *current, double seconds, long ticks)
{
    (void)ticks;
    return counter_rate(previous, current, seconds, offsetof(struct proc_metrics, write_bytes));
}

static double series_voluntary(const struct store_history_point *previous,
                               const struct store_history_point *current, double seconds,
                               long ticks)
{
    (void)ticks;
    return counter_rate(previous, current, seconds, offsetof(struct proc_metrics, voluntary_ctxsw));
}

static double series_involuntary(const struct store_history_point *previous,
                                 const struct store_history_point *current, double seconds,
                                 long ticks)
{
    (void)ticks;
    return counter_rate(previous, current, seconds,
                        offsetof(struct proc_metrics, involuntary_ctxsw));
}

static const struct details_series series_table[] = {
    {"CPU%", series_cpu, false, false, 100.0},
    {"RSS", series_rss, true, false, 0},
    {"Threads", series_threads, false, false, 0},
    {"Read", series_read, true, true, 0},
    {"Write", series_write, true, true, 0},
    {"Vol. ctxsw", series_voluntary, false, true, 0},
    {"Invol. ctxsw", series_involuntary, false, true, 0},
    {"Open fds", series_fds, false, false, 0},
};

#define SERIES_COUNT (sizeof series_table / sizeof series_table[0])

static const char *state_name(char state)
{
    switch (state) {
    case 'R':
        return "running";
    case 'S':
        return "sleeping";
    case 'D':
        return "uninterruptible (disk) sleep";
    case 'Z':
        return "zombie";
    case 'T':
        return "stopped";
    case 't':
        return "traced";
    case 'I':
        return "idle";
    case 'X':
        return "dead";
    default:
        return "unknown";
    }
}

/* "label: value" with the value sanitized. */
static void draw_fact(int y, int x, int width, const char *label, const char *raw, bool utf8)
{
    int used = draw_text(y, x, width, label, THEME_HEADER_LABEL);
    char *safe = sanitize_dup(raw ? raw : "", utf8);
    draw_text(y, x + used, width - used, safe, THEME_DEFAULT);
    free(safe);
}

static int draw_identity(struct app *app, const struct proc_entry *e, int top, int cols)
{
    struct app_details *d = &app->details;
    int y = top;
    char started[64] = "?";
    uint64_t boot = proctable_boot_time(app->collector.table);
    long ticks = proctable_clock_ticks(app->collector.table);
    if (ticks > 0)
        format_timestamp(boot + d->starttime_ticks / (uint64_t)ticks, started, sizeof started);
    char *user = sanitize_dup(e ? e->user : "?", app->utf8);
    char *comm = sanitize_dup(e ? e->comm : "?", app->utf8);
    draw_fill(y, 0, cols, THEME_TITLE);
    draw_printf(y++, 0, cols, THEME_TITLE, "Process %d (%s)  user %s  started %s  %s", (int)d->pid,
                comm, user, started,
                d->exited ? "EXITED"
                : e       ? state_name(e->metrics.state)
                          : "");
    free(user);
    free(comm);
    if (d->error[0])
        draw_text(y++, 0, cols, d->error, THEME_WARNING);
    draw_fact(y++, 0, cols, "Command: ", d->facts.cmdline, app->utf8);
    draw_fact(y++, 0, cols, "cwd:     ", d->facts.cwd, app->utf8);
    draw_fact(y++, 0, cols, "exe:     ", d->facts.exe, app->utf8);
    return y - top;
}

static int draw_history(struct app *app, int top, int rows, int cols)
{
    struct app_details *d = &app->details;
    if (rows <= 1)
        return 0;
    int label_width = 13, value_width = 12;
    int spark_width = cols - label_width - value_width - 2;
    if (spark_width < 4)
        spark_width = 4;
    struct store_history_point *points = NULL;
    char err[256] = "";
    long count = app->collector.store
                     ? store_process_history(app->collector.store, d->pid, d->starttime_ticks,
                                             (size_t)spark_width + 1, &points, err, sizeof err)
                     : -1;
    int y = top;
    draw_fill(y, 0, cols, THEME_TITLE);
    draw_printf(y++, 0, cols, THEME_TITLE, "History over the session (%ld ticks shown)",
                count > 0 ? count : 0);
    if (count < 0) {
        draw_printf(y++, 0, cols, THEME_WARNING, "history unavailable: %s", err);
        free(points);
        return y - top;
    }
    long ticks = proctable_clock_ticks(app->collector.table);
    double *values = xcalloc((size_t)(count > 0 ? count : 1), sizeof *values);
    for (size_t s = 0; s < SERIES_COUNT && y < top + rows; s++) {
        const struct details_series *series = &series_table[s];
        for (long i = 0; i < count; i++) {
            const struct store_history_point *previous = i > 0 ? &points[i - 1] : NULL;
            double seconds =
                previous ? (double)(points[i].timestamp_us - previous->timestamp_us) / 1e6 : 0;
            values[i] = series->value(previous, &points[i], seconds, ticks);
        }
        /* The first point has no predecessor; rates start at the second. */
        const double *shown = values;
        long shown_count = count;
        if (series->is_rate || series->value == series_cpu) {
            shown = values + (count > 0 ? 1 : 0);
            shown_count = count > 0 ? count - 1 : 0;
        }
        draw_text(y, 0, label_width, series->label, THEME_HEADER_LABEL);
        draw_sparkline(y, label_width, spark_width, shown, (size_t)shown_count, series->fixed_max,
                       THEME_SPARKLINE);
        double now = shown_count > 0 ? shown[shown_count - 1] : 0;
        char text[32];
        if (series->is_bytes && series->is_rate)
            format_rate(now, text, sizeof text);
        else if (series->is_bytes)
            format_bytes_long((uint64_t)now, text, sizeof text);
        else if (series->is_rate)
            snprintf(text, sizeof text, "%.1f/s", now);
        else if (series->value == series_cpu)
            snprintf(text, sizeof text, "%.1f%%", now);
        else
            snprintf(text, sizeof text, "%.0f", now);
        draw_text(y, label_width + spark_width + 2, value_width, text, THEME_HEADER_VALUE);
        y++;
    }
    free(values);
    free(points);
    return y - top;
}

static void draw_threads(struct app *app, int top, int rows, int cols)
{
    struct app_details *d = &app->details;
    if (rows <= 1)
        return;
    size_t entry_count = 0;
    const struct proc_entry *const *entries = proctable_entries(app->collector.table, &entry_count);
    size_t thread_count = 0;
    for (size_t i = 0; i < entry_count; i++)
        if (entries[i]->is_thread && entries[i]->tgid == d->pid)
            thread_count++;
    draw_fill(top, 0, cols, THEME_TITLE);
    draw_printf(top, 0, cols, THEME_TITLE, "Threads (%zu)   %7s %5s S %-22s %s", thread_count,
                "TID", "CPU%", "WCHAN", "NAME");
    int body = rows - 1;
    int max_scroll = (int)thread_count > body ? (int)thread_count - body : 0;
    if (d->scroll > max_scroll)
        d->scroll = max_scroll;
    int shown = 0, skipped = 0;
    for (size_t i = 0; i < entry_count && shown < body; i++) {
        const struct proc_entry *t = entries[i];
        if (!t->is_thread || t->tgid != d->pid)
            continue;
        if (skipped++ < d->scroll)
            continue;
        char *wchan = sanitize_dup(t->wchan[0] ? t->wchan : "-", app->utf8);
        char *name = sanitize_dup(t->comm, app->utf8);
        draw_printf(top + 1 + shown, 0, cols, THEME_DEFAULT, "%14s %7d %5.1f %c %-22.22s %s", "",
                    (int)t->pid, t->cpu_percent, t->metrics.state ? t->metrics.state : '?', wchan,
                    name);
        free(wchan);
        free(name);
        shown++;
    }
}

static void details_draw(struct app *app, int top, int rows, int cols)
{
    struct app_details *d = &app->details;
    const struct proc_entry *e = proctable_find(app->collector.table, d->pid);
    if (!e || e->starttime_ticks != d->starttime_ticks) {
        if (!d->exited)
            snprintf(d->error, sizeof d->error, "process %d exited; showing what was recorded",
                     (int)d->pid);
        d->exited = true;
        e = NULL;
    }
    int used = draw_identity(app, e, top, cols);
    used += draw_history(app, top + used, rows - used, cols);
    draw_threads(app, top + used, rows - used, cols);
}

static void details_footer(char *buf, size_t buflen)
{
    snprintf(buf, buflen, "Esc Back|Up/Down Threads|q Quit");
}

const struct view_ops view_details_ops = {"Details", false, details_draw, details_footer, NULL};
