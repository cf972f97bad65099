#pragma once

/*
 * The PowerDNS 4.7 remote-backend protocol, without I/O: parsing one request
 * line, filtering a stored answer by type, and the reply lines.
 *
 * A request is one compact JSON object: {"method": "...", "parameters": {...}}.
 * A reply is one line: {"result": <value>} or {"error": "<reason>"}. A reply
 * without "result" makes pdns answer SERVFAIL: that is the answer for every
 * failure (bad request, store down, deadline); {"result":false} is only ever
 * sent when the answer really is "no data".
 */

#include "shared/dnsname.h"

#include <stdbool.h>
#include <stddef.h>

enum proto_method {
	PROTO_INITIALIZE,
	PROTO_LOOKUP,
	PROTO_GET_ALL_DOMAINS,
	PROTO_GET_DOMAIN_INFO,
	PROTO_GET_METADATA, /* getAllDomainMetadata, getDomainMetadata */
	PROTO_LIST,
	PROTO_UNKNOWN, /* any other method: {"result":false} */
	PROTO_METHOD_COUNT,
};

/* Longest qtype mnemonic accepted ("TYPE65535"). */
#define PROTO_QTYPE_MAX 15

struct proto_request {
	enum proto_method method;
	/*
	 * lookup: the qname; getDomainInfo: the zone name; list: the zonename.
	 * Normalized (lower case, final dot) when name_valid.
	 */
	char name[DNSNAME_SIZE];
	/* false when the name given is not a valid DNS name: such a name cannot
	 * exist, the answer is {"result":false} */
	bool name_valid;
	/* lookup: upper case ("ANY", "SOA", "A", "TYPE65") */
	char qtype[PROTO_QTYPE_MAX + 1];
};

/* "lookup", "getAllDomains", ...: the name metrics use; "unknown" for PROTO_UNKNOWN. */
const char *proto_method_name(enum proto_method method);

/*
 * Parses one request (@line, @len bytes, without the newline). Returns 0 and
 * fills *ret_req; or -EINVAL with a static reason in *ret_reason ("invalid
 * JSON", "qname missing or not a string", ...) for a request that cannot be
 * answered: reply proto_reply_error(). *ret_req is untouched on failure.
 */
int proto_parse(const char *line, size_t len, struct proto_request *ret_req,
		const char **ret_reason);

/*
 * The result value of a typed lookup: the records of type @qtype (upper case)
 * taken from @array (a stored answer, a JSON array of record objects), as a
 * new compact JSON array string, or "false" when there is none. "ANY" keeps
 * every record. Returns 0 and *ret_value (malloc'd), -EINVAL when @array is
 * not a JSON array, -ENOMEM.
 */
int proto_filter(const char *array, size_t len, const char *qtype, char **ret_value);

/*
 * Reply lines, malloc'd, ending with "\n" (*ret_len excludes nothing: it is
 * the whole line). proto_reply_result() splices @value (a JSON value, @len
 * bytes) as is: {"result":<value>}\n. proto_reply_error(): {"error":"<msg>"}\n
 * with @msg JSON-escaped. Return NULL when out of memory.
 */
char *proto_reply_result(const char *value, size_t len, size_t *ret_len);
char *proto_reply_error(const char *msg, size_t *ret_len);
