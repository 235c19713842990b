/*
 * memory: reads another process's memory with process_vm_readv, through a small page cache.
 *
 * Owns: the page cache of one reader (one target process, one capture).
 * Invariants:
 *   - never writes target memory (no process_vm_writev, no /proc/PID/mem writes, no ptrace);
 *   - a cached page of a writable mapping is only trusted while the threads stay stopped:
 *     callers call memory_reader_invalidate() whenever threads may have run (between two
 *     stop windows in the one-thread-at-a-time mode); pages of mappings that were read-only
 *     when the reader was created (code, unwind tables) survive invalidation;
 *   - pages that cannot be read (unmapped, guard pages) are never cached.
 */
#ifndef STACKTOP_MEMORY_H
#define STACKTOP_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct memory_reader;

/* A reader of pid's memory (any thread id of the process works). */
struct memory_reader *memory_reader_new(pid_t pid);
void memory_reader_free(struct memory_reader *reader);

/* Drops cached pages of writable memory (the target may have run since they were read). */
void memory_reader_invalidate(struct memory_reader *reader);

/* Copies len bytes at addr into buf. Returns 0, or -1 (errno set: EFAULT for an unmapped
 * address, ESRCH when the process is gone). */
int memory_read(struct memory_reader *reader, uint64_t addr, void *buf, size_t len);

/* Reads one 64-bit word at addr (any alignment). Returns 0 or -1 like memory_read. */
int memory_read_word(struct memory_reader *reader, uint64_t addr, uint64_t *out);

/* Statistics, for benchmarks: process_vm_readv calls made and reads answered by the cache. */
struct memory_stats {
    uint64_t syscalls;   /* process_vm_readv calls */
    uint64_t cache_hits; /* reads served without a syscall */
};
void memory_reader_get_stats(const struct memory_reader *reader, struct memory_stats *out);

#endif
