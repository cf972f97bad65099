#pragma once

/*
 * hasher: argon2id password hashing and verification on worker threads, so
 * that a ~100 ms hash never stalls the event loop. Jobs wait in a bounded
 * queue; each completes exactly once, on the loop's thread (an eventfd wakes
 * the loop). Passwords are copied into the job and wiped when it ends.
 * Threading: submit and destroy on the loop's thread, and never destroy from
 * inside a callback.
 */

#include "services/user/account.h"

#include <stddef.h>

struct event_base;
struct hasher;

/*
 * The end of a job, on the loop thread:
 *   hash:   @result 0 and @hash (borrowed for the call), or a negative errno;
 *   verify: @result 1 (match), 0 (no match), or a negative errno;
 * -ECANCELED when the hasher was destroyed before the job ran.
 */
typedef void (*hasher_fn)(int result, const char *hash, void *arg);

/* @threads workers (>= 1), at most @max_queue jobs waiting; @p copied. NULL on failure. */
struct hasher *hasher_create(struct event_base *base, unsigned threads, unsigned max_queue,
			     const struct account_pwhash_params *p);
/* Cancels the waiting jobs (their callbacks run), waits for the running ones. NULL-safe. */
void hasher_destroy(struct hasher *h);

/*
 * Queue a hash of @pw (@len bytes, copied), or a verification of @pw against
 * @hash (copied). Returns 0 (the callback runs later, exactly once), -EAGAIN
 * (queue full: answer 503) or -ENOMEM; the callback is then not called.
 */
int hasher_hash(struct hasher *h, const char *pw, size_t len, hasher_fn cb, void *arg);
int hasher_verify(struct hasher *h, const char *hash, const char *pw, size_t len, hasher_fn cb,
		  void *arg);

/* A hash of a random password made at creation, to verify against when an
 * account does not exist: the answer then takes as long as for one that does. */
const char *hasher_dummy(const struct hasher *h);

/* Jobs waiting or running (for metrics). */
unsigned hasher_pending(const struct hasher *h);
