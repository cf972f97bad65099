#pragma once

/*
 * Helpers for integration tests against the PostgreSQL named by
 * DDNS_TEST_DATABASE_URL (a superuser-capable role on a loopback server).
 */

#include <stddef.h>

/*
 * Returns DDNS_TEST_DATABASE_URL; when it is unset or empty, prints a TAP skip
 * plan and exits 0. Call it first thing in make_suite().
 */
const char *testdb_url_or_skip(void);

/*
 * Creates a fresh, uniquely named database and writes a key=value DSN for it
 * into @dsn and its name into @name. Fails the running test on error.
 */
void testdb_create(char *dsn, size_t dsn_size, char *name, size_t name_size);

/*
 * testdb_create, then applies every migration of DDNS_TEST_MIGRATIONS_DIR
 * (passed by meson). Fails the running test on error.
 */
void testdb_create_migrated(char *dsn, size_t dsn_size, char *name, size_t name_size);

/* Drops a database made by testdb_create (terminating its sessions). */
void testdb_drop(const char *name);
