/*
 * store_profile: profile snapshots — the distinct stacks of a perf profile with their sample
 * counts (snapshot_stack_count) and the sampler's figures (snapshot_profile), written and
 * loaded back.
 *
 * Owns: nothing beyond one call. Its statements are prepared and finalized per call (a profile
 * is written once per run), so the store's statement tables do not grow.
 * Invariants:
 *   - frames and stacks are deduplicated by store_stacks.c (store_stacks_write_stack), exactly
 *     as for stack captures, so a profile and a capture of the same code share rows;
 *   - a profile is written in one transaction, or not at all; equal stacks given twice become
 *     one snapshot_stack_count row with the counts added;
 *   - whatever store_record_profile() accepts, store_load_profile() reads back (the writer
 *     refuses stacks beyond the reader's limits), and every value read may be hostile.
 */
#include <stdlib.h>
#include <string.h>

#include "store_private.h"
#include "xalloc.h"

/* Distinct stacks of one profile, at most (a bound for reading hostile files). */
#define STORE_READ_MAX_PROFILE_STACKS (1 << 22)

/* Finalizes a list of statements (NULL entries allowed). */
static void store_profile_finalize(sqlite3_stmt **stmts, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        sqlite3_finalize(stmts[i]);
        stmts[i] = NULL;
    }
}

/* Steps a statement that returns no rows and resets it. Returns 0, or -1 with err set. */
static int store_profile_exec(struct store *store, sqlite3_stmt *stmt, const char *what, char *err,
                              size_t errlen)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        store_sqlite_error(store, what, err, errlen);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Refuses what the writer cannot store or the reader would not read back. */
static int store_profile_check_input(struct store *store, const struct store_profile_info *info,
                                     const struct store_profile_stack *stacks, size_t count,
                                     char *err, size_t errlen)
{
    if (!info || (count > 0 && !stacks)) {
        store_error(err, errlen, "%s: no profile to record", store->name);
        return -1;
    }
    if (count > STORE_READ_MAX_PROFILE_STACKS) {
        store_error(err, errlen, "%s: %zu stacks are more than a profile holds (%d)", store->name,
                    count, STORE_READ_MAX_PROFILE_STACKS);
        return -1;
    }
    size_t frames = 0;
    for (size_t i = 0; i < count; i++) {
        const struct store_profile_stack *stack = &stacks[i];
        if (stack->frame_count == 0 || !stack->frames || stack->count == 0) {
            store_error(err, errlen, "%s: profile stack %zu has no frames or no samples",
                        store->name, i);
            return -1;
        }
        if (stack->frame_count > STORE_READ_MAX_DEPTH) {
            store_error(err, errlen, "%s: %zu frames are more than a stack holds (%d)", store->name,
                        stack->frame_count, STORE_READ_MAX_DEPTH);
            return -1;
        }
        if (stack->count > INT64_MAX) {
            store_error(err, errlen, "%s: profile stack %zu: count too large", store->name, i);
            return -1;
        }
        frames += stack->frame_count;
    }
    if (frames > STORE_READ_MAX_FRAMES_SUM) {
        store_error(err, errlen, "%s: %zu frames are more than a snapshot holds (%d)", store->name,
                    frames, STORE_READ_MAX_FRAMES_SUM);
        return -1;
    }
    return 0;
}

int64_t store_record_profile(struct store *store, const struct store_profile_info *info,
                             const struct store_profile_stack *stacks, size_t count, char *err,
                             size_t errlen)
{
    if (!store || store->read_only) {
        store_error(err, errlen, "%s: opened read-only, cannot record",
                    store ? store->name : "store");
        return -1;
    }
    if (store_profile_check_input(store, info, stacks, count, err, errlen) < 0)
        return -1;
    enum { INSERT_SNAPSHOT, INSERT_FIGURES, INSERT_COUNT, STATEMENT_COUNT };
    sqlite3_stmt *stmts[STATEMENT_COUNT] = {NULL};
    static const char *const sql[STATEMENT_COUNT] = {
        [INSERT_SNAPSHOT] =
            "INSERT INTO snapshot (session_id, kind, pid, comm, taken_us, duration_us,"
            " unwinder, consistent, thread_count, stop_max_ns, stop_p99_ns, stop_total_ns,"
            " stop_count, note) VALUES (?1, 'profile', ?2, ?3, ?4, ?5, 'libdw', 0, 0, 0, 0, 0,"
            " 0, '')",
        [INSERT_FIGURES] = "INSERT INTO snapshot_profile (snapshot_id, frequency_hz, samples,"
                           " lost, throttled) VALUES (?1, ?2, ?3, ?4, ?5)",
        [INSERT_COUNT] = "INSERT INTO snapshot_stack_count (snapshot_id, stack_id, count)"
                         " VALUES (?1, ?2, ?3) ON CONFLICT (snapshot_id, stack_id)"
                         " DO UPDATE SET count = count + excluded.count",
    };
    int64_t snapshot_id = -1;
    struct store_stacks_writer *writer = NULL;
    for (int i = 0; i < STATEMENT_COUNT; i++) {
        if (sqlite3_prepare_v2(store->db, sql[i], -1, &stmts[i], NULL) != SQLITE_OK) {
            store_sqlite_error(store, "cannot prepare the profile's statements", err, errlen);
            goto finalize_statements;
        }
    }
    if (store_exec(store, "BEGIN IMMEDIATE", "cannot start the profile's transaction", err,
                   errlen) < 0)
        goto finalize_statements;
    writer = store_stacks_writer_new();

    sqlite3_stmt *stmt = stmts[INSERT_SNAPSHOT];
    const char *comm = info->comm ? info->comm : "";
    sqlite3_bind_int64(stmt, 1, store->session_id);
    sqlite3_bind_int64(stmt, 2, info->pid);
    sqlite3_bind_text(stmt, 3, comm, (int)strnlen(comm, 63), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)info->started_us);
    sqlite3_bind_int64(stmt, 5, (sqlite3_int64)info->duration_us);
    if (store_profile_exec(store, stmt, "cannot write the profile", err, errlen) < 0)
        goto roll_back;
    int64_t id = sqlite3_last_insert_rowid(store->db);

    stmt = stmts[INSERT_FIGURES];
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, info->frequency_hz);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)info->samples);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)info->lost);
    sqlite3_bind_int64(stmt, 5, (sqlite3_int64)info->throttled);
    if (store_profile_exec(store, stmt, "cannot write the profile's figures", err, errlen) < 0)
        goto roll_back;

    stmt = stmts[INSERT_COUNT];
    for (size_t i = 0; i < count; i++) {
        int64_t stack_id = 0;
        if (store_stacks_write_stack(store, writer, stacks[i].frames, stacks[i].frame_count,
                                     &stack_id, err, errlen) < 0)
            goto roll_back;
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, stack_id);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)stacks[i].count);
        if (store_profile_exec(store, stmt, "cannot write a profile stack", err, errlen) < 0)
            goto roll_back;
    }
    if (store_exec(store, "COMMIT", "cannot commit the profile", err, errlen) < 0)
        goto roll_back;
    snapshot_id = id;
    goto free_writer;

roll_back:
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
free_writer:
    store_stacks_writer_free(writer);
finalize_statements:
    store_profile_finalize(stmts, STATEMENT_COUNT);
    return snapshot_id;
}

void store_profile_free(struct store_profile *profile)
{
    if (!profile)
        return;
    for (size_t i = 0; i < profile->stack_count; i++)
        free((struct capture_frame *)profile->stacks[i].frames);
    free(profile->stacks);
    memset(profile, 0, sizeof *profile);
}

/* Reads the snapshot row and figures of snapshot_id into out. Returns 0, or -1 with err set. */
static int store_profile_load_row(struct store *store, sqlite3_stmt *stmt, int64_t snapshot_id,
                                  struct store_profile *out, char *err, size_t errlen)
{
    sqlite3_bind_int64(stmt, 1, snapshot_id);
    int rc = sqlite3_step(stmt);
    int result = -1;
    if (rc == SQLITE_DONE) {
        store_error(err, errlen, "%s: no snapshot %lld", store->name, (long long)snapshot_id);
    } else if (rc != SQLITE_ROW) {
        store_sqlite_error(store, "cannot read a snapshot", err, errlen);
    } else {
        const char *kind = (const char *)sqlite3_column_text(stmt, 0);
        if (!kind || strcmp(kind, "profile") != 0) {
            store_error(err, errlen, "%s: snapshot %lld is not a profile", store->name,
                        (long long)snapshot_id);
        } else {
            const char *comm = (const char *)sqlite3_column_text(stmt, 2);
            size_t len = comm ? strnlen(comm, (size_t)sqlite3_column_bytes(stmt, 2)) : 0;
            if (len > sizeof out->comm_buffer - 1)
                len = sizeof out->comm_buffer - 1;
            if (len)
                memcpy(out->comm_buffer, comm, len);
            out->comm_buffer[len] = '\0';
            out->info.pid = (pid_t)sqlite3_column_int64(stmt, 1);
            out->info.comm = out->comm_buffer;
            out->info.started_us = (uint64_t)sqlite3_column_int64(stmt, 3);
            out->info.duration_us = (uint64_t)sqlite3_column_int64(stmt, 4);
            int64_t frequency = sqlite3_column_int64(stmt, 5);
            out->info.frequency_hz =
                frequency > 0 && frequency <= 1000000 ? (unsigned)frequency : 0;
            out->info.samples = (uint64_t)sqlite3_column_int64(stmt, 6);
            out->info.lost = (uint64_t)sqlite3_column_int64(stmt, 7);
            out->info.throttled = (uint64_t)sqlite3_column_int64(stmt, 8);
            result = 0;
        }
    }
    sqlite3_reset(stmt);
    return result;
}

/* Reads the counted stacks of the snapshot into out. Returns 0, or -1 with err set. */
static int store_profile_load_stacks(struct store *store, sqlite3_stmt *stmt,
                                     struct store_stacks_reader *reader, int64_t snapshot_id,
                                     struct store_profile *out, char *err, size_t errlen)
{
    size_t capacity = 0;
    int rc;
    sqlite3_bind_int64(stmt, 1, snapshot_id);
    sqlite3_bind_int(stmt, 2, STORE_READ_MAX_PROFILE_STACKS + 1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (out->stack_count >= STORE_READ_MAX_PROFILE_STACKS) {
            store_error(err, errlen, "%s: snapshot %lld holds more stacks than stacktop reads",
                        store->name, (long long)snapshot_id);
            goto fail;
        }
        int64_t count = sqlite3_column_int64(stmt, 1);
        if (count <= 0) {
            store_error(err, errlen, "%s: snapshot %lld: stack %lld has a count of %lld",
                        store->name, (long long)snapshot_id,
                        (long long)sqlite3_column_int64(stmt, 0), (long long)count);
            goto fail;
        }
        const struct capture_frame *frames = NULL;
        size_t depth = 0;
        if (store_stacks_reader_stack(store, reader, sqlite3_column_int64(stmt, 0), &frames, &depth,
                                      err, errlen) < 0)
            goto fail;
        xgrow((void **)&out->stacks, &capacity, out->stack_count + 1, sizeof *out->stacks);
        struct capture_frame *copy = xmalloc(depth * sizeof *copy);
        memcpy(copy, frames, depth * sizeof *copy);
        out->stacks[out->stack_count++] =
            (struct store_profile_stack){copy, depth, (uint64_t)count};
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a profile's stacks", err, errlen);
        return -1;
    }
    return 0;
fail:
    sqlite3_reset(stmt);
    return -1;
}

int store_load_profile(struct store *store, int64_t snapshot_id, struct store_profile *out,
                       struct store_strings **strings_out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    *strings_out = NULL;
    if (!store) {
        store_error(err, errlen, "store: no file");
        return -1;
    }
    if (store->schema_version < 3) {
        store_error(err, errlen,
                    "%s: no profile %lld (the file is of schema version %lld, which holds no "
                    "profiles)",
                    store->name, (long long)snapshot_id, (long long)store->schema_version);
        return -1;
    }
    enum { SELECT_SNAPSHOT, SELECT_STACKS, STATEMENT_COUNT };
    static const char *const sql[STATEMENT_COUNT] = {
        [SELECT_SNAPSHOT] = "SELECT s.kind, s.pid, s.comm, s.taken_us, s.duration_us,"
                            " p.frequency_hz, p.samples, p.lost, p.throttled FROM snapshot s"
                            " LEFT JOIN snapshot_profile p ON p.snapshot_id = s.id"
                            " WHERE s.id = ?1",
        [SELECT_STACKS] = "SELECT stack_id, count FROM snapshot_stack_count"
                          " WHERE snapshot_id = ?1 ORDER BY stack_id LIMIT ?2",
    };
    sqlite3_stmt *stmts[STATEMENT_COUNT] = {NULL};
    struct store_stacks_reader *reader = NULL;
    int result = -1;
    for (int i = 0; i < STATEMENT_COUNT; i++) {
        if (sqlite3_prepare_v2(store->db, sql[i], -1, &stmts[i], NULL) != SQLITE_OK) {
            store_sqlite_error(store, "cannot prepare the profile's statements", err, errlen);
            goto finalize_statements;
        }
    }
    if (store_profile_load_row(store, stmts[SELECT_SNAPSHOT], snapshot_id, out, err, errlen) < 0)
        goto finalize_statements;
    reader = store_stacks_reader_new(snapshot_id);
    if (store_profile_load_stacks(store, stmts[SELECT_STACKS], reader, snapshot_id, out, err,
                                  errlen) < 0)
        goto release_output;
    *strings_out = store_stacks_reader_take_strings(reader);
    result = 0;
    goto free_reader;

release_output:
    store_profile_free(out);
free_reader:
    store_stacks_reader_free(reader);
finalize_statements:
    store_profile_finalize(stmts, STATEMENT_COUNT);
    return result;
}
