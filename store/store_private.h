/*
 * store_private: what the store's modules share and nobody else sees.
 *
 *   store_open.c    opening (file creation, pragmas, limits), closing, errors, statements;
 *   store_schema.c  the schema as a list of migration steps, the expected-schema check;
 *   store_record.c  recording ticks, the in-memory table of live processes;
 *   store_read.c    sessions, tick reconstruction, process history;
 *   store_stacks.c  snapshots: recording a capture, listing snapshots, loading one back;
 *                   the frame/stack deduplication and stack loading shared with profiles;
 *   store_profile.c profile snapshots: deduplicated sampled stacks with their counts.
 *
 * Invariants:
 *   - a recording handle owns exactly one session (session_id) and ticks 1..tick_count of it
 *     are committed; the live table mirrors, for every process row still open (last_tick
 *     NULL) in that session, its identity and the metrics of its newest process_sample row,
 *     unless resync_needed is set (then the live table is empty and the open rows are ended at
 *     tick_count before the next tick is written);
 *   - a read-only handle never writes and treats every value as hostile;
 *   - prepared statements are created once, on first use, and finalized by store_close().
 */
#ifndef STACKTOP_STORE_PRIVATE_H
#define STACKTOP_STORE_PRIVATE_H

#include <sqlite3.h>

#include "store.h"

/* PRAGMA application_id of every stacktop session file: "STKT". */
#define STORE_APPLICATION_ID 0x53544b54
/* Oldest schema version a read-only handle understands (newer ones are refused). */
#define STORE_SCHEMA_OLDEST_READABLE 1
/* sample_index_interval (K) of new sessions: every K ticks each live process gets a
 * sample_index row, so that finding its newest sample at or before any tick takes at most K
 * probes (see docs/SCHEMA.md). A power of two. */
#define STORE_SAMPLE_INDEX_INTERVAL 64
/* Largest K a reader accepts from a file (a larger or non-positive one reads as 1). */
#define STORE_READ_MAX_INDEX_INTERVAL 65536
/* Page cache of each connection, KiB (PRAGMA cache_size=-N). */
#define STORE_CACHE_KIB 512
/* How long a statement waits for another connection's lock, milliseconds. */
#define STORE_BUSY_TIMEOUT_MS 2000

/* Read-side bounds, so that a hostile file cannot make us allocate without limit. */
#define STORE_READ_MAX_VALUE_BYTES  (4 * 1024 * 1024) /* SQLITE_LIMIT_LENGTH when reading */
#define STORE_READ_MAX_SESSIONS     65536             /* sessions listed */
#define STORE_READ_MAX_SESSION_TEXT 4096              /* bytes kept of each session string */
#define STORE_READ_MAX_CPUS         65536             /* per-CPU rows of one tick */
#define STORE_READ_MAX_PROCESSES    (1 << 22)         /* processes of one tick (pid_max) */
#define STORE_READ_MAX_CMDLINE_SUM  (256u << 20)      /* cmdline bytes of one tick, total */
#define STORE_READ_MAX_SEGMENTS     65536             /* process rows of one (pid, starttime) */
#define STORE_READ_MAX_SNAPSHOTS    (1 << 20)         /* snapshots listed */
#define STORE_READ_MAX_THREADS      (1 << 22)         /* threads of one snapshot (pid_max) */
#define STORE_READ_MAX_DEPTH        4096              /* frames of one stack (inline expanded) */
#define STORE_READ_MAX_FRAMES_SUM   (1 << 22)         /* frames of one snapshot, all threads */
#define STORE_READ_MAX_LOCK_ROWS    (1 << 22)         /* lock waits, or deadlock entries */
/* Linear probes of the stack table on hash collisions before giving up (see store_stacks.c). */
#define STORE_STACK_MAX_PROBES 64

struct store_live_process;

/* Open-addressing hash of live processes keyed by (pid, starttime_ticks). */
struct store_live_table {
    struct store_live_process **slots; /* capacity slots, NULL = empty; linear probing */
    size_t capacity;                   /* power of two, 0 before the first insert */
    size_t count;                      /* occupied slots; at most capacity / 2 */
};

/* Statements of the recording path, prepared on first use. */
struct store_record_statements {
    sqlite3_stmt *begin;          /* BEGIN IMMEDIATE */
    sqlite3_stmt *commit;         /* COMMIT */
    sqlite3_stmt *rollback;       /* ROLLBACK */
    sqlite3_stmt *insert_tick;    /* one tick row */
    sqlite3_stmt *insert_cpu;     /* one tick_cpu row */
    sqlite3_stmt *insert_process; /* one process row (identity) */
    sqlite3_stmt *insert_sample;  /* one process_sample row (metrics) */
    sqlite3_stmt *insert_index;   /* one sample_index row */
    sqlite3_stmt *end_process;    /* set last_tick of one process row */
    sqlite3_stmt *end_all_open;   /* set last_tick of every open process row of the session */
};

/* Statements of the reading path, prepared on first use. */
struct store_read_statements {
    sqlite3_stmt *sessions;       /* all sessions with their tick counts */
    sqlite3_stmt *tick;           /* one tick row */
    sqlite3_stmt *tick_cpus;      /* tick_cpu rows of one tick */
    sqlite3_stmt *alive;          /* process rows alive at a tick */
    sqlite3_stmt *recent_samples; /* every sample of a session in a tick range */
    sqlite3_stmt *indexed_sample; /* the sample a sample_index row names */
    sqlite3_stmt *probe_back;     /* newest sample of a process in a tick range */
    sqlite3_stmt *segments;       /* process rows of one (pid, starttime) */
    sqlite3_stmt *window;         /* ticks of a range with the process's samples, if any */
};

/* Statements of snapshots (store_stacks.c), prepared on first use. */
struct store_stacks_statements {
    sqlite3_stmt *insert_snapshot;    /* one snapshot row */
    sqlite3_stmt *find_frame;         /* id of a frame by all its columns */
    sqlite3_stmt *insert_frame;       /* one frame row */
    sqlite3_stmt *find_stack;         /* id and depth of the stack with a hash */
    sqlite3_stmt *stack_frame_ids;    /* frame ids of a stack, in position order */
    sqlite3_stmt *insert_stack;       /* one stack row */
    sqlite3_stmt *insert_stack_frame; /* one stack_frame row */
    sqlite3_stmt *insert_thread;      /* one snapshot_thread row */
    sqlite3_stmt *insert_lock;        /* one snapshot_lock row */
    sqlite3_stmt *insert_deadlock;    /* one snapshot_deadlock row */
    sqlite3_stmt *snapshots;          /* snapshot rows of a session, or of all */
    sqlite3_stmt *snapshot;           /* one snapshot row */
    sqlite3_stmt *threads;            /* snapshot_thread rows of a snapshot */
    sqlite3_stmt *stack_frames;       /* the frames of one stack, with their columns */
    sqlite3_stmt *locks;              /* snapshot_lock rows of a snapshot */
    sqlite3_stmt *deadlocks;          /* snapshot_deadlock rows of a snapshot */
};

struct store {
    sqlite3 *db;                           /* the connection */
    char *path;                            /* file path as given; "" for ":memory:" */
    char *name;                            /* how errors name the file (path or "in-memory") */
    bool read_only;                        /* opened by store_open_readonly() */
    int64_t schema_version;                /* user_version after opening (1 = no snapshots) */
    bool in_memory;                        /* ":memory:": no file, no WAL */
    int64_t session_id;                    /* recording: our session row; read-only: 0 */
    int64_t index_interval;                /* recording: our session's sample_index_interval */
    uint64_t tick_count;                   /* recording: ticks committed in our session */
    bool resync_needed;                    /* a tick failed: live table dropped (see above) */
    struct store_live_table live;          /* recording: live processes */
    struct store_live_process **ended;     /* scratch list of processes ended this tick */
    size_t ended_capacity;                 /* allocated entries of ended */
    struct store_session *sessions;        /* sessions, loaded on first store_sessions() */
    int64_t *session_index_intervals;      /* sample_index_interval of each session */
    size_t session_count;                  /* entries in sessions */
    bool sessions_loaded;                  /* sessions is valid */
    struct store_record_statements write;  /* recording statements */
    struct store_read_statements read;     /* reading statements */
    struct store_stacks_statements stacks; /* snapshot statements */
};

/* store_open.c */

/* Formats a message into err (which may be NULL). */
void store_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepares sql into *slot unless already prepared. Returns 0, or -1 with err set. */
int store_prepare(struct store *store, sqlite3_stmt **slot, const char *sql, char *err,
                  size_t errlen);
/* Runs a prepared statement that returns no rows to completion and resets it. Returns the
 * sqlite result code (SQLITE_DONE on success). */
int store_step_done(sqlite3_stmt *stmt);
/* Runs sql (no rows expected). Returns 0, or -1 with err set ("<name>: <what>: <sqlite>"). */
int store_exec(struct store *store, const char *sql, const char *what, char *err, size_t errlen);
/* Message for a failed sqlite call: "<name>: <what>: <errmsg>", mapping corruption codes to
 * "file is corrupt". */
void store_sqlite_error(struct store *store, const char *what, char *err, size_t errlen);

/* store_schema.c */

/* Classifies a file opened for recording and brings it to STORE_SCHEMA_VERSION: a fresh
 * (empty) database is created through every migration, an older stacktop file is migrated,
 * anything else is refused. One transaction. Sets store->schema_version. Returns 0, or -1
 * with err set. */
int store_schema_prepare_for_recording(struct store *store, char *err, size_t errlen);
/* Checks a file opened read-only: quick_check, application id, version, tables and columns
 * (those of its own version: a version 1 file has no snapshot tables). Sets
 * store->schema_version. Returns 0, or -1 with err set. */
int store_schema_verify_readonly(struct store *store, char *err, size_t errlen);
/* PRAGMA quick_check. Returns 0, or -1 with err set ("file is corrupt: ..."). */
int store_schema_quick_check(struct store *store, char *err, size_t errlen);

/* store_record.c */

/* Inserts the session row of a new recording. Returns 0, or -1 with err set. */
int store_record_begin_session(struct store *store, const struct store_session_info *info,
                               char *err, size_t errlen);
/* Writes the end time and closes the open process rows. Returns 0, or -1 with err set. */
int store_record_end_session(struct store *store, char *err, size_t errlen);
/* Frees the live table and finalizes the recording statements. */
void store_record_free(struct store *store);

/* store_read.c */

/* Frees the session list and finalizes the reading statements. */
void store_read_free(struct store *store);

/* store_stacks.c */

/* Finalizes the snapshot statements. */
void store_stacks_free(struct store *store);

/* Frame and stack deduplication, shared by store_record_stacks() and store_record_profile():
 * the per-call tables of one writing transaction. */
struct store_stacks_writer;
struct store_stacks_writer *store_stacks_writer_new(void);
void store_stacks_writer_free(struct store_stacks_writer *writer);
/* The stack row of frames[0..count) (innermost first, count >= 1): an existing row with the
 * same frames, or new frame and stack rows. Call inside the caller's transaction. Returns 0,
 * or -1 with err set. */
int store_stacks_write_stack(struct store *store, struct store_stacks_writer *writer,
                             const struct capture_frame *frames, size_t count, int64_t *stack_id,
                             char *err, size_t errlen);

/* Loading stacks of a snapshot, shared by store_load_stacks() and store_load_profile(): each
 * stack row is read and checked once; its strings go to one arena. */
struct store_stacks_reader;
struct store_stacks_reader *store_stacks_reader_new(int64_t snapshot_id);
/* The frames of stack stack_id (owned by the reader; pcs are 0). Returns 0, or -1 with err set
 * ("snapshot 3: stack 7 names a missing frame"). */
int store_stacks_reader_stack(struct store *store, struct store_stacks_reader *reader,
                              int64_t stack_id, const struct capture_frame **frames, size_t *depth,
                              char *err, size_t errlen);
/* Hands the string arena over to the caller (the reader keeps none). */
struct store_strings *store_stacks_reader_take_strings(struct store_stacks_reader *reader);
void store_stacks_reader_free(struct store_stacks_reader *reader);

/* Copies a text column into a fixed buffer, truncating, stopping at an embedded NUL
 * (hostile files may hold any bytes). */
void store_column_copy(sqlite3_stmt *stmt, int column, char *dst, size_t size);

#endif
