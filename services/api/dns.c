/*
 * ddns-api: GET /api/v1/domains/{name}/dns, what PowerDNS answers right now
 * for a name at or below one of the caller's domains, so the dashboard can
 * show a change arriving. The domain's owner is checked in PostgreSQL, then
 * one query goes to the configured server (dns_server) through dnsquery.c.
 *
 * Queries in flight are listed on the engine (api->dns_waits) and bounded
 * (DNS_IN_FLIGHT_MAX: each holds a socket); api_destroy cancels them, and
 * their requests are answered 503.
 */

#include "services/api/api_int.h"
#include "services/api/dnsquery.h"
#include "shared/db.h"
#include "shared/dnsname.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/rr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_TIMEOUT_MS    2000 /* the whole exchange; UDP is sent again after half */
#define DNS_IN_FLIGHT_MAX 256

struct dns_wait {
	struct call *c;               /* borrowed; answered when the wait ends */
	struct dnsquery *q;           /* the query in flight; NULL before and after */
	struct dns_wait *prev, *next; /* in api->dns_waits while q is set */
	char name[DNSNAME_SIZE];      /* normalized */
	enum rr_type type;
};

static void link_wait(struct api *api, struct dns_wait *w)
{
	w->prev = NULL;
	w->next = api->dns_waits;
	if (w->next)
		w->next->prev = w;
	api->dns_waits = w;
	api->n_dns_waits++;
}

static void unlink_wait(struct api *api, struct dns_wait *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		api->dns_waits = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	api->n_dns_waits--;
}

void dns_cancel_all(struct api *api)
{
	/* each callback unlinks its wait: the head moves on */
	while (api->dns_waits)
		dnsquery_cancel(api->dns_waits->q);
}

/* The answer's body, with elapsed_ms in short decimal form (not 0.80000000000000004). */
static char *answer_text(const struct call *c, const struct dns_wait *w,
			 const struct dnsquery_result *res)
{
	json_t *answers = json_array(), *body;
	char *text;

	if (!answers)
		return NULL;
	for (size_t i = 0; i < res->n_answers; i++) {
		const struct dnsquery_rr *rr = &res->answers[i];

		if (json_array_append_new(answers, json_pack("{s:s, s:s, s:I, s:s}", "name",
							     rr->name, "type", rr->type_name, "ttl",
							     (json_int_t)rr->ttl, "content",
							     rr->content)) < 0) {
			json_decref(answers);
			return NULL;
		}
	}
	body = json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:f}", "name", w->name, "type",
			 rr_type_name(w->type), "rcode", res->rcode_name, "authoritative",
			 res->authoritative, "answers", answers, "server", c->api->dns_server_text,
			 "elapsed_ms", res->elapsed_ms);
	if (!body)
		return NULL;
	text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(8));
	json_decref(body);
	return text;
}

static void on_answer(const struct dnsquery_result *res, int err, const char *reason, void *arg)
{
	struct dns_wait *w = arg;
	struct call *c = w->c;
	struct api *api = c->api;
	const char *id = http_request_id(c->req);
	char *text;

	unlink_wait(api, w);
	w->q = NULL;
	if (err == -ECANCELED) {
		free(w);
		return call_reply_error(c, 503, "unavailable",
					"the service is shutting down, try again");
	}
	if (err == -ETIMEDOUT) {
		log_warn(id, "DNS server %s did not answer \"%s\" %s within %d ms",
			 api->dns_server_text, w->name, rr_type_name(w->type), DNS_TIMEOUT_MS);
		free(w);
		return call_reply_error(c, 504, "dns_timeout",
					"the DNS server did not answer within %d s, try again",
					DNS_TIMEOUT_MS / 1000);
	}
	if (err < 0) {
		log_warn(id, "DNS server %s: unusable answer to \"%s\" %s: %s",
			 api->dns_server_text, w->name, rr_type_name(w->type),
			 reason ? reason : strerror(-err));
		free(w);
		return call_reply_error(c, 502, "dns_error",
					"the DNS server's answer could not be used: %s",
					reason ? reason : "error");
	}
	text = answer_text(c, w, res);
	free(w);
	if (!text)
		return call_reply_error(c, 503, "unavailable", "out of memory");
	call_reply_text(c, 200, text);
	free(text);
}

/* The domain is the caller's: ask PowerDNS. */
static void on_owner(PGresult *res, const struct db_error *err, void *arg)
{
	struct dns_wait *w = arg;
	struct call *c = w->c;
	struct api *api = c->api;
	int r;

	if (err) {
		free(w);
		return call_reply_db_error(c, err, "domain");
	}
	if (PQntuples(res) == 0) {
		free(w);
		return call_reply_error(c, 404, "not_found", "no such domain");
	}
	if (api->closing) {
		free(w);
		return call_reply_error(c, 503, "unavailable",
					"the service is shutting down, try again");
	}
	if (api->n_dns_waits >= DNS_IN_FLIGHT_MAX) {
		free(w);
		log_warn(http_request_id(c->req), "%d DNS queries in flight, refusing another",
			 DNS_IN_FLIGHT_MAX);
		return call_reply_error(c, 503, "unavailable", "the service is busy, try again");
	}
	r = dnsquery_start(api->base, &api->dns_server, w->name, (uint16_t)w->type, DNS_TIMEOUT_MS,
			   on_answer, w, &w->q);
	if (r < 0) {
		log_warn(http_request_id(c->req), "could not query DNS server %s: %s",
			 api->dns_server_text, strerror(-r));
		free(w);
		return call_reply_error(c, 503, "unavailable",
					"the DNS server cannot be asked now, try again");
	}
	link_wait(api, w);
}

void h_domain_dns(struct call *c)
{
	char domain[DNSNAME_SIZE];
	const char *name, *type, *code = NULL;
	const char *params[] = { c->user_s, domain };
	char msg[256];
	struct dns_wait *w;

	if (param_domain(c, domain) < 0)
		return;
	w = calloc(1, sizeof(*w));
	if (!w)
		return call_reply_error(c, 503, "unavailable", "out of memory");
	w->c = c;
	name = http_request_query(c->req, "name");
	if (!name) {
		memcpy(w->name, domain, sizeof(domain));
	} else if (valid_name(name, w->name, &code, msg, sizeof(msg)) < 0) {
		free(w);
		return call_reply_error(c, 400, code, "%s", msg);
	} else if (!dnsname_is_at_or_below(w->name, domain)) {
		free(w);
		return call_reply_error(c, 400, "invalid_name",
					"the name must be at or below \"%s\"", domain);
	}
	type = http_request_query(c->req, "type");
	w->type = RR_A;
	if (type && (strlen(type) > 10 || rr_type_parse(type, &w->type) < 0)) {
		free(w);
		return call_reply_error(c, 400, "invalid_field",
					"type must be one of A, AAAA, CNAME, MX, TXT, SRV, CAA, "
					"NS, SOA");
	}
	if (db_pool_query(c->api->pool, "SELECT 1 FROM domains WHERE name = $2 AND user_id = $1", 2,
			  params, -1, on_owner, w) < 0) {
		free(w);
		call_reply_error(c, 503, "unavailable", "the service is busy, try again");
	}
}
