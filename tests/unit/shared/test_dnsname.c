#include "shared/dnsname.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define L10           "abcdefghij"
#define L61           L10 L10 L10 L10 L10 L10 "k"
#define L63           L10 L10 L10 L10 L10 L10 "klm"
#define L64           L63 "n"
#define N253          L63 "." L63 "." L63 "." L61 /* 253 characters */
#define N254          N253 "x"

#define R_EMPTY_NAME  "empty name"
#define R_ROOT        "the root name \".\" is not allowed"
#define R_EMPTY_LABEL "empty label (a leading dot or two dots in a row)"
#define R_LABEL_LONG  "label longer than 63 characters"
#define R_NAME_LONG   "name longer than 253 characters"
#define R_STAR        "'*' is only allowed as the whole leftmost label (*.example.com)"
#define R_NO_WILDCARD "wildcard names are not allowed here"
#define R_NON_ASCII   "non-ASCII name: use its punycode (xn--) form"
#define R_CONTROL     "control character in name"
#define R_SPACE       "space in name"
#define R_BACKSLASH   "backslash escapes are not allowed in names"
#define R_AT          "'@' is not allowed in a name"
#define R_UNDERSCORE  "'_' is not allowed in a hostname"
#define R_HYPHEN      "hostname label starts or ends with '-'"
#define R_BAD_CHAR    "invalid character in name: use letters, digits, '-' and '_'"
#define R_BAD_HOST    "invalid character in hostname: use letters, digits and '-'"
#define R_NOT_IN_ZONE "name is not in this zone"
#define R_BAD_ZONE    "invalid zone name"

#define H             DNSNAME_HOSTNAME
#define W             DNSNAME_WILDCARD

struct norm_case {
	const char *in;
	unsigned flags;
	const char *want;   /* NULL: rejected */
	const char *reason; /* when rejected */
};

static const struct norm_case norm_cases[] = {
	/* accepted */
	{ "www.example.com", 0, "www.example.com.", NULL },
	{ "www.example.com.", 0, "www.example.com.", NULL },
	{ "WWW.Example.COM.", 0, "www.example.com.", NULL },
	{ "a", 0, "a.", NULL },
	{ "a.", H, "a.", NULL },
	{ "_acme-challenge.alice.dyn.test", 0, "_acme-challenge.alice.dyn.test.", NULL },
	{ "_dmarc.Example.com", 0, "_dmarc.example.com.", NULL },
	{ "_sip._tcp.example.com", 0, "_sip._tcp.example.com.", NULL },
	{ "xn--bcher-kva.example", H, "xn--bcher-kva.example.", NULL },
	{ "a-b.c-d", H, "a-b.c-d.", NULL },
	{ "123.example", H, "123.example.", NULL },
	{ "-foo.bar-", 0, "-foo.bar-.", NULL }, /* legal DNS, not a hostname */
	{ "*.example.com", W, "*.example.com.", NULL },
	{ "*.Example.com.", W | H, "*.example.com.", NULL },
	{ "*", W, "*.", NULL },
	{ L63 ".com", H, L63 ".com.", NULL },
	{ N253, 0, N253 ".", NULL },
	{ N253 ".", 0, N253 ".", NULL },
	/* rejected */
	{ NULL, 0, NULL, R_EMPTY_NAME },
	{ "", 0, NULL, R_EMPTY_NAME },
	{ ".", 0, NULL, R_ROOT },
	{ ".example.com", 0, NULL, R_EMPTY_LABEL },
	{ "a..b", 0, NULL, R_EMPTY_LABEL },
	{ "a.b..", 0, NULL, R_EMPTY_LABEL },
	{ "..", 0, NULL, R_EMPTY_LABEL },
	{ L64 ".com", 0, NULL, R_LABEL_LONG },
	{ "www." L64, 0, NULL, R_LABEL_LONG },
	{ N254, 0, NULL, R_NAME_LONG },
	{ N254 ".", 0, NULL, R_NAME_LONG },
	{ "*.example.com", 0, NULL, R_NO_WILDCARD },
	{ "*.example.com", H, NULL, R_NO_WILDCARD },
	{ "a.*.b", W, NULL, R_STAR },
	{ "*a.b", W, NULL, R_STAR },
	{ "a*.b", W, NULL, R_STAR },
	{ "**.b", W, NULL, R_STAR },
	{ "b.*", W, NULL, R_STAR },
	{ "b\xc3\xbc"
	  "cher.de",
	  0, NULL, R_NON_ASCII },
	{ "\xff.com", H, NULL, R_NON_ASCII },
	{ "a\\.b.com", 0, NULL, R_BACKSLASH },
	{ "a\\065.com", 0, NULL, R_BACKSLASH },
	{ "a b.com", 0, NULL, R_SPACE },
	{ " a.com", 0, NULL, R_SPACE },
	{ "a.com ", 0, NULL, R_SPACE },
	{ "a\tb.com", 0, NULL, R_CONTROL },
	{ "a.com\n", 0, NULL, R_CONTROL },
	{ "a\x7f.com", 0, NULL, R_CONTROL },
	{ "user@example.com", 0, NULL, R_AT },
	{ "@", 0, NULL, R_AT },
	{ "_dmarc.example.com", H, NULL, R_UNDERSCORE },
	{ "-foo.example", H, NULL, R_HYPHEN },
	{ "foo-.example", H, NULL, R_HYPHEN },
	{ "a/b.com", 0, NULL, R_BAD_CHAR },
	{ "a+b.com", 0, NULL, R_BAD_CHAR },
	{ "\"a\".com", 0, NULL, R_BAD_CHAR },
	{ "a,b.com", 0, NULL, R_BAD_CHAR },
	{ "a:b.com", H, NULL, R_BAD_HOST },
	{ "a=b.com", H, NULL, R_BAD_HOST },
};

START_TEST(test_normalize)
{
	const struct norm_case *c = &norm_cases[_i];
	char name[DNSNAME_SIZE] = "untouched";
	const char *reason = "untouched";
	int r = dnsname_normalize(c->in, c->flags, name, &reason);

	if (c->want) {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(name, c->want);
		ck_assert_str_eq(reason, "untouched");
		ck_assert_uint_le(strlen(name), DNSNAME_MAX + 1);
	} else {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_str_eq(reason, c->reason);
		ck_assert_str_eq(name, "untouched");
	}
}
END_TEST

/* The reason pointer is optional. */
START_TEST(test_normalize_null_reason)
{
	char name[DNSNAME_SIZE];

	ck_assert_int_eq(dnsname_normalize("a..b", 0, name, NULL), -EINVAL);
	ck_assert_int_eq(dnsname_normalize("A.b", 0, name, NULL), 0);
	ck_assert_str_eq(name, "a.b.");
}
END_TEST

struct below_case {
	const char *name;
	const char *zone;
	bool at_or_below;
	bool below;
};

static const struct below_case below_cases[] = {
	{ "dyn.test.", "dyn.test.", true, false },
	{ "a.dyn.test.", "dyn.test.", true, true },
	{ "b.a.dyn.test.", "dyn.test.", true, true },
	{ "xdyn.test.", "dyn.test.", false, false },
	{ "x.xdyn.test.", "dyn.test.", false, false },
	{ "test.", "dyn.test.", false, false },
	{ "dyn.test.", "a.dyn.test.", false, false },
	{ "other.example.", "dyn.test.", false, false },
	{ "A.DYN.Test.", "dyn.test.", true, true },
	{ "a.dyn.test.", ".", true, true },
	{ "ab.", "b.", false, false },
	{ "a.b.", "b.", true, true },
	{ "", "dyn.test.", false, false },
};

START_TEST(test_below)
{
	const struct below_case *c = &below_cases[_i];

	ck_assert_int_eq(dnsname_is_at_or_below(c->name, c->zone), c->at_or_below);
	ck_assert_int_eq(dnsname_is_below(c->name, c->zone), c->below);
}
END_TEST

struct rel_case {
	const char *name;
	const char *zone;
	size_t size;
	int want_r;
	const char *want; /* buffer afterwards */
};

static const struct rel_case rel_cases[] = {
	{ "dyn.test.", "dyn.test.", DNSNAME_SIZE, 0, "@" },
	{ "www.dyn.test.", "dyn.test.", DNSNAME_SIZE, 0, "www" },
	{ "a.b.dyn.test.", "dyn.test.", DNSNAME_SIZE, 0, "a.b" },
	{ "_acme-challenge.alice.dyn.test.", "dyn.test.", DNSNAME_SIZE, 0,
	  "_acme-challenge.alice" },
	{ "*.alice.dyn.test.", "dyn.test.", DNSNAME_SIZE, 0, "*.alice" },
	{ "www.dyn.test.", "dyn.test.", 4, 0, "www" },
	{ "www.dyn.test.", "dyn.test.", 3, -EMSGSIZE, "untouched" },
	{ "dyn.test.", "dyn.test.", 2, 0, "@" },
	{ "dyn.test.", "dyn.test.", 1, -EMSGSIZE, "untouched" },
	{ "xdyn.test.", "dyn.test.", DNSNAME_SIZE, -EINVAL, "untouched" },
	{ "other.test.", "dyn.test.", DNSNAME_SIZE, -EINVAL, "untouched" },
	{ "test.", "dyn.test.", DNSNAME_SIZE, -EINVAL, "untouched" },
	{ N253 ".", L61 ".", DNSNAME_SIZE, 0, L63 "." L63 "." L63 },
};

START_TEST(test_relative)
{
	const struct rel_case *c = &rel_cases[_i];
	char buf[DNSNAME_SIZE] = "untouched";

	ck_assert_int_eq(dnsname_to_relative(c->name, c->zone, buf, c->size), c->want_r);
	ck_assert_str_eq(buf, c->want);
}
END_TEST

struct abs_case {
	const char *rel;
	const char *zone;
	unsigned flags;
	const char *want;   /* NULL: rejected */
	const char *reason; /* when rejected */
};

static const struct abs_case abs_cases[] = {
	{ "@", "dyn.test.", 0, "dyn.test.", NULL },
	{ "www", "dyn.test.", 0, "www.dyn.test.", NULL },
	{ "WWW", "dyn.test.", H, "www.dyn.test.", NULL },
	{ "a.b", "dyn.test.", 0, "a.b.dyn.test.", NULL },
	{ "_acme-challenge.alice", "dyn.test.", 0, "_acme-challenge.alice.dyn.test.", NULL },
	{ "www.dyn.test.", "dyn.test.", 0, "www.dyn.test.", NULL },
	{ "WWW.DYN.TEST.", "dyn.test.", 0, "www.dyn.test.", NULL },
	{ "dyn.test.", "dyn.test.", 0, "dyn.test.", NULL },
	{ "*", "dyn.test.", W, "*.dyn.test.", NULL },
	{ "*.alice", "dyn.test.", W, "*.alice.dyn.test.", NULL },
	{ L63 "." L63 "." L63, L61 ".", 0, N253 ".", NULL },
	{ "www.", "dyn.test.", 0, NULL, R_NOT_IN_ZONE },
	{ "www.other.test.", "dyn.test.", 0, NULL, R_NOT_IN_ZONE },
	{ "www.xdyn.test.", "dyn.test.", 0, NULL, R_NOT_IN_ZONE },
	{ "*", "dyn.test.", 0, NULL, R_NO_WILDCARD },
	{ "a.*", "dyn.test.", W, NULL, R_STAR },
	{ "", "dyn.test.", 0, NULL, R_EMPTY_NAME },
	{ NULL, "dyn.test.", 0, NULL, R_EMPTY_NAME },
	{ "a..b", "dyn.test.", 0, NULL, R_EMPTY_LABEL },
	{ "@.x", "dyn.test.", 0, NULL, R_AT },
	{ "_acme-challenge", "dyn.test.", H, NULL, R_UNDERSCORE },
	{ L63 "." L63 "." L63 ".x", L61 ".", 0, NULL, R_NAME_LONG },
	{ "www", "dyn.test", 0, NULL, R_BAD_ZONE },
	{ "www", "", 0, NULL, R_BAD_ZONE },
	{ "@", ".", 0, NULL, R_BAD_ZONE },
	{ "www", NULL, 0, NULL, R_BAD_ZONE },
};

START_TEST(test_absolute)
{
	const struct abs_case *c = &abs_cases[_i];
	char name[DNSNAME_SIZE] = "untouched";
	const char *reason = "untouched";
	int r = dnsname_to_absolute(c->rel, c->zone, c->flags, name, &reason);

	if (c->want) {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(name, c->want);
		ck_assert_str_eq(reason, "untouched");
	} else {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_str_eq(reason, c->reason);
		ck_assert_str_eq(name, "untouched");
	}
}
END_TEST

struct count_case {
	const char *name;
	size_t want;
};

static const struct count_case count_cases[] = {
	{ "www.example.com.", 3 },
	{ "www.example.com", 3 },
	{ "a.", 1 },
	{ "*.a.b.", 3 },
	{ ".", 0 },
	{ "", 0 },
	{ N253 ".", 4 },
};

START_TEST(test_label_count)
{
	const struct count_case *c = &count_cases[_i];

	ck_assert_uint_eq(dnsname_label_count(c->name), c->want);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("dnsname");
	TCase *tc = tcase_create("dnsname");

	tcase_add_loop_test(tc, test_normalize, 0, ARRAY_SIZE(norm_cases));
	tcase_add_test(tc, test_normalize_null_reason);
	tcase_add_loop_test(tc, test_below, 0, ARRAY_SIZE(below_cases));
	tcase_add_loop_test(tc, test_relative, 0, ARRAY_SIZE(rel_cases));
	tcase_add_loop_test(tc, test_absolute, 0, ARRAY_SIZE(abs_cases));
	tcase_add_loop_test(tc, test_label_count, 0, ARRAY_SIZE(count_cases));
	suite_add_tcase(s, tc);
	return s;
}
