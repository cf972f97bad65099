/* The real server code over a socketpair, with a fake source behind it. */

#include "backend/server.h"
#include "shared/clock.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define SOA                                                                                       \
	"{\"qtype\":\"SOA\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test. h.dyn.test. 1 2 " \
	"3 4 60\",\"ttl\":60,\"domain_id\":1}"
#define NS                                                                                      \
	"{\"qtype\":\"NS\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test.\",\"ttl\":3600," \
	"\"domain_id\":1}"
#define A1                                                                                   \
	"{\"qtype\":\"A\",\"qname\":\"www.dyn.test.\",\"content\":\"192.0.2.1\",\"ttl\":60," \
	"\"domain_id\":1}"
#define TXT                                                                                     \
	"{\"qtype\":\"TXT\",\"qname\":\"www.dyn.test.\",\"content\":\"\\\"hi\\\"\",\"ttl\":60," \
	"\"domain_id\":1}"
#define INFO "{\"id\":1,\"zone\":\"dyn.test.\",\"kind\":\"native\",\"serial\":7}"
#define STALE_A                                                                                \
	"[{\"qtype\":\"A\",\"qname\":\"slow.dyn.test.\",\"content\":\"192.0.2.9\",\"ttl\":30," \
	"\"domain_id\":1}]"

/* ---- the fake source ---------------------------------------------------- */

struct held {
	source_done_fn cb;
	void *arg;
};

static struct held held[16]; /* operations that answer only at the end ("slow") */
static size_t n_held;

static int fake_lookup(void *ctx, const char *name, int64_t deadline_ms, source_done_fn cb,
		       void *arg)
{
	if (strcmp(name, "www.dyn.test.") == 0)
		cb(SOURCE_FOUND, "[" A1 "," TXT "]", strlen("[" A1 "," TXT "]"), NULL, arg);
	else if (strcmp(name, "dyn.test.") == 0)
		cb(SOURCE_FOUND, "[" SOA "," NS "]", strlen("[" SOA "," NS "]"), NULL, arg);
	else if (strcmp(name, "down.dyn.test.") == 0)
		cb(SOURCE_FAILED, NULL, 0, "stores down", arg);
	else if (strcmp(name, "refuse.dyn.test.") == 0)
		return -ENOMEM;
	else if (strncmp(name, "slow", 4) == 0 && n_held < ARRAY_SIZE(held))
		held[n_held++] = (struct held){ cb, arg };
	else
		cb(SOURCE_ABSENT, NULL, 0, NULL, arg);
	return 0;
}

static int fake_zones(void *ctx, int64_t deadline_ms, source_done_fn cb, void *arg)
{
	cb(SOURCE_FOUND, "[" INFO "]", strlen("[" INFO "]"), NULL, arg);
	return 0;
}

static int fake_list(void *ctx, const char *zone, int64_t deadline_ms, source_done_fn cb, void *arg)
{
	if (strcmp(zone, "dyn.test.") != 0)
		cb(SOURCE_ABSENT, NULL, 0, NULL, arg);
	else
		cb(SOURCE_FOUND, "[" SOA "," NS "," A1 "]", strlen("[" SOA "," NS "," A1 "]"), NULL,
		   arg);
	return 0;
}

static int fake_stale(void *ctx, const char *name, char **ret_json)
{
	if (strcmp(name, "slow-stale.dyn.test.") != 0)
		return -ENOENT;
	*ret_json = strdup(STALE_A);
	return *ret_json ? 0 : -ENOMEM;
}

static const struct source_ops fake_ops = {
	.lookup = fake_lookup,
	.zones = fake_zones,
	.list = fake_list,
	.stale = fake_stale,
};

/* ---- fixture -------------------------------------------------------------- */

#define MAX_LINE 1024

struct fx {
	struct event_base *base;
	struct server *srv;
	int fd; /* the client end */
};

static void fx_init(struct fx *fx, long long deadline_ms)
{
	struct server_opts o = {
		.max_line = MAX_LINE,
		.max_connections = 4,
		.deadline_ms = deadline_ms,
		.ops = &fake_ops,
	};
	int sv[2];

	n_held = 0;
	fx->base = event_base_new();
	ck_assert_ptr_nonnull(fx->base);
	ck_assert_int_eq(server_create(fx->base, &o, &fx->srv), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(server_adopt(fx->srv, sv[0]), 0);
	fx->fd = sv[1];
	fcntl(fx->fd, F_SETFL, O_NONBLOCK);
}

static void fx_finish(struct fx *fx)
{
	close(fx->fd);
	server_destroy(fx->srv);
	/* operations still held complete after their connection is gone */
	for (size_t i = 0; i < n_held; i++)
		held[i].cb(SOURCE_FAILED, NULL, 0, "late", held[i].arg);
	n_held = 0;
	event_base_free(fx->base);
}

static void send_all(struct fx *fx, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fx->fd, buf, len);

		if (n < 0 && errno == EAGAIN) {
			event_base_loop(fx->base, EVLOOP_NONBLOCK);
			continue;
		}
		ck_assert_int_gt(n, 0);
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Runs the loop until one whole line arrived (returned, malloc'd) or the
 * peer closed (NULL, *ret_eof set), for at most @ms.
 */
static char *read_line(struct fx *fx, int ms, bool *ret_eof)
{
	char buf[1 << 16];
	size_t len = 0;
	int64_t end = clock_ms() + ms;

	*ret_eof = false;
	while (clock_ms() < end) {
		ssize_t n;

		event_base_loop(fx->base, EVLOOP_NONBLOCK);
		n = read(fx->fd, buf + len, sizeof(buf) - 1 - len);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			/* a reset: the server closed with our unread bytes in its socket */
			*ret_eof = true;
			break;
		}
		if (n < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			poll(NULL, 0, 1);
			continue;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len))
			return strdup(buf);
	}
	buf[len] = '\0';
	return len ? strdup(buf) : NULL;
}

static char *roundtrip(struct fx *fx, const char *line)
{
	bool eof;

	send_all(fx, line, strlen(line));
	send_all(fx, "\n", 1);
	return read_line(fx, 3000, &eof);
}

/* ---- request → reply, the connection surviving ------------------------------ */

struct rt_case {
	const char *req, *want;
};

#define LK(qt, qn) "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"" qt "\",\"qname\":" qn "}}"

static const struct rt_case rt_cases[] = {
	{ "{\"method\":\"initialize\",\"parameters\":{\"path\":\"/x\",\"timeout\":\"2000\"}}",
	  "{\"result\":true}\n" },
	{ LK("ANY", "\"www.dyn.test.\""), "{\"result\":[" A1 "," TXT "]}\n" },
	{ LK("ANY", "\"WwW.DyN.TeSt.\""), "{\"result\":[" A1 "," TXT "]}\n" },
	{ LK("A", "\"www.dyn.test.\""), "{\"result\":[" A1 "]}\n" },
	{ LK("txt", "\"www.dyn.test.\""), "{\"result\":[" TXT "]}\n" },
	{ LK("AAAA", "\"www.dyn.test.\""), "{\"result\":false}\n" },
	{ LK("SOA", "\"dyn.test.\""), "{\"result\":[" SOA "]}\n" },
	{ LK("ANY", "\"dyn.test.\""), "{\"result\":[" SOA "," NS "]}\n" },
	{ LK("ANY", "\"nope.dyn.test.\""), "{\"result\":false}\n" },
	{ LK("ANY", "\"bad name.dyn.test.\""), "{\"result\":false}\n" },
	{ LK("ANY", "\"down.dyn.test.\""), "{\"error\":\"stores down\"}\n" },
	{ LK("ANY", "\"refuse.dyn.test.\""), "{\"error\":\"could not start the request\"}\n" },
	{ LK("ANY", "42"), "{\"error\":\"qname missing or not a string\"}\n" },
	{ "{\"method\":\"lookup\",\"parameters\":{\"qname\":\"www.dyn.test.\"}}",
	  "{\"error\":\"qtype missing or not a string\"}\n" },
	{ "{\"method\":\"getAllDomains\",\"parameters\":{\"include_disabled\":true}}",
	  "{\"result\":[" INFO "]}\n" },
	{ "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":\"DYN.test.\"}}",
	  "{\"result\":" INFO "}\n" },
	{ "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":\"other.test.\"}}",
	  "{\"result\":false}\n" },
	{ "{\"method\":\"list\",\"parameters\":{\"zonename\":\"dyn.test.\",\"domain_id\":1}}",
	  "{\"result\":[" SOA "," NS "," A1 "]}\n" },
	{ "{\"method\":\"list\",\"parameters\":{\"zonename\":\"other.test.\",\"domain_id\":2}}",
	  "{\"result\":false}\n" },
	{ "{\"method\":\"getAllDomainMetadata\",\"parameters\":{\"name\":\"dyn.test.\"}}",
	  "{\"result\":false}\n" },
	{ "{\"method\":\"getDomainMetadata\",\"parameters\":{\"name\":\"dyn.test.\",\"kind\":"
	  "\"X\"}}",
	  "{\"result\":false}\n" },
	{ "{\"method\":\"setNotified\",\"parameters\":{\"id\":1,\"serial\":2}}",
	  "{\"result\":false}\n" },
	{ "this is not json", "{\"error\":\"invalid JSON\"}\n" },
	{ "{\"method\":\"initialize\"}\r", "{\"result\":true}\n" },
};

START_TEST(test_roundtrip)
{
	const struct rt_case *c = &rt_cases[_i];
	struct fx fx;
	char *got;

	fx_init(&fx, 1000);
	got = roundtrip(&fx, c->req);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, c->want);
	free(got);
	/* the connection survives and serves the next request */
	got = roundtrip(&fx, "{\"method\":\"initialize\",\"parameters\":{}}");
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, "{\"result\":true}\n");
	free(got);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_line_too_long)
{
	struct fx fx;
	char *line = malloc(MAX_LINE * 3), *got;
	bool eof = false;

	fx_init(&fx, 1000);
	memset(line, 'x', MAX_LINE * 3);
	send_all(&fx, line, MAX_LINE * 3); /* no newline at all */
	got = read_line(&fx, 3000, &eof);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, "{\"error\":\"request line too long\"}\n");
	free(got);
	got = read_line(&fx, 3000, &eof);
	ck_assert_ptr_null(got);
	ck_assert(eof); /* closed after the answer */
	ck_assert_uint_eq(server_n_connections(fx.srv), 0);
	free(line);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_line_at_limit)
{
	struct fx fx;
	char *line = malloc(MAX_LINE + 1), *got;

	fx_init(&fx, 1000);
	/* exactly max_line bytes: a (bad) request, answered, connection kept */
	memset(line, ' ', MAX_LINE);
	memcpy(line, "{\"method\":\"initialize\"}", 23);
	line[MAX_LINE] = '\0';
	got = roundtrip(&fx, line);
	ck_assert_str_eq(got, "{\"result\":true}\n");
	free(got);
	free(line);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_deadline)
{
	struct fx fx;
	char *got;
	int64_t t0;

	fx_init(&fx, 100);
	t0 = clock_ms();
	got = roundtrip(&fx, LK("A", "\"slow.dyn.test.\""));
	ck_assert_str_eq(got, "{\"error\":\"deadline exceeded\"}\n");
	ck_assert_int_ge(clock_ms() - t0, 90);
	free(got);
	/* a stale copy answers at the deadline */
	got = roundtrip(&fx, LK("ANY", "\"slow-stale.dyn.test.\""));
	ck_assert_str_eq(got, "{\"result\":" STALE_A "}\n");
	free(got);
	/* a late completion of the first request is dropped, not sent */
	ck_assert_uint_eq(n_held, 2);
	held[0].cb(SOURCE_FOUND, "[]", 2, NULL, held[0].arg);
	held[0] = held[--n_held];
	got = roundtrip(&fx, "{\"method\":\"initialize\"}");
	ck_assert_str_eq(got, "{\"result\":true}\n");
	free(got);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_two_lines_at_once)
{
	struct fx fx;
	const char *two = "{\"method\":\"initialize\"}\n" LK("A", "\"www.dyn.test.\"") "\n";
	char *got;
	bool eof;

	fx_init(&fx, 1000);
	send_all(&fx, two, strlen(two));
	got = read_line(&fx, 3000, &eof);
	/* both answers, in order, one line each */
	if (!strchr(strchr(got, '\n') + 1, '\n')) {
		char *more = read_line(&fx, 3000, &eof);
		char *both = malloc(strlen(got) + strlen(more) + 1);

		strcpy(both, got);
		strcat(both, more);
		free(got);
		free(more);
		got = both;
	}
	ck_assert_str_eq(got, "{\"result\":true}\n{\"result\":[" A1 "]}\n");
	free(got);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_shutdown_answers_in_flight)
{
	struct fx fx;
	char *got;
	bool eof;
	const char *req = LK("A", "\"slow.dyn.test.\"") "\n";

	fx_init(&fx, 5000);
	send_all(&fx, req, strlen(req));
	for (int i = 0; i < 20 && n_held == 0; i++)
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(n_held, 1);
	server_shutdown(fx.srv, NULL, NULL);
	ck_assert_uint_eq(server_n_connections(fx.srv), 1); /* busy: kept */
	held[0].cb(SOURCE_FOUND, "[" A1 "]", strlen("[" A1 "]"), NULL, held[0].arg);
	n_held = 0;
	got = read_line(&fx, 3000, &eof);
	ck_assert_str_eq(got, "{\"result\":[" A1 "]}\n");
	free(got);
	got = read_line(&fx, 3000, &eof);
	ck_assert_ptr_null(got);
	ck_assert(eof);
	ck_assert_uint_eq(server_n_connections(fx.srv), 0);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_max_connections)
{
	struct fx fx;
	int sv[2];

	fx_init(&fx, 1000);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		ck_assert_int_eq(server_adopt(fx.srv, sv[0]), 0);
		close(sv[1]);
	}
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(server_adopt(fx.srv, sv[0]), -EMFILE);
	close(sv[1]);
	fx_finish(&fx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("server");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_roundtrip, 0, ARRAY_SIZE(rt_cases));
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_line_at_limit);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_two_lines_at_once);
	tcase_add_test(tc, test_shutdown_answers_in_flight);
	tcase_add_test(tc, test_max_connections);
	suite_add_tcase(s, tc);
	return s;
}
