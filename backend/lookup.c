/* The answer path: Redis replica, PostgreSQL fallback, serve-stale. */

#include "backend/lookup.h"
#include "backend/mirror.h"
#include "backend/recent.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/log.h"
#include "shared/redis.h"
#include "shared/replica.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Time kept back from a deadline for the last step (stale, reply). */
#define DEADLINE_MARGIN_MS 20
/* How often readiness re-checks that the replica is complete. */
#define READY_PROBE_MS 2000

struct lookup {
	struct event_base *base;            /* borrowed */
	struct backend_stats *stats;        /* borrowed; may be NULL */
	struct redis_client *redis;         /* owned; NULL without Redis */
	struct db_pool *db;                 /* owned; NULL without PostgreSQL */
	struct stale *stale;                /* owned */
	struct mirror *mirror;              /* owned; NULL: mirror off */
	struct recent *recent;              /* owned: when names were last answered */
	struct event *probe;                /* owned */
	struct lookup_config cfg;           /* strings not kept */
	char lookup_sha[48], zones_sha[48]; /* "" until SCRIPT LOAD answered */
	char *zones_last;                   /* owned: the last good zone list */
	size_t zones_last_len;
	bool replica_complete;          /* as last seen on Redis */
	bool redis_failing, db_failing; /* log transitions only */
	bool closing;
};

enum op_kind { OP_NAME, OP_ZONES, OP_LIST };

struct op {
	struct lookup *l; /* borrowed */
	enum op_kind kind;
	int64_t deadline_ms;
	source_done_fn cb;
	void *arg;
	bool evaled;  /* sent with EVAL (no SHA, or NOSCRIPT) */
	bool found;   /* OP_NAME from PostgreSQL: the name has data */
	char *value;  /* owned: OP_NAME answer read from PostgreSQL */
	json_t *list; /* owned: OP_LIST records gathered */
	char name[DNSNAME_SIZE];
};

static struct stale *stale_of(struct lookup *l)
{
	return l->stale;
}

static void stats_stale(struct lookup *l)
{
	if (l->stats)
		metric_set(l->stats->stale_entries, (double)stale_count(l->stale));
}

static void op_done(struct op *op, enum source_status st, const char *value, size_t len,
		    const char *reason)
{
	if (op->kind == OP_NAME)
		recent_mark(op->l->recent, op->name, clock_ms());
	op->cb(st, value, len, reason, op->arg);
	free(op->value);
	json_decref(op->list);
	free(op);
}

static long long remaining_ms(const struct op *op)
{
	return (long long)(op->deadline_ms - clock_ms()) - DEADLINE_MARGIN_MS;
}

/* ---- the last resort --------------------------------------------------- */

static void serve_stale(struct op *op, const char *reason)
{
	struct lookup *l = op->l;
	char *json = NULL;

	if (op->kind == OP_NAME && stale_get(l->stale, op->name, l->cfg.stale_ttl_cap,
					     l->cfg.stale_max_age_ms, clock_ms(), &json) == 0) {
		if (l->stats)
			metric_inc(l->stats->stale_served);
		log_debug(NULL, "serving a stale answer for \"%s\": %s", op->name, reason);
		op_done(op, SOURCE_FOUND, json, strlen(json), NULL);
		free(json);
		return;
	}
	if (op->kind == OP_ZONES && l->zones_last) {
		if (l->stats)
			metric_inc(l->stats->stale_served);
		op_done(op, SOURCE_FOUND, l->zones_last, l->zones_last_len, NULL);
		return;
	}
	op_done(op, SOURCE_FAILED, NULL, 0, reason);
}

static void db_failed(struct lookup *l, const char *msg)
{
	if (!l->db_failing)
		log_warn(NULL, "postgresql fallback failed: %s", msg);
	l->db_failing = true;
}

static void db_ok(struct lookup *l)
{
	if (l->db_failing)
		log_info(NULL, "postgresql fallback answers again");
	l->db_failing = false;
}

/* ---- PostgreSQL -------------------------------------------------------- */

static int on_pg_name_row(const char *name, const char *json, const struct replica_zone *zone,
			  void *arg)
{
	struct op *op = arg;

	(void)zone;
	if (strcmp(name, op->name) != 0 || !json)
		return 0;
	free(op->value);
	if (!(op->value = strdup(json)))
		return -ENOMEM;
	op->found = true;
	return 0;
}

static void on_pg_name(PGresult *res, const struct db_error *err, void *arg)
{
	struct op *op = arg;
	struct lookup *l = op->l;
	int r;

	if (!res) {
		db_failed(l, err ? err->msg : "unknown error");
		serve_stale(op, "no store can answer");
		return;
	}
	r = replica_render_result(res, on_pg_name_row, op);
	if (r < 0) {
		log_warn(NULL, "could not render \"%s\" from postgresql: %s", op->name,
			 strerror(-r));
		serve_stale(op, "could not render the answer");
		return;
	}
	db_ok(l);
	if (l->stats)
		metric_inc(l->stats->pg_fallbacks);
	if (op->found) {
		(void)stale_put(l->stale, op->name, op->value, strlen(op->value), clock_ms());
		stats_stale(l);
		op_done(op, SOURCE_FOUND, op->value, strlen(op->value), NULL);
	} else {
		stale_remove(l->stale, op->name);
		op_done(op, SOURCE_ABSENT, NULL, 0, NULL);
	}
}

static void on_pg_zones(PGresult *res, const struct db_error *err, void *arg)
{
	struct op *op = arg;
	struct lookup *l = op->l;
	char *buf = NULL, *info;
	size_t len = 0;
	FILE *f;
	int n, r = 0;

	if (!res) {
		db_failed(l, err ? err->msg : "unknown error");
		serve_stale(op, "no store can answer the zone list");
		return;
	}
	if (!(f = open_memstream(&buf, &len))) {
		serve_stale(op, "out of memory");
		return;
	}
	fputc('[', f);
	n = PQntuples(res);
	for (int i = 0; i < n && r == 0; i++) {
		struct replica_zone z;

		r = replica_zone_from_row(res, i, 0, &z);
		if (r == 0)
			r = replica_render_zone_info(&z, &info);
		if (r == 0) {
			if (i > 0)
				fputc(',', f);
			fputs(info, f);
			free(info);
		}
	}
	fputc(']', f);
	if (fclose(f) != 0 || r < 0) {
		free(buf);
		log_warn(NULL, "could not render the zone list from postgresql: %s",
			 strerror(r < 0 ? -r : ENOMEM));
		serve_stale(op, "could not render the zone list");
		return;
	}
	db_ok(l);
	if (l->stats)
		metric_inc(l->stats->pg_fallbacks);
	free(l->zones_last);
	l->zones_last = buf;
	l->zones_last_len = len;
	op_done(op, SOURCE_FOUND, buf, len, NULL);
}

static void pg_start(struct op *op)
{
	struct lookup *l = op->l;
	long long timeout = remaining_ms(op);
	char param[DNSNAME_SIZE + 8];
	const char *params[1] = { param };
	int r;

	if (!l->db || l->closing) {
		serve_stale(op, "no store can answer");
		return;
	}
	if (timeout <= 0) {
		serve_stale(op, "deadline reached");
		return;
	}
	if (timeout > l->cfg.db_timeout_ms)
		timeout = l->cfg.db_timeout_ms;
	if (op->kind == OP_NAME) {
		/* normalized names hold no quotes, backslashes, commas or braces */
		snprintf(param, sizeof(param), "{\"%s\"}", op->name);
		r = db_pool_query(l->db, replica_sql_names, 1, params, timeout, on_pg_name, op);
	} else {
		r = db_pool_query(l->db, replica_sql_zones, 0, NULL, timeout, on_pg_zones, op);
	}
	if (r < 0) {
		db_failed(l, r == -EAGAIN ? "too many queries waiting" : strerror(-r));
		serve_stale(op, "no store can answer");
	}
}

/* ---- Redis ------------------------------------------------------------- */

static void redis_failed(struct lookup *l, const char *msg)
{
	if (!l->redis_failing)
		log_warn(NULL, "redis replica lookup failed, falling back to postgresql: %s", msg);
	l->redis_failing = true;
}

static void fallback(struct op *op)
{
	if (op->l->stats)
		metric_inc(op->l->stats->redis_misses);
	pg_start(op);
}

static int redis_send(struct op *op);

/* {gen, value} → value; NULL when the reply is not of that shape. */
static const redisReply *reply_value(const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
		return NULL;
	if (r->element[1]->type != REDIS_REPLY_STRING)
		return NULL;
	return r->element[1];
}

static void zones_from_reply(struct op *op, const redisReply *r)
{
	struct lookup *l = op->l;
	size_t len = 2, pos = 0;
	char *buf;

	for (size_t i = 1; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING) {
			redis_failed(l, "unexpected reply to the zone list script");
			fallback(op);
			return;
		}
		len += r->element[i]->len + 1;
	}
	if (!(buf = malloc(len + 1))) {
		fallback(op);
		return;
	}
	buf[pos++] = '[';
	for (size_t i = 1; i < r->elements; i++) {
		if (i > 1)
			buf[pos++] = ',';
		memcpy(buf + pos, r->element[i]->str, r->element[i]->len);
		pos += r->element[i]->len;
	}
	buf[pos++] = ']';
	buf[pos] = '\0';
	free(l->zones_last);
	l->zones_last = buf;
	l->zones_last_len = pos;
	if (l->stats)
		metric_inc(l->stats->redis_hits);
	op_done(op, SOURCE_FOUND, buf, pos, NULL);
}

static void on_redis(redisReply *r, const char *err, void *arg)
{
	struct op *op = arg;
	struct lookup *l = op->l;
	const redisReply *v;

	if (!r) {
		redis_failed(l, err ? err : "no reply");
		fallback(op);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		if (!op->evaled && strncmp(r->str, "NOSCRIPT", 8) == 0) {
			if (op->kind == OP_NAME)
				l->lookup_sha[0] = '\0';
			else
				l->zones_sha[0] = '\0';
			op->evaled = true;
			if (redis_send(op) == 0)
				return;
		}
		redis_failed(l, r->str);
		fallback(op);
		return;
	}
	if (l->redis_failing)
		log_info(NULL, "redis replica answers again");
	l->redis_failing = false;
	if (r->type == REDIS_REPLY_NIL) {
		l->replica_complete = false;
		fallback(op);
		return;
	}
	l->replica_complete = true;
	if (op->kind == OP_ZONES) {
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
			redis_failed(l, "unexpected reply to the zone list script");
			fallback(op);
			return;
		}
		zones_from_reply(op, r);
		return;
	}
	if (!(v = reply_value(r))) {
		redis_failed(l, "unexpected reply to the lookup script");
		fallback(op);
		return;
	}
	if (l->stats)
		metric_inc(l->stats->redis_hits);
	if (v->len == 0) {
		stale_remove(l->stale, op->name);
		stats_stale(l);
		op_done(op, SOURCE_ABSENT, NULL, 0, NULL);
		return;
	}
	(void)stale_put(l->stale, op->name, v->str, v->len, clock_ms());
	stats_stale(l);
	op_done(op, SOURCE_FOUND, v->str, v->len, NULL);
}

static int redis_send(struct op *op)
{
	struct lookup *l = op->l;
	const char *sha = op->kind == OP_NAME ? l->lookup_sha : l->zones_sha;
	const char *script = op->kind == OP_NAME ? replica_lookup_lua : replica_zones_lua;
	long long timeout = remaining_ms(op);
	const char *argv[5];
	int argc = 0;

	if (timeout <= 0)
		return -ETIMEDOUT;
	if (timeout > l->cfg.redis_timeout_ms)
		timeout = l->cfg.redis_timeout_ms;
	if (!sha[0])
		op->evaled = true;
	argv[argc++] = op->evaled ? "EVAL" : "EVALSHA";
	argv[argc++] = op->evaled ? script : sha;
	argv[argc++] = "1";
	argv[argc++] = REPLICA_GEN_KEY;
	if (op->kind == OP_NAME)
		argv[argc++] = op->name;
	return redis_client_commandv(l->redis, (int)timeout, on_redis, op, argc, argv, NULL);
}

static void redis_start(struct op *op)
{
	int r;

	if (!op->l->redis || op->l->closing) {
		fallback(op);
		return;
	}
	r = redis_send(op);
	if (r < 0) {
		if (r != -ENOTCONN)
			redis_failed(op->l, strerror(-r));
		fallback(op);
	}
}

static void on_script_loaded(redisReply *r, const char *err, void *arg)
{
	char *sha = arg;

	if (r && r->type == REDIS_REPLY_STRING && r->len < 48) {
		memcpy(sha, r->str, r->len);
		sha[r->len] = '\0';
	} else if (r && r->type == REDIS_REPLY_ERROR) {
		log_warn(NULL, "could not load a replica script into redis: %s, using EVAL",
			 r->str);
	}
}

static void on_probe_reply(redisReply *r, const char *err, void *arg)
{
	struct lookup *l = arg;

	if (r && r->type == REDIS_REPLY_INTEGER)
		l->replica_complete = r->integer > 0;
}

static void probe(struct lookup *l)
{
	if (l->redis && redis_client_connected(l->redis))
		(void)redis_client_command(l->redis, 0, on_probe_reply, l, "EXISTS %s",
					   REPLICA_GEN_KEY);
}

static void on_probe_timer(evutil_socket_t fd, short what, void *arg)
{
	probe(arg);
}

static void on_redis_connect(struct redis_client *c, void *arg)
{
	struct lookup *l = arg;

	(void)redis_client_command(c, 0, on_script_loaded, l->lookup_sha, "SCRIPT LOAD %s",
				   replica_lookup_lua);
	(void)redis_client_command(c, 0, on_script_loaded, l->zones_sha, "SCRIPT LOAD %s",
				   replica_zones_lua);
	probe(l);
	mirror_redis_up(l->mirror, true);
}

static void on_redis_disconnect(struct redis_client *c, void *arg)
{
	struct lookup *l = arg;

	l->replica_complete = false;
	mirror_redis_up(l->mirror, false);
}

/* ---- list (AXFR) ------------------------------------------------------- */

/*
 * The names of a zone (its records' owners and the apex) as a text[]
 * literal, and how many records it has.
 */
static const char sql_list_names[] =
	"SELECT (SELECT count(*) FROM records r WHERE r.zone_id = z.id),"
	" ARRAY(SELECT r.name::text FROM records r WHERE r.zone_id = z.id"
	" UNION SELECT z.name::text)::text"
	" FROM zones z WHERE z.name = $1";

static int on_list_row(const char *name, const char *json, const struct replica_zone *zone,
		       void *arg)
{
	struct op *op = arg;
	json_t *doc, *rr;
	size_t i;
	int r = 0;

	(void)name;
	(void)zone;
	if (!json)
		return 0;
	doc = json_loads(json, 0, NULL);
	if (!json_is_array(doc)) {
		json_decref(doc);
		return -EINVAL;
	}
	json_array_foreach(doc, i, rr)
	{
		const char *t = json_string_value(json_object_get(rr, "qtype"));

		if (t && strcmp(t, "ENT") == 0)
			continue; /* not a record: no place in a zone transfer */
		if (json_array_append(op->list, rr) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	json_decref(doc);
	return r;
}

static void on_list_records(PGresult *res, const struct db_error *err, void *arg)
{
	struct op *op = arg;
	char *out;
	int r;

	if (!res) {
		db_failed(op->l, err ? err->msg : "unknown error");
		op_done(op, SOURCE_FAILED, NULL, 0, "could not read the zone");
		return;
	}
	r = replica_render_result(res, on_list_row, op);
	if (r < 0 || !(out = json_dumps(op->list, JSON_COMPACT))) {
		op_done(op, SOURCE_FAILED, NULL, 0, "could not render the zone");
		return;
	}
	db_ok(op->l);
	op_done(op, SOURCE_FOUND, out, strlen(out), NULL);
	free(out);
}

static void on_list_names(PGresult *res, const struct db_error *err, void *arg)
{
	struct op *op = arg;
	struct lookup *l = op->l;
	const char *params[1];
	long long n, timeout = remaining_ms(op);
	int r;

	if (!res) {
		db_failed(l, err ? err->msg : "unknown error");
		op_done(op, SOURCE_FAILED, NULL, 0, "could not read the zone");
		return;
	}
	if (PQntuples(res) == 0) {
		op_done(op, SOURCE_ABSENT, NULL, 0, NULL);
		return;
	}
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (n < 0 || (size_t)n > l->cfg.list_max_records) {
		log_warn(NULL, "zone \"%s\" has %lld records, more than list_max_records (%zu)",
			 op->name, n, l->cfg.list_max_records);
		op_done(op, SOURCE_FAILED, NULL, 0, "zone too large to list");
		return;
	}
	if (timeout <= 0) {
		op_done(op, SOURCE_FAILED, NULL, 0, "deadline reached");
		return;
	}
	if (!(op->list = json_array())) {
		op_done(op, SOURCE_FAILED, NULL, 0, "out of memory");
		return;
	}
	params[0] = PQgetvalue(res, 0, 1);
	r = db_pool_query(l->db, replica_sql_names, 1, params, timeout, on_list_records, op);
	if (r < 0)
		op_done(op, SOURCE_FAILED, NULL, 0, "could not read the zone");
}

/* ---- source_ops -------------------------------------------------------- */

static struct op *op_new(struct lookup *l, enum op_kind kind, const char *name, int64_t deadline_ms,
			 source_done_fn cb, void *arg)
{
	struct op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->l = l;
	op->kind = kind;
	op->deadline_ms = deadline_ms;
	op->cb = cb;
	op->arg = arg;
	if (name)
		snprintf(op->name, sizeof(op->name), "%s", name);
	return op;
}

static int src_lookup(void *ctx, const char *name, int64_t deadline_ms, source_done_fn cb,
		      void *arg)
{
	struct lookup *l = ctx;
	struct op *op;
	const char *value;
	size_t len;
	int64_t now = clock_ms();

	/*
	 * Marked when it starts, whatever answers: a lookup in flight when a
	 * purge notice comes may still answer the old data (purge.c's skip
	 * relies on it); op_done marks again when Redis or PostgreSQL answers.
	 */
	recent_mark(l->recent, name, now);
	switch (mirror_get(l->mirror, name, &value, &len)) {
	case MIRROR_FOUND:
		if (l->stats)
			metric_inc(l->stats->mirror_hits);
		(void)stale_put(l->stale, name, value, len, now);
		cb(SOURCE_FOUND, value, len, NULL, arg);
		return 0;
	case MIRROR_ABSENT:
		if (l->stats)
			metric_inc(l->stats->mirror_hits);
		stale_remove(l->stale, name);
		cb(SOURCE_ABSENT, NULL, 0, NULL, arg);
		return 0;
	case MIRROR_UNKNOWN:
		break;
	}
	if (!(op = op_new(l, OP_NAME, name, deadline_ms, cb, arg)))
		return -ENOMEM;
	redis_start(op);
	return 0;
}

static int src_zones(void *ctx, int64_t deadline_ms, source_done_fn cb, void *arg)
{
	struct op *op = op_new(ctx, OP_ZONES, NULL, deadline_ms, cb, arg);

	if (!op)
		return -ENOMEM;
	redis_start(op);
	return 0;
}

static int src_list(void *ctx, const char *zone, int64_t deadline_ms, source_done_fn cb, void *arg)
{
	struct lookup *l = ctx;
	struct op *op;
	const char *params[1] = { zone };
	long long timeout;
	int r;

	if (!l->db || l->closing)
		return -ENOTCONN;
	if (!(op = op_new(l, OP_LIST, zone, deadline_ms, cb, arg)))
		return -ENOMEM;
	timeout = remaining_ms(op);
	if (timeout <= 0)
		timeout = 1;
	r = db_pool_query(l->db, sql_list_names, 1, params, timeout, on_list_names, op);
	if (r < 0) {
		free(op);
		return r;
	}
	return 0;
}

static int src_stale(void *ctx, const char *name, char **ret_json)
{
	struct lookup *l = ctx;
	int64_t now = clock_ms();
	int r = stale_get(stale_of(l), name, l->cfg.stale_ttl_cap, l->cfg.stale_max_age_ms, now,
			  ret_json);

	if (r == 0) {
		recent_mark(l->recent, name, now);
		if (l->stats)
			metric_inc(l->stats->stale_served);
	}
	return r;
}

const struct source_ops lookup_source_ops = {
	.lookup = src_lookup,
	.zones = src_zones,
	.list = src_list,
	.stale = src_stale,
};

/* ---- lifetime ---------------------------------------------------------- */

int lookup_create(struct event_base *base, const struct lookup_config *cfg,
		  struct backend_stats *stats, struct lookup **ret)
{
	struct lookup *l = calloc(1, sizeof(*l));
	struct redis_url url = { 0 };
	const char *reason = NULL;
	struct timeval tv = { READY_PROBE_MS / 1000, (READY_PROBE_MS % 1000) * 1000 };
	int r = -ENOMEM;

	if (!l)
		return -ENOMEM;
	l->base = base;
	l->stats = stats;
	l->cfg = *cfg;
	l->cfg.redis_url = l->cfg.database_url = NULL;
	if (!(l->stale = stale_create(cfg->stale_entries, cfg->stale_bytes)))
		goto fail;
	if (!(l->recent = recent_create(LOOKUP_RECENT_BITS)))
		goto fail;
	if (cfg->redis_url) {
		struct redis_client_opts opts = {
			.connect_timeout_ms = 2000,
			.command_timeout_ms = (int)cfg->redis_timeout_ms,
			.backoff_min_ms = 100,
			.backoff_max_ms = 2000,
			.on_connect = on_redis_connect,
			.on_disconnect = on_redis_disconnect,
			.arg = l,
			.name = "redis-replica",
		};

		r = redis_url_parse(cfg->redis_url, &url, &reason);
		if (r < 0) {
			log_error(NULL, "invalid redis_url: %s", reason ? reason : strerror(-r));
			goto fail;
		}
		l->redis = redis_client_create(base, &url, &opts);
		redis_url_finish(&url);
		if (!l->redis) {
			r = -errno;
			goto fail;
		}
		if (cfg->mirror) {
			struct mirror_config mc = { .max_bytes = cfg->mirror_max_bytes };

			r = -ENOMEM;
			if (!(l->mirror = mirror_create(base, l->redis, &mc)))
				goto fail;
		}
	}
	if (cfg->database_url) {
		struct db_pool_config dc = {
			.dsn = cfg->database_url,
			.application_name = "ddns-backend",
			.options = REPLICA_SESSION_OPTIONS,
			.n_conns = cfg->db_pool_size,
			.max_queue = 256,
			.query_timeout_ms = cfg->db_timeout_ms,
			.connect_timeout_ms = 2000,
			.backoff_max_ms = 2000,
		};

		if (!(l->db = db_pool_create(base, &dc))) {
			r = -EINVAL;
			log_error(NULL,
				  "could not create the postgresql pool (check database_url)");
			goto fail;
		}
	}
	l->probe = event_new(base, -1, EV_PERSIST, on_probe_timer, l);
	if (!l->probe || event_add(l->probe, &tv) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*ret = l;
	return 0;
fail:
	lookup_destroy(l);
	return r < 0 ? r : -EINVAL;
}

void lookup_destroy(struct lookup *l)
{
	if (!l)
		return;
	l->closing = true;
	if (l->probe)
		event_free(l->probe);
	redis_client_destroy(l->redis); /* completes the mirror's commands: before it */
	l->redis = NULL;
	mirror_destroy(l->mirror);
	l->mirror = NULL;
	db_pool_destroy(l->db);
	l->db = NULL;
	stale_destroy(l->stale);
	recent_destroy(l->recent);
	free(l->zones_last);
	free(l);
}

void lookup_set_stale_ttl_cap(struct lookup *l, long long seconds)
{
	l->cfg.stale_ttl_cap = seconds;
}

int64_t lookup_last_answer(const struct lookup *l, const char *name)
{
	return recent_last(l->recent, name);
}

int lookup_zone_check(struct lookup *l, const char *name, redis_reply_fn cb, void *arg)
{
	/*
	 * Sent whole (about 130 bytes; Redis keeps it compiled by its digest):
	 * by SHA, a Redis that lost its scripts would fail every check, and
	 * with it every flush left out, until the client reconnected.
	 */
	const char *argv[] = { "EVAL", replica_is_zone_lua, "1", REPLICA_GEN_KEY, name };

	if (!l->redis || l->closing)
		return -ENOTCONN;
	return redis_client_commandv(l->redis, (int)l->cfg.redis_timeout_ms, cb, arg, 5, argv,
				     NULL);
}

void lookup_stale_drop(struct lookup *l, const char *name)
{
	stale_drop_below(l->stale, name);
	stats_stale(l);
}

bool lookup_ready(struct lookup *l, json_t *checks)
{
	bool redis_ok = l->redis && redis_client_connected(l->redis) && l->replica_complete;
	bool db_ok = l->db && db_pool_n_ready(l->db) > 0;

	json_object_set_new(checks, "redis",
			    json_string(!l->redis                           ? "not configured"
					: !redis_client_connected(l->redis) ? "down"
					: l->replica_complete               ? "ok"
							      : "replica incomplete"));
	json_object_set_new(checks, "mirror",
			    json_string(!l->mirror                 ? "off"
					: mirror_usable(l->mirror) ? "ready"
								   : "not ready"));
	json_object_set_new(checks, "postgres",
			    json_string(!l->db  ? "not configured"
					: db_ok ? "ok"
						: "down"));
	return redis_ok || db_ok;
}

struct mirror *lookup_mirror(struct lookup *l)
{
	return l ? l->mirror : NULL;
}
