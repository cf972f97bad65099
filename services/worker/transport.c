/* The transports behind one call; the file transport itself. */

#include "services/worker/transport.h"
#include "services/worker/ses.h"
#include "services/worker/smtp.h"
#include "shared/clock.h"
#include "shared/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct transport {
	enum transport_kind kind;
	long long timeout_ms;
	char *mail_dir;                                 /* owned */
	char *smtp_url, *smtp_username, *smtp_password; /* owned */
	bool smtp_starttls;
	struct ses_config ses; /* owned strings */
	CURL *curl;            /* owned; kept between sends for its connections */
	char describe[320];
};

const char *send_status_name(enum send_status s)
{
	switch (s) {
	case SEND_OK:
		return "ok";
	case SEND_TEMPORARY:
		return "temporary";
	case SEND_PERMANENT:
		return "permanent";
	}
	return "?";
}

enum send_status send_status_from_http(long status)
{
	if (status >= 200 && status < 300)
		return SEND_OK;
	if (status == 408 || status == 425 || status == 429 || (status >= 500 && status < 600))
		return SEND_TEMPORARY;
	if (status >= 400 && status < 500)
		return SEND_PERMANENT;
	return SEND_TEMPORARY;
}

void send_result_set(struct send_result *r, enum send_status status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	for (char *p = r->reason; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = ' ';
}

void send_result_scrub(struct send_result *r, const char *secret)
{
	char *s = r->reason, *p;
	size_t slen = strlen(secret), len;

	if (slen == 0)
		return;
	while ((p = strstr(s, secret))) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + slen, strlen(p + slen) + 1);
	}
	/* a reason is cut at its end (the SES message, then SEND_REASON_MAX) */
	len = strlen(s);
	for (size_t k = slen - 1; k >= 8; k--) {
		if (k <= len && memcmp(s + len - k, secret, k) == 0) {
			memcpy(s + len - k, "***", 4);
			break;
		}
	}
}

int transport_kind_parse(const char *s, enum transport_kind *ret_kind)
{
	if (!s)
		return -EINVAL;
	if (strcmp(s, "file") == 0)
		*ret_kind = TRANSPORT_FILE;
	else if (strcmp(s, "smtp") == 0)
		*ret_kind = TRANSPORT_SMTP;
	else if (strcmp(s, "ses") == 0)
		*ret_kind = TRANSPORT_SES;
	else
		return -EINVAL;
	return 0;
}

int transport_kind_check(const char *s, const char **ret_reason)
{
	enum transport_kind k;

	if (transport_kind_parse(s, &k) < 0) {
		*ret_reason = "must be file, smtp or ses";
		return -EINVAL;
	}
	return 0;
}

/* mkdir -p @path with @mode for the folders it makes. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

struct transport *transport_create(const struct transport_options *o)
{
	struct transport *t = calloc(1, sizeof(*t));
	const char *reason = NULL;
	int r;

	if (!t) {
		log_error(NULL, "out of memory");
		return NULL;
	}
	t->kind = o->kind;
	t->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	switch (o->kind) {
	case TRANSPORT_FILE:
		if (!o->mail_dir || !*o->mail_dir) {
			log_error(NULL, "mail_transport file needs mail_dir");
			goto fail;
		}
		r = mkdir_p(o->mail_dir, 0700);
		if (r < 0) {
			log_error(NULL, "could not create mail_dir \"%s\": %s", o->mail_dir,
				  strerror(-r));
			goto fail;
		}
		t->mail_dir = strdup(o->mail_dir);
		if (!t->mail_dir)
			goto oom;
		snprintf(t->describe, sizeof(t->describe), "file to %s", o->mail_dir);
		return t;
	case TRANSPORT_SMTP:
		if (!o->smtp_url || (strncmp(o->smtp_url, "smtp://", 7) != 0 &&
				     strncmp(o->smtp_url, "smtps://", 8) != 0)) {
			log_error(NULL, "mail_transport smtp needs smtp_url smtp://host[:port] or "
					"smtps://host[:port]");
			goto fail;
		}
		/* credentials in the URL would reach the log ("using smtp via ...") */
		if (strchr(o->smtp_url + strcspn(o->smtp_url, ":") + 3, '@')) {
			log_error(NULL, "smtp_url must not hold credentials: set smtp_username "
					"and smtp_password instead");
			goto fail;
		}
		t->smtp_url = strdup(o->smtp_url);
		t->smtp_username = dup_or_null(o->smtp_username);
		t->smtp_password = dup_or_null(o->smtp_password);
		t->smtp_starttls = o->smtp_starttls;
		if (!t->smtp_url || (o->smtp_username && *o->smtp_username && !t->smtp_username) ||
		    (o->smtp_password && *o->smtp_password && !t->smtp_password))
			goto oom;
		snprintf(t->describe, sizeof(t->describe), "smtp via %s%s", o->smtp_url,
			 strncmp(o->smtp_url, "smtps://", 8) == 0 ? ""
			 : o->smtp_starttls                       ? " (STARTTLS required)"
								  : " (no STARTTLS)");
		break;
	case TRANSPORT_SES:
		r = ses_config_from_env(&t->ses, &reason);
		if (r == -ENOMEM)
			goto oom;
		if (r < 0) {
			log_error(NULL, "mail_transport ses: %s", reason);
			goto fail;
		}
		snprintf(t->describe, sizeof(t->describe), "ses in %s via %s", t->ses.region,
			 t->ses.endpoint);
		break;
	default:
		log_error(NULL, "unknown mail transport");
		goto fail;
	}
	t->curl = curl_easy_init();
	if (!t->curl)
		goto oom;
	return t;
oom:
	log_error(NULL, "out of memory");
fail:
	transport_destroy(t);
	return NULL;
}

void transport_destroy(struct transport *t)
{
	if (!t)
		return;
	if (t->curl)
		curl_easy_cleanup(t->curl);
	free(t->mail_dir);
	free(t->smtp_url);
	free(t->smtp_username);
	if (t->smtp_password) {
		explicit_bzero(t->smtp_password, strlen(t->smtp_password));
		free(t->smtp_password);
	}
	ses_config_finish(&t->ses);
	free(t);
}

const char *transport_describe(const struct transport *t)
{
	return t->describe;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int transport_write_file(const char *dir, const struct message *m, long long now_ms, char *ret_path)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	char *eml = NULL;
	size_t len;
	int fd = -1, r;

	if (snprintf(path, sizeof(path), "%s/%lld-%s.eml", dir, now_ms, m->job_id) >=
		    (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%lld-%s.eml.tmp", dir, now_ms, m->job_id) >=
		    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	r = message_render_eml(m, now_ms, &eml, &len);
	if (r < 0)
		return r;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, eml, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	fd = -1;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		goto out;
	}
	/* the rename itself is durable once the folder is synced */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	if (ret_path)
		snprintf(ret_path, PATH_MAX, "%s", path);
out:
	free(eml);
	return r;
}

static int send_file(struct transport *t, const struct message *m, struct send_result *ret)
{
	char path[PATH_MAX];
	int r = transport_write_file(t->mail_dir, m, clock_wall_ms(), path);

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* a full disk or a read-only folder may be fixed: try again later */
		send_result_set(ret, SEND_TEMPORARY, "file: could not write to %s: %s", t->mail_dir,
				strerror(-r));
		return 0;
	}
	/* local development only: the one place where a token reaches a log */
	log_fields(LOG_LEVEL_INFO, m->job_id,
		   (struct log_field[]){ { .key = "file", .str = path } }, 1,
		   "mail for \"%s\" written to %s%s%s", m->to, path, m->link ? "; link: " : "",
		   m->link ? m->link : "");
	send_result_set(ret, SEND_OK, "written to %s", path);
	return 0;
}

int transport_send(struct transport *t, const struct message *m, struct send_result *ret)
{
	switch (t->kind) {
	case TRANSPORT_FILE:
		return send_file(t, m, ret);
	case TRANSPORT_SMTP: {
		struct smtp_config c = {
			.url = t->smtp_url,
			.username = t->smtp_username,
			.password = t->smtp_password,
			.starttls = t->smtp_starttls,
		};
		char *eml = NULL;
		size_t len;
		int r = message_render_eml(m, clock_wall_ms(), &eml, &len);

		if (r < 0)
			return r;
		r = smtp_send(t->curl, &c, m, eml, len, (long)t->timeout_ms, ret);
		free(eml);
		return r;
	}
	case TRANSPORT_SES:
		return ses_send(t->curl, &t->ses, m, (long)t->timeout_ms, ret);
	}
	return -EINVAL;
}
