#pragma once

/*
 * A job of the stream `jobs` (Redis db1, consumer group `worker`), as the
 * producers (ddns-user) write it: one stream entry whose fields are
 *
 *   type   email.verify | email.password_reset | email.password_changed
 *   id     32 lowercase hex digits: the job's id and dedupe key
 *   to     the recipient, an already-normalized address
 *   token  43 base64url characters; email.verify and email.password_reset
 *          only (a token on email.password_changed is refused)
 *
 * A job is input from outside: every field is checked here, and a job that
 * fails a check is permanent garbage (it goes to the dead-letter stream).
 * Other field names are ignored, so that producers can add fields; a field
 * named twice is refused.
 */

#include <stdbool.h>
#include <stddef.h>

#define JOB_ID_LEN      32
#define JOB_TOKEN_LEN   43
#define JOB_ADDRESS_MAX 254 /* RFC 5321: a path is at most 256 octets with its <> */
#define JOB_LOCAL_MAX   64
#define JOB_FIELDS_MAX  32 /* field name/value pairs an entry may have */

enum job_type {
	JOB_EMAIL_VERIFY,
	JOB_EMAIL_PASSWORD_RESET,
	JOB_EMAIL_PASSWORD_CHANGED,
};

struct job {
	enum job_type type;
	char id[JOB_ID_LEN + 1];
	char to[JOB_ADDRESS_MAX + 1];
	char token[JOB_TOKEN_LEN + 1]; /* "" when the type takes none */
};

/* One field of a stream entry; @name and @value are borrowed, binary (lengths given). */
struct job_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/*
 * Checks the fields of one entry and fills *ret_job. Returns 0, or -EINVAL
 * with *ret_reason set to a static, lower-case reason that quotes no value
 * (e.g. "id is not 32 lowercase hex digits"), safe for logs and dead letters.
 * *ret_job is untouched on failure.
 */
int job_parse(const struct job_field *fields, size_t n, struct job *ret_job,
	      const char **ret_reason);

/* "email.verify", ...; NULL for a value out of range. */
const char *job_type_name(enum job_type t);
/* The type of @name; -EINVAL when unknown. */
int job_type_parse(const char *name, size_t len, enum job_type *ret_type);
/* Does the type carry a token (and a link)? */
bool job_type_has_token(enum job_type t);

/*
 * Is @s (@len bytes) an address we send to: local@domain in printable
 * ASCII, local part 1..64 of atext and dots (no leading, trailing or double
 * dot), domain of LDH labels (1..63 each) separated by dots, at most 254
 * bytes in all. No quoted local parts, address literals or non-ASCII
 * addresses: nothing that could break a header (CR, LF, NUL, '<', '>', ',',
 * ';', ':', quotes, spaces) gets through.
 */
bool job_address_valid(const char *s, size_t len);
