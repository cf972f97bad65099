#include "tests/integration/testredis.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void testredis_url_or_skip(int db, struct redis_url *ret_url)
{
	const char *url = getenv("DDNS_TEST_REDIS_URL");
	const char *reason = NULL;

	if (!url || !*url) {
		/* an honest TAP skip: nothing ran, nothing passed */
		printf("1..0 # SKIP DDNS_TEST_REDIS_URL not set\n");
		fflush(stdout);
		exit(EXIT_SUCCESS);
	}
	if (redis_url_parse(url, ret_url, &reason) < 0) {
		fprintf(stderr, "invalid DDNS_TEST_REDIS_URL: %s\n", reason);
		exit(EXIT_FAILURE);
	}
	ret_url->db = db;
}

redisContext *testredis_connect(const struct redis_url *url)
{
	redisContext *ctx = NULL;
	char err[256];
	int r = redis_connect_sync(url, 3000, &ctx, err, sizeof(err));

	ck_assert_msg(r == 0, "%s", err);
	return ctx;
}

void testredis_ok(redisContext *ctx, const char *fmt, const char *arg)
{
	redisReply *reply = redisCommand(ctx, fmt, arg);

	ck_assert_ptr_nonnull(reply);
	ck_assert_msg(reply->type == REDIS_REPLY_STATUS, "%s: type %d %s", fmt, reply->type,
		      reply->str ? reply->str : "");
	freeReplyObject(reply);
}

long long testredis_integer(redisContext *ctx, const char *fmt, const char *arg)
{
	redisReply *reply = redisCommand(ctx, fmt, arg);
	long long v;

	ck_assert_ptr_nonnull(reply);
	ck_assert_msg(reply->type == REDIS_REPLY_INTEGER, "%s: type %d %s", fmt, reply->type,
		      reply->str ? reply->str : "");
	v = reply->integer;
	freeReplyObject(reply);
	return v;
}

void testredis_flushdb(const struct redis_url *url)
{
	redisContext *ctx = testredis_connect(url);

	testredis_ok(ctx, "FLUSHDB", NULL);
	redisFree(ctx);
}

long long testredis_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void testredis_step(struct event_base *base)
{
	struct timeval tv = { 0, 5000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

void testredis_run_for(struct event_base *base, int ms)
{
	long long end = testredis_now_ms() + ms;

	while (testredis_now_ms() < end)
		testredis_step(base);
}

void testredis_loop_open(const struct redis_url *url, struct event_base **ret_base,
			 struct redis_url *ret_url)
{
	*ret_base = event_base_new();
	ck_assert_ptr_nonnull(*ret_base);
	ck_assert_int_eq(redis_url_copy(url, ret_url), 0);
}

void testredis_loop_close(struct event_base *base, struct redis_url *url)
{
	testredis_run_for(base, 10);
	redis_url_finish(url);
	event_base_free(base);
}

int testredis_closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}
