#include "services/api/tokens.h"
#include "tests/unit/check_main.h"

#include <stdio.h>
#include <string.h>

#define NOW  1700000000LL
#define SKEW 30

static struct token_hit hit_for(long long exp, long long nbf, uint64_t serial)
{
	struct token_hit h = { .key_serial = serial };

	snprintf(h.claims.sub, sizeof(h.claims.sub), "42");
	snprintf(h.claims.jti, sizeof(h.claims.jti), "j1");
	snprintf(h.kid, sizeof(h.kid), "k1");
	h.claims.iat = NOW;
	h.claims.exp = exp;
	h.claims.nbf = nbf;
	return h;
}

/* Each case: a token put at NOW with exp/nbf, looked up with @ask at @at. */
static const struct tok_case {
	const char *name;
	const char *ask;
	long long exp, nbf, at;
	bool found;
} tok_cases[] = {
	{ "same token", "aaa.bbb.ccc", NOW + 300, 0, NOW, true },
	{ "another token", "aaa.bbb.ccd", NOW + 300, 0, NOW, false },
	{ "a prefix of it", "aaa.bbb.cc", NOW + 300, 0, NOW, false },
	{ "29 s after exp: within the skew", "aaa.bbb.ccc", NOW + 300, 0, NOW + 329, true },
	{ "30 s after exp: the last second", "aaa.bbb.ccc", NOW + 300, 0, NOW + 330, true },
	{ "31 s after exp: gone", "aaa.bbb.ccc", NOW + 300, 0, NOW + 331, false },
	{ "nbf 60 s ahead: not yet", "aaa.bbb.ccc", NOW + 300, NOW + 60, NOW, false },
	{ "nbf 30 s ahead: within the skew", "aaa.bbb.ccc", NOW + 300, NOW + 30, NOW, true },
};

START_TEST(test_get)
{
	const struct tok_case *c = &tok_cases[_i];
	struct tokens *t = tokens_create();
	struct token_hit h = hit_for(c->exp, c->nbf, 7), got;
	const char *tok = "aaa.bbb.ccc";

	ck_assert_ptr_nonnull(t);
	tokens_put(t, tok, strlen(tok), &h, NOW, SKEW);
	memset(&got, 0, sizeof(got));
	ck_assert_msg(tokens_get(t, c->ask, strlen(c->ask), c->at, SKEW, &got) == c->found, "%s",
		      c->name);
	if (c->found) {
		ck_assert_str_eq(got.kid, "k1");
		ck_assert_str_eq(got.claims.sub, "42");
		ck_assert_uint_eq(got.key_serial, 7);
		ck_assert_int_eq(got.claims.exp, c->exp);
	}
	tokens_destroy(t);
}
END_TEST

/* An expired entry is dropped on lookup: asking again at an earlier time misses. */
START_TEST(test_expired_dropped)
{
	struct tokens *t = tokens_create();
	struct token_hit h = hit_for(NOW + 300, 0, 1), got;

	tokens_put(t, "x.y.z", 5, &h, NOW, SKEW);
	ck_assert(!tokens_get(t, "x.y.z", 5, NOW + 1000, SKEW, &got));
	ck_assert(!tokens_get(t, "x.y.z", 5, NOW, SKEW, &got));
	tokens_destroy(t);
	tokens_destroy(NULL);
}
END_TEST

/* Full: expired entries make room; if none are expired, new tokens are not kept. */
START_TEST(test_bound)
{
	struct tokens *t = tokens_create();
	struct token_hit shortlived = hit_for(NOW + 10, 0, 1), longlived = hit_for(NOW + 300, 0, 1);
	struct token_hit got;
	char tok[32];

	for (int i = 0; i < TOKENS_MAX; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		tokens_put(t, tok, strlen(tok), i % 2 ? &longlived : &shortlived, NOW, SKEW);
	}
	ck_assert(tokens_get(t, "t0", 2, NOW, SKEW, &got));
	/* at NOW + 100 the short-lived half is expired: a new token fits */
	tokens_put(t, "new", 3, &longlived, NOW + 100, SKEW);
	ck_assert(tokens_get(t, "new", 3, NOW + 100, SKEW, &got));
	ck_assert(tokens_get(t, "t1", 2, NOW + 100, SKEW, &got));
	ck_assert(!tokens_get(t, "t0", 2, NOW + 100, SKEW, &got));
	/* fill again with long-lived ones: once full, a newcomer takes the place
	 * of another token of its bucket */
	for (int i = 0; i < TOKENS_MAX; i++) {
		snprintf(tok, sizeof(tok), "u%d", i);
		tokens_put(t, tok, strlen(tok), &longlived, NOW + 100, SKEW);
	}
	tokens_put(t, "late", 4, &longlived, NOW + 100, SKEW);
	ck_assert(tokens_get(t, "late", 4, NOW + 100, SKEW, &got));
	tokens_destroy(t);
}
END_TEST

/* A token verified again (its key was read again) replaces its entry. */
START_TEST(test_replace)
{
	struct tokens *t = tokens_create();
	struct token_hit a = hit_for(NOW + 300, 0, 1), b = hit_for(NOW + 300, 0, 2), got;

	tokens_put(t, "x.y.z", 5, &a, NOW, SKEW);
	tokens_put(t, "x.y.z", 5, &b, NOW, SKEW);
	ck_assert(tokens_get(t, "x.y.z", 5, NOW, SKEW, &got));
	ck_assert_uint_eq(got.key_serial, 2);
	tokens_destroy(t);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("tokens");
	TCase *tc = tcase_create("tokens");

	tcase_add_loop_test(tc, test_get, 0, sizeof(tok_cases) / sizeof(tok_cases[0]));
	tcase_add_test(tc, test_expired_dropped);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_replace);
	suite_add_tcase(s, tc);
	return s;
}
