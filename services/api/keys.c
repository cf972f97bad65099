/* keys: the public keys that verify tokens, by kid, cached in memory. */

#include "services/api/keys.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/dnsname.h"
#include "shared/log.h"
#include "shared/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_BUCKETS      4096
#define KID_MAX        128
#define TOUCH_EVERY_MS 60000

static const char KEY_SQL[] =
	"SELECT k.algorithm, k.public_jwk::text, k.user_id::text, k.revoked_at IS NOT NULL "
	"FROM api_keys k JOIN users u ON u.id = k.user_id AND u.status = 'active' "
	"WHERE k.kid = $1";

static const char TOUCH_SQL[] =
	"UPDATE api_keys SET last_used_at = now() WHERE kid = $1 "
	"AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')";

struct waiter {
	keys_fn cb;
	void *arg; /* borrowed */
	struct waiter *next;
};

struct entry {
	struct entry *next; /* in its bucket */
	struct keys *keys;  /* borrowed */
	char kid[KID_MAX + 1];
	struct jwt_key *key; /* owned; NULL: unknown or revoked */
	uint64_t serial;     /* of this load of the key */
	enum jwt_reason reason;
	long long expires_ms; /* CLOCK_MONOTONIC; 0 for a static key */
	long long touched_ms;
	bool loading;   /* a query is in flight; waiters wait */
	bool forgotten; /* dropped from the table while loading: deliver, then free */
	struct waiter *waiters, **tail;
};

struct keys {
	struct db_pool *pool; /* borrowed */
	long long ttl_ms, negative_ttl_ms;
	struct entry *buckets[N_BUCKETS];
	size_t n;
	uint64_t next_serial;
	struct metric *hits, *misses, *errors;
};

static struct entry **slot(struct keys *k, const char *kid)
{
	return &k->buckets[dnsname_hash(kid, strlen(kid)) % N_BUCKETS];
}

static struct entry *find(struct keys *k, const char *kid)
{
	for (struct entry *e = *slot(k, kid); e; e = e->next)
		if (strcmp(e->kid, kid) == 0)
			return e;
	return NULL;
}

static void unlink_entry(struct keys *k, struct entry *e)
{
	for (struct entry **p = slot(k, e->kid); *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			k->n--;
			return;
		}
}

static void free_entry(struct entry *e)
{
	jwt_key_destroy(e->key);
	free(e);
}

/* Drops expired entries that are not loading. */
static void sweep(struct keys *k, long long now)
{
	for (size_t i = 0; i < N_BUCKETS; i++) {
		struct entry **p = &k->buckets[i];

		while (*p) {
			struct entry *e = *p;

			if (!e->loading && e->expires_ms && e->expires_ms <= now) {
				*p = e->next;
				k->n--;
				free_entry(e);
			} else {
				p = &e->next;
			}
		}
	}
}

struct keys *keys_create(struct db_pool *pool, long long ttl_ms, long long negative_ttl_ms,
			 struct metrics_registry *metrics)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->pool = pool;
	k->ttl_ms = ttl_ms;
	k->negative_ttl_ms = negative_ttl_ms;
	k->hits = metrics_counter(metrics, "api_key_cache_hits_total",
				  "token key lookups answered from memory");
	k->misses = metrics_counter(metrics, "api_key_cache_misses_total",
				    "token key lookups that read PostgreSQL");
	k->errors = metrics_counter(metrics, "api_key_cache_errors_total",
				    "token key lookups that failed (PostgreSQL unavailable)");
	return k;
}

static void deliver(struct entry *e, int err)
{
	struct waiter *w = e->waiters;

	e->waiters = NULL;
	e->tail = &e->waiters;
	while (w) {
		struct waiter *next = w->next;

		w->cb(err ? NULL : e->key, e->serial, err ? JWT_KEY_UNKNOWN : e->reason, err,
		      w->arg);
		free(w);
		w = next;
	}
}

void keys_destroy(struct keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < N_BUCKETS; i++) {
		struct entry *e = k->buckets[i];

		while (e) {
			struct entry *next = e->next;

			/* a loading entry's query was cancelled with the pool
			 * (destroyed first), which delivered and freed it */
			deliver(e, -ECANCELED);
			free_entry(e);
			e = next;
		}
	}
	free(k);
}

static struct entry *new_entry(struct keys *k, const char *kid)
{
	struct entry *e;

	if (strlen(kid) > KID_MAX)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->keys = k;
	strcpy(e->kid, kid);
	e->tail = &e->waiters;
	return e;
}

static void insert(struct keys *k, struct entry *e)
{
	struct entry **s = slot(k, e->kid);

	e->next = *s;
	*s = e;
	k->n++;
}

int keys_add_static(struct keys *k, const char *kid, struct jwt_key *key)
{
	struct entry *e;

	if (find(k, kid)) {
		jwt_key_destroy(key);
		return -EEXIST;
	}
	e = new_entry(k, kid);
	if (!e) {
		jwt_key_destroy(key);
		return -ENOMEM;
	}
	e->key = key;
	e->serial = ++k->next_serial;
	e->reason = JWT_OK;
	insert(k, e);
	return 0;
}

bool keys_cached(struct keys *k, const char *kid)
{
	struct entry *e = find(k, kid);

	return e && !e->loading && (!e->expires_ms || e->expires_ms > clock_ms());
}

static void on_key_row(PGresult *res, const struct db_error *err, void *arg)
{
	struct entry *e = arg;
	struct keys *k = e->keys;
	int r = 0;

	e->loading = false;
	if (err) {
		metric_inc(k->errors);
		r = err->code;
		/* not remembered: out of the table before anyone is answered */
		e->reason = JWT_KEY_UNKNOWN;
		if (!e->forgotten) {
			unlink_entry(k, e);
			e->forgotten = true;
		}
	} else if (PQntuples(res) == 0) {
		e->reason = JWT_KEY_UNKNOWN;
	} else if (strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
		e->reason = JWT_KEY_REVOKED;
	} else {
		const char *alg_s = PQgetvalue(res, 0, 0), *reason = NULL;
		enum jwt_alg alg = strcmp(alg_s, "ES256") == 0 ? JWT_ES256 : JWT_RS256;

		if (jwt_key_from_jwk(PQgetvalue(res, 0, 1), alg, PQgetvalue(res, 0, 2), &e->key,
				     &reason) < 0) {
			log_warn(NULL, "key \"%s\" in api_keys is not usable: %s, ignoring", e->kid,
				 reason ? reason : "invalid");
			e->reason = JWT_KEY_UNKNOWN;
		} else {
			e->serial = ++k->next_serial;
			e->reason = JWT_OK;
		}
	}
	e->expires_ms = clock_ms() + (e->key ? k->ttl_ms : k->negative_ttl_ms);
	deliver(e, r);
	if (e->forgotten) /* failed, dropped meanwhile, or no room */
		free_entry(e);
}

void keys_lookup(struct keys *k, const char *kid, keys_fn cb, void *arg)
{
	struct entry *e = find(k, kid);
	struct waiter *w;
	long long now = clock_ms();
	const char *params[1] = { kid };
	int r;

	if (e && !e->loading && e->expires_ms && e->expires_ms <= now) {
		unlink_entry(k, e);
		free_entry(e);
		e = NULL;
	}
	if (e && !e->loading) {
		metric_inc(k->hits);
		cb(e->key, e->serial, e->reason, 0, arg);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		cb(NULL, 0, JWT_KEY_UNKNOWN, -ENOMEM, arg);
		return;
	}
	w->cb = cb;
	w->arg = arg;
	if (e) { /* a read of this kid is in flight: wait for it */
		*e->tail = w;
		e->tail = &w->next;
		return;
	}
	metric_inc(k->misses);
	if (k->n >= KEYS_MAX)
		sweep(k, now);
	e = new_entry(k, kid);
	if (!e) {
		free(w);
		cb(NULL, 0, JWT_KEY_UNKNOWN, -ENOMEM, arg);
		return;
	}
	e->loading = true;
	*e->tail = w;
	e->tail = &w->next;
	r = db_pool_query(k->pool, KEY_SQL, 1, params, -1, on_key_row, e);
	if (r < 0) {
		metric_inc(k->errors);
		deliver(e, r);
		free_entry(e);
		return;
	}
	if (k->n < KEYS_MAX)
		insert(k, e);
	else
		e->forgotten = true; /* full: answer, do not keep */
}

void keys_forget(struct keys *k, const char *kid)
{
	struct entry *e = find(k, kid);

	if (!e || (!e->loading && !e->expires_ms))
		return; /* not cached, or static */
	unlink_entry(k, e);
	if (e->loading)
		e->forgotten = true;
	else
		free_entry(e);
}

void keys_forget_all(struct keys *k)
{
	for (size_t i = 0; i < N_BUCKETS; i++) {
		struct entry **p = &k->buckets[i];

		while (*p) {
			struct entry *e = *p;

			if (!e->loading && !e->expires_ms) { /* static */
				p = &e->next;
				continue;
			}
			*p = e->next;
			k->n--;
			if (e->loading)
				e->forgotten = true;
			else
				free_entry(e);
		}
	}
}

static void on_touched(PGresult *res, const struct db_error *err, void *arg)
{
	(void)res;
	if (err)
		log_debug(NULL, "could not record the use of key \"%s\": %s", (char *)arg,
			  err->msg);
	free(arg);
}

void keys_touch(struct keys *k, const char *kid)
{
	struct entry *e = find(k, kid);
	long long now = clock_ms();
	const char *params[1] = { kid };
	char *copy;

	if (!e || !e->expires_ms || e->loading || now - e->touched_ms < TOUCH_EVERY_MS)
		return;
	e->touched_ms = now;
	copy = strdup(kid);
	if (copy && db_pool_query(k->pool, TOUCH_SQL, 1, params, -1, on_touched, copy) < 0)
		free(copy);
}
