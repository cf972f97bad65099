/* ddns-user: the endpoints. */

#include "services/user/hasher.h"
#include "services/user/user_int.h"
#include "shared/db.h"
#include "shared/http.h"
#include "shared/jwt.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis.h"
#include "shared/replica.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The one answer of sign-up, resend and reset, whether or not the email has an account. */
static const char accepted_signup[] =
	"{\"status\":\"accepted\",\"message\":\"check your email: if the address can be used, "
	"a message with a link to verify it is on its way\"}";
static const char accepted_resend[] =
	"{\"status\":\"accepted\",\"message\":\"if an unverified account has this address, a new "
	"verification link is on its way\"}";
static const char accepted_reset[] =
	"{\"status\":\"accepted\",\"message\":\"if an account has this address, a link to reset "
	"the password is on its way\"}";

/* Members of the bodies; a password is any string up to the body limit. */
static const struct http_field f_email_password[] = { { "email", JSON_STRING, true },
						      { "password", JSON_STRING, true } };
static const struct http_field f_email[] = { { "email", JSON_STRING, true } };
static const struct http_field f_token[] = { { "token", JSON_STRING, true } };
static const struct http_field f_token_password[] = { { "token", JSON_STRING, true },
						      { "password", JSON_STRING, true } };
static const struct http_field f_password[] = { { "password", JSON_STRING, true } };
static const struct http_field f_password_change[] = {
	{ "current_password", JSON_STRING, true },
	{ "new_password", JSON_STRING, true },
};
static const struct http_field f_key[] = { { "name", JSON_STRING, false },
					   { "public_key", JSON_STRING, true } };

#define N(f) (sizeof(f) / sizeof((f)[0]))

/* ---- input -------------------------------------------------------------- */

/* Parses the body and checks its members; replies and frees the call on failure. */
static int read_body(struct call *c, const struct http_field *f, size_t n)
{
	int r = http_request_json_fields(c->req, f, n, &c->body);

	if (r < 0)
		call_free(c); /* answered: the request is gone */
	return r;
}

static const char *str(struct call *c, const char *member)
{
	return json_string_value(json_object_get(c->body, member));
}

static size_t len(struct call *c, const char *member)
{
	return json_string_length(json_object_get(c->body, member));
}

/* Normalizes the body's "email" into c->email; replies 400 on failure. */
static int read_email(struct call *c)
{
	const char *reason = NULL;

	if (len(c, "email") > ACCOUNT_EMAIL_MAX + 64 ||
	    account_email_normalize(str(c, "email"), c->email, sizeof(c->email), &reason) < 0) {
		call_reply_error(c, 400, "invalid_email", "the email address is not valid: %s",
				 reason ? reason : "too long");
		return -EINVAL;
	}
	return 0;
}

/* A new password against the policy; replies 400 on failure. */
static int check_password(struct call *c, const char *member, const char *email)
{
	const char *code = NULL, *reason = NULL;

	if (account_password_check(str(c, member), len(c, member), email, &code, &reason) < 0) {
		call_reply_error(c, 400, code, "%s", reason);
		return -EINVAL;
	}
	return 0;
}

/* The body's token as its SHA-256 into c->token_hash; replies 400 on failure. */
static int read_token(struct call *c)
{
	if (token_hash(str(c, "token"), len(c, "token"), c->token_hash) < 0) {
		call_reply_error(c, 400, "invalid_token",
				 "the link is invalid, used or expired: ask for a new one");
		return -EINVAL;
	}
	return 0;
}

static void ttl_text(long long s, char out[32])
{
	snprintf(out, 32, "%lld seconds", s);
}

static void query(struct call *c, const char *sql, int n, const char *const *params,
		  db_result_cb cb)
{
	if (db_pool_query(c->u->pool, sql, n, params, -1, cb, c) < 0)
		call_reply_error(c, 503, "unavailable", "the service is busy, try again");
}

static void hash_password(struct call *c, const char *member, hasher_fn cb)
{
	int r = hasher_hash(c->u->hasher, str(c, member), len(c, member), cb, c);

	if (r == -EAGAIN)
		return call_reply_busy(c);
	if (r < 0)
		return call_reply_error(c, 503, "unavailable", "out of memory");
}

static void verify_password(struct call *c, const char *hash, const char *member, hasher_fn cb)
{
	int r = hasher_verify(c->u->hasher, hash, str(c, member), len(c, member), cb, c);

	if (r == -EAGAIN)
		return call_reply_busy(c);
	if (r < 0)
		return call_reply_error(c, 503, "unavailable", "out of memory");
}

/* A hashing job that did not run (cancelled, out of memory): answer it. */
static bool hash_failed(struct call *c, int result)
{
	if (call_closing(c))
		return true;
	if (result >= 0)
		return false;
	log_error(http_request_id(c->req), "password hashing failed: %s", strerror(-result));
	call_reply_error(c, 503, "unavailable", "the service is unavailable, try again");
	return true;
}

/* ---- work after the answer ---------------------------------------------- */

/*
 * Sign-up, resend and reset answer 202 before their statement runs: a known
 * email costs the database more (a locked row, a write, a commit) than an
 * unknown one, and the client must not be able to time the difference. The
 * statement returns an account id (then the email job @type goes out) or
 * NULL. A database that is down is answered 503 before, the same for all.
 */
struct after {
	struct user_service *u;
	char rid[65];
	char email[ACCOUNT_EMAIL_MAX + 1];
	char token[TOKEN_LEN + 1];
	const char *type;
	bool signup;
};

static void on_after(PGresult *res, const struct db_error *err, void *arg)
{
	struct after *w = arg;

	if (err)
		log_warn(w->rid, "%s not queued: %s", w->type, err->msg);
	else if (!PQgetisnull(res, 0, 0)) {
		if (w->signup)
			metric_inc(w->u->signups);
		user_job(w->u, w->rid, w->type, w->email, w->token);
	}
	sodium_memzero(w->token, sizeof(w->token));
	free(w);
}

/* Runs @sql after answering @accepted (202); @params hold the token's hash. */
static void answer_then(struct call *c, const char *accepted, const char *type, const char *sql,
			int n, const char *const *params)
{
	struct after *w;

	if (db_pool_n_ready(c->u->pool) == 0)
		return call_reply_error(c, 503, "unavailable",
					"the service is unavailable, try again");
	w = calloc(1, sizeof(*w));
	if (!w)
		return call_reply_error(c, 503, "unavailable", "out of memory");
	*w = (struct after){ .u = c->u, .type = type, .signup = c->ep->fn == h_signup };
	snprintf(w->rid, sizeof(w->rid), "%s", http_request_id(c->req));
	snprintf(w->email, sizeof(w->email), "%s", c->email);
	memcpy(w->token, c->token, sizeof(w->token));
	if (db_pool_query(c->u->pool, sql, n, params, -1, on_after, w) < 0) {
		free(w);
		return call_reply_error(c, 503, "unavailable", "the service is busy, try again");
	}
	call_reply_text(c, 202, accepted);
}

/* ---- sign-up and verification ------------------------------------------- */

static void on_signup_hashed(int result, const char *hash, void *arg)
{
	struct call *c = arg;
	char th[TOKEN_HASH_SQL_SIZE], ttl[32];
	const char *p[] = { c->email, hash, th, ttl };

	if (hash_failed(c, result))
		return;
	token_new(c->token, c->token_hash);
	token_hash_sql(c->token_hash, th);
	ttl_text(c->u->opts->email_token_ttl_s, ttl);
	answer_then(c, accepted_signup, "email.verify",
		    "SELECT user_signup($1, $2, $3::bytea, $4::interval)", 4, p);
}

static void signup_limited(struct call *c)
{
	/* hashed whether or not the email is taken: the same time either way */
	hash_password(c, "password", on_signup_hashed);
}

void h_signup(struct call *c)
{
	if (read_body(c, f_email_password, N(f_email_password)) < 0 || read_email(c) < 0 ||
	    check_password(c, "password", c->email) < 0)
		return;
	call_limits(c, LIMIT_SIGNUP, signup_limited);
}

static void on_verified(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	json_t *doc;
	bool reset;

	if (err)
		return call_reply_db_error(c, err);
	doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (!doc)
		return call_reply_error(c, 500, "internal", "internal error");
	reset = json_is_true(json_object_get(doc, "reset"));
	log_info(http_request_id(c->req), "account %lld verified%s",
		 (long long)json_integer_value(json_object_get(doc, "id")),
		 reset ? " (contested: password reset by email)" : "");
	if (reset)
		user_job(c->u, http_request_id(c->req), "email.password_reset",
			 json_string_value(json_object_get(doc, "email")), c->token);
	json_decref(doc);
	call_reply_json(c, 200,
			json_pack("{s:b, s:b}", "verified", 1, "password_reset_required", reset));
}

/*
 * A contested account (two sign-ups for one mailbox) loses its password on
 * verification and gets a reset link instead: the token made here.
 */
void h_verify(struct call *c)
{
	char th[TOKEN_HASH_SQL_SIZE], rh[TOKEN_HASH_SQL_SIZE], ttl[32];
	unsigned char reset_hash[32];
	const char *p[] = { th, rh, ttl };

	if (read_body(c, f_token, N(f_token)) < 0 || read_token(c) < 0)
		return;
	token_hash_sql(c->token_hash, th);
	token_new(c->token, reset_hash);
	token_hash_sql(reset_hash, rh);
	ttl_text(c->u->opts->email_token_ttl_s, ttl);
	query(c, "SELECT user_verify($1::bytea, $2::bytea, $3::interval)::text", 3, p, on_verified);
}

/* ---- tokens by email: resend and reset ---------------------------------- */

static void mail_limited(struct call *c)
{
	char th[TOKEN_HASH_SQL_SIZE], ttl[32];
	bool resend = c->ep->fn == h_verify_resend;
	const char *p[] = { c->email, resend ? "verify" : "password_reset", th, ttl };

	token_new(c->token, c->token_hash);
	token_hash_sql(c->token_hash, th);
	ttl_text(c->u->opts->email_token_ttl_s, ttl);
	answer_then(c, resend ? accepted_resend : accepted_reset,
		    resend ? "email.verify" : "email.password_reset",
		    "SELECT user_token_new($1, $2, $3::bytea, $4::interval)", 4, p);
}

void h_verify_resend(struct call *c)
{
	if (read_body(c, f_email, N(f_email)) < 0 || read_email(c) < 0)
		return;
	call_limits(c, LIMIT_MAIL, mail_limited);
}

void h_password_reset(struct call *c)
{
	if (read_body(c, f_email, N(f_email)) < 0 || read_email(c) < 0)
		return;
	call_limits(c, LIMIT_MAIL, mail_limited);
}

/* After a password change or reset: the password_changed email, then the answer. */
static void on_sessions_ended(struct call *c, int err)
{
	if (call_closing(c))
		return;
	user_job(c->u, http_request_id(c->req), "email.password_changed", c->email, NULL);
	if (err < 0)
		return call_reply_error(c, 503, "unavailable",
					"the password was changed, but other sessions could not "
					"be ended: log in and change it again");
	if (c->ep->fn == h_password_reset_confirm)
		return call_reply_text(c, 200, "{\"reset\":true}");
	call_reply_json(c, 204, NULL);
}

static void on_reset_done(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	char *end;

	if (err)
		return call_reply_db_error(c, err);
	/* the id alone: the email is known since on_reset_token */
	c->user_id = strtoll(PQgetvalue(res, 0, 0), &end, 10);
	if (*end || c->user_id <= 0) { /* never, by the function's contract */
		log_error(http_request_id(c->req), "user_password_reset answered no account id");
		return call_reply_error(c, 500, "internal", "the password reset failed");
	}
	log_info(http_request_id(c->req), "password of account %lld reset", c->user_id);
	session_end_others(c, false, on_sessions_ended);
}

static void on_reset_hashed(int result, const char *hash, void *arg)
{
	struct call *c = arg;
	char th[TOKEN_HASH_SQL_SIZE];
	const char *p[] = { th, hash };

	if (hash_failed(c, result))
		return;
	token_hash_sql(c->token_hash, th);
	/* the token is used only now, atomically with the new hash */
	query(c, "SELECT user_password_reset($1::bytea, $2)->>'id'", 2, p, on_reset_done);
}

static void on_reset_token(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;

	if (err)
		return call_reply_db_error(c, err);
	if (PQntuples(res) != 1)
		return call_reply_error(c, 400, "invalid_token",
					"the link is invalid, used or expired: ask for a new one");
	snprintf(c->email, sizeof(c->email), "%s", PQgetvalue(res, 0, 0));
	if (check_password(c, "password", c->email) < 0)
		return;
	hash_password(c, "password", on_reset_hashed);
}

void h_password_reset_confirm(struct call *c)
{
	char th[TOKEN_HASH_SQL_SIZE];
	const char *p[] = { th };

	if (read_body(c, f_token_password, N(f_token_password)) < 0 || read_token(c) < 0)
		return;
	token_hash_sql(c->token_hash, th);
	query(c,
	      "SELECT u.email FROM email_tokens t JOIN users u ON u.id = t.user_id "
	      "WHERE t.token_hash = $1::bytea AND t.purpose = 'password_reset' "
	      "AND t.used_at IS NULL AND t.expires_at > now() AND u.status = 'active'",
	      1, p, on_reset_token);
}

/* ---- sessions ----------------------------------------------------------- */

static void on_login_session(struct call *c, int err)
{
	if (call_closing(c))
		return;
	if (err < 0)
		return call_reply_error(c, 503, "unavailable",
					"the service is unavailable, try again");
	metric_inc(c->u->logins);
	log_info(http_request_id(c->req), "user %lld logged in", c->user_id);
	call_reply_json(c, 201,
			json_pack("{s:{s:I, s:s, s:b}}", "user", "id", (json_int_t)c->user_id,
				  "email", c->email, "verified", 1));
}

static void on_login_verified(int result, const char *hash, void *arg)
{
	struct call *c = arg;

	(void)hash;
	if (hash_failed(c, result))
		return;
	if (c->user_id == 0 || result == 0) {
		metric_inc(c->u->login_failures);
		call_password_failed(c);
		return call_reply_error(c, 401, "invalid_credentials",
					"the email or the password is wrong");
	}
	/* told only to whoever knows the password */
	if (!c->active)
		return call_reply_error(c, 403, "account_disabled", "the account is disabled");
	if (!c->verified)
		return call_reply_error(c, 403, "email_unverified",
					"verify your email address first: follow the link in the "
					"message we sent, or ask for a new one");
	session_create(c, on_login_session);
}

static void on_login_row(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	const char *hash = hasher_dummy(c->u->hasher);

	if (err)
		return call_reply_db_error(c, err);
	if (PQntuples(res) == 1) {
		c->user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		snprintf(c->user_s, sizeof(c->user_s), "%lld", c->user_id);
		snprintf(c->hash, sizeof(c->hash), "%s", PQgetvalue(res, 0, 1));
		c->verified = PQgetvalue(res, 0, 2)[0] == 't';
		c->active = PQgetvalue(res, 0, 3)[0] == 't';
		hash = c->hash;
		/* no usable password (a contested account waits for its reset):
		 * as slow and as wrong as an unknown email */
		if (strncmp(c->hash, "$argon2", 7) != 0) {
			c->user_id = 0;
			hash = hasher_dummy(c->u->hasher);
		}
	}
	/* an unknown email is verified against the dummy: it takes as long */
	verify_password(c, hash, "password", on_login_verified);
}

static void login_limited(struct call *c)
{
	const char *p[] = { c->email };

	query(c,
	      "SELECT id, password_hash, verified_at IS NOT NULL, status = 'active' "
	      "FROM users WHERE lower(email) = $1",
	      1, p, on_login_row);
}

void h_login(struct call *c)
{
	if (read_body(c, f_email_password, N(f_email_password)) < 0 || read_email(c) < 0)
		return;
	call_limits(c, LIMIT_LOGIN, login_limited);
}

static void on_logout(struct call *c, int err)
{
	(void)err;
	call_reply_json(c, 204, NULL);
}

void h_logout(struct call *c)
{
	session_end(c, on_logout);
}

static void on_token_user(PGresult *res, const struct db_error *err, void *arg);

/* The session's account is gone (deleted meanwhile): the session is worthless. */
static void reply_account_gone(struct call *c)
{
	session_clear_cookie(c);
	call_reply_error(c, 401, "unauthenticated", "log in first");
}

/* Only for an account that still exists and is active. */
void h_session_token(struct call *c)
{
	const char *p[] = { c->user_s };

	query(c, "SELECT status = 'active' FROM users WHERE id = $1", 1, p, on_token_user);
}

static void sign_session_token(struct call *c)
{
	const struct user_options *o = c->u->opts;
	unsigned char rnd[16];
	char jti[33], *token = NULL, exp_s[32];
	long long now = (long long)time(NULL), exp = now + o->token_lifetime_s;
	time_t t = (time_t)exp;
	struct tm tm;
	json_t *claims;
	int r;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(jti, sizeof(jti), rnd, sizeof(rnd));
	claims = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "sub", c->user_s, "aud", o->audience,
			   "iat", (json_int_t)now, "exp", (json_int_t)exp, "jti", jti, "scope",
			   "dns:read dns:write domains:write");
	r = claims ? jwt_sign(c->u->signer, claims, &token) : -ENOMEM;
	json_decref(claims);
	if (r < 0) {
		log_error(http_request_id(c->req), "could not sign a session token: %s",
			  strerror(-r));
		return call_reply_error(c, 500, "internal", "internal error");
	}
	metric_inc(c->u->tokens_issued);
	gmtime_r(&t, &tm);
	strftime(exp_s, sizeof(exp_s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	call_reply_json(c, 200,
			json_pack("{s:s, s:s, s:I, s:s}", "token", token, "token_type", "Bearer",
				  "expires_in", (json_int_t)o->token_lifetime_s, "expires_at",
				  exp_s));
	sodium_memzero(token, strlen(token));
	free(token);
}

static void on_token_user(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;

	if (err)
		return call_reply_db_error(c, err);
	if (PQntuples(res) != 1)
		return reply_account_gone(c);
	if (PQgetvalue(res, 0, 0)[0] != 't')
		return call_reply_error(c, 403, "account_disabled", "the account is disabled");
	sign_session_token(c);
}

/* Tells ddns-api that key @kid is revoked (it drops the key from its cache at once). */
static void announce_revoked(struct call *c, const char *kid)
{
	if (redis_client_command(c->u->stream_redis, 0, NULL, NULL, "PUBLISH %s %s",
				 JWT_KEYS_REVOKED_CHANNEL, kid) < 0)
		log_warn(http_request_id(c->req),
			 "could not announce the revocation of key \"%s\" (ddns-api drops it "
			 "within its key cache TTL)",
			 kid);
}

/* ---- the account -------------------------------------------------------- */

static void on_me(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;

	if (err)
		return call_reply_db_error(c, err);
	if (PQntuples(res) != 1)
		return reply_account_gone(c);
	call_reply_text(c, 200, PQgetvalue(res, 0, 0));
}

void h_me(struct call *c)
{
	const char *p[] = { c->user_s };

	query(c, "SELECT user_json(u)::text FROM users u WHERE u.id = $1", 1, p, on_me);
}

static void on_password_changed(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;

	(void)res;
	if (err)
		return call_reply_db_error(c, err);
	log_info(http_request_id(c->req), "password of account %lld changed", c->user_id);
	session_end_others(c, true, on_sessions_ended);
}

static void on_new_hashed(int result, const char *hash, void *arg)
{
	struct call *c = arg;
	const char *p[] = { c->user_s, hash };

	if (hash_failed(c, result))
		return;
	query(c, "SELECT user_password_set($1, $2)", 2, p, on_password_changed);
}

static void on_account_sessions_ended(struct call *c, int err)
{
	if (call_closing(c))
		return;
	session_clear_cookie(c);
	if (err < 0)
		log_error(http_request_id(c->req),
			  "sessions of the deleted account %lld may outlive it by their idle time",
			  c->user_id);
	call_reply_json(c, 204, NULL);
}

static void on_deleted(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	json_t *doc, *changes, *kid;
	size_t i, n;

	if (err)
		return call_reply_db_error(c, err);
	doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	changes = json_object_get(doc, "changes");
	n = json_array_size(changes);
	if (replica_announce(c->u->stream_redis, changes, NULL, NULL) < n)
		log_warn(http_request_id(c->req), "could not add every change to the stream (the "
						  "change log delivers them)");
	json_array_foreach(json_object_get(doc, "kids"), i, kid)
		announce_revoked(c, json_string_value(kid));
	json_decref(doc);
	log_info(http_request_id(c->req), "account %lld deleted (%zu DNS changes)", c->user_id, n);
	/* the account is gone, so its sessions find no user anyway; end them now */
	session_end_others(c, false, on_account_sessions_ended);
}

static void on_own_verified(int result, const char *hash, void *arg)
{
	struct call *c = arg;
	struct in6_addr a6;
	struct in_addr a4;
	bool ip = inet_pton(AF_INET, c->addr, &a4) == 1 || inet_pton(AF_INET6, c->addr, &a6) == 1;
	const char *p[] = { c->user_s, ip ? c->addr : NULL, c->ua[0] ? c->ua : NULL };

	(void)hash;
	if (hash_failed(c, result))
		return;
	if (result == 0) {
		call_password_failed(c);
		return call_reply_error(c, 403, "wrong_password", "the password is wrong");
	}
	if (c->ep->fn == h_password_change) {
		if (check_password(c, "new_password", c->email) < 0)
			return;
		return hash_password(c, "new_password", on_new_hashed);
	}
	query(c, "SELECT user_delete($1, $2::inet, $3)::text", 3, p, on_deleted);
}

static void own_limited(struct call *c)
{
	verify_password(c, c->hash,
			c->ep->fn == h_password_change ? "current_password" : "password",
			on_own_verified);
}

static void on_own_row(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;

	if (err)
		return call_reply_db_error(c, err);
	if (PQntuples(res) != 1)
		return reply_account_gone(c);
	snprintf(c->email, sizeof(c->email), "%s", PQgetvalue(res, 0, 0));
	snprintf(c->hash, sizeof(c->hash), "%s", PQgetvalue(res, 0, 1));
	/* a password check like a login's: the account's failures are limited */
	call_limits(c, LIMIT_LOGIN, own_limited);
}

/* Reads the session user's email and hash, then checks the password the body gives. */
static void check_own_password(struct call *c)
{
	const char *p[] = { c->user_s };

	query(c, "SELECT email, password_hash FROM users WHERE id = $1 AND status = 'active'", 1, p,
	      on_own_row);
}

void h_password_change(struct call *c)
{
	if (read_body(c, f_password_change, N(f_password_change)) < 0)
		return;
	check_own_password(c);
}

void h_me_delete(struct call *c)
{
	if (read_body(c, f_password, N(f_password)) < 0)
		return;
	check_own_password(c);
}

/* ---- public keys -------------------------------------------------------- */

static void on_read(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;

	if (err)
		return call_reply_db_error(c, err);
	call_reply_text(c, 200, PQgetvalue(res, 0, 0));
}

void h_keys_list(struct call *c)
{
	const char *p[] = { c->user_s };

	query(c,
	      "SELECT jsonb_build_object('items', coalesce(jsonb_agg(user_key_json(k) "
	      "ORDER BY k.created_at, k.id), '[]'))::text "
	      "FROM api_keys k WHERE k.user_id = $1 AND k.revoked_at IS NULL",
	      1, p, on_read);
}

static void on_key_added(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	char loc[200];
	json_t *doc;

	if (err)
		return call_reply_db_error(c, err);
	doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (!json_is_string(json_object_get(doc, "kid"))) {
		json_decref(doc);
		return call_reply_error(c, 500, "internal", "internal error");
	}
	snprintf(loc, sizeof(loc), "/api/v1/keys/%s",
		 json_string_value(json_object_get(doc, "kid")));
	(void)http_reply_header(c->req, "Location", loc);
	log_info(http_request_id(c->req), "key \"%s\" registered for user %lld",
		 json_string_value(json_object_get(doc, "kid")), c->user_id);
	call_reply_json(c, 201, doc);
}

/* A key's name: 1..100 bytes of printable ASCII or UTF-8, no control characters. */
static bool valid_key_name(const char *s, size_t n)
{
	if (n == 0 || n > 100)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

void h_key_add(struct call *c)
{
	struct jwt_key_import key = { 0 };
	const char *code = NULL, *reason = NULL, *name;
	char limit[24];
	int r;

	if (read_body(c, f_key, N(f_key)) < 0)
		return;
	name = str(c, "name");
	if (name && !valid_key_name(name, len(c, "name")))
		return call_reply_error(
			c, 400, "invalid_field",
			"\"name\" must be 1 to 100 bytes without control characters");
	r = jwt_key_import(str(c, "public_key"), len(c, "public_key"), &key, &code, &reason);
	if (r == -EINVAL)
		return call_reply_error(c, 400, code ? code : "invalid_key", "%s",
					reason ? reason : "the key could not be read");
	if (r < 0) {
		log_error(http_request_id(c->req), "could not read a public key: %s", strerror(-r));
		return call_reply_error(c, 503, "unavailable",
					"the service is unavailable, try again");
	}
	snprintf(limit, sizeof(limit), "%lld", c->u->opts->key_limit);
	{
		const char *p[] = { c->user_s,      key.kid,
				    name,           key.alg == JWT_RS256 ? "RS256" : "ES256",
				    key.public_jwk, limit };

		query(c, "SELECT user_key_add($1, $2, $3, $4, $5::jsonb, $6)::text", 6, p,
		      on_key_added);
	}
	jwt_key_import_finish(&key);
}

static void on_key_deleted(PGresult *res, const struct db_error *err, void *arg)
{
	struct call *c = arg;
	const char *kid = http_request_param(c->req, "kid");

	(void)res;
	if (err)
		return call_reply_db_error(c, err);
	announce_revoked(c, kid);
	log_info(http_request_id(c->req), "key \"%s\" of user %lld revoked", kid, c->user_id);
	call_reply_json(c, 204, NULL);
}

void h_key_delete(struct call *c)
{
	const char *kid = http_request_param(c->req, "kid");
	const char *p[] = { c->user_s, kid };

	for (const char *q = kid; q && *q; q++)
		if (*q <= 0x20 || *q >= 0x7f)
			return call_reply_error(c, 404, "not_found", "no such key");
	if (!kid || !*kid || strlen(kid) > JWT_KID_MAX)
		return call_reply_error(c, 404, "not_found", "no such key");
	query(c, "SELECT user_key_revoke($1, $2)", 2, p, on_key_deleted);
}
