/* SMTP with libcurl. */

#include "services/worker/smtp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum send_status smtp_classify(CURLcode code, long reply_code)
{
	if (code == CURLE_OK)
		return SEND_OK;
	/* a refused login is the operator's to fix, not the message's fault: retried */
	if (code == CURLE_LOGIN_DENIED)
		return SEND_TEMPORARY;
	if (reply_code >= 500 && reply_code < 600)
		return SEND_PERMANENT;
	return SEND_TEMPORARY; /* 4xx, or no answer at all */
}

struct upload {
	const char *data;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->left)
		n = u->left;
	memcpy(buf, u->data, n);
	u->data += n;
	u->left -= n;
	return n;
}

static size_t on_discard(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

int smtp_send(CURL *curl, const struct smtp_config *c, const struct message *m, const char *eml,
	      size_t len, long timeout_ms, struct send_result *ret)
{
	struct curl_slist *rcpt = NULL;
	struct upload u = { eml, len };
	char from[JOB_ADDRESS_MAX + 3];
	long reply = 0;
	CURLcode cc;

	snprintf(from, sizeof(from), "<%s>", m->from_addr);
	rcpt = curl_slist_append(NULL, m->to);
	if (!rcpt)
		return -ENOMEM;
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, c->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	if (strncmp(c->url, "smtp://", 7) == 0)
		curl_easy_setopt(curl, CURLOPT_USE_SSL,
				 c->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	if (c->username && *c->username) {
		curl_easy_setopt(curl, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &u);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_discard);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
	if (cc == CURLE_OK)
		send_result_set(ret, SEND_OK, "smtp: %ld", reply);
	else if (reply > 0)
		send_result_set(ret, smtp_classify(cc, reply), "smtp: %ld: %s", reply,
				curl_easy_strerror(cc));
	else
		send_result_set(ret, smtp_classify(cc, reply), "smtp: %s", curl_easy_strerror(cc));
	curl_easy_reset(curl);
	curl_slist_free_all(rcpt);
	return 0;
}
