#include "shared/http.h"

#include "shared/db.h"
#include "shared/log.h"
#include "shared/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#define ALLOWED_METHODS                                                                           \
	(EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | \
	 EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS)

#define UNMATCHED_ROUTE "unmatched"

/* A path split into percent-decoded segments. */
struct segments {
	size_t n;
	const char *seg[HTTP_SEGMENTS_MAX]; /* point into buf */
	char buf[HTTP_PATH_MAX + 1];
};

struct route {
	char *method;  /* owned */
	char *pattern; /* owned */
	http_handler_fn handler;
	void *arg; /* borrowed */
	bool lenient_query;
};

/*
 * One open connection. evhttp's own timeout restarts with every byte read,
 * so a client that trickles a request byte by byte would hold its slot (and,
 * at max_conns, the whole server) for as long as it likes; @deadline bounds
 * the time to receive a whole request: armed at accept and after each
 * answer, stopped while a handler holds the request.
 */
struct conn {
	struct http_server *server;      /* borrowed */
	struct evhttp_connection *evcon; /* borrowed from evhttp */
	struct event *deadline;          /* owned */
	struct conn *prev, *next;        /* server->conns */
};

struct http_server {
	struct event_base *base;           /* borrowed */
	struct evhttp *http;               /* owned */
	struct evhttp_bound_socket *bound; /* owned by http; NULL once closed */
	char *service;                     /* owned */
	struct route *routes;              /* owned, n_routes */
	size_t n_routes;
	size_t max_body;
	unsigned max_conns;
	struct timeval timeout; /* for reading a whole request */
	uint16_t port;

	struct metrics_registry *metrics; /* borrowed, may be NULL */
	struct metric_family *m_requests; /* borrowed from metrics */
	struct metric_family *m_duration; /* borrowed from metrics */
	struct metric *m_conns;           /* borrowed from metrics */
	http_ready_fn ready;
	void *ready_arg;

	struct http_request *in_flight; /* list of unanswered requests */
	size_t n_in_flight;

	/*
	 * Connections. evhttp 2.1 tells nobody about new connections except
	 * through the bufferevent callback, before the connection exists; the
	 * new bufferevents wait here (with a reference held) until conn_ev
	 * runs, right after the accept, and attaches a close callback.
	 */
	unsigned n_conns;
	struct conn *conns;           /* owned list, with a close callback each */
	struct bufferevent **pending; /* owned array; each holds one reference */
	size_t n_pending;
	size_t cap_pending;
	struct event *conn_ev; /* owned */
	bool paused;           /* listener disabled at max_conns */
	bool destroying;

	bool shutting_down;
	struct event *done_ev;     /* owned */
	struct event *deadline_ev; /* owned */
	http_done_fn done;
	void *done_arg;
};

struct http_request {
	struct http_server *server;       /* borrowed; NULL for an orphan */
	struct evhttp_request *evreq;     /* borrowed from evhttp; NULL for an orphan */
	struct http_request *prev, *next; /* server->in_flight */
	const struct route *route;        /* borrowed from server; NULL: unmatched or orphan */
	const char *method;               /* static string */
	char *raw_path;                   /* owned; as sent, for the access log */
	char *path;                       /* owned; decoded */
	char **query;                     /* owned; decoded key, value, key, value, ... */
	size_t n_query;
	bool query_invalid; /* malformed, for a lenient_query route */
	struct http_params params;
	struct timespec start;
	char id[HTTP_REQUEST_ID_MAX + 1];
	char client[INET6_ADDRSTRLEN];
};

/* ---- paths and routes -------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Splits @raw into decoded segments; see http_route_match() for the errors. */
static int split_path(const char *raw, struct segments *s)
{
	const char *p;
	char *o = s->buf;

	if (raw[0] != '/')
		return -EINVAL;
	if (strlen(raw) > HTTP_PATH_MAX)
		return -E2BIG;
	s->n = 0;
	p = raw + 1;
	for (;;) {
		const char *seg = o;

		if (s->n == HTTP_SEGMENTS_MAX)
			return -ENOENT; /* deeper than any route can be */
		while (*p && *p != '/') {
			char c = *p;

			if (c == '%') {
				int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

				if (hi < 0 || lo < 0)
					return -EINVAL;
				c = (char)(hi << 4 | lo);
				if (c == '/' || c == '\0')
					return -EINVAL;
				p += 3;
			} else {
				p++;
			}
			*o++ = c;
		}
		*o++ = '\0';
		if (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
			return -EINVAL;
		s->seg[s->n++] = seg;
		if (!*p)
			break;
		p++;
	}
	return 0;
}

static bool is_param(const char *p, size_t len)
{
	return len >= 2 && p[0] == '{' && p[len - 1] == '}';
}

static int match_segments(const char *pattern, const struct segments *s,
			  struct http_params *ret_params)
{
	struct http_params params;
	const char *p = pattern;
	bool too_long = false;
	size_t i = 0;

	params.n = 0;
	if (*p != '/')
		return -ENOENT;
	p++;
	for (;;) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		const char *seg;

		if (i >= s->n)
			return -ENOENT;
		seg = s->seg[i++];
		if (is_param(p, len)) {
			size_t vlen = strlen(seg);

			if (vlen == 0 || params.n == HTTP_PARAMS_MAX ||
			    len - 2 > HTTP_PARAM_NAME_MAX)
				return -ENOENT;
			memcpy(params.items[params.n].name, p + 1, len - 2);
			params.items[params.n].name[len - 2] = '\0';
			if (vlen > HTTP_PARAM_VALUE_MAX) {
				too_long = true;
				vlen = 0;
			}
			memcpy(params.items[params.n].value, seg, vlen);
			params.items[params.n].value[vlen] = '\0';
			params.n++;
		} else if (strlen(seg) != len || memcmp(seg, p, len) != 0) {
			return -ENOENT;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	if (i != s->n)
		return -ENOENT;
	if (too_long)
		return -ENAMETOOLONG;
	if (ret_params)
		*ret_params = params;
	return 0;
}

int http_route_match(const char *pattern, const char *path, struct http_params *ret_params)
{
	struct segments *s = malloc(sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = split_path(path, s);
	if (r < 0)
		goto out;
	r = match_segments(pattern, s, ret_params);
out:
	free(s);
	return r;
}

bool http_route_pattern_valid(const char *pattern)
{
	size_t n_params = 0;
	const char *p;

	if (!pattern || pattern[0] != '/' || strlen(pattern) > HTTP_PATH_MAX)
		return false;
	p = pattern + 1;
	for (;;) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if (is_param(p, len)) {
			if (len - 2 == 0 || len - 2 > HTTP_PARAM_NAME_MAX ||
			    ++n_params > HTTP_PARAMS_MAX)
				return false;
			for (const char *c = p + 1; c < end - 1; c++)
				if (!(*c == '_' || (*c >= 'a' && *c <= 'z') ||
				      (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
					return false;
		} else {
			/* literal segments are compared decoded: no escapes, no braces */
			for (const char *c = p; c < end; c++)
				if (*c == '%' || *c == '{' || *c == '}' || *c == '?' || *c == '#')
					return false;
			if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
				return false;
		}
		if (!*end)
			return true;
		p = end + 1;
	}
}

bool http_request_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		char c = id[n];

		if (n >= HTTP_REQUEST_ID_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

static void request_id_generate(char out[HTTP_REQUEST_ID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char bytes[16];

	if (getrandom(bytes, sizeof(bytes), GRND_NONBLOCK) != (ssize_t)sizeof(bytes)) {
		/* no entropy yet (early boot): unique is enough for an id */
		static unsigned long long counter;
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(out, HTTP_REQUEST_ID_MAX + 1, "%016llx%016llx",
			 (unsigned long long)ts.tv_sec * 1000000000ull +
				 (unsigned long long)ts.tv_nsec,
			 ++counter);
		return;
	}
	for (size_t i = 0; i < sizeof(bytes); i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 0xf];
	}
	out[2 * sizeof(bytes)] = '\0';
}

/* ---- requests ---------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "OTHER";
}

static void request_free(struct http_request *req)
{
	if (!req)
		return;
	for (size_t i = 0; i < 2 * req->n_query; i++)
		free(req->query[i]);
	free(req->query);
	free(req->raw_path);
	free(req->path);
	free(req);
}

static void unlink_request(struct http_request *req)
{
	struct http_server *s = req->server;

	if (req->prev)
		req->prev->next = req->next;
	else
		s->in_flight = req->next;
	if (req->next)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	s->n_in_flight--;
}

const char *http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *http_request_path(const struct http_request *req)
{
	return req->path ? req->path : "";
}

const char *http_request_route(const struct http_request *req)
{
	return req->route ? req->route->pattern : NULL;
}

const char *http_request_param(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->params.n; i++)
		if (strcmp(req->params.items[i].name, name) == 0)
			return req->params.items[i].value;
	return NULL;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_query; i++)
		if (strcmp(req->query[2 * i], name) == 0)
			return req->query[2 * i + 1];
	return NULL;
}

/* Decodes @len bytes of @s ('+' as space); NULL when the result would hold a NUL. */
static char *query_decode(const char *s, size_t len)
{
	char *raw = strndup(s, len), *out;
	size_t n = 0;

	if (!raw)
		return NULL;
	/* invalid escapes stay as they are, as browsers do */
	out = evhttp_uridecode(raw, 1, &n);
	free(raw);
	if (out && strlen(out) != n) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * Splits a query string leniently: "a=1&flag&&b=" gives a="1", flag="",
 * b="" (clients in the field send all of these). Fails with -EINVAL on an
 * encoded NUL or more than HTTP_QUERY_MAX pairs, -ENOMEM.
 */
static int parse_query(struct http_request *req, const char *q)
{
	while (*q) {
		const char *end = strchrnul(q, '&'), *eq;
		char **pair;

		if (end == q) {
			q++;
			continue;
		}
		if (req->n_query == HTTP_QUERY_MAX)
			return -EINVAL;
		if (req->n_query % 8 == 0) {
			char **grown = realloc(req->query, (req->n_query + 8) * 2 * sizeof(char *));

			if (!grown)
				return -ENOMEM;
			req->query = grown;
		}
		pair = &req->query[2 * req->n_query];
		eq = memchr(q, '=', (size_t)(end - q));
		pair[0] = query_decode(q, (size_t)((eq ? eq : end) - q));
		pair[1] = eq ? query_decode(eq + 1, (size_t)(end - eq - 1)) : strdup("");
		if (!pair[0] || !pair[1]) {
			free(pair[0]);
			free(pair[1]);
			return -EINVAL;
		}
		req->n_query++;
		q = *end ? end + 1 : end;
	}
	return 0;
}

bool http_request_query_valid(const struct http_request *req)
{
	return !req->query_invalid;
}

int http_request_form(struct http_request *req)
{
	const char *type = http_request_header(req, "Content-Type"), *body;
	static const char form[] = "application/x-www-form-urlencoded";
	size_t len, n = sizeof(form) - 1;
	char *copy;
	int r;

	if (!type || strncasecmp(type, form, n) != 0 ||
	    (type[n] && type[n] != ';' && type[n] != ' '))
		return 0;
	body = http_request_body(req, &len);
	if (len == 0)
		return 0;
	if (memchr(body, '\0', len))
		return -EINVAL;
	copy = malloc(len + 1); /* the body is not NUL-terminated: no strndup */
	if (!copy)
		return -ENOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';
	r = parse_query(req, copy);
	free(copy);
	return r;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	if (!req->evreq)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(req->evreq), name);
}

int http_request_header_join(const struct http_request *req, const char *name, char *buf,
			     size_t size)
{
	struct evkeyval *kv;
	size_t n = 0;

	if (size == 0)
		return -EMSGSIZE;
	buf[0] = '\0';
	if (!req->evreq)
		return 0;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req->evreq), next)
	{
		size_t len;

		if (strcasecmp(kv->key, name) != 0)
			continue;
		len = strlen(kv->value);
		if (n + (n ? 2 : 0) + len + 1 > size) {
			buf[0] = '\0';
			return -EMSGSIZE;
		}
		if (n) {
			memcpy(buf + n, ", ", 2);
			n += 2;
		}
		memcpy(buf + n, kv->value, len + 1);
		n += len;
	}
	return (int)n;
}

const char *http_request_client(const struct http_request *req)
{
	return req->client;
}

const char *http_request_id(const struct http_request *req)
{
	return req->id;
}

const char *http_request_body(struct http_request *req, size_t *ret_len)
{
	struct evbuffer *in = req->evreq ? evhttp_request_get_input_buffer(req->evreq) : NULL;
	size_t len = in ? evbuffer_get_length(in) : 0;
	const char *data;

	if (len == 0) {
		*ret_len = 0;
		return "";
	}
	data = (const char *)evbuffer_pullup(in, -1);
	if (!data) {
		*ret_len = 0;
		return "";
	}
	*ret_len = len;
	return data;
}

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (!ct || strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int http_request_json(struct http_request *req, json_t **ret_doc)
{
	json_error_t err;
	const char *data;
	json_t *doc;
	size_t len;

	data = http_request_body(req, &len);
	if (len == 0) {
		http_reply_error(req, 400, "missing_body", "request body is empty, expected JSON");
		return -ENODATA;
	}
	if (!is_json_type(http_request_header(req, "Content-Type"))) {
		http_reply_error(req, 415, "unsupported_media_type",
				 "content type must be application/json");
		return -EPROTO;
	}
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	if (!doc) {
		http_reply_error(req, 400, "invalid_json", "invalid JSON at line %d, column %d: %s",
				 err.line, err.column, err.text);
		return -EINVAL;
	}
	*ret_doc = doc;
	return 0;
}

/* RFC 9110 token characters, for header names. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* A field name is a token; a field value holds no control bytes but HTAB. */
static bool header_valid(const char *name, const char *value)
{
	if (!name || !value || !*name)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (!is_tchar(*p))
			return false;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

int http_reply_header(struct http_request *req, const char *name, const char *value)
{
	/* evhttp refuses CR and LF only: a name with ':' or a value with other
	 * control bytes (from a decoded path parameter, say) would go out as is */
	if (!header_valid(name, value))
		return -EINVAL;
	if (!req->evreq)
		return 0; /* an orphan: nobody will see it */
	if (evhttp_add_header(evhttp_request_get_output_headers(req->evreq), name, value) < 0)
		return -EINVAL;
	return 0;
}

static long long elapsed_us(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - start->tv_sec) * 1000000LL +
	       (now.tv_nsec - start->tv_nsec) / 1000;
}

static void record(struct http_server *s, const struct http_request *req, int status, long long us)
{
	const char *route = req->route ? req->route->pattern : UNMATCHED_ROUTE;
	char code[16];

	snprintf(code, sizeof(code), "%d", status);
	metric_inc(metric_with(s->m_requests, (const char *const[]){ req->method, route, code }));
	metric_observe(metric_with(s->m_duration, (const char *const[]){ route }),
		       (double)us / 1e6);
}

static void maybe_done(struct http_server *s);

/*
 * The one place a request ends: sends @body (owned; drained and freed here),
 * logs, records, frees @req.
 */
static void finish(struct http_request *req, int status, const char *content_type,
		   struct evbuffer *body)
{
	struct http_server *s = req->server;
	size_t bytes = body ? evbuffer_get_length(body) : 0;
	long long us = elapsed_us(&req->start);

	if (req->evreq) {
		struct evkeyvalq *h = evhttp_request_get_output_headers(req->evreq);

		if (content_type)
			evhttp_add_header(h, "Content-Type", content_type);
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_add_header(h, "X-Request-Id", req->id);
		if (s && s->shutting_down)
			evhttp_add_header(h, "Connection", "close");
		if (evhttp_request_get_command(req->evreq) == EVHTTP_REQ_HEAD && body) {
			evbuffer_drain(body, bytes);
			bytes = 0;
		}
		/* evhttp frees evreq once written, or at once if the client has gone */
		evhttp_send_reply(req->evreq, status, NULL, body);
		req->evreq = NULL;
	}
	evbuffer_free(body);

	if (s) {
		struct log_field f[] = {
			LOG_STR("method", req->method),
			LOG_STR("path", req->raw_path),
			LOG_STR("route", req->route ? req->route->pattern : ""),
			LOG_NUM("status", status),
			LOG_NUM("duration_us", us),
			LOG_STR("client", req->client),
			LOG_NUM("bytes_out", bytes),
			LOG_STR("server", s->service),
		};

		log_fields(LOG_LEVEL_INFO, req->id, f, sizeof(f) / sizeof(f[0]), "request");
		record(s, req, status, us);
		unlink_request(req);
		maybe_done(s);
	} else {
		log_info(req->id, "reply to %s \"%s\" after the server was destroyed, dropping it",
			 req->method, req->raw_path ? req->raw_path : "");
	}
	request_free(req);
}

void http_reply_text(struct http_request *req, int status, const char *content_type,
		     const char *text)
{
	struct evbuffer *body = evbuffer_new();

	if (body && text && evbuffer_add(body, text, strlen(text)) < 0) {
		evbuffer_free(body);
		body = NULL;
	}
	if (!body) {
		/* out of memory: still exactly one reply */
		finish(req, 503, NULL, NULL);
		return;
	}
	finish(req, status, content_type, body);
}

void http_reply_json(struct http_request *req, int status, json_t *body)
{
	char *text = NULL;

	if (body) {
		text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(body);
		if (!text) {
			http_reply_text(req, 500, "application/json",
					"{\"error\":\"could not encode the answer\","
					"\"code\":\"internal\"}");
			return;
		}
	}
	http_reply_text(req, status, "application/json", text ? text : "");
	free(text);
}

void http_reply_error(struct http_request *req, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	json_t *m;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m = json_string(msg);
	if (!m) {
		/* not UTF-8 (a quoted client byte): keep the ASCII */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		m = json_string(msg);
	}
	http_reply_json(req, status, json_pack("{s:o?, s:s}", "error", m, "code", code));
}

/* ---- built-in routes --------------------------------------------------- */

static void handle_healthz(struct http_request *req, void *arg)
{
	http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void handle_readyz(struct http_request *req, void *arg)
{
	struct http_server *s = arg;
	json_t *checks = json_object();
	bool ready = true;

	if (!checks) {
		http_reply_error(req, 503, "not_ready", "out of memory");
		return;
	}
	if (s->ready)
		ready = s->ready(checks, s->ready_arg);
	http_reply_json(
		req, ready ? 200 : 503,
		json_pack("{s:s, s:o}", "status", ready ? "ready" : "not_ready", "checks", checks));
}

static void handle_metrics(struct http_request *req, void *arg)
{
	struct http_server *s = arg;
	char *text = metrics_render(s->metrics);

	if (!text) {
		http_reply_error(req, 500, "internal", "could not render the metrics");
		return;
	}
	http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text);
	free(text);
}

/* ---- dispatch ---------------------------------------------------------- */

static bool method_matches(const char *route_method, const char *method)
{
	if (strcmp(route_method, method) == 0)
		return true;
	return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

/* Routes @req, or answers it with 404 or 405 and returns false. */
static bool route_request(struct http_server *s, struct http_request *req,
			  const struct segments *segs)
{
	char allow[128] = "";
	size_t allow_len = 0;

	for (size_t i = 0; i < s->n_routes; i++) {
		const struct route *rt = &s->routes[i];
		struct http_params params;
		int r = match_segments(rt->pattern, segs, &params);

		if (r == -ENAMETOOLONG) {
			http_reply_error(req, 400, "invalid_path",
					 "a path parameter is longer than %d bytes",
					 HTTP_PARAM_VALUE_MAX);
			return false;
		}
		if (r < 0)
			continue;
		if (method_matches(rt->method, req->method)) {
			req->route = rt;
			req->params = params;
			return true;
		}
		/* the path exists with another method: collect Allow, once each */
		if (!strstr(allow, rt->method) &&
		    allow_len + strlen(rt->method) + 2 < sizeof(allow)) {
			allow_len += (size_t)snprintf(allow + allow_len, sizeof(allow) - allow_len,
						      "%s%s", allow_len ? ", " : "", rt->method);
		}
	}
	if (allow_len > 0) {
		http_reply_header(req, "Allow", allow);
		http_reply_error(req, 405, "method_not_allowed", "method %s is not allowed here",
				 req->method);
	} else {
		http_reply_error(req, 404, "not_found", "no such resource");
	}
	return false;
}

static void fill_client(struct http_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req->evreq);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (evcon)
		evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(req->client, sizeof(req->client), "%s", addr ? addr : "");
}

static struct conn *conn_find(struct http_server *s, struct evhttp_connection *evcon);
static void on_request_complete(struct evhttp_request *evreq, void *arg);

static void on_request(struct evhttp_request *evreq, void *arg)
{
	struct http_server *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
	const char *raw, *query, *incoming_id;
	struct segments *segs = NULL;
	struct http_request *req;
	struct conn *conn;
	struct evbuffer *in;
	int r;

	/* the request is complete: its handler's time is not ours to bound */
	conn = conn_find(s, evhttp_request_get_connection(evreq));
	if (conn) {
		evtimer_del(conn->deadline);
		evhttp_request_set_on_complete_cb(evreq, on_request_complete, conn);
	}

	req = calloc(1, sizeof(*req));
	if (!req) {
		evhttp_send_error(evreq, 503, NULL);
		return;
	}

	req->server = s;
	req->evreq = evreq;
	req->method = method_name(evhttp_request_get_command(evreq));
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	incoming_id = evhttp_find_header(evhttp_request_get_input_headers(evreq), "X-Request-Id");
	if (http_request_id_valid(incoming_id))
		snprintf(req->id, sizeof(req->id), "%s", incoming_id);
	else
		request_id_generate(req->id);
	fill_client(req);
	req->next = s->in_flight;
	if (s->in_flight)
		s->in_flight->prev = req;
	s->in_flight = req;
	s->n_in_flight++;

	raw = uri ? evhttp_uri_get_path(uri) : NULL;
	req->raw_path = strdup(raw ? raw : "");
	segs = malloc(sizeof(*segs));
	if (!req->raw_path || !segs) {
		http_reply_error(req, 503, "unavailable", "out of memory");
		goto out;
	}
	r = split_path(req->raw_path, segs);
	if (r == -E2BIG) {
		http_reply_error(req, 414, "uri_too_long", "the path is longer than %d bytes",
				 HTTP_PATH_MAX);
		goto out;
	}
	if (r == -EINVAL) {
		http_reply_error(req, 400, "invalid_path",
				 "the path is not valid (percent-encoding, encoded '/', \".\" or "
				 "\"..\")");
		goto out;
	}
	if (r == 0) {
		/* the decoded path: segments joined again, fits in the raw length */
		size_t cap = strlen(req->raw_path) + 1, len = 0;

		req->path = malloc(cap);
		if (!req->path) {
			http_reply_error(req, 503, "unavailable", "out of memory");
			goto out;
		}
		for (size_t i = 0; i < segs->n; i++)
			len += (size_t)snprintf(req->path + len, cap - len, "/%s", segs->seg[i]);
	} else {
		/* deeper than any route: keep the raw text for the handler-less 404 */
		req->path = strdup(req->raw_path);
		segs->n = 0;
	}
	if (!route_request(s, req, segs))
		goto out;
	query = uri ? evhttp_uri_get_query(uri) : NULL;
	if (query && parse_query(req, query) < 0) {
		if (!req->route->lenient_query) {
			http_reply_error(req, 400, "invalid_query",
					 "the query string is not valid");
			goto out;
		}
		for (size_t i = 0; i < 2 * req->n_query; i++)
			free(req->query[i]);
		req->n_query = 0;
		req->query_invalid = true;
	}
	in = evhttp_request_get_input_buffer(evreq);
	if (evbuffer_get_length(in) > s->max_body) {
		http_reply_error(req, 413, "body_too_large",
				 "request body is larger than %zu bytes", s->max_body);
		goto out;
	}
	free(segs);
	segs = NULL;
	req->route->handler(req, req->route->arg);
out:
	free(segs);
}

/* ---- connections ------------------------------------------------------- */

static void set_paused(struct http_server *s, bool pause)
{
	struct evconnlistener *l;

	if (!s->bound || s->paused == pause)
		return;
	l = evhttp_bound_socket_get_listener(s->bound);
	if (pause) {
		evconnlistener_disable(l);
		log_warn(NULL, "%s: %u connections open, not accepting more until one closes",
			 s->service, s->n_conns);
	} else {
		evconnlistener_enable(l);
	}
	s->paused = pause;
}

static struct conn *conn_find(struct http_server *s, struct evhttp_connection *evcon)
{
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

static void conn_free(struct conn *c)
{
	struct http_server *s = c->server;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	event_free(c->deadline);
	free(c);
}

/* Not on evhttp's stack: a timer of ours, and no request is held by a handler. */
static void on_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char *addr = NULL;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(c->evcon, &addr, &port);
	log_info(NULL, "%s: no complete request from %s within the timeout, closing",
		 c->server->service, addr ? addr : "a client");
	evhttp_connection_free(c->evcon); /* calls on_conn_close, which frees c */
}

/* The answer was written: a kept-alive connection has until the deadline for the next one. */
static void on_request_complete(struct evhttp_request *evreq, void *arg)
{
	struct conn *c = arg;

	evtimer_add(c->deadline, &c->server->timeout);
}

static void conn_closed(struct http_server *s)
{
	s->n_conns--;
	metric_dec(s->m_conns);
	if (!s->destroying && s->n_conns < s->max_conns)
		set_paused(s, false);
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	struct http_server *s = c->server;

	conn_free(c);
	conn_closed(s);
}

/* Runs right after accepts: every pending bufferevent now has its connection. */
static void on_new_conns(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;

	for (size_t i = 0; i < s->n_pending; i++) {
		struct bufferevent *bev = s->pending[i];
		bufferevent_event_cb eventcb = NULL;
		void *cbarg = NULL;

		struct conn *c = NULL;

		bufferevent_getcb(bev, NULL, NULL, &eventcb, &cbarg);
		if (eventcb && cbarg) {
			/* evhttp 2.1 passes its connection as the callback argument */
			c = calloc(1, sizeof(*c));
			if (c)
				c->deadline = evtimer_new(s->base, on_conn_deadline, c);
			if (!c || !c->deadline) {
				free(c);
				/* cannot bound it: better no connection than an unbounded one */
				evhttp_connection_free(cbarg);
				conn_closed(s);
			} else {
				c->server = s;
				c->evcon = cbarg;
				c->next = s->conns;
				if (s->conns)
					s->conns->prev = c;
				s->conns = c;
				evhttp_connection_set_closecb(cbarg, on_conn_close, c);
				evtimer_add(c->deadline, &s->timeout);
			}
		} else {
			conn_closed(s); /* evhttp gave up on it already */
		}
		bufferevent_decref(bev);
	}
	s->n_pending = 0;
}

static struct bufferevent *on_new_bev(struct event_base *base, void *arg)
{
	struct http_server *s = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (!bev)
		return NULL;
	if (s->n_pending == s->cap_pending) {
		size_t cap = s->cap_pending ? s->cap_pending * 2 : 16;
		struct bufferevent **p = realloc(s->pending, cap * sizeof(*p));

		if (!p)
			return bev; /* not counted, and never uncounted */
		s->pending = p;
		s->cap_pending = cap;
	}
	bufferevent_incref(bev);
	s->pending[s->n_pending++] = bev;
	s->n_conns++;
	metric_inc(s->m_conns);
	event_active(s->conn_ev, EV_TIMEOUT, 0);
	if (s->n_conns >= s->max_conns)
		set_paused(s, true); /* also ends this accept loop */
	return bev;
}

/* ---- server ------------------------------------------------------------ */

/* "host:port", "[v6]:port" → host and port. */
static int parse_listen(const char *listen, char *host, size_t host_size, uint16_t *ret_port)
{
	const char *colon, *h = listen;
	size_t hlen;
	char *end;
	unsigned long port;

	if (!listen)
		return -EINVAL;
	colon = strrchr(listen, ':');
	if (!colon)
		return -EINVAL;
	hlen = (size_t)(colon - listen);
	if (listen[0] == '[') {
		if (hlen < 2 || listen[hlen - 1] != ']')
			return -EINVAL;
		h = listen + 1;
		hlen -= 2;
	} else if (memchr(listen, ':', hlen)) {
		return -EINVAL; /* a bare IPv6 address needs brackets */
	}
	if (hlen == 0 || hlen >= host_size)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || errno || port > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*ret_port = (uint16_t)port;
	return 0;
}

static uint16_t bound_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static int add_route(struct http_server *s, const char *method, const char *pattern,
		     http_handler_fn handler, void *arg, bool lenient_query)
{
	struct route *rt = &s->routes[s->n_routes];

	if (!method || !handler || !http_route_pattern_valid(pattern))
		return -EINVAL;
	rt->method = strdup(method);
	rt->pattern = strdup(pattern);
	if (!rt->method || !rt->pattern) {
		free(rt->method);
		free(rt->pattern);
		return -ENOMEM;
	}
	rt->handler = handler;
	rt->arg = arg;
	rt->lenient_query = lenient_query;
	s->n_routes++;
	return 0;
}

int http_server_create(struct event_base *base, const struct http_server_options *opts,
		       struct http_server **ret_server)
{
	static const char *const req_labels[] = { "method", "route", "code" };
	static const char *const dur_labels[] = { "route" };
	struct http_server *s = NULL;
	struct sigaction sa;
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port;
	struct timeval tv;
	unsigned timeout_ms;
	size_t max_headers;
	int r;

	if (!base || !opts || (opts->n_routes > 0 && !opts->routes))
		return -EINVAL;
	/* evhttp is given twice the limit as a signed size: keep that far from overflow */
	if (opts->max_body > HTTP_MAX_BODY_LIMIT)
		return -EINVAL;
	r = parse_listen(opts->listen, host, sizeof(host), &port);
	if (r < 0)
		return r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base = base;
	s->service = strdup(opts->service ? opts->service : "http");
	s->max_body = opts->max_body ? opts->max_body : HTTP_MAX_BODY_DEFAULT;
	s->max_conns = opts->max_connections ? opts->max_connections : HTTP_MAX_CONNECTIONS_DEFAULT;
	max_headers = opts->max_headers ? opts->max_headers : HTTP_MAX_HEADERS_DEFAULT;
	timeout_ms = opts->timeout_ms ? opts->timeout_ms : HTTP_TIMEOUT_MS_DEFAULT;
	s->metrics = opts->metrics;
	s->ready = opts->ready;
	s->ready_arg = opts->ready_arg;
	s->routes = calloc(opts->n_routes + 3, sizeof(*s->routes));
	s->http = evhttp_new(base);
	s->conn_ev = event_new(base, -1, 0, on_new_conns, s);
	if (!s->service || !s->routes || !s->http || !s->conn_ev) {
		r = -ENOMEM;
		goto fail;
	}

	r = add_route(s, "GET", "/healthz", handle_healthz, s, false);
	if (r >= 0)
		r = add_route(s, "GET", "/readyz", handle_readyz, s, false);
	if (r >= 0 && s->metrics)
		r = add_route(s, "GET", "/metrics", handle_metrics, s, false);
	for (size_t i = 0; r >= 0 && i < opts->n_routes; i++) {
		const struct http_route *rt = &opts->routes[i];

		r = add_route(s, rt->method, rt->pattern, rt->handler, rt->arg, rt->lenient_query);
	}
	if (r < 0)
		goto fail;

	if (s->metrics) {
		s->m_requests = metrics_counter_vec(s->metrics, "http_requests_total",
						    "HTTP requests answered.", req_labels, 3);
		s->m_duration = metrics_histogram_vec(s->metrics, "http_request_duration_seconds",
						      "Time from a complete request to its answer.",
						      dur_labels, 1, NULL, 0);
		s->m_conns =
			metrics_gauge(s->metrics, "http_connections", "Open HTTP connections.");
		if (!s->m_requests || !s->m_duration || !s->m_conns) {
			r = -EINVAL; /* a clashing definition in the registry */
			goto fail;
		}
	}

	evhttp_set_allowed_methods(s->http, ALLOWED_METHODS);
	/* twice max_body so that a body just above it gets our JSON 413 */
	evhttp_set_max_body_size(s->http, (ev_ssize_t)(s->max_body * 2));
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)max_headers);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evhttp_set_timeout_tv(s->http, &tv);
	s->timeout = tv;
	evhttp_set_gencb(s->http, on_request, s);
	evhttp_set_bevcb(s->http, on_new_bev, s);

	errno = 0;
	s->bound = evhttp_bind_socket_with_handle(s->http, host, port);
	if (!s->bound) {
		r = errno ? -errno : -EADDRNOTAVAIL;
		goto fail;
	}
	s->port = bound_port(s->bound);

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	*ret_server = s;
	return 0;
fail:
	http_server_destroy(s);
	return r;
}

static void call_done(struct http_server *s)
{
	http_done_fn done = s->done;

	if (!done)
		return;
	s->done = NULL;
	if (s->deadline_ev)
		event_del(s->deadline_ev);
	done(s->done_arg); /* may destroy s */
}

/* Bytes of answers still waiting in the connections' output buffers. */
static size_t unsent(const struct http_server *s)
{
	size_t n = 0;

	for (const struct conn *c = s->conns; c; c = c->next) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);

		if (bev)
			n += evbuffer_get_length(bufferevent_get_output(bev));
	}
	return n;
}

/*
 * Nothing in flight: the drain is over once the last answers left their
 * buffers too (else the process would exit before they are sent); checked
 * every 10 ms, the deadline still applies.
 */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;
	struct timeval tick = { 0, 10000 };

	if (s->n_in_flight > 0)
		return; /* a request came in meanwhile: maybe_done fires again */
	if (unsent(s) > 0 && event_add(s->done_ev, &tick) == 0)
		return;
	call_done(s);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;

	log_warn(NULL,
		 "%s: shutdown deadline reached with %zu requests in flight, giving up on them",
		 s->service, s->n_in_flight);
	call_done(s);
}

static void maybe_done(struct http_server *s)
{
	/* never from here: we may be deep inside a handler */
	if (s->shutting_down && s->n_in_flight == 0 && s->done && s->done_ev)
		event_active(s->done_ev, EV_TIMEOUT, 0);
}

void http_server_shutdown(struct http_server *s, unsigned deadline_ms, http_done_fn done, void *arg)
{
	struct timeval tv = { .tv_sec = deadline_ms / 1000,
			      .tv_usec = (deadline_ms % 1000) * 1000 };

	if (!s || s->shutting_down)
		return;
	s->shutting_down = true;
	s->done = done;
	s->done_arg = arg;
	if (s->bound) {
		evhttp_del_accept_socket(s->http, s->bound);
		s->bound = NULL;
		s->paused = false;
	}
	s->done_ev = evtimer_new(s->base, on_done, s);
	s->deadline_ev = evtimer_new(s->base, on_deadline, s);
	if (!s->done_ev || !s->deadline_ev) {
		/* cannot wait without events: finish as soon as the loop runs */
		log_error(NULL, "could not arm the shutdown events, not waiting for requests");
		if (s->done_ev)
			event_active(s->done_ev, EV_TIMEOUT, 0);
		else if (s->deadline_ev)
			event_active(s->deadline_ev, EV_TIMEOUT, 0);
		return;
	}
	evtimer_add(s->deadline_ev, &tv);
	maybe_done(s);
}

uint16_t http_server_port(const struct http_server *s)
{
	return s && s->bound ? s->port : 0;
}

size_t http_server_in_flight(const struct http_server *s)
{
	return s ? s->n_in_flight : 0;
}

void http_server_destroy(struct http_server *s)
{
	struct http_request *req, *next;

	if (!s)
		return;
	s->destroying = true;
	/* orphan what is still in flight: evhttp_free() frees their evhttp requests */
	for (req = s->in_flight; req; req = next) {
		next = req->next;
		if (req->evreq && !evhttp_request_get_connection(req->evreq))
			evhttp_request_free(req->evreq); /* already detached from its client */
		req->evreq = NULL;
		req->server = NULL;
		req->route = NULL;
		req->prev = req->next = NULL;
	}
	s->in_flight = NULL;
	s->n_in_flight = 0;
	if (s->http)
		evhttp_free(s->http); /* calls on_conn_close for every connection */
	while (s->conns)
		conn_free(s->conns); /* none left, unless evhttp skipped a close callback */
	for (size_t i = 0; i < s->n_pending; i++)
		bufferevent_decref(s->pending[i]);
	free(s->pending);
	if (s->conn_ev)
		event_free(s->conn_ev);
	if (s->done_ev)
		event_free(s->done_ev);
	if (s->deadline_ev)
		event_free(s->deadline_ev);
	if (s->routes)
		for (size_t i = 0; i < s->n_routes; i++) {
			free(s->routes[i].method);
			free(s->routes[i].pattern);
		}
	free(s->routes);
	free(s->service);
	free(s);
}

/* ---- signals ----------------------------------------------------------- */

struct http_signals {
	struct event *term; /* owned */
	struct event *intr; /* owned */
	http_signal_fn fn;
	void *arg;
	bool fired;
};

static void on_signal(evutil_socket_t signo, short what, void *arg)
{
	struct http_signals *sig = arg;

	if (sig->fired) {
		log_info(NULL, "got signal %d again, already shutting down", (int)signo);
		return;
	}
	sig->fired = true;
	log_info(NULL, "got signal %d, shutting down", (int)signo);
	sig->fn((int)signo, sig->arg);
}

struct http_signals *http_signals_create(struct event_base *base, http_signal_fn fn, void *arg)
{
	struct http_signals *sig = calloc(1, sizeof(*sig));

	if (!sig)
		return NULL;
	sig->fn = fn;
	sig->arg = arg;
	sig->term = evsignal_new(base, SIGTERM, on_signal, sig);
	sig->intr = evsignal_new(base, SIGINT, on_signal, sig);
	if (!sig->term || !sig->intr || evsignal_add(sig->term, NULL) < 0 ||
	    evsignal_add(sig->intr, NULL) < 0) {
		http_signals_destroy(sig);
		return NULL;
	}
	return sig;
}

void http_signals_destroy(struct http_signals *sig)
{
	if (!sig)
		return;
	if (sig->term)
		event_free(sig->term);
	if (sig->intr)
		event_free(sig->intr);
	free(sig);
}

/* ---- JSON request bodies ------------------------------------------------ */

static const char *type_word(json_type t)
{
	switch (t) {
	case JSON_TRUE:
		return "a boolean";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	default:
		return "a value";
	}
}

/*
 * Checks that @obj is an object with only the listed members, of the listed
 * types, the required ones present. Returns 0, or writes the answer's code
 * and message and returns -EINVAL.
 */
int http_json_fields_check(json_t *obj, const struct http_field *f, size_t n, const char *where,
			   const char **ret_code, char *msg, size_t size)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		*ret_code = "invalid_field";
		snprintf(msg, size, "%s must be a JSON object", where);
		return -EINVAL;
	}
	json_object_foreach(obj, key, v)
	{
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(f[i].name, key) == 0)
				break;
		if (i == n) {
			*ret_code = "unknown_field";
			snprintf(msg, size, "unknown field \"%.64s\" in %s", key, where);
			return -EINVAL;
		}
		if (json_typeof(v) != f[i].type &&
		    !(f[i].type == JSON_TRUE && json_typeof(v) == JSON_FALSE)) {
			*ret_code = "invalid_field";
			snprintf(msg, size, "\"%s\" in %s must be %s", f[i].name, where,
				 type_word(f[i].type));
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].required && !json_object_get(obj, f[i].name)) {
			*ret_code = "invalid_field";
			snprintf(msg, size, "\"%s\" is missing in %s", f[i].name, where);
			return -EINVAL;
		}
	return 0;
}

/* ---- who is asking ------------------------------------------------------- */

void http_request_client_addr(const struct http_request *req, const struct netaddr_list *trusted,
			      char out[INET6_ADDRSTRLEN])
{
	char xff[1024];

	http_request_header_join(req, "X-Forwarded-For", xff, sizeof(xff));
	if (netaddr_client(http_request_client(req), xff[0] ? xff : NULL, trusted, out) < 0)
		snprintf(out, INET6_ADDRSTRLEN, "%s", http_request_client(req));
}

void http_request_user_agent(const struct http_request *req, char *out, size_t size)
{
	const char *in = http_request_header(req, "User-Agent");
	size_t n = 0;

	if (size == 0)
		return;
	for (; in && *in && n + 1 < size; in++)
		out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[n] = '\0';
}

int http_request_json_fields(struct http_request *req, const struct http_field *f, size_t n,
			     json_t **ret_doc)
{
	const char *code;
	char msg[200];
	int r;

	r = http_request_json(req, ret_doc);
	if (r < 0)
		return r;
	if (http_json_fields_check(*ret_doc, f, n, "the body", &code, msg, sizeof(msg)) < 0) {
		http_reply_error(req, 400, code, "%s", msg);
		return -EINVAL;
	}
	return 0;
}

void http_reply_db_error(struct http_request *req, const struct db_error *err)
{
	const char *s = err->sqlstate;

	if (s[0] == '4' && s[1] == '0') /* deadlock, serialization failure: retry */
		return http_reply_error(req, 503, "unavailable", "the service is busy, try again");
	if (err->code == -EIO) {
		log_error(http_request_id(req), "database error: %s", err->msg);
		return http_reply_error(req, 500, "internal", "internal error");
	}
	log_warn(http_request_id(req), "database unavailable: %s", err->msg);
	http_reply_error(req, 503, "unavailable", "the service is unavailable, try again");
}
