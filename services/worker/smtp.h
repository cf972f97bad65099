#pragma once

/*
 * SMTP with libcurl: MAIL FROM the sender's address, RCPT TO the
 * recipient, the message's RFC 5322 form as DATA. smtps:// is TLS from the
 * start; on smtp:// STARTTLS is required when asked for (the default), and
 * not attempted otherwise (a local relay). The password is never logged.
 */

#include "services/worker/transport.h"

#include <curl/curl.h>

struct smtp_config {
	const char *url;      /* borrowed */
	const char *username; /* borrowed; NULL or "": no AUTH */
	const char *password; /* borrowed */
	bool starttls;
};

/*
 * The class of an SMTP outcome: CURLE_OK is sent; a refused login is
 * temporary (the operator's to fix: retried until max_attempts); otherwise a
 * reply code 5xx is permanent, 4xx temporary, and no reply code at all
 * (connection refused, timeout, TLS failure) temporary.
 */
enum send_status smtp_classify(CURLcode code, long reply_code);

/* Sends @eml (@len bytes) for @m with @curl (borrowed). Fills @ret. Returns 0. */
int smtp_send(CURL *curl, const struct smtp_config *c, const struct message *m, const char *eml,
	      size_t len, long timeout_ms, struct send_result *ret);
