/*
 * ddns-cache's engine against a real, migrated PostgreSQL and the harness's
 * Redis. The replica keys have fixed names, so the tests use Redis dbs 12
 * (replica) and 13 (stream), flush both at the start of each test, and run
 * serially.
 */
#include "services/cache/cache.h"
#include "shared/db.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis.h"
#include "shared/replica.h"
#include "tests/integration/testdb.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DNS_DB    12
#define STREAM_DB 13

static char dsn[512], dbname[128];
static char dns_url[256], stream_url[256];
static PGconn *conn;
static redisContext *rdns, *rstream;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void exec_on(PGconn *pc, const char *sql)
{
	struct db_error err = { 0 };

	ck_assert_msg(db_exec(pc, sql, 0, NULL, NULL, &err) == 0, "%s: %s", sql, err.msg);
}

static void exec_ok(const char *sql)
{
	exec_on(conn, sql);
}

static redisContext *redis_db(int db, char *url_out, size_t size)
{
	const char *base = getenv("DDNS_TEST_REDIS_URL");
	struct redis_url url;
	redisContext *ctx = NULL;
	char err[256];

	ck_assert_msg(base && *base, "DDNS_TEST_REDIS_URL not set");
	ck_assert_int_eq(redis_url_parse(base, &url, NULL), 0);
	url.db = db;
	snprintf(url_out, size, "redis://%s:%d/%d", url.host, url.port, db);
	ck_assert_msg(redis_connect_sync(&url, 3000, &ctx, err, sizeof(err)) == 0, "%s", err);
	redis_url_finish(&url);
	return ctx;
}

static void rcmd_ok(redisContext *ctx, const char *fmt, const char *arg)
{
	redisReply *rep = redisCommand(ctx, fmt, arg);

	ck_assert_ptr_nonnull(rep);
	ck_assert_msg(rep->type != REDIS_REPLY_ERROR, "%s", rep->str);
	freeReplyObject(rep);
}

/* GET @key of db 12 as a new string, or NULL. */
static char *rget(const char *key)
{
	redisReply *rep = redisCommand(rdns, "GET %s", key);
	char *v = NULL;

	ck_assert_ptr_nonnull(rep);
	if (rep->type == REDIS_REPLY_STRING)
		v = strdup(rep->str);
	freeReplyObject(rep);
	return v;
}

static long long rgen(void)
{
	char *v = rget(REPLICA_GEN_KEY);
	long long g = v ? atoll(v) : 0;

	free(v);
	return g;
}

/* The live key of @name, or NULL. */
static char *live_name(const char *name)
{
	char key[REPLICA_KEY_SIZE];

	replica_name_key(rgen(), name, key, sizeof(key));
	return rget(key);
}

static char *hget(const char *key, const char *field)
{
	redisReply *rep = redisCommand(rdns, "HGET %s %s", key, field);
	char *v = NULL;

	ck_assert_ptr_nonnull(rep);
	if (rep->type == REDIS_REPLY_STRING)
		v = strdup(rep->str);
	freeReplyObject(rep);
	return v;
}

static long long count_keys(const char *pattern)
{
	redisReply *rep = redisCommand(rdns, "KEYS %s", pattern);
	long long n;

	ck_assert_ptr_nonnull(rep);
	n = (long long)rep->elements;
	freeReplyObject(rep);
	return n;
}

static int keep_json(const char *n, const char *json, const struct replica_zone *z, void *arg)
{
	char **out = arg;

	*out = json ? strdup(json) : NULL;
	return 0;
}

/* What replica_sql_names renders for @name now (new string or NULL). */
static char *render_now(const char *name)
{
	struct db_error err = { 0 };
	const char *names[] = { name };
	char *array = cache_text_array(names, 1), *out = NULL;
	const char *params[] = { array };
	PGresult *res = NULL;

	ck_assert_msg(db_exec(conn, replica_sql_names, 1, params, &res, &err) == 0, "%s", err.msg);
	free(array);
	ck_assert_int_eq(PQntuples(res) > 0, 1);
	ck_assert_int_eq(replica_render_result(res, keep_json, &out), 0);
	PQclear(res);
	return out;
}

static void assert_live_matches(const char *name)
{
	char *want = render_now(name), *got = live_name(name);

	if (!want)
		ck_assert_msg(!got, "%s: key should not exist, has %s", name, got);
	else
		ck_assert_msg(got && strcmp(want, got) == 0, "%s: want %s, got %s", name, want,
			      got ? got : "(none)");
	free(want);
	free(got);
}

static void seed(void)
{
	exec_ok("INSERT INTO zones (id, name, mname, rname, serial) VALUES "
		"(1, 'dyn.test.', 'ns1.dyn.test.', 'hostmaster.dyn.test.', 5), "
		"(2, 'sub.dyn.test.', 'ns1.dyn.test.', 'hostmaster.dyn.test.', 1)");
	exec_ok("INSERT INTO records (zone_id, name, type, content, ttl) VALUES "
		"(1, 'dyn.test.', 'NS', 'ns1.dyn.test.', 3600), "
		"(1, 'ns1.dyn.test.', 'A', '127.0.0.1', 3600), "
		"(1, 'a.b.c.dyn.test.', 'A', '192.0.2.1', 60), "
		"(1, '_acme-challenge.h.dyn.test.', 'TXT', '\"token\"', 60), "
		"(1, 'h.dyn.test.', 'AAAA', '2001:db8::1', 60), "
		"(1, 'h.dyn.test.', 'A', '192.0.2.2', 60), "
		"(1, 'h.dyn.test.', 'MX', '10 mail.dyn.test.', 60), "
		"(1, 'h.dyn.test.', 'CAA', '0 issue \"letsencrypt.org\"', 60), "
		"(1, '_sip._tcp.dyn.test.', 'SRV', '10 5 5060 h.dyn.test.', 60), "
		"(1, '*.w.dyn.test.', 'A', '192.0.2.3', 60), "
		"(2, 'x.sub.dyn.test.', 'CNAME', 'h.dyn.test.', 60)");
}

static void setup(void)
{
	struct db_error err = { 0 };

	log_setup("test", LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT, 2);
	testdb_create_migrated(dsn, sizeof(dsn), dbname, sizeof(dbname));
	ck_assert_int_eq(db_connect(dsn, "test", 10, &conn, &err), 0);
	rdns = redis_db(DNS_DB, dns_url, sizeof(dns_url));
	rstream = redis_db(STREAM_DB, stream_url, sizeof(stream_url));
	rcmd_ok(rdns, "FLUSHDB", NULL);
	rcmd_ok(rstream, "FLUSHDB", NULL);
	seed();
}

static void teardown(void)
{
	PQfinish(conn);
	conn = NULL;
	redisFree(rdns);
	redisFree(rstream);
	testdb_drop(dbname);
}

static struct cache_options options(void)
{
	return (struct cache_options){
		.database_url = dsn,
		.redis_url = dns_url,
		.redis_stream_url = stream_url,
		.batch_size = 5000,
		.poll_interval_ms = 200,
		.claim_idle_ms = 30000,
		.grace_period_ms = 30000,
		.max_lag_ms = 10000,
	};
}

static struct cache *engine(const struct cache_options *o)
{
	struct cache *c = cache_create(o, NULL);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cache_connect(c), 0);
	return c;
}

static void xadd(const char *name, long long zone_id)
{
	char zid[24];
	redisReply *rep;

	snprintf(zid, sizeof(zid), "%lld", zone_id);
	rep = redisCommand(rstream, "XADD %s * id 0 zone_id %s name %s", REPLICA_STREAM, zid, name);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_ne(rep->type, REDIS_REPLY_ERROR);
	freeReplyObject(rep);
}

/* Writes @sql, announces @name of zone @zone_id on the stream, and has @c apply it. */
static void apply_change(struct cache *c, const char *sql, const char *name, long long zone_id)
{
	exec_ok(sql);
	xadd(name, zone_id);
	ck_assert_int_eq(cache_follow(c, 500, false), 1);
}

static long long zone_serial(const char *zone)
{
	char key[REPLICA_KEY_SIZE], *info, *p;
	long long s;

	replica_zones_key(rgen(), key, sizeof(key));
	info = hget(key, zone);
	ck_assert_ptr_nonnull(info);
	p = strstr(info, "\"serial\":");
	ck_assert_ptr_nonnull(p);
	s = atoll(p + 9);
	free(info);
	return s;
}

/* ---- full load --------------------------------------------------------- */

struct hook_state {
	int calls;
	long long live_before; /* dns:gen expected during the load */
	const char *readable;  /* a key of the old generation that must stay readable */
};

static void check_during_load(long long gen, long long names, void *arg)
{
	struct hook_state *h = arg;
	char key[REPLICA_KEY_SIZE];

	h->calls++;
	ck_assert_int_eq(rgen(), h->live_before);
	replica_meta_key(gen, key, sizeof(key));
	ck_assert_int_eq(count_keys(key), 0);
	if (h->readable) {
		char *v = live_name(h->readable);

		ck_assert_msg(v != NULL, "old generation unreadable during the load");
		free(v);
	}
}

START_TEST(full_load)
{
	struct hook_state h = { 0 };
	struct cache_options o = options();
	struct cache *c;
	struct cache_status st;
	char key[REPLICA_KEY_SIZE], *v;
	static const char *const names[] = {
		"dyn.test.",       "sub.dyn.test.",
		"ns1.dyn.test.",   "a.b.c.dyn.test.",
		"b.c.dyn.test.",   "c.dyn.test.",
		"h.dyn.test.",     "_acme-challenge.h.dyn.test.",
		"_tcp.dyn.test.",  "_sip._tcp.dyn.test.",
		"*.w.dyn.test.",   "w.dyn.test.",
		"x.sub.dyn.test.", "nope.dyn.test.",
		"mail.dyn.test.",
	};

	o.batch_size = 3; /* several batches */
	o.on_load_batch = check_during_load;
	o.hook_arg = &h;
	c = engine(&o);
	ck_assert_int_eq(cache_load(c), 0);
	ck_assert_int_gt(h.calls, 2);
	cache_get_status(c, &st);
	ck_assert(st.complete);
	ck_assert_int_eq(st.generation, rgen());
	ck_assert_int_gt(st.generation, 0);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_live_matches(names[i]);

	/* ENTs between a.b.c.dyn.test. and the apex; none below the record */
	v = live_name("b.c.dyn.test.");
	ck_assert_str_eq(v, "[{\"qtype\":\"ENT\",\"qname\":\"b.c.dyn.test.\",\"content\":\"\","
			    "\"ttl\":0,\"domain_id\":1}]");
	free(v);
	v = live_name("c.dyn.test.");
	ck_assert_ptr_nonnull(strstr(v, "\"ENT\""));
	free(v);
	ck_assert_ptr_null(live_name("nope.dyn.test."));
	ck_assert_ptr_null(live_name("x.a.b.c.dyn.test."));

	/* SOA first at the apex, serial zones.serial + the last change of the zone */
	v = live_name("dyn.test.");
	ck_assert_msg(strncmp(v, "[{\"qtype\":\"SOA\"", 15) == 0, "%s", v);
	free(v);
	{
		PGresult *res = NULL;
		struct db_error err;

		ck_assert_int_eq(
			db_exec(conn,
				"SELECT 5 + max(id), (SELECT max(id) FROM changes), "
				"(SELECT count(*) FROM changes) FROM changes WHERE zone_id = 1",
				0, NULL, &res, &err),
			0);
		ck_assert_int_eq(zone_serial("dyn.test."), atoll(PQgetvalue(res, 0, 0)));
		replica_meta_key(rgen(), key, sizeof(key));
		v = hget(key, "last_change_id");
		ck_assert_str_eq(v, PQgetvalue(res, 0, 1));
		free(v);
		PQclear(res);
	}
	v = hget(key, "snapshot");
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(strchr(v, ':'));
	free(v);
	v = hget(key, "names");
	ck_assert_int_eq(atoll(v), 13); /* 2 apexes, 8 other owner names, 3 ENTs */
	free(v);
	v = hget(key, "loaded_at");
	ck_assert_int_gt(atoll(v), 1600000000000LL);
	free(v);
	replica_zones_key(rgen(), key, sizeof(key));
	v = hget(key, "sub.dyn.test.");
	ck_assert_ptr_nonnull(strstr(v, "\"id\":2"));
	free(v);
	cache_destroy(c);
}
END_TEST

/* ---- reload while serving --------------------------------------------- */

START_TEST(reload_while_serving)
{
	struct hook_state h = { 0 };
	struct cache_options o = options();
	struct cache *c;
	long long g1, g2;
	char pattern[64];

	o.batch_size = 2;
	o.grace_period_ms = 300;
	o.on_load_batch = check_during_load;
	o.hook_arg = &h;
	c = engine(&o);
	ck_assert_int_eq(cache_load(c), 0);
	g1 = rgen();

	/* a second load: the first generation stays live and readable until the switch */
	h.live_before = g1;
	h.readable = "h.dyn.test.";
	h.calls = 0;
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'r.dyn.test.', 'A', '192.0.2.9')");
	ck_assert_int_eq(cache_load(c), 0);
	ck_assert_int_gt(h.calls, 1);
	g2 = rgen();
	ck_assert_int_gt(g2, g1);
	assert_live_matches("r.dyn.test.");

	snprintf(pattern, sizeof(pattern), "dns:%lld:*", g1);
	ck_assert_int_gt(count_keys(pattern), 5);
	ck_assert_int_eq(cache_gc(c, false), 0);
	ck_assert_int_gt(count_keys(pattern), 5); /* within the grace period */
	sleep_ms(350);
	ck_assert_int_eq(cache_gc(c, false), 0);
	ck_assert_int_eq(count_keys(pattern), 0);
	snprintf(pattern, sizeof(pattern), "dns:%lld:*", g2);
	ck_assert_int_gt(count_keys(pattern), 5);
	cache_destroy(c);

	/* a crashed loader's leftovers go too */
	{
		struct cache *c2;
		char key[64];

		snprintf(key, sizeof(key), "dns:%lld:n:junk.dyn.test.", g2 + 100);
		rcmd_ok(rdns, "SET %s x", key);
		o.on_load_batch = NULL;
		o.grace_period_ms = 0;
		c2 = engine(&o);
		ck_assert_int_eq(cache_load(c2), 0);
		ck_assert_int_eq(cache_gc(c2, false), 0);
		snprintf(pattern, sizeof(pattern), "dns:%lld:*", g2 + 100);
		ck_assert_int_eq(count_keys(pattern), 0);
		snprintf(pattern, sizeof(pattern), "dns:%lld:*", g2);
		ck_assert_int_eq(count_keys(pattern), 0);
		assert_live_matches("h.dyn.test.");
		cache_destroy(c2);
	}
}
END_TEST

/* A generation that is live again (the reply to a switch was lost, or another
 * loader switched) is never deleted, even when it was scheduled. */
START_TEST(gc_keeps_live_generation)
{
	struct cache_options o = options();
	struct cache *c = engine(&o);
	char pattern[64], gen[24];
	long long g1;

	ck_assert_int_eq(cache_load(c), 0);
	g1 = rgen();
	ck_assert_int_eq(cache_load(c), 0); /* g1 waits for deletion */
	ck_assert_int_gt(rgen(), g1);
	snprintf(gen, sizeof(gen), "%lld", g1);
	rcmd_ok(rdns, "SET " REPLICA_GEN_KEY " %s", gen);
	ck_assert_int_eq(cache_gc(c, true), 0);
	snprintf(pattern, sizeof(pattern), "dns:%lld:*", g1);
	ck_assert_int_gt(count_keys(pattern), 5);
	assert_live_matches("h.dyn.test.");
	cache_destroy(c);
}
END_TEST

/* ---- stream path ------------------------------------------------------- */

/* Follows the stream until @cond holds or 3 s passed. */
#define FOLLOW_UNTIL(c, cond)                                               \
	do {                                                                \
		long long end_ = now_ms() + 3000;                           \
		while (!(cond) && now_ms() < end_)                          \
			ck_assert_int_ge(cache_follow((c), 200, false), 0); \
	} while (0)

static bool key_exists(const char *name)
{
	char *v = live_name(name);
	bool e = v != NULL;

	free(v);
	return e;
}

static bool live_has(const char *name, const char *part)
{
	char *v = live_name(name);
	bool e = v && strstr(v, part);

	free(v);
	return e;
}

START_TEST(stream_path)
{
	struct cache_options o = options();
	struct cache *c = engine(&o);
	long long serial0, t0;

	ck_assert_int_eq(cache_load(c), 0);
	serial0 = zone_serial("dyn.test.");
	ck_assert(!key_exists("n.m.dyn.test."));
	ck_assert(!key_exists("m.dyn.test."));

	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'n.m.dyn.test.', 'A', '192.0.2.10')");
	xadd("n.m.dyn.test.", 1);
	t0 = now_ms();
	FOLLOW_UNTIL(c, key_exists("n.m.dyn.test."));
	ck_assert_int_lt(now_ms() - t0, 1500);
	assert_live_matches("n.m.dyn.test.");
	assert_live_matches("m.dyn.test."); /* the new ENT */
	assert_live_matches("dyn.test.");   /* the serial in the SOA */
	ck_assert_int_gt(zone_serial("dyn.test."), serial0);

	exec_ok("DELETE FROM records WHERE name = 'n.m.dyn.test.'");
	xadd("n.m.dyn.test.", 1);
	FOLLOW_UNTIL(c, !key_exists("n.m.dyn.test."));
	ck_assert(!key_exists("n.m.dyn.test."));
	ck_assert(!key_exists("m.dyn.test.")); /* the ENT went */
	assert_live_matches("dyn.test.");

	/* an ENT that gets records of its own, and a record at an existing name */
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'c.dyn.test.', 'TXT', '\"hi\"'), (1, 'h.dyn.test.', 'A', "
		"'192.0.2.77')");
	xadd("c.dyn.test.", 1);
	xadd("h.dyn.test.", 1);
	FOLLOW_UNTIL(c, live_has("c.dyn.test.", "TXT"));
	assert_live_matches("c.dyn.test.");
	FOLLOW_UNTIL(c, live_has("h.dyn.test.", "192.0.2.77"));
	assert_live_matches("h.dyn.test.");

	/* duplicates and garbage are harmless and acknowledged */
	xadd("h.dyn.test.", 1);
	xadd("not a name", 1);
	ck_assert_int_ge(cache_follow(c, 200, false), 0);
	assert_live_matches("h.dyn.test.");
	{
		redisReply *rep = redisCommand(rstream, "XPENDING %s %s", REPLICA_STREAM,
					       REPLICA_STREAM_GROUP);

		ck_assert_int_eq(rep->element[0]->integer, 0);
		freeReplyObject(rep);
	}
	cache_destroy(c);
}
END_TEST

/* ---- change without a stream event ------------------------------------ */

START_TEST(catchup_without_stream)
{
	struct cache_options o = options();
	struct cache *c = engine(&o);
	char key[REPLICA_KEY_SIZE], *v;
	struct cache_status st;

	ck_assert_int_eq(cache_load(c), 0);
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'quiet.dyn.test.', 'A', '192.0.2.11')");
	exec_ok("UPDATE records SET content = '192.0.2.99' WHERE name = 'ns1.dyn.test.'");
	exec_ok("DELETE FROM records WHERE name = '*.w.dyn.test.'");
	ck_assert_int_eq(cache_follow(c, 100, false), 0); /* nothing in the stream */
	ck_assert(!key_exists("quiet.dyn.test."));
	ck_assert_int_eq(cache_catchup(c), 0);
	assert_live_matches("quiet.dyn.test.");
	assert_live_matches("ns1.dyn.test.");
	assert_live_matches("*.w.dyn.test.");
	assert_live_matches("w.dyn.test.");
	assert_live_matches("dyn.test.");
	ck_assert(!key_exists("*.w.dyn.test."));
	cache_get_status(c, &st);
	replica_meta_key(rgen(), key, sizeof(key));
	v = hget(key, "last_change_id");
	ck_assert_int_eq(atoll(v), st.last_change_id);
	free(v);
	ck_assert_int_eq(st.lag_changes, 0);
	ck_assert(cache_ready(c, NULL));

	/* a new zone and a deleted one reach the zones hash */
	exec_ok("INSERT INTO zones (id, name, mname, rname) VALUES "
		"(3, 'other.test.', 'ns1.dyn.test.', 'hostmaster.dyn.test.')");
	exec_ok("DELETE FROM zones WHERE id = 2");
	ck_assert_int_eq(cache_catchup(c), 0);
	replica_zones_key(rgen(), key, sizeof(key));
	v = hget(key, "other.test.");
	ck_assert_ptr_nonnull(v);
	free(v);
	ck_assert_ptr_null(hget(key, "sub.dyn.test."));
	assert_live_matches("other.test.");
	ck_assert(!key_exists("x.sub.dyn.test."));
	assert_live_matches("sub.dyn.test.");
	cache_destroy(c);
}
END_TEST

/*
 * Redis came back without its last writes (an append-only file synced every
 * second): the key of a change and the newer catch-up position are gone. The
 * resync resumes from the position Redis kept, so the change comes back.
 */
START_TEST(resync_after_lost_writes)
{
	struct cache_options o = options();
	struct cache *c = engine(&o);
	char key[REPLICA_KEY_SIZE], name_key[REPLICA_KEY_SIZE], *old_id, *old_snap;
	redisReply *rep;

	ck_assert_int_eq(cache_load(c), 0);
	replica_meta_key(rgen(), key, sizeof(key));
	old_id = hget(key, "last_change_id");
	old_snap = hget(key, "snapshot");
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'lost.dyn.test.', 'A', '192.0.2.14')");
	ck_assert_int_eq(cache_catchup(c), 0);
	assert_live_matches("lost.dyn.test.");

	/* what Redis lost */
	replica_name_key(rgen(), "lost.dyn.test.", name_key, sizeof(name_key));
	rep = redisCommand(rdns, "DEL %s", name_key);
	freeReplyObject(rep);
	rep = redisCommand(rdns, "HSET %s last_change_id %s snapshot %s", key, old_id, old_snap);
	freeReplyObject(rep);
	ck_assert(!key_exists("lost.dyn.test."));

	ck_assert_int_eq(cache_resync(c), 0);
	assert_live_matches("lost.dyn.test.");
	ck_assert(key_exists("lost.dyn.test."));
	free(old_id);
	free(old_snap);
	cache_destroy(c);
}
END_TEST

static long long gen_counter(void)
{
	char *v = rget("dns:gen:next");
	long long n = v ? atoll(v) : 0;

	free(v);
	return n;
}

/*
 * Two instances: the one that did not load follows the other's generation
 * instead of loading again (no ping-pong), applies changes to it, and a load
 * while another instance holds the loader lease builds nothing.
 */
START_TEST(two_instances)
{
	struct cache_options o1 = options(), o2 = options();
	struct cache *c1, *c2;
	long long gen, counter;
	redisReply *rep;

	o1.consumer = "one";
	o2.consumer = "two";
	c1 = engine(&o1);
	c2 = engine(&o2);
	ck_assert_int_eq(cache_load(c1), 0);
	ck_assert_int_eq(cache_load(c2), 0); /* the second instance starts: a new generation */
	gen = rgen();
	counter = gen_counter();

	/* the first one follows it rather than loading again */
	ck_assert_int_eq(cache_resync(c1), 0);
	ck_assert_int_eq(rgen(), gen);
	ck_assert_int_eq(gen_counter(), counter);
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'both.dyn.test.', 'A', '192.0.2.15')");
	ck_assert_int_eq(cache_catchup(c1), 0);
	assert_live_matches("both.dyn.test.");

	/* another instance is loading: no generation is built, the live one is followed */
	rep = redisCommand(rdns, "SET dns:loader three PX 60000");
	freeReplyObject(rep);
	ck_assert_int_eq(cache_load(c1), 0);
	ck_assert_int_eq(rgen(), gen);
	ck_assert_int_eq(gen_counter(), counter);
	rep = redisCommand(rdns, "DEL dns:loader");
	freeReplyObject(rep);

	/* and without the lease held, a load builds a generation and frees the lease */
	ck_assert_int_eq(cache_load(c1), 0);
	ck_assert_int_gt(rgen(), gen);
	ck_assert_ptr_null(rget("dns:loader"));
	cache_destroy(c2);
	cache_destroy(c1);
}
END_TEST

/* The catch-up rows applied so far, from the engine's metrics. */
static long long catchup_rows(struct metrics_registry *reg)
{
	char *text = metrics_render(reg), *p;
	long long v;

	ck_assert_ptr_nonnull(text);
	p = strstr(text, "\nddns_cache_catchup_rows_total ");
	ck_assert_ptr_nonnull(p);
	v = atoll(p + strlen("\nddns_cache_catchup_rows_total "));
	free(text);
	return v;
}

/*
 * A change the stream applied (its entry names the change id) is not applied
 * again by the catch-up; an entry without an id is, as before.
 */
START_TEST(applied_once)
{
	struct metrics_registry *reg = metrics_registry_create();
	struct cache_options o = options();
	struct cache *c = cache_create(&o, reg);
	PGresult *res = NULL;
	struct db_error err;
	redisReply *rep;
	long long before;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cache_connect(c), 0);
	ck_assert_int_eq(cache_load(c), 0);
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'once.dyn.test.', 'A', '192.0.2.16')");
	ck_assert_int_eq(db_exec(conn, "SELECT max(id) FROM changes WHERE name = 'once.dyn.test.'",
				 0, NULL, &res, &err),
			 0);
	rep = redisCommand(rstream, "XADD %s * id %s zone_id 1 name once.dyn.test.", REPLICA_STREAM,
			   PQgetvalue(res, 0, 0));
	freeReplyObject(rep);
	PQclear(res);
	ck_assert_int_eq(cache_follow(c, 500, false), 1);
	assert_live_matches("once.dyn.test.");
	before = catchup_rows(reg);
	ck_assert_int_eq(cache_catchup(c), 0);
	ck_assert_int_eq(catchup_rows(reg), before);

	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'twice.dyn.test.', 'A', '192.0.2.17')");
	xadd("twice.dyn.test.", 1); /* id 0: unknown */
	ck_assert_int_eq(cache_follow(c, 500, false), 1);
	ck_assert_int_eq(cache_catchup(c), 0);
	ck_assert_int_eq(catchup_rows(reg), before + 1);
	assert_live_matches("twice.dyn.test.");
	cache_destroy(c);
	metrics_registry_destroy(reg);
}
END_TEST

/* batch_size 1 (the configured minimum): the catch-up ends once drained. */
START_TEST(catchup_batch_of_one)
{
	struct cache_options o = options();
	struct cache *c;

	o.batch_size = 1;
	c = engine(&o);
	ck_assert_int_eq(cache_load(c), 0);
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'one.dyn.test.', 'A', '192.0.2.12')");
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'two.dyn.test.', 'A', '192.0.2.13')");
	ck_assert_int_eq(cache_catchup(c), 0);
	assert_live_matches("one.dyn.test.");
	assert_live_matches("two.dyn.test.");
	ck_assert_int_eq(cache_catchup(c), 0); /* nothing left */
	cache_destroy(c);
}
END_TEST

/* ---- late commit ------------------------------------------------------- */

START_TEST(late_commit)
{
	struct cache_options o = options();
	struct cache *c = engine(&o);
	struct db_error err;
	PGconn *a = NULL;
	PGresult *res = NULL;
	long long id_a, id_b;

	ck_assert_int_eq(cache_load(c), 0);
	ck_assert_int_eq(db_connect(dsn, "test-a", 10, &a, &err), 0);
	exec_on(a, "BEGIN");
	exec_on(a, "INSERT INTO records (zone_id, name, type, content) "
		   "VALUES (1, 'late.dyn.test.', 'A', '192.0.2.12')");
	ck_assert_int_eq(db_exec(a, "SELECT max(id) FROM changes", 0, NULL, &res, &err), 0);
	id_a = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'early.dyn.test.', 'A', '192.0.2.13')");
	ck_assert_int_eq(db_exec(conn, "SELECT max(id) FROM changes", 0, NULL, &res, &err), 0);
	id_b = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	ck_assert_int_lt(id_a, id_b);

	ck_assert_int_eq(cache_catchup(c), 0);
	ck_assert(key_exists("early.dyn.test."));
	ck_assert(!key_exists("late.dyn.test."));
	exec_on(a, "COMMIT");
	ck_assert_int_eq(cache_catchup(c), 0);
	assert_live_matches("late.dyn.test.");
	assert_live_matches("dyn.test.");
	/* and it is not applied again and again: the snapshot moved on */
	ck_assert_int_eq(cache_catchup(c), 0);
	PQfinish(a);
	cache_destroy(c);
}
END_TEST

/* ---- killed mid-stream ------------------------------------------------- */

START_TEST(killed_mid_stream)
{
	struct cache_options o = options();
	struct cache *c1, *c2;
	redisReply *rep;

	o.consumer = "first";
	c1 = engine(&o);
	ck_assert_int_eq(cache_load(c1), 0);
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'k1.dyn.test.', 'A', '192.0.2.21'), (1, 'k2.dyn.test.', 'A', "
		"'192.0.2.22')");
	xadd("k1.dyn.test.", 1);
	xadd("k2.dyn.test.", 1);
	/* a consumer that read the entries and died before applying them */
	rep = redisCommand(rstream, "XREADGROUP GROUP %s dead COUNT 10 STREAMS %s >",
			   REPLICA_STREAM_GROUP, REPLICA_STREAM);
	ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
	freeReplyObject(rep);
	cache_destroy(c1);
	ck_assert(!key_exists("k1.dyn.test."));

	/* a second consumer re-claims them once they are idle long enough */
	o.consumer = "second";
	o.claim_idle_ms = 100;
	c2 = engine(&o);
	/* adopt the live generation without a load: only the stream can apply them */
	sleep_ms(150);
	ck_assert_int_eq(cache_load(c2), 0); /* the load sees them anyway... */
	ck_assert(key_exists("k1.dyn.test."));
	/* ...so make the claim path visible with a change the load did not see */
	exec_ok("UPDATE records SET content = '192.0.2.23' WHERE name = 'k2.dyn.test.'");
	xadd("k2.dyn.test.", 1);
	rep = redisCommand(rstream, "XREADGROUP GROUP %s dead COUNT 10 STREAMS %s >",
			   REPLICA_STREAM_GROUP, REPLICA_STREAM);
	freeReplyObject(rep);
	sleep_ms(150);
	ck_assert_int_ge(cache_follow(c2, 0, true), 1);
	assert_live_matches("k2.dyn.test.");
	rep = redisCommand(rstream, "XPENDING %s %s", REPLICA_STREAM, REPLICA_STREAM_GROUP);
	ck_assert_int_eq(rep->element[0]->integer, 0);
	freeReplyObject(rep);
	cache_destroy(c2);

	/* killed with changes neither in the stream nor applied: the restart catches up */
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'k3.dyn.test.', 'A', '192.0.2.24')");
	exec_ok("DELETE FROM records WHERE name = 'k1.dyn.test.'");
	c1 = engine(&o);
	ck_assert_int_eq(cache_load(c1), 0);
	assert_live_matches("k3.dyn.test.");
	ck_assert(!key_exists("k1.dyn.test."));
	cache_destroy(c1);
}
END_TEST

/* ---- purge notices ----------------------------------------------------- */

static char *next_message(redisContext *sub)
{
	redisReply *rep = NULL;
	char *msg = NULL;

	if (redisGetReply(sub, (void **)&rep) != REDIS_OK || !rep)
		return NULL;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
	    rep->element[2]->type == REDIS_REPLY_STRING)
		msg = strdup(rep->element[2]->str);
	freeReplyObject(rep);
	return msg;
}

/* The next purge notice is @want. */
static void expect_notice(redisContext *sub, const char *want)
{
	char *m = next_message(sub);

	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m, want);
	free(m);
}

/* The next two purge notices are @a and @b, in either order. */
static void expect_notices(redisContext *sub, const char *a, const char *b)
{
	char *m = next_message(sub), *m2 = next_message(sub);

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(m2);
	ck_assert_msg((strcmp(m, a) == 0 && strcmp(m2, b) == 0) ||
			      (strcmp(m, b) == 0 && strcmp(m2, a) == 0),
		      "got %s and %s, want %s and %s", m, m2, a, b);
	free(m);
	free(m2);
}

START_TEST(purge_notices)
{
	struct cache_options o = options();
	struct cache *c = engine(&o);
	redisContext *sub;
	char url[256];
	redisReply *rep;

	sub = redis_db(STREAM_DB, url, sizeof(url));
	rep = redisCommand(sub, "SUBSCRIBE %s", REPLICA_PURGE_CHANNEL);
	freeReplyObject(rep);

	/* a full load announces every zone */
	ck_assert_int_eq(cache_load(c), 0);
	expect_notice(sub, "dyn.test.");
	expect_notice(sub, "sub.dyn.test.");

	/* a changed name that nothing points at: that name */
	apply_change(c, "UPDATE records SET content = '192.0.2.49' WHERE name = 'a.b.c.dyn.test.'",
		     "a.b.c.dyn.test.", 1);
	expect_notice(sub, "a.b.c.dyn.test.");

	/* the apex NS host: its address is additional data of the zone's answers,
	 * so the zone (which covers the name) */
	apply_change(c, "UPDATE records SET content = '192.0.2.50' WHERE name = 'ns1.dyn.test.'",
		     "ns1.dyn.test.", 1);
	expect_notice(sub, "dyn.test.");

	/* a new name: the zone (NXDOMAIN answers cached elsewhere) */
	apply_change(c,
		     "INSERT INTO records (zone_id, name, type, content) "
		     "VALUES (1, 'fresh.dyn.test.', 'A', '192.0.2.51')",
		     "fresh.dyn.test.", 1);
	expect_notice(sub, "dyn.test.");

	/* a deleted name: the zone */
	apply_change(c, "DELETE FROM records WHERE name = 'fresh.dyn.test.'", "fresh.dyn.test.", 1);
	expect_notice(sub, "dyn.test.");

	/* a CNAME target change and a wildcard: the zone */
	apply_change(c,
		     "UPDATE records SET content = 'ns1.dyn.test.' WHERE name = 'x.sub.dyn.test.'",
		     "x.sub.dyn.test.", 2);
	expect_notice(sub, "sub.dyn.test.");
	apply_change(c, "UPDATE records SET ttl = 120 WHERE name = '*.w.dyn.test.'",
		     "*.w.dyn.test.", 1);
	expect_notice(sub, "dyn.test.");

	/* nothing changed (a duplicate): no notice; the next one is the next change */
	xadd("ns1.dyn.test.", 1);
	ck_assert_int_eq(cache_follow(c, 500, false), 1);
	apply_change(c, "UPDATE records SET content = '192.0.2.52' WHERE name = 'a.b.c.dyn.test.'",
		     "a.b.c.dyn.test.", 1);
	expect_notice(sub, "a.b.c.dyn.test.");

	/* an SRV target (_sip._tcp -> h): the SRV record's zone, which covers h */
	apply_change(c,
		     "UPDATE records SET content = '192.0.2.55' WHERE name = 'h.dyn.test.' "
		     "AND type = 'A'",
		     "h.dyn.test.", 1);
	expect_notice(sub, "dyn.test.");

	/* the target of a CNAME (x.sub -> ns1): the CNAME's zone, pdns caches the
	 * chased answer under x.sub.dyn.test.; ns1 is also the apex NS host, whose
	 * address rides along as additional data: its zone (which covers ns1) too */
	apply_change(c, "UPDATE records SET content = '192.0.2.53' WHERE name = 'ns1.dyn.test.'",
		     "ns1.dyn.test.", 1);
	expect_notices(sub, "sub.dyn.test.", "dyn.test.");

	/* an MX exchange whose address changes: the zone of the MX record */
	exec_ok("INSERT INTO zones (id, name, mname, rname) VALUES "
		"(4, 'mx.test.', 'ns1.dyn.test.', 'hostmaster.dyn.test.')");
	exec_ok("INSERT INTO records (zone_id, name, type, content) VALUES "
		"(4, 'mx.test.', 'MX', '10 mail.sub.dyn.test.'), "
		"(2, 'mail.sub.dyn.test.', 'A', '192.0.2.60')");
	ck_assert_int_ge(cache_catchup(c), 0);
	/* a fresh subscriber: the notices of the new names stay behind */
	redisFree(sub);
	sub = redis_db(STREAM_DB, url, sizeof(url));
	rep = redisCommand(sub, "SUBSCRIBE %s", REPLICA_PURGE_CHANNEL);
	freeReplyObject(rep);
	apply_change(c,
		     "UPDATE records SET content = '192.0.2.61' WHERE name = 'mail.sub.dyn.test.'",
		     "mail.sub.dyn.test.", 2);
	expect_notices(sub, "mail.sub.dyn.test.", "mx.test.");

	redisFree(sub);
	cache_destroy(c);
}
END_TEST

/* ---- name notices (for the backends' mirrors) --------------------------- */

/* Reads @n messages; true when @want is among them. */
static bool messages_have(redisContext *sub, size_t n, const char *want)
{
	bool found = false;

	for (size_t i = 0; i < n; i++) {
		char *m = next_message(sub);

		ck_assert_ptr_nonnull(m);
		found = found || strcmp(m, want) == 0;
		free(m);
	}
	return found;
}

START_TEST(name_notices)
{
	struct cache_options o = options();
	struct cache *c = engine(&o);
	redisContext *sub;
	char url[256], want[32];
	redisReply *rep;

	sub = redis_db(STREAM_DB, url, sizeof(url));
	rep = redisCommand(sub, "SUBSCRIBE %s", REPLICA_NAMES_CHANNEL);
	freeReplyObject(rep);

	/* a load announces its generation once it is live */
	ck_assert_int_eq(cache_load(c), 0);
	rep = redisCommand(rdns, "GET %s", REPLICA_GEN_KEY);
	ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
	snprintf(want, sizeof(want), "gen %s", rep->str);
	freeReplyObject(rep);
	expect_notice(sub, want);

	/* a changed name: every name rewritten (it and its ancestors), after the write */
	apply_change(c, "UPDATE records SET content = '192.0.2.60' WHERE name = 'ns1.dyn.test.'",
		     "ns1.dyn.test.", 1);
	ck_assert(messages_have(sub, 3, "ns1.dyn.test."));
	assert_live_matches("ns1.dyn.test.");

	/* a new name and a deleted one are announced too, also without a value change */
	apply_change(c,
		     "INSERT INTO records (zone_id, name, type, content) "
		     "VALUES (1, 'fresh2.dyn.test.', 'A', '192.0.2.61')",
		     "fresh2.dyn.test.", 1);
	ck_assert(messages_have(sub, 3, "fresh2.dyn.test."));
	apply_change(c, "DELETE FROM records WHERE name = 'fresh2.dyn.test.'", "fresh2.dyn.test.",
		     1);
	ck_assert(messages_have(sub, 3, "fresh2.dyn.test."));
	ck_assert(!key_exists("fresh2.dyn.test."));
	xadd("ns1.dyn.test.", 1);
	ck_assert_int_eq(cache_follow(c, 500, false), 1);
	ck_assert(messages_have(sub, 3, "ns1.dyn.test."));

	redisFree(sub);
	cache_destroy(c);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("cache");

	testdb_url_or_skip();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_load);
	tcase_add_test(tc, reload_while_serving);
	tcase_add_test(tc, gc_keeps_live_generation);
	tcase_add_test(tc, stream_path);
	tcase_add_test(tc, catchup_without_stream);
	tcase_add_test(tc, catchup_batch_of_one);
	tcase_add_test(tc, resync_after_lost_writes);
	tcase_add_test(tc, two_instances);
	tcase_add_test(tc, applied_once);
	tcase_add_test(tc, late_commit);
	tcase_add_test(tc, killed_mid_stream);
	tcase_add_test(tc, purge_notices);
	tcase_add_test(tc, name_notices);
	suite_add_tcase(s, tc);
	return s;
}
