/*
 * shared/redis.c against a real Redis (7.x) named by DDNS_TEST_REDIS_URL, a
 * server on loopback without a password that the tests may use freely. The
 * tests work in db 9 and on keys prefixed "ddns-test:".
 */
#include "shared/log.h"
#include "shared/redis.h"
#include "tests/integration/testredis.h"
#include "tests/unit/check_main.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TEST_DB 9

static struct redis_url base_url;

struct result {
	int calls;
	bool had_reply;
	int type;
	long long integer;
	size_t len;
	char str[256];
	char err[256];
};

static void result_cb(redisReply *reply, const char *err, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->had_reply = reply != NULL;
	r->err[0] = '\0';
	r->str[0] = '\0';
	if (!reply) {
		ck_assert_ptr_nonnull(err);
		snprintf(r->err, sizeof(r->err), "%s", err);
		return;
	}
	ck_assert_ptr_null(err);
	r->type = reply->type;
	r->integer = reply->integer;
	r->len = reply->len;
	if (reply->str)
		memcpy(r->str, reply->str, reply->len < sizeof(r->str) ? reply->len : 0);
}

struct fixture {
	struct event_base *base;
	struct redis_url url;
	struct redis_client *c;
	int connects, disconnects;
};

static void fx_on_connect(struct redis_client *c, void *arg)
{
	struct fixture *fx = arg;

	ck_assert_ptr_eq(c, fx->c);
	fx->connects++;
}

static void fx_on_disconnect(struct redis_client *c, void *arg)
{
	struct fixture *fx = arg;

	fx->disconnects++;
}

static void fx_open(struct fixture *fx, const struct redis_url *url, struct redis_client_opts *o)
{
	struct redis_client_opts defaults = { 0 };

	if (!o)
		o = &defaults;
	memset(fx, 0, sizeof(*fx));
	testredis_loop_open(url ? url : &base_url, &fx->base, &fx->url);
	o->on_connect = fx_on_connect;
	o->on_disconnect = fx_on_disconnect;
	o->arg = fx;
	if (!o->name)
		o->name = "test";
	fx->c = redis_client_create(fx->base, &fx->url, o);
	ck_assert_ptr_nonnull(fx->c);
}

static void fx_wait_connected(struct fixture *fx, int connects)
{
	TESTREDIS_RUN_UNTIL(fx->base, fx->connects >= connects, 3000);
	ck_assert_int_eq(fx->connects, connects);
	ck_assert(redis_client_connected(fx->c));
}

static void fx_close(struct fixture *fx)
{
	redis_client_destroy(fx->c);
	fx->c = NULL;
	testredis_loop_close(fx->base, &fx->url);
}

START_TEST(test_sync_set_get)
{
	redisContext *ctx = testredis_connect(&base_url);
	redisReply *reply;
	struct redis_url u;
	char err[256];

	testredis_ok(ctx, "SET ddns-test:sync %s", "v1");
	reply = redisCommand(ctx, "GET ddns-test:sync");
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
	ck_assert_str_eq(reply->str, "v1");
	freeReplyObject(reply);
	/* the handshake selected TEST_DB */
	reply = redisCommand(ctx, "CLIENT INFO");
	ck_assert_ptr_nonnull(reply);
	ck_assert_ptr_nonnull(strstr(reply->str, " db=9 "));
	freeReplyObject(reply);
	redisFree(ctx);

	/* a db the server does not have */
	ck_assert_int_eq(redis_url_copy(&base_url, &u), 0);
	u.db = 1000;
	ctx = (redisContext *)&u; /* sentinel: untouched on failure */
	ck_assert_int_eq(redis_connect_sync(&u, 2000, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_eq(ctx, (redisContext *)&u);
	ck_assert_ptr_nonnull(strstr(err, "select"));
	/* nobody listening */
	u.db = 0;
	u.port = testredis_closed_port();
	ck_assert_int_eq(redis_connect_sync(&u, 2000, &ctx, err, sizeof(err)), -ECONNREFUSED);
	ck_assert_ptr_nonnull(strstr(err, "could not connect to redis://"));
	redis_url_finish(&u);
}
END_TEST

START_TEST(test_async_roundtrip)
{
	struct fixture fx;
	struct result set = { 0 }, get = { 0 }, err = { 0 };

	fx_open(&fx, NULL, NULL);
	fx_wait_connected(&fx, 1);
	ck_assert_int_eq(
		redis_client_command(fx.c, 0, result_cb, &set, "SET ddns-test:a %s", "hello"), 0);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &get, "GET ddns-test:a"), 0);
	/* an error reply is a reply */
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &err, "INCR ddns-test:a"), 0);
	TESTREDIS_RUN_UNTIL(fx.base, err.calls > 0, 2000);
	ck_assert_int_eq(set.calls, 1);
	ck_assert(set.had_reply);
	ck_assert_int_eq(set.type, REDIS_REPLY_STATUS);
	ck_assert_int_eq(get.calls, 1);
	ck_assert_int_eq(get.type, REDIS_REPLY_STRING);
	ck_assert_str_eq(get.str, "hello");
	ck_assert_int_eq(err.calls, 1);
	ck_assert(err.had_reply);
	ck_assert_int_eq(err.type, REDIS_REPLY_ERROR);
	ck_assert_int_eq(fx.disconnects, 0);
	fx_close(&fx);
}
END_TEST

START_TEST(test_binary_value)
{
	struct fixture fx;
	struct result set = { 0 }, get = { 0 };
	const char val[] = { 'a', '\0', 'b', '\r', '\n' };
	const char *argv[] = { "SET", "ddns-test:bin", val };
	size_t argvlen[] = { 3, 13, sizeof(val) };

	fx_open(&fx, NULL, NULL);
	fx_wait_connected(&fx, 1);
	ck_assert_int_eq(redis_client_commandv(fx.c, 0, result_cb, &set, 3, argv, argvlen), 0);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &get, "GET %b", "ddns-test:bin",
					      (size_t)13),
			 0);
	TESTREDIS_RUN_UNTIL(fx.base, get.calls > 0, 2000);
	ck_assert_int_eq(set.calls, 1);
	ck_assert_int_eq(get.calls, 1);
	ck_assert_int_eq(get.type, REDIS_REPLY_STRING);
	ck_assert_uint_eq(get.len, sizeof(val));
	ck_assert_mem_eq(get.str, val, sizeof(val));
	fx_close(&fx);
}
END_TEST

#define N_PIPELINED 1000

struct seq {
	int calls[N_PIPELINED];
	long long value[N_PIPELINED];
	int total;
};

struct seq_ref {
	struct seq *s;
	int i;
};

static void seq_cb(redisReply *reply, const char *err, void *arg)
{
	struct seq_ref *ref = arg;

	ref->s->calls[ref->i]++;
	ref->s->total++;
	ref->s->value[ref->i] = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
}

START_TEST(test_pipelined)
{
	static struct seq s;
	static struct seq_ref refs[N_PIPELINED];
	struct fixture fx;
	struct result del = { 0 };

	fx_open(&fx, NULL, NULL);
	fx_wait_connected(&fx, 1);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &del, "DEL ddns-test:n"), 0);
	for (int i = 0; i < N_PIPELINED; i++) {
		refs[i] = (struct seq_ref){ &s, i };
		ck_assert_int_eq(
			redis_client_command(fx.c, 0, seq_cb, &refs[i], "INCR ddns-test:n"), 0);
	}
	TESTREDIS_RUN_UNTIL(fx.base, s.total >= N_PIPELINED, 5000);
	testredis_run_for(fx.base, 20);
	ck_assert_int_eq(del.calls, 1);
	ck_assert_int_eq(s.total, N_PIPELINED);
	for (int i = 0; i < N_PIPELINED; i++) {
		ck_assert_int_eq(s.calls[i], 1);
		ck_assert_int_eq(s.value[i], i + 1); /* in order */
	}
	fx_close(&fx);
}
END_TEST

START_TEST(test_timeout_then_reconnect)
{
	struct fixture fx;
	struct result slow = { 0 }, behind = { 0 }, after = { 0 };
	long long t0;

	fx_open(&fx, NULL, NULL);
	fx_wait_connected(&fx, 1);
	/* BLPOP on an empty key blocks the server side for 1 s */
	t0 = testredis_now_ms();
	ck_assert_int_eq(
		redis_client_command(fx.c, 100, result_cb, &slow, "BLPOP ddns-test:empty-list 1"),
		0);
	ck_assert_int_eq(redis_client_command(fx.c, 5000, result_cb, &behind, "PING"), 0);
	TESTREDIS_RUN_UNTIL(fx.base, slow.calls > 0, 2000);
	ck_assert_int_eq(slow.calls, 1);
	ck_assert(!slow.had_reply);
	ck_assert_str_eq(slow.err, "timeout");
	ck_assert_int_lt(testredis_now_ms() - t0, 600);
	/* the command queued behind it fails with the dropped connection */
	ck_assert_int_eq(behind.calls, 1);
	ck_assert(!behind.had_reply);
	ck_assert_ptr_nonnull(strstr(behind.err, "connection lost"));
	ck_assert_int_eq(fx.disconnects, 1);
	/* reconnects on its own; the late BLPOP answer never reaches anyone */
	fx_wait_connected(&fx, 2);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &after, "PING"), 0);
	TESTREDIS_RUN_UNTIL(fx.base, after.calls > 0, 2000);
	ck_assert_int_eq(after.calls, 1);
	ck_assert_int_eq(after.type, REDIS_REPLY_STATUS);
	testredis_run_for(fx.base, 1200);
	ck_assert_int_eq(slow.calls, 1);
	ck_assert_int_eq(behind.calls, 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_reconnect_after_kill)
{
	struct fixture fx;
	struct result id = { 0 }, blocked = { 0 }, after = { 0 };
	struct redis_client_opts o = { .backoff_min_ms = 10, .backoff_max_ms = 50 };
	redisContext *ctx = testredis_connect(&base_url);
	char idbuf[32];

	fx_open(&fx, NULL, &o);
	fx_wait_connected(&fx, 1);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &id, "CLIENT ID"), 0);
	TESTREDIS_RUN_UNTIL(fx.base, id.calls > 0, 2000);
	ck_assert_int_eq(id.type, REDIS_REPLY_INTEGER);
	ck_assert_int_eq(redis_client_command(fx.c, 5000, result_cb, &blocked,
					      "BLPOP ddns-test:empty-list 3"),
			 0);
	testredis_run_for(fx.base, 50);
	snprintf(idbuf, sizeof(idbuf), "%lld", id.integer);
	ck_assert_int_eq(testredis_integer(ctx, "CLIENT KILL ID %s", idbuf), 1);
	TESTREDIS_RUN_UNTIL(fx.base, fx.connects >= 2, 3000);
	ck_assert_int_eq(fx.disconnects, 1);
	ck_assert_int_eq(blocked.calls, 1);
	ck_assert(!blocked.had_reply);
	ck_assert_ptr_nonnull(strstr(blocked.err, "connection lost"));
	fx_wait_connected(&fx, 2);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &after, "CLIENT ID"), 0);
	TESTREDIS_RUN_UNTIL(fx.base, after.calls > 0, 2000);
	ck_assert_int_eq(after.type, REDIS_REPLY_INTEGER);
	ck_assert_int_ne(after.integer, id.integer);
	redisFree(ctx);
	fx_close(&fx);
}
END_TEST

START_TEST(test_acl_auth)
{
	redisContext *ctx = testredis_connect(&base_url), *uctx = NULL;
	struct redis_url u;
	struct fixture fx, bad;
	struct result who = { 0 };
	char user[64], err[256];
	redisReply *reply;
	int r;

	snprintf(user, sizeof(user), "ddns-test-%d", (int)getpid());
	reply = redisCommand(ctx, "ACL SETUSER %s reset on >Pa:ss@w0rd ~* &* +@all", user);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->type, REDIS_REPLY_STATUS);
	freeReplyObject(reply);

	ck_assert_int_eq(redis_url_copy(&base_url, &u), 0);
	free(u.username);
	free(u.password);
	u.username = strdup(user);
	u.password = strdup("Pa:ss@w0rd");

	/* sync */
	r = redis_connect_sync(&u, 2000, &uctx, err, sizeof(err));
	ck_assert_msg(r == 0, "%s", err);
	reply = redisCommand(uctx, "ACL WHOAMI");
	ck_assert_str_eq(reply->str, user);
	freeReplyObject(reply);
	redisFree(uctx);

	/* async */
	fx_open(&fx, &u, NULL);
	fx_wait_connected(&fx, 1);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &who, "ACL WHOAMI"), 0);
	TESTREDIS_RUN_UNTIL(fx.base, who.calls > 0, 2000);
	ck_assert_str_eq(who.str, user);
	fx_close(&fx);

	/* wrong password: an error, not a hang, and never the password in the message */
	free(u.password);
	u.password = strdup("wrong-s3cret");
	uctx = NULL;
	r = redis_connect_sync(&u, 2000, &uctx, err, sizeof(err));
	ck_assert_int_eq(r, -EACCES);
	ck_assert_ptr_null(uctx);
	ck_assert_ptr_nonnull(strstr(err, "WRONGPASS"));
	ck_assert_ptr_null(strstr(err, "wrong-s3cret"));

	struct redis_client_opts o = { .backoff_min_ms = 20, .backoff_max_ms = 40 };

	fx_open(&bad, &u, &o);
	testredis_run_for(bad.base, 300);
	ck_assert_int_eq(bad.connects, 0);
	ck_assert(!redis_client_connected(bad.c));
	ck_assert_int_eq(redis_client_command(bad.c, 0, result_cb, &who, "PING"), -ENOTCONN);
	fx_close(&bad);

	testredis_integer(ctx, "ACL DELUSER %s", user);
	redis_url_finish(&u);
	redisFree(ctx);
}
END_TEST

START_TEST(test_destroy_with_pending)
{
	struct fixture fx;
	struct result r[3] = { { 0 } };

	fx_open(&fx, NULL, NULL);
	fx_wait_connected(&fx, 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(redis_client_command(fx.c, 5000, result_cb, &r[i],
						      "BLPOP ddns-test:empty-list 2"),
				 0);
	testredis_run_for(fx.base, 20);
	redis_client_destroy(fx.c);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].calls, 1); /* before destroy returned */
		ck_assert_str_eq(r[i].err, "client destroyed");
	}
	fx.c = NULL;
	testredis_run_for(fx.base, 50);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(r[i].calls, 1);
	fx_close(&fx);
}
END_TEST

/* Destroys the client from inside a reply callback, with commands still pending. */
struct destroy_ctx {
	struct redis_client *c;
	struct result rest[2];
	int calls;
};

static void destroy_in_cb(redisReply *reply, const char *err, void *arg)
{
	struct destroy_ctx *d = arg;

	d->calls++;
	ck_assert_ptr_nonnull(reply);
	redis_client_destroy(d->c);
	/* the others were completed before destroy returned */
	ck_assert_int_eq(d->rest[0].calls, 1);
	ck_assert_int_eq(d->rest[1].calls, 1);
	ck_assert_int_eq(redis_client_command(d->c, 0, result_cb, &d->rest[0], "PING"), -ENOTCONN);
}

START_TEST(test_destroy_in_callback)
{
	struct fixture fx;
	struct destroy_ctx d = { 0 };

	fx_open(&fx, NULL, NULL);
	fx_wait_connected(&fx, 1);
	d.c = fx.c;
	ck_assert_int_eq(redis_client_command(fx.c, 0, destroy_in_cb, &d, "PING"), 0);
	ck_assert_int_eq(redis_client_command(fx.c, 5000, result_cb, &d.rest[0],
					      "BLPOP ddns-test:empty-list 2"),
			 0);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &d.rest[1], "PING"), 0);
	TESTREDIS_RUN_UNTIL(fx.base, d.calls > 0, 2000);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_str_eq(d.rest[0].err, "client destroyed");
	ck_assert_str_eq(d.rest[1].err, "client destroyed");
	fx.c = NULL;
	testredis_run_for(fx.base, 50);
	ck_assert_int_eq(d.rest[0].calls, 1);
	ck_assert_int_eq(d.rest[1].calls, 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_max_pending)
{
	struct fixture fx;
	struct redis_client_opts o = { .max_pending = 5 };
	struct result r[6] = { { 0 } };

	fx_open(&fx, NULL, &o);
	fx_wait_connected(&fx, 1);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &r[i], "PING"), 0);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &r[5], "PING"), -ENOBUFS);
	TESTREDIS_RUN_UNTIL(fx.base, r[4].calls > 0, 2000);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(r[i].calls, 1);
	ck_assert_int_eq(r[5].calls, 0);
	/* room again */
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &r[5], "PING"), 0);
	TESTREDIS_RUN_UNTIL(fx.base, r[5].calls > 0, 2000);
	ck_assert_int_eq(r[5].calls, 1);
	fx_close(&fx);
}
END_TEST

static int fcntl_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -1 : 0;
}

static int count_lines(int fd, const char *needle)
{
	char buf[65536];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int count = 0;

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	for (const char *p = buf; (p = strstr(p, needle)); p++)
		count++;
	return count;
}

START_TEST(test_connection_refused)
{
	struct fixture fx;
	struct redis_url u;
	struct redis_client_opts o = { .backoff_min_ms = 10, .backoff_max_ms = 40 };
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char logpath[] = "/tmp/ddns-test-redis-log-XXXXXX";
	int logfd = mkstemp(logpath), lfd, one = 1, accepted = -1;
	long long t0 = testredis_now_ms();
	struct result r = { 0 };

	ck_assert_int_ge(logfd, 0);
	unlink(logpath);
	log_setup("test", LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, logfd);
	ck_assert_int_eq(redis_url_copy(&base_url, &u), 0);
	free(u.password);
	u.password = strdup("never-logged");
	u.port = testredis_closed_port();
	fx_open(&fx, &u, &o);
	testredis_run_for(fx.base, 400);
	ck_assert_int_eq(fx.connects, 0);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &r, "PING"), -ENOTCONN);
	/* many attempts, one warning */
	ck_assert_int_eq(count_lines(logfd, "could not connect"), 1);
	ck_assert_int_eq(count_lines(logfd, "never-logged"), 0);

	/* it keeps trying: start listening on the port and see a connection arrive */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)u.port);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(fcntl_nonblock(lfd), 0);
	TESTREDIS_RUN_UNTIL(fx.base, (accepted = accept(lfd, NULL, NULL)) >= 0, 2000);
	ck_assert_int_ge(accepted, 0);
	close(accepted);
	close(lfd);
	ck_assert_int_eq(fx.connects, 0);
	fx_close(&fx);
	ck_assert_int_lt(testredis_now_ms() - t0, 5000);
	log_setup("test", LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, 2);
	close(logfd);
	redis_url_finish(&u);
}
END_TEST

struct sub_state {
	int messages;
	char last[64];
	size_t len;
};

static void sub_cb(struct redis_client *c, const char *channel, const char *msg, size_t len,
		   void *arg)
{
	struct sub_state *s = arg;

	ck_assert_str_eq(channel, "ddns-test:purge");
	s->messages++;
	s->len = len < sizeof(s->last) ? len : sizeof(s->last);
	memcpy(s->last, msg, s->len);
}

/* Publishes until someone receives it (the subscription may still be on its way). */
static void publish_until_received(redisContext *ctx, struct event_base *base, struct sub_state *s,
				   const char *msg, size_t len)
{
	int before = s->messages;
	long long end = testredis_now_ms() + 3000;

	while (s->messages == before && testredis_now_ms() < end) {
		redisReply *reply = redisCommand(ctx, "PUBLISH ddns-test:purge %b", msg, len);

		ck_assert_ptr_nonnull(reply);
		freeReplyObject(reply);
		testredis_run_for(base, 20);
	}
	ck_assert_int_gt(s->messages, before);
}

START_TEST(test_pubsub)
{
	struct fixture fx;
	struct sub_state s = { 0 };
	struct redis_client_opts o = { .backoff_min_ms = 10, .backoff_max_ms = 50 };
	redisContext *ctx = testredis_connect(&base_url);
	struct result r = { 0 };

	fx_open(&fx, NULL, &o);
	ck_assert_int_eq(redis_client_subscribe(fx.c, "ddns-test:purge", sub_cb, &s), 0);
	fx_wait_connected(&fx, 1);
	ck_assert_int_eq(redis_client_command(fx.c, 0, result_cb, &r, "PING"), -EBUSY);
	publish_until_received(ctx, fx.base, &s, "a.example.\0x", 12);
	ck_assert_uint_eq(s.len, 12);
	ck_assert_mem_eq(s.last, "a.example.\0x", 12);

	/* the server drops the subscriber: it reconnects and subscribes again */
	ck_assert_int_ge(testredis_integer(ctx, "CLIENT KILL TYPE %s", "pubsub"), 1);
	TESTREDIS_RUN_UNTIL(fx.base, fx.connects >= 2, 3000);
	ck_assert_int_eq(fx.disconnects, 1);
	publish_until_received(ctx, fx.base, &s, "b", 1);
	ck_assert_uint_eq(s.len, 1);
	ck_assert_int_eq(s.last[0], 'b');
	redisFree(ctx);
	fx_close(&fx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s;
	TCase *tc;

	testredis_url_or_skip(TEST_DB, &base_url);
	s = suite_create("redis-integration");
	tc = tcase_create("redis");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sync_set_get);
	tcase_add_test(tc, test_async_roundtrip);
	tcase_add_test(tc, test_binary_value);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_timeout_then_reconnect);
	tcase_add_test(tc, test_reconnect_after_kill);
	tcase_add_test(tc, test_acl_auth);
	tcase_add_test(tc, test_destroy_with_pending);
	tcase_add_test(tc, test_destroy_in_callback);
	tcase_add_test(tc, test_max_pending);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_pubsub);
	suite_add_tcase(s, tc);
	return s;
}
