#pragma once

/*
 * Amazon SES v2 SendEmail (POST /v2/email/outbound-emails) with libcurl:
 * the request is signed by libcurl's SigV4 (CURLOPT_AWS_SIGV4
 * "aws:amz:<region>:ses", the access key and secret as user and password,
 * x-amz-security-token for temporary credentials); the JSON body is
 *
 *   {"FromEmailAddress": from, "Destination": {"ToAddresses": [to]},
 *    "Content": {"Simple": {"Subject": {"Data", "Charset"},
 *                           "Body": {"Text": {...}, "Html": {...}}}}}
 *
 * Settings from the environment, as the AWS SDKs read them:
 *   region    AWS_REGION, else AWS_DEFAULT_REGION (required)
 *   endpoint  AWS_ENDPOINT_URL_SES, else AWS_ENDPOINT_URL,
 *             else https://email.<region>.amazonaws.com
 *   keys      AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (required),
 *             AWS_SESSION_TOKEN (optional)
 * They are read once, at start.
 */

#include "services/worker/transport.h"

#include <curl/curl.h>

struct ses_config {
	char *region;        /* owned */
	char *endpoint;      /* owned; no trailing '/' */
	char *access_key;    /* owned */
	char *secret_key;    /* owned; never log it */
	char *session_token; /* owned; NULL when none; never log it */
};

/* Reads the environment; returns 0, or -EINVAL with a reason, or -ENOMEM. */
int ses_config_from_env(struct ses_config *ret_cfg, const char **ret_reason);
void ses_config_finish(struct ses_config *c); /* NULL-safe */

/* The request body of @m (a new string, free() it), or NULL when out of memory. */
char *ses_request_body(const struct message *m);

/*
 * The class of an SES answer: from its error type first (Throttling,
 * TooManyRequestsException, ServiceUnavailable, InternalFailure, expired
 * or refused credentials: temporary; MessageRejected, BadRequestException,
 * AccountSuspendedException, SendingPausedException,
 * MailFromDomainNotVerifiedException, NotFoundException: permanent); an
 * unknown or missing type by the HTTP status (send_status_from_http).
 * @error_type may be NULL.
 */
enum send_status ses_classify(long status, const char *error_type);

/*
 * The error type of an answer: the x-amzn-ErrorType header (up to its ':'),
 * else "__type" (after its '#'), "code" or "Code" of a JSON body, else
 * <Code> of an XML body. Copied into @buf; "" when none.
 */
void ses_error_type(const char *header, const char *body, size_t body_len, char *buf, size_t size);

/*
 * Sends @m with @curl (borrowed; reset here, its connections kept for the
 * next send). Fills @ret. Returns 0 or -ENOMEM.
 */
int ses_send(CURL *curl, const struct ses_config *c, const struct message *m, long timeout_ms,
	     struct send_result *ret);
