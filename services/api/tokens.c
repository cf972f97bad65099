/* tokens: verified tokens by their SHA-256. */

#include "services/api/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS 4096

struct entry {
	struct entry *next; /* in its bucket */
	unsigned char digest[32];
	long long until; /* exp + skew */
	struct token_hit hit;
};

struct tokens {
	struct entry *buckets[N_BUCKETS];
	size_t n;
	long long swept; /* when expired entries were last dropped */
};

struct tokens *tokens_create(void)
{
	return calloc(1, sizeof(struct tokens));
}

void tokens_destroy(struct tokens *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < N_BUCKETS; i++) {
		struct entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t);
}

static int digest(const char *tok, size_t len, unsigned char out[32])
{
	unsigned n = 0;

	return EVP_Digest(tok, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

static struct entry **bucket(struct tokens *t, const unsigned char d[32])
{
	uint32_t h;

	memcpy(&h, d, sizeof(h)); /* a SHA-256 is evenly spread */
	return &t->buckets[h % N_BUCKETS];
}

static void sweep(struct tokens *t, long long now)
{
	for (size_t i = 0; i < N_BUCKETS; i++) {
		struct entry **p = &t->buckets[i];

		while (*p) {
			struct entry *e = *p;

			if (e->until < now) {
				*p = e->next;
				t->n--;
				free(e);
			} else {
				p = &e->next;
			}
		}
	}
}

bool tokens_get(struct tokens *t, const char *tok, size_t len, long long now, long long skew_s,
		struct token_hit *ret)
{
	unsigned char d[32];
	struct entry **p;

	if (digest(tok, len, d) < 0)
		return false;
	for (p = bucket(t, d); *p; p = &(*p)->next) {
		struct entry *e = *p;

		if (CRYPTO_memcmp(e->digest, d, sizeof(d)) != 0)
			continue;
		if (now > e->until) { /* expired: gone, verified again (and refused) */
			*p = e->next;
			t->n--;
			free(e);
			return false;
		}
		if (e->hit.claims.nbf && now + skew_s < e->hit.claims.nbf)
			return false;
		*ret = e->hit;
		return true;
	}
	return false;
}

void tokens_put(struct tokens *t, const char *tok, size_t len, const struct token_hit *hit,
		long long now, long long skew_s)
{
	unsigned char d[32];
	struct entry *e, **b;

	if (digest(tok, len, d) < 0)
		return;
	b = bucket(t, d);
	for (e = *b; e; e = e->next)
		if (CRYPTO_memcmp(e->digest, d, sizeof(d)) == 0)
			break;
	if (!e) {
		if (t->n >= TOKENS_MAX && t->swept != now) { /* at most once a second */
			t->swept = now;
			sweep(t, now);
		}
		if (t->n >= TOKENS_MAX) {
			/* full of live tokens: the newest of this bucket makes room */
			if (!*b)
				return;
			e = *b;
			*b = e->next;
			t->n--;
		} else if (!(e = malloc(sizeof(*e)))) {
			return;
		}
		memcpy(e->digest, d, sizeof(d));
		e->next = *b;
		*b = e;
		t->n++;
	}
	/* a token verified again (its key was read again) replaces its entry */
	e->until = hit->claims.exp + skew_s;
	e->hit = *hit;
}
