#pragma once

/*
 * db: PostgreSQL access through libpq.
 *
 * Two halves:
 *
 *  - a synchronous API for tools, daemon startup and ddns-cache (db_connect,
 *    db_exec, db_exec_prepared);
 *  - an asynchronous pool on a libevent event_base for daemons
 *    (db_pool_query for one statement on any connection, db_pool_acquire +
 *    db_conn_query + db_conn_release for several statements, such as a
 *    transaction, on one connection).
 *
 * SQL is always parameterized: values travel as $1..$n parameters in text
 * form, never inside the SQL text.
 *
 * The pool prepares statements by their SQL text, per connection: the first
 * use of a text on a connection parses it under a name ("ddns_<n>", one more
 * round trip), later uses only bind and execute it. A text that fails to
 * parse is not kept, and reports the server's error as an unnamed statement
 * would. Up to DB_PREPARED_MAX texts are kept per connection, for as long as
 * its session lasts (a reconnect starts empty); further texts run unnamed.
 * After DDL that changes the columns a statement returns, PostgreSQL refuses
 * to run it as prepared ("cached plan must not change result type", SQLSTATE
 * 0A000; or 26000 when the statement was dropped behind the pool's back):
 * the text is prepared again and the request runs once more, unless it is
 * part of a borrowed connection's sequence (a transaction), where that one
 * request fails and the next use prepares the text again. Prepared statements need a session of
 * their own: not for a pooler in transaction mode in front of PostgreSQL.
 *
 * Errors are returned as a negative errno and described in a struct db_error:
 *
 *   -ECONNREFUSED  could not connect (message from libpq)
 *   -ECONNRESET    the connection broke during a query
 *   -ENOTCONN      the leased connection is broken; release it
 *   -ETIMEDOUT     the query or the wait for a connection timed out
 *   -EIO           the server answered with an error (sqlstate set)
 *   -ECANCELED     the pool was destroyed before the request completed
 *   -EAGAIN        the pool's queue of waiting requests is full
 *   -ENOMEM        out of memory
 *
 * No message produced here contains a DSN password: connection strings are
 * passed through db_dsn_redact() before they are quoted.
 */

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct event_base;

#define DB_ERROR_MAX 512

/* SQL texts the pool keeps prepared per connection. */
#define DB_PREPARED_MAX 64

struct db_error {
	int code;               /* the negative errno also returned */
	char sqlstate[6];       /* "42601"; "" when the error is not from the server */
	char constraint[64];    /* violated constraint, e.g. "users_email_key"; or "" */
	char msg[DB_ERROR_MAX]; /* one line, lower case, no final period */
};

/* Fills @err (may be NULL) and returns @code; printf-style message. */
int db_error_set(struct db_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True when @err is a server error with SQLSTATE @sqlstate ("23505"). */
bool db_error_is(const struct db_error *err, const char *sqlstate);

/*
 * Copies @dsn into @buf with its passwords replaced by "xxxxx": the password of
 * a URL's user information (found the way libpq finds it: a '?' in it does not
 * end it), a "password=" or "sslpassword=" URL query parameter, or such a key of
 * a key=value string. Always NUL-terminates; a DSN that does
 * not fit is cut. Returns @buf.
 */
const char *db_dsn_redact(const char *dsn, char *buf, size_t size);

/* ---- synchronous ------------------------------------------------------- */

/*
 * Connects to @dsn (a postgresql:// URL or key=value string) and waits.
 * @application_name and @connect_timeout_s (0: libpq's default, none) apply
 * unless the DSN sets them itself. On success *ret_conn is a new connection
 * (owned by the caller, PQfinish it).
 */
int db_connect(const char *dsn, const char *application_name, int connect_timeout_s,
	       PGconn **ret_conn, struct db_error *err);
/*
 * The same with libpq's "options" (e.g. "-c jit=off"); NULL: none. The
 * DSN's own options and PGOPTIONS are added after them (on the same setting
 * they win), not dropped.
 */
int db_connect_options(const char *dsn, const char *application_name, const char *options,
		       int connect_timeout_s, PGconn **ret_conn, struct db_error *err);

/*
 * Runs one statement with @n_params text parameters (NULL entries are SQL
 * NULL) via PQexecParams. On success *ret_res (may be NULL: the result is then
 * discarded) is the result, owned by the caller (PQclear it). A server error
 * is -EIO with the SQLSTATE in @err; a broken connection is -ECONNRESET.
 */
int db_exec(PGconn *conn, const char *sql, int n_params, const char *const *params,
	    PGresult **ret_res, struct db_error *err);

/*
 * Runs the statement prepared as @name in @conn's session (PQexecPrepared),
 * preparing it from @sql first when the session lacks it (SQLSTATE 26000:
 * a new connection, or DEALLOCATE behind our back) or must prepare it anew
 * (0A000: its result columns changed after DDL). Saves the parse and plan
 * of every run. Outside a transaction block only: the refused first attempt
 * would abort it (-EINVAL inside one). @name: a lower-case letter, then
 * lower-case letters, digits and '_' (-EINVAL otherwise). Otherwise as
 * db_exec.
 */
int db_exec_prepared(PGconn *conn, const char *name, const char *sql, int n_params,
		     const char *const *params, PGresult **ret_res, struct db_error *err);

/*
 * Runs a whole script of several statements with the simple query protocol
 * (PQexec). Only for trusted SQL such as our own migration files: it takes no
 * parameters. Fails with the first error.
 */
int db_exec_script(PGconn *conn, const char *sql, struct db_error *err);

/* ---- asynchronous pool ------------------------------------------------- */

struct db_pool;
struct db_conn;

struct db_pool_config {
	const char *dsn;              /* borrowed, copied by db_pool_create */
	const char *application_name; /* borrowed, copied; NULL: "ddns" */
	const char *options;        /* borrowed, copied: libpq's "options", as db_connect_options */
	unsigned n_conns;           /* connections; 0: 2 */
	unsigned max_queue;         /* requests waiting for a connection; 0: 1024 */
	long long query_timeout_ms; /* default per request; 0: none */
	long long connect_timeout_ms; /* per attempt; 0: 5000 */
	long long backoff_min_ms;     /* first reconnect delay; 0: 100 */
	long long backoff_max_ms;     /* doubled up to; 0: 10000 */
};

/*
 * Called exactly once per accepted request. On success @res is the result
 * (borrowed: cleared after the callback returns) and @err is NULL; on failure
 * @res is NULL and @err says why. The callback may submit further requests and
 * release connections, but must not destroy the pool.
 */
typedef void (*db_result_cb)(PGresult *res, const struct db_error *err, void *arg);

/*
 * Called exactly once per accepted acquire. On success @conn is lent to the
 * caller until db_conn_release(); on failure @conn is NULL.
 */
typedef void (*db_acquire_cb)(struct db_conn *conn, const struct db_error *err, void *arg);

/*
 * Creates a pool on @base (borrowed; must outlive the pool) and starts
 * connecting all its connections in the background. Returns NULL on bad
 * configuration or out of memory. A connection that fails is retried with
 * exponential backoff; while no connection is up, waiting requests fail fast
 * with the connection error instead of waiting for their timeout.
 */
struct db_pool *db_pool_create(struct event_base *base, const struct db_pool_config *cfg);

/*
 * Fails every waiting and running request with -ECANCELED (each callback is
 * called once, from inside this function), closes the connections and frees
 * the pool. Connections still lent out become invalid: release them first.
 * Must not be called from a pool callback. NULL-safe.
 */
void db_pool_destroy(struct db_pool *pool);

/*
 * Queues one statement for the next free connection. @sql and @params are
 * copied. @timeout_ms covers the wait for a connection and the query; < 0
 * uses the pool default, 0 none. When it expires the query is cancelled
 * (PQcancel, on a thread of its own: it blocks) and the callback gets
 * -ETIMEDOUT; the connection stays usable, and serves the next request only
 * once the cancelled query ended and the cancel request is done with.
 * Returns 0 when accepted (the callback will be called once, never from inside
 * this function), or -EAGAIN / -ENOMEM (the callback is never called).
 */
int db_pool_query(struct db_pool *pool, const char *sql, int n_params, const char *const *params,
		  long long timeout_ms, db_result_cb cb, void *arg);

/*
 * Borrows one connection for a sequence of statements (BEGIN ... COMMIT).
 * @timeout_ms bounds the wait (< 0: the pool's query timeout, 0: none).
 * Returns 0 when accepted (the callback will be called once), or -EAGAIN /
 * -ENOMEM.
 */
int db_pool_acquire(struct db_pool *pool, long long timeout_ms, db_acquire_cb cb, void *arg);

/*
 * Queues one statement on a borrowed connection; statements queued on one
 * connection run in order. Same contract as db_pool_query, and -ENOTCONN when
 * the connection broke (release it) or it is being released.
 */
int db_conn_query(struct db_conn *conn, const char *sql, int n_params, const char *const *params,
		  long long timeout_ms, db_result_cb cb, void *arg);

/*
 * Gives a borrowed connection back. Statements still queued on it run first
 * (their callbacks are called); a transaction left open or failed is rolled
 * back before the connection serves anybody else. @conn must not be used
 * afterwards. May be called from a callback.
 */
void db_conn_release(struct db_conn *conn);

/* Connections currently established (for /readyz and tests). */
unsigned db_pool_n_ready(const struct db_pool *pool);
