#include "shared/jwt.h"

#include <cjose/cjose.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Latest time accepted in exp, iat and nbf: 9999-12-31T23:59:59Z. */
#define TIME_MAX 253402300799LL
/* Bounds on the policy's skew and lifetime, so that no sum can overflow. */
#define POLICY_MAX   (100LL * 366 * 86400)

#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 16384
#define P256_BYTES   32
#define PEM_MAX      65536
/* Longest text jwt_key_import reads, and longest PEM armor label looked at. */
#define IMPORT_MAX    16384
#define PEM_LABEL_MAX 64
#define PEM_BEGIN     "-----BEGIN "
#define PEM_END       "-----END "

/* Reasons for keys, as users see them. */
#define R_ALG      "unsupported algorithm: use RS256 or ES256"
#define R_JWK_JSON "public key is not a JWK (a JSON object)"
#define R_PRIVATE                                                                                \
	"private key given: upload the public key only (no \"d\", \"p\", \"q\", \"dp\", \"dq\" " \
	"or \"qi\")"
#define R_KTY         "key type does not match the algorithm: RS256 needs an RSA key, ES256 an EC P-256 key"
#define R_JWK_ALG     "the JWK's \"alg\" does not match the key's algorithm"
#define R_JWK_USE     "the JWK's \"use\" must be \"sig\""
#define R_RSA_FIELDS  "RSA JWK needs \"n\" and \"e\" in base64url"
#define R_RSA_SMALL   "RSA key shorter than 2048 bits"
#define R_RSA_LARGE   "RSA key longer than 16384 bits"
#define R_RSA_E       "RSA public exponent must be odd and at least 3"
#define R_EC_CURVE    "EC key must use curve P-256"
#define R_EC_FIELDS   "EC JWK needs \"x\" and \"y\", 32 bytes each in base64url"
#define R_EC_POINT    "EC public key is not a point on P-256"
#define R_PEM         "not a PEM public key (-----BEGIN PUBLIC KEY-----)"
#define R_PEM_PRIVATE "private key given: configure the public key (openssl pkey -pubout)"
#define R_PEM_TYPE    "unsupported key type: use RSA (2048 bits or more) or EC P-256"

/* jwt_key_import's codes, and its reasons: what the user should do. */
#define C_PRIVATE     "private_key"
#define C_WEAK        "weak_key"
#define C_UNSUPPORTED "unsupported_key"
#define C_INVALID     "invalid_key"
#define A_EMPTY       "no key given: upload a public key in PEM (-----BEGIN PUBLIC KEY-----) or as a JWK"
#define A_TOO_LONG    "the key text is longer than 16 KiB: upload one public key and nothing else"
#define A_FORMAT                                                                                   \
	"not a public key: upload a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK (a JSON " \
	"object)"
#define A_SSH "an OpenSSH public key: convert it to PEM first (ssh-keygen -e -m PKCS8 -f key.pub)"
#define A_JWK_JSON                                                                                 \
	"the JWK is not one valid JSON object: check that it was copied whole, without duplicate " \
	"members"
#define A_JWK_SET "this is a JWK Set: upload one key, a single member of its \"keys\" array"
#define A_JWK_PRIVATE                                                                          \
	"this is a private key: keep it secret and upload only the public key (a JWK without " \
	"\"d\", \"p\", \"q\", \"dp\", \"dq\", \"qi\", \"oth\" or \"k\")"
#define A_PEM_PRIVATE                                                                    \
	"this is a private key: keep it secret and upload only the public key (openssl " \
	"pkey -pubout)"
#define A_KTY_MISSING "the JWK has no \"kty\": it must be \"RSA\" or \"EC\""
#define A_KTY         "unsupported key type: use RSA (2048 bits or more) or EC P-256"
#define A_JWK_ALG                                                                                \
	"the JWK's \"alg\" does not match its key: RS256 for an RSA key, ES256 for an EC P-256 " \
	"key, or leave it out"
#define A_JWK_USE    "the JWK's \"use\" must be \"sig\", or leave it out"
#define A_RSA_FIELDS "the RSA JWK needs \"n\" and \"e\", in base64url without padding"
#define A_RSA_SMALL                                                                             \
	"RSA key shorter than 2048 bits: make a new key of 2048 bits or more (openssl genpkey " \
	"-algorithm RSA -pkeyopt rsa_keygen_bits:3072)"
#define A_RSA_LARGE "RSA key longer than 16384 bits: use a key of 2048 to 4096 bits"
#define A_RSA_E                                                                                  \
	"RSA public exponent must be odd and at least 3: make a new key (the usual exponent is " \
	"65537)"
#define A_EC_CURVE                                                                               \
	"only the EC curve P-256 is supported: make a P-256 key (openssl genpkey -algorithm EC " \
	"-pkeyopt ec_paramgen_curve:P-256) or use RSA"
#define A_EC_NO_CRV "the EC JWK needs \"crv\": \"P-256\""
#define A_EC_FIELDS "the EC JWK needs \"x\" and \"y\", 32 bytes each in base64url without padding"
#define A_EC_POINT  "the EC public key is not a point on P-256: check that it was copied whole"
#define A_PEM                                                                                    \
	"not a valid PEM public key: check that the whole -----BEGIN PUBLIC KEY----- block was " \
	"copied"
#define A_PEM_EXTRA "another PEM block or text follows the key: upload exactly one public key"
#define A_PEM_LABEL                                                                                \
	"unsupported PEM block: upload a -----BEGIN PUBLIC KEY----- block (openssl pkey -pubout) " \
	"or a JWK"
#define A_CERT                                                                             \
	"this is a certificate: upload its public key instead (openssl x509 -in cert.pem " \
	"-pubkey -noout)"

struct jwt_key {
	enum jwt_alg alg;
	cjose_jwk_t *jwk; /* owned */
	char *owner;      /* owned; NULL: any subject */
	size_t sig_len;   /* bytes of a signature made with this key */
};

struct jwt_token {
	char *text; /* owned, NUL-terminated copy of the token */
	size_t len;
	size_t sig_off; /* start of the signature segment */
	enum jwt_alg alg;
	char kid[JWT_KID_MAX + 1];
};

static const char *const reason_names[] = {
	[JWT_OK] = "ok",
	[JWT_MALFORMED] = "malformed",
	[JWT_TOO_LONG] = "too_long",
	[JWT_BAD_HEADER] = "bad_header",
	[JWT_ALG_NOT_ALLOWED] = "alg_not_allowed",
	[JWT_ALG_KEY_MISMATCH] = "alg_key_mismatch",
	[JWT_NO_KID] = "no_kid",
	[JWT_BAD_SIGNATURE] = "bad_signature",
	[JWT_BAD_CLAIMS] = "bad_claims",
	[JWT_NO_EXP] = "no_exp",
	[JWT_EXPIRED] = "expired",
	[JWT_NOT_YET_VALID] = "not_yet_valid",
	[JWT_IAT_FUTURE] = "iat_future",
	[JWT_LIFETIME] = "lifetime",
	[JWT_BAD_AUDIENCE] = "bad_audience",
	[JWT_BAD_SUBJECT] = "bad_subject",
	[JWT_NO_JTI] = "no_jti",
	[JWT_KEY_UNKNOWN] = "key_unknown",
	[JWT_KEY_REVOKED] = "key_revoked",
	[JWT_JTI_REVOKED] = "jti_revoked",
	[JWT_SCOPE_MISSING] = "scope_missing",
};

const char *jwt_reason_name(enum jwt_reason r)
{
	if ((unsigned)r >= sizeof(reason_names) / sizeof(reason_names[0]) || !reason_names[r])
		return "unknown";
	return reason_names[r];
}

static const char *alg_name(enum jwt_alg alg)
{
	return alg == JWT_RS256 ? "RS256" : alg == JWT_ES256 ? "ES256" : "";
}

/* -- base64url, strictly ------------------------------------------------- */

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Bytes that @n base64url characters (no padding) decode to. */
static size_t b64url_decoded_len(size_t n)
{
	return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

/*
 * Whether @s[0..@n) is non-empty, unpadded, canonical base64url: only the
 * URL-safe alphabet, a length that is not 1 mod 4, and zero unused bits.
 */
static bool b64url_valid(const char *s, size_t n)
{
	int last;

	if (n == 0 || n % 4 == 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (b64url_value((unsigned char)s[i]) < 0)
			return false;
	}
	last = b64url_value((unsigned char)s[n - 1]);
	if (n % 4 == 2 && (last & 0x0f))
		return false;
	if (n % 4 == 3 && (last & 0x03))
		return false;
	return true;
}

/* Decodes valid (b64url_valid) input into @out, b64url_decoded_len(@n) bytes. */
static void b64url_decode(const char *s, size_t n, unsigned char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 6) | (uint32_t)b64url_value((unsigned char)s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
}

/* Characters of the base64url of @n bytes, without padding. */
static size_t b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/* @in[0..@n) as base64url without padding into @out: b64url_encoded_len(@n) + 1 bytes. */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = alphabet[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		*out++ = alphabet[(acc << (6 - bits)) & 0x3f];
	*out = '\0';
}

/* The same into a new string (caller frees); NULL on allocation failure. */
static char *b64url_encode_new(const unsigned char *in, size_t n)
{
	char *out = malloc(b64url_encoded_len(n) + 1);

	if (out)
		b64url_encode(in, n, out);
	return out;
}

/* Strict decode of a JSON string holding base64url; caller frees *ret. */
static int b64url_decode_json(const json_t *v, unsigned char **ret, size_t *ret_len)
{
	const char *s;
	size_t n, len;
	unsigned char *out;

	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	n = json_string_length(v);
	if (!b64url_valid(s, n))
		return -EINVAL;
	len = b64url_decoded_len(n);
	out = malloc(len);
	if (!out)
		return -ENOMEM;
	b64url_decode(s, n, out);
	*ret = out;
	*ret_len = len;
	return 0;
}

/* -- keys ---------------------------------------------------------------- */

/*
 * What can be wrong with a key. The checks below find a problem once; the
 * table tells it two ways: as the loaders' reason (jwt_key_from_jwk,
 * jwt_key_from_pem: for logs and configuration errors), and as
 * jwt_key_import's code and advice to the user.
 */
enum problem {
	P_ALG,
	P_EMPTY,
	P_TOO_LONG,
	P_FORMAT,
	P_SSH,
	P_JWK_JSON,
	P_JWK_SET,
	P_JWK_PRIVATE,
	P_PEM_PRIVATE,
	P_KTY,         /* the loaders: not the kty of the alg asked for */
	P_KTY_MISSING, /* no kty, or not a string */
	P_KTY_OTHER,   /* OKP, oct, ... */
	P_JWK_ALG,
	P_JWK_USE,
	P_RSA_FIELDS,
	P_RSA_SMALL,
	P_RSA_LARGE,
	P_RSA_E,
	P_EC_CURVE,
	P_EC_NO_CRV,
	P_EC_FIELDS,
	P_EC_POINT,
	P_PEM,
	P_PEM_EXTRA,
	P_PEM_LABEL,
	P_PEM_TYPE,
	P_CERT,
};

static const struct {
	const char *reason; /* the loaders' */
	const char *code;   /* jwt_key_import's */
	const char *advice; /* jwt_key_import's reason */
} problems[] = {
	[P_ALG] = { R_ALG, C_INVALID, R_ALG },
	[P_EMPTY] = { R_PEM, C_INVALID, A_EMPTY },
	[P_TOO_LONG] = { R_PEM, C_INVALID, A_TOO_LONG },
	[P_FORMAT] = { R_PEM, C_INVALID, A_FORMAT },
	[P_SSH] = { R_PEM_TYPE, C_UNSUPPORTED, A_SSH },
	[P_JWK_JSON] = { R_JWK_JSON, C_INVALID, A_JWK_JSON },
	[P_JWK_SET] = { R_JWK_JSON, C_INVALID, A_JWK_SET },
	[P_JWK_PRIVATE] = { R_PRIVATE, C_PRIVATE, A_JWK_PRIVATE },
	[P_PEM_PRIVATE] = { R_PEM_PRIVATE, C_PRIVATE, A_PEM_PRIVATE },
	[P_KTY] = { R_KTY, C_INVALID, R_KTY },
	[P_KTY_MISSING] = { R_KTY, C_INVALID, A_KTY_MISSING },
	[P_KTY_OTHER] = { R_KTY, C_UNSUPPORTED, A_KTY },
	[P_JWK_ALG] = { R_JWK_ALG, C_INVALID, A_JWK_ALG },
	[P_JWK_USE] = { R_JWK_USE, C_INVALID, A_JWK_USE },
	[P_RSA_FIELDS] = { R_RSA_FIELDS, C_INVALID, A_RSA_FIELDS },
	[P_RSA_SMALL] = { R_RSA_SMALL, C_WEAK, A_RSA_SMALL },
	[P_RSA_LARGE] = { R_RSA_LARGE, C_UNSUPPORTED, A_RSA_LARGE },
	[P_RSA_E] = { R_RSA_E, C_WEAK, A_RSA_E },
	[P_EC_CURVE] = { R_EC_CURVE, C_UNSUPPORTED, A_EC_CURVE },
	[P_EC_NO_CRV] = { R_EC_CURVE, C_INVALID, A_EC_NO_CRV },
	[P_EC_FIELDS] = { R_EC_FIELDS, C_INVALID, A_EC_FIELDS },
	[P_EC_POINT] = { R_EC_POINT, C_INVALID, A_EC_POINT },
	[P_PEM] = { R_PEM, C_INVALID, A_PEM },
	[P_PEM_EXTRA] = { R_PEM, C_INVALID, A_PEM_EXTRA },
	[P_PEM_LABEL] = { R_PEM, C_UNSUPPORTED, A_PEM_LABEL },
	[P_PEM_TYPE] = { R_PEM_TYPE, C_UNSUPPORTED, A_KTY },
	[P_CERT] = { R_PEM, C_UNSUPPORTED, A_CERT },
};

/* Members only a private (or secret) JWK has. */
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };

/*
 * A public key's numbers once checked: RSA n and e without leading zero
 * bytes, or the P-256 point's x and y, P256_BYTES each.
 */
struct pub {
	enum jwt_alg alg;
	unsigned char *a; /* owned: n or x */
	unsigned char *b; /* owned: e or y */
	size_t alen, blen;
};

static void pub_finish(struct pub *p)
{
	free(p->a);
	free(p->b);
	p->a = p->b = NULL;
}

void jwt_key_destroy(struct jwt_key *key)
{
	if (!key)
		return;
	cjose_jwk_release(key->jwk);
	free(key->owner);
	free(key);
}

enum jwt_alg jwt_key_alg(const struct jwt_key *key)
{
	return key->alg;
}

const char *jwt_key_owner(const struct jwt_key *key)
{
	return key->owner;
}

static void strip_zeros(unsigned char *s, size_t *len)
{
	size_t z = 0;

	while (z < *len && s[z] == 0)
		z++;
	memmove(s, s + z, *len - z);
	*len -= z;
}

/* Strips the leading zero bytes of n and e in @p, then checks the size and the exponent. */
static int rsa_check(struct pub *p, enum problem *ret_problem)
{
	size_t bits;
	uint64_t e = 0;

	strip_zeros(p->a, &p->alen);
	strip_zeros(p->b, &p->blen);
	if (p->alen == 0) {
		*ret_problem = P_RSA_SMALL;
		return -EINVAL;
	}
	bits = (p->alen - 1) * 8;
	for (unsigned c = p->a[0]; c; c >>= 1)
		bits++;
	if (bits < RSA_BITS_MIN) {
		*ret_problem = P_RSA_SMALL;
		return -EINVAL;
	}
	if (bits > RSA_BITS_MAX) {
		*ret_problem = P_RSA_LARGE;
		return -EINVAL;
	}
	/* e = 1 would make every message its own signature. */
	if (p->blen == 0 || p->blen > 8 || !(p->b[p->blen - 1] & 1)) {
		*ret_problem = P_RSA_E;
		return -EINVAL;
	}
	for (size_t i = 0; i < p->blen; i++)
		e = (e << 8) | p->b[i];
	if (e < 3) {
		*ret_problem = P_RSA_E;
		return -EINVAL;
	}
	return 0;
}

/* Whether 32-byte @x, @y are a point on P-256, as OpenSSL decodes it. */
static bool p256_point_valid(const unsigned char *x, const unsigned char *y)
{
	unsigned char pub[1 + 2 * P256_BYTES];
	char group[] = "prime256v1";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)),
		OSSL_PARAM_construct_end(),
	};
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	bool ok = false;

	pub[0] = 0x04; /* uncompressed */
	memcpy(pub + 1, x, P256_BYTES);
	memcpy(pub + 1 + P256_BYTES, y, P256_BYTES);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	ok = check && EVP_PKEY_public_check(check) == 1;
out:
	if (!ok)
		ERR_clear_error();
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static bool private_member(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
		if (strlen(private_members[i]) == len && memcmp(private_members[i], name, len) == 0)
			return true;
	}
	return false;
}

/*
 * Whether JSON text @s[0..@n) has an object member named like a private JWK
 * member, at any depth, read without parsing: a string followed by ':'. This
 * keeps jansson from copying private key material at all; names written with
 * escapes get past it and are caught, and wiped, by jwk_private().
 */
static bool json_names_private(const char *s, size_t n)
{
	size_t i = 0, start, end;

	while (i < n) {
		if (s[i++] != '"')
			continue;
		start = i;
		while (i < n && s[i] != '"')
			i += s[i] == '\\' ? 2 : 1;
		if (i >= n)
			return false;
		end = i++;
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
			i++;
		if (i < n && s[i] == ':' && private_member(s + start, end - start))
			return true;
	}
	return false;
}

/* Zeroes every string under @v, in place. */
static void cleanse(json_t *v)
{
	const char *name;
	json_t *m;
	size_t i;

	if (json_is_string(v)) {
		/* jansson's own copy: writable, though handed out as const. */
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach(v, name, m)
		{
			cleanse(m);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
		{
			cleanse(m);
		}
	}
}

/*
 * Whether the JWK object @doc, or a key of the JWK Set it is, has a private
 * member; if so, every string in @doc is wiped.
 */
static bool jwk_private(json_t *doc)
{
	json_t *keys = json_object_get(doc, "keys"), *k;
	const char *name;
	json_t *m;
	size_t i;
	bool found = false;

	json_object_foreach(doc, name, m)
	{
		found = found || private_member(name, strlen(name));
	}
	if (json_is_array(keys)) {
		json_array_foreach(keys, i, k)
		{
			json_object_foreach(k, name, m)
			{
				found = found || private_member(name, strlen(name));
			}
		}
	}
	if (found)
		cleanse(doc);
	return found;
}

/*
 * The checked public key of a JWK document, for @alg or, when @alg is 0, for
 * the alg its kty implies (RSA: RS256, EC: ES256). Wipes a private key's
 * strings in @doc. Returns 0 and fills @ret_pub (caller finishes it), -EINVAL
 * and the problem, or -ENOMEM.
 */
static int pub_from_jwk(json_t *doc, enum jwt_alg alg, struct pub *ret_pub,
			enum problem *ret_problem)
{
	enum problem problem = P_JWK_JSON;
	struct pub p = { 0 };
	const char *kty;
	json_t *v;
	int r = -EINVAL;

	if (!json_is_object(doc))
		goto out;
	problem = P_JWK_PRIVATE;
	if (jwk_private(doc))
		goto out;
	problem = P_JWK_SET;
	v = json_object_get(doc, "kty");
	if (!v && json_object_get(doc, "keys"))
		goto out;
	problem = P_KTY_MISSING;
	kty = json_string_value(v);
	if (!kty)
		goto out;
	p.alg = strcmp(kty, "RSA") == 0 ? JWT_RS256 : strcmp(kty, "EC") == 0 ? JWT_ES256 : 0;
	problem = alg && p.alg != alg ? P_KTY : P_KTY_OTHER;
	if (!p.alg || (alg && p.alg != alg))
		goto out;
	/* The curve first: a P-384 key with "alg": "ES384" is unsupported before it is odd. */
	v = json_object_get(doc, "crv");
	problem = json_is_string(v) ? P_EC_CURVE : P_EC_NO_CRV;
	if (p.alg == JWT_ES256 &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "P-256") != 0))
		goto out;
	problem = P_JWK_ALG;
	v = json_object_get(doc, "alg");
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), alg_name(p.alg)) != 0))
		goto out;
	problem = P_JWK_USE;
	v = json_object_get(doc, "use");
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0))
		goto out;

	if (p.alg == JWT_RS256) {
		problem = P_RSA_FIELDS;
		r = b64url_decode_json(json_object_get(doc, "n"), &p.a, &p.alen);
		if (r == 0)
			r = b64url_decode_json(json_object_get(doc, "e"), &p.b, &p.blen);
		if (r == 0)
			r = rsa_check(&p, &problem);
	} else {
		problem = P_EC_FIELDS;
		r = b64url_decode_json(json_object_get(doc, "x"), &p.a, &p.alen);
		if (r == 0)
			r = b64url_decode_json(json_object_get(doc, "y"), &p.b, &p.blen);
		if (r == 0 && (p.alen != P256_BYTES || p.blen != P256_BYTES))
			r = -EINVAL;
		if (r == 0 && !p256_point_valid(p.a, p.b)) {
			problem = P_EC_POINT;
			r = -EINVAL;
		}
	}
	if (r < 0)
		goto out;
	*ret_pub = p;
	p = (struct pub){ 0 }; /* ownership moved to the caller */
out:
	if (r == -EINVAL)
		*ret_problem = problem;
	pub_finish(&p);
	return r;
}

/* pub_from_jwk on JWK text @s[0..@n), which need not be NUL-terminated. */
static int pub_from_jwk_text(const char *s, size_t n, enum jwt_alg alg, struct pub *ret_pub,
			     enum problem *ret_problem)
{
	json_t *doc;
	int r;

	if (json_names_private(s, n)) {
		*ret_problem = P_JWK_PRIVATE;
		return -EINVAL;
	}
	doc = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
	r = pub_from_jwk(doc, alg, ret_pub, ret_problem);
	json_decref(doc);
	return r;
}

/* @bn as exactly @len big-endian bytes into a new buffer; NULL if it does not fit. */
static unsigned char *bn_bytes(const BIGNUM *bn, size_t len)
{
	unsigned char *out = malloc(len ? len : 1);

	if (out && BN_bn2binpad(bn, out, (int)len) < 0) {
		free(out);
		out = NULL;
	}
	return out;
}

/*
 * The checked public key of an OpenSSL key (public or private): RSA, or EC
 * on P-256. Same returns as pub_from_jwk.
 */
static int pub_from_pkey(EVP_PKEY *pkey, struct pub *ret_pub, enum problem *ret_problem)
{
	enum problem problem = P_PEM_TYPE;
	struct pub p = { 0 };
	BIGNUM *a = NULL, *b = NULL;
	char group[64];
	int r = -EINVAL;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		p.alg = JWT_RS256;
		if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &b))
			goto out;
		p.alen = (size_t)BN_num_bytes(a);
		p.blen = (size_t)BN_num_bytes(b);
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		p.alg = JWT_ES256;
		problem = P_EC_CURVE;
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL) ||
		    strcmp(group, "prime256v1") != 0)
			goto out;
		problem = P_EC_POINT;
		if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b) ||
		    BN_num_bytes(a) > P256_BYTES || BN_num_bytes(b) > P256_BYTES)
			goto out;
		p.alen = p.blen = P256_BYTES;
	} else {
		goto out;
	}
	r = -ENOMEM;
	p.a = bn_bytes(a, p.alen);
	p.b = bn_bytes(b, p.blen);
	if (!p.a || !p.b)
		goto out;
	r = p.alg == JWT_RS256 ? rsa_check(&p, &problem) : 0;
	if (r == 0 && p.alg == JWT_ES256 && !p256_point_valid(p.a, p.b)) {
		problem = P_EC_POINT;
		r = -EINVAL;
	}
	if (r < 0)
		goto out;
	*ret_pub = p;
	p = (struct pub){ 0 }; /* ownership moved to the caller */
out:
	if (r == -EINVAL)
		*ret_problem = problem;
	pub_finish(&p);
	BN_free(a);
	BN_free(b);
	return r;
}

/* A verifying key for checked @p. Returns 0, or -ENOMEM. */
static int key_from_pub(const struct pub *p, const char *owner_sub, struct jwt_key **ret_key)
{
	struct jwt_key *key = calloc(1, sizeof(*key));
	cjose_err err;

	if (!key)
		goto fail;
	if (owner_sub) {
		key->owner = strdup(owner_sub);
		if (!key->owner)
			goto fail;
	}
	if (p->alg == JWT_RS256) {
		cjose_jwk_rsa_keyspec spec = {
			.n = p->a, .nlen = p->alen, .e = p->b, .elen = p->blen
		};

		key->jwk = cjose_jwk_create_RSA_spec(&spec, &err);
		key->sig_len = p->alen;
	} else {
		cjose_jwk_ec_keyspec spec = { .crv = CJOSE_JWK_EC_P_256,
					      .x = p->a,
					      .xlen = p->alen,
					      .y = p->b,
					      .ylen = p->blen };

		key->jwk = cjose_jwk_create_EC_spec(&spec, &err);
		key->sig_len = 2 * P256_BYTES;
	}
	if (!key->jwk)
		goto fail;
	key->alg = p->alg;
	*ret_key = key;
	return 0;
fail:
	jwt_key_destroy(key);
	return -ENOMEM;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool all_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_space(s[i]))
			return false;
	}
	return true;
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);

	return n >= plen && memcmp(s, prefix, plen) == 0;
}

/*
 * Whether @text[0..@len) has a PEM armor line, "-----BEGIN <label>-----" or
 * "-----END <label>-----", whose label has PRIVATE in it: PKCS#8 (plain or
 * encrypted), RSA, EC, DSA, OpenSSH, PGP ... private keys.
 */
static bool pem_private(const char *text, size_t len)
{
	static const char *const armors[] = { PEM_BEGIN, PEM_END };
	const char *end = text + len;

	for (size_t a = 0; a < sizeof(armors) / sizeof(armors[0]); a++) {
		size_t alen = strlen(armors[a]);
		const char *p = text;

		while ((p = memmem(p, (size_t)(end - p), armors[a], alen))) {
			size_t n = 0;

			p += alen;
			while (p + n < end && n < PEM_LABEL_MAX && p[n] != '-' && p[n] != '\n')
				n++;
			if (memmem(p, n, "PRIVATE", 7))
				return true;
		}
	}
	return false;
}

int jwt_key_from_jwk(const char *jwk_json, enum jwt_alg alg, const char *owner_sub,
		     struct jwt_key **ret_key, const char **ret_reason)
{
	enum problem problem = P_ALG;
	struct pub p = { 0 };
	int r = -EINVAL;

	if (alg != JWT_RS256 && alg != JWT_ES256)
		goto out;
	problem = P_JWK_JSON;
	if (!jwk_json)
		goto out;
	r = pub_from_jwk_text(jwk_json, strlen(jwk_json), alg, &p, &problem);
	if (r == 0)
		r = key_from_pub(&p, owner_sub, ret_key);
out:
	if (r == -EINVAL)
		*ret_reason = problems[problem].reason;
	pub_finish(&p);
	return r;
}

int jwt_key_from_pem(const char *pem, size_t len, const char *owner_sub, struct jwt_key **ret_key,
		     const char **ret_reason)
{
	enum problem problem = P_PEM;
	struct pub p = { 0 };
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int r = -EINVAL;

	if (!pem || len == 0 || len > PEM_MAX)
		goto out;
	if (pem_private(pem, len)) {
		problem = P_PEM_PRIVATE;
		goto out;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		r = -ENOMEM;
		goto out;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!pkey)
		goto out;
	r = pub_from_pkey(pkey, &p, &problem);
	if (r == 0)
		r = key_from_pub(&p, owner_sub, ret_key);
out:
	if (r == -EINVAL)
		*ret_reason = problems[problem].reason;
	/* Failed decodes leave errors queued; other OpenSSL users of this thread must not see them.
	 */
	if (r < 0)
		ERR_clear_error();
	pub_finish(&p);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

/* -- key import --------------------------------------------------------- */

/*
 * The checked public key of one PEM block, @s[0..@n) starting with
 * "-----BEGIN ": SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC
 * KEY"), nothing but whitespace after it. Same returns as pub_from_jwk.
 */
static int pub_from_pem_text(const char *s, size_t n, struct pub *ret_pub,
			     enum problem *ret_problem)
{
	const char *label = s + strlen(PEM_BEGIN), *end = s + n, *dashes, *rest;
	enum problem problem = P_PEM;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	const unsigned char *d;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	long der_len = 0, rest_len;
	size_t llen;
	bool pkcs1;
	int r = -EINVAL;

	dashes = memmem(label, (size_t)(end - label), "-----", 5);
	if (!dashes || memchr(label, '\n', (size_t)(dashes - label)))
		goto out;
	llen = (size_t)(dashes - label);
	pkcs1 = llen == 14 && memcmp(label, "RSA PUBLIC KEY", 14) == 0;
	if (memmem(label, llen, "CERTIFICATE", 11))
		problem = P_CERT;
	else if (!pkcs1 && !(llen == 10 && memcmp(label, "PUBLIC KEY", 10) == 0))
		problem = P_PEM_LABEL;
	else if (memmem(dashes, (size_t)(end - dashes), PEM_BEGIN, strlen(PEM_BEGIN)))
		problem = P_PEM_EXTRA;
	if (problem != P_PEM)
		goto out;

	bio = BIO_new_mem_buf(s, (int)n);
	if (!bio) {
		r = -ENOMEM;
		goto out;
	}
	/* Headers (Proc-Type, DEK-Info) belong to encrypted private keys only. */
	if (!PEM_read_bio(bio, &name, &header, &der, &der_len) || header[0])
		goto out;
	rest_len = BIO_get_mem_data(bio, &rest);
	if (rest_len > 0 && !all_space(rest, (size_t)rest_len)) {
		problem = P_PEM_EXTRA;
		goto out;
	}
	d = der;
	pkey = pkcs1 ? d2i_PublicKey(EVP_PKEY_RSA, NULL, &d, der_len)
		     : d2i_PUBKEY(NULL, &d, der_len);
	if (!pkey || d != der + der_len)
		goto out;
	r = pub_from_pkey(pkey, ret_pub, &problem);
out:
	if (r == -EINVAL)
		*ret_problem = problem;
	EVP_PKEY_free(pkey);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	return r;
}

/*
 * The canonical public JWK of checked @p (new string, caller frees) and its
 * RFC 7638 thumbprint. Returns 0, -ENOMEM or -EIO.
 */
static int pub_canonical(const struct pub *p, char **ret_jwk, char ret_kid[JWT_THUMBPRINT_LEN + 1])
{
	unsigned char digest[32];
	char *a = b64url_encode_new(p->a, p->alen), *b = b64url_encode_new(p->b, p->blen);
	char *jwk = NULL, *tp = NULL;
	int r = -ENOMEM, n1, n2;

	if (!a || !b)
		goto out;
	/* RFC 7638 3.2: the required members only, in lexicographic order, no whitespace. */
	if (p->alg == JWT_RS256) {
		n1 = asprintf(&tp, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", b, a);
		n2 = asprintf(&jwk,
			      "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\",\"alg\":\"RS256\","
			      "\"use\":\"sig\"}",
			      a, b);
	} else {
		n1 = asprintf(&tp, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
			      a, b);
		n2 = asprintf(&jwk,
			      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
			      "\"alg\":\"ES256\",\"use\":\"sig\"}",
			      a, b);
	}
	/* asprintf leaves its pointer undefined on failure. */
	if (n1 < 0)
		tp = NULL;
	if (n2 < 0)
		jwk = NULL;
	if (!tp || !jwk)
		goto out;
	r = -EIO;
	if (!EVP_Digest(tp, (size_t)n1, digest, NULL, EVP_sha256(), NULL))
		goto out;
	b64url_encode(digest, sizeof(digest), ret_kid);
	*ret_jwk = jwk;
	jwk = NULL; /* ownership moved to the caller */
	r = 0;
out:
	free(a);
	free(b);
	free(tp);
	free(jwk);
	return r;
}

int jwt_key_import(const char *text, size_t len, struct jwt_key_import *ret_key,
		   const char **ret_code, const char **ret_reason)
{
	enum problem problem = P_EMPTY;
	char kid[JWT_THUMBPRINT_LEN + 1];
	struct pub p = { 0 };
	char *jwk = NULL;
	size_t i = 0;
	int r = -EINVAL;

	if (len > IMPORT_MAX) {
		problem = P_TOO_LONG;
		goto out;
	}
	if (!text)
		goto out;
	/* Before anything else reads or copies it. */
	if (pem_private(text, len)) {
		problem = P_PEM_PRIVATE;
		goto out;
	}
	while (i < len && is_space(text[i]))
		i++;
	if (i == len)
		goto out;
	if (text[i] == '{' || text[i] == '[')
		r = pub_from_jwk_text(text + i, len - i, 0, &p, &problem);
	else if (starts_with(text + i, len - i, PEM_BEGIN))
		r = pub_from_pem_text(text + i, len - i, &p, &problem);
	else if (starts_with(text + i, len - i, "ssh-") ||
		 starts_with(text + i, len - i, "ecdsa-sha2-"))
		problem = P_SSH;
	else
		problem = P_FORMAT;
	if (r < 0)
		goto out;
	r = pub_canonical(&p, &jwk, kid);
	if (r < 0)
		goto out;
	ret_key->alg = p.alg;
	memcpy(ret_key->kid, kid, sizeof(kid));
	ret_key->public_jwk = jwk; /* ownership moved to the caller */
out:
	if (r == -EINVAL) {
		*ret_code = problems[problem].code;
		*ret_reason = problems[problem].advice;
	}
	if (r < 0)
		ERR_clear_error();
	pub_finish(&p);
	return r;
}

void jwt_key_import_finish(struct jwt_key_import *key)
{
	if (!key)
		return;
	free(key->public_jwk);
	key->public_jwk = NULL;
}

/* -- tokens -------------------------------------------------------------- */

/* Printable ASCII without space: what kid, sub and jti may hold. */
static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	}
	return true;
}

/* The header checks of jwt_parse on the decoded header @h[0..@n). */
static enum jwt_reason parse_header(const unsigned char *h, size_t n, struct jwt_token *t)
{
	enum jwt_reason reason = JWT_BAD_HEADER;
	json_t *doc, *v;
	const char *s;
	size_t slen;

	doc = json_loadb((const char *)h, n, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc))
		goto out;
	if (json_object_get(doc, "crit"))
		goto out;

	reason = JWT_ALG_NOT_ALLOWED;
	v = json_object_get(doc, "alg");
	if (!json_is_string(v))
		goto out;
	s = json_string_value(v);
	if (json_string_length(v) == 5 && strcmp(s, "RS256") == 0)
		t->alg = JWT_RS256;
	else if (json_string_length(v) == 5 && strcmp(s, "ES256") == 0)
		t->alg = JWT_ES256;
	else
		goto out;

	reason = JWT_NO_KID;
	v = json_object_get(doc, "kid");
	if (!json_is_string(v))
		goto out;
	slen = json_string_length(v);
	if (slen == 0 || slen > JWT_KID_MAX || !printable(json_string_value(v), slen))
		goto out;
	memcpy(t->kid, json_string_value(v), slen);
	t->kid[slen] = '\0';

	reason = JWT_BAD_HEADER;
	v = json_object_get(doc, "typ");
	if (v) {
		if (!json_is_string(v))
			goto out;
		s = json_string_value(v);
		slen = json_string_length(v);
		if (!(slen == 3 && strcasecmp(s, "JWT") == 0) &&
		    !(slen == 6 && strcasecmp(s, "at+jwt") == 0))
			goto out;
	}
	reason = JWT_OK;
out:
	json_decref(doc);
	return reason;
}

int jwt_parse(const char *token, size_t len, struct jwt_token **ret_token,
	      enum jwt_reason *ret_reason)
{
	enum jwt_reason reason = JWT_MALFORMED;
	struct jwt_token *t = NULL;
	const char *dot1, *dot2;
	unsigned char *header = NULL;
	size_t hlen;
	int r = -EINVAL;

	if (!token)
		goto out;
	if (len > JWT_TOKEN_MAX) {
		reason = JWT_TOO_LONG;
		goto out;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2)
		goto out;
	/* Segments are checked character by character: a third '.' fails there. */
	if (!b64url_valid(token, (size_t)(dot1 - token)) ||
	    !b64url_valid(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
	    !b64url_valid(dot2 + 1, (size_t)(token + len - dot2 - 1)))
		goto out;

	t = calloc(1, sizeof(*t));
	hlen = b64url_decoded_len((size_t)(dot1 - token));
	header = malloc(hlen);
	if (!t || !header) {
		r = -ENOMEM;
		goto out;
	}
	b64url_decode(token, (size_t)(dot1 - token), header);
	reason = parse_header(header, hlen, t);
	if (reason != JWT_OK)
		goto out;

	t->text = malloc(len + 1);
	if (!t->text) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(t->text, token, len);
	t->text[len] = '\0';
	t->len = len;
	t->sig_off = (size_t)(dot2 + 1 - token);
	*ret_token = t;
	t = NULL; /* ownership moved to the caller */
	r = 0;
out:
	if (r == -EINVAL)
		*ret_reason = reason;
	free(header);
	jwt_token_destroy(t);
	return r;
}

const char *jwt_token_kid(const struct jwt_token *t)
{
	return t->kid;
}

enum jwt_alg jwt_token_alg(const struct jwt_token *t)
{
	return t->alg;
}

void jwt_token_destroy(struct jwt_token *t)
{
	if (!t)
		return;
	free(t->text);
	free(t);
}

/* -- claims -------------------------------------------------------------- */

unsigned jwt_scope_parse(const char *scope_str)
{
	static const struct {
		const char *word;
		unsigned bit;
	} scopes[] = {
		{ "dns:read", JWT_SCOPE_DNS_READ },
		{ "dns:write", JWT_SCOPE_DNS_WRITE },
		{ "domains:write", JWT_SCOPE_DOMAINS_WRITE },
	};
	unsigned bits = 0;
	const char *p = scope_str;

	if (!p)
		return 0;
	while (*p) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
			if (strlen(scopes[i].word) == n && memcmp(p, scopes[i].word, n) == 0)
				bits |= scopes[i].bit;
		}
		p += n;
	}
	return bits;
}

/*
 * A NumericDate claim: 0 and the value in @ret, -ENOENT when absent, -EINVAL
 * when not an integer from 0 to TIME_MAX.
 */
static int claim_time(const json_t *claims, const char *name, long long *ret)
{
	const json_t *v = json_object_get(claims, name);
	json_int_t i;

	if (!v)
		return -ENOENT;
	if (!json_is_integer(v))
		return -EINVAL;
	i = json_integer_value(v);
	if (i < 0 || i > TIME_MAX)
		return -EINVAL;
	*ret = (long long)i;
	return 0;
}

/* A string claim of 1..@max printable bytes copied into @out (@max + 1 bytes). */
static bool claim_word(const json_t *claims, const char *name, size_t max, char *out)
{
	const json_t *v = json_object_get(claims, name);
	size_t n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	if (n == 0 || n > max || !printable(json_string_value(v), n))
		return false;
	memcpy(out, json_string_value(v), n);
	out[n] = '\0';
	return true;
}

static bool aud_is(const json_t *v, const char *audience, size_t alen)
{
	return json_is_string(v) && json_string_length(v) == alen &&
	       memcmp(json_string_value(v), audience, alen) == 0;
}

static bool audience_ok(const json_t *claims, const char *audience)
{
	const json_t *aud = json_object_get(claims, "aud");
	size_t alen, i;
	json_t *v;

	if (!audience)
		return false;
	alen = strlen(audience);
	if (json_is_string(aud))
		return aud_is(aud, audience, alen);
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
	{
		if (!json_is_string(v))
			return false;
	}
	json_array_foreach(aud, i, v)
	{
		if (aud_is(v, audience, alen))
			return true;
	}
	return false;
}

static long long clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static enum jwt_reason check_claims(const json_t *claims, const struct jwt_key *key,
				    const struct jwt_policy *pol, long long now,
				    struct jwt_claims *c)
{
	long long skew = clamp(pol->skew_s, 0, POLICY_MAX);
	long long max_life = pol->max_lifetime_s > 0 ? pol->max_lifetime_s : JWT_LIFETIME_DEFAULT;
	const json_t *scope;
	int r;

	max_life = clamp(max_life, 0, POLICY_MAX);
	/* Keeps now +- skew far from overflow; real clocks are nowhere near. */
	now = clamp(now, -POLICY_MAX, TIME_MAX + POLICY_MAX);

	if (!json_is_object(claims))
		return JWT_BAD_CLAIMS;

	r = claim_time(claims, "exp", &c->exp);
	if (r == -ENOENT)
		return JWT_NO_EXP;
	if (r < 0)
		return JWT_BAD_CLAIMS;
	if (now > c->exp + skew)
		return JWT_EXPIRED;

	c->nbf = 0;
	r = claim_time(claims, "nbf", &c->nbf);
	if (r == -EINVAL)
		return JWT_BAD_CLAIMS;
	if (r == 0 && now + skew < c->nbf)
		return JWT_NOT_YET_VALID;

	if (claim_time(claims, "iat", &c->iat) < 0)
		return JWT_BAD_CLAIMS;
	if (c->iat > now + skew)
		return JWT_IAT_FUTURE;
	if (c->exp < c->iat || c->exp - c->iat > max_life)
		return JWT_LIFETIME;

	if (!audience_ok(claims, pol->audience))
		return JWT_BAD_AUDIENCE;

	if (!claim_word(claims, "sub", JWT_SUB_MAX, c->sub))
		return JWT_BAD_SUBJECT;
	if (key->owner && strcmp(c->sub, key->owner) != 0)
		return JWT_BAD_SUBJECT;

	if (!claim_word(claims, "jti", JWT_JTI_MAX, c->jti))
		return JWT_NO_JTI;

	c->scopes = 0;
	scope = json_object_get(claims, "scope");
	if (scope) {
		if (!json_is_string(scope))
			return JWT_BAD_CLAIMS;
		c->scopes = jwt_scope_parse(json_string_value(scope));
	}
	if ((pol->required_scopes & c->scopes) != pol->required_scopes)
		return JWT_SCOPE_MISSING;
	return JWT_OK;
}

enum jwt_reason jwt_verify(const struct jwt_token *t, const struct jwt_key *key,
			   const struct jwt_policy *pol, long long now,
			   struct jwt_claims *ret_claims)
{
	enum jwt_reason reason = JWT_BAD_SIGNATURE;
	struct jwt_claims c = { 0 };
	cjose_jws_t *jws = NULL;
	uint8_t *payload = NULL;
	size_t payload_len = 0;
	json_t *claims = NULL;
	cjose_err err;

	if (t->alg != key->alg)
		return JWT_ALG_KEY_MISMATCH;
	/* cjose reads an ES256 signature as R||S of the curve's size without checking. */
	if (b64url_decoded_len(t->len - t->sig_off) != key->sig_len)
		return JWT_BAD_SIGNATURE;

	jws = cjose_jws_import(t->text, t->len, &err);
	if (!jws || !cjose_jws_verify(jws, key->jwk, &err))
		goto out;

	/* Nothing below is trusted before this point. */
	reason = JWT_BAD_CLAIMS;
	if (!cjose_jws_get_plaintext(jws, &payload, &payload_len, &err))
		goto out;
	claims = json_loadb((const char *)payload, payload_len, JSON_REJECT_DUPLICATES, NULL);
	reason = check_claims(claims, key, pol, now, &c);
	if (reason == JWT_OK)
		*ret_claims = c;
out:
	/* A failed verification leaves OpenSSL errors queued: not for the next user of this thread.
	 */
	if (reason == JWT_BAD_SIGNATURE)
		ERR_clear_error();
	json_decref(claims);
	cjose_jws_release(jws);
	return reason;
}

/* -- signer -------------------------------------------------------------- */

#define R_SIGNER_PEM                                                                               \
	"not a PEM private key: give an unencrypted PKCS#8 (-----BEGIN PRIVATE KEY-----), RSA or " \
	"EC private key"
#define R_SIGNER_KID "kid must be 1 to 128 printable ASCII characters without spaces"

struct jwt_signer {
	enum jwt_alg alg;
	EVP_PKEY *pkey;    /* owned: the private key */
	char *header;      /* owned: base64url of {"alg":..,"kid":..,"typ":"JWT"} */
	size_t header_len; /* strlen(header) */
	size_t sig_len;    /* bytes of a signature: the modulus size, or 64 for ES256 */
};

/* An encrypted PEM is refused, rather than OpenSSL asking for its passphrase on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

void jwt_signer_destroy(struct jwt_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->pkey);
	free(s->header);
	free(s);
}

enum jwt_alg jwt_signer_alg(const struct jwt_signer *s)
{
	return s->alg;
}

int jwt_signer_from_pem(const char *pem, size_t len, const char *kid,
			struct jwt_signer **ret_signer, const char **ret_reason)
{
	const char *reason = R_SIGNER_KID;
	enum problem problem = P_PEM_TYPE;
	struct jwt_signer *s = NULL;
	struct pub p = { 0 };
	EVP_PKEY *pkey = NULL;
	json_t *header = NULL;
	char *header_json = NULL;
	BIO *bio = NULL;
	int r = -EINVAL;

	if (!kid || kid[0] == '\0' || strlen(kid) > JWT_KID_MAX || !printable(kid, strlen(kid)))
		goto out;
	reason = R_SIGNER_PEM;
	if (!pem || len == 0 || len > PEM_MAX)
		goto out;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		r = -ENOMEM;
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!pkey)
		goto out;
	/* The checks of a verifying key, on the public half. */
	r = pub_from_pkey(pkey, &p, &problem);
	if (r == -EINVAL)
		reason = problems[problem].reason;
	if (r < 0)
		goto out;

	r = -ENOMEM;
	s = calloc(1, sizeof(*s));
	header = json_pack("{s:s, s:s, s:s}", "alg", alg_name(p.alg), "kid", kid, "typ", "JWT");
	header_json = header ? json_dumps(header, JSON_COMPACT) : NULL;
	if (!s || !header_json)
		goto out;
	s->header = b64url_encode_new((const unsigned char *)header_json, strlen(header_json));
	if (!s->header)
		goto out;
	s->header_len = strlen(s->header);
	s->alg = p.alg;
	s->sig_len = p.alg == JWT_RS256 ? p.alen : 2 * P256_BYTES;
	s->pkey = pkey;
	pkey = NULL;
	*ret_signer = s;
	s = NULL; /* ownership moved to the caller */
	r = 0;
out:
	if (r == -EINVAL)
		*ret_reason = reason;
	if (r < 0)
		ERR_clear_error();
	jwt_signer_destroy(s);
	pub_finish(&p);
	free(header_json);
	json_decref(header);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

/* DER ECDSA-Sig-Value to the JWS form, R||S of P256_BYTES each. */
static int ecdsa_raw(const unsigned char *der, size_t der_len, unsigned char *raw)
{
	const unsigned char *d = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &d, (long)der_len);
	int r = -EIO;

	if (sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, P256_BYTES) == P256_BYTES &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + P256_BYTES, P256_BYTES) == P256_BYTES)
		r = 0;
	ECDSA_SIG_free(sig);
	return r;
}

int jwt_sign(const struct jwt_signer *s, const json_t *claims, char **ret_token)
{
	unsigned char raw[2 * P256_BYTES], *der = NULL;
	const unsigned char *sig;
	size_t payload_len, input_len, len, der_len = 0;
	char *payload = NULL, *token = NULL;
	EVP_MD_CTX *md = NULL;
	int r = -EINVAL;

	if (!json_is_object(claims))
		goto out;
	r = -ENOMEM;
	payload = json_dumps(claims, JSON_COMPACT);
	if (!payload)
		goto out;
	payload_len = strlen(payload);
	input_len = s->header_len + 1 + b64url_encoded_len(payload_len);
	len = input_len + 1 + b64url_encoded_len(s->sig_len);
	/* jwt_parse would refuse it. */
	if (len > JWT_TOKEN_MAX) {
		r = -EINVAL;
		goto out;
	}
	token = malloc(len + 1);
	md = EVP_MD_CTX_new();
	if (!token || !md)
		goto out;
	memcpy(token, s->header, s->header_len);
	token[s->header_len] = '.';
	b64url_encode((const unsigned char *)payload, payload_len, token + s->header_len + 1);

	r = -EIO;
	/* RSA keys default to PKCS#1 v1.5 padding: RS256. */
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, s->pkey) <= 0 ||
	    EVP_DigestSign(md, NULL, &der_len, (const unsigned char *)token, input_len) <= 0)
		goto out;
	der = malloc(der_len);
	if (!der) {
		r = -ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(md, der, &der_len, (const unsigned char *)token, input_len) <= 0)
		goto out;
	if (s->alg == JWT_ES256) {
		if (ecdsa_raw(der, der_len, raw) < 0)
			goto out;
		sig = raw;
	} else {
		if (der_len != s->sig_len)
			goto out;
		sig = der;
	}
	token[input_len] = '.';
	b64url_encode(sig, s->sig_len, token + input_len + 1);
	*ret_token = token;
	token = NULL; /* ownership moved to the caller */
	r = 0;
out:
	if (r < 0)
		ERR_clear_error();
	EVP_MD_CTX_free(md);
	free(der);
	free(token);
	free(payload);
	return r;
}

int jwt_pem_read(const char *path, char *buf, size_t size, size_t *ret_len)
{
	FILE *f = fopen(path, "r");
	size_t n;
	int r;

	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	/* a full buffer fits only if nothing follows */
	r = ferror(f) ? -EIO : n == size - 1 && fgetc(f) != EOF ? -EFBIG : 0;
	fclose(f);
	buf[n] = '\0';
	if (r == 0)
		*ret_len = n;
	return r;
}
