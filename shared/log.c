#include "shared/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_service = "ddns";
static _Atomic int log_threshold = LOG_LEVEL_INFO;
static enum log_format log_fmt = LOG_FORMAT_JSON;
static int log_fd = 2;

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

void log_setup(const char *service, enum log_level level, enum log_format format, int fd)
{
	if (service)
		log_service = service;
	atomic_store(&log_threshold, (int)level);
	log_fd = fd;
	if (format == LOG_FORMAT_AUTO)
		format = isatty(fd) ? LOG_FORMAT_LOGFMT : LOG_FORMAT_JSON;
	log_fmt = format;
}

int log_level_parse(const char *s, enum log_level *ret_level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*ret_level = (enum log_level)i;
			return 0;
		}
	if (strcasecmp(s, "warning") == 0) {
		*ret_level = LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

int log_format_parse(const char *s, enum log_format *ret_format)
{
	if (strcasecmp(s, "auto") == 0)
		*ret_format = LOG_FORMAT_AUTO;
	else if (strcasecmp(s, "json") == 0)
		*ret_format = LOG_FORMAT_JSON;
	else if (strcasecmp(s, "logfmt") == 0)
		*ret_format = LOG_FORMAT_LOGFMT;
	else
		return -EINVAL;
	return 0;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "unknown";
	return level_names[level];
}

bool log_enabled(enum log_level level)
{
	return (int)level >= atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/* A bounded output buffer; appends past the end are dropped and remembered. */
struct out {
	char *buf;
	size_t size; /* usable bytes, room for the "...\n" marker kept aside */
	size_t len;
	bool cut;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->cut)
		return;
	if (n > o->size - o->len) {
		n = o->size - o->len;
		o->cut = true;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/*
 * Length of the valid UTF-8 sequence starting at @s (at most @n bytes), or 0
 * when the bytes are not valid UTF-8 (overlong forms and surrogates included).
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string body: quotes, backslashes and control bytes escaped. */
static void put_json_str(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);

	put(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		char esc[8];
		size_t seq;

		switch (c) {
		case '"':
			put(o, "\\\"", 2);
			i++;
			continue;
		case '\\':
			put(o, "\\\\", 2);
			i++;
			continue;
		case '\n':
			put(o, "\\n", 2);
			i++;
			continue;
		case '\r':
			put(o, "\\r", 2);
			i++;
			continue;
		case '\t':
			put(o, "\\t", 2);
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(o, esc, 6);
			i++;
			continue;
		}
		seq = utf8_seq(s + i, n - i);
		if (seq == 0) {
			put(o, "\\ufffd", 6); /* invalid UTF-8 byte */
			i++;
			continue;
		}
		put(o, (const char *)s + i, seq);
		i += seq;
	}
	put(o, "\"", 1);
}

static bool logfmt_needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f)
			return true;
	}
	return false;
}

/* A logfmt value: bare when safe, else quoted with escapes. */
static void put_logfmt_str(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);

	if (!logfmt_needs_quotes(str)) {
		/* still replace invalid UTF-8 */
		for (size_t i = 0; i < n;) {
			size_t seq = utf8_seq(s + i, n - i);
			if (seq == 0) {
				put(o, "\\x", 2);
				char hex[3];
				snprintf(hex, sizeof(hex), "%02x", s[i]);
				put(o, hex, 2);
				i++;
			} else {
				put(o, (const char *)s + i, seq);
				i += seq;
			}
		}
		return;
	}
	put(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		char esc[8];
		size_t seq;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			put(o, e, 2);
			i++;
			continue;
		}
		if (c == '\n') {
			put(o, "\\n", 2);
			i++;
			continue;
		}
		if (c == '\t') {
			put(o, "\\t", 2);
			i++;
			continue;
		}
		seq = c < 0x20 || c == 0x7f ? 0 : utf8_seq(s + i, n - i);
		if (seq == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			put(o, esc, 4);
			i++;
			continue;
		}
		put(o, (const char *)s + i, seq);
		i += seq;
	}
	put(o, "\"", 1);
}

static void put_field(struct out *o, enum log_format format, const char *key, const char *str,
		      long long num)
{
	char numbuf[32];

	if (!str)
		snprintf(numbuf, sizeof(numbuf), "%lld", num);
	if (format == LOG_FORMAT_LOGFMT) {
		put(o, " ", 1);
		puts_(o, key);
		put(o, "=", 1);
		if (str)
			put_logfmt_str(o, str);
		else
			puts_(o, numbuf);
	} else {
		put(o, ",", 1);
		put_json_str(o, key);
		put(o, ":", 1);
		if (str)
			put_json_str(o, str);
		else
			puts_(o, numbuf);
	}
}

size_t log_format_line(char *buf, size_t size, enum log_format format, const char *ts,
		       const char *service, enum log_level level, const char *rid,
		       const struct log_field *fields, size_t n_fields, const char *msg)
{
	static const char marker[] = "...";
	struct out o = { .buf = buf, .len = 0, .cut = false };
	const char *lvl = log_level_name(level);

	if (size < sizeof(marker) + 2) {
		if (size > 0)
			buf[0] = '\0';
		return 0;
	}
	o.size = size - sizeof(marker) - 1; /* keep room for "...", '\n' and NUL */

	if (format == LOG_FORMAT_LOGFMT) {
		puts_(&o, "ts=");
		puts_(&o, ts);
		puts_(&o, " level=");
		puts_(&o, lvl);
		puts_(&o, " service=");
		put_logfmt_str(&o, service);
		if (rid && *rid) {
			puts_(&o, " rid=");
			put_logfmt_str(&o, rid);
		}
		puts_(&o, " msg=");
		put_logfmt_str(&o, msg);
	} else {
		puts_(&o, "{\"ts\":\"");
		puts_(&o, ts);
		puts_(&o, "\",\"level\":\"");
		puts_(&o, lvl);
		puts_(&o, "\",\"service\":");
		put_json_str(&o, service);
		if (rid && *rid) {
			puts_(&o, ",\"rid\":");
			put_json_str(&o, rid);
		}
		puts_(&o, ",\"msg\":");
		put_json_str(&o, msg);
	}
	for (size_t i = 0; i < n_fields; i++)
		put_field(&o, format, fields[i].key, fields[i].str, fields[i].num);
	if (format != LOG_FORMAT_LOGFMT && !o.cut)
		put(&o, "}", 1);

	if (o.cut) {
		/* o.size kept room for the marker; a cut JSON line stays one line */
		memcpy(buf + o.len, marker, sizeof(marker) - 1);
		o.len += sizeof(marker) - 1;
	}
	buf[o.len++] = '\n';
	buf[o.len] = '\0';
	return o.len;
}

static void timestamp(char buf[32])
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03dZ", (int)(now.tv_nsec / 1000000) % 1000);
}

static void emit(enum log_level level, const char *rid, const struct log_field *fields,
		 size_t n_fields, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX + 64];
	char ts[32];
	size_t len;
	int saved_errno = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	timestamp(ts);
	len = log_format_line(line, sizeof(line), log_fmt, ts, log_service, level, rid, fields,
			      n_fields, msg);
	/* one write per line; a short write to a log pipe is not worth a retry loop */
	if (write(log_fd, line, len) < 0) {
		/* nowhere left to report it */
	}
	errno = saved_errno;
}

void log_msgv(enum log_level level, const char *rid, const char *fmt, va_list ap)
{
	if (!log_enabled(level))
		return;
	emit(level, rid, NULL, 0, fmt, ap);
}

void log_msg(enum log_level level, const char *rid, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	emit(level, rid, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_fields(enum log_level level, const char *rid, const struct log_field *fields,
		size_t n_fields, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	emit(level, rid, fields, n_fields, fmt, ap);
	va_end(ap);
}

int log_level_check(const char *value, const char **ret_reason)
{
	enum log_level l;

	if (log_level_parse(value, &l) < 0) {
		*ret_reason = "expected debug, info, warn or error";
		return -EINVAL;
	}
	return 0;
}

int log_format_check(const char *value, const char **ret_reason)
{
	enum log_format f;

	if (log_format_parse(value, &f) < 0) {
		*ret_reason = "expected auto, json or logfmt";
		return -EINVAL;
	}
	return 0;
}

void log_setup_text(const char *service, const char *level, const char *format)
{
	enum log_level l = LOG_LEVEL_INFO;
	enum log_format f = LOG_FORMAT_AUTO;

	(void)log_level_parse(level, &l);
	(void)log_format_parse(format, &f);
	log_setup(service, l, f, 2);
}
