/*
 * stacks_snapshot: glue between the capture engine (core/capture), the analysis
 * (core/stacks) and the session store, plus the `stacks` subcommand.
 */
#include "stacks_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "remote_memory.h"

int stacks_snapshot_take(pid_t pid, const struct capture_options *options,
                         enum stacks_grouping grouping, struct stacks_snapshot *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (capture_process(pid, options, &out->capture, err, errlen) < 0)
        return -1;
    out->grouping = grouping;
    out->group_count = stacks_group(&out->capture, grouping, NULL, &out->groups);
    /* Lock words are read while the target runs again: racy by nature, read twice inside. */
    stacks_analyze_locks(&out->capture, remote_memory_read, &out->capture.pid, &out->locks);
    return 0;
}

void stacks_snapshot_regroup(struct stacks_snapshot *snapshot, enum stacks_grouping grouping)
{
    stacks_groups_free(snapshot->groups, snapshot->group_count);
    snapshot->grouping = grouping;
    snapshot->group_count = stacks_group(&snapshot->capture, grouping, NULL, &snapshot->groups);
}

int stacks_snapshot_store(struct stacks_snapshot *snapshot, struct store *store, char *err,
                          size_t errlen)
{
    int64_t id = store_record_stacks(store, &snapshot->capture, &snapshot->locks, err, errlen);
    if (id < 0)
        return -1;
    snapshot->snapshot_id = id;
    return 0;
}

void stacks_snapshot_free(struct stacks_snapshot *snapshot)
{
    stacks_groups_free(snapshot->groups, snapshot->group_count);
    stacks_lock_report_free(&snapshot->locks);
    capture_result_free(&snapshot->capture);
    memset(snapshot, 0, sizeof *snapshot);
}

/* collector_record_fn for a stacks snapshot. */
static int64_t store_snapshot_into(struct store *store, void *context, char *err, size_t errlen)
{
    struct stacks_snapshot *snapshot = context;
    return stacks_snapshot_store(snapshot, store, err, errlen) < 0 ? -1 : snapshot->snapshot_id;
}

int stacks_command_run(const struct options *options, int argc, char **argv)
{
    char err[1024];
    pid_t pid = 0;
    if (options_pid_operand(options, &pid, err, sizeof err) < 0) {
        fprintf(stderr, "stacktop: %s\n", err);
        return 2;
    }
    int grouping = options->group ? stacks_grouping_from_name(options->group) : STACKS_GROUP_STACK;
    if (grouping < 0) {
        fprintf(stderr, "stacktop: --group: unknown grouping '%s' (stack, top, user, start)\n",
                options->group);
        return 2;
    }
    const char *format = options->format ? options->format : "text";
    bool json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "text") != 0) {
        fprintf(stderr, "stacktop: --format: unknown format '%s' (text, json)\n", format);
        return 2;
    }
    int unwinder = options->unwinder ? capture_unwinder_from_name(options->unwinder)
                                     : CAPTURE_UNWINDER_DEFAULT;
    if (unwinder < 0) {
        fprintf(stderr, "stacktop: --unwinder: unknown unwinder '%s' (libunwind, libdw)\n",
                options->unwinder);
        return 2;
    }

    struct capture_options capture_options = {
        .unwinder = (enum capture_unwinder)unwinder,
        .consistent = options->consistent,
        .stop_deadline_ms = 10,
        .symbolize = true,
        /* wchan is shown by the console and kept in the session file, not printed */
        .skip_wchan = options->no_record,
    };
    struct stacks_snapshot snapshot;
    if (stacks_snapshot_take(pid, &capture_options, (enum stacks_grouping)grouping, &snapshot, err,
                             sizeof err) < 0) {
        fprintf(stderr, "stacktop: %s\n", err);
        return 1;
    }
    if (json)
        stacks_print_json(&snapshot.capture, snapshot.groups, snapshot.group_count, &snapshot.locks,
                          stdout);
    else
        stacks_print_text(&snapshot.capture, snapshot.groups, snapshot.group_count, &snapshot.locks,
                          stdout);
    fflush(stdout);

    /* Every snapshot is recorded, like every session (unless --no-record). */
    int status = 0;
    if (!options->no_record)
        status = collector_record_snapshot(options, argc, argv, "stacks", store_snapshot_into,
                                           &snapshot);
    stacks_snapshot_free(&snapshot);
    return status;
}
