#pragma once

/* ddns-user internals shared by user.c (pipeline, sessions, jobs) and handlers.c. */

#include "services/user/account.h"
#include "services/user/user.h"
#include "shared/netaddr.h"
#include "shared/ratelimit.h"
#include "shared/token.h"

#include <arpa/inet.h>
#include <netinet/in.h>

struct call;
struct db_error;
struct http_request;
struct jwt_signer;

/* What a route charges besides the address's general budget. */
enum limit_kind {
	LIMIT_NONE,
	LIMIT_SIGNUP, /* address */
	LIMIT_LOGIN,  /* a password check: the address, and the account's failures (peeked;
			 charged by call_password_failed); fails closed */
	LIMIT_MAIL,   /* address and the email given: requests that send email */
};

struct endpoint {
	const char *method, *pattern;
	void (*fn)(struct call *c);
	bool session;          /* a session cookie is required */
	bool csrf;             /* the CSRF header is required (cookie requests but GET) */
	enum limit_kind limit; /* charged by the handler once the email is known */
};

extern const struct endpoint user_endpoints[];
extern const size_t user_n_endpoints;

struct user_service {
	const struct user_options *opts; /* borrowed */
	struct db_pool *pool;
	struct redis_client *rl_redis, *sess_redis, *stream_redis;
	struct ratelimit *rl;
	struct hasher *hasher;
	struct jwt_signer *signer;
	struct netaddr_list trusted;
	struct http_route *routes; /* owned */
	struct route_arg {
		struct user_service *u;
		const struct endpoint *ep;
	} * route_args; /* owned */
	bool closing;   /* being destroyed: continuations answer 503 */
	struct metric *signups, *logins, *login_failures, *rl_denied, *rl_errors, *jobs_queued,
		*job_errors, *tokens_issued, *busy;
};

/* One request in flight; freed by call_reply*. */
struct call {
	struct user_service *u;      /* borrowed */
	struct http_request *req;    /* until the reply */
	const struct endpoint *ep;   /* borrowed */
	char addr[INET6_ADDRSTRLEN]; /* the client, after trusted proxies */
	char ua[256];
	json_t *body;                      /* owned; the parsed body */
	char email[ACCOUNT_EMAIL_MAX + 1]; /* normalized, when the body has one */
	char sid_hash[65];                 /* the session's key part (hex SHA-256 of the cookie) */
	long long user_id;                 /* of the session or the account found */
	char user_s[24];                   /* user_id as text */
	char hash[ACCOUNT_HASH_MAX];       /* a password hash read or made */
	unsigned char token_hash[32];      /* an email token made or received */
	char token[TOKEN_LEN + 1];         /* a token made, for its email job */
	bool verified, active;             /* of the account found at login */
	struct ratelimit_result limit;
};

void call_free(struct call *c);
void call_reply_json(struct call *c, int status, json_t *body /* stolen */);
void call_reply_text(struct call *c, int status, const char *json_text);
void call_reply_error(struct call *c, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void call_reply_db_error(struct call *c, const struct db_error *err);
/* 503 "busy" when the hasher's queue is full. */
void call_reply_busy(struct call *c);
typedef void (*step_fn)(struct call *c);
/*
 * Charges the budgets of @kind (LIMIT_NONE: the address's general one;
 * the others with c->email where they limit per email: call it once that is
 * known), then @next; answers 429 when one is spent. Fails open, except
 * LIMIT_LOGIN, which answers 503 when the limits cannot be checked.
 */
void call_limits(struct call *c, enum limit_kind kind, step_fn next);
/* A wrong password for c->email: charges that account's failure budget. */
void call_password_failed(struct call *c);
/* Answers 503 and returns true when the engine is being destroyed. */
bool call_closing(struct call *c);

/*
 * An email job on the stream `jobs` for ddns-worker: @type, to @to, with
 * @token (NULL: none). Fire and forget: a failure is logged and counted
 * (the person can ask again: resend, reset).
 */
void user_job(struct user_service *u, const char *rid, const char *type, const char *to,
	      const char *token);

/* Sessions (Redis db3). */
typedef void (*session_fn)(struct call *c, int err);
/* A new session for c->user_id; sets the cookie on c's reply; then @next (err < 0: failed). */
void session_create(struct call *c, session_fn next);
/* Ends the sessions of c->user_id, all but c's own when @keep_own; then @next (err < 0:
 * Redis did not confirm). */
void session_end_others(struct call *c, bool keep_own, session_fn next);
/* Ends c's session (if any) and clears the cookie; then @next. */
void session_end(struct call *c, session_fn next);
/* The header value that clears the cookie. */
void session_clear_cookie(struct call *c);

/* handlers.c */
void h_signup(struct call *c);
void h_verify(struct call *c);
void h_verify_resend(struct call *c);
void h_login(struct call *c);
void h_logout(struct call *c);
void h_session_token(struct call *c);
void h_me(struct call *c);
void h_me_delete(struct call *c);
void h_password_change(struct call *c);
void h_password_reset(struct call *c);
void h_password_reset_confirm(struct call *c);
void h_keys_list(struct call *c);
void h_key_add(struct call *c);
void h_key_delete(struct call *c);
