/*
 * store_test_util.h: helpers shared by the store's unit tests (test_store*.c): a scratch
 * directory, plain sqlite3 queries that look at a file behind the store's back, and a session
 * identity. Static inline so that each test includes only what it uses without warnings.
 */
#ifndef STACKTOP_STORE_TEST_UTIL_H
#define STACKTOP_STORE_TEST_UTIL_H

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "xalloc.h"

static char test_dir[64]; /* mkdtemp directory holding every file of this test */

static inline char *test_path(const char *name)
{
    return xasprintf("%s/%s", test_dir, name);
}

/* One integer from a query on path, through a plain read-only sqlite3 connection. */
static inline long long query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    long long value = -12345;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    else
        fprintf(stderr, "query_int(%s): %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

/* One text value from a query on path (static buffer; "(null)" for NULL, "(error)"). */
static inline const char *query_text(const char *path, const char *sql)
{
    static char value[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    snprintf(value, sizeof value, "(error)");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(stmt, 0);
        snprintf(value, sizeof value, "%s", text ? text : "(null)");
    } else {
        fprintf(stderr, "query_text(%s): %s\n", sql, sqlite3_errmsg(db));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

/* Runs statements on path through a plain read-write connection. */
static inline int exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "exec_sql: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Creates the scratch directory /tmp/NAME.XXXXXX into test_dir. Returns 0, or -1 (said). */
static inline int store_test_dir_create(const char *name)
{
    snprintf(test_dir, sizeof test_dir, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(test_dir)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

/* Removes the scratch directory; complains when a test left files in it. */
static inline void store_test_dir_remove(void)
{
    if (rmdir(test_dir) != 0)
        fprintf(stderr, "%s: %s (files left behind)\n", test_dir, strerror(errno));
}

/* A session identity for tests; command_line says which test recorded it. */
static inline struct store_session_info store_test_info(const char *command_line)
{
    struct store_session_info info = {
        .host = "testhost",
        .kernel = "6.1.0 #1 SMP",
        .boot_id = "0f5e3c1a-1111-2222-3333-444455556666",
        .command_line = command_line,
        .interval_seconds = 1.5,
        .clock_ticks = 100,
        .boot_time = 1700000000,
        .started_us = 1700000100000000ull,
    };
    return info;
}

#endif
