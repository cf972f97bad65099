#include "admin/zone.h"

#include "schema/migrate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NS_MAX 16

int zone_name_parse(const char *in, char ret_name[DNSNAME_SIZE], struct db_error *err)
{
	const char *reason = NULL;

	if (dnsname_normalize(in, DNSNAME_HOSTNAME, ret_name, &reason) < 0)
		return db_error_set(err, -EINVAL, "invalid zone name \"%s\": %s", in, reason);
	if (dnsname_label_count(ret_name) < 2)
		return db_error_set(err, -EINVAL,
				    "invalid zone name \"%s\": a top-level domain cannot be a zone "
				    "here",
				    in);
	return 0;
}

int zone_hostmaster_parse(const char *in, char ret_rname[DNSNAME_SIZE], struct db_error *err)
{
	const char *at = strchr(in, '@'), *reason = NULL;
	char tmp[DNSNAME_SIZE];
	size_t len = strlen(in);

	if (at) {
		if (at == in || memchr(in, '.', (size_t)(at - in)) || len >= sizeof(tmp))
			return db_error_set(err, -EINVAL,
					    "invalid hostmaster \"%s\": expected a mailbox as a "
					    "name (hostmaster.example.net.) or an address without "
					    "dots before the @",
					    in);
		memcpy(tmp, in, len + 1);
		tmp[at - in] = '.';
		in = tmp;
	}
	if (dnsname_normalize(in, DNSNAME_HOSTNAME, ret_rname, &reason) < 0)
		return db_error_set(err, -EINVAL, "invalid hostmaster \"%s\": %s", in, reason);
	return 0;
}

/* Parses @list into @ns (NS_MAX entries); returns the count or -EINVAL with a message. */
static int parse_ns_list(const char *list, struct seed_ns *ns, struct db_error *err)
{
	const char *p = list ? list : "", *item;
	size_t len;
	int n = 0;

	while ((item = seed_next_item(&p, &len))) {
		if (n == NS_MAX)
			return db_error_set(err, -EINVAL, "more than %d nameservers", NS_MAX);
		if (seed_parse_ns(item, len, &ns[n]) < 0)
			return db_error_set(err, -EINVAL,
					    "invalid nameserver \"%.*s\": expected NAME or "
					    "NAME=ADDRESS, such as ns1.example.net.=192.0.2.1",
					    (int)len, item);
		n++;
	}
	if (n == 0)
		return db_error_set(err, -EINVAL, "no nameservers given (--ns NAME[=ADDRESS])");
	return n;
}

int zone_check_ns(const char *value, const char **ret_reason)
{
	struct seed_ns ns[NS_MAX];
	struct db_error err;

	if (parse_ns_list(value, ns, &err) < 0) {
		*ret_reason = "expected NAME or NAME=ADDRESS, comma separated, such as "
			      "\"ns1.dyn.example.net.=192.0.2.1\" (at most 16)";
		return -EINVAL;
	}
	return 0;
}

int zone_check_hostmaster(const char *value, const char **ret_reason)
{
	char buf[DNSNAME_SIZE];

	if (!*value || zone_hostmaster_parse(value, buf, NULL) == 0)
		return 0;
	*ret_reason = "expected a mailbox as a name (\"hostmaster.example.net.\") or an address "
		      "without dots before the @";
	return -EINVAL;
}

static int add_in_tx(PGconn *conn, const struct zone_params *p, const char *zone, const char *rname,
		     const struct seed_ns *ns, int n_ns, FILE *out, struct db_error *err)
{
	char refresh[24], retry[24], expire[24], minimum[24], ttl[24], zone_id[24];
	const char *kind = p->kind ? p->kind : "base";
	const char *params[8] = { zone, kind, ns[0].name, rname, refresh, retry, expire, minimum };
	const char *dparams[1] = { zone };
	PGresult *res = NULL;
	size_t n_glue = 0;
	int r;

	/* a zone inside a user's domain would take the user's names away */
	r = db_exec(conn,
		    "SELECT d.name, u.email FROM domains d JOIN users u ON u.id = d.user_id"
		    " WHERE d.name = $1 OR right($1, length(d.name) + 1) = '.' || d.name LIMIT 1",
		    1, dparams, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) > 0) {
		r = db_error_set(err, -EPERM, "zone \"%s\" would lie in domain \"%s\" of user %s",
				 zone, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		PQclear(res);
		return r;
	}
	PQclear(res);
	res = NULL;

	snprintf(refresh, sizeof(refresh), "%lld", p->refresh);
	snprintf(retry, sizeof(retry), "%lld", p->retry);
	snprintf(expire, sizeof(expire), "%lld", p->expire);
	snprintf(minimum, sizeof(minimum), "%lld", p->minimum);
	snprintf(ttl, sizeof(ttl), "%lld", p->ns_ttl);
	r = db_exec(conn,
		    "INSERT INTO zones (name, kind, mname, rname, serial, refresh, retry, expire,"
		    " minimum)"
		    " VALUES ($1, $2, $3, $4,"
		    " to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')::bigint * 100,"
		    " $5, $6, $7, $8)"
		    " ON CONFLICT (name) DO NOTHING RETURNING id",
		    8, params, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return db_error_set(err, -EEXIST, "zone \"%s\" exists already", zone);
	}
	snprintf(zone_id, sizeof(zone_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	r = seed_zone_ns(conn, zone_id, zone, ns, (size_t)n_ns, ttl,
			 "add it with ddns-admin record add NAME A ADDRESS", out, NULL, &n_glue,
			 err);
	if (r < 0)
		return r;
	fprintf(out, "zone %s: created (%s), %d NS records, %zu glue records\n", zone, kind, n_ns,
		n_glue);
	return 0;
}

int zone_add(PGconn *conn, const struct zone_params *p, FILE *out, struct db_error *err)
{
	struct seed_ns ns[NS_MAX];
	char zone[DNSNAME_SIZE], rname[DNSNAME_SIZE];
	int r, n_ns;

	r = zone_name_parse(p->name, zone, err);
	if (r < 0)
		return r;
	if (p->kind && strcmp(p->kind, "base") != 0 && strcmp(p->kind, "custom") != 0)
		return db_error_set(err, -EINVAL, "invalid zone kind \"%s\": base or custom",
				    p->kind);
	if (p->hostmaster && *p->hostmaster) {
		r = zone_hostmaster_parse(p->hostmaster, rname, err);
		if (r < 0)
			return r;
	} else if (snprintf(rname, sizeof(rname), "hostmaster.%s", zone) >= (int)sizeof(rname) ||
		   dnsname_normalize(rname, DNSNAME_HOSTNAME, rname, NULL) < 0) {
		return db_error_set(err, -EINVAL,
				    "zone name \"%s\" is too long for hostmaster.<zone>: give "
				    "--hostmaster",
				    zone);
	}
	n_ns = parse_ns_list(p->ns, ns, err);
	if (n_ns < 0)
		return n_ns;
	for (int i = 0; i < n_ns; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(ns[i].name, ns[j].name) == 0)
				return db_error_set(err, -EINVAL, "nameserver %s given twice",
						    ns[i].name);

	r = db_exec(conn, "BEGIN", 0, NULL, NULL, err);
	if (r < 0)
		return r;
	r = add_in_tx(conn, p, zone, rname, ns, n_ns, out, err);
	if (r < 0)
		goto fail;
	return db_exec(conn, "COMMIT", 0, NULL, NULL, err);
fail:
	(void)db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL);
	return r;
}

int zone_list(PGconn *conn, FILE *out, struct db_error *err)
{
	PGresult *res = NULL;
	int r, i, n;

	r = db_exec(conn,
		    "SELECT z.name, z.kind, " ZONE_SERIAL_SQL ","
		    " (SELECT count(*) FROM records r WHERE r.zone_id = z.id),"
		    " (SELECT count(*) FROM domains d WHERE d.zone_id = z.id)"
		    " FROM zones z ORDER BY z.name COLLATE \"C\"",
		    0, NULL, &res, err);
	if (r < 0)
		return r;
	n = PQntuples(res);
	fprintf(out, "%-40s %-6s %12s %8s %8s\n", "ZONE", "KIND", "SERIAL", "RECORDS", "DOMAINS");
	for (i = 0; i < n; i++)
		fprintf(out, "%-40s %-6s %12s %8s %8s\n", PQgetvalue(res, i, 0),
			PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
			PQgetvalue(res, i, 4));
	PQclear(res);
	return 0;
}

int zone_show(PGconn *conn, const char *name, FILE *out, struct db_error *err)
{
	char zone[DNSNAME_SIZE];
	const char *params[1] = { zone };
	PGresult *res = NULL;
	int r;

	r = zone_name_parse(name, zone, err);
	if (r < 0)
		return r;
	r = db_exec(conn,
		    "SELECT z.name, z.kind, z.mname, z.rname, z.serial, " ZONE_SERIAL_SQL ","
		    " z.refresh, z.retry, z.expire, z.minimum,"
		    " to_char(z.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		    " (SELECT count(*) FROM records r WHERE r.zone_id = z.id),"
		    " (SELECT count(*) FROM records r WHERE r.zone_id = z.id"
		    " AND r.domain_id IS NULL),"
		    " (SELECT count(*) FROM domains d WHERE d.zone_id = z.id)"
		    " FROM zones z WHERE z.name = $1",
		    1, params, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return db_error_set(err, -ENOENT, "zone \"%s\" does not exist", zone);
	}
	fprintf(out,
		"zone:        %s\n"
		"kind:        %s\n"
		"created:     %s\n"
		"mname:       %s\n"
		"rname:       %s\n"
		"serial:      %s (served; base %s)\n"
		"refresh:     %s\n"
		"retry:       %s\n"
		"expire:      %s\n"
		"minimum:     %s\n"
		"records:     %s (%s operator, rest in users' domains)\n"
		"domains:     %s\n",
		PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 10),
		PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 5),
		PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7),
		PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 9), PQgetvalue(res, 0, 11),
		PQgetvalue(res, 0, 12), PQgetvalue(res, 0, 13));
	PQclear(res);
	return 0;
}

static int remove_in_tx(PGconn *conn, const char *zone, bool force, FILE *out, struct db_error *err)
{
	const char *params[1] = { zone };
	char zone_id[24];
	const char *idp[1] = { zone_id };
	PGresult *res = NULL;
	long long n_domains, n_records;
	int r;

	/* FOR UPDATE: new domains (whose foreign key locks the row) wait for us */
	r = db_exec(conn,
		    "SELECT z.id, (SELECT count(*) FROM domains d WHERE d.zone_id = z.id),"
		    " (SELECT count(*) FROM records r WHERE r.zone_id = z.id)"
		    " FROM zones z WHERE z.name = $1 FOR UPDATE",
		    1, params, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return db_error_set(err, -ENOENT, "zone \"%s\" does not exist", zone);
	}
	snprintf(zone_id, sizeof(zone_id), "%s", PQgetvalue(res, 0, 0));
	n_domains = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	n_records = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	if (n_domains > 0 && !force)
		return db_error_set(err, -EPERM,
				    "zone \"%s\" has %lld users' domains: remove them first, or "
				    "give --force to delete them with their records",
				    zone, n_domains);
	if (n_domains > 0) {
		r = db_exec(conn, "DELETE FROM domains WHERE zone_id = $1", 1, idp, NULL, err);
		if (r < 0)
			return r;
	}
	r = db_exec(conn, "DELETE FROM zones WHERE id = $1", 1, idp, NULL, err);
	if (r < 0)
		return r;
	fprintf(out, "zone %s: removed with %lld records and %lld domains\n", zone, n_records,
		n_domains);
	return 0;
}

int zone_remove(PGconn *conn, const char *name, bool force, FILE *out, struct db_error *err)
{
	char zone[DNSNAME_SIZE];
	int r;

	r = zone_name_parse(name, zone, err);
	if (r < 0)
		return r;
	r = db_exec(conn, "BEGIN", 0, NULL, NULL, err);
	if (r < 0)
		return r;
	r = remove_in_tx(conn, zone, force, out, err);
	if (r < 0) {
		(void)db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL);
		return r;
	}
	return db_exec(conn, "COMMIT", 0, NULL, NULL, err);
}
