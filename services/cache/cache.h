#pragma once

/*
 * ddns-cache: keeps the Redis replica of the DNS data (shared/replica.h)
 * complete and current.
 *
 * The engine is synchronous: it owns one PostgreSQL connection and two
 * Redis connections (db0: the replica, db1: the change stream and the purge
 * channel) and runs on one thread of its own (cache_start), so that the
 * daemon's event loop keeps answering /healthz and /metrics during a long
 * load. Tests drive the same steps directly (cache_connect, cache_load,
 * cache_follow, cache_catchup, cache_gc) without the thread.
 *
 *  - load (loader.c): a REPEATABLE READ transaction streams every owner
 *    name through a cursor, renders them in batches with replica_sql_names
 *    and writes them, pipelined, into a new generation G (INCR dns:gen:next);
 *    zones and meta follow; only then "SET dns:gen G GET" switches readers
 *    over at once. The previous generation (and leftovers of crashed loaders)
 *    are deleted after the grace period with SCAN MATCH + UNLINK.
 *  - follow (follow.c): XREADGROUP on the change stream, XAUTOCLAIM of
 *    entries left pending by dead consumers, XACK once written.
 *  - catch-up (follow.c): the change log read with the snapshot rule, so a
 *    change is applied even when its stream entry was lost or its
 *    transaction committed after a later one.
 *  - apply (apply.c): re-reads the changed names, their ancestors and the
 *    zone apex with one query, rewrites or deletes their keys in the live
 *    generation, updates the zones hash and publishes purge notices.
 *
 * Threads: cache_start runs the engine on a thread of its own; from then on
 * only cache_stop, cache_set_params and the status accessors may be called
 * from other threads.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include "shared/redis.h"

struct json_t;
struct metrics_registry;
struct metric;

/* The settings the engine takes; strings are borrowed and copied by cache_create. */
struct cache_options {
	const char *database_url;
	const char *redis_url;        /* the replica, db0 by default */
	const char *redis_stream_url; /* the change stream and purge channel, db1 by default */
	const char *consumer;         /* consumer name in the group; NULL: host-pid */
	long long batch_size;         /* names per load batch, changes per catch-up batch */
	long long poll_interval_ms;   /* change-log catch-up period */
	long long claim_idle_ms;      /* re-claim stream entries pending longer than this */
	long long grace_period_ms;    /* an old generation stays readable this long */
	long long max_lag_ms;         /* readiness: oldest unapplied change at most this old */
	/* Tests: called after each load batch was written, before the switch. */
	void (*on_load_batch)(long long gen, long long names, void *arg);
	void *hook_arg;
};

/* What /readyz and tests look at; every field a snapshot of atomics. */
struct cache_status {
	bool complete;        /* a generation we loaded or adopted is live */
	long long generation; /* 0: none */
	long long last_change_id;
	long long lag_changes;  /* max(changes.id) - last_change_id at the last poll */
	long long lag_ms;       /* age of the oldest unapplied change at the last poll */
	long long last_poll_ms; /* CLOCK_MONOTONIC ms of the last successful catch-up; 0: none */
	long long names_loaded; /* by the last load */
};

struct cache;

/* Returns NULL on bad options (logged) or out of memory. @metrics is borrowed (may be NULL). */
struct cache *cache_create(const struct cache_options *opts, struct metrics_registry *metrics);
/* Stops the thread if running, closes the connections. NULL-safe. */
void cache_destroy(struct cache *c);

/* Reloadable settings (batch_size, poll_interval, claim_idle, grace_period, max_lag). */
void cache_set_params(struct cache *c, const struct cache_options *opts);

/* Runs the engine on a thread of its own until cache_stop: connect, load, follow. */
int cache_start(struct cache *c);
/* Asks the thread to stop and waits for it (at most about one BLOCK period). */
void cache_stop(struct cache *c);

void cache_get_status(const struct cache *c, struct cache_status *ret_status);
/* Readiness: complete and the lag within max_lag; fills @checks (a JSON object). */
bool cache_ready(const struct cache *c, struct json_t *checks);

/* ---- the steps, for the thread and the tests ---------------------------- */

/* (Re)connects PostgreSQL and both Redis connections. */
int cache_connect(struct cache *c);
/* Closes the connections (the engine state is kept). */
void cache_disconnect(struct cache *c);

/* Creates the consumer group if it is missing (MKSTREAM, at "$"). */
int cache_ensure_group(struct cache *c);

/* A full load into a new generation and the switch; then catches up. */
int cache_load(struct cache *c);

/*
 * One round of the stream: re-claims entries idle for longer than
 * claim_idle (when @claim), then reads new entries (waiting at most
 * @block_ms; 0: do not wait), applies and acknowledges them. Returns the
 * number of entries handled or a negative errno.
 */
int cache_follow(struct cache *c, int block_ms, bool claim);

/* Reads the change log with the snapshot rule until it is drained; updates meta. */
int cache_catchup(struct cache *c);

/*
 * After a reconnect: load again when the live generation is not ours;
 * else resume the catch-up from the position Redis kept (it may have come
 * back from its append-only file without its last writes) and catch up.
 */
int cache_resync(struct cache *c);

/*
 * Follows the live generation that another loader made (or that Redis came
 * back with): its catch-up position comes from its meta hash. -EAGAIN when
 * nothing is live yet.
 */
int cache_adopt_live(struct cache *c);

/* Schedules every generation found in Redis but the live one for deletion. */
int cache_scan_leftovers(struct cache *c);

/* Deletes the generations whose grace period ended (all of them when @now). */
int cache_gc(struct cache *c, bool now);

/* One iteration of the thread's loop (follow, and catch-up / gc when due). */
int cache_step(struct cache *c);

/* ---- internals shared by the modules ------------------------------------ */

struct cache_change {
	long long zone_id;
	const char *name; /* borrowed, normalized */
};

/*
 * Re-reads and rewrites the names of @changes, their ancestors and zone
 * apexes in the live generation; publishes purge notices.
 */
int cache_apply(struct cache *c, const struct cache_change *changes, size_t n);

/* Builds a PostgreSQL text[] literal of @names into a new string (malloc'd). */
char *cache_text_array(const char *const *names, size_t n);

/* The @i-th ancestor of @name ... helper for apply: every suffix of @name with at least one
 * label, @name itself first. Fills @ret (pointers into @name) and returns the count. */
size_t cache_name_suffixes(const char *name, const char **ret, size_t max);
