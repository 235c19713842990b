/*
 * debuginfo_cache: a per-user cache, keyed by build-id, of uncompressed copies of separate
 * debug files whose DWARF sections are SHF_COMPRESSED (Debian's *-dbg packages). libdw
 * inflates every compressed section each time it opens such a file (about 50 ms for libc);
 * the copy is written once and then only mmapped.
 *
 * Invariants:
 *   - an entry is DIR/HEXBUILDID.debug (lowercase hex): a regular file owned by the effective
 *     user, not group- or world-writable, whose own build-id note is HEXBUILDID and which has
 *     no SHF_COMPRESSED section. Anything else under that name is ignored and replaced;
 *   - entries appear only by rename() of a fully written temporary file DIR/.HEX.debug.XXXXXX,
 *     so a reader never sees a partial copy and two processes writing the same entry at once
 *     both succeed (the last rename wins, both copies are identical);
 *   - only a directory owned by the effective user and not group- or world-writable is used;
 *     directories it creates have mode 0700, entries 0600;
 *   - the source file is only read, and the caller's file offset is never moved;
 *   - the *.debug entries stay under DEBUGINFO_CACHE_MAX_BYTES in total (apparent size) after
 *     each new entry: the least recently used (mtime, bumped on a hit at most once a day) are
 *     deleted first. Temporary files older than an hour (a crash mid-write) are deleted then.
 */
#ifndef STACKTOP_DEBUGINFO_CACHE_H
#define STACKTOP_DEBUGINFO_CACHE_H

#include <stddef.h>

#define DEBUGINFO_CACHE_MAX_BYTES (1024LL * 1024 * 1024) /* bound on the entries' total size */
/* Larger files (uncompressed) are not cached: one would evict most others. */
#define DEBUGINFO_CACHE_MAX_ENTRY_BYTES (DEBUGINFO_CACHE_MAX_BYTES / 4)

/* The cache directory: $STACKTOP_CACHE_DIR if set (as given; the empty string disables the
 * cache: NULL), else $XDG_CACHE_HOME/stacktop/debuginfo when XDG_CACHE_HOME is absolute, else
 * $HOME/.cache/stacktop/debuginfo when HOME is absolute. NULL when none can be determined, and
 * when that base directory exists but belongs to another user (sudo keeping the user's HOME):
 * root must not fill a user's home with files the user cannot delete. malloc'd; not created
 * here. */
char *debuginfo_cache_dir(void);

/* Given an open separate debug file (fd; path only for messages) whose expected build-id is
 * build_id[0..build_id_len), returns an fd (O_RDONLY | O_CLOEXEC, owned by the caller) on the
 * uncompressed copy cache_dir/HEXBUILDID.debug, creating cache_dir (mode 0700) and the copy
 * when missing or invalid; *copy_path is then the copy's malloc'd path. The key is always the
 * file's own build-id note; build_id NULL (build_id_len 0) skips the comparison with an
 * expected one (e.g. for a dwz alternate file, whose build-id is not the module's).
 *
 * Returns -1 with errno set, *copy_path NULL and err filled (err may be NULL), and the caller
 * keeps using fd, when:
 *   ENOENT  the file has no SHF_COMPRESSED section (nothing to gain; decided from the section
 *           headers alone, nothing is written), or has no build-id note;
 *   EINVAL  bad arguments, not an ELF file, or its build-id note differs from build_id;
 *   EFBIG   the copy would exceed DEBUGINFO_CACHE_MAX_ENTRY_BYTES (from the compression
 *           headers, before inflating anything);
 *   EPERM   cache_dir belongs to another user or is group- or world-writable;
 *   other   the error of the failing system call or libelf (EIO) while writing the copy.
 * Never closes fd nor leaves a temporary file behind. */
int debuginfo_cache_open(const char *cache_dir, int fd, const char *path,
                         const unsigned char *build_id, size_t build_id_len, char **copy_path,
                         char *err, size_t errlen);

#endif
