#pragma once

/*
 * Where the server gets its answers: the interface between the connection
 * code (server.c) and the stores (lookup.c), so that tests can put a fake
 * source behind the real server.
 *
 * Every operation either returns a negative errno at once (the callback is
 * never called) or returns 0 and calls @cb exactly once, possibly before it
 * returns (an answer from memory) or later from the event loop.
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum source_status {
	SOURCE_FOUND,  /* @value is the JSON value to send as "result" */
	SOURCE_ABSENT, /* an authoritative "no such name / zone": {"result":false} */
	SOURCE_FAILED, /* nobody could answer: @reason; the reply is an error (SERVFAIL) */
};

/*
 * @value (@len bytes, not NUL-terminated necessarily) and @reason are
 * borrowed for the duration of the call.
 */
typedef void (*source_done_fn)(enum source_status status, const char *value, size_t len,
			       const char *reason, void *arg);

struct source_ops {
	/* The stored answer of @name (normalized): a JSON array of record objects. */
	int (*lookup)(void *ctx, const char *name, int64_t deadline_ms, source_done_fn cb,
		      void *arg);
	/* Every zone: a JSON array of zone info objects. */
	int (*zones)(void *ctx, int64_t deadline_ms, source_done_fn cb, void *arg);
	/* Every record of zone @zone (normalized) for AXFR: a JSON array. */
	int (*list)(void *ctx, const char *zone, int64_t deadline_ms, source_done_fn cb, void *arg);
	/*
	 * Optional, synchronous: a last-resort answer of @name when the deadline
	 * passed (serve-stale), as a new string in *ret_json; -ENOENT when none.
	 */
	int (*stale)(void *ctx, const char *name, char **ret_json);
};
