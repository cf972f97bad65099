#include "shared/redis.h"

#include "shared/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/un.h>

#include <event2/event.h>
#include <hiredis/async.h>

/* ---- URLs ---------------------------------------------------------------- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decodes @len bytes of @s into a new string (*ret, owned). %00 is refused. */
static int pct_decode(const char *s, size_t len, char **ret)
{
	char *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (len - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0 ||
		    (s[i + 1] == '0' && s[i + 2] == '0')) {
			free(out);
			return -EINVAL;
		}
		out[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		i += 2;
	}
	out[n] = '\0';
	*ret = out;
	return 0;
}

/* A decimal number of @len digits, no sign, no spaces, at most @max. */
static int parse_uint(const char *s, size_t len, unsigned long max, unsigned long *ret)
{
	unsigned long v = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool host_char_ok(char ch)
{
	return isalnum((unsigned char)ch) || ch == '.' || ch == '-' || ch == '_';
}

/* [user]:password, percent-encoded; @len bytes. */
static int parse_userinfo(const char *s, size_t len, struct redis_url *u, const char **reason)
{
	const char *colon = memchr(s, ':', len);
	int r;

	if (!colon) {
		*reason = "user name without password: write user:password@ or :password@";
		return -EINVAL;
	}
	if (colon == s + len - 1) {
		*reason = "empty password";
		return -EINVAL;
	}
	if (colon > s) {
		r = pct_decode(s, (size_t)(colon - s), &u->username);
		if (r < 0) {
			*reason = "bad percent-encoding in user name";
			return r;
		}
	}
	r = pct_decode(colon + 1, (size_t)(s + len - colon - 1), &u->password);
	if (r < 0)
		*reason = "bad percent-encoding in password";
	return r;
}

/* host[:port] or [v6][:port]; @len bytes. */
static int parse_hostport(const char *s, size_t len, struct redis_url *u, const char **reason)
{
	const char *host = s, *port = NULL, *end = s + len;
	size_t hostlen;
	unsigned long v;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		struct in6_addr a6;
		char tmp[INET6_ADDRSTRLEN];

		if (!close) {
			*reason = "missing ']' after IPv6 address";
			return -EINVAL;
		}
		host = s + 1;
		hostlen = (size_t)(close - host);
		if (hostlen == 0 || hostlen >= sizeof(tmp)) {
			*reason = "invalid IPv6 address";
			return -EINVAL;
		}
		memcpy(tmp, host, hostlen);
		tmp[hostlen] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1) {
			*reason = "invalid IPv6 address";
			return -EINVAL;
		}
		if (close + 1 < end) {
			if (close[1] != ':') {
				*reason = "unexpected characters after IPv6 address";
				return -EINVAL;
			}
			port = close + 2;
		}
	} else {
		const char *colon = memchr(s, ':', len);

		hostlen = colon ? (size_t)(colon - s) : len;
		if (colon)
			port = colon + 1;
		if (hostlen == 0) {
			*reason = "missing host";
			return -EINVAL;
		}
		for (size_t i = 0; i < hostlen; i++) {
			if (!host_char_ok(s[i])) {
				*reason =
					"invalid character in host (IPv6 addresses go in brackets)";
				return -EINVAL;
			}
		}
	}
	u->port = REDIS_DEFAULT_PORT;
	if (port) {
		if (parse_uint(port, (size_t)(end - port), 65535, &v) < 0 || v == 0) {
			*reason = "port must be a number from 1 to 65535";
			return -EINVAL;
		}
		u->port = (int)v;
	}
	u->host = strndup(host, hostlen);
	return u->host ? 0 : -ENOMEM;
}

static int parse_tcp(const char *s, struct redis_url *u, const char **reason)
{
	size_t alen = strcspn(s, "/?#");
	const char *at = NULL, *hp = s;
	unsigned long v;
	int r;

	if (s[alen] == '?' || s[alen] == '#') {
		*reason = "query and fragment are not supported in redis:// URLs";
		return -EINVAL;
	}
	for (const char *p = s; p < s + alen; p++) {
		if (*p == '@')
			at = p;
	}
	if (at) {
		r = parse_userinfo(s, (size_t)(at - s), u, reason);
		if (r < 0)
			return r;
		hp = at + 1;
	}
	r = parse_hostport(hp, (size_t)(s + alen - hp), u, reason);
	if (r < 0)
		return r;
	if (s[alen] == '/' && s[alen + 1] != '\0') {
		const char *db = s + alen + 1;

		if (parse_uint(db, strlen(db), REDIS_URL_DB_MAX, &v) < 0) {
			*reason = "db must be a number from 0 to 1023";
			return -EINVAL;
		}
		u->db = (int)v;
	}
	return 0;
}

static int parse_query(const char *q, struct redis_url *u, const char **reason)
{
	bool have_db = false;
	int r;

	while (*q) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		const char *val = eq ? eq + 1 : NULL;
		size_t klen = eq ? (size_t)(eq - q) : len;
		size_t vlen = eq ? (size_t)(q + len - val) : 0;
		unsigned long v;

		if (!eq) {
			*reason = "query parameter without a value";
			return -EINVAL;
		}
		if (klen == 2 && memcmp(q, "db", 2) == 0 && !have_db) {
			if (parse_uint(val, vlen, REDIS_URL_DB_MAX, &v) < 0) {
				*reason = "db must be a number from 0 to 1023";
				return -EINVAL;
			}
			u->db = (int)v;
			have_db = true;
		} else if (klen == 8 && memcmp(q, "password", 8) == 0 && !u->password) {
			if (vlen == 0) {
				*reason = "empty password";
				return -EINVAL;
			}
			r = pct_decode(val, vlen, &u->password);
			if (r < 0) {
				*reason = "bad percent-encoding in password";
				return r;
			}
		} else if (klen == 8 && memcmp(q, "username", 8) == 0 && !u->username) {
			r = pct_decode(val, vlen, &u->username);
			if (r < 0) {
				*reason = "bad percent-encoding in user name";
				return r;
			}
		} else {
			*reason = "unknown or repeated query parameter (known: db, password, "
				  "username)";
			return -EINVAL;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	if (u->username && !u->password) {
		*reason = "user name without password";
		return -EINVAL;
	}
	return 0;
}

static int parse_unix(const char *s, struct redis_url *u, const char **reason)
{
	size_t plen = strcspn(s, "?#");
	int r;

	if (s[0] != '/') {
		*reason = "unix:// URLs need an absolute path: unix:///path/to.sock";
		return -EINVAL;
	}
	if (s[plen] == '#') {
		*reason = "fragment is not supported";
		return -EINVAL;
	}
	r = pct_decode(s, plen, &u->path);
	if (r < 0) {
		*reason = "bad percent-encoding in socket path";
		return r;
	}
	if (strlen(u->path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		*reason = "socket path too long";
		return -EINVAL;
	}
	if (s[plen] == '?')
		return parse_query(s + plen + 1, u, reason);
	return 0;
}

int redis_url_parse(const char *url, struct redis_url *ret_url, const char **ret_reason)
{
	struct redis_url u = { 0 };
	const char *reason = NULL;
	int r;

	if (!url || !ret_url) {
		reason = "no URL";
		r = -EINVAL;
	} else if (strncasecmp(url, "rediss://", 9) == 0) {
		reason = "rediss:// (TLS) is not supported: hiredis 0.14 is built without TLS";
		r = -EINVAL;
	} else if (strncasecmp(url, "redis://", 8) == 0) {
		r = parse_tcp(url + 8, &u, &reason);
	} else if (strncasecmp(url, "unix://", 7) == 0) {
		r = parse_unix(url + 7, &u, &reason);
	} else {
		reason = "unknown scheme: use redis://host[:port][/db] or unix:///path/to.sock";
		r = -EINVAL;
	}
	if (r == -ENOMEM)
		reason = "out of memory";
	if (r < 0)
		goto out;
	*ret_url = u;
	u = (struct redis_url){ 0 }; /* ownership moved to the caller */
out:
	redis_url_finish(&u);
	if (r < 0 && ret_reason)
		*ret_reason = reason;
	return r;
}

void redis_url_finish(struct redis_url *url)
{
	if (!url)
		return;
	free(url->host);
	free(url->path);
	free(url->username);
	free(url->password);
	*url = (struct redis_url){ 0 };
}

static int dup_opt(const char *s, char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int redis_url_copy(const struct redis_url *url, struct redis_url *ret_url)
{
	struct redis_url u = { .port = url->port, .db = url->db };
	int r = 0;

	if (dup_opt(url->host, &u.host) < 0 || dup_opt(url->path, &u.path) < 0 ||
	    dup_opt(url->username, &u.username) < 0 || dup_opt(url->password, &u.password) < 0) {
		r = -ENOMEM;
		goto out;
	}
	*ret_url = u;
	u = (struct redis_url){ 0 }; /* ownership moved to the caller */
out:
	redis_url_finish(&u);
	return r;
}

void redis_url_redacted(const struct redis_url *url, char *buf, size_t size)
{
	const char *user = url->username ? url->username : "";
	bool auth = url->password != NULL;
	bool v6 = url->host && strchr(url->host, ':');

	if (size == 0)
		return;
	if (url->path) {
		snprintf(buf, size, "unix://%s?db=%d", url->path, url->db);
		return;
	}
	snprintf(buf, size, "redis://%s%s%s%s%s:%d/%d", auth ? user : "", auth ? ":***@" : "",
		 v6 ? "[" : "", url->host ? url->host : "", v6 ? "]" : "", url->port, url->db);
}

/* ---- handshake shared by the sync and async connections --------------------------- */

struct handshake_cmd {
	const char *name; /* static; for messages */
	int argc;
	const char *argv[3]; /* borrowed from the URL or the handshake */
	size_t argvlen[3];
};

struct handshake {
	char db[16];
	int n;
	struct handshake_cmd cmd[2];
};

static void handshake_add(struct handshake *h, const char *name, int argc, const char **argv)
{
	struct handshake_cmd *hc = &h->cmd[h->n++];

	hc->name = name;
	hc->argc = argc;
	for (int i = 0; i < argc; i++) {
		hc->argv[i] = argv[i];
		hc->argvlen[i] = strlen(argv[i]);
	}
}

/* AUTH if there is a password; then SELECT db, or PING for db 0 to see that the server answers. */
static void handshake_build(const struct redis_url *u, struct handshake *h)
{
	h->n = 0;
	if (u->password && u->username)
		handshake_add(h, "auth", 3, (const char *[]){ "AUTH", u->username, u->password });
	else if (u->password)
		handshake_add(h, "auth", 2, (const char *[]){ "AUTH", u->password });
	if (u->db != 0) {
		snprintf(h->db, sizeof(h->db), "%d", u->db);
		handshake_add(h, "select", 2, (const char *[]){ "SELECT", h->db });
	} else {
		handshake_add(h, "ping", 1, (const char *[]){ "PING" });
	}
}

/* ---- synchronous ------------------------------------------------------------ */

int redis_connect_sync(const struct redis_url *url, int timeout_ms, redisContext **ret_ctx,
		       char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	char where[512];
	struct handshake h;
	redisContext *ctx = NULL;
	redisReply *reply = NULL;
	int r, saved;

	if (errlen > 0)
		err[0] = '\0';
	if (!url || !ret_ctx || timeout_ms <= 0 || (!url->host && !url->path)) {
		snprintf(err, errlen, "invalid redis connection parameters");
		return -EINVAL;
	}
	redis_url_redacted(url, where, sizeof(where));
	errno = 0;
	if (url->path)
		ctx = redisConnectUnixWithTimeout(url->path, tv);
	else
		ctx = redisConnectWithTimeout(url->host, url->port, tv);
	saved = errno;
	if (!ctx) {
		snprintf(err, errlen, "could not connect to %s: out of memory", where);
		r = -ENOMEM;
		goto out;
	}
	if (ctx->err) {
		snprintf(err, errlen, "could not connect to %s: %s", where, ctx->errstr);
		if (saved == ECONNREFUSED || saved == ETIMEDOUT || saved == ENOENT ||
		    saved == EINPROGRESS)
			r = saved == EINPROGRESS ? -ETIMEDOUT : -saved;
		else
			r = -EIO;
		goto out;
	}
	if (redisSetTimeout(ctx, tv) != REDIS_OK ||
	    (!url->path && redisEnableKeepAlive(ctx) != REDIS_OK)) {
		snprintf(err, errlen, "could not set up the connection to %s: %s", where,
			 ctx->errstr);
		r = -EIO;
		goto out;
	}
	handshake_build(url, &h);
	for (int i = 0; i < h.n; i++) {
		struct handshake_cmd *hc = &h.cmd[i];

		reply = redisCommandArgv(ctx, hc->argc, hc->argv, hc->argvlen);
		if (!reply) {
			snprintf(err, errlen, "%s on %s failed: %s", hc->name, where, ctx->errstr);
			r = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
				    ? -ETIMEDOUT
				    : -EIO;
			goto out;
		}
		if (reply->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "%s on %s failed: %s", hc->name, where, reply->str);
			r = i == 0 && url->password ? -EACCES : -EINVAL;
			goto out;
		}
		freeReplyObject(reply);
		reply = NULL;
	}
	*ret_ctx = ctx;
	ctx = NULL; /* ownership moved to the caller */
	r = 0;
out:
	if (reply)
		freeReplyObject(reply);
	if (ctx)
		redisFree(ctx);
	return r;
}

/* ---- asynchronous ------------------------------------------------------------ */

enum state {
	ST_WAITING,    /* no connection; the timer is the reconnect backoff */
	ST_CONNECTING, /* connect + handshake in flight; the timer is the connect timeout */
	ST_READY,      /* handshake done, commands accepted */
};

/*
 * One hiredis connection with our own libevent glue (instead of
 * adapters/libevent.h) so that we know when hiredis frees the context.
 * While it serves a client, the client owns it (client->conn). When the
 * client drops it, it is detached (client = NULL: its callbacks deliver
 * nothing, its I/O stops) and freed by the zero-delay "reap" event, never on
 * the hiredis stack. hiredis may free the context on its own (I/O error,
 * EOF, failed connect); then its cleanup hook sets ac to NULL and the reaper
 * only frees this struct.
 */
struct conn {
	redisAsyncContext *ac;       /* owned; NULL once hiredis freed it */
	struct redis_client *client; /* borrowed; NULL once detached */
	struct redis_client *holder; /* borrowed; whose zombie list holds it, or NULL */
	struct event *rev, *wev;     /* owned; NULL after the cleanup hook */
	struct event *reap;          /* owned */
	LIST_ENTRY(conn) zlink;
};

/* One command waiting for its reply; hiredis holds it as privdata until it
 * calls on_reply (exactly once), which frees it. */
struct pending {
	struct redis_client *client; /* borrowed; NULL once the caller's callback ran */
	redis_reply_fn cb;
	void *arg;                 /* borrowed */
	struct event *timer;       /* owned; NULL once completed */
	TAILQ_ENTRY(pending) link; /* in client->pending while client != NULL */
};

struct sub {
	char *channel; /* owned */
	redis_message_fn cb;
	void *arg; /* borrowed */
	struct sub *next;
};

struct redis_client {
	struct event_base *base; /* borrowed */
	struct redis_url url;    /* owned copy */
	char *name;              /* owned */
	char where[512];         /* redacted URL, for logs */
	int connect_timeout_ms, command_timeout_ms, backoff_min_ms, backoff_max_ms;
	size_t max_pending;
	void (*on_connect)(struct redis_client *c, void *arg);
	void (*on_disconnect)(struct redis_client *c, void *arg);
	void *arg;                       /* borrowed */
	const struct timeval *common_tv; /* libevent common timeout for the default, or NULL */

	enum state state;
	struct conn *conn;         /* owned; NULL in ST_WAITING */
	LIST_HEAD(, conn) zombies; /* detached connections waiting to be reaped */
	struct event *timer;       /* owned; backoff or connect timeout */
	int backoff_ms;            /* next reconnect delay before jitter */
	int handshake_left;
	TAILQ_HEAD(, pending) pending;
	size_t n_pending;
	struct sub *subs; /* owned list */

	int depth;       /* how many of our callbacks are on the stack */
	bool destroying; /* teardown when depth drops to 0 */
	bool ever_connected;
	char last_err[256]; /* last failure logged at warn level; "" when connected */
	char errbuf[300];   /* message handed to failed commands */
};

static void on_reap(evutil_socket_t fd, short what, void *arg);
static void connection_failed(struct redis_client *c, const char *detail);

/* hiredis event hooks */
static void ev_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;

	redisAsyncHandleRead(conn->ac);
}

static void ev_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *conn = arg;

	redisAsyncHandleWrite(conn->ac);
}

static void hook_add_read(void *data)
{
	struct conn *conn = data;

	if (conn->client && conn->rev)
		event_add(conn->rev, NULL);
}

static void hook_del_read(void *data)
{
	struct conn *conn = data;

	if (conn->rev)
		event_del(conn->rev);
}

static void hook_add_write(void *data)
{
	struct conn *conn = data;

	if (conn->client && conn->wev)
		event_add(conn->wev, NULL);
}

static void hook_del_write(void *data)
{
	struct conn *conn = data;

	if (conn->wev)
		event_del(conn->wev);
}

/* hiredis is about to free the context. */
static void hook_cleanup(void *data)
{
	struct conn *conn = data;

	if (conn->rev)
		event_free(conn->rev);
	if (conn->wev)
		event_free(conn->wev);
	conn->rev = conn->wev = NULL;
	conn->ac = NULL;
}

/* Frees a detached connection now; not from its own hiredis callback stack. */
static void conn_free(struct conn *conn)
{
	if (!conn)
		return;
	if (conn->holder)
		LIST_REMOVE(conn, zlink);
	/* runs every remaining hiredis callback with NULL; they see client == NULL */
	if (conn->ac)
		redisAsyncFree(conn->ac);
	hook_cleanup(conn);
	if (conn->reap)
		event_free(conn->reap);
	free(conn);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	conn_free(arg);
}

/* Detaches the client's connection and schedules its release. */
static void conn_detach(struct redis_client *c)
{
	struct conn *conn = c->conn;

	if (!conn)
		return;
	c->conn = NULL;
	conn->client = NULL;
	hook_del_read(conn);
	hook_del_write(conn);
	conn->holder = c;
	LIST_INSERT_HEAD(&c->zombies, conn, zlink);
	event_active(conn->reap, EV_TIMEOUT, 0);
}

static void on_hiredis_connect(const redisAsyncContext *ac, int status);
static void on_hiredis_disconnect(const redisAsyncContext *ac, int status);

static struct conn *conn_create(struct redis_client *c, char *err, size_t errlen)
{
	struct conn *conn = NULL;
	redisAsyncContext *ac;

	if (c->url.path)
		ac = redisAsyncConnectUnix(c->url.path);
	else
		ac = redisAsyncConnect(c->url.host, c->url.port);
	if (!ac) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ac->err) {
		snprintf(err, errlen, "%s", ac->errstr);
		goto fail;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn)
		goto oom;
	conn->ac = ac;
	conn->client = c;
	conn->rev = event_new(c->base, ac->c.fd, EV_READ, ev_read, conn);
	conn->wev = event_new(c->base, ac->c.fd, EV_WRITE, ev_write, conn);
	conn->reap = event_new(c->base, -1, 0, on_reap, conn);
	if (!conn->rev || !conn->wev || !conn->reap)
		goto oom;
	ac->data = conn;
	ac->ev.data = conn;
	ac->ev.addRead = hook_add_read;
	ac->ev.delRead = hook_del_read;
	ac->ev.addWrite = hook_add_write;
	ac->ev.delWrite = hook_del_write;
	ac->ev.cleanup = hook_cleanup;
	redisAsyncSetConnectCallback(ac, on_hiredis_connect);
	redisAsyncSetDisconnectCallback(ac, on_hiredis_disconnect);
	if (!c->url.path)
		redisEnableKeepAlive(&ac->c);
	event_add(conn->rev, NULL);
	event_add(conn->wev, NULL);
	return conn;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	if (conn) {
		ac->ev.cleanup = NULL;
		hook_cleanup(conn);
		if (conn->reap)
			event_free(conn->reap);
		free(conn);
	}
	ac->data = NULL;
	redisAsyncFree(ac); /* not connected, no callbacks registered */
	return NULL;
}

static void enter(struct redis_client *c)
{
	c->depth++;
}

static void teardown(struct redis_client *c, bool in_hiredis);

/*
 * Leaves one of our callbacks. When the client was destroyed meanwhile and
 * this is the outermost frame, frees it; @in_hiredis says whether hiredis
 * called this frame (then no hiredis context may be freed now).
 */
static void leave(struct redis_client *c, bool in_hiredis)
{
	if (--c->depth == 0 && c->destroying)
		teardown(c, in_hiredis);
}

static struct timeval ms_tv(int ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

/* Completes @p (unlinks it, stops its timer) and runs the caller's callback. */
static void pending_complete(struct redis_client *c, struct pending *p, redisReply *reply,
			     const char *err)
{
	TAILQ_REMOVE(&c->pending, p, link);
	c->n_pending--;
	if (p->timer)
		event_free(p->timer);
	p->timer = NULL;
	p->client = NULL; /* hiredis still holds p; on_reply frees it */
	if (p->cb)
		p->cb(reply, err, p->arg);
}

static void fail_all_pending(struct redis_client *c, const char *err)
{
	struct pending *p;

	while ((p = TAILQ_FIRST(&c->pending)))
		pending_complete(c, p, NULL, err);
}

static void log_failure(struct redis_client *c, bool was_ready, const char *detail)
{
	if (was_ready) {
		log_warn(NULL, "redis client \"%s\": lost connection to %s: %s, reconnecting",
			 c->name, c->where, detail);
	} else if (strcmp(c->last_err, detail) != 0) {
		log_warn(NULL, "redis client \"%s\": could not connect to %s: %s, retrying",
			 c->name, c->where, detail);
	} else {
		log_debug(NULL, "redis client \"%s\": could not connect to %s: %s, retrying",
			  c->name, c->where, detail);
		return;
	}
	snprintf(c->last_err, sizeof(c->last_err), "%s", detail);
}

static void schedule_reconnect(struct redis_client *c)
{
	int d = c->backoff_ms;
	int delay = d / 2 + (int)arc4random_uniform((uint32_t)(d - d / 2) + 1);
	struct timeval tv = ms_tv(delay);

	c->backoff_ms = d > c->backoff_max_ms / 2 ? c->backoff_max_ms : d * 2;
	evtimer_add(c->timer, &tv);
}

/*
 * The connection is gone or unusable: detach it, fail its pending commands,
 * log, schedule a reconnect and tell the owner. Callable from any frame.
 */
static void connection_failed(struct redis_client *c, const char *detail)
{
	bool was_ready = c->state == ST_READY;
	char why[256];

	snprintf(why, sizeof(why), "%s", detail); /* @detail may live in the context */
	conn_detach(c);
	c->state = ST_WAITING;
	evtimer_del(c->timer);
	if (c->destroying)
		return;
	log_failure(c, was_ready, why);
	schedule_reconnect(c);
	snprintf(c->errbuf, sizeof(c->errbuf), "connection lost: %s", why);
	fail_all_pending(c, c->errbuf);
	if (c->destroying || c->state != ST_WAITING)
		return;
	if (was_ready && c->on_disconnect)
		c->on_disconnect(c, c->arg);
}

static void on_message(redisAsyncContext *ac, void *reply, void *privdata);

static int send_subscribe(struct redis_client *c, struct sub *s)
{
	const char *argv[2] = { "SUBSCRIBE", s->channel };

	if (redisAsyncCommandArgv(c->conn->ac, on_message, s, 2, argv, NULL) != REDIS_OK)
		return -ENOTCONN;
	return 0;
}

static void connection_ready(struct redis_client *c)
{
	c->state = ST_READY;
	evtimer_del(c->timer);
	c->backoff_ms = c->backoff_min_ms;
	if (!c->ever_connected || c->last_err[0])
		log_info(NULL, "redis client \"%s\": connected to %s", c->name, c->where);
	c->ever_connected = true;
	c->last_err[0] = '\0';
	for (struct sub *s = c->subs; s; s = s->next) {
		if (send_subscribe(c, s) < 0) {
			connection_failed(c, "could not send SUBSCRIBE");
			return;
		}
	}
	if (c->on_connect)
		c->on_connect(c, c->arg);
}

static void on_handshake_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct conn *conn = ac->data;
	struct redis_client *c = conn->client;
	redisReply *r = reply;
	char detail[256];

	/* detached, or hiredis is closing: on_hiredis_(dis)connect follows */
	if (!c || !r)
		return;
	enter(c);
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(detail, sizeof(detail), "%s failed: %s", (const char *)privdata, r->str);
		connection_failed(c, detail);
	} else if (--c->handshake_left == 0) {
		connection_ready(c);
	}
	leave(c, true);
}

static void on_hiredis_connect(const redisAsyncContext *ac, int status)
{
	struct conn *conn = ac->data;
	struct redis_client *c = conn->client;

	if (!c || status == REDIS_OK)
		return;
	/* hiredis frees the context when we return */
	enter(c);
	connection_failed(c, ac->errstr ? ac->errstr : "connect failed");
	leave(c, true);
}

static void on_hiredis_disconnect(const redisAsyncContext *ac, int status)
{
	struct conn *conn = ac->data;
	struct redis_client *c = conn->client;

	if (!c)
		return;
	enter(c);
	connection_failed(c, status == REDIS_OK || !ac->errstr ? "connection closed" : ac->errstr);
	leave(c, true);
}

static void start_connect(struct redis_client *c)
{
	struct handshake h;
	char err[256];
	struct timeval tv = ms_tv(c->connect_timeout_ms);

	c->conn = conn_create(c, err, sizeof(err));
	if (!c->conn) {
		connection_failed(c, err);
		return;
	}
	c->state = ST_CONNECTING;
	handshake_build(&c->url, &h);
	c->handshake_left = h.n;
	for (int i = 0; i < h.n; i++) {
		struct handshake_cmd *hc = &h.cmd[i];

		/* queued in hiredis until the socket is connected */
		if (redisAsyncCommandArgv(c->conn->ac, on_handshake_reply, (void *)hc->name,
					  hc->argc, hc->argv, hc->argvlen) != REDIS_OK) {
			connection_failed(c, "could not queue the handshake");
			return;
		}
	}
	evtimer_add(c->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct redis_client *c = arg;

	enter(c);
	if (c->state == ST_WAITING)
		start_connect(c);
	else if (c->state == ST_CONNECTING)
		connection_failed(c, "connect timed out");
	leave(c, false);
}

struct redis_client *redis_client_create(struct event_base *base, const struct redis_url *url,
					 const struct redis_client_opts *opts)
{
	static const struct redis_client_opts defaults = { 0 };
	struct redis_client *c = NULL;
	struct timeval tv, zero = { 0, 0 };
	int err = ENOMEM;

	if (!opts)
		opts = &defaults;
	if (!base || !url || (!url->host && !url->path) || opts->connect_timeout_ms < 0 ||
	    opts->command_timeout_ms < 0 || opts->backoff_min_ms < 0 || opts->backoff_max_ms < 0 ||
	    opts->max_pending < 0) {
		err = EINVAL;
		goto fail;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->base = base;
	TAILQ_INIT(&c->pending);
	LIST_INIT(&c->zombies);
	c->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 2000;
	c->command_timeout_ms = opts->command_timeout_ms ? opts->command_timeout_ms : 1000;
	c->backoff_min_ms = opts->backoff_min_ms ? opts->backoff_min_ms : 100;
	c->backoff_max_ms = opts->backoff_max_ms ? opts->backoff_max_ms : 5000;
	if (c->backoff_max_ms < c->backoff_min_ms)
		c->backoff_max_ms = c->backoff_min_ms;
	c->backoff_ms = c->backoff_min_ms;
	c->max_pending = opts->max_pending ? (size_t)opts->max_pending : 10000;
	c->on_connect = opts->on_connect;
	c->on_disconnect = opts->on_disconnect;
	c->arg = opts->arg;
	if (redis_url_copy(url, &c->url) < 0)
		goto fail;
	c->name = strdup(opts->name ? opts->name : "redis");
	c->timer = evtimer_new(base, on_timer, c);
	if (!c->name || !c->timer)
		goto fail;
	redis_url_redacted(&c->url, c->where, sizeof(c->where));
	tv = ms_tv(c->command_timeout_ms);
	c->common_tv = event_base_init_common_timeout(base, &tv);
	evtimer_add(c->timer, &zero);
	return c;
fail:
	if (c) {
		if (c->timer)
			event_free(c->timer);
		free(c->name);
		redis_url_finish(&c->url);
		free(c);
	}
	errno = err;
	return NULL;
}

static void teardown(struct redis_client *c, bool in_hiredis)
{
	struct conn *conn;

	conn_detach(c);
	/* on the stack of a hiredis callback, leave the zombies to their reap event */
	while ((conn = LIST_FIRST(&c->zombies))) {
		LIST_REMOVE(conn, zlink);
		conn->holder = NULL;
		if (!in_hiredis)
			conn_free(conn);
	}
	event_free(c->timer);
	while (c->subs) {
		struct sub *s = c->subs;

		c->subs = s->next;
		free(s->channel);
		free(s);
	}
	redis_url_finish(&c->url);
	free(c->name);
	free(c);
}

void redis_client_destroy(struct redis_client *c)
{
	if (!c || c->destroying)
		return;
	c->destroying = true;
	enter(c);
	fail_all_pending(c, "client destroyed");
	leave(c, false); /* frees now unless one of our callbacks is on the stack */
}

bool redis_client_connected(const struct redis_client *c)
{
	return c && !c->destroying && c->state == ST_READY;
}

struct event_base *redis_client_base(const struct redis_client *c)
{
	return c->base;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct pending *p = privdata;
	struct redis_client *c = p->client;

	if (!c) {
		/* completed earlier (timeout, lost connection, destroy): a late reply */
		free(p);
		return;
	}
	enter(c);
	if (reply) {
		pending_complete(c, p, reply, NULL);
	} else {
		snprintf(c->errbuf, sizeof(c->errbuf), "connection lost: %s",
			 ac->err && ac->errstr ? ac->errstr : "connection closed");
		pending_complete(c, p, NULL, c->errbuf);
	}
	free(p);
	leave(c, true);
}

static void on_pending_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct redis_client *c = p->client;

	enter(c);
	pending_complete(c, p, NULL, "timeout");
	if (!c->destroying && c->state == ST_READY)
		connection_failed(c, "a command timed out");
	leave(c, false);
}

/*
 * Commands that would change the connection's state behind our back; CLIENT
 * REPLY OFF|SKIP would also shift every later reply to the wrong callback.
 */
static bool command_forbidden(const char *cmd, size_t len)
{
	static const char *const names[] = {
		"subscribe",    "psubscribe",   "ssubscribe", "unsubscribe",
		"punsubscribe", "sunsubscribe", "monitor",    "select",
		"hello",        "reset",        "quit",
	};
	const char *p = memchr(cmd, '\n', len), *name;
	char *end;
	unsigned long n;

	/* hiredis formats "*<argc>\r\n$<len>\r\n<name>\r\n..." */
	if (!p || p + 2 >= cmd + len || p[1] != '$')
		return true;
	n = strtoul(p + 2, &end, 10);
	if (end + 2 > cmd + len || *end != '\r')
		return true;
	name = end + 2;
	if (n > (size_t)(cmd + len - name))
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
			return true;
	}
	if (n == 6 && strncasecmp(name, "client", 6) == 0) {
		/* the next argument: "\r\n$<len>\r\n<arg>" */
		const char *q = name + n;
		if (q + 3 >= cmd + len || q[2] != '$')
			return false;
		n = strtoul(q + 3, &end, 10);
		if (end + 2 > cmd + len || *end != '\r')
			return true;
		q = end + 2;
		if (n > (size_t)(cmd + len - q))
			return true;
		return n == 5 && strncasecmp(q, "reply", 5) == 0;
	}
	return false;
}

static int submit(struct redis_client *c, int timeout_ms, redis_reply_fn cb, void *arg,
		  const char *cmd, size_t len)
{
	struct pending *p;
	struct timeval tv;
	int r;

	if (command_forbidden(cmd, len))
		return -EINVAL;
	if (c->subs)
		return -EBUSY;
	if (c->destroying || c->state != ST_READY || !c->conn || !c->conn->ac ||
	    (c->conn->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)))
		return -ENOTCONN;
	if (c->n_pending >= c->max_pending)
		return -ENOBUFS;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cb = cb;
	p->arg = arg;
	p->timer = evtimer_new(c->base, on_pending_timeout, p);
	if (!p->timer) {
		r = -ENOMEM;
		goto fail;
	}
	if (timeout_ms == 0 && c->common_tv) {
		r = evtimer_add(p->timer, c->common_tv);
	} else {
		tv = ms_tv(timeout_ms ? timeout_ms : c->command_timeout_ms);
		r = evtimer_add(p->timer, &tv);
	}
	if (r < 0) {
		r = -ENOMEM;
		goto fail;
	}
	if (redisAsyncFormattedCommand(c->conn->ac, on_reply, p, cmd, len) != REDIS_OK) {
		r = -ENOTCONN;
		goto fail;
	}
	p->client = c; /* hiredis holds p now */
	TAILQ_INSERT_TAIL(&c->pending, p, link);
	c->n_pending++;
	return 0;
fail:
	if (p->timer)
		event_free(p->timer);
	free(p);
	return r;
}

int redis_client_commandv(struct redis_client *c, int timeout_ms, redis_reply_fn cb, void *arg,
			  int argc, const char **argv, const size_t *argvlen)
{
	char *cmd = NULL;
	int len, r;

	if (!c || timeout_ms < 0 || argc < 1 || !argv)
		return -EINVAL;
	len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0)
		return -ENOMEM;
	r = submit(c, timeout_ms, cb, arg, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return r;
}

int redis_client_command(struct redis_client *c, int timeout_ms, redis_reply_fn cb, void *arg,
			 const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int len, r;

	if (!c || timeout_ms < 0 || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len == -2 || len == 0)
		return -EINVAL;
	if (len < 0)
		return -ENOMEM;
	r = submit(c, timeout_ms, cb, arg, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return r;
}

static void on_message(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct conn *conn = ac->data;
	struct redis_client *c = conn->client;
	struct sub *s = privdata; /* valid while the connection is attached */
	redisReply *r = reply;

	if (!c || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[2]->type != REDIS_REPLY_STRING ||
	    strcasecmp(r->element[0]->str, "message") != 0)
		return; /* detached, closing, or the "subscribe" confirmation */
	enter(c);
	s->cb(c, s->channel, r->element[2]->str, r->element[2]->len, s->arg);
	leave(c, true);
}

int redis_client_subscribe(struct redis_client *c, const char *channel, redis_message_fn cb,
			   void *arg)
{
	struct sub *s, **tail;

	if (!c || !channel || !cb || c->destroying)
		return -EINVAL;
	if (c->n_pending > 0)
		return -EBUSY;
	for (tail = &c->subs; *tail; tail = &(*tail)->next) {
		if (strcmp((*tail)->channel, channel) == 0)
			return -EEXIST;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->channel = strdup(channel);
	if (!s->channel) {
		free(s);
		return -ENOMEM;
	}
	s->cb = cb;
	s->arg = arg;
	*tail = s;
	/* if sending fails the connection is going away: the reconnect subscribes */
	if (c->state == ST_READY && c->conn && c->conn->ac)
		(void)send_subscribe(c, s);
	return 0;
}

struct redis_client *redis_client_open(struct event_base *base, const char *url_s, const char *name,
				       const struct redis_client_opts *opts)
{
	struct redis_url url;
	const char *reason = NULL;
	struct redis_client *c;
	struct redis_client_opts o = { .name = name };

	if (opts) {
		o = *opts;
		o.name = name;
	}
	if (redis_url_parse(url_s, &url, &reason) < 0) {
		log_error(NULL, "invalid %s URL: %s", name, reason ? reason : "out of memory");
		return NULL;
	}
	c = redis_client_create(base, &url, &o);
	redis_url_finish(&url);
	if (!c)
		log_error(NULL, "could not create the %s client", name);
	return c;
}
