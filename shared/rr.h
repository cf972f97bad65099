#pragma once

/*
 * Resource records: the types users may manage, validation of record content
 * and its canonical presentation form (the "content" PowerDNS 4.7 expects),
 * TTL bounds, and the record object of the remote backend protocol.
 *
 * Canonical content, per type:
 *   A      "192.0.2.1": dotted quad exactly as inet_ntop() writes it, so leading
 *          zeros ("192.0.2.01", octal to some parsers) are rejected
 *   AAAA   "2001:db8::1": RFC 5952 (lower case, compressed); no zone index
 *   CNAME  "target.example.com.", NS "ns1.example.com.": normalized names
 *   MX     "10 mail.example.com."; "0 ." is the null MX (RFC 7505)
 *   SRV    "10 5 5060 sip.example.com."; the target may be "."
 *   TXT    "\"v=spf1 -all\"": quoted character-strings of at most 255 bytes
 *          each, '"' and '\' escaped with a backslash, other bytes below 0x20
 *          or from 0x7f up as \DDD; strings separated by one space
 *   CAA    "0 issue \"letsencrypt.org\"": flags, lower-case tag, quoted value
 *   SOA    "ns1.example.com. hostmaster.example.com. 1 10800 3600 604800 60"
 *
 * Input rules:
 *   - never empty, no control characters (bytes below 0x20, 0x7f); except
 *     for TXT, no leading or trailing space; fields separated by spaces
 *     (several are fine); numbers are decimal digits only, no sign;
 *   - names inside content are always absolute: a missing final dot is
 *     added, never the zone ("mail.example.com" means "mail.example.com.");
 *     dnsname rules apply (underscores allowed, no wildcards, no root except
 *     the "." of a null MX, which needs preference 0, and of an SRV target);
 *   - TXT input not starting with '"' is all data, taken literally (a
 *     backslash is a backslash) and cut into strings of 255 bytes; input
 *     starting with '"' is one or more quoted strings separated by spaces,
 *     with the escapes \" \\ and \DDD only (another escape such as \n is
 *     rejected rather than silently read as 'n'); a quoted string over 255
 *     bytes is rejected, not split; bytes from 0x80 up are accepted as data;
 *   - CAA: flags 0..255; tag issue, issuewild, issuemail or iodef, any
 *     letter case (RFC 8659 tags are case-insensitive); the value quoted or
 *     not, printable ASCII, at most RR_CAA_VALUE_MAX bytes; issue values per
 *     RFC 8659 ("", ";", "ca.example", "ca.example; key=value; ..."), the
 *     issuer without a final dot; iodef a mailto: address or http(s):// URL;
 *   - A/AAAA: any address is valid here, private, loopback and 0.0.0.0 included
 *     (dynamic DNS users point names at LAN hosts); policy belongs to callers;
 *   - SOA: rname in DNS form (hostmaster.example.com.), an '@' is rejected.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rr_type {
	RR_A = 1,
	RR_NS = 2,
	RR_CNAME = 5,
	RR_SOA = 6,
	RR_MX = 15,
	RR_TXT = 16,
	RR_AAAA = 28,
	RR_SRV = 33,
	RR_CAA = 257,
};

#define RR_TTL_MIN 60
#define RR_TTL_MAX 86400

/* TXT: at most this many data bytes over all strings, and this many strings. */
#define RR_TXT_DATA_MAX    2048
#define RR_TXT_STRINGS_MAX 32
/* CAA: at most this many bytes of value. */
#define RR_CAA_VALUE_MAX 1024
/*
 * A buffer that holds any canonical content and its NUL; longer input is
 * rejected before it is parsed.
 */
#define RR_CONTENT_SIZE 8448

/* Parses a type mnemonic ("A", "aaaa", "Txt"); unknown or NULL: -EINVAL. */
int rr_type_parse(const char *name, enum rr_type *ret_type);

/* "A", "AAAA", ...; NULL for a value that is not one of enum rr_type. */
const char *rr_type_name(enum rr_type type);

/* A AAAA CNAME MX TXT SRV CAA; NS and SOA belong to the operator. */
bool rr_type_user_allowed(enum rr_type type);

/*
 * Validates @in as content of @type and writes its canonical form into @buf.
 * Returns 0; -EINVAL with a static, user-facing reason in *ret_reason (when
 * @ret_reason is not NULL); or -EMSGSIZE when the canonical form does not fit
 * @size bytes (RR_CONTENT_SIZE always does). @buf is untouched on failure.
 */
int rr_content_normalize(enum rr_type type, const char *in, char *buf, size_t size,
			 const char **ret_reason);

/* @ttl clamped to [RR_TTL_MIN, RR_TTL_MAX]. */
uint32_t rr_ttl_clamp(long long ttl);

/*
 * The remote backend record object:
 *   {"qtype":"A","qname":"www.dyn.test.","content":"192.0.2.1","ttl":60,"domain_id":1}
 * @qname and @content are borrowed and must already be normalized; @ttl is
 * clamped. Returns a new reference, or NULL for an unknown @type, a NULL
 * string, a string that is not UTF-8, or no memory.
 */
json_t *rr_to_json(const char *qname, enum rr_type type, const char *content, long long ttl,
		   long long domain_id);
