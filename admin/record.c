#include "admin/record.h"

#include "admin/owner.h"
#include "shared/dnsname.h"
#include "shared/rr.h"

#include <errno.h>
#include <string.h>

/* Normalizes @name and @type, finds the zone and checks that the name is the operator's. */
static int resolve(PGconn *conn, const char *name, const char *type, char ret_name[DNSNAME_SIZE],
		   enum rr_type *ret_type, char ret_zone_id[OWNER_ID_SIZE],
		   char ret_zone[DNSNAME_SIZE], struct db_error *err)
{
	const char *reason = NULL;
	int r;

	if (dnsname_normalize(name, DNSNAME_WILDCARD, ret_name, &reason) < 0)
		return db_error_set(err, -EINVAL, "invalid name \"%s\": %s", name, reason);
	if (rr_type_parse(type, ret_type) < 0)
		return db_error_set(err, -EINVAL,
				    "unsupported record type \"%s\": expected A, AAAA, CNAME, MX, "
				    "TXT, SRV, CAA or NS",
				    type);
	if (*ret_type == RR_SOA)
		return db_error_set(err, -EINVAL,
				    "the SOA record comes from the zone: see ddns-admin zone show");
	r = owner_zone(conn, ret_name, ret_zone_id, ret_zone, err);
	if (r < 0)
		return r;
	return owner_check_operator(conn, ret_zone_id, ret_zone, ret_name, err);
}

int record_add(PGconn *conn, const char *name, const char *type, const char *content, long long ttl,
	       FILE *out, struct db_error *err)
{
	char owner[DNSNAME_SIZE], zone[DNSNAME_SIZE], zone_id[OWNER_ID_SIZE], ttl_s[24];
	char canon[RR_CONTENT_SIZE];
	const char *reason = NULL, *tname;
	const char *params[5] = { zone_id, owner, NULL, canon, ttl_s };
	enum rr_type t;
	PGresult *res = NULL;
	uint32_t clamped = rr_ttl_clamp(ttl);
	int r;

	/* content first: a bad value is a usage error, whatever the database says */
	if (dnsname_normalize(name, DNSNAME_WILDCARD, owner, &reason) < 0)
		return db_error_set(err, -EINVAL, "invalid name \"%s\": %s", name, reason);
	if (rr_type_parse(type, &t) == 0 && t != RR_SOA &&
	    rr_content_normalize(t, content, canon, sizeof(canon), &reason) < 0)
		return db_error_set(err, -EINVAL, "invalid %s content \"%s\": %s", rr_type_name(t),
				    content, reason);
	r = resolve(conn, name, type, owner, &t, zone_id, zone, err);
	if (r < 0)
		return r;
	tname = rr_type_name(t);
	params[2] = tname;
	snprintf(ttl_s, sizeof(ttl_s), "%u", clamped);
	if ((long long)clamped != ttl)
		fprintf(out, "ttl %lld clamped to %u\n", ttl, clamped);

	/* update first: an INSERT ... ON CONFLICT of an existing CNAME fails its trigger */
	r = db_exec(conn,
		    "UPDATE records SET ttl = $5 WHERE zone_id = $1 AND domain_id IS NULL"
		    " AND name = $2 AND type = $3 AND content = $4 RETURNING ttl",
		    5, params, &res, err);
	if (r == 0 && PQntuples(res) > 0) {
		fprintf(out, "updated %s %s %s %s\n", owner, ttl_s, tname, canon);
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = NULL;
	if (r == 0)
		r = db_exec(conn,
			    "INSERT INTO records (zone_id, domain_id, name, type, content, ttl)"
			    " VALUES ($1, NULL, $2, $3, $4, $5)",
			    5, params, NULL, err);
	if (r < 0) {
		if (err && err->sqlstate[0]) {
			char msg[DB_ERROR_MAX];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			db_error_set(err, r, "could not add %s %s \"%s\": %s", owner, tname, canon,
				     msg);
		}
		return r;
	}
	fprintf(out, "added %s %s %s %s\n", owner, ttl_s, tname, canon);
	return 0;
}

int record_remove(PGconn *conn, const char *name, const char *type, const char *content, FILE *out,
		  struct db_error *err)
{
	char owner[DNSNAME_SIZE], zone[DNSNAME_SIZE], zone_id[OWNER_ID_SIZE];
	char canon[RR_CONTENT_SIZE];
	const char *reason = NULL;
	const char *params[4] = { zone_id, owner, NULL, content ? canon : NULL };
	enum rr_type t;
	PGresult *res = NULL;
	int r, n;

	if (dnsname_normalize(name, DNSNAME_WILDCARD, owner, &reason) < 0)
		return db_error_set(err, -EINVAL, "invalid name \"%s\": %s", name, reason);
	if (content && rr_type_parse(type, &t) == 0 && t != RR_SOA &&
	    rr_content_normalize(t, content, canon, sizeof(canon), &reason) < 0)
		return db_error_set(err, -EINVAL, "invalid %s content \"%s\": %s", rr_type_name(t),
				    content, reason);
	r = resolve(conn, name, type, owner, &t, zone_id, zone, err);
	if (r < 0)
		return r;
	params[2] = rr_type_name(t);
	r = db_exec(conn,
		    "DELETE FROM records WHERE zone_id = $1 AND domain_id IS NULL AND name = $2"
		    " AND type = $3 AND ($4::text IS NULL OR content = $4)"
		    " RETURNING content",
		    4, params, &res, err);
	if (r < 0)
		return r;
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		fprintf(out, "removed %s %s %s\n", owner, params[2], PQgetvalue(res, i, 0));
	PQclear(res);
	if (n == 0)
		return db_error_set(err, -ENOENT, "no %s record%s%s%s at \"%s\" in zone \"%s\"",
				    params[2], content ? " \"" : "", content ? canon : "",
				    content ? "\"" : "", owner, zone);
	return 0;
}
