#include "shared/db.h"
#include "tests/integration/testdb.h"
#include "tests/unit/check_main.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *url;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- DSN redaction (pure) ---------------------------------------------- */

struct redact_case {
	const char *dsn, *want;
};

static const struct redact_case redact_cases[] = {
	{ "postgresql://u:hunter2@db:5432/ddns", "postgresql://u:xxxxx@db:5432/ddns" },
	{ "postgres://u:p%40ss@h1,h2/ddns?sslmode=require",
	  "postgres://u:xxxxx@h1,h2/ddns?sslmode=require" },
	{ "postgresql://u@h/d?password=hunter2&sslmode=disable",
	  "postgresql://u@h/d?password=xxxxx&sslmode=disable" },
	{ "postgresql://h/d", "postgresql://h/d" },
	{ "host=db user=u password=hunter2 dbname=d", "host=db user=u password=xxxxx dbname=d" },
	{ "password = 'hun ter\\'2' host=db", "password = 'xxxxx' host=db" },
	{ "host=db dbname=d", "host=db dbname=d" },
	/* libpq ends the user information at the first '@' before '/', not at '?' */
	{ "postgresql://u:pa?ss@db:5432/ddns", "postgresql://u:xxxxx@db:5432/ddns" },
	{ "postgresql://u:pa?ss@db", "postgresql://u:xxxxx@db" },
	{ "postgresql://u:p@ss@db/ddns", "postgresql://u:xxxxx@db/ddns" },
	{ "postgresql://u:pw@db?password=a@b", "postgresql://u:xxxxx@db?password=xxxxx" },
	{ "postgresql://u@db/d?sslpassword=hunter2", "postgresql://u@db/d?sslpassword=xxxxx" },
	{ "host=db sslpassword=hunter2 sslkey=k", "host=db sslpassword=xxxxx sslkey=k" },
};

START_TEST(test_redact)
{
	const struct redact_case *c = &redact_cases[_i];
	char buf[256];

	ck_assert_str_eq(db_dsn_redact(c->dsn, buf, sizeof(buf)), c->want);
}
END_TEST

START_TEST(test_redact_truncates)
{
	char buf[12];

	db_dsn_redact("postgresql://u:hunter2@db/ddns", buf, sizeof(buf));
	ck_assert_str_eq(buf, "postgresql:");
	ck_assert_ptr_null(strstr(buf, "hunter2"));
}
END_TEST

/* ---- synchronous --------------------------------------------------------- */

static PGconn *connect_or_fail(void)
{
	struct db_error err;
	PGconn *conn = NULL;
	int r = db_connect(url, "ddns-test", 5, &conn, &err);

	ck_assert_msg(r == 0, "%s", err.msg);
	return conn;
}

static const char *const param_values[] = {
	"plain",
	"O'Reilly",
	"'; DROP TABLE users; --",
	"\"quoted\" and \\backslash\\ and $1",
	"ctl \x01\x02\x1b\x7f tab\t nl\n",
	"caf\xc3\xa9",
};

START_TEST(test_exec_params)
{
	const char *params[2] = { param_values[_i], "42" };
	PGconn *conn = connect_or_fail();
	struct db_error err;
	PGresult *res = NULL;
	int r;

	r = db_exec(conn, "SELECT $1::text, length($1::text), $2::int + 1", 2, params, &res, &err);
	ck_assert_msg(r == 0, "%s", err.msg);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), param_values[_i]);
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "43");
	PQclear(res);
	PQfinish(conn);
}
END_TEST

START_TEST(test_exec_null_param)
{
	const char *params[1] = { NULL };
	PGconn *conn = connect_or_fail();
	struct db_error err;
	PGresult *res = NULL;

	ck_assert_int_eq(db_exec(conn, "SELECT $1::text IS NULL", 1, params, &res, &err), 0);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	PQfinish(conn);
}
END_TEST

struct error_case {
	const char *sql;
	int code;
	const char *sqlstate, *msg_part;
};

static const struct error_case error_cases[] = {
	{ "SELEC 1", -EIO, "42601", "syntax error" },
	{ "SELECT 1/0", -EIO, "22012", "division by zero" },
	{ "SELECT * FROM no_such_table", -EIO, "42P01", "no_such_table" },
	{ "SELECT pg_terminate_backend(pg_backend_pid())", -ECONNRESET, "", "connection" },
};

START_TEST(test_exec_error)
{
	const struct error_case *c = &error_cases[_i];
	PGconn *conn = connect_or_fail();
	struct db_error err;
	PGresult *res = (PGresult *)&err; /* must stay untouched */
	char want[32];
	int r;

	r = db_exec(conn, c->sql, 0, NULL, &res, &err);
	ck_assert_int_eq(r, c->code);
	ck_assert_int_eq(err.code, c->code);
	ck_assert_ptr_eq(res, (PGresult *)&err);
	ck_assert_str_eq(err.sqlstate, c->sqlstate);
	ck_assert_msg(strstr(err.msg, c->msg_part), "message: %s", err.msg);
	if (*c->sqlstate) {
		snprintf(want, sizeof(want), "(SQLSTATE %s)", c->sqlstate);
		ck_assert_msg(strstr(err.msg, want), "message: %s", err.msg);
		ck_assert(db_error_is(&err, c->sqlstate));
	}
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	PQfinish(conn);
}
END_TEST

/* db_exec_prepared: prepared once, prepared again when the session lost it or DDL changed it */
START_TEST(test_exec_prepared)
{
	static const char sql[] = "SELECT * FROM prep_t WHERE a > $1::int ORDER BY a";
	const char *params[1] = { "1" };
	PGconn *conn = connect_or_fail();
	struct db_error err;
	PGresult *res = NULL;

	ck_assert_int_eq(db_exec_script(conn,
					"CREATE TEMP TABLE prep_t (a int); "
					"INSERT INTO prep_t VALUES (1), (2), (3)",
					&err),
			 0);
	/* the first run prepares it */
	ck_assert_msg(db_exec_prepared(conn, "prep_a", sql, 1, params, &res, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(PQntuples(res), 2);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "2");
	PQclear(res);
	/* later runs use it: it exists in the session */
	ck_assert_int_eq(
		db_exec(conn, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'prep_a'",
			0, NULL, &res, &err),
		0);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "1");
	PQclear(res);
	ck_assert_int_eq(
		db_exec(conn,
			"SELECT prepare_time FROM pg_prepared_statements WHERE name = 'prep_a'", 0,
			NULL, &res, &err),
		0);
	{
		char *first = strdup(PQgetvalue(res, 0, 0));
		PGresult *again = NULL;

		PQclear(res);
		ck_assert_ptr_nonnull(first);
		usleep(2000);
		ck_assert_int_eq(db_exec_prepared(conn, "prep_a", sql, 1, params, NULL, &err), 0);
		ck_assert_int_eq(db_exec(conn,
					 "SELECT prepare_time FROM pg_prepared_statements "
					 "WHERE name = 'prep_a'",
					 0, NULL, &again, &err),
				 0);
		ck_assert_msg(strcmp(PQgetvalue(again, 0, 0), first) == 0,
			      "prepared again: %s, first %s", PQgetvalue(again, 0, 0), first);
		PQclear(again);
		free(first);
	}
	/* inside a transaction: refused, the transaction untouched */
	ck_assert_int_eq(db_exec_script(conn, "BEGIN", &err), 0);
	ck_assert_int_eq(db_exec_prepared(conn, "prep_a", sql, 1, params, NULL, &err), -EINVAL);
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_INTRANS);
	ck_assert_int_eq(db_exec_script(conn, "COMMIT", &err), 0);
	/* dropped behind its back (26000): prepared again */
	ck_assert_int_eq(db_exec_script(conn, "DEALLOCATE prep_a", &err), 0);
	ck_assert_msg(db_exec_prepared(conn, "prep_a", sql, 1, params, &res, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(PQntuples(res), 2);
	PQclear(res);
	/* its result columns changed (0A000): prepared again, the new column seen */
	ck_assert_int_eq(
		db_exec_script(conn, "ALTER TABLE prep_t ADD COLUMN b text DEFAULT 'x'", &err), 0);
	ck_assert_msg(db_exec_prepared(conn, "prep_a", sql, 1, params, &res, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(PQnfields(res), 2);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "x");
	PQclear(res);
	/* a statement that cannot be prepared: the server's error */
	ck_assert_int_eq(db_exec_prepared(conn, "prep_bad", "SELEC 1", 0, NULL, NULL, &err), -EIO);
	ck_assert_str_eq(err.sqlstate, "42601");
	/* a name that is not a plain identifier */
	ck_assert_int_eq(db_exec_prepared(conn, "x; DROP TABLE prep_t", sql, 1, params, NULL, &err),
			 -EINVAL);
	ck_assert_int_eq(db_exec_prepared(conn, "", sql, 1, params, NULL, &err), -EINVAL);
	ck_assert_int_eq(db_exec_prepared(conn, "1x", sql, 1, params, NULL, &err), -EINVAL);
	ck_assert_int_eq(db_exec_prepared(conn, "Prep", sql, 1, params, NULL, &err), -EINVAL);
	PQfinish(conn);
}
END_TEST

START_TEST(test_exec_script)
{
	PGconn *conn = connect_or_fail();
	struct db_error err;
	PGresult *res = NULL;

	ck_assert_int_eq(
		db_exec_script(conn, "CREATE TEMP TABLE s (a int); INSERT INTO s VALUES (1), (2);",
			       &err),
		0);
	ck_assert_int_eq(db_exec(conn, "SELECT sum(a) FROM s", 0, NULL, &res, &err), 0);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "3");
	PQclear(res);
	ck_assert_int_eq(db_exec_script(conn, "INSERT INTO s VALUES (3); SELEC 2;", &err), -EIO);
	ck_assert_str_eq(err.sqlstate, "42601");
	PQfinish(conn);
}
END_TEST

START_TEST(test_connect_refused)
{
	const char *dsns[] = {
		"postgresql://u:hunter2@127.0.0.1:1/ddns",
		"host=127.0.0.1 port=1 user=u password=hunter2 dbname=ddns",
		"postgresql://u:hunter2?x@127.0.0.1:1/ddns", /* libpq: password "hunter2?x" */
	};
	struct db_error err;
	PGconn *conn = (PGconn *)&err;
	long long t0 = now_ms();

	ck_assert_int_eq(db_connect(dsns[_i], "ddns-test", 2, &conn, &err), -ECONNREFUSED);
	ck_assert_ptr_eq(conn, (PGconn *)&err);
	ck_assert_msg(now_ms() - t0 < 3000, "took %lld ms", now_ms() - t0);
	ck_assert_msg(strstr(err.msg, "could not connect to database"), "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "xxxxx"), "%s", err.msg);
	ck_assert_msg(!strstr(err.msg, "hunter2"), "password in message: %s", err.msg);
}
END_TEST

START_TEST(test_connect_sets_application_name)
{
	PGconn *conn = connect_or_fail();
	struct db_error err;
	PGresult *res = NULL;

	ck_assert_int_eq(db_exec(conn, "SHOW application_name", 0, NULL, &res, &err), 0);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "ddns-test");
	PQclear(res);
	PQfinish(conn);
}
END_TEST

/*
 * Connects to @dsn with @options and checks the three settings @names
 * (current_setting) against @want; the message names the setting.
 */
static void assert_session(const char *dsn, const char *options, const char *const names[3],
			   const char *const want[3])
{
	PGconn *conn = NULL;
	struct db_error err;
	PGresult *res = NULL;
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT current_setting('%s'), current_setting('%s'), current_setting('%s')",
		 names[0], names[1], names[2]);
	ck_assert_msg(db_connect_options(dsn, "ddns-test", options, 5, &conn, &err) == 0, "%s",
		      err.msg);
	ck_assert_int_eq(db_exec(conn, sql, 0, NULL, &res, &err), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(strcmp(PQgetvalue(res, 0, i), want[i]) == 0,
			      "%s is \"%s\", not \"%s\"", names[i], PQgetvalue(res, 0, i), want[i]);
	PQclear(res);
	PQfinish(conn);
}

/* db_connect_options: the session starts with the settings given */
START_TEST(test_connect_options)
{
	assert_session(url, "-c jit=off -c enable_seqscan=off",
		       (const char *const[]){ "jit", "enable_seqscan", "application_name" },
		       (const char *const[]){ "off", "off", "ddns-test" });
}
END_TEST

/* the DSN's own options add to those given (and win on the same setting) */
START_TEST(test_connect_options_dsn)
{
	char dsn[1024];

	if (strncmp(url, "postgres", 8) == 0)
		snprintf(
			dsn, sizeof(dsn),
			"%s%soptions=-c%%20statement_timeout%%3D1234%%20-c%%20enable_seqscan%%3Don",
			url, strchr(url, '?') ? "&" : "?");
	else
		snprintf(dsn, sizeof(dsn),
			 "%s options='-c statement_timeout=1234 -c enable_seqscan=on'", url);
	assert_session(dsn, "-c jit=off -c enable_seqscan=off",
		       (const char *const[]){ "jit", "statement_timeout", "enable_seqscan" },
		       (const char *const[]){ "off", "1234ms", "on" });
}
END_TEST

/* ---- asynchronous ------------------------------------------------------- */

struct outcome {
	int calls;
	int code; /* 0 or err->code */
	char sqlstate[6];
	char msg[DB_ERROR_MAX];
	char v0[64], v1[64];
	long long at_ms;
	int *done; /* incremented on each call */
};

static void on_result(PGresult *res, const struct db_error *err, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->at_ms = now_ms();
	(*o->done)++;
	ck_assert((res == NULL) != (err == NULL));
	if (err) {
		o->code = err->code;
		snprintf(o->sqlstate, sizeof(o->sqlstate), "%s", err->sqlstate);
		snprintf(o->msg, sizeof(o->msg), "%s", err->msg);
		return;
	}
	if (PQntuples(res) > 0 && PQnfields(res) > 0)
		snprintf(o->v0, sizeof(o->v0), "%s", PQgetvalue(res, 0, 0));
	if (PQntuples(res) > 0 && PQnfields(res) > 1)
		snprintf(o->v1, sizeof(o->v1), "%s", PQgetvalue(res, 0, 1));
}

static void break_loop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs @base until *@done reaches @want or @limit_ms pass; returns *@done. */
static int run_until(struct event_base *base, const int *done, int want, long long limit_ms)
{
	long long deadline = now_ms() + limit_ms;
	struct timeval tick = { 0, 20000 };
	struct event *ev = evtimer_new(base, break_loop, base);

	ck_assert_ptr_nonnull(ev);
	while (*done < want && now_ms() < deadline) {
		evtimer_add(ev, &tick);
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(ev);
	return *done;
}

static struct db_pool *pool_or_fail(struct event_base *base, const char *dsn, unsigned n)
{
	struct db_pool_config cfg = {
		.dsn = dsn,
		.application_name = "ddns-test",
		.n_conns = n,
		.max_queue = 64,
		.connect_timeout_ms = 2000,
	};
	struct db_pool *pool = db_pool_create(base, &cfg);

	ck_assert_ptr_nonnull(pool);
	return pool;
}

/* Runs one statement through @pool and waits for it; fills @o. */
static void pool_run(struct event_base *base, struct db_pool *pool, const char *sql, int n_params,
		     const char *const *params, long long timeout_ms, struct outcome *o)
{
	int done = 0;

	memset(o, 0, sizeof(*o));
	o->done = &done;
	ck_assert_int_eq(db_pool_query(pool, sql, n_params, params, timeout_ms, on_result, o), 0);
	ck_assert_int_eq(run_until(base, &done, 1, 10000), 1);
	ck_assert_int_eq(o->calls, 1);
	o->done = NULL;
}

/* a pool's options reach every session it opens */
START_TEST(test_pool_options)
{
	struct event_base *base = event_base_new();
	struct db_pool_config cfg = {
		.dsn = url,
		.application_name = "ddns-test",
		.options = "-c enable_seqscan=off",
		.n_conns = 1,
		.connect_timeout_ms = 2000,
	};
	struct db_pool *pool = db_pool_create(base, &cfg);
	struct outcome o;

	ck_assert_ptr_nonnull(pool);
	pool_run(base, pool, "SELECT current_setting('enable_seqscan'), 1", 0, NULL, 5000, &o);
	ck_assert_msg(o.code == 0, "%s", o.msg);
	ck_assert_str_eq(o.v0, "off");
	db_pool_destroy(pool);
	event_base_free(base);
}
END_TEST

START_TEST(test_pool_parallel)
{
	enum { N = 6 };
	struct event_base *base = event_base_new();
	struct db_pool *pool = pool_or_fail(base, url, 2);
	struct outcome o[N];
	char nums[N][8], pids[2][64] = { "", "" };
	int done = 0, i, n_pids = 0;
	long long t0 = now_ms();

	memset(o, 0, sizeof(o));
	for (i = 0; i < N; i++) {
		const char *params[1] = { nums[i] };

		snprintf(nums[i], sizeof(nums[i]), "%d", i);
		o[i].done = &done;
		ck_assert_int_eq(db_pool_query(pool,
					       "SELECT $1::int * 10, pg_backend_pid() FROM "
					       "pg_sleep(0.2)",
					       1, params, 5000, on_result, &o[i]),
				 0);
	}
	ck_assert_int_eq(done, 0); /* never called from inside db_pool_query */
	ck_assert_int_eq(run_until(base, &done, N, 10000), N);
	for (i = 0; i < N; i++) {
		char want[8];
		int j;

		snprintf(want, sizeof(want), "%d", i * 10);
		ck_assert_int_eq(o[i].calls, 1);
		ck_assert_msg(o[i].code == 0, "%s", o[i].msg);
		ck_assert_str_eq(o[i].v0, want);
		for (j = 0; j < n_pids && strcmp(pids[j], o[i].v1) != 0; j++)
			;
		if (j == n_pids) {
			ck_assert_int_lt(n_pids, 2); /* never more backends than connections */
			snprintf(pids[n_pids++], sizeof(pids[0]), "%s", o[i].v1);
		}
	}
	ck_assert_int_eq(n_pids, 2); /* both connections were used */
	/* 6 queries of 200 ms on 2 connections: three rounds */
	ck_assert_int_ge(now_ms() - t0, 550);
	ck_assert_int_eq(db_pool_n_ready(pool), 2);
	db_pool_destroy(pool);
	ck_assert_int_eq(done, N);
	event_base_free(base);
}
END_TEST

START_TEST(test_pool_timeout)
{
	struct event_base *base = event_base_new();
	struct db_pool *pool = pool_or_fail(base, url, 1);
	struct outcome slow = { 0 }, after = { 0 };
	int done = 0;
	long long t0 = now_ms();

	slow.done = after.done = &done;
	ck_assert_int_eq(db_pool_query(pool, "SELECT pg_sleep(5)", 0, NULL, 200, on_result, &slow),
			 0);
	ck_assert_int_eq(
		db_pool_query(pool, "SELECT 'still usable'", 0, NULL, 3000, on_result, &after), 0);
	ck_assert_int_eq(run_until(base, &done, 2, 4000), 2);
	ck_assert_int_eq(slow.calls, 1);
	ck_assert_int_eq(slow.code, -ETIMEDOUT);
	ck_assert_msg(strstr(slow.msg, "timed out"), "%s", slow.msg);
	ck_assert_int_lt(slow.at_ms - t0, 1500);
	ck_assert_int_eq(after.calls, 1);
	ck_assert_msg(after.code == 0, "%s", after.msg);
	ck_assert_str_eq(after.v0, "still usable");
	ck_assert_int_lt(after.at_ms - t0, 2500); /* the sleep was cancelled, not waited for */
	db_pool_destroy(pool);
	ck_assert_int_eq(slow.calls + after.calls, 2);
	event_base_free(base);
}
END_TEST

START_TEST(test_pool_connect_refused)
{
	struct event_base *base = event_base_new();
	struct db_pool *pool =
		pool_or_fail(base, "postgresql://u:hunter2@127.0.0.1:1/ddns?connect_timeout=2", 2);
	struct outcome o = { 0 };
	int done = 0;

	o.done = &done;
	ck_assert_int_eq(db_pool_query(pool, "SELECT 1", 0, NULL, 0, on_result, &o), 0);
	ck_assert_int_eq(run_until(base, &done, 1, 3000), 1); /* fails fast, no timeout given */
	ck_assert_int_eq(o.code, -ECONNREFUSED);
	ck_assert_msg(strstr(o.msg, "could not connect"), "%s", o.msg);
	ck_assert_msg(!strstr(o.msg, "hunter2"), "%s", o.msg);
	ck_assert_int_eq(db_pool_n_ready(pool), 0);
	db_pool_destroy(pool);
	ck_assert_int_eq(o.calls, 1);
	event_base_free(base);
}
END_TEST

START_TEST(test_pool_queue_full)
{
	struct event_base *base = event_base_new();
	struct db_pool_config cfg = { .dsn = url, .n_conns = 1, .max_queue = 2 };
	struct db_pool *pool = db_pool_create(base, &cfg);
	struct outcome o[3];
	int done = 0, i;

	memset(o, 0, sizeof(o));
	for (i = 0; i < 3; i++)
		o[i].done = &done;
	ck_assert_int_eq(db_pool_query(pool, "SELECT 1", 0, NULL, -1, on_result, &o[0]), 0);
	ck_assert_int_eq(db_pool_query(pool, "SELECT 2", 0, NULL, -1, on_result, &o[1]), 0);
	ck_assert_int_eq(db_pool_query(pool, "SELECT 3", 0, NULL, -1, on_result, &o[2]), -EAGAIN);
	ck_assert_int_eq(run_until(base, &done, 2, 5000), 2);
	ck_assert_str_eq(o[1].v0, "2");
	db_pool_destroy(pool);
	ck_assert_int_eq(o[2].calls, 0); /* refused requests are never called back */
	event_base_free(base);
}
END_TEST

/* A transaction driven step by step from the callbacks. */
struct txn {
	struct db_conn *conn;
	const char *const *steps; /* NULL-terminated */
	int step;
	bool commit_on_release;
	int acquired, done;
	int code;
	char msg[DB_ERROR_MAX];
};

static void txn_next(struct txn *t);

static void txn_result(PGresult *res, const struct db_error *err, void *arg)
{
	struct txn *t = arg;

	if (err) {
		t->code = err->code;
		snprintf(t->msg, sizeof(t->msg), "%s", err->msg);
		db_conn_release(t->conn);
		t->done++;
		return;
	}
	t->step++;
	txn_next(t);
}

static void txn_next(struct txn *t)
{
	const char *params[1] = { "from a transaction" };
	int r;

	if (!t->steps[t->step]) {
		db_conn_release(t->conn); /* rolls back what is left open */
		t->done++;
		return;
	}
	r = db_conn_query(t->conn, t->steps[t->step], strstr(t->steps[t->step], "$1") ? 1 : 0,
			  params, 3000, txn_result, t);
	ck_assert_int_eq(r, 0);
}

static void txn_acquired(struct db_conn *conn, const struct db_error *err, void *arg)
{
	struct txn *t = arg;

	t->acquired++;
	ck_assert_msg(conn && !err, "%s", err ? err->msg : "");
	t->conn = conn;
	txn_next(t);
}

static void txn_case(const char *const *steps, const char *want_count, int want_code)
{
	char dsn[1024], name[64];
	struct event_base *base = event_base_new();
	struct db_pool *pool;
	struct txn t = { .steps = steps };
	struct outcome check = { 0 };
	int done = 0;
	PGconn *conn = NULL;
	struct db_error err;

	testdb_create(dsn, sizeof(dsn), name, sizeof(name));
	ck_assert_int_eq(db_connect(dsn, NULL, 5, &conn, &err), 0);
	ck_assert_int_eq(db_exec(conn, "CREATE TABLE t (v text)", 0, NULL, NULL, &err), 0);

	pool = pool_or_fail(base, dsn, 1); /* one connection: the check below reuses it */
	ck_assert_int_eq(db_pool_acquire(pool, 3000, txn_acquired, &t), 0);
	ck_assert_int_eq(t.acquired, 0);
	ck_assert_int_eq(run_until(base, &t.done, 1, 5000), 1);
	ck_assert_int_eq(t.acquired, 1);
	ck_assert_msg(t.code == want_code, "%d: %s", t.code, t.msg);

	/* on the same connection: an open transaction would see its own row */
	check.done = &done;
	ck_assert_int_eq(db_pool_query(pool,
				       "SELECT count(*), txid_current_if_assigned() IS NULL FROM t",
				       0, NULL, 3000, on_result, &check),
			 0);
	ck_assert_int_eq(run_until(base, &done, 1, 5000), 1);
	ck_assert_msg(check.code == 0, "%s", check.msg);
	ck_assert_str_eq(check.v0, want_count);
	ck_assert_str_eq(check.v1, "t"); /* not inside a transaction any more */

	/* and from another session */
	PGresult *res = NULL;
	ck_assert_int_eq(db_exec(conn, "SELECT count(*) FROM t", 0, NULL, &res, &err), 0);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), want_count);
	PQclear(res);

	db_pool_destroy(pool);
	event_base_free(base);
	PQfinish(conn);
	testdb_drop(name);
}

START_TEST(test_txn_commit)
{
	static const char *const steps[] = { "BEGIN", "INSERT INTO t VALUES ($1)",
					     "INSERT INTO t VALUES ('two')", "COMMIT", NULL };

	txn_case(steps, "2", 0);
}
END_TEST

START_TEST(test_txn_rollback_on_release)
{
	static const char *const steps[] = { "BEGIN", "INSERT INTO t VALUES ($1)",
					     "INSERT INTO t VALUES ('two')", NULL };

	txn_case(steps, "0", 0);
}
END_TEST

START_TEST(test_txn_failed_rollback_on_release)
{
	static const char *const steps[] = { "BEGIN", "INSERT INTO t VALUES ($1)", "SELEC oops",
					     NULL };

	txn_case(steps, "0", -EIO);
}
END_TEST

static void count_acquire(struct db_conn *conn, const struct db_error *err, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	(*o->done)++;
	o->code = err ? err->code : 0;
}

START_TEST(test_pool_destroy_pending)
{
	enum { N = 5 };
	struct event_base *base = event_base_new();
	struct db_pool *pool = pool_or_fail(base, url, 1);
	struct outcome o[N], acq = { 0 };
	int done = 0, i;

	memset(o, 0, sizeof(o));
	acq.done = &done;
	for (i = 0; i < N; i++) {
		o[i].done = &done;
		ck_assert_int_eq(
			db_pool_query(pool, "SELECT pg_sleep(2)", 0, NULL, 0, on_result, &o[i]), 0);
	}
	ck_assert_int_eq(db_pool_acquire(pool, 0, count_acquire, &acq), 0);
	/* let the first query start */
	run_until(base, &done, N + 1, 300);
	ck_assert_int_eq(done, 0);
	ck_assert_int_eq(db_pool_n_ready(pool), 1);
	db_pool_destroy(pool);
	ck_assert_int_eq(done, N + 1);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(o[i].calls, 1);
		ck_assert_int_eq(o[i].code, -ECANCELED);
	}
	ck_assert_int_eq(acq.calls, 1);
	ck_assert_int_eq(acq.code, -ECANCELED);
	/* nothing fires later */
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(done, N + 1);
	event_base_free(base);
}
END_TEST

START_TEST(test_pool_reconnect)
{
	struct event_base *base = event_base_new();
	struct db_pool *pool = pool_or_fail(base, url, 1);
	struct outcome kill = { 0 }, after = { 0 };
	int done = 0;

	kill.done = after.done = &done;
	ck_assert_int_eq(db_pool_query(pool, "SELECT pg_terminate_backend(pg_backend_pid())", 0,
				       NULL, 3000, on_result, &kill),
			 0);
	ck_assert_int_eq(run_until(base, &done, 1, 4000), 1);
	ck_assert_int_eq(kill.code, -ECONNRESET);
	/* the pool reconnects after its backoff and serves the next query */
	ck_assert_int_eq(db_pool_query(pool, "SELECT 'back'", 0, NULL, 5000, on_result, &after), 0);
	ck_assert_int_eq(run_until(base, &done, 2, 6000), 2);
	ck_assert_msg(after.code == 0, "%s", after.msg);
	ck_assert_str_eq(after.v0, "back");
	db_pool_destroy(pool);
	event_base_free(base);
}
END_TEST

/*
 * A TCP proxy in front of the test server: the first connection is passed
 * through; later ones (cancel requests) are accepted and held open for
 * hold_ms, like a server that does not answer.
 */
struct proxy {
	int lfd, port, hold_ms;
	char host[256], pg_port[16];
	atomic_bool stop;
	pthread_t thread;
};

static int proxy_dial(const struct proxy *px)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int fd = -1;

	if (getaddrinfo(px->host, px->pg_port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static void *proxy_run(void *arg)
{
	struct proxy *px = arg;
	int client = -1, server = -1, held[8], n_held = 0, i;
	long long held_at[8];

	while (!atomic_load(&px->stop)) {
		struct pollfd pfd[3] = { { px->lfd, POLLIN, 0 },
					 { client, POLLIN, 0 },
					 { server, POLLIN, 0 } };
		char buf[8192];

		if (poll(pfd, 3, 20) < 0)
			break;
		if (pfd[0].revents & POLLIN) {
			int fd = accept(px->lfd, NULL, NULL);

			if (fd >= 0 && client < 0) {
				client = fd;
				server = proxy_dial(px);
			} else if (fd >= 0 && n_held < 8) {
				held[n_held] = fd;
				held_at[n_held++] = now_ms();
			} else if (fd >= 0) {
				close(fd);
			}
		}
		for (i = 1; i <= 2; i++) {
			ssize_t n;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(i == 1 ? server : client, buf, (size_t)n) != n) {
				close(client);
				close(server);
				client = server = -1;
				break;
			}
		}
		for (i = 0; i < n_held; i++)
			if (held[i] >= 0 && now_ms() - held_at[i] >= px->hold_ms) {
				close(held[i]);
				held[i] = -1;
			}
	}
	for (i = 0; i < n_held; i++)
		if (held[i] >= 0)
			close(held[i]);
	if (client >= 0)
		close(client);
	if (server >= 0)
		close(server);
	return NULL;
}

/* Starts the proxy and writes a DSN through it into @dsn. */
static void proxy_start(struct proxy *px, int hold_ms, char *dsn, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	PGconn *probe = connect_or_fail();
	const char *pass = PQpass(probe);

	memset(px, 0, sizeof(*px));
	px->hold_ms = hold_ms;
	snprintf(px->host, sizeof(px->host), "%s", PQhost(probe));
	snprintf(px->pg_port, sizeof(px->pg_port), "%s", PQport(probe));
	ck_assert_msg(px->host[0] != '/', "the test server must listen on TCP");
	px->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(px->lfd, 0);
	ck_assert_int_eq(bind(px->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(px->lfd, 8), 0);
	ck_assert_int_eq(getsockname(px->lfd, (struct sockaddr *)&sa, &len), 0);
	px->port = ntohs(sa.sin_port);
	snprintf(dsn, size,
		 "host=127.0.0.1 port=%d user='%s' dbname='%s' password='%s' sslmode=disable "
		 "gssencmode=disable",
		 px->port, PQuser(probe), PQdb(probe), pass ? pass : "");
	PQfinish(probe);
	ck_assert_int_eq(pthread_create(&px->thread, NULL, proxy_run, px), 0);
}

static void proxy_stop(struct proxy *px)
{
	atomic_store(&px->stop, true);
	pthread_join(px->thread, NULL);
	close(px->lfd);
}

/* A cancel request that hangs must not stall the event loop. */
START_TEST(test_pool_cancel_does_not_block)
{
	struct event_base *base = event_base_new();
	struct outcome slow = { 0 }, after = { 0 };
	struct proxy px;
	struct db_pool *pool;
	char dsn[1024];
	int done = 0;
	long long t0;

	proxy_start(&px, 3000, dsn, sizeof(dsn));
	pool = pool_or_fail(base, dsn, 1);
	slow.done = after.done = &done;
	t0 = now_ms();
	ck_assert_int_eq(db_pool_query(pool, "SELECT pg_sleep(2)", 0, NULL, 200, on_result, &slow),
			 0);
	ck_assert_int_eq(db_pool_query(pool, "SELECT 'after'", 0, NULL, 8000, on_result, &after),
			 0);
	ck_assert_int_eq(run_until(base, &done, 2, 10000), 2);
	ck_assert_int_eq(slow.code, -ETIMEDOUT);
	ck_assert_msg(slow.at_ms - t0 < 1500, "timeout reported after %lld ms", slow.at_ms - t0);
	/* the connection is reused only once the cancel request is done with */
	ck_assert_msg(after.code == 0, "%s", after.msg);
	ck_assert_str_eq(after.v0, "after");
	db_pool_destroy(pool);
	event_base_free(base);
	proxy_stop(&px);
}
END_TEST

/* ---- prepared statements ------------------------------------------------ */

/* How many statements with text @sql the session of a one-connection @pool has prepared. */
static int prepared_count(struct event_base *base, struct db_pool *pool, const char *sql)
{
	const char *params[1] = { sql };
	struct outcome o;

	pool_run(base, pool, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", 1,
		 params, 5000, &o);
	ck_assert_msg(o.code == 0, "%s", o.msg);
	return atoi(o.v0);
}

static const char reuse_sql[] = "SELECT $1::int * 3, pg_backend_pid()";

/* Drives reuse_sql N times in a row on a borrowed connection. */
struct reuse {
	struct db_conn *conn;
	int i, n, done, errors, wrong;
	char pid[64];
};

static void reuse_next(struct reuse *u);

static void reuse_result(PGresult *res, const struct db_error *err, void *arg)
{
	struct reuse *u = arg;
	char want[16];

	if (err) {
		u->errors++;
	} else {
		snprintf(want, sizeof(want), "%d", u->i * 3);
		if (strcmp(PQgetvalue(res, 0, 0), want) != 0)
			u->wrong++;
		if (!u->pid[0])
			snprintf(u->pid, sizeof(u->pid), "%s", PQgetvalue(res, 0, 1));
		else if (strcmp(u->pid, PQgetvalue(res, 0, 1)) != 0)
			u->wrong++;
	}
	u->i++;
	reuse_next(u);
}

static void reuse_next(struct reuse *u)
{
	char num[16];
	const char *params[1] = { num };

	if (u->i == u->n) {
		db_conn_release(u->conn);
		u->done++;
		return;
	}
	snprintf(num, sizeof(num), "%d", u->i);
	ck_assert_int_eq(db_conn_query(u->conn, reuse_sql, 1, params, 3000, reuse_result, u), 0);
}

static void reuse_acquired(struct db_conn *conn, const struct db_error *err, void *arg)
{
	struct reuse *u = arg;

	ck_assert_msg(conn && !err, "%s", err ? err->msg : "");
	u->conn = conn;
	reuse_next(u);
}

/* _i 0: db_pool_query; 1: db_conn_query on a borrowed connection. */
START_TEST(test_prepared_reuse)
{
	enum { N = 50 };
	struct event_base *base = event_base_new();
	struct db_pool *pool = pool_or_fail(base, url, 1);
	struct outcome o[N];
	char nums[N][8];
	int done = 0, i;

	if (_i == 0) {
		memset(o, 0, sizeof(o));
		for (i = 0; i < N; i++) {
			const char *params[1] = { nums[i] };

			snprintf(nums[i], sizeof(nums[i]), "%d", i);
			o[i].done = &done;
			ck_assert_int_eq(
				db_pool_query(pool, reuse_sql, 1, params, 5000, on_result, &o[i]),
				0);
		}
		ck_assert_int_eq(run_until(base, &done, N, 10000), N);
		for (i = 0; i < N; i++) {
			char want[16];

			snprintf(want, sizeof(want), "%d", i * 3);
			ck_assert_msg(o[i].code == 0, "%s", o[i].msg);
			ck_assert_str_eq(o[i].v0, want);
			ck_assert_str_eq(o[i].v1, o[0].v1); /* one session */
		}
	} else {
		struct reuse u = { .n = N };

		ck_assert_int_eq(db_pool_acquire(pool, 3000, reuse_acquired, &u), 0);
		ck_assert_int_eq(run_until(base, &u.done, 1, 10000), 1);
		ck_assert_int_eq(u.i, N);
		ck_assert_int_eq(u.errors, 0);
		ck_assert_int_eq(u.wrong, 0);
	}
	/* one statement, prepared once and run N times */
	ck_assert_int_eq(prepared_count(base, pool, reuse_sql), 1);
	/* the count query was prepared itself on its first run */
	ck_assert_int_eq(prepared_count(base, pool,
					"SELECT count(*) FROM pg_prepared_statements "
					"WHERE statement = $1"),
			 1);
	db_pool_destroy(pool);
	event_base_free(base);
}
END_TEST

struct prepare_error_case {
	const char *sql;
	const char *sqlstate, *msg_part;
	int cached; /* statements of this text left prepared: 1 when it failed at execution */
};

static const struct prepare_error_case prepare_error_cases[] = {
	{ "SELEC $1::int", "42601", "syntax error", 0 },
	{ "SELECT $1::int FROM no_such_table", "42P01", "no_such_table", 0 },
	{ "SELECT $1::int + 'x'", "22P02", "invalid input syntax", 0 },
	{ "SELECT 1 / ($1::int - 7)", "22012", "division by zero", 1 },
};

/* A failed Parse fails its request like an unnamed statement did, and is not kept. */
START_TEST(test_prepared_error)
{
	const struct prepare_error_case *c = &prepare_error_cases[_i];
	const char *params[1] = { "7" };
	struct event_base *base = event_base_new();
	struct db_pool *pool = pool_or_fail(base, url, 1);
	struct outcome o;
	char want[32];
	int round;

	snprintf(want, sizeof(want), "(SQLSTATE %s)", c->sqlstate);
	/* twice: the second run must not find a half-made statement */
	for (round = 0; round < 2; round++) {
		pool_run(base, pool, c->sql, 1, params, 3000, &o);
		ck_assert_int_eq(o.code, -EIO);
		ck_assert_str_eq(o.sqlstate, c->sqlstate);
		ck_assert_msg(strstr(o.msg, c->msg_part), "message: %s", o.msg);
		ck_assert_msg(strstr(o.msg, want), "message: %s", o.msg);
	}
	ck_assert_int_eq(prepared_count(base, pool, c->sql), c->cached);
	pool_run(base, pool, "SELECT $1::int + 1", 1, params, 3000, &o);
	ck_assert_msg(o.code == 0, "%s", o.msg);
	ck_assert_str_eq(o.v0, "8");
	if (c->cached) { /* still prepared, and runs with other parameters */
		params[0] = "8";
		pool_run(base, pool, c->sql, 1, params, 3000, &o);
		ck_assert_msg(o.code == 0, "%s", o.msg);
		ck_assert_str_eq(o.v0, "1");
	}
	db_pool_destroy(pool);
	event_base_free(base);
}
END_TEST

/*
 * A timeout while the statement executes (_i 0) or while it is being parsed
 * (_i 1: the Parse waits for a lock on the table) cancels it; the connection
 * serves the same text afterwards, prepared once.
 */
START_TEST(test_prepared_timeout)
{
	static const char sql[] = "SELECT count(*), pg_sleep($1::float8) FROM t";
	char dsn[1024], name[64];
	struct event_base *base = event_base_new();
	struct db_pool *pool;
	struct outcome o;
	const char *slow[1] = { _i == 0 ? "5" : "0" }, *quick[1] = { "0" };
	PGconn *locker = NULL;
	struct db_error err;
	long long t0;

	testdb_create(dsn, sizeof(dsn), name, sizeof(name));
	ck_assert_int_eq(db_connect(dsn, NULL, 5, &locker, &err), 0);
	ck_assert_int_eq(
		db_exec_script(locker, "CREATE TABLE t (v int); INSERT INTO t VALUES (1);", &err),
		0);
	pool = pool_or_fail(base, dsn, 1);
	if (_i == 1)
		ck_assert_int_eq(db_exec_script(locker,
						"BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
						&err),
				 0);
	t0 = now_ms();
	pool_run(base, pool, sql, 1, slow, 300, &o);
	ck_assert_int_eq(o.code, -ETIMEDOUT);
	ck_assert_msg(o.at_ms - t0 < 2000, "timeout reported after %lld ms", o.at_ms - t0);
	if (_i == 1)
		ck_assert_int_eq(db_exec_script(locker, "COMMIT", &err), 0);
	pool_run(base, pool, sql, 1, quick, 3000, &o);
	ck_assert_msg(o.code == 0, "%s", o.msg);
	ck_assert_str_eq(o.v0, "1");
	ck_assert_int_eq(prepared_count(base, pool, sql), 1);
	db_pool_destroy(pool);
	event_base_free(base);
	PQfinish(locker);
	testdb_drop(name);
}
END_TEST

/* Runs @base until the pool has @want connections up. */
static void wait_ready(struct event_base *base, struct db_pool *pool, unsigned want)
{
	long long deadline = now_ms() + 8000;
	int never = 0;

	while (db_pool_n_ready(pool) != want && now_ms() < deadline)
		run_until(base, &never, 1, 20);
	ck_assert_uint_eq(db_pool_n_ready(pool), want);
}

/* After its sessions are killed, the pool reconnects with an empty cache. */
START_TEST(test_prepared_reconnect)
{
	enum { N = 4 };
	static const char sql[] = "SELECT $1::int + 1, pg_backend_pid() FROM pg_sleep(0.1)";
	char app[64], nums[N][8];
	struct event_base *base = event_base_new();
	struct db_pool_config cfg = {
		.dsn = url, .application_name = app, .n_conns = 2, .backoff_min_ms = 50
	};
	struct db_pool *pool;
	struct outcome o[N];
	const char *params[1] = { app };
	PGconn *killer = connect_or_fail();
	PGresult *res = NULL;
	struct db_error err;
	char old_pids[N][64];
	int round, done, i, j;

	snprintf(app, sizeof(app), "ddns-test-prepared-%d", (int)getpid());
	pool = db_pool_create(base, &cfg);
	ck_assert_ptr_nonnull(pool);
	wait_ready(base, pool, 2);
	for (round = 0; round < 2; round++) {
		/* both connections run (and, the first round, prepare) the statement */
		memset(o, 0, sizeof(o));
		done = 0;
		for (i = 0; i < N; i++) {
			const char *p[1] = { nums[i] };

			snprintf(nums[i], sizeof(nums[i]), "%d", i);
			o[i].done = &done;
			ck_assert_int_eq(db_pool_query(pool, sql, 1, p, 5000, on_result, &o[i]), 0);
		}
		ck_assert_int_eq(run_until(base, &done, N, 10000), N);
		for (i = 0; i < N; i++) {
			char want[8];

			snprintf(want, sizeof(want), "%d", i + 1);
			ck_assert_msg(o[i].code == 0, "round %d: %s", round, o[i].msg);
			ck_assert_str_eq(o[i].v0, want);
			for (j = 0; round == 1 && j < N; j++) /* new sessions */
				ck_assert_str_ne(o[i].v1, old_pids[j]);
		}
		for (i = 0; i < N; i++)
			snprintf(old_pids[i], sizeof(old_pids[i]), "%s", o[i].v1);
		if (round == 1)
			break;
		ck_assert_int_eq(db_exec(killer,
					 "SELECT count(pg_terminate_backend(pid)) FROM "
					 "pg_stat_activity WHERE application_name = $1",
					 1, params, &res, &err),
				 0);
		ck_assert_str_eq(PQgetvalue(res, 0, 0), "2");
		PQclear(res);
		/* the pool notices the closed sessions and reconnects */
		wait_ready(base, pool, 0);
		wait_ready(base, pool, 2);
	}
	db_pool_destroy(pool);
	event_base_free(base);
	PQfinish(killer);
}
END_TEST

/*
 * DDL that changes what SELECT * returns: PostgreSQL refuses the prepared
 * statement once ("cached plan must not change result type"); the next run
 * prepares it again, under the same name (the old one is deallocated).
 */
START_TEST(test_prepared_ddl)
{
	static const char sql[] = "SELECT * FROM t";
	static const struct {
		const char *ddl;
		int n_fields;
		const char *v1;
	} steps[] = {
		{ NULL, 1, "" },
		{ "ALTER TABLE t ADD COLUMN b text DEFAULT 'x'", 2, "x" },
		{ "CREATE INDEX ON t (a)", 2, "x" }, /* re-planned silently */
		{ "ALTER TABLE t ALTER COLUMN b DROP DEFAULT, ALTER COLUMN b TYPE int USING 7", 2,
		  "7" },
		{ "ALTER TABLE t DROP COLUMN b", 1, "" },
	};
	char dsn[1024], name[64];
	struct event_base *base = event_base_new();
	struct db_pool *pool;
	PGconn *ddl = NULL;
	struct db_error err;
	struct outcome o;
	size_t k;
	int run;

	testdb_create(dsn, sizeof(dsn), name, sizeof(name));
	ck_assert_int_eq(db_connect(dsn, NULL, 5, &ddl, &err), 0);
	ck_assert_int_eq(
		db_exec_script(ddl, "CREATE TABLE t (a int); INSERT INTO t VALUES (1);", &err), 0);
	pool = pool_or_fail(base, dsn, 1);
	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		if (steps[k].ddl)
			ck_assert_msg(db_exec_script(ddl, steps[k].ddl, &err) == 0, "%s", err.msg);
		/* a refused statement is prepared again and run once more: no error */
		for (run = 0; run < 3; run++) {
			pool_run(base, pool, sql, 0, NULL, 3000, &o);
			ck_assert_msg(o.code == 0, "step %zu run %d: %s", k, run, o.msg);
			ck_assert_str_eq(o.v0, "1");
			ck_assert_str_eq(o.v1, steps[k].v1);
		}
		ck_assert_int_eq(prepared_count(base, pool, sql), 1);
	}
	db_pool_destroy(pool);
	event_base_free(base);
	PQfinish(ddl);
	testdb_drop(name);
}
END_TEST

/*
 * Statements deallocated behind the pool's back ("prepared statement does
 * not exist", 26000): all are prepared again, the request that noticed runs
 * once more and does not fail.
 */
START_TEST(test_prepared_discard)
{
	static const char sql[] = "SELECT $1::int + 1";
	const char *params[1] = { "41" };
	struct event_base *base = event_base_new();
	struct db_pool *pool = pool_or_fail(base, url, 1);
	struct outcome o;
	int run;

	pool_run(base, pool, sql, 1, params, 3000, &o);
	ck_assert_msg(o.code == 0, "%s", o.msg);
	ck_assert_int_eq(prepared_count(base, pool, sql), 1);
	pool_run(base, pool, "DEALLOCATE ALL", 0, NULL, 3000, &o);
	ck_assert_msg(o.code == 0, "%s", o.msg);
	for (run = 0; run < 3; run++) {
		pool_run(base, pool, sql, 1, params, 3000, &o);
		ck_assert_msg(o.code == 0, "run %d: %s", run, o.msg);
		ck_assert_str_eq(o.v0, "42");
	}
	ck_assert_int_eq(prepared_count(base, pool, sql), 1);
	db_pool_destroy(pool);
	event_base_free(base);
}
END_TEST

/* Beyond DB_PREPARED_MAX texts, statements run unnamed. */
START_TEST(test_prepared_cache_full)
{
	enum { N = DB_PREPARED_MAX + 6 };
	static const char like[] = "SELECT count(*) FROM pg_prepared_statements "
				   "WHERE statement LIKE 'SELECT % + $1::int AS full_test'";
	const char *params[1] = { "1" };
	struct event_base *base = event_base_new();
	struct db_pool *pool = pool_or_fail(base, url, 1);
	struct outcome o;
	char sql[64], want[16];
	int round, i;

	for (round = 0; round < 2; round++)
		for (i = 0; i < N; i++) {
			snprintf(sql, sizeof(sql), "SELECT %d + $1::int AS full_test", i);
			snprintf(want, sizeof(want), "%d", i + 1);
			pool_run(base, pool, sql, 1, params, 3000, &o);
			ck_assert_msg(o.code == 0, "%s", o.msg);
			ck_assert_str_eq(o.v0, want);
		}
	pool_run(base, pool, like, 0, NULL, 3000, &o); /* the cache is full: runs unnamed */
	ck_assert_msg(o.code == 0, "%s", o.msg);
	ck_assert_int_eq(atoi(o.v0), DB_PREPARED_MAX);
	ck_assert_int_eq(prepared_count(base, pool, like), 0);
	db_pool_destroy(pool);
	event_base_free(base);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s;
	TCase *tc;

	url = testdb_url_or_skip();
	s = suite_create("db");

	tc = tcase_create("redact");
	tcase_add_loop_test(tc, test_redact, 0, sizeof(redact_cases) / sizeof(redact_cases[0]));
	tcase_add_test(tc, test_redact_truncates);
	suite_add_tcase(s, tc);

	tc = tcase_create("sync");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_exec_params, 0,
			    sizeof(param_values) / sizeof(param_values[0]));
	tcase_add_test(tc, test_exec_null_param);
	tcase_add_loop_test(tc, test_exec_error, 0, sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_test(tc, test_exec_script);
	tcase_add_test(tc, test_exec_prepared);
	tcase_add_loop_test(tc, test_connect_refused, 0, 3);
	tcase_add_test(tc, test_connect_sets_application_name);
	tcase_add_test(tc, test_connect_options);
	tcase_add_test(tc, test_connect_options_dsn);
	suite_add_tcase(s, tc);

	tc = tcase_create("async");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pool_options);
	tcase_add_test(tc, test_pool_parallel);
	tcase_add_test(tc, test_pool_timeout);
	tcase_add_test(tc, test_pool_connect_refused);
	tcase_add_test(tc, test_pool_queue_full);
	tcase_add_test(tc, test_txn_commit);
	tcase_add_test(tc, test_txn_rollback_on_release);
	tcase_add_test(tc, test_txn_failed_rollback_on_release);
	tcase_add_test(tc, test_pool_destroy_pending);
	tcase_add_test(tc, test_pool_reconnect);
	tcase_add_test(tc, test_pool_cancel_does_not_block);
	suite_add_tcase(s, tc);

	tc = tcase_create("prepared");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_prepared_reuse, 0, 2);
	tcase_add_loop_test(tc, test_prepared_error, 0,
			    sizeof(prepare_error_cases) / sizeof(prepare_error_cases[0]));
	tcase_add_loop_test(tc, test_prepared_timeout, 0, 2);
	tcase_add_test(tc, test_prepared_reconnect);
	tcase_add_test(tc, test_prepared_ddl);
	tcase_add_test(tc, test_prepared_discard);
	tcase_add_test(tc, test_prepared_cache_full);
	suite_add_tcase(s, tc);
	return s;
}
