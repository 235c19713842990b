/*
 * test_perf: samples the prof_split fixtures with core/perf.c and checks the profile against
 * the fixture's known split (burn_a 50%, burn_b 30%, burn_c 20% of the main thread, each
 * called from run_workload called from main), with frame-pointer callchains and with DWARF
 * unwinding; a thread started after sampling began is sampled; a missing process and a process
 * exiting mid-profile are reported as perf.h promises.
 *
 * Without frame pointers (prof_split_nofp, -O2 -fomit-frame-pointer) the kernel's callchain
 * walker follows whatever rbp holds, so the fp-only profile rarely shows the full path
 * main <- run_workload <- burn_x; DWARF unwinding of the sampled stack must show strictly more.
 *
 * The fixture is found through $FIXTURES, else next to the test binary
 * (build/tests/test_perf -> build/fixtures/prof_split).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixture_process.h"
#include "perf.h"

#define SAMPLE_HZ       499  /* sampling rate of the tests */
#define SAMPLE_SECONDS  2.0  /* length of one profile */
#define SHARE_TOLERANCE 12.0 /* percentage points allowed around 50/30/20 */
#define KERNEL_MODULE   "[kernel.kallsyms]"

/* What one profile of a prof_split fixture showed. */
struct profile {
    pid_t pid;                /* the fixture */
    long samples;             /* stacks delivered */
    long leaf[4];             /* samples whose innermost user frame is burn_a..burn_d */
    long full_path[3];        /* burn_a..c samples with run_workload then main as callers */
    long late_thread_samples; /* burn_d samples from a thread other than the main one */
    long empty;               /* stacks without any frame */
};

static bool function_is(const struct capture_frame *frame, const char *name)
{
    return frame->function != NULL && strcmp(frame->function, name) == 0;
}

static void count_stack(void *context, const struct perf_stack *stack)
{
    static const char *const burns[4] = {"burn_a", "burn_b", "burn_c", "burn_d"};
    struct profile *profile = context;
    profile->samples++;
    if (stack->frame_count == 0) {
        profile->empty++;
        return;
    }
    size_t leaf = 0; /* innermost user frame */
    while (leaf < stack->frame_count && stack->frames[leaf].module != NULL &&
           strcmp(stack->frames[leaf].module, KERNEL_MODULE) == 0)
        leaf++;
    if (leaf == stack->frame_count)
        return;
    for (int burn = 0; burn < 4; burn++) {
        if (!function_is(&stack->frames[leaf], burns[burn]))
            continue;
        profile->leaf[burn]++;
        if (burn == 3 && stack->tid != profile->pid)
            profile->late_thread_samples++;
        if (burn < 3 && leaf + 2 < stack->frame_count &&
            function_is(&stack->frames[leaf + 1], "run_workload") &&
            function_is(&stack->frames[leaf + 2], "main"))
            profile->full_path[burn]++;
    }
}

/* Samples pid for seconds; kill_after > 0 kills the fixture after that many seconds. */
static int profile_run(pid_t pid, bool dwarf, double seconds, double kill_after,
                       struct profile *profile, struct perf_stats *stats)
{
    memset(profile, 0, sizeof *profile);
    profile->pid = pid;
    struct perf_options options;
    perf_options_default(&options, pid);
    options.frequency_hz = SAMPLE_HZ;
    options.duration_seconds = seconds;
    options.dwarf = dwarf;
    char err[512] = "";
    struct perf_session *session = perf_start(&options, err, sizeof err);
    if (session == NULL) {
        fprintf(stderr, "perf_start: %s\n", err);
        return -1;
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool killed = false;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed =
            (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        if (elapsed >= seconds)
            break;
        if (kill_after > 0 && !killed && elapsed >= kill_after) {
            fixture_process_stop(pid);
            killed = true;
        }
        if (perf_poll(session, 100, count_stack, profile, err, sizeof err) < 0) {
            fprintf(stderr, "perf_poll: %s\n", err);
            perf_close(session);
            return -1;
        }
    }
    perf_poll(session, 0, count_stack, profile, err, sizeof err);
    perf_get_stats(session, stats);
    perf_close(session);
    fprintf(stderr,
            "  %s dwarf=%d: %ld samples (a %ld, b %ld, c %ld, d %ld; full paths %ld/%ld/%ld), "
            "lost %llu, throttled %llu, unwind failures %llu, threads %d\n",
            pid > 0 ? "profile" : "", dwarf, profile->samples, profile->leaf[0], profile->leaf[1],
            profile->leaf[2], profile->leaf[3], profile->full_path[0], profile->full_path[1],
            profile->full_path[2], (unsigned long long)stats->lost,
            (unsigned long long)stats->throttled, (unsigned long long)stats->unwind_failures,
            stats->threads);
    return 0;
}

static double share(const struct profile *profile, int burn)
{
    long total = profile->leaf[0] + profile->leaf[1] + profile->leaf[2];
    return total > 0 ? 100.0 * (double)profile->leaf[burn] / (double)total : 0.0;
}

static long full_paths(const struct profile *profile)
{
    return profile->full_path[0] + profile->full_path[1] + profile->full_path[2];
}

static long burn_samples(const struct profile *profile)
{
    return profile->leaf[0] + profile->leaf[1] + profile->leaf[2];
}

/* The 50/30/20 split and, when callers_expected, the full path on nearly every sample. */
static void check_split(const struct profile *profile, bool callers_expected)
{
    static const double expected[3] = {50, 30, 20};
    CHECK(profile->samples > 0);
    CHECK(burn_samples(profile) > 100);
    for (int burn = 0; burn < 3; burn++) {
        double got = share(profile, burn);
        if (got < expected[burn] - SHARE_TOLERANCE || got > expected[burn] + SHARE_TOLERANCE)
            fprintf(stderr, "  burn_%c share %.1f%%, expected %.0f%%\n", 'a' + burn, got,
                    expected[burn]);
        CHECK(got >= expected[burn] - SHARE_TOLERANCE && got <= expected[burn] + SHARE_TOLERANCE);
    }
    if (callers_expected)
        CHECK(full_paths(profile) * 10 >= burn_samples(profile) * 9);
}

static void test_missing_process(void)
{
    struct perf_options options;
    perf_options_default(&options, 0x3ffffff0);
    char err[512] = "";
    CHECK(perf_start(&options, err, sizeof err) == NULL);
    CHECK(strstr(err, "does not exist") != NULL);
    CHECK(strstr(err, "1073741808") != NULL);
}

static void test_frame_pointers(void)
{
    pid_t pid = fixture_process_start("prof_split", NULL, NULL);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    struct profile profile;
    struct perf_stats stats;
    CHECK_INT(profile_run(pid, false, SAMPLE_SECONDS, 0, &profile, &stats), 0);
    check_split(&profile, true);
    CHECK(stats.samples == (uint64_t)profile.samples);
    CHECK(stats.threads >= 2); /* main and the helper */
    CHECK(!stats.process_exited);
    CHECK(stats.elapsed_seconds >= SAMPLE_SECONDS);
    /* lost and throttled are counted; on a quiet run they are usually 0 */
    CHECK(stats.lost < (uint64_t)profile.samples);

    CHECK_INT(profile_run(pid, true, SAMPLE_SECONDS, 0, &profile, &stats), 0);
    check_split(&profile, true);
    fixture_process_stop(pid);
}

static void test_dwarf_without_frame_pointers(void)
{
    pid_t pid = fixture_process_start("prof_split_nofp", NULL, NULL);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    struct profile with_dwarf, fp_only;
    struct perf_stats stats;
    CHECK_INT(profile_run(pid, true, SAMPLE_SECONDS, 0, &with_dwarf, &stats), 0);
    check_split(&with_dwarf, true);
    CHECK_INT(profile_run(pid, false, SAMPLE_SECONDS, 0, &fp_only, &stats), 0);
    /* the leaf is the sampled IP: right without unwinding */
    check_split(&fp_only, false);
    /* fp-only chains break at the first frame without a frame pointer */
    double dwarf_complete = (double)full_paths(&with_dwarf) / (double)burn_samples(&with_dwarf);
    double fp_complete = (double)full_paths(&fp_only) / (double)(burn_samples(&fp_only) + 1);
    fprintf(stderr, "  nofp complete paths: dwarf %.1f%%, frame pointers %.1f%%\n",
            100 * dwarf_complete, 100 * fp_complete);
    CHECK(dwarf_complete > fp_complete);
    CHECK(dwarf_complete >= 0.9);
    fixture_process_stop(pid);
}

static void test_late_thread(void)
{
    pid_t pid = fixture_process_start("prof_split", "late", NULL);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    struct profile profile;
    struct perf_stats stats;
    /* the burn_d thread starts one second after "ready" */
    CHECK_INT(profile_run(pid, true, SAMPLE_SECONDS + 0.5, 0, &profile, &stats), 0);
    CHECK(profile.late_thread_samples > 50);
    CHECK(stats.threads >= 3);
    fixture_process_stop(pid);
}

static void test_process_exit(void)
{
    pid_t pid = fixture_process_start("prof_split", NULL, NULL);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    struct profile profile;
    struct perf_stats stats;
    int rc = profile_run(pid, true, 1.5, 0.7, &profile, &stats);
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fixture_process_stop(pid); /* killed inside profile_run only when sampling ran */
        return;
    }
    CHECK(stats.process_exited);
    CHECK(profile.samples > 0);
    CHECK(stats.samples == (uint64_t)profile.samples);
}

int main(void)
{
    test_missing_process();
    test_frame_pointers();
    test_dwarf_without_frame_pointers();
    test_late_thread();
    test_process_exit();
    return CHECK_DONE();
}
