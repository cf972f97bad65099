#include "tests/integration/testdb.h"
#include "schema/migrate.h"
#include "shared/db.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *testdb_url_or_skip(void)
{
	const char *url = getenv("DDNS_TEST_DATABASE_URL");

	if (!url || !*url) {
		printf("1..0 # SKIP DDNS_TEST_DATABASE_URL not set\n");
		fflush(stdout);
		exit(EXIT_SUCCESS);
	}
	return url;
}

/* Appends keyword='value' with libpq's quoting. */
static void append_kv(char *buf, size_t size, const char *key, const char *val)
{
	size_t pos = strlen(buf);

	pos += (size_t)snprintf(buf + pos, size - pos, "%s%s='", pos ? " " : "", key);
	for (; *val && pos + 3 < size; val++) {
		if (*val == '\'' || *val == '\\')
			buf[pos++] = '\\';
		buf[pos++] = *val;
	}
	snprintf(buf + pos, size - pos, "'");
}

void testdb_create(char *dsn, size_t dsn_size, char *name, size_t name_size)
{
	static unsigned counter;
	const char *url = testdb_url_or_skip();
	char *errmsg = NULL, sql[256];
	PQconninfoOption *opts, *o;
	struct db_error err;
	struct timespec ts;
	PGconn *conn = NULL;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, name_size, "ddns_test_%d_%u_%ld", (int)getpid(), counter++,
		 (long)(ts.tv_nsec / 1000));
	r = db_connect(url, "ddns-test", 10, &conn, &err);
	ck_assert_msg(r == 0, "%s", err.msg);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name); /* name: [a-z0-9_] we made */
	r = db_exec(conn, sql, 0, NULL, NULL, &err);
	ck_assert_msg(r == 0, "%s", err.msg);
	PQfinish(conn);

	opts = PQconninfoParse(url, &errmsg);
	ck_assert_msg(opts, "cannot parse DDNS_TEST_DATABASE_URL: %s", errmsg ? errmsg : "");
	dsn[0] = '\0';
	for (o = opts; o->keyword; o++)
		if (o->val && *o->val && strcmp(o->keyword, "dbname") != 0)
			append_kv(dsn, dsn_size, o->keyword, o->val);
	append_kv(dsn, dsn_size, "dbname", name);
	PQconninfoFree(opts);
}

void testdb_drop(const char *name)
{
	const char *url = testdb_url_or_skip();
	struct db_error err;
	PGconn *conn = NULL;
	char sql[256];

	if (db_connect(url, "ddns-test", 10, &conn, &err) < 0)
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	(void)db_exec(conn, sql, 0, NULL, NULL, &err);
	PQfinish(conn);
}

void testdb_create_migrated(char *dsn, size_t dsn_size, char *name, size_t name_size)
{
	const char *dir = getenv("DDNS_TEST_MIGRATIONS_DIR");
	struct db_error err = { 0 };
	PGconn *conn = NULL;
	FILE *devnull;

	ck_assert_msg(dir && *dir, "DDNS_TEST_MIGRATIONS_DIR is not set");
	testdb_create(dsn, dsn_size, name, name_size);
	ck_assert_msg(db_connect(dsn, "test", 10, &conn, &err) == 0, "connect: %s", err.msg);
	devnull = fopen("/dev/null", "w");
	ck_assert_ptr_nonnull(devnull);
	ck_assert_msg(migrate_up(conn, dir, devnull, &err) == 0, "migrate: %s", err.msg);
	fclose(devnull);
	PQfinish(conn);
}
