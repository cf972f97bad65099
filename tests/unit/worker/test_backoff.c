#include "services/worker/backoff.h"
#include "tests/unit/check_main.h"

/* The cap of each attempt with base 1 s and max 5 min (the defaults), and odd settings. */
static const struct cap_case {
	int attempt;
	long long base, max, cap;
} cap_cases[] = {
	{ 0, 1000, 300000, 0 },
	{ 1, 1000, 300000, 1000 },
	{ 2, 1000, 300000, 2000 },
	{ 3, 1000, 300000, 4000 },
	{ 8, 1000, 300000, 128000 },
	{ 9, 1000, 300000, 256000 },
	{ 10, 1000, 300000, 300000 },
	{ 1000, 1000, 300000, 300000 },
	{ 2147483647, 1, 300000, 300000 },
	{ 64, 3, 86400000, 86400000 },
	{ 1, 5000, 1000, 1000 },
	{ 3, 0, 1000, 0 },
	{ 3, 10, 0, 0 },
};

START_TEST(test_cap)
{
	const struct cap_case *c = &cap_cases[_i];

	ck_assert_int_eq(backoff_cap_ms(c->attempt, c->base, c->max), c->cap);
}
END_TEST

/* Full jitter: every delay within [0, cap], the ends reached, and random draws spread out. */
START_TEST(test_delay_bounds)
{
	for (int attempt = 1; attempt <= 12; attempt++) {
		long long cap = backoff_cap_ms(attempt, 1000, 300000), lo = cap, hi = 0;

		ck_assert_int_eq(backoff_delay_ms(attempt, 1000, 300000, 0), 0);
		ck_assert_int_eq(backoff_delay_ms(attempt, 1000, 300000, (uint64_t)cap), cap);
		ck_assert_int_eq(backoff_delay_ms(attempt, 1000, 300000, UINT64_MAX),
				 (long long)(UINT64_MAX % (uint64_t)(cap + 1)));
		for (int i = 0; i < 2000; i++) {
			long long d = backoff_delay_ms(attempt, 1000, 300000, backoff_random());

			ck_assert(d >= 0 && d <= cap);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		/* 2000 uniform draws: below 10% and above 90% of the cap, with certainty in
		 * practice */
		ck_assert_msg(lo < cap / 10 && hi > cap * 9 / 10, "attempt %d: %lld..%lld of %lld",
			      attempt, lo, hi, cap);
	}
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("worker_backoff");
	TCase *tc = tcase_create("backoff");

	tcase_add_loop_test(tc, test_cap, 0, sizeof(cap_cases) / sizeof(cap_cases[0]));
	tcase_add_test(tc, test_delay_bounds);
	suite_add_tcase(s, tc);
	return s;
}
