/*
 * attach: the only code in stacktop that calls ptrace. Stops one thread for a moment and
 * lets it go again, without changing what the target does.
 *
 * Owns: nothing beyond the ptrace relationship between the calling thread (the tracer) and
 * the threads it seized.
 * Invariants (the production-safety contract, see ../shared/DESIGN.md "attach"):
 *   - PTRACE_SEIZE with options 0 (never PTRACE_ATTACH, never PTRACE_O_EXITKILL), then
 *     PTRACE_INTERRUPT: no signal is ever sent to the target, and nothing is written to it;
 *   - a signal that arrives while a thread is seized is handed back on detach (it is
 *     delivered as if we had never been there);
 *   - a thread that was in group-stop (state T) is left in group-stop by the detach;
 *   - ptrace requests for a tracee must come from the thread that seized it; when that
 *     thread exits, the kernel detaches every tracee it still holds (capture.c relies on
 *     this for threads that never stopped).
 */
#ifndef STACKTOP_ATTACH_H
#define STACKTOP_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define ATTACH_REGISTER_COUNT 17 /* x86_64 DWARF registers 0..16 (rip is 16) */

/* Registers of a stopped thread, in DWARF order for x86_64: rax rdx rcx rbx rsi rdi rbp rsp
 * r8..r15 rip. libunwind numbers x86_64 registers the same way. */
struct attach_registers {
    uint64_t dwarf[ATTACH_REGISTER_COUNT]; /* register values by DWARF number */
    int64_t syscall_nr;       /* orig_rax: the system call the thread was in when it stopped
                                 (interrupted, to be restarted), -1 when none: what
                                 /proc/TID/syscall shows, from the same saved registers */
    uint64_t syscall_args[6]; /* its arguments: rdi rsi rdx r10 r8 r9 */
    uint64_t thread_pointer;  /* fs_base: the thread's descriptor (glibc and musl put it, with
                                 the static TLS below it, at the top of a thread's stack
                                 mapping, above every frame) */
};

/* How a thread ended up stopped. */
struct attach_stop {
    bool group_stop;    /* it is in (or entered) a group-stop: SIGSTOP & co. */
    int pending_signal; /* a signal intercepted on its way in: give it back on detach */
};

/* Result of waiting for a seized thread to stop. */
enum attach_wait_result {
    ATTACH_WAIT_STOPPED, /* stopped: registers and memory may be read */
    ATTACH_WAIT_TIMEOUT, /* not stopped by the deadline (D state, or not scheduled) */
    ATTACH_WAIT_EXITED,  /* the thread exited */
};

/* The tracer thread's set-up for blocking waits (see attach_wait_stop). */
struct attach_tracer {
    timer_t timer;  /* thread-directed periodic timer sending attach_wake_signal() */
    bool has_timer; /* timer was created (delete it at the end) */
    bool realtime;  /* the thread runs SCHED_FIFO (attach_tracer_realtime succeeded) */
};

/* Prepares the calling thread (the tracer) to wait for stops by blocking in waitpid instead
 * of polling: a periodic thread-directed timer signal (a no-op handler without SA_RESTART)
 * breaks each wait often enough to check its deadline. A blocked tracer gives its CPU to the
 * thread on its way to the stop, and the stop wakes it at once. 0, or -1 (errno): waits then
 * poll with short sleeps. */
int attach_tracer_begin(struct attach_tracer *tracer);

/* Moves the calling thread to SCHED_FIFO (lowest priority), so that no ordinary thread can
 * preempt it while it holds a target thread stopped: the stop windows then last what the
 * work inside them takes. Needs CAP_SYS_NICE (or RLIMIT_RTPRIO); false when refused, and the
 * thread keeps its class. The tracer blocks while waiting, so the targets still run. */
bool attach_tracer_realtime(struct attach_tracer *tracer);

/* Undoes attach_tracer_begin and attach_tracer_realtime. */
void attach_tracer_end(struct attach_tracer *tracer);

/* The signal of the tracer's tick (a realtime signal no other part of stacktop uses). */
int attach_wake_signal(void);

/* PTRACE_SEIZE (options 0). Returns 0, or -1 with errno (ESRCH gone, EPERM not allowed or
 * already traced). */
int attach_seize(pid_t tid);

/* PTRACE_INTERRUPT: asks a seized thread to stop, without a signal. 0 or -1 with errno. */
int attach_interrupt(pid_t tid);

/* Waits until a seized thread is stopped, up to deadline_ns (CLOCK_MONOTONIC). */
enum attach_wait_result attach_wait_stop(pid_t tid, int64_t deadline_ns, struct attach_stop *stop);

/* Waits until any thread seized by the calling thread stops or exits, up to deadline_ns
 * (a deadline already past: looks once, never blocks). Returns its tid, with *result
 * (STOPPED or EXITED) and *stop filled; 0 when none did in time; -1 with errno ECHILD when
 * the calling thread holds no tracee. *slept (may be NULL): the report came from a blocking
 * waitpid (the tracer asleep until the report), not from a poll. */
pid_t attach_wait_any(int64_t deadline_ns, enum attach_wait_result *result,
                      struct attach_stop *stop, bool *slept);

/* Reads the registers of a stopped thread (PTRACE_GETREGSET). 0 or -1 with errno. */
int attach_get_registers(pid_t tid, struct attach_registers *out);

/* PTRACE_DETACH of a stopped thread, handing back stop->pending_signal. 0 or -1 with errno
 * (ESRCH: the thread is not stopped or not ours; the kernel detaches when we exit). */
int attach_detach(pid_t tid, const struct attach_stop *stop);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t attach_now_ns(void);

#endif
