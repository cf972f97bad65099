#pragma once

/*
 * Structured logging: one JSON object per line (the default when the output
 * is not a terminal) or logfmt (key=value, for people).
 *
 *   {"ts":"2026-11-27T07:30:00.123Z","level":"info","service":"api",
 *    "rid":"4f2c...","msg":"could not open zone \"x.\": timeout"}
 *
 * Every line carries the time (UTC, RFC 3339 with milliseconds), the level,
 * the service name, an optional request or connection id ("rid") and the
 * message. Extra fields (status, duration, ...) are added with log_fields().
 *
 * Never pass secrets (passwords, tokens, keys, DSNs with passwords) to these
 * functions: the log cannot tell them apart from other text.
 *
 * The logger is process-wide and thread-safe: a line is written with one
 * write(2) call, so lines from several threads never interleave.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

enum log_format {
	LOG_FORMAT_AUTO, /* json unless stderr is a terminal */
	LOG_FORMAT_JSON,
	LOG_FORMAT_LOGFMT,
};

/* One extra field of a log line: a string or an integer. */
struct log_field {
	const char *key; /* borrowed; [a-z_]+ by convention */
	const char *str; /* borrowed; used when not NULL */
	long long num;   /* used when str is NULL */
};

#define LOG_STR(k, v) ((struct log_field){ .key = (k), .str = (v) ? (v) : "" })
#define LOG_NUM(k, v) ((struct log_field){ .key = (k), .str = NULL, .num = (long long)(v) })

/* Longest line written, bytes; a longer message is cut and marked "...". */
#define LOG_LINE_MAX 4096

/*
 * Sets the service name (borrowed: a string literal), the threshold and the
 * format, and the file descriptor lines go to (2 for stderr). May be called
 * again, e.g. after the configuration is read.
 */
void log_setup(const char *service, enum log_level level, enum log_format format, int fd);

/* Parses "debug", "info", "warn"/"warning", "error". */
int log_level_parse(const char *s, enum log_level *ret_level);
/* Parses "auto", "json", "logfmt". */
int log_format_parse(const char *s, enum log_format *ret_format);
const char *log_level_name(enum log_level level);

bool log_enabled(enum log_level level);

/* Checks for the log_level and log_format config keys (config_key.check). */
int log_level_check(const char *value, const char **ret_reason);
int log_format_check(const char *value, const char **ret_reason);

/*
 * The two config keys every daemon has, for a config struct @cfg_struct with
 * char *log_level and char *log_format (use inside its config_key table;
 * needs shared/config.h and <stddef.h>).
 */
#define LOG_CONFIG_KEYS(cfg_struct)                                              \
	{ .key = "log_level",                                                    \
	  .offset = offsetof(cfg_struct, log_level),                             \
	  .env = "DDNS_LOG_LEVEL",                                               \
	  .type = CONFIG_STR,                                                    \
	  .def = "info",                                                         \
	  .check = log_level_check,                                              \
	  .reloadable = true,                                                    \
	  .help = "debug, info, warn or error" },                                \
	{                                                                        \
		.key = "log_format", .offset = offsetof(cfg_struct, log_format), \
		.env = "DDNS_LOG_FORMAT", .type = CONFIG_STR, .def = "auto",     \
		.check = log_format_check, .reloadable = true,                   \
		.help = "auto (json unless a terminal), json or logfmt"          \
	}

/* log_setup() on stderr from the text of those keys (checked already). */
void log_setup_text(const char *service, const char *level, const char *format);

/* @rid may be NULL. */
void log_msg(enum log_level level, const char *rid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_msgv(enum log_level level, const char *rid, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void log_fields(enum log_level level, const char *rid, const struct log_field *fields,
		size_t n_fields, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Formats one line into @buf (always NUL-terminated, ends with '\n'); returns
 * its length. Exposed for the tests; @ts is the time stamp text.
 */
size_t log_format_line(char *buf, size_t size, enum log_format format, const char *ts,
		       const char *service, enum log_level level, const char *rid,
		       const struct log_field *fields, size_t n_fields, const char *msg);

/* Debug logging costs one branch when off. */
#define log_debug(rid, ...)                                           \
	do {                                                          \
		if (log_enabled(LOG_LEVEL_DEBUG))                     \
			log_msg(LOG_LEVEL_DEBUG, (rid), __VA_ARGS__); \
	} while (0)
#define log_info(rid, ...)  log_msg(LOG_LEVEL_INFO, (rid), __VA_ARGS__)
#define log_warn(rid, ...)  log_msg(LOG_LEVEL_WARN, (rid), __VA_ARGS__)
#define log_error(rid, ...) log_msg(LOG_LEVEL_ERROR, (rid), __VA_ARGS__)
