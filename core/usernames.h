/*
 * usernames: a cache from uid to user name, so that the password database (which may sit
 * behind NSS, LDAP or sssd) is asked once per uid for the life of the cache.
 *
 * Owns: the names it has looked up, including the misses (a uid without a name is cached
 * as its decimal form and never asked again).
 */
#ifndef STACKTOP_USERNAMES_H
#define STACKTOP_USERNAMES_H

#include <stddef.h>
#include <sys/types.h>

struct usernames;

struct usernames *usernames_new(void);
void usernames_free(struct usernames *cache);

/* Copies the name of uid (or the uid in decimal when it has none) into out, NUL-terminated
 * and cut to out_size - 1 bytes. */
void usernames_lookup(struct usernames *cache, uid_t uid, char *out, size_t out_size);

#endif
