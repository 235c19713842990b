/*
 * proc_maps: /proc/PID/maps, read once per capture and shared by its readers: the memory
 * reader (read-only ranges for its cache, writable ones to end stack copies at the stack's
 * end), and the unwinder's and the symbolizer's libdwfl (file mappings and the vDSO).
 *
 * Why: a process with 1000 threads has some 2000 lines of thread stacks and guard pages. Each
 * reader used to have the kernel print the whole file again and then parse every line with
 * sscanf only to skip most of them (measured: 1.2-1.5 ms per libdwfl report on the
 * many_threads fixture). Here the file is read once and libdwfl gets only the lines that name a
 * file.
 *
 * Invariants: the struct is immutable once read, so several threads may use it at once; the
 * vDSO is reported under the name dwfl_linux_proc_report gives it ("[vdso: PID]"), so that
 * dwfl_linux_proc_find_elf reads its image from the process's memory.
 */
#ifndef STACKTOP_PROC_MAPS_H
#define STACKTOP_PROC_MAPS_H

#include <elfutils/libdwfl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One process's memory map, as text. */
struct proc_maps {
    char *text;          /* the whole file, NUL-terminated */
    size_t length;       /* bytes in text */
    char *files;         /* only the lines whose path starts with '/', NUL-terminated */
    size_t files_length; /* bytes in files */
    uint64_t vdso_start; /* the [vdso] mapping; 0 when there is none */
    uint64_t vdso_end;   /* one past its last byte */
};

/* Reads /proc/PID/maps. 0, or an errno value (ENOENT, ESRCH: no such process; EACCES, EPERM:
 * not allowed) with *out empty. */
int proc_maps_read(pid_t pid, struct proc_maps *out);

void proc_maps_free(struct proc_maps *maps);

/* Like dwfl_linux_proc_report(dwfl, pid), from maps: reports every file mapping and the vDSO.
 * Call between dwfl_report_begin and dwfl_report_end. 0, or like dwfl_linux_proc_report an
 * errno value (> 0) or -1 (dwfl_errmsg tells). */
int proc_maps_report(const struct proc_maps *maps, Dwfl *dwfl, pid_t pid);

/* Calls visit(context, start, end, perms) for each mapping of maps (perms: "r-xp" and so on,
 * four characters, not NUL-terminated). */
void proc_maps_each(const struct proc_maps *maps,
                    void (*visit)(void *context, uint64_t start, uint64_t end, const char *perms),
                    void *context);

#endif
