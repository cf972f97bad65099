/* The email of a job: templates filled in, and its RFC 5322 form. */

#include "services/worker/message.h"
#include "services/worker/template.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASE_URL_MAX 200

static const char *template_base(enum job_type t)
{
	switch (t) {
	case JOB_EMAIL_VERIFY:
		return "verify";
	case JOB_EMAIL_PASSWORD_RESET:
		return "password_reset";
	case JOB_EMAIL_PASSWORD_CHANGED:
		return "password_changed";
	}
	return NULL;
}

static const char *link_path(enum job_type t)
{
	switch (t) {
	case JOB_EMAIL_VERIFY:
		return "/verify?token=";
	case JOB_EMAIL_PASSWORD_RESET:
		return "/reset-password?token=";
	case JOB_EMAIL_PASSWORD_CHANGED:
		break;
	}
	return NULL;
}

static bool url_char_ok(char c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"'<>\\^`{|}?#", c);
}

int message_base_url_check(const char *url, const char **ret_reason)
{
	const char *host;
	size_t len;

	if (!url) {
		*ret_reason = "must be set";
		return -EINVAL;
	}
	len = strlen(url);
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else {
		*ret_reason = "must start with http:// or https://";
		return -EINVAL;
	}
	if (len > BASE_URL_MAX) {
		*ret_reason = "is longer than 200 bytes";
		return -EINVAL;
	}
	if (*host == '\0' || *host == '/') {
		*ret_reason = "has no host";
		return -EINVAL;
	}
	for (const char *p = url; *p; p++)
		if (!url_char_ok(*p)) {
			*ret_reason =
				"holds a character a link cannot carry (space, quote, <, >, ?, "
				"#, control)";
			return -EINVAL;
		}
	return 0;
}

static bool is_atext_or_space(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ' ' || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Whether @s is UTF-8 as jansson takes it (the check SES requests meet). */
static bool utf8_ok(const char *s)
{
	json_t *v = json_string(s);

	json_decref(v);
	return v != NULL;
}

int message_from_parse(const char *from, char *ret_addr, const char **ret_reason)
{
	const char *lt, *gt, *addr;
	size_t len;

	if (!from || !*from) {
		*ret_reason = "must be set";
		return -EINVAL;
	}
	for (const char *p = from; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*ret_reason = "holds a control character";
			return -EINVAL;
		}
	/* the SES transport sends it in JSON, where jansson refuses what is not UTF-8 */
	if (!utf8_ok(from)) {
		*ret_reason = "is not UTF-8";
		return -EINVAL;
	}
	lt = strchr(from, '<');
	if (lt) {
		gt = strchr(lt, '>');
		if (!gt || gt[1] != '\0' || strchr(lt + 1, '<')) {
			*ret_reason = "must be \"address\" or \"Name <address>\"";
			return -EINVAL;
		}
		addr = lt + 1;
		len = (size_t)(gt - addr);
		for (const char *p = from; p < lt; p++)
			if (*p == '"' || *p == '\\' || *p == '>') {
				*ret_reason = "the name must not hold quotes, backslashes or '>'";
				return -EINVAL;
			}
	} else {
		addr = from;
		len = strlen(from);
	}
	if (!job_address_valid(addr, len)) {
		*ret_reason = "the address is not valid";
		return -EINVAL;
	}
	memcpy(ret_addr, addr, len);
	ret_addr[len] = '\0';
	return 0;
}

int message_from_check(const char *from, const char **ret_reason)
{
	char addr[JOB_ADDRESS_MAX + 1];

	return message_from_parse(from, addr, ret_reason);
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* An RFC 2047 encoded word of @s (UTF-8, base64) to @f. */
static void encoded_word(const char *s, size_t len, FILE *f)
{
	unsigned char *b64 = malloc(4 * ((len + 2) / 3) + 1);

	if (!b64)
		return; /* the stream's own error surfaces at fclose */
	EVP_EncodeBlock(b64, (const unsigned char *)s, (int)len);
	fprintf(f, "=?UTF-8?B?%s?=", b64);
	free(b64);
}

/* The From header's value: the address alone, or a (quoted or encoded) name and it. */
static char *from_header(const char *from, const char *addr)
{
	const char *lt = strchr(from, '<');
	char *buf = NULL;
	size_t size = 0, nlen;
	FILE *f;
	bool plain = true;

	if (!lt)
		return strdup(addr);
	nlen = (size_t)(lt - from);
	while (nlen > 0 && from[nlen - 1] == ' ')
		nlen--;
	while (nlen > 0 && *from == ' ') {
		from++;
		nlen--;
	}
	if (nlen == 0)
		return strdup(addr);
	f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	for (size_t i = 0; i < nlen; i++)
		if (!is_atext_or_space(from[i]))
			plain = false;
	if (plain) {
		fwrite(from, 1, nlen, f);
	} else {
		bool ascii = true;

		for (size_t i = 0; i < nlen; i++)
			if ((unsigned char)from[i] >= 0x80)
				ascii = false;
		if (ascii) {
			/* quoted-string: parse_from refused '"' and '\\' */
			fputc('"', f);
			fwrite(from, 1, nlen, f);
			fputc('"', f);
		} else {
			encoded_word(from, nlen, f);
		}
	}
	fprintf(f, " <%s>", addr);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void message_destroy(struct message *m)
{
	if (!m)
		return;
	free(m->from);
	free(m->from_addr);
	free(m->to);
	free(m->subject);
	free(m->text);
	free(m->html);
	free(m->link);
	free(m);
}

/* Splits a rendered .txt template into its subject and body (both new strings). */
static int split_subject(const char *txt, char **ret_subject, char **ret_body)
{
	const char *eol, *s;
	char *subject, *body;

	if (strncmp(txt, "Subject: ", 9) != 0)
		return -EINVAL;
	s = txt + 9;
	eol = strchr(s, '\n');
	if (!eol || eol[1] != '\n' || eol == s || (size_t)(eol - s) > MESSAGE_SUBJECT_MAX)
		return -EINVAL;
	for (const char *p = s; p < eol; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	subject = strndup(s, (size_t)(eol - s));
	body = strdup(eol + 2);
	if (!subject || !body) {
		free(subject);
		free(body);
		return -ENOMEM;
	}
	*ret_subject = subject;
	*ret_body = body;
	return 0;
}

int message_build(const struct job *job, const struct message_options *o, struct message **ret_msg)
{
	char name[64], addr[JOB_ADDRESS_MAX + 1];
	const char *base = template_base(job->type), *path = link_path(job->type), *txt, *html,
		   *reason;
	struct message *m = NULL;
	struct template_vars vars;
	char *rendered = NULL;
	int r;

	if (!base || message_from_parse(o->mail_from, addr, &reason) < 0 ||
	    message_base_url_check(o->public_base_url, &reason) < 0)
		return -EINVAL;
	snprintf(name, sizeof(name), "%s.txt", base);
	txt = template_get(name);
	snprintf(name, sizeof(name), "%s.html", base);
	html = template_get(name);
	if (!txt || !html)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->type = job->type;
	memcpy(m->job_id, job->id, sizeof(m->job_id));
	r = -ENOMEM;
	m->from_addr = strdup(addr);
	m->from = from_header(o->mail_from, addr);
	m->to = strdup(job->to);
	if (!m->from_addr || !m->from || !m->to)
		goto out;
	if (path) {
		size_t blen = strlen(o->public_base_url);

		if (blen > 0 && o->public_base_url[blen - 1] == '/')
			blen--;
		if (!job_type_has_token(job->type) || !job->token[0]) {
			r = -EINVAL;
			goto out;
		}
		if (asprintf(&m->link, "%.*s%s%s", (int)blen, o->public_base_url, path,
			     job->token) < 0) {
			m->link = NULL;
			goto out;
		}
	}
	vars = (struct template_vars){ .link = m->link, .email = m->to };
	r = template_render(txt, &vars, false, &rendered);
	if (r < 0)
		goto out;
	r = split_subject(rendered, &m->subject, &m->text);
	if (r < 0)
		goto out;
	r = template_render(html, &vars, true, &m->html);
	if (r < 0)
		goto out;
	*ret_msg = m;
	m = NULL;
out:
	free(rendered);
	message_destroy(m);
	return r;
}

void message_qp_encode(const char *s, FILE *f)
{
	static const char hex[] = "0123456789ABCDEF";
	int col = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char enc[4];
		int n;

		if (*p == '\n') {
			fputs("\r\n", f);
			col = 0;
			continue;
		}
		if (*p == '\r')
			continue; /* line ends are ours */
		if ((*p >= 33 && *p <= 126 && *p != '=') ||
		    ((*p == ' ' || *p == '\t') && p[1] != '\n' && p[1] != '\0')) {
			enc[0] = (char)*p;
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			n = 3;
		}
		/* at most 76 characters a line, the soft break's '=' included */
		if (col + n > 75) {
			fputs("=\r\n", f);
			col = 0;
		}
		fwrite(enc, 1, (size_t)n, f);
		col += n;
	}
}

/*
 * 7-bit text without CR or "=_", no line above 998 octets: sent as it is
 * (readable in a file).
 */
static bool seven_bit_clean(const char *s)
{
	size_t col = 0;

	for (; *s; s++) {
		/* "=_" would let the text hold the boundary (a crafted address could) */
		if ((unsigned char)*s >= 0x80 || *s == '\r' || (s[0] == '=' && s[1] == '_'))
			return false;
		col = *s == '\n' ? 0 : col + 1;
		if (col > 998)
			return false;
	}
	return true;
}

/* One MIME part of @type holding @body: 7bit when clean, quoted-printable otherwise. */
static void part(FILE *f, const char *job_id, const char *type, const char *body)
{
	bool clean = seven_bit_clean(body);

	fprintf(f, "\r\n--=_ddns_%s\r\n", job_id);
	fprintf(f, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: %s\r\n\r\n", type,
		clean ? "7bit" : "quoted-printable");
	if (!clean) {
		message_qp_encode(body, f);
		return;
	}
	for (; *body; body++)
		if (*body == '\n')
			fputs("\r\n", f);
		else
			fputc(*body, f);
}

static void date_header(long long now_ms, FILE *f)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	fprintf(f, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
		months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int message_render_eml(const struct message *m, long long now_ms, char **ret_eml, size_t *ret_len)
{
	const char *domain = strchr(m->from_addr, '@');
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return -ENOMEM;
	fprintf(f, "From: %s\r\n", m->from);
	fprintf(f, "To: %s\r\n", m->to);
	fputs("Subject: ", f);
	if (is_ascii(m->subject))
		fputs(m->subject, f);
	else
		encoded_word(m->subject, strlen(m->subject), f);
	fputs("\r\n", f);
	date_header(now_ms, f);
	fprintf(f, "Message-ID: <%s@%s>\r\n", m->job_id, domain ? domain + 1 : "localhost");
	fputs("MIME-Version: 1.0\r\n", f);
	/* "=_" occurs neither in quoted-printable text nor in a part sent as 7bit */
	fprintf(f, "Content-Type: multipart/alternative; boundary=\"=_ddns_%s\"\r\n", m->job_id);
	fputs("\r\nThis is a multi-part message in MIME format.\r\n", f);
	part(f, m->job_id, "text/plain", m->text);
	part(f, m->job_id, "text/html", m->html);
	fprintf(f, "\r\n--=_ddns_%s--\r\n", m->job_id);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret_eml = buf;
	*ret_len = size;
	return 0;
}
