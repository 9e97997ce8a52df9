/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a host backend needs from the launcher: raising the guest's end of
 * an event channel, and hearing the guest's sends on it.  Backends see
 * guest memory as host pointers and treat every byte of it as hostile.
 * Tests inject fakes for these ops.  PV devices with a xenstore handshake
 * get these and more through xenbus.h.
 */
#ifndef XENKVM_BACKEND_H
#define XENKVM_BACKEND_H

#include <stdint.h>

/* The guest sent an event on a bound port. */
typedef void (*xk_kick_fn)(void *arg);

struct xk_evtchn_ops {
	void (*notify)(void *opaque, uint32_t port); /* raise port in the guest */
	void *opaque;
	/*
	 * Route the guest's EVTCHNOP_send on port (an unbound port the guest
	 * allocated for remote domain 0, or a pre-bound one) to kick(arg) on
	 * the event loop.  0, -EINVAL (port out of range) or -EBUSY.  May be
	 * NULL for backends that are kicked directly (the console).
	 */
	int (*bind)(void *opaque, uint32_t port, xk_kick_fn kick, void *arg);
	void (*unbind)(void *opaque, uint32_t port);
};

struct event_base;
struct xencons_interface;
struct xk_console;

/* The PV console (hvc0 in Linux): out[] to out_fd, in_fd to in[]
 * (in_fd < 0: no input). */
struct xk_console *xk_console_new(struct event_base *base, struct xencons_interface *ring,
				  uint32_t port, const struct xk_evtchn_ops *ev, int in_fd,
				  int out_fd);
/* The guest notified the console port: drain out[], refill in[]. */
void xk_console_kick(struct xk_console *c);
void xk_console_free(struct xk_console *c);

#endif
