#include "shared/config.h"
#include "tests/unit/check_main.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tcfg {
	char *listen;
	long long workers;
	bool debug;
	long long timeout_ms;
	char *password;
	char *database_url;
};

static int check_password(const char *value, const char **ret_reason)
{
	if (strlen(value) < 4) {
		*ret_reason = "must be at least 4 characters";
		return -EINVAL;
	}
	return 0;
}

static const struct config_key keys[] = {
	{ .key = "listen",
	  .type = CONFIG_STR,
	  .offset = offsetof(struct tcfg, listen),
	  .def = "127.0.0.1:8080",
	  .reloadable = false,
	  .help = "address to listen on" },
	{ .key = "workers",
	  .type = CONFIG_INT,
	  .offset = offsetof(struct tcfg, workers),
	  .def = "4",
	  .min = 1,
	  .max = 64,
	  .reloadable = true,
	  .help = "worker count" },
	{ .key = "debug",
	  .type = CONFIG_BOOL,
	  .offset = offsetof(struct tcfg, debug),
	  .def = "false",
	  .reloadable = true,
	  .help = "debug mode" },
	{ .key = "timeout",
	  .type = CONFIG_DURATION,
	  .offset = offsetof(struct tcfg, timeout_ms),
	  .def = "2s",
	  .min = 1,
	  .max = 60000,
	  .help = "request timeout" },
	{ .key = "password",
	  .type = CONFIG_STR,
	  .offset = offsetof(struct tcfg, password),
	  .def = "hunter2-default",
	  .secret = true,
	  .check = check_password,
	  .help = "a secret" },
	{ .key = "database_url",
	  .env = "DDNS_DATABASE_URL",
	  .type = CONFIG_STR,
	  .offset = offsetof(struct tcfg, database_url),
	  .help = "PostgreSQL URL" },
};

static const struct config_def def = {
	.prog = "ddns-test",
	.env_prefix = "DDNS_TEST",
	.summary = "a test program",
	.args_usage = "up|status",
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.size = sizeof(struct tcfg),
};

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char err_path[256];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(err_path, sizeof(err_path), "%s/stderr", tmpdir);
	ck_assert_ptr_nonnull(freopen(err_path, "w+", stderr));
	unsetenv("DDNS_TEST_LISTEN");
	unsetenv("DDNS_TEST_WORKERS");
	unsetenv("DDNS_TEST_CONFIG");
	unsetenv("DDNS_DATABASE_URL");
}

static void teardown(void)
{
	char path[300];

	for (const char *const *f = (const char *const[]){ "stderr", "stdout", "test.conf", NULL };
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, *f);
		unlink(path);
	}
	rmdir(tmpdir);
}

/* Writes @text to a config file and returns its path (static buffer). */
static const char *write_file(const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/test.conf", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static const char *read_stderr(void)
{
	static char buf[2048];
	size_t n;

	fflush(stderr);
	FILE *f = fopen(err_path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* defaults < file < environment < flags */
struct prec_case {
	const char *file, *env, *flag, *want;
};

static const struct prec_case prec_cases[] = {
	{ NULL, NULL, NULL, "127.0.0.1:8080" },
	{ "listen = 10.0.0.1:1", NULL, NULL, "10.0.0.1:1" },
	{ "listen = 10.0.0.1:1", "10.0.0.2:2", NULL, "10.0.0.2:2" },
	{ "listen = 10.0.0.1:1", "10.0.0.2:2", "10.0.0.3:3", "10.0.0.3:3" },
	{ NULL, "10.0.0.2:2", "10.0.0.3:3", "10.0.0.3:3" },
	{ "listen = 10.0.0.1:1", NULL, "10.0.0.3:3", "10.0.0.3:3" },
	{ "listen=\"quoted value\"", NULL, NULL, "quoted value" },
	{ "# comment\n\n  listen =  spaced  \n", NULL, NULL, "spaced" },
};

START_TEST(test_precedence)
{
	const struct prec_case *c = &prec_cases[_i];
	struct tcfg cfg = { 0 };
	char flag[64], cfgflag[300];
	char *argv[4] = { "ddns-test" };
	int argc = 1, argi = -1;

	if (c->file) {
		snprintf(cfgflag, sizeof(cfgflag), "--config=%s", write_file(c->file));
		argv[argc++] = cfgflag;
	}
	if (c->env)
		setenv("DDNS_TEST_LISTEN", c->env, 1);
	if (c->flag) {
		snprintf(flag, sizeof(flag), "--listen=%s", c->flag);
		argv[argc++] = flag;
	}
	ck_assert_int_eq(config_load(&def, &cfg, argc, argv, &argi), 0);
	ck_assert_str_eq(cfg.listen, c->want);
	ck_assert_int_eq(argi, argc);
	ck_assert_int_eq(cfg.workers, 4);
	ck_assert_int_eq(cfg.timeout_ms, 2000);
	ck_assert(!cfg.debug);
	ck_assert_ptr_null(cfg.database_url);
	config_free(&def, &cfg);
	ck_assert_ptr_null(cfg.listen);
}
END_TEST

/* Typed values from every form of flag, and positional arguments. */
START_TEST(test_flags)
{
	struct tcfg cfg = { 0 };
	char *argv[] = {
		"ddns-test", "--workers",       "7",
		"--debug",   "--timeout=250ms", "--database-url=postgresql://x@127.0.0.1/db",
		"up",        "--not-a-flag"
	};
	int argi = -1;

	ck_assert_int_eq(config_load(&def, &cfg, 8, argv, &argi), 0);
	ck_assert_int_eq(cfg.workers, 7);
	ck_assert(cfg.debug);
	ck_assert_int_eq(cfg.timeout_ms, 250);
	ck_assert_str_eq(cfg.database_url, "postgresql://x@127.0.0.1/db");
	ck_assert_int_eq(argi, 6);
	ck_assert_str_eq(argv[argi], "up");
	config_free(&def, &cfg);

	char *argv2[] = { "ddns-test", "--debug=yes", "--no-debug", "--", "--workers=9" };
	ck_assert_int_eq(config_load(&def, &cfg, 5, argv2, &argi), 0);
	ck_assert(!cfg.debug);
	ck_assert_int_eq(cfg.workers, 4);
	ck_assert_int_eq(argi, 4);
	config_free(&def, &cfg);

	setenv("DDNS_DATABASE_URL", "postgresql://env/db", 1);
	char *argv3[] = { "ddns-test" };
	ck_assert_int_eq(config_load(&def, &cfg, 1, argv3, &argi), 0);
	ck_assert_str_eq(cfg.database_url, "postgresql://env/db");
	config_free(&def, &cfg);
}
END_TEST

/* A bad value: -EINVAL, one line on stderr naming the key and the source. */
struct bad_case {
	const char *arg;  /* a flag, or NULL */
	const char *env;  /* DDNS_TEST_WORKERS value, or NULL */
	const char *file; /* config file text, or NULL */
	const char *want; /* the error line */
};

static const struct bad_case bad_cases[] = {
	{ "--workers=abc", NULL, NULL,
	  "ddns-test: invalid value \"abc\" for workers (flag --workers): expected an integer\n" },
	{ "--workers=0", NULL, NULL,
	  "ddns-test: invalid value \"0\" for workers (flag --workers): expected an integer from 1 "
	  "to 64\n" },
	{ "--workers=12x", NULL, NULL,
	  "ddns-test: invalid value \"12x\" for workers (flag --workers): expected an integer\n" },
	{ NULL, "99", NULL,
	  "ddns-test: invalid value \"99\" for workers (environment DDNS_TEST_WORKERS): expected "
	  "an "
	  "integer from 1 to 64\n" },
	{ NULL, NULL, "workers = -3\n",
	  "ddns-test: invalid value \"-3\" for workers (file @FILE@:1): expected an integer from 1 "
	  "to 64\n" },
	{ "--debug=maybe", NULL, NULL,
	  "ddns-test: invalid value \"maybe\" for debug (flag --debug): expected true or false\n" },
	{ "--timeout=5", NULL, NULL,
	  "ddns-test: invalid value \"5\" for timeout (flag --timeout): expected a duration such "
	  "as "
	  "250ms, 2s, 5m or 1h\n" },
	{ "--timeout=2m", NULL, NULL,
	  "ddns-test: invalid value \"2m\" for timeout (flag --timeout): expected a duration from "
	  "1ms to 60000ms\n" },
	/* a secret is never echoed */
	{ "--password=abc", NULL, NULL,
	  "ddns-test: invalid value for password (flag --password): must be at least 4 "
	  "characters\n" },
	{ "--unknown=1", NULL, NULL, "ddns-test: unknown option --unknown (see --help)\n" },
	{ "-x", NULL, NULL, "ddns-test: unknown option -x (see --help)\n" },
	{ "--listen", NULL, NULL, "ddns-test: option --listen needs a value\n" },
	{ NULL, NULL, "nokey = 1\n",
	  "ddns-test: config file \"@FILE@\" line 1: unknown key \"nokey\"\n" },
	{ NULL, NULL, "# ok\ngarbage\n",
	  "ddns-test: config file \"@FILE@\" line 2: expected key = value\n" },
	{ "--config=/nonexistent/x.conf", NULL, NULL,
	  "ddns-test: could not open config file \"/nonexistent/x.conf\": No such file or "
	  "directory\n" },
};

START_TEST(test_bad_value)
{
	const struct bad_case *c = &bad_cases[_i];
	struct tcfg cfg = { 0 };
	char cfgflag[300], want[1024];
	char *argv[4] = { "ddns-test" };
	const char *path = NULL, *at;
	int argc = 1, argi = -1;

	if (c->file) {
		path = write_file(c->file);
		snprintf(cfgflag, sizeof(cfgflag), "--config=%s", path);
		argv[argc++] = cfgflag;
	}
	if (c->env)
		setenv("DDNS_TEST_WORKERS", c->env, 1);
	if (c->arg)
		argv[argc++] = (char *)c->arg;
	ck_assert_int_eq(config_load(&def, &cfg, argc, argv, &argi), -EINVAL);
	ck_assert_int_eq(argi, -1);
	ck_assert_ptr_null(cfg.listen); /* nothing left to free */
	at = strstr(c->want, "@FILE@");
	if (at)
		snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - c->want), c->want, path,
			 at + 6);
	else
		snprintf(want, sizeof(want), "%s", c->want);
	ck_assert_str_eq(read_stderr(), want);
}
END_TEST

struct duration_case {
	const char *text;
	long long want; /* -1: rejected */
};

static const struct duration_case duration_cases[] = {
	{ "0", 0 },       { "250ms", 250 },  { "2s", 2000 },
	{ "5m", 300000 }, { "1h", 3600000 }, { "0s", 0 },
	{ "", -1 },       { "s", -1 },       { "-1s", -1 },
	{ "1.5s", -1 },   { "1 s", -1 },     { "10", -1 },
	{ "1d", -1 },     { "2S", -1 },      { "99999999999999999h", -1 },
};

START_TEST(test_duration)
{
	const struct duration_case *c = &duration_cases[_i];
	long long ms = -42;
	int r = config_parse_duration(c->text, &ms);

	if (c->want < 0) {
		ck_assert_int_lt(r, 0);
		ck_assert_int_eq(ms, -42);
	} else {
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(ms, c->want);
	}
}
END_TEST

START_TEST(test_help)
{
	struct tcfg cfg = { 0 };
	char *argv[] = { "ddns-test", "--help" };
	char out_path[300], buf[4096];
	int argi = -1;
	size_t n;

	snprintf(out_path, sizeof(out_path), "%s/stdout", tmpdir);
	ck_assert_ptr_nonnull(freopen(out_path, "w+", stdout));
	ck_assert_int_eq(config_load(&def, &cfg, 2, argv, &argi), 1);
	fflush(stdout);
	FILE *f = fopen(out_path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "Usage: ddns-test [OPTIONS] up|status\n"));
	ck_assert_ptr_nonnull(strstr(buf, "  --workers=VALUE\n      worker count\n"
					  "      env DDNS_TEST_WORKERS, default 4, reloadable"));
	ck_assert_ptr_nonnull(strstr(buf, "env DDNS_DATABASE_URL, default (none)"));
	ck_assert_ptr_nonnull(strstr(buf, "env DDNS_TEST_PASSWORD, default (secret)"));
	ck_assert_ptr_null(strstr(buf, "hunter2"));
	ck_assert_ptr_null(cfg.listen);
}
END_TEST

START_TEST(test_markdown)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	config_print_markdown(&def, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf,
				     "| `workers` | `--workers` | `DDNS_TEST_WORKERS` | integer "
				     "| `4` | yes | worker count |\n"));
	ck_assert_ptr_nonnull(strstr(buf, "| `database_url` | `--database-url` | "
					  "`DDNS_DATABASE_URL` | string | `(none)` | no |"));
	ck_assert_ptr_null(strstr(buf, "hunter2"));
	free(buf);
}
END_TEST

/* Reload takes reloadable keys from the file, keeps the others and the flags. */
START_TEST(test_reload)
{
	struct tcfg cfg = { 0 };
	char cfgflag[300];
	char *argv[3] = { "ddns-test", cfgflag, "--debug=true" };
	int argi;

	snprintf(cfgflag, sizeof(cfgflag), "--config=%s",
		 write_file("workers = 2\nlisten = 10.0.0.1:1\n"));
	ck_assert_int_eq(config_load(&def, &cfg, 3, argv, &argi), 0);
	ck_assert_int_eq(cfg.workers, 2);
	write_file("workers = 5\nlisten = 10.0.0.9:9\ndebug = false\n");
	ck_assert_int_eq(config_reload(&def, &cfg, 3, argv), 0);
	ck_assert_int_eq(cfg.workers, 5);           /* reloadable */
	ck_assert_str_eq(cfg.listen, "10.0.0.1:1"); /* needs a restart */
	ck_assert(cfg.debug);                       /* the flag still wins */
	write_file("workers = 500\n");
	ck_assert_int_eq(config_reload(&def, &cfg, 3, argv), -EINVAL);
	ck_assert_int_eq(cfg.workers, 5); /* a bad reload leaves the config as it was */
	config_free(&def, &cfg);
}
END_TEST

/* A program without args_usage takes no positional argument: one is an error. */
START_TEST(test_no_positional)
{
	struct config_def d = def;
	struct tcfg cfg = { 0 };
	char *argv[] = { "ddns-test", "--workers=3", "stray", NULL };
	int argi = -1;

	d.args_usage = NULL;
	ck_assert_int_eq(config_load(&d, &cfg, 3, argv, &argi), -EINVAL);
	ck_assert_int_eq(argi, -1);
	ck_assert_ptr_null(cfg.listen);
	ck_assert_str_eq(read_stderr(), "ddns-test: unexpected argument \"stray\" (see --help)\n");
	/* without it, the flags alone are fine */
	ck_assert_int_eq(config_load(&d, &cfg, 2, argv, &argi), 0);
	ck_assert_int_eq(argi, 2);
	config_free(&d, &cfg);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_precedence, 0, sizeof(prec_cases) / sizeof(prec_cases[0]));
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_no_positional);
	tcase_add_loop_test(tc, test_bad_value, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_loop_test(tc, test_duration, 0,
			    sizeof(duration_cases) / sizeof(duration_cases[0]));
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_markdown);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);
	return s;
}
