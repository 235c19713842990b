/*
 * test_store_profile: profile snapshots in the session database (store/store_profile.c).
 *
 * Two synthetic profiles sharing frames and stacks (with each other and with a stack capture)
 * are recorded; deduplication is checked by counting rows; both are loaded back, from the
 * recording handle and from the closed file read-only, and compared. Then: equal stacks given
 * twice are merged, refused inputs write nothing, a stacks snapshot is not a profile, the
 * profile_hot_functions view, and a version 2 file migrated to version 3 in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "store_test_util.h"
#include "store.h"
#include "xalloc.h"

static struct store_session_info test_info(void)
{
    return store_test_info("stacktop profile 4470");
}

/* ---- the synthetic profiles ---- */

/* Frames, innermost first within each stack below. */
static const struct capture_frame f_burn_a = {0x401100, "burn_a", "/opt/app", 0x1100,
                                              "app.c",  12,       false};
static const struct capture_frame f_burn_b = {0x401200, "burn_b", "/opt/app", 0x1200,
                                              "app.c",  22,       false};
static const struct capture_frame f_inline = {0x401300, "mix", "/opt/app", 0x1300,
                                              "mix.h",  3,     true};
static const struct capture_frame f_work = {0x401400, "run_workload", "/opt/app", 0x1400, "app.c",
                                            40,       false};
static const struct capture_frame f_main = {0x401500, "main", "/opt/app", 0x1500,
                                            "app.c",  60,     false};
static const struct capture_frame f_stripped = {
    0x7f0000001234, NULL, "/lib/libc.so.6", 0x1234, NULL, 0, false};

static const struct capture_frame stack_a[] = {f_burn_a, f_work, f_main};
static const struct capture_frame stack_b[] = {f_inline, f_burn_b, f_work, f_main};
static const struct capture_frame stack_c[] = {f_stripped, f_work, f_main};
static const struct capture_frame stack_d[] = {f_main};

static bool same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool same_frames(const struct capture_frame *a, const struct capture_frame *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!same_text(a[i].function, b[i].function) || !same_text(a[i].module, b[i].module) ||
            !same_text(a[i].file, b[i].file) || a[i].line != b[i].line ||
            a[i].module_offset != b[i].module_offset || a[i].is_inline != b[i].is_inline)
            return false;
    }
    return true;
}

/* Checks that the loaded profile holds exactly the expected stacks (in any order). */
static void check_profile(const struct store_profile *got, const struct store_profile_info *info,
                          const struct store_profile_stack *stacks, size_t count)
{
    CHECK_INT(got->info.pid, info->pid);
    CHECK_STR(got->info.comm, info->comm);
    CHECK_INT(got->info.started_us, info->started_us);
    CHECK_INT(got->info.duration_us, info->duration_us);
    CHECK_INT(got->info.frequency_hz, info->frequency_hz);
    CHECK_INT(got->info.samples, info->samples);
    CHECK_INT(got->info.lost, info->lost);
    CHECK_INT(got->info.throttled, info->throttled);
    CHECK_INT(got->stack_count, count);
    for (size_t i = 0; i < count; i++) {
        bool found = false;
        for (size_t j = 0; j < got->stack_count && !found; j++) {
            const struct store_profile_stack *g = &got->stacks[j];
            found = g->frame_count == stacks[i].frame_count && g->count == stacks[i].count &&
                    same_frames(g->frames, stacks[i].frames, g->frame_count);
        }
        CHECK(found);
    }
}

static void check_load(struct store *store, int64_t id, const struct store_profile_info *info,
                       const struct store_profile_stack *stacks, size_t count)
{
    struct store_profile got;
    struct store_strings *strings = NULL;
    char err[512] = "";
    CHECK_INT(store_load_profile(store, id, &got, &strings, err, sizeof err), 0);
    if (err[0])
        fprintf(stderr, "load: %s\n", err);
    check_profile(&got, info, stacks, count);
    store_profile_free(&got);
    store_strings_free(strings);
}

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct store_profile_stack profile_1[] = {
    {stack_a, COUNT_OF(stack_a), 50},
    {stack_b, COUNT_OF(stack_b), 30},
    {stack_c, COUNT_OF(stack_c), 20},
};
static const struct store_profile_info info_1 = {
    4470, "app", 1700000200000000ull, 5000000, 99, 100, 1, 2,
};
/* Shares stack_a and stack_c, adds stack_d; all frames already known. */
static const struct store_profile_stack profile_2[] = {
    {stack_d, COUNT_OF(stack_d), 3},
    {stack_a, COUNT_OF(stack_a), 7},
    {stack_c, COUNT_OF(stack_c), 1},
};
static const struct store_profile_info info_2 = {
    4471, "app", 1700000300000000ull, 2500000, 199, 11, 0, 0,
};

static void test_record_and_load(void)
{
    char *path = test_path("profiles.db");
    struct store_session_info session = test_info();
    char err[512] = "";
    struct store *store = store_open_for_recording(path, &session, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        fprintf(stderr, "open: %s\n", err);
        free(path);
        return;
    }
    int64_t id1 =
        store_record_profile(store, &info_1, profile_1, COUNT_OF(profile_1), err, sizeof err);
    CHECK_INT(id1, 1);
    int64_t id2 =
        store_record_profile(store, &info_2, profile_2, COUNT_OF(profile_2), err, sizeof err);
    CHECK_INT(id2, 2);
    check_load(store, id1, &info_1, profile_1, COUNT_OF(profile_1));
    check_load(store, id2, &info_2, profile_2, COUNT_OF(profile_2));

    /* Listed as profiles. */
    struct store_snapshot *snapshots = NULL;
    CHECK_INT(store_snapshots(store, 0, &snapshots), 2);
    if (snapshots) {
        CHECK_INT(snapshots[0].kind, STORE_SNAPSHOT_PROFILE);
        CHECK_INT(snapshots[1].pid, 4471);
        CHECK_INT(snapshots[1].duration_us, 2500000);
    }
    store_snapshots_free(snapshots);

    /* A missing snapshot. */
    struct store_profile got;
    struct store_strings *strings = (void *)1;
    CHECK_INT(store_load_profile(store, 3, &got, &strings, err, sizeof err), -1);
    CHECK(strstr(err, "no snapshot 3") != NULL);
    CHECK(strings == NULL);
    CHECK_INT(store_close(store, err, sizeof err), 0);

    /* Deduplication: 6 distinct frames, 4 distinct stacks, 6 counted rows. */
    CHECK_INT(query_int(path, "SELECT count(*) FROM frame"), 6);
    CHECK_INT(query_int(path, "SELECT count(*) FROM stack"), 4);
    CHECK_INT(query_int(path, "SELECT count(*) FROM stack_frame"), 3 + 4 + 3 + 1);
    CHECK_INT(query_int(path, "SELECT count(*) FROM snapshot_stack_count"), 6);
    CHECK_INT(query_int(path, "SELECT count(*) FROM snapshot_profile"), 2);
    CHECK_INT(query_int(path, "SELECT sum(count) FROM snapshot_stack_count WHERE snapshot_id = 1"),
              100);
    CHECK_STR(query_text(path, "SELECT kind FROM snapshot WHERE id = 2"), "profile");
    CHECK_INT(query_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    CHECK_INT(STORE_SCHEMA_VERSION, 3);

    /* The views treat profiles like captures. */
    CHECK_INT(query_int(path, "SELECT count FROM snapshot_groups WHERE snapshot_id = 1"
                              " AND top_function = 'burn_a'"),
              50);
    CHECK_INT(query_int(path, "SELECT self_samples FROM profile_hot_functions"
                              " WHERE snapshot_id = 1 AND function = 'mix'"),
              30);
    CHECK_STR(query_text(path, "SELECT function FROM profile_hot_functions WHERE snapshot_id = 1"
                               " AND module = '/lib/libc.so.6'"),
              "/lib/libc.so.6+0x1234");
    CHECK_STR(query_text(path, "SELECT self_percent FROM profile_hot_functions"
                               " WHERE snapshot_id = 1 AND function = 'burn_a'"),
              "50.0");

    /* Read-only, from the closed file. */
    store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        check_load(store, id1, &info_1, profile_1, COUNT_OF(profile_1));
        check_load(store, id2, &info_2, profile_2, COUNT_OF(profile_2));
        CHECK_INT(store_load_profile(store, 99, &got, &strings, err, sizeof err), -1);
        CHECK(strstr(err, "no snapshot 99") != NULL);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    free(path);
}

static void test_merge_and_refuse(void)
{
    struct store_session_info session = test_info();
    char err[512] = "";
    struct store *store = store_open_for_recording(":memory:", &session, err, sizeof err);
    CHECK(store != NULL);
    if (!store)
        return;
    /* The same stack twice: one row, counts added. */
    const struct store_profile_stack twice[] = {
        {stack_a, COUNT_OF(stack_a), 4},
        {stack_a, COUNT_OF(stack_a), 6},
    };
    struct store_profile_info info = info_1;
    info.samples = 10;
    int64_t id = store_record_profile(store, &info, twice, 2, err, sizeof err);
    CHECK(id > 0);
    const struct store_profile_stack merged[] = {{stack_a, COUNT_OF(stack_a), 10}};
    check_load(store, id, &info, merged, 1);

    /* An empty profile (an idle process) is a valid snapshot. */
    info.samples = 0;
    info.comm = NULL;
    int64_t empty = store_record_profile(store, &info, NULL, 0, err, sizeof err);
    CHECK(empty > id);
    struct store_profile got;
    struct store_strings *strings = NULL;
    CHECK_INT(store_load_profile(store, empty, &got, &strings, err, sizeof err), 0);
    CHECK_INT(got.stack_count, 0);
    CHECK_STR(got.info.comm, "");
    store_profile_free(&got);
    store_strings_free(strings);

    /* Refused: a stack without frames, or with no samples; nothing is written. */
    const struct store_profile_stack no_frames[] = {{stack_a, 0, 1}};
    const struct store_profile_stack no_count[] = {{stack_a, COUNT_OF(stack_a), 0}};
    CHECK_INT(store_record_profile(store, &info, no_frames, 1, err, sizeof err), -1);
    CHECK(strstr(err, "no frames") != NULL);
    CHECK_INT(store_record_profile(store, &info, no_count, 1, err, sizeof err), -1);
    CHECK_INT(store_record_profile(store, NULL, NULL, 0, err, sizeof err), -1);
    struct store_snapshot *snapshots = NULL;
    CHECK_INT(store_snapshots(store, 0, &snapshots), 2);
    store_snapshots_free(snapshots);
    CHECK_INT(store_close(store, err, sizeof err), 0);
}

/* A version 2 file (as the previous stacktop wrote it) is migrated in place to 3. */
static void test_version_2(void)
{
    char *path = test_path("v2.db");
    struct store_session_info session = test_info();
    char err[512] = "";
    struct store *store = store_open_for_recording(path, &session, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        free(path);
        return;
    }
    CHECK_INT(store_close(store, err, sizeof err), 0);
    CHECK_INT(exec_sql(path, "DROP VIEW profile_hot_functions; DROP TABLE snapshot_profile;"
                             "PRAGMA user_version = 2; VACUUM"),
              0);

    /* Read-only: a version 2 file holds no profiles, and says so. */
    store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        struct store_profile got;
        struct store_strings *strings = NULL;
        CHECK_INT(store_load_profile(store, 1, &got, &strings, err, sizeof err), -1);
        CHECK(strstr(err, "schema version 2") != NULL);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    CHECK_INT(query_int(path, "PRAGMA user_version"), 2);

    /* Recording: migrated, then profiles are recorded. */
    store = store_open_for_recording(path, &session, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        CHECK_INT(query_int(path, "PRAGMA user_version"), 3);
        int64_t id =
            store_record_profile(store, &info_1, profile_1, COUNT_OF(profile_1), err, sizeof err);
        CHECK_INT(id, 1);
        check_load(store, id, &info_1, profile_1, COUNT_OF(profile_1));
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    CHECK_INT(query_int(path, "SELECT count(*) FROM session"), 2);
    free(path);
}

/* A forged file: a profile naming a missing stack gives an error, not a crash. */
static void test_hostile(void)
{
    char *path = test_path("forged.db");
    struct store_session_info session = test_info();
    char err[512] = "";
    struct store *store = store_open_for_recording(path, &session, err, sizeof err);
    CHECK(store != NULL);
    if (!store) {
        free(path);
        return;
    }
    CHECK_INT(store_record_profile(store, &info_1, profile_1, COUNT_OF(profile_1), err, sizeof err),
              1);
    CHECK_INT(store_close(store, err, sizeof err), 0);
    CHECK_INT(exec_sql(path, "INSERT INTO snapshot_stack_count VALUES (1, 999, 5)"), 0);
    store = store_open_readonly(path, err, sizeof err);
    CHECK(store != NULL);
    if (store) {
        struct store_profile got;
        struct store_strings *strings = NULL;
        CHECK_INT(store_load_profile(store, 1, &got, &strings, err, sizeof err), -1);
        CHECK(strstr(err, "stack 999 does not exist") != NULL);
        CHECK(strings == NULL && got.stacks == NULL && got.stack_count == 0);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    CHECK_INT(exec_sql(path, "UPDATE snapshot_stack_count SET count = -1 WHERE stack_id = 999"), 0);
    /* Another kind of snapshot is not a profile. */
    CHECK_INT(exec_sql(path, "INSERT INTO snapshot SELECT 2, session_id, 'stacks', pid, comm,"
                             " taken_us, duration_us, unwinder, consistent, thread_count,"
                             " stop_max_ns, stop_p99_ns, stop_total_ns, stop_count, note"
                             " FROM snapshot WHERE id = 1"),
              0);
    store = store_open_readonly(path, err, sizeof err);
    if (store) {
        struct store_profile got;
        struct store_strings *strings = NULL;
        CHECK_INT(store_load_profile(store, 1, &got, &strings, err, sizeof err), -1);
        CHECK(strstr(err, "count of -1") != NULL);
        CHECK_INT(store_load_profile(store, 2, &got, &strings, err, sizeof err), -1);
        CHECK(strstr(err, "snapshot 2 is not a profile") != NULL);
        CHECK_INT(store_close(store, err, sizeof err), 0);
    }
    free(path);
}

static void remove_files(void)
{
    const char *names[] = {"profiles.db", "v2.db", "forged.db"};
    for (size_t i = 0; i < COUNT_OF(names); i++) {
        char *path = test_path(names[i]);
        unlink(path);
        free(path);
    }
}

int main(void)
{
    if (store_test_dir_create("test_store_profile") != 0)
        return 1;
    test_record_and_load();
    test_merge_and_refuse();
    test_version_2();
    test_hostile();
    remove_files();
    store_test_dir_remove();
    return CHECK_DONE();
}
