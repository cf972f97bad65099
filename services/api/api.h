#pragma once

/*
 * ddns-api: domains and records over REST, with JWT auth on the users' own
 * key pairs. The logic is a library (tests link it); main.c only loads the
 * configuration and runs the loop.
 *
 * A request goes through:
 *   1. the route table (endpoint: handler, required scopes, read or write);
 *   2. authentication: the Bearer token is parsed, its kid looked up (keys.c;
 *      a kid not in memory first costs the client's address one unit of its
 *      budget, so random kids cannot flood PostgreSQL), the signature and the
 *      claims verified (shared/jwt), the scopes checked;
 *   3. in parallel: the token's jti against the revocation list (Redis db3;
 *      fails closed: 503) and the rate limits of the user and the address
 *      (Redis db2, one atomic script; fails open, counted in
 *      api_ratelimit_errors_total);
 *   4. the handler (handlers.c): one statement for a write (an api_* SQL
 *      function: one transaction with the changes and audit rows), then an
 *      XADD of each change to dns:changes, then the answer. A failed XADD is
 *      counted and logged; ddns-cache still applies the change from the
 *      change log.
 * A token that fails verification costs the address a unit too; once the
 * address is over its budget it gets 429 instead of 401.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

struct event_base;
struct metrics_registry;
struct http_route;

struct api_options {
	const char *database_url;
	const char *redis_ratelimit_url; /* db2 */
	const char *redis_session_url;   /* db3: revoked jtis */
	const char *redis_stream_url;    /* db1: dns:changes, keys:revoked */
	const char *audience;
	long long max_lifetime_s;
	const char *platform_key_file; /* PEM public key of session tokens; NULL: none */
	const char *platform_kid;
	long long key_ttl_ms, key_negative_ttl_ms;
	long long domain_quota, record_limit;
	const char *reserved_names; /* comma separated labels */
	const char *trusted_proxies;
	/* per second and burst; 0 rate: unlimited */
	long long user_read_rate, user_read_burst, user_write_rate, user_write_burst;
	long long addr_read_rate, addr_read_burst, addr_write_rate, addr_write_burst;
	long long db_connections;
	long long db_timeout_ms;
	long long update_token_limit; /* live update tokens a domain may hold */
	/* dyndns2: changing updates per hour per host, and at once; then "abuse" for the cool-down
	 */
	long long nic_change_rate, nic_change_burst, nic_abuse_cooldown_ms;
	const char *nic_realm;          /* of the Basic challenge */
	const char *nic_blocked_agents; /* comma separated User-Agent substrings: "badagent" */
	const char *dns_server; /* "127.0.0.1:5300": PowerDNS, asked by GET .../dns; NULL: that */
};

/* PowerDNS on the local stack (scripts/stack.sh) */
#define API_DNS_SERVER_DEFAULT "127.0.0.1:5300"

/* Redis db3 key of a revoked token: jwt:revoked:<sub>:<jti>, until its exp. */
#define API_REVOKED_PREFIX "jwt:revoked:"

struct api;

/*
 * Creates the API's engine on @base (borrowed) with @opts (strings
 * borrowed: they must outlive the engine). Logs and returns NULL on a bad
 * option or a key file that cannot be used.
 */
struct api *api_create(struct event_base *base, const struct api_options *opts,
		       struct metrics_registry *metrics);
void api_destroy(struct api *api); /* NULL-safe */

/* The route table for http_server_options (borrowed from @api). */
const struct http_route *api_routes(const struct api *api, size_t *ret_n);

/* Readiness: PostgreSQL and the Redis servers. */
bool api_ready(struct api *api, json_t *checks);

/* Prints "METHOD PATTERN" of every route, the built-ins included. */
void api_print_routes(FILE *out);
