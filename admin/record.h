#pragma once

/*
 * record: the operator's own records (domain_id NULL) in the operator's
 * zones. The zone of a name is the longest zone containing it; names at or
 * below a user's domain are refused (the user manages them).
 *
 * Errors as in shared/db.h (struct db_error), plus:
 *   -EINVAL  a bad name, type or content (nothing was written)
 *   -ENOENT  no zone contains the name; remove: no such record
 *   -EPERM   the name belongs to a user's domain
 */

#include "shared/db.h"

#include <stdio.h>

/*
 * Adds a record, or updates the TTL of the same record (name, type,
 * content). @ttl is clamped to [RR_TTL_MIN, RR_TTL_MAX].
 */
int record_add(PGconn *conn, const char *name, const char *type, const char *content, long long ttl,
	       FILE *out, struct db_error *err);

/* Removes the operator's records of @name and @type; only the one with @content when given. */
int record_remove(PGconn *conn, const char *name, const char *type, const char *content, FILE *out,
		  struct db_error *err);
