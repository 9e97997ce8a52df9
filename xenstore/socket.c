/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The unix-socket transport: host tools (dom0, privileged) and launchers
 * that attach their guests' rings to a standalone daemon by passing file
 * descriptors along with INTRODUCE.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "xs_core.h"
#include "xs_daemon.h"
#include "xenstored.h"

void sock_free(struct sock *s)
{
	int i;

	xs_list_del(&s->link);
	for (i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	event_free(s->ev_read);
	event_free(s->ev_write);
	event_free(s->ev_flush);
	xs_conn_free(s->conn);
	close(s->fd);
	free(s);
}

static void sock_input(struct sock *s);

/* Write what we can; when the queue drains, take more input. */
static void sock_flush(evutil_socket_t fd, short what, void *arg)
{
	struct sock *s = arg;
	const uint8_t *p;
	size_t n;

	while ((n = xs_conn_out_peek(s->conn, &p))) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(s->ev_write, NULL);
				return;
			}
			if (errno == EINTR)
				continue;
			sock_free(s);
			return;
		}
		xs_conn_out_consume(s->conn, (size_t)w);
	}
	event_del(s->ev_write);
	if (!s->reading && xs_conn_want_input(s->conn)) {
		s->reading = true;
		event_add(s->ev_read, NULL);
		if (s->inlen)
			sock_input(s);
	}
}

/* Parse what is buffered; pause reading while the client does not read. */
static void sock_input(struct sock *s)
{
	long used = xs_conn_feed(s->conn, s->inbuf, s->inlen);

	if (used < 0) {
		sock_free(s);
		return;
	}
	memmove(s->inbuf, s->inbuf + used, s->inlen - (size_t)used);
	s->inlen -= (size_t)used;
	if (!xs_conn_want_input(s->conn) && s->reading) {
		s->reading = false;
		event_del(s->ev_read);
	}
	sock_flush(-1, 0, s);
}

/* Keeps descriptors passed with the data; a launcher sends them with INTRODUCE. */
static void take_cmsg_fds(struct sock *s, struct msghdr *mh)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		int *fds = (int *)CMSG_DATA(cm);
		size_t i, n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			if (s->nfds < XSD_MAX_FDS)
				s->fds[s->nfds++] = fds[i];
			else
				close(fds[i]);
		}
	}
}

static void sock_read(evutil_socket_t fd, short what, void *arg)
{
	struct sock *s = arg;
	union {
		char buf[CMSG_SPACE(XSD_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { s->inbuf + s->inlen, SOCK_INBUF - s->inlen };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.buf,
			     .msg_controllen = sizeof(cbuf.buf) };
	ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n > 0 || (n == 0 && mh.msg_controllen))
		take_cmsg_fds(s, &mh);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		sock_free(s);
		return;
	}
	if (n < 0)
		return;
	s->inlen += (size_t)n;
	sock_input(s);
}

bool sock_take_fds(struct sock *s, int *fds, int n)
{
	if (s->nfds < n)
		return false;
	memcpy(fds, s->fds, (size_t)n * sizeof(int));
	memmove(s->fds, s->fds + n, (size_t)(s->nfds - n) * sizeof(int));
	s->nfds -= n;
	return true;
}

static void sock_wakeup(struct xs_conn *c, void *opaque)
{
	struct sock *s = opaque;

	/* Deferred: this runs in the middle of the core's processing. */
	event_active(s->ev_flush, EV_WRITE, 0);
}

static const struct xs_conn_ops sock_ops = { .wakeup = sock_wakeup };

struct sock *sock_of(struct xs_conn *c)
{
	return c && c->ops == &sock_ops ? c->opaque : NULL;
}

static void listen_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct xsd *x = arg;
	struct sock *s;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	s->xsd = x;
	s->fd = fd;
	s->ev_read = event_new(x->base, fd, EV_READ | EV_PERSIST, sock_read, s);
	s->ev_write = event_new(x->base, fd, EV_WRITE | EV_PERSIST, sock_flush, s);
	s->ev_flush = event_new(x->base, -1, 0, sock_flush, s);
	/* Socket clients are dom0 tools: privileged, paths relative to dom0. */
	s->conn = xs_conn_new(x->core, 0, false, &sock_ops, s);
	if (!s->ev_read || !s->ev_write || !s->ev_flush || !s->conn) {
		if (s->ev_read)
			event_free(s->ev_read);
		if (s->ev_write)
			event_free(s->ev_write);
		if (s->ev_flush)
			event_free(s->ev_flush);
		xs_conn_free(s->conn);
		close(fd);
		free(s);
		return;
	}
	xs_list_add_tail(&x->socks, &s->link);
	s->reading = true;
	event_add(s->ev_read, NULL);
}

const char *xsd_default_socket_path(char *buf, size_t len)
{
	const char *env = getenv("XENSTORED_PATH");
	const char *rt = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(buf, len, "%s", env);
	else if (rt && *rt)
		snprintf(buf, len, "%s/xenkvm/xenstored.sock", rt);
	else
		snprintf(buf, len, "/run/xenkvm/xenstored.sock");
	return buf;
}

static int mkdir_parents(const char *path)
{
	char *p = strdup(path), *s;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST) {
			int e = errno;

			free(p);
			return -e;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

int xsd_listen(struct xsd *x, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (x->listen_fd >= 0)
		return -EBUSY;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	err = mkdir_parents(path);
	if (err)
		return err;
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	x->ev_listen = event_new(x->base, fd, EV_READ | EV_PERSIST, listen_cb, x);
	x->sock_path = strdup(path);
	if (!x->ev_listen || !x->sock_path || event_add(x->ev_listen, NULL)) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	x->listen_fd = fd;
	return 0;
}
