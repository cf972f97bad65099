#include "admin/owner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int owner_zone(PGconn *conn, const char *name, char ret_zone_id[OWNER_ID_SIZE],
	       char ret_zone[DNSNAME_SIZE], struct db_error *err)
{
	const char *params[1] = { name };
	PGresult *res = NULL;
	int r;

	r = db_exec(conn,
		    "SELECT id, name FROM zones"
		    " WHERE name = $1 OR right($1, length(name) + 1) = '.' || name"
		    " ORDER BY length(name) DESC LIMIT 1",
		    1, params, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return db_error_set(err, -ENOENT,
				    "no zone contains \"%s\" (see ddns-admin zone list)", name);
	}
	snprintf(ret_zone_id, OWNER_ID_SIZE, "%s", PQgetvalue(res, 0, 0));
	snprintf(ret_zone, DNSNAME_SIZE, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

void owner_domain_candidate(const char *name, const char *zone, char buf[DNSNAME_SIZE])
{
	size_t nlen = strlen(name), zlen = strlen(zone), start;

	buf[0] = '\0';
	if (nlen <= zlen + 1)
		return; /* the apex, or not below the zone */
	/* the label before ".<zone>" starts after the previous dot, or at 0 */
	start = nlen - zlen - 1;
	while (start > 0 && name[start - 1] != '.')
		start--;
	snprintf(buf, DNSNAME_SIZE, "%s", name + start);
}

int owner_check_operator(PGconn *conn, const char *zone_id, const char *zone, const char *name,
			 struct db_error *err)
{
	char cand[DNSNAME_SIZE];
	const char *params[2] = { zone_id, cand };
	PGresult *res = NULL;
	int r;

	owner_domain_candidate(name, zone, cand);
	if (!cand[0])
		return 0;
	r = db_exec(conn,
		    "SELECT d.name, u.email FROM domains d JOIN users u ON u.id = d.user_id"
		    " WHERE d.zone_id = $1 AND d.name = $2",
		    2, params, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) > 0)
		r = db_error_set(err, -EPERM,
				 "\"%s\" belongs to domain \"%s\" of user %s: its records are the "
				 "user's responsibility (dashboard or API), not the operator's",
				 name, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	return r;
}
