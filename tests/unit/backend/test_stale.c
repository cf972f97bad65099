#include "backend/stale.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARR(ttl) "[{\"qtype\":\"A\",\"qname\":\"a.\",\"content\":\"192.0.2.1\",\"ttl\":" #ttl "}]"

static void put(struct stale *s, const char *name, const char *json, int64_t now)
{
	ck_assert_int_eq(stale_put(s, name, json, strlen(json), now), 0);
}

static bool has(struct stale *s, const char *name)
{
	char *out = NULL;
	int r = stale_get(s, name, 1000000, 0, 0, &out);

	free(out);
	return r == 0;
}

START_TEST(test_put_get_cap)
{
	struct stale *s = stale_create(10, 1 << 20);
	char *out = NULL;

	put(s, "www.dyn.test.", ARR(300), 0);
	ck_assert_int_eq(stale_get(s, "www.dyn.test.", 30, 0, 1000, &out), 0);
	ck_assert_str_eq(out, ARR(30));
	free(out);
	/* a TTL below the cap stays */
	put(s, "low.dyn.test.", ARR(10), 0);
	ck_assert_int_eq(stale_get(s, "low.dyn.test.", 30, 0, 1000, &out), 0);
	ck_assert_str_eq(out, ARR(10));
	free(out);
	ck_assert_int_eq(stale_get(s, "nope.dyn.test.", 30, 0, 0, &out), -ENOENT);
	ck_assert_uint_eq(stale_count(s), 2);
	/* replaced by a newer answer */
	put(s, "www.dyn.test.", ARR(20), 0);
	ck_assert_uint_eq(stale_count(s), 2);
	ck_assert_int_eq(stale_get(s, "www.dyn.test.", 30, 0, 1000, &out), 0);
	ck_assert_str_eq(out, ARR(20));
	free(out);
	stale_remove(s, "www.dyn.test.");
	ck_assert(!has(s, "www.dyn.test."));
	ck_assert_uint_eq(stale_count(s), 1);
	stale_destroy(s);
}
END_TEST

START_TEST(test_entry_bound_lru)
{
	struct stale *s = stale_create(3, 1 << 20);

	put(s, "a.", ARR(1), 0);
	put(s, "b.", ARR(1), 0);
	put(s, "c.", ARR(1), 0);
	put(s, "a.", ARR(1), 1); /* confirmed: now the most recent */
	put(s, "d.", ARR(1), 2); /* evicts b, the least recent */
	ck_assert_uint_eq(stale_count(s), 3);
	ck_assert(has(s, "a."));
	ck_assert(!has(s, "b."));
	ck_assert(has(s, "c."));
	ck_assert(has(s, "d."));
	stale_destroy(s);
}
END_TEST

START_TEST(test_byte_bound)
{
	size_t max = 4096;
	struct stale *s = stale_create(1000, max);
	char name[32], big[900];

	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "[\"", 2);
	memcpy(big + sizeof(big) - 3, "\"]", 2);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "n%d.test.", i);
		put(s, name, big, i);
		ck_assert_uint_le(stale_bytes(s), max);
	}
	ck_assert_uint_lt(stale_count(s), 50);
	ck_assert(has(s, "n49.test."));
	ck_assert(!has(s, "n0.test."));
	/* an answer larger than a quarter of the bound is not kept */
	{
		char *huge = malloc(max);

		memset(huge, 'y', max - 1);
		huge[max - 1] = '\0';
		ck_assert_int_eq(stale_put(s, "huge.test.", huge, strlen(huge), 0), -E2BIG);
		free(huge);
	}
	ck_assert(!has(s, "huge.test."));
	stale_destroy(s);
}
END_TEST

START_TEST(test_drop_below)
{
	struct stale *s = stale_create(100, 1 << 20);

	put(s, "dyn.test.", ARR(1), 0);
	put(s, "alice.dyn.test.", ARR(1), 0);
	put(s, "www.alice.dyn.test.", ARR(1), 0);
	put(s, "xalice.dyn.test.", ARR(1), 0);
	put(s, "other.test.", ARR(1), 0);
	ck_assert_uint_eq(stale_drop_below(s, "alice.dyn.test."), 2);
	ck_assert(has(s, "dyn.test."));
	ck_assert(!has(s, "alice.dyn.test."));
	ck_assert(!has(s, "www.alice.dyn.test."));
	ck_assert(has(s, "xalice.dyn.test."));
	ck_assert_uint_eq(stale_drop_below(s, "dyn.test."), 2);
	ck_assert_uint_eq(stale_count(s), 1);
	ck_assert(has(s, "other.test."));
	stale_destroy(s);
}
END_TEST

START_TEST(test_max_age)
{
	struct stale *s = stale_create(10, 1 << 20);
	char *out = NULL;

	put(s, "a.", ARR(60), 1000);
	ck_assert_int_eq(stale_get(s, "a.", 30, 5000, 6000, &out), 0);
	free(out);
	ck_assert_int_eq(stale_get(s, "a.", 30, 5000, 6001, &out), -ENOENT);
	ck_assert_uint_eq(stale_count(s), 0); /* dropped */
	ck_assert_ptr_null(stale_create(0, 10));
	ck_assert_ptr_null(stale_create(10, 0));
	stale_destroy(NULL);
	stale_destroy(s);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("stale");
	TCase *tc = tcase_create("stale");

	tcase_add_test(tc, test_put_get_cap);
	tcase_add_test(tc, test_entry_bound_lru);
	tcase_add_test(tc, test_byte_bound);
	tcase_add_test(tc, test_drop_below);
	tcase_add_test(tc, test_max_age);
	suite_add_tcase(s, tc);
	return s;
}
