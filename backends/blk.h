/* SPDX-License-Identifier: GPL-2.0-only */
/* blkback: the blkif protocol (xen/io/blkif.h) over a raw image or block
 * device, as a xenbus device type ("vbd"). */
#ifndef XENKVM_BLK_H
#define XENKVM_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "xenbus.h"
#include "blkio.h"

struct xk_blk_config {
	const char *path;      /* image file or block device */
	const char *format;    /* qemu's format name; NULL or "raw": served directly */
	enum xk_blkio_mode io; /* raw images: io_uring or synchronous */
	const char *vdev;      /* "xvda": written as the backend's dev */
	uint32_t devid;	       /* virtual-device number */
	bool readonly;	       /* mode r: writes and discards fail, VDISK_READONLY */
	bool cdrom;	       /* device-type cdrom, VDISK_CDROM */
	/* Limits advertised to the frontend (0: defaults). */
	unsigned max_ring_page_order;	/* default 4 (16 pages) */
	unsigned max_indirect_segments; /* default 256 */
	unsigned max_queues;		/* multi-queue-max-queues: default 4, at most 16 */
	bool no_persistent;		/* do not offer feature-persistent */
	unsigned max_persistent_grants; /* kept mapped per queue: default 1056 */
};

extern const struct xk_devops xk_blk_devops;

/*
 * Open the image (starting qemu-nbd for a non-raw format) and add the vbd
 * to the bus.  NULL after a one-line error (stderr): missing or unreadable
 * image, a write-mode disk on a read-only file, an image in use, a corrupt
 * or unsupported image, no qemu-nbd.
 */
struct xk_dev *xk_blk_add(struct xk_bus *bus, const struct xk_blk_config *cfg);

/* Counters (tests, -v). */
struct xk_blk_stats {
	uint64_t reqs, errors, reads, writes, flushes, discards, indirect;
	uint64_t sectors_read, sectors_written;
	/* The ring and notification paths (docs/performance.md, I/O). */
	uint64_t kicks;		 /* ring scans (guest notifications and completions) */
	uint64_t unarmed;	 /* scans that left req_event behind (busy queue) */
	uint64_t rsp_pushes;	 /* rsp_prod updates */
	uint64_t notifies;	 /* event-channel notifications to the frontend */
	uint64_t issued;	 /* requests handed to the I/O backend */
	uint64_t inflight_sum;	 /* requests in flight on the queue, summed at each issue */
	uint64_t inflight_max;
};
const struct xk_blk_stats *xk_blk_stats(struct xk_dev *dev);
/* Requests handed to the I/O backend and not completed yet. */
unsigned xk_blk_inflight(struct xk_dev *dev);
/* Persistent grants are in use on this connection. */
bool xk_blk_persistent(struct xk_dev *dev);
/* Grants kept mapped now, all queues; *sum (may be NULL): the caches'
 * counters since the connection. */
struct xk_pgrants_stats;
unsigned xk_blk_pgrants(struct xk_dev *dev, struct xk_pgrants_stats *sum);
/* "sync", "io_uring" or "nbd". */
const char *xk_blk_io_kind(struct xk_dev *dev);

#endif
