#pragma once

/*
 * keys: the public keys that verify tokens, by kid, cached in memory.
 *
 * A user's key is read from PostgreSQL (api_keys joined with active users)
 * on the first use of its kid and kept for ttl_ms; a kid that is unknown or
 * revoked is remembered as such for negative_ttl_ms, so a burst of requests
 * costs at most one query per kid (concurrent lookups of a kid being read
 * wait for that one query). keys_forget() drops a kid at once (the
 * revocation event); a read that was in flight then is delivered to its
 * waiters but not kept. Static keys (the platform's own) never expire.
 *
 * The cache holds at most KEYS_MAX entries; when full, expired entries are
 * dropped, and if none are, new results are used but not kept.
 *
 * Threads: everything runs on the pool's event loop.
 */

#include "shared/jwt.h"

#include <stdbool.h>
#include <stdint.h>

struct db_pool;
struct metrics_registry;

#define KEYS_MAX 65536

/*
 * The result of a lookup. On success @key is borrowed for the duration of
 * the call and @reason is JWT_OK; a kid that is unknown, revoked or whose
 * owner is disabled gives @key NULL and JWT_KEY_UNKNOWN or JWT_KEY_REVOKED;
 * @err < 0 (with @key NULL) when PostgreSQL could not be asked. @serial
 * names this key as loaded: it differs for every load, so what was verified
 * with a key that has since been dropped or read again does not match.
 */
typedef void (*keys_fn)(const struct jwt_key *key, uint64_t serial, enum jwt_reason reason, int err,
			void *arg);

struct keys;

/* @pool and @metrics are borrowed. NULL when out of memory. */
struct keys *keys_create(struct db_pool *pool, long long ttl_ms, long long negative_ttl_ms,
			 struct metrics_registry *metrics);
/* Waiting lookups are answered with -ECANCELED first. NULL-safe. */
void keys_destroy(struct keys *k);

/* Adds a key that never expires nor is forgotten; steals @key. 0, -EEXIST, -ENOMEM. */
int keys_add_static(struct keys *k, const char *kid, struct jwt_key *key);

/*
 * Looks @kid up. @cb runs exactly once: at once (from inside this call)
 * when the cache answers, later otherwise.
 */
void keys_lookup(struct keys *k, const char *kid, keys_fn cb, void *arg);

/* Whether @kid is answered from memory now (no query needed). */
bool keys_cached(struct keys *k, const char *kid);

/* Drops @kid from the cache (not static keys). */
void keys_forget(struct keys *k, const char *kid);

/* Drops every key but the static ones (revocation events may have been missed). */
void keys_forget_all(struct keys *k);

/* Records that @kid was used (api_keys.last_used_at, at most once a minute per key). */
void keys_touch(struct keys *k, const char *kid);
