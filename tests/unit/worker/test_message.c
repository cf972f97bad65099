#include "services/worker/message.h"
#include "services/worker/template.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID  "0123456789abcdef0123456789abcdef"
#define TOK "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"
/* 2026-11-27T12:00:00.123Z, a Friday */
#define NOW_MS 1795780800123LL

static struct job make_job(enum job_type t, const char *to)
{
	struct job j = { .type = t };

	snprintf(j.id, sizeof(j.id), "%s", ID);
	snprintf(j.to, sizeof(j.to), "%s", to);
	if (job_type_has_token(t))
		snprintf(j.token, sizeof(j.token), "%s", TOK);
	return j;
}

/* Each case: a job type, the base URL, and what the message must say. */
static const struct build_case {
	const char *name;
	enum job_type type;
	const char *base_url;
	const char *link; /* NULL: none */
	const char *subject;
} build_cases[] = {
	{ "verify", JOB_EMAIL_VERIFY, "http://127.0.0.1:3000",
	  "http://127.0.0.1:3000/verify?token=" TOK, "Confirm your email address" },
	{ "verify, base with a trailing slash", JOB_EMAIL_VERIFY, "https://dyn.example.net/",
	  "https://dyn.example.net/verify?token=" TOK, "Confirm your email address" },
	{ "verify, base with a path", JOB_EMAIL_VERIFY, "https://example.net/ddns",
	  "https://example.net/ddns/verify?token=" TOK, "Confirm your email address" },
	{ "password reset", JOB_EMAIL_PASSWORD_RESET, "https://dyn.example.net",
	  "https://dyn.example.net/reset-password?token=" TOK, "Reset your password" },
	{ "password changed", JOB_EMAIL_PASSWORD_CHANGED, "https://dyn.example.net", NULL,
	  "Your password was changed" },
};

START_TEST(test_build)
{
	const struct build_case *c = &build_cases[_i];
	struct message_options o = { .public_base_url = c->base_url,
				     .mail_from = "ddns <noreply@dyn.example.net>" };
	struct job j = make_job(c->type, "alice@example.org");
	struct message *m = NULL;

	ck_assert_int_eq(message_build(&j, &o, &m), 0);
	ck_assert_str_eq(m->subject, c->subject);
	ck_assert_str_eq(m->to, "alice@example.org");
	ck_assert_str_eq(m->from, "ddns <noreply@dyn.example.net>");
	ck_assert_str_eq(m->from_addr, "noreply@dyn.example.net");
	ck_assert_str_eq(m->job_id, ID);
	ck_assert_ptr_nonnull(strstr(m->text, "alice@example.org"));
	ck_assert_ptr_nonnull(strstr(m->html, "alice@example.org"));
	ck_assert_ptr_null(strstr(m->text, "{{"));
	ck_assert_ptr_null(strstr(m->html, "{{"));
	ck_assert_ptr_null(strstr(m->text, "Subject:"));
	if (c->link) {
		ck_assert_str_eq(m->link, c->link);
		ck_assert_ptr_nonnull(strstr(m->text, c->link));
		ck_assert_ptr_nonnull(strstr(m->html, c->link));
	} else {
		ck_assert_ptr_null(m->link);
		ck_assert_ptr_null(strstr(m->text, "token"));
	}
	message_destroy(m);
}
END_TEST

/* Substitutions are HTML-escaped in the HTML body and only there. */
START_TEST(test_html_escape)
{
	struct message_options o = { .public_base_url = "http://x.test",
				     .mail_from = "noreply@x.test" };
	struct job j = make_job(JOB_EMAIL_PASSWORD_CHANGED, "o'brien&<b>@example.org");
	struct message *m = NULL;

	/* not an address job_parse lets through ('<' and '>'), but the escaping must hold */
	ck_assert_int_eq(message_build(&j, &o, &m), 0);
	ck_assert_ptr_nonnull(strstr(m->html, "o&#39;brien&amp;&lt;b&gt;@example.org"));
	ck_assert_ptr_null(strstr(m->html, "o'brien"));
	ck_assert_ptr_nonnull(strstr(m->text, "o'brien&<b>@example.org"));
	message_destroy(m);
}
END_TEST

static const struct render_case {
	const char *tpl;
	const char *link, *email;
	bool html;
	const char *want; /* NULL: -EINVAL */
} render_cases[] = {
	{ "a {{link}} b", "L", "E", false, "a L b" },
	{ "{{email}}{{email}}", "L", "x\"y", true, "x&quot;yx&quot;y" },
	{ "{{link}}", "http://h/?a=1&b=2", "E", true, "http://h/?a=1&amp;b=2" },
	{ "{{link}}", "http://h/?a=1&b=2", "E", false, "http://h/?a=1&b=2" },
	{ "no placeholder", NULL, "E", false, "no placeholder" },
	{ "{{link}}", NULL, "E", false, NULL },
	{ "{{name}}", "L", "E", false, NULL },
	{ "{{link", "L", "E", false, NULL },
	{ "", "L", "E", true, "" },
};

START_TEST(test_render)
{
	const struct render_case *c = &render_cases[_i];
	struct template_vars v = { .link = c->link, .email = c->email };
	char *out = NULL;
	int r = template_render(c->tpl, &v, c->html, &out);

	if (c->want) {
		ck_assert_int_eq(r, 0);
		ck_assert_str_eq(out, c->want);
	} else {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_ptr_null(out);
	}
	free(out);
}
END_TEST

/* Every embedded template renders, and the .txt ones start with a subject. */
START_TEST(test_templates)
{
	struct template_vars v = { .link = "http://l", .email = "e@x.org" };

	ck_assert_uint_eq(template_files_n, 6);
	for (size_t i = 0; i < template_files_n; i++) {
		const struct template_file *t = &template_files[i];
		bool html = strstr(t->name, ".html") != NULL;
		char *out = NULL;

		ck_assert_msg(template_render(t->text, &v, html, &out) == 0, "%s", t->name);
		if (!html)
			ck_assert_msg(strncmp(out, "Subject: ", 9) == 0, "%s", t->name);
		free(out);
	}
	ck_assert_ptr_nonnull(template_get("verify.html"));
	ck_assert_ptr_null(template_get("nope.txt"));
}
END_TEST

static bool matches(const char *s, const char *re)
{
	regex_t rx;
	bool ok;

	ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

START_TEST(test_eml)
{
	struct message_options o = { .public_base_url = "http://127.0.0.1:3000",
				     .mail_from = "ddns <noreply@dyn.example.net>" };
	struct job j = make_job(JOB_EMAIL_VERIFY, "alice@example.org");
	struct message *m = NULL;
	char *eml = NULL, *body;
	size_t len;

	ck_assert_int_eq(message_build(&j, &o, &m), 0);
	ck_assert_int_eq(message_render_eml(m, NOW_MS, &eml, &len), 0);
	ck_assert_uint_eq(len, strlen(eml));
	/* every line ends in CRLF */
	for (size_t i = 0; i < len; i++)
		if (eml[i] == '\n')
			ck_assert_msg(i > 0 && eml[i - 1] == '\r', "bare LF at %zu", i);
	body = strstr(eml, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	body[2] = '\0'; /* the header alone, its last CRLF kept */
	ck_assert(matches(eml, "^From: ddns <noreply@dyn\\.example\\.net>\r$"));
	ck_assert(matches(eml, "^To: alice@example\\.org\r$"));
	ck_assert(matches(eml, "^Subject: Confirm your email address\r$"));
	ck_assert(matches(eml, "^Date: Fri, 27 Nov 2026 12:00:00 \\+0000\r$"));
	ck_assert(matches(eml, "^Message-ID: <" ID "@dyn\\.example\\.net>\r$"));
	ck_assert(matches(eml, "^MIME-Version: 1\\.0\r$"));
	ck_assert(matches(eml,
			  "^Content-Type: multipart/alternative; boundary=\"=_ddns_" ID "\"\r$"));
	body[2] = '\r';
	ck_assert(matches(eml, "^--=_ddns_" ID "\r$"));
	ck_assert(matches(eml, "^Content-Type: text/plain; charset=utf-8\r$"));
	ck_assert(matches(eml, "^Content-Type: text/html; charset=utf-8\r$"));
	ck_assert(matches(eml, "^Content-Transfer-Encoding: 7bit\r$"));
	ck_assert(matches(eml, "^--=_ddns_" ID "--\r$"));
	/* the link in one piece, readable in the file */
	ck_assert(matches(eml, "^http://127\\.0\\.0\\.1:3000/verify\\?token=" TOK "\r$"));
	free(eml);
	message_destroy(m);
}
END_TEST

/* A non-ASCII subject or sender name is encoded; a body that is not 7-bit is quoted-printable. */
START_TEST(test_eml_encoded)
{
	struct message m = {
		.job_id = ID,
		.from = "=?UTF-8?B?w6k=?= <a@x.org>",
		.from_addr = "a@x.org",
		.to = "b@y.org",
		.subject = "caf\xc3\xa9",
		.text = "na\xc3\xafve =_ddns_\n",
		.html = "<p>ok</p>\n",
	};
	char *eml = NULL;
	size_t len;

	ck_assert_int_eq(message_render_eml(&m, NOW_MS, &eml, &len), 0);
	ck_assert(matches(eml, "^Subject: =\\?UTF-8\\?B\\?Y2Fmw6k=\\?=\r$"));
	ck_assert(matches(eml, "^Content-Transfer-Encoding: quoted-printable\r$"));
	ck_assert(matches(eml, "^na=C3=AFve =3D_ddns_\r$"));
	ck_assert(matches(eml, "^<p>ok</p>\r$"));
	free(eml);
}
END_TEST

static const struct qp_case {
	const char *in, *out;
} qp_cases[] = {
	{ "plain text", "plain text" },
	{ "a=b", "a=3Db" },
	{ "trailing space \nnext", "trailing space=20\r\nnext" },
	{ "tab at end\t", "tab at end=09" },
	{ "\xc3\xa9t\xc3\xa9", "=C3=A9t=C3=A9" },
	{ "cr\r\nlf", "cr\r\nlf" },
	{ "", "" },
	/* 80 x 'a': a soft break after 75 characters */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n"
	  "aaaaa" },
	/* an escape is never split by a soft break */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n=3D" },
};

START_TEST(test_qp)
{
	const struct qp_case *c = &qp_cases[_i];
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	message_qp_encode(c->in, f);
	fclose(f);
	ck_assert_str_eq(buf, c->out);
	free(buf);
}
END_TEST

static const struct from_case {
	const char *from;
	const char *addr;   /* NULL: refused */
	const char *header; /* the From header's value */
} from_cases[] = {
	{ "noreply@localhost", "noreply@localhost", "noreply@localhost" },
	{ "ddns <noreply@localhost>", "noreply@localhost", "ddns <noreply@localhost>" },
	{ "<noreply@localhost>", "noreply@localhost", "noreply@localhost" },
	{ "Dyn DNS, Inc. <n@x.org>", "n@x.org", "\"Dyn DNS, Inc.\" <n@x.org>" },
	{ "D\xc3\xa9j\xc3\xa0 <n@x.org>", "n@x.org", "=?UTF-8?B?RMOpasOg?= <n@x.org>" },
	{ "ddns <noreply@localhost>\r\nBcc: x@y.org", NULL, NULL },
	{ "ddns <noreply@localhost> x", NULL, NULL },
	{ "dd\"ns <n@x.org>", NULL, NULL },
	{ "ddns <not an address>", NULL, NULL },
	{ "ddns <a@b.org", NULL, NULL },
	{ "", NULL, NULL },
	{ "Caf\xe9 <n@x.org>", NULL, NULL }, /* Latin-1, not UTF-8: SES would refuse every mail */
};

START_TEST(test_from)
{
	const struct from_case *c = &from_cases[_i];
	char addr[JOB_ADDRESS_MAX + 1];
	const char *reason = NULL;
	int r = message_from_parse(c->from, addr, &reason);

	if (!c->addr) {
		ck_assert_msg(r == -EINVAL, "%s accepted", c->from);
		ck_assert_ptr_nonnull(reason);
		return;
	}
	ck_assert_msg(r == 0, "%s: %s", c->from, reason);
	ck_assert_str_eq(addr, c->addr);
	{
		struct message_options o = { .public_base_url = "http://x.test",
					     .mail_from = c->from };
		struct job j = make_job(JOB_EMAIL_PASSWORD_CHANGED, "b@y.org");
		struct message *m = NULL;

		ck_assert_int_eq(message_build(&j, &o, &m), 0);
		ck_assert_str_eq(m->from, c->header);
		message_destroy(m);
	}
}
END_TEST

static const struct url_case {
	const char *url;
	bool ok;
} url_cases[] = {
	{ "http://127.0.0.1:3000", true },
	{ "https://dyn.example.net/", true },
	{ "https://example.net/a/b", true },
	{ "ftp://example.net", false },
	{ "example.net", false },
	{ "http://", false },
	{ "http:///path", false },
	{ "http://a b", false },
	{ "http://x/\"onclick", false },
	{ "http://x/<script>", false },
	{ "http://x/?a=1", false },
	{ "http://x/#f", false },
	{ "http://x/\r\n", false },
};

START_TEST(test_base_url)
{
	const struct url_case *c = &url_cases[_i];
	const char *reason = NULL;

	ck_assert_msg((message_base_url_check(c->url, &reason) == 0) == c->ok, "%s", c->url);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("worker_message");
	TCase *tc = tcase_create("message");

	tcase_add_loop_test(tc, test_build, 0, sizeof(build_cases) / sizeof(build_cases[0]));
	tcase_add_test(tc, test_html_escape);
	tcase_add_loop_test(tc, test_render, 0, sizeof(render_cases) / sizeof(render_cases[0]));
	tcase_add_test(tc, test_templates);
	tcase_add_test(tc, test_eml);
	tcase_add_test(tc, test_eml_encoded);
	tcase_add_loop_test(tc, test_qp, 0, sizeof(qp_cases) / sizeof(qp_cases[0]));
	tcase_add_loop_test(tc, test_from, 0, sizeof(from_cases) / sizeof(from_cases[0]));
	tcase_add_loop_test(tc, test_base_url, 0, sizeof(url_cases) / sizeof(url_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
