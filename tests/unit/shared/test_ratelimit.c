/*
 * The pure parts of shared/ratelimit.c: header formatting and argument
 * checks. The limiter itself runs against a real Redis in
 * tests/integration/test_ratelimit.c.
 */
#include "shared/ratelimit.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct header_case {
	struct ratelimit_result res;
	const char *limit, *remaining, *reset, *retry_after; /* limit NULL: -EINVAL */
};

static const struct header_case header_cases[] = {
	/* allowed: no Retry-After; Reset rounded up */
	{ { true, 5, 4, 200, 0 }, "5", "4", "1", "" },
	{ { true, 5, 0, 1000, 0 }, "5", "0", "1", "" },
	{ { true, 5, 0, 1001, 0 }, "5", "0", "2", "" },
	{ { true, 100, 99, 0, 0 }, "100", "99", "0", "" },
	{ { true, 60, 10, 59999, 0 }, "60", "10", "60", "" },
	/* denied: Retry-After rounded up, at least 1 */
	{ { false, 5, 0, 1000, 200 }, "5", "0", "1", "1" },
	{ { false, 5, 0, 1000, 1 }, "5", "0", "1", "1" },
	{ { false, 5, 0, 1000, 0 }, "5", "0", "1", "1" },
	{ { false, 5, 0, 5000, 1000 }, "5", "0", "5", "1" },
	{ { false, 5, 0, 5000, 1001 }, "5", "0", "5", "2" },
	{ { false, 10, 1, 3600000, 1800000 }, "10", "1", "3600", "1800" },
	{ { false, 1000000, 0, 999999999999, 999999999999 },
	  "1000000",
	  "0",
	  "1000000000",
	  "1000000000" },
	/* nonsense is refused */
	{ { true, -1, 0, 0, 0 }, NULL, NULL, NULL, NULL },
	{ { true, 5, -1, 0, 0 }, NULL, NULL, NULL, NULL },
	{ { true, 5, 0, -1, 0 }, NULL, NULL, NULL, NULL },
	{ { false, 5, 0, 0, -1 }, NULL, NULL, NULL, NULL },
};

START_TEST(test_headers)
{
	const struct header_case *tc = &header_cases[_i];
	struct ratelimit_headers h;
	int r;

	memset(&h, 'x', sizeof(h));
	h.limit[0] = '\0';
	r = ratelimit_headers(&tc->res, &h);
	if (!tc->limit) {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_str_eq(h.limit, ""); /* untouched */
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(h.limit, tc->limit);
	ck_assert_str_eq(h.remaining, tc->remaining);
	ck_assert_str_eq(h.reset, tc->reset);
	ck_assert_str_eq(h.retry_after, tc->retry_after);
}
END_TEST

START_TEST(test_headers_null)
{
	struct ratelimit_result res = { .allowed = true, .limit = 1 };
	struct ratelimit_headers h;

	ck_assert_int_eq(ratelimit_headers(NULL, &h), -EINVAL);
	ck_assert_int_eq(ratelimit_headers(&res, NULL), -EINVAL);
}
END_TEST

static void never_cb(const struct ratelimit_result *res, int error, const char *reason, void *arg)
{
	(void)res;
	(void)error;
	(void)reason;
	(void)arg;
	ck_abort_msg("callback called for a refused check");
}

struct rule_case {
	struct ratelimit_rule rule;
	const char *key;
};

/* Every one of these is refused before anything is sent. */
static const struct rule_case bad_cases[] = {
	{ { 0, 1000, 5, 1, false }, "k" },               /* rate 0 */
	{ { 5, 0, 5, 1, false }, "k" },                  /* period 0 */
	{ { 5, 1000, 0, 1, false }, "k" },               /* burst 0 */
	{ { 5, 1000, 5, 0, false }, "k" },               /* cost 0 */
	{ { 5, 1000, 5, 6, false }, "k" },               /* cost above burst: never passes */
	{ { 2000000, 1000, 5, 1, false }, "k" },         /* below 1 µs per request */
	{ { 1, 1000, 2000000000000LL, 1, false }, "k" }, /* burst * T beyond 2^53 µs */
	{ { 1, 9000000000000000LL, 1, 1, false }, "k" }, /* period absurd */
	{ { -5, 1000, 5, 1, false }, "k" },              /* negative */
	{ { 5, 1000, 5, 1, false }, "" },                /* empty key */
	{ { 5, 1000, 5, 1, false }, NULL },              /* no key */
};

START_TEST(test_check_refused)
{
	const struct rule_case *tc = &bad_cases[_i];
	/* Never dereferenced: arguments are checked first. */
	struct ratelimit *rl = (struct ratelimit *)&tc;
	const char *keys[1] = { tc->key };

	ck_assert_int_eq(ratelimit_check(rl, &tc->rule, keys, 1, never_cb, NULL), -EINVAL);
}
END_TEST

START_TEST(test_check_refused_args)
{
	struct ratelimit_rule rules[RATELIMIT_KEYS_MAX + 1];
	const char *keys[RATELIMIT_KEYS_MAX + 1];
	struct ratelimit *rl = (struct ratelimit *)&rules; /* never dereferenced */
	char long_key[RATELIMIT_KEY_LEN_MAX + 2];

	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		rules[i] = (struct ratelimit_rule){ 5, 1000, 5, 1, false };
		keys[i] = "k";
	}
	ck_assert_int_eq(ratelimit_check(rl, rules, keys, 0, never_cb, NULL), -EINVAL);
	ck_assert_int_eq(ratelimit_check(rl, rules, keys, RATELIMIT_KEYS_MAX + 1, never_cb, NULL),
			 -EINVAL);
	ck_assert_int_eq(ratelimit_check(NULL, rules, keys, 1, never_cb, NULL), -EINVAL);
	ck_assert_int_eq(ratelimit_check(rl, NULL, keys, 1, never_cb, NULL), -EINVAL);
	ck_assert_int_eq(ratelimit_check(rl, rules, NULL, 1, never_cb, NULL), -EINVAL);
	ck_assert_int_eq(ratelimit_check(rl, rules, keys, 1, NULL, NULL), -EINVAL);
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	keys[1] = long_key;
	ck_assert_int_eq(ratelimit_check(rl, rules, keys, 2, never_cb, NULL), -EINVAL);
	ck_assert_ptr_null(ratelimit_create(NULL));
	ratelimit_destroy(NULL);
}
END_TEST

START_TEST(test_script_sha)
{
	const char *sha = ratelimit_script_sha();

	ck_assert_uint_eq(strlen(sha), 40);
	ck_assert_uint_eq(strspn(sha, "0123456789abcdef"), 40);
	ck_assert_ptr_eq(ratelimit_script_sha(), sha);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("ratelimit");

	tcase_add_loop_test(tc, test_headers, 0, ARRAY_SIZE(header_cases));
	tcase_add_test(tc, test_headers_null);
	tcase_add_loop_test(tc, test_check_refused, 0, ARRAY_SIZE(bad_cases));
	tcase_add_test(tc, test_check_refused_args);
	tcase_add_test(tc, test_script_sha);
	suite_add_tcase(s, tc);
	return s;
}
