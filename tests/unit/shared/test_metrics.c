#include "shared/metrics.h"
#include "tests/unit/check_main.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct name_case {
	const char *name;
	bool metric_ok;
	bool label_ok;
};

static const struct name_case name_cases[] = {
	{ "http_requests_total", true, true },
	{ "a", true, true },
	{ "_x", true, true },
	{ "A9_b", true, true },
	{ "ns:sub:metric", true, false }, /* colons: metric names only */
	{ ":x", true, false },
	{ "__reserved", true, false }, /* "__" prefix is Prometheus' own */
	{ "", false, false },
	{ "9lives", false, false },
	{ "has-dash", false, false },
	{ "has space", false, false },
	{ "dot.ted", false, false },
	{ "caf\xc3\xa9", false, false },
	{ "tab\t", false, false },
};

START_TEST(test_names)
{
	const struct name_case *c = &name_cases[_i];
	struct metrics_registry *reg = metrics_registry_create();
	const char *const labels[] = { c->name };

	ck_assert_int_eq(metrics_name_valid(c->name), c->metric_ok);
	ck_assert_int_eq(metrics_label_name_valid(c->name), c->label_ok);
	/* creation validates the same way */
	ck_assert_int_eq(metrics_counter(reg, c->name, "h") != NULL, c->metric_ok);
	ck_assert_int_eq(metrics_gauge_vec(reg, "g", "h", labels, 1) != NULL, c->label_ok);
	metrics_registry_destroy(reg);
}
END_TEST

struct render_case {
	const char *what;
	void (*fill)(struct metrics_registry *reg);
	const char *want;
};

static void fill_counter(struct metrics_registry *reg)
{
	struct metric *m = metrics_counter(reg, "ddns_updates_total", "Updates applied.");

	metric_inc(m);
	metric_add(m, 41);
}

static void fill_gauge(struct metrics_registry *reg)
{
	struct metric *a = metrics_gauge(reg, "ddns_conns", "Open connections.\nSecond \\ line.");
	struct metric *b = metrics_gauge(reg, "ddns_ratio", "Ratio.");
	struct metric *c = metrics_gauge(reg, "ddns_nothing", "");

	metric_inc(a);
	metric_inc(a);
	metric_inc(a);
	metric_dec(a);
	metric_set(b, 0.1);
	(void)c;
}

static void fill_histogram(struct metrics_registry *reg)
{
	static const double b[] = { 0.5, 1, 2.5 };
	struct metric *h = metrics_histogram(reg, "op_seconds", "Op time.", b, 3);

	metric_observe(h, 0.25); /* first bucket */
	metric_observe(h, 0.5);  /* exactly on a bound: that bucket */
	metric_observe(h, 1);    /* exactly on a bound */
	metric_observe(h, 2);
	metric_observe(h, 7);   /* +Inf only */
	metric_observe(h, NAN); /* ignored */
}

static void fill_labels(struct metrics_registry *reg)
{
	const char *const names[] = { "method", "path" };
	struct metric_family *f = metrics_counter_vec(reg, "req_total", "Requests.", names, 2);

	metric_inc(metric_with(f, (const char *const[]){ "GET", "/a" }));
	metric_add(metric_with(f, (const char *const[]){ "GET", "q\"uo\\te\nnl" }), 3);
	metric_inc(metric_with(f, (const char *const[]){ "GET", "/a" }));
}

static void fill_histogram_vec(struct metrics_registry *reg)
{
	static const double b[] = { 0.001, 0.01 };
	const char *const names[] = { "route" };
	struct metric_family *f = metrics_histogram_vec(reg, "lat_seconds", "L.", names, 1, b, 2);

	metric_observe(metric_with(f, (const char *const[]){ "/x" }), 0.001);
	metric_observe(metric_with(f, (const char *const[]){ "/x" }), 0.0015);
}

static void fill_default_buckets(struct metrics_registry *reg)
{
	metric_observe(metrics_histogram(reg, "d_seconds", "D.", NULL, 0), 0.003);
}

static const struct render_case render_cases[] = {
	{ "counter", fill_counter,
	  "# HELP ddns_updates_total Updates applied.\n"
	  "# TYPE ddns_updates_total counter\n"
	  "ddns_updates_total 42\n" },
	{ "gauge", fill_gauge,
	  "# HELP ddns_conns Open connections.\\nSecond \\\\ line.\n"
	  "# TYPE ddns_conns gauge\n"
	  "ddns_conns 2\n"
	  "# HELP ddns_ratio Ratio.\n"
	  "# TYPE ddns_ratio gauge\n"
	  "ddns_ratio 0.1\n"
	  "# HELP ddns_nothing \n"
	  "# TYPE ddns_nothing gauge\n"
	  "ddns_nothing 0\n" },
	{ "histogram", fill_histogram,
	  "# HELP op_seconds Op time.\n"
	  "# TYPE op_seconds histogram\n"
	  "op_seconds_bucket{le=\"0.5\"} 2\n"
	  "op_seconds_bucket{le=\"1\"} 3\n"
	  "op_seconds_bucket{le=\"2.5\"} 4\n"
	  "op_seconds_bucket{le=\"+Inf\"} 5\n"
	  "op_seconds_sum 10.75\n"
	  "op_seconds_count 5\n" },
	{ "labels", fill_labels,
	  "# HELP req_total Requests.\n"
	  "# TYPE req_total counter\n"
	  "req_total{method=\"GET\",path=\"/a\"} 2\n"
	  "req_total{method=\"GET\",path=\"q\\\"uo\\\\te\\nnl\"} 3\n" },
	{ "histogram_vec", fill_histogram_vec,
	  "# HELP lat_seconds L.\n"
	  "# TYPE lat_seconds histogram\n"
	  "lat_seconds_bucket{route=\"/x\",le=\"0.001\"} 1\n"
	  "lat_seconds_bucket{route=\"/x\",le=\"0.01\"} 2\n"
	  "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 2\n"
	  "lat_seconds_sum{route=\"/x\"} 0.0025\n"
	  "lat_seconds_count{route=\"/x\"} 2\n" },
	{ "default_buckets", fill_default_buckets,
	  "# HELP d_seconds D.\n"
	  "# TYPE d_seconds histogram\n"
	  "d_seconds_bucket{le=\"0.0005\"} 0\n"
	  "d_seconds_bucket{le=\"0.001\"} 0\n"
	  "d_seconds_bucket{le=\"0.0025\"} 0\n"
	  "d_seconds_bucket{le=\"0.005\"} 1\n"
	  "d_seconds_bucket{le=\"0.01\"} 1\n"
	  "d_seconds_bucket{le=\"0.025\"} 1\n"
	  "d_seconds_bucket{le=\"0.05\"} 1\n"
	  "d_seconds_bucket{le=\"0.1\"} 1\n"
	  "d_seconds_bucket{le=\"0.25\"} 1\n"
	  "d_seconds_bucket{le=\"0.5\"} 1\n"
	  "d_seconds_bucket{le=\"1\"} 1\n"
	  "d_seconds_bucket{le=\"2.5\"} 1\n"
	  "d_seconds_bucket{le=\"5\"} 1\n"
	  "d_seconds_bucket{le=\"+Inf\"} 1\n"
	  "d_seconds_sum 0.003\n"
	  "d_seconds_count 1\n" },
};

START_TEST(test_render)
{
	const struct render_case *c = &render_cases[_i];
	struct metrics_registry *reg = metrics_registry_create();
	char *text;

	ck_assert_ptr_nonnull(reg);
	c->fill(reg);
	text = metrics_render(reg);
	ck_assert_msg(text && strcmp(text, c->want) == 0, "%s: got\n%s", c->what,
		      text ? text : "(null)");
	free(text);
	metrics_registry_destroy(reg);
}
END_TEST

/* Registration is idempotent for one definition and refuses conflicting ones. */
START_TEST(test_register_again)
{
	struct metrics_registry *reg = metrics_registry_create();
	static const double b1[] = { 1, 2 }, b2[] = { 1, 3 }, bad[] = { 2, 1 };
	const char *const l1[] = { "a" }, *const l2[] = { "b" }, *const dup[] = { "a", "a" };
	const char *const le[] = { "le" };
	struct metric *c = metrics_counter(reg, "c_total", "h");
	struct metric_family *v = metrics_counter_vec(reg, "v_total", "h", l1, 1);
	struct metric *h = metrics_histogram(reg, "h_seconds", "h", b1, 2);

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(metrics_counter(reg, "c_total", "other help"), c);
	ck_assert_ptr_null(metrics_gauge(reg, "c_total", "h"));
	ck_assert_ptr_eq(metrics_counter_vec(reg, "v_total", "h", l1, 1), v);
	ck_assert_ptr_null(metrics_counter_vec(reg, "v_total", "h", l2, 1));
	ck_assert_ptr_null(metrics_counter(reg, "v_total", "h"));
	ck_assert_ptr_eq(metrics_histogram(reg, "h_seconds", "h", b1, 2), h);
	ck_assert_ptr_null(metrics_histogram(reg, "h_seconds", "h", b2, 2));
	ck_assert_ptr_null(metrics_histogram(reg, "h2", "h", bad, 2));
	ck_assert_ptr_null(metrics_histogram(reg, "h3", "h", b1, 0));
	ck_assert_ptr_null(metrics_counter_vec(reg, "d_total", "h", dup, 2));
	ck_assert_ptr_null(metrics_histogram_vec(reg, "h4", "h", le, 1, b1, 2));
	ck_assert_ptr_nonnull(metrics_counter_vec(reg, "le_total", "h", le, 1));
	metrics_registry_destroy(reg);
}
END_TEST

/* Past METRICS_SERIES_MAX series, updates land in the one overflow series. */
START_TEST(test_overflow)
{
	struct metrics_registry *reg = metrics_registry_create();
	const char *const names[] = { "k" };
	struct metric_family *f = metrics_counter_vec(reg, "o_total", "h", names, 1);
	struct metric *first = NULL, *ov;
	char value[16], big[METRICS_LABEL_VALUE_MAX + 2];
	const char *vals[1] = { value };
	char *text;

	for (int i = 0; i < METRICS_SERIES_MAX; i++) {
		struct metric *m;

		snprintf(value, sizeof(value), "v%d", i);
		m = metric_with(f, vals);
		metric_inc(m);
		if (i == 0)
			first = m;
	}
	ck_assert_ptr_eq(metric_with(f, (const char *const[]){ "v0" }), first);
	ov = metric_with(f, (const char *const[]){ "one too many" });
	ck_assert_ptr_nonnull(ov);
	ck_assert_ptr_eq(metric_with(f, (const char *const[]){ "another" }), ov);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* existing series still resolve; a too-long value overflows too */
	ck_assert_ptr_eq(metric_with(f, (const char *const[]){ big }), ov);
	metric_add(ov, 5);
	ck_assert(metric_value(ov) == 5.0);
	ck_assert(metric_value(first) == 1.0);
	text = metrics_render(reg);
	ck_assert_ptr_nonnull(
		strstr(text, "o_total{k=\"v999\"} 1\no_total{k=\"__overflow__\"} 5\n"));
	free(text);
	metrics_registry_destroy(reg);
}
END_TEST

/* Wrong-kind updates and NULL are ignored rather than corrupting a series. */
START_TEST(test_wrong_kind)
{
	struct metrics_registry *reg = metrics_registry_create();
	struct metric *c = metrics_counter(reg, "c_total", "h");
	struct metric *g = metrics_gauge(reg, "g", "h");

	metric_set(c, 9);
	metric_dec(c);
	metric_observe(c, 1);
	metric_inc(c);
	metric_add(g, 3);
	metric_set(g, -2.5);
	metric_inc(NULL);
	metric_observe(NULL, 1);
	ck_assert_ptr_null(metric_with(NULL, NULL));
	ck_assert(metric_value(c) == 1.0);
	ck_assert(metric_value(g) == -2.5);
	metrics_registry_destroy(reg);
}
END_TEST

#define THREADS 4
#define INCS    100000

struct thread_arg {
	struct metric *counter;
	struct metric *hist;
	struct metric_family *fam;
	int id;
};

static void *hammer(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < INCS; i++) {
		/* all threads race to create the same two labeled series */
		const char *v[] = { i % 2 ? "odd" : "even" };

		metric_inc(a->counter);
		metric_observe(a->hist, 0.5);
		metric_inc(metric_with(a->fam, v));
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct metrics_registry *reg = metrics_registry_create();
	static const double b[] = { 1 };
	const char *const names[] = { "parity" };
	struct thread_arg args[THREADS];
	pthread_t t[THREADS];
	char *text;

	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){
			.counter = metrics_counter(reg, "n_total", "h"),
			.hist = metrics_histogram(reg, "h_seconds", "h", b, 1),
			.fam = metrics_counter_vec(reg, "p_total", "h", names, 1),
			.id = i,
		};
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	text = metrics_render(reg);
	ck_assert_str_eq(text, "# HELP n_total h\n# TYPE n_total counter\nn_total 400000\n"
			       "# HELP h_seconds h\n# TYPE h_seconds histogram\n"
			       "h_seconds_bucket{le=\"1\"} 400000\n"
			       "h_seconds_bucket{le=\"+Inf\"} 400000\n"
			       "h_seconds_sum 200000\nh_seconds_count 400000\n"
			       "# HELP p_total h\n# TYPE p_total counter\n"
			       "p_total{parity=\"even\"} 200000\np_total{parity=\"odd\"} 200000\n");
	free(text);
	metrics_registry_destroy(reg);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_names, 0, N(name_cases));
	tcase_add_loop_test(tc, test_render, 0, N(render_cases));
	tcase_add_test(tc, test_register_again);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_wrong_kind);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}
