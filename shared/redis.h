#pragma once

/*
 * Redis: URL parsing, a synchronous connection (for tools, startup checks and
 * tests) and an asynchronous client on a libevent event_base that reconnects
 * on its own.
 *
 * Built on hiredis 0.14 (Debian 12), which has neither TLS nor async
 * timeouts: rediss:// is rejected, and the client times out pending commands
 * itself.
 *
 * The asynchronous client, in short:
 *
 * - It connects in the background: TCP (or unix socket) connect, AUTH
 *   (username + password, or password), then SELECT db (or PING for db 0).
 *   The client is "connected" only once that handshake succeeded; then
 *   on_connect runs. connect_timeout_ms covers the whole handshake.
 * - Whenever the connection drops, or connect/AUTH/SELECT fails or times out,
 *   it waits and tries again, with exponential backoff and jitter: a delay
 *   drawn from [d/2, d], d doubling from backoff_min_ms to backoff_max_ms and
 *   reset after a successful handshake. A failure is logged once per state
 *   change (and again only when its reason changes); retries that fail the
 *   same way are logged at debug level. The password is never logged.
 * - Commands are only accepted while connected; otherwise they fail at once
 *   with -ENOTCONN (callers decide whether to queue or to answer "try later").
 * - Every accepted command completes exactly once: its callback runs with the
 *   reply, or with NULL and a reason ("timeout", "connection lost: ...",
 *   "client destroyed"). A REDIS_REPLY_ERROR reply is a reply: the caller
 *   decides what it means.
 * - Each command has a timeout (libevent timer). Replies arrive in order, so
 *   a command that timed out means the connection is stuck or slow, and every
 *   later reply on it would be late too: after a timeout the client drops the
 *   connection (which completes the connection's other pending commands with
 *   "connection lost: ...") and reconnects. The late reply, if it ever comes,
 *   is discarded and never reaches a callback.
 * - At most max_pending commands wait for replies; beyond that, -ENOBUFS.
 * - Pub/sub: redis_client_subscribe() makes the client a subscriber. The
 *   subscriptions are sent again after every reconnect, before on_connect.
 *   A subscriber client accepts no other commands (-EBUSY): use a second
 *   client for commands. Messages published while the client is
 *   reconnecting are lost (Redis pub/sub is fire-and-forget), so on_connect
 *   is the place to resynchronise. A subscriber sends no commands, hence has
 *   no command timeouts: a dead peer is detected by TCP keepalive (hiredis
 *   default, 15 s) or when the server closes the connection.
 * - Never frees a hiredis context from inside a hiredis callback: a dropped
 *   connection is detached at once (it delivers nothing more) and freed by a
 *   zero-delay event on the next turn of the loop.
 *
 * - hiredis resolves a host name with a blocking getaddrinfo() at each
 *   connect attempt: prefer an IP address or a name from /etc/hosts.
 *
 * Threading: a client belongs to the thread running its event_base.
 */

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

struct event_base;

/* Largest db index a URL may name; the server's "databases" setting decides
 * what SELECT really accepts (16 by default). */
#define REDIS_URL_DB_MAX   1023
#define REDIS_DEFAULT_PORT 6379

struct redis_url {
	char *host;     /* owned; NULL for a unix socket; IPv6 without brackets */
	int port;       /* 1..65535; 0 for a unix socket */
	char *path;     /* owned; unix socket path, NULL for TCP */
	int db;         /* 0..REDIS_URL_DB_MAX */
	char *username; /* owned; NULL when none (password-only AUTH, or no AUTH) */
	char *password; /* owned; NULL when none; never log it */
};

/*
 * Parses
 *   redis://[[user]:password@]host[:port][/db]
 *   unix:///path/to.sock[?db=N&password=...&username=...]
 * Host is a name, an IPv4 address or an IPv6 address in brackets; user,
 * password, path and query values are percent-decoded. Default port 6379,
 * db 0. rediss:// (TLS) is rejected: hiredis 0.14 has no TLS.
 *
 * Returns 0 and fills *ret_url (free with redis_url_finish()), or -EINVAL and
 * sets *ret_reason (if not NULL) to a static, lower-case reason, or -ENOMEM.
 * *ret_url is untouched on failure.
 */
int redis_url_parse(const char *url, struct redis_url *ret_url, const char **ret_reason);
/* Frees the strings and zeroes @url. NULL-safe. */
void redis_url_finish(struct redis_url *url);
/* Deep copy into *ret_url; -ENOMEM, *ret_url untouched on failure. */
int redis_url_copy(const struct redis_url *url, struct redis_url *ret_url);
/*
 * A printable form for logs, with the password replaced by "***":
 * "redis://127.0.0.1:6379/0", "redis://alice:***@[::1]:6380/2",
 * "unix:///run/redis.sock?db=1". Always NUL-terminated (when @size > 0),
 * cut if @buf is too small.
 */
void redis_url_redacted(const struct redis_url *url, char *buf, size_t size);

/*
 * Connects synchronously: connect with a timeout, AUTH, SELECT (or PING), and
 * sets @timeout_ms (> 0) as the timeout of every later command on the context.
 * Returns 0 and *ret_ctx (owned by the caller: redisFree()), or
 * -EINVAL (bad argument; SELECT refused), -ECONNREFUSED, -ETIMEDOUT, -ENOENT,
 * -EACCES (AUTH refused), -EIO (other I/O or protocol errors), -ENOMEM, with a
 * message in @err (lower case, password-free, e.g. "could not connect to
 * redis://127.0.0.1:6379/0: Connection refused").
 */
int redis_connect_sync(const struct redis_url *url, int timeout_ms, redisContext **ret_ctx,
		       char *err, size_t errlen);

struct redis_client;

struct redis_client_opts {
	int connect_timeout_ms; /* connect + AUTH + SELECT; 0: 2000 */
	int command_timeout_ms; /* default per command; 0: 1000 */
	int backoff_min_ms;     /* first reconnect delay; 0: 100 */
	int backoff_max_ms;     /* largest reconnect delay; 0: 5000 */
	int max_pending;        /* commands waiting for a reply; 0: 10000 */
	/* Called after every successful handshake (and after the subscriptions
	 * were sent again). May send commands; may destroy the client. */
	void (*on_connect)(struct redis_client *c, void *arg);
	/* Called when a connection that was up is lost, after its pending
	 * commands were failed. May destroy the client. */
	void (*on_disconnect)(struct redis_client *c, void *arg);
	void *arg;        /* borrowed; passed to on_connect/on_disconnect */
	const char *name; /* copied; names the client in logs; NULL: "redis" */
};

/*
 * Creates a client and starts connecting on the next turn of the loop.
 * @base is borrowed and must outlive the client; @url and @opts (NULL: all
 * defaults) are copied. Returns NULL with errno set (EINVAL, ENOMEM).
 */
struct redis_client *redis_client_create(struct event_base *base, const struct redis_url *url,
					 const struct redis_client_opts *opts);

/*
 * The same from a URL in text, named @name (copied; overrides opts->name):
 * for a daemon's startup. Logs why and returns NULL on an invalid URL or
 * failure; the URL's password is never logged.
 */
struct redis_client *redis_client_open(struct event_base *base, const char *url, const char *name,
				       const struct redis_client_opts *opts);
/*
 * Completes every pending command (callback with NULL, "client destroyed")
 * exactly once, before it returns, and frees the client. NULL-safe. May be
 * called from any of the client's callbacks: the memory is then released when
 * that callback returns, and the hiredis context on the next turn of the loop
 * (so keep running the loop a turn before freeing @base; otherwise it leaks).
 */
void redis_client_destroy(struct redis_client *c);
/* True once the handshake succeeded and until the connection is lost. */
bool redis_client_connected(const struct redis_client *c);
/* The event_base the client runs on (borrowed), for modules layered on the
 * client that need timers or deferred callbacks of their own. */
struct event_base *redis_client_base(const struct redis_client *c);

/*
 * The result of one command. @reply is borrowed (freed when the callback
 * returns) and NULL on failure, in which case @err says why ("timeout",
 * "connection lost: ...", "client destroyed"); @err is borrowed and NULL when
 * @reply is not. @reply may be of type REDIS_REPLY_ERROR.
 */
typedef void (*redis_reply_fn)(redisReply *reply, const char *err, void *arg);

/*
 * Sends one command in argv form (binary safe; @argvlen NULL: strlen).
 * @timeout_ms: 0 for the client's default. Returns 0 and later calls @cb
 * (may be NULL) exactly once; or fails at once without calling @cb:
 * -ENOTCONN (not connected), -ENOBUFS (max_pending reached), -EBUSY (the
 * client is a subscriber), -EINVAL (bad argument; commands that change the
 * connection's state behind the client's back: SELECT, (P|S)SUBSCRIBE,
 * (P|S)UNSUBSCRIBE, MONITOR, HELLO, RESET), -ENOMEM.
 */
int redis_client_commandv(struct redis_client *c, int timeout_ms, redis_reply_fn cb, void *arg,
			  int argc, const char **argv, const size_t *argvlen);
/* Same, with a hiredis format ("SET %s %b", key, val, len). */
int redis_client_command(struct redis_client *c, int timeout_ms, redis_reply_fn cb, void *arg,
			 const char *fmt, ...);

/*
 * Called for every message published on a subscribed channel; @channel and
 * @msg (binary, @len bytes) are borrowed for the duration of the call.
 */
typedef void (*redis_message_fn)(struct redis_client *c, const char *channel, const char *msg,
				 size_t len, void *arg);

/*
 * Subscribes to @channel (copied) now if connected and again after every
 * reconnect; @cb runs for every message until the client is destroyed.
 * Returns 0, -EEXIST (already subscribed), -EBUSY (commands are pending: a
 * client is either a command client or a subscriber), -EINVAL, -ENOMEM.
 */
int redis_client_subscribe(struct redis_client *c, const char *channel, redis_message_fn cb,
			   void *arg);
