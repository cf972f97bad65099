#pragma once

/*
 * Domain names as users and PowerDNS write them: presentation form, ASCII
 * only, no escapes.
 *
 * A normalized name is lower case and ends with one dot ("www.dyn.test.").
 * Every name stored in PostgreSQL or Redis and sent to PowerDNS is
 * normalized; compare normalized names with strcmp().
 *
 * Rules checked by dnsname_normalize():
 *   - at most 63 bytes a label, at most 253 bytes a name (without the final
 *     dot), no empty labels; the final dot of the input is optional; the root
 *     name "." alone is rejected;
 *   - labels are letters, digits, '-' and '_' (underscore labels such as
 *     _acme-challenge or _tcp are ordinary DNS names);
 *   - with DNSNAME_HOSTNAME, labels are strict LDH (RFC 952/1123): letters,
 *     digits and '-', not starting or ending with '-'; "xn--" labels are fine;
 *   - '*' only as the whole leftmost label, and only with DNSNAME_WILDCARD;
 *   - anything else is rejected: non-ASCII bytes (use the punycode form),
 *     backslash escapes, spaces, control characters, '@', ...
 *
 * Reasons returned through ret_reason are static, user-facing strings.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSNAME_LABEL_MAX 63
#define DNSNAME_MAX       253 /* presentation length without the final dot */
#define DNSNAME_SIZE      256 /* buffer for a normalized name: final dot and NUL */

enum {
	DNSNAME_HOSTNAME = 1 << 0, /* LDH labels only; no '_', no leading/trailing '-' */
	DNSNAME_WILDCARD = 1 << 1, /* '*' allowed as the whole leftmost label */
};

/*
 * Validates @in and writes its normalized form (lower case, final dot) into
 * @ret_name. Returns 0, or -EINVAL and sets *ret_reason (when @ret_reason is
 * not NULL) to a static message such as "label longer than 63 characters".
 * @ret_name is untouched on failure.
 */
int dnsname_normalize(const char *in, unsigned flags, char ret_name[DNSNAME_SIZE],
		      const char **ret_reason);

/*
 * Whether @name equals @zone or lies below it, on label boundaries
 * ("xa.b." is not below "a.b."). Both normalized; compared case-insensitively.
 */
bool dnsname_is_at_or_below(const char *name, const char *zone);

/* Whether @name lies strictly below @zone. Both normalized. */
bool dnsname_is_below(const char *name, const char *zone);

/*
 * Writes @name relative to @zone into @buf: "@" for the apex, "www" or "a.b"
 * below it (no final dot). Both normalized. Returns 0, -EINVAL when @name is
 * not at or below @zone, -EMSGSIZE when @buf is too small (@buf untouched on
 * failure). A buffer of DNSNAME_SIZE bytes is always large enough.
 */
int dnsname_to_relative(const char *name, const char *zone, char *buf, size_t size);

/*
 * Turns a name a user typed relative to @zone (normalized) into a normalized
 * absolute name: "@" is the zone itself, "www" becomes "www.<zone>", and an
 * input that ends with a dot is already absolute and must be at or below
 * @zone. @flags as for dnsname_normalize() and apply to the typed part.
 * Returns 0, or -EINVAL and a static reason; @ret_name is untouched on failure.
 */
int dnsname_to_absolute(const char *rel, const char *zone, unsigned flags,
			char ret_name[DNSNAME_SIZE], const char **ret_reason);

/* Number of labels: "www.example.com." and "www.example.com" have 3, "." and "" none. */
size_t dnsname_label_count(const char *name);

/* A hash of the @n bytes of a name (FNV-1a), for in-memory tables of names. */
static inline uint64_t dnsname_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}
