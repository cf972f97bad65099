/* ddns-api: the request pipeline (authentication, limits) and the engine. */

#include "services/api/api_int.h"
#include "services/api/keys.h"
#include "services/api/tokens.h"
#include "shared/db.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis.h"
#include "shared/replica.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define R JWT_SCOPE_DNS_READ
#define W JWT_SCOPE_DNS_WRITE
#define D JWT_SCOPE_DOMAINS_WRITE

const struct endpoint api_endpoints[] = {
	{ "GET", "/api/v1/zones", h_zones_list, false, 0, false, false },
	{ "GET", "/api/v1/domains", h_domains_list, true, R, false, false },
	{ "POST", "/api/v1/domains", h_domain_claim, true, D, true, false },
	{ "GET", "/api/v1/domains/{name}", h_domain_get, true, R, false, false },
	{ "DELETE", "/api/v1/domains/{name}", h_domain_release, true, D, true, false },
	{ "GET", "/api/v1/domains/{name}/history", h_domain_history, true, R, false, false },
	{ "PUT", "/api/v1/domains/{name}/rrsets", h_rrsets_put, true, W, true, false },
	{ "GET", "/api/v1/domains/{name}/dns", h_domain_dns, true, R, false, false },
	{ "GET", "/api/v1/domains/{name}/update-tokens", h_update_tokens_list, true, R, false,
	  false },
	{ "POST", "/api/v1/domains/{name}/update-tokens", h_update_token_create, true, D, true,
	  false },
	{ "DELETE", "/api/v1/domains/{name}/update-tokens/{id}", h_update_token_revoke, true, D,
	  true, false },
	{ "GET", "/api/v1/dns-records", h_records_list, true, R, false, false },
	{ "POST", "/api/v1/dns-records", h_record_create, true, W, true, false },
	{ "GET", "/api/v1/dns-records/{id}", h_record_get, true, R, false, false },
	{ "PUT", "/api/v1/dns-records/{id}", h_record_put, true, W, true, false },
	{ "PATCH", "/api/v1/dns-records/{id}", h_record_patch, true, W, true, false },
	{ "DELETE", "/api/v1/dns-records/{id}", h_record_delete, true, W, true, false },
	{ "POST", "/api/v1/tokens/revoke", h_token_revoke, true, 0, true, false },
	/* dyndns2: a Bearer JWT goes through the pipeline, update tokens through nic.c */
	{ "GET", "/nic/update", h_nic_update, false, W, true, true },
	{ "POST", "/nic/update", h_nic_update, false, W, true, true },
	{ "GET", "/nic/checkip", h_nic_checkip, false, 0, false, true },
};
const size_t api_n_endpoints = sizeof(api_endpoints) / sizeof(api_endpoints[0]);

#undef R
#undef W
#undef D

void api_print_routes(FILE *out)
{
	fprintf(out, "GET /healthz\nGET /readyz\nGET /metrics\n");
	for (size_t i = 0; i < api_n_endpoints; i++)
		fprintf(out, "%s %s\n", api_endpoints[i].method, api_endpoints[i].pattern);
}

/* ---- answers ------------------------------------------------------------ */

void call_free(struct call *c)
{
	nic_free(c->nic);
	jwt_token_destroy(c->token);
	json_decref(c->body);
	json_decref(c->answer);
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

void call_reply_db_error(struct call *c, const struct db_error *err, const char *what)
{
	const char *s = err->sqlstate, *k = err->constraint;

	if (strcmp(s, "DDN01") == 0)
		return call_reply_error(c, 404, "not_found", "no such %s", what);
	if (strcmp(s, "DDN02") == 0)
		return call_reply_error(c, 404, "zone_not_found",
					"the name is not one label below a base zone of this "
					"platform (see GET /api/v1/zones)");
	if (strcmp(s, "DDN04") == 0)
		return call_reply_error(
			c, 400, "invalid_name",
			"a hostname is exactly one label below a base zone, such as "
			"\"alice.<zone>\"");
	if (strcmp(s, "DDN03") == 0)
		return call_reply_error(c, 400, "invalid_name",
					"the name must be at or below the domain");
	if (strcmp(s, "DDU01") == 0)
		return call_reply_error(c, 403, "account_disabled", "the account is disabled");
	if (strcmp(s, "DDQ01") == 0)
		return call_reply_error(c, 409, "quota_exceeded",
					"you hold the most domains allowed (%lld); release one "
					"first",
					c->api->opts->domain_quota);
	if (strcmp(s, "DDR01") == 0)
		return call_reply_error(c, 409, "name_reserved", "this name is reserved");
	if (strcmp(s, "DDL01") == 0)
		return call_reply_error(c, 409, "record_limit",
					"the domain holds the most records allowed (%lld)",
					c->api->opts->record_limit);
	if (strcmp(s, "DDL03") == 0)
		return call_reply_error(c, 409, "token_limit",
					"the domain holds the most update tokens allowed (%lld); "
					"revoke one first",
					c->api->opts->update_token_limit);
	if (strcmp(s, "23505") == 0 && strcmp(k, "domains_name_key") == 0)
		return call_reply_error(c, 409, "name_taken", "this name is already taken");
	if (strcmp(s, "23505") == 0 && strcmp(k, "records_name_type_content_key") == 0)
		return call_reply_error(c, 409, "record_exists", "this record exists already");
	if ((strcmp(s, "23505") == 0 &&
	     (strcmp(k, "records_one_cname") == 0 || strcmp(k, "records_cname_alone") == 0)) ||
	    strcmp(s, "23P01") == 0)
		return call_reply_error(c, 409, "cname_conflict",
					"a CNAME record must be the only record at its name");
	if (s[0] == '2' && s[1] == '3')
		return call_reply_error(c, 400, "invalid_field", "the %s is not valid", what);
	http_reply_db_error(c->req, err);
	call_free(c);
}

static void finish_publish(struct call *c)
{
	json_t *body = c->answer;

	c->answer = NULL;
	if (body)
		call_reply_json(c, c->answer_status, body);
	else
		call_reply_json(c, c->answer_status, NULL);
}

static void on_xadd(redisReply *reply, const char *err, void *arg)
{
	struct call *c = arg;

	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		metric_inc(c->api->xadd_errors);
		log_warn(http_request_id(c->req),
			 "could not add a change to the stream: %s (the change log delivers it)",
			 reply ? reply->str : err);
	}
	if (--c->xadds == 0)
		finish_publish(c);
}

void call_publish_and_reply(struct call *c, json_t *changes, int status, json_t *body)
{
	size_t sent;

	c->answer = body;
	c->answer_status = status;
	if (c->api->closing)
		changes = NULL; /* the change log delivers them */
	c->xadds = 1;           /* held until every XADD is sent */
	sent = replica_announce(c->api->stream_redis, changes, on_xadd, c);
	c->xadds += (int)sent;
	if (sent < json_array_size(changes)) {
		metric_add(c->api->xadd_errors, json_array_size(changes) - sent);
		log_warn(http_request_id(c->req),
			 "could not add %zu changes to the stream: not connected (the change log "
			 "delivers them)",
			 json_array_size(changes) - sent);
	}
	if (--c->xadds == 0)
		finish_publish(c);
}

bool api_reserved(const struct api *api, const char *label)
{
	for (size_t i = 0; i < api->n_reserved; i++)
		if (strcmp(api->reserved[i], label) == 0)
			return true;
	return false;
}

/* ---- the pipeline ------------------------------------------------------- */

static void rules_for(const struct call *c, bool user, struct ratelimit_rule *r)
{
	const struct api_options *o = c->api->opts;
	bool w = c->ep->write;

	if (user)
		*r = (struct ratelimit_rule){ .rate = w ? o->user_write_rate : o->user_read_rate,
					      .period_ms = 1000,
					      .burst = w ? o->user_write_burst : o->user_read_burst,
					      .cost = 1 };
	else
		*r = (struct ratelimit_rule){ .rate = w ? o->addr_write_rate : o->addr_read_rate,
					      .period_ms = 1000,
					      .burst = w ? o->addr_write_burst : o->addr_read_burst,
					      .cost = 1 };
}

static void set_limit_headers(struct call *c)
{
	if (c->limit.limit > 0)
		(void)ratelimit_reply_headers(c->req, &c->limit);
}

static void reply_limited(struct call *c)
{
	if (c->ep->nic) /* never 429 there (clients give up for good): "try later" */
		return nic_reply_911(c);
	metric_inc(c->api->rl_denied);
	set_limit_headers(c);
	call_reply_error(c, 429, "rate_limited", "too many requests, retry after %lld s",
			 (c->limit.retry_after_ms + 999) / 1000);
}

/* 503 "try again" in the endpoint's own words (dyndns2: 911). */
static void reply_unavailable(struct call *c, const char *msg)
{
	if (c->ep->nic)
		return nic_reply_911(c);
	call_reply_error(c, 503, "unavailable", "%s", msg);
}

/* The token is refused: 401 invalid_token, one message for every reason (dyndns2: badauth). */
static void reply_refused(struct call *c)
{
	if (c->ep->nic)
		return nic_reply_badauth(c);
	(void)http_reply_header(c->req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	call_reply_error(c, 401, "invalid_token", "the token could not be verified");
}

/* Answers 503 when the engine is being destroyed (continuations must stop). */
static bool closing(struct call *c)
{
	if (!c->api->closing)
		return false;
	reply_unavailable(c, "the service is shutting down, try again");
	return true;
}

typedef void (*step_fn)(struct call *c);

struct limit_wait {
	struct call *c;
	step_fn next;
};

/* Runs @next once the listed budgets were charged (or the limiter failed: open). */
static void on_limits(const struct ratelimit_result *res, int err, const char *reason, void *arg)
{
	struct limit_wait *lw = arg;
	struct call *c = lw->c;
	step_fn next = lw->next;

	free(lw);
	if (closing(c))
		return;
	if (err < 0) {
		metric_inc(c->api->rl_errors);
		log_debug(http_request_id(c->req), "rate limit not checked: %s",
			  reason ? reason : "error");
		c->limited = false;
	} else {
		c->limit = *res;
		c->limited = !res->allowed;
	}
	next(c);
}

static void check_limits(struct call *c, bool user, step_fn next)
{
	struct ratelimit_rule rules[2];
	char keys_buf[2][96];
	const char *keys[2];
	size_t n = 0;
	struct limit_wait *lw;
	char rate_addr[INET6_ADDRSTRLEN];
	const char *rw = c->ep->write ? "w" : "r";

	if (user && c->ep->nic) {
		/* dyndns2 has its own limit (changing updates per host: "abuse") */
		c->limited = false;
		return next(c);
	}
	if (user) {
		rules_for(c, true, &rules[n]);
		if (rules[n].rate > 0) {
			snprintf(keys_buf[n], sizeof(keys_buf[n]), "rl:%s:u:%lld", rw, c->user_id);
			keys[n] = keys_buf[n];
			n++;
		}
	}
	rules_for(c, false, &rules[n]);
	if (rules[n].rate > 0 && netaddr_rate_key(c->addr, rate_addr) == 0) {
		snprintf(keys_buf[n], sizeof(keys_buf[n]), "rl:%s:a:%s", rw, rate_addr);
		keys[n] = keys_buf[n];
		n++;
	}
	c->limited = false;
	if (n == 0)
		return next(c);
	lw = malloc(sizeof(*lw));
	if (!lw) {
		metric_inc(c->api->rl_errors); /* fails open, as when Redis fails */
		return next(c);
	}
	*lw = (struct limit_wait){ c, next };
	if (ratelimit_check(c->api->rl, rules, keys, n, on_limits, lw) < 0) {
		free(lw);
		metric_inc(c->api->rl_errors);
		return next(c);
	}
}

static void reply_unauthorized(struct call *c)
{
	if (c->limited && !c->ep->nic) /* dyndns2 clients read a wrong token as badauth */
		return reply_limited(c);
	reply_refused(c);
}

/* A token that failed: log why (never the token), charge the address, answer. */
static void auth_failed(struct call *c, enum jwt_reason reason)
{
	metric_inc(c->api->auth_failures);
	log_info(http_request_id(c->req), "token rejected: %s", jwt_reason_name(reason));
	check_limits(c, false, reply_unauthorized);
}

static void run_handler(struct call *c)
{
	if (c->limited)
		return reply_limited(c);
	if (c->ep->auth)
		set_limit_headers(c);
	c->ep->fn(c);
}

static void after_checks(struct call *c)
{
	if (closing(c))
		return;
	if (c->jti_failed)
		return reply_unavailable(c, "the service is unavailable, try again");
	if (c->revoked) {
		metric_inc(c->api->auth_failures);
		log_info(http_request_id(c->req), "token rejected: %s",
			 jwt_reason_name(JWT_JTI_REVOKED));
		return reply_refused(c);
	}
	if (c->remember && !c->limited)
		tokens_put(c->api->tokens, c->tok, c->tok_len, &c->hit_claims,
			   (long long)time(NULL), c->api->policy.skew_s);
	if (!c->scope_ok && c->ep->nic)
		return reply_refused(c); /* dyndns2 has no word for a scope */
	if (!c->scope_ok) {
		char h[160];

		snprintf(h, sizeof(h), "Bearer error=\"insufficient_scope\", scope=\"%s\"",
			 c->ep->scopes & JWT_SCOPE_DOMAINS_WRITE ? "domains:write"
			 : c->ep->scopes & JWT_SCOPE_DNS_WRITE   ? "dns:write"
								 : "dns:read");
		(void)http_reply_header(c->req, "WWW-Authenticate", h);
		return call_reply_error(c, 403, "insufficient_scope",
					"the token lacks a scope this request needs");
	}
	run_handler(c);
}

static void check_done(struct call *c)
{
	if (--c->waiting == 0)
		after_checks(c);
}

static void on_jti(redisReply *reply, const char *err, void *arg)
{
	struct call *c = arg;

	if (!reply || reply->type != REDIS_REPLY_INTEGER) {
		log_warn(http_request_id(c->req), "could not check the token's jti: %s",
			 reply ? (reply->str ? reply->str : "unexpected reply") : err);
		c->jti_failed = true;
	} else {
		c->revoked = reply->integer != 0;
	}
	check_done(c);
}

static void limits_done(struct call *c)
{
	check_done(c);
}

static void on_key(const struct jwt_key *key, uint64_t serial, enum jwt_reason reason, int err,
		   void *arg)
{
	struct call *c = arg;
	char *end;
	bool session;
	char rkey[sizeof(API_REVOKED_PREFIX) + 64 + 1 + 128 + 1];

	if (closing(c))
		return;
	if (err < 0)
		return reply_unavailable(c, "the service is unavailable, try again");
	if (reason != JWT_OK)
		return auth_failed(c, reason);
	if (c->hit && c->hit_serial == serial) {
		/* verified by this very key before; the clock moved on since */
		long long now = (long long)time(NULL), skew = c->api->policy.skew_s;

		if (now > c->claims.exp + skew)
			return auth_failed(c, JWT_EXPIRED);
		if (c->claims.nbf && now + skew < c->claims.nbf)
			return auth_failed(c, JWT_NOT_YET_VALID);
		metric_inc(c->api->token_hits);
	} else {
		long long now = (long long)time(NULL);

		if (!c->token && jwt_parse(c->tok, c->tok_len, &c->token, &reason) < 0)
			return auth_failed(c, reason);
		reason = jwt_verify(c->token, key, &c->api->policy, now, &c->claims);
		if (reason != JWT_OK)
			return auth_failed(c, reason);
		/* remembered once the request passed its limits and the jti check */
		c->remember = true;
		c->hit_claims = (struct token_hit){ .claims = c->claims, .key_serial = serial };
		snprintf(c->hit_claims.kid, sizeof(c->hit_claims.kid), "%s", c->kid);
	}
	errno = 0;
	c->user_id = strtoll(c->claims.sub, &end, 10);
	if (errno || *end || c->user_id <= 0 || !isdigit((unsigned char)c->claims.sub[0]))
		return auth_failed(c, JWT_BAD_SUBJECT);
	snprintf(c->user_s, sizeof(c->user_s), "%lld", c->user_id);
	/* the platform's key verifies sessions of any user: it has no owner */
	session = jwt_key_owner(key) == NULL;
	snprintf(c->actor, sizeof(c->actor), "%s:%s", session ? "session" : "key", c->kid);
	/* checked after the jti and the limits: a wrong scope costs budget too */
	c->scope_ok = (c->claims.scopes & c->ep->scopes) == c->ep->scopes;
	if (!session)
		keys_touch(c->api->keys, c->kid);
	jwt_token_destroy(c->token);
	c->token = NULL;

	snprintf(rkey, sizeof(rkey), API_REVOKED_PREFIX "%s:%s", c->claims.sub, c->claims.jti);
	c->waiting = 2;
	if (redis_client_command(c->api->sess_redis, 0, on_jti, c, "EXISTS %s", rkey) < 0) {
		c->jti_failed = true;
		c->waiting--;
	}
	check_limits(c, true, limits_done);
}

static void lookup_key(struct call *c)
{
	if (closing(c))
		return;
	if (c->limited)
		return reply_limited(c);
	keys_lookup(c->api->keys, c->kid, on_key, c);
}

static void on_request(struct http_request *req, void *arg)
{
	const struct route_arg *ra = arg;
	struct api *api = ra->api;
	struct call *c = calloc(1, sizeof(*c));
	const char *auth, *tok;
	enum jwt_reason reason;

	if (!c) {
		http_reply_error(req, 503, "unavailable", "out of memory");
		return;
	}
	c->api = api;
	c->req = req;
	c->ep = ra->ep;
	http_request_client_addr(req, &api->trusted, c->addr);
	http_request_user_agent(req, c->ua, sizeof(c->ua));
	auth = http_request_header(req, "Authorization");
	if (c->ep->nic && (!c->ep->write || !auth || strncasecmp(auth, "Bearer ", 7) != 0))
		return c->ep->fn(c); /* checkip; update tokens or no credentials: nic.c */
	if (!c->ep->auth && !c->ep->nic)
		return check_limits(c, false, run_handler);
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return auth_failed(c, JWT_MALFORMED);
	tok = auth + 7;
	while (*tok == ' ')
		tok++;
	c->tok = tok;
	c->tok_len = strlen(tok);
	if (c->tok_len <= JWT_TOKEN_MAX &&
	    tokens_get(api->tokens, tok, c->tok_len, (long long)time(NULL), api->policy.skew_s,
		       &c->hit_claims)) {
		c->hit = true;
		c->hit_serial = c->hit_claims.key_serial;
		c->claims = c->hit_claims.claims;
		snprintf(c->kid, sizeof(c->kid), "%s", c->hit_claims.kid);
	} else {
		if (jwt_parse(tok, c->tok_len, &c->token, &reason) < 0)
			return auth_failed(c, reason);
		snprintf(c->kid, sizeof(c->kid), "%s", jwt_token_kid(c->token));
	}
	if (keys_cached(api->keys, c->kid))
		return lookup_key(c);
	/* a kid not in memory costs a query: charge the address first */
	check_limits(c, false, lookup_key);
}

/* ---- the engine --------------------------------------------------------- */

static void on_key_revoked(struct redis_client *rc, const char *channel, const char *msg,
			   size_t len, void *arg)
{
	struct api *api = arg;
	char kid[129];

	(void)rc;
	(void)channel;
	if (len == 0 || len >= sizeof(kid))
		return;
	memcpy(kid, msg, len);
	kid[len] = '\0';
	keys_forget(api->keys, kid);
	log_info(NULL, "key \"%s\" revoked: dropped from the cache", kid);
}

/* Revocation events sent while disconnected are lost: forget every key. */
static void on_events_connect(struct redis_client *rc, void *arg)
{
	struct api *api = arg;

	(void)rc;
	if (api->keys)
		keys_forget_all(api->keys);
}

static int load_platform_key(struct api *api)
{
	const struct api_options *o = api->opts;
	char buf[16384];
	size_t n = 0;
	struct jwt_key *key = NULL;
	const char *reason = NULL;
	int r;

	if (!o->platform_key_file || !*o->platform_key_file)
		return 0;
	r = jwt_pem_read(o->platform_key_file, buf, sizeof(buf), &n);
	if (r < 0) {
		log_error(NULL, "could not read platform key \"%s\": %s", o->platform_key_file,
			  r == -EFBIG ? "larger than 16 KiB" : strerror(-r));
		return r;
	}
	if (jwt_key_from_pem(buf, n, NULL, &key, &reason) < 0) {
		log_error(NULL, "platform key \"%s\" is not usable: %s", o->platform_key_file,
			  reason ? reason : "invalid");
		return -EINVAL;
	}
	return keys_add_static(api->keys, o->platform_kid, key);
}

/* Splits a comma (or space) separated list into lower-case copies (owned by @ret). */
static int parse_list(const char *what, const char *list, char **ret, size_t max, size_t *ret_n)
{
	const char *p = list ? list : "";

	*ret_n = 0;
	while (*p) {
		size_t len = strcspn(p, ", ");

		if (len > 0) {
			if (*ret_n == max) {
				log_error(NULL, "more than %zu %s", max, what);
				return -EINVAL;
			}
			ret[*ret_n] = strndup(p, len);
			if (!ret[*ret_n])
				return -ENOMEM;
			for (char *q = ret[*ret_n]; *q; q++)
				*q = (char)tolower((unsigned char)*q);
			(*ret_n)++;
		}
		p += len;
		p += strspn(p, ", ");
	}
	return 0;
}

struct api *api_create(struct event_base *base, const struct api_options *o,
		       struct metrics_registry *metrics)
{
	struct api *api = calloc(1, sizeof(*api));
	const char *reason = NULL;
	struct db_pool_config pc;

	if (!api)
		return NULL;
	api->base = base;
	api->opts = o;
	api->policy = (struct jwt_policy){ .audience = o->audience,
					   .max_lifetime_s = o->max_lifetime_s,
					   .skew_s = 30 };
	if (netaddr_list_parse(o->trusted_proxies ? o->trusted_proxies : "", &api->trusted,
			       &reason) < 0) {
		log_error(NULL, "invalid trusted_proxies: %s", reason ? reason : "out of memory");
		goto fail;
	}
	api->nic_agents = calloc(RESERVED_MAX, sizeof(*api->nic_agents));
	if (!api->nic_agents ||
	    parse_list("reserved names", o->reserved_names, api->reserved, RESERVED_MAX,
		       &api->n_reserved) < 0 ||
	    parse_list("blocked agents", o->nic_blocked_agents, api->nic_agents, RESERVED_MAX,
		       &api->n_nic_agents) < 0)
		goto fail;
	if (dnsquery_server_parse(o->dns_server ? o->dns_server : API_DNS_SERVER_DEFAULT,
				  &api->dns_server, &reason) < 0) {
		log_error(NULL, "invalid dns_server \"%s\": %s",
			  o->dns_server ? o->dns_server : API_DNS_SERVER_DEFAULT, reason);
		goto fail;
	}
	dnsquery_server_format(&api->dns_server, api->dns_server_text);
	pc = (struct db_pool_config){ .dsn = o->database_url,
				      .application_name = "ddns-api",
				      .n_conns = (unsigned)o->db_connections,
				      .query_timeout_ms = o->db_timeout_ms };
	api->pool = db_pool_create(base, &pc);
	api->rl_redis = redis_client_open(base, o->redis_ratelimit_url, "redis-ratelimit", NULL);
	api->sess_redis = redis_client_open(base, o->redis_session_url, "redis-session", NULL);
	api->stream_redis = redis_client_open(base, o->redis_stream_url, "redis-stream", NULL);
	api->sub_redis = redis_client_open(
		base, o->redis_stream_url, "redis-events",
		&(struct redis_client_opts){ .on_connect = on_events_connect, .arg = api });
	if (!api->pool || !api->rl_redis || !api->sess_redis || !api->stream_redis ||
	    !api->sub_redis)
		goto fail;
	if (redis_client_subscribe(api->sub_redis, JWT_KEYS_REVOKED_CHANNEL, on_key_revoked, api) <
	    0)
		goto fail;
	api->rl = ratelimit_create(api->rl_redis);
	api->keys = keys_create(api->pool, o->key_ttl_ms, o->key_negative_ttl_ms, metrics);
	api->tokens = tokens_create();
	if (!api->rl || !api->keys || !api->tokens)
		goto fail;
	if (load_platform_key(api) < 0)
		goto fail;

	api->routes = calloc(api_n_endpoints, sizeof(*api->routes));
	api->route_args = calloc(api_n_endpoints, sizeof(*api->route_args));
	if (!api->routes || !api->route_args)
		goto fail;
	for (size_t i = 0; i < api_n_endpoints; i++) {
		api->route_args[i] = (struct route_arg){ api, &api_endpoints[i] };
		api->routes[i] = (struct http_route){ .method = api_endpoints[i].method,
						      .pattern = api_endpoints[i].pattern,
						      .handler = on_request,
						      .arg = &api->route_args[i],
						      .lenient_query = api_endpoints[i].nic };
	}
	api->auth_failures = metrics_counter(metrics, "api_auth_failures_total",
					     "requests whose token was rejected");
	api->rl_denied =
		metrics_counter(metrics, "api_ratelimit_denied_total", "requests answered 429");
	api->rl_errors =
		metrics_counter(metrics, "api_ratelimit_errors_total",
				"rate limit checks that failed (the request was let through)");
	api->xadd_errors = metrics_counter(metrics, "api_stream_errors_total",
					   "changes not added to dns:changes (the change log "
					   "delivers them)");
	api->writes = metrics_counter(metrics, "api_writes_total", "committed writes");
	api->nic_good =
		metrics_counter(metrics, "api_nic_good_total", "dyndns2 hosts updated (good)");
	api->nic_nochg = metrics_counter(metrics, "api_nic_nochg_total",
					 "dyndns2 hosts already current (nochg: nothing written)");
	api->nic_abuse = metrics_counter(metrics, "api_nic_abuse_total",
					 "dyndns2 hosts answered abuse (too many changes)");
	api->nic_badauth = metrics_counter(metrics, "api_nic_badauth_total",
					   "dyndns2 requests answered badauth");
	api->nic_errors = metrics_counter(metrics, "api_nic_errors_total",
					  "dyndns2 hosts answered dnserr or 911");
	api->token_hits = metrics_counter(metrics, "api_token_cache_hits_total",
					  "tokens whose signature was verified before (same key)");
	return api;
fail:
	api_destroy(api);
	return NULL;
}

void api_destroy(struct api *api)
{
	if (!api)
		return;
	/* what is still in flight completes with errors now; every
	 * continuation sees closing and answers 503 without going further */
	api->closing = true;
	dns_cancel_all(api);
	ratelimit_destroy(api->rl);
	redis_client_destroy(api->rl_redis);
	redis_client_destroy(api->sess_redis);
	redis_client_destroy(api->stream_redis);
	redis_client_destroy(api->sub_redis);
	/* the pool before the keys: it answers the key reads still in flight */
	db_pool_destroy(api->pool);
	keys_destroy(api->keys);
	tokens_destroy(api->tokens);
	for (size_t i = 0; i < api->n_reserved; i++)
		free(api->reserved[i]);
	for (size_t i = 0; i < api->n_nic_agents; i++)
		free(api->nic_agents[i]);
	free(api->nic_agents);
	free(api->routes);
	free(api->route_args);
	free(api);
}

const struct http_route *api_routes(const struct api *api, size_t *ret_n)
{
	*ret_n = api_n_endpoints;
	return api->routes;
}

bool api_ready(struct api *api, json_t *checks)
{
	bool pg = db_pool_n_ready(api->pool) > 0;
	bool rl = redis_client_connected(api->rl_redis);
	bool sess = redis_client_connected(api->sess_redis);
	bool stream = redis_client_connected(api->stream_redis);

	json_object_set_new(checks, "postgres", json_string(pg ? "ok" : "down"));
	json_object_set_new(checks, "redis_ratelimit", json_string(rl ? "ok" : "down"));
	json_object_set_new(checks, "redis_session", json_string(sess ? "ok" : "down"));
	json_object_set_new(checks, "redis_stream", json_string(stream ? "ok" : "down"));
	/* the limiter fails open and the stream is backed by the change log:
	 * only PostgreSQL and the revocation list are needed to serve */
	return pg && sess;
}
