#include "shared/jwt.h"
#include "tests/support/jwtsign.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Every token here is made by tests/support/jwtsign (OpenSSL alone) and
 * checked by shared/jwt (cjose), at a fixed time.
 */
#define NOW 1700000000LL
#define AUD "ddns-api"
#define SUB "42"

/* Key reasons, as users see them. */
#define R_JWK_JSON "public key is not a JWK (a JSON object)"
#define R_PRIVATE                                                                                \
	"private key given: upload the public key only (no \"d\", \"p\", \"q\", \"dp\", \"dq\" " \
	"or \"qi\")"
#define R_KTY         "key type does not match the algorithm: RS256 needs an RSA key, ES256 an EC P-256 key"
#define R_JWK_ALG     "the JWK's \"alg\" does not match the key's algorithm"
#define R_JWK_USE     "the JWK's \"use\" must be \"sig\""
#define R_RSA_FIELDS  "RSA JWK needs \"n\" and \"e\" in base64url"
#define R_RSA_SMALL   "RSA key shorter than 2048 bits"
#define R_RSA_E       "RSA public exponent must be odd and at least 3"
#define R_EC_CURVE    "EC key must use curve P-256"
#define R_EC_FIELDS   "EC JWK needs \"x\" and \"y\", 32 bytes each in base64url"
#define R_EC_POINT    "EC public key is not a point on P-256"
#define R_PEM         "not a PEM public key (-----BEGIN PUBLIC KEY-----)"
#define R_PEM_PRIVATE "private key given: configure the public key (openssl pkey -pubout)"
#define R_PEM_TYPE    "unsupported key type: use RSA (2048 bits or more) or EC P-256"
#define R_SIGNER_PEM                                                                               \
	"not a PEM private key: give an unencrypted PKCS#8 (-----BEGIN PRIVATE KEY-----), RSA or " \
	"EC private key"
#define R_SIGNER_KID "kid must be 1 to 128 printable ASCII characters without spaces"

/* Keys made once per test program, in the unchecked fixture. */
enum key_id {
	K_RSA_A,
	K_RSA_B, /* another RSA key: its signatures must not pass for A */
	K_EC_A,
	K_EC_B,
	K_RSA_1024,
	K_EC_384,
	K_ED25519,
	K_COUNT,
	K_HMAC = K_COUNT, /* signer only: HS256 with K_RSA_A's public PEM as the secret */
	K_HMAC_EC,        /* signer only: HS256 with K_EC_A's public PEM as the secret */
	K_HMAC_PADDED,    /* signer only: K_HMAC's MAC zero-padded to 256 bytes (RSA 2048's size) */
};

static EVP_PKEY *pkeys[K_COUNT];
static char *rsa_pub_pem, *ec_pub_pem;

/* Verifying keys: A's public keys, owner SUB; V_RSA_ANY accepts any subject. */
enum verifier { V_RSA, V_EC, V_RSA_ANY, V_COUNT };
static struct jwt_key *vkeys[V_COUNT];

static void setup_keys(void)
{
	const char *reason = NULL;
	char *jwk;

	pkeys[K_RSA_A] = jwtsign_keygen_rsa(2048);
	pkeys[K_RSA_B] = jwtsign_keygen_rsa(2048);
	pkeys[K_EC_A] = jwtsign_keygen_ec("P-256");
	pkeys[K_EC_B] = jwtsign_keygen_ec("P-256");
	pkeys[K_RSA_1024] = jwtsign_keygen_rsa(1024);
	pkeys[K_EC_384] = jwtsign_keygen_ec("P-384");
	pkeys[K_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	for (int i = 0; i < K_COUNT; i++)
		ck_assert_msg(pkeys[i], "keygen %d", i);
	ck_assert_int_eq(jwtsign_public_pem(pkeys[K_RSA_A], &rsa_pub_pem), 0);
	ck_assert_int_eq(jwtsign_public_pem(pkeys[K_EC_A], &ec_pub_pem), 0);

	ck_assert_int_eq(jwtsign_public_jwk(pkeys[K_RSA_A], &jwk), 0);
	ck_assert_int_eq(jwt_key_from_jwk(jwk, JWT_RS256, SUB, &vkeys[V_RSA], &reason), 0);
	free(jwk);
	ck_assert_int_eq(jwtsign_public_jwk(pkeys[K_EC_A], &jwk), 0);
	ck_assert_int_eq(jwt_key_from_jwk(jwk, JWT_ES256, SUB, &vkeys[V_EC], &reason), 0);
	free(jwk);
	ck_assert_int_eq(jwt_key_from_pem(rsa_pub_pem, strlen(rsa_pub_pem), NULL, &vkeys[V_RSA_ANY],
					  &reason),
			 0);
}

static void teardown_keys(void)
{
	for (int i = 0; i < V_COUNT; i++) {
		jwt_key_destroy(vkeys[i]);
		vkeys[i] = NULL;
	}
	for (int i = 0; i < K_COUNT; i++) {
		EVP_PKEY_free(pkeys[i]);
		pkeys[i] = NULL;
	}
	free(rsa_pub_pem);
	free(ec_pub_pem);
	rsa_pub_pem = ec_pub_pem = NULL;
}

/* Payloads. NOW is 1700000000: iat NOW - 10, exp NOW + 200. */
#define P_BASE  "\"sub\":\"42\",\"aud\":\"ddns-api\",\"jti\":\"j-1\""
#define P_TIMES "\"iat\":1699999990,\"exp\":1700000200"
#define P_SCOPE "\"scope\":\"dns:read dns:write\""
#define P_OK    "{" P_BASE "," P_TIMES "," P_SCOPE "}"
#define P(...)  "{" __VA_ARGS__ "}"
#define H_RS    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"
#define H_ES    "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}"
#define H(...)  "{" __VA_ARGS__ "}"
#define KID_129                                                                                    \
	"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk" \
	"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
#define JTI_129 KID_129

/* What happens to the signed token before it is checked. */
enum mutation {
	M_NONE,
	M_HEADER_SWAP,  /* header segment replaced by b64url(alt), signature kept */
	M_PAYLOAD_SWAP, /* payload segment replaced by b64url(alt), signature kept */
	M_SIG_FLIP,     /* first signature character changed */
	M_SIG_TRUNC,    /* signature shortened by 3 to 5 bytes */
	M_SIG_NONCANON, /* last signature character given non-zero unused bits */
	M_PAYLOAD_CHAR, /* payload segment character 3 set to alt[0] */
	M_APPEND,       /* alt appended to the token */
	M_DROP_SIG,     /* "h.p" */
	M_EMPTY_SIG,    /* "h.p." */
	M_EMPTY_PAYLOAD /* "h..s" */
};

struct verify_case {
	const char *name;
	enum key_id signer;
	enum verifier verifier;
	const char *header;  /* NULL: {"alg":<the signer's>,"typ":"JWT","kid":"k1"} */
	const char *payload; /* NULL: P_OK */
	size_t pad;          /* bytes of a "pad" claim added to the payload */
	enum mutation mut;
	const char *alt;
	unsigned required_scopes;
	enum jwt_reason want;
};

static const struct verify_case verify_cases[] = {
	/* valid */
	{ "valid RS256", K_RSA_A, V_RSA, NULL, NULL, 0, M_NONE, NULL, 0, JWT_OK },
	{ "valid ES256", K_EC_A, V_EC, NULL, NULL, 0, M_NONE, NULL, 0, JWT_OK },
	{ "typ jwt, any case", K_RSA_A, V_RSA,
	  H("\"alg\":\"RS256\",\"typ\":\"jwt\",\"kid\":\"k1\""), NULL, 0, M_NONE, NULL, 0, JWT_OK },
	{ "typ at+jwt", K_EC_A, V_EC, H("\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\""),
	  NULL, 0, M_NONE, NULL, 0, JWT_OK },
	{ "no typ", K_RSA_A, V_RSA, H("\"alg\":\"RS256\",\"kid\":\"k1\""), NULL, 0, M_NONE, NULL, 0,
	  JWT_OK },
	{ "token of 6.9 KiB", K_RSA_A, V_RSA, NULL, NULL, 4800, M_NONE, NULL, 0, JWT_OK },
	{ "key owner NULL: any subject", K_RSA_A, V_RSA_ANY, NULL,
	  P("\"sub\":\"7\",\"aud\":\"ddns-api\",\"jti\":\"j\"," P_TIMES), 0, M_NONE, NULL, 0,
	  JWT_OK },
	/* time */
	{ "expired by 31 s", K_RSA_A, V_RSA, NULL,
	  P(P_BASE ",\"iat\":1699999669,\"exp\":1699999969"), 0, M_NONE, NULL, 0, JWT_EXPIRED },
	{ "expired by 29 s: within skew", K_RSA_A, V_RSA, NULL,
	  P(P_BASE ",\"iat\":1699999671,\"exp\":1699999971"), 0, M_NONE, NULL, 0, JWT_OK },
	{ "expired by 30 s: the edge of skew", K_EC_A, V_EC, NULL,
	  P(P_BASE ",\"iat\":1699999670,\"exp\":1699999970"), 0, M_NONE, NULL, 0, JWT_OK },
	{ "iat 30 s ahead: the edge of skew", K_EC_A, V_EC, NULL,
	  P(P_BASE ",\"iat\":1700000030,\"exp\":1700000100"), 0, M_NONE, NULL, 0, JWT_OK },
	{ "nbf 30 s ahead: the edge of skew", K_EC_A, V_EC, NULL,
	  P(P_BASE "," P_TIMES ",\"nbf\":1700000030"), 0, M_NONE, NULL, 0, JWT_OK },
	{ "lifetime 301 s", K_EC_A, V_EC, NULL, P(P_BASE ",\"iat\":1699999990,\"exp\":1700000291"),
	  0, M_NONE, NULL, 0, JWT_LIFETIME },
	{ "lifetime 300 s", K_EC_A, V_EC, NULL, P(P_BASE ",\"iat\":1699999990,\"exp\":1700000290"),
	  0, M_NONE, NULL, 0, JWT_OK },
	{ "exp before iat", K_EC_A, V_EC, NULL, P(P_BASE ",\"iat\":1700000010,\"exp\":1700000005"),
	  0, M_NONE, NULL, 0, JWT_LIFETIME },
	{ "iat 31 s ahead", K_RSA_A, V_RSA, NULL,
	  P(P_BASE ",\"iat\":1700000031,\"exp\":1700000100"), 0, M_NONE, NULL, 0, JWT_IAT_FUTURE },
	{ "iat 29 s ahead: within skew", K_RSA_A, V_RSA, NULL,
	  P(P_BASE ",\"iat\":1700000029,\"exp\":1700000100"), 0, M_NONE, NULL, 0, JWT_OK },
	{ "nbf 31 s ahead", K_RSA_A, V_RSA, NULL, P(P_BASE "," P_TIMES ",\"nbf\":1700000031"), 0,
	  M_NONE, NULL, 0, JWT_NOT_YET_VALID },
	{ "nbf 29 s ahead: within skew", K_RSA_A, V_RSA, NULL,
	  P(P_BASE "," P_TIMES ",\"nbf\":1700000029"), 0, M_NONE, NULL, 0, JWT_OK },
	{ "no exp", K_RSA_A, V_RSA, NULL, P(P_BASE ",\"iat\":1699999990"), 0, M_NONE, NULL, 0,
	  JWT_NO_EXP },
	{ "no iat", K_RSA_A, V_RSA, NULL, P(P_BASE ",\"exp\":1700000200"), 0, M_NONE, NULL, 0,
	  JWT_BAD_CLAIMS },
	{ "exp a string", K_RSA_A, V_RSA, NULL,
	  P(P_BASE ",\"iat\":1699999990,\"exp\":\"1700000200\""), 0, M_NONE, NULL, 0,
	  JWT_BAD_CLAIMS },
	{ "exp a real", K_RSA_A, V_RSA, NULL, P(P_BASE ",\"iat\":1699999990,\"exp\":1700000200.0"),
	  0, M_NONE, NULL, 0, JWT_BAD_CLAIMS },
	{ "exp in exponent form", K_RSA_A, V_RSA, NULL,
	  P(P_BASE ",\"iat\":1699999990,\"exp\":17e8"), 0, M_NONE, NULL, 0, JWT_BAD_CLAIMS },
	{ "exp past year 9999", K_RSA_A, V_RSA, NULL,
	  P(P_BASE ",\"iat\":1699999990,\"exp\":9223372036854775807"), 0, M_NONE, NULL, 0,
	  JWT_BAD_CLAIMS },
	{ "exp beyond 64 bits", K_RSA_A, V_RSA, NULL,
	  P(P_BASE ",\"iat\":1699999990,\"exp\":92233720368547758070"), 0, M_NONE, NULL, 0,
	  JWT_BAD_CLAIMS },
	{ "nbf a string", K_RSA_A, V_RSA, NULL, P(P_BASE "," P_TIMES ",\"nbf\":\"0\""), 0, M_NONE,
	  NULL, 0, JWT_BAD_CLAIMS },
	/* who and for whom */
	{ "no kid", K_RSA_A, V_RSA, H("\"alg\":\"RS256\",\"typ\":\"JWT\""), NULL, 0, M_NONE, NULL,
	  0, JWT_NO_KID },
	{ "empty kid", K_RSA_A, V_RSA, H("\"alg\":\"RS256\",\"kid\":\"\""), NULL, 0, M_NONE, NULL,
	  0, JWT_NO_KID },
	{ "kid a number", K_RSA_A, V_RSA, H("\"alg\":\"RS256\",\"kid\":1"), NULL, 0, M_NONE, NULL,
	  0, JWT_NO_KID },
	{ "kid of 129 bytes", K_RSA_A, V_RSA, H("\"alg\":\"RS256\",\"kid\":\"" KID_129 "\""), NULL,
	  0, M_NONE, NULL, 0, JWT_NO_KID },
	{ "no jti", K_RSA_A, V_RSA, NULL, P("\"sub\":\"42\",\"aud\":\"ddns-api\"," P_TIMES), 0,
	  M_NONE, NULL, 0, JWT_NO_JTI },
	{ "jti of 129 bytes", K_RSA_A, V_RSA, NULL,
	  P("\"sub\":\"42\",\"aud\":\"ddns-api\",\"jti\":\"" JTI_129 "\"," P_TIMES), 0, M_NONE,
	  NULL, 0, JWT_NO_JTI },
	{ "jti with a space", K_RSA_A, V_RSA, NULL,
	  P("\"sub\":\"42\",\"aud\":\"ddns-api\",\"jti\":\"a b\"," P_TIMES), 0, M_NONE, NULL, 0,
	  JWT_NO_JTI },
	{ "sub not the key's owner", K_RSA_A, V_RSA, NULL,
	  P("\"sub\":\"43\",\"aud\":\"ddns-api\",\"jti\":\"j\"," P_TIMES), 0, M_NONE, NULL, 0,
	  JWT_BAD_SUBJECT },
	{ "sub a number", K_EC_A, V_EC, NULL,
	  P("\"sub\":42,\"aud\":\"ddns-api\",\"jti\":\"j\"," P_TIMES), 0, M_NONE, NULL, 0,
	  JWT_BAD_SUBJECT },
	{ "no sub", K_EC_A, V_EC, NULL, P("\"aud\":\"ddns-api\",\"jti\":\"j\"," P_TIMES), 0, M_NONE,
	  NULL, 0, JWT_BAD_SUBJECT },
	{ "wrong aud", K_RSA_A, V_RSA, NULL,
	  P("\"sub\":\"42\",\"aud\":\"ddns-admin\",\"jti\":\"j\"," P_TIMES), 0, M_NONE, NULL, 0,
	  JWT_BAD_AUDIENCE },
	{ "aud a prefix", K_RSA_A, V_RSA, NULL,
	  P("\"sub\":\"42\",\"aud\":\"ddns\",\"jti\":\"j\"," P_TIMES), 0, M_NONE, NULL, 0,
	  JWT_BAD_AUDIENCE },
	{ "no aud", K_RSA_A, V_RSA, NULL, P("\"sub\":\"42\",\"jti\":\"j\"," P_TIMES), 0, M_NONE,
	  NULL, 0, JWT_BAD_AUDIENCE },
	{ "aud array containing it", K_RSA_A, V_RSA, NULL,
	  P("\"sub\":\"42\",\"aud\":[\"other\",\"ddns-api\"],\"jti\":\"j\"," P_TIMES), 0, M_NONE,
	  NULL, 0, JWT_OK },
	{ "aud array without it", K_RSA_A, V_RSA, NULL,
	  P("\"sub\":\"42\",\"aud\":[\"other\"],\"jti\":\"j\"," P_TIMES), 0, M_NONE, NULL, 0,
	  JWT_BAD_AUDIENCE },
	/* scopes */
	{ "scope present", K_RSA_A, V_RSA, NULL, NULL, 0, M_NONE, NULL,
	  JWT_SCOPE_DNS_READ | JWT_SCOPE_DNS_WRITE, JWT_OK },
	{ "scope missing", K_RSA_A, V_RSA, NULL, NULL, 0, M_NONE, NULL,
	  JWT_SCOPE_DNS_WRITE | JWT_SCOPE_DOMAINS_WRITE, JWT_SCOPE_MISSING },
	{ "no scope claim", K_RSA_A, V_RSA, NULL, P(P_BASE "," P_TIMES), 0, M_NONE, NULL,
	  JWT_SCOPE_DNS_READ, JWT_SCOPE_MISSING },
	{ "scope an array", K_RSA_A, V_RSA, NULL, P(P_BASE "," P_TIMES ",\"scope\":[\"dns:read\"]"),
	  0, M_NONE, NULL, JWT_SCOPE_DNS_READ, JWT_BAD_CLAIMS },
	/* algorithms */
	{ "alg none, no signature", K_RSA_A, V_RSA, H("\"alg\":\"none\",\"kid\":\"k1\""), NULL, 0,
	  M_EMPTY_SIG, NULL, 0, JWT_MALFORMED },
	{ "alg none, signed", K_RSA_A, V_RSA, H("\"alg\":\"none\",\"kid\":\"k1\""), NULL, 0, M_NONE,
	  NULL, 0, JWT_ALG_NOT_ALLOWED },
	{ "alg RS512", K_RSA_A, V_RSA, H("\"alg\":\"RS512\",\"kid\":\"k1\""), NULL, 0, M_NONE, NULL,
	  0, JWT_ALG_NOT_ALLOWED },
	{ "alg rs256 in lower case", K_RSA_A, V_RSA, H("\"alg\":\"rs256\",\"kid\":\"k1\""), NULL, 0,
	  M_NONE, NULL, 0, JWT_ALG_NOT_ALLOWED },
	{ "no alg", K_RSA_A, V_RSA, H("\"kid\":\"k1\""), NULL, 0, M_NONE, NULL, 0,
	  JWT_ALG_NOT_ALLOWED },
	{ "HS256 keyed with the public PEM", K_HMAC, V_RSA, NULL, NULL, 0, M_NONE, NULL, 0,
	  JWT_ALG_NOT_ALLOWED },
	{ "header RS256, HMAC keyed with the public PEM", K_HMAC, V_RSA, H_RS, NULL, 0, M_NONE,
	  NULL, 0, JWT_BAD_SIGNATURE },
	{ "header RS256, HMAC padded to the modulus size", K_HMAC_PADDED, V_RSA, H_RS, NULL, 0,
	  M_NONE, NULL, 0, JWT_BAD_SIGNATURE },
	{ "header ES256, HMAC keyed with the public PEM", K_HMAC_EC, V_EC, H_ES, NULL, 0, M_NONE,
	  NULL, 0, JWT_BAD_SIGNATURE },
	{ "header RS256 on an EC key", K_EC_A, V_EC, H_RS, NULL, 0, M_NONE, NULL, 0,
	  JWT_ALG_KEY_MISMATCH },
	{ "header ES256 on an RSA key", K_RSA_A, V_RSA, H_ES, NULL, 0, M_NONE, NULL, 0,
	  JWT_ALG_KEY_MISMATCH },
	/* signatures */
	{ "tampered payload", K_RSA_A, V_RSA, NULL, NULL, 0, M_PAYLOAD_SWAP,
	  P("\"sub\":\"43\",\"aud\":\"ddns-api\",\"jti\":\"j-1\"," P_TIMES "," P_SCOPE), 0,
	  JWT_BAD_SIGNATURE },
	{ "tampered payload, ES256", K_EC_A, V_EC, NULL, NULL, 0, M_PAYLOAD_SWAP,
	  P(P_BASE "," P_TIMES ",\"scope\":\"dns:read dns:write domains:write\""), 0,
	  JWT_BAD_SIGNATURE },
	{ "tampered header", K_RSA_A, V_RSA, NULL, NULL, 0, M_HEADER_SWAP,
	  H("\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k2\""), 0, JWT_BAD_SIGNATURE },
	{ "signed by another RSA key", K_RSA_B, V_RSA, NULL, NULL, 0, M_NONE, NULL, 0,
	  JWT_BAD_SIGNATURE },
	{ "signed by another EC key", K_EC_B, V_EC, NULL, NULL, 0, M_NONE, NULL, 0,
	  JWT_BAD_SIGNATURE },
	{ "signature changed", K_RSA_A, V_RSA, NULL, NULL, 0, M_SIG_FLIP, NULL, 0,
	  JWT_BAD_SIGNATURE },
	{ "ES256 signature changed", K_EC_A, V_EC, NULL, NULL, 0, M_SIG_FLIP, NULL, 0,
	  JWT_BAD_SIGNATURE },
	{ "ES256 signature short", K_EC_A, V_EC, NULL, NULL, 0, M_SIG_TRUNC, NULL, 0,
	  JWT_BAD_SIGNATURE },
	{ "RS256 signature short", K_RSA_A, V_RSA, NULL, NULL, 0, M_SIG_TRUNC, NULL, 0,
	  JWT_BAD_SIGNATURE },
	/* shape */
	{ "'+' in a segment", K_RSA_A, V_RSA, NULL, NULL, 0, M_PAYLOAD_CHAR, "+", 0,
	  JWT_MALFORMED },
	{ "'/' in a segment", K_RSA_A, V_RSA, NULL, NULL, 0, M_PAYLOAD_CHAR, "/", 0,
	  JWT_MALFORMED },
	{ "space in a segment", K_RSA_A, V_RSA, NULL, NULL, 0, M_PAYLOAD_CHAR, " ", 0,
	  JWT_MALFORMED },
	{ "'=' padding", K_RSA_A, V_RSA, NULL, NULL, 0, M_APPEND, "==", 0, JWT_MALFORMED },
	{ "non-canonical base64url", K_EC_A, V_EC, NULL, NULL, 0, M_SIG_NONCANON, NULL, 0,
	  JWT_MALFORMED },
	{ "two segments", K_RSA_A, V_RSA, NULL, NULL, 0, M_DROP_SIG, NULL, 0, JWT_MALFORMED },
	{ "four segments", K_RSA_A, V_RSA, NULL, NULL, 0, M_APPEND, ".abcd", 0, JWT_MALFORMED },
	{ "empty signature", K_RSA_A, V_RSA, NULL, NULL, 0, M_EMPTY_SIG, NULL, 0, JWT_MALFORMED },
	{ "empty payload segment", K_RSA_A, V_RSA, NULL, NULL, 0, M_EMPTY_PAYLOAD, NULL, 0,
	  JWT_MALFORMED },
	{ "token over 8 KiB", K_RSA_A, V_RSA, NULL, NULL, 6000, M_NONE, NULL, 0, JWT_TOO_LONG },
	{ "header not JSON", K_RSA_A, V_RSA, "RS256 k1", NULL, 0, M_NONE, NULL, 0, JWT_BAD_HEADER },
	{ "header a JSON array", K_RSA_A, V_RSA, "[\"RS256\",\"k1\"]", NULL, 0, M_NONE, NULL, 0,
	  JWT_BAD_HEADER },
	{ "header with duplicate alg", K_RSA_A, V_RSA,
	  H("\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"k1\""), NULL, 0, M_NONE, NULL, 0,
	  JWT_BAD_HEADER },
	{ "header with crit", K_RSA_A, V_RSA,
	  H("\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"b64\"]"), NULL, 0, M_NONE, NULL, 0,
	  JWT_BAD_HEADER },
	{ "typ JWS", K_RSA_A, V_RSA, H("\"alg\":\"RS256\",\"typ\":\"JWS\",\"kid\":\"k1\""), NULL, 0,
	  M_NONE, NULL, 0, JWT_BAD_HEADER },
	{ "payload not JSON", K_RSA_A, V_RSA, NULL, "sub=42", 0, M_NONE, NULL, 0, JWT_BAD_CLAIMS },
	{ "payload a JSON array", K_EC_A, V_EC, NULL, "[" P_OK "]", 0, M_NONE, NULL, 0,
	  JWT_BAD_CLAIMS },
	{ "payload with duplicate sub", K_RSA_A, V_RSA, NULL,
	  P("\"sub\":\"43\"," P_BASE "," P_TIMES), 0, M_NONE, NULL, 0, JWT_BAD_CLAIMS },
};

/* @token with segment @seg (0, 1, 2) replaced by @repl, in a new string. */
static char *replace_segment(const char *token, int seg, const char *repl)
{
	const char *d1 = strchr(token, '.'), *d2 = strchr(d1 + 1, '.');
	char *out = NULL;
	int r;

	if (seg == 0)
		r = asprintf(&out, "%s%s", repl, d1);
	else if (seg == 1)
		r = asprintf(&out, "%.*s.%s%s", (int)(d1 - token), token, repl, d2);
	else
		r = asprintf(&out, "%.*s.%s", (int)(d2 - token), token, repl);
	ck_assert_int_ge(r, 0);
	return out;
}

static char *mutate(char *token, const struct verify_case *c)
{
	char *sig = strrchr(token, '.') + 1, *payload = strchr(token, '.') + 1;
	size_t slen = strlen(sig);
	char *b = NULL, *out;

	switch (c->mut) {
	case M_NONE:
		return token;
	case M_HEADER_SWAP:
	case M_PAYLOAD_SWAP:
		b = jwtsign_b64url(c->alt, strlen(c->alt));
		out = replace_segment(token, c->mut == M_HEADER_SWAP ? 0 : 1, b);
		free(b);
		free(token);
		return out;
	case M_SIG_FLIP:
		sig[0] = sig[0] == 'A' ? 'B' : 'A';
		return token;
	case M_SIG_TRUNC:
		/* Whole groups of 4 characters: still canonical base64url. */
		sig[slen - slen % 4 - 4] = '\0';
		return token;
	case M_SIG_NONCANON:
		/* 64 or 256 bytes: 2 characters of the last group, 4 unused bits. */
		ck_assert_uint_eq(slen % 4, 2);
		sig[slen - 1] = sig[slen - 1] == 'B' ? 'C' : 'B';
		return token;
	case M_PAYLOAD_CHAR:
		payload[3] = c->alt[0];
		return token;
	case M_APPEND:
		ck_assert_int_ge(asprintf(&out, "%s%s", token, c->alt), 0);
		free(token);
		return out;
	case M_DROP_SIG:
		sig[-1] = '\0';
		return token;
	case M_EMPTY_SIG:
		sig[0] = '\0';
		return token;
	case M_EMPTY_PAYLOAD:
		out = replace_segment(token, 1, "");
		free(token);
		return out;
	}
	return token;
}

/* @token with its HMAC-SHA256 signature zero-padded to 256 bytes, so it reaches RSA verify. */
static char *pad_hmac(char *token, const char *secret)
{
	unsigned char sig[256] = { 0 };
	unsigned len = 0;
	char *dot = strrchr(token, '.'), *b, *out;

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret),
				   (const unsigned char *)token, (size_t)(dot - token), sig, &len));
	ck_assert_uint_eq(len, 32);
	b = jwtsign_b64url(sig, sizeof(sig));
	out = replace_segment(token, 2, b);
	free(b);
	free(token);
	return out;
}

static const char *signer_alg(enum key_id k)
{
	if (k >= K_HMAC)
		return "HS256";
	return jwtsign_alg(pkeys[k]);
}

static char *make_token(const struct verify_case *c)
{
	char *header = NULL, *payload = NULL, *token = NULL;
	const char *secret;
	int r;

	if (c->header)
		header = strdup(c->header);
	else
		ck_assert_int_ge(asprintf(&header,
					  "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
					  signer_alg(c->signer)),
				 0);
	if (c->pad) {
		char *pad = malloc(c->pad + 1);

		memset(pad, 'x', c->pad);
		pad[c->pad] = '\0';
		ck_assert_int_ge(asprintf(&payload, "{\"pad\":\"%s\",%s", pad,
					  (c->payload ? c->payload : P_OK) + 1),
				 0);
		free(pad);
	} else {
		payload = strdup(c->payload ? c->payload : P_OK);
	}
	ck_assert_ptr_nonnull(header);
	ck_assert_ptr_nonnull(payload);
	if (c->signer >= K_HMAC) {
		secret = c->signer == K_HMAC_EC ? ec_pub_pem : rsa_pub_pem;
		r = jwtsign_sign_hs256(secret, strlen(secret), header, payload, &token);
		if (r == 0 && c->signer == K_HMAC_PADDED)
			token = pad_hmac(token, secret);
	} else {
		r = jwtsign_sign(pkeys[c->signer], header, payload, &token);
	}
	ck_assert_int_eq(r, 0);
	free(header);
	free(payload);
	return mutate(token, c);
}

START_TEST(test_verify)
{
	const struct verify_case *c = &verify_cases[_i];
	const struct jwt_policy pol = {
		.audience = AUD,
		.max_lifetime_s = 300,
		.skew_s = JWT_SKEW_DEFAULT,
		.required_scopes = c->required_scopes,
	};
	struct jwt_claims claims, untouched;
	enum jwt_reason reason = JWT_OK;
	struct jwt_token *t = NULL;
	char *token = make_token(c);
	int r;

	memset(&claims, 0xa5, sizeof(claims));
	untouched = claims;
	r = jwt_parse(token, strlen(token), &t, &reason);
	if (r < 0) {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_ptr_null(t);
		ck_assert_msg(reason == c->want, "%s: parse gave %s, want %s", c->name,
			      jwt_reason_name(reason), jwt_reason_name(c->want));
		ck_assert_int_ne(reason, JWT_OK);
		goto out;
	}
	ck_assert_ptr_nonnull(t);
	if (c->mut != M_HEADER_SWAP)
		ck_assert_str_eq(jwt_token_kid(t), "k1");
	ERR_clear_error();
	reason = jwt_verify(t, vkeys[c->verifier], &pol, NOW, &claims);
	/* No stale OpenSSL errors for the next user of the thread (libpq, libevent). */
	ck_assert_uint_eq(ERR_peek_error(), 0);
	ck_assert_msg(reason == c->want, "%s: verify gave %s, want %s", c->name,
		      jwt_reason_name(reason), jwt_reason_name(c->want));
	if (reason != JWT_OK) {
		ck_assert_mem_eq(&claims, &untouched, sizeof(claims));
		goto out;
	}
	ck_assert_uint_ge(strlen(claims.sub), 1);
	ck_assert_uint_ge(strlen(claims.jti), 1);
	ck_assert_int_gt(claims.exp, claims.iat);
out:
	jwt_token_destroy(t);
	free(token);
}
END_TEST

/* The claims of a valid token, field by field. */
START_TEST(test_claims)
{
	const struct jwt_policy pol = { .audience = AUD, .skew_s = 30 };
	const struct jwt_policy nopol = { .audience = NULL, .skew_s = 30 };
	struct jwt_token *t = NULL;
	struct jwt_claims c;
	enum jwt_reason reason;
	char *token;

	ck_assert_int_eq(jwtsign_sign(pkeys[K_EC_A], H_ES,
				      P(P_BASE "," P_TIMES ",\"nbf\":1699999995," P_SCOPE), &token),
			 0);
	ck_assert_int_eq(jwt_parse(token, strlen(token), &t, &reason), 0);
	ck_assert_int_eq(jwt_token_alg(t), JWT_ES256);
	ck_assert_int_eq(jwt_verify(t, vkeys[V_EC], &pol, NOW, &c), JWT_OK);
	ck_assert_str_eq(c.sub, SUB);
	ck_assert_str_eq(c.jti, "j-1");
	ck_assert_int_eq(c.iat, 1699999990);
	ck_assert_int_eq(c.exp, 1700000200);
	ck_assert_int_eq(c.nbf, 1699999995);
	ck_assert_uint_eq(c.scopes, JWT_SCOPE_DNS_READ | JWT_SCOPE_DNS_WRITE);
	/* The default lifetime (0: 300 s) and the audience NULL. */
	ck_assert_int_eq(jwt_verify(t, vkeys[V_EC], &pol, 1700000231, &c), JWT_EXPIRED);
	ck_assert_int_eq(jwt_verify(t, vkeys[V_EC], &nopol, NOW, &c), JWT_BAD_AUDIENCE);
	jwt_token_destroy(t);
	free(token);
}
END_TEST

/* Parsing stops at JWT_TOKEN_MAX bytes whatever they are. */
START_TEST(test_too_long)
{
	size_t len = JWT_TOKEN_MAX + 1;
	char *s = malloc(len);
	struct jwt_token *t = NULL;
	enum jwt_reason reason = JWT_OK;

	memset(s, 'A', len);
	ck_assert_int_eq(jwt_parse(s, len, &t, &reason), -EINVAL);
	ck_assert_int_eq(reason, JWT_TOO_LONG);
	ck_assert_ptr_null(t);
	/* Not NUL-terminated: only @len bytes are read. */
	reason = JWT_OK;
	ck_assert_int_eq(jwt_parse(s, 10, &t, &reason), -EINVAL);
	ck_assert_int_eq(reason, JWT_MALFORMED);
	free(s);
}
END_TEST

struct scope_case {
	const char *in;
	unsigned want;
};

static const struct scope_case scope_cases[] = {
	{ "", 0 },
	{ "dns:read", JWT_SCOPE_DNS_READ },
	{ "dns:read dns:write domains:write",
	  JWT_SCOPE_DNS_READ | JWT_SCOPE_DNS_WRITE | JWT_SCOPE_DOMAINS_WRITE },
	{ "  dns:write   openid ", JWT_SCOPE_DNS_WRITE },
	{ "dns:readx dns:rea DNS:READ", 0 },
	{ "dns:read,dns:write", 0 },
};

START_TEST(test_scope)
{
	ck_assert_uint_eq(jwt_scope_parse(scope_cases[_i].in), scope_cases[_i].want);
}
END_TEST

/* Keys: from a JWK or a PEM, the rejections and their reasons. */
enum key_src {
	S_JWK, /* jwtsign_public_jwk(key), with set_member set to set_value */
	S_PEM, /* jwtsign_public_pem(key) */
	S_PEM_PRIV /* jwtsign_private_pem(key) */,
	S_TEXT, /* text as a JWK */
	S_PEM_TEXT /* text as a PEM */,
};

struct key_case {
	const char *name;
	enum key_src src;
	enum key_id key;
	const char *text;       /* S_TEXT, S_PEM_TEXT */
	const char *set_member; /* S_JWK: member to set */
	const char *set_value;  /* JSON text; NULL: delete the member */
	enum jwt_alg alg;       /* S_JWK, S_TEXT */
	const char *want;       /* NULL: accepted */
};

/* 32 bytes of 0x01: not the y of a point with the x of K_EC_A but for a 2^-255 chance. */
#define Y_OFF_CURVE "\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\""

static const struct key_case key_cases[] = {
	{ "RSA 2048 JWK", S_JWK, K_RSA_A, NULL, NULL, NULL, JWT_RS256, NULL },
	{ "RSA 2048 JWK with alg and use", S_JWK, K_RSA_A, NULL, "use", "\"sig\"", JWT_RS256,
	  NULL },
	{ "EC P-256 JWK", S_JWK, K_EC_A, NULL, NULL, NULL, JWT_ES256, NULL },
	{ "EC P-256 JWK with alg", S_JWK, K_EC_A, NULL, "alg", "\"ES256\"", JWT_ES256, NULL },
	{ "RSA 1024 JWK", S_JWK, K_RSA_1024, NULL, NULL, NULL, JWT_RS256, R_RSA_SMALL },
	{ "EC P-384 JWK", S_JWK, K_EC_384, NULL, NULL, NULL, JWT_ES256, R_EC_CURVE },
	{ "private RSA JWK (d)", S_JWK, K_RSA_A, NULL, "d", "\"AQAB\"", JWT_RS256, R_PRIVATE },
	{ "private RSA JWK (qi)", S_JWK, K_RSA_A, NULL, "qi", "\"AQAB\"", JWT_RS256, R_PRIVATE },
	{ "private EC JWK (d)", S_JWK, K_EC_A, NULL, "d", "\"AQAB\"", JWT_ES256, R_PRIVATE },
	{ "RSA JWK for ES256", S_JWK, K_RSA_A, NULL, NULL, NULL, JWT_ES256, R_KTY },
	{ "EC JWK for RS256", S_JWK, K_EC_A, NULL, NULL, NULL, JWT_RS256, R_KTY },
	{ "JWK kty oct", S_JWK, K_EC_A, NULL, "kty", "\"oct\"", JWT_ES256, R_KTY },
	{ "JWK alg RS512", S_JWK, K_RSA_A, NULL, "alg", "\"RS512\"", JWT_RS256, R_JWK_ALG },
	{ "JWK alg HS256", S_JWK, K_RSA_A, NULL, "alg", "\"HS256\"", JWT_RS256, R_JWK_ALG },
	{ "JWK use enc", S_JWK, K_EC_A, NULL, "use", "\"enc\"", JWT_ES256, R_JWK_USE },
	{ "RSA exponent 1", S_JWK, K_RSA_A, NULL, "e", "\"AQ\"", JWT_RS256, R_RSA_E },
	{ "RSA exponent even", S_JWK, K_RSA_A, NULL, "e", "\"AQAA\"", JWT_RS256, R_RSA_E },
	{ "RSA without n", S_JWK, K_RSA_A, NULL, "n", NULL, JWT_RS256, R_RSA_FIELDS },
	{ "RSA e with '=' padding", S_JWK, K_RSA_A, NULL, "e", "\"AQAB==\"", JWT_RS256,
	  R_RSA_FIELDS },
	{ "EC x of 31 bytes", S_JWK, K_EC_A, NULL, "x",
	  "\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ\"", JWT_ES256, R_EC_FIELDS },
	{ "EC point off the curve", S_JWK, K_EC_A, NULL, "y", Y_OFF_CURVE, JWT_ES256, R_EC_POINT },
	{ "EC without crv", S_JWK, K_EC_A, NULL, "crv", NULL, JWT_ES256, R_EC_CURVE },
	{ "garbage", S_TEXT, 0, "-----BEGIN garbage", NULL, NULL, JWT_RS256, R_JWK_JSON },
	{ "JSON array", S_TEXT, 0, "[{\"kty\":\"RSA\"}]", NULL, NULL, JWT_RS256, R_JWK_JSON },
	{ "duplicate kty", S_TEXT, 0, "{\"kty\":\"EC\",\"kty\":\"RSA\"}", NULL, NULL, JWT_RS256,
	  R_JWK_JSON },
	{ "RSA 2048 PEM", S_PEM, K_RSA_A, NULL, NULL, NULL, JWT_RS256, NULL },
	{ "EC P-256 PEM", S_PEM, K_EC_A, NULL, NULL, NULL, JWT_ES256, NULL },
	{ "RSA 1024 PEM", S_PEM, K_RSA_1024, NULL, NULL, NULL, 0, R_RSA_SMALL },
	{ "EC P-384 PEM", S_PEM, K_EC_384, NULL, NULL, NULL, 0, R_EC_CURVE },
	{ "Ed25519 PEM", S_PEM, K_ED25519, NULL, NULL, NULL, 0, R_PEM_TYPE },
	{ "private RSA PEM", S_PEM_PRIV, K_RSA_A, NULL, NULL, NULL, 0, R_PEM_PRIVATE },
	{ "private EC PEM", S_PEM_PRIV, K_EC_A, NULL, NULL, NULL, 0, R_PEM_PRIVATE },
	{ "garbage PEM", S_PEM_TEXT, 0,
	  "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", NULL, NULL, 0, R_PEM },
	{ "empty PEM", S_PEM_TEXT, 0, "", NULL, NULL, 0, R_PEM },
};

static char *jwk_text(const struct key_case *c)
{
	char *jwk, *out;
	json_t *doc;

	ck_assert_int_eq(jwtsign_public_jwk(pkeys[c->key], &jwk), 0);
	if (!c->set_member)
		return jwk;
	doc = json_loads(jwk, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	if (c->set_value)
		json_object_set_new(doc, c->set_member,
				    json_loads(c->set_value, JSON_DECODE_ANY, NULL));
	else
		json_object_del(doc, c->set_member);
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	free(jwk);
	return out;
}

START_TEST(test_key)
{
	const struct key_case *c = &key_cases[_i];
	const struct jwt_policy pol = { .audience = AUD, .skew_s = 30 };
	struct jwt_key *key = NULL, *sentinel = (struct jwt_key *)&pol;
	const char *reason = "untouched";
	struct jwt_token *t = NULL;
	struct jwt_claims claims;
	enum jwt_reason why;
	char *text = NULL, *token = NULL, *header = NULL;
	int r;

	key = sentinel;
	ERR_clear_error();
	switch (c->src) {
	case S_JWK:
		text = jwk_text(c);
		r = jwt_key_from_jwk(text, c->alg, SUB, &key, &reason);
		break;
	case S_TEXT:
		r = jwt_key_from_jwk(c->text, c->alg, SUB, &key, &reason);
		break;
	case S_PEM:
	case S_PEM_PRIV:
		ck_assert_int_eq(c->src == S_PEM ? jwtsign_public_pem(pkeys[c->key], &text)
						 : jwtsign_private_pem(pkeys[c->key], &text),
				 0);
		r = jwt_key_from_pem(text, strlen(text), SUB, &key, &reason);
		break;
	default:
		r = jwt_key_from_pem(c->text, strlen(c->text), SUB, &key, &reason);
		break;
	}
	ck_assert_uint_eq(ERR_peek_error(), 0);
	if (c->want) {
		ck_assert_msg(r == -EINVAL, "%s: %d", c->name, r);
		ck_assert_str_eq(reason, c->want);
		ck_assert_ptr_eq(key, sentinel);
		goto out;
	}
	ck_assert_msg(r == 0, "%s: %s", c->name, reason);
	ck_assert_str_eq(reason, "untouched");
	ck_assert_int_eq(jwt_key_alg(key), c->alg);
	ck_assert_str_eq(jwt_key_owner(key), SUB);

	/* The key verifies what its private half signed, and nothing else. */
	ck_assert_int_ge(asprintf(&header, "{\"alg\":\"%s\",\"kid\":\"k\"}",
				  c->alg == JWT_RS256 ? "RS256" : "ES256"),
			 0);
	ck_assert_int_eq(jwtsign_sign(pkeys[c->key], header, P_OK, &token), 0);
	ck_assert_int_eq(jwt_parse(token, strlen(token), &t, &why), 0);
	ck_assert_int_eq(jwt_verify(t, key, &pol, NOW, &claims), JWT_OK);
	jwt_token_destroy(t);
	t = NULL;
	free(token);
	token = NULL;
	ck_assert_int_eq(
		jwtsign_sign(pkeys[c->key == K_RSA_A ? K_RSA_B : K_EC_B], header, P_OK, &token), 0);
	ck_assert_int_eq(jwt_parse(token, strlen(token), &t, &why), 0);
	ck_assert_int_eq(jwt_verify(t, key, &pol, NOW, &claims), JWT_BAD_SIGNATURE);
out:
	if (key != sentinel)
		jwt_key_destroy(key);
	jwt_token_destroy(t);
	free(token);
	free(header);
	free(text);
}
END_TEST

/* The signer: private PEM in, tokens out that jwt_verify and OpenSSL alone accept. */
enum signer_pem {
	SP_PKCS8,  /* "BEGIN PRIVATE KEY" */
	SP_TRAD,   /* "BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY" */
	SP_ENC,    /* "BEGIN ENCRYPTED PRIVATE KEY" */
	SP_PUBLIC, /* "BEGIN PUBLIC KEY" */
	SP_TEXT,   /* text */
};

struct signer_case {
	const char *name;
	enum key_id key;
	enum signer_pem form;
	const char *text; /* SP_TEXT */
	const char *kid;
	const char *want; /* the reason; NULL: accepted */
};

static const struct signer_case signer_cases[] = {
	{ "ES256 from PKCS#8", K_EC_A, SP_PKCS8, NULL, "platform-1", NULL },
	{ "RS256 from PKCS#8", K_RSA_A, SP_PKCS8, NULL, "platform-1", NULL },
	{ "ES256 from EC PRIVATE KEY", K_EC_A, SP_TRAD, NULL, "p2", NULL },
	{ "RS256 from RSA PRIVATE KEY", K_RSA_A, SP_TRAD, NULL, "p2", NULL },
	{ "kid with a quote and a backslash", K_EC_A, SP_PKCS8, NULL, "a\"b\\c", NULL },
	{ "kid of 128 bytes", K_RSA_A, SP_PKCS8, NULL, KID_129 + sizeof(KID_129) - 1 - 128, NULL },
	{ "kid of 129 bytes", K_RSA_A, SP_PKCS8, NULL, KID_129 + sizeof(KID_129) - 1 - 129,
	  R_SIGNER_KID },
	{ "empty kid", K_EC_A, SP_PKCS8, NULL, "", R_SIGNER_KID },
	{ "no kid", K_EC_A, SP_PKCS8, NULL, NULL, R_SIGNER_KID },
	{ "kid with a space", K_EC_A, SP_PKCS8, NULL, "a b", R_SIGNER_KID },
	{ "EC P-384", K_EC_384, SP_PKCS8, NULL, "k", R_EC_CURVE },
	{ "EC P-384 traditional", K_EC_384, SP_TRAD, NULL, "k", R_EC_CURVE },
	{ "RSA 1024", K_RSA_1024, SP_PKCS8, NULL, "k", R_RSA_SMALL },
	{ "Ed25519", K_ED25519, SP_PKCS8, NULL, "k", R_PEM_TYPE },
	{ "EC public PEM", K_EC_A, SP_PUBLIC, NULL, "k", R_SIGNER_PEM },
	{ "RSA public PEM", K_RSA_A, SP_PUBLIC, NULL, "k", R_SIGNER_PEM },
	{ "encrypted PEM", K_EC_A, SP_ENC, NULL, "k", R_SIGNER_PEM },
	{ "garbage", 0, SP_TEXT, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	  "k", R_SIGNER_PEM },
	{ "empty", 0, SP_TEXT, "", "k", R_SIGNER_PEM },
};

static char *bio_string(BIO *bio)
{
	char *data, *out;
	long len = BIO_get_mem_data(bio, &data);

	out = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	return out;
}

static char *signer_pem(const struct signer_case *c)
{
	EVP_PKEY *key = pkeys[c->key];
	OSSL_ENCODER_CTX *ctx;
	BIO *bio;
	char *out = NULL;

	switch (c->form) {
	case SP_PKCS8:
		ck_assert_int_eq(jwtsign_private_pem(key, &out), 0);
		return out;
	case SP_PUBLIC:
		ck_assert_int_eq(jwtsign_public_pem(key, &out), 0);
		return out;
	case SP_TEXT:
		return strdup(c->text);
	case SP_TRAD:
	case SP_ENC:
		break;
	}
	bio = BIO_new(BIO_s_mem());
	ck_assert_ptr_nonnull(bio);
	if (c->form == SP_ENC) {
		ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), NULL, 0,
							       NULL, (void *)"correct horse"),
				 1);
	} else {
		ctx = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "PEM", "type-specific",
						    NULL);
		ck_assert_ptr_nonnull(ctx);
		ck_assert_int_eq(OSSL_ENCODER_to_bio(ctx, bio), 1);
		OSSL_ENCODER_CTX_free(ctx);
	}
	out = bio_string(bio);
	BIO_free(bio);
	ck_assert_ptr_nonnull(strstr(out, c->form == SP_ENC ? "BEGIN ENCRYPTED PRIVATE KEY"
					  : EVP_PKEY_is_a(key, "RSA") ? "BEGIN RSA PRIVATE KEY"
								      : "BEGIN EC PRIVATE KEY"));
	return out;
}

/* Strict enough for tokens jwt_parse accepted: base64url to bytes (caller frees). */
static unsigned char *b64url_bytes(const char *s, size_t n, size_t *ret_len)
{
	char *b64 = malloc(n + 4);
	unsigned char *out = malloc(n + 4);
	size_t pad = (4 - n % 4) % 4;
	int len;

	ck_assert_ptr_nonnull(b64);
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < n; i++)
		b64[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	memset(b64 + n, '=', pad);
	len = EVP_DecodeBlock(out, (unsigned char *)b64, (int)(n + pad));
	ck_assert_int_ge(len, 0);
	*ret_len = (size_t)len - pad;
	free(b64);
	return out;
}

/* Whether @key's public half verifies @token's signature, with OpenSSL alone. */
static bool openssl_verifies(EVP_PKEY *key, const char *token)
{
	const char *dot = strrchr(token, '.');
	unsigned char *sig, *der = NULL;
	size_t sig_len;
	int der_len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok;

	sig = b64url_bytes(dot + 1, strlen(dot + 1), &sig_len);
	if (EVP_PKEY_is_a(key, "EC")) {
		ECDSA_SIG *es = ECDSA_SIG_new();

		/* JWS R||S: 64 bytes, not DER. */
		ck_assert_uint_eq(sig_len, 64);
		ck_assert_int_eq(
			ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)),
			1);
		der_len = i2d_ECDSA_SIG(es, &der);
		ck_assert_int_gt(der_len, 0);
		ECDSA_SIG_free(es);
	} else {
		ck_assert_uint_eq(sig_len, (size_t)EVP_PKEY_get_size(key));
	}
	ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
	ok = EVP_DigestVerify(md, der ? der : sig, der ? (size_t)der_len : sig_len,
			      (const unsigned char *)token, (size_t)(dot - token)) == 1;
	ERR_clear_error();
	OPENSSL_free(der);
	free(sig);
	EVP_MD_CTX_free(md);
	return ok;
}

START_TEST(test_signer)
{
	const struct signer_case *c = &signer_cases[_i];
	const struct jwt_policy pol = { .audience = AUD, .skew_s = 30 };
	struct jwt_signer *s = NULL, *sentinel = (struct jwt_signer *)&pol;
	const char *reason = "untouched";
	enum jwt_alg alg;
	struct jwt_token *t = NULL;
	struct jwt_claims claims;
	enum jwt_reason why;
	json_t *payload, *header = NULL, *got = NULL;
	unsigned char *part;
	size_t part_len;
	char *pem = signer_pem(c), *token = NULL, *want_header = NULL;
	const char *dot1, *dot2;
	int r;

	s = sentinel;
	ERR_clear_error();
	r = jwt_signer_from_pem(pem, strlen(pem), c->kid, &s, &reason);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	if (c->want) {
		ck_assert_msg(r == -EINVAL, "%s: %d", c->name, r);
		ck_assert_str_eq(reason, c->want);
		ck_assert_ptr_eq(s, sentinel);
		free(pem);
		return;
	}
	ck_assert_msg(r == 0, "%s: %s", c->name, reason);
	ck_assert_str_eq(reason, "untouched");
	alg = EVP_PKEY_is_a(pkeys[c->key], "RSA") ? JWT_RS256 : JWT_ES256;
	ck_assert_int_eq(jwt_signer_alg(s), alg);

	payload = json_loads(P_OK, 0, NULL);
	ck_assert_ptr_nonnull(payload);
	ck_assert_int_eq(jwt_sign(s, payload, &token), 0);
	ck_assert_uint_le(strlen(token), JWT_TOKEN_MAX);

	/* The verifier of this module. */
	ck_assert_int_eq(jwt_parse(token, strlen(token), &t, &why), 0);
	ck_assert_str_eq(jwt_token_kid(t), c->kid);
	ck_assert_int_eq(jwt_token_alg(t), alg);
	ck_assert_int_eq(jwt_verify(t, vkeys[alg == JWT_RS256 ? V_RSA : V_EC], &pol, NOW, &claims),
			 JWT_OK);
	ck_assert_str_eq(claims.sub, SUB);
	ck_assert_str_eq(claims.jti, "j-1");

	/* OpenSSL alone: the header and payload as documented, the signature. */
	dot1 = strchr(token, '.');
	dot2 = strrchr(token, '.');
	part = b64url_bytes(token, (size_t)(dot1 - token), &part_len);
	header = json_pack("{s:s, s:s, s:s}", "alg", alg == JWT_RS256 ? "RS256" : "ES256", "kid",
			   c->kid, "typ", "JWT");
	want_header = json_dumps(header, JSON_COMPACT);
	ck_assert_uint_eq(part_len, strlen(want_header));
	ck_assert_mem_eq(part, want_header, part_len);
	free(part);
	part = b64url_bytes(dot1 + 1, (size_t)(dot2 - dot1 - 1), &part_len);
	got = json_loadb((const char *)part, part_len, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(json_equal(got, payload), 1);
	free(want_header);
	want_header = json_dumps(payload, JSON_COMPACT); /* the payload as compact JSON */
	ck_assert_uint_eq(part_len, strlen(want_header));
	ck_assert_mem_eq(part, want_header, part_len);
	free(part);
	ck_assert_int_eq(openssl_verifies(pkeys[c->key], token), 1);
	/* ... and not for another key of the same kind. */
	ck_assert_int_eq(openssl_verifies(pkeys[alg == JWT_RS256 ? K_RSA_B : K_EC_B], token), 0);

	jwt_token_destroy(t);
	json_decref(payload);
	json_decref(header);
	json_decref(got);
	free(want_header);
	free(token);
	free(pem);
	jwt_signer_destroy(s);
}
END_TEST

/* What jwt_sign refuses, and what it leaves alone. */
START_TEST(test_sign_refused)
{
	struct jwt_signer *s = NULL;
	const char *reason = NULL;
	char *pem = NULL, *token = NULL, *big;
	json_t *claims;

	ck_assert_int_eq(jwtsign_private_pem(pkeys[K_RSA_A], &pem), 0);
	ck_assert_int_eq(jwt_signer_from_pem(pem, strlen(pem), "k", &s, &reason), 0);

	claims = json_array();
	ck_assert_int_eq(jwt_sign(s, claims, &token), -EINVAL);
	json_decref(claims);
	ck_assert_int_eq(jwt_sign(s, NULL, &token), -EINVAL);
	ck_assert_ptr_null(token);

	/* Just over what jwt_parse takes: refused; a little less: signed and parsed. */
	big = malloc(JWT_TOKEN_MAX);
	memset(big, 'x', JWT_TOKEN_MAX - 1);
	big[JWT_TOKEN_MAX - 1] = '\0';
	big[5900] = '\0';
	claims = json_pack("{s:s}", "pad", big);
	ck_assert_int_eq(jwt_sign(s, claims, &token), -EINVAL);
	ck_assert_ptr_null(token);
	json_decref(claims);
	big[5900] = 'x';
	big[5700] = '\0';
	claims = json_pack("{s:s}", "pad", big);
	ck_assert_int_eq(jwt_sign(s, claims, &token), 0);
	ck_assert_uint_le(strlen(token), JWT_TOKEN_MAX);
	ck_assert_int_eq(openssl_verifies(pkeys[K_RSA_A], token), 1);
	json_decref(claims);
	free(token);
	free(big);

	jwt_signer_destroy(s);
	jwt_signer_destroy(NULL);
	free(pem);
}
END_TEST

START_TEST(test_reason_names)
{
	ck_assert_str_eq(jwt_reason_name(JWT_OK), "ok");
	ck_assert_str_eq(jwt_reason_name(JWT_EXPIRED), "expired");
	ck_assert_str_eq(jwt_reason_name(JWT_BAD_SIGNATURE), "bad_signature");
	ck_assert_str_eq(jwt_reason_name(JWT_SCOPE_MISSING), "scope_missing");
	ck_assert_str_eq(jwt_reason_name((enum jwt_reason)99), "unknown");
	for (int i = JWT_OK; i <= JWT_SCOPE_MISSING; i++)
		ck_assert_str_ne(jwt_reason_name((enum jwt_reason)i), "unknown");
	jwt_key_destroy(NULL);
	jwt_token_destroy(NULL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("jwt");

	/* Once, in the parent, before the forked cases: RSA keygen is slow. */
	tcase_add_unchecked_fixture(tc, setup_keys, teardown_keys);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_verify, 0, ARRAY_SIZE(verify_cases));
	tcase_add_test(tc, test_claims);
	tcase_add_test(tc, test_too_long);
	tcase_add_loop_test(tc, test_scope, 0, ARRAY_SIZE(scope_cases));
	tcase_add_loop_test(tc, test_key, 0, ARRAY_SIZE(key_cases));
	tcase_add_loop_test(tc, test_signer, 0, ARRAY_SIZE(signer_cases));
	tcase_add_test(tc, test_sign_refused);
	tcase_add_test(tc, test_reason_names);
	suite_add_tcase(s, tc);
	return s;
}
