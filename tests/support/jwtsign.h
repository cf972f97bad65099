#pragma once

/*
 * A JWT signer for tests, on OpenSSL's EVP API alone: it shares no code with
 * shared/jwt (which verifies with cjose), so a bug in one is not hidden by
 * the same bug in the other.
 *
 * Keys are OpenSSL EVP_PKEYs (caller owns, EVP_PKEY_free). Every char * this
 * module returns is a new NUL-terminated string the caller frees with free().
 * Headers and payloads are signed as the exact JSON text given, so tests can
 * sign duplicate keys, arrays or non-JSON.
 */

#include <openssl/evp.h>
#include <stddef.h>

/* A new RSA key of @bits bits; NULL on failure. */
EVP_PKEY *jwtsign_keygen_rsa(unsigned bits);
/* A new EC key on @group ("P-256", "P-384", or an OpenSSL name such as "prime256v1"). */
EVP_PKEY *jwtsign_keygen_ec(const char *group);

/* "RS256" for RSA keys, "ES256" for EC P-256 keys, NULL for others. */
const char *jwtsign_alg(EVP_PKEY *key);

/* The public JWK: {"kty":"RSA","n":..,"e":..} or {"kty":"EC","crv":..,"x":..,"y":..}. */
int jwtsign_public_jwk(EVP_PKEY *key, char **ret_json);
/* PEM SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"). */
int jwtsign_public_pem(EVP_PKEY *key, char **ret_pem);
/* PEM PKCS#8 private key ("BEGIN PRIVATE KEY"), unencrypted. */
int jwtsign_private_pem(EVP_PKEY *key, char **ret_pem);
/* A private key from PEM text (PKCS#8 or traditional); NULL on failure. */
EVP_PKEY *jwtsign_load_private_pem(const char *pem, size_t len);

/* base64url of @data without padding; NULL on allocation failure. */
char *jwtsign_b64url(const void *data, size_t len);

/*
 * b64url(@header_json) "." b64url(@payload_json) "." signature, signed with
 * @key whatever the header says: RSASSA-PKCS1-v1_5 SHA-256 for RSA keys,
 * ECDSA SHA-256 for EC keys as raw R||S (2 x field size bytes, 64 for P-256).
 * Returns 0, -EINVAL (unsupported key) or -EIO (OpenSSL failure).
 */
int jwtsign_sign(EVP_PKEY *key, const char *header_json, const char *payload_json,
		 char **ret_token);
/* The same with HMAC-SHA256 over @secret[0..@secret_len), any bytes. */
int jwtsign_sign_hs256(const void *secret, size_t secret_len, const char *header_json,
		       const char *payload_json, char **ret_token);
