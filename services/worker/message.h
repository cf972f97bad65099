#pragma once

/*
 * The email a job becomes: addresses, subject, the plain-text and HTML
 * bodies from the templates (template.h), the link; and its RFC 5322 form
 * (MIME multipart/alternative, quoted-printable parts, CRLF line ends) for
 * the file and SMTP transports.
 */

#include "services/worker/job.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define MESSAGE_SUBJECT_MAX 200 /* bytes of a subject (no header folding below that) */

struct message_options {
	const char *public_base_url; /* borrowed; http(s)://host[:port][/path], see below */
	const char *mail_from;       /* borrowed; "Name <address>" or "address" */
};

struct message {
	enum job_type type;
	char job_id[JOB_ID_LEN + 1];
	char *from;      /* owned; the From header's value, encoded as needed */
	char *from_addr; /* owned; the bare address (SMTP MAIL FROM) */
	char *to;        /* owned; the bare recipient address */
	char *subject;   /* owned; UTF-8 text, no line breaks */
	char *text;      /* owned; plain-text body, LF line ends */
	char *html;      /* owned; HTML body, LF line ends */
	char *link;      /* owned; NULL for a job without one */
};

/*
 * Builds the message of @job. Returns 0 and *ret_msg (message_destroy()),
 * -EINVAL (a template is missing or malformed, bad options) or -ENOMEM.
 */
int message_build(const struct job *job, const struct message_options *o, struct message **ret_msg);
void message_destroy(struct message *m); /* NULL-safe */

/*
 * The message as an RFC 5322 document: From, To, Subject, Date (@now_ms,
 * Unix milliseconds, in UTC), Message-ID <job id@sender's domain>,
 * MIME-Version, then multipart/alternative of text/plain and text/html,
 * both UTF-8: 7bit when the body is 7-bit text with lines of at most 998
 * octets (the templates are; a person can read the link in the file),
 * quoted-printable otherwise. Returns 0 and a new NUL-terminated
 * string in *ret_eml with its length, or -ENOMEM.
 */
int message_render_eml(const struct message *m, long long now_ms, char **ret_eml, size_t *ret_len);

/*
 * Parses a mail_from value: "address" or "Display Name <address>", printable
 * ASCII or UTF-8 (no control bytes), the address as job_address_valid().
 * Fills @ret_addr (at least JOB_ADDRESS_MAX + 1 bytes) with the address.
 * Returns 0 or -EINVAL with a reason.
 */
int message_from_parse(const char *from, char *ret_addr, const char **ret_reason);
/* config_key.check of mail_from. */
int message_from_check(const char *from, const char **ret_reason);
/*
 * config_key.check of public_base_url: http:// or https://, then a host and
 * optional port and path, printable ASCII without spaces, quotes, '<', '>',
 * '?' or '#'; at most 200 bytes. A trailing '/' is allowed (and dropped).
 */
int message_base_url_check(const char *url, const char **ret_reason);

/* Writes @s quoted-printable (RFC 2045), LF line ends become CRLF, to @f. */
void message_qp_encode(const char *s, FILE *f);
