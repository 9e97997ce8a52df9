/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * io_uring backend for raw files and block devices: reads and writes are
 * queued as readv/writev on the guest's own pages and submitted in one
 * io_uring_enter per batch (unplug); their completions are read in the
 * event loop when the ring's eventfd fires.  A flush is an fdatasync-style
 * IORING_OP_FSYNC with IOSQE_IO_DRAIN: it starts only once everything
 * submitted before it has completed, so what was acknowledged before it is
 * durable when it completes (blk.c also holds it until then).  Discards
 * are done synchronously (fallocate/BLKDISCARD), they carry no data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <event2/event.h>
#include <liburing.h>

#include "blkio.h"

#define QUEUE_DEPTH 256

struct uring_io {
	struct xk_blkio io;
	int fd, efd;
	bool is_blockdev;
	struct io_uring ring;
	struct event *ev;
	unsigned queued; /* SQEs not yet handed to the kernel */
};

static void flush_sq(struct uring_io *u)
{
	while (u->queued) {
		int rc = io_uring_submit(&u->ring);
		if (rc >= 0) {
			u->queued -= (unsigned)rc > u->queued ? u->queued : (unsigned)rc;
			if (rc == 0)
				break;
		} else if (rc != -EINTR) {
			/* -EAGAIN/-EBUSY: the SQEs stay queued, the next
			 * unplug or completion retries. */
			break;
		}
	}
}

static struct io_uring_sqe *get_sqe(struct uring_io *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		flush_sq(u);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

/* Queue r (or the rest of a short read/write); false if the SQ is full. */
static bool queue(struct uring_io *u, struct xk_blkio_req *r)
{
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return false;
	switch (r->op) {
	case XK_BLKIO_READ:
		io_uring_prep_readv(sqe, u->fd, r->iov, r->niov, r->off);
		break;
	case XK_BLKIO_WRITE:
		io_uring_prep_writev(sqe, u->fd, r->iov, r->niov, r->off);
		break;
	default:
		io_uring_prep_fsync(sqe, u->fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	u->queued++;
	return true;
}

static void finish(struct uring_io *u, struct xk_blkio_req *r, int err)
{
	u->io.inflight--;
	r->done(r, err);
}

static void uring_submit(struct xk_blkio *io, struct xk_blkio_req *r)
{
	struct uring_io *u = (struct uring_io *)io;

	io->inflight++;
	if (r->op == XK_BLKIO_DISCARD) {
		finish(u, r, xk_blkio_fd_discard(u->fd, u->is_blockdev, r->off, r->len));
		return;
	}
	if (!queue(u, r))
		finish(u, r, -EAGAIN); /* cannot happen: blk.c bounds what is in flight */
}

static void complete(struct uring_io *u, struct xk_blkio_req *r, int res)
{
	if (res < 0) {
		finish(u, r, res);
		return;
	}
	if (r->op == XK_BLKIO_FLUSH) {
		finish(u, r, 0);
		return;
	}
	size_t n = (size_t)res;
	if (n >= r->len) {
		finish(u, r, 0);
		return;
	}
	if (n == 0) {
		finish(u, r, -EIO); /* the image shrank under us */
		return;
	}
	/* Short: step over what was done and queue the rest. */
	r->off += n;
	r->len -= n;
	while (r->niov && n >= r->iov->iov_len) {
		n -= r->iov->iov_len;
		r->iov++;
		r->niov--;
	}
	r->iov->iov_base = (uint8_t *)r->iov->iov_base + n;
	r->iov->iov_len -= n;
	if (!queue(u, r))
		finish(u, r, -EAGAIN);
	flush_sq(u);
}

static void reap(struct uring_io *u)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct xk_blkio_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		complete(u, r, res);
	}
}

static void on_eventfd(evutil_socket_t fd, short what, void *arg)
{
	struct uring_io *u = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	reap(u);
	flush_sq(u);
}

static void uring_unplug(struct xk_blkio *io)
{
	flush_sq((struct uring_io *)io);
}

static void uring_drain(struct xk_blkio *io)
{
	struct uring_io *u = (struct uring_io *)io;

	flush_sq(u);
	while (io->inflight) {
		struct io_uring_cqe *cqe;
		int rc = io_uring_wait_cqe(&u->ring, &cqe);
		if (rc && rc != -EINTR && rc != -EAGAIN) {
			fprintf(stderr, "xenkvm: io_uring wait: %s\n", strerror(-rc));
			break;
		}
		reap(u);
		flush_sq(u);
	}
}

static void uring_close(struct xk_blkio *io)
{
	struct uring_io *u = (struct uring_io *)io;

	uring_drain(io);
	if (u->ev)
		event_free(u->ev);
	io_uring_queue_exit(&u->ring);
	close(u->efd);
	close(u->fd);
	free(u);
}

static const struct xk_blkio_ops uring_ops = {
    .submit = uring_submit,
    .unplug = uring_unplug,
    .drain = uring_drain,
    .close = uring_close,
};

struct xk_blkio *xk_blkio_uring_new(int fd, bool is_blockdev, struct event_base *base,
				    const char **why)
{
	struct uring_io *u = calloc(1, sizeof(*u));
	int rc;

	if (!u) {
		*why = "out of memory";
		return NULL;
	}
	u->fd = fd;
	u->is_blockdev = is_blockdev;
	u->efd = -1;
	rc = io_uring_queue_init(QUEUE_DEPTH, &u->ring, 0);
	if (rc) {
		*why = strerror(-rc);
		free(u);
		return NULL;
	}
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->efd < 0) {
		*why = strerror(errno);
		goto fail;
	}
	rc = io_uring_register_eventfd(&u->ring, u->efd);
	if (rc) {
		*why = strerror(-rc);
		goto fail;
	}
	u->ev = event_new(base, u->efd, EV_READ | EV_PERSIST, on_eventfd, u);
	if (!u->ev || event_add(u->ev, NULL)) {
		*why = "cannot watch its eventfd";
		goto fail;
	}
	u->io.ops = &uring_ops;
	u->io.kind = "io_uring";
	return &u->io;
fail:
	if (u->ev)
		event_free(u->ev);
	if (u->efd >= 0)
		close(u->efd);
	io_uring_queue_exit(&u->ring);
	free(u);
	return NULL;
}
