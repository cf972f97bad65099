#include "backend/purge.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/*
 * How long pdns may keep an answer, from the body of its config API:
 * max(query-cache-ttl, negquery-cache-ttl) + cache-ttl seconds, plus the
 * margin. want_ms -1: refused with -EPROTO.
 */
#define SET(n, v) "{\"name\":\"" n "\",\"type\":\"ConfigSetting\",\"value\":\"" v "\"}"
/* the three settings: cache-ttl, query-cache-ttl, negquery-cache-ttl */
#define TTLS(c, q, n)                                                                         \
	"[" SET("cache-ttl", c) "," SET("query-cache-ttl", q) "," SET("negquery-cache-ttl", \
								       n) "]"
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
	{ "a setting missing", "[" SET("cache-ttl", "20") "," SET("query-cache-ttl", "20") "]", -1 },
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

Suite *make_suite(void)
{
	Suite *s = suite_create("purge");
	TCase *tc = tcase_create("window");

	tcase_add_loop_test(tc, test_window, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
