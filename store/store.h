/*
 * store: the session database (SQLite). The only code in stacktop that includes sqlite3.h.
 *
 * A session file holds one recording session: its identity (host, kernel, boot id, command
 * line, refresh interval), each tick's system metrics, each process's identity once, and
 * per-tick process metrics written only when they changed, so that the full table of any tick
 * can be reconstructed exactly. It also holds snapshots: every stack capture of the session
 * (and, later, every perf profile), with frames and stacks deduplicated across snapshots and
 * processes, so that a snapshot reads back exactly as it was captured. See docs/SCHEMA.md.
 *
 * Invariants:
 *   - the schema version is PRAGMA user_version; older files are migrated on open for writing;
 *   - while recording the journal is WAL and each tick is one transaction; store_close()
 *     checkpoints and switches back to journal_mode=DELETE, leaving one self-contained file;
 *   - new files are created 0600 with O_NOFOLLOW; an existing symlink is refused;
 *   - files opened for reading are untrusted: defensive mode, trusted_schema=OFF,
 *     quick_check and an expected-schema check, each failure with a clear message.
 */
#ifndef STACKTOP_STORE_H
#define STACKTOP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "proctable.h"
#include "stacks.h"

#define STORE_SCHEMA_VERSION 3

/* Identity of a recording session, written once at open. */
struct store_session_info {
    const char *host;         /* nodename */
    const char *kernel;       /* uname release and version */
    const char *boot_id;      /* /proc/sys/kernel/random/boot_id */
    const char *command_line; /* stacktop's own argv, joined by spaces */
    double interval_seconds;  /* refresh delay */
    long clock_ticks;         /* sysconf(_SC_CLK_TCK), to turn tick counters into seconds */
    uint64_t boot_time;       /* boot time, Unix seconds */
    uint64_t started_us;      /* session start, Unix microseconds */
};

/* A session as read back from a file. Strings are owned by the store handle. */
struct store_session {
    int64_t id;               /* row id in the session table */
    const char *host;         /* nodename */
    const char *kernel;       /* kernel release and version */
    const char *boot_id;      /* boot id */
    const char *command_line; /* stacktop's argv */
    double interval_seconds;  /* refresh delay */
    long clock_ticks;         /* clock ticks per second on the recording machine */
    uint64_t started_us;      /* start, Unix microseconds */
    uint64_t ended_us;        /* end, Unix microseconds; 0 if the session did not close */
    uint64_t tick_count;      /* ticks recorded */
};

/* One process as reconstructed at a tick. */
struct store_process {
    pid_t pid;                   /* process id */
    uint64_t starttime_ticks;    /* start time, identity with pid */
    uid_t uid;                   /* owner uid */
    char user[PROC_USER_MAX];    /* owner name at recording time */
    char comm[PROC_COMM_MAX];    /* command name (raw) */
    char *cmdline;               /* command line (raw), owned by the containing store_tick */
    bool is_kernel_thread;       /* kernel thread */
    struct proc_metrics metrics; /* metrics in force at the tick */
};

/* Everything recorded for one tick, reconstructed. */
struct store_tick {
    uint64_t index;                  /* 1-based tick number within the session */
    struct system_metrics system;    /* system metrics (cpu arrays owned by this struct) */
    struct store_process *processes; /* processes alive at the tick, sorted by pid */
    size_t process_count;            /* entries in processes */
};

/* One point of a process's history: metrics in force at a tick. */
struct store_history_point {
    uint64_t tick;               /* tick number */
    uint64_t timestamp_us;       /* wall clock of the tick */
    struct proc_metrics metrics; /* metrics in force at that tick */
};

/* What a snapshot holds. */
enum store_snapshot_kind {
    STORE_SNAPSHOT_STACKS,  /* every thread's stack at one moment (store_record_stacks) */
    STORE_SNAPSHOT_PROFILE, /* perf samples: deduplicated stacks with counts (store_record_profile)
                             */
    STORE_SNAPSHOT_UNKNOWN, /* a kind this stacktop does not know (a newer or forged file) */
};

/* One snapshot as listed by store_snapshots(). */
struct store_snapshot {
    int64_t id;                    /* row id in the snapshot table: what `diff A B` names */
    int64_t session_id;            /* session it was taken in */
    enum store_snapshot_kind kind; /* stacks or profile */
    pid_t pid;                     /* process captured */
    char comm[64];                 /* its name (raw bytes, sanitize before display) */
    uint64_t taken_us;             /* wall clock at the start, Unix microseconds */
    uint64_t duration_us;          /* how long the capture (or profile) took, microseconds */
    size_t thread_count;           /* threads captured (as recorded; 0 for profiles) */
    char unwinder[16];             /* unwinder used: "libunwind", "libdw" or "default" */
    bool consistent;               /* all threads were stopped together */
    int64_t stop_max_ns;           /* longest single stop window */
    int64_t stop_p99_ns;           /* 99th percentile of the stop windows */
    int64_t stop_total_ns;         /* sum of the stop windows */
    char note[256];                /* whole-capture note ("" if none) */
};

/* Strings of a snapshot loaded by store_load_stacks(): the frames' function, module and file
 * names and the lock kinds, all in one arena. */
struct store_strings;

struct store;

/* Creates (or, if it exists and is a stacktop file, appends a new session to) path and starts
 * recording. path ":memory:" records in memory only. Returns NULL with err set on failure. */
struct store *store_open_for_recording(const char *path, const struct store_session_info *info,
                                       char *err, size_t errlen);

/* Opens an existing file read-only, defensively. NULL with err set ("not a stacktop session
 * file", "file is corrupt: ...", "schema version 7 is newer than this stacktop (1)"). */
struct store *store_open_readonly(const char *path, char *err, size_t errlen);

/* Records one tick: system metrics, identities of processes seen for the first time, and
 * metrics of processes whose metrics changed since they were last written. Thread rows are
 * ignored. Processes absent from this tick are marked ended. One transaction.
 * Returns 0, or -1 with err set. */
int store_record_tick(struct store *store, const struct system_metrics *system,
                      const struct proc_entry *const *entries, size_t count, char *err,
                      size_t errlen);

/* Ends the session (end time), checkpoints, returns to journal_mode=DELETE, closes.
 * Returns 0, or -1 with err set; the handle is freed either way. NULL is allowed. */
int store_close(struct store *store, char *err, size_t errlen);

/* Path of the file ("" for in-memory). */
const char *store_path(const struct store *store);

/* Sessions in the file (usually one), oldest first. Returns count; *out owned by the store. */
size_t store_sessions(struct store *store, const struct store_session **out);

/* Reconstructs tick index (1-based) of the session with id session_id (0 = the last session).
 * Returns 0, or -1 with err set. Free with store_tick_free(). */
int store_load_tick(struct store *store, int64_t session_id, uint64_t index, struct store_tick *out,
                    char *err, size_t errlen);
void store_tick_free(struct store_tick *tick);

/* History of one process in the current (or last) session: one point per tick from its first
 * to its last tick, at most max_points (the most recent ones). *out is malloc'ed; returns the
 * number of points, or -1 with err set. */
long store_process_history(struct store *store, pid_t pid, uint64_t starttime_ticks,
                           size_t max_points, struct store_history_point **out, char *err,
                           size_t errlen);

/* Records a stack capture (and its lock analysis, which may be NULL) as a snapshot of kind
 * "stacks" in the recording session, in one transaction: frames and whole stacks that are
 * already in the file (from any snapshot, any process) are reused, not written again. Works
 * on files and ":memory:"; not on a handle opened read-only. Returns the snapshot id (> 0), or
 * -1 with err set (nothing is written then). */
int64_t store_record_stacks(struct store *store, const struct capture_result *capture,
                            const struct stacks_lock_report *locks, char *err, size_t errlen);

/* Snapshots of session session_id (0 = of every session), oldest first. *out is malloc'ed
 * (NULL when there are none): free it with store_snapshots_free(). Returns the count; 0 also
 * on a read error and for files of schema version 1, which hold no snapshots. */
size_t store_snapshots(struct store *store, int64_t session_id, struct store_snapshot **out);
void store_snapshots_free(struct store_snapshot *snapshots);

/* Reconstructs the stacks snapshot snapshot_id exactly as store_record_stacks() got it: the
 * capture (threads in their order, with tid, name, state, wchan, syscall and its arguments,
 * cpu_ticks, raw pcs, stop_ns, was_stopped, error and symbolized frames with their pcs) and,
 * when locks_out is not NULL, its lock analysis. Unknown strings (a NULL function, module or
 * file) read back as NULL.
 * Ownership: out->threads and each thread's frames are malloc'ed, as capture_result_free()
 * expects; locks_out's arrays are malloc'ed as stacks_lock_report_free() expects. Every string
 * those point to lives in *strings_out, which must outlive them: free it with
 * store_strings_free() after capture_result_free() and stacks_lock_report_free().
 * Returns 0, or -1 with err set and *out, *locks_out zeroed, *strings_out NULL (a hostile or
 * damaged file gives an error such as "snapshot 3: stack 7 names a missing frame"). */
int store_load_stacks(struct store *store, int64_t snapshot_id, struct capture_result *out,
                      struct stacks_lock_report *locks_out, struct store_strings **strings_out,
                      char *err, size_t errlen);
void store_strings_free(struct store_strings *strings);

/* What a profile snapshot says about its sampling (the snapshot and snapshot_profile rows). */
struct store_profile_info {
    pid_t pid;             /* process sampled */
    const char *comm;      /* its name (raw bytes); NULL reads as "" */
    uint64_t started_us;   /* wall clock when sampling started, Unix microseconds */
    uint64_t duration_us;  /* how long it sampled, microseconds */
    unsigned frequency_hz; /* requested samples per second per thread (-F) */
    uint64_t samples;      /* samples received (the sum of the stacks' counts) */
    uint64_t lost;         /* samples the kernel dropped */
    uint64_t throttled;    /* throttle events */
};

/* One distinct sampled stack of a profile and how many samples had it. */
struct store_profile_stack {
    const struct capture_frame *frames; /* frames, innermost first (pc is not stored) */
    size_t frame_count;                 /* entries in frames, >= 1 */
    uint64_t count;                     /* samples with exactly this stack, >= 1 */
};

/* A profile snapshot as loaded by store_load_profile(). */
struct store_profile {
    struct store_profile_info info;     /* sampling figures (comm points into comm_buffer) */
    char comm_buffer[64];               /* the process name as stored */
    struct store_profile_stack *stacks; /* distinct stacks, by stack row id; malloc'ed */
    size_t stack_count;                 /* entries in stacks */
};

/* Records a profile as a snapshot of kind "profile" in the recording session, in one
 * transaction: the snapshot row, its figures (snapshot_profile) and one snapshot_stack_count
 * row per distinct stack, with frames and stacks deduplicated against everything in the file
 * (the same code as store_record_stacks()). Stacks with equal frames given twice are merged
 * (counts added). Returns the snapshot id (> 0), or -1 with err set (nothing written then). */
int64_t store_record_profile(struct store *store, const struct store_profile_info *info,
                             const struct store_profile_stack *stacks, size_t count, char *err,
                             size_t errlen);

/* Loads profile snapshot snapshot_id: figures and stacks with counts (frames pcs are 0;
 * unknown names read as NULL). out->stacks and each stack's frames are malloc'ed; every string
 * lives in *strings_out. Free with store_profile_free() then store_strings_free(). Returns 0,
 * or -1 with err set, *out zeroed and *strings_out NULL ("snapshot 3 is not a profile"). */
int store_load_profile(struct store *store, int64_t snapshot_id, struct store_profile *out,
                       struct store_strings **strings_out, char *err, size_t errlen);
void store_profile_free(struct store_profile *profile);

#endif
