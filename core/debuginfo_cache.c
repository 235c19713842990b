/*
 * debuginfo_cache: uncompressed copies of separate debug files, keyed by build-id (see
 * debuginfo_cache.h).
 *
 * Owns: the cache directory's content — entries HEX.debug, temporary files .HEX.debug.XXXXXX
 * while an entry is written — and nothing else in it (other names are never touched). The
 * rules it shares with the other per-user caches (which directory is trusted, its creation,
 * temporary names, the mtime bump and LRU pruning) are cache_dir's.
 *
 * Invariants:
 *   - every file operation in the cache goes through one fd on the directory, opened and
 *     checked (cache_dir_open: ours, not group- or world-writable) first, so a path that
 *     changes meaning in the meantime cannot redirect a write;
 *   - a cached entry is used only after fstat (regular, ours, not group- or world-writable,
 *     opened with O_NOFOLLOW) and a look at its ELF headers (build-id note, no compressed
 *     section, every section inside the file);
 *   - the copy has the source's ELF header fields, program headers (libdwfl reads p_vaddr of
 *     a debug file to place it) and sections in the same order (e_shstrndx, sh_link and sh_info
 *     stay valid); only SHF_COMPRESSED sections change, to their inflated content. libelf lays
 *     the file out, so section offsets (and the program headers' p_offset, which nothing reads
 *     in a debug file) may differ from the source's.
 */
#include "debuginfo_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <elfutils/libdwelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_dir.h"
#include "xalloc.h"

#define BUILD_ID_MAX_BYTES 64                 /* longest build-id accepted (SHA-512) */
#define ENTRY_SUFFIX       ".debug"           /* after the hex build-id in an entry's name */
#define CACHE_LABEL        "debug info cache" /* the cache's name in messages */
/* Room for ".HEX.debug.XXXXXX" and its NUL, the longest name used. */
#define NAME_MAX_LENGTH                                                                            \
    (2 * BUILD_ID_MAX_BYTES + sizeof ENTRY_SUFFIX - 1 + CACHE_DIR_TEMPORARY_EXTRA_CHARS + 1)

/* ---- names ---- */

/* Writes "HEX.debug" for build_id into name (NAME_MAX_LENGTH bytes). */
static void entry_name_format(const unsigned char *build_id, size_t length, char *name)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < length; i++) {
        name[2 * i] = digits[build_id[i] >> 4];
        name[2 * i + 1] = digits[build_id[i] & 0xf];
    }
    snprintf(name + 2 * length, NAME_MAX_LENGTH - 2 * length, "%s", ENTRY_SUFFIX);
}

/* ---- the cache directory ---- */

char *debuginfo_cache_dir(void)
{
    const char *explicit_dir = getenv("STACKTOP_CACHE_DIR");
    if (explicit_dir != NULL)
        return explicit_dir[0] != '\0' ? xstrdup(explicit_dir) : NULL;
    return cache_dir_default_path("debuginfo");
}

/* ---- ELF inspection ---- */

/* Number of SHF_COMPRESSED sections of elf, or -1 when its section headers cannot be read.
 * When file_size >= 0, also -1 when a section with content ends beyond file_size. */
static long compressed_section_count(Elf *elf, long long file_size)
{
    long count = 0;
    Elf_Scn *scn = NULL;
    size_t sections;
    if (elf_getshdrnum(elf, &sections) != 0)
        return -1;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr) == NULL)
            return -1;
        if ((shdr.sh_flags & SHF_COMPRESSED) != 0)
            count++;
        if (file_size >= 0 && shdr.sh_type != SHT_NOBITS &&
            (shdr.sh_offset > (uint64_t)file_size ||
             shdr.sh_size > (uint64_t)file_size - shdr.sh_offset))
            return -1;
    }
    return count;
}

/* Size of elf's sections once inflated (NOBITS excluded), from the compression headers:
 * nothing is inflated. -1 when a header cannot be read. */
static long long uncompressed_size(Elf *elf)
{
    long long total = 0;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr shdr;
        GElf_Chdr chdr;
        if (gelf_getshdr(scn, &shdr) == NULL)
            return -1;
        if (shdr.sh_type == SHT_NOBITS)
            continue;
        uint64_t size = shdr.sh_size;
        if ((shdr.sh_flags & SHF_COMPRESSED) != 0) {
            if (gelf_getchdr(scn, &chdr) == NULL)
                return -1;
            size = chdr.ch_size;
        }
        if (size > (uint64_t)DEBUGINFO_CACHE_MAX_BYTES)
            size = (uint64_t)DEBUGINFO_CACHE_MAX_BYTES; /* no overflow below */
        total += (long long)size;
    }
    return total;
}

/* elf's build-id note is build_id[0..length). */
static bool build_id_matches(Elf *elf, const unsigned char *build_id, size_t length)
{
    const void *own = NULL;
    ssize_t own_length = dwelf_elf_gnu_build_id(elf, &own);
    return own_length > 0 && (size_t)own_length == length && memcmp(own, build_id, length) == 0;
}

/* ---- entries ---- */

/* Opens the entry name if it is a valid copy for build_id, bumping its mtime when old.
 * Returns its fd, or -1 (missing or not valid: to be written). */
static int cached_copy_open(int dir_fd, const char *name, const unsigned char *build_id,
                            size_t length)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !cache_dir_entry_is_trusted(&st))
        goto close_fd;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    bool valid = elf != NULL && elf_kind(elf) == ELF_K_ELF &&
                 compressed_section_count(elf, (long long)st.st_size) == 0 &&
                 build_id_matches(elf, build_id, length);
    elf_end(elf);
    if (!valid)
        goto close_fd;
    cache_dir_entry_mark_used(fd, &st);
    return fd;

close_fd:
    close(fd);
    return -1;
}

/* Writes into out_fd a copy of source with every SHF_COMPRESSED section inflated (this
 * inflates them in source's memory too; the file behind source is not written). Returns 0, or
 * -1 with *error and err set. */
static int uncompressed_copy_write(Elf *source, int out_fd, const char *path, int *error, char *err,
                                   size_t errlen)
{
    int result = -1;
    Elf *out = elf_begin(out_fd, ELF_C_WRITE, NULL);
    if (out == NULL)
        goto libelf_failed;

    GElf_Ehdr ehdr;
    if (gelf_getehdr(source, &ehdr) == NULL || gelf_newehdr(out, gelf_getclass(source)) == NULL ||
        gelf_update_ehdr(out, &ehdr) == 0)
        goto libelf_failed;

    size_t phnum;
    if (elf_getphdrnum(source, &phnum) != 0)
        goto libelf_failed;
    if (phnum > 0 && gelf_newphdr(out, phnum) == NULL)
        goto libelf_failed;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr phdr;
        if (gelf_getphdr(source, (int)i, &phdr) == NULL ||
            gelf_update_phdr(out, (int)i, &phdr) == 0)
            goto libelf_failed;
    }

    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(source, scn)) != NULL) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr) == NULL)
            goto libelf_failed;
        if ((shdr.sh_flags & SHF_COMPRESSED) != 0 &&
            (elf_compress(scn, 0, 0) < 0 || gelf_getshdr(scn, &shdr) == NULL))
            goto libelf_failed;
        Elf_Scn *copy = elf_newscn(out);
        if (copy == NULL || gelf_update_shdr(copy, &shdr) == 0)
            goto libelf_failed;
        /* The copy's data point into source's memory, which lives until after elf_update. */
        Elf_Data *data = NULL;
        (void)elf_errno();
        while ((data = elf_getdata(scn, data)) != NULL) {
            Elf_Data *copied = elf_newdata(copy);
            if (copied == NULL)
                goto libelf_failed;
            copied->d_buf = data->d_buf;
            copied->d_type = data->d_type;
            copied->d_version = data->d_version;
            copied->d_size = data->d_size;
            copied->d_off = data->d_off;
            copied->d_align = data->d_align;
        }
        if (elf_errno() != 0)
            goto libelf_failed;
    }
    /* Section 0 carries the overflow values of e_shnum, e_shstrndx and e_phnum, if any. */
    Elf_Scn *source_zero = elf_getscn(source, 0), *out_zero = elf_getscn(out, 0);
    if (source_zero != NULL && out_zero != NULL) {
        GElf_Shdr zero;
        if (gelf_getshdr(source_zero, &zero) == NULL || gelf_update_shdr(out_zero, &zero) == 0)
            goto libelf_failed;
    }

    errno = 0;
    if (elf_update(out, ELF_C_WRITE) < 0) {
        *error = errno != 0 ? errno : EIO;
        cache_dir_error(err, errlen, "cannot write the uncompressed copy of %s: %s", path,
                        elf_errmsg(-1));
        goto end_out;
    }
    result = 0;
    goto end_out;

libelf_failed:
    *error = EIO;
    cache_dir_error(err, errlen, "cannot copy %s: %s", path, elf_errmsg(-1));
end_out:
    elf_end(out);
    return result;
}

/* Writes the entry name as an uncompressed copy of source, through a temporary file renamed
 * into place. Returns a read-only fd on the new entry, or -1 with *error and err set (no
 * temporary file left). */
static int cached_copy_create(int dir_fd, const char *cache_dir, const char *name, Elf *source,
                              const char *path, int *error, char *err, size_t errlen)
{
    char temporary_name[NAME_MAX_LENGTH];
    int write_fd =
        cache_dir_temporary_create(dir_fd, name, O_RDWR, temporary_name, sizeof temporary_name);
    if (write_fd < 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot create a file in the debug info cache %s: %s",
                        cache_dir, strerror(errno));
        return -1;
    }
    int read_fd = -1;
    /* mode 0600 even under an unusual umask: the entry must stay readable by us. */
    if (fchmod(write_fd, 0600) != 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot set the mode of a file in %s: %s", cache_dir,
                        strerror(errno));
        goto remove_temporary;
    }
    if (uncompressed_copy_write(source, write_fd, path, error, err, errlen) != 0)
        goto remove_temporary;
    read_fd = openat(dir_fd, temporary_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (read_fd < 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot reopen the copy of %s: %s", path, strerror(errno));
        goto remove_temporary;
    }
    /* close() reports the write errors that some file systems (NFS) only see now. */
    int closed = close(write_fd);
    write_fd = -1;
    if (closed != 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot write the copy of %s: %s", path, strerror(errno));
        goto close_read;
    }
    if (renameat(dir_fd, temporary_name, dir_fd, name) != 0) {
        *error = errno;
        cache_dir_error(err, errlen, "cannot rename the copy of %s into %s: %s", path, cache_dir,
                        strerror(errno));
        goto close_read;
    }
    return read_fd;

close_read:
    close(read_fd);
remove_temporary:
    unlinkat(dir_fd, temporary_name, 0);
    if (write_fd >= 0)
        close(write_fd);
    return -1;
}

/* ---- public interface ---- */

int debuginfo_cache_open(const char *cache_dir, int fd, const char *path,
                         const unsigned char *build_id, size_t build_id_len, char **copy_path,
                         char *err, size_t errlen)
{
    int result = -1, error = 0;
    *copy_path = NULL;
    cache_dir_error(err, errlen, "%s", "");
    if (path == NULL)
        path = "(debug file)";
    bool bad_build_id = build_id == NULL ? build_id_len != 0
                                         : build_id_len == 0 || build_id_len > BUILD_ID_MAX_BYTES;
    if (cache_dir == NULL || cache_dir[0] == '\0' || fd < 0 || bad_build_id) {
        error = EINVAL;
        cache_dir_error(err, errlen, "debug info cache: invalid arguments for %s", path);
        goto done;
    }
    if (elf_version(EV_CURRENT) == EV_NONE) {
        error = EINVAL;
        cache_dir_error(err, errlen, "libelf: %s", elf_errmsg(-1));
        goto done;
    }
    /* Only files that root or we own, and that nobody else may write, are copied: the cache is
     * keyed by the file's own build-id note, so a file of another user's (a debug file next to
     * their program, found by .gnu_debuglink) could otherwise claim libc's build-id and stand
     * for it in every later capture. Such a file is still used, just not cached. */
    struct stat source_stat;
    if (fstat(fd, &source_stat) != 0 || !S_ISREG(source_stat.st_mode) ||
        (source_stat.st_uid != 0 && source_stat.st_uid != geteuid()) ||
        (source_stat.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        error = EPERM;
        cache_dir_error(err, errlen,
                        "%s is not cached: not a regular file owned by root or uid %u only", path,
                        (unsigned)geteuid());
        goto done;
    }

    /* ELF_C_READ_MMAP reads with mmap and pread only: fd's offset does not move. */
    Elf *source = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (source == NULL || elf_kind(source) != ELF_K_ELF) {
        error = EINVAL;
        cache_dir_error(err, errlen, "%s is not an ELF file", path);
        goto end_source;
    }
    long compressed = compressed_section_count(source, -1);
    if (compressed < 0) {
        error = EINVAL;
        cache_dir_error(err, errlen, "cannot read the section headers of %s: %s", path,
                        elf_errmsg(-1));
        goto end_source;
    }
    if (compressed == 0) {
        error = ENOENT;
        cache_dir_error(err, errlen, "%s has no compressed section: nothing to cache", path);
        goto end_source;
    }
    /* The key is the file's own build-id note (which libdwfl checks too), so a caller's
     * mistake cannot store a file under another build-id. */
    const void *note = NULL;
    ssize_t key_length = dwelf_elf_gnu_build_id(source, &note);
    if (key_length <= 0) {
        error = ENOENT;
        cache_dir_error(err, errlen, "%s has no build-id note: it cannot be cached", path);
        goto end_source;
    }
    if (key_length > BUILD_ID_MAX_BYTES ||
        (build_id != NULL &&
         ((size_t)key_length != build_id_len || memcmp(note, build_id, build_id_len) != 0))) {
        error = EINVAL;
        cache_dir_error(err, errlen, "%s has another build-id than the one asked for", path);
        goto end_source;
    }
    long long size = uncompressed_size(source);
    if (size < 0) {
        error = EINVAL;
        cache_dir_error(err, errlen, "cannot read the compressed sections of %s: %s", path,
                        elf_errmsg(-1));
        goto end_source;
    }
    if (size > DEBUGINFO_CACHE_MAX_ENTRY_BYTES) {
        error = EFBIG;
        cache_dir_error(err, errlen, "%s is too large to cache (over %lld MiB uncompressed)", path,
                        DEBUGINFO_CACHE_MAX_ENTRY_BYTES / (1024 * 1024));
        goto end_source;
    }
    unsigned char key[BUILD_ID_MAX_BYTES];
    memcpy(key, note, (size_t)key_length);

    char name[NAME_MAX_LENGTH];
    entry_name_format(key, (size_t)key_length, name);
    int dir_fd = cache_dir_open(cache_dir, true, CACHE_LABEL, err, errlen);
    if (dir_fd < 0) {
        error = errno;
        goto end_source;
    }
    result = cached_copy_open(dir_fd, name, key, (size_t)key_length);
    if (result < 0) {
        result = cached_copy_create(dir_fd, cache_dir, name, source, path, &error, err, errlen);
        if (result >= 0)
            cache_dir_prune(dir_fd, ENTRY_SUFFIX, DEBUGINFO_CACHE_MAX_BYTES, name);
    }
    if (result >= 0) {
        size_t dir_length = strlen(cache_dir);
        while (dir_length > 1 && cache_dir[dir_length - 1] == '/')
            dir_length--;
        *copy_path = xasprintf("%.*s/%s", (int)dir_length, cache_dir, name);
    }
    close(dir_fd);
end_source:
    elf_end(source);
done:
    if (result < 0)
        errno = error;
    return result;
}
