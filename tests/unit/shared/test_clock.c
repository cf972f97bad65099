/* shared/clock: the monotonic milliseconds and the interruptible nap. */

#include "shared/clock.h"
#include "tests/unit/check_main.h"

#include <check.h>
#include <stdatomic.h>

START_TEST(test_ms_monotonic)
{
	long long a = clock_ms(), b = clock_ms();

	ck_assert_int_gt(a, 0);
	ck_assert_int_ge(b, a);
}
END_TEST

/* A nap lasts at least its length (a lower bound only: never an upper one). */
static const long long nap_lengths[] = { 0, 1, 30, 150 };

START_TEST(test_nap_sleeps)
{
	_Atomic bool stop = false;
	long long ms = nap_lengths[_i], start = clock_ms();

	ck_assert(clock_nap(&stop, ms));
	ck_assert_int_ge(clock_ms() - start, ms);
}
END_TEST

START_TEST(test_nap_stopped)
{
	_Atomic bool stop = true;

	ck_assert(!clock_nap(&stop, 60000)); /* returns at once: the test would time out */
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");

	tcase_add_test(tc, test_ms_monotonic);
	tcase_add_loop_test(tc, test_nap_sleeps, 0, sizeof(nap_lengths) / sizeof(nap_lengths[0]));
	tcase_add_test(tc, test_nap_stopped);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
	return s;
}
