/* ddns-admin: the operator's command line for zones, zone files and operator records. */

#include "admin/record.h"
#include "admin/zone.h"
#include "admin/zonefile.h"
#include "shared/config.h"
#include "shared/db.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE  CONFIG_EXIT_INVALID /* 1 */
#define EXIT_FAILED 2
#define ARGS_MAX    8

struct admin_config {
	char *database_url;
	long long connect_timeout_ms;
	char *zone_ns;
	char *zone_hostmaster;
	long long zone_refresh, zone_retry, zone_expire, zone_minimum, zone_ns_ttl;
	long long record_ttl;
};

#define KEY(k) .key = #k, .offset = offsetof(struct admin_config, k)

static const struct config_key keys[] = {
	{ KEY(database_url), .env = "DDNS_DATABASE_URL", .type = CONFIG_STR,
	  .def = "postgresql://postgres@127.0.0.1:5433/ddns", .secret = true,
	  .help = "PostgreSQL URL or key=value connection string" },
	{ .key = "connect_timeout",
	  .offset = offsetof(struct admin_config, connect_timeout_ms),
	  .type = CONFIG_DURATION,
	  .def = "10s",
	  .min = 1000,
	  .max = 300000,
	  .help = "how long to wait for the database" },
	{ KEY(zone_ns), .env = "DDNS_ZONE_NS", .type = CONFIG_STR, .def = "ns1.dyn.test.=127.0.0.1",
	  .check = zone_check_ns,
	  .help = "zone add: nameservers when --ns is not given, NAME[=ADDRESS] comma "
		  "separated; the address becomes glue when the name is inside the zone" },
	{ KEY(zone_hostmaster), .env = "DDNS_ZONE_HOSTMASTER", .type = CONFIG_STR, .def = NULL,
	  .check = zone_check_hostmaster,
	  .help = "zone add: SOA mailbox when --hostmaster is not given "
		  "(hostmaster.example.net. or hostmaster@example.net); unset: "
		  "hostmaster.<zone>" },
	{ KEY(zone_refresh), .env = "DDNS_ZONE_REFRESH", .type = CONFIG_INT, .def = "10800",
	  .min = 60, .max = 2419200, .help = "zone add: SOA refresh, seconds" },
	{ KEY(zone_retry), .env = "DDNS_ZONE_RETRY", .type = CONFIG_INT, .def = "3600", .min = 60,
	  .max = 2419200, .help = "zone add: SOA retry, seconds" },
	{ KEY(zone_expire), .env = "DDNS_ZONE_EXPIRE", .type = CONFIG_INT, .def = "604800",
	  .min = 3600, .max = 31536000, .help = "zone add: SOA expire, seconds" },
	{ KEY(zone_minimum), .env = "DDNS_ZONE_MINIMUM", .type = CONFIG_INT, .def = "60", .min = 60,
	  .max = 86400, .help = "zone add: SOA minimum (negative caching TTL), seconds" },
	{ KEY(zone_ns_ttl), .env = "DDNS_ZONE_NS_TTL", .type = CONFIG_INT, .def = "3600", .min = 60,
	  .max = 86400, .help = "zone add: TTL of the apex NS and glue records, seconds" },
	{ KEY(record_ttl), .type = CONFIG_INT, .def = "300", .min = 60, .max = 86400,
	  .help = "record add: TTL when --ttl is not given, seconds" },
};

static const struct config_def def = {
	.prog = "ddns-admin",
	.env_prefix = "DDNS_ADMIN",
	.summary = "manage the operator's zones, zone files and records\n"
		   "\n"
		   "Commands (their options may come anywhere after the command):\n"
		   "  zone add NAME [--ns NAME[=ADDR],...] [--hostmaster MAILBOX] "
		   "[--kind base|custom]\n"
		   "  zone list\n"
		   "  zone show NAME\n"
		   "  zone remove NAME [--force]       --force: also delete users' domains\n"
		   "  zone import NAME FILE [--replace] the zone must exist; --replace: delete\n"
		   "                                   the operator's records not in FILE\n"
		   "  zone export NAME [--with-domains]\n"
		   "  record add NAME TYPE CONTENT [--ttl N]\n"
		   "  record remove NAME TYPE [CONTENT]\n"
		   "\n"
		   "Exit status: 0 done, 1 usage or configuration error, 2 failure (nothing "
		   "written)",
	.args_usage = "zone|record COMMAND ARGS...",
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct admin_config),
};

/* A command's options, all optional. */
struct opts {
	const char *ns, *hostmaster, *kind, *ttl;
	bool force, replace, with_domains, help;
};

struct cmd {
	const char *noun, *verb;
	int min_args, max_args;
	const char *allowed; /* option names, space separated, each with a trailing space */
};

static const struct cmd cmds[] = {
	{ "zone", "add", 1, 1, "ns hostmaster kind " },
	{ "zone", "list", 0, 0, "" },
	{ "zone", "show", 1, 1, "" },
	{ "zone", "remove", 1, 1, "force " },
	{ "zone", "import", 2, 2, "replace " },
	{ "zone", "export", 1, 1, "with-domains " },
	{ "record", "add", 3, 3, "ttl " },
	{ "record", "remove", 2, 3, "" },
};

static bool allowed(const struct cmd *c, const char *name, size_t len)
{
	for (const char *p = c->allowed; *p;) {
		size_t n = strcspn(p, " ");

		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n + (p[n] == ' ');
	}
	return false;
}

/*
 * Splits argv[argi..] after NOUN VERB into positional arguments and options.
 * Returns 0, or -EINVAL after printing one line.
 */
static int parse_args(const struct cmd *c, int argc, char **argv, int argi, struct opts *o,
		      const char **args, int *ret_n)
{
	int n = 0;
	bool only_args = false;

	for (int i = argi; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *value = NULL;
		size_t len;

		if (only_args || strncmp(a, "--", 2) != 0) {
			if (n == ARGS_MAX || n >= c->max_args) {
				fprintf(stderr,
					"%s: %s %s: unexpected argument \"%s\" (see --help)\n",
					def.prog, c->noun, c->verb, a);
				return -EINVAL;
			}
			args[n++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = true;
			continue;
		}
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (len == 4 && strncmp(name, "help", 4) == 0) {
			o->help = true;
			return 0;
		}
		if (!allowed(c, name, len)) {
			fprintf(stderr, "%s: %s %s: unknown option --%.*s (see --help)\n", def.prog,
				c->noun, c->verb, (int)len, name);
			return -EINVAL;
		}
		if (strncmp(name, "force", len) == 0 || strncmp(name, "replace", len) == 0 ||
		    strncmp(name, "with-domains", len) == 0) {
			if (eq) {
				fprintf(stderr, "%s: option --%.*s takes no value\n", def.prog,
					(int)len, name);
				return -EINVAL;
			}
			if (name[0] == 'f')
				o->force = true;
			else if (name[0] == 'r')
				o->replace = true;
			else
				o->with_domains = true;
			continue;
		}
		if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			fprintf(stderr, "%s: option --%.*s needs a value\n", def.prog, (int)len,
				name);
			return -EINVAL;
		}
		if (name[0] == 'n')
			o->ns = value;
		else if (name[0] == 'h')
			o->hostmaster = value;
		else if (name[0] == 'k')
			o->kind = value;
		else
			o->ttl = value;
	}
	if (n < c->min_args) {
		fprintf(stderr, "%s: %s %s: missing arguments (see --help)\n", def.prog, c->noun,
			c->verb);
		return -EINVAL;
	}
	*ret_n = n;
	return 0;
}

static int parse_ttl(const char *s, long long *ret)
{
	char *end;
	long long v;

	if (!s || !*s || s[0] == '-' || s[0] == '+')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int run(PGconn *conn, const struct admin_config *cfg, const struct cmd *c,
	       const struct opts *o, const char **args, int n, struct db_error *err)
{
	if (strcmp(c->noun, "zone") == 0) {
		if (strcmp(c->verb, "add") == 0) {
			struct zone_params p = {
				.name = args[0],
				.kind = o->kind,
				.ns = o->ns ? o->ns : cfg->zone_ns,
				.hostmaster = o->hostmaster ? o->hostmaster : cfg->zone_hostmaster,
				.refresh = cfg->zone_refresh,
				.retry = cfg->zone_retry,
				.expire = cfg->zone_expire,
				.minimum = cfg->zone_minimum,
				.ns_ttl = cfg->zone_ns_ttl,
			};
			return zone_add(conn, &p, stdout, err);
		}
		if (strcmp(c->verb, "list") == 0)
			return zone_list(conn, stdout, err);
		if (strcmp(c->verb, "show") == 0)
			return zone_show(conn, args[0], stdout, err);
		if (strcmp(c->verb, "remove") == 0)
			return zone_remove(conn, args[0], o->force, stdout, err);
		if (strcmp(c->verb, "import") == 0)
			return zonefile_import(conn, args[0], args[1], o->replace, stdout, err);
		return zonefile_export(conn, args[0], o->with_domains, stdout, err);
	}
	if (strcmp(c->verb, "add") == 0) {
		long long ttl = cfg->record_ttl;

		if (o->ttl && parse_ttl(o->ttl, &ttl) < 0)
			return db_error_set(err, -EINVAL, "invalid --ttl \"%s\": expected seconds",
					    o->ttl);
		return record_add(conn, args[0], args[1], args[2], ttl, stdout, err);
	}
	return record_remove(conn, args[0], args[1], n > 2 ? args[2] : NULL, stdout, err);
}

int main(int argc, char **argv)
{
	struct admin_config cfg = { 0 };
	struct db_error err = { 0 };
	const struct cmd *c = NULL;
	const char *args[ARGS_MAX] = { 0 };
	struct opts o = { 0 };
	PGconn *conn = NULL;
	int argi, r, n = 0, status = EXIT_FAILED;

	r = config_load(&def, &cfg, argc, argv, &argi);
	if (r == 1)
		return EXIT_SUCCESS;
	if (r < 0)
		return EXIT_USAGE;
	if (argi + 2 > argc) {
		fprintf(stderr, "%s: expected a command such as \"zone list\" (see --help)\n",
			def.prog);
		status = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[argi], cmds[i].noun) == 0 &&
		    strcmp(argv[argi + 1], cmds[i].verb) == 0)
			c = &cmds[i];
	if (!c) {
		fprintf(stderr, "%s: unknown command \"%s %s\" (see --help)\n", def.prog,
			argv[argi], argv[argi + 1]);
		status = EXIT_USAGE;
		goto out;
	}
	if (parse_args(c, argc, argv, argi + 2, &o, args, &n) < 0) {
		status = EXIT_USAGE;
		goto out;
	}
	if (o.help) {
		config_print_help(&def, stdout);
		status = EXIT_SUCCESS;
		goto out;
	}

	r = db_connect(cfg.database_url, def.prog, (int)(cfg.connect_timeout_ms / 1000), &conn,
		       &err);
	if (r == 0)
		r = run(conn, &cfg, c, &o, args, n, &err);
	if (r < 0) {
		fflush(stdout);
		fprintf(stderr, "%s: %s\n", def.prog, err.msg);
		status = r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
		goto out;
	}
	status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILED;
out:
	PQfinish(conn);
	config_free(&def, &cfg);
	return status;
}
