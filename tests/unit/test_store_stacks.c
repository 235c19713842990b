/*
 * test_store_stacks: snapshots in the session database (store/store_stacks.c).
 *
 * Synthetic captures built by hand (threads with frames, unknown names, inline frames, errors,
 * lock waits, deadlock cycles) are recorded into snapshots that share frames and stacks, then
 * the deduplication is checked by counting rows, and every snapshot is loaded back and
 * compared field by field, from the recording handle and from the closed file. Then: a
 * version 1 file migrated in place, read-only files of both versions, ":memory:", a stack hash
 * collision, captures the store refuses, the SQL views, and hostile files (missing frames,
 * absurd depths, NULLs, forged kinds) that must give clear errors, never a crash.
 *
 * Loaded captures are freed here by hand (core/capture.c is not linked into every build).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "store_test_util.h"
#include "store.h"
#include "xalloc.h"

static struct store_session_info test_info(void)
{
    return store_test_info("stacktop stacks 4470");
}

/* ---- the synthetic captures ---- */

/* Every distinct frame the captures use (all different as frame rows). */
static const struct capture_frame catalogue[] = {
    /* 0 */ {0, "__lll_lock_wait", "/usr/lib/libc.so.6", 0x8a120, NULL, 0, false},
    /* 1 */ {0, "queue_push", "/srv/server", 0x1520, "server.c", 21, true},
    /* 2 */ {0, "metrics_count_s", "/srv/server", 0x1520, "server.c", 40, false},
    /* 3 */ {0, NULL, NULL, 0x1234, NULL, 0, false},
    /* 4 */ {0, "start_thread", "/usr/lib/libc.so.6", 0x89134, NULL, 0, false},
    /* 5 */ {0, "read", "/usr/lib/libc.so.6", 0x11c02e, NULL, 0, false},
    /* 6 */ {0, "metrics_set_m", "/srv/server", 0x1610, "server.c", 60, false},
    /* 7 */ {0, "send_metrics_to_out_channel", "/srv/server", 0x1700, "server.c", 75, false},
    /* 8 */ {0, "pthread_join", "/usr/lib/libc.so.6", 0x8b000, NULL, 0, false},
    /* 9 */ {0, "main", "/srv/server", 0x1100, "/home/dev/server/server.c", 90, false},
    /* 10 */ {0, NULL, "/srv/other", 0xbeef, NULL, 0, false},
    /* 11 */ {0, "queue_push", "/srv/server", 0x1520, "server.c", 22, true},
};

#define MAX_TEST_FRAMES 8

/* A thread of a synthetic capture: its fields and its stack as catalogue indices. */
struct thread_spec {
    pid_t tid;                       /* tid */
    const char *name;                /* name */
    char state;                      /* state letter */
    const char *wchan;               /* wait channel */
    long syscall;                    /* syscall number */
    uint64_t args[6];                /* syscall arguments */
    int frames[MAX_TEST_FRAMES + 1]; /* catalogue indices, -1 terminated */
    const char *error;               /* error, "" if captured */
};

static const struct thread_spec capture_a_threads[] = {
    {4470, "server", 'S', "do_wait", 61, {0}, {8, 9, -1}, ""},
    {4471,
     "worker",
     'S',
     "futex_wait_queue",
     202,
     {0x5500, 128, 2, 0, 0, 0},
     {0, 1, 2, 3, 4, -1},
     ""},
    {4472,
     "worker",
     'S',
     "futex_wait_queue",
     202,
     {0x5500, 128, 2, 0, 0, 0},
     {0, 1, 2, 3, 4, -1},
     ""},
    {4473, "consumer", 'S', "pipe_read", 0, {3, 0x7fff0000, 4096, 0, 0, 0}, {5, 6, 7, 4, -1}, ""},
    {4474, "gone", 'Z', "", -2, {0}, {-1}, "exited"},
};

static const struct thread_spec capture_b_threads[] = {
    /* The worker stack of capture A, in another process. */
    {5001, "w\x01\xff", 'R', "", -1, {0}, {0, 1, 2, 3, 4, -1}, ""},
    /* A new stack made of known frames and one new one. */
    {5002, "other", 'D', "io_schedule", 0, {7, 0, 0, 0, 0, 9}, {10, 2, 4, -1}, ""},
    /* Same frames as the worker but one line differs in the inline frame: a new stack. */
    {5003, "w2", 'S', "", 202, {1, 2, 3, 4, 5, 6}, {0, 11, 2, 3, 4, -1}, ""},
    {5004, "kworker", 'I', "", -2, {0}, {-1}, "process 5004 is a kernel thread"},
};

/* Builds a capture from specs; pcs differ per thread (tid in the high bits). */
static void build_capture(struct capture_result *c, pid_t pid, const char *comm,
                          const struct thread_spec *specs, size_t count)
{
    memset(c, 0, sizeof *c);
    c->pid = pid;
    snprintf(c->comm, sizeof c->comm, "%s", comm);
    c->started_us = 1700000123456789ull + (uint64_t)pid;
    c->captured_us = 41230;
    c->unwinder = pid == 4470 ? CAPTURE_UNWINDER_LIBDW : CAPTURE_UNWINDER_LIBUNWIND;
    c->consistent = pid == 4470;
    c->stops.max_ns = 90000;
    c->stops.p99_ns = 60000;
    c->stops.total_ns = 310000;
    c->stops.count = count - 1;
    snprintf(c->note, sizeof c->note, "%s", pid == 4470 ? "" : "process exited: partial");
    c->threads = xcalloc(count, sizeof *c->threads);
    c->thread_count = count;
    for (size_t i = 0; i < count; i++) {
        const struct thread_spec *s = &specs[i];
        struct capture_thread *t = &c->threads[i];
        t->tid = s->tid;
        snprintf(t->name, sizeof t->name, "%s", s->name);
        t->state = s->state;
        snprintf(t->wchan, sizeof t->wchan, "%s", s->wchan);
        t->syscall = s->syscall;
        memcpy(t->syscall_args, s->args, sizeof t->syscall_args);
        t->cpu_ticks = 1000u * (uint64_t)i + 7;
        t->stop_ns = s->error[0] ? -1 : 20000 + (int64_t)i;
        t->was_stopped = s->state == 'T';
        t->is_kernel_thread = s->state == 'I';
        snprintf(t->error, sizeof t->error, "%s", s->error);
        size_t n = 0;
        while (s->frames[n] >= 0)
            n++;
        t->frame_count = n;
        t->frames = n ? xcalloc(n, sizeof *t->frames) : NULL;
        for (size_t f = 0; f < n; f++) {
            t->frames[f] = catalogue[s->frames[f]];
            t->frames[f].pc = ((uint64_t)s->tid << 32) + 0x55550000u + f * 16;
        }
        uint64_t pcs[CAPTURE_MAX_FRAMES];
        bool is_return[CAPTURE_MAX_FRAMES];
        for (size_t f = 0; f < n && f < CAPTURE_MAX_FRAMES; f++) {
            pcs[f] = ((uint64_t)s->tid << 32) + 0x55550000u + f * 16 + 1;
            is_return[f] = f > 0;
        }
        capture_thread_set_pcs(t, pcs, is_return, n);
    }
}

/* Unknown names written as "" must read back as unknown (NULL), like NULL. */
static void blank_unknown_names(struct capture_result *c)
{
    for (size_t i = 0; i < c->thread_count; i++)
        for (size_t f = 0; f < c->threads[i].frame_count; f++) {
            struct capture_frame *frame = &c->threads[i].frames[f];
            if (!frame->function)
                frame->function = "";
            if (!frame->file)
                frame->file = "";
        }
}

static void free_capture(struct capture_result *c)
{
    for (size_t i = 0; i < c->thread_count; i++) {
        free(c->threads[i].frames);
        free(c->threads[i].pcs);
    }
    free(c->threads);
    memset(c, 0, sizeof *c);
}

static void free_locks(struct stacks_lock_report *l)
{
    for (size_t i = 0; i < l->cycle_count; i++)
        free(l->cycles[i]);
    free(l->cycles);
    free(l->cycle_lengths);
    free(l->waits);
    memset(l, 0, sizeof *l);
}

/* The lock report of capture A: two waiters on the consumer's mutex, two cycles. */
static pid_t cycle0[] = {4471, 4473};
static pid_t cycle1[] = {4470, 4472, 4474};
static pid_t *cycles[] = {cycle0, cycle1};
static size_t cycle_lengths[] = {2, 3};
static struct stacks_lock_wait waits[] = {
    {4471, 0x55d0c0de5500ull, 4473, "mutex"},
    {4472, 0xffffffffffffff00ull, 4473, "pi-mutex"},
};
static const struct stacks_lock_report locks_a = {waits, 2, cycles, cycle_lengths, 2};

static bool same_text(const char *a, const char *b)
{
    /* "" and NULL are both "unknown" in the file; a loaded unknown is always NULL. */
    if (a && !*a)
        a = NULL;
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_capture(const struct capture_result *got, const struct capture_result *exp)
{
    CHECK_INT(got->pid, exp->pid);
    CHECK_STR(got->comm, exp->comm);
    CHECK_INT(got->started_us, exp->started_us);
    CHECK_INT(got->captured_us, exp->captured_us);
    CHECK_INT(got->unwinder, exp->unwinder);
    CHECK_INT(got->consistent, exp->consistent);
    CHECK_INT(got->stops.max_ns, exp->stops.max_ns);
    CHECK_INT(got->stops.p99_ns, exp->stops.p99_ns);
    CHECK_INT(got->stops.total_ns, exp->stops.total_ns);
    CHECK_INT(got->stops.count, exp->stops.count);
    CHECK_STR(got->note, exp->note);
    CHECK(got->symbolizer == NULL);
    CHECK_INT(got->thread_count, exp->thread_count);
    if (got->thread_count != exp->thread_count)
        return;
    for (size_t i = 0; i < got->thread_count; i++) {
        const struct capture_thread *g = &got->threads[i], *e = &exp->threads[i];
        CHECK_INT(g->tid, e->tid);
        CHECK_STR(g->name, e->name);
        CHECK_INT(g->state, e->state);
        CHECK_STR(g->wchan, e->wchan);
        CHECK_INT(g->syscall, e->syscall);
        CHECK(memcmp(g->syscall_args, e->syscall_args, sizeof g->syscall_args) == 0);
        CHECK_INT(g->cpu_ticks, e->cpu_ticks);
        CHECK_INT(g->stop_ns, e->stop_ns);
        CHECK_INT(g->was_stopped, e->was_stopped);
        CHECK_INT(g->is_kernel_thread, e->is_kernel_thread);
        CHECK_STR(g->error, e->error);
        CHECK_INT(g->pc_count, e->pc_count);
        CHECK(g->pc_count == e->pc_count &&
              (g->pc_count == 0 || memcmp(g->pcs, e->pcs, g->pc_count * sizeof g->pcs[0]) == 0));
        CHECK(g->pc_count == e->pc_count &&
              (g->pc_count == 0 ||
               memcmp(g->pc_is_return, e->pc_is_return, g->pc_count * sizeof(bool)) == 0));
        CHECK_INT(g->frame_count, e->frame_count);
        CHECK((g->frames == NULL) == (g->frame_count == 0));
        if (g->frame_count != e->frame_count)
            continue;
        for (size_t f = 0; f < g->frame_count; f++) {
            const struct capture_frame *gf = &g->frames[f], *ef = &e->frames[f];
            CHECK_INT(gf->pc, ef->pc);
            CHECK(same_text(ef->function, gf->function));
            CHECK(same_text(ef->module, gf->module));
            CHECK(same_text(ef->file, gf->file));
            CHECK(!gf->function || *gf->function);
            CHECK(!gf->file || *gf->file);
            CHECK_INT(gf->module_offset, ef->module_offset);
            CHECK_INT(gf->line, ef->line);
            CHECK_INT(gf->is_inline, ef->is_inline);
        }
    }
}

static void check_locks(const struct stacks_lock_report *got, const struct stacks_lock_report *exp)
{
    CHECK_INT(got->wait_count, exp->wait_count);
    for (size_t i = 0; i < got->wait_count && i < exp->wait_count; i++) {
        CHECK_INT(got->waits[i].waiter, exp->waits[i].waiter);
        CHECK_INT(got->waits[i].address, exp->waits[i].address);
        CHECK_INT(got->waits[i].owner, exp->waits[i].owner);
        CHECK_STR(got->waits[i].kind, exp->waits[i].kind);
    }
    CHECK_INT(got->cycle_count, exp->cycle_count);
    for (size_t c = 0; c < got->cycle_count && c < exp->cycle_count; c++) {
        CHECK_INT(got->cycle_lengths[c], exp->cycle_lengths[c]);
        CHECK(got->cycle_lengths[c] == exp->cycle_lengths[c] &&
              memcmp(got->cycles[c], exp->cycles[c], got->cycle_lengths[c] * sizeof(pid_t)) == 0);
    }
}

/* Loads a snapshot and compares it (locks only when exp_locks is given). */
static void check_load(struct store *store, int64_t id, const struct capture_result *exp,
                       const struct stacks_lock_report *exp_locks)
{
    char err[256] = "";
    struct capture_result got;
    struct stacks_lock_report locks;
    struct store_strings *strings = (void *)1;
    int rc = store_load_stacks(store, id, &got, &locks, &strings, err, sizeof err);
    CHECK_INT(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err);
        CHECK(strings == NULL);
        return;
    }
    CHECK(strings != NULL);
    check_capture(&got, exp);
    static const struct stacks_lock_report no_locks;
    check_locks(&locks, exp_locks ? exp_locks : &no_locks);
    free_capture(&got);
    free_locks(&locks);
    store_strings_free(strings);
    /* Without a lock report. */
    CHECK_INT(store_load_stacks(store, id, &got, NULL, &strings, err, sizeof err), 0);
    CHECK_INT(got.thread_count, exp->thread_count);
    free_capture(&got);
    store_strings_free(strings);
}

/* Distinct frames and stacks of captures A and B, counted by hand from the specs. */
#define FRAMES_A      10 /* catalogue 0..9 */
#define FRAMES_AB     12 /* plus 10 and 11 */
#define STACKS_A      3  /* main, worker, consumer */
#define STACKS_AB     5  /* plus other, worker with line 22 */
#define STACK_ROWS_AB (2 + 5 + 4 + 3 + 5)

static void test_record_and_load(void)
{
    char err[256] = "";
    char *path = test_path("stacks.db");
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        fprintf(stderr, "%s\n", err);
        free(path);
        return;
    }
    struct capture_result a, b;
    build_capture(&a, 4470, "server", capture_a_threads,
                  sizeof capture_a_threads / sizeof capture_a_threads[0]);
    build_capture(&b, 5000, "other\x1b[31m", capture_b_threads,
                  sizeof capture_b_threads / sizeof capture_b_threads[0]);
    blank_unknown_names(&b);

    int64_t id_a = store_record_stacks(store, &a, &locks_a, err, sizeof err);
    CHECK(id_a > 0);
    CHECK_INT(query_int(path, "SELECT count(*) FROM frame"), FRAMES_A);
    CHECK_INT(query_int(path, "SELECT count(*) FROM stack"), STACKS_A);
    int64_t id_b = store_record_stacks(store, &b, NULL, err, sizeof err);
    CHECK(id_b > id_a);
    /* Frames and stacks shared across snapshots and processes, "" the same as NULL. */
    CHECK_INT(query_int(path, "SELECT count(*) FROM frame"), FRAMES_AB);
    CHECK_INT(query_int(path, "SELECT count(*) FROM stack"), STACKS_AB);
    CHECK_INT(query_int(path, "SELECT count(*) FROM stack_frame"), STACK_ROWS_AB);
    CHECK_INT(query_int(path, "SELECT count(*) FROM snapshot_thread"), 9);
    CHECK_INT(query_int(path, "SELECT count(*) FROM snapshot_thread WHERE stack_id IS NULL"), 2);
    CHECK_INT(query_int(path, "SELECT count(*) FROM snapshot_lock"), 2);
    CHECK_INT(query_int(path, "SELECT count(*) FROM snapshot_deadlock"), 5);
    CHECK_INT(query_int(path, "SELECT count(DISTINCT stack_id) FROM snapshot_thread"
                              " WHERE tid IN (4471, 4472, 5001)"),
              1);
    /* The same capture again costs no frame and no stack. */
    int64_t id_a2 = store_record_stacks(store, &a, &locks_a, err, sizeof err);
    CHECK(id_a2 > id_b);
    CHECK_INT(query_int(path, "SELECT count(*) FROM frame"), FRAMES_AB);
    CHECK_INT(query_int(path, "SELECT count(*) FROM stack"), STACKS_AB);

    check_load(store, id_a, &a, &locks_a);
    check_load(store, id_b, &b, NULL);
    check_load(store, id_a2, &a, &locks_a);

    struct store_snapshot *snapshots = NULL;
    CHECK_INT(store_snapshots(store, 0, &snapshots), 3);
    if (snapshots) {
        const struct store_snapshot *s = &snapshots[1];
        CHECK_INT(s->id, id_b);
        CHECK_INT(s->kind, STORE_SNAPSHOT_STACKS);
        CHECK_INT(s->pid, 5000);
        CHECK_STR(s->comm, "other\x1b[31m");
        CHECK_INT(s->taken_us, b.started_us);
        CHECK_INT(s->duration_us, 41230);
        CHECK_INT(s->thread_count, 4);
        CHECK_STR(s->unwinder, "libunwind");
        CHECK_STR(snapshots[0].unwinder, "libdw");
        CHECK(!s->consistent && snapshots[0].consistent);
        CHECK_INT(s->stop_max_ns, 90000);
        CHECK_INT(s->stop_p99_ns, 60000);
        CHECK_INT(s->stop_total_ns, 310000);
        CHECK_STR(s->note, "process exited: partial");
        CHECK(s->session_id > 0 && s->session_id == snapshots[0].session_id);
    }
    store_snapshots_free(snapshots);
    CHECK_INT(store_snapshots(store, 12345, &snapshots), 0);
    CHECK(snapshots == NULL);

    /* Errors: no such snapshot. */
    struct capture_result got;
    struct store_strings *strings = NULL;
    CHECK_INT(store_load_stacks(store, 999, &got, NULL, &strings, err, sizeof err), -1);
    CHECK(strstr(err, "no snapshot 999") != NULL);
    CHECK_INT(store_close(store, err, sizeof err), 0);

    /* Read back from the closed file, read-only. */
    store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        check_load(store, id_a, &a, &locks_a);
        check_load(store, id_b, &b, NULL);
        CHECK_INT(store_snapshots(store, 0, &snapshots), 3);
        store_snapshots_free(snapshots);
        CHECK_INT(store_record_stacks(store, &a, NULL, err, sizeof err), -1);
        CHECK(strstr(err, "read-only") != NULL);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }

    /* The views, as a user would query them. */
    CHECK_INT(query_int(path, "SELECT count(*) FROM snapshot_groups WHERE snapshot_id = 1"), 3);
    CHECK_INT(query_int(path, "SELECT count FROM snapshot_groups WHERE snapshot_id = 1"
                              " ORDER BY count DESC LIMIT 1"),
              2);
    CHECK_STR(query_text(path, "SELECT top_function FROM snapshot_groups WHERE snapshot_id = 1"
                               " ORDER BY count DESC LIMIT 1"),
              "__lll_lock_wait");
    CHECK_STR(query_text(path, "SELECT tids FROM snapshot_groups WHERE snapshot_id = 1"
                               " ORDER BY count DESC LIMIT 1"),
              "4471 4472");
    CHECK_STR(query_text(path, "SELECT top_function FROM snapshot_threads_full"
                               " WHERE snapshot_id = 1 AND tid = 4473"),
              "read");
    CHECK_STR(query_text(path, "SELECT top_function FROM snapshot_threads_full WHERE tid = 5002"),
              "/srv/other+0xbeef");
    CHECK_STR(query_text(path, "SELECT ifnull(top_function, 'none') || ' ' || error"
                               " FROM snapshot_threads_full WHERE tid = 4474"),
              "none exited");
    CHECK_INT(query_int(path, "SELECT count(*) FROM snapshot_threads_full"), 14);

    free_capture(&a);
    free_capture(&b);
    unlink(path);
    free(path);
}

/* ":memory:" records and loads snapshots too. */
static void test_in_memory(void)
{
    char err[256] = "";
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(":memory:", &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store)
        return;
    struct capture_result a;
    build_capture(&a, 4470, "server", capture_a_threads,
                  sizeof capture_a_threads / sizeof capture_a_threads[0]);
    int64_t id = store_record_stacks(store, &a, &locks_a, err, sizeof err);
    CHECK_INT(id, 1);
    check_load(store, id, &a, &locks_a);
    /* A capture with no threads at all is a snapshot too. */
    struct capture_result empty;
    memset(&empty, 0, sizeof empty);
    empty.pid = 1;
    int64_t id_empty = store_record_stacks(store, &empty, NULL, err, sizeof err);
    CHECK_INT(id_empty, 2);
    check_load(store, id_empty, &empty, NULL);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    free_capture(&a);
}

/* Captures the store must refuse, whole: nothing is written. */
static void test_refused(void)
{
    char err[256] = "";
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(":memory:", &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store)
        return;
    struct capture_result a;
    build_capture(&a, 4470, "server", capture_a_threads,
                  sizeof capture_a_threads / sizeof capture_a_threads[0]);
    /* Deeper than a reader reads. */
    struct capture_frame *frames = a.threads[0].frames;
    size_t frame_count = a.threads[0].frame_count;
    a.threads[0].frame_count = 5000;
    a.threads[0].frames = xcalloc(5000, sizeof *a.threads[0].frames);
    CHECK_INT(store_record_stacks(store, &a, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "5000 frames") != NULL);
    free(a.threads[0].frames);
    a.threads[0].frames = NULL;
    a.threads[0].frame_count = 3;
    CHECK_INT(store_record_stacks(store, &a, NULL, err, sizeof err), -1);
    CHECK(strstr(err, "frames missing") != NULL);
    a.threads[0].frames = frames;
    a.threads[0].frame_count = frame_count;
    struct stacks_lock_report broken = {NULL, 3, NULL, NULL, 0};
    CHECK_INT(store_record_stacks(store, &a, &broken, err, sizeof err), -1);
    CHECK(strstr(err, "lock report") != NULL);
    CHECK_INT(store_record_stacks(store, NULL, NULL, err, sizeof err), -1);
    CHECK_INT(store_record_stacks(NULL, &a, NULL, err, sizeof err), -1);
    struct store_snapshot *snapshots;
    CHECK_INT(store_snapshots(store, 0, &snapshots), 0);
    /* Then a good one is snapshot 1: the failures left nothing behind. */
    CHECK_INT(store_record_stacks(store, &a, NULL, err, sizeof err), 1);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    free_capture(&a);
}

/* A version 1 file: readable as it is, migrated in place when recorded into. */
static void test_version_1(void)
{
    char err[256] = "";
    char *path = test_path("v1.db");
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        free(path);
        return;
    }
    struct proc_entry proc;
    memset(&proc, 0, sizeof proc);
    proc.pid = proc.tgid = 4470;
    proc.starttime_ticks = 99;
    snprintf(proc.comm, sizeof proc.comm, "server");
    proc.cmdline = "/srv/server";
    proc.metrics.state = 'S';
    const struct proc_entry *entries[] = {&proc};
    struct system_metrics system;
    memset(&system, 0, sizeof system);
    for (int t = 0; t < 3; t++) {
        proc.metrics.utime_ticks += 5;
        CHECK_INT(store_record_tick(store, &system, entries, 1, err, sizeof err), 0);
    }
    CHECK_INT(store_close(store, err, sizeof err), 0);
    /* Versions 2 and 3 only added tables and views: removing them leaves exactly a version 1
     * file, as stacktop 1 wrote it. */
    CHECK_INT(exec_sql(path, "DROP VIEW profile_hot_functions; DROP TABLE snapshot_profile;"
                             "DROP VIEW snapshot_groups; DROP VIEW snapshot_threads_full;"
                             "DROP TABLE snapshot_stack_count; DROP TABLE snapshot_deadlock;"
                             "DROP TABLE snapshot_lock; DROP TABLE snapshot_thread;"
                             "DROP TABLE stack_frame; DROP TABLE stack; DROP TABLE frame;"
                             "DROP TABLE snapshot; PRAGMA user_version = 1; VACUUM"),
              0);
    CHECK_INT(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%snapshot%'"),
              0);

    /* Read-only: works, with no snapshots. */
    store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        struct store_snapshot *snapshots = (void *)1;
        CHECK_INT(store_snapshots(store, 0, &snapshots), 0);
        CHECK(snapshots == NULL);
        struct capture_result got;
        struct store_strings *strings = (void *)1;
        CHECK_INT(store_load_stacks(store, 1, &got, NULL, &strings, err, sizeof err), -1);
        CHECK(strstr(err, "schema version 1") != NULL);
        CHECK(strings == NULL);
        struct store_tick tick;
        CHECK_INT(store_load_tick(store, 0, 3, &tick, err, sizeof err), 0);
        CHECK(tick.process_count == 1 && tick.processes[0].metrics.utime_ticks == 15);
        store_tick_free(&tick);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    CHECK_INT(query_int(path, "PRAGMA user_version"), 1);

    /* Recording: migrated in place, ticks kept, snapshots recorded. */
    store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        CHECK_INT(query_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        struct capture_result a;
        build_capture(&a, 4470, "server", capture_a_threads,
                      sizeof capture_a_threads / sizeof capture_a_threads[0]);
        int64_t id = store_record_stacks(store, &a, &locks_a, err, sizeof err);
        CHECK_INT(id, 1);
        check_load(store, id, &a, &locks_a);
        struct store_snapshot *snapshots = NULL;
        CHECK_INT(store_snapshots(store, 1, &snapshots), 0); /* session 1 had none */
        store_snapshots_free(snapshots);
        CHECK_INT(store_snapshots(store, 2, &snapshots), 1);
        store_snapshots_free(snapshots);
        CHECK_INT(store_close(store, err, sizeof err), 0);
        free_capture(&a);
    }
    CHECK_INT(query_int(path, "SELECT count(*) FROM tick WHERE session_id = 1"), 3);
    CHECK_INT(query_int(path, "SELECT count(*) FROM session"), 2);
    store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        struct store_tick tick;
        CHECK_INT(store_load_tick(store, 1, 3, &tick, err, sizeof err), 0);
        CHECK(tick.process_count == 1 && tick.processes[0].metrics.utime_ticks == 15);
        store_tick_free(&tick);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    unlink(path);
    free(path);
}

/* A stored stack whose hash no longer matches its frames (a forged or colliding row): the
 * writer probes past it and never reuses it for different frames. */
static void test_hash_collision(void)
{
    char err[256] = "";
    char *path = test_path("collision.db");
    struct store_session_info info = test_info();
    struct store *store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        free(path);
        return;
    }
    struct capture_result a;
    build_capture(&a, 4470, "server", capture_a_threads,
                  sizeof capture_a_threads / sizeof capture_a_threads[0]);
    CHECK_INT(store_record_stacks(store, &a, NULL, err, sizeof err), 1);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    /* The worker stack (of tid 4471) now claims another innermost frame. */
    CHECK_INT(exec_sql(path, "UPDATE stack_frame SET frame_id = 9 WHERE position = 0 AND"
                             " stack_id = (SELECT stack_id FROM snapshot_thread WHERE tid = 4471)"),
              0);
    store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        int64_t id = store_record_stacks(store, &a, NULL, err, sizeof err);
        CHECK_INT(id, 2);
        CHECK_INT(query_int(path, "SELECT count(*) FROM stack"), STACKS_A + 1);
        check_load(store, id, &a, NULL);
        /* And the probed row is found again next time. */
        CHECK_INT(store_record_stacks(store, &a, NULL, err, sizeof err), 3);
        CHECK_INT(query_int(path, "SELECT count(*) FROM stack"), STACKS_A + 1);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    free_capture(&a);
    unlink(path);
    free(path);
}

/* Records capture A into a new file at path and closes it. */
static void make_file(const char *path)
{
    char err[256] = "";
    struct store_session_info info = test_info();
    unlink(path);
    struct store *store = store_open_for_recording(path, &info, err, sizeof err);
    CHECK(store != NULL);
    if (!store)
        return;
    struct capture_result a;
    build_capture(&a, 4470, "server", capture_a_threads,
                  sizeof capture_a_threads / sizeof capture_a_threads[0]);
    CHECK_INT(store_record_stacks(store, &a, &locks_a, err, sizeof err), 1);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    free_capture(&a);
}

/* Opens path read-only and loads snapshot 1: returns the result, err filled. */
static int load_forged(const char *path, char *err, size_t errlen, size_t *threads)
{
    struct store *store = store_open_readonly(path, err, errlen);
    if (!store)
        return -2;
    struct capture_result got;
    struct stacks_lock_report locks;
    struct store_strings *strings = NULL;
    int rc = store_load_stacks(store, 1, &got, &locks, &strings, err, errlen);
    if (rc == 0) {
        *threads = got.thread_count;
        for (size_t i = 0; i < got.thread_count; i++) {
            /* Touch every frame string: ASan catches a dangling one. */
            for (size_t f = 0; f < got.threads[i].frame_count; f++) {
                const struct capture_frame *frame = &got.threads[i].frames[f];
                CHECK(!frame->function || strlen(frame->function) <= 4096);
                CHECK(!frame->module || strlen(frame->module) <= 4096);
                CHECK(!frame->file || strlen(frame->file) <= 4096);
            }
            CHECK(got.threads[i].pc_count <= CAPTURE_MAX_FRAMES);
        }
        for (size_t i = 0; i < locks.wait_count; i++)
            CHECK(locks.waits[i].kind != NULL);
        free_capture(&got);
        free_locks(&locks);
        store_strings_free(strings);
    } else {
        CHECK(strings == NULL && got.threads == NULL && got.thread_count == 0);
        CHECK(locks.waits == NULL && locks.cycles == NULL);
    }
    store_close(store, NULL, 0);
    return rc;
}

/* Forged and damaged files: clear errors or bounded data, never a crash. */
static void test_hostile(void)
{
    char err[256] = "";
    char *path = test_path("hostile.db");
    size_t threads = 0;
    static const struct {
        const char *sql;     /* what is done to a good file */
        int expected;        /* load result: 0, -1, or -2 (open refused) */
        const char *message; /* part of the error, or NULL */
    } cases[] = {
        {"DELETE FROM frame WHERE id = 1", -1, "names a missing frame"},
        {"UPDATE stack SET depth = 1000000000", -1, "depth that does not match"},
        {"DELETE FROM stack_frame WHERE stack_id = 2", -1, "stack 2 has no frames"},
        {"DELETE FROM stack_frame WHERE position = 0", -1, "gap in its frame positions"},
        {"DELETE FROM stack_frame WHERE position = 1", -1, "depth that does not match"},
        {"UPDATE snapshot_thread SET stack_id = 999 WHERE tid = 4473", -1,
         "stack 999 does not exist"},
        {"UPDATE snapshot_thread SET stack_id = -1 WHERE tid = 4470", -1, "does not exist"},
        {"UPDATE snapshot SET kind = 'profile'", -1, "not a stack capture"},
        {"UPDATE snapshot SET kind = x'00ff'", -1, "not a stack capture"},
        {"UPDATE snapshot_thread SET pcs = zeroblob(100000), frame_pcs = x'0102',"
         " syscall_args = 'text', name = zeroblob(5000), state = '', error = x'41004200',"
         " pc_is_return = zeroblob(100000)",
         0, NULL},
        {"UPDATE frame SET function = printf('%.*c', 100000, 'x'), file = x'00'", 0, NULL},
        {"UPDATE snapshot_lock SET kind = zeroblob(0);"
         " UPDATE snapshot_deadlock SET cycle = -cycle",
         0, NULL},
        /* Constraints dropped, NULLs everywhere. */
        {"DROP TABLE snapshot_thread; CREATE TABLE snapshot_thread (snapshot_id, position,"
         " tid, name, state, wchan, syscall, syscall_args, cpu_ticks, stop_ns, was_stopped,"
         " is_kernel_thread, error, stack_id, pcs, pc_is_return, frame_pcs);"
         "INSERT INTO snapshot_thread (snapshot_id) VALUES (1), (1), (1);"
         "DROP TABLE snapshot; CREATE TABLE snapshot (id, session_id, kind, pid, comm,"
         " taken_us, duration_us, unwinder, consistent, thread_count, stop_max_ns,"
         " stop_p99_ns, stop_total_ns, stop_count, note);"
         "INSERT INTO snapshot (id, kind, unwinder, thread_count) VALUES (1, 'stacks', 7, -5)",
         0, NULL},
        {"DROP TABLE stack_frame; CREATE TABLE stack_frame (stack_id, position, frame_id);"
         "INSERT INTO stack_frame VALUES (1, 0, 8), (1, 0, 8), (2, NULL, NULL)",
         -1, "gap in its frame positions"},
        {"DROP TABLE stack_frame; CREATE TABLE stack_frame (stack_id, position, frame_id);"
         "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)"
         " INSERT INTO stack_frame SELECT 1, i, 1 FROM n; UPDATE stack SET depth = 5001",
         -1, "too deep"},
        {"ALTER TABLE snapshot_thread DROP COLUMN frame_pcs", -2,
         "table 'snapshot_thread' has no column 'frame_pcs'"},
        {"DROP TABLE stack", -2, "no table 'stack'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_file(path);
        CHECK_INT(exec_sql(path, cases[i].sql), 0);
        err[0] = '\0';
        threads = 0;
        int rc = load_forged(path, err, sizeof err, &threads);
        if (rc != cases[i].expected)
            fprintf(stderr, "case %zu (%s): %d, %s\n", i, cases[i].sql, rc, err);
        CHECK_INT(rc, cases[i].expected);
        if (cases[i].message) {
            if (!strstr(err, cases[i].message))
                fprintf(stderr, "case %zu: \"%s\"\n", i, err);
            CHECK(strstr(err, cases[i].message) != NULL);
            CHECK(rc == -2 || strstr(err, path) != NULL);
        }
        if (rc == 0)
            CHECK(threads == 5 || threads == 3);
    }
    unlink(path);
    free(path);
}

int main(void)
{
    if (store_test_dir_create("test_store_stacks") != 0)
        return 1;
    test_record_and_load();
    test_in_memory();
    test_refused();
    test_version_1();
    test_hash_collision();
    test_hostile();
    store_test_dir_remove();
    return CHECK_DONE();
}
