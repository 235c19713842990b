/*
 * profile_run: one profiling run — the perf session, the flame tree fed from its samples, and
 * the table of distinct sampled stacks with their counts that becomes a profile snapshot; and
 * `stacktop profile`, which runs one to the end and prints it (text, folded or JSON).
 *
 * Owns: the perf session (until the run finishes), the flame tree, the distinct stacks (frames
 * copied once per distinct stack, their strings interned in the run so that they outlive the
 * perf session's symbolizer).
 * Invariants:
 *   - every sample handed to on_sample goes both into the tree and into the stack table, so the
 *     tree's root total equals the sum of the stack counts;
 *   - the duration is measured on CLOCK_MONOTONIC from profile_run_start; a duration <= 0
 *     means "until profile_run_stop" (the console's live Flame view);
 *   - once finished, the perf session is closed: the figures are frozen in final_stats.
 */
#include "profile_run.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"
#include "proctable.h"
#include "sanitize.h"
#include "xalloc.h"

/* Default sampling duration of `stacktop profile` (-d), seconds. */
#define PROFILE_DEFAULT_DURATION 5.0
/* Default sampling frequency (-F), Hz: not a multiple of common timer rates. */
#define PROFILE_DEFAULT_FREQUENCY 99
/* Nodes below this share of all samples are left out of the text report. */
#define PROFILE_TEXT_MIN_FRACTION 0.005
/* Longest wait of one poll of the command's loop, milliseconds (Ctrl-C latency). */
#define PROFILE_POLL_MS 100

/* One distinct stack sampled, with its count. */
struct profile_stack {
    uint64_t hash;                /* hash of the frames' content */
    struct capture_frame *frames; /* copied frames, innermost first; strings interned by run */
    size_t frame_count;           /* entries in frames */
    uint64_t count;               /* samples with exactly this stack */
};

/* A set of interned strings (content -> one copy), open addressing. */
struct profile_strings {
    char **slots;    /* capacity slots, NULL = empty; linear probing */
    size_t capacity; /* power of two, 0 before the first insert */
    size_t count;    /* used slots; at most capacity / 2 */
};

struct profile_run {
    struct perf_options options;    /* as given to profile_run_start */
    struct perf_session *session;   /* the sampler; NULL once finished */
    struct flame_tree *tree;        /* every sample, merged root to leaf */
    struct profile_stack *stacks;   /* distinct stacks, in order of first sample */
    size_t stack_count;             /* entries in stacks */
    size_t stack_capacity;          /* allocated entries of stacks */
    size_t *stack_slots;            /* hash index into stacks (index + 1; 0 = empty) */
    size_t stack_slot_capacity;     /* power of two, 0 before the first insert */
    struct profile_strings strings; /* interned frame strings of stacks */
    struct timespec started;        /* CLOCK_MONOTONIC at the start */
    struct timespec ended;          /* CLOCK_MONOTONIC when sampling ended (if finished) */
    uint64_t started_us;            /* wall clock at the start, Unix microseconds */
    bool finished;                  /* sampling has ended */
    struct perf_stats final_stats;  /* the sampler's figures when it was closed */
    char comm[PROC_COMM_MAX];       /* the process's name at the start (raw), "" if unknown */
};

/* ---- time ---- */

static double seconds_between(const struct timespec *from, const struct timespec *to)
{
    return (double)(to->tv_sec - from->tv_sec) + (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

static double profile_run_elapsed(const struct profile_run *run)
{
    struct timespec now;
    if (run->finished)
        now = run->ended;
    else
        clock_gettime(CLOCK_MONOTONIC, &now);
    return seconds_between(&run->started, &now);
}

static uint64_t now_realtime_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

/* ---- hashing and interning ---- */

static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < len; i++) {
        h ^= bytes[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t hash_text(uint64_t h, const char *s)
{
    return s ? hash_bytes(h, s, strlen(s) + 1) : hash_bytes(h, "\xff", 1);
}

#define PROFILE_HASH_SEED 0xcbf29ce484222325ull

static uint64_t stack_hash(const struct capture_frame *frames, size_t count)
{
    uint64_t h = hash_bytes(PROFILE_HASH_SEED, &count, sizeof count);
    for (size_t i = 0; i < count; i++) {
        const struct capture_frame *f = &frames[i];
        h = hash_text(h, f->function);
        h = hash_text(h, f->module);
        h = hash_text(h, f->file);
        h = hash_bytes(h, &f->module_offset, sizeof f->module_offset);
        h = hash_bytes(h, &f->line, sizeof f->line);
        unsigned char inline_flag = f->is_inline ? 1 : 0;
        h = hash_bytes(h, &inline_flag, 1);
    }
    return h;
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether two frames are the same frame (the pc does not count: it is not stored). */
static bool same_frame(const struct capture_frame *a, const struct capture_frame *b)
{
    return a->module_offset == b->module_offset && a->line == b->line &&
           a->is_inline == b->is_inline && same_text(a->function, b->function) &&
           same_text(a->module, b->module) && same_text(a->file, b->file);
}

static bool same_stack(const struct profile_stack *stack, const struct capture_frame *frames,
                       size_t count)
{
    if (stack->frame_count != count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (!same_frame(&stack->frames[i], &frames[i]))
            return false;
    return true;
}

/* The run's copy of s (NULL stays NULL). */
static const char *intern(struct profile_strings *set, const char *s)
{
    if (!s)
        return NULL;
    if ((set->count + 1) * 2 > set->capacity) {
        struct profile_strings old = *set;
        set->capacity = old.capacity ? old.capacity * 2 : 256;
        set->slots = xcalloc(set->capacity, sizeof *set->slots);
        for (size_t i = 0; i < old.capacity; i++) {
            if (!old.slots[i])
                continue;
            size_t j = (size_t)hash_text(PROFILE_HASH_SEED, old.slots[i]) & (set->capacity - 1);
            while (set->slots[j])
                j = (j + 1) & (set->capacity - 1);
            set->slots[j] = old.slots[i];
        }
        free(old.slots);
    }
    size_t mask = set->capacity - 1;
    for (size_t i = (size_t)hash_text(PROFILE_HASH_SEED, s) & mask;; i = (i + 1) & mask) {
        if (!set->slots[i]) {
            set->slots[i] = xstrdup(s);
            set->count++;
            return set->slots[i];
        }
        if (strcmp(set->slots[i], s) == 0)
            return set->slots[i];
    }
}

static void profile_strings_free(struct profile_strings *set)
{
    for (size_t i = 0; i < set->capacity; i++)
        free(set->slots[i]);
    free(set->slots);
    memset(set, 0, sizeof *set);
}

/* ---- the stack table ---- */

static void stack_index_insert(struct profile_run *run, size_t index)
{
    size_t mask = run->stack_slot_capacity - 1;
    size_t i = (size_t)run->stacks[index].hash & mask;
    while (run->stack_slots[i])
        i = (i + 1) & mask;
    run->stack_slots[i] = index + 1;
}

/* Counts one sample of frames[0..count) in the table of distinct stacks. */
static void stacks_add(struct profile_run *run, const struct capture_frame *frames, size_t count)
{
    uint64_t hash = stack_hash(frames, count);
    if (run->stack_slot_capacity) {
        size_t mask = run->stack_slot_capacity - 1;
        for (size_t i = (size_t)hash & mask; run->stack_slots[i]; i = (i + 1) & mask) {
            struct profile_stack *stack = &run->stacks[run->stack_slots[i] - 1];
            if (stack->hash == hash && same_stack(stack, frames, count)) {
                stack->count++;
                return;
            }
        }
    }
    if ((run->stack_count + 1) * 2 > run->stack_slot_capacity) {
        free(run->stack_slots);
        run->stack_slot_capacity = run->stack_slot_capacity ? run->stack_slot_capacity * 2 : 256;
        run->stack_slots = xcalloc(run->stack_slot_capacity, sizeof *run->stack_slots);
        for (size_t i = 0; i < run->stack_count; i++)
            stack_index_insert(run, i);
    }
    xgrow((void **)&run->stacks, &run->stack_capacity, run->stack_count + 1, sizeof *run->stacks);
    struct profile_stack *stack = &run->stacks[run->stack_count];
    stack->hash = hash;
    stack->count = 1;
    stack->frame_count = count;
    stack->frames = xmalloc(count * sizeof *stack->frames);
    for (size_t i = 0; i < count; i++) {
        stack->frames[i] = frames[i];
        stack->frames[i].function = intern(&run->strings, frames[i].function);
        stack->frames[i].module = intern(&run->strings, frames[i].module);
        stack->frames[i].file = intern(&run->strings, frames[i].file);
    }
    stack_index_insert(run, run->stack_count++);
}

/* perf_poll's callback: one sampled stack. */
static void on_sample(void *context, const struct perf_stack *sample)
{
    struct profile_run *run = context;
    if (sample->frame_count == 0 || !sample->frames)
        return;
    flame_tree_add_frames(run->tree, sample->frames, sample->frame_count, 1);
    stacks_add(run, sample->frames, sample->frame_count);
}

/* ---- the run ---- */

struct profile_run *profile_run_start(const struct perf_options *options, char *err, size_t errlen)
{
    struct perf_session *session = perf_start(options, err, errlen);
    if (!session)
        return NULL;
    struct profile_run *run = xcalloc(1, sizeof *run);
    run->options = *options;
    run->session = session;
    run->tree = flame_tree_new();
    clock_gettime(CLOCK_MONOTONIC, &run->started);
    run->started_us = now_realtime_us();
    proctable_read_comm("/proc", options->pid, run->comm, sizeof run->comm);
    return run;
}

/* Seconds of sampling left (infinite when the duration is <= 0). */
static double remaining_seconds(const struct profile_run *run)
{
    if (run->options.duration_seconds <= 0)
        return 1e9;
    return run->options.duration_seconds - profile_run_elapsed(run);
}

long profile_run_poll(struct profile_run *run, int timeout_ms, char *err, size_t errlen)
{
    if (run->finished)
        return 0;
    double remaining = remaining_seconds(run);
    if (remaining <= 0) {
        profile_run_stop(run);
        return 0;
    }
    int wait_ms = timeout_ms < 0 ? 0 : timeout_ms;
    if (remaining * 1000.0 < wait_ms)
        wait_ms = (int)(remaining * 1000.0) + 1;
    long handled = perf_poll(run->session, wait_ms, on_sample, run, err, errlen);
    if (handled < 0)
        return -1;
    struct perf_stats stats;
    perf_get_stats(run->session, &stats);
    if (stats.process_exited || remaining_seconds(run) <= 0)
        profile_run_stop(run);
    return handled;
}

bool profile_run_finished(const struct profile_run *run)
{
    return run->finished;
}

void profile_run_stop(struct profile_run *run)
{
    if (run->finished)
        return;
    clock_gettime(CLOCK_MONOTONIC, &run->ended);
    /* What the kernel already wrote is part of the profile: drain it before closing. */
    char err[256];
    perf_poll(run->session, 0, on_sample, run, err, sizeof err);
    perf_get_stats(run->session, &run->final_stats);
    perf_close(run->session);
    run->session = NULL;
    run->finished = true;
}

const struct flame_tree *profile_run_tree(const struct profile_run *run)
{
    return run->tree;
}

void profile_run_stats(const struct profile_run *run, struct perf_stats *out)
{
    if (run->session)
        perf_get_stats(run->session, out);
    else
        *out = run->final_stats;
    out->elapsed_seconds = profile_run_elapsed(run);
}

/* The process's name as read at the start (raw bytes; "" if unknown). Added for the callers
 * that show or store it (the console has its own from the process table). */
const char *profile_run_comm(const struct profile_run *run)
{
    return run->comm;
}

int64_t profile_run_store(struct profile_run *run, struct store *store, char *err, size_t errlen)
{
    struct perf_stats stats;
    profile_run_stats(run, &stats);
    double elapsed = stats.elapsed_seconds > 0 ? stats.elapsed_seconds : 0;
    struct store_profile_info info = {
        .pid = run->options.pid,
        .comm = run->comm,
        .started_us = run->started_us,
        .duration_us = (uint64_t)(elapsed * 1e6),
        .frequency_hz = run->options.frequency_hz,
        .samples = 0,
        .lost = stats.lost,
        .throttled = stats.throttled,
    };
    struct store_profile_stack *stacks =
        run->stack_count ? xmalloc(run->stack_count * sizeof *stacks) : NULL;
    for (size_t i = 0; i < run->stack_count; i++) {
        stacks[i] = (struct store_profile_stack){run->stacks[i].frames, run->stacks[i].frame_count,
                                                 run->stacks[i].count};
        info.samples += run->stacks[i].count;
    }
    int64_t id = store_record_profile(store, &info, stacks, run->stack_count, err, errlen);
    free(stacks);
    return id;
}

void profile_run_free(struct profile_run *run)
{
    if (!run)
        return;
    if (run->session)
        perf_close(run->session);
    flame_tree_free(run->tree);
    for (size_t i = 0; i < run->stack_count; i++)
        free(run->stacks[i].frames);
    free(run->stacks);
    free(run->stack_slots);
    profile_strings_free(&run->strings);
    free(run);
}

/* ---- stacktop profile ---- */

/* Output formats of `stacktop profile`. */
enum profile_format {
    PROFILE_FORMAT_TEXT,   /* status line, top-down tree with percentages, hot functions */
    PROFILE_FORMAT_FOLDED, /* "a;b;c N" lines for flamegraph.pl, inferno, speedscope */
    PROFILE_FORMAT_JSON,   /* the figures and the tree as one JSON object */
};

static const struct {
    const char *name;           /* --format value */
    enum profile_format format; /* what it selects */
} profile_formats[] = {
    {"text", PROFILE_FORMAT_TEXT},
    {"folded", PROFILE_FORMAT_FOLDED},
    {"json", PROFILE_FORMAT_JSON},
};

/* Set by SIGINT: stop sampling and report what was sampled. */
static volatile sig_atomic_t profile_interrupted;

static void on_interrupt(int signo)
{
    (void)signo;
    profile_interrupted = 1;
}

/* "PID 123 (name): 497 samples in 5.0 s at 99 Hz (99.4/s), lost 0, throttled 0, ..." */
static void print_status_line(const struct profile_run *run, const struct perf_stats *stats,
                              FILE *out)
{
    char *name = sanitize_dup(run->comm[0] ? run->comm : "?", true);
    double elapsed = stats->elapsed_seconds > 0 ? stats->elapsed_seconds : 0;
    fprintf(out,
            "PID %d (%s): %llu samples in %.1f s at %u Hz (%.1f/s), lost %llu, throttled %llu, "
            "kernel frames %s\n",
            (int)run->options.pid, name, (unsigned long long)stats->samples, elapsed,
            run->options.frequency_hz, elapsed > 0 ? (double)stats->samples / elapsed : 0.0,
            (unsigned long long)stats->lost, (unsigned long long)stats->throttled,
            stats->kernel_frames ? "on" : "off");
    free(name);
}

static void print_profile(const struct profile_run *run, const struct perf_stats *stats,
                          enum profile_format format)
{
    switch (format) {
    case PROFILE_FORMAT_TEXT:
        print_status_line(run, stats, stdout);
        flame_tree_print_text(run->tree, PROFILE_TEXT_MIN_FRACTION, stdout);
        break;
    case PROFILE_FORMAT_FOLDED:
        flame_tree_write_folded(run->tree, stdout);
        break;
    case PROFILE_FORMAT_JSON:
        printf("{\"pid\":%d,\"comm\":", (int)run->options.pid);
        sanitize_json_string(stdout, run->comm);
        printf(",\"samples\":%llu,\"duration_s\":%.3f,\"frequency_hz\":%u,\"lost\":%llu,"
               "\"throttled\":%llu,\"tree\":",
               (unsigned long long)stats->samples,
               stats->elapsed_seconds > 0 ? stats->elapsed_seconds : 0.0, run->options.frequency_hz,
               (unsigned long long)stats->lost, (unsigned long long)stats->throttled);
        flame_tree_print_json(run->tree, stdout);
        printf("}\n");
        break;
    }
    fflush(stdout);
}

/* collector_record_fn for a profile. */
static int64_t store_profile_into(struct store *store, void *context, char *err, size_t errlen)
{
    return profile_run_store(context, store, err, errlen);
}

int profile_command_run(const struct options *options, int argc, char **argv)
{
    char err[1024];
    pid_t pid = 0;
    if (options_pid_operand(options, &pid, err, sizeof err) < 0) {
        fprintf(stderr, "stacktop: %s\n", err);
        return 2;
    }
    const char *format_name = options->format ? options->format : "text";
    int format = -1;
    for (size_t i = 0; i < sizeof profile_formats / sizeof profile_formats[0]; i++)
        if (strcmp(profile_formats[i].name, format_name) == 0)
            format = (int)profile_formats[i].format;
    if (format < 0) {
        fprintf(stderr, "stacktop: --format: unknown format '%s' (text, folded, json)\n",
                format_name);
        return 2;
    }
    struct perf_options perf_options = {
        .pid = pid,
        .frequency_hz = options->frequency_hz ? options->frequency_hz : PROFILE_DEFAULT_FREQUENCY,
        .duration_seconds =
            options->duration_seconds > 0 ? options->duration_seconds : PROFILE_DEFAULT_DURATION,
        .dwarf = true,
        .stack_dump_bytes = 16384,
        .kernel = true,
    };

    struct sigaction action, old_action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    profile_interrupted = 0;
    sigaction(SIGINT, &action, &old_action);

    int status = 0;
    struct profile_run *run = profile_run_start(&perf_options, err, sizeof err);
    if (!run) {
        fprintf(stderr, "stacktop: %s\n", err);
        status = 1;
        goto restore_signal;
    }
    while (!profile_run_finished(run)) {
        if (profile_interrupted) {
            profile_run_stop(run);
            break;
        }
        if (profile_run_poll(run, PROFILE_POLL_MS, err, sizeof err) < 0) {
            if (profile_interrupted && errno == EINTR)
                continue;
            fprintf(stderr, "stacktop: sampling stopped: %s\n", err);
            profile_run_stop(run);
            status = 1;
        }
    }
    struct perf_stats stats;
    profile_run_stats(run, &stats);
    if (profile_interrupted)
        fprintf(stderr, "stacktop: interrupted after %.1f s: reporting what was sampled\n",
                stats.elapsed_seconds);
    if (stats.process_exited)
        fprintf(stderr,
                "stacktop: process %d exited after %.1f s: the profile holds what was sampled "
                "until then\n",
                (int)pid, stats.elapsed_seconds);
    if (stats.samples == 0)
        fprintf(stderr,
                "stacktop: no samples: process %d did not run on a CPU during the %.1f s%s\n",
                (int)pid, stats.elapsed_seconds, stats.process_exited ? "" : " (idle?)");
    else if (format != PROFILE_FORMAT_TEXT)
        print_status_line(run, &stats, stderr);
    print_profile(run, &stats, (enum profile_format)format);

    /* Every profile is recorded, like every session (unless --no-record). */
    if (!options->no_record &&
        collector_record_snapshot(options, argc, argv, "profile", store_profile_into, run) != 0)
        status = 1;
    profile_run_free(run);
restore_signal:
    sigaction(SIGINT, &old_action, NULL);
    return status;
}
