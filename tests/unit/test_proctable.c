/*
 * test_proctable: mark and sweep over two captured-style proc trees (tests/data/proc/tree1,
 * then tree2 behind the same symlink: one process exited, one new, one pid reused with a new
 * starttime, CPU time advanced, an exec, a thread gone and one born), then a live smoke test
 * against the real /proc.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "proctable.h"

#define TREE1 TEST_DATA_DIR "/proc/tree1"
#define TREE2 TEST_DATA_DIR "/proc/tree2"

static bool near(double actual, double expected)
{
    return fabs(actual - expected) <= 1e-9 * (fabs(expected) + 1);
}

static void sleep_ms(long milliseconds)
{
    struct timespec pause = {milliseconds / 1000, (milliseconds % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
        ;
}

/* Points link at target (atomically, as a rename). */
static void point_link(const char *link, const char *target)
{
    char temporary[512];
    snprintf(temporary, sizeof(temporary), "%s.new", link);
    unlink(temporary);
    if (symlink(target, temporary) < 0 || rename(temporary, link) < 0) {
        perror("symlink");
        exit(2);
    }
}

/* The row (process or thread) with this pid, or NULL. */
static const struct proc_entry *find_row(const struct proctable *table, pid_t pid)
{
    size_t count;
    const struct proc_entry *const *rows = proctable_entries(table, &count);
    for (size_t i = 0; i < count; i++) {
        if (rows[i]->pid == pid)
            return rows[i];
    }
    return NULL;
}

/* What usernames should say for uid on this machine. */
static void expected_user(uid_t uid, char *out, size_t size)
{
    struct passwd *entry = getpwuid(uid);
    if (entry)
        snprintf(out, size, "%s", entry->pw_name);
    else
        snprintf(out, size, "%u", (unsigned)uid);
}

static void check_first_tree(const struct proctable *table)
{
    long page_size = sysconf(_SC_PAGESIZE);
    CHECK_INT(proctable_tick(table), 1);
    CHECK(proctable_interval_seconds(table) == 0);
    /* 9 processes (800 has no stat, self and 12abc are not pids) + threads 101 and 102. */
    CHECK_INT(proctable_count(table), 11);
    size_t count = 0;
    const struct proc_entry *const *rows = proctable_entries(table, &count);
    CHECK_INT(count, 11);
    for (size_t i = 0; i < count; i++)
        CHECK(rows[i] == proctable_entry(table, i));

    const struct proc_entry *init = proctable_find(table, 1);
    CHECK(init != NULL);
    if (init) {
        CHECK_STR(init->comm, "systemd");
        CHECK_STR(init->cmdline, "/sbin/init splash");
        CHECK_INT(init->uid, 0);
        char root_name[64];
        expected_user(0, root_name, sizeof(root_name));
        CHECK_STR(init->user, root_name);
        CHECK_INT(init->metrics.fd_count, 4);
        CHECK_INT(init->metrics.voluntary_ctxsw, 10);
        CHECK_INT(init->metrics.involuntary_ctxsw, 2);
        CHECK_INT(init->metrics.read_bytes, 1000);
        CHECK_INT(init->metrics.write_bytes, 2000);
        CHECK_INT(init->first_seen_tick, 1);
        CHECK_INT(init->details_tick, 1);
        CHECK(init->cpu_percent == 0);
        CHECK(!init->is_kernel_thread);
        CHECK(!init->is_thread);
        CHECK_INT(init->tgid, 1);
    }
    const struct proc_entry *kthreadd = proctable_find(table, 2);
    const struct proc_entry *kworker = proctable_find(table, 3);
    CHECK(kthreadd && kthreadd->is_kernel_thread);
    CHECK(kworker && kworker->is_kernel_thread);
    if (kworker) {
        CHECK_STR(kworker->cmdline, "");
        CHECK_STR(kworker->comm, "kworker/0:1-events");
        CHECK_INT(kworker->metrics.ppid, 2);
        CHECK_INT(kworker->metrics.state, 'I');
    }

    const struct proc_entry *app = proctable_find(table, 100);
    CHECK(app != NULL);
    if (app) {
        CHECK_STR(app->comm, "app server");
        CHECK_STR(app->cmdline, "app --serve");
        CHECK_INT(app->metrics.num_threads, 3);
        CHECK_INT(app->metrics.rss_bytes, 2500 * (uint64_t)page_size);
        CHECK(near(app->mem_percent, 2500.0 * (double)page_size / (1000000.0 * 1024) * 100));
        CHECK_INT(app->metrics.processor, 1);
        CHECK_INT(app->metrics.utime_ticks, 50);
        CHECK_INT(app->metrics.stime_ticks, 5);
        CHECK_INT(app->metrics.fd_count, 3);
        CHECK_INT(app->metrics.read_bytes, 4096);
        CHECK_STR(app->wchan, ""); /* not the details process */
    }
    CHECK(proctable_find(table, 101) == NULL); /* a thread, not a process */
    const struct proc_entry *worker = find_row(table, 101);
    CHECK(worker && worker->is_thread);
    if (worker) {
        CHECK_INT(worker->tgid, 100);
        CHECK_STR(worker->comm, "app worker");
        CHECK_STR(worker->cmdline, "app --serve");
        CHECK_INT(worker->metrics.num_threads, 1);
        CHECK_INT(worker->metrics.fd_count, -1);
    }
    const struct proc_entry *io_thread = find_row(table, 102);
    CHECK(io_thread && io_thread->is_thread && io_thread->metrics.state == 'D');

    const struct proc_entry *parens = proctable_find(table, 200);
    CHECK(parens != NULL);
    if (parens) {
        char name[64];
        expected_user(59999, name, sizeof(name));
        CHECK_STR(parens->comm, "(a) (b)");
        CHECK_INT(parens->uid, 59999);
        CHECK_STR(parens->user, name);
    }
    const struct proc_entry *zombie = proctable_find(table, 400);
    CHECK(zombie && zombie->metrics.state == 'Z' && zombie->cmdline[0] == '\0');
    CHECK(proctable_find(table, 800) == NULL);
    CHECK(proctable_find(table, 999) == NULL);
    CHECK(proctable_find(table, 12) == NULL);

    const struct system_metrics *system = proctable_system(table);
    CHECK_INT(system->cpu_count, 2);
    CHECK_INT(system->cpu_total_raw.user, 1000);
    CHECK(near(system->cpu_total.user_percent, 10.0)); /* since boot on the first tick */
    CHECK(near(system->cpu_total.total_percent, 18.0));
    CHECK_INT(system->mem_total_bytes, 1000000ULL * 1024);
    CHECK_INT(system->mem_free_bytes, 400000ULL * 1024);
    CHECK_INT(system->mem_available_bytes, 600000ULL * 1024);
    CHECK_INT(system->mem_buffers_bytes, 10000ULL * 1024);
    CHECK_INT(system->mem_cached_bytes, 215000ULL * 1024);
    CHECK_INT(system->mem_shared_bytes, 5000ULL * 1024);
    CHECK_INT(system->mem_used_bytes, 375000ULL * 1024);
    CHECK_INT(system->swap_total_bytes, 500000ULL * 1024);
    CHECK_INT(system->swap_free_bytes, 250000ULL * 1024);
    CHECK(near(system->load[0], 0.5) && near(system->load[1], 0.25) && near(system->load[2], 0.1));
    CHECK(near(system->uptime_seconds, 1000.5));
    CHECK_INT(proctable_boot_time(table), 1700000000);
    CHECK_INT(system->tasks_total, 9);
    CHECK_INT(system->tasks_running, 0);
    CHECK_INT(system->kernel_threads, 2);
    CHECK_INT(system->threads_total, 9);
    CHECK(system->timestamp_us > 1600000000ULL * 1000000);
}

static void check_second_tree(const struct proctable *table)
{
    double interval = proctable_interval_seconds(table);
    double ticks_per_second = (double)proctable_clock_ticks(table);
    CHECK_INT(proctable_tick(table), 2);
    CHECK(interval >= 0.15);
    /* 9 processes: 200 gone, 500 new; threads 101 and 103 (102 exited), and, since 100 is
     * the details process, its main thread 100 as a thread row of its own. */
    CHECK_INT(proctable_count(table), 12);
    const struct proc_entry *const *rows = NULL;
    size_t row_count = 0;
    rows = proctable_entries(table, &row_count);
    int main_thread_rows = 0, process_rows_100 = 0;
    for (size_t i = 0; i < row_count; i++) {
        if (rows[i]->pid == 100 && rows[i]->is_thread && rows[i]->tgid == 100)
            main_thread_rows++;
        if (rows[i]->pid == 100 && !rows[i]->is_thread)
            process_rows_100++;
    }
    CHECK_INT(main_thread_rows, 1);
    CHECK_INT(process_rows_100, 1);
    CHECK(proctable_find(table, 200) == NULL);
    CHECK(find_row(table, 102) == NULL);

    const struct proc_entry *reused = proctable_find(table, 300);
    CHECK(reused != NULL);
    if (reused) {
        CHECK_STR(reused->comm, "newproc");
        CHECK_STR(reused->cmdline, "newproc --new");
        CHECK_INT(reused->starttime_ticks, 9000);
        CHECK_INT(reused->first_seen_tick, 2);
        CHECK(reused->cpu_percent == 0); /* a new identity has no previous sample */
    }
    const struct proc_entry *fresh = proctable_find(table, 500);
    CHECK(fresh && fresh->first_seen_tick == 2 && fresh->metrics.ppid == 100);

    const struct proc_entry *init = proctable_find(table, 1);
    CHECK(init != NULL);
    if (init) {
        CHECK_INT(init->first_seen_tick, 1);
        /* Idle and not its staggered turn: status is not read again, the last value stays. */
        CHECK_INT(init->details_tick, 1);
        CHECK_INT(init->metrics.voluntary_ctxsw, 10);
        CHECK(init->cpu_percent == 0);
    }

    const struct proc_entry *app = proctable_find(table, 100);
    CHECK(app != NULL);
    if (app) {
        CHECK_INT(app->first_seen_tick, 1);
        CHECK(app->cpu_percent > 0);
        CHECK(near(app->cpu_percent, 2.0 / (ticks_per_second * interval) * 100.0));
        CHECK_INT(app->details_tick, 2);
        CHECK_INT(app->metrics.voluntary_ctxsw, 25);
        CHECK_INT(app->metrics.read_bytes, 8192);
        CHECK(near(app->read_rate, 4096.0 / interval));
        CHECK(app->write_rate == 0);
        CHECK_STR(app->wchan, "do_epoll_wait");
    }
    const struct proc_entry *worker = find_row(table, 101);
    CHECK(worker != NULL);
    if (worker) {
        CHECK_INT(worker->first_seen_tick, 1);
        CHECK(near(worker->cpu_percent, 1.0 / (ticks_per_second * interval) * 100.0));
        CHECK_STR(worker->wchan, "futex_wait_queue");
        CHECK_INT(worker->metrics.voluntary_ctxsw, 40);
    }
    const struct proc_entry *newborn = find_row(table, 103);
    CHECK(newborn && newborn->is_thread && newborn->tgid == 100);
    if (newborn) {
        CHECK_INT(newborn->first_seen_tick, 2);
        CHECK_STR(newborn->wchan, ""); /* "0" means not waiting */
    }

    const struct proc_entry *execed = proctable_find(table, 600);
    CHECK(execed != NULL);
    if (execed) {
        CHECK_INT(execed->first_seen_tick, 1);
        CHECK_STR(execed->comm, "python3");
        CHECK_STR(execed->cmdline, "python3 x.py"); /* comm changed: read again */
    }
    const struct proc_entry *stable = proctable_find(table, 700);
    CHECK(stable && strcmp(stable->cmdline, "stable --v1") == 0); /* read once per identity */

    const struct system_metrics *system = proctable_system(table);
    CHECK(near(system->cpu_total.user_percent, 100.0 / 350 * 100));
    CHECK(near(system->cpu_total.system_percent, 100.0 / 350 * 100));
    CHECK(near(system->cpu_total.total_percent, 200.0 / 350 * 100));
    CHECK(near(system->cpu[0].user_percent, 100.0 / 150 * 100));
    CHECK(near(system->cpu[1].system_percent, 50.0));
    CHECK(near(system->cpu[1].total_percent, 50.0));
    CHECK(near(system->load[0], 1.5));
    CHECK_INT(system->tasks_total, 9);
    CHECK_INT(system->tasks_running, 2);
    CHECK_INT(system->kernel_threads, 2);
    CHECK_INT(system->threads_total, 9);
}

static void test_fake_trees(void)
{
    char directory[] = "/tmp/test_proctable.XXXXXX";
    if (!mkdtemp(directory)) {
        perror("mkdtemp");
        exit(2);
    }
    char link[600];
    snprintf(link, sizeof(link), "%s/proc", directory);
    point_link(link, TREE1);

    struct proctable *table = proctable_new(link);
    struct proctable_options options = {.collect_threads = true, .details_every = 100};
    char err[256] = "";
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    check_first_tree(table);

    sleep_ms(200);
    point_link(link, TREE2);
    options.details_pid = 100;
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    check_second_tree(table);

    /* Third tick on the same tree: every process is due, threads are no longer wanted. */
    options = (struct proctable_options){.collect_threads = false, .details_every = 1};
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    CHECK_INT(proctable_count(table), 9);
    const struct proc_entry *init = proctable_find(table, 1);
    CHECK(init && init->metrics.voluntary_ctxsw == 99 && init->details_tick == 3);
    const struct proc_entry *app = proctable_find(table, 100);
    CHECK(app && app->wchan[0] == '\0' && app->cpu_percent == 0);
    CHECK(find_row(table, 101) == NULL);

    struct proc_details details;
    CHECK_INT(proctable_read_details(table, 100, &details, err, sizeof(err)), 0);
    CHECK_STR(details.cmdline, "app --serve");
    CHECK_STR(details.cwd, "(none)");
    CHECK_STR(details.exe, "(none)");
    CHECK(details.environ_hint == NULL);
    proc_details_free(&details);
    CHECK_INT(proctable_read_details(table, 200, &details, err, sizeof(err)), -1);
    CHECK_STR(err, "process 200 exited");
    CHECK(details.cmdline == NULL && details.cwd == NULL);

    /* The root itself going away is the one hard error. */
    unlink(link);
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), -1);
    char expected[700];
    snprintf(expected, sizeof(expected), "cannot read %s: No such file or directory", link);
    CHECK_STR(err, expected);
    CHECK_INT(proctable_tick(table), 3);
    CHECK_INT(proctable_count(table), 9); /* the last good refresh stays readable */
    proctable_free(table);
    rmdir(directory);
}

static atomic_bool thread_stop; /* tells the helper thread to return */

static void *idle_thread(void *unused)
{
    (void)unused;
    while (!atomic_load(&thread_stop))
        sleep_ms(5);
    return NULL;
}

static void test_live_proc(void)
{
    pthread_t helper;
    CHECK_INT(pthread_create(&helper, NULL, idle_thread, NULL), 0);

    struct proctable *table = proctable_new("/proc");
    struct proctable_options options = {.collect_threads = true, .details_every = 10};
    char err[256] = "";
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    const struct proc_entry *self = proctable_find(table, getpid());
    CHECK(self != NULL);
    if (self) {
        CHECK_STR(self->comm, "test_proctable");
        CHECK_INT(self->metrics.ppid, getppid());
        CHECK(strstr(self->cmdline, "test_proctable") != NULL);
        CHECK_INT(self->uid, getuid());
        CHECK(self->user[0] != '\0');
        CHECK_INT(self->metrics.num_threads, 2);
        CHECK(self->metrics.fd_count >= 3);
        CHECK_INT(self->metrics.state, 'R');
    }
    size_t count, my_threads = 0;
    const struct proc_entry *const *rows = proctable_entries(table, &count);
    for (size_t i = 0; i < count; i++)
        my_threads += rows[i]->is_thread && rows[i]->tgid == getpid();
    CHECK_INT(my_threads, 1);
    const struct proc_entry *kthreadd = proctable_find(table, 2);
    if (kthreadd) /* absent inside a pid namespace */
        CHECK(kthreadd->is_kernel_thread && kthreadd->cmdline[0] == '\0');
    const struct system_metrics *system = proctable_system(table);
    CHECK(system->cpu_count >= 1);
    CHECK(system->mem_total_bytes > 0);
    CHECK(system->tasks_total >= 1);
    CHECK(proctable_boot_time(table) > 1000000000);

    /* Burn CPU for a while: our own share must show. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    volatile unsigned long spin = 0;
    do {
        for (int i = 0; i < 100000; i++)
            spin++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 300);
    options.details_pid = getpid();
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    self = proctable_find(table, getpid());
    CHECK(self && self->cpu_percent > 5);
    if (self)
        printf("live: own cpu %.1f%%, %zu rows\n", self->cpu_percent, proctable_count(table));

    struct proc_details details;
    CHECK_INT(proctable_read_details(table, getpid(), &details, err, sizeof(err)), 0);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK_STR(details.cwd, cwd);
    CHECK(details.exe && strstr(details.exe, "test_proctable") != NULL);
    proc_details_free(&details);

    proctable_free(table);
    atomic_store(&thread_stop, true);
    pthread_join(helper, NULL);
}

/* Writes text into dir/name (replacing it). */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    if (!file) {
        perror(path);
        return;
    }
    fputs(text, file);
    fclose(file);
}

/* Process 1's stat in the copied tree2, with chosen CPU time, reaped children's system time
 * and RSS. */
static void write_init_stat_children(const char *root, unsigned utime, unsigned children_stime,
                                     unsigned rss_pages)
{
    char text[512];
    snprintf(text, sizeof(text),
             "1 (systemd) S 0 1 1 0 -1 4194560 0 0 0 0 %u 50 0 %u 20 0 1 0 10 20000000 %u "
             "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
             utime, children_stime, rss_pages);
    write_file(root, "1/stat", text);
}

static void write_init_stat(const char *root, unsigned utime, unsigned rss_pages)
{
    write_init_stat_children(root, utime, 0, rss_pages);
}

/* Process 600 (a child of 1, a sleeper) with a chosen RSS. */
static void write_child_stat(const char *root, unsigned rss_pages)
{
    char text[512];
    snprintf(text, sizeof(text),
             "600 (python3) S 1 600 600 0 -1 4194560 0 0 0 0 5 5 0 0 20 0 1 0 7000 0 %u "
             "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17\n",
             rss_pages);
    write_file(root, "600/stat", text);
}

/* /proc/stat of the copied tree2 with extra user ticks on cpu0. */
static void write_system_stat(const char *root, unsigned extra_user)
{
    char text[512];
    snprintf(text, sizeof(text),
             "cpu  %u 100 600 8150 200 50 50 100 0 0\n"
             "cpu0 %u 50 250 4050 100 25 25 50 0 0\n"
             "cpu1 500 50 350 4100 100 25 25 50 0 0\n"
             "intr 12345 0 0\nctxt 999\nbtime 1700000000\nprocesses 800\n"
             "procs_running 1\nprocs_blocked 0\n",
             1100 + extra_user, 600 + extra_user);
    write_file(root, "stat", text);
}

/* idle_every: an idle sleeper is read only on its turn, so a change that uses no CPU (RSS)
 * waits for the turn; but CPU time that /proc/stat reports and nobody read accounts for
 * makes the same refresh read every skipped process, so a waking sleeper is seen at once. */
static void test_idle_skipping(void)
{
    char root[] = "/tmp/stacktop-idle-XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(!"mkdtemp");
        return;
    }
    char command[1024];
    snprintf(command, sizeof(command), "cp -r %s/. %s/", TREE2, root);
    CHECK_INT(system(command), 0);
    write_system_stat(root, 0);
    write_init_stat(root, 100, 3000);

    struct proctable *table = proctable_new(root);
    struct proctable_options options = {.details_every = 100, .idle_every = 4};
    char err[256] = "";
    long page = sysconf(_SC_PAGESIZE);
    for (int tick = 1; tick <= 3; tick++) {
        sleep_ms(20);
        CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    }
    /* RSS grows without CPU time: not seen on ticks 4-6 (pid 1's turn is tick 7). */
    write_init_stat(root, 100, 5000);
    for (int tick = 4; tick <= 6; tick++) {
        sleep_ms(20);
        CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
        const struct proc_entry *init = proctable_find(table, 1);
        CHECK(init && init->metrics.rss_bytes == 3000u * (uint64_t)page);
    }
    sleep_ms(20);
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    const struct proc_entry *init = proctable_find(table, 1);
    CHECK(init && init->metrics.rss_bytes == 5000u * (uint64_t)page);

    /* Tick 8 is not its turn, but it used 50 ticks that /proc/stat also shows. */
    write_init_stat(root, 150, 5000);
    write_system_stat(root, 50);
    sleep_ms(20);
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    init = proctable_find(table, 1);
    CHECK(init && init->metrics.utime_ticks == 150 && init->cpu_percent > 0);

    /* A child that came and went used 40 ticks: they show in its parent's cstime. The parent
     * (skipped, not its turn at tick 13) is read and explains them, so the other skipped
     * sleepers are not read: 600's new RSS waits for its turn (tick 16). */
    for (int tick = 9; tick <= 12; tick++) {
        sleep_ms(20);
        CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    }
    write_init_stat_children(root, 150, 40, 6000);
    write_system_stat(root, 90);
    write_child_stat(root, 77);
    sleep_ms(20);
    CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0); /* tick 13 */
    init = proctable_find(table, 1);
    CHECK(init && init->metrics.rss_bytes == 6000u * (uint64_t)page);
    const struct proc_entry *child = proctable_find(table, 600);
    CHECK(child && child->metrics.rss_bytes == 0);
    for (int tick = 14; tick <= 16; tick++) {
        sleep_ms(20);
        CHECK_INT(proctable_refresh(table, &options, err, sizeof(err)), 0);
    }
    child = proctable_find(table, 600);
    CHECK(child && child->metrics.rss_bytes == 77u * (uint64_t)page);
    proctable_free(table);

    snprintf(command, sizeof(command), "rm -rf %s", root);
    CHECK_INT(system(command), 0);
}

/* One process's name without a table. */
static void test_read_comm(void)
{
    char comm[64];
    CHECK_INT(proctable_read_comm(TREE2, 100, comm, sizeof(comm)), 0);
    CHECK_STR(comm, "app server");
    CHECK_INT(proctable_read_comm(TREE2, 999999, comm, sizeof(comm)), -1);
    CHECK_STR(comm, "");
}

int main(void)
{
    test_read_comm();
    test_idle_skipping();
    test_fake_trees();
    test_live_proc();
    return CHECK_DONE();
}
