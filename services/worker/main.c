/* ddns-worker: background jobs from the Redis stream `jobs`; for now, emails. */

#include "services/worker/message.h"
#include "services/worker/monitor.h"
#include "services/worker/transport.h"
#include "services/worker/worker.h"
#include "shared/config.h"
#include "shared/daemon.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/metrics.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker_config {
	char *redis_stream_url;
	char *listen;
	char *consumer;
	char *public_base_url;
	char *mail_transport, *mail_from, *mail_dir;
	char *smtp_url, *smtp_username, *smtp_password;
	bool smtp_starttls;
	long long send_timeout_ms, claim_idle_ms, retry_base_ms, retry_max_ms, max_attempts;
	char *crash_after;
	char *log_level, *log_format;
};

#define KEY(k)     .key = #k, .offset = offsetof(struct worker_config, k)
#define DKEY(k, f) .key = #k, .offset = offsetof(struct worker_config, f)

static const struct config_key keys[] = {
	{ KEY(redis_stream_url), .env = "DDNS_REDIS_STREAM_URL", .type = CONFIG_STR,
	  .def = "redis://127.0.0.1:6380/1", .secret = true,
	  .help = "Redis holding the job stream `jobs`, jobs:sent, jobs:attempts and jobs:dead "
		  "(db1)" },
	{ KEY(listen), .type = CONFIG_STR, .def = "127.0.0.1:9103",
	  .help = "address and port of /healthz, /readyz and /metrics" },
	{ KEY(consumer), .type = CONFIG_STR, .def = NULL,
	  .help = "consumer name in the group `worker`; unset: host-pid" },
	{ KEY(public_base_url), .type = CONFIG_STR, .def = "http://127.0.0.1:3000",
	  .check = message_base_url_check,
	  .help = "the dashboard's address: links are <url>/verify?token=... and "
		  "<url>/reset-password?token=..." },
	{ KEY(mail_transport), .type = CONFIG_STR, .def = "file", .check = transport_kind_check,
	  .help = "file (local development: .eml files in mail_dir, and the link in the log at "
		  "info level: the one place a token is logged), smtp, or ses (Amazon SES v2; "
		  "AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, "
		  "AWS_ENDPOINT_URL_SES from the environment)" },
	{ KEY(mail_from), .type = CONFIG_STR, .def = "ddns <noreply@localhost>",
	  .check = message_from_check, .help = "sender: \"address\" or \"Name <address>\"" },
	{ KEY(mail_dir), .type = CONFIG_STR, .def = ".run/mail",
	  .help = "file transport: folder of the .eml files (<unix ms>-<job id>.eml), made "
		  "with mode 0700" },
	{ KEY(smtp_url), .type = CONFIG_STR, .def = NULL,
	  .help = "smtp transport: smtp://host:587 (STARTTLS) or smtps://host:465" },
	{ KEY(smtp_username), .type = CONFIG_STR, .def = NULL,
	  .help = "smtp transport: login (unset: no AUTH)" },
	{ KEY(smtp_password), .type = CONFIG_STR, .def = NULL, .secret = true,
	  .help = "smtp transport: password" },
	{ KEY(smtp_starttls), .type = CONFIG_BOOL, .def = "true",
	  .help = "smtp transport: require STARTTLS on smtp:// (false: plain text, for a local "
		  "relay only)" },
	{ DKEY(send_timeout, send_timeout_ms), .type = CONFIG_DURATION, .def = "30s", .min = 100,
	  .max = 600000, .help = "deadline of one send, connecting included" },
	{ DKEY(claim_idle, claim_idle_ms), .type = CONFIG_DURATION, .def = "60s", .min = 100,
	  .max = 86400000,
	  .help = "re-claim jobs another consumer left pending longer than this (it died); above "
		  "send_timeout" },
	{ DKEY(retry_base, retry_base_ms), .type = CONFIG_DURATION, .def = "1s", .min = 1,
	  .max = 3600000,
	  .help = "first retry delay cap; attempt n waits a random time up to base * 2^(n-1)" },
	{ DKEY(retry_max, retry_max_ms), .type = CONFIG_DURATION, .def = "5m", .min = 1,
	  .max = 86400000, .help = "largest retry delay cap" },
	{ KEY(max_attempts), .type = CONFIG_INT, .def = "8", .min = 1, .max = 1000,
	  .help = "send attempts of a job (restarts included) before it is dead-lettered" },
	{ KEY(crash_after), .type = CONFIG_STR, .def = "none", .check = worker_crash_check,
	  .help = "testing only: none, receive or send: exit(1) right after receiving a job, or "
		  "after sending it and recording it as sent (before XACK)" },
	LOG_CONFIG_KEYS(struct worker_config),
};

static const struct config_def def = {
	.prog = "ddns-worker",
	.env_prefix = "DDNS_WORKER",
	.summary = "background jobs from the Redis stream `jobs`: verification and password "
		   "emails",
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct worker_config),
};

struct app {
	struct event_base *base;
	struct http_server *http;
	struct monitor *monitor;
	struct worker *worker;
	struct worker_config cfg;
};

static void setup_log(const void *p)
{
	const struct worker_config *cfg = p;

	log_setup_text("worker", cfg->log_level, cfg->log_format);
}

static bool ready(json_t *checks, void *arg)
{
	struct app *app = arg;

	return monitor_ready(app->monitor, checks);
}

static bool stop(void *arg, daemon_done_fn done, void *done_arg)
{
	struct app *app = arg;

	worker_request_stop(app->worker);
	return false;
}

int main(int argc, char **argv)
{
	struct app app = { 0 };
	struct metrics_registry *metrics = NULL;
	struct daemon *d = NULL;
	struct worker_options o;
	int argi, r, status = EXIT_FAILURE;
	bool curl_ok = false;

	r = config_load(&def, &app.cfg, argc, argv, &argi);
	if (r == 1)
		return EXIT_SUCCESS;
	if (r < 0)
		return CONFIG_EXIT_INVALID;
	setup_log(&app.cfg);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error(NULL, "could not initialise libcurl");
		goto out;
	}
	curl_ok = true;

	o = (struct worker_options){
		.redis_url = app.cfg.redis_stream_url,
		.consumer = app.cfg.consumer,
		.public_base_url = app.cfg.public_base_url,
		.mail_from = app.cfg.mail_from,
		.transport = {
			.timeout_ms = app.cfg.send_timeout_ms,
			.mail_dir = app.cfg.mail_dir,
			.smtp_url = app.cfg.smtp_url,
			.smtp_username = app.cfg.smtp_username,
			.smtp_password = app.cfg.smtp_password,
			.smtp_starttls = app.cfg.smtp_starttls,
		},
		.claim_idle_ms = app.cfg.claim_idle_ms,
		.retry_base_ms = app.cfg.retry_base_ms,
		.retry_max_ms = app.cfg.retry_max_ms,
		.max_attempts = app.cfg.max_attempts,
	};
	/* both checked by the config table */
	transport_kind_parse(app.cfg.mail_transport, &o.transport.kind);
	worker_crash_parse(app.cfg.crash_after, &o.crash_after);

	metrics = metrics_registry_create();
	app.base = event_base_new();
	if (!metrics || !app.base) {
		log_error(NULL, "out of memory");
		goto out;
	}
	app.worker = worker_create(&o, metrics);
	app.monitor =
		app.worker ? monitor_create(app.base, app.cfg.redis_stream_url, metrics) : NULL;
	if (!app.worker || !app.monitor) {
		status = CONFIG_EXIT_INVALID;
		goto out;
	}
	{
		struct http_server_options hopts = {
			.service = "worker",
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
			.stop_msg = "shutting down after the job in hand",
			.on_stop = stop,
			.arg = &app,
		};

		if (!(d = daemon_create(app.base, app.http, &dopts)))
			goto out;
	}
	r = worker_start(app.worker);
	if (r < 0) {
		log_error(NULL, "could not start the engine: %s", strerror(-r));
		goto out;
	}
	log_info(NULL, "listening on %s", app.cfg.listen);
	event_base_dispatch(app.base);
	worker_stop(app.worker);
	log_info(NULL, "stopped");
	status = EXIT_SUCCESS;
out:
	worker_destroy(app.worker);
	http_server_destroy(app.http);
	monitor_destroy(app.monitor);
	daemon_destroy(d);
	daemon_base_free(app.base);
	metrics_registry_destroy(metrics);
	if (curl_ok)
		curl_global_cleanup();
	config_free(&def, &app.cfg);
	return status;
}
