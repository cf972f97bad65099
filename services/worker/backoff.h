#pragma once

/*
 * Retry delays: exponential backoff with full jitter (the "Full Jitter" of
 * AWS's architecture blog): attempt n (1-based: the delay after the n-th
 * failed attempt) waits a uniformly random time in [0, min(max, base * 2^(n-1))].
 */

#include <stdint.h>

/* The cap of attempt @attempt: min(@max_ms, @base_ms * 2^(@attempt - 1)); 0 when @attempt < 1. */
long long backoff_cap_ms(int attempt, long long base_ms, long long max_ms);

/*
 * A delay for @attempt, drawn with @random (any 64-bit value, e.g. from
 * backoff_random()): in [0, backoff_cap_ms()].
 */
long long backoff_delay_ms(int attempt, long long base_ms, long long max_ms, uint64_t random);

/* 64 random bits (getrandom; a clock-seeded fallback should it fail). */
uint64_t backoff_random(void);
