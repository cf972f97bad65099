#include "services/user/account.h"
#include "services/user/common_passwords.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/*
 * Expands "{N:s}" in @pat into N copies of s (s up to the next '}'), so that
 * tables can spell long inputs: "<64:a>@example.com". Into a static buffer.
 */
static const char *expand(const char *pat)
{
	static char buf[8192];
	size_t n = 0;

	for (const char *p = pat; *p;) {
		const char *colon, *close;
		unsigned long count;

		if (*p != '<') {
			ck_assert_uint_lt(n, sizeof(buf) - 1);
			buf[n++] = *p++;
			continue;
		}
		count = strtoul(p + 1, NULL, 10);
		colon = strchr(p, ':');
		close = colon ? strchr(colon, '>') : NULL;
		ck_assert_msg(colon && close, "bad pattern %s", pat);
		for (unsigned long i = 0; i < count; i++) {
			size_t k = (size_t)(close - colon - 1);

			ck_assert_uint_lt(n + k, sizeof(buf));
			memcpy(buf + n, colon + 1, k);
			n += k;
		}
		p = close + 1;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- email addresses ---------------------------------------------------- */

#define R_EMPTY "enter an email address"
#define R_ASCII                                                                                  \
	"the email address may contain only ASCII characters; write an international domain in " \
	"its xn-- form"
#define R_SPACE    "the email address may not contain spaces or control characters"
#define R_LONG     "the email address is longer than 254 characters"
#define R_NO_AT    "the email address needs an @ between name and domain, as in name@example.com"
#define R_TWO_AT   "the email address may contain only one @"
#define R_LOCAL_0  "the part of the email address before @ is empty"
#define R_LOCAL_64 "the part of the email address before @ is longer than 64 characters"
#define R_QUOTED   "quoted names are not accepted in email addresses"
#define R_ATEXT                                                                              \
	"the part of the email address before @ may contain only letters, digits, dots and " \
	"!#$%&'*+-/=?^_`{|}~"
#define R_DOTS                                                                                     \
	"the part of the email address before @ may not start or end with a dot or have two dots " \
	"in a row"
#define R_TRAIL_DOT "the domain of the email address may not end with a dot"
#define R_HOST                                                                               \
	"the domain of the email address must be a host name such as example.com (letters, " \
	"digits and hyphens, labels of 1 to 63 characters)"
#define R_ONE_LABEL "the domain of the email address needs a dot, as in example.com"
#define R_NUM_TLD                                                                            \
	"the domain of the email address must end in a name such as .com, not a number (IP " \
	"addresses are not accepted)"

/* 254 = 64 + 1 + 189, the domain 63.63.57.com */
#define LONG_254 "<64:a>@<63:b>.<63:c>.<57:d>.com"
#define LONG_255 "<64:a>@<63:b>.<63:c>.<58:d>.com"

static const struct email_case {
	const char *name;
	const char *in;  /* expand()ed */
	const char *out; /* expand()ed; NULL: refused with @reason */
	const char *reason;
} email_cases[] = {
	{ "plain", "user@example.com", "user@example.com", NULL },
	{ "upper case", "John.Doe@Example.COM", "john.doe@example.com", NULL },
	{ "surrounding whitespace", "  \t User@Example.com \r\n", "user@example.com", NULL },
	{ "plus-addressing kept", "User+Tag@Example.com", "user+tag@example.com", NULL },
	{ "all atext", "A!#$%&'*+-/=?^_`{|}~z@example.com", "a!#$%&'*+-/=?^_`{|}~z@example.com",
	  NULL },
	{ "dots inside", "a.b.c@example.com", "a.b.c@example.com", NULL },
	{ "deep domain", "x@Mail.Example.co.uk", "x@mail.example.co.uk", NULL },
	{ "xn-- domain", "User@XN--BCHER-KVA.Example", "user@xn--bcher-kva.example", NULL },
	{ "hyphen and digits in labels", "a@my-host2.example9.com", "a@my-host2.example9.com",
	  NULL },
	{ "TLD with a digit", "a@example.x1", "a@example.x1", NULL },
	{ "IDN domain",
	  "user@b\xc3\xbc"
	  "cher.example",
	  NULL, R_ASCII },
	{ "non-ASCII local part", "j\xc3\xb6rg@example.com", NULL, R_ASCII },
	{ "empty", "", NULL, R_EMPTY },
	{ "only whitespace", " \t\r\n", NULL, R_EMPTY },
	{ "missing @", "user.example.com", NULL, R_NO_AT },
	{ "two @", "a@b@example.com", NULL, R_TWO_AT },
	{ "empty local part", "@example.com", NULL, R_LOCAL_0 },
	{ "empty domain", "user@", NULL, R_HOST },
	{ "local part of 64", "<64:A>@example.com", "<64:a>@example.com", NULL },
	{ "local part of 65", "<65:a>@example.com", NULL, R_LOCAL_64 },
	{ "label of 63", "a@<63:B>.com", "a@<63:b>.com", NULL },
	{ "label of 64", "a@<64:b>.com", NULL, R_HOST },
	{ "trailing dot", "a@example.com.", NULL, R_TRAIL_DOT },
	{ "single-label domain", "a@localhost", NULL, R_ONE_LABEL },
	{ "numeric TLD", "a@example.123", NULL, R_NUM_TLD },
	{ "IPv4 address", "a@192.168.0.1", NULL, R_NUM_TLD },
	{ "IP literal", "a@[192.168.0.1]", NULL, R_HOST },
	{ "quoted local part", "\"john\"@example.com", NULL, R_QUOTED },
	{ "quoted local part with a space", "\"john doe\"@example.com", NULL, R_SPACE },
	{ "control character",
	  "a\x01"
	  "b@example.com",
	  NULL, R_SPACE },
	{ "DEL", "a\x7f@example.com", NULL, R_SPACE },
	{ "newline inside", "a@exam\nple.com", NULL, R_SPACE },
	{ "space inside", "a b@example.com", NULL, R_SPACE },
	{ "comma in local part", "a,b@example.com", NULL, R_ATEXT },
	{ "backslash in local part", "a\\b@example.com", NULL, R_ATEXT },
	{ "254 characters", LONG_254, LONG_254, NULL },
	{ "254 characters with whitespace around", "  " LONG_254 "\t", LONG_254, NULL },
	{ "255 characters", LONG_255, NULL, R_LONG },
	{ "leading dot in local part", ".a@example.com", NULL, R_DOTS },
	{ "trailing dot in local part", "a.@example.com", NULL, R_DOTS },
	{ "two dots in local part", "a..b@example.com", NULL, R_DOTS },
	{ "only a dot as local part", ".@example.com", NULL, R_DOTS },
	{ "leading dot in domain", "a@.example.com", NULL, R_HOST },
	{ "two dots in domain", "a@example..com", NULL, R_HOST },
	{ "label starting with a hyphen", "a@-example.com", NULL, R_HOST },
	{ "label ending with a hyphen", "a@example-.com", NULL, R_HOST },
	{ "underscore in domain", "a@ex_ample.com", NULL, R_HOST },
};

START_TEST(test_email)
{
	const struct email_case *c = &email_cases[_i];
	char in[8192], want[8192], out[ACCOUNT_EMAIL_MAX + 1];
	const char *reason = NULL;
	int r;

	snprintf(in, sizeof(in), "%s", expand(c->in));
	snprintf(want, sizeof(want), "%s", c->out ? expand(c->out) : "");
	memset(out, 'X', sizeof(out));
	out[sizeof(out) - 1] = '\0';
	r = account_email_normalize(in, out, sizeof(out), &reason);
	if (c->out) {
		ck_assert_msg(r == 0, "%s: refused: %s", c->name, reason);
		ck_assert_str_eq(out, want);
		ck_assert_ptr_null(reason);
	} else {
		ck_assert_msg(r == -EINVAL, "%s: accepted as %s", c->name, out);
		ck_assert_str_eq(reason, c->reason);
		ck_assert_msg(out[0] == 'X', "%s: output written on failure", c->name);
	}
}
END_TEST

/* ---- password policy ---------------------------------------------------- */

static const struct {
	const char *code, *reason;
} pw_reasons[] = {
	{ "password_invalid", "the password must be UTF-8 text without control characters" },
	{ "password_too_short", "the password must have at least 10 characters" },
	{ "password_too_long", "the password may have at most 1024 characters" },
	{ "password_is_email",
	  "the password may not be your email address or the part of it before @" },
	{ "password_common",
	  "this password is on a list of commonly used passwords: choose another" },
};

#define EMAIL "johnathan.doe@example.com"

static const struct pw_case {
	const char *name;
	const char *pw; /* expand()ed unless @len is set */
	size_t len;     /* 0: strlen of the expansion; else the bytes of @pw as they are */
	const char *email;
	const char *code; /* NULL: accepted */
} pw_cases[] = {
	{ "a good password", "correct-horse-battery", 0, EMAIL, NULL },
	{ "9 characters", "kq8#vT2!m", 0, EMAIL, "password_too_short" },
	{ "10 characters", "kq8#vT2!mz", 0, EMAIL, NULL },
	{ "empty", "", 0, EMAIL, "password_too_short" },
	{ "10 x e-acute: 20 bytes, 10 characters", "<10:\xc3\xa9>", 0, EMAIL, NULL },
	{ "9 x euro: 27 bytes, 9 characters", "<9:\xe2\x82\xac>", 0, EMAIL, "password_too_short" },
	{ "10 x emoji: 40 bytes", "<10:\xf0\x9f\x98\x80>", 0, EMAIL, NULL },
	{ "1024 characters", "<1024:x>", 0, EMAIL, NULL },
	{ "1025 characters", "<1025:x>", 0, EMAIL, "password_too_long" },
	{ "1024 x emoji: 4096 bytes", "<1024:\xf0\x9f\x98\x80>", 0, EMAIL, NULL },
	{ "1025 x e-acute: 2050 bytes", "<1025:\xc3\xa9>", 0, EMAIL, "password_too_long" },
	{ "overlong 2-byte /", "abcdefghij\xc0\xaf", 0, EMAIL, "password_invalid" },
	{ "overlong 3-byte /",
	  "\xe0\x80\xaf"
	  "abcdefghij",
	  0, EMAIL, "password_invalid" },
	{ "overlong 4-byte",
	  "\xf0\x80\x80\xaf"
	  "abcdefghij",
	  0, EMAIL, "password_invalid" },
	{ "surrogate U+D800", "abcdefghij\xed\xa0\x80", 0, EMAIL, "password_invalid" },
	{ "surrogate U+DFFF", "abcdefghij\xed\xbf\xbf", 0, EMAIL, "password_invalid" },
	{ "U+D7FF is fine", "abcdefghij\xed\x9f\xbf", 0, EMAIL, NULL },
	{ "beyond U+10FFFF",
	  "\xf4\x90\x80\x80"
	  "abcdefghij",
	  0, EMAIL, "password_invalid" },
	{ "U+10FFFF is fine",
	  "\xf4\x8f\xbf\xbf"
	  "abcdefghij",
	  0, EMAIL, NULL },
	{ "truncated 3-byte", "abcdefghij\xe2\x82", 0, EMAIL, "password_invalid" },
	{ "truncated 2-byte inside",
	  "abcde\xc3"
	  "fghij",
	  0, EMAIL, "password_invalid" },
	{ "lone continuation byte", "abcdefghij\x80", 0, EMAIL, "password_invalid" },
	{ "0xff byte", "abcdefghij\xff", 0, EMAIL, "password_invalid" },
	{ "invalid before too short", "\xff", 0, EMAIL, "password_invalid" },
	{ "NUL inside", "abcde\0fghijk", 12, EMAIL, "password_invalid" },
	{ "tab", "abcde\tfghijk", 0, EMAIL, "password_invalid" },
	{ "newline", "abcdefghijk\n", 0, EMAIL, "password_invalid" },
	{ "DEL",
	  "abcde\x7f"
	  "fghijk",
	  0, EMAIL, "password_invalid" },
	{ "C1 control U+0085", "abcdefghij\xc2\x85", 0, EMAIL, "password_invalid" },
	{ "U+00A0 is fine", "abcdefghij\xc2\xa0", 0, EMAIL, NULL },
	{ "the email, other case", "JohnAthan.Doe@Example.COM", 0, EMAIL, "password_is_email" },
	{ "the local part, other case", "JOHNATHAN.DOE", 0, EMAIL, "password_is_email" },
	{ "the local part and more", "johnathan.doe1", 0, EMAIL, NULL },
	{ "the local part without an email", "johnathan.doe", 0, NULL, NULL },
	{ "the domain is fine", "example.com", 0, EMAIL, NULL },
	{ "common, other case", "PassWord123", 0, EMAIL, "password_common" },
	{ "common digits", "1234567890", 0, EMAIL, "password_common" },
	{ "common keyboard walk", "QWERTYuiop", 0, NULL, "password_common" },
	{ "common with symbols", "P@ssw0rd123", 0, EMAIL, "password_common" },
	{ "common phrase", "CorrectHorseBatteryStaple", 0, EMAIL, "password_common" },
	{ "common plus one char", "password1234x", 0, EMAIL, NULL },
	{ "password12 is listed", "password12", 0, EMAIL, "password_common" },
	{ "just below a common one", "password1233", 0, EMAIL, NULL },
};

static void check_password(const char *name, const char *pw, size_t len, const char *email,
			   const char *want_code)
{
	const char *code = NULL, *reason = NULL;
	int r = account_password_check(pw, len, email, &code, &reason);

	if (!want_code) {
		ck_assert_msg(r == 0, "%s: refused: %s", name, code);
		return;
	}
	ck_assert_msg(r == -EINVAL, "%s: accepted", name);
	ck_assert_msg(code && strcmp(code, want_code) == 0, "%s: %s, not %s", name, code,
		      want_code);
	for (size_t i = 0; i < sizeof(pw_reasons) / sizeof(pw_reasons[0]); i++)
		if (strcmp(pw_reasons[i].code, code) == 0)
			ck_assert_str_eq(reason, pw_reasons[i].reason);
}

START_TEST(test_password)
{
	const struct pw_case *c = &pw_cases[_i];
	const char *pw = c->len ? c->pw : expand(c->pw);

	check_password(c->name, pw, c->len ? c->len : strlen(pw), c->email, c->code);
}
END_TEST

/* Every shipped entry is refused, as it is and in upper case (bsearch finds them all). */
START_TEST(test_common_list)
{
	const char *w = common_passwords[_i];
	char upper[128];
	size_t n = strlen(w);

	ck_assert_uint_lt(n, sizeof(upper));
	ck_assert_uint_le(n, common_passwords_maxlen);
	if (_i > 0)
		ck_assert_msg(strcmp(common_passwords[_i - 1], w) < 0, "%s: not sorted", w);
	for (size_t i = 0; i <= n; i++)
		upper[i] = w[i] >= 'a' && w[i] <= 'z' ? (char)(w[i] - 'a' + 'A') : w[i];
	check_password(w, w, n, NULL, "password_common");
	check_password(upper, upper, n, NULL, "password_common");
}
END_TEST

/* ---- password hashes ---------------------------------------------------- */

#define MIB (1024 * 1024)

static const struct account_pwhash_params small = { .opslimit = 1, .memlimit = 8 * MIB };

static const struct rehash_case {
	const char *name;
	unsigned long long opslimit;
	size_t memlimit;
	bool needs;
} rehash_cases[] = {
	{ "same parameters", 1, 8 * MIB, false },
	{ "more passes", 2, 8 * MIB, true },
	{ "more memory", 1, 16 * MIB, true },
	{ "less memory", 1, 4 * MIB, true },
	{ "memory within the same KiB", 1, 8 * MIB + 1023, false },
};

START_TEST(test_rehash)
{
	const struct rehash_case *c = &rehash_cases[_i];
	struct account_pwhash_params p = { .opslimit = c->opslimit, .memlimit = c->memlimit };
	char hash[ACCOUNT_HASH_MAX];

	ck_assert_int_eq(account_password_hash("kq8#vT2!mz", 10, &small, hash), 0);
	ck_assert_msg(account_password_needs_rehash(hash, &p) == c->needs, "%s", c->name);
}
END_TEST

START_TEST(test_hash_verify)
{
	static const char pw[] = "correct-horse-battery";
	char hash[ACCOUNT_HASH_MAX], other[ACCOUNT_HASH_MAX];
	size_t len = sizeof(pw) - 1;

	ck_assert_int_eq(account_password_hash(pw, len, &small, hash), 0);
	ck_assert_uint_lt(strlen(hash), ACCOUNT_HASH_MAX);
	ck_assert_msg(strncmp(hash, "$argon2id$v=19$m=8192,t=1,p=1$", 30) == 0, "%s", hash);
	ck_assert(account_password_verify(hash, pw, len));
	ck_assert(!account_password_verify(hash, "correct-horse-batterY", len));
	ck_assert(!account_password_verify(hash, pw, len - 1));
	ck_assert(!account_password_verify(hash, "", 0));
	/* a fresh salt each time */
	ck_assert_int_eq(account_password_hash(pw, len, &small, other), 0);
	ck_assert_str_ne(hash, other);
	ck_assert(account_password_verify(other, pw, len));
	/* malformed hashes verify nothing and need a new hash */
	ck_assert(!account_password_verify("", pw, len));
	ck_assert(!account_password_verify("$argon2id$garbage", pw, len));
	ck_assert(!account_password_verify(NULL, pw, len));
	ck_assert(account_password_needs_rehash("", &small));
	ck_assert(account_password_needs_rehash("$argon2id$garbage", &small));
	ck_assert(account_password_needs_rehash(NULL, &small));
}
END_TEST

/* argon2i hashes (another algorithm) still verify, but need a new hash. */
START_TEST(test_argon2i)
{
	static const char pw[] = "correct-horse-battery";
	char hash[crypto_pwhash_STRBYTES];

	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(crypto_pwhash_str_alg(hash, pw, sizeof(pw) - 1, 3, 8 * MIB,
					       crypto_pwhash_ALG_ARGON2I13),
			 0);
	ck_assert(strncmp(hash, "$argon2i$", 9) == 0);
	ck_assert(account_password_verify(hash, pw, sizeof(pw) - 1));
	ck_assert(
		account_password_needs_rehash(hash, &(struct account_pwhash_params){ 3, 8 * MIB }));
}
END_TEST

static const struct bad_params_case {
	const char *name;
	unsigned long long opslimit;
	size_t memlimit;
} bad_params_cases[] = {
	{ "no passes", 0, 8 * MIB },
	{ "memory below 8 KiB", 1, 8191 },
	{ "no memory", 1, 0 },
};

START_TEST(test_bad_params)
{
	const struct bad_params_case *c = &bad_params_cases[_i];
	struct account_pwhash_params p = { .opslimit = c->opslimit, .memlimit = c->memlimit };
	struct account_pwhash_params tuned = { 0, 0 };
	char hash[ACCOUNT_HASH_MAX] = "untouched";
	double ms = -1;

	ck_assert_int_eq(account_password_hash("kq8#vT2!mz", 10, &p, hash), -EINVAL);
	ck_assert_str_eq(hash, "untouched");
	if (c->opslimit > 0) {
		ck_assert_int_eq(account_pwhash_tune(c->memlimit, 10, &tuned, &ms), -EINVAL);
		ck_assert_uint_eq(tuned.opslimit, 0);
		ck_assert(ms == -1);
	}
}
END_TEST

/* Tuning finds parameters that hash; how long they take is this machine's business. */
START_TEST(test_tune)
{
	struct account_pwhash_params p = { 0, 0 };
	char hash[ACCOUNT_HASH_MAX];
	double ms = -1;

	ck_assert_int_eq(account_pwhash_tune(8 * MIB, 0, &p, &ms), -EINVAL);
	ck_assert_int_eq(account_pwhash_tune(8 * MIB, 20, &p, &ms), 0);
	ck_assert_uint_ge(p.opslimit, 1);
	ck_assert_uint_eq(p.memlimit, 8 * MIB);
	ck_assert(ms > 0);
	ck_assert_int_eq(account_password_hash("kq8#vT2!mz", 10, &p, hash), 0);
	ck_assert(!account_password_needs_rehash(hash, &p));
}
END_TEST

#define N(a) (sizeof(a) / sizeof((a)[0]))

Suite *make_suite(void)
{
	Suite *s = suite_create("account");
	TCase *tc = tcase_create("account");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_email, 0, N(email_cases));
	tcase_add_loop_test(tc, test_password, 0, N(pw_cases));
	tcase_add_loop_test(tc, test_common_list, 0, (int)common_passwords_count);
	tcase_add_loop_test(tc, test_rehash, 0, N(rehash_cases));
	tcase_add_test(tc, test_hash_verify);
	tcase_add_test(tc, test_argon2i);
	tcase_add_loop_test(tc, test_bad_params, 0, N(bad_params_cases));
	tcase_add_test(tc, test_tune);
	suite_add_tcase(s, tc);
	return s;
}
