#include "shared/config.h"
#include "shared/daemon.h"
#include "shared/http.h"
#include "tests/unit/check_main.h"

#include <event2/event.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- SIGTERM: the drains, then the loop exits ----------------------------- */

enum drain {
	NONE,    /* no on_stop */
	NO,      /* on_stop starts no drain of its own */
	LATER,   /* its drain finishes after finish_ms */
	AT_ONCE, /* its drain finishes inside on_stop */
	NEVER,   /* its drain never finishes: stop_timeout_ms ends the loop */
};

struct stop_case {
	enum drain drain;
	unsigned finish_ms, stop_timeout_ms;
	long min_ms, max_ms; /* when the loop exits after the signal */
	bool done_called;
};

static const struct stop_case stop_cases[] = {
	{ NONE, 0, 0, 0, 1000, false },
	{ NO, 0, 0, 0, 1000, false },
	{ LATER, 300, 0, 300, 1500, true },
	{ LATER, 300, 3000, 300, 1500, true }, /* finishes before the stop timeout */
	{ AT_ONCE, 0, 0, 0, 1000, true },
	{ NEVER, 0, 200, 200, 1500, false },
};

struct stop_fx {
	const struct stop_case *c;
	struct event_base *base;
	struct event *finish;
	daemon_done_fn done;
	void *done_arg;
	int n_stop;
	bool done_called, guard_fired;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void finish_drain(evutil_socket_t fd, short what, void *arg)
{
	struct stop_fx *fx = arg;

	fx->done_called = true;
	fx->done(fx->done_arg);
}

static bool on_stop(void *arg, daemon_done_fn done, void *done_arg)
{
	struct stop_fx *fx = arg;
	struct timeval tv = { fx->c->finish_ms / 1000, (fx->c->finish_ms % 1000) * 1000 };

	fx->n_stop++;
	fx->done = done;
	fx->done_arg = done_arg;
	switch (fx->c->drain) {
	case LATER:
		fx->finish = evtimer_new(fx->base, finish_drain, fx);
		ck_assert_ptr_nonnull(fx->finish);
		evtimer_add(fx->finish, &tv);
		return true;
	case AT_ONCE:
		fx->done_called = true;
		done(done_arg);
		return true;
	case NEVER:
		return true;
	default:
		return false;
	}
}

static void guard(evutil_socket_t fd, short what, void *arg)
{
	struct stop_fx *fx = arg;

	fx->guard_fired = true;
	event_base_loopexit(fx->base, NULL);
}

START_TEST(test_stop)
{
	const struct stop_case *c = &stop_cases[_i];
	struct stop_fx fx = { .c = c };
	struct http_server_options ho = { .listen = "127.0.0.1:0" };
	struct http_server *http = NULL;
	struct daemon_options o = {
		.stop_msg = "shutting down",
		.on_stop = c->drain == NONE ? NULL : on_stop,
		.arg = &fx,
		.stop_timeout_ms = c->stop_timeout_ms,
	};
	struct timeval five = { 5, 0 };
	struct event *g;
	struct daemon *d;
	long t0, elapsed;

	fx.base = event_base_new();
	ck_assert_ptr_nonnull(fx.base);
	ck_assert_int_eq(http_server_create(fx.base, &ho, &http), 0);
	d = daemon_create(fx.base, http, &o);
	ck_assert_ptr_nonnull(d);
	g = evtimer_new(fx.base, guard, &fx);
	ck_assert_ptr_nonnull(g);
	evtimer_add(g, &five);

	t0 = now_ms();
	raise(SIGTERM);
	raise(SIGTERM); /* the second one changes nothing */
	event_base_dispatch(fx.base);
	elapsed = now_ms() - t0;

	ck_assert_msg(!fx.guard_fired, "the loop did not exit");
	ck_assert_int_eq(fx.n_stop, c->drain == NONE ? 0 : 1);
	ck_assert_int_eq(fx.done_called, c->done_called);
	ck_assert_int_ge(elapsed, c->min_ms);
	ck_assert_int_le(elapsed, c->max_ms);
	ck_assert_uint_eq(http_server_port(http), 0); /* the HTTP server stopped listening */

	event_free(g);
	if (fx.finish)
		event_free(fx.finish);
	http_server_destroy(http);
	daemon_destroy(d);
	daemon_base_free(fx.base);
}
END_TEST

/* ---- SIGHUP: reload, then set logging up again and apply ------------------ */

struct tcfg {
	long long level;
};

static const struct config_key keys[] = {
	{ .key = "level",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct tcfg, level),
	  .def = "1",
	  .min = 1,
	  .max = 9,
	  .reloadable = true,
	  .help = "a reloadable number" },
};

static const struct config_def def = {
	.prog = "ddns-test-daemon",
	.env_prefix = "DDNS_TDAEMON",
	.summary = "a test program",
	.keys = keys,
	.n_keys = N(keys),
	.size = sizeof(struct tcfg),
};

struct hup_case {
	const char *env;
	long long want;
	int want_calls; /* of setup_log and on_reload each */
};

static const struct hup_case hup_cases[] = {
	{ "7", 7, 1 },
	{ "1", 1, 1 },   /* unchanged: still reloaded */
	{ "10", 3, 0 },  /* out of range: the running value stays */
	{ "xyz", 3, 0 }, /* not a number */
};

static int n_setup_log, n_reload;
static long long seen_level;

static void setup_log(const void *cfg)
{
	n_setup_log++;
	seen_level = ((const struct tcfg *)cfg)->level;
}

static void on_reload(void *arg)
{
	struct event_base *base = arg;

	n_reload++;
	event_base_loopexit(base, NULL);
}

START_TEST(test_hup)
{
	const struct hup_case *c = &hup_cases[_i];
	struct http_server_options ho = { .listen = "127.0.0.1:0" };
	struct http_server *http = NULL;
	struct event_base *base = event_base_new();
	struct tcfg cfg = { 0 };
	char *argv[] = { "ddns-test-daemon", NULL };
	struct timeval wait = { 0, 300000 };
	struct daemon_options o = {
		.def = &def,
		.cfg = &cfg,
		.argc = 1,
		.argv = argv,
		.setup_log = setup_log,
		.on_reload = on_reload,
		.arg = base,
	};
	struct daemon *d;
	int argi;

	ck_assert_ptr_nonnull(base);
	setenv("DDNS_TDAEMON_LEVEL", "3", 1);
	ck_assert_int_eq(config_load(&def, &cfg, 1, argv, &argi), 0);
	ck_assert_int_eq(cfg.level, 3);
	ck_assert_int_eq(http_server_create(base, &ho, &http), 0);
	d = daemon_create(base, http, &o);
	ck_assert_ptr_nonnull(d);

	n_setup_log = n_reload = 0;
	setenv("DDNS_TDAEMON_LEVEL", c->env, 1);
	raise(SIGHUP);
	event_base_loopexit(base, &wait); /* on_reload exits sooner */
	event_base_dispatch(base);

	ck_assert_int_eq(cfg.level, c->want);
	ck_assert_int_eq(n_setup_log, c->want_calls);
	ck_assert_int_eq(n_reload, c->want_calls);
	if (c->want_calls)
		ck_assert_int_eq(seen_level, c->want);
	ck_assert_uint_ne(http_server_port(http), 0); /* SIGHUP stops nothing */

	http_server_destroy(http);
	daemon_destroy(d);
	daemon_base_free(base);
	config_free(&def, &cfg);
	unsetenv("DDNS_TDAEMON_LEVEL");
}
END_TEST

/* NULL-safe destructors. */
START_TEST(test_null)
{
	daemon_destroy(NULL);
	daemon_base_free(NULL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("signals");

	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_stop, 0, N(stop_cases));
	tcase_add_loop_test(tc, test_hup, 0, N(hup_cases));
	tcase_add_test(tc, test_null);
	suite_add_tcase(s, tc);
	return s;
}
