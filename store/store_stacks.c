/*
 * store_stacks: snapshots — recording a stack capture with its lock analysis, listing the
 * snapshots of a file, and loading one back exactly as it was captured.
 *
 * Owns: the snapshot statements, the per-call deduplication tables of the writer and the
 * string arena (struct store_strings) handed to the callers of store_load_stacks().
 *
 * Deduplication (see docs/SCHEMA.md): a frame row is one distinct (function, module,
 * module_offset, file, line, is_inline), unknown names stored as ''; a stack row is one
 * distinct list of frame ids, its frames in stack_frame. The writer first groups the threads
 * of the capture by frame content in memory (1000 threads blocked in one place cost one stack
 * lookup), then resolves each new frame (memory, then the UNIQUE index, then an insert) and
 * looks the frame-id list up by its 64-bit hash: stack.hash is UNIQUE, so on a collision the
 * writer probes hash + 1, hash + 2, ... comparing frame lists, and inserts at the first free
 * value. Equal lists always end on the same row; unequal lists never share one.
 *
 * Invariants:
 *   - a snapshot is written in one transaction, or not at all;
 *   - whatever store_record_stacks() accepts, store_load_stacks() reads back: the writer
 *     refuses captures beyond the reader's limits (STORE_READ_MAX_*);
 *   - every value read may be hostile: counts are bounded before anything is allocated from
 *     them, strings are capped, and a reference to a missing stack or frame is an error;
 *   - blobs are arrays of 8-byte little-endian unsigned integers, except pc_is_return (one
 *     byte, 0 or 1, per raw PC).
 */
#include <stdlib.h>
#include <string.h>

#include "store_private.h"
#include "xalloc.h"

/* Bytes kept of each string of a loaded snapshot (function, module, file, lock kind). */
#define STORE_READ_MAX_NAME 4096
/* Bytes of strings of one loaded snapshot, in total. */
#define STORE_READ_MAX_STRINGS_SUM (256u << 20)
/* Size of an arena block (a longer string gets a block of its own). */
#define STORE_STRINGS_BLOCK 65536

/* Names of snapshot kinds in the snapshot.kind column, indexed by enum store_snapshot_kind. */
static const char *const store_snapshot_kind_names[] = {
    [STORE_SNAPSHOT_STACKS] = "stacks",
    [STORE_SNAPSHOT_PROFILE] = "profile",
};

/* Names of unwinders in the snapshot.unwinder column (the same as capture_unwinder_name()). */
static const struct {
    enum capture_unwinder unwinder; /* the enum value */
    const char *name;               /* its name in the file */
} store_unwinder_names[] = {
    {CAPTURE_UNWINDER_DEFAULT, "default"},
    {CAPTURE_UNWINDER_LIBUNWIND, "libunwind"},
    {CAPTURE_UNWINDER_LIBDW, "libdw"},
};

static const char *store_unwinder_name(enum capture_unwinder unwinder)
{
    for (size_t i = 0; i < sizeof store_unwinder_names / sizeof store_unwinder_names[0]; i++)
        if (store_unwinder_names[i].unwinder == unwinder)
            return store_unwinder_names[i].name;
    return "default";
}

static enum capture_unwinder store_unwinder_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof store_unwinder_names / sizeof store_unwinder_names[0]; i++)
        if (name && strcmp(store_unwinder_names[i].name, name) == 0)
            return store_unwinder_names[i].unwinder;
    return CAPTURE_UNWINDER_DEFAULT;
}

static enum store_snapshot_kind store_snapshot_kind_from_name(const char *name)
{
    for (int k = 0; k < STORE_SNAPSHOT_UNKNOWN; k++)
        if (name && strcmp(store_snapshot_kind_names[k], name) == 0)
            return (enum store_snapshot_kind)k;
    return STORE_SNAPSHOT_UNKNOWN;
}

/* ---- blobs, hashes, the per-call tables ---- */

static void store_put_u64(unsigned char *out, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(value >> (8 * i));
}

static uint64_t store_get_u64(const unsigned char *in)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | in[i];
    return value;
}

/* FNV-1a over bytes, continuing from h. */
static uint64_t store_hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < len; i++) {
        h ^= bytes[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t store_hash_u64(uint64_t h, uint64_t value)
{
    unsigned char bytes[8];
    store_put_u64(bytes, value);
    return store_hash_bytes(h, bytes, sizeof bytes);
}

/* Final avalanche, so that nearby inputs spread over the table. */
static uint64_t store_hash_finish(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#define STORE_HASH_SEED 0xcbf29ce484222325ull

/* A string as stored: unknown (NULL) is "". */
static const char *store_text(const char *s)
{
    return s ? s : "";
}

/* Hash of a string including its terminator, so that ("ab", "c") and ("a", "bc") differ. */
static uint64_t store_hash_text(uint64_t h, const char *s)
{
    s = store_text(s);
    return store_hash_bytes(h, s, strlen(s) + 1);
}

static uint64_t store_frame_hash(const struct capture_frame *f)
{
    uint64_t h = STORE_HASH_SEED;
    h = store_hash_text(h, f->function);
    h = store_hash_text(h, f->module);
    h = store_hash_u64(h, f->module_offset);
    h = store_hash_text(h, f->file);
    h = store_hash_u64(h, (uint64_t)(int64_t)f->line);
    h = store_hash_u64(h, f->is_inline);
    return store_hash_finish(h);
}

/* Whether two frames are the same frame row (pc and NULL-versus-"" do not count). */
static bool store_frame_equal(const struct capture_frame *a, const struct capture_frame *b)
{
    return a->module_offset == b->module_offset && a->line == b->line &&
           a->is_inline == b->is_inline &&
           strcmp(store_text(a->function), store_text(b->function)) == 0 &&
           strcmp(store_text(a->module), store_text(b->module)) == 0 &&
           strcmp(store_text(a->file), store_text(b->file)) == 0;
}

static uint64_t store_thread_stack_hash(const struct capture_thread *t)
{
    uint64_t h = store_hash_u64(STORE_HASH_SEED, t->frame_count);
    for (size_t i = 0; i < t->frame_count; i++)
        h = store_hash_u64(h, store_frame_hash(&t->frames[i]));
    return store_hash_finish(h);
}

static bool store_thread_stack_equal(const struct capture_thread *a, const struct capture_thread *b)
{
    if (a->frame_count != b->frame_count)
        return false;
    for (size_t i = 0; i < a->frame_count; i++)
        if (!store_frame_equal(&a->frames[i], &b->frames[i]))
            return false;
    return true;
}

/* Hash of a list of frame ids: the value of stack.hash before probing. */
static uint64_t store_frame_ids_hash(const int64_t *ids, size_t count)
{
    uint64_t h = STORE_HASH_SEED;
    for (size_t i = 0; i < count; i++)
        h = store_hash_u64(h, (uint64_t)ids[i]);
    return store_hash_finish(h);
}

/* One entry of a store_map. */
struct store_map_slot {
    uint64_t hash;   /* hash of the key */
    const void *key; /* what was hashed (compared on hash equality); NULL for id keys */
    int64_t value;   /* row id (or index) it maps to */
    bool used;       /* the slot is occupied */
};

/* Open-addressing hash map from a hashed key to an int64, for the life of one call. */
struct store_map {
    struct store_map_slot *slots; /* capacity slots; linear probing */
    size_t capacity;              /* power of two, 0 before the first insert */
    size_t count;                 /* used slots; at most capacity / 2 */
};

/* Compares the key of a slot with a wanted key. NULL: equal hashes mean equal keys. */
typedef bool (*store_map_equal_fn)(const void *a, const void *b);

/* The slot of (hash, key), or the empty slot where it would go. capacity must be > 0. */
static struct store_map_slot *store_map_slot(struct store_map *map, uint64_t hash, const void *key,
                                             store_map_equal_fn equal)
{
    size_t mask = map->capacity - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        struct store_map_slot *slot = &map->slots[i];
        if (!slot->used || (slot->hash == hash && (!equal || equal(slot->key, key))))
            return slot;
    }
}

/* Finds (hash, key): 1 with *value set, or 0. */
static int store_map_find(struct store_map *map, uint64_t hash, const void *key,
                          store_map_equal_fn equal, int64_t *value)
{
    if (map->capacity == 0)
        return 0;
    struct store_map_slot *slot = store_map_slot(map, hash, key, equal);
    if (!slot->used)
        return 0;
    *value = slot->value;
    return 1;
}

/* Adds (hash, key) -> value; the key must not be in the map. */
static void store_map_insert(struct store_map *map, uint64_t hash, const void *key,
                             store_map_equal_fn equal, int64_t value)
{
    if ((map->count + 1) * 2 > map->capacity) {
        struct store_map old = *map;
        map->capacity = old.capacity ? old.capacity * 2 : 64;
        map->slots = xcalloc(map->capacity, sizeof *map->slots);
        for (size_t i = 0; i < old.capacity; i++)
            if (old.slots[i].used)
                *store_map_slot(map, old.slots[i].hash, NULL, NULL) = old.slots[i];
        free(old.slots);
    }
    *store_map_slot(map, hash, key, equal) =
        (struct store_map_slot){.hash = hash, .key = key, .value = value, .used = true};
    map->count++;
}

static void store_map_free(struct store_map *map)
{
    free(map->slots);
    memset(map, 0, sizeof *map);
}

static bool store_map_frame_equal(const void *a, const void *b)
{
    return store_frame_equal(a, b);
}

static bool store_map_thread_equal(const void *a, const void *b)
{
    return store_thread_stack_equal(a, b);
}

/* ---- the string arena ---- */

/* One block of the arena. */
struct store_strings_block {
    struct store_strings_block *next; /* older block */
    size_t used;                      /* bytes handed out */
    size_t size;                      /* bytes in data */
    char data[];                      /* the strings, each NUL-terminated */
};

struct store_strings {
    struct store_strings_block *blocks; /* newest first */
    size_t total;                       /* bytes of strings handed out, for the read cap */
};

/* A copy of len bytes of text (stopping at an embedded NUL), owned by the arena. */
static const char *store_strings_copy(struct store_strings *strings, const char *text, size_t len)
{
    len = strnlen(text, len);
    struct store_strings_block *block = strings->blocks;
    if (!block || block->size - block->used < len + 1) {
        size_t size = len + 1 > STORE_STRINGS_BLOCK ? len + 1 : STORE_STRINGS_BLOCK;
        block = xmalloc(sizeof *block + size);
        block->size = size;
        block->used = 0;
        block->next = strings->blocks;
        strings->blocks = block;
    }
    char *copy = block->data + block->used;
    memcpy(copy, text, len);
    copy[len] = '\0';
    block->used += len + 1;
    strings->total += len + 1;
    return copy;
}

void store_strings_free(struct store_strings *strings)
{
    if (!strings)
        return;
    for (struct store_strings_block *block = strings->blocks, *next; block; block = next) {
        next = block->next;
        free(block);
    }
    free(strings);
}

/* ---- recording ---- */

static int store_stacks_prepare_write(struct store *store, char *err, size_t errlen)
{
    struct store_stacks_statements *s = &store->stacks;
    if (s->insert_deadlock)
        return 0;
    if (store_prepare(store, &s->insert_snapshot,
                      "INSERT INTO snapshot (session_id, kind, pid, comm, taken_us, duration_us,"
                      " unwinder, consistent, thread_count, stop_max_ns, stop_p99_ns,"
                      " stop_total_ns, stop_count, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                      " ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                      err, errlen) < 0 ||
        store_prepare(store, &s->find_frame,
                      "SELECT id FROM frame WHERE function = ?1 AND module = ?2"
                      " AND module_offset = ?3 AND file = ?4 AND line = ?5 AND is_inline = ?6",
                      err, errlen) < 0 ||
        store_prepare(store, &s->insert_frame,
                      "INSERT INTO frame (function, module, module_offset, file, line,"
                      " is_inline) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      err, errlen) < 0 ||
        store_prepare(store, &s->find_stack, "SELECT id, depth FROM stack WHERE hash = ?1", err,
                      errlen) < 0 ||
        store_prepare(store, &s->stack_frame_ids,
                      "SELECT frame_id FROM stack_frame WHERE stack_id = ?1"
                      " ORDER BY position LIMIT ?2",
                      err, errlen) < 0 ||
        store_prepare(store, &s->insert_stack, "INSERT INTO stack (hash, depth) VALUES (?1, ?2)",
                      err, errlen) < 0 ||
        store_prepare(store, &s->insert_stack_frame,
                      "INSERT INTO stack_frame (stack_id, position, frame_id) VALUES (?1, ?2, ?3)",
                      err, errlen) < 0 ||
        store_prepare(store, &s->insert_thread,
                      "INSERT INTO snapshot_thread (snapshot_id, position, tid, name, state,"
                      " wchan, syscall, syscall_args, cpu_ticks, stop_ns, was_stopped,"
                      " is_kernel_thread, error, stack_id, pcs, frame_pcs, pc_is_return)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                      " ?15, ?16, ?17)",
                      err, errlen) < 0 ||
        store_prepare(store, &s->insert_lock,
                      "INSERT INTO snapshot_lock (snapshot_id, position, waiter, address, owner,"
                      " kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      err, errlen) < 0 ||
        store_prepare(store, &s->insert_deadlock,
                      "INSERT INTO snapshot_deadlock (snapshot_id, cycle, position, tid)"
                      " VALUES (?1, ?2, ?3, ?4)",
                      err, errlen) < 0)
        return -1;
    return 0;
}

/* Steps a statement that returns no rows and resets it. Returns 0, or -1 with err set. */
static int store_stacks_exec(struct store *store, sqlite3_stmt *stmt, const char *what, char *err,
                             size_t errlen)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        store_sqlite_error(store, what, err, errlen);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Binds text of a fixed-size field that may lack its terminator. */
static void store_bind_field(sqlite3_stmt *stmt, int index, const char *field, size_t size)
{
    sqlite3_bind_text(stmt, index, field, (int)strnlen(field, size), SQLITE_TRANSIENT);
}

/* Binds count 8-byte little-endian values as a blob, or NULL when count is 0. */
static void store_bind_u64_blob(sqlite3_stmt *stmt, int index, const uint64_t *values,
                                size_t stride, size_t count)
{
    if (count == 0) {
        sqlite3_bind_null(stmt, index);
        return;
    }
    unsigned char *blob = xmalloc(count * 8);
    for (size_t i = 0; i < count; i++)
        store_put_u64(blob + 8 * i, *(const uint64_t *)((const char *)values + i * stride));
    sqlite3_bind_blob(stmt, index, blob, (int)(count * 8), free);
}

/* The frame row of f: from the call's cache, the file, or a new row. */
static int store_stacks_frame_id(struct store *store, struct store_map *frames,
                                 const struct capture_frame *f, int64_t *id, char *err,
                                 size_t errlen)
{
    uint64_t hash = store_frame_hash(f);
    if (store_map_find(frames, hash, f, store_map_frame_equal, id))
        return 0;
    sqlite3_stmt *stmts[] = {store->stacks.find_frame, store->stacks.insert_frame};
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *stmt = stmts[i];
        sqlite3_bind_text(stmt, 1, store_text(f->function), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 2, store_text(f->module), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)f->module_offset);
        sqlite3_bind_text(stmt, 4, store_text(f->file), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt, 5, f->line);
        sqlite3_bind_int(stmt, 6, f->is_inline ? 1 : 0);
    }
    sqlite3_stmt *find = store->stacks.find_frame;
    int rc = sqlite3_step(find);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(find, 0);
    sqlite3_reset(find);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot look up a frame", err, errlen);
        return -1;
    }
    if (rc == SQLITE_DONE) {
        if (store_stacks_exec(store, store->stacks.insert_frame, "cannot write a frame", err,
                              errlen) < 0)
            return -1;
        *id = sqlite3_last_insert_rowid(store->db);
    }
    store_map_insert(frames, hash, f, store_map_frame_equal, *id);
    return 0;
}

/* Whether stack stack_id of the file holds exactly the frame ids ids[0..count). 1, 0 or -1. */
static int store_stacks_same_frames(struct store *store, int64_t stack_id, const int64_t *ids,
                                    size_t count, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = store->stacks.stack_frame_ids;
    size_t n = 0;
    bool same = true;
    int rc;
    sqlite3_bind_int64(stmt, 1, stack_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)count + 1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n >= count || sqlite3_column_int64(stmt, 0) != ids[n])
            same = false;
        n++;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a stack", err, errlen);
        return -1;
    }
    return same && n == count;
}

/* The stack row of a list of frame ids: an existing one with the same list, or a new one at
 * the first free hash from the list's hash on. */
static int store_stacks_stack_id(struct store *store, const int64_t *ids, size_t count,
                                 int64_t *stack_id, char *err, size_t errlen)
{
    struct store_stacks_statements *s = &store->stacks;
    uint64_t hash = store_frame_ids_hash(ids, count);
    for (int probe = 0; probe < STORE_STACK_MAX_PROBES; probe++, hash++) {
        sqlite3_bind_int64(s->find_stack, 1, (sqlite3_int64)hash);
        int rc = sqlite3_step(s->find_stack);
        int64_t found = rc == SQLITE_ROW ? sqlite3_column_int64(s->find_stack, 0) : 0;
        int64_t depth = rc == SQLITE_ROW ? sqlite3_column_int64(s->find_stack, 1) : 0;
        sqlite3_reset(s->find_stack);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            store_sqlite_error(store, "cannot look up a stack", err, errlen);
            return -1;
        }
        if (rc == SQLITE_ROW) {
            if (depth != (int64_t)count)
                continue;
            int same = store_stacks_same_frames(store, found, ids, count, err, errlen);
            if (same < 0)
                return -1;
            if (same) {
                *stack_id = found;
                return 0;
            }
            continue;
        }
        sqlite3_bind_int64(s->insert_stack, 1, (sqlite3_int64)hash);
        sqlite3_bind_int64(s->insert_stack, 2, (sqlite3_int64)count);
        if (store_stacks_exec(store, s->insert_stack, "cannot write a stack", err, errlen) < 0)
            return -1;
        *stack_id = sqlite3_last_insert_rowid(store->db);
        sqlite3_bind_int64(s->insert_stack_frame, 1, *stack_id);
        for (size_t i = 0; i < count; i++) {
            sqlite3_bind_int64(s->insert_stack_frame, 2, (sqlite3_int64)i);
            sqlite3_bind_int64(s->insert_stack_frame, 3, ids[i]);
            if (store_stacks_exec(store, s->insert_stack_frame, "cannot write a stack", err,
                                  errlen) < 0)
                return -1;
        }
        return 0;
    }
    store_error(err, errlen, "%s: cannot write a stack: %d hash collisions in a row", store->name,
                STORE_STACK_MAX_PROBES);
    return -1;
}

/* The per-call state of store_record_stacks() and store_record_profile(). */
struct store_stacks_writer {
    struct store_map frames;  /* frame content -> frame row id */
    struct store_map threads; /* a thread's frame list (by content) -> stack row id */
    int64_t *ids;             /* scratch: frame ids of one stack */
    size_t ids_capacity;      /* allocated entries of ids */
};

int store_stacks_write_stack(struct store *store, struct store_stacks_writer *w,
                             const struct capture_frame *frames, size_t count, int64_t *stack_id,
                             char *err, size_t errlen)
{
    if (store_stacks_prepare_write(store, err, errlen) < 0)
        return -1;
    xgrow((void **)&w->ids, &w->ids_capacity, count, sizeof *w->ids);
    for (size_t i = 0; i < count; i++)
        if (store_stacks_frame_id(store, &w->frames, &frames[i], &w->ids[i], err, errlen) < 0)
            return -1;
    return store_stacks_stack_id(store, w->ids, count, stack_id, err, errlen);
}

struct store_stacks_writer *store_stacks_writer_new(void)
{
    return xcalloc(1, sizeof(struct store_stacks_writer));
}

void store_stacks_writer_free(struct store_stacks_writer *w)
{
    if (!w)
        return;
    store_map_free(&w->frames);
    store_map_free(&w->threads);
    free(w->ids);
    free(w);
}

/* The stack row of a thread with frames. */
static int store_stacks_thread_stack(struct store *store, struct store_stacks_writer *w,
                                     const struct capture_thread *t, int64_t *stack_id, char *err,
                                     size_t errlen)
{
    uint64_t hash = store_thread_stack_hash(t);
    if (store_map_find(&w->threads, hash, t, store_map_thread_equal, stack_id))
        return 0;
    if (store_stacks_write_stack(store, w, t->frames, t->frame_count, stack_id, err, errlen) < 0)
        return -1;
    store_map_insert(&w->threads, hash, t, store_map_thread_equal, *stack_id);
    return 0;
}

static int store_stacks_write_thread(struct store *store, struct store_stacks_writer *w,
                                     int64_t snapshot_id, size_t position,
                                     const struct capture_thread *t, char *err, size_t errlen)
{
    int64_t stack_id = 0;
    if (t->frame_count > 0 && store_stacks_thread_stack(store, w, t, &stack_id, err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->stacks.insert_thread;
    bool any_arg = false;
    for (int i = 0; i < 6; i++)
        any_arg = any_arg || t->syscall_args[i] != 0;
    size_t pc_count = t->pc_count < CAPTURE_MAX_FRAMES ? t->pc_count : CAPTURE_MAX_FRAMES;
    sqlite3_bind_int64(stmt, 1, snapshot_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)position);
    sqlite3_bind_int64(stmt, 3, t->tid);
    store_bind_field(stmt, 4, t->name, sizeof t->name);
    sqlite3_bind_text(stmt, 5, &t->state, t->state ? 1 : 0, SQLITE_TRANSIENT);
    store_bind_field(stmt, 6, t->wchan, sizeof t->wchan);
    sqlite3_bind_int64(stmt, 7, t->syscall);
    store_bind_u64_blob(stmt, 8, t->syscall_args, sizeof t->syscall_args[0], any_arg ? 6 : 0);
    sqlite3_bind_int64(stmt, 9, (sqlite3_int64)t->cpu_ticks);
    sqlite3_bind_int64(stmt, 10, t->stop_ns);
    sqlite3_bind_int(stmt, 11, t->was_stopped ? 1 : 0);
    sqlite3_bind_int(stmt, 12, t->is_kernel_thread ? 1 : 0);
    store_bind_field(stmt, 13, t->error, sizeof t->error);
    if (stack_id > 0)
        sqlite3_bind_int64(stmt, 14, stack_id);
    else
        sqlite3_bind_null(stmt, 14);
    store_bind_u64_blob(stmt, 15, t->pcs, sizeof t->pcs[0], pc_count);
    store_bind_u64_blob(stmt, 16, t->frame_count ? &t->frames[0].pc : NULL, sizeof *t->frames,
                        t->frame_count);
    if (pc_count > 0) {
        unsigned char flags[CAPTURE_MAX_FRAMES];
        for (size_t i = 0; i < pc_count; i++)
            flags[i] = t->pc_is_return[i] ? 1 : 0;
        sqlite3_bind_blob(stmt, 17, flags, (int)pc_count, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(stmt, 17);
    }
    int result = store_stacks_exec(store, stmt, "cannot write a thread", err, errlen);
    sqlite3_clear_bindings(stmt);
    return result;
}

static int store_stacks_write_locks(struct store *store, int64_t snapshot_id,
                                    const struct stacks_lock_report *locks, char *err,
                                    size_t errlen)
{
    sqlite3_stmt *stmt = store->stacks.insert_lock;
    for (size_t i = 0; i < locks->wait_count; i++) {
        const struct stacks_lock_wait *wait = &locks->waits[i];
        sqlite3_bind_int64(stmt, 1, snapshot_id);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)i);
        sqlite3_bind_int64(stmt, 3, wait->waiter);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)wait->address);
        sqlite3_bind_int64(stmt, 5, wait->owner);
        sqlite3_bind_text(stmt, 6, store_text(wait->kind), -1, SQLITE_TRANSIENT);
        if (store_stacks_exec(store, stmt, "cannot write a lock", err, errlen) < 0)
            return -1;
    }
    stmt = store->stacks.insert_deadlock;
    for (size_t c = 0; c < locks->cycle_count; c++) {
        for (size_t i = 0; i < locks->cycle_lengths[c]; i++) {
            sqlite3_bind_int64(stmt, 1, snapshot_id);
            sqlite3_bind_int64(stmt, 2, (sqlite3_int64)c);
            sqlite3_bind_int64(stmt, 3, (sqlite3_int64)i);
            sqlite3_bind_int64(stmt, 4, locks->cycles[c][i]);
            if (store_stacks_exec(store, stmt, "cannot write a deadlock", err, errlen) < 0)
                return -1;
        }
    }
    return 0;
}

/* Refuses what the writer cannot store or the reader would not read back. */
static int store_stacks_check_input(struct store *store, const struct capture_result *capture,
                                    const struct stacks_lock_report *locks, char *err,
                                    size_t errlen)
{
    if (capture->thread_count > 0 && !capture->threads) {
        store_error(err, errlen, "%s: a capture without its threads", store->name);
        return -1;
    }
    if (capture->thread_count > STORE_READ_MAX_THREADS) {
        store_error(err, errlen, "%s: %zu threads are more than a snapshot holds (%d)", store->name,
                    capture->thread_count, STORE_READ_MAX_THREADS);
        return -1;
    }
    size_t frames = 0;
    for (size_t i = 0; i < capture->thread_count; i++) {
        const struct capture_thread *t = &capture->threads[i];
        if (t->frame_count > 0 && !t->frames) {
            store_error(err, errlen, "%s: thread %d: frames missing", store->name, (int)t->tid);
            return -1;
        }
        if (t->frame_count > STORE_READ_MAX_DEPTH) {
            store_error(err, errlen, "%s: thread %d: %zu frames are more than a stack holds (%d)",
                        store->name, (int)t->tid, t->frame_count, STORE_READ_MAX_DEPTH);
            return -1;
        }
        frames += t->frame_count;
    }
    if (frames > STORE_READ_MAX_FRAMES_SUM) {
        store_error(err, errlen, "%s: %zu frames are more than a snapshot holds (%d)", store->name,
                    frames, STORE_READ_MAX_FRAMES_SUM);
        return -1;
    }
    if (!locks)
        return 0;
    bool complete = (locks->wait_count == 0 || locks->waits) &&
                    (locks->cycle_count == 0 || (locks->cycles && locks->cycle_lengths));
    size_t entries = 0;
    for (size_t c = 0; complete && c < locks->cycle_count; c++) {
        complete = locks->cycle_lengths[c] == 0 || locks->cycles[c];
        entries += locks->cycle_lengths[c];
    }
    if (!complete || locks->wait_count > STORE_READ_MAX_LOCK_ROWS ||
        entries > STORE_READ_MAX_LOCK_ROWS) {
        store_error(err, errlen, "%s: a lock report that cannot be stored", store->name);
        return -1;
    }
    return 0;
}

int64_t store_record_stacks(struct store *store, const struct capture_result *capture,
                            const struct stacks_lock_report *locks, char *err, size_t errlen)
{
    if (!store || store->read_only) {
        store_error(err, errlen, "%s: opened read-only, cannot record",
                    store ? store->name : "store");
        return -1;
    }
    if (!capture) {
        store_error(err, errlen, "%s: no capture to record", store->name);
        return -1;
    }
    if (store_stacks_check_input(store, capture, locks, err, errlen) < 0 ||
        store_stacks_prepare_write(store, err, errlen) < 0)
        return -1;
    struct store_stacks_writer writer;
    int64_t snapshot_id = -1;
    memset(&writer, 0, sizeof writer);
    if (store_exec(store, "BEGIN IMMEDIATE", "cannot start the snapshot's transaction", err,
                   errlen) < 0)
        return -1;

    sqlite3_stmt *stmt = store->stacks.insert_snapshot;
    sqlite3_bind_int64(stmt, 1, store->session_id);
    sqlite3_bind_text(stmt, 2, store_snapshot_kind_names[STORE_SNAPSHOT_STACKS], -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, capture->pid);
    store_bind_field(stmt, 4, capture->comm, sizeof capture->comm);
    sqlite3_bind_int64(stmt, 5, (sqlite3_int64)capture->started_us);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)capture->captured_us);
    sqlite3_bind_text(stmt, 7, store_unwinder_name(capture->unwinder), -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 8, capture->consistent ? 1 : 0);
    sqlite3_bind_int64(stmt, 9, (sqlite3_int64)capture->thread_count);
    sqlite3_bind_int64(stmt, 10, capture->stops.max_ns);
    sqlite3_bind_int64(stmt, 11, capture->stops.p99_ns);
    sqlite3_bind_int64(stmt, 12, capture->stops.total_ns);
    sqlite3_bind_int64(stmt, 13, (sqlite3_int64)capture->stops.count);
    store_bind_field(stmt, 14, capture->note, sizeof capture->note);
    if (store_stacks_exec(store, stmt, "cannot write the snapshot", err, errlen) < 0)
        goto roll_back;
    int64_t id = sqlite3_last_insert_rowid(store->db);
    for (size_t i = 0; i < capture->thread_count; i++)
        if (store_stacks_write_thread(store, &writer, id, i, &capture->threads[i], err, errlen) < 0)
            goto roll_back;
    if (locks && store_stacks_write_locks(store, id, locks, err, errlen) < 0)
        goto roll_back;
    if (store_exec(store, "COMMIT", "cannot commit the snapshot", err, errlen) < 0)
        goto roll_back;
    snapshot_id = id;
    goto free_writer;

roll_back:
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
free_writer:
    store_map_free(&writer.frames);
    store_map_free(&writer.threads);
    free(writer.ids);
    return snapshot_id;
}

/* ---- reading ---- */

/* A text column as an arena string; "" (and NULL) read as NULL when empty_is_null. Returns 0,
 * or -1 with err set when the snapshot's strings exceed the cap. */
static int store_stacks_column_string(struct store *store, sqlite3_stmt *stmt, int column,
                                      struct store_strings *strings, bool empty_is_null,
                                      const char **out, char *err, size_t errlen)
{
    const char *text = (const char *)sqlite3_column_text(stmt, column);
    size_t len = text ? (size_t)sqlite3_column_bytes(stmt, column) : 0;
    if (len > STORE_READ_MAX_NAME)
        len = STORE_READ_MAX_NAME;
    if (text)
        len = strnlen(text, len);
    if (len == 0 && empty_is_null) {
        *out = NULL;
        return 0;
    }
    if (strings->total + len + 1 > STORE_READ_MAX_STRINGS_SUM) {
        store_error(err, errlen, "%s: a snapshot's names are too big to read", store->name);
        return -1;
    }
    *out = store_strings_copy(strings, text ? text : "", len);
    return 0;
}

/* Reads up to max 8-byte values of a blob column into out (stride bytes apart); the rest of
 * the max entries are zeroed. Returns how many the blob held (at most max). */
static size_t store_stacks_column_u64s(sqlite3_stmt *stmt, int column, uint64_t *out, size_t stride,
                                       size_t max)
{
    const unsigned char *blob = sqlite3_column_blob(stmt, column);
    size_t n = blob ? (size_t)sqlite3_column_bytes(stmt, column) / 8 : 0;
    if (n > max)
        n = max;
    for (size_t i = 0; i < max; i++)
        *(uint64_t *)((char *)out + i * stride) = i < n ? store_get_u64(blob + 8 * i) : 0;
    return n;
}

static int store_stacks_prepare_read(struct store *store, char *err, size_t errlen)
{
    struct store_stacks_statements *s = &store->stacks;
    if (s->deadlocks)
        return 0;
    if (store_prepare(store, &s->snapshots,
                      "SELECT id, session_id, kind, pid, comm, taken_us, duration_us,"
                      " thread_count, unwinder, consistent, stop_max_ns, stop_p99_ns,"
                      " stop_total_ns, note, stop_count FROM snapshot"
                      " WHERE ?1 = 0 OR session_id = ?1 ORDER BY id LIMIT ?2",
                      err, errlen) < 0 ||
        store_prepare(store, &s->snapshot,
                      "SELECT id, session_id, kind, pid, comm, taken_us, duration_us,"
                      " thread_count, unwinder, consistent, stop_max_ns, stop_p99_ns,"
                      " stop_total_ns, note, stop_count FROM snapshot WHERE id = ?1",
                      err, errlen) < 0 ||
        store_prepare(store, &s->threads,
                      "SELECT tid, name, state, wchan, syscall, syscall_args, cpu_ticks, stop_ns,"
                      " was_stopped, is_kernel_thread, error, stack_id, pcs, frame_pcs,"
                      " pc_is_return FROM snapshot_thread WHERE snapshot_id = ?1"
                      " ORDER BY position LIMIT ?2",
                      err, errlen) < 0 ||
        store_prepare(store, &s->stack_frames,
                      "SELECT st.depth, sf.position, f.id, f.function, f.module,"
                      " f.module_offset, f.file, f.line, f.is_inline"
                      " FROM stack st LEFT JOIN stack_frame sf ON sf.stack_id = st.id"
                      " LEFT JOIN frame f ON f.id = sf.frame_id"
                      " WHERE st.id = ?1 ORDER BY sf.position LIMIT ?2",
                      err, errlen) < 0 ||
        store_prepare(store, &s->locks,
                      "SELECT waiter, address, owner, kind FROM snapshot_lock"
                      " WHERE snapshot_id = ?1 ORDER BY position LIMIT ?2",
                      err, errlen) < 0 ||
        store_prepare(store, &s->deadlocks,
                      "SELECT cycle, tid FROM snapshot_deadlock"
                      " WHERE snapshot_id = ?1 ORDER BY cycle, position LIMIT ?2",
                      err, errlen) < 0)
        return -1;
    return 0;
}

static int64_t store_nonnegative(int64_t value)
{
    return value > 0 ? value : 0;
}

/* Reads the columns of the snapshots/snapshot statements into out; returns stop_count. */
static size_t store_stacks_column_snapshot(sqlite3_stmt *stmt, struct store_snapshot *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(stmt, 0);
    out->session_id = sqlite3_column_int64(stmt, 1);
    out->kind = store_snapshot_kind_from_name((const char *)sqlite3_column_text(stmt, 2));
    out->pid = (pid_t)sqlite3_column_int64(stmt, 3);
    store_column_copy(stmt, 4, out->comm, sizeof out->comm);
    out->taken_us = (uint64_t)sqlite3_column_int64(stmt, 5);
    out->duration_us = (uint64_t)sqlite3_column_int64(stmt, 6);
    out->thread_count = (size_t)store_nonnegative(sqlite3_column_int64(stmt, 7));
    store_column_copy(stmt, 8, out->unwinder, sizeof out->unwinder);
    out->consistent = sqlite3_column_int64(stmt, 9) != 0;
    out->stop_max_ns = sqlite3_column_int64(stmt, 10);
    out->stop_p99_ns = sqlite3_column_int64(stmt, 11);
    out->stop_total_ns = sqlite3_column_int64(stmt, 12);
    store_column_copy(stmt, 13, out->note, sizeof out->note);
    return (size_t)store_nonnegative(sqlite3_column_int64(stmt, 14));
}

size_t store_snapshots(struct store *store, int64_t session_id, struct store_snapshot **out)
{
    *out = NULL;
    if (!store || store->schema_version < 2 || store_stacks_prepare_read(store, NULL, 0) < 0)
        return 0;
    sqlite3_stmt *stmt = store->stacks.snapshots;
    size_t count = 0, capacity = 0;
    int rc;
    sqlite3_bind_int64(stmt, 1, session_id);
    sqlite3_bind_int(stmt, 2, STORE_READ_MAX_SNAPSHOTS);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        xgrow((void **)out, &capacity, count + 1, sizeof **out);
        store_stacks_column_snapshot(stmt, &(*out)[count++]);
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        return 0;
    }
    return count;
}

void store_snapshots_free(struct store_snapshot *snapshots)
{
    free(snapshots);
}

/* One stack loaded for store_load_stacks(): its frames, pcs zero, strings in the arena. */
struct store_loaded_stack {
    struct capture_frame *frames; /* depth frames, innermost first */
    size_t depth;                 /* entries in frames, >= 1 */
};

/* The per-call state of store_load_stacks(). */
struct store_stacks_reader {
    int64_t snapshot_id;               /* snapshot being loaded, for messages */
    struct store_strings *strings;     /* arena of every string */
    struct store_map by_id;            /* stack row id -> index in stacks */
    struct store_loaded_stack *stacks; /* stacks loaded so far */
    size_t stack_count;                /* entries in stacks */
    size_t stack_capacity;             /* allocated entries of stacks */
    size_t frames_total;               /* frames of every thread and stack so far */
};

/* Loads stack stack_id into r->stacks. Returns its index, or -1 with err set. */
static long store_stacks_load_stack(struct store *store, struct store_stacks_reader *r,
                                    int64_t stack_id, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = store->stacks.stack_frames;
    struct capture_frame *frames = NULL;
    size_t n = 0, capacity = 0;
    bool found = false;
    int64_t depth = 0;
    int rc;
    const char *problem = NULL;
    sqlite3_bind_int64(stmt, 1, stack_id);
    sqlite3_bind_int(stmt, 2, STORE_READ_MAX_DEPTH + 1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (!found)
            depth = sqlite3_column_int64(stmt, 0);
        found = true;
        if (sqlite3_column_type(stmt, 1) == SQLITE_NULL) {
            problem = "has no frames";
            break;
        }
        if (sqlite3_column_int64(stmt, 1) != (int64_t)n) {
            problem = "has a gap in its frame positions";
            break;
        }
        if (sqlite3_column_type(stmt, 2) == SQLITE_NULL) {
            problem = "names a missing frame";
            break;
        }
        if (n >= STORE_READ_MAX_DEPTH || r->frames_total >= STORE_READ_MAX_FRAMES_SUM) {
            problem = "is too deep to read";
            break;
        }
        xgrow((void **)&frames, &capacity, n + 1, sizeof *frames);
        struct capture_frame *f = &frames[n++];
        r->frames_total++;
        memset(f, 0, sizeof *f);
        f->module_offset = (uint64_t)sqlite3_column_int64(stmt, 5);
        f->line = (int)sqlite3_column_int64(stmt, 7);
        f->is_inline = sqlite3_column_int64(stmt, 8) != 0;
        if (store_stacks_column_string(store, stmt, 3, r->strings, true, &f->function, err,
                                       errlen) < 0 ||
            store_stacks_column_string(store, stmt, 4, r->strings, true, &f->module, err, errlen) <
                0 ||
            store_stacks_column_string(store, stmt, 6, r->strings, true, &f->file, err, errlen) <
                0) {
            sqlite3_reset(stmt);
            free(frames);
            return -1;
        }
    }
    sqlite3_reset(stmt);
    if (!problem && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a stack", err, errlen);
        free(frames);
        return -1;
    }
    if (!problem && !found)
        problem = "does not exist";
    else if (!problem && depth != (int64_t)n)
        problem = "has a depth that does not match its frames";
    if (problem) {
        store_error(err, errlen, "%s: snapshot %lld: stack %lld %s", store->name,
                    (long long)r->snapshot_id, (long long)stack_id, problem);
        free(frames);
        return -1;
    }
    xgrow((void **)&r->stacks, &r->stack_capacity, r->stack_count + 1, sizeof *r->stacks);
    r->stacks[r->stack_count] = (struct store_loaded_stack){frames, n};
    store_map_insert(&r->by_id, (uint64_t)stack_id, NULL, NULL, (int64_t)r->stack_count);
    return (long)r->stack_count++;
}

/* Gives thread t the frames of stack stack_id (loading it on first use) and their pcs. */
static int store_stacks_thread_frames(struct store *store, struct store_stacks_reader *r,
                                      sqlite3_stmt *threads, int64_t stack_id,
                                      struct capture_thread *t, char *err, size_t errlen)
{
    int64_t index;
    if (!store_map_find(&r->by_id, (uint64_t)stack_id, NULL, NULL, &index)) {
        index = store_stacks_load_stack(store, r, stack_id, err, errlen);
        if (index < 0)
            return -1;
    }
    const struct store_loaded_stack *stack = &r->stacks[index];
    if (r->frames_total + stack->depth > STORE_READ_MAX_FRAMES_SUM) {
        store_error(err, errlen, "%s: snapshot %lld holds more frames than stacktop reads",
                    store->name, (long long)r->snapshot_id);
        return -1;
    }
    r->frames_total += stack->depth;
    t->frames = xmalloc(stack->depth * sizeof *t->frames);
    memcpy(t->frames, stack->frames, stack->depth * sizeof *t->frames);
    t->frame_count = stack->depth;
    store_stacks_column_u64s(threads, 13, &t->frames[0].pc, sizeof *t->frames, stack->depth);
    return 0;
}

/* Frees what store_load_stacks() allocated in out (not the strings). */
static void store_stacks_release_capture(struct capture_result *out)
{
    for (size_t i = 0; i < out->thread_count; i++) {
        free(out->threads[i].frames);
        free(out->threads[i].pcs);
    }
    free(out->threads);
    memset(out, 0, sizeof *out);
}

static void store_stacks_release_locks(struct stacks_lock_report *locks)
{
    for (size_t c = 0; c < locks->cycle_count; c++)
        free(locks->cycles[c]);
    free(locks->cycles);
    free(locks->cycle_lengths);
    free(locks->waits);
    memset(locks, 0, sizeof *locks);
}

static int store_stacks_load_threads(struct store *store, struct store_stacks_reader *r,
                                     struct capture_result *out, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = store->stacks.threads;
    size_t capacity = 0;
    int rc;
    sqlite3_bind_int64(stmt, 1, r->snapshot_id);
    sqlite3_bind_int(stmt, 2, STORE_READ_MAX_THREADS + 1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (out->thread_count >= STORE_READ_MAX_THREADS) {
            sqlite3_reset(stmt);
            store_error(err, errlen, "%s: snapshot %lld holds more threads than stacktop reads",
                        store->name, (long long)r->snapshot_id);
            return -1;
        }
        xgrow((void **)&out->threads, &capacity, out->thread_count + 1, sizeof *out->threads);
        struct capture_thread *t = &out->threads[out->thread_count++];
        memset(t, 0, sizeof *t);
        const unsigned char *state = sqlite3_column_text(stmt, 2);
        t->tid = (pid_t)sqlite3_column_int64(stmt, 0);
        store_column_copy(stmt, 1, t->name, sizeof t->name);
        t->state = state && sqlite3_column_bytes(stmt, 2) > 0 ? (char)state[0] : 0;
        store_column_copy(stmt, 3, t->wchan, sizeof t->wchan);
        t->syscall = (long)sqlite3_column_int64(stmt, 4);
        store_stacks_column_u64s(stmt, 5, t->syscall_args, sizeof t->syscall_args[0], 6);
        t->cpu_ticks = (uint64_t)sqlite3_column_int64(stmt, 6);
        t->stop_ns = sqlite3_column_int64(stmt, 7);
        t->was_stopped = sqlite3_column_int64(stmt, 8) != 0;
        t->is_kernel_thread = sqlite3_column_int64(stmt, 9) != 0;
        store_column_copy(stmt, 10, t->error, sizeof t->error);
        uint64_t pcs[CAPTURE_MAX_FRAMES];
        bool is_return[CAPTURE_MAX_FRAMES] = {false};
        size_t pc_count =
            store_stacks_column_u64s(stmt, 12, pcs, sizeof pcs[0], CAPTURE_MAX_FRAMES);
        const unsigned char *flags = sqlite3_column_blob(stmt, 14);
        size_t flag_count = flags ? (size_t)sqlite3_column_bytes(stmt, 14) : 0;
        for (size_t i = 0; i < pc_count && i < flag_count; i++)
            is_return[i] = flags[i] != 0;
        capture_thread_set_pcs(t, pcs, is_return, pc_count);
        if (sqlite3_column_type(stmt, 11) != SQLITE_NULL &&
            store_stacks_thread_frames(store, r, stmt, sqlite3_column_int64(stmt, 11), t, err,
                                       errlen) < 0) {
            sqlite3_reset(stmt);
            return -1;
        }
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a snapshot's threads", err, errlen);
        return -1;
    }
    return 0;
}

static int store_stacks_load_locks(struct store *store, struct store_stacks_reader *r,
                                   struct stacks_lock_report *locks, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = store->stacks.locks;
    size_t capacity = 0, cycles_capacity = 0, lengths_capacity = 0, members_capacity = 0;
    int64_t current_cycle = 0;
    int rc;
    sqlite3_bind_int64(stmt, 1, r->snapshot_id);
    sqlite3_bind_int(stmt, 2, STORE_READ_MAX_LOCK_ROWS);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        xgrow((void **)&locks->waits, &capacity, locks->wait_count + 1, sizeof *locks->waits);
        struct stacks_lock_wait *wait = &locks->waits[locks->wait_count++];
        wait->waiter = (pid_t)sqlite3_column_int64(stmt, 0);
        wait->address = (uint64_t)sqlite3_column_int64(stmt, 1);
        wait->owner = (pid_t)sqlite3_column_int64(stmt, 2);
        if (store_stacks_column_string(store, stmt, 3, r->strings, false, &wait->kind, err,
                                       errlen) < 0) {
            sqlite3_reset(stmt);
            return -1;
        }
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        goto read_error;
    stmt = store->stacks.deadlocks;
    sqlite3_bind_int64(stmt, 1, r->snapshot_id);
    sqlite3_bind_int(stmt, 2, STORE_READ_MAX_LOCK_ROWS);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t cycle = sqlite3_column_int64(stmt, 0);
        if (locks->cycle_count == 0 || cycle != current_cycle) {
            xgrow((void **)&locks->cycles, &cycles_capacity, locks->cycle_count + 1,
                  sizeof *locks->cycles);
            xgrow((void **)&locks->cycle_lengths, &lengths_capacity, locks->cycle_count + 1,
                  sizeof *locks->cycle_lengths);
            locks->cycles[locks->cycle_count] = NULL;
            locks->cycle_lengths[locks->cycle_count] = 0;
            locks->cycle_count++;
            current_cycle = cycle;
            members_capacity = 0;
        }
        size_t c = locks->cycle_count - 1;
        xgrow((void **)&locks->cycles[c], &members_capacity, locks->cycle_lengths[c] + 1,
              sizeof *locks->cycles[c]);
        locks->cycles[c][locks->cycle_lengths[c]++] = (pid_t)sqlite3_column_int64(stmt, 1);
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        goto read_error;
    return 0;
read_error:
    store_sqlite_error(store, "cannot read a snapshot's locks", err, errlen);
    return -1;
}

struct store_stacks_reader *store_stacks_reader_new(int64_t snapshot_id)
{
    struct store_stacks_reader *r = xcalloc(1, sizeof *r);
    r->snapshot_id = snapshot_id;
    r->strings = xcalloc(1, sizeof *r->strings);
    return r;
}

int store_stacks_reader_stack(struct store *store, struct store_stacks_reader *r, int64_t stack_id,
                              const struct capture_frame **frames, size_t *depth, char *err,
                              size_t errlen)
{
    if (store_stacks_prepare_read(store, err, errlen) < 0)
        return -1;
    int64_t index;
    if (!store_map_find(&r->by_id, (uint64_t)stack_id, NULL, NULL, &index)) {
        index = store_stacks_load_stack(store, r, stack_id, err, errlen);
        if (index < 0)
            return -1;
    }
    *frames = r->stacks[index].frames;
    *depth = r->stacks[index].depth;
    return 0;
}

struct store_strings *store_stacks_reader_take_strings(struct store_stacks_reader *r)
{
    struct store_strings *strings = r->strings;
    r->strings = NULL;
    return strings;
}

void store_stacks_reader_free(struct store_stacks_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->stack_count; i++)
        free(r->stacks[i].frames);
    free(r->stacks);
    store_map_free(&r->by_id);
    store_strings_free(r->strings);
    free(r);
}

int store_load_stacks(struct store *store, int64_t snapshot_id, struct capture_result *out,
                      struct stacks_lock_report *locks_out, struct store_strings **strings_out,
                      char *err, size_t errlen)
{
    struct store_stacks_reader reader;
    struct store_snapshot row;
    int result = -1;
    memset(out, 0, sizeof *out);
    if (locks_out)
        memset(locks_out, 0, sizeof *locks_out);
    *strings_out = NULL;
    memset(&reader, 0, sizeof reader);
    if (!store) {
        store_error(err, errlen, "store: no file");
        return -1;
    }
    if (store->schema_version < 2) {
        store_error(err, errlen,
                    "%s: no snapshot %lld (the file is of schema version %lld, "
                    "which holds no snapshots)",
                    store->name, (long long)snapshot_id, (long long)store->schema_version);
        return -1;
    }
    if (store_stacks_prepare_read(store, err, errlen) < 0)
        return -1;
    sqlite3_stmt *stmt = store->stacks.snapshot;
    sqlite3_bind_int64(stmt, 1, snapshot_id);
    int rc = sqlite3_step(stmt);
    size_t stop_count = rc == SQLITE_ROW ? store_stacks_column_snapshot(stmt, &row) : 0;
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_error(store, "cannot read a snapshot", err, errlen);
        return -1;
    }
    if (rc == SQLITE_DONE) {
        store_error(err, errlen, "%s: no snapshot %lld", store->name, (long long)snapshot_id);
        return -1;
    }
    if (row.kind != STORE_SNAPSHOT_STACKS) {
        store_error(err, errlen, "%s: snapshot %lld is not a stack capture", store->name,
                    (long long)snapshot_id);
        return -1;
    }
    out->pid = row.pid;
    memcpy(out->comm, row.comm, sizeof out->comm);
    out->started_us = row.taken_us;
    out->captured_us = row.duration_us;
    out->unwinder = store_unwinder_from_name(row.unwinder);
    out->consistent = row.consistent;
    out->stops.max_ns = row.stop_max_ns;
    out->stops.p99_ns = row.stop_p99_ns;
    out->stops.total_ns = row.stop_total_ns;
    out->stops.count = stop_count;
    memcpy(out->note, row.note, sizeof out->note);

    reader.snapshot_id = snapshot_id;
    reader.strings = xcalloc(1, sizeof *reader.strings);
    if (store_stacks_load_threads(store, &reader, out, err, errlen) < 0 ||
        (locks_out && store_stacks_load_locks(store, &reader, locks_out, err, errlen) < 0))
        goto release_outputs;
    *strings_out = reader.strings;
    reader.strings = NULL;
    result = 0;
    goto free_reader;

release_outputs:
    store_stacks_release_capture(out);
    if (locks_out)
        store_stacks_release_locks(locks_out);
free_reader:
    for (size_t i = 0; i < reader.stack_count; i++)
        free(reader.stacks[i].frames);
    free(reader.stacks);
    store_map_free(&reader.by_id);
    store_strings_free(reader.strings);
    return result;
}

void store_stacks_free(struct store *store)
{
    struct store_stacks_statements *s = &store->stacks;
    sqlite3_stmt **all[] = {&s->insert_snapshot,
                            &s->find_frame,
                            &s->insert_frame,
                            &s->find_stack,
                            &s->stack_frame_ids,
                            &s->insert_stack,
                            &s->insert_stack_frame,
                            &s->insert_thread,
                            &s->insert_lock,
                            &s->insert_deadlock,
                            &s->snapshots,
                            &s->snapshot,
                            &s->threads,
                            &s->stack_frames,
                            &s->locks,
                            &s->deadlocks};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
}
