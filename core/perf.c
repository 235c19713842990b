/*
 * perf: CPU sampling of one process with perf_event_open (see perf.h for the contract).
 *
 * Owns: one PERF_COUNT_SW_CPU_CLOCK event per (thread, CPU) of the target with inherit = 1, so
 * threads created after the start are sampled through inherited events (their records go to
 * the parent event's buffer); one ring buffer per CPU, owned by that CPU's first event, the
 * others redirected into it with PERF_EVENT_IOC_SET_OUTPUT. (Per-thread events with cpu = -1
 * cannot be used: the kernel refuses to mmap inherited per-task events and refuses SET_OUTPUT
 * between per-task buffers of different threads.) Also owns the kallsyms table, the
 * symbolizer and the DWARF unwinder (perf_unwind.c) of the session.
 * Invariants:
 *   - every ring's owner fd stays open until perf_close;
 *   - data_head is read with acquire semantics, data_tail written with release semantics after
 *     each record is consumed; a record that wraps the buffer end is copied to record_copy;
 *   - threads are never opened twice (inherit covers new ones): /proc/PID/task is re-read only
 *     to count threads and notice the exit of the process;
 *   - never writes /proc/sys/kernel/perf_* (the error message tells the operator what to set).
 */
#include "perf.h"

#include <asm/perf_regs.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "perf_private.h"
#include "symbols.h"
#include "xalloc.h"

#define PERF_DEFAULT_FREQUENCY  99
#define PERF_DEFAULT_STACK_DUMP 16384
#define PERF_MAX_STACK_DUMP     57344 /* keeps a sample under the 64 KiB record size limit */
#define PERF_RECORD_MAX         65536 /* records are at most 64 KiB (u16 size) */
#define PERF_DATA_PAGES_DWARF   512   /* 2 MiB: ~120 samples of 16 KiB stack per poll */
#define PERF_DATA_PAGES_FP      64    /* 256 KiB: thousands of callchain-only samples */
#define PERF_MIN_DATA_PAGES     8     /* below this the buffer is useless */
#define PERF_KERNEL_MODULE      "[kernel.kallsyms]"

/* perf's x86_64 user registers that libdw needs: ax..ip (0..8) and r8..r15 (16..23). */
#define PERF_USER_REGISTER_MASK                                                                    \
    (((1ULL << (PERF_REG_X86_IP + 1)) - 1) |                                                       \
     (((1ULL << (PERF_REG_X86_R15 + 1)) - 1) & ~((1ULL << PERF_REG_X86_R8) - 1)))
#define PERF_USER_REGISTER_COUNT 17 /* bits set in PERF_USER_REGISTER_MASK */

/* Index in the sampled register block (bit order of the mask) for each DWARF register. */
static const unsigned dwarf_to_sample_register[PERF_DWARF_REGISTER_COUNT] = {
    0,  /* rax = PERF_REG_X86_AX */
    3,  /* rdx */
    2,  /* rcx */
    1,  /* rbx */
    4,  /* rsi */
    5,  /* rdi */
    6,  /* rbp */
    7,  /* rsp */
    9,  /* r8 (after ip, the 9th sampled register) */
    10, /* r9 */
    11, /* r10 */
    12, /* r11 */
    13, /* r12 */
    14, /* r13 */
    15, /* r14 */
    16, /* r15 */
    8,  /* rip */
};

/* One opened event: a thread on one CPU. */
struct perf_event_fd {
    pid_t tid; /* thread (its children inherit the event) */
    int cpu;   /* CPU the event counts on */
    int fd;    /* the event; owned by its ring when ring->fd == fd */
};

/* One CPU's ring buffer: every event of that CPU writes into it. */
struct perf_ring {
    int cpu;            /* CPU number; -1 when the CPU is offline (not used) */
    int fd;             /* event owning the mapping; -1 before the first event */
    void *map;          /* metadata page then data */
    size_t map_bytes;   /* length of the mapping */
    uint8_t *data;      /* start of the data area */
    uint64_t data_size; /* bytes of data area (power of two) */
};

/* One kernel symbol of /proc/kallsyms. */
struct perf_kernel_symbol {
    uint64_t address; /* start address */
    const char *name; /* points into kallsyms_text */
};

struct perf_session {
    struct perf_options options;           /* as given, defaults filled in */
    struct perf_event_attr attr;           /* attributes of every event */
    struct perf_event_fd *events;          /* opened events (ring owners included) */
    size_t event_count;                    /* entries in events */
    size_t event_capacity;                 /* allocated entries */
    struct perf_ring *rings;               /* one per possible CPU */
    size_t ring_count;                     /* entries in rings */
    size_t ring_pages;                     /* data pages per ring (power of two) */
    struct pollfd *waiters;                /* ring_count entries for poll() */
    int threads;                           /* threads listed by the last /proc/PID/task scan */
    uint8_t *record_copy;                  /* PERF_RECORD_MAX bytes: a record that wrapped */
    struct symbolizer *symbolizer;         /* resolves user PCs (one per session) */
    bool maps_changed;                     /* MMAP2 seen: reload the symbolizer's map */
    struct perf_unwinder *unwinder;        /* DWARF unwinder; NULL without options.dwarf */
    char *kallsyms_text;                   /* /proc/kallsyms, names NUL-terminated in place */
    struct perf_kernel_symbol *kallsyms;   /* kernel symbols sorted by address */
    size_t kallsyms_count;                 /* entries in kallsyms */
    bool kallsyms_loaded;                  /* tried to read /proc/kallsyms */
    uint64_t pcs[PERF_MAX_FRAMES];         /* PCs of the sample being handled, innermost first */
    bool pc_is_return[PERF_MAX_FRAMES];    /* per PC: a return address */
    bool pc_is_kernel[PERF_MAX_FRAMES];    /* per PC: a kernel address */
    uint64_t dwarf_pcs[PERF_MAX_FRAMES];   /* the DWARF unwind of the same sample's user part */
    bool dwarf_is_return[PERF_MAX_FRAMES]; /* per DWARF PC: a return address */
    struct capture_frame frames[PERF_MAX_FRAMES]; /* symbolized frames handed to the callback */
    struct timespec started;                      /* CLOCK_MONOTONIC at perf_start */
    struct perf_stats stats; /* counters (elapsed and threads filled on demand) */
};

static long perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
                            unsigned long flags)
{
    return syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

/* kernel.perf_event_paranoid; 2 (the upstream default) when unreadable. */
static int read_paranoid(void)
{
    int value = 2;
    FILE *file = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
    if (file != NULL) {
        if (fscanf(file, "%d", &value) != 1)
            value = 2;
        fclose(file);
    }
    return value;
}

/* Whether this process holds CAP_PERFMON (38) or CAP_SYS_ADMIN (21) in its effective set. */
static bool has_perf_capability(void)
{
    FILE *file = fopen("/proc/self/status", "re");
    if (file == NULL)
        return geteuid() == 0;
    char line[256];
    unsigned long long effective = 0;
    while (fgets(line, sizeof line, file) != NULL)
        if (sscanf(line, "CapEff: %llx", &effective) == 1)
            break;
    fclose(file);
    return (effective & (1ULL << 38)) != 0 || (effective & (1ULL << 21)) != 0;
}

static bool process_exists(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "re");
    if (file == NULL)
        return false;
    char buffer[512];
    size_t got = fread(buffer, 1, sizeof buffer - 1, file);
    fclose(file);
    buffer[got] = '\0';
    const char *close_paren = strrchr(buffer, ')');
    /* a zombie or dead task has no user space left to sample */
    return close_paren == NULL || close_paren[1] == '\0' ||
           (close_paren[2] != 'Z' && close_paren[2] != 'X');
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* ---- events and threads ---- */

/* Maps ring's buffer on fd, halving its size while the locked-memory limit refuses it. */
static int map_ring(struct perf_session *session, struct perf_ring *ring, int fd, char *err,
                    size_t errlen)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t pages = session->ring_pages; pages >= PERF_MIN_DATA_PAGES; pages /= 2) {
        size_t bytes = (pages + 1) * page;
        void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED) {
            struct perf_event_mmap_page *meta = map;
            ring->fd = fd;
            ring->map = map;
            ring->map_bytes = bytes;
            ring->data_size = meta->data_size ? meta->data_size : pages * page;
            ring->data = (uint8_t *)map + (meta->data_offset ? meta->data_offset : page);
            session->ring_pages = pages; /* the next rings need not try larger sizes */
            return 0;
        }
        if (errno != EPERM && errno != ENOMEM)
            break;
    }
    snprintf(err, errlen,
             "cannot map the perf ring buffer (%s): raise kernel.perf_event_mlock_kb or "
             "ulimit -l, or run with CAP_IPC_LOCK",
             strerror(errno));
    return -1;
}

/* Describes a refused perf_event_open for the operator. */
static void describe_open_error(int error, pid_t tid, char *err, size_t errlen)
{
    if (error == EACCES || error == EPERM)
        snprintf(err, errlen,
                 "perf_event_open on thread %d refused (%s): perf_event_paranoid is %d; "
                 "sampling another process needs kernel.perf_event_paranoid <= 1 (sysctl -w "
                 "kernel.perf_event_paranoid=1) or CAP_PERFMON, and ptrace permission on it",
                 (int)tid, strerror(error), read_paranoid());
    else if (error == ENOSYS || error == ENOENT || error == EOPNOTSUPP)
        snprintf(err, errlen,
                 "perf_event_open is not available (%s): the kernel lacks CONFIG_PERF_EVENTS or "
                 "a seccomp filter blocks it",
                 strerror(error));
    else if (error == EMFILE)
        snprintf(err, errlen,
                 "perf_event_open on thread %d: too many open files (one per thread and CPU): "
                 "raise ulimit -n",
                 (int)tid);
    else
        snprintf(err, errlen, "perf_event_open on thread %d failed: %s", (int)tid, strerror(error));
}

/* Opens the events of one thread on every CPU and attaches them to the CPUs' rings. Returns 0,
 * 1 when the thread has already gone (normal flow), or -1 with err set. */
static int open_thread_events(struct perf_session *session, pid_t tid, char *err, size_t errlen)
{
    for (size_t r = 0; r < session->ring_count; r++) {
        struct perf_ring *ring = &session->rings[r];
        if (ring->cpu < 0)
            continue;
        int fd = (int)perf_event_open(&session->attr, tid, ring->cpu, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0) {
            if (errno == ESRCH)
                return 1;
            if (errno == ENODEV && ring->fd < 0) { /* offline CPU */
                ring->cpu = -1;
                continue;
            }
            describe_open_error(errno, tid, err, errlen);
            return -1;
        }
        if (ring->fd < 0) {
            if (map_ring(session, ring, fd, err, errlen) != 0) {
                close(fd);
                return -1;
            }
        } else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring->fd) != 0) {
            snprintf(err, errlen, "PERF_EVENT_IOC_SET_OUTPUT for thread %d failed: %s", (int)tid,
                     strerror(errno));
            close(fd);
            return -1;
        }
        xgrow((void **)&session->events, &session->event_capacity, session->event_count + 1,
              sizeof *session->events);
        session->events[session->event_count++] =
            (struct perf_event_fd){.tid = tid, .cpu = ring->cpu, .fd = fd};
    }
    return 0;
}

/* Lists /proc/PID/task into *tids (malloc'd, the main thread first). Returns the count, or -1
 * when the process has gone. */
static long list_threads(pid_t pid, pid_t **tids)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    size_t count = 0, capacity = 0;
    *tids = NULL;
    xgrow((void **)tids, &capacity, 1, sizeof **tids);
    (*tids)[count++] = pid;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (!isdigit((unsigned char)entry->d_name[0]))
            continue;
        pid_t tid = (pid_t)strtol(entry->d_name, NULL, 10);
        if (tid == pid)
            continue;
        xgrow((void **)tids, &capacity, count + 1, sizeof **tids);
        (*tids)[count++] = tid;
    }
    closedir(dir);
    return (long)count;
}

/* Re-reads /proc/PID/task to count threads. Returns 0, or 1 when the process has gone. */
static int scan_threads(struct perf_session *session)
{
    pid_t *tids = NULL;
    long count = list_threads(session->options.pid, &tids);
    free(tids);
    if (count < 0 || !process_exists(session->options.pid)) {
        session->threads = 0;
        return 1;
    }
    session->threads = (int)count;
    return 0;
}

/* ---- kernel symbols ---- */

static int compare_kernel_symbols(const void *a, const void *b)
{
    const struct perf_kernel_symbol *left = a, *right = b;
    return left->address < right->address ? -1 : left->address > right->address;
}

/* Reads /proc/kallsyms once (text symbols only). Addresses all zero (kptr_restrict) leave the
 * table empty: kernel PCs are then shown as "[kernel]". */
static void load_kallsyms(struct perf_session *session)
{
    session->kallsyms_loaded = true;
    FILE *file = fopen("/proc/kallsyms", "re");
    if (file == NULL)
        return;
    size_t size = 0, capacity = 1 << 20;
    char *text = xmalloc(capacity);
    size_t got;
    while ((got = fread(text + size, 1, capacity - size - 1, file)) > 0) {
        size += got;
        if (capacity - size < 4096)
            text = xrealloc(text, capacity *= 2);
    }
    fclose(file);
    text[size] = '\0';
    size_t symbol_capacity = 0;
    char *line = text;
    while (line < text + size) {
        char *end = strchr(line, '\n');
        if (end == NULL)
            end = text + size;
        *end = '\0';
        char *type = strchr(line, ' ');
        char *name = type ? strchr(type + 1, ' ') : NULL;
        if (name != NULL) {
            char kind = type[1];
            name++;
            char *tab = strchr(name, '\t'); /* "\t[module]" for modules */
            if (tab != NULL)
                *tab = '\0';
            uint64_t address = strtoull(line, NULL, 16);
            if (address != 0 && (kind == 't' || kind == 'T' || kind == 'w' || kind == 'W')) {
                xgrow((void **)&session->kallsyms, &symbol_capacity, session->kallsyms_count + 1,
                      sizeof *session->kallsyms);
                session->kallsyms[session->kallsyms_count++] =
                    (struct perf_kernel_symbol){.address = address, .name = name};
            }
        }
        line = end + 1;
    }
    session->kallsyms_text = text;
    if (session->kallsyms_count > 0)
        qsort(session->kallsyms, session->kallsyms_count, sizeof *session->kallsyms,
              compare_kernel_symbols);
}

static void resolve_kernel(struct perf_session *session, uint64_t pc, struct capture_frame *out)
{
    if (!session->kallsyms_loaded)
        load_kallsyms(session);
    *out = (struct capture_frame){
        .pc = pc, .function = "[kernel]", .module = PERF_KERNEL_MODULE, .module_offset = pc};
    size_t low = 0, high = session->kallsyms_count;
    while (low < high) { /* first symbol above pc */
        size_t mid = low + (high - low) / 2;
        if (session->kallsyms[mid].address <= pc)
            low = mid + 1;
        else
            high = mid;
    }
    if (low > 0) {
        out->function = session->kallsyms[low - 1].name;
        out->module_offset = pc - session->kallsyms[low - 1].address;
    }
}

/* ---- samples ---- */

/* A bounds-checked reader of one record. */
struct record_reader {
    const uint8_t *at;  /* next byte */
    const uint8_t *end; /* one past the record */
};

static bool read_u64(struct record_reader *reader, uint64_t *out)
{
    if (reader->end - reader->at < 8)
        return false;
    memcpy(out, reader->at, 8);
    reader->at += 8;
    return true;
}

/* Symbolizes session->pcs[0..count) into session->frames and hands the stack over. */
static void deliver_stack(struct perf_session *session, pid_t tid, size_t pc_count,
                          perf_stack_fn on_stack, void *context)
{
    pid_t pid = session->options.pid;
    if (session->maps_changed) {
        char ignored[256];
        symbolizer_load_process(session->symbolizer, pid, ignored, sizeof ignored);
        session->maps_changed = false;
    }
    size_t frame_count = 0;
    for (size_t i = 0; i < pc_count && frame_count < PERF_MAX_FRAMES; i++) {
        if (session->pc_is_kernel[i]) {
            resolve_kernel(session, session->pcs[i], &session->frames[frame_count++]);
            continue;
        }
        frame_count +=
            symbolizer_resolve(session->symbolizer, pid, session->pcs[i], session->pc_is_return[i],
                               &session->frames[frame_count], PERF_MAX_FRAMES - frame_count);
    }
    struct perf_stack stack = {.tid = tid, .frame_count = frame_count, .frames = session->frames};
    if (on_stack != NULL)
        on_stack(context, &stack);
}

/* Parses one PERF_RECORD_SAMPLE, unwinds and delivers it. Returns true when it was a sample of
 * the target. */
static bool handle_sample(struct perf_session *session, const uint8_t *body, size_t size,
                          perf_stack_fn on_stack, void *context)
{
    struct record_reader reader = {.at = body, .end = body + size};
    uint64_t ip, pid_tid, time, chain_length;
    if (!read_u64(&reader, &ip) || !read_u64(&reader, &pid_tid) || !read_u64(&reader, &time) ||
        !read_u64(&reader, &chain_length))
        return false;
    if ((uint64_t)(reader.end - reader.at) / 8 < chain_length)
        return false;
    pid_t tid = (pid_t)(pid_tid >> 32);
    const uint8_t *chain = reader.at;
    reader.at += chain_length * 8;

    /* frame-pointer callchain: kernel part (innermost) then user part */
    size_t count = 0, user_start = 0;
    bool in_kernel = false, context_first = true;
    for (uint64_t i = 0; i < chain_length && count < PERF_MAX_FRAMES; i++) {
        uint64_t pc;
        memcpy(&pc, chain + i * 8, 8);
        if (pc >= (uint64_t)PERF_CONTEXT_MAX) {
            if (pc == (uint64_t)PERF_CONTEXT_KERNEL)
                in_kernel = true;
            else if (pc == (uint64_t)PERF_CONTEXT_USER)
                in_kernel = false;
            context_first = true;
            continue;
        }
        session->pcs[count] = pc;
        session->pc_is_kernel[count] = in_kernel;
        session->pc_is_return[count] = !context_first;
        context_first = false;
        count++;
    }
    if (count == 0) { /* no callchain at all: the sampled IP alone */
        session->pcs[0] = ip;
        session->pc_is_kernel[0] = false;
        session->pc_is_return[0] = false;
        count = 1;
    }
    /* the kernel part comes first: the user part starts after it */
    user_start = 0;
    while (user_start < count && session->pc_is_kernel[user_start])
        user_start++;

    /* DWARF unwind of the user part from the sampled registers and stack copy */
    uint64_t abi = 0;
    if (session->options.dwarf && read_u64(&reader, &abi) && abi != PERF_SAMPLE_REGS_ABI_NONE) {
        uint64_t sampled[PERF_USER_REGISTER_COUNT];
        bool complete = true;
        for (size_t i = 0; i < PERF_USER_REGISTER_COUNT && complete; i++)
            complete = read_u64(&reader, &sampled[i]);
        uint64_t stack_size = 0, dynamic_size = 0;
        if (complete && read_u64(&reader, &stack_size) &&
            (uint64_t)(reader.end - reader.at) >= stack_size + 8) {
            const uint8_t *stack = reader.at;
            memcpy(&dynamic_size, reader.at + stack_size, 8);
            struct perf_user_state state = {
                .tid = tid,
                .stack_start = sampled[dwarf_to_sample_register[7]],
                .stack = stack,
                .stack_size = dynamic_size < stack_size ? dynamic_size : stack_size,
            };
            for (size_t r = 0; r < PERF_DWARF_REGISTER_COUNT; r++)
                state.registers[r] = sampled[dwarf_to_sample_register[r]];
            size_t room = PERF_MAX_FRAMES - user_start;
            size_t fp_user = count - user_start;
            size_t dwarf_count =
                session->unwinder != NULL && stack_size > 0
                    ? perf_unwinder_unwind(session->unwinder, &state, session->dwarf_pcs,
                                           session->dwarf_is_return, room)
                    : 0;
            if (dwarf_count > fp_user) {
                memcpy(&session->pcs[user_start], session->dwarf_pcs, dwarf_count * 8);
                memcpy(&session->pc_is_return[user_start], session->dwarf_is_return,
                       dwarf_count * sizeof(bool));
                memset(&session->pc_is_kernel[user_start], 0, dwarf_count * sizeof(bool));
                count = user_start + dwarf_count;
            } else if (dwarf_count < fp_user) {
                session->stats.unwind_failures++;
            }
        }
    }
    (void)time;
    session->stats.samples++;
    deliver_stack(session, tid, count, on_stack, context);
    return true;
}

/* Handles one record of any type. Returns 1 for a delivered sample, else 0. */
static int handle_record(struct perf_session *session, const struct perf_event_header *header,
                         perf_stack_fn on_stack, void *context, char *err, size_t errlen)
{
    const uint8_t *body = (const uint8_t *)(header + 1);
    size_t size = header->size - sizeof *header;
    switch (header->type) {
    case PERF_RECORD_SAMPLE:
        return handle_sample(session, body, size, on_stack, context) ? 1 : 0;
    case PERF_RECORD_MMAP2:
        session->maps_changed = true;
        if (session->unwinder != NULL)
            perf_unwinder_maps_changed(session->unwinder);
        return 0;
    case PERF_RECORD_LOST:
        if (size >= 16) {
            uint64_t lost;
            memcpy(&lost, body + 8, 8);
            session->stats.lost += lost;
        }
        return 0;
    case PERF_RECORD_THROTTLE:
        session->stats.throttled++;
        return 0;
    case PERF_RECORD_FORK:
    case PERF_RECORD_EXIT:
        if (size >= 16) {
            uint32_t ids[4]; /* pid, ppid, tid, ptid */
            memcpy(ids, body, sizeof ids);
            if ((pid_t)ids[0] != session->options.pid)
                return 0;
            if (header->type == PERF_RECORD_FORK) {
                session->threads++; /* followed through the inherited event */
            } else if ((pid_t)ids[2] == session->options.pid &&
                       !process_exists(session->options.pid)) {
                session->stats.process_exited = true;
            }
        }
        (void)err;
        (void)errlen;
        return 0;
    default: /* COMM, UNTHROTTLE and the rest: nothing to do */
        return 0;
    }
}

/* Consumes every record in the ring buffer. */
static long drain_ring(struct perf_session *session, struct perf_ring *ring, perf_stack_fn on_stack,
                       void *context, char *err, size_t errlen)
{
    struct perf_event_mmap_page *meta = ring->map;
    uint64_t mask = ring->data_size - 1;
    long handled = 0;
    for (;;) {
        uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
        uint64_t tail = meta->data_tail;
        if (tail == head)
            break;
        while (tail < head) {
            uint64_t offset = tail & mask;
            struct perf_event_header header_copy;
            /* the header itself may straddle the end when records are not 8-aligned */
            for (size_t i = 0; i < sizeof header_copy; i++)
                ((uint8_t *)&header_copy)[i] = ring->data[(offset + i) & mask];
            if (header_copy.size < sizeof header_copy || header_copy.size > head - tail)
                break; /* corrupt: skip what is left */
            const struct perf_event_header *header;
            if (offset + header_copy.size <= ring->data_size) {
                header = (const struct perf_event_header *)(ring->data + offset);
            } else {
                size_t first = (size_t)(ring->data_size - offset);
                memcpy(session->record_copy, ring->data + offset, first);
                memcpy(session->record_copy + first, ring->data, header_copy.size - first);
                header = (const struct perf_event_header *)session->record_copy;
            }
            handled += handle_record(session, header, on_stack, context, err, errlen);
            tail += header_copy.size;
            __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
        }
        if (tail != head) { /* bad record: drop the rest */
            __atomic_store_n(&meta->data_tail, head, __ATOMIC_RELEASE);
            break;
        }
    }
    return handled;
}

/* ---- public API ---- */

void perf_options_default(struct perf_options *options, pid_t pid)
{
    *options = (struct perf_options){.pid = pid,
                                     .frequency_hz = PERF_DEFAULT_FREQUENCY,
                                     .duration_seconds = 5,
                                     .dwarf = true,
                                     .stack_dump_bytes = PERF_DEFAULT_STACK_DUMP,
                                     .kernel = true};
}

struct perf_session *perf_start(const struct perf_options *options, char *err, size_t errlen)
{
    if (options->pid <= 0 || !process_exists(options->pid)) {
        snprintf(err, errlen, "process %d does not exist", (int)options->pid);
        return NULL;
    }
    int paranoid = read_paranoid();
    bool privileged = has_perf_capability();
    if (!privileged && paranoid > 2) {
        snprintf(err, errlen,
                 "perf_event_paranoid is %d: sampling another process needs "
                 "kernel.perf_event_paranoid <= 1 (sysctl -w kernel.perf_event_paranoid=1) or "
                 "CAP_PERFMON",
                 paranoid);
        return NULL;
    }
    struct perf_session *session = xcalloc(1, sizeof *session);
    session->options = *options;
    if (session->options.frequency_hz == 0)
        session->options.frequency_hz = PERF_DEFAULT_FREQUENCY;
    if (session->options.stack_dump_bytes == 0)
        session->options.stack_dump_bytes = PERF_DEFAULT_STACK_DUMP;
    if (session->options.stack_dump_bytes > PERF_MAX_STACK_DUMP)
        session->options.stack_dump_bytes = PERF_MAX_STACK_DUMP;
    session->options.stack_dump_bytes &= ~7u; /* the kernel wants a multiple of 8 */
    session->stats.kernel_frames = options->kernel && (privileged || paranoid <= 1);
    clock_gettime(CLOCK_MONOTONIC, &session->started);

    struct perf_event_attr *attr = &session->attr;
    attr->size = sizeof *attr;
    attr->type = PERF_TYPE_SOFTWARE;
    attr->config = PERF_COUNT_SW_CPU_CLOCK;
    attr->freq = 1;
    attr->sample_freq = session->options.frequency_hz;
    attr->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN;
    if (session->options.dwarf) {
        attr->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
        attr->sample_regs_user = PERF_USER_REGISTER_MASK;
        attr->sample_stack_user = session->options.stack_dump_bytes;
    }
    attr->exclude_kernel = !session->stats.kernel_frames;
    attr->exclude_hv = 1;
    attr->disabled = 1;
    attr->inherit = 1; /* threads created later are sampled through inherited events */
    attr->mmap2 = 1;
    attr->comm = 1;
    attr->task = 1;
    attr->sample_id_all = 1;
    attr->watermark = 1;
    attr->wakeup_watermark = 0; /* set once the buffer size is known */

    session->record_copy = xmalloc(PERF_RECORD_MAX);
    session->symbolizer = symbolizer_new();
    if (symbolizer_load_process(session->symbolizer, options->pid, err, errlen) != 0)
        goto free_session;
    if (session->options.dwarf) {
        session->unwinder = perf_unwinder_new(options->pid, err, errlen);
        if (session->unwinder == NULL)
            goto free_session;
    }
    /* one ring per possible CPU; smaller rings on large machines */
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    session->ring_count = cpus > 0 ? (size_t)cpus : 1;
    session->rings = xcalloc(session->ring_count, sizeof *session->rings);
    session->waiters = xcalloc(session->ring_count, sizeof *session->waiters);
    for (size_t r = 0; r < session->ring_count; r++)
        session->rings[r] = (struct perf_ring){.cpu = (int)r, .fd = -1};
    session->ring_pages = session->options.dwarf ? PERF_DATA_PAGES_DWARF : PERF_DATA_PAGES_FP;
    if (session->ring_count > 8)
        session->ring_pages /= 4;
    /* watermark: wake a poller when a quarter of a ring is full (the kernel clamps it) */
    attr->wakeup_watermark = (uint32_t)(session->ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 4);

    pid_t *tids = NULL;
    long thread_count = list_threads(options->pid, &tids);
    if (thread_count < 0) {
        snprintf(err, errlen, "process %d does not exist", (int)options->pid);
        goto free_session;
    }
    for (long t = 0; t < thread_count; t++) {
        int rc = open_thread_events(session, tids[t], err, errlen);
        if (rc < 0 || (rc > 0 && t == 0)) {
            if (rc > 0)
                snprintf(err, errlen, "process %d does not exist", (int)options->pid);
            free(tids);
            goto free_session;
        }
    }
    free(tids);
    /* enable only once every thread is attached: no sample arrives half set up */
    for (size_t e = 0; e < session->event_count; e++)
        ioctl(session->events[e].fd, PERF_EVENT_IOC_ENABLE, 0);
    if (scan_threads(session) > 0)
        session->stats.process_exited = true;
    return session;

free_session:
    perf_close(session);
    return NULL;
}

/* Whether any ring holds unread records. */
static bool rings_have_data(const struct perf_session *session)
{
    for (size_t r = 0; r < session->ring_count; r++) {
        const struct perf_ring *ring = &session->rings[r];
        if (ring->map == NULL)
            continue;
        const struct perf_event_mmap_page *meta = ring->map;
        if (__atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE) != meta->data_tail)
            return true;
    }
    return false;
}

long perf_poll(struct perf_session *session, int timeout_ms, perf_stack_fn on_stack, void *context,
               char *err, size_t errlen)
{
    if (!session->stats.process_exited && scan_threads(session) > 0)
        session->stats.process_exited = true;
    if (timeout_ms > 0 && !session->stats.process_exited && !rings_have_data(session)) {
        nfds_t count = 0;
        for (size_t r = 0; r < session->ring_count; r++)
            if (session->rings[r].map != NULL)
                session->waiters[count++] =
                    (struct pollfd){.fd = session->rings[r].fd, .events = POLLIN};
        int ready = poll(session->waiters, count, timeout_ms);
        bool readable = false;
        for (nfds_t w = 0; w < count && ready > 0; w++)
            readable = readable || (session->waiters[w].revents & POLLIN) != 0;
        if (ready > 0 && !readable) {
            /* an owner's thread exited: its fd reports HUP at once; wait without it */
            struct timespec pause = {.tv_sec = timeout_ms / 1000,
                                     .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
    long handled = 0;
    for (size_t r = 0; r < session->ring_count; r++)
        if (session->rings[r].map != NULL)
            handled += drain_ring(session, &session->rings[r], on_stack, context, err, errlen);
    return handled;
}
void perf_get_stats(const struct perf_session *session, struct perf_stats *out)
{
    *out = session->stats;
    out->elapsed_seconds = seconds_since(&session->started);
    out->threads = session->threads;
}

void perf_close(struct perf_session *session)
{
    if (session == NULL)
        return;
    for (size_t r = 0; r < session->ring_count; r++)
        if (session->rings[r].map != NULL)
            munmap(session->rings[r].map, session->rings[r].map_bytes);
    for (size_t e = 0; e < session->event_count; e++)
        close(session->events[e].fd);
    free(session->events);
    free(session->rings);
    free(session->waiters);
    perf_unwinder_free(session->unwinder);
    if (session->symbolizer != NULL)
        symbolizer_free(session->symbolizer);
    free(session->kallsyms);
    free(session->kallsyms_text);
    free(session->record_copy);
    free(session);
}
