#include "shared/redis.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

struct url_case {
	const char *url;
	int want;           /* 0 or a negative errno */
	const char *reason; /* substring of the reason, on failure */
	const char *host;   /* NULL: expect NULL */
	int port;
	const char *path;
	int db;
	const char *username;
	const char *password;
};

static const struct url_case url_cases[] = {
	/* valid */
	{ "redis://localhost", 0, NULL, "localhost", 6379, NULL, 0, NULL, NULL },
	{ "redis://127.0.0.1:6380", 0, NULL, "127.0.0.1", 6380, NULL, 0, NULL, NULL },
	{ "redis://127.0.0.1:6380/", 0, NULL, "127.0.0.1", 6380, NULL, 0, NULL, NULL },
	{ "redis://cache.internal:1/3", 0, NULL, "cache.internal", 1, NULL, 3, NULL, NULL },
	{ "REDIS://Host-1_a:65535/15", 0, NULL, "Host-1_a", 65535, NULL, 15, NULL, NULL },
	{ "redis://h/1023", 0, NULL, "h", 6379, NULL, 1023, NULL, NULL },
	{ "redis://:s3cret@h:7000/2", 0, NULL, "h", 7000, NULL, 2, NULL, "s3cret" },
	{ "redis://alice:s3cret@h", 0, NULL, "h", 6379, NULL, 0, "alice", "s3cret" },
	{ "redis://al%69ce:p%40ss%3Aw%2Fd@h/1", 0, NULL, "h", 6379, NULL, 1, "alice", "p@ss:w/d" },
	/* the last '@' ends the user info */
	{ "redis://u:p@ss@h", 0, NULL, "h", 6379, NULL, 0, "u", "p@ss" },
	{ "redis://[::1]", 0, NULL, "::1", 6379, NULL, 0, NULL, NULL },
	{ "redis://[::1]:6390/4", 0, NULL, "::1", 6390, NULL, 4, NULL, NULL },
	{ "redis://:pw@[2001:db8::10]:1234/0", 0, NULL, "2001:db8::10", 1234, NULL, 0, NULL, "pw" },
	{ "unix:///run/redis/redis.sock", 0, NULL, NULL, 0, "/run/redis/redis.sock", 0, NULL,
	  NULL },
	{ "unix:///tmp/r.sock?db=5", 0, NULL, NULL, 0, "/tmp/r.sock", 5, NULL, NULL },
	{ "unix:///tmp/r%20s.sock?db=2&password=a%26b", 0, NULL, NULL, 0, "/tmp/r s.sock", 2, NULL,
	  "a&b" },
	{ "unix:///tmp/r.sock?password=pw&username=bob&db=9", 0, NULL, NULL, 0, "/tmp/r.sock", 9,
	  "bob", "pw" },

	/* invalid */
	{ "http://h", -EINVAL, "unknown scheme", NULL, 0, NULL, 0, NULL, NULL },
	{ "h:6379", -EINVAL, "unknown scheme", NULL, 0, NULL, 0, NULL, NULL },
	{ "", -EINVAL, "unknown scheme", NULL, 0, NULL, 0, NULL, NULL },
	{ "rediss://h:6380", -EINVAL, "tls", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h:0", -EINVAL, "port", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h:70000", -EINVAL, "port", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h:", -EINVAL, "port", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h:12a", -EINVAL, "port", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h:-1", -EINVAL, "port", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h/x", -EINVAL, "db", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h/1024", -EINVAL, "db", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h/-1", -EINVAL, "db", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h/0/extra", -EINVAL, "db", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h/1 ", -EINVAL, "db", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h?db=1", -EINVAL, "query", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h#x", -EINVAL, "fragment", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://", -EINVAL, "missing host", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://:6379/0", -EINVAL, "missing host", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://:pw@/0", -EINVAL, "missing host", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h st", -EINVAL, "invalid character", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://h&x:1", -EINVAL, "invalid character", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://fe80::1", -EINVAL, "port", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://::1", -EINVAL, "missing host", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://[::1", -EINVAL, "']'", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://[::g]", -EINVAL, "ipv6", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://[]", -EINVAL, "ipv6", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://[::1]x", -EINVAL, "after ipv6", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://alice@h", -EINVAL, "without password", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://alice:@h", -EINVAL, "empty password", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://:p%zz@h", -EINVAL, "percent", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://:p%4@h", -EINVAL, "percent", NULL, 0, NULL, 0, NULL, NULL },
	{ "redis://:p%00x@h", -EINVAL, "percent", NULL, 0, NULL, 0, NULL, NULL },
	{ "unix://tmp/r.sock", -EINVAL, "absolute path", NULL, 0, NULL, 0, NULL, NULL },
	{ "unix:///tmp/r.sock?db=x", -EINVAL, "db", NULL, 0, NULL, 0, NULL, NULL },
	{ "unix:///tmp/r.sock?db=1&db=2", -EINVAL, "repeated", NULL, 0, NULL, 0, NULL, NULL },
	{ "unix:///tmp/r.sock?foo=1", -EINVAL, "unknown", NULL, 0, NULL, 0, NULL, NULL },
	{ "unix:///tmp/r.sock?db", -EINVAL, "without a value", NULL, 0, NULL, 0, NULL, NULL },
	{ "unix:///tmp/r.sock?username=bob", -EINVAL, "without password", NULL, 0, NULL, 0, NULL,
	  NULL },
	{ "unix:///"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  -EINVAL, "too long", NULL, 0, NULL, 0, NULL, NULL },
};

static void assert_str_or_null(const char *got, const char *want)
{
	if (want)
		ck_assert_pstr_eq(got, want);
	else
		ck_assert_ptr_null(got);
}

static bool contains_ci(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

START_TEST(test_url_parse)
{
	const struct url_case *c = &url_cases[_i];
	/* a sentinel: must be untouched on failure */
	struct redis_url u = { .host = (char *)"untouched", .port = -7, .db = -7 };
	const char *reason = NULL;
	int r = redis_url_parse(c->url, &u, &reason);

	ck_assert_msg(r == c->want, "%s: got %d (%s), want %d", c->url, r, reason ? reason : "",
		      c->want);
	if (r < 0) {
		ck_assert_ptr_nonnull(reason);
		ck_assert_msg(contains_ci(reason, c->reason), "%s: reason \"%s\" lacks \"%s\"",
			      c->url, reason, c->reason);
		ck_assert_str_eq(u.host, "untouched");
		ck_assert_int_eq(u.port, -7);
		ck_assert_int_eq(u.db, -7);
		return;
	}
	ck_assert_ptr_null(reason); /* untouched on success */
	assert_str_or_null(u.host, c->host);
	ck_assert_int_eq(u.port, c->port);
	assert_str_or_null(u.path, c->path);
	ck_assert_int_eq(u.db, c->db);
	assert_str_or_null(u.username, c->username);
	assert_str_or_null(u.password, c->password);
	redis_url_finish(&u);
	ck_assert_ptr_null(u.host);
	ck_assert_ptr_null(u.password);
}
END_TEST

struct redact_case {
	const char *url;
	const char *want;
};

static const struct redact_case redact_cases[] = {
	{ "redis://127.0.0.1", "redis://127.0.0.1:6379/0" },
	{ "redis://:s3cret@h:7000/2", "redis://:***@h:7000/2" },
	{ "redis://alice:s3cret@[::1]:6380/3", "redis://alice:***@[::1]:6380/3" },
	{ "unix:///tmp/r.sock?db=4&password=s3cret", "unix:///tmp/r.sock?db=4" },
};

START_TEST(test_url_redacted)
{
	const struct redact_case *c = &redact_cases[_i];
	struct redis_url u;
	char buf[128];

	ck_assert_int_eq(redis_url_parse(c->url, &u, NULL), 0);
	redis_url_redacted(&u, buf, sizeof(buf));
	ck_assert_str_eq(buf, c->want);
	ck_assert_ptr_null(strstr(buf, "s3cret"));
	redis_url_finish(&u);
}
END_TEST

START_TEST(test_url_redacted_truncates)
{
	struct redis_url u;
	char buf[10];

	ck_assert_int_eq(redis_url_parse("redis://:s3cret@averylonghostname/1", &u, NULL), 0);
	memset(buf, 'x', sizeof(buf));
	redis_url_redacted(&u, buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
	ck_assert_str_eq(buf, "redis://:");
	redis_url_finish(&u);
}
END_TEST

START_TEST(test_url_copy)
{
	struct redis_url u, v;

	ck_assert_int_eq(redis_url_parse("redis://bob:pw@h:1/2", &u, NULL), 0);
	ck_assert_int_eq(redis_url_copy(&u, &v), 0);
	ck_assert_ptr_ne(u.host, v.host);
	ck_assert_str_eq(v.host, "h");
	ck_assert_str_eq(v.username, "bob");
	ck_assert_str_eq(v.password, "pw");
	ck_assert_ptr_null(v.path);
	ck_assert_int_eq(v.port, 1);
	ck_assert_int_eq(v.db, 2);
	redis_url_finish(&u);
	redis_url_finish(&v);
	redis_url_finish(NULL);
}
END_TEST

static int calls;

static void count_cb(redisReply *reply, const char *err, void *arg)
{
	calls++;
}

static void msg_cb(struct redis_client *c, const char *channel, const char *msg, size_t len,
		   void *arg)
{
	calls++;
}

/* Without running the loop the client never connects: no server needed. */
START_TEST(test_client_not_connected)
{
	struct event_base *base = event_base_new();
	struct redis_url u;
	struct redis_client *c;

	ck_assert_int_eq(redis_url_parse("redis://127.0.0.1:1/0", &u, NULL), 0);
	c = redis_client_create(base, &u, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert(!redis_client_connected(c));
	calls = 0;
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "GET %s", "k"), -ENOTCONN);
	ck_assert_int_eq(redis_client_commandv(c, 0, count_cb, NULL, 2,
					       (const char *[]){ "GET", "k" }, NULL),
			 -ENOTCONN);
	/* commands that would change the connection's state are refused outright */
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "SELECT 3"), -EINVAL);
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "subscribe x"), -EINVAL);
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "MONITOR"), -EINVAL);
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "QUIT"), -EINVAL);
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "CLIENT REPLY OFF"), -EINVAL);
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "client Reply skip"), -EINVAL);
	/* other CLIENT subcommands are fine (not connected here, hence -ENOTCONN) */
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "CLIENT ID"), -ENOTCONN);
	ck_assert_int_eq(redis_client_command(c, -1, count_cb, NULL, "GET k"), -EINVAL);
	ck_assert_int_eq(redis_client_commandv(c, 0, count_cb, NULL, 0, NULL, NULL), -EINVAL);
	/* a subscriber refuses commands */
	ck_assert_int_eq(redis_client_subscribe(c, "ch", msg_cb, NULL), 0);
	ck_assert_int_eq(redis_client_subscribe(c, "ch", msg_cb, NULL), -EEXIST);
	ck_assert_int_eq(redis_client_command(c, 0, count_cb, NULL, "GET k"), -EBUSY);
	ck_assert_int_eq(calls, 0);
	redis_client_destroy(c);
	redis_client_destroy(NULL);
	redis_url_finish(&u);
	event_base_free(base);
}
END_TEST

START_TEST(test_client_create_invalid)
{
	struct event_base *base = event_base_new();
	struct redis_url u = { 0 };
	struct redis_client_opts o = { .command_timeout_ms = -1 };

	errno = 0;
	ck_assert_ptr_null(redis_client_create(base, &u, NULL)); /* no host, no path */
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(redis_url_parse("redis://h", &u, NULL), 0);
	errno = 0;
	ck_assert_ptr_null(redis_client_create(base, &u, &o));
	ck_assert_int_eq(errno, EINVAL);
	redis_url_finish(&u);
	event_base_free(base);
}
END_TEST

START_TEST(test_connect_sync_invalid)
{
	struct redis_url u;
	redisContext *ctx = (redisContext *)&ctx; /* sentinel */
	char err[128];

	ck_assert_int_eq(redis_url_parse("redis://:s3cret@127.0.0.1:1", &u, NULL), 0);
	ck_assert_int_eq(redis_connect_sync(&u, 0, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_eq(ctx, (redisContext *)&ctx);
	ck_assert_str_ne(err, "");
	redis_url_finish(&u);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("url");

	tcase_add_loop_test(tc, test_url_parse, 0, sizeof(url_cases) / sizeof(url_cases[0]));
	tcase_add_loop_test(tc, test_url_redacted, 0,
			    sizeof(redact_cases) / sizeof(redact_cases[0]));
	tcase_add_test(tc, test_url_redacted_truncates);
	tcase_add_test(tc, test_url_copy);
	suite_add_tcase(s, tc);
	tc = tcase_create("client");
	tcase_add_test(tc, test_client_not_connected);
	tcase_add_test(tc, test_client_create_invalid);
	tcase_add_test(tc, test_connect_sync_invalid);
	suite_add_tcase(s, tc);
	return s;
}
