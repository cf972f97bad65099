/*
 * shared/ratelimit.c against a real Redis (7.x) named by
 * DDNS_TEST_REDIS_URL. The tests work in db 5, which they flush.
 */
#include "shared/ratelimit.h"
#include "shared/redis.h"
#include "tests/integration/testredis.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_DB 5

static struct redis_url base_url;

struct outcome {
	int calls;
	struct ratelimit_result res;
	int error;
	char reason[256];
};

static void outcome_cb(const struct ratelimit_result *res, int error, const char *reason, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->error = error;
	o->reason[0] = '\0';
	if (res) {
		ck_assert_int_eq(error, 0);
		ck_assert_ptr_null(reason);
		o->res = *res;
	} else {
		ck_assert_int_lt(error, 0);
		ck_assert_ptr_nonnull(reason);
		snprintf(o->reason, sizeof(o->reason), "%s", reason);
	}
}

struct fixture {
	struct event_base *base;
	struct redis_url url;
	struct redis_client *c;
	struct ratelimit *rl;
};

static void fx_open(struct fixture *fx, const struct redis_url *url)
{
	struct redis_client_opts o = { .name = "ratelimit-test", .backoff_min_ms = 50 };

	memset(fx, 0, sizeof(*fx));
	testredis_loop_open(url ? url : &base_url, &fx->base, &fx->url);
	fx->c = redis_client_create(fx->base, &fx->url, &o);
	ck_assert_ptr_nonnull(fx->c);
	fx->rl = ratelimit_create(fx->c);
	ck_assert_ptr_nonnull(fx->rl);
	if (!url) {
		TESTREDIS_RUN_UNTIL(fx->base, redis_client_connected(fx->c), 3000);
		ck_assert(redis_client_connected(fx->c));
	}
}

static void fx_close(struct fixture *fx)
{
	ratelimit_destroy(fx->rl);
	redis_client_destroy(fx->c);
	testredis_loop_close(fx->base, &fx->url);
}

/* One check, run to its end. */
static struct outcome check(struct fixture *fx, const struct ratelimit_rule *rules,
			    const char *const *keys, size_t n)
{
	struct outcome o = { 0 };

	ck_assert_int_eq(ratelimit_check(fx->rl, rules, keys, n, outcome_cb, &o), 0);
	ck_assert_int_eq(o.calls, 0); /* never from inside ratelimit_check() */
	TESTREDIS_RUN_UNTIL(fx->base, o.calls > 0, 3000);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_msg(o.error == 0, "check failed: %d %s", o.error, o.reason);
	return o;
}

static struct outcome check1(struct fixture *fx, const struct ratelimit_rule *rule, const char *key)
{
	const char *keys[1] = { key };

	return check(fx, rule, keys, 1);
}

/* One command on a connection of its own (see testredis_integer). */
static long long admin_integer(const char *fmt, const char *arg)
{
	redisContext *ctx = testredis_connect(&base_url);
	long long v = testredis_integer(ctx, fmt, arg);

	redisFree(ctx);
	return v;
}

/* One command on a connection of its own (see testredis_ok). */
static void admin_ok(const char *fmt, const char *arg)
{
	redisContext *ctx = testredis_connect(&base_url);

	testredis_ok(ctx, fmt, arg);
	redisFree(ctx);
}

static const struct ratelimit_rule five_per_s = {
	.rate = 5, .period_ms = 1000, .burst = 5, .cost = 1
};

START_TEST(test_burst_deny_recover)
{
	struct fixture fx;
	struct outcome o, again;

	testredis_flushdb(&base_url);
	fx_open(&fx, NULL);
	for (int i = 0; i < 5; i++) {
		o = check1(&fx, &five_per_s, "rl:test:a");
		ck_assert_msg(o.res.allowed, "request %d denied", i + 1);
		ck_assert_int_eq(o.res.limit, 5);
		ck_assert_int_eq(o.res.remaining, 4 - i); /* counts down */
		ck_assert_int_eq(o.res.retry_after_ms, 0);
		ck_assert_int_gt(o.res.reset_ms, 0);
		ck_assert_int_le(o.res.reset_ms, 1000);
	}

	o = check1(&fx, &five_per_s, "rl:test:a");
	ck_assert(!o.res.allowed);
	ck_assert_int_eq(o.res.limit, 5);
	ck_assert_int_eq(o.res.remaining, 0);
	ck_assert_int_gt(o.res.retry_after_ms, 0);
	ck_assert_int_le(o.res.retry_after_ms, 1000);
	ck_assert_int_gt(o.res.reset_ms, 0);
	ck_assert_int_le(o.res.reset_ms, 1000);

	/* a denied request takes nothing: the wait does not grow */
	again = check1(&fx, &five_per_s, "rl:test:a");
	ck_assert(!again.res.allowed);
	ck_assert_int_le(again.res.retry_after_ms, o.res.retry_after_ms);

	/* after the reported wait, a request passes again (one more only if
	 * the sleep overran by another 200 ms) */
	usleep((useconds_t)again.res.retry_after_ms * 1000);
	o = check1(&fx, &five_per_s, "rl:test:a");
	ck_assert_msg(o.res.allowed, "denied after waiting the reported retry_after");
	ck_assert_int_le(o.res.remaining, 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_two_keys_denied_consumes_nothing)
{
	struct ratelimit_rule rules[2] = {
		{ .rate = 2, .period_ms = 60000, .burst = 2, .cost = 1 }, /* per user */
		{ .rate = 5, .period_ms = 60000, .burst = 5, .cost = 1 }, /* per address */
	};
	const char *keys[2] = { "rl:test:u:42", "rl:test:a:192.0.2.1" };
	struct fixture fx;
	struct outcome o;

	testredis_flushdb(&base_url);
	fx_open(&fx, NULL);
	/* both pass: the remaining and limit of the tighter key */
	o = check(&fx, rules, keys, 2);
	ck_assert(o.res.allowed);
	ck_assert_int_eq(o.res.remaining, 1);
	ck_assert_int_eq(o.res.limit, 2);
	o = check(&fx, rules, keys, 2);
	ck_assert(o.res.allowed);
	ck_assert_int_eq(o.res.remaining, 0);
	ck_assert_int_eq(o.res.limit, 2);

	/* the user's budget is spent: denied, and the address is not charged */
	for (int i = 0; i < 3; i++) {
		o = check(&fx, rules, keys, 2);
		ck_assert(!o.res.allowed);
		ck_assert_int_eq(o.res.limit, 2);
		ck_assert_int_eq(o.res.remaining, 0);
		ck_assert_int_gt(o.res.retry_after_ms, 1000); /* the user's key: 30 s per request */
		ck_assert_int_le(o.res.retry_after_ms, 30000);
	}
	o = check1(&fx, &rules[1], keys[1]);
	ck_assert(o.res.allowed);
	ck_assert_int_eq(o.res.remaining, 2); /* 5 - the two passed checks - this one */
	fx_close(&fx);
}
END_TEST

/* A peeked key is checked like any other but never charged. */
START_TEST(test_peek_charges_nothing)
{
	struct ratelimit_rule rules[2] = {
		{ .rate = 5, .period_ms = 60000, .burst = 5, .cost = 1 }, /* charged */
		{ .rate = 2, .period_ms = 60000, .burst = 2, .cost = 1, .peek = true }, /* peeked */
	};
	struct ratelimit_rule charge = rules[1];
	const char *keys[2] = { "rl:test:a:192.0.2.9", "rl:test:e:x" };
	struct fixture fx;
	struct outcome o;

	charge.peek = false;
	testredis_flushdb(&base_url);
	fx_open(&fx, NULL);
	for (int i = 0; i < 3; i++) {
		o = check(&fx, rules, keys, 2);
		ck_assert_msg(o.res.allowed, "peek %d denied", i + 1);
	}
	/* the peeked key still has its whole budget: two charges pass, the third not */
	ck_assert(check1(&fx, &charge, keys[1]).res.allowed);
	ck_assert(check1(&fx, &charge, keys[1]).res.allowed);
	ck_assert(!check1(&fx, &charge, keys[1]).res.allowed);
	/* now the peek denies the whole check, and the other key is not charged */
	o = check(&fx, rules, keys, 2);
	ck_assert(!o.res.allowed);
	ck_assert_int_gt(o.res.retry_after_ms, 0);
	o = check1(&fx, &rules[0], keys[0]);
	ck_assert(o.res.allowed);
	ck_assert_int_eq(o.res.remaining, 1); /* 5 - three peeked checks - this one */
	fx_close(&fx);
}
END_TEST

START_TEST(test_independent_keys)
{
	struct fixture fx;
	struct outcome o;

	testredis_flushdb(&base_url);
	fx_open(&fx, NULL);
	for (int i = 0; i < 5; i++)
		ck_assert(check1(&fx, &five_per_s, "rl:test:x").res.allowed);
	ck_assert(!check1(&fx, &five_per_s, "rl:test:x").res.allowed);
	o = check1(&fx, &five_per_s, "rl:test:y");
	ck_assert(o.res.allowed);
	ck_assert_int_eq(o.res.remaining, 4);
	ck_assert(!check1(&fx, &five_per_s, "rl:test:x").res.allowed);
	fx_close(&fx);
}
END_TEST

START_TEST(test_keys_expire)
{
	struct ratelimit_rule slow = { .rate = 1, .period_ms = 10000, .burst = 3, .cost = 1 };
	struct fixture fx;
	long long pttl;

	testredis_flushdb(&base_url);
	fx_open(&fx, NULL);
	check1(&fx, &slow, "rl:test:ttl");
	pttl = admin_integer("PTTL %s", "rl:test:ttl");
	ck_assert_int_gt(pttl, 0);
	ck_assert_int_le(pttl, 10000);
	check1(&fx, &slow, "rl:test:ttl");
	pttl = admin_integer("PTTL %s", "rl:test:ttl");
	ck_assert_int_gt(pttl, 10000); /* two requests' worth to restore */
	ck_assert_int_le(pttl, 20000);
	fx_close(&fx);
}
END_TEST

/* SCRIPT EXISTS answers an array of one integer. */
static long long script_exists(void)
{
	redisContext *ctx = testredis_connect(&base_url);
	redisReply *reply = redisCommand(ctx, "SCRIPT EXISTS %s", ratelimit_script_sha());
	long long v;

	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_ARRAY);
	ck_assert_uint_eq(reply->elements, 1);
	v = reply->element[0]->integer;
	freeReplyObject(reply);
	redisFree(ctx);
	return v;
}

START_TEST(test_script_sha_matches_server)
{
	struct fixture fx;

	testredis_flushdb(&base_url);
	admin_ok("SCRIPT FLUSH", NULL);
	ck_assert_int_eq(script_exists(), 0);
	fx_open(&fx, NULL);
	ck_assert(check1(&fx, &five_per_s, "rl:test:sha").res.allowed);
	/* EVAL loaded it under the SHA1 we compute, so EVALSHA works from now */
	ck_assert_int_eq(script_exists(), 1);
	ck_assert(check1(&fx, &five_per_s, "rl:test:sha").res.allowed);
	fx_close(&fx);
}
END_TEST

START_TEST(test_error_reply)
{
	struct fixture fx;
	struct outcome o = { 0 };
	const char *keys[1] = { "rl:test:hash" };

	testredis_flushdb(&base_url);
	ck_assert_int_eq(admin_integer("HSET %s f v", "rl:test:hash"), 1);
	fx_open(&fx, NULL);
	ck_assert_int_eq(ratelimit_check(fx.rl, &five_per_s, keys, 1, outcome_cb, &o), 0);
	TESTREDIS_RUN_UNTIL(fx.base, o.calls > 0, 3000);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.error, -EPROTO);
	ck_assert_msg(strstr(o.reason, "WRONGTYPE") != NULL, "%s", o.reason);
	testredis_run_for(fx.base, 20);
	ck_assert_int_eq(o.calls, 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_unreachable)
{
	struct redis_url u;
	struct fixture fx;
	struct outcome o = { 0 };
	const char *keys[1] = { "rl:test:down" };

	ck_assert_int_eq(redis_url_copy(&base_url, &u), 0);
	u.port = testredis_closed_port();
	fx_open(&fx, &u);
	redis_url_finish(&u);
	testredis_run_for(fx.base, 50); /* a connect attempt or two, refused */
	ck_assert(!redis_client_connected(fx.c));

	ck_assert_int_eq(ratelimit_check(fx.rl, &five_per_s, keys, 1, outcome_cb, &o), 0);
	ck_assert_int_eq(o.calls, 0);
	TESTREDIS_RUN_UNTIL(fx.base, o.calls > 0, 3000);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.error, -ENOTCONN);
	testredis_run_for(fx.base, 50);
	ck_assert_int_eq(o.calls, 1); /* exactly once */

	/* destroyed before the loop delivered the failure: cancelled, once */
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(ratelimit_check(fx.rl, &five_per_s, keys, 1, outcome_cb, &o), 0);
	ratelimit_destroy(fx.rl);
	fx.rl = NULL;
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.error, -ECANCELED);
	testredis_run_for(fx.base, 50);
	ck_assert_int_eq(o.calls, 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_destroy_in_flight)
{
	struct fixture fx;
	struct outcome o = { 0 };
	const char *keys[1] = { "rl:test:inflight" };

	testredis_flushdb(&base_url);
	fx_open(&fx, NULL);
	ck_assert_int_eq(ratelimit_check(fx.rl, &five_per_s, keys, 1, outcome_cb, &o), 0);
	ratelimit_destroy(fx.rl); /* the command is on its way */
	fx.rl = NULL;
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.error, -ECANCELED);
	testredis_run_for(fx.base, 100); /* the reply arrives and is dropped */
	ck_assert_int_eq(o.calls, 1);
	fx_close(&fx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s;
	TCase *tc;

	testredis_url_or_skip(TEST_DB, &base_url);
	s = suite_create("ratelimit-integration");
	tc = tcase_create("ratelimit");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_burst_deny_recover);
	tcase_add_test(tc, test_two_keys_denied_consumes_nothing);
	tcase_add_test(tc, test_peek_charges_nothing);
	tcase_add_test(tc, test_independent_keys);
	tcase_add_test(tc, test_keys_expire);
	tcase_add_test(tc, test_script_sha_matches_server);
	tcase_add_test(tc, test_error_reply);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_destroy_in_flight);
	suite_add_tcase(s, tc);
	return s;
}
