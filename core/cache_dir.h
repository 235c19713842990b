/*
 * cache_dir: per-user cache directories: trust rules, creation, temporary files, LRU pruning.
 * The rules shared by the caches keyed by build-id (debuginfo_cache, symbol_cache); each cache
 * names its entries DIR/HEX SUFFIX (lowercase hex, an even number of digits, then its own
 * suffix such as ".debug") and knows nothing else of its directory.
 *
 * Invariants:
 *   - a cache directory is used only when it belongs to the effective user, is not group- or
 *     world-writable, and its absolute path cannot be redirected by another user (every
 *     symbolic link on it, and every component below a directory others may write to, belongs
 *     to root or us); directories created have mode 0700, temporary files 0600;
 *   - an entry is trusted only when it is a regular file of ours that nobody else may write;
 *   - an entry's mtime is its last use (written, or used when older than a day), the order in
 *     which cache_dir_prune deletes entries;
 *   - a temporary file is DIR/.HEX SUFFIX.XXXXXX (the entry's name, a dot before it and six
 *     random characters after another), created with O_EXCL and never followed through a
 *     symbolic link; one older than an hour is a crash's leftover;
 *   - pruning touches only the entries and temporary files of the suffix it is given.
 */
#ifndef STACKTOP_CACHE_DIR_H
#define STACKTOP_CACHE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Characters a temporary file's name has beyond its entry's: two dots and six random ones. */
#define CACHE_DIR_TEMPORARY_EXTRA_CHARS 8

/* Writes a message into err (nothing when err is NULL or errlen 0): how the caches built on
 * this module (debuginfo_cache, symbol_cache) and this module fill their callers' err. */
void cache_dir_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Length of the run of lowercase hex digits at the start of s. */
size_t cache_dir_hex_length(const char *s);

/* $XDG_CACHE_HOME/stacktop/NAME when XDG_CACHE_HOME is absolute, else
 * $HOME/.cache/stacktop/NAME when HOME is absolute. NULL when none can be determined, and when
 * that base directory exists but belongs to another user (sudo keeping the user's HOME), or,
 * for XDG_CACHE_HOME, is missing and its nearest existing ancestor is not ours alone: root must
 * not fill a user's home with files the user cannot delete. malloc'd; not created here. */
char *cache_dir_default_path(const char *name);

/* Opens the cache directory dir (O_RDONLY | O_DIRECTORY | O_CLOEXEC), first creating it and
 * its missing parents (mode 0700) when it is missing and create is set, then checks it: an
 * absolute path nobody else can redirect, a directory of ours that others cannot write to (a
 * relative dir is refused only then, after it was opened or created). label names the cache in
 * messages ("symbol cache"). Returns the fd, or -1 with errno set (EPERM: the directory is not
 * trusted; else the failing system call's) and err filled (err may be NULL). */
int cache_dir_open(const char *dir, bool create, const char *label, char *err, size_t errlen);

/* st (an fstat of an entry opened with O_NOFOLLOW) is a regular file owned by the effective
 * user that is not group- or world-writable. */
bool cache_dir_entry_is_trusted(const struct stat *st);

/* Records a use of the entry open as fd (st its fstat) for the LRU order: refreshes its mtime
 * when it is older than a day, so that a hit writes at most once a day. Best effort. */
void cache_dir_entry_mark_used(int fd, const struct stat *st);

/* Creates a new empty file .ENTRY_NAME.XXXXXX (mode 0600, O_EXCL, O_NOFOLLOW, O_CLOEXEC) in the
 * cache open as dir_fd, for writing entry_name; its name goes into temporary_name (size bytes,
 * at least strlen(entry_name) + CACHE_DIR_TEMPORARY_EXTRA_CHARS + 1, else ENAMETOOLONG).
 * access_mode is O_WRONLY or O_RDWR. Returns its fd, or -1 (errno). */
int cache_dir_temporary_create(int dir_fd, const char *entry_name, int access_mode,
                               char *temporary_name, size_t size);

/* Bounds the cache open as dir_fd: deletes the temporary files of suffix's entries older than an
 * hour, then the least recently used entries HEX SUFFIX (never keep_name) until those entries
 * total at most max_bytes (apparent size). Other names are never touched. Best effort:
 * failures leave files in place. */
void cache_dir_prune(int dir_fd, const char *suffix, long long max_bytes, const char *keep_name);

#endif
