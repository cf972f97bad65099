#include "shared/replica.h"

#include "shared/rr.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length snprintf reported, or -EMSGSIZE when it did not fit. */
static int fitted(int n, size_t size)
{
	return n < 0 || (size_t)n >= size ? -EMSGSIZE : n;
}

int replica_name_key(long long gen, const char *name, char *buf, size_t size)
{
	return fitted(snprintf(buf, size, "dns:%lld:n:%s", gen, name), size);
}

int replica_zones_key(long long gen, char *buf, size_t size)
{
	return fitted(snprintf(buf, size, "dns:%lld:zones", gen), size);
}

int replica_meta_key(long long gen, char *buf, size_t size)
{
	return fitted(snprintf(buf, size, "dns:%lld:meta", gen), size);
}

const char replica_lookup_lua[] = "local g = redis.call('GET', KEYS[1])\n"
				  "if not g then return false end\n"
				  "local v = redis.call('GET', 'dns:' .. g .. ':n:' .. ARGV[1])\n"
				  "if not v then v = '' end\n"
				  "return {g, v}\n";

const char replica_is_zone_lua[] =
	"local g = redis.call('GET', KEYS[1])\n"
	"if not g then return 1 end\n"
	"return redis.call('HEXISTS', 'dns:' .. g .. ':zones', ARGV[1])\n";

const char replica_zones_lua[] = "local g = redis.call('GET', KEYS[1])\n"
				 "if not g then return false end\n"
				 "local v = redis.call('HVALS', 'dns:' .. g .. ':zones')\n"
				 "table.insert(v, 1, g)\n"
				 "return v\n";

/* The zone columns, shared by both queries. */
#define ZONE_COLUMNS                                          \
	"z.id, z.name, z.mname, z.rname, " REPLICA_SERIAL_SQL \
	", z.refresh, z.retry, z.expire, z.minimum"

/*
 * "zone_id + 0": the names are found by their own indexes (the reversed
 * name for what lies below, the name for the records); the zone only
 * filters. An index scan on zone_id would visit the whole zone, and after
 * churn its dead rows, for every name (a BitmapAnd the planner likes on
 * small or freshly changed tables). "z.id IS NOT NULL" is not redundant: it
 * skips the reversed-name range scan for the ancestors above every zone
 * (each batch carries them, up to the top-level label), which would read
 * every record name below them.
 */
const char replica_sql_names[] =
	"SELECT q.name, " ZONE_COLUMNS ", r.type, r.content, r.ttl, ch.has_children "
	"FROM unnest($1::text[]) AS q(name) "
	"LEFT JOIN LATERAL (SELECT * FROM zones "
	"  WHERE q.name = zones.name OR right(q.name, length(zones.name) + 1) = '.' || zones.name "
	"  ORDER BY length(zones.name) DESC LIMIT 1) z ON true "
	"LEFT JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM records d "
	"  WHERE z.id IS NOT NULL AND d.zone_id + 0 = z.id "
	"  AND reverse(d.name) ~>=~ reverse('.' || q.name) "
	"  AND reverse(d.name) ~<~ (reverse('.' || q.name) || '~')) AS has_children) ch ON true "
	"LEFT JOIN records r ON r.zone_id + 0 = z.id AND r.name = q.name "
	"ORDER BY q.name, r.type, r.content";

const char replica_sql_zones[] = "SELECT " ZONE_COLUMNS " FROM zones z ORDER BY z.name";

static json_t *soa_json(const struct replica_zone *zone)
{
	char content[2 * 256 + 5 * 21 + 8]; /* two names, five numbers, spaces */

	snprintf(content, sizeof(content), "%s %s %lld %lld %lld %lld %lld", zone->mname,
		 zone->rname, zone->serial, zone->refresh, zone->retry, zone->expire,
		 zone->minimum);
	/* the SOA's own TTL is the negative-caching TTL, as its minimum field says */
	return rr_to_json(zone->name, RR_SOA, content, zone->minimum, zone->id);
}

int replica_render(const struct replica_zone *zone, const char *name, const struct replica_rr *rrs,
		   size_t n_rrs, bool has_children, char **ret_json)
{
	bool apex = strcmp(name, zone->name) == 0;
	json_t *arr, *rec;
	char *text;
	int r = -ENOMEM;

	if (n_rrs == 0 && !apex && !has_children) {
		*ret_json = NULL; /* no such name */
		return 0;
	}
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	if (apex) {
		rec = soa_json(zone);
		if (!rec || json_array_append_new(arr, rec) < 0)
			goto out;
	}
	for (size_t i = 0; i < n_rrs; i++) {
		enum rr_type type;

		if (rr_type_parse(rrs[i].type, &type) < 0) {
			r = -EINVAL;
			goto out;
		}
		rec = rr_to_json(name, type, rrs[i].content, rrs[i].ttl, zone->id);
		if (!rec) {
			r = -EINVAL; /* content that is not UTF-8 */
			goto out;
		}
		if (json_array_append_new(arr, rec) < 0)
			goto out;
	}
	if (json_array_size(arr) == 0) {
		/* an empty non-terminal: NODATA instead of NXDOMAIN */
		rec = json_pack("{s:s, s:s, s:s, s:i, s:I}", "qtype", "ENT", "qname", name,
				"content", "", "ttl", 0, "domain_id", (json_int_t)zone->id);
		if (!rec || json_array_append_new(arr, rec) < 0)
			goto out;
	}
	text = json_dumps(arr, JSON_COMPACT);
	if (!text)
		goto out;
	*ret_json = text;
	r = 0;
out:
	json_decref(arr);
	return r;
}

int replica_render_zone_info(const struct replica_zone *zone, char **ret_json)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)zone->id, "zone",
			      zone->name, "kind", "native", "serial", (json_int_t)zone->serial);
	char *text;

	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	*ret_json = text;
	return 0;
}

static int parse_ll(const char *s, long long *ret)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*ret = strtoll(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

int replica_zone_from_row(const PGresult *res, int row, int col, struct replica_zone *ret_zone)
{
	struct replica_zone z;

	if (PQnfields(res) < col + 9 || PQgetisnull(res, row, col))
		return -EINVAL;
	z.name = PQgetvalue(res, row, col + 1);
	z.mname = PQgetvalue(res, row, col + 2);
	z.rname = PQgetvalue(res, row, col + 3);
	if (parse_ll(PQgetvalue(res, row, col), &z.id) < 0 ||
	    parse_ll(PQgetvalue(res, row, col + 4), &z.serial) < 0 ||
	    parse_ll(PQgetvalue(res, row, col + 5), &z.refresh) < 0 ||
	    parse_ll(PQgetvalue(res, row, col + 6), &z.retry) < 0 ||
	    parse_ll(PQgetvalue(res, row, col + 7), &z.expire) < 0 ||
	    parse_ll(PQgetvalue(res, row, col + 8), &z.minimum) < 0)
		return -EINVAL;
	*ret_zone = z;
	return 0;
}

/* Renders the rows [first, end) of one name and hands the result to @fn. */
static int emit(const PGresult *res, int first, int end, struct replica_rr *rrs, replica_name_fn fn,
		void *arg)
{
	const char *name = PQgetvalue(res, first, 0);
	struct replica_zone zone;
	size_t n = 0;
	char *json = NULL;
	int r;

	if (PQgetisnull(res, first, 1))
		return fn(name, NULL, NULL, arg); /* in no zone */
	r = replica_zone_from_row(res, first, 1, &zone);
	if (r < 0)
		return r;
	for (int i = first; i < end; i++) {
		if (PQgetisnull(res, i, 10))
			continue; /* the name has no records */
		rrs[n].type = PQgetvalue(res, i, 10);
		rrs[n].content = PQgetvalue(res, i, 11);
		if (parse_ll(PQgetvalue(res, i, 12), &rrs[n].ttl) < 0)
			return -EINVAL;
		n++;
	}
	r = replica_render(&zone, name, rrs, n, PQgetvalue(res, first, 13)[0] == 't', &json);
	if (r < 0)
		return r;
	r = fn(name, json, &zone, arg);
	free(json);
	return r;
}

int replica_render_result(const PGresult *res, replica_name_fn fn, void *arg)
{
	int rows = PQntuples(res), first = 0, r = 0;
	struct replica_rr *rrs;

	if (PQnfields(res) != 14)
		return -EINVAL;
	rrs = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*rrs));
	if (!rrs)
		return -ENOMEM;
	for (int i = 1; i <= rows && r >= 0; i++) {
		if (i < rows && strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, first, 0)) == 0)
			continue;
		r = emit(res, first, i, rrs, fn, arg);
		first = i;
	}
	free(rrs);
	return r < 0 ? r : 0;
}

size_t replica_announce(struct redis_client *rc, json_t *changes, redis_reply_fn cb, void *arg)
{
	size_t i, sent = 0;
	json_t *ch;

	json_array_foreach(changes, i, ch)
	{
		char id[24], zone[24];
		const char *name = json_string_value(json_array_get(ch, 2));
		const char *argv[] = {
			"XADD", REPLICA_STREAM, "MAXLEN", "~",    "1000000", "*", "id",
			id,     "zone_id",      zone,     "name", name
		};

		if (!name)
			continue;
		snprintf(id, sizeof(id), "%lld", json_integer_value(json_array_get(ch, 0)));
		snprintf(zone, sizeof(zone), "%lld", json_integer_value(json_array_get(ch, 1)));
		if (redis_client_commandv(rc, 250, cb, arg, sizeof(argv) / sizeof(argv[0]), argv,
					  NULL) == 0)
			sent++;
	}
	return sent;
}
