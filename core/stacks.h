/*
 * stacks: analysis of a capture — grouping threads by stack like `sort | uniq -c` (by whole
 * stack, top frame, top user frame, or start frame), and lock analysis: who holds the mutex
 * that blocked threads wait on, the wait-for graph, and deadlock cycles. Also the text and
 * JSON reports of `stacktop stacks`. Pure logic over capture results: target memory is read
 * through a callback, so tests can feed fake memory.
 */
#ifndef STACKTOP_STACKS_H
#define STACKTOP_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "capture.h"

/* How threads are grouped. */
enum stacks_grouping {
    STACKS_GROUP_STACK, /* identical whole stacks (function + file:line of every frame) */
    STACKS_GROUP_TOP,   /* same innermost frame */
    STACKS_GROUP_USER,  /* same innermost frame outside system modules (libc, libpthread,
                           ld.so, vdso; the list is configurable) */
    STACKS_GROUP_START, /* same outermost frame (thread start function) */
    STACKS_GROUP_COUNT
};

/* One group of threads. */
struct stacks_group {
    size_t count;    /* threads in the group */
    size_t *threads; /* indices into capture_result.threads, ascending tid */
    const struct capture_thread *representative; /* first member: its frames are shown */
    size_t key_frame;              /* index of the frame the group is keyed on (TOP/USER/
                                      START), 0 for STACK */
    char states[16];               /* distinct state letters of the members, e.g. "S" */
    char names[160];               /* member names summarised: "worker ×998, main" */
    enum stacks_grouping grouping; /* how the group was formed (for the reports) */
};

/* One thread waiting for a lock held by another. */
struct stacks_lock_wait {
    pid_t waiter;     /* blocked thread */
    uint64_t address; /* lock address (futex word) */
    pid_t owner;      /* holder; 0 when unknown */
    const char *kind; /* "mutex" or "pi-mutex" */
};

/* Lock analysis of one capture. */
struct stacks_lock_report {
    struct stacks_lock_wait *waits; /* one per waiting thread whose owner was found */
    size_t wait_count;              /* entries in waits */
    pid_t **cycles;                 /* deadlock cycles, each a list of tids */
    size_t *cycle_lengths;          /* length of each cycle */
    size_t cycle_count;             /* number of cycles */
};

/* The default system module basename prefixes of STACKS_GROUP_USER (NULL-terminated): the
 * list above plus "libc-" (old glibc names) and "[vdso]". */
extern const char *const stacks_default_system_modules[];

/* Reads len bytes of the target at address into buf; returns 0 or -1. */
typedef int (*stacks_read_memory_fn)(void *context, uint64_t address, void *buf, size_t len);

/* Groups the threads that have frames (threads with errors form no group; they are listed
 * separately by the report). system_modules: NULL-terminated list of basename prefixes that
 * count as "system" for STACKS_GROUP_USER, NULL for the default ("libc.so", "libpthread",
 * "ld-linux", "linux-vdso", "libstdc++", "libgcc_s"). Groups are sorted by count descending,
 * then by their first tid (stable). Returns the number of groups; free with
 * stacks_groups_free(). */
size_t stacks_group(const struct capture_result *capture, enum stacks_grouping grouping,
                    const char *const *system_modules, struct stacks_group **out);
void stacks_groups_free(struct stacks_group *groups, size_t count);

/* Finds lock owners for threads blocked in futex wait inside a pthread mutex lock path,
 * reading each lock word twice (a changed owner is a race: skipped). glibc x86_64 layout:
 * __owner at address + 8 (int); for PI mutexes the owner tid is the futex word itself
 * (& FUTEX_TID_MASK). Builds the wait-for graph and its cycles. */
void stacks_analyze_locks(const struct capture_result *capture, stacks_read_memory_fn read,
                          void *context, struct stacks_lock_report *out);
void stacks_lock_report_free(struct stacks_lock_report *report);

/* Sentences for humans: "3 threads wait for mutex 0x7f.. held by TID 4479 (name), which is
 * blocked in read()" and "DEADLOCK: 4501 (a) -> 4502 (b) -> 4501". Writes lines to out. */
void stacks_describe_locks(const struct capture_result *capture,
                           const struct stacks_lock_report *report, FILE *out);

/* `stacktop stacks` output: text like eu-stack but grouped with counts, or the JSON of
 * DESIGN.md. All target strings are sanitized. */
void stacks_print_text(const struct capture_result *capture, const struct stacks_group *groups,
                       size_t group_count, const struct stacks_lock_report *locks, FILE *out);
void stacks_print_json(const struct capture_result *capture, const struct stacks_group *groups,
                       size_t group_count, const struct stacks_lock_report *locks, FILE *out);

/* Name of a grouping ("stack", "top", "user", "start") and the reverse (-1 if unknown). */
const char *stacks_grouping_name(enum stacks_grouping grouping);
int stacks_grouping_from_name(const char *name);

/* Name of a system call number of this architecture for the reports ("read", "futex",
 * "clock_nanosleep"...), NULL for one not in the small table of blocking calls. */
const char *stacks_syscall_name(long number);

#endif
