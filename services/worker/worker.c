/* The engine: the stream `jobs`, one job at a time, on a thread of its own. */

#include "services/worker/worker.h"
#include "services/worker/backoff.h"
#include "services/worker/job.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/redis.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REDIS_TIMEOUT_MS 5000 /* above the XREADGROUP BLOCK */
#define READ_BLOCK_MS    1000 /* how long a read waits: also how soon a stop is seen */
#define CLAIM_ROUNDS     100  /* XAUTOCLAIM calls (one entry each) per claim pass */
#define RETRIES_MAX      1024 /* retries waiting in memory; beyond, re-claimed after claim_idle */
#define RECORD_TRIES     20   /* tries to record a sent job before giving up */
#define BACKOFF_MIN_MS   100
#define BACKOFF_MAX_MS   5000
#define DEAD_VALUE_MAX   1024 /* bytes of a field value copied into a dead letter */
#define ENTRY_ID_SIZE    64

struct retry {
	char entry[ENTRY_ID_SIZE]; /* stream entry id */
	long long due_ms;          /* CLOCK_MONOTONIC */
	long long touched_ms;      /* when we last reset its idle time */
};

struct worker {
	/* configuration, owned */
	struct redis_url url;
	char *consumer;
	struct message_options mopts; /* strings owned (cast away) */
	long long claim_idle_ms, retry_base_ms, retry_max_ms, max_attempts;
	enum worker_crash crash_after;
	struct transport *transport;

	/* engine thread only */
	redisContext *rc;
	bool group_ok;
	struct retry retries[RETRIES_MAX];
	size_t n_retries;
	long long next_claim_ms, next_touch_ms;

	/* the thread */
	pthread_t thread;
	bool started;
	_Atomic bool stop;

	/* metrics, borrowed from the registry (NULL-safe updates) */
	struct metric *m_received, *m_sent, *m_failed, *m_retried, *m_dead, *m_duplicate,
		*m_claimed, *m_send_seconds, *m_redis_errors;
};

static const double send_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				       0.5,   1,      2.5,   5,    10,    30,   60 };

int worker_crash_parse(const char *s, enum worker_crash *ret)
{
	if (!s || strcmp(s, "none") == 0)
		*ret = WORKER_CRASH_NONE;
	else if (strcmp(s, "receive") == 0)
		*ret = WORKER_CRASH_RECEIVE;
	else if (strcmp(s, "send") == 0)
		*ret = WORKER_CRASH_SEND;
	else
		return -EINVAL;
	return 0;
}

int worker_crash_check(const char *s, const char **ret_reason)
{
	enum worker_crash c;

	if (worker_crash_parse(s, &c) < 0) {
		*ret_reason = "must be none, receive or send";
		return -EINVAL;
	}
	return 0;
}

static void register_metrics(struct worker *w, struct metrics_registry *m)
{
	if (!m)
		return;
	w->m_received =
		metrics_counter(m, "ddns_worker_jobs_received_total",
				"Stream entries taken in hand (new, re-claimed and retried).");
	w->m_sent = metrics_counter(m, "ddns_worker_jobs_sent_total", "Jobs sent.");
	w->m_failed = metrics_counter(m, "ddns_worker_jobs_failed_total",
				      "Send attempts that failed (temporary or permanent).");
	w->m_retried = metrics_counter(m, "ddns_worker_jobs_retried_total",
				       "Retries scheduled after a temporary failure.");
	w->m_dead =
		metrics_counter(m, "ddns_worker_jobs_dead_lettered_total",
				"Jobs moved to jobs:dead (malformed, refused, out of attempts).");
	w->m_duplicate =
		metrics_counter(m, "ddns_worker_jobs_duplicate_total",
				"Jobs found in jobs:sent and acknowledged without sending.");
	w->m_claimed = metrics_counter(m, "ddns_worker_jobs_claimed_total",
				       "Entries re-claimed from consumers idle past claim_idle.");
	w->m_send_seconds = metrics_histogram(m, "ddns_worker_send_duration_seconds",
					      "Duration of one send attempt.", send_buckets,
					      sizeof(send_buckets) / sizeof(send_buckets[0]));
	w->m_redis_errors = metrics_counter(m, "ddns_worker_redis_errors_total",
					    "Redis errors that made the engine reconnect.");
}

struct worker *worker_create(const struct worker_options *o, struct metrics_registry *metrics)
{
	struct worker *w = calloc(1, sizeof(*w));
	const char *reason = NULL;

	if (!w) {
		log_error(NULL, "out of memory");
		return NULL;
	}
	if (!o->redis_url || redis_url_parse(o->redis_url, &w->url, &reason) < 0) {
		log_error(NULL, "invalid redis_stream_url: %s", reason ? reason : "out of memory");
		goto fail;
	}
	if (message_base_url_check(o->public_base_url, &reason) < 0) {
		log_error(NULL, "invalid public_base_url: %s", reason);
		goto fail;
	}
	if (message_from_check(o->mail_from, &reason) < 0) {
		log_error(NULL, "invalid mail_from: %s", reason);
		goto fail;
	}
	if (o->consumer && *o->consumer) {
		w->consumer = strdup(o->consumer);
	} else {
		char host[128], buf[200];

		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "worker");
		host[sizeof(host) - 1] = '\0';
		snprintf(buf, sizeof(buf), "%s-%d", host, (int)getpid());
		w->consumer = strdup(buf);
	}
	w->mopts.public_base_url = strdup(o->public_base_url);
	w->mopts.mail_from = strdup(o->mail_from);
	if (!w->consumer || !w->mopts.public_base_url || !w->mopts.mail_from) {
		log_error(NULL, "out of memory");
		goto fail;
	}
	w->claim_idle_ms = o->claim_idle_ms > 0 ? o->claim_idle_ms : 60000;
	w->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 1000;
	w->retry_max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : 300000;
	w->max_attempts = o->max_attempts > 0 ? o->max_attempts : 8;
	w->crash_after = o->crash_after;
	if (w->claim_idle_ms <= o->transport.timeout_ms)
		log_warn(NULL,
			 "claim_idle (%lld ms) is not above send_timeout (%lld ms): another worker "
			 "may re-claim a job whose send is still in flight and send it twice",
			 w->claim_idle_ms, o->transport.timeout_ms);
	w->transport = transport_create(&o->transport);
	if (!w->transport)
		goto fail;
	register_metrics(w, metrics);
	return w;
fail:
	worker_destroy(w);
	return NULL;
}

static void disconnect(struct worker *w)
{
	if (w->rc)
		redisFree(w->rc);
	w->rc = NULL;
	w->group_ok = false;
}

void worker_destroy(struct worker *w)
{
	if (!w)
		return;
	worker_stop(w);
	disconnect(w);
	transport_destroy(w->transport);
	redis_url_finish(&w->url);
	free(w->consumer);
	free((char *)w->mopts.public_base_url);
	free((char *)w->mopts.mail_from);
	free(w);
}

const char *worker_consumer(const struct worker *w)
{
	return w->consumer;
}

/* ---- Redis helpers --------------------------------------------------------- */

/* Checks a reply; logs, frees and returns -EIO on an error or no reply. */
static int check_reply(struct worker *w, redisReply *rep, const char *what)
{
	if (!rep) {
		log_error(NULL, "redis %s failed: %s", what,
			  w->rc && w->rc->errstr[0] ? w->rc->errstr : "no reply");
		return -EIO;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		log_error(NULL, "redis %s failed: %s", what, rep->str);
		freeReplyObject(rep);
		return -EIO;
	}
	return 0;
}

static bool is_nogroup(const redisReply *rep)
{
	return rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOGROUP", 7) == 0;
}

static int ensure_group(struct worker *w)
{
	redisReply *rep;

	if (w->group_ok)
		return 0;
	/* at "0": jobs queued before the group existed are not skipped */
	rep = redisCommand(w->rc, "XGROUP CREATE %s %s 0 MKSTREAM", WORKER_STREAM, WORKER_GROUP);
	if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "BUSYGROUP", 9) == 0) {
		freeReplyObject(rep);
	} else {
		if (check_reply(w, rep, "XGROUP CREATE") < 0)
			return -EIO;
		log_info(NULL, "consumer group \"%s\" created on \"%s\"", WORKER_GROUP,
			 WORKER_STREAM);
		freeReplyObject(rep);
	}
	w->group_ok = true;
	return 0;
}

static int connect_redis(struct worker *w)
{
	char msg[256];
	int r;

	disconnect(w);
	r = redis_connect_sync(&w->url, REDIS_TIMEOUT_MS, &w->rc, msg, sizeof(msg));
	if (r < 0) {
		log_error(NULL, "%s", msg);
		return r;
	}
	return ensure_group(w);
}

/*
 * Runs the commands queued with redisAppendCommand* (@n of them, the first
 * MULTI and the last EXEC) and checks that each was accepted.
 */
static int run_multi(struct worker *w, int n, const char *what)
{
	int r = 0;

	for (int i = 0; i < n; i++) {
		redisReply *rep = NULL;

		if (redisGetReply(w->rc, (void **)&rep) != REDIS_OK) {
			log_error(NULL, "redis %s failed: %s", what,
				  w->rc->errstr[0] ? w->rc->errstr : "no reply");
			return -EIO;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			log_error(NULL, "redis %s failed: %s", what, rep->str);
			r = -EIO;
		} else if (i == n - 1 && rep->type == REDIS_REPLY_ARRAY) {
			for (size_t k = 0; k < rep->elements; k++)
				if (rep->element[k]->type == REDIS_REPLY_ERROR) {
					log_error(NULL, "redis %s failed: %s", what,
						  rep->element[k]->str);
					r = -EIO;
				}
		} else if (i == n - 1) {
			log_error(NULL, "redis %s failed: transaction aborted", what);
			r = -EIO;
		}
		freeReplyObject(rep);
	}
	return r;
}

/* ---- retries waiting in memory ---------------------------------------------- */

static struct retry *retry_find(struct worker *w, const char *entry)
{
	for (size_t i = 0; i < w->n_retries; i++)
		if (strcmp(w->retries[i].entry, entry) == 0)
			return &w->retries[i];
	return NULL;
}

static void retry_forget(struct worker *w, const char *entry)
{
	struct retry *r = retry_find(w, entry);

	if (r)
		*r = w->retries[--w->n_retries];
}

static bool retry_add(struct worker *w, const char *entry, long long due_ms)
{
	struct retry *r = retry_find(w, entry);
	long long now = clock_ms();

	if (!r) {
		if (w->n_retries == RETRIES_MAX || strlen(entry) >= ENTRY_ID_SIZE)
			return false;
		r = &w->retries[w->n_retries++];
		snprintf(r->entry, sizeof(r->entry), "%s", entry);
	}
	r->due_ms = due_ms;
	r->touched_ms = now;
	return true;
}

/* ---- one job ---------------------------------------------------------------- */

/* The fields of an entry's field array, borrowed from the reply; at most @max. */
static size_t entry_fields(const redisReply *arr, struct job_field *out, size_t max, bool *ret_more)
{
	size_t n = 0;

	*ret_more = false;
	if (!arr || arr->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i + 1 < arr->elements; i += 2) {
		const redisReply *k = arr->element[i], *v = arr->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (n == max) {
			*ret_more = true;
			break;
		}
		out[n++] = (struct job_field){ k->str, k->len, v->str, v->len };
	}
	return n;
}

/* XACK, XDEL and DEL of the attempts counter, in one transaction. */
static int finish_entry(struct worker *w, const char *entry, const char *job_id)
{
	int n = 4;

	redisAppendCommand(w->rc, "MULTI");
	redisAppendCommand(w->rc, "XACK %s %s %s", WORKER_STREAM, WORKER_GROUP, entry);
	redisAppendCommand(w->rc, "XDEL %s %s", WORKER_STREAM, entry);
	if (job_id) {
		redisAppendCommand(w->rc, "DEL %s%s", WORKER_ATTEMPTS_PREFIX, job_id);
		n++;
	}
	redisAppendCommand(w->rc, "EXEC");
	return run_multi(w, n, "XACK");
}

/*
 * Moves the entry to jobs:dead: its fields but the token, the reason and
 * the attempts; and acknowledges and deletes it, in one transaction.
 */
static int dead_letter(struct worker *w, const char *entry, const struct job_field *fields,
		       size_t n, const char *job_id, const char *reason, long long attempts)
{
	const char **argv = calloc(2 * n + 16, sizeof(*argv));
	size_t *lens = calloc(2 * n + 16, sizeof(*lens));
	char attempts_s[24], maxlen[24];
	int argc = 0, r, count;

	if (!argv || !lens) {
		free(argv);
		free(lens);
		return -ENOMEM;
	}
	snprintf(attempts_s, sizeof(attempts_s), "%lld", attempts);
	snprintf(maxlen, sizeof(maxlen), "%d", WORKER_DEAD_MAXLEN);
#define ARG(s, l)                 \
	do {                      \
		argv[argc] = (s); \
		lens[argc] = (l); \
		argc++;           \
	} while (0)
	ARG("XADD", 4);
	ARG(WORKER_DEAD_STREAM, strlen(WORKER_DEAD_STREAM));
	ARG("MAXLEN", 6);
	ARG("~", 1);
	ARG(maxlen, strlen(maxlen));
	ARG("*", 1);
	for (size_t i = 0; i < n; i++) {
		const struct job_field *f = &fields[i];

		/* the token is a live credential: never kept in a dead letter */
		if ((f->name_len == 5 && memcmp(f->name, "token", 5) == 0) ||
		    (f->name_len == 6 && memcmp(f->name, "reason", 6) == 0) ||
		    (f->name_len == 8 && memcmp(f->name, "attempts", 8) == 0))
			continue;
		ARG(f->name, f->name_len > DEAD_VALUE_MAX ? DEAD_VALUE_MAX : f->name_len);
		ARG(f->value, f->value_len > DEAD_VALUE_MAX ? DEAD_VALUE_MAX : f->value_len);
	}
	ARG("reason", 6);
	ARG(reason, strlen(reason));
	ARG("attempts", 8);
	ARG(attempts_s, strlen(attempts_s));
#undef ARG
	redisAppendCommand(w->rc, "MULTI");
	redisAppendCommandArgv(w->rc, argc, argv, lens);
	redisAppendCommand(w->rc, "XACK %s %s %s", WORKER_STREAM, WORKER_GROUP, entry);
	redisAppendCommand(w->rc, "XDEL %s %s", WORKER_STREAM, entry);
	count = 5;
	if (job_id) {
		redisAppendCommand(w->rc, "DEL %s%s", WORKER_ATTEMPTS_PREFIX, job_id);
		count++;
	}
	redisAppendCommand(w->rc, "EXEC");
	r = run_multi(w, count, "XADD jobs:dead");
	free(argv);
	free(lens);
	if (r == 0) {
		metric_inc(w->m_dead);
		log_fields(LOG_LEVEL_WARN, job_id,
			   (struct log_field[]){ LOG_STR("entry", entry), LOG_STR("reason", reason),
						 LOG_NUM("attempts", attempts) },
			   3, "job moved to %s: %s", WORKER_DEAD_STREAM, reason);
	}
	return r;
}

/* SET jobs:sent:<id>, reconnecting and trying again: a send not recorded may be repeated. */
static int record_sent(struct worker *w, const char *job_id)
{
	long long delay = BACKOFF_MIN_MS;

	for (int i = 0; i < RECORD_TRIES; i++) {
		redisReply *rep;

		if (!w->rc && connect_redis(w) < 0)
			goto again;
		rep = redisCommand(w->rc, "SET %s%s 1 NX EX %d", WORKER_SENT_PREFIX, job_id,
				   WORKER_SENT_TTL_S);
		if (check_reply(w, rep, "SET jobs:sent") == 0) {
			freeReplyObject(rep);
			return 0;
		}
		metric_inc(w->m_redis_errors);
		disconnect(w);
	again:
		/* a stop cuts the wait short: the job is then recorded or not, as now */
		if (!clock_nap(&w->stop, delay))
			break;
		delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
	}
	log_fields(LOG_LEVEL_ERROR, job_id, NULL, 0,
		   "could not record that the job was sent: it may be sent again");
	return -EIO;
}

/* INCR of the attempts counter (7 days); the new count in *ret. */
static int count_attempt(struct worker *w, const char *job_id, long long *ret)
{
	redisReply *rep = NULL;
	int r;

	redisAppendCommand(w->rc, "MULTI");
	redisAppendCommand(w->rc, "INCR %s%s", WORKER_ATTEMPTS_PREFIX, job_id);
	redisAppendCommand(w->rc, "EXPIRE %s%s %d", WORKER_ATTEMPTS_PREFIX, job_id,
			   WORKER_SENT_TTL_S);
	redisAppendCommand(w->rc, "EXEC");
	for (int i = 0; i < 3; i++) {
		if (redisGetReply(w->rc, (void **)&rep) != REDIS_OK)
			return check_reply(w, NULL, "INCR jobs:attempts");
		freeReplyObject(rep);
	}
	if (redisGetReply(w->rc, (void **)&rep) != REDIS_OK)
		return check_reply(w, NULL, "INCR jobs:attempts");
	if ((r = check_reply(w, rep, "INCR jobs:attempts")) < 0)
		return r;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		log_error(NULL, "redis INCR jobs:attempts failed: unexpected answer");
		freeReplyObject(rep);
		return -EIO;
	}
	*ret = rep->element[0]->integer;
	freeReplyObject(rep);
	return 0;
}

static int already_sent(struct worker *w, const char *job_id, bool *ret)
{
	redisReply *rep = redisCommand(w->rc, "EXISTS %s%s", WORKER_SENT_PREFIX, job_id);
	int r;

	if ((r = check_reply(w, rep, "EXISTS jobs:sent")) < 0)
		return r;
	*ret = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
	freeReplyObject(rep);
	return 0;
}

static void crash(const char *where, const char *job_id)
{
	log_fields(LOG_LEVEL_WARN, job_id, NULL, 0, "crash_after=%s: exiting now (testing only)",
		   where);
	_exit(1);
}

/*
 * Handles one stream entry (an array [id, [field, value, ...]]). Returns 0
 * (whatever became of the job) or -EIO when Redis failed, after which the
 * caller reconnects; the entry then stays pending and comes back.
 */
static int handle_entry(struct worker *w, const redisReply *e)
{
	struct job_field fields[JOB_FIELDS_MAX];
	const char *entry, *reason = NULL;
	struct message *msg = NULL;
	struct send_result res;
	struct job job;
	long long attempts = 0, t0;
	size_t n;
	bool more, sent;
	int r;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return 0;
	entry = e->element[0]->str;
	metric_inc(w->m_received);
	retry_forget(w, entry);
	if (e->elements < 2 || e->element[1]->type != REDIS_REPLY_ARRAY) {
		/* deleted while pending: nothing left to send */
		log_info(NULL, "entry %s is gone, acknowledging it", entry);
		return finish_entry(w, entry, NULL);
	}
	n = entry_fields(e->element[1], fields, JOB_FIELDS_MAX, &more);
	if (more || job_parse(fields, n, &job, &reason) < 0) {
		char why[160];

		snprintf(why, sizeof(why), "invalid job: %s", more ? "too many fields" : reason);
		return dead_letter(w, entry, fields, n, NULL, why, 0);
	}
	if ((r = already_sent(w, job.id, &sent)) < 0)
		return r;
	if (sent) {
		log_fields(LOG_LEVEL_INFO, job.id, (struct log_field[]){ LOG_STR("entry", entry) },
			   1, "job was sent already, acknowledging it without sending");
		metric_inc(w->m_duplicate);
		return finish_entry(w, entry, job.id);
	}
	if ((r = count_attempt(w, job.id, &attempts)) < 0)
		return r;
	if (attempts > w->max_attempts) {
		char why[160];

		snprintf(why, sizeof(why),
			 "gave up: %lld attempts started, the last ones did not end (crash or "
			 "lost connection during the send)",
			 attempts - 1);
		return dead_letter(w, entry, fields, n, job.id, why, attempts - 1);
	}
	if (w->crash_after == WORKER_CRASH_RECEIVE)
		crash("receive", job.id);
	r = message_build(&job, &w->mopts, &msg);
	if (r < 0) {
		char why[160];

		snprintf(why, sizeof(why), "could not build the message: %s", strerror(-r));
		if (r == -ENOMEM)
			return -ENOMEM;
		return dead_letter(w, entry, fields, n, job.id, why, attempts);
	}
	t0 = clock_ms();
	r = transport_send(w->transport, msg, &res);
	if (r < 0)
		send_result_set(&res, SEND_TEMPORARY, "local error: %s", strerror(-r));
	metric_observe(w->m_send_seconds, (double)(clock_ms() - t0) / 1000.0);
	send_result_scrub(&res, job.token);
	if (res.status == SEND_OK) {
		message_destroy(msg);
		if ((r = record_sent(w, job.id)) < 0)
			return r;
		if (w->crash_after == WORKER_CRASH_SEND)
			crash("send", job.id);
		metric_inc(w->m_sent);
		log_fields(LOG_LEVEL_INFO, job.id,
			   (struct log_field[]){ LOG_STR("type", job_type_name(job.type)),
						 LOG_STR("entry", entry),
						 LOG_NUM("attempt", attempts),
						 LOG_NUM("ms", clock_ms() - t0) },
			   4, "sent %s to \"%s\"", job_type_name(job.type), job.to);
		return finish_entry(w, entry, job.id);
	}
	message_destroy(msg);
	metric_inc(w->m_failed);
	if (res.status == SEND_PERMANENT)
		return dead_letter(w, entry, fields, n, job.id, res.reason, attempts);
	if (attempts >= w->max_attempts) {
		char why[SEND_REASON_MAX + 40];

		snprintf(why, sizeof(why), "gave up after %lld attempts: %s", attempts, res.reason);
		return dead_letter(w, entry, fields, n, job.id, why, attempts);
	}
	{
		long long delay = backoff_delay_ms((int)attempts, w->retry_base_ms, w->retry_max_ms,
						   backoff_random());

		metric_inc(w->m_retried);
		log_fields(LOG_LEVEL_WARN, job.id,
			   (struct log_field[]){ LOG_STR("entry", entry),
						 LOG_NUM("attempt", attempts),
						 LOG_NUM("retry_in_ms", delay) },
			   3, "send failed (%s), trying again in %lld ms", res.reason, delay);
		if (!retry_add(w, entry, clock_ms() + delay))
			log_warn(
				NULL,
				"too many retries waiting: entry %s is re-claimed after claim_idle",
				entry);
	}
	return 0;
}

/* Handles every entry of an array of entries; stops early when asked to stop. */
static int handle_entries(struct worker *w, const redisReply *arr)
{
	if (!arr || arr->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i < arr->elements; i++) {
		int r = handle_entry(w, arr->element[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

/* XAUTOCLAIM of entries idle longer than claim_idle (dead consumers'), one at a time. */
static int claim(struct worker *w)
{
	char start[ENTRY_ID_SIZE] = "0-0";

	for (int round = 0; round < CLAIM_ROUNDS && !atomic_load(&w->stop); round++) {
		redisReply *rep =
			redisCommand(w->rc, "XAUTOCLAIM %s %s %s %lld %s COUNT 1", WORKER_STREAM,
				     WORKER_GROUP, w->consumer, w->claim_idle_ms, start);
		int r;

		if (is_nogroup(rep)) {
			freeReplyObject(rep);
			w->group_ok = false;
			return ensure_group(w);
		}
		if ((r = check_reply(w, rep, "XAUTOCLAIM")) < 0)
			return r;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return -EPROTO;
		}
		snprintf(start, sizeof(start), "%s", rep->element[0]->str);
		if (rep->element[1]->elements > 0) {
			log_info(NULL, "re-claimed an entry idle for %lld ms or more",
				 w->claim_idle_ms);
			metric_add(w->m_claimed, rep->element[1]->elements);
		}
		r = handle_entries(w, rep->element[1]);
		freeReplyObject(rep);
		if (r < 0)
			return r;
		if (strcmp(start, "0-0") == 0)
			break;
	}
	return 0;
}

/*
 * Resets the idle time of the entries waiting for a retry, so that no other
 * consumer re-claims them meanwhile. An entry another consumer took after
 * all (its idle time is below the time since our last touch) is left to it.
 */
static int touch_retries(struct worker *w)
{
	long long now = clock_ms();
	size_t n = w->n_retries;

	for (size_t i = 0; i < n; i++) {
		long long min_idle = now - w->retries[i].touched_ms - 100;

		redisAppendCommand(w->rc, "XCLAIM %s %s %s %lld %s JUSTID", WORKER_STREAM,
				   WORKER_GROUP, w->consumer, min_idle > 0 ? min_idle : 0LL,
				   w->retries[i].entry);
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *rep = NULL;

		if (redisGetReply(w->rc, (void **)&rep) != REDIS_OK)
			return check_reply(w, NULL, "XCLAIM");
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 0)
			w->retries[i].due_ms = -1; /* gone, or another consumer's now */
		else
			w->retries[i].touched_ms = now;
		freeReplyObject(rep);
	}
	for (size_t i = 0; i < w->n_retries;)
		if (w->retries[i].due_ms < 0)
			w->retries[i] = w->retries[--w->n_retries];
		else
			i++;
	return 0;
}

/* The first due retry: taken back with XCLAIM (which returns the entry) and handled. */
static int run_due_retry(struct worker *w)
{
	long long now = clock_ms(), min_idle;
	struct retry *due = NULL;
	char entry[ENTRY_ID_SIZE];
	redisReply *rep;
	int r;

	for (size_t i = 0; i < w->n_retries; i++)
		if (w->retries[i].due_ms <= now && (!due || w->retries[i].due_ms < due->due_ms))
			due = &w->retries[i];
	if (!due)
		return 0;
	snprintf(entry, sizeof(entry), "%s", due->entry);
	min_idle = now - due->touched_ms - 100;
	retry_forget(w, entry);
	rep = redisCommand(w->rc, "XCLAIM %s %s %s %lld %s", WORKER_STREAM, WORKER_GROUP,
			   w->consumer, min_idle > 0 ? min_idle : 0LL, entry);
	if ((r = check_reply(w, rep, "XCLAIM")) < 0)
		return r;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 0)
		log_info(NULL, "entry %s waiting for a retry is gone or another consumer's", entry);
	r = handle_entries(w, rep);
	freeReplyObject(rep);
	return r;
}

/* One turn: claim and touch when due, a due retry, then read (waiting at most a second). */
static int step(struct worker *w)
{
	long long now = clock_ms(), wait = READ_BLOCK_MS;
	redisReply *rep;
	int r;

	if ((r = ensure_group(w)) < 0)
		return r;
	if (now >= w->next_claim_ms) {
		w->next_claim_ms = now + (w->claim_idle_ms / 2 > 100 ? w->claim_idle_ms / 2 : 100);
		if ((r = claim(w)) < 0)
			return r;
	}
	if (w->n_retries > 0 && clock_ms() >= w->next_touch_ms) {
		w->next_touch_ms =
			clock_ms() + (w->claim_idle_ms / 3 > 100 ? w->claim_idle_ms / 3 : 100);
		if ((r = touch_retries(w)) < 0)
			return r;
	}
	if ((r = run_due_retry(w)) < 0)
		return r;
	if (atomic_load(&w->stop))
		return 0;
	now = clock_ms();
	if (w->next_claim_ms - now < wait)
		wait = w->next_claim_ms - now;
	for (size_t i = 0; i < w->n_retries; i++)
		if (w->retries[i].due_ms - now < wait)
			wait = w->retries[i].due_ms - now;
	if (wait > 0)
		rep = redisCommand(w->rc, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %lld STREAMS %s >",
				   WORKER_GROUP, w->consumer, wait, WORKER_STREAM);
	else
		rep = redisCommand(w->rc, "XREADGROUP GROUP %s %s COUNT 1 STREAMS %s >",
				   WORKER_GROUP, w->consumer, WORKER_STREAM);
	if (is_nogroup(rep)) {
		log_warn(NULL, "consumer group \"%s\" is gone, creating it again", WORKER_GROUP);
		freeReplyObject(rep);
		w->group_ok = false;
		return ensure_group(w);
	}
	if ((r = check_reply(w, rep, "XREADGROUP")) < 0)
		return r;
	/* [[stream, [entry...]]], or nil after BLOCK */
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2)
		r = handle_entries(w, rep->element[0]->element[1]);
	freeReplyObject(rep);
	return r;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	long long backoff = BACKOFF_MIN_MS;

	while (!atomic_load(&w->stop)) {
		int r;

		if (!w->rc) {
			r = connect_redis(w);
			if (r < 0) {
				metric_inc(w->m_redis_errors);
				disconnect(w);
				log_warn(NULL, "retrying in %lld ms", backoff);
				clock_nap(&w->stop,
					  backoff / 2 + (long long)(backoff_random() %
								    (uint64_t)(backoff / 2 + 1)));
				backoff =
					backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			backoff = BACKOFF_MIN_MS;
			/* look for entries of dead consumers at once */
			w->next_claim_ms = 0;
		}
		r = step(w);
		if (r < 0) {
			metric_inc(w->m_redis_errors);
			log_warn(NULL, "reconnecting after an error: %s", strerror(-r));
			disconnect(w);
		}
	}
	disconnect(w);
	return NULL;
}

int worker_start(struct worker *w)
{
	int r;

	atomic_store(&w->stop, false);
	r = pthread_create(&w->thread, NULL, run, w);
	if (r != 0)
		return -r;
	w->started = true;
	log_info(NULL, "consumer \"%s\" of group \"%s\" on \"%s\", mail by %s", w->consumer,
		 WORKER_GROUP, WORKER_STREAM, transport_describe(w->transport));
	return 0;
}

void worker_request_stop(struct worker *w)
{
	if (w)
		atomic_store(&w->stop, true);
}

void worker_stop(struct worker *w)
{
	if (!w || !w->started)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	w->started = false;
}
