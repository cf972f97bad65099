/*
 * The dyndns2 protocol (/nic/update, /nic/checkip) for routers and update
 * clients; see ../shared/DYNDNS-CLIENTS.md beside the checkout for what they
 * send and expect.
 *
 * Every protocol outcome is HTTP 200 with its word, one line per hostname in
 * request order, except bad or missing credentials: 401 "badauth" with a
 * Basic challenge, once. Never 429: an unchanged address is "nochg" and costs
 * no write; a host whose changing updates come faster than nic_change_rate
 * gets "abuse" for the cool-down, recorded in the audit log.
 *
 * Credentials: an update token (HTTP Basic with the hostname as user, or the
 * username/password query parameters), which reaches its own hostname; or a
 * Bearer JWT with dns:write (the pipeline of api.c verified it: c->user_id),
 * which reaches every domain of its user. Hosts are processed one after the
 * other: read (nic_state), compare, and only for a change the abuse budget,
 * then one api_rrsets_replace transaction and the stream entries.
 */

#include "services/api/api_int.h"
#include "shared/db.h"
#include "shared/dnsname.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis.h"
#include "shared/replica.h"
#include "shared/rr.h"
#include "shared/token.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NIC_HOSTS_MAX 20
#define NIC_TTL       60
#define NIC_ABUSE_KEY "nic:abuse:"

struct nic_req {
	int n_hosts, i;                         /* hosts; the one in progress */
	char host[NIC_HOSTS_MAX][DNSNAME_SIZE]; /* normalized; "" when malformed */
	const char *word[NIC_HOSTS_MAX];        /* static; NULL: "good"/"nochg" with ips */
	bool changed[NIC_HOSTS_MAX];
	char v4[INET6_ADDRSTRLEN], v6[INET6_ADDRSTRLEN]; /* "" when not asked */
	char ips[2 * INET6_ADDRSTRLEN + 2];
	char txt[RR_CONTENT_SIZE]; /* canonical TXT content; with has_txt */
	bool has_txt;
	/* the credential */
	long long token_id; /* an update token; 0: a JWT (c->user_id) */
	char token_host[DNSNAME_SIZE];
	bool acme;
	unsigned char hash[32]; /* of the token given */
};

void nic_free(struct nic_req *n)
{
	if (n) {
		sodium_memzero(n->hash, sizeof(n->hash));
		free(n);
	}
}

/* ---- answers ------------------------------------------------------------ */

static void reply_text(struct call *c, int status, const char *text)
{
	http_reply_text(c->req, status, "text/plain; charset=utf-8", text);
	call_free(c);
}

void nic_reply_badauth(struct call *c)
{
	char h[200];

	metric_inc(c->api->nic_badauth);
	snprintf(h, sizeof(h), "Basic realm=\"%s\", charset=\"UTF-8\"", c->api->opts->nic_realm);
	(void)http_reply_header(c->req, "WWW-Authenticate", h);
	reply_text(c, 401, "badauth\n");
}

void nic_reply_911(struct call *c)
{
	metric_inc(c->api->nic_errors);
	reply_text(c, 200, "911\n");
}

/* One line per host, in request order. */
static void reply_lines(struct call *c)
{
	struct nic_req *n = c->nic;
	char out[NIC_HOSTS_MAX * (INET_ADDRSTRLEN + INET6_ADDRSTRLEN + 16)];
	size_t len = 0;

	out[0] = '\0';
	/* at most NIC_HOSTS_MAX lines of "nochg " and two addresses: always fits */
	for (int i = 0; i < n->n_hosts && len < sizeof(out); i++) {
		if (n->word[i])
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s\n", n->word[i]);
		else /* no address when only txt was set */
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s%s\n",
						n->changed[i] ? "good" : "nochg",
						n->ips[0] ? " " : "", n->ips);
	}
	reply_text(c, 200, out);
}

/* ---- input -------------------------------------------------------------- */

/*
 * The addresses asked for, from myip (a comma list) and myipv6; when none
 * is given and @client_default, the client's address for its own family.
 * -EINVAL on a malformed one.
 */
static int read_addresses(struct call *c, bool client_default)
{
	struct nic_req *n = c->nic;
	const char *lists[2] = { http_request_query(c->req, "myip"),
				 http_request_query(c->req, "myipv6") };

	for (int l = 0; l < 2; l++) {
		const char *p = lists[l];

		while (p && *p) {
			size_t len = strcspn(p, ",");
			char one[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN];
			const char *reason;

			if (len == 0 || len >= sizeof(one))
				return -EINVAL;
			memcpy(one, p, len);
			one[len] = '\0';
			if (strchr(one, ':')) {
				if (rr_content_normalize(RR_AAAA, one, canon, sizeof(canon),
							 &reason) < 0)
					return -EINVAL;
				if (!n->v6[0])
					snprintf(n->v6, sizeof(n->v6), "%s", canon);
			} else {
				if (l == 1 || rr_content_normalize(RR_A, one, canon, sizeof(canon),
								   &reason) < 0)
					return -EINVAL;
				if (!n->v4[0])
					snprintf(n->v4, sizeof(n->v4), "%s", canon);
			}
			p += len;
			if (*p == ',')
				p++;
		}
	}
	if (!n->v4[0] && !n->v6[0] && client_default) {
		/* none given: the client's address, for its own family only */
		char canon[INET6_ADDRSTRLEN];
		const char *reason;

		if (strchr(c->addr, ':')) {
			if (strncasecmp(c->addr, "::ffff:", 7) == 0 && strchr(c->addr + 7, '.') &&
			    rr_content_normalize(RR_A, c->addr + 7, canon, sizeof(canon),
						 &reason) == 0)
				snprintf(n->v4, sizeof(n->v4), "%s", canon);
			else if (rr_content_normalize(RR_AAAA, c->addr, canon, sizeof(canon),
						      &reason) == 0)
				snprintf(n->v6, sizeof(n->v6), "%s", canon);
		} else if (rr_content_normalize(RR_A, c->addr, canon, sizeof(canon), &reason) ==
			   0) {
			snprintf(n->v4, sizeof(n->v4), "%s", canon);
		}
	}
	snprintf(n->ips, sizeof(n->ips), "%s%s%s", n->v4, n->v4[0] && n->v6[0] ? "," : "", n->v6);
	return 0;
}

/* hostname: up to NIC_HOSTS_MAX names; a malformed one is "notfqdn" on its line. */
static int read_hosts(struct call *c)
{
	struct nic_req *n = c->nic;
	const char *p = http_request_query(c->req, "hostname");

	if (!p || !*p)
		return -ENOENT;
	while (*p) {
		size_t len = strcspn(p, ",");
		char one[DNSNAME_SIZE];
		const char *reason;

		if (n->n_hosts == NIC_HOSTS_MAX)
			return -E2BIG;
		if (len == 0 || len >= sizeof(one) ||
		    (memcpy(one, p, len), one[len] = '\0',
		     dnsname_normalize(one, DNSNAME_HOSTNAME, n->host[n->n_hosts], &reason) < 0)) {
			n->host[n->n_hosts][0] = '\0';
			n->word[n->n_hosts] = "notfqdn";
		}
		n->n_hosts++;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static bool agent_blocked(const struct call *c)
{
	char ua[sizeof(c->ua)];
	size_t i;

	for (i = 0; c->ua[i] && i + 1 < sizeof(ua); i++)
		ua[i] = (char)tolower((unsigned char)c->ua[i]);
	ua[i] = '\0';
	for (i = 0; i < c->api->n_nic_agents; i++)
		if (strstr(ua, c->api->nic_agents[i]))
			return true;
	return false;
}

/* ---- one host after the other ------------------------------------------- */

static void next_host(struct call *c);

static void host_done(struct call *c, const char *word)
{
	c->nic->word[c->nic->i] = word;
	c->nic->i++;
	next_host(c);
}

static void on_xadd(redisReply *reply, const char *err, void *arg)
{
	struct api *api = arg;

	if (!reply || reply->type == REDIS_REPLY_ERROR)
		metric_inc(api->xadd_errors);
	(void)err;
}

static void on_written(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	struct nic_req *n = c->nic;
	json_t *doc, *changes;
	size_t count;

	if (c->api->closing)
		return nic_reply_911(c);
	if (err) {
		log_warn(http_request_id(c->req), "dyndns2 update of \"%s\" failed: %s",
			 n->host[n->i], err->msg);
		metric_inc(c->api->nic_errors);
		return host_done(c, err->code == -EIO ? "dnserr" : "911");
	}
	doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (!doc) {
		log_error(http_request_id(c->req), "unexpected result from the database");
		metric_inc(c->api->nic_errors);
		return host_done(c, "dnserr");
	}
	changes = json_object_get(doc, "changes");
	count = json_array_size(changes);
	if (count > 0 && replica_announce(c->api->stream_redis, changes, on_xadd, c->api) < count)
		metric_inc(c->api->xadd_errors); /* the change log delivers them */
	n->changed[n->i] = json_is_true(json_object_get(doc, "changed"));
	json_decref(doc);
	metric_inc(n->changed[n->i] ? c->api->nic_good : c->api->nic_nochg);
	if (n->changed[n->i])
		metric_inc(c->api->writes);
	host_done(c, NULL);
}

static void json_set(json_t *sets, const char *name, const char *type, const char *content)
{
	json_array_append_new(sets, json_pack("{s:s, s:s, s:i, s:[s]}", "name", name, "type", type,
					      "ttl", NIC_TTL, "records", content));
}

static void write_host(struct call *c)
{
	struct nic_req *n = c->nic;
	char limit[24], acme[DNSNAME_SIZE + 20], *text;
	json_t *sets = json_array();
	const char *ua = c->ua[0] ? c->ua : NULL;

	if (n->v4[0])
		json_set(sets, n->host[n->i], "A", n->v4);
	if (n->v6[0])
		json_set(sets, n->host[n->i], "AAAA", n->v6);
	if (n->has_txt) {
		snprintf(acme, sizeof(acme), "_acme-challenge.%s", n->host[n->i]);
		json_set(sets, acme, "TXT", n->txt);
	}
	text = json_dumps(sets, JSON_COMPACT);
	json_decref(sets);
	if (!text)
		return host_done(c, "911");
	snprintf(limit, sizeof(limit), "%lld", c->api->opts->record_limit);
	{
		const char *p[] = { c->user_s, n->host[n->i], text, limit, c->actor, c->addr, ua };

		if (db_pool_query(c->api->pool,
				  "SELECT api_rrsets_replace($1, $2, $3::jsonb, $4, $5, $6::inet, "
				  "$7)::text",
				  7, p, -1, on_written, c) < 0) {
			free(text);
			return host_done(c, "911");
		}
	}
	free(text);
}

static void on_abuse_recorded(PGresult *res, const struct db_error *err, void *arg)
{
	(void)res;
	(void)arg;
	if (err)
		log_warn(NULL, "could not record a dyndns2 abuse: %s", err->msg);
}

static void on_change_budget(const struct ratelimit_result *res, int err, const char *reason,
			     void *arg)
{
	struct call *c = arg;
	struct nic_req *n = c->nic;
	char key[sizeof(NIC_ABUSE_KEY) + DNSNAME_SIZE], cool[24], detail[128];

	if (c->api->closing)
		return nic_reply_911(c);
	if (err < 0 || res->allowed) { /* fails open, like every limit */
		if (err < 0)
			metric_inc(c->api->rl_errors);
		(void)reason;
		return write_host(c);
	}
	/* too many changes: a cool-down, and a trace of it */
	snprintf(key, sizeof(key), NIC_ABUSE_KEY "%s", n->host[n->i]);
	snprintf(cool, sizeof(cool), "%lld", c->api->opts->nic_abuse_cooldown_ms);
	(void)redis_client_command(c->api->rl_redis, 0, NULL, NULL, "SET %s 1 PX %s", key, cool);
	snprintf(detail, sizeof(detail), "{\"cooldown_s\":%lld}",
		 c->api->opts->nic_abuse_cooldown_ms / 1000);
	{
		const char *p[] = { c->user_s,     c->actor, c->addr, c->ua[0] ? c->ua : NULL,
				    n->host[n->i], detail };

		(void)db_pool_query(c->api->pool,
				    "SELECT api_audit($1, $2, $3::inet, $4, 'nic.abuse', $5, NULL, "
				    "$6::jsonb)",
				    6, p, -1, on_abuse_recorded, NULL);
	}
	log_info(http_request_id(c->req), "dyndns2: \"%s\" changes too often: abuse for %lld s",
		 n->host[n->i], c->api->opts->nic_abuse_cooldown_ms / 1000);
	metric_inc(c->api->nic_abuse);
	host_done(c, "abuse");
}

static void on_abuse_flag(redisReply *reply, const char *err, void *arg)
{
	struct call *c = arg;
	struct nic_req *n = c->nic;
	struct ratelimit_rule rule;
	char key[sizeof("rl:nic:") + DNSNAME_SIZE];
	const char *keys[1] = { key };

	(void)err;
	if (c->api->closing)
		return nic_reply_911(c);
	if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
		metric_inc(c->api->nic_abuse);
		return host_done(c, "abuse");
	}
	if (c->api->opts->nic_change_rate <= 0)
		return write_host(c);
	rule = (struct ratelimit_rule){ .rate = c->api->opts->nic_change_rate,
					.period_ms = 3600 * 1000,
					.burst = c->api->opts->nic_change_burst,
					.cost = 1 };
	snprintf(key, sizeof(key), "rl:nic:%s", n->host[n->i]);
	if (ratelimit_check(c->api->rl, &rule, keys, 1, on_change_budget, c) < 0)
		write_host(c);
}

/* Whether the text array of PostgreSQL (@arr: "{}" or "{a,b}") is exactly {@one}. */
static bool holds_exactly(const char *arr, const char *one)
{
	char want[RR_CONTENT_SIZE + 3];

	snprintf(want, sizeof(want), "{%s}", one);
	return strcmp(arr, want) == 0;
}

/*
 * The host's current addresses: unchanged is "nochg" (nothing written, never
 * limited: forced updates must not be punished); a change is checked against
 * the cool-down and the change budget, then written.
 */
static void on_state(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	struct nic_req *n = c->nic;

	if (c->api->closing)
		return nic_reply_911(c);
	if (err) {
		metric_inc(c->api->nic_errors);
		return host_done(c, err->code == -EIO ? "dnserr" : "911");
	}
	if (PQntuples(res) != 1)
		return host_done(c, "nohost");
	if ((!n->v4[0] || holds_exactly(PQgetvalue(res, 0, 0), n->v4)) &&
	    (!n->v6[0] || holds_exactly(PQgetvalue(res, 0, 1), n->v6)) && !n->has_txt) {
		metric_inc(c->api->nic_nochg);
		return host_done(c, NULL); /* nochg: nothing written */
	}
	if (redis_client_command(c->api->rl_redis, 0, on_abuse_flag, c,
				 "EXISTS " NIC_ABUSE_KEY "%s", n->host[n->i]) < 0)
		on_abuse_flag(NULL, "not connected", c); /* fails open */
}

static void next_host(struct call *c)
{
	struct nic_req *n = c->nic;

	if (c->api->closing) /* the clients and the pool are going: no new work */
		return nic_reply_911(c);
	while (n->i < n->n_hosts) {
		const char *h = n->host[n->i];
		const char *p[] = { h, c->user_id > 0 ? c->user_s : NULL };

		if (n->word[n->i]) {
			n->i++;
			continue;
		}
		if ((n->token_id && strcmp(h, n->token_host) != 0) ||
		    (n->token_id && n->has_txt && !n->acme)) {
			n->word[n->i++] = "nohost";
			continue;
		}
		if (!n->v4[0] && !n->v6[0] && !n->has_txt) {
			n->word[n->i++] = "notfqdn"; /* nothing to set */
			continue;
		}
		if (db_pool_query(c->api->pool,
				  "SELECT a::text, aaaa::text FROM nic_state($1, $2::bigint)", 2, p,
				  -1, on_state, c) < 0)
			return host_done(c, "911");
		return;
	}
	reply_lines(c);
}

/* ---- credentials -------------------------------------------------------- */

static void start_hosts(struct call *c)
{
	if (agent_blocked(c))
		return reply_text(c, 200, "badagent\n");
	next_host(c);
}

static void on_failure_charged(const struct ratelimit_result *res, int err, const char *reason,
			       void *arg)
{
	(void)res;
	(void)err;
	(void)reason;
	(void)arg;
}

/*
 * The address's budget of wrong update tokens, in @rule and @key: looked
 * at (@peek) before a token is checked, charged when one was wrong, so both
 * name the same key under the same rule. -EINVAL when there is none (no
 * limit, or an address without a rate key).
 */
static int failure_rule(const struct call *c, bool peek, struct ratelimit_rule *rule,
			char key[RATELIMIT_KEY_LEN_MAX])
{
	const struct api_options *o = c->api->opts;
	char a[INET6_ADDRSTRLEN];

	if (o->addr_write_rate <= 0 || netaddr_rate_key(c->addr, a) < 0)
		return -EINVAL;
	*rule = (struct ratelimit_rule){ .rate = o->addr_write_rate,
					 .period_ms = 1000,
					 .burst = o->addr_write_burst,
					 .cost = 1,
					 .peek = peek };
	snprintf(key, RATELIMIT_KEY_LEN_MAX, "rl:nic:fail:a:%s", a);
	return 0;
}

/* A wrong token: charges the address's failure budget, answers badauth. */
static void token_failed(struct call *c)
{
	struct ratelimit_rule rule;
	char key[RATELIMIT_KEY_LEN_MAX];
	const char *keys[1] = { key };

	metric_inc(c->api->auth_failures);
	if (failure_rule(c, false, &rule, key) == 0)
		(void)ratelimit_check(c->api->rl, &rule, keys, 1, on_failure_charged, NULL);
	nic_reply_badauth(c);
}

static void on_token_used(PGresult *res, const struct db_error *err, void *arg)
{
	(void)res;
	(void)arg;
	if (err)
		log_warn(NULL, "could not record an update token's use: %s", err->msg);
}

static void on_tokens(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	struct nic_req *n = c->nic;

	if (err)
		return nic_reply_911(c);
	if (PQntuples(res) != 1) /* no live token of this host has that hash */
		return token_failed(c);
	n->token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	n->acme = PQgetvalue(res, 0, 1)[0] == 't';
	c->user_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	snprintf(c->user_s, sizeof(c->user_s), "%lld", c->user_id);
	snprintf(c->actor, sizeof(c->actor), "token:%lld", n->token_id);
	{
		char id[24];
		const char *p[] = { id, c->addr };

		snprintf(id, sizeof(id), "%lld", n->token_id);
		(void)db_pool_query(
			c->api->pool,
			"UPDATE update_tokens SET last_used_at = now(), last_addr = $2 "
			"WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - "
			"interval '1 minute' OR last_addr IS DISTINCT FROM $2::inet)",
			2, p, -1, on_token_used, NULL);
	}
	start_hosts(c);
}

static void on_failure_budget(const struct ratelimit_result *res, int err, const char *reason,
			      void *arg)
{
	struct call *c = arg;
	char hash[TOKEN_HASH_SQL_SIZE];
	const char *p[] = { c->nic->token_host, hash };

	(void)reason;
	if (c->api->closing)
		return nic_reply_911(c);
	if (err == 0 && !res->allowed)   /* too many wrong tokens from here: not even a query, */
		return nic_reply_911(c); /* and "try later", not an auth failure, for the others */
	/*
	 * By the hash's unique index. Comparing in constant time would guard
	 * nothing: the hash of 256 random bits is no secret an attacker can
	 * approach byte by byte.
	 */
	token_hash_sql(c->nic->hash, hash);
	if (db_pool_query(c->api->pool,
			  "SELECT t.id, t.acme, d.user_id FROM update_tokens t "
			  "JOIN domains d ON d.id = t.domain_id "
			  "JOIN users u ON u.id = d.user_id AND u.status = 'active' "
			  "WHERE t.token_hash = $2::bytea AND d.name = $1 AND t.revoked_at IS NULL",
			  2, p, -1, on_tokens, c) < 0)
		nic_reply_911(c);
}

/* user:password of Basic auth, or the username/password query parameters. */
static int read_credentials(struct call *c, char *user, size_t user_size, char *pass,
			    size_t pass_size)
{
	const char *auth = http_request_header(c->req, "Authorization");
	const char *qu = http_request_query(c->req, "username");
	const char *qp = http_request_query(c->req, "password");

	if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
		unsigned char dec[512];
		size_t len = 0;
		const char *b64 = auth + 6, *colon;

		while (*b64 == ' ')
			b64++;
		if (sodium_base642bin(dec, sizeof(dec) - 1, b64, strlen(b64), NULL, &len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
			return -EINVAL;
		dec[len] = '\0';
		colon = memchr(dec, ':', len);
		if (!colon || memchr(dec, '\0', len) ||
		    (size_t)(colon - (char *)dec) >= user_size ||
		    len - (size_t)(colon - (char *)dec) > pass_size) {
			sodium_memzero(dec, sizeof(dec));
			return -EINVAL;
		}
		memcpy(user, dec, (size_t)(colon - (char *)dec));
		user[colon - (char *)dec] = '\0';
		snprintf(pass, pass_size, "%s", colon + 1);
		sodium_memzero(dec, sizeof(dec));
		return 0;
	}
	if (qu && qp && strlen(qu) < user_size && strlen(qp) < pass_size) {
		snprintf(user, user_size, "%s", qu);
		snprintf(pass, pass_size, "%s", qp);
		return 0;
	}
	return -ENOENT;
}

void h_nic_update(struct call *c)
{
	struct nic_req *n;
	char user[DNSNAME_SIZE], pass[128];
	const char *reason, *txt;
	bool bad = false;
	int r;

	n = c->nic = calloc(1, sizeof(*c->nic));
	if (!n)
		return nic_reply_911(c);
	if (strcmp(http_request_method(c->req), "HEAD") == 0) /* an update is never a HEAD */
		return reply_text(c, 200, "");
	r = http_request_form(c->req);
	if (r == -ENOMEM)
		return nic_reply_911(c);
	if (r < 0) /* a malformed form: like a malformed query */
		return reply_text(c, 200, "notfqdn\n");
	if (c->user_id == 0) { /* not a verified Bearer JWT: an update token, or nothing */
		r = read_credentials(c, user, sizeof(user), pass, sizeof(pass));
		if (r == 0)
			r = dnsname_normalize(user, DNSNAME_HOSTNAME, n->token_host, &reason) < 0 ||
					    token_hash(pass, strlen(pass), n->hash) < 0
				    ? -EINVAL
				    : 0;
		sodium_memzero(pass, sizeof(pass));
		if (r == -ENOENT) /* some clients send credentials only after the challenge */
			return nic_reply_badauth(c);
		if (r < 0)
			return token_failed(c);
	}
	r = http_request_query_valid(c->req) ? read_hosts(c) : -EINVAL;
	if (r == -E2BIG)
		return reply_text(c, 200, "numhost\n");
	if (r < 0)
		return reply_text(c, 200, "notfqdn\n");
	txt = http_request_query(c->req, "txt");
	if (txt) {
		if (rr_content_normalize(RR_TXT, txt, n->txt, sizeof(n->txt), &reason) < 0)
			bad = true;
		else
			n->has_txt = true;
	}
	if (read_addresses(c, !txt) < 0)
		bad = true;
	if (bad) /* the protocol has no word for a bad address: each host is "notfqdn" */
		for (int i = 0; i < n->n_hosts; i++)
			n->word[i] = "notfqdn";
	if (c->user_id > 0)
		return start_hosts(c);
	/* peek at the address's failure budget before asking the database */
	{
		struct ratelimit_rule rule;
		char key[RATELIMIT_KEY_LEN_MAX];
		const char *keys[1] = { key };

		if (failure_rule(c, true, &rule, key) < 0 ||
		    ratelimit_check(c->api->rl, &rule, keys, 1, on_failure_budget, c) < 0)
			on_failure_budget(NULL, -EINVAL, NULL, c);
	}
}

void h_nic_checkip(struct call *c)
{
	char text[INET6_ADDRSTRLEN + 2];

	snprintf(text, sizeof(text), "%s\n", c->addr);
	reply_text(c, 200, text);
}
