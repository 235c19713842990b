/*
 * test_capture: captures a live fixture (named_sleeper) with both unwinders and checks the
 * safety contract of core/capture.c: every thread is listed and unwound, both unwinders agree
 * on the PCs, nothing stays traced, a stopped target stays stopped, and whole-process errors
 * (missing process, kernel thread) have clear messages.
 *
 * The fixture is found through $FIXTURES, else next to the test binary
 * (build/tests/test_capture -> build/fixtures/named_sleeper).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "fixture_process.h"
#include "memory.h"
#include "proc_maps.h"

#define FIXTURE_THREADS 4 /* worker threads of the fixture (plus its main thread) */

/* A running fixture. */
struct fixture {
    pid_t pid; /* its pid ("ready PID") */
};

/* Starts named_sleeper NAME THREADS and waits for its "ready PID" line. */
static int fixture_start(struct fixture *fixture, const char *name, int threads)
{
    char count[16];
    snprintf(count, sizeof count, "%d", threads);
    fixture->pid = fixture_process_start("named_sleeper", name, count);
    return fixture->pid > 0 ? 0 : -1;
}

static void fixture_stop(struct fixture *fixture)
{
    fixture_process_stop(fixture->pid);
}

/* A number field ("TracerPid") of /proc/PID/task/TID/status; -1 if unreadable. */
static long task_status_field(pid_t pid, pid_t tid, const char *name)
{
    char path[96], line[256];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
    FILE *file = fopen(path, "re");
    if (file == NULL)
        return -1;
    long value = -1;
    size_t name_len = strlen(name);
    while (fgets(line, sizeof line, file) != NULL)
        if (strncmp(line, name, name_len) == 0 && line[name_len] == ':')
            value = strtol(line + name_len + 1, NULL, 10);
    fclose(file);
    return value;
}

/* The state letter of a thread, '?' if unreadable. */
static char task_state(pid_t pid, pid_t tid)
{
    char path[96], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *file = fopen(path, "re");
    if (file == NULL)
        return '?';
    size_t len = fread(buf, 1, sizeof buf - 1, file);
    fclose(file);
    buf[len] = '\0';
    char *close_paren = strrchr(buf, ')');
    return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : '?';
}

static void sleep_ms(int ms)
{
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&pause, NULL);
}

/* Waits until every thread of pid is in state T. */
static bool wait_all_stopped(const struct capture_result *result)
{
    for (int tries = 0; tries < 200; tries++) {
        bool all = true;
        for (size_t i = 0; i < result->thread_count; i++)
            if (task_state(result->pid, result->threads[i].tid) != 'T')
                all = false;
        if (all)
            return true;
        sleep_ms(5);
    }
    return false;
}

static void check_nothing_traced(const struct capture_result *result)
{
    for (size_t i = 0; i < result->thread_count; i++)
        CHECK_INT(task_status_field(result->pid, result->threads[i].tid, "TracerPid"), 0);
}

static int capture_with(pid_t pid, enum capture_unwinder unwinder, bool consistent,
                        struct capture_result *result)
{
    struct capture_options options = {
        .unwinder = unwinder,
        .consistent = consistent,
        .stop_deadline_ms = 50, /* sanitizer builds and loaded CI machines are slow */
        .symbolize = false,
    };
    char err[512] = "";
    int rc = capture_process(pid, &options, result, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "capture of %d with %s failed: %s\n", (int)pid,
                capture_unwinder_name(unwinder), err);
    return rc;
}

/* Every thread listed and unwound to at least 3 frames. */
static void check_complete(const struct capture_result *result)
{
    CHECK_INT(result->thread_count, FIXTURE_THREADS + 1);
    for (size_t i = 0; i < result->thread_count; i++) {
        const struct capture_thread *thread = &result->threads[i];
        CHECK_STR(thread->error, "");
        CHECK(thread->pc_count >= 3);
        CHECK(thread->stop_ns >= 0);
        CHECK(!thread->pc_is_return[0]);
        if (thread->pc_count >= 3 && thread->error[0] == '\0')
            continue;
        fprintf(stderr, "  thread %d (%s): %zu pcs, error \"%s\"\n", (int)thread->tid, thread->name,
                thread->pc_count, thread->error);
    }
    CHECK(result->stops.count == FIXTURE_THREADS + 1);
    CHECK(result->stops.max_ns >= result->stops.p99_ns);
    CHECK(result->stops.total_ns >= result->stops.max_ns);
    CHECK(result->threads[0].tid == result->pid);
    CHECK(strncmp(result->comm, "capfx", 5) == 0);
}

/* The two unwinders walk the same frames. The outermost frame may differ when one of them
 * stops a frame earlier (e.g. at _start or clone3, whose CFI marks the end differently). */
static void check_same_pcs(const struct capture_result *a, const struct capture_result *b)
{
    CHECK_INT(a->thread_count, b->thread_count);
    for (size_t i = 0; i < a->thread_count && i < b->thread_count; i++) {
        const struct capture_thread *x = &a->threads[i], *y = &b->threads[i];
        CHECK_INT(x->tid, y->tid);
        size_t shorter = x->pc_count < y->pc_count ? x->pc_count : y->pc_count;
        size_t longer = x->pc_count < y->pc_count ? y->pc_count : x->pc_count;
        CHECK(longer - shorter <= 1);
        bool same = true;
        for (size_t p = 0; p < shorter; p++)
            if (x->pcs[p] != y->pcs[p] || x->pc_is_return[p] != y->pc_is_return[p])
                same = false;
        CHECK(same);
        if (!same || longer - shorter > 1) {
            fprintf(stderr, "  thread %d: %s vs %s\n", (int)x->tid,
                    capture_unwinder_name(a->unwinder), capture_unwinder_name(b->unwinder));
            for (size_t p = 0; p < longer; p++)
                fprintf(stderr, "    #%zu %#llx %#llx\n", p,
                        p < x->pc_count ? (unsigned long long)x->pcs[p] : 0ULL,
                        p < y->pc_count ? (unsigned long long)y->pcs[p] : 0ULL);
        }
    }
}

static void test_both_unwinders(pid_t pid)
{
    struct capture_result by_libunwind, by_libdw, consistent;
    CHECK(capture_with(pid, CAPTURE_UNWINDER_LIBUNWIND, false, &by_libunwind) == 0);
    CHECK(by_libunwind.unwinder == CAPTURE_UNWINDER_LIBUNWIND);
    check_complete(&by_libunwind);
    check_nothing_traced(&by_libunwind);

    CHECK(capture_with(pid, CAPTURE_UNWINDER_LIBDW, false, &by_libdw) == 0);
    CHECK(by_libdw.unwinder == CAPTURE_UNWINDER_LIBDW);
    check_complete(&by_libdw);
    check_nothing_traced(&by_libdw);
    check_same_pcs(&by_libunwind, &by_libdw);

    CHECK(capture_with(pid, CAPTURE_UNWINDER_DEFAULT, true, &consistent) == 0);
    CHECK(consistent.consistent);
    CHECK(consistent.unwinder != CAPTURE_UNWINDER_DEFAULT);
    check_complete(&consistent);
    check_nothing_traced(&consistent);
    check_same_pcs(&by_libunwind, &consistent);

    capture_result_free(&by_libunwind);
    capture_result_free(&by_libdw);
    capture_result_free(&consistent);
}

/* A target stopped with SIGSTOP before the capture is still stopped after it. */
static void test_stopped_target_stays_stopped(pid_t pid)
{
    struct capture_result before;
    CHECK(capture_with(pid, CAPTURE_UNWINDER_LIBUNWIND, false, &before) == 0);
    kill(pid, SIGSTOP);
    CHECK(wait_all_stopped(&before));

    for (int unwinder = CAPTURE_UNWINDER_LIBUNWIND; unwinder <= CAPTURE_UNWINDER_LIBDW;
         unwinder++) {
        for (int consistent = 0; consistent <= 1; consistent++) {
            struct capture_result during;
            CHECK(capture_with(pid, (enum capture_unwinder)unwinder, consistent, &during) == 0);
            check_complete(&during);
            for (size_t i = 0; i < during.thread_count; i++)
                CHECK(during.threads[i].was_stopped);
            sleep_ms(20); /* a thread wrongly resumed would show up as S by now */
            for (size_t i = 0; i < during.thread_count; i++)
                CHECK(task_state(pid, during.threads[i].tid) == 'T');
            check_nothing_traced(&during);
            capture_result_free(&during);
        }
    }
    kill(pid, SIGCONT);
    capture_result_free(&before);
}

static void test_errors(void)
{
    struct capture_result result;
    char err[512];
    struct capture_options options = {.stop_deadline_ms = 10};

    /* a pid that does not exist: above the highest pid the kernel hands out */
    CHECK(capture_process(4194304 + 17, &options, &result, err, sizeof err) == -1);
    CHECK(strstr(err, "does not exist") != NULL);
    CHECK(result.threads == NULL);

    CHECK(capture_process(2, &options, &result, err, sizeof err) == -1);
    CHECK(strstr(err, "kernel thread") != NULL);
    CHECK(strstr(err, "no user stack") != NULL);

    CHECK(capture_process(getpid(), &options, &result, err, sizeof err) == -1);
    CHECK(strstr(err, "itself") != NULL);
}

static void test_names(void)
{
    CHECK_STR(capture_unwinder_name(CAPTURE_UNWINDER_LIBUNWIND), "libunwind");
    CHECK_STR(capture_unwinder_name(CAPTURE_UNWINDER_LIBDW), "libdw");
    CHECK_INT(capture_unwinder_from_name("libdw"), CAPTURE_UNWINDER_LIBDW);
    CHECK_INT(capture_unwinder_from_name("libunwind"), CAPTURE_UNWINDER_LIBUNWIND);
    CHECK_INT(capture_unwinder_from_name("default"), CAPTURE_UNWINDER_DEFAULT);
    CHECK_INT(capture_unwinder_from_name("gdb"), -1);
}

/* With symbolization on, frames are filled (module at least) after every thread resumed. */
static void test_symbolized(pid_t pid)
{
    struct capture_options options = {.stop_deadline_ms = 50, .symbolize = true};
    struct capture_result result;
    char err[512] = "";
    CHECK(capture_process(pid, &options, &result, err, sizeof err) == 0);
    bool found_main = false;
    for (size_t i = 0; i < result.thread_count; i++) {
        CHECK(result.threads[i].frame_count >= result.threads[i].pc_count);
        for (size_t f = 0; f < result.threads[i].frame_count; f++) {
            const char *function = result.threads[i].frames[f].function;
            if (function != NULL && strcmp(function, "main") == 0)
                found_main = true;
        }
    }
    CHECK(found_main);
    check_nothing_traced(&result);
    capture_result_free(&result);
}

/* wchan is read unless skip_wchan: a thread asleep in nanosleep has one, and none is read
 * (all "") when skipped. */
static void test_wchan(pid_t pid)
{
    for (int skip = 0; skip <= 1; skip++) {
        struct capture_options options = {.stop_deadline_ms = 50, .skip_wchan = skip == 1};
        struct capture_result result;
        char err[512] = "";
        CHECK(capture_process(pid, &options, &result, err, sizeof err) == 0);
        size_t asleep = 0, with_wchan = 0;
        for (size_t i = 0; i < result.thread_count; i++) {
            if (result.threads[i].state == 'S')
                asleep++;
            if (result.threads[i].wchan[0] != '\0')
                with_wchan++;
        }
        CHECK(asleep > 0);
        CHECK_INT(with_wchan, skip ? 0 : asleep);
        capture_result_free(&result);
    }
}

/* memory_reader_copy_stack: one read, cut at the first unreadable page; reads inside are
 * served from the copy (the memory as it was), reads of writable memory outside are counted. */
static void test_stack_copy(void)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *area =
        mmap(NULL, (size_t)page * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    if (area == MAP_FAILED)
        return;
    CHECK(mprotect(area + 2 * page, (size_t)page, PROT_NONE) == 0); /* a guard page */
    memset(area, 0x11, (size_t)page * 2);
    uint64_t sp = (uint64_t)(uintptr_t)(area + 64);

    struct memory_reader *reader = memory_reader_new(getpid(), NULL);
    ssize_t copied = memory_reader_copy_stack(reader, sp, 64 * 1024, 0);
    CHECK_INT(copied, 2 * page - 64); /* stops at the guard page */
    area[100] = 0x22;                 /* the "thread" runs on after the copy */
    uint64_t word = 0;
    CHECK(memory_read_word(reader, sp + 36, &word) == 0);
    CHECK(word == 0x1111111111111111ull);                /* from the copy: the value at the stop */
    CHECK(memory_read_word(reader, sp - 8, &word) == 0); /* below the copy: live */
    struct memory_stats stats;
    memory_reader_get_stats(reader, &stats);
    CHECK(stats.copy_hits == 1);
    CHECK(stats.live_after_copy == 1);
    CHECK(memory_read_word(reader, (uint64_t)(uintptr_t)(area + 2 * page), &word) == -1);

    memory_reader_drop_stack_copy(reader);
    memory_reader_invalidate(reader);
    CHECK(memory_read_word(reader, sp + 36, &word) == 0);
    CHECK(word == 0x1111111111111122ull); /* live again (little-endian) */

    /* a copy taken out of the reader (several threads copied before any is walked) keeps
     * the memory as it was at its stop, once installed again */
    CHECK(memory_reader_copy_stack(reader, sp, 256, 0) == 256);
    CHECK_INT(memory_reader_stack_copy_length(reader), 256);
    unsigned char kept[256];
    struct memory_stack_copy taken;
    CHECK(memory_reader_take_stack_copy(reader, kept, &taken) == 0);
    CHECK(taken.bytes == kept && taken.address == sp && taken.length == 256);
    CHECK_INT(memory_reader_stack_copy_length(reader), 0); /* the scratch is free again */
    CHECK(memory_reader_take_stack_copy(reader, kept, &taken) == -1);
    area[100] = 0x55; /* the thread ran on */
    memory_reader_invalidate(reader);
    CHECK(memory_read_word(reader, sp + 36, &word) == 0);
    CHECK(word == 0x1111111111111155ull); /* not installed: live */
    memory_reader_install_stack_copy(reader, &taken);
    CHECK(memory_read_word(reader, sp + 36, &word) == 0);
    CHECK(word == 0x1111111111111122ull); /* installed: as at its stop */
    memory_reader_drop_stack_copy(reader);
    CHECK(memory_reader_copy_stack(reader, (uint64_t)(uintptr_t)(area + 2 * page), 4096, 0) == -1);
    memory_reader_free(reader);

    /* with the memory map known: the copy also ends at an address above the frames (the
     * thread pointer) inside the stack's mapping, and ignores one outside it or below sp */
    struct proc_maps maps;
    CHECK(proc_maps_read(getpid(), &maps) == 0);
    reader = memory_reader_new(getpid(), &maps);
    uint64_t descriptor = (uint64_t)(uintptr_t)(area + page + 128);
    CHECK_INT(memory_reader_copy_stack(reader, sp, 64 * 1024, descriptor), page + 128 - 64);
    CHECK_INT(memory_reader_copy_stack(reader, sp, 64 * 1024, sp - 8), 2 * page - 64);
    CHECK_INT(memory_reader_copy_stack(reader, sp, 64 * 1024, (uint64_t)(uintptr_t)&maps),
              2 * page - 64);
    memory_reader_free(reader);
    proc_maps_free(&maps);
    munmap(area, (size_t)page * 3);
}

/* The default (walk the copy after resuming) and the former way (walk while stopped) find
 * the same stacks, with either unwinder. */
static void test_copy_matches_stopped_walk(pid_t pid)
{
    for (int unwinder = CAPTURE_UNWINDER_LIBUNWIND; unwinder <= CAPTURE_UNWINDER_LIBDW;
         unwinder++) {
        struct capture_result copied, walked;
        unsetenv("STACKTOP_UNWIND_WHILE_STOPPED");
        CHECK(capture_with(pid, (enum capture_unwinder)unwinder, false, &copied) == 0);
        setenv("STACKTOP_UNWIND_WHILE_STOPPED", "1", 1);
        CHECK(capture_with(pid, (enum capture_unwinder)unwinder, false, &walked) == 0);
        unsetenv("STACKTOP_UNWIND_WHILE_STOPPED");
        check_complete(&copied);
        check_complete(&walked);
        check_same_pcs(&copied, &walked);
        check_nothing_traced(&copied);
        capture_result_free(&copied);
        capture_result_free(&walked);
    }
}

int main(void)
{
    test_names();
    test_errors();
    test_stack_copy();

    struct fixture fixture;
    char name[16];
    snprintf(name, sizeof name, "capfx%d", (int)(getpid() % 100000));
    if (fixture_start(&fixture, name, FIXTURE_THREADS) != 0) {
        CHECK(!"fixture named_sleeper started");
        return CHECK_DONE();
    }
    test_both_unwinders(fixture.pid);
    test_copy_matches_stopped_walk(fixture.pid);
    test_stopped_target_stays_stopped(fixture.pid);
    test_symbolized(fixture.pid);
    test_wchan(fixture.pid);
    fixture_stop(&fixture);
    return CHECK_DONE();
}
