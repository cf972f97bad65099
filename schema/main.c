/* ddns-migrate: applies the schema migrations and seeds the base zones. */

#include "schema/migrate.h"
#include "shared/config.h"
#include "shared/db.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DDNS_MIGRATIONS_DIR
#define DDNS_MIGRATIONS_DIR "schema/migrations"
#endif

#define EXIT_CONFIG CONFIG_EXIT_INVALID /* 1 */
#define EXIT_FAILED 2

struct migrate_config {
	char *database_url;
	char *migrations_dir;
	long long connect_timeout_ms;
	char *base_zones;
	char *zone_ns;
	char *zone_hostmaster;
	long long zone_refresh, zone_retry, zone_expire, zone_minimum, zone_ns_ttl;
};

#define KEY(k) .key = #k, .offset = offsetof(struct migrate_config, k)

static const struct config_key keys[] = {
	{ KEY(database_url), .env = "DDNS_DATABASE_URL", .type = CONFIG_STR,
	  .def = "postgresql://postgres@127.0.0.1:5433/ddns", .secret = true,
	  .help = "PostgreSQL URL or key=value connection string" },
	{ KEY(migrations_dir), .type = CONFIG_STR, .def = NULL,
	  .help = "directory of the NNNN_name.sql migrations; unset: schema/migrations of "
		  "the source tree it was built from" },
	{ .key = "connect_timeout",
	  .offset = offsetof(struct migrate_config, connect_timeout_ms),
	  .type = CONFIG_DURATION,
	  .def = "10s",
	  .min = 1000,
	  .max = 300000,
	  .help = "how long to wait for the database" },
	{ KEY(base_zones), .env = "DDNS_BASE_ZONES", .type = CONFIG_STR, .def = "dyn.test.",
	  .check = seed_check_zones,
	  .help = "seed: the operator's base zones, comma or space separated" },
	{ KEY(zone_ns), .env = "DDNS_ZONE_NS", .type = CONFIG_STR, .def = "ns1.dyn.test.=127.0.0.1",
	  .check = seed_check_ns,
	  .help = "seed: nameservers of the base zones, NAME[=ADDRESS] comma separated; the "
		  "address becomes glue when the name is inside the zone" },
	{ KEY(zone_hostmaster), .env = "DDNS_ZONE_HOSTMASTER", .type = CONFIG_STR, .def = NULL,
	  .check = seed_check_hostmaster,
	  .help = "seed: SOA mailbox (hostmaster.example.net. or hostmaster@example.net); "
		  "unset: hostmaster.<zone>" },
	{ KEY(zone_refresh), .env = "DDNS_ZONE_REFRESH", .type = CONFIG_INT, .def = "10800",
	  .min = 60, .max = 2419200, .help = "seed: SOA refresh, seconds" },
	{ KEY(zone_retry), .env = "DDNS_ZONE_RETRY", .type = CONFIG_INT, .def = "3600", .min = 60,
	  .max = 2419200, .help = "seed: SOA retry, seconds" },
	{ KEY(zone_expire), .env = "DDNS_ZONE_EXPIRE", .type = CONFIG_INT, .def = "604800",
	  .min = 3600, .max = 31536000, .help = "seed: SOA expire, seconds" },
	{ KEY(zone_minimum), .env = "DDNS_ZONE_MINIMUM", .type = CONFIG_INT, .def = "60", .min = 60,
	  .max = 86400, .help = "seed: SOA minimum (negative caching TTL), seconds" },
	{ KEY(zone_ns_ttl), .env = "DDNS_ZONE_NS_TTL", .type = CONFIG_INT, .def = "3600", .min = 60,
	  .max = 86400, .help = "seed: TTL of the apex NS and glue records, seconds" },
};

static const struct config_def def = {
	.prog = "ddns-migrate",
	.env_prefix = "DDNS_MIGRATE",
	.summary = "apply the database schema migrations and seed the base zones",
	.args_usage = "up|status|seed",
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct migrate_config),
};

int main(int argc, char **argv)
{
	struct migrate_config cfg = { 0 };
	struct db_error err = { 0 };
	PGconn *conn = NULL;
	const char *cmd;
	int argi, r, status = EXIT_FAILED;

	r = config_load(&def, &cfg, argc, argv, &argi);
	if (r == 1)
		return EXIT_SUCCESS;
	if (r < 0)
		return EXIT_CONFIG;
	if (argi != argc - 1) {
		fprintf(stderr, "%s: expected one command, up, status or seed (see --help)\n",
			def.prog);
		status = EXIT_CONFIG;
		goto out;
	}
	cmd = argv[argi];
	if (!cfg.migrations_dir && !(cfg.migrations_dir = strdup(DDNS_MIGRATIONS_DIR))) {
		fprintf(stderr, "%s: out of memory\n", def.prog);
		goto out;
	}
	if (strcmp(cmd, "up") != 0 && strcmp(cmd, "status") != 0 && strcmp(cmd, "seed") != 0) {
		fprintf(stderr, "%s: unknown command \"%s\", expected up, status or seed\n",
			def.prog, cmd);
		status = EXIT_CONFIG;
		goto out;
	}

	r = db_connect(cfg.database_url, def.prog, (int)(cfg.connect_timeout_ms / 1000), &conn,
		       &err);
	if (r < 0)
		goto fail;
	if (strcmp(cmd, "up") == 0) {
		r = migrate_up(conn, cfg.migrations_dir, stdout, &err);
	} else if (strcmp(cmd, "status") == 0) {
		r = migrate_status(conn, cfg.migrations_dir, stdout, &err);
	} else {
		struct seed_config seed = {
			.base_zones = cfg.base_zones,
			.zone_ns = cfg.zone_ns,
			.zone_hostmaster = cfg.zone_hostmaster,
			.refresh = cfg.zone_refresh,
			.retry = cfg.zone_retry,
			.expire = cfg.zone_expire,
			.minimum = cfg.zone_minimum,
			.ns_ttl = cfg.zone_ns_ttl,
		};

		r = migrate_seed(conn, &seed, stdout, &err);
	}
	if (r < 0)
		goto fail;
	status = EXIT_SUCCESS;
	goto out;
fail:
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", def.prog, err.msg);
	status = r == -EINVAL && strcmp(cmd, "seed") == 0 ? EXIT_CONFIG : EXIT_FAILED;
out:
	PQfinish(conn);
	config_free(&def, &cfg);
	return status;
}
