/*
 * test_format: core/format.c — every function at its edges: unit boundaries, truncation to
 * buflen, the 6-character bound of format_bytes_compact over all magnitudes (UINT64_MAX
 * included), the TIME+ forms of htop, and garbage doubles.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "format.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)

static char buf[128];

static const char *compact(uint64_t bytes)
{
    format_bytes_compact(bytes, buf, sizeof buf);
    return buf;
}

static const char *bytes_long(uint64_t bytes)
{
    format_bytes_long(bytes, buf, sizeof buf);
    return buf;
}

static const char *rate(double bytes_per_second)
{
    format_rate(bytes_per_second, buf, sizeof buf);
    return buf;
}

static const char *cpu_time(uint64_t ticks, long hz)
{
    format_cpu_time(ticks, hz, buf, sizeof buf);
    return buf;
}

static const char *uptime(double seconds)
{
    format_uptime(seconds, buf, sizeof buf);
    return buf;
}

static const char *timestamp(uint64_t seconds)
{
    format_timestamp(seconds, buf, sizeof buf);
    return buf;
}

/* Power of 1024 of a compact unit letter; -1 for an unknown letter. */
static int unit_power(char unit)
{
    static const char units[] = "BKMGTPE";
    for (int i = 0; units[i]; i++)
        if (units[i] == unit)
            return i;
    return -1;
}

/* The compact text never exceeds 6 characters and never claims more than the value, nor less
 * than the value minus one step of its last digit (it truncates). */
static void check_compact_value(uint64_t bytes)
{
    const char *text = compact(bytes);
    size_t len = strlen(text);
    CHECK(len >= 2 && len <= 6);
    if (len < 2 || len > 6)
        return;
    int power = unit_power(text[len - 1]);
    CHECK(power >= 0);
    if (power < 0)
        return;
    char *end = NULL;
    long double shown = strtold(text, &end);
    CHECK(end == text + len - 1);
    long double step = strchr(text, '.') ? 0.1L : 1.0L;
    long double unit = ldexpl(1.0L, 10 * power);
    long double value = (long double)bytes;
    CHECK(shown * unit <= value);
    CHECK(value < (shown + step) * unit * (1 + 1e-15L));
    if (!(value < (shown + step) * unit * (1 + 1e-15L)))
        fprintf(stderr, "  %" PRIu64 " shown as %s\n", bytes, text);
}

static void test_bytes_compact(void)
{
    CHECK_STR(compact(0), "0B");
    CHECK_STR(compact(1023), "1023B");
    CHECK_STR(compact(1024), "1K");
    CHECK_STR(compact(2047), "1K");
    CHECK_STR(compact(512 * KIB), "512K");
    CHECK_STR(compact(99999 * KIB + 1023), "99999K");
    CHECK_STR(compact(100000 * KIB), "97.6M");
    CHECK_STR(compact(100 * MIB - 1), "99.9M");
    CHECK_STR(compact(100 * MIB), "100M");
    CHECK_STR(compact(1234 * MIB), "1234M");
    CHECK_STR(compact(9999 * MIB + MIB - 1), "9999M");
    CHECK_STR(compact(10000 * MIB), "9.7G");
    CHECK_STR(compact(12 * GIB + 308 * MIB), "12.3G");
    CHECK_STR(compact(1024 * GIB), "1024G");
    CHECK_STR(compact(100 * TIB), "100T");
    CHECK_STR(compact(UINT64_MAX), "15.9E");

    for (int shift = 0; shift < 64; shift++) {
        uint64_t p = UINT64_C(1) << shift;
        check_compact_value(p);
        check_compact_value(p - 1);
        check_compact_value(p + 1);
        check_compact_value(p + p / 2);
        check_compact_value(UINT64_MAX - p + 1);
    }
    for (uint64_t p = 1; p <= UINT64_MAX / 10; p *= 10) {
        check_compact_value(p);
        check_compact_value(p - 1);
        check_compact_value(p * 10 - 1);
        check_compact_value(p * 9 + p / 2);
    }
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: values of every magnitude */
        check_compact_value(x >> (i % 64));
    }
    check_compact_value(UINT64_MAX);

    /* Truncated to buflen, always terminated. */
    char small[3] = {'x', 'x', 'x'};
    format_bytes_compact(512 * KIB, small, sizeof small);
    CHECK_STR(small, "51");
    small[0] = 'x';
    format_bytes_compact(512 * KIB, small, 0);
    CHECK(small[0] == 'x');
}

static void test_bytes_long_and_rate(void)
{
    CHECK_STR(bytes_long(0), "0 B");
    CHECK_STR(bytes_long(512), "512 B");
    CHECK_STR(bytes_long(1023), "1023 B");
    CHECK_STR(bytes_long(1024), "1.0 KiB");
    CHECK_STR(bytes_long(1536), "1.5 KiB");
    CHECK_STR(bytes_long(12 * MIB), "12.0 MiB");
    CHECK_STR(bytes_long(GIB + GIB / 2), "1.5 GiB");
    CHECK_STR(bytes_long(MIB - 1), "1.0 MiB"); /* never "1024.0 KiB" */
    CHECK_STR(bytes_long(UINT64_MAX), "16.0 EiB");

    CHECK_STR(rate(0), "0 B/s");
    CHECK_STR(rate(999.7), "999 B/s");
    CHECK_STR(rate(12.5 * 1024), "12.5 KiB/s");
    CHECK_STR(rate(3.25 * 1024 * 1024), "3.2 MiB/s");
    CHECK_STR(rate(-5), "0 B/s");
    CHECK_STR(rate(NAN), "0 B/s");
    CHECK_STR(rate(1e300), rate(1e300)); /* terminates, no overflow */
    CHECK(strstr(rate(1e300), "EiB/s") != NULL);
    CHECK(strstr(rate(INFINITY), "EiB/s") != NULL);

    char small[6];
    format_bytes_long(GIB + GIB / 2, small, sizeof small);
    CHECK_STR(small, "1.5 G");
}

static void test_cpu_time(void)
{
    CHECK_STR(cpu_time(0, 100), "0:00.00");
    CHECK_STR(cpu_time(8345, 100), "1:23.45");
    CHECK_STR(cpu_time(359999, 100), "59:59.99");
    CHECK_STR(cpu_time(360000, 100), "1h00:00");
    CHECK_STR(cpu_time((12 * 3600 + 34 * 60 + 56) * UINT64_C(100) + 99, 100), "12h34:56");
    CHECK_STR(cpu_time((99 * 3600 + 59 * 60 + 59) * UINT64_C(100), 100), "99h59:59");
    CHECK_STR(cpu_time(100 * 3600 * UINT64_C(100), 100), "100h");
    CHECK_STR(cpu_time(12345 * 3600 * UINT64_C(100) + 1, 100), "12345h");
    CHECK_STR(cpu_time(1500, 1000), "0:01.50");
    CHECK_STR(cpu_time(150, 0), "0:01.50");  /* unknown HZ: 100 */
    CHECK_STR(cpu_time(150, -1), "0:01.50"); /* unknown HZ: 100 */
    CHECK_STR(cpu_time(99999999 * UINT64_C(3600), 1), "99999999h");
    CHECK_STR(cpu_time(UINT64_MAX, 100), "99999999y");
    CHECK_STR(cpu_time(UINT64_MAX, 1), "99999999y");

    /* Never wider than the TIME+ column. */
    for (int shift = 0; shift < 64; shift++) {
        static const long rates[] = {1, 100, 250, 1000};
        for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
            CHECK(strlen(cpu_time(UINT64_C(1) << shift, rates[r])) <= 9);
            CHECK(strlen(cpu_time((UINT64_C(1) << shift) - 1, rates[r])) <= 9);
        }
    }
}

static void test_uptime(void)
{
    CHECK_STR(uptime(0), "00:00:00");
    CHECK_STR(uptime(59.999), "00:00:59");
    CHECK_STR(uptime(4 * 3600 + 5 * 60 + 6), "04:05:06");
    CHECK_STR(uptime(86399), "23:59:59");
    CHECK_STR(uptime(86400), "1 day, 00:00:00");
    CHECK_STR(uptime(86400 + 4 * 3600 + 5 * 60 + 6), "1 day, 04:05:06");
    CHECK_STR(uptime(3 * 86400 + 4 * 3600 + 5 * 60 + 6), "3 days, 04:05:06");
    CHECK_STR(uptime(-1), "00:00:00");
    CHECK_STR(uptime(NAN), "00:00:00");
    CHECK(strstr(uptime(1e300), "days,") != NULL); /* clamped, not undefined */
    CHECK(strstr(uptime(INFINITY), "days,") != NULL);
}

static void test_timestamp(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    CHECK_STR(timestamp(0), "1970-01-01 00:00:00");
    CHECK_STR(timestamp(86399), "1970-01-01 23:59:59");
    CHECK_STR(timestamp(1795379679), "2026-11-22 20:34:39");
    /* A value localtime cannot break down is shown as the number. */
    CHECK_STR(timestamp(UINT64_MAX), "18446744073709551615");

    char small[5];
    format_timestamp(1795379679, small, sizeof small);
    CHECK_STR(small, "2026");

    setenv("TZ", "UTC-2", 1); /* POSIX sign: two hours east of UTC */
    tzset();
    CHECK_STR(timestamp(0), "1970-01-01 02:00:00");
}

int main(void)
{
    test_bytes_compact();
    test_bytes_long_and_rate();
    test_cpu_time();
    test_uptime();
    test_timestamp();
    return CHECK_DONE();
}
