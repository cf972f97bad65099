#pragma once

/*
 * Rate limiting in Redis with GCRA (the generic cell rate algorithm), shared
 * by every API instance: the state of a key is one "theoretical arrival
 * time" (TAT) kept in Redis, and every check runs one Lua script (EVALSHA,
 * EVAL after NOSCRIPT) that reads the server's clock (TIME), so instances
 * agree whatever their own clocks say. Keys expire (PX) once idle long
 * enough to be back at a full budget, so idle clients cost nothing.
 *
 * A rule allows @rate requests per @period_ms on average, and at most
 * @burst at once: one request's worth of budget comes back every
 * period_ms / rate milliseconds, up to @burst. A check may name several
 * keys, each with its own rule (the per-user and the per-address budget):
 * it passes only if every key has room, and only then is every key charged;
 * a denied check charges nothing. (The script touches every key of a check
 * at once: fine on one server; a Redis Cluster would need the keys of one
 * check in one hash slot, e.g. a {hash tag}.)
 *
 * Failing open. The callers (the API) let a request through when the check
 * fails (Redis down, timeout, error reply) and count the failure: the
 * limiter protects capacity, not secrets, and an outage of Redis must not
 * become an outage of the API. That is why errors arrive apart from results:
 * the callback tells "denied" from "could not tell".
 *
 * Threading: a limiter belongs to the thread running its client's loop.
 */

#include <stdbool.h>
#include <stddef.h>

struct redis_client;
struct http_request;

#define RATELIMIT_KEYS_MAX    8   /* keys in one check */
#define RATELIMIT_KEY_LEN_MAX 256 /* bytes in a key */

struct ratelimit_rule {
	long long rate;      /* requests per period, >= 1 */
	long long period_ms; /* >= 1; period_ms * 1000 / rate >= 1 (at most 1e6 per second) */
	long long burst;     /* requests at once, >= 1; the "limit" clients see */
	long long cost;      /* what this request takes, 1..burst; usually 1 */
	bool peek;           /* only check: never charge this key (e.g. charge it later,
				on failure, with a check of its own) */
};

struct ratelimit_result {
	bool allowed;
	/*
	 * Of the most restrictive key: the one with the fewest requests left
	 * (a denying key, when the check was denied); among equals, the one
	 * that takes longest to restore.
	 */
	long long limit;     /* its burst */
	long long remaining; /* requests of cost 1 left now (after this one, if allowed); min over
				keys */
	long long reset_ms;  /* until its budget is full again */
	/* 0 when allowed; else the longest wait among the denying keys until
	 * this request would pass. */
	long long retry_after_ms;
};

/*
 * The end of one check, called exactly once: @res (borrowed for the call)
 * when Redis answered, else NULL and a negative errno with a reason
 * (borrowed; lower case):
 *   -ENOTCONN    the client is not connected (Redis down or reconnecting)
 *   -ETIMEDOUT   no answer within the client's command timeout
 *   -ECONNRESET  the connection was lost while waiting
 *   -ENOBUFS     too many commands pending on the client
 *   -EPROTO      an error reply or a reply of the wrong shape
 *   -ECANCELED   the limiter or its client was destroyed first
 *   -ENOMEM
 * See "failing open" above. Never called from inside ratelimit_check().
 */
typedef void (*ratelimit_fn)(const struct ratelimit_result *res, int error, const char *reason,
			     void *arg);

struct ratelimit;

/*
 * Creates a limiter on @c (borrowed: it must outlive the limiter; destroy
 * the limiter first). Keys are used as given: the caller picks the Redis db
 * (db 2 in production) in the client's URL. Returns NULL with errno set
 * (EINVAL, ENOMEM).
 */
struct ratelimit *ratelimit_create(struct redis_client *c);

/*
 * Completes every check still in flight with -ECANCELED (callbacks run
 * before it returns) and frees the limiter. NULL-safe. May be called from
 * a ratelimit_fn; the callbacks it runs must not start new checks on @rl.
 */
void ratelimit_destroy(struct ratelimit *rl);

/*
 * Checks (and, if all pass, charges) @n keys at once: @keys[i] (copied,
 * e.g. "rl:w:u:42", "rl:r:a:192.0.2.1") under @rules[i] (copied). Returns
 * 0, and @cb runs exactly once later, also for failures of Redis (see
 * ratelimit_fn: the callback is the one place errors arrive); or -EINVAL
 * (n is 0 or above RATELIMIT_KEYS_MAX, an empty or too long key, a rule out
 * of range, NULL arguments) or -ENOMEM, and @cb is not called.
 */
int ratelimit_check(struct ratelimit *rl, const struct ratelimit_rule *rules,
		    const char *const *keys, size_t n, ratelimit_fn cb, void *arg);

/* The SHA1 of the script (40 hex digits), as SCRIPT LOAD would answer. */
const char *ratelimit_script_sha(void);

/*
 * The IETF draft headers (draft-ietf-httpapi-ratelimit-headers) for a
 * result, as text; a field is "" when its header is not to be sent.
 */
struct ratelimit_headers {
	char limit[24];       /* RateLimit-Limit: the limit */
	char remaining[24];   /* RateLimit-Remaining */
	char reset[24];       /* RateLimit-Reset: seconds, rounded up */
	char retry_after[24]; /* Retry-After: seconds, rounded up, >= 1; "" when allowed */
};

/* Fills *ret_h from @res; pure. Returns 0, or -EINVAL (NULL, or a negative
 * number in @res), *ret_h untouched. */
int ratelimit_headers(const struct ratelimit_result *res, struct ratelimit_headers *ret_h);

/* Adds those headers to the reply of @req (see http_reply_header()).
 * Returns 0 or the first error. */
int ratelimit_reply_headers(struct http_request *req, const struct ratelimit_result *res);
