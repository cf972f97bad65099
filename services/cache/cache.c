/* The engine: options, connections, status, the thread. */

#include "services/cache/cache_int.h"
#include "shared/db.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/replica.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REDIS_TIMEOUT_MS   5000 /* above the 1 s XREADGROUP BLOCK */
#define PG_CONNECT_TIMEOUT 10   /* seconds */
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000

int cache_redis_check(redisContext *ctx, redisReply *reply, const char *what)
{
	if (!reply) {
		log_error(NULL, "redis %s failed: %s", what,
			  ctx->errstr[0] ? ctx->errstr : "no reply");
		return -EIO;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		log_error(NULL, "redis %s failed: %s", what, reply->str);
		freeReplyObject(reply);
		return -EIO;
	}
	return 0;
}

int cache_publish(struct cache *c, const char *name)
{
	redisReply *rep = redisCommand(c->stream, "PUBLISH %s %s", REPLICA_PURGE_CHANNEL, name);
	int r = cache_redis_check(c->stream, rep, "PUBLISH");

	if (r < 0)
		return r;
	freeReplyObject(rep);
	metric_inc(c->m_purges);
	log_debug(NULL, "purge notice for \"%s\"", name);
	return 0;
}

int cache_publish_names(struct cache *c, const char *const *msgs, size_t n)
{
	redisReply *rep;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		redisAppendCommand(c->stream, "PUBLISH %s %s", REPLICA_NAMES_CHANNEL, msgs[i]);
	for (size_t i = 0; i < n; i++) {
		rep = NULL;
		if (redisGetReply(c->stream, (void **)&rep) != REDIS_OK) {
			log_error(NULL, "redis PUBLISH names failed: %s",
				  c->stream->errstr[0] ? c->stream->errstr : "no reply");
			return -EIO;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			log_error(NULL, "redis PUBLISH names failed: %s", rep->str);
			r = -EIO;
		}
		freeReplyObject(rep);
	}
	return r;
}

int cache_store_position(struct cache *c)
{
	char key[REPLICA_KEY_SIZE], id[24];
	redisReply *rep;
	int r;

	replica_meta_key(c->gen, key, sizeof(key));
	snprintf(id, sizeof(id), "%lld", c->last_change_id);
	rep = redisCommand(c->rdns, "HSET %s last_change_id %s snapshot %s", key, id, c->snapshot);
	r = cache_redis_check(c->rdns, rep, "HSET meta");
	if (r < 0)
		return r;
	freeReplyObject(rep);
	atomic_store(&c->st_last_change_id, c->last_change_id);
	return 0;
}

void cache_schedule_gc(struct cache *c, long long gen, long long at_ms)
{
	for (size_t i = 0; i < c->n_old_gens; i++) {
		if (c->old_gens[i].gen == gen) {
			if (at_ms < c->old_gens[i].delete_at_ms)
				c->old_gens[i].delete_at_ms = at_ms;
			return;
		}
	}
	if (c->n_old_gens == CACHE_OLD_GENS_MAX) {
		log_warn(NULL, "too many generations waiting for deletion, forgetting %lld", gen);
		return;
	}
	c->old_gens[c->n_old_gens++] = (struct cache_old_gen){ gen, at_ms };
}

static void set_params(struct cache *c, const struct cache_options *o)
{
	atomic_store(&c->batch_size, o->batch_size > 0 ? o->batch_size : 5000);
	atomic_store(&c->poll_interval_ms, o->poll_interval_ms > 0 ? o->poll_interval_ms : 1000);
	atomic_store(&c->claim_idle_ms, o->claim_idle_ms > 0 ? o->claim_idle_ms : 30000);
	atomic_store(&c->grace_period_ms, o->grace_period_ms >= 0 ? o->grace_period_ms : 30000);
	atomic_store(&c->max_lag_ms, o->max_lag_ms > 0 ? o->max_lag_ms : 10000);
}

void cache_set_params(struct cache *c, const struct cache_options *opts)
{
	set_params(c, opts);
}

static void register_metrics(struct cache *c, struct metrics_registry *m)
{
	if (!m)
		return;
	c->m_applied = metrics_counter(m, "ddns_cache_changes_applied_total",
				       "Changes (stream entries and change-log rows) applied.");
	c->m_names_written = metrics_counter(m, "ddns_cache_names_written_total",
					     "Owner names re-read and rewritten by changes.");
	c->m_stream_entries = metrics_counter(m, "ddns_cache_stream_entries_total",
					      "Stream entries read (new and re-claimed).");
	c->m_claimed = metrics_counter(m, "ddns_cache_stream_claimed_total",
				       "Stream entries re-claimed from other consumers.");
	c->m_catchup_rows = metrics_counter(m, "ddns_cache_catchup_rows_total",
					    "Change-log rows read by the catch-up.");
	c->m_lag_changes = metrics_gauge(m, "ddns_cache_lag_changes",
					 "max(changes.id) minus the last change applied.");
	c->m_lag_ms = metrics_gauge(m, "ddns_cache_lag_milliseconds",
				    "Age of the oldest change not applied yet, or 0.");
	c->m_reload_seconds = metrics_gauge(m, "ddns_cache_reload_duration_seconds",
					    "Duration of the last full load.");
	c->m_reloads = metrics_counter(m, "ddns_cache_reloads_total", "Full loads completed.");
	c->m_names_loaded = metrics_gauge(m, "ddns_cache_names_loaded",
					  "Owner names written by the last full load.");
	c->m_generation = metrics_gauge(m, "ddns_cache_generation", "The live generation.");
	c->m_purges =
		metrics_counter(m, "ddns_cache_purge_notices_total", "Purge notices published.");
	c->m_errors = metrics_counter(m, "ddns_cache_errors_total",
				      "Errors that made the engine reconnect.");
}

struct cache *cache_create(const struct cache_options *opts, struct metrics_registry *metrics)
{
	struct cache *c = calloc(1, sizeof(*c));
	const char *reason = NULL;
	char host[128];

	if (!c)
		return NULL;
	if (!opts->database_url || !opts->redis_url || !opts->redis_stream_url) {
		log_error(NULL, "database_url, redis_url and redis_stream_url are required");
		goto fail;
	}
	if (redis_url_parse(opts->redis_url, &c->dns_url, &reason) < 0) {
		log_error(NULL, "invalid redis_url: %s", reason ? reason : "out of memory");
		goto fail;
	}
	if (redis_url_parse(opts->redis_stream_url, &c->stream_url, &reason) < 0) {
		log_error(NULL, "invalid redis_stream_url: %s", reason ? reason : "out of memory");
		goto fail;
	}
	if (opts->consumer && *opts->consumer) {
		c->consumer = strdup(opts->consumer);
	} else {
		char buf[200];

		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "cache");
		host[sizeof(host) - 1] = '\0';
		snprintf(buf, sizeof(buf), "%s-%d", host, (int)getpid());
		c->consumer = strdup(buf);
	}
	c->database_url = strdup(opts->database_url);
	c->snapshot = strdup("");
	if (!c->consumer || !c->database_url || !c->snapshot)
		goto fail;
	set_params(c, opts);
	c->on_load_batch = opts->on_load_batch;
	c->hook_arg = opts->hook_arg;
	c->need_load = true;
	register_metrics(c, metrics);
	return c;
fail:
	cache_destroy(c);
	return NULL;
}

void cache_disconnect(struct cache *c)
{
	PQfinish(c->pg);
	c->pg = NULL;
	if (c->rdns)
		redisFree(c->rdns);
	c->rdns = NULL;
	if (c->stream)
		redisFree(c->stream);
	c->stream = NULL;
	c->group_ok = false;
}

void cache_destroy(struct cache *c)
{
	if (!c)
		return;
	cache_stop(c);
	cache_disconnect(c);
	redis_url_finish(&c->dns_url);
	redis_url_finish(&c->stream_url);
	free(c->consumer);
	free(c->database_url);
	free(c->snapshot);
	free(c);
}

int cache_connect(struct cache *c)
{
	struct db_error err;
	char msg[256];
	int r;

	cache_disconnect(c);
	/* the session its replica queries need (REPLICA_SESSION_OPTIONS) */
	r = db_connect_options(c->database_url, "ddns-cache", REPLICA_SESSION_OPTIONS,
			       PG_CONNECT_TIMEOUT, &c->pg, &err);
	if (r < 0) {
		log_error(NULL, "%s", err.msg);
		return r;
	}
	r = redis_connect_sync(&c->dns_url, REDIS_TIMEOUT_MS, &c->rdns, msg, sizeof(msg));
	if (r < 0) {
		log_error(NULL, "%s", msg);
		goto fail;
	}
	r = redis_connect_sync(&c->stream_url, REDIS_TIMEOUT_MS, &c->stream, msg, sizeof(msg));
	if (r < 0) {
		log_error(NULL, "%s", msg);
		goto fail;
	}
	return 0;
fail:
	cache_disconnect(c);
	return r;
}

void cache_get_status(const struct cache *c, struct cache_status *s)
{
	s->complete = atomic_load(&c->complete);
	s->generation = atomic_load(&c->st_gen);
	s->last_change_id = atomic_load(&c->st_last_change_id);
	s->lag_changes = atomic_load(&c->st_lag_changes);
	s->lag_ms = atomic_load(&c->st_lag_ms);
	s->last_poll_ms = atomic_load(&c->st_last_poll_ms);
	s->names_loaded = atomic_load(&c->st_names_loaded);
}

bool cache_ready(const struct cache *c, json_t *checks)
{
	struct cache_status s;
	long long max_lag = atomic_load(&c->max_lag_ms), since_poll;
	bool ok;

	cache_get_status(c, &s);
	since_poll = s.last_poll_ms ? clock_ms() - s.last_poll_ms : -1;
	ok = s.complete && s.lag_ms <= max_lag && since_poll >= 0 && since_poll <= max_lag;
	if (checks) {
		json_object_set_new(checks, "replica",
				    json_string(s.complete ? "complete" : "loading"));
		json_object_set_new(checks, "generation", json_integer(s.generation));
		json_object_set_new(checks, "last_change_id", json_integer(s.last_change_id));
		json_object_set_new(checks, "lag_changes", json_integer(s.lag_changes));
		json_object_set_new(checks, "lag_ms", json_integer(s.lag_ms));
		json_object_set_new(checks, "last_poll_ms_ago", json_integer(since_poll));
		json_object_set_new(checks, "max_lag_ms", json_integer(max_lag));
	}
	return ok;
}

/*
 * Redis may have come back from its append-only file or a snapshot without
 * the writes of its last moments: the catch-up position of the meta hash
 * belongs to what Redis kept, the one in memory may be ahead of it. Resume
 * from the meta hash when it is behind, or always with @force (re-applying
 * a change is harmless: names are re-read from PostgreSQL). Without a meta
 * hash it sets need_load for the caller.
 */
static int resume_from_meta(struct cache *c, bool force)
{
	char key[REPLICA_KEY_SIZE];
	redisReply *rep;
	long long id;
	char *snap;
	int r;

	replica_meta_key(c->gen, key, sizeof(key));
	rep = redisCommand(c->rdns, "HMGET %s last_change_id snapshot", key);
	if ((r = cache_redis_check(c->rdns, rep, "HMGET meta")) < 0)
		return r;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		log_warn(NULL, "generation %lld has no catch-up position: loading again", c->gen);
		c->need_load = true;
		return 0;
	}
	id = strtoll(rep->element[0]->str, NULL, 10);
	if (force || id < c->last_change_id) {
		snap = strdup(rep->element[1]->str);
		if (!snap) {
			freeReplyObject(rep);
			return -ENOMEM;
		}
		log_warn(NULL,
			 "redis kept the replica up to change %lld, not %lld: catching up from "
			 "there",
			 id, c->last_change_id);
		free(c->snapshot);
		c->snapshot = snap;
		c->last_change_id = id;
	}
	freeReplyObject(rep);
	return 0;
}

/*
 * After a reconnect: keep following when the live generation is still the
 * one we write to; otherwise (Redis restarted, flushed, another loader
 * switched) load again.
 */
int cache_resync(struct cache *c)
{
	redisReply *rep;
	long long live = 0;
	int r;

	if (c->gen <= 0 || c->need_load)
		return cache_load(c);
	rep = redisCommand(c->rdns, "GET %s", REPLICA_GEN_KEY);
	if ((r = cache_redis_check(c->rdns, rep, "GET dns:gen")) < 0)
		return r;
	if (rep->type == REDIS_REPLY_STRING)
		live = strtoll(rep->str, NULL, 10);
	freeReplyObject(rep);
	if (live <= 0) {
		log_warn(NULL, "no live generation (redis lost it): loading again");
		atomic_store(&c->complete, false);
		return cache_load(c);
	}
	if (live != c->gen) {
		/* another loader switched (or redis came back with an older switch): follow it */
		r = cache_adopt_live(c);
		if (r < 0)
			return r;
		return cache_catchup(c);
	}
	r = resume_from_meta(c, false);
	if (r < 0)
		return r;
	if (c->need_load)
		return cache_load(c);
	return cache_catchup(c);
}

int cache_adopt_live(struct cache *c)
{
	redisReply *rep = redisCommand(c->rdns, "GET %s", REPLICA_GEN_KEY);
	long long live = 0;
	int r;

	if ((r = cache_redis_check(c->rdns, rep, "GET dns:gen")) < 0)
		return r;
	if (rep->type == REDIS_REPLY_STRING)
		live = strtoll(rep->str, NULL, 10);
	freeReplyObject(rep);
	if (live <= 0)
		return -EAGAIN; /* nothing live yet: the loader is still at work */
	if (live != c->gen)
		log_info(NULL, "following generation %lld, made live by another loader", live);
	c->gen = live;
	c->need_load = false;
	atomic_store(&c->st_gen, live);
	r = resume_from_meta(c, true);
	if (r < 0 || c->need_load)
		return r < 0 ? r : -EAGAIN;
	atomic_store(&c->complete, true);
	return 0;
}

static void *run(void *arg)
{
	struct cache *c = arg;
	long long backoff = BACKOFF_MIN_MS;
	bool connected = false;

	while (!atomic_load(&c->stop)) {
		int r;

		if (!connected) {
			r = cache_connect(c);
			if (r == 0)
				r = cache_resync(c);
			if (r < 0) {
				metric_inc(c->m_errors);
				cache_disconnect(c);
				log_warn(NULL, "retrying in %lld ms", backoff);
				clock_nap(&c->stop, backoff / 2 + rand() % (backoff / 2 + 1));
				backoff =
					backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			connected = true;
			backoff = BACKOFF_MIN_MS;
		}
		r = cache_step(c);
		if (r < 0 && r != -ECANCELED) {
			metric_inc(c->m_errors);
			log_warn(NULL, "reconnecting after an error: %s", strerror(-r));
			cache_disconnect(c);
			connected = false;
		}
	}
	cache_disconnect(c);
	return NULL;
}

int cache_start(struct cache *c)
{
	int r;

	atomic_store(&c->stop, false);
	r = pthread_create(&c->thread, NULL, run, c);
	if (r != 0)
		return -r;
	c->started = true;
	return 0;
}

void cache_stop(struct cache *c)
{
	if (!c || !c->started)
		return;
	atomic_store(&c->stop, true);
	pthread_join(c->thread, NULL);
	c->started = false;
}
