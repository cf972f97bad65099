#pragma once

/*
 * The answer path: the in-memory mirror of the replica when usable
 * (mirror.h), else the Redis replica (db0), PostgreSQL when Redis is
 * unreachable or holds no complete replica, the serve-stale store when
 * neither can answer. Implements struct source_ops (see source.h).
 *
 *   Redis {gen, json}  -> found (and stored as stale)
 *   Redis {gen, ""}    -> absent: {"result":false} (and dropped from stale)
 *   Redis nil          -> no complete replica: PostgreSQL
 *   Redis down/timeout -> PostgreSQL
 *   PostgreSQL failed  -> stale copy (TTLs capped) or failure (SERVFAIL)
 *
 * A failure is never turned into "absent". Zone lists fall back the same
 * way, the last good list playing the stale copy. list (AXFR) reads
 * PostgreSQL only.
 */

#include "backend/source.h"
#include "backend/stale.h"
#include "backend/stats.h"
#include "shared/redis.h"

#include <jansson.h>
#include <stdbool.h>

struct event_base;
struct redis_client;
struct db_pool;
struct mirror;

struct lookup_config {
	const char *redis_url;    /* borrowed: replica (db0); NULL: no Redis */
	const char *database_url; /* borrowed: NULL: no PostgreSQL */
	long long redis_timeout_ms;
	long long db_timeout_ms;
	unsigned db_pool_size;
	size_t stale_entries, stale_bytes;
	long long stale_ttl_cap;    /* seconds */
	long long stale_max_age_ms; /* 0: no limit */
	size_t list_max_records;
	bool mirror;             /* answer from an in-memory mirror of the replica */
	size_t mirror_max_bytes; /* its bound */
};

struct lookup;

extern const struct source_ops lookup_source_ops;

/*
 * Creates the stores on @base (borrowed) and starts connecting. @stats is
 * borrowed and may be NULL. Returns 0, -EINVAL (bad URL), -ENOMEM.
 */
int lookup_create(struct event_base *base, const struct lookup_config *cfg,
		  struct backend_stats *stats, struct lookup **ret);
/* Completes every pending operation and frees; NULL-safe. Run the loop a turn afterwards. */
void lookup_destroy(struct lookup *l);

/* TTL cap of stale answers (reloadable). */
void lookup_set_stale_ttl_cap(struct lookup *l, long long seconds);

/* Slots of the table of when names were last answered (2^16: 512 KiB). */
#define LOOKUP_RECENT_BITS 16

/*
 * A time (clock_ms()) no earlier than the last lookup (its start or its
 * answer) of @name or any name below it; INT64_MIN when there was none.
 */
int64_t lookup_last_answer(const struct lookup *l, const char *name);

/*
 * Asks the Redis replica whether @name (normalized) is a zone, with
 * replica_is_zone_lua (by its SHA once loaded): @cb (see redis_reply_fn)
 * gets integer 0 when it is not, 1 when it is or the replica cannot say,
 * an error reply or NULL on failure. Returns 0,
 * or fails at once without calling @cb (-ENOTCONN, -ENOBUFS).
 */
int lookup_zone_check(struct lookup *l, const char *name, redis_reply_fn cb, void *arg);

/* Forgets the stale answers of @name and below (purge notices). */
void lookup_stale_drop(struct lookup *l, const char *name);

/* The mirror (borrowed) or NULL: the purge subscriber feeds it name notices. */
struct mirror *lookup_mirror(struct lookup *l);

/* Readiness: Redis connected with a complete replica, or PostgreSQL reachable. */
bool lookup_ready(struct lookup *l, json_t *checks);
