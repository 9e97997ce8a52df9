/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PV device model (xenbus.h): directories as libxl writes them, and the
 * backend half of the XenbusState handshake, following what Linux's
 * frontends expect (xen/io/xenbus.h describes the states; the sequence is
 * the one Xen's backends implement).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenbus.h"

struct xk_dev {
	struct xk_bus *bus;
	struct xk_dev *next;
	const struct xk_devops *ops;
	void *priv;
	uint32_t devid;
	enum xk_xbstate state; /* the backend's */
	bool connected;	       /* connect() called, disconnect() not yet */
	bool removing;	       /* online=0: free once the frontend closed */
	bool watching;
	char be_path[96], fe_path[96], token[112], fe_state_path[112];
};

struct xk_bus {
	struct xk_bus_env env;
	uint32_t domid, be_domid;
	struct xk_dev *devs;
	unsigned seq;
};

static void bus_vlog(const struct xk_bus *bus, const char *prefix, const char *fmt, va_list ap)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s", prefix);

	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	if (bus->env.log)
		bus->env.log(bus->env.log_opaque, msg);
	else
		fprintf(stderr, "xenkvm: %s\n", msg);
}

static void dev_vlog(struct xk_dev *dev, bool always, const char *fmt, va_list ap)
{
	char prefix[64];

	if (!always && !dev->bus->env.verbose)
		return;
	snprintf(prefix, sizeof(prefix), "%s %" PRIu32 ": ", dev->ops->type, dev->devid);
	bus_vlog(dev->bus, prefix, fmt, ap);
}

void xk_dev_log(struct xk_dev *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_vlog(dev, false, fmt, ap);
	va_end(ap);
}

static void dev_err(struct xk_dev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dev_err(struct xk_dev *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_vlog(dev, true, fmt, ap);
	va_end(ap);
}

/* ---- accessors ---- */

const struct xk_bus_env *xk_dev_env(const struct xk_dev *dev)
{
	return &dev->bus->env;
}

void *xk_dev_priv(const struct xk_dev *dev)
{
	return dev->priv;
}

uint32_t xk_dev_domid(const struct xk_dev *dev)
{
	return dev->bus->domid;
}

uint32_t xk_dev_devid(const struct xk_dev *dev)
{
	return dev->devid;
}

enum xk_xbstate xk_dev_state(const struct xk_dev *dev)
{
	return dev->state;
}

const char *xk_dev_be_path(const struct xk_dev *dev)
{
	return dev->be_path;
}

const char *xk_dev_fe_path(const struct xk_dev *dev)
{
	return dev->fe_path;
}

/* ---- xenstore helpers ---- */

static char *read_key(struct xk_dev *dev, const char *dir, const char *key)
{
	char path[256];
	const struct xk_store_ops *s = &dev->bus->env.store;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return s->read(s->opaque, path);
}

char *xk_dev_fe_read(struct xk_dev *dev, const char *key)
{
	return read_key(dev, dev->fe_path, key);
}

char *xk_dev_be_read(struct xk_dev *dev, const char *key)
{
	return read_key(dev, dev->be_path, key);
}

/* Strict unsigned decimal (no sign, no spaces, no trailing bytes). */
static int parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return -EINVAL;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -EINVAL;
		if (n > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > max)
			return -EINVAL;
	}
	*out = n;
	return 0;
}

int xk_dev_fe_read_uint(struct xk_dev *dev, const char *key, uint64_t max, uint64_t *out)
{
	char *v = xk_dev_fe_read(dev, key);
	int rc;

	if (!v)
		return -ENOENT;
	rc = parse_uint(v, max, out);
	free(v);
	return rc;
}

static int write_key(struct xk_dev *dev, const char *key, const char *value)
{
	char path[256];
	const struct xk_store_ops *s = &dev->bus->env.store;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dev->be_path, key) >= sizeof(path))
		return -ENAMETOOLONG;
	return s->write(s->opaque, path, value);
}

int xk_dev_be_printf(struct xk_dev *dev, const char *key, const char *fmt, ...)
{
	char value[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value))
		return -E2BIG;
	return write_key(dev, key, value);
}

static void set_state(struct xk_dev *dev, enum xk_xbstate st)
{
	if (dev->state == st)
		return;
	xk_dev_log(dev, "backend state %d -> %d", dev->state, st);
	dev->state = st;
	if (xk_dev_be_printf(dev, "state", "%d", st))
		dev_err(dev, "cannot write the backend state");
}

static void vset_error(struct xk_dev *dev, int err, const char *fmt, va_list ap)
{
	char msg[400], path[200], value[420];
	const struct xk_store_ops *s = &dev->bus->env.store;

	if (err < 0)
		err = -err;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	dev_err(dev, "%s (%s)", msg, strerror(err));
	/* As xenbus_dev_error: <backend home>/error/backend/<type>/<domid>/
	 * <devid>/error = "<errno> <text>". */
	snprintf(path, sizeof(path),
		 "/local/domain/%" PRIu32 "/error/backend/%s/%" PRIu32 "/%" PRIu32 "/error",
		 dev->bus->be_domid, dev->ops->type, dev->bus->domid, dev->devid);
	snprintf(value, sizeof(value), "%d %s", err, msg);
	s->write(s->opaque, path, value);
}

void xk_dev_error(struct xk_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_error(dev, err, fmt, ap);
	va_end(ap);
}

static void do_disconnect(struct xk_dev *dev)
{
	if (!dev->connected)
		return;
	dev->connected = false;
	if (dev->ops->disconnect)
		dev->ops->disconnect(dev);
}

void xk_dev_fatal(struct xk_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_error(dev, err, fmt, ap);
	va_end(ap);
	do_disconnect(dev);
	set_state(dev, XK_XB_CLOSING);
}

/* ---- the handshake ---- */

static void dev_destroy(struct xk_dev *dev)
{
	struct xk_bus *bus = dev->bus;
	const struct xk_store_ops *s = &bus->env.store;

	if (dev->watching) {
		s->unwatch(s->opaque, dev->fe_state_path, dev->token);
		dev->watching = false;
	}
	do_disconnect(dev);
	if (dev->ops->free)
		dev->ops->free(dev);
	/* libxl removes both directories once the device is gone. */
	s->rm(s->opaque, dev->fe_path);
	s->rm(s->opaque, dev->be_path);
	for (struct xk_dev **p = &bus->devs; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	free(dev);
}

static enum xk_xbstate read_fe_state(struct xk_dev *dev)
{
	uint64_t v;

	/* Absent or garbage counts as Unknown (Linux: xenbus_read_driver_state). */
	if (xk_dev_fe_read_uint(dev, "state", XK_XB_RECONFIGURED, &v))
		return XK_XB_UNKNOWN;
	return (enum xk_xbstate)v;
}

static void try_connect(struct xk_dev *dev)
{
	if (dev->state == XK_XB_CONNECTED || dev->removing)
		return;
	if (dev->state != XK_XB_INITWAIT && dev->state != XK_XB_INITIALISED)
		return; /* Closing/Closed: wait for the frontend to start over */
	dev->connected = true;
	int rc = dev->ops->connect ? dev->ops->connect(dev) : 0;
	if (rc) {
		/* connect() wrote the reason (xk_dev_error); a disconnect
		 * undoes whatever it mapped. */
		do_disconnect(dev);
		set_state(dev, XK_XB_CLOSING);
		return;
	}
	set_state(dev, XK_XB_CONNECTED);
}

static void fe_changed(void *arg, const char *path, const char *token)
{
	struct xk_dev *dev = arg;
	enum xk_xbstate fe = read_fe_state(dev);

	xk_dev_log(dev, "frontend state %d (backend %d)", fe, dev->state);
	switch (fe) {
	case XK_XB_INITIALISING:
		/* A frontend starting over after Closed (kexec, module
		 * reload) gets a fresh InitWait. */
		if (dev->state == XK_XB_CLOSED && !dev->removing)
			set_state(dev, XK_XB_INITWAIT);
		break;
	case XK_XB_INITWAIT:
		break;
	case XK_XB_INITIALISED:
	case XK_XB_CONNECTED:
		try_connect(dev);
		break;
	case XK_XB_CLOSING:
		do_disconnect(dev);
		set_state(dev, XK_XB_CLOSING);
		break;
	case XK_XB_UNKNOWN:
	case XK_XB_CLOSED:
		do_disconnect(dev);
		set_state(dev, XK_XB_CLOSED);
		if (dev->removing)
			dev_destroy(dev); /* dev is gone */
		break;
	default:
		break; /* Reconfiguring/Reconfigured: not used by vbd/vif */
	}
}

struct xk_bus *xk_bus_new(const struct xk_bus_env *env, uint32_t domid, uint32_t backend_domid)
{
	struct xk_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	bus->env = *env;
	bus->domid = domid;
	bus->be_domid = backend_domid;
	return bus;
}

const struct xk_bus_env *xk_bus_env(const struct xk_bus *bus)
{
	return &bus->env;
}

void xk_bus_free(struct xk_bus *bus)
{
	if (!bus)
		return;
	while (bus->devs)
		dev_destroy(bus->devs);
	free(bus);
}

struct xk_dev *xk_bus_find(struct xk_bus *bus, const char *type, uint32_t devid)
{
	for (struct xk_dev *d = bus->devs; d; d = d->next)
		if (d->devid == devid && !strcmp(d->ops->type, type))
			return d;
	return NULL;
}

#define MAX_KEYS 64

static size_t count_keys(const char *const *kv)
{
	size_t n = 0;

	while (kv && kv[n] && kv[n + 1])
		n += 2;
	return n;
}

struct xk_dev *xk_bus_add(struct xk_bus *bus, const struct xk_devops *ops, uint32_t devid,
			  const char *const *be_keys, const char *const *fe_keys, void *priv)
{
	const struct xk_store_ops *s = &bus->env.store;
	char be_id[16], dom_id[16];
	const char *be[MAX_KEYS * 2 + 1], *fe[MAX_KEYS * 2 + 1];
	size_t nb = 0, nf = 0, xb = count_keys(be_keys), xf = count_keys(fe_keys);

	if (xk_bus_find(bus, ops->type, devid)) {
		fprintf(stderr, "xenkvm: %s %u: a device with this id exists already\n", ops->type,
			devid);
		return NULL;
	}
	if (xb > MAX_KEYS * 2 - 12 || xf > MAX_KEYS * 2 - 8)
		return NULL;
	struct xk_dev *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->bus = bus;
	dev->ops = ops;
	dev->priv = priv;
	dev->devid = devid;
	dev->state = XK_XB_INITIALISING;
	snprintf(dev->be_path, sizeof(dev->be_path),
		 "/local/domain/%" PRIu32 "/backend/%s/%" PRIu32 "/%" PRIu32, bus->be_domid,
		 ops->type, bus->domid, devid);
	snprintf(dev->fe_path, sizeof(dev->fe_path), "/local/domain/%" PRIu32 "/device/%s/%" PRIu32,
		 bus->domid, ops->type, devid);
	snprintf(dev->fe_state_path, sizeof(dev->fe_state_path), "%s/state", dev->fe_path);
	snprintf(dev->token, sizeof(dev->token), "xkbus-%u-%s-%" PRIu32, ++bus->seq, ops->type,
		 devid);
	snprintf(be_id, sizeof(be_id), "%" PRIu32, bus->be_domid);
	snprintf(dom_id, sizeof(dom_id), "%" PRIu32, bus->domid);

	/* libxl__device_generic_add: "frontend"/"backend" links are written
	 * by device_add itself. */
	be[nb++] = "frontend-id";
	be[nb++] = dom_id;
	be[nb++] = "online";
	be[nb++] = "1";
	be[nb++] = "state";
	be[nb++] = "1";
	for (size_t i = 0; i < xb; i++)
		be[nb++] = be_keys[i];
	be[nb] = NULL;
	fe[nf++] = "backend-id";
	fe[nf++] = be_id;
	fe[nf++] = "state";
	fe[nf++] = "1";
	for (size_t i = 0; i < xf; i++)
		fe[nf++] = fe_keys[i];
	fe[nf] = NULL;

	dev->next = bus->devs;
	bus->devs = dev;
	int rc = s->device_add(s->opaque, ops->type, bus->domid, devid, be, fe);
	if (rc) {
		dev_err(dev, "cannot create the xenstore directories (%s)", strerror(-rc));
		goto fail;
	}
	if (ops->init && ops->init(dev))
		goto fail;
	set_state(dev, XK_XB_INITWAIT);
	rc = s->watch(s->opaque, dev->fe_state_path, dev->token, fe_changed, dev);
	if (rc) {
		dev_err(dev, "cannot watch the frontend (%s)", strerror(-rc));
		goto fail;
	}
	dev->watching = true;
	return dev;
fail:
	s->rm(s->opaque, dev->fe_path);
	s->rm(s->opaque, dev->be_path);
	for (struct xk_dev **p = &bus->devs; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	free(dev);
	return NULL;
}

void xk_bus_remove(struct xk_dev *dev)
{
	dev->removing = true;
	xk_dev_be_printf(dev, "online", "0");
	if (!dev->connected && read_fe_state(dev) <= XK_XB_INITIALISING) {
		dev_destroy(dev); /* the frontend never started */
		return;
	}
	/* The frontend sees Closing, closes its side; fe_changed() then
	 * finishes the removal when it reaches Closed. */
	set_state(dev, XK_XB_CLOSING);
	if (read_fe_state(dev) == XK_XB_CLOSED || read_fe_state(dev) == XK_XB_UNKNOWN)
		dev_destroy(dev);
}

void xk_bus_remove_now(struct xk_dev *dev)
{
	dev->removing = true;
	dev_destroy(dev);
}

bool xk_dev_removing(const struct xk_dev *dev)
{
	return dev->removing;
}

struct xk_dev *xk_bus_next(struct xk_bus *bus, struct xk_dev *prev)
{
	return prev ? prev->next : bus->devs;
}

const char *xk_dev_type(const struct xk_dev *dev)
{
	return dev->ops->type;
}

/* ---- multi-page rings ---- */

void xk_ring_read(const struct xk_ring_pages *r, size_t off, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len) {
		size_t pg = off / 4096, in = off % 4096, n = 4096 - in;
		if (n > len)
			n = len;
		if (pg >= r->n) {
			memset(out, 0, len);
			return;
		}
		memcpy(out, (const uint8_t *)r->page[pg] + in, n);
		out += n;
		off += n;
		len -= n;
	}
}

void xk_ring_write(const struct xk_ring_pages *r, size_t off, const void *buf, size_t len)
{
	const uint8_t *in_buf = buf;

	while (len) {
		size_t pg = off / 4096, in = off % 4096, n = 4096 - in;
		if (n > len)
			n = len;
		if (pg >= r->n)
			return;
		memcpy((uint8_t *)r->page[pg] + in, in_buf, n);
		in_buf += n;
		off += n;
		len -= n;
	}
}
