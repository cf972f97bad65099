/*
 * ddns-api: the endpoints. Inputs are validated and normalized here (names,
 * types, contents, TTLs, unknown fields); ownership, the rules across
 * records and the limits are enforced by the api_* SQL functions (migration
 * 0006), which make each write one transaction.
 */

#include "services/api/api_int.h"
#include "shared/db.h"
#include "shared/dnsname.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis.h"
#include "shared/rr.h"
#include "shared/token.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TTL_DEFAULT       60
#define RRSETS_MAX        20
#define RECORDS_PER_SET   100
#define LIST_LIMIT_MAX    500
#define LIST_LIMIT_DEF    100
#define HISTORY_LIMIT_MAX 200
#define HISTORY_LIMIT_DEF 50

/* ---- input -------------------------------------------------------------- */

/* Parses the body and checks its members; replies and frees the call on failure. */
static int read_body(struct call *c, const struct http_field *f, size_t n)
{
	int r = http_request_json_fields(c->req, f, n, &c->body);

	if (r < 0)
		call_free(c); /* answered: the request is gone */
	return r;
}

/* A record as given: validated and canonical. */
struct rec_in {
	char name[DNSNAME_SIZE];
	enum rr_type type;
	char content[RR_CONTENT_SIZE];
	long long ttl;
};

int valid_name(const char *in, char out[DNSNAME_SIZE], const char **ret_code, char *msg,
	       size_t size)
{
	const char *reason = NULL;

	if (strlen(in) > DNSNAME_MAX + 1 ||
	    dnsname_normalize(in, DNSNAME_WILDCARD, out, &reason) < 0) {
		*ret_code = "invalid_name";
		snprintf(msg, size, "the name is not valid: %s", reason ? reason : "too long");
		return -EINVAL;
	}
	return 0;
}

static int valid_type(const char *in, enum rr_type *ret, const char **ret_code, char *msg,
		      size_t size)
{
	if (strlen(in) > 10 || rr_type_parse(in, ret) < 0) {
		*ret_code = "invalid_type";
		snprintf(msg, size, "unknown record type; use A, AAAA, CNAME, MX, TXT, SRV or CAA");
		return -EINVAL;
	}
	if (!rr_type_user_allowed(*ret)) {
		*ret_code = "type_not_allowed";
		snprintf(msg, size, "%s records are managed by the operator", rr_type_name(*ret));
		return -EINVAL;
	}
	return 0;
}

static int valid_ttl(json_t *v, long long *ret, const char **ret_code, char *msg, size_t size)
{
	long long t = v ? json_integer_value(v) : TTL_DEFAULT;

	if (t < RR_TTL_MIN || t > RR_TTL_MAX) {
		*ret_code = "invalid_ttl";
		snprintf(msg, size, "ttl must be between %d and %d seconds", RR_TTL_MIN,
			 RR_TTL_MAX);
		return -EINVAL;
	}
	*ret = t;
	return 0;
}

static int valid_content(enum rr_type type, const char *in, char *out, const char **ret_code,
			 char *msg, size_t size)
{
	const char *reason = NULL;

	if (strlen(in) >= RR_CONTENT_SIZE ||
	    rr_content_normalize(type, in, out, RR_CONTENT_SIZE, &reason) < 0) {
		*ret_code = "invalid_content";
		snprintf(msg, size, "the %s content is not valid: %s", rr_type_name(type),
			 reason ? reason : "too long");
		return -EINVAL;
	}
	return 0;
}

static const struct http_field record_fields[] = {
	{ "name", JSON_STRING, true },
	{ "type", JSON_STRING, true },
	{ "content", JSON_STRING, true },
	{ "ttl", JSON_INTEGER, false },
};

/* Validates a whole record object (already field-checked) into @r. */
static int valid_record(json_t *o, struct rec_in *r, const char **code, char *msg, size_t size)
{
	if (valid_name(json_string_value(json_object_get(o, "name")), r->name, code, msg, size) <
		    0 ||
	    valid_type(json_string_value(json_object_get(o, "type")), &r->type, code, msg, size) <
		    0 ||
	    valid_content(r->type, json_string_value(json_object_get(o, "content")), r->content,
			  code, msg, size) < 0 ||
	    valid_ttl(json_object_get(o, "ttl"), &r->ttl, code, msg, size) < 0)
		return -EINVAL;
	return 0;
}

int param_domain(struct call *c, char out[DNSNAME_SIZE])
{
	const char *p = http_request_param(c->req, "name");

	if (!p || dnsname_normalize(p, DNSNAME_HOSTNAME, out, NULL) < 0) {
		call_reply_error(c, 404, "not_found", "no such domain");
		return -ENOENT;
	}
	return 0;
}

/* The path's {id}: a positive number, or a 404 "no such @what". */
static int param_id(struct call *c, char out[24], const char *what)
{
	const char *p = http_request_param(c->req, "id");
	char *end;
	long long id;

	errno = 0;
	id = p ? strtoll(p, &end, 10) : 0;
	if (!p || errno || *end || id <= 0 || p[0] < '0' || p[0] > '9') {
		call_reply_error(c, 404, "not_found", "no such %s", what);
		return -ENOENT;
	}
	snprintf(out, 24, "%lld", id);
	return 0;
}

/* A query parameter limit in [1, max], default @def; replies 400 on junk. */
static int query_limit(struct call *c, long long def, long long max, char out[24])
{
	const char *p = http_request_query(c->req, "limit");
	char *end;
	long long v = def;

	if (p) {
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno || *end || !*p || v < 1 || v > max) {
			call_reply_error(c, 400, "invalid_field",
					 "limit must be between 1 and %lld", max);
			return -EINVAL;
		}
	}
	snprintf(out, 24, "%lld", v);
	return 0;
}

/* The opaque cursor: a record or audit id, as decimal text. */
static int query_cursor(struct call *c, char out[24], const char **ret)
{
	const char *p = http_request_query(c->req, "cursor");
	char *end;
	long long v;

	*ret = NULL;
	if (!p)
		return 0;
	errno = 0;
	v = strtoll(p, &end, 10);
	if (errno || *end || !*p || v < 0) {
		call_reply_error(c, 400, "invalid_field", "the cursor is not valid");
		return -EINVAL;
	}
	snprintf(out, 24, "%lld", v);
	*ret = out;
	return 0;
}

/* ---- results ------------------------------------------------------------ */

/* A read whose single value is the answer's JSON text; no row or NULL: 404. */
static void on_read(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;

	if (err)
		return call_reply_db_error(c, err, "resource");
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
		return call_reply_error(c, 404, "not_found", "not found");
	call_reply_text(c, 200, PQgetvalue(res, 0, 0));
}

static void read_query(struct call *c, const char *sql, int n, const char *const *params)
{
	if (db_pool_query(c->api->pool, sql, n, params, -1, on_read, c) < 0)
		call_reply_error(c, 503, "unavailable", "the service is busy, try again");
}

/*
 * A write: the function's jsonb result; its "changes" go to the stream and
 * its member c->write_member (none: the whole object) is the answer.
 */
static void on_write(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	json_t *doc, *changes, *body = NULL;

	if (err)
		return call_reply_db_error(c, err, c->write_what);
	doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (!doc) {
		log_error(http_request_id(c->req), "unexpected result from the database");
		return call_reply_error(c, 500, "internal", "internal error");
	}
	changes = json_incref(json_object_get(doc, "changes"));
	json_object_del(doc, "changes");
	if (c->answer_status != 204)
		body = c->write_member ? json_incref(json_object_get(doc, c->write_member))
				       : json_incref(doc);
	if (json_array_size(changes) > 0)
		metric_inc(c->api->writes);
	if (body && c->answer_status == 201) {
		char loc[400];
		json_t *id = json_object_get(body, "id");

		if (id)
			snprintf(loc, sizeof(loc), "/api/v1/dns-records/%lld",
				 json_integer_value(id));
		else
			snprintf(loc, sizeof(loc), "/api/v1/domains/%s",
				 json_string_value(json_object_get(body, "name")));
		(void)http_reply_header(c->req, "Location", loc);
	}
	call_publish_and_reply(c, changes, c->answer_status, body);
	json_decref(changes);
	json_decref(doc);
}

/*
 * Runs a write function; answers @status with its @member (NULL: all; 204:
 * none); @what names the thing in a 404 ("domain", "record").
 */
static void write_query(struct call *c, const char *sql, int n, const char *const *params,
			int status, const char *member, const char *what)
{
	c->answer_status = status;
	c->write_member = member;
	c->write_what = what;
	if (db_pool_query(c->api->pool, sql, n, params, -1, on_write, c) < 0)
		call_reply_error(c, 503, "unavailable", "the service is busy, try again");
}

static const char *ua(struct call *c)
{
	return c->ua[0] ? c->ua : NULL;
}

/* ---- zones and domains -------------------------------------------------- */

void h_zones_list(struct call *c)
{
	read_query(c,
		   "SELECT jsonb_build_object('items', coalesce(jsonb_agg("
		   "jsonb_build_object('name', name) ORDER BY name), '[]'))::text "
		   "FROM zones WHERE kind = 'base'",
		   0, NULL);
}

void h_domains_list(struct call *c)
{
	const char *p[] = { c->user_s };

	read_query(c,
		   "SELECT jsonb_build_object('items', coalesce(jsonb_agg("
		   "api_domain_json(d) ORDER BY d.name), '[]'))::text "
		   "FROM domains d WHERE d.user_id = $1",
		   1, p);
}

void h_domain_get(struct call *c)
{
	char name[DNSNAME_SIZE];
	const char *p[] = { c->user_s, name };

	if (param_domain(c, name) < 0)
		return;
	read_query(c,
		   "SELECT api_domain_json(d)::text FROM domains d "
		   "WHERE d.name = $2 AND d.user_id = $1",
		   2, p);
}

void h_domain_claim(struct call *c)
{
	static const struct http_field f[] = { { "name", JSON_STRING, true } };
	char name[DNSNAME_SIZE], label[DNSNAME_LABEL_MAX + 1], quota[24];
	const char *in, *reason = NULL;
	const char *p[] = { c->user_s, name, quota, c->actor, c->addr, ua(c) };
	size_t len;

	if (read_body(c, f, 1) < 0)
		return;
	in = json_string_value(json_object_get(c->body, "name"));
	if (strlen(in) > DNSNAME_MAX + 1 ||
	    dnsname_normalize(in, DNSNAME_HOSTNAME, name, &reason) < 0)
		return call_reply_error(c, 400, "invalid_name",
					"the name is not a valid host name: %s",
					reason ? reason : "too long");
	if (dnsname_label_count(name) < 2)
		return call_reply_error(c, 404, "zone_not_found",
					"the name must be one label below a base zone (see GET "
					"/api/v1/zones)");
	len = strcspn(name, ".");
	memcpy(label, name, len);
	label[len] = '\0';
	if (api_reserved(c->api, label))
		return call_reply_error(c, 409, "name_reserved", "\"%s\" is reserved", label);
	snprintf(quota, sizeof(quota), "%lld", c->api->opts->domain_quota);
	write_query(c, "SELECT api_domain_claim($1, $2, $3, $4, $5, $6)::text", 6, p, 201, "domain",
		    "domain");
}

void h_domain_release(struct call *c)
{
	char name[DNSNAME_SIZE];
	const char *p[] = { c->user_s, name, c->actor, c->addr, ua(c) };

	if (param_domain(c, name) < 0)
		return;
	write_query(c, "SELECT api_domain_release($1, $2, $3, $4, $5)::text", 5, p, 204, NULL,
		    "domain");
}

void h_domain_history(struct call *c)
{
	char name[DNSNAME_SIZE], limit[24], cur[24];
	const char *cursor;
	const char *p[4];

	if (param_domain(c, name) < 0 ||
	    query_limit(c, HISTORY_LIMIT_DEF, HISTORY_LIMIT_MAX, limit) < 0 ||
	    query_cursor(c, cur, &cursor) < 0)
		return;
	p[0] = c->user_s;
	p[1] = name;
	p[2] = cursor;
	p[3] = limit;
	/* only the caller's own entries: a name released and claimed again
	 * does not show the previous owner's history */
	read_query(
		c,
		"WITH d AS (SELECT 1 FROM domains WHERE name = $2 AND user_id = $1), "
		"page AS (SELECT * FROM audit_log a WHERE a.domain_name = $2 AND a.user_id = $1 "
		"  AND ($3::bigint IS NULL OR a.id < $3::bigint) ORDER BY a.id DESC LIMIT $4::int "
		"+ 1) "
		"SELECT CASE WHEN EXISTS (SELECT 1 FROM d) THEN jsonb_build_object("
		"'items', coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, "
		"  'created_at', api_time(created_at), 'actor', actor, "
		"  'client_addr', host(client_addr), 'user_agent', user_agent, 'action', action, "
		"  'old', old_value, 'new', new_value) ORDER BY id DESC) "
		"  FROM (SELECT * FROM page ORDER BY id DESC LIMIT $4::int) x), '[]'), "
		"'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $4::int THEN "
		"  (SELECT id FROM page ORDER BY id DESC OFFSET $4::int - 1 LIMIT 1)::text END"
		")::text END",
		4, p);
}

/* ---- rrsets --------------------------------------------------------------- */

void h_rrsets_put(struct call *c)
{
	static const struct http_field f[] = { { "rrsets", JSON_ARRAY, true } };
	static const struct http_field sf[] = {
		{ "name", JSON_STRING, true },
		{ "type", JSON_STRING, true },
		{ "ttl", JSON_INTEGER, false },
		{ "records", JSON_ARRAY, true },
	};
	char domain[DNSNAME_SIZE], limit[24], msg[300], where[40];
	const char *code, *sets_text;
	const char *p[7];
	json_t *sets = NULL, *s;
	size_t i;

	if (param_domain(c, domain) < 0 || read_body(c, f, 1) < 0)
		return;
	json_t *in = json_object_get(c->body, "rrsets");
	if (json_array_size(in) == 0 || json_array_size(in) > RRSETS_MAX)
		return call_reply_error(c, 400, "invalid_field",
					"\"rrsets\" must hold 1 to %d RRsets", RRSETS_MAX);
	sets = json_array();
	json_array_foreach(in, i, s)
	{
		char name[DNSNAME_SIZE];
		enum rr_type type;
		long long ttl;
		json_t *recs = json_object_get(s, "records"), *v, *out;
		size_t j;

		snprintf(where, sizeof(where), "rrsets[%zu]", i);
		if (http_json_fields_check(s, sf, 4, where, &code, msg, sizeof(msg)) < 0 ||
		    valid_name(json_string_value(json_object_get(s, "name")), name, &code, msg,
			       sizeof(msg)) < 0 ||
		    valid_type(json_string_value(json_object_get(s, "type")), &type, &code, msg,
			       sizeof(msg)) < 0 ||
		    valid_ttl(json_object_get(s, "ttl"), &ttl, &code, msg, sizeof(msg)) < 0)
			goto bad;
		if (!dnsname_is_at_or_below(name, domain)) {
			json_decref(sets);
			return call_reply_error(c, 400, "invalid_name",
						"%s: the name must be at or below \"%s\"", where,
						domain);
		}
		if (json_array_size(recs) > RECORDS_PER_SET) {
			code = "invalid_field";
			snprintf(msg, sizeof(msg), "%s: at most %d records", where,
				 RECORDS_PER_SET);
			goto bad;
		}
		if (type == RR_CNAME && json_array_size(recs) > 1) {
			json_decref(sets);
			return call_reply_error(c, 409, "cname_conflict",
						"%s: a name holds at most one CNAME record", where);
		}
		for (j = 0; j < i; j++) {
			json_t *o = json_array_get(sets, j);

			if (strcmp(json_string_value(json_object_get(o, "name")), name) == 0 &&
			    strcmp(json_string_value(json_object_get(o, "type")),
				   rr_type_name(type)) == 0) {
				code = "invalid_field";
				snprintf(msg, sizeof(msg), "%s: this name and type appear twice",
					 where);
				goto bad;
			}
		}
		out = json_pack("{s:s, s:s, s:I, s:[]}", "name", name, "type", rr_type_name(type),
				"ttl", (json_int_t)ttl, "records");
		if (!out)
			goto nomem;
		json_array_append_new(sets, out);
		json_array_foreach(recs, j, v)
		{
			char content[RR_CONTENT_SIZE];
			json_t *arr = json_object_get(out, "records");
			size_t k;
			bool dup = false;

			if (!json_is_string(v)) {
				code = "invalid_field";
				snprintf(msg, sizeof(msg), "%s: records must be strings", where);
				goto bad;
			}
			if (valid_content(type, json_string_value(v), content, &code, msg,
					  sizeof(msg)) < 0)
				goto bad;
			for (k = 0; k < json_array_size(arr); k++)
				dup |= strcmp(json_string_value(json_array_get(arr, k)), content) ==
				       0;
			if (dup) {
				code = "invalid_content";
				snprintf(msg, sizeof(msg), "%s: \"%.64s\" is given twice", where,
					 content);
				goto bad;
			}
			json_array_append_new(arr, json_string(content));
		}
	}
	sets_text = json_dumps(sets, JSON_COMPACT);
	json_decref(sets);
	if (!sets_text)
		return call_reply_error(c, 503, "unavailable", "out of memory");
	snprintf(limit, sizeof(limit), "%lld", c->api->opts->record_limit);
	p[0] = c->user_s;
	p[1] = domain;
	p[2] = sets_text;
	p[3] = limit;
	p[4] = c->actor;
	p[5] = c->addr;
	p[6] = ua(c);
	write_query(c, "SELECT api_rrsets_replace($1, $2, $3::jsonb, $4, $5, $6, $7)::text", 7, p,
		    200, NULL, "domain");
	free((char *)sets_text);
	return;
bad:
	json_decref(sets);
	call_reply_error(c, 400, code, "%s", msg);
	return;
nomem:
	json_decref(sets);
	call_reply_error(c, 503, "unavailable", "out of memory");
}

/* ---- records -------------------------------------------------------------- */

void h_records_list(struct call *c)
{
	char domain[DNSNAME_SIZE], name[DNSNAME_SIZE], limit[24], cur[24];
	const char *q, *cursor, *code;
	const char *p[6] = { c->user_s, NULL, NULL, NULL, NULL, NULL };
	char msg[200];
	enum rr_type type;

	if ((q = http_request_query(c->req, "domain"))) {
		if (dnsname_normalize(q, DNSNAME_HOSTNAME, domain, NULL) < 0)
			return call_reply_error(c, 400, "invalid_name",
						"domain is not a valid name");
		p[1] = domain;
	}
	if ((q = http_request_query(c->req, "name"))) {
		if (valid_name(q, name, &code, msg, sizeof(msg)) < 0)
			return call_reply_error(c, 400, "invalid_name", "%s", msg);
		p[2] = name;
	}
	if ((q = http_request_query(c->req, "type"))) {
		if (strlen(q) > 10 || rr_type_parse(q, &type) < 0)
			return call_reply_error(c, 400, "invalid_type",
						"type is not a record type");
		p[3] = rr_type_name(type);
	}
	if (query_limit(c, LIST_LIMIT_DEF, LIST_LIMIT_MAX, limit) < 0 ||
	    query_cursor(c, cur, &cursor) < 0)
		return;
	p[4] = cursor;
	p[5] = limit;
	read_query(
		c,
		"WITH page AS (SELECT r, d.name AS dname, r.id FROM records r "
		"  JOIN domains d ON d.id = r.domain_id WHERE d.user_id = $1 "
		"  AND ($2::text IS NULL OR d.name = $2) AND ($3::text IS NULL OR r.name = $3) "
		"  AND ($4::text IS NULL OR r.type = $4) "
		"  AND ($5::bigint IS NULL OR r.id > $5::bigint) "
		"  ORDER BY r.id LIMIT $6::int + 1) "
		"SELECT jsonb_build_object('items', coalesce((SELECT jsonb_agg("
		"  api_record_json(x.r, x.dname) ORDER BY x.id) FROM "
		"  (SELECT * FROM page ORDER BY id LIMIT $6::int) x), '[]'), "
		"'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $6::int THEN "
		"  (SELECT id FROM page ORDER BY id OFFSET $6::int - 1 LIMIT 1)::text END)::text",
		6, p);
}

void h_record_get(struct call *c)
{
	char id[24];
	const char *p[] = { c->user_s, id };

	if (param_id(c, id, "record") < 0)
		return;
	read_query(c,
		   "SELECT api_record_json(r, d.name)::text FROM records r "
		   "JOIN domains d ON d.id = r.domain_id WHERE r.id = $2 AND d.user_id = $1",
		   2, p);
}

static void write_record(struct call *c, const struct rec_in *r, const char *id)
{
	char ttl[24];

	snprintf(ttl, sizeof(ttl), "%lld", r->ttl);
	if (!id) {
		char limit[24];
		const char *p[] = { c->user_s,  r->name, rr_type_name(r->type),
				    r->content, ttl,     limit,
				    c->actor,   c->addr, ua(c) };

		snprintf(limit, sizeof(limit), "%lld", c->api->opts->record_limit);
		write_query(c, "SELECT api_record_create($1, $2, $3, $4, $5, $6, $7, $8, $9)::text",
			    9, p, 201, "record", "record");
	} else {
		char limit[24];
		const char *p[] = { c->user_s,  id,   r->name, rr_type_name(r->type),
				    r->content, ttl,  limit,   c->actor,
				    c->addr,    ua(c) };

		snprintf(limit, sizeof(limit), "%lld", c->api->opts->record_limit);
		write_query(
			c,
			"SELECT api_record_update($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)::text",
			10, p, 200, "record", "record");
	}
}

/* Validates @o as a whole record and writes it (@id NULL: a new one). */
static void validate_and_write(struct call *c, json_t *o, const char *id)
{
	struct rec_in *r = malloc(sizeof(*r));
	const char *code;
	char msg[300];

	if (!r)
		return call_reply_error(c, 503, "unavailable", "out of memory");
	if (valid_record(o, r, &code, msg, sizeof(msg)) < 0) {
		free(r);
		return call_reply_error(c, 400, code, "%s", msg);
	}
	write_record(c, r, id);
	free(r);
}

void h_record_create(struct call *c)
{
	if (read_body(c, record_fields, 4) < 0)
		return;
	validate_and_write(c, c->body, NULL);
}

void h_record_put(struct call *c)
{
	char id[24];

	if (param_id(c, id, "record") < 0 || read_body(c, record_fields, 4) < 0)
		return;
	validate_and_write(c, c->body, id);
}

/* PATCH: the record is read, the given fields merged, the result validated as a whole. */
static void on_patch_current(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	char id[24];
	json_t *merged;

	if (err)
		return call_reply_db_error(c, err, "record");
	if (PQntuples(res) == 0)
		return call_reply_error(c, 404, "not_found", "no such record");
	merged = json_pack("{s:s, s:s, s:s, s:I}", "name", PQgetvalue(res, 0, 0), "type",
			   PQgetvalue(res, 0, 1), "content", PQgetvalue(res, 0, 2), "ttl",
			   (json_int_t)strtoll(PQgetvalue(res, 0, 3), NULL, 10));
	if (!merged)
		return call_reply_error(c, 503, "unavailable", "out of memory");
	if (json_object_get(c->body, "type") && !json_object_get(c->body, "content")) {
		json_decref(merged);
		return call_reply_error(c, 400, "invalid_field",
					"\"content\" is needed when \"type\" changes");
	}
	json_object_update(merged, c->body);
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 4));
	validate_and_write(c, merged, id); /* may end @c; @merged is ours */
	json_decref(merged);
}

void h_record_patch(struct call *c)
{
	static const struct http_field f[] = {
		{ "name", JSON_STRING, false },
		{ "type", JSON_STRING, false },
		{ "content", JSON_STRING, false },
		{ "ttl", JSON_INTEGER, false },
	};
	char id[24];
	const char *p[] = { c->user_s, id };

	if (param_id(c, id, "record") < 0 || read_body(c, f, 4) < 0)
		return;
	if (json_object_size(c->body) == 0)
		return call_reply_error(c, 400, "invalid_field", "the body changes nothing");
	if (db_pool_query(c->api->pool,
			  "SELECT r.name, r.type, r.content, r.ttl, r.id FROM records r "
			  "JOIN domains d ON d.id = r.domain_id WHERE r.id = $2 AND d.user_id = $1",
			  2, p, -1, on_patch_current, c) < 0)
		call_reply_error(c, 503, "unavailable", "the service is busy, try again");
}

void h_record_delete(struct call *c)
{
	char id[24];
	const char *p[] = { c->user_s, id, c->actor, c->addr, ua(c) };

	if (param_id(c, id, "record") < 0)
		return;
	write_query(c, "SELECT api_record_delete($1, $2, $3, $4, $5)::text", 5, p, 204, NULL,
		    "record");
}

/* ---- tokens --------------------------------------------------------------- */

static void on_revoked(redisReply *reply, const char *err, void *arg)
{
	struct call *c = arg;

	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		log_warn(http_request_id(c->req), "could not revoke a token: %s",
			 reply ? reply->str : err);
		return call_reply_error(c, 503, "unavailable",
					"the service is unavailable, try again");
	}
	call_reply_json(c, 204, NULL);
}

void h_token_revoke(struct call *c)
{
	static const struct http_field f[] = {
		{ "jti", JSON_STRING, true },
		{ "exp", JSON_INTEGER, true },
	};
	const char *jti;
	long long exp, now = (long long)time(NULL);

	if (read_body(c, f, 2) < 0)
		return;
	jti = json_string_value(json_object_get(c->body, "jti"));
	exp = json_integer_value(json_object_get(c->body, "exp"));
	if (strlen(jti) == 0 || strlen(jti) > JWT_JTI_MAX)
		return call_reply_error(c, 400, "invalid_field",
					"\"jti\" must be 1 to %d characters", JWT_JTI_MAX);
	/* a token passes until now > exp + skew: kept one second beyond */
	if (exp < now - JWT_SKEW_DEFAULT - 1)
		return call_reply_json(c, 204, NULL);
	/* a token passing today has iat <= now + skew, exp <= iat + lifetime */
	if (exp > now + c->api->opts->max_lifetime_s + JWT_SKEW_DEFAULT)
		return call_reply_error(c, 400, "invalid_field",
					"\"exp\" is further ahead than a token may live");
	if (redis_client_command(c->api->sess_redis, 0, on_revoked, c, "SET %s%s:%s 1 EX %lld",
				 API_REVOKED_PREFIX, c->claims.sub, jti,
				 exp - now + JWT_SKEW_DEFAULT + 1) < 0)
		call_reply_error(c, 503, "unavailable", "the service is unavailable, try again");
}

/* ---- update tokens (dyndns2 credentials) ---------------------------------- */

void h_update_tokens_list(struct call *c)
{
	char name[DNSNAME_SIZE];
	const char *p[] = { c->user_s, name };

	if (param_domain(c, name) < 0)
		return;
	read_query(c,
		   "SELECT jsonb_build_object('items', coalesce(jsonb_agg(api_update_token_json(t) "
		   "ORDER BY t.id) FILTER (WHERE t.id IS NOT NULL), '[]'))::text "
		   "FROM domains d LEFT JOIN update_tokens t "
		   "ON t.domain_id = d.id AND t.revoked_at IS NULL "
		   "WHERE d.name = $2 AND d.user_id = $1 GROUP BY d.id",
		   2, p);
}

static void on_token_created(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	json_t *doc;
	char loc[400];

	if (err)
		return call_reply_db_error(c, err, "domain");
	doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (!doc)
		return call_reply_error(c, 500, "internal", "internal error");
	/* the secret, shown this once; the call's copy is wiped */
	json_object_set_new(doc, "token",
			    json_string(json_string_value(json_object_get(c->answer, "token"))));
	{
		json_t *t = json_object_get(c->answer, "token");

		sodium_memzero((char *)json_string_value(t), json_string_length(t));
	}
	snprintf(loc, sizeof(loc), "/api/v1/domains/%s/update-tokens/%lld",
		 json_string_value(json_object_get(c->answer, "domain")),
		 (long long)json_integer_value(json_object_get(doc, "id")));
	(void)http_reply_header(c->req, "Location", loc);
	log_info(http_request_id(c->req), "update token %lld made for \"%s\"",
		 (long long)json_integer_value(json_object_get(doc, "id")),
		 json_string_value(json_object_get(c->answer, "domain")));
	call_reply_json(c, 201, doc);
}

void h_update_token_create(struct call *c)
{
	static const struct http_field f[] = { { "name", JSON_STRING, false },
					       { "acme", JSON_TRUE, false } };
	char name[DNSNAME_SIZE], token[TOKEN_LEN + 1], hex[TOKEN_HASH_SQL_SIZE], limit[24];
	unsigned char hash[32];
	const char *label;

	if (param_domain(c, name) < 0 || read_body(c, f, 2) < 0)
		return;
	label = json_string_value(json_object_get(c->body, "name"));
	if (label) {
		size_t n = strlen(label);
		bool ok = n >= 1 && n <= 100;

		for (size_t i = 0; ok && i < n; i++)
			ok = (unsigned char)label[i] >= 0x20 && label[i] != 0x7f;
		if (!ok)
			return call_reply_error(c, 400, "invalid_field",
						"\"name\" must be 1 to 100 bytes without control "
						"characters");
	}
	token_new(token, hash);
	token_hash_sql(hash, hex);
	c->answer = json_pack("{s:s, s:s}", "token", token, "domain", name);
	sodium_memzero(token, sizeof(token));
	if (!c->answer) /* before the row exists: a token nobody could see would count */
		return call_reply_error(c, 503, "unavailable", "out of memory");
	snprintf(limit, sizeof(limit), "%lld", c->api->opts->update_token_limit);
	{
		const char *p[] = {
			c->user_s,
			name,
			label,
			json_is_true(json_object_get(c->body, "acme")) ? "true" : "false",
			hex,
			limit,
			c->actor,
			c->addr,
			ua(c)
		};

		if (db_pool_query(
			    c->api->pool,
			    "SELECT api_update_token_create($1, $2, $3, $4::boolean, $5::bytea, "
			    "$6, $7, $8::inet, $9)::text",
			    9, p, -1, on_token_created, c) < 0)
			call_reply_error(c, 503, "unavailable", "the service is busy, try again");
	}
}

void h_update_token_revoke(struct call *c)
{
	char name[DNSNAME_SIZE], id[24];
	const char *p[] = { c->user_s, name, id, c->actor, c->addr, ua(c) };

	if (param_domain(c, name) < 0 || param_id(c, id, "update token") < 0)
		return;
	write_query(c, "SELECT api_update_token_revoke($1, $2, $3, $4, $5::inet, $6)::text", 6, p,
		    204, NULL, "update token");
}
