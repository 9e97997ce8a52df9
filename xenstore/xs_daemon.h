/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals shared by the daemon's files (daemon.c, socket.c, domtree.c, remote.c). */
#ifndef XENKVM_XENSTORE_DAEMON_H
#define XENKVM_XENSTORE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "xs_core.h"
#include "xenstored.h"

struct event;
struct event_base;

#define XSD_MAX_FDS   8
#define XSD_PAGE_SIZE 4096

struct ring {
	struct xs_list link;
	struct xsd *xsd;
	uint32_t domid;
	struct xenstore_domain_interface *intf;
	xsd_notify_fn notify;
	void *opaque;
	struct xs_conn *conn;
	struct event *ev_work;
	struct event *ev_kick;
	int kick_fd;
	/* Attached by a remote launcher (fd passing): ours to unmap/close. */
	void *map;
	int own_kick_fd;
	int notify_fd;
};

#define SOCK_INBUF (64 * 1024)

struct sock {
	struct xs_list link;
	struct xsd *xsd;
	int fd;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_flush;
	bool reading;
	struct xs_conn *conn;
	/* File descriptors received with SCM_RIGHTS, for INTRODUCE. */
	int fds[XSD_MAX_FDS];
	int nfds;
	size_t inlen;
	uint8_t inbuf[SOCK_INBUF];
};

struct iwatch {
	struct xs_list link;
	char *token;
	xsd_watch_fn fn;
	void *opaque;
};

struct ievent {
	struct xs_list link;
	char *path;
	char *token;
};

struct xsd {
	struct event_base *base;
	struct xs_core *core;
	struct xsd_options opts;
	int listen_fd;
	char *sock_path;
	struct event *ev_listen;
	struct xs_list rings;
	struct xs_list socks;
	/* The dom0 API's own connection, its watches and undelivered events. */
	struct xs_conn *iconn;
	uint32_t ireq;
	struct xs_list iwatches;
	struct xs_list ievents;
	struct event *ev_ievents;
	uint8_t *ireply;
	uint32_t ireply_len;
	int ireply_err;
	bool ireply_done;
	uint32_t shutdown_watch_seq;
};

/* Something that answers wire requests: the daemon itself or a remote one. */
struct xs_store {
	int (*request)(void *ctx, uint32_t type, const void *payload, uint32_t len, char **reply,
		       uint32_t *rlen);
	void *ctx;
};

/* One request on the dom0 API connection; reply is malloc'd + NUL. */
int xsd_request(struct xsd *x, uint32_t type, const void *payload, uint32_t len, char **reply,
		uint32_t *rlen);
struct xs_core *xsd_core(struct xsd *x);

/* daemon.c */
struct ring *ring_find(struct xsd *x, uint32_t domid);
void ring_free(struct ring *r);
struct ring *ring_new(struct xsd *x, uint32_t domid, struct xenstore_domain_interface *intf,
		      xsd_notify_fn notify, void *opaque, int *err);
int ring_set_kick_fd(struct ring *r, int fd);

/* socket.c */
void sock_free(struct sock *s);
/* The socket behind a connection, or NULL for other transports. */
struct sock *sock_of(struct xs_conn *c);
/* Takes (and removes) the n oldest received fds; false if fewer. */
bool sock_take_fds(struct sock *s, int *fds, int n);

/* domtree.c, on any store */
int xs_store_write_tree(const struct xs_store *st, const struct xsd_dominfo *info);
int xs_store_device_add(const struct xs_store *st, const struct xsd_device *dev);
int xs_store_remove_tree(const struct xs_store *st, uint32_t domid);
/* "n0 r5" -> "n0\0r5\0"; returns bytes or -E2BIG. */
int xs_perms_pack(const char *perms, char *buf, size_t size);

#endif
