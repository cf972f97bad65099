#pragma once

/*
 * owner: who is responsible for a name. A name belongs to the longest zone
 * containing it; below a zone, a name at or below a user's domain
 * (alice.dyn.test.) is that user's, everything else is the operator's.
 *
 * Errors as in shared/db.h (struct db_error), plus:
 *   -ENOENT  no zone contains the name
 *   -EPERM   the name belongs to a user's domain (the message says whose)
 */

#include "shared/db.h"
#include "shared/dnsname.h"

#define OWNER_ID_SIZE 24 /* a bigint in decimal and its NUL */

/*
 * Finds the longest zone containing @name (normalized): its id and name into
 * @ret_zone_id and @ret_zone. -ENOENT when there is none.
 */
int owner_zone(PGconn *conn, const char *name, char ret_zone_id[OWNER_ID_SIZE],
	       char ret_zone[DNSNAME_SIZE], struct db_error *err);

/*
 * The only name a user's domain containing @name could have: @name cut to
 * one label below @zone ("a.alice.dyn.test." in "dyn.test." gives
 * "alice.dyn.test."); "" for the apex. Both normalized; @name at or below @zone.
 */
void owner_domain_candidate(const char *name, const char *zone, char buf[DNSNAME_SIZE]);

/*
 * -EPERM when @name (normalized, in zone @zone_id named @zone) lies at or
 * below a user's domain, with a message naming the domain and its user; 0
 * when the name is the operator's.
 */
int owner_check_operator(PGconn *conn, const char *zone_id, const char *zone, const char *name,
			 struct db_error *err);
