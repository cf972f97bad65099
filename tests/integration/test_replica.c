/*
 * The replica's SQL against a real, migrated PostgreSQL: what ddns-cache
 * writes and ddns-backend falls back to, rendered from the same rows.
 */
#include "shared/db.h"
#include "shared/replica.h"
#include "tests/integration/testdb.h"
#include "tests/unit/check_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dsn[512], dbname[128];
static PGconn *conn;

static void exec_ok(const char *sql)
{
	struct db_error err = { 0 };

	ck_assert_msg(db_exec(conn, sql, 0, NULL, NULL, &err) == 0, "%s: %s", sql, err.msg);
}

static void setup(void)
{
	struct db_error err = { 0 };

	testdb_create_migrated(dsn, sizeof(dsn), dbname, sizeof(dbname));
	ck_assert_int_eq(db_connect(dsn, "test", 10, &conn, &err), 0);
	exec_ok("INSERT INTO zones (id, name, mname, rname, serial) VALUES "
		"(1, 'dyn.test.', 'ns1.dyn.test.', 'hostmaster.dyn.test.', 5), "
		"(2, 'sub.dyn.test.', 'ns1.dyn.test.', 'hostmaster.dyn.test.', 1)");
	exec_ok("INSERT INTO records (zone_id, name, type, content, ttl) VALUES "
		"(1, 'dyn.test.', 'NS', 'ns1.dyn.test.', 3600), "
		"(1, 'ns1.dyn.test.', 'A', '127.0.0.1', 3600), "
		"(1, 'a.b.c.dyn.test.', 'A', '192.0.2.1', 60), "
		"(1, '_acme-challenge.h.dyn.test.', 'TXT', '\"token\"', 60), "
		"(1, 'h.dyn.test.', 'AAAA', '2001:db8::1', 60), "
		"(1, 'h.dyn.test.', 'A', '192.0.2.2', 60), "
		"(1, '*.w.dyn.test.', 'A', '192.0.2.3', 60), "
		"(2, 'x.sub.dyn.test.', 'CNAME', 'h.dyn.test.', 60)");
}

static void teardown(void)
{
	PQfinish(conn);
	conn = NULL;
	testdb_drop(dbname);
}

struct collected {
	char names[16][64];
	char *json[16];
	long long zone[16];
	int n;
};

static int collect(const char *name, const char *json, const struct replica_zone *zone, void *arg)
{
	struct collected *c = arg;

	ck_assert_int_lt(c->n, 16);
	snprintf(c->names[c->n], sizeof(c->names[c->n]), "%s", name);
	c->json[c->n] = json ? strdup(json) : NULL;
	c->zone[c->n] = zone ? zone->id : 0;
	c->n++;
	return 0;
}

static void collected_finish(struct collected *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->json[i]);
}

/* Renders @names ({...} array literal) and returns what each one became. */
static void render(const char *names, struct collected *out)
{
	struct db_error err = { 0 };
	const char *params[1] = { names };
	PGresult *res = NULL;

	memset(out, 0, sizeof(*out));
	ck_assert_msg(db_exec(conn, replica_sql_names, 1, params, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(replica_render_result(res, collect, out), 0);
	PQclear(res);
}

/* The serial is zones.serial plus the zone's highest change id. */
static long long serial_of(long long zone_id)
{
	char sql[160];
	PGresult *res = NULL;
	struct db_error err = { 0 };
	long long v;

	snprintf(sql, sizeof(sql),
		 "SELECT serial + (SELECT max(id) FROM changes WHERE zone_id = %lld) "
		 "FROM zones WHERE id = %lld",
		 zone_id, zone_id);
	ck_assert_int_eq(db_exec(conn, sql, 0, NULL, &res, &err), 0);
	v = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

struct name_case {
	const char *name;
	long long zone;   /* 0: in no zone */
	const char *want; /* NULL: no key; "@SERIAL@" in it: the serial of the zone */
};

static const struct name_case name_cases[] = {
	{ "dyn.test.", 1,
	  "[{\"qtype\":\"SOA\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test. "
	  "hostmaster.dyn.test. @SERIAL@ 10800 3600 604800 60\",\"ttl\":60,\"domain_id\":1},"
	  "{\"qtype\":\"NS\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test.\",\"ttl\":3600,"
	  "\"domain_id\":1}]" },
	/* records sorted by type */
	{ "h.dyn.test.", 1,
	  "[{\"qtype\":\"A\",\"qname\":\"h.dyn.test.\",\"content\":\"192.0.2.2\",\"ttl\":60,"
	  "\"domain_id\":1},{\"qtype\":\"AAAA\",\"qname\":\"h.dyn.test.\",\"content\":"
	  "\"2001:db8::1\",\"ttl\":60,\"domain_id\":1}]" },
	/* empty non-terminals, also one whose only child starts with '_' */
	{ "b.c.dyn.test.", 1,
	  "[{\"qtype\":\"ENT\",\"qname\":\"b.c.dyn.test.\",\"content\":\"\",\"ttl\":0,"
	  "\"domain_id\":1}]" },
	{ "c.dyn.test.", 1,
	  "[{\"qtype\":\"ENT\",\"qname\":\"c.dyn.test.\",\"content\":\"\",\"ttl\":0,"
	  "\"domain_id\":1}]" },
	{ "w.dyn.test.", 1,
	  "[{\"qtype\":\"ENT\",\"qname\":\"w.dyn.test.\",\"content\":\"\",\"ttl\":0,"
	  "\"domain_id\":1}]" },
	/* the wildcard is a name like any other: pdns asks for it itself */
	{ "*.w.dyn.test.", 1,
	  "[{\"qtype\":\"A\",\"qname\":\"*.w.dyn.test.\",\"content\":\"192.0.2.3\",\"ttl\":60,"
	  "\"domain_id\":1}]" },
	/* a name of the child zone belongs to the longest zone */
	{ "x.sub.dyn.test.", 2,
	  "[{\"qtype\":\"CNAME\",\"qname\":\"x.sub.dyn.test.\",\"content\":\"h.dyn.test.\","
	  "\"ttl\":60,\"domain_id\":2}]" },
	/* no such names */
	{ "nope.dyn.test.", 1, NULL },
	{ "xa.b.c.dyn.test.", 1, NULL },
	{ "example.org.", 0, NULL },
};

START_TEST(test_names)
{
	const struct name_case *c = &name_cases[_i];
	char array[128], want[1024];
	struct collected got;

	snprintf(array, sizeof(array), "{\"%s\"}", c->name);
	render(array, &got);
	ck_assert_int_eq(got.n, 1);
	ck_assert_str_eq(got.names[0], c->name);
	ck_assert_int_eq(got.zone[0], c->zone);
	if (!c->want) {
		ck_assert_ptr_null(got.json[0]);
	} else {
		const char *at = strstr(c->want, "@SERIAL@");
		if (at)
			snprintf(want, sizeof(want), "%.*s%lld%s", (int)(at - c->want), c->want,
				 serial_of(c->zone), at + 8);
		else
			snprintf(want, sizeof(want), "%s", c->want);
		ck_assert_ptr_nonnull(got.json[0]);
		ck_assert_str_eq(got.json[0], want);
	}
	collected_finish(&got);
}
END_TEST

/* Several names in one query come back once each, in order, whatever they hold. */
START_TEST(test_batch)
{
	struct collected got;

	render("{\"nope.dyn.test.\",\"dyn.test.\",\"h.dyn.test.\",\"c.dyn.test.\",\"example.org."
	       "\"}",
	       &got);
	ck_assert_int_eq(got.n, 5);
	ck_assert_str_eq(got.names[0], "c.dyn.test.");
	ck_assert_str_eq(got.names[1], "dyn.test.");
	ck_assert_str_eq(got.names[2], "example.org.");
	ck_assert_str_eq(got.names[3], "h.dyn.test.");
	ck_assert_str_eq(got.names[4], "nope.dyn.test.");
	ck_assert_ptr_nonnull(got.json[0]);
	ck_assert_ptr_nonnull(got.json[1]);
	ck_assert_ptr_null(got.json[2]);
	ck_assert_ptr_nonnull(got.json[3]);
	ck_assert_ptr_null(got.json[4]);
	collected_finish(&got);
}
END_TEST

/* Every change in a zone raises its serial; a name's ENT marker follows its children. */
START_TEST(test_changes)
{
	struct collected got;
	long long before = serial_of(1), after;

	ck_assert_int_gt(before, 5); /* the inserts of the fixture were logged */
	exec_ok("DELETE FROM records WHERE name = 'a.b.c.dyn.test.'");
	after = serial_of(1);
	ck_assert_int_gt(after, before);
	ck_assert_int_eq(serial_of(2), serial_of(2)); /* the other zone is its own */
	render("{\"b.c.dyn.test.\",\"c.dyn.test.\"}", &got);
	ck_assert_ptr_null(got.json[0]); /* no longer an ENT: nothing below */
	ck_assert_ptr_null(got.json[1]);
	collected_finish(&got);
	render("{\"dyn.test.\"}", &got);
	ck_assert_ptr_nonnull(strstr(got.json[0], "hostmaster.dyn.test. "));
	char want[64];
	snprintf(want, sizeof(want), " %lld 10800 ", after);
	ck_assert_ptr_nonnull(strstr(got.json[0], want));
	collected_finish(&got);
}
END_TEST

START_TEST(test_zones)
{
	struct db_error err = { 0 };
	PGresult *res = NULL;
	struct replica_zone z;
	char *json = NULL, want[128];

	ck_assert_int_eq(db_exec(conn, replica_sql_zones, 0, NULL, &res, &err), 0);
	ck_assert_int_eq(PQntuples(res), 2);
	ck_assert_int_eq(replica_zone_from_row(res, 0, 0, &z), 0);
	ck_assert_str_eq(z.name, "dyn.test.");
	ck_assert_int_eq(replica_render_zone_info(&z, &json), 0);
	snprintf(want, sizeof(want),
		 "{\"id\":1,\"zone\":\"dyn.test.\",\"kind\":\"native\",\"serial\":%lld}",
		 serial_of(1));
	ck_assert_str_eq(json, want);
	free(json);
	ck_assert_int_eq(replica_zone_from_row(res, 1, 0, &z), 0);
	ck_assert_str_eq(z.name, "sub.dyn.test.");
	PQclear(res);
}
END_TEST

struct ancestors_case {
	const char *name, *zone, *want;
};

static const struct ancestors_case ancestors_cases[] = {
	{ "a.b.c.dyn.test.", "dyn.test.", "b.c.dyn.test.,c.dyn.test." },
	{ "h.dyn.test.", "dyn.test.", "" },
	{ "dyn.test.", "dyn.test.", "" },
	{ "_acme-challenge.h.dyn.test.", "dyn.test.", "h.dyn.test." },
};

START_TEST(test_ancestors)
{
	const struct ancestors_case *c = &ancestors_cases[_i];
	const char *params[2] = { c->name, c->zone };
	struct db_error err = { 0 };
	PGresult *res = NULL;

	ck_assert_int_eq(db_exec(conn,
				 "SELECT coalesce(string_agg(a, ','), '') "
				 "FROM dns_ancestors($1, $2) AS a",
				 2, params, &res, &err),
			 0);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), c->want);
	PQclear(res);
}
END_TEST

/* An upsert of an existing CNAME updates it instead of tripping the CNAME-alone rule. */
START_TEST(test_cname_upsert)
{
	struct db_error err = { 0 };

	exec_ok("INSERT INTO records (zone_id, name, type, content, ttl) "
		"VALUES (2, 'x.sub.dyn.test.', 'CNAME', 'h.dyn.test.', 120) "
		"ON CONFLICT (name, type, content) DO UPDATE SET ttl = EXCLUDED.ttl");
	/* and the rule still holds for a real second record */
	ck_assert_int_lt(db_exec(conn,
				 "INSERT INTO records (zone_id, name, type, content) "
				 "VALUES (2, 'x.sub.dyn.test.', 'A', '192.0.2.9')",
				 0, NULL, NULL, &err),
			 0);
	ck_assert_str_eq(err.constraint, "records_cname_alone");
}
END_TEST

/*
 * The CNAME rule holds under a race the trigger's check cannot see: a CNAME
 * not yet committed in one transaction, an A at the same name in another.
 */
START_TEST(test_cname_race)
{
	struct db_error err = { 0 };
	PGconn *other = NULL;
	PGresult *res;

	ck_assert_int_eq(db_connect(dsn, "test", 10, &other, &err), 0);
	exec_ok("BEGIN");
	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"VALUES (1, 'race.dyn.test.', 'CNAME', 'h.dyn.test.')");
	/* the other writer's check sees no CNAME yet; the constraint makes it wait */
	ck_assert_int_eq(PQsendQuery(other, "INSERT INTO records (zone_id, name, type, content) "
					    "VALUES (1, 'race.dyn.test.', 'A', '192.0.2.1')"),
			 1);
	/* wait (at most 5 s) until it is blocked on our uncommitted row */
	for (int i = 0; i < 500; i++) {
		PGresult *locks = NULL;
		bool waiting;

		ck_assert_int_eq(db_exec(conn, "SELECT count(*) FROM pg_locks WHERE NOT granted", 0,
					 NULL, &locks, &err),
				 0);
		waiting = strcmp(PQgetvalue(locks, 0, 0), "0") != 0;
		PQclear(locks);
		if (waiting)
			break;
		usleep(10000);
	}
	exec_ok("COMMIT");
	res = PQgetResult(other);
	ck_assert_int_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23P01");
	ck_assert_str_eq(PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME),
			 "records_cname_exclusive");
	PQclear(res);
	while ((res = PQgetResult(other)))
		PQclear(res);
	PQfinish(other);
}
END_TEST

/*
 * The replica query finds a name's records through the unique btree on
 * (name, type, content), never through the CNAME constraint's GiST index:
 * the planner once took that one (estimated a hair cheaper, 8 times slower
 * a probe) for every name of a batch. Checked on a zone of 20,000 names
 * (the old constraint fails it).
 */
START_TEST(test_names_plan)
{
	PGresult *res = NULL;
	struct db_error err = { 0 };
	char *sql;
	bool btree = false, gist = false;

	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"SELECT 1, 'p' || g || '.dyn.test.', 'A', '192.0.2.1' "
		"FROM generate_series(1, 20000) g");
	exec_ok("ANALYZE records");
	ck_assert_int_ne(asprintf(&sql, "EXPLAIN %s", replica_sql_names), -1);
	{
		const char *params[] = { "{p1.dyn.test.,p2.dyn.test.,p3.dyn.test.}" };

		ck_assert_int_eq(db_exec(conn, sql, 1, params, &res, &err), 0);
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *line = PQgetvalue(res, i, 0);

		btree = btree || strstr(line, "records_name_type_content_key");
		gist = gist || strstr(line, "records_cname_exclusive");
	}
	PQclear(res);
	free(sql);
	ck_assert_msg(btree && !gist, "replica query plan: btree %d, GiST %d", btree, gist);
}
END_TEST

/* One transaction may write many names (a zone import): no lock per row. */
START_TEST(test_bulk_write)
{
	PGresult *res = NULL;
	struct db_error err = { 0 };

	exec_ok("INSERT INTO records (zone_id, name, type, content) "
		"SELECT 1, 'bulk' || g || '.dyn.test.', 'A', '192.0.2.1' "
		"FROM generate_series(1, 20000) g");
	ck_assert_int_eq(db_exec(conn, "SELECT count(*) FROM records WHERE name LIKE 'bulk%'", 0,
				 NULL, &res, &err),
			 0);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "20000");
	PQclear(res);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("replica");
	TCase *tc = tcase_create("replica");

	testdb_url_or_skip();
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_names, 0, sizeof(name_cases) / sizeof(name_cases[0]));
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_changes);
	tcase_add_test(tc, test_zones);
	tcase_add_loop_test(tc, test_ancestors, 0,
			    sizeof(ancestors_cases) / sizeof(ancestors_cases[0]));
	tcase_add_test(tc, test_cname_upsert);
	tcase_add_test(tc, test_cname_race);
	tcase_add_test(tc, test_bulk_write);
	tcase_add_test(tc, test_names_plan);
	suite_add_tcase(s, tc);
	return s;
}
