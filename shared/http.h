#pragma once

/*
 * A small HTTP/1.1 server layer on libevent 2.1's evhttp, shared by every
 * daemon: a route table with {param} segments, JSON in and out, request ids,
 * access logs, Prometheus metrics, /healthz, /readyz, /metrics, bounds on
 * everything a client controls, and graceful shutdown.
 *
 * Threads: a server lives on one event_base and every function here runs on
 * that event_base's thread.
 *
 * The reply contract. A handler receives a request and must end it with
 * exactly one call of http_reply_json(), http_reply_error() or
 * http_reply_text() (or a failing http_request_json(), which replies itself),
 * either before it returns or later, e.g. from a database callback. That
 * call sends the answer, writes the access log line, records the metrics and
 * frees the request: the handler must not touch the request afterwards. Until
 * then the request stays valid, whatever the client does: if the client has
 * gone, the reply is simply dropped by evhttp. If the server is destroyed
 * first, pending requests become orphans: accessors return NULL and the one
 * reply only frees them. A request that is never answered is a leak, and
 * holds up a graceful shutdown until its deadline.
 *
 * Errors are JSON: {"error": "<message for people>", "code": "<stable code>"}.
 * Every answer carries X-Request-Id, X-Content-Type-Options: nosniff and
 * Cache-Control: no-store.
 *
 * Limits (see the constants below) and how they are answered:
 * - body: above max_body, 413 body_too_large (JSON). evhttp itself cuts off
 *   bodies above twice max_body (or with such a Content-Length) with its own
 *   413 (HTML body) and closes the connection, so memory stays bounded;
 * - headers: above max_headers, evhttp answers on its own (HTML body) and
 *   closes the connection;
 * - path: above HTTP_PATH_MAX bytes, 414 uri_too_long; bad percent-encoding,
 *   an encoded '/' or NUL, a "." or ".." segment: 400 invalid_path; a {param}
 *   longer than HTTP_PARAM_VALUE_MAX: 400 invalid_path; more than
 *   HTTP_QUERY_MAX query parameters or an encoded NUL in one: 400
 *   invalid_query, unless the route is lenient_query (then its handler
 *   decides); the query is otherwise parsed leniently: "flag" without "="
 *   reads as "", invalid escapes stay as they are;
 * - methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS reach the router
 *   (others get evhttp's 501); HEAD is served by GET routes, without body;
 * - connections: at most max_connections open at once; beyond that the
 *   server stops accepting (the listening socket is disabled) until one
 *   closes, so further clients wait in the kernel's backlog rather than
 *   being served badly. libevent 2.1.12 has no evhttp_set_max_connections;
 *   connections are counted here;
 * - timeouts: timeout_ms applies to reading a request and writing an answer
 *   (evhttp_set_timeout_tv) and to idle keep-alive connections; it is also
 *   the deadline for receiving a whole request, from the accept or the end
 *   of the previous answer, so a client trickling bytes cannot hold a
 *   connection. A handler's own work is not timed: handlers bound their
 *   database calls.
 */

#include "shared/netaddr.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct metrics_registry;

#define HTTP_MAX_BODY_DEFAULT        (64 * 1024)
#define HTTP_MAX_BODY_LIMIT          (64u * 1024 * 1024) /* largest max_body accepted */
#define HTTP_MAX_HEADERS_DEFAULT     (8 * 1024)
#define HTTP_TIMEOUT_MS_DEFAULT      30000
#define HTTP_MAX_CONNECTIONS_DEFAULT 1024
#define HTTP_PATH_MAX                2048 /* bytes of the raw path */
#define HTTP_SEGMENTS_MAX            32   /* path segments */
#define HTTP_PARAMS_MAX              8    /* {param} segments in a pattern */
#define HTTP_PARAM_NAME_MAX          31
#define HTTP_PARAM_VALUE_MAX         255 /* bytes, after percent-decoding */
#define HTTP_REQUEST_ID_MAX          64
#define HTTP_QUERY_MAX               64 /* query parameters */

/* The {param} values of a matched route, percent-decoded. */
struct http_params {
	size_t n;
	struct {
		char name[HTTP_PARAM_NAME_MAX + 1];
		char value[HTTP_PARAM_VALUE_MAX + 1];
	} items[HTTP_PARAMS_MAX];
};

/*
 * Matches @path, the raw path of a request (percent-encoded, without the
 * query string), against @pattern, e.g. "/api/v1/domains/{name}/rrsets".
 * Segments are compared one by one after percent-decoding; a {param} matches
 * one whole non-empty segment. Matching is exact: "/a/" does not match "/a"
 * (no trailing-slash folding), "//" is an empty segment.
 *
 * Returns 0 and fills @ret_params (may be NULL) on a match; -ENOENT when the
 * path does not match; -EINVAL when the path is not acceptable whatever the
 * pattern (see the limits above: bad percent-encoding, encoded '/' or NUL,
 * "." or "..", not starting with '/'); -ENAMETOOLONG when the path matches
 * but a parameter is longer than HTTP_PARAM_VALUE_MAX; -E2BIG when the path
 * is longer than HTTP_PATH_MAX. @ret_params is untouched on failure.
 */
int http_route_match(const char *pattern, const char *path, struct http_params *ret_params);

/* "/" followed by literal or {name} segments, at most HTTP_PARAMS_MAX names. */
bool http_route_pattern_valid(const char *pattern);

/* Is @id acceptable as an incoming X-Request-Id: 1-64 of [A-Za-z0-9._-]? */
bool http_request_id_valid(const char *id);

struct http_request;

/* A route handler; see the reply contract above. */
typedef void (*http_handler_fn)(struct http_request *req, void *arg);

struct http_route {
	const char *method;  /* "GET", "POST", ...; copied */
	const char *pattern; /* copied; see http_route_match() */
	http_handler_fn handler;
	void *arg; /* borrowed */
	/* A malformed query string is not answered 400 invalid_query: the handler
	 * runs with no query parameters and http_request_query_valid() false
	 * (for protocols that must answer in their own words). */
	bool lenient_query;
};

/*
 * Readiness: fill @checks (borrowed; e.g. {"postgres": "ok"}) and return
 * whether the daemon is ready. Called on the loop thread for each GET /readyz.
 */
typedef bool (*http_ready_fn)(json_t *checks, void *arg);

struct http_server_options {
	const char *service;      /* for log lines; copied; NULL: "http" */
	const char *listen;       /* "127.0.0.1:8080", "[::1]:8080", port 0 picks one */
	size_t max_body;          /* bytes; 0: HTTP_MAX_BODY_DEFAULT */
	size_t max_headers;       /* bytes; 0: HTTP_MAX_HEADERS_DEFAULT */
	unsigned timeout_ms;      /* 0: HTTP_TIMEOUT_MS_DEFAULT */
	unsigned max_connections; /* 0: HTTP_MAX_CONNECTIONS_DEFAULT */
	/*
	 * Tried in order after the built-in /healthz, /readyz and /metrics:
	 * the first route whose method and pattern match wins. Copied.
	 */
	const struct http_route *routes;
	size_t n_routes;
	/*
	 * Borrowed, may be NULL (then no /metrics route). Records
	 * http_requests_total{method,route,code} and
	 * http_request_duration_seconds{route}; route is the pattern
	 * ("unmatched" when none matched), so cardinality stays bounded.
	 */
	struct metrics_registry *metrics;
	http_ready_fn ready; /* NULL: always ready */
	void *ready_arg;
};

struct http_server;

/*
 * Creates a server listening on opts->listen on @base (borrowed). Returns 0,
 * or -EINVAL (bad options or route), -EADDRINUSE and friends (could not
 * listen), -ENOMEM. Sets SIGPIPE to be ignored if it is at its default
 * action: writing to a socket the peer has closed must not end the process.
 */
int http_server_create(struct event_base *base, const struct http_server_options *opts,
		       struct http_server **ret_server);

/*
 * Closes the listening socket and every connection, now; requests still in
 * flight become orphans (see above). NULL-safe. Call it from the loop, not
 * from inside a handler; the shutdown done callback is fine.
 */
void http_server_destroy(struct http_server *server);

/* The port the server listens on (the real one when asked for port 0); 0 after shutdown. */
uint16_t http_server_port(const struct http_server *server);

/* Requests handed to handlers and not answered yet. */
size_t http_server_in_flight(const struct http_server *server);

typedef void (*http_done_fn)(void *arg);

/*
 * Graceful shutdown: stops accepting at once (the listening socket is
 * closed), answers requests that still arrive on open connections with
 * "Connection: close", and calls @done (from the loop, never from inside
 * this call or a reply) once no request is in flight, or when @deadline_ms
 * has passed, whichever comes first. @done is called once; it may destroy
 * the server. A second call does nothing.
 */
void http_server_shutdown(struct http_server *server, unsigned deadline_ms, http_done_fn done,
			  void *arg);

/* Accessors; strings are borrowed and live as long as the request. */
const char *http_request_method(const struct http_request *req); /* "GET" */
/* The decoded path, without query string. */
const char *http_request_path(const struct http_request *req);
/* The matched pattern; NULL for an orphan. */
const char *http_request_route(const struct http_request *req);
/* A {param} value (decoded), or NULL. */
const char *http_request_param(const struct http_request *req, const char *name);
/* A query parameter (decoded, '+' as space; the first if repeated; "" for a
 * bare "flag"), or NULL. */
const char *http_request_query(const struct http_request *req, const char *name);
/* False when the query string was malformed (only a lenient_query route sees that). */
bool http_request_query_valid(const struct http_request *req);
/*
 * For a body of type application/x-www-form-urlencoded (any case, parameters
 * allowed): adds its pairs after the query's, so http_request_query() finds
 * them too (the query's first). Returns 0 (also when the body is of another
 * type or empty), -EINVAL (malformed, or too many pairs), -ENOMEM.
 */
int http_request_form(struct http_request *req);
/* A request header (case-insensitive name), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/*
 * Every value of header @name (case-insensitive), in order, joined with
 * ", " into @buf (the form RFC 9110 gives several lines of a list header);
 * "" when there is none. Returns the joined length, or -EMSGSIZE (and ""
 * in @buf) when it does not fit.
 */
int http_request_header_join(const struct http_request *req, const char *name, char *buf,
			     size_t size);
/* "127.0.0.1", "::1". */
const char *http_request_client(const struct http_request *req);
/*
 * The client's address into @out: the peer, or when the peer is one of
 * @trusted (proxies), the rightmost address of X-Forwarded-For (all its
 * lines joined) that is not trusted (see netaddr_client).
 */
void http_request_client_addr(const struct http_request *req, const struct netaddr_list *trusted,
			      char out[INET6_ADDRSTRLEN]);
/* The User-Agent (or "") as printable ASCII, other bytes as '?', cut to @size. */
void http_request_user_agent(const struct http_request *req, char *out, size_t size);
/* The request id (incoming X-Request-Id if valid, else 32 random hex digits). */
const char *http_request_id(const struct http_request *req);
/* The raw body and its length (at most max_body); "" and 0 when none. */
const char *http_request_body(struct http_request *req, size_t *ret_len);

/*
 * Parses the body as a JSON object or array. Returns 0 and a new reference
 * in @ret_doc; or replies itself and returns a negative errno, after which
 * @req is gone and the handler just returns:
 *   no body                           400 missing_body      -ENODATA
 *   Content-Type not application/json 415 unsupported_media_type -EPROTO
 *   (parameters such as "; charset=utf-8" allowed, any case)
 *   not JSON, duplicate keys          400 invalid_json      -EINVAL
 */
int http_request_json(struct http_request *req, json_t **ret_doc);

/*
 * Adds a response header (e.g. Location, Retry-After) before the reply.
 * Returns -EINVAL (and adds nothing) unless @name is an HTTP token and
 * @value is free of control bytes other than HTAB (CR, LF, DEL, ...).
 */
int http_reply_header(struct http_request *req, const char *name, const char *value);

/* Replies @body (stolen; NULL: empty body) as application/json and frees @req. */
void http_reply_json(struct http_request *req, int status, json_t *body);
/*
 * Replies {"error": <formatted message>, "code": @code} and frees @req. The
 * message is for people and may quote user input; @code is for programs.
 */
void http_reply_error(struct http_request *req, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
struct db_error;
/*
 * The answer to a database error no caller-specific rule took: a deadlock or
 * serialization failure (SQLSTATE class 40) is 503 "unavailable" (try
 * again); any other server error is logged and 500 "internal"; a connection
 * that failed or timed out is logged and 503 "unavailable". Frees @req.
 */
void http_reply_db_error(struct http_request *req, const struct db_error *err);

/* Replies @text (borrowed, copied) with @content_type and frees @req. */
void http_reply_text(struct http_request *req, int status, const char *content_type,
		     const char *text);

/*
 * SIGTERM and SIGINT for a daemon's main loop: the first one calls @fn once
 * (typically http_server_shutdown() and event_base_loopexit()); later ones
 * are logged and ignored. Returns NULL when out of memory.
 */
typedef void (*http_signal_fn)(int signo, void *arg);
struct http_signals;
struct http_signals *http_signals_create(struct event_base *base, http_signal_fn fn, void *arg);
void http_signals_destroy(struct http_signals *sig); /* NULL-safe */

/* A member a JSON request body may have (see http_json_fields_check). */
struct http_field {
	const char *name;
	json_type
		type; /* JSON_INTEGER, JSON_STRING, JSON_ARRAY, JSON_OBJECT; JSON_TRUE: a boolean */
	bool required;
};

/*
 * Checks that @obj is an object with only the listed members, of the listed
 * types, the required ones present. Returns 0, or sets *ret_code
 * ("invalid_field", "unknown_field") and a message naming @where ("the
 * body") in @msg, and returns -EINVAL. Pure.
 */
int http_json_fields_check(json_t *obj, const struct http_field *f, size_t n, const char *where,
			   const char **ret_code, char *msg, size_t size);

/*
 * http_request_json() and then http_json_fields_check() of the body's
 * members, answering 400 with the check's code on failure. Returns 0, or a
 * negative errno after replying (@req is gone). *ret_doc is set whenever the
 * body parsed, also when its members were refused: the caller owns it (and
 * may wipe secrets in it before freeing it).
 */
int http_request_json_fields(struct http_request *req, const struct http_field *f, size_t n,
			     json_t **ret_doc);
