/* ddns-user: accounts, sessions, session tokens and public keys. */

#include "services/user/user.h"
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

struct user_config {
	char *database_url;
	char *redis_ratelimit_url, *redis_session_url, *redis_stream_url;
	char *listen;
	char *audience;
	char *platform_key_file, *platform_kid;
	long long token_lifetime_ms, session_idle_ms, session_lifetime_ms;
	bool cookie_secure;
	long long email_token_ttl_ms;
	long long pwhash_opslimit, pwhash_memlimit;
	long long hash_threads, hash_queue;
	long long key_limit;
	char *trusted_proxies;
	long long addr_rate, addr_burst, signup_rate, signup_burst;
	long long login_addr_rate, login_addr_burst, login_account_rate, login_account_burst;
	long long mail_addr_rate, mail_addr_burst, mail_email_rate, mail_email_burst;
	long long db_connections, db_timeout_ms;
	long long max_body, request_timeout_ms, max_connections;
	char *log_level, *log_format;
};

#define KEY(k)     .key = #k, .offset = offsetof(struct user_config, k)
#define DKEY(k, f) .key = #k, .offset = offsetof(struct user_config, f)
#define INT(k, d, lo, hi, h)                                                          \
	{                                                                             \
		KEY(k), .type = CONFIG_INT, .def = d, .min = lo, .max = hi, .help = h \
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
	  .help = "Redis holding the sessions (db3)" },
	{ KEY(redis_stream_url), .env = "DDNS_REDIS_STREAM_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/1", .secret = true,
	  .help = "Redis holding the streams jobs and dns:changes and the key revocation "
		  "channel (db1)" },
	{ KEY(listen), .env = "DDNS_USER_LISTEN", .type = CONFIG_STR, .def = "127.0.0.1:8081",
	  .help = "address and port of the service" },
	{ KEY(audience), .type = CONFIG_STR, .def = "ddns",
	  .help = "the aud claim of session tokens (ddns-api's audience)" },
	{ KEY(platform_key_file), .type = CONFIG_STR, .def = NULL,
	  .help = "PEM private key (EC P-256: tokens are ES256) that signs session tokens; "
		  "ddns-api verifies them with its public half" },
	{ KEY(platform_kid), .type = CONFIG_STR, .def = "platform",
	  .help = "the kid of the platform key in session tokens" },
	{ DKEY(token_lifetime, token_lifetime_ms), .type = CONFIG_DURATION, .def = "5m",
	  .min = 10000, .max = 300000,
	  .help = "lifetime of a session token for ddns-api (at most 5m: ddns-api's maximum)" },
	{ DKEY(session_idle_timeout, session_idle_ms), .type = CONFIG_DURATION, .def = "12h",
	  .min = 60000, .max = 2592000000LL, .help = "a session unused this long ends" },
	{ DKEY(session_lifetime, session_lifetime_ms), .type = CONFIG_DURATION, .def = "168h",
	  .min = 60000, .max = 7776000000LL, .help = "a session ends this long after login" },
	{ KEY(cookie_secure), .type = CONFIG_BOOL, .def = "false",
	  .help = "mark the session cookie Secure (set it whenever the dashboard is served "
		  "over HTTPS)" },
	{ DKEY(email_token_ttl, email_token_ttl_ms), .type = CONFIG_DURATION, .def = "24h",
	  .min = 60000, .max = 604800000, .help = "how long a verification or reset link works" },
	INT(pwhash_opslimit, "4", 1, 100,
	    "argon2id passes (4 with 64 MiB: about 90 ms on one core of the reference machine)"),
	INT(pwhash_memlimit, "67108864", 8192, 4294967296LL, "argon2id memory in bytes"),
	INT(hash_threads, "2", 1, 64, "threads that hash and verify passwords"),
	INT(hash_queue, "64", 1, 100000,
	    "password jobs waiting at most; more are answered 503 busy"),
	INT(key_limit, "10", 1, 1000, "public keys a user may hold"),
	{ KEY(trusted_proxies), .type = CONFIG_STR, .def = "", .check = netaddr_list_check,
	  .help = "addresses or CIDRs of proxies whose X-Forwarded-For is believed" },
	INT(addr_rate, "10", 0, 1000000, "requests per second per client address (0: unlimited)"),
	INT(addr_burst, "50", 1, 1000000, "requests a client address may make at once"),
	INT(signup_rate, "10", 0, 1000000, "sign-ups per hour per client address"),
	INT(signup_burst, "5", 1, 1000000, "sign-ups a client address may make at once"),
	INT(login_addr_rate, "60", 0, 1000000, "login attempts per hour per client address"),
	INT(login_addr_burst, "20", 1, 1000000, "login attempts of an address at once"),
	INT(login_account_rate, "20", 0, 1000000, "login attempts per hour per email"),
	INT(login_account_burst, "10", 1, 1000000, "login attempts for one email at once"),
	INT(mail_addr_rate, "10", 0, 1000000,
	    "verification resends and password resets per hour per client address"),
	INT(mail_addr_burst, "5", 1, 1000000, "such requests of an address at once"),
	INT(mail_email_rate, "3", 0, 1000000,
	    "verification resends and password resets per hour per email"),
	INT(mail_email_burst, "3", 1, 1000000, "such requests for one email at once"),
	INT(db_connections, "4", 1, 256, "PostgreSQL connections"),
	{ DKEY(db_timeout, db_timeout_ms), .type = CONFIG_DURATION, .def = "5s", .min = 100,
	  .max = 600000, .help = "deadline of one database statement, waiting included" },
	INT(max_body, "16384", 1024, 1048576, "largest request body in bytes"),
	{ DKEY(request_timeout, request_timeout_ms), .type = CONFIG_DURATION, .def = "30s",
	  .min = 1000, .max = 600000, .help = "deadline to receive a request and send its answer" },
	INT(max_connections, "1024", 1, 100000, "open client connections at most"),
	LOG_CONFIG_KEYS(struct user_config),
};

static const struct config_def def = {
	.prog = "ddns-user",
	.env_prefix = "DDNS_USER",
	.summary = "accounts, sessions and public keys (--routes lists the routes)",
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct user_config),
};

struct app {
	struct event_base *base;
	struct http_server *http;
	struct user_service *user;
	struct user_config cfg;
};

static void setup_log(const void *p)
{
	const struct user_config *cfg = p;

	log_setup_text("user", cfg->log_level, cfg->log_format);
}

static bool ready(json_t *checks, void *arg)
{
	struct app *app = arg;

	return user_ready(app->user, checks);
}

int main(int argc, char **argv)
{
	struct app app = { 0 };
	struct metrics_registry *metrics = NULL;
	struct daemon *d = NULL;
	struct user_options o;
	const struct http_route *routes;
	size_t n_routes;
	int argi, r, status = EXIT_FAILURE;

	if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
		user_print_routes(stdout);
		return EXIT_SUCCESS;
	}
	r = config_load(&def, &app.cfg, argc, argv, &argi);
	if (r == 1)
		return EXIT_SUCCESS;
	if (r < 0)
		return CONFIG_EXIT_INVALID;
	setup_log(&app.cfg);

	o = (struct user_options){
		.database_url = app.cfg.database_url,
		.redis_ratelimit_url = app.cfg.redis_ratelimit_url,
		.redis_session_url = app.cfg.redis_session_url,
		.redis_stream_url = app.cfg.redis_stream_url,
		.audience = app.cfg.audience,
		.platform_key_file = app.cfg.platform_key_file,
		.platform_kid = app.cfg.platform_kid,
		.token_lifetime_s = app.cfg.token_lifetime_ms / 1000,
		.session_idle_ms = app.cfg.session_idle_ms,
		.session_lifetime_ms = app.cfg.session_lifetime_ms,
		.cookie_secure = app.cfg.cookie_secure,
		.email_token_ttl_s = app.cfg.email_token_ttl_ms / 1000,
		.pwhash_opslimit = (unsigned long long)app.cfg.pwhash_opslimit,
		.pwhash_memlimit = (unsigned long long)app.cfg.pwhash_memlimit,
		.hash_threads = app.cfg.hash_threads,
		.hash_queue = app.cfg.hash_queue,
		.key_limit = app.cfg.key_limit,
		.trusted_proxies = app.cfg.trusted_proxies,
		.addr_rate = app.cfg.addr_rate,
		.addr_burst = app.cfg.addr_burst,
		.signup_rate = app.cfg.signup_rate,
		.signup_burst = app.cfg.signup_burst,
		.login_addr_rate = app.cfg.login_addr_rate,
		.login_addr_burst = app.cfg.login_addr_burst,
		.login_account_rate = app.cfg.login_account_rate,
		.login_account_burst = app.cfg.login_account_burst,
		.mail_addr_rate = app.cfg.mail_addr_rate,
		.mail_addr_burst = app.cfg.mail_addr_burst,
		.mail_email_rate = app.cfg.mail_email_rate,
		.mail_email_burst = app.cfg.mail_email_burst,
		.db_connections = app.cfg.db_connections,
		.db_timeout_ms = app.cfg.db_timeout_ms,
	};

	metrics = metrics_registry_create();
	app.base = event_base_new();
	if (!metrics || !app.base) {
		log_error(NULL, "out of memory");
		goto out;
	}
	app.user = user_create(app.base, &o, metrics);
	if (!app.user) {
		status = CONFIG_EXIT_INVALID;
		goto out;
	}
	routes = user_routes(app.user, &n_routes);
	{
		struct http_server_options hopts = {
			.service = "user",
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
	user_destroy(app.user);
	daemon_destroy(d);
	daemon_base_free(app.base);
	metrics_registry_destroy(metrics);
	config_free(&def, &app.cfg);
	return status;
}
