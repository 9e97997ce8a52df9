/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon around the core: guest rings and unix-socket clients on a
 * libevent loop, and the dom0 API of xenstored.h, which talks to the core
 * through an in-process privileged connection like any other client.
 */
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xs_core.h"
#include "xs_daemon.h"
#include "xs_ring.h"
#include "xenstored.h"

struct ring {
	struct xs_list link;
	struct xsd *xsd;
	uint32_t domid;
	struct xenstore_domain_interface *intf;
	xsd_notify_fn notify;
	void *opaque;
	struct xs_conn *conn;
	struct event *ev_work;
	struct event *ev_kick;
	int kick_fd;
};

#define SOCK_INBUF (64 * 1024)

struct sock {
	struct xs_list link;
	struct xsd *xsd;
	int fd;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_flush;
	bool reading;
	struct xs_conn *conn;
	size_t inlen;
	uint8_t inbuf[SOCK_INBUF];
};

struct iwatch {
	struct xs_list link;
	char *token;
	xsd_watch_fn fn;
	void *opaque;
};

struct ievent {
	struct xs_list link;
	char *path;
	char *token;
};

struct xsd {
	struct event_base *base;
	struct xs_core *core;
	struct xsd_options opts;
	int listen_fd;
	char *sock_path;
	struct event *ev_listen;
	struct xs_list rings;
	struct xs_list socks;
	/* The dom0 API's own connection, its watches and undelivered events. */
	struct xs_conn *iconn;
	uint32_t ireq;
	struct xs_list iwatches;
	struct xs_list ievents;
	struct event *ev_ievents;
	uint8_t *ireply;
	uint32_t ireply_len;
	int ireply_err;
	bool ireply_done;
	uint32_t shutdown_watch_seq;
};

static void core_log(void *opaque, int level, const char *msg)
{
	struct xsd *x = opaque;

	if (x->opts.log) {
		x->opts.log(x->opts.log_opaque, level, msg);
		return;
	}
	fprintf(stderr, "xenstored: %s\n", msg);
}

/* ---------------- guest rings ---------------- */

static void ring_fail(struct ring *r, uint32_t why)
{
	xs_log(r->xsd->core, XS_LOG_ERR, "domain %u: ring error %u, connection stopped", r->domid,
	       why);
	xs_conn_reset(r->conn);
	r->conn->dead = true;
	__atomic_store_n(&r->intf->error, why, __ATOMIC_RELAXED);
	if (r->notify)
		r->notify(r->opaque);
}

static void ring_reconnect(struct ring *r)
{
	struct xenstore_domain_interface *i = r->intf;

	xs_conn_reset(r->conn);
	i->req_cons = i->req_prod = 0;
	i->rsp_cons = i->rsp_prod = 0;
	i->error = XENSTORE_ERROR_NONE;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	i->connection = XENSTORE_CONNECTED;
	if (r->notify)
		r->notify(r->opaque);
}

static void ring_work(evutil_socket_t fd, short what, void *arg)
{
	struct ring *r = arg;
	struct xs_conn *c = r->conn;
	bool progress, notify = false;

	if (__atomic_load_n(&r->intf->connection, __ATOMIC_RELAXED) == XENSTORE_RECONNECT) {
		ring_reconnect(r);
		return;
	}
	do {
		const uint8_t *p;
		size_t n;
		int done;

		progress = false;
		if (c->dead)
			break;
		while ((n = xs_conn_out_peek(c, &p))) {
			done = xs_ring_write(r->intf, p, (uint32_t)n);
			if (done < 0) {
				ring_fail(r, XENSTORE_ERROR_RINGIDX);
				return;
			}
			if (!done)
				break;
			xs_conn_out_consume(c, (size_t)done);
			progress = true;
		}
		while (xs_conn_want_input(c)) {
			uint8_t buf[XENSTORE_PAYLOAD_MAX];
			uint32_t need = xs_conn_input_need(c);

			done = xs_ring_read(r->intf, buf, need < sizeof(buf) ? need : sizeof(buf));
			if (done < 0) {
				ring_fail(r, XENSTORE_ERROR_RINGIDX);
				return;
			}
			if (!done)
				break;
			progress = true;
			if (xs_conn_feed(c, buf, (size_t)done) < 0) {
				ring_fail(r, XENSTORE_ERROR_PROTO);
				return;
			}
		}
		notify |= progress;
	} while (progress);
	if (notify && r->notify)
		r->notify(r->opaque);
}

static void ring_wakeup(struct xs_conn *c, void *opaque)
{
	struct ring *r = opaque;

	event_active(r->ev_work, EV_READ, 0);
}

static const struct xs_conn_ops ring_ops = { .wakeup = ring_wakeup };

static struct ring *ring_find(struct xsd *x, uint32_t domid)
{
	struct ring *r;

	xs_list_for_each(r, &x->rings, struct ring, link)
		if (r->domid == domid)
			return r;
	return NULL;
}

static void ring_free(struct ring *r)
{
	xs_list_del(&r->link);
	if (r->ev_kick)
		event_free(r->ev_kick);
	event_free(r->ev_work);
	if (r->conn)
		xs_conn_free(r->conn);
	free(r);
}

int xsd_domain_introduce(struct xsd *x, uint32_t domid, struct xenstore_domain_interface *ring,
			 xsd_notify_fn notify, void *opaque)
{
	struct ring *r;
	int err = 0;

	if (!domid || domid >= XS_DOMID_SELF || !ring)
		return -EINVAL;
	if (ring_find(x, domid))
		return -EEXIST;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->xsd = x;
	r->domid = domid;
	r->intf = ring;
	r->notify = notify;
	r->opaque = opaque;
	r->kick_fd = -1;
	r->ev_work = event_new(x->base, -1, 0, ring_work, r);
	r->conn = xs_conn_new(x->core, domid, true, &ring_ops, r);
	if (!r->ev_work || !r->conn) {
		if (r->ev_work)
			event_free(r->ev_work);
		xs_conn_free(r->conn);
		free(r);
		return -ENOMEM;
	}
	xs_list_add_tail(&x->rings, &r->link);
	ring->req_cons = ring->req_prod = 0;
	ring->rsp_cons = ring->rsp_prod = 0;
	ring->error = XENSTORE_ERROR_NONE;
	ring->connection = XENSTORE_CONNECTED;
	ring->server_features = XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR;
	if (!xs_domain_introduce(x->core, domid, r->conn, &err)) {
		ring_free(r);
		return -err;
	}
	return 0;
}

void xsd_domain_kick(struct xsd *x, uint32_t domid)
{
	struct ring *r = ring_find(x, domid);

	if (r)
		event_active(r->ev_work, EV_READ, 0);
}

static void kick_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ring *r = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* Spurious wakeup or a non-eventfd: just look at the ring. */
	}
	ring_work(-1, 0, r);
}

int xsd_domain_kick_fd(struct xsd *x, uint32_t domid, int fd)
{
	struct ring *r = ring_find(x, domid);

	if (!r)
		return -ENOENT;
	if (r->ev_kick)
		event_free(r->ev_kick);
	r->kick_fd = fd;
	r->ev_kick = event_new(x->base, fd, EV_READ | EV_PERSIST, kick_fd_cb, r);
	if (!r->ev_kick || event_add(r->ev_kick, NULL))
		return -ENOMEM;
	return 0;
}

int xsd_domain_shutdown(struct xsd *x, uint32_t domid)
{
	struct xs_domain *d = xs_domain_find(x->core, domid);

	if (!d)
		return -ENOENT;
	xs_domain_shutdown(x->core, d);
	return 0;
}

int xsd_domain_release(struct xsd *x, uint32_t domid)
{
	struct xs_domain *d = xs_domain_find(x->core, domid);

	if (!d)
		return -ENOENT;
	xs_domain_release(x->core, d);
	return 0;
}

bool xsd_domain_is_introduced(struct xsd *x, uint32_t domid)
{
	return xs_domain_find(x->core, domid) != NULL;
}

static void hook_release(void *opaque, uint32_t domid)
{
	struct ring *r = ring_find(opaque, domid);

	if (r)
		ring_free(r);
}

/*
 * INTRODUCE from a host tool: we cannot map a page from a gfn, so a domain
 * without a launcher-supplied ring is recorded as introduced without a
 * connection.  One that already has a ring keeps it untouched.
 */
static int hook_introduce(void *opaque, struct xs_conn *from, uint32_t domid, uint64_t gfn,
			  uint32_t port)
{
	return 0;
}

/* ---------------- unix socket clients ---------------- */

static void sock_free(struct sock *s)
{
	xs_list_del(&s->link);
	event_free(s->ev_read);
	event_free(s->ev_write);
	event_free(s->ev_flush);
	xs_conn_free(s->conn);
	close(s->fd);
	free(s);
}

static void sock_input(struct sock *s);

/* Write what we can; when the queue drains, take more input. */
static void sock_flush(evutil_socket_t fd, short what, void *arg)
{
	struct sock *s = arg;
	const uint8_t *p;
	size_t n;

	while ((n = xs_conn_out_peek(s->conn, &p))) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(s->ev_write, NULL);
				return;
			}
			if (errno == EINTR)
				continue;
			sock_free(s);
			return;
		}
		xs_conn_out_consume(s->conn, (size_t)w);
	}
	event_del(s->ev_write);
	if (!s->reading && xs_conn_want_input(s->conn)) {
		s->reading = true;
		event_add(s->ev_read, NULL);
		if (s->inlen)
			sock_input(s);
	}
}

/* Parse what is buffered; pause reading while the client does not read. */
static void sock_input(struct sock *s)
{
	long used = xs_conn_feed(s->conn, s->inbuf, s->inlen);

	if (used < 0) {
		sock_free(s);
		return;
	}
	memmove(s->inbuf, s->inbuf + used, s->inlen - (size_t)used);
	s->inlen -= (size_t)used;
	if (!xs_conn_want_input(s->conn) && s->reading) {
		s->reading = false;
		event_del(s->ev_read);
	}
	sock_flush(-1, 0, s);
}

static void sock_read(evutil_socket_t fd, short what, void *arg)
{
	struct sock *s = arg;
	ssize_t n = recv(s->fd, s->inbuf + s->inlen, SOCK_INBUF - s->inlen, MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		sock_free(s);
		return;
	}
	if (n < 0)
		return;
	s->inlen += (size_t)n;
	sock_input(s);
}

static void sock_wakeup(struct xs_conn *c, void *opaque)
{
	struct sock *s = opaque;

	/* Deferred: this runs in the middle of the core's processing. */
	event_active(s->ev_flush, EV_WRITE, 0);
}

static const struct xs_conn_ops sock_ops = { .wakeup = sock_wakeup };

static void listen_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct xsd *x = arg;
	struct sock *s;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	s->xsd = x;
	s->fd = fd;
	s->ev_read = event_new(x->base, fd, EV_READ | EV_PERSIST, sock_read, s);
	s->ev_write = event_new(x->base, fd, EV_WRITE | EV_PERSIST, sock_flush, s);
	s->ev_flush = event_new(x->base, -1, 0, sock_flush, s);
	/* Socket clients are dom0 tools: privileged, paths relative to dom0. */
	s->conn = xs_conn_new(x->core, 0, false, &sock_ops, s);
	if (!s->ev_read || !s->ev_write || !s->ev_flush || !s->conn) {
		if (s->ev_read)
			event_free(s->ev_read);
		if (s->ev_write)
			event_free(s->ev_write);
		if (s->ev_flush)
			event_free(s->ev_flush);
		xs_conn_free(s->conn);
		close(fd);
		free(s);
		return;
	}
	xs_list_add_tail(&x->socks, &s->link);
	s->reading = true;
	event_add(s->ev_read, NULL);
}

const char *xsd_default_socket_path(char *buf, size_t len)
{
	const char *env = getenv("XENSTORED_PATH");
	const char *rt = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(buf, len, "%s", env);
	else if (rt && *rt)
		snprintf(buf, len, "%s/xenkvm/xenstored.sock", rt);
	else
		snprintf(buf, len, "/run/xenkvm/xenstored.sock");
	return buf;
}

static int mkdir_parents(const char *path)
{
	char *p = strdup(path), *s;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST) {
			int e = errno;

			free(p);
			return -e;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

int xsd_listen(struct xsd *x, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (x->listen_fd >= 0)
		return -EBUSY;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	err = mkdir_parents(path);
	if (err)
		return err;
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	x->ev_listen = event_new(x->base, fd, EV_READ | EV_PERSIST, listen_cb, x);
	x->sock_path = strdup(path);
	if (!x->ev_listen || !x->sock_path || event_add(x->ev_listen, NULL)) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	x->listen_fd = fd;
	return 0;
}

/* ---------------- the dom0 API's connection ---------------- */

static int errno_of(const char *name, uint32_t len)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (strlen(xsd_errors[i].errstring) + 1 == len &&
		    !memcmp(xsd_errors[i].errstring, name, len))
			return xsd_errors[i].errnum;
	return EIO;
}

static void deliver_ievents(evutil_socket_t fd, short what, void *arg)
{
	struct xsd *x = arg;
	struct ievent *e;

	while ((e = xs_list_first(&x->ievents, struct ievent, link))) {
		struct iwatch *w;

		xs_list_del(&e->link);
		xs_list_for_each(w, &x->iwatches, struct iwatch, link) {
			if (!strcmp(w->token, e->token)) {
				w->fn(w->opaque, e->path, e->token);
				break;
			}
		}
		free(e->path);
		free(e->token);
		free(e);
	}
}

/* Sort what the core queued for us: events for later, the reply now. */
static void drain_iconn(struct xsd *x)
{
	const uint8_t *p;
	size_t n;

	while ((n = xs_conn_out_peek(x->iconn, &p))) {
		struct xsd_sockmsg h;
		const char *body = (const char *)p + sizeof(h);

		memcpy(&h, p, sizeof(h));
		if (h.type == XS_WATCH_EVENT) {
			struct ievent *e = calloc(1, sizeof(*e));
			size_t pl = strnlen(body, h.len);

			if (e && pl < h.len) {
				e->path = strdup(body);
				e->token = strndup(body + pl + 1, h.len - pl - 1);
			}
			if (e && e->path && e->token) {
				xs_list_add_tail(&x->ievents, &e->link);
				event_active(x->ev_ievents, EV_READ, 0);
			} else if (e) {
				free(e->path);
				free(e->token);
				free(e);
			}
		} else if (h.req_id == x->ireq) {
			free(x->ireply);
			x->ireply = malloc(h.len + 1);
			if (x->ireply) {
				memcpy(x->ireply, body, h.len);
				x->ireply[h.len] = 0;
			}
			x->ireply_len = h.len;
			x->ireply_err = h.type == XS_ERROR ? errno_of(body, h.len)
							   : (x->ireply ? 0 : ENOMEM);
			x->ireply_done = true;
		}
		xs_conn_out_consume(x->iconn, n);
	}
}

static void iconn_wakeup(struct xs_conn *c, void *opaque)
{
	struct xsd *x = opaque;

	event_active(x->ev_ievents, EV_WRITE, 0);
}

static const struct xs_conn_ops iconn_ops = { .wakeup = iconn_wakeup };

static void ievents_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xsd *x = arg;

	drain_iconn(x);
	deliver_ievents(fd, what, arg);
}

int xsd_request(struct xsd *x, uint32_t type, const void *payload, uint32_t len,
		char **reply, uint32_t *rlen)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = ++x->ireq, .len = len };
	uint8_t *buf;

	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, payload, len);
	buf[len] = 0;
	x->ireply_done = false;
	xs_process(x->iconn, &hdr, buf);
	free(buf);
	drain_iconn(x);
	if (!x->ireply_done)
		return -EIO;
	if (x->ireply_err)
		return -x->ireply_err;
	if (reply) {
		*reply = (char *)x->ireply;
		x->ireply = NULL;
	}
	if (rlen)
		*rlen = x->ireply_len;
	return 0;
}

static int request2(struct xsd *x, uint32_t type, const char *a, const void *b, size_t blen)
{
	size_t alen = strlen(a) + 1;
	char *buf;
	int err;

	if (alen + blen > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	buf = malloc(alen + blen + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, a, alen);
	if (blen)
		memcpy(buf + alen, b, blen);
	err = xsd_request(x, type, buf, (uint32_t)(alen + blen), NULL, NULL);
	free(buf);
	return err;
}

int xsd_write(struct xsd *x, const char *path, const void *value, size_t len)
{
	return request2(x, XS_WRITE, path, value, len);
}

int xsd_printf(struct xsd *x, const char *path, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	err = xsd_write(x, path, s, (size_t)n);
	free(s);
	return err;
}

char *xsd_read(struct xsd *x, const char *path, size_t *len)
{
	char *r = NULL;
	uint32_t rl = 0;
	int err = xsd_request(x, XS_READ, path, (uint32_t)strlen(path) + 1, &r, &rl);

	if (err) {
		errno = -err;
		return NULL;
	}
	if (len)
		*len = rl;
	return r;
}

int xsd_mkdir(struct xsd *x, const char *path)
{
	return request2(x, XS_MKDIR, path, NULL, 0);
}

int xsd_rm(struct xsd *x, const char *path)
{
	return request2(x, XS_RM, path, NULL, 0);
}

int xsd_set_perms(struct xsd *x, const char *path, const char *perms)
{
	char buf[512], *p = buf;
	const char *s = perms;
	size_t n;

	/* "n0 r5" -> "n0\0r5\0" */
	while (*s) {
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (!n)
			break;
		if ((size_t)(p - buf) + n + 1 > sizeof(buf))
			return -E2BIG;
		memcpy(p, s, n);
		p[n] = 0;
		p += n + 1;
		s += n;
	}
	return request2(x, XS_SET_PERMS, path, buf, (size_t)(p - buf));
}

int xsd_watch(struct xsd *x, const char *path, const char *token, xsd_watch_fn fn, void *opaque)
{
	struct iwatch *w = calloc(1, sizeof(*w));
	int err;

	if (!w || !(w->token = strdup(token))) {
		free(w);
		return -ENOMEM;
	}
	w->fn = fn;
	w->opaque = opaque;
	xs_list_add_tail(&x->iwatches, &w->link);
	err = request2(x, XS_WATCH, path, token, strlen(token) + 1);
	if (err) {
		xs_list_del(&w->link);
		free(w->token);
		free(w);
	}
	return err;
}

static void shutdown_changed(void *opaque, const char *path, const char *token);

int xsd_unwatch(struct xsd *x, const char *path, const char *token)
{
	struct iwatch *w;
	int err = request2(x, XS_UNWATCH, path, token, strlen(token) + 1);

	if (err)
		return err;
	xs_list_for_each(w, &x->iwatches, struct iwatch, link) {
		if (!strcmp(w->token, token)) {
			xs_list_del(&w->link);
			if (w->fn == shutdown_changed)
				free(w->opaque);
			free(w->token);
			free(w);
			break;
		}
	}
	return 0;
}

struct shutdown_watch {
	struct xsd *xsd;
	uint32_t domid;
	xsd_shutdown_fn fn;
	void *opaque;
};

static void shutdown_changed(void *opaque, const char *path, const char *token)
{
	struct shutdown_watch *sw = opaque;
	char *v = xsd_read(sw->xsd, path, NULL);

	sw->fn(sw->opaque, sw->domid, v ? v : "");
	free(v);
}

int xsd_watch_shutdown(struct xsd *x, uint32_t domid, xsd_shutdown_fn fn, void *opaque)
{
	struct shutdown_watch *sw = calloc(1, sizeof(*sw));
	char path[64], token[64];
	int err;

	if (!sw)
		return -ENOMEM;
	sw->xsd = x;
	sw->domid = domid;
	sw->fn = fn;
	sw->opaque = opaque;
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	/* The token owns the closure: freed with the daemon. */
	snprintf(token, sizeof(token), "xsd-shutdown-%u-%p", ++x->shutdown_watch_seq, (void *)sw);
	err = xsd_watch(x, path, token, shutdown_changed, sw);
	if (err) {
		free(sw);
		return err;
	}
	return 0;
}

int xsd_request_shutdown(struct xsd *x, uint32_t domid, const char *reason)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	return xsd_write(x, path, reason, strlen(reason));
}

/* ---------------- lifetime ---------------- */

struct xs_core *xsd_core(struct xsd *x)
{
	return x->core;
}

struct xsd *xsd_new(struct event_base *base, const struct xsd_options *opts)
{
	struct xsd *x = calloc(1, sizeof(*x));
	struct xs_core_hooks hooks = {
		.log = core_log,
		.introduce = hook_introduce,
		.release = hook_release,
	};

	if (!x)
		return NULL;
	x->base = base;
	x->listen_fd = -1;
	if (opts)
		x->opts = *opts;
	xs_list_init(&x->rings);
	xs_list_init(&x->socks);
	xs_list_init(&x->iwatches);
	xs_list_init(&x->ievents);
	hooks.opaque = x;
	x->core = xs_core_new(&hooks);
	x->ev_ievents = event_new(base, -1, 0, ievents_cb, x);
	if (!x->core || !x->ev_ievents)
		goto fail;
	x->core->trace = x->opts.trace;
	x->iconn = xs_conn_new(x->core, 0, false, &iconn_ops, x);
	if (!x->iconn)
		goto fail;
	/* What xen-init-dom0 writes on a Xen host. */
	if (xsd_write(x, "/local/domain/0/domid", "0", 1) ||
	    xsd_write(x, "/local/domain/0/name", "Domain-0", 8))
		goto fail;
	return x;
fail:
	xsd_free(x);
	return NULL;
}

void xsd_free(struct xsd *x)
{
	struct iwatch *w, *wt;
	struct ievent *e, *et;

	if (!x)
		return;
	while (!xs_list_empty(&x->socks))
		sock_free(xs_list_first(&x->socks, struct sock, link));
	while (!xs_list_empty(&x->rings))
		ring_free(xs_list_first(&x->rings, struct ring, link));
	if (x->ev_listen)
		event_free(x->ev_listen);
	if (x->listen_fd >= 0) {
		close(x->listen_fd);
		unlink(x->sock_path);
	}
	free(x->sock_path);
	xs_list_for_each_safe(w, wt, &x->iwatches, struct iwatch, link) {
		if (w->fn == shutdown_changed)
			free(w->opaque);
		free(w->token);
		free(w);
	}
	xs_list_for_each_safe(e, et, &x->ievents, struct ievent, link) {
		free(e->path);
		free(e->token);
		free(e);
	}
	if (x->ev_ievents)
		event_free(x->ev_ievents);
	xs_core_free(x->core);
	free(x->ireply);
	free(x);
}
