/* Readiness and queue gauges, from the event loop. */

#include "services/worker/monitor.h"
#include "services/worker/worker.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PERIOD_MS  1000
#define FRESH_MS   5000 /* an answer older than this makes the worker not ready */
#define TIMEOUT_MS 2000

struct monitor {
	struct event_base *base;     /* borrowed */
	struct redis_client *client; /* owned */
	struct event *timer;         /* owned */
	bool group_exists;
	long long last_ok_ms; /* CLOCK_MONOTONIC of the last complete answer; 0: none */
	long long lag, pending, length;
	bool lag_known;
	int waiting; /* answers outstanding of the current round */
	bool round_ok;
	char error[128];
	struct metric *m_lag, *m_pending;
};

static void round_done(struct monitor *m)
{
	long long lag;

	if (--m->waiting > 0 || !m->round_ok)
		return;
	m->last_ok_ms = clock_ms();
	m->error[0] = '\0';
	lag = m->lag_known ? m->lag : m->length - m->pending;
	if (lag < 0)
		lag = 0;
	metric_set(m->m_lag, (double)lag);
	metric_set(m->m_pending, (double)m->pending);
}

static void fail(struct monitor *m, const char *what)
{
	m->round_ok = false;
	snprintf(m->error, sizeof(m->error), "%s", what);
}

static const redisReply *field(const redisReply *kv, const char *name)
{
	for (size_t i = 0; i + 1 < kv->elements; i += 2)
		if (kv->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(kv->element[i]->str, name) == 0)
			return kv->element[i + 1];
	return NULL;
}

static void on_groups(redisReply *rep, const char *err, void *arg)
{
	struct monitor *m = arg;

	if (!rep) {
		fail(m, err);
	} else if (rep->type == REDIS_REPLY_ERROR) {
		/* "ERR no such key": no stream, so no group either */
		m->group_exists = false;
		m->lag_known = false;
		m->pending = 0;
	} else if (rep->type == REDIS_REPLY_ARRAY) {
		m->group_exists = false;
		for (size_t i = 0; i < rep->elements; i++) {
			const redisReply *g = rep->element[i], *name, *v;

			if (g->type != REDIS_REPLY_ARRAY)
				continue;
			name = field(g, "name");
			if (!name || name->type != REDIS_REPLY_STRING ||
			    strcmp(name->str, WORKER_GROUP) != 0)
				continue;
			m->group_exists = true;
			v = field(g, "pending");
			m->pending = v && v->type == REDIS_REPLY_INTEGER ? v->integer : 0;
			v = field(g, "lag");
			m->lag_known = v && v->type == REDIS_REPLY_INTEGER;
			m->lag = m->lag_known ? v->integer : 0;
		}
	} else {
		fail(m, "unexpected answer to XINFO GROUPS");
	}
	round_done(m);
}

static void on_len(redisReply *rep, const char *err, void *arg)
{
	struct monitor *m = arg;

	if (!rep)
		fail(m, err);
	else if (rep->type == REDIS_REPLY_INTEGER)
		m->length = rep->integer;
	else
		fail(m, rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected answer to XLEN");
	round_done(m);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct monitor *m = arg;
	struct timeval tv = { PERIOD_MS / 1000, (PERIOD_MS % 1000) * 1000 };

	(void)fd;
	(void)what;
	evtimer_add(m->timer, &tv);
	if (m->waiting > 0)
		return; /* the last round has not finished: its timeouts will end it */
	if (!redis_client_connected(m->client)) {
		snprintf(m->error, sizeof(m->error), "not connected");
		return;
	}
	m->round_ok = true;
	m->waiting = 2;
	if (redis_client_command(m->client, TIMEOUT_MS, on_groups, m, "XINFO GROUPS %s",
				 WORKER_STREAM) < 0) {
		m->waiting = 0;
		snprintf(m->error, sizeof(m->error), "could not ask redis");
		return;
	}
	if (redis_client_command(m->client, TIMEOUT_MS, on_len, m, "XLEN %s", WORKER_STREAM) < 0) {
		fail(m, "could not ask redis");
		round_done(m);
	}
}

struct monitor *monitor_create(struct event_base *base, const char *redis_url,
			       struct metrics_registry *metrics)
{
	struct monitor *m = calloc(1, sizeof(*m));
	struct redis_client_opts o = { .command_timeout_ms = TIMEOUT_MS };
	struct timeval now = { 0, 0 };

	if (!m)
		return NULL;
	m->base = base;
	/* logs why it failed */
	if (!(m->client = redis_client_open(base, redis_url, "redis-monitor", &o)))
		goto fail;
	m->timer = evtimer_new(base, on_timer, m);
	if (!m->timer) {
		log_error(NULL, "out of memory");
		goto fail;
	}
	snprintf(m->error, sizeof(m->error), "no answer yet");
	if (metrics) {
		m->m_lag =
			metrics_gauge(metrics, "ddns_worker_queue_lag",
				      "Entries of the stream jobs not yet delivered to the group.");
		m->m_pending = metrics_gauge(
			metrics, "ddns_worker_queue_pending",
			"Entries delivered and not acknowledged yet (in hand, waiting for a "
			"retry, or held by a dead consumer until re-claimed).");
	}
	evtimer_add(m->timer, &now);
	return m;
fail:
	monitor_destroy(m);
	return NULL;
}

void monitor_destroy(struct monitor *m)
{
	if (!m)
		return;
	if (m->timer)
		event_free(m->timer);
	m->timer = NULL;
	/* completes the pending commands now: their callbacks still find @m */
	redis_client_destroy(m->client);
	free(m);
}

bool monitor_ready(const struct monitor *m, json_t *checks)
{
	long long age = m->last_ok_ms ? clock_ms() - m->last_ok_ms : -1;
	bool fresh = age >= 0 && age <= FRESH_MS, ok = fresh && m->group_exists;

	if (checks) {
		json_object_set_new(checks, "redis",
				    json_string(fresh         ? "ok"
						: m->error[0] ? m->error
							      : "stale"));
		json_object_set_new(checks, "group",
				    json_string(!fresh            ? "unknown"
						: m->group_exists ? "ok"
								  : "missing"));
	}
	return ok;
}
