#include "services/worker/smtp.h"
#include "tests/unit/check_main.h"

/* An SMTP outcome (curl's code, the server's last reply code) and its class. */
static const struct smtp_case {
	const char *name;
	CURLcode code;
	long reply;
	enum send_status want;
} smtp_cases[] = {
	{ "sent", CURLE_OK, 250, SEND_OK },
	{ "connection refused", CURLE_COULDNT_CONNECT, 0, SEND_TEMPORARY },
	{ "host not found", CURLE_COULDNT_RESOLVE_HOST, 0, SEND_TEMPORARY },
	{ "timeout", CURLE_OPERATION_TIMEDOUT, 0, SEND_TEMPORARY },
	{ "greylisted (451)", CURLE_SEND_ERROR, 451, SEND_TEMPORARY },
	{ "mailbox busy (450)", CURLE_RECV_ERROR, 450, SEND_TEMPORARY },
	{ "too many connections (421)", CURLE_WEIRD_SERVER_REPLY, 421, SEND_TEMPORARY },
	{ "insufficient storage (452)", CURLE_SEND_ERROR, 452, SEND_TEMPORARY },
	{ "no such user (550)", CURLE_SEND_ERROR, 550, SEND_PERMANENT },
	{ "relay denied (554)", CURLE_SEND_ERROR, 554, SEND_PERMANENT },
	{ "message too big (552)", CURLE_RECV_ERROR, 552, SEND_PERMANENT },
	{ "refused login (535): the operator's to fix", CURLE_LOGIN_DENIED, 535, SEND_TEMPORARY },
	{ "refused login, no code", CURLE_LOGIN_DENIED, 0, SEND_TEMPORARY },
	{ "STARTTLS not offered", CURLE_USE_SSL_FAILED, 0, SEND_TEMPORARY },
};

START_TEST(test_classify)
{
	const struct smtp_case *c = &smtp_cases[_i];

	ck_assert_msg(smtp_classify(c->code, c->reply) == c->want, "%s", c->name);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("worker_smtp");
	TCase *tc = tcase_create("smtp");

	tcase_add_loop_test(tc, test_classify, 0, sizeof(smtp_cases) / sizeof(smtp_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
