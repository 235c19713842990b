/*
 * store_record: writing a session, one tick per transaction.
 *
 * Owns: the session row of a recording, the live table (one entry per process row still open,
 * keyed by (pid, starttime_ticks)) and the delta encoding of process metrics.
 *
 * A process row is one stretch of ticks during which a (pid, starttime) was present with the
 * same identity (uid, user, comm, cmdline, kernel-thread flag). It opens at first_tick; it is
 * ended (last_tick = T - 1) at the first tick T that does not list it, or that lists it with a
 * different identity (exec, setuid, prctl(PR_SET_NAME)), in which case a new row opens at T.
 * A process_sample row is written when a process row opens and then only at ticks where some
 * field of struct proc_metrics differs from the last row written for it. Samples are keyed by
 * (session, tick, process): a tick's rows are appended together, so a tick dirties a few pages
 * at the end of the table instead of one page per changed process.
 * Every sample_index_interval (K) ticks, staggered by process row id (tick = id mod K), a
 * process that has no sample at that tick gets a sample_index row naming the tick of its
 * newest sample, so that a reader looks back at most K ticks (see store_read.c).
 *
 * Invariants:
 *   - a tick touches the database only for its own tick and tick_cpu rows, for processes that
 *     appeared, changed identity or changed metrics, and for processes that ended: a tick of
 *     unchanged processes costs hash lookups and field comparisons only;
 *   - a failed tick is rolled back; the live table is then dropped and resync_needed set, so
 *     that the next tick ends every open row at the last committed tick and starts over. The
 *     file never holds two open rows for one process.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_private.h"
#include "xalloc.h"

/* What the store remembers of a live process between ticks. */
struct store_live_process {
    pid_t pid;                   /* process id (key) */
    uint64_t starttime_ticks;    /* start time (key) */
    int64_t process_id;          /* row id of its open process row */
    uint64_t seen_tick;          /* last tick that listed it */
    uid_t uid;                   /* identity as written in the process row */
    char user[PROC_USER_MAX];    /* identity as written */
    char comm[PROC_COMM_MAX];    /* identity as written */
    char *cmdline;               /* identity as written (owned) */
    bool is_kernel_thread;       /* identity as written */
    struct proc_metrics written; /* metrics of its newest process_sample row */
    uint64_t sample_tick;        /* tick of its newest process_sample row */
};

static uint64_t store_live_hash(pid_t pid, uint64_t starttime_ticks)
{
    uint64_t x = (uint64_t)(uint32_t)pid * 0x9e3779b97f4a7c15ull ^ starttime_ticks;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Slot of (pid, starttime), or of the empty slot where it would go. capacity must be > 0. */
static size_t store_live_slot(const struct store_live_table *table, pid_t pid,
                              uint64_t starttime_ticks)
{
    size_t mask = table->capacity - 1;
    size_t i = (size_t)store_live_hash(pid, starttime_ticks) & mask;
    while (table->slots[i] &&
           (table->slots[i]->pid != pid || table->slots[i]->starttime_ticks != starttime_ticks))
        i = (i + 1) & mask;
    return i;
}

static struct store_live_process *store_live_find(const struct store_live_table *table, pid_t pid,
                                                  uint64_t starttime_ticks)
{
    if (table->capacity == 0)
        return NULL;
    return table->slots[store_live_slot(table, pid, starttime_ticks)];
}

static void store_live_grow(struct store_live_table *table)
{
    size_t old_capacity = table->capacity;
    struct store_live_process **old_slots = table->slots;
    table->capacity = old_capacity ? old_capacity * 2 : 1024;
    table->slots = xcalloc(table->capacity, sizeof *table->slots);
    for (size_t i = 0; i < old_capacity; i++) {
        if (old_slots[i]) {
            size_t slot = store_live_slot(table, old_slots[i]->pid, old_slots[i]->starttime_ticks);
            table->slots[slot] = old_slots[i];
        }
    }
    free(old_slots);
}

static void store_live_insert(struct store_live_table *table, struct store_live_process *live)
{
    if ((table->count + 1) * 2 > table->capacity)
        store_live_grow(table);
    table->slots[store_live_slot(table, live->pid, live->starttime_ticks)] = live;
    table->count++;
}

/* Removes live from the table (backward-shift deletion keeps probe chains intact). */
static void store_live_remove(struct store_live_table *table, const struct store_live_process *live)
{
    size_t mask = table->capacity - 1;
    size_t hole = store_live_slot(table, live->pid, live->starttime_ticks);
    table->slots[hole] = NULL;
    table->count--;
    for (size_t i = (hole + 1) & mask; table->slots[i]; i = (i + 1) & mask) {
        size_t home =
            (size_t)store_live_hash(table->slots[i]->pid, table->slots[i]->starttime_ticks) & mask;
        /* Move it into the hole if its home is not cyclically within (hole, i]. */
        bool stays = hole < i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            table->slots[hole] = table->slots[i];
            table->slots[i] = NULL;
            hole = i;
        }
    }
}

static void store_live_clear(struct store_live_table *table)
{
    for (size_t i = 0; i < table->capacity; i++) {
        if (table->slots[i]) {
            free(table->slots[i]->cmdline);
            free(table->slots[i]);
        }
    }
    free(table->slots);
    memset(table, 0, sizeof *table);
}

static bool store_metrics_equal(const struct proc_metrics *a, const struct proc_metrics *b)
{
    return a->state == b->state && a->ppid == b->ppid && a->priority == b->priority &&
           a->nice == b->nice && a->num_threads == b->num_threads &&
           a->vsize_bytes == b->vsize_bytes && a->rss_bytes == b->rss_bytes &&
           a->utime_ticks == b->utime_ticks && a->stime_ticks == b->stime_ticks &&
           a->read_bytes == b->read_bytes && a->write_bytes == b->write_bytes &&
           a->voluntary_ctxsw == b->voluntary_ctxsw &&
           a->involuntary_ctxsw == b->involuntary_ctxsw && a->fd_count == b->fd_count &&
           a->processor == b->processor;
}

static const char *store_cmdline_of(const struct proc_entry *entry)
{
    return entry->cmdline ? entry->cmdline : "";
}

/* Whether a fixed-size field that may lack its terminator equals what store_copy_field()
 * made of it. */
static bool store_field_equal(const char *copied, const char *field, size_t size)
{
    size_t len = strnlen(field, size - 1);
    return copied[len] == '\0' && memcmp(copied, field, len) == 0;
}

static bool store_identity_equal(const struct store_live_process *live,
                                 const struct proc_entry *entry)
{
    return live->uid == entry->uid && live->is_kernel_thread == entry->is_kernel_thread &&
           store_field_equal(live->comm, entry->comm, sizeof live->comm) &&
           store_field_equal(live->user, entry->user, sizeof live->user) &&
           strcmp(live->cmdline, store_cmdline_of(entry)) == 0;
}

/* Copies a fixed-size field that may lack its terminator. */
static void store_copy_field(char *dst, const char *src, size_t size)
{
    size_t len = strnlen(src, size - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void store_bind_u64(sqlite3_stmt *stmt, int index, uint64_t value)
{
    /* Stored as the same 64 bits; values above INT64_MAX read back unchanged. */
    sqlite3_bind_int64(stmt, index, (sqlite3_int64)value);
}

int store_record_begin_session(struct store *store, const struct store_session_info *info,
                               char *err, size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store->db,
                           "INSERT INTO session (host, kernel, boot_id, command_line,"
                           " interval_seconds, clock_ticks, boot_time, started_us,"
                           " sample_index_interval) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &stmt, NULL) != SQLITE_OK) {
        store_sqlite_error(store, "cannot prepare the session", err, errlen);
        return -1;
    }
    sqlite3_bind_text(stmt, 1, info->host ? info->host : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, info->kernel ? info->kernel : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, info->boot_id ? info->boot_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, info->command_line ? info->command_line : "", -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 5, info->interval_seconds);
    sqlite3_bind_int64(stmt, 6, info->clock_ticks);
    store_bind_u64(stmt, 7, info->boot_time);
    store_bind_u64(stmt, 8, info->started_us);
    sqlite3_bind_int(stmt, 9, STORE_SAMPLE_INDEX_INTERVAL);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot write the session", err, errlen);
        return -1;
    }
    store->session_id = sqlite3_last_insert_rowid(store->db);
    store->tick_count = 0;
    store->index_interval = STORE_SAMPLE_INDEX_INTERVAL;
    return 0;
}

/* Prepares every statement of the recording path. */
static int store_record_prepare(struct store *store, char *err, size_t errlen)
{
    struct store_record_statements *w = &store->write;
    if (w->end_all_open)
        return 0;
    if (store_prepare(store, &w->begin, "BEGIN IMMEDIATE", err, errlen) < 0 ||
        store_prepare(store, &w->commit, "COMMIT", err, errlen) < 0 ||
        store_prepare(store, &w->rollback, "ROLLBACK", err, errlen) < 0 ||
        store_prepare(store, &w->insert_tick,
                      "INSERT INTO tick (session_id, tick, timestamp_us, uptime_seconds, load1,"
                      " load5, load15, cpu_count, cpu_user, cpu_nice, cpu_system, cpu_idle,"
                      " cpu_iowait, cpu_irq, cpu_softirq, cpu_steal, mem_total_bytes,"
                      " mem_free_bytes, mem_available_bytes, mem_buffers_bytes,"
                      " mem_cached_bytes, mem_shared_bytes, mem_used_bytes, swap_total_bytes,"
                      " swap_free_bytes, tasks_total, tasks_running, threads_total,"
                      " kernel_threads) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                      " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25,"
                      " ?26, ?27, ?28, ?29)",
                      err, errlen) < 0 ||
        store_prepare(store, &w->insert_cpu,
                      "INSERT INTO tick_cpu (session_id, tick, cpu, user, nice, system, idle,"
                      " iowait, irq, softirq, steal)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                      err, errlen) < 0 ||
        store_prepare(store, &w->insert_process,
                      "INSERT INTO process (session_id, pid, starttime_ticks, ppid, uid, user,"
                      " comm, cmdline, is_kernel_thread, first_tick)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                      err, errlen) < 0 ||
        store_prepare(store, &w->insert_sample,
                      "INSERT OR REPLACE INTO process_sample (session_id, tick, process_id,"
                      " state, ppid, priority, nice, num_threads, vsize_bytes, rss_bytes,"
                      " utime_ticks, stime_ticks, read_bytes, write_bytes, voluntary_ctxsw,"
                      " involuntary_ctxsw, fd_count, processor) VALUES (?1, ?2, ?3, ?4, ?5,"
                      " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                      err, errlen) < 0 ||
        store_prepare(store, &w->insert_index,
                      "INSERT OR REPLACE INTO sample_index (session_id, tick, process_id,"
                      " sample_tick) VALUES (?1, ?2, ?3, ?4)",
                      err, errlen) < 0 ||
        store_prepare(store, &w->end_process, "UPDATE process SET last_tick = ?2 WHERE id = ?1",
                      err, errlen) < 0 ||
        store_prepare(store, &w->end_all_open,
                      "UPDATE process SET last_tick = ?2"
                      " WHERE session_id = ?1 AND last_tick IS NULL",
                      err, errlen) < 0)
        return -1;
    return 0;
}

static void store_bind_cpu_times(sqlite3_stmt *stmt, int first, const struct cpu_times *t)
{
    store_bind_u64(stmt, first + 0, t->user);
    store_bind_u64(stmt, first + 1, t->nice);
    store_bind_u64(stmt, first + 2, t->system);
    store_bind_u64(stmt, first + 3, t->idle);
    store_bind_u64(stmt, first + 4, t->iowait);
    store_bind_u64(stmt, first + 5, t->irq);
    store_bind_u64(stmt, first + 6, t->softirq);
    store_bind_u64(stmt, first + 7, t->steal);
}

/* The tick row and its tick_cpu rows. */
static int store_record_system(struct store *store, uint64_t tick, const struct system_metrics *s)
{
    sqlite3_stmt *stmt = store->write.insert_tick;
    int cpu_count = s->cpu_raw && s->cpu_count > 0 ? s->cpu_count : 0;
    sqlite3_bind_int64(stmt, 1, store->session_id);
    store_bind_u64(stmt, 2, tick);
    store_bind_u64(stmt, 3, s->timestamp_us);
    sqlite3_bind_double(stmt, 4, s->uptime_seconds);
    sqlite3_bind_double(stmt, 5, s->load[0]);
    sqlite3_bind_double(stmt, 6, s->load[1]);
    sqlite3_bind_double(stmt, 7, s->load[2]);
    sqlite3_bind_int(stmt, 8, cpu_count);
    store_bind_cpu_times(stmt, 9, &s->cpu_total_raw);
    store_bind_u64(stmt, 17, s->mem_total_bytes);
    store_bind_u64(stmt, 18, s->mem_free_bytes);
    store_bind_u64(stmt, 19, s->mem_available_bytes);
    store_bind_u64(stmt, 20, s->mem_buffers_bytes);
    store_bind_u64(stmt, 21, s->mem_cached_bytes);
    store_bind_u64(stmt, 22, s->mem_shared_bytes);
    store_bind_u64(stmt, 23, s->mem_used_bytes);
    store_bind_u64(stmt, 24, s->swap_total_bytes);
    store_bind_u64(stmt, 25, s->swap_free_bytes);
    sqlite3_bind_int(stmt, 26, s->tasks_total);
    sqlite3_bind_int(stmt, 27, s->tasks_running);
    sqlite3_bind_int(stmt, 28, s->threads_total);
    sqlite3_bind_int(stmt, 29, s->kernel_threads);
    if (store_step_done(stmt) != SQLITE_DONE)
        return -1;
    stmt = store->write.insert_cpu;
    sqlite3_bind_int64(stmt, 1, store->session_id);
    store_bind_u64(stmt, 2, tick);
    for (int cpu = 0; cpu < cpu_count; cpu++) {
        sqlite3_bind_int(stmt, 3, cpu);
        store_bind_cpu_times(stmt, 4, &s->cpu_raw[cpu]);
        if (store_step_done(stmt) != SQLITE_DONE)
            return -1;
    }
    return 0;
}

/* Writes the metrics of live at tick and remembers them as written. */
static int store_record_sample(struct store *store, struct store_live_process *live, uint64_t tick,
                               const struct proc_metrics *m)
{
    sqlite3_stmt *stmt = store->write.insert_sample;
    sqlite3_bind_int64(stmt, 1, store->session_id);
    store_bind_u64(stmt, 2, tick);
    sqlite3_bind_int64(stmt, 3, live->process_id);
    sqlite3_bind_text(stmt, 4, &m->state, m->state ? 1 : 0, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 5, m->ppid);
    sqlite3_bind_int64(stmt, 6, m->priority);
    sqlite3_bind_int64(stmt, 7, m->nice);
    sqlite3_bind_int64(stmt, 8, m->num_threads);
    store_bind_u64(stmt, 9, m->vsize_bytes);
    store_bind_u64(stmt, 10, m->rss_bytes);
    store_bind_u64(stmt, 11, m->utime_ticks);
    store_bind_u64(stmt, 12, m->stime_ticks);
    store_bind_u64(stmt, 13, m->read_bytes);
    store_bind_u64(stmt, 14, m->write_bytes);
    store_bind_u64(stmt, 15, m->voluntary_ctxsw);
    store_bind_u64(stmt, 16, m->involuntary_ctxsw);
    sqlite3_bind_int(stmt, 17, m->fd_count);
    sqlite3_bind_int(stmt, 18, m->processor);
    if (store_step_done(stmt) != SQLITE_DONE)
        return -1;
    live->written = *m;
    live->sample_tick = tick;
    return 0;
}

/* The sample_index row of live at tick, when tick is its index tick and it has no sample
 * there. Index ticks are those where tick - process_id is a multiple of K (unsigned
 * arithmetic; K is a power of two, so this matches the SQL of the views). */
static int store_record_index(struct store *store, const struct store_live_process *live,
                              uint64_t tick)
{
    uint64_t interval = (uint64_t)store->index_interval;
    if (live->sample_tick == tick || (tick - (uint64_t)live->process_id) % interval != 0)
        return 0;
    sqlite3_stmt *stmt = store->write.insert_index;
    sqlite3_bind_int64(stmt, 1, store->session_id);
    store_bind_u64(stmt, 2, tick);
    sqlite3_bind_int64(stmt, 3, live->process_id);
    store_bind_u64(stmt, 4, live->sample_tick);
    return store_step_done(stmt) == SQLITE_DONE ? 0 : -1;
}

static int store_record_end_row(struct store *store, int64_t process_id, uint64_t last_tick)
{
    sqlite3_stmt *stmt = store->write.end_process;
    sqlite3_bind_int64(stmt, 1, process_id);
    store_bind_u64(stmt, 2, last_tick);
    return store_step_done(stmt) == SQLITE_DONE ? 0 : -1;
}

/* Opens a process row for entry at tick and makes live mirror it. */
static int store_record_open_row(struct store *store, struct store_live_process *live,
                                 const struct proc_entry *entry, uint64_t tick)
{
    sqlite3_stmt *stmt = store->write.insert_process;
    live->uid = entry->uid;
    live->is_kernel_thread = entry->is_kernel_thread;
    store_copy_field(live->user, entry->user, sizeof live->user);
    store_copy_field(live->comm, entry->comm, sizeof live->comm);
    free(live->cmdline);
    live->cmdline = xstrdup(store_cmdline_of(entry));

    sqlite3_bind_int64(stmt, 1, store->session_id);
    sqlite3_bind_int64(stmt, 2, entry->pid);
    store_bind_u64(stmt, 3, entry->starttime_ticks);
    sqlite3_bind_int64(stmt, 4, entry->metrics.ppid);
    sqlite3_bind_int64(stmt, 5, entry->uid);
    sqlite3_bind_text(stmt, 6, live->user, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, live->comm, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 8, live->cmdline, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 9, entry->is_kernel_thread ? 1 : 0);
    store_bind_u64(stmt, 10, tick);
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt); /* the bound strings belong to live */
    if (rc != SQLITE_DONE)
        return -1;
    live->process_id = sqlite3_last_insert_rowid(store->db);
    return store_record_sample(store, live, tick, &entry->metrics);
}

/* One process entry of the tick. */
static int store_record_process(struct store *store, const struct proc_entry *entry, uint64_t tick,
                                size_t *seen)
{
    struct store_live_process *live =
        store_live_find(&store->live, entry->pid, entry->starttime_ticks);
    if (!live) {
        live = xcalloc(1, sizeof *live);
        live->pid = entry->pid;
        live->starttime_ticks = entry->starttime_ticks;
        live->seen_tick = tick;
        store_live_insert(&store->live, live);
        (*seen)++;
        return store_record_open_row(store, live, entry, tick);
    }
    if (live->seen_tick == tick)
        return 0; /* listed twice in one tick: the first entry wins */
    live->seen_tick = tick;
    (*seen)++;
    if (!store_identity_equal(live, entry)) {
        if (store_record_end_row(store, live->process_id, tick - 1) < 0)
            return -1;
        return store_record_open_row(store, live, entry, tick);
    }
    if (!store_metrics_equal(&live->written, &entry->metrics) &&
        store_record_sample(store, live, tick, &entry->metrics) < 0)
        return -1;
    return store_record_index(store, live, tick);
}

/* Ends the rows of processes the tick did not list. */
static int store_record_sweep(struct store *store, uint64_t tick)
{
    size_t ended = 0;
    for (size_t i = 0; i < store->live.capacity; i++) {
        struct store_live_process *live = store->live.slots[i];
        if (live && live->seen_tick != tick) {
            xgrow((void **)&store->ended, &store->ended_capacity, ended + 1, sizeof *store->ended);
            store->ended[ended++] = live;
        }
    }
    for (size_t i = 0; i < ended; i++) {
        struct store_live_process *live = store->ended[i];
        if (store_record_end_row(store, live->process_id, tick - 1) < 0)
            return -1;
        store_live_remove(&store->live, live);
        free(live->cmdline);
        free(live);
    }
    return 0;
}

int store_record_tick(struct store *store, const struct system_metrics *system,
                      const struct proc_entry *const *entries, size_t count, char *err,
                      size_t errlen)
{
    if (!store || store->read_only) {
        store_error(err, errlen, "%s: opened read-only, cannot record",
                    store ? store->name : "store");
        return -1;
    }
    if (!system || (count > 0 && !entries)) {
        store_error(err, errlen, "%s: no tick to record", store->name);
        return -1;
    }
    if (store_record_prepare(store, err, errlen) < 0)
        return -1;
    uint64_t tick = store->tick_count + 1;
    if (store_step_done(store->write.begin) != SQLITE_DONE) {
        store_sqlite_error(store, "cannot start the tick's transaction", err, errlen);
        return -1;
    }
    if (store->resync_needed) {
        sqlite3_bind_int64(store->write.end_all_open, 1, store->session_id);
        store_bind_u64(store->write.end_all_open, 2, tick - 1);
        if (store_step_done(store->write.end_all_open) != SQLITE_DONE)
            goto roll_back;
    }
    if (store_record_system(store, tick, system) < 0)
        goto roll_back;
    size_t seen = 0;
    for (size_t i = 0; i < count; i++) {
        const struct proc_entry *entry = entries[i];
        if (!entry || entry->is_thread)
            continue;
        if (store_record_process(store, entry, tick, &seen) < 0)
            goto roll_back;
    }
    if (seen != store->live.count && store_record_sweep(store, tick) < 0)
        goto roll_back;
    if (store_step_done(store->write.commit) != SQLITE_DONE)
        goto roll_back;
    store->tick_count = tick;
    store->resync_needed = false;
    return 0;

roll_back:
    store_sqlite_error(store, "cannot record the tick", err, errlen);
    store_step_done(store->write.rollback);
    store_live_clear(&store->live);
    store->resync_needed = true;
    return -1;
}

int store_record_end_session(struct store *store, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ended_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    if (store_exec(store, "BEGIN IMMEDIATE", "cannot end the session", err, errlen) < 0)
        return -1;
    if (sqlite3_prepare_v2(store->db, "UPDATE session SET ended_us = ?2 WHERE id = ?1", -1, &stmt,
                           NULL) != SQLITE_OK)
        goto roll_back;
    sqlite3_bind_int64(stmt, 1, store->session_id);
    store_bind_u64(stmt, 2, ended_us);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc != SQLITE_DONE)
        goto roll_back;
    /* Rows still open were alive at the last tick: make that explicit for the views. */
    if (sqlite3_prepare_v2(store->db,
                           "UPDATE process SET last_tick = ?2"
                           " WHERE session_id = ?1 AND last_tick IS NULL",
                           -1, &stmt, NULL) != SQLITE_OK)
        goto roll_back;
    sqlite3_bind_int64(stmt, 1, store->session_id);
    store_bind_u64(stmt, 2, store->tick_count);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        goto roll_back;
    if (store_exec(store, "COMMIT", "cannot end the session", err, errlen) < 0)
        goto roll_back_quietly;
    return 0;
roll_back:
    store_sqlite_error(store, "cannot end the session", err, errlen);
roll_back_quietly:
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

void store_record_free(struct store *store)
{
    struct store_record_statements *w = &store->write;
    sqlite3_stmt **all[] = {
        &w->begin,          &w->commit,        &w->rollback,     &w->insert_tick, &w->insert_cpu,
        &w->insert_process, &w->insert_sample, &w->insert_index, &w->end_process, &w->end_all_open};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
    store_live_clear(&store->live);
    free(store->ended);
    store->ended = NULL;
    store->ended_capacity = 0;
}
