#pragma once

#include "shared/replica.h"

/*
 * zone: the operator's zones (table zones), their SOA data, apex NS records
 * and glue. Every write runs in one transaction; the change-log triggers
 * record it for DNS.
 *
 * Errors as in shared/db.h (struct db_error), plus:
 *   -EINVAL  a bad name, mailbox, nameserver or kind (nothing was written)
 *   -EEXIST  zone add: the zone exists already
 *   -ENOENT  the zone does not exist
 *   -EPERM   zone remove: users' domains exist and @force was not given;
 *            zone add: the name is (inside) a user's domain
 */

#include "shared/db.h"
#include "shared/dnsname.h"

#include <stdbool.h>
#include <stdio.h>

/*
 * The served SOA serial of the zone aliased "z" in a query: the zone's base
 * serial or the id of its last change, whichever is larger (record writes
 * never bump zones.serial, see schema/README.md).
 */
#define ZONE_SERIAL_SQL REPLICA_SERIAL_SQL

struct zone_params {
	const char *name;       /* as typed; final dot optional */
	const char *kind;       /* "base" or "custom"; NULL: "base" */
	const char *ns;         /* NAME[=ADDRESS], comma or space separated; at least one */
	const char *hostmaster; /* "hostmaster.example.net." or "hostmaster@example.net"; NULL:
				   hostmaster.<zone> */
	long long refresh, retry, expire, minimum; /* SOA timers, seconds */
	long long ns_ttl;                          /* TTL of apex NS and glue */
};

/* Validates and normalizes a zone name (LDH labels). -EINVAL with a message. */
int zone_name_parse(const char *in, char ret_name[DNSNAME_SIZE], struct db_error *err);

/*
 * Validates a mailbox ("hostmaster.example.net." or "hostmaster@example.net")
 * into SOA RNAME form. -EINVAL with a message.
 */
int zone_hostmaster_parse(const char *in, char ret_rname[DNSNAME_SIZE], struct db_error *err);

/* Config check for a nameserver list (struct config_key.check). */
int zone_check_ns(const char *value, const char **ret_reason);

/* Config check for a mailbox (struct config_key.check); "" is fine (unset). */
int zone_check_hostmaster(const char *value, const char **ret_reason);

/* Creates the zone with its SOA data, apex NS records and in-zone glue. */
int zone_add(PGconn *conn, const struct zone_params *p, FILE *out, struct db_error *err);

/* One line per zone: name, kind, served serial, records, domains. */
int zone_list(PGconn *conn, FILE *out, struct db_error *err);

/* SOA data, served serial, record and domain counts of one zone. */
int zone_show(PGconn *conn, const char *name, FILE *out, struct db_error *err);

/*
 * Deletes the zone and its records; refuses (-EPERM) while users' domains
 * exist in it unless @force, which deletes those domains too.
 */
int zone_remove(PGconn *conn, const char *name, bool force, FILE *out, struct db_error *err);
