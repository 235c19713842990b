/*
 * remote_memory: one process_vm_readv call per read; a short read is a failure.
 */
#include "remote_memory.h"

#include <sys/uio.h>

int remote_memory_read(void *context, uint64_t address, void *buf, size_t len)
{
    pid_t pid = *(const pid_t *)context;
    struct iovec local = {buf, len};
    struct iovec remote = {(void *)(uintptr_t)address, len};
    ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return got == (ssize_t)len ? 0 : -1;
}
