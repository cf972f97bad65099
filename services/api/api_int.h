#pragma once

/* ddns-api internals shared by api.c (the request pipeline) and handlers.c. */

#include "services/api/api.h"
#include "services/api/dnsquery.h"
#include "services/api/tokens.h"
#include "shared/dnsname.h"
#include "shared/jwt.h"
#include "shared/netaddr.h"
#include "shared/ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

struct call;
struct db_error;
struct http_request;

struct endpoint {
	const char *method, *pattern;
	void (*fn)(struct call *c);
	bool auth;       /* a token is required */
	unsigned scopes; /* JWT_SCOPE_* the token must carry */
	bool write;      /* counts against the write budgets */
	bool nic;        /* dyndns2 (nic.c): text answers, update tokens, never 429 */
};

extern const struct endpoint api_endpoints[];
extern const size_t api_n_endpoints;

#define RESERVED_MAX 128

struct api {
	struct event_base *base;        /* borrowed */
	const struct api_options *opts; /* borrowed */
	struct db_pool *pool;
	struct redis_client *rl_redis, *sess_redis, *stream_redis, *sub_redis;
	struct ratelimit *rl;
	struct keys *keys;
	struct tokens *tokens; /* verified tokens by digest */
	struct netaddr_list trusted;
	char *reserved[RESERVED_MAX]; /* owned */
	size_t n_reserved;
	struct jwt_policy policy;
	struct http_route *routes; /* owned */
	struct route_arg {
		struct api *api;
		const struct endpoint *ep;
	} * route_args; /* owned */
	bool closing;   /* being destroyed: continuations answer 503 */
	struct metric *token_hits, *auth_failures, *rl_denied, *rl_errors, *xadd_errors, *writes;
	struct metric *nic_good, *nic_nochg, *nic_abuse, *nic_badauth, *nic_errors;
	char **nic_agents; /* owned; blocked User-Agent substrings, lower case */
	size_t n_nic_agents;
	struct sockaddr_storage dns_server; /* PowerDNS, asked by GET .../dns (dns.c) */
	char dns_server_text[DNSQUERY_SERVER_STRLEN];
	struct dns_wait *dns_waits; /* queries in flight, each owned by its request */
	size_t n_dns_waits;
};

/* One request in flight; freed by call_reply*. */
struct call {
	struct api *api;             /* borrowed */
	struct http_request *req;    /* until the reply */
	const struct endpoint *ep;   /* borrowed */
	char addr[INET6_ADDRSTRLEN]; /* the client, after trusted proxies */
	const char *tok;             /* borrowed from the Authorization header */
	size_t tok_len;
	char kid[JWT_KID_MAX + 1];
	bool hit;                    /* the token was verified before ... */
	uint64_t hit_serial;         /* ... by this load of its key */
	struct token_hit hit_claims; /* of the hit, or to remember */
	bool remember;               /* verified now: remember it if the request passes */
	struct jwt_token *token;     /* owned; until verified */
	struct jwt_claims claims;
	long long user_id;
	char user_s[24]; /* user_id as text, for SQL parameters */
	char actor[160]; /* "key:<kid>" or "session:<kid>" */
	char ua[256];    /* User-Agent, printable ASCII, cut */
	bool scope_ok;   /* the token carries the endpoint's scopes */
	int waiting;     /* Redis answers still to come */
	bool revoked, jti_failed, limited;
	struct ratelimit_result limit; /* of the last check */
	json_t *body;                  /* owned; parsed request body */
	json_t *answer;                /* owned; what is sent once the XADDs are done */
	int answer_status;
	const char *write_member; /* static: the member of a write's result answered */
	const char *write_what;   /* static: what a write's 404 names ("record") */
	int xadds;                /* XADDs still to complete */
	struct nic_req *nic;      /* owned; a /nic/update in progress */
};

/* Frees the call without answering (its request was answered elsewhere). */
void call_free(struct call *c);
/* Answers and frees the call. */
void call_reply_json(struct call *c, int status, json_t *body /* stolen */);
void call_reply_text(struct call *c, int status, const char *json_text);
void call_reply_error(struct call *c, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Maps a database error to an answer (404, 409, 503, ...). */
void call_reply_db_error(struct call *c, const struct db_error *err, const char *what);
/*
 * Sends the changes [[id, zone_id, name], ...] (borrowed) to dns:changes,
 * then answers @status with @body (stolen; NULL: no body).
 */
void call_publish_and_reply(struct call *c, json_t *changes, int status, json_t *body);

/* Whether @label (lower case) is on the reserved list. */
bool api_reserved(const struct api *api, const char *label);

/* handlers.c */
/* "/api/v1/domains/{name}": the normalized host name, or a 404 (answered). */
int param_domain(struct call *c, char out[DNSNAME_SIZE]);
/*
 * A record's owner name as given (wildcard allowed), normalized into @out;
 * -EINVAL with the error code and message for a 400 otherwise.
 */
int valid_name(const char *in, char out[DNSNAME_SIZE], const char **ret_code, char *msg,
	       size_t size);
void h_zones_list(struct call *c);
void h_domains_list(struct call *c);
void h_domain_claim(struct call *c);
void h_domain_get(struct call *c);
void h_domain_release(struct call *c);
void h_domain_history(struct call *c);
void h_rrsets_put(struct call *c);
void h_records_list(struct call *c);
void h_record_create(struct call *c);
void h_record_get(struct call *c);
void h_record_put(struct call *c);
void h_record_patch(struct call *c);
void h_record_delete(struct call *c);
void h_token_revoke(struct call *c);
void h_update_tokens_list(struct call *c);
void h_update_token_create(struct call *c);
void h_update_token_revoke(struct call *c);

/* dns.c: what PowerDNS answers now */
void h_domain_dns(struct call *c);
/* Cancels the queries in flight: their requests are answered 503 now. */
void dns_cancel_all(struct api *api);

/* nic.c: the dyndns2 protocol */
void h_nic_update(struct call *c);
void h_nic_checkip(struct call *c);
/* 401 "badauth" with the Basic challenge, or 200 "911" (server trouble). */
void nic_reply_badauth(struct call *c);
void nic_reply_911(struct call *c);
void nic_free(struct nic_req *n); /* NULL-safe */
