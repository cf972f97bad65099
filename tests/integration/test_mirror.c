/*
 * backend/mirror.c against a real Redis (7.x) named by DDNS_TEST_REDIS_URL.
 * The tests write generation 1 of a replica by hand in db 11, which they
 * flush, let a mirror fill from it, then notice names the way ddns-cache
 * does (write the key, then the notice) and check what the mirror answers
 * before and after each fetch. Markers and notices go through the
 * server-wide channel REPLICA_NAMES_CHANNEL.
 *
 * The mirror's fetches and the test's PINGs share one connection, whose
 * replies come in order: the callback of a PING sent right after a notice
 * runs once that notice's fetch was applied and before any later one is,
 * which is where the answers between two fetches are observed.
 */
#include "backend/mirror.h"
#include "shared/log.h"
#include "shared/redis.h"
#include "shared/replica.h"
#include "tests/integration/testredis.h"
#include "tests/unit/check_main.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_DB  11
#define GEN      1
#define WAIT_MS  5000
#define MAX_PING 4

#define APEX     "dyn.test."
#define WWW      "www.dyn.test."
#define NEW      "new.dyn.test."
/* In a zone of the mirror, never written nor noticed. */
#define NOPE "nope.dyn.test."
/* In no zone of the mirror. */
#define OUTSIDE "www.other.test."

#define APEX_VALUE                                                                 \
	"[{\"qtype\":\"SOA\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test. " \
	"hostmaster.dyn.test. 42 10800 3600 604800 60\",\"ttl\":60,\"domain_id\":1}]"
#define A_VALUE(name, addr)                                                             \
	"[{\"qtype\":\"A\",\"qname\":\"" name "\",\"content\":\"" addr "\",\"ttl\":60," \
	"\"domain_id\":1}]"
#define WWW_OLD A_VALUE(WWW, "192.0.2.1")
#define WWW_NEW A_VALUE(WWW, "192.0.2.2")
#define NEW_NEW A_VALUE(NEW, "192.0.2.3")

static struct redis_url base_url;

/* What the mirror answered for a name, its value copied. */
struct answer {
	enum mirror_answer a;
	char value[512];
};

/* One test's world; set up and torn down around each test (in its own process). */
static struct {
	struct event_base *base;  /* owned */
	redisContext *admin;      /* owned: writes the replica */
	struct redis_client *rds; /* owned: the mirror's command client */
	struct redis_client *sub; /* owned: subscribed to REPLICA_NAMES_CHANNEL */
	struct mirror *m;         /* owned */
	int name_notices;         /* name notices that came through the channel */
	/* answers seen from PING callbacks (see the top of the file) */
	const char *probe_name;
	struct answer probes[MAX_PING];
	int n_probes;
} fx;

static void ask(const char *name, struct answer *ret)
{
	const char *v = NULL;
	size_t len = 0;

	memset(ret, 0, sizeof(*ret));
	ret->a = mirror_get(fx.m, name, &v, &len);
	if (ret->a == MIRROR_FOUND) {
		ck_assert_ptr_nonnull(v);
		ck_assert_uint_lt(len, sizeof(ret->value));
		memcpy(ret->value, v, len); /* borrowed until the next loop turn */
	}
}

static bool answers(const char *name, enum mirror_answer a, const char *value)
{
	struct answer got;

	ask(name, &got);
	return got.a == a && (a != MIRROR_FOUND || strcmp(got.value, value) == 0);
}

static const char *answer_name(enum mirror_answer a)
{
	switch (a) {
	case MIRROR_UNKNOWN:
		return "unknown";
	case MIRROR_FOUND:
		return "found";
	case MIRROR_ABSENT:
		return "absent";
	}
	return "?";
}

#define ck_assert_answer(name, want, want_value)                                   \
	do {                                                                       \
		struct answer got_;                                                \
                                                                                   \
		ask(name, &got_);                                                  \
		ck_assert_msg(got_.a == (want), "%s: %s (%s), expected %s", name,  \
			      answer_name(got_.a), got_.value, answer_name(want)); \
		if ((want) == MIRROR_FOUND)                                        \
			ck_assert_str_eq(got_.value, want_value);                  \
	} while (0)

static void admin_ok(const char *fmt, const char *a1, const char *a2)
{
	redisReply *reply = redisCommand(fx.admin, fmt, a1, a2);

	ck_assert_ptr_nonnull(reply);
	ck_assert_msg(reply->type != REDIS_REPLY_ERROR, "%s: %s", fmt, reply->str);
	freeReplyObject(reply);
}

/* Writes @value (NULL: deletes) as the replica key of @name. */
static void replica_set(const char *name, const char *value)
{
	char key[REPLICA_KEY_SIZE];

	ck_assert_int_gt(replica_name_key(GEN, name, key, sizeof(key)), 0);
	if (value)
		admin_ok("SET %s %s", key, value);
	else
		admin_ok("DEL %s", key, NULL);
}

static void on_rds_connect(struct redis_client *c, void *arg)
{
	mirror_redis_up(fx.m, true);
}

static void on_rds_disconnect(struct redis_client *c, void *arg)
{
	mirror_redis_up(fx.m, false);
}

static void on_sub_connect(struct redis_client *c, void *arg)
{
	mirror_sub_up(fx.m, true);
}

static void on_sub_disconnect(struct redis_client *c, void *arg)
{
	mirror_sub_up(fx.m, false);
}

/* As backend/purge.c: every message on the channel goes to the mirror. */
static void on_names(struct redis_client *c, const char *channel, const char *msg, size_t len,
		     void *arg)
{
	if (!(len > 5 && memcmp(msg, "mark ", 5) == 0))
		fx.name_notices++;
	mirror_notice(fx.m, msg, len);
}

static void on_pong(redisReply *reply, const char *err, void *arg)
{
	ck_assert_msg(reply != NULL, "PING: %s", err ? err : "?");
	ck_assert_int_lt(fx.n_probes, MAX_PING);
	ask(fx.probe_name, &fx.probes[fx.n_probes++]);
}

static void setup(void)
{
	struct redis_client_opts rds_opts = { .on_connect = on_rds_connect,
					      .on_disconnect = on_rds_disconnect,
					      .name = "mirror-test" };
	struct redis_client_opts sub_opts = { .on_connect = on_sub_connect,
					      .on_disconnect = on_sub_disconnect,
					      .name = "mirror-test-sub" };
	struct mirror_config cfg = { .max_bytes = 1 << 20 };

	memset(&fx, 0, sizeof(fx));
	log_setup("test-mirror", LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT, 2);
	fx.admin = testredis_connect(&base_url);
	testredis_ok(fx.admin, "FLUSHDB", NULL);
	replica_set(APEX, APEX_VALUE);
	replica_set(WWW, WWW_OLD);
	admin_ok("SET %s %s", REPLICA_GEN_KEY, "1");

	fx.base = event_base_new();
	ck_assert_ptr_nonnull(fx.base);
	fx.rds = redis_client_create(fx.base, &base_url, &rds_opts);
	ck_assert_ptr_nonnull(fx.rds);
	fx.m = mirror_create(fx.base, fx.rds, &cfg);
	ck_assert_ptr_nonnull(fx.m);
	fx.sub = redis_client_create(fx.base, &base_url, &sub_opts);
	ck_assert_ptr_nonnull(fx.sub);
	ck_assert_int_eq(redis_client_subscribe(fx.sub, REPLICA_NAMES_CHANNEL, on_names, NULL), 0);

	TESTREDIS_RUN_UNTIL(fx.base, answers(WWW, MIRROR_FOUND, WWW_OLD), WAIT_MS);
	ck_assert_answer(WWW, MIRROR_FOUND, WWW_OLD);
	ck_assert(mirror_usable(fx.m));
}

static void teardown(void)
{
	/* the clients first: their pending commands complete into the mirror */
	redis_client_destroy(fx.sub);
	redis_client_destroy(fx.rds);
	for (int i = 0; i < 2; i++)
		testredis_step(fx.base); /* the hiredis contexts are freed on a later turn */
	mirror_destroy(fx.m);
	event_base_free(fx.base);
	redisFree(fx.admin);
}

/* What every test checks about the names it does not touch. */
static void check_bystanders(const char *noticed)
{
	ck_assert_answer(APEX, MIRROR_FOUND, APEX_VALUE);
	ck_assert_answer(NOPE, MIRROR_ABSENT, NULL);
	ck_assert_answer(OUTSIDE, MIRROR_UNKNOWN, NULL);
	if (strcmp(noticed, WWW) != 0)
		ck_assert_answer(WWW, MIRROR_FOUND, WWW_OLD);
}

struct notice_case {
	const char *desc;
	const char *name;          /* written, then noticed */
	const char *value;         /* its new value; NULL: deleted */
	int notices;               /* notices of it before the loop runs */
	enum mirror_answer before; /* what the mirror answered before */
	const char *old;           /* its value then (MIRROR_FOUND) */
	enum mirror_answer after;  /* once every fetch is back */
};

static const struct notice_case notice_cases[] = {
	{ "changed", WWW, WWW_NEW, 1, MIRROR_FOUND, WWW_OLD, MIRROR_FOUND },
	{ "new name", NEW, NEW_NEW, 1, MIRROR_ABSENT, NULL, MIRROR_FOUND },
	{ "deleted", WWW, NULL, 1, MIRROR_FOUND, WWW_OLD, MIRROR_ABSENT },
	{ "noticed twice", WWW, WWW_NEW, 2, MIRROR_FOUND, WWW_OLD, MIRROR_FOUND },
	{ "new name noticed three times", NEW, NEW_NEW, 3, MIRROR_ABSENT, NULL, MIRROR_FOUND },
};

/*
 * The fix of 3a421ee: from its notice until its (last) fetch is back, a
 * name is not answered from the mirror, neither with its old value nor as
 * absent; the lookup asks Redis, which already has the new value.
 */
START_TEST(test_notice)
{
	const struct notice_case *tc = &notice_cases[_i];
	struct answer got;
	long long end;

	ck_assert_int_le(tc->notices, MAX_PING);
	ck_assert_answer(tc->name, tc->before, tc->old);
	replica_set(tc->name, tc->value);
	fx.probe_name = tc->name;
	for (int i = 0; i < tc->notices; i++) {
		mirror_notice(fx.m, tc->name, strlen(tc->name));
		ck_assert_int_eq(redis_client_command(fx.rds, 0, on_pong, NULL, "PING"), 0);
	}

	/* the loop has not run: no fetch is back */
	ck_assert_msg(fx.n_probes == 0, "%s", tc->desc);
	ck_assert_answer(tc->name, MIRROR_UNKNOWN, NULL);
	check_bystanders(tc->name);

	/* one loop turn at a time: never the old answer again */
	end = testredis_now_ms() + WAIT_MS;
	while (fx.n_probes < tc->notices && testredis_now_ms() < end) {
		event_base_loop(fx.base, EVLOOP_ONCE);
		ask(tc->name, &got);
		ck_assert_msg(!(got.a == tc->before &&
				(got.a != MIRROR_FOUND || strcmp(got.value, tc->old) == 0)),
			      "%s: the old answer (%s) after the notice", tc->desc,
			      answer_name(got.a));
	}
	ck_assert_int_eq(fx.n_probes, tc->notices);

	/* between fetches: still not answered; after the last: the new value */
	for (int i = 0; i < tc->notices - 1; i++)
		ck_assert_msg(fx.probes[i].a == MIRROR_UNKNOWN, "%s: after fetch %d of %d: %s",
			      tc->desc, i + 1, tc->notices, answer_name(fx.probes[i].a));
	ck_assert_msg(fx.probes[tc->notices - 1].a == tc->after, "%s: after the last fetch: %s",
		      tc->desc, answer_name(fx.probes[tc->notices - 1].a));
	if (tc->after == MIRROR_FOUND)
		ck_assert_str_eq(fx.probes[tc->notices - 1].value, tc->value);

	ck_assert_answer(tc->name, tc->after, tc->value);
	check_bystanders(tc->name);
	ck_assert(mirror_usable(fx.m));
}
END_TEST

/* The wiring of backend/purge.c: a notice published on the channel is fetched. */
START_TEST(test_published_notice)
{
	replica_set(WWW, WWW_NEW);
	admin_ok("PUBLISH %s %s", REPLICA_NAMES_CHANNEL, WWW);
	TESTREDIS_RUN_UNTIL(fx.base, fx.name_notices > 0 && answers(WWW, MIRROR_FOUND, WWW_NEW),
			    WAIT_MS);
	ck_assert_int_eq(fx.name_notices, 1);
	ck_assert_answer(WWW, MIRROR_FOUND, WWW_NEW);
	check_bystanders(WWW);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s;
	TCase *tc;

	testredis_url_or_skip(TEST_DB, &base_url);
	s = suite_create("mirror");
	tc = tcase_create("mirror");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_notice, 0, sizeof(notice_cases) / sizeof(notice_cases[0]));
	tcase_add_test(tc, test_published_notice);
	suite_add_tcase(s, tc);
	return s;
}
