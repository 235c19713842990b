/*
 * proctable: the live process table, refreshed from /proc by mark and sweep (see proctable.h).
 *
 * Owns: every table_entry (one per process or thread identity), a hash from pid to entry,
 * the rows handed out by proctable_entries(), the system metrics, and reusable read buffers.
 * Invariants:
 *   - an entry is in the hash (in_hash) exactly while it is the current owner of its pid;
 *     a reused pid (different starttime) or a pid changing between process and thread
 *     unhooks the old entry at once, and the sweep frees it;
 *   - after a refresh, live[] holds exactly the entries marked with this tick (each once),
 *     processes each followed by their thread rows, and rows[] mirrors live[];
 *   - thread rows borrow their process's cmdline (owns_cmdline false); both are swept in the
 *     same refresh, so a borrowed pointer never outlives its owner;
 *   - steady state costs one openat/read/close of PID/stat per process; status, io and the
 *     fd count (one fstatat on Linux 6.2+) are read only when an entry is new, changed
 *     (CPU time, state, threads), is the details process, or its staggered turn comes
 *     (every details_every ticks);
 *   - with idle_every > 1, a process that used no CPU over its last two stat reads and
 *     sleeps (S, I) is not read again until its staggered turn: it is marked alive from the
 *     directory listing alone. CPU accounting keeps this honest: the CPU time /proc/stat
 *     says was used is compared with what the processes read this tick account for, and
 *     when more is missing than rounding explains, every skipped process is read after all,
 *     in the same refresh. So a sleeper that wakes up and burns CPU is seen at once; only
 *     changes that use no CPU (RSS reclaimed, reparenting, renice) wait for the turn.
 *     Short-lived processes (builds, cron jobs) take their CPU time with them when they exit;
 *     it reappears in their parent's cutime/cstime, so skipped parents are read first and
 *     counted with their reaped children before falling back to reading every process.
 */
#include "proctable.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "usernames.h"
#include "xalloc.h"

#define PID_PATH_MAX       64    /* "PID/task/TID/status" and friends */
#define SMALL_FILE_MAX     4096  /* stat, status, io, wchan: one read() of this size */
#define TABLE_CMDLINE_MAX  4096  /* bytes of cmdline kept in the table (details read all) */
#define DIRENT_BUFFER_SIZE 32768 /* getdents64 batch */
#define KTHREADD_PID       2     /* kthreadd: parent of every kernel thread */

/* One process or thread identity. */
struct table_entry {
    struct proc_entry row;         /* what callers see */
    struct table_entry *hash_next; /* next entry in the same hash bucket */
    struct table_entry *free_next; /* next entry on the free list (when released) */
    uint64_t seen_tick;            /* refresh that last found it alive: the mark */
    bool in_hash;                  /* reachable from the hash by its pid */
    bool owns_cmdline;             /* row.cmdline is heap memory of this entry */
    uint64_t previous_cpu_ticks;   /* utime + stime at the previous refresh */
    uint64_t details_cpu_ticks;    /* utime + stime when status/io/fds were last read */
    char details_state;            /* state when status/io/fds were last read */
    long details_num_threads;      /* num_threads when status/io/fds were last read */
    uint64_t io_time_us;           /* monotonic time of the last io read; 0 for none */
    uint64_t stat_time_us;         /* monotonic time of the last stat read; 0 for none */
    unsigned quiet_reads;          /* consecutive stat reads that found no new CPU time */
    uint64_t children_ticks;       /* cutime + cstime (reaped children) at the last stat read */
    uint64_t parent_mark_tick;     /* refresh in which a child of this process was seen */
};

/* A growable array of entry pointers. */
struct entry_list {
    struct table_entry **items; /* capacity slots, count used */
    size_t count;               /* entries in use */
    size_t capacity;            /* allocated slots */
};

struct proctable {
    char *proc_root;                   /* "/proc", or a captured tree in tests */
    long clock_ticks;                  /* sysconf(_SC_CLK_TCK) */
    long page_size;                    /* sysconf(_SC_PAGESIZE) */
    struct usernames *usernames;       /* uid -> name cache */
    uint64_t tick;                     /* completed refreshes */
    uint64_t now_us;                   /* CLOCK_MONOTONIC of the refresh in progress or last */
    double interval_seconds;           /* between the last two refreshes */
    uint64_t boot_time;                /* btime, seconds since the epoch */
    bool fd_sizes_are_counts;          /* the root is a procfs whose fd directories report
                                          their number of open fds as st_size (Linux 6.2+) */
    struct table_entry **buckets;      /* hash by pid, bucket_count heads */
    size_t bucket_count;               /* power of two */
    size_t hash_count;                 /* entries reachable from the hash */
    struct entry_list live;            /* entries marked in the current refresh */
    struct entry_list previous;        /* entries of the previous refresh (sweep candidates) */
    const struct proc_entry **rows;    /* &live.items[i]->row, for proctable_entries() */
    size_t rows_capacity;              /* allocated slots of rows */
    struct table_entry *free_entries;  /* released entries kept for reuse */
    struct system_metrics system;      /* metrics of the last refresh */
    struct procfs_cpu_line *cpu_lines; /* parse target for per-CPU lines of /proc/stat */
    size_t cpu_lines_capacity;         /* allocated slots of cpu_lines */
    struct cpu_times *previous_cpu;    /* per-CPU counters of the previous refresh */
    struct cpu_times previous_total;   /* aggregate counters of the previous refresh */
    char *file_buffer;                 /* whole-file reads (/proc/stat, cmdline) */
    size_t file_buffer_capacity;       /* allocated bytes of file_buffer */
    char *root_dirents;                /* getdents64 batch of the proc root */
    char *inner_dirents;               /* getdents64 batch of a task/ or fd/ directory */
    struct entry_list skipped;         /* idle processes marked alive without a stat read */
    uint64_t busy_ticks;               /* CPU ticks used (user+nice+system) since last refresh */
    uint64_t accounted_ticks;          /* CPU ticks the stat reads of this refresh explain */
};

/* Kept as the cmdline of entries that have none; never written. */
static char empty_cmdline[1] = "";

/* ---- time and small helpers ---------------------------------------------------------- */

static uint64_t clock_us(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

/* The process vanished (or is vanishing): normal flow, not an error. */
static bool errno_means_vanished(int error)
{
    return error == ENOENT || error == ESRCH;
}

/* Writes prefix + "/" + suffix into out (PID_PATH_MAX bytes); prefix and suffix are short
 * names built here or digit strings from getdents. */
static void join_path(char *out, const char *prefix, const char *suffix)
{
    size_t prefix_len = strlen(prefix), suffix_len = strlen(suffix);
    if (prefix_len + 1 + suffix_len + 1 > PID_PATH_MAX) {
        out[0] = '\0';
        return;
    }
    memcpy(out, prefix, prefix_len);
    out[prefix_len] = '/';
    memcpy(out + prefix_len + 1, suffix, suffix_len + 1);
}

/* One read() of a small /proc file: those are generated whole on the first read. Returns the
 * length, or -1 with errno set. */
static ssize_t read_small_file(int dir_fd, const char *path, char *buf, size_t size)
{
    int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    ssize_t length;
    do {
        length = read(fd, buf, size);
    } while (length < 0 && errno == EINTR);
    int saved_errno = errno;
    close(fd);
    errno = saved_errno;
    return length;
}

/* Reads a whole file into table->file_buffer (grown as needed, always with one spare byte
 * after the data), stopping at limit bytes (0 for no limit). Returns the length, or -1 with
 * errno set. */
static ssize_t read_whole_file(struct proctable *table, int dir_fd, const char *path, size_t limit)
{
    int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    size_t length = 0;
    for (;;) {
        if (length + 1 >= table->file_buffer_capacity)
            xgrow((void **)&table->file_buffer, &table->file_buffer_capacity, length + 4096, 1);
        size_t room = table->file_buffer_capacity - length - 1;
        if (limit && room > limit - length)
            room = limit - length;
        if (room == 0)
            break;
        ssize_t got = read(fd, table->file_buffer + length, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int saved_errno = errno;
            close(fd);
            errno = saved_errno;
            return -1;
        }
        if (got == 0)
            break;
        length += (size_t)got;
    }
    close(fd);
    return (ssize_t)length;
}

/* Fields of one getdents64 record, read with memcpy: the buffer is plain bytes. */
struct dirent_record {
    unsigned short length; /* bytes of this record */
    const char *name;      /* NUL-terminated name inside the buffer */
};

static struct dirent_record dirent_at(const char *record)
{
    struct dirent_record result;
    memcpy(&result.length, record + offsetof(struct dirent64, d_reclen), sizeof(result.length));
    result.name = record + offsetof(struct dirent64, d_name);
    return result;
}

/* Parses a directory entry name made only of digits into a positive pid; 0 otherwise. */
static pid_t pid_from_name(const char *name)
{
    long value = 0;
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++) {
        if (*p < '0' || *p > '9' || value > 0x7fffffffL / 10)
            return 0;
        value = value * 10 + (*p - '0');
    }
    return value > 0 && value <= 0x7fffffffL ? (pid_t)value : 0;
}

/* ---- entries and the hash ------------------------------------------------------------ */

static size_t bucket_of(const struct proctable *table, pid_t pid)
{
    return (size_t)(uint32_t)pid & (table->bucket_count - 1);
}

/* A main thread's row and its process row share the id; is_thread tells them apart. */
static struct table_entry *hash_find(const struct proctable *table, pid_t pid, bool is_thread)
{
    for (struct table_entry *entry = table->buckets[bucket_of(table, pid)]; entry;
         entry = entry->hash_next) {
        if (entry->row.pid == pid && entry->row.is_thread == is_thread)
            return entry;
    }
    return NULL;
}

static void hash_grow(struct proctable *table)
{
    size_t old_count = table->bucket_count;
    struct table_entry **old_buckets = table->buckets;
    table->bucket_count = old_count * 2;
    table->buckets = xcalloc(table->bucket_count, sizeof(*table->buckets));
    for (size_t i = 0; i < old_count; i++) {
        struct table_entry *entry = old_buckets[i];
        while (entry) {
            struct table_entry *next = entry->hash_next;
            size_t bucket = bucket_of(table, entry->row.pid);
            entry->hash_next = table->buckets[bucket];
            table->buckets[bucket] = entry;
            entry = next;
        }
    }
    free(old_buckets);
}

static void hash_insert(struct proctable *table, struct table_entry *entry)
{
    if (table->hash_count + 1 > table->bucket_count)
        hash_grow(table);
    size_t bucket = bucket_of(table, entry->row.pid);
    entry->hash_next = table->buckets[bucket];
    table->buckets[bucket] = entry;
    entry->in_hash = true;
    table->hash_count++;
}

static void hash_remove(struct proctable *table, struct table_entry *entry)
{
    struct table_entry **link = &table->buckets[bucket_of(table, entry->row.pid)];
    while (*link && *link != entry)
        link = &(*link)->hash_next;
    if (*link) {
        *link = entry->hash_next;
        table->hash_count--;
    }
    entry->hash_next = NULL;
    entry->in_hash = false;
}

static void entry_set_cmdline(struct table_entry *entry, char *heap_text)
{
    if (entry->owns_cmdline)
        free(entry->row.cmdline);
    entry->row.cmdline = heap_text ? heap_text : empty_cmdline;
    entry->owns_cmdline = heap_text != NULL;
}

static struct table_entry *entry_new(struct proctable *table)
{
    struct table_entry *entry = table->free_entries;
    if (entry)
        table->free_entries = entry->free_next;
    else
        entry = xmalloc(sizeof(*entry));
    memset(entry, 0, sizeof(*entry));
    entry->row.cmdline = empty_cmdline;
    entry->row.metrics.fd_count = -1;
    entry->row.first_seen_tick = table->tick;
    return entry;
}

/* Unhooks entry from the hash and keeps its memory for reuse. */
static void entry_release(struct proctable *table, struct table_entry *entry)
{
    if (entry->in_hash)
        hash_remove(table, entry);
    entry_set_cmdline(entry, NULL);
    entry->free_next = table->free_entries;
    table->free_entries = entry;
}

static void list_push(struct entry_list *list, struct table_entry *entry)
{
    if (list->count == list->capacity)
        xgrow((void **)&list->items, &list->capacity, list->count + 1, sizeof(*list->items));
    list->items[list->count++] = entry;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

struct proctable *proctable_new(const char *proc_root)
{
    struct proctable *table = xcalloc(1, sizeof(*table));
    table->proc_root = xstrdup(proc_root);
    table->clock_ticks = sysconf(_SC_CLK_TCK);
    if (table->clock_ticks <= 0)
        table->clock_ticks = 100;
    table->page_size = sysconf(_SC_PAGESIZE);
    if (table->page_size <= 0)
        table->page_size = 4096;
    table->usernames = usernames_new();
    table->bucket_count = 1024;
    table->buckets = xcalloc(table->bucket_count, sizeof(*table->buckets));
    table->root_dirents = xmalloc(DIRENT_BUFFER_SIZE);
    table->inner_dirents = xmalloc(DIRENT_BUFFER_SIZE);
    return table;
}

void proctable_free(struct proctable *table)
{
    if (!table)
        return;
    for (size_t i = 0; i < table->live.count; i++)
        entry_release(table, table->live.items[i]);
    while (table->free_entries) {
        struct table_entry *next = table->free_entries->free_next;
        free(table->free_entries);
        table->free_entries = next;
    }
    free(table->live.items);
    free(table->previous.items);
    free(table->skipped.items);
    free(table->rows);
    free(table->buckets);
    free(table->system.cpu_raw);
    free(table->system.cpu);
    free(table->cpu_lines);
    free(table->previous_cpu);
    free(table->file_buffer);
    free(table->root_dirents);
    free(table->inner_dirents);
    usernames_free(table->usernames);
    free(table->proc_root);
    free(table);
}

/* ---- system metrics ------------------------------------------------------------------ */

static struct cpu_times cpu_times_from_line(const struct procfs_cpu_line *line)
{
    struct cpu_times times = {
        .user = line->user,
        .nice = line->nice,
        .system = line->system,
        .idle = line->idle,
        .iowait = line->iowait,
        .irq = line->irq,
        .softirq = line->softirq,
        .steal = line->steal,
    };
    return times;
}

static uint64_t counter_delta(uint64_t now, uint64_t before)
{
    return now > before ? now - before : 0;
}

/* Usage between two samples of the same CPU; before may be all zeros (since boot). */
static struct cpu_usage cpu_usage_between(const struct cpu_times *before,
                                          const struct cpu_times *now)
{
    struct cpu_usage usage = {0};
    double user = (double)counter_delta(now->user, before->user);
    double nice = (double)counter_delta(now->nice, before->nice);
    double system =
        (double)(counter_delta(now->system, before->system) + counter_delta(now->irq, before->irq) +
                 counter_delta(now->softirq, before->softirq));
    double idle = (double)counter_delta(now->idle, before->idle);
    double iowait = (double)counter_delta(now->iowait, before->iowait);
    double steal = (double)counter_delta(now->steal, before->steal);
    double total = user + nice + system + idle + iowait + steal;
    if (total <= 0)
        return usage;
    usage.user_percent = user / total * 100.0;
    usage.nice_percent = nice / total * 100.0;
    usage.system_percent = system / total * 100.0;
    usage.iowait_percent = iowait / total * 100.0;
    usage.steal_percent = steal / total * 100.0;
    usage.total_percent = (total - idle - iowait) / total * 100.0;
    return usage;
}

/* /proc/stat: CPU usage, boot time. Leaves the previous values when it cannot be read. */
static void read_system_stat(struct proctable *table, int root_fd)
{
    ssize_t length = read_whole_file(table, root_fd, "stat", 0);
    if (length < 0)
        return;
    struct procfs_system_stat parsed;
    for (;;) {
        if (procfs_parse_system_stat(table->file_buffer, (size_t)length, &parsed, table->cpu_lines,
                                     table->cpu_lines_capacity) < 0)
            return;
        if (parsed.cpu_count <= table->cpu_lines_capacity)
            break;
        xgrow((void **)&table->cpu_lines, &table->cpu_lines_capacity, parsed.cpu_count,
              sizeof(*table->cpu_lines));
    }
    struct system_metrics *system = &table->system;
    table->boot_time = parsed.btime;
    if ((size_t)system->cpu_count != parsed.cpu_count) {
        /* CPUs came or went: per-CPU history restarts from zero (usage since boot). */
        system->cpu_count = (int)parsed.cpu_count;
        size_t slots = parsed.cpu_count ? parsed.cpu_count : 1;
        free(system->cpu_raw);
        free(system->cpu);
        free(table->previous_cpu);
        system->cpu_raw = xcalloc(slots, sizeof(*system->cpu_raw));
        system->cpu = xcalloc(slots, sizeof(*system->cpu));
        table->previous_cpu = xcalloc(slots, sizeof(*table->previous_cpu));
    }
    system->cpu_total_raw = cpu_times_from_line(&parsed.total);
    table->busy_ticks = counter_delta(system->cpu_total_raw.user, table->previous_total.user) +
                        counter_delta(system->cpu_total_raw.nice, table->previous_total.nice) +
                        counter_delta(system->cpu_total_raw.system, table->previous_total.system);
    system->cpu_total = cpu_usage_between(&table->previous_total, &system->cpu_total_raw);
    table->previous_total = system->cpu_total_raw;
    for (size_t i = 0; i < parsed.cpu_count; i++) {
        system->cpu_raw[i] = cpu_times_from_line(&table->cpu_lines[i]);
        system->cpu[i] = cpu_usage_between(&table->previous_cpu[i], &system->cpu_raw[i]);
        table->previous_cpu[i] = system->cpu_raw[i];
    }
}

static void read_system_memory(struct proctable *table, int root_fd)
{
    char buf[SMALL_FILE_MAX];
    struct procfs_meminfo meminfo;
    ssize_t length = read_small_file(root_fd, "meminfo", buf, sizeof(buf));
    if (length < 0 || procfs_parse_meminfo(buf, (size_t)length, &meminfo) < 0)
        return;
    struct system_metrics *system = &table->system;
    system->mem_total_bytes = meminfo.mem_total;
    system->mem_free_bytes = meminfo.mem_free;
    system->mem_available_bytes = meminfo.mem_available;
    system->mem_buffers_bytes = meminfo.buffers;
    system->mem_shared_bytes = meminfo.shmem;
    uint64_t cached = meminfo.cached + meminfo.sreclaimable;
    system->mem_cached_bytes = cached > meminfo.shmem ? cached - meminfo.shmem : 0;
    uint64_t not_used = meminfo.mem_free + meminfo.buffers + system->mem_cached_bytes;
    system->mem_used_bytes = meminfo.mem_total > not_used ? meminfo.mem_total - not_used : 0;
    system->swap_total_bytes = meminfo.swap_total;
    system->swap_free_bytes = meminfo.swap_free;
}

static void read_system_load_and_uptime(struct proctable *table, int root_fd)
{
    char buf[256];
    ssize_t length = read_small_file(root_fd, "loadavg", buf, sizeof(buf));
    struct procfs_loadavg loadavg;
    if (length >= 0 && procfs_parse_loadavg(buf, (size_t)length, &loadavg) == 0)
        memcpy(table->system.load, loadavg.load, sizeof(table->system.load));
    length = read_small_file(root_fd, "uptime", buf, sizeof(buf));
    struct procfs_uptime uptime;
    if (length >= 0 && procfs_parse_uptime(buf, (size_t)length, &uptime) == 0)
        table->system.uptime_seconds = uptime.uptime_seconds;
}

/* ---- per-process reads --------------------------------------------------------------- */

/* What a details read should fetch. */
struct details_request {
    bool status;   /* ctx switches (and the uid for a process) */
    bool io;       /* storage bytes and rates */
    bool fd_count; /* entries of the fd directory */
    bool wchan;    /* kernel wait channel */
};

/* Number of open fds of dir_path (a "PID" directory); -1 when unknown (no permission). */
static int32_t count_fds(struct proctable *table, int dir_fd, const char *dir_path)
{
    char path[PID_PATH_MAX];
    join_path(path, dir_path, "fd");
    if (table->fd_sizes_are_counts) {
        /* One stat() instead of open, getdents and close. */
        struct stat info;
        if (fstatat(dir_fd, path, &info, 0) < 0)
            return -1;
        return (int32_t)info.st_size;
    }
    int fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int32_t count = 0;
    for (;;) {
        ssize_t got = getdents64(fd, table->inner_dirents, DIRENT_BUFFER_SIZE);
        if (got <= 0)
            break;
        for (ssize_t offset = 0; offset < got;) {
            struct dirent_record record = dirent_at(table->inner_dirents + offset);
            if (record.name[0] != '.')
                count++;
            offset += record.length;
        }
    }
    close(fd);
    return count;
}

/* Reads the requested detail files of dir_path (a "PID" or "PID/task/TID" directory).
 * Returns false when the task vanished meanwhile. */
static bool read_entry_details(struct proctable *table, struct table_entry *entry, int dir_fd,
                               const char *dir_path, const struct details_request *request)
{
    char path[PID_PATH_MAX];
    char buf[SMALL_FILE_MAX];
    struct proc_entry *row = &entry->row;
    ssize_t length;

    if (request->status) {
        join_path(path, dir_path, "status");
        struct procfs_status status;
        length = read_small_file(dir_fd, path, buf, sizeof(buf));
        if (length < 0 && errno_means_vanished(errno))
            return false;
        if (length >= 0 && procfs_parse_status(buf, (size_t)length, &status) == 0) {
            row->metrics.voluntary_ctxsw = status.voluntary_ctxt_switches;
            row->metrics.involuntary_ctxsw = status.nonvoluntary_ctxt_switches;
            if (!row->is_thread && (status.uid != row->uid || row->user[0] == '\0')) {
                row->uid = status.uid;
                usernames_lookup(table->usernames, row->uid, row->user, sizeof(row->user));
            }
        }
    }
    if (request->io) {
        join_path(path, dir_path, "io");
        struct procfs_io io;
        length = read_small_file(dir_fd, path, buf, sizeof(buf));
        if (length < 0 && errno_means_vanished(errno))
            return false;
        if (length >= 0 && procfs_parse_io(buf, (size_t)length, &io) == 0) {
            double seconds = entry->io_time_us && table->now_us > entry->io_time_us
                                 ? (double)(table->now_us - entry->io_time_us) / 1e6
                                 : 0;
            row->read_rate =
                seconds > 0
                    ? (double)counter_delta(io.read_bytes, row->metrics.read_bytes) / seconds
                    : 0;
            row->write_rate =
                seconds > 0
                    ? (double)counter_delta(io.write_bytes, row->metrics.write_bytes) / seconds
                    : 0;
            row->metrics.read_bytes = io.read_bytes;
            row->metrics.write_bytes = io.write_bytes;
            entry->io_time_us = table->now_us;
        } else {
            /* No permission (or no io accounting): unknown reads as zero. */
            row->metrics.read_bytes = row->metrics.write_bytes = 0;
            row->read_rate = row->write_rate = 0;
            entry->io_time_us = 0;
        }
    }
    if (request->fd_count)
        row->metrics.fd_count = count_fds(table, dir_fd, dir_path);
    if (request->wchan) {
        join_path(path, dir_path, "wchan");
        length = read_small_file(dir_fd, path, buf, sizeof(buf));
        if (length >= 0)
            procfs_parse_wchan(buf, (size_t)length, row->wchan, sizeof(row->wchan));
        else
            row->wchan[0] = '\0';
    }
    entry->details_cpu_ticks = row->metrics.utime_ticks + row->metrics.stime_ticks;
    entry->details_state = row->metrics.state;
    entry->details_num_threads = row->metrics.num_threads;
    row->details_tick = table->tick;
    return true;
}

/* Copies a parsed stat into the entry and derives its CPU and memory shares.
 * Returns true when comm changed (an exec: the cmdline must be read again). */
static bool apply_stat(struct proctable *table, struct table_entry *entry,
                       const struct procfs_stat *stat, bool is_new, double cpu_limit)
{
    struct proc_entry *row = &entry->row;
    struct proc_metrics *metrics = &row->metrics;
    uint64_t cpu_ticks = stat->utime_ticks + stat->stime_ticks;
    uint64_t used = is_new ? 0 : counter_delta(cpu_ticks, entry->previous_cpu_ticks);
    /* The interval is this entry's own: an idle process may have skipped some refreshes. */
    double seconds = !is_new && entry->stat_time_us && table->now_us > entry->stat_time_us
                         ? (double)(table->now_us - entry->stat_time_us) / 1e6
                         : 0;
    row->cpu_percent = 0;
    if (seconds > 0) {
        row->cpu_percent = (double)used / ((double)table->clock_ticks * seconds) * 100.0;
        if (cpu_limit > 0 && row->cpu_percent > cpu_limit)
            row->cpu_percent = cpu_limit;
    }
    entry->quiet_reads = !is_new && used == 0 ? entry->quiet_reads + 1 : 0;
    entry->children_ticks = stat->cutime_ticks + stat->cstime_ticks;
    entry->previous_cpu_ticks = cpu_ticks;
    entry->stat_time_us = table->now_us;

    metrics->state = stat->state;
    metrics->ppid = stat->ppid;
    metrics->priority = stat->priority;
    metrics->nice = stat->nice;
    metrics->num_threads = row->is_thread ? 1 : stat->num_threads;
    metrics->vsize_bytes = stat->vsize_bytes;
    metrics->rss_bytes = stat->rss_pages * (uint64_t)table->page_size;
    metrics->utime_ticks = stat->utime_ticks;
    metrics->stime_ticks = stat->stime_ticks;
    metrics->processor = stat->processor;
    row->mem_percent =
        table->system.mem_total_bytes
            ? (double)metrics->rss_bytes / (double)table->system.mem_total_bytes * 100.0
            : 0;

    bool comm_changed = strncmp(row->comm, stat->comm, sizeof(row->comm)) != 0;
    if (comm_changed)
        snprintf(row->comm, sizeof(row->comm), "%s", stat->comm);
    return comm_changed;
}

/* Reads the table's (possibly cut) cmdline of a process into a fresh heap string, or NULL
 * when it is empty or unreadable. */
static char *read_table_cmdline(struct proctable *table, int root_fd, const char *pid_name)
{
    char path[PID_PATH_MAX];
    join_path(path, pid_name, "cmdline");
    ssize_t length = read_whole_file(table, root_fd, path, TABLE_CMDLINE_MAX);
    if (length <= 0)
        return NULL;
    size_t joined = procfs_parse_cmdline(table->file_buffer, (size_t)length, table->file_buffer,
                                         (size_t)length + 1);
    return joined ? xstrndup(table->file_buffer, joined) : NULL;
}

/* The stat of a task, parsed; false when it vanished or is unreadable. */
static bool read_task_stat(int dir_fd, const char *dir_path, struct procfs_stat *stat)
{
    char path[PID_PATH_MAX];
    char buf[SMALL_FILE_MAX];
    join_path(path, dir_path, "stat");
    ssize_t length = read_small_file(dir_fd, path, buf, sizeof(buf));
    return length > 0 && procfs_parse_stat(buf, (size_t)length, stat) == 0;
}

/* The entry currently owning pid if it is the same identity, else NULL (a stale owner is
 * unhooked so that the sweep frees it). */
static struct table_entry *find_identity(struct proctable *table, pid_t pid,
                                         uint64_t starttime_ticks, bool is_thread, pid_t tgid)
{
    struct table_entry *entry = hash_find(table, pid, is_thread);
    if (!entry)
        return NULL;
    if (entry->row.starttime_ticks == starttime_ticks && entry->row.tgid == tgid)
        return entry;
    hash_remove(table, entry);
    return NULL;
}

/* Thread rows of one process, from PID/task/TID/stat. */
static void visit_threads(struct proctable *table, int root_fd, struct table_entry *process,
                          const char *pid_name, bool with_details)
{
    char task_path[PID_PATH_MAX];
    join_path(task_path, pid_name, "task");
    int task_fd = openat(root_fd, task_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (task_fd < 0)
        return;
    const struct details_request request = {.status = true, .wchan = true};
    for (;;) {
        ssize_t got = getdents64(task_fd, table->inner_dirents, DIRENT_BUFFER_SIZE);
        if (got <= 0)
            break;
        for (ssize_t offset = 0; offset < got;) {
            struct dirent_record record = dirent_at(table->inner_dirents + offset);
            offset += record.length;
            pid_t tid = pid_from_name(record.name);
            /* The main thread is the process row itself, except for the details process,
             * whose view lists every thread with its own CPU% and wait channel. */
            if (tid <= 0 || (tid == process->row.pid && !with_details))
                continue;
            struct procfs_stat stat;
            if (!read_task_stat(task_fd, record.name, &stat))
                continue;
            struct table_entry *thread =
                find_identity(table, tid, stat.starttime_ticks, true, process->row.pid);
            if (thread && thread->seen_tick == table->tick)
                continue;
            bool is_new = thread == NULL;
            if (is_new) {
                thread = entry_new(table);
                thread->row.pid = tid;
                thread->row.tgid = process->row.pid;
                thread->row.starttime_ticks = stat.starttime_ticks;
                thread->row.is_thread = true;
                hash_insert(table, thread);
            }
            apply_stat(table, thread, &stat, is_new, 100.0);
            struct proc_entry *row = &thread->row;
            row->uid = process->row.uid;
            memcpy(row->user, process->row.user, sizeof(row->user));
            row->is_kernel_thread = process->row.is_kernel_thread;
            row->cmdline = process->row.cmdline;
            row->metrics.fd_count = -1;
            if (with_details)
                read_entry_details(table, thread, task_fd, record.name, &request);
            else
                row->wchan[0] = '\0';
            thread->seen_tick = table->tick;
            list_push(&table->live, thread);
        }
    }
    close(task_fd);
}

/* CPU ticks a fresh stat explains since the entry's last read: its own time and the time of
 * children it reaped meanwhile. A process new after the first refresh started during the
 * interval: all of its own time counts. */
static uint64_t explained_ticks(const struct table_entry *entry, const struct procfs_stat *stat,
                                bool is_new)
{
    uint64_t own = stat->utime_ticks + stat->stime_ticks;
    uint64_t children = stat->cutime_ticks + stat->cstime_ticks;
    if (is_new)
        return own;
    return counter_delta(own, entry->previous_cpu_ticks) +
           counter_delta(children, entry->children_ticks);
}

/* True when a known process may be marked alive this tick without reading its stat. */
static bool may_skip_stat(const struct proctable *table, const struct table_entry *entry,
                          const struct proctable_options *options)
{
    char state = entry->row.metrics.state;
    return options->idle_every > 1 && !options->collect_threads &&
           entry->row.pid != options->details_pid && entry->seen_tick + 1 == table->tick &&
           entry->quiet_reads >= 2 && (state == 'S' || state == 'I') &&
           (table->tick + (uint64_t)entry->row.pid) % options->idle_every != 0;
}

/* One /proc/PID directory: the stat (unless idle and skippable), the rest when due. */
static void visit_process(struct proctable *table, int root_fd, pid_t pid, const char *pid_name,
                          const struct proctable_options *options)
{
    struct table_entry *known = hash_find(table, pid, false);
    if (known && known->seen_tick != table->tick && may_skip_stat(table, known, options)) {
        known->seen_tick = table->tick;
        list_push(&table->live, known);
        list_push(&table->skipped, known);
        return;
    }
    struct procfs_stat stat;
    if (!read_task_stat(root_fd, pid_name, &stat))
        return; /* vanished between readdir and read: normal */
    struct table_entry *entry = find_identity(table, pid, stat.starttime_ticks, false, pid);
    if (entry && entry->seen_tick == table->tick)
        return;
    bool is_new = entry == NULL;
    if (is_new) {
        entry = entry_new(table);
        entry->row.pid = pid;
        entry->row.tgid = pid;
        entry->row.starttime_ticks = stat.starttime_ticks;
    }
    double cpu_limit = table->system.cpu_count > 0 ? 100.0 * table->system.cpu_count : 0;
    /* A process new after the first refresh started during the interval: all its time counts. */
    table->accounted_ticks += explained_ticks(entry, &stat, is_new);
    bool comm_changed = apply_stat(table, entry, &stat, is_new, cpu_limit);
    struct proc_entry *row = &entry->row;
    row->is_kernel_thread =
        (stat.flags & PROCFS_PF_KTHREAD) || stat.ppid == KTHREADD_PID || pid == KTHREADD_PID;

    bool is_details_pid = options->details_pid == pid;
    unsigned every = options->details_every ? options->details_every : 1;
    bool due = is_new || is_details_pid ||
               entry->details_cpu_ticks != row->metrics.utime_ticks + row->metrics.stime_ticks ||
               entry->details_state != row->metrics.state ||
               entry->details_num_threads != row->metrics.num_threads ||
               (table->tick + (uint64_t)pid) % every == 0;
    if (due) {
        const struct details_request request = {
            .status = true, .io = true, .fd_count = true, .wchan = is_details_pid};
        if (!read_entry_details(table, entry, root_fd, pid_name, &request)) {
            if (is_new)
                entry_release(table, entry);
            return;
        }
    }
    if (!is_details_pid)
        row->wchan[0] = '\0';
    if (is_new && row->user[0] == '\0') {
        /* status was unreadable: the directory's owner is the next best uid. */
        struct stat info;
        if (fstatat(root_fd, pid_name, &info, 0) < 0) {
            entry_release(table, entry);
            return;
        }
        row->uid = info.st_uid;
        usernames_lookup(table->usernames, row->uid, row->user, sizeof(row->user));
    }
    if ((is_new || comm_changed) && !row->is_kernel_thread)
        entry_set_cmdline(entry, read_table_cmdline(table, root_fd, pid_name));

    if (is_new)
        hash_insert(table, entry);
    entry->seen_tick = table->tick;
    list_push(&table->live, entry);

    if ((options->collect_threads || is_details_pid) && row->metrics.num_threads > 1)
        visit_threads(table, root_fd, entry, pid_name, is_details_pid);
}

/* ---- refresh ------------------------------------------------------------------------- */

/* True when the CPU time used since the last refresh is not explained by the processes whose
 * stat was read: a skipped process (or one that exited) used it. The slack covers rounding:
 * per-task times and /proc/stat are both in clock ticks, sampled differently. */
static bool cpu_time_unaccounted(const struct proctable *table)
{
    uint64_t cpus = table->system.cpu_count > 0 ? (uint64_t)table->system.cpu_count : 1;
    uint64_t slack = 2 * cpus + table->busy_ticks / 50;
    return table->tick <= 1 || table->busy_ticks > table->accounted_ticks + slack;
}

/* Marks every process that has a child in this refresh or had one in the last (a child that
 * exited meanwhile was reaped into its parent's cutime/cstime). */
static void mark_parents(struct proctable *table)
{
    const struct entry_list *lists[] = {&table->live, &table->previous};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < lists[l]->count; i++) {
            const struct table_entry *child = lists[l]->items[i];
            if (child->row.is_thread)
                continue;
            struct table_entry *parent = hash_find(table, child->row.metrics.ppid, false);
            if (parent)
                parent->parent_mark_tick = table->tick;
        }
    }
}

/* Second pass: reads the stat of processes skipped in the first pass — only the marked
 * parents when parents_only, else all that are left. One that vanished or whose pid now
 * belongs to another process is unmarked (the sweep frees it; the new process is picked up
 * by the next refresh). Read entries leave the skipped list. */
static void read_skipped(struct proctable *table, int root_fd, bool parents_only)
{
    bool dropped = false;
    double cpu_limit = table->system.cpu_count > 0 ? 100.0 * table->system.cpu_count : 0;
    size_t kept_skipped = 0;
    for (size_t i = 0; i < table->skipped.count; i++) {
        struct table_entry *entry = table->skipped.items[i];
        if (parents_only && entry->parent_mark_tick != table->tick) {
            table->skipped.items[kept_skipped++] = entry;
            continue;
        }
        char pid_name[16];
        snprintf(pid_name, sizeof(pid_name), "%d", (int)entry->row.pid);
        struct procfs_stat stat;
        if (!read_task_stat(root_fd, pid_name, &stat) ||
            stat.starttime_ticks != entry->row.starttime_ticks) {
            entry->seen_tick = 0;
            dropped = true;
            continue;
        }
        table->accounted_ticks += explained_ticks(entry, &stat, false);
        if (apply_stat(table, entry, &stat, false, cpu_limit) && !entry->row.is_kernel_thread)
            entry_set_cmdline(entry, read_table_cmdline(table, root_fd, pid_name));
    }
    table->skipped.count = kept_skipped;
    if (!dropped)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < table->live.count; i++)
        if (table->live.items[i]->seen_tick == table->tick)
            table->live.items[kept++] = table->live.items[i];
    table->live.count = kept;
}

/* Frees the entries of the previous refresh that this one did not mark. */
static void sweep(struct proctable *table)
{
    for (size_t i = 0; i < table->previous.count; i++) {
        struct table_entry *entry = table->previous.items[i];
        if (entry->seen_tick != table->tick)
            entry_release(table, entry);
    }
    table->previous.count = 0;
}

static void count_tasks(struct proctable *table)
{
    struct system_metrics *system = &table->system;
    system->tasks_total = system->tasks_running = 0;
    system->threads_total = system->kernel_threads = 0;
    for (size_t i = 0; i < table->live.count; i++) {
        const struct proc_entry *row = &table->live.items[i]->row;
        if (row->is_thread)
            continue;
        system->tasks_total++;
        if (row->metrics.state == 'R')
            system->tasks_running++;
        if (row->is_kernel_thread)
            system->kernel_threads++;
        else
            system->threads_total += (int)row->metrics.num_threads;
    }
}

int proctable_refresh(struct proctable *table, const struct proctable_options *options, char *err,
                      size_t errlen)
{
    static const struct proctable_options defaults = {.details_every = 1};
    if (!options)
        options = &defaults;
    int root_fd = open(table->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        snprintf(err, errlen, "cannot read %s: %s", table->proc_root, strerror(errno));
        return -1;
    }
    /* A real procfs since Linux 6.2 sizes fd directories by their fd count; we, holding at
     * least root_fd, have a non-empty one. Captured trees (tests) are counted entry by entry. */
    struct statfs filesystem;
    struct stat own_fds;
    table->fd_sizes_are_counts =
        fstatfs(root_fd, &filesystem) == 0 && filesystem.f_type == PROC_SUPER_MAGIC &&
        fstatat(root_fd, "self/fd", &own_fds, 0) == 0 && own_fds.st_size > 0;

    uint64_t now = clock_us(CLOCK_MONOTONIC);
    table->interval_seconds =
        table->tick > 0 && now > table->now_us ? (double)(now - table->now_us) / 1e6 : 0;
    table->now_us = now;
    table->tick++;

    read_system_stat(table, root_fd);
    read_system_memory(table, root_fd);
    read_system_load_and_uptime(table, root_fd);

    /* Mark: everything found now goes to live; last refresh's entries wait in previous. */
    struct entry_list swap = table->previous;
    table->previous = table->live;
    table->live = swap;
    table->live.count = 0;
    table->skipped.count = 0;
    table->accounted_ticks = 0;
    int result = 0;
    for (;;) {
        ssize_t got = getdents64(root_fd, table->root_dirents, DIRENT_BUFFER_SIZE);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            /* Still sweep below, so that the table stays consistent. */
            snprintf(err, errlen, "cannot read %s: %s", table->proc_root, strerror(errno));
            result = -1;
        }
        if (got <= 0)
            break;
        for (ssize_t offset = 0; offset < got;) {
            struct dirent_record record = dirent_at(table->root_dirents + offset);
            offset += record.length;
            pid_t pid = pid_from_name(record.name);
            if (pid > 0)
                visit_process(table, root_fd, pid, record.name, options);
        }
    }
    if (table->skipped.count > 0 && cpu_time_unaccounted(table)) {
        mark_parents(table);
        read_skipped(table, root_fd, true);
        if (table->skipped.count > 0 && cpu_time_unaccounted(table))
            read_skipped(table, root_fd, false);
    }
    close(root_fd);

    sweep(table);
    if (table->live.count > table->rows_capacity)
        xgrow((void **)&table->rows, &table->rows_capacity, table->live.count,
              sizeof(*table->rows));
    for (size_t i = 0; i < table->live.count; i++)
        table->rows[i] = &table->live.items[i]->row;
    count_tasks(table);
    table->system.timestamp_us = clock_us(CLOCK_REALTIME);
    return result;
}

int proctable_read_comm(const char *proc_root, pid_t pid, char *out, size_t size)
{
    if (size > 0)
        out[0] = '\0';
    int root_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return -1;
    char pid_name[16];
    snprintf(pid_name, sizeof(pid_name), "%d", (int)pid);
    struct procfs_stat stat;
    bool found = read_task_stat(root_fd, pid_name, &stat);
    close(root_fd);
    if (!found)
        return -1;
    snprintf(out, size, "%s", stat.comm);
    return 0;
}

/* ---- accessors ----------------------------------------------------------------------- */

size_t proctable_count(const struct proctable *table)
{
    return table->live.count;
}

const struct proc_entry *proctable_entry(const struct proctable *table, size_t index)
{
    return index < table->live.count ? &table->live.items[index]->row : NULL;
}

const struct proc_entry *const *proctable_entries(const struct proctable *table, size_t *count)
{
    *count = table->live.count;
    return table->rows;
}

const struct proc_entry *proctable_find(const struct proctable *table, pid_t pid)
{
    const struct table_entry *entry = hash_find(table, pid, false);
    return entry ? &entry->row : NULL;
}

const struct system_metrics *proctable_system(const struct proctable *table)
{
    return &table->system;
}

uint64_t proctable_tick(const struct proctable *table)
{
    return table->tick;
}

double proctable_interval_seconds(const struct proctable *table)
{
    return table->interval_seconds;
}

long proctable_clock_ticks(const struct proctable *table)
{
    return table->clock_ticks;
}

uint64_t proctable_boot_time(const struct proctable *table)
{
    return table->boot_time;
}

/* ---- details ------------------------------------------------------------------------- */

/* The target of a symbolic link as a heap string, or an error text in parentheses. */
static char *read_link_text(int dir_fd, const char *path)
{
    size_t size = 256;
    for (;;) {
        char *target = xmalloc(size);
        ssize_t length = readlinkat(dir_fd, path, target, size);
        if (length >= 0 && (size_t)length < size) {
            target[length] = '\0';
            return target;
        }
        int error = errno;
        free(target);
        if (length < 0) {
            if (error == EACCES || error == EPERM)
                return xstrdup("(permission denied)");
            if (error == ENOENT)
                return xstrdup("(none)");
            return xasprintf("(%s)", strerror(error));
        }
        size *= 2;
    }
}

int proctable_read_details(const struct proctable *table, pid_t pid, struct proc_details *out,
                           char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int root_fd = open(table->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        snprintf(err, errlen, "cannot read %s: %s", table->proc_root, strerror(errno));
        return -1;
    }
    char pid_name[16], path[PID_PATH_MAX];
    snprintf(pid_name, sizeof(pid_name), "%d", (int)pid);
    join_path(path, pid_name, "cmdline");

    /* The whole command line, however long: a private buffer, since table is const. */
    char *text = NULL;
    size_t capacity = 0, length = 0;
    int fd = openat(root_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        goto report_gone;
    for (;;) {
        if (length + 1 >= capacity)
            xgrow((void **)&text, &capacity, length + 4096, 1);
        ssize_t got = read(fd, text + length, capacity - length - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int error = errno;
            close(fd);
            errno = error;
            goto report_gone;
        }
        if (got == 0)
            break;
        length += (size_t)got;
    }
    close(fd);
    procfs_parse_cmdline(text, length, text, length + 1);
    out->cmdline = text;
    text = NULL;

    join_path(path, pid_name, "cwd");
    out->cwd = read_link_text(root_fd, path);
    join_path(path, pid_name, "exe");
    out->exe = read_link_text(root_fd, path);

    /* Still there? A process that exited while we read has nothing trustworthy to show. */
    join_path(path, pid_name, "stat");
    if (faccessat(root_fd, path, F_OK, 0) < 0)
        goto report_gone;
    close(root_fd);
    return 0;

report_gone:
    if (errno_means_vanished(errno))
        snprintf(err, errlen, "process %d exited", (int)pid);
    else
        snprintf(err, errlen, "cannot read process %d: %s", (int)pid, strerror(errno));
    free(text);
    proc_details_free(out);
    close(root_fd);
    return -1;
}

void proc_details_free(struct proc_details *details)
{
    if (!details)
        return;
    free(details->cmdline);
    free(details->cwd);
    free(details->exe);
    free(details->environ_hint);
    memset(details, 0, sizeof(*details));
}
