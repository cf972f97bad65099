#include "tests/support/jwtsign.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *jwtsign_keygen_rsa(unsigned bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

EVP_PKEY *jwtsign_keygen_ec(const char *group)
{
	if (strcmp(group, "P-256") == 0)
		group = "prime256v1";
	else if (strcmp(group, "P-384") == 0)
		group = "secp384r1";
	else if (strcmp(group, "P-521") == 0)
		group = "secp521r1";
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
}

static int ec_group(EVP_PKEY *key, char *buf, size_t size)
{
	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, buf, size, NULL))
		return -EINVAL;
	return 0;
}

const char *jwtsign_alg(EVP_PKEY *key)
{
	char group[64];

	if (EVP_PKEY_is_a(key, "RSA"))
		return "RS256";
	if (ec_group(key, group, sizeof(group)) == 0 && strcmp(group, "prime256v1") == 0)
		return "ES256";
	return NULL;
}

char *jwtsign_b64url(const void *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	char *out = malloc(len / 3 * 4 + 4 + 1), *o = out;
	unsigned long acc = 0;
	int bits = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*o++ = alphabet[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		*o++ = alphabet[(acc << (6 - bits)) & 0x3f];
	*o = '\0';
	return out;
}

/* base64url of @bn as exactly @len big-endian bytes (0: its own length). */
static char *bn_b64url(const BIGNUM *bn, size_t len)
{
	unsigned char *buf;
	char *out = NULL;

	if (len == 0)
		len = (size_t)BN_num_bytes(bn);
	buf = malloc(len ? len : 1);
	if (buf && BN_bn2binpad(bn, buf, (int)len) >= 0)
		out = jwtsign_b64url(buf, len);
	free(buf);
	return out;
}

int jwtsign_public_jwk(EVP_PKEY *key, char **ret_json)
{
	BIGNUM *a = NULL, *b = NULL;
	char *sa = NULL, *sb = NULL, *json = NULL;
	char group[64];
	const char *crv;
	size_t field;
	int r = -EIO;

	if (EVP_PKEY_is_a(key, "RSA")) {
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &b))
			goto out;
		sa = bn_b64url(a, 0);
		sb = bn_b64url(b, 0);
		if (!sa || !sb)
			goto out;
		if (asprintf(&json, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", sa, sb) < 0)
			json = NULL;
	} else if (ec_group(key, group, sizeof(group)) == 0) {
		if (strcmp(group, "prime256v1") == 0)
			crv = "P-256";
		else if (strcmp(group, "secp384r1") == 0)
			crv = "P-384";
		else if (strcmp(group, "secp521r1") == 0)
			crv = "P-521";
		else
			crv = group;
		field = ((size_t)EVP_PKEY_get_bits(key) + 7) / 8;
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
			goto out;
		sa = bn_b64url(a, field);
		sb = bn_b64url(b, field);
		if (!sa || !sb)
			goto out;
		if (asprintf(&json, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
			     crv, sa, sb) < 0)
			json = NULL;
	} else {
		r = -EINVAL;
		goto out;
	}
	if (!json) {
		r = -ENOMEM;
		goto out;
	}
	*ret_json = json;
	r = 0;
out:
	free(sa);
	free(sb);
	BN_free(a);
	BN_free(b);
	return r;
}

static int pem_write(EVP_PKEY *key, int private, char **ret_pem)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;
	int r = -EIO;

	if (!bio)
		return -ENOMEM;
	if (!(private ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
		      : PEM_write_bio_PUBKEY(bio, key)))
		goto out;
	len = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)len + 1);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	*ret_pem = out;
	r = 0;
out:
	BIO_free(bio);
	return r;
}

int jwtsign_public_pem(EVP_PKEY *key, char **ret_pem)
{
	return pem_write(key, 0, ret_pem);
}

int jwtsign_private_pem(EVP_PKEY *key, char **ret_pem)
{
	return pem_write(key, 1, ret_pem);
}

EVP_PKEY *jwtsign_load_private_pem(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = NULL;

	if (bio)
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return key;
}

/* "b64url(header).b64url(payload)": the signing input, in a new string. */
static char *signing_input(const char *header_json, const char *payload_json)
{
	char *h = jwtsign_b64url(header_json, strlen(header_json));
	char *p = jwtsign_b64url(payload_json, strlen(payload_json));
	char *out = NULL;

	if (h && p && asprintf(&out, "%s.%s", h, p) < 0)
		out = NULL;
	free(h);
	free(p);
	return out;
}

/* @input "." b64url(@sig) into *ret_token. */
static int join(const char *input, const unsigned char *sig, size_t sig_len, char **ret_token)
{
	char *s = jwtsign_b64url(sig, sig_len);
	char *out = NULL;

	if (s && asprintf(&out, "%s.%s", input, s) < 0)
		out = NULL;
	free(s);
	if (!out)
		return -ENOMEM;
	*ret_token = out;
	return 0;
}

/* DER ECDSA-Sig-Value to raw R||S of 2 x @field bytes into @raw. */
static int ecdsa_der_to_raw(const unsigned char *der, size_t der_len, size_t field,
			    unsigned char *raw)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	int r = -EIO;

	if (!sig)
		return -EIO;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, (int)field) >= 0 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + field, (int)field) >= 0)
		r = 0;
	ECDSA_SIG_free(sig);
	return r;
}

int jwtsign_sign(EVP_PKEY *key, const char *header_json, const char *payload_json, char **ret_token)
{
	EVP_MD_CTX *md = NULL;
	unsigned char *sig = NULL, *raw = NULL;
	size_t sig_len = 0, field = 0;
	char *input = NULL;
	int is_ec = EVP_PKEY_is_a(key, "EC");
	int r = -EINVAL;

	if (!is_ec && !EVP_PKEY_is_a(key, "RSA"))
		goto out;
	r = -ENOMEM;
	input = signing_input(header_json, payload_json);
	md = EVP_MD_CTX_new();
	if (!input || !md)
		goto out;
	r = -EIO;
	/* RSA keys default to PKCS#1 v1.5 padding: RS256. */
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) <= 0 ||
	    EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)input, strlen(input)) <= 0)
		goto out;
	sig = malloc(sig_len);
	if (!sig)
		goto out;
	if (EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)input, strlen(input)) <= 0)
		goto out;
	if (is_ec) {
		field = ((size_t)EVP_PKEY_get_bits(key) + 7) / 8;
		raw = malloc(2 * field);
		if (!raw || ecdsa_der_to_raw(sig, sig_len, field, raw) < 0)
			goto out;
		r = join(input, raw, 2 * field, ret_token);
	} else {
		r = join(input, sig, sig_len, ret_token);
	}
out:
	free(raw);
	free(sig);
	free(input);
	EVP_MD_CTX_free(md);
	return r;
}

int jwtsign_sign_hs256(const void *secret, size_t secret_len, const char *header_json,
		       const char *payload_json, char **ret_token)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	char *input = signing_input(header_json, payload_json);
	int r = -ENOMEM;

	if (!input)
		goto out;
	r = -EIO;
	if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)input,
		  strlen(input), mac, &mac_len))
		goto out;
	r = join(input, mac, mac_len, ret_token);
out:
	free(input);
	return r;
}
