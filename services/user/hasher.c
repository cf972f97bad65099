/* Password hashing off the event loop. */

#include "services/user/hasher.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define HASHER_THREADS_MAX 64

struct job {
	struct job *next;
	bool verify;
	char *pw; /* owned, wiped */
	size_t len;
	char hash[ACCOUNT_HASH_MAX]; /* verify: the stored hash; hash: the result */
	int result;
	hasher_fn cb;
	void *arg;
};

struct hasher {
	struct account_pwhash_params params;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *queue, **queue_tail; /* waiting; under lock */
	struct job *done, **done_tail;   /* finished; under lock */
	unsigned n_waiting, max_queue, n_pending;
	bool stopping;
	pthread_t threads[HASHER_THREADS_MAX];
	unsigned n_threads;
	int efd;
	struct event *ev;
	char dummy[ACCOUNT_HASH_MAX];
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->pw) {
		sodium_memzero(j->pw, j->len);
		free(j->pw);
	}
	free(j);
}

static void run(struct hasher *h, struct job *j)
{
	if (j->verify)
		j->result = account_password_verify(j->hash, j->pw, j->len) ? 1 : 0;
	else
		j->result = account_password_hash(j->pw, j->len, &h->params, j->hash);
	sodium_memzero(j->pw, j->len);
}

static void *worker(void *arg)
{
	struct hasher *h = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct job *j;

		while (!h->queue && !h->stopping)
			pthread_cond_wait(&h->wake, &h->lock);
		if (!h->queue)
			break; /* stopping, and nothing left that was taken */
		j = h->queue;
		h->queue = j->next;
		if (!h->queue)
			h->queue_tail = &h->queue;
		h->n_waiting--;
		pthread_mutex_unlock(&h->lock);

		run(h, j);

		pthread_mutex_lock(&h->lock);
		j->next = NULL;
		*h->done_tail = j;
		h->done_tail = &j->next;
		if (write(h->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here; nothing to do */
		}
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* On the loop: hands the finished jobs to their callbacks. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct hasher *h = arg;
	uint64_t n;
	struct job *list;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: woken for jobs taken already */
	}
	pthread_mutex_lock(&h->lock);
	list = h->done;
	h->done = NULL;
	h->done_tail = &h->done;
	pthread_mutex_unlock(&h->lock);
	while (list) {
		struct job *j = list;

		list = j->next;
		h->n_pending--;
		j->cb(j->result, j->verify || j->result < 0 ? NULL : j->hash, j->arg);
		job_free(j);
	}
}

struct hasher *hasher_create(struct event_base *base, unsigned threads, unsigned max_queue,
			     const struct account_pwhash_params *p)
{
	struct hasher *h;
	unsigned char rnd[32];
	char pw[65];

	if (threads == 0 || threads > HASHER_THREADS_MAX || max_queue == 0 || sodium_init() < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->params = *p;
	h->max_queue = max_queue;
	h->queue_tail = &h->queue;
	h->done_tail = &h->done;
	h->efd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->wake, NULL);

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	if (account_password_hash(pw, strlen(pw), p, h->dummy) < 0)
		goto fail;
	sodium_memzero(pw, sizeof(pw));

	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0)
		goto fail;
	h->ev = event_new(base, h->efd, EV_READ | EV_PERSIST, on_done, h);
	if (!h->ev || event_add(h->ev, NULL) < 0)
		goto fail;
	for (; h->n_threads < threads; h->n_threads++)
		if (pthread_create(&h->threads[h->n_threads], NULL, worker, h) != 0)
			goto fail;
	return h;
fail:
	hasher_destroy(h);
	return NULL;
}

void hasher_destroy(struct hasher *h)
{
	struct job *waiting;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	waiting = h->queue;
	h->queue = NULL;
	h->queue_tail = &h->queue;
	h->n_waiting = 0;
	h->stopping = true;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
	for (unsigned i = 0; i < h->n_threads; i++)
		pthread_join(h->threads[i], NULL);
	while (waiting) {
		struct job *j = waiting;

		waiting = j->next;
		j->result = -ECANCELED;
		j->next = NULL;
		*h->done_tail = j;
		h->done_tail = &j->next;
	}
	/* finished and cancelled jobs alike complete now, once */
	if (h->efd >= 0)
		on_done(h->efd, EV_READ, h);
	if (h->ev)
		event_free(h->ev);
	if (h->efd >= 0)
		close(h->efd);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	sodium_memzero(h->dummy, sizeof(h->dummy));
	free(h);
}

static int submit(struct hasher *h, bool verify, const char *hash, const char *pw, size_t len,
		  hasher_fn cb, void *arg)
{
	struct job *j;

	if (verify && strlen(hash) >= ACCOUNT_HASH_MAX)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->pw = malloc(len ? len : 1);
	if (!j->pw) {
		free(j);
		return -ENOMEM;
	}
	memcpy(j->pw, pw, len);
	j->len = len;
	j->verify = verify;
	if (verify)
		strcpy(j->hash, hash);
	j->cb = cb;
	j->arg = arg;

	pthread_mutex_lock(&h->lock);
	if (h->n_waiting >= h->max_queue || h->stopping) {
		pthread_mutex_unlock(&h->lock);
		job_free(j);
		return -EAGAIN;
	}
	*h->queue_tail = j;
	h->queue_tail = &j->next;
	h->n_waiting++;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	h->n_pending++;
	return 0;
}

int hasher_hash(struct hasher *h, const char *pw, size_t len, hasher_fn cb, void *arg)
{
	return submit(h, false, NULL, pw, len, cb, arg);
}

int hasher_verify(struct hasher *h, const char *hash, const char *pw, size_t len, hasher_fn cb,
		  void *arg)
{
	return submit(h, true, hash, pw, len, cb, arg);
}

const char *hasher_dummy(const struct hasher *h)
{
	return h->dummy;
}

unsigned hasher_pending(const struct hasher *h)
{
	return h->n_pending;
}
