#include "shared/jwt.h"

#include <cjose/cjose.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdint.h>
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
 * table tells it as the loaders' reason (jwt_key_from_jwk, jwt_key_from_pem).
 */
enum problem {
	P_ALG,
	P_JWK_JSON,
	P_JWK_PRIVATE,
	P_PEM_PRIVATE,
	P_KTY,
	P_JWK_ALG,
	P_JWK_USE,
	P_RSA_FIELDS,
	P_RSA_SMALL,
	P_RSA_LARGE,
	P_RSA_E,
	P_EC_CURVE,
	P_EC_FIELDS,
	P_EC_POINT,
	P_PEM,
	P_PEM_TYPE,
};

static const struct {
	const char *reason; /* the loaders' */
} problems[] = {
	[P_ALG] = { R_ALG },
	[P_JWK_JSON] = { R_JWK_JSON },
	[P_JWK_PRIVATE] = { R_PRIVATE },
	[P_PEM_PRIVATE] = { R_PEM_PRIVATE },
	[P_KTY] = { R_KTY },
	[P_JWK_ALG] = { R_JWK_ALG },
	[P_JWK_USE] = { R_JWK_USE },
	[P_RSA_FIELDS] = { R_RSA_FIELDS },
	[P_RSA_SMALL] = { R_RSA_SMALL },
	[P_RSA_LARGE] = { R_RSA_LARGE },
	[P_RSA_E] = { R_RSA_E },
	[P_EC_CURVE] = { R_EC_CURVE },
	[P_EC_FIELDS] = { R_EC_FIELDS },
	[P_EC_POINT] = { R_EC_POINT },
	[P_PEM] = { R_PEM },
	[P_PEM_TYPE] = { R_PEM_TYPE },
};

/* Members only a private (or secret) JWK has. */
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi" };

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

/*
 * The checked public key of a JWK document for @alg. Returns 0 and fills
 * @ret_pub (caller finishes it), -EINVAL and the problem, or -ENOMEM.
 */
static int pub_from_jwk(const json_t *doc, enum jwt_alg alg, struct pub *ret_pub,
			enum problem *ret_problem)
{
	enum problem problem = P_JWK_JSON;
	struct pub p = { .alg = alg };
	const char *kty;
	json_t *v;
	int r = -EINVAL;

	if (!json_is_object(doc))
		goto out;
	problem = P_JWK_PRIVATE;
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
		if (json_object_get(doc, private_members[i]))
			goto out;
	}
	problem = P_KTY;
	kty = json_string_value(json_object_get(doc, "kty"));
	if (!kty || strcmp(kty, alg == JWT_RS256 ? "RSA" : "EC") != 0)
		goto out;
	problem = P_JWK_ALG;
	v = json_object_get(doc, "alg");
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), alg_name(alg)) != 0))
		goto out;
	problem = P_JWK_USE;
	v = json_object_get(doc, "use");
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0))
		goto out;

	if (alg == JWT_RS256) {
		problem = P_RSA_FIELDS;
		r = b64url_decode_json(json_object_get(doc, "n"), &p.a, &p.alen);
		if (r == 0)
			r = b64url_decode_json(json_object_get(doc, "e"), &p.b, &p.blen);
		if (r == 0)
			r = rsa_check(&p, &problem);
	} else {
		problem = P_EC_CURVE;
		v = json_object_get(doc, "crv");
		if (!json_is_string(v) || strcmp(json_string_value(v), "P-256") != 0)
			goto out;
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

int jwt_key_from_jwk(const char *jwk_json, enum jwt_alg alg, const char *owner_sub,
		     struct jwt_key **ret_key, const char **ret_reason)
{
	enum problem problem = P_ALG;
	struct pub p = { 0 };
	json_t *doc = NULL;
	int r = -EINVAL;

	if (alg != JWT_RS256 && alg != JWT_ES256)
		goto out;
	doc = jwk_json ? json_loads(jwk_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
	r = pub_from_jwk(doc, alg, &p, &problem);
	if (r == 0)
		r = key_from_pub(&p, owner_sub, ret_key);
out:
	if (r == -EINVAL)
		*ret_reason = problems[problem].reason;
	pub_finish(&p);
	json_decref(doc);
	return r;
}

int jwt_key_from_pem(const char *pem, size_t len, const char *owner_sub, struct jwt_key **ret_key,
		     const char **ret_reason)
{
	static const char private_tag[] = "PRIVATE KEY-----";
	enum problem problem = P_PEM;
	struct pub p = { 0 };
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int r = -EINVAL;

	if (!pem || len == 0 || len > PEM_MAX)
		goto out;
	if (memmem(pem, len, private_tag, sizeof(private_tag) - 1)) {
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
