#pragma once

#include <stdint.h>

/* Changes remembered between the stream and the catch-up (see struct cache). */
#define SEEN_MAX 4096

/* The engine's state, shared by the modules of services/cache; not for other code. */

#include "services/cache/cache.h"
#include "shared/clock.h"

#include <pthread.h>

#define CACHE_OLD_GENS_MAX 64

struct cache_old_gen {
	long long gen;
	long long delete_at_ms; /* CLOCK_MONOTONIC */
};

struct cache {
	/* configuration: the strings are owned; the numbers may change under
	 * cache_set_params, hence atomics */
	char *database_url;
	struct redis_url dns_url, stream_url;
	char *consumer;
	_Atomic long long batch_size, poll_interval_ms, claim_idle_ms, grace_period_ms, max_lag_ms;
	void (*on_load_batch)(long long gen, long long names, void *arg);
	void *hook_arg;

	/* connections, owned; only the engine's thread touches them */
	PGconn *pg;
	redisContext *rdns;   /* db0: the replica */
	redisContext *stream; /* db1: the stream, purge notices */

	/* engine state, engine thread only */
	long long gen;            /* live generation we write to; 0: none */
	long long last_change_id; /* catch-up position */
	char *snapshot;           /* owned; pg_snapshot text of the catch-up position */
	/*
	 * Changes the stream applied (its entries carry the change id) that the
	 * catch-up has not passed yet: it skips them instead of applying them
	 * again. Bounded; what does not fit is simply applied twice.
	 */
	struct seen_change {
		long long id;
		uint64_t name_hash;
	} seen[SEEN_MAX];
	size_t n_seen;
	struct cache_old_gen old_gens[CACHE_OLD_GENS_MAX];
	size_t n_old_gens;
	long long next_poll_ms, next_claim_ms;
	bool need_load;
	bool group_ok;

	/* status, read by other threads */
	_Atomic bool complete;
	_Atomic long long st_gen, st_last_change_id, st_lag_changes, st_lag_ms, st_last_poll_ms,
		st_names_loaded;

	/* the thread */
	pthread_t thread;
	bool started;
	_Atomic bool stop;

	/* metrics, borrowed from the registry (NULL-safe updates) */
	struct metric *m_applied, *m_names_written, *m_stream_entries, *m_claimed, *m_catchup_rows,
		*m_lag_changes, *m_lag_ms, *m_reload_seconds, *m_reloads, *m_names_loaded,
		*m_generation, *m_purges, *m_errors;
};

/* Checks a reply of a sync Redis command; logs and returns -EIO on error / NULL. */
int cache_redis_check(redisContext *ctx, redisReply *reply, const char *what);

/* Publishes @name on the purge channel. */
int cache_publish(struct cache *c, const char *name);
/* Publishes @msgs (names, or "gen <G>") on REPLICA_NAMES_CHANNEL, pipelined; 0 or -EIO. */
int cache_publish_names(struct cache *c, const char *const *msgs, size_t n);

/* Writes last_change_id and snapshot into the meta hash of the live generation. */
int cache_store_position(struct cache *c);

/* Schedules generation @gen for deletion at @at_ms (CLOCK_MONOTONIC). */
void cache_schedule_gc(struct cache *c, long long gen, long long at_ms);
