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
 * Pub/sub loses messages while the subscriber reconnects: after every
 * reconnect the whole cache is flushed (domain=.).
 *
 * Without an API URL or key, flushes are skipped (logged once).
 */

#include "backend/lookup.h"
#include "backend/stats.h"

struct event_base;
struct purge;

#define PURGE_INFLIGHT_MAX    1024
#define PURGE_SENDING         2
#define PURGE_COLLAPSE        32
#define PURGE_COLLAPSE_LOG_MS 10000
#define PURGE_TIMEOUT_S       5
#define PURGE_REFLUSH_MS      100

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

/* Flushes waiting or in flight. */
unsigned purge_in_flight(const struct purge *p);
