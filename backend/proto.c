/* The remote-backend protocol without I/O: requests, typed filtering, replies. */

#include "backend/proto.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[PROTO_METHOD_COUNT] = {
	[PROTO_INITIALIZE] = "initialize",
	[PROTO_LOOKUP] = "lookup",
	[PROTO_GET_ALL_DOMAINS] = "getAllDomains",
	[PROTO_GET_DOMAIN_INFO] = "getDomainInfo",
	[PROTO_GET_METADATA] = "getDomainMetadata",
	[PROTO_LIST] = "list",
	[PROTO_UNKNOWN] = "unknown",
};

const char *proto_method_name(enum proto_method method)
{
	if ((unsigned)method >= PROTO_METHOD_COUNT)
		return "unknown";
	return method_names[method];
}

static enum proto_method method_parse(const char *s)
{
	if (strcmp(s, "lookup") == 0)
		return PROTO_LOOKUP;
	if (strcmp(s, "initialize") == 0)
		return PROTO_INITIALIZE;
	if (strcmp(s, "getAllDomains") == 0)
		return PROTO_GET_ALL_DOMAINS;
	if (strcmp(s, "getDomainInfo") == 0)
		return PROTO_GET_DOMAIN_INFO;
	if (strcmp(s, "getAllDomainMetadata") == 0 || strcmp(s, "getDomainMetadata") == 0)
		return PROTO_GET_METADATA;
	if (strcmp(s, "list") == 0)
		return PROTO_LIST;
	return PROTO_UNKNOWN;
}

/* A string parameter without embedded NUL, or NULL. */
static const char *param_string(json_t *params, const char *key)
{
	json_t *v = params ? json_object_get(params, key) : NULL;

	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* Normalizes @in into req->name; an invalid name only clears name_valid. */
static void set_name(struct proto_request *req, const char *in)
{
	req->name_valid = dnsname_normalize(in, DNSNAME_WILDCARD, req->name, NULL) == 0;
	if (!req->name_valid)
		req->name[0] = '\0';
}

static int qtype_parse(const char *in, char ret[PROTO_QTYPE_MAX + 1])
{
	size_t n = strlen(in);

	if (n == 0 || n > PROTO_QTYPE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)in[i]))
			return -EINVAL;
		ret[i] = (char)toupper((unsigned char)in[i]);
	}
	ret[n] = '\0';
	return 0;
}

int proto_parse(const char *line, size_t len, struct proto_request *ret_req,
		const char **ret_reason)
{
	struct proto_request req = { 0 };
	const char *reason = NULL, *s;
	json_t *doc, *params, *method;
	int r = -EINVAL;

	doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc)) {
		reason = doc ? "request is not a JSON object" : "invalid JSON";
		goto out;
	}
	method = json_object_get(doc, "method");
	if (!json_is_string(method)) {
		reason = "method missing or not a string";
		goto out;
	}
	params = json_object_get(doc, "parameters");
	if (params && !json_is_object(params) && !json_is_null(params)) {
		reason = "parameters is not an object";
		goto out;
	}
	if (!json_is_object(params))
		params = NULL;
	req.method = method_parse(json_string_value(method));
	switch (req.method) {
	case PROTO_LOOKUP:
		if (!(s = param_string(params, "qtype"))) {
			reason = "qtype missing or not a string";
			goto out;
		}
		if (qtype_parse(s, req.qtype) < 0) {
			reason = "qtype is not a type mnemonic";
			goto out;
		}
		if (!(s = param_string(params, "qname"))) {
			reason = "qname missing or not a string";
			goto out;
		}
		set_name(&req, s);
		break;
	case PROTO_GET_DOMAIN_INFO:
		if (!(s = param_string(params, "name"))) {
			reason = "name missing or not a string";
			goto out;
		}
		set_name(&req, s);
		break;
	case PROTO_LIST:
		if (!(s = param_string(params, "zonename"))) {
			reason = "zonename missing or not a string";
			goto out;
		}
		set_name(&req, s);
		break;
	default:
		break;
	}
	*ret_req = req;
	r = 0;
out:
	if (r < 0 && ret_reason)
		*ret_reason = reason;
	json_decref(doc);
	return r;
}

int proto_filter(const char *array, size_t len, const char *qtype, char **ret_value)
{
	json_t *doc, *out = NULL, *rr;
	bool any = strcmp(qtype, "ANY") == 0;
	char *value = NULL;
	size_t i;
	int r;

	doc = json_loadb(array, len, 0, NULL);
	if (!json_is_array(doc)) {
		r = -EINVAL;
		goto out;
	}
	r = -ENOMEM;
	if (!(out = json_array()))
		goto out;
	json_array_foreach(doc, i, rr)
	{
		const char *t = json_string_value(json_object_get(rr, "qtype"));

		if (!t)
			continue;
		if (any || strcmp(t, qtype) == 0)
			if (json_array_append(out, rr) < 0)
				goto out;
	}
	if (json_array_size(out) == 0)
		value = strdup("false");
	else
		value = json_dumps(out, JSON_COMPACT);
	if (!value)
		goto out;
	*ret_value = value;
	r = 0;
out:
	json_decref(out);
	json_decref(doc);
	return r;
}

char *proto_reply_result(const char *value, size_t len, size_t *ret_len)
{
	static const char head[] = "{\"result\":", tail[] = "}\n";
	size_t n = sizeof(head) - 1 + len + sizeof(tail) - 1;
	char *line = malloc(n + 1);

	if (!line)
		return NULL;
	memcpy(line, head, sizeof(head) - 1);
	memcpy(line + sizeof(head) - 1, value, len);
	memcpy(line + sizeof(head) - 1 + len, tail, sizeof(tail));
	*ret_len = n;
	return line;
}

char *proto_reply_error(const char *msg, size_t *ret_len)
{
	json_t *o = json_pack("{s:s}", "error", msg ? msg : "error");
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL, *line = NULL;
	size_t n;

	json_decref(o);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*ret_len = n + 1;
	return line;
}
