#include "backend/recent.h"
#include "tests/unit/check_main.h"

#include <stdint.h>

/*
 * After marking "h1.dyn.test." at 100 and "a.b.other.test." at 300, the
 * last answer at or below each name (a 2^16 table: these few names do not
 * collide; the collision case is its own test).
 */
static const struct {
	const char *name;
	int64_t want;
} cases[] = {
	{ "h1.dyn.test.", 100 },         /* the name itself */
	{ "dyn.test.", 100 },            /* its zone: a flush of it covers h1 */
	{ "test.", 300 },                /* both names are below */
	{ ".", 300 },                    /* the root covers everything */
	{ "b.other.test.", 300 },        /* an ancestor */
	{ "other.test.", 300 },          /* an ancestor further up */
	{ "a.b.other.test.", 300 },      /* the second name */
	{ "h2.dyn.test.", INT64_MIN },   /* a sibling: never answered */
	{ "x.h1.dyn.test.", INT64_MIN }, /* below a marked name: not marked */
	{ "dyn.test", INT64_MIN },       /* no trailing dot: another key */
};

static struct recent *marked(void)
{
	struct recent *r = recent_create(16);

	ck_assert_ptr_nonnull(r);
	recent_mark(r, "h1.dyn.test.", 100);
	recent_mark(r, "a.b.other.test.", 300);
	return r;
}

START_TEST(test_last)
{
	struct recent *r = marked();

	ck_assert_msg(recent_last(r, cases[_i].name) == cases[_i].want, "%s: %lld, want %lld",
		      cases[_i].name, (long long)recent_last(r, cases[_i].name),
		      (long long)cases[_i].want);
	recent_destroy(r);
}
END_TEST

START_TEST(test_latest_wins)
{
	struct recent *r = marked();

	recent_mark(r, "h1.dyn.test.", 50); /* an earlier time never goes back */
	ck_assert(recent_last(r, "h1.dyn.test.") == 100);
	recent_mark(r, "a.h1.dyn.test.", 200); /* a name below moves it on */
	ck_assert(recent_last(r, "h1.dyn.test.") == 200);
	ck_assert(recent_last(r, "a.h1.dyn.test.") == 200);
	ck_assert(recent_last(r, "dyn.test.") == 200);
	recent_mark(r, ".", 400); /* the root marks only itself */
	ck_assert(recent_last(r, ".") == 400);
	ck_assert(recent_last(r, "test.") == 300);
	recent_destroy(r);
}
END_TEST

START_TEST(test_collisions_err_towards_recent)
{
	struct recent *r = recent_create(0); /* one slot: every name collides */

	ck_assert_ptr_nonnull(r);
	ck_assert(recent_last(r, "a.") == INT64_MIN);
	recent_mark(r, "a.", 10);
	recent_mark(r, "b.", 5);
	/* never earlier than the truth, whatever shares the slot */
	ck_assert(recent_last(r, "a.") == 10);
	ck_assert(recent_last(r, "b.") == 10);
	ck_assert(recent_last(r, "c.") == 10);
	recent_destroy(r);
	recent_destroy(NULL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("recent");
	TCase *tc = tcase_create("recent");

	tcase_add_loop_test(tc, test_last, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_latest_wins);
	tcase_add_test(tc, test_collisions_err_towards_recent);
	suite_add_tcase(s, tc);
	return s;
}
