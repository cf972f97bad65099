#pragma once

/*
 * migrate: applies schema/migrations/NNNN_name.sql to a database and seeds the
 * operator's base zones. The logic of ddns-migrate, kept out of main.c so that
 * the tests link it.
 *
 * Applied migrations are recorded in schema_migrations(version, name,
 * checksum, applied_at); the checksum is the SHA-256 (hex) of the file. A run
 * holds a session advisory lock (MIGRATE_LOCK_KEY), so concurrent runs apply
 * each migration once.
 *
 * Results are written to @out for people; errors come back as a negative
 * errno and one line in @err:
 *   -EBADMSG  an applied migration's file changed (checksum mismatch)
 *   -ENOENT   an applied migration's file is missing, or the directory is
 *   -EINVAL   a bad file name, duplicate version, out-of-order migration, bad seed input
 *   others    from db_exec (-EIO with SQLSTATE, -ECONNRESET, ...)
 */

#include "shared/db.h"
#include "shared/dnsname.h"

#include <arpa/inet.h>

#include <stdio.h>

/* pg_advisory_lock key of ddns-migrate: "ddns-mig" in ASCII */
#define MIGRATE_LOCK_KEY "7234307576302020967"

struct migration {
	int version;
	char *file;        /* owned: "0001_init.sql" */
	char *name;        /* owned: "init" */
	char *sql;         /* owned: the file's text */
	char checksum[65]; /* SHA-256, lower-case hex */
};

struct migration_set {
	struct migration *items; /* owned, sorted by version */
	size_t n;
};

/* Reads every NNNN_name.sql of @dir. */
int migration_set_load(const char *dir, struct migration_set *ret_set, struct db_error *err);
void migration_set_finish(struct migration_set *set);

/* Applies the pending migrations of @dir, each in its own transaction. */
int migrate_up(PGconn *conn, const char *dir, FILE *out, struct db_error *err);

/* Lists every migration as applied (with time), pending, changed or missing;
 * returns -EBADMSG after listing when any applied one does not match. */
int migrate_status(PGconn *conn, const char *dir, FILE *out, struct db_error *err);

struct seed_config {
	const char *base_zones;      /* "dyn.test. other.test." (comma or space separated) */
	const char *zone_ns;         /* "ns1.dyn.test.=127.0.0.1,ns2.example.net." */
	const char *zone_hostmaster; /* NULL or "": hostmaster.<zone> */
	long long refresh, retry, expire, minimum;
	long long ns_ttl; /* of the NS and glue records */
};

/* Creates or updates the base zones, their apex NS records and glue, in one
 * transaction. Running it again with the same input changes nothing. */
int migrate_seed(PGconn *conn, const struct seed_config *cfg, FILE *out, struct db_error *err);

/*
 * Normalizes a host name to lower case with a trailing dot into @buf and
 * checks it (LDH labels of 1..63, total <= 253 + dot). Returns 0 or -EINVAL.
 */
int seed_name_normalize(const char *name, size_t len, char *buf, size_t size);

/* A nameserver of a zone: NAME or NAME=ADDRESS (the address becomes glue). */
struct seed_ns {
	char name[DNSNAME_SIZE];
	char addr[INET6_ADDRSTRLEN]; /* normalized; "" when none */
	const char *type;            /* "A" or "AAAA"; NULL without address */
};

/* Parses one NAME[=ADDRESS] item of @len bytes into @ns. Returns 0 or -EINVAL. */
int seed_parse_ns(const char *item, size_t len, struct seed_ns *ns);

/*
 * The next item of a comma- or space-separated list at *@p: returns it
 * (*ret_len bytes) and advances *@p, or NULL at the end.
 */
const char *seed_next_item(const char **p, size_t *ret_len);

/*
 * Writes the NS records of zone @zone (row @zone_id) and the glue of its
 * nameservers inside the zone that have an address; idempotent (a record
 * that is already there is not written again). @no_address_hint ends the
 * warning about a nameserver inside the zone without an address. The records
 * written go to *@ret_written and the glue among them to *@ret_glue (either
 * may be NULL).
 */
int seed_zone_ns(PGconn *conn, const char *zone_id, const char *zone, const struct seed_ns *ns,
		 size_t n_ns, const char *ttl, const char *no_address_hint, FILE *out,
		 size_t *ret_written, size_t *ret_glue, struct db_error *err);

/* config_key.check helpers for base_zones, zone_ns and zone_hostmaster. */
int seed_check_zones(const char *value, const char **ret_reason);
int seed_check_ns(const char *value, const char **ret_reason);
int seed_check_hostmaster(const char *value, const char **ret_reason);
