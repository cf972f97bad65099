#pragma once

/*
 * What /readyz and the queue gauges look at, asked from the daemon's event
 * loop with the asynchronous Redis client (shared/redis.h, which times out
 * its commands itself), independently of the engine's thread, so readiness
 * stays true while a slow send is in hand: every second XINFO GROUPS jobs
 * and XLEN jobs.
 *
 * Ready: Redis answered within the last 5 seconds and the group `worker`
 * exists on the stream `jobs`.
 *
 * Gauges: ddns_worker_queue_lag (entries not yet delivered to the group:
 * XINFO's lag, or XLEN minus pending when Redis cannot tell it, which is
 * exact since handled entries are deleted) and ddns_worker_queue_pending
 * (delivered, not acknowledged: in hand, waiting for a retry, or held by a
 * dead consumer until re-claimed).
 *
 * Threads: the event_base's thread only.
 */

#include <jansson.h>
#include <stdbool.h>

struct event_base;
struct metrics_registry;
struct monitor;

/* @base and @metrics borrowed; NULL on a bad URL (logged) or out of memory. */
struct monitor *monitor_create(struct event_base *base, const char *redis_url,
			       struct metrics_registry *metrics);
/* NULL-safe; run the loop a turn afterwards (the Redis client frees its context then). */
void monitor_destroy(struct monitor *m);

/* Readiness, with details in @checks (a JSON object, may be NULL). */
bool monitor_ready(const struct monitor *m, json_t *checks);
