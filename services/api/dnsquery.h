#pragma once

/*
 * dnsquery: one DNS question to one server (PowerDNS), asked asynchronously on
 * an event loop, so the API can show what the DNS answers right now.
 *
 * A query is a packet built with ldns (random 16-bit id, class IN, no RD:
 * the server is authoritative, EDNS0 with a UDP size of DNSQUERY_EDNS_SIZE),
 * sent from a non-blocking UDP socket of its own, connected to the server (so
 * the kernel drops datagrams from anyone else). The same packet is sent once
 * more when half of the time is gone without an answer. An answer is usable
 * when it carries the query's id, is a response (QR) to a standard query,
 * repeats the question (name compared case-insensitively, type, class IN)
 * and is not truncated; a truncated one (TC) is asked again over TCP, within
 * the same deadline. An ICMP "port unreachable" is not an answer: the query
 * keeps waiting (the server may come back for the second send).
 *
 * Contract: dnsquery_start() either fails (a negative errno, no callback) or
 * calls back exactly once, later, from the loop, never from inside
 * dnsquery_start(); dnsquery_cancel() calls back at once with -ECANCELED.
 * The query is freed right after its callback returns: its handle must not
 * be used from the callback on.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;

/* The UDP payload size offered in EDNS0 (the DNS flag day 2020 value). */
#define DNSQUERY_EDNS_SIZE 1232
/* Room for "[v6 address]:port" and its NUL. */
#define DNSQUERY_SERVER_STRLEN 64

/* One record of the answer section. */
struct dnsquery_rr {
	char *name;         /* owned; absolute, as ldns prints it ("alice.dyn.test.") */
	uint16_t type;      /* the type code */
	char type_name[16]; /* "A", "TYPE65280" */
	uint32_t ttl;       /* seconds */
	char *content;      /* owned; the rdata fields as ldns prints them, space separated */
};

struct dnsquery_result {
	uint8_t rcode;       /* 0 NOERROR, 3 NXDOMAIN, ... (the header's 4 bits) */
	char rcode_name[16]; /* "NOERROR", "NXDOMAIN", "SERVFAIL", "RCODE12" */
	bool authoritative;  /* AA */
	bool tcp;            /* the answer came over TCP (the UDP one was truncated) */
	size_t n_answers;
	struct dnsquery_rr *answers; /* owned; n_answers records */
	double elapsed_ms;           /* first send to usable answer; 0 when parsed offline */
};

void dnsquery_result_free(struct dnsquery_result *r); /* NULL-safe */

/*
 * The outcome: @err 0 and @res (borrowed for the call) on a usable answer;
 * else @res is NULL, @err one of
 *   -ETIMEDOUT    no usable answer before the deadline
 *   -EBADMSG      an answer with another id
 *   -EPROTO       not a response, another question, or not DNS at all
 *   -EMSGSIZE     truncated over TCP too
 *   -ECONNREFUSED, -ECONNRESET, ...: the TCP connection failed
 *   -ECANCELED    dnsquery_cancel()
 *   -ENOMEM
 * and @reason a static, lower-case text for logs and error messages.
 */
typedef void (*dnsquery_fn)(const struct dnsquery_result *res, int err, const char *reason,
			    void *arg);

struct dnsquery;

/*
 * Asks @server (copied; AF_INET or AF_INET6) for @name (absolute or not, as
 * ldns reads it: "alice.dyn.test.") and @type, on @base (borrowed; must
 * outlive the query), within @timeout_ms (at least 2). Returns 0 and, when
 * @ret_query is not NULL, the query's handle (valid until the callback);
 * -EINVAL for a name ldns does not accept or a bad server; -ENOMEM; or the
 * errno of socket()/connect()/send().
 */
int dnsquery_start(struct event_base *base, const struct sockaddr_storage *server, const char *name,
		   uint16_t type, unsigned timeout_ms, dnsquery_fn cb, void *arg,
		   struct dnsquery **ret_query);

/* Ends the query now: its callback runs, with -ECANCELED, before this returns. */
void dnsquery_cancel(struct dnsquery *q);

/* ---- the parts without I/O (exported for the tests) ------------------------ */

/*
 * The wire form of the query for @name and @type with @id, EDNS0 included,
 * into *@ret_wire (owned by the caller: free()) and *@ret_len. Returns 0,
 * -EINVAL (a name ldns does not accept) or -ENOMEM.
 */
int dnsquery_packet(const char *name, uint16_t type, uint16_t id, uint8_t **ret_wire,
		    size_t *ret_len);

/*
 * Reads the answer @wire of @len bytes to the query (@id, @name, @type).
 * Returns 0 and *@ret_result (free with dnsquery_result_free); or -EBADMSG,
 * -EPROTO, -EMSGSIZE (TC set), -EINVAL (@name is not a name), -ENOMEM, with a
 * static reason in *@ret_reason (when not NULL). Checks the id first, then
 * that it is a response, then the question, then TC.
 */
int dnsquery_parse(const uint8_t *wire, size_t len, uint16_t id, const char *name, uint16_t type,
		   struct dnsquery_result **ret_result, const char **ret_reason);

/*
 * Parses "192.0.2.53:53" or "[2001:db8::53]:53" (numeric addresses only,
 * port 1 to 65535) into *@ret (zeroed first). Returns 0, or -EINVAL with a
 * static reason in *@ret_reason (when not NULL); *@ret is untouched then.
 */
int dnsquery_server_parse(const char *text, struct sockaddr_storage *ret, const char **ret_reason);

/* The `check` member of struct config_key: dnsquery_server_parse() accepts @value. */
int dnsquery_server_check(const char *value, const char **ret_reason);

/* "192.0.2.53:53", "[2001:db8::53]:53" into @buf; "?" for another family. */
void dnsquery_server_format(const struct sockaddr_storage *server,
			    char buf[DNSQUERY_SERVER_STRLEN]);
