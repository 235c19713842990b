/*
 * test_symbols: core/symbols.c against the test process itself (its own functions, an inlined
 * call, libc, the vdso), a forked child of the same binary (shared cache), a stripped copy of
 * libz loaded with dlopen, and the C++ fixture when it was built.
 *
 * The PCs are taken so that the expected answers hold at -O0 (sanitizer build) and -O2 -g
 * (RelWithDebInfo): a noinline helper returns its caller's return address, so the call's
 * source line is known exactly (__LINE__ is passed as an argument of the call itself).
 */
#include "symbols.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "test_files.h"

#define MAX_FRAMES 16 /* frames asked for per PC */

static volatile int sink; /* side effects that keep calls from being tail calls or removed */

static int target_first_line;  /* __LINE__ inside symbols_test_target */
static int call_site_line;     /* line of the call in call_site_function */
static int inlined_call_line;  /* line of the call inside inlined_body */
static int inline_caller_line; /* line where outer_with_inline calls inlined_body */

/* Non-static and noinline so that each has its own symbol, DWARF subprogram and address. */
uint64_t take_return_address(int *call_line, int line);
int symbols_test_target(int value);
uint64_t call_site_function(void);
uint64_t outer_with_inline(void);

/* Returns the caller's return address (a PC just after the call) and stores the line the
 * caller passed (its __LINE__, on the line of the call) in *call_line. */
__attribute__((noinline, noclone)) uint64_t take_return_address(int *call_line, int line)
{
    *call_line = line;
    uint64_t pc = (uint64_t)(uintptr_t)__builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return pc;
}

__attribute__((noinline)) int symbols_test_target(int value)
{
    target_first_line = __LINE__;
    return value * 3 + sink;
}

__attribute__((noinline)) uint64_t call_site_function(void)
{
    uint64_t pc = take_return_address(&call_site_line, __LINE__);
    sink++;
    return pc;
}

static inline __attribute__((always_inline)) uint64_t inlined_body(void)
{
    uint64_t pc = take_return_address(&inlined_call_line, __LINE__);
    sink++;
    return pc;
}

__attribute__((noinline)) uint64_t outer_with_inline(void)
{
    uint64_t pc;
    inline_caller_line = __LINE__, pc = inlined_body();
    sink++;
    return pc;
}

static bool ends_with(const char *text, const char *suffix)
{
    size_t text_length = text ? strlen(text) : 0, suffix_length = strlen(suffix);
    return text && text_length >= suffix_length &&
           strcmp(text + text_length - suffix_length, suffix) == 0;
}

static bool contains(const char *text, const char *part)
{
    return text && strstr(text, part);
}

static void print_frames(const char *title, const struct capture_frame *frames, size_t count)
{
    printf("%s:\n", title);
    for (size_t i = 0; i < count; i++)
        printf("  #%zu %s%s (%s+0x%llx) %s:%d\n", i, frames[i].is_inline ? "[inline] " : "",
               frames[i].function ? frames[i].function : "??",
               frames[i].module ? frames[i].module : "??",
               (unsigned long long)frames[i].module_offset, frames[i].file ? frames[i].file : "??",
               frames[i].line);
}

static void test_own_functions(struct symbolizer *symbolizer, const char *self_path)
{
    struct capture_frame frames[MAX_FRAMES];
    sink += symbols_test_target(1);

    /* Function entry (not a return address): the line of its opening. */
    uint64_t entry = (uint64_t)(uintptr_t)&symbols_test_target;
    size_t count = symbolizer_resolve(symbolizer, getpid(), entry, false, frames, MAX_FRAMES);
    print_frames("symbols_test_target entry", frames, count);
    CHECK_INT(count, 1);
    CHECK_STR(frames[0].function, "symbols_test_target");
    CHECK_STR(frames[0].module, self_path);
    CHECK(ends_with(frames[0].file, "test_symbols.c"));
    /* The declarator's line (-O0 prologue) up to its last statement (-O2 may schedule the
     * return expression first). */
    CHECK(frames[0].line >= target_first_line - 2 && frames[0].line <= target_first_line + 1);
    CHECK(frames[0].pc == entry);
    CHECK(!frames[0].is_inline);

    /* A return address: the line of the call, and the pc as given. */
    uint64_t return_address = call_site_function();
    count = symbolizer_resolve(symbolizer, getpid(), return_address, true, frames, MAX_FRAMES);
    print_frames("call_site_function return address", frames, count);
    CHECK_INT(count, 1);
    CHECK_STR(frames[0].function, "call_site_function");
    CHECK_INT(frames[0].line, call_site_line);
    CHECK(ends_with(frames[0].file, "test_symbols.c"));
    CHECK(frames[0].pc == return_address);
    CHECK(frames[0].module_offset != 0 && frames[0].module_offset <= return_address);

    /* A call inside an always_inline function: the inlined frame first, then its caller at
     * the inlined call's site. */
    uint64_t inside_inline = outer_with_inline();
    count = symbolizer_resolve(symbolizer, getpid(), inside_inline, true, frames, MAX_FRAMES);
    print_frames("inside inlined_body", frames, count);
    CHECK_INT(count, 2);
    if (count == 2) {
        CHECK(frames[0].is_inline);
        CHECK_STR(frames[0].function, "inlined_body");
        CHECK_INT(frames[0].line, inlined_call_line);
        CHECK(ends_with(frames[0].file, "test_symbols.c"));
        CHECK(!frames[1].is_inline);
        CHECK_STR(frames[1].function, "outer_with_inline");
        CHECK_INT(frames[1].line, inline_caller_line);
        CHECK(ends_with(frames[1].file, "test_symbols.c"));
        CHECK(frames[1].pc == inside_inline && frames[0].pc == inside_inline);
    }

    /* max smaller than the chain: the innermost frames only. */
    count = symbolizer_resolve(symbolizer, getpid(), inside_inline, true, frames, 1);
    CHECK_INT(count, 1);
    CHECK_INT(symbolizer_resolve(symbolizer, getpid(), inside_inline, true, frames, 0), 0);
}

static void test_libc(struct symbolizer *symbolizer)
{
    struct capture_frame frame;
    Dl_info info;
    void *address = dlsym(RTLD_DEFAULT, "getpid");
    CHECK(address != NULL);
    if (address == NULL || dladdr(address, &info) == 0 || !contains(info.dli_fname, "libc.so")) {
        printf("skip: getpid is not libc's here\n");
        return;
    }
    uint64_t pc = (uint64_t)(uintptr_t)address;
    size_t count = symbolizer_resolve(symbolizer, getpid(), pc, false, &frame, 1);
    print_frames("getpid", &frame, count);
    CHECK_INT(count, 1);
    CHECK(contains(frame.module, "libc.so"));
    CHECK(contains(frame.function, "getpid"));
    CHECK(frame.module_offset == pc - (uint64_t)(uintptr_t)info.dli_fbase);
}

static void test_vdso_and_unknown(struct symbolizer *symbolizer)
{
    struct capture_frame frame;
    /* glibc lists the vdso among the loaded objects under its soname. */
    void *vdso = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
    void *clock_function = vdso ? dlsym(vdso, "__vdso_clock_gettime") : NULL;
    if (clock_function != NULL) {
        uint64_t pc = (uint64_t)(uintptr_t)clock_function;
        size_t count = symbolizer_resolve(symbolizer, getpid(), pc, false, &frame, 1);
        print_frames("vdso __vdso_clock_gettime", &frame, count);
        CHECK_INT(count, 1);
        CHECK(contains(frame.module, "vdso"));
        CHECK(contains(frame.function, "clock_gettime"));
        CHECK(frame.module_offset == pc - getauxval(AT_SYSINFO_EHDR));
    } else {
        printf("skip: no vdso with __vdso_clock_gettime\n");
    }
    if (vdso != NULL)
        dlclose(vdso);
    size_t count = symbolizer_resolve(symbolizer, getpid(), 0x10, false, &frame, 1);
    CHECK_INT(count, 1);
    CHECK(frame.function == NULL && frame.module == NULL && frame.file == NULL);
    CHECK(frame.pc == 0x10);
}

/* Copies src to dst; 0 on success. */
static int copy_file(const char *src, const char *dst)
{
    int result = -1;
    char buffer[65536];
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    if (out < 0)
        goto close_in;
    ssize_t got;
    while ((got = read(in, buffer, sizeof buffer)) > 0)
        if (write(out, buffer, (size_t)got) != got)
            goto close_out;
    result = got == 0 ? 0 : -1;
close_out:
    close(out);
close_in:
    close(in);
    return result;
}

/* Finds the address of .text in path, and the lowest defined .dynsym symbol above it. */
static int text_and_first_symbol(const char *path, uint64_t *text, uint64_t *first_symbol)
{
    int result = -1;
    size_t section_names;
    Elf_Scn *section = NULL;

    *text = 0;
    *first_symbol = UINT64_MAX;
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    if (elf == NULL || elf_getshdrstrndx(elf, &section_names) != 0)
        goto end_elf;
    while ((section = elf_nextscn(elf, section)) != NULL) {
        GElf_Shdr header;
        if (gelf_getshdr(section, &header) == NULL)
            continue;
        const char *name = elf_strptr(elf, section_names, header.sh_name);
        if (name && strcmp(name, ".text") == 0)
            *text = header.sh_addr;
        if (header.sh_type != SHT_DYNSYM || header.sh_entsize == 0)
            continue;
        Elf_Data *data = elf_getdata(section, NULL);
        for (size_t i = 0; data && i < header.sh_size / header.sh_entsize; i++) {
            GElf_Sym symbol;
            if (gelf_getsym(data, (int)i, &symbol) != NULL && symbol.st_shndx != SHN_UNDEF &&
                symbol.st_value != 0 && symbol.st_value < *first_symbol)
                *first_symbol = symbol.st_value;
        }
    }
    result = *text != 0 ? 0 : -1;
end_elf:
    elf_end(elf);
    close(fd);
    return result;
}

/* A PC in code that no symbol covers, in a stripped library: function NULL, module+offset. The
 * library is a copy of libz, stripped (Debian's libz already has no .symtab; strip makes sure),
 * and the PC is .text + 2, which on Debian 12 is compiler start-up code (deregister_tm_clones)
 * below the first exported function. The test skips if libz's layout differs, and accepts a
 * name when separate debug info for libz is installed (found by build-id in /usr/lib/debug). */
static void test_stripped_library(struct symbolizer *symbolizer)
{
    char directory[] = "/tmp/stacktop-symbols-XXXXXX";
    char library[PATH_MAX], command[PATH_MAX + 64], err[256];
    uint64_t text, first_symbol;
    struct capture_frame frame;
    Dl_info info;

    if (mkdtemp(directory) == NULL) {
        printf("skip: mkdtemp failed\n");
        return;
    }
    snprintf(library, sizeof library, "%s/libz-stripped.so", directory);
    if (copy_file("/usr/lib/x86_64-linux-gnu/libz.so.1", library) != 0) {
        printf("skip: no libz.so.1 to copy\n");
        goto remove_directory;
    }
    snprintf(command, sizeof command, "strip --strip-all '%s' 2>/dev/null", library);
    if (system(command) != 0)
        printf("note: strip failed; using the library as shipped\n");
    if (text_and_first_symbol(library, &text, &first_symbol) != 0 || first_symbol <= text + 2) {
        printf("skip: libz has an exported symbol at the start of .text\n");
        goto remove_library;
    }
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    CHECK(handle != NULL);
    if (handle == NULL)
        goto remove_library;
    void *exported = dlsym(handle, "zlibVersion");
    CHECK(exported != NULL && dladdr(exported, &info) != 0);
    if (exported == NULL)
        goto close_library;
    /* The map changed (dlopen): loading again replaces it. */
    CHECK_INT(symbolizer_load_process(symbolizer, getpid(), err, sizeof err), 0);

    uint64_t base = (uint64_t)(uintptr_t)info.dli_fbase;
    uint64_t pc = base + text + 2;
    size_t count = symbolizer_resolve(symbolizer, getpid(), pc, false, &frame, 1);
    print_frames("stripped libz copy, .text + 2", &frame, count);
    CHECK_INT(count, 1);
    CHECK_STR(frame.module, library);
    CHECK(frame.module_offset == text + 2);
    struct stat debug_directory;
    if (stat("/usr/lib/debug/.build-id", &debug_directory) != 0)
        CHECK(frame.function == NULL);

    /* The exported function keeps its .dynsym name even when stripped. */
    uint64_t exported_pc = (uint64_t)(uintptr_t)exported;
    count = symbolizer_resolve(symbolizer, getpid(), exported_pc, false, &frame, 1);
    CHECK_STR(frame.function, "zlibVersion");
    CHECK(frame.module_offset == exported_pc - base);
close_library:
    dlclose(handle);
    /* Forget the unloaded library's map; it is reloaded on the next use. */
    symbolizer_forget_process(symbolizer, getpid());
remove_library:
    unlink(library);
remove_directory:
    rmdir(directory);
}

static void test_cache_shared_by_processes(struct symbolizer *symbolizer)
{
    struct symbolizer_stats before, after;
    struct capture_frame mine[MAX_FRAMES], child_frames[MAX_FRAMES];
    char err[256];

    uint64_t pc = call_site_function();
    size_t count = symbolizer_resolve(symbolizer, getpid(), pc, true, mine, MAX_FRAMES);
    symbolizer_get_stats(symbolizer, &before);
    count = symbolizer_resolve(symbolizer, getpid(), pc, true, mine, MAX_FRAMES);
    symbolizer_get_stats(symbolizer, &after);
    CHECK(after.cache_hits == before.cache_hits + 1);
    CHECK(after.lookups == before.lookups + 1);
    CHECK(after.modules >= 1);

    pid_t child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    CHECK(child > 0);
    if (child < 0)
        return;
    CHECK_INT(symbolizer_load_process(symbolizer, child, err, sizeof err), 0);
    symbolizer_get_stats(symbolizer, &before);
    size_t child_count = symbolizer_resolve(symbolizer, child, pc, true, child_frames, MAX_FRAMES);
    symbolizer_get_stats(symbolizer, &after);
    CHECK(after.cache_hits == before.cache_hits + 1);
    CHECK_INT(child_count, count);
    CHECK(child_frames[0].function == mine[0].function); /* the same interned string */
    CHECK_INT(child_frames[0].line, mine[0].line);
    symbolizer_forget_process(symbolizer, child);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    /* A process that does not exist: a clear error. */
    CHECK_INT(symbolizer_load_process(symbolizer, child, err, sizeof err), -1);
    CHECK(contains(err, "does not exist"));
}

/* Finds the runtime address of a C++ function of the fixture executable (its first function
 * symbol in .symtab whose mangled name starts with prefix); 0 if none. */
static uint64_t fixture_mangled_function(const char *path, const char *prefix, pid_t pid,
                                         char *name, size_t size)
{
    uint64_t found = 0;
    Elf_Scn *section = NULL;
    GElf_Ehdr header;
    char maps_path[64], line[PATH_MAX + 128];

    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    if (elf == NULL || gelf_getehdr(elf, &header) == NULL)
        goto end_elf;
    while (found == 0 && (section = elf_nextscn(elf, section)) != NULL) {
        GElf_Shdr section_header;
        if (gelf_getshdr(section, &section_header) == NULL ||
            section_header.sh_type != SHT_SYMTAB || section_header.sh_entsize == 0)
            continue;
        Elf_Data *data = elf_getdata(section, NULL);
        for (size_t i = 0; data && i < section_header.sh_size / section_header.sh_entsize; i++) {
            GElf_Sym symbol;
            const char *symbol_name;
            if (gelf_getsym(data, (int)i, &symbol) == NULL ||
                GELF_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF ||
                symbol.st_size == 0)
                continue;
            symbol_name = elf_strptr(elf, section_header.sh_link, symbol.st_name);
            if (symbol_name && strncmp(symbol_name, prefix, strlen(prefix)) == 0) {
                found = symbol.st_value;
                snprintf(name, size, "%s", symbol_name);
                break;
            }
        }
    }
    if (found != 0 && header.e_type == ET_DYN) {
        /* Position-independent: add the start of its first mapping (first PT_LOAD at 0). */
        uint64_t base = 0;
        snprintf(maps_path, sizeof maps_path, "/proc/%d/maps", (int)pid);
        FILE *maps = fopen(maps_path, "re");
        while (maps && base == 0 && fgets(line, sizeof line, maps)) {
            unsigned long long start, offset;
            char *file = strchr(line, '/');
            if (file && sscanf(line, "%llx-%*x %*s %llx", &start, &offset) == 2 && offset == 0 &&
                strncmp(file, path, strlen(path)) == 0)
                base = start;
        }
        if (maps)
            fclose(maps);
        found = base ? found + base : 0;
    }
end_elf:
    elf_end(elf);
    close(fd);
    return found;
}

/* The C++ fixture (tests/fixtures/stacks_cpp.cpp, built into build/fixtures/stacks_cpp):
 * skipped when it was not built. */
static void test_cpp_fixture(struct symbolizer *symbolizer, const char *self_path)
{
    char fixture[PATH_MAX], resolved[PATH_MAX], mangled[512], err[256];
    struct capture_frame frame;

    snprintf(fixture, sizeof fixture, "%s", self_path);
    char *slash = strrchr(fixture, '/');
    if (slash == NULL)
        return;
    snprintf(slash, sizeof fixture - (size_t)(slash - fixture), "/../fixtures/stacks_cpp");
    if (realpath(fixture, resolved) == NULL || access(resolved, X_OK) != 0) {
        printf("skip: no C++ fixture at %s\n", fixture);
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execl(resolved, resolved, (char *)NULL);
        _exit(127);
    }
    if (child < 0)
        return;
    struct timespec pause_time = {0, 300 * 1000 * 1000};
    nanosleep(&pause_time, NULL);
    if (waitpid(child, NULL, WNOHANG) != 0) {
        printf("skip: the C++ fixture exited at once\n");
        return;
    }
    /* fixture::... (the fixture's own code), else any C++ function (library templates). */
    uint64_t pc = fixture_mangled_function(resolved, "_ZN7fixture", child, mangled, sizeof mangled);
    if (pc == 0)
        pc = fixture_mangled_function(resolved, "_ZN", child, mangled, sizeof mangled);
    if (pc == 0 || symbolizer_load_process(symbolizer, child, err, sizeof err) != 0) {
        printf("skip: no mangled function found in the C++ fixture\n");
        goto kill_child;
    }
    size_t count = symbolizer_resolve(symbolizer, child, pc, false, &frame, 1);
    printf("C++ fixture, symbol %s\n", mangled);
    print_frames("C++ fixture", &frame, count);
    CHECK(frame.function != NULL && strncmp(frame.function, "_Z", 2) != 0);
    CHECK(contains(frame.function, "::"));
    CHECK_STR(frame.module, resolved);
    symbolizer_forget_process(symbolizer, child);
kill_child:
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

static void test_demangle(void)
{
    char *demangled = symbols_demangle("_ZN3foo3barEv");
    CHECK_STR(demangled, "foo::bar()");
    free(demangled);
    demangled = symbols_demangle("_ZN2ns6WidgetC2Ei");
    CHECK_STR(demangled, "ns::Widget::Widget(int)");
    free(demangled);
    CHECK(symbols_demangle("main") == NULL);
    CHECK(symbols_demangle("_Z") == NULL);
    CHECK(symbols_demangle("_ZZZZ") == NULL);
    CHECK(symbols_demangle(NULL) == NULL);
}

/* Every executable mapping of the process, probed at many addresses (most in the middle of
 * instructions, in PLTs, padding, code without DWARF): always one frame or more, never a crash
 * (the sanitizer build checks the memory accesses). */
static void test_every_mapping_survives(struct symbolizer *symbolizer)
{
    struct capture_frame frames[MAX_FRAMES];
    char line[PATH_MAX + 128];
    size_t probes = 0, failures = 0;

    FILE *maps = fopen("/proc/self/maps", "re");
    CHECK(maps != NULL);
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long long start, end;
        char permissions[8];
        if (sscanf(line, "%llx-%llx %7s", &start, &end, permissions) != 3 || permissions[2] != 'x')
            continue;
        uint64_t step = (end - start) / 97 + 1;
        for (uint64_t pc = start; pc < end; pc += step) {
            for (int is_return = 0; is_return < 2; is_return++) {
                size_t count = symbolizer_resolve(symbolizer, getpid(), pc, is_return != 0, frames,
                                                  MAX_FRAMES);
                probes++;
                if (count < 1 || count > MAX_FRAMES || frames[0].pc != pc)
                    failures++;
                for (size_t i = 0; i + 1 < count; i++)
                    if (!frames[i].is_inline || frames[i].pc != pc)
                        failures++;
                if (count >= 1 && count <= MAX_FRAMES && frames[count - 1].is_inline)
                    failures++;
            }
        }
    }
    if (maps)
        fclose(maps);
    printf("probed %zu PCs in every executable mapping\n", probes);
    CHECK(probes > 100);
    CHECK_INT(failures, 0);
}

/* Prints (does not assert) the time of 100k resolves over 20 distinct PCs. */
static void measure_resolves(struct symbolizer *symbolizer)
{
    struct capture_frame frames[MAX_FRAMES];
    struct timespec start, end;
    uint64_t base = (uint64_t)(uintptr_t)&symbols_test_target;
    pid_t self = getpid();
    size_t total = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < 100000; i++)
        total += symbolizer_resolve(symbolizer, self, base + (uint64_t)(i % 20), false, frames,
                                    MAX_FRAMES);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double milliseconds =
        (double)(end.tv_sec - start.tv_sec) * 1e3 + (double)(end.tv_nsec - start.tv_nsec) / 1e6;
    struct symbolizer_stats stats;
    symbolizer_get_stats(symbolizer, &stats);
    printf("performance: 100000 resolves (20 distinct PCs, %zu frames) in %.2f ms; "
           "lookups %llu, cache hits %llu, modules %zu\n",
           total, milliseconds, (unsigned long long)stats.lookups,
           (unsigned long long)stats.cache_hits, stats.modules);
    CHECK(total >= 100000);
}

/* Runs command quietly; true when it succeeded. */
static bool run_quietly(const char *command)
{
    char quiet[PATH_MAX * 4 + 64];
    snprintf(quiet, sizeof quiet, "%s >/dev/null 2>&1", command);
    return system(quiet) == 0;
}

/* A binary whose DWARF lives in a separate, compressed debug file found by .gnu_debuglink (as
 * objcopy --only-keep-debug --compress-debug-sections makes, and as Debian ships libc's): the
 * symbolizer finds it next to the binary, reads it through an uncompressed copy that it puts
 * in the debuginfo cache (STACKTOP_CACHE_DIR, set by main), and still gives function, file and
 * line. The binary is a stripped copy of this test, run with --block. */
static void test_split_compressed_debug(struct symbolizer *symbolizer, const char *self_path,
                                        const char *cache_dir)
{
    char directory[] = "/tmp/stacktop-split-XXXXXX";
    char binary[PATH_MAX], debug[PATH_MAX], command[PATH_MAX * 4], err[256];
    if (mkdtemp(directory) == NULL) {
        printf("skip: mkdtemp failed\n");
        return;
    }
    snprintf(binary, sizeof binary, "%s/symbols_split", directory);
    snprintf(debug, sizeof debug, "%s/symbols_split.debug", directory);
    snprintf(command, sizeof command,
             "objcopy --only-keep-debug --compress-debug-sections=zlib-gabi '%s' '%s'", self_path,
             debug);
    bool made = run_quietly(command);
    snprintf(command, sizeof command, "objcopy --strip-debug --add-gnu-debuglink='%s' '%s' '%s'",
             debug, self_path, binary);
    made = made && run_quietly(command);
    if (!made) {
        printf("skip: objcopy could not split the debug info\n");
        goto remove;
    }
    pid_t child = fork();
    if (child == 0) {
        execl(binary, binary, "--block", (char *)NULL);
        _exit(127);
    }
    if (child < 0)
        goto remove;
    uint64_t child_base = 0;
    for (int tries = 0; tries < 100 && child_base == 0; tries++) {
        struct timespec pause_time = {0, 10 * 1000 * 1000};
        nanosleep(&pause_time, NULL);
        child_base = mapping_base(child, binary);
    }
    Dl_info self;
    CHECK(child_base != 0 && dladdr((void *)ends_with, &self) != 0);
    if (child_base != 0 && symbolizer_load_process(symbolizer, child, err, sizeof err) == 0) {
        uint64_t offset = (uint64_t)(uintptr_t)ends_with - (uint64_t)(uintptr_t)self.dli_fbase;
        struct capture_frame frame;
        size_t count = symbolizer_resolve(symbolizer, child, child_base + offset, false, &frame, 1);
        print_frames("split, compressed debug file: ends_with", &frame, count);
        CHECK_INT(count, 1);
        CHECK_STR(frame.function, "ends_with");
        CHECK(frame.file != NULL && ends_with(frame.file, "test_symbols.c"));
        CHECK(frame.line > 0);
        CHECK_STR(frame.module, binary);
        /* the uncompressed copy is in the cache, named by the build-id */
        snprintf(command, sizeof command,
                 "ls '%s' | grep -Eq '^[0-9a-f]{16,}[.]debug$' && "
                 "readelf -S -W '%s'/*.debug | grep -q debug_info",
                 cache_dir, cache_dir);
        CHECK(run_quietly(command));
        symbolizer_forget_process(symbolizer, child);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
remove:
    unlink(binary);
    unlink(debug);
    rmdir(directory);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--block") == 0) { /* test_split_compressed_debug's child */
        for (;;)
            pause();
    }
    char self_path[PATH_MAX], err[256];
    if (realpath("/proc/self/exe", self_path) == NULL) {
        perror("realpath /proc/self/exe");
        return 1;
    }
    setenv("DEBUGINFOD_URLS", "http://debuginfod.invalid", 1);
    /* a debuginfo cache of this run's own (read once, at the first debug file looked up) */
    char cache_dir[] = "/tmp/stacktop-symcache-XXXXXX";
    CHECK(mkdtemp(cache_dir) != NULL);
    setenv("STACKTOP_CACHE_DIR", cache_dir, 1);
    struct symbolizer *symbolizer = symbolizer_new();
    CHECK(getenv("DEBUGINFOD_URLS") == NULL); /* never the network */
    CHECK_INT(symbolizer_load_process(symbolizer, getpid(), err, sizeof err), 0);

    test_demangle();
    test_own_functions(symbolizer, self_path);
    test_libc(symbolizer);
    test_vdso_and_unknown(symbolizer);
    test_cache_shared_by_processes(symbolizer);
    test_stripped_library(symbolizer);
    test_cpp_fixture(symbolizer, self_path);
    test_split_compressed_debug(symbolizer, self_path, cache_dir);
    test_every_mapping_survives(symbolizer);
    measure_resolves(symbolizer);

    symbolizer_free(symbolizer);
    char remove_cache[sizeof cache_dir + 16];
    snprintf(remove_cache, sizeof remove_cache, "rm -rf '%s'", cache_dir);
    CHECK(system(remove_cache) == 0);
    return CHECK_DONE();
}
