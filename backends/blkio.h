/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkback's I/O backends: where the bytes of a disk live.  blk.c keeps the
 * blkif ring logic and hands each read, write, flush or discard to one of
 *
 *   sync      preadv/pwritev/fdatasync on a raw file or block device,
 *             completed before submit() returns
 *   io_uring  the same fd, requests in flight asynchronously, completions
 *             read from the event loop through the ring's eventfd
 *   nbd       an image in another format (qcow2, vhd, vmdk, ...) served by a
 *             qemu-nbd the launcher starts, read with libnbd
 *
 * A request's iovecs point into guest pages (mapped grants): the data goes
 * straight between the image and guest memory.  The caller keeps the pages
 * mapped and the request alive until done() ran.
 */
#ifndef XENKVM_BLKIO_H
#define XENKVM_BLKIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum xk_blkio_op {
	XK_BLKIO_READ,
	XK_BLKIO_WRITE,
	XK_BLKIO_FLUSH, /* everything completed before it is durable */
	XK_BLKIO_DISCARD,
};

struct xk_blkio_req {
	enum xk_blkio_op op;
	uint64_t off, len; /* bytes; len is the iovecs' total for read/write */
	struct iovec *iov; /* read/write; may be modified by the backend */
	unsigned niov;
	/* Runs exactly once, from submit() itself or later from the event
	 * loop (or from drain()); err is 0 or a negative errno. */
	void (*done)(struct xk_blkio_req *r, int err);
};

/* How raw images are served. */
enum xk_blkio_mode {
	XK_BLKIO_AUTO = 0, /* io_uring when it can be set up (and an event loop
			    * exists), else sync */
	XK_BLKIO_SYNC,
	XK_BLKIO_URING, /* fail if io_uring cannot be set up */
};

struct event_base;

struct xk_blkio_config {
	const char *path;
	/* qemu's format name ("qcow2", "vpc", "vmdk", "qcow", "qed"), or NULL
	 * or "raw" for a raw file/block device served directly. */
	const char *format;
	const char *name; /* for messages: the vdev */
	bool readonly;
	enum xk_blkio_mode mode;
	struct event_base *base; /* io_uring completions; may be NULL */
	bool verbose;
};

struct xk_blkio;

struct xk_blkio_ops {
	void (*submit)(struct xk_blkio *io, struct xk_blkio_req *r);
	/* Requests submitted since the last call may be queued: start them. */
	void (*unplug)(struct xk_blkio *io);
	/* Block until every submitted request's done() has run. */
	void (*drain)(struct xk_blkio *io);
	/* drain(), then release everything (helper processes included). */
	void (*close)(struct xk_blkio *io);
};

struct xk_blkio {
	const struct xk_blkio_ops *ops;
	uint64_t size; /* bytes */
	bool readonly, can_discard;
	const char *kind;  /* "sync", "io_uring", "nbd" */
	unsigned inflight; /* submitted, done() not yet run */
};

/*
 * Open cfg->path.  NULL after a one-line error on stderr ("xenkvm: --disk
 * NAME: ..."): missing or unreadable image, in use by another process, a
 * corrupt or unsupported image, no qemu-nbd.
 */
struct xk_blkio *xk_blkio_open(const struct xk_blkio_config *cfg);

static inline void xk_blkio_submit(struct xk_blkio *io, struct xk_blkio_req *r)
{
	io->ops->submit(io, r);
}
static inline void xk_blkio_unplug(struct xk_blkio *io)
{
	if (io->ops->unplug)
		io->ops->unplug(io);
}
static inline void xk_blkio_drain(struct xk_blkio *io)
{
	io->ops->drain(io);
}
static inline void xk_blkio_close(struct xk_blkio *io)
{
	if (io)
		io->ops->close(io);
}

/*
 * The format of an image file from its header: "qcow2", "qcow", "vmdk",
 * "vpc" (VHD), "vhdx", "qed"; NULL for anything else (raw, a block device,
 * unreadable).  Only for images whose format was not given: a raw image a
 * guest can write must never be probed (it could write such a header).
 */
const char *xk_blkio_probe_format(const char *path);

/* Backends (blkio-file.c, blkio-uring.c, blkio-nbd.c). */
struct xk_blkio *xk_blkio_file_open(const struct xk_blkio_config *cfg);
struct xk_blkio *xk_blkio_nbd_open(const struct xk_blkio_config *cfg);
/* An io_uring backend on an open fd (taken over on success); NULL with
 * *why set if io_uring is unavailable. */
struct xk_blkio *xk_blkio_uring_new(int fd, bool is_blockdev, struct event_base *base,
				    const char **why);
/* Shared by the fd backends: discard on a file (hole) or block device. */
int xk_blkio_fd_discard(int fd, bool is_blockdev, uint64_t off, uint64_t len);

#endif
