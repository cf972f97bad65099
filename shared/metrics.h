#pragma once

/*
 * Prometheus metrics: counters, gauges and histograms, with or without
 * labels, kept in a registry that renders the text exposition format 0.0.4.
 *
 *   struct metrics_registry *reg = metrics_registry_create();
 *   struct metric *up = metrics_counter(reg, "ddns_updates_total", "Updates applied.");
 *   const char *const labels[] = {"method", "code"};
 *   struct metric_family *req = metrics_counter_vec(reg, "http_requests_total",
 *                                                   "Requests served.", labels, 2);
 *   metric_inc(up);
 *   metric_inc(metric_with(req, (const char *const[]){"GET", "200"}));
 *   char *text = metrics_render(reg);   // free() it
 *
 * Threads: every function may be called from any thread. Updates of a series
 * (metric_inc, metric_add, metric_set, metric_observe) are lock-free C11
 * atomics and never allocate. Creating a metric or a new labeled series takes
 * a mutex and allocates; looking up an existing series (metric_with) takes no
 * lock and does not allocate. metrics_registry_destroy() must not run
 * concurrently with anything else on that registry.
 *
 * Lifetime: metrics and series belong to the registry (borrowed pointers for
 * callers) and live until metrics_registry_destroy().
 *
 * Cardinality: a labeled family holds at most METRICS_SERIES_MAX series.
 * Beyond that, and for label values that are too long, metric_with() returns
 * the family's one overflow series, whose label values all read
 * "__overflow__": updates are never lost, only their labels, and the overflow
 * is visible in the output.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_SERIES_MAX      1000 /* labeled series per family, overflow series aside */
#define METRICS_LABELS_MAX      8    /* label names per family */
#define METRICS_LABEL_VALUE_MAX 256  /* bytes of one label value */
#define METRICS_BUCKETS_MAX     64   /* histogram bounds, +Inf aside */
#define METRICS_OVERFLOW_VALUE  "__overflow__"

/* 0.0005 s ... 5 s: DNS answers at the low end, API calls at the high end. */
extern const double metrics_default_buckets[];
extern const size_t metrics_default_buckets_n;

struct metrics_registry;
struct metric_family; /* a named metric; labeled families hold many series */
struct metric;        /* one series: the thing that is updated */

struct metrics_registry *metrics_registry_create(void);
/* NULL-safe. Frees every metric; no pointer into the registry stays valid. */
void metrics_registry_destroy(struct metrics_registry *reg);

/*
 * Unlabeled metrics. @name must match [a-zA-Z_:][a-zA-Z0-9_:]*; @help is any
 * text (copied). Registering a name again with the same type, labels and
 * buckets returns the existing metric; a conflicting definition, an invalid
 * name or no memory return NULL.
 */
struct metric *metrics_counter(struct metrics_registry *reg, const char *name, const char *help);
struct metric *metrics_gauge(struct metrics_registry *reg, const char *name, const char *help);
/*
 * @buckets: @n strictly increasing finite upper bounds (copied), without
 * +Inf, 1 <= @n <= METRICS_BUCKETS_MAX; NULL uses metrics_default_buckets.
 */
struct metric *metrics_histogram(struct metrics_registry *reg, const char *name, const char *help,
				 const double *buckets, size_t n);

/*
 * Labeled families: @label_names (copied) are 1..METRICS_LABELS_MAX valid
 * label names ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", distinct, and
 * not "le" for histograms). Same registration rules as above.
 */
struct metric_family *metrics_counter_vec(struct metrics_registry *reg, const char *name,
					  const char *help, const char *const *label_names,
					  size_t n_labels);
struct metric_family *metrics_gauge_vec(struct metrics_registry *reg, const char *name,
					const char *help, const char *const *label_names,
					size_t n_labels);
struct metric_family *metrics_histogram_vec(struct metrics_registry *reg, const char *name,
					    const char *help, const char *const *label_names,
					    size_t n_labels, const double *buckets, size_t n);

/*
 * The series of @family for @label_values (one per label name, in order,
 * copied), created on first use. Returns the overflow series (see above) when
 * the family is full, a value is longer than METRICS_LABEL_VALUE_MAX or
 * memory runs out; NULL only when @family is NULL.
 */
struct metric *metric_with(struct metric_family *family, const char *const *label_values);

/*
 * Updates. All accept NULL (and do nothing), so a failed registration does
 * not crash the hot path. An update of the wrong kind (metric_observe on a
 * counter, metric_set on a counter, ...) is ignored.
 */
void metric_inc(struct metric *m);               /* counter or gauge: +1 */
void metric_add(struct metric *m, uint64_t n);   /* counter or gauge: +n */
void metric_dec(struct metric *m);               /* gauge: -1 */
void metric_set(struct metric *m, double v);     /* gauge */
void metric_observe(struct metric *m, double v); /* histogram; NaN is ignored */

/* Current value of a counter or gauge (for tests and readiness checks); 0 otherwise. */
double metric_value(const struct metric *m);

/*
 * The text exposition format (version 0.0.4) of every metric, in
 * registration order, series in creation order. Returns a new malloc'd
 * string (free() it), or NULL when out of memory.
 */
char *metrics_render(struct metrics_registry *reg);

bool metrics_name_valid(const char *name);
bool metrics_label_name_valid(const char *name);
