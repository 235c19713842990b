/*
 * symbols: turns PCs of a live process into function, module, file:line and inline frames,
 * with libdw. Shared by stack captures and perf sampling.
 *
 * Invariants:
 *   - never fetches anything from the network (debuginfod is disabled for the process);
 *     separate debug files under /usr/lib/debug (build-id and debuglink) are used;
 *   - results are cached by (build-id, offset in module), so the same library in many
 *     processes or snapshots is resolved once; modules without a build-id are keyed by
 *     (path, inode, mtime);
 *   - results of modules with a build-id also persist across runs in the per-user symbol
 *     cache (symbol_cache.h; off with STACKTOP_CACHE_DIR=""), so that a new process answers
 *     what an earlier one resolved without opening debug files; with or without it, the
 *     answers are the same;
 *   - strings handed out are interned in the symbolizer and live until symbolizer_free();
 *   - stripped code gives function NULL, and callers print "module+0xoffset".
 */
#ifndef STACKTOP_SYMBOLS_H
#define STACKTOP_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"

struct symbolizer;

/* The symbol cache's directory (symbol_cache_dir()) is chosen here, from the environment. */
struct symbolizer *symbolizer_new(void);
/* Saves the symbol cache (symbolizer_save_cache), then frees everything. */
void symbolizer_free(struct symbolizer *symbolizer);

/* Writes the results resolved since the last save into the symbol cache: for each module with
 * a build-id that got new results, the union of its results in memory and in its file. Best
 * effort: a cache that cannot be written is skipped silently. */
void symbolizer_save_cache(struct symbolizer *symbolizer);

/* Reads pid's memory map (/proc/PID/maps) so that its PCs can be resolved; call again after
 * the map changed (it replaces the previous one for pid). Returns 0, or -1 with err set. */
int symbolizer_load_process(struct symbolizer *symbolizer, pid_t pid, char *err, size_t errlen);

struct proc_maps; /* proc_maps.h */

/* symbolizer_load_process from the process's memory map read by the caller (NULL: read it). */
int symbolizer_load_process_maps(struct symbolizer *symbolizer, pid_t pid,
                                 const struct proc_maps *maps, char *err, size_t errlen);

/* Resolves one PC of pid into frames, innermost first: inlined calls (is_inline true) first,
 * then the containing function. is_return_address: the PC is a return address (every frame
 * but the innermost of a non-signal stack), so the lookup uses pc - 1. Writes at most max
 * frames into out and returns how many it wrote (at least 1 when max >= 1: an unknown PC
 * still gives one frame with function NULL and module NULL). */
size_t symbolizer_resolve(struct symbolizer *symbolizer, pid_t pid, uint64_t pc,
                          bool is_return_address, struct capture_frame *out, size_t max);

/* Forgets pid's memory map (the caches keyed by build-id stay). */
void symbolizer_forget_process(struct symbolizer *symbolizer, pid_t pid);

/* Cache statistics, for benchmarks and tests. */
struct symbolizer_stats {
    uint64_t lookups;       /* symbolizer_resolve calls */
    uint64_t cache_hits;    /* answered from the (build-id, offset) cache */
    uint64_t disk_hits;     /* of cache_hits, with a result read from the symbol cache */
    uint64_t dwarf_lookups; /* cache misses resolved through libdw (debug files, DWARF) */
    uint64_t disk_results;  /* results read from symbol cache files */
    size_t modules;         /* modules with DWARF or symbol tables loaded */
};
void symbolizer_get_stats(const struct symbolizer *symbolizer, struct symbolizer_stats *out);

/* Demangles a C++ (Itanium ABI) symbol name: "_ZN3foo3barEv" gives "foo::bar()". Returns a
 * malloc'd string that the caller frees, or NULL when name is not mangled, is malformed, or no
 * demangler is available (it comes from libstdc++, looked up at first use). */
char *symbols_demangle(const char *name);

#endif
