/*
 * test_procview: core/procview.c over synthetic entries — sorting by every column in both
 * directions with ties, the toggles and filters, threads under their process, tree shape
 * (depth, order, last_sibling, open_ancestors), orphans, ppid cycles, deep trees, filtering
 * in tree mode, search, index_of, and a large randomized build checked for well-formedness.
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "procview.h"

#define POOL_MAX 6000

static struct proc_entry pool[POOL_MAX];           /* the synthetic table */
static const struct proc_entry *entries[POOL_MAX]; /* pointers to it, in table order */
static size_t pool_count;                          /* entries in use */
static struct procview_row *rows;                  /* the reused row buffer */
static size_t rows_capacity;                       /* its capacity */

static void reset(void)
{
    memset(pool, 0, sizeof pool);
    pool_count = 0;
}

static struct proc_entry *add_entry(pid_t pid, pid_t tgid, pid_t ppid, const char *comm,
                                    const char *cmdline, double cpu)
{
    struct proc_entry *e = &pool[pool_count];
    entries[pool_count] = e;
    pool_count++;
    e->pid = pid;
    e->tgid = tgid;
    e->is_thread = pid != tgid;
    e->metrics.ppid = ppid;
    e->metrics.state = 'S';
    e->metrics.num_threads = 1;
    e->cpu_percent = cpu;
    snprintf(e->user, sizeof e->user, "user");
    snprintf(e->comm, sizeof e->comm, "%s", comm);
    e->cmdline = (char *)cmdline;
    return e;
}

static struct proc_entry *add_process(pid_t pid, pid_t ppid, const char *comm, double cpu)
{
    return add_entry(pid, pid, ppid, comm, "", cpu);
}

static struct proc_entry *add_thread(pid_t tid, pid_t tgid, const char *comm, double cpu)
{
    struct proc_entry *e = add_entry(tid, tgid, 0, comm, "", cpu);
    e->is_thread = true; /* also for the main thread, whose tid is the pid */
    return e;
}

static struct procview_options options_default(void)
{
    return (struct procview_options){.sort_column = COLUMN_PID, .show_kernel_threads = true};
}

static size_t build(const struct procview_options *options)
{
    return procview_build(entries, pool_count, options, &rows, &rows_capacity);
}

/* Compares the rows' pids with the expected list (and the count). */
static void check_pids(size_t count, const pid_t *expected, size_t expected_count, int line)
{
    bool same = count == expected_count;
    for (size_t i = 0; same && i < count; i++)
        same = rows[i].entry->pid == expected[i];
    CHECK(same);
    if (!same) {
        fprintf(stderr, "  line %d: got", line);
        for (size_t i = 0; i < count; i++)
            fprintf(stderr, " %d%s", (int)rows[i].entry->pid, rows[i].entry->is_thread ? "t" : "");
        fprintf(stderr, ", expected");
        for (size_t i = 0; i < expected_count; i++)
            fprintf(stderr, " %d", (int)expected[i]);
        fprintf(stderr, "\n");
    }
}

#define CHECK_PIDS(count, ...)                                                                     \
    do {                                                                                           \
        static const pid_t expected_[] = {__VA_ARGS__};                                            \
        check_pids(count, expected_, sizeof expected_ / sizeof expected_[0], __LINE__);            \
    } while (0)

/* ---- sorting ---- */

/* Gives entry i values with many ties in every column. */
static void fill_with_ties(struct proc_entry *e, int i)
{
    static const char *const users[] = {"root", "Alice", "bob", "alice"};
    static const char *const commands[] = {"/usr/bin/zsh", "Bash", "bash", "[x]", "apache"};
    static const char states[] = {'S', 'R', 'D', 'S', 'Z'};
    snprintf(e->user, sizeof e->user, "%s", users[i % 4]);
    e->cmdline = (char *)commands[i % 5];
    e->metrics.priority = 20 - i % 3;
    e->metrics.nice = i % 3 - 1;
    e->metrics.vsize_bytes = (uint64_t)(i % 4) << 30;
    e->metrics.rss_bytes = (uint64_t)(i % 5) << 20;
    e->metrics.state = states[i % 5];
    e->cpu_percent = (i % 3) * 12.5;
    e->mem_percent = (i % 4) * 0.5;
    e->metrics.utime_ticks = (uint64_t)(i % 3) * 100;
    e->metrics.stime_ticks = (uint64_t)(i % 2) * 100;
    e->metrics.num_threads = 1 + i % 3;
}

static void test_sort_every_column(void)
{
    reset();
    /* pids deliberately not in table order */
    for (int i = 0; i < 30; i++)
        fill_with_ties(add_process((pid_t)(1000 + (i * 17) % 30), 1, "p", 0), i);

    for (int c = 0; c < COLUMN_COUNT; c++) {
        for (int descending = 0; descending <= 1; descending++) {
            struct procview_options o = options_default();
            o.sort_column = (enum column_id)c;
            o.descending = descending;
            size_t n = build(&o);
            CHECK_INT(n, 30);
            int ties = 0;
            for (size_t i = 1; i < n; i++) {
                int r = columns_compare_value(o.sort_column, rows[i - 1].entry, rows[i].entry);
                if (descending)
                    r = -r;
                CHECK(r <= 0);
                if (r == 0) {
                    ties++;
                    CHECK(rows[i - 1].entry->pid < rows[i].entry->pid); /* ties: pid asc */
                }
                CHECK_INT(rows[i].depth, 0);
            }
            if (c != COLUMN_PID)
                CHECK(ties > 0); /* the data really has ties in this column */
        }
    }
}

static void test_sort_examples(void)
{
    reset();
    add_process(30, 1, "c", 5.0);
    add_process(10, 1, "a", 50.0);
    add_process(40, 1, "d", 5.0);
    add_process(20, 1, "b", 0.0);
    struct procview_options o = options_default();
    o.sort_column = COLUMN_CPU;
    o.descending = true;
    CHECK_PIDS(build(&o), 10, 30, 40, 20); /* ties 30/40 stay pid ascending */
    o.descending = false;
    CHECK_PIDS(build(&o), 20, 30, 40, 10);
    o.sort_column = COLUMN_PID;
    CHECK_PIDS(build(&o), 10, 20, 30, 40);
    o.descending = true;
    CHECK_PIDS(build(&o), 40, 30, 20, 10);
    o.sort_column = COLUMN_COMMAND;
    o.descending = false;
    CHECK_PIDS(build(&o), 10, 20, 30, 40);

    /* The row buffer is reused: no regrowth for the same count. */
    struct procview_row *before = rows;
    size_t capacity = rows_capacity;
    build(&o);
    CHECK(rows == before);
    CHECK_INT(rows_capacity, capacity);
    CHECK(rows_capacity >= 4);

    /* Empty input gives no rows, and NULL options mean the defaults (pid order). */
    CHECK_INT(procview_build(entries, 0, &o, &rows, &rows_capacity), 0);
    CHECK_PIDS(procview_build(entries, pool_count, NULL, &rows, &rows_capacity), 10, 20, 30, 40);
}

/* ---- toggles and filters ---- */

static void build_threaded_table(void)
{
    reset();
    add_thread(101, 100, "worker-1", 1.0); /* threads before their process, on purpose */
    add_thread(102, 100, "worker-2", 3.0);
    add_thread(100, 100, "server", 0.5); /* main thread: same id as the process */
    add_process(200, 1, "sshd", 10.0)->cmdline = "/usr/sbin/sshd -D";
    add_process(100, 1, "server", 5.0)->cmdline = "/opt/server --port 80";
    add_thread(201, 200, "sshd", 0.0);
    add_process(1, 0, "systemd", 0.1);
    struct proc_entry *k = add_process(2, 0, "kthreadd", 0.0);
    k->is_kernel_thread = true;
    k = add_process(5, 2, "kworker/0:1", 0.2);
    k->is_kernel_thread = true;
    add_thread(901, 900, "orphan-thread", 0.3); /* its process 900 is not in the table */
}

static void test_threads_and_kernel_threads(void)
{
    build_threaded_table();
    struct procview_options o = options_default();
    o.sort_column = COLUMN_CPU;
    o.descending = true;

    /* Threads off: processes only, kernel threads included. */
    CHECK_PIDS(build(&o), 200, 100, 5, 1, 2);

    /* Threads on: each process directly followed by its threads, sorted the same way; the
     * orphan thread is a row of its own. */
    o.show_threads = true;
    size_t n = build(&o);
    CHECK_PIDS(n, 200, 201, 100, 102, 101, 100, 901, 5, 1, 2);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(rows[i].depth, 0); /* flat mode */
        CHECK_INT(rows[i].open_ancestors, 0);
    }
    CHECK(!rows[2].entry->is_thread && rows[5].entry->is_thread);

    /* Ascending: threads too. */
    o.descending = false;
    CHECK_PIDS(build(&o), 2, 1, 5, 901, 100, 100, 101, 102, 200, 201);

    /* Kernel threads off. */
    o.show_kernel_threads = false;
    o.descending = true;
    CHECK_PIDS(build(&o), 200, 201, 100, 102, 101, 100, 901, 1);
    o.show_threads = false;
    CHECK_PIDS(build(&o), 200, 100, 1);
}

static void test_filters(void)
{
    build_threaded_table();
    struct procview_options o = options_default();
    o.show_threads = true;

    /* comm, case-insensitive */
    o.filter = "SSH";
    CHECK_PIDS(build(&o), 200, 201);
    /* cmdline */
    o.filter = "--PORT";
    CHECK_PIDS(build(&o), 100, 100, 101, 102); /* a matching process keeps all its threads */
    /* a thread matches by its own comm and keeps its process as context, not its siblings */
    o.filter = "worker-2";
    CHECK_PIDS(build(&o), 100, 102);
    o.filter = "worker-";
    CHECK_PIDS(build(&o), 100, 101, 102);
    /* ...but not when threads are hidden */
    o.show_threads = false;
    CHECK_INT(build(&o), 0);
    o.filter = "";
    CHECK_INT(build(&o), 5); /* an empty filter is no filter */
    o.filter = "no such thing";
    CHECK_INT(build(&o), 0);
}

static void test_pid_list(void)
{
    build_threaded_table();
    struct procview_options o = options_default();
    o.show_threads = true;
    static const pid_t two[] = {200, 5};
    o.pids = two;
    o.pid_count = 2;
    CHECK_PIDS(build(&o), 5, 200, 201);
    o.show_kernel_threads = false;
    CHECK_PIDS(build(&o), 200, 201);
    o.tree = true; /* no ancestors for the pid list */
    CHECK_PIDS(build(&o), 200, 201);
    CHECK_INT(rows[0].depth, 0);
    CHECK_INT(rows[1].depth, 1);

    static const pid_t orphan[] = {900};
    o.pids = orphan;
    o.pid_count = 1;
    CHECK_PIDS(build(&o), 901);
    o.pid_count = 0; /* an empty list selects nothing (NULL selects everything) */
    CHECK_INT(build(&o), 0);
    o.pids = NULL; /* all but the two kernel threads */
    CHECK_INT(build(&o), 8);
}

/* ---- tree ---- */

/* Checks what the console relies on to draw the tree: depth steps by at most one; a process
 * row's parent row (nearest earlier row one level up) is its ppid, a thread's is its
 * process; last_sibling and open_ancestors agree with the rows that follow. Roots may have
 * any ppid (orphans, cut cycles). */
static void check_tree_shape(size_t n)
{
    static size_t ancestor[POOL_MAX]; /* index of the latest row at each depth */
    static bool later[POOL_MAX + 1];  /* reverse scan: a later row at this depth, same parent */
    int bad_step = 0, bad_parent = 0, bad_last = 0, bad_open = 0, max_depth = -1;

    for (size_t i = 0; i < n; i++) {
        int d = rows[i].depth;
        if (d < 0 || d > max_depth + 1 || d >= POOL_MAX) {
            bad_step++;
            continue;
        }
        ancestor[d] = i;
        max_depth = d;
        if (d == 0)
            continue;
        const struct proc_entry *e = rows[i].entry, *parent = rows[ancestor[d - 1]].entry;
        if (parent->is_thread || parent->pid != (e->is_thread ? e->tgid : e->metrics.ppid))
            bad_parent++;
        uint64_t open = 0;
        for (int k = 0; k < d && k < 64; k++)
            if (!rows[ancestor[k]].last_sibling)
                open |= UINT64_C(1) << k;
        if (open != rows[i].open_ancestors)
            bad_open++;
    }
    if (n && rows[0].depth == 0 && rows[0].open_ancestors != 0)
        bad_open++;

    memset(later, 0, sizeof later);
    int deepest = 0;
    for (size_t i = n; i-- > 0;) {
        int d = rows[i].depth;
        if (d < 0 || d >= POOL_MAX)
            continue;
        for (int k = d + 1; k <= deepest; k++)
            later[k] = false;
        deepest = d;
        if (rows[i].last_sibling == later[d])
            bad_last++;
        later[d] = true;
    }
    CHECK_INT(bad_step, 0);
    CHECK_INT(bad_parent, 0);
    CHECK_INT(bad_last, 0);
    CHECK_INT(bad_open, 0);
}

static void check_rows(size_t n, const int *depth, const bool *last, const uint64_t *open, int line)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].depth != depth[i] || rows[i].last_sibling != last[i] ||
            rows[i].open_ancestors != open[i]) {
            fprintf(stderr, "  line %d: row %zu (pid %d): depth %d last %d open %#llx\n", line, i,
                    (int)rows[i].entry->pid, rows[i].depth, rows[i].last_sibling,
                    (unsigned long long)rows[i].open_ancestors);
            bad++;
        }
    CHECK_INT(bad, 0);
}

#define CHECK_ROWS(n, depths, lasts, opens)                                                        \
    do {                                                                                           \
        static const int depth_[] = depths;                                                        \
        static const bool last_[] = lasts;                                                         \
        static const uint64_t open_[] = opens;                                                     \
        CHECK_INT(n, sizeof depth_ / sizeof depth_[0]);                                            \
        if ((size_t)(n) == sizeof depth_ / sizeof depth_[0])                                       \
            check_rows(n, depth_, last_, open_, __LINE__);                                         \
    } while (0)
#define LIST(...)                                                                                  \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

/*   1 init                    500 orphan (parent 499 absent)
 *   ├─ 10 alpha
 *   │  ├─ 11 alpha-one
 *   │  │  └─ 13 deep-leaf
 *   │  └─ 12 alpha-two
 *   ├─ 20 beta
 *   │  └─ 21 beta-one
 *   └─ 30 gamma                                              (listed in scrambled order) */
static void build_three_level_tree(void)
{
    reset();
    add_process(21, 20, "beta-one", 0);
    add_process(13, 11, "deep-leaf", 0);
    add_process(500, 499, "orphan", 0.1);
    add_process(30, 1, "gamma", 5);
    add_process(12, 10, "alpha-two", 3);
    add_process(1, 0, "init", 0);
    add_process(20, 1, "beta", 9);
    add_process(11, 10, "alpha-one", 2);
    add_process(10, 1, "alpha", 1);
}

static void test_tree(void)
{
    build_three_level_tree();
    struct procview_options o = options_default();
    o.tree = true;

    size_t n = build(&o);
    CHECK_PIDS(n, 1, 10, 11, 13, 12, 20, 21, 30, 500);
    CHECK_ROWS(n, LIST(0, 1, 2, 3, 2, 1, 2, 1, 0), LIST(0, 0, 0, 1, 1, 0, 1, 1, 1),
               LIST(0, 1, 3, 7, 3, 1, 3, 1, 0));
    check_tree_shape(n);

    o.descending = true;
    n = build(&o);
    CHECK_PIDS(n, 500, 1, 30, 20, 21, 10, 12, 11, 13);
    CHECK_ROWS(n, LIST(0, 0, 1, 1, 2, 1, 2, 2, 3), LIST(0, 1, 0, 0, 1, 1, 0, 1, 1),
               LIST(0, 0, 0, 0, 2, 0, 0, 0, 0));
    check_tree_shape(n);

    /* Siblings follow the sort column. */
    o.sort_column = COLUMN_CPU;
    n = build(&o);
    CHECK_PIDS(n, 500, 1, 20, 21, 30, 10, 12, 11, 13);
    check_tree_shape(n);

    /* Flat mode ignores parents entirely. */
    o.tree = false;
    n = build(&o);
    CHECK_PIDS(n, 20, 30, 12, 11, 10, 500, 1, 13, 21);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(rows[i].depth, 0);
}

static void test_tree_threads(void)
{
    reset();
    add_thread(31, 30, "t31", 0);
    add_process(11, 10, "child", 0);
    add_thread(15, 10, "t15", 0);
    add_process(30, 1, "leaf", 0);
    add_process(10, 1, "parent", 0);
    add_thread(14, 10, "t14", 0);
    add_process(1, 0, "init", 0);
    struct procview_options o = options_default();
    o.tree = true;
    o.show_threads = true;

    /* Threads first under their process (depth + 1), then its child processes. */
    size_t n = build(&o);
    CHECK_PIDS(n, 1, 10, 14, 15, 11, 30, 31);
    CHECK_ROWS(n, LIST(0, 1, 2, 2, 2, 1, 2), LIST(1, 0, 0, 0, 1, 1, 1), LIST(0, 0, 2, 2, 2, 0, 0));
    CHECK(rows[2].entry->is_thread && !rows[4].entry->is_thread);
    check_tree_shape(n);

    o.show_threads = false;
    n = build(&o);
    CHECK_PIDS(n, 1, 10, 11, 30);
    CHECK_ROWS(n, LIST(0, 1, 2, 1), LIST(1, 0, 1, 1), LIST(0, 0, 2, 0));
}

static void test_tree_filter(void)
{
    build_three_level_tree();
    struct procview_options o = options_default();
    o.tree = true;

    /* A deep match keeps its ancestors, and only them. */
    o.filter = "LEAF";
    size_t n = build(&o);
    CHECK_PIDS(n, 1, 10, 11, 13);
    CHECK_ROWS(n, LIST(0, 1, 2, 3), LIST(1, 1, 1, 1), LIST(0, 0, 0, 0));

    o.filter = "alpha";
    n = build(&o);
    CHECK_PIDS(n, 1, 10, 11, 12);
    CHECK_ROWS(n, LIST(0, 1, 2, 2), LIST(1, 1, 0, 1), LIST(0, 0, 0, 0));
    check_tree_shape(n);

    o.filter = "o"; /* init, alpha-one, alpha-two, beta-one, orphan */
    n = build(&o);
    CHECK_PIDS(n, 1, 10, 11, 12, 20, 21, 500);
    check_tree_shape(n);

    /* Flat mode: matches only. */
    o.tree = false;
    o.filter = "alpha";
    CHECK_PIDS(build(&o), 10, 11, 12);

    /* A process outside the pid list is no parent: its children become roots. */
    static const pid_t some[] = {11, 13, 20};
    o.tree = true;
    o.filter = NULL;
    o.pids = some;
    o.pid_count = 3;
    n = build(&o);
    CHECK_PIDS(n, 11, 13, 20);
    CHECK_ROWS(n, LIST(0, 1, 0), LIST(0, 1, 1), LIST(0, 1, 0));
}

static void test_tree_cycles(void)
{
    reset();
    add_process(1, 0, "init", 0);
    add_process(40, 41, "two-a", 0);
    add_process(41, 40, "two-b", 0);
    add_process(42, 41, "hangs-off-x", 0);
    add_process(43, 43, "self", 0);
    add_process(44, 45, "three-a", 0);
    add_process(45, 46, "three-b", 0);
    add_process(46, 44, "three-c", 0);
    add_process(47, 46, "child-of-three", 0);
    struct procview_options o = options_default();
    o.tree = true;

    size_t n = build(&o);
    CHECK_PIDS(n, 1, 40, 41, 42, 43, 44, 46, 45, 47);
    CHECK_ROWS(n, LIST(0, 0, 1, 2, 0, 0, 1, 2, 2), LIST(0, 0, 1, 1, 0, 1, 1, 0, 1),
               LIST(0, 0, 1, 1, 0, 0, 0, 0, 0));

    /* Descending: the cycles are cut elsewhere, still every entry exactly once. */
    o.descending = true;
    n = build(&o);
    CHECK_INT(n, pool_count);
    bool seen[POOL_MAX] = {false};
    int duplicates = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(rows[i].entry - pool);
        duplicates += seen[k];
        seen[k] = true;
    }
    CHECK_INT(duplicates, 0);

    /* Ancestor keeping in a filtered tree stops on a cycle. */
    o.descending = false;
    o.filter = "x";
    n = build(&o);
    CHECK_PIDS(n, 40, 41, 42);
    CHECK_ROWS(n, LIST(0, 1, 2), LIST(1, 1, 1), LIST(0, 0, 0));
}

static void test_deep_tree(void)
{
    reset();
    for (pid_t pid = 1; pid <= 5000; pid++)
        add_process(pid, pid - 1, "chain", 0);
    struct procview_options o = options_default();
    o.tree = true;
    size_t n = build(&o);
    CHECK_INT(n, 5000);
    CHECK_INT(rows[4999].depth, 4999);
    CHECK_INT(rows[4999].entry->pid, 5000);
    check_tree_shape(n);

    /* Deep with siblings everywhere: open_ancestors keeps its low 64 bits. */
    reset();
    for (pid_t pid = 1; pid <= 200; pid++) {
        add_process(pid, pid - 1, "spine", 0);
        add_process(1000 + pid, pid - 1, "sibling", 0); /* later sibling of every spine node */
    }
    n = build(&o);
    CHECK_INT(n, 400);
    check_tree_shape(n);
    CHECK_INT(rows[150].depth, 150);
    CHECK(rows[150].open_ancestors == UINT64_MAX); /* every ancestor has a later sibling */
    CHECK_INT(rows[150].entry->pid, 151);
}

/* ---- search and index_of ---- */

static void test_search(void)
{
    reset();
    add_process(1, 0, "init", 0);
    add_process(2, 1, "bash", 0);
    add_process(3, 1, "vim", 0)->cmdline = "vim /etc/BASHRC";
    add_process(4, 1, "Bash", 0);
    add_process(5, 1, "zsh", 0);
    struct procview_options o = options_default();
    size_t n = build(&o);
    CHECK_INT(n, 5);

    CHECK_INT(procview_search(rows, n, 0, "BASH", 1), 1);
    CHECK_INT(procview_search(rows, n, 1, "bash", 1), 1); /* start first */
    CHECK_INT(procview_search(rows, n, 2, "bash", 1), 2); /* cmdline */
    CHECK_INT(procview_search(rows, n, 4, "bash", 1), 1); /* wraps */
    CHECK_INT(procview_search(rows, n, 4, "bash", -1), 3);
    CHECK_INT(procview_search(rows, n, 0, "bash", -1), 3); /* wraps backwards */
    CHECK_INT(procview_search(rows, n, 0, "zsh", -1), 4);
    CHECK_INT(procview_search(rows, n, 3, "init", 1), 0);
    CHECK_INT(procview_search(rows, n, 0, "emacs", 1), -1);
    CHECK_INT(procview_search(rows, n, 3, "emacs", -1), -1);
    CHECK_INT(procview_search(rows, 0, 0, "bash", 1), -1);
    CHECK_INT(procview_search(rows, n, 99, "bash", 1), 1);  /* out of range: from the top */
    CHECK_INT(procview_search(rows, n, 99, "bash", -1), 3); /* ...or the bottom */
    CHECK_INT(procview_search(rows, n, 2, "", 1), 2);

    struct proc_entry e = {0};
    snprintf(e.comm, sizeof e.comm, "kworker/0:1H");
    CHECK(procview_matches(&e, "0:1h"));
    CHECK(procview_matches(&e, "KWORKER"));
    CHECK(!procview_matches(&e, "kworker/0:1H-"));
    CHECK(procview_matches(&e, NULL));
    e.cmdline = "caf\xc3\xa9 --x";
    CHECK(procview_matches(&e, "\xc3\xa9 --X"));
    CHECK(!procview_matches(&e, "\xc3\x89")); /* only ASCII folds */
}

static void test_index_of(void)
{
    build_threaded_table();
    struct procview_options o = options_default();
    o.show_threads = true;
    size_t n = build(&o);
    CHECK_PIDS(n, 1, 2, 5, 100, 100, 101, 102, 200, 201, 901);
    CHECK_INT(procview_index_of(rows, n, 100), 3); /* the process, not its main thread */
    CHECK(!rows[3].entry->is_thread);
    CHECK_INT(procview_index_of(rows, n, 102), 6);
    CHECK_INT(procview_index_of(rows, n, 901), 9);
    CHECK_INT(procview_index_of(rows, n, 1), 0);
    CHECK_INT(procview_index_of(rows, n, 999), -1);
    CHECK_INT(procview_index_of(rows, 0, 1), -1);
    /* Only the main thread's row left: it is found. */
    o.pids = (const pid_t[]){100};
    o.pid_count = 1;
    o.filter = "server";
    n = build(&o);
    CHECK_PIDS(n, 100, 100, 101, 102);
    CHECK_INT(procview_index_of(rows + 1, n - 1, 100), 0);
}

/* ---- a large random table ---- */

static uint64_t random_state = 88172645463325252u;

static unsigned next_random(unsigned bound)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return (unsigned)(random_state % bound);
}

static char random_names[POOL_MAX][16];

static void build_random_table(void)
{
    reset();
    for (int i = 0; i < 4000; i++) {
        pid_t pid = (pid_t)(1 + (i * 1999) % 4000); /* every pid 1..4000, scrambled */
        snprintf(random_names[i], sizeof random_names[i], "p%u", next_random(500));
        struct proc_entry *e =
            add_process(pid, (pid_t)next_random(4100), random_names[i], next_random(50) / 4.0);
        e->is_kernel_thread = next_random(20) == 0;
        e->metrics.rss_bytes = next_random(1000);
    }
    for (int i = 4000; i < 5000; i++) {
        snprintf(random_names[i], sizeof random_names[i], "t%u", next_random(500));
        add_thread((pid_t)(5001 + i), (pid_t)(1 + next_random(4100)), random_names[i],
                   next_random(50) / 4.0);
    }
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void test_random_table(void)
{
    build_random_table();
    struct procview_options o = options_default();
    o.show_threads = true;
    static const enum column_id columns[] = {COLUMN_PID, COLUMN_CPU, COLUMN_RSS, COLUMN_COMMAND};

    for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++) {
        for (int tree = 0; tree <= 1; tree++) {
            o.sort_column = columns[c];
            o.tree = tree;
            o.descending = c % 2;
            o.filter = NULL;
            size_t n = build(&o);
            CHECK_INT(n, 5000); /* everything shown, each once */
            static bool seen[POOL_MAX];
            memset(seen, 0, sizeof seen);
            int duplicates = 0;
            for (size_t i = 0; i < n; i++) {
                size_t k = (size_t)(rows[i].entry - pool);
                duplicates += seen[k];
                seen[k] = true;
            }
            CHECK_INT(duplicates, 0);
            if (tree)
                check_tree_shape(n);

            /* Filtered: every match is shown; in a tree with its ancestors. */
            o.filter = "P7";
            n = build(&o);
            size_t matches = 0, shown_matches = 0;
            for (size_t i = 0; i < pool_count; i++)
                matches += !pool[i].is_thread && procview_matches(&pool[i], "p7");
            for (size_t i = 0; i < n; i++)
                shown_matches += !rows[i].entry->is_thread && procview_matches(rows[i].entry, "p7");
            CHECK_INT(shown_matches, matches);
            CHECK(matches > 0);
            if (tree)
                check_tree_shape(n);
            else
                CHECK(n >= matches && n < 5000);
        }
    }

    /* Speed: O(n log n), well under a frame even with sanitizers. */
    o.filter = NULL;
    o.tree = true;
    o.sort_column = COLUMN_CPU;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < 20; i++)
        build(&o);
    double per_build = seconds_since(&start) / 20;
    printf("tree build of 5000 entries: %.3f ms\n", per_build * 1e3);
    CHECK(per_build < 0.25);
}

int main(void)
{
    test_sort_every_column();
    test_sort_examples();
    test_threads_and_kernel_threads();
    test_filters();
    test_pid_list();
    test_tree();
    test_tree_threads();
    test_tree_filter();
    test_tree_cycles();
    test_deep_tree();
    test_search();
    test_index_of();
    test_random_table();
    free(rows);
    return CHECK_DONE();
}
