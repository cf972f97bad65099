/* Following changes: the stream (fast path) and the change log (the guarantee). */

#include "services/cache/cache_int.h"
#include "shared/db.h"
#include "shared/dnsname.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/replica.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_COUNT 100 /* entries per XREADGROUP / XAUTOCLAIM */
#define CLAIM_ROUNDS 10  /* XAUTOCLAIM calls per claim pass */
#define FOLLOW_BLOCK 1000

/*
 * The snapshot rule: every row above the last id applied, and the rows of
 * transactions that were still in progress in the previous snapshot (their
 * ids may be below it). The new snapshot comes with every answer, also when
 * there is no row.
 */
static const char sql_catchup[] =
	"WITH s AS (SELECT pg_current_snapshot() AS snap) "
	"SELECT c.id, c.zone_id, c.name, s.snap::text FROM s LEFT JOIN LATERAL ("
	"  SELECT id, zone_id, name FROM changes"
	"  WHERE id > $1::bigint OR (xid >= pg_snapshot_xmin($2::pg_snapshot)"
	"    AND NOT pg_visible_in_snapshot(xid, $2::pg_snapshot))"
	"  ORDER BY id LIMIT $3::bigint) c ON true "
	"ORDER BY c.id";

static const char sql_lag[] =
	"SELECT coalesce(max(id), 0), "
	"  coalesce((extract(epoch FROM now() - min(created_at)) * 1000)::bigint, 0) "
	"FROM changes WHERE id > $1::bigint";

int cache_ensure_group(struct cache *c)
{
	redisReply *rep;

	if (c->group_ok)
		return 0;
	/*
	 * At "$": the load that follows reads everything committed before its
	 * snapshot, and the catch-up everything after; replaying old entries
	 * (at "0") would only repeat work.
	 */
	rep = redisCommand(c->stream, "XGROUP CREATE %s %s $ MKSTREAM", REPLICA_STREAM,
			   REPLICA_STREAM_GROUP);
	if (!rep)
		return cache_redis_check(c->stream, rep, "XGROUP CREATE");
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "BUSYGROUP", 9) != 0)
		return cache_redis_check(c->stream, rep, "XGROUP CREATE");
	if (rep->type != REDIS_REPLY_ERROR)
		log_info(NULL, "consumer group \"%s\" created on \"%s\"", REPLICA_STREAM_GROUP,
			 REPLICA_STREAM);
	freeReplyObject(rep);
	c->group_ok = true;
	return 0;
}

static const char *entry_field(const redisReply *fields, const char *name)
{
	if (!fields || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[i]->str, name) == 0 &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING)
			return fields->element[i + 1]->str;
	return NULL;
}

/* Applies the entries of one reply (an array of [id, [field, value, ...]]) and acks them. */
/* Remembers that the stream applied change @id of @name (after it committed). */
static void seen_add(struct cache *c, long long id, const char *name)
{
	if (id <= 0 || c->n_seen == SEEN_MAX)
		return;
	c->seen[c->n_seen].id = id;
	c->seen[c->n_seen].name_hash = dnsname_hash(name, strlen(name));
	c->n_seen++;
}

/* Was change @id of @name applied from the stream? Forgets it when it was. */
static bool seen_take(struct cache *c, long long id, const char *name)
{
	uint64_t h = dnsname_hash(name, strlen(name));

	for (size_t i = 0; i < c->n_seen; i++)
		if (c->seen[i].id == id && c->seen[i].name_hash == h) {
			c->seen[i] = c->seen[--c->n_seen];
			return true;
		}
	return false;
}

/* Forgets the changes the catch-up position has passed. */
static void seen_prune(struct cache *c)
{
	for (size_t i = 0; i < c->n_seen;)
		if (c->seen[i].id <= c->last_change_id)
			c->seen[i] = c->seen[--c->n_seen];
		else
			i++;
}

static int handle_entries(struct cache *c, const redisReply *entries)
{
	struct cache_change *changes = NULL;
	char(*names)[DNSNAME_SIZE] = NULL;
	long long *ids = NULL;
	const char **argv = NULL;
	size_t n = 0, n_ids = 0, k;
	redisReply *rep;
	int r = -ENOMEM;

	if (!entries || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
		return 0;
	k = entries->elements;
	changes = calloc(k, sizeof(*changes));
	names = calloc(k, sizeof(*names));
	ids = calloc(k, sizeof(*ids));
	argv = calloc(k + 3, sizeof(*argv));
	if (!changes || !names || !ids || !argv)
		goto out;
	argv[0] = "XACK";
	argv[1] = REPLICA_STREAM;
	argv[2] = REPLICA_STREAM_GROUP;
	for (size_t i = 0; i < k; i++) {
		const redisReply *e = entries->element[i];
		const char *name, *zone_id, *reason = NULL;
		char *end;
		long long zid;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		argv[3 + n_ids++] = e->element[0]->str;
		name = entry_field(e->elements > 1 ? e->element[1] : NULL, "name");
		zone_id = entry_field(e->elements > 1 ? e->element[1] : NULL, "zone_id");
		if (!name || !zone_id) {
			log_warn(NULL, "stream entry %s without name or zone_id, ignoring",
				 e->element[0]->str);
			continue;
		}
		zid = strtoll(zone_id, &end, 10);
		if (*end || zid <= 0 ||
		    dnsname_normalize(name, DNSNAME_WILDCARD, names[n], &reason) < 0) {
			log_warn(NULL, "stream entry %s: invalid name \"%s\" or zone_id, ignoring",
				 e->element[0]->str, name);
			continue;
		}
		changes[n].zone_id = zid;
		changes[n].name = names[n];
		/* the change id, when the writer gave it (0: unknown) */
		{
			const char *id = entry_field(e->elements > 1 ? e->element[1] : NULL, "id");
			long long v = id ? strtoll(id, &end, 10) : 0;

			ids[n] = id && !*end && v > 0 ? v : 0;
		}
		n++;
	}
	metric_add(c->m_stream_entries, k);
	r = cache_apply(c, changes, n);
	if (r == 0)
		for (size_t i = 0; i < n; i++)
			seen_add(c, ids[i], names[i]);
	if (r < 0)
		goto out; /* not acknowledged: re-claimed later, and the catch-up has them */
	if (n_ids > 0) {
		rep = redisCommandArgv(c->stream, (int)n_ids + 3, argv, NULL);
		if ((r = cache_redis_check(c->stream, rep, "XACK")) < 0)
			goto out;
		freeReplyObject(rep);
	}
	r = (int)k;
out:
	free(changes);
	free(names);
	free(ids);
	free(argv);
	return r;
}

static bool is_nogroup(const redisReply *rep)
{
	return rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOGROUP", 7) == 0;
}

static int claim(struct cache *c)
{
	char start[64] = "0-0";
	long long idle = atomic_load(&c->claim_idle_ms);
	int total = 0;

	for (int round = 0; round < CLAIM_ROUNDS; round++) {
		redisReply *rep = redisCommand(c->stream, "XAUTOCLAIM %s %s %s %lld %s COUNT %d",
					       REPLICA_STREAM, REPLICA_STREAM_GROUP, c->consumer,
					       idle, start, STREAM_COUNT);
		int r;

		if (is_nogroup(rep)) {
			freeReplyObject(rep);
			c->group_ok = false;
			return cache_ensure_group(c);
		}
		if ((r = cache_redis_check(c->stream, rep, "XAUTOCLAIM")) < 0)
			return r;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return -EPROTO;
		}
		snprintf(start, sizeof(start), "%s", rep->element[0]->str);
		if (rep->element[1]->elements > 0)
			log_info(NULL, "re-claimed %zu stream entries idle for %lld ms",
				 rep->element[1]->elements, idle);
		metric_add(c->m_claimed, rep->element[1]->elements);
		r = handle_entries(c, rep->element[1]);
		freeReplyObject(rep);
		if (r < 0)
			return r;
		total += r;
		if (strcmp(start, "0-0") == 0)
			break;
	}
	return total;
}

int cache_follow(struct cache *c, int block_ms, bool do_claim)
{
	redisReply *rep;
	int r, total = 0;

	if ((r = cache_ensure_group(c)) < 0)
		return r;
	if (do_claim) {
		r = claim(c);
		if (r < 0)
			return r;
		total += r;
	}
	if (block_ms > 0)
		rep = redisCommand(
			c->stream, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >",
			REPLICA_STREAM_GROUP, c->consumer, STREAM_COUNT, block_ms, REPLICA_STREAM);
	else
		rep = redisCommand(c->stream, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >",
				   REPLICA_STREAM_GROUP, c->consumer, STREAM_COUNT, REPLICA_STREAM);
	if (is_nogroup(rep)) {
		/* the stream went (Redis restarted or flushed): the catch-up covers the gap */
		log_warn(NULL, "consumer group \"%s\" is gone, creating it again",
			 REPLICA_STREAM_GROUP);
		freeReplyObject(rep);
		c->group_ok = false;
		r = cache_ensure_group(c);
		return r < 0 ? r : total;
	}
	if ((r = cache_redis_check(c->stream, rep, "XREADGROUP")) < 0)
		return r;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2)
		r = handle_entries(c, rep->element[0]->element[1]);
	else
		r = 0;
	freeReplyObject(rep);
	if (r < 0)
		return r;
	return total + r;
}

static int update_lag(struct cache *c)
{
	char last[24];
	const char *params[] = { last };
	struct db_error err;
	PGresult *res = NULL;
	long long max_id, lag_ms;
	int r;

	snprintf(last, sizeof(last), "%lld", c->last_change_id);
	r = db_exec(c->pg, sql_lag, 1, params, &res, &err);
	if (r < 0) {
		log_error(NULL, "could not read the lag: %s", err.msg);
		return r;
	}
	max_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	lag_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	max_id = max_id > c->last_change_id ? max_id - c->last_change_id : 0;
	atomic_store(&c->st_lag_changes, max_id);
	atomic_store(&c->st_lag_ms, lag_ms > 0 ? lag_ms : 0);
	metric_set(c->m_lag_changes, (double)max_id);
	metric_set(c->m_lag_ms, (double)(lag_ms > 0 ? lag_ms : 0));
	return 0;
}

int cache_catchup(struct cache *c)
{
	long long limit = atomic_load(&c->batch_size);
	int r;

	if (c->gen <= 0)
		return -ENOTCONN;
	for (;;) {
		char last[24], lim[24];
		const char *params[] = { last, c->snapshot, lim };
		struct cache_change *changes = NULL;
		char(*names)[DNSNAME_SIZE] = NULL;
		struct db_error err;
		PGresult *res = NULL;
		long long max_id = c->last_change_id;
		size_t n = 0;
		int rows, found = 0;
		char *snap;

		snprintf(last, sizeof(last), "%lld", c->last_change_id);
		snprintf(lim, sizeof(lim), "%lld", limit);
		r = db_exec(c->pg, sql_catchup, 3, params, &res, &err);
		if (r < 0) {
			log_error(NULL, "could not read the change log: %s", err.msg);
			return r;
		}
		rows = PQntuples(res);
		changes = calloc((size_t)rows, sizeof(*changes));
		names = calloc((size_t)rows, sizeof(*names));
		snap = strdup(PQgetvalue(res, 0, 3));
		if (!changes || !names || !snap) {
			r = -ENOMEM;
			goto batch_out;
		}
		for (int i = 0; i < rows; i++) {
			const char *reason = NULL;
			long long id;

			if (PQgetisnull(res, i, 0))
				continue; /* no row: only the snapshot */
			found++;
			id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			if (id > max_id)
				max_id = id;
			if (dnsname_normalize(PQgetvalue(res, i, 2), DNSNAME_WILDCARD, names[n],
					      &reason) < 0) {
				log_warn(NULL, "change %lld: invalid name \"%s\", ignoring", id,
					 PQgetvalue(res, i, 2));
				continue;
			}
			if (seen_take(c, id, names[n]))
				continue; /* the stream applied it after it committed */
			changes[n].zone_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
			changes[n].name = names[n];
			n++;
		}
		if (n > 0)
			log_debug(NULL, "catch-up: %zu changes up to %lld", n, max_id);
		metric_add(c->m_catchup_rows, n);
		r = cache_apply(c, changes, n);
		if (r < 0)
			goto batch_out;
		c->last_change_id = max_id;
		seen_prune(c);
		free(c->snapshot);
		c->snapshot = snap;
		snap = NULL;
		r = cache_store_position(c);
	batch_out:
		free(snap);
		free(changes);
		free(names);
		PQclear(res);
		if (r < 0)
			return r;
		/* not @rows: with no change left it is still 1, the snapshot's row */
		if ((long long)found < limit || atomic_load(&c->stop))
			break;
	}
	r = update_lag(c);
	if (r < 0)
		return r;
	atomic_store(&c->st_last_poll_ms, clock_ms());
	return 0;
}

/* Is the generation we write to still the live one? */
static int check_live(struct cache *c)
{
	redisReply *rep = redisCommand(c->rdns, "GET %s", REPLICA_GEN_KEY);
	long long live = 0;
	int r;

	if ((r = cache_redis_check(c->rdns, rep, "GET dns:gen")) < 0)
		return r;
	if (rep->type == REDIS_REPLY_STRING)
		live = strtoll(rep->str, NULL, 10);
	freeReplyObject(rep);
	if (live <= 0) {
		log_warn(NULL, "no live generation (redis lost it): loading again");
		atomic_store(&c->complete, false);
		c->need_load = true;
	} else if (live != c->gen) {
		/* another loader switched: follow its generation instead of loading again */
		return cache_adopt_live(c);
	}
	return 0;
}

int cache_step(struct cache *c)
{
	long long now = clock_ms(), block;
	bool do_claim = false;
	int r;

	if (c->need_load || c->gen <= 0) {
		r = cache_load(c);
		if (r < 0)
			return r;
		now = clock_ms();
		c->next_poll_ms = now + atomic_load(&c->poll_interval_ms);
	}
	if (now >= c->next_claim_ms) {
		long long idle = atomic_load(&c->claim_idle_ms);

		do_claim = true;
		c->next_claim_ms = now + (idle / 2 > 100 ? idle / 2 : 100);
	}
	block = c->next_poll_ms - now;
	if (block > FOLLOW_BLOCK)
		block = FOLLOW_BLOCK;
	r = cache_follow(c, block > 0 ? (int)block : 0, do_claim);
	if (r < 0)
		return r;
	now = clock_ms();
	if (now >= c->next_poll_ms) {
		c->next_poll_ms = now + atomic_load(&c->poll_interval_ms);
		if ((r = check_live(c)) < 0)
			return r;
		if (c->need_load)
			return 0;
		if ((r = cache_catchup(c)) < 0)
			return r;
		if ((r = cache_gc(c, false)) < 0)
			return r;
	}
	return 0;
}
