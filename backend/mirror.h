#pragma once

/*
 * The mirror: every name of the live replica generation in memory, so that
 * a lookup costs no Redis round trip.
 *
 * Filled from Redis db0 (SCAN MATCH dns:G:n:* + MGET, on the replica client)
 * and kept current by the notices of REPLICA_NAMES_CHANNEL: each name there
 * is fetched again (MGET dns:gen dns:G:n:<name>: the generation is checked
 * with every value), "gen <G>" announces a switch. Replies on one connection
 * come in order, and ddns-cache publishes after writing, so the last fetch
 * of a name holds its current value. From its notice until its fetch is
 * back a name is not answered from the mirror (Redis already has the new
 * value): the purge notice ddns-cache sends after the name notices flushes
 * PowerDNS's caches, and an old answer must not be cached again.
 *
 * The mirror answers only while "usable": filled, subscribed, the generation
 * checked and its own marker echoed on the channel within MIRROR_FRESH_MS.
 * Anything that may have lost a notice (subscriber or replica client lost,
 * a generation change, a failed fetch, an unreadable notice) empties it and
 * starts again; until then lookups take the Redis/PostgreSQL path.
 *
 * The fill starts only after a marker this process published on the channel
 * came back: the subscription is then active on the server, every later
 * change is announced, and every earlier one is seen by the SCAN.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redis_client;
struct mirror;

/* How often the generation is checked and a marker published. */
#define MIRROR_TICK_MS 250
/* The last generation check and marker echo must be this recent. */
#define MIRROR_FRESH_MS 1000
/* Pause before filling again after unexpected data or an error reply. */
#define MIRROR_RETRY_MS 5000
/* Pause before filling again after mirror_max_bytes was reached (or a new generation). */
#define MIRROR_LIMIT_RETRY_MS 60000
/* Names per SCAN step and per MGET. */
#define MIRROR_BATCH 1000
/* Noticed names whose fetch is out at once; beyond, the mirror resets. */
#define MIRROR_PENDING_MAX 4096
/* Accounting overhead of one entry besides its name and value. */
#define MIRROR_ENTRY_OVERHEAD 48

struct mirror_config {
	size_t max_bytes; /* beyond it: not usable (logged once a fill) */
};

/*
 * @base and @redis (the replica (db0) command client) are borrowed. Destroy
 * the client before the mirror: its pending commands complete into the
 * mirror. Returns NULL when out of memory.
 */
struct mirror *mirror_create(struct event_base *base, struct redis_client *redis,
			     const struct mirror_config *cfg);
void mirror_destroy(struct mirror *m); /* NULL-safe */

/* The replica client connected / lost its connection. */
void mirror_redis_up(struct mirror *m, bool up);
/* The subscriber connected (subscriptions sent) / lost its connection. */
void mirror_sub_up(struct mirror *m, bool up);
/* A message on REPLICA_NAMES_CHANNEL. */
void mirror_notice(struct mirror *m, const char *msg, size_t len);

enum mirror_answer {
	MIRROR_UNKNOWN, /* not usable, or the name is in no zone the mirror holds */
	MIRROR_FOUND,   /* *ret_value (borrowed until the next loop turn) */
	MIRROR_ABSENT,  /* no such name in a zone of the mirror */
};

/* @name normalized. */
enum mirror_answer mirror_get(struct mirror *m, const char *name, const char **ret_value,
			      size_t *ret_len);

bool mirror_usable(const struct mirror *m);
