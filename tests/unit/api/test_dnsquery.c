/*
 * services/api/dnsquery.c: the query packet, the checks on an answer and its
 * presentation (no sockets), the server address; then the exchange against
 * a fake server on loopback (the second send, the deadline, an ICMP error,
 * a wrong id, truncation and TCP, cancel), which PowerDNS cannot be made to
 * show.
 */

#include "services/api/dnsquery.h"
#include "tests/unit/check_main.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the query packet ----------------------------------------------------- */

static const struct pkt_case {
	const char *name;
	uint16_t type, id;
	const char *want_name; /* as ldns prints the question's name */
} pkt_cases[] = {
	{ "alice.dyn.test.", LDNS_RR_TYPE_A, 0x1234, "alice.dyn.test." },
	{ "alice.dyn.test", LDNS_RR_TYPE_AAAA, 0, "alice.dyn.test." },
	{ "_sip._tcp.alice.dyn.test.", LDNS_RR_TYPE_SRV, 0xffff, "_sip._tcp.alice.dyn.test." },
	{ "*.alice.dyn.test.", LDNS_RR_TYPE_TXT, 7, "*.alice.dyn.test." },
	{ "dyn.test.", LDNS_RR_TYPE_SOA, 0x8000, "dyn.test." },
	{ "alice.dyn.test.", LDNS_RR_TYPE_CAA, 1, "alice.dyn.test." },
};

START_TEST(test_packet)
{
	const struct pkt_case *c = &pkt_cases[_i];
	uint8_t *wire = NULL;
	size_t len = 0;
	ldns_pkt *p = NULL;
	const ldns_rr *q;
	char *s;

	ck_assert_int_eq(dnsquery_packet(c->name, c->type, c->id, &wire, &len), 0);
	ck_assert_ptr_nonnull(wire);
	ck_assert_int_eq(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_id(p), c->id);
	ck_assert(!ldns_pkt_qr(p));
	ck_assert_msg(!ldns_pkt_rd(p), "RD is clear: the server is authoritative");
	ck_assert_int_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 1);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), DNSQUERY_EDNS_SIZE);
	q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(q), c->type);
	ck_assert_int_eq(ldns_rr_get_class(q), LDNS_RR_CLASS_IN);
	s = ldns_rdf2str(ldns_rr_owner(q));
	ck_assert_str_eq(s, c->want_name);
	free(s);
	/* the header itself: id in network order, only the OPT record after the question */
	ck_assert_uint_eq(wire[0] << 8 | wire[1], c->id);
	ck_assert_uint_eq(wire[2], 0);
	ck_assert_uint_eq(wire[10] << 8 | wire[11], 1);
	ldns_pkt_free(p);
	free(wire);
}
END_TEST

START_TEST(test_packet_bad_name)
{
	static const char *const bad[] = {
		"",
		"a..dyn.test.",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.dyn.test.",
	};
	uint8_t *wire = (uint8_t *)"untouched";
	size_t len = 42;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(dnsquery_packet(bad[i], LDNS_RR_TYPE_A, 1, &wire, &len), -EINVAL);
		ck_assert_str_eq((const char *)wire, "untouched");
		ck_assert_uint_eq(len, 42);
	}
	ck_assert_int_eq(dnsquery_packet(NULL, LDNS_RR_TYPE_A, 1, &wire, &len), -EINVAL);
}
END_TEST

/* ---- answers -------------------------------------------------------------- */

#define QNAME "alice.dyn.test."
#define QID   0xbeef
#define SOA_AUTH                                                                               \
	"dyn.test. 60 IN SOA ns1.dyn.test. hostmaster.dyn.test. 2024050101 10800 3600 604800 " \
	"60"

struct want_rr {
	const char *name, *type;
	uint32_t ttl;
	const char *content;
};

/*
 * An answer built with ldns from these fields, read back by dnsquery_parse. A field left out
 * is zero: opcode QUERY, rcode NOERROR, AA, TC and QR clear, no records.
 */
static const struct ans_case {
	const char *desc;
	/* the answer */
	const char *qname; /* NULL: no question at all */
	uint16_t qtype, qclass, id;
	bool qr, aa, tc;
	ldns_pkt_opcode opcode;
	uint8_t rcode;
	const char *answer[3], *authority;
	/* what dnsquery_parse makes of it, asked for QNAME and A (or @ask_type) */
	uint16_t ask_type;
	int err;
	const char *rcode_name;
	size_t n;
	struct want_rr want[3];
	const char *ask_name; /* NULL: QNAME */
} ans_cases[] = {
/* a question for @name and @type, in class IN */
#define QUESTION(name, type) \
	.qname = (name), .qtype = LDNS_RR_TYPE_##type, .qclass = LDNS_RR_CLASS_IN
/* a response to our query (with its id) */
#define RESPONSE .id = QID, .qr = true
	{ .desc = "an A record",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 60 IN A 192.0.2.7" },
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "A", 60, "192.0.2.7" } } },
	{ .desc = "the question in another case: the same name",
	  QUESTION("ALICE.Dyn.TEST.", A),
	  RESPONSE,
	  .aa = true,
	  .answer = { "ALICE.Dyn.TEST. 300 IN A 192.0.2.8" },
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { "ALICE.Dyn.TEST.", "A", 300, "192.0.2.8" } } },
	{ .desc = "two A records",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 60 IN A 192.0.2.1", QNAME " 60 IN A 192.0.2.2" },
	  .rcode_name = "NOERROR",
	  .n = 2,
	  .want = { { QNAME, "A", 60, "192.0.2.1" }, { QNAME, "A", 60, "192.0.2.2" } } },
	{ .desc = "NXDOMAIN: no answers, the SOA in the authority section",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .aa = true,
	  .rcode = LDNS_RCODE_NXDOMAIN,
	  .authority = SOA_AUTH,
	  .rcode_name = "NXDOMAIN" },
	{ .desc = "NODATA",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .aa = true,
	  .authority = SOA_AUTH,
	  .rcode_name = "NOERROR" },
	{ .desc = "not authoritative (AA clear)",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .answer = { QNAME " 60 IN A 192.0.2.7" },
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "A", 60, "192.0.2.7" } } },
	{ .desc = "SERVFAIL is an answer",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .rcode = LDNS_RCODE_SERVFAIL,
	  .rcode_name = "SERVFAIL" },
	{ .desc = "REFUSED is an answer",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .rcode = LDNS_RCODE_REFUSED,
	  .rcode_name = "REFUSED" },
	{ .desc = "an unassigned rcode by number",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .rcode = 12,
	  .rcode_name = "RCODE12" },
	{ .desc = "a CNAME chain: both records",
	  QUESTION("www.alice.dyn.test.", A),
	  RESPONSE,
	  .aa = true,
	  .answer = { "www.alice.dyn.test. 60 IN CNAME alice.dyn.test.",
		      QNAME " 60 IN A 192.0.2.7" },
	  .rcode_name = "NOERROR",
	  .n = 2,
	  .want = { { "www.alice.dyn.test.", "CNAME", 60, "alice.dyn.test." },
		    { QNAME, "A", 60, "192.0.2.7" } },
	  .ask_name = "www.alice.dyn.test." },
	{ .desc = "AAAA",
	  QUESTION(QNAME, AAAA),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 60 IN AAAA 2001:db8::1" },
	  .ask_type = LDNS_RR_TYPE_AAAA,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "AAAA", 60, "2001:db8::1" } } },
	{ .desc = "TXT: quoted, as ldns prints it",
	  QUESTION(QNAME, TXT),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 60 IN TXT \"v=spf1 -all\"" },
	  .ask_type = LDNS_RR_TYPE_TXT,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "TXT", 60, "\"v=spf1 -all\"" } } },
	{ .desc = "TXT: two strings, a quote and a control byte escaped",
	  QUESTION(QNAME, TXT),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 60 IN TXT \"a \\\"b\\\"\" \"c\\001\"" },
	  .ask_type = LDNS_RR_TYPE_TXT,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "TXT", 60, "\"a \\\"b\\\"\" \"c\\001\"" } } },
	{ .desc = "TXT: a tab stays a tab (ldns prints it as is)",
	  QUESTION(QNAME, TXT),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 60 IN TXT \"a\\009b\"" },
	  .ask_type = LDNS_RR_TYPE_TXT,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "TXT", 60, "\"a\tb\"" } } },
	{ .desc = "MX",
	  QUESTION(QNAME, MX),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 300 IN MX 10 mail.alice.dyn.test." },
	  .ask_type = LDNS_RR_TYPE_MX,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "MX", 300, "10 mail.alice.dyn.test." } } },
	{ .desc = "SRV",
	  QUESTION("_sip._tcp.alice.dyn.test.", SRV),
	  RESPONSE,
	  .aa = true,
	  .answer = { "_sip._tcp.alice.dyn.test. 60 IN SRV 10 5 5060 alice.dyn.test." },
	  .ask_type = LDNS_RR_TYPE_SRV,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { "_sip._tcp.alice.dyn.test.", "SRV", 60, "10 5 5060 alice.dyn.test." } },
	  .ask_name = "_sip._tcp.alice.dyn.test." },
	{ .desc = "CAA",
	  QUESTION(QNAME, CAA),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 60 IN CAA 0 issue \"letsencrypt.org\"" },
	  .ask_type = LDNS_RR_TYPE_CAA,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "CAA", 60, "0 issue \"letsencrypt.org\"" } } },
	{ .desc = "SOA",
	  QUESTION(QNAME, SOA),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME
		      " 60 IN SOA ns1.dyn.test. hostmaster.dyn.test. 7 10800 3600 604800 60" },
	  .ask_type = LDNS_RR_TYPE_SOA,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "SOA", 60,
		      "ns1.dyn.test. hostmaster.dyn.test. 7 10800 3600 604800 60" } } },
	{ .desc = "NS",
	  QUESTION(QNAME, NS),
	  RESPONSE,
	  .aa = true,
	  .answer = { QNAME " 3600 IN NS ns1.dyn.test." },
	  .ask_type = LDNS_RR_TYPE_NS,
	  .rcode_name = "NOERROR",
	  .n = 1,
	  .want = { { QNAME, "NS", 3600, "ns1.dyn.test." } } },
	{ .desc = "another id: -EBADMSG",
	  QUESTION(QNAME, A),
	  .id = QID + 1,
	  .qr = true,
	  .aa = true,
	  .answer = { QNAME " 60 IN A 192.0.2.7" },
	  .err = -EBADMSG },
	{ .desc = "not a response (QR clear): -EPROTO",
	  QUESTION(QNAME, A),
	  .id = QID,
	  .err = -EPROTO },
	{ .desc = "a NOTIFY, not a query: -EPROTO",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .aa = true,
	  .opcode = LDNS_PACKET_NOTIFY,
	  .err = -EPROTO },
	{ .desc = "another name in the question: -EPROTO",
	  QUESTION("bob.dyn.test.", A),
	  RESPONSE,
	  .aa = true,
	  .answer = { "bob.dyn.test. 60 IN A 192.0.2.66" },
	  .err = -EPROTO },
	{ .desc = "a name below ours in the question: -EPROTO",
	  QUESTION("x.alice.dyn.test.", A),
	  RESPONSE,
	  .aa = true,
	  .err = -EPROTO },
	{ .desc = "another type in the question: -EPROTO",
	  QUESTION(QNAME, AAAA),
	  RESPONSE,
	  .aa = true,
	  .err = -EPROTO },
	{ .desc = "another class in the question: -EPROTO",
	  .qname = QNAME,
	  .qtype = LDNS_RR_TYPE_A,
	  .qclass = LDNS_RR_CLASS_CH,
	  RESPONSE,
	  .aa = true,
	  .err = -EPROTO },
	{ .desc = "no question: -EPROTO",
	  RESPONSE,
	  .aa = true,
	  .rcode = LDNS_RCODE_FORMERR,
	  .err = -EPROTO },
	{ .desc = "truncated (TC): -EMSGSIZE",
	  QUESTION(QNAME, A),
	  RESPONSE,
	  .aa = true,
	  .tc = true,
	  .err = -EMSGSIZE },
#undef QUESTION
#undef RESPONSE
};

/* The wire form of an answer per @c (free() it). */
static uint8_t *build_answer(const struct ans_case *c, size_t *ret_len)
{
	ldns_pkt *p = ldns_pkt_new();
	uint8_t *wire = NULL;
	ldns_rr *rr;

	ck_assert_ptr_nonnull(p);
	if (c->qname) {
		rr = ldns_rr_new();
		ldns_rr_set_owner(rr, ldns_dname_new_frm_str(c->qname));
		ldns_rr_set_type(rr, c->qtype);
		ldns_rr_set_class(rr, c->qclass);
		ldns_rr_set_question(rr, true);
		ck_assert(ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr));
	}
	ldns_pkt_set_id(p, c->id);
	ldns_pkt_set_qr(p, c->qr);
	ldns_pkt_set_aa(p, c->aa);
	ldns_pkt_set_tc(p, c->tc);
	ldns_pkt_set_opcode(p, c->opcode);
	ldns_pkt_set_rcode(p, c->rcode);
	for (size_t i = 0; i < ARRAY_SIZE(c->answer) && c->answer[i]; i++) {
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, c->answer[i], 0, NULL, NULL),
				 LDNS_STATUS_OK);
		ck_assert(ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr));
	}
	if (c->authority) {
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, c->authority, 0, NULL, NULL),
				 LDNS_STATUS_OK);
		ck_assert(ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr));
	}
	ck_assert_int_eq(ldns_pkt2wire(&wire, p, ret_len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return wire;
}

START_TEST(test_parse)
{
	const struct ans_case *c = &ans_cases[_i];
	size_t len;
	uint8_t *wire = build_answer(c, &len);
	struct dnsquery_result *r = NULL;
	const char *reason = NULL;
	uint16_t ask = c->ask_type ? c->ask_type : LDNS_RR_TYPE_A;
	int err =
		dnsquery_parse(wire, len, QID, c->ask_name ? c->ask_name : QNAME, ask, &r, &reason);

	ck_assert_msg(err == c->err, "%s: got %d (%s), want %d", c->desc, err,
		      reason ? reason : "-", c->err);
	if (c->err < 0) {
		ck_assert_ptr_null(r);
		ck_assert_msg(reason && *reason, "%s: a reason", c->desc);
	} else {
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(r->rcode_name, c->rcode_name);
		ck_assert(r->authoritative == c->aa);
		ck_assert(!r->tcp);
		ck_assert_uint_eq(r->n_answers, c->n);
		for (size_t i = 0; i < c->n; i++) {
			ck_assert_str_eq(r->answers[i].name, c->want[i].name);
			ck_assert_str_eq(r->answers[i].type_name, c->want[i].type);
			ck_assert_uint_eq(r->answers[i].ttl, c->want[i].ttl);
			ck_assert_str_eq(r->answers[i].content, c->want[i].content);
		}
	}
	dnsquery_result_free(r);
	free(wire);
}
END_TEST

/* The CNAME chain asked for in another spelling (case, no final dot): the same question. */
START_TEST(test_parse_cname_chain)
{
	struct ans_case c = ans_cases[9];
	size_t len;
	uint8_t *wire;
	struct dnsquery_result *r = NULL;

	ck_assert_str_eq(c.desc, "a CNAME chain: both records");
	wire = build_answer(&c, &len);
	ck_assert_int_eq(
		dnsquery_parse(wire, len, QID, "WWW.alice.dyn.test", LDNS_RR_TYPE_A, &r, NULL), 0);
	ck_assert_uint_eq(r->n_answers, 2);
	ck_assert_str_eq(r->answers[0].type_name, "CNAME");
	ck_assert_str_eq(r->answers[1].content, "192.0.2.7");
	dnsquery_result_free(r);
	free(wire);
}
END_TEST

/* Bytes that are not a usable DNS message at all. */
START_TEST(test_parse_junk)
{
	/* id QID, QR, one question, then nothing */
	static const uint8_t cut[] = { 0xbe, 0xef, 0x84, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a' };
	static const uint8_t shorty[] = { 0xbe, 0xef, 0x84 };
	/* id QID, QR, an answer count of 200 with nothing behind it */
	static const uint8_t lying[] = { 0xbe, 0xef, 0x84, 0x00, 0, 0, 0, 200, 0, 0, 0, 0 };
	struct dnsquery_result *r = NULL;
	const char *reason = NULL;

	ck_assert_int_eq(dnsquery_parse(cut, sizeof(cut), QID, QNAME, 1, &r, &reason), -EPROTO);
	ck_assert_str_eq(reason, "the answer is not a valid DNS message");
	ck_assert_int_eq(dnsquery_parse(shorty, sizeof(shorty), QID, QNAME, 1, &r, &reason),
			 -EPROTO);
	ck_assert_str_eq(reason, "the answer is shorter than a DNS header");
	ck_assert_int_eq(dnsquery_parse(lying, sizeof(lying), QID, QNAME, 1, &r, &reason), -EPROTO);
	ck_assert_int_eq(dnsquery_parse(NULL, 0, QID, QNAME, 1, &r, NULL), -EPROTO);
	ck_assert_ptr_null(r);
	dnsquery_result_free(NULL);
}
END_TEST

/* ---- servers ---------------------------------------------------------------- */

static const struct srv_case {
	const char *in;
	const char *out; /* as dnsquery_server_format writes it; NULL: rejected */
} srv_cases[] = {
	{ "127.0.0.1:5300", "127.0.0.1:5300" },
	{ "192.0.2.53:53", "192.0.2.53:53" },
	{ "[::1]:53", "[::1]:53" },
	{ "[2001:DB8:0::53]:65535", "[2001:db8::53]:65535" },
	{ "127.0.0.1:1", "127.0.0.1:1" },
	{ "127.0.0.1", NULL },
	{ "127.0.0.1:", NULL },
	{ "127.0.0.1:0", NULL },
	{ "127.0.0.1:65536", NULL },
	{ "127.0.0.1:+53", NULL },
	{ "127.0.0.1: 53", NULL },
	{ "127.0.0.1:53x", NULL },
	{ ":53", NULL },
	{ "::1:53", NULL },
	{ "[::1]53", NULL },
	{ "[::1]:", NULL },
	{ "[127.0.0.1]:53", NULL },
	{ "localhost:53", NULL },
	{ "127.0.0.01:53", NULL },
	{ "", NULL },
};

START_TEST(test_server)
{
	const struct srv_case *c = &srv_cases[_i];
	struct sockaddr_storage ss;
	char buf[DNSQUERY_SERVER_STRLEN];
	const char *reason = NULL;
	int r;

	memset(&ss, 0xab, sizeof(ss));
	r = dnsquery_server_parse(c->in, &ss, &reason);
	if (!c->out) {
		ck_assert_msg(r == -EINVAL, "\"%s\" is rejected", c->in);
		ck_assert_msg(reason && *reason, "\"%s\": a reason", c->in);
		ck_assert_uint_eq(((unsigned char *)&ss)[0], 0xab); /* untouched */
		ck_assert_int_eq(dnsquery_server_check(c->in, NULL), -EINVAL);
		return;
	}
	ck_assert_msg(r == 0, "\"%s\": %s", c->in, reason ? reason : "-");
	ck_assert_int_eq(dnsquery_server_check(c->in, NULL), 0);
	dnsquery_server_format(&ss, buf);
	ck_assert_str_eq(buf, c->out);
}
END_TEST

/* ---- the exchange, against a fake server on loopback --------------------------- */

enum fake_mode {
	ANSWER,      /* answers every query */
	DROP_FIRST,  /* ignores the first datagram, answers the second */
	SILENT,      /* answers nothing */
	WRONG_ID,    /* answers with another id */
	TC_THEN_TCP, /* UDP: truncated; TCP: the whole answer */
	TC_ALWAYS,   /* truncated over TCP too */
	TC_NO_TCP,   /* UDP: truncated; nobody listens on TCP */
	CLOSED,      /* nobody listens on UDP either: an ICMP error */
};

struct fake {
	struct event_base *base;
	enum fake_mode mode;
	int udp;
	struct event *udp_ev;
	struct evconnlistener *tcp;
	struct bufferevent *conn;
	uint16_t port;
	int udp_seen, tcp_seen;
	/* the outcome */
	int calls, err;
	const char *reason;
	bool tcp_answer;
	double elapsed_ms;
	char content[64];
};

static uint8_t *fake_reply(struct fake *f, const uint8_t *q, size_t qlen, bool over_tcp,
			   size_t *ret_len)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	ldns_rr *rr;
	char *name, line[300];

	ck_assert_int_eq(ldns_wire2pkt(&p, q, qlen), LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	if (f->mode == WRONG_ID)
		ldns_pkt_set_id(p, (uint16_t)(ldns_pkt_id(p) + 1));
	if ((!over_tcp && f->mode >= TC_THEN_TCP) || f->mode == TC_ALWAYS) {
		ldns_pkt_set_tc(p, true);
	} else {
		name = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
		snprintf(line, sizeof(line), "%s 60 IN A 192.0.2.%d", name, over_tcp ? 99 : 7);
		free(name);
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	ck_assert_int_eq(ldns_pkt2wire(&wire, p, ret_len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return wire;
}

static void fake_udp(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	uint8_t buf[4096], *out;
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	size_t olen;

	(void)what;
	if (n <= 0)
		return;
	f->udp_seen++;
	if (f->mode == SILENT || (f->mode == DROP_FIRST && f->udp_seen == 1))
		return;
	out = fake_reply(f, buf, (size_t)n, false, &olen);
	ck_assert_int_eq(sendto(fd, out, olen, 0, (struct sockaddr *)&from, flen), (ssize_t)olen);
	free(out);
}

static void fake_tcp_read(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2], *msg, *out;
	size_t mlen, olen;

	if (evbuffer_copyout(in, hdr, 2) < 2)
		return;
	mlen = (size_t)hdr[0] << 8 | hdr[1];
	if (evbuffer_get_length(in) < 2 + mlen)
		return;
	msg = evbuffer_pullup(in, (ev_ssize_t)(2 + mlen));
	f->tcp_seen++;
	out = fake_reply(f, msg + 2, mlen, true, &olen);
	evbuffer_drain(in, 2 + mlen);
	hdr[0] = (uint8_t)(olen >> 8);
	hdr[1] = (uint8_t)olen;
	bufferevent_write(bev, hdr, 2);
	bufferevent_write(bev, out, olen);
	free(out);
}

static void fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			int socklen, void *arg)
{
	struct fake *f = arg;

	(void)l;
	(void)sa;
	(void)socklen;
	ck_assert_ptr_null(f->conn);
	f->conn = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->conn, fake_tcp_read, NULL, NULL, f);
	bufferevent_enable(f->conn, EV_READ | EV_WRITE);
}

/* Binds UDP (and, for the TCP modes, TCP) on one free loopback port. */
static void fake_start(struct fake *f, struct event_base *base, enum fake_mode mode)
{
	memset(f, 0, sizeof(*f));
	f->base = base;
	f->mode = mode;
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t len = sizeof(sa);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(f->udp, 0);
		ck_assert_int_eq(bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(getsockname(f->udp, (struct sockaddr *)&sa, &len), 0);
		f->port = ntohs(sa.sin_port);
		if (mode != TC_THEN_TCP && mode != TC_ALWAYS)
			break;
		f->tcp = evconnlistener_new_bind(base, fake_accept, f,
						 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 8,
						 (struct sockaddr *)&sa, sizeof(sa));
		if (f->tcp)
			break;
		close(f->udp); /* that TCP port is taken: another pair */
	}
	if (mode == TC_THEN_TCP || mode == TC_ALWAYS)
		ck_assert_ptr_nonnull(f->tcp);
	if (mode == CLOSED) {
		close(f->udp); /* the port is free now: datagrams to it get ICMP errors */
		f->udp = -1;
		return;
	}
	f->udp_ev = event_new(base, f->udp, EV_READ | EV_PERSIST, fake_udp, f);
	event_add(f->udp_ev, NULL);
}

static void fake_stop(struct fake *f)
{
	if (f->udp_ev)
		event_free(f->udp_ev);
	if (f->udp >= 0)
		close(f->udp);
	if (f->conn)
		bufferevent_free(f->conn);
	if (f->tcp)
		evconnlistener_free(f->tcp);
}

static void on_done(const struct dnsquery_result *res, int err, const char *reason, void *arg)
{
	struct fake *f = arg;

	f->calls++;
	f->err = err;
	f->reason = reason;
	if (res) {
		f->tcp_answer = res->tcp;
		f->elapsed_ms = res->elapsed_ms;
		ck_assert_uint_eq(res->n_answers, 1);
		snprintf(f->content, sizeof(f->content), "%s", res->answers[0].content);
	}
	event_base_loopbreak(f->base);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define TIMEOUT_MS 400

static const struct ex_case {
	const char *desc;
	enum fake_mode mode;
	int err;
	const char *content; /* of the answer, when err is 0 */
	bool tcp;
	int udp_seen, tcp_seen;   /* datagrams and TCP queries the server saw */
	long long min_ms, max_ms; /* the time until the callback */
} ex_cases[] = {
	{ "answered at once", ANSWER, 0, "192.0.2.7", false, 1, 0, 0, TIMEOUT_MS / 2 - 50 },
	{ "the first datagram lost: the second send is answered", DROP_FIRST, 0, "192.0.2.7", false,
	  2, 0, TIMEOUT_MS / 2 - 10, TIMEOUT_MS - 50 },
	{ "no answer: -ETIMEDOUT at the deadline, after two sends", SILENT, -ETIMEDOUT, NULL, false,
	  2, 0, TIMEOUT_MS - 10, TIMEOUT_MS + 300 },
	{ "nobody listens (ICMP port unreachable): -ETIMEDOUT at the deadline", CLOSED, -ETIMEDOUT,
	  NULL, false, 0, 0, TIMEOUT_MS - 10, TIMEOUT_MS + 300 },
	/* anybody can send to the port: a datagram that is not the answer is dropped */
	{ "another id over UDP: dropped; no real answer: -ETIMEDOUT at the deadline", WRONG_ID,
	  -ETIMEDOUT, NULL, false, 2, 0, TIMEOUT_MS - 10, TIMEOUT_MS + 300 },
	{ "truncated: asked again over TCP", TC_THEN_TCP, 0, "192.0.2.99", true, 1, 1, 0,
	  TIMEOUT_MS / 2 - 50 },
	{ "truncated over TCP too: -EMSGSIZE", TC_ALWAYS, -EMSGSIZE, NULL, false, 1, 1, 0,
	  TIMEOUT_MS / 2 - 50 },
	{ "truncated, nobody on TCP: a connection error", TC_NO_TCP, -ECONNREFUSED, NULL, false, 1,
	  0, 0, TIMEOUT_MS / 2 - 50 },
};

START_TEST(test_exchange)
{
	const struct ex_case *c = &ex_cases[_i];
	struct event_base *base = event_base_new();
	struct fake f;
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct dnsquery *q = NULL;
	long long t0, dt;

	ck_assert_ptr_nonnull(base);
	fake_start(&f, base, c->mode);
	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(f.port);
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t0 = mono_ms();
	ck_assert_int_eq(dnsquery_start(base, &ss, "Alice.dyn.test.", LDNS_RR_TYPE_A, TIMEOUT_MS,
					on_done, &f, &q),
			 0);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(f.calls, 0); /* never from inside dnsquery_start */
	event_base_dispatch(base);
	dt = mono_ms() - t0;
	ck_assert_int_eq(f.calls, 1);
	ck_assert_msg(f.err == c->err, "%s: got %d (%s), want %d", c->desc, f.err,
		      f.reason ? f.reason : "-", c->err);
	if (c->err == 0) {
		ck_assert_str_eq(f.content, c->content);
		ck_assert(f.tcp_answer == c->tcp);
		ck_assert(f.elapsed_ms >= 0 && f.elapsed_ms <= (double)dt + 1);
	} else {
		ck_assert_msg(f.reason && *f.reason, "%s: a reason", c->desc);
	}
	ck_assert_int_eq(f.udp_seen, c->udp_seen);
	ck_assert_int_eq(f.tcp_seen, c->tcp_seen);
	ck_assert_msg(dt >= c->min_ms && dt <= c->max_ms, "%s: %lld ms, want %lld to %lld", c->desc,
		      dt, c->min_ms, c->max_ms);
	/* nothing calls back later */
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(f.calls, 1);
	fake_stop(&f);
	event_base_free(base);
}
END_TEST

/* dnsquery_cancel calls back at once, once; nothing is left on the loop. */
START_TEST(test_cancel)
{
	struct event_base *base = event_base_new();
	struct fake f;
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct dnsquery *q = NULL;

	fake_start(&f, base, SILENT);
	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(f.port);
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(
		dnsquery_start(base, &ss, QNAME, LDNS_RR_TYPE_A, TIMEOUT_MS, on_done, &f, &q), 0);
	dnsquery_cancel(q);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_int_eq(f.err, -ECANCELED);
	fake_stop(&f);
	/* no event of the query is left: the loop has nothing to wait for */
	ck_assert_int_eq(event_base_dispatch(base), 1);
	ck_assert_int_eq(f.calls, 1);
	dnsquery_cancel(NULL);
	event_base_free(base);
}
END_TEST

/* What dnsquery_start refuses outright, without a callback. */
START_TEST(test_start_refused)
{
	struct event_base *base = event_base_new();
	struct fake f = { 0 };
	struct sockaddr_storage ss;
	struct dnsquery *q = NULL;

	memset(&ss, 0, sizeof(ss));
	ck_assert_int_eq(dnsquery_start(base, &ss, QNAME, 1, TIMEOUT_MS, on_done, &f, &q),
			 -EINVAL); /* no family */
	ck_assert_int_eq(dnsquery_server_parse("127.0.0.1:53", &ss, NULL), 0);
	ck_assert_int_eq(dnsquery_start(base, &ss, "a..b.", 1, TIMEOUT_MS, on_done, &f, &q),
			 -EINVAL);
	ck_assert_int_eq(dnsquery_start(base, &ss, QNAME, 1, 1, on_done, &f, &q), -EINVAL);
	ck_assert_int_eq(f.calls, 0);
	ck_assert_ptr_null(q);
	event_base_free(base);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("dnsquery");
	TCase *tc = tcase_create("packets");
	TCase *ex = tcase_create("exchange");

	tcase_add_loop_test(tc, test_packet, 0, ARRAY_SIZE(pkt_cases));
	tcase_add_test(tc, test_packet_bad_name);
	tcase_add_loop_test(tc, test_parse, 0, ARRAY_SIZE(ans_cases));
	tcase_add_test(tc, test_parse_cname_chain);
	tcase_add_test(tc, test_parse_junk);
	tcase_add_loop_test(tc, test_server, 0, ARRAY_SIZE(srv_cases));
	suite_add_tcase(s, tc);
	tcase_set_timeout(ex, 30);
	tcase_add_loop_test(ex, test_exchange, 0, ARRAY_SIZE(ex_cases));
	tcase_add_test(ex, test_cancel);
	tcase_add_test(ex, test_start_refused);
	suite_add_tcase(s, ex);
	return s;
}
