/*
 * collector: opens /proc and the session file, and runs refresh + record once per tick.
 * Owns the decision of where a session is written and what happens when it cannot be.
 */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sysident.h"
#include "xalloc.h"

static uint64_t now_realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* mkdir -p with mode 0700 for the directories it creates. */
static int make_directories(const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno));
    return -1;
}

int collector_default_path(const char *host, char *path, size_t pathlen, char *err, size_t errlen)
{
    char directory[PATH_MAX];
    const char *state_home = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (state_home && state_home[0] == '/') {
        snprintf(directory, sizeof directory, "%s/stacktop", state_home);
    } else if (home && home[0] == '/') {
        snprintf(directory, sizeof directory, "%s/.local/state/stacktop", home);
    } else {
        snprintf(err, errlen, "neither XDG_STATE_HOME nor HOME is set; use -o FILE");
        return -1;
    }
    if (make_directories(directory, err, errlen) < 0)
        return -1;

    /* Host names are chosen by the administrator, but keep the file name tame anyway. */
    char safe_host[64];
    size_t j = 0;
    for (size_t i = 0; host[i] && j < sizeof safe_host - 1; i++) {
        char c = host[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_';
        safe_host[j++] = plain ? c : '_';
    }
    safe_host[j] = '\0';
    if (j == 0)
        snprintf(safe_host, sizeof safe_host, "localhost");

    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    for (int attempt = 1; attempt < 100; attempt++) {
        if (attempt == 1)
            snprintf(path, pathlen, "%s/%s-%s.db", directory, safe_host, stamp);
        else
            snprintf(path, pathlen, "%s/%s-%s-%d.db", directory, safe_host, stamp, attempt);
        if (access(path, F_OK) < 0)
            return 0;
    }
    snprintf(err, errlen, "too many sessions named %s/%s-%s*.db", directory, safe_host, stamp);
    return -1;
}

static char *join_arguments(int argc, char **argv)
{
    size_t length = 1;
    for (int i = 0; i < argc; i++)
        length += strlen(argv[i]) + 1;
    char *joined = xmalloc(length);
    joined[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(joined, " ");
        strcat(joined, argv[i]);
    }
    return joined;
}

int collector_open(struct collector *collector, const struct options *options, int argc,
                   char **argv, char *err, size_t errlen)
{
    memset(collector, 0, sizeof *collector);
    collector->table = proctable_new("/proc");
    if (!collector->table) {
        snprintf(err, errlen, "cannot read /proc: %s", strerror(errno));
        return -1;
    }
    collector->table_options.details_every = 10;
    collector->table_options.idle_every = 4;

    struct sysident ident;
    sysident_read("/proc", &ident);
    char *command_line = join_arguments(argc, argv);
    struct store_session_info info = {
        .host = ident.host,
        .kernel = ident.kernel,
        .boot_id = ident.boot_id,
        .command_line = command_line,
        .interval_seconds = options->delay_seconds,
        .clock_ticks = proctable_clock_ticks(collector->table),
        .boot_time = proctable_boot_time(collector->table),
        .started_us = now_realtime_us(),
    };

    char store_err[512] = "";
    if (!options->no_record) {
        int path_ok = 0;
        if (options->output_path)
            snprintf(collector->path, sizeof collector->path, "%s", options->output_path);
        else
            path_ok = collector_default_path(ident.host, collector->path, sizeof collector->path,
                                             store_err, sizeof store_err);
        if (path_ok == 0)
            collector->store =
                store_open_for_recording(collector->path, &info, store_err, sizeof store_err);
        if (collector->store) {
            collector->recording = true;
        } else {
            snprintf(collector->record_error, sizeof collector->record_error, "not recording: %s",
                     store_err);
            collector->path[0] = '\0';
        }
    }
    if (!collector->store) {
        collector->path[0] = '\0';
        collector->store = store_open_for_recording(":memory:", &info, store_err, sizeof store_err);
    }
    free(command_line);
    if (!collector->store) {
        /* Not even an in-memory database: carry on without history. */
        snprintf(collector->record_error, sizeof collector->record_error, "no session store: %s",
                 store_err);
    }
    return 0;
}

int collector_tick(struct collector *collector, char *err, size_t errlen)
{
    if (proctable_refresh(collector->table, &collector->table_options, err, errlen) < 0)
        return -1;
    if (!collector->store)
        return 0;
    size_t count = 0;
    const struct proc_entry *const *entries = proctable_entries(collector->table, &count);
    char store_err[512];
    if (store_record_tick(collector->store, proctable_system(collector->table), entries, count,
                          store_err, sizeof store_err) < 0) {
        /* Keep the console alive; say loudly that the file is no longer being written. */
        snprintf(collector->record_error, sizeof collector->record_error, "recording stopped: %s",
                 store_err);
        collector->recording = false;
    }
    return 0;
}

int collector_close(struct collector *collector, char *err, size_t errlen)
{
    int rc = 0;
    if (collector->store)
        rc = store_close(collector->store, err, errlen);
    collector->store = NULL;
    proctable_free(collector->table);
    collector->table = NULL;
    return rc;
}

int collector_record_snapshot(const struct options *options, int argc, char **argv,
                              const char *kind, collector_record_fn record, void *context)
{
    char err[1024];
    struct collector collector;
    if (collector_open(&collector, options, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "stacktop: %s\n", err);
        return 1;
    }
    int status = 0;
    int64_t id = 0;
    if (!collector.recording) {
        fprintf(stderr, "stacktop: %s snapshot not saved: %s\n", kind, collector.record_error);
    } else if ((id = record(collector.store, context, err, sizeof err)) < 0) {
        fprintf(stderr, "stacktop: %s snapshot not saved: %s\n", kind, err);
        status = 1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", collector.path);
    if (collector_close(&collector, err, sizeof err) < 0) {
        fprintf(stderr, "stacktop: closing the session file: %s\n", err);
        status = 1;
    } else if (id > 0) {
        fprintf(stderr, "stacktop: %s snapshot %lld saved to %s\n", kind, (long long)id, path);
    }
    return status;
}
