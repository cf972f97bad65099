/*
 * null_backend: the least work a PowerDNS remote backend can do, for
 * `make bench-dns` to measure what any remote backend could reach with pdns's
 * caches off on this machine (the ceiling that ddns-backend's figures are
 * read against).
 *
 * It serves the zone tests/bench/dns.sh builds, from fixed strings: the apex
 * (SOA, NS), ns1 (A) and the names h<digits> (one A record each, always
 * 10.0.0.1); every other name has no data. No table, no Redis, no JSON
 * library: a request's method, qname and qtype are found by substring. One
 * thread, epoll, every connection served as its lines come (pdns sends one
 * request a line and waits for the answer).
 *
 * Usage: null_backend SOCKET_PATH ZONE   (ZONE with its final dot, lower case)
 * Runs until SIGTERM or SIGINT. A benchmark tool only: it trusts pdns.
 */

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LINE_MAX_BYTES 65536
#define MAX_EVENTS     64

struct conn {
	int fd;
	size_t len;
	char buf[LINE_MAX_BYTES];
};

static volatile sig_atomic_t stop;
static const char *zone;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Copies the string value of "key": "..." in @line into @out; false if absent. */
static bool field(const char *line, const char *key, char *out, size_t size)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != ':')
		return false;
	while (*p == ' ')
		p++;
	if (*p++ != '"')
		return false;
	end = strchr(p, '"');
	if (!end || (size_t)(end - p) >= size)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

static bool is_host(const char *qname)
{
	size_t n = strlen(zone), len = strlen(qname), i = 1;

	if ((qname[0] != 'h' && qname[0] != 'H') || len < n + 3 ||
	    strcasecmp(qname + len - n, zone) != 0 || qname[len - n - 1] != '.')
		return false;
	for (; i < len - n - 1; i++)
		if (qname[i] < '0' || qname[i] > '9')
			return false;
	return true;
}

/* Writes the answer to one request line into @out; returns its length. */
static int answer(const char *line, char *out, size_t size)
{
	char method[64], qname[300], qtype[16];
	bool any, apex;

	if (!field(line, "method", method, sizeof(method)))
		return snprintf(out, size, "{\"result\":false}\n");
	if (strcmp(method, "initialize") == 0)
		return snprintf(out, size, "{\"result\":true}\n");
	if (strcmp(method, "getAllDomains") == 0)
		return snprintf(out, size,
				"{\"result\":[{\"id\":1,\"zone\":\"%s\",\"kind\":\"native\","
				"\"serial\":1}]}\n",
				zone);
	if (strcmp(method, "getDomainInfo") == 0)
		return snprintf(out, size,
				"{\"result\":{\"id\":1,\"zone\":\"%s\",\"kind\":\"native\","
				"\"serial\":1}}\n",
				zone);
	if (strcmp(method, "lookup") != 0 || !field(line, "qname", qname, sizeof(qname)) ||
	    !field(line, "qtype", qtype, sizeof(qtype)))
		return snprintf(out, size, "{\"result\":false}\n");
	any = strcmp(qtype, "ANY") == 0;
	apex = strcasecmp(qname, zone) == 0;
	if (apex && (any || strcmp(qtype, "SOA") == 0 || strcmp(qtype, "NS") == 0)) {
		int n = snprintf(out, size, "{\"result\":[");

		if (any || strcmp(qtype, "SOA") == 0)
			n += snprintf(out + n, size - (size_t)n,
				      "{\"qtype\":\"SOA\",\"qname\":\"%s\",\"content\":\"ns1.%s "
				      "hostmaster.%s 1 10800 3600 604800 60\",\"ttl\":60,"
				      "\"domain_id\":1}%s",
				      qname, zone, zone, any ? "," : "");
		if (any || strcmp(qtype, "NS") == 0)
			n += snprintf(out + n, size - (size_t)n,
				      "{\"qtype\":\"NS\",\"qname\":\"%s\",\"content\":\"ns1.%s\","
				      "\"ttl\":3600,\"domain_id\":1}",
				      qname, zone);
		return n + snprintf(out + n, size - (size_t)n, "]}\n");
	}
	if ((any || strcmp(qtype, "A") == 0) &&
	    ((strncasecmp(qname, "ns1.", 4) == 0 && strcasecmp(qname + 4, zone) == 0) ||
	     is_host(qname)))
		return snprintf(out, size,
				"{\"result\":[{\"qtype\":\"A\",\"qname\":\"%s\",\"content\":\"%s\","
				"\"ttl\":60,\"domain_id\":1}]}\n",
				qname,
				qname[0] == 'n' || qname[0] == 'N' ? "127.0.0.1" : "10.0.0.1");
	return snprintf(out, size, "{\"result\":false}\n");
}

/* Answers every complete line in @c; false when the connection must close. */
static bool serve(struct conn *c)
{
	char out[2048];
	char *start = c->buf, *nl;

	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
		int n;

		*nl = '\0';
		n = answer(start, out, sizeof(out));
		if (n <= 0 || (size_t)n >= sizeof(out) || write(c->fd, out, (size_t)n) != n)
			return false;
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	return c->len < sizeof(c->buf) - 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev, events[MAX_EVENTS];
	int lfd, ep;

	/* a zone name is at most 255 bytes: answers then fit their buffer */
	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path) || strlen(argv[2]) > 255) {
		fprintf(stderr, "usage: null_backend SOCKET_PATH ZONE\n");
		return EXIT_FAILURE;
	}
	zone = argv[2];
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
		fprintf(stderr, "null_backend: could not listen on \"%s\": %s\n", argv[1],
			strerror(errno));
		return EXIT_FAILURE;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* the listener */
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		fprintf(stderr, "null_backend: epoll: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	while (!stop) {
		int n = epoll_wait(ep, events, MAX_EVENTS, 1000);

		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			ssize_t got;

			if (!c) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				if (fd < 0)
					continue;
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
					close(fd);
					free(c);
				}
				continue;
			}
			got = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
			if (got > 0) {
				c->len += (size_t)got;
				if (serve(c))
					continue;
			} else if (got < 0 && errno == EINTR) {
				continue;
			}
			close(c->fd); /* also leaves the epoll set */
			free(c);
		}
	}
	unlink(argv[1]);
	return EXIT_SUCCESS;
}
