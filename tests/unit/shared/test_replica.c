#include "shared/replica.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct replica_zone zone = {
	.id = 7,
	.name = "dyn.test.",
	.mname = "ns1.dyn.test.",
	.rname = "hostmaster.dyn.test.",
	.serial = 42,
	.refresh = 10800,
	.retry = 3600,
	.expire = 604800,
	.minimum = 60,
};

#define SOA                                                                       \
	"{\"qtype\":\"SOA\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test. " \
	"hostmaster.dyn.test. 42 10800 3600 604800 60\",\"ttl\":60,\"domain_id\":7}"

struct render_case {
	const char *name;
	struct replica_rr rrs[3];
	size_t n;
	bool has_children;
	int want_r;
	const char *want; /* NULL: no key */
};

static const struct render_case render_cases[] = {
	/* the apex: SOA first, then the records as given */
	{ "dyn.test.",
	  { { "NS", "ns1.dyn.test.", 3600 } },
	  1,
	  true,
	  0,
	  "[" SOA ",{\"qtype\":\"NS\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test.\","
	  "\"ttl\":3600,\"domain_id\":7}]" },
	/* an apex without records still answers its SOA */
	{ "dyn.test.", { { 0 } }, 0, false, 0, "[" SOA "]" },
	{ "alice.dyn.test.",
	  { { "A", "192.0.2.1", 60 }, { "AAAA", "2001:db8::1", 60 } },
	  2,
	  false,
	  0,
	  "[{\"qtype\":\"A\",\"qname\":\"alice.dyn.test.\",\"content\":\"192.0.2.1\",\"ttl\":60,"
	  "\"domain_id\":7},{\"qtype\":\"AAAA\",\"qname\":\"alice.dyn.test.\",\"content\":"
	  "\"2001:db8::1\",\"ttl\":60,\"domain_id\":7}]" },
	/* TTLs are clamped on render too */
	{ "a.dyn.test.",
	  { { "TXT", "\"v=spf1 -all\"", 5 } },
	  1,
	  false,
	  0,
	  "[{\"qtype\":\"TXT\",\"qname\":\"a.dyn.test.\",\"content\":\"\\\"v=spf1 -all\\\"\","
	  "\"ttl\":60,\"domain_id\":7}]" },
	/* an empty non-terminal */
	{ "b.dyn.test.",
	  { { 0 } },
	  0,
	  true,
	  0,
	  "[{\"qtype\":\"ENT\",\"qname\":\"b.dyn.test.\",\"content\":\"\",\"ttl\":0,"
	  "\"domain_id\":7}]" },
	/* records and children: the records, no ENT marker */
	{ "c.dyn.test.",
	  { { "MX", "10 mail.dyn.test.", 300 } },
	  1,
	  true,
	  0,
	  "[{\"qtype\":\"MX\",\"qname\":\"c.dyn.test.\",\"content\":\"10 mail.dyn.test.\","
	  "\"ttl\":300,\"domain_id\":7}]" },
	/* no records, no children: the key must not exist */
	{ "gone.dyn.test.", { { 0 } }, 0, false, 0, NULL },
	/* a type PowerDNS would read as type 0 is refused */
	{ "x.dyn.test.", { { "SPF", "v=spf1", 60 } }, 1, false, -EINVAL, NULL },
	/* content that is not UTF-8 cannot be sent as JSON */
	{ "x.dyn.test.", { { "TXT", "\"\xff\"", 60 } }, 1, false, -EINVAL, NULL },
};

START_TEST(test_render)
{
	const struct render_case *c = &render_cases[_i];
	char *json = (char *)"untouched";
	int r = replica_render(&zone, c->name, c->rrs, c->n, c->has_children, &json);

	ck_assert_int_eq(r, c->want_r);
	if (r < 0) {
		ck_assert_str_eq(json, "untouched");
		return;
	}
	if (!c->want) {
		ck_assert_ptr_null(json);
		return;
	}
	ck_assert_str_eq(json, c->want);
	free(json);
}
END_TEST

START_TEST(test_zone_info)
{
	char *json = NULL;

	ck_assert_int_eq(replica_render_zone_info(&zone, &json), 0);
	ck_assert_str_eq(json,
			 "{\"id\":7,\"zone\":\"dyn.test.\",\"kind\":\"native\",\"serial\":42}");
	free(json);
}
END_TEST

START_TEST(test_keys)
{
	char buf[REPLICA_KEY_SIZE], small[12];
	char longname[256];

	ck_assert_int_eq(replica_name_key(3, "alice.dyn.test.", buf, sizeof(buf)), 23);
	ck_assert_str_eq(buf, "dns:3:n:alice.dyn.test.");
	ck_assert_int_eq(replica_zones_key(12, buf, sizeof(buf)), 12);
	ck_assert_str_eq(buf, "dns:12:zones");
	ck_assert_int_eq(replica_meta_key(12, buf, sizeof(buf)), 11);
	ck_assert_str_eq(buf, "dns:12:meta");
	ck_assert_int_eq(replica_name_key(3, "alice.dyn.test.", small, sizeof(small)), -EMSGSIZE);
	/* the longest name with the largest generation still fits REPLICA_KEY_SIZE */
	memset(longname, 'a', 254);
	longname[254] = '\0';
	ck_assert_int_gt(replica_name_key(9223372036854775807LL, longname, buf, sizeof(buf)), 0);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("replica");
	TCase *tc = tcase_create("replica");

	tcase_add_loop_test(tc, test_render, 0, sizeof(render_cases) / sizeof(render_cases[0]));
	tcase_add_test(tc, test_zone_info);
	tcase_add_test(tc, test_keys);
	suite_add_tcase(s, tc);
	return s;
}
