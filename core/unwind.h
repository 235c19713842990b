/*
 * unwind: walks the stack of one stopped thread into raw PCs. Two backends behind one
 * interface: libunwind-ptrace (unwind_libunwind.c) and libdw (unwind_libdw.c).
 *
 * Owns: per-capture unwinder state (a libunwind address space or a Dwfl, their per-module
 * caches of unwind tables) and the memory reader it reads the target through.
 * Invariants:
 *   - target memory is read with process_vm_readv only (memory.h), never PTRACE_PEEKDATA,
 *     never written;
 *   - registers come from the caller (taken at the stop by attach.h): the backends make no
 *     ptrace call of their own;
 *   - unwind_thread may only be called while tid is stopped; caches of target memory are
 *     dropped at each call unless the caller says every thread is still stopped;
 *   - unwind_copy_stack is called while tid is stopped, unwind_thread_from_copy after it
 *     was resumed: the walk reads the stack from the copy taken at the stop;
 *   - one session serves every thread of one process, so per-module unwind info is parsed
 *     once per capture.
 */
#ifndef STACKTOP_UNWIND_H
#define STACKTOP_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach.h"
#include "capture.h"
#include "memory.h"
#include "proc_maps.h"

struct memory_reader;
struct unwind_session;

/* Where unwind_thread writes. */
struct unwind_output {
    uint64_t *pcs;      /* raw PCs, innermost first */
    bool *pc_is_return; /* per PC: a return address (look it up at pc - 1) */
    size_t capacity;    /* room in pcs and pc_is_return */
    size_t count;       /* entries written */
};

/* One backend (a table entry: unwind.c picks it by enum capture_unwinder). */
struct unwind_backend {
    const char *name; /* "libunwind", "libdw" (capture_unwinder_name) */
    /* Per-capture state for pid reading through memory (borrowed). NULL with err on error. */
    void *(*open)(pid_t pid, const struct proc_maps *maps, struct memory_reader *memory, char *err,
                  size_t errlen);
    /* Unwinds stopped thread tid from regs. 0 (count >= 1), or -1 with err (count may hold
     * the frames found before the failure). */
    int (*unwind)(void *state, pid_t tid, const struct attach_registers *regs,
                  struct unwind_output *out, char *err, size_t errlen);
    void (*close)(void *state);
    /* Optional: loads what every unwind will need (modules, their CFI) before any stop. */
    void (*warm)(void *state);
};

extern const struct unwind_backend unwind_backend_libunwind; /* unwind_libunwind.c */
extern const struct unwind_backend unwind_backend_libdw;     /* unwind_libdw.c */

/* The unwinder CAPTURE_UNWINDER_DEFAULT stands for (the faster, as measured in unwind.c). */
enum capture_unwinder unwind_default(void);

/* Opens a session for pid. which may be CAPTURE_UNWINDER_DEFAULT; maps: the process's memory
 * map read by the caller (it must outlive the session), or NULL to read it here. NULL with err
 * on error. */
struct unwind_session *unwind_session_new(enum capture_unwinder which, pid_t pid,
                                          const struct proc_maps *maps, char *err, size_t errlen);
void unwind_session_free(struct unwind_session *session);

/* The unwinder the session uses (never CAPTURE_UNWINDER_DEFAULT). */
enum capture_unwinder unwind_session_unwinder(const struct unwind_session *session);

/* Unwinds stopped thread tid. others_stopped: every thread whose memory was cached since the
 * last call is still stopped (consistent mode), so the memory cache may be kept. */
int unwind_thread(struct unwind_session *session, pid_t tid, const struct attach_registers *regs,
                  bool others_stopped, struct unwind_output *out, char *err, size_t errlen);

/* Bytes of stack copied at a stop, from sp (cut at the end of the stack mapping). Stacks of
 * blocked threads seldom reach 8 KiB; deeper frames are read live and counted. */
#define UNWIND_STACK_COPY_BYTES (64 * 1024)

/* While tid is stopped: copies the top of its stack (one process_vm_readv from regs' sp, up
 * to UNWIND_STACK_COPY_BYTES) into the session's scratch buffer. 0, or -1 (errno) when nothing
 * could be copied (the caller then unwinds with unwind_thread while the thread is still
 * stopped). */
int unwind_copy_stack(struct unwind_session *session, const struct attach_registers *regs);

/* After the detach: moves that copy into memory from alloc(context, length), so that more
 * threads can be copied before any is walked. 0, or -1 when there is no fresh copy. */
int unwind_take_stack_copy(struct unwind_session *session,
                           unsigned char *(*alloc)(void *context, size_t length), void *context,
                           struct memory_stack_copy *out);

/* After tid was resumed: unwinds it from regs and its stack copy (reads inside the copy are
 * served from it; writable memory outside it is read live and counted in
 * unwind_session_memory_stats' live_reads). The copy stays the caller's. Like unwind_thread
 * otherwise. */
int unwind_thread_from_copy(struct unwind_session *session, pid_t tid,
                            const struct attach_registers *regs,
                            const struct memory_stack_copy *copy, struct unwind_output *out,
                            char *err, size_t errlen);

/* Warms the session's caches while nothing is stopped, so that the first stop windows are
 * as short as the others: loads the modules' unwind tables and walks, as far as it can, the
 * stack of a thread blocked in a system call from the user sp and pc that
 * /proc/TID/syscall shows (other registers unknown; the result is thrown away). The walk
 * reads the stack of a running thread, so its cached pages are dropped afterwards. */
void unwind_warm(struct unwind_session *session, pid_t tid, uint64_t sp, uint64_t pc);

/* process_vm_readv calls and cache hits of the session, for benchmarks; live_reads (may be
 * NULL): reads of writable memory outside a stack copy (stacks deeper than the copy). */
void unwind_session_memory_stats(const struct unwind_session *session, uint64_t *syscalls,
                                 uint64_t *cache_hits, uint64_t *live_reads);

#endif
