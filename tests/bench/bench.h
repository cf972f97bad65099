#pragma once

/*
 * A tiny benchmark loop: runs @body repeatedly for about @ms milliseconds
 * (at most @max_iter times) and prints the name, iterations and ns per
 * operation. Bounded in count and in time.
 */

#include <stdio.h>
#include <time.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define BENCH(name, ms, max_iter, body)                                                  \
	do {                                                                             \
		double start_ = bench_now_ns(), end_ = start_ + (ms)*1e6, now_ = start_; \
		unsigned long iter_ = 0;                                                 \
		while (iter_ < (max_iter) && now_ < end_) {                              \
			for (int k_ = 0; k_ < 1000; k_++, iter_++) {                     \
				body;                                                    \
			}                                                                \
			now_ = bench_now_ns();                                           \
		}                                                                        \
		printf("%-40s %12lu ops %10.1f ns/op\n", (name), iter_,                  \
		       (now_ - start_) / (double)iter_);                                 \
	} while (0)
