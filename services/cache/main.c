/* ddns-cache: keeps the Redis replica of the DNS data complete and current. */

#include "services/cache/cache.h"
#include "shared/config.h"
#include "shared/daemon.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/metrics.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cache_config {
	char *database_url;
	char *redis_url;
	char *redis_stream_url;
	char *listen;
	char *consumer;
	long long batch_size;
	long long poll_interval_ms, claim_idle_ms, grace_period_ms, max_lag_ms;
	char *log_level;
	char *log_format;
};

#define KEY(k)     .key = #k, .offset = offsetof(struct cache_config, k)
#define DKEY(k, f) .key = #k, .offset = offsetof(struct cache_config, f)

static const struct config_key keys[] = {
	{ KEY(database_url), .env = "DDNS_DATABASE_URL", .type = CONFIG_STR,
	  .def = "postgresql://postgres@127.0.0.1:5433/ddns", .secret = true,
	  .help = "PostgreSQL URL or key=value connection string" },
	{ KEY(redis_url), .env = "DDNS_REDIS_DNS_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/0", .secret = true,
	  .help = "Redis holding the DNS replica (db0)" },
	{ KEY(redis_stream_url), .env = "DDNS_REDIS_STREAM_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/1", .secret = true,
	  .help = "Redis holding the change stream dns:changes and the purge channel (db1)" },
	{ KEY(listen), .env = "DDNS_CACHE_LISTEN", .type = CONFIG_STR, .def = "127.0.0.1:9104",
	  .help = "address and port of /healthz, /readyz and /metrics" },
	{ KEY(consumer), .type = CONFIG_STR, .def = NULL,
	  .help = "consumer name in the stream's group; unset: host-pid" },
	{ KEY(batch_size), .type = CONFIG_INT, .def = "5000", .min = 1, .max = 100000,
	  .reloadable = true,
	  .help = "names per load batch and change-log rows per catch-up batch" },
	{ DKEY(poll_interval, poll_interval_ms), .type = CONFIG_DURATION, .def = "1s", .min = 10,
	  .max = 3600000, .reloadable = true, .help = "how often the change log is read" },
	{ DKEY(claim_idle, claim_idle_ms), .type = CONFIG_DURATION, .def = "30s", .min = 100,
	  .max = 86400000, .reloadable = true,
	  .help = "re-claim stream entries pending longer than this (dead consumers)" },
	{ DKEY(grace_period, grace_period_ms), .type = CONFIG_DURATION, .def = "30s", .min = 0,
	  .max = 86400000, .reloadable = true,
	  .help = "how long a replaced generation stays readable" },
	{ DKEY(max_lag, max_lag_ms), .type = CONFIG_DURATION, .def = "10s", .min = 100,
	  .max = 86400000, .reloadable = true,
	  .help = "readiness: the oldest unapplied change may be this old" },
	LOG_CONFIG_KEYS(struct cache_config),
};

static const struct config_def def = {
	.prog = "ddns-cache",
	.env_prefix = "DDNS_CACHE",
	.summary = "keep the Redis replica of the DNS data complete and current",
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct cache_config),
};

struct app {
	struct event_base *base;
	struct http_server *http;
	struct cache *cache;
	struct cache_config cfg;
};

static void setup_log(const void *p)
{
	const struct cache_config *cfg = p;

	log_setup_text("cache", cfg->log_level, cfg->log_format);
}

static void fill_options(const struct cache_config *cfg, struct cache_options *o)
{
	*o = (struct cache_options){
		.database_url = cfg->database_url,
		.redis_url = cfg->redis_url,
		.redis_stream_url = cfg->redis_stream_url,
		.consumer = cfg->consumer,
		.batch_size = cfg->batch_size,
		.poll_interval_ms = cfg->poll_interval_ms,
		.claim_idle_ms = cfg->claim_idle_ms,
		.grace_period_ms = cfg->grace_period_ms,
		.max_lag_ms = cfg->max_lag_ms,
	};
}

static bool ready(json_t *checks, void *arg)
{
	struct app *app = arg;

	return cache_ready(app->cache, checks);
}

static void reloaded(void *arg)
{
	struct app *app = arg;
	struct cache_options o;

	fill_options(&app->cfg, &o);
	cache_set_params(app->cache, &o);
}

int main(int argc, char **argv)
{
	struct app app = { 0 };
	struct metrics_registry *metrics = NULL;
	struct daemon *d = NULL;
	struct cache_options o;
	int argi, r, status = EXIT_FAILURE;

	r = config_load(&def, &app.cfg, argc, argv, &argi);
	if (r == 1)
		return EXIT_SUCCESS;
	if (r < 0)
		return CONFIG_EXIT_INVALID;
	setup_log(&app.cfg);

	metrics = metrics_registry_create();
	app.base = event_base_new();
	if (!metrics || !app.base) {
		log_error(NULL, "out of memory");
		goto out;
	}
	fill_options(&app.cfg, &o);
	app.cache = cache_create(&o, metrics);
	if (!app.cache) {
		status = CONFIG_EXIT_INVALID;
		goto out;
	}
	{
		struct http_server_options hopts = {
			.service = "cache",
			.listen = app.cfg.listen,
			.metrics = metrics,
			.ready = ready,
			.ready_arg = &app,
		};

		r = http_server_create(app.base, &hopts, &app.http);
		if (r < 0) {
			log_error(NULL, "could not listen on \"%s\": %s", app.cfg.listen,
				  strerror(-r));
			goto out;
		}
	}
	{
		struct daemon_options dopts = {
			.def = &def,
			.cfg = &app.cfg,
			.argc = argc,
			.argv = argv,
			.setup_log = setup_log,
			.on_reload = reloaded,
			.stop_msg = "shutting down",
			.arg = &app,
		};

		if (!(d = daemon_create(app.base, app.http, &dopts)))
			goto out;
	}
	r = cache_start(app.cache);
	if (r < 0) {
		log_error(NULL, "could not start the engine: %s", strerror(-r));
		goto out;
	}
	log_info(NULL, "listening on %s", app.cfg.listen);
	event_base_dispatch(app.base);
	cache_stop(app.cache);
	log_info(NULL, "stopped");
	status = EXIT_SUCCESS;
out:
	cache_destroy(app.cache);
	http_server_destroy(app.http);
	daemon_destroy(d);
	daemon_base_free(app.base);
	metrics_registry_destroy(metrics);
	config_free(&def, &app.cfg);
	return status;
}
