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
 *   - pages that cannot be read (unmapped, guard pages) are never cached;
 *   - while a stack copy is installed (memory_reader_copy_stack), reads inside it are served
 *     from the copy only: it holds the stack as it was at the stop, whatever the thread did
 *     since; reads of writable memory outside it go to the live process and are counted.
 */
#ifndef STACKTOP_MEMORY_H
#define STACKTOP_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct memory_reader;

struct proc_maps; /* proc_maps.h */

/* A reader of pid's memory (any thread id of the process works); maps: its memory map, read
 * once by the caller (NULL: read here). */
struct memory_reader *memory_reader_new(pid_t pid, const struct proc_maps *maps);
void memory_reader_free(struct memory_reader *reader);

/* Drops cached pages of writable memory (the target may have run since they were read). */
void memory_reader_invalidate(struct memory_reader *reader);

/* Copies len bytes at addr into buf. Returns 0, or -1 (errno set: EFAULT for an unmapped
 * address, ESRCH when the process is gone). */
int memory_read(struct memory_reader *reader, uint64_t addr, void *buf, size_t len);

/* Reads one 64-bit word at addr (any alignment). Returns 0 or -1 like memory_read. */
int memory_read_word(struct memory_reader *reader, uint64_t addr, uint64_t *out);

/* Copies the top of a stopped thread's stack, [sp, sp + max_bytes) cut at the first page
 * that cannot be read (the end of the stack mapping), with one process_vm_readv, and serves
 * later reads inside that range from the copy. above_frames, when not 0, is an address known
 * to lie above every frame (the thread pointer): the copy also ends there when it is inside
 * the stack's mapping, above sp (glibc's thread descriptor, ~2.3 KB, is not copied). Replaces
 * any previous copy. Returns the bytes copied (> 0), or -1 (errno) with no copy installed. */
ssize_t memory_reader_copy_stack(struct memory_reader *reader, uint64_t sp, size_t max_bytes,
                                 uint64_t above_frames);

/* A stack copy in the caller's memory: the top of one thread's stack as it was at its stop. */
struct memory_stack_copy {
    unsigned char *bytes; /* the bytes (the caller's); NULL when empty */
    uint64_t address;     /* target address of bytes[0] */
    size_t length;        /* bytes held */
};

/* Length of the copy just made by memory_reader_copy_stack (0 if none). */
size_t memory_reader_stack_copy_length(const struct memory_reader *reader);

/* Moves the copy just made by memory_reader_copy_stack out of the reader's scratch buffer into
 * dest (memory_reader_stack_copy_length bytes, the caller's), so that the next stop can copy
 * while this one waits to be walked, and uninstalls it. 0, or -1 (EINVAL: no fresh copy). */
int memory_reader_take_stack_copy(struct memory_reader *reader, unsigned char *dest,
                                  struct memory_stack_copy *out);

/* Installs a copy taken earlier: reads inside it are served from it (it must stay alive until
 * memory_reader_drop_stack_copy). */
void memory_reader_install_stack_copy(struct memory_reader *reader,
                                      const struct memory_stack_copy *copy);

/* Drops the stack copy: reads go to the target (through the cache) again. */
void memory_reader_drop_stack_copy(struct memory_reader *reader);

/* Statistics, for benchmarks: process_vm_readv calls made and reads answered by the cache. */
struct memory_stats {
    uint64_t syscalls;        /* process_vm_readv calls */
    uint64_t cache_hits;      /* reads served without a syscall */
    uint64_t copy_hits;       /* reads served from a stack copy */
    uint64_t live_after_copy; /* reads of writable memory outside the installed stack copy
                                 (deeper than the copy): they see the live, running thread */
};
void memory_reader_get_stats(const struct memory_reader *reader, struct memory_stats *out);

#endif
