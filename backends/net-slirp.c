/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet backend: libslirp user-mode networking, the no-root default.
 * The guest sees 10.0.2.0/24 (DHCP hands out 10.0.2.15, gateway and host
 * 10.0.2.2, DNS 10.0.2.3) and fec0::/64; connections leave as ordinary
 * sockets of the launcher.  libslirp is driven from the launcher's
 * libevent loop: after each of its steps it is asked which sockets to
 * watch (slirp_pollfds_fill), one event per socket is armed, and whatever
 * fires is handed back to slirp_pollfds_poll in one batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <libslirp.h>

#include "net.h"

struct pollent {
	int fd;
	int events;  /* SLIRP_POLL_* asked for */
	int revents; /* SLIRP_POLL_* seen */
	struct event *ev;
};

struct slirp_dev {
	struct xk_netdev dev; /* first: the ops get this pointer */
	struct event_base *base;
	Slirp *slirp;
	struct pollent *fds;
	unsigned nfds, cap;
	struct event *step;    /* deferred: poll slirp, re-arm the sockets */
	struct event *timeout; /* slirp's next timer deadline */
};

struct slirp_timer {
	struct slirp_dev *s;
	struct event *ev;
	SlirpTimerCb cb; /* timer_new style */
	void *cb_opaque;
	SlirpTimerId id; /* timer_new_opaque style when cb is NULL */
};

static void schedule_step(struct slirp_dev *s)
{
	event_active(s->step, 0, 0);
}

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_dev *s = opaque;

	if (s->nfds == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 16;
		struct pollent *n = realloc(s->fds, cap * sizeof(*n));
		if (!n)
			return -1;
		s->fds = n;
		s->cap = cap;
	}
	s->fds[s->nfds] = (struct pollent){.fd = fd, .events = events};
	return (int)s->nfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct slirp_dev *s = opaque;

	if (idx < 0 || (unsigned)idx >= s->nfds)
		return 0;
	return s->fds[idx].revents;
}

static void disarm(struct slirp_dev *s)
{
	for (unsigned i = 0; i < s->nfds; i++)
		if (s->fds[i].ev)
			event_free(s->fds[i].ev);
	s->nfds = 0;
}

static void on_fd_step(evutil_socket_t fd, short what, void *arg);

/* Ask slirp what to watch and arm one event per socket. */
static void arm(struct slirp_dev *s)
{
	uint32_t timeout = UINT32_MAX;

	disarm(s);
	slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
	for (unsigned i = 0; i < s->nfds; i++) {
		struct pollent *p = &s->fds[i];
		short what = EV_PERSIST;
		if (p->events & (SLIRP_POLL_IN | SLIRP_POLL_PRI | SLIRP_POLL_HUP | SLIRP_POLL_ERR))
			what |= EV_READ;
		if (p->events & SLIRP_POLL_OUT)
			what |= EV_WRITE;
		p->ev = event_new(s->base, p->fd, what, on_fd_step, s);
		if (p->ev)
			event_add(p->ev, NULL);
	}
	if (timeout > 1000)
		timeout = 1000; /* slirp's TCP timers want a tick now and then */
	struct timeval tv = {timeout / 1000, (timeout % 1000) * 1000};
	evtimer_add(s->timeout, &tv);
}

static void on_fd_step(evutil_socket_t fd, short what, void *arg)
{
	struct slirp_dev *s = arg;

	for (unsigned i = 0; i < s->nfds; i++) {
		if (s->fds[i].fd != fd)
			continue;
		if (what & EV_READ)
			s->fds[i].revents |= SLIRP_POLL_IN;
		if (what & EV_WRITE)
			s->fds[i].revents |= SLIRP_POLL_OUT;
	}
	schedule_step(s);
}

static void step(evutil_socket_t fd, short what, void *arg)
{
	struct slirp_dev *s = arg;

	slirp_pollfds_poll(s->slirp, 0, get_revents, s);
	arm(s);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	schedule_step(arg);
}

/* ---- libslirp callbacks ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct slirp_dev *s = opaque;
	struct xk_pkt_meta m = {.flags = XK_PKT_CSUM_VALID};

	xk_netdev_deliver(&s->dev, buf, len, &m);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	fprintf(stderr, "xenkvm: slirp: %s\n", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct slirp_timer *t = arg;

	if (t->cb)
		t->cb(t->cb_opaque);
	else
		slirp_handle_timer(t->s->slirp, t->id, t->cb_opaque);
	schedule_step(t->s);
}

static struct slirp_timer *timer_alloc(struct slirp_dev *s)
{
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->s = s;
	t->ev = evtimer_new(s->base, on_timer, t);
	if (!t->ev) {
		free(t);
		return NULL;
	}
	return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_timer *t = timer_alloc(opaque);

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct slirp_timer *t = timer_alloc(opaque);

	if (t) {
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_timer *t = timer;

	if (!t)
		return;
	event_free(t->ev);
	free(t);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *t = timer;
	int64_t now_ms = cb_clock_get_ns(NULL) / 1000000;
	int64_t d = expire_ms > now_ms ? expire_ms - now_ms : 0;
	struct timeval tv = {(time_t)(d / 1000), (suseconds_t)(d % 1000) * 1000};

	evtimer_add(t->ev, &tv);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
	schedule_step(opaque);
}

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- packet backend ops ---- */

static void slirp_send(struct xk_netdev *d, const uint8_t *frame, size_t len,
		       const struct xk_pkt_meta *m)
{
	struct slirp_dev *s = (struct slirp_dev *)d;

	slirp_input(s->slirp, frame, (int)len);
	schedule_step(s); /* new connections mean new sockets to watch */
}

static void slirp_free(struct xk_netdev *d)
{
	struct slirp_dev *s = (struct slirp_dev *)d;

	disarm(s);
	if (s->slirp)
		slirp_cleanup(s->slirp);
	if (s->step)
		event_free(s->step);
	if (s->timeout)
		event_free(s->timeout);
	free(s->fds);
	free(s);
}

static const struct xk_netdev_ops slirp_ops = {
    .send = slirp_send,
    .free = slirp_free,
};

struct xk_netdev *xk_netdev_slirp_new(struct event_base *base)
{
	struct slirp_dev *s = calloc(1, sizeof(*s));
	SlirpConfig cfg = {
	    .version = 4,
	    .in_enabled = true,
	    .in6_enabled = true,
	    .vprefix_len = 64,
	};

	if (!s)
		return NULL;
	s->dev.ops = &slirp_ops;
	s->base = base;
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
	s->step = event_new(base, -1, 0, step, s);
	s->timeout = evtimer_new(base, on_timeout, s);
	if (!s->step || !s->timeout)
		goto fail;
	s->slirp = slirp_new(&cfg, &callbacks, s);
	if (!s->slirp)
		goto fail;
	/* libslirp's clock for socket expiry is only read in
	 * slirp_pollfds_poll(): start it now (select_error: no socket is
	 * looked at), or a first guest datagram gets an expiry in the past
	 * and its socket is closed before the answer comes. */
	s->nfds = 0;
	slirp_pollfds_poll(s->slirp, 1, get_revents, s);
	arm(s);
	return &s->dev;
fail:
	slirp_free(&s->dev);
	errno = ENOMEM;
	return NULL;
}
