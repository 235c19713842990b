/*
 * profile_run: one profiling run of a process — the perf sampler (core/perf), the flame tree
 * fed from its samples (core/flame), and the distinct stacks with their counts that are
 * stored as a profile snapshot. Shared by `stacktop profile` and the console's Flame view,
 * which polls it from its main loop so that the graph updates live, like perf top.
 */
#ifndef STACKTOP_PROFILE_RUN_H
#define STACKTOP_PROFILE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flame.h"
#include "options.h"
#include "perf.h"
#include "store.h"

struct profile_run;

/* Starts sampling pid. Returns NULL with err set (perf_start's message: missing process,
 * perf_event_paranoid and what to set, ...). options->duration_seconds <= 0 samples until
 * profile_run_stop() (a live view); otherwise the run finishes by itself after that long
 * (CLOCK_MONOTONIC). */
struct profile_run *profile_run_start(const struct perf_options *options, char *err, size_t errlen);

/* Drains new samples into the tree (waiting at most timeout_ms). Returns the number of new
 * samples, or -1 with err set. Stops by itself once the duration has passed
 * (profile_run_finished() then returns true) or the process exited. */
long profile_run_poll(struct profile_run *run, int timeout_ms, char *err, size_t errlen);

/* True once sampling has ended (duration reached, process exited, or profile_run_stop). */
bool profile_run_finished(const struct profile_run *run);

/* Stops sampling now (the samples so far are kept). */
void profile_run_stop(struct profile_run *run);

/* The flame tree of everything sampled so far (owned by the run). */
const struct flame_tree *profile_run_tree(const struct profile_run *run);

/* Sampler counters (samples, lost, throttled, elapsed, ...). */
void profile_run_stats(const struct profile_run *run, struct perf_stats *out);

/* The process's name, read once at the start (raw bytes: sanitize before showing; "" when it
 * could not be read). Stored with the profile. */
const char *profile_run_comm(const struct profile_run *run);

/* Stores the profile (deduplicated stacks with counts) as a snapshot; returns its id or -1. */
int64_t profile_run_store(struct profile_run *run, struct store *store, char *err, size_t errlen);

void profile_run_free(struct profile_run *run);

/* `stacktop profile PID [-d SECONDS] [-F HZ] [--format text|folded|json] [-o DB]`: returns the
 * exit status (0; 1 runtime failure; 2 usage error). Ctrl-C stops sampling early: what was
 * sampled is still printed and stored. No samples is not an error (a message, exit 0). */
int profile_command_run(const struct options *options, int argc, char **argv);

#endif
