#pragma once

/*
 * ddns-user: accounts (sign-up, email verification, password change and
 * reset, deletion), sessions for the dashboard, session tokens for ddns-api
 * signed with the platform's key, and the users' public keys. The logic is a
 * library (tests link it); main.c only loads the configuration and runs the
 * loop.
 *
 * A request goes through:
 *   1. the route table (handler; whether a session is needed);
 *   2. the limits (Redis db2): every request charges its address; sign-up,
 *      login and the requests that send email charge their own budgets of
 *      the address and, where an email is given, of that email, whether or
 *      not it belongs to an account (fails open, counted);
 *   3. for session routes: the cookie's session (Redis db3; fails closed),
 *      and for any method but GET the CSRF header X-Requested-With (a
 *      cross-site form cannot send it, a cross-site fetch with it needs a
 *      CORS preflight, which this service never grants);
 *   4. the handler (handlers.c): passwords are hashed and verified on the
 *      hasher's threads, writes are one SQL function each (migration 0007),
 *      emails are jobs on the stream `jobs` (db1) for ddns-worker.
 *
 * No enumeration: sign-up, verification resend and password reset answer
 * the same status and body whether or not the email has an account, and a
 * login with an unknown email verifies the password against a dummy hash, so
 * it takes as long as a wrong password.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

struct event_base;
struct metrics_registry;
struct http_route;

struct user_options {
	const char *database_url;
	const char *redis_ratelimit_url; /* db2 */
	const char *redis_session_url;   /* db3: sessions */
	const char *redis_stream_url;    /* db1: jobs, keys:revoked, dns:changes */
	const char *audience;            /* aud of session tokens */
	const char *platform_key_file;   /* PEM private key that signs session tokens */
	const char *platform_kid;
	long long token_lifetime_s; /* at most 300: ddns-api's maximum */
	long long session_idle_ms, session_lifetime_ms;
	bool cookie_secure;
	long long email_token_ttl_s;
	unsigned long long pwhash_opslimit;
	unsigned long long pwhash_memlimit;
	long long hash_threads, hash_queue;
	long long key_limit;
	const char *trusted_proxies;
	/* per second and burst; 0 rate: unlimited */
	long long addr_rate, addr_burst;
	/* per hour and burst */
	long long signup_rate, signup_burst;
	long long login_addr_rate, login_addr_burst, login_account_rate, login_account_burst;
	long long mail_addr_rate, mail_addr_burst, mail_email_rate, mail_email_burst;
	long long db_connections;
	long long db_timeout_ms;
};

/* The session cookie's name; "__Host-" USER_COOKIE when it is Secure (bound to
 * the dashboard's host: a sibling host cannot set or shadow it). */
#define USER_COOKIE         "ddns_session"
#define USER_CSRF_HEADER    "X-Requested-With"
#define USER_JOBS_STREAM    "jobs"
#define USER_SESSION_PREFIX "sess:"

struct user_service;

/*
 * Creates the engine on @base (borrowed) with @opts (strings borrowed: they
 * must outlive it). Logs and returns NULL on a bad option or an unusable
 * key file.
 */
struct user_service *user_create(struct event_base *base, const struct user_options *opts,
				 struct metrics_registry *metrics);
void user_destroy(struct user_service *u); /* NULL-safe */

const struct http_route *user_routes(const struct user_service *u, size_t *ret_n);
bool user_ready(struct user_service *u, json_t *checks);
void user_print_routes(FILE *out);
