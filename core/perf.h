/*
 * perf: CPU sampling of one process with perf_event_open, and the unwinding of its samples.
 *
 * Owns: one software cpu-clock event per thread of the target (threads created after the
 * start are followed: inherit, or the task list re-read while sampling), their ring buffers,
 * and the per-process Dwfl used to unwind user stacks after the fact.
 * Invariants:
 *   - the event is PERF_COUNT_SW_CPU_CLOCK (works where hardware counters do not: VMs);
 *   - each sample carries the frame-pointer callchain (PERF_SAMPLE_CALLCHAIN) and, for DWARF
 *     unwinding, the user registers and a copy of the top of the user stack
 *     (PERF_SAMPLE_REGS_USER + PERF_SAMPLE_STACK_USER), unwound later with libdw through one
 *     Dwfl per process, not one per sample; this gives full stacks for code built without
 *     frame pointers;
 *   - kernel frames are kept where perf_event_paranoid / CAP_PERFMON allow (exclude_kernel
 *     otherwise); stacktop never writes /proc/sys/kernel/perf_*;
 *   - PERF_RECORD_MMAP2 records update the process's map (symbolizer_load_process again);
 *   - lost (PERF_RECORD_LOST) and throttled (PERF_RECORD_THROTTLE) samples are counted.
 */
#ifndef STACKTOP_PERF_H
#define STACKTOP_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"

#define PERF_MAX_FRAMES 256 /* deepest stack kept per sample */

/* How to sample. */
struct perf_options {
    pid_t pid;                 /* process to sample (all its threads) */
    unsigned frequency_hz;     /* samples per second per thread (-F, default 99) */
    double duration_seconds;   /* how long (-d); used by callers, not by perf itself */
    bool dwarf;                /* unwind user stacks with DWARF (default true) */
    unsigned stack_dump_bytes; /* user stack bytes copied per sample for DWARF (default 16384) */
    bool kernel;               /* include kernel frames when the system permits (default true) */
};

/* One unwound and symbolized sample's stack, innermost first. Frame strings belong to the
 * sampler's symbolizer (valid until perf_close). */
struct perf_stack {
    pid_t tid;                          /* thread sampled */
    size_t frame_count;                 /* entries in frames */
    const struct capture_frame *frames; /* frames, innermost first (inline frames expanded) */
};

/* Counters of a sampling session. */
struct perf_stats {
    uint64_t samples;         /* samples received */
    uint64_t lost;            /* samples the kernel dropped (ring buffer full) */
    uint64_t throttled;       /* throttle events (the kernel lowered the rate) */
    uint64_t unwind_failures; /* samples whose DWARF unwind stopped early (fp chain used) */
    double elapsed_seconds;   /* since perf_start */
    int threads;              /* threads being sampled now */
    bool kernel_frames;       /* kernel frames are being recorded */
    bool process_exited;      /* the target exited: what was sampled is kept */
};

struct perf_session;

/* Fills options with the defaults for pid: 99 Hz, 5 s, DWARF on, 16 KiB of stack per sample,
 * kernel frames where permitted. (Addition: callers set what differs afterwards.) */
void perf_options_default(struct perf_options *options, pid_t pid);

/* Opens the events for every thread of options->pid and starts sampling. Returns NULL with a
 * message naming cause and fix: "process 123 does not exist", "perf_event_paranoid is 3:
 * sampling another process needs kernel.perf_event_paranoid <= 1 (sysctl -w
 * kernel.perf_event_paranoid=1) or CAP_PERFMON", "perf_event_open is not available". */
struct perf_session *perf_start(const struct perf_options *options, char *err, size_t errlen);

/* Drains the ring buffers (waiting at most timeout_ms for data), unwinds and symbolizes new
 * samples and calls on_stack for each. Returns the number of samples handled, or -1 with err
 * set on a fatal error. A target that exits is not an error (stats.process_exited). */
typedef void (*perf_stack_fn)(void *context, const struct perf_stack *stack);
long perf_poll(struct perf_session *session, int timeout_ms, perf_stack_fn on_stack, void *context,
               char *err, size_t errlen);

void perf_get_stats(const struct perf_session *session, struct perf_stats *out);

/* Stops sampling and frees everything (frame strings handed out become invalid). */
void perf_close(struct perf_session *session);

#endif
