/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Client side for a launcher whose domains are served by a standalone
 * daemon: plain blocking requests on the daemon's socket, and INTRODUCE
 * carrying the guest's memory and event fds (SCM_RIGHTS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "xs_core.h"
#include "xs_daemon.h"
#include "xenstored.h"

struct xsd_remote {
	int fd;
	uint32_t req;
};

struct xsd_remote *xsd_remote_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct xsd_remote *r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		if (r->fd >= 0)
			close(r->fd);
		free(r);
		errno = e;
		return NULL;
	}
	return r;
}

void xsd_remote_close(struct xsd_remote *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r);
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, (char *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		off += (size_t)n;
	}
	return 0;
}

static int errno_of(const char *name, uint32_t len)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (strlen(xsd_errors[i].errstring) + 1 == len &&
		    !memcmp(xsd_errors[i].errstring, name, len))
			return xsd_errors[i].errnum;
	return EIO;
}

static int remote_request_fds(struct xsd_remote *r, uint32_t type, const void *payload,
			      uint32_t len, char **reply, uint32_t *rlen, const int *fds, int nfds)
{
	struct xsd_sockmsg h = { .type = type, .req_id = ++r->req, .len = len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, len } };
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t sent = 0, total = sizeof(h) + len;
	char *body;

	if (len > XENSTORE_PAYLOAD_MAX || nfds > 3)
		return -E2BIG;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	/* The descriptors travel with the first byte; the rest may follow. */
	while (sent < total) {
		ssize_t n = sendmsg(r->fd, &mh, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		sent += (size_t)n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (n > 0 && mh.msg_iovlen) {
			size_t take =
			    (size_t)n < mh.msg_iov->iov_len ? (size_t)n : mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + take;
			mh.msg_iov->iov_len -= take;
			n -= (ssize_t)take;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	for (;;) {
		struct xsd_sockmsg rh;

		if (read_all(r->fd, &rh, sizeof(rh)) || rh.len > XENSTORE_PAYLOAD_MAX)
			return -EIO;
		body = malloc((size_t)rh.len + 1);
		if (!body)
			return -ENOMEM;
		if (read_all(r->fd, body, rh.len)) {
			free(body);
			return -EIO;
		}
		body[rh.len] = 0;
		/* We set no watches; anything else is not ours either. */
		if (rh.type == XS_WATCH_EVENT || rh.req_id != h.req_id) {
			free(body);
			continue;
		}
		if (rh.type == XS_ERROR) {
			int e = errno_of(body, rh.len);

			free(body);
			return -e;
		}
		if (rlen)
			*rlen = rh.len;
		if (reply)
			*reply = body;
		else
			free(body);
		return 0;
	}
}

static int remote_request(void *ctx, uint32_t type, const void *payload, uint32_t len, char **reply,
			  uint32_t *rlen)
{
	return remote_request_fds(ctx, type, payload, len, reply, rlen, NULL, 0);
}

int xsd_remote_write_tree(struct xsd_remote *r, const struct xsd_dominfo *info)
{
	struct xs_store st = { remote_request, r };

	return xs_store_write_tree(&st, info);
}

int xsd_remote_device_add(struct xsd_remote *r, const struct xsd_device *dev)
{
	struct xs_store st = { remote_request, r };

	return xs_store_device_add(&st, dev);
}

int xsd_remote_remove_tree(struct xsd_remote *r, uint32_t domid)
{
	struct xs_store st = { remote_request, r };

	return xs_store_remove_tree(&st, domid);
}

int xsd_remote_introduce(struct xsd_remote *r, uint32_t domid, int mem_fd, uint64_t gfn,
			 uint32_t port, int kick_fd, int notify_fd)
{
	int fds[3] = { mem_fd, kick_fd, notify_fd };
	char buf[64];
	int n =
	    snprintf(buf, sizeof(buf), "%u%c%llu%c%u", domid, 0, (unsigned long long)gfn, 0, port);

	return remote_request_fds(r, XS_INTRODUCE, buf, (uint32_t)n + 1, NULL, NULL, fds, 3);
}

int xsd_remote_release(struct xsd_remote *r, uint32_t domid)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", domid);

	return remote_request(r, XS_RELEASE, buf, (uint32_t)n + 1, NULL, NULL);
}

int xsd_remote_request_shutdown(struct xsd_remote *r, uint32_t domid, const char *reason)
{
	char buf[128];
	int n =
	    snprintf(buf, sizeof(buf), "/local/domain/%u/control/shutdown%c%s", domid, 0, reason);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	return remote_request(r, XS_WRITE, buf, (uint32_t)n, NULL, NULL);
}
