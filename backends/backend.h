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

#include <stdbool.h>
#include <stddef.h>
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

/* Where the guest's console goes (xenkvm run --console, --console-log). */
enum xk_console_mode {
	XK_CONSOLE_STDIO, /* out to out_fd, in from in_fd (< 0: no input) */
	XK_CONSOLE_PTY,	  /* a pty of its own, for whoever opens its slave */
	XK_CONSOLE_NONE,  /* nowhere (but the log) */
};

struct xk_console_config {
	enum xk_console_mode mode;
	int in_fd, out_fd;    /* stdio mode */
	const char *log_path; /* appended to, every byte; NULL: no log */
	bool verbose;	      /* at exit, say how much a pty's backlog dropped */
	/* stdio mode: an escape byte in the input (never passed to the guest)
	 * calls on_escape; 0 = none. */
	unsigned char escape;
	void (*on_escape)(void *opaque);
	void *escape_opaque;
};

/* Output a pty keeps while nobody reads it (the oldest is dropped). */
#define XK_CONSOLE_BACKLOG (64 * 1024)
/* At exit, how long an attached pty reader gets to read the last output. */
#define XK_CONSOLE_FINAL_WAIT_S 2

/* The PV console (hvc0 in Linux).  NULL after a one-line error (a log that
 * cannot be opened, no pty). */
struct xk_console *xk_console_new(struct event_base *base, struct xencons_interface *ring,
				  uint32_t port, const struct xk_evtchn_ops *ev,
				  const struct xk_console_config *cfg);
/* The pty's slave path in pty mode, else NULL. */
const char *xk_console_pty(const struct xk_console *c);
/* Console output from outside the ring (HYPERVISOR_console_io); any thread.
 * c == NULL: to stdout. */
void xk_console_write(struct xk_console *c, const char *buf, size_t len);
/* The guest notified the console port: drain out[], refill in[]. */
void xk_console_kick(struct xk_console *c);
/* Drains out[] a last time, gives an attached pty reader the rest. */
void xk_console_free(struct xk_console *c);

#endif
