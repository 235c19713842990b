/*
 * procfs: pure parsers of the text files under /proc. Buffer in, struct out.
 *
 * Owns: nothing. No I/O, no allocation, no global state, no locale: every function reads
 * exactly the len bytes it is given (a trailing NUL is neither needed nor looked for) and
 * writes only into the caller's structs, so each one can be fed arbitrary bytes by a fuzzer.
 * Invariants:
 *   - a parser returns 0 when the required fields were found, -1 on malformed input;
 *     on -1 the output struct holds unspecified but initialized values;
 *   - optional fields that are absent are left at 0 (or the documented default);
 *   - numbers that overflow their type are malformed input, never undefined behaviour.
 */
#ifndef STACKTOP_PROCFS_H
#define STACKTOP_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_COMM_MAX   64         /* bytes kept of comm, terminating NUL included */
#define PROCFS_PF_KTHREAD 0x00200000 /* task flag in stat: a kernel thread */

/* /proc/PID/stat (also /proc/PID/task/TID/stat). */
struct procfs_stat {
    pid_t pid;                  /* field 1: process (or thread) id */
    char comm[PROCFS_COMM_MAX]; /* field 2 without its parentheses, NUL-terminated, may be cut */
    char state;                 /* field 3: R S D Z T t I X W P K ... */
    pid_t ppid;                 /* field 4: parent pid */
    pid_t pgrp;                 /* field 5: process group id */
    pid_t session;              /* field 6: session id */
    int tty_nr;                 /* field 7: controlling terminal device number, 0 for none */
    uint32_t flags;             /* field 9: kernel task flags (PROCFS_PF_KTHREAD) */
    uint64_t minflt;            /* field 10: minor page faults */
    uint64_t majflt;            /* field 12: major page faults */
    uint64_t utime_ticks;       /* field 14: user CPU time, clock ticks */
    uint64_t stime_ticks;       /* field 15: system CPU time, clock ticks */
    uint64_t cutime_ticks;      /* field 16: user time of waited-for (reaped) children */
    uint64_t cstime_ticks;      /* field 17: system time of waited-for (reaped) children */
    long priority;              /* field 18: kernel priority (negative for real-time) */
    long nice;                  /* field 19: nice value, -20..19 */
    long num_threads;           /* field 20: threads in the thread group */
    uint64_t starttime_ticks;   /* field 22: start time after boot, clock ticks */
    uint64_t vsize_bytes;       /* field 23: virtual memory size */
    uint64_t rss_pages;         /* field 24: resident set size in pages (negative read as 0) */
    int processor;              /* field 39: CPU last run on; -1 when the kernel omits it */
};

/* The fields stacktop uses from /proc/PID/status. */
struct procfs_status {
    uid_t uid;                           /* real uid (first number of the Uid: line); required */
    pid_t tgid;                          /* Tgid:, 0 when absent */
    pid_t ppid;                          /* PPid:, 0 when absent */
    uint64_t voluntary_ctxt_switches;    /* voluntary_ctxt_switches:, 0 when absent */
    uint64_t nonvoluntary_ctxt_switches; /* nonvoluntary_ctxt_switches:, 0 when absent */
};

/* /proc/PID/io. */
struct procfs_io {
    uint64_t rchar;       /* bytes passed to read-like syscalls (cache hits included) */
    uint64_t wchar;       /* bytes passed to write-like syscalls */
    uint64_t read_bytes;  /* bytes fetched from storage; required */
    uint64_t write_bytes; /* bytes sent (or dirtied) towards storage; required */
};

/* One "cpu" or "cpuN" line of /proc/stat, clock ticks since boot. */
struct procfs_cpu_line {
    int id;              /* N of cpuN, -1 for the aggregate "cpu" line */
    uint64_t user;       /* user mode (guest included, as the kernel reports it) */
    uint64_t nice;       /* niced user mode */
    uint64_t system;     /* kernel mode */
    uint64_t idle;       /* idle */
    uint64_t iowait;     /* idle with I/O outstanding; 0 when absent (old kernels) */
    uint64_t irq;        /* hard interrupts; 0 when absent */
    uint64_t softirq;    /* soft interrupts; 0 when absent */
    uint64_t steal;      /* stolen by the hypervisor; 0 when absent */
    uint64_t guest;      /* running a guest (already inside user); 0 when absent */
    uint64_t guest_nice; /* running a niced guest (already inside nice); 0 when absent */
};

/* /proc/stat. Per-CPU lines go to a caller-supplied array (see procfs_parse_system_stat). */
struct procfs_system_stat {
    struct procfs_cpu_line total; /* the aggregate "cpu" line; required */
    size_t cpu_count;             /* cpuN lines in the input, even beyond the caller's capacity */
    uint64_t btime;               /* boot time, seconds since the epoch; required */
    uint64_t processes;           /* forks since boot, 0 when absent */
    int procs_running;            /* runnable tasks now, 0 when absent */
    int procs_blocked;            /* tasks blocked on I/O now, 0 when absent */
};

/* /proc/meminfo, converted from kB to bytes. */
struct procfs_meminfo {
    uint64_t mem_total;     /* MemTotal; required */
    uint64_t mem_free;      /* MemFree; required */
    uint64_t mem_available; /* MemAvailable; MemFree when absent (kernels before 3.14) */
    uint64_t buffers;       /* Buffers */
    uint64_t cached;        /* Cached (page cache, Shmem included) */
    uint64_t sreclaimable;  /* SReclaimable (reclaimable slab) */
    uint64_t shmem;         /* Shmem (tmpfs and shared anonymous memory) */
    uint64_t swap_total;    /* SwapTotal */
    uint64_t swap_free;     /* SwapFree */
};

/* /proc/loadavg. */
struct procfs_loadavg {
    double load[3]; /* 1, 5 and 15 minute load averages */
    int running;    /* runnable scheduling entities now */
    int total;      /* scheduling entities (threads) that exist now */
    pid_t last_pid; /* most recently assigned pid */
};

/* /proc/uptime. */
struct procfs_uptime {
    double uptime_seconds; /* seconds since boot */
    double idle_seconds;   /* idle time summed over all CPUs */
};

int procfs_parse_stat(const char *buf, size_t len, struct procfs_stat *out);
int procfs_parse_status(const char *buf, size_t len, struct procfs_status *out);
int procfs_parse_io(const char *buf, size_t len, struct procfs_io *out);

/* Copies the NUL-separated argv of /proc/PID/cmdline into out joined by single spaces, with
 * trailing NULs dropped, and NUL-terminates it (cut to out_size - 1 bytes). out may be buf
 * itself (in-place join). Returns the length written; 0 for a kernel thread or a zombie. */
size_t procfs_parse_cmdline(const char *buf, size_t len, char *out, size_t out_size);

/* Parses /proc/stat. Per-CPU lines are stored in cpus[0 .. min(cpu_count, capacity)) in the
 * order the kernel lists them (offline CPUs are absent, so ids may have gaps); when
 * out->cpu_count > capacity the caller grows the array and parses again. */
int procfs_parse_system_stat(const char *buf, size_t len, struct procfs_system_stat *out,
                             struct procfs_cpu_line *cpus, size_t capacity);
int procfs_parse_meminfo(const char *buf, size_t len, struct procfs_meminfo *out);
int procfs_parse_loadavg(const char *buf, size_t len, struct procfs_loadavg *out);
int procfs_parse_uptime(const char *buf, size_t len, struct procfs_uptime *out);

/* /proc/PID/wchan: copies the symbol into out (NUL-terminated, cut to out_size - 1);
 * "0" (not waiting, or hidden) yields "". Returns the length written. */
size_t procfs_parse_wchan(const char *buf, size_t len, char *out, size_t out_size);

#endif
