#include "backend/proto.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct parse_case {
	const char *line;
	int ret;
	enum proto_method method;
	const char *name; /* when ret == 0 */
	bool name_valid;
	const char *qtype;
	const char *reason; /* when ret < 0 */
};

#define LOOKUP(qt, qn) "{\"method\":\"lookup\",\"parameters\":{\"qtype\":" qt ",\"qname\":" qn "}}"

static const struct parse_case parse_cases[] = {
	{ "{\"method\":\"initialize\",\"parameters\":{\"path\":\"/x\",\"timeout\":\"2000\"}}", 0,
	  PROTO_INITIALIZE, "", false, "", NULL },
	{ LOOKUP("\"ANY\"", "\"www.dyn.test.\""), 0, PROTO_LOOKUP, "www.dyn.test.", true, "ANY",
	  NULL },
	{ LOOKUP("\"A\"", "\"TxT.ExAmPlE.cOm.\""), 0, PROTO_LOOKUP, "txt.example.com.", true, "A",
	  NULL },
	{ LOOKUP("\"soa\"", "\"dyn.test\""), 0, PROTO_LOOKUP, "dyn.test.", true, "SOA", NULL },
	{ LOOKUP("\"TYPE65\"", "\"*.dyn.test.\""), 0, PROTO_LOOKUP, "*.dyn.test.", true, "TYPE65",
	  NULL },
	/* with the other parameters pdns sends */
	{ "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\",\"qname\":\"a.dyn.test.\","
	  "\"zone-id\":1,\"remote\":\"127.0.0.1\",\"local\":\"0.0.0.0\",\"real-remote\":"
	  "\"127.0.0.1/32\"}}",
	  0, PROTO_LOOKUP, "a.dyn.test.", true, "ANY", NULL },
	/* not a valid name: parsed, answered false */
	{ LOOKUP("\"A\"", "\"a b.dyn.test.\""), 0, PROTO_LOOKUP, "", false, "A", NULL },
	{ LOOKUP("\"A\"", "\"a..b.\""), 0, PROTO_LOOKUP, "", false, "A", NULL },
	{ LOOKUP("\"A\"", "\"\""), 0, PROTO_LOOKUP, "", false, "A", NULL },
	{ LOOKUP("\"A\"", "\"\\u00e9.test.\""), 0, PROTO_LOOKUP, "", false, "A", NULL },
	/* jansson rejects NUL in strings */
	{ LOOKUP("\"A\"", "\"a\\u0000b.test.\""), -EINVAL, 0, NULL, false, NULL, "invalid JSON" },
	{ LOOKUP("\"A\"", "\"a\\\\032b.test.\""), 0, PROTO_LOOKUP, "", false, "A", NULL },
	{ "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":\"Dyn.Test.\"}}", 0,
	  PROTO_GET_DOMAIN_INFO, "dyn.test.", true, "", NULL },
	{ "{\"method\":\"getAllDomains\",\"parameters\":{\"include_disabled\":true}}", 0,
	  PROTO_GET_ALL_DOMAINS, "", false, "", NULL },
	{ "{\"method\":\"list\",\"parameters\":{\"zonename\":\"dyn.test.\",\"domain_id\":1,"
	  "\"include_disabled\":false}}",
	  0, PROTO_LIST, "dyn.test.", true, "", NULL },
	{ "{\"method\":\"getAllDomainMetadata\",\"parameters\":{\"name\":\"dyn.test.\"}}", 0,
	  PROTO_GET_METADATA, "", false, "", NULL },
	{ "{\"method\":\"getDomainMetadata\",\"parameters\":{\"name\":\"dyn.test.\",\"kind\":"
	  "\"PRESIGNED\"}}",
	  0, PROTO_GET_METADATA, "", false, "", NULL },
	{ "{\"method\":\"getDomainKeys\",\"parameters\":{\"name\":\"dyn.test.\"}}", 0,
	  PROTO_UNKNOWN, "", false, "", NULL },
	{ "{\"method\":\"initialize\"}", 0, PROTO_INITIALIZE, "", false, "", NULL },
	/* bad requests */
	{ "", -EINVAL, 0, NULL, false, NULL, "invalid JSON" },
	{ "not json", -EINVAL, 0, NULL, false, NULL, "invalid JSON" },
	{ "{\"method\":\"lookup\"", -EINVAL, 0, NULL, false, NULL, "invalid JSON" },
	{ "{\"method\":\"a\",\"method\":\"b\"}", -EINVAL, 0, NULL, false, NULL, "invalid JSON" },
	{ "[1,2]", -EINVAL, 0, NULL, false, NULL, "request is not a JSON object" },
	{ "{}", -EINVAL, 0, NULL, false, NULL, "method missing or not a string" },
	{ "{\"method\":5}", -EINVAL, 0, NULL, false, NULL, "method missing or not a string" },
	{ "{\"method\":\"lookup\",\"parameters\":[]}", -EINVAL, 0, NULL, false, NULL,
	  "parameters is not an object" },
	{ "{\"method\":\"lookup\",\"parameters\":{\"qname\":\"a.b.\"}}", -EINVAL, 0, NULL, false,
	  NULL, "qtype missing or not a string" },
	{ LOOKUP("1", "\"a.b.\""), -EINVAL, 0, NULL, false, NULL, "qtype missing or not a string" },
	{ LOOKUP("\"A B\"", "\"a.b.\""), -EINVAL, 0, NULL, false, NULL,
	  "qtype is not a type mnemonic" },
	{ LOOKUP("\"\"", "\"a.b.\""), -EINVAL, 0, NULL, false, NULL,
	  "qtype is not a type mnemonic" },
	{ LOOKUP("\"AAAAAAAAAAAAAAAA\"", "\"a.b.\""), -EINVAL, 0, NULL, false, NULL,
	  "qtype is not a type mnemonic" },
	{ LOOKUP("\"A\"", "42"), -EINVAL, 0, NULL, false, NULL, "qname missing or not a string" },
	{ LOOKUP("\"A\"", "null"), -EINVAL, 0, NULL, false, NULL, "qname missing or not a string" },
	{ "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\"}}", -EINVAL, 0, NULL, false, NULL,
	  "qname missing or not a string" },
	{ "{\"method\":\"getDomainInfo\",\"parameters\":{}}", -EINVAL, 0, NULL, false, NULL,
	  "name missing or not a string" },
	{ "{\"method\":\"list\",\"parameters\":{\"zonename\":1}}", -EINVAL, 0, NULL, false, NULL,
	  "zonename missing or not a string" },
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	struct proto_request req;
	const char *reason = NULL;
	int r;

	memset(&req, 0x5a, sizeof(req));
	r = proto_parse(c->line, strlen(c->line), &req, &reason);
	ck_assert_msg(r == c->ret, "%s: got %d, want %d (%s)", c->line, r, c->ret,
		      reason ? reason : "");
	if (r < 0) {
		ck_assert_str_eq(reason, c->reason);
		return;
	}
	ck_assert_int_eq(req.method, c->method);
	if (c->method == PROTO_LOOKUP || c->method == PROTO_GET_DOMAIN_INFO ||
	    c->method == PROTO_LIST) {
		ck_assert_int_eq(req.name_valid, c->name_valid);
		ck_assert_str_eq(req.name, c->name);
	}
	if (c->method == PROTO_LOOKUP)
		ck_assert_str_eq(req.qtype, c->qtype);
}
END_TEST

#define SOA                                                                                       \
	"{\"qtype\":\"SOA\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test. h.dyn.test. 1 2 " \
	"3 4 60\",\"ttl\":60,\"domain_id\":1}"
#define NS                                                                                      \
	"{\"qtype\":\"NS\",\"qname\":\"dyn.test.\",\"content\":\"ns1.dyn.test.\",\"ttl\":3600," \
	"\"domain_id\":1}"
#define A1                                                                                   \
	"{\"qtype\":\"A\",\"qname\":\"www.dyn.test.\",\"content\":\"192.0.2.1\",\"ttl\":60," \
	"\"domain_id\":1}"
#define A2                                                                                   \
	"{\"qtype\":\"A\",\"qname\":\"www.dyn.test.\",\"content\":\"192.0.2.2\",\"ttl\":60," \
	"\"domain_id\":1}"
#define TXT                                                                       \
	"{\"qtype\":\"TXT\",\"qname\":\"www.dyn.test.\",\"content\":\"\\\"a\\\" " \
	"\\\"b\\\"\",\"ttl\":60,\"domain_id\":1}"
#define ENT \
	"{\"qtype\":\"ENT\",\"qname\":\"b.dyn.test.\",\"content\":\"\",\"ttl\":0,\"domain_id\":1}"

struct filter_case {
	const char *array, *qtype, *want; /* want NULL: -EINVAL */
};

static const struct filter_case filter_cases[] = {
	{ "[" SOA "," NS "]", "ANY", "[" SOA "," NS "]" },
	{ "[" SOA "," NS "]", "SOA", "[" SOA "]" },
	{ "[" SOA "," NS "]", "NS", "[" NS "]" },
	{ "[" SOA "," NS "]", "A", "false" },
	{ "[" A1 "," TXT "," A2 "]", "A", "[" A1 "," A2 "]" },
	{ "[" A1 "," TXT "," A2 "]", "TXT", "[" TXT "]" },
	{ "[" A1 "," TXT "," A2 "]", "AAAA", "false" },
	{ "[" ENT "]", "A", "false" },
	{ "[" ENT "]", "ANY", "[" ENT "]" },
	{ "[]", "A", "false" },
	{ "[{\"qtype\":1},\"x\"," A1 "]", "A", "[" A1 "]" },
	{ "{}", "A", NULL },
	{ "not json", "ANY", NULL },
};

START_TEST(test_filter)
{
	const struct filter_case *c = &filter_cases[_i];
	char *out = NULL;
	int r = proto_filter(c->array, strlen(c->array), c->qtype, &out);

	if (!c->want) {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_ptr_null(out);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(out, c->want);
	free(out);
}
END_TEST

START_TEST(test_replies)
{
	size_t n = 0;
	char *s = proto_reply_result("[1]", 3, &n);

	ck_assert_str_eq(s, "{\"result\":[1]}\n");
	ck_assert_uint_eq(n, strlen(s));
	free(s);
	s = proto_reply_result("false", 5, &n);
	ck_assert_str_eq(s, "{\"result\":false}\n");
	free(s);
	s = proto_reply_error("a \"quoted\"\nline", &n);
	ck_assert_str_eq(s, "{\"error\":\"a \\\"quoted\\\"\\nline\"}\n");
	ck_assert_uint_eq(n, strlen(s));
	free(s);
	ck_assert_str_eq(proto_method_name(PROTO_LOOKUP), "lookup");
	ck_assert_str_eq(proto_method_name(PROTO_METHOD_COUNT), "unknown");
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("proto");

	tcase_add_loop_test(tc, test_parse, 0, ARRAY_SIZE(parse_cases));
	tcase_add_loop_test(tc, test_filter, 0, ARRAY_SIZE(filter_cases));
	tcase_add_test(tc, test_replies);
	suite_add_tcase(s, tc);
	return s;
}
