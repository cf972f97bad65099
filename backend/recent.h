#pragma once
/*
 * When names were last answered, roughly: a fixed table of times indexed by
 * name hash. Each slot holds the latest time of every name that falls into
 * it, so an answer can only err towards "recently", never towards "not".
 * Marking a name marks its ancestors too, so asking about a name covers
 * every name at or below it (what a PowerDNS cache flush of it removes).
 *
 * ddns-backend marks a name when a lookup of it starts and when it is
 * answered, and uses the table to tell whether any PowerDNS cache can still
 * hold an answer of a name, i.e. whether a purge notice needs a flush (see
 * purge.c).
 */

#include <stdint.h>

struct recent;

/* A table of 2^@bits slots, all "never"; NULL when out of memory. */
struct recent *recent_create(unsigned bits);
void recent_destroy(struct recent *r);

/* Notes that @name (normalized, ending in a dot) was asked or answered at @now_ms. */
void recent_mark(struct recent *r, const char *name, int64_t now_ms);

/*
 * A time no earlier than the last answer of any name at or below @name
 * (normalized); INT64_MIN when nothing there was ever marked.
 */
int64_t recent_last(const struct recent *r, const char *name);
