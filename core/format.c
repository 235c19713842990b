/*
 * format: human-readable numbers shared by the console, --batch and exports.
 *
 * Owns: the text form of byte counts, rates, CPU times, uptimes and timestamps.
 * Invariants:
 *   - every function writes a NUL-terminated string into buf, truncated to buflen (buflen 0
 *     writes nothing);
 *   - format_bytes_compact never produces more than 6 characters, for any uint64_t;
 *   - format_cpu_time never produces more than 9 characters, for any inputs;
 *   - compact forms truncate (never round up) like htop, so a value never looks bigger than it is;
 *   - garbage in (negative or NaN doubles, clock_ticks <= 0) gives a sane text, never UB.
 */
#include "format.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

/* Unit letters of the compact form, by power of 1024 (index 1 = KiB). */
static const char format_compact_units[] = {'B', 'K', 'M', 'G', 'T', 'P', 'E'};

/* Unit names of the long form, by power of 1024. */
static const char *const format_long_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

#define FORMAT_LONG_UNIT_COUNT (sizeof format_long_units / sizeof format_long_units[0])

/* floor(10 * (bytes mod 2^shift) / 2^shift) exactly, without a 128-bit product: the
 * remainder is split into its top 4 bits (hi) and the rest (lo), each scaled by 10 apart. */
static uint64_t tenths_of_unit(uint64_t bytes, unsigned shift)
{
    uint64_t remainder = bytes & ((UINT64_C(1) << shift) - 1);
    uint64_t hi = remainder >> (shift - 4);
    uint64_t lo = remainder & ((UINT64_C(1) << (shift - 4)) - 1);
    return (hi * 10 + ((lo * 10) >> (shift - 4))) >> 4;
}

void format_bytes_compact(uint64_t bytes, char *buf, size_t buflen)
{
    /* Bytes below 1 KiB; KiB up to 99999K (as htop); then M, G, ... with one decimal below
     * 100 units ("12.3G") and whole units below 10000 ("1234M"). */
    if (bytes < 1024) {
        snprintf(buf, buflen, "%" PRIu64 "B", bytes);
        return;
    }
    if (bytes / 1024 < 100000) {
        snprintf(buf, buflen, "%" PRIu64 "K", bytes / 1024);
        return;
    }
    for (unsigned power = 2; power < sizeof format_compact_units; power++) {
        uint64_t whole = bytes >> (10 * power);
        if (whole < 100) {
            uint64_t tenths = tenths_of_unit(bytes, 10 * power);
            snprintf(buf, buflen, "%" PRIu64 ".%" PRIu64 "%c", whole, tenths,
                     format_compact_units[power]);
            return;
        }
        if (whole < 10000 || power + 1 == sizeof format_compact_units) {
            snprintf(buf, buflen, "%" PRIu64 "%c", whole, format_compact_units[power]);
            return;
        }
    }
}

/* Scales value to the largest unit that keeps it below 1024 (after rounding to one decimal)
 * and prints it with suffix after the unit name. */
static void format_scaled(double value, const char *suffix, char *buf, size_t buflen)
{
    if (!(value >= 0)) /* negative or NaN */
        value = 0;
    if (value > (double)UINT64_MAX) /* keeps absurd rates short: at most "16.0 EiB" */
        value = (double)UINT64_MAX;
    if (value < 1024) {
        snprintf(buf, buflen, "%.0f %s%s", floor(value), format_long_units[0], suffix);
        return;
    }
    size_t unit = 0;
    while (value >= 1023.95 && unit + 1 < FORMAT_LONG_UNIT_COUNT) {
        value /= 1024;
        unit++;
    }
    snprintf(buf, buflen, "%.1f %s%s", value, format_long_units[unit], suffix);
}

void format_bytes_long(uint64_t bytes, char *buf, size_t buflen)
{
    if (bytes < 1024) {
        snprintf(buf, buflen, "%" PRIu64 " B", bytes);
        return;
    }
    format_scaled((double)bytes, "", buf, buflen);
}

void format_rate(double bytes_per_second, char *buf, size_t buflen)
{
    format_scaled(bytes_per_second, "/s", buf, buflen);
}

/* Largest hour count shown as "NNNNNNNNh" within 9 characters; beyond it, years. */
#define FORMAT_MAX_HOURS 99999999ULL

void format_cpu_time(uint64_t ticks, long clock_ticks, char *buf, size_t buflen)
{
    uint64_t hz = clock_ticks > 0 ? (uint64_t)clock_ticks : 100;
    uint64_t seconds = ticks / hz;
    uint64_t hundredths = (ticks % hz) * 100 / hz;
    uint64_t hours = seconds / 3600;

    if (hours == 0) {
        snprintf(buf, buflen, "%u:%02u.%02u", (unsigned)(seconds / 60), (unsigned)(seconds % 60),
                 (unsigned)hundredths);
    } else if (hours < 100) {
        snprintf(buf, buflen, "%uh%02u:%02u", (unsigned)hours, (unsigned)(seconds / 60 % 60),
                 (unsigned)(seconds % 60));
    } else if (hours <= FORMAT_MAX_HOURS) {
        snprintf(buf, buflen, "%" PRIu64 "h", hours);
    } else {
        /* Only reachable with corrupt counters: saturate rather than overflow the column. */
        uint64_t years = hours / (24 * 365);
        if (years > FORMAT_MAX_HOURS)
            years = FORMAT_MAX_HOURS;
        snprintf(buf, buflen, "%" PRIu64 "y", years);
    }
}

/* Uptimes beyond this (about 31 million years) are clamped: no uint64_t overflow below it. */
#define FORMAT_MAX_UPTIME_SECONDS 1e15

void format_uptime(double seconds, char *buf, size_t buflen)
{
    if (!(seconds >= 0)) /* negative or NaN */
        seconds = 0;
    if (seconds > FORMAT_MAX_UPTIME_SECONDS)
        seconds = FORMAT_MAX_UPTIME_SECONDS;
    uint64_t total = (uint64_t)seconds;
    uint64_t days = total / 86400;
    unsigned hours = (unsigned)(total / 3600 % 24);
    unsigned minutes = (unsigned)(total / 60 % 60);
    unsigned secs = (unsigned)(total % 60);

    if (days == 0)
        snprintf(buf, buflen, "%02u:%02u:%02u", hours, minutes, secs);
    else
        snprintf(buf, buflen, "%" PRIu64 " day%s, %02u:%02u:%02u", days, days == 1 ? "" : "s",
                 hours, minutes, secs);
}

void format_timestamp(uint64_t unix_seconds, char *buf, size_t buflen)
{
    char text[64];
    struct tm tm;
    time_t when = (time_t)unix_seconds;

    /* A value time_t cannot hold, or localtime_r cannot break down, is shown as the number. */
    if (unix_seconds > (uint64_t)INT64_MAX || (uint64_t)when != unix_seconds ||
        !localtime_r(&when, &tm) || strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(buf, buflen, "%" PRIu64, unix_seconds);
        return;
    }
    snprintf(buf, buflen, "%s", text);
}
