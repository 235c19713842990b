/*
 * proctable: the live table of processes (and, on request, threads) with their metrics.
 *
 * Owns: one entry per live process, refreshed from /proc by mark and sweep; system-wide
 * metrics (per-CPU usage, memory, load, uptime, task counts).
 * Invariants:
 *   - a process is identified by (pid, starttime_ticks); a reused pid is a new entry;
 *   - a process vanishing between readdir() and read() is normal flow, never an error;
 *   - rates (cpu_percent, read/write per second) are deltas between the last two refreshes,
 *     and are 0 on the first refresh that sees an entry;
 *   - every string here is raw bytes from the kernel: sanitize before showing it.
 * The proc root is a parameter so that tests can run on a captured tree.
 */
#ifndef STACKTOP_PROCTABLE_H
#define STACKTOP_PROCTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_COMM_MAX  64 /* comm is at most 16 bytes today; room for the future */
#define PROC_USER_MAX  33 /* user names as in utmp */
#define PROC_WCHAN_MAX 64 /* kernel symbol names */

/* Per-tick metrics of one process or thread. Cumulative counters stay cumulative here;
 * rates are derived by the table (see struct proc_entry) or by whoever reads the history. */
struct proc_metrics {
    char state;                 /* scheduler state letter from stat: R S D Z T t I X ... */
    pid_t ppid;                 /* parent pid (changes when the process is reparented) */
    long priority;              /* kernel priority as in stat (PRI column) */
    long nice;                  /* nice value, -20..19 */
    long num_threads;           /* threads in the process (1 for a thread row) */
    uint64_t vsize_bytes;       /* virtual size */
    uint64_t rss_bytes;         /* resident set size */
    uint64_t utime_ticks;       /* user CPU time, clock ticks, cumulative */
    uint64_t stime_ticks;       /* system CPU time, clock ticks, cumulative */
    uint64_t read_bytes;        /* bytes read from storage (/proc/PID/io), cumulative */
    uint64_t write_bytes;       /* bytes written to storage (/proc/PID/io), cumulative */
    uint64_t voluntary_ctxsw;   /* voluntary context switches, cumulative */
    uint64_t involuntary_ctxsw; /* involuntary context switches, cumulative */
    int32_t fd_count;           /* open file descriptors; -1 when unknown (no permission) */
    int32_t processor;          /* CPU it last ran on */
};

/* One row of the table: a process, or a thread when is_thread is set. */
struct proc_entry {
    pid_t pid;                   /* process id, or thread id for a thread row */
    pid_t tgid;                  /* owning process id; equals pid for a process row */
    uint64_t starttime_ticks;    /* start time in clock ticks after boot; identity */
    uid_t uid;                   /* real uid of the owner */
    char user[PROC_USER_MAX];    /* owner's name, or the uid in decimal if unknown */
    char comm[PROC_COMM_MAX];    /* command name from stat (raw bytes, may hold anything) */
    char *cmdline;               /* argv joined by spaces (raw); "" for kernel threads */
    char wchan[PROC_WCHAN_MAX];  /* kernel wait channel; only filled for detailed threads */
    bool is_kernel_thread;       /* child of kthreadd (or kthreadd itself): no user space */
    bool is_thread;              /* a thread row (pid != tgid) */
    struct proc_metrics metrics; /* this tick's metrics */
    double cpu_percent;          /* CPU use over the last interval; 100 = one full CPU */
    double mem_percent;          /* rss as a share of physical memory, percent */
    double read_rate;            /* storage read bytes per second over the last interval */
    double write_rate;           /* storage write bytes per second over the last interval */
    uint64_t first_seen_tick;    /* refresh number at which this entry appeared */
    uint64_t details_tick;       /* refresh number of the last io/status/fd read */
};

/* Raw CPU time counters of one CPU (or of the total), in clock ticks, from /proc/stat. */
struct cpu_times {
    uint64_t user;    /* normal processes in user mode */
    uint64_t nice;    /* niced processes in user mode */
    uint64_t system;  /* kernel mode */
    uint64_t idle;    /* idle */
    uint64_t iowait;  /* idle waiting for I/O */
    uint64_t irq;     /* servicing interrupts */
    uint64_t softirq; /* servicing softirqs */
    uint64_t steal;   /* stolen by the hypervisor */
};

/* CPU usage of one CPU over the last interval, each in percent of that CPU. */
struct cpu_usage {
    double user_percent;   /* user time (nice excluded) */
    double nice_percent;   /* niced user time */
    double system_percent; /* kernel time, irq and softirq included */
    double iowait_percent; /* waiting for I/O */
    double steal_percent;  /* stolen by the hypervisor */
    double total_percent;  /* everything but idle and iowait */
};

/* System-wide metrics of one refresh. */
struct system_metrics {
    uint64_t timestamp_us;          /* wall clock (CLOCK_REALTIME) of this refresh, microseconds */
    double uptime_seconds;          /* from /proc/uptime */
    double load[3];                 /* 1, 5 and 15 minute load averages */
    int cpu_count;                  /* number of entries in cpu_raw / cpu (online CPUs seen) */
    struct cpu_times cpu_total_raw; /* aggregate "cpu" line */
    struct cpu_times *cpu_raw;      /* per-CPU raw counters, cpu_count entries */
    struct cpu_usage cpu_total;     /* aggregate usage over the last interval */
    struct cpu_usage *cpu;          /* per-CPU usage over the last interval, cpu_count entries */
    uint64_t mem_total_bytes;       /* MemTotal */
    uint64_t mem_free_bytes;        /* MemFree */
    uint64_t mem_available_bytes;   /* MemAvailable */
    uint64_t mem_buffers_bytes;     /* Buffers */
    uint64_t mem_cached_bytes;      /* Cached + SReclaimable - Shmem (as htop and free do) */
    uint64_t mem_shared_bytes;      /* Shmem */
    uint64_t mem_used_bytes;        /* total - free - buffers - cached */
    uint64_t swap_total_bytes;      /* SwapTotal */
    uint64_t swap_free_bytes;       /* SwapFree */
    int tasks_total;                /* processes in the table (kernel threads included) */
    int tasks_running;              /* processes in state R */
    int threads_total;              /* user threads across all processes */
    int kernel_threads;             /* kernel threads */
};

/* What a refresh should collect beyond the always-read process stat. */
struct proctable_options {
    bool collect_threads;   /* add a thread row for every thread of every process */
    pid_t details_pid;      /* this process gets threads (with wchan, main thread included)
                               and io/status/fds every
                               tick; 0 for none */
    unsigned details_every; /* refresh io/status/fds of idle processes every N ticks (>= 1);
                               a process whose CPU time or state changed is refreshed always */
    unsigned idle_every;    /* > 1: a sleeping process that used no CPU over its last two reads
                               is read only every N ticks, unless the CPU time /proc/stat
                               reports is not accounted for (then all are read); 0 or 1:
                               every process every tick. Ignored while collecting threads. */
};

/* Extra facts about one process, read on demand for the details view. */
struct proc_details {
    char *cmdline;      /* full command line, arguments separated by spaces (raw) */
    char *cwd;          /* current directory, or an error text in parentheses */
    char *exe;          /* executable path, or an error text in parentheses */
    char *environ_hint; /* reserved; NULL */
};

struct proctable;

/* A table reading from proc_root ("/proc" in production). */
struct proctable *proctable_new(const char *proc_root);
void proctable_free(struct proctable *table);

/* One refresh: mark every live entry, read the new ones, sweep the vanished.
 * Returns 0, or -1 with a message in err when /proc itself cannot be read. */
int proctable_refresh(struct proctable *table, const struct proctable_options *options, char *err,
                      size_t errlen);

/* Rows of the current refresh, processes and threads mixed, in no particular order. */
size_t proctable_count(const struct proctable *table);
const struct proc_entry *proctable_entry(const struct proctable *table, size_t index);
/* All rows as an array of count pointers, valid until the next refresh. */
const struct proc_entry *const *proctable_entries(const struct proctable *table, size_t *count);
/* Process (not thread) row for pid, or NULL. */
const struct proc_entry *proctable_find(const struct proctable *table, pid_t pid);

const struct system_metrics *proctable_system(const struct proctable *table);
/* Number of completed refreshes (the first refresh is tick 1). */
uint64_t proctable_tick(const struct proctable *table);
/* Seconds between the last two refreshes (0 after the first). */
double proctable_interval_seconds(const struct proctable *table);
/* Clock ticks per second (sysconf(_SC_CLK_TCK)). */
long proctable_clock_ticks(const struct proctable *table);
/* Boot time as a Unix timestamp in seconds (btime from /proc/stat). */
uint64_t proctable_boot_time(const struct proctable *table);

/* The name (comm) of one process from proc_root/PID/stat, without a table. Returns 0, or -1
 * when the process does not exist or its stat cannot be read. */
int proctable_read_comm(const char *proc_root, pid_t pid, char *out, size_t size);

/* Reads cmdline, cwd and exe of pid. Returns 0, or -1 with err set ("process 123 exited"). */
int proctable_read_details(const struct proctable *table, pid_t pid, struct proc_details *out,
                           char *err, size_t errlen);
void proc_details_free(struct proc_details *details);

#endif
