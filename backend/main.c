/* ddns-backend: the PowerDNS remote-backend daemon. */

#include "backend/lookup.h"
#include "backend/purge.h"
#include "backend/server.h"
#include "backend/stats.h"
#include "shared/config.h"
#include "shared/daemon.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/metrics.h"

#include <errno.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct backend_config {
	char *socket;
	char *socket_mode;
	char *redis_url;
	char *redis_pubsub_url;
	char *database_url;
	char *pdns_api_url;
	char *pdns_api_key;
	char *listen;
	long long request_deadline, redis_timeout, db_timeout;
	long long db_pool_size;
	long long stale_entries, stale_bytes, stale_ttl_cap, stale_max_age;
	long long max_connections, max_line, list_max_records;
	bool mirror;
	long long mirror_max_bytes;
	char *log_level, *log_format;
};

static int check_mode(const char *v, const char **ret_reason)
{
	char *end;
	long m = strtol(v, &end, 8);

	if (!*v || *end || m < 0 || m > 0777) {
		*ret_reason = "expected an octal file mode such as 0660 or 0666";
		return -EINVAL;
	}
	return 0;
}

#define KEY(k) .key = #k, .offset = offsetof(struct backend_config, k)

static const struct config_key keys[] = {
	{ KEY(socket), .type = CONFIG_STR, .def = "/run/ddns/backend.sock",
	  .help = "unix socket PowerDNS connects to (remote-connection-string=unix:path=...); "
		  "a stale socket file is removed at start" },
	{ KEY(socket_mode), .type = CONFIG_STR, .def = "0660", .check = check_mode,
	  .help = "file mode of the socket: 0660 (pdns in the group) or 0666" },
	{ KEY(redis_url), .env = "DDNS_REDIS_DNS_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/0", .secret = true,
	  .help = "Redis holding the DNS replica (db0)" },
	{ KEY(redis_pubsub_url), .env = "DDNS_REDIS_STREAM_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/1", .secret = true,
	  .help = "Redis carrying the purge notices (db1)" },
	{ KEY(database_url), .env = "DDNS_DATABASE_URL", .type = CONFIG_STR,
	  .def = "postgresql://postgres@127.0.0.1:5433/ddns", .secret = true,
	  .help = "PostgreSQL URL or key=value string: the fallback when the replica cannot "
		  "answer" },
	{ KEY(pdns_api_url), .env = "DDNS_PDNS_API_URL", .type = CONFIG_STR,
	  .def = "http://127.0.0.1:8082",
	  .help = "PowerDNS HTTP API for cache flushes; empty: no flushes" },
	{ KEY(pdns_api_key), .env = "DDNS_PDNS_API_KEY", .type = CONFIG_STR, .def = NULL,
	  .secret = true, .help = "X-API-Key of the PowerDNS HTTP API; unset: no flushes" },
	{ KEY(listen), .env = "DDNS_BACKEND_LISTEN", .type = CONFIG_STR, .def = "127.0.0.1:9101",
	  .help = "address of /healthz, /readyz and /metrics" },
	{ KEY(request_deadline), .type = CONFIG_DURATION, .def = "1500ms", .min = 50, .max = 1900,
	  .reloadable = true,
	  .help = "deadline of one request, below pdns's 2 s timeout; then SERVFAIL (or a stale "
		  "answer)" },
	{ KEY(redis_timeout), .type = CONFIG_DURATION, .def = "300ms", .min = 10, .max = 1900,
	  .help = "timeout of one Redis lookup before falling back to PostgreSQL" },
	{ KEY(db_timeout), .type = CONFIG_DURATION, .def = "1000ms", .min = 10, .max = 1900,
	  .help = "timeout of one PostgreSQL query" },
	{ KEY(db_pool_size), .type = CONFIG_INT, .def = "4", .min = 1, .max = 64,
	  .help = "PostgreSQL connections" },
	{ KEY(stale_entries), .type = CONFIG_INT, .def = "100000", .min = 1, .max = 10000000,
	  .help = "serve-stale store: most names kept" },
	{ KEY(stale_bytes), .type = CONFIG_INT, .def = "33554432", .min = 65536,
	  .max = 4294967296LL, .help = "serve-stale store: most bytes kept" },
	{ KEY(stale_ttl_cap), .type = CONFIG_INT, .def = "30", .min = 1, .max = 3600,
	  .reloadable = true, .help = "largest TTL (seconds) of an answer served stale" },
	{ KEY(stale_max_age), .type = CONFIG_DURATION, .def = "1h", .min = 0, .max = 604800000,
	  .help = "oldest answer served stale; 0: no limit" },
	{ KEY(max_connections), .type = CONFIG_INT, .def = "256", .min = 1, .max = 65536,
	  .help = "open remote-backend connections; more are closed at once" },
	{ KEY(max_line), .type = CONFIG_INT, .def = "65536", .min = 1024, .max = 16777216,
	  .help = "longest request line (bytes); longer: an error and the connection closed" },
	{ KEY(list_max_records), .type = CONFIG_INT, .def = "5000", .min = 1, .max = 100000,
	  .help = "largest zone served by list (AXFR): pdns re-parses long replies, 20000 "
		  "records take longer than its timeout" },
	{ KEY(mirror), .type = CONFIG_BOOL, .def = "true",
	  .help = "answer lookups from an in-memory mirror of the replica, kept current by the "
		  "name notices of ddns-cache (no Redis round trip)" },
	{ KEY(mirror_max_bytes), .type = CONFIG_INT, .def = "268435456", .min = 65536,
	  .max = 68719476736LL,
	  .help = "largest mirror (names, answers, bookkeeping); a larger replica is answered "
		  "from Redis" },
	LOG_CONFIG_KEYS(struct backend_config),
};

static const struct config_def def = {
	.prog = "ddns-backend",
	.env_prefix = "DDNS_BACKEND",
	.summary = "the PowerDNS remote backend: answers from the Redis replica, PostgreSQL "
		   "as fallback",
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct backend_config),
};

struct app {
	struct backend_config cfg;
	struct event_base *base;
	struct metrics_registry *metrics;
	struct backend_stats stats;
	struct lookup *lookup;
	struct purge *purge;
	struct server *server;
	struct http_server *http;
	struct daemon *daemon;
};

static void setup_logging(const void *p)
{
	const struct backend_config *cfg = p;

	log_setup_text("backend", cfg->log_level, cfg->log_format);
}

static bool ready(json_t *checks, void *arg)
{
	struct app *app = arg;

	return lookup_ready(app->lookup, checks);
}

static bool stop(void *arg, daemon_done_fn done, void *done_arg)
{
	struct app *app = arg;

	server_shutdown(app->server, done, done_arg);
	return true;
}

static void reloaded(void *arg)
{
	struct app *app = arg;

	server_set_deadline(app->server, app->cfg.request_deadline);
	lookup_set_stale_ttl_cap(app->lookup, app->cfg.stale_ttl_cap);
}

static const char *empty_null(const char *s)
{
	return s && *s ? s : NULL;
}

int main(int argc, char **argv)
{
	struct app app = { 0 };
	int argi, r, status = EXIT_FAILURE;

	r = config_load(&def, &app.cfg, argc, argv, &argi);
	if (r == 1)
		return EXIT_SUCCESS;
	if (r < 0)
		return CONFIG_EXIT_INVALID;
	setup_logging(&app.cfg);

	if (!(app.base = event_base_new()) || !(app.metrics = metrics_registry_create())) {
		log_error(NULL, "out of memory");
		goto out;
	}
	backend_stats_init(&app.stats, app.metrics);

	{
		struct lookup_config lc = {
			.redis_url = empty_null(app.cfg.redis_url),
			.database_url = empty_null(app.cfg.database_url),
			.redis_timeout_ms = app.cfg.redis_timeout,
			.db_timeout_ms = app.cfg.db_timeout,
			.db_pool_size = (unsigned)app.cfg.db_pool_size,
			.stale_entries = (size_t)app.cfg.stale_entries,
			.stale_bytes = (size_t)app.cfg.stale_bytes,
			.mirror = app.cfg.mirror,
			.mirror_max_bytes = (size_t)app.cfg.mirror_max_bytes,
			.stale_ttl_cap = app.cfg.stale_ttl_cap,
			.stale_max_age_ms = app.cfg.stale_max_age,
			.list_max_records = (size_t)app.cfg.list_max_records,
		};

		r = lookup_create(app.base, &lc, &app.stats, &app.lookup);
		if (r < 0) {
			log_error(NULL, "could not set up the stores: %s", strerror(-r));
			goto out;
		}
	}
	{
		struct purge_config pc = {
			.redis_url = empty_null(app.cfg.redis_pubsub_url),
			.api_url = empty_null(app.cfg.pdns_api_url),
			.api_key = empty_null(app.cfg.pdns_api_key),
		};

		r = purge_create(app.base, &pc, app.lookup, &app.stats, &app.purge);
		if (r < 0) {
			log_error(NULL, "could not set up purge notices: %s", strerror(-r));
			goto out;
		}
	}
	{
		struct http_server_options ho = {
			.service = "backend",
			.listen = app.cfg.listen,
			.metrics = app.metrics,
			.ready = ready,
			.ready_arg = &app,
		};

		r = http_server_create(app.base, &ho, &app.http);
		if (r < 0) {
			log_error(NULL, "could not listen on %s: %s", app.cfg.listen, strerror(-r));
			goto out;
		}
	}
	{
		struct server_opts so = {
			.socket_path = app.cfg.socket,
			.socket_mode = (unsigned)strtoul(app.cfg.socket_mode, NULL, 8),
			.max_line = (size_t)app.cfg.max_line,
			.max_connections = (unsigned)app.cfg.max_connections,
			.deadline_ms = app.cfg.request_deadline,
			.ops = &lookup_source_ops,
			.ctx = app.lookup,
			.stats = &app.stats,
		};

		r = server_create(app.base, &so, &app.server);
		if (r < 0) {
			log_error(NULL, "could not listen on \"%s\": %s%s", app.cfg.socket,
				  strerror(-r),
				  r == -EADDRINUSE ? " (another ddns-backend is running there)"
						   : "");
			goto out;
		}
	}
	{
		struct daemon_options dopts = {
			.def = &def,
			.cfg = &app.cfg,
			.argc = argc,
			.argv = argv,
			.setup_log = setup_logging,
			.on_reload = reloaded,
			.on_stop = stop,
			.arg = &app,
			.drain_ms = 1000,
			.stop_timeout_ms = 3000,
		};

		if (!(app.daemon = daemon_create(app.base, app.http, &dopts)))
			goto out;
	}
	log_info(NULL, "listening on \"%s\", health on %s", app.cfg.socket, app.cfg.listen);
	event_base_dispatch(app.base);
	log_info(NULL, "stopped");
	status = EXIT_SUCCESS;
out:
	server_destroy(app.server);
	http_server_destroy(app.http);
	purge_destroy(app.purge);
	lookup_destroy(app.lookup);
	daemon_destroy(app.daemon);
	daemon_base_free(app.base);
	metrics_registry_destroy(app.metrics);
	config_free(&def, &app.cfg);
	return status;
}
