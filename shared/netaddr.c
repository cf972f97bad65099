#include "shared/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* A parsed address; IPv4-mapped IPv6 is folded into AF_INET. */
struct addr {
	int family;
	uint8_t b[16];
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Trims blanks off [*s, *s + *len). */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
}

/* Parses @len bytes at @s as an address; false when it is not one. */
static bool addr_parse(const char *s, size_t len, struct addr *ret)
{
	char buf[NETADDR_STRLEN];
	struct addr a = { 0 };

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a.b) == 1) {
		a.family = AF_INET;
	} else if (strchr(buf, ':') && inet_pton(AF_INET6, buf, a.b) == 1) {
		a.family = AF_INET6;
		if (memcmp(a.b, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(a.b, a.b + 12, 4);
			memset(a.b + 4, 0, 12);
			a.family = AF_INET;
		}
	} else {
		return false;
	}
	*ret = a;
	return true;
}

static bool addr_format(const struct addr *a, char ret[NETADDR_STRLEN])
{
	return inet_ntop(a->family, a->b, ret, NETADDR_STRLEN) != NULL;
}

/* Do the first @bits bits of @a and @b agree? */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* Are all bits from @bits on zero, in an address of @size bytes? */
static bool host_bits_zero(const uint8_t *a, size_t size, unsigned bits)
{
	unsigned i = bits / 8, rest = bits % 8;

	if (rest != 0) {
		if (a[i] & (uint8_t)(0xff >> rest))
			return false;
		i++;
	}
	for (; i < size; i++) {
		if (a[i])
			return false;
	}
	return true;
}

static int prefix_parse(const char *s, size_t len, struct netaddr_prefix *ret, const char **reason)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	uint8_t raw[16] = { 0 };
	char buf[NETADDR_STRLEN];
	struct netaddr_prefix p = { 0 };
	unsigned max, plen = 0;
	bool mapped = false;

	if (alen == 0 || alen >= sizeof(buf)) {
		*reason = "not an IP address or prefix (expected e.g. 10.0.0.0/8 or fd00::/8)";
		return -EINVAL;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, raw) == 1) {
		p.family = AF_INET;
		max = 32;
	} else if (strchr(buf, ':') && inet_pton(AF_INET6, buf, raw) == 1) {
		p.family = AF_INET6;
		max = 128;
		mapped = memcmp(raw, v4mapped, sizeof(v4mapped)) == 0;
	} else {
		*reason = "not an IP address or prefix (expected e.g. 10.0.0.0/8 or fd00::/8)";
		return -EINVAL;
	}

	if (!slash) {
		plen = max;
	} else {
		const char *d = slash + 1, *end = s + len;

		if (d == end) {
			*reason = "missing prefix length after '/'";
			return -EINVAL;
		}
		if (end - d > 3) {
			*reason = p.family == AF_INET
					  ? "prefix length too long for IPv4 (at most 32)"
					  : "prefix length too long for IPv6 (at most 128)";
			for (; d < end; d++) {
				if (*d < '0' || *d > '9') {
					*reason = "prefix length is not a number";
					break;
				}
			}
			return -EINVAL;
		}
		for (; d < end; d++) {
			if (*d < '0' || *d > '9') {
				*reason = "prefix length is not a number";
				return -EINVAL;
			}
			plen = plen * 10 + (unsigned)(*d - '0');
		}
		if (plen > max) {
			*reason = p.family == AF_INET
					  ? "prefix length too long for IPv4 (at most 32)"
					  : "prefix length too long for IPv6 (at most 128)";
			return -EINVAL;
		}
	}
	if (!host_bits_zero(raw, max / 8, plen)) {
		*reason = "address has bits set after the prefix length (write the network, e.g. "
			  "10.0.0.0/8)";
		return -EINVAL;
	}
	if (mapped && plen >= 96) {
		p.family = AF_INET;
		memcpy(p.addr, raw + 12, 4);
		p.len = plen - 96;
	} else {
		memcpy(p.addr, raw, sizeof(raw));
		p.len = plen;
	}
	*ret = p;
	return 0;
}

int netaddr_list_parse(const char *text, struct netaddr_list *ret_list, const char **ret_reason)
{
	struct netaddr_list tmp = { 0 }; /* about 1.6 KiB */
	const char *reason = NULL, *s = text, *end;
	size_t total;
	int r;

	if (!text || !ret_list) {
		reason = "no list given";
		r = -EINVAL;
		goto out;
	}
	total = strlen(text);
	if (total > NETADDR_LIST_TEXT_MAX) {
		reason = "list too long";
		r = -EINVAL;
		goto out;
	}
	end = text + total;
	while (s < end && is_blank(*s))
		s++;
	if (s == end) {
		*ret_list = tmp; /* an empty list: nobody is trusted */
		return 0;
	}
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *e = comma ? comma : end;
		const char *el = s;
		size_t len = (size_t)(e - s);

		trim(&el, &len);
		if (len == 0) {
			reason =
				"empty element in list (two commas in a row, or a comma at an end)";
			r = -EINVAL;
			goto out;
		}
		if (tmp.n == NETADDR_LIST_MAX) {
			reason = "more than 64 prefixes";
			r = -EINVAL;
			goto out;
		}
		r = prefix_parse(el, len, &tmp.items[tmp.n], &reason);
		if (r < 0)
			goto out;
		tmp.n++;
		if (!comma)
			break;
		s = comma + 1;
	}
	*ret_list = tmp;
	r = 0;
out:
	if (r < 0 && ret_reason)
		*ret_reason = reason;
	return r;
}

int netaddr_list_check(const char *value, const char **ret_reason)
{
	struct netaddr_list l;

	return netaddr_list_parse(value, &l, ret_reason);
}

static bool list_contains(const struct netaddr_list *l, const struct addr *a)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct netaddr_prefix *p = &l->items[i];

		if (p->family == a->family && bits_equal(p->addr, a->b, p->len))
			return true;
	}
	return false;
}

bool netaddr_list_contains(const struct netaddr_list *l, const char *addr)
{
	struct addr a;

	if (!l || !addr || !addr_parse(addr, strlen(addr), &a))
		return false;
	return list_contains(l, &a);
}

int netaddr_client(const char *peer, const char *xff, const struct netaddr_list *trusted,
		   char ret[NETADDR_STRLEN])
{
	struct addr client, a;
	const char *end;

	if (!peer || !ret || !addr_parse(peer, strlen(peer), &client))
		return -EINVAL;
	if (!trusted || !xff || !list_contains(trusted, &client))
		goto out;

	/* Right to left: each element was appended by the hop after it. */
	end = xff + strlen(xff);
	for (;;) {
		const char *s = end;
		const char *el;
		size_t len;

		while (s > xff && s[-1] != ',')
			s--;
		el = s;
		len = (size_t)(end - s);
		trim(&el, &len);
		if (!addr_parse(el, len, &a))
			break; /* malformed or empty: believe nothing further left */
		client = a;
		if (!list_contains(trusted, &a))
			break; /* the rightmost untrusted address */
		if (s == xff)
			break; /* all trusted: the leftmost one */
		end = s - 1;
	}
out:
	if (!addr_format(&client, ret))
		return -EINVAL;
	return 0;
}

int netaddr_rate_key(const char *addr, char ret[NETADDR_STRLEN])
{
	char buf[NETADDR_STRLEN];
	struct addr a;
	size_t len;

	if (!addr || !ret || !addr_parse(addr, strlen(addr), &a))
		return -EINVAL;
	if (a.family == AF_INET6)
		memset(a.b + 8, 0, 8);
	if (!addr_format(&a, buf))
		return -EINVAL;
	len = strlen(buf);
	if (a.family == AF_INET6) {
		if (len + 3 >= sizeof(buf))
			return -EINVAL; /* cannot happen: a /64 prints in at most 21 bytes */
		memcpy(buf + len, "/64", 4);
	}
	memcpy(ret, buf, strlen(buf) + 1);
	return 0;
}
