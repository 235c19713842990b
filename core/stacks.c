/*
 * stacks: what a capture means (stacks.h). Three parts, in this order:
 *   - grouping: threads with the same key (whole stack, top frame, top user frame, start
 *     frame) form one group; keys are hashed, so 10,000 threads cost one pass plus a sort;
 *   - locks: threads in futex wait inside a pthread mutex lock path, their lock's owner (read
 *     twice through the caller's memory callback), the wait-for graph and its cycles;
 *   - reports: the grouped text for humans and the JSON of DESIGN.md for scripts.
 *
 * Invariants:
 *   - nothing here touches the target: memory comes through stacks_read_memory_fn only;
 *   - groups and their member lists point into the capture, which must outlive them;
 *   - every target string (comm, thread names, symbols, paths, errors) goes through
 *     sanitize before it is written; the JSON escaper runs on the sanitized text;
 *   - output order is deterministic: groups by count then first tid, lock sentences by
 *     waiter count then address, cycles by their smallest tid.
 */
#include "stacks.h"

#include <inttypes.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "sanitize.h"
#include "xalloc.h"

/* ---------------------------------------------------------------------------------------- */
/* Names                                                                                     */

static const char *const grouping_names[STACKS_GROUP_COUNT] = {
    [STACKS_GROUP_STACK] = "stack",
    [STACKS_GROUP_TOP] = "top",
    [STACKS_GROUP_USER] = "user",
    [STACKS_GROUP_START] = "start",
};

const char *const stacks_default_system_modules[] = {
    "libc.so",   "libc-",    "libpthread", "ld-linux", "linux-vdso",
    "libstdc++", "libgcc_s", "[vdso]",     NULL,
};

const char *stacks_grouping_name(enum stacks_grouping grouping)
{
    if ((unsigned)grouping >= STACKS_GROUP_COUNT)
        return "?";
    return grouping_names[grouping];
}

int stacks_grouping_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < STACKS_GROUP_COUNT; i++)
        if (strcmp(grouping_names[i], name) == 0)
            return i;
    return -1;
}

/* One entry of the table of blocking system calls named in the lock sentences. */
struct syscall_name {
    long number;      /* this architecture's number */
    const char *name; /* as the man page spells it */
};

static const struct syscall_name syscall_names[] = {
    {SYS_read, "read"},
    {SYS_write, "write"},
    {SYS_readv, "readv"},
    {SYS_writev, "writev"},
    {SYS_pread64, "pread64"},
    {SYS_pwrite64, "pwrite64"},
    {SYS_futex, "futex"},
    {SYS_nanosleep, "nanosleep"},
    {SYS_clock_nanosleep, "clock_nanosleep"},
#ifdef SYS_poll
    {SYS_poll, "poll"},
#endif
    {SYS_ppoll, "ppoll"},
#ifdef SYS_select
    {SYS_select, "select"},
#endif
    {SYS_pselect6, "pselect6"},
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait"},
#endif
    {SYS_epoll_pwait, "epoll_pwait"},
#ifdef SYS_pause
    {SYS_pause, "pause"},
#endif
    {SYS_accept, "accept"},
    {SYS_accept4, "accept4"},
    {SYS_connect, "connect"},
    {SYS_recvfrom, "recvfrom"},
    {SYS_recvmsg, "recvmsg"},
    {SYS_sendto, "sendto"},
    {SYS_sendmsg, "sendmsg"},
    {SYS_wait4, "wait4"},
    {SYS_waitid, "waitid"},
    {SYS_rt_sigsuspend, "rt_sigsuspend"},
    {SYS_rt_sigtimedwait, "rt_sigtimedwait"},
    {SYS_flock, "flock"},
    {SYS_fcntl, "fcntl"},
    {SYS_fsync, "fsync"},
    {SYS_fdatasync, "fdatasync"},
    {SYS_openat, "openat"},
    {SYS_ioctl, "ioctl"},
    {SYS_msgrcv, "msgrcv"},
    {SYS_semtimedop, "semtimedop"},
    {SYS_io_getevents, "io_getevents"},
    {SYS_restart_syscall, "restart_syscall"},
};

const char *stacks_syscall_name(long number)
{
    for (size_t i = 0; i < sizeof syscall_names / sizeof syscall_names[0]; i++)
        if (syscall_names[i].number == number)
            return syscall_names[i].name;
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Frames                                                                                    */

static const char *path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Is this frame's module a system library (so not the top *user* frame)? Frames without a
 * module (unknown code) are not the user's either. */
static bool frame_is_system(const struct capture_frame *frame, const char *const *prefixes)
{
    if (!frame->module)
        return true;
    const char *base = path_basename(frame->module);
    for (size_t i = 0; prefixes[i]; i++)
        if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static bool strings_equal(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Same code: the same function by name when known, else the same module and offset. */
static bool frames_same_code(const struct capture_frame *a, const struct capture_frame *b)
{
    if (a->function || b->function)
        return strings_equal(a->function, b->function);
    return a->module_offset == b->module_offset && strings_equal(a->module, b->module);
}

/* Same frame for STACKS_GROUP_STACK: same code, same source position, same inlining. */
static bool frames_same_position(const struct capture_frame *a, const struct capture_frame *b)
{
    return frames_same_code(a, b) && a->line == b->line && a->is_inline == b->is_inline &&
           strings_equal(a->file, b->file);
}

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME  1099511628211ULL

static uint64_t hash_bytes(uint64_t hash, const void *data, size_t length)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < length; i++) {
        hash ^= bytes[i];
        hash *= FNV_PRIME;
    }
    return hash;
}

static uint64_t hash_string(uint64_t hash, const char *s)
{
    /* a NUL after every string keeps ("ab","c") apart from ("a","bc"); NULL hashes as 0xff */
    if (!s)
        return hash_bytes(hash, "\xff", 1);
    return hash_bytes(hash, s, strlen(s) + 1);
}

static uint64_t hash_frame_code(uint64_t hash, const struct capture_frame *frame)
{
    if (frame->function)
        return hash_string(hash, frame->function);
    hash = hash_string(hash, frame->module);
    return hash_bytes(hash, &frame->module_offset, sizeof frame->module_offset);
}

static uint64_t hash_frame_position(uint64_t hash, const struct capture_frame *frame)
{
    hash = hash_frame_code(hash, frame);
    hash = hash_string(hash, frame->file);
    hash = hash_bytes(hash, &frame->line, sizeof frame->line);
    unsigned char is_inline = frame->is_inline;
    return hash_bytes(hash, &is_inline, 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Grouping                                                                                  */

/* Index of the frame a thread is keyed on for a single-frame grouping. */
static size_t key_frame_of(const struct capture_thread *thread, enum stacks_grouping grouping,
                           const char *const *system_modules)
{
    switch (grouping) {
    case STACKS_GROUP_USER:
        for (size_t i = 0; i < thread->frame_count; i++)
            if (!frame_is_system(&thread->frames[i], system_modules))
                return i;
        return 0; /* all system code: the top frame stands for it */
    case STACKS_GROUP_START:
        return thread->frame_count - 1;
    case STACKS_GROUP_STACK:
    case STACKS_GROUP_TOP:
    case STACKS_GROUP_COUNT:
        break;
    }
    return 0;
}

static uint64_t thread_key_hash(const struct capture_thread *thread, bool whole_stack,
                                size_t key_frame)
{
    uint64_t hash = FNV_OFFSET;
    if (!whole_stack)
        return hash_frame_code(hash, &thread->frames[key_frame]);
    for (size_t i = 0; i < thread->frame_count; i++)
        hash = hash_frame_position(hash, &thread->frames[i]);
    return hash_bytes(hash, &thread->frame_count, sizeof thread->frame_count);
}

static bool thread_keys_equal(const struct capture_thread *a, size_t a_key,
                              const struct capture_thread *b, size_t b_key, bool whole_stack)
{
    if (!whole_stack)
        return frames_same_code(&a->frames[a_key], &b->frames[b_key]);
    if (a->frame_count != b->frame_count)
        return false;
    for (size_t i = 0; i < a->frame_count; i++)
        if (!frames_same_position(&a->frames[i], &b->frames[i]))
            return false;
    return true;
}

/* A group while it is being built. */
struct group_draft {
    uint64_t hash;       /* key hash */
    size_t first_thread; /* index of the first thread seen with this key */
    size_t key_frame;    /* that thread's key frame */
    size_t count;        /* members so far */
    size_t filled;       /* members written into the final list */
};

/* A member while sorting by tid. */
struct member_sort {
    pid_t tid;    /* its tid */
    size_t index; /* its index into capture_result.threads */
};

static int compare_member_sorts(const void *a, const void *b)
{
    pid_t ta = ((const struct member_sort *)a)->tid, tb = ((const struct member_sort *)b)->tid;
    return (ta > tb) - (ta < tb);
}

/* Members were added in thread order, which is tid order when the capture kept its
 * invariant; sort only if it did not. */
static void sort_members_by_tid(const struct capture_result *capture, struct stacks_group *group)
{
    bool sorted = true;
    for (size_t i = 1; i < group->count && sorted; i++)
        sorted =
            capture->threads[group->threads[i - 1]].tid < capture->threads[group->threads[i]].tid;
    if (sorted)
        return;
    struct member_sort *members = xmalloc(group->count * sizeof *members);
    for (size_t i = 0; i < group->count; i++)
        members[i] =
            (struct member_sort){capture->threads[group->threads[i]].tid, group->threads[i]};
    qsort(members, group->count, sizeof *members, compare_member_sorts);
    for (size_t i = 0; i < group->count; i++)
        group->threads[i] = members[i].index;
    free(members);
}

static pid_t group_first_tid(const struct stacks_group *group)
{
    return group->representative->tid;
}

static int compare_groups(const void *a, const void *b)
{
    const struct stacks_group *ga = a, *gb = b;
    if (ga->count != gb->count)
        return ga->count > gb->count ? -1 : 1;
    pid_t ta = group_first_tid(ga), tb = group_first_tid(gb);
    return (ta > tb) - (ta < tb);
}

/* "SD": the distinct state letters of the members, most frequent first. */
static void summarize_states(const struct capture_result *capture, struct stacks_group *group)
{
    size_t counts[256] = {0};
    for (size_t i = 0; i < group->count; i++)
        counts[(unsigned char)capture->threads[group->threads[i]].state]++;
    size_t length = 0;
    while (length + 1 < sizeof group->states) {
        size_t best = 0;
        for (size_t letter = 1; letter < 256; letter++)
            if (counts[letter] > counts[best])
                best = letter;
        if (counts[best] == 0)
            break;
        group->states[length++] = best ? (char)best : '?';
        counts[best] = 0;
    }
    group->states[length] = '\0';
}

/* One distinct thread name of a group and how many members carry it. */
struct name_count {
    const char *name; /* raw thread name */
    size_t count;     /* members with this name */
};

static int compare_name_pointers(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int compare_name_counts(const void *a, const void *b)
{
    const struct name_count *na = a, *nb = b;
    if (na->count != nb->count)
        return na->count > nb->count ? -1 : 1;
    return strcmp(na->name, nb->name);
}

/* "worker ×998, main": distinct names, most common first, counts above one; ", ..." when the
 * rest does not fit. Raw: the printers sanitize. */
static void summarize_names(const struct capture_result *capture, struct stacks_group *group)
{
    const char **names = xmalloc(group->count * sizeof *names);
    for (size_t i = 0; i < group->count; i++)
        names[i] = capture->threads[group->threads[i]].name;
    qsort(names, group->count, sizeof *names, compare_name_pointers);
    struct name_count *distinct = xmalloc(group->count * sizeof *distinct);
    size_t distinct_count = 0;
    for (size_t i = 0; i < group->count; i++) {
        if (distinct_count && strcmp(distinct[distinct_count - 1].name, names[i]) == 0) {
            distinct[distinct_count - 1].count++;
        } else {
            distinct[distinct_count].name = names[i];
            distinct[distinct_count].count = 1;
            distinct_count++;
        }
    }
    qsort(distinct, distinct_count, sizeof *distinct, compare_name_counts);

    static const char more[] = ", ...";
    size_t capacity = sizeof group->names, length = 0;
    group->names[0] = '\0';
    for (size_t i = 0; i < distinct_count; i++) {
        char piece[sizeof group->names];
        int n;
        if (distinct[i].count > 1)
            n = snprintf(piece, sizeof piece, "%s%s \xc3\x97%zu", i ? ", " : "", distinct[i].name,
                         distinct[i].count);
        else
            n = snprintf(piece, sizeof piece, "%s%s", i ? ", " : "", distinct[i].name);
        bool last = i + 1 == distinct_count;
        size_t reserve = last ? 0 : sizeof more - 1;
        if (n < 0 || (size_t)n >= sizeof piece || length + (size_t)n + reserve >= capacity) {
            if (length + sizeof more <= capacity)
                memcpy(group->names + length, more, sizeof more);
            break;
        }
        memcpy(group->names + length, piece, (size_t)n + 1);
        length += (size_t)n;
    }
    free(distinct);
    free(names);
}

size_t stacks_group(const struct capture_result *capture, enum stacks_grouping grouping,
                    const char *const *system_modules, struct stacks_group **out)
{
    *out = NULL;
    if (!system_modules)
        system_modules = stacks_default_system_modules;
    bool whole_stack = grouping == STACKS_GROUP_STACK;
    size_t thread_count = capture->thread_count;
    if (thread_count == 0)
        return 0;

    /* open addressing; slots hold draft index + 1 (0 = empty); load factor <= 1/2 */
    size_t slot_count = 16;
    while (slot_count < 2 * thread_count)
        slot_count *= 2;
    size_t *slots = xcalloc(slot_count, sizeof *slots);
    struct group_draft *drafts = xmalloc(thread_count * sizeof *drafts);
    size_t draft_count = 0;
    size_t *group_of = xmalloc(thread_count * sizeof *group_of);

    for (size_t t = 0; t < thread_count; t++) {
        const struct capture_thread *thread = &capture->threads[t];
        group_of[t] = SIZE_MAX;
        if (thread->frame_count == 0 || !thread->frames)
            continue;
        size_t key_frame = key_frame_of(thread, grouping, system_modules);
        uint64_t hash = thread_key_hash(thread, whole_stack, key_frame);
        size_t slot = (size_t)hash & (slot_count - 1);
        while (slots[slot]) {
            struct group_draft *draft = &drafts[slots[slot] - 1];
            if (draft->hash == hash &&
                thread_keys_equal(&capture->threads[draft->first_thread], draft->key_frame, thread,
                                  key_frame, whole_stack))
                break;
            slot = (slot + 1) & (slot_count - 1);
        }
        if (!slots[slot]) {
            drafts[draft_count] = (struct group_draft){hash, t, key_frame, 0, 0};
            slots[slot] = ++draft_count;
        }
        group_of[t] = slots[slot] - 1;
        drafts[group_of[t]].count++;
    }
    free(slots);

    struct stacks_group *groups = xcalloc(draft_count ? draft_count : 1, sizeof *groups);
    for (size_t g = 0; g < draft_count; g++) {
        groups[g].count = drafts[g].count;
        groups[g].threads = xmalloc(drafts[g].count * sizeof *groups[g].threads);
        groups[g].grouping = grouping;
    }
    for (size_t t = 0; t < thread_count; t++) {
        if (group_of[t] == SIZE_MAX)
            continue;
        struct group_draft *draft = &drafts[group_of[t]];
        groups[group_of[t]].threads[draft->filled++] = t;
    }
    for (size_t g = 0; g < draft_count; g++) {
        struct stacks_group *group = &groups[g];
        sort_members_by_tid(capture, group);
        group->representative = &capture->threads[group->threads[0]];
        group->key_frame =
            whole_stack ? 0 : key_frame_of(group->representative, grouping, system_modules);
        summarize_states(capture, group);
        summarize_names(capture, group);
    }
    qsort(groups, draft_count, sizeof *groups, compare_groups);
    free(group_of);
    free(drafts);
    if (draft_count == 0) {
        free(groups);
        groups = NULL;
    }
    *out = groups;
    return draft_count;
}

void stacks_groups_free(struct stacks_group *groups, size_t count)
{
    if (!groups)
        return;
    for (size_t i = 0; i < count; i++)
        free(groups[i].threads);
    free(groups);
}

/* ---------------------------------------------------------------------------------------- */
/* Locks                                                                                     */

#define FUTEX_OP_MASK      0x7f       /* without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME */
#define FUTEX_OP_LOCK_PI   6          /* FUTEX_LOCK_PI */
#define FUTEX_OP_LOCK_PI2  13         /* FUTEX_LOCK_PI2 (Linux 5.14) */
#define FUTEX_TID_BITS     0x3fffffff /* FUTEX_TID_MASK */
#define MUTEX_OWNER_OFFSET 8          /* glibc: __lock, __count, then int __owner */
#define TID_LIMIT          4194304    /* PID_MAX_LIMIT: larger "owners" are not tids */

/* Functions on the path of a thread blocked acquiring a pthread (or C11) mutex. */
static const char *const mutex_lock_functions[] = {
    "pthread_mutex_lock",
    "___pthread_mutex_lock",
    "__pthread_mutex_lock",
    "__pthread_mutex_lock_full",
    "__pthread_mutex_cond_lock",
    "__lll_lock_wait",
    "__lll_lock_wait_private",
    "lll_lock_wait",
    "pthread_mutex_timedlock",
    "___pthread_mutex_timedlock",
    "__pthread_mutex_timedlock",
    "pthread_mutex_clocklock",
    "___pthread_mutex_clocklock",
    "__pthread_mutex_clocklock_common",
    "mtx_lock",
    "mtx_timedlock",
    NULL,
};

/* Functions that mean the lock word itself holds the owner (PI and robust mutexes). */
static const char *const owner_in_word_functions[] = {
    "__pthread_mutex_lock_full",
    NULL,
};

/* Does a symbol name this function? Symbol tables also spell glibc's functions with the
 * internal alias prefix "__GI_" and with a version ("__pthread_mutex_lock@GLIBC_2.2.5"). */
static bool function_is(const char *symbol, const char *function)
{
    static const char internal_prefix[] = "__GI_";
    if (strncmp(symbol, internal_prefix, sizeof internal_prefix - 1) == 0)
        symbol += sizeof internal_prefix - 1;
    size_t length = strcspn(symbol, "@");
    return length == strlen(function) && strncmp(symbol, function, length) == 0;
}

static bool frames_contain(const struct capture_thread *thread, const char *const *functions)
{
    for (size_t i = 0; i < thread->frame_count; i++) {
        const char *function = thread->frames[i].function;
        if (!function)
            continue;
        for (size_t f = 0; functions[f]; f++)
            if (function_is(function, functions[f]))
                return true;
    }
    return false;
}

/* Reads a 32-bit value twice; 0 with *value when both reads agree, -1 on failure or race. */
static int read_stable_u32(stacks_read_memory_fn read, void *context, uint64_t address,
                           uint32_t *value)
{
    uint32_t first, second;
    if (read(context, address, &first, sizeof first) != 0)
        return -1;
    if (read(context, address, &second, sizeof second) != 0)
        return -1;
    if (first != second)
        return -1;
    *value = first;
    return 0;
}

static pid_t wait_successor_index(const struct stacks_lock_report *report, pid_t owner,
                                  size_t *index)
{
    /* waits are in waiter-tid order (threads are): binary search */
    size_t low = 0, high = report->wait_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (report->waits[mid].waiter < owner)
            low = mid + 1;
        else
            high = mid;
    }
    if (low < report->wait_count && report->waits[low].waiter == owner) {
        *index = low;
        return owner;
    }
    return 0;
}

static int compare_waits_by_waiter(const void *a, const void *b)
{
    pid_t wa = ((const struct stacks_lock_wait *)a)->waiter;
    pid_t wb = ((const struct stacks_lock_wait *)b)->waiter;
    return (wa > wb) - (wa < wb);
}

static int compare_cycles(const void *a, const void *b)
{
    const pid_t *ca = *(const pid_t *const *)a, *cb = *(const pid_t *const *)b;
    return (ca[0] > cb[0]) - (ca[0] < cb[0]);
}

/* The wait-for graph has at most one edge out of each waiter (waiter -> owner), so following
 * successors from every unvisited waiter finds each cycle exactly once. */
static void find_cycles(struct stacks_lock_report *report)
{
    size_t n = report->wait_count;
    if (n == 0)
        return;
    size_t *walk_of = xcalloc(n, sizeof *walk_of); /* 0 = unvisited, else walk number */
    size_t cycle_capacity = 0, length_capacity = 0;
    for (size_t start = 0; start < n; start++) {
        if (walk_of[start])
            continue;
        size_t walk = start + 1, at = start;
        bool has_next = true;
        while (has_next && !walk_of[at]) {
            walk_of[at] = walk;
            size_t next;
            has_next = wait_successor_index(report, report->waits[at].owner, &next) != 0;
            if (has_next)
                at = next;
        }
        if (!has_next || walk_of[at] != walk)
            continue;
        /* at is on a cycle found by this walk: collect it, rotated to its smallest tid */
        size_t length = 0, smallest = 0, i = at;
        pid_t *members = NULL;
        size_t member_capacity = 0;
        do {
            xgrow((void **)&members, &member_capacity, length + 1, sizeof *members);
            members[length] = report->waits[i].waiter;
            if (members[length] < members[smallest])
                smallest = length;
            length++;
            wait_successor_index(report, report->waits[i].owner, &i);
        } while (i != at);
        pid_t *cycle = xmalloc(length * sizeof *cycle);
        for (size_t k = 0; k < length; k++)
            cycle[k] = members[(smallest + k) % length];
        free(members);
        size_t need = report->cycle_count + 1;
        xgrow((void **)&report->cycles, &cycle_capacity, need, sizeof *report->cycles);
        xgrow((void **)&report->cycle_lengths, &length_capacity, need,
              sizeof *report->cycle_lengths);
        report->cycles[report->cycle_count] = cycle;
        report->cycle_lengths[report->cycle_count] = length;
        report->cycle_count++;
    }
    free(walk_of);
    /* deterministic order: by smallest tid (lengths follow their cycles) */
    if (report->cycle_count > 1) {
        size_t count = report->cycle_count;
        pid_t **order = xmalloc(count * sizeof *order);
        memcpy(order, report->cycles, count * sizeof *order);
        qsort(order, count, sizeof *order, compare_cycles);
        size_t *lengths = xmalloc(count * sizeof *lengths);
        for (size_t k = 0; k < count; k++)
            for (size_t j = 0; j < count; j++)
                if (report->cycles[j] == order[k])
                    lengths[k] = report->cycle_lengths[j];
        memcpy(report->cycles, order, count * sizeof *order);
        memcpy(report->cycle_lengths, lengths, count * sizeof *lengths);
        free(lengths);
        free(order);
    }
}

/* One lock word read during an analysis. */
struct word_read {
    uint64_t address; /* where */
    uint32_t value;   /* its stable value (when result is 0) */
    int result;       /* read_stable_u32's result */
};

/* Lock words read during one analysis: many threads waiting on one mutex read it once. */
struct word_memo {
    struct word_read *reads; /* every distinct address read */
    size_t count;            /* entries in reads */
    size_t capacity;         /* allocated entries in reads */
};

/* read_stable_u32 through the memo. */
static int read_word_once(struct word_memo *memo, stacks_read_memory_fn read, void *context,
                          uint64_t address, uint32_t *value)
{
    for (size_t i = 0; i < memo->count; i++) {
        if (memo->reads[i].address == address) {
            *value = memo->reads[i].value;
            return memo->reads[i].result;
        }
    }
    xgrow((void **)&memo->reads, &memo->capacity, memo->count + 1, sizeof *memo->reads);
    struct word_read *entry = &memo->reads[memo->count++];
    entry->address = address;
    entry->value = 0;
    entry->result = read_stable_u32(read, context, address, &entry->value);
    *value = entry->value;
    return entry->result;
}

void stacks_analyze_locks(const struct capture_result *capture, stacks_read_memory_fn read,
                          void *context, struct stacks_lock_report *out)
{
    memset(out, 0, sizeof *out);
    size_t capacity = 0;
    struct word_memo memo = {.count = 0};
    for (size_t t = 0; t < capture->thread_count; t++) {
        const struct capture_thread *thread = &capture->threads[t];
        if (thread->syscall != SYS_futex || thread->frame_count == 0 || !thread->frames)
            continue;
        if (!frames_contain(thread, mutex_lock_functions))
            continue;
        uint64_t address = thread->syscall_args[0];
        unsigned op = (unsigned)(thread->syscall_args[1] & FUTEX_OP_MASK);
        bool owner_in_word = op == FUTEX_OP_LOCK_PI || op == FUTEX_OP_LOCK_PI2 ||
                             frames_contain(thread, owner_in_word_functions);
        uint32_t value;
        if (owner_in_word) {
            if (read_word_once(&memo, read, context, address, &value) != 0)
                continue;
            value &= FUTEX_TID_BITS;
        } else if (read_word_once(&memo, read, context, address + MUTEX_OWNER_OFFSET, &value) !=
                   0) {
            continue;
        }
        if (value == 0 || value >= TID_LIMIT)
            continue; /* unlocked meanwhile, or not a tid: owner unknown */
        xgrow((void **)&out->waits, &capacity, out->wait_count + 1, sizeof *out->waits);
        out->waits[out->wait_count++] = (struct stacks_lock_wait){
            .waiter = thread->tid,
            .address = address,
            .owner = (pid_t)value,
            .kind = owner_in_word ? "pi-mutex" : "mutex",
        };
    }
    free(memo.reads);
    if (out->wait_count > 1)
        qsort(out->waits, out->wait_count, sizeof *out->waits, compare_waits_by_waiter);
    find_cycles(out);
}

void stacks_lock_report_free(struct stacks_lock_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->cycle_count; i++)
        free(report->cycles[i]);
    free(report->cycles);
    free(report->cycle_lengths);
    free(report->waits);
    memset(report, 0, sizeof *report);
}

/* ---------------------------------------------------------------------------------------- */
/* Describing locks                                                                          */

/* Text for a terminal: UTF-8 only when the locale says so. */
static bool terminal_is_utf8(void)
{
    const char *codeset = nl_langinfo(CODESET);
    return codeset && strcmp(codeset, "UTF-8") == 0;
}

/* Writes a target string sanitized; in ASCII mode our own "×" becomes "x" first. */
static void put_safe(FILE *out, const char *raw, bool utf8)
{
    if (!raw)
        raw = "";
    char *text = NULL;
    if (!utf8 && strstr(raw, "\xc3\x97")) {
        text = xstrdup(raw);
        char *times;
        while ((times = strstr(text, "\xc3\x97")) != NULL) {
            *times = 'x';
            memmove(times + 1, times + 2, strlen(times + 2) + 1);
        }
    }
    char *safe = sanitize_dup(text ? text : raw, utf8);
    fputs(safe, out);
    free(safe);
    free(text);
}

static const struct capture_thread *find_thread(const struct capture_result *capture, pid_t tid)
{
    size_t low = 0, high = capture->thread_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (capture->threads[mid].tid < tid)
            low = mid + 1;
        else
            high = mid;
    }
    if (low < capture->thread_count && capture->threads[low].tid == tid)
        return &capture->threads[low];
    for (size_t i = 0; i < capture->thread_count; i++) /* in case the order was not kept */
        if (capture->threads[i].tid == tid)
            return &capture->threads[i];
    return NULL;
}

/* "4479 (name)" or "4479 (not in this capture)". */
static void put_tid_and_name(FILE *out, const struct capture_result *capture, pid_t tid, bool utf8)
{
    const struct capture_thread *thread = find_thread(capture, tid);
    fprintf(out, "%d (", (int)tid);
    if (thread)
        put_safe(out, thread->name, utf8);
    else
        fputs("not a thread of this process", out);
    fputc(')', out);
}

static const struct capture_frame *top_user_frame(const struct capture_thread *thread)
{
    for (size_t i = 0; i < thread->frame_count; i++)
        if (!frame_is_system(&thread->frames[i], stacks_default_system_modules) &&
            thread->frames[i].function)
            return &thread->frames[i];
    return NULL;
}

/* ", which is blocked in read() called from hold_lock_and_read" and the like. */
static void put_holder_state(FILE *out, const struct capture_result *capture,
                             const struct stacks_lock_report *report, pid_t owner, bool utf8)
{
    size_t index;
    if (wait_successor_index(report, owner, &index)) {
        fprintf(out, ", which itself waits for %s 0x%" PRIx64 " held by TID %d",
                report->waits[index].kind, report->waits[index].address,
                (int)report->waits[index].owner);
        return;
    }
    const struct capture_thread *holder = find_thread(capture, owner);
    if (!holder)
        return;
    const struct capture_frame *user = top_user_frame(holder);
    if (holder->syscall >= 0) {
        const char *name = stacks_syscall_name(holder->syscall);
        if (name)
            fprintf(out, ", which is blocked in %s()", name);
        else
            fprintf(out, ", which is blocked in system call %ld", holder->syscall);
        if (user) {
            fputs(" called from ", out);
            put_safe(out, user->function, utf8);
        }
    } else if (holder->syscall == -1) {
        fputs(", which is running", out);
        if (user) {
            fputs(" in ", out);
            put_safe(out, user->function, utf8);
            fputs("()", out);
        }
    } else if (holder->frame_count > 0 && holder->frames[0].function) {
        fputs(", which is in ", out);
        put_safe(out, holder->frames[0].function, utf8);
        fputs("()", out);
    }
}

/* One lock sentence: the waits on one (address, owner). */
struct lock_sentence {
    uint64_t address; /* lock address */
    pid_t owner;      /* holder */
    const char *kind; /* "mutex" or "pi-mutex" */
    size_t count;     /* waiters */
};

static int compare_waits_by_lock(const void *a, const void *b)
{
    const struct stacks_lock_wait *wa = a, *wb = b;
    if (wa->address != wb->address)
        return wa->address < wb->address ? -1 : 1;
    if (wa->owner != wb->owner)
        return wa->owner < wb->owner ? -1 : 1;
    return (wa->waiter > wb->waiter) - (wa->waiter < wb->waiter);
}

static int compare_sentences(const void *a, const void *b)
{
    const struct lock_sentence *sa = a, *sb = b;
    if (sa->count != sb->count)
        return sa->count > sb->count ? -1 : 1;
    if (sa->address != sb->address)
        return sa->address < sb->address ? -1 : 1;
    return (sa->owner > sb->owner) - (sa->owner < sb->owner);
}

static void describe_locks(const struct capture_result *capture,
                           const struct stacks_lock_report *report, FILE *out, bool utf8)
{
    if (report->wait_count > 0) {
        struct stacks_lock_wait *waits = xmalloc(report->wait_count * sizeof *waits);
        memcpy(waits, report->waits, report->wait_count * sizeof *waits);
        qsort(waits, report->wait_count, sizeof *waits, compare_waits_by_lock);
        struct lock_sentence *sentences = xmalloc(report->wait_count * sizeof *sentences);
        size_t sentence_count = 0;
        for (size_t i = 0; i < report->wait_count; i++) {
            struct lock_sentence *last = sentence_count ? &sentences[sentence_count - 1] : NULL;
            if (last && last->address == waits[i].address && last->owner == waits[i].owner) {
                last->count++;
                continue;
            }
            sentences[sentence_count++] =
                (struct lock_sentence){waits[i].address, waits[i].owner, waits[i].kind, 1};
        }
        qsort(sentences, sentence_count, sizeof *sentences, compare_sentences);
        for (size_t i = 0; i < sentence_count; i++) {
            const struct lock_sentence *s = &sentences[i];
            fprintf(out, "%zu thread%s wait%s for %s 0x%" PRIx64 " held by TID ", s->count,
                    s->count == 1 ? "" : "s", s->count == 1 ? "s" : "", s->kind, s->address);
            put_tid_and_name(out, capture, s->owner, utf8);
            put_holder_state(out, capture, report, s->owner, utf8);
            fputc('\n', out);
        }
        free(sentences);
        free(waits);
    }
    for (size_t c = 0; c < report->cycle_count; c++) {
        const pid_t *cycle = report->cycles[c];
        size_t length = report->cycle_lengths[c];
        fputs("DEADLOCK: ", out);
        put_tid_and_name(out, capture, cycle[0], utf8);
        for (size_t k = 1; k <= length; k++) {
            fputs(k == 1 ? " waits for " : ", which waits for ", out);
            put_tid_and_name(out, capture, cycle[k % length], utf8);
        }
        fputc('\n', out);
    }
}

void stacks_describe_locks(const struct capture_result *capture,
                           const struct stacks_lock_report *report, FILE *out)
{
    describe_locks(capture, report, out, terminal_is_utf8());
}

/* ---------------------------------------------------------------------------------------- */
/* Text report                                                                               */

static const char *const unwinder_names[] = {
    [CAPTURE_UNWINDER_DEFAULT] = "default",
    [CAPTURE_UNWINDER_LIBUNWIND] = "libunwind",
    [CAPTURE_UNWINDER_LIBDW] = "libdw",
};

static const char *unwinder_name(enum capture_unwinder unwinder)
{
    if ((unsigned)unwinder >= sizeof unwinder_names / sizeof unwinder_names[0])
        return "?";
    return unwinder_names[unwinder];
}

/* "90 us", "41.2 ms", "2.50 s". */
static void put_duration_us(FILE *out, uint64_t us)
{
    if (us < 1000)
        fprintf(out, "%" PRIu64 " us", us);
    else if (us < 10000000)
        fprintf(out, "%.1f ms", (double)us / 1e3);
    else
        fprintf(out, "%.2f s", (double)us / 1e6);
}

static uint64_t ns_to_us(int64_t ns)
{
    return ns > 0 ? (uint64_t)ns / 1000 : 0;
}

/* "  #0  0x00007f...  queue_push (server.c:21)  [/path/server]" */
static void put_text_frame(FILE *out, size_t index, const struct capture_frame *frame, bool is_key,
                           bool utf8)
{
    fprintf(out, "%s#%-3zu 0x%016" PRIx64 "  ", is_key ? "* " : "  ", index, frame->pc);
    if (frame->is_inline)
        fputs("inline ", out);
    if (frame->function) {
        put_safe(out, frame->function, utf8);
    } else if (frame->module) {
        put_safe(out, path_basename(frame->module), utf8);
        fprintf(out, "+0x%" PRIx64, frame->module_offset);
    } else {
        fputs("??", out);
    }
    if (frame->file) {
        fputs(" (", out);
        put_safe(out, path_basename(frame->file), utf8);
        if (frame->line > 0)
            fprintf(out, ":%d", frame->line);
        fputc(')', out);
    }
    if (frame->module) {
        fputs("  [", out);
        put_safe(out, frame->module, utf8);
        fputc(']', out);
    }
    fputc('\n', out);
}

#define TEXT_TIDS_SHOWN 16 /* member tids listed under a group's title */

void stacks_print_text(const struct capture_result *capture, const struct stacks_group *groups,
                       size_t group_count, const struct stacks_lock_report *locks, FILE *out)
{
    bool utf8 = terminal_is_utf8();
    fprintf(out, "PID %d (", (int)capture->pid);
    put_safe(out, capture->comm, utf8);
    fprintf(out, "): %zu thread%s, %zu group%s", capture->thread_count,
            capture->thread_count == 1 ? "" : "s", group_count, group_count == 1 ? "" : "s");
    if (group_count > 0)
        fprintf(out, " by %s", stacks_grouping_name(groups[0].grouping));
    fputs(", captured in ", out);
    put_duration_us(out, capture->captured_us);
    fputs(", stops: max ", out);
    put_duration_us(out, ns_to_us(capture->stops.max_ns));
    fputs(", p99 ", out);
    put_duration_us(out, ns_to_us(capture->stops.p99_ns));
    fputs(", total ", out);
    put_duration_us(out, ns_to_us(capture->stops.total_ns));
    /* before a stop, a thread may wait for a CPU (runnable, not stopped): said apart */
    fputs(", time to stop: max ", out);
    put_duration_us(out, ns_to_us(capture->stops.to_stop_max_ns));
    fprintf(out, " (unwinder %s%s)\n", unwinder_name(capture->unwinder),
            capture->consistent ? ", consistent" : "");
    if (capture->note[0]) {
        fputs("note: ", out);
        put_safe(out, capture->note, utf8);
        fputc('\n', out);
    }

    for (size_t g = 0; g < group_count; g++) {
        const struct stacks_group *group = &groups[g];
        fprintf(out, "\n%zu thread%s  state %s  ", group->count, group->count == 1 ? "" : "s",
                group->states);
        put_safe(out, group->names, utf8);
        fputs("\n  tids:", out);
        for (size_t i = 0; i < group->count && i < TEXT_TIDS_SHOWN; i++)
            fprintf(out, " %d", (int)capture->threads[group->threads[i]].tid);
        if (group->count > TEXT_TIDS_SHOWN)
            fprintf(out, " ... (%zu more)", group->count - TEXT_TIDS_SHOWN);
        fputc('\n', out);
        const struct capture_thread *thread = group->representative;
        bool mark_key = group->grouping != STACKS_GROUP_STACK;
        for (size_t f = 0; f < thread->frame_count; f++)
            put_text_frame(out, f, &thread->frames[f], mark_key && f == group->key_frame, utf8);
    }

    if (locks && (locks->wait_count > 0 || locks->cycle_count > 0)) {
        fputc('\n', out);
        describe_locks(capture, locks, out, utf8);
    }

    bool first_error = true;
    for (size_t t = 0; t < capture->thread_count; t++) {
        const struct capture_thread *thread = &capture->threads[t];
        if (!thread->error[0] && thread->frame_count > 0)
            continue;
        if (first_error)
            fputc('\n', out);
        first_error = false;
        fprintf(out, "TID %d", (int)thread->tid);
        if (thread->name[0]) {
            fputs(" (", out);
            put_safe(out, thread->name, utf8);
            fputc(')', out);
        }
        fputs(": ", out);
        put_safe(out, thread->error[0] ? thread->error : "no stack", utf8);
        fputc('\n', out);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* JSON report                                                                               */

static void put_json_frame(FILE *out, const struct capture_frame *frame)
{
    fputs("{\"function\": ", out);
    sanitize_json_string(out, frame->function);
    fputs(", \"module\": ", out);
    sanitize_json_string(out, frame->module);
    fprintf(out, ", \"module_offset\": %" PRIu64 ", \"file\": ", frame->module_offset);
    sanitize_json_string(out, frame->file);
    fprintf(out, ", \"line\": %d, \"inline\": %s, \"pc\": \"0x%" PRIx64 "\"}", frame->line,
            frame->is_inline ? "true" : "false", frame->pc);
}

void stacks_print_json(const struct capture_result *capture, const struct stacks_group *groups,
                       size_t group_count, const struct stacks_lock_report *locks, FILE *out)
{
    fprintf(out, "{\"pid\": %d, \"comm\": ", (int)capture->pid);
    sanitize_json_string(out, capture->comm);
    fprintf(out,
            ", \"threads\": %zu, \"captured_us\": %" PRIu64 ", \"stop_us\": {\"max\": %" PRIu64
            ", \"p99\": %" PRIu64 ", \"total\": %" PRIu64 "}",
            capture->thread_count, capture->captured_us, ns_to_us(capture->stops.max_ns),
            ns_to_us(capture->stops.p99_ns), ns_to_us(capture->stops.total_ns));
    fprintf(out, ", \"unwinder\": \"%s\", \"consistent\": %s", unwinder_name(capture->unwinder),
            capture->consistent ? "true" : "false");
    if (group_count > 0)
        fprintf(out, ", \"grouping\": \"%s\"", stacks_grouping_name(groups[0].grouping));
    if (capture->note[0]) {
        fputs(", \"note\": ", out);
        sanitize_json_string(out, capture->note);
    }

    fputs(",\n \"groups\": [", out);
    for (size_t g = 0; g < group_count; g++) {
        const struct stacks_group *group = &groups[g];
        fprintf(out, "%s\n  {\"count\": %zu, \"tids\": [", g ? "," : "", group->count);
        for (size_t i = 0; i < group->count; i++)
            fprintf(out, "%s%d", i ? ", " : "", (int)capture->threads[group->threads[i]].tid);
        fputs("], \"state\": ", out);
        sanitize_json_string(out, group->states);
        fputs(", \"names\": ", out);
        sanitize_json_string(out, group->names);
        fprintf(out, ", \"key_frame\": %zu, \"frames\": [", group->key_frame);
        const struct capture_thread *thread = group->representative;
        for (size_t f = 0; f < thread->frame_count; f++) {
            fputs(f ? ",\n    " : "\n    ", out);
            put_json_frame(out, &thread->frames[f]);
        }
        fputs("]}", out);
    }
    fputs("],\n \"locks\": [", out);
    for (size_t i = 0; locks && i < locks->wait_count; i++) {
        const struct stacks_lock_wait *wait = &locks->waits[i];
        fprintf(out,
                "%s{\"waiter\": %d, \"address\": \"0x%" PRIx64 "\", \"owner\": ", i ? ", " : "",
                (int)wait->waiter, wait->address);
        if (wait->owner > 0)
            fprintf(out, "%d", (int)wait->owner);
        else
            fputs("null", out);
        fputs(", \"kind\": ", out);
        sanitize_json_string(out, wait->kind);
        fputc('}', out);
    }
    fputs("],\n \"deadlocks\": [", out);
    for (size_t c = 0; locks && c < locks->cycle_count; c++) {
        fputs(c ? ", [" : "[", out);
        for (size_t k = 0; k < locks->cycle_lengths[c]; k++)
            fprintf(out, "%s%d", k ? ", " : "", (int)locks->cycles[c][k]);
        fputc(']', out);
    }
    fputs("],\n \"errors\": [", out);
    bool first = true;
    for (size_t t = 0; t < capture->thread_count; t++) {
        const struct capture_thread *thread = &capture->threads[t];
        if (!thread->error[0] && thread->frame_count > 0)
            continue;
        fprintf(out, "%s{\"tid\": %d, \"error\": ", first ? "" : ", ", (int)thread->tid);
        sanitize_json_string(out, thread->error[0] ? thread->error : "no stack");
        fputc('}', out);
        first = false;
    }
    fputs("]}\n", out);
}
