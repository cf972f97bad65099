/* Exponential backoff with full jitter. */

#include "services/worker/backoff.h"

#include <sys/random.h>
#include <time.h>

long long backoff_cap_ms(int attempt, long long base_ms, long long max_ms)
{
	long long cap = base_ms;

	if (attempt < 1 || base_ms <= 0 || max_ms <= 0)
		return 0;
	for (int i = 1; i < attempt && cap < max_ms; i++)
		cap *= 2; /* stops at max_ms: no overflow */
	return cap < max_ms ? cap : max_ms;
}

long long backoff_delay_ms(int attempt, long long base_ms, long long max_ms, uint64_t random)
{
	long long cap = backoff_cap_ms(attempt, base_ms, max_ms);

	return cap > 0 ? (long long)(random % ((uint64_t)cap + 1)) : 0;
}

uint64_t backoff_random(void)
{
	uint64_t v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ts.tv_sec;
	return v;
}
