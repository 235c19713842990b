/*
 * perf_private: what core/perf.c and core/perf_unwind.c share, never included outside them.
 *
 * Owns: the DWARF unwinder of perf samples (one Dwfl per process, its thread state attached
 * once; each unwind reads the registers and stack copy of the "current sample").
 * Invariants: the unwinder never reads the target's memory: everything outside the copied
 * stack is unreadable for it (CFI unwinding needs only the stack); registers are given in
 * DWARF x86_64 order (rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip).
 */
#ifndef STACKTOP_PERF_PRIVATE_H
#define STACKTOP_PERF_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PERF_DWARF_REGISTER_COUNT 17 /* DWARF x86_64 registers 0..16 (rip is 16) */

/* One sample's user state, as the unwinder needs it. */
struct perf_user_state {
    pid_t tid;                                     /* thread sampled */
    uint64_t registers[PERF_DWARF_REGISTER_COUNT]; /* user registers, DWARF numbering */
    uint64_t stack_start;                          /* user address of stack[0] (the sampled sp) */
    const uint8_t *stack;                          /* copy of [stack_start, +stack_size) */
    size_t stack_size;                             /* valid bytes in stack (perf's dyn_size) */
};

struct perf_unwinder;

/* Reports pid's modules into a fresh Dwfl and attaches the sample-reading thread state.
 * Returns NULL with err set when the process's map cannot be read. */
struct perf_unwinder *perf_unwinder_new(pid_t pid, char *err, size_t errlen);

/* The process mapped new code (PERF_RECORD_MMAP2): its modules are reported again before the
 * next unwind. */
void perf_unwinder_maps_changed(struct perf_unwinder *unwinder);

/* Unwinds one sample's user stack. Writes at most max PCs (innermost first) with, per PC,
 * whether it is a return address; returns how many it wrote (0 when nothing could be read). */
size_t perf_unwinder_unwind(struct perf_unwinder *unwinder, const struct perf_user_state *state,
                            uint64_t *pcs, bool *pc_is_return, size_t max);

void perf_unwinder_free(struct perf_unwinder *unwinder);

#endif
