/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a host backend needs from the launcher: raising the guest's end of
 * an event channel.  Backends see guest memory as host pointers and treat
 * every byte of it as hostile.  Tests inject fakes for these ops.
 */
#ifndef XENKVM_BACKEND_H
#define XENKVM_BACKEND_H

#include <stdint.h>

struct xk_evtchn_ops {
	void (*notify)(void *opaque, uint32_t port); /* raise port in the guest */
	void *opaque;
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
