#pragma once

/*
 * Purge notices: subscribes to REPLICA_PURGE_CHANNEL (Redis db1) and, for
 * each name published there, drops the name and everything below it from
 * the serve-stale store and asks PowerDNS to flush it from its caches:
 *   PUT <pdns_api_url>/api/v1/servers/localhost/cache/flush?domain=<name>
 * with X-API-Key. Flushes wait in a queue and go PURGE_SENDING at a time (the
 * API answers one request after the other, each in about 2 ms). A notice for
 * a name already queued is merged into it; for a name whose flush is in
 * flight, one more flush follows when the current one ends. When more than
 * PURGE_COLLAPSE names are queued, they are replaced by one flush of the root
 * (everything): a burst of changes to many names costs the caches a refill
 * instead of delaying each flush further (counted). At most
 * PURGE_INFLIGHT_MAX flushes exist at once (queued, sent, or waiting for
 * their second round); beyond that a notice is dropped (logged, counted) and
 * the PowerDNS cache TTLs (20 s / 60 s) bound the staleness.
 *
 * A notice needs no flush when no pdns cache can hold anything at or below
 * the name: nothing there was answered (or asked, recent.c) for longer than
 * pdns keeps an answer, and the name is no zone (a flush of a zone also makes
 * pdns's zone cache learn it; the Redis replica says, lookup_zone_check).
 * pdns gets a name's data only by a lookup of that name (CNAME targets, MX
 * and SRV targets, glue: each looked up by its own name), and a lookup marks
 * the name's ancestors too. How long pdns keeps an answer comes from its API
 * (GET .../config, every PURGE_CONFIG_POLL_MS): max(query-cache-ttl,
 * negquery-cache-ttl) + cache-ttl + PURGE_WINDOW_MARGIN_MS. A value read
 * more than PURGE_CONFIG_TRUST_MS ago, a failed read, less than that long
 * since this process started (unless a root flush sent PURGE_WINDOW_MARGIN_MS
 * or more after the start succeeded: one is sent then), a wall clock that
 * went back (pdns expires by it), a failed or refused zone check: the name
 * is flushed. The replica (db0) and the purge channel must be on the same
 * Redis server, as the mirror already assumes: a lookup after the notice
 * must find the new data.
 * Counted in ddns_backend_flushes_unneeded_total. After a notice, every
 * source answers the new data, so only lookups that started before it can
 * carry old data into pdns, and those marked the name when they started.
 *
 * Pub/sub loses messages while nobody listens: after every subscription,
 * the first one too (notices published before this process started are
 * lost as well), the whole cache is flushed (domain=.), again with each
 * config poll until one such flush succeeded.
 *
 * Without an API URL or key, flushes are skipped (logged once).
 */

#include "backend/lookup.h"
#include "backend/stats.h"

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct purge;

#define PURGE_INFLIGHT_MAX    1024
#define PURGE_SENDING         2
#define PURGE_COLLAPSE        32
#define PURGE_COLLAPSE_LOG_MS 10000
#define PURGE_TIMEOUT_S       5
#define PURGE_REFLUSH_MS      100
#define PURGE_CONFIG_POLL_MS  1000
/*
 * A pdns restarted with longer cache TTLs starts with empty caches: its
 * entries are younger than the last read of its config as long as that read
 * is trusted for less than the margin.
 */
#define PURGE_CONFIG_TRUST_MS  2000
#define PURGE_WINDOW_MARGIN_MS 3000
/* A wall clock step back larger than this holds the skipping (pdns expires by it). */
#define PURGE_WALL_STEP_MS 1000
/* Zone checks out at once on the lookups' Redis client; beyond, notices are flushed. */
#define PURGE_CHECKS_MAX 256

struct purge_config {
	const char *redis_url; /* borrowed: the pub/sub Redis (db1) */
	const char *api_url;   /* borrowed: http://host:port; NULL or "": no flushes */
	const char *api_key;   /* borrowed; NULL or "": no flushes */
};

/*
 * @lookup and @stats are borrowed (may be NULL). Returns 0, -EINVAL (bad
 * URL), -ENOMEM.
 */
int purge_create(struct event_base *base, const struct purge_config *cfg, struct lookup *lookup,
		 struct backend_stats *stats, struct purge **ret);
void purge_destroy(struct purge *p); /* NULL-safe */

/* Handles one notice as if it came from the channel (tests). */
void purge_notice(struct purge *p, const char *name, size_t len);

/*
 * How long pdns may keep an answer, in ms, from the body of its API's
 * GET /api/v1/servers/localhost/config (a JSON array of {"name", "value"}):
 * max(query-cache-ttl, negquery-cache-ttl) + cache-ttl seconds, plus
 * PURGE_WINDOW_MARGIN_MS. Returns 0, or -EPROTO when the body is not such an
 * array or a setting is missing or not a number of seconds (0 to 2^31 - 1).
 */
int purge_window_parse(const char *body, size_t len, int64_t *ret_ms);

/* What decides whether a notice needs a flush; times from clock_ms(). */
struct purge_window {
	int64_t window_ms;  /* how long pdns may keep an answer (purge_window_parse); -1 unknown */
	int64_t asked_ms;   /* when the config read that gave it was sent */
	int64_t started_ms; /* when this process started */
	int64_t clean_ms;   /* a root flush sent PURGE_WINDOW_MARGIN_MS or more after the
			     * start succeeded (sent then); INT64_MIN: none yet */
	int64_t hold_until_ms; /* the wall clock went back: nothing is needless before */
};

/*
 * Whether a notice of a name needs no flush at @now, given @last_ms, the
 * last answer at or below it (recent_last; INT64_MIN: never): the window is
 * known and was read less than PURGE_CONFIG_TRUST_MS ago, no hold, every
 * answer pdns holds is this process's (it ran longer than the window, or a
 * clean root flush), and the last answer is older than the window. The
 * caller also keeps the root and zones out.
 */
bool purge_window_needless(const struct purge_window *w, int64_t now, int64_t last_ms);

/* Flushes waiting or in flight. */
unsigned purge_in_flight(const struct purge *p);
