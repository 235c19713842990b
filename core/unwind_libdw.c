/*
 * unwind_libdw: the libdw (elfutils) backend of unwind.h.
 *
 * Owns: one Dwfl per capture, reported from /proc/PID/maps (dwfl_linux_proc_report) and
 * attached with our own Dwfl_Thread_Callbacks rather than dwfl_linux_proc_attach: that one
 * reads memory with PTRACE_PEEKDATA one word at a time and may ptrace on its own, while ours
 * read through process_vm_readv (memory.h) and take the registers captured at the stop.
 * The modules' CFI (.eh_frame) is parsed once and reused for every thread of the capture.
 * Invariants: the Dwfl sees exactly one thread at a time, the one being unwound; no
 * debuginfod and no separate debug files are looked up (unwinding needs only .eh_frame /
 * .debug_frame of the module itself), so a capture never waits on the network.
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>

#include "memory.h"
#include "unwind.h"
#include "unwind_dwfl.h"
#include "xalloc.h"

/* Per-capture state. */
struct libdw_state {
    Dwfl *dwfl;                          /* modules of the process, with their CFI caches */
    struct memory_reader *memory;        /* target memory (borrowed from the session) */
    pid_t tid;                           /* the thread being unwound */
    const struct attach_registers *regs; /* its registers at the stop */
    struct unwind_output *out;           /* where the frame callback writes */
};

static pid_t next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
    (void)dwfl;
    struct libdw_state *state = dwfl_arg;
    if (*thread_argp != NULL)
        return 0; /* one thread per call of dwfl_getthread_frames */
    *thread_argp = state;
    return state->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
    (void)dwfl;
    struct libdw_state *state = dwfl_arg;
    if (tid != state->tid)
        return false;
    *thread_argp = state;
    return true;
}

static bool memory_read_word_callback(Dwfl *dwfl, Dwarf_Addr address, Dwarf_Word *result,
                                      void *dwfl_arg)
{
    (void)dwfl;
    struct libdw_state *state = dwfl_arg;
    uint64_t word;
    if (memory_read_word(state->memory, address, &word) != 0)
        return false;
    *result = word;
    return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
    struct libdw_state *state = thread_arg;
    const Dwarf_Word *dwarf = state->regs->dwarf;
    if (!dwfl_thread_state_registers(thread, 0, ATTACH_REGISTER_COUNT, dwarf))
        return false;
    dwfl_thread_state_register_pc(thread, dwarf[ATTACH_REGISTER_COUNT - 1]);
    return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read_word_callback,
    .set_initial_registers = set_initial_registers,
    .detach = NULL,
    .thread_detach = NULL,
};

static void *libdw_open(pid_t pid, const struct proc_maps *maps, struct memory_reader *memory,
                        char *err, size_t errlen)
{
    struct libdw_state *state = xcalloc(1, sizeof *state);
    state->memory = memory;
    state->dwfl = unwind_dwfl_open(pid, maps, &thread_callbacks, state, err, errlen);
    if (state->dwfl == NULL)
        goto free_state;
    return state;

free_state:
    free(state);
    return NULL;
}

static int frame_callback(Dwfl_Frame *frame, void *arg)
{
    struct libdw_state *state = arg;
    struct unwind_output *out = state->out;
    Dwarf_Addr pc;
    bool is_activation = false;
    if (!dwfl_frame_pc(frame, &pc, &is_activation) || pc == 0)
        return DWARF_CB_ABORT;
    out->pc_is_return[out->count] = !is_activation;
    out->pcs[out->count++] = pc;
    return out->count == out->capacity ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int libdw_unwind(void *opaque, pid_t tid, const struct attach_registers *regs,
                        struct unwind_output *out, char *err, size_t errlen)
{
    struct libdw_state *state = opaque;
    state->tid = tid;
    state->regs = regs;
    state->out = out;
    out->count = 0;
    /* the end of the stack is reported as an error by some libdw versions: frames count */
    int rc = dwfl_getthread_frames(state->dwfl, tid, frame_callback, state);
    state->out = NULL;
    if (out->count == 0) {
        snprintf(err, errlen, "libdw: no frame could be read (%s)",
                 rc == -1 ? dwfl_errmsg(-1) : "no registers");
        return -1;
    }
    return 0;
}

/* Opens one module's ELF and its .eh_frame CFI (dwfl_getmodules callback). */
static int warm_module(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr start,
                       void *arg)
{
    (void)userdata;
    (void)name;
    (void)start;
    (void)arg;
    Dwarf_Addr bias;
    if (dwfl_module_getelf(module, &bias) != NULL)
        dwfl_module_eh_cfi(module, &bias);
    return DWARF_CB_OK;
}

static void libdw_warm(void *opaque)
{
    struct libdw_state *state = opaque;
    dwfl_getmodules(state->dwfl, warm_module, NULL, 0);
}

static void libdw_close(void *opaque)
{
    struct libdw_state *state = opaque;
    if (state == NULL)
        return;
    dwfl_end(state->dwfl);
    free(state);
}

const struct unwind_backend unwind_backend_libdw = {
    .name = "libdw",
    .open = libdw_open,
    .unwind = libdw_unwind,
    .close = libdw_close,
    .warm = libdw_warm,
};
