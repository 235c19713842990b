/*
 * test_procfs: the /proc parsers on files captured from a real machine and on hand-made ones
 * (tests/data/proc/captured, tests/data/proc/crafted). Every input is loaded into a heap
 * block of exactly its length, without a NUL, so that a sanitizer build catches any read
 * past the end; a small deterministic fuzz loop feeds prefixes and mutations of each file.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "procfs.h"

#define CAPTURED TEST_DATA_DIR "/proc/captured/"
#define CRAFTED  TEST_DATA_DIR "/proc/crafted/"

/* A file's bytes in a block of exactly its size (one byte for an empty file). */
struct loaded_file {
    char *data;    /* the bytes, not NUL-terminated */
    size_t length; /* number of bytes */
};

static struct loaded_file load(const char *path)
{
    struct loaded_file file = {NULL, 0};
    FILE *stream = fopen(path, "rb");
    if (!stream) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        exit(2);
    }
    char chunk[65536];
    file.length = fread(chunk, 1, sizeof(chunk), stream);
    fclose(stream);
    file.data = malloc(file.length ? file.length : 1);
    memcpy(file.data, chunk, file.length);
    return file;
}

static bool near(double actual, double expected)
{
    return fabs(actual - expected) < 1e-9;
}

static void test_stat_captured(void)
{
    struct procfs_stat stat;
    struct loaded_file file = load(CAPTURED "sleep_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_INT(stat.pid, 6003);
    CHECK_STR(stat.comm, "sleep");
    CHECK_INT(stat.state, 'S');
    CHECK_INT(stat.ppid, 5962);
    CHECK_INT(stat.pgrp, 5959);
    CHECK_INT(stat.session, 1979);
    CHECK_INT(stat.tty_nr, 0);
    CHECK_INT(stat.flags, 4194304);
    CHECK(!(stat.flags & PROCFS_PF_KTHREAD));
    CHECK_INT(stat.minflt, 216);
    CHECK_INT(stat.majflt, 0);
    CHECK_INT(stat.priority, 20);
    CHECK_INT(stat.nice, 0);
    CHECK_INT(stat.num_threads, 1);
    CHECK_INT(stat.starttime_ticks, 65341);
    CHECK_INT(stat.vsize_bytes, 2990080);
    CHECK_INT(stat.rss_pages, 445);
    CHECK_INT(stat.processor, 0);
    free(file.data);

    file = load(CAPTURED "python_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_STR(stat.comm, "python3");
    CHECK_INT(stat.minflt, 1928);
    CHECK_INT(stat.utime_ticks, 3);
    CHECK_INT(stat.stime_ticks, 0);
    CHECK_INT(stat.rss_pages, 3358);
    CHECK_INT(stat.processor, 1);
    free(file.data);

    file = load(CAPTURED "self_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_STR(stat.comm, "cat");
    CHECK_INT(stat.state, 'R');
    free(file.data);
}

static void test_stat_kernel_threads_and_zombie(void)
{
    struct procfs_stat stat;
    char joined[64];
    struct loaded_file file = load(CAPTURED "kthreadd_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_INT(stat.pid, 2);
    CHECK_INT(stat.ppid, 0);
    CHECK_STR(stat.comm, "kthreadd");
    CHECK(stat.flags & PROCFS_PF_KTHREAD);
    free(file.data);
    file = load(CAPTURED "kthreadd_cmdline");
    CHECK_INT(procfs_parse_cmdline(file.data, file.length, joined, sizeof(joined)), 0);
    CHECK_STR(joined, "");
    free(file.data);

    file = load(CAPTURED "kworker_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_STR(stat.comm, "kworker/0:2-events");
    CHECK_INT(stat.state, 'I');
    CHECK_INT(stat.ppid, 2);
    CHECK(stat.flags & PROCFS_PF_KTHREAD);
    CHECK_INT(stat.stime_ticks, 9);
    CHECK_INT(stat.starttime_ticks, 335);
    free(file.data);
    file = load(CAPTURED "kworker_cmdline");
    CHECK_INT(procfs_parse_cmdline(file.data, file.length, joined, sizeof(joined)), 0);
    free(file.data);

    file = load(CAPTURED "zombie_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_INT(stat.state, 'Z');
    CHECK_INT(stat.ppid, 6034);
    CHECK_INT(stat.vsize_bytes, 0);
    CHECK_INT(stat.rss_pages, 0);
    CHECK(!(stat.flags & PROCFS_PF_KTHREAD));
    free(file.data);
    file = load(CAPTURED "zombie_cmdline");
    strcpy(joined, "stale");
    CHECK_INT(procfs_parse_cmdline(file.data, file.length, joined, sizeof(joined)), 0);
    CHECK_STR(joined, "");
    free(file.data);
}

static void test_stat_tricky_comm(void)
{
    struct procfs_stat stat;
    struct loaded_file file = load(CRAFTED "comm_parens_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_INT(stat.pid, 4242);
    CHECK_STR(stat.comm, "(a) (b)");
    CHECK_INT(stat.state, 'S');
    CHECK_INT(stat.tty_nr, 34816);
    CHECK_INT(stat.minflt, 10);
    CHECK_INT(stat.majflt, 2);
    CHECK_INT(stat.utime_ticks, 7);
    CHECK_INT(stat.stime_ticks, 3);
    CHECK_INT(stat.priority, -2);
    CHECK_INT(stat.nice, -5);
    CHECK_INT(stat.num_threads, 4);
    CHECK_INT(stat.starttime_ticks, 123456);
    CHECK_INT(stat.vsize_bytes, 1048576);
    CHECK_INT(stat.rss_pages, 256);
    CHECK_INT(stat.processor, 1);
    free(file.data);

    /* A first-')' parser would read state S and ppid 1 here. */
    file = load(CRAFTED "comm_trap_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_STR(stat.comm, "foo) S 1 (");
    CHECK_INT(stat.state, 'R');
    CHECK_INT(stat.ppid, 7);
    CHECK_INT(stat.utime_ticks, 11);
    CHECK_INT(stat.stime_ticks, 22);
    CHECK_INT(stat.starttime_ticks, 999);
    free(file.data);

    file = load(CRAFTED "comm_newline_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_STR(stat.comm, "new\nline");
    CHECK_INT(stat.state, 'R');
    CHECK_INT(stat.starttime_ticks, 1000);
    free(file.data);

    /* No processor field and no trailing newline: still valid, processor unknown. */
    file = load(CRAFTED "minimal_stat");
    CHECK_INT(procfs_parse_stat(file.data, file.length, &stat), 0);
    CHECK_STR(stat.comm, "old");
    CHECK_INT(stat.rss_pages, 3);
    CHECK_INT(stat.processor, -1);
    free(file.data);
}

static void test_stat_malformed(void)
{
    const char *names[] = {"truncated_stat", "garbage_stat", "badnumber_stat", "overflow_stat"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), CRAFTED "%s", names[i]);
        struct loaded_file file = load(path);
        struct procfs_stat stat;
        int rc = procfs_parse_stat(file.data, file.length, &stat);
        if (rc != -1)
            fprintf(stderr, "%s parsed\n", names[i]);
        CHECK_INT(rc, -1);
        free(file.data);
    }
    struct procfs_stat stat;
    CHECK_INT(procfs_parse_stat("", 0, &stat), -1);
    CHECK_INT(procfs_parse_stat("1 (x", 4, &stat), -1);
    CHECK_INT(procfs_parse_stat("1 (x) ", 6, &stat), -1);
    CHECK_INT(procfs_parse_stat("-1 (x) S", 8, &stat), -1);
}

static void test_cmdline(void)
{
    char joined[128];
    struct loaded_file file = load(CAPTURED "sleep_cmdline");
    CHECK_INT(procfs_parse_cmdline(file.data, file.length, joined, sizeof(joined)), 9);
    CHECK_STR(joined, "sleep 300");
    /* Cut to the output size. */
    CHECK_INT(procfs_parse_cmdline(file.data, file.length, joined, 4), 3);
    CHECK_STR(joined, "sle");
    free(file.data);

    file = load(CAPTURED "python_cmdline");
    procfs_parse_cmdline(file.data, file.length, joined, sizeof(joined));
    CHECK_STR(joined, "python3 -c import time; time.sleep(300) with space");
    free(file.data);

    file = load(CRAFTED "emptyarg_cmdline");
    procfs_parse_cmdline(file.data, file.length, joined, sizeof(joined));
    CHECK_STR(joined, "a  b c");
    free(file.data);

    /* In place. */
    char buffer[] = "ls\0-l\0/tmp\0";
    CHECK_INT(procfs_parse_cmdline(buffer, sizeof(buffer) - 1, buffer, sizeof(buffer)), 10);
    CHECK_STR(buffer, "ls -l /tmp");
}

static void test_status(void)
{
    struct procfs_status status;
    struct loaded_file file = load(CAPTURED "sleep_status");
    CHECK_INT(procfs_parse_status(file.data, file.length, &status), 0);
    CHECK_INT(status.uid, 0);
    CHECK_INT(status.tgid, 6003);
    CHECK_INT(status.ppid, 5962);
    CHECK_INT(status.voluntary_ctxt_switches, 1);
    CHECK_INT(status.nonvoluntary_ctxt_switches, 0);
    free(file.data);

    file = load(CAPTURED "zombie_status");
    CHECK_INT(procfs_parse_status(file.data, file.length, &status), 0);
    CHECK_INT(status.voluntary_ctxt_switches, 2);
    free(file.data);

    const char text[] = "Name:\tx\nUid:\t1000\t0\t0\t0\nvoluntary_ctxt_switches:\t77\n"
                        "nonvoluntary_ctxt_switches:\t5";
    CHECK_INT(procfs_parse_status(text, sizeof(text) - 1, &status), 0);
    CHECK_INT(status.uid, 1000); /* the real uid, not the effective one */
    CHECK_INT(status.voluntary_ctxt_switches, 77);
    CHECK_INT(status.nonvoluntary_ctxt_switches, 5);

    file = load(CRAFTED "nouid_status");
    CHECK_INT(procfs_parse_status(file.data, file.length, &status), -1);
    free(file.data);
    CHECK_INT(procfs_parse_status("Uid:\tabc\n", 9, &status), -1);
}

static void test_io(void)
{
    struct procfs_io io;
    struct loaded_file file = load(CAPTURED "sleep_io");
    CHECK_INT(procfs_parse_io(file.data, file.length, &io), 0);
    CHECK_INT(io.rchar, 14784);
    CHECK_INT(io.read_bytes, 0);
    free(file.data);

    file = load(CRAFTED "busy_io");
    CHECK_INT(procfs_parse_io(file.data, file.length, &io), 0);
    CHECK_INT(io.rchar, 123456);
    CHECK_INT(io.wchar, 7890);
    CHECK_INT(io.read_bytes, 1048576);
    CHECK_INT(io.write_bytes, 524288);
    free(file.data);

    file = load(CRAFTED "partial_io");
    CHECK_INT(procfs_parse_io(file.data, file.length, &io), -1);
    free(file.data);
}

static void test_system_stat(void)
{
    struct procfs_system_stat stat;
    struct procfs_cpu_line cpus[4];
    struct loaded_file file = load(CAPTURED "stat");
    CHECK_INT(procfs_parse_system_stat(file.data, file.length, &stat, cpus, 4), 0);
    CHECK_INT(stat.total.id, -1);
    CHECK_INT(stat.total.user, 2943);
    CHECK_INT(stat.total.nice, 0);
    CHECK_INT(stat.total.system, 1713);
    CHECK_INT(stat.total.idle, 125529);
    CHECK_INT(stat.total.iowait, 403);
    CHECK_INT(stat.total.softirq, 31);
    CHECK_INT(stat.total.steal, 47);
    CHECK_INT(stat.cpu_count, 2);
    CHECK_INT(cpus[0].id, 0);
    CHECK_INT(cpus[0].user, 1161);
    CHECK_INT(cpus[1].id, 1);
    CHECK_INT(cpus[1].user, 1782);
    CHECK_INT(cpus[1].iowait, 392);
    CHECK_INT(stat.btime, 1795379631);
    CHECK_INT(stat.procs_running, 1);

    /* Too small an array: the count still tells how many there are. */
    struct procfs_cpu_line one[1];
    CHECK_INT(procfs_parse_system_stat(file.data, file.length, &stat, one, 1), 0);
    CHECK_INT(stat.cpu_count, 2);
    CHECK_INT(one[0].user, 1161);
    free(file.data);

    file = load(CRAFTED "offline_cpu_stat");
    CHECK_INT(procfs_parse_system_stat(file.data, file.length, &stat, cpus, 4), 0);
    CHECK_INT(stat.cpu_count, 2);
    CHECK_INT(cpus[1].id, 2);
    CHECK_INT(cpus[1].iowait, 0);
    CHECK_INT(stat.total.idle, 40);
    free(file.data);

    file = load(CRAFTED "nobtime_stat");
    CHECK_INT(procfs_parse_system_stat(file.data, file.length, &stat, cpus, 4), -1);
    free(file.data);
}

static void test_meminfo(void)
{
    struct procfs_meminfo meminfo;
    struct loaded_file file = load(CAPTURED "meminfo");
    CHECK_INT(procfs_parse_meminfo(file.data, file.length, &meminfo), 0);
    CHECK_INT(meminfo.mem_total, 24684084ULL * 1024);
    CHECK_INT(meminfo.mem_free, 24261864ULL * 1024);
    CHECK_INT(meminfo.mem_available, 24353364ULL * 1024);
    CHECK_INT(meminfo.buffers, 2776ULL * 1024);
    CHECK_INT(meminfo.cached, 278024ULL * 1024);
    CHECK_INT(meminfo.sreclaimable, 50272ULL * 1024);
    CHECK_INT(meminfo.shmem, 8872ULL * 1024);
    CHECK_INT(meminfo.swap_total, 0);
    free(file.data);

    file = load(CRAFTED "old_meminfo");
    CHECK_INT(procfs_parse_meminfo(file.data, file.length, &meminfo), 0);
    CHECK_INT(meminfo.mem_available, 1024 * 1024);
    CHECK_INT(meminfo.cached, 512 * 1024);
    free(file.data);
    CHECK_INT(procfs_parse_meminfo("MemFree: 1 kB\n", 14, &meminfo), -1);
}

static void test_loadavg_uptime_wchan(void)
{
    struct procfs_loadavg loadavg;
    struct loaded_file file = load(CAPTURED "loadavg");
    CHECK_INT(procfs_parse_loadavg(file.data, file.length, &loadavg), 0);
    CHECK(near(loadavg.load[0], 0.14));
    CHECK(near(loadavg.load[1], 0.06));
    CHECK(near(loadavg.load[2], 0.02));
    CHECK_INT(loadavg.running, 1);
    CHECK_INT(loadavg.total, 86);
    CHECK_INT(loadavg.last_pid, 6041);
    free(file.data);
    file = load(CRAFTED "garbage_loadavg");
    CHECK_INT(procfs_parse_loadavg(file.data, file.length, &loadavg), -1);
    free(file.data);

    struct procfs_uptime uptime;
    file = load(CAPTURED "uptime");
    CHECK_INT(procfs_parse_uptime(file.data, file.length, &uptime), 0);
    CHECK(near(uptime.uptime_seconds, 655.04));
    CHECK(near(uptime.idle_seconds, 1255.30));
    free(file.data);
    file = load(CRAFTED "garbage_uptime");
    CHECK_INT(procfs_parse_uptime(file.data, file.length, &uptime), -1);
    free(file.data);

    char wchan[8];
    CHECK_INT(procfs_parse_wchan("0", 1, wchan, sizeof(wchan)), 0);
    CHECK_STR(wchan, "");
    CHECK_INT(procfs_parse_wchan("do_wait", 7, wchan, sizeof(wchan)), 7);
    CHECK_STR(wchan, "do_wait");
    CHECK_INT(procfs_parse_wchan("futex_wait_queue", 16, wchan, sizeof(wchan)), 7);
    CHECK_STR(wchan, "futex_w");
}

/* Runs every parser over buf[0..length) in a block of exactly that size. */
static void parse_everything(const char *data, size_t length)
{
    char *copy = malloc(length ? length : 1);
    memcpy(copy, data, length);
    struct procfs_stat stat;
    struct procfs_status status;
    struct procfs_io io;
    struct procfs_system_stat system_stat;
    struct procfs_cpu_line cpus[2];
    struct procfs_meminfo meminfo;
    struct procfs_loadavg loadavg;
    struct procfs_uptime uptime;
    char text[32];
    if (procfs_parse_stat(copy, length, &stat) == 0) {
        /* Whatever it accepted, comm is a terminated string inside the struct. */
        CHECK(memchr(stat.comm, '\0', sizeof(stat.comm)) != NULL);
    }
    procfs_parse_status(copy, length, &status);
    procfs_parse_io(copy, length, &io);
    procfs_parse_system_stat(copy, length, &system_stat, cpus, 2);
    procfs_parse_meminfo(copy, length, &meminfo);
    procfs_parse_loadavg(copy, length, &loadavg);
    procfs_parse_uptime(copy, length, &uptime);
    procfs_parse_cmdline(copy, length, text, sizeof(text));
    procfs_parse_wchan(copy, length, text, sizeof(text));
    free(copy);
}

static void test_fuzz(void)
{
    const char *paths[] = {CAPTURED "sleep_stat",      CAPTURED "sleep_status",
                           CAPTURED "sleep_io",        CAPTURED "stat",
                           CAPTURED "meminfo",         CAPTURED "loadavg",
                           CAPTURED "uptime",          CAPTURED "python_cmdline",
                           CRAFTED "comm_parens_stat", CRAFTED "comm_trap_stat"};
    uint32_t seed = 12345;
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
        struct loaded_file file = load(paths[p]);
        for (size_t cut = 0; cut <= file.length; cut++)
            parse_everything(file.data, cut);
        char *mutated = malloc(file.length ? file.length : 1);
        for (int round = 0; round < 3000; round++) {
            memcpy(mutated, file.data, file.length);
            for (int flips = 0; flips < 4 && file.length; flips++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % file.length;
                seed = seed * 1103515245u + 12345u;
                const char alphabet[] = "0123456789 ()-\n\t:/.xZ\0\xff";
                mutated[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
            }
            parse_everything(mutated, file.length);
        }
        free(mutated);
        free(file.data);
    }

    /* Every prefix of a stat line that stops before the rss field is rejected. */
    struct loaded_file file = load(CAPTURED "sleep_stat");
    const char *close_paren = memrchr(file.data, ')', file.length);
    size_t rss_start = (size_t)(close_paren - file.data);
    for (int spaces = 0; rss_start < file.length && spaces < 22; rss_start++)
        spaces += file.data[rss_start] == ' ';
    size_t accepted_too_early = 0;
    for (size_t cut = 0; cut < rss_start; cut++) {
        struct procfs_stat stat;
        accepted_too_early += procfs_parse_stat(file.data, cut, &stat) == 0;
    }
    CHECK_INT(accepted_too_early, 0);
    free(file.data);
}

int main(void)
{
    test_stat_captured();
    test_stat_kernel_threads_and_zombie();
    test_stat_tricky_comm();
    test_stat_malformed();
    test_cmdline();
    test_status();
    test_io();
    test_system_stat();
    test_meminfo();
    test_loadavg_uptime_wchan();
    test_fuzz();
    return CHECK_DONE();
}
