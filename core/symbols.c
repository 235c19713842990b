/*
 * symbols: PCs of live processes to function, module, file:line and inline frames (see
 * symbols.h), with elfutils libdwfl/libdw.
 *
 * Owns:
 *   - one Dwfl per loaded process (reported from /proc/PID/maps), with a table of its modules
 *     sorted by address, so that finding the module of a PC is a binary search;
 *   - the result cache: (module key, offset in module) -> the resolved frames of that address
 *     (inline chain, innermost first). The module key is "build-id:HEX", or for modules
 *     without a build-id "file:PATH:DEVICE:INODE:MTIME", so the same library in many
 *     processes (or the same process snapshotted again) is resolved once;
 *   - the interned strings (function, module path, source file) handed out in frames.
 *
 * Invariants:
 *   - every string handed out is interned here and lives until symbolizer_free(): forgetting
 *     or reloading a process never invalidates a frame already returned;
 *   - the cache holds only what depends on the module's content (function, file, line,
 *     is_inline); what depends on the process (pc, module path, module offset) is filled at
 *     each call;
 *   - nothing touches the network: debug files are looked up locally only
 *     (find_local_debuginfo), and DEBUGINFOD_URLS is unset in symbolizer_new() as well;
 *   - compressed separate debug files are read through their uncompressed copies in the
 *     per-user debuginfo cache (debuginfo_cache.h), written at first use;
 *   - the results of modules with a build-id persist across runs in the per-user symbol cache
 *     (symbol_cache.h): a module's file is read when the module is first identified, and its
 *     entries answer lookups without opening a debug file or loading DWARF (identifying reads
 *     the main ELF file only); new results are written back by symbolizer_save_cache(). A
 *     file is used only when its fingerprint (module_fingerprint(): the resolver and libdw
 *     versions, which sections the main ELF file has, which candidate debug files exist) is
 *     the module's, so that installing a debug package changes the answers as it would
 *     without the cache;
 *   - every libdw/libdwfl return value is checked: a hostile or truncated ELF/DWARF file gives
 *     fewer details (function or line unknown), never a crash.
 */
#include "symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo_cache.h"
#include "proc_maps.h"
#include "symbol_cache.h"
#include "xalloc.h"

#define SYMBOLS_MAX_INLINE_CHAIN 64 /* deepest inline chain kept for one PC */
/* Version of what describe_address() computes, part of every fingerprint: bump it when a
 * change there gives other answers, so that files of the symbol cache made before are not
 * used. */
#define SYMBOLS_RESOLVER_VERSION 1
#define BUILD_ID_KEY_PREFIX      "build-id:" /* module keys of modules with a build-id */
#define NO_PERSISTED_MODULE      SIZE_MAX    /* process_module.persisted_index: none */
#define DEBUG_FILE_CANDIDATES    4           /* paths where a separate debug file is sought */

/* A set of strings with stable addresses: each string is allocated once and never moves. */
struct intern_table {
    char **slots;    /* open addressing (linear probing); NULL marks an empty slot */
    size_t capacity; /* slots allocated: 0 or a power of two */
    size_t count;    /* strings stored; kept at most half of capacity */
};

/* One frame of a cached result: the part of a capture_frame that depends only on the module's
 * content and the offset, not on the process. */
struct cached_frame {
    const char *function; /* interned demangled name; NULL when unknown */
    const char *file;     /* interned source file; NULL when unknown */
    int line;             /* source line; 0 when unknown */
    bool is_inline;       /* an inlined call inside the next frame */
};

/* The resolved frames of one (module key, offset). */
struct cached_result {
    const char *module_key; /* interned module key (compared by address) */
    uint64_t offset;        /* looked-up address minus the module's load bias */
    uint32_t first_frame;   /* index of its first frame in result_cache.frames */
    uint32_t frame_count;   /* consecutive frames, innermost first; at least 1 */
    bool from_disk;         /* read from the symbol cache, not resolved in this process */
};

/* Results by (module key, offset), shared by every process. */
struct result_cache {
    struct cached_result *results; /* every result, in insertion order */
    size_t result_count;           /* entries in results */
    size_t result_capacity;        /* allocated entries in results */
    struct cached_frame *frames;   /* frames of all results, each result's contiguous */
    size_t frame_count;            /* entries in frames */
    size_t frame_capacity;         /* allocated entries in frames */
    uint32_t *slots;               /* hash table: result index + 1, 0 marks an empty slot */
    size_t slot_capacity;          /* slots allocated: 0 or a power of two */
};

/* One module (executable, library, vdso) mapped in a process. */
struct process_module {
    uint64_t start;           /* first mapped address */
    uint64_t end;             /* one past the last mapped address */
    Dwfl_Module *dwfl_module; /* libdwfl's handle, owned by the process's Dwfl */
    const char *path;         /* interned path as mapped ("[vdso]" for the vdso) */
    const char *module_key;   /* interned cache key; NULL until identified, or if no ELF */
    uint64_t bias;            /* load bias: runtime address minus ELF address */
    bool is_identified;       /* module_key and bias were computed (or could not be) */
    size_t persisted_index;   /* its symbolizer.persisted entry, or NO_PERSISTED_MODULE */
};

/* A module with a build-id whose results go to (and came from) the symbol cache. */
struct persisted_module {
    const char *module_key; /* interned "build-id:HEX" */
    char *fingerprint;      /* module_fingerprint() of the first module of this key */
    bool is_conflicted;     /* another module of this key had another fingerprint: not saved */
    size_t new_results;     /* results resolved since the last save */
};

/* The memory map of one process, as libdwfl reported it. */
struct process_map {
    pid_t pid;                      /* the process */
    Dwfl *dwfl;                     /* its libdwfl session; owns the Dwfl_Modules */
    struct process_module *modules; /* modules sorted by start, not overlapping */
    size_t module_count;            /* entries in modules */
    size_t module_capacity;         /* allocated entries in modules */
    size_t last_module;             /* index of the last module hit (fast path) */
};

struct symbolizer {
    struct process_map *processes;      /* loaded processes, unordered */
    size_t process_count;               /* entries in processes */
    size_t process_capacity;            /* allocated entries in processes */
    size_t last_process;                /* index of the last process used (fast path) */
    struct intern_table strings;        /* function names, module paths, files, keys */
    struct intern_table loaded_modules; /* keys of modules whose symbols were read */
    struct result_cache cache;          /* (module key, offset) -> frames */
    char *symbol_cache_dir;             /* symbol_cache_dir() when made; NULL: not persisted */
    struct persisted_module *persisted; /* build-id modules seen, each key once */
    size_t persisted_count;             /* entries in persisted */
    size_t persisted_capacity;          /* allocated entries in persisted */
    uint64_t lookups;                   /* symbolizer_resolve calls */
    uint64_t cache_hits;                /* of which answered from the cache */
    uint64_t disk_hits;                 /* of which with a result read from the symbol cache */
    uint64_t dwarf_lookups;             /* cache misses resolved through libdw */
    uint64_t disk_results;              /* results read from the symbol cache */
};

/* ---- demangling ---- */

/* The Itanium C++ ABI demangler. Declared weak: when libstdc++ is linked in, this is it;
 * otherwise it is NULL and libstdc++ is loaded with dlopen at first use (stacktop is a C
 * program and does not link libstdc++ by default). */
extern char *__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status)
    __attribute__((weak));

typedef char *cxa_demangle_function(const char *mangled, char *buffer, size_t *length, int *status);

static cxa_demangle_function *find_demangler(void)
{
    static cxa_demangle_function *demangler; /* found demangler, NULL before or if none */
    static bool was_searched;                /* the search ran (found or not) */

    if (was_searched)
        return demangler;
    was_searched = true;
    if (__cxa_demangle != NULL) {
        demangler = __cxa_demangle;
        return demangler;
    }
    /* The handle is kept for the life of the process: demangled names may be needed at any
     * time, and unloading libstdc++ is never safe once its code ran. */
    void *library = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
    if (library == NULL)
        return NULL;
    void *symbol = dlsym(library, "__cxa_demangle");
    if (symbol == NULL)
        return NULL;
    memcpy(&demangler, &symbol, sizeof demangler);
    return demangler;
}

char *symbols_demangle(const char *name)
{
    if (name == NULL || strncmp(name, "_Z", 2) != 0)
        return NULL;
    cxa_demangle_function *demangler = find_demangler();
    if (demangler == NULL)
        return NULL;
    int status = -1;
    char *demangled = demangler(name, NULL, NULL, &status);
    if (status != 0) {
        free(demangled);
        return NULL;
    }
    return demangled;
}

/* ---- interned strings ---- */

/* FNV-1a: short keys, good spread, no setup. */
static uint64_t hash_bytes(const void *data, size_t length, uint64_t hash)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < length; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

static uint64_t hash_string(const char *text)
{
    return hash_bytes(text, strlen(text), 0xcbf29ce484222325ULL);
}

static void intern_grow(struct intern_table *table)
{
    size_t capacity = table->capacity ? table->capacity * 2 : 256;
    char **slots = xcalloc(capacity, sizeof *slots);
    for (size_t i = 0; i < table->capacity; i++) {
        if (table->slots[i] == NULL)
            continue;
        size_t slot = hash_string(table->slots[i]) & (capacity - 1);
        while (slots[slot] != NULL)
            slot = (slot + 1) & (capacity - 1);
        slots[slot] = table->slots[i];
    }
    free(table->slots);
    table->slots = slots;
    table->capacity = capacity;
}

/* Returns the table's copy of text (added if new); NULL for NULL. */
static const char *intern(struct intern_table *table, const char *text)
{
    if (text == NULL)
        return NULL;
    if ((table->count + 1) * 2 > table->capacity)
        intern_grow(table);
    size_t slot = hash_string(text) & (table->capacity - 1);
    while (table->slots[slot] != NULL) {
        if (strcmp(table->slots[slot], text) == 0)
            return table->slots[slot];
        slot = (slot + 1) & (table->capacity - 1);
    }
    table->slots[slot] = xstrdup(text);
    table->count++;
    return table->slots[slot];
}

static void intern_free(struct intern_table *table)
{
    for (size_t i = 0; i < table->capacity; i++)
        free(table->slots[i]);
    free(table->slots);
    memset(table, 0, sizeof *table);
}

/* ---- result cache ---- */

/* Keys are interned, so the key's address identifies it. */
static uint64_t hash_result_key(const char *module_key, uint64_t offset)
{
    uintptr_t key_address = (uintptr_t)module_key;
    uint64_t hash = hash_bytes(&key_address, sizeof key_address, 0xcbf29ce484222325ULL);
    return hash_bytes(&offset, sizeof offset, hash);
}

static const struct cached_result *cache_find(const struct result_cache *cache,
                                              const char *module_key, uint64_t offset)
{
    if (cache->slot_capacity == 0)
        return NULL;
    size_t slot = hash_result_key(module_key, offset) & (cache->slot_capacity - 1);
    while (cache->slots[slot] != 0) {
        const struct cached_result *result = &cache->results[cache->slots[slot] - 1];
        if (result->module_key == module_key && result->offset == offset)
            return result;
        slot = (slot + 1) & (cache->slot_capacity - 1);
    }
    return NULL;
}

static void cache_place(struct result_cache *cache, size_t result_index)
{
    const struct cached_result *result = &cache->results[result_index];
    size_t slot = hash_result_key(result->module_key, result->offset) & (cache->slot_capacity - 1);
    while (cache->slots[slot] != 0)
        slot = (slot + 1) & (cache->slot_capacity - 1);
    cache->slots[slot] = (uint32_t)(result_index + 1);
}

/* Adds a result (the key must not be present) and returns it. */
static const struct cached_result *cache_insert(struct result_cache *cache, const char *module_key,
                                                uint64_t offset, const struct cached_frame *frames,
                                                size_t frame_count, bool from_disk)
{
    if (cache->result_count >= UINT32_MAX - 1 || cache->frame_count + frame_count >= UINT32_MAX) {
        /* Billions of distinct PCs: start over rather than overflow the 32-bit indexes.
         * Interned strings stay valid, so frames handed out earlier remain usable. */
        cache->result_count = 0;
        cache->frame_count = 0;
        memset(cache->slots, 0, cache->slot_capacity * sizeof *cache->slots);
    }
    if ((cache->result_count + 1) * 2 > cache->slot_capacity) {
        free(cache->slots);
        cache->slot_capacity = cache->slot_capacity ? cache->slot_capacity * 2 : 1024;
        cache->slots = xcalloc(cache->slot_capacity, sizeof *cache->slots);
        for (size_t i = 0; i < cache->result_count; i++)
            cache_place(cache, i);
    }
    xgrow((void **)&cache->results, &cache->result_capacity, cache->result_count + 1,
          sizeof *cache->results);
    xgrow((void **)&cache->frames, &cache->frame_capacity, cache->frame_count + frame_count,
          sizeof *cache->frames);
    memcpy(&cache->frames[cache->frame_count], frames, frame_count * sizeof *frames);
    struct cached_result *result = &cache->results[cache->result_count];
    result->module_key = module_key;
    result->offset = offset;
    result->first_frame = (uint32_t)cache->frame_count;
    result->frame_count = (uint32_t)frame_count;
    result->from_disk = from_disk;
    cache->frame_count += frame_count;
    cache_place(cache, cache->result_count);
    cache->result_count++;
    return result;
}

static void cache_free(struct result_cache *cache)
{
    free(cache->results);
    free(cache->frames);
    free(cache->slots);
    memset(cache, 0, sizeof *cache);
}

/* ---- resolving one address of one module (cache misses) ---- */

/* Interns name, demangled when it is a C++ symbol. */
static const char *intern_function_name(struct symbolizer *symbolizer, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return NULL;
    char *demangled = symbols_demangle(name);
    const char *interned = intern(&symbolizer->strings, demangled ? demangled : name);
    free(demangled);
    return interned;
}

/* Name of a subprogram or inlined subroutine DIE, following DW_AT_abstract_origin and
 * DW_AT_specification: the linkage (mangled) name when there is one, since it demangles to
 * the qualified C++ name ("ns::f(int)", where DW_AT_name says "f"). */
static const char *die_function_name(Dwarf_Die *die)
{
    static const int name_attributes[] = {DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name};
    for (size_t i = 0; i < sizeof name_attributes / sizeof name_attributes[0]; i++) {
        Dwarf_Attribute attribute;
        const char *name =
            dwarf_formstring(dwarf_attr_integrate(die, name_attributes[i], &attribute));
        if (name != NULL && name[0] != '\0')
            return name;
    }
    return NULL;
}

static bool is_function_scope(Dwarf_Die *die)
{
    int tag = dwarf_tag(die);
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
           tag == DW_TAG_entry_point;
}

/* Call site of an inlined subroutine (DW_AT_call_file, DW_AT_call_line), i.e. the location
 * in the function it was inlined into. */
static void inline_call_site(struct symbolizer *symbolizer, Dwarf_Die *inlined, const char **file,
                             int *line)
{
    Dwarf_Attribute attribute;
    Dwarf_Word value;
    Dwarf_Die unit;
    Dwarf_Files *files;
    size_t file_count;

    *file = NULL;
    *line = 0;
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attribute), &value) == 0 &&
        value <= INT32_MAX)
        *line = (int)value;
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attribute), &value) != 0)
        return;
    if (dwarf_diecu(inlined, &unit, NULL, NULL) == NULL ||
        dwarf_getsrcfiles(&unit, &files, &file_count) != 0 || value >= file_count)
        return;
    /* Before DWARF 5, index 0 means "no file" (libdw names it "???"). */
    const char *name = dwarf_filesrc(files, value, NULL, NULL);
    if (name != NULL && strcmp(name, "???") != 0)
        *file = intern(&symbolizer->strings, name);
}

/* Fills frames (innermost first) for address from the module's DWARF: the innermost frame gets
 * the line table's location, each outer frame the call site of the inlined call inside it.
 * Returns the frame count, 0 when the DWARF has no function at address. */
static size_t describe_with_dwarf(struct symbolizer *symbolizer, Dwfl_Module *module,
                                  Dwarf_Addr address, const char *file, int line,
                                  struct cached_frame *frames, size_t max)
{
    Dwarf_Addr dwarf_bias = 0;
    Dwarf_Die *scopes = NULL;
    Dwarf_Die *chain = NULL;
    size_t count = 0;

    Dwarf_Die *unit = dwfl_module_addrdie(module, address, &dwarf_bias);
    if (unit == NULL || address < dwarf_bias)
        return 0;
    /* dwarf_getscopes gives the innermost scope at the address; above an inlined subroutine it
     * continues in the inlined function's abstract definition, so the chain of callers is
     * taken from that innermost scope with dwarf_getscopes_die, which walks the concrete tree
     * (as eu-addr2line -i does). */
    int scope_count = dwarf_getscopes(unit, address - dwarf_bias, &scopes);
    if (scope_count <= 0)
        goto free_scopes;
    int chain_count = dwarf_getscopes_die(&scopes[0], &chain);
    if (chain_count <= 0)
        goto free_chain;
    for (int i = 0; i < chain_count && count < max; i++) {
        Dwarf_Die *scope = &chain[i];
        if (!is_function_scope(scope))
            continue;
        bool is_inline = dwarf_tag(scope) == DW_TAG_inlined_subroutine;
        frames[count].function = intern_function_name(symbolizer, die_function_name(scope));
        frames[count].file = file;
        frames[count].line = line;
        frames[count].is_inline = is_inline;
        count++;
        if (!is_inline)
            break;
        inline_call_site(symbolizer, scope, &file, &line);
    }
free_chain:
    free(chain);
free_scopes:
    free(scopes);
    return count;
}

/* Resolves address (a runtime address inside module) into frames; returns at least 1. */
static size_t describe_address(struct symbolizer *symbolizer, Dwfl_Module *module,
                               Dwarf_Addr address, struct cached_frame *frames, size_t max)
{
    const char *file = NULL;
    int line = 0;

    Dwfl_Line *line_entry = dwfl_module_getsrc(module, address);
    if (line_entry != NULL) {
        int line_number = 0;
        const char *source = dwfl_lineinfo(line_entry, NULL, &line_number, NULL, NULL, NULL);
        if (source != NULL && line_number > 0) {
            file = intern(&symbolizer->strings, source);
            line = line_number;
        }
    }

    size_t count = describe_with_dwarf(symbolizer, module, address, file, line, frames, max);
    /* No DWARF function here (no debug info, assembly, PLT): the symbol table names it. An
     * outermost function the DWARF left unnamed takes the symbol's name too. */
    if (count == 0) {
        frames[0] = (struct cached_frame){.file = file, .line = line};
        count = 1;
    }
    if (frames[count - 1].function == NULL) {
        GElf_Off symbol_offset = 0;
        GElf_Sym symbol;
        const char *name =
            dwfl_module_addrinfo(module, address, &symbol_offset, &symbol, NULL, NULL, NULL);
        frames[count - 1].function = intern_function_name(symbolizer, name);
    }
    return count;
}

/* ---- processes and their modules ---- */

static int compare_modules_by_start(const void *left, const void *right)
{
    const struct process_module *a = left, *b = right;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Arguments of collect_module(). */
struct module_collection {
    struct symbolizer *symbolizer; /* for interning paths */
    struct process_map *process;   /* receives the modules */
};

static int collect_module(Dwfl_Module *dwfl_module, void **userdata, const char *name,
                          Dwarf_Addr start, void *argument)
{
    (void)userdata;
    struct module_collection *collection = argument;
    struct process_map *process = collection->process;
    Dwarf_Addr low = start, high = 0;

    if (dwfl_module_info(dwfl_module, NULL, &low, &high, NULL, NULL, NULL, NULL) == NULL ||
        high <= low)
        return DWARF_CB_OK;
    /* libdwfl names the vdso "[vdso: PID]": one name for every process keeps paths shared. */
    if (name == NULL)
        name = "";
    else if (strncmp(name, "[vdso", 5) == 0)
        name = "[vdso]";
    xgrow((void **)&process->modules, &process->module_capacity, process->module_count + 1,
          sizeof *process->modules);
    process->modules[process->module_count++] = (struct process_module){
        .start = low,
        .end = high,
        .dwfl_module = dwfl_module,
        .path = intern(&collection->symbolizer->strings, name),
        .persisted_index = NO_PERSISTED_MODULE,
    };
    return DWARF_CB_OK;
}

static struct process_map *find_process(struct symbolizer *symbolizer, pid_t pid)
{
    if (symbolizer->last_process < symbolizer->process_count &&
        symbolizer->processes[symbolizer->last_process].pid == pid)
        return &symbolizer->processes[symbolizer->last_process];
    for (size_t i = 0; i < symbolizer->process_count; i++) {
        if (symbolizer->processes[i].pid == pid) {
            symbolizer->last_process = i;
            return &symbolizer->processes[i];
        }
    }
    return NULL;
}

static void process_map_free(struct process_map *process)
{
    if (process->dwfl != NULL)
        dwfl_end(process->dwfl);
    free(process->modules);
    memset(process, 0, sizeof *process);
}

static struct process_module *find_module(struct process_map *process, uint64_t address)
{
    if (process->last_module < process->module_count) {
        struct process_module *last = &process->modules[process->last_module];
        if (address >= last->start && address < last->end)
            return last;
    }
    size_t low = 0, high = process->module_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        struct process_module *module = &process->modules[middle];
        if (address < module->start) {
            high = middle;
        } else if (address >= module->end) {
            low = middle + 1;
        } else {
            process->last_module = middle;
            return module;
        }
    }
    return NULL;
}

/* Computes the module's cache key and load bias; the key stays NULL when its ELF file cannot
 * be found or read (then nothing but module+offset can be said). */
static void identify_module(struct symbolizer *symbolizer, pid_t pid, struct process_module *module)
{
    Dwarf_Addr bias = 0;
    const unsigned char *build_id = NULL;
    GElf_Addr build_id_address = 0;
    const char *main_file = NULL;
    char key[4096];

    module->is_identified = true;
    module->bias = module->start;
    if (dwfl_module_getelf(module->dwfl_module, &bias) == NULL)
        return;
    module->bias = bias;
    int build_id_length = dwfl_module_build_id(module->dwfl_module, &build_id, &build_id_address);
    if (build_id_length > 0 && build_id_length <= 64) {
        size_t used = (size_t)snprintf(key, sizeof key, "%s", BUILD_ID_KEY_PREFIX);
        for (int i = 0; i < build_id_length; i++)
            used += (size_t)snprintf(key + used, sizeof key - used, "%02x", build_id[i]);
    } else {
        struct stat status;
        if (dwfl_module_info(module->dwfl_module, NULL, NULL, NULL, NULL, NULL, &main_file, NULL) !=
                NULL &&
            main_file != NULL && stat(main_file, &status) == 0) {
            snprintf(key, sizeof key, "file:%s:%ju:%ju:%jd.%09ld", main_file,
                     (uintmax_t)status.st_dev, (uintmax_t)status.st_ino,
                     (intmax_t)status.st_mtim.tv_sec, status.st_mtim.tv_nsec);
        } else {
            /* Read from the process's memory (a deleted file): its content is known to be
             * the same only within this process and mapping. */
            snprintf(key, sizeof key, "memory:%d:%" PRIx64 ":%s", (int)pid, module->start,
                     module->path);
        }
    }
    module->module_key = intern(&symbolizer->strings, key);
}

/* ---- separate debug files ---- */

static char *debuginfo_cache; /* debuginfo_cache_dir(), or NULL: no cache */
static pthread_once_t debuginfo_cache_once = PTHREAD_ONCE_INIT; /* guards its lookup */

static void find_debuginfo_cache(void)
{
    debuginfo_cache = debuginfo_cache_dir();
}

/* Its address marks (in a Dwfl_Module's userdata) a module whose debug file was found. */
static char debug_file_found;

/* Opens path when it is a debug file with the module's build-id (or the module has none).
 * Used for the build-id path too, as a cheap guard against a stale or foreign file there.
 * Returns the fd (and *found_path, malloc'd) or -1. */
static int open_debug_file_candidate(Dwfl_Module *module, const char *path, char **found_path)
{
    /* O_NONBLOCK and a regular file only: a FIFO or a device named like a debug file next to
     * somebody's program must not hang the capture */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    const unsigned char *want;
    GElf_Addr vaddr;
    int want_len = dwfl_module_build_id(module, &want, &vaddr);
    if (want_len > 0) {
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        const void *have = NULL;
        ssize_t have_len = elf != NULL ? dwelf_elf_gnu_build_id(elf, &have) : -1;
        bool same = have_len == want_len && memcmp(have, want, (size_t)want_len) == 0;
        elf_end(elf);
        if (!same) {
            close(fd);
            return -1;
        }
    }
    *found_path = xstrdup(path);
    return fd;
}

/* Writes into paths (at most DEBUG_FILE_CANDIDATES) where the module's separate debug file is
 * looked for, in search order, and returns how many: by build-id,
 * /usr/lib/debug/.build-id/XX/REST.debug (the layout of Debian's -dbg and -dbgsym packages;
 * not dwfl_build_id_find_debuginfo: it keeps the file it opens as the module's debug file, so
 * a cached copy returned instead would be ignored); then the .gnu_debuglink search of gdb and
 * libdwfl: next to file_name, in its .debug directory, and under /usr/lib/debug with its
 * directory. */
static size_t debug_file_candidates(Dwfl_Module *module, const char *file_name,
                                    const char *debuglink, char paths[][PATH_MAX])
{
    size_t count = 0;
    const unsigned char *id;
    GElf_Addr vaddr;
    int length = dwfl_module_build_id(module, &id, &vaddr);
    if (length >= 2) {
        char name[160];
        size_t used = 0;
        for (int i = 1; i < length && used + 3 < sizeof name - 6; i++)
            used += (size_t)snprintf(name + used, sizeof name - used, "%02x", id[i]);
        snprintf(name + used, sizeof name - used, ".debug");
        snprintf(paths[count++], PATH_MAX, "/usr/lib/debug/.build-id/%02x/%s", id[0], name);
    }
    if (debuglink == NULL || file_name == NULL || strchr(debuglink, '/') != NULL)
        return count;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", file_name);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return count;
    *slash = '\0';
    if (strcmp(debuglink, slash + 1) != 0 && /* not the file itself */
        snprintf(paths[count], PATH_MAX, "%s/%s", dir, debuglink) < PATH_MAX)
        count++;
    if (snprintf(paths[count], PATH_MAX, "%s/.debug/%s", dir, debuglink) < PATH_MAX)
        count++;
    if (snprintf(paths[count], PATH_MAX, "/usr/lib/debug%s/%s", dir, debuglink) < PATH_MAX)
        count++;
    return count;
}

/* libdwfl's find_debuginfo callback: the module's separate debug file, looked up locally only
 * (debug_file_candidates(): by build-id under /usr/lib/debug/.build-id, then by
 * .gnu_debuglink), and read through its uncompressed copy from the debuginfo cache
 * (debuginfo_cache.h) when its DWARF sections are compressed, as Debian's are: libdw would
 * otherwise inflate them at every run (libc's: ~50 ms). Not dwfl_standard_find_debuginfo: for
 * every module without local debug info (the vDSO, any stripped binary) it asks debuginfod,
 * whose first use loads libdebuginfod, libcurl and TLS libraries (~6 ms measured) even with no
 * server configured. */
static int find_local_debuginfo(Dwfl_Module *module, void **userdata, const char *module_name,
                                Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                                GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    if (*userdata == &debug_file_found) {
        /* the second call for a module is for the dwz alternate file (.gnu_debugaltlink) of the
         * debug file found by the first: libdwfl's own search checks it against the build-id
         * the debug file names (locally; debuginfod only when absent, and DEBUGINFOD_URLS is
         * unset) and resolves a relative link from the debug file's directory */
        return dwfl_standard_find_debuginfo(module, userdata, module_name, base, file_name,
                                            debuglink_file, debuglink_crc, debuginfo_file_name);
    }
    char *found = NULL;
    char candidates[DEBUG_FILE_CANDIDATES][PATH_MAX];
    size_t candidate_count = debug_file_candidates(module, file_name, debuglink_file, candidates);
    int fd = -1;
    for (size_t i = 0; i < candidate_count && fd < 0; i++)
        fd = open_debug_file_candidate(module, candidates[i], &found);
    if (fd < 0)
        return -1;
    *userdata = &debug_file_found;
    /* the module's debug file keeps its real name, even when its copy is what is read */
    free(*debuginfo_file_name);
    *debuginfo_file_name = found;
    pthread_once(&debuginfo_cache_once, find_debuginfo_cache);
    if (debuginfo_cache == NULL)
        return fd;
    const unsigned char *build_id;
    GElf_Addr vaddr;
    int build_id_len = dwfl_module_build_id(module, &build_id, &vaddr);
    char *copy_path = NULL;
    int copy =
        debuginfo_cache_open(debuginfo_cache, fd, found, build_id_len > 0 ? build_id : NULL,
                             build_id_len > 0 ? (size_t)build_id_len : 0, &copy_path, NULL, 0);
    if (copy < 0)
        return fd; /* nothing to gain, or not cacheable: libdw reads the file itself */
    close(fd);
    free(copy_path);
    return copy;
}

/* ---- the symbol cache: results across runs ---- */

/* What the results for a module's addresses are computed from, as far as it can be told
 * without loading any debug information: the resolver's and libdw's versions, which of the
 * sections that libdwfl reads symbols from the main ELF file has (a stripped copy has the
 * build-id of the unstripped file), and which candidate separate debug files exist (path,
 * device, inode, size, mtime: installing or updating a debug package changes it). A dwz
 * alternate file is assumed to change along with the debug file naming it. malloc'd, or NULL
 * when the main ELF file cannot be read. */
static char *module_fingerprint(Dwfl_Module *dwfl_module)
{
    Dwarf_Addr bias;
    Elf *elf = dwfl_module_getelf(dwfl_module, &bias);
    if (elf == NULL)
        return NULL;
    bool has_symtab = false, has_dwarf = false, has_minidebuginfo = false;
    size_t shstrndx;
    if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(elf, scn)) != NULL) {
            GElf_Shdr shdr;
            const char *name =
                gelf_getshdr(scn, &shdr) != NULL ? elf_strptr(elf, shstrndx, shdr.sh_name) : NULL;
            if (name == NULL)
                continue;
            if (strcmp(name, ".symtab") == 0)
                has_symtab = true;
            else if (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0)
                has_dwarf = true;
            else if (strcmp(name, ".gnu_debugdata") == 0)
                has_minidebuginfo = true;
        }
    }
    const char *main_file = NULL;
    dwfl_module_info(dwfl_module, NULL, NULL, NULL, NULL, NULL, &main_file, NULL);
    GElf_Word debuglink_crc = 0;
    const char *debuglink = dwelf_elf_gnu_debuglink(elf, &debuglink_crc);
    char candidates[DEBUG_FILE_CANDIDATES][PATH_MAX];
    size_t candidate_count = debug_file_candidates(dwfl_module, main_file, debuglink, candidates);
    const char *libdw_version = dwfl_version(NULL);
    char *fingerprint =
        xasprintf("resolver %d; libdw %s; main file%s%s%s", SYMBOLS_RESOLVER_VERSION,
                  libdw_version ? libdw_version : "?", has_symtab ? " symtab" : "",
                  has_dwarf ? " dwarf" : "", has_minidebuginfo ? " minidebuginfo" : "");
    for (size_t i = 0; i < candidate_count; i++) {
        struct stat st;
        if (stat(candidates[i], &st) != 0)
            continue;
        char *longer =
            xasprintf("%s; debug file %s %ju %ju %jd %jd.%09ld", fingerprint, candidates[i],
                      (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
                      (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        free(fingerprint);
        fingerprint = longer;
    }
    return fingerprint;
}

/* Arguments of load_disk_result(). */
struct disk_result_loading {
    struct symbolizer *symbolizer; /* receives the results */
    const char *module_key;        /* interned key of the module whose file is read */
};

/* symbol_cache_load's visitor: one result of the file into the result cache. */
static void load_disk_result(void *argument, const struct symbol_cache_entry *entry)
{
    struct disk_result_loading *loading = argument;
    struct symbolizer *symbolizer = loading->symbolizer;
    if (entry->frame_count == 0 || entry->frame_count > SYMBOLS_MAX_INLINE_CHAIN ||
        cache_find(&symbolizer->cache, loading->module_key, entry->offset) != NULL)
        return;
    struct cached_frame frames[SYMBOLS_MAX_INLINE_CHAIN];
    for (size_t i = 0; i < entry->frame_count; i++) {
        const struct symbol_cache_frame *stored = &entry->frames[i];
        /* as describe_address() interns them: an empty function name is an unknown one */
        bool has_function = stored->function != NULL && stored->function[0] != '\0';
        frames[i] = (struct cached_frame){
            .function = has_function ? intern(&symbolizer->strings, stored->function) : NULL,
            .file = intern(&symbolizer->strings, stored->file),
            .line = stored->line,
            .is_inline = stored->is_inline,
        };
    }
    cache_insert(&symbolizer->cache, loading->module_key, entry->offset, frames, entry->frame_count,
                 true);
    symbolizer->disk_results++;
}

/* Ties a just identified module with a build-id to its entry in symbolizer.persisted; the
 * first time its key is seen, the module's file of the symbol cache is read into the result
 * cache. Only the main ELF file is read here (module_fingerprint), never debug information. */
static void persisted_module_attach(struct symbolizer *symbolizer, struct process_module *module)
{
    size_t prefix = strlen(BUILD_ID_KEY_PREFIX);
    if (symbolizer->symbol_cache_dir == NULL || module->module_key == NULL ||
        strncmp(module->module_key, BUILD_ID_KEY_PREFIX, prefix) != 0)
        return;
    char *fingerprint = module_fingerprint(module->dwfl_module);
    if (fingerprint == NULL)
        return;
    for (size_t i = 0; i < symbolizer->persisted_count; i++) {
        struct persisted_module *persisted = &symbolizer->persisted[i];
        if (persisted->module_key != module->module_key)
            continue;
        /* the same build-id from other files (a stripped copy, other debug files): the
         * results in memory mix both, so none of them is written */
        if (strcmp(persisted->fingerprint, fingerprint) != 0)
            persisted->is_conflicted = true;
        module->persisted_index = i;
        free(fingerprint);
        return;
    }
    xgrow((void **)&symbolizer->persisted, &symbolizer->persisted_capacity,
          symbolizer->persisted_count + 1, sizeof *symbolizer->persisted);
    module->persisted_index = symbolizer->persisted_count;
    symbolizer->persisted[symbolizer->persisted_count++] = (struct persisted_module){
        .module_key = module->module_key,
        .fingerprint = fingerprint,
    };
    struct disk_result_loading loading = {.symbolizer = symbolizer,
                                          .module_key = module->module_key};
    /* a missing, stale or damaged file just gives nothing: the results are resolved again */
    (void)symbol_cache_load(symbolizer->symbol_cache_dir, module->module_key + prefix, fingerprint,
                            load_disk_result, &loading, NULL, 0);
}

void symbolizer_save_cache(struct symbolizer *symbolizer)
{
    if (symbolizer == NULL || symbolizer->symbol_cache_dir == NULL)
        return;
    const struct result_cache *cache = &symbolizer->cache;
    size_t prefix = strlen(BUILD_ID_KEY_PREFIX);
    for (size_t p = 0; p < symbolizer->persisted_count; p++) {
        struct persisted_module *persisted = &symbolizer->persisted[p];
        if (persisted->new_results == 0 || persisted->is_conflicted)
            continue;
        size_t entry_count = 0, frame_count = 0;
        for (size_t i = 0; i < cache->result_count; i++) {
            if (cache->results[i].module_key == persisted->module_key) {
                entry_count++;
                frame_count += cache->results[i].frame_count;
            }
        }
        struct symbol_cache_entry *entries = xcalloc(entry_count + 1, sizeof *entries);
        struct symbol_cache_frame *frames = xcalloc(frame_count + 1, sizeof *frames);
        size_t written_entries = 0, written_frames = 0;
        for (size_t i = 0; i < cache->result_count; i++) {
            const struct cached_result *result = &cache->results[i];
            if (result->module_key != persisted->module_key)
                continue;
            entries[written_entries++] = (struct symbol_cache_entry){
                .offset = result->offset,
                .frames = &frames[written_frames],
                .frame_count = result->frame_count,
            };
            for (uint32_t f = 0; f < result->frame_count; f++) {
                const struct cached_frame *frame = &cache->frames[result->first_frame + f];
                frames[written_frames++] = (struct symbol_cache_frame){
                    .function = frame->function,
                    .file = frame->file,
                    .line = frame->line,
                    .is_inline = frame->is_inline,
                };
            }
        }
        /* best effort: a cache that cannot be written costs the next run some time only */
        (void)symbol_cache_save(symbolizer->symbol_cache_dir, persisted->module_key + prefix,
                                persisted->fingerprint, entries, entry_count, NULL, 0);
        persisted->new_results = 0;
        free(frames);
        free(entries);
    }
}

/* ---- public interface ---- */

struct symbolizer *symbolizer_new(void)
{
    /* libdw (0.179 and later) asks the debuginfod servers listed in DEBUGINFOD_URLS for any
     * debug file it cannot find locally: that is a network download (possibly hundreds of
     * megabytes, possibly minutes) in the middle of a capture, and a leak of which binaries
     * run here. stacktop never touches the network (DESIGN.md, "symbols"), and unsetting the
     * variable is libdw's documented switch. The client reads it at each query, so unsetting
     * it here is enough even though libdw loaded libdebuginfod at program start (checked with
     * strace: connect() attempts without this line, none with it). */
    unsetenv("DEBUGINFOD_URLS");
    struct symbolizer *symbolizer = xcalloc(1, sizeof(struct symbolizer));
    symbolizer->symbol_cache_dir = symbol_cache_dir();
    return symbolizer;
}

void symbolizer_free(struct symbolizer *symbolizer)
{
    if (symbolizer == NULL)
        return;
    symbolizer_save_cache(symbolizer);
    for (size_t i = 0; i < symbolizer->persisted_count; i++)
        free(symbolizer->persisted[i].fingerprint);
    free(symbolizer->persisted);
    free(symbolizer->symbol_cache_dir);
    for (size_t i = 0; i < symbolizer->process_count; i++)
        process_map_free(&symbolizer->processes[i]);
    free(symbolizer->processes);
    cache_free(&symbolizer->cache);
    intern_free(&symbolizer->strings);
    intern_free(&symbolizer->loaded_modules);
    free(symbolizer);
}

int symbolizer_load_process(struct symbolizer *symbolizer, pid_t pid, char *err, size_t errlen)
{
    return symbolizer_load_process_maps(symbolizer, pid, NULL, err, errlen);
}

int symbolizer_load_process_maps(struct symbolizer *symbolizer, pid_t pid,
                                 const struct proc_maps *maps, char *err, size_t errlen)
{
    static const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = find_local_debuginfo,
        .debuginfo_path = NULL,
    };
    struct process_map loaded = {.pid = pid};

    loaded.dwfl = dwfl_begin(&callbacks);
    if (loaded.dwfl == NULL) {
        snprintf(err, errlen, "libdw cannot start: %s", dwfl_errmsg(-1));
        return -1;
    }
    dwfl_report_begin(loaded.dwfl);
    int report = maps != NULL ? proc_maps_report(maps, loaded.dwfl, pid)
                              : dwfl_linux_proc_report(loaded.dwfl, pid);
    if (report == ENOENT || report == ESRCH) {
        snprintf(err, errlen, "process %d does not exist (it may have exited)", (int)pid);
        goto free_loaded;
    } else if (report == EACCES || report == EPERM) {
        snprintf(err, errlen,
                 "permission denied reading /proc/%d/maps: run as the process's user or with "
                 "CAP_SYS_PTRACE",
                 (int)pid);
        goto free_loaded;
    } else if (report > 0) {
        snprintf(err, errlen, "cannot read the memory map of process %d: %s", (int)pid,
                 strerror(report));
        goto free_loaded;
    } else if (report < 0) {
        snprintf(err, errlen, "cannot read the memory map of process %d: %s", (int)pid,
                 dwfl_errmsg(-1));
        goto free_loaded;
    }
    if (dwfl_report_end(loaded.dwfl, NULL, NULL) != 0) {
        snprintf(err, errlen, "cannot read the memory map of process %d: %s", (int)pid,
                 dwfl_errmsg(-1));
        goto free_loaded;
    }
    struct module_collection collection = {.symbolizer = symbolizer, .process = &loaded};
    if (dwfl_getmodules(loaded.dwfl, collect_module, &collection, 0) < 0) {
        snprintf(err, errlen, "cannot list the modules of process %d: %s", (int)pid,
                 dwfl_errmsg(-1));
        goto free_loaded;
    }
    if (loaded.module_count > 1)
        qsort(loaded.modules, loaded.module_count, sizeof *loaded.modules,
              compare_modules_by_start);

    struct process_map *existing = find_process(symbolizer, pid);
    if (existing != NULL) {
        process_map_free(existing);
        *existing = loaded;
    } else {
        xgrow((void **)&symbolizer->processes, &symbolizer->process_capacity,
              symbolizer->process_count + 1, sizeof *symbolizer->processes);
        symbolizer->processes[symbolizer->process_count++] = loaded;
    }
    return 0;

free_loaded:
    process_map_free(&loaded);
    return -1;
}

void symbolizer_forget_process(struct symbolizer *symbolizer, pid_t pid)
{
    struct process_map *process = find_process(symbolizer, pid);
    if (process == NULL)
        return;
    process_map_free(process);
    size_t index = (size_t)(process - symbolizer->processes);
    symbolizer->processes[index] = symbolizer->processes[--symbolizer->process_count];
    symbolizer->last_process = 0;
}

size_t symbolizer_resolve(struct symbolizer *symbolizer, pid_t pid, uint64_t pc,
                          bool is_return_address, struct capture_frame *out, size_t max)
{
    symbolizer->lookups++;
    if (max == 0)
        return 0;
    /* The return address points after the call; pc - 1 is inside the call instruction, so
     * the line (and the inline chain) is the call's. */
    uint64_t address = is_return_address && pc > 0 ? pc - 1 : pc;
    out[0] = (struct capture_frame){.pc = pc, .module_offset = pc};

    struct process_map *process = find_process(symbolizer, pid);
    if (process == NULL) {
        /* Not loaded yet: load it now (callers normally did; a failure means unknown). */
        char ignored[256];
        if (symbolizer_load_process(symbolizer, pid, ignored, sizeof ignored) != 0)
            return 1;
        process = find_process(symbolizer, pid);
        if (process == NULL)
            return 1;
    }
    struct process_module *module = find_module(process, address);
    if (module == NULL)
        return 1; /* JIT code, anonymous memory, or a map changed since loading */
    if (!module->is_identified) {
        identify_module(symbolizer, pid, module);
        persisted_module_attach(symbolizer, module);
    }
    out[0].module = module->path;
    out[0].module_offset = pc - module->bias;
    if (module->module_key == NULL)
        return 1; /* no ELF file to read: module+offset only */

    uint64_t offset = address - module->bias;
    const struct cached_result *result = cache_find(&symbolizer->cache, module->module_key, offset);
    if (result != NULL) {
        symbolizer->cache_hits++;
        if (result->from_disk)
            symbolizer->disk_hits++;
    } else {
        symbolizer->dwarf_lookups++;
        if (module->persisted_index != NO_PERSISTED_MODULE)
            symbolizer->persisted[module->persisted_index].new_results++;
        struct cached_frame frames[SYMBOLS_MAX_INLINE_CHAIN];
        size_t count = describe_address(symbolizer, module->dwfl_module, address, frames,
                                        SYMBOLS_MAX_INLINE_CHAIN);
        intern(&symbolizer->loaded_modules, module->module_key);
        result = cache_insert(&symbolizer->cache, module->module_key, offset, frames, count, false);
    }

    size_t written = result->frame_count < max ? result->frame_count : max;
    for (size_t i = 0; i < written; i++) {
        const struct cached_frame *frame = &symbolizer->cache.frames[result->first_frame + i];
        out[i] = (struct capture_frame){
            .pc = pc,
            .function = frame->function,
            .module = module->path,
            .module_offset = pc - module->bias,
            .file = frame->file,
            .line = frame->line,
            .is_inline = frame->is_inline,
        };
    }
    return written;
}

void symbolizer_get_stats(const struct symbolizer *symbolizer, struct symbolizer_stats *out)
{
    out->lookups = symbolizer->lookups;
    out->cache_hits = symbolizer->cache_hits;
    out->disk_hits = symbolizer->disk_hits;
    out->dwarf_lookups = symbolizer->dwarf_lookups;
    out->disk_results = symbolizer->disk_results;
    out->modules = symbolizer->loaded_modules.count;
}
