/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkback: the blkif protocol (xen/io/blkif.h) served from a raw image or a
 * block device, as a xenbus device type "vbd" (xenbus.h).
 *
 * The ring, the indirect pages and every key the frontend writes are
 * hostile: a request is copied out of the ring once and checked (operation,
 * segment count, sector ranges, grant refs) before anything is mapped or
 * any I/O is done.  A request that fails a check is answered with
 * BLKIF_RSP_ERROR (or EOPNOTSUPP for an unknown operation); impossible ring
 * indices end the connection (the backend goes Closing) - the launcher
 * never trusts the guest's indices for its own bounds.
 *
 * Requests are served synchronously, in ring order: a flush or barrier is
 * answered only after fdatasync() returned, i.e. after every write answered
 * before it is durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include <sys/uio.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "blk.h"

#define SECTOR		  512
#define PAGE		  4096
#define SECTORS_PER_PAGE  (PAGE / SECTOR)
#define RING_HDR	  64 /* req_prod, req_event, rsp_prod, rsp_event, pad */
#define ENTRY_SIZE	  sizeof(union blkif_sring_entry)
#define MAX_RING_ORDER	  4 /* 16 pages, Linux blkback's default maximum */
#define MAX_INDIRECT_SEGS 256
#define SEGS_PER_IND_PAGE (PAGE / sizeof(struct blkif_request_segment))

_Static_assert(sizeof(struct blkif_request) == 112, "blkif request (x86_64 ABI)");
_Static_assert(sizeof(union blkif_sring_entry) == 112, "blkif ring entry");
_Static_assert(sizeof(struct blkif_response) == 16, "blkif response");

union req {
	struct blkif_request rw;
	struct blkif_request_discard discard;
	struct blkif_request_indirect ind;
	uint8_t raw[ENTRY_SIZE];
};

struct blk {
	struct xk_dev *dev;
	int fd;
	bool readonly, cdrom, is_blockdev, discard;
	uint64_t sectors;
	unsigned max_order, max_indirect;
	char *path, *vdev;

	/* connected state */
	struct xk_ring_pages ring;
	uint32_t ring_refs[1u << MAX_RING_ORDER];
	bool ring_mapped;
	uint32_t port;
	bool bound;
	RING_IDX nr_ents; /* power of two */
	RING_IDX req_cons, rsp_prod_pvt;
	bool broken;

	struct xk_blk_stats stats;
	/* scratch for one request */
	struct blkif_request_segment segs[MAX_INDIRECT_SEGS];
	void *pages[MAX_INDIRECT_SEGS];
	uint32_t refs[MAX_INDIRECT_SEGS];
	struct iovec iov[MAX_INDIRECT_SEGS];
};

/* ---- the shared ring ---- */

static RING_IDX *hdr_field(struct blk *b, unsigned off)
{
	return (RING_IDX *)((uint8_t *)b->ring.page[0] + off);
}
#define REQ_PROD  0
#define REQ_EVENT 4
#define RSP_PROD  8
#define RSP_EVENT 12

static void put_response(struct blk *b, uint64_t id, uint8_t op, int16_t status)
{
	struct blkif_response rsp = {.id = id, .operation = op, .status = status};
	size_t off = RING_HDR + (size_t)(b->rsp_prod_pvt & (b->nr_ents - 1)) * ENTRY_SIZE;

	xk_ring_write(&b->ring, off, &rsp, sizeof(rsp));
	b->rsp_prod_pvt++;
	if (status != BLKIF_RSP_OKAY)
		b->stats.errors++;
}

/* RING_PUSH_RESPONSES_AND_CHECK_NOTIFY */
static bool push_responses(struct blk *b)
{
	RING_IDX old = __atomic_load_n(hdr_field(b, RSP_PROD), __ATOMIC_RELAXED);
	RING_IDX new = b->rsp_prod_pvt;

	if (old == new)
		return false;
	__atomic_store_n(hdr_field(b, RSP_PROD), new, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	RING_IDX ev = __atomic_load_n(hdr_field(b, RSP_EVENT), __ATOMIC_RELAXED);
	return (RING_IDX)(new - ev) < (RING_IDX)(new - old);
}

/* ---- I/O ---- */

static bool in_range(struct blk *b, uint64_t sector, uint64_t n)
{
	return sector <= b->sectors && n <= b->sectors - sector;
}

static int do_rw_io(struct blk *b, bool write, uint64_t sector, unsigned nseg)
{
	off_t off = (off_t)(sector * SECTOR);
	struct iovec *iov = b->iov;
	unsigned cnt = nseg;

	while (cnt) {
		ssize_t n = write ? pwritev(b->fd, iov, (int)(cnt > IOV_MAX ? IOV_MAX : cnt), off)
				  : preadv(b->fd, iov, (int)(cnt > IOV_MAX ? IOV_MAX : cnt), off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* the image shrank under us */
		off += n;
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

static int flush(struct blk *b)
{
	b->stats.flushes++;
	while (fdatasync(b->fd)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Segments in b->segs[0..nseg) (already copied out of guest memory). */
static int16_t serve_rw(struct blk *b, uint8_t op, uint64_t sector, unsigned nseg)
{
	bool write = op != BLKIF_OP_READ;
	uint64_t total = 0;
	domid_t domid = (domid_t)xk_dev_domid(b->dev);
	const struct xk_grant_ops *g = &xk_dev_env(b->dev)->grant;

	if (write && b->readonly)
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0; i < nseg; i++) {
		const struct blkif_request_segment *s = &b->segs[i];
		if (s->first_sect > s->last_sect || s->last_sect >= SECTORS_PER_PAGE)
			return BLKIF_RSP_ERROR;
		total += (uint64_t)(s->last_sect - s->first_sect + 1);
		b->refs[i] = s->gref;
	}
	/* (An empty flush carries no meaningful sector.) */
	if (nseg && !in_range(b, sector, total))
		return BLKIF_RSP_ERROR;
	if (nseg) {
		/* A read fills guest pages: it needs a writable grant. */
		if (g->map(g->opaque, domid, b->refs, nseg, !write, b->pages))
			return BLKIF_RSP_ERROR;
		for (unsigned i = 0; i < nseg; i++) {
			const struct blkif_request_segment *s = &b->segs[i];
			b->iov[i].iov_base = (uint8_t *)b->pages[i] + s->first_sect * SECTOR;
			b->iov[i].iov_len = (size_t)(s->last_sect - s->first_sect + 1) * SECTOR;
		}
		int rc = do_rw_io(b, write, sector, nseg);
		g->unmap(g->opaque, domid, b->refs, nseg, !write);
		if (rc) {
			xk_dev_log(b->dev, "%s of %" PRIu64 " sectors at %" PRIu64 ": %s",
				   write ? "write" : "read", total, sector, strerror(-rc));
			return BLKIF_RSP_ERROR;
		}
		if (write) {
			b->stats.writes++;
			b->stats.sectors_written += total;
		} else {
			b->stats.reads++;
			b->stats.sectors_read += total;
		}
	}
	/* Flush/barrier: durable before the answer (with its data, if any:
	 * that covers both the preflush and the FUA reading). */
	if ((op == BLKIF_OP_FLUSH_DISKCACHE || op == BLKIF_OP_WRITE_BARRIER) && flush(b))
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

static int16_t serve_indirect(struct blk *b, const struct blkif_request_indirect *r)
{
	uint8_t op = r->indirect_op;
	unsigned nseg = r->nr_segments;
	domid_t domid = (domid_t)xk_dev_domid(b->dev);
	const struct xk_grant_ops *g = &xk_dev_env(b->dev)->grant;
	uint32_t irefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	void *ipages[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

	b->stats.indirect++;
	if (op != BLKIF_OP_READ && op != BLKIF_OP_WRITE)
		return BLKIF_RSP_ERROR;
	if (nseg == 0 || nseg > b->max_indirect)
		return BLKIF_RSP_ERROR;
	unsigned npages = (unsigned)((nseg + SEGS_PER_IND_PAGE - 1) / SEGS_PER_IND_PAGE);
	memcpy(irefs, r->indirect_grefs, npages * sizeof(irefs[0]));
	if (g->map(g->opaque, domid, irefs, npages, false, ipages))
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0; i < nseg; i++)
		memcpy(&b->segs[i],
		       (const uint8_t *)ipages[i / SEGS_PER_IND_PAGE] +
			   (i % SEGS_PER_IND_PAGE) * sizeof(struct blkif_request_segment),
		       sizeof(struct blkif_request_segment));
	g->unmap(g->opaque, domid, irefs, npages, false);
	return serve_rw(b, op, r->sector_number, nseg);
}

static int16_t serve_discard(struct blk *b, const struct blkif_request_discard *r)
{
	b->stats.discards++;
	if (!b->discard || b->readonly)
		return BLKIF_RSP_EOPNOTSUPP;
	if (r->flag & BLKIF_DISCARD_SECURE)
		return BLKIF_RSP_EOPNOTSUPP; /* discard-secure is not offered */
	if (!in_range(b, r->sector_number, r->nr_sectors))
		return BLKIF_RSP_ERROR;
	if (!r->nr_sectors)
		return BLKIF_RSP_OKAY;
	off_t off = (off_t)(r->sector_number * SECTOR), len = (off_t)(r->nr_sectors * SECTOR);
	int rc;
	if (b->is_blockdev) {
		uint64_t range[2] = {(uint64_t)off, (uint64_t)len};
		rc = ioctl(b->fd, BLKDISCARD, range);
	} else {
		rc = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	}
	if (rc)
		return errno == EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

static int16_t serve(struct blk *b, const union req *r)
{
	b->stats.reqs++;
	switch (r->rw.operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (r->rw.nr_segments == 0 || r->rw.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return BLKIF_RSP_ERROR;
		memcpy(b->segs, r->rw.seg, r->rw.nr_segments * sizeof(b->segs[0]));
		return serve_rw(b, r->rw.operation, r->rw.sector_number, r->rw.nr_segments);
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		if (b->readonly)
			return BLKIF_RSP_EOPNOTSUPP; /* not advertised */
		if (r->rw.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return BLKIF_RSP_ERROR;
		memcpy(b->segs, r->rw.seg, r->rw.nr_segments * sizeof(b->segs[0]));
		return serve_rw(b, r->rw.operation, r->rw.sector_number, r->rw.nr_segments);
	case BLKIF_OP_DISCARD:
		return serve_discard(b, &r->discard);
	case BLKIF_OP_INDIRECT:
		return serve_indirect(b, &r->ind);
	default:
		return BLKIF_RSP_EOPNOTSUPP;
	}
}

static void blk_kick(void *arg)
{
	struct blk *b = arg;
	bool notify = false;

	if (b->broken || !b->ring_mapped)
		return;
	for (;;) {
		RING_IDX rp = __atomic_load_n(hdr_field(b, REQ_PROD), __ATOMIC_ACQUIRE);
		if ((RING_IDX)(rp - b->req_cons) > b->nr_ents) {
			b->broken = true;
			if (push_responses(b))
				notify = true;
			if (notify)
				xk_dev_env(b->dev)->evtchn.notify(xk_dev_env(b->dev)->evtchn.opaque,
								  b->port);
			xk_dev_fatal(b->dev, EPROTO,
				     "ring index overflow (req_prod %u, consumed %u, ring of %u)",
				     rp, b->req_cons, b->nr_ents);
			return;
		}
		while (b->req_cons != rp) {
			union req r;
			size_t off =
			    RING_HDR + (size_t)(b->req_cons & (b->nr_ents - 1)) * ENTRY_SIZE;
			/* One copy: the guest may change the slot meanwhile. */
			xk_ring_read(&b->ring, off, &r, sizeof(r));
			b->req_cons++;
			int16_t st = serve(b, &r);
			/* An indirect request is answered as the operation it
			 * carried (what Linux's blkfront checks). */
			uint8_t op = r.rw.operation == BLKIF_OP_INDIRECT ? r.ind.indirect_op
									 : r.rw.operation;
			if (st != BLKIF_RSP_OKAY)
				xk_dev_log(
				    b->dev,
				    "request op %u (%u segments, sector %" PRIu64 ") refused: %d",
				    r.rw.operation, r.rw.nr_segments, r.rw.sector_number, st);
			put_response(b, r.rw.id, op, st);
		}
		if (push_responses(b))
			notify = true;
		/* RING_FINAL_CHECK_FOR_REQUESTS */
		__atomic_store_n(hdr_field(b, REQ_EVENT), b->req_cons + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(hdr_field(b, REQ_PROD), __ATOMIC_ACQUIRE) == b->req_cons)
			break;
	}
	if (notify)
		xk_dev_env(b->dev)->evtchn.notify(xk_dev_env(b->dev)->evtchn.opaque, b->port);
}

/* ---- xenbus ---- */

static void blk_disconnect(struct xk_dev *dev)
{
	struct blk *b = xk_dev_priv(dev);
	const struct xk_bus_env *env = xk_dev_env(dev);

	if (b->bound) {
		env->evtchn.unbind(env->evtchn.opaque, b->port);
		b->bound = false;
	}
	if (b->ring_mapped) {
		env->grant.unmap(env->grant.opaque, xk_dev_domid(dev), b->ring_refs, b->ring.n,
				 true);
		b->ring_mapped = false;
	}
	memset(&b->ring, 0, sizeof(b->ring));
	b->broken = false;
}

static int blk_connect(struct xk_dev *dev)
{
	struct blk *b = xk_dev_priv(dev);
	const struct xk_bus_env *env = xk_dev_env(dev);
	uint64_t order = 0, v;
	char key[32];
	int rc;

	char *proto = xk_dev_fe_read(dev, "protocol");
	if (proto && strcmp(proto, XEN_IO_PROTO_ABI_X86_64)) {
		xk_dev_error(dev, EINVAL, "frontend protocol '%.32s' is not supported", proto);
		free(proto);
		return -EINVAL;
	}
	free(proto);
	if (!xk_dev_fe_read_uint(dev, "multi-queue-num-queues", UINT32_MAX, &v) && v != 1) {
		xk_dev_error(dev, EINVAL, "multi-queue-num-queues %" PRIu64 " (1 is offered)", v);
		return -EINVAL;
	}
	rc = xk_dev_fe_read_uint(dev, "ring-page-order", b->max_order, &order);
	if (rc == -EINVAL) {
		xk_dev_error(dev, EINVAL, "bad ring-page-order (at most %u)", b->max_order);
		return rc;
	}
	unsigned n = 1u << order;
	for (unsigned i = 0; i < n; i++) {
		if (rc == -ENOENT)
			snprintf(key, sizeof(key), "ring-ref");
		else
			snprintf(key, sizeof(key), "ring-ref%u", i);
		if (xk_dev_fe_read_uint(dev, key, UINT32_MAX, &v)) {
			xk_dev_error(dev, EINVAL, "missing or bad %s", key);
			return -EINVAL;
		}
		b->ring_refs[i] = (uint32_t)v;
	}
	if (xk_dev_fe_read_uint(dev, "event-channel", UINT32_MAX, &v)) {
		xk_dev_error(dev, EINVAL, "missing or bad event-channel");
		return -EINVAL;
	}
	b->port = (uint32_t)v;
	rc = env->grant.map(env->grant.opaque, xk_dev_domid(dev), b->ring_refs, n, true,
			    b->ring.page);
	if (rc) {
		xk_dev_error(dev, -rc, "cannot map the ring (%u page%s)", n, n > 1 ? "s" : "");
		return rc;
	}
	b->ring.n = n;
	b->ring_mapped = true;
	/* __RING_SIZE: entries that fit, rounded down to a power of two. */
	size_t fit = (n * (size_t)PAGE - RING_HDR) / ENTRY_SIZE;
	b->nr_ents = 1;
	while ((size_t)b->nr_ents * 2 <= fit)
		b->nr_ents *= 2;
	/* The frontend initialised the shared indices (SHARED_RING_INIT). */
	b->req_cons = b->rsp_prod_pvt = __atomic_load_n(hdr_field(b, RSP_PROD), __ATOMIC_ACQUIRE);
	b->broken = false;
	rc = env->evtchn.bind ? env->evtchn.bind(env->evtchn.opaque, b->port, blk_kick, b) : 0;
	if (rc) {
		xk_dev_error(dev, -rc, "cannot bind event channel %u", b->port);
		return rc;
	}
	b->bound = true;
	xk_dev_log(dev, "connected: ring of %u page%s (%u entries), event channel %u", n,
		   n > 1 ? "s" : "", b->nr_ents, b->port);
	blk_kick(b); /* requests queued before we bound */
	return 0;
}

static int blk_init(struct xk_dev *dev)
{
	struct blk *b = xk_dev_priv(dev);
	int rc = 0;

	b->dev = dev;
	rc |= xk_dev_be_printf(dev, "sectors", "%" PRIu64, b->sectors);
	rc |= xk_dev_be_printf(dev, "info", "%u",
			       (b->cdrom ? VDISK_CDROM | VDISK_REMOVABLE : 0) |
				   (b->readonly ? VDISK_READONLY : 0));
	rc |= xk_dev_be_printf(dev, "sector-size", "%u", SECTOR);
	rc |= xk_dev_be_printf(dev, "physical-sector-size", "%u", SECTOR);
	rc |= xk_dev_be_printf(dev, "feature-flush-cache", "%d", !b->readonly);
	rc |= xk_dev_be_printf(dev, "feature-barrier", "%d", !b->readonly);
	rc |= xk_dev_be_printf(dev, "feature-discard", "%d", b->discard && !b->readonly);
	if (b->discard && !b->readonly) {
		rc |= xk_dev_be_printf(dev, "discard-granularity", "%u", PAGE);
		rc |= xk_dev_be_printf(dev, "discard-alignment", "0");
		rc |= xk_dev_be_printf(dev, "discard-secure", "0");
	}
	rc |= xk_dev_be_printf(dev, "feature-max-indirect-segments", "%u", b->max_indirect);
	rc |= xk_dev_be_printf(dev, "max-ring-page-order", "%u", b->max_order);
	rc |= xk_dev_be_printf(dev, "feature-persistent", "0");
	if (rc) {
		xk_dev_error(dev, EIO, "cannot write the backend keys");
		return -EIO;
	}
	return 0;
}

static void blk_free(struct xk_dev *dev)
{
	struct blk *b = xk_dev_priv(dev);

	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b->vdev);
	free(b);
}

const struct xk_devops xk_blk_devops = {
    .type = "vbd",
    .init = blk_init,
    .connect = blk_connect,
    .disconnect = blk_disconnect,
    .free = blk_free,
};

const struct xk_blk_stats *xk_blk_stats(struct xk_dev *dev)
{
	return &((struct blk *)xk_dev_priv(dev))->stats;
}

struct xk_dev *xk_blk_add(struct xk_bus *bus, const struct xk_blk_config *cfg)
{
	struct stat st;
	struct blk *b = calloc(1, sizeof(*b));
	const char *what;

	if (!b)
		return NULL;
	b->fd = -1;
	b->readonly = cfg->readonly || cfg->cdrom;
	b->cdrom = cfg->cdrom;
	b->max_order = cfg->max_ring_page_order ? cfg->max_ring_page_order : MAX_RING_ORDER;
	if (b->max_order > MAX_RING_ORDER)
		b->max_order = MAX_RING_ORDER;
	b->max_indirect =
	    cfg->max_indirect_segments ? cfg->max_indirect_segments : MAX_INDIRECT_SEGS;
	if (b->max_indirect > MAX_INDIRECT_SEGS)
		b->max_indirect = MAX_INDIRECT_SEGS;
	b->path = strdup(cfg->path);
	b->vdev = strdup(cfg->vdev);
	if (!b->path || !b->vdev)
		goto fail_msg;

	b->fd = open(cfg->path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		fprintf(stderr, "xenkvm: --disk %s: cannot open %s%s: %s\n", cfg->vdev, cfg->path,
			b->readonly ? "" : " for writing", strerror(errno));
		goto fail;
	}
	/* Two writers on one image corrupt it: refuse like a locked image. */
	if (flock(b->fd, (b->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		fprintf(stderr, "xenkvm: --disk %s: %s is in use by another process\n", cfg->vdev,
			cfg->path);
		goto fail;
	}
	if (fstat(b->fd, &st)) {
		what = "stat";
		goto fail_errno;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;
		if (ioctl(b->fd, BLKGETSIZE64, &bytes)) {
			what = "BLKGETSIZE64";
			goto fail_errno;
		}
		b->sectors = bytes / SECTOR;
		b->is_blockdev = true;
		b->discard = true;
	} else if (S_ISREG(st.st_mode)) {
		b->sectors = (uint64_t)st.st_size / SECTOR;
		b->discard = true;
	} else {
		fprintf(stderr, "xenkvm: --disk %s: %s is neither a file nor a block device\n",
			cfg->vdev, cfg->path);
		goto fail;
	}

	char devid[16];
	snprintf(devid, sizeof(devid), "%" PRIu32, cfg->devid);
	const char *dtype = cfg->cdrom ? "cdrom" : "disk";
	/* As libxl writes a vbd (libxl__device_disk_add). */
	/* clang-format off */
	const char *const be[] = {
		"params", cfg->path,
		"type", "phy",
		"mode", b->readonly ? "r" : "w",
		"device-type", dtype,
		"removable", cfg->cdrom ? "1" : "0",
		"bootable", "1",
		"dev", cfg->vdev,
		"discard-enable", b->discard && !b->readonly ? "1" : "0",
		NULL,
	};
	/* clang-format on */
	const char *const fe[] = {"virtual-device", devid, "device-type", dtype, NULL};
	struct xk_dev *dev = xk_bus_add(bus, &xk_blk_devops, cfg->devid, be, fe, b);
	if (!dev) {
		/* init() failed after b->dev was set: the bus did not call
		 * free() (xk_bus_add frees the device only). */
		goto fail;
	}
	return dev;
fail_errno:
	fprintf(stderr, "xenkvm: --disk %s: %s %s: %s\n", cfg->vdev, what, cfg->path,
		strerror(errno));
	goto fail;
fail_msg:
	fprintf(stderr, "xenkvm: out of memory\n");
fail:
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b->vdev);
	free(b);
	return NULL;
}
