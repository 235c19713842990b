/*
 * test_debuginfo_cache: core/debuginfo_cache.c on a debug file made at test time: this test's
 * own executable (built with -g) with its DWARF compressed by `objcopy
 * --compress-debug-sections=zlib-gabi`, and the executable itself as a file without compressed
 * sections. Everything happens in a mkdtemp scratch directory, removed at the end.
 *
 * Covers: the cache directory's choice from the environment; the first call writing a valid
 * uncompressed copy (mode, owner, sections, program headers, inflated bytes, same file:line
 * through libdwfl); the second call reusing it; the mtime bump; refusals (no compressed
 * section, build-id mismatch, not an ELF file, unsafe cache directory); replacement of
 * invalid entries (wrong build-id, garbage, symlink, group-writable, another owner); pruning
 * (stale temporary files, the 1 GiB bound, with sparse files); concurrent writers; a write
 * failing midway; a file too large to cache; the source file and its offset left alone; no
 * temporary file left.
 */
#include "debuginfo_cache.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "test_files.h"
#include "xalloc.h"

#define CONCURRENT_WRITERS 4                     /* processes creating one entry at once */
#define SPARSE_ENTRY_BYTES (600LL * 1024 * 1024) /* two of these exceed the cache bound */
#define NOBODY_UID         65534                 /* another user, for the tests run as root */
#define DAY_SECS           (24 * 3600)           /* one day */
#define ERR_LENGTH         256                   /* size of the error message buffers */

static char scratch[256]; /* mkdtemp directory holding every file of this test */

/* The debug file under test, with what the tests compare against. */
struct subject {
    const char *compressed_path; /* objcopy'd copy of this executable: SHF_COMPRESSED DWARF */
    int compressed_fd;           /* open on compressed_path, as a caller would pass it */
    const char *plain_path;      /* this executable: DWARF not compressed */
    unsigned char build_id[64];  /* the build-id of both */
    size_t build_id_length;      /* bytes in build_id */
    char entry_name[160];        /* HEX.debug */
    uint64_t compressed_hash;    /* FNV-1a of compressed_path's bytes before any call */
};

/* ---- helpers ---- */

static char *scratch_path(const char *name)
{
    return xasprintf("%s/%s", scratch, name);
}

static uint64_t file_hash(const char *path)
{
    uint64_t hash = 14695981039346656037ull;
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return 0;
    int c;
    while ((c = getc(file)) != EOF)
        hash = (hash ^ (uint64_t)c) * 1099511628211ull;
    fclose(file);
    return hash;
}

/* The build-id note of the ELF file at path into id (64 bytes); its length, or 0. */
static size_t read_build_id(const char *path, unsigned char *id)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    const void *note = NULL;
    ssize_t length = elf ? dwelf_elf_gnu_build_id(elf, &note) : -1;
    size_t result = 0;
    if (length > 0 && length <= 64) {
        memcpy(id, note, (size_t)length);
        result = (size_t)length;
    }
    elf_end(elf);
    close(fd);
    return result;
}

/* Names in dir starting with '.' other than "." and "..": temporary files left behind. */
static int hidden_file_count(const char *dir)
{
    return count_entries(dir, true);
}

/* Entries in dir other than "." and "..". */
static int file_count(const char *dir)
{
    return count_entries(dir, false);
}

/* The cache call on the subject, with the result's stat in *st (when it succeeds). */
static int cache_open(const struct subject *subject, const char *dir, char **copy_path,
                      struct stat *st)
{
    char err[ERR_LENGTH];
    int fd = debuginfo_cache_open(dir, subject->compressed_fd, subject->compressed_path,
                                  subject->build_id, subject->build_id_length, copy_path, err,
                                  sizeof err);
    if (fd < 0)
        printf("debuginfo_cache_open(%s): %s (errno %s)\n", dir, err, strerror(errno));
    if (fd >= 0 && st != NULL && fstat(fd, st) != 0)
        perror("fstat");
    return fd;
}

/* The inode of the entry now in dir, or 0. */
static ino_t entry_inode(const struct subject *subject, const char *dir)
{
    char *path = xasprintf("%s/%s", dir, subject->entry_name);
    struct stat st;
    ino_t inode = lstat(path, &st) == 0 ? st.st_ino : 0;
    free(path);
    return inode;
}

/* ---- checks of a copy ---- */

/* Section name of scn in elf, or "". */
static const char *section_name(Elf *elf, size_t shstrndx, Elf_Scn *scn)
{
    GElf_Shdr shdr;
    const char *name = gelf_getshdr(scn, &shdr) ? elf_strptr(elf, shstrndx, shdr.sh_name) : NULL;
    return name ? name : "";
}

/* The copy at copy_path against the compressed source: same headers and sections, in the
 * same order, none compressed, each formerly compressed one with the bytes elf_compress
 * gives. */
static void check_copy_matches_source(const struct subject *subject, const char *copy_path)
{
    int source_fd = open(subject->compressed_path, O_RDONLY | O_CLOEXEC);
    int copy_fd = open(copy_path, O_RDONLY | O_CLOEXEC);
    Elf *source = elf_begin(source_fd, ELF_C_READ, NULL);
    Elf *copy = elf_begin(copy_fd, ELF_C_READ, NULL);
    CHECK(source != NULL && copy != NULL);
    if (source == NULL || copy == NULL)
        goto end;

    GElf_Ehdr source_ehdr, copy_ehdr;
    CHECK(gelf_getehdr(source, &source_ehdr) && gelf_getehdr(copy, &copy_ehdr));
    CHECK_INT(copy_ehdr.e_type, source_ehdr.e_type);
    CHECK_INT(copy_ehdr.e_machine, source_ehdr.e_machine);
    CHECK_INT(copy_ehdr.e_entry, source_ehdr.e_entry);
    CHECK(memcmp(copy_ehdr.e_ident, source_ehdr.e_ident, EI_NIDENT) == 0);

    size_t source_phnum = 0, copy_phnum = 0;
    CHECK(elf_getphdrnum(source, &source_phnum) == 0 && elf_getphdrnum(copy, &copy_phnum) == 0);
    CHECK_INT(copy_phnum, source_phnum);
    CHECK(source_phnum > 0);
    for (size_t i = 0; i < source_phnum && i < copy_phnum; i++) {
        GElf_Phdr a, b;
        CHECK(gelf_getphdr(source, (int)i, &a) && gelf_getphdr(copy, (int)i, &b));
        CHECK(a.p_type == b.p_type && a.p_vaddr == b.p_vaddr && a.p_memsz == b.p_memsz &&
              a.p_flags == b.p_flags);
    }

    size_t source_count = 0, copy_count = 0, source_strndx = 0, copy_strndx = 0;
    CHECK(elf_getshdrnum(source, &source_count) == 0 && elf_getshdrnum(copy, &copy_count) == 0);
    CHECK_INT(copy_count, source_count);
    CHECK(elf_getshdrstrndx(source, &source_strndx) == 0 &&
          elf_getshdrstrndx(copy, &copy_strndx) == 0);
    CHECK_INT(copy_strndx, source_strndx);
    int compressed = 0, compared = 0, same_bytes = 0, same_names = 0, still_compressed = 0;
    for (size_t i = 1; i < source_count && i < copy_count; i++) {
        Elf_Scn *source_scn = elf_getscn(source, i), *copy_scn = elf_getscn(copy, i);
        GElf_Shdr source_shdr, copy_shdr;
        if (!gelf_getshdr(source_scn, &source_shdr) || !gelf_getshdr(copy_scn, &copy_shdr))
            continue;
        same_names += strcmp(section_name(source, source_strndx, source_scn),
                             section_name(copy, copy_strndx, copy_scn)) == 0;
        still_compressed += (copy_shdr.sh_flags & SHF_COMPRESSED) != 0;
        CHECK_INT(copy_shdr.sh_type, source_shdr.sh_type);
        CHECK_INT(copy_shdr.sh_addr, source_shdr.sh_addr);
        CHECK_INT(copy_shdr.sh_link, source_shdr.sh_link);
        CHECK_INT(copy_shdr.sh_info, source_shdr.sh_info);
        CHECK_INT(copy_shdr.sh_flags, source_shdr.sh_flags & ~(GElf_Xword)SHF_COMPRESSED);
        if ((source_shdr.sh_flags & SHF_COMPRESSED) != 0) {
            compressed++;
            CHECK(elf_compress(source_scn, 0, 0) >= 0);
        }
        if (source_shdr.sh_type == SHT_NOBITS)
            continue;
        Elf_Data *source_data = elf_rawdata(source_scn, NULL);
        Elf_Data *copy_data = elf_rawdata(copy_scn, NULL);
        if (source_data == NULL || copy_data == NULL)
            continue;
        compared++;
        same_bytes += source_data->d_size == copy_data->d_size &&
                      (source_data->d_size == 0 ||
                       memcmp(source_data->d_buf, copy_data->d_buf, source_data->d_size) == 0);
    }
    printf("copy: %zu sections, %d were compressed, %d with content compared\n", copy_count,
           compressed, compared);
    CHECK(compressed >= 3); /* at least .debug_info, .debug_abbrev, .debug_line */
    CHECK_INT(still_compressed, 0);
    CHECK_INT(same_names, (int)source_count - 1);
    CHECK_INT(same_bytes, compared);

end:
    elf_end(copy);
    elf_end(source);
    close(copy_fd);
    close(source_fd);
}

/* The file:line of this test's own function test_function_for_lines through libdwfl, offline
 * on the ELF file at path (as the main file): "FILE:LINE" into out, or "" when unknown. */
__attribute__((noinline)) int test_function_for_lines(int value);
__attribute__((noinline)) int test_function_for_lines(int value)
{
    return value * 7 + 1;
}

static void line_of_test_function(const char *path, char *out, size_t length)
{
    static const Dwfl_Callbacks callbacks = {.find_elf = dwfl_build_id_find_elf,
                                             .find_debuginfo = dwfl_standard_find_debuginfo};
    snprintf(out, length, "%s", "");
    Dl_info info;
    if (dladdr((void *)(uintptr_t)&test_function_for_lines, &info) == 0)
        return;
    uint64_t file_address =
        (uint64_t)(uintptr_t)&test_function_for_lines - (uint64_t)(uintptr_t)info.dli_fbase;
    Dwfl *dwfl = dwfl_begin(&callbacks);
    Dwfl_Module *module = dwfl_report_offline(dwfl, "test", path, -1);
    dwfl_report_end(dwfl, NULL, NULL);
    Dwarf_Addr bias = 0;
    if (module != NULL && dwfl_module_getdwarf(module, &bias) != NULL) {
        Dwfl_Line *line = dwfl_module_getsrc(module, file_address + bias);
        int number = 0;
        const char *file = line ? dwfl_lineinfo(line, NULL, &number, NULL, NULL, NULL) : NULL;
        if (file != NULL)
            snprintf(out, length, "%s:%d", file, number);
    }
    dwfl_end(dwfl);
}

/* ---- tests ---- */

/* XDG_CACHE_HOME = the scratch path name, not made yet: no cache directory is offered. */
static void check_missing_xdg_refused(const char *name)
{
    char *xdg = scratch_path(name);
    setenv("XDG_CACHE_HOME", xdg, 1);
    CHECK(debuginfo_cache_dir() == NULL);
    unsetenv("XDG_CACHE_HOME");
    free(xdg);
}

static void test_cache_dir_from_environment(void)
{
    char *home = scratch_path("home"), *xdg = scratch_path("xdg-missing");
    mkdir(home, 0700);
    char *expected_home = xasprintf("%s/.cache/stacktop/debuginfo", home);
    char *expected_xdg = xasprintf("%s/stacktop/debuginfo", xdg);

    setenv("STACKTOP_CACHE_DIR", "", 1);
    CHECK(debuginfo_cache_dir() == NULL); /* "" disables */
    setenv("STACKTOP_CACHE_DIR", "/some/where", 1);
    char *dir = debuginfo_cache_dir();
    CHECK_STR(dir, "/some/where");
    free(dir);

    unsetenv("STACKTOP_CACHE_DIR");
    setenv("XDG_CACHE_HOME", xdg, 1); /* absolute, not created yet: used */
    setenv("HOME", home, 1);
    dir = debuginfo_cache_dir();
    CHECK_STR(dir, expected_xdg);
    free(dir);
    setenv("XDG_CACHE_HOME", "relative/cache", 1); /* ignored, as the XDG spec says */
    dir = debuginfo_cache_dir();
    CHECK_STR(dir, expected_home);
    free(dir);
    unsetenv("XDG_CACHE_HOME");
    dir = debuginfo_cache_dir();
    CHECK_STR(dir, expected_home);
    free(dir);
    CHECK(!exists(expected_home)); /* not created */

    setenv("HOME", "relative/home", 1);
    CHECK(debuginfo_cache_dir() == NULL);
    unsetenv("HOME");
    CHECK(debuginfo_cache_dir() == NULL);
    if (geteuid() == 0) {
        /* sudo keeping the user's HOME: root must not write there. */
        char *other_home = scratch_path("other-home");
        mkdir(other_home, 0700);
        CHECK(chown(other_home, NOBODY_UID, NOBODY_UID) == 0);
        setenv("HOME", other_home, 1);
        CHECK(debuginfo_cache_dir() == NULL);
        /* sudo -E with the user's XDG_CACHE_HOME not made yet: not created by root there */
        check_missing_xdg_refused("other-home/.cache");
        free(other_home);
    }
    /* a missing XDG_CACHE_HOME inside a world-writable directory (/tmp): not used */
    char *world = scratch_path("world-xdg");
    CHECK(mkdir(world, 0700) == 0 && chmod(world, 01777) == 0);
    check_missing_xdg_refused("world-xdg/cache");
    rmdir(world);
    free(world);
    unsetenv("HOME");
    free(expected_xdg);
    free(expected_home);
    free(xdg);
    free(home);
}

/* First call writes the entry (creating the directories), second call reuses it. */
static void test_create_then_reuse(const struct subject *subject)
{
    char *home = scratch_path("home"), *base = scratch_path("home/.cache");
    setenv("HOME", home, 1);
    char *dir = debuginfo_cache_dir();
    unsetenv("HOME");
    CHECK(dir != NULL);
    if (dir == NULL)
        goto free_paths;
    char *expected_copy = xasprintf("%s/%s", dir, subject->entry_name);

    off_t offset = 123;
    CHECK_INT(lseek(subject->compressed_fd, offset, SEEK_SET), offset);
    char *copy_path = NULL;
    struct stat first, second;
    int fd = cache_open(subject, dir, &copy_path, &first);
    CHECK(fd >= 0);
    CHECK_STR(copy_path, expected_copy);
    CHECK_INT(lseek(subject->compressed_fd, 0, SEEK_CUR), offset); /* caller's offset kept */
    if (fd < 0)
        goto free_copy;
    CHECK_INT(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(S_ISREG(first.st_mode));
    CHECK_INT(first.st_uid, geteuid());
    CHECK_INT(first.st_mode & 0777, 0600);
    struct stat dir_st, base_st;
    CHECK(stat(dir, &dir_st) == 0 && stat(base, &base_st) == 0);
    CHECK_INT(dir_st.st_mode & 0777, 0700);
    CHECK_INT(base_st.st_mode & 0777, 0700);
    CHECK_INT(hidden_file_count(dir), 0);
    CHECK_INT(file_count(dir), 1);
    check_copy_matches_source(subject, copy_path);

    unsigned char copy_id[64];
    CHECK_INT(read_build_id(copy_path, copy_id), subject->build_id_length);
    CHECK(memcmp(copy_id, subject->build_id, subject->build_id_length) == 0);

    /* libdwfl gives the same file:line from the copy as from the compressed file. */
    char from_source[512], from_copy[512];
    line_of_test_function(subject->compressed_path, from_source, sizeof from_source);
    line_of_test_function(copy_path, from_copy, sizeof from_copy);
    printf("test_function_for_lines: %s (compressed) %s (copy)\n", from_source, from_copy);
    CHECK(strstr(from_source, "test_debuginfo_cache.c:") != NULL);
    CHECK_STR(from_copy, from_source);
    close(fd);
    free(copy_path);
    copy_path = NULL;

    /* Second call: the same file, not rewritten. */
    fd = cache_open(subject, dir, &copy_path, &second);
    CHECK(fd >= 0);
    CHECK_STR(copy_path, expected_copy);
    CHECK_INT(second.st_ino, first.st_ino);
    CHECK_INT(second.st_mtim.tv_sec, first.st_mtim.tv_sec);
    CHECK_INT(second.st_mtim.tv_nsec, first.st_mtim.tv_nsec);
    CHECK_INT(file_count(dir), 1);
    if (fd >= 0)
        close(fd);
    free(copy_path);
    copy_path = NULL;

    /* No expected build-id: the file's own note is the key, so the same entry. */
    char err[ERR_LENGTH];
    fd = debuginfo_cache_open(dir, subject->compressed_fd, subject->compressed_path, NULL, 0,
                              &copy_path, err, sizeof err);
    CHECK(fd >= 0);
    CHECK_STR(copy_path, expected_copy);
    CHECK(fd >= 0 && fstat(fd, &second) == 0 && second.st_ino == first.st_ino);
    if (fd >= 0)
        close(fd);
    free(copy_path);
    copy_path = NULL;

    /* A hit refreshes an mtime older than a day, and only then. */
    set_mtime(expected_copy, -2 * DAY_SECS);
    fd = cache_open(subject, dir, &copy_path, &second);
    CHECK(fd >= 0 && second.st_ino == first.st_ino);
    CHECK(second.st_mtim.tv_sec >= time(NULL) - 60);
    if (fd >= 0)
        close(fd);
    free(copy_path);
    copy_path = NULL;
    set_mtime(expected_copy, -3600);
    time_t hour_ago = time(NULL) - 3600;
    fd = cache_open(subject, dir, &copy_path, &second);
    CHECK(fd >= 0);
    CHECK(second.st_mtim.tv_sec <= hour_ago + 2);
    if (fd >= 0)
        close(fd);

free_copy:
    free(copy_path);
    free(expected_copy);
    free(dir);
free_paths:
    free(base);
    free(home);
}

/* Refusals: nothing written, the caller keeps its file. */
static void test_refusals(const struct subject *subject)
{
    char err[ERR_LENGTH];
    char *dir = scratch_path("refusals/cache"), *copy_path = NULL;

    /* No compressed section: ENOENT, and not even the directory is created. */
    int plain_fd = open(subject->plain_path, O_RDONLY | O_CLOEXEC);
    errno = 0;
    CHECK_INT(debuginfo_cache_open(dir, plain_fd, subject->plain_path, subject->build_id,
                                   subject->build_id_length, &copy_path, err, sizeof err),
              -1);
    CHECK_INT(errno, ENOENT);
    CHECK(copy_path == NULL);
    CHECK(err[0] != '\0');
    CHECK(!exists(dir));
    close(plain_fd);

    /* A build-id other than the file's. */
    unsigned char other_id[64];
    memcpy(other_id, subject->build_id, subject->build_id_length);
    other_id[0] ^= 0xff;
    errno = 0;
    CHECK_INT(debuginfo_cache_open(dir, subject->compressed_fd, subject->compressed_path, other_id,
                                   subject->build_id_length, &copy_path, err, sizeof err),
              -1);
    CHECK_INT(errno, EINVAL);
    CHECK(!exists(dir));

    /* Not an ELF file; and err may be NULL. */
    char *text_path = scratch_path("not-elf.txt");
    FILE *text = fopen(text_path, "w");
    if (text != NULL) {
        fputs("not an ELF file\n", text);
        fclose(text);
    }
    int text_fd = open(text_path, O_RDONLY | O_CLOEXEC);
    errno = 0;
    CHECK_INT(debuginfo_cache_open(dir, text_fd, text_path, subject->build_id,
                                   subject->build_id_length, &copy_path, NULL, 0),
              -1);
    CHECK_INT(errno, EINVAL);
    close(text_fd);
    free(text_path);

    /* Bad arguments, and a disabled cache (NULL directory). */
    errno = 0;
    CHECK_INT(debuginfo_cache_open(dir, subject->compressed_fd, NULL, subject->build_id, 0,
                                   &copy_path, err, sizeof err),
              -1);
    CHECK_INT(errno, EINVAL);
    errno = 0;
    CHECK_INT(debuginfo_cache_open(dir, subject->compressed_fd, NULL, NULL, 20, &copy_path, err,
                                   sizeof err),
              -1);
    CHECK_INT(errno, EINVAL);
    errno = 0;
    CHECK_INT(debuginfo_cache_open(NULL, subject->compressed_fd, NULL, subject->build_id,
                                   subject->build_id_length, &copy_path, err, sizeof err),
              -1);
    CHECK_INT(errno, EINVAL);
    CHECK(!exists(dir));
    CHECK(copy_path == NULL);

    /* Unsafe cache directories. */
    char *parent = scratch_path("refusals");
    CHECK(mkdir(parent, 0700) == 0);
    free(parent);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(chmod(dir, 0777) == 0);
    errno = 0;
    CHECK_INT(cache_open(subject, dir, &copy_path, NULL), -1);
    CHECK_INT(errno, EPERM);
    CHECK_INT(file_count(dir), 0);
    CHECK(chmod(dir, 0770) == 0);
    errno = 0;
    CHECK_INT(cache_open(subject, dir, &copy_path, NULL), -1);
    CHECK_INT(errno, EPERM);
    CHECK(chmod(dir, 0700) == 0);
    if (geteuid() == 0) {
        CHECK(chown(dir, NOBODY_UID, NOBODY_UID) == 0);
        errno = 0;
        CHECK_INT(cache_open(subject, dir, &copy_path, NULL), -1);
        CHECK_INT(errno, EPERM);
        CHECK_INT(file_count(dir), 0);
        CHECK(chown(dir, 0, 0) == 0);
    }
    CHECK(copy_path == NULL);

    /* A source that others may write to is used but never cached: the cache is keyed by the
     * file's own build-id, so another user's file could stand for a system library's. */
    char *shared = scratch_path("shared-source.debug");
    char *copy_command = xasprintf("cp '%s' '%s'", subject->compressed_path, shared);
    CHECK(system(copy_command) == 0);
    free(copy_command);
    CHECK(chmod(shared, 0666) == 0);
    int shared_fd = open(shared, O_RDONLY | O_CLOEXEC);
    for (int owner_case = 0; owner_case < 2; owner_case++) {
        /* case 1: another user's file, even read-only (needs root to make) */
        if (owner_case == 1 && (geteuid() != 0 || chmod(shared, 0644) != 0 ||
                                chown(shared, NOBODY_UID, NOBODY_UID) != 0))
            break;
        errno = 0;
        CHECK_INT(debuginfo_cache_open(dir, shared_fd, shared, subject->build_id,
                                       subject->build_id_length, &copy_path, err, sizeof err),
                  -1);
        CHECK_INT(errno, EPERM);
        CHECK_INT(file_count(dir), 0);
    }
    close(shared_fd);
    unlink(shared);
    free(shared);

    /* A cache path through a directory others may write to, below which a component is not
     * ours (as /tmp/NAME made by someone else): refused, nothing written through it. */
    if (geteuid() == 0) {
        char *world = scratch_path("world");
        char *planted = scratch_path("world/planted");
        char *through = scratch_path("world/planted/cache");
        CHECK(mkdir(world, 0700) == 0 && chmod(world, 01777) == 0);
        CHECK(mkdir(planted, 0700) == 0 && chown(planted, NOBODY_UID, NOBODY_UID) == 0);
        CHECK(chmod(planted, 0777) == 0); /* so that the cache directory can be made in it */
        errno = 0;
        CHECK_INT(cache_open(subject, through, &copy_path, NULL), -1);
        CHECK_INT(errno, EPERM);
        CHECK(!exists(through) || file_count(through) == 0);
        char *cleanup = xasprintf("rm -rf '%s'", world);
        CHECK(system(cleanup) == 0);
        free(cleanup);
        free(through);
        free(planted);
        free(world);
    }
    CHECK(copy_path == NULL);
    free(dir);
}

/* Entries that must not be trusted are replaced by a fresh copy. */
static void test_invalid_entries_replaced(const struct subject *subject)
{
    char *dir = scratch_path("invalid");
    mkdir(dir, 0700);
    char *entry = xasprintf("%s/%s", dir, subject->entry_name);
    char *copy_path = NULL;
    struct stat st;
    int fd = cache_open(subject, dir, &copy_path, &st);
    CHECK(fd >= 0);
    if (fd < 0)
        goto free_paths;
    close(fd);
    free(copy_path);
    copy_path = NULL;

    /* The build-id note rewritten: another file under this name. */
    int write_fd = open(entry, O_RDWR | O_CLOEXEC);
    Elf *elf = elf_begin(write_fd, ELF_C_READ, NULL);
    Elf_Scn *scn = NULL;
    off_t id_offset = -1;
    size_t shstrndx = 0;
    elf_getshdrstrndx(elf, &shstrndx);
    while ((scn = elf_nextscn(elf, scn)) != NULL)
        if (strcmp(section_name(elf, shstrndx, scn), ".note.gnu.build-id") == 0) {
            GElf_Shdr shdr;
            gelf_getshdr(scn, &shdr);
            id_offset = (off_t)shdr.sh_offset + 16; /* Nhdr (12 bytes), "GNU\0", the id */
        }
    elf_end(elf);
    CHECK(id_offset > 0);
    unsigned char flipped = (unsigned char)(subject->build_id[0] ^ 0xff);
    CHECK_INT(pwrite(write_fd, &flipped, 1, id_offset), 1);
    close(write_fd);
    unsigned char id[64];
    CHECK(read_build_id(entry, id) == subject->build_id_length && id[0] == flipped);
    ino_t before = entry_inode(subject, dir);
    struct stat replaced;
    fd = cache_open(subject, dir, &copy_path, &replaced);
    CHECK(fd >= 0);
    CHECK(replaced.st_ino != before);
    CHECK(read_build_id(entry, id) == subject->build_id_length &&
          memcmp(id, subject->build_id, subject->build_id_length) == 0);
    if (fd >= 0)
        close(fd);
    free(copy_path);
    copy_path = NULL;

    /* Garbage under the entry's name. */
    unlink(entry);
    FILE *garbage = fopen(entry, "w");
    if (garbage != NULL) {
        fputs("\177ELF truncated", garbage);
        fclose(garbage);
    }
    chmod(entry, 0600);
    fd = cache_open(subject, dir, &copy_path, &replaced);
    CHECK(fd >= 0 && replaced.st_size > 1000);
    if (fd >= 0)
        close(fd);
    free(copy_path);
    copy_path = NULL;

    /* A symlink (to a valid copy, even): not followed, replaced; its target left alone. */
    char *target = scratch_path("symlink-target.debug");
    CHECK(rename(entry, target) == 0);
    CHECK(symlink(target, entry) == 0);
    struct stat target_before, target_after, link_st;
    stat(target, &target_before);
    fd = cache_open(subject, dir, &copy_path, &replaced);
    CHECK(fd >= 0);
    CHECK(lstat(entry, &link_st) == 0 && S_ISREG(link_st.st_mode));
    CHECK(stat(target, &target_after) == 0 && target_after.st_ino == target_before.st_ino &&
          target_after.st_mtim.tv_nsec == target_before.st_mtim.tv_nsec);
    if (fd >= 0)
        close(fd);
    free(copy_path);
    copy_path = NULL;
    free(target);

    /* Group-writable: replaced. */
    chmod(entry, 0660);
    before = entry_inode(subject, dir);
    fd = cache_open(subject, dir, &copy_path, &replaced);
    CHECK(fd >= 0 && replaced.st_ino != before && (replaced.st_mode & 0777) == 0600);
    if (fd >= 0)
        close(fd);
    free(copy_path);
    copy_path = NULL;

    /* Another owner (only root can make one): replaced. */
    if (geteuid() == 0) {
        CHECK(chown(entry, NOBODY_UID, NOBODY_UID) == 0);
        before = entry_inode(subject, dir);
        fd = cache_open(subject, dir, &copy_path, &replaced);
        CHECK(fd >= 0 && replaced.st_ino != before && replaced.st_uid == 0);
        if (fd >= 0)
            close(fd);
        free(copy_path);
        copy_path = NULL;
    }
    CHECK_INT(hidden_file_count(dir), 0);
    CHECK_INT(file_count(dir), 1);

free_paths:
    free(entry);
    free(dir);
}

/* A new entry prunes stale temporary files and the least recently used entries. */
static void test_prune(const struct subject *subject)
{
    char *dir = scratch_path("prune");
    mkdir(dir, 0700);
    char *oldest = xasprintf("%s/aaaa.debug", dir), *older = xasprintf("%s/bbbb.debug", dir);
    char *not_entry = xasprintf("%s/notes.txt", dir), *upper = xasprintf("%s/ABCD.debug", dir);
    char *stale = xasprintf("%s/.aaaa.debug.abcdef", dir);
    char *fresh = xasprintf("%s/.bbbb.debug.ghijkl", dir);
    sparse_file_create(oldest, SPARSE_ENTRY_BYTES, -3 * DAY_SECS);
    sparse_file_create(older, SPARSE_ENTRY_BYTES, -2 * DAY_SECS);
    sparse_file_create(not_entry, 2 * SPARSE_ENTRY_BYTES, -9 * DAY_SECS);
    sparse_file_create(upper, SPARSE_ENTRY_BYTES, -9 * DAY_SECS);
    sparse_file_create(stale, 10, -2 * 3600);
    sparse_file_create(fresh, 10, 0);

    char *copy_path = NULL;
    int fd = cache_open(subject, dir, &copy_path, NULL);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK(!exists(oldest)); /* 2 x 600 MiB + the copy > 1 GiB: the oldest goes */
    CHECK(exists(older));
    CHECK(copy_path != NULL && exists(copy_path));
    CHECK(exists(not_entry)); /* other names are never touched */
    CHECK(exists(upper));
    CHECK(!exists(stale));
    CHECK(exists(fresh)); /* maybe another process writing right now */
    unlink(fresh);
    CHECK_INT(hidden_file_count(dir), 0);

    free(copy_path);
    free(fresh);
    free(stale);
    free(upper);
    free(not_entry);
    free(older);
    free(oldest);
    free(dir);
}

/* Several processes creating the same entry at once all succeed. */
static void test_concurrent_writers(const struct subject *subject)
{
    char *dir = scratch_path("concurrent");
    mkdir(dir, 0700);
    pid_t children[CONCURRENT_WRITERS];
    fflush(stdout);
    for (int i = 0; i < CONCURRENT_WRITERS; i++) {
        children[i] = fork();
        if (children[i] == 0) {
            char *copy_path = NULL;
            struct stat st;
            int fd = cache_open(subject, dir, &copy_path, &st);
            unsigned char id[64];
            bool valid = fd >= 0 && copy_path != NULL &&
                         read_build_id(copy_path, id) == subject->build_id_length && st.st_size > 0;
            _exit(valid ? 0 : 1);
        }
    }
    int succeeded = 0;
    for (int i = 0; i < CONCURRENT_WRITERS; i++) {
        int status = 0;
        if (children[i] > 0 && waitpid(children[i], &status, 0) == children[i] &&
            WIFEXITED(status) && WEXITSTATUS(status) == 0)
            succeeded++;
    }
    CHECK_INT(succeeded, CONCURRENT_WRITERS);
    CHECK_INT(file_count(dir), 1);
    CHECK_INT(hidden_file_count(dir), 0);
    char *entry = xasprintf("%s/%s", dir, subject->entry_name);
    check_copy_matches_source(subject, entry);
    free(entry);
    free(dir);
}

/* A write that fails midway (file size limit: EFBIG, like a full disk) leaves nothing. */
static void test_write_failure_leaves_nothing(const struct subject *subject)
{
    char *dir = scratch_path("write-failure");
    mkdir(dir, 0700);
    fflush(stdout); /* the child's output must not repeat ours */
    pid_t child = fork();
    if (child == 0) {
        /* In a child: the limit must not outlive this test. */
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit limit = {.rlim_cur = 64 * 1024, .rlim_max = 64 * 1024};
        char *copy_path = NULL;
        if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
            _exit(2);
        char err[ERR_LENGTH];
        errno = 0;
        int fd = debuginfo_cache_open(dir, subject->compressed_fd, subject->compressed_path,
                                      subject->build_id, subject->build_id_length, &copy_path, err,
                                      sizeof err);
        printf("write failure: %s\n", err);
        fflush(stdout);
        _exit(fd == -1 && errno == EFBIG && copy_path == NULL && strstr(err, "cannot write") ? 0
                                                                                             : 1);
    }
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(file_count(dir), 0);
    free(dir);
}

/* A file whose compression headers announce more than DEBUGINFO_CACHE_MAX_ENTRY_BYTES is
 * refused before anything is inflated or written. */
static void test_too_large(const struct subject *subject)
{
    char *huge = scratch_path("huge.debug"), *dir = scratch_path("too-large");
    char *command = xasprintf("cp '%s' '%s'", subject->compressed_path, huge);
    CHECK(system(command) == 0);
    free(command);
    int fd = open(huge, O_RDWR | O_CLOEXEC);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    off_t size_offset = -1;
    Elf_Scn *scn = NULL;
    while (size_offset < 0 && (scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr) != NULL && (shdr.sh_flags & SHF_COMPRESSED) != 0)
            size_offset = (off_t)shdr.sh_offset + 8; /* Elf64_Chdr: type, reserved, size */
    }
    CHECK(gelf_getclass(elf) == ELFCLASS64 && size_offset > 0);
    elf_end(elf);
    uint64_t announced = 2ull * 1024 * 1024 * 1024;
    CHECK_INT(pwrite(fd, &announced, sizeof announced, size_offset), sizeof announced);
    char err[ERR_LENGTH], *copy_path = NULL;
    errno = 0;
    CHECK_INT(debuginfo_cache_open(dir, fd, huge, subject->build_id, subject->build_id_length,
                                   &copy_path, err, sizeof err),
              -1);
    CHECK_INT(errno, EFBIG);
    printf("too large: %s\n", err);
    CHECK(copy_path == NULL);
    CHECK(!exists(dir));
    close(fd);
    free(dir);
    free(huge);
}

/* ---- setup ---- */

static int subject_prepare(struct subject *subject, char *self_path, size_t self_length)
{
    ssize_t length = readlink("/proc/self/exe", self_path, self_length - 1);
    if (length <= 0)
        return -1;
    self_path[length] = '\0';
    subject->plain_path = self_path;
    subject->compressed_path = scratch_path("compressed.debug");
    char *command = xasprintf("objcopy --compress-debug-sections=zlib-gabi '%s' '%s'", self_path,
                              subject->compressed_path);
    int status = system(command);
    free(command);
    if (status != 0) {
        printf("objcopy failed (binutils missing?)\n");
        return -1;
    }
    subject->build_id_length = read_build_id(subject->compressed_path, subject->build_id);
    unsigned char plain_id[64];
    if (subject->build_id_length == 0 ||
        read_build_id(self_path, plain_id) != subject->build_id_length ||
        memcmp(plain_id, subject->build_id, subject->build_id_length) != 0) {
        printf("no build-id in %s\n", self_path);
        return -1;
    }
    for (size_t i = 0; i < subject->build_id_length; i++)
        snprintf(subject->entry_name + 2 * i, 3, "%02x", subject->build_id[i]);
    strcat(subject->entry_name, ".debug");
    subject->compressed_fd = open(subject->compressed_path, O_RDONLY | O_CLOEXEC);
    subject->compressed_hash = file_hash(subject->compressed_path);
    return subject->compressed_fd >= 0 ? 0 : -1;
}

int main(void)
{
    elf_version(EV_CURRENT);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/test_debuginfo_cache.XXXXXX",
             tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    unsetenv("STACKTOP_CACHE_DIR");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("DEBUGINFOD_URLS");

    char self_path[4096];
    struct subject subject = {0};
    CHECK_INT(subject_prepare(&subject, self_path, sizeof self_path), 0);
    if (subject.compressed_fd > 0) {
        test_cache_dir_from_environment();
        test_create_then_reuse(&subject);
        test_refusals(&subject);
        test_invalid_entries_replaced(&subject);
        test_prune(&subject);
        test_concurrent_writers(&subject);
        test_write_failure_leaves_nothing(&subject);
        test_too_large(&subject);
        /* The caller's file is never written. */
        CHECK(file_hash(subject.compressed_path) == subject.compressed_hash);
        close(subject.compressed_fd);
    }
    free((char *)subject.compressed_path);
    remove_tree(scratch);
    CHECK(!exists(scratch));
    return CHECK_DONE();
}
