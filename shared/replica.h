#pragma once

/*
 * The DNS replica: the contract between ddns-cache (which writes it) and
 * ddns-backend (which reads it), and the one renderer both use, so that an
 * answer read from Redis and one rendered from PostgreSQL (the backend's
 * fallback) are byte for byte the same.
 *
 * Redis db0 holds generations. A generation is complete once "dns:gen"
 * names it; ddns-cache builds a new one beside the live one and switches
 * "dns:gen" atomically, then deletes the old one after a grace period.
 *
 *   dns:gen              the live generation G (decimal); absent: no complete replica
 *   dns:G:n:<name>       the JSON array of the records at owner <name> (lower
 *                        case, trailing dot), ready to be the "result" of a
 *                        lookup: SOA first at a zone apex, an ENT marker for an
 *                        empty non-terminal. Absent: no such name.
 *   dns:G:zones          hash: zone name -> zone info JSON
 *                        {"id":1,"zone":"dyn.test.","kind":"native","serial":N}
 *   dns:G:meta           hash: last_change_id, snapshot (pg_snapshot text),
 *                        loaded_at (unix ms), names (count at load)
 *
 * Redis db1 (streams): "dns:changes", consumer group "cache"; each entry has
 * the fields id (the changes.id), zone_id and name. Purge notices go to the
 * channel "dns:purge": a name ("alice.dyn.test.") flushes that name and
 * everything below it from the PowerDNS caches; ddns-cache sends the zone
 * name when a change can affect answers cached under other names.
 *
 * The SOA serial of a zone is zones.serial plus the highest changes.id of
 * the zone, modulo 2^32 (REPLICA_SERIAL_SQL): it grows with every change in
 * the zone, also above a date-style base serial, and every renderer computes
 * the same value from the same data.
 */

#include "shared/redis.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define REPLICA_GEN_KEY       "dns:gen"
#define REPLICA_STREAM        "dns:changes"
#define REPLICA_STREAM_GROUP  "cache"
#define REPLICA_PURGE_CHANNEL "dns:purge"
/*
 * Name notices for in-memory mirrors: after writing keys, ddns-cache
 * publishes every name it wrote or deleted (normalized), and after a
 * generation switch "gen <G>". Readers may publish "mark <token>" markers of
 * their own there (ignored by everyone else).
 */
#define REPLICA_NAMES_CHANNEL "dns:names"

/* The served SOA serial of the zone row aliased "z" (see above). */
#define REPLICA_SERIAL_SQL                                                                     \
	"((z.serial + coalesce((SELECT max(c.id) FROM changes c WHERE c.zone_id = z.id), 0)) " \
	"% 4294967296)"

/* Longest key: "dns:" + 20 digits + ":n:" + a 254-byte name. */
#define REPLICA_KEY_SIZE 300

/* Key names for generation @gen; return the length or -EMSGSIZE. */
struct redis_client;

/*
 * Announces committed change-log rows: XADD of each [id, zone_id, name] of
 * @changes (borrowed JSON array, as the write functions of 0006/0007 return)
 * to REPLICA_STREAM on @rc (db1), capped at about a million entries. @cb runs
 * once per entry sent (see redis_reply_fn). Returns how many were sent; the
 * ones not sent (not connected, queue full) are not an error: ddns-cache
 * reads every change from the change log anyway, the stream only makes it
 * faster.
 */
size_t replica_announce(struct redis_client *rc, json_t *changes, redis_reply_fn cb, void *arg);

int replica_name_key(long long gen, const char *name, char *buf, size_t size);
int replica_zones_key(long long gen, char *buf, size_t size);
int replica_meta_key(long long gen, char *buf, size_t size);

/*
 * Lua for one round trip per lookup, atomic against a generation switch:
 * EVAL(SHA) with KEYS[1] = REPLICA_GEN_KEY, ARGV[1] = the normalized name.
 * Returns nil when there is no complete replica (fall back to PostgreSQL),
 * else a two-element array {generation, value}, value "" when the name does
 * not exist (an authoritative "no such name").
 */
extern const char replica_lookup_lua[];

/*
 * Lua for the zone list: KEYS[1] = REPLICA_GEN_KEY. Returns nil when there
 * is no complete replica, else {generation, info JSON, info JSON, ...}.
 */
extern const char replica_zones_lua[];

/*
 * Lua: is ARGV[1] (a normalized name) a zone? KEYS[1] = REPLICA_GEN_KEY.
 * Returns 0 when the live generation has no such zone, 1 when it has, and
 * 1 when there is no complete replica (it cannot say).
 */
extern const char replica_is_zone_lua[];

/*
 * libpq "options" for a session that runs replica_sql_names. Prepared (the
 * pool prepares every text, ddns-cache its per-batch queries), it soon runs
 * with one generic plan; made while records was small, that plan scanned the
 * whole table once per name after a bulk import grew it, until the next
 * ANALYZE (59.9 ms instead of 0.35 ms for 23 names after 200,000 inserts; the
 * review measured 8.3 s at 1M): with sequential scans priced out it takes the
 * indexes at any size. JIT compiled a batch of 5,000 names for 167 ms to run
 * it in 50 ms. A whole-table read (the cold load) sets enable_seqscan back
 * on for its transaction.
 */
#define REPLICA_SESSION_OPTIONS "-c jit=off -c enable_seqscan=off"

/*
 * SQL that reads what is needed to render a set of names: $1 is a text[] of
 * normalized names. One row at least per requested name (columns below);
 * zone_id NULL when the name is in no zone, type NULL when it has no records.
 *   0 name, 1 zone_id, 2 zone, 3 mname, 4 rname, 5 serial, 6 refresh, 7 retry,
 *   8 expire, 9 minimum, 10 type, 11 content, 12 ttl, 13 has_children ('t'/'f')
 * Rows are ordered by name, then type and content.
 */
extern const char replica_sql_names[];

/* SQL for the zone list: the zone columns 1-9 of replica_sql_names, by name. */
extern const char replica_sql_zones[];

struct replica_zone {
	long long id;
	const char *name; /* borrowed */
	const char *mname, *rname;
	long long serial;
	long long refresh, retry, expire, minimum;
};

struct replica_rr {
	const char *type;    /* borrowed: "A", "AAAA", "CNAME", ... */
	const char *content; /* borrowed: canonical presentation form */
	long long ttl;
};

/*
 * Renders the answer for owner @name of @zone: the records @rrs (SOA first
 * when @name is the apex), or the ENT marker when there are none and
 * @has_children, into a new string (*ret_json, malloc'd). When the name has
 * no data at all, returns 0 with *ret_json = NULL: the key must not exist.
 * Returns -EINVAL for a record type PowerDNS would not know, -ENOMEM.
 */
int replica_render(const struct replica_zone *zone, const char *name, const struct replica_rr *rrs,
		   size_t n_rrs, bool has_children, char **ret_json);

/* {"id":..,"zone":..,"kind":"native","serial":..} into *ret_json (malloc'd). */
int replica_render_zone_info(const struct replica_zone *zone, char **ret_json);

/*
 * Called once per requested name of a replica_sql_names result, in order:
 * @json is the rendered answer or NULL (no such name: delete the key / answer
 * "no data"); @zone is NULL when the name is in no zone.
 */
typedef int (*replica_name_fn)(const char *name, const char *json, const struct replica_zone *zone,
			       void *arg);

/* Walks a replica_sql_names result; stops at the first negative return of @fn. */
int replica_render_result(const PGresult *res, replica_name_fn fn, void *arg);

/* Reads the zone columns of row @row starting at column @col into @ret_zone (borrowed strings). */
int replica_zone_from_row(const PGresult *res, int row, int col, struct replica_zone *ret_zone);
