/* Purge notices → serve-stale drops and PowerDNS cache flushes. */

#include "backend/purge.h"
#include "backend/mirror.h"
#include "shared/clock.h"
#include "shared/dnsname.h"
#include "shared/log.h"
#include "shared/redis.h"
#include "shared/replica.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

enum flush_state {
	FLUSH_QUEUED,  /* waits its turn in p->queue */
	FLUSH_SENT,    /* the request is with evhttp */
	FLUSH_WAITING, /* the timer will queue its second flush */
};

struct flush {
	struct purge *p;       /* borrowed */
	LIST_ENTRY(flush) all; /* p->flushes: every flush */
	TAILQ_ENTRY(flush) q;  /* p->queue, while FLUSH_QUEUED */
	enum flush_state state;
	bool again;          /* another notice came while this one was in flight */
	bool second;         /* the next or current request is the second one */
	int64_t sent_ms;     /* when the first flush was sent */
	struct event *timer; /* owned: the second flush, PURGE_REFLUSH_MS after the first */
	char name[DNSNAME_SIZE];
};

/* A notice that may need no flush, while the replica says whether it names a zone. */
struct check {
	struct purge *p;        /* borrowed; NULL once the purge is destroyed */
	LIST_ENTRY(check) link; /* p->checks */
	char name[DNSNAME_SIZE];
};

struct purge {
	struct event_base *base;
	struct lookup *lookup;          /* borrowed */
	struct backend_stats *stats;    /* borrowed */
	struct redis_client *sub;       /* owned */
	struct evhttp_connection *http; /* owned; NULL: no API */
	char *host, *path, *key;        /* owned */
	LIST_HEAD(, flush) flushes;     /* owned */
	TAILQ_HEAD(, flush) queue;      /* borrowed from @flushes: first in, first sent */
	unsigned n_flushes, n_queued, n_sent;
	unsigned long long collapses; /* since the last log line about them */
	int64_t collapse_logged_ms;
	LIST_HEAD(, check) checks; /* zone checks out on the replica client (detached on destroy) */
	unsigned n_checks;
	struct event *poll;     /* owned: reads pdns's cache TTLs every PURGE_CONFIG_POLL_MS */
	struct purge_window w;  /* what decides whether a notice needs a flush */
	int64_t root_wanted_ms; /* the last (re)subscription: a root flush must follow */
	int64_t root_done_ms;   /* when the last root flush that succeeded was sent */
	int64_t config_sent_ms; /* the request out, or -1 */
	int64_t wall_offset_ms; /* wall clock minus clock_ms() at the last config read */
	struct flush *sending;  /* the flush being handed to evhttp; NULL once its callback ran */
	bool config_failing;    /* log transitions only */
	bool connected_once;
	bool skip_logged;
};

static void pump(struct purge *p);

/* Takes @f (FLUSH_QUEUED) off the queue: it is sent or freed next. */
static void unqueue(struct flush *f)
{
	TAILQ_REMOVE(&f->p->queue, f, q);
	f->p->n_queued--;
	f->state = FLUSH_SENT;
}

static void enqueue(struct flush *f)
{
	f->state = FLUSH_QUEUED;
	TAILQ_INSERT_TAIL(&f->p->queue, f, q);
	f->p->n_queued++;
}

static void flush_free(struct flush *f)
{
	struct purge *p = f->p;

	if (f->state == FLUSH_QUEUED)
		unqueue(f);
	LIST_REMOVE(f, all);
	p->n_flushes--;
	if (f->timer)
		event_free(f->timer);
	free(f);
}

static void on_reflush(evutil_socket_t fd, short what, void *arg)
{
	struct flush *f = arg;

	f->second = true;
	enqueue(f);
	pump(f->p);
}

static void on_flushed(struct evhttp_request *req, void *arg)
{
	struct flush *f = arg;
	struct purge *p = f->p;
	int code = req ? evhttp_request_get_response_code(req) : 0;

	if (p->sending == f)
		p->sending = NULL; /* failed inside evhttp_make_request: flush_send sees it */
	p->n_sent--;
	if (code == 200) {
		if (p->stats)
			metric_inc(p->stats->purges);
		log_debug(NULL, "flushed \"%s\" from the pdns caches", f->name);
		if (strcmp(f->name, ".") == 0 && f->sent_ms > p->root_done_ms) {
			p->root_done_ms = f->sent_ms;
			if (p->w.clean_ms == INT64_MIN &&
			    f->sent_ms - p->w.started_ms >= PURGE_WINDOW_MARGIN_MS) {
				p->w.clean_ms = f->sent_ms;
				log_info(NULL, "pdns caches flushed: from now on they hold only "
					       "answers of this process");
			}
		}
	} else {
		if (p->stats)
			metric_inc(p->stats->purge_errors);
		log_warn(NULL, "could not flush \"%s\" from the pdns caches: %s", f->name,
			 code ? "unexpected status" : "no answer");
		if (code)
			log_warn(NULL, "pdns api answered status %d", code);
	}
	if (f->again) {
		f->again = false;
		f->second = false;
		enqueue(f);
	} else if (code == 200 && !f->second) {
		/*
		 * A query pdns was answering as the flush came may still put
		 * the old answer into its packet cache after it: flush once
		 * more when any such query is long done. Always: the old
		 * answer may come from pdns's query cache, which asks this
		 * backend nothing, so no lookup here tells that no such
		 * query exists (bench-api saw it: about 1 in 10,000 updates
		 * stale for 20 s when the second flush was left out).
		 */
		struct timeval tv = { 0, PURGE_REFLUSH_MS * 1000 };

		if (!f->timer)
			f->timer = evtimer_new(p->base, on_reflush, f);
		if (f->timer && evtimer_add(f->timer, &tv) == 0)
			f->state = FLUSH_WAITING;
		else
			flush_free(f);
	} else {
		flush_free(f);
	}
	pump(p);
}

/* Hands @f to evhttp; frees it when that fails. */
static void flush_send(struct flush *f)
{
	struct purge *p = f->p;
	struct evhttp_request *req = evhttp_request_new(on_flushed, f);
	struct evkeyvalq *h;
	char uri[DNSNAME_SIZE + 512];
	int r;

	if (!req)
		goto fail;
	if (!f->second)
		f->sent_ms = clock_ms();
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", p->host);
	evhttp_add_header(h, "X-API-Key", p->key);
	evhttp_add_header(h, "Content-Length", "0");
	snprintf(uri, sizeof(uri), "%s/api/v1/servers/localhost/cache/flush?domain=%s", p->path,
		 f->name);
	/*
	 * On failure evhttp frees @req itself, and may have called on_flushed
	 * already (a connection that fails at once): then @f is dealt with.
	 */
	f->state = FLUSH_SENT;
	p->n_sent++;
	p->sending = f;
	r = evhttp_make_request(p->http, req, EVHTTP_REQ_PUT, uri);
	if (p->sending != f)
		return;
	p->sending = NULL;
	if (r == 0)
		return;
	p->n_sent--;
fail:
	if (p->stats)
		metric_inc(p->stats->purge_errors);
	log_warn(NULL, "could not send the flush of \"%s\" to the pdns api", f->name);
	flush_free(f);
}

/*
 * Sends queued flushes, PURGE_SENDING at a time: PowerDNS's API answers one
 * after the other on the connection anyway, and what waits here can still
 * be merged (a name noticed twice, a backlog collapsed).
 */
static void pump(struct purge *p)
{
	while (!TAILQ_EMPTY(&p->queue) && p->n_sent < PURGE_SENDING) {
		struct flush *f = TAILQ_FIRST(&p->queue);

		unqueue(f);
		flush_send(f);
	}
}

/* A new first flush of @name, queued; NULL when out of memory. */
static struct flush *queue_new(struct purge *p, const char *name)
{
	struct flush *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->p = p;
	snprintf(f->name, sizeof(f->name), "%s", name);
	LIST_INSERT_HEAD(&p->flushes, f, all);
	p->n_flushes++;
	enqueue(f);
	return f;
}

static struct flush *flush_find(struct purge *p, const char *name)
{
	struct flush *f;

	LIST_FOREACH(f, &p->flushes, all)
	{
		if (strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

/*
 * More than PURGE_COLLAPSE names wait to be sent: PowerDNS cannot keep up
 * with them one by one. One flush of the root flushes them all (and the
 * rest of the caches, which refill): late for no name, instead of later
 * and later for each.
 */
static void collapse(struct purge *p)
{
	struct flush *f;

	if (p->stats)
		metric_inc(p->stats->purge_collapses);
	p->collapses++;
	if (clock_ms() - p->collapse_logged_ms >= PURGE_COLLAPSE_LOG_MS) {
		/* at most one line every PURGE_COLLAPSE_LOG_MS under a lasting burst */
		log_info(NULL,
			 "%u cache flushes waiting: flushing all of the pdns caches at once "
			 "(%llu collapses counted since the last such line)",
			 p->n_queued, p->collapses);
		p->collapses = 0;
		p->collapse_logged_ms = clock_ms();
	}
	while (!TAILQ_EMPTY(&p->queue))
		flush_free(TAILQ_FIRST(&p->queue));
	f = flush_find(p, ".");
	if (f && f->state == FLUSH_SENT) {
		f->again = true;
		return;
	}
	if (f) { /* waiting for its second flush: this is a first one */
		evtimer_del(f->timer);
		f->second = false;
		enqueue(f);
		return;
	}
	queue_new(p, ".");
}

static void flush_name(struct purge *p, const char *name)
{
	struct flush *f;

	if (!p->http) {
		if (!p->skip_logged)
			log_info(NULL, "pdns_api_url or pdns_api_key not set: not flushing pdns "
				       "caches on purge notices");
		p->skip_logged = true;
		return;
	}
	if ((f = flush_find(p, name))) {
		switch (f->state) {
		case FLUSH_QUEUED: /* not sent yet: it will see this change */
			f->second = false;
			break;
		case FLUSH_SENT:
			f->again = true;
			break;
		case FLUSH_WAITING: /* a new change: flush now, and once more later */
			evtimer_del(f->timer);
			f->second = false;
			enqueue(f);
			break;
		}
		pump(p);
		return;
	}
	if (p->n_flushes >= PURGE_INFLIGHT_MAX) {
		/* a first flush matters more than a second one */
		LIST_FOREACH(f, &p->flushes, all)
		{
			if (f->state == FLUSH_WAITING) {
				flush_free(f);
				break;
			}
		}
	}
	if (p->n_flushes >= PURGE_INFLIGHT_MAX) {
		if (p->stats)
			metric_inc(p->stats->purge_errors);
		log_warn(NULL, "too many cache flushes in flight, dropping the one of \"%s\"",
			 name);
		return;
	}
	if (!queue_new(p, name))
		return;
	if (p->n_queued > PURGE_COLLAPSE)
		collapse(p);
	pump(p);
}

/* ---- flushes no cache can need ---------------------------------------- */

/* A setting of pdns's config array, in seconds; -1 when missing or not a number. */
static long long setting_seconds(json_t *config, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(config, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *v = json_string_value(json_object_get(e, "value"));
		char *end;
		long long s;

		if (!n || strcmp(n, name) != 0)
			continue;
		if (!v || *v < '0' || *v > '9')
			return -1;
		errno = 0;
		s = strtoll(v, &end, 10);
		return errno || *end || s > INT_MAX ? -1 : s;
	}
	return -1;
}

int purge_window_parse(const char *body, size_t len, int64_t *ret_ms)
{
	json_t *config = json_loadb(body, len, 0, NULL);
	long long packet, query, neg;
	int r = -EPROTO;

	if (!json_is_array(config))
		goto out;
	packet = setting_seconds(config, "cache-ttl");
	query = setting_seconds(config, "query-cache-ttl");
	neg = setting_seconds(config, "negquery-cache-ttl");
	if (packet < 0 || query < 0 || neg < 0)
		goto out;
	/* an entry of the query cache can feed the packet cache until it expires */
	*ret_ms = ((query > neg ? query : neg) + packet) * 1000 + PURGE_WINDOW_MARGIN_MS;
	r = 0;
out:
	json_decref(config);
	return r;
}

bool purge_window_needless(const struct purge_window *w, int64_t now, int64_t last_ms)
{
	if (w->window_ms < 0 || now - w->asked_ms > PURGE_CONFIG_TRUST_MS)
		return false; /* not known, or not lately */
	if (now < w->hold_until_ms)
		return false; /* the wall clock went back: pdns keeps entries longer */
	if (now - w->started_ms <= w->window_ms && w->clean_ms == INT64_MIN)
		return false; /* pdns may hold answers of the process before this one */
	return last_ms < now - w->window_ms;
}

static void window_set(struct purge *p, int64_t ms)
{
	p->w.window_ms = ms;
	if (p->stats)
		metric_set(p->stats->cache_window, ms < 0 ? -1 : (double)ms / 1000);
}

static void config_failed(struct purge *p, const char *why)
{
	if (!p->config_failing)
		log_info(NULL,
			 "could not read the cache TTLs from the pdns api (%s): flushing "
			 "every purged name until it answers",
			 why);
	p->config_failing = true;
	window_set(p, -1);
}

/*
 * pdns expires its caches by the wall clock: when that went back by d, its
 * entries live d longer than clock_ms() says; skip nothing until they are
 * gone.
 */
static void watch_wall_clock(struct purge *p, int64_t now)
{
	int64_t offset = clock_wall_ms() - now;

	if (p->wall_offset_ms != INT64_MIN && offset < p->wall_offset_ms - PURGE_WALL_STEP_MS) {
		int64_t back = p->wall_offset_ms - offset;

		log_warn(NULL,
			 "the wall clock went back %lld ms: flushing every purged name for "
			 "a while",
			 (long long)back);
		p->w.hold_until_ms = now + back + (p->w.window_ms > 0 ? p->w.window_ms : 0);
	}
	p->wall_offset_ms = offset;
}

static void on_config(struct evhttp_request *req, void *arg)
{
	struct purge *p = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	int64_t sent = p->config_sent_ms, now = clock_ms(), ms;
	struct evbuffer *body;
	const char *s;

	p->config_sent_ms = -1;
	if (code != 200) {
		config_failed(p, code ? "unexpected status" : "no answer");
		return;
	}
	body = evhttp_request_get_input_buffer(req);
	s = (const char *)evbuffer_pullup(body, -1);
	if (!s || purge_window_parse(s, evbuffer_get_length(body), &ms) < 0) {
		config_failed(p, "unexpected config");
		return;
	}
	if (p->config_failing || p->w.window_ms != ms)
		log_info(NULL,
			 "pdns keeps answers up to %lld ms (its cache TTLs and a margin): names "
			 "not answered for longer need no flush",
			 (long long)ms);
	p->config_failing = false;
	p->w.asked_ms = sent;
	window_set(p, ms);
	watch_wall_clock(p, now);
	/* pdns answers: the root flush a subscription needs, if it failed; and
	 * one sent late enough after the start that answers of the process
	 * before this one can no longer reach pdns's caches after it */
	if ((p->root_done_ms < p->root_wanted_ms ||
	     (p->w.clean_ms == INT64_MIN && now - p->w.started_ms >= PURGE_WINDOW_MARGIN_MS)) &&
	    !flush_find(p, "."))
		flush_name(p, ".");
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct purge *p = arg;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char uri[512];
	int64_t now = clock_ms();

	if (p->config_sent_ms >= 0) {
		/* the last one is still out: its value would be too old to trust */
		if (now - p->config_sent_ms > PURGE_CONFIG_TRUST_MS)
			config_failed(p, "no answer in time");
		return;
	}
	if (!(req = evhttp_request_new(on_config, p))) {
		config_failed(p, "out of memory");
		return;
	}
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", p->host);
	evhttp_add_header(h, "X-API-Key", p->key);
	snprintf(uri, sizeof(uri), "%s/api/v1/servers/localhost/config", p->path);
	p->config_sent_ms = now;
	/* on failure evhttp frees @req itself (on_config may have run: harmless) */
	if (evhttp_make_request(p->http, req, EVHTTP_REQ_GET, uri) < 0) {
		p->config_sent_ms = -1;
		config_failed(p, "could not send");
	}
}

/* No pdns cache can hold anything at or below @name (but it may be a zone). */
static bool unasked(const struct purge *p, const char *name)
{
	if (!p->lookup || strcmp(name, ".") == 0)
		return false;
	return purge_window_needless(&p->w, clock_ms(), lookup_last_answer(p->lookup, name));
}

static void check_free(struct check *c)
{
	struct purge *p = c->p;

	if (p) {
		LIST_REMOVE(c, link);
		p->n_checks--;
	}
	free(c);
}

static void on_zone_checked(redisReply *reply, const char *err, void *arg)
{
	struct check *c = arg;
	struct purge *p = c->p;

	if (!p) {
		check_free(c); /* the purge is gone */
		return;
	}
	/* asked again: a lookup may have begun since (it answers the new data) */
	if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0 &&
	    unasked(p, c->name)) {
		if (p->stats)
			metric_inc(p->stats->flushes_unneeded);
		log_debug(NULL, "\"%s\" was not answered lately: no flush needed", c->name);
	} else {
		flush_name(p, c->name);
	}
	check_free(c);
}

/*
 * Starts the zone check of @name. Returns 0, -EBUSY (PURGE_CHECKS_MAX out:
 * the lookups' Redis client is not to fill up with them), -ENOMEM, or what
 * lookup_zone_check returns; then the caller flushes.
 */
static int check_start(struct purge *p, const char *name)
{
	struct check *c;
	int r;

	if (p->n_checks >= PURGE_CHECKS_MAX)
		return -EBUSY;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->p = p;
	snprintf(c->name, sizeof(c->name), "%s", name);
	if ((r = lookup_zone_check(p->lookup, name, on_zone_checked, c)) < 0) {
		free(c);
		return r;
	}
	LIST_INSERT_HEAD(&p->checks, c, link);
	p->n_checks++;
	return 0;
}

void purge_notice(struct purge *p, const char *msg, size_t len)
{
	char raw[DNSNAME_SIZE + 1], name[DNSNAME_SIZE];

	if (len == 0 || len >= sizeof(raw) || memchr(msg, '\0', len)) {
		log_warn(NULL, "ignoring a purge notice that is not a name");
		return;
	}
	memcpy(raw, msg, len);
	raw[len] = '\0';
	if (dnsname_normalize(raw, DNSNAME_WILDCARD, name, NULL) < 0) {
		log_warn(NULL, "ignoring a purge notice that is not a name");
		return;
	}
	if (p->lookup)
		lookup_stale_drop(p->lookup, name);
	if (p->http && unasked(p, name) && check_start(p, name) == 0)
		return;
	flush_name(p, name);
}

static void on_message(struct redis_client *c, const char *channel, const char *msg, size_t len,
		       void *arg)
{
	purge_notice(arg, msg, len);
}

static void on_names(struct redis_client *c, const char *channel, const char *msg, size_t len,
		     void *arg)
{
	struct purge *p = arg;

	mirror_notice(lookup_mirror(p->lookup), msg, len);
}

static void on_sub_disconnect(struct redis_client *c, void *arg)
{
	struct purge *p = arg;

	mirror_sub_up(lookup_mirror(p->lookup), false);
}

static void on_sub_connect(struct redis_client *c, void *arg)
{
	struct purge *p = arg;

	mirror_sub_up(lookup_mirror(p->lookup), true);

	/*
	 * Notices published while nobody here listened are lost, also before
	 * this process started: flush everything. While pdns has not answered
	 * lately, the next config read that it answers sends the flush.
	 */
	if (p->http) {
		log_info(NULL,
			 "purge channel %s: flushing every pdns cache, notices may have "
			 "been lost",
			 p->connected_once ? "resubscribed" : "subscribed");
		p->root_wanted_ms = clock_ms();
		if (p->w.window_ms >= 0)
			flush_name(p, ".");
	}
	p->connected_once = true;
}

static int api_setup(struct purge *p, const char *url, const char *key)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme, *host, *path;
	int port, r = -EINVAL;

	if (!u)
		goto out;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	port = evhttp_uri_get_port(u);
	if (!scheme || strcmp(scheme, "http") != 0 || !host || !*host)
		goto out;
	if (port < 0)
		port = 80;
	r = -ENOMEM;
	p->host = strdup(host);
	p->path = strdup(path ? path : "");
	p->key = strdup(key);
	if (!p->host || !p->path || !p->key)
		goto out;
	/* no trailing slash: the API path is appended */
	while (*p->path && p->path[strlen(p->path) - 1] == '/')
		p->path[strlen(p->path) - 1] = '\0';
	p->http = evhttp_connection_base_new(p->base, NULL, p->host, (unsigned short)port);
	if (!p->http)
		goto out;
	evhttp_connection_set_timeout(p->http, PURGE_TIMEOUT_S);
	evhttp_connection_set_retries(p->http, 0);
	r = 0;
out:
	if (u)
		evhttp_uri_free(u);
	return r;
}

int purge_create(struct event_base *base, const struct purge_config *cfg, struct lookup *lookup,
		 struct backend_stats *stats, struct purge **ret)
{
	struct purge *p = calloc(1, sizeof(*p));
	struct redis_url url = { 0 };
	const char *reason = NULL;
	int r = -ENOMEM;

	if (!p)
		return -ENOMEM;
	p->base = base;
	LIST_INIT(&p->flushes);
	TAILQ_INIT(&p->queue);
	LIST_INIT(&p->checks);
	p->collapse_logged_ms = INT64_MIN / 2; /* the first collapse is logged */
	p->w = (struct purge_window){ .window_ms = -1,
				      .started_ms = clock_ms(),
				      .clean_ms = INT64_MIN,
				      .hold_until_ms = INT64_MIN };
	p->root_wanted_ms = INT64_MIN;
	p->root_done_ms = INT64_MIN;
	p->config_sent_ms = -1;
	p->wall_offset_ms = INT64_MIN;
	p->lookup = lookup;
	p->stats = stats;
	if (cfg->api_url && *cfg->api_url && cfg->api_key && *cfg->api_key) {
		r = api_setup(p, cfg->api_url, cfg->api_key);
		if (r < 0) {
			log_error(NULL, "invalid pdns_api_url: expected http://HOST:PORT");
			goto fail;
		}
		struct timeval tv = { PURGE_CONFIG_POLL_MS / 1000,
				      PURGE_CONFIG_POLL_MS % 1000 * 1000 };

		r = -ENOMEM;
		if (!(p->poll = event_new(base, -1, EV_PERSIST, on_poll, p)) ||
		    event_add(p->poll, &tv) < 0)
			goto fail;
		on_poll(-1, 0, p);
	}
	window_set(p, -1);
	if (cfg->redis_url) {
		struct redis_client_opts opts = {
			.backoff_max_ms = 2000,
			.on_connect = on_sub_connect,
			.on_disconnect = on_sub_disconnect,
			.arg = p,
			.name = "redis-purge",
		};

		r = redis_url_parse(cfg->redis_url, &url, &reason);
		if (r < 0) {
			log_error(NULL, "invalid redis_pubsub_url: %s",
				  reason ? reason : strerror(-r));
			goto fail;
		}
		p->sub = redis_client_create(base, &url, &opts);
		redis_url_finish(&url);
		r = -ENOMEM;
		if (!p->sub)
			goto fail;
		r = redis_client_subscribe(p->sub, REPLICA_PURGE_CHANNEL, on_message, p);
		if (r < 0)
			goto fail;
		r = redis_client_subscribe(p->sub, REPLICA_NAMES_CHANNEL, on_names, p);
		if (r < 0)
			goto fail;
	}
	*ret = p;
	return 0;
fail:
	purge_destroy(p);
	return r;
}

void purge_destroy(struct purge *p)
{
	if (!p)
		return;
	redis_client_destroy(p->sub);
	if (p->poll)
		event_free(p->poll);
	/* checks still out complete later, into nothing */
	for (struct check *c = LIST_FIRST(&p->checks); c; c = LIST_NEXT(c, link))
		c->p = NULL;
	if (p->http)
		evhttp_connection_free(p->http); /* drops queued requests without callbacks */
	while (!LIST_EMPTY(&p->flushes))
		flush_free(LIST_FIRST(&p->flushes));
	free(p->host);
	free(p->path);
	free(p->key);
	free(p);
}

unsigned purge_in_flight(const struct purge *p)
{
	return p->n_flushes;
}
