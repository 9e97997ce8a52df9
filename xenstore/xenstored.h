/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenkvm's xenstore daemon, embedded in a process that runs a libevent
 * event_base (the launcher), or standalone through xk_xenstored_main().
 *
 * Threading: every function must be called on the thread that runs the
 * event_base, except xsd_domain_kick(), which may be called from any thread
 * when libevent threading is enabled (evthread_use_pthreads()).
 *
 * Errors: functions returning int give 0 or a negative errno; the errno
 * values are those the wire protocol would answer (-ENOENT, -EACCES, ...).
 */
#ifndef XENKVM_XENSTORED_H
#define XENKVM_XENSTORED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct xenstore_domain_interface;
struct xsd;

/* Log levels passed to xsd_options.log. */
#define XSD_LOG_ERR   0
#define XSD_LOG_INFO  1
#define XSD_LOG_TRACE 2

struct xsd_options {
	/* NULL: errors and info lines go to stderr prefixed "xenstored: ". */
	void (*log)(void *opaque, int level, const char *msg);
	void *log_opaque;
	/* Log every request (also switchable with CONTROL log on|off). */
	bool trace;
	/*
	 * A domain was released (RELEASE from a host tool, or
	 * xsd_domain_release): its ring is no longer served.  May be NULL.
	 */
	void (*released)(void *opaque, uint32_t domid);
	void *released_opaque;
};

/* Create a daemon on base (opts may be NULL).  NULL on allocation failure. */
struct xsd *xsd_new(struct event_base *base, const struct xsd_options *opts);
/* Closes every connection and the listening socket (which is unlinked). */
void xsd_free(struct xsd *xsd);

/*
 * Serve host tools on a unix socket at path (parent directories are created,
 * a stale socket is replaced).  Clients are dom0: fully privileged.
 * libxenstore and pyxs find it through XENSTORED_PATH=<path>.
 */
int xsd_listen(struct xsd *xsd, const char *path);
/* $XENSTORED_PATH, else $XDG_RUNTIME_DIR/xenkvm/xenstored.sock, else
 * /run/xenkvm/xenstored.sock. */
const char *xsd_default_socket_path(char *buf, size_t len);

/* ---- guest domains ---- */

/* Raise the guest's xenstore event channel (the daemon wrote a reply or
 * consumed requests). */
typedef void (*xsd_notify_fn)(void *opaque);

/*
 * Connect domain domid whose xenstore page is ring (host pointer into guest
 * RAM, stays valid until xsd_domain_release()).  Every byte of it is treated
 * as hostile: a guest that corrupts the ring loses only its own connection
 * (the page's "error" field says why; the ring-reconnection feature lets it
 * start over).  Fires @introduceDomain.  The ring indices are reset.
 */
int xsd_domain_introduce(struct xsd *xsd, uint32_t domid, struct xenstore_domain_interface *ring,
			 xsd_notify_fn notify, void *opaque);
/* The guest notified its xenstore event channel. */
void xsd_domain_kick(struct xsd *xsd, uint32_t domid);
/* Optional: let the daemon poll an eventfd (e.g. the ioeventfd doorbell)
 * and kick itself.  The fd stays owned by the caller. */
int xsd_domain_kick_fd(struct xsd *xsd, uint32_t domid, int fd);
/* The domain shut down or crashed: fires @releaseDomain (once until
 * RESUME), as Xen's xenstored does on VIRQ_DOM_EXC. */
int xsd_domain_shutdown(struct xsd *xsd, uint32_t domid);
/* Forget the domain: drops its connection and the nodes it owns, fires
 * @releaseDomain.  The standard tree written below stays (see
 * xsd_domain_remove_tree). */
int xsd_domain_release(struct xsd *xsd, uint32_t domid);
bool xsd_domain_is_introduced(struct xsd *xsd, uint32_t domid);

/* ---- the standard tree a toolstack writes for a domU (as libxl does) ---- */

struct xsd_dominfo {
	uint32_t domid;
	const char *name;
	uint8_t uuid[16];
	uint64_t max_memkb;    /* memory/static-max */
	uint64_t target_memkb; /* memory/target */
	uint32_t max_vcpus;    /* cpu/<n>/availability for n < max_vcpus */
	uint64_t avail_vcpus;  /* bitmap of online vCPUs (0: all online) */
	uint32_t store_port;   /* store/port */
	uint64_t store_mfn;    /* store/ring-ref */
	/* The primary console (console/...): written when console_port != 0. */
	uint32_t console_port;
	uint64_t console_mfn;
	uint32_t backend_domid; /* backend of the console (normally 0) */
};

/*
 * Writes /local/domain/<id>/{vm,name,domid,memory,cpu,control,device,data,
 * drivers,feature,attr,error,store,console}, /vm/<uuid>, /libxl/<id> and the
 * console backend, with libxl's permissions: the domain can read its home
 * and write control/shutdown, data, device/suspend/..., but not rename
 * itself or change its memory target.
 */
int xsd_domain_write_tree(struct xsd *xsd, const struct xsd_dominfo *info);

struct xsd_device {
	const char *kind; /* "vbd", "vif", "console", "vkbd", ... */
	uint32_t domid;
	uint32_t devid;
	uint32_t backend_domid;
	/* NULL-terminated key, value, key, value, ... lists; may be NULL. */
	const char *const *backend;
	const char *const *frontend;
};

/*
 * Adds a PV device like libxl__device_generic_add: the frontend directory
 * /local/domain/<domid>/device/<kind>/<devid> (owned by the guest, readable
 * by the backend) with "backend" and the frontend keys, the backend directory
 * /local/domain/<backend>/backend/<kind>/<domid>/<devid> (owned by the
 * backend, readable by the guest) with "frontend" and the backend keys, and
 * the copy under /libxl/<domid>/device/.  A frontend/backend "state" key is
 * the caller's to supply (libxl starts both at 1, XenbusStateInitialising).
 */
int xsd_device_add(struct xsd *xsd, const struct xsd_device *dev);
/* Removes what write_tree and device_add wrote for domid (libxl's destroy). */
int xsd_domain_remove_tree(struct xsd *xsd, uint32_t domid);

/* ---- control/shutdown ---- */

/* Ask the guest to shut down, as "xl shutdown"/"xl reboot" do: writes
 * reason ("poweroff", "reboot", "suspend", "halt", "crash") to
 * control/shutdown.  The guest acknowledges by clearing the key and then
 * issues SCHEDOP_shutdown itself. */
int xsd_request_shutdown(struct xsd *xsd, uint32_t domid, const char *reason);

/* Called whenever /local/domain/<domid>/control/shutdown changes (by anyone,
 * e.g. a host tool's xenstore-write), and once at registration, with the
 * current value ("" when empty or absent). */
typedef void (*xsd_shutdown_fn)(void *opaque, uint32_t domid, const char *value);
int xsd_watch_shutdown(struct xsd *xsd, uint32_t domid, xsd_shutdown_fn fn, void *opaque);

/* ---- generic access as dom0 ---- */

int xsd_write(struct xsd *xsd, const char *path, const void *value, size_t len);
int xsd_printf(struct xsd *xsd, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* malloc'd, NUL-terminated (len excludes the NUL); NULL with errno set. */
char *xsd_read(struct xsd *xsd, const char *path, size_t *len);
int xsd_mkdir(struct xsd *xsd, const char *path);
int xsd_rm(struct xsd *xsd, const char *path);
/* perms: space-separated, Xen syntax, e.g. "n0 r5" (owner first). */
int xsd_set_perms(struct xsd *xsd, const char *path, const char *perms);

/* Watch callbacks run from the event loop, never inside another call. */
typedef void (*xsd_watch_fn)(void *opaque, const char *path, const char *token);
int xsd_watch(struct xsd *xsd, const char *path, const char *token, xsd_watch_fn fn, void *opaque);
int xsd_unwatch(struct xsd *xsd, const char *path, const char *token);

/* ---- a launcher whose domains a standalone daemon serves ---- */

/*
 * Blocking client of a running "xenkvm xenstored" (not tied to an event
 * loop).  Functions return 0 or a negative errno like the ones above.
 */
struct xsd_remote;
struct xsd_remote *xsd_remote_connect(const char *socket_path); /* NULL, errno set */
void xsd_remote_close(struct xsd_remote *r);
int xsd_remote_write_tree(struct xsd_remote *r, const struct xsd_dominfo *info);
int xsd_remote_device_add(struct xsd_remote *r, const struct xsd_device *dev);
int xsd_remote_remove_tree(struct xsd_remote *r, uint32_t domid);
/*
 * Hand domain domid's ring to the daemon: it maps page gfn of mem_fd (guest
 * RAM, e.g. a memfd), waits for the guest's notifications on kick_fd (an
 * eventfd, e.g. the ioeventfd doorbell) and raises the guest's event channel
 * by writing to notify_fd (an eventfd the launcher polls).  The descriptors
 * are passed with SCM_RIGHTS: the caller keeps its own copies.
 */
int xsd_remote_introduce(struct xsd_remote *r, uint32_t domid, int mem_fd, uint64_t gfn,
			 uint32_t port, int kick_fd, int notify_fd);
int xsd_remote_release(struct xsd_remote *r, uint32_t domid);
int xsd_remote_request_shutdown(struct xsd_remote *r, uint32_t domid, const char *reason);

/* Entry point of "xenkvm xenstored [--socket PATH]" (argv[0] = "xenstored"). */
int xk_xenstored_main(int argc, char **argv);

#endif
