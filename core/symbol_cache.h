/*
 * symbol_cache: a per-user, on-disk cache of symbolization results keyed by (build-id, offset
 * in module), so that a new stacktop process resolves the addresses an earlier one saw without
 * opening any debug file or loading any DWARF. Pure file I/O: no libdw, no sqlite.
 *
 * One file per build-id, DIR/HEXBUILDID.sym (lowercase hex), holding for each offset the
 * resolved frames (function, source file, line, is_inline; innermost first) and a fingerprint:
 * an opaque string from the caller describing what the results were computed from (which
 * debug files existed, the libdw version). A file whose fingerprint differs from the caller's
 * is ignored, and replaced at the next save.
 *
 * File format, version 1 (text lines; every string length-prefixed, so any byte but NUL may
 * appear in it):
 *
 *     stacktop-symbols 1\n
 *     build-id HEX\n                          the same HEX as the file's name
 *     fingerprint STRING\n
 *     entries COUNT\n
 *     @OFFSETHEX FRAMECOUNT\n                 COUNT times, offsets strictly increasing
 *     INLINE LINE FUNCTION FILE\n             FRAMECOUNT times (1..64), innermost first
 *     end\n
 *
 * where STRING is LENGTH:BYTES (LENGTH in decimal, at most SYMBOL_CACHE_MAX_STRING, or the
 * fingerprint's own bound) or "-" for NULL, INLINE is 0 or 1 and LINE a decimal >= 0.
 *
 * Invariants:
 *   - parsing is defensive: a file that is not exactly in this format (another version, a
 *     wrong build-id, bad lengths, NUL bytes in strings, counts out of bounds, trailing bytes,
 *     truncation) or larger than SYMBOL_CACHE_MAX_FILE_BYTES is ignored as a whole (treated
 *     as empty) and replaced by the next save; memory used is bounded by the file size cap;
 *   - only a directory owned by the effective user, not group- or world-writable, whose path
 *     nobody else can redirect, is used; directories created have mode 0700, files 0600;
 *     a file is read only when it is a regular file (not a symbolic link) that is ours and not
 *     group- or world-writable;
 *   - files appear only by rename() of a fully written temporary file DIR/.HEX.sym.XXXXXX, so
 *     a reader never sees a partial file; a save merges what the file holds at that moment;
 *   - bounds: each file at most SYMBOL_CACHE_MAX_FILE_BYTES and SYMBOL_CACHE_MAX_ENTRIES
 *     entries (the caller's entries first, then those already on disk); all *.sym files
 *     together at most SYMBOL_CACHE_MAX_BYTES after each save, the least recently used
 *     (mtime: written, or read and older than a day) deleted first. Temporary files older
 *     than an hour (a crash mid-write) are deleted then too.
 */
#ifndef STACKTOP_SYMBOL_CACHE_H
#define STACKTOP_SYMBOL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYMBOL_CACHE_MAX_FILE_BYTES  (16LL * 1024 * 1024) /* larger files are ignored */
#define SYMBOL_CACHE_MAX_BYTES       (64LL * 1024 * 1024) /* bound on all files together */
#define SYMBOL_CACHE_MAX_ENTRIES     131072               /* offsets in one file */
#define SYMBOL_CACHE_MAX_FRAMES      64                   /* frames of one offset */
#define SYMBOL_CACHE_MAX_STRING      4096                 /* bytes of a function or file name */
#define SYMBOL_CACHE_MAX_FINGERPRINT 16384                /* bytes of a fingerprint */
#define SYMBOL_CACHE_MAX_BUILD_ID    64                   /* bytes of a build-id (SHA-512) */

/* One resolved frame. */
struct symbol_cache_frame {
    const char *function; /* function name (demangled); NULL when unknown */
    const char *file;     /* source file as DWARF names it; NULL when unknown */
    int line;             /* source line; 0 when unknown */
    bool is_inline;       /* an inlined call inside the next frame */
};

/* The resolved frames of one offset. */
struct symbol_cache_entry {
    uint64_t offset;                         /* address in the module minus its load bias */
    const struct symbol_cache_frame *frames; /* innermost first */
    size_t frame_count;                      /* 1..SYMBOL_CACHE_MAX_FRAMES */
};

/* The cache directory: a subdirectory "symbols" of $STACKTOP_CACHE_DIR when that is set (the
 * empty string disables the cache: NULL); else the sibling "symbols" of the debuginfo cache
 * (debuginfo_cache_dir(): $XDG_CACHE_HOME/stacktop/symbols or ~/.cache/stacktop/symbols),
 * under the same conditions. malloc'd; not created here. */
char *symbol_cache_dir(void);

/* Called once per entry of a loaded file; entry and its strings live only during the call. */
typedef void symbol_cache_visit_function(void *argument, const struct symbol_cache_entry *entry);

/* Reads DIR/HEX.sym for build_id_hex (lowercase hex, 2..128 digits) and, when it is valid
 * and its fingerprint equals fingerprint, calls visit for each entry (in offset order, after
 * the whole file was checked). Returns the number of entries, or -1 with errno set and err
 * filled (err may be NULL): ENOENT no file (or no directory), ESTALE another fingerprint,
 * EINVAL bad arguments or a file not in the format, EFBIG a file over the size bound, EPERM
 * an untrusted directory or file, other: the failing system call's. Never creates anything;
 * bumps the file's mtime when it is older than a day. */
long symbol_cache_load(const char *dir, const char *build_id_hex, const char *fingerprint,
                       symbol_cache_visit_function *visit, void *argument, char *err,
                       size_t errlen);

/* Writes DIR/HEX.sym with entries (any order; an offset given twice keeps its first) merged
 * with the valid entries of the current file when its fingerprint is the same, creating the
 * directory (0700) when missing; then bounds the directory. Entries that cannot be stored
 * (no frames, too many frames, a string too long, a negative line) are left out. Returns the
 * number of entries written, or -1 with errno set and err filled: EINVAL bad arguments (a
 * fingerprint too long), EPERM an untrusted directory, other: the failing system call's (no
 * temporary file is left behind). */
long symbol_cache_save(const char *dir, const char *build_id_hex, const char *fingerprint,
                       const struct symbol_cache_entry *entries, size_t count, char *err,
                       size_t errlen);

#endif
