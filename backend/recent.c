/* When names were last answered: a lossy table that errs towards "recently". */

#include "backend/recent.h"
#include "shared/dnsname.h"

#include <stdlib.h>
#include <string.h>

struct recent {
	uint64_t mask;
	int64_t times[]; /* INT64_MIN: never */
};

struct recent *recent_create(unsigned bits)
{
	size_t n = (size_t)1 << bits;
	struct recent *r = malloc(sizeof(*r) + n * sizeof(r->times[0]));

	if (!r)
		return NULL;
	r->mask = n - 1;
	for (size_t i = 0; i < n; i++)
		r->times[i] = INT64_MIN;
	return r;
}

void recent_destroy(struct recent *r)
{
	free(r);
}

static size_t slot(const struct recent *r, const char *name, size_t len)
{
	return (size_t)(dnsname_hash(name, len) & r->mask);
}

void recent_mark(struct recent *r, const char *name, int64_t now_ms)
{
	const char *p = name;
	size_t len = strlen(name);

	/*
	 * The name and each suffix after a dot: its ancestors up to the root.
	 * An escaped dot adds a suffix that is no ancestor; that only marks
	 * more, which is safe.
	 */
	for (;;) {
		int64_t *t = &r->times[slot(r, p, len - (size_t)(p - name))];

		if (*t < now_ms)
			*t = now_ms;
		if (*p == '.' && p[1] == '\0')
			break; /* the root, done */
		p = strchr(p, '.');
		if (!p)
			break;
		p++;
		if (*p == '\0')
			p--; /* "name." ends with the root "." */
	}
}

int64_t recent_last(const struct recent *r, const char *name)
{
	return r->times[slot(r, name, strlen(name))];
}
