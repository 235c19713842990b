/*
 * test_symbol_cache: core/symbol_cache.c on files made at test time, and the symbolizer
 * (core/symbols.c) reading and writing it. Everything happens in a mkdtemp scratch directory,
 * removed at the end.
 *
 * Covers: the directory's choice from the environment (STACKTOP_CACHE_DIR, "" disabling it,
 * XDG_CACHE_HOME, HOME); a round trip of entries (inline chains, NULL function or file, line 0,
 * strings with spaces, colons and newlines, offsets given unsorted and twice); merging with
 * the file on disk; another fingerprint; corrupt, truncated, mutated and hostile files ignored
 * then replaced (wrong version, another build-id in the header, bad lengths, NUL bytes, absurd
 * counts, trailing bytes, a file over the size bound, a symbolic link, a FIFO, a file others
 * may write); entries that cannot be stored; the entry count bound; untrusted directories
 * refused; pruning the least recently used files and stale temporary files; the mtime bump;
 * and end to end through the symbolizer: a second symbolizer answers every address of the
 * first from the file (identical frames, no DWARF lookup, no debug file mapped), new results
 * are added to the file, a file of another fingerprint is not used, and removing a separate
 * debug file makes the answers those of a symbolizer without the cache.
 */
#include "symbol_cache.h"
#include "symbols.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "test_files.h"
#include "xalloc.h"

#define NOBODY_UID         65534                /* another user, for the tests run as root */
#define DAY_SECS           (24 * 3600)          /* one day */
#define ERR_LENGTH         256                  /* size of the error message buffers */
#define MAX_FRAMES         16                   /* frames asked for per PC */
#define MAX_PCS            1024                 /* PCs resolved by the end-to-end test */
#define PROBES_PER_MAPPING 97                   /* PCs taken in each executable mapping */
#define SPARSE_FILE_BYTES  (30LL * 1024 * 1024) /* three of these exceed the cache bound */
#define MUTATION_ROUNDS    3000                 /* random corruptions of a valid file */
#define TEST_BUILD_ID      "0123456789abcdef0123456789abcdef01234567" /* a made-up build-id */
#define TEST_FINGERPRINT   "test fingerprint: one; two"               /* a made-up one */

static char scratch[256]; /* mkdtemp directory holding every file of this test */
static volatile int sink; /* side effects that keep calls from being removed */
static int inlined_line;  /* line of the call inside inlined_helper */

/* What a load gave: copies of every entry visited. */
struct loaded {
    size_t count;          /* entries visited */
    uint64_t offsets[256]; /* their offsets (the first 256) */
    char *text;            /* every entry as text (see entry_text) */
    size_t text_length;    /* bytes in text */
    size_t text_capacity;  /* bytes allocated for text */
};

/* One PC resolved by the end-to-end test. */
struct probe {
    uint64_t pc;            /* the address */
    bool is_return_address; /* resolved as a return address */
};

/* Non-static and noinline so that each has its own symbol, DWARF subprogram and address. */
int symbol_cache_test_target(int value);
uint64_t take_return_address(int *call_line, int line);
uint64_t outer_with_inline(void);

__attribute__((noinline)) int symbol_cache_test_target(int value)
{
    return value * 7 + sink;
}

/* Returns the caller's return address and stores the line the caller passed. */
__attribute__((noinline, noclone)) uint64_t take_return_address(int *call_line, int line)
{
    *call_line = line;
    uint64_t pc = (uint64_t)(uintptr_t)__builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return pc;
}

static inline __attribute__((always_inline)) uint64_t inlined_helper(void)
{
    uint64_t pc = take_return_address(&inlined_line, __LINE__);
    sink++;
    return pc;
}

__attribute__((noinline)) uint64_t outer_with_inline(void)
{
    uint64_t pc = inlined_helper();
    sink++;
    return pc;
}

/* ---- helpers ---- */

static char *scratch_path(const char *name)
{
    return xasprintf("%s/%s", scratch, name);
}

/* Replaces path by length bytes of data, mode 0600. */
static void file_write(const char *path, const void *data, size_t length)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, length) != (ssize_t)length)
        perror(path);
    if (fd >= 0)
        close(fd);
}

/* The whole content of path (malloc'd, *length bytes), or NULL. */
static char *file_read(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    char *data = NULL;
    size_t capacity = 0, used = 0;
    for (;;) {
        xgrow((void **)&data, &capacity, used + 4096, 1);
        size_t got = fread(data + used, 1, capacity - used, file);
        used += got;
        if (got == 0)
            break;
    }
    fclose(file);
    *length = used;
    return data;
}

/* Appends the entry's frames as text to loaded->text: "offset: I line function file;...". */
static void entry_text(struct loaded *loaded, const struct symbol_cache_entry *entry)
{
    size_t capacity = loaded->text_length + 64;
    for (size_t i = 0; i < entry->frame_count; i++)
        capacity += 32 + (entry->frames[i].function ? strlen(entry->frames[i].function) : 6) +
                    (entry->frames[i].file ? strlen(entry->frames[i].file) : 6);
    xgrow((void **)&loaded->text, &loaded->text_capacity, capacity + 1, 1);
    int used = snprintf(loaded->text + loaded->text_length, capacity - loaded->text_length,
                        "%llx:", (unsigned long long)entry->offset);
    loaded->text_length += (size_t)used;
    for (size_t i = 0; i < entry->frame_count; i++) {
        const struct symbol_cache_frame *frame = &entry->frames[i];
        used = snprintf(loaded->text + loaded->text_length, capacity - loaded->text_length,
                        " [%d %d <%s> <%s>]", frame->is_inline, frame->line,
                        frame->function ? frame->function : "(null)",
                        frame->file ? frame->file : "(null)");
        loaded->text_length += (size_t)used;
    }
    loaded->text[loaded->text_length++] = '\n';
    loaded->text[loaded->text_length] = '\0';
}

static void collect_entry(void *argument, const struct symbol_cache_entry *entry)
{
    struct loaded *loaded = argument;
    if (loaded->count < sizeof loaded->offsets / sizeof loaded->offsets[0])
        loaded->offsets[loaded->count] = entry->offset;
    loaded->count++;
    entry_text(loaded, entry);
}

/* Loads the test build-id from dir into *loaded (freed first). */
static long load(const char *dir, const char *fingerprint, struct loaded *loaded)
{
    free(loaded->text);
    memset(loaded, 0, sizeof *loaded);
    char err[ERR_LENGTH];
    return symbol_cache_load(dir, TEST_BUILD_ID, fingerprint, collect_entry, loaded, err,
                             sizeof err);
}

/* The text collect_entry makes of entries (count of them, sorted by offset, unique). */
static char *expected_text(const struct symbol_cache_entry *entries, size_t count)
{
    struct loaded loaded = {0};
    for (size_t i = 0; i < count; i++)
        entry_text(&loaded, &entries[i]);
    return loaded.text ? loaded.text : xstrdup("");
}

/* The sample entries, sorted by offset: inline chains, NULL strings, line 0, odd strings. */
static const struct symbol_cache_frame frames_plain[] = {{"main", "/src/app/main.c", 42, false}};
static const struct symbol_cache_frame frames_chain[] = {
    {"inner_inlined", "/src/lib/inner.h", 7, true},
    {"middle_inlined", "/src/lib/middle.h", 19, true},
    {"outer", "/src/lib/outer.c", 301, false},
};
static const struct symbol_cache_frame frames_unknown[] = {{NULL, NULL, 0, false}};
static const struct symbol_cache_frame frames_no_file[] = {{"__clone3", NULL, 0, false}};
static const struct symbol_cache_frame frames_odd[] = {
    {"operator<< (std::ostream&, int):1", "/dir with spaces/new\nline:3.c", 2147483647, true},
    {"", "", 1, false},
};
static const struct symbol_cache_entry sample_entries[] = {
    {0x0, frames_unknown, 1},
    {0x10, frames_plain, 1},
    {0x1234, frames_chain, 3},
    {0x1235, frames_no_file, 1},
    {0xffffffffffffffffULL, frames_odd, 2},
};
#define SAMPLE_COUNT (sizeof sample_entries / sizeof sample_entries[0])

/* ---- symbol_cache on its own ---- */

static void test_cache_dir_from_environment(void)
{
    char *home = scratch_path("home"), *xdg = scratch_path("xdg");
    mkdir(home, 0700);
    char *expected_home = xasprintf("%s/.cache/stacktop/symbols", home);
    char *expected_xdg = xasprintf("%s/stacktop/symbols", xdg);

    setenv("STACKTOP_CACHE_DIR", "", 1);
    CHECK(symbol_cache_dir() == NULL); /* "" disables */
    setenv("STACKTOP_CACHE_DIR", "/some/where", 1);
    char *dir = symbol_cache_dir();
    CHECK_STR(dir, "/some/where/symbols"); /* inside what the user gave */
    free(dir);
    setenv("STACKTOP_CACHE_DIR", "/some/where//", 1);
    dir = symbol_cache_dir();
    CHECK_STR(dir, "/some/where/symbols");
    free(dir);

    unsetenv("STACKTOP_CACHE_DIR");
    setenv("XDG_CACHE_HOME", xdg, 1);
    setenv("HOME", home, 1);
    dir = symbol_cache_dir();
    CHECK_STR(dir, expected_xdg); /* the debuginfo cache's sibling */
    free(dir);
    unsetenv("XDG_CACHE_HOME");
    dir = symbol_cache_dir();
    CHECK_STR(dir, expected_home);
    free(dir);
    CHECK(!exists(expected_home)); /* not created */
    unsetenv("HOME");
    CHECK(symbol_cache_dir() == NULL);
    if (geteuid() == 0) {
        /* sudo keeping the user's HOME: root must not write there */
        char *other_home = scratch_path("other-home");
        mkdir(other_home, 0700);
        CHECK(chown(other_home, NOBODY_UID, NOBODY_UID) == 0);
        setenv("HOME", other_home, 1);
        CHECK(symbol_cache_dir() == NULL);
        unsetenv("HOME");
        free(other_home);
    }
    free(expected_xdg);
    free(expected_home);
    free(xdg);
    free(home);
}

static void test_round_trip(void)
{
    char *dir = scratch_path("round-trip/deeper/symbols");
    char *file = xasprintf("%s/%s.sym", dir, TEST_BUILD_ID);
    struct loaded loaded = {0};

    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1); /* nothing yet, nothing created */
    CHECK_INT(errno, ENOENT);
    CHECK(!exists(dir));

    /* unsorted, with an offset given twice: the first one counts */
    static const struct symbol_cache_frame frames_shadowed[] = {{"shadowed", NULL, 1, false}};
    struct symbol_cache_entry given[SAMPLE_COUNT + 1];
    for (size_t i = 0; i < SAMPLE_COUNT; i++)
        given[i] = sample_entries[SAMPLE_COUNT - 1 - i];
    given[SAMPLE_COUNT] = (struct symbol_cache_entry){0x10, frames_shadowed, 1};
    char err[ERR_LENGTH];
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, given, SAMPLE_COUNT + 1, err,
                                sizeof err),
              SAMPLE_COUNT);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 &&
          st.st_uid == geteuid());
    CHECK_INT(count_entries(dir, true), 0); /* no temporary file left */

    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), SAMPLE_COUNT);
    char *expected = expected_text(sample_entries, SAMPLE_COUNT);
    CHECK_STR(loaded.text, expected);
    for (size_t i = 0; i < SAMPLE_COUNT; i++)
        CHECK(loaded.offsets[i] == sample_entries[i].offset);

    /* another fingerprint: not used (ESTALE); its save replaces the file */
    CHECK_INT(load(dir, "another fingerprint", &loaded), -1);
    CHECK_INT(errno, ESTALE);
    CHECK_INT(loaded.count, 0);
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, "another fingerprint", &sample_entries[1], 1,
                                NULL, 0),
              1);
    CHECK_INT(load(dir, "another fingerprint", &loaded), 1);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);

    /* a save merges with the file: the caller's entry wins where both have an offset */
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 3, NULL, 0),
              3);
    struct symbol_cache_entry newer[] = {
        {0x10, frames_shadowed, 1}, sample_entries[3], sample_entries[4]};
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, newer, 3, NULL, 0), 5);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), 5);
    struct symbol_cache_entry merged[] = {sample_entries[0], newer[0], sample_entries[2],
                                          sample_entries[3], sample_entries[4]};
    char *expected_merged = expected_text(merged, 5);
    CHECK_STR(loaded.text, expected_merged);

    /* an empty save is a valid (empty) file */
    CHECK_INT(symbol_cache_save(dir, "abcd", TEST_FINGERPRINT, NULL, 0, NULL, 0), 0);
    struct loaded empty = {0};
    CHECK_INT(symbol_cache_load(dir, "abcd", TEST_FINGERPRINT, collect_entry, &empty, NULL, 0), 0);
    CHECK_INT(empty.count, 0);

    /* bad arguments */
    CHECK_INT(symbol_cache_save(dir, "ABCD", TEST_FINGERPRINT, NULL, 0, NULL, 0), -1);
    CHECK_INT(symbol_cache_save(dir, "abc", TEST_FINGERPRINT, NULL, 0, NULL, 0), -1);
    CHECK_INT(symbol_cache_save(dir, "../abcd", TEST_FINGERPRINT, NULL, 0, NULL, 0), -1);
    CHECK_INT(symbol_cache_save("", TEST_BUILD_ID, TEST_FINGERPRINT, NULL, 0, NULL, 0), -1);
    CHECK_INT(symbol_cache_save("relative/dir", TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 1,
                                NULL, 0),
              -1);
    CHECK(!exists("relative"));
    char *long_fingerprint = xmalloc(SYMBOL_CACHE_MAX_FINGERPRINT + 2);
    memset(long_fingerprint, 'x', SYMBOL_CACHE_MAX_FINGERPRINT + 1);
    long_fingerprint[SYMBOL_CACHE_MAX_FINGERPRINT + 1] = '\0';
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, long_fingerprint, NULL, 0, NULL, 0), -1);
    CHECK_INT(errno, EINVAL);
    free(long_fingerprint);

    /* a read older than a day refreshes the mtime (least recently used goes first) */
    set_mtime(file, -3 * DAY_SECS);
    CHECK(load(dir, TEST_FINGERPRINT, &loaded) == 5);
    CHECK(stat(file, &st) == 0 && time(NULL) - st.st_mtime < 60);

    free(empty.text);
    free(expected_merged);
    free(expected);
    free(loaded.text);
    free(file);
    free(dir);
}

/* Entries that cannot be stored are left out; the entry count is bounded. */
static void test_bounds(void)
{
    char *dir = scratch_path("bounds");
    struct loaded loaded = {0};
    static const struct symbol_cache_frame negative_line[] = {{"f", "g", -1, false}};
    struct symbol_cache_frame long_name[1] = {{NULL, "/x.c", 1, false}};
    char *name = xmalloc(SYMBOL_CACHE_MAX_STRING + 2);
    memset(name, 'n', SYMBOL_CACHE_MAX_STRING + 1);
    name[SYMBOL_CACHE_MAX_STRING + 1] = '\0';
    long_name[0].function = name;
    struct symbol_cache_frame many[SYMBOL_CACHE_MAX_FRAMES + 1];
    for (size_t i = 0; i <= SYMBOL_CACHE_MAX_FRAMES; i++)
        many[i] = (struct symbol_cache_frame){"f", "/f.c", (int)i + 1, i < SYMBOL_CACHE_MAX_FRAMES};
    struct symbol_cache_entry entries[] = {
        {1, negative_line, 1}, {2, long_name, 1}, {3, many, SYMBOL_CACHE_MAX_FRAMES + 1},
        {4, many, 0},          {5, NULL, 1},      {6, many + 1, SYMBOL_CACHE_MAX_FRAMES},
    };
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, entries, 6, NULL, 0), 1);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), 1);
    CHECK(loaded.offsets[0] == 6);
    name[SYMBOL_CACHE_MAX_STRING] = '\0'; /* exactly at the bound: stored */
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, entries, 6, NULL, 0), 2);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), 2);

    /* more entries than a file holds: the bound, lowest offsets first */
    size_t count = SYMBOL_CACHE_MAX_ENTRIES + 100;
    struct symbol_cache_entry *lots = xcalloc(count, sizeof *lots);
    for (size_t i = 0; i < count; i++)
        lots[i] = (struct symbol_cache_entry){count - i, frames_plain, 1};
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, lots, count, NULL, 0),
              SYMBOL_CACHE_MAX_ENTRIES);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), SYMBOL_CACHE_MAX_ENTRIES);
    CHECK(loaded.offsets[0] == 1);
    char *file = xasprintf("%s/%s.sym", dir, TEST_BUILD_ID);
    struct stat st;
    CHECK(stat(file, &st) == 0 && st.st_size <= SYMBOL_CACHE_MAX_FILE_BYTES);
    free(file);
    free(lots);
    free(name);
    free(loaded.text);
    free(dir);
}

/* Writes content (length bytes) as the test build-id's file, checks that a load ignores it
 * (returns -1, visits nothing), then that a save replaces it. */
static void check_ignored(const char *dir, const char *what, const void *content, size_t length)
{
    char *file = xasprintf("%s/%s.sym", dir, TEST_BUILD_ID);
    file_write(file, content, length);
    struct loaded loaded = {0};
    long result = load(dir, TEST_FINGERPRINT, &loaded);
    if (result != -1 || loaded.count != 0)
        printf("not ignored: %s\n", what);
    CHECK_INT(result, -1);
    CHECK_INT(loaded.count, 0);
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 2, NULL, 0),
              2);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), 2);
    free(loaded.text);
    free(file);
}

/* A valid file's bytes, with the header for build_id. */
static char *valid_file(const char *build_id, const char *entries_text)
{
    return xasprintf("stacktop-symbols 1\nbuild-id %s\nfingerprint %zu:%s\n%send\n", build_id,
                     strlen(TEST_FINGERPRINT), TEST_FINGERPRINT, entries_text);
}

static void test_hostile_files(void)
{
    char *dir = scratch_path("hostile");
    char *file = xasprintf("%s/%s.sym", dir, TEST_BUILD_ID);
    struct loaded loaded = {0};

    /* a valid file written by hand: the format is what the header documents */
    char *good = valid_file(TEST_BUILD_ID, "entries 2\n@10 2\n1 3 2:in 4:/a.h\n0 0 - -\n"
                                           "@ff 1\n0 12 3:a b 4:/b\nc\n");
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, NULL, 0, NULL, 0), 0);
    file_write(file, good, strlen(good));
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), 2);
    CHECK_STR(loaded.text,
              "10: [1 3 <in> </a.h>] [0 0 <(null)> <(null)>]\nff: [0 12 <a b> </b\nc>]\n");

    static const struct {
        const char *what;    /* the damage */
        const char *entries; /* the lines after the fingerprint */
    } damaged[] = {
        {"count larger than the entries", "entries 3\n@10 1\n0 1 - -\n"},
        {"count smaller than the entries", "entries 0\n@10 1\n0 1 - -\n"},
        {"absurd count", "entries 99999999999999999999\n"},
        {"count over the bound", "entries 131073\n"},
        {"negative count", "entries -1\n"},
        {"no frames", "entries 1\n@10 0\n"},
        {"too many frames", "entries 1\n@10 65\n0 1 - -\n"},
        {"offsets not increasing", "entries 2\n@10 1\n0 1 - -\n@10 1\n0 1 - -\n"},
        {"offsets decreasing", "entries 2\n@11 1\n0 1 - -\n@10 1\n0 1 - -\n"},
        {"offset too long", "entries 1\n@10000000000000000 1\n0 1 - -\n"},
        {"offset in capitals", "entries 1\n@AB 1\n0 1 - -\n"},
        {"offset with leading zeros", "entries 1\n@010 1\n0 1 - -\n"},
        {"length past the end", "entries 1\n@10 1\n0 1 99:abc -\n"},
        {"length over the bound", "entries 1\n@10 1\n0 1 4097:abc -\n"},
        {"length too short", "entries 1\n@10 1\n0 1 2:abc -\n"},
        {"length negative", "entries 1\n@10 1\n0 1 -3:abc -\n"},
        {"length huge", "entries 1\n@10 1\n0 1 18446744073709551617:abc -\n"},
        {"inline flag 2", "entries 1\n@10 1\n2 1 - -\n"},
        {"negative line", "entries 1\n@10 1\n0 -1 - -\n"},
        {"line over INT_MAX", "entries 1\n@10 1\n0 2147483648 - -\n"},
        {"missing file", "entries 1\n@10 1\n0 1 -\n"},
        {"CRLF", "entries 1\r\n@10 1\r\n0 1 - -\r\n"},
        {"trailing bytes after end", "entries 0\nend\nmore"},
    };
    for (size_t i = 0; i < sizeof damaged / sizeof damaged[0]; i++) {
        char *content = valid_file(TEST_BUILD_ID, damaged[i].entries);
        check_ignored(dir, damaged[i].what, content, strlen(content));
        free(content);
    }
    check_ignored(dir, "empty file", "", 0);
    check_ignored(dir, "another version", "stacktop-symbols 2\n", 19);
    char *other_id = valid_file("abcdef", "entries 0\n");
    check_ignored(dir, "another build-id in the header", other_id, strlen(other_id));
    free(other_id);
    char *longer_id = valid_file(TEST_BUILD_ID "00", "entries 0\n");
    check_ignored(dir, "a longer build-id in the header", longer_id, strlen(longer_id));
    free(longer_id);
    static const char with_nul[] =
        "stacktop-symbols 1\nbuild-id " TEST_BUILD_ID "\nfingerprint 26:" TEST_FINGERPRINT
        "\nentries 1\n@10 1\n0 1 3:a\0b -\nend\n";
    check_ignored(dir, "NUL byte in a string", with_nul, sizeof with_nul - 1);
    static const char nul_fingerprint[] =
        "stacktop-symbols 1\nbuild-id " TEST_BUILD_ID "\nfingerprint 27:" TEST_FINGERPRINT
        "\0\nentries 0\nend\n";
    check_ignored(dir, "NUL byte in the fingerprint", nul_fingerprint, sizeof nul_fingerprint - 1);

    /* every truncation of a valid file is ignored */
    size_t length = strlen(good);
    size_t truncations_ignored = 0;
    for (size_t cut = 0; cut < length; cut++) {
        file_write(file, good, cut);
        if (load(dir, TEST_FINGERPRINT, &loaded) == -1 && loaded.count == 0)
            truncations_ignored++;
    }
    CHECK_INT(truncations_ignored, length);

    /* random damage: never a crash or an overread (the sanitizer build checks), and what
     * a load returns is what it visited */
    srand(12345);
    char *mutated = xmalloc(length);
    size_t consistent = 0;
    for (int round = 0; round < MUTATION_ROUNDS; round++) {
        memcpy(mutated, good, length);
        int changes = 1 + rand() % 3;
        for (int c = 0; c < changes; c++)
            mutated[(size_t)rand() % length] = (char)(rand() % 256);
        file_write(file, mutated, length);
        long result = load(dir, TEST_FINGERPRINT, &loaded);
        if ((result == -1 && loaded.count == 0) || (result >= 0 && (size_t)result == loaded.count))
            consistent++;
    }
    CHECK_INT(consistent, MUTATION_ROUNDS);
    free(mutated);

    /* over the size bound (sparse): EFBIG, then replaced */
    sparse_file_create(file, SYMBOL_CACHE_MAX_FILE_BYTES + 1, 0);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);
    CHECK_INT(errno, EFBIG);
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 2, NULL, 0),
              2);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), 2);

    /* a symbolic link, even to a valid file: not followed; replaced, its target left alone */
    char *target = scratch_path("valid-target.sym");
    file_write(target, good, strlen(good));
    unlink(file);
    CHECK(symlink(target, file) == 0);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);
    CHECK_INT(errno, EPERM);
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 1, NULL, 0),
              1);
    struct stat st;
    CHECK(lstat(file, &st) == 0 && S_ISREG(st.st_mode));
    size_t target_length = 0;
    char *target_content = file_read(target, &target_length);
    CHECK(target_content != NULL && target_length == strlen(good) &&
          memcmp(target_content, good, target_length) == 0);
    free(target_content);
    free(target);

    /* a FIFO: refused at once, not waited on */
    unlink(file);
    CHECK(mkfifo(file, 0600) == 0);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);
    CHECK_INT(errno, EPERM);
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 1, NULL, 0),
              1);
    CHECK(lstat(file, &st) == 0 && S_ISREG(st.st_mode));

    /* a file others may write, or another user's: refused */
    file_write(file, good, strlen(good));
    chmod(file, 0620);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);
    CHECK_INT(errno, EPERM);
    chmod(file, 0600);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), 2);
    if (geteuid() == 0) {
        CHECK(chown(file, NOBODY_UID, NOBODY_UID) == 0);
        CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);
        CHECK_INT(errno, EPERM);
        CHECK_INT(
            symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 1, NULL, 0), 1);
        CHECK(stat(file, &st) == 0 && st.st_uid == 0);
    }
    CHECK_INT(count_entries(dir, true), 0);

    free(good);
    free(loaded.text);
    free(file);
    free(dir);
}

/* Directories that others could write to or redirect are never used. */
static void test_untrusted_directories(void)
{
    char *dir = scratch_path("group-writable");
    struct loaded loaded = {0};
    CHECK(mkdir(dir, 0700) == 0 && chmod(dir, 0770) == 0);
    char err[ERR_LENGTH];
    CHECK_INT(
        symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 1, err, sizeof err),
        -1);
    CHECK_INT(errno, EPERM);
    CHECK(strstr(err, "others can write") != NULL);
    CHECK_INT(count_entries(dir, false), 0);
    /* a file put there by hand is not read either */
    chmod(dir, 0700);
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 1, NULL, 0),
              1);
    chmod(dir, 0770);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);
    CHECK_INT(errno, EPERM);
    chmod(dir, 0702);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);
    chmod(dir, 0700);
    CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), 1);

    if (geteuid() == 0) {
        /* another user's directory */
        CHECK(chown(dir, NOBODY_UID, NOBODY_UID) == 0);
        CHECK_INT(load(dir, TEST_FINGERPRINT, &loaded), -1);
        CHECK_INT(errno, EPERM);
        CHECK_INT(
            symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 1, NULL, 0),
            -1);
        CHECK(chown(dir, 0, 0) == 0);
        /* a symbolic link of another user's on the way */
        char *link = scratch_path("foreign-link");
        CHECK(symlink(dir, link) == 0 && lchown(link, NOBODY_UID, NOBODY_UID) == 0);
        CHECK_INT(load(link, TEST_FINGERPRINT, &loaded), -1);
        CHECK_INT(errno, EPERM);
        free(link);
        /* under a world-writable directory, a component of another user's */
        char *world = scratch_path("world"), *foreign = scratch_path("world/foreign");
        char *inside = scratch_path("world/foreign/symbols");
        CHECK(mkdir(world, 0700) == 0 && chmod(world, 01777) == 0);
        CHECK(mkdir(foreign, 0755) == 0 && mkdir(inside, 0700) == 0);
        CHECK(chown(foreign, NOBODY_UID, NOBODY_UID) == 0);
        CHECK_INT(
            symbol_cache_save(inside, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 1, NULL, 0),
            -1);
        CHECK_INT(errno, EPERM);
        CHECK_INT(count_entries(inside, false), 0);
        free(inside);
        free(foreign);
        free(world);
    }
    free(loaded.text);
    free(dir);
}

/* A save bounds the directory: stale temporary files and the least recently used files go. */
static void test_prune(void)
{
    char *dir = scratch_path("prune");
    mkdir(dir, 0700);
    char *oldest = xasprintf("%s/aaaa.sym", dir), *older = xasprintf("%s/bbbb.sym", dir);
    char *old = xasprintf("%s/cccc.sym", dir), *other = xasprintf("%s/notes.txt", dir);
    char *stale = xasprintf("%s/.aaaa.sym.abcdef", dir);
    char *fresh = xasprintf("%s/.bbbb.sym.ghijkl", dir);
    sparse_file_create(oldest, SPARSE_FILE_BYTES, -3 * DAY_SECS);
    sparse_file_create(older, SPARSE_FILE_BYTES, -2 * DAY_SECS);
    sparse_file_create(old, SPARSE_FILE_BYTES / 2, -1 * DAY_SECS);
    sparse_file_create(other, 4 * SPARSE_FILE_BYTES, -9 * DAY_SECS);
    sparse_file_create(stale, 10, -2 * 3600);
    sparse_file_create(fresh, 10, 0);
    CHECK_INT(symbol_cache_save(dir, TEST_BUILD_ID, TEST_FINGERPRINT, sample_entries, 2, NULL, 0),
              2);
    CHECK(!exists(oldest)); /* 75 MiB > 64 MiB: the least recently used goes */
    CHECK(exists(older));
    CHECK(exists(old));
    CHECK(exists(other)); /* other names are never touched */
    CHECK(!exists(stale));
    CHECK(exists(fresh)); /* maybe another process writing right now */
    free(fresh);
    free(stale);
    free(other);
    free(old);
    free(older);
    free(oldest);
    free(dir);
}

/* ---- through the symbolizer ---- */

/* Mappings of this process of a file whose name ends in ".debug" (libdw maps the debug files it
 * reads, or their copies in the debuginfo cache, until the symbolizer is freed). */
static int debug_file_mappings(void)
{
    char line[PATH_MAX + 128];
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL)
        return -1;
    int count = 0;
    while (fgets(line, sizeof line, maps) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        size_t length = strlen(line);
        if (length > 6 && strcmp(line + length - 6, ".debug") == 0)
            count++;
    }
    fclose(maps);
    return count;
}

/* PCs to resolve: functions of this test (an inline chain, a return address), a few of libc's,
 * and PROBES_PER_MAPPING addresses in this executable's and libc's code. */
static size_t probes_collect(struct probe *probes, const char *self_path)
{
    size_t count = 0;
    probes[count++] = (struct probe){(uint64_t)(uintptr_t)&symbol_cache_test_target, false};
    probes[count++] = (struct probe){outer_with_inline(), true};
    static const char *const libc_functions[] = {"getpid", "malloc", "pthread_mutex_lock", "printf",
                                                 "read"};
    for (size_t i = 0; i < sizeof libc_functions / sizeof libc_functions[0]; i++) {
        void *address = dlsym(RTLD_DEFAULT, libc_functions[i]);
        if (address != NULL) {
            probes[count++] = (struct probe){(uint64_t)(uintptr_t)address, false};
            probes[count++] = (struct probe){(uint64_t)(uintptr_t)address + 5, true};
        }
    }
    char line[PATH_MAX + 128];
    FILE *maps = fopen("/proc/self/maps", "re");
    while (maps != NULL && fgets(line, sizeof line, maps) != NULL) {
        unsigned long long start, end;
        char permissions[8];
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "%llx-%llx %7s", &start, &end, permissions) != 3 || permissions[2] != 'x')
            continue;
        if (strstr(line, self_path) == NULL && strstr(line, "/libc.so") == NULL)
            continue;
        uint64_t step = (end - start) / PROBES_PER_MAPPING + 1;
        for (uint64_t pc = start; pc < end && count + 2 <= MAX_PCS; pc += step) {
            probes[count++] = (struct probe){pc, false};
            probes[count++] = (struct probe){pc, true};
        }
    }
    if (maps != NULL)
        fclose(maps);
    return count;
}

/* Resolves every probe of pid with symbolizer and returns all frames as text (malloc'd). */
static char *resolve_all(struct symbolizer *symbolizer, pid_t pid, const struct probe *probes,
                         size_t count)
{
    struct loaded text = {0};
    for (size_t i = 0; i < count; i++) {
        struct capture_frame frames[MAX_FRAMES];
        size_t got = symbolizer_resolve(symbolizer, pid, probes[i].pc, probes[i].is_return_address,
                                        frames, MAX_FRAMES);
        struct symbol_cache_frame stored[MAX_FRAMES];
        for (size_t f = 0; f < got; f++)
            stored[f] = (struct symbol_cache_frame){frames[f].function, frames[f].file,
                                                    frames[f].line, frames[f].is_inline};
        struct symbol_cache_entry entry = {probes[i].pc, stored, got};
        entry_text(&text, &entry);
        /* what depends on the process, filled at each call */
        char *module =
            xasprintf("  %s+%llx\n", got > 0 && frames[0].module ? frames[0].module : "?",
                      got > 0 ? (unsigned long long)frames[0].module_offset : 0ULL);
        xgrow((void **)&text.text, &text.text_capacity, text.text_length + strlen(module) + 1, 1);
        memcpy(text.text + text.text_length, module, strlen(module) + 1);
        text.text_length += strlen(module);
        free(module);
    }
    return text.text ? text.text : xstrdup("");
}

/* Prints where two texts first differ. */
static void print_difference(const char *a, const char *b)
{
    size_t i = 0;
    while (a[i] != '\0' && a[i] == b[i])
        i++;
    size_t start = i > 80 ? i - 80 : 0;
    printf("texts differ at byte %zu:\n--- first\n%.160s\n--- second\n%.160s\n", i, a + start,
           b + start);
}

/* The build-id of the ELF file at path in lowercase hex (into hex, 2*64+1 bytes), or "". */
static void build_id_hex(const char *path, char *hex)
{
    hex[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    const void *note = NULL;
    ssize_t length = elf ? dwelf_elf_gnu_build_id(elf, &note) : -1;
    for (ssize_t i = 0; i < length && i < 64; i++)
        sprintf(hex + 2 * i, "%02x", ((const unsigned char *)note)[i]);
    elf_end(elf);
    close(fd);
}

/* A symbolizer made with STACKTOP_CACHE_DIR=cache_dir (NULL: unset, "" disabled). */
static struct symbolizer *symbolizer_with_cache(const char *cache_dir)
{
    setenv("STACKTOP_CACHE_DIR", cache_dir, 1);
    struct symbolizer *symbolizer = symbolizer_new();
    return symbolizer;
}

static void test_symbolizer_end_to_end(const char *self_path)
{
    char *cache = scratch_path("e2e"), *symbols_dir = scratch_path("e2e/symbols");
    struct probe *probes = xcalloc(MAX_PCS, sizeof *probes);
    size_t probe_count = probes_collect(probes, self_path);
    struct symbolizer_stats stats;
    char err[ERR_LENGTH];
    printf("end to end: %zu PCs\n", probe_count);
    CHECK(probe_count > 2 * PROBES_PER_MAPPING);

    /* first run: everything through libdw, written at the end */
    struct symbolizer *first = symbolizer_with_cache(cache);
    CHECK_INT(symbolizer_load_process(first, getpid(), err, sizeof err), 0);
    char *first_text = resolve_all(first, getpid(), probes, probe_count);
    symbolizer_get_stats(first, &stats);
    int first_debug_mappings = debug_file_mappings();
    printf("first run: lookups %llu, DWARF lookups %llu, disk hits %llu, modules %zu, debug "
           "files mapped %d\n",
           (unsigned long long)stats.lookups, (unsigned long long)stats.dwarf_lookups,
           (unsigned long long)stats.disk_hits, stats.modules, first_debug_mappings);
    CHECK(stats.dwarf_lookups > 0);
    CHECK(stats.disk_hits == 0 && stats.disk_results == 0);
    CHECK(stats.modules >= 2);
    uint64_t first_dwarf_lookups = stats.dwarf_lookups;
    CHECK(!exists(symbols_dir)); /* written at the end only */
    symbolizer_free(first);
    char self_id[130], self_file[PATH_MAX];
    build_id_hex(self_path, self_id);
    snprintf(self_file, sizeof self_file, "%s/%s.sym", symbols_dir, self_id);
    CHECK(self_id[0] != '\0' && exists(self_file));
    CHECK(count_entries(symbols_dir, false) >= 2); /* this executable and libc at least */
    CHECK_INT(count_entries(symbols_dir, true), 0);
    struct stat self_before;
    CHECK(stat(self_file, &self_before) == 0);

    /* second run: the same answers, all from the files: no DWARF, no debug file */
    struct symbolizer *second = symbolizer_with_cache(cache);
    CHECK_INT(symbolizer_load_process(second, getpid(), err, sizeof err), 0);
    char *second_text = resolve_all(second, getpid(), probes, probe_count);
    symbolizer_get_stats(second, &stats);
    printf("second run: lookups %llu, DWARF lookups %llu, disk hits %llu, results read %llu, "
           "modules %zu, debug files mapped %d\n",
           (unsigned long long)stats.lookups, (unsigned long long)stats.dwarf_lookups,
           (unsigned long long)stats.disk_hits, (unsigned long long)stats.disk_results,
           stats.modules, debug_file_mappings());
    CHECK_STR(second_text, first_text);
    if (strcmp(second_text, first_text) != 0)
        print_difference(first_text, second_text);
    CHECK_INT(stats.dwarf_lookups, 0);
    CHECK_INT(stats.modules, 0);
    CHECK(stats.disk_hits > 0 && stats.disk_hits == stats.cache_hits);
    CHECK_INT(stats.disk_results, first_dwarf_lookups);
    CHECK_INT(debug_file_mappings(), 0);

    /* a new address (none of the probes): resolved, then added to the file */
    uint64_t new_pc = (uint64_t)(uintptr_t)&test_prune;
    for (bool seen = true; seen;) {
        new_pc++;
        seen = false;
        for (size_t i = 0; i < probe_count; i++)
            if (probes[i].pc - (probes[i].is_return_address ? 1 : 0) == new_pc)
                seen = true;
    }
    struct capture_frame frame;
    symbolizer_resolve(second, getpid(), new_pc, false, &frame, 1);
    symbolizer_get_stats(second, &stats);
    CHECK_INT(stats.dwarf_lookups, 1);
    CHECK_STR(frame.function, "test_prune");
    symbolizer_free(second);
    struct stat self_after;
    CHECK(stat(self_file, &self_after) == 0 && self_after.st_ino != self_before.st_ino);

    struct symbolizer *third = symbolizer_with_cache(cache);
    symbolizer_resolve(third, getpid(), new_pc, false, &frame, 1);
    symbolizer_get_stats(third, &stats);
    CHECK_STR(frame.function, "test_prune");
    CHECK_INT(stats.dwarf_lookups, 0);
    CHECK_INT(stats.disk_hits, 1);
    symbolizer_free(third); /* nothing new: the file is not rewritten */
    struct stat self_unchanged;
    CHECK(stat(self_file, &self_unchanged) == 0 && self_unchanged.st_ino == self_after.st_ino);

    /* disabled: the same answers through libdw, nothing read or written */
    struct symbolizer *disabled = symbolizer_with_cache("");
    char *disabled_text = resolve_all(disabled, getpid(), probes, probe_count);
    symbolizer_get_stats(disabled, &stats);
    CHECK_STR(disabled_text, first_text);
    CHECK_INT(stats.dwarf_lookups, first_dwarf_lookups);
    CHECK_INT(stats.disk_hits, 0);
    symbolizer_free(disabled);
    CHECK(stat(self_file, &self_unchanged) == 0 && self_unchanged.st_ino == self_after.st_ino);

    /* a file computed from something else (another fingerprint) is not used, and replaced */
    static const struct symbol_cache_frame wrong[] = {{"wrong_answer", "/wrong.c", 1, false}};
    struct symbol_cache_entry wrong_entry = {(uint64_t)(uintptr_t)&symbol_cache_test_target -
                                                 mapping_base(getpid(), self_path),
                                             wrong, 1};
    CHECK_INT(symbol_cache_save(symbols_dir, self_id, "another machine", &wrong_entry, 1, NULL, 0),
              1);
    struct symbolizer *stale = symbolizer_with_cache(cache);
    symbolizer_resolve(stale, getpid(), probes[0].pc, false, &frame, 1);
    symbolizer_get_stats(stale, &stats);
    CHECK_STR(frame.function, "symbol_cache_test_target");
    CHECK_INT(stats.dwarf_lookups, 1);
    symbolizer_free(stale);
    struct loaded loaded = {0};
    CHECK_INT(
        symbol_cache_load(symbols_dir, self_id, "another machine", collect_entry, &loaded, NULL, 0),
        -1);
    CHECK_INT(errno, ESTALE);
    free(loaded.text);

    free(disabled_text);
    free(second_text);
    free(first_text);
    free(probes);
    free(symbols_dir);
    free(cache);
}

/* Runs command quietly; true when it succeeded. */
static bool run_quietly(const char *command)
{
    char quiet[PATH_MAX * 4 + 64];
    snprintf(quiet, sizeof quiet, "%s >/dev/null 2>&1", command);
    return system(quiet) == 0;
}

/* Resolves the child's copy of symbol_cache_test_target with a new symbolizer using cache_dir;
 * its frame as text (malloc'd), and its stats in *stats. *debug_mappings: debug files mapped
 * before the symbolizer was freed. */
static char *resolve_in_child(const char *cache_dir, pid_t child, uint64_t pc,
                              struct symbolizer_stats *stats, int *debug_mappings)
{
    struct symbolizer *symbolizer = symbolizer_with_cache(cache_dir);
    struct probe probe = {pc, false};
    char *text = resolve_all(symbolizer, child, &probe, 1);
    symbolizer_get_stats(symbolizer, stats);
    *debug_mappings = debug_file_mappings();
    symbolizer_free(symbolizer);
    printf("split binary: %s", text);
    return text;
}

/* A binary whose DWARF is in a separate (compressed) debug file found by .gnu_debuglink: the
 * second symbolizer answers from the file without mapping the debug file; once the debug file
 * is gone, the answers are those of a symbolizer without the cache (no file, no line), not
 * the stale ones. The binary is a stripped copy of this test, run with --block. */
static void test_debug_file_removed(const char *self_path)
{
    char *directory = scratch_path("split"), *cache = scratch_path("split-cache");
    char *binary = scratch_path("split/split_binary"), *debug = scratch_path("split/split.debug");
    char command[PATH_MAX * 4];
    mkdir(directory, 0700);
    snprintf(command, sizeof command,
             "objcopy --only-keep-debug --compress-debug-sections=zlib-gabi '%s' '%s' && "
             "objcopy --strip-debug --add-gnu-debuglink='%s' '%s' '%s'",
             self_path, debug, debug, self_path, binary);
    if (!run_quietly(command)) {
        printf("skip: objcopy could not split the debug info\n");
        goto free_paths;
    }
    pid_t child = fork();
    if (child == 0) {
        execl(binary, binary, "--block", (char *)NULL);
        _exit(127);
    }
    if (child < 0)
        goto free_paths;
    uint64_t child_base = 0;
    for (int tries = 0; tries < 200 && child_base == 0; tries++) {
        struct timespec pause_time = {0, 10 * 1000 * 1000};
        nanosleep(&pause_time, NULL);
        child_base = mapping_base(child, binary);
    }
    uint64_t self_base = mapping_base(getpid(), self_path);
    CHECK(child_base != 0 && self_base != 0);
    if (child_base != 0 && self_base != 0) {
        uint64_t pc = child_base + ((uint64_t)(uintptr_t)&symbol_cache_test_target - self_base);
        struct symbolizer_stats stats;
        int mappings;
        char *with_debug = resolve_in_child(cache, child, pc, &stats, &mappings);
        CHECK(strstr(with_debug, "<symbol_cache_test_target> <") != NULL);
        CHECK(strstr(with_debug, "test_symbol_cache.c>") != NULL);
        CHECK_INT(stats.dwarf_lookups, 1);
        CHECK_INT(mappings, 1); /* the debug file's uncompressed copy */

        char *from_file = resolve_in_child(cache, child, pc, &stats, &mappings);
        CHECK_STR(from_file, with_debug);
        CHECK_INT(stats.dwarf_lookups, 0);
        CHECK_INT(stats.disk_hits, 1);
        CHECK_INT(mappings, 0);

        /* the debug file removed (a debug package uninstalled): the file is not used */
        unlink(debug);
        char *without_cache = resolve_in_child("", child, pc, &stats, &mappings);
        CHECK(strstr(without_cache, "<symbol_cache_test_target> <(null)>") != NULL);
        char *after_removal = resolve_in_child(cache, child, pc, &stats, &mappings);
        CHECK_STR(after_removal, without_cache);
        CHECK_INT(stats.dwarf_lookups, 1);
        CHECK_INT(stats.disk_hits, 0);
        free(after_removal);
        free(without_cache);
        free(from_file);
        free(with_debug);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
free_paths:
    free(debug);
    free(binary);
    free(cache);
    free(directory);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--block") == 0) { /* test_debug_file_removed's child */
        for (;;)
            pause();
    }
    elf_version(EV_CURRENT);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/test_symbol_cache.XXXXXX",
             tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char self_path[PATH_MAX];
    if (realpath("/proc/self/exe", self_path) == NULL) {
        perror("realpath /proc/self/exe");
        return 1;
    }
    unsetenv("XDG_CACHE_HOME");

    test_cache_dir_from_environment();
    test_round_trip();
    test_bounds();
    test_hostile_files();
    test_untrusted_directories();
    test_prune();
    test_symbolizer_end_to_end(self_path);
    test_debug_file_removed(self_path);

    unsetenv("STACKTOP_CACHE_DIR");
    remove_tree(scratch);
    CHECK(!exists(scratch));
    return CHECK_DONE();
}
