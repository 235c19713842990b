/*
 * store_open: opening and closing session files, and the error and statement helpers the
 * other store modules share.
 *
 * Owns: the file's creation (0600, O_NOFOLLOW, regular files only, never clobbering a file
 * that is not ours), the connection's pragmas and limits, the journal mode life cycle
 * (WAL while recording; checkpoint and DELETE on close), struct store's allocation.
 * Invariants:
 *   - a file we created is removed again when opening it fails before the first session row;
 *   - an existing file is only written after store_schema_prepare_for_recording() accepted it;
 *   - every read-only connection is defensive, has trusted_schema=OFF and tight limits;
 *   - store_close() frees the handle whatever happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_private.h"
#include "xalloc.h"

/* The first 16 bytes of every SQLite 3 database. */
static const char store_sqlite_magic[16] = "SQLite format 3";

void store_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}

void store_sqlite_error(struct store *store, const char *what, char *err, size_t errlen)
{
    int code = sqlite3_errcode(store->db) & 0xff;
    if (code == SQLITE_CORRUPT)
        store_error(err, errlen, "%s: file is corrupt: %s", store->name, sqlite3_errmsg(store->db));
    else if (code == SQLITE_NOTADB)
        store_error(err, errlen, "%s: not a stacktop session file (not an SQLite database)",
                    store->name);
    else
        store_error(err, errlen, "%s: %s: %s", store->name, what, sqlite3_errmsg(store->db));
}

int store_prepare(struct store *store, sqlite3_stmt **slot, const char *sql, char *err,
                  size_t errlen)
{
    if (*slot)
        return 0;
    if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) !=
        SQLITE_OK) {
        store_sqlite_error(store, "cannot prepare a query", err, errlen);
        *slot = NULL;
        return -1;
    }
    return 0;
}

int store_step_done(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc;
}

int store_exec(struct store *store, const char *sql, const char *what, char *err, size_t errlen)
{
    if (sqlite3_exec(store->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        store_sqlite_error(store, what, err, errlen);
        return -1;
    }
    return 0;
}

/* Runs a pragma that returns one text row (journal_mode) and compares it. */
static int store_pragma_expect(struct store *store, const char *sql, const char *expected,
                               char *err, size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    int result = -1;
    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_ROW) {
        store_sqlite_error(store, sql, err, errlen);
        goto finalize_statement;
    }
    const char *value = (const char *)sqlite3_column_text(stmt, 0);
    if (!value || strcmp(value, expected) != 0) {
        store_error(err, errlen, "%s: %s gave '%s'", store->name, sql, value ? value : "");
        goto finalize_statement;
    }
    result = 0;
finalize_statement:
    sqlite3_finalize(stmt);
    return result;
}

static struct store *store_new(const char *path, bool read_only)
{
    struct store *store = xcalloc(1, sizeof *store);
    store->in_memory = strcmp(path, ":memory:") == 0;
    store->path = xstrdup(store->in_memory ? "" : path);
    store->name = xstrdup(store->in_memory ? "in-memory session" : path);
    store->read_only = read_only;
    return store;
}

/* Closes the connection (finalizing every statement) and frees the handle. */
static void store_free(struct store *store)
{
    store_record_free(store);
    store_read_free(store);
    store_stacks_free(store);
    if (store->db)
        sqlite3_close_v2(store->db);
    free(store->path);
    free(store->name);
    free(store);
}

/* Pragmas and configuration every connection gets. */
static int store_configure(struct store *store, char *err, size_t errlen)
{
    char cache[64];
    snprintf(cache, sizeof cache, "PRAGMA cache_size = -%d", STORE_CACHE_KIB);
    sqlite3_extended_result_codes(store->db, 1);
    sqlite3_busy_timeout(store->db, STORE_BUSY_TIMEOUT_MS);
    if (sqlite3_db_config(store->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) != SQLITE_OK ||
        sqlite3_db_config(store->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK) {
        store_sqlite_error(store, "cannot configure the connection", err, errlen);
        return -1;
    }
    if (store_exec(store, "PRAGMA trusted_schema = OFF", "cannot configure", err, errlen) < 0 ||
        store_exec(store, cache, "cannot configure", err, errlen) < 0)
        return -1;
    return 0;
}

/* Limits of a connection reading an untrusted file: no value, statement or expression big
 * enough to hurt, no ATTACH, no deep triggers. */
static void store_limit_untrusted(sqlite3 *db)
{
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, STORE_READ_MAX_VALUE_BYTES);
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 100000);
    sqlite3_limit(db, SQLITE_LIMIT_COLUMN, 200);
    sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, 100);
    sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, 10);
    sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, 8);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50);
    sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, 32);
    sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, 1);
}

/* Reads the first 16 bytes of fd; returns 1 if they are SQLite's magic, 0 if not (or if the
 * file is shorter), -1 on a read error. */
static int store_has_sqlite_magic(int fd)
{
    char header[16];
    ssize_t got = pread(fd, header, sizeof header, 0);
    if (got < 0)
        return -1;
    return got == (ssize_t)sizeof header && memcmp(header, store_sqlite_magic, 16) == 0;
}

static uint32_t store_big_endian(const unsigned char *bytes, int len)
{
    uint32_t value = 0;
    for (int i = 0; i < len; i++)
        value = value << 8 | bytes[i];
    return value;
}

/* Whether an existing SQLite file may be opened for writing, judged from its header alone so
 * that SQLite never touches (rolls back a journal of, checkpoints the WAL of) a database of
 * another application: ours (our application id), or possibly empty (id 0 and a single page;
 * store_schema_prepare_for_recording() then checks that it holds nothing). */
static bool store_header_may_be_ours(int fd, off_t size)
{
    unsigned char header[100];
    if (pread(fd, header, sizeof header, 0) != (ssize_t)sizeof header)
        return false;
    uint32_t application_id = store_big_endian(header + 68, 4);
    uint32_t page_size = store_big_endian(header + 16, 2);
    if (page_size == 1)
        page_size = 65536;
    if (application_id == STORE_APPLICATION_ID)
        return true;
    return application_id == 0 && size <= (off_t)page_size;
}

/* The file we are about to record into: created here (0600, no symlink) or an existing
 * regular file that is empty or an SQLite database. *created tells which. */
static int store_create_file(const char *path, bool *created, struct stat *identity, char *err,
                             size_t errlen)
{
    int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    struct stat st;
    *created = false;
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            store_error(err, errlen, "%s: is a symbolic link; refusing to record into it", path);
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            store_error(err, errlen, "%s: not a regular file; refusing to record into it", path);
            return -1;
        }
    }
    int fd = open(path, flags | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        *created = true;
    } else if (errno == EEXIST) {
        fd = open(path, flags);
    }
    if (fd < 0) {
        if (errno == ELOOP)
            store_error(err, errlen, "%s: is a symbolic link; refusing to record into it", path);
        else
            store_error(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    int result = -1;
    if (fstat(fd, identity) < 0) {
        store_error(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto close_fd;
    }
    if (!S_ISREG(identity->st_mode)) {
        store_error(err, errlen, "%s: not a regular file; refusing to record into it", path);
        goto close_fd;
    }
    if (identity->st_size > 0) {
        int magic = store_has_sqlite_magic(fd);
        if (magic < 0) {
            store_error(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            goto close_fd;
        }
        if (magic == 0) {
            store_error(err, errlen,
                        "%s: not a stacktop session file (not an SQLite database); refusing "
                        "to overwrite it",
                        path);
            goto close_fd;
        }
        if (!store_header_may_be_ours(fd, identity->st_size)) {
            store_error(err, errlen,
                        "%s: not a stacktop session file (an SQLite database of another "
                        "application); refusing to write into it",
                        path);
            goto close_fd;
        }
    }
    result = 0;
close_fd:
    close(fd);
    if (result < 0 && *created)
        unlink(path);
    return result;
}

/* Removes a file we created, with the journal files SQLite may have left next to it. */
static void store_remove_created(const char *path)
{
    static const char *const suffixes[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char *side = xasprintf("%s%s", path, suffixes[i]);
        unlink(side);
        free(side);
    }
    unlink(path);
}

struct store *store_open_for_recording(const char *path, const struct store_session_info *info,
                                       char *err, size_t errlen)
{
    if (!path || !info) {
        store_error(err, errlen, "store: no path or session info");
        return NULL;
    }
    struct store *store = store_new(path, false);
    bool created = false;
    struct stat identity;
    if (!store->in_memory && store_create_file(path, &created, &identity, err, errlen) < 0)
        goto free_store;

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
    if (sqlite3_open_v2(path, &store->db, flags, NULL) != SQLITE_OK) {
        if (store->db)
            store_sqlite_error(store, "cannot open", err, errlen);
        else
            store_error(err, errlen, "%s: cannot open: out of memory", store->name);
        goto remove_created;
    }
    if (!store->in_memory) {
        /* The path must still name the file we checked (no swap in between). */
        struct stat now;
        if (lstat(path, &now) < 0 || now.st_dev != identity.st_dev ||
            now.st_ino != identity.st_ino) {
            store_error(err, errlen, "%s: the file was replaced while opening it", path);
            goto remove_created;
        }
    }
    if (store_configure(store, err, errlen) < 0 ||
        store_schema_prepare_for_recording(store, err, errlen) < 0)
        goto remove_created;
    if (!store->in_memory) {
        /* WAL while recording: readers (stacktop open, the sqlite3 CLI) see committed ticks
         * and a commit costs no fsync with synchronous=NORMAL. A file system without shared
         * memory keeps the rollback journal; recording still works, only slower. */
        char ignored[128];
        store_pragma_expect(store, "PRAGMA journal_mode = WAL", "wal", ignored, sizeof ignored);
        if (store_exec(store, "PRAGMA synchronous = NORMAL", "cannot configure", err, errlen) < 0)
            goto remove_created;
    }
    if (store_record_begin_session(store, info, err, errlen) < 0)
        goto remove_created;
    return store;

remove_created:
    if (created) {
        store_record_free(store);
        store_read_free(store);
        store_stacks_free(store);
        sqlite3_close_v2(store->db);
        store->db = NULL;
        store_remove_created(path);
    }
free_store:
    store_free(store);
    return NULL;
}

struct store *store_open_readonly(const char *path, char *err, size_t errlen)
{
    if (!path) {
        store_error(err, errlen, "store: no path");
        return NULL;
    }
    struct store *store = store_new(path, true);
    if (!store->in_memory) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            store_error(err, errlen, "%s: cannot open: %s", path, strerror(errno));
            goto free_store;
        }
        struct stat st;
        int magic = 0;
        const char *problem = NULL;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
            problem = "not a regular file";
        else if (st.st_size == 0)
            problem = "not a stacktop session file (empty file)";
        else if ((magic = store_has_sqlite_magic(fd)) <= 0)
            problem = "not a stacktop session file (not an SQLite database)";
        close(fd);
        if (problem) {
            store_error(err, errlen, "%s: %s", path, problem);
            goto free_store;
        }
    }
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_EXRESCODE;
    if (sqlite3_open_v2(path, &store->db, flags, NULL) != SQLITE_OK) {
        if (store->db)
            store_sqlite_error(store, "cannot open", err, errlen);
        else
            store_error(err, errlen, "%s: cannot open: out of memory", store->name);
        goto free_store;
    }
    store_limit_untrusted(store->db);
    if (store_configure(store, err, errlen) < 0 ||
        store_exec(store, "PRAGMA cell_size_check = ON", "cannot configure", err, errlen) < 0 ||
        store_schema_verify_readonly(store, err, errlen) < 0)
        goto free_store;
    return store;

free_store:
    store_free(store);
    return NULL;
}

int store_close(struct store *store, char *err, size_t errlen)
{
    if (!store)
        return 0;
    int result = 0;
    if (!store->read_only && store_record_end_session(store, err, errlen) < 0)
        result = -1;
    store_record_free(store);
    store_read_free(store);
    store_stacks_free(store);
    if (!store->read_only && !store->in_memory) {
        /* Fold the WAL into the main file and leave WAL mode, so that the file is complete
         * on its own. With another connection open, this fails: the data is safe in the
         * -wal file and the next open folds it in. */
        char local[256];
        if (store_exec(store, "PRAGMA wal_checkpoint(TRUNCATE)", "cannot checkpoint", local,
                       sizeof local) < 0 ||
            store_pragma_expect(store, "PRAGMA journal_mode = DELETE", "delete", local,
                                sizeof local) < 0) {
            if (result == 0)
                store_error(err, errlen,
                            "%s (is another program reading the file? its -wal file holds "
                            "the rest of the session)",
                            local);
            result = -1;
        }
    }
    if (sqlite3_close(store->db) != SQLITE_OK) {
        if (result == 0)
            store_sqlite_error(store, "cannot close", err, errlen);
        result = -1;
        sqlite3_close_v2(store->db);
    }
    store->db = NULL;
    store_free(store);
    return result;
}

const char *store_path(const struct store *store)
{
    return store ? store->path : "";
}
