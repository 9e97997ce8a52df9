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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xs_core.h"
#include "xs_daemon.h"
#include "xs_ring.h"
#include "xenstored.h"

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

struct ring *ring_find(struct xsd *x, uint32_t domid)
{
	struct ring *r;

	xs_list_for_each (r, &x->rings, struct ring, link)
		if (r->domid == domid)
			return r;
	return NULL;
}

void ring_free(struct ring *r)
{
	xs_list_del(&r->link);
	if (r->ev_kick)
		event_free(r->ev_kick);
	event_free(r->ev_work);
	if (r->conn)
		xs_conn_free(r->conn);
	if (r->map)
		munmap(r->map, XSD_PAGE_SIZE);
	if (r->own_kick_fd >= 0)
		close(r->own_kick_fd);
	if (r->notify_fd >= 0)
		close(r->notify_fd);
	free(r);
}

struct ring *ring_new(struct xsd *x, uint32_t domid, struct xenstore_domain_interface *intf,
		      xsd_notify_fn notify, void *opaque, int *err)
{
	struct ring *r;

	if (!domid || domid >= XS_DOMID_SELF || !intf) {
		*err = EINVAL;
		return NULL;
	}
	if (ring_find(x, domid)) {
		*err = EEXIST;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = ENOMEM;
		return NULL;
	}
	r->xsd = x;
	r->domid = domid;
	r->intf = intf;
	r->notify = notify;
	r->opaque = opaque;
	r->kick_fd = r->own_kick_fd = r->notify_fd = -1;
	r->ev_work = event_new(x->base, -1, 0, ring_work, r);
	r->conn = xs_conn_new(x->core, domid, true, &ring_ops, r);
	if (!r->ev_work || !r->conn) {
		if (r->ev_work)
			event_free(r->ev_work);
		xs_conn_free(r->conn);
		free(r);
		*err = ENOMEM;
		return NULL;
	}
	xs_list_add_tail(&x->rings, &r->link);
	intf->req_cons = intf->req_prod = 0;
	intf->rsp_cons = intf->rsp_prod = 0;
	intf->error = XENSTORE_ERROR_NONE;
	intf->connection = XENSTORE_CONNECTED;
	intf->server_features =
	    XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR;
	if (!xs_domain_introduce(x->core, domid, r->conn, err)) {
		ring_free(r);
		return NULL;
	}
	return r;
}

int xsd_domain_introduce(struct xsd *x, uint32_t domid, struct xenstore_domain_interface *ring,
			 xsd_notify_fn notify, void *opaque)
{
	int err = 0;

	return ring_new(x, domid, ring, notify, opaque, &err) ? 0 : -err;
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

int ring_set_kick_fd(struct ring *r, int fd)
{
	if (r->ev_kick)
		event_free(r->ev_kick);
	r->kick_fd = fd;
	r->ev_kick = event_new(r->xsd->base, fd, EV_READ | EV_PERSIST, kick_fd_cb, r);
	if (!r->ev_kick || event_add(r->ev_kick, NULL))
		return -ENOMEM;
	return 0;
}

int xsd_domain_kick_fd(struct xsd *x, uint32_t domid, int fd)
{
	struct ring *r = ring_find(x, domid);

	return r ? ring_set_kick_fd(r, fd) : -ENOENT;
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
	struct xsd *x = opaque;
	struct ring *r = ring_find(x, domid);

	if (r)
		ring_free(r);
	if (x->opts.released)
		x->opts.released(x->opts.released_opaque, domid);
}

/* Raise a remote launcher's event channel: it polls this eventfd. */
static void notify_efd(void *opaque)
{
	struct ring *r = opaque;
	uint64_t one = 1;

	if (write(r->notify_fd, &one, sizeof(one)) < 0) {
		/* Counter full or fd gone: the guest is notified already/never. */
	}
}

/*
 * INTRODUCE <domid>|<gfn>|<port>| from a socket client.  A launcher using a
 * standalone daemon sends three descriptors with it (SCM_RIGHTS): guest RAM
 * (the ring is page <gfn> of it), an eventfd the guest's notifications
 * arrive on, and an eventfd to raise the guest's event channel.  Without
 * them (a plain host tool) the domain is recorded as introduced, without a
 * connection.  A domain that has a ring keeps it.
 */
static int hook_introduce(void *opaque, struct xs_conn *from, uint32_t domid, uint64_t gfn,
			  uint32_t port)
{
	struct xsd *x = opaque;
	struct sock *s = sock_of(from);
	struct ring *r;
	int fds[3], err = 0, i;
	struct stat st;
	void *map;

	if (!s || !sock_take_fds(s, fds, 3))
		return 0;
	if (ring_find(x, domid)) {
		err = EEXIST;
		goto fail;
	}
	/* Mapping past the end of the file would fault on first access. */
	if (gfn > (UINT64_MAX >> 13) || fstat(fds[0], &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < (gfn + 1) * XSD_PAGE_SIZE) {
		err = EINVAL;
		goto fail;
	}
	map = mmap(NULL, XSD_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0],
		   (off_t)(gfn * XSD_PAGE_SIZE));
	if (map == MAP_FAILED) {
		err = errno == ENOMEM ? ENOMEM : EINVAL;
		goto fail;
	}
	close(fds[0]);
	r = ring_new(x, domid, map, notify_efd, NULL, &err);
	if (!r) {
		munmap(map, XSD_PAGE_SIZE);
		close(fds[1]);
		close(fds[2]);
		return err;
	}
	r->opaque = r;
	r->map = map;
	r->own_kick_fd = fds[1];
	r->notify_fd = fds[2];
	if (ring_set_kick_fd(r, fds[1])) {
		xs_domain_release(x->core, xs_domain_find(x->core, domid));
		return ENOMEM;
	}
	xs_log(x->core, XS_LOG_INFO, "domain %u introduced with its ring (port %u)", domid, port);
	return 0;
fail:
	for (i = 0; i < 3; i++)
		close(fds[i]);
	return err;
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
		xs_list_for_each (w, &x->iwatches, struct iwatch, link) {
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
			x->ireply_err =
			    h.type == XS_ERROR ? errno_of(body, h.len) : (x->ireply ? 0 : ENOMEM);
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

int xsd_request(struct xsd *x, uint32_t type, const void *payload, uint32_t len, char **reply,
		uint32_t *rlen)
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
	char buf[512];
	int n = xs_perms_pack(perms, buf, sizeof(buf));

	return n < 0 ? n : request2(x, XS_SET_PERMS, path, buf, (size_t)n);
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
	xs_list_for_each (w, &x->iwatches, struct iwatch, link) {
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
	xs_list_for_each_safe (w, wt, &x->iwatches, struct iwatch, link) {
		if (w->fn == shutdown_changed)
			free(w->opaque);
		free(w->token);
		free(w);
	}
	xs_list_for_each_safe (e, et, &x->ievents, struct ievent, link) {
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
