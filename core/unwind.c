/*
 * unwind: picks a backend and owns the per-capture session (see unwind.h).
 *
 * Owns: the session's memory reader and the backend's state.
 * Invariants: a session belongs to one process; the memory cache is invalidated before each
 * thread unless the caller guarantees every thread is still stopped.
 *
 * Which backend is the default. Measured 2026-11 on the many_threads fixture (1000 threads
 * blocked in 4 functions, 4-5 frames each), 2 vCPUs shared with parallel builds (load ~2),
 * Debian 12 (libunwind 1.6.2, elfutils 0.188), kernel 6.18, one-thread-at-a-time mode, PCs
 * not symbolized; per-thread stop window = INTERRUPT .. DETACH:
 *                 capture of 1000 threads   stop mean   stop p99      stop max
 *   libunwind     43-71 ms                  21-47 us    57-196 us     0.1-0.8 ms (noise: 14)
 *   libdw         44-60 ms                  21-30 us    51-105 us     0.09-0.3 ms (noise: 5)
 * (a stop is ~10 us waiting for the trap, ~10 us unwinding, ~10-17 us PTRACE_DETACH.)
 * libdw is as fast or faster once both are warmed (unwind_warm), and it is also right in the
 * vDSO: libunwind-ptrace finds no ELF file for [vdso] and its fallback skips the caller of
 * clock_gettime (spin_gap shows "__frame_dummy_init_array_entry" instead of now_ns). So the
 * default is libdw. Before unwind_warm and the per-mapping _UPT handles, the first stop took
 * 0.5-1.5 ms (libunwind re-mapped an ELF file at every libc -> program -> libc switch).
 *
 * Walk from a copy (2026-11-22, the default since): a stop window now holds INTERRUPT, wait,
 * GETREGSET, one process_vm_readv of up to UNWIND_STACK_COPY_BYTES from sp and DETACH; the
 * walk runs after the detach, on the copy (then overlapped with the next thread's way to its
 * stop; since, all walks run after the last stop). Same fixture, libdw, `stacktop stacks PID
 * --no-record --format json`, 7 runs interleaved per build, other engineers' jobs sharing the 2
 * vCPUs (load 1-5: very noisy): wall (median)  stop p99 (median)  stop max (range) before (walk
 * while stopped)    132 ms         108 us             156-264 us walk while stopped, this build 112
 * ms         110 us             97 us-4.0 ms walk from the copy             97 ms          87 us
 * 122 us-3.3 ms eu-stack -s -i -p              604 ms         -                  - The ms outliers
 * of all builds are threads waiting for a CPU after PTRACE_INTERRUPT (state R), not the work inside
 * the window. With bench/stacks_bench.sh (its fixture adds a thread spinning on one of the 2 CPUs,
 * so stacktop and 1000 waking threads share the other one) the wall is ~250 ms for before and after
 * alike, p99 ~60-110 us, max 4-8 ms for both.
 *
 * Since (second session of 2026-11-22; capture.c has the details): the walks of all copies
 * run after the last stop, the tracer sleeps in waitpid (realtime when allowed), four threads
 * are in flight, windows are measured from the stop, and the debug files of libc come from the
 * debuginfo cache. bench/stacks_bench.sh, 9 interleaved rounds: stacktop 56-63 ms against
 * eu-stack 490-568 ms (7.8-9.9x), stop p99 91-94 us, max 0.4-1.1 ms; the two unwinders' walks
 * cost ~4 ms of it (libdw), so the default stays libdw for its vDSO frames.
 */
#include "unwind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "xalloc.h"

#define UNWIND_FASTEST CAPTURE_UNWINDER_LIBDW /* see the figures above */

struct unwind_session {
    enum capture_unwinder unwinder;       /* the backend in use (never DEFAULT) */
    const struct unwind_backend *backend; /* its functions */
    void *state;                          /* its per-capture state */
    struct memory_reader *memory;         /* process_vm_readv reader with a page cache */
    struct proc_maps own_maps;            /* the memory map when the caller gave none */
    bool warmed_modules;                  /* backend->warm has run */
};

enum capture_unwinder unwind_default(void)
{
    return UNWIND_FASTEST;
}

/* The backend of an unwinder (DEFAULT resolved first). */
static const struct unwind_backend *backend_of(enum capture_unwinder which)
{
    switch (which) {
    case CAPTURE_UNWINDER_LIBDW:
        return &unwind_backend_libdw;
    case CAPTURE_UNWINDER_LIBUNWIND:
    case CAPTURE_UNWINDER_DEFAULT:
        break;
    }
    return &unwind_backend_libunwind;
}

struct unwind_session *unwind_session_new(enum capture_unwinder which, pid_t pid,
                                          const struct proc_maps *maps, char *err, size_t errlen)
{
    struct unwind_session *session = xcalloc(1, sizeof *session);
    session->unwinder = which == CAPTURE_UNWINDER_DEFAULT ? unwind_default() : which;
    session->backend = backend_of(session->unwinder);
    if (maps == NULL) {
        int rc = proc_maps_read(pid, &session->own_maps);
        if (rc != 0) {
            snprintf(err, errlen, "cannot read the memory map of process %d: %s", (int)pid,
                     strerror(rc));
            free(session);
            return NULL;
        }
        maps = &session->own_maps;
    }
    session->memory = memory_reader_new(pid, maps);
    session->state = session->backend->open(pid, maps, session->memory, err, errlen);
    if (session->state == NULL)
        goto free_memory;
    return session;

free_memory:
    memory_reader_free(session->memory);
    proc_maps_free(&session->own_maps);
    free(session);
    return NULL;
}

void unwind_session_free(struct unwind_session *session)
{
    if (session == NULL)
        return;
    session->backend->close(session->state);
    memory_reader_free(session->memory);
    proc_maps_free(&session->own_maps);
    free(session);
}

enum capture_unwinder unwind_session_unwinder(const struct unwind_session *session)
{
    return session->unwinder;
}

int unwind_thread(struct unwind_session *session, pid_t tid, const struct attach_registers *regs,
                  bool others_stopped, struct unwind_output *out, char *err, size_t errlen)
{
    if (!others_stopped)
        memory_reader_invalidate(session->memory);
    return session->backend->unwind(session->state, tid, regs, out, err, errlen);
}

int unwind_copy_stack(struct unwind_session *session, const struct attach_registers *regs)
{
    uint64_t sp = regs->dwarf[7]; /* rsp */
    return memory_reader_copy_stack(session->memory, sp, UNWIND_STACK_COPY_BYTES,
                                    regs->thread_pointer) > 0
               ? 0
               : -1;
}

int unwind_take_stack_copy(struct unwind_session *session,
                           unsigned char *(*alloc)(void *context, size_t length), void *context,
                           struct memory_stack_copy *out)
{
    size_t length = memory_reader_stack_copy_length(session->memory);
    if (length == 0)
        return -1;
    return memory_reader_take_stack_copy(session->memory, alloc(context, length), out);
}

int unwind_thread_from_copy(struct unwind_session *session, pid_t tid,
                            const struct attach_registers *regs,
                            const struct memory_stack_copy *copy, struct unwind_output *out,
                            char *err, size_t errlen)
{
    memory_reader_install_stack_copy(session->memory, copy);
    /* cached writable pages may predate the stop; the copy itself is served first */
    memory_reader_invalidate(session->memory);
    int rc = session->backend->unwind(session->state, tid, regs, out, err, errlen);
    memory_reader_drop_stack_copy(session->memory);
    return rc;
}

void unwind_warm(struct unwind_session *session, pid_t tid, uint64_t sp, uint64_t pc)
{
    if (!session->warmed_modules && session->backend->warm != NULL)
        session->backend->warm(session->state);
    session->warmed_modules = true;
    if (sp == 0 || pc == 0)
        return;
    struct attach_registers regs = {.dwarf = {0}};
    regs.dwarf[7] = sp;  /* rsp */
    regs.dwarf[16] = pc; /* rip */
    uint64_t pcs[CAPTURE_MAX_FRAMES];
    bool is_return[CAPTURE_MAX_FRAMES];
    struct unwind_output scratch = {
        .pcs = pcs, .pc_is_return = is_return, .capacity = CAPTURE_MAX_FRAMES, .count = 0};
    char err[160];
    session->backend->unwind(session->state, tid, &regs, &scratch, err, sizeof err);
    memory_reader_invalidate(session->memory);
}

void unwind_session_memory_stats(const struct unwind_session *session, uint64_t *syscalls,
                                 uint64_t *cache_hits, uint64_t *live_reads)
{
    struct memory_stats stats;
    memory_reader_get_stats(session->memory, &stats);
    *syscalls = stats.syscalls;
    *cache_hits = stats.cache_hits;
    if (live_reads != NULL)
        *live_reads = stats.live_after_copy;
}
