#include "schema/migrate.h"
#include "shared/db.h"
#include "tests/integration/testdb.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *migrations_dir;

/* A fresh database with its DSN, a connection to it, and an output buffer. */
struct fx {
	char dsn[1024], name[64];
	PGconn *conn;
	char *out;
	size_t out_len;
	FILE *f;
};

static void fx_init(struct fx *fx)
{
	struct db_error err;

	memset(fx, 0, sizeof(*fx));
	testdb_create(fx->dsn, sizeof(fx->dsn), fx->name, sizeof(fx->name));
	ck_assert_msg(db_connect(fx->dsn, "ddns-test", 5, &fx->conn, &err) == 0, "%s", err.msg);
	fx->f = open_memstream(&fx->out, &fx->out_len);
	ck_assert_ptr_nonnull(fx->f);
}

static const char *fx_output(struct fx *fx)
{
	fflush(fx->f);
	return fx->out;
}

/* Forgets the output so far. */
static void fx_reset(struct fx *fx)
{
	fclose(fx->f);
	free(fx->out);
	fx->out = NULL;
	fx->f = open_memstream(&fx->out, &fx->out_len);
	ck_assert_ptr_nonnull(fx->f);
}

static void fx_finish(struct fx *fx)
{
	fclose(fx->f);
	free(fx->out);
	PQfinish(fx->conn);
	testdb_drop(fx->name);
}

static void up_or_fail(struct fx *fx, const char *dir)
{
	struct db_error err;
	int r = migrate_up(fx->conn, dir, fx->f, &err);

	ck_assert_msg(r == 0, "%s", err.msg);
}

/* First column of the first row of @sql. */
static void query1(PGconn *conn, const char *sql, char *buf, size_t size)
{
	struct db_error err;
	PGresult *res = NULL;

	ck_assert_msg(db_exec(conn, sql, 0, NULL, &res, &err) == 0, "%s: %s", sql, err.msg);
	ck_assert_int_eq(PQntuples(res), 1);
	snprintf(buf, size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

static int count_files(const char *dir)
{
	struct migration_set set;
	struct db_error err;
	int n;

	ck_assert_msg(migration_set_load(dir, &set, &err) == 0, "%s", err.msg);
	n = (int)set.n;
	migration_set_finish(&set);
	return n;
}

/* Copies the real migrations into a new temporary directory. */
static void copy_migrations(char *dir, size_t size)
{
	char cmd[1024];

	snprintf(dir, size, "/tmp/ddns-migrations.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp '%s'/*.sql '%s'/", migrations_dir, dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void remove_dir(const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *dir, const char *file, const char *text, const char *mode)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, mode);
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* ---- up / status --------------------------------------------------------- */

START_TEST(test_up_fresh_then_idempotent)
{
	struct fx fx;
	char buf[64], want[64];
	int n = count_files(migrations_dir);

	ck_assert_int_ge(n, 1);
	fx_init(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_ptr_nonnull(strstr(fx_output(&fx), "applied 0001_init.sql\n"));
	query1(fx.conn, "SELECT count(*) FROM schema_migrations", buf, sizeof(buf));
	snprintf(want, sizeof(want), "%d", n);
	ck_assert_str_eq(buf, want);
	query1(fx.conn, "SELECT count(*) FROM users", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	query1(fx.conn, "SELECT length(checksum) FROM schema_migrations WHERE version = 1", buf,
	       sizeof(buf));
	ck_assert_str_eq(buf, "64");

	fx_reset(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_ptr_nonnull(strstr(fx_output(&fx), "nothing to apply"));
	ck_assert_ptr_null(strstr(fx_output(&fx), "applied 0001"));
	query1(fx.conn, "SELECT count(*) FROM schema_migrations", buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_status)
{
	struct fx fx;
	struct db_error err;
	char dir[256];

	copy_migrations(dir, sizeof(dir));
	fx_init(&fx);
	ck_assert_int_eq(migrate_status(fx.conn, dir, fx.f, &err), 0);
	ck_assert_ptr_nonnull(strstr(fx_output(&fx), "0001_init.sql  pending\n"));

	up_or_fail(&fx, dir);
	write_file(dir, "0999_later.sql", "CREATE TABLE later (a int);\n", "w");
	fx_reset(&fx);
	ck_assert_int_eq(migrate_status(fx.conn, dir, fx.f, &err), 0);
	ck_assert_msg(strstr(fx_output(&fx), "0001_init.sql  applied 20"), "%s", fx_output(&fx));
	ck_assert_ptr_nonnull(strstr(fx_output(&fx), "0999_later.sql  pending\n"));

	write_file(dir, "0001_init.sql", "-- changed\n", "a");
	fx_reset(&fx);
	ck_assert_int_eq(migrate_status(fx.conn, dir, fx.f, &err), -EBADMSG);
	ck_assert_msg(strstr(fx_output(&fx), "0001_init.sql  applied 20"), "%s", fx_output(&fx));
	ck_assert_ptr_nonnull(strstr(fx_output(&fx), "CHANGED (checksum mismatch)"));
	fx_finish(&fx);
	remove_dir(dir);
}
END_TEST

START_TEST(test_changed_file_refused)
{
	struct fx fx;
	struct db_error err;
	char dir[256], buf[64];

	copy_migrations(dir, sizeof(dir));
	fx_init(&fx);
	up_or_fail(&fx, dir);
	write_file(dir, "0001_init.sql", "-- an innocent comment\n", "a");
	write_file(dir, "0999_later.sql", "CREATE TABLE later (a int);\n", "w");
	ck_assert_int_eq(migrate_up(fx.conn, dir, fx.f, &err), -EBADMSG);
	ck_assert_msg(strstr(err.msg, "\"0001_init.sql\" was changed"), "%s", err.msg);
	/* nothing was applied after the refusal */
	query1(fx.conn, "SELECT to_regclass('later') IS NULL", buf, sizeof(buf));
	ck_assert_str_eq(buf, "t");
	fx_finish(&fx);
	remove_dir(dir);
}
END_TEST

START_TEST(test_missing_file_refused)
{
	struct fx fx;
	struct db_error err;
	char dir[256], path[512];

	copy_migrations(dir, sizeof(dir));
	write_file(dir, "0999_later.sql", "CREATE TABLE later (a int);\n", "w");
	fx_init(&fx);
	up_or_fail(&fx, dir);
	snprintf(path, sizeof(path), "%s/0999_later.sql", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(migrate_up(fx.conn, dir, fx.f, &err), -ENOENT);
	ck_assert_msg(strstr(err.msg, "0999_later.sql was applied but its file is missing"), "%s",
		      err.msg);
	fx_finish(&fx);
	remove_dir(dir);
}
END_TEST

struct bad_dir_case {
	const char *file, *text;
	int code;
	const char *msg_part;
};

static const struct bad_dir_case bad_dir_cases[] = {
	{ "0999_Bad Name.sql", "SELECT 1;", -EINVAL, "is not NNNN_name.sql" },
	{ "0001_again.sql", "SELECT 1;", -EINVAL, "have the same version" },
	{ "0999_broken.sql", "CREATE TABLE x (;", -EIO, "could not apply migration \"0999_broken" },
	/* would be recorded as applied with nothing applied */
	{ "0999_rollback.sql", "CREATE TABLE x (a int);\nROLLBACK;\n", -EINVAL,
	  "\"0999_rollback.sql\": it ended its transaction" },
	{ "0999_commit.sql", "COMMIT;\nCREATE TABLE x (a int);\n", -EINVAL,
	  "\"0999_commit.sql\": it ended its transaction" },
};

START_TEST(test_bad_dir)
{
	const struct bad_dir_case *c = &bad_dir_cases[_i];
	struct fx fx;
	struct db_error err;
	char dir[256], buf[64];

	copy_migrations(dir, sizeof(dir));
	write_file(dir, c->file, c->text, "w");
	fx_init(&fx);
	ck_assert_int_eq(migrate_up(fx.conn, dir, fx.f, &err), c->code);
	ck_assert_msg(strstr(err.msg, c->msg_part), "%s", err.msg);
	if (strstr(c->msg_part, "could not apply") || strstr(c->msg_part, "ended its")) {
		/* the good ones before it stay applied, the bad one left nothing */
		query1(fx.conn, "SELECT count(*) FROM schema_migrations WHERE version = 999", buf,
		       sizeof(buf));
		ck_assert_str_eq(buf, "0");
		query1(fx.conn, "SELECT count(*) FROM schema_migrations WHERE version = 1", buf,
		       sizeof(buf));
		ck_assert_str_eq(buf, "1");
	}
	fx_finish(&fx);
	remove_dir(dir);
}
END_TEST

START_TEST(test_concurrent_up)
{
	struct fx fx;
	char dir[256], buf[64], outs[2][300];
	pid_t pids[2];
	int i, n_applied_init = 0, n_waited = 0;

	copy_migrations(dir, sizeof(dir));
	/* a slow migration keeps the first runner inside its lock */
	write_file(dir, "0998_slow.sql", "SELECT pg_sleep(0.5);\n", "w");
	fx_init(&fx);
	for (i = 0; i < 2; i++) {
		snprintf(outs[i], sizeof(outs[i]), "%s/out%d", dir, i);
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			struct db_error err;
			PGconn *conn = NULL;
			FILE *f = fopen(outs[i], "w");
			int r = f ? db_connect(fx.dsn, "ddns-test", 5, &conn, &err) : -EIO;

			if (r == 0)
				r = migrate_up(conn, dir, f, &err);
			if (r < 0 && f)
				fprintf(f, "error: %s\n", err.msg);
			if (f)
				fclose(f);
			PQfinish(conn);
			_exit(r == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < 2; i++) {
		int status = 0;
		FILE *f;
		char line[512];

		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		f = fopen(outs[i], "r");
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f)) {
			if (strcmp(line, "applied 0001_init.sql\n") == 0)
				n_applied_init++;
			if (strstr(line, "waiting for another ddns-migrate"))
				n_waited++;
		}
		fclose(f);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "runner %d failed", i);
	}
	ck_assert_int_eq(n_applied_init, 1);
	ck_assert_int_eq(n_waited, 1);
	query1(fx.conn, "SELECT count(*) FROM schema_migrations", buf, sizeof(buf));
	ck_assert_int_eq(atoi(buf), count_files(dir));
	fx_finish(&fx);
	remove_dir(dir);
}
END_TEST

/* ---- constraints of the schema ------------------------------------------ */

static const char fixture_sql[] =
	"INSERT INTO users (id, email, password_hash) VALUES (1, 'Alice@Example.org', 'x'),"
	" (2, 'bob@example.org', 'x');"
	"INSERT INTO zones (id, name, mname, rname) VALUES (1, 'dyn.test.', 'ns1.dyn.test.',"
	" 'hostmaster.dyn.test.');"
	"INSERT INTO domains (id, zone_id, user_id, name) VALUES (1, 1, 1, 'alice.dyn.test.'),"
	" (2, 1, 2, 'bob.dyn.test.');"
	"INSERT INTO records (zone_id, domain_id, name, type, content, ttl) VALUES"
	" (1, 1, 'alice.dyn.test.', 'A', '192.0.2.1', 60),"
	" (1, 1, 'www.alice.dyn.test.', 'A', '192.0.2.2', 60),"
	" (1, 1, 'www.alice.dyn.test.', 'AAAA', '2001:db8::2', 60),"
	" (1, 2, 'bob.dyn.test.', 'A', '192.0.2.3', 60);";

struct constraint_case {
	const char *what, *sql, *sqlstate;
};

static const struct constraint_case constraint_cases[] = {
	{ "duplicate email differing in case",
	  "INSERT INTO users (email, password_hash) VALUES ('alice@EXAMPLE.org', 'x')", "23505" },
	{ "ttl below 60",
	  "INSERT INTO records (zone_id, domain_id, name, type, content, ttl)"
	  " VALUES (1, 1, 'alice.dyn.test.', 'A', '192.0.2.9', 59)",
	  "23514" },
	{ "ttl above a day", "UPDATE records SET ttl = 86401 WHERE name = 'alice.dyn.test.'",
	  "23514" },
	{ "upper-case record name",
	  "INSERT INTO records (zone_id, domain_id, name, type, content)"
	  " VALUES (1, 1, 'WWW.alice.dyn.test.', 'A', '192.0.2.9')",
	  "23514" },
	{ "record name without trailing dot",
	  "INSERT INTO records (zone_id, domain_id, name, type, content)"
	  " VALUES (1, 1, 'x.alice.dyn.test', 'A', '192.0.2.9')",
	  "23514" },
	{ "record outside its domain",
	  "INSERT INTO records (zone_id, domain_id, name, type, content)"
	  " VALUES (1, 1, 'bob.dyn.test.', 'A', '192.0.2.9')",
	  "23514" },
	{ "record outside its zone",
	  "INSERT INTO records (zone_id, name, type, content)"
	  " VALUES (1, 'example.com.', 'A', '192.0.2.9')",
	  "23514" },
	{ "unknown record type",
	  "INSERT INTO records (zone_id, domain_id, name, type, content)"
	  " VALUES (1, 1, 'alice.dyn.test.', 'SOA', 'x')",
	  "23514" },
	{ "duplicate record",
	  "INSERT INTO records (zone_id, domain_id, name, type, content)"
	  " VALUES (1, 1, 'alice.dyn.test.', 'A', '192.0.2.1')",
	  "23505" },
	{ "CNAME beside other data",
	  "INSERT INTO records (zone_id, domain_id, name, type, content)"
	  " VALUES (1, 1, 'alice.dyn.test.', 'CNAME', 'example.com.')",
	  "23505" },
	{ "domain two labels below its zone",
	  "INSERT INTO domains (zone_id, user_id, name) VALUES (1, 1, 'a.b.dyn.test.')", "23514" },
	{ "domain in another zone",
	  "INSERT INTO domains (zone_id, user_id, name) VALUES (1, 1, 'carol.example.com.')",
	  "23514" },
	{ "domain renamed", "UPDATE domains SET name = 'carol.dyn.test.' WHERE id = 1", "23514" },
	{ "zone name upper case",
	  "INSERT INTO zones (name, mname, rname) VALUES ('Dyn2.test.', 'ns1.dyn.test.',"
	  " 'hostmaster.dyn.test.')",
	  "23514" },
	{ "zone with domains deleted", "DELETE FROM zones WHERE id = 1", "23503" },
	{ "short token hash",
	  "INSERT INTO email_tokens (user_id, purpose, token_hash, expires_at)"
	  " VALUES (1, 'verify', '\\x0102', now())",
	  "23514" },
	{ "HMAC api key",
	  "INSERT INTO api_keys (kid, user_id, algorithm, public_jwk)"
	  " VALUES ('k1', 1, 'HS256', '{}')",
	  "23514" },
	{ "unknown user status", "UPDATE users SET status = 'banned' WHERE id = 1", "23514" },
};

START_TEST(test_constraint)
{
	const struct constraint_case *c = &constraint_cases[_i];
	struct fx fx;
	struct db_error err;
	int r;

	fx_init(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_msg(db_exec_script(fx.conn, fixture_sql, &err) == 0, "%s", err.msg);
	r = db_exec(fx.conn, c->sql, 0, NULL, NULL, &err);
	ck_assert_msg(r == -EIO, "%s: accepted (%d)", c->what, r);
	ck_assert_msg(strcmp(err.sqlstate, c->sqlstate) == 0, "%s: %s", c->what, err.msg);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_accepted)
{
	static const char *const ok[] = {
		"INSERT INTO records (zone_id, domain_id, name, type, content)"
		" VALUES (1, 1, '_acme-challenge.alice.dyn.test.', 'TXT', 'token')",
		"INSERT INTO records (zone_id, domain_id, name, type, content)"
		" VALUES (1, 1, '*.alice.dyn.test.', 'A', '192.0.2.7')",
		"INSERT INTO records (zone_id, name, type, content)"
		" VALUES (1, 'dyn.test.', 'NS', 'ns1.dyn.test.')",
		"UPDATE records SET content = '192.0.2.99' WHERE name = 'alice.dyn.test.'",
	};
	struct fx fx;
	struct db_error err;
	size_t i;

	fx_init(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_msg(db_exec_script(fx.conn, fixture_sql, &err) == 0, "%s", err.msg);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(db_exec(fx.conn, ok[i], 0, NULL, NULL, &err) == 0, "%s: %s", ok[i],
			      err.msg);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_user_delete_cascades)
{
	struct fx fx;
	struct db_error err;
	char buf[256];

	fx_init(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_msg(db_exec_script(fx.conn, fixture_sql, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(db_exec(fx.conn, "TRUNCATE changes", 0, NULL, NULL, &err), 0);
	ck_assert_int_eq(db_exec(fx.conn,
				 "INSERT INTO audit_log (user_id, actor, action, domain_name)"
				 " VALUES (1, 'session', 'domain.create', 'alice.dyn.test.')",
				 0, NULL, NULL, &err),
			 0);

	ck_assert_int_eq(db_exec(fx.conn, "DELETE FROM users WHERE id = 1", 0, NULL, NULL, &err),
			 0);
	query1(fx.conn, "SELECT count(*) FROM domains WHERE user_id = 1", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	query1(fx.conn, "SELECT count(*) FROM records WHERE domain_id = 1", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	/* bob's data is untouched */
	query1(fx.conn, "SELECT count(*) FROM records WHERE domain_id = 2", buf, sizeof(buf));
	ck_assert_str_eq(buf, "1");
	/* one change per deleted record, naming it */
	query1(fx.conn,
	       "SELECT string_agg(name, ' ' ORDER BY id) || ' ' || bool_and(zone_id = 1)"
	       " FROM changes",
	       buf, sizeof(buf));
	ck_assert_str_eq(buf, "alice.dyn.test. www.alice.dyn.test. www.alice.dyn.test. true");
	/* the audit trail stays, without the user */
	query1(fx.conn, "SELECT coalesce(user_id::text, 'null') FROM audit_log", buf, sizeof(buf));
	ck_assert_str_eq(buf, "null");
	fx_finish(&fx);
}
END_TEST

START_TEST(test_rename_logs_both_names)
{
	struct fx fx;
	struct db_error err;
	char buf[256];

	fx_init(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_msg(db_exec_script(fx.conn, fixture_sql, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(db_exec(fx.conn, "TRUNCATE changes", 0, NULL, NULL, &err), 0);
	ck_assert_int_eq(db_exec(fx.conn,
				 "UPDATE records SET name = 'v6.alice.dyn.test.'"
				 " WHERE type = 'AAAA'",
				 0, NULL, NULL, &err),
			 0);
	query1(fx.conn, "SELECT string_agg(name, ' ' ORDER BY name) FROM changes", buf,
	       sizeof(buf));
	ck_assert_str_eq(buf, "v6.alice.dyn.test. www.alice.dyn.test.");
	fx_finish(&fx);
}
END_TEST

/* TRUNCATE fires no row triggers: the names must reach the change log anyway. */
struct truncate_case {
	const char *sql, *want;
};

static const struct truncate_case truncate_cases[] = {
	{ "TRUNCATE records", "alice.dyn.test. bob.dyn.test. www.alice.dyn.test." },
	{ "TRUNCATE users CASCADE", "alice.dyn.test. bob.dyn.test. www.alice.dyn.test." },
	{ "TRUNCATE domains CASCADE", "alice.dyn.test. bob.dyn.test. www.alice.dyn.test." },
	{ "TRUNCATE zones CASCADE", "alice.dyn.test. bob.dyn.test. dyn.test. www.alice.dyn.test." },
};

START_TEST(test_truncate_logs_names)
{
	const struct truncate_case *c = &truncate_cases[_i];
	struct fx fx;
	struct db_error err;
	char buf[256];

	fx_init(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_msg(db_exec_script(fx.conn, fixture_sql, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(db_exec(fx.conn, "TRUNCATE changes", 0, NULL, NULL, &err), 0);
	ck_assert_msg(db_exec(fx.conn, c->sql, 0, NULL, NULL, &err) == 0, "%s: %s", c->sql,
		      err.msg);
	query1(fx.conn,
	       "SELECT coalesce(string_agg(DISTINCT name, ' ' ORDER BY name), '')"
	       " || ' ' || coalesce(bool_and(zone_id = 1), true) FROM changes",
	       buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, c->want, strlen(c->want)) == 0 &&
			      strcmp(buf + strlen(c->want), " true") == 0,
		      "%s: changes: %s", c->sql, buf);
	fx_finish(&fx);
}
END_TEST

/* ---- seed ---------------------------------------------------------------- */

static const char snapshot_sql[] =
	"SELECT (SELECT string_agg(concat_ws(' ', name, kind, mname, rname, serial, refresh,"
	" retry, expire, minimum), '; ' ORDER BY name) FROM zones) || ' | ' ||"
	" (SELECT string_agg(concat_ws(' ', name, type, content, ttl, domain_id), '; '"
	" ORDER BY name, type, content) FROM records) || ' | ' ||"
	" (SELECT count(*) FROM changes)";

START_TEST(test_seed_twice)
{
	struct seed_config cfg = {
		.base_zones = "dyn.test., Other.Test",
		.zone_ns = "ns1.dyn.test.=127.0.0.1, ns2.dyn.test.=2001:DB8::53,ns.example.net.",
		.refresh = 10800,
		.retry = 3600,
		.expire = 604800,
		.minimum = 60,
		.ns_ttl = 3600,
	};
	struct fx fx;
	struct db_error err;
	char first[2048], second[2048], buf[64];

	fx_init(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_msg(migrate_seed(fx.conn, &cfg, fx.f, &err) == 0, "%s", err.msg);
	query1(fx.conn, snapshot_sql, first, sizeof(first));
	ck_assert_msg(strstr(first, "dyn.test. NS ns1.dyn.test. 3600"), "%s", first);
	ck_assert_msg(strstr(first, "ns2.dyn.test. AAAA 2001:db8::53 3600"), "%s", first);
	ck_assert_msg(strstr(first, "other.test. base ns1.dyn.test. hostmaster.other.test."), "%s",
		      first);
	/* glue only inside its zone */
	query1(fx.conn, "SELECT count(*) FROM records WHERE type IN ('A', 'AAAA')", buf,
	       sizeof(buf));
	ck_assert_str_eq(buf, "2");
	query1(fx.conn, "SELECT count(*) FROM records WHERE type = 'NS'", buf, sizeof(buf));
	ck_assert_str_eq(buf, "6");

	ck_assert_msg(migrate_seed(fx.conn, &cfg, fx.f, &err) == 0, "%s", err.msg);
	query1(fx.conn, snapshot_sql, second, sizeof(second));
	ck_assert_str_eq(second, first);
	ck_assert_ptr_nonnull(strstr(fx_output(&fx), "zone dyn.test.: unchanged"));

	/* changed timers update the zone, and log the change */
	cfg.refresh = 7200;
	ck_assert_msg(migrate_seed(fx.conn, &cfg, fx.f, &err) == 0, "%s", err.msg);
	query1(fx.conn, "SELECT refresh FROM zones WHERE name = 'dyn.test.'", buf, sizeof(buf));
	ck_assert_str_eq(buf, "7200");
	ck_assert_ptr_nonnull(strstr(fx_output(&fx), "zone dyn.test.: updated"));
	fx_finish(&fx);
}
END_TEST

struct seed_bad_case {
	const char *zones, *ns, *hostmaster;
};

static const struct seed_bad_case seed_bad_cases[] = {
	{ "dyn..test.", "ns1.dyn.test.", NULL },
	{ "dyn.test.", "ns1.dyn.test.=999.1.1.1", NULL },
	{ "dyn.test.", "", NULL },
	{ "", "ns1.dyn.test.", NULL },
	{ "dyn_x.test.", "ns1.dyn.test.", NULL },
	{ "dyn.test.", "ns1.dyn.test.", "host.master@example.net" },
};

START_TEST(test_seed_bad)
{
	const struct seed_bad_case *c = &seed_bad_cases[_i];
	struct seed_config cfg = {
		.base_zones = c->zones,
		.zone_ns = c->ns,
		.zone_hostmaster = c->hostmaster,
		.refresh = 10800,
		.retry = 3600,
		.expire = 604800,
		.minimum = 60,
		.ns_ttl = 3600,
	};
	struct fx fx;
	struct db_error err;
	char buf[64];

	fx_init(&fx);
	up_or_fail(&fx, migrations_dir);
	ck_assert_int_eq(migrate_seed(fx.conn, &cfg, fx.f, &err), -EINVAL);
	query1(fx.conn, "SELECT count(*) FROM zones", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	fx_finish(&fx);
}
END_TEST

/* ---- the ddns-migrate binary -------------------------------------------- */

struct cli_case {
	const char *args; /* after the binary; "@DSN@" is the test database */
	const char *env;  /* extra environment, or NULL */
	int status;
	const char *err_part; /* expected in stderr, or NULL for empty stderr */
	const char *out_part; /* expected in stdout, or NULL */
};

static const struct cli_case cli_cases[] = {
	{ "up", NULL, 0, NULL, "applied 0001_init.sql" },
	{ "status", NULL, 0, NULL, "pending" },
	{ "seed", NULL, 2, "relation \"zones\" does not exist", NULL },
	{ "--help", NULL, 0, NULL, "DDNS_DATABASE_URL" },
	{ "", NULL, 1, "expected one command", NULL },
	{ "down", NULL, 1, "unknown command \"down\"", NULL },
	{ "up", "DDNS_BASE_ZONES='bad..zone'", 1, "base_zones", NULL },
	{ "up", "DDNS_ZONE_REFRESH=5", 1, "zone_refresh", NULL },
	{ "--database-url 'postgresql://u:hunter2@127.0.0.1:1/x' up", NULL, 2,
	  "could not connect to database \"postgresql://u:xxxxx@127.0.0.1:1/x\"", NULL },
	{ "--migrations-dir /nonexistent up", NULL, 2, "could not open migrations directory",
	  NULL },
};

START_TEST(test_cli)
{
	const struct cli_case *c = &cli_cases[_i];
	const char *bin = getenv("DDNS_TEST_MIGRATE_BIN");
	char cmd[4096], out_path[] = "/tmp/ddns-cli-out.XXXXXX",
			err_path[] = "/tmp/ddns-cli-err.XXXXXX";
	char out[4096] = "", errbuf[4096] = "";
	const char *p;
	size_t pos = 0;
	struct fx fx;
	int status, fd_out, fd_err;
	FILE *f;

	ck_assert_msg(bin && *bin, "DDNS_TEST_MIGRATE_BIN not set");
	fx_init(&fx);
	fd_out = mkstemp(out_path);
	fd_err = mkstemp(err_path);
	ck_assert(fd_out >= 0 && fd_err >= 0);
	close(fd_out);
	close(fd_err);
	/* the DSN goes through the environment; its quoting is ours */
	pos = (size_t)snprintf(cmd, sizeof(cmd),
			       "env -u DDNS_MIGRATE_CONFIG %s DDNS_DATABASE_URL=\"",
			       c->env ? c->env : "");
	for (p = fx.dsn; *p && pos + 4 < sizeof(cmd); p++) {
		if (*p == '"' || *p == '\\' || *p == '$' || *p == '`')
			cmd[pos++] = '\\';
		cmd[pos++] = *p;
	}
	snprintf(cmd + pos, sizeof(cmd) - pos, "\" '%s' %s >%s 2>%s", bin, c->args, out_path,
		 err_path);
	status = system(cmd);
	ck_assert(WIFEXITED(status));
	f = fopen(out_path, "r");
	out[fread(out, 1, sizeof(out) - 1, f)] = '\0';
	fclose(f);
	f = fopen(err_path, "r");
	errbuf[fread(errbuf, 1, sizeof(errbuf) - 1, f)] = '\0';
	fclose(f);
	unlink(out_path);
	unlink(err_path);
	ck_assert_msg(WEXITSTATUS(status) == c->status, "%s: exit %d, stderr: %s", c->args,
		      WEXITSTATUS(status), errbuf);
	if (c->err_part) {
		ck_assert_msg(strstr(errbuf, c->err_part), "%s: stderr: %s", c->args, errbuf);
		/* one clear line */
		ck_assert_msg(strchr(errbuf, '\n') == errbuf + strlen(errbuf) - 1, "stderr: %s",
			      errbuf);
	} else {
		ck_assert_msg(errbuf[0] == '\0', "%s: stderr: %s", c->args, errbuf);
	}
	if (c->out_part)
		ck_assert_msg(strstr(out, c->out_part), "%s: stdout: %s", c->args, out);
	ck_assert_ptr_null(strstr(errbuf, "hunter2"));
	ck_assert_ptr_null(strstr(out, "hunter2"));
	fx_finish(&fx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s;
	TCase *tc;

	testdb_url_or_skip();
	migrations_dir = getenv("DDNS_TEST_MIGRATIONS_DIR");
	if (!migrations_dir || !*migrations_dir)
		migrations_dir = "schema/migrations";
	s = suite_create("migrate");

	tc = tcase_create("up");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_up_fresh_then_idempotent);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_changed_file_refused);
	tcase_add_test(tc, test_missing_file_refused);
	tcase_add_loop_test(tc, test_bad_dir, 0, sizeof(bad_dir_cases) / sizeof(bad_dir_cases[0]));
	tcase_add_test(tc, test_concurrent_up);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_constraint, 0,
			    sizeof(constraint_cases) / sizeof(constraint_cases[0]));
	tcase_add_test(tc, test_accepted);
	tcase_add_test(tc, test_user_delete_cascades);
	tcase_add_test(tc, test_rename_logs_both_names);
	tcase_add_loop_test(tc, test_truncate_logs_names, 0,
			    sizeof(truncate_cases) / sizeof(truncate_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("seed");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_seed_twice);
	tcase_add_loop_test(tc, test_seed_bad, 0,
			    sizeof(seed_bad_cases) / sizeof(seed_bad_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("cli");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cli, 0, sizeof(cli_cases) / sizeof(cli_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
