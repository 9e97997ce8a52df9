/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Raw images and block devices: opening them (flock against a second
 * writer, the size), and the synchronous backend (preadv/pwritev/
 * fdatasync, done before submit() returns).  The io_uring backend
 * (blkio-uring.c) takes the same fd when it can be set up.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "blkio.h"

struct xk_blkio *xk_blkio_open(const struct xk_blkio_config *cfg)
{
	if (cfg->format && strcmp(cfg->format, "raw"))
		return xk_blkio_nbd_open(cfg);
	return xk_blkio_file_open(cfg);
}

const char *xk_blkio_probe_format(const char *path)
{
	uint8_t head[512] = {0}, tail[512] = {0};
	struct stat st;
	const char *fmt = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || pread(fd, head, sizeof(head), 0) < 8)
		goto out;
	if (!memcmp(head, "QFI\xfb", 4)) {
		/* The version (big endian) tells qcow (1) from qcow2 (2, 3). */
		uint32_t v = (uint32_t)head[4] << 24 | (uint32_t)head[5] << 16 |
			     (uint32_t)head[6] << 8 | head[7];
		fmt = v == 1 ? "qcow" : v == 2 || v == 3 ? "qcow2" : NULL;
	} else if (!memcmp(head, "KDMV", 4) || !memcmp(head, "# Disk DescriptorFile", 21)) {
		fmt = "vmdk";
	} else if (!memcmp(head, "QED\0", 4)) {
		fmt = "qed";
	} else if (!memcmp(head, "vhdxfile", 8)) {
		fmt = "vhdx";
	} else if (!memcmp(head, "conectix", 8)) {
		fmt = "vpc"; /* dynamic VHD: a copy of the footer comes first */
	} else if (st.st_size >= 1024 &&
		   pread(fd, tail, sizeof(tail), st.st_size - 512) == (ssize_t)sizeof(tail) &&
		   !memcmp(tail, "conectix", 8)) {
		fmt = "vpc"; /* fixed VHD: raw data and a footer */
	}
out:
	close(fd);
	return fmt;
}

int xk_blkio_fd_discard(int fd, bool is_blockdev, uint64_t off, uint64_t len)
{
	int rc;

	if (is_blockdev) {
		uint64_t range[2] = {off, len};
		rc = ioctl(fd, BLKDISCARD, range);
	} else {
		rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			       (off_t)len);
	}
	return rc ? -errno : 0;
}

struct sync_io {
	struct xk_blkio io;
	int fd;
	bool is_blockdev;
};

static int rw(int fd, bool write, uint64_t off, struct iovec *iov, unsigned cnt)
{
	while (cnt) {
		int n1 = (int)(cnt > IOV_MAX ? IOV_MAX : cnt);
		ssize_t n =
		    write ? pwritev(fd, iov, n1, (off_t)off) : preadv(fd, iov, n1, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* the image shrank under us */
		off += (uint64_t)n;
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static void sync_submit(struct xk_blkio *io, struct xk_blkio_req *r)
{
	struct sync_io *s = (struct sync_io *)io;
	int rc = 0;

	switch (r->op) {
	case XK_BLKIO_READ:
	case XK_BLKIO_WRITE:
		rc = rw(s->fd, r->op == XK_BLKIO_WRITE, r->off, r->iov, r->niov);
		break;
	case XK_BLKIO_FLUSH:
		while (fdatasync(s->fd) && (rc = -errno) == -EINTR)
			;
		break;
	case XK_BLKIO_DISCARD:
		rc = xk_blkio_fd_discard(s->fd, s->is_blockdev, r->off, r->len);
		break;
	}
	r->done(r, rc);
}

static void sync_drain(struct xk_blkio *io)
{
}

static void sync_close(struct xk_blkio *io)
{
	struct sync_io *s = (struct sync_io *)io;

	close(s->fd);
	free(s);
}

static const struct xk_blkio_ops sync_ops = {
    .submit = sync_submit,
    .drain = sync_drain,
    .close = sync_close,
};

struct xk_blkio *xk_blkio_file_open(const struct xk_blkio_config *cfg)
{
	struct stat st;
	uint64_t size;
	bool is_blockdev = false;
	const char *what;
	int fd = open(cfg->path, (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "xenkvm: --disk %s: cannot open %s%s: %s\n", cfg->name, cfg->path,
			cfg->readonly ? "" : " for writing", strerror(errno));
		return NULL;
	}
	/* Two writers on one image corrupt it: refuse like a locked image. */
	if (flock(fd, (cfg->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		fprintf(stderr, "xenkvm: --disk %s: %s is in use by another process\n", cfg->name,
			cfg->path);
		goto fail;
	}
	if (fstat(fd, &st)) {
		what = "stat";
		goto fail_errno;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size)) {
			what = "BLKGETSIZE64";
			goto fail_errno;
		}
		is_blockdev = true;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		fprintf(stderr, "xenkvm: --disk %s: %s is neither a file nor a block device\n",
			cfg->name, cfg->path);
		goto fail;
	}

	struct xk_blkio *io = NULL;
	if (cfg->mode != XK_BLKIO_SYNC) {
		const char *why = "no event loop";
		if (cfg->base)
			io = xk_blkio_uring_new(fd, is_blockdev, cfg->base, &why);
		if (!io && cfg->mode == XK_BLKIO_URING) {
			fprintf(stderr, "xenkvm: --disk %s: io_uring: %s\n", cfg->name, why);
			goto fail;
		}
		if (!io && cfg->verbose)
			fprintf(stderr,
				"xenkvm: --disk %s: io_uring unavailable (%s): synchronous I/O\n",
				cfg->name, why);
	}
	if (!io) {
		struct sync_io *s = calloc(1, sizeof(*s));
		if (!s) {
			fprintf(stderr, "xenkvm: out of memory\n");
			goto fail;
		}
		s->io.ops = &sync_ops;
		s->io.kind = "sync";
		s->fd = fd;
		s->is_blockdev = is_blockdev;
		io = &s->io;
	}
	io->size = size;
	io->readonly = cfg->readonly;
	io->can_discard = !cfg->readonly;
	return io;
fail_errno:
	fprintf(stderr, "xenkvm: --disk %s: %s %s: %s\n", cfg->name, what, cfg->path,
		strerror(errno));
fail:
	close(fd);
	return NULL;
}
