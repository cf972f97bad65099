#include "shared/http.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "tests/unit/check_main.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define N(a)     (sizeof(a) / sizeof((a)[0]))
#define MAX_BODY 1024

/* ---- the routing table, without sockets ---------------------------------- */

struct match_case {
	const char *pattern;
	const char *path;
	int want;
	size_t n_params;
	const char *name[2];
	const char *value[2];
};

#define ROUTE "/api/v1/domains/{name}/rrsets"
#define X15   "xxxxxxxxxxxxxxx"
#define X255  X15 X15 X15 X15 X15 X15 X15 X15 X15 X15 X15 X15 X15 X15 X15 X15 X15
#define SEG33 "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a"

static const struct match_case match_cases[] = {
	{ "/healthz", "/healthz", 0, 0, { 0 }, { 0 } },
	{ "/healthz", "/healthz/", -ENOENT, 0, { 0 }, { 0 } }, /* no trailing-slash folding */
	{ "/a/", "/a/", 0, 0, { 0 }, { 0 } },
	{ "/a/", "/a", -ENOENT, 0, { 0 }, { 0 } },
	{ "/", "/", 0, 0, { 0 }, { 0 } },
	{ "/healthz", "/healthy", -ENOENT, 0, { 0 }, { 0 } },
	{ "/hello", "/h%65llo", 0, 0, { 0 }, { 0 } }, /* literals compare decoded */
	{ ROUTE,
	  "/api/v1/domains/alice.dyn.example.net/rrsets",
	  0,
	  1,
	  { "name" },
	  { "alice.dyn.example.net" } },
	{ ROUTE, "/api/v1/domains/alice/rrsets/extra", -ENOENT, 0, { 0 }, { 0 } }, /* too many
										      segments */
	{ ROUTE, "/api/v1/domains/alice", -ENOENT, 0, { 0 }, { 0 } },              /* too few */
	{ ROUTE, "/api/v1/domains//rrsets", -ENOENT, 0, { 0 }, { 0 } },            /* empty param */
	{ "/{a}/{b}", "/x/y", 0, 2, { "a", "b" }, { "x", "y" } },
	{ "/d/{name}", "/d/caf%C3%A9%20x", 0, 1, { "name" }, { "caf\xc3\xa9 x" } },
	{ "/d/{name}", "/d/a+b", 0, 1, { "name" }, { "a+b" } }, /* '+' is literal in a path */
	{ "/d/{name}", "/d/..b", 0, 1, { "name" }, { "..b" } },
	{ "/d/{name}", "/d/a%2Fb", -EINVAL, 0, { 0 }, { 0 } }, /* encoded slash */
	{ "/d/{name}", "/d/a%2fb", -EINVAL, 0, { 0 }, { 0 } },
	{ "/d/{name}", "/d/..", -EINVAL, 0, { 0 }, { 0 } },
	{ "/d/{name}", "/d/%2e%2E", -EINVAL, 0, { 0 }, { 0 } }, /* encoded ".." */
	{ "/d/{name}", "/d/.", -EINVAL, 0, { 0 }, { 0 } },
	{ "/x/{name}", "/d/../x/y", -EINVAL, 0, { 0 }, { 0 } }, /* rejected whatever the pattern */
	{ "/d/{name}", "/d/a%00b", -EINVAL, 0, { 0 }, { 0 } },  /* NUL */
	{ "/d/{name}", "/d/%zz", -EINVAL, 0, { 0 }, { 0 } },
	{ "/d/{name}", "/d/ab%4", -EINVAL, 0, { 0 }, { 0 } },
	{ "/d/{name}", "d/x", -EINVAL, 0, { 0 }, { 0 } },
	{ "/d/{name}", "/d/" X255, 0, 1, { "name" }, { X255 } },
	{ "/d/{name}", "/d/" X255 "x", -ENAMETOOLONG, 0, { 0 }, { 0 } },
	{ "/e/{name}", "/d/" X255 "x", -ENOENT, 0, { 0 }, { 0 } },
	{ "/a/{x}", SEG33, -ENOENT, 0, { 0 }, { 0 } },
};

START_TEST(test_match)
{
	const struct match_case *c = &match_cases[_i];
	struct http_params p = { .n = 99 };
	int r = http_route_match(c->pattern, c->path, &p);

	ck_assert_msg(r == c->want, "%s vs %s: got %d, want %d", c->pattern, c->path, r, c->want);
	if (r < 0) {
		ck_assert_uint_eq(p.n, 99); /* untouched */
		return;
	}
	ck_assert_uint_eq(p.n, c->n_params);
	for (size_t i = 0; i < c->n_params; i++) {
		ck_assert_str_eq(p.items[i].name, c->name[i]);
		ck_assert_str_eq(p.items[i].value, c->value[i]);
	}
}
END_TEST

START_TEST(test_match_long_path)
{
	char path[HTTP_PATH_MAX + 2];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(http_route_match("/{x}", path, NULL), -E2BIG);
}
END_TEST

struct pattern_case {
	const char *pattern;
	bool ok;
};

static const struct pattern_case pattern_cases[] = {
	{ "/", true },
	{ "/api/v1/domains/{name}/rrsets", true },
	{ "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", true },
	{ "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", false }, /* more than 8 params */
	{ "", false },
	{ "api", false },
	{ "/{}", false },
	{ "/{a-b}", false },
	{ "/a%20b", false },
	{ "/a/../b", false },
	{ "/x{y}", false },
};

START_TEST(test_pattern)
{
	const struct pattern_case *c = &pattern_cases[_i];

	ck_assert_msg(http_route_pattern_valid(c->pattern) == c->ok, "%s", c->pattern);
}
END_TEST

/* ---- a server in the test process, real loopback sockets ----------------- */

struct fixture {
	struct event_base *base;
	struct metrics_registry *reg;
	struct http_server *server;
	struct http_request *held; /* /hang: never answered by the handler */
	bool ready;
	int async_replies;
	int done_calls;
	size_t in_flight_at_done;
	int signals;
	int last_signo;
};

static struct fixture fx;

struct async {
	struct http_request *req;
	struct event *timer;
};

static void handle_rrsets(struct http_request *req, void *arg)
{
	const char *type = http_request_query(req, "type");

	http_reply_json(req, 200,
			json_pack("{s:s, s:s?, s:s, s:s}", "name", http_request_param(req, "name"),
				  "type", type, "path", http_request_path(req), "client",
				  http_request_client(req)));
}

static void handle_echo(struct http_request *req, void *arg)
{
	json_t *doc;

	if (http_request_json(req, &doc) < 0)
		return; /* answered */
	http_reply_header(req, "Location", "/api/v1/echo/1");
	http_reply_json(req, 201, json_pack("{s:o}", "got", doc));
}

/* http_request_json_fields: {"name": string, required; "n": integer}. */
static void handle_fields(struct http_request *req, void *arg)
{
	static const struct http_field f[] = { { "name", JSON_STRING, true },
					       { "n", JSON_INTEGER, false } };
	json_t *doc = NULL;

	if (http_request_json_fields(req, f, 2, &doc) < 0) {
		json_decref(doc); /* answered */
		return;
	}
	http_reply_json(req, 200, json_pack("{s:o}", "got", doc));
}

/* A lenient_query route: whether the query was valid, and its "x". */
static void handle_lenient(struct http_request *req, void *arg)
{
	http_reply_json(req, 200,
			json_pack("{s:b, s:s?}", "valid", http_request_query_valid(req), "x",
				  http_request_query(req, "x")));
}

/* http_request_form: the form's "a" and "b" after the query's. */
static void handle_form(struct http_request *req, void *arg)
{
	int r = http_request_form(req);

	http_reply_json(req, 200,
			json_pack("{s:i, s:s?, s:s?}", "r", r, "a", http_request_query(req, "a"),
				  "b", http_request_query(req, "b")));
}

/* Replies the X-Forwarded-For lines joined into a buffer of 24 bytes. */
static void handle_xff(struct http_request *req, void *arg)
{
	char buf[24];
	int r = http_request_header_join(req, "X-Forwarded-For", buf, sizeof(buf));

	http_reply_json(req, 200, json_pack("{s:s, s:i}", "joined", buf, "r", r));
}

static void handle_domain(struct http_request *req, void *arg)
{
	http_reply_json(req, 204, NULL);
}

static void on_async_timer(evutil_socket_t fd, short what, void *arg)
{
	struct async *a = arg;

	event_free(a->timer);
	fx.async_replies++;
	http_reply_json(a->req, 200, json_pack("{s:b}", "async", 1));
	free(a);
}

static void handle_async(struct http_request *req, void *arg)
{
	struct async *a = calloc(1, sizeof(*a));
	int ms = atoi(http_request_param(req, "ms"));
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	ck_assert_ptr_nonnull(a);
	a->req = req;
	a->timer = evtimer_new(fx.base, on_async_timer, a);
	evtimer_add(a->timer, &tv);
}

/* Echoes the {v} parameter into a header; answers what http_reply_header() said. */
static void handle_hdr(struct http_request *req, void *arg)
{
	int value = http_reply_header(req, "X-Echo", http_request_param(req, "v"));
	int colon = http_reply_header(req, "X-Bad: x", "v");
	int space = http_reply_header(req, "X Bad", "v");
	int empty = http_reply_header(req, "", "v");

	http_reply_json(req, 200,
			json_pack("{s:i, s:i, s:i, s:i}", "value", value, "colon", colon, "space",
				  space, "empty", empty));
}

static void handle_hang(struct http_request *req, void *arg)
{
	fx.held = req;
}

static bool ready_cb(json_t *checks, void *arg)
{
	json_object_set_new(checks, "db", json_string(fx.ready ? "ok" : "down"));
	return fx.ready;
}

static const struct http_route routes[] = {
	{ "GET", ROUTE, handle_rrsets, NULL, false },
	{ "POST", "/api/v1/echo", handle_echo, NULL, false },
	{ "POST", "/api/v1/fields", handle_fields, NULL, false },
	{ "PUT", "/api/v1/domains/{name}", handle_domain, NULL, false },
	{ "DELETE", "/api/v1/domains/{name}", handle_domain, NULL, false },
	{ "GET", "/async/{ms}", handle_async, NULL, false },
	{ "GET", "/hang", handle_hang, NULL, false },
	{ "GET", "/hdr/{v}", handle_hdr, NULL, false },
	{ "GET", "/xff", handle_xff, NULL, false },
	{ "GET", "/lenient", handle_lenient, NULL, true },
	{ "POST", "/form", handle_form, NULL, false },
};

static void start_server_timeout(unsigned max_connections, unsigned timeout_ms)
{
	struct http_server_options o = {
		.service = "test",
		.listen = "127.0.0.1:0",
		.max_body = MAX_BODY,
		.timeout_ms = timeout_ms,
		.max_connections = max_connections,
		.routes = routes,
		.n_routes = N(routes),
		.metrics = fx.reg,
		.ready = ready_cb,
	};

	ck_assert_int_eq(http_server_create(fx.base, &o, &fx.server), 0);
	ck_assert_uint_ne(http_server_port(fx.server), 0);
}

static void start_server(unsigned max_connections)
{
	start_server_timeout(max_connections, 5000);
}

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.ready = true;
	fx.base = event_base_new();
	fx.reg = metrics_registry_create();
	ck_assert_ptr_nonnull(fx.base);
	start_server(4);
}

static void teardown(void)
{
	http_server_destroy(fx.server);
	metrics_registry_destroy(fx.reg);
	event_base_free(fx.base);
	memset(&fx, 0, sizeof(fx));
}

static void run_for(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	event_base_loopexit(fx.base, &tv);
	event_base_dispatch(fx.base);
}

/* A blocking connect: the kernel completes it without the loop running. */
static int client_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static void client_send(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		ck_assert_int_gt(n, 0);
		data += n;
		len -= (size_t)n;
	}
}

struct resp {
	char raw[65536];
	size_t len;
	bool eof;
	int status;
	const char *body; /* into raw */
};

static void on_client_read(evutil_socket_t fd, short what, void *arg)
{
	struct resp *r = arg;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		event_base_loopbreak(fx.base);
		return;
	}
	n = read(fd, r->raw + r->len, sizeof(r->raw) - 1 - r->len);
	if (n > 0) {
		r->len += (size_t)n;
		return;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	r->eof = true;
	event_base_loopbreak(fx.base);
}

/* Runs the loop until the server closes @fd (or 5 s), then parses the answer. */
static void client_read(int fd, struct resp *r)
{
	struct timeval tv = { .tv_sec = 5 };
	struct event *ev;
	char *sep;

	memset(r, 0, sizeof(*r));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ev = event_new(fx.base, fd, EV_READ | EV_PERSIST, on_client_read, r);
	event_add(ev, &tv);
	event_base_dispatch(fx.base);
	event_free(ev);
	close(fd);
	r->raw[r->len] = '\0';
	ck_assert_msg(r->eof, "no complete answer; got \"%s\"", r->raw);
	ck_assert_int_eq(sscanf(r->raw, "HTTP/1.1 %d ", &r->status), 1);
	sep = strstr(r->raw, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	sep[2] = '\0'; /* headers end in "\r\n" */
	r->body = sep + 4;
}

static void request(const char *raw, struct resp *r)
{
	int fd = client_connect(http_server_port(fx.server));

	ck_assert_int_ge(fd, 0);
	client_send(fd, raw, strlen(raw));
	client_read(fd, r);
}

/* The value of header @name (case-insensitive), copied to @buf; NULL if absent. */
static const char *header(const struct resp *r, const char *name, char *buf, size_t size)
{
	char key[64];
	const char *p, *end;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	p = strcasestr(r->raw, key);
	if (!p)
		return NULL;
	p += strlen(key);
	end = strstr(p, "\r\n");
	snprintf(buf, size, "%.*s", (int)(end - p), p);
	return buf;
}

#define GET(path, extra) "GET " path " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" extra "\r\n"
#define POST(path, type, body)                                                          \
	"POST " path " HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: " type \
	"\r\nContent-Length: " body "\r\n\r\n"

struct status_case {
	const char *what;
	const char *request; /* NULL: built by the test (big bodies) */
	size_t body_len;     /* for request == NULL: a POST with this many bytes */
	int status;
	const char *body; /* exact; NULL: not checked */
	const char *allow;
};

static const struct status_case status_cases[] = {
	{ "healthz", GET("/healthz", ""), 0, 200, "{\"status\":\"ok\"}", NULL },
	{ "head", "HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 0, 200, "",
	  NULL },
	{ "404", GET("/nope", ""), 0, 404,
	  "{\"error\":\"no such resource\",\"code\":\"not_found\"}", NULL },
	{ "404 trailing slash", GET("/healthz/", ""), 0, 404, NULL, NULL },
	{ "405 builtin", POST("/healthz", "application/json", "2\r\n\r\n{}"), 0, 405,
	  "{\"error\":\"method POST is not allowed here\",\"code\":\"method_not_allowed\"}",
	  "GET" },
	{ "405 allow list", GET("/api/v1/domains/x", ""), 0, 405, NULL, "PUT, DELETE" },
	{ "204",
	  "PUT /api/v1/domains/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	  "Content-Length: 0\r\n\r\n",
	  0, 204, "", NULL },
	{ "encoded slash", GET("/api/v1/domains/a%2Fb/rrsets", ""), 0, 400,
	  "{\"error\":\"the path is not valid (percent-encoding, encoded '/', \\\".\\\" or "
	  "\\\"..\\\")\",\"code\":\"invalid_path\"}",
	  NULL },
	{ "dot dot", GET("/api/v1/domains/%2e%2e/rrsets", ""), 0, 400, NULL, NULL },
	{ "bare query flag", GET("/api/v1/domains/x/rrsets?type&&x=1", ""), 0, 200,
	  "{\"name\":\"x\",\"type\":\"\",\"path\":\"/api/v1/domains/x/rrsets\","
	  "\"client\":\"127.0.0.1\"}",
	  NULL },
	{ "bad query", GET("/api/v1/domains/x/rrsets?type=a%00b", ""), 0, 400,
	  "{\"error\":\"the query string is not valid\",\"code\":\"invalid_query\"}", NULL },
	{ "json echo",
	  POST("/api/v1/echo", "application/json; charset=utf-8", "9\r\n\r\n{\"a\":[1]}"), 0, 201,
	  "{\"got\":{\"a\":[1]}}", NULL },
	{ "invalid json", POST("/api/v1/echo", "application/json", "5\r\n\r\n{\"a\":"), 0, 400,
	  "{\"error\":\"invalid JSON at line 1, column 5: unexpected token near end of "
	  "file\",\"code\":\"invalid_json\"}",
	  NULL },
	{ "duplicate keys", POST("/api/v1/echo", "application/json", "13\r\n\r\n{\"a\":1,\"a\":2}"),
	  0, 400, NULL, NULL },
	{ "wrong type", POST("/api/v1/echo", "text/plain", "2\r\n\r\n{}"), 0, 415,
	  "{\"error\":\"content type must be "
	  "application/json\",\"code\":\"unsupported_media_type\"}",
	  NULL },
	{ "no body", POST("/api/v1/echo", "application/json", "0\r\n\r\n"), 0, 400,
	  "{\"error\":\"request body is empty, expected JSON\",\"code\":\"missing_body\"}", NULL },
	{ "fields ok",
	  POST("/api/v1/fields", "application/json", "18\r\n\r\n{\"name\":\"x\",\"n\":1}"), 0, 200,
	  "{\"got\":{\"name\":\"x\",\"n\":1}}", NULL },
	{ "fields unknown",
	  POST("/api/v1/fields", "application/json", "25\r\n\r\n{\"name\":\"x\",\"admin\":true}"),
	  0, 400,
	  "{\"error\":\"unknown field \\\"admin\\\" in the body\",\"code\":\"unknown_field\"}",
	  NULL },
	{ "fields wrong type", POST("/api/v1/fields", "application/json", "10\r\n\r\n{\"name\":1}"),
	  0, 400,
	  "{\"error\":\"\\\"name\\\" in the body must be a string\",\"code\":\"invalid_field\"}",
	  NULL },
	{ "fields missing", POST("/api/v1/fields", "application/json", "7\r\n\r\n{\"n\":1}"), 0,
	  400, "{\"error\":\"\\\"name\\\" is missing in the body\",\"code\":\"invalid_field\"}",
	  NULL },
	{ "fields not an object", POST("/api/v1/fields", "application/json", "3\r\n\r\n[1]"), 0,
	  400, "{\"error\":\"the body must be a JSON object\",\"code\":\"invalid_field\"}", NULL },
	{ "fields bad json", POST("/api/v1/fields", "application/json", "1\r\n\r\n{"), 0, 400, NULL,
	  NULL },
	{ "lenient query, valid", GET("/lenient?x=1", ""), 0, 200, "{\"valid\":true,\"x\":\"1\"}",
	  NULL },
	{ "lenient query, malformed: the handler decides", GET("/lenient?x=a%00b", ""), 0, 200,
	  "{\"valid\":false,\"x\":null}", NULL },
	{ "form body after the query",
	  POST("/form?a=q", "application/x-www-form-urlencoded", "9\r\n\r\na=1&b=x+y"), 0, 200,
	  "{\"r\":0,\"a\":\"q\",\"b\":\"x y\"}", NULL },
	{ "form body of another type is ignored",
	  POST("/form", "application/json", "7\r\n\r\n{\"b\":1}"), 0, 200,
	  "{\"r\":0,\"a\":null,\"b\":null}", NULL },
	{ "body just too large", NULL, MAX_BODY + 1, 413,
	  "{\"error\":\"request body is larger than 1024 bytes\",\"code\":\"body_too_large\"}",
	  NULL },
	{ "body at the limit", NULL, MAX_BODY, 201, NULL, NULL },
	{ "body far too large", NULL, 4 * MAX_BODY, 413, NULL, NULL }, /* evhttp's own 413 */
};

/* A POST of a JSON document of exactly @len bytes: {"a":"xxx..."}. */
static char *big_post(size_t len)
{
	char head[256];
	char *buf;
	int n = snprintf(head, sizeof(head),
			 "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			 len);

	buf = malloc((size_t)n + len + 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, head, (size_t)n);
	memset(buf + n, 'x', len);
	memcpy(buf + n, "{\"a\":\"", 6);
	memcpy(buf + n + len - 2, "\"}", 2);
	buf[n + len] = '\0';
	return buf;
}

START_TEST(test_status)
{
	const struct status_case *c = &status_cases[_i];
	struct resp *r = malloc(sizeof(*r));
	char *raw = c->request ? NULL : big_post(c->body_len);
	char v[256];

	request(c->request ? c->request : raw, r);
	ck_assert_msg(r->status == c->status, "%s: status %d, want %d: %s", c->what, r->status,
		      c->status, r->raw);
	if (c->body)
		ck_assert_str_eq(r->body, c->body);
	if (c->allow)
		ck_assert_str_eq(header(r, "Allow", v, sizeof(v)), c->allow);
	else
		ck_assert_ptr_null(header(r, "Allow", v, sizeof(v)));
	if (c->body) {
		/* every answer of ours carries these */
		ck_assert_str_eq(header(r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
		ck_assert_str_eq(header(r, "Cache-Control", v, sizeof(v)), "no-store");
		ck_assert_str_eq(header(r, "Content-Type", v, sizeof(v)), "application/json");
	}
	if (c->status == 201)
		ck_assert_str_eq(header(r, "Location", v, sizeof(v)), "/api/v1/echo/1");
	ck_assert_uint_eq(http_server_in_flight(fx.server), 0);
	free(raw);
	free(r);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct resp *r = malloc(sizeof(*r));
	char v[128];

	request(GET("/api/v1/domains/alice.dyn.example.net/"
		    "rrsets?x=%2F&type=AAA%41&type=TXT&bad=%zz",
		    "X-Request-Id: abc-123\r\n"),
		r);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "{\"name\":\"alice.dyn.example.net\",\"type\":\"AAAA\","
				  "\"path\":\"/api/v1/domains/alice.dyn.example.net/rrsets\","
				  "\"client\":\"127.0.0.1\"}");
	ck_assert_str_eq(header(r, "Content-Type", v, sizeof(v)), "application/json");
	ck_assert_str_eq(header(r, "X-Request-Id", v, sizeof(v)), "abc-123");
	free(r);
}
END_TEST

struct header_case {
	const char *path;
	int want;          /* what http_reply_header() returns for the value */
	const char *value; /* the X-Echo header sent; NULL: none */
};

static const struct header_case header_cases[] = {
	{ "/hdr/abc", 0, "abc" },
	{ "/hdr/a%09b", 0, "a\tb" }, /* HTAB is fine in a value */
	{ "/hdr/a%01b", -EINVAL, NULL },
	{ "/hdr/a%7Fb", -EINVAL, NULL },
	{ "/hdr/a%1Bb", -EINVAL, NULL },
	{ "/hdr/a%0D%0A%20X-Evil:%201", -EINVAL, NULL },
	{ "/hdr/a%0D%0A%0D%0A%20x", -EINVAL, NULL },
};

/* Header names and values from handlers (maybe from decoded client input) are checked. */
START_TEST(test_reply_header)
{
	const struct header_case *c = &header_cases[_i];
	struct resp *r = malloc(sizeof(*r));
	char raw[256], v[128], want[128];
	const char *got;

	snprintf(raw, sizeof(raw), GET("%s", ""), c->path);
	request(raw, r);
	ck_assert_int_eq(r->status, 200);
	snprintf(want, sizeof(want), "{\"value\":%d,\"colon\":%d,\"space\":%d,\"empty\":%d}",
		 c->want, -EINVAL, -EINVAL, -EINVAL);
	ck_assert_str_eq(r->body, want);
	got = header(r, "X-Echo", v, sizeof(v));
	if (c->value)
		ck_assert_pstr_eq(got, c->value);
	else
		ck_assert_ptr_null(got);
	ck_assert_ptr_null(strstr(r->raw, "X-Evil"));
	ck_assert_ptr_null(strstr(r->raw, "X-Bad"));
	ck_assert_ptr_null(strstr(r->raw, "\r\n: v"));
	free(r);
}
END_TEST

struct rid_case {
	const char *incoming; /* NULL: no header */
	bool echoed;
};

static const struct rid_case rid_cases[] = {
	{ "abc", true },
	{ "A.b_c-9", true },
	{ "0123456789012345678901234567890123456789012345678901234567890123", true },   /* 64 */
	{ "01234567890123456789012345678901234567890123456789012345678901234", false }, /* 65 */
	{ "bad id", false },
	{ "a/b", false },
	{ "x\"y", false },
	{ "", false },
	{ NULL, false },
};

/* Several lines of one header are joined in order, others ignored; too long: "". */
static const struct xff_case {
	const char *headers, *joined;
	int r;
} xff_cases[] = {
	{ "", "", 0 },
	{ "X-Forwarded-For: 192.0.2.1\r\n", "192.0.2.1", 9 },
	{ "X-Forwarded-For: 192.0.2.1\r\nx-forwarded-for: 10.0.0.1\r\n", "192.0.2.1, 10.0.0.1",
	  19 },
	{ "X-Forwarded-For: 1.1.1.1\r\nX-Other: 2\r\nX-Forwarded-For: 3.3.3.3\r\n",
	  "1.1.1.1, 3.3.3.3", 16 },
	{ "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 198.51.100.1\r\n",
	  "192.0.2.1, 198.51.100.1", 23 }, /* 23 bytes and the NUL: fits exactly */
	{ "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 198.51.100.10\r\n", "", -EMSGSIZE },
};

START_TEST(test_header_join)
{
	const struct xff_case *c = &xff_cases[_i];
	struct resp *r = malloc(sizeof(*r));
	char raw[512];
	json_t *doc;

	snprintf(raw, sizeof(raw), "GET /xff HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n",
		 c->headers);
	request(raw, r);
	ck_assert_int_eq(r->status, 200);
	doc = json_loads(r->body, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "joined")), c->joined);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "r")), c->r);
	json_decref(doc);
	free(r);
}
END_TEST

START_TEST(test_request_id)
{
	const struct rid_case *c = &rid_cases[_i];
	struct resp *r = malloc(sizeof(*r));
	char raw[512], v[128], first[128];

	for (int i = 0; i < 2; i++) {
		if (c->incoming)
			snprintf(raw, sizeof(raw), GET("/healthz", "X-Request-Id: %s\r\n"),
				 c->incoming);
		else
			snprintf(raw, sizeof(raw), GET("/healthz", ""));
		request(raw, r);
		ck_assert_int_eq(r->status, 200);
		ck_assert_ptr_nonnull(header(r, "X-Request-Id", v, sizeof(v)));
		if (c->echoed) {
			ck_assert_str_eq(v, c->incoming);
			free(r);
			return;
		}
		ck_assert_uint_eq(strlen(v), 32);
		ck_assert_uint_eq(strspn(v, "0123456789abcdef"), 32);
		if (i == 0)
			snprintf(first, sizeof(first), "%s", v);
		else
			ck_assert_str_ne(first, v); /* a fresh id each time */
	}
	free(r);
}
END_TEST

struct ready_case {
	bool ready;
	int status;
	const char *body;
};

static const struct ready_case ready_cases[] = {
	{ true, 200, "{\"status\":\"ready\",\"checks\":{\"db\":\"ok\"}}" },
	{ false, 503, "{\"status\":\"not_ready\",\"checks\":{\"db\":\"down\"}}" },
};

START_TEST(test_readyz)
{
	const struct ready_case *c = &ready_cases[_i];
	struct resp *r = malloc(sizeof(*r));

	fx.ready = c->ready;
	request(GET("/readyz", ""), r);
	ck_assert_int_eq(r->status, c->status);
	ck_assert_str_eq(r->body, c->body);
	free(r);
}
END_TEST

START_TEST(test_metrics_endpoint)
{
	struct resp *r = malloc(sizeof(*r));
	char v[128];

	request(GET("/healthz", ""), r);
	request(GET("/healthz", ""), r);
	request(GET("/nope", ""), r);
	request(GET("/api/v1/domains/a/rrsets", ""), r);
	request(GET("/metrics", ""), r);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(header(r, "Content-Type", v, sizeof(v)),
			 "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(
		r->body,
		"\nhttp_requests_total{method=\"GET\",route=\"/healthz\",code=\"200\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(
		r->body,
		"\nhttp_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r->body, "\nhttp_requests_total{method=\"GET\",route=\"" ROUTE
					      "\",code=\"200\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(r->body, "\nhttp_request_duration_seconds_count{route=\"/healthz\"} 2\n"));
	/* the raw path never becomes a label */
	ck_assert_ptr_null(strstr(r->body, "/nope"));
	/* only this request's connection is open */
	ck_assert_ptr_nonnull(strstr(r->body, "\nhttp_connections 1\n"));
	free(r);
}
END_TEST

START_TEST(test_async)
{
	struct resp *r = malloc(sizeof(*r));
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	request(GET("/async/100", ""), r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "{\"async\":true}");
	ck_assert_int_ge(ms, 100);
	ck_assert_int_eq(fx.async_replies, 1);
	free(r);
}
END_TEST

/* The client goes away before the answer: the late reply must be harmless. */
START_TEST(test_client_gone)
{
	static const char raw[] = GET("/async/100", "");
	struct resp *r = malloc(sizeof(*r));
	int fd = client_connect(http_server_port(fx.server));

	client_send(fd, raw, strlen(raw));
	run_for(30);
	ck_assert_uint_eq(http_server_in_flight(fx.server), 1);
	close(fd);
	run_for(300);
	ck_assert_int_eq(fx.async_replies, 1);
	ck_assert_uint_eq(http_server_in_flight(fx.server), 0);
	/* and the server carries on */
	request(GET("/healthz", ""), r);
	ck_assert_int_eq(r->status, 200);
	free(r);
}
END_TEST

/* Many clients that hang up at once, some before sending anything. */
START_TEST(test_clients_gone_many)
{
	static const char raw[] = GET("/async/50", "");
	struct resp *r = malloc(sizeof(*r));
	char *text;

	for (int i = 0; i < 3; i++) {
		int fd = client_connect(http_server_port(fx.server));

		if (i < 2)
			client_send(fd, raw, strlen(raw));
		run_for(20);
		close(fd);
	}
	run_for(200);
	ck_assert_int_eq(fx.async_replies, 2);
	text = metrics_render(fx.reg);
	ck_assert_ptr_nonnull(strstr(text, "\nhttp_connections 0\n")); /* every close counted */
	free(text);
	/* the connection count came back down: 4 more requests still fit */
	for (int i = 0; i < 4; i++) {
		request(GET("/healthz", ""), r);
		ck_assert_int_eq(r->status, 200);
	}
	free(r);
}
END_TEST

static void on_done(void *arg)
{
	fx.done_calls++;
	fx.in_flight_at_done = http_server_in_flight(fx.server);
	if (arg)
		event_base_loopbreak(fx.base);
}

START_TEST(test_shutdown_waits)
{
	static const char raw[] = GET("/async/200", "");
	struct resp *r = malloc(sizeof(*r));
	uint16_t port = http_server_port(fx.server);
	int fd = client_connect(port);
	char v[64];

	client_send(fd, raw, strlen(raw));
	run_for(50);
	ck_assert_uint_eq(http_server_in_flight(fx.server), 1);
	http_server_shutdown(fx.server, 5000, on_done, NULL);
	ck_assert_int_eq(fx.done_calls, 0); /* never from inside the call */
	ck_assert_int_eq(client_connect(port), -ECONNREFUSED);
	client_read(fd, r); /* the in-flight request still gets its answer */
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "{\"async\":true}");
	ck_assert_str_eq(header(r, "Connection", v, sizeof(v)), "close");
	if (fx.done_calls == 0)
		run_for(100);
	ck_assert_int_eq(fx.done_calls, 1);
	ck_assert_uint_eq(fx.in_flight_at_done, 0);
	http_server_shutdown(fx.server, 5000, on_done, NULL); /* a second call does nothing */
	run_for(20);
	ck_assert_int_eq(fx.done_calls, 1);
	free(r);
}
END_TEST

/* A request that is never answered: done comes at the deadline, the reply later is an orphan's. */
START_TEST(test_shutdown_deadline)
{
	static const char raw[] = GET("/hang", "");
	int fd = client_connect(http_server_port(fx.server));
	struct timespec t0, t1;
	long ms;

	client_send(fd, raw, strlen(raw));
	run_for(50);
	ck_assert_ptr_nonnull(fx.held);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_server_shutdown(fx.server, 150, on_done, &fx); /* breaks the loop */
	run_for(2000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_eq(fx.done_calls, 1);
	ck_assert_uint_eq(fx.in_flight_at_done, 1);
	ck_assert_int_ge(ms, 150);
	ck_assert_int_lt(ms, 1500);
	http_server_destroy(fx.server);
	fx.server = NULL;
	/* the orphan stays readable and its one reply frees it */
	ck_assert_str_eq(http_request_path(fx.held), "/hang");
	ck_assert_ptr_null(http_request_header(fx.held, "Host"));
	http_reply_json(fx.held, 200, json_object());
	close(fd);
}
END_TEST

/* max_connections = 1: a second client waits until the first one leaves. */
START_TEST(test_max_connections)
{
	static const char raw[] = GET("/healthz", "");
	struct resp *r = malloc(sizeof(*r));
	int a, b;
	ssize_t n;
	char c;

	http_server_destroy(fx.server);
	start_server(1);
	a = client_connect(http_server_port(fx.server));
	run_for(30); /* a is accepted and idle */
	b = client_connect(http_server_port(fx.server));
	client_send(b, raw, strlen(raw));
	run_for(200);
	fcntl(b, F_SETFL, O_NONBLOCK);
	n = read(b, &c, 1);
	ck_assert_int_eq(n, -1); /* nothing yet: b is not accepted */
	ck_assert_int_eq(errno, EAGAIN);
	close(a);
	client_read(b, r);
	ck_assert_int_eq(r->status, 200);
	free(r);
}
END_TEST

/*
 * A client that trickles its request a byte at a time, each within the
 * timeout, still has to finish it within the timeout: otherwise a few such
 * clients hold every connection slot for as long as they like.
 */
START_TEST(test_slow_request)
{
	static const char head[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ";
	struct timespec t0, t1;
	bool closed = false;
	char *text;
	long ms;
	int fd;

	http_server_destroy(fx.server);
	start_server_timeout(4, 300);
	fd = client_connect(http_server_port(fx.server));
	ck_assert_int_ge(fd, 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	client_send(fd, head, strlen(head));
	for (int i = 0; i < 20 && !closed; i++) {
		char c;
		ssize_t n;

		run_for(100);
		n = read(fd, &c, 1);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			closed = true;
			break;
		}
		if (send(fd, "a", 1, MSG_NOSIGNAL) != 1)
			closed = true;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(closed, "a trickling client kept its connection for %ld ms", ms);
	ck_assert_int_lt(ms, 1000);
	text = metrics_render(fx.reg);
	ck_assert_ptr_nonnull(strstr(text, "\nhttp_connections 0\n")); /* the close was counted */
	free(text);
}
END_TEST

/* The deadline covers receiving a request, not the handler's work. */
START_TEST(test_slow_handler)
{
	struct resp *r = malloc(sizeof(*r));

	http_server_destroy(fx.server);
	start_server_timeout(4, 300);
	request(GET("/async/600", ""), r);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "{\"async\":true}");
	free(r);
}
END_TEST

START_TEST(test_access_log)
{
	char path[] = "/tmp/test_http_log.XXXXXX";
	int fd = mkstemp(path);
	struct resp *r = malloc(sizeof(*r));
	char buf[4096];
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	log_setup("test", LOG_LEVEL_INFO, LOG_FORMAT_JSON, fd);
	request(GET("/api/v1/domains/x/rrsets?token=s3cret", "X-Request-Id: rid-42\r\n"), r);
	log_setup("test", LOG_LEVEL_INFO, LOG_FORMAT_JSON, 2);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, "\"rid\":\"rid-42\",\"msg\":\"request\",\"method\":\"GET\","
				  "\"path\":\"/api/v1/domains/x/rrsets\",\"route\":\"" ROUTE "\","
				  "\"status\":200,\"duration_us\":"),
		      "%s", buf);
	ck_assert_ptr_nonnull(strstr(buf, ",\"client\":\"127.0.0.1\",\"bytes_out\":"));
	ck_assert_ptr_null(strstr(buf, "s3cret"));        /* query strings stay out of the log */
	ck_assert_int_eq(strchr(buf, '\n') - buf, n - 1); /* one line */
	free(r);
}
END_TEST

static void on_signal(int signo, void *arg)
{
	fx.signals++;
	fx.last_signo = signo;
}

START_TEST(test_signals)
{
	struct http_signals *sig = http_signals_create(fx.base, on_signal, NULL);

	ck_assert_ptr_nonnull(sig);
	raise(SIGTERM);
	run_for(50);
	raise(SIGINT);
	run_for(50);
	ck_assert_int_eq(fx.signals, 1);
	ck_assert_int_eq(fx.last_signo, SIGTERM);
	http_signals_destroy(sig);
}
END_TEST

struct listen_case {
	const char *listen;
	bool ok;
};

static const struct listen_case listen_cases[] = {
	{ "127.0.0.1:0", true }, { "[::1]:0", true },      { "127.0.0.1", false },
	{ "::1:0", false },      { "[::1]", false },       { "127.0.0.1:65536", false },
	{ ":0", false },         { "127.0.0.1:x", false },
};

START_TEST(test_listen)
{
	const struct listen_case *c = &listen_cases[_i];
	struct http_server_options o = { .listen = c->listen };
	struct http_server *s = NULL;
	int r = http_server_create(fx.base, &o, &s);

	if (!c->ok) {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_ptr_null(s);
		return;
	}
	if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT)
		return; /* no IPv6 on this host */
	ck_assert_int_eq(r, 0);
	ck_assert_uint_ne(http_server_port(s), 0);
	http_server_destroy(s);
}
END_TEST

/* A body limit beyond HTTP_MAX_BODY_LIMIT is refused, the largest one works. */
START_TEST(test_max_body_limit)
{
	struct http_server_options o = { .listen = "127.0.0.1:0" };
	struct http_server *s = NULL;

	o.max_body = (size_t)HTTP_MAX_BODY_LIMIT + 1;
	ck_assert_int_eq(http_server_create(fx.base, &o, &s), -EINVAL);
	ck_assert_ptr_null(s);
	o.max_body = SIZE_MAX;
	ck_assert_int_eq(http_server_create(fx.base, &o, &s), -EINVAL);
	o.max_body = HTTP_MAX_BODY_LIMIT;
	ck_assert_int_eq(http_server_create(fx.base, &o, &s), 0);
	http_server_destroy(s);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("http");
	TCase *pure = tcase_create("routes");
	TCase *srv = tcase_create("server");

	tcase_add_loop_test(pure, test_match, 0, N(match_cases));
	tcase_add_test(pure, test_match_long_path);
	tcase_add_loop_test(pure, test_pattern, 0, N(pattern_cases));
	suite_add_tcase(s, pure);

	tcase_add_checked_fixture(srv, setup, teardown);
	tcase_set_timeout(srv, 20);
	tcase_add_loop_test(srv, test_status, 0, N(status_cases));
	tcase_add_test(srv, test_roundtrip);
	tcase_add_loop_test(srv, test_header_join, 0, N(xff_cases));
	tcase_add_loop_test(srv, test_request_id, 0, N(rid_cases));
	tcase_add_loop_test(srv, test_reply_header, 0, N(header_cases));
	tcase_add_loop_test(srv, test_readyz, 0, N(ready_cases));
	tcase_add_test(srv, test_metrics_endpoint);
	tcase_add_test(srv, test_async);
	tcase_add_test(srv, test_client_gone);
	tcase_add_test(srv, test_clients_gone_many);
	tcase_add_test(srv, test_shutdown_waits);
	tcase_add_test(srv, test_shutdown_deadline);
	tcase_add_test(srv, test_max_connections);
	tcase_add_test(srv, test_slow_request);
	tcase_add_test(srv, test_slow_handler);
	tcase_add_test(srv, test_access_log);
	tcase_add_test(srv, test_signals);
	tcase_add_loop_test(srv, test_listen, 0, N(listen_cases));
	tcase_add_test(srv, test_max_body_limit);
	suite_add_tcase(s, srv);
	return s;
}
