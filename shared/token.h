#pragma once

/*
 * Random tokens (email verification, password reset, session ids, update
 * tokens): the client gets the token; only its hash is stored, so a leaked
 * table does not hand out live tokens. 256 bits of randomness make a slow
 * hash needless.
 */

#include <stddef.h>
#define TOKEN_BYTES 32
#define TOKEN_LEN   43 /* base64url of 32 bytes, no padding */

/*
 * 32 random bytes (libsodium randombytes_buf) as base64url (RFC 4648 section
 * 5, no padding) into @ret_token (NUL-terminated) and the SHA-256 of the 32
 * bytes into @ret_hash.
 */
void token_new(char ret_token[TOKEN_LEN + 1], unsigned char ret_hash[32]);

/*
 * SHA-256 of the 32 bytes a token received from a client stands for (the
 * same hash token_new() gave). @token is @len bytes, not necessarily
 * NUL-terminated. -EINVAL unless exactly 43 chars of canonical base64url
 * (A-Z a-z 0-9 - _, and the last char must have zero unused bits), so that
 * one token has one spelling; @ret_hash is untouched on failure.
 */
int token_hash(const char *token, size_t len, unsigned char ret_hash[32]);

/* A token hash as a PostgreSQL bytea literal in hex ("\\x" and 64 digits), for $n::bytea. */
#define TOKEN_HASH_SQL_SIZE 67
void token_hash_sql(const unsigned char hash[32], char ret[TOKEN_HASH_SQL_SIZE]);
