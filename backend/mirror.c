/* The mirror: the live replica generation in memory, kept current by name notices. */

#include "backend/mirror.h"
#include "shared/clock.h"

#include "backend/source.h"
#include "shared/dnsname.h"
#include "shared/log.h"
#include "shared/redis.h"
#include "shared/replica.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct entry {
	struct entry *hnext;
	uint64_t hash;
	bool apex; /* holds the SOA: a zone of the mirror */
	size_t name_len, value_len;
	char *value; /* points into this allocation, after the name */
	char name[];
};

enum phase {
	PH_IDLE, /* empty; a fill starts on the next tick when both clients are up */
	PH_SYNC, /* marker published: waiting for it on the channel */
	PH_GEN,  /* reading dns:gen */
	PH_FILL, /* scanning; name notices are fetched as they come */
	PH_READY,
};

enum cmd_kind { CMD_PROBE, CMD_PUBLISH, CMD_GEN, CMD_SCAN, CMD_BATCH, CMD_NAME };

struct cmd {
	struct mirror *m; /* borrowed */
	unsigned long epoch;
	enum cmd_kind kind;
	size_t n_keys;   /* CMD_BATCH, CMD_NAME: the keys asked after dns:gen */
	size_t *key_off; /* owned: offsets into keys */
	char *keys;      /* owned: the keys, NUL-separated */
};

struct mirror {
	struct event_base *base;  /* borrowed */
	struct redis_client *rds; /* borrowed: the replica client */
	struct event *tick;       /* owned */
	struct mirror_config cfg;
	struct entry **buckets; /* owned array; entries owned */
	size_t n_buckets, count, bytes;
	enum phase phase;
	unsigned long epoch; /* bumped by every reset: older replies are ignored */
	long long gen;
	char scan_cursor[32];
	char nonce[24];
	bool redis_up, sub_up;
	bool limit_logged;
	/*
	 * Names noticed and not fetched yet, with how many fetches are out:
	 * the mirror does not answer for them (the lookup asks Redis, which
	 * already holds the new value), so that the purge notice that follows
	 * the name notice cannot have PowerDNS cache the mirror's old answer
	 * again. A few at a time; beyond MIRROR_PENDING_MAX names the list is
	 * given up and the mirror answers nothing until every fetch out is back.
	 */
	struct pending {
		char name[DNSNAME_SIZE];
		size_t len;
		unsigned n;
	} * pend; /* owned */
	size_t n_pend, cap_pend;
	size_t name_fetches; /* CMD_NAME fetches out */
	bool pend_overflow;  /* too many pending names: answer nothing until 0 fetches */
	int64_t echo_ms, gen_ok_ms, retry_after_ms;
};

static size_t entry_bytes(const struct entry *e)
{
	return MIRROR_ENTRY_OVERHEAD + e->name_len + e->value_len;
}

static struct entry **find_slot(struct mirror *m, const char *name, size_t len, uint64_t h)
{
	struct entry **p = &m->buckets[h & (m->n_buckets - 1)];

	for (; *p; p = &(*p)->hnext)
		if ((*p)->hash == h && (*p)->name_len == len && memcmp((*p)->name, name, len) == 0)
			return p;
	return p;
}

static void clear(struct mirror *m)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			free(e);
		}
		m->buckets[i] = NULL;
	}
	m->count = m->bytes = 0;
	m->n_pend = 0;
	m->name_fetches = 0;
	m->pend_overflow = false;
}

static struct pending *pend_find(struct mirror *m, const char *name, size_t len)
{
	for (size_t i = 0; i < m->n_pend; i++)
		if (m->pend[i].len == len && memcmp(m->pend[i].name, name, len) == 0)
			return &m->pend[i];
	return NULL;
}

static int pend_add(struct mirror *m, const char *name)
{
	size_t len = strlen(name);
	struct pending *p = pend_find(m, name, len);

	if (p) {
		p->n++;
		return 0;
	}
	if (m->n_pend == m->cap_pend) {
		size_t cap = m->cap_pend ? m->cap_pend * 2 : 16;
		struct pending *np;

		if (cap > MIRROR_PENDING_MAX) {
			m->pend_overflow = true; /* see mirror_get */
			m->n_pend = 0;
			return 0;
		}
		np = realloc(m->pend, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		m->pend = np;
		m->cap_pend = cap;
	}
	p = &m->pend[m->n_pend++];
	memcpy(p->name, name, len + 1);
	p->len = len;
	p->n = 1;
	return 0;
}

/* A fetch of the name in replica key @key came back. */
static void pend_done(struct mirror *m, const char *key, size_t klen)
{
	const char *n = memmem(key, klen, ":n:", 3);
	struct pending *p;

	if (m->name_fetches > 0 && --m->name_fetches == 0)
		m->pend_overflow = false;
	if (!n)
		return;
	n += 3;
	p = pend_find(m, n, klen - (size_t)(n - key));
	if (p && --p->n == 0)
		*p = m->pend[--m->n_pend];
}

static void reset(struct mirror *m, const char *why)
{
	if (m->phase >= PH_FILL)
		log_info(NULL, "mirror of generation %lld dropped: %s", m->gen, why);
	m->epoch++;
	m->phase = PH_IDLE;
	m->gen = 0;
	clear(m);
}

/* A reset for data that will likely be there again: retry after a pause, not every tick. */
static void reset_later(struct mirror *m, const char *why)
{
	reset(m, why);
	m->retry_after_ms = clock_ms() + MIRROR_RETRY_MS;
}

static void grow(struct mirror *m)
{
	size_t n = m->n_buckets * 2;
	struct entry **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

static void remove_name(struct mirror *m, const char *name, size_t len)
{
	struct entry **slot = find_slot(m, name, len, dnsname_hash(name, len)), *e = *slot;

	if (!e)
		return;
	*slot = e->hnext;
	m->count--;
	m->bytes -= entry_bytes(e);
	free(e);
}

/* Stores @value for @name; -E2BIG beyond max_bytes, -ENOMEM (the caller resets). */
static int put(struct mirror *m, const char *name, size_t len, const char *value, size_t vlen)
{
	uint64_t h = dnsname_hash(name, len);
	struct entry **slot = find_slot(m, name, len, h), *old = *slot, *e;
	size_t bytes = m->bytes - (old ? entry_bytes(old) : 0);

	if (old && old->value_len == vlen && memcmp(old->value, value, vlen) == 0)
		return 0;
	if (bytes + MIRROR_ENTRY_OVERHEAD + len + vlen > m->cfg.max_bytes)
		return -E2BIG;
	if (!(e = malloc(sizeof(*e) + len + 1 + vlen + 1)))
		return -ENOMEM;
	e->hash = h;
	e->name_len = len;
	e->value_len = vlen;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->value = e->name + len + 1;
	memcpy(e->value, value, vlen);
	e->value[vlen] = '\0';
	e->apex = strstr(e->value, "\"qtype\":\"SOA\"") != NULL;
	if (old) {
		e->hnext = old->hnext;
		*slot = e;
		m->bytes -= entry_bytes(old);
		free(old);
	} else {
		e->hnext = NULL;
		*slot = e;
		m->count++;
	}
	m->bytes += entry_bytes(e);
	if (m->count > m->n_buckets)
		grow(m);
	return 0;
}

static void over_limit(struct mirror *m)
{
	if (!m->limit_logged)
		log_warn(NULL,
			 "the replica is larger than mirror_max_bytes (%zu): answering from redis, "
			 "raise mirror_max_bytes to mirror it",
			 m->cfg.max_bytes);
	m->limit_logged = true;
	reset(m, "mirror_max_bytes reached");
	m->retry_after_ms = clock_ms() + MIRROR_LIMIT_RETRY_MS;
}

/* Applies the value @v (nil: no such name) of key @key. Returns false after a reset. */
static bool apply_value(struct mirror *m, const char *key, size_t klen, const redisReply *v)
{
	char prefix[48];
	int plen = snprintf(prefix, sizeof(prefix), "dns:%lld:n:", m->gen);
	const char *name = key + plen;
	size_t len = klen - (size_t)plen;
	int r;

	if (klen <= (size_t)plen || memcmp(key, prefix, (size_t)plen) != 0) {
		reset_later(m, "unexpected key");
		return false;
	}
	if (v->type == REDIS_REPLY_NIL || (v->type == REDIS_REPLY_STRING && v->len == 0)) {
		/* the lookup script answers "no such name" for both */
		remove_name(m, name, len);
		return true;
	}
	if (v->type != REDIS_REPLY_STRING) {
		reset_later(m, "unexpected value");
		return false;
	}
	r = put(m, name, len, v->str, v->len);
	if (r == -E2BIG) {
		over_limit(m);
		return false;
	}
	if (r < 0) {
		reset(m, "out of memory");
		return false;
	}
	return true;
}

/* True when @r is the live generation m->gen as a bulk string. */
static bool gen_matches(const struct mirror *m, const redisReply *r)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", m->gen);

	return r->type == REDIS_REPLY_STRING && r->len == (size_t)n &&
	       memcmp(r->str, buf, r->len) == 0;
}

static void on_reply(redisReply *r, const char *err, void *arg);

static void cmd_free(struct cmd *c)
{
	if (!c)
		return;
	free(c->key_off);
	free(c->keys);
	free(c);
}

/*
 * Sends argv; for CMD_BATCH and CMD_NAME (MGET dns:gen key...) the keys
 * argv[2..] are kept with the command: the reply does not name them.
 */
static int send_cmd(struct mirror *m, enum cmd_kind kind, int argc, const char **argv,
		    const size_t *argvlen)
{
	struct cmd *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;

	if (!c)
		return -ENOMEM;
	c->m = m;
	c->epoch = m->epoch;
	c->kind = kind;
	if (kind == CMD_BATCH || kind == CMD_NAME) {
		size_t total = 0, pos = 0;

		c->n_keys = (size_t)argc - 2;
		for (int i = 2; i < argc; i++)
			total += argvlen[i] + 1;
		c->key_off = calloc(c->n_keys + 1, sizeof(*c->key_off));
		c->keys = malloc(total + 1);
		if (!c->key_off || !c->keys)
			goto fail;
		for (int i = 2; i < argc; i++) {
			c->key_off[i - 2] = pos;
			memcpy(c->keys + pos, argv[i], argvlen[i]);
			pos += argvlen[i];
			c->keys[pos++] = '\0';
		}
		c->key_off[c->n_keys] = pos;
	}
	rc = redis_client_commandv(m->rds, 0, on_reply, c, argc, argv, argvlen);
	if (rc == 0)
		return 0;
fail:
	cmd_free(c);
	return rc;
}

static void scan_next(struct mirror *m)
{
	char match[48];
	const char *argv[] = { "SCAN", m->scan_cursor, "MATCH", match, "COUNT", "1000" };

	snprintf(match, sizeof(match), "dns:%lld:n:*", m->gen);
	if (send_cmd(m, CMD_SCAN, 6, argv, NULL) < 0)
		reset(m, "could not send SCAN");
}

static void fill_done(struct mirror *m)
{
	m->phase = PH_READY;
	log_info(NULL, "mirror of generation %lld ready: %zu names, %zu bytes", m->gen, m->count,
		 m->bytes);
}

static void on_scan(struct mirror *m, const redisReply *r)
{
	const redisReply *keys;
	const char **argv;
	size_t *lens;
	int rc;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= sizeof(m->scan_cursor) ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		reset_later(m, "unexpected SCAN reply");
		return;
	}
	memcpy(m->scan_cursor, r->element[0]->str, r->element[0]->len);
	m->scan_cursor[r->element[0]->len] = '\0';
	keys = r->element[1];
	if (keys->elements == 0) {
		if (strcmp(m->scan_cursor, "0") == 0)
			fill_done(m);
		else
			scan_next(m);
		return;
	}
	argv = calloc(keys->elements + 2, sizeof(*argv));
	lens = calloc(keys->elements + 2, sizeof(*lens));
	if (!argv || !lens) {
		free(argv);
		free(lens);
		reset(m, "out of memory");
		return;
	}
	argv[0] = "MGET";
	lens[0] = 4;
	argv[1] = REPLICA_GEN_KEY;
	lens[1] = strlen(REPLICA_GEN_KEY);
	for (size_t i = 0; i < keys->elements; i++) {
		if (keys->element[i]->type != REDIS_REPLY_STRING) {
			free(argv);
			free(lens);
			reset_later(m, "unexpected SCAN reply");
			return;
		}
		argv[i + 2] = keys->element[i]->str;
		lens[i + 2] = keys->element[i]->len;
	}
	rc = send_cmd(m, CMD_BATCH, (int)keys->elements + 2, argv, lens);
	free(argv);
	free(lens);
	if (rc < 0)
		reset(m, "could not send MGET");
}

/* MGET dns:gen key...: the generation first, then the values in key order. */
static void on_values(struct mirror *m, const redisReply *r, const struct cmd *c)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != c->n_keys + 1) {
		reset_later(m, "unexpected MGET reply");
		return;
	}
	if (!gen_matches(m, r->element[0])) {
		reset(m, "the live generation changed");
		return;
	}
	for (size_t i = 0; i < c->n_keys; i++) {
		const char *key = c->keys + c->key_off[i];
		size_t klen = c->key_off[i + 1] - c->key_off[i] - 1;

		if (!apply_value(m, key, klen, r->element[i + 1]))
			return;
		if (c->kind == CMD_NAME)
			pend_done(m, key, klen);
	}
	if (c->kind == CMD_BATCH && m->phase == PH_FILL) {
		if (strcmp(m->scan_cursor, "0") == 0)
			fill_done(m);
		else
			scan_next(m);
	}
}

static void on_reply(redisReply *r, const char *err, void *arg)
{
	struct cmd *c = arg;
	struct mirror *m = c->m;

	if (c->epoch != m->epoch)
		goto out; /* a reply for a mirror since dropped */
	if (!r) {
		reset(m, err ? err : "no reply");
		goto out;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		reset_later(m, r->str);
		goto out;
	}
	switch (c->kind) {
	case CMD_PUBLISH:
		break;
	case CMD_PROBE:
		if (m->phase >= PH_FILL) {
			if (gen_matches(m, r))
				m->gen_ok_ms = clock_ms();
			else
				reset(m, "the live generation changed");
		}
		break;
	case CMD_GEN:
		if (m->phase != PH_GEN)
			break;
		if (r->type != REDIS_REPLY_STRING || (m->gen = strtoll(r->str, NULL, 10)) <= 0) {
			m->phase = PH_IDLE; /* no complete replica yet: again on a tick */
			m->gen = 0;
			break;
		}
		m->phase = PH_FILL;
		m->gen_ok_ms = clock_ms();
		strcpy(m->scan_cursor, "0");
		scan_next(m);
		break;
	case CMD_SCAN:
		on_scan(m, r);
		break;
	case CMD_BATCH:
	case CMD_NAME:
		on_values(m, r, c);
		break;
	}
out:
	cmd_free(c);
}

/* ---- notices ----------------------------------------------------------- */

static void publish_marker(struct mirror *m)
{
	char msg[96];
	const char *argv[] = { "PUBLISH", REPLICA_NAMES_CHANNEL, msg };
	size_t lens[3];

	snprintf(msg, sizeof(msg), "mark %s %lu", m->nonce, m->epoch);
	lens[0] = 7;
	lens[1] = strlen(REPLICA_NAMES_CHANNEL);
	lens[2] = strlen(msg);
	if (send_cmd(m, CMD_PUBLISH, 3, argv, lens) < 0)
		reset(m, "could not publish a marker");
}

static void on_marker(struct mirror *m, const char *msg, size_t len)
{
	char mine[96];
	int n = snprintf(mine, sizeof(mine), "mark %s %lu", m->nonce, m->epoch);

	if (len != (size_t)n || memcmp(msg, mine, len) != 0)
		return; /* another process's, or an older epoch's */
	m->echo_ms = clock_ms();
	if (m->phase == PH_SYNC) {
		const char *argv[] = { "GET", REPLICA_GEN_KEY };

		m->phase = PH_GEN;
		if (send_cmd(m, CMD_GEN, 2, argv, NULL) < 0)
			reset(m, "could not send GET");
	}
}

void mirror_notice(struct mirror *m, const char *msg, size_t len)
{
	char raw[DNSNAME_SIZE + 1], name[DNSNAME_SIZE], key[REPLICA_KEY_SIZE];
	const char *argv[3];
	size_t lens[3];
	int klen;

	if (!m)
		return;
	if (len > 5 && memcmp(msg, "mark ", 5) == 0) {
		on_marker(m, msg, len);
		return;
	}
	if (len > 4 && memcmp(msg, "gen ", 4) == 0) {
		char buf[32];
		long long g;

		if (len - 4 >= sizeof(buf)) {
			reset_later(m, "unreadable generation notice");
			return;
		}
		memcpy(buf, msg + 4, len - 4);
		buf[len - 4] = '\0';
		g = strtoll(buf, NULL, 10);
		m->retry_after_ms = 0;
		if (m->phase >= PH_GEN && g != m->gen)
			reset(m, "a new generation went live");
		return;
	}
	if (m->phase < PH_FILL)
		return; /* the coming SCAN sees the change */
	if (len == 0 || len >= sizeof(raw) || memchr(msg, '\0', len)) {
		reset_later(m, "unreadable name notice");
		return;
	}
	memcpy(raw, msg, len);
	raw[len] = '\0';
	if (dnsname_normalize(raw, DNSNAME_WILDCARD, name, NULL) < 0) {
		reset_later(m, "unreadable name notice");
		return;
	}
	klen = replica_name_key(m->gen, name, key, sizeof(key));
	if (klen < 0) {
		reset_later(m, "unreadable name notice");
		return;
	}
	argv[0] = "MGET";
	lens[0] = 4;
	argv[1] = REPLICA_GEN_KEY;
	lens[1] = strlen(REPLICA_GEN_KEY);
	argv[2] = key;
	lens[2] = (size_t)klen;
	if ((m->pend_overflow ? 0 : pend_add(m, name)) < 0 ||
	    send_cmd(m, CMD_NAME, 3, argv, lens) < 0) {
		reset(m, "could not fetch a noticed name");
		return;
	}
	m->name_fetches++;
}

/* ---- the tick ---------------------------------------------------------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct mirror *m = arg;
	const char *argv[] = { "GET", REPLICA_GEN_KEY };

	(void)fd;
	(void)what;
	if (!m->redis_up || !redis_client_connected(m->rds)) {
		if (m->phase != PH_IDLE)
			reset(m, "redis replica connection lost");
		return;
	}
	if (!m->sub_up) {
		if (m->phase != PH_IDLE)
			reset(m, "notice channel lost");
		return;
	}
	if (m->phase == PH_IDLE) {
		if (m->retry_after_ms && clock_ms() < m->retry_after_ms)
			return;
		m->retry_after_ms = 0;
		m->phase = PH_SYNC;
	}
	if (m->phase >= PH_FILL && send_cmd(m, CMD_PROBE, 2, argv, NULL) < 0) {
		reset(m, "could not check the generation");
		return;
	}
	publish_marker(m);
}

/* ---- interface --------------------------------------------------------- */

struct mirror *mirror_create(struct event_base *base, struct redis_client *redis,
			     const struct mirror_config *cfg)
{
	struct mirror *m = calloc(1, sizeof(*m));
	struct timeval tv = { MIRROR_TICK_MS / 1000, (MIRROR_TICK_MS % 1000) * 1000 };
	struct timespec ts;

	if (!m)
		return NULL;
	m->base = base;
	m->rds = redis;
	m->cfg = *cfg;
	m->n_buckets = 1024;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(m->nonce, sizeof(m->nonce), "%lx%lx", (unsigned long)ts.tv_nsec,
		 (unsigned long)random() ^ (unsigned long)ts.tv_sec);
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	m->tick = event_new(base, -1, EV_PERSIST, on_tick, m);
	if (!m->buckets || !m->tick || event_add(m->tick, &tv) < 0) {
		mirror_destroy(m);
		return NULL;
	}
	return m;
}

void mirror_destroy(struct mirror *m)
{
	if (!m)
		return;
	if (m->tick)
		event_free(m->tick);
	if (m->buckets)
		clear(m);
	free(m->buckets);
	free(m->pend);
	free(m);
}

void mirror_redis_up(struct mirror *m, bool up)
{
	if (!m)
		return;
	m->redis_up = up;
	reset(m, up ? "redis replica reconnected" : "redis replica connection lost");
}

void mirror_sub_up(struct mirror *m, bool up)
{
	if (!m)
		return;
	m->sub_up = up;
	reset(m, up ? "notice channel resubscribed" : "notice channel lost");
}

bool mirror_usable(const struct mirror *m)
{
	int64_t now;

	if (!m || m->phase != PH_READY)
		return false;
	now = clock_ms();
	return now - m->echo_ms < MIRROR_FRESH_MS && now - m->gen_ok_ms < MIRROR_FRESH_MS;
}

static const struct entry *find(const struct mirror *m, const char *name, size_t len)
{
	uint64_t h = dnsname_hash(name, len);
	const struct entry *e = m->buckets[h & (m->n_buckets - 1)];

	for (; e; e = e->hnext)
		if (e->hash == h && e->name_len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

enum mirror_answer mirror_get(struct mirror *m, const char *name, const char **ret_value,
			      size_t *ret_len)
{
	size_t len = strlen(name);
	const struct entry *e;

	if (!mirror_usable(m))
		return MIRROR_UNKNOWN;
	if (m->pend_overflow || (m->n_pend && pend_find(m, name, len)))
		return MIRROR_UNKNOWN; /* changed, new value on its way: ask Redis */
	if ((e = find(m, name, len))) {
		*ret_value = e->value;
		*ret_len = e->value_len;
		return MIRROR_FOUND;
	}
	/* absent: only below a zone apex the mirror holds */
	for (const char *p = name; (p = strchr(p, '.')) && p[1];) {
		p++;
		e = find(m, p, len - (size_t)(p - name));
		if (e && e->apex)
			return MIRROR_ABSENT;
	}
	return MIRROR_UNKNOWN;
}
