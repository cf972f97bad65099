#include "shared/rr.h"

#include "shared/dnsname.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	enum rr_type type;
	const char *name;
	bool user;
} types[] = {
	{ RR_A, "A", true },       { RR_NS, "NS", false },  { RR_CNAME, "CNAME", true },
	{ RR_SOA, "SOA", false },  { RR_MX, "MX", true },   { RR_TXT, "TXT", true },
	{ RR_AAAA, "AAAA", true }, { RR_SRV, "SRV", true }, { RR_CAA, "CAA", true },
};

#define N_TYPES (sizeof(types) / sizeof(types[0]))

int rr_type_parse(const char *name, enum rr_type *ret_type)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < N_TYPES; i++)
		if (strcasecmp(name, types[i].name) == 0) {
			*ret_type = types[i].type;
			return 0;
		}
	return -EINVAL;
}

const char *rr_type_name(enum rr_type type)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (types[i].type == type)
			return types[i].name;
	return NULL;
}

bool rr_type_user_allowed(enum rr_type type)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (types[i].type == type)
			return types[i].user;
	return false;
}

uint32_t rr_ttl_clamp(long long ttl)
{
	if (ttl < RR_TTL_MIN)
		return RR_TTL_MIN;
	if (ttl > RR_TTL_MAX)
		return RR_TTL_MAX;
	return (uint32_t)ttl;
}

json_t *rr_to_json(const char *qname, enum rr_type type, const char *content, long long ttl,
		   long long domain_id)
{
	const char *qtype = rr_type_name(type);

	if (!qtype || !qname || !content)
		return NULL;
	/* json_pack() fails on strings that are not UTF-8 */
	return json_pack("{s:s, s:s, s:s, s:I, s:I}", "qtype", qtype, "qname", qname, "content",
			 content, "ttl", (json_int_t)rr_ttl_clamp(ttl), "domain_id",
			 (json_int_t)domain_id);
}

/* The canonical form being built; never overflows for input shorter than RR_CONTENT_SIZE. */
struct out {
	char buf[RR_CONTENT_SIZE];
	size_t len;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n >= sizeof(o->buf) - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u32(struct out *o, uint32_t v)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", (unsigned)v);
	put_str(o, num);
}

/* One quoted character-string: '"' and '\' escaped, other unprintable bytes as \DDD. */
static void put_quoted(struct out *o, const unsigned char *s, size_t n)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char esc[8];

		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			put(o, esc, 2);
		} else if (s[i] < 0x20 || s[i] >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\%03u", (unsigned)s[i]);
			put(o, esc, 4);
		} else {
			put(o, (const char *)s + i, 1);
		}
	}
	put(o, "\"", 1);
}

struct field {
	const char *s;
	size_t len;
};

/*
 * Splits @in at runs of spaces into @f. With @rest, the last of @max fields
 * is the rest of the input. Returns the number of fields; more than @max
 * fields return @max + 1.
 */
static size_t split(const char *in, struct field *f, size_t max, bool rest)
{
	const char *p = in;
	size_t n = 0;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (n == max)
			return max + 1;
		f[n].s = p;
		if (rest && n == max - 1)
			p += strlen(p);
		else
			while (*p && *p != ' ')
				p++;
		f[n].len = (size_t)(p - f[n].s);
		n++;
	}
	return n;
}

/* Decimal digits only, no sign, at most @max. */
static bool parse_num(const struct field *f, uint32_t max, uint32_t *ret_val)
{
	uint64_t v = 0;

	if (f->len == 0)
		return false;
	for (size_t i = 0; i < f->len; i++) {
		if (f->s[i] < '0' || f->s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(f->s[i] - '0');
		if (v > max)
			return false;
	}
	*ret_val = (uint32_t)v;
	return true;
}

/* A name field, normalized absolute; @dot_ok: "." alone is accepted as ".". */
static int put_name(struct out *o, const struct field *f, bool dot_ok, const char **ret_reason)
{
	char tmp[DNSNAME_SIZE + 1];
	char name[DNSNAME_SIZE];
	int r;

	if (dot_ok && f->len == 1 && f->s[0] == '.') {
		put(o, ".", 1);
		return 0;
	}
	if (f->len > DNSNAME_MAX + 1) {
		*ret_reason = "name longer than 253 characters";
		return -EINVAL;
	}
	memcpy(tmp, f->s, f->len);
	tmp[f->len] = '\0';
	r = dnsname_normalize(tmp, 0, name, ret_reason);
	if (r < 0)
		return r;
	put_str(o, name);
	return 0;
}

static int parse_a(const char *in, struct out *o, const char **ret_reason)
{
	unsigned char addr[4];
	char text[INET_ADDRSTRLEN];

	if (strchr(in, ':')) {
		*ret_reason = "not an IPv4 address: an IPv6 address belongs in an AAAA record";
		return -EINVAL;
	}
	for (const char *p = in; *p; p++)
		if (*p == '0' && (p == in || p[-1] == '.') && p[1] >= '0' && p[1] <= '9') {
			*ret_reason =
				"IPv4 address with leading zeros: write 192.0.2.1, not 192.0.2.01";
			return -EINVAL;
		}
	if (inet_pton(AF_INET, in, addr) != 1 || !inet_ntop(AF_INET, addr, text, sizeof(text)) ||
	    strcmp(text, in) != 0) {
		*ret_reason = "not an IPv4 address (example: 192.0.2.1)";
		return -EINVAL;
	}
	put_str(o, text);
	return 0;
}

static int parse_aaaa(const char *in, struct out *o, const char **ret_reason)
{
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];

	if (strchr(in, '%')) {
		*ret_reason = "IPv6 zone index (%...) is not allowed in DNS";
		return -EINVAL;
	}
	if (strchr(in, '[') || strchr(in, ']')) {
		*ret_reason = "write the IPv6 address without brackets";
		return -EINVAL;
	}
	if (!strchr(in, ':') && inet_pton(AF_INET, in, addr) == 1) {
		*ret_reason = "not an IPv6 address: an IPv4 address belongs in an A record";
		return -EINVAL;
	}
	if (inet_pton(AF_INET6, in, addr) != 1 || !inet_ntop(AF_INET6, addr, text, sizeof(text))) {
		*ret_reason = "not an IPv6 address (example: 2001:db8::1)";
		return -EINVAL;
	}
	put_str(o, text);
	return 0;
}

static int parse_target(const char *in, struct out *o, const char *usage, const char **ret_reason)
{
	struct field f[1];

	if (split(in, f, 1, false) != 1) {
		*ret_reason = usage;
		return -EINVAL;
	}
	return put_name(o, &f[0], false, ret_reason);
}

static int parse_mx(const char *in, struct out *o, const char **ret_reason)
{
	struct field f[2];
	uint32_t pref;

	if (split(in, f, 2, false) != 2) {
		*ret_reason =
			"MX content is \"preference exchange\", such as \"10 mail.example.com.\"";
		return -EINVAL;
	}
	if (!parse_num(&f[0], 65535, &pref)) {
		*ret_reason = "MX preference must be a number from 0 to 65535";
		return -EINVAL;
	}
	if (f[1].len == 1 && f[1].s[0] == '.' && pref != 0) {
		*ret_reason = "a null MX (exchange \".\") must have preference 0";
		return -EINVAL;
	}
	put_u32(o, pref);
	put(o, " ", 1);
	return put_name(o, &f[1], true, ret_reason);
}

static int parse_srv(const char *in, struct out *o, const char **ret_reason)
{
	static const char *const what[] = {
		"SRV priority must be a number from 0 to 65535",
		"SRV weight must be a number from 0 to 65535",
		"SRV port must be a number from 0 to 65535",
	};
	struct field f[4];
	uint32_t v;

	if (split(in, f, 4, false) != 4) {
		*ret_reason = "SRV content is \"priority weight port target\", such as "
			      "\"10 5 5060 sip.example.com.\"";
		return -EINVAL;
	}
	for (size_t i = 0; i < 3; i++) {
		if (!parse_num(&f[i], 65535, &v)) {
			*ret_reason = what[i];
			return -EINVAL;
		}
		put_u32(o, v);
		put(o, " ", 1);
	}
	return put_name(o, &f[3], true, ret_reason);
}

static int parse_soa(const char *in, struct out *o, const char **ret_reason)
{
	static const char *const what[] = {
		"SOA serial must be a number from 0 to 4294967295",
		"SOA refresh must be a number from 0 to 4294967295",
		"SOA retry must be a number from 0 to 4294967295",
		"SOA expire must be a number from 0 to 4294967295",
		"SOA minimum must be a number from 0 to 4294967295",
	};
	struct field f[7];
	uint32_t v;
	int r;

	if (split(in, f, 7, false) != 7) {
		*ret_reason = "SOA content is \"mname rname serial refresh retry expire minimum\"";
		return -EINVAL;
	}
	if (memchr(f[1].s, '@', f[1].len)) {
		*ret_reason = "SOA rname is a mailbox in DNS form: hostmaster.example.com., not "
			      "hostmaster@example.com";
		return -EINVAL;
	}
	for (size_t i = 0; i < 2; i++) {
		r = put_name(o, &f[i], false, ret_reason);
		if (r < 0)
			return r;
		put(o, " ", 1);
	}
	for (size_t i = 0; i < 5; i++) {
		if (!parse_num(&f[i + 2], UINT32_MAX, &v)) {
			*ret_reason = what[i];
			return -EINVAL;
		}
		if (i > 0)
			put(o, " ", 1);
		put_u32(o, v);
	}
	return 0;
}

/*
 * Decodes one quoted string starting at the '"' at *@pp into @data (at most
 * @max bytes, else @too_long); *@pp is left after the closing quote.
 */
static int unquote(const char **pp, unsigned char *data, size_t max, size_t *ret_len,
		   const char *too_long, const char **ret_reason)
{
	const char *p = *pp + 1;
	size_t n = 0;

	for (;;) {
		unsigned char c = (unsigned char)*p;

		if (c == '\0') {
			*ret_reason = "unterminated quoted string";
			return -EINVAL;
		}
		p++;
		if (c == '"')
			break;
		if (c == '\\') {
			if (*p == '"' || *p == '\\') {
				c = (unsigned char)*p++;
			} else if (*p >= '0' && *p <= '9') {
				unsigned v = 0;

				for (int i = 0; i < 3; i++, p++) {
					if (*p < '0' || *p > '9') {
						v = 256;
						break;
					}
					v = v * 10 + (unsigned)(*p - '0');
				}
				if (v > 255) {
					*ret_reason =
						"\\DDD escape needs three digits from 000 to 255";
					return -EINVAL;
				}
				c = (unsigned char)v;
			} else {
				*ret_reason = "unknown escape in quoted string: use \\\", \\\\ or "
					      "\\DDD (decimal byte value)";
				return -EINVAL;
			}
		}
		if (n == max) {
			*ret_reason = too_long;
			return -EINVAL;
		}
		data[n++] = c;
	}
	*pp = p;
	*ret_len = n;
	return 0;
}

static int parse_txt(const char *in, struct out *o, const char **ret_reason)
{
	static const char too_long[] = "TXT data longer than 2048 bytes";
	unsigned char data[255];
	size_t total = 0, n_strings = 0, len;
	const char *p = in;
	int r;

	if (in[0] != '"') {
		/* unquoted: all of it is the data, in strings of 255 bytes */
		len = strlen(in);
		if (len > RR_TXT_DATA_MAX) {
			*ret_reason = too_long;
			return -EINVAL;
		}
		for (size_t i = 0; i < len; i += 255) {
			if (i > 0)
				put(o, " ", 1);
			put_quoted(o, (const unsigned char *)in + i, len - i < 255 ? len - i : 255);
		}
		return 0;
	}

	while (*p) {
		if (*p != '"') {
			*ret_reason = "quoted TXT strings must be separated by spaces";
			return -EINVAL;
		}
		r = unquote(
			&p, data, sizeof(data), &len,
			"TXT string longer than 255 bytes: split it into several quoted strings",
			ret_reason);
		if (r < 0)
			return r;
		total += len;
		if (total > RR_TXT_DATA_MAX) {
			*ret_reason = too_long;
			return -EINVAL;
		}
		if (++n_strings > RR_TXT_STRINGS_MAX) {
			*ret_reason = "more than 32 TXT strings";
			return -EINVAL;
		}
		if (n_strings > 1)
			put(o, " ", 1);
		put_quoted(o, data, len);
		if (*p && *p != ' ') {
			*ret_reason = "quoted TXT strings must be separated by spaces";
			return -EINVAL;
		}
		while (*p == ' ')
			p++;
	}
	return 0;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static size_t skip_spaces(const char *v, size_t i, size_t len)
{
	while (i < len && v[i] == ' ')
		i++;
	return i;
}

/* issuer-domain-name of RFC 8659: LDH labels, no final dot. */
static bool is_issuer_domain(const char *s, size_t len)
{
	char tmp[DNSNAME_SIZE];
	char name[DNSNAME_SIZE];

	if (len > DNSNAME_MAX || s[len - 1] == '.')
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return dnsname_normalize(tmp, DNSNAME_HOSTNAME, name, NULL) == 0;
}

/*
 * RFC 8659 issue-value: [issuer-domain-name] [";" [parameters]], parameters
 * "tag=value" separated by ';', spaces allowed around the separators.
 */
static int check_issue(const char *v, size_t len, const char **ret_reason)
{
	static const char bad_param[] =
		"CAA issue parameters must be \"key=value\" separated by "
		"';', such as \"letsencrypt.org; validationmethods=dns-01\"";
	size_t i = skip_spaces(v, 0, len), start = i;

	while (i < len && v[i] != ';' && v[i] != ' ')
		i++;
	if (i > start && !is_issuer_domain(v + start, i - start)) {
		*ret_reason = "CAA issuer must be a domain name without a final dot, such as "
			      "\"letsencrypt.org\"";
		return -EINVAL;
	}
	i = skip_spaces(v, i, len);
	if (i == len)
		return 0;
	if (v[i] != ';') {
		*ret_reason = "CAA issue value is \"domain\" or \"domain; key=value\"";
		return -EINVAL;
	}
	i = skip_spaces(v, i + 1, len);
	if (i == len)
		return 0;
	for (;;) {
		start = i;
		while (i < len && (is_alnum(v[i]) || v[i] == '-'))
			i++;
		if (i == start || !is_alnum(v[start]) || !is_alnum(v[i - 1])) {
			*ret_reason = bad_param;
			return -EINVAL;
		}
		i = skip_spaces(v, i, len);
		if (i == len || v[i] != '=') {
			*ret_reason = bad_param;
			return -EINVAL;
		}
		i = skip_spaces(v, i + 1, len);
		while (i < len && v[i] > ' ' && v[i] < 0x7f && v[i] != ';')
			i++;
		i = skip_spaces(v, i, len);
		if (i == len)
			return 0;
		if (v[i] != ';') {
			*ret_reason = bad_param;
			return -EINVAL;
		}
		i = skip_spaces(v, i + 1, len);
	}
}

static int check_iodef(const char *v, size_t len, const char **ret_reason)
{
	static const char bad[] = "CAA iodef value must be a mailto: or http(s):// URL, such as "
				  "\"mailto:security@example.com\"";
	const char *rest;
	size_t n;

	for (size_t i = 0; i < len; i++)
		if (v[i] == ' ' || v[i] == '"' || v[i] == '\\') {
			*ret_reason = bad;
			return -EINVAL;
		}
	if (len > 7 && strncasecmp(v, "mailto:", 7) == 0) {
		const char *at;

		rest = v + 7;
		n = len - 7;
		at = memchr(rest, '@', n);
		if (!at || at == rest || at == rest + n - 1) {
			*ret_reason = bad;
			return -EINVAL;
		}
		return 0;
	}
	if (len > 7 && strncasecmp(v, "http://", 7) == 0)
		rest = v + 7;
	else if (len > 8 && strncasecmp(v, "https://", 8) == 0)
		rest = v + 8;
	else
		rest = NULL;
	if (!rest || *rest == '/' || *rest == '?' || *rest == '#') {
		*ret_reason = bad;
		return -EINVAL;
	}
	return 0;
}

static int parse_caa(const char *in, struct out *o, const char **ret_reason)
{
	static const char *const tags[] = { "issue", "issuewild", "issuemail", "iodef" };
	unsigned char value[RR_CAA_VALUE_MAX];
	char tag[16];
	struct field f[3];
	const char *p;
	uint32_t flags;
	size_t len;
	bool known = false;
	int r;

	if (split(in, f, 3, true) != 3) {
		*ret_reason = "CAA content is \"flags tag value\", such as "
			      "\"0 issue \\\"letsencrypt.org\\\"\"";
		return -EINVAL;
	}
	if (!parse_num(&f[0], 255, &flags)) {
		*ret_reason = "CAA flags must be a number from 0 to 255";
		return -EINVAL;
	}
	if (f[1].len > 15) {
		*ret_reason = "CAA tag must be 1 to 15 letters or digits";
		return -EINVAL;
	}
	for (size_t i = 0; i < f[1].len; i++) {
		if (!is_alnum(f[1].s[i])) {
			*ret_reason = "CAA tag must be 1 to 15 letters or digits";
			return -EINVAL;
		}
		tag[i] = f[1].s[i] >= 'A' && f[1].s[i] <= 'Z' ? (char)(f[1].s[i] - 'A' + 'a')
							      : f[1].s[i];
	}
	tag[f[1].len] = '\0';
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		known = known || strcmp(tag, tags[i]) == 0;
	if (!known) {
		*ret_reason = "unsupported CAA tag: use issue, issuewild, issuemail or iodef";
		return -EINVAL;
	}

	if (f[2].s[0] == '"') {
		p = f[2].s;
		r = unquote(&p, value, sizeof(value), &len, "CAA value longer than 1024 bytes",
			    ret_reason);
		if (r < 0)
			return r;
		if (*p) {
			*ret_reason = "text after the quoted CAA value";
			return -EINVAL;
		}
	} else {
		if (f[2].len > sizeof(value)) {
			*ret_reason = "CAA value longer than 1024 bytes";
			return -EINVAL;
		}
		len = f[2].len;
		memcpy(value, f[2].s, len);
	}
	for (size_t i = 0; i < len; i++)
		if (value[i] < 0x20 || value[i] >= 0x7f) {
			*ret_reason = "CAA value must be printable ASCII";
			return -EINVAL;
		}
	if (strcmp(tag, "iodef") == 0)
		r = check_iodef((const char *)value, len, ret_reason);
	else
		r = check_issue((const char *)value, len, ret_reason);
	if (r < 0)
		return r;

	put_u32(o, flags);
	put(o, " ", 1);
	put_str(o, tag);
	put(o, " ", 1);
	put_quoted(o, value, len);
	return 0;
}

int rr_content_normalize(enum rr_type type, const char *in, char *buf, size_t size,
			 const char **ret_reason)
{
	struct out o = { .len = 0, .full = false };
	const char *reason = NULL;
	size_t len;
	int r = -EINVAL;

	if (!rr_type_name(type)) {
		reason = "unsupported record type";
		goto out;
	}
	if (!in || !*in) {
		reason = "empty content";
		goto out;
	}
	len = strnlen(in, RR_CONTENT_SIZE);
	if (len >= RR_CONTENT_SIZE) {
		reason = "content too long";
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c == 0x7f) {
			reason = type == RR_TXT ? "control character in TXT content: write it as "
						  "\\DDD inside a quoted string"
						: "control character in content";
			goto out;
		}
	}
	if (type != RR_TXT && (in[0] == ' ' || in[len - 1] == ' ')) {
		reason = "content starts or ends with a space";
		goto out;
	}

	o.buf[0] = '\0';
	switch (type) {
	case RR_A:
		r = parse_a(in, &o, &reason);
		break;
	case RR_AAAA:
		r = parse_aaaa(in, &o, &reason);
		break;
	case RR_CNAME:
		r = parse_target(in, &o,
				 "CNAME content is one name, such as \"target.example.com.\"",
				 &reason);
		break;
	case RR_NS:
		r = parse_target(in, &o, "NS content is one name, such as \"ns1.example.com.\"",
				 &reason);
		break;
	case RR_MX:
		r = parse_mx(in, &o, &reason);
		break;
	case RR_SRV:
		r = parse_srv(in, &o, &reason);
		break;
	case RR_TXT:
		r = parse_txt(in, &o, &reason);
		break;
	case RR_CAA:
		r = parse_caa(in, &o, &reason);
		break;
	case RR_SOA:
		r = parse_soa(in, &o, &reason);
		break;
	}
	if (r < 0)
		goto out;
	if (o.full) {
		r = -EINVAL; /* cannot happen for input shorter than RR_CONTENT_SIZE */
		reason = "content too long";
		goto out;
	}
	if (o.len + 1 > size) {
		r = -EMSGSIZE;
		reason = "content does not fit the buffer";
		goto out;
	}
	memcpy(buf, o.buf, o.len + 1);
	r = 0;
out:
	if (r < 0 && ret_reason)
		*ret_reason = reason;
	return r;
}
