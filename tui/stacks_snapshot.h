/*
 * stacks_snapshot: one stack capture with its analysis — the capture, its groups under the
 * current grouping, and the lock report — as used by `stacktop stacks` and the Stacks view.
 */
#ifndef STACKTOP_STACKS_SNAPSHOT_H
#define STACKTOP_STACKS_SNAPSHOT_H

#include "capture.h"
#include "stacks.h"
#include "options.h"
#include "store.h"

/* A capture and what was derived from it. */
struct stacks_snapshot {
    struct capture_result capture;   /* threads and frames */
    enum stacks_grouping grouping;   /* how groups were formed */
    struct stacks_group *groups;     /* groups, largest first */
    size_t group_count;              /* entries in groups */
    struct stacks_lock_report locks; /* lock owners and deadlock cycles */
    int64_t snapshot_id;             /* id in the session store; 0 when not stored */
};

/* Captures pid, groups and analyses locks. Returns 0, or -1 with err set (the capture's own
 * message: no such process, permission denied and what is missing, kernel thread). */
int stacks_snapshot_take(pid_t pid, const struct capture_options *options,
                         enum stacks_grouping grouping, struct stacks_snapshot *out, char *err,
                         size_t errlen);

/* Groups again under another grouping. */
void stacks_snapshot_regroup(struct stacks_snapshot *snapshot, enum stacks_grouping grouping);

/* Stores the snapshot in store (sets snapshot_id). Returns 0, or -1 with err set. */
int stacks_snapshot_store(struct stacks_snapshot *snapshot, struct store *store, char *err,
                          size_t errlen);

void stacks_snapshot_free(struct stacks_snapshot *snapshot);

/* `stacktop stacks PID ...`: prints the report and records the snapshot; returns the exit
 * status (0, 1 runtime failure, 2 usage error). */
int stacks_command_run(const struct options *options, int argc, char **argv);

#endif
