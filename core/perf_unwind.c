/*
 * perf_unwind: DWARF (CFI) unwinding of perf samples with libdw.
 *
 * Owns: one Dwfl per sampled process, with dwfl_attach_state done once. libdw binds one
 * process state per Dwfl, while every sample is a different frozen thread state; so the
 * callbacks read from a "current sample" pointer set around each dwfl_getthread_frames call,
 * and next_thread/get_thread answer only the current sample's tid.
 * Invariants:
 *   - memory_read serves only words inside the sample's copied stack [sp, sp + dyn_size);
 *     anything else fails, which ends the unwind there (no reads of the live process: the
 *     sample may be long gone by the time it is unwound);
 *   - no separate debug files and no network: .eh_frame/.debug_frame of the mapped ELF files
 *     are enough for CFI;
 *   - after PERF_RECORD_MMAP2 the Dwfl is rebuilt lazily, before the next unwind.
 */
#include "perf_private.h"

#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unwind_dwfl.h"
#include "xalloc.h"

struct perf_unwinder {
    pid_t pid;                             /* process whose modules are reported */
    Dwfl *dwfl;                            /* its modules and attached thread state */
    bool maps_changed;                     /* rebuild dwfl before the next unwind */
    const struct perf_user_state *current; /* sample being unwound; NULL between unwinds */
    uint64_t *pcs;                         /* output of the unwind in progress */
    bool *pc_is_return;                    /* per PC: a return address */
    size_t count;                          /* PCs written so far */
    size_t max;                            /* capacity of pcs */
};

static pid_t sample_next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
    (void)dwfl;
    struct perf_unwinder *unwinder = dwfl_arg;
    if (*thread_argp != NULL || unwinder->current == NULL)
        return 0; /* exactly one thread: the current sample's */
    *thread_argp = unwinder;
    return unwinder->current->tid;
}

static bool sample_get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
    (void)dwfl;
    struct perf_unwinder *unwinder = dwfl_arg;
    if (unwinder->current == NULL || tid != unwinder->current->tid)
        return false;
    *thread_argp = unwinder;
    return true;
}

static bool sample_memory_read(Dwfl *dwfl, Dwarf_Addr address, Dwarf_Word *result, void *dwfl_arg)
{
    (void)dwfl;
    struct perf_unwinder *unwinder = dwfl_arg;
    const struct perf_user_state *state = unwinder->current;
    if (state == NULL || address < state->stack_start)
        return false;
    uint64_t offset = address - state->stack_start;
    if (offset > state->stack_size || state->stack_size - offset < sizeof(Dwarf_Word))
        return false;
    memcpy(result, state->stack + offset, sizeof(Dwarf_Word));
    return true;
}

static bool sample_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
    struct perf_unwinder *unwinder = thread_arg;
    const uint64_t *registers = unwinder->current->registers;
    Dwarf_Word dwarf[PERF_DWARF_REGISTER_COUNT];
    for (size_t i = 0; i < PERF_DWARF_REGISTER_COUNT; i++)
        dwarf[i] = registers[i];
    if (!dwfl_thread_state_registers(thread, 0, PERF_DWARF_REGISTER_COUNT, dwarf))
        return false;
    dwfl_thread_state_register_pc(thread, dwarf[PERF_DWARF_REGISTER_COUNT - 1]);
    return true;
}

static const Dwfl_Thread_Callbacks sample_thread_callbacks = {
    .next_thread = sample_next_thread,
    .get_thread = sample_get_thread,
    .memory_read = sample_memory_read,
    .set_initial_registers = sample_set_initial_registers,
    .detach = NULL,
    .thread_detach = NULL,
};

/* Reports the modules of unwinder->pid into a new Dwfl and attaches the sample state. */
static int unwinder_build(struct perf_unwinder *unwinder, char *err, size_t errlen)
{
    Dwfl *dwfl =
        unwind_dwfl_open(unwinder->pid, NULL, &sample_thread_callbacks, unwinder, err, errlen);
    if (dwfl == NULL)
        return -1;
    if (unwinder->dwfl != NULL)
        dwfl_end(unwinder->dwfl);
    unwinder->dwfl = dwfl;
    unwinder->maps_changed = false;
    return 0;
}

struct perf_unwinder *perf_unwinder_new(pid_t pid, char *err, size_t errlen)
{
    struct perf_unwinder *unwinder = xcalloc(1, sizeof *unwinder);
    unwinder->pid = pid;
    if (unwinder_build(unwinder, err, errlen) != 0) {
        free(unwinder);
        return NULL;
    }
    return unwinder;
}

void perf_unwinder_maps_changed(struct perf_unwinder *unwinder)
{
    unwinder->maps_changed = true;
}

static int sample_frame(Dwfl_Frame *frame, void *arg)
{
    struct perf_unwinder *unwinder = arg;
    Dwarf_Addr pc;
    bool is_activation = false;
    if (!dwfl_frame_pc(frame, &pc, &is_activation) || pc == 0)
        return DWARF_CB_ABORT;
    unwinder->pc_is_return[unwinder->count] = !is_activation;
    unwinder->pcs[unwinder->count++] = pc;
    return unwinder->count == unwinder->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

size_t perf_unwinder_unwind(struct perf_unwinder *unwinder, const struct perf_user_state *state,
                            uint64_t *pcs, bool *pc_is_return, size_t max)
{
    if (max == 0)
        return 0;
    if (unwinder->maps_changed) {
        char ignored[256];
        /* a failed rebuild keeps the previous map: most samples are in code mapped before */
        if (unwinder_build(unwinder, ignored, sizeof ignored) != 0)
            unwinder->maps_changed = false;
    }
    unwinder->current = state;
    unwinder->pcs = pcs;
    unwinder->pc_is_return = pc_is_return;
    unwinder->count = 0;
    unwinder->max = max;
    /* the end of the stack (or of the copy) is reported as an error: the frames count */
    (void)dwfl_getthread_frames(unwinder->dwfl, state->tid, sample_frame, unwinder);
    unwinder->current = NULL;
    unwinder->pcs = NULL;
    unwinder->pc_is_return = NULL;
    return unwinder->count;
}

void perf_unwinder_free(struct perf_unwinder *unwinder)
{
    if (unwinder == NULL)
        return;
    if (unwinder->dwfl != NULL)
        dwfl_end(unwinder->dwfl);
    free(unwinder);
}
