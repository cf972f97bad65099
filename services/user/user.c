/* ddns-user: the request pipeline (limits, sessions, CSRF), sessions, jobs, the engine. */

#include "services/user/hasher.h"
#include "services/user/user_int.h"
#include "shared/db.h"
#include "shared/http.h"
#include "shared/jwt.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct endpoint user_endpoints[] = {
	{ "POST", "/api/v1/users", h_signup, false, false, LIMIT_SIGNUP },
	{ "POST", "/api/v1/users/verify", h_verify, false, false, LIMIT_NONE },
	{ "POST", "/api/v1/users/verify/resend", h_verify_resend, false, false, LIMIT_MAIL },
	{ "POST", "/api/v1/sessions", h_login, false, false, LIMIT_LOGIN },
	{ "DELETE", "/api/v1/sessions", h_logout, false, true, LIMIT_NONE },
	{ "POST", "/api/v1/sessions/token", h_session_token, true, true, LIMIT_NONE },
	{ "GET", "/api/v1/me", h_me, true, false, LIMIT_NONE },
	{ "DELETE", "/api/v1/me", h_me_delete, true, true, LIMIT_LOGIN },
	{ "PUT", "/api/v1/me/password", h_password_change, true, true, LIMIT_LOGIN },
	{ "POST", "/api/v1/password-reset", h_password_reset, false, false, LIMIT_MAIL },
	{ "POST", "/api/v1/password-reset/confirm", h_password_reset_confirm, false, false,
	  LIMIT_NONE },
	{ "GET", "/api/v1/keys", h_keys_list, true, false, LIMIT_NONE },
	{ "POST", "/api/v1/keys", h_key_add, true, true, LIMIT_NONE },
	{ "DELETE", "/api/v1/keys/{kid}", h_key_delete, true, true, LIMIT_NONE },
};
const size_t user_n_endpoints = sizeof(user_endpoints) / sizeof(user_endpoints[0]);

void user_print_routes(FILE *out)
{
	fprintf(out, "GET /healthz\nGET /readyz\nGET /metrics\n");
	for (size_t i = 0; i < user_n_endpoints; i++)
		fprintf(out, "%s %s\n", user_endpoints[i].method, user_endpoints[i].pattern);
}

/* ---- answers ------------------------------------------------------------ */

/* Members of a body that hold secrets: wiped before the body is freed. */
static const char *const secret_members[] = { "password", "current_password", "new_password",
					      "public_key", "token" };

void call_free(struct call *c)
{
	for (size_t i = 0; c->body && i < sizeof(secret_members) / sizeof(secret_members[0]); i++) {
		json_t *v = json_object_get(c->body, secret_members[i]);

		if (json_is_string(v))
			sodium_memzero((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(c->body);
	sodium_memzero(c->token, sizeof(c->token));
	sodium_memzero(c->hash, sizeof(c->hash));
	free(c);
}

void call_reply_json(struct call *c, int status, json_t *body)
{
	http_reply_json(c->req, status, body);
	call_free(c);
}

void call_reply_text(struct call *c, int status, const char *json_text)
{
	http_reply_text(c->req, status, "application/json", json_text);
	call_free(c);
}

void call_reply_error(struct call *c, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply_error(c->req, status, code, "%s", msg);
	call_free(c);
}

void call_reply_busy(struct call *c)
{
	metric_inc(c->u->busy);
	(void)http_reply_header(c->req, "Retry-After", "1");
	call_reply_error(c, 503, "busy", "the service is busy, try again in a moment");
}

void call_reply_db_error(struct call *c, const struct db_error *err)
{
	const char *s = err->sqlstate, *k = err->constraint;

	if (strcmp(s, "DDN01") == 0)
		return call_reply_error(c, 404, "not_found", "no such key");
	if (strcmp(s, "DDT01") == 0)
		return call_reply_error(c, 400, "invalid_token",
					"the link is invalid, used or expired: ask for a new one");
	if (strcmp(s, "DDU01") == 0)
		return call_reply_error(c, 403, "account_disabled", "the account is disabled");
	if (strcmp(s, "DDL02") == 0)
		return call_reply_error(c, 409, "key_limit",
					"you hold the most keys allowed (%lld); delete one first",
					c->u->opts->key_limit);
	if (strcmp(s, "23505") == 0 && strcmp(k, "api_keys_kid_key") == 0)
		return call_reply_error(c, 409, "key_exists",
					"this public key is registered already (a deleted key "
					"cannot be registered again: make a new key pair)");
	http_reply_db_error(c->req, err);
	call_free(c);
}

bool call_closing(struct call *c)
{
	if (!c->u->closing)
		return false;
	call_reply_error(c, 503, "unavailable", "the service is shutting down, try again");
	return true;
}

/* ---- jobs --------------------------------------------------------------- */

static void on_job(redisReply *reply, const char *err, void *arg)
{
	struct user_service *u = arg;

	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		metric_inc(u->job_errors);
		log_warn(NULL, "could not queue an email job: %s", reply ? reply->str : err);
	}
}

void user_job(struct user_service *u, const char *rid, const char *type, const char *to,
	      const char *token)
{
	unsigned char rnd[16];
	char id[33];
	const char *argv[] = { "XADD",   USER_JOBS_STREAM,
			       "MAXLEN", "~",
			       "100000", "*",
			       "type",   type,
			       "id",     id,
			       "to",     to,
			       "token",  token };
	int argc = token ? 14 : 12;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(id, sizeof(id), rnd, sizeof(rnd));
	if (u->closing ||
	    redis_client_commandv(u->stream_redis, 1000, on_job, u, argc, argv, NULL) < 0) {
		metric_inc(u->job_errors);
		log_warn(rid, "could not queue an email job: not connected to Redis");
		return;
	}
	metric_inc(u->jobs_queued);
	log_info(rid, "email job %s queued: %s", id, type);
}

/* ---- sessions ----------------------------------------------------------- */

/*
 * sess:<hex SHA-256 of the cookie value> is a hash {uid, abs} that expires
 * when idle; abs is the absolute end (ms since the epoch, Redis's clock).
 * sess:u:<uid> is the set of a user's session keys, to end them all.
 */
static const char lua_create[] =
	"local t = redis.call('TIME') "
	"local now = t[1] * 1000 + math.floor(t[2] / 1000) "
	"redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'abs', now + tonumber(ARGV[3])) "
	"redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
	"redis.call('SADD', KEYS[2], ARGV[4]) "
	"redis.call('PEXPIRE', KEYS[2], ARGV[3]) "
	"return 1";

static const char lua_lookup[] =
	"local v = redis.call('HMGET', KEYS[1], 'uid', 'abs') "
	"if not v[1] then return false end "
	"local t = redis.call('TIME') "
	"local left = tonumber(v[2]) - (t[1] * 1000 + math.floor(t[2] / 1000)) "
	"if left <= 0 then redis.call('DEL', KEYS[1]) return false end "
	"redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), left)) "
	"return v[1]";

/* Ends every session of KEYS[1] (the user's set) but ARGV[1] ("" : none kept). */
static const char lua_end_all[] = "local n = 0 "
				  "for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
				  "  if h ~= ARGV[1] then "
				  "    redis.call('DEL', 'sess:' .. h) "
				  "    redis.call('SREM', KEYS[1], h) n = n + 1 "
				  "  end "
				  "end "
				  "return n";

static void hex_sha256(const char *in, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)in, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static const char *cookie_name(const struct user_service *u)
{
	return u->opts->cookie_secure ? "__Host-" USER_COOKIE : USER_COOKIE;
}

/*
 * The key part of the request's session: the hex SHA-256 of its cookie's
 * bytes (as token_new hashed them), if it has exactly one
 * well-formed session cookie (two: one was planted; neither counts).
 */
static bool cookie_session(const struct user_service *u, struct http_request *req, char out[65])
{
	const char *h = http_request_header(req, "Cookie"), *name = cookie_name(u), *found = NULL;
	size_t nlen = strlen(name);
	unsigned char hash[32];

	while (h && *h) {
		size_t len;

		h += strspn(h, " ;");
		len = strcspn(h, ";");
		if (len > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
			if (found || len != nlen + 1 + TOKEN_LEN)
				return false;
			found = h + nlen + 1;
		}
		h += len;
	}
	if (!found || token_hash(found, TOKEN_LEN, hash) < 0)
		return false;
	sodium_bin2hex(out, 65, hash, sizeof(hash));
	return true;
}

static void set_cookie(struct call *c, const char *value, long long max_age_s)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s",
		 cookie_name(c->u), value, max_age_s, c->u->opts->cookie_secure ? "; Secure" : "");
	(void)http_reply_header(c->req, "Set-Cookie", buf);
}

void session_clear_cookie(struct call *c)
{
	set_cookie(c, "", 0);
}

struct session_wait {
	struct call *c;
	session_fn next;
	char sid[TOKEN_LEN + 1];
};

static void on_session_created(redisReply *reply, const char *err, void *arg)
{
	struct session_wait *w = arg;
	struct call *c = w->c;
	session_fn next = w->next;
	int r = 0;

	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		log_warn(http_request_id(c->req), "could not create a session: %s",
			 reply ? reply->str : err);
		r = -EIO;
	} else {
		set_cookie(c, w->sid, c->u->opts->session_lifetime_ms / 1000);
	}
	sodium_memzero(w->sid, sizeof(w->sid));
	free(w);
	next(c, r);
}

void session_create(struct call *c, session_fn next)
{
	const struct user_options *o = c->u->opts;
	struct session_wait *w = calloc(1, sizeof(*w));
	unsigned char h[32];
	char key[80], ukey[64], idle[24], life[24];

	if (!w)
		return next(c, -ENOMEM);
	w->c = c;
	w->next = next;
	token_new(w->sid, h);
	sodium_bin2hex(c->sid_hash, sizeof(c->sid_hash), h, sizeof(h));
	snprintf(key, sizeof(key), USER_SESSION_PREFIX "%s", c->sid_hash);
	snprintf(ukey, sizeof(ukey), USER_SESSION_PREFIX "u:%lld", c->user_id);
	snprintf(idle, sizeof(idle), "%lld", o->session_idle_ms);
	snprintf(life, sizeof(life), "%lld", o->session_lifetime_ms);
	if (redis_client_command(c->u->sess_redis, 0, on_session_created, w,
				 "EVAL %s 2 %s %s %s %s %s %s", lua_create, key, ukey, c->user_s,
				 idle, life, c->sid_hash) < 0) {
		free(w);
		return next(c, -ENOTCONN);
	}
}

static void on_others_ended(redisReply *reply, const char *err, void *arg)
{
	struct session_wait *w = arg;
	struct call *c = w->c;
	session_fn next = w->next;
	int r = 0;

	free(w);
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		log_error(http_request_id(c->req), "could not end the sessions of user %lld: %s",
			  c->user_id, reply ? reply->str : err);
		r = -EIO;
	}
	next(c, r);
}

void session_end_others(struct call *c, bool keep_own, session_fn next)
{
	struct session_wait *w = calloc(1, sizeof(*w));
	char ukey[64];

	if (!w)
		return next(c, -ENOMEM);
	w->c = c;
	w->next = next;
	snprintf(ukey, sizeof(ukey), USER_SESSION_PREFIX "u:%lld", c->user_id);
	if (redis_client_command(c->u->sess_redis, 0, on_others_ended, w, "EVAL %s 1 %s %s",
				 lua_end_all, ukey, keep_own ? c->sid_hash : "") < 0) {
		free(w);
		log_error(http_request_id(c->req),
			  "could not end the sessions of user %lld: not connected", c->user_id);
		return next(c, -ENOTCONN);
	}
}

static void on_session_ended(redisReply *reply, const char *err, void *arg)
{
	struct session_wait *w = arg;
	struct call *c = w->c;
	session_fn next = w->next;

	free(w);
	if (!reply || reply->type == REDIS_REPLY_ERROR)
		log_warn(http_request_id(c->req), "could not end a session: %s",
			 reply ? reply->str : err);
	next(c, 0);
}

void session_end(struct call *c, session_fn next)
{
	struct session_wait *w;
	char key[80];

	session_clear_cookie(c);
	if (!c->sid_hash[0] && !cookie_session(c->u, c->req, c->sid_hash))
		return next(c, 0);
	w = calloc(1, sizeof(*w));
	if (!w)
		return next(c, -ENOMEM);
	w->c = c;
	w->next = next;
	snprintf(key, sizeof(key), USER_SESSION_PREFIX "%s", c->sid_hash);
	/* the user's set keeps the entry until it is swept: harmless */
	if (redis_client_command(c->u->sess_redis, 0, on_session_ended, w, "DEL %s", key) < 0) {
		free(w);
		log_warn(http_request_id(c->req), "could not end a session: not connected");
		return next(c, 0);
	}
}

/* ---- limits ------------------------------------------------------------- */

static void reply_limited(struct call *c)
{
	metric_inc(c->u->rl_denied);
	if (c->limit.limit > 0)
		(void)ratelimit_reply_headers(c->req, &c->limit);
	call_reply_error(c, 429, "rate_limited", "too many requests, retry after %lld s",
			 (c->limit.retry_after_ms + 999) / 1000);
}

struct limit_wait {
	struct call *c;
	step_fn next;
	bool fail_closed;
};

static void on_limits(const struct ratelimit_result *res, int err, const char *reason, void *arg)
{
	struct limit_wait *lw = arg;
	struct call *c = lw->c;
	step_fn next = lw->next;
	bool fail_closed = lw->fail_closed;

	free(lw);
	if (call_closing(c))
		return;
	if (err < 0) {
		metric_inc(c->u->rl_errors);
		log_debug(http_request_id(c->req), "rate limit not checked: %s",
			  reason ? reason : "error");
		if (fail_closed)
			return call_reply_error(c, 503, "unavailable",
						"the service is unavailable, try again");
		return next(c);
	}
	c->limit = *res;
	if (!res->allowed)
		return reply_limited(c);
	next(c);
}

/* Adds the key @prefix@what under a rule, unless @rate is 0 (unlimited). */
static void add_key(struct ratelimit_rule *rules, char (*bufs)[320], const char **keys, size_t *n,
		    long long rate, long long period_ms, long long burst, bool peek,
		    const char *prefix, const char *what)
{
	if (rate <= 0)
		return;
	rules[*n] = (struct ratelimit_rule){
		.rate = rate, .period_ms = period_ms, .burst = burst, .cost = 1, .peek = peek
	};
	snprintf(bufs[*n], sizeof(bufs[*n]), "%s%s", prefix, what);
	keys[*n] = bufs[*n];
	(*n)++;
}

#define HOUR_MS (3600LL * 1000)

/* The key part of c->email in limit keys: emails are hashed, Redis holds no address book. */
static void email_key(const struct call *c, char out[65])
{
	hex_sha256(c->email, strlen(c->email), out);
}

/*
 * The per-account login rule: looked at (@peek) before a login, charged by
 * a failed one, so both always name the same key under the same rule.
 */
static void add_account_key(const struct call *c, struct ratelimit_rule *rules, char (*bufs)[320],
			    const char **keys, size_t *n, bool peek, const char emailh[65])
{
	const struct user_options *o = c->u->opts;

	add_key(rules, bufs, keys, n, o->login_account_rate, HOUR_MS, o->login_account_burst, peek,
		"rl:u:login:e:", emailh);
}

void call_limits(struct call *c, enum limit_kind kind, step_fn next)
{
	const struct user_options *o = c->u->opts;
	struct ratelimit_rule rules[3];
	char bufs[3][320], emailh[65], a[INET6_ADDRSTRLEN];
	const char *keys[3];
	size_t n = 0;
	struct limit_wait *lw;

	if (netaddr_rate_key(c->addr, a) < 0)
		snprintf(a, sizeof(a), "%s", c->addr);
	if (kind == LIMIT_LOGIN || kind == LIMIT_MAIL) /* they limit per email too */
		email_key(c, emailh);
	switch (kind) {
	case LIMIT_NONE:
		add_key(rules, bufs, keys, &n, o->addr_rate, 1000, o->addr_burst, false,
			"rl:u:a:", a);
		break;
	case LIMIT_SIGNUP:
		add_key(rules, bufs, keys, &n, o->signup_rate, HOUR_MS, o->signup_burst, false,
			"rl:u:signup:a:", a);
		break;
	case LIMIT_LOGIN:
		add_key(rules, bufs, keys, &n, o->login_addr_rate, HOUR_MS, o->login_addr_burst,
			false, "rl:u:login:a:", a);
		/* only failures are charged to the account (call_password_failed) */
		add_account_key(c, rules, bufs, keys, &n, true, emailh);
		break;
	case LIMIT_MAIL:
		add_key(rules, bufs, keys, &n, o->mail_addr_rate, HOUR_MS, o->mail_addr_burst,
			false, "rl:u:mail:a:", a);
		add_key(rules, bufs, keys, &n, o->mail_email_rate, HOUR_MS, o->mail_email_burst,
			false, "rl:u:mail:e:", emailh);
		break;
	}
	if (n == 0)
		return next(c);
	lw = malloc(sizeof(*lw));
	if (lw)
		*lw = (struct limit_wait){ c, next, kind == LIMIT_LOGIN };
	if (!lw || ratelimit_check(c->u->rl, rules, keys, n, on_limits, lw) < 0) {
		free(lw);
		metric_inc(c->u->rl_errors);
		if (kind == LIMIT_LOGIN)
			return call_reply_error(c, 503, "unavailable",
						"the service is unavailable, try again");
		return next(c);
	}
}

static void on_failure_charged(const struct ratelimit_result *res, int err, const char *reason,
			       void *arg)
{
	struct user_service *u = arg;

	(void)res;
	(void)reason;
	if (err < 0)
		metric_inc(u->rl_errors);
}

void call_password_failed(struct call *c)
{
	struct ratelimit_rule rule[1];
	char buf[1][320], emailh[65];
	const char *keys[1];
	size_t n = 0;

	email_key(c, emailh);
	add_account_key(c, rule, buf, keys, &n, false, emailh);
	if (n == 0)
		return; /* unlimited */
	if (ratelimit_check(c->u->rl, rule, keys, n, on_failure_charged, c->u) < 0)
		metric_inc(c->u->rl_errors);
}

/* ---- the pipeline ------------------------------------------------------- */

static void run_handler(struct call *c)
{
	c->ep->fn(c);
}

static void on_session(redisReply *reply, const char *err, void *arg)
{
	struct call *c = arg;
	char *end;

	if (call_closing(c))
		return;
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		log_warn(http_request_id(c->req), "could not read a session: %s",
			 reply ? reply->str : err);
		return call_reply_error(c, 503, "unavailable",
					"the service is unavailable, try again");
	}
	if (reply->type != REDIS_REPLY_STRING) {
		session_clear_cookie(c);
		return call_reply_error(c, 401, "unauthenticated",
					"log in first (the session ended or never began)");
	}
	errno = 0;
	c->user_id = strtoll(reply->str, &end, 10);
	if (errno || *end || c->user_id <= 0)
		return call_reply_error(c, 500, "internal", "internal error");
	snprintf(c->user_s, sizeof(c->user_s), "%lld", c->user_id);
	run_handler(c);
}

/*
 * After the address was charged: the CSRF header, then the session (one
 * Redis script) for the routes that need one. Charging first makes every
 * request count, a forged or expired cookie included.
 */
static void admit(struct call *c)
{
	struct user_service *u = c->u;
	char key[80], idle[24];
	const char *csrf = http_request_header(c->req, USER_CSRF_HEADER);

	if (c->ep->csrf && (!csrf || !*csrf))
		return call_reply_error(c, 403, "csrf_required",
					"this request needs the header " USER_CSRF_HEADER
					" (any value): cross-site requests cannot send it");
	if (!c->ep->session)
		return run_handler(c);
	if (!cookie_session(u, c->req, c->sid_hash))
		return call_reply_error(c, 401, "unauthenticated", "log in first");
	snprintf(key, sizeof(key), USER_SESSION_PREFIX "%s", c->sid_hash);
	snprintf(idle, sizeof(idle), "%lld", u->opts->session_idle_ms);
	if (redis_client_command(u->sess_redis, 0, on_session, c, "EVAL %s 1 %s %s", lua_lookup,
				 key, idle) < 0)
		return call_reply_error(c, 503, "unavailable",
					"the service is unavailable, try again");
}

static void on_request(struct http_request *req, void *arg)
{
	const struct route_arg *ra = arg;
	struct user_service *u = ra->u;
	struct call *c = calloc(1, sizeof(*c));

	if (!c) {
		http_reply_error(req, 503, "unavailable", "out of memory");
		return;
	}
	c->u = u;
	c->req = req;
	c->ep = ra->ep;
	http_request_client_addr(req, &u->trusted, c->addr);
	http_request_user_agent(req, c->ua, sizeof(c->ua));
	/* every request charges its address; limited routes charge their own
	 * budgets too, once the handler knows the email */
	call_limits(c, LIMIT_NONE, admit);
}

/* ---- the engine --------------------------------------------------------- */

static int load_signer(struct user_service *u)
{
	const struct user_options *o = u->opts;
	char buf[16384];
	size_t n = 0;
	const char *reason = NULL;
	int r;

	if (!o->platform_key_file || !*o->platform_key_file) {
		log_error(NULL, "platform_key_file is not set: session tokens cannot be signed "
				"(make up generates .run/platform.key.pem)");
		return -EINVAL;
	}
	r = jwt_pem_read(o->platform_key_file, buf, sizeof(buf), &n);
	if (r < 0) {
		sodium_memzero(buf, sizeof(buf));
		log_error(NULL, "could not read platform key \"%s\": %s", o->platform_key_file,
			  r == -EFBIG ? "larger than 16 KiB" : strerror(-r));
		return r;
	}
	r = jwt_signer_from_pem(buf, n, o->platform_kid, &u->signer, &reason);
	sodium_memzero(buf, sizeof(buf));
	if (r == 0 && jwt_signer_alg(u->signer) != JWT_ES256) {
		reason = "not an EC P-256 key (session tokens are ES256)";
		r = -EINVAL;
	}
	if (r < 0) {
		log_error(NULL, "platform key \"%s\" is not usable: %s", o->platform_key_file,
			  reason ? reason : "invalid");
		return -EINVAL;
	}
	return 0;
}

struct user_service *user_create(struct event_base *base, const struct user_options *o,
				 struct metrics_registry *metrics)
{
	struct user_service *u = calloc(1, sizeof(*u));
	const char *reason = NULL;
	struct db_pool_config pc;
	struct account_pwhash_params hp = { .opslimit = o->pwhash_opslimit,
					    .memlimit = (size_t)o->pwhash_memlimit };

	if (!u)
		return NULL;
	u->opts = o;
	if (sodium_init() < 0) {
		log_error(NULL, "could not initialize libsodium");
		goto fail;
	}
	if (netaddr_list_parse(o->trusted_proxies ? o->trusted_proxies : "", &u->trusted, &reason) <
	    0) {
		log_error(NULL, "invalid trusted_proxies: %s", reason ? reason : "out of memory");
		goto fail;
	}
	if (load_signer(u) < 0)
		goto fail;
	pc = (struct db_pool_config){ .dsn = o->database_url,
				      .application_name = "ddns-user",
				      .n_conns = (unsigned)o->db_connections,
				      .query_timeout_ms = o->db_timeout_ms };
	u->pool = db_pool_create(base, &pc);
	u->rl_redis = redis_client_open(base, o->redis_ratelimit_url, "redis-ratelimit", NULL);
	u->sess_redis = redis_client_open(base, o->redis_session_url, "redis-session", NULL);
	u->stream_redis = redis_client_open(base, o->redis_stream_url, "redis-stream", NULL);
	if (!u->pool || !u->rl_redis || !u->sess_redis || !u->stream_redis)
		goto fail;
	u->rl = ratelimit_create(u->rl_redis);
	u->hasher = hasher_create(base, (unsigned)o->hash_threads, (unsigned)o->hash_queue, &hp);
	if (!u->rl || !u->hasher) {
		log_error(NULL, "could not start the password hasher");
		goto fail;
	}
	u->routes = calloc(user_n_endpoints, sizeof(*u->routes));
	u->route_args = calloc(user_n_endpoints, sizeof(*u->route_args));
	if (!u->routes || !u->route_args)
		goto fail;
	for (size_t i = 0; i < user_n_endpoints; i++) {
		u->route_args[i] = (struct route_arg){ u, &user_endpoints[i] };
		u->routes[i] = (struct http_route){ .method = user_endpoints[i].method,
						    .pattern = user_endpoints[i].pattern,
						    .handler = on_request,
						    .arg = &u->route_args[i] };
	}
	u->signups = metrics_counter(metrics, "user_signups_total", "accounts created");
	u->logins = metrics_counter(metrics, "user_logins_total", "sessions begun");
	u->login_failures = metrics_counter(metrics, "user_login_failures_total",
					    "logins refused (wrong email or password)");
	u->rl_denied =
		metrics_counter(metrics, "user_ratelimit_denied_total", "requests answered 429");
	u->rl_errors =
		metrics_counter(metrics, "user_ratelimit_errors_total",
				"rate limit checks that failed (the request was let through)");
	u->jobs_queued = metrics_counter(metrics, "user_email_jobs_total",
					 "email jobs queued for ddns-worker");
	u->job_errors = metrics_counter(metrics, "user_email_job_errors_total",
					"email jobs that could not be queued");
	u->tokens_issued =
		metrics_counter(metrics, "user_session_tokens_total", "session tokens signed");
	u->busy = metrics_counter(metrics, "user_busy_total",
				  "requests answered 503 because the password hasher was full");
	return u;
fail:
	user_destroy(u);
	return NULL;
}

void user_destroy(struct user_service *u)
{
	if (!u)
		return;
	u->closing = true;
	hasher_destroy(u->hasher);
	ratelimit_destroy(u->rl);
	redis_client_destroy(u->rl_redis);
	redis_client_destroy(u->sess_redis);
	redis_client_destroy(u->stream_redis);
	db_pool_destroy(u->pool);
	jwt_signer_destroy(u->signer);
	free(u->routes);
	free(u->route_args);
	free(u);
}

const struct http_route *user_routes(const struct user_service *u, size_t *ret_n)
{
	*ret_n = user_n_endpoints;
	return u->routes;
}

bool user_ready(struct user_service *u, json_t *checks)
{
	bool pg = db_pool_n_ready(u->pool) > 0;
	bool rl = redis_client_connected(u->rl_redis);
	bool sess = redis_client_connected(u->sess_redis);
	bool stream = redis_client_connected(u->stream_redis);

	json_object_set_new(checks, "postgres", json_string(pg ? "ok" : "down"));
	json_object_set_new(checks, "redis_ratelimit", json_string(rl ? "ok" : "down"));
	json_object_set_new(checks, "redis_session", json_string(sess ? "ok" : "down"));
	json_object_set_new(checks, "redis_stream", json_string(stream ? "ok" : "down"));
	return pg && sess && stream;
}
