#pragma once

/* The hash of a name for the backend's tables (the mirror, the stale store): FNV-1a. */

#include <stddef.h>
#include <stdint.h>

static inline uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}
