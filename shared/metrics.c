#include "shared/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_default_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					   0.1,    0.25,  0.5,    1,     2.5,  5 };
const size_t metrics_default_buckets_n =
	sizeof(metrics_default_buckets) / sizeof(metrics_default_buckets[0]);

#define HASH_BUCKETS 64

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

struct metric {
	struct metric_family *family; /* borrowed: the owner */
	struct metric *hash_next;     /* immutable once published */
	char **label_values;          /* owned, family->n_labels strings */
	uint32_t hash;
	/*
	 * Counter: the count. Gauge: the bits of a double. Histogram: the bits
	 * of the double sum.
	 */
	_Atomic uint64_t value;
	_Atomic uint64_t *buckets; /* owned; histogram: n_buckets + 1 (+Inf) counts */
};

struct metric_family {
	struct metrics_registry *reg; /* borrowed */
	enum metric_type type;
	char *name;         /* owned */
	char *help;         /* owned */
	char **label_names; /* owned, n_labels strings */
	size_t n_labels;
	double *bounds; /* owned; histogram upper bounds */
	size_t n_bounds;

	pthread_mutex_t lock; /* guards series[] and creation; readers of hash[] take none */
	struct metric *_Atomic hash[HASH_BUCKETS];
	struct metric **series; /* owned, in creation order */
	size_t n_series;
	size_t cap_series;
	struct metric *overflow;    /* owned; the one series past the limit */
	atomic_bool overflow_used;  /* rendered only once used */
	struct metric_family *next; /* registry order */
};

struct metrics_registry {
	pthread_mutex_t lock; /* guards the family list */
	struct metric_family *first;
	struct metric_family *last;
};

static uint64_t dbl_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double bits_dbl(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* Adds @d to the double stored in @a, lock-free. */
static void atomic_add_dbl(_Atomic uint64_t *a, double d)
{
	uint64_t old = atomic_load_explicit(a, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(a, &old, dbl_bits(bits_dbl(old) + d),
						      memory_order_relaxed, memory_order_relaxed)) {
	}
}

bool metrics_name_valid(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		bool alpha =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!alpha && !(p != name && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

bool metrics_label_name_valid(const char *name)
{
	if (!metrics_name_valid(name) || strchr(name, ':'))
		return false;
	return strncmp(name, "__", 2) != 0;
}

static void series_free(struct metric *m, size_t n_labels)
{
	if (!m)
		return;
	if (m->label_values)
		for (size_t i = 0; i < n_labels; i++)
			free(m->label_values[i]);
	free(m->label_values);
	free(m->buckets);
	free(m);
}

static void family_free(struct metric_family *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_series; i++)
		series_free(f->series[i], f->n_labels);
	series_free(f->overflow, f->n_labels);
	free(f->series);
	if (f->label_names)
		for (size_t i = 0; i < f->n_labels; i++)
			free(f->label_names[i]);
	free(f->label_names);
	free(f->bounds);
	free(f->name);
	free(f->help);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

struct metrics_registry *metrics_registry_create(void)
{
	struct metrics_registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return NULL;
	pthread_mutex_init(&reg->lock, NULL);
	return reg;
}

void metrics_registry_destroy(struct metrics_registry *reg)
{
	struct metric_family *f, *next;

	if (!reg)
		return;
	for (f = reg->first; f; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/* A new series with copies of @values (NULL when the family has no labels). */
static struct metric *series_new(struct metric_family *f, const char *const *values)
{
	struct metric *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->family = f;
	if (f->n_labels > 0) {
		m->label_values = calloc(f->n_labels, sizeof(char *));
		if (!m->label_values)
			goto fail;
		for (size_t i = 0; i < f->n_labels; i++) {
			m->label_values[i] = strdup(values[i]);
			if (!m->label_values[i])
				goto fail;
		}
	}
	if (f->type == METRIC_HISTOGRAM) {
		m->buckets = calloc(f->n_bounds + 1, sizeof(*m->buckets));
		if (!m->buckets)
			goto fail;
		for (size_t i = 0; i <= f->n_bounds; i++)
			atomic_init(&m->buckets[i], 0);
	}
	atomic_init(&m->value, f->type == METRIC_COUNTER ? 0 : dbl_bits(0.0));
	return m;
fail:
	series_free(m, f->n_labels);
	return NULL;
}

static bool same_definition(const struct metric_family *f, enum metric_type type,
			    const char *const *label_names, size_t n_labels, const double *bounds,
			    size_t n_bounds)
{
	if (f->type != type || f->n_labels != n_labels)
		return false;
	for (size_t i = 0; i < n_labels; i++)
		if (strcmp(f->label_names[i], label_names[i]) != 0)
			return false;
	if (type == METRIC_HISTOGRAM &&
	    (f->n_bounds != n_bounds || memcmp(f->bounds, bounds, n_bounds * sizeof(double)) != 0))
		return false;
	return true;
}

static bool labels_valid(enum metric_type type, const char *const *names, size_t n)
{
	if (n > METRICS_LABELS_MAX || (n > 0 && !names))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!metrics_label_name_valid(names[i]))
			return false;
		if (type == METRIC_HISTOGRAM && strcmp(names[i], "le") == 0)
			return false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				return false;
	}
	return true;
}

static bool bounds_valid(const double *bounds, size_t n)
{
	if (n < 1 || n > METRICS_BUCKETS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(bounds[i]))
			return false;
		if (i > 0 && !(bounds[i] > bounds[i - 1]))
			return false;
	}
	return true;
}

/*
 * Registers a family, or returns the existing one of the same definition.
 * An unlabeled family gets its one series at once.
 */
static struct metric_family *family_register(struct metrics_registry *reg, enum metric_type type,
					     const char *name, const char *help,
					     const char *const *label_names, size_t n_labels,
					     const double *bounds, size_t n_bounds)
{
	struct metric_family *f = NULL, *found;

	if (!reg || !metrics_name_valid(name) || !labels_valid(type, label_names, n_labels))
		return NULL;
	if (type == METRIC_HISTOGRAM) {
		if (!bounds) {
			bounds = metrics_default_buckets;
			n_bounds = metrics_default_buckets_n;
		}
		if (!bounds_valid(bounds, n_bounds))
			return NULL;
	}

	pthread_mutex_lock(&reg->lock);
	for (found = reg->first; found; found = found->next)
		if (strcmp(found->name, name) == 0)
			break;
	if (found) {
		if (!same_definition(found, type, label_names, n_labels, bounds, n_bounds))
			found = NULL;
		goto out;
	}

	f = calloc(1, sizeof(*f));
	if (!f)
		goto out;
	pthread_mutex_init(&f->lock, NULL);
	f->reg = reg;
	f->type = type;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (!f->name || !f->help)
		goto fail;
	if (n_labels > 0) {
		f->label_names = calloc(n_labels, sizeof(char *));
		if (!f->label_names)
			goto fail;
		f->n_labels = n_labels;
		for (size_t i = 0; i < n_labels; i++) {
			f->label_names[i] = strdup(label_names[i]);
			if (!f->label_names[i])
				goto fail;
		}
	}
	if (type == METRIC_HISTOGRAM) {
		f->bounds = malloc(n_bounds * sizeof(double));
		if (!f->bounds)
			goto fail;
		memcpy(f->bounds, bounds, n_bounds * sizeof(double));
		f->n_bounds = n_bounds;
	}
	for (size_t i = 0; i < HASH_BUCKETS; i++)
		atomic_init(&f->hash[i], NULL);
	atomic_init(&f->overflow_used, false);
	if (n_labels > 0) {
		const char *ov[METRICS_LABELS_MAX];

		for (size_t i = 0; i < n_labels; i++)
			ov[i] = METRICS_OVERFLOW_VALUE;
		f->overflow = series_new(f, ov);
		if (!f->overflow)
			goto fail;
	} else {
		f->series = calloc(1, sizeof(*f->series));
		if (!f->series)
			goto fail;
		f->cap_series = 1;
		f->series[0] = series_new(f, NULL);
		if (!f->series[0])
			goto fail;
		f->n_series = 1;
	}

	if (reg->last)
		reg->last->next = f;
	else
		reg->first = f;
	reg->last = f;
	found = f;
	f = NULL;
	goto out;
fail:
	family_free(f);
out:
	pthread_mutex_unlock(&reg->lock);
	return found;
}

static struct metric *single(struct metric_family *f)
{
	/* an existing labeled family of that name is not an unlabeled metric */
	return f && f->n_labels == 0 ? f->series[0] : NULL;
}

struct metric *metrics_counter(struct metrics_registry *reg, const char *name, const char *help)
{
	return single(family_register(reg, METRIC_COUNTER, name, help, NULL, 0, NULL, 0));
}

struct metric *metrics_gauge(struct metrics_registry *reg, const char *name, const char *help)
{
	return single(family_register(reg, METRIC_GAUGE, name, help, NULL, 0, NULL, 0));
}

struct metric *metrics_histogram(struct metrics_registry *reg, const char *name, const char *help,
				 const double *buckets, size_t n)
{
	return single(family_register(reg, METRIC_HISTOGRAM, name, help, NULL, 0, buckets, n));
}

struct metric_family *metrics_counter_vec(struct metrics_registry *reg, const char *name,
					  const char *help, const char *const *label_names,
					  size_t n_labels)
{
	if (n_labels == 0)
		return NULL;
	return family_register(reg, METRIC_COUNTER, name, help, label_names, n_labels, NULL, 0);
}

struct metric_family *metrics_gauge_vec(struct metrics_registry *reg, const char *name,
					const char *help, const char *const *label_names,
					size_t n_labels)
{
	if (n_labels == 0)
		return NULL;
	return family_register(reg, METRIC_GAUGE, name, help, label_names, n_labels, NULL, 0);
}

struct metric_family *metrics_histogram_vec(struct metrics_registry *reg, const char *name,
					    const char *help, const char *const *label_names,
					    size_t n_labels, const double *buckets, size_t n)
{
	if (n_labels == 0)
		return NULL;
	return family_register(reg, METRIC_HISTOGRAM, name, help, label_names, n_labels, buckets,
			       n);
}

/* FNV-1a over the values, each followed by a 0xff separator (not valid in text). */
static uint32_t values_hash(const char *const *values, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
			h = (h ^ *p) * 16777619u;
		h = (h ^ 0xffu) * 16777619u;
	}
	return h;
}

static struct metric *lookup(struct metric_family *f, const char *const *values, uint32_t h)
{
	struct metric *m = atomic_load_explicit(&f->hash[h % HASH_BUCKETS], memory_order_acquire);

	for (; m; m = m->hash_next) {
		size_t i;

		if (m->hash != h)
			continue;
		for (i = 0; i < f->n_labels; i++)
			if (strcmp(m->label_values[i], values[i]) != 0)
				break;
		if (i == f->n_labels)
			return m;
	}
	return NULL;
}

static struct metric *overflow(struct metric_family *f)
{
	atomic_store_explicit(&f->overflow_used, true, memory_order_relaxed);
	return f->overflow;
}

struct metric *metric_with(struct metric_family *f, const char *const *values)
{
	struct metric *m;
	uint32_t h;

	if (!f)
		return NULL;
	if (f->n_labels == 0)
		return f->series[0];
	if (!values)
		return overflow(f);
	for (size_t i = 0; i < f->n_labels; i++)
		if (!values[i] || strlen(values[i]) > METRICS_LABEL_VALUE_MAX)
			return overflow(f);

	h = values_hash(values, f->n_labels);
	m = lookup(f, values, h); /* the hot path: no lock, no allocation */
	if (m)
		return m;

	pthread_mutex_lock(&f->lock);
	m = lookup(f, values, h); /* another thread may have won */
	if (m)
		goto out;
	if (f->n_series >= METRICS_SERIES_MAX) {
		m = overflow(f);
		goto out;
	}
	if (f->n_series == f->cap_series) {
		size_t cap = f->cap_series ? f->cap_series * 2 : 8;
		struct metric **s = realloc(f->series, cap * sizeof(*s));

		if (!s) {
			m = overflow(f);
			goto out;
		}
		f->series = s;
		f->cap_series = cap;
	}
	m = series_new(f, values);
	if (!m) {
		m = overflow(f);
		goto out;
	}
	m->hash = h;
	m->hash_next = atomic_load_explicit(&f->hash[h % HASH_BUCKETS], memory_order_relaxed);
	f->series[f->n_series++] = m;
	/* publish: readers see a fully built series */
	atomic_store_explicit(&f->hash[h % HASH_BUCKETS], m, memory_order_release);
out:
	pthread_mutex_unlock(&f->lock);
	return m;
}

void metric_add(struct metric *m, uint64_t n)
{
	if (!m)
		return;
	if (m->family->type == METRIC_COUNTER)
		atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
	else if (m->family->type == METRIC_GAUGE)
		atomic_add_dbl(&m->value, (double)n);
}

void metric_inc(struct metric *m)
{
	metric_add(m, 1);
}

void metric_dec(struct metric *m)
{
	if (m && m->family->type == METRIC_GAUGE)
		atomic_add_dbl(&m->value, -1.0);
}

void metric_set(struct metric *m, double v)
{
	if (m && m->family->type == METRIC_GAUGE)
		atomic_store_explicit(&m->value, dbl_bits(v), memory_order_relaxed);
}

void metric_observe(struct metric *m, double v)
{
	const struct metric_family *f;
	size_t i;

	if (!m || m->family->type != METRIC_HISTOGRAM || isnan(v))
		return;
	f = m->family;
	/* a value exactly on a bound belongs to that bucket (le = less or equal) */
	for (i = 0; i < f->n_bounds; i++)
		if (v <= f->bounds[i])
			break;
	atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
	atomic_add_dbl(&m->value, v);
}

double metric_value(const struct metric *m)
{
	uint64_t v;

	if (!m || m->family->type == METRIC_HISTOGRAM)
		return 0;
	v = atomic_load_explicit(&((struct metric *)m)->value, memory_order_relaxed);
	return m->family->type == METRIC_COUNTER ? (double)v : bits_dbl(v);
}

/* The shortest text that reads back as @d, in %g style. */
static void format_double(char buf[32], double d)
{
	if (isnan(d)) {
		strcpy(buf, "NaN");
		return;
	}
	if (isinf(d)) {
		strcpy(buf, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, d);
		if (strtod(buf, NULL) == d) {
			/* plain notation up to 6 digits (200000, not 2e+05) */
			if (prec < 6)
				snprintf(buf, 32, "%.*g", 6, d);
			return;
		}
	}
}

static void put_escaped(FILE *out, const char *s, bool quotes)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '"' && quotes)
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* {a="x",b="y"} with an optional extra le label; nothing when there are none. */
static void put_labels(FILE *out, const struct metric_family *f, const struct metric *m,
		       const char *le)
{
	if (f->n_labels == 0 && !le)
		return;
	fputc('{', out);
	for (size_t i = 0; i < f->n_labels; i++) {
		fprintf(out, "%s%s=\"", i ? "," : "", f->label_names[i]);
		put_escaped(out, m->label_values[i], true);
		fputc('"', out);
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
	fputc('}', out);
}

static void render_series(FILE *out, const struct metric_family *f, struct metric *m)
{
	char num[32];
	uint64_t v = atomic_load_explicit(&m->value, memory_order_relaxed);
	uint64_t cum = 0;

	switch (f->type) {
	case METRIC_COUNTER:
		fputs(f->name, out);
		put_labels(out, f, m, NULL);
		fprintf(out, " %llu\n", (unsigned long long)v);
		break;
	case METRIC_GAUGE:
		format_double(num, bits_dbl(v));
		fputs(f->name, out);
		put_labels(out, f, m, NULL);
		fprintf(out, " %s\n", num);
		break;
	case METRIC_HISTOGRAM:
		for (size_t i = 0; i <= f->n_bounds; i++) {
			cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
			if (i < f->n_bounds)
				format_double(num, f->bounds[i]);
			else
				strcpy(num, "+Inf");
			fprintf(out, "%s_bucket", f->name);
			put_labels(out, f, m, num);
			fprintf(out, " %llu\n", (unsigned long long)cum);
		}
		format_double(num, bits_dbl(v));
		fprintf(out, "%s_sum", f->name);
		put_labels(out, f, m, NULL);
		fprintf(out, " %s\n", num);
		/* _count is the +Inf bucket, so the two always agree */
		fprintf(out, "%s_count", f->name);
		put_labels(out, f, m, NULL);
		fprintf(out, " %llu\n", (unsigned long long)cum);
		break;
	}
}

char *metrics_render(struct metrics_registry *reg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	if (!reg)
		return NULL;
	out = open_memstream(&text, &len);
	if (!out)
		return NULL;
	pthread_mutex_lock(&reg->lock);
	for (struct metric_family *f = reg->first; f; f = f->next) {
		fprintf(out, "# HELP %s ", f->name);
		put_escaped(out, f->help, false);
		fprintf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
		pthread_mutex_lock(&f->lock);
		for (size_t i = 0; i < f->n_series; i++)
			render_series(out, f, f->series[i]);
		if (f->overflow && atomic_load_explicit(&f->overflow_used, memory_order_relaxed))
			render_series(out, f, f->overflow);
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&reg->lock);
	if (ferror(out)) {
		fclose(out);
		free(text);
		return NULL;
	}
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
