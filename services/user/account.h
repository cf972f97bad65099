#pragma once

/*
 * account: the pure logic of accounts in ddns-user, with no I/O: email
 * addresses, the password policy, single-use tokens and password hashes.
 *
 * Every function here may be called from any thread. Those that use
 * libsodium call sodium_init() themselves (it is idempotent and thread-safe),
 * so callers need not.
 *
 * Reasons returned through ret_reason are static, user-facing strings;
 * codes returned through ret_code are static, stable, machine-readable words
 * meant for a JSON "error" member.
 */

#include <stdbool.h>
#include <stddef.h>

#define ACCOUNT_EMAIL_MAX 254

/*
 * Normalizes an email address into @out (size >= ACCOUNT_EMAIL_MAX + 1):
 * trims ASCII whitespace around it, lower-cases it all, checks local@domain:
 * local part 1..64 bytes of dot-atom (RFC 5322 atext: A-Z a-z 0-9 and
 * !#$%&'*+-/=?^_`{|}~, dots not first/last/doubled; no quoted strings),
 * domain a DNS host name with at least two labels (LDH labels 1..63, total
 * <= 253, no trailing dot, TLD not all digits), whole <= 254. No control
 * chars, no spaces, no non-ASCII (IDN domains must be given as xn--).
 * Plus-addressing ("name+tag@") is kept as it is.
 *
 * Returns 0, or -EINVAL with *ret_reason a static user-facing message;
 * @out is untouched on failure. @in is NUL-terminated and borrowed. A @size
 * below ACCOUNT_EMAIL_MAX + 1 is a programming error and aborts.
 */
int account_email_normalize(const char *in, char *out, size_t size, const char **ret_reason);

/*
 * Password policy: valid UTF-8 without NUL or control characters (none at
 * all: C0, DEL and C1, tabs and newlines included); length 10..1024
 * CHARACTERS (code points, not bytes); not equal to the email or its local
 * part (ASCII case-insensitive); not in the shipped list of common passwords
 * (services/user/common-passwords.txt, compiled in; case-insensitive).
 *
 * @password is @len bytes (a NUL among them is refused), read once from
 * start to end (the caller bounds @len, as it bounds a request body);
 * @email is the normalized address or NULL. Checked in this order: password_invalid,
 * password_too_short, password_too_long, password_is_email, password_common.
 *
 * Returns 0, or -EINVAL with *ret_code one of "password_too_short",
 * "password_too_long", "password_invalid", "password_is_email",
 * "password_common" and *ret_reason a static user-facing message.
 */
int account_password_check(const char *password, size_t len, const char *email,
			   const char **ret_code, const char **ret_reason);

#define ACCOUNT_PASSWORD_MIN 10   /* characters */
#define ACCOUNT_PASSWORD_MAX 1024 /* characters; at most 4096 bytes */

/*
 * Password hashes: argon2id via libsodium crypto_pwhash_str_alg(...,
 * crypto_pwhash_ALG_ARGON2ID13), in the PHC string format
 * ("$argon2id$v=19$m=65536,t=2,p=1$salt$hash"), which carries its salt and
 * parameters. These calls take as long as the parameters say (tens of
 * milliseconds and more): keep them off an event loop.
 */
struct account_pwhash_params {
	unsigned long long opslimit; /* passes, >= 1 */
	size_t memlimit;             /* bytes, >= 8 KiB; stored in KiB */
};

#define ACCOUNT_HASH_MAX 128 /* >= crypto_pwhash_STRBYTES, NUL included */

/*
 * Hashes @password (@len bytes) with a fresh random salt into @ret_hash
 * (NUL-terminated). Returns 0, -ENOMEM (libsodium out of memory), or -EINVAL
 * when @p is outside libsodium's limits for argon2id or @len is too long;
 * @ret_hash is untouched on failure.
 */
int account_password_hash(const char *password, size_t len, const struct account_pwhash_params *p,
			  char ret_hash[ACCOUNT_HASH_MAX]);

/*
 * Whether @password (@len bytes) matches @hash (NUL-terminated, as
 * account_password_hash() wrote it); crypto_pwhash_str_verify. False for a
 * malformed hash.
 */
bool account_password_verify(const char *hash, const char *password, size_t len);

/*
 * Whether @hash should be replaced (after a successful verify) because it is
 * not argon2id with exactly the parameters @p, or is malformed.
 */
bool account_password_needs_rehash(const char *hash, const struct account_pwhash_params *p);

/*
 * Finds the opslimit for @memlimit so that one hash takes about @target_ms on
 * this machine, by measuring (for a tuning tool and tests; it takes about
 * six times @target_ms). One hash costs a fixed part (the memory) and a part
 * per pass, so the time is not proportional to opslimit. Sets *ret_p to { opslimit, @memlimit } and
 * *ret_ms to the time one hash with them took. Returns 0, -EINVAL (@memlimit outside libsodium's
 * limits, @target_ms 0), -ENOMEM.
 */
int account_pwhash_tune(size_t memlimit, unsigned target_ms, struct account_pwhash_params *ret_p,
			double *ret_ms);
