/*
 * batch: prints summaries and tables to stdout. The first table is printed after one full
 * delay so that CPU% is measured over a real interval (top -b shows since-boot averages
 * instead, which hide what is happening now). SIGINT/SIGTERM end the run cleanly: the session
 * file is closed and checkpointed.
 */
#include "batch.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "columns.h"
#include "format.h"
#include "procview.h"
#include "sanitize.h"
#include "xalloc.h"

static volatile sig_atomic_t batch_stop_requested; /* set by SIGINT/SIGTERM/SIGHUP */

static void batch_on_signal(int signo)
{
    (void)signo;
    batch_stop_requested = 1;
}

static void sleep_seconds(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (!batch_stop_requested && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void print_summary(FILE *out, const struct proctable *table)
{
    const struct system_metrics *sys = proctable_system(table);
    char uptime[64], clock_text[32];
    format_uptime(sys->uptime_seconds, uptime, sizeof uptime);
    time_t now = (time_t)(sys->timestamp_us / 1000000u);
    struct tm local;
    localtime_r(&now, &local);
    strftime(clock_text, sizeof clock_text, "%H:%M:%S", &local);
    fprintf(out, "stacktop - %s up %s, load average: %.2f, %.2f, %.2f\n", clock_text, uptime,
            sys->load[0], sys->load[1], sys->load[2]);
    fprintf(out, "Tasks: %d total, %d running, %d threads, %d kernel threads\n", sys->tasks_total,
            sys->tasks_running, sys->threads_total, sys->kernel_threads);
    const struct cpu_usage *cpu = &sys->cpu_total;
    double idle = 100.0 - cpu->total_percent - cpu->iowait_percent;
    fprintf(out,
            "CPU: %5.1f%% us, %5.1f%% ni, %5.1f%% sy, %5.1f%% wa, %5.1f%% st, %5.1f%% id "
            "(%d CPUs)\n",
            cpu->user_percent, cpu->nice_percent, cpu->system_percent, cpu->iowait_percent,
            cpu->steal_percent, idle < 0 ? 0 : idle, sys->cpu_count);
    char total[32], used[32], cache[32], avail[32], swap_total[32], swap_used[32];
    format_bytes_long(sys->mem_total_bytes, total, sizeof total);
    format_bytes_long(sys->mem_used_bytes, used, sizeof used);
    format_bytes_long(sys->mem_buffers_bytes + sys->mem_cached_bytes, cache, sizeof cache);
    format_bytes_long(sys->mem_available_bytes, avail, sizeof avail);
    format_bytes_long(sys->swap_total_bytes, swap_total, sizeof swap_total);
    format_bytes_long(sys->swap_total_bytes - sys->swap_free_bytes, swap_used, sizeof swap_used);
    fprintf(out, "Mem: %s total, %s used, %s buff/cache, %s available\n", total, used, cache,
            avail);
    fprintf(out, "Swap: %s total, %s used\n", swap_total, swap_used);
}

static void print_table(FILE *out, const struct proctable *table,
                        const struct procview_options *view, struct procview_row **rows,
                        size_t *capacity, bool utf8)
{
    size_t entry_count = 0;
    const struct proc_entry *const *entries = proctable_entries(table, &entry_count);
    size_t count = procview_build(entries, entry_count, view, rows, capacity);
    long clock_ticks = proctable_clock_ticks(table);

    for (int c = 0; c < COLUMN_COUNT; c++) {
        const struct column_info *info = &columns_table[c];
        if (info->width == 0)
            fprintf(out, "%s", info->title);
        else if (info->right_aligned)
            fprintf(out, "%*s ", info->width, info->title);
        else
            fprintf(out, "%-*s ", info->width, info->title);
    }
    fputc('\n', out);

    char cell[4096], safe[8192];
    for (size_t r = 0; r < count; r++) {
        const struct proc_entry *e = (*rows)[r].entry;
        for (int c = 0; c < COLUMN_COUNT; c++) {
            const struct column_info *info = &columns_table[c];
            columns_format(info->id, e, clock_ticks, cell, sizeof cell);
            sanitize_string(cell, strlen(cell), safe, sizeof safe, utf8);
            if (info->width == 0)
                fprintf(out, "%*s%s", view->tree ? 2 * (*rows)[r].depth : 0, "", safe);
            else if (info->right_aligned)
                fprintf(out, "%*s ", info->width, safe);
            else
                fprintf(out, "%-*.*s ", info->width, info->width, safe);
        }
        fputc('\n', out);
    }
}

int batch_run(const struct options *options, int argc, char **argv)
{
    setlocale(LC_ALL, "");
    bool utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = batch_on_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    struct collector collector;
    if (collector_open(&collector, options, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "stacktop: %s\n", err);
        return 1;
    }
    if (collector.record_error[0])
        fprintf(stderr, "stacktop: %s\n", collector.record_error);

    struct procview_options view = {
        .sort_column =
            options->sort_column >= 0 ? (enum column_id)options->sort_column : COLUMN_CPU,
        .tree = options->tree,
        .show_threads = options->show_threads,
        .show_kernel_threads = true,
        .pids = options->pid_count ? options->pids : NULL,
        .pid_count = options->pid_count,
    };
    view.descending = columns_table[view.sort_column].descending_first;
    if (options->sort_column >= 0 && options->sort_ascending)
        view.descending = false;
    collector.table_options.collect_threads = options->show_threads;

    int status = 0;
    struct procview_row *rows = NULL;
    size_t capacity = 0;
    if (collector_tick(&collector, err, sizeof err) < 0)
        goto fail;
    for (long i = 0; !batch_stop_requested && (options->iterations == 0 || i < options->iterations);
         i++) {
        sleep_seconds(options->delay_seconds);
        if (batch_stop_requested)
            break;
        if (collector_tick(&collector, err, sizeof err) < 0)
            goto fail;
        if (i > 0)
            fputc('\n', stdout);
        print_summary(stdout, collector.table);
        fputc('\n', stdout);
        print_table(stdout, collector.table, &view, &rows, &capacity, utf8);
        if (fflush(stdout) == EOF && errno == EPIPE)
            break;
    }
    if (options->pid_count && !proctable_find(collector.table, options->pids[0])) {
        fprintf(stderr, "stacktop: process %d does not exist (or exited)\n", (int)options->pids[0]);
        status = 1;
    }
    goto done;
fail:
    fprintf(stderr, "stacktop: %s\n", err);
    status = 1;
done:
    free(rows);
    if (collector.record_error[0] && collector.path[0] == '\0' && !options->no_record)
        ; /* already reported at open */
    else if (collector.record_error[0])
        fprintf(stderr, "stacktop: %s\n", collector.record_error);
    bool recorded = collector.recording;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", collector.path);
    if (collector_close(&collector, err, sizeof err) < 0) {
        fprintf(stderr, "stacktop: closing the session file: %s\n", err);
        status = 1;
    } else if (recorded) {
        fprintf(stderr, "stacktop: session saved to %s\n", path);
    }
    return status;
}
