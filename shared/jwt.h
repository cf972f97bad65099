#pragma once

/*
 * JWT verification for ddns-api: compact JWS tokens signed with RS256 or
 * ES256 by a key the platform knows (a user's uploaded public JWK or the
 * platform's own public key), and the claims policy of the API.
 *
 * Two steps, so that the cheap, key-independent checks run before any key
 * lookup:
 *   1. jwt_parse(): size, shape, base64url, header (alg, kid, typ, crit);
 *   2. jwt_verify(): alg against the key, the signature (cjose), and only then
 *      the claims (exp, nbf, iat, lifetime, aud, sub, jti, scope).
 *
 * Every failure has a stable reason (enum jwt_reason); the API maps several
 * of them to one public answer. Reasons never contain token contents. This
 * module does no I/O and no logging; the time is passed in.
 *
 * Also here, for the user service: jwt_key_import, which turns an uploaded
 * public key (JWK or PEM) into the canonical JWK and kid that are stored, and
 * refuses private, weak, unsupported and malformed keys with a code; and
 * jwt_signer/jwt_sign, which sign the platform's own tokens (RS256 or ES256)
 * with OpenSSL.
 *
 * Rules beyond RFC 7519 / RFC 8725:
 *   - only RS256 and ES256; "none", HS* and anything else are refused at
 *     parse time, and the header alg must equal the key's alg;
 *   - base64url strictly: alphabet A-Z a-z 0-9 - _, no padding, canonical
 *     (unused trailing bits zero);
 *   - header and payload are JSON objects without duplicate keys;
 *   - exp, iat and nbf are JSON integers from 0 to 253402300799 (year 9999);
 *   - kid (1..128 bytes), sub (1..64) and jti (1..128) are printable ASCII
 *     without spaces, since they end up in database keys, Redis keys and logs.
 */

#include <jansson.h>
#include <stddef.h>

enum jwt_alg {
	JWT_RS256 = 1,
	JWT_ES256 = 2,
};

/* Longer tokens are rejected before parsing. */
#define JWT_TOKEN_MAX 8192
/* Longest "kid" accepted. */
#define JWT_KID_MAX 128
#define JWT_SUB_MAX 64
#define JWT_JTI_MAX 128
/* Defaults for struct jwt_policy. */
#define JWT_LIFETIME_DEFAULT 300
#define JWT_SKEW_DEFAULT     30

/* "dns:read", "dns:write", "domains:write"; unknown scope words are ignored. */
enum jwt_scope {
	JWT_SCOPE_DNS_READ = 1 << 0,
	JWT_SCOPE_DNS_WRITE = 1 << 1,
	JWT_SCOPE_DOMAINS_WRITE = 1 << 2,
};

/*
 * Stable failure reasons: the verifier tells them apart (for tests and logs),
 * the API maps several to one public answer.
 */
enum jwt_reason {
	JWT_OK = 0,
	JWT_MALFORMED,        /* not three non-empty strict base64url segments */
	JWT_TOO_LONG,         /* over JWT_TOKEN_MAX bytes */
	JWT_BAD_HEADER,       /* header not a JSON object, duplicate keys, crit, bad typ */
	JWT_ALG_NOT_ALLOWED,  /* alg missing or other than RS256/ES256 */
	JWT_ALG_KEY_MISMATCH, /* header alg is not the key's alg */
	JWT_NO_KID,           /* kid missing, not a string, empty or too long */
	JWT_BAD_SIGNATURE,
	JWT_BAD_CLAIMS, /* payload not a JSON object, wrong claim types, no iat */
	JWT_NO_EXP,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,
	JWT_IAT_FUTURE,
	JWT_LIFETIME, /* exp - iat over the policy's maximum, or exp before iat */
	JWT_BAD_AUDIENCE,
	JWT_BAD_SUBJECT,
	JWT_NO_JTI,
	JWT_KEY_UNKNOWN, /* for callers: no key with this kid */
	JWT_KEY_REVOKED, /* for callers */
	JWT_JTI_REVOKED, /* for callers */
	JWT_SCOPE_MISSING,
};

/* "ok", "expired", "bad_signature", ...: for logs; "unknown" for other values. */
const char *jwt_reason_name(enum jwt_reason r);

/* A verified-usable public key: alg, cjose JWK (owned), owner subject (owned copy). */
struct jwt_key;

/*
 * From a public JWK (JSON text) as stored in api_keys.public_jwk, for @alg.
 * Rejects private keys (any of d, p, q, dp, dq, qi, oth, k present), RSA
 * below 2048 bits (or above 16384, or with an exponent below 3 or even), EC
 * curves other than P-256 and points not on the curve, kty not matching @alg (RSA for
 * RS256, EC for ES256), "alg" or "use" members contradicting @alg or
 * signatures, and malformed input.
 * @owner_sub: the subject tokens verified with this key must carry (copied);
 * NULL accepts any subject.
 * Returns 0 and a new key in @ret_key (caller owns, jwt_key_destroy), or
 * -EINVAL with a static user-facing reason in @ret_reason, or -ENOMEM.
 */
int jwt_key_from_jwk(const char *jwk_json, enum jwt_alg alg, const char *owner_sub,
		     struct jwt_key **ret_key, const char **ret_reason);

/*
 * Reads the PEM file @path (a key from configuration) into @buf of @size
 * bytes, NUL-terminated; its length in *@ret_len. -errno when it cannot be
 * read, -EFBIG when it does not fit (rather than a cut key). The caller
 * wipes @buf when it held a private key.
 */
int jwt_pem_read(const char *path, char *buf, size_t size, size_t *ret_len);

/*
 * From a PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"), such as the
 * platform's own public key from configuration; alg inferred (RSA: RS256,
 * EC P-256: ES256); the same rejections as jwt_key_from_jwk, and private
 * keys in PEM. Same returns.
 */
int jwt_key_from_pem(const char *pem, size_t len, const char *owner_sub, struct jwt_key **ret_key,
		     const char **ret_reason);

/* NULL-safe. */
void jwt_key_destroy(struct jwt_key *key);
enum jwt_alg jwt_key_alg(const struct jwt_key *key);
/* The owner subject, or NULL for any; borrowed from @key. */
const char *jwt_key_owner(const struct jwt_key *key);

/* Characters of an RFC 7638 JWK thumbprint: SHA-256 in base64url. */
#define JWT_THUMBPRINT_LEN 43

/* Redis pub/sub channel (db1) on which the kid of a revoked key is published
 * (ddns-user publishes, ddns-api drops the key from its cache). */
#define JWT_KEYS_REVOKED_CHANNEL "keys:revoked"

/* What jwt_key_import found: the key to store. */
struct jwt_key_import {
	enum jwt_alg alg; /* JWT_RS256 for RSA, JWT_ES256 for EC P-256 */
	char kid[JWT_THUMBPRINT_LEN +
		 1];      /* RFC 7638 JWK thumbprint, SHA-256, base64url, 43 chars */
	char *public_jwk; /* owned: canonical public JWK, compact JSON text */
};

/*
 * A user's uploaded public key, for storing: @text[0..@len) (not
 * NUL-terminated, at most 16 KiB) is a JWK (a JSON object) or one PEM block,
 * SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----") or PKCS#1 ("-----BEGIN
 * RSA PUBLIC KEY-----"), with whitespace around it and nothing else.
 * Accepted: RSA of 2048 to 16384 bits with an odd exponent of at least 3
 * (RS256), EC P-256 (ES256); a JWK's "alg", if present, must be that alg and
 * its "use", if present, "sig"; other members (kid, ...) are dropped.
 * The same key as JWK or PEM gives the same result: the canonical JWK
 * {"kty":"RSA","n":..,"e":..,"alg":"RS256","use":"sig"} or
 * {"kty":"EC","crv":"P-256","x":..,"y":..,"alg":"ES256","use":"sig"}
 * (minimal n and e, x and y of 32 bytes), which jwt_key_from_jwk accepts, and
 * its RFC 7638 thumbprint as kid.
 * Returns 0 and fills @ret_key (caller calls jwt_key_import_finish); -EINVAL
 * with a static code in @ret_code and a static, one-line reason telling the
 * user what to do in @ret_reason; -ENOMEM; -EIO. The codes:
 *   "private_key": a private or secret key: a JWK with any of d, p, q, dp,
 *       dq, qi, oth, k (at any depth), or any PEM armor with PRIVATE in its
 *       label, anywhere in @text; refused before the key is parsed, and what
 *       the parser copied is wiped; nothing of it is kept or told;
 *   "weak_key": RSA below 2048 bits, or an exponent below 3, even, or over
 *       64 bits;
 *   "unsupported_key": EC curves but P-256, Ed25519 and other key types, kty
 *       "oct", RSA over 16384 bits, certificates, OpenSSH keys, other PEM
 *       blocks;
 *   "invalid_key": anything else: empty or too long, malformed JSON, JWK or
 *       PEM, a JWK Set, missing members, not strict base64url, a point not on
 *       the curve, an "alg" or "use" contradicting the key, trailing text.
 * @ret_key, @ret_code and @ret_reason are untouched when not filled.
 */
int jwt_key_import(const char *text, size_t len, struct jwt_key_import *ret_key,
		   const char **ret_code, const char **ret_reason);
/* Frees @key's public_jwk (which may be NULL). NULL-safe. */
void jwt_key_import_finish(struct jwt_key_import *key);

/* A parsed, not yet verified token. */
struct jwt_token;

/*
 * Step 1, cheap, before any key lookup: @len <= JWT_TOKEN_MAX, exactly three
 * non-empty strict base64url segments, the header a JSON object without
 * duplicate keys and without "crit", "alg" RS256 or ES256, "kid" a non-empty
 * string of at most JWT_KID_MAX bytes, "typ" if present "JWT" (any case) or
 * "at+jwt" (any case). The payload is not looked at.
 * @token need not be NUL-terminated; it is copied.
 * Returns 0 and a new token in @ret_token (caller owns, jwt_token_destroy);
 * -EINVAL with the reason in @ret_reason; -ENOMEM.
 */
int jwt_parse(const char *token, size_t len, struct jwt_token **ret_token,
	      enum jwt_reason *ret_reason);
/* Borrowed from @t; at most JWT_KID_MAX bytes, no NUL inside. */
const char *jwt_token_kid(const struct jwt_token *t);
enum jwt_alg jwt_token_alg(const struct jwt_token *t);
/* NULL-safe. */
void jwt_token_destroy(struct jwt_token *t);

struct jwt_policy {
	const char *audience;     /* required: "aud" (string or array of strings) must contain it;
				     NULL: every token fails with JWT_BAD_AUDIENCE */
	long long max_lifetime_s; /* exp - iat at most this; 0 (or below): JWT_LIFETIME_DEFAULT */
	long long skew_s; /* allowed clock skew; callers pass JWT_SKEW_DEFAULT; below 0: 0 */
	unsigned required_scopes; /* bitmask of enum jwt_scope; checked last */
};

struct jwt_claims {
	char sub[JWT_SUB_MAX + 1];
	char jti[JWT_JTI_MAX + 1];
	long long exp, iat, nbf; /* nbf 0 when absent */
	unsigned scopes;         /* enum jwt_scope bits */
};

/*
 * Step 2. In this order: the header alg must equal the key's
 * (JWT_ALG_KEY_MISMATCH); the signature, verified with cjose (ES256: the
 * 64-byte R||S form) (JWT_BAD_SIGNATURE); then, trusted only now, the claims:
 * payload a JSON object (JWT_BAD_CLAIMS); exp required (JWT_NO_EXP), now >
 * exp + skew: JWT_EXPIRED; nbf if present, now + skew < nbf:
 * JWT_NOT_YET_VALID; iat required (JWT_BAD_CLAIMS), iat > now + skew:
 * JWT_IAT_FUTURE; exp - iat over the maximum or negative: JWT_LIFETIME; aud:
 * JWT_BAD_AUDIENCE; sub equal to the key's owner unless that is NULL:
 * JWT_BAD_SUBJECT; jti: JWT_NO_JTI; scope (optional space-separated string)
 * must hold every required scope: JWT_SCOPE_MISSING.
 * Claims of the wrong JSON type (a string or a real for exp, ...) give
 * JWT_BAD_CLAIMS. Fills @ret_claims only on JWT_OK. Pure: no I/O.
 */
enum jwt_reason jwt_verify(const struct jwt_token *t, const struct jwt_key *key,
			   const struct jwt_policy *pol, long long now,
			   struct jwt_claims *ret_claims);

/* Bits of enum jwt_scope for a space-separated scope string; NULL gives 0. */
unsigned jwt_scope_parse(const char *scope_str);

/* The platform's signing key: a private key and the kid its tokens carry. */
struct jwt_signer;

/*
 * A private key in PEM (PKCS#8 or traditional; EC P-256 -> ES256, RSA >= 2048
 * -> RS256), with the kid put in the tokens' header.
 * @pem[0..@len) (not NUL-terminated) is an unencrypted "PRIVATE KEY", "RSA
 * PRIVATE KEY" or "EC PRIVATE KEY" block; its public half must pass the
 * checks of jwt_key_from_pem (RSA of 2048 to 16384 bits with an odd exponent
 * of at least 3, or EC P-256). @kid (copied) is 1..JWT_KID_MAX printable
 * ASCII without spaces, as jwt_parse requires.
 * Returns 0 and a new signer in @ret_signer (caller owns, jwt_signer_destroy);
 * -EINVAL with a static reason in @ret_reason (never any of the key); -ENOMEM.
 */
int jwt_signer_from_pem(const char *pem, size_t len, const char *kid,
			struct jwt_signer **ret_signer, const char **ret_reason);
/* NULL-safe. */
void jwt_signer_destroy(struct jwt_signer *s);
enum jwt_alg jwt_signer_alg(const struct jwt_signer *s);

/*
 * A compact JWS: header {"alg":..,"kid":..,"typ":"JWT"}, payload @claims
 * (borrowed JSON object) as compact JSON, signed with RSASSA-PKCS1-v1_5 or
 * ECDSA over SHA-256 (ES256: the 64-byte R||S form). The claims are signed as
 * given: nothing added, nothing checked. @s is only read, so several threads
 * may sign with it at once.
 * Returns 0 and a new NUL-terminated token in @ret_token (caller frees with
 * free()); -EINVAL when @claims is not an object or the token would be longer
 * than JWT_TOKEN_MAX; -ENOMEM; -EIO when OpenSSL fails.
 */
int jwt_sign(const struct jwt_signer *s, const json_t *claims, char **ret_token);
