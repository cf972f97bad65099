#include "shared/dnsname.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Bytes that are wrong anywhere in a name, with the most helpful reason. */
static const char *check_bytes(const char *in)
{
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (*p >= 0x80)
			return "non-ASCII name: use its punycode (xn--) form";
		if (*p < 0x20 || *p == 0x7f)
			return "control character in name";
		if (*p == ' ')
			return "space in name";
		if (*p == '\\')
			return "backslash escapes are not allowed in names";
		if (*p == '@')
			return "'@' is not allowed in a name";
	}
	return NULL;
}

/* Checks one label of @len bytes; @leftmost for the first label of the name. */
static const char *check_label(const char *l, size_t len, bool leftmost, unsigned flags)
{
	bool hostname = flags & DNSNAME_HOSTNAME;

	if (len == 0)
		return "empty label (a leading dot or two dots in a row)";
	if (len > DNSNAME_LABEL_MAX)
		return "label longer than 63 characters";
	if (memchr(l, '*', len)) {
		if (len != 1 || !leftmost)
			return "'*' is only allowed as the whole leftmost label (*.example.com)";
		if (!(flags & DNSNAME_WILDCARD))
			return "wildcard names are not allowed here";
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)l[i];

		if (is_alnum(c) || c == '-')
			continue;
		if (c == '_') {
			if (hostname)
				return "'_' is not allowed in a hostname";
			continue;
		}
		return hostname ? "invalid character in hostname: use letters, digits and '-'"
				: "invalid character in name: use letters, digits, '-' and '_'";
	}
	if (hostname && (l[0] == '-' || l[len - 1] == '-'))
		return "hostname label starts or ends with '-'";
	return NULL;
}

int dnsname_normalize(const char *in, unsigned flags, char ret_name[DNSNAME_SIZE],
		      const char **ret_reason)
{
	char out[DNSNAME_SIZE];
	const char *reason;
	size_t len, start;

	if (!in || !*in) {
		reason = "empty name";
		goto fail;
	}
	if (strcmp(in, ".") == 0) {
		reason = "the root name \".\" is not allowed";
		goto fail;
	}
	reason = check_bytes(in);
	if (reason)
		goto fail;

	len = strlen(in);
	if (in[len - 1] == '.')
		len--; /* the final dot is optional */
	start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && in[i] != '.')
			continue;
		reason = check_label(in + start, i - start, start == 0, flags);
		if (reason)
			goto fail;
		start = i + 1;
	}
	if (len > DNSNAME_MAX) {
		reason = "name longer than 253 characters";
		goto fail;
	}

	for (size_t i = 0; i < len; i++)
		out[i] = lower(in[i]);
	out[len] = '.';
	out[len + 1] = '\0';
	memcpy(ret_name, out, len + 2);
	return 0;

fail:
	if (ret_reason)
		*ret_reason = reason;
	return -EINVAL;
}

bool dnsname_is_at_or_below(const char *name, const char *zone)
{
	size_t nlen = strlen(name), zlen = strlen(zone);

	if (zlen == 0 || nlen < zlen)
		return false;
	if (strcasecmp(name + nlen - zlen, zone) != 0)
		return false;
	if (nlen == zlen)
		return true;
	if (strcmp(zone, ".") == 0)
		return name[nlen - 1] == '.';
	/* "xa.b." ends with "a.b." but is not below it */
	return name[nlen - zlen - 1] == '.';
}

bool dnsname_is_below(const char *name, const char *zone)
{
	return strlen(name) != strlen(zone) && dnsname_is_at_or_below(name, zone);
}

int dnsname_to_relative(const char *name, const char *zone, char *buf, size_t size)
{
	size_t nlen = strlen(name), zlen = strlen(zone), rlen;

	if (!dnsname_is_at_or_below(name, zone))
		return -EINVAL;
	if (nlen == zlen) {
		if (size < 2)
			return -EMSGSIZE;
		memcpy(buf, "@", 2);
		return 0;
	}
	rlen = strcmp(zone, ".") == 0 ? nlen - 1 : nlen - zlen - 1; /* drop ".<zone>" */
	if (rlen + 1 > size)
		return -EMSGSIZE;
	memcpy(buf, name, rlen);
	buf[rlen] = '\0';
	return 0;
}

int dnsname_to_absolute(const char *rel, const char *zone, unsigned flags,
			char ret_name[DNSNAME_SIZE], const char **ret_reason)
{
	char name[DNSNAME_SIZE];
	const char *reason;
	size_t rlen, zlen;
	int r;

	zlen = zone ? strlen(zone) : 0;
	if (zlen < 2 || zlen > DNSNAME_MAX + 1 || zone[zlen - 1] != '.') {
		reason = "invalid zone name";
		goto fail;
	}
	if (rel && strcmp(rel, "@") == 0) {
		memcpy(ret_name, zone, zlen + 1);
		return 0;
	}
	r = dnsname_normalize(rel, flags, name, &reason);
	if (r < 0)
		goto fail;
	rlen = strlen(rel);
	if (rel[rlen - 1] == '.') {
		/* already absolute */
		if (!dnsname_is_at_or_below(name, zone)) {
			reason = "name is not in this zone";
			goto fail;
		}
		memcpy(ret_name, name, strlen(name) + 1);
		return 0;
	}
	rlen = strlen(name); /* "www." */
	if (rlen + zlen - 1 > DNSNAME_MAX) {
		reason = "name longer than 253 characters";
		goto fail;
	}
	memcpy(ret_name, name, rlen);
	memcpy(ret_name + rlen, zone, zlen + 1);
	return 0;

fail:
	if (ret_reason)
		*ret_reason = reason;
	return -EINVAL;
}

size_t dnsname_label_count(const char *name)
{
	size_t n = 0;
	bool in_label = false;

	for (const char *p = name; *p; p++) {
		if (*p == '.') {
			in_label = false;
		} else if (!in_label) {
			in_label = true;
			n++;
		}
	}
	return n;
}
