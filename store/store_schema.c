/*
 * store_schema: the schema of a session file, as an ordered list of migration steps, and the
 * checks that tell a stacktop file from anything else.
 *
 * Owns: store_migrations[] (step N takes a file from user_version N to N+1), the expected
 * tables and columns of the current version, and the classification of a file opened for
 * recording (fresh, ours and current, ours and older, ours and newer, foreign).
 * Invariants:
 *   - store_migrations has exactly STORE_SCHEMA_VERSION entries (checked at compile time);
 *     adding version N = appending one entry, bumping STORE_SCHEMA_VERSION, adding the
 *     tables and columns of N to store_expected_tables (with since_version N: files of older
 *     versions are checked against their own tables only) and updating docs/SCHEMA.md;
 *   - migrations run in one transaction together with the user_version update, so a file is
 *     never left half-migrated;
 *   - every migration also sets PRAGMA application_id: a file with our id and no tables cannot
 *     exist;
 *   - nothing here writes to a file that is not already a stacktop file or empty.
 */
#include <stdio.h>
#include <string.h>

#include "store_private.h"

/* One step of the migration path. */
struct store_migration {
    int from_version; /* user_version this step applies to; it leaves from_version + 1 */
    const char *sql;  /* statements to run, separated by semicolons */
};

/* Version 0 -> 1: the whole schema of version 1 (an empty file is version 0). The views are
 * for people using the sqlite3 CLI; the C code never reads them. process_samples_full finds the
 * newest sample at or before a tick as store_read.c does: one of the last sample_index_interval
 * ticks, or else the one sample_index names at the process's index tick (docs/SCHEMA.md). */
static const char store_schema_v1[] =
    "CREATE TABLE session (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  host TEXT NOT NULL,\n"
    "  kernel TEXT NOT NULL,\n"
    "  boot_id TEXT NOT NULL,\n"
    "  command_line TEXT NOT NULL,\n"
    "  interval_seconds REAL NOT NULL,\n"
    "  clock_ticks INTEGER NOT NULL,\n"
    "  boot_time INTEGER NOT NULL,\n"
    "  started_us INTEGER NOT NULL,\n"
    "  ended_us INTEGER,\n"
    "  sample_index_interval INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE tick (\n"
    "  session_id INTEGER NOT NULL REFERENCES session(id),\n"
    "  tick INTEGER NOT NULL,\n"
    "  timestamp_us INTEGER NOT NULL,\n"
    "  uptime_seconds REAL NOT NULL,\n"
    "  load1 REAL NOT NULL,\n"
    "  load5 REAL NOT NULL,\n"
    "  load15 REAL NOT NULL,\n"
    "  cpu_count INTEGER NOT NULL,\n"
    "  cpu_user INTEGER NOT NULL,\n"
    "  cpu_nice INTEGER NOT NULL,\n"
    "  cpu_system INTEGER NOT NULL,\n"
    "  cpu_idle INTEGER NOT NULL,\n"
    "  cpu_iowait INTEGER NOT NULL,\n"
    "  cpu_irq INTEGER NOT NULL,\n"
    "  cpu_softirq INTEGER NOT NULL,\n"
    "  cpu_steal INTEGER NOT NULL,\n"
    "  mem_total_bytes INTEGER NOT NULL,\n"
    "  mem_free_bytes INTEGER NOT NULL,\n"
    "  mem_available_bytes INTEGER NOT NULL,\n"
    "  mem_buffers_bytes INTEGER NOT NULL,\n"
    "  mem_cached_bytes INTEGER NOT NULL,\n"
    "  mem_shared_bytes INTEGER NOT NULL,\n"
    "  mem_used_bytes INTEGER NOT NULL,\n"
    "  swap_total_bytes INTEGER NOT NULL,\n"
    "  swap_free_bytes INTEGER NOT NULL,\n"
    "  tasks_total INTEGER NOT NULL,\n"
    "  tasks_running INTEGER NOT NULL,\n"
    "  threads_total INTEGER NOT NULL,\n"
    "  kernel_threads INTEGER NOT NULL,\n"
    "  PRIMARY KEY (session_id, tick)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE tick_cpu (\n"
    "  session_id INTEGER NOT NULL,\n"
    "  tick INTEGER NOT NULL,\n"
    "  cpu INTEGER NOT NULL,\n"
    "  user INTEGER NOT NULL,\n"
    "  nice INTEGER NOT NULL,\n"
    "  system INTEGER NOT NULL,\n"
    "  idle INTEGER NOT NULL,\n"
    "  iowait INTEGER NOT NULL,\n"
    "  irq INTEGER NOT NULL,\n"
    "  softirq INTEGER NOT NULL,\n"
    "  steal INTEGER NOT NULL,\n"
    "  PRIMARY KEY (session_id, tick, cpu),\n"
    "  FOREIGN KEY (session_id, tick) REFERENCES tick(session_id, tick)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE process (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  session_id INTEGER NOT NULL REFERENCES session(id),\n"
    "  pid INTEGER NOT NULL,\n"
    "  starttime_ticks INTEGER NOT NULL,\n"
    "  ppid INTEGER NOT NULL,\n"
    "  uid INTEGER NOT NULL,\n"
    "  user TEXT NOT NULL,\n"
    "  comm TEXT NOT NULL,\n"
    "  cmdline TEXT NOT NULL,\n"
    "  is_kernel_thread INTEGER NOT NULL,\n"
    "  first_tick INTEGER NOT NULL,\n"
    "  last_tick INTEGER\n"
    ");\n"
    "CREATE INDEX process_by_identity ON process(session_id, pid, "
    "starttime_ticks);\n"
    "CREATE TABLE process_sample (\n"
    "  session_id INTEGER NOT NULL,\n"
    "  tick INTEGER NOT NULL,\n"
    "  process_id INTEGER NOT NULL REFERENCES process(id),\n"
    "  state TEXT NOT NULL,\n"
    "  ppid INTEGER NOT NULL,\n"
    "  priority INTEGER NOT NULL,\n"
    "  nice INTEGER NOT NULL,\n"
    "  num_threads INTEGER NOT NULL,\n"
    "  vsize_bytes INTEGER NOT NULL,\n"
    "  rss_bytes INTEGER NOT NULL,\n"
    "  utime_ticks INTEGER NOT NULL,\n"
    "  stime_ticks INTEGER NOT NULL,\n"
    "  read_bytes INTEGER NOT NULL,\n"
    "  write_bytes INTEGER NOT NULL,\n"
    "  voluntary_ctxsw INTEGER NOT NULL,\n"
    "  involuntary_ctxsw INTEGER NOT NULL,\n"
    "  fd_count INTEGER NOT NULL,\n"
    "  processor INTEGER NOT NULL,\n"
    "  PRIMARY KEY (session_id, tick, process_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE sample_index (\n"
    "  session_id INTEGER NOT NULL,\n"
    "  tick INTEGER NOT NULL,\n"
    "  process_id INTEGER NOT NULL REFERENCES process(id),\n"
    "  sample_tick INTEGER NOT NULL,\n"
    "  PRIMARY KEY (session_id, tick, process_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE VIEW process_cpu_usage AS\n"
    "WITH per_process AS (\n"
    "  SELECT p.session_id, p.pid, p.starttime_ticks,\n"
    "         min(p.first_tick) AS first_tick, max(p.last_tick) AS "
    "last_tick,\n"
    "         max(p.id) AS newest_row,\n"
    "         max(s.utime_ticks + s.stime_ticks) - min(s.utime_ticks + "
    "s.stime_ticks)\n"
    "           AS cpu_ticks,\n"
    "         max(s.rss_bytes) AS peak_rss_bytes\n"
    "  FROM process_sample s CROSS JOIN process p ON p.id = s.process_id\n"
    "  GROUP BY p.session_id, p.pid, p.starttime_ticks)\n"
    "SELECT pp.session_id, pp.pid, pp.starttime_ticks, n.user, n.comm, "
    "n.cmdline,\n"
    "       CAST(pp.cpu_ticks AS REAL) / nullif(se.clock_ticks, 0) AS "
    "cpu_seconds,\n"
    "       pp.peak_rss_bytes, pp.first_tick, pp.last_tick\n"
    "FROM per_process pp JOIN process n ON n.id = pp.newest_row\n"
    "     JOIN session se ON se.id = pp.session_id;\n"
    "CREATE VIEW tick_summary AS\n"
    "SELECT session_id, tick, timestamp_us,\n"
    "       strftime('%Y-%m-%d %H:%M:%f', timestamp_us / 1000000.0, "
    "'unixepoch') AS time_utc,\n"
    "       load1, load5, load15, mem_total_bytes, mem_used_bytes,\n"
    "       round(100.0 * mem_used_bytes / nullif(mem_total_bytes, 0), 1) AS "
    "mem_used_percent,\n"
    "       swap_total_bytes - swap_free_bytes AS swap_used_bytes,\n"
    "       tasks_total, tasks_running, threads_total, kernel_threads, "
    "cpu_count,\n"
    "       round(100.0 * (busy - lag(busy) OVER w) / nullif(total - "
    "lag(total) OVER w, 0), 1)\n"
    "         AS cpu_percent\n"
    "FROM (SELECT *,\n"
    "             cpu_user + cpu_nice + cpu_system + cpu_irq + cpu_softirq + "
    "cpu_steal AS busy,\n"
    "             cpu_user + cpu_nice + cpu_system + cpu_idle + cpu_iowait + "
    "cpu_irq\n"
    "               + cpu_softirq + cpu_steal AS total\n"
    "      FROM tick)\n"
    "WINDOW w AS (PARTITION BY session_id ORDER BY tick);\n"
    "CREATE VIEW process_samples_full AS\n"
    "SELECT p.session_id, t.tick, t.timestamp_us, p.id AS process_id, "
    "p.pid,\n"
    "       p.starttime_ticks, p.uid, p.user, p.comm, p.cmdline, "
    "p.is_kernel_thread,\n"
    "       s.tick AS sample_tick, s.state, s.ppid, s.priority, s.nice, "
    "s.num_threads,\n"
    "       s.vsize_bytes, s.rss_bytes, s.utime_ticks, s.stime_ticks, "
    "s.read_bytes,\n"
    "       s.write_bytes, s.voluntary_ctxsw, s.involuntary_ctxsw, "
    "s.fd_count, s.processor\n"
    "FROM process p\n"
    "     JOIN session se ON se.id = p.session_id\n"
    "     JOIN tick t ON t.session_id = p.session_id AND t.tick >= "
    "p.first_tick\n"
    "          AND (p.last_tick IS NULL OR t.tick <= p.last_tick)\n"
    "     JOIN process_sample s ON s.session_id = p.session_id AND "
    "s.process_id = p.id\n"
    "          AND s.tick = coalesce(\n"
    "            (SELECT max(t2.tick) FROM tick t2 CROSS JOIN process_sample "
    "s2\n"
    "               ON s2.session_id = t2.session_id AND s2.tick = t2.tick\n"
    "              AND s2.process_id = p.id\n"
    "             WHERE t2.session_id = p.session_id\n"
    "               AND t2.tick > t.tick - se.sample_index_interval AND "
    "t2.tick <= t.tick),\n"
    "            (SELECT i.sample_tick FROM sample_index i\n"
    "             WHERE i.session_id = p.session_id AND i.process_id = p.id\n"
    "               AND i.tick = t.tick - ((t.tick - p.id) % "
    "se.sample_index_interval\n"
    "                                      + se.sample_index_interval)\n"
    "                                     % se.sample_index_interval));\n";

/* Version 1 -> 2: snapshots (stack captures now, perf profiles later). Additive: version 1
 * tables are untouched. Frames and stacks are shared by every snapshot of the file. Unknown
 * function, module and file names are stored as '' (not NULL) so that the UNIQUE constraint
 * of frame deduplicates them (NULLs are distinct in a UNIQUE index). stack.hash is a 64-bit
 * hash of the stack's frame ids that the writer probes linearly on collision (store_stacks.c):
 * readers never need it. Blobs are arrays of 8-byte little-endian unsigned integers. */
static const char store_schema_v2[] =
    "CREATE TABLE snapshot (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  session_id INTEGER NOT NULL REFERENCES session(id),\n"
    "  kind TEXT NOT NULL,\n"
    "  pid INTEGER NOT NULL,\n"
    "  comm TEXT NOT NULL,\n"
    "  taken_us INTEGER NOT NULL,\n"
    "  duration_us INTEGER NOT NULL,\n"
    "  unwinder TEXT NOT NULL,\n"
    "  consistent INTEGER NOT NULL,\n"
    "  thread_count INTEGER NOT NULL,\n"
    "  stop_max_ns INTEGER NOT NULL,\n"
    "  stop_p99_ns INTEGER NOT NULL,\n"
    "  stop_total_ns INTEGER NOT NULL,\n"
    "  stop_count INTEGER NOT NULL,\n"
    "  note TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX snapshot_by_session ON snapshot(session_id);\n"
    "CREATE TABLE frame (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  function TEXT NOT NULL,\n"
    "  module TEXT NOT NULL,\n"
    "  module_offset INTEGER NOT NULL,\n"
    "  file TEXT NOT NULL,\n"
    "  line INTEGER NOT NULL,\n"
    "  is_inline INTEGER NOT NULL,\n"
    "  UNIQUE (function, module, module_offset, file, line, is_inline)\n"
    ");\n"
    "CREATE TABLE stack (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  hash INTEGER NOT NULL UNIQUE,\n"
    "  depth INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE stack_frame (\n"
    "  stack_id INTEGER NOT NULL REFERENCES stack(id),\n"
    "  position INTEGER NOT NULL,\n"
    "  frame_id INTEGER NOT NULL REFERENCES frame(id),\n"
    "  PRIMARY KEY (stack_id, position)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE snapshot_thread (\n"
    "  snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),\n"
    "  position INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  state TEXT NOT NULL,\n"
    "  wchan TEXT NOT NULL,\n"
    "  syscall INTEGER NOT NULL,\n"
    "  syscall_args BLOB,\n"
    "  cpu_ticks INTEGER NOT NULL,\n"
    "  stop_ns INTEGER NOT NULL,\n"
    "  was_stopped INTEGER NOT NULL,\n"
    "  is_kernel_thread INTEGER NOT NULL,\n"
    "  error TEXT NOT NULL,\n"
    "  stack_id INTEGER REFERENCES stack(id),\n"
    "  pcs BLOB,\n"
    "  pc_is_return BLOB,\n"
    "  frame_pcs BLOB,\n"
    "  PRIMARY KEY (snapshot_id, position)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE snapshot_lock (\n"
    "  snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),\n"
    "  position INTEGER NOT NULL,\n"
    "  waiter INTEGER NOT NULL,\n"
    "  address INTEGER NOT NULL,\n"
    "  owner INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  PRIMARY KEY (snapshot_id, position)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE snapshot_deadlock (\n"
    "  snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),\n"
    "  cycle INTEGER NOT NULL,\n"
    "  position INTEGER NOT NULL,\n"
    "  tid INTEGER NOT NULL,\n"
    "  PRIMARY KEY (snapshot_id, cycle, position)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE snapshot_stack_count (\n"
    "  snapshot_id INTEGER NOT NULL REFERENCES snapshot(id),\n"
    "  stack_id INTEGER NOT NULL REFERENCES stack(id),\n"
    "  count INTEGER NOT NULL,\n"
    "  PRIMARY KEY (snapshot_id, stack_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE VIEW snapshot_threads_full AS\n"
    "SELECT t.snapshot_id, s.session_id, s.pid, s.comm, t.position, t.tid, t.name, t.state,\n"
    "       t.wchan, t.syscall, t.cpu_ticks, t.stop_ns, t.was_stopped, t.error, t.stack_id,\n"
    "       st.depth,\n"
    "       coalesce(nullif(f.function, ''),\n"
    "                nullif(f.module, '') || '+0x' || printf('%x', f.module_offset))\n"
    "         AS top_function,\n"
    "       nullif(f.module, '') AS top_module, nullif(f.file, '') AS top_file,\n"
    "       f.line AS top_line\n"
    "FROM snapshot_thread t JOIN snapshot s ON s.id = t.snapshot_id\n"
    "     LEFT JOIN stack st ON st.id = t.stack_id\n"
    "     LEFT JOIN stack_frame sf ON sf.stack_id = t.stack_id AND sf.position = 0\n"
    "     LEFT JOIN frame f ON f.id = sf.frame_id;\n"
    "CREATE VIEW snapshot_groups AS\n"
    "SELECT g.snapshot_id, s.kind, g.stack_id, g.count, st.depth,\n"
    "       coalesce(nullif(f.function, ''),\n"
    "                nullif(f.module, '') || '+0x' || printf('%x', f.module_offset))\n"
    "         AS top_function,\n"
    "       nullif(f.file, '') AS top_file, f.line AS top_line, g.tids\n"
    "FROM (SELECT snapshot_id, stack_id, count(*) AS count, group_concat(tid, ' ') AS tids\n"
    "      FROM snapshot_thread WHERE stack_id IS NOT NULL GROUP BY snapshot_id, stack_id\n"
    "      UNION ALL\n"
    "      SELECT snapshot_id, stack_id, count, NULL FROM snapshot_stack_count) g\n"
    "     JOIN snapshot s ON s.id = g.snapshot_id\n"
    "     LEFT JOIN stack st ON st.id = g.stack_id\n"
    "     LEFT JOIN stack_frame sf ON sf.stack_id = g.stack_id AND sf.position = 0\n"
    "     LEFT JOIN frame f ON f.id = sf.frame_id;\n";

/* Version 2 -> 3: perf profiles. Additive. A profile is a snapshot of kind 'profile' (pid,
 * comm, taken_us, duration_us in the snapshot row; thread_count = threads sampled at the end),
 * its sampled stacks with their counts in snapshot_stack_count (created by version 2), and
 * the sampler's figures in snapshot_profile. profile_hot_functions is for people. */
static const char store_schema_v3[] =
    "CREATE TABLE snapshot_profile (\n"
    "  snapshot_id INTEGER PRIMARY KEY REFERENCES snapshot(id),\n"
    "  frequency_hz INTEGER NOT NULL,\n"
    "  samples INTEGER NOT NULL,\n"
    "  lost INTEGER NOT NULL,\n"
    "  throttled INTEGER NOT NULL\n"
    ");\n"
    "CREATE VIEW profile_hot_functions AS\n"
    "SELECT c.snapshot_id,\n"
    "       coalesce(nullif(f.function, ''),\n"
    "                nullif(f.module, '') || '+0x' || printf('%x', f.module_offset))\n"
    "         AS function,\n"
    "       nullif(f.module, '') AS module, sum(c.count) AS self_samples,\n"
    "       round(100.0 * sum(c.count) / p.samples, 2) AS self_percent\n"
    "FROM snapshot_stack_count c\n"
    "     JOIN stack_frame sf ON sf.stack_id = c.stack_id AND sf.position = 0\n"
    "     JOIN frame f ON f.id = sf.frame_id\n"
    "     LEFT JOIN snapshot_profile p ON p.snapshot_id = c.snapshot_id\n"
    "GROUP BY c.snapshot_id, function, module;\n";

static const struct store_migration store_migrations[] = {
    {0, store_schema_v1},
    {1, store_schema_v2},
    {2, store_schema_v3},
};

_Static_assert(sizeof store_migrations / sizeof store_migrations[0] == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* A table the current version must have, with the columns the code reads or writes. */
struct store_expected_table {
    int since_version;   /* first schema version that has it (older files are not asked) */
    const char *name;    /* table name */
    const char *columns; /* column names, separated by single spaces */
};

static const struct store_expected_table store_expected_tables[] = {
    {1, "session",
     "id host kernel boot_id command_line interval_seconds clock_ticks boot_time "
     "started_us ended_us sample_index_interval"},
    {1, "tick",
     "session_id tick timestamp_us uptime_seconds load1 load5 load15 cpu_count cpu_user "
     "cpu_nice cpu_system cpu_idle cpu_iowait cpu_irq cpu_softirq cpu_steal "
     "mem_total_bytes mem_free_bytes mem_available_bytes mem_buffers_bytes "
     "mem_cached_bytes mem_shared_bytes mem_used_bytes swap_total_bytes swap_free_bytes "
     "tasks_total tasks_running threads_total kernel_threads"},
    {1, "tick_cpu", "session_id tick cpu user nice system idle iowait irq softirq steal"},
    {1, "process",
     "id session_id pid starttime_ticks ppid uid user comm cmdline is_kernel_thread "
     "first_tick last_tick"},
    {1, "process_sample",
     "session_id tick process_id state ppid priority nice num_threads "
     "vsize_bytes rss_bytes utime_ticks stime_ticks read_bytes write_bytes "
     "voluntary_ctxsw involuntary_ctxsw fd_count processor"},
    {1, "sample_index", "session_id tick process_id sample_tick"},
    {2, "snapshot",
     "id session_id kind pid comm taken_us duration_us unwinder consistent "
     "thread_count stop_max_ns stop_p99_ns stop_total_ns stop_count note"},
    {2, "frame", "id function module module_offset file line is_inline"},
    {2, "stack", "id hash depth"},
    {2, "stack_frame", "stack_id position frame_id"},
    {2, "snapshot_thread",
     "snapshot_id position tid name state wchan syscall syscall_args "
     "cpu_ticks stop_ns was_stopped is_kernel_thread error stack_id pcs "
     "pc_is_return frame_pcs"},
    {2, "snapshot_lock", "snapshot_id position waiter address owner kind"},
    {2, "snapshot_deadlock", "snapshot_id cycle position tid"},
    {2, "snapshot_stack_count", "snapshot_id stack_id count"},
    {3, "snapshot_profile", "snapshot_id frequency_hz samples lost throttled"},
};

/* Runs a one-integer pragma or query. Returns 0, or -1 with err set. */
static int store_schema_query_int(struct store *store, const char *sql, int64_t *out, char *err,
                                  size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        store_sqlite_error(store, "cannot read the file", err, errlen);
        return -1;
    }
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        store_sqlite_error(store, "cannot read the file", err, errlen);
        sqlite3_finalize(stmt);
        return -1;
    }
    *out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return 0;
}

int store_schema_quick_check(struct store *store, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store->db, "PRAGMA quick_check(1)", -1, &stmt, NULL) != SQLITE_OK) {
        store_sqlite_error(store, "cannot check the file", err, errlen);
        return -1;
    }
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        store_sqlite_error(store, "cannot check the file", err, errlen);
        sqlite3_finalize(stmt);
        return -1;
    }
    const char *result = (const char *)sqlite3_column_text(stmt, 0);
    if (!result || strcmp(result, "ok") != 0) {
        store_error(err, errlen, "%s: file is corrupt: %.200s", store->name,
                    result ? result : "(no result)");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

/* Checks that every table of version (and older) exists as a table with every expected
 * column. */
static int store_schema_check_tables(struct store *store, int64_t version, char *err, size_t errlen)
{
    sqlite3_stmt *table_stmt = NULL, *column_stmt = NULL;
    int result = -1;
    if (sqlite3_prepare_v2(store->db,
                           "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                           -1, &table_stmt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(store->db, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
                           -1, &column_stmt, NULL) != SQLITE_OK) {
        store_sqlite_error(store, "cannot read the schema", err, errlen);
        goto finalize_statements;
    }
    for (size_t t = 0; t < sizeof store_expected_tables / sizeof store_expected_tables[0]; t++) {
        const struct store_expected_table *table = &store_expected_tables[t];
        if (table->since_version > version)
            continue;
        sqlite3_bind_text(table_stmt, 1, table->name, -1, SQLITE_STATIC);
        if (sqlite3_step(table_stmt) != SQLITE_ROW) {
            store_sqlite_error(store, "cannot read the schema", err, errlen);
            goto finalize_statements;
        }
        int64_t found = sqlite3_column_int64(table_stmt, 0);
        sqlite3_reset(table_stmt);
        if (found != 1) {
            store_error(err, errlen, "%s: not a stacktop session file (no table '%s')", store->name,
                        table->name);
            goto finalize_statements;
        }
        for (const char *column = table->columns; *column;) {
            size_t len = strcspn(column, " ");
            sqlite3_bind_text(column_stmt, 1, table->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(column_stmt, 2, column, (int)len, SQLITE_STATIC);
            if (sqlite3_step(column_stmt) != SQLITE_ROW) {
                store_sqlite_error(store, "cannot read the schema", err, errlen);
                goto finalize_statements;
            }
            found = sqlite3_column_int64(column_stmt, 0);
            sqlite3_reset(column_stmt);
            if (found != 1) {
                store_error(err, errlen,
                            "%s: not a stacktop session file (table '%s' has no column '%.*s')",
                            store->name, table->name, (int)len, column);
                goto finalize_statements;
            }
            column += len + (column[len] == ' ');
        }
    }
    result = 0;
finalize_statements:
    sqlite3_finalize(column_stmt);
    sqlite3_finalize(table_stmt);
    return result;
}

/* Refuses versions this build cannot handle. */
static int store_schema_check_version(struct store *store, int64_t version, int64_t oldest,
                                      char *err, size_t errlen)
{
    if (version > STORE_SCHEMA_VERSION) {
        store_error(err, errlen,
                    "%s: schema version %lld is newer than this stacktop supports (%d); "
                    "open it with a newer stacktop",
                    store->name, (long long)version, STORE_SCHEMA_VERSION);
        return -1;
    }
    if (version < oldest) {
        store_error(err, errlen,
                    "%s: schema version %lld is too old to read (this stacktop reads %d to %d)",
                    store->name, (long long)version, (int)oldest, STORE_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

/* Applies migration steps from version to STORE_SCHEMA_VERSION in one transaction. */
static int store_schema_migrate(struct store *store, int64_t version, char *err, size_t errlen)
{
    if (store_exec(store, "BEGIN IMMEDIATE", "cannot start the migration", err, errlen) < 0)
        return -1;
    for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
        const struct store_migration *step = &store_migrations[v];
        char what[96], set_version[96];
        snprintf(what, sizeof what, "cannot migrate schema version %lld to %lld", (long long)v,
                 (long long)v + 1);
        snprintf(set_version, sizeof set_version,
                 "PRAGMA user_version = %d; PRAGMA application_id = %d", step->from_version + 1,
                 STORE_APPLICATION_ID);
        if (step->from_version != v || store_exec(store, step->sql, what, err, errlen) < 0 ||
            store_exec(store, set_version, what, err, errlen) < 0)
            goto roll_back;
    }
    if (store_exec(store, "COMMIT", "cannot commit the migration", err, errlen) < 0)
        goto roll_back;
    return 0;
roll_back:
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int store_schema_prepare_for_recording(struct store *store, char *err, size_t errlen)
{
    int64_t application_id, version, objects;
    if (store_schema_query_int(store, "PRAGMA application_id", &application_id, err, errlen) < 0 ||
        store_schema_query_int(store, "PRAGMA user_version", &version, err, errlen) < 0 ||
        store_schema_query_int(store, "SELECT count(*) FROM sqlite_schema", &objects, err, errlen) <
            0)
        return -1;
    bool fresh = application_id == 0 && version == 0 && objects == 0;
    if (!fresh && application_id != STORE_APPLICATION_ID) {
        store_error(err, errlen,
                    "%s: not a stacktop session file (an SQLite database of another "
                    "application); refusing to write into it",
                    store->name);
        return -1;
    }
    if (!fresh) {
        if (store_schema_quick_check(store, err, errlen) < 0 ||
            store_schema_check_version(store, version, 0, err, errlen) < 0)
            return -1;
    }
    if (version < STORE_SCHEMA_VERSION && store_schema_migrate(store, version, err, errlen) < 0)
        return -1;
    if (store_schema_check_tables(store, STORE_SCHEMA_VERSION, err, errlen) < 0)
        return -1;
    store->schema_version = STORE_SCHEMA_VERSION;
    return 0;
}

int store_schema_verify_readonly(struct store *store, char *err, size_t errlen)
{
    int64_t application_id, version;
    if (store_schema_quick_check(store, err, errlen) < 0 ||
        store_schema_query_int(store, "PRAGMA application_id", &application_id, err, errlen) < 0 ||
        store_schema_query_int(store, "PRAGMA user_version", &version, err, errlen) < 0)
        return -1;
    if (application_id != STORE_APPLICATION_ID) {
        /* Name the first missing table when there is one: the more useful message. */
        if (store_schema_check_tables(store, STORE_SCHEMA_OLDEST_READABLE, err, errlen) < 0)
            return -1;
        store_error(err, errlen, "%s: not a stacktop session file (application id 0x%08llx)",
                    store->name, (unsigned long long)(uint32_t)application_id);
        return -1;
    }
    if (store_schema_check_version(store, version, STORE_SCHEMA_OLDEST_READABLE, err, errlen) < 0 ||
        store_schema_check_tables(store, version, err, errlen) < 0)
        return -1;
    store->schema_version = version;
    return 0;
}
