/* account: email addresses, password policy, tokens and password hashes. */

#include "services/user/account.h"
#include "services/user/common_passwords.h"
#include "shared/clock.h"
#include "shared/dnsname.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(ACCOUNT_HASH_MAX >= crypto_pwhash_STRBYTES, "ACCOUNT_HASH_MAX too small");
_Static_assert(crypto_hash_sha256_BYTES == 32, "SHA-256 is 32 bytes");

#define EMAIL_LOCAL_MAX 64
#define B64URL          sodium_base64_VARIANT_URLSAFE_NO_PADDING

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_init_once(void)
{
	/* -1 only when libsodium cannot work at all (no randomness source):
	 * nothing here could go on safely */
	if (sodium_init() < 0)
		abort();
}

static void sodium_ready(void)
{
	pthread_once(&sodium_once, sodium_init_once);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* RFC 5322 atext */
static bool is_atext(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Case-insensitive for ASCII letters only, whatever the locale. */
static bool ascii_equal_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* ---- email addresses ---------------------------------------------------- */

static const char *check_local(const char *s, size_t n)
{
	if (n == 0)
		return "the part of the email address before @ is empty";
	if (n > EMAIL_LOCAL_MAX)
		return "the part of the email address before @ is longer than 64 characters";
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			continue;
		if (s[i] == '"')
			return "quoted names are not accepted in email addresses";
		if (!is_atext(s[i]))
			return "the part of the email address before @ may contain only letters, "
			       "digits, dots and !#$%&'*+-/=?^_`{|}~";
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' && (i == 0 || i == n - 1 || s[i + 1] == '.'))
			return "the part of the email address before @ may not start or end with "
			       "a dot or have two dots in a row";
	return NULL;
}

/* @s is NUL-terminated. */
static const char *check_domain(const char *s, size_t n)
{
	char name[DNSNAME_SIZE];
	const char *tld;
	bool digits = true;

	if (n > 0 && s[n - 1] == '.')
		return "the domain of the email address may not end with a dot";
	if (n == 0 || dnsname_normalize(s, DNSNAME_HOSTNAME, name, NULL) < 0)
		return "the domain of the email address must be a host name such as example.com "
		       "(letters, digits and hyphens, labels of 1 to 63 characters)";
	tld = strrchr(s, '.');
	if (!tld)
		return "the domain of the email address needs a dot, as in example.com";
	for (tld++; *tld; tld++)
		if (*tld < '0' || *tld > '9')
			digits = false;
	if (digits)
		return "the domain of the email address must end in a name such as .com, not a "
		       "number (IP addresses are not accepted)";
	return NULL;
}

int account_email_normalize(const char *in, char *out, size_t size, const char **ret_reason)
{
	char buf[ACCOUNT_EMAIL_MAX + 1];
	const char *reason, *at;
	size_t start = 0, end = strlen(in), n;

	/* a smaller buffer is a programming error, not bad input */
	if (size < ACCOUNT_EMAIL_MAX + 1)
		abort();

	while (start < end && is_space(in[start]))
		start++;
	while (end > start && is_space(in[end - 1]))
		end--;
	n = end - start;
	if (n == 0) {
		reason = "enter an email address";
		goto fail;
	}
	for (size_t i = start; i < end; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x80) {
			reason = "the email address may contain only ASCII characters; write an "
				 "international domain in its xn-- form";
			goto fail;
		}
		if (c <= 0x20 || c == 0x7f) {
			reason = "the email address may not contain spaces or control characters";
			goto fail;
		}
	}
	if (n > ACCOUNT_EMAIL_MAX) {
		reason = "the email address is longer than 254 characters";
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = lower(in[start + i]);
	buf[n] = '\0';

	at = memchr(buf, '@', n);
	if (!at) {
		reason = "the email address needs an @ between name and domain, as in "
			 "name@example.com";
		goto fail;
	}
	if (strchr(at + 1, '@')) {
		reason = "the email address may contain only one @";
		goto fail;
	}
	reason = check_local(buf, (size_t)(at - buf));
	if (reason)
		goto fail;
	reason = check_domain(at + 1, n - (size_t)(at - buf) - 1);
	if (reason)
		goto fail;

	memcpy(out, buf, n + 1);
	return 0;

fail:
	*ret_reason = reason;
	return -EINVAL;
}

/* ---- password policy ---------------------------------------------------- */

/*
 * Decodes one UTF-8 sequence at @s (@n > 0 bytes left): the code point and
 * its length, or 0 for an invalid one (overlong forms, surrogates, beyond
 * U+10FFFF, truncated).
 */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t cp;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* beyond U+10FFFF */
	} else {
		return 0; /* continuation byte, 0xc0, 0xc1 (overlong) or 0xf5.. */
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xbf;

		if (s[i] < lo_i || s[i] > hi_i)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*ret_cp = cp;
	return need;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static int cmp_common(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool is_common(const char *password, size_t len)
{
	char buf[128];

	if (len > common_passwords_maxlen || len >= sizeof(buf))
		return false;
	for (size_t i = 0; i < len; i++)
		buf[i] = lower(password[i]);
	buf[len] = '\0';
	return bsearch(buf, common_passwords, common_passwords_count, sizeof(common_passwords[0]),
		       cmp_common) != NULL;
}

static bool is_email(const char *password, size_t len, const char *email)
{
	const char *at;

	if (!email)
		return false;
	if (strlen(email) == len && ascii_equal_nocase(password, email, len))
		return true;
	at = strrchr(email, '@');
	return at && (size_t)(at - email) == len && ascii_equal_nocase(password, email, len);
}

int account_password_check(const char *password, size_t len, const char *email,
			   const char **ret_code, const char **ret_reason)
{
	const unsigned char *s = (const unsigned char *)password;
	const char *code, *reason;
	size_t chars = 0;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_next(s + i, len - i, &cp);

		if (k == 0 || is_control(cp)) {
			code = "password_invalid";
			reason = "the password must be UTF-8 text without control characters";
			goto fail;
		}
		i += k;
		chars++;
	}
	if (chars < ACCOUNT_PASSWORD_MIN) {
		code = "password_too_short";
		reason = "the password must have at least 10 characters";
		goto fail;
	}
	if (chars > ACCOUNT_PASSWORD_MAX) {
		code = "password_too_long";
		reason = "the password may have at most 1024 characters";
		goto fail;
	}
	if (is_email(password, len, email)) {
		code = "password_is_email";
		reason = "the password may not be your email address or the part of it before @";
		goto fail;
	}
	if (is_common(password, len)) {
		code = "password_common";
		reason = "this password is on a list of commonly used passwords: choose another";
		goto fail;
	}
	return 0;

fail:
	*ret_code = code;
	*ret_reason = reason;
	return -EINVAL;
}

/* ---- password hashes ---------------------------------------------------- */

static bool params_valid(const struct account_pwhash_params *p)
{
	return p->opslimit >= crypto_pwhash_argon2id_opslimit_min() &&
	       p->opslimit <= crypto_pwhash_argon2id_opslimit_max() &&
	       p->memlimit >= crypto_pwhash_argon2id_memlimit_min() &&
	       p->memlimit <= crypto_pwhash_argon2id_memlimit_max();
}

int account_password_hash(const char *password, size_t len, const struct account_pwhash_params *p,
			  char ret_hash[ACCOUNT_HASH_MAX])
{
	char out[crypto_pwhash_STRBYTES];

	sodium_ready();
	if (!params_valid(p) || len > crypto_pwhash_argon2id_passwd_max())
		return -EINVAL;
	/* with valid parameters, libsodium fails only when it cannot allocate */
	if (crypto_pwhash_str_alg(out, password, len, p->opslimit, p->memlimit,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	memcpy(ret_hash, out, strnlen(out, sizeof(out) - 1) + 1);
	return 0;
}

bool account_password_verify(const char *hash, const char *password, size_t len)
{
	sodium_ready();
	if (!hash || strnlen(hash, ACCOUNT_HASH_MAX) == ACCOUNT_HASH_MAX)
		return false;
	return crypto_pwhash_str_verify(hash, password, len) == 0;
}

bool account_password_needs_rehash(const char *hash, const struct account_pwhash_params *p)
{
	sodium_ready();
	if (!hash || strnlen(hash, ACCOUNT_HASH_MAX) == ACCOUNT_HASH_MAX)
		return true;
	/* 0: argon2id with these parameters; 1: other ones; -1: not argon2id */
	return crypto_pwhash_argon2id_str_needs_rehash(hash, p->opslimit, p->memlimit) != 0;
}

static double now_ms(void)
{
	return (double)clock_ns() / 1e6;
}

/* The time one hash with @p takes: the faster of @runs. */
static int time_hash(const struct account_pwhash_params *p, int runs, double *ret_ms)
{
	static const char password[] = "account_pwhash_tune";
	char hash[ACCOUNT_HASH_MAX];
	double best = 0;
	int r;

	for (int i = 0; i < runs; i++) {
		double t0 = now_ms(), t;

		r = account_password_hash(password, sizeof(password) - 1, p, hash);
		if (r < 0)
			return r;
		t = now_ms() - t0;
		if (i == 0 || t < best)
			best = t;
	}
	*ret_ms = best;
	return 0;
}

/*
 * One hash costs a fixed part (allocating and touching @memlimit bytes) plus
 * a part per pass: measured with 1 and 2 passes, this estimates the passes
 * for @target_ms; then the neighbour on the side of the target is measured
 * too, and the closer of the two wins.
 */
int account_pwhash_tune(size_t memlimit, unsigned target_ms, struct account_pwhash_params *ret_p,
			double *ret_ms)
{
	struct account_pwhash_params p = { .opslimit = 1, .memlimit = memlimit }, q;
	double t1, t2, t, tq, pass, fixed, ops;
	const double max = (double)crypto_pwhash_argon2id_opslimit_max();
	int r;

	if (target_ms == 0)
		return -EINVAL;
	sodium_ready();
	if (!params_valid(&p))
		return -EINVAL;

	r = time_hash(&p, 1, &t1); /* warm-up */
	if (r < 0)
		return r;
	r = time_hash(&p, 2, &t1);
	if (r < 0)
		return r;
	if (t1 >= target_ms) {
		t = t1;
		goto done;
	}
	p.opslimit = 2;
	r = time_hash(&p, 2, &t2);
	if (r < 0)
		return r;
	pass = t2 - t1 > 0.001 ? t2 - t1 : 0.001;
	fixed = t1 - pass > 0 ? t1 - pass : 0;
	ops = round((target_ms - fixed) / pass);
	p.opslimit = ops < 1 ? 1 : ops > max ? (unsigned long long)max : (unsigned long long)ops;
	r = time_hash(&p, 2, &t);
	if (r < 0)
		return r;

	q = p;
	if (t < target_ms && p.opslimit < (unsigned long long)max)
		q.opslimit++;
	else if (t > target_ms && p.opslimit > 1)
		q.opslimit--;
	if (q.opslimit != p.opslimit) {
		r = time_hash(&q, 2, &tq);
		if (r < 0)
			return r;
		if (fabs(tq - target_ms) < fabs(t - target_ms)) {
			p = q;
			t = tq;
		}
	}
done:
	*ret_p = p;
	*ret_ms = t;
	return 0;
}
