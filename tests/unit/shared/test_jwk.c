#include "shared/jwt.h"
#include "tests/support/jwtsign.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * jwt_key_import on keys made at test time by OpenSSL (tests/support/jwtsign
 * and the helpers below); what it stores is checked against a canonical JWK
 * and RFC 7638 thumbprint computed here, and loaded back with
 * jwt_key_from_jwk to verify a token signed by the key's private half.
 */
#define NOW 1700000000LL
#define SUB "42"
#define P_OK                                                                             \
	"{\"sub\":\"42\",\"aud\":\"ddns-api\",\"jti\":\"j\",\"iat\":1699999990,\"exp\":" \
	"1700000200}"
#define PRIVATE    "private_key"
#define WEAK       "weak_key"
#define UNSUPP     "unsupported_key"
#define INVALID    "invalid_key"
#define IMPORT_MAX 16384

enum key_id {
	K_RSA, /* 2048 bits */
	K_RSA_4096,
	K_RSA_E3, /* 2048 bits, exponent 3 */
	K_EC,     /* P-256 */
	K_RSA_1024,
	K_EC_384,
	K_EC_521,
	K_EC_K1, /* secp256k1 */
	K_ED25519,
	K_X25519,
	K_RSA_HUGE, /* public only: a 16392-bit "modulus", not a product of primes */
	K_COUNT,
};

static EVP_PKEY *pkeys[K_COUNT];

static EVP_PKEY *keygen_rsa_e3(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *e = BN_new();
	EVP_PKEY *key = NULL;

	if (ctx && e && BN_set_word(e, 3) && EVP_PKEY_keygen_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) > 0 &&
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) > 0)
		EVP_PKEY_keygen(ctx, &key);
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* An RSA public key with a 2049-byte n: over the 16384-bit limit, too big to generate. */
static EVP_PKEY *rsa_huge(void)
{
	unsigned char nb[2049];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *n, *e = BN_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY *key = NULL;

	memset(nb, 0xa7, sizeof(nb));
	n = BN_bin2bn(nb, sizeof(nb), NULL);
	if (bld && ctx && n && e && BN_set_word(e, 65537) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		params = OSSL_PARAM_BLD_to_param(bld);
	if (params && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return key;
}

static void setup_keys(void)
{
	pkeys[K_RSA] = jwtsign_keygen_rsa(2048);
	pkeys[K_RSA_4096] = jwtsign_keygen_rsa(4096);
	pkeys[K_RSA_E3] = keygen_rsa_e3();
	pkeys[K_EC] = jwtsign_keygen_ec("P-256");
	pkeys[K_RSA_1024] = jwtsign_keygen_rsa(1024);
	pkeys[K_EC_384] = jwtsign_keygen_ec("P-384");
	pkeys[K_EC_521] = jwtsign_keygen_ec("P-521");
	pkeys[K_EC_K1] = jwtsign_keygen_ec("secp256k1");
	pkeys[K_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	pkeys[K_X25519] = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	pkeys[K_RSA_HUGE] = rsa_huge();
	for (int i = 0; i < K_COUNT; i++)
		ck_assert_msg(pkeys[i], "keygen %d", i);
}

static void teardown_keys(void)
{
	for (int i = 0; i < K_COUNT; i++) {
		EVP_PKEY_free(pkeys[i]);
		pkeys[i] = NULL;
	}
}

/* -- inputs -------------------------------------------------------------- */

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

/* @key through an OpenSSL encoder: @selection, "PEM", @structure ("type-specific": PKCS#1 or
 * traditional). */
static char *encode_pem(EVP_PKEY *key, int selection, const char *structure)
{
	OSSL_ENCODER_CTX *ctx =
		OSSL_ENCODER_CTX_new_for_pkey(key, selection, "PEM", structure, NULL);
	BIO *bio = BIO_new(BIO_s_mem());
	char *out;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(OSSL_ENCODER_CTX_get_num_encoders(ctx) > 0, 1);
	ck_assert_int_eq(OSSL_ENCODER_to_bio(ctx, bio), 1);
	out = bio_string(bio);
	BIO_free(bio);
	OSSL_ENCODER_CTX_free(ctx);
	return out;
}

static char *encrypted_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out;

	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), NULL, 0, NULL,
						       (void *)"correct horse"),
			 1);
	out = bio_string(bio);
	BIO_free(bio);
	return out;
}

/* A self-signed certificate for @key (signed by K_EC). */
static char *cert_pem(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	BIO *bio = BIO_new(BIO_s_mem());
	char *out;

	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)"ddns test", -1, -1, 0),
			 1);
	ck_assert_int_eq(X509_set_issuer_name(x, name), 1);
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	ck_assert_int_gt(X509_sign(x, pkeys[K_EC], EVP_sha256()), 0);
	ck_assert_int_eq(PEM_write_bio_X509(bio, x), 1);
	out = bio_string(bio);
	BIO_free(bio);
	X509_free(x);
	return out;
}

/* SubjectPublicKeyInfo PEM of EC @key with the last byte of y changed: off the curve. */
static char *off_curve_pem(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	BIO *bio = BIO_new(BIO_s_mem());
	char *out;

	ck_assert_int_gt(len, 0);
	der[len - 1] ^= 0x01;
	ck_assert_int_gt(PEM_write_bio(bio, "PUBLIC KEY", "", der, len), 0);
	out = bio_string(bio);
	BIO_free(bio);
	OPENSSL_free(der);
	return out;
}

static void set_bn(json_t *doc, const char *member, EVP_PKEY *key, const char *param, size_t len)
{
	BIGNUM *bn = NULL;
	unsigned char *buf;
	char *s;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(key, param, &bn), 1);
	if (len == 0)
		len = (size_t)BN_num_bytes(bn);
	buf = malloc(len);
	ck_assert_int_ge(BN_bn2binpad(bn, buf, (int)len), 0);
	s = jwtsign_b64url(buf, len);
	json_object_set_new(doc, member, json_string(s));
	free(s);
	OPENSSL_cleanse(buf, len);
	free(buf);
	BN_clear_free(bn);
}

/* The private JWK of @key, every member filled from the key. */
static char *private_jwk(EVP_PKEY *key)
{
	static const struct {
		const char *member, *param;
	} rsa[] = {
		{ "d", OSSL_PKEY_PARAM_RSA_D },          { "p", OSSL_PKEY_PARAM_RSA_FACTOR1 },
		{ "q", OSSL_PKEY_PARAM_RSA_FACTOR2 },    { "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1 },
		{ "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2 }, { "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
	};
	char *pub, *out;
	json_t *doc;

	ck_assert_int_eq(jwtsign_public_jwk(key, &pub), 0);
	doc = json_loads(pub, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	if (EVP_PKEY_is_a(key, "RSA")) {
		for (size_t i = 0; i < ARRAY_SIZE(rsa); i++)
			set_bn(doc, rsa[i].member, key, rsa[i].param, 0);
	} else {
		set_bn(doc, "d", key, OSSL_PKEY_PARAM_PRIV_KEY, 32);
	}
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	free(pub);
	return out;
}

/* The RSA n of @jwk with a zero byte in front. */
static char *n_with_zero(const char *jwk)
{
	json_t *doc = json_loads(jwk, 0, NULL);
	const char *n = json_string_value(json_object_get(doc, "n"));
	size_t len = strlen(n) / 4 * 3 + 3;
	unsigned char *raw = malloc(len + 1);
	char *s, *out;
	int got;

	/* base64url -> bytes through OpenSSL's base64: -_ to +/ and padding. */
	s = malloc(strlen(n) + 4);
	strcpy(s, n);
	for (char *c = s; *c; c++)
		*c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
	while (strlen(s) % 4)
		strcat(s, "=");
	got = EVP_DecodeBlock(raw + 1, (const unsigned char *)s, (int)strlen(s));
	ck_assert_int_gt(got, 0);
	got -= (int)(strchr(s, '=') ? strlen(strchr(s, '=')) : 0);
	raw[0] = 0;
	free(s);
	s = jwtsign_b64url(raw, (size_t)got + 1);
	json_object_set_new(doc, "n", json_string(s));
	out = json_dumps(doc, JSON_COMPACT);
	free(s);
	free(raw);
	json_decref(doc);
	return out;
}

enum src {
	S_JWK,      /* jwtsign_public_jwk(key), with the members of @set set (null: deleted) */
	S_JWK_PRIV, /* the key's private JWK */
	S_PEM,      /* SubjectPublicKeyInfo, "BEGIN PUBLIC KEY" */
	S_PKCS1,    /* "BEGIN RSA PUBLIC KEY" */
	S_PKCS8,    /* "BEGIN PRIVATE KEY" */
	S_TRAD,     /* "BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY" */
	S_ENC,      /* "BEGIN ENCRYPTED PRIVATE KEY" */
	S_CERT,     /* "BEGIN CERTIFICATE" */
	S_OFF,      /* S_PEM with an EC point off the curve */
	S_TEXT,     /* @text */
};

/* What is done to the text before the import. */
enum edit {
	E_NONE,
	E_CRLF,        /* every "\n" made "\r\n" */
	E_HALF,        /* only the first half kept */
	E_NO_BEGIN,    /* the first line removed */
	E_NO_END,      /* the -----END line removed */
	E_BAD_B64,     /* a '*' in the middle of the base64 body */
	E_TWICE,       /* the text twice */
	E_ZERO_N,      /* a zero byte in front of the JWK's n */
	E_PAD_TO,      /* spaces appended up to @pad bytes */
	E_PUB_FIRST,   /* the key's public PEM before the text */
	E_PKCS1_LABEL, /* "PUBLIC KEY" made "RSA PUBLIC KEY" */
};

struct import_case {
	const char *name;
	enum src src;
	enum key_id key;
	const char *set;    /* S_JWK: a JSON object whose members are set in the JWK */
	const char *text;   /* S_TEXT */
	const char *before; /* put before the text */
	const char *after;  /* put after it */
	enum edit edit;
	size_t pad;       /* E_PAD_TO */
	const char *want; /* the code; NULL: accepted */
};

/* 32 bytes of 0x01: not the y of a point with the x of K_EC but for a 2^-255 chance. */
#define Y_OFF_CURVE "\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\""
/* RFC 8037 A.2: an Ed25519 public JWK. */
#define ED25519_JWK                                                   \
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_" \
	"7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
#define OPENSSH_PRIVATE                                                      \
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"                              \
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz\n" \
	"-----END OPENSSH PRIVATE KEY-----\n"
#define SSH_PUBLIC                                                                          \
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl " \
	"user@host"

static const struct import_case import_cases[] = {
	/* accepted */
	{ "RSA 2048 JWK", S_JWK, K_RSA, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "RSA 4096 JWK", S_JWK, K_RSA_4096, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "RSA 2048 PEM", S_PEM, K_RSA, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "RSA 4096 PEM", S_PEM, K_RSA_4096, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "RSA 2048 PKCS#1 PEM", S_PKCS1, K_RSA, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "RSA exponent 3 JWK", S_JWK, K_RSA_E3, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "RSA exponent 3 PEM", S_PEM, K_RSA_E3, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "EC P-256 JWK", S_JWK, K_EC, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "EC P-256 PEM", S_PEM, K_EC, NULL, NULL, NULL, NULL, E_NONE, 0, NULL },
	{ "RSA JWK with kid, alg RS256, use sig", S_JWK, K_RSA,
	  "{\"kid\":\"mine\",\"alg\":\"RS256\",\"use\":\"sig\",\"key_ops\":[\"verify\"]}", NULL,
	  NULL, NULL, E_NONE, 0, NULL },
	{ "EC JWK with kid, alg ES256, use sig", S_JWK, K_EC,
	  "{\"kid\":\"k-1\",\"alg\":\"ES256\",\"use\":\"sig\"}", NULL, NULL, NULL, E_NONE, 0,
	  NULL },
	{ "JWK with whitespace around", S_JWK, K_EC, NULL, NULL, " \n\t ", "\n\n", E_NONE, 0,
	  NULL },
	{ "PEM with whitespace around", S_PEM, K_RSA, NULL, NULL, "\n\n  ", "\n \n", E_NONE, 0,
	  NULL },
	{ "PEM with CRLF", S_PEM, K_EC, NULL, NULL, NULL, NULL, E_CRLF, 0, NULL },
	{ "RSA n with a leading zero byte", S_JWK, K_RSA, NULL, NULL, NULL, NULL, E_ZERO_N, 0,
	  NULL },
	{ "RSA e with a leading zero byte", S_JWK, K_RSA, "{\"e\":\"AAEAAQ\"}", NULL, NULL, NULL,
	  E_NONE, 0, NULL },
	{ "JWK of exactly 16 KiB", S_JWK, K_RSA, NULL, NULL, NULL, NULL, E_PAD_TO, IMPORT_MAX,
	  NULL },
	/* private keys */
	{ "RSA private JWK", S_JWK_PRIV, K_RSA, NULL, NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "EC private JWK", S_JWK_PRIV, K_EC, NULL, NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "JWK with only qi", S_JWK, K_RSA, "{\"qi\":\"AQAB\"}", NULL, NULL, NULL, E_NONE, 0,
	  PRIVATE },
	{ "JWK with oth", S_JWK, K_RSA, "{\"oth\":[{\"r\":\"AQ\",\"d\":\"AQ\",\"t\":\"AQ\"}]}",
	  NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "JWK d named with an escape", S_TEXT, 0, NULL,
	  "{\"kty\":\"EC\",\"crv\":\"P-256\",\"\\u0064\":\"c2VjcmV0\"}", NULL, NULL, E_NONE, 0,
	  PRIVATE },
	{ "symmetric JWK", S_TEXT, 0, NULL, "{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0\"}", NULL,
	  NULL, E_NONE, 0, PRIVATE },
	{ "JWK Set with a private key", S_TEXT, 0, NULL,
	  "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0\"}]}", NULL, NULL, E_NONE, 0,
	  PRIVATE },
	{ "RSA PKCS#8 PEM", S_PKCS8, K_RSA, NULL, NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "EC PKCS#8 PEM", S_PKCS8, K_EC, NULL, NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "RSA PRIVATE KEY PEM", S_TRAD, K_RSA, NULL, NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "EC PRIVATE KEY PEM", S_TRAD, K_EC, NULL, NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "ENCRYPTED PRIVATE KEY PEM", S_ENC, K_RSA, NULL, NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "OPENSSH PRIVATE KEY", S_TEXT, 0, NULL, OPENSSH_PRIVATE, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "Ed25519 PKCS#8 PEM", S_PKCS8, K_ED25519, NULL, NULL, NULL, NULL, E_NONE, 0, PRIVATE },
	{ "private PEM after text", S_PKCS8, K_EC, NULL, NULL, "Bag Attributes\n", NULL, E_NONE, 0,
	  PRIVATE },
	{ "private PEM after the public one", S_PKCS8, K_EC, NULL, NULL, NULL, NULL, E_PUB_FIRST, 0,
	  PRIVATE },
	{ "private PEM without its BEGIN line", S_PKCS8, K_EC, NULL, NULL, NULL, NULL, E_NO_BEGIN,
	  0, PRIVATE },
	/* weak */
	{ "RSA 1024 JWK", S_JWK, K_RSA_1024, NULL, NULL, NULL, NULL, E_NONE, 0, WEAK },
	{ "RSA 1024 PEM", S_PEM, K_RSA_1024, NULL, NULL, NULL, NULL, E_NONE, 0, WEAK },
	{ "RSA exponent 1", S_JWK, K_RSA, "{\"e\":\"AQ\"}", NULL, NULL, NULL, E_NONE, 0, WEAK },
	{ "RSA exponent even", S_JWK, K_RSA, "{\"e\":\"AQAA\"}", NULL, NULL, NULL, E_NONE, 0,
	  WEAK },
	{ "RSA exponent of 9 bytes", S_JWK, K_RSA, "{\"e\":\"AQAAAAAAAAAB\"}", NULL, NULL, NULL,
	  E_NONE, 0, WEAK },
	/* unsupported */
	{ "EC P-384 JWK", S_JWK, K_EC_384, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "EC P-384 PEM", S_PEM, K_EC_384, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "EC P-384 JWK with alg ES384", S_JWK, K_EC_384, "{\"alg\":\"ES384\"}", NULL, NULL, NULL,
	  E_NONE, 0, UNSUPP },
	{ "EC P-521 JWK", S_JWK, K_EC_521, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "EC P-521 PEM", S_PEM, K_EC_521, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "EC secp256k1 JWK", S_JWK, K_EC_K1, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "EC secp256k1 PEM", S_PEM, K_EC_K1, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "Ed25519 PEM", S_PEM, K_ED25519, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "X25519 PEM", S_PEM, K_X25519, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "Ed25519 JWK", S_TEXT, 0, NULL, ED25519_JWK, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "kty oct without k", S_TEXT, 0, NULL, "{\"kty\":\"oct\"}", NULL, NULL, E_NONE, 0,
	  UNSUPP },
	{ "RSA of 16392 bits JWK", S_JWK, K_RSA_HUGE, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "RSA of 16392 bits PEM", S_PEM, K_RSA_HUGE, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "certificate PEM", S_CERT, K_EC, NULL, NULL, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "OpenSSH public key", S_TEXT, 0, NULL, SSH_PUBLIC, NULL, NULL, E_NONE, 0, UNSUPP },
	{ "PGP public key block", S_TEXT, 0, NULL,
	  "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGM=\n-----END PGP PUBLIC KEY BLOCK-----\n",
	  NULL, NULL, E_NONE, 0, UNSUPP },
	/* invalid */
	{ "empty", S_TEXT, 0, NULL, "", NULL, NULL, E_NONE, 0, INVALID },
	{ "whitespace only", S_TEXT, 0, NULL, " \n\t\r\n", NULL, NULL, E_NONE, 0, INVALID },
	{ "garbage", S_TEXT, 0, NULL, "hello, this is my key", NULL, NULL, E_NONE, 0, INVALID },
	{ "bare base64 of a key", S_TEXT, 0, NULL, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE", NULL,
	  NULL, E_NONE, 0, INVALID },
	{ "JSON array", S_TEXT, 0, NULL, "[{\"kty\":\"RSA\"}]", NULL, NULL, E_NONE, 0, INVALID },
	{ "JSON string", S_TEXT, 0, NULL, "\"RSA\"", NULL, NULL, E_NONE, 0, INVALID },
	{ "JWK Set", S_TEXT, 0, NULL, "{\"keys\":[]}", NULL, NULL, E_NONE, 0, INVALID },
	{ "duplicate kty", S_TEXT, 0, NULL, "{\"kty\":\"EC\",\"kty\":\"RSA\"}", NULL, NULL, E_NONE,
	  0, INVALID },
	{ "no kty", S_JWK, K_RSA, "{\"kty\":null}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "kty a number", S_JWK, K_RSA, "{\"kty\":1}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "RSA without n", S_JWK, K_RSA, "{\"n\":null}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "RSA without e", S_JWK, K_RSA, "{\"e\":null}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "RSA e with '=' padding", S_JWK, K_RSA, "{\"e\":\"AQAB==\"}", NULL, NULL, NULL, E_NONE, 0,
	  INVALID },
	{ "RSA e in standard base64", S_JWK, K_RSA, "{\"e\":\"A+A/\"}", NULL, NULL, NULL, E_NONE, 0,
	  INVALID },
	{ "RSA n a number", S_JWK, K_RSA, "{\"n\":12345}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "EC without crv", S_JWK, K_EC, "{\"crv\":null}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "EC without y", S_JWK, K_EC, "{\"y\":null}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "EC x of 31 bytes", S_JWK, K_EC, "{\"x\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ\"}",
	  NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "EC point off the curve, JWK", S_JWK, K_EC, "{\"y\":" Y_OFF_CURVE "}", NULL, NULL, NULL,
	  E_NONE, 0, INVALID },
	{ "EC point off the curve, PEM", S_OFF, K_EC, NULL, NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "alg RS256 on an EC key", S_JWK, K_EC, "{\"alg\":\"RS256\"}", NULL, NULL, NULL, E_NONE, 0,
	  INVALID },
	{ "alg ES256 on an RSA key", S_JWK, K_RSA, "{\"alg\":\"ES256\"}", NULL, NULL, NULL, E_NONE,
	  0, INVALID },
	{ "alg RS512", S_JWK, K_RSA, "{\"alg\":\"RS512\"}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "alg none", S_JWK, K_RSA, "{\"alg\":\"none\"}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "use enc", S_JWK, K_EC, "{\"use\":\"enc\"}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "use a number", S_JWK, K_EC, "{\"use\":1}", NULL, NULL, NULL, E_NONE, 0, INVALID },
	{ "JWK with trailing garbage", S_JWK, K_RSA, NULL, NULL, NULL, " x", E_NONE, 0, INVALID },
	{ "JWK twice", S_JWK, K_EC, NULL, NULL, NULL, NULL, E_TWICE, 0, INVALID },
	{ "JWK cut in half", S_JWK, K_EC, NULL, NULL, NULL, NULL, E_HALF, 0, INVALID },
	{ "JWK over 16 KiB", S_JWK, K_RSA, NULL, NULL, NULL, NULL, E_PAD_TO, IMPORT_MAX + 1,
	  INVALID },
	{ "PEM cut in half", S_PEM, K_RSA, NULL, NULL, NULL, NULL, E_HALF, 0, INVALID },
	{ "PEM without its END line", S_PEM, K_EC, NULL, NULL, NULL, NULL, E_NO_END, 0, INVALID },
	{ "PEM with bad base64", S_PEM, K_RSA, NULL, NULL, NULL, NULL, E_BAD_B64, 0, INVALID },
	{ "PEM twice", S_PEM, K_EC, NULL, NULL, NULL, NULL, E_TWICE, 0, INVALID },
	{ "PEM with trailing garbage", S_PEM, K_EC, NULL, NULL, NULL, "garbage\n", E_NONE, 0,
	  INVALID },
	{ "PEM after text", S_PEM, K_EC, NULL, NULL, "my key:\n", NULL, E_NONE, 0, INVALID },
	{ "PEM of four base64 characters", S_TEXT, 0, NULL,
	  "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", NULL, NULL, E_NONE, 0,
	  INVALID },
	{ "PEM BEGIN line only", S_TEXT, 0, NULL, "-----BEGIN PUBLIC KEY-----\n", NULL, NULL,
	  E_NONE, 0, INVALID },
	{ "PEM BEGIN line unfinished", S_TEXT, 0, NULL, "-----BEGIN PUBLIC KEY\nAAAA\n", NULL, NULL,
	  E_NONE, 0, INVALID },
	{ "PEM with mismatched END", S_TEXT, 0, NULL,
	  "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n", NULL, NULL, E_NONE, 0,
	  INVALID },
	{ "PKCS#1 label on an EC key", S_PEM, K_EC, NULL, NULL, NULL, NULL, E_PKCS1_LABEL, 0,
	  INVALID },
};

/* @s with every occurrence of @from replaced by @to, in a new string. */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = strstr(s, from); p; p = strstr(p + flen, from))
		n++;
	out = o = malloc(strlen(s) + n * tlen + 1);
	ck_assert_ptr_nonnull(out);
	while ((p = strstr(s, from))) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, to, tlen);
		o += tlen;
		s = p + flen;
	}
	strcpy(o, s);
	return out;
}

static char *jwk_edited(EVP_PKEY *key, const char *set)
{
	json_t *doc, *edits, *v;
	const char *member;
	char *jwk, *out;

	ck_assert_int_eq(jwtsign_public_jwk(key, &jwk), 0);
	if (!set)
		return jwk;
	doc = json_loads(jwk, 0, NULL);
	edits = json_loads(set, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_nonnull(edits);
	json_object_foreach(edits, member, v)
	{
		if (json_is_null(v))
			json_object_del(doc, member);
		else
			json_object_set(doc, member, v);
	}
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(edits);
	json_decref(doc);
	free(jwk);
	return out;
}

static char *public_pem(EVP_PKEY *key)
{
	char *pem;

	ck_assert_int_eq(jwtsign_public_pem(key, &pem), 0);
	return pem;
}

/* The text a case imports, in a new string. */
static char *case_text(const struct import_case *c)
{
	EVP_PKEY *key = pkeys[c->key];
	char *t = NULL, *out, *p;
	size_t len;

	switch (c->src) {
	case S_JWK:
		t = jwk_edited(key, c->set);
		break;
	case S_JWK_PRIV:
		t = private_jwk(key);
		break;
	case S_PEM:
		t = public_pem(key);
		break;
	case S_PKCS1:
		t = encode_pem(key, EVP_PKEY_PUBLIC_KEY, "type-specific");
		ck_assert_ptr_nonnull(strstr(t, "-----BEGIN RSA PUBLIC KEY-----"));
		break;
	case S_PKCS8:
		ck_assert_int_eq(jwtsign_private_pem(key, &t), 0);
		ck_assert_ptr_nonnull(strstr(t, "-----BEGIN PRIVATE KEY-----"));
		break;
	case S_TRAD:
		t = encode_pem(key, EVP_PKEY_KEYPAIR, "type-specific");
		ck_assert_ptr_nonnull(strstr(t, EVP_PKEY_is_a(key, "RSA")
							? "BEGIN RSA PRIVATE KEY"
							: "BEGIN EC PRIVATE KEY"));
		break;
	case S_ENC:
		t = encrypted_pem(key);
		ck_assert_ptr_nonnull(strstr(t, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
		break;
	case S_CERT:
		t = cert_pem(key);
		break;
	case S_OFF:
		t = off_curve_pem(key);
		break;
	case S_TEXT:
		t = strdup(c->text);
		break;
	}
	ck_assert_ptr_nonnull(t);

	switch (c->edit) {
	case E_NONE:
		break;
	case E_CRLF:
		out = replace_all(t, "\n", "\r\n");
		free(t);
		t = out;
		break;
	case E_HALF:
		t[strlen(t) / 2] = '\0';
		break;
	case E_NO_BEGIN:
		p = strchr(t, '\n');
		ck_assert_ptr_nonnull(p);
		memmove(t, p + 1, strlen(p + 1) + 1);
		break;
	case E_PKCS1_LABEL:
		out = replace_all(t, "PUBLIC KEY", "RSA PUBLIC KEY");
		free(t);
		t = out;
		break;
	case E_NO_END:
		p = strstr(t, "-----END");
		ck_assert_ptr_nonnull(p);
		*p = '\0';
		break;
	case E_BAD_B64:
		p = strchr(t, '\n');
		ck_assert_ptr_nonnull(p);
		p[10] = '*';
		break;
	case E_TWICE:
		ck_assert_int_ge(asprintf(&out, "%s%s", t, t), 0);
		free(t);
		t = out;
		break;
	case E_ZERO_N:
		out = n_with_zero(t);
		free(t);
		t = out;
		break;
	case E_PAD_TO:
		len = strlen(t);
		ck_assert_uint_le(len, c->pad);
		out = malloc(c->pad + 1);
		memcpy(out, t, len);
		memset(out + len, ' ', c->pad - len);
		out[c->pad] = '\0';
		free(t);
		t = out;
		break;
	case E_PUB_FIRST:
		p = public_pem(key);
		ck_assert_int_ge(asprintf(&out, "%s%s", p, t), 0);
		free(p);
		free(t);
		t = out;
		break;
	}
	ck_assert_int_ge(
		asprintf(&out, "%s%s%s", c->before ? c->before : "", t, c->after ? c->after : ""),
		0);
	free(t);
	return out;
}

/* -- expectations, computed independently of shared/jwt ----------------- */

/* The canonical JWK and RFC 7638 thumbprint of @key, from jwtsign's JWK. */
static void expected(EVP_PKEY *key, char **ret_jwk, char **ret_kid)
{
	unsigned char digest[32];
	char *jwk, *tp;
	json_t *doc;
	const char *a, *b;
	bool rsa = EVP_PKEY_is_a(key, "RSA");

	ck_assert_int_eq(jwtsign_public_jwk(key, &jwk), 0);
	doc = json_loads(jwk, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	a = json_string_value(json_object_get(doc, rsa ? "n" : "x"));
	b = json_string_value(json_object_get(doc, rsa ? "e" : "y"));
	if (rsa) {
		ck_assert_int_ge(asprintf(&tp, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", b, a),
				 0);
		ck_assert_int_ge(asprintf(ret_jwk,
					  "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\","
					  "\"alg\":\"RS256\",\"use\":\"sig\"}",
					  a, b),
				 0);
	} else {
		ck_assert_int_ge(asprintf(&tp,
					  "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
					  "\"y\":\"%s\"}",
					  a, b),
				 0);
		ck_assert_int_ge(
			asprintf(ret_jwk,
				 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
				 "\"alg\":\"ES256\",\"use\":\"sig\"}",
				 a, b),
			0);
	}
	ck_assert_int_eq(EVP_Digest(tp, strlen(tp), digest, NULL, EVP_sha256(), NULL), 1);
	*ret_kid = jwtsign_b64url(digest, sizeof(digest));
	free(tp);
	free(jwk);
	json_decref(doc);
}

/* The stored JWK loads with jwt_key_from_jwk and verifies what @key signed. */
static void round_trip(const struct jwt_key_import *k, EVP_PKEY *key)
{
	const struct jwt_policy pol = { .audience = "ddns-api", .skew_s = 30 };
	const char *reason = NULL;
	struct jwt_key *vkey = NULL;
	struct jwt_token *t = NULL;
	struct jwt_claims claims;
	enum jwt_reason why;
	char *header, *token;

	ck_assert_msg(jwt_key_from_jwk(k->public_jwk, k->alg, SUB, &vkey, &reason) == 0, "%s: %s",
		      k->public_jwk, reason);
	ck_assert_int_eq(jwt_key_alg(vkey), k->alg);
	ck_assert_int_ge(asprintf(&header, "{\"alg\":\"%s\",\"kid\":\"%s\"}",
				  k->alg == JWT_RS256 ? "RS256" : "ES256", k->kid),
			 0);
	ck_assert_int_eq(jwtsign_sign(key, header, P_OK, &token), 0);
	ck_assert_int_eq(jwt_parse(token, strlen(token), &t, &why), 0);
	ck_assert_str_eq(jwt_token_kid(t), k->kid);
	ck_assert_int_eq(jwt_verify(t, vkey, &pol, NOW, &claims), JWT_OK);
	jwt_token_destroy(t);
	jwt_key_destroy(vkey);
	free(token);
	free(header);
}

/* jwt_key_import on exactly @len bytes in a buffer of their size: no NUL to lean on. */
static int import(const char *text, size_t len, struct jwt_key_import *k, const char **code,
		  const char **reason)
{
	char *copy = malloc(len ? len : 1);
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, len);
	r = jwt_key_import(copy, len, k, code, reason);
	free(copy);
	return r;
}

START_TEST(test_import)
{
	const struct import_case *c = &import_cases[_i];
	const char *code = "untouched", *reason = "untouched";
	struct jwt_key_import k, untouched;
	char *text = case_text(c), *want_jwk = NULL, *want_kid = NULL;
	int r;

	memset(&k, 0xa5, sizeof(k));
	untouched = k;
	ERR_clear_error();
	r = import(text, strlen(text), &k, &code, &reason);
	/* No stale OpenSSL errors for the next user of the thread. */
	ck_assert_uint_eq(ERR_peek_error(), 0);
	if (c->want) {
		ck_assert_msg(r == -EINVAL, "%s: %d", c->name, r);
		ck_assert_msg(strcmp(code, c->want) == 0, "%s: %s (%s), want %s", c->name, code,
			      reason, c->want);
		/* One line that tells what to do, and nothing of the input. */
		ck_assert_uint_gt(strlen(reason), 20);
		ck_assert_ptr_null(strchr(reason, '\n'));
		ck_assert_mem_eq(&k, &untouched, sizeof(k));
		goto out;
	}
	ck_assert_msg(r == 0, "%s: %d %s: %s", c->name, r, code, reason);
	ck_assert_str_eq(code, "untouched");
	ck_assert_str_eq(reason, "untouched");
	ck_assert_int_eq(k.alg, EVP_PKEY_is_a(pkeys[c->key], "RSA") ? JWT_RS256 : JWT_ES256);
	ck_assert_uint_eq(strlen(k.kid), JWT_THUMBPRINT_LEN);
	expected(pkeys[c->key], &want_jwk, &want_kid);
	ck_assert_str_eq(k.public_jwk, want_jwk);
	ck_assert_str_eq(k.kid, want_kid);
	round_trip(&k, pkeys[c->key]);
	jwt_key_import_finish(&k);
	ck_assert_ptr_null(k.public_jwk);
out:
	free(want_jwk);
	free(want_kid);
	free(text);
}
END_TEST

/* The same key as JWK, SubjectPublicKeyInfo PEM and PKCS#1 PEM: the same kid and JWK. */
static const enum key_id same_keys[] = { K_RSA, K_RSA_4096, K_RSA_E3, K_EC };

START_TEST(test_same_key)
{
	EVP_PKEY *key = pkeys[same_keys[_i]];
	char *texts[3];
	size_t ntexts = 2;
	struct jwt_key_import k[3];
	const char *code = NULL, *reason = NULL;

	ck_assert_int_eq(jwtsign_public_jwk(key, &texts[0]), 0);
	texts[1] = public_pem(key);
	if (EVP_PKEY_is_a(key, "RSA"))
		texts[ntexts++] = encode_pem(key, EVP_PKEY_PUBLIC_KEY, "type-specific");
	for (size_t i = 0; i < ntexts; i++) {
		ck_assert_int_eq(import(texts[i], strlen(texts[i]), &k[i], &code, &reason), 0);
		ck_assert_int_eq(k[i].alg, k[0].alg);
		ck_assert_str_eq(k[i].kid, k[0].kid);
		ck_assert_str_eq(k[i].public_jwk, k[0].public_jwk);
	}
	for (size_t i = 0; i < ntexts; i++) {
		jwt_key_import_finish(&k[i]);
		free(texts[i]);
	}
}
END_TEST

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
#define RFC7638_N                                                                                 \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_" \
	"BJE"                                                                                     \
	"CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"   \
	"FDW2"                                                                                    \
	"QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"           \
	"bFTWhAI4vMQFh"                                                                           \
	"6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_JWK                                                                 \
	"{\n  \"kty\": \"RSA\",\n  \"n\": \"" RFC7638_N "\",\n  \"e\": \"AQAB\",\n" \
	"  \"alg\": \"RS256\",\n  \"kid\": \"2011-04-29\"\n}\n"

START_TEST(test_rfc7638)
{
	struct jwt_key_import k;
	const char *code = NULL, *reason = NULL;

	ck_assert_int_eq(import(RFC7638_JWK, strlen(RFC7638_JWK), &k, &code, &reason), 0);
	ck_assert_int_eq(k.alg, JWT_RS256);
	ck_assert_str_eq(k.kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	ck_assert_str_eq(k.public_jwk, "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N
				       "\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"use\":\"sig\"}");
	jwt_key_import_finish(&k);
}
END_TEST

/* Only @len bytes are read: what follows them in memory is not part of the key. */
START_TEST(test_len)
{
	struct jwt_key_import k;
	const char *code = NULL, *reason = NULL;
	char *jwk, *text;
	size_t len;

	ck_assert_int_eq(jwtsign_public_jwk(pkeys[K_EC], &jwk), 0);
	len = strlen(jwk);
	ck_assert_int_ge(asprintf(&text, "%s-----BEGIN PRIVATE KEY-----", jwk), 0);
	ck_assert_int_eq(jwt_key_import(text, len, &k, &code, &reason), 0);
	jwt_key_import_finish(&k);
	/* One byte short: the object is not closed. */
	ck_assert_int_eq(jwt_key_import(text, len - 1, &k, &code, &reason), -EINVAL);
	ck_assert_str_eq(code, INVALID);
	ck_assert_int_eq(jwt_key_import(NULL, 0, &k, &code, &reason), -EINVAL);
	ck_assert_str_eq(code, INVALID);
	jwt_key_import_finish(NULL);
	k.public_jwk = NULL;
	jwt_key_import_finish(&k);
	free(text);
	free(jwk);
}
END_TEST

/* jwt_pem_read: the whole file, or an error; never a cut key. */
START_TEST(test_pem_read)
{
	char path[] = "/tmp/test_jwk_pem.XXXXXX", buf[16];
	size_t n = 99;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	ck_assert_int_eq(jwt_pem_read(path, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert_str_eq(buf, "0123456789");
	n = 99;
	ck_assert_int_eq(jwt_pem_read(path, buf, 10, &n), -EFBIG); /* 9 bytes and the NUL */
	ck_assert_uint_eq(n, 99);
	ck_assert_int_eq(jwt_pem_read(path, buf, 11, &n), 0); /* exactly fits */
	ck_assert_uint_eq(n, 10);
	unlink(path);
	ck_assert_int_eq(jwt_pem_read(path, buf, sizeof(buf), &n), -ENOENT);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("jwk");
	TCase *tc = tcase_create("jwk");

	/* Once, in the parent, before the forked cases: RSA keygen is slow. */
	tcase_add_unchecked_fixture(tc, setup_keys, teardown_keys);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_import, 0, ARRAY_SIZE(import_cases));
	tcase_add_loop_test(tc, test_same_key, 0, ARRAY_SIZE(same_keys));
	tcase_add_test(tc, test_rfc7638);
	tcase_add_test(tc, test_len);
	tcase_add_test(tc, test_pem_read);
	suite_add_tcase(s, tc);
	return s;
}
