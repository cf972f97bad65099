#include "shared/rr.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Reasons, as users see them. */
#define R_EMPTY       "empty content"
#define R_SPACE       "content starts or ends with a space"
#define R_CONTROL     "control character in content"
#define R_TXT_CONTROL "control character in TXT content: write it as \\DDD inside a quoted string"
#define R_TYPE        "unsupported record type"
#define R_TOO_LONG    "content too long"
#define R_A           "not an IPv4 address (example: 192.0.2.1)"
#define R_A_ZEROS     "IPv4 address with leading zeros: write 192.0.2.1, not 192.0.2.01"
#define R_A_V6        "not an IPv4 address: an IPv6 address belongs in an AAAA record"
#define R_AAAA        "not an IPv6 address (example: 2001:db8::1)"
#define R_AAAA_ZONE   "IPv6 zone index (%...) is not allowed in DNS"
#define R_AAAA_BRACK  "write the IPv6 address without brackets"
#define R_AAAA_V4     "not an IPv6 address: an IPv4 address belongs in an A record"
#define R_CNAME       "CNAME content is one name, such as \"target.example.com.\""
#define R_NS          "NS content is one name, such as \"ns1.example.com.\""
#define R_MX          "MX content is \"preference exchange\", such as \"10 mail.example.com.\""
#define R_MX_PREF     "MX preference must be a number from 0 to 65535"
#define R_MX_NULL     "a null MX (exchange \".\") must have preference 0"
#define R_SRV \
	"SRV content is \"priority weight port target\", such as \"10 5 5060 sip.example.com.\""
#define R_SRV_PRIO    "SRV priority must be a number from 0 to 65535"
#define R_SRV_WEIGHT  "SRV weight must be a number from 0 to 65535"
#define R_SRV_PORT    "SRV port must be a number from 0 to 65535"
#define R_TXT_SEP     "quoted TXT strings must be separated by spaces"
#define R_TXT_255     "TXT string longer than 255 bytes: split it into several quoted strings"
#define R_TXT_DATA    "TXT data longer than 2048 bytes"
#define R_TXT_STRINGS "more than 32 TXT strings"
#define R_UNTERM      "unterminated quoted string"
#define R_DDD         "\\DDD escape needs three digits from 000 to 255"
#define R_ESCAPE      "unknown escape in quoted string: use \\\", \\\\ or \\DDD (decimal byte value)"
#define R_CAA         "CAA content is \"flags tag value\", such as \"0 issue \\\"letsencrypt.org\\\"\""
#define R_CAA_FLAGS   "CAA flags must be a number from 0 to 255"
#define R_CAA_TAG     "CAA tag must be 1 to 15 letters or digits"
#define R_CAA_UNKNOWN "unsupported CAA tag: use issue, issuewild, issuemail or iodef"
#define R_CAA_AFTER   "text after the quoted CAA value"
#define R_CAA_ASCII   "CAA value must be printable ASCII"
#define R_CAA_ISSUER \
	"CAA issuer must be a domain name without a final dot, such as \"letsencrypt.org\""
#define R_CAA_ISSUE "CAA issue value is \"domain\" or \"domain; key=value\""
#define R_CAA_PARAM                                                                                \
	"CAA issue parameters must be \"key=value\" separated by ';', such as \"letsencrypt.org; " \
	"validationmethods=dns-01\""
#define R_CAA_IODEF                                                     \
	"CAA iodef value must be a mailto: or http(s):// URL, such as " \
	"\"mailto:security@example.com\""
#define R_CAA_LONG "CAA value longer than 1024 bytes"
#define R_SOA      "SOA content is \"mname rname serial refresh retry expire minimum\""
#define R_SOA_RNAME \
	"SOA rname is a mailbox in DNS form: hostmaster.example.com., not hostmaster@example.com"
#define R_SOA_SERIAL  "SOA serial must be a number from 0 to 4294967295"
#define R_SOA_REFRESH "SOA refresh must be a number from 0 to 4294967295"
#define R_SOA_MINIMUM "SOA minimum must be a number from 0 to 4294967295"
/* from dnsname */
#define R_ROOT        "the root name \".\" is not allowed"
#define R_EMPTY_LABEL "empty label (a leading dot or two dots in a row)"
#define R_NO_WILDCARD "wildcard names are not allowed here"
#define R_NON_ASCII   "non-ASCII name: use its punycode (xn--) form"
#define R_NAME_LONG   "name longer than 253 characters"

#define L10           "abcdefghij"
#define L61           L10 L10 L10 L10 L10 L10 "k"
#define L63           L10 L10 L10 L10 L10 L10 "klm"

struct content_case {
	enum rr_type type;
	const char *in;
	const char *want;   /* canonical form; NULL: rejected */
	const char *reason; /* when rejected */
};

static const struct content_case content_cases[] = {
	/* any type */
	{ RR_A, NULL, NULL, R_EMPTY },
	{ RR_A, "", NULL, R_EMPTY },
	{ RR_TXT, "", NULL, R_EMPTY },
	{ (enum rr_type)99, "x", NULL, R_TYPE },
	{ (enum rr_type)0, "x", NULL, R_TYPE },
	/* A */
	{ RR_A, "192.0.2.1", "192.0.2.1", NULL },
	{ RR_A, "0.0.0.0", "0.0.0.0", NULL },
	{ RR_A, "255.255.255.255", "255.255.255.255", NULL },
	{ RR_A, "10.0.0.10", "10.0.0.10", NULL },
	{ RR_A, "1.2.3", NULL, R_A },
	{ RR_A, "256.1.1.1", NULL, R_A },
	{ RR_A, "1.2.3.4.5", NULL, R_A },
	{ RR_A, "1.2.3.4/24", NULL, R_A },
	{ RR_A, "0x1.2.3.4", NULL, R_A },
	{ RR_A, "1.2.3.-4", NULL, R_A },
	{ RR_A, "one.two.three.four", NULL, R_A },
	{ RR_A, " 1.2.3.4", NULL, R_SPACE },
	{ RR_A, "1.2.3.4 ", NULL, R_SPACE },
	{ RR_A, "1.2.3.4\n", NULL, R_CONTROL },
	{ RR_A, "192.0.2.01", NULL, R_A_ZEROS },
	{ RR_A, "010.0.0.1", NULL, R_A_ZEROS },
	{ RR_A, "00.0.0.1", NULL, R_A_ZEROS },
	{ RR_A, "::1", NULL, R_A_V6 },
	/* AAAA */
	{ RR_AAAA, "2001:DB8:0:0:0:0:0:1", "2001:db8::1", NULL },
	{ RR_AAAA, "2001:db8::1", "2001:db8::1", NULL },
	{ RR_AAAA, "2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1", NULL },
	{ RR_AAAA, "::1", "::1", NULL },
	{ RR_AAAA, "::", "::", NULL },
	{ RR_AAAA, "::FFFF:192.0.2.1", "::ffff:192.0.2.1", NULL },
	{ RR_AAAA, "fe80::1%eth0", NULL, R_AAAA_ZONE },
	{ RR_AAAA, "[2001:db8::1]", NULL, R_AAAA_BRACK },
	{ RR_AAAA, "192.0.2.1", NULL, R_AAAA_V4 },
	{ RR_AAAA, "2001:db8::g", NULL, R_AAAA },
	{ RR_AAAA, "1:2:3:4:5:6:7:8:9", NULL, R_AAAA },
	{ RR_AAAA, "2001:db8:::1", NULL, R_AAAA },
	{ RR_AAAA, "2001:db8::1::2", NULL, R_AAAA },
	{ RR_AAAA, "localhost", NULL, R_AAAA },
	{ RR_AAAA, " ::1", NULL, R_SPACE },
	/* CNAME, NS */
	{ RR_CNAME, "Target.Example.COM", "target.example.com.", NULL },
	{ RR_CNAME, "target.example.com.", "target.example.com.", NULL },
	{ RR_CNAME, "_x.example.com", "_x.example.com.", NULL },
	{ RR_CNAME, "a b", NULL, R_CNAME },
	{ RR_CNAME, ".", NULL, R_ROOT },
	{ RR_CNAME, "a..b", NULL, R_EMPTY_LABEL },
	{ RR_CNAME, "*.example.com", NULL, R_NO_WILDCARD },
	{ RR_CNAME,
	  "b\xc3\xbc"
	  "cher.de",
	  NULL, R_NON_ASCII },
	{ RR_CNAME, L63 "." L63 "." L63 "." L61 "x", NULL, R_NAME_LONG },
	{ RR_CNAME, L63 "." L63 "." L63 "." L61 "." L63, NULL, R_NAME_LONG },
	{ RR_NS, "NS1.example.net", "ns1.example.net.", NULL },
	{ RR_NS, "ns1 ns2", NULL, R_NS },
	/* MX */
	{ RR_MX, "10 mail.example.com", "10 mail.example.com.", NULL },
	{ RR_MX, "10   Mail.Example.com.", "10 mail.example.com.", NULL },
	{ RR_MX, "0 .", "0 .", NULL },
	{ RR_MX, "010 mx.example", "10 mx.example.", NULL },
	{ RR_MX, "65535 mx.example", "65535 mx.example.", NULL },
	{ RR_MX, "65536 mx.example", NULL, R_MX_PREF },
	{ RR_MX, "-1 mx.example", NULL, R_MX_PREF },
	{ RR_MX, "+1 mx.example", NULL, R_MX_PREF },
	{ RR_MX, "ten mx.example", NULL, R_MX_PREF },
	{ RR_MX, "99999999999999999999 mx.example", NULL, R_MX_PREF },
	{ RR_MX, "mx.example.com", NULL, R_MX },
	{ RR_MX, "10 mx.example.com extra", NULL, R_MX },
	{ RR_MX, "10 .", NULL, R_MX_NULL },
	{ RR_MX, "10 mx..example", NULL, R_EMPTY_LABEL },
	{ RR_MX, "10 mx.example\t", NULL, R_CONTROL },
	/* SRV */
	{ RR_SRV, "10 5 5060 sip.example.com", "10 5 5060 sip.example.com.", NULL },
	{ RR_SRV, "0 0 0 .", "0 0 0 .", NULL },
	{ RR_SRV, "65535 65535 65535 A.b", "65535 65535 65535 a.b.", NULL },
	{ RR_SRV, "10 5 5060", NULL, R_SRV },
	{ RR_SRV, "10 5 5060 sip.example.com extra", NULL, R_SRV },
	{ RR_SRV, "-1 5 5060 sip", NULL, R_SRV_PRIO },
	{ RR_SRV, "10 x 5060 sip", NULL, R_SRV_WEIGHT },
	{ RR_SRV, "10 5 65536 sip", NULL, R_SRV_PORT },
	{ RR_SRV, "10 5 5060 sip..example", NULL, R_EMPTY_LABEL },
	/* TXT */
	{ RR_TXT, "v=spf1 -all", "\"v=spf1 -all\"", NULL },
	{ RR_TXT, "\"v=spf1 -all\"", "\"v=spf1 -all\"", NULL },
	{ RR_TXT, "\"\"", "\"\"", NULL },
	{ RR_TXT, "\"a\" \"b\"", "\"a\" \"b\"", NULL },
	{ RR_TXT, "\"a\"   \"\"  \"b\" ", "\"a\" \"\" \"b\"", NULL },
	{ RR_TXT, "say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"", NULL },
	{ RR_TXT, "\"say \\\"hi\\\" \\\\o/\"", "\"say \\\"hi\\\" \\\\o/\"", NULL },
	{ RR_TXT, "\"tab\\009x\"", "\"tab\\009x\"", NULL },
	{ RR_TXT, "\"\\065\\066\"", "\"AB\"", NULL },
	{ RR_TXT, "\"\\127\\255\\000\"", "\"\\127\\255\\000\"", NULL },
	{ RR_TXT, "caf\xc3\xa9", "\"caf\\195\\169\"", NULL },
	{ RR_TXT, "\"caf\xc3\xa9\"", "\"caf\\195\\169\"", NULL },
	{ RR_TXT, " leading space", "\" leading space\"", NULL },
	{ RR_TXT, "trailing space ", "\"trailing space \"", NULL },
	{ RR_TXT, "a\"b", "\"a\\\"b\"", NULL },
	{ RR_TXT, "\"a\"\"b\"", NULL, R_TXT_SEP },
	{ RR_TXT, "\"a\" b", NULL, R_TXT_SEP },
	{ RR_TXT, "\"abc", NULL, R_UNTERM },
	{ RR_TXT, "\"a\\\"", NULL, R_UNTERM },
	{ RR_TXT, "\"a\\", NULL, R_ESCAPE },
	{ RR_TXT, "\"\\256\"", NULL, R_DDD },
	{ RR_TXT, "\"\\12\"", NULL, R_DDD },
	{ RR_TXT, "\"\\n\"", NULL, R_ESCAPE },
	{ RR_TXT, "\"\\x41\"", NULL, R_ESCAPE },
	{ RR_TXT, "a\tb", NULL, R_TXT_CONTROL },
	{ RR_TXT, "\"a\nb\"", NULL, R_TXT_CONTROL },
	{ RR_TXT, "\"\x7f\"", NULL, R_TXT_CONTROL },
	/* CAA */
	{ RR_CAA, "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\"", NULL },
	{ RR_CAA, "0 issue letsencrypt.org", "0 issue \"letsencrypt.org\"", NULL },
	{ RR_CAA, "0  ISSUE  \"letsencrypt.org\"", "0 issue \"letsencrypt.org\"", NULL },
	{ RR_CAA, "128 issuewild \";\"", "128 issuewild \";\"", NULL },
	{ RR_CAA, "0 issue ;", "0 issue \";\"", NULL },
	{ RR_CAA, "0 issue \"\"", "0 issue \"\"", NULL },
	{ RR_CAA, "0 issue \"letsencrypt.org; validationmethods=dns-01\"",
	  "0 issue \"letsencrypt.org; validationmethods=dns-01\"", NULL },
	{ RR_CAA, "0 issue letsencrypt.org; accounturi=https://acme.example/acct/1",
	  "0 issue \"letsencrypt.org; accounturi=https://acme.example/acct/1\"", NULL },
	{ RR_CAA, "0 issue \"ca.example;a=1 ; b-c = 2\"", "0 issue \"ca.example;a=1 ; b-c = 2\"",
	  NULL },
	{ RR_CAA, "0 issue \"a.org;\"", "0 issue \"a.org;\"", NULL },
	{ RR_CAA, "0 issue \"a.org; k=\"", "0 issue \"a.org; k=\"", NULL },
	{ RR_CAA, "0 issue \"a.org; k=\\\"v\\\\\"", "0 issue \"a.org; k=\\\"v\\\\\"", NULL },
	{ RR_CAA, "0 issue \"; k=v\"", "0 issue \"; k=v\"", NULL },
	{ RR_CAA, "0 issuemail \"ca.example\"", "0 issuemail \"ca.example\"", NULL },
	{ RR_CAA, "0 iodef \"mailto:security@example.com\"",
	  "0 iodef \"mailto:security@example.com\"", NULL },
	{ RR_CAA, "0 iodef \"https://iodef.example.com/report\"",
	  "0 iodef \"https://iodef.example.com/report\"", NULL },
	{ RR_CAA, "0 iodef HTTP://x", "0 iodef \"HTTP://x\"", NULL },
	{ RR_CAA, "0 iodef \"ftp://x\"", NULL, R_CAA_IODEF },
	{ RR_CAA, "0 iodef \"mailto:nobody\"", NULL, R_CAA_IODEF },
	{ RR_CAA, "0 iodef \"mailto:@example.com\"", NULL, R_CAA_IODEF },
	{ RR_CAA, "0 iodef \"https://\"", NULL, R_CAA_IODEF },
	{ RR_CAA, "0 iodef \"https:///path\"", NULL, R_CAA_IODEF },
	{ RR_CAA, "0 iodef \"https://a b\"", NULL, R_CAA_IODEF },
	{ RR_CAA, "0 iodef \"\"", NULL, R_CAA_IODEF },
	{ RR_CAA, "256 issue \"x.org\"", NULL, R_CAA_FLAGS },
	{ RR_CAA, "x issue \"x.org\"", NULL, R_CAA_FLAGS },
	{ RR_CAA, "0 tbs \"x\"", NULL, R_CAA_UNKNOWN },
	{ RR_CAA, "0 issue-x \"x\"", NULL, R_CAA_TAG },
	{ RR_CAA, "0 abcdefghijklmnop \"x\"", NULL, R_CAA_TAG },
	{ RR_CAA, "0 issue", NULL, R_CAA },
	{ RR_CAA, "0", NULL, R_CAA },
	{ RR_CAA, "0 issue \"letsencrypt.org", NULL, R_UNTERM },
	{ RR_CAA, "0 issue \"a.org\" x", NULL, R_CAA_AFTER },
	{ RR_CAA, "0 issue \"letsencrypt.org.\"", NULL, R_CAA_ISSUER },
	{ RR_CAA, "0 issue \"-bad.org\"", NULL, R_CAA_ISSUER },
	{ RR_CAA, "0 issue \"_x.org\"", NULL, R_CAA_ISSUER },
	{ RR_CAA, "0 issue \"a.org x\"", NULL, R_CAA_ISSUE },
	{ RR_CAA, "0 issue \"a.org; =x\"", NULL, R_CAA_PARAM },
	{ RR_CAA, "0 issue \"a.org; k\"", NULL, R_CAA_PARAM },
	{ RR_CAA, "0 issue \"a.org; -k=v\"", NULL, R_CAA_PARAM },
	{ RR_CAA, "0 issue \"a.org; k=v w=x\"", NULL, R_CAA_PARAM },
	{ RR_CAA, "0 issue \"a.org; k=v;\"", NULL, R_CAA_PARAM },
	{ RR_CAA, "0 issue \"\\200\"", NULL, R_CAA_ASCII },
	{ RR_CAA, "0 issue \"a\\009b\"", NULL, R_CAA_ASCII },
	/* SOA */
	{ RR_SOA, "ns1.example.com hostmaster.example.com 2026112701 10800 3600 604800 60",
	  "ns1.example.com. hostmaster.example.com. 2026112701 10800 3600 604800 60", NULL },
	{ RR_SOA, "NS1.example.com. Hostmaster.example.com. 0 0 0 0 4294967295",
	  "ns1.example.com. hostmaster.example.com. 0 0 0 0 4294967295", NULL },
	{ RR_SOA, "ns1 host 1 2 3 4 4294967296", NULL, R_SOA_MINIMUM },
	{ RR_SOA, "ns1 host -1 2 3 4 5", NULL, R_SOA_SERIAL },
	{ RR_SOA, "ns1 host 1 x 3 4 5", NULL, R_SOA_REFRESH },
	{ RR_SOA, "ns1 hostmaster@example.com 1 2 3 4 5", NULL, R_SOA_RNAME },
	{ RR_SOA, "ns1 host 1 2 3 4", NULL, R_SOA },
	{ RR_SOA, "ns1 host 1 2 3 4 5 6", NULL, R_SOA },
	{ RR_SOA, ". host 1 2 3 4 5", NULL, R_ROOT },
	{ RR_SOA, "ns1 host.. 1 2 3 4 5", NULL, R_EMPTY_LABEL },
};

START_TEST(test_content)
{
	const struct content_case *c = &content_cases[_i];
	char buf[RR_CONTENT_SIZE] = "untouched";
	const char *reason = "untouched";
	int r = rr_content_normalize(c->type, c->in, buf, sizeof(buf), &reason);

	if (c->want) {
		ck_assert_msg(r == 0, "%s: %s", c->in, reason);
		ck_assert_str_eq(buf, c->want);
		ck_assert_str_eq(reason, "untouched");
		/* the canonical form is a fixed point */
		ck_assert_int_eq(rr_content_normalize(c->type, c->want, buf, sizeof(buf), &reason),
				 0);
		ck_assert_str_eq(buf, c->want);
	} else {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_str_eq(reason, c->reason);
		ck_assert_str_eq(buf, "untouched");
	}
}
END_TEST

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Unquoted TXT data is cut into strings of 255 bytes. */
struct txt_split_case {
	size_t len;
	size_t want_strings;
	const char *reason; /* NULL: accepted */
};

static const struct txt_split_case txt_split_cases[] = {
	{ 255, 1, NULL }, { 256, 2, NULL },  { 300, 2, NULL },        { 510, 2, NULL },
	{ 511, 3, NULL }, { 2048, 9, NULL }, { 2049, 0, R_TXT_DATA }, { 8000, 0, R_TXT_DATA },
};

START_TEST(test_txt_split)
{
	const struct txt_split_case *c = &txt_split_cases[_i];
	char *in = repeat('x', c->len);
	char buf[RR_CONTENT_SIZE];
	const char *reason = NULL;
	size_t off = 0, left = c->len;
	int r = rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason);

	if (c->reason) {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_str_eq(reason, c->reason);
		free(in);
		return;
	}
	ck_assert_int_eq(r, 0);
	for (size_t i = 0; i < c->want_strings; i++) {
		size_t n = left < 255 ? left : 255;

		if (i > 0) {
			ck_assert_int_eq(buf[off], ' ');
			off++;
		}
		ck_assert_int_eq(buf[off], '"');
		ck_assert_int_eq(strspn(buf + off + 1, "x"), n);
		ck_assert_int_eq(buf[off + 1 + n], '"');
		off += n + 2;
		left -= n;
	}
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_eq(strlen(buf), off);
	free(in);
}
END_TEST

/* Limits of quoted TXT input: 255 bytes a string, 2048 in all, 32 strings. */
START_TEST(test_txt_limits)
{
	char in[RR_CONTENT_SIZE + 16];
	char buf[RR_CONTENT_SIZE];
	const char *reason = NULL;
	size_t n;

	/* one string of 255 bytes, written as \DDD escapes */
	n = 0;
	in[n++] = '"';
	for (int i = 0; i < 255; i++)
		n += (size_t)sprintf(in + n, "\\%03d", 'a');
	strcpy(in + n, "\"");
	ck_assert_int_eq(rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason), 0);
	ck_assert_uint_eq(strlen(buf), 257);
	ck_assert_uint_eq(strspn(buf + 1, "a"), 255);

	/* 256 bytes in one string */
	strcpy(in + n, "\\097\"");
	ck_assert_int_eq(rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason), -EINVAL);
	ck_assert_str_eq(reason, R_TXT_255);

	/* 8 strings of 255 bytes and one of 8: 2048 bytes, accepted */
	n = 0;
	for (int s = 0; s < 9; s++) {
		in[n++] = '"';
		memset(in + n, 'b', s < 8 ? 255 : 8);
		n += s < 8 ? 255 : 8;
		in[n++] = '"';
		in[n++] = ' ';
	}
	in[n - 1] = '\0';
	ck_assert_int_eq(rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason), 0);
	ck_assert_str_eq(buf, in);
	/* one byte more */
	strcpy(in + n - 1, " \"b\"");
	ck_assert_int_eq(rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason), -EINVAL);
	ck_assert_str_eq(reason, R_TXT_DATA);

	/* 32 empty strings are fine, 33 are not */
	n = 0;
	for (int s = 0; s < 32; s++)
		n += (size_t)sprintf(in + n, "%s\"\"", s ? " " : "");
	ck_assert_int_eq(rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason), 0);
	ck_assert_str_eq(buf, in);
	strcpy(in + n, " \"\"");
	ck_assert_int_eq(rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason), -EINVAL);
	ck_assert_str_eq(reason, R_TXT_STRINGS);
}
END_TEST

/* The largest canonical form (2048 bytes, each as \DDD) fits RR_CONTENT_SIZE. */
START_TEST(test_txt_worst_case)
{
	char *in = repeat('\xff', RR_TXT_DATA_MAX);
	char buf[RR_CONTENT_SIZE];
	const char *reason = NULL;

	ck_assert_int_eq(rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason), 0);
	/* 8 strings of 255 and one of 8, 4 bytes a byte, quotes and 8 spaces */
	ck_assert_uint_eq(strlen(buf), 8 * (255 * 4 + 2) + (8 * 4 + 2) + 8);
	ck_assert_int_eq(strncmp(buf, "\"\\255\\255", 9), 0);
	ck_assert_str_eq(buf + strlen(buf) - 5, "\\255\"");
	free(in);
}
END_TEST

START_TEST(test_content_too_long)
{
	char *in = repeat('x', RR_CONTENT_SIZE);
	char buf[RR_CONTENT_SIZE];
	const char *reason = NULL;

	ck_assert_int_eq(rr_content_normalize(RR_CAA, in, buf, sizeof(buf), &reason), -EINVAL);
	ck_assert_str_eq(reason, R_TOO_LONG);
	in[RR_CONTENT_SIZE - 1] = '\0'; /* the longest accepted input, as TXT too much data */
	ck_assert_int_eq(rr_content_normalize(RR_TXT, in, buf, sizeof(buf), &reason), -EINVAL);
	ck_assert_str_eq(reason, R_TXT_DATA);
	free(in);

	/* a CAA value over 1024 bytes, quoted or not */
	in = repeat('a', 1100);
	memcpy(in, "0 issue ", 8);
	ck_assert_int_eq(rr_content_normalize(RR_CAA, in, buf, sizeof(buf), &reason), -EINVAL);
	ck_assert_str_eq(reason, R_CAA_LONG);
	memcpy(in, "0 issue \"", 9);
	in[1099] = '"';
	ck_assert_int_eq(rr_content_normalize(RR_CAA, in, buf, sizeof(buf), &reason), -EINVAL);
	ck_assert_str_eq(reason, R_CAA_LONG);
	free(in);
}
END_TEST

/* A buffer too small: -EMSGSIZE and the buffer untouched; NULL reason pointer allowed. */
struct size_case {
	enum rr_type type;
	const char *in;
	size_t size;
	int want_r;
	const char *want;
};

static const struct size_case size_cases[] = {
	{ RR_A, "192.0.2.1", 10, 0, "192.0.2.1" },
	{ RR_A, "192.0.2.1", 9, -EMSGSIZE, "untouched" },
	{ RR_A, "192.0.2.1", 0, -EMSGSIZE, "untouched" },
	{ RR_TXT, "ab", 5, 0, "\"ab\"" },
	{ RR_TXT, "ab", 4, -EMSGSIZE, "untouched" },
	{ RR_MX, "10 mx.example", 15, 0, "10 mx.example." },
	{ RR_MX, "10 mx.example", 14, -EMSGSIZE, "untouched" },
	{ RR_A, "1.2.3", 64, -EINVAL, "untouched" },
};

START_TEST(test_buffer_size)
{
	const struct size_case *c = &size_cases[_i];
	char buf[64] = "untouched";

	ck_assert_int_eq(rr_content_normalize(c->type, c->in, buf, c->size, NULL), c->want_r);
	ck_assert_str_eq(buf, c->want);
}
END_TEST

struct type_case {
	const char *name;
	int want; /* -1: rejected */
	const char *canonical;
	bool user;
};

static const struct type_case type_cases[] = {
	{ "A", RR_A, "A", true },
	{ "a", RR_A, "A", true },
	{ "aaaa", RR_AAAA, "AAAA", true },
	{ "AaAa", RR_AAAA, "AAAA", true },
	{ "cname", RR_CNAME, "CNAME", true },
	{ "MX", RR_MX, "MX", true },
	{ "txt", RR_TXT, "TXT", true },
	{ "Srv", RR_SRV, "SRV", true },
	{ "caa", RR_CAA, "CAA", true },
	{ "ns", RR_NS, "NS", false },
	{ "SOA", RR_SOA, "SOA", false },
	{ "", -1, NULL, false },
	{ NULL, -1, NULL, false },
	{ "ANY", -1, NULL, false },
	{ "ENT", -1, NULL, false },
	{ "PTR", -1, NULL, false },
	{ "TYPE1", -1, NULL, false },
	{ " A", -1, NULL, false },
	{ "A ", -1, NULL, false },
	{ "AAAAA", -1, NULL, false },
};

START_TEST(test_type)
{
	const struct type_case *c = &type_cases[_i];
	enum rr_type type = (enum rr_type)12345;
	int r = rr_type_parse(c->name, &type);

	if (c->want < 0) {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_int_eq(type, 12345);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(type, c->want);
	ck_assert_str_eq(rr_type_name(type), c->canonical);
	ck_assert_int_eq(rr_type_user_allowed(type), c->user);
}
END_TEST

START_TEST(test_type_unknown)
{
	static const int unknown[] = { 0, 3, 12, 99, 255, 256, 65535, -1 };

	for (size_t i = 0; i < ARRAY_SIZE(unknown); i++) {
		ck_assert_ptr_null(rr_type_name((enum rr_type)unknown[i]));
		ck_assert(!rr_type_user_allowed((enum rr_type)unknown[i]));
	}
}
END_TEST

struct ttl_case {
	long long ttl;
	uint32_t want;
};

static const struct ttl_case ttl_cases[] = {
	{ LLONG_MIN, 60 },
	{ -1, 60 },
	{ 0, 60 },
	{ 59, 60 },
	{ 60, 60 },
	{ 61, 61 },
	{ 3600, 3600 },
	{ 86399, 86399 },
	{ 86400, 86400 },
	{ 86401, 86400 },
	{ 4294967356LL, 86400 }, /* 2^32 + 60 */
	{ LLONG_MAX, 86400 },
};

START_TEST(test_ttl_clamp)
{
	ck_assert_uint_eq(rr_ttl_clamp(ttl_cases[_i].ttl), ttl_cases[_i].want);
}
END_TEST

struct json_case {
	const char *qname;
	enum rr_type type;
	const char *content;
	long long ttl;
	long long domain_id;
	const char *want; /* compact, sorted keys; NULL: no object */
};

static const struct json_case json_cases[] = {
	{ "www.dyn.test.", RR_A, "192.0.2.1", 60, 1,
	  "{\"content\":\"192.0.2.1\",\"domain_id\":1,\"qname\":\"www.dyn.test.\",\"qtype\":\"A\","
	  "\"ttl\":60}" },
	{ "dyn.test.", RR_TXT, "\"v=spf1 -all\" \"a\\\\b\"", 300, 42,
	  "{\"content\":\"\\\"v=spf1 -all\\\" \\\"a\\\\\\\\b\\\"\",\"domain_id\":42,"
	  "\"qname\":\"dyn.test.\",\"qtype\":\"TXT\",\"ttl\":300}" },
	{ "dyn.test.", RR_MX, "10 mail.dyn.test.", 0, 7,
	  "{\"content\":\"10 mail.dyn.test.\",\"domain_id\":7,\"qname\":\"dyn.test.\","
	  "\"qtype\":\"MX\",\"ttl\":60}" },
	{ "dyn.test.", RR_SOA, "ns1.dyn.test. hostmaster.dyn.test. 1 10800 3600 604800 60", 1000000,
	  9000000000LL,
	  "{\"content\":\"ns1.dyn.test. hostmaster.dyn.test. 1 10800 3600 604800 60\","
	  "\"domain_id\":9000000000,\"qname\":\"dyn.test.\",\"qtype\":\"SOA\",\"ttl\":86400}" },
	{ "_caa.dyn.test.", RR_CAA, "0 issue \"letsencrypt.org\"", -5, 3,
	  "{\"content\":\"0 issue \\\"letsencrypt.org\\\"\",\"domain_id\":3,"
	  "\"qname\":\"_caa.dyn.test.\",\"qtype\":\"CAA\",\"ttl\":60}" },
	{ "www.dyn.test.", (enum rr_type)99, "x", 60, 1, NULL },
	{ NULL, RR_A, "192.0.2.1", 60, 1, NULL },
	{ "www.dyn.test.", RR_A, NULL, 60, 1, NULL },
	{ "www.dyn.test.", RR_TXT, "\"\xff\"", 60, 1, NULL }, /* not UTF-8 */
};

START_TEST(test_json)
{
	const struct json_case *c = &json_cases[_i];
	json_t *j = rr_to_json(c->qname, c->type, c->content, c->ttl, c->domain_id);
	char *s;

	if (!c->want) {
		ck_assert_ptr_null(j);
		return;
	}
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(j->refcount, 1);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, c->want);
	free(s);
	json_decref(j);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("rr");
	TCase *tc = tcase_create("rr");

	tcase_add_loop_test(tc, test_content, 0, ARRAY_SIZE(content_cases));
	tcase_add_loop_test(tc, test_txt_split, 0, ARRAY_SIZE(txt_split_cases));
	tcase_add_test(tc, test_txt_limits);
	tcase_add_test(tc, test_txt_worst_case);
	tcase_add_test(tc, test_content_too_long);
	tcase_add_loop_test(tc, test_buffer_size, 0, ARRAY_SIZE(size_cases));
	tcase_add_loop_test(tc, test_type, 0, ARRAY_SIZE(type_cases));
	tcase_add_test(tc, test_type_unknown);
	tcase_add_loop_test(tc, test_ttl_clamp, 0, ARRAY_SIZE(ttl_cases));
	tcase_add_loop_test(tc, test_json, 0, ARRAY_SIZE(json_cases));
	suite_add_tcase(s, tc);
	return s;
}
