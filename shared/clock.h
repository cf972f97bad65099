#pragma once

/* Time for timers and deadlines: the monotonic clock, and interruptible sleeps. */

#include <stdbool.h>

/* Milliseconds of CLOCK_MONOTONIC (not wall time: for deadlines and durations). */
long long clock_ms(void);

/* Milliseconds since the epoch (CLOCK_REALTIME): for timestamps, never durations. */
long long clock_wall_ms(void);

/* Nanoseconds of CLOCK_MONOTONIC, for short durations (latency histograms). */
long long clock_ns(void);

/*
 * Sleeps @ms milliseconds in steps of at most 100 ms, for threads that must
 * stop promptly: returns true after the whole sleep, false as soon as *@stop
 * (read atomically) is true.
 */
bool clock_nap(const _Atomic bool *stop, long long ms);
