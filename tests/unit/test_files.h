/*
 * test_files.h: file-system helpers shared by unit tests: removing a scratch tree, counting
 * and dating directory entries, sparse files, and finding where a file is mapped in a
 * process. Static inline so that each test includes only what it uses.
 */
#ifndef STACKTOP_TEST_FILES_H
#define STACKTOP_TEST_FILES_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

/* nftw callback of remove_tree: removes one entry (children come first: FTW_DEPTH). */
static inline int remove_tree_entry(const char *path, const struct stat *st, int type,
                                    struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* rm -rf path (after giving back directories made unsafe by a test). */
static inline void remove_tree(const char *path)
{
    nftw(path, remove_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The first mapping of path in process pid (its load address), 0 if none. */
static inline uint64_t mapping_base(pid_t pid, const char *path)
{
    char maps_path[64], line[PATH_MAX + 128];
    snprintf(maps_path, sizeof maps_path, "/proc/%d/maps", (int)pid);
    FILE *maps = fopen(maps_path, "re");
    if (maps == NULL)
        return 0;
    uint64_t base = 0;
    size_t path_length = strlen(path);
    while (base == 0 && fgets(line, sizeof line, maps) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        size_t length = strlen(line);
        if (length >= path_length && strcmp(line + length - path_length, path) == 0)
            base = strtoull(line, NULL, 16);
    }
    fclose(maps);
    return base;
}

static inline bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Entries in dir other than "." and ".."; with hidden_only, only those starting with '.'. */
static inline int count_entries(const char *dir, bool hidden_only)
{
    DIR *stream = opendir(dir);
    if (stream == NULL)
        return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(stream)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0 &&
            (!hidden_only || entry->d_name[0] == '.'))
            count++;
    closedir(stream);
    return count;
}

/* Sets path's mtime to now + offset seconds. */
static inline void set_mtime(const char *path, long offset)
{
    struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) + offset}};
    if (utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) != 0)
        perror(path);
}

/* Creates a sparse file of size bytes with mtime now + age_offset. */
static inline void sparse_file_create(const char *path, long long size, long age_offset)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        perror(path);
    if (fd >= 0)
        close(fd);
    set_mtime(path, age_offset);
}

#endif
