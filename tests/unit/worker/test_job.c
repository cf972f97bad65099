#include "services/worker/job.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <string.h>

#define ID  "0123456789abcdef0123456789abcdef"
#define TOK "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"

/* Each case: the fields of an entry (NULL-terminated name/value list) and what comes of them. */
static const struct job_case {
	const char *name;
	const char *f[14];
	const char *reason; /* NULL: valid */
	enum job_type type;
} job_cases[] = {
	{ "verify",
	  { "type", "email.verify", "id", ID, "to", "a@example.org", "token", TOK },
	  NULL,
	  JOB_EMAIL_VERIFY },
	{ "password reset",
	  { "type", "email.password_reset", "id", ID, "to", "a@example.org", "token", TOK },
	  NULL,
	  JOB_EMAIL_PASSWORD_RESET },
	{ "password changed, no token",
	  { "type", "email.password_changed", "id", ID, "to", "a@example.org" },
	  NULL,
	  JOB_EMAIL_PASSWORD_CHANGED },
	{ "extra fields are ignored",
	  { "type", "email.verify", "id", ID, "to", "a@example.org", "token", TOK, "v", "2" },
	  NULL,
	  JOB_EMAIL_VERIFY },
	{ "atext address with plus and dots",
	  { "type", "email.verify", "id", ID, "to", "first.last+tag@mail.example-1.org", "token",
	    TOK },
	  NULL,
	  JOB_EMAIL_VERIFY },
	{ "no fields", { NULL }, "missing field type", 0 },
	{ "missing type",
	  { "id", ID, "to", "a@example.org", "token", TOK },
	  "missing field type",
	  0 },
	{ "unknown type",
	  { "type", "email.spam", "id", ID, "to", "a@example.org" },
	  "unknown type",
	  0 },
	{ "type with a NUL-free suffix",
	  { "type", "email.verify2", "id", ID, "to", "a@b.org" },
	  "unknown type",
	  0 },
	{ "type in upper case",
	  { "type", "EMAIL.VERIFY", "id", ID, "to", "a@b.org" },
	  "unknown type",
	  0 },
	{ "missing id",
	  { "type", "email.verify", "to", "a@example.org", "token", TOK },
	  "missing field id",
	  0 },
	{ "id too short",
	  { "type", "email.verify", "id", "0123456789abcdef", "to", "a@b.org", "token", TOK },
	  "id is not 32 lowercase hex digits",
	  0 },
	{ "id too long",
	  { "type", "email.verify", "id", ID "0", "to", "a@b.org", "token", TOK },
	  "id is not 32 lowercase hex digits",
	  0 },
	{ "id in upper case",
	  { "type", "email.verify", "id", "0123456789ABCDEF0123456789ABCDEF", "to", "a@b.org",
	    "token", TOK },
	  "id is not 32 lowercase hex digits",
	  0 },
	{ "id not hex",
	  { "type", "email.verify", "id", "0123456789abcdef0123456789abcdeg", "to", "a@b.org",
	    "token", TOK },
	  "id is not 32 lowercase hex digits",
	  0 },
	{ "missing to", { "type", "email.verify", "id", ID, "token", TOK }, "missing field to", 0 },
	{ "to with CRLF and a header",
	  { "type", "email.verify", "id", ID, "to", "a@example.org\r\nBcc: victim@example.org",
	    "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with LF",
	  { "type", "email.verify", "id", ID, "to", "a@exa\nmple.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with CR",
	  { "type", "email.verify", "id", ID, "to", "a@example.org\r", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with a display name",
	  { "type", "email.verify", "id", ID, "to", "Eve <a@example.org>", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with two recipients",
	  { "type", "email.verify", "id", ID, "to", "a@example.org,b@example.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with a space",
	  { "type", "email.verify", "id", ID, "to", "a b@x.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to without @",
	  { "type", "email.verify", "id", ID, "to", "example.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with two @",
	  { "type", "email.verify", "id", ID, "to", "a@b@x.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to quoted local part",
	  { "type", "email.verify", "id", ID, "to", "\"a\"@x.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to non-ASCII",
	  { "type", "email.verify", "id", ID, "to", "j\xc3\xb6@x.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with double dot",
	  { "type", "email.verify", "id", ID, "to", "a..b@x.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with a leading dot domain",
	  { "type", "email.verify", "id", ID, "to", "a@.x.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to with a label starting with -",
	  { "type", "email.verify", "id", ID, "to", "a@-x.org", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to address literal",
	  { "type", "email.verify", "id", ID, "to", "a@[127.0.0.1]", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "to local part of 65",
	  { "type", "email.verify", "id", ID, "to",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org", "token",
	    TOK },
	  "to is not a valid address",
	  0 },
	{ "to empty",
	  { "type", "email.verify", "id", ID, "to", "", "token", TOK },
	  "to is not a valid address",
	  0 },
	{ "missing token",
	  { "type", "email.verify", "id", ID, "to", "a@example.org" },
	  "missing field token",
	  0 },
	{ "reset without token",
	  { "type", "email.password_reset", "id", ID, "to", "a@b.org" },
	  "missing field token",
	  0 },
	{ "token too short",
	  { "type", "email.verify", "id", ID, "to", "a@b.org", "token", "abc" },
	  "token is not 43 base64url characters",
	  0 },
	{ "token too long",
	  { "type", "email.verify", "id", ID, "to", "a@b.org", "token", TOK "A" },
	  "token is not 43 base64url characters",
	  0 },
	{ "token with + (base64, not base64url)",
	  { "type", "email.verify", "id", ID, "to", "a@b.org", "token",
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ+/01234" },
	  "token is not 43 base64url characters",
	  0 },
	{ "token with padding",
	  { "type", "email.verify", "id", ID, "to", "a@b.org", "token",
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_0123=" },
	  "token is not 43 base64url characters",
	  0 },
	{ "token with CRLF",
	  { "type", "email.verify", "id", ID, "to", "a@b.org", "token",
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_012\r\n" },
	  "token is not 43 base64url characters",
	  0 },
	{ "token on password_changed",
	  { "type", "email.password_changed", "id", ID, "to", "a@b.org", "token", TOK },
	  "a token on a job type that takes none",
	  0 },
	{ "type twice",
	  { "type", "email.verify", "type", "email.password_reset", "id", ID, "to", "a@b.org",
	    "token", TOK },
	  "a field appears twice",
	  0 },
	{ "to twice",
	  { "type", "email.verify", "id", ID, "to", "a@b.org", "to", "c@d.org", "token", TOK },
	  "a field appears twice",
	  0 },
};

START_TEST(test_parse)
{
	const struct job_case *c = &job_cases[_i];
	struct job_field fields[8];
	struct job job, before;
	const char *reason = NULL;
	size_t n = 0;
	int r;

	for (size_t i = 0; i + 1 < 14 && c->f[i]; i += 2) {
		fields[n] = (struct job_field){ c->f[i], strlen(c->f[i]), c->f[i + 1],
						strlen(c->f[i + 1]) };
		n++;
	}
	memset(&job, 0x5a, sizeof(job));
	before = job;
	r = job_parse(fields, n, &job, &reason);
	if (!c->reason) {
		ck_assert_msg(r == 0, "%s: refused: %s", c->name, reason);
		ck_assert_int_eq(job.type, c->type);
		ck_assert_str_eq(job.id, ID);
		ck_assert_str_eq(job.to, fields[2].value);
		ck_assert_str_eq(job.token, job_type_has_token(c->type) ? TOK : "");
	} else {
		ck_assert_msg(r == -EINVAL, "%s: accepted", c->name);
		ck_assert_str_eq(reason, c->reason);
		ck_assert_msg(memcmp(&job, &before, sizeof(job)) == 0, "%s: job touched", c->name);
	}
}
END_TEST

/* Binary values: a NUL inside a field is not cut short into something valid. */
START_TEST(test_binary_values)
{
	struct job_field f[4] = {
		{ "type", 4, "email.verify\0x", 14 },
		{ "id", 2, ID, 32 },
		{ "to", 2, "a@b.org", 7 },
		{ "token", 5, TOK, 43 },
	};
	struct job job;
	const char *reason = NULL;

	ck_assert_int_eq(job_parse(f, 4, &job, &reason), -EINVAL);
	ck_assert_str_eq(reason, "unknown type");
	f[0].value_len = 12;
	f[2] = (struct job_field){ "to", 2, "a@b.org\0Bcc: x@y.org", 20 };
	ck_assert_int_eq(job_parse(f, 4, &job, &reason), -EINVAL);
	ck_assert_str_eq(reason, "to is not a valid address");
	f[2].value_len = 7;
	ck_assert_int_eq(job_parse(f, 4, &job, &reason), 0);
}
END_TEST

/* Too many fields, and the longest address that passes. */
START_TEST(test_bounds)
{
	struct job_field f[JOB_FIELDS_MAX + 1];
	char addr[300];
	struct job job;
	const char *reason = NULL;

	for (size_t i = 0; i < JOB_FIELDS_MAX + 1; i++)
		f[i] = (struct job_field){ "x", 1, "y", 1 };
	f[0] = (struct job_field){ "type", 4, "email.password_changed", 22 };
	f[1] = (struct job_field){ "id", 2, ID, 32 };
	f[2] = (struct job_field){ "to", 2, "a@b.org", 7 };
	ck_assert_int_eq(job_parse(f, JOB_FIELDS_MAX + 1, &job, &reason), -EINVAL);
	ck_assert_str_eq(reason, "too many fields");
	ck_assert_int_eq(job_parse(f, JOB_FIELDS_MAX, &job, &reason), 0);

	/* 64 + 1 + 189 = 254 bytes: the largest; one more is refused */
	memset(addr, 'a', 64);
	addr[64] = '@';
	for (int i = 65; i < 254; i++)
		addr[i] = (i - 65) % 50 == 49 ? '.' : 'b';
	addr[254] = '\0';
	ck_assert(job_address_valid(addr, 254));
	f[2] = (struct job_field){ "to", 2, addr, 254 };
	ck_assert_int_eq(job_parse(f, 3, &job, &reason), 0);
	ck_assert_str_eq(job.to, addr);
	addr[254] = 'b';
	addr[255] = '\0';
	ck_assert(!job_address_valid(addr, 255));
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("worker_job");
	TCase *tc = tcase_create("job");

	tcase_add_loop_test(tc, test_parse, 0, sizeof(job_cases) / sizeof(job_cases[0]));
	tcase_add_test(tc, test_binary_values);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);
	return s;
}
