/*
 * attach: PTRACE_SEIZE / PTRACE_INTERRUPT / waitpid / PTRACE_DETACH (see attach.h).
 *
 * Owns: every ptrace call of stacktop.
 * Invariants: the requests used are SEIZE, INTERRUPT, GETREGSET and DETACH; no PEEK/POKE,
 * no ATTACH, no signals; a signal-delivery-stop found while waiting is remembered and its
 * signal passed back on detach, so the target never loses a signal because of us.
 */
#include "attach.h"

#include <elf.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

#define ATTACH_SPIN_ROUNDS 64    /* waitpid polls with sched_yield before sleeping */
#define ATTACH_SLEEP_NS    20000 /* then sleep this long between polls */

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

enum attach_wait_result attach_wait_stop(pid_t tid, int64_t deadline_ns, struct attach_stop *stop)
{
    stop->group_stop = false;
    stop->pending_signal = 0;
    for (int round = 0;; round++) {
        int status = 0;
        pid_t got = waitpid(tid, &status, __WALL | WNOHANG);
        if (got == tid) {
            if (WIFEXITED(status) || WIFSIGNALED(status))
                return ATTACH_WAIT_EXITED;
            if (WIFSTOPPED(status)) {
                classify_stop(status, stop);
                return ATTACH_WAIT_STOPPED;
            }
            continue; /* WIFCONTINUED is not asked for; poll again */
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return ATTACH_WAIT_EXITED; /* ECHILD: not (any more) our tracee */
        if (attach_now_ns() >= deadline_ns)
            return ATTACH_WAIT_TIMEOUT;
        if (round < ATTACH_SPIN_ROUNDS) {
            sched_yield();
        } else {
            struct timespec pause = {0, ATTACH_SLEEP_NS};
            nanosleep(&pause, NULL);
        }
    }
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
    return 0;
}

int attach_detach(pid_t tid, const struct attach_stop *stop)
{
    long signo = stop != NULL ? stop->pending_signal : 0;
    return ptrace(PTRACE_DETACH, tid, NULL, (void *)signo) == 0 ? 0 : -1;
}
