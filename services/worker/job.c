/* Jobs of the stream `jobs`: their fields, checked. */

#include "services/worker/job.h"

#include <errno.h>
#include <string.h>

static const char *const type_names[] = {
	[JOB_EMAIL_VERIFY] = "email.verify",
	[JOB_EMAIL_PASSWORD_RESET] = "email.password_reset",
	[JOB_EMAIL_PASSWORD_CHANGED] = "email.password_changed",
};

const char *job_type_name(enum job_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return NULL;
	return type_names[t];
}

int job_type_parse(const char *name, size_t len, enum job_type *ret_type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strlen(type_names[i]) == len && memcmp(type_names[i], name, len) == 0) {
			*ret_type = (enum job_type)i;
			return 0;
		}
	return -EINVAL;
}

bool job_type_has_token(enum job_type t)
{
	return t == JOB_EMAIL_VERIFY || t == JOB_EMAIL_PASSWORD_RESET;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~ */
static bool is_atext(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool local_valid(const char *s, size_t len)
{
	if (len == 0 || len > JOB_LOCAL_MAX || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return false;
		} else if (!is_atext(s[i])) {
			return false;
		}
	}
	return true;
}

static bool domain_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return s[len - 1] != '-';
}

bool job_address_valid(const char *s, size_t len)
{
	const char *at;

	if (!s || len < 3 || len > JOB_ADDRESS_MAX)
		return false;
	at = memchr(s, '@', len);
	if (!at || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
		return false;
	return local_valid(s, (size_t)(at - s)) && domain_valid(at + 1, len - (size_t)(at - s) - 1);
}

static bool id_valid(const char *s, size_t len)
{
	if (len != JOB_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool token_valid(const char *s, size_t len)
{
	if (len != JOB_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static bool name_is(const struct job_field *f, const char *name)
{
	return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0;
}

int job_parse(const struct job_field *fields, size_t n, struct job *ret_job,
	      const char **ret_reason)
{
	static const char *const known[] = { "type", "id", "to", "token" };
	const struct job_field *found[4] = { NULL };
	struct job job = { 0 };
	const char *reason;

	if (n > JOB_FIELDS_MAX) {
		reason = "too many fields";
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 4; k++)
			if (name_is(&fields[i], known[k])) {
				if (found[k]) {
					reason = "a field appears twice";
					goto fail;
				}
				found[k] = &fields[i];
			}
	if (!found[0]) {
		reason = "missing field type";
		goto fail;
	}
	if (job_type_parse(found[0]->value, found[0]->value_len, &job.type) < 0) {
		reason = "unknown type";
		goto fail;
	}
	if (!found[1]) {
		reason = "missing field id";
		goto fail;
	}
	if (!id_valid(found[1]->value, found[1]->value_len)) {
		reason = "id is not 32 lowercase hex digits";
		goto fail;
	}
	if (!found[2]) {
		reason = "missing field to";
		goto fail;
	}
	if (!job_address_valid(found[2]->value, found[2]->value_len)) {
		reason = "to is not a valid address";
		goto fail;
	}
	if (job_type_has_token(job.type)) {
		if (!found[3]) {
			reason = "missing field token";
			goto fail;
		}
		if (!token_valid(found[3]->value, found[3]->value_len)) {
			reason = "token is not 43 base64url characters";
			goto fail;
		}
		memcpy(job.token, found[3]->value, JOB_TOKEN_LEN);
	} else if (found[3]) {
		reason = "a token on a job type that takes none";
		goto fail;
	}
	memcpy(job.id, found[1]->value, JOB_ID_LEN);
	memcpy(job.to, found[2]->value, found[2]->value_len);
	*ret_job = job;
	return 0;
fail:
	if (ret_reason)
		*ret_reason = reason;
	return -EINVAL;
}
