/*
 * test_columns: core/columns.c — the table matches the X-macro, names and aliases resolve,
 * every column compares in the right direction with the pid tie-break, and every column
 * formats as documented (including garbage values and truncation).
 */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "columns.h"

static struct proc_entry make_entry(pid_t pid)
{
    struct proc_entry e = {0};
    e.pid = pid;
    e.tgid = pid;
    snprintf(e.user, sizeof e.user, "root");
    snprintf(e.comm, sizeof e.comm, "comm%d", (int)pid);
    e.cmdline = "";
    e.metrics.state = 'S';
    return e;
}

static void test_table(void)
{
    CHECK_INT(COLUMN_COUNT, 12);
    for (int i = 0; i < COLUMN_COUNT; i++) {
        CHECK_INT(columns_table[i].id, i);
        CHECK(columns_table[i].title != NULL);
    }
    CHECK_STR(columns_table[COLUMN_PID].title, "PID");
    CHECK_STR(columns_table[COLUMN_CPU].title, "CPU%");
    CHECK_STR(columns_table[COLUMN_TIME].title, "TIME+");
    CHECK_INT(columns_table[COLUMN_COMMAND].width, 0);
    CHECK(columns_table[COLUMN_CPU].descending_first);
    CHECK(!columns_table[COLUMN_USER].descending_first);
    CHECK(columns_table[COLUMN_RSS].right_aligned);
    CHECK(!columns_table[COLUMN_COMMAND].right_aligned);
}

static void test_from_name(void)
{
    /* Every title, in its own case and in lower case. */
    for (int i = 0; i < COLUMN_COUNT; i++) {
        char lower[32];
        size_t n = 0;
        for (const char *c = columns_table[i].title; *c && n + 1 < sizeof lower; c++)
            lower[n++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        lower[n] = '\0';
        CHECK_INT(columns_from_name(columns_table[i].title), i);
        CHECK_INT(columns_from_name(lower), i);
    }
    CHECK_INT(columns_from_name("CPU%"), COLUMN_CPU);
    CHECK_INT(columns_from_name("cpu%"), COLUMN_CPU);
    CHECK_INT(columns_from_name("TIME+"), COLUMN_TIME);
    CHECK_INT(columns_from_name("Mem%"), COLUMN_MEM);

    static const struct {
        const char *name;
        int column;
    } aliases[] = {
        {"pid", COLUMN_PID},     {"user", COLUMN_USER},    {"pri", COLUMN_PRI},
        {"ni", COLUMN_NI},       {"virt", COLUMN_VIRT},    {"rss", COLUMN_RSS},
        {"res", COLUMN_RSS},     {"s", COLUMN_STATE},      {"state", COLUMN_STATE},
        {"cpu", COLUMN_CPU},     {"mem", COLUMN_MEM},      {"time", COLUMN_TIME},
        {"thr", COLUMN_THR},     {"threads", COLUMN_THR},  {"command", COLUMN_COMMAND},
        {"cmd", COLUMN_COMMAND}, {"comm", COLUMN_COMMAND}, {"RES", COLUMN_RSS},
        {"Threads", COLUMN_THR}, {"CMD", COLUMN_COMMAND},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        CHECK_INT(columns_from_name(aliases[i].name), aliases[i].column);

    CHECK_INT(columns_from_name("bogus"), -1);
    CHECK_INT(columns_from_name(""), -1);
    CHECK_INT(columns_from_name("cpu%%"), -1);
    CHECK_INT(columns_from_name("pi"), -1);
    CHECK_INT(columns_from_name(NULL), -1);
}

/* Sign of an int: -1, 0 or 1. */
static int sign(int x)
{
    return (x > 0) - (x < 0);
}

/* a must sort strictly before b by the column alone, and b after a (antisymmetry). */
static void check_before(enum column_id column, const struct proc_entry *a,
                         const struct proc_entry *b)
{
    CHECK_INT(sign(columns_compare_value(column, a, b)), -1);
    CHECK_INT(sign(columns_compare_value(column, b, a)), 1);
    CHECK_INT(sign(columns_compare(column, a, b)), -1);
    CHECK_INT(sign(columns_compare(column, b, a)), 1);
}

static void test_compare(void)
{
    /* a has the larger pid but the smaller value in every column: the value must win. */
    struct proc_entry a = make_entry(900), b = make_entry(100);
    snprintf(a.user, sizeof a.user, "alice");
    snprintf(b.user, sizeof b.user, "Bob"); /* case-insensitive: alice < Bob */
    a.metrics.priority = 10, b.metrics.priority = 20;
    a.metrics.nice = -5, b.metrics.nice = 0;
    a.metrics.vsize_bytes = 1000, b.metrics.vsize_bytes = UINT64_MAX;
    a.metrics.rss_bytes = 5, b.metrics.rss_bytes = 6;
    a.metrics.state = 'D', b.metrics.state = 'R';
    a.cpu_percent = 0.5, b.cpu_percent = 150.0;
    a.mem_percent = 1.0, b.mem_percent = 1.5;
    a.metrics.utime_ticks = 100, a.metrics.stime_ticks = 50; /* 150 */
    b.metrics.utime_ticks = 10, b.metrics.stime_ticks = 141; /* 151: the sum counts */
    a.metrics.num_threads = 1, b.metrics.num_threads = 40;
    a.cmdline = "/usr/bin/Apache -k";
    b.cmdline = "bash";

    for (int c = 0; c < COLUMN_COUNT; c++) {
        if (c == COLUMN_PID)
            check_before(COLUMN_PID, &b, &a);
        else
            check_before((enum column_id)c, &a, &b);
    }

    /* Equal values: pid ascending decides, for every column. */
    struct proc_entry x = make_entry(7), y = make_entry(8);
    snprintf(y.comm, sizeof y.comm, "%s", x.comm);
    for (int c = 0; c < COLUMN_COUNT; c++) {
        if (c != COLUMN_PID)
            CHECK_INT(columns_compare_value((enum column_id)c, &x, &y), 0);
        CHECK_INT(sign(columns_compare((enum column_id)c, &x, &y)), -1);
        CHECK_INT(sign(columns_compare((enum column_id)c, &y, &x)), 1);
        CHECK_INT(columns_compare((enum column_id)c, &x, &x), 0);
    }

    /* A process row sorts before its main thread's row (same pid). */
    struct proc_entry main_thread = x;
    main_thread.is_thread = true;
    CHECK_INT(sign(columns_compare(COLUMN_CPU, &x, &main_thread)), -1);
    CHECK_INT(sign(columns_compare_tie(&main_thread, &x)), 1);

    /* USER and COMMAND ignore case; COMMAND compares the displayed text. */
    snprintf(x.user, sizeof x.user, "ROOT");
    snprintf(y.user, sizeof y.user, "root");
    CHECK_INT(columns_compare_value(COLUMN_USER, &x, &y), 0);
    x.cmdline = "SSHD: user";
    y.cmdline = "sshd: user";
    CHECK_INT(columns_compare_value(COLUMN_COMMAND, &x, &y), 0);
    y.cmdline = "sshd: user2"; /* a prefix sorts first */
    CHECK_INT(sign(columns_compare_value(COLUMN_COMMAND, &x, &y)), -1);
    x.cmdline = ""; /* empty cmdline: comm "comm7" is displayed */
    CHECK_INT(sign(columns_compare_value(COLUMN_COMMAND, &x, &y)), -1); /* "comm7" < "sshd" */
    x.cmdline = NULL;
    CHECK_INT(sign(columns_compare_value(COLUMN_COMMAND, &x, &y)), -1);

    /* Kernel threads display "[comm]": after "/usr/..." and before letters. */
    struct proc_entry kthread = make_entry(2), slash = make_entry(3), letter = make_entry(4);
    snprintf(kthread.comm, sizeof kthread.comm, "kthreadd");
    kthread.is_kernel_thread = true;
    slash.cmdline = "/sbin/init";
    letter.cmdline = "agetty";
    check_before(COLUMN_COMMAND, &slash, &kthread);
    check_before(COLUMN_COMMAND, &kthread, &letter);
    struct proc_entry kworker = make_entry(9);
    snprintf(kworker.comm, sizeof kworker.comm, "kthread");
    kworker.is_kernel_thread = true;
    check_before(COLUMN_COMMAND, &kworker, &kthread); /* "[kthread]" < "[kthreadd]" */

    /* NaN percentages sort lowest and keep the order total. */
    struct proc_entry nan_row = make_entry(50), zero_row = make_entry(40);
    nan_row.cpu_percent = NAN;
    zero_row.cpu_percent = 0;
    check_before(COLUMN_CPU, &nan_row, &zero_row);
    CHECK_INT(sign(columns_compare(COLUMN_CPU, &nan_row, &nan_row)), 0);

    /* Negative nice and high state letters compare as numbers / letters. */
    struct proc_entry s1 = make_entry(1), s2 = make_entry(2);
    s1.metrics.state = 'R', s2.metrics.state = 'Z';
    check_before(COLUMN_STATE, &s1, &s2);
    s1.metrics.nice = -20, s2.metrics.nice = 19;
    check_before(COLUMN_NI, &s1, &s2);
}

static const char *cell(enum column_id column, const struct proc_entry *e)
{
    static char buf[256];
    columns_format(column, e, 100, buf, sizeof buf);
    return buf;
}

static void test_format(void)
{
    struct proc_entry e = make_entry(1234);
    snprintf(e.user, sizeof e.user, "postgres");
    e.metrics.priority = 20;
    e.metrics.nice = -5;
    e.metrics.vsize_bytes = UINT64_C(512) << 20;
    e.metrics.rss_bytes = UINT64_C(2048) << 10;
    e.metrics.state = 'R';
    e.cpu_percent = 12.345;
    e.mem_percent = 3.14159;
    e.metrics.utime_ticks = 8000;
    e.metrics.stime_ticks = 345;
    e.metrics.num_threads = 7;
    e.cmdline = "postgres: writer process";

    CHECK_STR(cell(COLUMN_PID, &e), "1234");
    CHECK_STR(cell(COLUMN_USER, &e), "postgres");
    CHECK_STR(cell(COLUMN_PRI, &e), "20");
    CHECK_STR(cell(COLUMN_NI, &e), "-5");
    CHECK_STR(cell(COLUMN_VIRT, &e), "512M");
    CHECK_STR(cell(COLUMN_RSS, &e), "2048K");
    CHECK_STR(cell(COLUMN_STATE, &e), "R");
    CHECK_STR(cell(COLUMN_CPU, &e), "12.3");
    CHECK_STR(cell(COLUMN_MEM, &e), "3.1");
    CHECK_STR(cell(COLUMN_TIME, &e), "1:23.45");
    CHECK_STR(cell(COLUMN_THR, &e), "7");
    CHECK_STR(cell(COLUMN_COMMAND, &e), "postgres: writer process");

    /* TIME+ uses clock_ticks. */
    char buf[32];
    columns_format(COLUMN_TIME, &e, 1000, buf, sizeof buf);
    CHECK_STR(buf, "0:08.34");

    /* COMMAND falls back to comm; kernel threads are bracketed. */
    e.cmdline = "";
    CHECK_STR(cell(COLUMN_COMMAND, &e), "comm1234");
    e.cmdline = NULL;
    CHECK_STR(cell(COLUMN_COMMAND, &e), "comm1234");
    e.is_kernel_thread = true;
    snprintf(e.comm, sizeof e.comm, "kworker/0:1");
    CHECK_STR(cell(COLUMN_COMMAND, &e), "[kworker/0:1]");

    /* Percentages always fit in 5 characters. */
    static const struct {
        double percent;
        const char *text;
    } percents[] = {
        {0, "0.0"},   {0.04, "0.0"},  {99.9, "99.9"},      {99.94, "99.9"},  {99.96, "100"},
        {100, "100"}, {123.4, "123"}, {1600.4, "1600"},    {99999, "99999"}, {1e12, "99999"},
        {-3, "0.0"},  {NAN, "0.0"},   {INFINITY, "99999"},
    };
    for (size_t i = 0; i < sizeof percents / sizeof percents[0]; i++) {
        e.cpu_percent = percents[i].percent;
        e.mem_percent = percents[i].percent;
        CHECK_STR(cell(COLUMN_CPU, &e), percents[i].text);
        CHECK_STR(cell(COLUMN_MEM, &e), percents[i].text);
        CHECK(strlen(cell(COLUMN_CPU, &e)) <= 5);
    }

    /* State letters: unknown or unprintable is "?". */
    e.metrics.state = 0;
    CHECK_STR(cell(COLUMN_STATE, &e), "?");
    e.metrics.state = '\x1b';
    CHECK_STR(cell(COLUMN_STATE, &e), "?");
    e.metrics.state = 'I';
    CHECK_STR(cell(COLUMN_STATE, &e), "I");

    /* Memory columns keep their 6-character bound at the extreme. */
    e.metrics.vsize_bytes = UINT64_MAX;
    e.metrics.rss_bytes = 0;
    CHECK_STR(cell(COLUMN_VIRT, &e), "15.9E");
    CHECK_STR(cell(COLUMN_RSS, &e), "0B");

    /* TIME+ saturates corrupt counters instead of wrapping. */
    e.metrics.utime_ticks = UINT64_MAX;
    e.metrics.stime_ticks = 10;
    CHECK_STR(cell(COLUMN_TIME, &e), "99999999y");

    /* Truncation to buflen, always terminated; an unknown column gives "". */
    char small[4] = "zzz";
    columns_format(COLUMN_COMMAND, &e, 100, small, sizeof small);
    CHECK_STR(small, "[kw");
    columns_format((enum column_id)COLUMN_COUNT, &e, 100, small, sizeof small);
    CHECK_STR(small, "");
}

int main(void)
{
    test_table();
    test_from_name();
    test_compare();
    test_format();
    return CHECK_DONE();
}
