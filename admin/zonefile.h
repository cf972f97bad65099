#pragma once

/*
 * zonefile: RFC 1035 zone files in and out of an operator's zone.
 *
 * Import (zonefile_import):
 *   - the zone must exist (ddns-admin zone add): its kind, nameservers and
 *     SOA names are the operator's decision, not the file's;
 *   - the file is parsed with libldns, origin = the zone, $ORIGIN and $TTL
 *     honoured, $INCLUDE refused; an RR without TTL takes the $TTL, else the
 *     last explicit TTL, else 3600 (RFC 1035/2308, as ldns does);
 *   - the SOA of the file is not stored as a record: its refresh, retry,
 *     expire and minimum replace the zone's, its serial raises the zone's
 *     base serial (never lowers it); its MNAME and RNAME are ignored (the
 *     zone keeps its own, a note says so when they differ); an SOA elsewhere
 *     than at the apex is an error, a second one at the apex (AXFR output)
 *     is skipped;
 *   - every other RR must be class IN, of a type we serve (A AAAA CNAME MX
 *     TXT SRV CAA NS), at or below the zone, not inside a zone of its own
 *     that we also serve, not at or below a user's domain, and its content
 *     valid for shared/rr (stored in canonical form); TTLs are clamped to
 *     [RR_TTL_MIN, RR_TTL_MAX] (counted in the summary); duplicates collapse;
 *   - merge (default): records of the file are added, their TTL updated;
 *     replace: the operator's records of the zone (domain_id NULL) that are
 *     not in the file are deleted too. Users' records are never touched;
 *   - everything is written in one transaction, so a bad file writes
 *     nothing; the change-log triggers record every written name.
 *   A problem with the file is -EBADMSG and a message "FILE:LINE: ...".
 *
 * Export (zonefile_export): $ORIGIN, the SOA from the zone row with the
 * served serial (ZONE_SERIAL_SQL), then the operator's records sorted by
 * name, type and content, owner names relative to the zone. Users' records
 * are left out unless @with_domains (an import refuses them). Import of the
 * output gives the same rows.
 */

#include "shared/db.h"

#include <stdbool.h>
#include <stdio.h>

/* At most this many RRs in one file. */
#define ZONEFILE_MAX_RECORDS 200000

int zonefile_import(PGconn *conn, const char *zone, const char *path, bool replace, FILE *out,
		    struct db_error *err);

int zonefile_export(PGconn *conn, const char *zone, bool with_domains, FILE *out,
		    struct db_error *err);
