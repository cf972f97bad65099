#pragma once

/*
 * ddns-worker's engine: reads the stream `jobs` (Redis db1) in the consumer
 * group `worker`, turns each job into a message and sends it, with retries,
 * dead letters and exactly-once bookkeeping around the send.
 *
 * It runs on a thread of its own with a synchronous Redis connection (with
 * timeouts) and synchronous sends (bounded by send_timeout), so the daemon's
 * event loop keeps answering /healthz, /readyz and /metrics while a mail
 * server takes its time. One job is in hand at a time.
 *
 * One job, step by step:
 *  1. XREADGROUP ... COUNT 1 (new entries), XAUTOCLAIM (entries that a dead
 *     consumer left pending longer than claim_idle) or XCLAIM (a retry of
 *     our own that is due).
 *  2. The fields are checked (job.h); a bad job is dead-lettered.
 *  3. EXISTS jobs:sent:<id>: a job already sent (redelivered after a crash
 *     between the send and its XACK, or enqueued twice) is acknowledged and
 *     not sent again.
 *  4. INCR jobs:attempts:<id> (expires after 7 days): attempts are counted
 *     in Redis when they start, so they survive restarts and a crash loop
 *     ends in a dead letter after max_attempts instead of retrying forever.
 *  5. The send. Success: SET jobs:sent:<id> 1 NX EX 604800, then XACK, XDEL
 *     (the entry holds a token) and DEL of the attempts counter, in one
 *     MULTI. A temporary failure is tried again after a backoff delay (full
 *     jitter, backoff.h) while attempts < max_attempts; the entry stays
 *     pending, ours (its idle time is reset while it waits, so that no other
 *     consumer takes it). A permanent failure, or the last attempt, is
 *     dead-lettered.
 *  6. A dead letter: XADD jobs:dead with the entry's fields except the token
 *     (a live credential: it is never copied), plus reason and attempts, and
 *     XACK, XDEL, DEL attempts, all in one MULTI.
 *
 * The one window that remains: a crash after the mail left and before
 * jobs:sent was written sends it again after the restart (at least once, by
 * design: never lost).
 *
 * Threads: worker_start runs the engine on its own thread; from then on
 * only worker_request_stop, worker_stop and worker_destroy may be called.
 */

#include "services/worker/transport.h"

#include <stdbool.h>

#define WORKER_STREAM          "jobs"
#define WORKER_GROUP           "worker"
#define WORKER_DEAD_STREAM     "jobs:dead"
#define WORKER_SENT_PREFIX     "jobs:sent:"
#define WORKER_ATTEMPTS_PREFIX "jobs:attempts:"
#define WORKER_SENT_TTL_S      604800 /* 7 days */
#define WORKER_DEAD_MAXLEN     100000 /* jobs:dead is trimmed (approximately) beyond this */

struct metrics_registry;

/* Test-only fault injection: where the process _exit(1)s. */
enum worker_crash {
	WORKER_CRASH_NONE,
	WORKER_CRASH_RECEIVE, /* a job was received (and counted), before the send */
	WORKER_CRASH_SEND,    /* the job was sent and recorded in jobs:sent, before XACK */
};

/* "none", "receive", "send" -> value; -EINVAL otherwise. */
int worker_crash_parse(const char *s, enum worker_crash *ret);
int worker_crash_check(const char *s, const char **ret_reason);

struct worker_options {
	const char *redis_url;       /* the stream's Redis (db1); borrowed, parsed */
	const char *consumer;        /* consumer name; NULL or "": host-pid */
	const char *public_base_url; /* borrowed, copied */
	const char *mail_from;       /* borrowed, copied */
	struct transport_options transport;
	long long claim_idle_ms; /* re-claim entries pending longer than this */
	long long retry_base_ms, retry_max_ms;
	long long max_attempts;
	enum worker_crash crash_after;
};

struct worker;

/*
 * Checks the options, creates the transport; logs what is wrong (one line)
 * and returns NULL on a bad option or out of memory. @metrics is borrowed
 * (may be NULL).
 */
struct worker *worker_create(const struct worker_options *o, struct metrics_registry *metrics);
/* Stops the thread if running and frees everything. NULL-safe. */
void worker_destroy(struct worker *w);

/* The consumer name in use (borrowed). */
const char *worker_consumer(const struct worker *w);

/* Runs the engine on a thread of its own until stopped. 0 or -errno. */
int worker_start(struct worker *w);
/* Asks the thread to stop after the job in hand; returns at once. */
void worker_request_stop(struct worker *w);
/* Asks and waits: the job in hand is finished (its send bounded by send_timeout). */
void worker_stop(struct worker *w);
