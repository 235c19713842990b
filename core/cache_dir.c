/*
 * cache_dir: the per-user cache directories' shared rules (see cache_dir.h).
 *
 * Owns: nothing of its own on disk. It creates directories, temporary files and prunes entries
 * in a cache directory on behalf of the cache that owns it, touching only the names of that
 * cache's suffix.
 *
 * Invariants:
 *   - every file operation inside a cache goes through the caller's fd on the directory,
 *     opened and checked by cache_dir_open, so a path that changes meaning in the meantime
 *     cannot redirect a write or a deletion;
 *   - it never reads nor writes an entry's content: it names, creates, stats, touches and
 *     deletes files only.
 */
#include "cache_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

#define TEMPORARY_RANDOM_CHARS 6           /* length of a temporary name's random part */
#define TEMPORARY_ATTEMPTS     64          /* names tried before giving up on EEXIST */
#define TEMPORARY_STALE_SECS   (60 * 60)   /* a temporary file this old is a crash's leftover */
#define MTIME_BUMP_SECS        (24 * 3600) /* a use refreshes an entry's mtime this old */

_Static_assert(CACHE_DIR_TEMPORARY_EXTRA_CHARS == 2 + TEMPORARY_RANDOM_CHARS,
               "a temporary name is '.', the entry's name, '.' and the random part");

/* One entry seen while pruning a cache. */
struct prune_entry {
    char *name;            /* file name in the cache directory */
    long long size;        /* apparent size (st_size) */
    struct timespec mtime; /* last use: creation, or a use's bump */
};

/* ---- messages ---- */

void cache_dir_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}

/* ---- names ---- */

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

size_t cache_dir_hex_length(const char *s)
{
    size_t length = 0;
    while (is_lower_hex(s[length]))
        length++;
    return length;
}

/* "HEX" then suffix: an entry's name. */
static bool is_entry_name(const char *name, const char *suffix)
{
    size_t hex = cache_dir_hex_length(name);
    return hex >= 2 && hex % 2 == 0 && strcmp(name + hex, suffix) == 0;
}

/* ".HEX", suffix, "." and the random part: a temporary file's name. */
static bool is_temporary_name(const char *name, const char *suffix)
{
    if (name[0] != '.')
        return false;
    size_t hex = cache_dir_hex_length(name + 1);
    const char *rest = name + 1 + hex;
    size_t suffix_length = strlen(suffix);
    return hex >= 2 && strncmp(rest, suffix, suffix_length) == 0 && rest[suffix_length] == '.' &&
           strlen(rest + suffix_length + 1) == TEMPORARY_RANDOM_CHARS;
}

/* ---- the cache directory ---- */

/* dir is usable as the base of a default cache directory: it belongs to us (or, when
 * missing_is_ours, does not exist yet). */
static bool base_directory_is_ours(const char *dir, bool missing_is_ours)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return st.st_uid == geteuid();
    if (!missing_is_ours || errno != ENOENT)
        return false;
    /* missing: it would be created under its nearest existing ancestor, which must be ours and
     * private (not root creating directories in a user's home under sudo -E, nor anybody in
     * a world-writable directory such as /tmp) */
    char *ancestor = xstrdup(dir);
    bool ours = false;
    for (char *slash = strrchr(ancestor, '/'); slash != NULL; slash = strrchr(ancestor, '/')) {
        *slash = '\0';
        if (stat(ancestor[0] != '\0' ? ancestor : "/", &st) == 0) {
            ours = st.st_uid == geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
            break;
        }
        if (errno != ENOENT)
            break;
    }
    free(ancestor);
    return ours;
}

char *cache_dir_default_path(const char *name)
{
    /* The XDG base directory specification ignores relative paths. */
    const char *xdg_cache = getenv("XDG_CACHE_HOME");
    if (xdg_cache != NULL && xdg_cache[0] == '/')
        return base_directory_is_ours(xdg_cache, true)
                   ? xasprintf("%s/stacktop/%s", xdg_cache, name)
                   : NULL;
    const char *home = getenv("HOME");
    if (home != NULL && home[0] == '/' && base_directory_is_ours(home, false))
        return xasprintf("%s/.cache/stacktop/%s", home, name);
    return NULL;
}

/* Every component of dir can be trusted not to be redirected by another user: a symbolic link
 * belongs to root or us, and below a directory others may write to (such as /tmp) the next
 * component belongs to root or us. */
static bool path_is_trusted(const char *dir)
{
    char *prefix = xstrdup(dir);
    bool trusted = true, parent_shared = false;
    for (char *cursor = prefix + 1; trusted; cursor++) {
        if (*cursor != '/' && *cursor != '\0')
            continue;
        char ended = *cursor;
        *cursor = '\0';
        struct stat st;
        if (lstat(prefix, &st) != 0) {
            trusted = false;
            break;
        }
        bool trusted_owner = st.st_uid == 0 || st.st_uid == geteuid();
        if ((S_ISLNK(st.st_mode) || parent_shared) && !trusted_owner)
            trusted = false;
        parent_shared = S_ISDIR(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
        *cursor = ended;
        if (ended == '\0')
            break;
    }
    free(prefix);
    return trusted;
}

/* mkdir -p with mode 0700 for the missing components of dir. Returns 0 or -1 (errno). */
static int directory_create_all(const char *dir)
{
    char *prefix = xstrdup(dir);
    int result = 0;
    for (char *cursor = prefix + 1;; cursor++) {
        if (*cursor != '/' && *cursor != '\0')
            continue;
        char ended = *cursor;
        *cursor = '\0';
        if (mkdir(prefix, 0700) != 0 && errno != EEXIST) {
            result = -1;
            break;
        }
        *cursor = ended;
        if (ended == '\0')
            break;
    }
    int error = errno;
    free(prefix);
    errno = error;
    return result;
}

int cache_dir_open(const char *dir, bool create, const char *label, char *err, size_t errlen)
{
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 && errno == ENOENT && create) {
        if (directory_create_all(dir) != 0) {
            int error = errno;
            cache_dir_error(err, errlen, "cannot create the %s %s: %s", label, dir,
                            strerror(error));
            errno = error;
            return -1;
        }
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (dir_fd < 0) {
        int error = errno;
        cache_dir_error(err, errlen, "cannot open the %s %s: %s", label, dir, strerror(error));
        errno = error;
        return -1;
    }
    int error = EPERM;
    struct stat st;
    if (dir[0] != '/' || !path_is_trusted(dir)) {
        cache_dir_error(err, errlen,
                        "%s %s not used: another user could redirect a part of its path", label,
                        dir);
    } else if (fstat(dir_fd, &st) != 0) {
        error = errno;
        cache_dir_error(err, errlen, "cannot stat the %s %s: %s", label, dir, strerror(error));
    } else if (st.st_uid != geteuid()) {
        cache_dir_error(err, errlen, "%s %s not used: it belongs to uid %u, not %u", label, dir,
                        (unsigned)st.st_uid, (unsigned)geteuid());
    } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        cache_dir_error(err, errlen, "%s %s not used: others can write to it (mode %03o)", label,
                        dir, (unsigned)(st.st_mode & 0777));
    } else {
        return dir_fd;
    }
    close(dir_fd);
    errno = error;
    return -1;
}

/* ---- entries ---- */

bool cache_dir_entry_is_trusted(const struct stat *st)
{
    return S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
           (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

void cache_dir_entry_mark_used(int fd, const struct stat *st)
{
    if (time(NULL) - st->st_mtime > MTIME_BUMP_SECS)
        (void)futimens(fd, NULL); /* best effort: only the eviction order depends on it */
}

int cache_dir_temporary_create(int dir_fd, const char *entry_name, int access_mode,
                               char *temporary_name, size_t size)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    if (strlen(entry_name) + CACHE_DIR_TEMPORARY_EXTRA_CHARS >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (int attempt = 0; attempt < TEMPORARY_ATTEMPTS; attempt++) {
        unsigned char random_bytes[TEMPORARY_RANDOM_CHARS];
        if (getrandom(random_bytes, sizeof random_bytes, GRND_NONBLOCK) !=
            (ssize_t)sizeof random_bytes) {
            /* No entropy yet (early boot): uniqueness comes from O_EXCL anyway. */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            uint64_t mix = ((uint64_t)now.tv_nsec * 2654435761u) ^ ((uint64_t)getpid() << 20) ^
                           ((uint64_t)attempt * 40503u);
            for (size_t i = 0; i < sizeof random_bytes; i++)
                random_bytes[i] = (unsigned char)(mix >> (8 * i));
        }
        char random_part[TEMPORARY_RANDOM_CHARS + 1];
        for (size_t i = 0; i < TEMPORARY_RANDOM_CHARS; i++)
            random_part[i] = alphabet[random_bytes[i] % (sizeof alphabet - 1)];
        random_part[TEMPORARY_RANDOM_CHARS] = '\0';
        snprintf(temporary_name, size, ".%s.%s", entry_name, random_part);
        int fd = openat(dir_fd, temporary_name,
                        access_mode | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* ---- bounding a cache ---- */

/* Oldest first; ties by name, so that the order is deterministic. */
static int prune_entry_compare(const void *a, const void *b)
{
    const struct prune_entry *left = a, *right = b;
    if (left->mtime.tv_sec != right->mtime.tv_sec)
        return left->mtime.tv_sec < right->mtime.tv_sec ? -1 : 1;
    if (left->mtime.tv_nsec != right->mtime.tv_nsec)
        return left->mtime.tv_nsec < right->mtime.tv_nsec ? -1 : 1;
    return strcmp(left->name, right->name);
}

void cache_dir_prune(int dir_fd, const char *suffix, long long max_bytes, const char *keep_name)
{
    int scan_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (scan_fd < 0)
        return;
    DIR *dir = fdopendir(scan_fd);
    if (dir == NULL) {
        close(scan_fd);
        return;
    }
    struct prune_entry *entries = NULL;
    size_t count = 0, capacity = 0;
    long long total = 0;
    time_t now = time(NULL);
    struct dirent *dirent;
    while ((dirent = readdir(dir)) != NULL) {
        const char *name = dirent->d_name;
        bool temporary = is_temporary_name(name, suffix);
        if (!temporary && !is_entry_name(name, suffix))
            continue;
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (temporary) {
            if (now - st.st_mtime > TEMPORARY_STALE_SECS)
                unlinkat(dir_fd, name, 0);
            continue;
        }
        total += (long long)st.st_size;
        if (strcmp(name, keep_name) == 0)
            continue;
        xgrow((void **)&entries, &capacity, count + 1, sizeof *entries);
        entries[count++] = (struct prune_entry){
            .name = xstrdup(name), .size = (long long)st.st_size, .mtime = st.st_mtim};
    }
    closedir(dir);
    if (total > max_bytes) {
        qsort(entries, count, sizeof *entries, prune_entry_compare);
        for (size_t i = 0; i < count && total > max_bytes; i++)
            if (unlinkat(dir_fd, entries[i].name, 0) == 0)
                total -= entries[i].size;
    }
    for (size_t i = 0; i < count; i++)
        free(entries[i].name);
    free(entries);
}
