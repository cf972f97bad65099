#include "shared/ratelimit.h"

#include "shared/http.h"
#include "shared/redis.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/*
 * GCRA over n keys. ARGV holds three numbers per key: the emission interval
 * T (microseconds per request), the burst and the cost (negative: a peek,
 * checked at its absolute value and never charged). A key holds its TAT
 * in microseconds of the server's clock; a request of cost c passes when
 * max(TAT, now) + c*T - now <= burst*T. The check passes only when every
 * key passes, and only then are the TATs written, each with a TTL that ends
 * when the key would be back at a full budget anyway.
 *
 * Answers {allowed, then per key: remaining, retry_after_ms, reset_ms}; for
 * a denied check, remaining and reset are those of the unchanged state.
 * Integers throughout (T is a whole number of microseconds and the server
 * time is below 2^53), so the arithmetic on Lua's doubles is exact.
 */
static const char script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local allowed = 1\n"
	"local st = {}\n"
	"for i = 1, #KEYS do\n"
	"  local T = tonumber(ARGV[3 * i - 2])\n"
	"  local tau = T * tonumber(ARGV[3 * i - 1])\n"
	"  local cost = tonumber(ARGV[3 * i])\n"
	"  local peek = cost < 0\n"
	"  if peek then cost = -cost end\n"
	"  local v = redis.call('GET', KEYS[i])\n"
	"  local tat = v and tonumber(v) or now\n"
	"  if tat < now then tat = now end\n"
	"  local nt = tat + T * cost\n"
	"  local s = { T = T, tau = tau, tat = tat, nt = nt, retry = 0, peek = peek }\n"
	"  if nt - now > tau then\n"
	"    allowed = 0\n"
	"    s.retry = nt - tau - now\n"
	"  end\n"
	"  st[i] = s\n"
	"end\n"
	"local out = { allowed }\n"
	"for i = 1, #KEYS do\n"
	"  local s = st[i]\n"
	"  local tat = s.tat\n"
	"  if allowed == 1 and not s.peek then\n"
	"    tat = s.nt\n"
	"    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX',\n"
	"      math.max(1, math.ceil((tat - now) / 1000)))\n"
	"  end\n"
	"  out[#out + 1] = math.floor((s.tau - (tat - now)) / s.T)\n"
	"  out[#out + 1] = math.ceil(s.retry / 1000)\n"
	"  out[#out + 1] = math.ceil((tat - now) / 1000)\n"
	"end\n"
	"return out\n";

/* Largest burst * T in microseconds (about 31 years): with the server time
 * (about 1.7e15 µs) it stays far below 2^53. */
#define TAU_US_MAX 1000000000000000LL

#define ARGC_MAX   (3 + RATELIMIT_KEYS_MAX * 4) /* EVALSHA sha n, keys, 3 numbers per key */

struct ratelimit;

struct op {
	struct ratelimit *rl; /* borrowed; NULL once completed by ratelimit_destroy() */
	ratelimit_fn cb;
	void *arg; /* borrowed */
	size_t n;
	long long burst[RATELIMIT_KEYS_MAX];
	bool eval_sent;      /* fell back to EVAL after NOSCRIPT */
	struct event *defer; /* owned; an immediate failure waiting for the loop */
	int error;
	const char *reason; /* static; for a deferred failure */
	int argc;
	const char *argv[ARGC_MAX];
	size_t argvlen[ARGC_MAX];
	char nums[1 + RATELIMIT_KEYS_MAX * 3][24];
	int n_nums;
	char *keys; /* owned; the keys, back to back */
	char errbuf[160];
	TAILQ_ENTRY(op) link;
};

struct ratelimit {
	struct redis_client *c; /* borrowed */
	char sha[41];
	TAILQ_HEAD(, op) ops; /* owned; in flight */
};

/* The script's SHA1, which names it for EVALSHA. */
static void sha1_hex(const void *data, size_t len, char ret[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha1(), NULL) != 1 || n != 20) {
		ret[0] = '\0'; /* EVALSHA then fails with NOSCRIPT and EVAL is used */
		return;
	}
	for (unsigned i = 0; i < n; i++)
		snprintf(ret + 2 * i, 3, "%02x", md[i]);
}

const char *ratelimit_script_sha(void)
{
	static char sha[41];

	if (!sha[0])
		sha1_hex(script, sizeof(script) - 1, sha);
	return sha;
}

/* -- checks ---------------------------------------------------------------- */

struct ratelimit *ratelimit_create(struct redis_client *c)
{
	struct ratelimit *rl;

	if (!c) {
		errno = EINVAL;
		return NULL;
	}
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->c = c;
	memcpy(rl->sha, ratelimit_script_sha(), sizeof(rl->sha));
	TAILQ_INIT(&rl->ops);
	return rl;
}

static void op_free(struct op *op)
{
	if (!op)
		return;
	if (op->defer)
		event_free(op->defer);
	free(op->keys);
	free(op);
}

/* Takes @op out of its limiter, runs its callback and frees it. @rl may be
 * gone when this returns (the callback may destroy it). */
static void op_finish(struct op *op, const struct ratelimit_result *res, int error,
		      const char *reason)
{
	TAILQ_REMOVE(&op->rl->ops, op, link);
	op->rl = NULL;
	op->cb(res, error, reason, op->arg);
	op_free(op);
}

void ratelimit_destroy(struct ratelimit *rl)
{
	struct op *op;

	if (!rl)
		return;
	while ((op = TAILQ_FIRST(&rl->ops))) {
		TAILQ_REMOVE(&rl->ops, op, link);
		op->rl = NULL;
		op->cb(NULL, -ECANCELED, "rate limiter destroyed", op->arg);
		/* One waiting for Redis is freed by its reply callback, which
		 * the client calls exactly once; a deferred one is ours. */
		if (op->defer)
			op_free(op);
	}
	free(rl);
}

static int redis_errno(const char *err)
{
	if (!err)
		return -EIO;
	if (strcmp(err, "timeout") == 0)
		return -ETIMEDOUT;
	if (strncmp(err, "connection lost", 15) == 0)
		return -ECONNRESET;
	if (strcmp(err, "client destroyed") == 0)
		return -ECANCELED;
	return -EIO;
}

static const char *send_reason(int r)
{
	switch (r) {
	case -ENOTCONN:
		return "redis not connected";
	case -ENOBUFS:
		return "too many redis commands pending";
	case -ENOMEM:
		return "out of memory";
	default:
		return "could not send the command to redis";
	}
}

/* Reads the script's answer into *ret; false when it has the wrong shape. */
static bool result_parse(const struct op *op, const redisReply *reply, struct ratelimit_result *ret)
{
	struct ratelimit_result res = { 0 };
	size_t best = SIZE_MAX;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 + 3 * op->n)
		return false;
	for (size_t i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type != REDIS_REPLY_INTEGER)
			return false;
	}
	res.allowed = reply->element[0]->integer == 1;
	for (size_t i = 0; i < op->n; i++) {
		long long rem = reply->element[1 + 3 * i]->integer;
		long long retry = reply->element[2 + 3 * i]->integer;
		long long reset = reply->element[3 + 3 * i]->integer;
		bool denying = retry > 0;

		if (rem < 0 || retry < 0 || reset < 0)
			return false;
		if (!res.allowed && !denying)
			continue; /* the most restrictive key is a denying one */
		if (retry > res.retry_after_ms)
			res.retry_after_ms = retry;
		if (best == SIZE_MAX || rem < res.remaining ||
		    (rem == res.remaining && reset > res.reset_ms)) {
			best = i;
			res.remaining = rem;
			res.reset_ms = reset;
			res.limit = op->burst[i];
		}
	}
	if (best == SIZE_MAX)
		return false; /* denied, but no key says why */
	/* remaining is the minimum over all keys, denying or not */
	for (size_t i = 0; i < op->n; i++) {
		if (reply->element[1 + 3 * i]->integer < res.remaining)
			res.remaining = reply->element[1 + 3 * i]->integer;
	}
	if (res.allowed)
		res.retry_after_ms = 0;
	*ret = res;
	return true;
}

static void on_reply(redisReply *reply, const char *err, void *arg)
{
	struct op *op = arg;
	struct ratelimit_result res;
	int r;

	if (!op->rl) {
		op_free(op); /* completed by ratelimit_destroy() already */
		return;
	}
	if (!reply) {
		op_finish(op, NULL, redis_errno(err), err ? err : "no reply");
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR && !op->eval_sent && reply->str &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		/* The server does not know the script (restart, SCRIPT FLUSH):
		 * EVAL loads it, so the next checks' EVALSHA works again. */
		op->eval_sent = true;
		op->argv[0] = "EVAL";
		op->argvlen[0] = 4;
		op->argv[1] = script;
		op->argvlen[1] = sizeof(script) - 1;
		r = redis_client_commandv(op->rl->c, 0, on_reply, op, op->argc, op->argv,
					  op->argvlen);
		if (r < 0)
			op_finish(op, NULL, r, send_reason(r));
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(op->errbuf, sizeof(op->errbuf), "redis error: %.*s",
			 (int)(reply->len < 120 ? reply->len : 120), reply->str ? reply->str : "");
		op_finish(op, NULL, -EPROTO, op->errbuf);
		return;
	}
	if (!result_parse(op, reply, &res)) {
		op_finish(op, NULL, -EPROTO, "unexpected reply from the rate limit script");
		return;
	}
	op_finish(op, &res, 0, NULL);
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct op *op = arg;

	(void)fd;
	(void)what;
	op_finish(op, NULL, op->error, op->reason);
}

static void push(struct op *op, const char *arg, size_t len)
{
	op->argv[op->argc] = arg;
	op->argvlen[op->argc++] = len;
}

static void push_num(struct op *op, long long v)
{
	char *num = op->nums[op->n_nums++];
	int len = snprintf(num, sizeof(op->nums[0]), "%lld", v);

	push(op, num, (size_t)len);
}

static bool rule_valid(const struct ratelimit_rule *rule)
{
	long long t_us;

	if (rule->rate < 1 || rule->period_ms < 1 || rule->burst < 1)
		return false;
	if (rule->cost < 1 || rule->cost > rule->burst)
		return false;
	if (rule->period_ms > TAU_US_MAX / 1000)
		return false;
	t_us = rule->period_ms * 1000 / rule->rate;
	if (t_us < 1)
		return false;
	return rule->burst <= TAU_US_MAX / t_us;
}

int ratelimit_check(struct ratelimit *rl, const struct ratelimit_rule *rules,
		    const char *const *keys, size_t n, ratelimit_fn cb, void *arg)
{
	struct op *op = NULL;
	size_t keys_size = 0, len[RATELIMIT_KEYS_MAX];
	char *p;
	int r;

	if (!rl || !rules || !keys || !cb || n == 0 || n > RATELIMIT_KEYS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!keys[i] || !rule_valid(&rules[i]))
			return -EINVAL;
		len[i] = strlen(keys[i]);
		if (len[i] == 0 || len[i] > RATELIMIT_KEY_LEN_MAX)
			return -EINVAL;
		keys_size += len[i];
	}

	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->keys = malloc(keys_size + 1);
	if (!op->keys) {
		r = -ENOMEM;
		goto out;
	}
	op->cb = cb;
	op->arg = arg;
	op->n = n;

	/* EVALSHA sha numkeys key... (T burst cost)... */
	push(op, "EVALSHA", 7);
	push(op, rl->sha, 40);
	push_num(op, (long long)n);
	p = op->keys;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, keys[i], len[i]);
		push(op, p, len[i]);
		p += len[i];
	}
	for (size_t i = 0; i < n; i++) {
		const struct ratelimit_rule *rule = &rules[i];

		op->burst[i] = rule->burst;
		push_num(op, rule->period_ms * 1000 / rule->rate);
		push_num(op, rule->burst);
		push_num(op, rule->peek ? -rule->cost : rule->cost);
	}

	op->rl = rl;
	TAILQ_INSERT_TAIL(&rl->ops, op, link);
	r = redis_client_commandv(rl->c, 0, on_reply, op, op->argc, op->argv, op->argvlen);
	if (r < 0) {
		/* Report it through the callback, from the loop, like any
		 * other failure of Redis. */
		op->error = r;
		op->reason = send_reason(r);
		op->defer = event_new(redis_client_base(rl->c), -1, 0, on_defer, op);
		if (!op->defer) {
			TAILQ_REMOVE(&rl->ops, op, link);
			r = -ENOMEM;
			goto out;
		}
		event_active(op->defer, EV_TIMEOUT, 0);
	}
	op = NULL; /* owned by rl->ops until completed */
	r = 0;
out:
	op_free(op);
	return r;
}

/* -- headers --------------------------------------------------------------- */

static long long ceil_s(long long ms)
{
	return ms / 1000 + (ms % 1000 != 0);
}

int ratelimit_headers(const struct ratelimit_result *res, struct ratelimit_headers *ret_h)
{
	struct ratelimit_headers h = { 0 };

	if (!res || !ret_h || res->limit < 0 || res->remaining < 0 || res->reset_ms < 0 ||
	    res->retry_after_ms < 0)
		return -EINVAL;
	snprintf(h.limit, sizeof(h.limit), "%lld", res->limit);
	snprintf(h.remaining, sizeof(h.remaining), "%lld", res->remaining);
	snprintf(h.reset, sizeof(h.reset), "%lld", ceil_s(res->reset_ms));
	if (!res->allowed) {
		long long s = ceil_s(res->retry_after_ms);

		snprintf(h.retry_after, sizeof(h.retry_after), "%lld", s < 1 ? 1 : s);
	}
	*ret_h = h;
	return 0;
}

int ratelimit_reply_headers(struct http_request *req, const struct ratelimit_result *res)
{
	struct ratelimit_headers h;
	int r;

	r = ratelimit_headers(res, &h);
	if (r < 0)
		return r;
	r = http_reply_header(req, "RateLimit-Limit", h.limit);
	if (r == 0)
		r = http_reply_header(req, "RateLimit-Remaining", h.remaining);
	if (r == 0)
		r = http_reply_header(req, "RateLimit-Reset", h.reset);
	if (r == 0 && h.retry_after[0])
		r = http_reply_header(req, "Retry-After", h.retry_after);
	return r;
}
