/*
 * capture: one snapshot of every thread's stack of a process, taken without hurting it.
 *
 * Flow (see ../shared/DESIGN.md, "attach"): read /proc/PID/maps once and each thread's stat
 * and wchan; for each thread PTRACE_SEIZE + PTRACE_INTERRUPT (never PTRACE_ATTACH, never a
 * signal, never a write, never PTRACE_O_EXITKILL), wait for the stop with a deadline (asleep,
 * at realtime priority when allowed), copy what is needed — the registers and up to 64 KiB of
 * stack from sp, in one process_vm_readv — and detach at once; up to four threads are
 * interrupted ahead, so that threads waiting for a CPU to reach their stop do not add up. Once
 * every thread runs again, the raw PCs are unwound from the copies (reads beyond a copy go to
 * live memory and are counted) and symbolized (symbols.h), once per distinct stack. In this
 * default mode the system call of each captured thread comes from its registers at the stop
 * (what /proc/TID/syscall shows); /proc/TID/syscall is read for the others.
 * Threads already stopped (state T) stay stopped. Consistent mode stops all, unwinds all while
 * they are stopped, resumes all. Every stop window is timed, from the stop itself (a bound:
 * the latest moment the thread was known not to be stopped yet) to the return of DETACH; the
 * time a thread took to reach its stop is kept apart (to_stop_ns).
 *
 * This header holds the plain result structs shared by capture, stacks (grouping and locks),
 * the store and the console. Only attach.c calls ptrace.
 */
#ifndef STACKTOP_CAPTURE_H
#define STACKTOP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CAPTURE_MAX_FRAMES 256 /* deepest stack kept per thread (raw PCs) */

struct symbolizer; /* symbols.h */

/* Which unwinder walks the stack while a thread is stopped. */
enum capture_unwinder {
    CAPTURE_UNWINDER_DEFAULT,   /* the faster one, as measured (see unwind.c) */
    CAPTURE_UNWINDER_LIBUNWIND, /* libunwind-ptrace with process_vm_readv accessors */
    CAPTURE_UNWINDER_LIBDW,     /* libdw dwfl_getthread_frames, ptrace-stopped thread */
};

/* One symbolized frame. Strings are owned by the capture_result (or the symbolizer's cache,
 * which outlives it: see symbols.h); NULL when unknown. */
struct capture_frame {
    uint64_t pc;            /* program counter (return addresses already adjusted by -1 for
                               lookup; this is the value as unwound) */
    const char *function;   /* demangled function name; NULL when stripped/unknown */
    const char *module;     /* path of the ELF module ("/usr/lib/.../libc.so.6"); NULL if none */
    uint64_t module_offset; /* pc - module load bias: "module+0xoffset" for stripped code */
    const char *file;       /* source file (as in DWARF, usually a full path); NULL if none */
    int line;               /* source line; 0 if unknown */
    bool is_inline;         /* an inlined call inside the next (outer) frame, same pc */
};

/* One thread, as captured. */
struct capture_thread {
    pid_t tid;                    /* thread id */
    char name[64];                /* thread name (comm), raw */
    char state;                   /* state letter before the capture (R S D T t Z ...) */
    char wchan[64];               /* kernel wait channel, "" if none */
    long syscall;                 /* /proc/TID/syscall: number, -1 running in user space,
                                     -2 unknown/unreadable */
    uint64_t syscall_args[6];     /* its arguments (futex address is args[0]) */
    uint64_t cpu_ticks;           /* utime + stime of the thread, clock ticks */
    uint64_t *pcs;                /* raw PCs, innermost first (pc_count entries,
                                     at most CAPTURE_MAX_FRAMES; one malloc'd block
                                     with pc_is_return, set with
                                     capture_thread_set_pcs; NULL when none) */
    size_t pc_count;              /* entries in pcs */
    bool *pc_is_return;           /* per PC: a return address (every frame but the
                                     innermost and those at a signal frame), so a
                                     lookup uses pc - 1; inside the pcs block */
    struct capture_frame *frames; /* symbolized frames (inline frames expanded),
                                     innermost first; filled after resuming */
    size_t frame_count;           /* entries in frames */
    int64_t stop_ns;              /* how long this thread was stopped: from the
                                     latest moment it was known not to be stopped
                                     yet (its PTRACE_INTERRUPT at the earliest) to
                                     the return of PTRACE_DETACH; -1 if never */
    int64_t to_stop_ns;           /* from PTRACE_INTERRUPT until its stop was seen:
                                     mostly the wait for a CPU to run into the
                                     stop (it is runnable, not stopped, meanwhile);
                                     -1 if never stopped */
    bool was_stopped;             /* it was in state T before: left stopped */
    bool is_kernel_thread;        /* no user space: no stack to take */
    char error[160];              /* "" when captured; else why not ("exited", "did not
                                     stop within 10 ms (state D)", ...) */
};

/* Summary of every stop window of one capture. */
struct capture_stop_stats {
    int64_t max_ns;         /* longest single stop */
    int64_t p99_ns;         /* 99th percentile of stops */
    int64_t total_ns;       /* sum of all stops */
    size_t count;           /* stops measured */
    int64_t to_stop_max_ns; /* longest time from PTRACE_INTERRUPT to a stop */
    int64_t to_stop_p99_ns; /* its 99th percentile */
};

/* Result of one capture. */
struct capture_result {
    pid_t pid;                       /* the process */
    char comm[64];                   /* its name, raw */
    uint64_t started_us;             /* wall clock at the start, Unix microseconds */
    uint64_t captured_us;            /* duration of the whole capture, microseconds */
    enum capture_unwinder unwinder;  /* unwinder actually used */
    bool consistent;                 /* all threads were stopped together */
    struct capture_thread *threads;  /* threads, sorted by tid */
    size_t thread_count;             /* entries in threads */
    struct capture_stop_stats stops; /* stop-window figures */
    char note[256];                  /* whole-capture note, e.g. "process exited during the
                                        capture: partial result" */
    struct symbolizer *symbolizer;   /* owns the frames' strings when the capture made it
                                        (options->symbolizer NULL); freed with the result */
};

/* How to capture. */
struct capture_options {
    enum capture_unwinder unwinder; /* which unwinder */
    bool consistent;                /* stop all threads, unwind, resume all */
    int stop_deadline_ms;           /* give up on a thread that does not stop in time (10) */
    bool symbolize;                 /* fill frames (true for every user-facing use) */
    bool skip_wchan;                /* leave every thread's wchan "": /proc/TID/wchan is not
                                       read (~5 us a thread) when nothing will show it (the
                                       text and JSON outputs have no wchan; the console and
                                       the session file do) */
    struct symbolizer *symbolizer;  /* optional: a caller-owned symbolizer to reuse (its cache
                                       spans captures; it must outlive the result); NULL:
                                       the capture makes one that the result owns */
};

/* Captures every thread of pid. Returns 0 (possibly with per-thread errors and a note), or -1
 * with a message naming cause and fix: "process 123 does not exist", "permission denied:
 * attaching needs CAP_SYS_PTRACE or the same uid (kernel.yama.ptrace_scope is 1: only
 * descendants may be traced)", "process 123 is a kernel thread: it has no user stack". */
int capture_process(pid_t pid, const struct capture_options *options, struct capture_result *out,
                    char *err, size_t errlen);

/* Replaces thread's PCs with a copy of the count first of pcs and is_return (count is capped
 * at CAPTURE_MAX_FRAMES; 0 leaves none). Freed by capture_result_free. */
void capture_thread_set_pcs(struct capture_thread *thread, const uint64_t *pcs,
                            const bool *is_return, size_t count);

void capture_result_free(struct capture_result *result);

/* Name of an unwinder ("libunwind", "libdw"); and parse one (-1 if unknown). */
const char *capture_unwinder_name(enum capture_unwinder unwinder);
int capture_unwinder_from_name(const char *name);

#endif
