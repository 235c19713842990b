/*
 * usernames: uid -> name cache (see usernames.h).
 *
 * An open-addressing hash table keyed by uid. Invariants: the slot count is a power of two
 * and at most half full, so every probe sequence ends at an empty slot.
 */
#include "usernames.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

#define USERNAME_MAX 33 /* kept bytes of a name, NUL included (as PROC_USER_MAX) */

/* One cached uid. */
struct username_slot {
    bool used;               /* slot holds an entry */
    uid_t uid;               /* the key */
    char name[USERNAME_MAX]; /* its name, or the uid in decimal */
};

struct usernames {
    struct username_slot *slots; /* slot_count slots */
    size_t slot_count;           /* power of two */
    size_t used_count;           /* slots in use, at most slot_count / 2 */
};

struct usernames *usernames_new(void)
{
    struct usernames *cache = xcalloc(1, sizeof(*cache));
    cache->slot_count = 64;
    cache->slots = xcalloc(cache->slot_count, sizeof(*cache->slots));
    return cache;
}

void usernames_free(struct usernames *cache)
{
    if (!cache)
        return;
    free(cache->slots);
    free(cache);
}

static size_t slot_index(uid_t uid, size_t slot_count)
{
    return ((size_t)uid * 2654435761u) & (slot_count - 1);
}

/* The slot of uid, or the empty slot where it belongs. */
static struct username_slot *find_slot(struct username_slot *slots, size_t slot_count, uid_t uid)
{
    size_t index = slot_index(uid, slot_count);
    while (slots[index].used && slots[index].uid != uid)
        index = (index + 1) & (slot_count - 1);
    return &slots[index];
}

static void grow(struct usernames *cache)
{
    size_t new_count = cache->slot_count * 2;
    struct username_slot *new_slots = xcalloc(new_count, sizeof(*new_slots));
    for (size_t i = 0; i < cache->slot_count; i++) {
        if (cache->slots[i].used)
            *find_slot(new_slots, new_count, cache->slots[i].uid) = cache->slots[i];
    }
    free(cache->slots);
    cache->slots = new_slots;
    cache->slot_count = new_count;
}

/* Asks the password database once; falls back to the decimal uid. */
static void resolve(uid_t uid, char *name, size_t name_size)
{
    long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t buffer_size = suggested > 0 ? (size_t)suggested : 4096;
    struct passwd entry, *result = NULL;
    for (;;) {
        char *buffer = xmalloc(buffer_size);
        int rc = getpwuid_r(uid, &entry, buffer, buffer_size, &result);
        if (rc == 0 && result && result->pw_name && result->pw_name[0]) {
            snprintf(name, name_size, "%s", result->pw_name);
            free(buffer);
            return;
        }
        free(buffer);
        if (rc != ERANGE || buffer_size >= (1u << 20))
            break;
        buffer_size *= 2;
    }
    snprintf(name, name_size, "%u", (unsigned)uid);
}

void usernames_lookup(struct usernames *cache, uid_t uid, char *out, size_t out_size)
{
    struct username_slot *slot = find_slot(cache->slots, cache->slot_count, uid);
    if (!slot->used) {
        if ((cache->used_count + 1) * 2 > cache->slot_count) {
            grow(cache);
            slot = find_slot(cache->slots, cache->slot_count, uid);
        }
        slot->used = true;
        slot->uid = uid;
        resolve(uid, slot->name, sizeof(slot->name));
        cache->used_count++;
    }
    if (out_size > 0)
        snprintf(out, out_size, "%s", slot->name);
}
