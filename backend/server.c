/* The remote-backend socket: connections, request lines, deadlines, replies. */

#include "backend/server.h"
#include "backend/proto.h"
#include "shared/clock.h"
#include "shared/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct conn;

struct server {
	struct event_base *base;         /* borrowed */
	struct evconnlistener *listener; /* owned; NULL when not listening */
	char *socket_path;               /* owned; NULL without a listener */
	struct server_opts opts;         /* strings borrowed as documented */
	struct conn *conns;              /* owned list */
	unsigned n_conns;
	unsigned long next_id;
	bool shutting_down;
	void (*done)(void *arg);
	void *done_arg;
	struct event *done_ev; /* owned: calls @done from the loop */
	bool refused_logged;
};

struct req;

struct conn {
	struct server *srv;      /* borrowed */
	struct bufferevent *bev; /* owned */
	struct conn *prev, *next;
	struct req *cur; /* the request in flight; owned jointly, see struct req */
	char id[24];
	bool closing;    /* close once the output is written */
	bool processing; /* process_input() is on the stack */
};

/*
 * A request lives until it is answered and its source operation (if any)
 * has completed: whichever comes last frees it.
 */
struct req {
	struct conn *conn; /* borrowed; NULL once the connection is gone */
	struct server *srv;
	struct proto_request pr;
	struct event *timer; /* owned: the deadline */
	int64_t start_ns;
	bool pending;  /* a source operation will still call back */
	bool answered; /* the reply was sent (or the connection is gone) */
};

static void process_input(struct conn *c);
static void conn_free(struct conn *c);

/* ---- requests ---------------------------------------------------------- */

static void req_free(struct req *q)
{
	if (q->timer)
		event_free(q->timer);
	free(q);
}

/* Frees @q when nobody needs it any more. */
static void req_release(struct req *q)
{
	if (q->answered && !q->pending)
		req_free(q);
}

/* Finishes the connection's view of @q; the connection may go on reading. */
static void conn_end_request(struct conn *c)
{
	struct req *q = c->cur;

	c->cur = NULL;
	if (q) {
		q->conn = NULL;
		q->answered = true;
		if (q->timer)
			event_del(q->timer);
		req_release(q);
	}
}

/* Tail: frees @c if it is done. Call only where @c is not used afterwards. */
static void conn_check_close(struct conn *c)
{
	if (c->closing && !c->cur && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

/*
 * Queues @len bytes of @line for the peer. When nothing is queued yet they
 * go out with one send() here: a reply that fits the socket buffer (nearly
 * all do) then costs no write event, which would cost two epoll_ctl calls
 * and one more loop turn for each lookup. The rest, if any, is queued.
 */
static int conn_send(struct conn *c, const char *line, size_t len)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		ssize_t n = send(bufferevent_getfd(c->bev), line, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (n > 0) {
			line += n;
			len -= (size_t)n;
		}
		if (len == 0)
			return 0;
	}
	return bufferevent_write(c->bev, line, len) < 0 ? -ENOMEM : 0;
}

/*
 * Sends @line (malloc'd, taken over; NULL: out of memory) as the answer of
 * the connection's request, then serves the next line. @c may be freed.
 */
static void conn_reply(struct conn *c, char *line, size_t len)
{
	struct backend_stats *st = c->srv->opts.stats;
	struct req *q = c->cur;

	if (st && q)
		metric_observe(st->latency, (double)(clock_ns() - q->start_ns) / 1e9);
	if (!line) {
		/* out of memory: nothing sensible to say; pdns reconnects */
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
	} else if (conn_send(c, line, len) < 0) {
		/* the peer is gone or memory is: nothing more to say on it */
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
	}
	free(line);
	conn_end_request(c);
	if (!c->processing)
		process_input(c);
}

static void conn_reply_value(struct conn *c, const char *value, size_t len)
{
	size_t n = 0;
	char *line = proto_reply_result(value, len, &n);

	conn_reply(c, line, n);
}

static void conn_reply_error(struct conn *c, const char *msg)
{
	size_t n = 0;
	char *line = proto_reply_error(msg, &n);

	if (c->srv->opts.stats)
		metric_inc(c->srv->opts.stats->errors);
	conn_reply(c, line, n);
}

#define REPLY_FALSE(c) conn_reply_value((c), "false", 5)

/* The zone info of @zone in the zone list @value, or "false". */
static void reply_domain_info(struct conn *c, const char *zone, const char *value, size_t len)
{
	json_t *doc = json_loadb(value, len, 0, NULL), *info;
	bool found = false;
	char *out = NULL;
	size_t i;

	if (!json_is_array(doc)) {
		json_decref(doc);
		conn_reply_error(c, "invalid zone list");
		return;
	}
	json_array_foreach(doc, i, info)
	{
		const char *z = json_string_value(json_object_get(info, "zone"));

		if (z && strcasecmp(z, zone) == 0) {
			found = true;
			out = json_dumps(info, JSON_COMPACT);
			break;
		}
	}
	json_decref(doc);
	if (found && !out) {
		conn_reply_error(c, "out of memory");
		return;
	}
	if (!out) {
		REPLY_FALSE(c);
		return;
	}
	conn_reply_value(c, out, strlen(out));
	free(out);
}

static void on_source_done(enum source_status status, const char *value, size_t len,
			   const char *reason, void *arg)
{
	struct req *q = arg;
	struct conn *c = q->conn;
	char *filtered = NULL;

	q->pending = false;
	if (q->answered || !c) {
		req_release(q);
		return;
	}
	if (status == SOURCE_FAILED) {
		conn_reply_error(c, reason ? reason : "no store can answer");
		return;
	}
	if (status == SOURCE_ABSENT) {
		REPLY_FALSE(c);
		return;
	}
	switch (q->pr.method) {
	case PROTO_LOOKUP:
		if (strcmp(q->pr.qtype, "ANY") == 0) {
			conn_reply_value(c, value, len);
			return;
		}
		if (proto_filter(value, len, q->pr.qtype, &filtered) < 0) {
			conn_reply_error(c, "invalid stored answer");
			return;
		}
		conn_reply_value(c, filtered, strlen(filtered));
		free(filtered);
		return;
	case PROTO_GET_DOMAIN_INFO:
		reply_domain_info(c, q->pr.name, value, len);
		return;
	default:
		conn_reply_value(c, value, len);
		return;
	}
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct req *q = arg;
	struct conn *c = q->conn;
	const struct server_opts *o = &q->srv->opts;
	char *json = NULL;

	if (!c || q->answered)
		return;
	if (o->stats)
		metric_inc(o->stats->deadline_expired);
	log_warn(c->id, "%s \"%s\" reached its deadline of %lld ms",
		 proto_method_name(q->pr.method), q->pr.name, o->deadline_ms);
	if (q->pr.method == PROTO_LOOKUP && o->ops->stale &&
	    o->ops->stale(o->ctx, q->pr.name, &json) == 0) {
		char *filtered = NULL;

		if (strcmp(q->pr.qtype, "ANY") == 0) {
			conn_reply_value(c, json, strlen(json));
		} else if (proto_filter(json, strlen(json), q->pr.qtype, &filtered) == 0) {
			conn_reply_value(c, filtered, strlen(filtered));
			free(filtered);
		} else {
			conn_reply_error(c, "deadline exceeded");
		}
		free(json);
		return;
	}
	conn_reply_error(c, "deadline exceeded");
}

/*
 * Starts the asynchronous part of @q; answers an error when it cannot. The
 * deadline timer is armed only for an operation still pending on return:
 * answers from memory come back before that and need none.
 */
static void req_start(struct conn *c, struct req *q)
{
	const struct server_opts *o = &c->srv->opts;
	int64_t deadline = q->start_ns / 1000000 + o->deadline_ms; /* no second clock read */
	struct timeval tv = { (time_t)(o->deadline_ms / 1000),
			      (suseconds_t)((o->deadline_ms % 1000) * 1000) };
	int r;

	q->pending = true;
	switch (q->pr.method) {
	case PROTO_LOOKUP:
		r = o->ops->lookup(o->ctx, q->pr.name, deadline, on_source_done, q);
		break;
	case PROTO_LIST:
		r = o->ops->list(o->ctx, q->pr.name, deadline, on_source_done, q);
		break;
	default:
		r = o->ops->zones(o->ctx, deadline, on_source_done, q);
		break;
	}
	if (r < 0) {
		/* the callback will never come */
		q->pending = false;
		if (q->conn == c && !q->answered)
			conn_reply_error(c, r == -ENOTCONN ? "store not configured"
							   : "could not start the request");
		return;
	}
	/*
	 * Answered already (and @q freed) when the source called back at once.
	 * dispatch() runs inside process_input(), so @c is alive and serves no
	 * other request meanwhile.
	 */
	if (c->cur != q)
		return;
	q->timer = evtimer_new(c->srv->base, on_deadline, q);
	if (!q->timer || evtimer_add(q->timer, &tv) < 0)
		conn_reply_error(c, "out of memory"); /* the operation frees @q later */
}

static void dispatch(struct conn *c, const char *line, size_t len)
{
	struct backend_stats *st = c->srv->opts.stats;
	const char *reason = NULL;
	struct req *q = calloc(1, sizeof(*q));

	if (!q) {
		conn_reply(c, NULL, 0);
		return;
	}
	q->conn = c;
	q->srv = c->srv;
	q->start_ns = clock_ns();
	c->cur = q;
	if (proto_parse(line, len, &q->pr, &reason) < 0) {
		if (st)
			metric_inc(st->bad_requests);
		log_warn(c->id, "bad request: %s", reason);
		conn_reply_error(c, reason);
		return;
	}
	if (st)
		metric_inc(st->requests[q->pr.method]);
	switch (q->pr.method) {
	case PROTO_INITIALIZE:
		conn_reply_value(c, "true", 4);
		return;
	case PROTO_LOOKUP:
	case PROTO_GET_DOMAIN_INFO:
	case PROTO_LIST:
		if (!q->pr.name_valid) {
			REPLY_FALSE(c); /* not a valid name: it cannot exist */
			return;
		}
		req_start(c, q);
		return;
	case PROTO_GET_ALL_DOMAINS:
		req_start(c, q);
		return;
	default:
		REPLY_FALSE(c);
		return;
	}
}

/* ---- connections ------------------------------------------------------- */

static void conn_fail_line(struct conn *c, const char *msg)
{
	if (c->srv->opts.stats)
		metric_inc(c->srv->opts.stats->bad_requests);
	log_warn(c->id, "%s, closing the connection", msg);
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->bev),
		       evbuffer_get_length(bufferevent_get_input(c->bev)));
	/* an answer of its own, not tied to a request */
	{
		size_t n = 0;
		char *line = proto_reply_error(msg, &n);

		if (c->srv->opts.stats)
			metric_inc(c->srv->opts.stats->errors);
		if (line)
			bufferevent_write(c->bev, line, n);
		free(line);
	}
}

/* Serves complete lines while no request is in flight. May free @c. */
static void process_input(struct conn *c)
{
	size_t max = c->srv->opts.max_line;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->processing = true;
	while (!c->cur && !c->closing) {
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		size_t n;
		char *line;

		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > max)
				conn_fail_line(c, "request line too long");
			break;
		}
		n = (size_t)eol.pos;
		if (n > max) {
			conn_fail_line(c, "request line too long");
			break;
		}
		if (!(line = malloc(n + 1))) {
			conn_fail_line(c, "out of memory");
			break;
		}
		evbuffer_remove(in, line, n);
		evbuffer_drain(in, 1);
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > 0)
			dispatch(c, line, n);
		free(line);
	}
	c->processing = false;
	conn_check_close(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	process_input(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	conn_check_close(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (c->cur)
			log_debug(c->id, "connection closed by pdns with a request in flight");
		conn_free(c);
	}
}

static void on_shutdown_done(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	if (srv->done)
		srv->done(srv->done_arg);
}

static void conn_free(struct conn *c)
{
	struct server *srv = c->srv;

	conn_end_request(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
	srv->n_conns--;
	if (srv->opts.stats)
		metric_dec(srv->opts.stats->connections);
	if (srv->shutting_down && srv->n_conns == 0 && srv->done_ev)
		event_active(srv->done_ev, EV_TIMEOUT, 0);
}

int server_adopt(struct server *srv, int fd)
{
	struct conn *c;

	if (srv->shutting_down || srv->n_conns >= srv->opts.max_connections) {
		if (!srv->refused_logged)
			log_warn(NULL,
				 "refusing a connection: %u connections open (max_connections)",
				 srv->n_conns);
		srv->refused_logged = true;
		close(fd);
		return -EMFILE;
	}
	srv->refused_logged = false;
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return -ENOMEM;
	}
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	c->bev = bufferevent_socket_new(srv->base, fd,
					BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!c->bev) {
		close(fd);
		free(c);
		return -ENOMEM;
	}
	c->srv = srv;
	snprintf(c->id, sizeof(c->id), "conn-%lu", ++srv->next_id);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* stop reading while a whole line plus its newline is waiting */
	bufferevent_setwatermark(c->bev, EV_READ, 0, srv->opts.max_line + 2);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
		bufferevent_free(c->bev);
		free(c);
		return -EIO;
	}
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	if (srv->opts.stats)
		metric_inc(srv->opts.stats->connections);
	log_debug(c->id, "connection accepted");
	return 0;
}

static void on_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
		      int socklen, void *arg)
{
	(void)server_adopt(arg, fd);
}

static void on_accept_error(struct evconnlistener *lst, void *arg)
{
	log_warn(NULL, "could not accept a connection: %s", strerror(errno));
}

/* -EADDRINUSE when a live process answers on @path; removes a stale socket file. */
static int remove_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	log_info(NULL, "removed the stale socket \"%s\"", path);
	return 0;
}

static int listen_unix(struct server *srv, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	r = remove_stale_socket(path);
	if (r < 0)
		return r;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	srv->listener = evconnlistener_new_bind(srv->base, on_accept, srv,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
						(struct sockaddr *)&sa, (int)sizeof(sa));
	if (!srv->listener)
		return errno ? -errno : -EIO;
	evconnlistener_set_error_cb(srv->listener, on_accept_error);
	if (chmod(path, srv->opts.socket_mode) < 0) {
		r = -errno;
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
		unlink(path);
		return r;
	}
	if (!(srv->socket_path = strdup(path)))
		return -ENOMEM;
	return 0;
}

int server_create(struct event_base *base, const struct server_opts *opts,
		  struct server **ret_server)
{
	struct server *srv;
	struct sigaction sa;
	int r;

	if (!opts->ops || !opts->ops->lookup || !opts->ops->zones || !opts->ops->list ||
	    opts->max_line == 0 || opts->max_connections == 0 || opts->deadline_ms <= 0)
		return -EINVAL;
	if (!(srv = calloc(1, sizeof(*srv))))
		return -ENOMEM;
	srv->base = base;
	srv->opts = *opts;
	srv->opts.socket_path = NULL;
	/* a write to a connection pdns closed must not end the process */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	if (opts->socket_path) {
		r = listen_unix(srv, opts->socket_path);
		if (r < 0) {
			server_destroy(srv);
			return r;
		}
	}
	*ret_server = srv;
	return 0;
}

void server_set_deadline(struct server *srv, long long deadline_ms)
{
	if (deadline_ms > 0)
		srv->opts.deadline_ms = deadline_ms;
}

static void stop_listening(struct server *srv)
{
	if (srv->listener) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
	}
	if (srv->socket_path) {
		unlink(srv->socket_path);
		free(srv->socket_path);
		srv->socket_path = NULL;
	}
}

void server_shutdown(struct server *srv, void (*done)(void *arg), void *arg)
{
	struct conn *c, *next;

	if (srv->shutting_down)
		return;
	srv->shutting_down = true;
	srv->done = done;
	srv->done_arg = arg;
	if (done && !(srv->done_ev = evtimer_new(srv->base, on_shutdown_done, srv)))
		log_error(NULL, "out of memory: shutdown completion will not be reported");
	stop_listening(srv);
	for (c = srv->conns; c; c = next) {
		next = c->next;
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		if (!c->cur && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			conn_free(c);
	}
	if (srv->n_conns == 0 && srv->done_ev)
		event_active(srv->done_ev, EV_TIMEOUT, 0);
}

void server_destroy(struct server *srv)
{
	if (!srv)
		return;
	srv->done = NULL;
	stop_listening(srv);
	while (srv->conns)
		conn_free(srv->conns);
	if (srv->done_ev)
		event_free(srv->done_ev);
	free(srv);
}

unsigned server_n_connections(const struct server *srv)
{
	return srv->n_conns;
}
