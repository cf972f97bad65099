#include "shared/db.h"
#include "shared/log.h"

#include <assert.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- errors and DSN redaction ----------------------------------------- */

int db_error_set(struct db_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	memset(err, 0, sizeof(*err));
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

bool db_error_is(const struct db_error *err, const char *sqlstate)
{
	return err && sqlstate && strcmp(err->sqlstate, sqlstate) == 0;
}

struct span {
	size_t off, len;
};

#define MAX_SPANS 8

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A "password=" or "sslpassword=" parameter: the offset of its value, or 0. */
static size_t secret_key_len(const char *p)
{
	if (has_prefix(p, "password="))
		return 9;
	if (has_prefix(p, "sslpassword="))
		return 12;
	return 0;
}

/*
 * Where the passwords are in a postgresql:// URL. libpq takes the user
 * information up to the first '@' before the first '/' (a '?' does not end
 * it), and the password from the first ':' in it; this also covers any later
 * '@' before the query, so that a password with an unencoded '@' stays hidden.
 */
static size_t url_password_spans(const char *dsn, size_t scheme_len, struct span *spans, size_t max)
{
	size_t n = 0;
	const char *auth = dsn + scheme_len;
	size_t auth_len = strcspn(auth, "/");
	const char *at = memchr(auth, '@', auth_len);
	const char *query = auth;
	const char *p;

	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));

		for (p = at + 1; p < auth + auth_len && *p != '?'; p++)
			if (*p == '@')
				at = p;
		if (colon && n < max)
			spans[n++] = (struct span){ (size_t)(colon + 1 - dsn),
						    (size_t)(at - colon - 1) };
		query = at + 1;
	}
	p = strchr(query, '?');
	while (p && n < max) {
		size_t plen, klen;

		p++;
		plen = strcspn(p, "&");
		klen = secret_key_len(p);
		if (klen > 0 && plen >= klen)
			spans[n++] = (struct span){ (size_t)(p + klen - dsn), plen - klen };
		p = p[plen] ? p + plen : NULL;
	}
	return n;
}

/* Where the password values are in a key=value connection string. */
static size_t kv_password_spans(const char *dsn, struct span *spans, size_t max)
{
	size_t n = 0;
	const char *p = dsn;

	while (*p && n < max) {
		const char *key, *val;
		size_t key_len;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		key = p;
		while (*p && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		key_len = (size_t)(p - key);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			break; /* malformed; libpq will say so */
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		val = p;
		if (*p == '\'') {
			val = ++p;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		} else {
			while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		}
		if ((key_len == 8 && strncmp(key, "password", 8) == 0) ||
		    (key_len == 11 && strncmp(key, "sslpassword", 11) == 0))
			spans[n++] = (struct span){ (size_t)(val - dsn), (size_t)(p - val) };
		if (*p == '\'')
			p++;
	}
	return n;
}

static size_t password_spans(const char *dsn, struct span *spans, size_t max)
{
	if (has_prefix(dsn, "postgresql://"))
		return url_password_spans(dsn, strlen("postgresql://"), spans, max);
	if (has_prefix(dsn, "postgres://"))
		return url_password_spans(dsn, strlen("postgres://"), spans, max);
	return kv_password_spans(dsn, spans, max);
}

static void append(char *buf, size_t size, size_t *pos, const char *s, size_t len)
{
	if (*pos + 1 >= size)
		return;
	if (len > size - 1 - *pos)
		len = size - 1 - *pos;
	memcpy(buf + *pos, s, len);
	*pos += len;
	buf[*pos] = '\0';
}

const char *db_dsn_redact(const char *dsn, char *buf, size_t size)
{
	struct span spans[MAX_SPANS];
	size_t n, i, pos = 0, from = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (!dsn)
		return buf;
	n = password_spans(dsn, spans, MAX_SPANS);
	for (i = 0; i < n; i++) {
		append(buf, size, &pos, dsn + from, spans[i].off - from);
		append(buf, size, &pos, "xxxxx", 5);
		from = spans[i].off + spans[i].len;
	}
	append(buf, size, &pos, dsn + from, strlen(dsn + from));
	return buf;
}

/*
 * Copies a libpq message into @buf as one line (newlines and tabs become
 * single spaces, no trailing space) and, defensively, replaces any password of
 * @dsn that libpq might have echoed.
 */
static void one_line(char *buf, size_t size, const char *msg, const char *dsn)
{
	size_t pos = 0;
	const char *p;

	buf[0] = '\0';
	for (p = msg ? msg : ""; *p && pos + 1 < size; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			if (pos > 0 && buf[pos - 1] != ' ')
				buf[pos++] = ' ';
			continue;
		}
		buf[pos++] = *p;
	}
	while (pos > 0 && buf[pos - 1] == ' ')
		pos--;
	buf[pos] = '\0';

	if (dsn) {
		struct span spans[MAX_SPANS];
		size_t n = password_spans(dsn, spans, MAX_SPANS), i;

		for (i = 0; i < n; i++) {
			char pw[256];
			char *hit;

			if (spans[i].len < 3 || spans[i].len >= sizeof(pw))
				continue;
			memcpy(pw, dsn + spans[i].off, spans[i].len);
			pw[spans[i].len] = '\0';
			while ((hit = strstr(buf, pw)))
				memset(hit, 'x', spans[i].len);
		}
	}
}

static bool result_ok(const PGresult *res)
{
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		return true;
	default:
		return false;
	}
}

/* Describes a failed result (or a NULL one) of @pg in @err; returns the code. */
static int result_error(PGconn *pg, const PGresult *res, struct db_error *err)
{
	char line[DB_ERROR_MAX];
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	int code;

	if (PQstatus(pg) == CONNECTION_BAD) {
		one_line(line, sizeof(line), PQerrorMessage(pg), NULL);
		return db_error_set(err, -ECONNRESET, "connection to database lost: %s", line);
	}
	if (!res)
		return db_error_set(err, -ENOMEM, "out of memory");
	if (!primary) {
		one_line(line, sizeof(line), PQresultErrorMessage(res), NULL);
		primary = line;
	}
	if (!*primary)
		primary = PQresStatus(PQresultStatus(res));
	code = -EIO;
	if (state && *state)
		db_error_set(err, code, "%s (SQLSTATE %s)", primary, state);
	else
		db_error_set(err, code, "%s", primary);
	if (err && state)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	if (err && constraint)
		snprintf(err->constraint, sizeof(err->constraint), "%s", constraint);
	return code;
}

/* ---- synchronous -------------------------------------------------------- */

/* Server notices ("relation ... already exists, skipping") go to the debug log. */
static void notice_processor(void *arg, const char *message)
{
	char line[DB_ERROR_MAX];

	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	one_line(line, sizeof(line), message, NULL);
	log_msg(LOG_LEVEL_DEBUG, NULL, "database notice: %s", line);
}

/*
 * libpq's "options" for a connection to @dsn: @ours, then PGOPTIONS, then the
 * DSN's own options (later -c settings win, so the DSN's still override
 * ours). Passed after the DSN, since an "options" key would otherwise replace
 * ours whole. A new string (NULL when @ours is NULL: libpq then reads the DSN
 * and PGOPTIONS itself), or NULL with *ret_oom when out of memory.
 */
static char *options_with_dsn(const char *dsn, const char *ours, bool *ret_oom)
{
	PQconninfoOption *info = ours && dsn ? PQconninfoParse(dsn, NULL) : NULL;
	const char *env = getenv("PGOPTIONS"), *theirs = NULL;
	char *out = NULL;

	*ret_oom = false;
	if (!ours)
		return NULL;
	for (PQconninfoOption *o = info; o && o->keyword; o++)
		if (strcmp(o->keyword, "options") == 0)
			theirs = o->val;
	if (asprintf(&out, "%s %s %s", ours, env ? env : "", theirs ? theirs : "") < 0) {
		out = NULL;
		*ret_oom = true;
	}
	PQconninfoFree(info);
	return out;
}

int db_connect(const char *dsn, const char *application_name, int connect_timeout_s,
	       PGconn **ret_conn, struct db_error *err)
{
	return db_connect_options(dsn, application_name, NULL, connect_timeout_s, ret_conn, err);
}

int db_connect_options(const char *dsn, const char *application_name, const char *options,
		       int connect_timeout_s, PGconn **ret_conn, struct db_error *err)
{
	const char *keys[] = { "application_name", "connect_timeout", "dbname", "options", NULL };
	const char *vals[5];
	char timeout[16], redacted[256], line[DB_ERROR_MAX], *opts;
	bool oom;
	PGconn *pg;

	if (!dsn)
		return db_error_set(err, -EINVAL, "no database url given");
	opts = options_with_dsn(dsn, options, &oom);
	if (oom)
		return db_error_set(err, -ENOMEM, "out of memory");
	snprintf(timeout, sizeof(timeout), "%d", connect_timeout_s);
	/* later entries win: the DSN's own settings override ours (its options
	 * are in @opts) */
	vals[0] = application_name ? application_name : "ddns";
	vals[1] = connect_timeout_s > 0 ? timeout : NULL;
	vals[2] = dsn;
	vals[3] = opts;
	vals[4] = NULL;

	pg = PQconnectdbParams(keys, vals, 1);
	free(opts);
	if (!pg)
		return db_error_set(err, -ENOMEM, "out of memory");
	if (PQstatus(pg) != CONNECTION_OK) {
		one_line(line, sizeof(line), PQerrorMessage(pg), dsn);
		PQfinish(pg);
		return db_error_set(err, -ECONNREFUSED, "could not connect to database \"%s\": %s",
				    db_dsn_redact(dsn, redacted, sizeof(redacted)), line);
	}
	PQsetNoticeProcessor(pg, notice_processor, NULL);
	*ret_conn = pg;
	return 0;
}

int db_exec(PGconn *conn, const char *sql, int n_params, const char *const *params,
	    PGresult **ret_res, struct db_error *err)
{
	PGresult *res;
	int r;

	if (!conn || !sql || n_params < 0 || (n_params > 0 && !params))
		return db_error_set(err, -EINVAL, "invalid query arguments");
	res = PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0);
	if (!res || !result_ok(res)) {
		r = result_error(conn, res, err);
		PQclear(res);
		return r;
	}
	if (ret_res)
		*ret_res = res;
	else
		PQclear(res);
	return 0;
}

/* A lower-case letter, then lower-case letters, digits and '_'; shorter than 64. */
static bool statement_name_ok(const char *s)
{
	size_t n = 0;

	if (*s < 'a' || *s > 'z')
		return false;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return n < 64;
}

/* Why the server refused to run a prepared statement, when that is why. */
enum prepared_refusal {
	PREPARED_RAN,     /* it ran, or failed for another reason */
	PREPARED_MISSING, /* 26000: the session does not have it */
	PREPARED_STALE,   /* 0A000: its result columns changed (DDL): prepare it anew */
};

static enum prepared_refusal prepared_refusal(const PGresult *res)
{
	const char *st = res && PQresultStatus(res) == PGRES_FATAL_ERROR
				 ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				 : NULL;

	if (st && strcmp(st, "26000") == 0)
		return PREPARED_MISSING;
	if (st && strcmp(st, "0A000") == 0)
		return PREPARED_STALE;
	return PREPARED_RAN;
}

int db_exec_prepared(PGconn *conn, const char *name, const char *sql, int n_params,
		     const char *const *params, PGresult **ret_res, struct db_error *err)
{
	PGresult *res;
	enum prepared_refusal why;
	int r;

	if (!conn || !sql || n_params < 0 || (n_params > 0 && !params))
		return db_error_set(err, -EINVAL, "invalid query arguments");
	if (!name || !statement_name_ok(name))
		return db_error_set(err, -EINVAL, "invalid prepared statement name");
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return db_error_set(err, -EINVAL,
				    "prepared statements run here outside a transaction only");
	res = PQexecPrepared(conn, name, n_params, params, NULL, NULL, 0);
	why = prepared_refusal(res);
	if (why != PREPARED_RAN) {
		PQclear(res);
		if (why == PREPARED_STALE) {
			char cmd[96];

			snprintf(cmd, sizeof(cmd), "DEALLOCATE \"%s\"", name);
			if ((r = db_exec_script(conn, cmd, err)) < 0)
				return r;
		}
		res = PQprepare(conn, name, sql, n_params, NULL);
		if (!res || !result_ok(res))
			goto fail;
		PQclear(res);
		res = PQexecPrepared(conn, name, n_params, params, NULL, NULL, 0);
	}
	if (!res || !result_ok(res))
		goto fail;
	if (ret_res)
		*ret_res = res;
	else
		PQclear(res);
	return 0;
fail:
	r = result_error(conn, res, err);
	PQclear(res);
	return r;
}

int db_exec_script(PGconn *conn, const char *sql, struct db_error *err)
{
	PGresult *res;
	int r = 0;

	if (!conn || !sql)
		return db_error_set(err, -EINVAL, "invalid query arguments");
	/* PQexec returns the last result; an error stops the script there */
	res = PQexec(conn, sql);
	if (!res || !result_ok(res))
		r = result_error(conn, res, err);
	PQclear(res);
	return r;
}

/* ---- asynchronous pool -------------------------------------------------- */

enum req_kind {
	REQ_QUERY,
	REQ_ACQUIRE,
	REQ_ROLLBACK, /* internal, on release; no callback */
};

enum req_where {
	IN_POOL_QUEUE,
	IN_CONN_QUEUE,
	RUNNING,
};

struct request {
	TAILQ_ENTRY(request) link;
	struct db_pool *pool; /* borrowed */
	struct db_conn *conn; /* borrowed: the connection queued on or running on */
	enum req_kind kind;
	enum req_where where;
	db_result_cb cb;
	db_acquire_cb acb;
	void *arg;           /* borrowed: the caller's */
	struct event *timer; /* owned; NULL without timeout */
	long long timeout_ms;
	int n_params;
	char *sql;     /* points into the same allocation */
	char **params; /* points into the same allocation */
	bool retried;  /* ran again after its prepared statement was refused */
};

TAILQ_HEAD(request_list, request);

/*
 * Statements are prepared per connection by SQL text, on first use: a request
 * whose text is not yet in the connection's cache runs in two steps, Parse
 * (PQsendPrepare) and then the prepared statement (PQsendQueryPrepared), each
 * with its own PQgetResult loop. A text that PostgreSQL can no longer execute
 * as prepared ("cached plan must not change result type" after DDL, or a
 * statement dropped behind our back) is DEALLOCATEd on its next use and
 * prepared again. The cache lives as long as the session: conn_close()
 * empties it.
 */
enum stmt_state {
	STMT_NEW,   /* not on the server yet: Parse it */
	STMT_READY, /* prepared under its name */
	STMT_STALE, /* the server's version is outdated: DEALLOCATE, then Parse again */
};

struct stmt {
	char *sql; /* owned; NULL: free slot */
	uint64_t hash;
	enum stmt_state state;
	char name[16]; /* "ddns_<n>", unique within the session */
};

/* The command in flight on a busy connection. */
enum step {
	STEP_QUERY,      /* the request's statement, named (conn->stmt >= 0) or unnamed */
	STEP_DEALLOCATE, /* DEALLOCATE of a stale statement, before STEP_PREPARE */
	STEP_PREPARE,    /* Parse of conn->stmt, before STEP_QUERY */
};

enum conn_state {
	CONN_DOWN,       /* closed; waiting for the backoff timer (or for release when broken) */
	CONN_CONNECTING, /* PQconnectPoll in progress */
	CONN_IDLE,
	CONN_BUSY,     /* running conn->running */
	CONN_DRAINING, /* a timed-out query was cancelled; discarding its results */
};

struct db_conn {
	struct db_pool *pool; /* borrowed: the owner */
	PGconn *pg;           /* owned */
	enum conn_state state;
	struct event *ev_io; /* owned; NULL when not watching */
	int io_fd;
	short io_what;
	struct event *ev_timer;    /* owned: backoff, connect timeout, drain timeout */
	struct event *ev_cancel;   /* owned; NULL unless a cancel request is on its way */
	int cancel_fd;             /* owned with ev_cancel: the canceller says "done" here */
	struct request *running;   /* owned while BUSY */
	PGresult *result;          /* owned: the result kept for @running */
	struct request_list queue; /* owned: requests queued on a lent connection */
	bool leased;               /* lent out by db_pool_acquire */
	bool releasing;            /* db_conn_release was called */
	bool broken;               /* lent and the connection broke */
	long long backoff_ms;
	struct stmt stmts[DB_PREPARED_MAX]; /* owned: this session's prepared statements */
	unsigned next_stmt_id;              /* names are never reused within a session */
	int stmt;                           /* stmts index of the command in flight, or -1 */
	enum step step;                     /* what the command in flight is */
};

struct db_pool {
	struct event_base *base;   /* borrowed */
	char *dsn;                 /* owned */
	char *app_name;            /* owned */
	char *options;             /* owned; NULL: none */
	struct db_pool_config cfg; /* strings point to dsn/app_name */
	struct db_conn *conns;     /* owned, n_conns */
	unsigned n_conns;
	struct request_list queue; /* owned: waiting for a connection */
	unsigned n_queued;
	struct event *ev_dispatch;  /* owned */
	struct db_error last_error; /* why the last connection attempt failed */
	bool connect_failed;        /* the last connection attempt failed */
	bool dispatching, dispatch_again, destroying;
	int in_callback;
};

#define DRAIN_TIMEOUT_MS 5000

static void dispatch(struct db_pool *pool);
static void conn_connect(struct db_conn *conn);

static struct timeval ms_to_tv(long long ms)
{
	return (struct timeval){ .tv_sec = (time_t)(ms / 1000),
				 .tv_usec = (suseconds_t)((ms % 1000) * 1000) };
}

static void schedule_dispatch(struct db_pool *pool)
{
	event_active(pool->ev_dispatch, 0, 0);
}

static void request_free(struct request *req)
{
	if (!req)
		return;
	if (req->timer)
		event_free(req->timer);
	free(req);
}

/* Calls the request's callback once with @res or @err and frees it. */
static void request_finish(struct request *req, PGresult *res, const struct db_error *err)
{
	struct db_pool *pool = req->pool;

	if (req->timer)
		event_del(req->timer);
	pool->in_callback++;
	if (req->kind == REQ_QUERY)
		req->cb(err ? NULL : res, err, req->arg);
	else if (req->kind == REQ_ACQUIRE)
		req->acb(NULL, err, req->arg);
	pool->in_callback--;
	request_free(req);
}

static void fail_list(struct db_pool *pool, struct request_list *list, const struct db_error *err)
{
	struct request *req;

	while ((req = TAILQ_FIRST(list))) {
		TAILQ_REMOVE(list, req, link);
		if (list == &pool->queue)
			pool->n_queued--;
		request_finish(req, NULL, err);
	}
}

static bool conn_ready(const struct db_conn *conn)
{
	return conn->state == CONN_IDLE || conn->state == CONN_BUSY || conn->state == CONN_DRAINING;
}

unsigned db_pool_n_ready(const struct db_pool *pool)
{
	unsigned i, n = 0;

	for (i = 0; i < pool->n_conns; i++)
		if (conn_ready(&pool->conns[i]))
			n++;
	return n;
}

static void unwatch(struct db_conn *conn)
{
	if (conn->ev_io) {
		event_free(conn->ev_io);
		conn->ev_io = NULL;
	}
}

static void io_cb(evutil_socket_t fd, short what, void *arg);

static int watch(struct db_conn *conn, short what)
{
	int fd = PQsocket(conn->pg);

	if (conn->ev_io && conn->io_fd == fd && conn->io_what == what)
		return 0;
	unwatch(conn);
	if (fd < 0)
		return -EBADF;
	conn->ev_io = event_new(conn->pool->base, fd, what | EV_PERSIST, io_cb, conn);
	if (!conn->ev_io || event_add(conn->ev_io, NULL) < 0)
		return -ENOMEM;
	conn->io_fd = fd;
	conn->io_what = what;
	return 0;
}

static void cancel_forget(struct db_conn *conn)
{
	if (!conn->ev_cancel)
		return;
	event_free(conn->ev_cancel);
	conn->ev_cancel = NULL;
	close(conn->cancel_fd);
	conn->cancel_fd = -1;
}

/* FNV-1a: the cache compares the text itself too, so any spread will do. */
static uint64_t sql_hash(const char *sql)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *sql; sql++)
		h = (h ^ (unsigned char)*sql) * 0x100000001b3ULL;
	return h;
}

/*
 * The cache slot for @sql, added as STMT_NEW when it is not there yet; -1
 * when the cache is full (the statement then runs unnamed) or out of memory.
 */
static int stmt_lookup(struct db_conn *conn, const char *sql)
{
	uint64_t hash = sql_hash(sql);
	int i, free_slot = -1;

	for (i = 0; i < DB_PREPARED_MAX; i++) {
		const struct stmt *st = &conn->stmts[i];

		if (!st->sql) {
			if (free_slot < 0)
				free_slot = i;
		} else if (st->hash == hash && strcmp(st->sql, sql) == 0) {
			return i;
		}
	}
	if (free_slot < 0)
		return -1;
	conn->stmts[free_slot].sql = strdup(sql);
	if (!conn->stmts[free_slot].sql)
		return -1;
	conn->stmts[free_slot].hash = hash;
	conn->stmts[free_slot].state = STMT_NEW;
	snprintf(conn->stmts[free_slot].name, sizeof(conn->stmts[free_slot].name), "ddns_%u",
		 conn->next_stmt_id++);
	return free_slot;
}

/* Frees a slot whose statement is not (or no longer) on the server. */
static void stmt_forget(struct stmt *st)
{
	free(st->sql);
	st->sql = NULL;
}

static void stmt_forget_all(struct db_conn *conn)
{
	int i;

	for (i = 0; i < DB_PREPARED_MAX; i++)
		stmt_forget(&conn->stmts[i]);
	conn->next_stmt_id = 0;
	conn->stmt = -1;
	conn->step = STEP_QUERY;
}

static void conn_close(struct db_conn *conn)
{
	stmt_forget_all(conn); /* they lived in the session */
	unwatch(conn);
	cancel_forget(conn);
	evtimer_del(conn->ev_timer);
	PQclear(conn->result);
	conn->result = NULL;
	PQfinish(conn->pg);
	conn->pg = NULL;
	conn->state = CONN_DOWN;
}

static void schedule_reconnect(struct db_conn *conn)
{
	struct db_pool *pool = conn->pool;
	struct timeval tv = ms_to_tv(conn->backoff_ms);

	conn_close(conn);
	evtimer_add(conn->ev_timer, &tv);
	conn->backoff_ms *= 2;
	if (conn->backoff_ms > pool->cfg.backoff_max_ms)
		conn->backoff_ms = pool->cfg.backoff_max_ms;
}

/*
 * The connection broke (or could not be set up): fail what runs on it and
 * what is queued on it, then reconnect later, or, when lent out, wait for the
 * holder to release it.
 */
static void conn_broken(struct db_conn *conn, const struct db_error *err)
{
	struct db_pool *pool = conn->pool;
	struct request *req = conn->running;
	struct request_list failed = TAILQ_HEAD_INITIALIZER(failed);

	conn->running = NULL;
	TAILQ_CONCAT(&failed, &conn->queue, link);
	if (conn->leased) {
		conn_close(conn);
		conn->broken = true;
	} else {
		schedule_reconnect(conn);
	}
	if (req)
		request_finish(req, NULL, err);
	fail_list(pool, &failed, err);
	schedule_dispatch(pool);
}

static void conn_broken_pq(struct db_conn *conn)
{
	struct db_error err;
	char line[DB_ERROR_MAX];

	one_line(line, sizeof(line), PQerrorMessage(conn->pg), NULL);
	db_error_set(&err, -ECONNRESET, "connection to database lost: %s", line);
	conn_broken(conn, &err);
}

static void conn_connect_failed(struct db_conn *conn, const char *why)
{
	struct db_pool *pool = conn->pool;
	char redacted[256];

	db_error_set(&pool->last_error, -ECONNREFUSED, "could not connect to database \"%s\": %s",
		     db_dsn_redact(pool->dsn, redacted, sizeof(redacted)), why);
	pool->connect_failed = true;
	schedule_reconnect(conn);
	schedule_dispatch(pool);
}

static void conn_connect_poll(struct db_conn *conn)
{
	char line[DB_ERROR_MAX];
	int r = 0;

	switch (PQconnectPoll(conn->pg)) {
	case PGRES_POLLING_READING:
		r = watch(conn, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		r = watch(conn, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		evtimer_del(conn->ev_timer);
		if (PQsetnonblocking(conn->pg, 1) < 0) {
			conn_connect_failed(conn, "could not set up the connection");
			return;
		}
		PQsetNoticeProcessor(conn->pg, notice_processor, NULL);
		conn->state = CONN_IDLE;
		conn->backoff_ms = conn->pool->cfg.backoff_min_ms;
		conn->pool->connect_failed = false;
		r = watch(conn, EV_READ); /* notices how an idle connection closes */
		schedule_dispatch(conn->pool);
		break;
	default:
		one_line(line, sizeof(line), PQerrorMessage(conn->pg), conn->pool->dsn);
		conn_connect_failed(conn, line);
		return;
	}
	if (r < 0)
		conn_connect_failed(conn, "could not watch the connection socket");
}

static void conn_connect(struct db_conn *conn)
{
	struct db_pool *pool = conn->pool;
	/* pool->options holds the DSN's own options too (options_with_dsn) */
	const char *keys[] = { "application_name", "dbname", "options", NULL };
	const char *vals[] = { pool->app_name, pool->dsn, pool->options, NULL };
	struct timeval tv = ms_to_tv(pool->cfg.connect_timeout_ms);
	char line[DB_ERROR_MAX];

	conn->pg = PQconnectStartParams(keys, vals, 1);
	if (!conn->pg) {
		conn_connect_failed(conn, "out of memory");
		return;
	}
	if (PQstatus(conn->pg) == CONNECTION_BAD) {
		one_line(line, sizeof(line), PQerrorMessage(conn->pg), pool->dsn);
		conn_connect_failed(conn, line);
		return;
	}
	conn->state = CONN_CONNECTING;
	evtimer_add(conn->ev_timer, &tv);
	/* as if PQconnectPoll had answered PGRES_POLLING_WRITING */
	if (watch(conn, EV_WRITE) < 0)
		conn_connect_failed(conn, "could not watch the connection socket");
}

/* Sends @step of the running request and watches for its results. */
static void conn_send(struct db_conn *conn, enum step step)
{
	const struct request *req = conn->running;
	const char *sql = req->kind == REQ_ROLLBACK ? "ROLLBACK" : req->sql;
	const char *const *params = (const char *const *)req->params;
	const struct stmt *st = conn->stmt >= 0 ? &conn->stmts[conn->stmt] : NULL;
	char deallocate[32];
	int ok, r;

	conn->step = step;
	switch (step) {
	case STEP_DEALLOCATE:
		snprintf(deallocate, sizeof(deallocate), "DEALLOCATE %s", st->name);
		ok = PQsendQueryParams(conn->pg, deallocate, 0, NULL, NULL, NULL, NULL, 0);
		break;
	case STEP_PREPARE:
		ok = PQsendPrepare(conn->pg, st->name, sql, req->n_params, NULL);
		break;
	default:
		if (st)
			ok = PQsendQueryPrepared(conn->pg, st->name, req->n_params, params, NULL,
						 NULL, 0);
		else
			ok = PQsendQueryParams(conn->pg, sql, req->n_params, NULL, params, NULL,
					       NULL, 0);
		break;
	}
	if (!ok) {
		conn_broken_pq(conn);
		return;
	}
	r = PQflush(conn->pg);
	if (r < 0) {
		conn_broken_pq(conn);
		return;
	}
	if (watch(conn, r == 1 ? EV_READ | EV_WRITE : EV_READ) < 0)
		conn_broken_pq(conn);
}

/* Sends @req on an idle connection: prepared by its text unless the cache is full. */
static void conn_start(struct db_conn *conn, struct request *req)
{
	enum step step = STEP_QUERY;

	assert(conn->state == CONN_IDLE && !conn->running);
	req->where = RUNNING;
	req->conn = conn;
	conn->running = req;
	conn->state = CONN_BUSY;
	conn->stmt = req->kind == REQ_QUERY ? stmt_lookup(conn, req->sql) : -1;
	if (conn->stmt >= 0 && conn->stmts[conn->stmt].state == STMT_NEW)
		step = STEP_PREPARE;
	else if (conn->stmt >= 0 && conn->stmts[conn->stmt].state == STMT_STALE)
		step = STEP_DEALLOCATE;
	conn_send(conn, step);
}

/*
 * A DEALLOCATE or Parse step ended with conn->result: notes the outcome in
 * the cache and, when the step succeeded and the request still waits (it did
 * not time out meanwhile), sends the next step and returns true. Returns
 * false when the request ends here: with the step's error, or, timed out,
 * with the drain.
 */
static bool conn_step_done(struct db_conn *conn)
{
	struct stmt *st = &conn->stmts[conn->stmt];
	const PGresult *res = conn->result;
	bool ok = res && result_ok(res);
	enum step next;

	if (conn->step == STEP_DEALLOCATE) {
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

		/* "does not exist" is what DEALLOCATE was for */
		if (!ok && state && strcmp(state, "26000") == 0)
			ok = true;
		if (ok)
			st->state = STMT_NEW;
		next = STEP_PREPARE;
	} else {
		/* a failed Parse leaves nothing on the server: not cached */
		if (ok)
			st->state = STMT_READY;
		else
			stmt_forget(st);
		next = STEP_QUERY;
	}
	conn->step = STEP_QUERY;
	if (!ok || !conn->running) {
		conn->stmt = -1;
		return false;
	}
	PQclear(conn->result);
	conn->result = NULL;
	conn_send(conn, next);
	return true;
}

/*
 * The prepared statement in @slot failed with @res. After DDL that changes
 * its result columns PostgreSQL refuses to run it again ("cached plan must
 * not change result type", 0A000): the next use deallocates it and prepares
 * it again. When it was deallocated behind our back (26000), most likely by
 * DEALLOCATE ALL or DISCARD ALL, so were the others: every statement is
 * prepared again on its next use (a DEALLOCATE that finds nothing counts as
 * done). Returns true in these two cases: the statement was refused before
 * it ran, so running the request again is safe outside a transaction.
 */
static bool stmt_failed(struct db_conn *conn, int slot, const PGresult *res)
{
	int i;

	switch (prepared_refusal(res)) {
	case PREPARED_STALE:
		conn->stmts[slot].state = STMT_STALE;
		return true;
	case PREPARED_MISSING:
		for (i = 0; i < DB_PREPARED_MAX; i++)
			if (conn->stmts[i].sql && conn->stmts[i].state == STMT_READY)
				conn->stmts[i].state = STMT_STALE;
		return true;
	case PREPARED_RAN:
		break;
	}
	return false;
}

/* The running query (or the cancelled one) returned all its results. */
static void conn_query_done(struct db_conn *conn)
{
	struct request *req = conn->running;
	PGresult *res = conn->result;
	struct db_error err;
	int slot = conn->stmt;
	bool again = false;

	if (slot >= 0 && res && !result_ok(res))
		again = stmt_failed(conn, slot, res) && req && req->kind == REQ_QUERY &&
			!req->retried && !conn->leased &&
			PQtransactionStatus(conn->pg) == PQTRANS_IDLE;
	conn->stmt = -1;
	conn->running = NULL;
	conn->result = NULL;
	conn->state = CONN_IDLE;
	evtimer_del(conn->ev_timer);
	if (watch(conn, EV_READ) < 0) {
		conn->running = req;
		conn->result = res;
		conn_broken_pq(conn);
		return;
	}
	if (again) {
		/* prepared again (DEALLOCATE, Parse) and run once more */
		PQclear(res);
		req->retried = true;
		conn_start(conn, req);
		return;
	}
	if (req) {
		if (req->kind == REQ_ROLLBACK && (!res || !result_ok(res))) {
			/* could not roll back: never hand out this session again */
			PQclear(res);
			request_free(req);
			schedule_reconnect(conn);
			conn->leased = conn->releasing = false;
			schedule_dispatch(conn->pool);
			return;
		}
		if (res && result_ok(res))
			request_finish(req, res, NULL);
		else {
			result_error(conn->pg, res, &err);
			request_finish(req, NULL, &err);
		}
	}
	PQclear(res);
	schedule_dispatch(conn->pool);
}

static void conn_io(struct db_conn *conn, short what)
{
	PGresult *res;

	if (what & EV_WRITE) {
		int r = PQflush(conn->pg);

		if (r < 0) {
			conn_broken_pq(conn);
			return;
		}
		if (r == 0 && watch(conn, EV_READ) < 0) {
			conn_broken_pq(conn);
			return;
		}
	}
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(conn->pg) || PQstatus(conn->pg) == CONNECTION_BAD) {
		conn_broken_pq(conn);
		return;
	}
	if (conn->state == CONN_IDLE) {
		/* notices, or the server said goodbye */
		while ((res = PQgetResult(conn->pg)))
			PQclear(res);
		return;
	}
	while (!PQisBusy(conn->pg)) {
		res = PQgetResult(conn->pg);
		if (!res) {
			if (conn->step != STEP_QUERY && conn_step_done(conn))
				return; /* the next step is on its way (or the connection broke) */
			/* a cancel request still on its way could hit the next query */
			if (!conn->ev_cancel)
				conn_query_done(conn);
			return;
		}
		/* keep the first error, else the last result */
		if (conn->result && !result_ok(conn->result)) {
			PQclear(res);
		} else {
			PQclear(conn->result);
			conn->result = res;
		}
	}
}

static void io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;

	if (conn->state == CONN_CONNECTING)
		conn_connect_poll(conn);
	else if (conn->pg)
		conn_io(conn, what);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;
	struct db_error err;

	switch (conn->state) {
	case CONN_DOWN:
		if (!conn->broken)
			conn_connect(conn);
		break;
	case CONN_CONNECTING:
		conn_connect_failed(conn, "timeout expired");
		break;
	case CONN_DRAINING:
		db_error_set(&err, -ETIMEDOUT, "cancelled query did not finish, reconnecting");
		conn_broken(conn, &err);
		break;
	default:
		break;
	}
}

struct cancel_job {
	PGcancel *cancel; /* owned */
	int fd;           /* owned: written to and closed when done */
};

/*
 * PQcancel opens a new connection and waits for the server to close it: it
 * blocks, for minutes when the server is unreachable, so it runs on a thread
 * of its own, which owns everything it touches.
 */
static void *cancel_thread(void *arg)
{
	struct cancel_job *job = arg;
	char buf[256];

	if (!PQcancel(job->cancel, buf, sizeof(buf)))
		log_debug(NULL, "could not cancel query: %s", buf);
	PQfreeCancel(job->cancel);
	(void)send(job->fd, "", 1, MSG_NOSIGNAL);
	close(job->fd);
	free(job);
	return NULL;
}

static void cancel_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *conn = arg;

	cancel_forget(conn);
	if (conn->state == CONN_DRAINING && !PQisBusy(conn->pg))
		conn_io(conn, EV_READ); /* the results may all be in already */
}

/* Asks the server to cancel the running query, without waiting. */
static void conn_cancel(struct db_conn *conn)
{
	struct cancel_job *job = calloc(1, sizeof(*job));
	int sv[2] = { -1, -1 };
	pthread_attr_t attr;
	pthread_t thread;
	bool attr_ok = false;

	if (!job || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		goto fail;
	job->cancel = PQgetCancel(conn->pg);
	job->fd = sv[1];
	conn->ev_cancel = event_new(conn->pool->base, sv[0], EV_READ, cancel_done_cb, conn);
	if (!job->cancel || !conn->ev_cancel || event_add(conn->ev_cancel, NULL) < 0)
		goto fail;
	attr_ok = pthread_attr_init(&attr) == 0;
	if (!attr_ok || pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
	    pthread_create(&thread, &attr, cancel_thread, job) != 0)
		goto fail;
	pthread_attr_destroy(&attr);
	conn->cancel_fd = sv[0];
	return;
fail:
	/* no cancel: the drain timeout reconnects if the query goes on */
	log_debug(NULL, "could not start cancelling a query");
	if (attr_ok)
		pthread_attr_destroy(&attr);
	if (conn->ev_cancel) {
		event_free(conn->ev_cancel);
		conn->ev_cancel = NULL;
	}
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (job)
		PQfreeCancel(job->cancel);
	free(job);
}

static void request_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct request *req = arg;
	struct db_pool *pool = req->pool;
	struct db_conn *conn = req->conn;
	struct db_error err;
	struct timeval tv = ms_to_tv(DRAIN_TIMEOUT_MS);

	switch (req->where) {
	case IN_POOL_QUEUE:
		TAILQ_REMOVE(&pool->queue, req, link);
		pool->n_queued--;
		db_error_set(&err, -ETIMEDOUT,
			     "timed out after %lld ms waiting for a database connection",
			     req->timeout_ms);
		break;
	case IN_CONN_QUEUE:
		TAILQ_REMOVE(&conn->queue, req, link);
		db_error_set(&err, -ETIMEDOUT, "query timed out after %lld ms", req->timeout_ms);
		break;
	case RUNNING:
		/* detach the request and discard whatever the server still sends */
		conn->running = NULL;
		conn->state = CONN_DRAINING;
		evtimer_add(conn->ev_timer, &tv);
		conn_cancel(conn);
		db_error_set(&err, -ETIMEDOUT, "query timed out after %lld ms", req->timeout_ms);
		break;
	default:
		return;
	}
	request_finish(req, NULL, &err);
	schedule_dispatch(pool);
}

/* Gives a lent connection back to the pool, rolling back first if needed. */
static void conn_finish_release(struct db_conn *conn)
{
	struct request *req;

	if (conn->broken) {
		conn->broken = false;
		conn->leased = conn->releasing = false;
		schedule_reconnect(conn);
		return;
	}
	switch (PQtransactionStatus(conn->pg)) {
	case PQTRANS_IDLE:
		conn->leased = conn->releasing = false;
		return;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		req = calloc(1, sizeof(*req));
		if (!req)
			break;
		req->pool = conn->pool;
		req->kind = REQ_ROLLBACK;
		conn_start(conn, req);
		return;
	default:
		break;
	}
	conn->leased = conn->releasing = false;
	schedule_reconnect(conn);
}

/* Moves a lent connection along: its next queued statement, or its release. */
static void conn_kick(struct db_conn *conn)
{
	struct request *req;

	if (!conn->leased)
		return;
	if (conn->broken) {
		if (conn->releasing)
			conn_finish_release(conn);
		return;
	}
	if (conn->state != CONN_IDLE)
		return;
	req = TAILQ_FIRST(&conn->queue);
	if (req) {
		TAILQ_REMOVE(&conn->queue, req, link);
		conn_start(conn, req);
	} else if (conn->releasing) {
		conn_finish_release(conn);
	}
}

static struct db_conn *idle_conn(struct db_pool *pool)
{
	unsigned i;

	for (i = 0; i < pool->n_conns; i++)
		if (!pool->conns[i].leased && pool->conns[i].state == CONN_IDLE)
			return &pool->conns[i];
	return NULL;
}

static void dispatch_once(struct db_pool *pool)
{
	struct db_conn *conn;
	struct request *req;
	unsigned i, n_connecting = 0;

	for (i = 0; i < pool->n_conns; i++)
		conn_kick(&pool->conns[i]);
	while ((req = TAILQ_FIRST(&pool->queue)) && (conn = idle_conn(pool))) {
		TAILQ_REMOVE(&pool->queue, req, link);
		pool->n_queued--;
		if (req->kind == REQ_ACQUIRE) {
			conn->leased = true;
			conn->releasing = false;
			if (req->timer)
				event_del(req->timer);
			pool->in_callback++;
			req->acb(conn, NULL, req->arg);
			pool->in_callback--;
			request_free(req);
		} else {
			conn_start(conn, req);
		}
	}
	if (TAILQ_EMPTY(&pool->queue) || db_pool_n_ready(pool) > 0)
		return;
	for (i = 0; i < pool->n_conns; i++)
		if (pool->conns[i].state == CONN_CONNECTING)
			n_connecting++;
	/* the database is unreachable and nothing is on its way: fail fast */
	if (n_connecting == 0 && pool->connect_failed)
		fail_list(pool, &pool->queue, &pool->last_error);
}

static void dispatch(struct db_pool *pool)
{
	if (pool->dispatching) {
		pool->dispatch_again = true;
		return;
	}
	pool->dispatching = true;
	do {
		pool->dispatch_again = false;
		dispatch_once(pool);
	} while (pool->dispatch_again);
	pool->dispatching = false;
}

static void dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	dispatch(arg);
}

struct db_pool *db_pool_create(struct event_base *base, const struct db_pool_config *cfg)
{
	struct db_pool *pool;
	unsigned i;

	if (!base || !cfg || !cfg->dsn)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->base = base;
	pool->cfg = *cfg;
	TAILQ_INIT(&pool->queue);
	if (pool->cfg.n_conns == 0)
		pool->cfg.n_conns = 2;
	if (pool->cfg.max_queue == 0)
		pool->cfg.max_queue = 1024;
	if (pool->cfg.connect_timeout_ms <= 0)
		pool->cfg.connect_timeout_ms = 5000;
	if (pool->cfg.backoff_min_ms <= 0)
		pool->cfg.backoff_min_ms = 100;
	if (pool->cfg.backoff_max_ms < pool->cfg.backoff_min_ms)
		pool->cfg.backoff_max_ms =
			pool->cfg.backoff_min_ms > 10000 ? pool->cfg.backoff_min_ms : 10000;
	if (pool->cfg.query_timeout_ms < 0)
		pool->cfg.query_timeout_ms = 0;
	db_error_set(&pool->last_error, -ECONNREFUSED, "no database connection");
	pool->dsn = strdup(cfg->dsn);
	pool->app_name = strdup(cfg->application_name ? cfg->application_name : "ddns");
	{
		bool oom;

		pool->options = options_with_dsn(cfg->dsn, cfg->options, &oom);
		if (oom)
			goto fail;
	}
	pool->ev_dispatch = event_new(base, -1, 0, dispatch_cb, pool);
	pool->conns = calloc(pool->cfg.n_conns, sizeof(*pool->conns));
	if (!pool->dsn || !pool->app_name || !pool->ev_dispatch || !pool->conns)
		goto fail;
	pool->cfg.dsn = pool->dsn;
	pool->cfg.application_name = pool->app_name;
	pool->cfg.options = pool->options;
	for (i = 0; i < pool->cfg.n_conns; i++) {
		struct db_conn *conn = &pool->conns[i];

		conn->pool = pool;
		conn->state = CONN_DOWN;
		conn->backoff_ms = pool->cfg.backoff_min_ms;
		conn->cancel_fd = -1;
		conn->stmt = -1;
		TAILQ_INIT(&conn->queue);
		conn->ev_timer = evtimer_new(base, conn_timer_cb, conn);
		if (!conn->ev_timer)
			goto fail;
		pool->n_conns++;
	}
	for (i = 0; i < pool->n_conns; i++)
		conn_connect(&pool->conns[i]);
	return pool;
fail:
	db_pool_destroy(pool);
	return NULL;
}

void db_pool_destroy(struct db_pool *pool)
{
	struct db_error err;
	unsigned i;

	if (!pool)
		return;
	assert(pool->in_callback == 0);
	pool->destroying = true;
	db_error_set(&err, -ECANCELED, "database pool shut down");
	for (i = 0; i < pool->n_conns; i++) {
		struct db_conn *conn = &pool->conns[i];
		struct request *req = conn->running;

		conn->running = NULL;
		if (req && req->kind != REQ_ROLLBACK)
			request_finish(req, NULL, &err);
		else
			request_free(req);
		fail_list(pool, &conn->queue, &err);
	}
	fail_list(pool, &pool->queue, &err);
	for (i = 0; i < pool->n_conns; i++) {
		conn_close(&pool->conns[i]);
		event_free(pool->conns[i].ev_timer);
	}
	if (pool->ev_dispatch)
		event_free(pool->ev_dispatch);
	free(pool->conns);
	free(pool->dsn);
	free(pool->app_name);
	free(pool->options);
	free(pool);
}

static int request_create(struct db_pool *pool, enum req_kind kind, const char *sql, int n_params,
			  const char *const *params, long long timeout_ms, struct request **ret_req)
{
	size_t size = sizeof(struct request), off;
	struct request *req;
	int i;

	if (n_params < 0 || n_params > 65535 || (n_params > 0 && !params))
		return -EINVAL;
	if (sql)
		size += strlen(sql) + 1;
	size += (size_t)n_params * sizeof(char *);
	for (i = 0; i < n_params; i++)
		if (params[i])
			size += strlen(params[i]) + 1;
	req = calloc(1, size + _Alignof(char *));
	if (!req)
		return -ENOMEM;
	req->pool = pool;
	req->kind = kind;
	req->n_params = n_params;
	off = sizeof(*req);
	req->params = (char **)((char *)req + off);
	off += (size_t)n_params * sizeof(char *);
	for (i = 0; i < n_params; i++) {
		if (!params[i])
			continue;
		req->params[i] = (char *)req + off;
		strcpy(req->params[i], params[i]);
		off += strlen(params[i]) + 1;
	}
	if (sql) {
		req->sql = (char *)req + off;
		strcpy(req->sql, sql);
	}
	if (timeout_ms < 0)
		timeout_ms = pool->cfg.query_timeout_ms;
	req->timeout_ms = timeout_ms;
	if (timeout_ms > 0) {
		struct timeval tv = ms_to_tv(timeout_ms);

		req->timer = evtimer_new(pool->base, request_timer_cb, req);
		if (!req->timer || evtimer_add(req->timer, &tv) < 0) {
			request_free(req);
			return -ENOMEM;
		}
	}
	*ret_req = req;
	return 0;
}

/* Whether the pool takes one more request: -ECANCELED while destroyed, -EAGAIN when full. */
static int pool_admit(const struct db_pool *pool)
{
	if (pool->destroying)
		return -ECANCELED;
	if (pool->n_queued >= pool->cfg.max_queue)
		return -EAGAIN;
	return 0;
}

/* Queues @req (ownership moves to the pool) and wakes the dispatcher. */
static void enqueue(struct db_pool *pool, struct request *req)
{
	req->where = IN_POOL_QUEUE;
	TAILQ_INSERT_TAIL(&pool->queue, req, link);
	pool->n_queued++;
	schedule_dispatch(pool);
}

int db_pool_query(struct db_pool *pool, const char *sql, int n_params, const char *const *params,
		  long long timeout_ms, db_result_cb cb, void *arg)
{
	struct request *req;
	int r;

	if (!pool || !sql || !cb)
		return -EINVAL;
	r = pool_admit(pool);
	if (r < 0)
		return r;
	r = request_create(pool, REQ_QUERY, sql, n_params, params, timeout_ms, &req);
	if (r < 0)
		return r;
	req->cb = cb;
	req->arg = arg;
	enqueue(pool, req);
	return 0;
}

int db_pool_acquire(struct db_pool *pool, long long timeout_ms, db_acquire_cb cb, void *arg)
{
	struct request *req;
	int r;

	if (!pool || !cb)
		return -EINVAL;
	r = pool_admit(pool);
	if (r < 0)
		return r;
	r = request_create(pool, REQ_ACQUIRE, NULL, 0, NULL, timeout_ms, &req);
	if (r < 0)
		return r;
	req->acb = cb;
	req->arg = arg;
	enqueue(pool, req);
	return 0;
}

int db_conn_query(struct db_conn *conn, const char *sql, int n_params, const char *const *params,
		  long long timeout_ms, db_result_cb cb, void *arg)
{
	struct request *req;
	int r;

	if (!conn || !sql || !cb || !conn->leased)
		return -EINVAL;
	if (conn->pool->destroying)
		return -ECANCELED;
	if (conn->broken || conn->releasing)
		return -ENOTCONN;
	r = request_create(conn->pool, REQ_QUERY, sql, n_params, params, timeout_ms, &req);
	if (r < 0)
		return r;
	req->cb = cb;
	req->arg = arg;
	req->conn = conn;
	req->where = IN_CONN_QUEUE;
	TAILQ_INSERT_TAIL(&conn->queue, req, link);
	schedule_dispatch(conn->pool);
	return 0;
}

void db_conn_release(struct db_conn *conn)
{
	if (!conn || !conn->leased || conn->releasing || conn->pool->destroying)
		return;
	conn->releasing = true;
	schedule_dispatch(conn->pool);
}
