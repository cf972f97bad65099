#include "admin/zonefile.h"

#include "admin/owner.h"
#include "admin/zone.h"
#include "shared/dnsname.h"
#include "shared/rr.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TTL 3600

struct zrec {
	int line;
	enum rr_type type;
	uint32_t ttl;
	char name[DNSNAME_SIZE];
	char *content; /* owned */
};

struct soa_data {
	bool seen;
	int line;
	char mname[DNSNAME_SIZE], rname[DNSNAME_SIZE];
	long long serial, refresh, retry, expire, minimum;
};

struct parsed {
	struct zrec *recs; /* owned */
	size_t n;
	struct soa_data soa;
	size_t n_clamped;
};

/* A growing string; on allocation failure it stays failed (oom) and empty. */
struct sbuf {
	char *p; /* owned */
	size_t len, cap;
	bool oom;
};

static void sbuf_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

/* Appends @s as a double-quoted element of a PostgreSQL array literal. */
static void sbuf_put_array_elem(struct sbuf *b, const char *s)
{
	sbuf_put(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sbuf_put(b, "\\", 1);
		sbuf_put(b, s, 1);
	}
	sbuf_put(b, "\"", 1);
}

static void parsed_finish(struct parsed *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->recs[i].content);
	free(p->recs);
	memset(p, 0, sizeof(*p));
}

static int file_error(struct db_error *err, const char *path, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int file_error(struct db_error *err, const char *path, int line, const char *fmt, ...)
{
	char msg[DB_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return db_error_set(err, -EBADMSG, "%s:%d: %s", path, line, msg);
	return db_error_set(err, -EBADMSG, "%s: %s", path, msg);
}

/*
 * A character-string rdf quoted the way shared/rr writes TXT: '"' and '\\'
 * escaped, bytes below 0x20 and from 0x7f up as \\DDD (ldns_rdf2str leaves
 * some control characters raw). Returns a malloc'd string or NULL.
 */
static char *quote_str(const ldns_rdf *rdf)
{
	const uint8_t *d = ldns_rdf_data(rdf);
	size_t n = ldns_rdf_size(rdf), len, pos = 0;
	char *s;

	if (n == 0 || (size_t)d[0] + 1 > n)
		return NULL;
	len = d[0];
	s = malloc(len * 4 + 3);
	if (!s)
		return NULL;
	s[pos++] = '"';
	for (size_t i = 1; i <= len; i++) {
		uint8_t c = d[i];

		if (c == '"' || c == '\\') {
			s[pos++] = '\\';
			s[pos++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			pos += (size_t)sprintf(s + pos, "\\%03u", c);
		} else {
			s[pos++] = (char)c;
		}
	}
	s[pos++] = '"';
	s[pos] = '\0';
	return s;
}

/* The rdata of @rr in presentation form, fields separated by one space. */
static int rdata_to_str(const ldns_rr *rr, char *buf, size_t size)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
		char *s = ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_STR ? quote_str(rdf)
								      : ldns_rdf2str(rdf);
		size_t len;

		if (!s)
			return -ENOMEM;
		len = strlen(s);
		if (pos + len + 2 > size) {
			free(s);
			return -EMSGSIZE;
		}
		if (pos > 0)
			buf[pos++] = ' ';
		memcpy(buf + pos, s, len + 1);
		pos += len;
		free(s);
	}
	return 0;
}

static int rdf_to_name(const ldns_rdf *rdf, unsigned flags, char ret_name[DNSNAME_SIZE],
		       char *shown, size_t shown_size, const char **ret_reason)
{
	char *s = ldns_rdf2str(rdf);
	int r;

	if (!s)
		return -ENOMEM;
	snprintf(shown, shown_size, "%s", s);
	r = dnsname_normalize(s, flags, ret_name, ret_reason);
	free(s);
	return r;
}

static long long rdf_int(const ldns_rr *rr, size_t i)
{
	return (long long)ldns_rdf2native_int32(ldns_rr_rdf(rr, i));
}

static int take_soa(const ldns_rr *soa, int line, const char *zone, const char *path,
		    struct soa_data *d, struct db_error *err)
{
	char owner[DNSNAME_SIZE], shown[DNSNAME_SIZE + 16];
	const char *reason = NULL;
	static const struct {
		const char *what;
		long long min, max;
	} lim[4] = {
		{ "refresh", 60, 2419200 },
		{ "retry", 60, 2419200 },
		{ "expire", 3600, 31536000 },
		{ "minimum", 60, 86400 },
	};
	long long v[4];

	if (ldns_rr_rd_count(soa) != 7)
		return file_error(err, path, line, "SOA record without its 7 fields");
	if (rdf_to_name(ldns_rr_owner(soa), 0, owner, shown, sizeof(shown), &reason) < 0 ||
	    strcmp(owner, zone) != 0)
		return file_error(err, path, line,
				  "SOA record at \"%s\": only the zone apex \"%s\" has one", shown,
				  zone);
	if (rdf_to_name(ldns_rr_rdf(soa, 0), DNSNAME_HOSTNAME, d->mname, shown, sizeof(shown),
			&reason) < 0)
		return file_error(err, path, line, "SOA MNAME \"%s\": %s", shown, reason);
	if (rdf_to_name(ldns_rr_rdf(soa, 1), 0, d->rname, shown, sizeof(shown), &reason) < 0)
		return file_error(err, path, line, "SOA RNAME \"%s\": %s", shown, reason);
	d->serial = rdf_int(soa, 2);
	for (int i = 0; i < 4; i++) {
		v[i] = rdf_int(soa, 3 + (size_t)i);
		if (v[i] < lim[i].min || v[i] > lim[i].max)
			return file_error(err, path, line,
					  "SOA %s %lld is out of range, expected %lld..%lld",
					  lim[i].what, v[i], lim[i].min, lim[i].max);
	}
	if (v[2] < v[0] || v[2] < v[1])
		return file_error(err, path, line, "SOA expire %lld is below its refresh or retry",
				  v[2]);
	d->refresh = v[0];
	d->retry = v[1];
	d->expire = v[2];
	d->minimum = v[3];
	d->seen = true;
	d->line = line;
	return 0;
}

/* Converts one non-SOA RR of the file into *rec (its content allocated). */
static int convert_rr(const ldns_rr *rr, int line, const char *zone, const char *path,
		      struct zrec *rec, size_t *n_clamped, struct db_error *err)
{
	char shown[DNSNAME_SIZE + 16], canon[RR_CONTENT_SIZE];
	char *rdata = NULL;
	const char *reason = NULL;
	ldns_rr_type lt = ldns_rr_get_type(rr);
	enum rr_type t;
	int r;

	memset(rec, 0, sizeof(*rec));
	rec->line = line;
	r = rdf_to_name(ldns_rr_owner(rr), DNSNAME_WILDCARD, rec->name, shown, sizeof(shown),
			&reason);
	if (r == -ENOMEM)
		return db_error_set(err, r, "out of memory");
	if (r < 0)
		return file_error(err, path, line, "invalid owner name \"%s\": %s", shown, reason);
	if (!dnsname_is_at_or_below(rec->name, zone))
		return file_error(err, path, line, "\"%s\" is outside the zone \"%s\"", rec->name,
				  zone);
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		char *c = ldns_rr_class2str(ldns_rr_get_class(rr));

		r = file_error(err, path, line, "%s: class %s is not supported, only IN", rec->name,
			       c ? c : "?");
		free(c);
		return r;
	}
	switch (lt) {
	case LDNS_RR_TYPE_A:
		t = RR_A;
		break;
	case LDNS_RR_TYPE_AAAA:
		t = RR_AAAA;
		break;
	case LDNS_RR_TYPE_CNAME:
		t = RR_CNAME;
		break;
	case LDNS_RR_TYPE_MX:
		t = RR_MX;
		break;
	case LDNS_RR_TYPE_TXT:
		t = RR_TXT;
		break;
	case LDNS_RR_TYPE_SRV:
		t = RR_SRV;
		break;
	case LDNS_RR_TYPE_CAA:
		t = RR_CAA;
		break;
	case LDNS_RR_TYPE_NS:
		t = RR_NS;
		break;
	default: {
		char *ts = ldns_rr_type2str(lt);

		r = file_error(err, path, line,
			       "%s: type %s is not supported (we serve A, AAAA, CNAME, MX, TXT, "
			       "SRV, CAA and NS)",
			       rec->name, ts ? ts : "?");
		free(ts);
		return r;
	}
	}
	rec->type = t;
	rdata = malloc(RR_CONTENT_SIZE);
	if (!rdata)
		return db_error_set(err, -ENOMEM, "out of memory");
	r = rdata_to_str(rr, rdata, RR_CONTENT_SIZE);
	if (r == -ENOMEM) {
		r = db_error_set(err, r, "out of memory");
		goto out;
	}
	if (r < 0) {
		r = file_error(err, path, line, "%s %s: content too long", rec->name,
			       rr_type_name(t));
		goto out;
	}
	r = rr_content_normalize(t, rdata, canon, sizeof(canon), &reason);
	if (r < 0) {
		r = file_error(err, path, line, "%s %s: invalid content \"%.200s\": %s", rec->name,
			       rr_type_name(t), rdata, reason ? reason : "too long");
		goto out;
	}
	rec->content = strdup(canon);
	if (!rec->content) {
		r = db_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rec->ttl = rr_ttl_clamp(ldns_rr_ttl(rr));
	if (rec->ttl != ldns_rr_ttl(rr))
		(*n_clamped)++;
	r = 0;
out:
	free(rdata);
	return r;
}

/*
 * First pass over the file, RR by RR, for the line where each RR starts
 * (ldns_zone_new_frm_fp_l keeps no line numbers per RR) and for syntax
 * errors at the line of the RR that has them (and without the leak of
 * ldns_zone_new_frm_fp_l's error path). Fills @lines (at most @n entries,
 * in the order of ldns_zone_rrs), *ret_n and *ret_soa_line; on a syntax
 * error -EBADMSG with *ret_error_line and *ret_status; more than @n RRs:
 * -E2BIG.
 */
static int rr_lines(FILE *f, const ldns_rdf *origin, int *lines, size_t n, size_t *ret_n,
		    int *ret_soa_line, int *ret_error_line, ldns_status *ret_status)
{
	ldns_rdf *my_origin = ldns_rdf_clone(origin), *my_prev = ldns_rdf_clone(origin);
	uint32_t ttl = DEFAULT_TTL;
	bool soa_seen = false;
	size_t i = 0;
	int line = 0, r = 0;

	if (!my_origin || !my_prev) {
		r = -ENOMEM;
		goto out;
	}
	rewind(f);
	while (!feof(f)) {
		int start = line + 1;
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &my_origin, &my_prev, &line);

		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s != LDNS_STATUS_OK) {
			if (rr)
				ldns_rr_free(rr);
			*ret_error_line = start;
			*ret_status = s == LDNS_STATUS_SYNTAX_INCLUDE
					      ? LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL
					      : s;
			r = -EBADMSG;
			goto out;
		}
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
			if (!soa_seen)
				*ret_soa_line = start;
			soa_seen = true;
		} else {
			if (i == n) {
				ldns_rr_free(rr);
				*ret_error_line = start;
				r = -E2BIG;
				goto out;
			}
			lines[i++] = start;
		}
		ldns_rr_free(rr);
	}
	*ret_n = i;
out:
	if (my_origin)
		ldns_rdf_deep_free(my_origin);
	if (my_prev)
		ldns_rdf_deep_free(my_prev);
	return r;
}

static int parse_file(const char *path, const char *zone, struct parsed *p, struct db_error *err)
{
	ldns_rdf *origin = NULL;
	ldns_zone *z = NULL;
	ldns_rr_list *rrs;
	int *lines = NULL, line = 0, soa_line = 0, r;
	ldns_status s = LDNS_STATUS_OK;
	size_t n = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return db_error_set(err, -errno, "could not open zone file \"%s\": %s", path,
				    strerror(errno));
	origin = ldns_dname_new_frm_str(zone);
	lines = calloc(ZONEFILE_MAX_RECORDS, sizeof(*lines));
	if (!origin || !lines) {
		r = db_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = rr_lines(f, origin, lines, ZONEFILE_MAX_RECORDS, &n, &soa_line, &line, &s);
	if (r == -E2BIG) {
		r = file_error(err, path, line, "more than %d records", ZONEFILE_MAX_RECORDS);
		goto out;
	}
	if (r == -ENOMEM) {
		r = db_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (r < 0) {
		r = file_error(err, path, line, "%s",
			       s == LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL
				       ? "$INCLUDE is not supported: import each file on its own"
				       : ldns_get_errorstr_by_id(s));
		goto out;
	}
	/* the file parses: now as a zone, for the TTL rules of RFC 1035 and 2308 */
	rewind(f);
	line = 0;
	s = ldns_zone_new_frm_fp_l(&z, f, origin, DEFAULT_TTL, LDNS_RR_CLASS_IN, &line);
	if (s != LDNS_STATUS_OK) {
		r = file_error(err, path, line, "%s", ldns_get_errorstr_by_id(s));
		goto out;
	}
	rrs = ldns_zone_rrs(z);
	if (ldns_rr_list_rr_count(rrs) != n) {
		r = file_error(err, path, 0, "ldns read %zu records in one pass, %zu in the other",
			       n, ldns_rr_list_rr_count(rrs));
		goto out;
	}
	p->recs = calloc(n + 1, sizeof(*p->recs));
	if (!p->recs) {
		r = db_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (ldns_zone_soa(z)) {
		r = take_soa(ldns_zone_soa(z), soa_line, zone, path, &p->soa, err);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		r = convert_rr(ldns_rr_list_rr(rrs, i), lines[i], zone, path, &p->recs[i],
			       &p->n_clamped, err);
		if (r < 0)
			goto out;
		p->n = i + 1;
	}
	r = 0;
out:
	free(lines);
	if (z)
		ldns_zone_deep_free(z);
	if (origin)
		ldns_rdf_deep_free(origin);
	fclose(f);
	return r;
}

/* The line of the first record named by the first quoted name in @msg; 0 if none. */
static int line_of_quoted_name(const struct parsed *p, const char *msg)
{
	const char *q = strchr(msg, '"'), *e;
	size_t len;

	if (!q || !(e = strchr(q + 1, '"')))
		return 0;
	len = (size_t)(e - q - 1);
	for (size_t i = 0; i < p->n; i++)
		if (strlen(p->recs[i].name) == len && memcmp(p->recs[i].name, q + 1, len) == 0)
			return p->recs[i].line;
	return 0;
}

/* Refuses records inside zones of their own that we serve, and in users' domains. */
static int check_owners(PGconn *conn, const char *zone_id, const char *zone, const struct parsed *p,
			const char *path, struct db_error *err)
{
	const char *params[2] = { zone, zone_id };
	PGresult *res = NULL;
	int r, n;

	r = db_exec(conn, "SELECT name FROM zones WHERE right(name, length($1) + 1) = '.' || $1", 1,
		    params, &res, err);
	if (r < 0)
		return r;
	n = PQntuples(res);
	for (size_t i = 0; i < p->n && r == 0; i++)
		for (int j = 0; j < n; j++)
			if (dnsname_is_at_or_below(p->recs[i].name, PQgetvalue(res, j, 0))) {
				r = file_error(err, path, p->recs[i].line,
					       "\"%s\" belongs to the zone \"%s\", which is served "
					       "on its own: import it there",
					       p->recs[i].name, PQgetvalue(res, j, 0));
				break;
			}
	PQclear(res);
	if (r < 0)
		return r;

	r = db_exec(conn,
		    "SELECT i.line, i.name, d.name, u.email FROM import_rows i"
		    " JOIN domains d ON d.name = i.dom AND d.zone_id = $1"
		    " JOIN users u ON u.id = d.user_id ORDER BY i.line LIMIT 1",
		    1, params + 1, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) > 0)
		r = file_error(err, path, atoi(PQgetvalue(res, 0, 0)),
			       "\"%s\" belongs to domain \"%s\" of user %s: its records are the "
			       "user's responsibility, leave them out of the file",
			       PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
	PQclear(res);
	return r;
}

/* Copies the parsed records into the temporary table import_rows. */
static int stage(PGconn *conn, const char *zone, const struct parsed *p, struct db_error *err)
{
	struct sbuf a[6] = { 0 };
	const char *params[6];
	char num[24], dom[DNSNAME_SIZE];
	int r;

	r = db_exec(conn,
		    "CREATE TEMP TABLE import_rows (line int, name text, type text, content text,"
		    " ttl int, dom text) ON COMMIT DROP",
		    0, NULL, NULL, err);
	if (r < 0)
		return r;
	for (int k = 0; k < 6; k++)
		sbuf_puts(&a[k], "{");
	for (size_t i = 0; i < p->n; i++) {
		const struct zrec *rec = &p->recs[i];

		snprintf(num, sizeof(num), "%d", rec->line);
		sbuf_put_array_elem(&a[0], num);
		sbuf_put_array_elem(&a[1], rec->name);
		sbuf_put_array_elem(&a[2], rr_type_name(rec->type));
		sbuf_put_array_elem(&a[3], rec->content);
		snprintf(num, sizeof(num), "%u", rec->ttl);
		sbuf_put_array_elem(&a[4], num);
		owner_domain_candidate(rec->name, zone, dom);
		sbuf_put_array_elem(&a[5], dom);
	}
	for (int k = 0; k < 6; k++) {
		sbuf_puts(&a[k], "}");
		if (a[k].oom)
			r = db_error_set(err, -ENOMEM, "out of memory");
		params[k] = a[k].p;
	}
	if (r == 0)
		r = db_exec(conn,
			    "INSERT INTO import_rows SELECT * FROM unnest($1::int[], $2::text[],"
			    " $3::text[], $4::text[], $5::int[], $6::text[])",
			    6, params, NULL, err);
	for (int k = 0; k < 6; k++)
		free(a[k].p);
	return r;
}

static int import_in_tx(PGconn *conn, const char *zone, const char *path, bool replace,
			const struct parsed *p, FILE *out, struct db_error *err)
{
	const char *params[7] = { zone };
	char zone_id[OWNER_ID_SIZE], mname[DNSNAME_SIZE], rname[DNSNAME_SIZE];
	char v[5][24];
	PGresult *res = NULL;
	long long n_removed = 0, n_added = 0, n_updated = 0, n_distinct = 0;
	int r;

	/* FOR UPDATE: one import of a zone at a time; new domains wait for us */
	r = db_exec(conn, "SELECT id, mname, rname FROM zones WHERE name = $1 FOR UPDATE", 1,
		    params, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return db_error_set(err, -ENOENT,
				    "zone \"%s\" does not exist: create it first with ddns-admin "
				    "zone add",
				    zone);
	}
	snprintf(zone_id, sizeof(zone_id), "%s", PQgetvalue(res, 0, 0));
	snprintf(mname, sizeof(mname), "%s", PQgetvalue(res, 0, 1));
	snprintf(rname, sizeof(rname), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	res = NULL;
	params[0] = zone_id;

	r = stage(conn, zone, p, err);
	if (r < 0)
		return r;
	r = check_owners(conn, zone_id, zone, p, path, err);
	if (r < 0)
		return r;

	if (replace) {
		r = db_exec(conn,
			    "DELETE FROM records r WHERE r.zone_id = $1 AND r.domain_id IS NULL"
			    " AND NOT EXISTS (SELECT 1 FROM import_rows i WHERE i.name = r.name"
			    " AND i.type = r.type AND i.content = r.content)",
			    1, params, &res, err);
		if (r < 0)
			return r;
		n_removed = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		res = NULL;
	}
	/*
	 * Existing rows get their TTL updated, new ones are inserted: an INSERT
	 * ... ON CONFLICT would run the records_check trigger first, which
	 * refuses a second CNAME row at a name even when it is the same record.
	 */
	r = db_exec(conn,
		    "UPDATE records r SET ttl = s.ttl FROM"
		    " (SELECT DISTINCT ON (name, type, content) * FROM import_rows"
		    " ORDER BY name, type, content, line) s"
		    " WHERE r.name = s.name AND r.type = s.type AND r.content = s.content"
		    " AND r.zone_id = $1 AND r.domain_id IS NULL AND r.ttl <> s.ttl",
		    1, params, &res, err);
	if (r < 0)
		return r;
	n_updated = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	res = NULL;
	r = db_exec(conn,
		    "INSERT INTO records (zone_id, domain_id, name, type, content, ttl)"
		    " SELECT $1, NULL, name, type, content, ttl FROM"
		    " (SELECT DISTINCT ON (name, type, content) * FROM import_rows"
		    " ORDER BY name, type, content, line) s"
		    " WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.name = s.name"
		    " AND r.type = s.type AND r.content = s.content)"
		    " ORDER BY line",
		    1, params, &res, err);
	if (r < 0) {
		if (err && err->sqlstate[0]) {
			char msg[DB_ERROR_MAX];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			r = file_error(err, path, line_of_quoted_name(p, msg), "%s", msg);
		}
		return r;
	}
	n_added = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	res = NULL;
	r = db_exec(conn,
		    "SELECT count(*) FROM (SELECT DISTINCT name, type, content"
		    " FROM import_rows) s",
		    0, NULL, &res, err);
	if (r < 0)
		return r;
	n_distinct = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	res = NULL;

	if (p->soa.seen) {
		snprintf(v[0], sizeof(v[0]), "%lld", p->soa.refresh);
		snprintf(v[1], sizeof(v[1]), "%lld", p->soa.retry);
		snprintf(v[2], sizeof(v[2]), "%lld", p->soa.expire);
		snprintf(v[3], sizeof(v[3]), "%lld", p->soa.minimum);
		snprintf(v[4], sizeof(v[4]), "%lld", p->soa.serial);
		for (int k = 0; k < 5; k++)
			params[k + 1] = v[k];
		r = db_exec(conn,
			    "UPDATE zones SET refresh = $2, retry = $3, expire = $4, minimum = $5,"
			    " serial = GREATEST(serial, $6::bigint) WHERE id = $1"
			    " AND (refresh, retry, expire, minimum, serial) IS DISTINCT FROM"
			    " ($2, $3, $4, $5, GREATEST(serial, $6::bigint))",
			    6, params, NULL, err);
		if (r < 0)
			return r;
		if (strcmp(p->soa.mname, mname) != 0 || strcmp(p->soa.rname, rname) != 0)
			fprintf(out,
				"zone %s: the file's SOA names (%s %s) are ignored, the zone keeps "
				"%s %s\n",
				zone, p->soa.mname, p->soa.rname, mname, rname);
	}
	if (p->n_clamped > 0)
		fprintf(out, "zone %s: %zu TTLs clamped to %d..%d\n", zone, p->n_clamped,
			RR_TTL_MIN, RR_TTL_MAX);
	fprintf(out,
		"zone %s: imported %s (%s): %lld records, %lld added, %lld updated, %lld "
		"unchanged, %lld removed\n",
		zone, path, replace ? "replace" : "merge", n_distinct, n_added, n_updated,
		n_distinct - n_added - n_updated, n_removed);
	return 0;
}

int zonefile_import(PGconn *conn, const char *zone_in, const char *path, bool replace, FILE *out,
		    struct db_error *err)
{
	struct parsed p = { 0 };
	char zone[DNSNAME_SIZE];
	const char *params[1] = { zone };
	PGresult *res = NULL;
	int r, n;

	r = zone_name_parse(zone_in, zone, err);
	if (r < 0)
		return r;
	/* the zone first: a file for a zone that is not ours is not worth parsing */
	r = db_exec(conn, "SELECT 1 FROM zones WHERE name = $1", 1, params, &res, err);
	if (r < 0)
		return r;
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		return db_error_set(err, -ENOENT,
				    "zone \"%s\" does not exist: create it first with ddns-admin "
				    "zone add",
				    zone);
	r = parse_file(path, zone, &p, err);
	if (r < 0)
		goto out;
	r = db_exec(conn, "BEGIN", 0, NULL, NULL, err);
	if (r < 0)
		goto out;
	r = import_in_tx(conn, zone, path, replace, &p, out, err);
	if (r < 0) {
		(void)db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL);
		goto out;
	}
	r = db_exec(conn, "COMMIT", 0, NULL, NULL, err);
out:
	parsed_finish(&p);
	return r;
}

int zonefile_export(PGconn *conn, const char *zone_in, bool with_domains, FILE *out,
		    struct db_error *err)
{
	char zone[DNSNAME_SIZE], zone_id[OWNER_ID_SIZE], rel[DNSNAME_SIZE];
	const char *params[3] = { zone, NULL, with_domains ? "t" : "f" };
	PGresult *res = NULL;
	int r, n;

	r = zone_name_parse(zone_in, zone, err);
	if (r < 0)
		return r;
	/* one snapshot for the SOA and the records */
	r = db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL, err);
	if (r < 0)
		return r;
	r = db_exec(conn,
		    "SELECT z.id, z.mname, z.rname, " ZONE_SERIAL_SQL ", z.refresh, z.retry,"
		    " z.expire, z.minimum,"
		    " (SELECT count(*) FROM records r WHERE r.zone_id = z.id"
		    " AND r.domain_id IS NOT NULL)"
		    " FROM zones z WHERE z.name = $1",
		    1, params, &res, err);
	if (r < 0)
		goto out;
	if (PQntuples(res) == 0) {
		r = db_error_set(err, -ENOENT, "zone \"%s\" does not exist", zone);
		goto out;
	}
	snprintf(zone_id, sizeof(zone_id), "%s", PQgetvalue(res, 0, 0));
	fprintf(out, "; zone %s, exported by ddns-admin\n", zone);
	if (!with_domains && strcmp(PQgetvalue(res, 0, 8), "0") != 0)
		fprintf(out, "; %s records of users' domains left out (--with-domains)\n",
			PQgetvalue(res, 0, 8));
	fprintf(out, "$ORIGIN %s\n", zone);
	fprintf(out, "@ %d IN SOA %s %s %s %s %s %s %s\n", DEFAULT_TTL, PQgetvalue(res, 0, 1),
		PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
		PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7));
	PQclear(res);
	res = NULL;

	params[1] = zone_id;
	r = db_exec(conn,
		    "SELECT name, ttl, type, content FROM records"
		    " WHERE zone_id = $2 AND ($3::bool OR domain_id IS NULL)"
		    " ORDER BY name = $1 DESC, name COLLATE \"C\", type COLLATE \"C\","
		    " content COLLATE \"C\"",
		    3, params, &res, err);
	if (r < 0)
		goto out;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		if (dnsname_to_relative(PQgetvalue(res, i, 0), zone, rel, sizeof(rel)) < 0)
			snprintf(rel, sizeof(rel), "%s", PQgetvalue(res, i, 0));
		fprintf(out, "%-24s %6s IN %-5s %s\n", rel, PQgetvalue(res, i, 1),
			PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
	}
	if (ferror(out))
		r = db_error_set(err, -EIO, "could not write the zone file");
out:
	PQclear(res);
	(void)db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL);
	return r;
}
