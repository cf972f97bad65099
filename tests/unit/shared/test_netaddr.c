#include "shared/netaddr.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define R_EMPTY_EL    "empty element in list (two commas in a row, or a comma at an end)"
#define R_NOT_ADDR    "not an IP address or prefix (expected e.g. 10.0.0.0/8 or fd00::/8)"
#define R_V4_LONG     "prefix length too long for IPv4 (at most 32)"
#define R_V6_LONG     "prefix length too long for IPv6 (at most 128)"
#define R_NOT_NUM     "prefix length is not a number"
#define R_NO_LEN      "missing prefix length after '/'"
#define R_HOSTBITS \
	"address has bits set after the prefix length (write the network, e.g. 10.0.0.0/8)"
#define R_TOO_MANY  "more than 64 prefixes"

#define STD_TRUSTED "127.0.0.1/32, 10.0.0.0/8, ::1/128, fd00::/8"

/* 65 addresses, one too many */
#define X8  "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8"
#define X64 X8 "," X8 "," X8 "," X8 "," X8 "," X8 "," X8 "," X8

struct parse_case {
	const char *in;
	int n;              /* -1: rejected */
	const char *reason; /* when rejected */
};

static const struct parse_case parse_cases[] = {
	{ STD_TRUSTED, 4, NULL },
	{ "127.0.0.1", 1, NULL },
	{ "::1", 1, NULL },
	{ "", 0, NULL },
	{ "   ", 0, NULL },
	{ "0.0.0.0/0", 1, NULL },
	{ "::/0", 1, NULL },
	{ " 10.0.0.0/8\t,192.168.0.0/16 ", 2, NULL },
	{ "::ffff:10.0.0.0/104", 1, NULL },
	{ "2001:db8::/32,2001:db8:1::/48", 2, NULL },
	{ X64, 64, NULL },
	{ X64 ",10.0.0.9", -1, R_TOO_MANY },
	{ "10.0.0.0/8,", -1, R_EMPTY_EL },
	{ ",10.0.0.0/8", -1, R_EMPTY_EL },
	{ "10.0.0.0/8,,::1", -1, R_EMPTY_EL },
	{ "10.0.0.0/8, ,::1", -1, R_EMPTY_EL },
	{ ",", -1, R_EMPTY_EL },
	{ "10.0.0.0/33", -1, R_V4_LONG },
	{ "10.0.0.0/1000", -1, R_V4_LONG },
	{ "::1/129", -1, R_V6_LONG },
	{ "10.0.0.0/", -1, R_NO_LEN },
	{ "10.0.0.0/x", -1, R_NOT_NUM },
	{ "10.0.0.0/-8", -1, R_NOT_NUM },
	{ "10.0.0.0/+8", -1, R_NOT_NUM },
	{ "10.0.0.0/8 8", -1, R_NOT_NUM },
	{ "10.0.0.1/8", -1, R_HOSTBITS },
	{ "fd00::1/8", -1, R_HOSTBITS },
	{ "garbage", -1, R_NOT_ADDR },
	{ "localhost", -1, R_NOT_ADDR },
	{ "10.0.0", -1, R_NOT_ADDR },
	{ "010.0.0.1", -1, R_NOT_ADDR },
	{ "256.0.0.1", -1, R_NOT_ADDR },
	{ "/8", -1, R_NOT_ADDR },
	{ "fe80::1%eth0", -1, R_NOT_ADDR },
	{ "[::1]", -1, R_NOT_ADDR },
	{ "10.0.0.0 /8", -1, R_NOT_ADDR },
};

START_TEST(test_parse)
{
	const struct parse_case *tc = &parse_cases[_i];
	struct netaddr_list l;
	const char *reason = "untouched";
	int r;

	memset(&l, 0xa5, sizeof(l));
	r = netaddr_list_parse(tc->in, &l, &reason);
	if (tc->n >= 0) {
		ck_assert_msg(r == 0, "\"%s\": %d %s", tc->in, r, reason);
		ck_assert_uint_eq(l.n, (size_t)tc->n);
		ck_assert_str_eq(reason, "untouched");
		ck_assert_int_eq(netaddr_list_check(tc->in, &reason), 0);
	} else {
		ck_assert_msg(r == -EINVAL, "\"%s\": %d", tc->in, r);
		ck_assert_str_eq(reason, tc->reason);
		ck_assert_uint_eq(l.items[0].len, 0xa5a5a5a5u); /* untouched */
		reason = NULL;
		ck_assert_int_eq(netaddr_list_check(tc->in, &reason), -EINVAL);
		ck_assert_str_eq(reason, tc->reason);
	}
}
END_TEST

START_TEST(test_parse_null)
{
	struct netaddr_list l;
	const char *reason = NULL;

	ck_assert_int_eq(netaddr_list_parse(NULL, &l, &reason), -EINVAL);
	ck_assert_ptr_nonnull(reason);
	ck_assert_int_eq(netaddr_list_parse("::1", NULL, NULL), -EINVAL);
	ck_assert(!netaddr_list_contains(NULL, "::1"));
}
END_TEST

struct contains_case {
	const char *list;
	const char *addr;
	bool want;
};

static const struct contains_case contains_cases[] = {
	{ STD_TRUSTED, "127.0.0.1", true },
	{ STD_TRUSTED, "127.0.0.2", false },
	{ STD_TRUSTED, "10.0.0.1", true },
	{ STD_TRUSTED, "10.255.255.255", true },
	{ STD_TRUSTED, "11.0.0.0", false },
	{ STD_TRUSTED, "9.255.255.255", false },
	{ STD_TRUSTED, "::1", true },
	{ STD_TRUSTED, "::2", false },
	{ STD_TRUSTED, "fd12:3456::1", true },
	{ STD_TRUSTED, "fe80::1", false },
	{ STD_TRUSTED, "0:0:0:0:0:0:0:1", true },
	{ STD_TRUSTED, "::ffff:10.1.2.3", true },    /* mapped = IPv4 */
	{ STD_TRUSTED, "::ffff:127.0.0.1", true },   /* mapped = IPv4 */
	{ STD_TRUSTED, "::ffff:192.0.2.1", false },  /* mapped, outside */
	{ STD_TRUSTED, "::ffff:a01:203", true },     /* mapped, hex form of 10.1.2.3 */
	{ "::ffff:10.0.0.0/104", "10.9.9.9", true }, /* mapped prefix = 10.0.0.0/8 */
	{ "::ffff:10.0.0.0/104", "11.0.0.1", false },
	{ "192.168.1.0/25", "192.168.1.127", true },
	{ "192.168.1.0/25", "192.168.1.128", false },
	{ "2001:db8:2::/47", "2001:db8:3:ffff::1", true },
	{ "2001:db8:2::/47", "2001:db8:4::1", false },
	{ "2001:db8:2::/47", "2001:db8:1:ffff::1", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false }, /* families never mix */
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "203.0.113.9", false },
	{ "", "127.0.0.1", false },
	{ STD_TRUSTED, "", false },
	{ STD_TRUSTED, "garbage", false },
	{ STD_TRUSTED, "10.0.0.1 ", false },
	{ STD_TRUSTED, "10.0.0.1/32", false },
	{ STD_TRUSTED, "[::1]", false },
};

START_TEST(test_contains)
{
	const struct contains_case *tc = &contains_cases[_i];
	struct netaddr_list l;

	ck_assert_int_eq(netaddr_list_parse(tc->list, &l, NULL), 0);
	ck_assert_msg(netaddr_list_contains(&l, tc->addr) == tc->want, "\"%s\" in \"%s\"", tc->addr,
		      tc->list);
}
END_TEST

struct client_case {
	const char *peer;
	const char *xff;
	const char *want; /* NULL: -EINVAL */
};

static const struct client_case client_cases[] = {
	/* an untrusted peer: its X-Forwarded-For is whatever it wants */
	{ "203.0.113.7", NULL, "203.0.113.7" },
	{ "203.0.113.7", "1.2.3.4", "203.0.113.7" },
	{ "203.0.113.7", "10.0.0.1, 127.0.0.1", "203.0.113.7" },
	/* a trusted peer: the rightmost untrusted address */
	{ "127.0.0.1", NULL, "127.0.0.1" },
	{ "127.0.0.1", "198.51.100.4", "198.51.100.4" },
	{ "127.0.0.1", "6.6.6.6, 198.51.100.4", "198.51.100.4" }, /* spoofed left part */
	{ "127.0.0.1", "6.6.6.6,198.51.100.4", "198.51.100.4" },
	/* a chain of trusted proxies */
	{ "10.0.0.2", "6.6.6.6, 198.51.100.4, 10.0.0.9, 10.1.1.1", "198.51.100.4" },
	{ "127.0.0.1", "198.51.100.4, 10.0.0.9", "198.51.100.4" },
	/* every hop trusted: the leftmost */
	{ "127.0.0.1", "10.0.0.3, 10.0.0.9", "10.0.0.3" },
	/* malformed: stop there, use the last good one */
	{ "127.0.0.1", "garbage", "127.0.0.1" },
	{ "127.0.0.1", "", "127.0.0.1" },
	{ "127.0.0.1", "198.51.100.4, garbage", "127.0.0.1" },
	{ "127.0.0.1", "198.51.100.4, garbage, 10.0.0.9", "10.0.0.9" },
	{ "127.0.0.1", "198.51.100.4,,10.0.0.9", "10.0.0.9" },
	{ "127.0.0.1", "198.51.100.4:8080", "127.0.0.1" },
	{ "127.0.0.1", "<script>", "127.0.0.1" },
	{ "127.0.0.1", "198.51.100.4, ", "127.0.0.1" },
	{ "127.0.0.1", "  198.51.100.4  ", "198.51.100.4" },
	/* IPv6, written canonically */
	{ "::1", "2001:DB8:0:0::0:1", "2001:db8::1" },
	{ "fd00::5", "2001:db8::1, fd00::1, ::1", "2001:db8::1" },
	{ "2001:db8::9", "198.51.100.4", "2001:db8::9" },
	{ "0:0::1", NULL, "::1" },
	/* IPv4-mapped is IPv4 */
	{ "::ffff:127.0.0.1", "198.51.100.4", "198.51.100.4" },
	{ "::ffff:203.0.113.7", NULL, "203.0.113.7" },
	{ "127.0.0.1", "::ffff:198.51.100.4", "198.51.100.4" },
	{ "127.0.0.1", "198.51.100.4, ::ffff:10.0.0.9", "198.51.100.4" },
	/* a bad peer */
	{ "", NULL, NULL },
	{ "localhost", NULL, NULL },
	{ "1.2.3.4:80", "5.6.7.8", NULL },
};

START_TEST(test_client)
{
	const struct client_case *tc = &client_cases[_i];
	struct netaddr_list l;
	char got[NETADDR_STRLEN] = "untouched";
	int r;

	ck_assert_int_eq(netaddr_list_parse(STD_TRUSTED, &l, NULL), 0);
	r = netaddr_client(tc->peer, tc->xff, &l, got);
	if (tc->want) {
		ck_assert_msg(r == 0, "%s / %s: %d", tc->peer, tc->xff, r);
		ck_assert_str_eq(got, tc->want);
	} else {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_str_eq(got, "untouched");
	}
}
END_TEST

START_TEST(test_client_no_trusted)
{
	char got[NETADDR_STRLEN];

	ck_assert_int_eq(netaddr_client("127.0.0.1", "198.51.100.4", NULL, got), 0);
	ck_assert_str_eq(got, "127.0.0.1");
}
END_TEST

struct key_case {
	const char *addr;
	const char *want; /* NULL: -EINVAL */
};

static const struct key_case key_cases[] = {
	{ "192.0.2.1", "192.0.2.1" },
	{ "::ffff:192.0.2.1", "192.0.2.1" },
	{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
	{ "2001:DB8:1:2::1", "2001:db8:1:2::/64" },
	{ "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64" },
	{ "2001:db8::1", "2001:db8::/64" },
	{ "::1", "::/64" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::/64" },
	{ "", NULL },
	{ "garbage", NULL },
	{ "192.0.2.1/32", NULL },
	{ "fe80::1%eth0", NULL },
};

START_TEST(test_rate_key)
{
	const struct key_case *tc = &key_cases[_i];
	char got[NETADDR_STRLEN] = "untouched";
	int r = netaddr_rate_key(tc->addr, got);

	if (tc->want) {
		ck_assert_msg(r == 0, "%s: %d", tc->addr, r);
		ck_assert_str_eq(got, tc->want);
	} else {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_str_eq(got, "untouched");
	}
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *tc = tcase_create("netaddr");

	tcase_add_loop_test(tc, test_parse, 0, ARRAY_SIZE(parse_cases));
	tcase_add_test(tc, test_parse_null);
	tcase_add_loop_test(tc, test_contains, 0, ARRAY_SIZE(contains_cases));
	tcase_add_loop_test(tc, test_client, 0, ARRAY_SIZE(client_cases));
	tcase_add_test(tc, test_client_no_trusted);
	tcase_add_loop_test(tc, test_rate_key, 0, ARRAY_SIZE(key_cases));
	suite_add_tcase(s, tc);
	return s;
}
