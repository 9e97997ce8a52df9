/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Console backend: the xencons ring (xen/io/console.h) of a domU, as
 * xenconsoled serves it.  Indices are read once, checked, and only then is
 * data copied (the guest may scribble on the page at any time).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <xen/xen.h>
#include <xen/io/console.h>

#include "backend.h"

struct xk_console {
	struct xencons_interface *ring;
	uint32_t port;
	struct xk_evtchn_ops ev;
	int in_fd, out_fd;
	struct event *in_ev;
	bool broken; /* guest corrupted the ring: stop serving it */
	char pending_in[sizeof(((struct xencons_interface *)0)->in)];
	size_t pending_len;
};

#define OUT_SIZE sizeof(((struct xencons_interface *)0)->out)
#define IN_SIZE  sizeof(((struct xencons_interface *)0)->in)

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* output closed: drop, never block the guest */
		}
		buf += n;
		len -= (size_t)n;
	}
}

static bool drain_out(struct xk_console *c)
{
	struct xencons_interface *r = c->ring;
	XENCONS_RING_IDX cons = __atomic_load_n(&r->out_cons, __ATOMIC_RELAXED);
	XENCONS_RING_IDX prod = __atomic_load_n(&r->out_prod, __ATOMIC_ACQUIRE);
	char buf[OUT_SIZE];

	if ((XENCONS_RING_IDX)(prod - cons) > OUT_SIZE) {
		c->broken = true; /* impossible indices: a hostile or broken guest */
		return false;
	}
	size_t n = 0;
	while (cons != prod)
		buf[n++] = r->out[MASK_XENCONS_IDX(cons++, r->out)];
	if (!n)
		return false;
	__atomic_store_n(&r->out_cons, cons, __ATOMIC_RELEASE);
	write_all(c->out_fd, buf, n);
	return true;
}

static bool fill_in(struct xk_console *c)
{
	struct xencons_interface *r = c->ring;
	XENCONS_RING_IDX cons = __atomic_load_n(&r->in_cons, __ATOMIC_ACQUIRE);
	XENCONS_RING_IDX prod = __atomic_load_n(&r->in_prod, __ATOMIC_RELAXED);
	size_t used = (XENCONS_RING_IDX)(prod - cons), i = 0;

	if (used > IN_SIZE) {
		c->broken = true;
		return false;
	}
	while (i < c->pending_len && used < IN_SIZE) {
		r->in[MASK_XENCONS_IDX(prod++, r->in)] = c->pending_in[i++];
		used++;
	}
	if (!i)
		return false;
	memmove(c->pending_in, c->pending_in + i, c->pending_len - i);
	c->pending_len -= i;
	__atomic_store_n(&r->in_prod, prod, __ATOMIC_RELEASE);
	return true;
}

static void on_input(evutil_socket_t fd, short what, void *arg)
{
	struct xk_console *c = arg;
	ssize_t n = read(fd, c->pending_in + c->pending_len, IN_SIZE - c->pending_len);

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			event_del(c->in_ev); /* EOF: no more input */
		return;
	}
	c->pending_len += (size_t)n;
	if (c->pending_len == IN_SIZE)
		event_del(c->in_ev); /* resumed by xk_console_kick() */
	if (!c->broken && fill_in(c))
		c->ev.notify(c->ev.opaque, c->port);
}

void xk_console_kick(struct xk_console *c)
{
	bool notify = false;

	if (c->broken)
		return;
	notify |= drain_out(c);
	notify |= fill_in(c);
	if (c->in_ev && c->pending_len < IN_SIZE && !event_pending(c->in_ev, EV_READ, NULL))
		event_add(c->in_ev, NULL);
	if (notify && !c->broken)
		c->ev.notify(c->ev.opaque, c->port);
}

struct xk_console *xk_console_new(struct event_base *base, struct xencons_interface *ring,
				  uint32_t port, const struct xk_evtchn_ops *ev, int in_fd,
				  int out_fd)
{
	struct xk_console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ring = ring;
	c->port = port;
	c->ev = *ev;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	if (in_fd >= 0 && base) {
		/* Input that epoll cannot watch (/dev/null, a regular file)
		 * means no console input. */
		c->in_ev = event_new(base, in_fd, EV_READ | EV_PERSIST, on_input, c);
		if (c->in_ev && event_add(c->in_ev, NULL)) {
			event_free(c->in_ev);
			c->in_ev = NULL;
		}
	}
	return c;
}

void xk_console_free(struct xk_console *c)
{
	if (!c)
		return;
	if (!c->broken)
		drain_out(c); /* no output lost at shutdown */
	if (c->in_ev)
		event_free(c->in_ev);
	free(c);
}
