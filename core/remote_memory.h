/*
 * remote_memory: reads another process's memory with process_vm_readv — never ptrace, never a
 * write. Used after a capture, while the target runs, for lock analysis (reading a mutex's
 * owner field); the read is racy by nature and callers read twice.
 */
#ifndef STACKTOP_REMOTE_MEMORY_H
#define STACKTOP_REMOTE_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads len bytes at address of the process whose pid context points to (a pid_t). Matches
 * stacks_read_memory_fn. Returns 0, or -1 when the range is not fully readable. */
int remote_memory_read(void *context, uint64_t address, void *buf, size_t len);

#endif
