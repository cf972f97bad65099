#pragma once

/*
 * The serve-stale store: the last good answer of recently asked names, kept
 * in memory for when neither Redis nor PostgreSQL can answer (RFC 8767 in
 * spirit). Only positive answers are kept: a name that was absent has no
 * entry, so during an outage it answers SERVFAIL, never "no such name".
 *
 * Bounded by entry count and bytes (names, answers and bookkeeping); the
 * least recently stored or confirmed entry goes first (LRU). Every TTL of an
 * answer served from here is capped, and an entry older than max_age is not
 * served (and dropped).
 *
 * Not thread-safe: it belongs to the loop thread.
 */

#include <stddef.h>
#include <stdint.h>

struct stale;

/* Accounting overhead of one entry besides its name and answer. */
#define STALE_ENTRY_OVERHEAD 64

/* @max_entries, @max_bytes > 0. Returns NULL when out of memory or bad bounds. */
struct stale *stale_create(size_t max_entries, size_t max_bytes);
void stale_destroy(struct stale *s); /* NULL-safe */

/*
 * Stores (or confirms) the answer @json (@len bytes, a JSON array) of @name
 * (normalized) as of @now_ms, evicting the oldest entries to stay within the
 * bounds. An answer larger than a quarter of max_bytes is not kept.
 * Returns 0, -E2BIG (not kept), -ENOMEM.
 */
int stale_put(struct stale *s, const char *name, const char *json, size_t len, int64_t now_ms);

/* Forgets @name (it no longer exists). */
void stale_remove(struct stale *s, const char *name);

/* Forgets @name and every name below it; returns how many entries went. */
size_t stale_drop_below(struct stale *s, const char *name);

/*
 * The stored answer of @name with every "ttl" capped at @ttl_cap seconds,
 * as a new string (*ret_json, malloc'd). An entry stored more than
 * @max_age_ms ago (0: no limit) is dropped and not served. Returns 0,
 * -ENOENT, -ENOMEM.
 */
int stale_get(struct stale *s, const char *name, long long ttl_cap, long long max_age_ms,
	      int64_t now_ms, char **ret_json);

size_t stale_count(const struct stale *s);
size_t stale_bytes(const struct stale *s);
