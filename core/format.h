/*
 * format: human-readable numbers shared by the console, --batch and exports.
 * All functions write a NUL-terminated string into buf, truncating to buflen.
 */
#ifndef STACKTOP_FORMAT_H
#define STACKTOP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes in binary units: "512K", "1234M", "12.3G" — at most 6 characters, like htop. */
void format_bytes_compact(uint64_t bytes, char *buf, size_t buflen);
/* Bytes with a unit and one decimal: "1.5 GiB", "12.0 MiB", "512 B". */
void format_bytes_long(uint64_t bytes, char *buf, size_t buflen);
/* Bytes per second: "0 B/s", "12.5 KiB/s". */
void format_rate(double bytes_per_second, char *buf, size_t buflen);
/* CPU time in clock ticks as htop's TIME+: "m:ss.cc" under an hour, "12h34:56" under 100
 * hours, then "NNNh"; never more than 9 characters. */
void format_cpu_time(uint64_t ticks, long clock_ticks, char *buf, size_t buflen);
/* Uptime: "3 days, 04:05:06" or "04:05:06". */
void format_uptime(double seconds, char *buf, size_t buflen);
/* Local date and time of a Unix timestamp in seconds: "2026-11-22 20:34:39". */
void format_timestamp(uint64_t unix_seconds, char *buf, size_t buflen);

#endif
