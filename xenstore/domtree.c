/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tree a toolstack writes for a PV domU, following what libxl does in
 * libxl__domain_make(), libxl__build_post() and libxl__device_generic_add(),
 * with the same permissions, so guests and xl-era scripts find what they
 * expect.
 */
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

static int write_perms(const struct xs_store *x, const char *path, const char *val,
		       const char *perms)
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

static int writev_under(const struct xs_store *x, const char *dir, const char *const *kv,
			const char *perms)
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

/*
 * Steps below share one error: after the first failure they do nothing, and
 * the caller returns it.  Paths are <base>/<key>, or <base> for a NULL key.
 */
static bool mkpath(char *p, size_t size, const char *base, const char *key, int *err)
{
	int n = key ? snprintf(p, size, "%s/%s", base, key) : snprintf(p, size, "%s", base);

	if (n < 0 || (size_t)n >= size)
		*err = -E2BIG;
	return !*err;
}

static void put(const struct xs_store *x, int *err, const char *base, const char *key,
		const char *val, const char *perms)
{
	char p[2 * PATHLEN];

	if (!*err && mkpath(p, sizeof(p), base, key, err))
		*err = write_perms(x, p, val, perms);
}

static void put_u64(const struct xs_store *x, int *err, const char *base, const char *key,
		    uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	put(x, err, base, key, s, NULL);
}

/* An empty directory with its own permissions, as libxl__xs_mknod(). */
static void mknod(const struct xs_store *x, int *err, const char *base, const char *key,
		  const char *perms)
{
	char p[2 * PATHLEN];

	if (!*err && mkpath(p, sizeof(p), base, key, err))
		*err = mknod_perms(x, p, perms);
}

static void fresh(const struct xs_store *x, int *err, const char *path, const char *perms)
{
	if (!*err)
		*err = rm_quiet(x, path);
	mknod(x, err, path, NULL, perms);
}

static void putv(const struct xs_store *x, int *err, const char *dir, const char *const *kv,
		 const char *perms)
{
	if (!*err)
		*err = writev_under(x, dir, kv, perms);
}

static int device_add(const struct xs_store *x, const struct xsd_device *dev,
		      const char *const *ro_front)
{
	char fe[PATHLEN], be[PATHLEN], lp[PATHLEN], fe_perms[32], ro_perms[32];
	bool console0;
	int err = 0;

	if (!dev->kind || !*dev->kind || strchr(dev->kind, '/') || strlen(dev->kind) > 64)
		return -EINVAL;
	console0 = !strcmp(dev->kind, "console") && dev->devid == 0;
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
	put(x, &err, lp, "frontend", fe, NULL);
	put(x, &err, lp, "backend", be, NULL);

	fresh(x, &err, fe, console0 ? ro_perms : fe_perms);
	put(x, &err, fe, "backend", be, NULL);
	putv(x, &err, fe, dev->frontend, fe_perms);
	putv(x, &err, fe, ro_front, ro_perms);

	fresh(x, &err, be, ro_perms);
	put(x, &err, be, "frontend", fe, NULL);
	putv(x, &err, be, dev->backend, NULL);
	/* libxl keeps its own copy of the backend keys. */
	putv(x, &err, lp, dev->backend, NULL);
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

static int console_add(const struct xs_store *x, const struct xsd_dominfo *info)
{
	char fid[16], bid[16], port[16], ref[24];
	const char *const back[] = { "frontend-id", fid,	"online", "1", "state",
				     "1",	    "protocol", "vt100",  NULL };
	const char *const front[] = { "backend-id", bid, NULL };
	/* Keys only the backend may change (libxl's ro_front). */
	const char *const ro[] = { "limit",    "1048576", "type", "xenconsoled", "output",
				   "pty",      "tty",	  "",	  "port",	 port,
				   "ring-ref", ref,	  NULL };
	struct xsd_device dev = {
		.kind = "console",
		.domid = info->domid,
		.devid = 0,
		.backend_domid = info->backend_domid,
		.backend = back,
		.frontend = front,
	};

	snprintf(fid, sizeof(fid), "%u", info->domid);
	snprintf(bid, sizeof(bid), "%u", info->backend_domid);
	snprintf(port, sizeof(port), "%u", info->console_port);
	snprintf(ref, sizeof(ref), "%llu", (unsigned long long)info->console_mfn);
	return device_add(x, &dev, ro);
}

int xs_store_write_tree(const struct xs_store *x, const struct xsd_dominfo *info)
{
	/* Keys the domain itself writes. */
	static const char *const rw_dirs[] = {
		"device/suspend/event-channel",
		"control/shutdown",
		"control/feature-poweroff",
		"control/feature-reboot",
		"control/feature-suspend",
		"control/sysrq",
		"data",
		"drivers",
		"feature",
		"attr",
		"error",
	};
	static const char *const ro_dirs[] = { "cpu", "memory", "device", "control" };
	char dom[64], vm[64], lx[64], uuid[40], roperm[24], rwperm[24], key[32];
	uint32_t d = info->domid, i;
	int err = 0;

	if (!d || d >= XS_DOMID_SELF || !info->name || !*info->name)
		return -EINVAL;
	uuid_str(info->uuid, uuid);
	snprintf(dom, sizeof(dom), "/local/domain/%u", d);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);
	snprintf(lx, sizeof(lx), "/libxl/%u", d);
	/* The toolstack owns the home; the domain may read it. */
	snprintf(roperm, sizeof(roperm), "n0 r%u", d);
	snprintf(rwperm, sizeof(rwperm), "n%u", d);

	/* libxl__domain_make() */
	fresh(x, &err, dom, roperm);
	fresh(x, &err, vm, roperm);
	fresh(x, &err, lx, "n0");
	mknod(x, &err, lx, "device", "n0");
	put(x, &err, dom, "vm", vm, NULL);
	put(x, &err, dom, "name", info->name, NULL);
	for (i = 0; i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++)
		mknod(x, &err, dom, ro_dirs[i], roperm);
	for (i = 0; i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++)
		mknod(x, &err, dom, rw_dirs[i], rwperm);
	put(x, &err, vm, "uuid", uuid, NULL);
	put(x, &err, vm, "name", info->name, NULL);
	put(x, &err, dom, "control/platform-feature-multiprocessor-suspend", "1", NULL);
	put(x, &err, dom, "control/platform-feature-xs_reset_watches", "1", NULL);
	put(x, &err, lx, "type", "pv", NULL);

	/* libxl__build_post() */
	put_u64(x, &err, dom, "memory/static-max", info->max_memkb);
	put_u64(x, &err, dom, "memory/target", info->target_memkb);
	put(x, &err, dom, "memory/videoram", "0", NULL);
	put_u64(x, &err, dom, "domid", d);
	put_u64(x, &err, dom, "store/port", info->store_port);
	put_u64(x, &err, dom, "store/ring-ref", info->store_mfn);
	for (i = 0; i < info->max_vcpus; i++) {
		bool online = !info->avail_vcpus || (i < 64 && (info->avail_vcpus >> i) & 1);

		snprintf(key, sizeof(key), "cpu/%u/availability", i);
		put(x, &err, dom, key, online ? "online" : "offline", NULL);
	}
	if (!err && info->console_port)
		err = console_add(x, info);
	return err;
}

/* Each NUL-separated name of a DIRECTORY reply, via fn. */
static void each_child(const struct xs_store *x, const char *path,
		       void (*fn)(const struct xs_store *, const char *))
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
