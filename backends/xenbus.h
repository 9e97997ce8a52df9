/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PV device model: backend/frontend xenstore directories laid out as
 * libxl writes them, and the XenbusState handshake a Linux frontend
 * expects, shared by every backend type (vbd, vif, ...).
 *
 * A backend type is a struct xk_devops.  It reaches the guest only through
 * the ops in struct xk_bus_env (xenstore, event channels, grants), so unit
 * tests can run a backend against fakes.  Everything runs on the thread of
 * the event loop that owns the bus, including the ops' callbacks.
 *
 * Layout (domid 1, backend domain 0, a vbd with devid 51712):
 *   /local/domain/0/backend/vbd/1/51712/{frontend,frontend-id,online,state,...}
 *   /local/domain/1/device/vbd/51712/{backend,backend-id,state,virtual-device,...}
 *
 * States driven by the frontend's "state" (watched):
 *   device added              backend Initialising, ops->init(), InitWait
 *   frontend Initialised or
 *   Connected                 ops->connect() (read ring refs, map, bind),
 *                             backend Connected (or Closing on failure)
 *   frontend Closing          ops->disconnect(), backend Closing
 *   frontend Closed/Unknown   ops->disconnect(), backend Closed; a device
 *                             being removed is then freed (ops->free) and
 *                             its directories removed; otherwise a frontend
 *                             that starts over (Initialising) gets InitWait
 */
#ifndef XENKVM_XENBUS_H
#define XENKVM_XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* XenbusState values (xen/io/xenbus.h). */
enum xk_xbstate {
	XK_XB_UNKNOWN = 0,
	XK_XB_INITIALISING = 1,
	XK_XB_INITWAIT = 2,
	XK_XB_INITIALISED = 3,
	XK_XB_CONNECTED = 4,
	XK_XB_CLOSING = 5,
	XK_XB_CLOSED = 6,
	XK_XB_RECONFIGURING = 7,
	XK_XB_RECONFIGURED = 8,
};

/* ---- what a bus needs from its host (fakes in unit tests) ---- */

/* A watch fired (runs from the event loop, never inside another op). */
typedef void (*xk_watch_fn)(void *arg, const char *path, const char *token);

/* xenstore access with dom0's privileges.  0 or a negative errno. */
struct xk_store_ops {
	/* malloc'd, NUL-terminated; NULL (errno set) if absent. */
	char *(*read)(void *opaque, const char *path);
	int (*write)(void *opaque, const char *path, const char *value);
	int (*rm)(void *opaque, const char *path);
	/* Fires once soon after registration, then on every change at or
	 * below path (Xen semantics). */
	int (*watch)(void *opaque, const char *path, const char *token, xk_watch_fn fn, void *arg);
	int (*unwatch)(void *opaque, const char *path, const char *token);
	/*
	 * Create the frontend and backend directories of a device with the
	 * permissions libxl gives them (xsd_device_add): fe/be are
	 * NULL-terminated key, value lists including "state".
	 */
	int (*device_add)(void *opaque, const char *type, uint32_t domid, uint32_t devid,
			  const char *const *be, const char *const *fe);
	void *opaque;
};

/*
 * Grant access: the guest's grant table, read by the launcher.  map() checks
 * each reference (in use, GTF_permit_access, granted to backend domain 0,
 * writable if write is set), marks it in use (GTF_reading/GTF_writing, as
 * Xen's map does) and stores a host pointer to each page in pages[]; all or
 * nothing.  unmap() takes the same refs and write flag back.
 */
struct xk_grant_ops {
	int (*map)(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write,
		   void **pages);
	void (*unmap)(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write);
	void *opaque;
	/*
	 * For a backend that keeps a ref mapped across requests (blkif's
	 * persistent grants): is a ref it holds mapped (write: a writable map)
	 * still granted as at the map - the entry permitting domain 0 (and
	 * writes, for write), still marked in use, naming the same page, which
	 * for write is still not a page table?  0, or a negative errno (the
	 * caller then unmaps it and maps it afresh).  NULL: such backends keep
	 * nothing mapped between requests.
	 */
	int (*check)(void *opaque, uint32_t domid, uint32_t ref, bool write, const void *page);
};

struct event_base;

/* Everything a backend may touch.  evtchn: see backend.h (notify raises a
 * guest port; bind routes the guest's sends on a port to a kick callback). */
struct xk_bus_env {
	struct xk_store_ops store;
	struct xk_evtchn_ops evtchn;
	struct xk_grant_ops grant;
	struct event_base *base; /* for backends' own fds (files, taps); may be NULL */
	void (*log)(void *opaque, const char *msg); /* NULL: stderr */
	void *log_opaque;
	bool verbose;
};

/* ---- backend types ---- */

struct xk_dev;

struct xk_devops {
	const char *type; /* xenstore device kind: "vbd", "vif", ... */
	/*
	 * The device's directories exist (state Initialising): open host
	 * resources, write backend keys (features, sizes) with
	 * xk_dev_be_printf.  Non-zero: the device is not created.
	 */
	int (*init)(struct xk_dev *dev);
	/*
	 * The frontend is Initialised or Connected: read its keys (ring refs,
	 * event channels), map, bind.  0: the backend goes Connected; else
	 * ops->disconnect() is called and the backend goes Closing (the reason
	 * is written to the backend's error/ node with xk_dev_error).
	 */
	int (*connect)(struct xk_dev *dev);
	/* Unbind, unmap, drop in-flight work.  Called only after connect()
	 * (also a failed one), at most once per connect(). */
	void (*disconnect)(struct xk_dev *dev);
	/* Release what init() opened (the device is gone). */
	void (*free)(struct xk_dev *dev);
};

/* ---- the bus: one per guest domain ---- */

struct xk_bus;

/* env is copied. */
struct xk_bus *xk_bus_new(const struct xk_bus_env *env, uint32_t domid, uint32_t backend_domid);
/* Disconnects and frees every device (guest shutdown), removes their
 * xenstore directories. */
void xk_bus_free(struct xk_bus *bus);

/*
 * Create a device: writes both directories (frontend: backend, backend-id,
 * state; backend: frontend, frontend-id, online=1, state, plus the extra
 * key/value pairs given, NULL-terminated or NULL), calls ops->init with
 * priv set, then goes InitWait and watches the frontend.  ops must outlive
 * the device.  NULL on error (logged); ops->free is then not called: priv
 * stays the caller's.
 */
struct xk_dev *xk_bus_add(struct xk_bus *bus, const struct xk_devops *ops, uint32_t devid,
			  const char *const *be_keys, const char *const *fe_keys, void *priv);
/* Hot-unplug, as xl's block-detach/network-detach: backend online=0 and
 * Closing; the device is freed when the frontend has closed (or at once
 * if it never connected). */
void xk_bus_remove(struct xk_dev *dev);
/* Force the removal of a device xk_bus_remove() started whose frontend
 * does not close (xl block-detach -f): disconnect, free, remove both
 * directories without waiting for the guest. */
void xk_bus_remove_now(struct xk_dev *dev);
/* True once xk_bus_remove() was called for dev. */
bool xk_dev_removing(const struct xk_dev *dev);
/* The device after prev (NULL: the first), NULL at the end. */
struct xk_dev *xk_bus_next(struct xk_bus *bus, struct xk_dev *prev);
/* Its type (ops->type). */
const char *xk_dev_type(const struct xk_dev *dev);
/* The env the bus was made with. */
const struct xk_bus_env *xk_bus_env(const struct xk_bus *bus);
/* Find a device by type and devid (NULL if none). */
struct xk_dev *xk_bus_find(struct xk_bus *bus, const char *type, uint32_t devid);

/* ---- for backends ---- */

const struct xk_bus_env *xk_dev_env(const struct xk_dev *dev);
void *xk_dev_priv(const struct xk_dev *dev);
uint32_t xk_dev_domid(const struct xk_dev *dev);
uint32_t xk_dev_devid(const struct xk_dev *dev);
enum xk_xbstate xk_dev_state(const struct xk_dev *dev);
const char *xk_dev_be_path(const struct xk_dev *dev); /* no trailing slash */
const char *xk_dev_fe_path(const struct xk_dev *dev);

/* Frontend keys (guest-written: hostile).  malloc'd or NULL. */
char *xk_dev_fe_read(struct xk_dev *dev, const char *key);
/* Parse a frontend key as an unsigned decimal number <= max; -ENOENT if
 * absent, -EINVAL if malformed or too large. */
int xk_dev_fe_read_uint(struct xk_dev *dev, const char *key, uint64_t max, uint64_t *out);
char *xk_dev_be_read(struct xk_dev *dev, const char *key);
int xk_dev_be_printf(struct xk_dev *dev, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Write the backend's error node (as xenbus_dev_error) and log it. */
void xk_dev_error(struct xk_dev *dev, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A fatal ring/protocol error while connected (as xenbus_dev_fatal):
 * error node, disconnect, backend Closing. */
void xk_dev_fatal(struct xk_dev *dev, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Diagnostics (verbose only / always). */
void xk_dev_log(struct xk_dev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Ring pages mapped from grant refs: byte-wise access to a ring that spans
 * pages that are not contiguous in the launcher (a multi-page ring).
 */
struct xk_ring_pages {
	void *page[16];
	unsigned n;
};
void xk_ring_read(const struct xk_ring_pages *r, size_t off, void *buf, size_t len);
void xk_ring_write(const struct xk_ring_pages *r, size_t off, const void *buf, size_t len);

#endif
