#include "services/user/hasher.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB  (1024 * 1024)
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Fast parameters, so that a test hashes in milliseconds. */
static const struct account_pwhash_params tiny = { 1, 8192 * 1024 };
#define TINY_PREFIX "$argon2id$v=19$m=8192,t=1,p=1$"

/* Every wait on the loop ends by then, so a lost callback fails instead of hanging. */
#define WAIT_MS 10000

/* ---- fixture: a loop, a hasher, and a record per job ---------------------- */

#define MAX_JOBS 256

/* What one job's callback saw. */
struct rec {
	int calls;
	int result;
	bool had_hash;
	char hash[ACCOUNT_HASH_MAX];
	bool on_loop_thread;
	unsigned pending; /* hasher_pending() during the callback */
};

static struct rec recs[MAX_JOBS];
static unsigned total_calls;
static pthread_t loop_thread;
static struct hasher *cur; /* the hasher under test, for hasher_pending() in callbacks */

struct fx {
	struct event_base *base;
	struct event *tick; /* wakes EVLOOP_ONCE now and then, to check the time limit */
	struct hasher *h;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void on_job(int result, const char *hash, void *arg)
{
	struct rec *r = arg;

	r->calls++;
	r->result = result;
	r->had_hash = hash != NULL;
	if (hash) {
		ck_assert_uint_lt(strlen(hash), ACCOUNT_HASH_MAX);
		strcpy(r->hash, hash);
	}
	r->on_loop_thread = pthread_equal(pthread_self(), loop_thread);
	r->pending = hasher_pending(cur);
	total_calls++;
}

static void fx_init(struct fx *fx, unsigned threads, unsigned max_queue)
{
	struct timeval tv = { 0, 10 * 1000 };

	memset(recs, 0, sizeof(recs));
	total_calls = 0;
	loop_thread = pthread_self();
	fx->base = event_base_new();
	ck_assert_ptr_nonnull(fx->base);
	fx->tick = event_new(fx->base, -1, EV_PERSIST, on_tick, NULL);
	ck_assert_ptr_nonnull(fx->tick);
	ck_assert_int_eq(event_add(fx->tick, &tv), 0);
	fx->h = hasher_create(fx->base, threads, max_queue, &tiny);
	ck_assert_ptr_nonnull(fx->h);
	cur = fx->h;
	ck_assert_uint_eq(hasher_pending(fx->h), 0);
}

static void fx_finish(struct fx *fx)
{
	hasher_destroy(fx->h);
	cur = NULL;
	event_free(fx->tick);
	event_base_free(fx->base);
}

/* Runs the loop until at least @n callbacks in all have run; fails after WAIT_MS. */
static void wait_calls(struct fx *fx, unsigned n)
{
	double deadline = now_ms() + WAIT_MS;

	while (total_calls < n) {
		ck_assert_msg(now_ms() < deadline, "timed out with %u of %u callbacks", total_calls,
			      n);
		ck_assert_int_ge(event_base_loop(fx->base, EVLOOP_ONCE), 0);
	}
}

/* Runs the loop for @ms more, so that a callback run twice would show. */
static void settle(struct fx *fx, unsigned ms)
{
	double deadline = now_ms() + ms;

	while (now_ms() < deadline)
		ck_assert_int_ge(event_base_loop(fx->base, EVLOOP_ONCE), 0);
}

/* Submits on a copy of @pw that is wiped and freed at once: the hasher must copy it. */
static int submit_copy(struct fx *fx, const char *hash, const char *pw, size_t len, struct rec *r)
{
	char *copy = malloc(len ? len : 1);
	int ret;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, pw, len);
	if (hash)
		ret = hasher_verify(fx->h, hash, copy, len, on_job, r);
	else
		ret = hasher_hash(fx->h, copy, len, on_job, r);
	memset(copy, 'Z', len);
	free(copy);
	return ret;
}

static void assert_hash_rec(const struct rec *r, const char *pw, size_t len)
{
	ck_assert_int_eq(r->calls, 1);
	ck_assert_int_eq(r->result, 0);
	ck_assert(r->had_hash);
	ck_assert(r->on_loop_thread);
	ck_assert_msg(strncmp(r->hash, TINY_PREFIX, strlen(TINY_PREFIX)) == 0, "%s", r->hash);
	ck_assert(account_password_verify(r->hash, pw, len));
}

static void assert_verify_rec(const struct rec *r, int result)
{
	ck_assert_int_eq(r->calls, 1);
	ck_assert_int_eq(r->result, result);
	ck_assert(!r->had_hash);
	ck_assert(r->on_loop_thread);
}

/* ---- hash, then verify right and wrong ------------------------------------ */

#define LONG_LEN 4096

static char long_pw[LONG_LEN]; /* every byte value, NULs included */

static const struct pw_case {
	const char *name;
	const char *pw; /* NULL: long_pw */
	size_t len;
} pw_cases[] = {
	{ "ascii", "correct-horse-battery", 21 },
	{ "utf-8", "p\xc3\xa4ssw\xc3\xb6rd-\xe2\x82\xac\xe2\x82\xac", 17 },
	{ "NUL inside", "abc\0def\0ghij", 12 },
	{ "NUL first", "\0secret-tail", 12 },
	{ "one byte", "x", 1 },
	{ "4096 bytes", NULL, LONG_LEN },
};

START_TEST(test_hash_verify)
{
	const struct pw_case *c = &pw_cases[_i];
	const char *pw = c->pw;
	size_t len = c->len;
	char *wrong;
	struct fx fx;

	for (size_t i = 0; i < LONG_LEN; i++)
		long_pw[i] = (char)(i * 7 % 256);
	if (!pw)
		pw = long_pw;
	wrong = malloc(len);
	ck_assert_ptr_nonnull(wrong);
	memcpy(wrong, pw, len);
	wrong[len - 1] ^= 1;

	fx_init(&fx, 2, 8);
	ck_assert_int_eq(submit_copy(&fx, NULL, pw, len, &recs[0]), 0);
	ck_assert_uint_eq(hasher_pending(fx.h), 1);
	wait_calls(&fx, 1);
	assert_hash_rec(&recs[0], pw, len);
	ck_assert_msg(strncmp(recs[0].hash, "$argon2id$", 10) == 0, "%s: %s", c->name,
		      recs[0].hash);

	/* right, last byte changed, one byte short, cut at the first NUL, empty */
	ck_assert_int_eq(submit_copy(&fx, recs[0].hash, pw, len, &recs[1]), 0);
	ck_assert_int_eq(submit_copy(&fx, recs[0].hash, wrong, len, &recs[2]), 0);
	ck_assert_int_eq(submit_copy(&fx, recs[0].hash, pw, len - 1, &recs[3]), 0);
	ck_assert_int_eq(submit_copy(&fx, recs[0].hash, pw, strnlen(pw, len), &recs[4]), 0);
	ck_assert_int_eq(submit_copy(&fx, recs[0].hash, "", 0, &recs[5]), 0);
	ck_assert_uint_eq(hasher_pending(fx.h), 5);
	wait_calls(&fx, 6);
	assert_verify_rec(&recs[1], 1);
	assert_verify_rec(&recs[2], 0);
	assert_verify_rec(&recs[3], 0);
	/* a password without NUL is the whole of itself: that one matches */
	assert_verify_rec(&recs[4], strnlen(pw, len) == len ? 1 : 0);
	assert_verify_rec(&recs[5], 0);
	settle(&fx, 30);
	ck_assert_uint_eq(total_calls, 6);
	ck_assert_uint_eq(hasher_pending(fx.h), 0);
	fx_finish(&fx);
	ck_assert_uint_eq(total_calls, 6);
	free(wrong);
}
END_TEST

/* ---- many jobs at once: each callback once -------------------------------- */

static const struct many_case {
	unsigned threads, max_queue, jobs;
} many_cases[] = {
	{ 2, 64, 50 },
	{ 1, 64, 50 },
	{ 4, 50, 50 },
	{ 3, 64, 64 },
};

static void pw_of(unsigned i, char *buf, size_t size)
{
	snprintf(buf, size, "password-number-%u", i);
}

START_TEST(test_many)
{
	const struct many_case *c = &many_cases[_i];
	char stored[ACCOUNT_HASH_MAX];
	char pw[32];
	struct fx fx;

	ck_assert_uint_le(c->jobs, MAX_JOBS);
	/* the odd jobs verify against the hash of password 1 */
	pw_of(1, pw, sizeof(pw));
	ck_assert_int_eq(account_password_hash(pw, strlen(pw), &tiny, stored), 0);

	fx_init(&fx, c->threads, c->max_queue);
	for (unsigned i = 0; i < c->jobs; i++) {
		pw_of(i % 4 == 1 ? 1 : i, pw, sizeof(pw));
		ck_assert_int_eq(submit_copy(&fx, i % 2 ? stored : NULL, pw, strlen(pw), &recs[i]),
				 0);
		ck_assert_uint_eq(hasher_pending(fx.h), i + 1);
	}
	wait_calls(&fx, c->jobs);
	settle(&fx, 30);
	ck_assert_uint_eq(total_calls, c->jobs);
	ck_assert_uint_eq(hasher_pending(fx.h), 0);
	for (unsigned i = 0; i < c->jobs; i++) {
		pw_of(i, pw, sizeof(pw));
		if (i % 2 == 0)
			assert_hash_rec(&recs[i], pw, strlen(pw));
		else
			assert_verify_rec(&recs[i], i % 4 == 1 ? 1 : 0);
	}
	/* the pending counts seen by the callbacks are each of jobs-1 .. 0 once */
	for (unsigned k = 0; k < c->jobs; k++) {
		unsigned seen = 0;

		for (unsigned i = 0; i < c->jobs; i++)
			seen += recs[i].pending == k;
		ck_assert_msg(seen == 1, "pending %u seen %u times", k, seen);
	}
	fx_finish(&fx);
	ck_assert_uint_eq(total_calls, c->jobs);
}
END_TEST

/* ---- a full queue --------------------------------------------------------- */

static const struct full_case {
	unsigned threads, max_queue, submits;
} full_cases[] = {
	{ 1, 1, 3 },
	{ 1, 2, 8 },
	{ 2, 2, 16 },
};

START_TEST(test_queue_full)
{
	const struct full_case *c = &full_cases[_i];
	static const char pw[] = "queue-full-password";
	unsigned accepted = 0, rejected = 0;
	int ret[MAX_JOBS];
	struct fx fx;

	fx_init(&fx, c->threads, c->max_queue);
	for (unsigned i = 0; i < c->submits; i++) {
		ret[i] = hasher_hash(fx.h, pw, sizeof(pw) - 1, on_job, &recs[i]);
		ck_assert_msg(ret[i] == 0 || ret[i] == -EAGAIN, "submit %u: %d", i, ret[i]);
		if (ret[i] == 0)
			accepted++;
		else
			rejected++;
		ck_assert_uint_eq(hasher_pending(fx.h), accepted);
	}
	/* the first max_queue always fit; no more than the workers and the queue hold */
	for (unsigned i = 0; i < c->max_queue; i++)
		ck_assert_int_eq(ret[i], 0);
	ck_assert_uint_ge(rejected, 1);
	ck_assert_uint_le(accepted, c->threads + c->max_queue);

	wait_calls(&fx, accepted);
	settle(&fx, 50);
	ck_assert_uint_eq(total_calls, accepted);
	ck_assert_uint_eq(hasher_pending(fx.h), 0);
	for (unsigned i = 0; i < c->submits; i++) {
		if (ret[i] == 0)
			assert_hash_rec(&recs[i], pw, sizeof(pw) - 1);
		else
			ck_assert_int_eq(recs[i].calls, 0);
	}

	/* once drained, the queue takes jobs again */
	ck_assert_int_eq(hasher_hash(fx.h, pw, sizeof(pw) - 1, on_job, &recs[c->submits]), 0);
	wait_calls(&fx, accepted + 1);
	assert_hash_rec(&recs[c->submits], pw, sizeof(pw) - 1);
	fx_finish(&fx);
	ck_assert_uint_eq(total_calls, accepted + 1);
}
END_TEST

/* ---- destroy with jobs queued --------------------------------------------- */

/*
 * @threads slow verifications (a hash with heavy parameters) occupy every
 * worker; then exactly @max_queue quick hashes wait behind them. The last of
 * those is accepted only once every slow one has been taken, so at destroy the
 * slow ones are running and the quick ones waiting.
 */
static const struct destroy_case {
	unsigned threads, max_queue;
} destroy_cases[] = {
	{ 1, 1 },
	{ 1, 4 },
	{ 2, 3 },
};

START_TEST(test_destroy)
{
	const struct destroy_case *c = &destroy_cases[_i];
	static const struct account_pwhash_params heavy = { 3, 32 * MIB };
	static const char pw[] = "slow-password-1", quick[] = "quick-password";
	char stored[ACCOUNT_HASH_MAX];
	unsigned n = 0, queued = 0;
	double deadline;
	struct fx fx;

	ck_assert_int_eq(account_password_hash(pw, sizeof(pw) - 1, &heavy, stored), 0);
	fx_init(&fx, c->threads, c->max_queue);
	/* slow ones: even right (1), odd wrong (0) */
	for (; n < c->threads; n++)
		ck_assert_int_eq(
			hasher_verify(fx.h, stored, pw, sizeof(pw) - 1 - n % 2, on_job, &recs[n]),
			0);
	deadline = now_ms() + WAIT_MS;
	while (queued < c->max_queue) {
		int r;

		ck_assert_msg(now_ms() < deadline, "the workers never took the slow jobs");
		/* a refused job's record is reused: a callback for it would count twice */
		r = hasher_hash(fx.h, quick, sizeof(quick) - 1, on_job, &recs[n]);
		ck_assert_msg(r == 0 || r == -EAGAIN, "%d", r);
		if (r == 0) {
			queued++;
			n++;
		}
	}
	ck_assert_uint_eq(hasher_pending(fx.h), c->threads + c->max_queue);
	ck_assert_uint_eq(total_calls, 0);

	hasher_destroy(fx.h);
	fx.h = NULL;
	ck_assert_uint_eq(total_calls, c->threads + c->max_queue);
	for (unsigned i = 0; i < c->threads; i++)
		assert_verify_rec(&recs[i], i % 2 ? 0 : 1);
	for (unsigned i = c->threads; i < n; i++) {
		ck_assert_int_eq(recs[i].calls, 1);
		ck_assert_int_eq(recs[i].result, -ECANCELED);
		ck_assert(!recs[i].had_hash);
		ck_assert(recs[i].on_loop_thread);
	}
	/* nothing is left for the loop */
	settle(&fx, 30);
	ck_assert_uint_eq(total_calls, c->threads + c->max_queue);
	fx_finish(&fx);
}
END_TEST

/* Destroying with finished jobs not yet delivered delivers them, once. */
START_TEST(test_destroy_finished)
{
	static const char pw[] = "finished-password";
	struct fx fx;

	fx_init(&fx, 2, 4);
	ck_assert_int_eq(hasher_hash(fx.h, pw, sizeof(pw) - 1, on_job, &recs[0]), 0);
	ck_assert_int_eq(hasher_hash(fx.h, pw, sizeof(pw) - 1, on_job, &recs[1]), 0);
	hasher_destroy(fx.h);
	fx.h = NULL;
	ck_assert_uint_eq(total_calls, 2);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(recs[i].calls, 1);
		ck_assert(recs[i].on_loop_thread);
		if (recs[i].result == 0)
			assert_hash_rec(&recs[i], pw, sizeof(pw) - 1);
		else
			ck_assert_int_eq(recs[i].result, -ECANCELED);
	}
	settle(&fx, 30);
	ck_assert_uint_eq(total_calls, 2);
	fx_finish(&fx);
	hasher_destroy(NULL);
}
END_TEST

/* ---- the dummy hash ------------------------------------------------------- */

static const struct short_case {
	const char *pw;
	size_t len;
} short_cases[] = {
	{ "", 0 },
	{ "a", 1 },
	{ "\0", 1 },
	{ "password", 8 },
	{ "0123456789", 10 },
	{ "correct-horse-battery-staple", 28 },
	/* 64 hex digits, the shape of the dummy's own password */
	{ "0000000000000000000000000000000000000000000000000000000000000000", 64 },
	{ "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 64 },
};

START_TEST(test_dummy)
{
	const struct short_case *c = &short_cases[_i];
	const char *dummy;
	struct hasher *other;
	struct fx fx;

	fx_init(&fx, 1, 4);
	dummy = hasher_dummy(fx.h);
	ck_assert_ptr_nonnull(dummy);
	ck_assert_uint_lt(strlen(dummy), ACCOUNT_HASH_MAX);
	ck_assert_msg(strncmp(dummy, TINY_PREFIX, strlen(TINY_PREFIX)) == 0, "%s", dummy);
	ck_assert(!account_password_needs_rehash(dummy, &tiny));
	ck_assert(!account_password_verify(dummy, c->pw, c->len));

	ck_assert_int_eq(hasher_verify(fx.h, dummy, c->pw, c->len, on_job, &recs[0]), 0);
	wait_calls(&fx, 1);
	assert_verify_rec(&recs[0], 0);

	/* a fresh one per hasher */
	other = hasher_create(fx.base, 1, 1, &tiny);
	ck_assert_ptr_nonnull(other);
	ck_assert_str_ne(hasher_dummy(other), dummy);
	hasher_destroy(other);
	fx_finish(&fx);
}
END_TEST

/* ---- hashes too long to be ours ------------------------------------------- */

static const struct long_hash_case {
	size_t len;
	int ret;
} long_hash_cases[] = {
	{ ACCOUNT_HASH_MAX - 1, 0 }, /* fits: a malformed hash verifies nothing */
	{ ACCOUNT_HASH_MAX, -EINVAL },
	{ ACCOUNT_HASH_MAX + 1, -EINVAL },
	{ 4096, -EINVAL },
};

START_TEST(test_long_hash)
{
	const struct long_hash_case *c = &long_hash_cases[_i];
	static const char pw[] = "long-hash-password";
	char *hash = malloc(c->len + 1);
	struct fx fx;

	ck_assert_ptr_nonnull(hash);
	memcpy(hash, TINY_PREFIX, strlen(TINY_PREFIX));
	memset(hash + strlen(TINY_PREFIX), 'A', c->len - strlen(TINY_PREFIX));
	hash[c->len] = '\0';

	fx_init(&fx, 1, 4);
	ck_assert_int_eq(hasher_verify(fx.h, hash, pw, sizeof(pw) - 1, on_job, &recs[0]), c->ret);
	ck_assert_uint_eq(hasher_pending(fx.h), c->ret == 0 ? 1 : 0);
	if (c->ret == 0) {
		wait_calls(&fx, 1);
		assert_verify_rec(&recs[0], 0);
	}
	settle(&fx, 30);
	ck_assert_uint_eq(total_calls, c->ret == 0 ? 1 : 0);
	ck_assert_int_eq(recs[0].calls, c->ret == 0 ? 1 : 0);
	ck_assert_uint_eq(hasher_pending(fx.h), 0);
	fx_finish(&fx);
	ck_assert_uint_eq(total_calls, c->ret == 0 ? 1 : 0);
	free(hash);
}
END_TEST

/* ---- hasher_pending ------------------------------------------------------- */

static const struct pending_case {
	unsigned threads, jobs;
} pending_cases[] = {
	{ 1, 1 },
	{ 1, 3 },
	{ 2, 6 },
};

START_TEST(test_pending)
{
	const struct pending_case *c = &pending_cases[_i];
	static const char pw[] = "pending-password";
	char toolong[ACCOUNT_HASH_MAX + 1];
	struct fx fx;

	memset(toolong, 'x', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	fx_init(&fx, c->threads, c->jobs);
	for (unsigned i = 0; i < c->jobs; i++) {
		ck_assert_int_eq(hasher_hash(fx.h, pw, sizeof(pw) - 1, on_job, &recs[i]), 0);
		ck_assert_uint_eq(hasher_pending(fx.h), i + 1);
	}
	/* refusals do not count */
	ck_assert_int_eq(hasher_verify(fx.h, toolong, pw, sizeof(pw) - 1, on_job, &recs[c->jobs]),
			 -EINVAL);
	ck_assert_uint_eq(hasher_pending(fx.h), c->jobs);

	/* the count goes down as the callbacks run */
	while (total_calls < c->jobs) {
		wait_calls(&fx, total_calls + 1);
		ck_assert_uint_eq(hasher_pending(fx.h), c->jobs - total_calls);
	}
	settle(&fx, 30);
	ck_assert_uint_eq(total_calls, c->jobs);
	ck_assert_uint_eq(hasher_pending(fx.h), 0);
	for (unsigned k = 0; k < c->jobs; k++) {
		unsigned seen = 0;

		for (unsigned i = 0; i < c->jobs; i++)
			seen += recs[i].calls == 1 && recs[i].pending == k;
		ck_assert_msg(seen == 1, "pending %u seen %u times", k, seen);
	}
	ck_assert_int_eq(recs[c->jobs].calls, 0);
	fx_finish(&fx);
}
END_TEST

/* ---- arguments hasher_create refuses -------------------------------------- */

static const struct create_case {
	const char *name;
	unsigned threads, max_queue;
	unsigned long long opslimit;
	size_t memlimit;
	bool ok;
} create_cases[] = {
	{ "one thread", 1, 1, 1, 8 * MIB, true },       { "64 threads", 64, 1, 1, 8 * MIB, true },
	{ "no thread", 0, 1, 1, 8 * MIB, false },       { "65 threads", 65, 1, 1, 8 * MIB, false },
	{ "no queue", 1, 0, 1, 8 * MIB, false },        { "no passes", 1, 1, 0, 8 * MIB, false },
	{ "memory below 8 KiB", 1, 1, 1, 8191, false },
};

START_TEST(test_create)
{
	const struct create_case *c = &create_cases[_i];
	struct account_pwhash_params p = { c->opslimit, c->memlimit };
	struct event_base *base = event_base_new();
	struct hasher *h;

	ck_assert_ptr_nonnull(base);
	h = hasher_create(base, c->threads, c->max_queue, &p);
	ck_assert_msg((h != NULL) == c->ok, "%s", c->name);
	if (h)
		ck_assert_uint_eq(hasher_pending(h), 0);
	hasher_destroy(h);
	event_base_free(base);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("hasher");
	TCase *tc = tcase_create("hasher");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_hash_verify, 0, N(pw_cases));
	tcase_add_loop_test(tc, test_many, 0, N(many_cases));
	tcase_add_loop_test(tc, test_queue_full, 0, N(full_cases));
	tcase_add_loop_test(tc, test_destroy, 0, N(destroy_cases));
	tcase_add_test(tc, test_destroy_finished);
	tcase_add_loop_test(tc, test_dummy, 0, N(short_cases));
	tcase_add_loop_test(tc, test_long_hash, 0, N(long_hash_cases));
	tcase_add_loop_test(tc, test_pending, 0, N(pending_cases));
	tcase_add_loop_test(tc, test_create, 0, N(create_cases));
	suite_add_tcase(s, tc);
	return s;
}
