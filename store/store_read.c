/*
 * store_read: reading sessions back — the session list, the exact table of any tick, and the
 * per-tick history of one process.
 *
 * Owns: the session list cached in the handle and the reading statements.
 *
 * Reconstruction rule (see docs/SCHEMA.md): a process row is alive at tick T of its session
 * when first_tick <= T and (last_tick IS NULL or last_tick >= T); its metrics at T are those of
 * its process_sample row with the greatest tick <= T.
 *
 * Invariants:
 *   - every value read may be hostile: NULLs read as 0 or "", strings are bounded (by
 *     SQLITE_LIMIT_LENGTH and the STORE_READ_MAX_* caps), counts and tick ranges are clamped
 *     before anything is allocated from them;
 *   - the session list, once loaded, stays at the same address until store_close(); only the
 *     recording session's tick_count is refreshed.
 */
#include <stdlib.h>
#include <string.h>

#include "store_private.h"
#include "xalloc.h"

static uint64_t store_column_u64(sqlite3_stmt *stmt, int column)
{
    return (uint64_t)sqlite3_column_int64(stmt, column);
}

/* Heap copy of a text column, at most max bytes, stopping at an embedded NUL. */
static char *store_column_strdup(sqlite3_stmt *stmt, int column, size_t max)
{
    const char *text = (const char *)sqlite3_column_text(stmt, column);
    if (!text)
        return xstrdup("");
    size_t len = (size_t)sqlite3_column_bytes(stmt, column);
    return xstrndup(text, len < max ? len : max);
}

void store_column_copy(sqlite3_stmt *stmt, int column, char *dst, size_t size)
{
    const char *text = (const char *)sqlite3_column_text(stmt, column);
    size_t len = text ? strnlen(text, (size_t)sqlite3_column_bytes(stmt, column)) : 0;
    if (len > size - 1)
        len = size - 1;
    if (len)
        memcpy(dst, text, len);
    dst[len] = '\0';
}

/* Reads the 15 metrics columns starting at first (order of the process_sample table). */
static void store_column_metrics(sqlite3_stmt *stmt, int first, struct proc_metrics *m)
{
    const unsigned char *state = sqlite3_column_text(stmt, first);
    memset(m, 0, sizeof *m);
    m->state = state && sqlite3_column_bytes(stmt, first) > 0 ? (char)state[0] : 0;
    m->ppid = (pid_t)sqlite3_column_int64(stmt, first + 1);
    m->priority = (long)sqlite3_column_int64(stmt, first + 2);
    m->nice = (long)sqlite3_column_int64(stmt, first + 3);
    m->num_threads = (long)sqlite3_column_int64(stmt, first + 4);
    m->vsize_bytes = store_column_u64(stmt, first + 5);
    m->rss_bytes = store_column_u64(stmt, first + 6);
    m->utime_ticks = store_column_u64(stmt, first + 7);
    m->stime_ticks = store_column_u64(stmt, first + 8);
    m->read_bytes = store_column_u64(stmt, first + 9);
    m->write_bytes = store_column_u64(stmt, first + 10);
    m->voluntary_ctxsw = store_column_u64(stmt, first + 11);
    m->involuntary_ctxsw = store_column_u64(stmt, first + 12);
    m->fd_count = (int32_t)sqlite3_column_int64(stmt, first + 13);
    m->processor = (int32_t)sqlite3_column_int64(stmt, first + 14);
}

/* The 15 metrics columns of process_sample, in struct proc_metrics order, of table alias t. */
#define STORE_METRICS_COLUMNS_OF(t)                                                                \
    t ".state, " t ".ppid, " t ".priority, " t ".nice, " t ".num_threads, " t ".vsize_bytes, " t   \
      ".rss_bytes, " t ".utime_ticks, " t ".stime_ticks, " t ".read_bytes, " t ".write_bytes, " t  \
      ".voluntary_ctxsw, " t ".involuntary_ctxsw, " t ".fd_count, " t ".processor"
#define STORE_METRICS_COLUMNS STORE_METRICS_COLUMNS_OF("process_sample")

static void store_sessions_free(struct store *store)
{
    for (size_t i = 0; i < store->session_count; i++) {
        struct store_session *s = &store->sessions[i];
        free((char *)s->host);
        free((char *)s->kernel);
        free((char *)s->boot_id);
        free((char *)s->command_line);
    }
    free(store->sessions);
    free(store->session_index_intervals);
    store->sessions = NULL;
    store->session_index_intervals = NULL;
    store->session_count = 0;
    store->sessions_loaded = false;
}

/* Loads the session list once. Returns 0, or -1 with err set. */
static int store_sessions_load(struct store *store, char *err, size_t errlen)
{
    if (store->sessions_loaded)
        return 0;
    if (store_prepare(store, &store->read.sessions,
                      "SELECT s.id, s.host, s.kernel, s.boot_id, s.command_line,"
                      " s.interval_seconds, s.clock_ticks, s.started_us, s.ended_us,"
                      " (SELECT max(t.tick) FROM tick t WHERE t.session_id = s.id),"
                      " s.sample_index_interval"
                      " FROM session s ORDER BY s.id LIMIT ?1",
                      err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->read.sessions;
    size_t capacity = 0, interval_capacity = 0;
    int rc;
    sqlite3_bind_int(stmt, 1, STORE_READ_MAX_SESSIONS);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        xgrow((void **)&store->sessions, &capacity, store->session_count + 1,
              sizeof *store->sessions);
        xgrow((void **)&store->session_index_intervals, &interval_capacity,
              store->session_count + 1, sizeof *store->session_index_intervals);
        int64_t interval = sqlite3_column_int64(stmt, 10);
        store->session_index_intervals[store->session_count] =
            interval >= 1 && interval <= STORE_READ_MAX_INDEX_INTERVAL ? interval : 1;
        struct store_session *s = &store->sessions[store->session_count++];
        int64_t ticks = sqlite3_column_int64(stmt, 9);
        s->id = sqlite3_column_int64(stmt, 0);
        s->host = store_column_strdup(stmt, 1, STORE_READ_MAX_SESSION_TEXT);
        s->kernel = store_column_strdup(stmt, 2, STORE_READ_MAX_SESSION_TEXT);
        s->boot_id = store_column_strdup(stmt, 3, STORE_READ_MAX_SESSION_TEXT);
        s->command_line = store_column_strdup(stmt, 4, STORE_READ_MAX_SESSION_TEXT);
        s->interval_seconds = sqlite3_column_double(stmt, 5);
        s->clock_ticks = (long)sqlite3_column_int64(stmt, 6);
        s->started_us = store_column_u64(stmt, 7);
        s->ended_us = store_column_u64(stmt, 8);
        s->tick_count = ticks > 0 ? (uint64_t)ticks : 0;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read the sessions", err, errlen);
        store_sessions_free(store);
        return -1;
    }
    store->sessions_loaded = true;
    return 0;
}

/* Refreshes what changes while recording: our session's tick count. */
static void store_sessions_refresh(struct store *store)
{
    if (store->read_only)
        return;
    for (size_t i = 0; i < store->session_count; i++)
        if (store->sessions[i].id == store->session_id)
            store->sessions[i].tick_count = store->tick_count;
}

size_t store_sessions(struct store *store, const struct store_session **out)
{
    *out = NULL;
    if (!store || store_sessions_load(store, NULL, 0) < 0)
        return 0;
    store_sessions_refresh(store);
    *out = store->sessions;
    return store->session_count;
}

/* Where a reconstruction happens: a session, its tick count and its index interval. */
struct store_scope {
    int64_t session_id;     /* session row id */
    uint64_t tick_count;    /* ticks 1..tick_count exist */
    int64_t index_interval; /* sample_index_interval K, 1..STORE_READ_MAX_INDEX_INTERVAL */
};

/* Resolves session_id (0 = the recording session, or the last one) into a scope. */
static int store_resolve_session(struct store *store, int64_t session_id, struct store_scope *scope,
                                 char *err, size_t errlen)
{
    if (store_sessions_load(store, err, errlen) < 0)
        return -1;
    store_sessions_refresh(store);
    if (session_id == 0) {
        if (!store->read_only) {
            session_id = store->session_id;
        } else if (store->session_count > 0) {
            session_id = store->sessions[store->session_count - 1].id;
        } else {
            store_error(err, errlen, "%s: no session recorded", store->name);
            return -1;
        }
    }
    for (size_t i = 0; i < store->session_count; i++) {
        if (store->sessions[i].id == session_id) {
            scope->session_id = session_id;
            scope->tick_count = store->sessions[i].tick_count;
            scope->index_interval = store->session_index_intervals[i];
            return 0;
        }
    }
    store_error(err, errlen, "%s: no session %lld", store->name, (long long)session_id);
    return -1;
}

/* Usage over the interval between two raw readings, computed exactly as the live table does
 * (core/proctable.c), so that a reopened session shows the numbers seen live. before is all
 * zeros for the first tick (usage since boot, as live). */
static void store_cpu_usage(const struct cpu_times *now, const struct cpu_times *before,
                            struct cpu_usage *out)
{
#define STORE_DELTA(field) (now->field > before->field ? now->field - before->field : 0)
    double user = (double)STORE_DELTA(user), nice = (double)STORE_DELTA(nice);
    double system = (double)(STORE_DELTA(system) + STORE_DELTA(irq) + STORE_DELTA(softirq));
    double idle = (double)STORE_DELTA(idle), iowait = (double)STORE_DELTA(iowait);
    double steal = (double)STORE_DELTA(steal);
#undef STORE_DELTA
    double total = user + nice + system + idle + iowait + steal;
    memset(out, 0, sizeof *out);
    if (total <= 0)
        return;
    out->user_percent = user / total * 100.0;
    out->nice_percent = nice / total * 100.0;
    out->system_percent = system / total * 100.0;
    out->iowait_percent = iowait / total * 100.0;
    out->steal_percent = steal / total * 100.0;
    out->total_percent = (total - idle - iowait) / total * 100.0;
}

static void store_column_cpu_times(sqlite3_stmt *stmt, int first, struct cpu_times *t)
{
    t->user = store_column_u64(stmt, first + 0);
    t->nice = store_column_u64(stmt, first + 1);
    t->system = store_column_u64(stmt, first + 2);
    t->idle = store_column_u64(stmt, first + 3);
    t->iowait = store_column_u64(stmt, first + 4);
    t->irq = store_column_u64(stmt, first + 5);
    t->softirq = store_column_u64(stmt, first + 6);
    t->steal = store_column_u64(stmt, first + 7);
}

/* Reads the tick row of (session, tick) into s (cpu arrays untouched). 1 found, 0 not, -1. */
static int store_read_tick_row(struct store *store, int64_t session_id, uint64_t tick,
                               struct system_metrics *s, char *err, size_t errlen)
{
    if (store_prepare(store, &store->read.tick,
                      "SELECT timestamp_us, uptime_seconds, load1, load5, load15, cpu_user,"
                      " cpu_nice, cpu_system, cpu_idle, cpu_iowait, cpu_irq, cpu_softirq,"
                      " cpu_steal, mem_total_bytes, mem_free_bytes, mem_available_bytes,"
                      " mem_buffers_bytes, mem_cached_bytes, mem_shared_bytes, mem_used_bytes,"
                      " swap_total_bytes, swap_free_bytes, tasks_total, tasks_running,"
                      " threads_total, kernel_threads FROM tick"
                      " WHERE session_id = ?1 AND tick = ?2",
                      err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->read.tick;
    sqlite3_bind_int64(stmt, 1, session_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)tick);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        s->timestamp_us = store_column_u64(stmt, 0);
        s->uptime_seconds = sqlite3_column_double(stmt, 1);
        s->load[0] = sqlite3_column_double(stmt, 2);
        s->load[1] = sqlite3_column_double(stmt, 3);
        s->load[2] = sqlite3_column_double(stmt, 4);
        store_column_cpu_times(stmt, 5, &s->cpu_total_raw);
        s->mem_total_bytes = store_column_u64(stmt, 13);
        s->mem_free_bytes = store_column_u64(stmt, 14);
        s->mem_available_bytes = store_column_u64(stmt, 15);
        s->mem_buffers_bytes = store_column_u64(stmt, 16);
        s->mem_cached_bytes = store_column_u64(stmt, 17);
        s->mem_shared_bytes = store_column_u64(stmt, 18);
        s->mem_used_bytes = store_column_u64(stmt, 19);
        s->swap_total_bytes = store_column_u64(stmt, 20);
        s->swap_free_bytes = store_column_u64(stmt, 21);
        s->tasks_total = (int)sqlite3_column_int64(stmt, 22);
        s->tasks_running = (int)sqlite3_column_int64(stmt, 23);
        s->threads_total = (int)sqlite3_column_int64(stmt, 24);
        s->kernel_threads = (int)sqlite3_column_int64(stmt, 25);
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a tick", err, errlen);
        return -1;
    }
    return rc == SQLITE_ROW;
}

/* Reads the per-CPU counters of (session, tick). Returns the count (*out malloc'ed), or -1. */
static int store_read_tick_cpus(struct store *store, int64_t session_id, uint64_t tick,
                                struct cpu_times **out, char *err, size_t errlen)
{
    *out = NULL;
    if (store_prepare(store, &store->read.tick_cpus,
                      "SELECT user, nice, system, idle, iowait, irq, softirq, steal FROM tick_cpu"
                      " WHERE session_id = ?1 AND tick = ?2 ORDER BY cpu LIMIT ?3",
                      err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->read.tick_cpus;
    size_t count = 0, capacity = 0;
    int rc;
    sqlite3_bind_int64(stmt, 1, session_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)tick);
    sqlite3_bind_int(stmt, 3, STORE_READ_MAX_CPUS);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        xgrow((void **)out, &capacity, count + 1, sizeof **out);
        store_column_cpu_times(stmt, 0, &(*out)[count++]);
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a tick's CPUs", err, errlen);
        free(*out);
        *out = NULL;
        return -1;
    }
    if (!*out)
        *out = xcalloc(1, sizeof **out); /* never NULL, as in the live table */
    return (int)count;
}

/* System metrics of a tick, with CPU usage derived from the previous tick's counters. */
static int store_load_system(struct store *store, int64_t session_id, uint64_t index,
                             struct system_metrics *s, char *err, size_t errlen)
{
    struct system_metrics before;
    struct cpu_times *before_cpus = NULL;
    int before_count = 0, found_before = 0;
    memset(&before, 0, sizeof before);
    int found = store_read_tick_row(store, session_id, index, s, err, errlen);
    if (found < 0)
        return -1;
    if (found == 0) {
        store_error(err, errlen, "%s: tick %llu of session %lld was not recorded", store->name,
                    (unsigned long long)index, (long long)session_id);
        return -1;
    }
    int count = store_read_tick_cpus(store, session_id, index, &s->cpu_raw, err, errlen);
    if (count < 0)
        return -1;
    s->cpu_count = count;
    s->cpu = xcalloc((size_t)count + 1, sizeof *s->cpu);
    if (index > 1) {
        found_before = store_read_tick_row(store, session_id, index - 1, &before, err, errlen);
        if (found_before < 0)
            return -1;
        before_count = found_before ? store_read_tick_cpus(store, session_id, index - 1,
                                                           &before_cpus, err, errlen)
                                    : 0;
        if (before_count < 0)
            return -1;
    }
    /* Without a previous tick (the first one, or a gap) usage is since boot; when CPUs came
     * or went, per-CPU usage is since boot: both as the live table does. */
    static const struct cpu_times since_boot;
    store_cpu_usage(&s->cpu_total_raw, &before.cpu_total_raw, &s->cpu_total);
    for (int i = 0; i < count; i++)
        store_cpu_usage(&s->cpu_raw[i], before_count == count ? &before_cpus[i] : &since_boot,
                        &s->cpu[i]);
    free(before_cpus);
    return 0;
}

/* The index tick of a process row at or before tick: the greatest I <= tick with I - id a
 * multiple of K (unsigned arithmetic, as the writer; K is a power of two in our files). May be
 * below 1. */
static int64_t store_index_tick(const struct store_scope *scope, int64_t process_id, int64_t tick)
{
    uint64_t back = ((uint64_t)tick - (uint64_t)process_id) % (uint64_t)scope->index_interval;
    return tick - (int64_t)back;
}

/* Steps a bound statement that yields at most one row of metrics columns (from column 0)
 * and resets it. Returns 1 with out filled, 0 when there is no row, -1 with err set. */
static int store_step_sample(struct store *store, sqlite3_stmt *stmt, struct proc_metrics *out,
                             char *err, size_t errlen)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        store_column_metrics(stmt, 0, out);
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a process sample", err, errlen);
        return -1;
    }
    return rc == SQLITE_ROW;
}

/* Metrics of the sample that the sample_index row (index_tick, process_id) names.
 * Returns 1 found, 0 not, -1 with err set. */
static int store_read_indexed_sample(struct store *store, const struct store_scope *scope,
                                     int64_t process_id, int64_t index_tick,
                                     struct proc_metrics *out, char *err, size_t errlen)
{
    if (store_prepare(store, &store->read.indexed_sample,
                      "SELECT " STORE_METRICS_COLUMNS_OF(
                          "s") " FROM sample_index i"
                               " JOIN process_sample s ON s.session_id = i.session_id"
                               "  AND s.tick = i.sample_tick AND s.process_id = i.process_id"
                               " WHERE i.session_id = ?1 AND i.tick = ?2 AND i.process_id = ?3"
                               "  AND i.sample_tick <= ?2",
                      err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->read.indexed_sample;
    sqlite3_bind_int64(stmt, 1, scope->session_id);
    sqlite3_bind_int64(stmt, 2, index_tick);
    sqlite3_bind_int64(stmt, 3, process_id);
    return store_step_sample(store, stmt, out, err, errlen);
}

/* Metrics in force at tick for process row process_id (which starts at first_tick): the
 * newest sample at or before tick. Returns 1 found, 0 not (metrics zeroed), -1 with err. */
static int store_read_latest_sample(struct store *store, const struct store_scope *scope,
                                    int64_t process_id, int64_t first_tick, int64_t tick,
                                    struct proc_metrics *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (store_prepare(store, &store->read.probe_back,
                      "SELECT " STORE_METRICS_COLUMNS_OF(
                          "s") " FROM tick t"
                               " CROSS JOIN process_sample s ON s.session_id = t.session_id"
                               "  AND s.tick = t.tick AND s.process_id = ?4"
                               " WHERE t.session_id = ?1 AND t.tick >= ?2 AND t.tick <= ?3"
                               " ORDER BY t.tick DESC LIMIT 1",
                      err, errlen) < 0)
        return -1;
    int64_t index_tick = store_index_tick(scope, process_id, tick);
    sqlite3_stmt *stmt = store->read.probe_back;
    sqlite3_bind_int64(stmt, 1, scope->session_id);
    sqlite3_bind_int64(stmt, 2, index_tick > first_tick ? index_tick : first_tick);
    sqlite3_bind_int64(stmt, 3, tick);
    sqlite3_bind_int64(stmt, 4, process_id);
    int found = store_step_sample(store, stmt, out, err, errlen);
    if (found != 0 || index_tick < first_tick)
        return found;
    return store_read_indexed_sample(store, scope, process_id, index_tick, out, err, errlen);
}

/* A process row alive at the tick being loaded. */
struct store_alive {
    int64_t process_id; /* process row id */
    int64_t first_tick; /* its first tick */
    size_t position;    /* index in store_tick.processes */
    bool resolved;      /* its metrics were found among the recent samples */
};

static int store_alive_by_id(const void *a, const void *b)
{
    const struct store_alive *x = a, *y = b;
    return x->process_id < y->process_id ? -1 : x->process_id > y->process_id;
}

/* Reads the process rows alive at the tick into out (sorted by pid) and alive (by id). */
static int store_load_alive(struct store *store, const struct store_scope *scope, int64_t tick,
                            struct store_tick *out, struct store_alive **alive, char *err,
                            size_t errlen)
{
    if (store_prepare(store, &store->read.alive,
                      "SELECT id, pid, starttime_ticks, uid, user, comm, cmdline,"
                      " is_kernel_thread, first_tick FROM process"
                      " WHERE session_id = ?1 AND first_tick <= ?2"
                      "  AND (last_tick >= ?2 OR last_tick IS NULL)"
                      " ORDER BY pid, starttime_ticks",
                      err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->read.alive;
    size_t capacity = 0, alive_capacity = 0, cmdline_bytes = 0;
    int rc;
    sqlite3_bind_int64(stmt, 1, scope->session_id);
    sqlite3_bind_int64(stmt, 2, tick);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        size_t cmdline_len = (size_t)sqlite3_column_bytes(stmt, 6);
        if (out->process_count >= STORE_READ_MAX_PROCESSES ||
            cmdline_bytes + cmdline_len > STORE_READ_MAX_CMDLINE_SUM) {
            sqlite3_reset(stmt);
            store_error(err, errlen, "%s: tick %lld holds more processes than stacktop reads",
                        store->name, (long long)tick);
            return -1;
        }
        cmdline_bytes += cmdline_len;
        xgrow((void **)&out->processes, &capacity, out->process_count + 1, sizeof *out->processes);
        xgrow((void **)alive, &alive_capacity, out->process_count + 1, sizeof **alive);
        (*alive)[out->process_count] =
            (struct store_alive){sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 8),
                                 out->process_count, false};
        struct store_process *p = &out->processes[out->process_count++];
        memset(p, 0, sizeof *p);
        p->pid = (pid_t)sqlite3_column_int64(stmt, 1);
        p->starttime_ticks = store_column_u64(stmt, 2);
        p->uid = (uid_t)sqlite3_column_int64(stmt, 3);
        store_column_copy(stmt, 4, p->user, sizeof p->user);
        store_column_copy(stmt, 5, p->comm, sizeof p->comm);
        p->cmdline = store_column_strdup(stmt, 6, STORE_READ_MAX_VALUE_BYTES);
        p->is_kernel_thread = sqlite3_column_int64(stmt, 7) != 0;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a tick's processes", err, errlen);
        return -1;
    }
    if (out->process_count > 0)
        qsort(*alive, out->process_count, sizeof **alive, store_alive_by_id);
    return 0;
}

/* Processes alive at a tick with their metrics: one pass over the samples of the last K
 * ticks, then a sample_index lookup for the processes that did not change in that time. */
static int store_load_processes(struct store *store, const struct store_scope *scope,
                                uint64_t index, struct store_tick *out, char *err, size_t errlen)
{
    struct store_alive *alive = NULL;
    int64_t tick = (int64_t)index;
    int result = -1;
    if (store_load_alive(store, scope, tick, out, &alive, err, errlen) < 0)
        goto free_alive;
    if (out->process_count == 0) {
        result = 0;
        goto free_alive;
    }
    if (store_prepare(store, &store->read.recent_samples,
                      "SELECT tick, process_id, " STORE_METRICS_COLUMNS " FROM process_sample"
                      " WHERE session_id = ?1 AND tick >= ?2 AND tick <= ?3 ORDER BY tick",
                      err, errlen) < 0)
        goto free_alive;
    sqlite3_stmt *stmt = store->read.recent_samples;
    int rc;
    sqlite3_bind_int64(stmt, 1, scope->session_id);
    sqlite3_bind_int64(stmt, 2, tick - scope->index_interval + 1);
    sqlite3_bind_int64(stmt, 3, tick);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_alive key = {.process_id = sqlite3_column_int64(stmt, 1)};
        struct store_alive *found =
            bsearch(&key, alive, out->process_count, sizeof *alive, store_alive_by_id);
        if (!found || sqlite3_column_int64(stmt, 0) < found->first_tick)
            continue;
        /* Ascending ticks: the last row seen for a process is its newest. */
        store_column_metrics(stmt, 2, &out->processes[found->position].metrics);
        found->resolved = true;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a tick's samples", err, errlen);
        goto free_alive;
    }
    for (size_t i = 0; i < out->process_count; i++) {
        struct store_alive *a = &alive[i];
        int64_t index_tick = store_index_tick(scope, a->process_id, tick);
        if (a->resolved || index_tick < a->first_tick)
            continue;
        if (store_read_indexed_sample(store, scope, a->process_id, index_tick,
                                      &out->processes[a->position].metrics, err, errlen) < 0)
            goto free_alive;
    }
    result = 0;
free_alive:
    free(alive);
    return result;
}

int store_load_tick(struct store *store, int64_t session_id, uint64_t index, struct store_tick *out,
                    char *err, size_t errlen)
{
    struct store_scope scope;
    memset(out, 0, sizeof *out);
    if (!store) {
        store_error(err, errlen, "store: no file");
        return -1;
    }
    if (store_resolve_session(store, session_id, &scope, err, errlen) < 0)
        return -1;
    if (index < 1 || index > scope.tick_count) {
        store_error(err, errlen, "%s: tick %llu is out of range (session %lld has %llu ticks)",
                    store->name, (unsigned long long)index, (long long)scope.session_id,
                    (unsigned long long)scope.tick_count);
        return -1;
    }
    out->index = index;
    if (store_load_system(store, scope.session_id, index, &out->system, err, errlen) < 0 ||
        store_load_processes(store, &scope, index, out, err, errlen) < 0) {
        store_tick_free(out);
        return -1;
    }
    return 0;
}

void store_tick_free(struct store_tick *tick)
{
    if (!tick)
        return;
    for (size_t i = 0; i < tick->process_count; i++)
        free(tick->processes[i].cmdline);
    free(tick->processes);
    free(tick->system.cpu_raw);
    free(tick->system.cpu);
    memset(tick, 0, sizeof *tick);
}

/* One process row of a history, clamped to the session's ticks. */
struct store_segment {
    int64_t process_id; /* process row */
    int64_t first;      /* first tick covered, >= 1 */
    int64_t last;       /* last tick covered, >= first */
    int64_t first_tick; /* the row's own first_tick (for lookups) */
};

/* The process rows of (pid, starttime) in a session, in tick order, clamped so that they are
 * disjoint and within 1..tick_count. Returns the count (*out malloc'ed), or -1. */
static long store_history_segments(struct store *store, const struct store_scope *scope, pid_t pid,
                                   uint64_t starttime_ticks, struct store_segment **out, char *err,
                                   size_t errlen)
{
    *out = NULL;
    if (store_prepare(store, &store->read.segments,
                      "SELECT id, first_tick, last_tick FROM process"
                      " WHERE session_id = ?1 AND pid = ?2 AND starttime_ticks = ?3"
                      " ORDER BY first_tick LIMIT ?4",
                      err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->read.segments;
    size_t count = 0, capacity = 0;
    int64_t covered = 0, end = (int64_t)scope->tick_count;
    int rc;
    sqlite3_bind_int64(stmt, 1, scope->session_id);
    sqlite3_bind_int64(stmt, 2, pid);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)starttime_ticks);
    sqlite3_bind_int(stmt, 4, STORE_READ_MAX_SEGMENTS);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t first_tick = sqlite3_column_int64(stmt, 1), first = first_tick;
        int64_t last =
            sqlite3_column_type(stmt, 2) == SQLITE_NULL ? end : sqlite3_column_int64(stmt, 2);
        if (first <= covered)
            first = covered + 1;
        if (last > end)
            last = end;
        if (first > last)
            continue;
        xgrow((void **)out, &capacity, count + 1, sizeof **out);
        (*out)[count++] =
            (struct store_segment){sqlite3_column_int64(stmt, 0), first, last, first_tick};
        covered = last;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a process's history", err, errlen);
        free(*out);
        *out = NULL;
        return -1;
    }
    return (long)count;
}

/* Appends the points of ticks first..last of one process row: the metrics in force at first,
 * then one pass over the ticks joined with the row's samples, forward-filling. */
static int store_history_fill(struct store *store, const struct store_scope *scope,
                              const struct store_segment *segment, int64_t first, int64_t last,
                              struct store_history_point *points, size_t *n, char *err,
                              size_t errlen)
{
    struct proc_metrics current;
    if (store_read_latest_sample(store, scope, segment->process_id, segment->first_tick, first,
                                 &current, err, errlen) < 0 ||
        store_prepare(store, &store->read.window,
                      "SELECT t.tick, t.timestamp_us, s.tick, " STORE_METRICS_COLUMNS_OF(
                          "s") " FROM tick t"
                               " LEFT JOIN process_sample s ON s.session_id = t.session_id"
                               "  AND s.tick = t.tick AND s.process_id = ?2"
                               " WHERE t.session_id = ?1 AND t.tick >= ?3 AND t.tick <= ?4"
                               " ORDER BY t.tick",
                      err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->read.window;
    sqlite3_bind_int64(stmt, 1, scope->session_id);
    sqlite3_bind_int64(stmt, 2, segment->process_id);
    sqlite3_bind_int64(stmt, 3, first);
    sqlite3_bind_int64(stmt, 4, last);
    int rc = sqlite3_step(stmt);
    for (int64_t t = first; t <= last; t++) {
        uint64_t timestamp_us = 0;
        while (rc == SQLITE_ROW && sqlite3_column_int64(stmt, 0) <= t) {
            if (sqlite3_column_int64(stmt, 0) == t) {
                timestamp_us = store_column_u64(stmt, 1);
                if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
                    store_column_metrics(stmt, 3, &current);
            }
            rc = sqlite3_step(stmt);
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            store_sqlite_error(store, "cannot read a process's history", err, errlen);
            sqlite3_reset(stmt);
            return -1;
        }
        struct store_history_point *point = &points[(*n)++];
        point->tick = (uint64_t)t;
        point->timestamp_us = timestamp_us;
        point->metrics = current;
    }
    sqlite3_reset(stmt);
    return 0;
}

long store_process_history(struct store *store, pid_t pid, uint64_t starttime_ticks,
                           size_t max_points, struct store_history_point **out, char *err,
                           size_t errlen)
{
    struct store_segment *segments = NULL;
    struct store_scope scope;
    long result = -1;
    *out = NULL;
    if (!store) {
        store_error(err, errlen, "store: no file");
        return -1;
    }
    if (store_resolve_session(store, 0, &scope, err, errlen) < 0)
        return -1;
    long segment_count =
        store_history_segments(store, &scope, pid, starttime_ticks, &segments, err, errlen);
    if (segment_count < 0)
        return -1;
    uint64_t total = 0; /* segments are disjoint within 1..tick_count: no overflow */
    for (long i = 0; i < segment_count; i++)
        total += (uint64_t)(segments[i].last - segments[i].first + 1);
    size_t wanted = total < max_points ? (size_t)total : max_points;
    if (wanted == 0) {
        result = 0;
        goto free_segments;
    }
    uint64_t skip = total - wanted;
    struct store_history_point *points = xcalloc(wanted, sizeof *points);
    size_t n = 0;
    for (long i = 0; i < segment_count; i++) {
        int64_t first = segments[i].first, last = segments[i].last;
        uint64_t length = (uint64_t)(last - first + 1);
        if (skip >= length) {
            skip -= length;
            continue;
        }
        first += (int64_t)skip;
        skip = 0;
        if (store_history_fill(store, &scope, &segments[i], first, last, points, &n, err, errlen) <
            0) {
            free(points);
            goto free_segments;
        }
    }
    *out = points;
    result = (long)n;
free_segments:
    free(segments);
    return result;
}

void store_read_free(struct store *store)
{
    struct store_read_statements *r = &store->read;
    sqlite3_stmt **all[] = {&r->sessions,   &r->tick,           &r->tick_cpus,
                            &r->alive,      &r->recent_samples, &r->indexed_sample,
                            &r->probe_back, &r->segments,       &r->window};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
    store_sessions_free(store);
}
