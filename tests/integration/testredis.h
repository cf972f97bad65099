#pragma once

/*
 * Helpers for integration tests against the Redis named by DDNS_TEST_REDIS_URL
 * (a server on loopback without a password that the tests may use freely):
 * the URL with a db of the test's own, sync connections for set-up and checks,
 * and running an event loop until a condition holds or a timeout passes.
 */

#include "shared/redis.h"

#include <event2/event.h>

/*
 * Parses DDNS_TEST_REDIS_URL into @ret_url, with db @db. When it is unset or
 * empty, prints a TAP skip plan and exits 0; when it is invalid, says so and
 * exits 1. Call it first thing in make_suite().
 */
void testredis_url_or_skip(int db, struct redis_url *ret_url);

/*
 * A sync connection to @url (its db selected), owned by the caller (redisFree);
 * fails the running test on error.
 */
redisContext *testredis_connect(const struct redis_url *url);

/* Runs a command of one string argument that must answer a status (e.g. OK). */
void testredis_ok(redisContext *ctx, const char *fmt, const char *arg);

/* Runs a command of one string argument that must answer an integer: returns it. */
long long testredis_integer(redisContext *ctx, const char *fmt, const char *arg);

/* Empties the db of @url, on a connection of its own. */
void testredis_flushdb(const struct redis_url *url);

/*
 * A new event base in @ret_base and a copy of @url in @ret_url, for the
 * clients a test creates; fails the running test on error.
 */
void testredis_loop_open(const struct redis_url *url, struct event_base **ret_base,
			 struct redis_url *ret_url);

/*
 * Once the test destroyed its clients: runs @base for 10 ms so that deferred
 * work runs (then nothing may be left), and frees @base and @url.
 */
void testredis_loop_close(struct event_base *base, struct redis_url *url);

/* Milliseconds on the monotonic clock. */
long long testredis_now_ms(void);

/* Runs @base's loop for about 5 ms. */
void testredis_step(struct event_base *base);

/* Runs @base's loop for @ms milliseconds. */
void testredis_run_for(struct event_base *base, int ms);

/* Runs @base's loop until @cond holds or @ms milliseconds have passed. */
#define TESTREDIS_RUN_UNTIL(base, cond, ms)                  \
	do {                                                 \
		long long end_ = testredis_now_ms() + (ms);  \
		while (!(cond) && testredis_now_ms() < end_) \
			testredis_step(base);                \
	} while (0)

/* A loopback port nobody listens on (bound, then closed). */
int testredis_closed_port(void);
