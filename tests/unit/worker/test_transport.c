#include "services/worker/transport.h"
#include "tests/unit/check_main.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID  "0123456789abcdef0123456789abcdef"
#define TOK "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"

static const struct http_case {
	long status;
	enum send_status want;
} http_cases[] = {
	{ 200, SEND_OK },        { 204, SEND_OK },        { 400, SEND_PERMANENT },
	{ 401, SEND_PERMANENT }, { 403, SEND_PERMANENT }, { 404, SEND_PERMANENT },
	{ 413, SEND_PERMANENT }, { 408, SEND_TEMPORARY }, { 425, SEND_TEMPORARY },
	{ 429, SEND_TEMPORARY }, { 500, SEND_TEMPORARY }, { 502, SEND_TEMPORARY },
	{ 503, SEND_TEMPORARY }, { 504, SEND_TEMPORARY }, { 0, SEND_TEMPORARY },
	{ 301, SEND_TEMPORARY }, { 100, SEND_TEMPORARY },
};

/* send_result_scrub: the token goes, whole or cut at the reason's end. */
static const struct scrub_case {
	const char *in, *want;
} scrub_cases[] = {
	{ "ses: HTTP 400: bad link https://x/verify?token=" TOK " here",
	  "ses: HTTP 400: bad link https://x/verify?token=*** here" },
	{ TOK " and " TOK, "*** and ***" },
	{ "ses: HTTP 400: cut token=abcdefghijkl", "ses: HTTP 400: cut token=***" },
	{ "ses: HTTP 400: cut token=abcdefgh", "ses: HTTP 400: cut token=***" },
	{ "seven bytes stay: abcdefg", "seven bytes stay: abcdefg" },
	{ "no token here", "no token here" },
	{ "abcdefghXYZ", "abcdefghXYZ" }, /* not at the end: not a cut */
};

START_TEST(test_scrub)
{
	struct send_result r = { 0 };

	snprintf(r.reason, sizeof(r.reason), "%s", scrub_cases[_i].in);
	send_result_scrub(&r, TOK);
	ck_assert_str_eq(r.reason, scrub_cases[_i].want);
	send_result_scrub(&r, ""); /* nothing to scrub */
	ck_assert_str_eq(r.reason, scrub_cases[_i].want);
}
END_TEST

START_TEST(test_http_status)
{
	const struct http_case *c = &http_cases[_i];

	ck_assert_msg(send_status_from_http(c->status) == c->want, "HTTP %ld", c->status);
}
END_TEST

START_TEST(test_kind)
{
	enum transport_kind k;
	const char *reason = NULL;

	ck_assert_int_eq(transport_kind_parse("file", &k), 0);
	ck_assert_int_eq(k, TRANSPORT_FILE);
	ck_assert_int_eq(transport_kind_parse("smtp", &k), 0);
	ck_assert_int_eq(k, TRANSPORT_SMTP);
	ck_assert_int_eq(transport_kind_parse("ses", &k), 0);
	ck_assert_int_eq(k, TRANSPORT_SES);
	ck_assert_int_eq(transport_kind_parse("SES", &k), -EINVAL);
	ck_assert_int_eq(transport_kind_parse("", &k), -EINVAL);
	ck_assert_int_eq(transport_kind_check("sendmail", &reason), -EINVAL);
	ck_assert_str_eq(reason, "must be file, smtp or ses");
}
END_TEST

/* Reasons are cut to size and made printable (a server's answer goes into them). */
START_TEST(test_result_set)
{
	struct send_result r;
	char long_text[400];

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	send_result_set(&r, SEND_PERMANENT, "ses: %s", "bad\r\nInjected: yes\x7f\xc3\xa9");
	ck_assert_int_eq(r.status, SEND_PERMANENT);
	ck_assert_str_eq(r.reason, "ses: bad  Injected: yes   ");
	send_result_set(&r, SEND_TEMPORARY, "%s", long_text);
	ck_assert_uint_eq(strlen(r.reason), SEND_REASON_MAX - 1);
	ck_assert_str_eq(send_status_name(SEND_OK), "ok");
	ck_assert_str_eq(send_status_name(SEND_TEMPORARY), "temporary");
	ck_assert_str_eq(send_status_name(SEND_PERMANENT), "permanent");
}
END_TEST

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The file transport: the folder made (0700), one .eml named <ms>-<id>.eml (0600), no leftovers. */
START_TEST(test_file)
{
	char tmpl[] = "/tmp/ddns-test-mail.XXXXXX", dir[256], path[PATH_MAX], want[PATH_MAX];
	struct message_options mo = { .public_base_url = "http://127.0.0.1:3000",
				      .mail_from = "ddns <noreply@localhost>" };
	struct job j = { .type = JOB_EMAIL_VERIFY, .id = ID, .to = "a@example.org", .token = TOK };
	struct transport_options o = { .kind = TRANSPORT_FILE };
	struct message *m = NULL;
	struct transport *t;
	struct send_result res;
	struct stat st;
	struct dirent *de;
	DIR *d;
	char *eml;
	int files = 0;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/a/b/mail", tmpl);
	o.mail_dir = dir;
	t = transport_create(&o);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(message_build(&j, &mo, &m), 0);

	ck_assert_int_eq(transport_write_file(dir, m, 1795780800123LL, path), 0);
	snprintf(want, sizeof(want), "%s/1795780800123-" ID ".eml", dir);
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	eml = read_file(path);
	ck_assert_ptr_nonnull(strstr(eml, "\r\nTo: a@example.org\r\n"));
	ck_assert_ptr_nonnull(strstr(eml, "/verify?token=" TOK "\r\n"));
	free(eml);

	ck_assert_int_eq(transport_send(t, m, &res), 0);
	ck_assert_int_eq(res.status, SEND_OK);
	d = opendir(dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || strcmp(de->d_name, "..") == 0))
			continue;
		ck_assert_msg(de->d_name[0] != '.', "leftover %s", de->d_name);
		ck_assert_ptr_nonnull(strstr(de->d_name, "-" ID ".eml"));
		files++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	ck_assert_int_eq(files, 2);

	/* a folder that cannot be written: a temporary failure, not a crash */
	ck_assert_int_eq(chmod(dir, 0500), 0);
	if (access(dir, W_OK) != 0) { /* root writes anyway */
		ck_assert_int_eq(transport_send(t, m, &res), 0);
		ck_assert_int_eq(res.status, SEND_TEMPORARY);
		ck_assert_ptr_nonnull(strstr(res.reason, "could not write"));
	}
	chmod(dir, 0700);
	message_destroy(m);
	transport_destroy(t);
	transport_destroy(NULL);
	rmdir(dir);
	snprintf(path, sizeof(path), "%s/a/b", tmpl);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/a", tmpl);
	rmdir(path);
	ck_assert_int_eq(rmdir(tmpl), 0);
}
END_TEST

/* Options the transports refuse at start. */
START_TEST(test_create_refused)
{
	struct transport_options o = { .kind = TRANSPORT_FILE, .mail_dir = "" };

	ck_assert_ptr_null(transport_create(&o));
	o = (struct transport_options){ .kind = TRANSPORT_FILE, .mail_dir = "/proc/nope/mail" };
	ck_assert_ptr_null(transport_create(&o));
	o = (struct transport_options){ .kind = TRANSPORT_SMTP, .smtp_url = "http://x" };
	ck_assert_ptr_null(transport_create(&o));
	o = (struct transport_options){ .kind = TRANSPORT_SMTP };
	ck_assert_ptr_null(transport_create(&o));
	/* credentials in the URL would be logged */
	o = (struct transport_options){ .kind = TRANSPORT_SMTP,
					.smtp_url = "smtps://mailer:secret@smtp.example.org" };
	ck_assert_ptr_null(transport_create(&o));
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	o = (struct transport_options){ .kind = TRANSPORT_SES };
	ck_assert_ptr_null(transport_create(&o));
	o = (struct transport_options){ .kind = TRANSPORT_SMTP, .smtp_url = "smtp://127.0.0.1:1" };
	{
		struct transport *t = transport_create(&o);

		ck_assert_ptr_nonnull(t);
		transport_destroy(t);
	}
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("worker_transport");
	TCase *tc = tcase_create("transport");

	tcase_add_loop_test(tc, test_scrub, 0, (int)(sizeof(scrub_cases) / sizeof(scrub_cases[0])));

	tcase_add_loop_test(tc, test_http_status, 0, sizeof(http_cases) / sizeof(http_cases[0]));
	tcase_add_test(tc, test_kind);
	tcase_add_test(tc, test_result_set);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_create_refused);
	suite_add_tcase(s, tc);
	return s;
}
