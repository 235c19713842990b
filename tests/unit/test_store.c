/*
 * test_store: the session database (store/).
 *
 * Round trip: a simulated machine (processes appearing, exiting, hiding for a tick, exec'ing,
 * pid reuse, odd bytes everywhere, CPU hotplug) is recorded, then every tick is reconstructed
 * and compared field by field, live and from the closed file; the number of rows written is
 * compared with what delta encoding promises. Then the file's life cycle (mode, WAL gone,
 * append), every refusal (symlink, non-regular, foreign SQLite file, garbage, truncated,
 * newer version), hostile content, a failed tick, the SQL views, and the cost of a tick.
 *
 * Raw sqlite3 is used here (and only here outside store/) to inspect and forge files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "store_test_util.h"
#include "store.h"
#include "xalloc.h"

static bool file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool side_file_exists(const char *path, const char *suffix)
{
    char *side = xasprintf("%s%s", path, suffix);
    bool exists = file_exists(side);
    free(side);
    return exists;
}

/* Reads a whole file (for "left untouched" checks). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(data, 1, len, f);
    fclose(f);
}

static struct store_session_info test_info(void)
{
    return store_test_info("stacktop --batch -n 50");
}

/* ---- the simulated machine ---- */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static bool chance(int percent)
{
    return (int)(rng() % 100) < percent;
}

#define SIM_SLOTS 48
#define SIM_CPUS  4

/* One simulated process. */
struct sim_process {
    bool alive;                /* exists */
    bool hidden;               /* alive but not listed this tick */
    struct proc_entry entry;   /* what a tick lists for it (cmdline owned) */
    struct proc_entry threads; /* a thread row listed with it (ignored by the store) */
};

static struct sim_process sim[SIM_SLOTS];
static pid_t sim_next_pid = 100;
static pid_t sim_recycled_pid; /* a pid freed last tick, reused by the next spawn */

static const char *const sim_comms[] = {
    "bash",
    "\x1b[31mred\x1b[0m",
    "\xff\xfe\x01\x02junk",
    "evil\xe2\x80\xae"
    "txt.exe",
    "kworker/0:1-events_power_efficient_long_name_that_is_long_enough_to_truncate",
    "",
};

static void sim_random_bytes(char *dst, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = (char)(1 + rng() % 255);
    dst[len] = '\0';
}

static char *sim_cmdline(void)
{
    switch (rng() % 5) {
    case 0:
        return xstrdup("/usr/bin/server --port 8080 \x1b]0;title\x07 \x9b"
                       "31m");
    case 1: {
        size_t len = 1 + rng() % 6000;
        char *s = xmalloc(len + 1);
        sim_random_bytes(s, len);
        return s;
    }
    case 2:
        return xstrdup("");
    default:
        return xasprintf("/opt/app/worker --id %llu", (unsigned long long)(rng() % 1000));
    }
}

static void sim_set_identity(struct proc_entry *e)
{
    const char *comm = sim_comms[rng() % (sizeof sim_comms / sizeof sim_comms[0])];
    if (chance(20)) {
        char junk[PROC_COMM_MAX];
        sim_random_bytes(junk, 1 + rng() % 15);
        comm = junk;
        snprintf(e->comm, sizeof e->comm, "%s", comm);
    } else {
        snprintf(e->comm, sizeof e->comm, "%.*s", PROC_COMM_MAX - 1, comm);
    }
    e->uid = (uid_t)(rng() % 3 == 0 ? 0 : 1000 + rng() % 3);
    snprintf(e->user, sizeof e->user, "%s", e->uid == 0 ? "root" : "\x1b[1muser\x1b[0m");
    free(e->cmdline);
    e->is_kernel_thread = chance(10);
    e->cmdline = e->is_kernel_thread ? xstrdup("") : sim_cmdline();
}

static void sim_change_metric(struct proc_metrics *m)
{
    switch (rng() % 15) {
    case 0:
        m->state = "RSDZTtIX"[rng() % 8];
        break;
    case 1:
        m->ppid = (pid_t)(1 + rng() % 500);
        break;
    case 2:
        m->priority = (long)(rng() % 40) - 20;
        break;
    case 3:
        m->nice = (long)(rng() % 40) - 20;
        break;
    case 4:
        m->num_threads = (long)(1 + rng() % 100);
        break;
    case 5:
        m->vsize_bytes = rng();
        break; /* often above INT64_MAX */
    case 6:
        m->rss_bytes += 4096 * (1 + rng() % 100);
        break;
    case 7:
        m->utime_ticks += 1 + rng() % 50;
        break;
    case 8:
        m->stime_ticks += 1 + rng() % 50;
        break;
    case 9:
        m->read_bytes += rng() % 100000;
        break;
    case 10:
        m->write_bytes += rng() % 100000;
        break;
    case 11:
        m->voluntary_ctxsw += 1 + rng() % 10;
        break;
    case 12:
        m->involuntary_ctxsw += 1 + rng() % 10;
        break;
    case 13:
        m->fd_count = chance(30) ? -1 : (int32_t)(rng() % 1000);
        break;
    default:
        m->processor = (int32_t)(rng() % SIM_CPUS);
        break;
    }
}

static void sim_spawn(struct sim_process *p, uint64_t tick)
{
    memset(&p->entry.metrics, 0, sizeof p->entry.metrics);
    p->alive = true;
    p->hidden = false;
    p->entry.pid = sim_recycled_pid ? sim_recycled_pid : sim_next_pid++;
    sim_recycled_pid = 0;
    p->entry.tgid = p->entry.pid;
    p->entry.starttime_ticks = tick * 1000 + rng() % 1000;
    p->entry.is_thread = false;
    sim_set_identity(&p->entry);
    p->entry.metrics.state = 'S';
    p->entry.metrics.ppid = 1;
    p->entry.metrics.num_threads = 2;
    p->entry.metrics.nice = -5;
    p->entry.metrics.fd_count = -1;
    p->entry.metrics.vsize_bytes = UINT64_MAX - tick;
    p->threads = p->entry;
    p->threads.cmdline = NULL;
    p->threads.pid = p->entry.pid + 100000;
    p->threads.is_thread = true;
}

/* Advances the machine to tick and fills entries (shuffled, threads included). */
static size_t sim_step(uint64_t tick, const struct proc_entry **entries)
{
    for (int i = 0; i < SIM_SLOTS; i++) {
        struct sim_process *p = &sim[i];
        if (!p->alive) {
            if (tick == 1 ? i < 40 : chance(15))
                sim_spawn(p, tick);
            continue;
        }
        if (chance(6) || (tick == 20 && i == 0)) {
            /* exits; its pid comes back at once for the next spawn, even in this tick */
            p->alive = false;
            sim_recycled_pid = p->entry.pid;
            if (tick == 20 && i == 0)
                sim_spawn(p, tick);
            continue;
        }
        p->hidden = chance(3);
        if (chance(3)) /* exec, setuid or PR_SET_NAME: a new identity */
            sim_set_identity(&p->entry);
        if (chance(40))
            sim_change_metric(&p->entry.metrics);
        if (chance(10))
            sim_change_metric(&p->entry.metrics);
        p->threads.metrics = p->entry.metrics;
        p->threads.metrics.utime_ticks = tick; /* changes every tick: must not matter */
    }
    size_t n = 0;
    for (int i = 0; i < SIM_SLOTS; i++) {
        if (!sim[i].alive || sim[i].hidden)
            continue;
        entries[n++] = &sim[i].entry;
        if (i % 3 == 0)
            entries[n++] = &sim[i].threads;
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = rng() % i;
        const struct proc_entry *swap = entries[i - 1];
        entries[i - 1] = entries[j];
        entries[j] = swap;
    }
    return n;
}

static void sim_system(uint64_t tick, struct system_metrics *s, struct cpu_times *cpus)
{
    static struct cpu_times total;
    memset(s, 0, sizeof *s);
    s->timestamp_us = 1700000100000000ull + tick * 1500000 + rng() % 1000;
    s->uptime_seconds = 12345.67 + (double)tick * 1.5;
    s->load[0] = (double)(rng() % 1000) / 100.0;
    s->load[1] = 1.0 / 3.0;
    s->load[2] = (double)tick;
    s->cpu_count = tick >= 30 ? 2 : SIM_CPUS; /* hotplug */
    for (int i = 0; i < s->cpu_count; i++) {
        cpus[i].user += 1 + rng() % 100;
        cpus[i].system += rng() % 50;
        cpus[i].idle += rng() % 150;
        cpus[i].iowait += rng() % 3;
        cpus[i].steal = UINT64_MAX - 1000 + tick; /* above INT64_MAX */
        total.user += cpus[i].user % 100;
        total.idle += cpus[i].idle % 100;
    }
    s->cpu_total_raw = total;
    s->cpu_raw = cpus;
    s->mem_total_bytes = 16ull << 30;
    s->mem_free_bytes = rng() % (8ull << 30);
    s->mem_available_bytes = UINT64_MAX - rng() % 10;
    s->mem_buffers_bytes = tick;
    s->mem_cached_bytes = 1ull << 62;
    s->mem_shared_bytes = 0;
    s->mem_used_bytes = rng() % (8ull << 30);
    s->swap_total_bytes = 2ull << 30;
    s->swap_free_bytes = 1ull << 30;
    s->tasks_total = (int)(rng() % 500);
    s->tasks_running = -1;
    s->threads_total = 1000;
    s->kernel_threads = 77;
}

/* What one tick recorded: the expected reconstruction. */
struct expected_tick {
    struct system_metrics system;    /* system metrics (cpu_raw points to cpus) */
    struct cpu_times cpus[SIM_CPUS]; /* per-CPU counters */
    struct proc_entry *processes;    /* non-thread entries, sorted, cmdline owned */
    size_t process_count;            /* entries in processes */
};

static int compare_entries(const void *a, const void *b)
{
    const struct proc_entry *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->starttime_ticks < y->starttime_ticks ? -1 : x->starttime_ticks > y->starttime_ticks;
}

static void expected_capture(struct expected_tick *exp, const struct system_metrics *s,
                             const struct proc_entry **entries, size_t n)
{
    exp->system = *s;
    memcpy(exp->cpus, s->cpu_raw, sizeof exp->cpus);
    exp->system.cpu_raw = exp->cpus;
    exp->processes = xcalloc(n + 1, sizeof *exp->processes);
    exp->process_count = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i]->is_thread)
            continue;
        struct proc_entry *e = &exp->processes[exp->process_count++];
        *e = *entries[i];
        e->cmdline = xstrdup(entries[i]->cmdline);
    }
    qsort(exp->processes, exp->process_count, sizeof *exp->processes, compare_entries);
}

static void expected_free(struct expected_tick *exp)
{
    for (size_t i = 0; i < exp->process_count; i++)
        free(exp->processes[i].cmdline);
    free(exp->processes);
}

static bool metrics_equal(const struct proc_metrics *a, const struct proc_metrics *b)
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

static bool identity_equal(const struct proc_entry *a, const struct proc_entry *b)
{
    return a->uid == b->uid && a->is_kernel_thread == b->is_kernel_thread &&
           strcmp(a->comm, b->comm) == 0 && strcmp(a->user, b->user) == 0 &&
           strcmp(a->cmdline, b->cmdline) == 0;
}

static const struct proc_entry *expected_find(const struct expected_tick *exp, pid_t pid,
                                              uint64_t starttime)
{
    for (size_t i = 0; exp && i < exp->process_count; i++)
        if (exp->processes[i].pid == pid && exp->processes[i].starttime_ticks == starttime)
            return &exp->processes[i];
    return NULL;
}

/* Compares a reconstructed tick with what was recorded, field by field. */
static void check_tick(const struct store_tick *got, const struct expected_tick *exp,
                       uint64_t index)
{
    const struct system_metrics *g = &got->system, *e = &exp->system;
    CHECK_INT(got->index, index);
    CHECK(g->timestamp_us == e->timestamp_us);
    CHECK(g->uptime_seconds == e->uptime_seconds);
    CHECK(g->load[0] == e->load[0] && g->load[1] == e->load[1] && g->load[2] == e->load[2]);
    CHECK_INT(g->cpu_count, e->cpu_count);
    CHECK(memcmp(&g->cpu_total_raw, &e->cpu_total_raw, sizeof g->cpu_total_raw) == 0);
    for (int i = 0; i < g->cpu_count && i < e->cpu_count; i++) {
        CHECK(memcmp(&g->cpu_raw[i], &e->cpu_raw[i], sizeof g->cpu_raw[i]) == 0);
        CHECK(g->cpu[i].total_percent >= 0 && g->cpu[i].total_percent <= 100);
    }
    CHECK(g->mem_total_bytes == e->mem_total_bytes && g->mem_free_bytes == e->mem_free_bytes &&
          g->mem_available_bytes == e->mem_available_bytes &&
          g->mem_buffers_bytes == e->mem_buffers_bytes &&
          g->mem_cached_bytes == e->mem_cached_bytes &&
          g->mem_shared_bytes == e->mem_shared_bytes && g->mem_used_bytes == e->mem_used_bytes &&
          g->swap_total_bytes == e->swap_total_bytes && g->swap_free_bytes == e->swap_free_bytes);
    CHECK(g->tasks_total == e->tasks_total && g->tasks_running == e->tasks_running &&
          g->threads_total == e->threads_total && g->kernel_threads == e->kernel_threads);
    CHECK_INT(got->process_count, exp->process_count);
    for (size_t i = 0; i < got->process_count && i < exp->process_count; i++) {
        const struct store_process *p = &got->processes[i];
        const struct proc_entry *x = &exp->processes[i];
        bool same = p->pid == x->pid && p->starttime_ticks == x->starttime_ticks &&
                    p->uid == x->uid && strcmp(p->user, x->user) == 0 &&
                    strcmp(p->comm, x->comm) == 0 && strcmp(p->cmdline, x->cmdline) == 0 &&
                    p->is_kernel_thread == x->is_kernel_thread &&
                    metrics_equal(&p->metrics, &x->metrics);
        CHECK(same);
        if (!same)
            fprintf(stderr, "  tick %llu row %zu: pid %d/%d start %llu/%llu\n",
                    (unsigned long long)index, i, (int)p->pid, (int)x->pid,
                    (unsigned long long)p->starttime_ticks, (unsigned long long)x->starttime_ticks);
    }
}

#define ROUND_TRIP_TICKS 50

static struct expected_tick expected[ROUND_TRIP_TICKS + 1]; /* 1-based */

static void check_all_ticks(struct store *store, int64_t session_id, const char *label)
{
    char err[256] = "";
    for (uint64_t t = 1; t <= ROUND_TRIP_TICKS; t++) {
        struct store_tick tick;
        int rc = store_load_tick(store, session_id, t, &tick, err, sizeof err);
        CHECK_INT(rc, 0);
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", label, err);
            continue;
        }
        check_tick(&tick, &expected[t], t);
        store_tick_free(&tick);
    }
    struct store_tick tick;
    CHECK_INT(store_load_tick(store, session_id, ROUND_TRIP_TICKS + 1, &tick, err, sizeof err), -1);
    CHECK(strstr(err, "out of range") != NULL);
    CHECK_INT(store_load_tick(store, session_id, 0, &tick, err, sizeof err), -1);
}

/* History of one process compared with the recorded ticks (forward-filled by definition). */
static void check_history(struct store *store, pid_t pid, uint64_t starttime, size_t max_points)
{
    char err[256] = "";
    struct store_history_point *points = NULL;
    long n = store_process_history(store, pid, starttime, max_points, &points, err, sizeof err);
    CHECK(n >= 0);
    /* Expected: every tick that listed it, the most recent max_points. */
    uint64_t ticks[ROUND_TRIP_TICKS];
    size_t count = 0;
    for (uint64_t t = 1; t <= ROUND_TRIP_TICKS; t++)
        if (expected_find(&expected[t], pid, starttime))
            ticks[count++] = t;
    size_t first = count > max_points ? count - max_points : 0;
    CHECK_INT(n, count - first);
    for (long i = 0; i < n && first + (size_t)i < count; i++) {
        uint64_t t = ticks[first + (size_t)i];
        CHECK_INT(points[i].tick, t);
        CHECK(points[i].timestamp_us == expected[t].system.timestamp_us);
        CHECK(metrics_equal(&points[i].metrics,
                            &expected_find(&expected[t], pid, starttime)->metrics));
    }
    free(points);
}

static void test_round_trip(void)
{
    char err[256] = "";
    char *path = test_path("round.db");
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        fprintf(stderr, "%s\n", err);
        free(path);
        return;
    }
    CHECK_STR(store_path(store), path);
    CHECK(side_file_exists(path, "-wal")); /* WAL while recording */

    const struct proc_entry *entries[SIM_SLOTS * 2];
    struct cpu_times cpus[SIM_CPUS];
    memset(cpus, 0, sizeof cpus);
    long long expected_samples = 0, expected_rows = 0;
    for (uint64_t t = 1; t <= ROUND_TRIP_TICKS; t++) {
        struct system_metrics system;
        sim_system(t, &system, cpus);
        size_t n = sim_step(t, entries);
        expected_capture(&expected[t], &system, entries, n);
        /* What delta encoding must write: a row for each new (or re-identified) process row,
         * a sample for it, and a sample for each process whose metrics changed. */
        for (size_t i = 0; i < expected[t].process_count; i++) {
            const struct proc_entry *now = &expected[t].processes[i];
            const struct proc_entry *before =
                t > 1 ? expected_find(&expected[t - 1], now->pid, now->starttime_ticks) : NULL;
            if (!before || !identity_equal(before, now)) {
                expected_rows++;
                expected_samples++;
            } else if (!metrics_equal(&before->metrics, &now->metrics)) {
                expected_samples++;
            }
        }
        CHECK_INT(store_record_tick(store, &system, entries, n, err, sizeof err), 0);
    }

    const struct store_session *sessions;
    CHECK_INT(store_sessions(store, &sessions), 1);
    CHECK_INT(sessions[0].tick_count, ROUND_TRIP_TICKS);
    CHECK_STR(sessions[0].host, "testhost");
    CHECK_INT(sessions[0].ended_us, 0);

    check_all_ticks(store, 0, "live");
    /* Histories: every process of a few ticks, with and without the max_points cut. */
    for (size_t i = 0; i < expected[25].process_count; i++) {
        check_history(store, expected[25].processes[i].pid,
                      expected[25].processes[i].starttime_ticks, 1000);
        check_history(store, expected[25].processes[i].pid,
                      expected[25].processes[i].starttime_ticks, 7);
    }
    struct store_history_point *points = (void *)1;
    CHECK_INT(store_process_history(store, 99999, 1, 100, &points, err, sizeof err), 0);
    CHECK(points == NULL);

    CHECK_INT(store_close(store, err, sizeof err), 0);
    CHECK(!side_file_exists(path, "-wal"));
    CHECK(!side_file_exists(path, "-shm"));
    CHECK(!side_file_exists(path, "-journal"));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_INT(query_int(path, "SELECT count(*) FROM pragma_journal_mode WHERE "
                              "journal_mode = 'delete'"),
              1);
    CHECK_INT(query_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);

    /* Delta encoding: exactly the rows promised, none for unchanged processes. */
    CHECK_INT(query_int(path, "SELECT count(*) FROM process_sample"), expected_samples);
    CHECK_INT(query_int(path, "SELECT count(*) FROM process"), expected_rows);
    CHECK_INT(query_int(path, "SELECT count(*) FROM process WHERE last_tick IS NULL"), 0);
    CHECK_INT(query_int(path, "SELECT count(*) FROM tick"), ROUND_TRIP_TICKS);
    CHECK_INT(query_int(path, "SELECT count(*) FROM tick_cpu"), 29 * SIM_CPUS + 21 * 2);
    CHECK(query_int(path, "SELECT ended_us FROM session") > 0);

    /* The views, as a user would query them with the sqlite3 CLI. */
    CHECK(query_int(path, "SELECT count(*) FROM (SELECT * FROM process_cpu_usage"
                          " ORDER BY cpu_seconds DESC LIMIT 10)") == 10);
    CHECK(query_int(path, "SELECT count(*) FROM process_cpu_usage WHERE cpu_seconds > 0") > 0);
    CHECK_INT(query_int(path, "SELECT count(*) FROM tick_summary"), ROUND_TRIP_TICKS);
    CHECK_INT(query_int(path, "SELECT count(*) FROM tick_summary WHERE tick = 1"
                              " AND cpu_percent IS NULL"),
              1);
    for (uint64_t t = 1; t <= ROUND_TRIP_TICKS; t += 7) {
        char *sql = xasprintf("SELECT count(*) FROM process_samples_full WHERE tick = %llu",
                              (unsigned long long)t);
        CHECK_INT(query_int(path, sql), expected[t].process_count);
        free(sql);
    }
    /* The top CPU user per the view is the process whose utime+stime grew most. */
    {
        long long best_ticks = -1;
        pid_t best_pid = 0;
        for (uint64_t t = 1; t <= ROUND_TRIP_TICKS; t++) {
            for (size_t i = 0; i < expected[t].process_count; i++) {
                const struct proc_entry *e = &expected[t].processes[i];
                uint64_t first_cpu = 0;
                bool earlier = false;
                for (uint64_t u = 1; u <= t && !earlier; u++) {
                    const struct proc_entry *f =
                        expected_find(&expected[u], e->pid, e->starttime_ticks);
                    if (f) {
                        first_cpu = f->metrics.utime_ticks + f->metrics.stime_ticks;
                        earlier = true;
                    }
                }
                long long used =
                    (long long)(e->metrics.utime_ticks + e->metrics.stime_ticks - first_cpu);
                if (used > best_ticks || (used == best_ticks && e->pid < best_pid)) {
                    best_ticks = used;
                    best_pid = e->pid;
                }
            }
        }
        CHECK_INT(query_int(path, "SELECT pid FROM process_cpu_usage"
                                  " ORDER BY cpu_seconds DESC, pid LIMIT 1"),
                  best_pid);
        CHECK_INT(query_int(path, "SELECT CAST(round(max(cpu_seconds) * 100) AS INTEGER)"
                                  " FROM process_cpu_usage"),
                  best_ticks);
    }

    /* The closed file, read back defensively, gives the same ticks. */
    store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        CHECK_INT(store_sessions(store, &sessions), 1);
        CHECK_INT(sessions[0].tick_count, ROUND_TRIP_TICKS);
        CHECK(sessions[0].ended_us > 0);
        CHECK_STR(sessions[0].command_line, "stacktop --batch -n 50");
        CHECK_INT(sessions[0].clock_ticks, 100);
        CHECK(sessions[0].interval_seconds == 1.5);
        check_all_ticks(store, sessions[0].id, "read-only");
        for (size_t i = 0; i < expected[40].process_count; i++)
            check_history(store, expected[40].processes[i].pid,
                          expected[40].processes[i].starttime_ticks, 10);
        struct store_tick tick;
        CHECK_INT(store_record_tick(store, &tick.system, NULL, 0, err, sizeof err), -1);
        CHECK_INT(store_load_tick(store, 77, 1, &tick, err, sizeof err), -1);
        CHECK(strstr(err, "no session 77") != NULL);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }

    /* Appending: the file gets a second session; the first is intact. */
    info.command_line = "stacktop second";
    store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        struct system_metrics system;
        struct expected_tick appended;
        sim_system(ROUND_TRIP_TICKS + 1, &system, cpus);
        size_t n = sim_step(ROUND_TRIP_TICKS + 1, entries);
        expected_capture(&appended, &system, entries, n);
        CHECK_INT(store_record_tick(store, &system, entries, n, err, sizeof err), 0);
        CHECK_INT(store_sessions(store, &sessions), 2);
        CHECK_STR(sessions[1].command_line, "stacktop second");
        CHECK_INT(sessions[1].tick_count, 1);
        CHECK_INT(sessions[0].tick_count, ROUND_TRIP_TICKS);
        check_all_ticks(store, sessions[0].id, "first session");
        struct store_tick tick;
        CHECK_INT(store_load_tick(store, 0, 1, &tick, err, sizeof err), 0);
        check_tick(&tick, &appended, 1);
        store_tick_free(&tick);
        expected_free(&appended);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    CHECK_INT(query_int(path, "SELECT count(*) FROM session WHERE ended_us IS NOT NULL"), 2);
    CHECK(!side_file_exists(path, "-wal"));

    for (uint64_t t = 1; t <= ROUND_TRIP_TICKS; t++)
        expected_free(&expected[t]);
    for (int i = 0; i < SIM_SLOTS; i++)
        free(sim[i].entry.cmdline);
    unlink(path);
    free(path);
}

/* ---- refusals ---- */

static void test_refusals(void)
{
    char err[256] = "";
    struct store_session_info info = test_info();

    /* A symlink, dangling or not, is refused and its target never created or touched. */
    char *target = test_path("target.db"), *link = test_path("link.db");
    CHECK(symlink(target, link) == 0);
    CHECK(store_open_for_recording(link, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "symbolic link") != NULL);
    CHECK(strstr(err, link) != NULL);
    CHECK(!file_exists(target));
    write_file(target, "precious", 8);
    CHECK(store_open_for_recording(link, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "symbolic link") != NULL);
    size_t len = 0;
    char *bytes = slurp(target, &len);
    CHECK(bytes && len == 8 && memcmp(bytes, "precious", 8) == 0);
    free(bytes);
    unlink(link);
    unlink(target);

    /* Not a regular file. */
    char *fifo = test_path("fifo.db");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(store_open_for_recording(fifo, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a regular file") != NULL);
    CHECK(store_open_readonly(fifo, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a regular file") != NULL);
    CHECK(store_open_for_recording(test_dir, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a regular file") != NULL);
    unlink(fifo);

    /* Another application's SQLite database: refused, left byte for byte as it was. */
    char *foreign = test_path("foreign.db");
    CHECK_INT(exec_sql(foreign, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('x')"),
              0);
    char *before = slurp(foreign, &len);
    CHECK(store_open_for_recording(foreign, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a stacktop session file") != NULL);
    size_t after_len = 0;
    char *after = slurp(foreign, &after_len);
    CHECK(before && after && len == after_len && memcmp(before, after, len) == 0);
    CHECK(!side_file_exists(foreign, "-wal") && !side_file_exists(foreign, "-journal"));
    free(before);
    free(after);
    CHECK(store_open_readonly(foreign, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a stacktop session file (no table 'session')") != NULL);
    CHECK(strstr(err, foreign) != NULL);
    unlink(foreign);

    /* Another application's database in WAL mode, still open there: its -wal is neither
     * checkpointed nor removed by us. */
    sqlite3 *owner = NULL;
    CHECK(sqlite3_open(foreign, &owner) == SQLITE_OK);
    CHECK(sqlite3_exec(owner,
                       "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT);"
                       " INSERT INTO notes VALUES ('kept in the wal')",
                       NULL, NULL, NULL) == SQLITE_OK);
    char *wal = xasprintf("%s-wal", foreign);
    size_t wal_len = 0, main_len = 0;
    char *wal_before = slurp(wal, &wal_len), *main_before = slurp(foreign, &main_len);
    CHECK(store_open_for_recording(foreign, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "another application") != NULL);
    bytes = slurp(wal, &len);
    CHECK(bytes && wal_before && len == wal_len && memcmp(bytes, wal_before, len) == 0);
    free(bytes);
    bytes = slurp(foreign, &len);
    CHECK(bytes && main_before && len == main_len && memcmp(bytes, main_before, len) == 0);
    free(bytes);
    free(wal_before);
    free(main_before);
    free(wal);
    sqlite3_close(owner);
    unlink(foreign);

    /* An SQLite file that holds nothing is taken over; one with only a user_version is not. */
    CHECK_INT(exec_sql(foreign, "PRAGMA user_version = 5; VACUUM"), 0);
    CHECK(store_open_for_recording(foreign, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "another application") != NULL);
    CHECK_INT(query_int(foreign, "PRAGMA user_version"), 5);
    CHECK_INT(exec_sql(foreign, "PRAGMA user_version = 0; VACUUM"), 0);
    struct store *taken = store_open_for_recording(foreign, &info, err, sizeof err);
    CHECK(taken != NULL);
    CHECK_INT(store_close(taken, err, sizeof err), 0);
    CHECK_INT(query_int(foreign, "SELECT count(*) FROM session"), 1);
    unlink(foreign);

    /* Random bytes. */
    char *garbage = test_path("garbage.db");
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)rng();
    write_file(garbage, junk, sizeof junk);
    CHECK(store_open_for_recording(garbage, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a stacktop session file (not an SQLite database)") != NULL);
    bytes = slurp(garbage, &len);
    CHECK(bytes && len == sizeof junk && memcmp(bytes, junk, len) == 0);
    free(bytes);
    CHECK(store_open_readonly(garbage, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a stacktop session file (not an SQLite database)") != NULL);
    /* SQLite's magic followed by junk. */
    memcpy(junk, "SQLite format 3", 16);
    write_file(garbage, junk, sizeof junk);
    CHECK(store_open_readonly(garbage, err, sizeof err) == NULL);
    CHECK(strstr(err, garbage) != NULL);
    CHECK(strstr(err, "corrupt") != NULL || strstr(err, "not a stacktop") != NULL);
    CHECK(store_open_for_recording(garbage, &info, err, sizeof err) == NULL);
    unlink(garbage);

    /* Empty file: read-only refuses, recording initializes it (the version 0 -> 1 path). */
    char *empty = test_path("empty.db");
    write_file(empty, "", 0);
    CHECK(store_open_readonly(empty, err, sizeof err) == NULL);
    CHECK(strstr(err, "empty file") != NULL);
    struct store *store = store_open_for_recording(empty, &info, err, sizeof err);
    CHECK(store != NULL);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    CHECK_INT(query_int(empty, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    CHECK_INT(query_int(empty, "PRAGMA application_id"), 0x53544b54);

    /* A newer schema version. */
    CHECK_INT(exec_sql(empty, "PRAGMA user_version = 99"), 0);
    CHECK(store_open_readonly(empty, err, sizeof err) == NULL);
    char *newer = xasprintf("schema version 99 is newer than this stacktop supports (%d)",
                            STORE_SCHEMA_VERSION);
    CHECK(strstr(err, newer) != NULL);
    free(newer);
    CHECK(strstr(err, empty) != NULL);
    CHECK(store_open_for_recording(empty, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "schema version 99 is newer") != NULL);
    CHECK_INT(query_int(empty, "SELECT count(*) FROM session"), 1);
    unlink(empty);

    /* A missing file read-only. */
    char *missing = test_path("missing.db");
    CHECK(store_open_readonly(missing, err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot open") != NULL);
    CHECK(!file_exists(missing));

    free(target);
    free(link);
    free(fifo);
    free(foreign);
    free(garbage);
    free(empty);
    free(missing);
}

/* Records ticks of n unchanging processes (one of which changes when vary is set). */
static struct proc_entry *make_processes(size_t n)
{
    struct proc_entry *p = xcalloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i].pid = (pid_t)(1000 + i);
        p[i].tgid = p[i].pid;
        p[i].starttime_ticks = 5000 + i;
        p[i].uid = 1000;
        snprintf(p[i].user, sizeof p[i].user, "user");
        snprintf(p[i].comm, sizeof p[i].comm, "proc%zu", i);
        p[i].cmdline = xasprintf("/usr/bin/proc%zu --flag --another-flag=%zu", i, i * 7);
        p[i].metrics.state = 'S';
        p[i].metrics.ppid = 1;
        p[i].metrics.num_threads = 1;
        p[i].metrics.rss_bytes = 4096 * (i + 1);
        p[i].metrics.fd_count = 4;
    }
    return p;
}

static void free_processes(struct proc_entry *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].cmdline);
    free(p);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* A truncated file, and the cost of a tick with 1000 processes. */
static void test_truncated_and_cost(void)
{
    enum { PROCESSES = 1000, TICKS = 200 };
    char err[256] = "";
    char *path = test_path("cost.db");
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        free(path);
        return;
    }
    struct proc_entry *procs = make_processes(PROCESSES);
    const struct proc_entry **entries = xcalloc(PROCESSES, sizeof *entries);
    for (size_t i = 0; i < PROCESSES; i++)
        entries[i] = &procs[i];
    struct cpu_times cpus[8];
    memset(cpus, 0, sizeof cpus);
    struct system_metrics system;
    memset(&system, 0, sizeof system);
    system.cpu_count = 8;
    system.cpu_raw = cpus;

    CHECK_INT(store_record_tick(store, &system, entries, PROCESSES, err, sizeof err), 0);
    double start = now_us();
    for (int t = 0; t < TICKS; t++) {
        system.timestamp_us += 1000000;
        cpus[t % 8].idle += 100;
        CHECK_INT(store_record_tick(store, &system, entries, PROCESSES, err, sizeof err), 0);
    }
    double unchanged_us = (now_us() - start) / TICKS;
    start = now_us();
    for (int t = 0; t < TICKS; t++) {
        for (size_t i = 0; i < PROCESSES; i++)
            procs[i].metrics.utime_ticks++;
        CHECK_INT(store_record_tick(store, &system, entries, PROCESSES, err, sizeof err), 0);
    }
    double changed_us = (now_us() - start) / TICKS;
    start = now_us();
    struct store_history_point *points = NULL;
    for (int i = 0; i < 100; i++) {
        CHECK_INT(store_process_history(store, 1500, 5500, 120, &points, err, sizeof err), 120);
        free(points);
    }
    double history_us = (now_us() - start) / 100;
    printf("store_record_tick, %d processes: %.1f us unchanged, %.1f us all changed; "
           "store_process_history(120 points): %.1f us\n",
           PROCESSES, unchanged_us, changed_us, history_us);
    CHECK(unchanged_us < 5000); /* generous: a tick of unchanged processes costs ~nothing */
    CHECK_INT(store_close(store, err, sizeof err), 0);
    CHECK_INT(query_int(path, "SELECT count(*) FROM process_sample"),
              PROCESSES * (1 + TICKS)); /* the first tick and the changed ones only */

    /* Truncated to half: a clear error naming the file, no crash. */
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(truncate(path, st.st_size / 2) == 0);
    CHECK(store_open_readonly(path, err, sizeof err) == NULL);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "corrupt") != NULL);
    CHECK(store_open_for_recording(path, &info, err, sizeof err) == NULL);
    CHECK(strstr(err, "corrupt") != NULL);

    free_processes(procs, PROCESSES);
    free(entries);
    unlink(path);
    free(path);
}

/* A tick that fails (the file is locked by someone else) leaves the file consistent. */
static void test_failed_tick(void)
{
    char err[256] = "";
    char *path = test_path("locked.db");
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        free(path);
        return;
    }
    struct proc_entry *procs = make_processes(4);
    const struct proc_entry *entries[4] = {&procs[0], &procs[1], &procs[2], &procs[3]};
    struct system_metrics system;
    memset(&system, 0, sizeof system);
    CHECK_INT(store_record_tick(store, &system, entries, 4, err, sizeof err), 0);

    /* Fault injection: another connection adds a trigger that fails the tick midway, after
     * its tick row and before the sample of process 0. */
    CHECK_INT(exec_sql(path, "CREATE TRIGGER inject BEFORE INSERT ON process_sample"
                             " WHEN NEW.rss_bytes = 4097 BEGIN SELECT RAISE(ABORT, 'injected');"
                             " END"),
              0);
    procs[0].metrics.rss_bytes++;
    CHECK_INT(store_record_tick(store, &system, entries, 3, err, sizeof err), -1);
    CHECK(strstr(err, "injected") != NULL);
    CHECK_INT(exec_sql(path, "DROP TRIGGER inject"), 0);

    /* Tick 2 is recorded after the failure: process 3 is gone, process 0 changed. */
    CHECK_INT(store_record_tick(store, &system, entries, 3, err, sizeof err), 0);
    struct store_tick tick;
    CHECK_INT(store_load_tick(store, 0, 1, &tick, err, sizeof err), 0);
    CHECK_INT(tick.process_count, 4);
    CHECK(tick.process_count == 4 && tick.processes[0].metrics.rss_bytes == 4096);
    store_tick_free(&tick);
    CHECK_INT(store_load_tick(store, 0, 2, &tick, err, sizeof err), 0);
    CHECK_INT(tick.process_count, 3);
    CHECK(tick.process_count == 3 && tick.processes[0].metrics.rss_bytes == 4097);
    CHECK(tick.process_count == 3 && strcmp(tick.processes[2].cmdline, procs[2].cmdline) == 0);
    store_tick_free(&tick);
    struct store_history_point *points = NULL;
    CHECK_INT(store_process_history(store, procs[0].pid, procs[0].starttime_ticks, 10, &points, err,
                                    sizeof err),
              2);
    CHECK(points && points[0].metrics.rss_bytes == 4096 && points[1].metrics.rss_bytes == 4097);
    free(points);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    free_processes(procs, 4);
    unlink(path);
    free(path);
}

/* Another program reads the file while it is recorded, and still has it open at close. */
static void test_concurrent_reader(void)
{
    char err[256] = "";
    char *path = test_path("shared.db");
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        free(path);
        return;
    }
    struct proc_entry *procs = make_processes(5);
    const struct proc_entry *entries[5] = {&procs[0], &procs[1], &procs[2], &procs[3], &procs[4]};
    struct system_metrics system;
    memset(&system, 0, sizeof system);
    for (int t = 0; t < 3; t++)
        CHECK_INT(store_record_tick(store, &system, entries, 5, err, sizeof err), 0);

    struct store *reader = store_open_readonly(path, err, sizeof err);
    CHECK(reader != NULL);
    if (reader) {
        struct store_tick tick;
        CHECK_INT(store_load_tick(reader, 0, 3, &tick, err, sizeof err), 0);
        CHECK_INT(tick.process_count, 5);
        store_tick_free(&tick);
    }
    CHECK_INT(store_record_tick(store, &system, entries, 4, err, sizeof err), 0);
    CHECK_INT(store_close(store, err, sizeof err), -1);
    CHECK(strstr(err, "another program") != NULL);
    CHECK_INT(store_close(reader, err, sizeof err), 0);

    /* Nothing was lost: the last tick is in the file (through its -wal) and the next
     * recording folds it back into one file. */
    reader = store_open_readonly(path, err, sizeof err);
    CHECK(reader != NULL);
    if (reader) {
        struct store_tick tick;
        CHECK_INT(store_load_tick(reader, 0, 4, &tick, err, sizeof err), 0);
        CHECK_INT(tick.process_count, 4);
        store_tick_free(&tick);
        CHECK_INT(store_close(reader, err, sizeof err), 0);
    }
    store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    CHECK(!side_file_exists(path, "-wal") && !side_file_exists(path, "-shm"));
    CHECK_INT(query_int(path, "SELECT count(*) FROM tick"), 4);
    free_processes(procs, 5);
    unlink(path);
    free(path);
}

/* ":memory:" records and reads back. */
static void test_in_memory(void)
{
    char err[256] = "";
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(":memory:", &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store)
        return;
    CHECK_STR(store_path(store), "");
    struct proc_entry *procs = make_processes(3);
    const struct proc_entry *entries[3] = {&procs[0], &procs[1], &procs[2]};
    struct system_metrics system;
    memset(&system, 0, sizeof system);
    for (int t = 0; t < 5; t++) {
        procs[1].metrics.utime_ticks += 3;
        system.timestamp_us = 1000 + (uint64_t)t;
        CHECK_INT(store_record_tick(store, &system, entries, 3, err, sizeof err), 0);
    }
    struct store_history_point *points = NULL;
    CHECK_INT(store_process_history(store, procs[1].pid, procs[1].starttime_ticks, 3, &points, err,
                                    sizeof err),
              3);
    CHECK(points && points[0].tick == 3 && points[2].tick == 5 &&
          points[2].metrics.utime_ticks == 15 && points[2].timestamp_us == 1004);
    free(points);
    struct store_tick tick;
    CHECK_INT(store_load_tick(store, 0, 5, &tick, err, sizeof err), 0);
    CHECK_INT(tick.process_count, 3);
    store_tick_free(&tick);
    const struct store_session *sessions;
    CHECK_INT(store_sessions(store, &sessions), 1);
    CHECK_INT(sessions[0].tick_count, 5);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    CHECK_INT(store_close(NULL, err, sizeof err), 0);
    free_processes(procs, 3);
}

/* A forged file with the right tables but hostile values: errors or clamped data, no crash. */
static void test_hostile(void)
{
    char err[256] = "";
    char *path = test_path("hostile.db");
    CHECK_INT(
        exec_sql(path,
                 "PRAGMA application_id = 1398033236; PRAGMA user_version = 1;"
                 "CREATE TABLE session (id, host, kernel, boot_id, command_line,"
                 " interval_seconds, clock_ticks, boot_time, started_us, ended_us,"
                 " sample_index_interval);"
                 "CREATE TABLE tick (session_id, tick, timestamp_us, uptime_seconds, load1,"
                 " load5, load15, cpu_count, cpu_user, cpu_nice, cpu_system, cpu_idle,"
                 " cpu_iowait, cpu_irq, cpu_softirq, cpu_steal, mem_total_bytes,"
                 " mem_free_bytes, mem_available_bytes, mem_buffers_bytes, mem_cached_bytes,"
                 " mem_shared_bytes, mem_used_bytes, swap_total_bytes, swap_free_bytes,"
                 " tasks_total, tasks_running, threads_total, kernel_threads);"
                 "CREATE TABLE tick_cpu (session_id, tick, cpu, user, nice, system, idle,"
                 " iowait, irq, softirq, steal);"
                 "CREATE TABLE process (id, session_id, pid, starttime_ticks, ppid, uid, user,"
                 " comm, cmdline, is_kernel_thread, first_tick, last_tick);"
                 "CREATE TABLE process_sample (session_id, tick, process_id, state, ppid,"
                 " priority, nice, num_threads, vsize_bytes, rss_bytes, utime_ticks,"
                 " stime_ticks, read_bytes, write_bytes, voluntary_ctxsw, involuntary_ctxsw,"
                 " fd_count, processor);"
                 "CREATE TABLE sample_index (session_id, tick, process_id, sample_tick);"
                 "INSERT INTO sample_index VALUES (1, 2, 2, 9999), (1, 2, 4, -3),"
                 " (1, 9000000000000, 1, 1), (NULL, NULL, NULL, NULL);"
                 "INSERT INTO session VALUES (1, NULL, x'00ff', zeroblob(100000), 3.5, 'x',"
                 " NULL, -1, -5, 'never', 'K');"
                 "INSERT INTO session (id, sample_index_interval) VALUES (NULL, 1e18);"
                 "INSERT INTO tick (session_id, tick) VALUES (1, 1), (1, 2), (1, 9000000000000);"
                 "INSERT INTO tick_cpu VALUES (1, 1, NULL, NULL, 'a', -1, 1e300, NULL, NULL,"
                 " NULL, NULL), (1, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8), (1, 2, 0, 0, 0, 0, 0, 0,"
                 " 0, 0, 0);"
                 "INSERT INTO process VALUES (1, 1, 7, 7, NULL, -1, NULL, zeroblob(5000),"
                 " NULL, 'yes', -100, 9223372036854775807),"
                 " (2, 1, 7, 7, 1, 1, 'u', 'c', 'x', 0, 1, NULL),"
                 " (3, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
                 " (4, 1, 8, 0, 0, 0, 'big', 'big', 'cmd', 0, 1, 2),"
                 " (5, 1, 9, 0, 0, 0, 'big', 'big', 'cmd', 0, -9223372036854775808, -5);"
                 "INSERT INTO process_sample VALUES (1, 1, 1, NULL, NULL, NULL, NULL, -5,"
                 " -1, 1e300, 'text', x'0102', NULL, NULL, NULL, NULL, NULL, NULL),"
                 " (1, 1, 1, '', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),"
                 " (1, -3, 2, 'RR', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 99999999999, 1),"
                 " (1, 9000000000000, 1, 'R', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),"
                 " (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
                 " NULL, NULL, NULL, NULL, NULL, NULL);"),
        0);
    struct store *store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        fprintf(stderr, "%s\n", err);
        free(path);
        return;
    }
    const struct store_session *sessions;
    size_t count = store_sessions(store, &sessions);
    CHECK_INT(count, 2);
    for (size_t i = 0; i < count; i++) {
        CHECK(sessions[i].host && sessions[i].kernel && sessions[i].boot_id &&
              sessions[i].command_line);
        if (sessions[i].id == 1) {
            CHECK_STR(sessions[i].host, "");
            CHECK(strlen(sessions[i].boot_id) == 0);
            CHECK_STR(sessions[i].command_line, "3.5");
            CHECK_INT(sessions[i].tick_count, 9000000000000ll);
        } else {
            CHECK_INT(sessions[i].tick_count, 0);
        }
    }
    struct store_tick tick;
    for (uint64_t t = 1; t <= 3; t++) {
        if (store_load_tick(store, 1, t, &tick, err, sizeof err) == 0) {
            CHECK(tick.process_count <= 5);
            store_tick_free(&tick);
        }
    }
    CHECK_INT(store_load_tick(store, 1, 9000000000000ull, &tick, err, sizeof err), 0);
    store_tick_free(&tick);
    CHECK_INT(store_load_tick(store, 1, 3, &tick, err, sizeof err), -1);
    CHECK(strstr(err, "was not recorded") != NULL);
    /* Histories over absurd tick ranges stay bounded by max_points. */
    struct store_history_point *points = NULL;
    long n = store_process_history(store, 7, 7, 1000, &points, err, sizeof err);
    CHECK(n >= 0 && n <= 1000);
    free(points);
    n = store_process_history(store, 9, 0, SIZE_MAX, &points, err, sizeof err);
    CHECK_INT(n, 0);
    free(points);
    CHECK_INT(store_close(store, err, sizeof err), 0);

    /* A value above the read limit is an error, not an allocation. */
    CHECK_INT(exec_sql(path, "UPDATE process SET cmdline = zeroblob(8000000) WHERE id = 2;"
                             "DELETE FROM session WHERE id IS NULL"),
              0);
    store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        CHECK_INT(store_load_tick(store, 0, 2, &tick, err, sizeof err), -1);
        CHECK(strstr(err, "too big") != NULL);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }

    /* A table replaced by a view is not a stacktop file. */
    CHECK_INT(exec_sql(path, "DROP TABLE tick_cpu; CREATE VIEW tick_cpu AS SELECT 1"), 0);
    CHECK(store_open_readonly(path, err, sizeof err) == NULL);
    CHECK(strstr(err, "no table 'tick_cpu'") != NULL);
    CHECK_INT(exec_sql(path, "DROP VIEW tick_cpu; CREATE TABLE tick_cpu (session_id)"), 0);
    CHECK(store_open_readonly(path, err, sizeof err) == NULL);
    CHECK(strstr(err, "table 'tick_cpu' has no column 'tick'") != NULL);
    unlink(path);
    free(path);
}

int main(void)
{
    if (store_test_dir_create("test_store") != 0)
        return 1;
    test_round_trip();
    test_refusals();
    test_truncated_and_cost();
    test_failed_tick();
    test_concurrent_reader();
    test_in_memory();
    test_hostile();
    store_test_dir_remove();
    return CHECK_DONE();
}
