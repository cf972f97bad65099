/* shared/token: known vectors, refusals, and tokens checked with OpenSSL. */

#include "shared/token.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void to_hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

#define ZEROS_TOKEN "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define COUNT_TOKEN "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define FF_TOKEN    "__________________________________________8"

static const struct token_case {
	const char *name;
	const char *token;
	size_t len;       /* 0: strlen */
	const char *hash; /* hex SHA-256 of the 32 bytes; NULL: refused */
} token_cases[] = {
	{ "32 zero bytes", ZEROS_TOKEN, 0,
	  "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925" },
	{ "bytes 0..31", COUNT_TOKEN, 0,
	  "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd" },
	{ "32 0xff bytes", FF_TOKEN, 0,
	  "af9613760f72635fbdb44a5a0a63c39f12af30f950a6ee5c971be188e89c4051" },
	{ "43 of a longer buffer", ZEROS_TOKEN "A", 43,
	  "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925" },
	{ "non-canonical last char B", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", 0, NULL },
	{ "non-canonical last char 9", "__________________________________________9", 0, NULL },
	{ "non-canonical last char _", "___________________________________________", 0, NULL },
	{ "42 chars", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, NULL },
	{ "44 chars", ZEROS_TOKEN "A", 0, NULL },
	{ "padded", ZEROS_TOKEN "=", 0, NULL },
	{ "= inside", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, NULL },
	{ "+ (base64, not base64url)", "AAAAAAAAAAAAAAAAAAAA+AAAAAAAAAAAAAAAAAAAAAA", 0, NULL },
	{ "/ (base64, not base64url)", "AAAAAAAAAAAAAAAAAAAA/AAAAAAAAAAAAAAAAAAAAAA", 0, NULL },
	{ "space inside", "AAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA", 0, NULL },
	{ "NUL inside", "AAAAAAAAAAAAAAAAAAAA\0AAAAAAAAAAAAAAAAAAAAAA", 43, NULL },
	{ "non-ASCII",
	  "AAAAAAAAAAAAAAAAAAAA\xc3\xa9"
	  "AAAAAAAAAAAAAAAAAAAAA",
	  0, NULL },
	{ "empty", "", 0, NULL },
};

START_TEST(test_token_hash)
{
	const struct token_case *c = &token_cases[_i];
	unsigned char hash[32];
	char hex[65];
	int r;

	memset(hash, 0xa5, sizeof(hash));
	r = token_hash(c->token, c->len ? c->len : strlen(c->token), hash);
	if (!c->hash) {
		ck_assert_msg(r == -EINVAL, "%s: accepted", c->name);
		for (size_t i = 0; i < sizeof(hash); i++)
			ck_assert_msg(hash[i] == 0xa5, "%s: hash written on failure", c->name);
		return;
	}
	ck_assert_msg(r == 0, "%s: refused", c->name);
	to_hex(hash, sizeof(hash), hex);
	ck_assert_str_eq(hex, c->hash);
}
END_TEST

/* base64url without padding to bytes, with OpenSSL (not libsodium, which made it). */
static int decode_b64url(const char *tok, unsigned char *out)
{
	char std[TOKEN_LEN + 2];
	unsigned char raw[TOKEN_BYTES + 3];

	for (size_t i = 0; i < TOKEN_LEN; i++)
		std[i] = tok[i] == '-' ? '+' : tok[i] == '_' ? '/' : tok[i];
	std[TOKEN_LEN] = '=';
	std[TOKEN_LEN + 1] = '\0';
	if (EVP_DecodeBlock(raw, (const unsigned char *)std, TOKEN_LEN + 1) != 33)
		return -1;
	memcpy(out, raw, TOKEN_BYTES); /* the 33rd byte is the padding's zero */
	return 0;
}

#define N_TOKENS 64

/* The bytea literal PostgreSQL reads back as the same 32 bytes. */
START_TEST(test_token_hash_sql)
{
	unsigned char h[32];
	char out[TOKEN_HASH_SQL_SIZE];

	for (int i = 0; i < 32; i++)
		h[i] = (unsigned char)(i * 8 + 1);
	token_hash_sql(h, out);
	ck_assert_str_eq(out,
			 "\\x0109111921293139414951596169717981899199a1a9b1b9c1c9d1d9e1e9f1f9");
}
END_TEST

START_TEST(test_token_new)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char tokens[N_TOKENS][TOKEN_LEN + 1];
	unsigned char hash[32], again[32], bytes[TOKEN_BYTES], want[32];

	for (int i = 0; i < N_TOKENS; i++) {
		char *t = tokens[i];

		memset(t, 'X', sizeof(tokens[i]));
		token_new(t, hash);
		ck_assert_uint_eq(strlen(t), TOKEN_LEN);
		ck_assert_uint_eq(strspn(t, alphabet), TOKEN_LEN);
		/* the hash is the SHA-256 of the decoded bytes */
		ck_assert_int_eq(decode_b64url(t, bytes), 0);
		SHA256(bytes, sizeof(bytes), want);
		ck_assert_mem_eq(hash, want, sizeof(want));
		/* and what token_hash finds again */
		ck_assert_int_eq(token_hash(t, strlen(t), again), 0);
		ck_assert_mem_eq(again, hash, sizeof(hash));
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(tokens[j], t);
	}
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");

	tcase_add_loop_test(tc, test_token_hash, 0, N(token_cases));
	tcase_add_test(tc, test_token_new);
	tcase_add_test(tc, test_token_hash_sql);
	suite_add_tcase(s, tc);
	return s;
}
