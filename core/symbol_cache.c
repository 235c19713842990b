/*
 * symbol_cache: symbolization results on disk, one file per build-id (see symbol_cache.h).
 *
 * Owns: the cache directory's content — files HEX.sym, temporary files .HEX.sym.XXXXXX while
 * one is written — and nothing else in it (other names are never touched). The rules it
 * shares with the debuginfo cache (which directory is trusted, its creation, temporary names,
 * the mtime bump and LRU pruning) are cache_dir's.
 *
 * Invariants:
 *   - every file operation in the cache goes through one fd on the directory, opened and
 *     checked (cache_dir_open: ours, not group- or world-writable, a path nobody else can
 *     redirect) first;
 *   - a file is parsed completely into memory before any entry is handed out, so a file that
 *     fails anywhere gives nothing; strings point into the read buffer, NUL-terminated in
 *     place (the separator after each length-prefixed string becomes its NUL);
 *   - every count and length read from a file is checked against its bound and against the
 *     bytes left before it is used, so memory stays proportional to the (capped) file size.
 */
#include "symbol_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_dir.h"
#include "xalloc.h"

#define FILE_MAGIC   "stacktop-symbols 1\n" /* first line: format and version */
#define ENTRY_SUFFIX ".sym"                 /* after the hex build-id in a name */
#define SUBDIRECTORY "symbols"              /* the cache's directory name */
#define CACHE_LABEL  "symbol cache"         /* the cache's name in messages */
/* Room for ".HEX.sym.XXXXXX" and its NUL, the longest name used. */
#define NAME_MAX_LENGTH                                                                            \
    (2 * SYMBOL_CACHE_MAX_BUILD_ID + sizeof ENTRY_SUFFIX - 1 + CACHE_DIR_TEMPORARY_EXTRA_CHARS + 1)
/* Room for every line of a file but the entries: magic, build-id, fingerprint, count, end. */
#define HEADER_MAX_BYTES (256 + 2 * SYMBOL_CACHE_MAX_BUILD_ID + SYMBOL_CACHE_MAX_FINGERPRINT)

/* One entry of a parsed file: its frames are parsed_file.frames[first_frame...]. */
struct parsed_entry {
    uint64_t offset;    /* address in the module minus its load bias */
    size_t first_frame; /* index of its first frame in parsed_file.frames */
    size_t frame_count; /* consecutive frames, innermost first */
};

/* A file read and checked; its strings point into buffer. */
struct parsed_file {
    char *buffer;                      /* the file's bytes (strings NUL-terminated in place) */
    struct parsed_entry *entries;      /* in strictly increasing offset order */
    size_t entry_count;                /* entries in entries */
    size_t entry_capacity;             /* allocated entries in entries */
    struct symbol_cache_frame *frames; /* frames of every entry, each entry's contiguous */
    size_t frame_count;                /* entries in frames */
    size_t frame_capacity;             /* allocated entries in frames */
};

/* A cursor over a file's bytes. */
struct parser {
    char *cursor; /* next byte to read */
    char *end;    /* one past the last byte */
};

/* A growing text buffer for writing a file. */
struct text {
    char *data;      /* the bytes written so far (not NUL-terminated) */
    size_t length;   /* bytes in data */
    size_t capacity; /* bytes allocated for data */
};

/* ---- names ---- */

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A build-id in lowercase hex: an even number of digits, 2..2*SYMBOL_CACHE_MAX_BUILD_ID. */
static bool is_build_id_hex(const char *hex)
{
    size_t length = cache_dir_hex_length(hex);
    return hex[length] == '\0' && length >= 2 && length % 2 == 0 &&
           length <= 2 * SYMBOL_CACHE_MAX_BUILD_ID;
}

/* ---- the cache directory ---- */

char *symbol_cache_dir(void)
{
    const char *explicit_dir = getenv("STACKTOP_CACHE_DIR");
    if (explicit_dir != NULL) {
        if (explicit_dir[0] == '\0')
            return NULL;
        size_t length = strlen(explicit_dir);
        while (length > 0 && explicit_dir[length - 1] == '/')
            length--;
        return xasprintf("%.*s/%s", (int)length, explicit_dir, SUBDIRECTORY);
    }
    /* the same base directory, chosen under the same rules, as the debuginfo cache */
    return cache_dir_default_path(SUBDIRECTORY);
}

/* Opens and checks the cache directory (cache_dir_open), creating it first when missing and
 * create is set; a relative path is refused before anything is created. Returns its fd, or -1
 * with *error and err set. */
static int cache_directory_open(const char *dir, bool create, int *error, char *err, size_t errlen)
{
    if (dir[0] != '/') {
        *error = EPERM;
        cache_dir_error(err, errlen, "symbol cache %s not used: not an absolute path", dir);
        return -1;
    }
    int dir_fd = cache_dir_open(dir, create, CACHE_LABEL, err, errlen);
    if (dir_fd < 0)
        *error = errno;
    return dir_fd;
}

/* ---- reading a file ---- */

/* Reads the file name of the cache into *buffer (malloc'd, *size bytes). Returns 0, or -1 with
 * *error set: ENOENT missing, EPERM not a regular file of ours only, EFBIG too large, EINVAL
 * empty or changed while read. bump: refresh an old mtime (a use, for the LRU order). */
static int file_read(int dir_fd, const char *name, bool bump, char **buffer, size_t *size,
                     int *error)
{
    *buffer = NULL;
    *size = 0;
    /* O_NONBLOCK: a FIFO under the name must not hang the capture (refused just below) */
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *error = errno == ELOOP ? EPERM : errno;
        return -1;
    }
    int result = -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *error = errno;
        goto close_fd;
    }
    if (!cache_dir_entry_is_trusted(&st)) {
        *error = EPERM;
        goto close_fd;
    }
    if (st.st_size > SYMBOL_CACHE_MAX_FILE_BYTES) {
        *error = EFBIG;
        goto close_fd;
    }
    if (st.st_size <= 0) {
        *error = EINVAL;
        goto close_fd;
    }
    /* one byte more than expected: a file that grew meanwhile is seen as such */
    size_t capacity = (size_t)st.st_size + 1, length = 0;
    char *data = xmalloc(capacity);
    while (length < capacity) {
        ssize_t got = read(fd, data + length, capacity - length);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *error = errno;
            free(data);
            goto close_fd;
        }
        if (got == 0)
            break;
        length += (size_t)got;
    }
    if (length != (size_t)st.st_size) {
        *error = EINVAL;
        free(data);
        goto close_fd;
    }
    if (bump)
        cache_dir_entry_mark_used(fd, &st);
    *buffer = data;
    *size = length;
    result = 0;
close_fd:
    close(fd);
    return result;
}

/* ---- parsing ---- */

/* Consumes literal when the input starts with it. */
static bool expect(struct parser *parser, const char *literal)
{
    size_t length = strlen(literal);
    if ((size_t)(parser->end - parser->cursor) < length ||
        memcmp(parser->cursor, literal, length) != 0)
        return false;
    parser->cursor += length;
    return true;
}

/* A decimal number without sign or leading zeros, at most max (max < UINT64_MAX / 10). */
static bool parse_decimal(struct parser *parser, uint64_t max, uint64_t *out)
{
    uint64_t value = 0;
    const char *start = parser->cursor;
    while (parser->cursor < parser->end && *parser->cursor >= '0' && *parser->cursor <= '9') {
        value = value * 10 + (uint64_t)(*parser->cursor - '0');
        if (value > max)
            return false;
        parser->cursor++;
    }
    size_t digits = (size_t)(parser->cursor - start);
    if (digits == 0 || (digits > 1 && start[0] == '0'))
        return false;
    *out = value;
    return true;
}

/* Lowercase hex without leading zeros, at most 16 digits. */
static bool parse_hex(struct parser *parser, uint64_t *out)
{
    uint64_t value = 0;
    const char *start = parser->cursor;
    while (parser->cursor < parser->end && is_lower_hex(*parser->cursor)) {
        if (parser->cursor - start >= 16)
            return false;
        char c = *parser->cursor;
        value = (value << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        parser->cursor++;
    }
    size_t digits = (size_t)(parser->cursor - start);
    if (digits == 0 || (digits > 1 && start[0] == '0'))
        return false;
    *out = value;
    return true;
}

/* A string "LENGTH:BYTES" (length at most max, no NUL among the bytes) or "-" (NULL, when
 * nullable), followed by terminator, which is consumed and becomes the string's NUL. */
static bool parse_string(struct parser *parser, size_t max, bool nullable, char terminator,
                         const char **out)
{
    if (nullable && parser->end - parser->cursor >= 2 && parser->cursor[0] == '-' &&
        parser->cursor[1] == terminator) {
        parser->cursor += 2;
        *out = NULL;
        return true;
    }
    uint64_t length;
    if (!parse_decimal(parser, max, &length) || !expect(parser, ":"))
        return false;
    /* the bytes and the terminator after them */
    if ((uint64_t)(parser->end - parser->cursor) <= length ||
        parser->cursor[length] != terminator ||
        memchr(parser->cursor, '\0', (size_t)length) != NULL)
        return false;
    parser->cursor[length] = '\0';
    *out = parser->cursor;
    parser->cursor += length + 1;
    return true;
}

static void parsed_file_free(struct parsed_file *parsed)
{
    free(parsed->buffer);
    free(parsed->entries);
    free(parsed->frames);
    memset(parsed, 0, sizeof *parsed);
}

/* Parses buffer (size bytes, taken over by parsed) as the file of build_id_hex. Returns 0, or
 * -1 with *error set: ESTALE when only the fingerprint differs, EINVAL for anything else. */
static int file_parse(char *buffer, size_t size, const char *build_id_hex, const char *fingerprint,
                      struct parsed_file *parsed, int *error)
{
    memset(parsed, 0, sizeof *parsed);
    parsed->buffer = buffer;
    struct parser parser = {.cursor = buffer, .end = buffer + size};
    const char *stored_fingerprint;
    uint64_t declared_entries;
    *error = EINVAL;
    if (!expect(&parser, FILE_MAGIC) || !expect(&parser, "build-id ") ||
        !expect(&parser, build_id_hex) || !expect(&parser, "\nfingerprint ") ||
        !parse_string(&parser, SYMBOL_CACHE_MAX_FINGERPRINT, false, '\n', &stored_fingerprint))
        goto fail;
    if (strcmp(stored_fingerprint, fingerprint) != 0) {
        *error = ESTALE;
        goto fail;
    }
    if (!expect(&parser, "entries ") ||
        !parse_decimal(&parser, SYMBOL_CACHE_MAX_ENTRIES, &declared_entries) ||
        !expect(&parser, "\n"))
        goto fail;
    for (uint64_t i = 0; i < declared_entries; i++) {
        uint64_t offset, frame_count;
        if (!expect(&parser, "@") || !parse_hex(&parser, &offset) || !expect(&parser, " ") ||
            !parse_decimal(&parser, SYMBOL_CACHE_MAX_FRAMES, &frame_count) || frame_count == 0 ||
            !expect(&parser, "\n"))
            goto fail;
        if (parsed->entry_count > 0 && offset <= parsed->entries[parsed->entry_count - 1].offset)
            goto fail;
        xgrow((void **)&parsed->entries, &parsed->entry_capacity, parsed->entry_count + 1,
              sizeof *parsed->entries);
        parsed->entries[parsed->entry_count++] = (struct parsed_entry){
            .offset = offset, .first_frame = parsed->frame_count, .frame_count = frame_count};
        for (uint64_t f = 0; f < frame_count; f++) {
            struct symbol_cache_frame frame;
            uint64_t line;
            if (parser.cursor >= parser.end || (*parser.cursor != '0' && *parser.cursor != '1'))
                goto fail;
            frame.is_inline = *parser.cursor++ == '1';
            if (!expect(&parser, " ") || !parse_decimal(&parser, INT_MAX, &line) ||
                !expect(&parser, " ") ||
                !parse_string(&parser, SYMBOL_CACHE_MAX_STRING, true, ' ', &frame.function) ||
                !parse_string(&parser, SYMBOL_CACHE_MAX_STRING, true, '\n', &frame.file))
                goto fail;
            frame.line = (int)line;
            xgrow((void **)&parsed->frames, &parsed->frame_capacity, parsed->frame_count + 1,
                  sizeof *parsed->frames);
            parsed->frames[parsed->frame_count++] = frame;
        }
    }
    if (!expect(&parser, "end\n") || parser.cursor != parser.end)
        goto fail;
    return 0;

fail:
    parsed_file_free(parsed);
    return -1;
}

/* Reads and parses the file of build_id_hex. Returns 0, or -1 with *error set (file_read's
 * and file_parse's errors). */
static int file_load(int dir_fd, const char *build_id_hex, const char *fingerprint, bool bump,
                     struct parsed_file *parsed, int *error)
{
    char name[NAME_MAX_LENGTH];
    snprintf(name, sizeof name, "%s%s", build_id_hex, ENTRY_SUFFIX);
    char *buffer;
    size_t size;
    memset(parsed, 0, sizeof *parsed);
    if (file_read(dir_fd, name, bump, &buffer, &size, error) != 0)
        return -1;
    return file_parse(buffer, size, build_id_hex, fingerprint, parsed, error);
}

/* ---- writing a file ---- */

static void text_append(struct text *text, const void *bytes, size_t length)
{
    xgrow((void **)&text->data, &text->capacity, text->length + length, 1);
    memcpy(text->data + text->length, bytes, length);
    text->length += length;
}

__attribute__((format(printf, 2, 3))) static void text_printf(struct text *text, const char *fmt,
                                                              ...)
{
    char small[64];
    va_list args;
    va_start(args, fmt);
    int length = vsnprintf(small, sizeof small, fmt, args);
    va_end(args);
    if (length < 0)
        return;
    if ((size_t)length < sizeof small) {
        text_append(text, small, (size_t)length);
        return;
    }
    xgrow((void **)&text->data, &text->capacity, text->length + (size_t)length + 1, 1);
    va_start(args, fmt);
    vsnprintf(text->data + text->length, (size_t)length + 1, fmt, args);
    va_end(args);
    text->length += (size_t)length;
}

/* "LENGTH:BYTES" or "-" for NULL. */
static void text_append_string(struct text *text, const char *string)
{
    if (string == NULL) {
        text_append(text, "-", 1);
        return;
    }
    size_t length = strlen(string);
    text_printf(text, "%zu:", length);
    text_append(text, string, length);
}

/* The entry can be stored: frames within bounds, strings not too long, lines >= 0. */
static bool entry_is_storable(const struct symbol_cache_entry *entry)
{
    if (entry->frames == NULL || entry->frame_count == 0 ||
        entry->frame_count > SYMBOL_CACHE_MAX_FRAMES)
        return false;
    for (size_t i = 0; i < entry->frame_count; i++) {
        const struct symbol_cache_frame *frame = &entry->frames[i];
        if (frame->line < 0 ||
            (frame->function != NULL && strlen(frame->function) > SYMBOL_CACHE_MAX_STRING) ||
            (frame->file != NULL && strlen(frame->file) > SYMBOL_CACHE_MAX_STRING))
            return false;
    }
    return true;
}

/* Appends one entry's lines. */
static void text_append_entry(struct text *text, const struct symbol_cache_entry *entry)
{
    text_printf(text, "@%" PRIx64 " %zu\n", entry->offset, entry->frame_count);
    for (size_t i = 0; i < entry->frame_count; i++) {
        const struct symbol_cache_frame *frame = &entry->frames[i];
        text_printf(text, "%d %d ", frame->is_inline ? 1 : 0, frame->line);
        text_append_string(text, frame->function);
        text_append(text, " ", 1);
        text_append_string(text, frame->file);
        text_append(text, "\n", 1);
    }
}

/* Bytes text_append_entry would write for entry. */
static size_t entry_text_size(const struct symbol_cache_entry *entry)
{
    size_t size = 1 + 16 + 1 + 3 + 1; /* "@OFFSET COUNT\n", at most */
    for (size_t i = 0; i < entry->frame_count; i++) {
        const struct symbol_cache_frame *frame = &entry->frames[i];
        size += 2 + 11 + 1 + 1; /* "I LINE " and the space between the strings */
        size += frame->function ? 5 + strlen(frame->function) : 1;
        size += frame->file ? 5 + strlen(frame->file) : 1;
    }
    return size;
}

/* Orders pointers to entries by offset, then by address (the caller's first comes first). */
static int entry_pointer_compare(const void *a, const void *b)
{
    const struct symbol_cache_entry *left = *(const struct symbol_cache_entry *const *)a;
    const struct symbol_cache_entry *right = *(const struct symbol_cache_entry *const *)b;
    if (left->offset != right->offset)
        return left->offset < right->offset ? -1 : 1;
    return left < right ? -1 : left > right;
}

/* entries (sorted by offset) holds offset. */
static bool sorted_entries_hold(const struct symbol_cache_entry *const *entries, size_t count,
                                uint64_t offset)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (entries[middle]->offset < offset)
            low = middle + 1;
        else if (entries[middle]->offset > offset)
            high = middle;
        else
            return true;
    }
    return false;
}

/* Writes all of data (length bytes) to fd. Returns 0 or -1 (errno). */
static int write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, data, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            return -1;
        data += written;
        length -= (size_t)written;
    }
    return 0;
}

/* Writes the file of build_id_hex with header then body, through a temporary file renamed into
 * place. Returns 0, or -1 with *error and err set (no temporary file left). */
static int file_write(int dir_fd, const char *dir, const char *build_id_hex,
                      const struct text *header, const struct text *body, int *error, char *err,
                      size_t errlen)
{
    char name[NAME_MAX_LENGTH], temporary_name[NAME_MAX_LENGTH];
    snprintf(name, sizeof name, "%s%s", build_id_hex, ENTRY_SUFFIX);
    int fd =
        cache_dir_temporary_create(dir_fd, name, O_WRONLY, temporary_name, sizeof temporary_name);
    if (fd < 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot create a file in the symbol cache %s: %s", dir,
                        strerror(errno));
        return -1;
    }
    /* mode 0600 even under an unusual umask: the file must stay readable by us only */
    if (fchmod(fd, 0600) != 0 || write_all(fd, header->data, header->length) != 0 ||
        write_all(fd, body->data, body->length) != 0 ||
        write_all(fd, "end\n", strlen("end\n")) != 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot write a file in the symbol cache %s: %s", dir,
                        strerror(errno));
        close(fd);
        goto remove_temporary;
    }
    /* close() reports the write errors that some file systems (NFS) only see now */
    if (close(fd) != 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot write a file in the symbol cache %s: %s", dir,
                        strerror(errno));
        goto remove_temporary;
    }
    if (renameat(dir_fd, temporary_name, dir_fd, name) != 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot rename a file into the symbol cache %s: %s", dir,
                        strerror(errno));
        goto remove_temporary;
    }
    return 0;

remove_temporary:
    unlinkat(dir_fd, temporary_name, 0);
    return -1;
}

/* ---- public interface ---- */

long symbol_cache_load(const char *dir, const char *build_id_hex, const char *fingerprint,
                       symbol_cache_visit_function *visit, void *argument, char *err, size_t errlen)
{
    int error = 0;
    long result = -1;
    cache_dir_error(err, errlen, "%s", "");
    if (dir == NULL || dir[0] == '\0' || build_id_hex == NULL || !is_build_id_hex(build_id_hex) ||
        fingerprint == NULL || visit == NULL) {
        error = EINVAL;
        cache_dir_error(err, errlen, "symbol cache: invalid arguments");
        goto done;
    }
    int dir_fd = cache_directory_open(dir, false, &error, err, errlen);
    if (dir_fd < 0)
        goto done;
    struct parsed_file parsed;
    if (file_load(dir_fd, build_id_hex, fingerprint, true, &parsed, &error) != 0) {
        cache_dir_error(err, errlen, "symbol cache file %s/%s%s not used: %s", dir, build_id_hex,
                        ENTRY_SUFFIX,
                        error == EINVAL   ? "not in the expected format"
                        : error == ESTALE ? "computed from other debug files"
                                          : strerror(error));
        goto close_dir;
    }
    for (size_t i = 0; i < parsed.entry_count; i++) {
        const struct parsed_entry *stored = &parsed.entries[i];
        struct symbol_cache_entry entry = {.offset = stored->offset,
                                           .frames = &parsed.frames[stored->first_frame],
                                           .frame_count = stored->frame_count};
        visit(argument, &entry);
    }
    result = (long)parsed.entry_count;
    parsed_file_free(&parsed);
close_dir:
    close(dir_fd);
done:
    if (result < 0)
        errno = error;
    return result;
}

long symbol_cache_save(const char *dir, const char *build_id_hex, const char *fingerprint,
                       const struct symbol_cache_entry *entries, size_t count, char *err,
                       size_t errlen)
{
    int error = 0;
    long result = -1;
    cache_dir_error(err, errlen, "%s", "");
    if (dir == NULL || dir[0] == '\0' || build_id_hex == NULL || !is_build_id_hex(build_id_hex) ||
        fingerprint == NULL || strlen(fingerprint) > SYMBOL_CACHE_MAX_FINGERPRINT ||
        (entries == NULL && count > 0)) {
        error = EINVAL;
        cache_dir_error(err, errlen, "symbol cache: invalid arguments");
        goto done;
    }
    int dir_fd = cache_directory_open(dir, true, &error, err, errlen);
    if (dir_fd < 0)
        goto done;

    /* the caller's storable entries, by offset, the first of each offset only */
    const struct symbol_cache_entry **ours = xcalloc(count + 1, sizeof *ours);
    size_t our_count = 0;
    for (size_t i = 0; i < count; i++)
        if (entry_is_storable(&entries[i]))
            ours[our_count++] = &entries[i];
    qsort(ours, our_count, sizeof *ours, entry_pointer_compare);
    size_t unique = 0;
    for (size_t i = 0; i < our_count; i++)
        if (unique == 0 || ours[unique - 1]->offset != ours[i]->offset)
            ours[unique++] = ours[i];
    our_count = unique;

    /* what the file holds now (another stacktop may have added to it since it was read) */
    struct parsed_file current;
    int ignored;
    if (file_load(dir_fd, build_id_hex, fingerprint, false, &current, &ignored) != 0)
        memset(&current, 0, sizeof current);
    struct symbol_cache_entry *theirs = xcalloc(current.entry_count + 1, sizeof *theirs);
    size_t their_count = 0;
    for (size_t i = 0; i < current.entry_count; i++) {
        const struct parsed_entry *stored = &current.entries[i];
        if (sorted_entries_hold(ours, our_count, stored->offset))
            continue;
        theirs[their_count++] =
            (struct symbol_cache_entry){.offset = stored->offset,
                                        .frames = &current.frames[stored->first_frame],
                                        .frame_count = stored->frame_count};
    }

    /* within the bounds: the caller's entries first, then the file's, each in offset order */
    size_t budget = (size_t)SYMBOL_CACHE_MAX_FILE_BYTES - HEADER_MAX_BYTES, used = 0;
    size_t kept_ours = 0, kept_theirs = 0;
    while (kept_ours < our_count && kept_ours < SYMBOL_CACHE_MAX_ENTRIES) {
        size_t size = entry_text_size(ours[kept_ours]);
        if (used + size > budget)
            break;
        used += size;
        kept_ours++;
    }
    while (kept_ours == our_count && kept_theirs < their_count &&
           kept_ours + kept_theirs < SYMBOL_CACHE_MAX_ENTRIES) {
        size_t size = entry_text_size(&theirs[kept_theirs]);
        if (used + size > budget)
            break;
        used += size;
        kept_theirs++;
    }

    struct text header = {0}, body = {0};
    text_printf(&header, "%sbuild-id %s\nfingerprint ", FILE_MAGIC, build_id_hex);
    text_append_string(&header, fingerprint);
    text_printf(&header, "\nentries %zu\n", kept_ours + kept_theirs);
    for (size_t a = 0, b = 0; a < kept_ours || b < kept_theirs;) {
        if (b == kept_theirs || (a < kept_ours && ours[a]->offset < theirs[b].offset))
            text_append_entry(&body, ours[a++]);
        else
            text_append_entry(&body, &theirs[b++]);
    }
    if (file_write(dir_fd, dir, build_id_hex, &header, &body, &error, err, errlen) == 0) {
        char name[NAME_MAX_LENGTH];
        snprintf(name, sizeof name, "%s%s", build_id_hex, ENTRY_SUFFIX);
        cache_dir_prune(dir_fd, ENTRY_SUFFIX, SYMBOL_CACHE_MAX_BYTES, name);
        result = (long)(kept_ours + kept_theirs);
    }
    free(header.data);
    free(body.data);
    free(theirs);
    parsed_file_free(&current);
    free(ours);
    close(dir_fd);
done:
    if (result < 0)
        errno = error;
    return result;
}
