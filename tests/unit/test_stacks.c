/*
 * test_stacks: grouping, lock analysis and the reports of core/stacks.c on captures built by
 * hand (threads with frames and syscalls, and a fake target memory behind the read
 * callback). The JSON output is checked by python3's json module.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "stacks.h"

#define LIBC   "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define SERVER "/srv/bin/server"

/* ---- building captures ---- */

/* A frame description: function (NULL for stripped), module, file, line. */
struct frame_spec {
    const char *function; /* NULL: unknown */
    const char *module;   /* module path */
    const char *file;     /* source file or NULL */
    int line;             /* source line */
    uint64_t offset;      /* module offset (used when function is NULL) */
};

#define END_FRAMES                                                                                 \
    {                                                                                              \
        NULL, NULL, NULL, -1, 0                                                                    \
    }

static struct capture_thread *add_thread(struct capture_result *capture, pid_t tid,
                                         const char *name, char state,
                                         const struct frame_spec *frames)
{
    capture->threads =
        realloc(capture->threads, (capture->thread_count + 1) * sizeof *capture->threads);
    struct capture_thread *thread = &capture->threads[capture->thread_count++];
    memset(thread, 0, sizeof *thread);
    thread->tid = tid;
    snprintf(thread->name, sizeof thread->name, "%s", name);
    thread->state = state;
    thread->syscall = -1;
    size_t count = 0;
    while (frames && frames[count].line >= 0)
        count++;
    thread->frame_count = count;
    thread->frames = count ? calloc(count, sizeof *thread->frames) : NULL;
    for (size_t i = 0; i < count; i++) {
        struct capture_frame *frame = &thread->frames[i];
        frame->pc = 0x1000 + 0x10 * i + (uint64_t)tid * 0x100000;
        frame->function = frames[i].function;
        frame->module = frames[i].module;
        frame->file = frames[i].file;
        frame->line = frames[i].line;
        frame->module_offset = frames[i].offset;
    }
    return thread;
}

static void capture_init(struct capture_result *capture, pid_t pid, const char *comm)
{
    memset(capture, 0, sizeof *capture);
    capture->pid = pid;
    snprintf(capture->comm, sizeof capture->comm, "%s", comm);
    capture->captured_us = 41230;
    capture->stops.max_ns = 90000;
    capture->stops.p99_ns = 60000;
    capture->stops.to_stop_max_ns = 3900000;
    capture->stops.total_ns = 31000000;
    capture->unwinder = CAPTURE_UNWINDER_LIBUNWIND;
}

static void capture_clear(struct capture_result *capture)
{
    for (size_t i = 0; i < capture->thread_count; i++)
        free(capture->threads[i].frames);
    free(capture->threads);
    memset(capture, 0, sizeof *capture);
}

static const struct frame_spec worker_stack[] = {
    {"queue_push", SERVER, "/src/server.c", 21, 0},
    {"metrics_count_s", SERVER, "/src/server.c", 40, 0},
    {"worker_main", SERVER, "/src/server.c", 60, 0},
    {"start_thread", LIBC, NULL, 0, 0},
    {"clone3", LIBC, NULL, 0, 0},
    END_FRAMES,
};
static const struct frame_spec worker_other_line[] = {
    {"queue_push", SERVER, "/src/server.c", 23, 0},
    {"metrics_count_s", SERVER, "/src/server.c", 40, 0},
    {"worker_main", SERVER, "/src/server.c", 60, 0},
    {"start_thread", LIBC, NULL, 0, 0},
    {"clone3", LIBC, NULL, 0, 0},
    END_FRAMES,
};
static const struct frame_spec consumer_stack[] = {
    {"metrics_set_m", SERVER, "/src/server.c", 80, 0},
    {"send_metrics_to_out_channel", SERVER, "/src/server.c", 90, 0},
    {"start_thread", LIBC, NULL, 0, 0},
    {"clone3", LIBC, NULL, 0, 0},
    END_FRAMES,
};
static const struct frame_spec main_stack[] = {
    {"pause", LIBC, NULL, 0, 0},
    {"main", SERVER, "/src/server.c", 100, 0},
    {"__libc_start_main", LIBC, NULL, 0, 0},
    END_FRAMES,
};
static const struct frame_spec read_from_alpha[] = {
    {"read", LIBC, NULL, 0, 0},
    {"wait_in_alpha", SERVER, "/src/x.c", 10, 0},
    {"start_thread", LIBC, NULL, 0, 0},
    {"clone3", LIBC, NULL, 0, 0},
    END_FRAMES,
};
static const struct frame_spec read_from_beta[] = {
    {"read", "/lib64/libc-2.31.so", NULL, 0, 0},
    {"inline_helper", SERVER, "/src/x.c", 18, 0},
    {"wait_in_beta", SERVER, "/src/x.c", 20, 0},
    {"start_thread", LIBC, NULL, 0, 0},
    {"clone3", LIBC, NULL, 0, 0},
    END_FRAMES,
};
static const struct frame_spec stripped_a[] = {
    {NULL, "/opt/libfoo.so", NULL, 0, 0x1234},
    {NULL, "/opt/libfoo.so", NULL, 0, 0x2000},
    END_FRAMES,
};
static const struct frame_spec stripped_b[] = {
    {NULL, "/opt/libfoo.so", NULL, 0, 0x1235},
    {NULL, "/opt/libfoo.so", NULL, 0, 0x2000},
    END_FRAMES,
};

static size_t find_group_with_tid(const struct capture_result *capture,
                                  const struct stacks_group *groups, size_t count, pid_t tid)
{
    for (size_t g = 0; g < count; g++)
        for (size_t i = 0; i < groups[g].count; i++)
            if (capture->threads[groups[g].threads[i]].tid == tid)
                return g;
    return SIZE_MAX;
}

/* ---- grouping ---- */

static void build_server(struct capture_result *capture)
{
    capture_init(capture, 100, "server");
    add_thread(capture, 100, "main", 'S', main_stack);
    add_thread(capture, 101, "worker", 'S', worker_stack);
    add_thread(capture, 102, "worker", 'D', worker_stack);
    add_thread(capture, 103, "pool", 'S', worker_stack);
    add_thread(capture, 104, "consumer", 'S', consumer_stack);
    struct capture_thread *gone = add_thread(capture, 105, "worker", 'S', NULL);
    snprintf(gone->error, sizeof gone->error, "exited");
    add_thread(capture, 106, "worker", 'S', worker_stack);
    add_thread(capture, 107, "worker", 'S', worker_other_line);
}

static void test_group_stack(void)
{
    struct capture_result capture;
    build_server(&capture);
    struct stacks_group *groups;
    size_t count = stacks_group(&capture, STACKS_GROUP_STACK, NULL, &groups);
    CHECK_INT(count, 4);
    /* workers (4) first; then the 1-thread groups by smallest tid: main 100, consumer 104,
     * worker on another line 107 */
    CHECK_INT(groups[0].count, 4);
    CHECK_INT(groups[0].representative->tid, 101);
    CHECK_INT(capture.threads[groups[0].threads[0]].tid, 101);
    CHECK_INT(capture.threads[groups[0].threads[1]].tid, 102);
    CHECK_INT(capture.threads[groups[0].threads[2]].tid, 103);
    CHECK_INT(capture.threads[groups[0].threads[3]].tid, 106);
    CHECK_STR(groups[0].states, "SD");
    CHECK_STR(groups[0].names, "worker \xc3\x97"
                               "3, pool");
    CHECK_INT(groups[0].key_frame, 0);
    CHECK_INT(groups[0].grouping, STACKS_GROUP_STACK);
    CHECK_INT(groups[1].representative->tid, 100);
    CHECK_STR(groups[1].names, "main");
    CHECK_INT(groups[2].representative->tid, 104);
    CHECK_INT(groups[3].representative->tid, 107);
    /* the thread without frames forms no group */
    CHECK_INT(find_group_with_tid(&capture, groups, count, 105), SIZE_MAX);
    stacks_groups_free(groups, count);
    capture_clear(&capture);
}

static void test_group_top_user_start(void)
{
    struct capture_result capture;
    build_server(&capture);
    add_thread(&capture, 110, "alpha", 'S', read_from_alpha);
    add_thread(&capture, 111, "alpha", 'S', read_from_alpha);
    add_thread(&capture, 112, "beta", 'S', read_from_beta);
    struct stacks_group *groups;

    /* TOP: the line does not matter, only the function: 5 queue_push; read from alpha and
     * beta together (libc.so.6 and libc-2.31.so spell the same function) */
    size_t count = stacks_group(&capture, STACKS_GROUP_TOP, NULL, &groups);
    CHECK_INT(count, 4);
    CHECK_INT(groups[0].count, 5);
    CHECK_STR(groups[0].representative->frames[0].function, "queue_push");
    CHECK_INT(groups[1].count, 3);
    CHECK_STR(groups[1].representative->frames[0].function, "read");
    CHECK_INT(groups[1].representative->tid, 110);
    CHECK_STR(groups[1].names, "alpha \xc3\x97"
                               "2, beta");
    CHECK_INT(groups[0].grouping, STACKS_GROUP_TOP);
    stacks_groups_free(groups, count);

    /* USER: libc frames skipped: alpha and beta apart; main keyed on main() */
    count = stacks_group(&capture, STACKS_GROUP_USER, NULL, &groups);
    CHECK_INT(count, 5);
    size_t alpha = find_group_with_tid(&capture, groups, count, 110);
    size_t beta = find_group_with_tid(&capture, groups, count, 112);
    size_t main_group = find_group_with_tid(&capture, groups, count, 100);
    CHECK(alpha != SIZE_MAX && beta != SIZE_MAX && alpha != beta && main_group != SIZE_MAX);
    if (alpha != SIZE_MAX && beta != SIZE_MAX && main_group != SIZE_MAX) {
        CHECK_INT(groups[alpha].count, 2);
        CHECK_INT(groups[alpha].key_frame, 1);
        CHECK_STR(groups[alpha].representative->frames[groups[alpha].key_frame].function,
                  "wait_in_alpha");
        CHECK_INT(groups[beta].key_frame, 1);
        CHECK_STR(groups[beta].representative->frames[1].function, "inline_helper");
        CHECK_INT(groups[main_group].key_frame, 1);
        CHECK_INT(groups[main_group].count, 1);
    }
    stacks_groups_free(groups, count);

    /* USER with a custom system list: server is "system", libc is not */
    const char *const custom[] = {"server", NULL};
    count = stacks_group(&capture, STACKS_GROUP_USER, custom, &groups);
    alpha = find_group_with_tid(&capture, groups, count, 110);
    CHECK(alpha != SIZE_MAX);
    if (alpha != SIZE_MAX) {
        CHECK_INT(groups[alpha].key_frame, 0);
        CHECK_INT(groups[alpha].count, 3); /* read in alpha and beta: libc-2.31 is user now */
    }
    stacks_groups_free(groups, count);

    /* START: every pthread ends in clone3; main in __libc_start_main */
    count = stacks_group(&capture, STACKS_GROUP_START, NULL, &groups);
    CHECK_INT(count, 2);
    CHECK_INT(groups[0].count, 9);
    CHECK_STR(groups[0].representative->frames[groups[0].key_frame].function, "clone3");
    CHECK_INT(groups[0].key_frame, 4);
    CHECK_INT(groups[1].count, 1);
    CHECK_INT(groups[1].representative->tid, 100);
    stacks_groups_free(groups, count);
    capture_clear(&capture);
}

static void test_group_stripped_and_empty(void)
{
    struct capture_result capture;
    capture_init(&capture, 1, "stripped");
    add_thread(&capture, 1, "a", 'S', stripped_a);
    add_thread(&capture, 2, "a", 'R', stripped_b);
    add_thread(&capture, 3, "a", 'S', stripped_a);
    struct stacks_group *groups;
    size_t count = stacks_group(&capture, STACKS_GROUP_STACK, NULL, &groups);
    CHECK_INT(count, 2); /* offsets 0x1234 and 0x1235 differ */
    CHECK_INT(groups[0].count, 2);
    CHECK_INT(groups[1].representative->tid, 2);
    CHECK_STR(groups[0].names, "a \xc3\x97"
                               "2");
    stacks_groups_free(groups, count);
    count = stacks_group(&capture, STACKS_GROUP_START, NULL, &groups);
    CHECK_INT(count, 1); /* same outermost module+offset */
    CHECK_INT(groups[0].count, 3);
    CHECK_STR(groups[0].states, "SR");
    stacks_groups_free(groups, count);
    capture_clear(&capture);

    capture_init(&capture, 1, "empty");
    count = stacks_group(&capture, STACKS_GROUP_STACK, NULL, &groups);
    CHECK_INT(count, 0);
    CHECK(groups == NULL);
    stacks_groups_free(groups, count);
    CHECK_INT(stacks_grouping_from_name("user"), STACKS_GROUP_USER);
    CHECK_INT(stacks_grouping_from_name("start"), STACKS_GROUP_START);
    CHECK_INT(stacks_grouping_from_name("bogus"), -1);
    CHECK_STR(stacks_grouping_name(STACKS_GROUP_TOP), "top");
    CHECK_STR(stacks_syscall_name(SYS_read), "read");
    CHECK_STR(stacks_syscall_name(SYS_futex), "futex");
    CHECK(stacks_syscall_name(99999) == NULL);
}

/* Many names: the summary ends with ", ..." and stays within its buffer. */
static void test_names_summary_truncated(void)
{
    struct capture_result capture;
    capture_init(&capture, 1, "many");
    for (int i = 0; i < 40; i++) {
        char name[64];
        snprintf(name, sizeof name, "thread-with-a-long-name-%02d", i);
        add_thread(&capture, 1 + i, name, 'S', main_stack);
    }
    add_thread(&capture, 100, "thread-with-a-long-name-39", 'S', main_stack);
    struct stacks_group *groups;
    size_t count = stacks_group(&capture, STACKS_GROUP_STACK, NULL, &groups);
    CHECK_INT(count, 1);
    size_t length = strlen(groups[0].names);
    CHECK(length < sizeof groups[0].names);
    CHECK(length > 5 && strcmp(groups[0].names + length - 5, ", ...") == 0);
    static const char expected_start[] = "thread-with-a-long-name-39 \xc3\x97"
                                         "2, thread-with-a-long-name-00, ";
    CHECK(strncmp(groups[0].names, expected_start, sizeof expected_start - 1) == 0);
    stacks_groups_free(groups, count);
    capture_clear(&capture);
}

/* 10,000 threads x 64 frames, 100 distinct stacks: hashing keeps this fast. */
static void test_group_scale(void)
{
    enum { THREADS = 10000, FRAMES = 64, STACKS = 100 };
    static char names[STACKS][32];
    struct capture_result capture;
    capture_init(&capture, 1, "big");
    capture.threads = calloc(THREADS, sizeof *capture.threads);
    capture.thread_count = THREADS;
    for (int s = 0; s < STACKS; s++)
        snprintf(names[s], sizeof names[s], "fn_%d", s);
    for (int t = 0; t < THREADS; t++) {
        struct capture_thread *thread = &capture.threads[t];
        thread->tid = 1000 + t;
        thread->state = 'S';
        snprintf(thread->name, sizeof thread->name, "w");
        thread->frames = calloc(FRAMES, sizeof *thread->frames);
        thread->frame_count = FRAMES;
        int stack = (t * 7) % STACKS;
        for (int f = 0; f < FRAMES; f++) {
            thread->frames[f].function = f == FRAMES / 2 ? names[stack] : "common_frame";
            thread->frames[f].module = SERVER;
            thread->frames[f].file = "/src/big.c";
            thread->frames[f].line = f;
        }
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct stacks_group *groups;
    size_t count = stacks_group(&capture, STACKS_GROUP_STACK, NULL, &groups);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds =
        (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    CHECK_INT(count, STACKS);
    bool all_hundred = true;
    for (size_t g = 0; g < count; g++)
        all_hundred = all_hundred && groups[g].count == THREADS / STACKS;
    CHECK(all_hundred);
    /* equal counts: ordered by first tid */
    bool ordered = true;
    for (size_t g = 1; g < count; g++)
        ordered = ordered && groups[g - 1].representative->tid < groups[g].representative->tid;
    CHECK(ordered);
    CHECK(seconds < 2.0);
    if (seconds >= 2.0)
        fprintf(stderr, "grouping 10000 x 64 took %.3f s\n", seconds);
    stacks_groups_free(groups, count);
    capture_clear(&capture);
}

/* ---- locks ---- */

/* The fake target memory: 32-bit words at addresses. */
struct fake_word {
    uint64_t address; /* where */
    uint32_t value;   /* what the first read returns */
    bool racing;      /* every read returns a different value */
    unsigned reads;   /* reads so far */
};

struct fake_memory {
    struct fake_word words[32]; /* the words */
    size_t count;               /* entries in words */
    unsigned reads;             /* reads in total */
};

static void fake_set(struct fake_memory *memory, uint64_t address, uint32_t value, bool racing)
{
    memory->words[memory->count++] = (struct fake_word){address, value, racing, 0};
}

static int fake_read(void *context, uint64_t address, void *buf, size_t len)
{
    struct fake_memory *memory = context;
    memory->reads++;
    if (len != sizeof(uint32_t))
        return -1;
    for (size_t i = 0; i < memory->count; i++) {
        struct fake_word *word = &memory->words[i];
        if (word->address == address) {
            uint32_t value = word->value + (word->racing ? word->reads : 0);
            word->reads++;
            memcpy(buf, &value, sizeof value);
            return 0;
        }
    }
    return -1;
}

static const struct frame_spec mutex_waiter_stack[] = {
    {"__GI___lll_lock_wait", LIBC, NULL, 0, 0},
    {"__pthread_mutex_lock@GLIBC_2.2.5", LIBC, NULL, 0, 0},
    {"wait_for_lock", SERVER, "/src/m.c", 30, 0},
    {"start_thread", LIBC, NULL, 0, 0},
    END_FRAMES,
};
static const struct frame_spec pi_waiter_stack[] = {
    {"__pthread_mutex_lock_full", LIBC, NULL, 0, 0},
    {"wait_for_pi", SERVER, "/src/m.c", 50, 0},
    END_FRAMES,
};
static const struct frame_spec holder_stack[] = {
    {"read", LIBC, NULL, 0, 0},
    {"hold_lock_and_read", SERVER, "/src/m.c", 20, 0},
    {"start_thread", LIBC, NULL, 0, 0},
    END_FRAMES,
};
static const struct frame_spec condvar_stack[] = {
    {"__futex_abstimed_wait_common", LIBC, NULL, 0, 0},
    {"pthread_cond_wait", LIBC, NULL, 0, 0},
    {"wait_in_alpha", SERVER, "/src/x.c", 10, 0},
    END_FRAMES,
};

static struct capture_thread *add_waiter(struct capture_result *capture, pid_t tid,
                                         const char *name, uint64_t address)
{
    struct capture_thread *thread = add_thread(capture, tid, name, 'S', mutex_waiter_stack);
    thread->syscall = SYS_futex;
    thread->syscall_args[0] = address;
    thread->syscall_args[1] = 0x80; /* FUTEX_WAIT_PRIVATE */
    return thread;
}

static char *read_stream(FILE *stream)
{
    fflush(stream);
    long size = ftell(stream);
    rewind(stream);
    char *text = calloc((size_t)size + 1, 1);
    size_t got = fread(text, 1, (size_t)size, stream);
    text[got] = '\0';
    return text;
}

static char *describe(const struct capture_result *capture, const struct stacks_lock_report *report)
{
    FILE *stream = tmpfile();
    stacks_describe_locks(capture, report, stream);
    char *text = read_stream(stream);
    fclose(stream);
    return text;
}

static void test_locks_holder_blocked_in_read(void)
{
    struct capture_result capture;
    struct fake_memory memory = {0};
    capture_init(&capture, 10, "daemon");
    struct capture_thread *holder = add_thread(&capture, 10, "holder", 'S', holder_stack);
    holder->syscall = SYS_read;
    add_waiter(&capture, 11, "waiter", 0x55d0c0de1040);
    add_waiter(&capture, 12, "waiter", 0x55d0c0de1040);
    add_waiter(&capture, 13, "waiter", 0x55d0c0de1040);
    /* a condvar wait is a futex wait but no mutex: not a waiter */
    struct capture_thread *condvar = add_thread(&capture, 14, "cv", 'S', condvar_stack);
    condvar->syscall = SYS_futex;
    condvar->syscall_args[0] = 0x7000;
    /* a mutex frame but not in futex (about to spin): not a waiter */
    add_thread(&capture, 15, "spinner", 'R', mutex_waiter_stack);
    fake_set(&memory, 0x55d0c0de1040, 2, false);      /* __lock: locked with waiters */
    fake_set(&memory, 0x55d0c0de1040 + 8, 10, false); /* __owner */
    fake_set(&memory, 0x7000 + 8, 10, false);

    struct stacks_lock_report report;
    stacks_analyze_locks(&capture, fake_read, &memory, &report);
    CHECK_INT(report.wait_count, 3);
    for (size_t i = 0; i < report.wait_count; i++) {
        CHECK_INT(report.waits[i].waiter, 11 + (pid_t)i);
        CHECK_INT(report.waits[i].owner, 10);
        CHECK(report.waits[i].address == 0x55d0c0de1040);
        CHECK_STR(report.waits[i].kind, "mutex");
    }
    CHECK_INT(report.cycle_count, 0);
    /* the owner word is read twice (to filter races), once per mutex: the three waiters of one
     * mutex share the reads */
    CHECK_INT(memory.words[1].reads, 2);
    char *text = describe(&capture, &report);
    CHECK(strstr(text, "3 threads wait for mutex 0x55d0c0de1040 held by TID 10 (holder), which "
                       "is blocked in read()") != NULL);
    CHECK(strstr(text, "held by TID") != NULL);
    CHECK(strstr(text, "called from hold_lock_and_read") != NULL);
    CHECK(strstr(text, "DEADLOCK") == NULL);
    free(text);
    stacks_lock_report_free(&report);

    /* running holder: its top user frame */
    capture.threads[0].syscall = -1;
    stacks_analyze_locks(&capture, fake_read, &memory, &report);
    text = describe(&capture, &report);
    CHECK(strstr(text, "held by TID 10 (holder), which is running in hold_lock_and_read()") !=
          NULL);
    free(text);
    stacks_lock_report_free(&report);
    capture_clear(&capture);
}

static void test_locks_pi_race_unknown(void)
{
    struct capture_result capture;
    struct fake_memory memory = {0};
    capture_init(&capture, 10, "daemon");
    struct capture_thread *holder = add_thread(&capture, 10, "holder", 'S', holder_stack);
    holder->syscall = SYS_read;
    /* PI by the futex op (FUTEX_LOCK_PI_PRIVATE) */
    struct capture_thread *pi = add_waiter(&capture, 20, "pi", 0x9000);
    pi->syscall_args[1] = 6 | 128;
    fake_set(&memory, 0x9000, 0x80000000u | 10, false); /* FUTEX_WAITERS | tid */
    /* PI by the function name */
    struct capture_thread *pi_full = add_thread(&capture, 21, "pi2", 'S', pi_waiter_stack);
    pi_full->syscall = SYS_futex;
    pi_full->syscall_args[0] = 0x9100;
    fake_set(&memory, 0x9100, 0x40000000u | 10, false); /* FUTEX_OWNER_DIED | tid */
    /* racing owner: skipped */
    add_waiter(&capture, 22, "racer", 0xa000);
    fake_set(&memory, 0xa008, 10, true);
    /* unreadable: skipped */
    add_waiter(&capture, 23, "lost", 0xb000);
    /* owner 0 (just released): skipped */
    add_waiter(&capture, 24, "late", 0xc000);
    fake_set(&memory, 0xc008, 0, false);
    /* owner not a thread of the capture: still reported */
    add_waiter(&capture, 25, "stranger", 0xd000);
    fake_set(&memory, 0xd008, 9999, false);

    struct stacks_lock_report report;
    stacks_analyze_locks(&capture, fake_read, &memory, &report);
    CHECK_INT(report.wait_count, 3);
    if (report.wait_count == 3) {
        CHECK_INT(report.waits[0].waiter, 20);
        CHECK_INT(report.waits[0].owner, 10);
        CHECK_STR(report.waits[0].kind, "pi-mutex");
        CHECK(report.waits[0].address == 0x9000);
        CHECK_INT(report.waits[1].waiter, 21);
        CHECK_INT(report.waits[1].owner, 10);
        CHECK_STR(report.waits[1].kind, "pi-mutex");
        CHECK_INT(report.waits[2].waiter, 25);
        CHECK_INT(report.waits[2].owner, 9999);
    }
    CHECK_INT(report.cycle_count, 0);
    char *text = describe(&capture, &report);
    CHECK(strstr(text, "1 thread waits for pi-mutex 0x9000 held by TID 10 (holder), which is "
                       "blocked in read()") != NULL);
    CHECK(strstr(text, "held by TID 9999 (not a thread of this process)") != NULL);
    free(text);
    stacks_lock_report_free(&report);
    capture_clear(&capture);
}

static void test_locks_cycles(void)
{
    struct capture_result capture;
    struct fake_memory memory = {0};
    capture_init(&capture, 20, "deadlock");
    /* ABBA: 20 waits for 0x2000 held by 21; 21 waits for 0x3000 held by 20 */
    add_waiter(&capture, 20, "a", 0x2000);
    add_waiter(&capture, 21, "b", 0x3000);
    fake_set(&memory, 0x2008, 21, false);
    fake_set(&memory, 0x3008, 20, false);
    /* a 3-cycle entered at its largest tid: 33 -> 32 -> 31 -> 33 */
    add_waiter(&capture, 31, "c1", 0x4000);
    add_waiter(&capture, 32, "c2", 0x5000);
    add_waiter(&capture, 33, "c3", 0x6000);
    fake_set(&memory, 0x4008, 33, false);
    fake_set(&memory, 0x5008, 31, false);
    fake_set(&memory, 0x6008, 32, false);
    /* a chain, no cycle: 40 -> 41 -> 42 (in read) */
    add_waiter(&capture, 40, "chain", 0x7000);
    add_waiter(&capture, 41, "chain", 0x8000);
    struct capture_thread *end = add_thread(&capture, 42, "end", 'S', holder_stack);
    end->syscall = SYS_read;
    fake_set(&memory, 0x7008, 41, false);
    fake_set(&memory, 0x8008, 42, false);
    /* a tail into the ABBA cycle: 50 -> 20; must not report the cycle again */
    add_waiter(&capture, 50, "tail", 0x2000);

    struct stacks_lock_report report;
    stacks_analyze_locks(&capture, fake_read, &memory, &report);
    CHECK_INT(report.wait_count, 8);
    CHECK_INT(report.cycle_count, 2);
    if (report.cycle_count == 2) {
        CHECK_INT(report.cycle_lengths[0], 2);
        CHECK_INT(report.cycles[0][0], 20);
        CHECK_INT(report.cycles[0][1], 21);
        CHECK_INT(report.cycle_lengths[1], 3);
        CHECK_INT(report.cycles[1][0], 31);
        CHECK_INT(report.cycles[1][1], 33);
        CHECK_INT(report.cycles[1][2], 32);
    }
    char *text = describe(&capture, &report);
    CHECK(strstr(text, "DEADLOCK: 20 (a) waits for 21 (b), which waits for 20 (a)\n") != NULL);
    CHECK(strstr(text, "DEADLOCK: 31 (c1) waits for 33 (c3), which waits for 32 (c2), which "
                       "waits for 31 (c1)\n") != NULL);
    CHECK(strstr(text, "2 threads wait for mutex 0x2000 held by TID 21 (b), which itself waits "
                       "for mutex 0x3000 held by TID 20") != NULL);
    CHECK(strstr(text, "held by TID 42 (end), which is blocked in read()") != NULL);
    /* exactly two DEADLOCK lines */
    int lines = 0;
    for (const char *p = text; (p = strstr(p, "DEADLOCK")) != NULL; p++)
        lines++;
    CHECK_INT(lines, 2);
    free(text);
    stacks_lock_report_free(&report);

    /* a self-deadlock (relocking a normal mutex) is a cycle of one */
    capture_clear(&capture);
    memory.count = 0;
    capture_init(&capture, 60, "self");
    add_waiter(&capture, 60, "self", 0xe000);
    fake_set(&memory, 0xe008, 60, false);
    stacks_analyze_locks(&capture, fake_read, &memory, &report);
    CHECK_INT(report.cycle_count, 1);
    if (report.cycle_count == 1)
        CHECK_INT(report.cycle_lengths[0], 1);
    stacks_lock_report_free(&report);
    capture_clear(&capture);
}

/* ---- reports ---- */

static int run_python(const char *script, const char *json_path)
{
    char script_path[] = "/tmp/test_stacks_py.XXXXXX";
    int fd = mkstemp(script_path);
    if (fd < 0)
        return -1;
    FILE *stream = fdopen(fd, "w");
    fputs(script, stream);
    fclose(stream);
    char command[512];
    snprintf(command, sizeof command, "python3 %s %s", script_path, json_path);
    int status = system(command);
    unlink(script_path);
    return status;
}

static const char json_check_script[] =
    "import json, sys\n"
    "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
    "assert d['pid'] == 100 and d['threads'] == 14, d\n"
    "assert d['comm'] == 'ser\\\\x07ver\\\\e[31m', d['comm']\n"
    "assert d['captured_us'] == 41230\n"
    "assert d['stop_us'] == {'max': 90, 'p99': 60, 'total': 31000}, d['stop_us']\n"
    "assert d['grouping'] == 'stack'\n"
    "g = d['groups']\n"
    "assert [x['count'] for x in g] == [4, 3, 1, 1, 1, 1, 1, 1], [x['count'] for x in g]\n"
    "assert g[0]['tids'] == [101, 102, 103, 106] and g[0]['state'] == 'SD'\n"
    "assert g[0]['names'] == 'worker \\u00d73, pool', g[0]['names']\n"
    "f = g[0]['frames'][0]\n"
    "assert f['function'] == 'queue_push' and f['module'] == '/srv/bin/server'\n"
    "assert f['file'] == '/src/server.c' and f['line'] == 21 and f['inline'] is False\n"
    "assert f['pc'].startswith('0x') and int(f['pc'], 16) > 0\n"
    "assert g[0]['frames'][3]['file'] is None and g[0]['frames'][3]['function'] == 'start_thread'\n"
    "assert g[0]['frames'][1]['inline'] is False\n"
    "o = [x for x in g if x['tids'] == [107]][0]\n"
    "assert o['frames'][1]['inline'] is True and o['frames'][0]['line'] == 23\n"
    "assert g[1]['tids'] == [11, 20, 21] and g[1]['names'] == 'a, b, waiter', g[1]\n"
    "s = [x for x in g if x['tids'] == [120]][0]\n"
    "assert s['frames'][0]['function'] is None and s['frames'][0]['module'] == '/opt/libfoo.so'\n"
    "h = [x for x in g if x['tids'] == [121]][0]\n"
    "assert h['names'] == 'bad\\\\e]0;x\\\\x07\\\\n\\\\u{202E}name', h['names']\n"
    "assert h['frames'][0]['function'] == 'evil\\\\e[2J\"quoted\"\\\\fn', h['frames'][0]\n"
    "assert d['locks'] == [{'waiter': 11, 'address': '0x55d0c0de1040', 'owner': 10, 'kind': "
    "'mutex'}, {'waiter': 20, 'address': '0x2000', 'owner': 21, 'kind': 'mutex'}, "
    "{'waiter': 21, 'address': '0x3000', 'owner': 20, 'kind': 'mutex'}], d['locks']\n"
    "assert d['deadlocks'] == [[20, 21]], d['deadlocks']\n"
    "assert d['errors'] == [{'tid': 105, 'error': 'exited'}], d['errors']\n";

static void build_report_capture(struct capture_result *capture, struct fake_memory *memory)
{
    build_server(capture);
    snprintf(capture->comm, sizeof capture->comm, "ser\aver\x1b[31m");
    capture->threads[7].frames[1].is_inline = true; /* 107: metrics_count_s inlined */
    add_thread(capture, 10, "holder", 'S', holder_stack)->syscall = SYS_read;
    add_waiter(capture, 11, "waiter", 0x55d0c0de1040);
    add_waiter(capture, 20, "a", 0x2000);
    add_waiter(capture, 21, "b", 0x3000);
    add_thread(capture, 120, "stripped", 'S', stripped_a);
    static const struct frame_spec hostile[] = {
        {"evil\x1b[2J\"quoted\"\\fn", "/srv/evil\x1b]0;\x07", "/src/\x1b[1mx.c", 5, 0},
        END_FRAMES,
    };
    add_thread(capture, 121, "bad\x1b]0;x\x07\n\xe2\x80\xaename", 'S', hostile);
    fake_set(memory, 0x55d0c0de1040 + 8, 10, false);
    fake_set(memory, 0x2008, 21, false);
    fake_set(memory, 0x3008, 20, false);
    /* the capture keeps threads by tid */
    for (size_t i = 1; i < capture->thread_count; i++)
        for (size_t j = i; j > 0 && capture->threads[j - 1].tid > capture->threads[j].tid; j--) {
            struct capture_thread swap = capture->threads[j];
            capture->threads[j] = capture->threads[j - 1];
            capture->threads[j - 1] = swap;
        }
}

static bool has_raw_controls(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            return true;
    return false;
}

static void test_reports(void)
{
    struct capture_result capture;
    struct fake_memory memory = {0};
    build_report_capture(&capture, &memory);
    struct stacks_group *groups;
    size_t count = stacks_group(&capture, STACKS_GROUP_STACK, NULL, &groups);
    struct stacks_lock_report locks;
    stacks_analyze_locks(&capture, fake_read, &memory, &locks);

    /* JSON: parses, has the DESIGN.md shape and values, strings escaped */
    char json_path[] = "/tmp/test_stacks_json.XXXXXX";
    int fd = mkstemp(json_path);
    CHECK(fd >= 0);
    FILE *stream = fdopen(fd, "w+");
    stacks_print_json(&capture, groups, count, &locks, stream);
    char *json = read_stream(stream);
    fclose(stream);
    CHECK(!has_raw_controls(json));
    CHECK(strstr(json, "\"pid\": 100") != NULL);
    CHECK_INT(run_python(json_check_script, json_path), 0);
    if (getenv("TEST_STACKS_SHOW"))
        fputs(json, stderr);
    unlink(json_path);
    free(json);

    /* text (the tests run in the C locale: ASCII output) */
    stream = tmpfile();
    stacks_print_text(&capture, groups, count, &locks, stream);
    char *text = read_stream(stream);
    fclose(stream);
    if (getenv("TEST_STACKS_SHOW"))
        fputs(text, stderr);
    CHECK(!has_raw_controls(text));
    static const char expected_header[] =
        "PID 100 (ser\\x07ver\\e[31m): 14 threads, 8 groups by stack, captured in 41.2 ms, "
        "stops: max 90 us, p99 60 us, total 31.0 ms, time to stop: max 3.9 ms (unwinder "
        "libunwind)\n";
    CHECK(strncmp(text, expected_header, sizeof expected_header - 1) == 0);
    CHECK(strstr(text, "\n4 threads  state SD  worker x3, pool\n  tids: 101 102 103 106\n") !=
          NULL);
    CHECK(
        strstr(text, "  #0   0x0000000006501000  queue_push (server.c:21)  [/srv/bin/server]\n") !=
        NULL);
    CHECK(strstr(text, "  #1   0x0000000006b01010  inline metrics_count_s (server.c:40)") != NULL);
    CHECK(strstr(text, "  #0   0x0000000007801000  libfoo.so+0x1234  [/opt/libfoo.so]\n") != NULL);
    CHECK(strstr(text, "1 thread  state S  bad\\e]0;x\\x07\\n\\xe2\\x80\\xaename\n") != NULL);
    CHECK(strstr(text, "evil\\e[2J\"quoted\"\\fn (\\e[1mx.c:5)  [/srv/evil\\e]0;\\x07]") != NULL);
    CHECK(strstr(text, "1 thread waits for mutex 0x55d0c0de1040 held by TID 10 (holder), which "
                       "is blocked in read()") != NULL);
    CHECK(strstr(text, "DEADLOCK: 20 (a) waits for 21 (b), which waits for 20 (a)\n") != NULL);
    CHECK(strstr(text, "\nTID 105 (worker): exited\n") != NULL);
    free(text);

    /* TOP grouping marks the key frame; no locks given */
    stacks_groups_free(groups, count);
    count = stacks_group(&capture, STACKS_GROUP_USER, NULL, &groups);
    stream = tmpfile();
    stacks_print_text(&capture, groups, count, NULL, stream);
    text = read_stream(stream);
    fclose(stream);
    CHECK(strstr(text, "groups by user") != NULL);
    CHECK(strstr(text, "* #1   ") != NULL);
    CHECK(strstr(text, "DEADLOCK") == NULL);
    free(text);
    stream = tmpfile();
    stacks_print_json(&capture, groups, count, NULL, stream);
    text = read_stream(stream);
    fclose(stream);
    CHECK(strstr(text, "\"locks\": [],\n \"deadlocks\": []") != NULL);
    free(text);

    stacks_lock_report_free(&locks);
    stacks_groups_free(groups, count);
    capture_clear(&capture);
}

int main(void)
{
    test_group_stack();
    test_group_top_user_start();
    test_group_stripped_and_empty();
    test_names_summary_truncated();
    test_group_scale();
    test_locks_holder_blocked_in_read();
    test_locks_pi_race_unknown();
    test_locks_cycles();
    test_reports();
    return CHECK_DONE();
}
