#pragma once

/*
 * The metrics of ddns-backend. Every field may be NULL (a test without a
 * registry, a failed registration): metric updates accept NULL.
 */

#include "backend/proto.h"
#include "shared/metrics.h"

struct backend_stats {
	struct metric *requests[PROTO_METHOD_COUNT]; /* by method */
	struct metric *redis_hits;   /* answered by the Redis replica (found or absent) */
	struct metric *redis_misses; /* no complete replica, or Redis failed */
	struct metric *mirror_hits;  /* answered by the in-memory mirror (found or absent) */
	struct metric *pg_fallbacks; /* answered by PostgreSQL */
	struct metric *stale_served; /* answered from the serve-stale store */
	struct metric *errors;       /* error replies (SERVFAIL) */
	struct metric *deadline_expired;
	struct metric *bad_requests; /* unparsable or over-long lines */
	struct metric *connections;  /* gauge: open connections */
	struct metric *latency;      /* histogram: seconds from request to reply */
	struct metric *purges;       /* cache flushes sent to pdns */
	struct metric *purge_errors;
	struct metric *purge_collapses;  /* queued flushes replaced by one of the root */
	struct metric *flushes_unneeded; /* notices no pdns cache could concern */
	struct metric *cache_window;     /* gauge: seconds pdns may keep an answer; -1 unknown */
	struct metric *stale_entries;    /* gauge */
};

/* Registers every metric in @reg; fields stay NULL when registration fails. */
void backend_stats_init(struct backend_stats *st, struct metrics_registry *reg);
