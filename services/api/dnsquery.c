/* dnsquery: one DNS question to one server, on an event loop (see dnsquery.h). */

#include "services/api/dnsquery.h"
#include "shared/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* A datagram longer than this is not an answer to our EDNS0 size. */
#define UDP_MAX 4096

struct dnsquery {
	struct event_base *base; /* borrowed */
	struct sockaddr_storage server;
	socklen_t server_len;
	int fd;                  /* the UDP socket; -1 once closed */
	struct event *udp_ev;    /* owned; reads of fd */
	struct event *timer;     /* owned; the second send, then the deadline */
	struct bufferevent *tcp; /* owned; after a truncated UDP answer */
	uint8_t *wire;           /* owned; the query */
	size_t wire_len;
	char *name; /* owned */
	uint16_t id, type;
	long long start_us, resend_us, deadline_us;
	bool resent;
	dnsquery_fn cb;
	void *arg;
};

static long long now_us(void)
{
	return clock_ns() / 1000;
}

/* ---- packets -------------------------------------------------------------- */

int dnsquery_packet(const char *name, uint16_t type, uint16_t id, uint8_t **ret_wire,
		    size_t *ret_len)
{
	ldns_rdf *qname;
	ldns_pkt *p;
	uint8_t *wire = NULL;
	size_t len = 0;
	ldns_status s;

	if (!name || !*name)
		return -EINVAL;
	qname = ldns_dname_new_frm_str(name);
	if (!qname)
		return -EINVAL;
	/* no flags: RD stays clear, the server is authoritative */
	p = ldns_pkt_query_new(qname, (ldns_rr_type)type, LDNS_RR_CLASS_IN, 0);
	if (!p) {
		ldns_rdf_deep_free(qname); /* not taken on failure */
		return -ENOMEM;
	}
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_edns_udp_size(p, DNSQUERY_EDNS_SIZE);
	s = ldns_pkt2wire(&wire, p, &len);
	ldns_pkt_free(p);
	if (s != LDNS_STATUS_OK) {
		free(wire);
		return s == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
	}
	*ret_wire = wire;
	*ret_len = len;
	return 0;
}

void dnsquery_result_free(struct dnsquery_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_answers; i++) {
		free(r->answers[i].name);
		free(r->answers[i].content);
	}
	free(r->answers);
	free(r);
}

/* The rdata of @rr as ldns prints it in a zone file line: fields joined by one space. */
static char *rdata_str(const ldns_rr *rr)
{
	ldns_buffer *b = ldns_buffer_new(256);
	char *s = NULL;

	if (!b)
		return NULL;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		if (i > 0)
			ldns_buffer_printf(b, " ");
		if (ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, i)) != LDNS_STATUS_OK)
			goto out;
	}
	if (ldns_buffer_status_ok(b))
		s = ldns_buffer_export2str(b);
out:
	ldns_buffer_free(b);
	return s;
}

static int take_answers(const ldns_pkt *p, struct dnsquery_result *r)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	size_t n = an ? ldns_rr_list_rr_count(an) : 0;

	if (n == 0)
		return 0;
	r->answers = calloc(n, sizeof(*r->answers));
	if (!r->answers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		struct dnsquery_rr *out = &r->answers[i];
		char *tn;

		r->n_answers++;
		out->type = (uint16_t)ldns_rr_get_type(rr);
		out->ttl = ldns_rr_ttl(rr);
		tn = ldns_rr_type2str(ldns_rr_get_type(rr));
		if (tn)
			snprintf(out->type_name, sizeof(out->type_name), "%s", tn);
		else
			snprintf(out->type_name, sizeof(out->type_name), "TYPE%u", out->type);
		free(tn);
		out->name = ldns_rdf2str(ldns_rr_owner(rr));
		out->content = rdata_str(rr);
		if (!out->name || !out->content)
			return -ENOMEM;
	}
	return 0;
}

/* The question of @p is exactly (@qname, @type, IN). */
static bool same_question(const ldns_pkt *p, const ldns_rdf *qname, uint16_t type)
{
	const ldns_rr_list *q = ldns_pkt_question(p);
	const ldns_rr *rr;

	if (!q || ldns_rr_list_rr_count(q) != 1)
		return false;
	rr = ldns_rr_list_rr(q, 0);
	return ldns_rr_get_type(rr) == (ldns_rr_type)type &&
	       ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
	       ldns_dname_compare(ldns_rr_owner(rr), qname) == 0;
}

int dnsquery_parse(const uint8_t *wire, size_t len, uint16_t id, const char *name, uint16_t type,
		   struct dnsquery_result **ret_result, const char **ret_reason)
{
	const char *reason = NULL;
	ldns_pkt *p = NULL;
	ldns_rdf *qname = NULL;
	ldns_lookup_table *lt;
	struct dnsquery_result *r = NULL;
	int err;

	if (!wire || len < LDNS_HEADER_SIZE) {
		err = -EPROTO;
		reason = "the answer is shorter than a DNS header";
		goto out;
	}
	if (LDNS_ID_WIRE(wire) != id) {
		err = -EBADMSG;
		reason = "the answer carries another id";
		goto out;
	}
	if (!LDNS_QR_WIRE(wire) || LDNS_OPCODE_WIRE(wire) != LDNS_PACKET_QUERY) {
		err = -EPROTO;
		reason = "the answer is not a response to a standard query";
		goto out;
	}
	if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK) {
		p = NULL;
		err = -EPROTO;
		reason = "the answer is not a valid DNS message";
		goto out;
	}
	qname = ldns_dname_new_frm_str(name);
	if (!qname) {
		err = -EINVAL;
		reason = "the name is not valid";
		goto out;
	}
	if (!same_question(p, qname, type)) {
		err = -EPROTO;
		reason = "the answer is to another question";
		goto out;
	}
	if (ldns_pkt_tc(p)) {
		err = -EMSGSIZE;
		reason = "the answer is truncated";
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		err = -ENOMEM;
		reason = "out of memory";
		goto out;
	}
	r->rcode = (uint8_t)ldns_pkt_get_rcode(p);
	lt = ldns_lookup_by_id(ldns_rcodes, r->rcode);
	if (lt && lt->name)
		snprintf(r->rcode_name, sizeof(r->rcode_name), "%s", lt->name);
	else
		snprintf(r->rcode_name, sizeof(r->rcode_name), "RCODE%u", r->rcode);
	r->authoritative = ldns_pkt_aa(p);
	err = take_answers(p, r);
	if (err < 0) {
		reason = "out of memory";
		goto out;
	}
	*ret_result = r;
	r = NULL;
out:
	dnsquery_result_free(r);
	ldns_rdf_deep_free(qname);
	ldns_pkt_free(p);
	if (ret_reason)
		*ret_reason = reason;
	return err;
}

/* ---- servers -------------------------------------------------------------- */

int dnsquery_server_parse(const char *text, struct sockaddr_storage *ret, const char **ret_reason)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = text, *reason = "expected address:port, e.g. 127.0.0.1:5300";
	size_t hlen;
	char *end;
	unsigned long port;
	struct sockaddr_storage ss;

	if (!text)
		goto bad;
	colon = strrchr(text, ':');
	if (!colon)
		goto bad;
	hlen = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hlen < 2 || text[hlen - 1] != ']')
			goto bad;
		h = text + 1;
		hlen -= 2;
	} else if (memchr(text, ':', hlen)) {
		reason = "an IPv6 address needs brackets: [2001:db8::53]:53";
		goto bad;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port == 0 || port > 65535) {
		reason = "the port must be 1 to 65535";
		goto bad;
	}
	memset(&ss, 0, sizeof(ss));
	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
			reason = "not a numeric IPv6 address";
			goto bad;
		}
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			reason = "not a numeric IPv4 address (host names are not looked up)";
			goto bad;
		}
	}
	*ret = ss;
	return 0;
bad:
	if (ret_reason)
		*ret_reason = reason;
	return -EINVAL;
}

int dnsquery_server_check(const char *value, const char **ret_reason)
{
	struct sockaddr_storage ss;

	return dnsquery_server_parse(value, &ss, ret_reason);
}

void dnsquery_server_format(const struct sockaddr_storage *server, char buf[DNSQUERY_SERVER_STRLEN])
{
	char a[INET6_ADDRSTRLEN];

	if (server->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)server;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, DNSQUERY_SERVER_STRLEN, "%s:%u", a, ntohs(s4->sin_port));
	} else if (server->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)server;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, DNSQUERY_SERVER_STRLEN, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, DNSQUERY_SERVER_STRLEN, "?");
	}
}

/* ---- the exchange ----------------------------------------------------------- */

static void close_udp(struct dnsquery *q)
{
	if (q->udp_ev) {
		event_free(q->udp_ev);
		q->udp_ev = NULL;
	}
	if (q->fd >= 0) {
		close(q->fd);
		q->fd = -1;
	}
}

static void destroy(struct dnsquery *q)
{
	close_udp(q);
	if (q->timer)
		event_free(q->timer);
	if (q->tcp)
		bufferevent_free(q->tcp);
	free(q->wire);
	free(q->name);
	free(q);
}

/* Calls back once and frees the query. */
static void finish(struct dnsquery *q, int err, struct dnsquery_result *res, const char *reason)
{
	if (res) {
		long long us = now_us() - q->start_us;

		/* to 10 µs: enough for loopback, and short in JSON */
		res->elapsed_ms = (double)((us + 5) / 10) / 100.0;
	}
	q->cb(res, err, reason, q->arg);
	dnsquery_result_free(res);
	destroy(q);
}

/* The timer at the next point in time: the second send, or the deadline. */
static void arm_timer(struct dnsquery *q)
{
	long long at = q->fd >= 0 && !q->resent ? q->resend_us : q->deadline_us;
	long long left = at - now_us();
	struct timeval tv;

	if (left < 0)
		left = 0;
	tv.tv_sec = (time_t)(left / 1000000);
	tv.tv_usec = (suseconds_t)(left % 1000000);
	evtimer_add(q->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dnsquery *q = arg;

	(void)fd;
	(void)what;
	if (now_us() >= q->deadline_us)
		return finish(q, -ETIMEDOUT, NULL, "no answer in time");
	if (q->fd >= 0 && !q->resent) {
		/* a failed send (ICMP error pending, buffer full) waits for the deadline */
		(void)send(q->fd, q->wire, q->wire_len, MSG_NOSIGNAL);
		q->resent = true;
	}
	arm_timer(q);
}

/* Takes a whole answer: usable, truncated (then TCP), or the end. */
static void take(struct dnsquery *q, const uint8_t *wire, size_t len, bool over_tcp);

static void on_tcp_read(struct bufferevent *bev, void *arg)
{
	struct dnsquery *q = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2];
	size_t mlen;
	uint8_t *msg;

	if (evbuffer_copyout(in, hdr, 2) < 2)
		return;
	mlen = (size_t)hdr[0] << 8 | hdr[1];
	if (evbuffer_get_length(in) < 2 + mlen)
		return;
	msg = evbuffer_pullup(in, (ev_ssize_t)(2 + mlen));
	if (!msg)
		return finish(q, -ENOMEM, NULL, "out of memory");
	take(q, msg + 2, mlen, true);
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct dnsquery *q = arg;
	int e = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_EOF)
		return finish(q, -ECONNRESET, NULL, "the server closed the TCP connection");
	finish(q, e > 0 ? -e : -EIO, NULL, "the TCP connection failed");
}

static void start_tcp(struct dnsquery *q)
{
	uint8_t hdr[2] = { (uint8_t)(q->wire_len >> 8), (uint8_t)q->wire_len };

	close_udp(q);
	q->tcp = bufferevent_socket_new(q->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!q->tcp)
		return finish(q, -ENOMEM, NULL, "out of memory");
	bufferevent_setcb(q->tcp, on_tcp_read, NULL, on_tcp_event, q);
	if (bufferevent_write(q->tcp, hdr, 2) < 0 ||
	    bufferevent_write(q->tcp, q->wire, q->wire_len) < 0 ||
	    bufferevent_enable(q->tcp, EV_READ | EV_WRITE) < 0)
		return finish(q, -ENOMEM, NULL, "out of memory");
	if (bufferevent_socket_connect(q->tcp, (struct sockaddr *)&q->server, (int)q->server_len) <
	    0)
		return finish(q, -ECONNREFUSED, NULL, "could not connect over TCP");
	/* the timer keeps the deadline: it is past the second send now */
}

static void take(struct dnsquery *q, const uint8_t *wire, size_t len, bool over_tcp)
{
	struct dnsquery_result *res = NULL;
	const char *reason = NULL;
	int r = dnsquery_parse(wire, len, q->id, q->name, q->type, &res, &reason);

	if (r == -EMSGSIZE && !over_tcp)
		return start_tcp(q);
	/* over UDP anybody can send a datagram to the port: one that is not the
	 * answer (another id, not a response, another question) is dropped, and
	 * the query waits on for the real one until its deadline */
	if ((r == -EBADMSG || r == -EPROTO) && !over_tcp)
		return;
	if (r == -EMSGSIZE)
		reason = "the answer is truncated over TCP too";
	if (r == 0)
		res->tcp = over_tcp;
	finish(q, r, res, reason);
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct dnsquery *q = arg;
	uint8_t buf[UDP_MAX];

	(void)what;
	/* a few datagrams at most: a pending ICMP error, then the answer */
	for (int i = 0; i < 4; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n < 0)
			continue; /* ECONNREFUSED (port unreachable): no answer, keep waiting */
		if ((size_t)n > sizeof(buf))
			return finish(q, -EPROTO, NULL, "the answer is larger than offered");
		return take(q, buf, (size_t)n, false);
	}
}

int dnsquery_start(struct event_base *base, const struct sockaddr_storage *server, const char *name,
		   uint16_t type, unsigned timeout_ms, dnsquery_fn cb, void *arg,
		   struct dnsquery **ret_query)
{
	struct dnsquery *q;
	int r;

	if (!base || !server || !name || !cb || timeout_ms < 2 ||
	    (server->ss_family != AF_INET && server->ss_family != AF_INET6))
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = -1;
	q->base = base;
	q->server = *server;
	q->server_len = server->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						     : sizeof(struct sockaddr_in6);
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->name = strdup(name);
	if (!q->name) {
		r = -ENOMEM;
		goto fail;
	}
	if (getrandom(&q->id, sizeof(q->id), 0) != (ssize_t)sizeof(q->id)) {
		r = -EAGAIN;
		goto fail;
	}
	r = dnsquery_packet(name, type, q->id, &q->wire, &q->wire_len);
	if (r < 0)
		goto fail;
	q->fd = socket(server->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (const struct sockaddr *)server, q->server_len) < 0) {
		r = -errno;
		goto fail;
	}
	q->udp_ev = event_new(base, q->fd, EV_READ | EV_PERSIST, on_udp, q);
	q->timer = evtimer_new(base, on_timer, q);
	if (!q->udp_ev || !q->timer) {
		r = -ENOMEM;
		goto fail;
	}
	q->start_us = now_us();
	q->resend_us = q->start_us + (long long)timeout_ms * 1000 / 2;
	q->deadline_us = q->start_us + (long long)timeout_ms * 1000;
	if (send(q->fd, q->wire, q->wire_len, MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
	    errno != EWOULDBLOCK) {
		r = -errno;
		goto fail;
	}
	if (event_add(q->udp_ev, NULL) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	arm_timer(q);
	if (ret_query)
		*ret_query = q;
	return 0;
fail:
	destroy(q);
	return r;
}

void dnsquery_cancel(struct dnsquery *q)
{
	if (q)
		finish(q, -ECANCELED, NULL, "cancelled");
}
