#pragma once

/*
 * The remote-backend socket: a unix socket, one JSON request per line and
 * exactly one reply line each, many concurrent connections (pdns opens one
 * per distributor thread plus short-lived ones), no pipelining expected (a
 * second line waits for the first reply).
 *
 * Bounds: a line longer than max_line bytes is answered with an error and
 * the connection is closed (pdns reconnects); at most max_connections are
 * open, further ones are closed at once; every request has a deadline
 * (deadline_ms) after which it is answered with an error (or, for a lookup,
 * a stale answer) whatever its stores do.
 */

#include "backend/source.h"
#include "backend/stats.h"

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct server;

struct server_opts {
	const char *socket_path; /* borrowed; NULL: no listener (tests adopt sockets) */
	unsigned socket_mode;    /* e.g. 0660 */
	size_t max_line;         /* bytes of a request line without its newline */
	unsigned max_connections;
	long long deadline_ms;        /* per request */
	const struct source_ops *ops; /* borrowed */
	void *ctx;                    /* borrowed; passed to @ops */
	struct backend_stats *stats;  /* borrowed; may be NULL */
};

/*
 * Creates the server on @base (borrowed) and, with a socket path, listens:
 * a stale socket file left by a dead process is removed first, but a socket
 * some live process answers on is not (-EADDRINUSE). Returns 0, -EINVAL,
 * -EADDRINUSE, -ENAMETOOLONG, other negative errnos of socket calls, -ENOMEM.
 */
int server_create(struct event_base *base, const struct server_opts *opts,
		  struct server **ret_server);

/* Serves the connected socket @fd (taken over, closed by the server). 0 or -errno. */
int server_adopt(struct server *srv, int fd);

/* Changes the per-request deadline (reloadable). */
void server_set_deadline(struct server *srv, long long deadline_ms);

/*
 * Graceful shutdown: stops accepting (removes the socket file), closes idle
 * connections, answers requests in flight and then closes their
 * connections; calls @done from the loop once none is left. NULL @done is fine.
 */
void server_shutdown(struct server *srv, void (*done)(void *arg), void *arg);

/* Closes everything now (in-flight requests are abandoned); NULL-safe. */
void server_destroy(struct server *srv);

unsigned server_n_connections(const struct server *srv);
