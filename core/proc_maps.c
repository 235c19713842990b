/*
 * proc_maps: /proc/PID/maps read once, filtered for libdwfl (see proc_maps.h).
 *
 * Owns: the text of one read and its file-mappings-only copy.
 * Invariants: a line is "START-END PERMS OFFSET DEV INODE [PATH]" (proc(5)); a line that does
 * not parse is skipped, never trusted; paths may contain spaces (everything after the inode's
 * blanks is the path).
 */
#include "proc_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

#define PROC_MAPS_READ_CHUNK 65536 /* bytes asked of each read() */

/* One parsed line. */
struct maps_line {
    uint64_t start;    /* first address */
    uint64_t end;      /* one past the last */
    const char *perms; /* four permission characters */
    const char *path;  /* the path or pseudo-name ("[vdso]"); "" for anonymous memory */
};

/* Skips one blank-separated field and the blanks after it. */
static const char *skip_field(const char *at, const char *end)
{
    while (at < end && *at != ' ' && *at != '\t')
        at++;
    while (at < end && (*at == ' ' || *at == '\t'))
        at++;
    return at;
}

/* Parses the line [at, end) (no newline). false when it is not a maps line. */
static bool parse_line(const char *at, const char *end, struct maps_line *out)
{
    char *cursor;
    out->start = strtoull(at, &cursor, 16);
    if (cursor >= end || *cursor != '-')
        return false;
    out->end = strtoull(cursor + 1, &cursor, 16);
    if (cursor + 5 >= end || *cursor != ' ')
        return false;
    out->perms = cursor + 1;
    const char *field = out->perms;
    for (int skipped = 0; skipped < 4 && field < end; skipped++) /* perms offset dev inode */
        field = skip_field(field, end);
    out->path = field < end ? field : "";
    return true;
}

int proc_maps_read(pid_t pid, struct proc_maps *out)
{
    memset(out, 0, sizeof *out);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    size_t capacity = 0;
    for (;;) {
        xgrow((void **)&out->text, &capacity, out->length + PROC_MAPS_READ_CHUNK + 1, 1);
        ssize_t got = read(fd, out->text + out->length, PROC_MAPS_READ_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int saved = errno;
            close(fd);
            proc_maps_free(out);
            return saved;
        }
        if (got == 0)
            break;
        out->length += (size_t)got;
    }
    close(fd);
    out->text[out->length] = '\0';

    /* the lines libdwfl wants: those naming a file; and the vDSO's range */
    out->files = xmalloc(out->length + 1);
    for (const char *line = out->text; line < out->text + out->length;) {
        const char *newline = memchr(line, '\n', (size_t)(out->text + out->length - line));
        const char *line_end = newline != NULL ? newline : out->text + out->length;
        struct maps_line parsed;
        if (parse_line(line, line_end, &parsed)) {
            if (parsed.path[0] == '/') {
                size_t length = (size_t)(line_end - line);
                memcpy(out->files + out->files_length, line, length);
                out->files_length += length;
                out->files[out->files_length++] = '\n';
            } else if (strncmp(parsed.path, "[vdso]", 6) == 0) {
                out->vdso_start = parsed.start;
                out->vdso_end = parsed.end;
            }
        }
        line = line_end + (newline != NULL);
    }
    out->files[out->files_length] = '\0';
    return 0;
}

void proc_maps_free(struct proc_maps *maps)
{
    if (maps == NULL)
        return;
    free(maps->text);
    free(maps->files);
    memset(maps, 0, sizeof *maps);
}

int proc_maps_report(const struct proc_maps *maps, Dwfl *dwfl, pid_t pid)
{
    if (maps->files_length > 0) {
        FILE *lines = fmemopen(maps->files, maps->files_length, "r");
        if (lines == NULL)
            return errno;
        int rc = dwfl_linux_proc_maps_report(dwfl, lines);
        fclose(lines);
        if (rc != 0)
            return rc;
    }
    if (maps->vdso_start != 0) {
        char name[32];
        snprintf(name, sizeof name, "[vdso: %d]", (int)pid);
        if (dwfl_report_module(dwfl, name, maps->vdso_start, maps->vdso_end) == NULL)
            return -1;
    }
    return 0;
}

void proc_maps_each(const struct proc_maps *maps,
                    void (*visit)(void *context, uint64_t start, uint64_t end, const char *perms),
                    void *context)
{
    for (const char *line = maps->text; line < maps->text + maps->length;) {
        const char *newline = memchr(line, '\n', (size_t)(maps->text + maps->length - line));
        const char *line_end = newline != NULL ? newline : maps->text + maps->length;
        struct maps_line parsed;
        if (parse_line(line, line_end, &parsed))
            visit(context, parsed.start, parsed.end, parsed.perms);
        line = line_end + (newline != NULL);
    }
}
