/*
 * unwind_dwfl: the Dwfl that both libdw unwinders (stack captures: unwind_libdw.c; perf
 * samples: perf_unwind.c) build for a process: its modules from /proc/PID/maps, no search for
 * separate debug files (CFI unwinding needs only the ELF files' .eh_frame/.debug_frame, and
 * must never touch the network), and the caller's thread callbacks attached as its state.
 */
#ifndef STACKTOP_UNWIND_DWFL_H
#define STACKTOP_UNWIND_DWFL_H

#include <elfutils/libdwfl.h>
#include <stddef.h>
#include <sys/types.h>

struct proc_maps; /* proc_maps.h */

/* Returns the Dwfl (free with dwfl_end), or NULL with a message in err. maps: the process's
 * memory map read by the caller, or NULL to read it here. */
Dwfl *unwind_dwfl_open(pid_t pid, const struct proc_maps *maps,
                       const Dwfl_Thread_Callbacks *callbacks, void *callbacks_arg, char *err,
                       size_t errlen);

#endif
