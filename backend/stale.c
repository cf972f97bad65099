/* The serve-stale store: a hash table of names with an LRU list. */

#include "backend/stale.h"

#include "shared/dnsname.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *hnext;               /* hash chain */
	struct entry *lru_prev, *lru_next; /* most recent at the head */
	uint64_t hash;
	int64_t stored_ms;
	char *value; /* owned, NUL-terminated */
	size_t value_len;
	size_t name_len;
	char name[]; /* NUL-terminated */
};

struct stale {
	struct entry **buckets; /* owned array; entries owned */
	size_t n_buckets;       /* power of two */
	struct entry *head, *tail;
	size_t count, bytes;
	size_t max_entries, max_bytes;
};

static size_t entry_bytes(const struct entry *e)
{
	return STALE_ENTRY_OVERHEAD + e->name_len + e->value_len;
}

struct stale *stale_create(size_t max_entries, size_t max_bytes)
{
	struct stale *s;
	size_t n = 16;

	if (max_entries == 0 || max_bytes == 0)
		return NULL;
	while (n < max_entries && n < ((size_t)1 << 24))
		n <<= 1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->buckets = calloc(n, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	s->n_buckets = n;
	s->max_entries = max_entries;
	s->max_bytes = max_bytes;
	return s;
}

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	free(e->value);
	free(e);
}

void stale_destroy(struct stale *s)
{
	struct entry *e, *next;

	if (!s)
		return;
	for (e = s->head; e; e = next) {
		next = e->lru_next;
		entry_free(e);
	}
	free(s->buckets);
	free(s);
}

static void lru_unlink(struct stale *s, struct entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		s->head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		s->tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct stale *s, struct entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = s->head;
	if (s->head)
		s->head->lru_prev = e;
	s->head = e;
	if (!s->tail)
		s->tail = e;
}

static struct entry **find_slot(struct stale *s, const char *name, size_t len, uint64_t h)
{
	struct entry **p = &s->buckets[h & (s->n_buckets - 1)];

	for (; *p; p = &(*p)->hnext)
		if ((*p)->hash == h && (*p)->name_len == len && memcmp((*p)->name, name, len) == 0)
			return p;
	return p;
}

/* Unlinks and frees the entry at *@slot. */
static void remove_at(struct stale *s, struct entry **slot)
{
	struct entry *e = *slot;

	*slot = e->hnext;
	lru_unlink(s, e);
	s->count--;
	s->bytes -= entry_bytes(e);
	entry_free(e);
}

static void remove_entry(struct stale *s, struct entry *e)
{
	struct entry **slot = find_slot(s, e->name, e->name_len, e->hash);

	if (*slot == e)
		remove_at(s, slot);
}

static void evict(struct stale *s)
{
	while (s->tail && (s->count > s->max_entries || s->bytes > s->max_bytes))
		remove_entry(s, s->tail);
}

int stale_put(struct stale *s, const char *name, const char *json, size_t len, int64_t now_ms)
{
	size_t name_len = strlen(name);
	uint64_t h = dnsname_hash(name, name_len);
	struct entry **slot = find_slot(s, name, name_len, h), *e = *slot;
	char *value;

	if (STALE_ENTRY_OVERHEAD + name_len + len > s->max_bytes / 4) {
		if (e)
			remove_at(s, slot);
		return -E2BIG;
	}
	if (e) {
		if (e->value_len != len || memcmp(e->value, json, len) != 0) {
			if (!(value = malloc(len + 1)))
				return -ENOMEM;
			memcpy(value, json, len);
			value[len] = '\0';
			s->bytes -= entry_bytes(e);
			free(e->value);
			e->value = value;
			e->value_len = len;
			s->bytes += entry_bytes(e);
		}
		e->stored_ms = now_ms;
		lru_unlink(s, e);
		lru_push_front(s, e);
		evict(s);
		return 0;
	}
	e = malloc(sizeof(*e) + name_len + 1);
	value = malloc(len + 1);
	if (!e || !value) {
		free(e);
		free(value);
		return -ENOMEM;
	}
	memcpy(e->name, name, name_len + 1);
	memcpy(value, json, len);
	value[len] = '\0';
	e->name_len = name_len;
	e->value = value;
	e->value_len = len;
	e->hash = h;
	e->stored_ms = now_ms;
	e->hnext = NULL;
	*slot = e;
	lru_push_front(s, e);
	s->count++;
	s->bytes += entry_bytes(e);
	evict(s);
	return 0;
}

void stale_remove(struct stale *s, const char *name)
{
	size_t len = strlen(name);
	struct entry **slot = find_slot(s, name, len, dnsname_hash(name, len));

	if (*slot)
		remove_at(s, slot);
}

size_t stale_drop_below(struct stale *s, const char *name)
{
	struct entry *e, *next;
	size_t n = 0;

	for (e = s->head; e; e = next) {
		next = e->lru_next;
		if (dnsname_is_at_or_below(e->name, name)) {
			remove_entry(s, e);
			n++;
		}
	}
	return n;
}

int stale_get(struct stale *s, const char *name, long long ttl_cap, long long max_age_ms,
	      int64_t now_ms, char **ret_json)
{
	size_t len = strlen(name), i;
	struct entry **slot = find_slot(s, name, len, dnsname_hash(name, len)), *e = *slot;
	json_t *doc, *rr;
	char *out;

	if (!e)
		return -ENOENT;
	if (max_age_ms > 0 && now_ms - e->stored_ms > max_age_ms) {
		remove_at(s, slot);
		return -ENOENT;
	}
	doc = json_loadb(e->value, e->value_len, 0, NULL);
	if (!json_is_array(doc)) {
		json_decref(doc);
		remove_at(s, slot);
		return -ENOENT;
	}
	json_array_foreach(doc, i, rr)
	{
		json_t *ttl = json_object_get(rr, "ttl");

		if (json_is_integer(ttl) && json_integer_value(ttl) > ttl_cap)
			json_integer_set(ttl, ttl_cap);
	}
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!out)
		return -ENOMEM;
	*ret_json = out;
	return 0;
}

size_t stale_count(const struct stale *s)
{
	return s->count;
}

size_t stale_bytes(const struct stale *s)
{
	return s->bytes;
}
