/*
 * capture: one snapshot of every thread's stack (see capture.h for the contract).
 *
 * Owns: the capture worker thread, the thread list of the result, the per-thread /proc
 * facts (comm, state, wchan, syscall, CPU ticks), the stop-window statistics, and the order
 * of the steps: read /proc (cheap, nothing stopped) -> stop/unwind/resume (attach.h,
 * unwind.h) -> re-read the task list -> symbolize (symbols.h) with every thread running.
 * Invariants:
 *   - every ptrace call happens on a short-lived worker thread (the tracer). When it exits,
 *     the kernel detaches any tracee it still holds, so a thread that did not stop within the
 *     deadline (D state) is released even if it stops later, and stacktop never leaves a
 *     thread of the target stopped, whatever the console does next;
 *   - a stop window runs from the stop (a bound: the last moment the thread was known not to
 *     be stopped yet, or, for a realtime tracer woken by the stop, its wake-up) to the return
 *     of PTRACE_DETACH, and nothing slow (symbolization, /proc reads, allocation of results;
 *     the copies' memory is mapped and populated before the first stop) happens inside one;
 *     in the default mode not even the unwind: the window holds GETREGSET and one
 *     process_vm_readv of the stack top, and the walks run on the copies after the tracer has
 *     exited (consistent mode walks while every thread is stopped, as the memory is then
 *     consistent anyway);
 *   - per-thread failures (exited, did not stop, cannot unwind) are recorded in the thread's
 *     error and never fail the capture; only whole-process problems return -1.
 */
#include "capture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "proc_maps.h"
#include "procfs.h"
#include "symbols.h"
#include "unwind.h"
#include "xalloc.h"

#define CAPTURE_DEFAULT_DEADLINE_MS 10 /* options->stop_deadline_ms when 0 or negative */
#define CAPTURE_LATE_STOP_WAIT_MS   20 /* extra wait, at the end, for threads that stop late */
#define CAPTURE_FRAMES_PER_PC       16 /* most frames (inline chain) taken for one PC */
#define CAPTURE_WARM_WALKS          16 /* distinct user PCs walked before the first stop */
#define CAPTURE_IN_FLIGHT           4  /* threads interrupted at once in the default mode */
#define CAPTURE_DRAIN_MAX           16 /* stop reports taken at once before handling them */

/* Names of the unwinders, indexed by enum capture_unwinder. */
static const char *const unwinder_names[] = {
    [CAPTURE_UNWINDER_DEFAULT] = "default",
    [CAPTURE_UNWINDER_LIBUNWIND] = "libunwind",
    [CAPTURE_UNWINDER_LIBDW] = "libdw",
};

/* Where a thread blocked in a system call will return to user space (/proc/TID/syscall). */
struct syscall_hint {
    uint64_t sp; /* user stack pointer; 0 when unknown (running, or not in a system call) */
    uint64_t pc; /* user program counter; 0 when unknown */
};

/* Where the default mode keeps the stack copies between the stops and the walks: memory
 * taken in large chunks, so that keeping a copy costs no allocator work per thread. */
struct copy_arena {
    unsigned char **chunks; /* every chunk, the current one last */
    size_t chunk_count;     /* entries in chunks */
    size_t chunk_capacity;  /* allocated entries in chunks */
    size_t used;            /* bytes handed out from the current chunk */
    size_t size;            /* size of the current chunk */
    size_t *sizes;          /* size of every chunk (to unmap it); 0: from xmalloc */
    size_t sizes_capacity;  /* allocated entries in sizes */
};

/* What the worker thread needs and reports. */
struct capture_job {
    pid_t pid;                             /* target process */
    const struct capture_options *options; /* how (defaults applied) */
    struct capture_result *out;            /* threads to fill (listed before the start) */
    const struct syscall_hint *hints;      /* per thread of out: where it blocks */
    int64_t deadline_ns;                   /* stop deadline per thread, nanoseconds */
    int fatal_errno;                       /* errno of a whole-capture failure, 0 if none */
    pid_t fatal_tid;                       /* the thread the fatal error came from */
    char fatal_message[256];               /* message of a whole-capture failure */
    size_t captured;                       /* threads whose stack was taken */
    bool unwind_while_stopped;             /* walk each stack before the detach (the former
                                              default; STACKTOP_UNWIND_WHILE_STOPPED=1) */
    bool realtime;                         /* the tracer ran SCHED_FIFO during the stops */
    const struct proc_maps *maps;          /* the process's memory map (NULL: unreadable) */
    struct copy_arena arena;               /* the default mode's stack copies */
    bool seized_any;                       /* a PTRACE_SEIZE succeeded: a later EPERM is that
                                              thread's, not a missing permission */
    struct unwind_session *session;        /* left by the worker for the walks of the copies,
                                              which run once it has exited (NULL: none) */
    struct held_thread *held;              /* per thread of out, left with session */
    bool late_seized;                      /* threads that never stopped are still seized */
};

/* A thread held by the worker between its seize and its detach. */
struct held_thread {
    struct capture_thread *thread; /* the result entry */
    struct attach_stop stop;       /* how it stopped (signal to hand back) */
    int64_t interrupted_ns;        /* when PTRACE_INTERRUPT was issued */
    int64_t window_start_ns;       /* the latest moment it was known not to be stopped yet:
                                      its stop window is measured from here */
    int64_t seen_ns;               /* when the tracer learned of its stop */
    struct attach_registers regs;  /* its registers at the stop (with copy) */
    struct memory_stack_copy copy; /* its stack top at the stop, to walk after the stops;
                                      bytes NULL when none */
    bool seized;                   /* PTRACE_SEIZE succeeded */
    bool stopped;                  /* it is in a ptrace-stop now */
    bool late;                     /* timed out: waited for again at the end */
};

/* ---- /proc facts (read without stopping anything) ---- */

/* Reads a whole small file, path relative to directory dir (or AT_FDCWD), into buf
 * (NUL-terminated). Returns its length or -1 (errno). */
static ssize_t read_small_file_at(int dir, const char *path, char *buf, size_t size)
{
    int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t used = 0;
    while (used + 1 < size) {
        ssize_t got = read(fd, buf + used, size - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (got == 0)
            break;
        used += (size_t)got;
        /* the files read here are single-record /proc files (seq_file single_open): the first
         * read returns all of it when it fits, so a short read is the end (one read, not two) */
        if (used + 1 < size)
            break;
    }
    close(fd);
    buf[used] = '\0';
    return (ssize_t)used;
}

/* Reads a whole small file into buf (NUL-terminated). Returns its length or -1 (errno). */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
    return read_small_file_at(AT_FDCWD, path, buf, size);
}

/* /proc/PID/task, opened for the *at() calls of read_thread_facts; -1 when gone. */
static int open_task_dir(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* The number after "Name:\t" in /proc/PID/status (e.g. TracerPid, Tgid); -1 if absent. */
static long status_field(pid_t pid, const char *name)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small_file(path, buf, sizeof buf) < 0)
        return -1;
    size_t name_len = strlen(name);
    for (const char *line = buf; line != NULL && *line != '\0';) {
        if (strncmp(line, name, name_len) == 0 && line[name_len] == ':')
            return strtol(line + name_len + 1, NULL, 10);
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return -1;
}

/* Parses /proc/TID/syscall: "NR a0 .. a5 sp pc", "-1 sp pc" or "running". */
static void parse_syscall(const char *text, struct capture_thread *thread,
                          struct syscall_hint *hint)
{
    thread->syscall = -2;
    hint->sp = hint->pc = 0;
    if (strncmp(text, "running", 7) == 0) {
        thread->syscall = -1;
        return;
    }
    char *end;
    errno = 0;
    long number = strtol(text, &end, 10);
    if (end == text || errno != 0)
        return;
    thread->syscall = number;
    const char *cursor = end;
    uint64_t values[8];
    int count = 0;
    for (; count < 8; count++) {
        unsigned long long value = strtoull(cursor, &end, 16);
        if (end == cursor)
            break;
        values[count] = value;
        cursor = end;
    }
    if (number >= 0 && count == 8) {
        memcpy(thread->syscall_args, values, sizeof thread->syscall_args);
        hint->sp = values[6];
        hint->pc = values[7];
    }
}

/* The thread's system call from its registers at the stop (see read_thread_facts). */
static void syscall_from_registers(struct capture_thread *thread,
                                   const struct attach_registers *regs)
{
    thread->syscall = regs->syscall_nr >= 0 ? (long)regs->syscall_nr : -1;
    memcpy(thread->syscall_args, regs->syscall_args, sizeof thread->syscall_args);
}

/* Which optional facts read_thread_facts reads (name, state and CPU time always). */
enum thread_fact {
    FACT_WCHAN = 1 << 0,   /* the kernel wait channel (/proc/TID/wchan) */
    FACT_SYSCALL = 1 << 1, /* the system call (/proc/TID/syscall) */
};

/* Fills name, state, cpu_ticks and, as facts (enum thread_fact) asks, wchan and the system call
 * (and hint, when not NULL) of one thread from /proc (task_dir: open_task_dir). Returns -1 when
 * the thread is gone. The default mode takes the system call from the registers at the stop instead
 * (syscall_from_registers): the same values the kernel would print in /proc/TID/syscall, at the
 * instant of the stack, for one file read less per thread (~4 us each, a visible share with 1000
 * threads). */
static int read_thread_facts(int task_dir, struct capture_thread *thread, struct syscall_hint *hint,
                             unsigned facts)
{
    struct syscall_hint unused;
    char path[48], buf[1024];
    struct procfs_stat stat;
    thread->syscall = -2;
    /* "TID/stat" relative to /proc/PID/task: a short path walk, and no extra open per thread
     * (measured faster than full paths, and than an O_PATH directory per thread) */
    int prefix = snprintf(path, sizeof path, "%d/", (int)thread->tid);
    size_t room = sizeof path - (size_t)prefix;
    snprintf(path + prefix, room, "stat");
    ssize_t len = read_small_file_at(task_dir, path, buf, sizeof buf);
    if (len < 0 || procfs_parse_stat(buf, (size_t)len, &stat) != 0)
        return -1;
    snprintf(thread->name, sizeof thread->name, "%s", stat.comm);
    thread->state = stat.state;
    thread->cpu_ticks = stat.utime_ticks + stat.stime_ticks;
    thread->is_kernel_thread = (stat.flags & PROCFS_PF_KTHREAD) != 0;

    if (facts & FACT_WCHAN) {
        snprintf(path + prefix, room, "wchan");
        len = read_small_file_at(task_dir, path, buf, sizeof buf);
        if (len >= 0)
            procfs_parse_wchan(buf, (size_t)len, thread->wchan, sizeof thread->wchan);
    }

    snprintf(path + prefix, room, "syscall");
    if ((facts & FACT_SYSCALL) && read_small_file_at(task_dir, path, buf, sizeof buf) >= 0)
        parse_syscall(buf, thread, hint != NULL ? hint : &unused);
    return 0;
}

static int compare_tids(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

static int compare_threads(const void *a, const void *b)
{
    return compare_tids(&((const struct capture_thread *)a)->tid,
                        &((const struct capture_thread *)b)->tid);
}

/* Lists the thread ids of pid, sorted. Returns the count (0 when the process is gone). */
static size_t list_tids(pid_t pid, pid_t **tids_out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    *tids_out = NULL;
    DIR *dir = opendir(path);
    if (dir == NULL)
        return 0;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long tid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || tid <= 0)
            continue;
        xgrow((void **)tids_out, &capacity, count + 1, sizeof **tids_out);
        (*tids_out)[count++] = (pid_t)tid;
    }
    closedir(dir);
    qsort(*tids_out, count, sizeof **tids_out, compare_tids);
    return count;
}

/* ---- messages for whole-process failures ---- */

/* Explains EPERM on PTRACE_SEIZE: what is missing and how to get it. */
static void explain_permission(pid_t pid, char *err, size_t errlen)
{
    char buf[64], self_ns[64] = "", target_ns[64] = "";
    char hint[200] = "";
    ssize_t len = read_small_file("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof buf);
    int scope = len > 0 ? atoi(buf) : -1;
    if (scope == 1)
        snprintf(hint, sizeof hint,
                 " (kernel.yama.ptrace_scope = 1 allows only descendants; set it to 0 or run "
                 "as root)");
    else if (scope == 2)
        snprintf(hint, sizeof hint,
                 " (kernel.yama.ptrace_scope = 2 allows only CAP_SYS_PTRACE; run as root)");
    else if (scope == 3)
        snprintf(hint, sizeof hint,
                 " (kernel.yama.ptrace_scope = 3 forbids attaching until the next reboot)");
    else
        snprintf(hint, sizeof hint, " or the process's own uid (run as root or as its owner)");

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
    ssize_t self_len = readlink("/proc/self/ns/pid", self_ns, sizeof self_ns - 1);
    ssize_t target_len = readlink(path, target_ns, sizeof target_ns - 1);
    bool other_namespace = false;
    if (self_len > 0 && target_len > 0) {
        self_ns[self_len] = '\0';
        target_ns[target_len] = '\0';
        other_namespace = strcmp(self_ns, target_ns) != 0;
    }
    snprintf(err, errlen, "permission denied: attaching to process %d needs CAP_SYS_PTRACE%s%s",
             (int)pid, hint,
             other_namespace ? "; it is in another PID namespace (a container): run stacktop "
                               "inside it or as root on the host"
                             : "");
}

/* Checks that pid is a user-space process that we may trace. 0, or -1 with err. */
static int check_process(pid_t pid, struct capture_result *out, char *err, size_t errlen)
{
    char path[64], buf[1024];
    struct procfs_stat stat;
    if (pid <= 0) {
        snprintf(err, errlen, "process %d does not exist", (int)pid);
        return -1;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    ssize_t len = read_small_file(path, buf, sizeof buf);
    if (len < 0 || procfs_parse_stat(buf, (size_t)len, &stat) != 0) {
        snprintf(err, errlen, "process %d does not exist", (int)pid);
        return -1;
    }
    snprintf(out->comm, sizeof out->comm, "%s", stat.comm);
    if ((stat.flags & PROCFS_PF_KTHREAD) != 0) {
        snprintf(err, errlen, "process %d is a kernel thread: it has no user stack", (int)pid);
        return -1;
    }
    if (stat.state == 'Z' || stat.state == 'X') {
        snprintf(err, errlen, "process %d has exited (zombie): it has no stack left", (int)pid);
        return -1;
    }
    long tgid = status_field(pid, "Tgid");
    if (tgid > 0 && tgid != pid) {
        snprintf(err, errlen, "%d is a thread of process %ld: capture process %ld", (int)pid, tgid,
                 tgid);
        return -1;
    }
    if (pid == getpid()) {
        snprintf(err, errlen, "process %d is stacktop itself: it cannot stop its own threads",
                 (int)pid);
        return -1;
    }
    long tracer = status_field(pid, "TracerPid");
    if (tracer > 0) {
        char tracer_comm[64] = "?";
        snprintf(path, sizeof path, "/proc/%ld/comm", tracer);
        if (read_small_file(path, tracer_comm, sizeof tracer_comm) > 0)
            tracer_comm[strcspn(tracer_comm, "\n")] = '\0';
        snprintf(err, errlen,
                 "process %d is already traced by PID %ld (%s): a process has one tracer; "
                 "detach that debugger first",
                 (int)pid, tracer, tracer_comm);
        return -1;
    }
    /* /proc/PID/maps needs the same ptrace access check as attaching (PTRACE_MODE_READ):
     * when it is refused, say what is missing before the unwinders fail on it */
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    int maps = open(path, O_RDONLY | O_CLOEXEC);
    if (maps < 0 && (errno == EACCES || errno == EPERM)) {
        explain_permission(pid, err, errlen);
        return -1;
    }
    if (maps >= 0)
        close(maps);
    return 0;
}

/* ---- the stop windows (worker thread only) ---- */

/* Records a thread-level error. */
static void thread_error(struct capture_thread *thread, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void thread_error(struct capture_thread *thread, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(thread->error, sizeof thread->error, fmt, args);
    va_end(args);
}

/* Current state letter of a thread ('?' when unreadable). */
static char current_state(pid_t pid, pid_t tid)
{
    struct capture_thread probe;
    memset(&probe, 0, sizeof probe);
    probe.tid = tid;
    int task_dir = open_task_dir(pid);
    int read = read_thread_facts(task_dir, &probe, NULL, 0);
    if (task_dir >= 0)
        close(task_dir);
    if (read != 0)
        return '?';
    return probe.state;
}

/* Is the thread exiting or gone (state Z, X, or unreadable)? */
static bool exiting(pid_t pid, pid_t tid)
{
    char state = current_state(pid, tid);
    return state == 'Z' || state == 'X' || state == '?';
}

/* Seizes and interrupts one thread. 0, or -1 with the thread's error set (or the job's fatal
 * error for EPERM on the first thread). */
static int stop_begin(struct capture_job *job, struct held_thread *held)
{
    struct capture_thread *thread = held->thread;
    if (attach_seize(thread->tid) != 0) {
        int saved = errno;
        if (saved == ESRCH) {
            thread_error(thread, "exited");
        } else if (saved == EPERM && exiting(job->pid, thread->tid)) {
            thread_error(thread, "exited"); /* an exiting thread refuses a seize with EPERM */
        } else if (saved == EPERM && !job->seized_any && job->fatal_errno == 0) {
            job->fatal_errno = EPERM;
            job->fatal_tid = thread->tid;
            thread_error(thread, "permission denied");
        } else {
            thread_error(thread, "cannot attach: %s", strerror(saved));
        }
        return -1;
    }
    held->seized = true;
    job->seized_any = true;
    held->interrupted_ns = held->window_start_ns = attach_now_ns();
    if (attach_interrupt(thread->tid) != 0) {
        /* seized but gone already: collect its exit so that it is not left to us */
        struct attach_stop ignored;
        attach_wait_stop(thread->tid, attach_now_ns() + 1000000, &ignored);
        held->seized = false;
        thread_error(thread, "exited");
        return -1;
    }
    return 0;
}

/* Waits for a seized thread to stop. 0 when stopped; -1 with the thread's error set. */
static int stop_wait(struct capture_job *job, struct held_thread *held)
{
    struct capture_thread *thread = held->thread;
    switch (attach_wait_stop(thread->tid, held->interrupted_ns + job->deadline_ns, &held->stop)) {
    case ATTACH_WAIT_STOPPED:
        held->stopped = true;
        held->seen_ns = attach_now_ns();
        return 0;
    case ATTACH_WAIT_EXITED:
        held->seized = false;
        thread_error(thread, "exited");
        return -1;
    case ATTACH_WAIT_TIMEOUT:
        break;
    }
    held->late = true;
    thread_error(thread, "did not stop within %d ms (state %c)", job->options->stop_deadline_ms,
                 current_state(job->pid, thread->tid));
    return -1;
}

/* Takes the registers and unwinds a stopped thread (live memory: it must stay stopped). */
static void stop_unwind(struct unwind_session *session, struct held_thread *held,
                        bool others_stopped)
{
    struct capture_thread *thread = held->thread;
    struct attach_registers regs;
    if (attach_get_registers(thread->tid, &regs) != 0) {
        thread_error(thread, "cannot read its registers: %s", strerror(errno));
        return;
    }
    if (thread->syscall == -2)
        syscall_from_registers(thread, &regs);
    uint64_t pcs[CAPTURE_MAX_FRAMES];
    bool is_return[CAPTURE_MAX_FRAMES];
    struct unwind_output output = {
        .pcs = pcs,
        .pc_is_return = is_return,
        .capacity = CAPTURE_MAX_FRAMES,
        .count = 0,
    };
    char err[160];
    if (unwind_thread(session, thread->tid, &regs, others_stopped, &output, err, sizeof err) != 0)
        snprintf(thread->error, sizeof thread->error, "%s", err);
    capture_thread_set_pcs(thread, pcs, is_return, output.count);
}

/* Takes what the unwind needs while the thread is stopped: its registers and the top of its
 * stack (one process_vm_readv). Returns 0; -1 when the stack could not be copied (the caller
 * unwinds live instead, still stopped) or the registers not read (error set). */
static int stop_copy(struct unwind_session *session, struct held_thread *held,
                     struct attach_registers *regs)
{
    if (attach_get_registers(held->thread->tid, regs) != 0) {
        thread_error(held->thread, "cannot read its registers: %s", strerror(errno));
        return -1;
    }
    return unwind_copy_stack(session, regs);
}

#define COPY_ARENA_GROW (256u * 1024) /* bytes of a chunk added when the reserve runs out */
#define COPY_ARENA_GUESS                                                                           \
    (2560u) /* bytes reserved per thread before the stops: a thread                                \
               blocked in libc needs ~2 KB of stack copied */

/* Maps size bytes populated at once: a page fault every 4 KB while copying (~2 us each in a
 * VM) costs more than populating (~1.2 us a page here). No huge pages: a fresh 2 MB page took
 * 6-30 ms now and then on this VM (the host backing it), in the middle of a stop. NULL when
 * out of memory. */
static unsigned char *arena_map(size_t size)
{
    unsigned char *chunk =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return chunk == MAP_FAILED ? NULL : chunk;
}

/* Adds a chunk of at least length bytes to the arena and makes it the current one. */
static void arena_grow(struct copy_arena *arena, size_t length)
{
    size_t size = length > COPY_ARENA_GROW ? length : COPY_ARENA_GROW;
    unsigned char *chunk = arena_map(size);
    bool mapped = chunk != NULL;
    if (!mapped)
        chunk = xmalloc(size); /* xmalloc reports running out of memory */
    xgrow((void **)&arena->chunks, &arena->chunk_capacity, arena->chunk_count + 1,
          sizeof *arena->chunks);
    xgrow((void **)&arena->sizes, &arena->sizes_capacity, arena->chunk_count + 1,
          sizeof *arena->sizes);
    arena->sizes[arena->chunk_count] = mapped ? size : 0;
    arena->chunks[arena->chunk_count++] = chunk;
    arena->size = size;
    arena->used = 0;
}

/* Hands out length bytes of the arena (unwind_take_stack_copy's allocator). */
static unsigned char *arena_alloc(void *context, size_t length)
{
    struct copy_arena *arena = context;
    if (arena->chunk_count == 0 || arena->size - arena->used < length)
        arena_grow(arena, length); /* inside the stop loop: only when the reserve ran out */
    unsigned char *bytes = arena->chunks[arena->chunk_count - 1] + arena->used;
    arena->used += length;
    return bytes;
}

/* Unmaps every chunk of the arena (the copies in it are gone). */
static void arena_free(struct copy_arena *arena)
{
    for (size_t i = 0; i < arena->chunk_count; i++) {
        if (arena->sizes[i] == 0)
            free(arena->chunks[i]);
        else
            munmap(arena->chunks[i], arena->sizes[i]);
    }
    free(arena->chunks);
    free(arena->sizes);
    memset(arena, 0, sizeof *arena);
}

/* Unwinds a resumed thread from what stop_copy took. */
static void unwind_copied(struct unwind_session *session, struct held_thread *held)
{
    struct capture_thread *thread = held->thread;
    uint64_t pcs[CAPTURE_MAX_FRAMES];
    bool is_return[CAPTURE_MAX_FRAMES];
    struct unwind_output output = {
        .pcs = pcs,
        .pc_is_return = is_return,
        .capacity = CAPTURE_MAX_FRAMES,
        .count = 0,
    };
    char err[160];
    if (unwind_thread_from_copy(session, thread->tid, &held->regs, &held->copy, &output, err,
                                sizeof err) != 0)
        snprintf(thread->error, sizeof thread->error, "%s", err);
    capture_thread_set_pcs(thread, pcs, is_return, output.count);
    held->copy.bytes = NULL;
}

/* Detaches a stopped thread and closes its stop window. */
static void stop_end(struct held_thread *held)
{
    struct capture_thread *thread = held->thread;
    if (attach_detach(thread->tid, &held->stop) != 0 && thread->error[0] == '\0')
        thread_error(thread, "exited");
    thread->stop_ns = attach_now_ns() - held->window_start_ns;
    thread->to_stop_ns = held->seen_ns - held->interrupted_ns;
    held->stopped = false;
    held->seized = false;
}

/* After the stops: the system call of every thread whose registers were not taken (it did
 * not stop, or the capture walked it while stopped without a copy), from /proc. */
static void read_missing_syscalls(struct capture_result *out)
{
    for (size_t i = 0; i < out->thread_count; i++) {
        struct capture_thread *thread = &out->threads[i];
        if (thread->syscall != -2)
            continue;
        char path[96], buf[512];
        struct syscall_hint unused;
        snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)out->pid, (int)thread->tid);
        if (read_small_file(path, buf, sizeof buf) >= 0)
            parse_syscall(buf, thread, &unused);
    }
}

/* Consistent mode: threads that missed the deadline may stop a little later: release them
 * promptly (they were not stopped with the others, so their stacks are not taken). Those
 * still running when this gives up are detached by the kernel when the worker exits. */
static void release_late_threads(struct held_thread *held, size_t count)
{
    int64_t give_up = attach_now_ns() + (int64_t)CAPTURE_LATE_STOP_WAIT_MS * 1000000;
    for (size_t i = 0; i < count; i++) {
        if (!held[i].late || !held[i].seized)
            continue;
        if (attach_wait_stop(held[i].thread->tid, give_up, &held[i].stop) == ATTACH_WAIT_STOPPED) {
            held[i].seen_ns = attach_now_ns();
            stop_end(&held[i]);
        }
        held[i].seized = false;
        held[i].late = false;
    }
}

/* Is this thread worth stopping? (zombies and dead threads have no stack) */
static bool thread_is_capturable(const struct capture_thread *thread)
{
    return thread->error[0] == '\0' && thread->state != 'Z' && thread->state != 'X';
}

/* The threads of the default mode that are interrupted and not yet stopped. */
struct flight {
    struct held_thread *held[CAPTURE_IN_FLIGHT]; /* interrupted, on their way to a stop */
    size_t count;                                /* entries in held */
    size_t late;                                 /* threads past their deadline, still seized */
    int64_t clear_ns; /* the last moment no seized thread was stopped unseen: every stop
                         reported after it happened after it */
};

/* The held thread of a tid (the result's threads are sorted by tid). */
static struct held_thread *held_of(struct capture_job *job, struct held_thread *held, pid_t tid)
{
    struct capture_thread key = {.tid = tid};
    const struct capture_thread *found =
        bsearch(&key, job->out->threads, job->out->thread_count, sizeof key, compare_threads);
    return found != NULL ? &held[found - job->out->threads] : NULL;
}

/* Takes a thread out of the flight (it stopped, exited or missed its deadline). */
static void flight_remove(struct flight *flight, const struct held_thread *held)
{
    for (size_t i = 0; i < flight->count; i++) {
        if (flight->held[i] == held) {
            flight->held[i] = flight->held[--flight->count];
            return;
        }
    }
}

/* The earliest deadline of the threads in flight; or, with none in flight, when the wait
 * for late threads ends. */
static int64_t flight_deadline(const struct capture_job *job, const struct flight *flight,
                               int64_t late_give_up_ns)
{
    int64_t deadline = late_give_up_ns;
    for (size_t i = 0; i < flight->count; i++) {
        int64_t own = flight->held[i]->interrupted_ns + job->deadline_ns;
        if (i == 0 || own < deadline)
            deadline = own;
    }
    return deadline;
}

/* Threads in flight past their deadline become late: still seized (a stop that comes later
 * is taken like any other), but no longer holding a place in the flight. */
static void flight_expire(struct capture_job *job, struct flight *flight)
{
    int64_t now = attach_now_ns();
    for (size_t i = 0; i < flight->count;) {
        struct held_thread *held = flight->held[i];
        if (now - held->interrupted_ns < job->deadline_ns) {
            i++;
            continue;
        }
        held->late = true;
        thread_error(held->thread, "did not stop within %d ms (state %c)",
                     job->options->stop_deadline_ms, current_state(job->pid, held->thread->tid));
        flight->late++;
        flight_remove(flight, held);
    }
}

/* One reported stop or exit of a seized thread. A stopped one is copied (registers and stack
 * top) and detached at once, its copy kept to be walked after all the stops; or, when its
 * stack cannot be copied, walked while stopped. woken_by_stop: the report woke the realtime
 * tracer from a wait that had found nothing pending. */
static void take_stopped(struct capture_job *job, struct unwind_session *session,
                         struct flight *flight, struct held_thread *held,
                         enum attach_wait_result result, const struct attach_stop *stop,
                         bool woken_by_stop, int64_t pending_since_ns)
{
    struct capture_thread *thread = held->thread;
    if (held->late) {
        held->late = false;
        flight->late--;
        thread->error[0] = '\0'; /* late, but here now */
    } else {
        flight_remove(flight, held);
    }
    if (result == ATTACH_WAIT_EXITED) {
        held->seized = false;
        thread_error(thread, "exited");
        return;
    }
    held->stopped = true;
    held->stop = *stop;
    held->seen_ns = attach_now_ns();
    if (woken_by_stop) {
        /* a realtime tracer asleep in waitpid is woken by the stop itself and preempts any
         * ordinary thread: the stop happened a wake-up latency (microseconds) ago */
        held->window_start_ns = held->seen_ns;
    } else if (pending_since_ns > held->window_start_ns) {
        /* reported at once: it stopped after the last moment no stop was pending (and after
         * its interrupt), and may have waited for the tracer since */
        held->window_start_ns = pending_since_ns;
    }
    if (!job->unwind_while_stopped && stop_copy(session, held, &held->regs) == 0) {
        stop_end(held);
        unwind_take_stack_copy(session, arena_alloc, &job->arena, &held->copy);
        syscall_from_registers(thread, &held->regs);
        return;
    }
    if (thread->error[0] == '\0')
        stop_unwind(session, held, false); /* no copy: walk it while stopped */
    stop_end(held);
    if (thread->pc_count > 0)
        job->captured++;
}

/* One report of waitpid about a seized thread. */
struct stop_report {
    pid_t tid;                      /* the thread; 0 none, -1 none left to wait for */
    enum attach_wait_result result; /* stopped or exited */
    struct attach_stop stop;        /* how it stopped */
};

/* Hands one report to take_stopped; a stop of a thread we do not hold (a tid taken over by an
 * execve) is let go at once, its signal handed back. */
static void handle_report(struct capture_job *job, struct unwind_session *session,
                          struct flight *flight, struct held_thread *held,
                          const struct stop_report *report, bool woken_by_stop,
                          int64_t pending_since_ns)
{
    struct held_thread *reported = held_of(job, held, report->tid);
    if (reported != NULL && reported->seized)
        take_stopped(job, session, flight, reported, report->result, &report->stop, woken_by_stop,
                     pending_since_ns);
    else if (report->result == ATTACH_WAIT_STOPPED)
        attach_detach(report->tid, &report->stop);
}

/* The default mode: "stop one thread, copy what is needed, resume it" (DESIGN.md), with up
 * to CAPTURE_IN_FLIGHT threads interrupted ahead. A thread woken by PTRACE_INTERRUPT needs a
 * CPU to reach its stop; on a busy machine the scheduler may queue it behind a CPU-bound
 * thread for a whole tick (measured: 3-4 ms, for a third of the threads in some runs), and
 * interrupting the next threads meanwhile keeps those waits from adding up. (Interrupting the
 * next one only once the last one is late, to keep stops from queueing for the tracer, was
 * measured slower: the tracer's timer had to be armed for every wait.) Each stop is
 * handled as soon as it is reported: registers and stack top copied, detached; the copies
 * are walked after the last stop (unwind_copies), so a stopped thread never waits for a walk.
 * Threads that miss their deadline (D state) stay seized, without a place in the flight; if
 * they stop within CAPTURE_LATE_STOP_WAIT_MS of the last launch they are taken too. */
static void capture_one_by_one(struct capture_job *job, struct unwind_session *session,
                               struct held_thread *held)
{
    struct capture_result *out = job->out;
    struct flight flight = {.count = 0, .late = 0, .clear_ns = attach_now_ns()};
    for (size_t i = 0; i < out->thread_count; i++)
        held[i].thread = &out->threads[i];
    size_t next = 0;
    int64_t late_give_up_ns = 0;
    for (;;) {
        while (flight.count < CAPTURE_IN_FLIGHT && next < out->thread_count &&
               job->fatal_errno == 0) {
            struct held_thread *launch = &held[next++];
            if (thread_is_capturable(launch->thread) && stop_begin(job, launch) == 0)
                flight.held[flight.count++] = launch;
        }
        bool launching = next < out->thread_count && job->fatal_errno == 0;
        if (!launching && late_give_up_ns == 0)
            late_give_up_ns = attach_now_ns() + (int64_t)CAPTURE_LATE_STOP_WAIT_MS * 1000000;
        if (flight.count == 0 && (flight.late == 0 || attach_now_ns() >= late_give_up_ns)) {
            job->late_seized = flight.late > 0;
            break;
        }

        /* every stop reported now is drained before any is handled: each happened after the
         * last moment none was pending (flight.clear_ns), and the empty poll that ends the
         * drain is that moment for the next ones, which so never inherit, in a burst of
         * stops, the time spent on this batch's predecessors */
        struct stop_report batch[CAPTURE_DRAIN_MAX];
        size_t reported = 0;
        int64_t drained_ns = -1; /* when the drain found nothing more; -1: it did not */
        bool gone = false;       /* ECHILD: nothing seized any more */
        while (reported < CAPTURE_DRAIN_MAX) {
            int64_t before_poll = attach_now_ns();
            struct stop_report *report = &batch[reported];
            report->tid = attach_wait_any(0, &report->result, &report->stop, NULL);
            if (report->tid == 0)
                drained_ns = before_poll;
            gone = report->tid < 0;
            if (report->tid <= 0)
                break;
            reported++;
        }
        for (size_t i = 0; i < reported; i++)
            handle_report(job, session, &flight, held, &batch[i], false, flight.clear_ns);
        if (drained_ns >= 0)
            flight.clear_ns = drained_ns;
        if (reported > 0)
            continue;
        if (gone) {
            for (size_t i = 0; i < flight.count; i++) {
                flight.held[i]->seized = false;
                thread_error(flight.held[i]->thread, "exited");
            }
            break;
        }

        /* nothing pending: asleep until a stop (or a deadline) */
        struct stop_report woke;
        bool woken = false; /* reported by a wait that slept until the stop */
        woke.tid = attach_wait_any(flight_deadline(job, &flight, late_give_up_ns), &woke.result,
                                   &woke.stop, &woken);
        if (woke.tid == 0) {
            flight_expire(job, &flight);
            continue;
        }
        if (woke.tid < 0)
            continue; /* the next drain finds out (ECHILD) */
        /* a realtime tracer was woken by the first stop after it fell asleep: whatever else
         * stopped meanwhile stopped after that (the next reports are measured from here) */
        if (woken && job->realtime)
            flight.clear_ns = attach_now_ns();
        handle_report(job, session, &flight, held, &woke, woken && job->realtime, flight.clear_ns);
    }
}

/* Walks the stacks copied by capture_one_by_one (every thread runs again by now). */
static void unwind_copies(struct capture_job *job, struct unwind_session *session,
                          struct held_thread *held)
{
    for (size_t i = 0; i < job->out->thread_count; i++) {
        if (held[i].copy.bytes == NULL)
            continue;
        unwind_copied(session, &held[i]);
        if (held[i].thread->pc_count > 0)
            job->captured++;
    }
}

/* Every thread at once: seize and interrupt all, wait for all, unwind all (live memory,
 * consistent because nothing runs), detach all. */
static void capture_consistent(struct capture_job *job, struct unwind_session *session,
                               struct held_thread *held)
{
    struct capture_result *out = job->out;
    for (size_t i = 0; i < out->thread_count; i++) {
        held[i].thread = &out->threads[i];
        if (thread_is_capturable(held[i].thread) && stop_begin(job, &held[i]) != 0 &&
            job->fatal_errno != 0)
            break;
    }
    for (size_t i = 0; i < out->thread_count && job->fatal_errno == 0; i++)
        if (held[i].seized)
            stop_wait(job, &held[i]);
    for (size_t i = 0; i < out->thread_count && job->fatal_errno == 0; i++)
        if (held[i].stopped)
            stop_unwind(session, &held[i], true);
    for (size_t i = 0; i < out->thread_count; i++) {
        if (!held[i].stopped)
            continue;
        stop_end(&held[i]);
        if (held[i].thread->pc_count > 0)
            job->captured++;
    }
}

/* Walks a few blocked threads' stacks (distinct user PCs) before the first stop. */
static void warm_caches(struct capture_job *job, struct unwind_session *session)
{
    uint64_t walked[CAPTURE_WARM_WALKS];
    size_t walked_count = 0;
    unwind_warm(session, job->pid, 0, 0); /* modules, even when no thread is blocked */
    for (size_t i = 0; i < job->out->thread_count && walked_count < CAPTURE_WARM_WALKS; i++) {
        const struct syscall_hint *hint = &job->hints[i];
        bool seen = hint->pc == 0;
        for (size_t w = 0; w < walked_count && !seen; w++)
            seen = walked[w] == hint->pc;
        if (seen)
            continue;
        walked[walked_count++] = hint->pc;
        unwind_warm(session, job->out->threads[i].tid, hint->sp, hint->pc);
    }
}

/* Walks the copies and frees what the worker left (idempotent). */
static void walk_and_free(struct capture_job *job)
{
    if (job->session == NULL)
        return;
    unwind_copies(job, job->session, job->held);
    arena_free(&job->arena);
    free(job->held);
    unwind_session_free(job->session);
    job->session = NULL;
    job->held = NULL;
}

/* The worker thread: the tracer. Everything it seized is released when it returns. */
static void *capture_worker(void *arg)
{
    struct capture_job *job = arg;
    struct capture_result *out = job->out;
    /* short sleeps while polling for stops must be short for real */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    char err[256] = "";
    struct unwind_session *session =
        unwind_session_new(job->options->unwinder, job->pid, job->maps, err, sizeof err);
    if (session == NULL) {
        job->fatal_errno = EINVAL;
        snprintf(job->fatal_message, sizeof job->fatal_message, "%s", err);
        return NULL;
    }
    out->unwinder = unwind_session_unwinder(session);
    /* only a walk inside a stop window needs warm caches; copies are walked afterwards */
    if (job->options->consistent || job->unwind_while_stopped)
        warm_caches(job, session);
    struct held_thread *held = xcalloc(out->thread_count ? out->thread_count : 1, sizeof *held);
    /* from here on: blocking waits, and no preemption while a thread is held (when allowed) */
    /* the copies' memory is mapped (and populated) before any thread is stopped: taken during
     * the stops, it would add its page faults to the windows of the threads in flight */
    if (!job->options->consistent && !job->unwind_while_stopped && out->thread_count > 0)
        arena_grow(&job->arena, out->thread_count * COPY_ARENA_GUESS);
    struct attach_tracer tracer;
    attach_tracer_begin(&tracer);
    job->realtime = attach_tracer_realtime(&tracer);
    if (job->options->consistent)
        capture_consistent(job, session, held);
    else
        capture_one_by_one(job, session, held);
    if (job->options->consistent)
        release_late_threads(held, out->thread_count);
    attach_tracer_end(&tracer);
    job->session = session;
    job->held = held;
    /* With threads still seized that never stopped (late), the copies are walked once this
     * thread has exited (walk_and_free, by the caller): the kernel then detaches them, so none
     * can sit in a stop while 1000 stacks are walked. Otherwise here, where the copies are
     * still in this CPU's caches (measured ~3 ms faster for 1000 threads). */
    if (!job->late_seized)
        walk_and_free(job);
    return NULL;
}

/* ---- after the stops ---- */

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Fills result->stops from the threads' stop windows. */
static void compute_stop_stats(struct capture_result *out)
{
    int64_t *windows = xcalloc(out->thread_count ? out->thread_count : 1, sizeof *windows);
    int64_t *to_stop = xcalloc(out->thread_count ? out->thread_count : 1, sizeof *to_stop);
    size_t count = 0;
    for (size_t i = 0; i < out->thread_count; i++) {
        if (out->threads[i].stop_ns < 0)
            continue;
        windows[count] = out->threads[i].stop_ns;
        to_stop[count++] = out->threads[i].to_stop_ns > 0 ? out->threads[i].to_stop_ns : 0;
    }
    qsort(windows, count, sizeof *windows, compare_int64);
    qsort(to_stop, count, sizeof *to_stop, compare_int64);
    memset(&out->stops, 0, sizeof out->stops);
    out->stops.count = count;
    for (size_t i = 0; i < count; i++)
        out->stops.total_ns += windows[i];
    if (count > 0) {
        size_t rank = (count * 99 + 99) / 100; /* ceil(0.99 * count), 1-based */
        out->stops.max_ns = windows[count - 1];
        out->stops.p99_ns = windows[rank - 1];
        out->stops.to_stop_max_ns = to_stop[count - 1];
        out->stops.to_stop_p99_ns = to_stop[rank - 1];
    }
    free(windows);
    free(to_stop);
}

/* Lists the threads that were not there at the start, as entries with an error. */
static void add_new_threads(struct capture_result *out, unsigned facts)
{
    pid_t *tids;
    size_t count = list_tids(out->pid, &tids);
    size_t added = 0, capacity = out->thread_count;
    int task_dir = -1;
    for (size_t i = 0; i < count; i++) {
        struct capture_thread key = {.tid = tids[i]};
        if (out->thread_count > 0 && bsearch(&key, out->threads, out->thread_count - added,
                                             sizeof key, compare_threads) != NULL)
            continue;
        xgrow((void **)&out->threads, &capacity, out->thread_count + 1, sizeof *out->threads);
        struct capture_thread *thread = &out->threads[out->thread_count++];
        memset(thread, 0, sizeof *thread);
        thread->tid = tids[i];
        thread->stop_ns = thread->to_stop_ns = -1;
        if (task_dir < 0)
            task_dir = open_task_dir(out->pid);
        read_thread_facts(task_dir, thread, NULL, facts | FACT_SYSCALL);
        thread_error(thread, "appeared during the capture");
        added++;
    }
    if (task_dir >= 0)
        close(task_dir);
    free(tids);
    if (added > 0)
        qsort(out->threads, out->thread_count, sizeof *out->threads, compare_threads);
}

/* The symbolizer, loaded on a thread of its own while the /proc facts are read: on a machine
 * with a spare CPU, opening the modules and libc's DWARF then overlaps those reads. It is
 * joined before the first stop (see capture_process). */
struct symbolizer_warmup {
    struct symbolizer *symbolizer; /* loaded by the thread; touched by nobody else meanwhile */
    pid_t pid;                     /* the process */
    const struct proc_maps *maps;  /* its memory map, read once for all (NULL: unreadable) */
    pthread_t thread;              /* the loading thread */
    bool started;                  /* thread runs (join it) */
    bool loaded;                   /* symbolizer_load_process succeeded */
    char err[200];                 /* its error otherwise */
};

/* The loading thread: loads the process's modules, then resolves the PC where the main
 * thread waits in a system call (/proc/PID/syscall), which opens libc's DWARF. At SCHED_IDLE,
 * so that it only takes a CPU nobody else wants: never one from a busy target thread. */
static void *symbolizer_warmup_run(void *arg)
{
    struct symbolizer_warmup *warmup = arg;
    struct sched_param idle = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
    if (symbolizer_load_process_maps(warmup->symbolizer, warmup->pid, warmup->maps, warmup->err,
                                     sizeof warmup->err) != 0)
        return NULL;
    warmup->loaded = true;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)warmup->pid);
    struct capture_thread facts = {.tid = warmup->pid};
    struct syscall_hint hint = {0, 0};
    if (read_small_file(path, buf, sizeof buf) > 0)
        parse_syscall(buf, &facts, &hint);
    if (hint.pc != 0) {
        struct capture_frame frames[CAPTURE_FRAMES_PER_PC];
        symbolizer_resolve(warmup->symbolizer, warmup->pid, hint.pc, false, frames,
                           CAPTURE_FRAMES_PER_PC);
    }
    return NULL;
}

/* Starts loading the symbolizer of out (made here unless the caller gave one). */
static void symbolizer_warmup_start(struct symbolizer_warmup *warmup, struct capture_result *out,
                                    const struct capture_options *options,
                                    const struct proc_maps *maps)
{
    memset(warmup, 0, sizeof *warmup);
    warmup->pid = out->pid;
    warmup->maps = maps;
    warmup->symbolizer = options->symbolizer;
    if (warmup->symbolizer == NULL)
        warmup->symbolizer = out->symbolizer = symbolizer_new();
    warmup->started = pthread_create(&warmup->thread, NULL, symbolizer_warmup_run, warmup) == 0;
}

/* Waits for the loading thread (idempotent). It gets a normal share of the CPU for the rest
 * of its work, as on a busy machine an idle-class thread may not run at all. */
static void symbolizer_warmup_join(struct symbolizer_warmup *warmup)
{
    struct sched_param normal = {.sched_priority = 0};
    if (warmup->started) {
        pthread_setschedparam(warmup->thread, SCHED_OTHER, &normal);
        pthread_join(warmup->thread, NULL);
    }
    warmup->started = false;
}

/* A hash of a thread's raw stack (PCs and their return-address flags). */
static uint64_t stack_hash(const struct capture_thread *thread)
{
    uint64_t hash = 1469598103934665603ull ^ thread->pc_count;
    for (size_t i = 0; i < thread->pc_count; i++) {
        hash = (hash ^ thread->pcs[i]) * 1099511628211ull;
        hash = (hash ^ thread->pc_is_return[i]) * 1099511628211ull;
    }
    return hash ^ (hash >> 29);
}

/* Do two threads have the same raw stack? */
static bool same_pcs(const struct capture_thread *a, const struct capture_thread *b)
{
    if (a->pc_count != b->pc_count)
        return false;
    return a->pc_count == 0 ||
           (memcmp(a->pcs, b->pcs, a->pc_count * sizeof a->pcs[0]) == 0 &&
            memcmp(a->pc_is_return, b->pc_is_return, a->pc_count * sizeof a->pc_is_return[0]) == 0);
}

/* Resolves every thread's PCs into frames (every thread runs again by now). */
static void symbolize(struct capture_result *out, struct symbolizer_warmup *warmup)
{
    symbolizer_warmup_join(warmup);
    struct symbolizer *symbolizer = warmup->symbolizer;
    char err[200];
    /* loaded by the warmup before the stops; reloading would open every module again */
    if (!warmup->loaded &&
        symbolizer_load_process_maps(symbolizer, out->pid, warmup->maps, err, sizeof err) != 0) {
        snprintf(out->note, sizeof out->note, "not symbolized: %s", err);
        return;
    }
    /* threads blocked at the same place have the same PCs: each distinct stack is resolved
     * once and its frames copied to the others (1000 threads in a handful of places cost a
     * handful of resolutions) */
    size_t slot_count = 1;
    while (slot_count < out->thread_count * 2)
        slot_count *= 2;
    size_t *slots = xcalloc(slot_count, sizeof *slots); /* thread index + 1; 0: empty */
    struct capture_frame buffer[CAPTURE_FRAMES_PER_PC];
    for (size_t t = 0; t < out->thread_count; t++) {
        struct capture_thread *thread = &out->threads[t];
        if (thread->pc_count == 0)
            continue; /* no stack: no frames */
        const struct capture_thread *same = NULL;
        size_t slot = (size_t)stack_hash(thread) & (slot_count - 1);
        for (; slots[slot] != 0; slot = (slot + 1) & (slot_count - 1)) {
            const struct capture_thread *other = &out->threads[slots[slot] - 1];
            if (same_pcs(thread, other)) {
                same = other;
                break;
            }
        }
        if (same != NULL) {
            thread->frame_count = same->frame_count;
            if (same->frame_count > 0) {
                thread->frames = xmalloc(same->frame_count * sizeof *thread->frames);
                memcpy(thread->frames, same->frames, same->frame_count * sizeof *thread->frames);
            }
            continue;
        }
        slots[slot] = t + 1;
        size_t capacity = 0;
        for (size_t p = 0; p < thread->pc_count; p++) {
            size_t got = symbolizer_resolve(symbolizer, out->pid, thread->pcs[p],
                                            thread->pc_is_return[p], buffer, CAPTURE_FRAMES_PER_PC);
            xgrow((void **)&thread->frames, &capacity, thread->frame_count + got,
                  sizeof *thread->frames);
            memcpy(&thread->frames[thread->frame_count], buffer, got * sizeof *buffer);
            thread->frame_count += got;
        }
    }
    free(slots);
}

/* Does pid still exist? (looked up in /proc: no signal, not even 0, goes to the target) */
static bool process_exists(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return access(path, F_OK) == 0;
}

/* ---- public ---- */

int capture_process(pid_t pid, const struct capture_options *options_in, struct capture_result *out,
                    char *err, size_t errlen)
{
    struct capture_options options = {0};
    if (options_in != NULL)
        options = *options_in;
    if (options.stop_deadline_ms <= 0)
        options.stop_deadline_ms = CAPTURE_DEFAULT_DEADLINE_MS;

    memset(out, 0, sizeof *out);
    out->pid = pid;
    out->consistent = options.consistent;
    out->unwinder =
        options.unwinder == CAPTURE_UNWINDER_DEFAULT ? unwind_default() : options.unwinder;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    out->started_us = (uint64_t)wall.tv_sec * 1000000 + (uint64_t)wall.tv_nsec / 1000;
    int64_t started_ns = attach_now_ns();

    if (check_process(pid, out, err, errlen) != 0)
        return -1;

    pid_t *tids;
    size_t count = list_tids(pid, &tids);
    if (count == 0) {
        snprintf(err, errlen, "process %d does not exist", (int)pid);
        return -1;
    }
    /* one read of the memory map for the memory reader, the unwinder and the symbolizer */
    struct proc_maps maps;
    bool have_maps = proc_maps_read(pid, &maps) == 0;
    struct symbolizer_warmup warmup = {.started = false};
    if (options.symbolize)
        symbolizer_warmup_start(&warmup, out, &options, have_maps ? &maps : NULL);
    out->threads = xcalloc(count, sizeof *out->threads);
    out->thread_count = count;
    struct syscall_hint *hints = xcalloc(count, sizeof *hints);
    const char *while_stopped = getenv("STACKTOP_UNWIND_WHILE_STOPPED");
    bool unwind_while_stopped = while_stopped != NULL && strcmp(while_stopped, "1") == 0;
    /* walks inside the stop windows want warm caches, hence the /proc hints of where each
     * thread blocks; otherwise the registers at the stop tell the system call */
    bool with_syscall = options.consistent || unwind_while_stopped;
    /* the wait channel only when something shows it (see capture_options.skip_wchan) */
    unsigned facts = (options.skip_wchan ? 0u : FACT_WCHAN) | (with_syscall ? FACT_SYSCALL : 0u);
    int task_dir = open_task_dir(pid);
    for (size_t i = 0; i < count; i++) {
        struct capture_thread *thread = &out->threads[i];
        thread->tid = tids[i];
        thread->stop_ns = thread->to_stop_ns = -1;
        if (read_thread_facts(task_dir, thread, &hints[i], facts) != 0)
            thread_error(thread, "exited");
        else if (thread->state == 'Z' || thread->state == 'X')
            thread_error(thread, "exited");
        thread->was_stopped = thread->state == 'T';
    }
    if (task_dir >= 0)
        close(task_dir);
    free(tids);

    struct capture_job job = {
        .pid = pid,
        .options = &options,
        .out = out,
        .hints = hints,
        .deadline_ns = (int64_t)options.stop_deadline_ms * 1000000,
        .unwind_while_stopped = unwind_while_stopped,
        .maps = have_maps ? &maps : NULL,
    };
    /* the symbolizer's loading (inflating compressed debug info when the debuginfo cache is
     * cold) overlapped the /proc reads; it must not compete with the stops: a thread on its
     * way to a stop waits for a CPU when every CPU is busy (measured: a 3-4 ms wait, a
     * scheduler tick, whenever a busy SCHED_IDLE thread ran next to a CPU-bound target) */
    symbolizer_warmup_join(&warmup);
    pthread_t worker;
    int rc = pthread_create(&worker, NULL, capture_worker, &job);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the capture thread: %s", strerror(rc));
        goto free_result;
    }
    pthread_join(worker, NULL);
    free(hints);
    hints = NULL;
    walk_and_free(&job);

    if (job.fatal_errno == EPERM) {
        explain_permission(pid, err, errlen);
        goto free_result;
    }
    if (job.fatal_errno != 0) {
        snprintf(err, errlen, "%s", job.fatal_message);
        goto free_result;
    }
    if (!process_exists(pid)) {
        if (job.captured == 0) {
            snprintf(err, errlen, "process %d exited during the capture", (int)pid);
            goto free_result;
        }
        snprintf(out->note, sizeof out->note, "process exited during the capture: partial result");
    } else {
        add_new_threads(out, facts & FACT_WCHAN);
    }
    read_missing_syscalls(out);
    compute_stop_stats(out);
    if (options.symbolize)
        symbolize(out, &warmup);
    if (have_maps)
        proc_maps_free(&maps);
    out->captured_us = (uint64_t)(attach_now_ns() - started_ns) / 1000;
    return 0;

free_result:
    symbolizer_warmup_join(&warmup);
    if (have_maps)
        proc_maps_free(&maps);
    free(hints);
    capture_result_free(out);
    return -1;
}

void capture_thread_set_pcs(struct capture_thread *thread, const uint64_t *pcs,
                            const bool *is_return, size_t count)
{
    free(thread->pcs);
    thread->pcs = NULL;
    thread->pc_is_return = NULL;
    thread->pc_count = 0;
    if (count > CAPTURE_MAX_FRAMES)
        count = CAPTURE_MAX_FRAMES;
    if (count == 0)
        return;
    /* one block: the PCs, then their flags */
    unsigned char *block = xmalloc(count * (sizeof *pcs + sizeof *is_return));
    thread->pcs = (uint64_t *)block;
    thread->pc_is_return = (bool *)(block + count * sizeof *pcs);
    memcpy(thread->pcs, pcs, count * sizeof *pcs);
    memcpy(thread->pc_is_return, is_return, count * sizeof *is_return);
    thread->pc_count = count;
}

void capture_result_free(struct capture_result *result)
{
    if (result == NULL)
        return;
    for (size_t i = 0; i < result->thread_count; i++) {
        free(result->threads[i].frames);
        free(result->threads[i].pcs);
    }
    free(result->threads);
    if (result->symbolizer != NULL)
        symbolizer_free(result->symbolizer);
    result->threads = NULL;
    result->thread_count = 0;
    result->symbolizer = NULL;
}

const char *capture_unwinder_name(enum capture_unwinder unwinder)
{
    if ((size_t)unwinder < sizeof unwinder_names / sizeof unwinder_names[0])
        return unwinder_names[unwinder];
    return "?";
}

int capture_unwinder_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof unwinder_names / sizeof unwinder_names[0]; i++)
        if (name != NULL && strcmp(name, unwinder_names[i]) == 0)
            return (int)i;
    return -1;
}
