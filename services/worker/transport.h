#pragma once

/*
 * How a message leaves: the transports file, smtp and ses behind one call.
 *
 *  - file: writes the RFC 5322 form to <mail_dir>/<unix ms>-<job id>.eml
 *    (a temporary file, fsync, rename: a reader never sees half a message)
 *    and logs the link at info level. For local development: it is the one
 *    place where a token reaches a log.
 *  - smtp: libcurl SMTP (smtp.h).
 *  - ses: Amazon SES v2 SendEmail over HTTPS, SigV4-signed by libcurl (ses.h).
 *
 * Sending is synchronous and bounded by the send timeout: the worker calls
 * it on its own thread (worker.h), so the event loop that answers /healthz
 * and /metrics never waits for a mail server.
 *
 * Threads: a transport belongs to one thread at a time.
 */

#include "services/worker/message.h"

#include <stdbool.h>

enum send_status {
	SEND_OK,
	SEND_TEMPORARY, /* try again later: network, timeouts, throttling, 5xx, SMTP 4xx */
	SEND_PERMANENT, /* never going to work: refused message or address, other 4xx, SMTP 5xx */
};

#define SEND_REASON_MAX 200

struct send_result {
	enum send_status status;
	/* short, printable ASCII, for logs and dead letters; never a token or a password */
	char reason[SEND_REASON_MAX];
};

/* "ok", "temporary", "permanent". */
const char *send_status_name(enum send_status s);

/*
 * HTTP status of an answer to a send: 2xx ok; 408, 425, 429 and 5xx
 * temporary; other 4xx permanent; anything else (1xx, 3xx, 0) temporary.
 */
enum send_status send_status_from_http(long status);

/* Sets @r to @status with a printf-formatted reason (cut at SEND_REASON_MAX, made printable). */
void send_result_set(struct send_result *r, enum send_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Replaces every occurrence of @secret in @r's reason by "***", and 8 or
 * more of its first bytes that end the reason (where a cut left them).
 */
void send_result_scrub(struct send_result *r, const char *secret);

enum transport_kind {
	TRANSPORT_FILE,
	TRANSPORT_SMTP,
	TRANSPORT_SES,
};

/* "file", "smtp", "ses" -> kind; -EINVAL otherwise. */
int transport_kind_parse(const char *s, enum transport_kind *ret_kind);
/* config_key.check of mail_transport. */
int transport_kind_check(const char *s, const char **ret_reason);

struct transport_options {
	enum transport_kind kind;
	long long timeout_ms; /* one send, connect included */
	const char *mail_dir; /* file */
	/* smtp: smtp://host[:port] (STARTTLS when starttls) or smtps://host[:port] */
	const char *smtp_url;
	const char *smtp_username; /* NULL: no AUTH */
	const char *smtp_password;
	bool smtp_starttls; /* require STARTTLS on smtp:// */
			    /*
			     * ses: the settings come from the environment (AWS_REGION or
			     * AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_SES or AWS_ENDPOINT_URL,
			     * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN): see ses.h.
			     */
};

struct transport;

/*
 * Checks the options (the file transport creates mail_dir, mode 0700; ses
 * reads its environment) and returns a transport, or NULL after logging
 * what is wrong (one line) or when out of memory. @o is copied.
 */
struct transport *transport_create(const struct transport_options *o);
void transport_destroy(struct transport *t); /* NULL-safe */

/* A line for the start-up log: "file to /x/mail", "ses in eu-west-1 via https://...". */
const char *transport_describe(const struct transport *t);

/*
 * Sends @m; fills @ret (SEND_OK, or a failure with its class and reason).
 * Returns 0, or a negative errno for a local fault (out of memory), which
 * the caller takes as a temporary failure.
 */
int transport_send(struct transport *t, const struct message *m, struct send_result *ret);

/*
 * The file transport's write, for the transport and the tests: the message
 * as <dir>/<now_ms>-<job id>.eml. Returns 0 and the path in @ret_path (at
 * least PATH_MAX bytes; may be NULL) or a negative errno.
 */
int transport_write_file(const char *dir, const struct message *m, long long now_ms,
			 char *ret_path);
