/*
 * attach: PTRACE_SEIZE / PTRACE_INTERRUPT / waitpid / PTRACE_DETACH (see attach.h).
 *
 * Owns: every ptrace call of stacktop, and the tracer thread's wake-up timer and scheduling
 * class during the stops.
 * Invariants: the requests used are SEIZE, INTERRUPT, GETREGSET and DETACH; no PEEK/POKE,
 * no ATTACH, no signal to the target (the only signal is the tracer's own timer tick, aimed
 * at the tracer thread); a signal-delivery-stop found while waiting is remembered and its
 * signal passed back on detach, so the target never loses a signal because of us.
 */
#include "attach.h"

#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ATTACH_TICK_NS     1000000 /* the tracer's wake-up tick while it waits for a stop */
#define ATTACH_RT_PRIORITY 1       /* SCHED_FIFO priority of the tracer during the stops */
#define ATTACH_POLL_NS     20000   /* sleep between polls when no tick runs */

/* Is the calling thread a tracer with its wake-up tick running? (attach_tracer_begin) */
static _Thread_local bool tick_running;

/* The wake-up tick's handler: nothing to do, the point is the EINTR it causes. */
static void on_wake_tick(int signo)
{
    (void)signo;
}

int attach_wake_signal(void)
{
    return SIGRTMIN + 4; /* glibc keeps the first realtime signals for itself */
}

int attach_tracer_begin(struct attach_tracer *tracer)
{
    tracer->has_timer = false;
    tracer->realtime = false;
    /* the handler is process-wide, the timer below aims at this thread only: no other
     * thread of stacktop ever sees the signal; no SA_RESTART, so a blocked waitpid returns */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_wake_tick;
    sigemptyset(&action.sa_mask);
    if (sigaction(attach_wake_signal(), &action, NULL) != 0)
        return -1;
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, attach_wake_signal());
    pthread_sigmask(SIG_UNBLOCK, &wake, NULL);

    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = attach_wake_signal();
    event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    if (timer_create(CLOCK_MONOTONIC, &event, &tracer->timer) != 0)
        return -1;
    tracer->has_timer = true;
    tick_running = true;
    struct itimerspec tick = {
        .it_interval = {0, ATTACH_TICK_NS},
        .it_value = {0, ATTACH_TICK_NS},
    };
    if (timer_settime(tracer->timer, 0, &tick, NULL) != 0) {
        attach_tracer_end(tracer);
        return -1;
    }
    return 0;
}

bool attach_tracer_realtime(struct attach_tracer *tracer)
{
    struct sched_param param = {.sched_priority = ATTACH_RT_PRIORITY};
    /* SCHED_RESET_ON_FORK: nothing the tracer might start inherits the class */
    tracer->realtime = sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &param) == 0;
    return tracer->realtime;
}

void attach_tracer_end(struct attach_tracer *tracer)
{
    if (tracer->realtime) {
        struct sched_param param = {.sched_priority = 0};
        sched_setscheduler(0, SCHED_OTHER, &param);
        tracer->realtime = false;
    }
    if (tracer->has_timer)
        timer_delete(tracer->timer);
    tracer->has_timer = false;
    tick_running = false;
}

int64_t attach_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int attach_seize(pid_t tid)
{
    return ptrace(PTRACE_SEIZE, tid, NULL, (void *)0L) == 0 ? 0 : -1;
}

int attach_interrupt(pid_t tid)
{
    return ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) == 0 ? 0 : -1;
}

/* Classifies one waitpid status of a stopped tracee. */
static void classify_stop(int status, struct attach_stop *stop)
{
    int event = (unsigned)status >> 16;
    int signo = WSTOPSIG(status);
    if (event == PTRACE_EVENT_STOP) {
        /* interrupt-stop reports SIGTRAP; group-stop the stopping signal */
        if (signo == SIGSTOP || signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU)
            stop->group_stop = true;
        return;
    }
    if (event == 0 && signo != 0) {
        /* signal-delivery-stop: the signal was on its way to the thread; hand it back */
        stop->pending_signal = signo;
        if (signo == SIGSTOP || signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU)
            stop->group_stop = true;
    }
}

/* Waits for a tracee of the calling thread (tid, or -1: any) to stop or exit, until
 * deadline_ns. Blocking: the CPU goes to the thread on its way to the stop, and its stop wakes
 * us at once; the tracer's tick (attach_tracer_begin) breaks the wait with EINTR at least
 * every ATTACH_TICK_NS to check the deadline. Without the tick (a caller that did not begin a
 * tracer), WNOHANG polls with short sleeps. Returns the tid (*result and *stop filled), 0 at
 * the deadline, -1 (errno ECHILD) when there is no such tracee. */
static pid_t wait_tracee(pid_t which, int64_t deadline_ns, enum attach_wait_result *result,
                         struct attach_stop *stop, bool *slept)
{
    if (slept != NULL)
        *slept = false;
    for (;;) {
        stop->group_stop = false;
        stop->pending_signal = 0;
        bool block = tick_running && attach_now_ns() < deadline_ns;
        int status = 0;
        /* __WNOTHREAD: only this thread's tracees, never a child of another thread */
        pid_t got = waitpid(which, &status, __WALL | __WNOTHREAD | (block ? 0 : WNOHANG));
        if (got > 0) {
            if (slept != NULL)
                *slept = block;
            if (WIFEXITED(status) || WIFSIGNALED(status)) {
                *result = ATTACH_WAIT_EXITED;
                return got;
            }
            if (WIFSTOPPED(status)) {
                classify_stop(status, stop);
                *result = ATTACH_WAIT_STOPPED;
                return got;
            }
            continue; /* WIFCONTINUED is not asked for; wait again */
        }
        if (got < 0 && errno != EINTR)
            return -1;
        if (attach_now_ns() >= deadline_ns)
            return 0;
        if (got == 0) {
            struct timespec pause = {0, ATTACH_POLL_NS};
            nanosleep(&pause, NULL);
        }
    }
}

enum attach_wait_result attach_wait_stop(pid_t tid, int64_t deadline_ns, struct attach_stop *stop)
{
    enum attach_wait_result result = ATTACH_WAIT_EXITED;
    pid_t got = wait_tracee(tid, deadline_ns, &result, stop, NULL);
    if (got == 0)
        return ATTACH_WAIT_TIMEOUT;
    return got < 0 ? ATTACH_WAIT_EXITED : result; /* ECHILD: not (any more) our tracee */
}

pid_t attach_wait_any(int64_t deadline_ns, enum attach_wait_result *result,
                      struct attach_stop *stop, bool *slept)
{
    return wait_tracee(-1, deadline_ns, result, stop, slept);
}

int attach_get_registers(pid_t tid, struct attach_registers *out)
{
    struct user_regs_struct regs;
    struct iovec iov = {.iov_base = &regs, .iov_len = sizeof regs};
    if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)NT_PRSTATUS, &iov) != 0)
        return -1;
    out->dwarf[0] = regs.rax;
    out->dwarf[1] = regs.rdx;
    out->dwarf[2] = regs.rcx;
    out->dwarf[3] = regs.rbx;
    out->dwarf[4] = regs.rsi;
    out->dwarf[5] = regs.rdi;
    out->dwarf[6] = regs.rbp;
    out->dwarf[7] = regs.rsp;
    out->dwarf[8] = regs.r8;
    out->dwarf[9] = regs.r9;
    out->dwarf[10] = regs.r10;
    out->dwarf[11] = regs.r11;
    out->dwarf[12] = regs.r12;
    out->dwarf[13] = regs.r13;
    out->dwarf[14] = regs.r14;
    out->dwarf[15] = regs.r15;
    out->dwarf[16] = regs.rip;
    out->thread_pointer = regs.fs_base;
    out->syscall_nr = (int64_t)regs.orig_rax;
    out->syscall_args[0] = regs.rdi;
    out->syscall_args[1] = regs.rsi;
    out->syscall_args[2] = regs.rdx;
    out->syscall_args[3] = regs.r10;
    out->syscall_args[4] = regs.r8;
    out->syscall_args[5] = regs.r9;
    return 0;
}

int attach_detach(pid_t tid, const struct attach_stop *stop)
{
    long signo = stop != NULL ? stop->pending_signal : 0;
    return ptrace(PTRACE_DETACH, tid, NULL, (void *)signo) == 0 ? 0 : -1;
}
