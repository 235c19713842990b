/*
 * procfs: pure parsers of /proc text files (see procfs.h).
 *
 * Every parser walks a cursor over [buf, buf + len) and never looks past end, so input needs
 * no terminating NUL and may be cut anywhere. Numbers are parsed by hand: strtoul and strtod
 * need a NUL terminator and strtod follows the locale (a "," decimal separator after
 * setlocale() would break /proc/loadavg).
 */
#include "procfs.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* A read position inside a caller's buffer. */
struct cursor {
    const char *at;  /* next byte to read */
    const char *end; /* one past the last readable byte */
};

/* A number as written in the file: sign and magnitude, so that one parser serves the signed
 * fields (nice, priority) and the full-range unsigned ones (rsslim, signal masks). */
struct number {
    bool negative;      /* a leading '-' was present */
    uint64_t magnitude; /* absolute value */
};

static bool cursor_done(const struct cursor *c)
{
    return c->at >= c->end;
}

static void skip_blanks(struct cursor *c)
{
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\t'))
        c->at++;
}

/* True when the cursor is at a byte that may follow a number: blank, newline or the end. */
static bool at_separator(const struct cursor *c)
{
    return cursor_done(c) || *c->at == ' ' || *c->at == '\t' || *c->at == '\n';
}

/* Digits into *out; false when there is no digit or the value does not fit 64 bits. */
static bool parse_digits(struct cursor *c, uint64_t *out)
{
    uint64_t value = 0;
    const char *start = c->at;
    while (c->at < c->end && *c->at >= '0' && *c->at <= '9') {
        uint64_t digit = (uint64_t)(*c->at - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
        c->at++;
    }
    *out = value;
    return c->at != start;
}

/* Skips blanks, then reads [-]digits followed by a separator. */
static bool parse_number(struct cursor *c, struct number *out)
{
    skip_blanks(c);
    out->negative = false;
    if (c->at < c->end && *c->at == '-') {
        out->negative = true;
        c->at++;
    }
    return parse_digits(c, &out->magnitude) && at_separator(c);
}

/* Skips blanks, then reads an unsigned number followed by a separator. */
static bool parse_u64(struct cursor *c, uint64_t *out)
{
    struct number number;
    if (!parse_number(c, &number) || number.negative)
        return false;
    *out = number.magnitude;
    return true;
}

/* The number as a signed value within [min, max]. */
static bool number_in_range(const struct number *number, long long min, long long max,
                            long long *out)
{
    if (number->negative) {
        if (number->magnitude > (uint64_t)LLONG_MAX + 1)
            return false;
        long long value = number->magnitude == (uint64_t)LLONG_MAX + 1
                              ? LLONG_MIN
                              : -(long long)number->magnitude;
        if (value < min)
            return false;
        *out = value;
        return true;
    }
    if (number->magnitude > (uint64_t)max)
        return false;
    *out = (long long)number->magnitude;
    if (*out < min)
        return false;
    return true;
}

/* Skips blanks, then reads a signed number that must fit [min, max]. */
static bool parse_signed(struct cursor *c, long long min, long long max, long long *out)
{
    struct number number;
    return parse_number(c, &number) && number_in_range(&number, min, max, out);
}

/* Skips blanks, then reads a non-negative decimal such as "584.34" (no exponent, no sign). */
static bool parse_decimal(struct cursor *c, double *out)
{
    skip_blanks(c);
    uint64_t whole;
    if (!parse_digits(c, &whole))
        return false;
    double value = (double)whole;
    if (c->at < c->end && *c->at == '.') {
        c->at++;
        double scale = 0.1;
        while (c->at < c->end && *c->at >= '0' && *c->at <= '9') {
            value += (*c->at - '0') * scale;
            scale /= 10;
            c->at++;
        }
    }
    *out = value;
    return true;
}

/* Moves the cursor past the next newline (or to the end). */
static void skip_line(struct cursor *c)
{
    const char *newline = memchr(c->at, '\n', (size_t)(c->end - c->at));
    c->at = newline ? newline + 1 : c->end;
}

/* When the line at the cursor starts with key (which ends with its own separator, such as
 * "Uid:"), moves past it and returns true; otherwise leaves the cursor alone. */
static bool take_key(struct cursor *c, const char *key)
{
    size_t key_len = strlen(key);
    if ((size_t)(c->end - c->at) < key_len || memcmp(c->at, key, key_len) != 0)
        return false;
    c->at += key_len;
    return true;
}

/* Copies [start, start + len) into out as a NUL-terminated string cut to out_size - 1. */
static size_t copy_cut(const char *start, size_t len, char *out, size_t out_size)
{
    if (out_size == 0)
        return 0;
    if (len > out_size - 1)
        len = out_size - 1;
    memmove(out, start, len);
    out[len] = '\0';
    return len;
}

/* Indices of the /proc/PID/stat fields that follow the comm, counted as proc(5) does. */
enum stat_field {
    STAT_FIELD_PPID = 4,
    STAT_FIELD_PGRP = 5,
    STAT_FIELD_SESSION = 6,
    STAT_FIELD_TTY_NR = 7,
    STAT_FIELD_FLAGS = 9,
    STAT_FIELD_MINFLT = 10,
    STAT_FIELD_MAJFLT = 12,
    STAT_FIELD_UTIME = 14,
    STAT_FIELD_STIME = 15,
    STAT_FIELD_CUTIME = 16,
    STAT_FIELD_CSTIME = 17,
    STAT_FIELD_PRIORITY = 18,
    STAT_FIELD_NICE = 19,
    STAT_FIELD_NUM_THREADS = 20,
    STAT_FIELD_STARTTIME = 22,
    STAT_FIELD_VSIZE = 23,
    STAT_FIELD_RSS = 24,
    STAT_FIELD_PROCESSOR = 39,
    STAT_FIELD_LAST_REQUIRED = STAT_FIELD_RSS,
    STAT_FIELD_LAST_USED = STAT_FIELD_PROCESSOR,
};

/* Signed stat field into a pid_t/int-sized destination. */
static bool stat_int(const struct number *fields, int index, long long min, long long max,
                     long long *out)
{
    return number_in_range(&fields[index], min, max, out);
}

/* Unsigned stat field (a '-' is malformed). */
static bool stat_u64(const struct number *fields, int index, uint64_t *out)
{
    if (fields[index].negative)
        return false;
    *out = fields[index].magnitude;
    return true;
}

int procfs_parse_stat(const char *buf, size_t len, struct procfs_stat *out)
{
    memset(out, 0, sizeof(*out));
    out->processor = -1;
    struct cursor c = {buf, buf + len};

    long long pid;
    if (!parse_signed(&c, 1, INT32_MAX, &pid))
        return -1;
    skip_blanks(&c);
    if (cursor_done(&c) || *c.at != '(')
        return -1;
    const char *comm_start = c.at + 1;
    /* comm may hold anything, ')' included: it ends at the last ')' of the file. */
    const char *comm_end = memrchr(comm_start, ')', (size_t)(c.end - comm_start));
    if (!comm_end)
        return -1;
    out->pid = (pid_t)pid;
    copy_cut(comm_start, (size_t)(comm_end - comm_start), out->comm, sizeof(out->comm));

    c.at = comm_end + 1;
    skip_blanks(&c);
    if (cursor_done(&c) || *c.at == '\n')
        return -1;
    out->state = *c.at++;
    if (!at_separator(&c))
        return -1;

    struct number fields[STAT_FIELD_LAST_USED + 1];
    memset(fields, 0, sizeof(fields));
    int last_parsed = 3;
    for (int index = 4; index <= STAT_FIELD_LAST_USED; index++) {
        skip_blanks(&c);
        if (cursor_done(&c) || *c.at == '\n')
            break;
        if (!parse_number(&c, &fields[index]))
            return -1;
        last_parsed = index;
    }
    if (last_parsed < STAT_FIELD_LAST_REQUIRED)
        return -1;

    long long value;
    if (!stat_int(fields, STAT_FIELD_PPID, 0, INT32_MAX, &value))
        return -1;
    out->ppid = (pid_t)value;
    if (!stat_int(fields, STAT_FIELD_PGRP, INT32_MIN, INT32_MAX, &value))
        return -1;
    out->pgrp = (pid_t)value;
    if (!stat_int(fields, STAT_FIELD_SESSION, INT32_MIN, INT32_MAX, &value))
        return -1;
    out->session = (pid_t)value;
    if (!stat_int(fields, STAT_FIELD_TTY_NR, INT32_MIN, INT32_MAX, &value))
        return -1;
    out->tty_nr = (int)value;
    if (!stat_int(fields, STAT_FIELD_FLAGS, 0, UINT32_MAX, &value))
        return -1;
    out->flags = (uint32_t)value;
    if (!stat_u64(fields, STAT_FIELD_MINFLT, &out->minflt) ||
        !stat_u64(fields, STAT_FIELD_MAJFLT, &out->majflt) ||
        !stat_u64(fields, STAT_FIELD_UTIME, &out->utime_ticks) ||
        !stat_u64(fields, STAT_FIELD_STIME, &out->stime_ticks))
        return -1;
    /* Printed as signed longs; never negative in practice, but a hostile line reads as 0. */
    out->cutime_ticks =
        fields[STAT_FIELD_CUTIME].negative ? 0 : fields[STAT_FIELD_CUTIME].magnitude;
    out->cstime_ticks =
        fields[STAT_FIELD_CSTIME].negative ? 0 : fields[STAT_FIELD_CSTIME].magnitude;
    if (!stat_int(fields, STAT_FIELD_PRIORITY, LONG_MIN, LONG_MAX, &value))
        return -1;
    out->priority = (long)value;
    if (!stat_int(fields, STAT_FIELD_NICE, LONG_MIN, LONG_MAX, &value))
        return -1;
    out->nice = (long)value;
    if (!stat_int(fields, STAT_FIELD_NUM_THREADS, 0, LONG_MAX, &value))
        return -1;
    out->num_threads = (long)value;
    if (!stat_u64(fields, STAT_FIELD_STARTTIME, &out->starttime_ticks) ||
        !stat_u64(fields, STAT_FIELD_VSIZE, &out->vsize_bytes))
        return -1;
    out->rss_pages = fields[STAT_FIELD_RSS].negative ? 0 : fields[STAT_FIELD_RSS].magnitude;
    if (last_parsed >= STAT_FIELD_PROCESSOR) {
        if (!stat_int(fields, STAT_FIELD_PROCESSOR, -1, INT32_MAX, &value))
            return -1;
        out->processor = (int)value;
    }
    return 0;
}

int procfs_parse_status(const char *buf, size_t len, struct procfs_status *out)
{
    memset(out, 0, sizeof(*out));
    struct cursor c = {buf, buf + len};
    bool have_uid = false;
    while (!cursor_done(&c)) {
        long long value;
        if (take_key(&c, "Uid:")) {
            if (!parse_signed(&c, 0, UINT32_MAX, &value))
                return -1;
            out->uid = (uid_t)value;
            have_uid = true;
        } else if (take_key(&c, "Tgid:")) {
            if (!parse_signed(&c, 0, INT32_MAX, &value))
                return -1;
            out->tgid = (pid_t)value;
        } else if (take_key(&c, "PPid:")) {
            if (!parse_signed(&c, 0, INT32_MAX, &value))
                return -1;
            out->ppid = (pid_t)value;
        } else if (take_key(&c, "voluntary_ctxt_switches:")) {
            if (!parse_u64(&c, &out->voluntary_ctxt_switches))
                return -1;
        } else if (take_key(&c, "nonvoluntary_ctxt_switches:")) {
            if (!parse_u64(&c, &out->nonvoluntary_ctxt_switches))
                return -1;
        }
        skip_line(&c);
    }
    return have_uid ? 0 : -1;
}

int procfs_parse_io(const char *buf, size_t len, struct procfs_io *out)
{
    memset(out, 0, sizeof(*out));
    struct cursor c = {buf, buf + len};
    bool have_read = false, have_write = false;
    while (!cursor_done(&c)) {
        bool ok = true;
        if (take_key(&c, "rchar:")) {
            ok = parse_u64(&c, &out->rchar);
        } else if (take_key(&c, "wchar:")) {
            ok = parse_u64(&c, &out->wchar);
        } else if (take_key(&c, "read_bytes:")) {
            ok = have_read = parse_u64(&c, &out->read_bytes);
        } else if (take_key(&c, "write_bytes:")) {
            ok = have_write = parse_u64(&c, &out->write_bytes);
        }
        if (!ok)
            return -1;
        skip_line(&c);
    }
    return have_read && have_write ? 0 : -1;
}

size_t procfs_parse_cmdline(const char *buf, size_t len, char *out, size_t out_size)
{
    if (out_size == 0)
        return 0;
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    if (len > out_size - 1)
        len = out_size - 1;
    /* Front to back, one byte out per byte in: safe when out == buf. */
    for (size_t i = 0; i < len; i++)
        out[i] = buf[i] == '\0' ? ' ' : buf[i];
    out[len] = '\0';
    return len;
}

/* One "cpu..." line after its name: user nice system idle, then optional columns. */
static bool parse_cpu_columns(struct cursor *c, struct procfs_cpu_line *line)
{
    uint64_t *columns[] = {&line->user,   &line->nice,      &line->system,  &line->idle,
                           &line->iowait, &line->irq,       &line->softirq, &line->steal,
                           &line->guest,  &line->guest_nice};
    const size_t required = 4;
    for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {
        skip_blanks(c);
        if (cursor_done(c) || *c->at == '\n')
            return i >= required;
        if (!parse_u64(c, columns[i]))
            return false;
    }
    return true;
}

int procfs_parse_system_stat(const char *buf, size_t len, struct procfs_system_stat *out,
                             struct procfs_cpu_line *cpus, size_t capacity)
{
    memset(out, 0, sizeof(*out));
    struct cursor c = {buf, buf + len};
    bool have_total = false, have_btime = false;
    while (!cursor_done(&c)) {
        bool ok = true;
        long long value = 0;
        if (take_key(&c, "cpu")) {
            struct procfs_cpu_line line;
            memset(&line, 0, sizeof(line));
            line.id = -1;
            if (!cursor_done(&c) && *c.at != ' ') {
                ok = parse_signed(&c, 0, INT32_MAX, &value);
                line.id = (int)value;
            }
            ok = ok && parse_cpu_columns(&c, &line);
            if (ok && line.id < 0) {
                out->total = line;
                have_total = true;
            } else if (ok) {
                if (out->cpu_count < capacity)
                    cpus[out->cpu_count] = line;
                out->cpu_count++;
            }
        } else if (take_key(&c, "btime ")) {
            ok = have_btime = parse_u64(&c, &out->btime);
        } else if (take_key(&c, "processes ")) {
            ok = parse_u64(&c, &out->processes);
        } else if (take_key(&c, "procs_running ")) {
            ok = parse_signed(&c, 0, INT32_MAX, &value);
            out->procs_running = ok ? (int)value : 0;
        } else if (take_key(&c, "procs_blocked ")) {
            ok = parse_signed(&c, 0, INT32_MAX, &value);
            out->procs_blocked = ok ? (int)value : 0;
        }
        if (!ok)
            return -1;
        skip_line(&c);
    }
    return have_total && have_btime ? 0 : -1;
}

/* Skips blanks, reads "N kB" (or a bare N) and stores N * 1024. */
static bool parse_kilobytes(struct cursor *c, uint64_t *out)
{
    uint64_t kilobytes;
    if (!parse_u64(c, &kilobytes) || kilobytes > UINT64_MAX / 1024)
        return false;
    *out = kilobytes * 1024;
    return true;
}

int procfs_parse_meminfo(const char *buf, size_t len, struct procfs_meminfo *out)
{
    memset(out, 0, sizeof(*out));
    /* Table of the keys we keep; the rest of meminfo is skipped line by line. */
    const struct {
        const char *key; /* key with its colon */
        uint64_t *value; /* destination */
    } keys[] = {
        {"MemTotal:", &out->mem_total},
        {"MemFree:", &out->mem_free},
        {"MemAvailable:", &out->mem_available},
        {"Buffers:", &out->buffers},
        {"Cached:", &out->cached},
        {"SReclaimable:", &out->sreclaimable},
        {"Shmem:", &out->shmem},
        {"SwapTotal:", &out->swap_total},
        {"SwapFree:", &out->swap_free},
    };
    bool have_total = false, have_free = false, have_available = false;
    struct cursor c = {buf, buf + len};
    while (!cursor_done(&c)) {
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            if (!take_key(&c, keys[i].key))
                continue;
            if (!parse_kilobytes(&c, keys[i].value))
                return -1;
            have_total |= keys[i].value == &out->mem_total;
            have_free |= keys[i].value == &out->mem_free;
            have_available |= keys[i].value == &out->mem_available;
            break;
        }
        skip_line(&c);
    }
    if (!have_total || !have_free)
        return -1;
    if (!have_available)
        out->mem_available = out->mem_free;
    return 0;
}

int procfs_parse_loadavg(const char *buf, size_t len, struct procfs_loadavg *out)
{
    memset(out, 0, sizeof(*out));
    struct cursor c = {buf, buf + len};
    for (int i = 0; i < 3; i++) {
        if (!parse_decimal(&c, &out->load[i]) || !at_separator(&c))
            return -1;
    }
    skip_blanks(&c);
    uint64_t running;
    if (!parse_digits(&c, &running) || running > INT32_MAX || cursor_done(&c) || *c.at != '/')
        return -1;
    c.at++;
    long long total, last_pid;
    if (!parse_signed(&c, 0, INT32_MAX, &total) || !parse_signed(&c, 0, INT32_MAX, &last_pid))
        return -1;
    out->running = (int)running;
    out->total = (int)total;
    out->last_pid = (pid_t)last_pid;
    return 0;
}

int procfs_parse_uptime(const char *buf, size_t len, struct procfs_uptime *out)
{
    memset(out, 0, sizeof(*out));
    struct cursor c = {buf, buf + len};
    if (!parse_decimal(&c, &out->uptime_seconds) || !at_separator(&c) ||
        !parse_decimal(&c, &out->idle_seconds) || !at_separator(&c))
        return -1;
    return 0;
}

size_t procfs_parse_wchan(const char *buf, size_t len, char *out, size_t out_size)
{
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\0'))
        len--;
    if (len == 1 && buf[0] == '0')
        len = 0;
    return copy_cut(buf, len, out, out_size);
}
