/*
 * memory: process_vm_readv reader with a direct-mapped page cache (see memory.h).
 *
 * Owns: MEMORY_CACHE_PAGES page buffers per reader, and one stack copy buffer (the scratch
 * that a stop copies into; memory_reader_take_stack_copy moves a copy into the caller's memory,
 * and one installed with memory_reader_install_stack_copy stays the caller's).
 * Invariants: a slot is valid only when it holds the whole page at its page_address; reads
 * that fail are not cached; nothing here writes to the target.
 */
#include "memory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "proc_maps.h"
#include "xalloc.h"

#define MEMORY_PAGE_SIZE   4096u /* cache granularity (not necessarily the MMU page size) */
#define MEMORY_CACHE_PAGES 128u  /* slots: a deep stack plus code and unwind tables */
#define MEMORY_COPY_MAX    (256u * 1024u) /* largest stack copy (memory_reader_copy_stack) */

/* A range of the target's address space (one mapping), from /proc/PID/maps. */
struct memory_range {
    uint64_t start; /* first address */
    uint64_t end;   /* one past the last address */
};

/* One cached page. */
struct memory_page {
    uint64_t page_address;                /* address of the first byte held */
    bool valid;                           /* data holds the page at page_address (as of
                                             generation, unless read_only) */
    bool read_only;                       /* inside a read-only mapping: kept on invalidate */
    uint32_t generation;                  /* the reader's generation when it was read */
    unsigned char data[MEMORY_PAGE_SIZE]; /* the page's bytes */
};

struct memory_reader {
    pid_t pid;                                    /* target process */
    struct memory_page pages[MEMORY_CACHE_PAGES]; /* direct-mapped by page number */
    struct memory_stats stats;                    /* counters for benchmarks */
    uint32_t generation;                          /* bumped by memory_reader_invalidate: pages
                                                     of writable memory read before are stale */
    struct memory_range *read_only;               /* read-only mappings, sorted by start */
    size_t read_only_count;                       /* entries in read_only */
    size_t read_only_capacity;                    /* allocated entries in read_only */
    struct memory_range *writable;                /* writable mappings (stacks among them),
                                                     sorted by start */
    size_t writable_count;                        /* entries in writable */
    size_t writable_capacity;                     /* allocated entries in writable */
    unsigned char *scratch;                       /* stack copies land here (MEMORY_COPY_MAX,
                                                     pre-faulted) */
    const unsigned char *copy;                    /* the installed copy: scratch or a
                                                     caller's buffer */
    uint64_t copy_address;                        /* target address of copy[0] */
    size_t copy_length;                           /* bytes held; 0: no copy installed */
};

/* proc_maps_each visitor: keeps the read-only and the writable mappings apart. */
static void keep_ranges(void *context, uint64_t start, uint64_t end, const char *perms)
{
    struct memory_reader *reader = context;
    bool writable = perms[1] == 'w';
    struct memory_range **ranges = writable ? &reader->writable : &reader->read_only;
    size_t *count = writable ? &reader->writable_count : &reader->read_only_count;
    size_t *capacity = writable ? &reader->writable_capacity : &reader->read_only_capacity;
    xgrow((void **)ranges, capacity, *count + 1, sizeof **ranges);
    (*ranges)[*count].start = start;
    (*ranges)[*count].end = end;
    (*count)++;
}

/* Loads the mappings of pid, from maps or (NULL) /proc (best effort: none when the
 * map cannot be read). */
static void load_ranges(struct memory_reader *reader, const struct proc_maps *maps)
{
    struct proc_maps own;
    if (maps == NULL) {
        if (proc_maps_read(reader->pid, &own) != 0)
            return;
        maps = &own;
    }
    proc_maps_each(maps, keep_ranges, reader);
    if (maps == &own)
        proc_maps_free(&own);
}

/* The range of ranges[0..count) (sorted, disjoint) that holds address, or NULL (binary
 * search). */
static const struct memory_range *range_of(const struct memory_range *ranges, size_t count,
                                           uint64_t address)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (address < ranges[middle].start)
            high = middle;
        else if (address >= ranges[middle].end)
            low = middle + 1;
        else
            return &ranges[middle];
    }
    return NULL;
}

/* Is the whole page inside a read-only mapping (kept in the cache across threads)? */
static bool page_is_read_only(const struct memory_reader *reader, uint64_t page_address)
{
    const struct memory_range *range =
        range_of(reader->read_only, reader->read_only_count, page_address);
    return range != NULL && page_address + MEMORY_PAGE_SIZE <= range->end;
}

struct memory_reader *memory_reader_new(pid_t pid, const struct proc_maps *maps)
{
    struct memory_reader *reader = xcalloc(1, sizeof *reader);
    reader->pid = pid;
    load_ranges(reader, maps);
    /* touched now, so that no copy made inside a stop window takes page faults */
    reader->scratch = xmalloc(MEMORY_COPY_MAX);
    memset(reader->scratch, 0, MEMORY_COPY_MAX);
    return reader;
}

void memory_reader_free(struct memory_reader *reader)
{
    if (reader == NULL)
        return;
    free(reader->read_only);
    free(reader->writable);
    free(reader->scratch);
    free(reader);
}

void memory_reader_invalidate(struct memory_reader *reader)
{
    /* O(1): once per thread walked, so no sweep over the slots */
    reader->generation++;
}

/* Reads straight from the target, no cache. */
static int read_remote(struct memory_reader *reader, uint64_t addr, void *buf, size_t len)
{
    struct iovec local = {.iov_base = buf, .iov_len = len};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
    reader->stats.syscalls++;
    ssize_t got = process_vm_readv(reader->pid, &local, 1, &remote, 1, 0);
    if (got < 0)
        return -1;
    if ((size_t)got != len) {
        errno = EFAULT;
        return -1;
    }
    return 0;
}

/* The cached page holding addr, read on a miss; NULL when it cannot be read whole. */
static const struct memory_page *page_for(struct memory_reader *reader, uint64_t addr)
{
    uint64_t page_address = addr & ~(uint64_t)(MEMORY_PAGE_SIZE - 1);
    struct memory_page *page =
        &reader->pages[(page_address / MEMORY_PAGE_SIZE) % MEMORY_CACHE_PAGES];
    if (page->valid && page->page_address == page_address &&
        (page->read_only || page->generation == reader->generation)) {
        reader->stats.cache_hits++;
        return page;
    }
    page->valid = false;
    if (read_remote(reader, page_address, page->data, MEMORY_PAGE_SIZE) != 0)
        return NULL;
    page->page_address = page_address;
    page->valid = true;
    page->read_only = page_is_read_only(reader, page_address);
    page->generation = reader->generation;
    return page;
}

ssize_t memory_reader_copy_stack(struct memory_reader *reader, uint64_t sp, size_t max_bytes,
                                 uint64_t above_frames)
{
    if (max_bytes > MEMORY_COPY_MAX)
        max_bytes = MEMORY_COPY_MAX;
    /* ask no further than the end of the stack's mapping when it is known (a thread created
     * after the map was read is not): the kernel then never faults on the page past it */
    const struct memory_range *stack = range_of(reader->writable, reader->writable_count, sp);
    if (stack != NULL && stack->end - sp < max_bytes)
        max_bytes = (size_t)(stack->end - sp);
    /* nor past the thread's descriptor when it sits in the same mapping, above the frames */
    if (stack != NULL && above_frames > sp && above_frames <= stack->end &&
        above_frames - sp < max_bytes)
        max_bytes = (size_t)(above_frames - sp);
    reader->copy_length = 0;
    /* one remote piece: the kernel copies page by page and stops at the first unreadable
     * page, returning what it copied before it, so the copy ends where the stack mapping does
     * (checked in tests/unit/test_capture.c; one piece per page cost a page-pinning call each) */
    struct iovec local = {.iov_base = reader->scratch, .iov_len = max_bytes};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)sp, .iov_len = max_bytes};
    reader->stats.syscalls++;
    ssize_t got = process_vm_readv(reader->pid, &local, 1, &remote, 1, 0);
    if (got <= 0) {
        if (got == 0)
            errno = EFAULT;
        return -1;
    }
    reader->copy = reader->scratch;
    reader->copy_address = sp;
    reader->copy_length = (size_t)got;
    return got;
}

size_t memory_reader_stack_copy_length(const struct memory_reader *reader)
{
    return reader->copy == reader->scratch ? reader->copy_length : 0;
}

int memory_reader_take_stack_copy(struct memory_reader *reader, unsigned char *dest,
                                  struct memory_stack_copy *out)
{
    if (reader->copy_length == 0 || reader->copy != reader->scratch) {
        errno = EINVAL;
        return -1;
    }
    memcpy(dest, reader->scratch, reader->copy_length);
    out->bytes = dest;
    out->address = reader->copy_address;
    out->length = reader->copy_length;
    reader->copy = NULL;
    reader->copy_length = 0;
    return 0;
}

void memory_reader_install_stack_copy(struct memory_reader *reader,
                                      const struct memory_stack_copy *copy)
{
    reader->copy = copy->bytes;
    reader->copy_address = copy->address;
    reader->copy_length = copy->length;
}

void memory_reader_drop_stack_copy(struct memory_reader *reader)
{
    reader->copy_length = 0;
}

/* Serves [addr, addr + len) from the stack copy when it lies inside. */
static bool read_from_copy(struct memory_reader *reader, uint64_t addr, void *buf, size_t len)
{
    if (reader->copy_length == 0 || addr < reader->copy_address ||
        addr - reader->copy_address > reader->copy_length ||
        len > reader->copy_length - (addr - reader->copy_address))
        return false;
    memcpy(buf, reader->copy + (addr - reader->copy_address), len);
    reader->stats.copy_hits++;
    return true;
}

int memory_read(struct memory_reader *reader, uint64_t addr, void *buf, size_t len)
{
    if (read_from_copy(reader, addr, buf, len))
        return 0;
    if (reader->copy_length > 0 &&
        !page_is_read_only(reader, addr & ~(uint64_t)(MEMORY_PAGE_SIZE - 1)))
        reader->stats.live_after_copy++;
    unsigned char *out = buf;
    while (len > 0) {
        uint64_t offset = addr & (MEMORY_PAGE_SIZE - 1);
        size_t chunk = MEMORY_PAGE_SIZE - offset;
        if (chunk > len)
            chunk = len;
        const struct memory_page *page = page_for(reader, addr);
        if (page != NULL) {
            memcpy(out, page->data + offset, chunk);
        } else if (read_remote(reader, addr, out, chunk) != 0) {
            /* the whole page is not readable (e.g. the end of a mapping): just the bytes */
            return -1;
        }
        out += chunk;
        addr += chunk;
        len -= chunk;
    }
    return 0;
}

int memory_read_word(struct memory_reader *reader, uint64_t addr, uint64_t *out)
{
    return memory_read(reader, addr, out, sizeof *out);
}

void memory_reader_get_stats(const struct memory_reader *reader, struct memory_stats *out)
{
    *out = reader->stats;
}
