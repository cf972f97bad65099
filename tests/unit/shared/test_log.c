#include "shared/log.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS "2026-11-27T07:30:00.123Z"

struct line_case {
	enum log_format format;
	const char *rid;
	const char *msg;
	const char *want;
};

static const struct line_case line_cases[] = {
	{ LOG_FORMAT_JSON, NULL, "started",
	  "{\"ts\":\"" TS "\",\"level\":\"info\",\"service\":\"api\",\"msg\":\"started\"}\n" },
	{ LOG_FORMAT_JSON, "r1", "could not open zone \"x.\"",
	  "{\"ts\":\"" TS "\",\"level\":\"info\",\"service\":\"api\",\"rid\":\"r1\","
	  "\"msg\":\"could not open zone \\\"x.\\\"\"}\n" },
	{ LOG_FORMAT_JSON, NULL, "back\\slash\nnew\ttab\x01",
	  "{\"ts\":\"" TS "\",\"level\":\"info\",\"service\":\"api\","
	  "\"msg\":\"back\\\\slash\\nnew\\ttab\\u0001\"}\n" },
	/* valid UTF-8 passes, invalid bytes become U+FFFD */
	{ LOG_FORMAT_JSON, NULL, "caf\xc3\xa9 \xff\xc0\xaf",
	  "{\"ts\":\"" TS "\",\"level\":\"info\",\"service\":\"api\","
	  "\"msg\":\"caf\xc3\xa9 \\ufffd\\ufffd\\ufffd\"}\n" },
	/* a surrogate encoded in UTF-8 is not valid */
	{ LOG_FORMAT_JSON, NULL, "\xed\xa0\x80",
	  "{\"ts\":\"" TS "\",\"level\":\"info\",\"service\":\"api\","
	  "\"msg\":\"\\ufffd\\ufffd\\ufffd\"}\n" },
	/* an injected closing brace and newline stay inside the string */
	{ LOG_FORMAT_JSON, "\"}\n{", "x",
	  "{\"ts\":\"" TS "\",\"level\":\"info\",\"service\":\"api\",\"rid\":\"\\\"}\\n{\","
	  "\"msg\":\"x\"}\n" },
	{ LOG_FORMAT_LOGFMT, NULL, "started", "ts=" TS " level=info service=api msg=started\n" },
	{ LOG_FORMAT_LOGFMT, "r1", "two words",
	  "ts=" TS " level=info service=api rid=r1 msg=\"two words\"\n" },
	{ LOG_FORMAT_LOGFMT, NULL, "a=b \"q\" back\\ nl\n",
	  "ts=" TS " level=info service=api msg=\"a=b \\\"q\\\" back\\\\ nl\\n\"\n" },
	{ LOG_FORMAT_LOGFMT, NULL, "", "ts=" TS " level=info service=api msg=\"\"\n" },
	{ LOG_FORMAT_LOGFMT, NULL, "ctl\x01",
	  "ts=" TS " level=info service=api msg=\"ctl\\x01\"\n" },
	/* a forged field cannot be injected into a logfmt line */
	{ LOG_FORMAT_LOGFMT, NULL, "x level=error",
	  "ts=" TS " level=info service=api msg=\"x level=error\"\n" },
};

START_TEST(test_line)
{
	const struct line_case *c = &line_cases[_i];
	char buf[512];
	size_t len = log_format_line(buf, sizeof(buf), c->format, TS, "api", LOG_LEVEL_INFO, c->rid,
				     NULL, 0, c->msg);

	ck_assert_str_eq(buf, c->want);
	ck_assert_uint_eq(len, strlen(c->want));
}
END_TEST

START_TEST(test_fields)
{
	struct log_field f[] = { LOG_STR("method", "GET"), LOG_NUM("status", 404),
				 LOG_STR("path", "/a b"), LOG_NUM("duration_us", -1) };
	char buf[512];

	log_format_line(buf, sizeof(buf), LOG_FORMAT_JSON, TS, "api", LOG_LEVEL_WARN, "r", f, 4,
			"request");
	ck_assert_str_eq(buf,
			 "{\"ts\":\"" TS "\",\"level\":\"warn\",\"service\":\"api\",\"rid\":\"r\","
			 "\"msg\":\"request\",\"method\":\"GET\",\"status\":404,"
			 "\"path\":\"/a b\",\"duration_us\":-1}\n");
	log_format_line(buf, sizeof(buf), LOG_FORMAT_LOGFMT, TS, "api", LOG_LEVEL_ERROR, NULL, f, 4,
			"request");
	ck_assert_str_eq(buf, "ts=" TS " level=error service=api msg=request method=GET status=404 "
			      "path=\"/a b\" duration_us=-1\n");
}
END_TEST

/* A line longer than the buffer is cut, marked, and still ends in one newline. */
START_TEST(test_truncation)
{
	char msg[300];
	char buf[128];
	size_t len;

	memset(msg, 'a', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (int f = LOG_FORMAT_JSON; f <= LOG_FORMAT_LOGFMT; f++) {
		len = log_format_line(buf, sizeof(buf), (enum log_format)f, TS, "api",
				      LOG_LEVEL_INFO, NULL, NULL, 0, msg);
		ck_assert_uint_eq(len, strlen(buf));
		ck_assert_uint_lt(len, sizeof(buf));
		ck_assert_str_eq(buf + len - 4, "...\n");
		ck_assert_ptr_null(memchr(buf, '\n', len - 1));
	}
}
END_TEST

struct level_case {
	const char *text;
	int want; /* -1: rejected */
};

static const struct level_case level_cases[] = {
	{ "debug", LOG_LEVEL_DEBUG },
	{ "INFO", LOG_LEVEL_INFO },
	{ "warn", LOG_LEVEL_WARN },
	{ "warning", LOG_LEVEL_WARN },
	{ "error", LOG_LEVEL_ERROR },
	{ "", -1 },
	{ "verbose", -1 },
	{ "info ", -1 },
};

START_TEST(test_level_parse)
{
	const struct level_case *c = &level_cases[_i];
	enum log_level level = LOG_LEVEL_ERROR;
	int r = log_level_parse(c->text, &level);

	if (c->want < 0) {
		ck_assert_int_eq(r, -EINVAL);
	} else {
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(level, c->want);
	}
}
END_TEST

/* Lines below the threshold are not written; the others go to the fd. */
START_TEST(test_threshold)
{
	char path[] = "/tmp/test_log.XXXXXX";
	int fd = mkstemp(path);
	char buf[1024];
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	log_setup("unit", LOG_LEVEL_WARN, LOG_FORMAT_JSON, fd);
	ck_assert(!log_enabled(LOG_LEVEL_INFO));
	ck_assert(log_enabled(LOG_LEVEL_ERROR));
	log_info(NULL, "hidden %d", 1);
	log_debug(NULL, "hidden %d", 2);
	log_warn("r9", "shown %d", 3);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_null(strstr(buf, "hidden"));
	ck_assert_ptr_nonnull(strstr(buf, "\"level\":\"warn\",\"service\":\"unit\",\"rid\":\"r9\","
					  "\"msg\":\"shown 3\"}\n"));
	ck_assert_int_eq(strchr(buf, '\n') - buf, n - 1); /* exactly one line */
	close(fd);
	log_setup("unit", LOG_LEVEL_INFO, LOG_FORMAT_JSON, 2);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_loop_test(tc, test_line, 0, sizeof(line_cases) / sizeof(line_cases[0]));
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_truncation);
	tcase_add_loop_test(tc, test_level_parse, 0, sizeof(level_cases) / sizeof(level_cases[0]));
	tcase_add_test(tc, test_threshold);
	suite_add_tcase(s, tc);
	return s;
}
