#pragma once

/*
 * Configuration: one table per program. Each key has a type, a default, a
 * help line and says whether it can be reloaded. Values are taken, later
 * ones winning, from:
 *
 *   defaults < file (--config FILE, key=value lines) < environment < flags
 *
 * A key "database_url" is the flag --database-url, the file key
 * database_url, and the environment variable DDNS_<PREFIX>_DATABASE_URL, or
 * the name given in the table (keys shared by every daemon, such as
 * DDNS_DATABASE_URL, name it explicitly).
 *
 * The values land in the program's own struct at the given offsets:
 *   CONFIG_STR       char *      (owned by the struct, freed by config_free)
 *   CONFIG_INT       long long
 *   CONFIG_BOOL      bool        (true/false, yes/no, on/off, 1/0)
 *   CONFIG_DURATION  long long   milliseconds; text "250ms", "2s", "5m", "1h", "0"
 *
 * Example:
 *
 *   struct api_config { char *listen; long long workers; };
 *   static const struct config_key api_keys[] = {
 *       { .key = "listen", .type = CONFIG_STR, .def = "127.0.0.1:8080",
 *         .offset = offsetof(struct api_config, listen),
 *         .help = "address and port to listen on" },
 *       ...
 *   };
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum config_type {
	CONFIG_STR,
	CONFIG_INT,
	CONFIG_BOOL,
	CONFIG_DURATION,
};

struct config_key {
	const char *key; /* lower case, [a-z0-9_] */
	const char *env; /* NULL: env_prefix + "_" + KEY */
	enum config_type type;
	size_t offset;   /* of the field in the program's config struct */
	const char *def; /* default in text form; NULL: unset (strings: NULL) */
	/* CONFIG_INT and CONFIG_DURATION: inclusive bounds, unchecked when both are 0 */
	long long min, max;
	/* optional extra validation of the text; returns 0 or -EINVAL and a reason */
	int (*check)(const char *value, const char **ret_reason);
	bool secret;     /* never printed, neither its value nor its default */
	bool reloadable; /* takes effect on config_reload (SIGHUP) */
	const char *help;
};

struct config_def {
	const char *prog;       /* "ddns-api" */
	const char *env_prefix; /* "DDNS_API" */
	const char *summary;    /* one line for --help */
	const char *args_usage; /* positional arguments for --help, e.g. "up|status"; NULL: none */
	const struct config_key *keys;
	size_t n_keys;
	size_t size; /* sizeof the program's config struct (config_reload builds a new one) */
};

/* Program exit status for a configuration error (sysexits' EX_CONFIG is not used). */
#define CONFIG_EXIT_INVALID 1

/*
 * Fills @cfg from defaults, file, environment and @argv in that order.
 * Returns 0 when the program should run (*ret_argi is the index of the first
 * positional argument in @argv, or argc; a program without args_usage takes
 * none: one is an error, like a bad value); 1 when --help or --version was
 * printed (exit 0); -EINVAL after writing one line to stderr naming the key
 * and what is wrong (exit CONFIG_EXIT_INVALID). On failure @cfg holds
 * nothing that needs freeing.
 */
int config_load(const struct config_def *def, void *cfg, int argc, char **argv, int *ret_argi);

/*
 * Reloads file and environment (flags given at start still win) and copies
 * the reloadable keys into @cfg; others that changed are reported as needing
 * a restart. Returns 0 or -EINVAL (the running config is then left as it was).
 */
int config_reload(const struct config_def *def, void *cfg, int argc, char **argv);

/* Frees the strings held by @cfg and zeroes them; NULL-safe. */
void config_free(const struct config_def *def, void *cfg);

/* The environment variable name of @key, into @buf. */
const char *config_env_name(const struct config_def *def, const struct config_key *key, char *buf,
			    size_t size);

/* --help text: usage and every key with its flag, env var, default and help. */
void config_print_help(const struct config_def *def, FILE *out);

/* The keys as a Markdown table, for the README's configuration reference. */
void config_print_markdown(const struct config_def *def, FILE *out);

/* Parses a duration ("250ms", "2s", "5m", "1h", "0") into milliseconds. */
int config_parse_duration(const char *s, long long *ret_ms);
