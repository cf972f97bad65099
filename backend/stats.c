/* The metrics of ddns-backend. */

#include "backend/stats.h"

#include <string.h>

static const double latency_buckets[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
					  0.005,  0.01,    0.025,  0.05,  0.1,
					  0.25,   0.5,     1,      1.5,   2 };

void backend_stats_init(struct backend_stats *st, struct metrics_registry *reg)
{
	static const char *const labels[] = { "method" };
	struct metric_family *req;

	memset(st, 0, sizeof(*st));
	if (!reg)
		return;
	req = metrics_counter_vec(reg, "ddns_backend_requests_total",
				  "Remote-backend requests by method.", labels, 1);
	for (int m = 0; m < PROTO_METHOD_COUNT; m++)
		st->requests[m] = metric_with(req, (const char *const[]){ proto_method_name(m) });
	st->redis_hits = metrics_counter(reg, "ddns_backend_redis_hits_total",
					 "Lookups answered by the Redis replica.");
	st->mirror_hits = metrics_counter(reg, "ddns_backend_mirror_hits_total",
					  "Lookups answered by the in-memory mirror.");
	st->redis_misses =
		metrics_counter(reg, "ddns_backend_redis_misses_total",
				"Lookups the Redis replica could not answer (incomplete or down).");
	st->pg_fallbacks = metrics_counter(reg, "ddns_backend_pg_fallbacks_total",
					   "Lookups answered by PostgreSQL.");
	st->stale_served = metrics_counter(reg, "ddns_backend_stale_served_total",
					   "Answers served from the serve-stale store.");
	st->errors = metrics_counter(reg, "ddns_backend_errors_total",
				     "Error replies (pdns answers SERVFAIL).");
	st->deadline_expired = metrics_counter(reg, "ddns_backend_deadline_expired_total",
					       "Requests that reached their deadline.");
	st->bad_requests = metrics_counter(reg, "ddns_backend_bad_requests_total",
					   "Unparsable or over-long request lines.");
	st->connections =
		metrics_gauge(reg, "ddns_backend_connections", "Open remote-backend connections.");
	st->latency = metrics_histogram(reg, "ddns_backend_request_duration_seconds",
					"Time from a request to its reply.", latency_buckets,
					sizeof(latency_buckets) / sizeof(latency_buckets[0]));
	st->purges = metrics_counter(reg, "ddns_backend_purges_total",
				     "Cache flushes sent to the PowerDNS API.");
	st->purge_errors = metrics_counter(reg, "ddns_backend_purge_errors_total",
					   "Cache flushes that failed.");
	st->purge_collapses =
		metrics_counter(reg, "ddns_backend_purge_collapses_total",
				"Times too many flushes were queued and one flush of all of the "
				"pdns caches replaced them.");
	st->flushes_unneeded = metrics_counter(
		reg, "ddns_backend_flushes_unneeded_total",
		"Purge notices that needed no flush: nothing at or below the name "
		"was answered for longer than pdns keeps answers, and it is no zone.");
	st->cache_window =
		metrics_gauge(reg, "ddns_backend_pdns_cache_window_seconds",
			      "How long pdns may keep an answer (its cache TTLs from its API, plus "
			      "a margin); -1 while unknown (every purged name is flushed).");
	st->stale_entries = metrics_gauge(reg, "ddns_backend_stale_entries",
					  "Entries in the serve-stale store.");
}
