/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tree a toolstack writes for a PV domU, following what libxl does in
 * libxl__domain_make(), libxl__build_post() and libxl__device_generic_add(),
 * with the same permissions, so guests and xl-era scripts find what they
 * expect.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"
#include "xs_daemon.h"
#include "xenstored.h"

#define PATHLEN 256

/* ---- requests on any store (the daemon itself, or a remote one) ---- */

static int st_req2(const struct xs_store *st, uint32_t type, const char *a, const void *b,
		   size_t blen)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t alen = strlen(a) + 1;

	if (alen + blen > sizeof(buf))
		return -E2BIG;
	memcpy(buf, a, alen);
	if (blen)
		memcpy(buf + alen, b, blen);
	return st->request(st->ctx, type, buf, (uint32_t)(alen + blen), NULL, NULL);
}

static int st_write(const struct xs_store *st, const char *path, const void *v, size_t len)
{
	return st_req2(st, XS_WRITE, path, v, len);
}

static int st_mkdir(const struct xs_store *st, const char *path)
{
	return st_req2(st, XS_MKDIR, path, NULL, 0);
}

static int st_rm(const struct xs_store *st, const char *path)
{
	return st_req2(st, XS_RM, path, NULL, 0);
}

int xs_perms_pack(const char *perms, char *buf, size_t size)
{
	const char *s = perms;
	char *p = buf;
	size_t n;

	while (*s) {
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (!n)
			break;
		if ((size_t)(p - buf) + n + 1 > size)
			return -E2BIG;
		memcpy(p, s, n);
		p[n] = 0;
		p += n + 1;
		s += n;
	}
	return (int)(p - buf);
}

static int st_set_perms(const struct xs_store *st, const char *path, const char *perms)
{
	char buf[512];
	int n = xs_perms_pack(perms, buf, sizeof(buf));

	return n < 0 ? n : st_req2(st, XS_SET_PERMS, path, buf, (size_t)n);
}

static int st_printf(const struct xs_store *st, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int st_printf(const struct xs_store *st, const char *path, const char *fmt, ...)
{
	char v[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return st_write(st, path, v, (size_t)n);
}

static char *st_read(const struct xs_store *st, const char *path)
{
	char *r = NULL;

	if (st->request(st->ctx, XS_READ, path, (uint32_t)strlen(path) + 1, &r, NULL))
		return NULL;
	return r;
}


static int mknod_perms(const struct xs_store *x, const char *path, const char *perms)
{
	int err = st_mkdir(x, path);

	return err ? err : st_set_perms(x, path, perms);
}

static int write_perms(const struct xs_store *x, const char *path, const char *val, const char *perms)
{
	int err = st_write(x, path, val, strlen(val));

	return err || !perms ? err : st_set_perms(x, path, perms);
}

/* rm that does not mind a missing parent (the path then is gone anyway). */
static int rm_quiet(const struct xs_store *x, const char *path)
{
	int err = st_rm(x, path);

	return err == -ENOENT ? 0 : err;
}

static int writev_under(const struct xs_store *x, const char *dir, const char *const *kv, const char *perms)
{
	char p[2 * PATHLEN];
	int err = 0;

	for (; kv && kv[0] && kv[1] && !err; kv += 2) {
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, kv[0]) >= sizeof(p))
			return -E2BIG;
		err = write_perms(x, p, kv[1], perms);
	}
	return err;
}

static int device_add(const struct xs_store *x, const struct xsd_device *dev, const char *const *ro_front)
{
	char fe[PATHLEN], be[PATHLEN], lp[PATHLEN], p[2 * PATHLEN], fe_perms[32], ro_perms[32];
	bool console0 = !strcmp(dev->kind, "console") && dev->devid == 0;
	int err;

	if (!dev->kind || !*dev->kind || strchr(dev->kind, '/') || strlen(dev->kind) > 64)
		return -EINVAL;
	if (console0)
		snprintf(fe, sizeof(fe), "/local/domain/%u/console", dev->domid);
	else
		snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%u", dev->domid, dev->kind,
			 dev->devid);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/%s/%u/%u", dev->backend_domid, dev->kind,
		 dev->domid, dev->devid);
	snprintf(lp, sizeof(lp), "/libxl/%u/device/%s/%u", dev->domid, dev->kind, dev->devid);
	/* Frontend: the guest owns it, the backend may read it. */
	snprintf(fe_perms, sizeof(fe_perms), "n%u r%u", dev->domid, dev->backend_domid);
	/* Backend (and console 0's frontend): the backend owns, the guest reads. */
	snprintf(ro_perms, sizeof(ro_perms), "n%u r%u", dev->backend_domid, dev->domid);

	err = rm_quiet(x, lp);
	if (!err)
		snprintf(p, sizeof(p), "%s/frontend", lp), err = write_perms(x, p, fe, NULL);
	if (!err)
		snprintf(p, sizeof(p), "%s/backend", lp), err = write_perms(x, p, be, NULL);

	if (!err)
		err = rm_quiet(x, fe);
	if (!err)
		err = mknod_perms(x, fe, console0 ? ro_perms : fe_perms);
	if (!err)
		snprintf(p, sizeof(p), "%s/backend", fe), err = write_perms(x, p, be, NULL);
	if (!err)
		err = writev_under(x, fe, dev->frontend, fe_perms);
	if (!err)
		err = writev_under(x, fe, ro_front, ro_perms);

	if (!err)
		err = rm_quiet(x, be);
	if (!err)
		err = mknod_perms(x, be, ro_perms);
	if (!err)
		snprintf(p, sizeof(p), "%s/frontend", be), err = write_perms(x, p, fe, NULL);
	if (!err)
		err = writev_under(x, be, dev->backend, NULL);
	/* libxl keeps its own copy of the backend keys. */
	if (!err)
		err = writev_under(x, lp, dev->backend, NULL);
	return err;
}

int xs_store_device_add(const struct xs_store *x, const struct xsd_device *dev)
{
	if (!dev || !dev->kind)
		return -EINVAL;
	return device_add(x, dev, NULL);
}

static void uuid_str(const uint8_t u[16], char *s)
{
	sprintf(s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		u[14], u[15]);
}

int xs_store_write_tree(const struct xs_store *x, const struct xsd_dominfo *info)
{
	char dom[64], vm[64], lx[64], uuid[40], p[PATHLEN], roperm[24], rwperm[24], v[32];
	static const char *const rw_dirs[] = { "device/suspend/event-channel",
					       "control/shutdown",
					       "control/feature-poweroff",
					       "control/feature-reboot",
					       "control/feature-suspend",
					       "control/sysrq",
					       "data",
					       "drivers",
					       "feature",
					       "attr",
					       "error" };
	static const char *const ro_dirs[] = { "cpu", "memory", "device", "control" };
	uint32_t d = info->domid, i;
	int err;

	if (!d || d >= XS_DOMID_SELF || !info->name || !*info->name)
		return -EINVAL;
	uuid_str(info->uuid, uuid);
	snprintf(dom, sizeof(dom), "/local/domain/%u", d);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);
	snprintf(lx, sizeof(lx), "/libxl/%u", d);
	/* Toolstack owns the home; the domain may read it. */
	snprintf(roperm, sizeof(roperm), "n0 r%u", d);
	/* Keys the domain itself writes. */
	snprintf(rwperm, sizeof(rwperm), "n%u", d);

	err = rm_quiet(x, dom);
	if (!err)
		err = mknod_perms(x, dom, roperm);
	if (!err)
		err = rm_quiet(x, vm);
	if (!err)
		err = mknod_perms(x, vm, roperm);
	if (!err)
		err = rm_quiet(x, lx);
	if (!err)
		err = mknod_perms(x, lx, "n0");
	if (!err)
		snprintf(p, sizeof(p), "%s/device", lx), err = mknod_perms(x, p, "n0");
	if (!err)
		snprintf(p, sizeof(p), "%s/vm", dom), err = write_perms(x, p, vm, NULL);
	if (!err)
		snprintf(p, sizeof(p), "%s/name", dom), err = write_perms(x, p, info->name, NULL);
	for (i = 0; !err && i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dom, ro_dirs[i]);
		err = mknod_perms(x, p, roperm);
	}
	for (i = 0; !err && i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dom, rw_dirs[i]);
		err = mknod_perms(x, p, rwperm);
	}
	if (!err)
		snprintf(p, sizeof(p), "%s/uuid", vm), err = write_perms(x, p, uuid, NULL);
	if (!err)
		snprintf(p, sizeof(p), "%s/name", vm), err = write_perms(x, p, info->name, NULL);
	if (!err)
		snprintf(p, sizeof(p), "%s/control/platform-feature-multiprocessor-suspend", dom),
			err = write_perms(x, p, "1", NULL);
	if (!err)
		snprintf(p, sizeof(p), "%s/control/platform-feature-xs_reset_watches", dom),
			err = write_perms(x, p, "1", NULL);
	if (!err)
		snprintf(p, sizeof(p), "%s/type", lx), err = write_perms(x, p, "pv", NULL);

	/* libxl__build_post() */
	if (!err)
		snprintf(p, sizeof(p), "%s/memory/static-max", dom),
			err = st_printf(x, p, "%llu", (unsigned long long)info->max_memkb);
	if (!err)
		snprintf(p, sizeof(p), "%s/memory/target", dom),
			err = st_printf(x, p, "%llu", (unsigned long long)info->target_memkb);
	if (!err)
		snprintf(p, sizeof(p), "%s/memory/videoram", dom), err = write_perms(x, p, "0", NULL);
	if (!err)
		snprintf(p, sizeof(p), "%s/domid", dom), err = st_printf(x, p, "%u", d);
	if (!err)
		snprintf(p, sizeof(p), "%s/store/port", dom),
			err = st_printf(x, p, "%u", info->store_port);
	if (!err)
		snprintf(p, sizeof(p), "%s/store/ring-ref", dom),
			err = st_printf(x, p, "%llu", (unsigned long long)info->store_mfn);
	for (i = 0; !err && i < info->max_vcpus; i++) {
		bool online = !info->avail_vcpus || (i < 64 && (info->avail_vcpus >> i) & 1);

		snprintf(p, sizeof(p), "%s/cpu/%u/availability", dom, i);
		err = write_perms(x, p, online ? "online" : "offline", NULL);
	}

	if (!err && info->console_port) {
		char port[16], ref[24], cport[16];
		const char *const back[] = { "frontend-id", v,	"online",   "1",
					     "state",	    "1", "protocol", "vt100",
					     NULL };
		const char *const front[] = { "backend-id", port, NULL };
		const char *const ro[] = { "limit", "1048576", "type", "xenconsoled", "output",
					   "pty",   "tty",     "",     "port",        NULL,
					   "ring-ref", NULL,  NULL };
		const char *ro_full[sizeof(ro) / sizeof(ro[0])];
		struct xsd_device dev = {
			.kind = "console",
			.domid = d,
			.devid = 0,
			.backend_domid = info->backend_domid,
			.backend = back,
			.frontend = front,
		};

		snprintf(v, sizeof(v), "%u", d);
		memcpy(ro_full, ro, sizeof(ro));
		snprintf(port, sizeof(port), "%u", info->backend_domid);
		snprintf(cport, sizeof(cport), "%u", info->console_port);
		snprintf(ref, sizeof(ref), "%llu", (unsigned long long)info->console_mfn);
		ro_full[9] = cport;
		ro_full[11] = ref;
		err = device_add(x, &dev, ro_full);
	}
	return err;
}

/* Each NUL-separated name of a DIRECTORY reply, via fn. */
static void each_child(const struct xs_store *x, const char *path, void (*fn)(const struct xs_store *, const char *))
{
	char *names = NULL, child[2 * PATHLEN];
	uint32_t len = 0, off;

	if (x->request(x->ctx, XS_DIRECTORY, path, (uint32_t)strlen(path) + 1, &names, &len))
		return;
	for (off = 0; off < len; off += (uint32_t)strlen(names + off) + 1) {
		snprintf(child, sizeof(child), "%s/%s", path, names + off);
		fn(x, child);
	}
	free(names);
}

static void remove_device(const struct xs_store *x, const char *libxl_dev)
{
	static const char *const keys[] = { "backend", "frontend" };
	char p[2 * PATHLEN], *v;
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", libxl_dev, keys[i]);
		v = st_read(x, p);
		if (v && v[0] == '/')
			rm_quiet(x, v);
		free(v);
	}
}

static void remove_kind(const struct xs_store *x, const char *kind_dir)
{
	each_child(x, kind_dir, remove_device);
}

int xs_store_remove_tree(const struct xs_store *x, uint32_t domid)
{
	char p[PATHLEN], *vm;
	int err;

	snprintf(p, sizeof(p), "/libxl/%u/device", domid);
	each_child(x, p, remove_kind);
	snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
	vm = st_read(x, p);
	if (vm && !strncmp(vm, "/vm/", 4))
		rm_quiet(x, vm);
	free(vm);
	snprintf(p, sizeof(p), "/libxl/%u", domid);
	err = rm_quiet(x, p);
	snprintf(p, sizeof(p), "/local/domain/%u", domid);
	return rm_quiet(x, p) ?: err;
}

/* ---- the in-process daemon's API ---- */

static int local_request(void *ctx, uint32_t type, const void *payload, uint32_t len, char **reply,
			 uint32_t *rlen)
{
	return xsd_request(ctx, type, payload, len, reply, rlen);
}

int xsd_domain_write_tree(struct xsd *x, const struct xsd_dominfo *info)
{
	struct xs_store st = { local_request, x };

	return xs_store_write_tree(&st, info);
}

int xsd_device_add(struct xsd *x, const struct xsd_device *dev)
{
	struct xs_store st = { local_request, x };

	return xs_store_device_add(&st, dev);
}

int xsd_domain_remove_tree(struct xsd *x, uint32_t domid)
{
	struct xs_store st = { local_request, x };

	return xs_store_remove_tree(&st, domid);
}
