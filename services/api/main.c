/* ddns-api: domains and records over REST, with JWT auth on the users' own key pairs. */

#include "services/api/api.h"
#include "services/api/dnsquery.h"
#include "shared/config.h"
#include "shared/daemon.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/netaddr.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct api_config {
	char *database_url;
	char *redis_ratelimit_url, *redis_session_url, *redis_stream_url;
	char *listen;
	char *audience;
	long long max_token_lifetime_ms;
	char *platform_key_file, *platform_kid;
	long long key_cache_ttl_ms, key_cache_negative_ttl_ms;
	long long domain_quota, record_limit;
	char *reserved_names;
	char *trusted_proxies;
	long long user_read_rate, user_read_burst, user_write_rate, user_write_burst;
	long long addr_read_rate, addr_read_burst, addr_write_rate, addr_write_burst;
	long long db_connections, db_timeout_ms;
	long long update_token_limit, nic_change_rate, nic_change_burst, nic_abuse_cooldown_ms;
	char *nic_realm, *nic_blocked_agents;
	char *dns_server;
	long long max_body, request_timeout_ms, max_connections;
	char *log_level, *log_format;
};

#define KEY(k)     .key = #k, .offset = offsetof(struct api_config, k)
#define DKEY(k, f) .key = #k, .offset = offsetof(struct api_config, f)
#define RATE(k, d, h)                                                                     \
	{                                                                                 \
		KEY(k), .type = CONFIG_INT, .def = d, .min = 0, .max = 1000000, .help = h \
	}
#define BURST(k, d, h)                                                                       \
	{                                                                                    \
		KEY(k), .type = CONFIG_INT, .def = d, .min = 1, .max = 1000000000, .help = h \
	}

static const struct config_key keys[] = {
	{ KEY(database_url), .env = "DDNS_DATABASE_URL", .type = CONFIG_STR,
	  .def = "postgresql://postgres@127.0.0.1:5433/ddns", .secret = true,
	  .help = "PostgreSQL URL or key=value connection string" },
	{ KEY(redis_ratelimit_url), .env = "DDNS_REDIS_RATELIMIT_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/2", .secret = true,
	  .help = "Redis holding the rate limit counters (db2)" },
	{ KEY(redis_session_url), .env = "DDNS_REDIS_SESSION_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/3", .secret = true,
	  .help = "Redis holding sessions and revoked token ids (db3)" },
	{ KEY(redis_stream_url), .env = "DDNS_REDIS_STREAM_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/1", .secret = true,
	  .help = "Redis holding the change stream dns:changes and key revocation events (db1)" },
	{ KEY(listen), .env = "DDNS_API_LISTEN", .type = CONFIG_STR, .def = "127.0.0.1:8080",
	  .help = "address and port of the API" },
	{ KEY(audience), .type = CONFIG_STR, .def = "ddns",
	  .help = "the aud claim tokens must carry (names this platform)" },
	{ DKEY(max_token_lifetime, max_token_lifetime_ms), .type = CONFIG_DURATION, .def = "5m",
	  .min = 10000, .max = 86400000, .help = "largest exp - iat of a token" },
	{ KEY(platform_key_file), .type = CONFIG_STR, .def = NULL,
	  .help = "PEM public key that verifies the dashboard's session tokens (unset: none)" },
	{ KEY(platform_kid), .type = CONFIG_STR, .def = "platform",
	  .help = "the kid of the platform key in session tokens" },
	{ DKEY(key_cache_ttl, key_cache_ttl_ms), .type = CONFIG_DURATION, .def = "60s", .min = 0,
	  .max = 3600000,
	  .help = "how long a user's public key is kept in memory (a revoked key works at most "
		  "this long without the revocation event)" },
	{ DKEY(key_cache_negative_ttl, key_cache_negative_ttl_ms), .type = CONFIG_DURATION,
	  .def = "10s", .min = 0, .max = 3600000,
	  .help = "how long an unknown or revoked key id is remembered" },
	{ KEY(domain_quota), .type = CONFIG_INT, .def = "5", .min = 0, .max = 1000000,
	  .help = "domains a user may hold" },
	{ KEY(record_limit), .type = CONFIG_INT, .def = "100", .min = 1, .max = 1000000,
	  .help = "records a domain may hold" },
	{ KEY(reserved_names), .type = CONFIG_STR,
	  .def = "www,ns,ns0,ns1,ns2,ns3,ns4,dns,mail,smtp,imap,pop,pop3,mx,api,admin,"
		 "administrator,root,hostmaster,postmaster,webmaster,abuse,security,support,"
		 "help,status,app,dashboard,login,auth,static,cdn,ftp,autoconfig,autodiscover,"
		 "localhost,wpad,isatap",
	  .help = "labels nobody may claim, comma separated" },
	{ KEY(trusted_proxies), .type = CONFIG_STR, .def = "", .check = netaddr_list_check,
	  .help = "addresses or CIDRs of proxies whose X-Forwarded-For is believed" },
	RATE(user_read_rate, "20", "reads per second per user (0: unlimited)"),
	BURST(user_read_burst, "100", "reads a user may make at once"),
	RATE(user_write_rate, "10", "writes per second per user (0: unlimited)"),
	BURST(user_write_burst, "50", "writes a user may make at once"),
	RATE(addr_read_rate, "50", "reads per second per client address (IPv6: per /64)"),
	BURST(addr_read_burst, "200", "reads a client address may make at once"),
	RATE(addr_write_rate, "20", "writes per second per client address (IPv6: per /64)"),
	BURST(addr_write_burst, "100", "writes a client address may make at once"),
	{ KEY(db_connections), .type = CONFIG_INT, .def = "8", .min = 1, .max = 256,
	  .help = "PostgreSQL connections" },
	{ DKEY(db_timeout, db_timeout_ms), .type = CONFIG_DURATION, .def = "5s", .min = 100,
	  .max = 600000, .help = "deadline of one database statement, waiting included" },
	{ KEY(update_token_limit), .type = CONFIG_INT, .def = "10", .min = 1, .max = 1000,
	  .help = "live update tokens (dyndns2 credentials) a domain may hold" },
	{ KEY(nic_change_rate), .type = CONFIG_INT, .def = "60", .min = 0, .max = 1000000,
	  .help = "dyndns2: changing updates per hour per host (0: unlimited); unchanged ones are "
		  "free" },
	{ KEY(nic_change_burst), .type = CONFIG_INT, .def = "10", .min = 1, .max = 1000000,
	  .help = "dyndns2: changing updates a host may send at once" },
	{ DKEY(nic_abuse_cooldown, nic_abuse_cooldown_ms), .type = CONFIG_DURATION, .def = "10m",
	  .min = 1000, .max = 86400000,
	  .help = "dyndns2: how long a host over its change budget is answered \"abuse\"" },
	{ KEY(nic_realm), .type = CONFIG_STR, .def = "ddns",
	  .help = "dyndns2: the realm of the Basic challenge" },
	{ KEY(nic_blocked_agents), .type = CONFIG_STR, .def = "",
	  .help = "dyndns2: User-Agent substrings answered \"badagent\", comma separated (any "
		  "case)" },
	{ KEY(dns_server), .type = CONFIG_STR, .def = API_DNS_SERVER_DEFAULT,
	  .check = dnsquery_server_check,
	  .help = "PowerDNS that GET /api/v1/domains/{name}/dns asks, as address:port (numeric; "
		  "IPv6 in brackets)" },
	{ KEY(max_body), .type = CONFIG_INT, .def = "65536", .min = 1024, .max = 16777216,
	  .help = "largest request body in bytes" },
	{ DKEY(request_timeout, request_timeout_ms), .type = CONFIG_DURATION, .def = "30s",
	  .min = 1000, .max = 600000, .help = "deadline to receive a request and send its answer" },
	{ KEY(max_connections), .type = CONFIG_INT, .def = "1024", .min = 1, .max = 100000,
	  .help = "open client connections at most" },
	LOG_CONFIG_KEYS(struct api_config),
};

static const struct config_def def = {
	.prog = "ddns-api",
	.env_prefix = "DDNS_API",
	.summary = "domains and records over REST, with JWT auth (--routes lists the routes)",
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct api_config),
};

struct app {
	struct event_base *base;
	struct http_server *http;
	struct api *api;
	struct api_config cfg;
};

static void setup_log(const void *p)
{
	const struct api_config *cfg = p;

	log_setup_text("api", cfg->log_level, cfg->log_format);
}

static bool ready(json_t *checks, void *arg)
{
	struct app *app = arg;

	return api_ready(app->api, checks);
}

int main(int argc, char **argv)
{
	struct app app = { 0 };
	struct metrics_registry *metrics = NULL;
	struct daemon *d = NULL;
	struct api_options o;
	const struct http_route *routes;
	size_t n_routes;
	int argi, r, status = EXIT_FAILURE;

	if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
		api_print_routes(stdout);
		return EXIT_SUCCESS;
	}
	r = config_load(&def, &app.cfg, argc, argv, &argi);
	if (r == 1)
		return EXIT_SUCCESS;
	if (r < 0)
		return CONFIG_EXIT_INVALID;
	setup_log(&app.cfg);

	o = (struct api_options){
		.database_url = app.cfg.database_url,
		.redis_ratelimit_url = app.cfg.redis_ratelimit_url,
		.redis_session_url = app.cfg.redis_session_url,
		.redis_stream_url = app.cfg.redis_stream_url,
		.audience = app.cfg.audience,
		.max_lifetime_s = app.cfg.max_token_lifetime_ms / 1000,
		.platform_key_file = app.cfg.platform_key_file,
		.platform_kid = app.cfg.platform_kid,
		.key_ttl_ms = app.cfg.key_cache_ttl_ms,
		.key_negative_ttl_ms = app.cfg.key_cache_negative_ttl_ms,
		.domain_quota = app.cfg.domain_quota,
		.record_limit = app.cfg.record_limit,
		.reserved_names = app.cfg.reserved_names,
		.trusted_proxies = app.cfg.trusted_proxies,
		.user_read_rate = app.cfg.user_read_rate,
		.user_read_burst = app.cfg.user_read_burst,
		.user_write_rate = app.cfg.user_write_rate,
		.user_write_burst = app.cfg.user_write_burst,
		.addr_read_rate = app.cfg.addr_read_rate,
		.addr_read_burst = app.cfg.addr_read_burst,
		.addr_write_rate = app.cfg.addr_write_rate,
		.addr_write_burst = app.cfg.addr_write_burst,
		.db_connections = app.cfg.db_connections,
		.db_timeout_ms = app.cfg.db_timeout_ms,
		.update_token_limit = app.cfg.update_token_limit,
		.nic_change_rate = app.cfg.nic_change_rate,
		.nic_change_burst = app.cfg.nic_change_burst,
		.nic_abuse_cooldown_ms = app.cfg.nic_abuse_cooldown_ms,
		.nic_realm = app.cfg.nic_realm,
		.nic_blocked_agents = app.cfg.nic_blocked_agents,
		.dns_server = app.cfg.dns_server,
	};

	metrics = metrics_registry_create();
	app.base = event_base_new();
	if (!metrics || !app.base) {
		log_error(NULL, "out of memory");
		goto out;
	}
	app.api = api_create(app.base, &o, metrics);
	if (!app.api) {
		status = CONFIG_EXIT_INVALID;
		goto out;
	}
	routes = api_routes(app.api, &n_routes);
	{
		struct http_server_options hopts = {
			.service = "api",
			.listen = app.cfg.listen,
			.max_body = (size_t)app.cfg.max_body,
			.timeout_ms = (unsigned)app.cfg.request_timeout_ms,
			.max_connections = (unsigned)app.cfg.max_connections,
			.routes = routes,
			.n_routes = n_routes,
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
			.stop_msg = "shutting down",
		};

		if (!(d = daemon_create(app.base, app.http, &dopts)))
			goto out;
	}
	log_info(NULL, "listening on %s", app.cfg.listen);
	event_base_dispatch(app.base);
	log_info(NULL, "stopped");
	status = EXIT_SUCCESS;
out:
	http_server_destroy(app.http);
	api_destroy(app.api);
	daemon_destroy(d);
	daemon_base_free(app.base);
	metrics_registry_destroy(metrics);
	config_free(&def, &app.cfg);
	return status;
}
