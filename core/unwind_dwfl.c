/*
 * unwind_dwfl: one place that reports a process's modules into a Dwfl for unwinding.
 */
#include "unwind_dwfl.h"

#include "proc_maps.h"

#include <stdio.h>
#include <string.h>

/* No separate debug files: unwinding must not search the disk or the network. */
static int find_no_debuginfo(Dwfl_Module *module, void **userdata, const char *modname,
                             Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                             GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    (void)module;
    (void)userdata;
    (void)modname;
    (void)base;
    (void)file_name;
    (void)debuglink_file;
    (void)debuglink_crc;
    (void)debuginfo_file_name;
    return -1;
}

static const Dwfl_Callbacks unwind_dwfl_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = find_no_debuginfo,
};

Dwfl *unwind_dwfl_open(pid_t pid, const struct proc_maps *maps,
                       const Dwfl_Thread_Callbacks *callbacks, void *callbacks_arg, char *err,
                       size_t errlen)
{
    Dwfl *dwfl = dwfl_begin(&unwind_dwfl_callbacks);
    if (dwfl == NULL) {
        snprintf(err, errlen, "libdw: %s", dwfl_errmsg(-1));
        return NULL;
    }
    dwfl_report_begin(dwfl);
    int rc = maps != NULL ? proc_maps_report(maps, dwfl, pid) : dwfl_linux_proc_report(dwfl, pid);
    if (rc != 0) {
        snprintf(err, errlen, "libdw: cannot read the memory map of process %d (%s)", (int)pid,
                 rc > 0 ? strerror(rc) : dwfl_errmsg(-1));
        goto end_dwfl;
    }
    if (dwfl_report_end(dwfl, NULL, NULL) != 0) {
        snprintf(err, errlen, "libdw: %s", dwfl_errmsg(-1));
        goto end_dwfl;
    }
    if (!dwfl_attach_state(dwfl, NULL, pid, callbacks, callbacks_arg)) {
        snprintf(err, errlen, "libdw: cannot set up unwinding of process %d (%s)", (int)pid,
                 dwfl_errmsg(-1));
        goto end_dwfl;
    }
    return dwfl;

end_dwfl:
    dwfl_end(dwfl);
    return NULL;
}
