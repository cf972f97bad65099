/* Amazon SES v2 SendEmail over HTTPS, signed by libcurl's SigV4. */

#include "services/worker/ses.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX   (64 * 1024) /* of an answer we keep */
#define TYPE_MAX   96
#define REGION_MAX 32

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static bool region_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > REGION_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
			return false;
	return true;
}

void ses_config_finish(struct ses_config *c)
{
	if (!c)
		return;
	free(c->region);
	free(c->endpoint);
	free(c->access_key);
	if (c->secret_key) {
		explicit_bzero(c->secret_key, strlen(c->secret_key));
		free(c->secret_key);
	}
	if (c->session_token) {
		explicit_bzero(c->session_token, strlen(c->session_token));
		free(c->session_token);
	}
	memset(c, 0, sizeof(*c));
}

int ses_config_from_env(struct ses_config *ret_cfg, const char **ret_reason)
{
	struct ses_config c = { 0 };
	const char *region = env("AWS_REGION"), *endpoint = env("AWS_ENDPOINT_URL_SES"),
		   *key = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY"),
		   *token = env("AWS_SESSION_TOKEN");
	size_t len;

	if (!region)
		region = env("AWS_DEFAULT_REGION");
	if (!endpoint)
		endpoint = env("AWS_ENDPOINT_URL");
	if (!region) {
		*ret_reason = "no region: set AWS_REGION (or AWS_DEFAULT_REGION)";
		return -EINVAL;
	}
	if (!region_valid(region)) {
		*ret_reason = "AWS_REGION is not a region name such as eu-west-1";
		return -EINVAL;
	}
	if (!key || !secret) {
		*ret_reason = "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
		return -EINVAL;
	}
	if (strchr(key, ':')) {
		*ret_reason = "AWS_ACCESS_KEY_ID holds a ':'";
		return -EINVAL;
	}
	if (endpoint && strncmp(endpoint, "https://", 8) != 0 &&
	    strncmp(endpoint, "http://", 7) != 0) {
		*ret_reason = "the endpoint (AWS_ENDPOINT_URL_SES or AWS_ENDPOINT_URL) must start "
			      "with https:// or http://";
		return -EINVAL;
	}
	c.region = strdup(region);
	if (endpoint)
		c.endpoint = strdup(endpoint);
	else if (asprintf(&c.endpoint, "https://email.%s.amazonaws.com", region) < 0)
		c.endpoint = NULL;
	c.access_key = strdup(key);
	c.secret_key = strdup(secret);
	c.session_token = token ? strdup(token) : NULL;
	if (!c.region || !c.endpoint || !c.access_key || !c.secret_key ||
	    (token && !c.session_token)) {
		ses_config_finish(&c);
		return -ENOMEM;
	}
	len = strlen(c.endpoint);
	while (len > 0 && c.endpoint[len - 1] == '/')
		c.endpoint[--len] = '\0';
	*ret_cfg = c;
	return 0;
}

char *ses_request_body(const struct message *m)
{
	json_t *doc;
	char *s;

	doc = json_pack("{s:s, s:{s:[s]}, s:{s:{s:{s:s, s:s}, s:{s:{s:s, s:s}, s:{s:s, s:s}}}}}",
			"FromEmailAddress", m->from, "Destination", "ToAddresses", m->to, "Content",
			"Simple", "Subject", "Data", m->subject, "Charset", "UTF-8", "Body", "Text",
			"Data", m->text, "Charset", "UTF-8", "Html", "Data", m->html, "Charset",
			"UTF-8");
	if (!doc)
		return NULL;
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

static const char *const temporary_types[] = {
	"Throttling",
	"ThrottlingException",
	"TooManyRequestsException",
	"LimitExceededException",
	"ServiceUnavailable",
	"ServiceUnavailableException",
	"InternalFailure",
	"InternalServiceError",
	"InternalServerError",
	"InternalServerErrorException",
	"RequestTimeout",
	"RequestTimeoutException",
	/* credentials: refreshed or fixed by the operator, not a fault of the message */
	"ExpiredToken",
	"ExpiredTokenException",
	"RequestExpired",
	"InvalidClientTokenId",
	"UnrecognizedClientException",
	"SignatureDoesNotMatch",
	"IncompleteSignature",
};

static const char *const permanent_types[] = {
	"MessageRejected",
	"BadRequestException",
	"AccountSuspendedException",
	"SendingPausedException",
	"MailFromDomainNotVerifiedException",
	"MailFromDomainNotVerified",
	"NotFoundException",
	"InvalidParameterValue",
	"ValidationError",
	"ValidationException",
	"AccessDeniedException",
};

enum send_status ses_classify(long status, const char *error_type)
{
	if (status >= 200 && status < 300)
		return SEND_OK;
	if (error_type && *error_type) {
		for (size_t i = 0; i < sizeof(temporary_types) / sizeof(temporary_types[0]); i++)
			if (strcmp(error_type, temporary_types[i]) == 0)
				return SEND_TEMPORARY;
		for (size_t i = 0; i < sizeof(permanent_types) / sizeof(permanent_types[0]); i++)
			if (strcmp(error_type, permanent_types[i]) == 0)
				return SEND_PERMANENT;
	}
	return send_status_from_http(status);
}

/* Copies the identifier characters at @s (at most @len bytes) into @buf. */
static void copy_ident(const char *s, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	while (n < len && n + 1 < size &&
	       (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '.' || s[n] == '-'))
		n++;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

void ses_error_type(const char *header, const char *body, size_t body_len, char *buf, size_t size)
{
	buf[0] = '\0';
	if (size == 0)
		return;
	if (header && *header) {
		while (*header == ' ')
			header++;
		copy_ident(header, strcspn(header, ":"), buf, size);
		if (buf[0])
			return;
	}
	if (!body || body_len == 0)
		return;
	if (body[0] == '{') {
		json_t *doc = json_loadb(body, body_len, 0, NULL);
		const char *t = NULL;

		if (doc) {
			t = json_string_value(json_object_get(doc, "__type"));
			if (!t)
				t = json_string_value(json_object_get(doc, "code"));
			if (!t)
				t = json_string_value(json_object_get(doc, "Code"));
			if (t) {
				const char *hash = strrchr(t, '#');

				if (hash)
					t = hash + 1;
				copy_ident(t, strcspn(t, ":"), buf, size);
			}
			json_decref(doc);
		}
		return;
	}
	{
		const char *code = memmem(body, body_len, "<Code>", 6);

		if (code) {
			code += 6;
			copy_ident(code, body_len - (size_t)(code - body), buf, size);
		}
	}
}

/* The message of an error answer (JSON "message"/"Message", XML <Message>) into @buf. */
static void error_message(const char *body, size_t body_len, char *buf, size_t size)
{
	const char *s = NULL;
	size_t len = 0;
	json_t *doc = NULL;

	buf[0] = '\0';
	if (!body || body_len == 0)
		return;
	if (body[0] == '{') {
		doc = json_loadb(body, body_len, 0, NULL);
		s = json_string_value(json_object_get(doc, "message"));
		if (!s)
			s = json_string_value(json_object_get(doc, "Message"));
		len = s ? strlen(s) : 0;
	} else {
		const char *m = memmem(body, body_len, "<Message>", 9), *end;

		if (m) {
			m += 9;
			end = memmem(m, body_len - (size_t)(m - body), "</Message>", 10);
			if (end) {
				s = m;
				len = (size_t)(end - m);
			}
		}
	}
	if (s) {
		if (len >= size)
			len = size - 1;
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	json_decref(doc);
}

struct answer {
	char *body; /* owned */
	size_t len;
	char error_type[TYPE_MAX];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb, keep = n;
	char *p;

	if (a->len + keep > BODY_MAX) /* the rest is read and dropped */
		keep = BODY_MAX - a->len;
	if (keep == 0)
		return n;
	p = realloc(a->body, a->len + keep + 1);
	if (!p)
		return 0; /* CURLE_WRITE_ERROR */
	a->body = p;
	memcpy(a->body + a->len, data, keep);
	a->len += keep;
	a->body[a->len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb;
	static const char name[] = "x-amzn-ErrorType:";

	if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		size_t len = n - (sizeof(name) - 1);

		while (len > 0 && *v == ' ') {
			v++;
			len--;
		}
		copy_ident(v, len, a->error_type, sizeof(a->error_type));
	}
	return n;
}

int ses_send(CURL *curl, const struct ses_config *c, const struct message *m, long timeout_ms,
	     struct send_result *ret)
{
	struct curl_slist *headers = NULL, *h;
	struct answer a = { 0 };
	char *body = NULL, *url = NULL, *token_header = NULL, sigv4[64], type[TYPE_MAX], msg[120];
	long status = 0;
	CURLcode cc;
	int r = -ENOMEM;

	body = ses_request_body(m);
	if (!body || asprintf(&url, "%s/v2/email/outbound-emails", c->endpoint) < 0) {
		url = NULL;
		goto out;
	}
	h = curl_slist_append(headers, "Content-Type: application/json");
	if (!h)
		goto out;
	headers = h;
	if (c->session_token) {
		if (asprintf(&token_header, "x-amz-security-token: %s", c->session_token) < 0) {
			token_header = NULL;
			goto out;
		}
		h = curl_slist_append(headers, token_header);
		if (!h)
			goto out;
		headers = h;
	}
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:ses", c->region);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4);
	curl_easy_setopt(curl, CURLOPT_USERNAME, c->access_key);
	curl_easy_setopt(curl, CURLOPT_PASSWORD, c->secret_key);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "ddns-worker/" DDNS_VERSION);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		send_result_set(ret, SEND_TEMPORARY, "ses: %s", curl_easy_strerror(cc));
		r = 0;
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		send_result_set(ret, SEND_OK, "ses: HTTP %ld", status);
		r = 0;
		goto out;
	}
	ses_error_type(a.error_type, a.body, a.len, type, sizeof(type));
	error_message(a.body, a.len, msg, sizeof(msg));
	send_result_set(ret, ses_classify(status, type), "ses: HTTP %ld%s%s%s%s", status,
			type[0] ? " " : "", type, msg[0] ? ": " : "", msg);
	r = 0;
out:
	/* nothing of the request stays in the handle: its options point at freed memory */
	curl_easy_reset(curl);
	curl_slist_free_all(headers);
	if (token_header) {
		explicit_bzero(token_header, strlen(token_header));
		free(token_header);
	}
	free(url);
	free(body);
	free(a.body);
	return r;
}
