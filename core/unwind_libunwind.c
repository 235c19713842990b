/*
 * unwind_libunwind: the libunwind-ptrace backend of unwind.h.
 *
 * Owns: one libunwind address space per capture (UNW_CACHE_GLOBAL: unwind info found for an
 * IP is reused for every thread of the capture) and _UPT handles, used only for their
 * find_proc_info / put_unwind_info / get_dyn_info_list_addr (which read the ELF files and,
 * through our access_mem, the target's memory). A _UPT handle keeps only the last ELF image
 * it looked at, so a stack that goes libc -> program -> libc would map and parse the ELF
 * files again at every switch: we keep one handle per executable mapping instead, so that
 * each module is opened once per capture. Our accessors read memory with
 * process_vm_readv (memory.h) and registers from the ones captured at the stop: libunwind's
 * own _UPT_access_mem / _UPT_access_reg (PTRACE_PEEKDATA / PEEKUSER) are never used.
 * Invariants: the accessors never write (writes fail with an error); the _UPT_* functions
 * call our access_mem with their own argument, so the accessors find the current unwind
 * through a thread-local pointer rather than their arg.
 */
#include <libunwind-ptrace.h>
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>

#include "memory.h"
#include "proc_maps.h"
#include "unwind.h"
#include "xalloc.h"

#define LIBUNWIND_MAX_MODULES 256 /* executable mappings with their own _UPT handle */

/* One executable mapping of the target and the _UPT handle that serves its IPs. */
struct module_handle {
    uint64_t start; /* first address of the mapping */
    uint64_t end;   /* one past its last address */
    void *upt;      /* _UPT_create(pid), created on the first IP in the mapping */
};

/* Per-capture state. */
struct libunwind_state {
    pid_t pid;                                           /* target process */
    unw_addr_space_t space;                              /* address space with our accessors */
    void *upt;                                           /* fallback handle (IPs outside maps) */
    struct module_handle modules[LIBUNWIND_MAX_MODULES]; /* executable mappings, by address */
    size_t module_count;                                 /* entries in modules */
    struct memory_reader *memory;        /* target memory (borrowed from the session) */
    const struct attach_registers *regs; /* registers of the thread being unwound */
};

/* The state the accessors serve (set for the duration of one unwind; see file comment). */
static _Thread_local struct libunwind_state *current_state;

/* proc_maps_each visitor: keeps the executable mappings. */
static void keep_executable(void *context, uint64_t start, uint64_t end, const char *perms)
{
    struct libunwind_state *state = context;
    if (perms[2] != 'x' || state->module_count == LIBUNWIND_MAX_MODULES)
        return;
    state->modules[state->module_count].start = start;
    state->modules[state->module_count].end = end;
    state->modules[state->module_count].upt = NULL;
    state->module_count++;
}

/* Takes the executable mappings of the target from its memory map. */
static void load_modules(struct libunwind_state *state, const struct proc_maps *maps)
{
    proc_maps_each(maps, keep_executable, state);
}

/* The _UPT handle for ip: that of its mapping, or the shared fallback. */
static void *handle_for(struct libunwind_state *state, uint64_t ip)
{
    size_t low = 0, high = state->module_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        struct module_handle *module = &state->modules[middle];
        if (ip < module->start) {
            high = middle;
        } else if (ip >= module->end) {
            low = middle + 1;
        } else {
            if (module->upt == NULL)
                module->upt = _UPT_create(state->pid);
            return module->upt != NULL ? module->upt : state->upt;
        }
    }
    return state->upt;
}

static int find_proc_info(unw_addr_space_t space, unw_word_t ip, unw_proc_info_t *info,
                          int need_unwind_info, void *arg)
{
    (void)arg;
    return _UPT_find_proc_info(space, ip, info, need_unwind_info, handle_for(current_state, ip));
}

static void put_unwind_info(unw_addr_space_t space, unw_proc_info_t *info, void *arg)
{
    (void)arg;
    _UPT_put_unwind_info(space, info, current_state->upt);
}

static int get_dyn_info_list_addr(unw_addr_space_t space, unw_word_t *address, void *arg)
{
    (void)arg;
    return _UPT_get_dyn_info_list_addr(space, address, current_state->upt);
}

static int access_mem(unw_addr_space_t space, unw_word_t address, unw_word_t *value, int write,
                      void *arg)
{
    (void)space;
    (void)arg;
    if (write)
        return -UNW_EINVAL; /* never write target memory */
    uint64_t word;
    if (memory_read_word(current_state->memory, address, &word) != 0)
        return -UNW_EINVAL;
    *value = word;
    return 0;
}

static int access_reg(unw_addr_space_t space, unw_regnum_t regnum, unw_word_t *value, int write,
                      void *arg)
{
    (void)space;
    (void)arg;
    if (write)
        return -UNW_EREADONLYREG;
    /* libunwind's x86_64 register numbers are the DWARF ones (UNW_X86_64_RIP == 16) */
    if (regnum < 0 || regnum >= ATTACH_REGISTER_COUNT)
        return -UNW_EBADREG;
    *value = current_state->regs->dwarf[regnum];
    return 0;
}

static int access_fpreg(unw_addr_space_t space, unw_regnum_t regnum, unw_fpreg_t *value, int write,
                        void *arg)
{
    (void)space;
    (void)regnum;
    (void)value;
    (void)write;
    (void)arg;
    return -UNW_EBADREG;
}

static int resume(unw_addr_space_t space, unw_cursor_t *cursor, void *arg)
{
    (void)space;
    (void)cursor;
    (void)arg;
    return -UNW_EINVAL; /* we only look */
}

static unw_accessors_t accessors = {
    .find_proc_info = find_proc_info,
    .put_unwind_info = put_unwind_info,
    .get_dyn_info_list_addr = get_dyn_info_list_addr,
    .access_mem = access_mem,
    .access_reg = access_reg,
    .access_fpreg = access_fpreg,
    .resume = resume,
    .get_proc_name = NULL,
};

static void *libunwind_open(pid_t pid, const struct proc_maps *maps, struct memory_reader *memory,
                            char *err, size_t errlen)
{
    struct libunwind_state *state = xcalloc(1, sizeof *state);
    state->pid = pid;
    state->memory = memory;
    load_modules(state, maps);
    state->space = unw_create_addr_space(&accessors, 0);
    if (state->space == NULL) {
        snprintf(err, errlen, "libunwind: cannot create an address space");
        goto free_state;
    }
    unw_set_caching_policy(state->space, UNW_CACHE_GLOBAL);
    state->upt = _UPT_create(pid);
    if (state->upt == NULL) {
        snprintf(err, errlen, "libunwind: cannot create a ptrace unwind context");
        goto destroy_space;
    }
    return state;

destroy_space:
    unw_destroy_addr_space(state->space);
free_state:
    free(state);
    return NULL;
}

static int libunwind_unwind(void *opaque, pid_t tid, const struct attach_registers *regs,
                            struct unwind_output *out, char *err, size_t errlen)
{
    (void)tid;
    struct libunwind_state *state = opaque;
    state->regs = regs;
    current_state = state;
    out->count = 0;

    unw_cursor_t cursor;
    int rc = unw_init_remote(&cursor, state->space, state);
    if (rc < 0) {
        snprintf(err, errlen, "libunwind: cannot start unwinding (%s)", unw_strerror(rc));
        current_state = NULL;
        return -1;
    }
    bool previous_was_signal = false;
    for (;;) {
        unw_word_t ip = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        bool is_signal = unw_is_signal_frame(&cursor) > 0;
        /* exact PCs: the innermost frame, a signal trampoline and the frame it interrupted */
        out->pc_is_return[out->count] = !(out->count == 0 || is_signal || previous_was_signal);
        out->pcs[out->count++] = ip;
        previous_was_signal = is_signal;
        if (out->count == out->capacity)
            break;
        rc = unw_step(&cursor);
        if (rc <= 0)
            break; /* 0: outermost frame; < 0: no unwind info (keep what was found) */
    }
    current_state = NULL;
    if (out->count == 0) {
        snprintf(err, errlen, "libunwind: no frame could be read");
        return -1;
    }
    return 0;
}

static void libunwind_close(void *opaque)
{
    struct libunwind_state *state = opaque;
    if (state == NULL)
        return;
    for (size_t i = 0; i < state->module_count; i++)
        if (state->modules[i].upt != NULL)
            _UPT_destroy(state->modules[i].upt);
    _UPT_destroy(state->upt);
    unw_destroy_addr_space(state->space);
    free(state);
}

const struct unwind_backend unwind_backend_libunwind = {
    .name = "libunwind",
    .open = libunwind_open,
    .unwind = libunwind_unwind,
    .close = libunwind_close,
};
