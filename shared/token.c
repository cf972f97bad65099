/* token: random tokens, their base64url form and their SHA-256. */

#include "shared/token.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(TOKEN_LEN + 1 == sodium_base64_ENCODED_LEN(TOKEN_BYTES,
							  sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	       "TOKEN_LEN is not the base64url length of TOKEN_BYTES");

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* sodium_init() is idempotent and thread-safe; -1 only when libsodium
 * cannot work at all (no randomness source): nothing could go on safely. */
static void sodium_ready(void)
{
	if (sodium_init() < 0)
		abort();
}

void token_new(char ret_token[TOKEN_LEN + 1], unsigned char ret_hash[32])
{
	unsigned char bytes[TOKEN_BYTES];

	sodium_ready();
	randombytes_buf(bytes, sizeof(bytes));
	sodium_bin2base64(ret_token, TOKEN_LEN + 1, bytes, sizeof(bytes), B64URL);
	crypto_hash_sha256(ret_hash, bytes, sizeof(bytes));
	sodium_memzero(bytes, sizeof(bytes));
}

int token_hash(const char *token, size_t len, unsigned char ret_hash[32])
{
	unsigned char bytes[TOKEN_BYTES];
	char again[TOKEN_LEN + 1];
	const char *end;
	size_t n;
	int r = -EINVAL;

	sodium_ready();
	if (len != TOKEN_LEN)
		goto out;
	if (sodium_base642bin(bytes, sizeof(bytes), token, len, NULL, &n, &end, B64URL) != 0 ||
	    n != sizeof(bytes) || end != token + len)
		goto out;
	/*
	 * Canonical: one token, one spelling (no unused bits set in the last
	 * char). The round trip also refuses bytes >= 0x80, which the decoder
	 * of libsodium 1.0.18 reads as '_' instead of refusing them.
	 */
	sodium_bin2base64(again, sizeof(again), bytes, sizeof(bytes), B64URL);
	if (memcmp(again, token, len) != 0)
		goto out;
	crypto_hash_sha256(ret_hash, bytes, sizeof(bytes));
	r = 0;
out:
	sodium_memzero(bytes, sizeof(bytes));
	sodium_memzero(again, sizeof(again));
	return r;
}

void token_hash_sql(const unsigned char hash[32], char ret[TOKEN_HASH_SQL_SIZE])
{
	ret[0] = '\\';
	ret[1] = 'x';
	sodium_bin2hex(ret + 2, TOKEN_HASH_SQL_SIZE - 2, hash, 32);
}
