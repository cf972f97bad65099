#pragma once

/*
 * Client addresses behind reverse proxies: lists of trusted networks (CIDR
 * prefixes), the "rightmost untrusted" reading of X-Forwarded-For, and the
 * key a client address is rate limited under.
 *
 * Addresses are textual IPv4 ("192.0.2.1") or IPv6 ("2001:db8::1") as
 * inet_pton() reads them: no zone ids ("%eth0"), no brackets, no ports, no
 * leading zeros in IPv4. An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is
 * the IPv4 address everywhere here: it matches IPv4 prefixes and is written
 * back as IPv4. Everything written into a caller's buffer is a canonical
 * address (inet_ntop), never text taken from a header.
 *
 * All functions are pure: no I/O, no allocation, thread-safe.
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETADDR_LIST_MAX 64 /* prefixes in a list */

/* Longest text accepted in a list (a config value), in bytes. */
#define NETADDR_LIST_TEXT_MAX 4096

/* Room for a canonical address or rate key, with its NUL: INET6_ADDRSTRLEN (46). */
#define NETADDR_STRLEN INET6_ADDRSTRLEN

struct netaddr_prefix {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; 4 bytes used for AF_INET; host bits zero */
	unsigned len;     /* prefix length: 0..32 or 0..128 */
};

struct netaddr_list {
	size_t n;
	struct netaddr_prefix items[NETADDR_LIST_MAX];
};

/*
 * Parses a comma-separated list of prefixes, e.g.
 *   "127.0.0.1/32, 10.0.0.0/8, ::1/128, fd00::/8"
 * A bare address is a /32 or /128; spaces and tabs around elements are
 * ignored; an empty or all-blank text is an empty list (trust nobody). A
 * prefix of an IPv4-mapped address (::ffff:10.0.0.0/104) is stored as the
 * IPv4 prefix (10.0.0.0/8).
 *
 * Returns 0 and fills *ret_list, or -EINVAL and sets *ret_reason (if not
 * NULL) to a static, lower-case reason ("empty element in list", "prefix
 * length too long for IPv4 (at most 32)", "not an IP address or prefix",
 * "address has bits set after the prefix length", "more than 64 prefixes",
 * ...). *ret_list is untouched on failure.
 */
int netaddr_list_parse(const char *text, struct netaddr_list *ret_list, const char **ret_reason);

/* The `check` member of struct config_key (shared/config.h): 0 when
 * netaddr_list_parse() accepts @value, else -EINVAL and a reason. */
int netaddr_list_check(const char *value, const char **ret_reason);

/* Is @addr (a textual address, see above) inside one of the prefixes of
 * @l? False for anything that is not an address, and for a NULL list. */
bool netaddr_list_contains(const struct netaddr_list *l, const char *addr);

/*
 * The address of the client, for logs and rate limits:
 * - @peer (the TCP peer) is not in @trusted: @peer; X-Forwarded-For is
 *   ignored, since anyone can send one;
 * - else the X-Forwarded-For value @xff (NULL: none) is read from the right,
 *   skipping addresses that are themselves trusted proxies, and the first
 *   untrusted one is the client (the "rightmost untrusted" rule; whatever
 *   lies left of it was written by the client and is not believed);
 * - when every element is trusted, the leftmost one; when an element is not
 *   a valid address (or is empty), reading stops there and the last good
 *   address (or @peer) is the client.
 * If several X-Forwarded-For headers arrived, pass them joined by ", " in
 * order (evhttp returns only the first one).
 *
 * Writes the canonical text into @ret and returns 0; -EINVAL when @peer is
 * not an address (then @ret is untouched).
 */
int netaddr_client(const char *peer, const char *xff, const struct netaddr_list *trusted,
		   char ret[NETADDR_STRLEN]);

/*
 * The key a client is rate limited under: an IPv4 address as is
 * ("192.0.2.1"), an IPv6 address cut to its /64 ("2001:db8:1:2::/64"),
 * since one user usually owns a whole /64. Canonical; IPv4-mapped is IPv4.
 * Returns 0, or -EINVAL (then @ret is untouched) when @addr is not an
 * address.
 */
int netaddr_rate_key(const char *addr, char ret[NETADDR_STRLEN]);
