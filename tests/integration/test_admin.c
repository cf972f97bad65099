/* ddns-admin against a real PostgreSQL: the binary where exit codes and messages matter. */

#include "admin/zonefile.h"
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

static const char *migrations_dir, *admin_bin, *fixtures;

/* A fresh migrated database, a connection to it, and the last command's output. */
struct fx {
	char dsn[1024], name[64];
	PGconn *conn;
	char out[1 << 16], err[8192];
};

static void fx_init(struct fx *fx)
{
	struct db_error err;
	FILE *devnull = fopen("/dev/null", "w");

	memset(fx, 0, sizeof(*fx));
	testdb_create(fx->dsn, sizeof(fx->dsn), fx->name, sizeof(fx->name));
	ck_assert_msg(db_connect(fx->dsn, "ddns-test", 5, &fx->conn, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(devnull);
	ck_assert_msg(migrate_up(fx->conn, migrations_dir, devnull, &err) == 0, "%s", err.msg);
	fclose(devnull);
}

static void fx_finish(struct fx *fx)
{
	PQfinish(fx->conn);
	testdb_drop(fx->name);
}

static void read_all(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	buf[fread(buf, 1, size - 1, f)] = '\0';
	fclose(f);
	unlink(path);
}

/* Runs ddns-admin @args (shell words) on the fixture's database; returns its exit status. */
static int run(struct fx *fx, const char *args)
{
	char cmd[8192], out_path[] = "/tmp/ddns-admin-out.XXXXXX",
			err_path[] = "/tmp/ddns-admin-err.XXXXXX";
	size_t pos;
	int status, fd_out = mkstemp(out_path), fd_err = mkstemp(err_path);

	ck_assert(fd_out >= 0 && fd_err >= 0);
	close(fd_out);
	close(fd_err);
	/* the DSN goes through the environment; its quoting is ours */
	pos = (size_t)snprintf(cmd, sizeof(cmd),
			       "cd '%s' && env -u DDNS_ADMIN_CONFIG "
			       "DDNS_DATABASE_URL=\"",
			       fixtures);
	for (const char *p = fx->dsn; *p && pos + 4 < sizeof(cmd); p++) {
		if (*p == '"' || *p == '\\' || *p == '$' || *p == '`')
			cmd[pos++] = '\\';
		cmd[pos++] = *p;
	}
	snprintf(cmd + pos, sizeof(cmd) - pos, "\" '%s' %s >%s 2>%s", admin_bin, args, out_path,
		 err_path);
	status = system(cmd);
	ck_assert(WIFEXITED(status));
	read_all(out_path, fx->out, sizeof(fx->out));
	read_all(err_path, fx->err, sizeof(fx->err));
	return WEXITSTATUS(status);
}

/* Runs and checks the exit status; on failure, shows stderr. */
static void run_ok(struct fx *fx, const char *args)
{
	int st = run(fx, args);

	ck_assert_msg(st == 0, "%s: exit %d: %s", args, st, fx->err);
	ck_assert_msg(fx->err[0] == '\0', "%s: stderr: %s", args, fx->err);
}

/* One line on stderr, containing @part, and exit status @status. */
static void run_fails(struct fx *fx, const char *args, int status, const char *part)
{
	int st = run(fx, args);

	ck_assert_msg(st == status, "%s: exit %d, expected %d: %s", args, st, status, fx->err);
	ck_assert_msg(strstr(fx->err, part), "%s: stderr: %s (expected \"%s\")", args, fx->err,
		      part);
	ck_assert_msg(strncmp(fx->err, "ddns-admin: ", 12) == 0, "stderr: %s", fx->err);
	ck_assert_msg(strchr(fx->err, '\n') == fx->err + strlen(fx->err) - 1, "stderr: %s",
		      fx->err);
}

/* All rows of @sql, fields separated by '|', rows ended by '\n', into @buf. */
static void query(struct fx *fx, const char *sql, char *buf, size_t size)
{
	struct db_error err;
	PGresult *res = NULL;
	size_t pos = 0;

	ck_assert_msg(db_exec(fx->conn, sql, 0, NULL, &res, &err) == 0, "%s: %s", sql, err.msg);
	buf[0] = '\0';
	for (int i = 0; i < PQntuples(res); i++)
		for (int j = 0; j < PQnfields(res); j++)
			pos += (size_t)snprintf(buf + pos, size - pos, "%s%s",
						PQgetvalue(res, i, j),
						j + 1 < PQnfields(res) ? "|" : "\n");
	ck_assert_msg(pos < size, "result of %s too long", sql);
	PQclear(res);
}

static long long query_int(struct fx *fx, const char *sql)
{
	char buf[64];

	query(fx, sql, buf, sizeof(buf));
	return strtoll(buf, NULL, 10);
}

static void exec_sql(struct fx *fx, const char *sql)
{
	struct db_error err;

	ck_assert_msg(db_exec(fx->conn, sql, 0, NULL, NULL, &err) == 0, "%s: %s", sql, err.msg);
}

#define ROWS_SQL                                                                       \
	"SELECT name, type, content, ttl, coalesce(domain_id::text, '-') FROM records" \
	" ORDER BY name COLLATE \"C\", type COLLATE \"C\", content COLLATE \"C\""

static void add_zone(struct fx *fx)
{
	run_ok(fx, "zone add dyn.test --ns ns1.dyn.test.=192.0.2.53,ns2.example.net");
}

/* A user alice@example.com with the domain alice.dyn.test. and one A record. */
static void add_user_domain(struct fx *fx)
{
	exec_sql(fx, "INSERT INTO users (email, password_hash) VALUES ('alice@example.com', 'x')");
	exec_sql(fx, "INSERT INTO domains (zone_id, user_id, name) SELECT z.id, u.id,"
		     " 'alice.dyn.test.' FROM zones z, users u WHERE z.name = 'dyn.test.'");
	exec_sql(fx, "INSERT INTO records (zone_id, domain_id, name, type, content, ttl)"
		     " SELECT zone_id, id, name, 'A', '198.51.100.7', 60 FROM domains");
}

/* ---- zone add / list / show / remove -------------------------------------- */

START_TEST(test_zone_lifecycle)
{
	struct fx fx;
	char buf[4096];

	fx_init(&fx);
	add_zone(&fx);
	ck_assert_ptr_nonnull(strstr(fx.out, "2 NS records, 1 glue records"));
	query(&fx, "SELECT name, kind, mname, rname, refresh, retry, expire, minimum FROM zones",
	      buf, sizeof(buf));
	ck_assert_str_eq(buf, "dyn.test.|base|ns1.dyn.test.|hostmaster.dyn.test.|10800|3600|"
			      "604800|60\n");
	query(&fx, ROWS_SQL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "dyn.test.|NS|ns1.dyn.test.|3600|-\n"
			      "dyn.test.|NS|ns2.example.net.|3600|-\n"
			      "ns1.dyn.test.|A|192.0.2.53|3600|-\n");
	ck_assert_int_gt(query_int(&fx, "SELECT count(*) FROM changes WHERE name = 'dyn.test.'"),
			 0);

	run_ok(&fx, "zone add example.org --kind custom --hostmaster admin@example.org "
		    "--ns ns.example.org=2001:db8::53");
	query(&fx, "SELECT kind, rname FROM zones WHERE name = 'example.org.'", buf, sizeof(buf));
	ck_assert_str_eq(buf, "custom|admin.example.org.\n");
	query(&fx, "SELECT type, content FROM records WHERE name = 'ns.example.org.'", buf,
	      sizeof(buf));
	ck_assert_str_eq(buf, "AAAA|2001:db8::53\n");

	run_fails(&fx, "zone add dyn.test.", 2, "zone \"dyn.test.\" exists already");
	run_fails(&fx, "zone add bad_zone.test", 1, "invalid zone name");
	run_fails(&fx, "zone add x.test --kind other", 1, "invalid zone kind");
	run_fails(&fx, "zone add x.test --ns 'ns1.x.test=300.1.1.1'", 1, "invalid nameserver");

	run_ok(&fx, "zone list");
	ck_assert_msg(strstr(fx.out, "dyn.test.") && strstr(fx.out, "example.org.") &&
			      strstr(fx.out, "custom"),
		      "%s", fx.out);

	add_user_domain(&fx);
	run_ok(&fx, "zone show dyn.test");
	ck_assert_msg(strstr(fx.out, "records:     4 (3 operator"), "%s", fx.out);
	ck_assert_msg(strstr(fx.out, "domains:     1\n"), "%s", fx.out);
	ck_assert_msg(strstr(fx.out, "rname:       hostmaster.dyn.test.\n"), "%s", fx.out);
	ck_assert_msg(strstr(fx.out, "refresh:     10800\n"), "%s", fx.out);
	run_fails(&fx, "zone show nope.test", 2, "zone \"nope.test.\" does not exist");

	/* refused while a user's domain exists: nothing changes */
	run_fails(&fx, "zone remove dyn.test", 2, "1 users' domains");
	ck_assert_msg(strstr(fx.err, "--force"), "%s", fx.err);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM records"), 6);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM domains"), 1);

	run_ok(&fx, "zone remove example.org");
	run_ok(&fx, "zone remove dyn.test --force");
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM zones"), 0);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM records"), 0);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM domains"), 0);
	/* DNS hears of the user's name going too */
	ck_assert_int_gt(query_int(&fx, "SELECT count(*) FROM changes"
					" WHERE name = 'alice.dyn.test.'"),
			 1);
	run_fails(&fx, "zone remove dyn.test", 2, "does not exist");
	fx_finish(&fx);
}
END_TEST

/* ---- import ----------------------------------------------------------------- */

static const char good_rows[] =
	"*.wild.dyn.test.|A|192.0.2.80|600|-\n"
	"_sip._tcp.dyn.test.|SRV|10 5 5060 sip.example.com.|600|-\n"
	"alice.dyn.test.|A|198.51.100.7|60|1\n"
	"dyn.test.|CAA|0 issue \"letsencrypt.org\"|600|-\n"
	"dyn.test.|CAA|128 iodef \"mailto:security@example.net\"|600|-\n"
	"dyn.test.|MX|10 mail.dyn.test.|600|-\n"
	"dyn.test.|MX|20 mail.example.com.|600|-\n"
	"dyn.test.|NS|ns1.dyn.test.|600|-\n"
	"dyn.test.|NS|ns2.example.net.|600|-\n"
	"dyn.test.|TXT|\"v=spf1 mx -all\"|600|-\n"
	"ftp.dyn.test.|CNAME|www.dyn.test.|600|-\n"
	"long.dyn.test.|TXT|\""
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" \""
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	"bbbbbbbbbbb\"|600|-\n"
	"mail.dyn.test.|A|192.0.2.25|600|-\n"
	"nas.lab.dyn.test.|A|192.168.1.11|120|-\n"
	"ns.sub.dyn.test.|A|192.0.2.99|3600|-\n"
	"ns1.dyn.test.|A|192.0.2.53|600|-\n"
	"ns1.dyn.test.|AAAA|2001:db8::53|600|-\n"
	"printer.lab.dyn.test.|A|192.168.1.10|600|-\n"
	"quotes.dyn.test.|TXT|\"say \\\"hi\\\"\" \"back\\\\slash\" \"semi;colon (paren)\" "
	"\"tab\\009end\" \"caf\\195\\169\"|600|-\n"
	"sub.dyn.test.|NS|ns.sub.dyn.test.|3600|-\n"
	"www.dyn.test.|A|192.0.2.1|300|-\n"
	"www.dyn.test.|AAAA|2001:db8::1|600|-\n";

START_TEST(test_import_good)
{
	struct fx fx;
	static char buf[1 << 14];

	fx_init(&fx);
	add_zone(&fx);
	add_user_domain(&fx);
	exec_sql(&fx, "TRUNCATE changes");
	run_ok(&fx, "zone import dyn.test good.zone --replace");
	ck_assert_msg(strstr(fx.out, "21 records, 18 added, 3 updated, 0 unchanged, 0 removed"),
		      "%s", fx.out);
	ck_assert_msg(strstr(fx.out, "SOA names (ns1.old.example. hostmaster.old.example.) are "
				     "ignored"),
		      "%s", fx.out);
	query(&fx, ROWS_SQL, buf, sizeof(buf));
	ck_assert_str_eq(buf, good_rows);
	/* the file's SOA timers and serial, the zone's own names */
	query(&fx,
	      "SELECT mname, rname, serial >= 2024010101, refresh, retry, expire, minimum"
	      " FROM zones",
	      buf, sizeof(buf));
	ck_assert_str_eq(buf, "ns1.dyn.test.|hostmaster.dyn.test.|t|7200|1800|1209600|300\n");
	/* the change log has every written name, and nothing of the user's */
	ck_assert_int_eq(query_int(&fx, "SELECT count(DISTINCT name) FROM changes"
					" WHERE name IN ('www.dyn.test.', 'printer.lab.dyn.test.',"
					" 'ns.sub.dyn.test.', '*.wild.dyn.test.', 'dyn.test.')"),
			 5);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM changes"
					" WHERE name = 'alice.dyn.test.'"),
			 0);
	/* the same file again changes nothing */
	exec_sql(&fx, "TRUNCATE changes");
	run_ok(&fx, "zone import dyn.test good.zone");
	ck_assert_msg(strstr(fx.out, "0 added, 0 updated, 21 unchanged, 0 removed"), "%s", fx.out);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM changes"), 0);
	fx_finish(&fx);
}
END_TEST

START_TEST(test_import_merge_keeps)
{
	struct fx fx;

	fx_init(&fx);
	add_zone(&fx);
	run_ok(&fx, "record add keep.dyn.test TXT kept");
	run_ok(&fx, "zone import dyn.test good.zone");
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM records WHERE name = "
					"'keep.dyn.test.'"),
			 1);
	/* the glue of zone add stays: 21 of the file, glue 127..., the TXT */
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM records"), 21 + 1);
	run_ok(&fx, "zone import dyn.test good.zone --replace");
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM records"), 21);
	run_fails(&fx, "zone import nope.test good.zone", 2, "zone add");
	run_fails(&fx, "zone import dyn.test missing.zone", 2, "could not open zone file");
	fx_finish(&fx);
}
END_TEST

struct bad_file_case {
	const char *file;
	const char *msg_part; /* the message after "FILE:LINE: " contains it */
	int line;
};

static const struct bad_file_case bad_file_cases[] = {
	{ "bad_syntax.zone", "Syntax error, could not parse the RR's rdata", 3 },
	{ "bad_type.zone", "host.dyn.test.: type HINFO is not supported", 3 },
	{ "bad_outside.zone", "\"www.other.test.\" is outside the zone \"dyn.test.\"", 3 },
	{ "bad_content.zone", "dyn.test. MX: invalid content \"10 .\"", 3 },
	{ "bad_cname.zone", "a CNAME record at \"x.dyn.test.\" cannot have other records", 3 },
	{ "bad_user.zone", "belongs to domain \"alice.dyn.test.\" of user alice@example.com", 3 },
	{ "bad_include.zone", "$INCLUDE is not supported", 2 },
	{ "bad_soa.zone", "SOA refresh 10 is out of range", 3 },
	{ "bad_class.zone", "class CH is not supported", 3 },
};

START_TEST(test_import_bad)
{
	const struct bad_file_case *c = &bad_file_cases[_i];
	struct fx fx;
	char args[256], want[512], before[4096], after[4096], zone_before[512], zone_after[512];
	long long changes;

	fx_init(&fx);
	add_zone(&fx);
	add_user_domain(&fx);
	query(&fx, ROWS_SQL, before, sizeof(before));
	query(&fx, "SELECT * FROM zones", zone_before, sizeof(zone_before));
	changes = query_int(&fx, "SELECT count(*) FROM changes");
	snprintf(args, sizeof(args), "zone import dyn.test %s --replace", c->file);
	snprintf(want, sizeof(want), "ddns-admin: %s:%d: ", c->file, c->line);
	run_fails(&fx, args, 2, c->msg_part);
	ck_assert_msg(strncmp(fx.err, want, strlen(want)) == 0, "stderr: %s", fx.err);
	/* nothing written */
	query(&fx, ROWS_SQL, after, sizeof(after));
	ck_assert_str_eq(after, before);
	query(&fx, "SELECT * FROM zones", zone_after, sizeof(zone_after));
	ck_assert_str_eq(zone_after, zone_before);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM changes"), changes);
	fx_finish(&fx);
}
END_TEST

/* A file of @n records, into @path. */
static void write_big_zone(const char *path, int n)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "$TTL 300\n@ IN SOA ns1 hostmaster 5 3600 600 86400 60\n");
	for (int i = 0; i < n; i++) {
		if (i % 2)
			fprintf(f, "host%d IN A 10.%d.%d.%d\n", i, i >> 16, (i >> 8) & 255,
				i & 255);
		else
			fprintf(f, "host%d IN TXT \"record %d\"\n", i, i);
	}
	fprintf(f, "broken IN A 10.0.0\n");
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_import_big)
{
	struct fx fx;
	char path[] = "/tmp/ddns-admin-big.XXXXXX", args[256];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	fx_init(&fx);
	add_zone(&fx);
	/* the last line is broken: nothing of the 5000 records before it is written */
	write_big_zone(path, 5000);
	snprintf(args, sizeof(args), "zone import dyn.test %s", path);
	run_fails(&fx, args, 2, ":5003: ");
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM records"), 3);

	ck_assert_int_eq(truncate(path, 0), 0);
	write_big_zone(path, 5000);
	{
		/* drop the broken last line */
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "sed -i '$d' '%s'", path);
		ck_assert_int_eq(system(cmd), 0);
	}
	run_ok(&fx, args);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM records"), 5003);
	ck_assert_int_ge(query_int(&fx, "SELECT count(DISTINCT name) FROM changes"), 5000);
	ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM records WHERE name ="
					" 'host4999.dyn.test.' AND content = '10.0.19.135'"),
			 1);
	unlink(path);
	fx_finish(&fx);
}
END_TEST

/* ---- export and round trip ---------------------------------------------------- */

/* The text after the SOA line of an export. */
static const char *after_soa(const char *text)
{
	const char *p = strstr(text, " IN SOA ");

	ck_assert_ptr_nonnull(p);
	p = strchr(p, '\n');
	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(test_round_trip)
{
	struct fx a, b;
	static char rows_a[1 << 14], rows_b[1 << 14], out_a[1 << 16];
	char path[] = "/tmp/ddns-admin-export.XXXXXX", args[256], soa_a[256], soa_b[256];
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	fx_init(&a);
	add_zone(&a);
	add_user_domain(&a);
	run_ok(&a, "zone import dyn.test good.zone");
	run_ok(&a, "record add 'x.dyn.test' TXT '\"a;b\" \"c\\\\d\"'");
	run_ok(&a, "zone export dyn.test");
	ck_assert_msg(strstr(a.out, "$ORIGIN dyn.test.\n"), "%s", a.out);
	ck_assert_msg(strstr(a.out, "1 records of users' domains left out"), "%s", a.out);
	ck_assert_ptr_null(strstr(a.out, "alice"));
	/* the served serial: at least the id of the last change */
	ck_assert_msg(strstr(a.out, "@ 3600 IN SOA ns1.dyn.test. hostmaster.dyn.test. "), "%s",
		      a.out);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(a.out, f);
	ck_assert_int_eq(fclose(f), 0);
	memcpy(out_a, a.out, sizeof(out_a));

	/* into another database: the same rows, the same SOA timers */
	fx_init(&b);
	add_zone(&b);
	snprintf(args, sizeof(args), "zone import dyn.test %s --replace", path);
	run_ok(&b, args);
	query(&a, ROWS_SQL " ", rows_a, sizeof(rows_a));
	query(&b, ROWS_SQL, rows_b, sizeof(rows_b));
	/* a has the user's record besides */
	ck_assert_ptr_nonnull(strstr(rows_a, "alice.dyn.test.|A|198.51.100.7|60|1\n"));
	memmove(strstr(rows_a, "alice.dyn.test."),
		strstr(rows_a, "alice.dyn.test.") + strlen("alice.dyn.test.|A|198.51.100.7|60|1\n"),
		strlen(strstr(rows_a, "alice.dyn.test.|A|198.51.100.7|60|1\n") +
		       strlen("alice.dyn.test.|A|198.51.100.7|60|1\n")) +
			1);
	ck_assert_str_eq(rows_b, rows_a);
	query(&a, "SELECT mname, rname, refresh, retry, expire, minimum FROM zones", soa_a,
	      sizeof(soa_a));
	query(&b, "SELECT mname, rname, refresh, retry, expire, minimum FROM zones", soa_b,
	      sizeof(soa_b));
	ck_assert_str_eq(soa_b, soa_a);

	/* and its export is the same text, apart from the SOA serial and the comment */
	run_ok(&b, "zone export dyn.test");
	ck_assert_str_eq(after_soa(b.out), after_soa(out_a));
	unlink(path);
	fx_finish(&a);
	fx_finish(&b);
}
END_TEST

/* ---- record add / remove ------------------------------------------------------ */

struct record_case {
	const char *args;
	int status;
	const char *part;      /* in stdout (status 0) or stderr */
	const char *check_sql; /* then its rows must be check_want */
	const char *check_want;
};

static const struct record_case record_cases[] = {
	{ "record add www.dyn.test A 192.0.2.1", 0, "added www.dyn.test. 300 A 192.0.2.1",
	  "SELECT name, type, content, ttl, domain_id IS NULL FROM records WHERE name = "
	  "'www.dyn.test.'",
	  "www.dyn.test.|A|192.0.2.1|300|t\n" },
	{ "record add WWW.Dyn.Test. aaaa 2001:DB8:0::1 --ttl 5", 0, "ttl 5 clamped to 60",
	  "SELECT content, ttl FROM records WHERE name = 'www.dyn.test.'", "2001:db8::1|60\n" },
	{ "record add www.dyn.test TXT 'v=spf1 -all' --ttl=999999", 0, "clamped to 86400",
	  "SELECT content, ttl FROM records WHERE name = 'www.dyn.test.'",
	  "\"v=spf1 -all\"|86400\n" },
	{ "record add '*.dyn.test' CNAME www", 0, "added *.dyn.test. 300 CNAME www.",
	  "SELECT content FROM records WHERE name = '*.dyn.test.'", "www.\n" },
	{ "record add dyn.test NS ns3.example.net --ttl 3600", 0, "added",
	  "SELECT count(*) FROM records WHERE name = 'dyn.test.' AND type = 'NS'", "3\n" },
	/* the same record again: its TTL is updated, no second row */
	{ "record add ns1.dyn.test A 192.0.2.53 --ttl 600", 0, "updated ns1.dyn.test. 600 A",
	  "SELECT ttl FROM records WHERE name = 'ns1.dyn.test.'", "600\n" },
	{ "record add www.dyn.test A 192.0.2.01", 1, "invalid A content \"192.0.2.01\"", NULL,
	  NULL },
	{ "record add www.dyn.test MX 'ten mail'", 1, "invalid MX content", NULL, NULL },
	{ "record add www.dyn.test HINFO x", 1, "unsupported record type \"HINFO\"", NULL, NULL },
	{ "record add dyn.test SOA 'a. b. 1 2 3 4 5'", 1, "SOA record comes from the zone", NULL,
	  NULL },
	{ "record add 'bad name.dyn.test' A 192.0.2.1", 1, "invalid name", NULL, NULL },
	{ "record add www.dyn.test A 192.0.2.1 --ttl ten", 1, "invalid --ttl", NULL, NULL },
	{ "record add www.dyn.test A", 1, "missing arguments", NULL, NULL },
	{ "record add www.dyn.test A 192.0.2.1 --force", 1, "unknown option --force", NULL, NULL },
	{ "record add www.other.test A 192.0.2.1", 2, "no zone contains \"www.other.test.\"", NULL,
	  NULL },
	{ "record add x.alice.dyn.test A 192.0.2.1", 2,
	  "belongs to domain \"alice.dyn.test.\" of user alice@example.com",
	  "SELECT count(*) FROM records WHERE name = 'x.alice.dyn.test.'", "0\n" },
	{ "record remove alice.dyn.test A", 2, "user's responsibility",
	  "SELECT count(*) FROM records WHERE name = 'alice.dyn.test.'", "1\n" },
	{ "record add ns1.dyn.test CNAME www.dyn.test", 2, "cannot have other records",
	  "SELECT count(*) FROM records WHERE name = 'ns1.dyn.test.'", "1\n" },
	{ "record remove ns1.dyn.test A 192.0.2.53", 0, "removed ns1.dyn.test. A 192.0.2.53",
	  "SELECT count(*) FROM records WHERE name = 'ns1.dyn.test.'", "0\n" },
	{ "record remove dyn.test NS", 0, "removed dyn.test. NS ns2.example.net.",
	  "SELECT count(*) FROM records WHERE name = 'dyn.test.'", "0\n" },
	{ "record remove ns1.dyn.test A 192.0.2.54", 2, "no A record \"192.0.2.54\"",
	  "SELECT count(*) FROM records WHERE name = 'ns1.dyn.test.'", "1\n" },
	{ "record remove www.dyn.test A", 2, "no A record at \"www.dyn.test.\"", NULL, NULL },
};

START_TEST(test_record)
{
	const struct record_case *c = &record_cases[_i];
	struct fx fx;
	char buf[1024];
	long long changes;
	int st;

	fx_init(&fx);
	add_zone(&fx);
	add_user_domain(&fx);
	changes = query_int(&fx, "SELECT count(*) FROM changes");
	if (c->status == 0) {
		run_ok(&fx, c->args);
		ck_assert_msg(strstr(fx.out, c->part), "%s: stdout: %s", c->args, fx.out);
		ck_assert_int_gt(query_int(&fx, "SELECT count(*) FROM changes"), changes);
	} else {
		run_fails(&fx, c->args, c->status, c->part);
		ck_assert_int_eq(query_int(&fx, "SELECT count(*) FROM changes"), changes);
	}
	if (c->check_sql) {
		query(&fx, c->check_sql, buf, sizeof(buf));
		ck_assert_str_eq(buf, c->check_want);
	}
	(void)st;
	fx_finish(&fx);
}
END_TEST

/* ---- the command line itself -------------------------------------------------- */

struct cli_case {
	const char *args;
	int status;
	const char *part; /* in stdout for status 0, else in stderr */
};

static const struct cli_case cli_cases[] = {
	{ "--help", 0, "--database-url" },
	{ "--help", 0, "zone import NAME FILE [--replace]" },
	{ "zone add --help", 0, "DDNS_ZONE_NS" },
	{ "", 1, "expected a command" },
	{ "zone", 1, "expected a command" },
	{ "zone frobnicate x", 1, "unknown command \"zone frobnicate\"" },
	{ "--bogus zone list", 1, "unknown option --bogus" },
	{ "zone list extra", 1, "unexpected argument \"extra\"" },
	{ "zone import dyn.test", 1, "missing arguments" },
	{ "zone remove dyn.test --force=yes", 1, "takes no value" },
	{ "zone add x.test --ns", 1, "needs a value" },
	{ "--zone-refresh=10 zone list", 1, "zone_refresh" },
	{ "zone list", 0, "ZONE" },
};

START_TEST(test_cli)
{
	const struct cli_case *c = &cli_cases[_i];
	struct fx fx;

	fx_init(&fx);
	if (c->status == 0) {
		run_ok(&fx, c->args);
		ck_assert_msg(strstr(fx.out, c->part), "%s: stdout: %s", c->args, fx.out);
	} else {
		ck_assert_int_eq(run(&fx, c->args), c->status);
		ck_assert_msg(strstr(fx.err, c->part), "%s: stderr: %s", c->args, fx.err);
		ck_assert_msg(strchr(fx.err, '\n') == fx.err + strlen(fx.err) - 1, "stderr: %s",
			      fx.err);
	}
	fx_finish(&fx);
}
END_TEST

/* A password in the URL is never printed, also when connecting fails. */
START_TEST(test_cli_no_password)
{
	char cmd[1024], out[4096] = "";
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "DDNS_DATABASE_URL='postgresql://u:hunter2@127.0.0.1:1/x' '%s' "
		 "--connect-timeout=1s zone list 2>&1",
		 admin_bin);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
	st = pclose(p);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 2);
	ck_assert_msg(strncmp(out, "ddns-admin: ", 12) == 0, "%s", out);
	ck_assert_msg(!strstr(out, "hunter2"), "%s", out);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s;
	TCase *tc;

	testdb_url_or_skip();
	migrations_dir = getenv("DDNS_TEST_MIGRATIONS_DIR");
	admin_bin = getenv("DDNS_TEST_ADMIN_BIN");
	fixtures = getenv("DDNS_TEST_FIXTURES_DIR");
	if (!migrations_dir || !admin_bin || !fixtures) {
		fprintf(stderr, "DDNS_TEST_MIGRATIONS_DIR, DDNS_TEST_ADMIN_BIN and "
				"DDNS_TEST_FIXTURES_DIR must be set (meson test does)\n");
		exit(EXIT_FAILURE);
	}
	s = suite_create("admin");

	tc = tcase_create("zone");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_zone_lifecycle);
	suite_add_tcase(s, tc);

	tc = tcase_create("import");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_import_good);
	tcase_add_test(tc, test_import_merge_keeps);
	tcase_add_loop_test(tc, test_import_bad, 0,
			    sizeof(bad_file_cases) / sizeof(bad_file_cases[0]));
	tcase_add_test(tc, test_import_big);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("record");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_record, 0, sizeof(record_cases) / sizeof(record_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("cli");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cli, 0, sizeof(cli_cases) / sizeof(cli_cases[0]));
	tcase_add_test(tc, test_cli_no_password);
	suite_add_tcase(s, tc);
	return s;
}
