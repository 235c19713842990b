/*
 * test_cache_dir: core/cache_dir.c on directories made at test time, in a mkdtemp scratch
 * directory removed at the end. The caches built on it (test_debuginfo_cache,
 * test_symbol_cache) cover the rules through their own entries; this test covers what the
 * parameters change: two caches' suffixes side by side in one directory (pruning one leaves
 * the other's entries and temporary files alone), the temporary names cache_dir_prune
 * recognises being the ones cache_dir_temporary_create makes, a name buffer too small,
 * opening without creating, the label in messages, the trust check on entries and the mtime
 * bump.
 */
#include "cache_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "xalloc.h"

#define DAY_SECS   (24 * 3600) /* one day */
#define ERR_LENGTH 256         /* size of the error message buffers */

static char scratch[256]; /* mkdtemp directory holding every file of this test */

/* ---- helpers ---- */

/* Creates dir/name with size bytes (sparse), mode 0600, its mtime age_secs in the past. */
static void entry_make(const char *dir, const char *name, long long size, long age_secs)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
    struct timespec times[2] = {{.tv_sec = time(NULL) - age_secs}, {0}};
    times[1] = times[0];
    CHECK(fd >= 0 && futimens(fd, times) == 0);
    if (fd >= 0)
        close(fd);
    free(path);
}

/* dir/name exists (not followed when a symbolic link). */
static bool entry_exists(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    bool found = lstat(path, &st) == 0;
    free(path);
    return found;
}

/* Opens dir (made when missing) as a trusted cache directory. */
static int cache_make(const char *dir)
{
    int dir_fd = cache_dir_open(dir, true, "test cache", NULL, 0);
    CHECK(dir_fd >= 0);
    return dir_fd;
}

/* ---- tests ---- */

static void test_hex_length(void)
{
    CHECK_INT(cache_dir_hex_length(""), 0);
    CHECK_INT(cache_dir_hex_length("09af.sym"), 4);
    CHECK_INT(cache_dir_hex_length("09AF"), 2); /* uppercase is not an entry's */
    CHECK_INT(cache_dir_hex_length("g0"), 0);
}

/* Two caches' entries in one directory: each prune sees only its own suffix. */
static void test_prune_by_suffix(void)
{
    char *dir = xasprintf("%s/shared", scratch);
    int dir_fd = cache_make(dir);
    entry_make(dir, "aaaa.debug", 4096, 3 * DAY_SECS);
    entry_make(dir, ".aaaa.debug.abcdef", 10, DAY_SECS);
    entry_make(dir, "bbbb.sym", 4096, 3 * DAY_SECS);
    entry_make(dir, "cccc.sym", 4096, 2 * DAY_SECS);
    entry_make(dir, "dddd.sym", 4096, 0);
    entry_make(dir, ".bbbb.sym.abcdef", 10, DAY_SECS);   /* stale temporary: goes */
    entry_make(dir, ".cccc.sym.ghijkl", 10, 0);          /* fresh temporary: stays */
    entry_make(dir, ".cccc.sym.ghijklm", 10, DAY_SECS);  /* not a temporary's name */
    entry_make(dir, "abc.sym", 4096, 4 * DAY_SECS);      /* odd hex: not an entry */
    entry_make(dir, "aaaa.symbols", 4096, 4 * DAY_SECS); /* another suffix */
    char *subdirectory = xasprintf("%s/eeee.sym", dir);
    CHECK(mkdir(subdirectory, 0700) == 0); /* not a regular file */
    free(subdirectory);

    /* room for two .sym entries: the oldest goes, the one kept counts but stays */
    cache_dir_prune(dir_fd, ".sym", 2 * 4096, "bbbb.sym");
    CHECK(entry_exists(dir, "bbbb.sym"));
    CHECK(!entry_exists(dir, "cccc.sym"));
    CHECK(entry_exists(dir, "dddd.sym"));
    CHECK(!entry_exists(dir, ".bbbb.sym.abcdef"));
    CHECK(entry_exists(dir, ".cccc.sym.ghijkl"));
    CHECK(entry_exists(dir, ".cccc.sym.ghijklm"));
    CHECK(entry_exists(dir, "abc.sym"));
    CHECK(entry_exists(dir, "aaaa.symbols"));
    CHECK(entry_exists(dir, "eeee.sym"));
    CHECK(entry_exists(dir, "aaaa.debug"));
    CHECK(entry_exists(dir, ".aaaa.debug.abcdef"));

    /* the other cache's turn: its stale temporary and, over the bound, its entry go */
    cache_dir_prune(dir_fd, ".debug", 0, "ffff.debug");
    CHECK(!entry_exists(dir, "aaaa.debug"));
    CHECK(!entry_exists(dir, ".aaaa.debug.abcdef"));
    CHECK(entry_exists(dir, "bbbb.sym"));
    CHECK(entry_exists(dir, "dddd.sym"));
    close(dir_fd);
    free(dir);
}

/* Temporary files: their names, mode and access, and pruning recognising them. */
static void test_temporary_files(void)
{
    char *dir = xasprintf("%s/temporary", scratch);
    int dir_fd = cache_make(dir);
    char name[64];
    mode_t saved_umask = umask(0);
    int fd = cache_dir_temporary_create(dir_fd, "0a1b.sym", O_WRONLY, name, sizeof name);
    umask(saved_umask);
    CHECK(fd >= 0);
    CHECK_INT(strlen(name), strlen(".0a1b.sym.") + 6);
    CHECK(strncmp(name, ".0a1b.sym.", strlen(".0a1b.sym.")) == 0);
    struct stat st;
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_INT(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    if (fd >= 0)
        close(fd);
    char other[64];
    fd = cache_dir_temporary_create(dir_fd, "0a1b.sym", O_RDWR, other, sizeof other);
    CHECK(fd >= 0 && strcmp(other, name) != 0);
    CHECK_INT(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
    if (fd >= 0)
        close(fd);

    /* a fresh one stays; one made two hours ago is a crash's leftover */
    cache_dir_prune(dir_fd, ".sym", 0, "0a1b.sym");
    CHECK(entry_exists(dir, name));
    struct timespec times[2] = {{.tv_sec = time(NULL) - 2 * 3600}, {0}};
    times[1] = times[0];
    CHECK(utimensat(dir_fd, name, times, 0) == 0);
    cache_dir_prune(dir_fd, ".sym", 0, "0a1b.sym");
    CHECK(!entry_exists(dir, name));
    CHECK(entry_exists(dir, other));

    /* room for the entry's name but not the temporary's: nothing made */
    char small[sizeof "0a1b.sym" + 7];
    errno = 0;
    CHECK_INT(cache_dir_temporary_create(dir_fd, "0a1b.sym", O_WRONLY, small, sizeof small), -1);
    CHECK_INT(errno, ENAMETOOLONG);
    close(dir_fd);
    free(dir);
}

/* Opening with and without creating, and what is refused. */
static void test_open(void)
{
    char *missing = xasprintf("%s/missing/cache", scratch);
    char err[ERR_LENGTH] = "";
    CHECK_INT(cache_dir_open(missing, false, "test cache", err, sizeof err), -1);
    CHECK_INT(errno, ENOENT);
    CHECK(strstr(err, "cannot open the test cache") != NULL);
    CHECK(!entry_exists(scratch, "missing"));

    int dir_fd = cache_dir_open(missing, true, "test cache", err, sizeof err);
    CHECK(dir_fd >= 0);
    struct stat st;
    CHECK(stat(missing, &st) == 0 && (st.st_mode & 0777) == 0700);
    char *parent = xasprintf("%s/missing", scratch);
    CHECK(stat(parent, &st) == 0 && (st.st_mode & 0777) == 0700);
    if (dir_fd >= 0)
        close(dir_fd);

    CHECK(chmod(missing, 0770) == 0);
    CHECK_INT(cache_dir_open(missing, true, "test cache", err, sizeof err), -1);
    CHECK_INT(errno, EPERM);
    CHECK(strstr(err, "test cache") != NULL && strstr(err, "others can write") != NULL);
    CHECK(chmod(missing, 0700) == 0);

    /* a relative path: refused even though it opens */
    char *saved_cwd = getcwd(NULL, 0);
    CHECK(saved_cwd != NULL && chdir(parent) == 0);
    CHECK_INT(cache_dir_open("cache", false, "test cache", NULL, 0), -1);
    CHECK_INT(errno, EPERM);
    CHECK(saved_cwd != NULL && chdir(saved_cwd) == 0);
    free(saved_cwd);
    free(parent);
    free(missing);
}

/* Which entries are trusted, and the bump of an old entry's mtime. */
static void test_entries(void)
{
    char *dir = xasprintf("%s/entries", scratch);
    int dir_fd = cache_make(dir);
    entry_make(dir, "aaaa.sym", 1, 3 * DAY_SECS);
    entry_make(dir, "bbbb.sym", 1, 60);
    int old_fd = openat(dir_fd, "aaaa.sym", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int recent_fd = openat(dir_fd, "bbbb.sym", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat old, recent, after;
    CHECK(fstat(old_fd, &old) == 0 && fstat(recent_fd, &recent) == 0);
    CHECK(cache_dir_entry_is_trusted(&old));

    cache_dir_entry_mark_used(old_fd, &old);
    cache_dir_entry_mark_used(recent_fd, &recent);
    CHECK(fstat(old_fd, &after) == 0 && after.st_mtime >= time(NULL) - 60);
    CHECK(fstat(recent_fd, &after) == 0 && after.st_mtime == recent.st_mtime);

    CHECK(fchmod(old_fd, 0620) == 0 && fstat(old_fd, &old) == 0);
    CHECK(!cache_dir_entry_is_trusted(&old));
    CHECK(fchmod(old_fd, 0602) == 0 && fstat(old_fd, &old) == 0);
    CHECK(!cache_dir_entry_is_trusted(&old));
    CHECK(fstat(dir_fd, &after) == 0 && !cache_dir_entry_is_trusted(&after)); /* a directory */
    close(old_fd);
    close(recent_fd);
    close(dir_fd);
    free(dir);
}

/* The default path's name, under XDG_CACHE_HOME or HOME. */
static void test_default_path(void)
{
    char *xdg = xasprintf("%s/xdg", scratch);
    setenv("XDG_CACHE_HOME", xdg, 1);
    char *path = cache_dir_default_path("things");
    char *expected = xasprintf("%s/stacktop/things", xdg);
    CHECK_STR(path, expected);
    free(path);
    free(expected);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", scratch, 1);
    path = cache_dir_default_path("things");
    expected = xasprintf("%s/.cache/stacktop/things", scratch);
    CHECK_STR(path, expected);
    free(path);
    free(expected);
    unsetenv("HOME");
    free(xdg);
}

int main(void)
{
    const char *tmpdir = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/test_cache_dir.XXXXXX",
             tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    unsetenv("XDG_CACHE_HOME");

    test_hex_length();
    test_prune_by_suffix();
    test_temporary_files();
    test_open();
    test_entries();
    test_default_path();

    char *command = xasprintf("rm -rf '%s'", scratch);
    CHECK(system(command) == 0);
    free(command);
    return CHECK_DONE();
}
