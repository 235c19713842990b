/*
 * sysident: reads the host name, kernel release and boot id once per session.
 */
#include "sysident.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

void sysident_read(const char *proc_root, struct sysident *out)
{
    memset(out, 0, sizeof *out);
    struct utsname names;
    if (uname(&names) == 0) {
        snprintf(out->host, sizeof out->host, "%s", names.nodename);
        snprintf(out->kernel, sizeof out->kernel, "%s %s", names.release, names.version);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/sys/kernel/random/boot_id", proc_root);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out->boot_id, sizeof out->boot_id - 1);
    close(fd);
    if (n <= 0) {
        out->boot_id[0] = '\0';
        return;
    }
    out->boot_id[n] = '\0';
    out->boot_id[strcspn(out->boot_id, "\n")] = '\0';
}
