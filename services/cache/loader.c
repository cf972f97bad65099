/* The full load into a new generation, the switch, and deleting old generations. */

#include "services/cache/cache_int.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/replica.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_NEXT_KEY "dns:gen:next"

/*
 * Every owner name of the replica: the zone apexes, the names with records
 * and the empty non-terminals between a record and its zone apex.
 * replica_sql_names tells which is which when they are rendered.
 */
static const char sql_names_cursor[] =
	"DECLARE cache_load NO SCROLL CURSOR FOR "
	"SELECT name FROM zones "
	"UNION SELECT name FROM records "
	"UNION SELECT a.name FROM records r JOIN zones z ON z.id = r.zone_id, "
	"  dns_ancestors(r.name, z.name) AS a(name)";

struct load_ctx {
	struct cache *c;
	long long gen;
	long long n_set;
	int r;
};

static int on_load_name(const char *name, const char *json, const struct replica_zone *zone,
			void *arg)
{
	struct load_ctx *ctx = arg;
	char key[REPLICA_KEY_SIZE];

	if (!json)
		return 0; /* no such name: no key */
	if (replica_name_key(ctx->gen, name, key, sizeof(key)) < 0)
		return -EMSGSIZE;
	if (redisAppendCommand(ctx->c->rdns, "SET %s %s", key, json) != REDIS_OK)
		return -ENOMEM;
	ctx->n_set++;
	return 0;
}

static int read_replies(struct cache *c, long long n, const char *what)
{
	for (long long i = 0; i < n; i++) {
		redisReply *rep = NULL;

		if (redisGetReply(c->rdns, (void **)&rep) != REDIS_OK ||
		    cache_redis_check(c->rdns, rep, what) < 0)
			return -EIO;
		freeReplyObject(rep);
	}
	return 0;
}

static int simple(struct cache *c, const char *sql, struct db_error *err)
{
	return db_exec(c->pg, sql, 0, NULL, NULL, err);
}

/* Allocates a generation number above the live one. */
static int new_generation(struct cache *c, long long *ret_gen, long long *ret_live)
{
	redisReply *rep;
	long long live = 0, gen;
	int r;

	rep = redisCommand(c->rdns, "GET %s", REPLICA_GEN_KEY);
	if ((r = cache_redis_check(c->rdns, rep, "GET dns:gen")) < 0)
		return r;
	if (rep->type == REDIS_REPLY_STRING)
		live = strtoll(rep->str, NULL, 10);
	freeReplyObject(rep);
	rep = redisCommand(c->rdns, "INCR %s", GEN_NEXT_KEY);
	if ((r = cache_redis_check(c->rdns, rep, "INCR")) < 0)
		return r;
	gen = rep->integer;
	freeReplyObject(rep);
	if (gen <= live) {
		/* the counter was lost (flushed) while a generation stayed */
		rep = redisCommand(c->rdns, "INCRBY %s %lld", GEN_NEXT_KEY, live - gen + 1);
		if ((r = cache_redis_check(c->rdns, rep, "INCRBY")) < 0)
			return r;
		gen = rep->integer;
		freeReplyObject(rep);
	}
	*ret_gen = gen;
	*ret_live = live;
	return 0;
}

/* Writes the zones hash of @gen; returns the zone names (for purge notices) in *ret_names. */
static int load_zones(struct cache *c, long long gen, char ***ret_names, size_t *ret_n)
{
	char key[REPLICA_KEY_SIZE];
	struct db_error err;
	PGresult *res = NULL;
	char **names = NULL;
	int r, n;

	r = db_exec(c->pg, replica_sql_zones, 0, NULL, &res, &err);
	if (r < 0) {
		log_error(NULL, "could not read the zones: %s", err.msg);
		return r;
	}
	replica_zones_key(gen, key, sizeof(key));
	n = PQntuples(res);
	names = calloc((size_t)n + 1, sizeof(*names));
	if (!names) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct replica_zone z;
		char *info = NULL;

		if ((r = replica_zone_from_row(res, i, 0, &z)) < 0 ||
		    (r = replica_render_zone_info(&z, &info)) < 0)
			goto out;
		redisAppendCommand(c->rdns, "HSET %s %s %s", key, z.name, info);
		free(info);
		if (!(names[i] = strdup(z.name))) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = read_replies(c, n, "HSET zones");
	if (r < 0)
		goto out;
	*ret_names = names;
	*ret_n = (size_t)n;
	names = NULL;
out:
	if (names)
		for (int i = 0; i < n; i++)
			free(names[i]);
	free(names);
	PQclear(res);
	return r;
}

/*
 * The loader lease: one instance at a time builds a generation and collects
 * leftovers (another instance's build in progress is not a leftover). A
 * crashed holder's lease expires after LEASE_MS; the holder renews it with
 * every batch.
 */
#define LEASE_KEY "dns:loader"
#define LEASE_MS  60000

static const char lease_renew_lua[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
static const char lease_release_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
					"return redis.call('DEL', KEYS[1]) else return 0 end";

/* 0 when taken, -EBUSY when another instance holds it. */
static int lease_take(struct cache *c)
{
	redisReply *rep =
		redisCommand(c->rdns, "SET %s %s NX PX %d", LEASE_KEY, c->consumer, LEASE_MS);
	int r;

	if ((r = cache_redis_check(c->rdns, rep, "SET lease")) < 0)
		return r;
	r = rep->type == REDIS_REPLY_STATUS ? 0 : -EBUSY;
	freeReplyObject(rep);
	return r;
}

/* Renews (or releases) the lease if it is still ours; -EBUSY when it is not. */
static int lease_call(struct cache *c, const char *lua)
{
	redisReply *rep =
		redisCommand(c->rdns, "EVAL %s 1 %s %s %d", lua, LEASE_KEY, c->consumer, LEASE_MS);
	int r;

	if ((r = cache_redis_check(c->rdns, rep, "EVAL lease")) < 0)
		return r;
	r = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1 ? 0 : -EBUSY;
	freeReplyObject(rep);
	return r;
}

int cache_load(struct cache *c)
{
	struct load_ctx ctx = { .c = c };
	struct db_error err;
	PGresult *res = NULL;
	redisReply *rep = NULL;
	char **zones = NULL, fetch[64], key[REPLICA_KEY_SIZE], *snapshot = NULL;
	size_t n_zones = 0;
	long long t0 = clock_ms(), live = 0, max_id = 0, old_live = 0, batches = 0;
	bool in_tx = false;
	int r;

	if ((r = cache_ensure_group(c)) < 0)
		return r;
	r = lease_take(c);
	if (r == -EBUSY) {
		/* another instance is loading: follow its live generation, if any */
		log_info(NULL, "another ddns-cache holds the loader lease: not loading");
		return cache_adopt_live(c);
	}
	if (r < 0)
		return r;
	if ((r = new_generation(c, &ctx.gen, &live)) < 0)
		goto out;
	log_info(NULL, "loading generation %lld (live: %lld)", ctx.gen, live);

	r = simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &err);
	if (r < 0)
		goto fail_db;
	in_tx = true;
	/* a whole-table read: sequential scans allowed again (see REPLICA_SESSION_OPTIONS) */
	r = simple(c, "SET LOCAL enable_seqscan = on", &err);
	if (r < 0)
		goto fail_db;
	/* the load sees exactly this snapshot: the catch-up starts from it */
	r = db_exec(
		c->pg,
		"SELECT pg_current_snapshot()::text, (SELECT coalesce(max(id), 0) FROM changes)", 0,
		NULL, &res, &err);
	if (r < 0)
		goto fail_db;
	snapshot = strdup(PQgetvalue(res, 0, 0));
	max_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	res = NULL;
	if (!snapshot) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = load_zones(c, ctx.gen, &zones, &n_zones)) < 0)
		goto fail;
	r = simple(c, sql_names_cursor, &err);
	if (r < 0)
		goto fail_db;
	snprintf(fetch, sizeof(fetch), "FETCH %lld FROM cache_load", atomic_load(&c->batch_size));
	for (;;) {
		const char **names;
		char *array;
		int n;
		long long before = ctx.n_set;

		if (atomic_load(&c->stop)) {
			r = -ECANCELED;
			goto fail;
		}
		if ((r = lease_call(c, lease_renew_lua)) < 0) {
			log_error(NULL, "lost the loader lease while loading generation %lld",
				  ctx.gen);
			goto fail;
		}
		r = db_exec(c->pg, fetch, 0, NULL, &res, &err);
		if (r < 0)
			goto fail_db;
		n = PQntuples(res);
		if (n == 0)
			break;
		names = calloc((size_t)n, sizeof(*names));
		if (!names) {
			r = -ENOMEM;
			goto fail;
		}
		for (int i = 0; i < n; i++)
			names[i] = PQgetvalue(res, i, 0);
		array = cache_text_array(names, (size_t)n);
		free(names);
		PQclear(res);
		res = NULL;
		if (!array) {
			r = -ENOMEM;
			goto fail;
		}
		{
			const char *params[] = { array };

			r = db_exec(c->pg, replica_sql_names, 1, params, &res, &err);
		}
		free(array);
		if (r < 0)
			goto fail_db;
		r = replica_render_result(res, on_load_name, &ctx);
		PQclear(res);
		res = NULL;
		if (r < 0) {
			log_error(NULL, "could not render a load batch: %s", strerror(-r));
			goto fail;
		}
		if ((r = read_replies(c, ctx.n_set - before, "SET")) < 0)
			goto fail;
		batches++;
		if (c->on_load_batch)
			c->on_load_batch(ctx.gen, ctx.n_set, c->hook_arg);
	}
	PQclear(res);
	res = NULL;
	r = simple(c, "COMMIT", &err);
	in_tx = false;
	if (r < 0)
		goto fail_db;

	/* meta, then the switch: readers see the new generation complete or not at all */
	replica_meta_key(ctx.gen, key, sizeof(key));
	rep = redisCommand(c->rdns,
			   "HSET %s last_change_id %lld snapshot %s loaded_at %lld names %lld", key,
			   max_id, snapshot, clock_wall_ms(), ctx.n_set);
	if ((r = cache_redis_check(c->rdns, rep, "HSET meta")) < 0)
		goto fail;
	freeReplyObject(rep);
	rep = redisCommand(c->rdns, "SET %s %lld GET", REPLICA_GEN_KEY, ctx.gen);
	if ((r = cache_redis_check(c->rdns, rep, "SET dns:gen")) < 0)
		goto fail;
	if (rep->type == REDIS_REPLY_STRING)
		old_live = strtoll(rep->str, NULL, 10);
	freeReplyObject(rep);
	rep = NULL;

	if (old_live > 0 && old_live != ctx.gen)
		cache_schedule_gc(c, old_live, clock_ms() + atomic_load(&c->grace_period_ms));
	if (c->gen > 0 && c->gen != ctx.gen && c->gen != old_live)
		cache_schedule_gc(c, c->gen, clock_ms() + atomic_load(&c->grace_period_ms));
	c->gen = ctx.gen;
	c->last_change_id = max_id;
	free(c->snapshot);
	c->snapshot = snapshot;
	snapshot = NULL;
	c->need_load = false;
	atomic_store(&c->st_gen, c->gen);
	atomic_store(&c->st_last_change_id, max_id);
	atomic_store(&c->st_names_loaded, ctx.n_set);
	atomic_store(&c->complete, true);
	metric_set(c->m_generation, (double)c->gen);
	metric_set(c->m_names_loaded, (double)ctx.n_set);
	metric_set(c->m_reload_seconds, (double)(clock_ms() - t0) / 1000.0);
	metric_inc(c->m_reloads);
	log_fields(LOG_LEVEL_INFO, NULL,
		   (struct log_field[]){ LOG_NUM("generation", c->gen), LOG_NUM("names", ctx.n_set),
					 LOG_NUM("zones", n_zones), LOG_NUM("batches", batches),
					 LOG_NUM("duration_ms", clock_ms() - t0),
					 LOG_NUM("last_change_id", max_id) },
		   6, "generation %lld is live", c->gen);

	{
		char msg[32];
		const char *msgs[] = { msg };

		snprintf(msg, sizeof(msg), "gen %lld", c->gen);
		if ((r = cache_publish_names(c, msgs, 1)) < 0)
			goto out;
	}
	/* leftovers of crashed loaders and older generations go after the grace period */
	if ((r = cache_scan_leftovers(c)) < 0)
		goto out;
	for (size_t i = 0; i < n_zones; i++)
		if ((r = cache_publish(c, zones[i])) < 0)
			goto out;
	r = cache_catchup(c);
	goto out;

fail_db:
	log_error(NULL, "could not load the replica: %s", err.msg);
fail:
	if (in_tx)
		(void)simple(c, "ROLLBACK", &err);
	/* the partial generation was never live: delete it at once */
	cache_schedule_gc(c, ctx.gen, 0);
out:
	/* a failed release leaves the lease to expire */
	(void)lease_call(c, lease_release_lua);
	freeReplyObject(rep);
	PQclear(res);
	for (size_t i = 0; i < n_zones; i++)
		free(zones[i]);
	free(zones);
	free(snapshot);
	return r;
}

/* Parses the generation of a key "dns:<G>:..." or returns 0. */
static long long key_generation(const char *key)
{
	char *end;
	long long g;

	if (strncmp(key, "dns:", 4) != 0 || key[4] < '0' || key[4] > '9')
		return 0;
	g = strtoll(key + 4, &end, 10);
	return *end == ':' ? g : 0;
}

int cache_scan_leftovers(struct cache *c)
{
	char cursor[32] = "0";
	long long at = clock_ms() + atomic_load(&c->grace_period_ms);

	do {
		redisReply *rep = redisCommand(c->rdns, "SCAN %s MATCH dns:* COUNT 1000", cursor);
		int r = cache_redis_check(c->rdns, rep, "SCAN");

		if (r < 0)
			return r;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
			freeReplyObject(rep);
			return -EPROTO;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		for (size_t i = 0; i < rep->element[1]->elements; i++) {
			long long g = key_generation(rep->element[1]->element[i]->str);

			if (g > 0 && g != c->gen)
				cache_schedule_gc(c, g, at);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

/* Deletes every key of generation @gen: SCAN MATCH dns:<gen>:* and UNLINK, in batches. */
static int delete_generation(struct cache *c, long long gen)
{
	char cursor[32] = "0", pattern[40];
	long long n = 0;

	snprintf(pattern, sizeof(pattern), "dns:%lld:*", gen);
	do {
		redisReply *rep =
			redisCommand(c->rdns, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
		int r = cache_redis_check(c->rdns, rep, "SCAN");

		if (r < 0)
			return r;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
			freeReplyObject(rep);
			return -EPROTO;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		if (rep->element[1]->elements > 0) {
			size_t k = rep->element[1]->elements;
			const char **argv = calloc(k + 1, sizeof(*argv));
			size_t *lens = calloc(k + 1, sizeof(*lens));
			redisReply *d;

			if (!argv || !lens) {
				free(argv);
				free(lens);
				freeReplyObject(rep);
				return -ENOMEM;
			}
			argv[0] = "UNLINK";
			lens[0] = 6;
			for (size_t i = 0; i < k; i++) {
				argv[i + 1] = rep->element[1]->element[i]->str;
				lens[i + 1] = rep->element[1]->element[i]->len;
			}
			d = redisCommandArgv(c->rdns, (int)k + 1, argv, lens);
			free(argv);
			free(lens);
			r = cache_redis_check(c->rdns, d, "UNLINK");
			if (r < 0) {
				freeReplyObject(rep);
				return r;
			}
			n += d->integer;
			freeReplyObject(d);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	log_info(NULL, "generation %lld deleted (%lld keys)", gen, n);
	return 0;
}

/* The generation "dns:gen" names now (0: none) into *ret_live. */
static int live_generation(struct cache *c, long long *ret_live)
{
	redisReply *rep = redisCommand(c->rdns, "GET %s", REPLICA_GEN_KEY);
	int r = cache_redis_check(c->rdns, rep, "GET dns:gen");

	if (r < 0)
		return r;
	*ret_live = rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : 0;
	freeReplyObject(rep);
	return 0;
}

int cache_gc(struct cache *c, bool now)
{
	long long t = clock_ms(), live = -1;
	size_t w = 0;
	int r = 0;

	for (size_t i = 0; i < c->n_old_gens; i++) {
		struct cache_old_gen *o = &c->old_gens[i];

		if (r == 0 && o->gen != c->gen && (now || o->delete_at_ms <= t)) {
			/*
			 * Never delete the live generation: it is live again when
			 * the reply to our own switch was lost (the load failed
			 * after Redis had switched) or another loader switched.
			 * A later load schedules it again once it is replaced.
			 */
			if (live < 0 && (r = live_generation(c, &live)) < 0) {
				c->old_gens[w++] = *o;
				continue;
			}
			if (o->gen == live) {
				log_warn(NULL, "generation %lld is live, not deleting it", o->gen);
				continue;
			}
			r = delete_generation(c, o->gen);
			if (r == 0)
				continue;
		}
		if (o->gen != c->gen)
			c->old_gens[w++] = *o;
	}
	c->n_old_gens = w;
	return r;
}
