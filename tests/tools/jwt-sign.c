/*
 * jwt-sign: makes keys and signed JWTs for integration tests and benchmarks,
 * with tests/support/jwtsign (OpenSSL only, independent of shared/jwt).
 * Built by meson as `jwt-sign` (not installed); meson.build exposes it as
 * the variable `jwt_sign` (pass jwt_sign.full_path() to tests in env).
 *
 * Usage (stable: shell tests rely on it):
 *
 *   jwt-sign keygen rsa|ec DIR NAME [BITS]
 *       Writes DIR/NAME.key.pem (private, PKCS#8, mode 0600), DIR/NAME.pub.pem
 *       (public, SubjectPublicKeyInfo) and DIR/NAME.jwk.json (public JWK, one
 *       line). rsa: BITS bits (default 2048); ec: P-256 (BITS ignored).
 *
 *   jwt-sign sign [OPTIONS] KEY.key.pem KID PAYLOAD_JSON
 *       Prints a token, one line: header {"alg":A,"typ":"JWT","kid":KID} where
 *       A is RS256 for an RSA key and ES256 for an EC P-256 key; the payload
 *       is PAYLOAD_JSON, signed as given unless an option below changes it
 *       (then it is re-serialized compactly). Options:
 *         --now T          time base in seconds since the epoch (default: now)
 *         --iat-offset S   set "iat" to T + S (S may be negative), unless present
 *         --exp-in S       set "exp" to T + S, unless present
 *         --count N        print N tokens, one a line; when the payload has no
 *                          "jti", each gets a fresh random one (32 hex digits)
 *         --alg ALG        write ALG in the header instead (the signature is
 *                          still the key's): for negative tests
 *
 *   jwt-sign hs256 SECRET_FILE KID PAYLOAD_JSON
 *       Prints a token with header {"alg":"HS256","typ":"JWT","kid":KID},
 *       HMAC-SHA256 over it with the bytes of SECRET_FILE as the secret (the
 *       alg-confusion attack: pass a public key's PEM file).
 *
 * Exit status: 0 done, 1 failure (message on stderr), 2 usage error.
 *
 * Example:
 *   jwt-sign keygen ec "$dir" alice
 *   jwt-sign sign --iat-offset 0 --exp-in 300 "$dir/alice.key.pem" kid-1 \
 *       '{"sub":"42","aud":"ddns-api","scope":"dns:read dns:write"}'
 */

#include "tests/support/jwtsign.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define USAGE                                                                                  \
	"usage: jwt-sign keygen rsa|ec DIR NAME [BITS]\n"                                      \
	"       jwt-sign sign [--now T] [--iat-offset S] [--exp-in S] [--count N] [--alg ALG]" \
	" KEY.key.pem KID PAYLOAD_JSON\n"                                                      \
	"       jwt-sign hs256 SECRET_FILE KID PAYLOAD_JSON\n"

static int usage(void)
{
	fputs(USAGE, stderr);
	return 2;
}

static bool parse_ll(const char *s, long long *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*ret = v;
	return true;
}

/* The whole file into a new NUL-terminated buffer. */
static int read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int r = -errno;

	if (!f)
		return r;
	for (;;) {
		if (cap - len < 4096) {
			char *p = realloc(buf, cap + 65536);

			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			buf = p;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		r = -EIO;
		goto out;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	fclose(f);
	return r;
}

static int write_file(const char *dir, const char *name, const char *suffix, const char *text,
		      mode_t mode)
{
	char *path = NULL;
	size_t len = strlen(text);
	int fd, r = 0;

	if (asprintf(&path, "%s/%s%s", dir, name, suffix) < 0)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "jwt-sign: could not write \"%s\": %s\n", path, strerror(-r));
	free(path);
	return r;
}

static int cmd_keygen(int argc, char **argv)
{
	const char *type, *dir, *name;
	char *pub = NULL, *priv = NULL, *jwk = NULL, *jwk_line = NULL;
	long long bits = 2048;
	EVP_PKEY *key = NULL;
	int r = 1;

	if (argc < 4 || argc > 5)
		return usage();
	type = argv[1];
	dir = argv[2];
	name = argv[3];
	if (argc == 5 && (!parse_ll(argv[4], &bits) || bits < 512 || bits > 16384))
		return usage();
	if (strcmp(type, "rsa") == 0)
		key = jwtsign_keygen_rsa((unsigned)bits);
	else if (strcmp(type, "ec") == 0)
		key = jwtsign_keygen_ec("P-256");
	else
		return usage();
	if (!key) {
		fprintf(stderr, "jwt-sign: could not generate a %s key\n", type);
		goto out;
	}
	if (jwtsign_private_pem(key, &priv) < 0 || jwtsign_public_pem(key, &pub) < 0 ||
	    jwtsign_public_jwk(key, &jwk) < 0 || asprintf(&jwk_line, "%s\n", jwk) < 0) {
		jwk_line = NULL;
		fprintf(stderr, "jwt-sign: could not export the key\n");
		goto out;
	}
	if (write_file(dir, name, ".key.pem", priv, 0600) < 0 ||
	    write_file(dir, name, ".pub.pem", pub, 0644) < 0 ||
	    write_file(dir, name, ".jwk.json", jwk_line, 0644) < 0)
		goto out;
	r = 0;
out:
	free(pub);
	free(priv);
	free(jwk);
	free(jwk_line);
	EVP_PKEY_free(key);
	return r;
}

/* {"alg":ALG,"typ":"JWT","kid":KID} in a new string. */
static char *header_json(const char *alg, const char *kid)
{
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", alg, "typ", "JWT", "kid", kid);
	char *s = h ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(h);
	return s;
}

struct sign_opts {
	long long now;
	long long iat_offset, exp_in, count;
	bool has_iat_offset, has_exp_in;
	const char *alg;
};

/* The payload text to sign: @text as given, or edited per @o in a new string. */
static char *payload_for(const char *text, const struct sign_opts *o, bool *ret_ok)
{
	json_t *p = NULL;
	char *out = NULL;
	unsigned char rnd[16];
	char jti[33];

	*ret_ok = false;
	p = json_loads(text, 0, NULL);
	if (!json_is_object(p)) {
		fprintf(stderr, "jwt-sign: the payload must be a JSON object\n");
		goto out;
	}
	if (!o->has_iat_offset && !o->has_exp_in && (o->count <= 1 || json_object_get(p, "jti"))) {
		out = strdup(text);
		*ret_ok = out != NULL;
		goto out;
	}
	if (o->has_iat_offset && !json_object_get(p, "iat"))
		json_object_set_new(p, "iat", json_integer(o->now + o->iat_offset));
	if (o->has_exp_in && !json_object_get(p, "exp"))
		json_object_set_new(p, "exp", json_integer(o->now + o->exp_in));
	if (o->count > 1 && !json_object_get(p, "jti")) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			goto out;
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
		json_object_set_new(p, "jti", json_string(jti));
	}
	out = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	*ret_ok = out != NULL;
out:
	json_decref(p);
	return out;
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "now", required_argument, NULL, 'n' },
		{ "iat-offset", required_argument, NULL, 'i' },
		{ "exp-in", required_argument, NULL, 'e' },
		{ "count", required_argument, NULL, 'c' },
		{ "alg", required_argument, NULL, 'a' },
		{ 0 },
	};
	struct sign_opts o = { .now = (long long)time(NULL), .count = 1 };
	char *pem = NULL, *header = NULL;
	EVP_PKEY *key = NULL;
	size_t pem_len;
	int c, r = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_ll(optarg, &o.now))
				return usage();
			break;
		case 'i':
			if (!parse_ll(optarg, &o.iat_offset))
				return usage();
			o.has_iat_offset = true;
			break;
		case 'e':
			if (!parse_ll(optarg, &o.exp_in))
				return usage();
			o.has_exp_in = true;
			break;
		case 'c':
			if (!parse_ll(optarg, &o.count) || o.count < 1)
				return usage();
			break;
		case 'a':
			o.alg = optarg;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 3)
		return usage();

	if (read_file(argv[optind], &pem, &pem_len) < 0 ||
	    !(key = jwtsign_load_private_pem(pem, pem_len))) {
		fprintf(stderr, "jwt-sign: could not read a private key from \"%s\"\n",
			argv[optind]);
		goto out;
	}
	if (!o.alg)
		o.alg = jwtsign_alg(key);
	if (!o.alg) {
		fprintf(stderr, "jwt-sign: unsupported key: use RSA or EC P-256\n");
		goto out;
	}
	header = header_json(o.alg, argv[optind + 1]);
	if (!header)
		goto out;
	for (long long i = 0; i < o.count; i++) {
		bool ok;
		char *payload = payload_for(argv[optind + 2], &o, &ok);
		char *token = NULL;

		if (ok && jwtsign_sign(key, header, payload, &token) == 0)
			puts(token);
		else
			ok = false;
		free(token);
		free(payload);
		if (!ok) {
			fprintf(stderr, "jwt-sign: could not sign\n");
			goto out;
		}
	}
	r = fflush(stdout) == 0 ? 0 : 1;
out:
	free(header);
	free(pem);
	EVP_PKEY_free(key);
	return r;
}

static int cmd_hs256(int argc, char **argv)
{
	char *secret = NULL, *header = NULL, *token = NULL;
	size_t secret_len;
	int r = 1;

	if (argc != 4)
		return usage();
	if (read_file(argv[1], &secret, &secret_len) < 0) {
		fprintf(stderr, "jwt-sign: could not read \"%s\"\n", argv[1]);
		goto out;
	}
	header = header_json("HS256", argv[2]);
	if (!header || jwtsign_sign_hs256(secret, secret_len, header, argv[3], &token) < 0) {
		fprintf(stderr, "jwt-sign: could not sign\n");
		goto out;
	}
	puts(token);
	r = fflush(stdout) == 0 ? 0 : 1;
out:
	free(token);
	free(header);
	free(secret);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "hs256") == 0)
		return cmd_hs256(argc - 1, argv + 1);
	return usage();
}
