#pragma once

/*
 * What every daemon's main loop shares: SIGTERM and SIGINT stop it gracefully
 * (the HTTP server drains, with whatever the daemon drains itself, then the
 * loop exits), SIGHUP reloads the configuration, and the loop's last turns
 * before its base is freed.
 *
 *   d = daemon_create(base, http, &o);     handlers in place (or logged, NULL)
 *   ...start the engine, log "listening on"...
 *   event_base_dispatch(base);             returns once stopped
 *   ...stop the engine, destroy the servers...
 *   daemon_destroy(d);
 *   daemon_base_free(base);
 */

#include <stdbool.h>

struct config_def;
struct event_base;
struct http_server;

/* Called exactly once by a drain that on_stop started, when it has finished. */
typedef void (*daemon_done_fn)(void *done_arg);

struct daemon_options {
	const struct config_def *def; /* borrowed: the table SIGHUP's config_reload reads */
	void *cfg;                    /* borrowed: the running configuration, reloaded in place */
	int argc;                     /* the command line: its flags still win on a reload */
	char **argv;                  /* borrowed */
	/* NULL or: sets logging up from @cfg again after a reload */
	void (*setup_log)(const void *cfg);
	/* NULL or: applies a reloaded @cfg (after setup_log) */
	void (*on_reload)(void *arg);
	/* NULL or: logged on SIGTERM/SIGINT as "signal N: <stop_msg>" */
	const char *stop_msg;
	/*
	 * NULL or: called once, on the first SIGTERM/SIGINT, before the HTTP
	 * server drains. Returns false, or true when it started a drain of its
	 * own that calls @done(@done_arg) once finished: the loop then exits
	 * when both drains have finished.
	 */
	bool (*on_stop)(void *arg, daemon_done_fn done, void *done_arg);
	void *arg;         /* borrowed: passed to on_reload and on_stop */
	unsigned drain_ms; /* deadline of the HTTP server's drain; 0: 5000 */
	/* 0, or the loop exits this long after the signal, drained or not */
	unsigned stop_timeout_ms;
};

struct daemon;

/*
 * Installs the handlers of SIGTERM, SIGINT and SIGHUP on @base (the loop
 * must run for them to act). @base and @http are borrowed and must outlive
 * the daemon; @o is copied (its pointers borrowed). Returns NULL after
 * logging when the signals could not be set up.
 */
struct daemon *daemon_create(struct event_base *base, struct http_server *http,
			     const struct daemon_options *o);
/*
 * Removes the handlers and frees @d. NULL-safe. Destroy @http, and what
 * on_stop drains, first: their drains call back into @d.
 */
void daemon_destroy(struct daemon *d);

/*
 * Runs the last turns of @base's loop (a Redis client frees its hiredis
 * context on the turn after it was destroyed) and frees @base. NULL-safe.
 */
void daemon_base_free(struct event_base *base);
