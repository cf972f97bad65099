#pragma once

/*
 * tokens: tokens whose signature was verified, by their SHA-256, so that a
 * client that sends the same token on every request (what clients do for
 * the token's few minutes) costs one signature verification, not one per
 * request. A hit still has its key looked up (the key must be the very one
 * that verified it: a revoked or reloaded key does not match) and its time
 * claims checked again; the jti check and the limits run as always.
 *
 * Only digests are kept, compared in constant time. Bounded: at most
 * TOKENS_MAX entries, each until its exp + skew; when full, expired entries
 * are dropped (at most once a second), and if none are, the new token
 * takes the place of another in its bucket. Callers remember a token only
 * once its request passed the limits and the jti check, so a flood of
 * fresh tokens costs its sender budget before it can crowd others out.
 */

#include "shared/jwt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKENS_MAX 16384

struct token_hit {
	struct jwt_claims claims;
	char kid[JWT_KID_MAX + 1];
	uint64_t key_serial; /* of the key that verified it (keys.h) */
};

struct tokens;

struct tokens *tokens_create(void);    /* NULL when out of memory */
void tokens_destroy(struct tokens *t); /* NULL-safe */

/*
 * Whether the token @tok (@len bytes) was verified and is still within its
 * time claims at @now (exp + @skew_s, nbf - @skew_s); fills @ret on a hit.
 */
bool tokens_get(struct tokens *t, const char *tok, size_t len, long long now, long long skew_s,
		struct token_hit *ret);

/* Remembers a verified token (again: its entry is replaced). */
void tokens_put(struct tokens *t, const char *tok, size_t len, const struct token_hit *hit,
		long long now, long long skew_s);
