#include "shared/daemon.h"

#include "shared/config.h"
#include "shared/http.h"
#include "shared/log.h"

#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>

struct daemon {
	struct event_base *base;      /* borrowed */
	struct http_server *http;     /* borrowed */
	struct daemon_options o;      /* its pointers borrowed */
	struct http_signals *signals; /* owned: SIGTERM and SIGINT */
	struct event *hup;            /* owned */
	struct event *stop_timer;     /* owned: NULL until a stop with stop_timeout_ms */
	unsigned pending;             /* drains of the stop not finished yet */
};

static void drain_done(void *arg)
{
	struct daemon *d = arg;

	if (d->pending > 0 && --d->pending == 0)
		event_base_loopexit(d->base, NULL);
}

static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	log_warn(NULL, "shutdown took too long, closing what is left");
	event_base_loopexit(d->base, NULL);
}

/* Called once: http_signals ignores the signals after the first. */
static void on_term(int signo, void *arg)
{
	struct daemon *d = arg;
	unsigned drain_ms = d->o.drain_ms ? d->o.drain_ms : 5000;

	if (d->o.stop_msg)
		log_info(NULL, "signal %d: %s", signo, d->o.stop_msg);
	if (d->o.stop_timeout_ms) {
		struct timeval tv = { .tv_sec = d->o.stop_timeout_ms / 1000,
				      .tv_usec = (d->o.stop_timeout_ms % 1000) * 1000 };

		if ((d->stop_timer = evtimer_new(d->base, on_stop_timeout, d)))
			evtimer_add(d->stop_timer, &tv);
	}
	d->pending = 2; /* the HTTP server's drain, and on_stop's if it starts one */
	if (!d->o.on_stop || !d->o.on_stop(d->o.arg, drain_done, d))
		d->pending--;
	http_server_shutdown(d->http, drain_ms, drain_done, d);
}

static void on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (config_reload(d->o.def, d->o.cfg, d->o.argc, d->o.argv) < 0) {
		log_warn(NULL, "configuration not reloaded");
		return;
	}
	if (d->o.setup_log)
		d->o.setup_log(d->o.cfg);
	if (d->o.on_reload)
		d->o.on_reload(d->o.arg);
	log_info(NULL, "configuration reloaded");
}

struct daemon *daemon_create(struct event_base *base, struct http_server *http,
			     const struct daemon_options *o)
{
	struct daemon *d = calloc(1, sizeof(*d));

	if (!d)
		goto fail;
	d->base = base;
	d->http = http;
	d->o = *o;
	d->signals = http_signals_create(base, on_term, d);
	d->hup = evsignal_new(base, SIGHUP, on_hup, d);
	if (!d->signals || !d->hup || evsignal_add(d->hup, NULL) < 0)
		goto fail;
	return d;
fail:
	log_error(NULL, "could not set up signal handling");
	daemon_destroy(d);
	return NULL;
}

void daemon_destroy(struct daemon *d)
{
	if (!d)
		return;
	if (d->hup)
		event_free(d->hup);
	http_signals_destroy(d->signals);
	if (d->stop_timer)
		event_free(d->stop_timer);
	free(d);
}

void daemon_base_free(struct event_base *base)
{
	if (!base)
		return;
	/*
	 * A destroyed Redis client frees its hiredis context on the next turn;
	 * a second turn (ddns-user always ran two) covers what that one leaves.
	 * A turn with nothing to do returns at once.
	 */
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
}
