#include "backend/purge.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * How long pdns may keep an answer, from the body of its config API:
 * max(query-cache-ttl, negquery-cache-ttl) + cache-ttl seconds, plus the
 * margin. want_ms -1: refused with -EPROTO.
 */
#define SET(n, v) "{\"name\":\"" n "\",\"type\":\"ConfigSetting\",\"value\":\"" v "\"}"
/* the three settings: cache-ttl, query-cache-ttl, negquery-cache-ttl */
#define TTLS(c, q, n) \
	"[" SET("cache-ttl", c) "," SET("query-cache-ttl", q) "," SET("negquery-cache-ttl", n) "]"
#define M PURGE_WINDOW_MARGIN_MS

static const struct {
	const char *what, *body;
	int64_t want_ms;
} cases[] = {
	{ "pdns's defaults among other settings",
	  "[" SET("api", "yes") "," SET("cache-ttl", "20") "," SET("query-cache-ttl", "20") "," SET(
		  "negquery-cache-ttl", "60") "," SET("zone-cache-refresh-interval", "300") "]",
	  (60 + 20) * 1000 + M },
	{ "the positive query cache the longer", TTLS("5", "90", "10"), (90 + 5) * 1000 + M },
	{ "every cache off: the margin alone", TTLS("0", "0", "0"), M },
	{ "the largest TTL taken", TTLS("2147483647", "0", "0"), 2147483647LL * 1000 + M },
	{ "a setting missing", "[" SET("cache-ttl", "20") "," SET("query-cache-ttl", "20") "]",
	  -1 },
	{ "an empty value", TTLS("", "20", "60"), -1 },
	{ "a negative value", TTLS("20", "-1", "60"), -1 },
	{ "a unit after the number", TTLS("20", "20", "60s"), -1 },
	{ "a sign before the number", TTLS("+20", "20", "60"), -1 },
	{ "over 2^31 - 1", TTLS("2147483648", "20", "60"), -1 },
	{ "a number, not a string",
	  "[{\"name\":\"cache-ttl\",\"value\":20}," SET("query-cache-ttl", "20") "," SET(
		  "negquery-cache-ttl", "60") "]",
	  -1 },
	{ "an object, not the array", "{\"cache-ttl\":\"20\"}", -1 },
	{ "not JSON", "<html>404</html>", -1 },
	{ "empty", "", -1 },
};

START_TEST(test_window)
{
	int64_t ms = 42;
	int r = purge_window_parse(cases[_i].body, strlen(cases[_i].body), &ms);

	if (cases[_i].want_ms < 0) {
		ck_assert_msg(r == -EPROTO, "%s: %d, want -EPROTO", cases[_i].what, r);
		ck_assert_msg(ms == 42, "%s: the result was written on failure", cases[_i].what);
	} else {
		ck_assert_msg(r == 0, "%s: %d", cases[_i].what, r);
		ck_assert_msg(ms == cases[_i].want_ms, "%s: %lld ms, want %lld", cases[_i].what,
			      (long long)ms, (long long)cases[_i].want_ms);
	}
}
END_TEST

/*
 * purge_window_needless at now = 1,000,000 ms: a 10 s window read 500 ms
 * ago by a process that started 100 s ago, unless a case says otherwise.
 * NEVER: no answer at or below the name ever.
 */
#define NOW   1000000
#define NEVER INT64_MIN
#define NONE  INT64_MIN

static const struct {
	const char *what;
	int64_t window_ms, asked_ago, started_ago, clean_ago, hold_in, last_ago;
	bool want;
} needless[] = {
	{ "never answered", 10000, 500, 100000, NONE, NONE, NEVER, true },
	{ "answered just over the window ago", 10000, 500, 100000, NONE, NONE, 10001, true },
	{ "answered exactly the window ago", 10000, 500, 100000, NONE, NONE, 10000, false },
	{ "answered within the window", 10000, 500, 100000, NONE, NONE, 5000, false },
	{ "answered just now", 10000, 500, 100000, NONE, NONE, 0, false },
	{ "the window unknown", -1, 500, 100000, NONE, NONE, NEVER, false },
	{ "the window read 2 s ago: still trusted", 10000, 2000, 100000, NONE, NONE, NEVER, true },
	{ "the window read over 2 s ago", 10000, 2001, 100000, NONE, NONE, NEVER, false },
	{ "started within the window, no clean flush", 10000, 500, 10000, NONE, NONE, NEVER,
	  false },
	{ "started within the window, a clean flush", 10000, 500, 10000, 6000, NONE, NEVER, true },
	{ "a clean flush, answered within the window since", 10000, 500, 10000, 6000, NONE, 2000,
	  false },
	{ "started just over the window ago", 10000, 500, 10001, NONE, NONE, NEVER, true },
	{ "held: the wall clock went back", 10000, 500, 100000, NONE, 1, NEVER, false },
	{ "the hold just over", 10000, 500, 100000, NONE, 0, NEVER, true },
	{ "caches off: the margin alone", PURGE_WINDOW_MARGIN_MS, 500, 100000, NONE, NONE,
	  PURGE_WINDOW_MARGIN_MS + 1, true },
};

START_TEST(test_needless)
{
	const __typeof__(needless[0]) *t = &needless[_i];
	struct purge_window w = {
		.window_ms = t->window_ms,
		.asked_ms = NOW - t->asked_ago,
		.started_ms = NOW - t->started_ago,
		.clean_ms = t->clean_ago == NONE ? INT64_MIN : NOW - t->clean_ago,
		.hold_until_ms = t->hold_in == NONE ? INT64_MIN : NOW + t->hold_in,
	};
	int64_t last = t->last_ago == NEVER ? INT64_MIN : NOW - t->last_ago;

	ck_assert_msg(purge_window_needless(&w, NOW, last) == t->want, "%s: %s, want %s", t->what,
		      t->want ? "a flush" : "none", t->want ? "none" : "a flush");
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("purge");
	TCase *tc = tcase_create("window");

	tcase_add_loop_test(tc, test_window, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("needless");
	tcase_add_loop_test(tc, test_needless, 0, (int)(sizeof(needless) / sizeof(needless[0])));
	suite_add_tcase(s, tc);
	return s;
}
