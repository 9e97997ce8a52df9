/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkback: the blkif protocol (xen/io/blkif.h) as a xenbus device type
 * "vbd" (xenbus.h), over an I/O backend (blkio.h): a raw image or block
 * device (io_uring, or synchronous), or an image in another format served
 * by qemu-nbd.
 *
 * The ring, the indirect pages and every key the frontend writes are
 * hostile: a request is copied out of the ring once and checked (operation,
 * segment count, sector ranges, grant refs) before anything is mapped or
 * any I/O is done.  A request that fails a check is answered with
 * BLKIF_RSP_ERROR (or EOPNOTSUPP for an unknown operation); impossible ring
 * indices end the connection (the backend goes Closing) - the launcher
 * never trusts the guest's indices for its own bounds.
 *
 * Up to MAX_INFLIGHT requests are in flight at once, their grants mapped
 * (the I/O goes straight to and from the guest's pages) until they
 * complete; responses go out in completion order, as blkif allows.
 * Completions that arrive together (one io_uring reap) are answered with
 * one rsp_prod update and at most one notification: a completion only
 * schedules the queue's kick, which runs once after the batch.  While a
 * queue is busy (BUSY_INFLIGHT) that kick is also how new requests are
 * found: the queue does not ask the frontend to notify it, as virtio's
 * used-event suppression does while a device works.
 * Flush and barrier requests are ordered: one waits (unconsumed work stays
 * in the ring) until every request before it has completed, then its data
 * (if any) is written, then the image is flushed, and only then is it
 * answered and the next request started.  So a flush is acknowledged only
 * when every write submitted or acknowledged before it is durable.
 *
 * Persistent grants (feature-persistent, both ends): each queue keeps the
 * data and indirect-page grants it maps in a bounded cache (blk-persist.h)
 * until the frontend disconnects, rather than unmapping them at completion.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <event2/event.h>

#include "blk.h"
#include "blk-persist.h"
#include "blkio.h"

#define SECTOR		  512
#define PAGE		  4096
#define SECTORS_PER_PAGE  (PAGE / SECTOR)
#define RING_HDR	  64 /* req_prod, req_event, rsp_prod, rsp_event, pad */
#define ENTRY_SIZE	  sizeof(union blkif_sring_entry)
#define MAX_RING_ORDER	  4 /* 16 pages, Linux blkback's default maximum */
#define MAX_INDIRECT_SEGS 256
#define SEGS_PER_IND_PAGE (PAGE / sizeof(struct blkif_request_segment))
#define MAX_INFLIGHT	  64 /* per queue */
/* A queue with this many requests in flight asks for no notification of
 * new ones: a completion comes back to the ring soon and finds them.
 * Four keeps the wait for that completion a fraction of one I/O's
 * latency, and the device busy meanwhile. */
#define BUSY_INFLIGHT  4
#define MAX_QUEUES     16
#define DEFAULT_QUEUES 4

_Static_assert(sizeof(struct blkif_request) == 112, "blkif request (x86_64 ABI)");
/* A persistent grant's 16-bit count of requests holding it: a guest may
 * name one ref in every segment and indirect page of every request. */
_Static_assert(MAX_INFLIGHT *(MAX_INDIRECT_SEGS + BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST) <
		   UINT16_MAX,
	       "persistent grant users fit in 16 bits");
_Static_assert(sizeof(union blkif_sring_entry) == 112, "blkif ring entry");
_Static_assert(sizeof(struct blkif_response) == 16, "blkif response");

union req {
	struct blkif_request rw;
	struct blkif_request_discard discard;
	struct blkif_request_indirect ind;
	uint8_t raw[ENTRY_SIZE];
};

struct blk;
struct blkq;

/* One request in flight. */
struct blkreq {
	struct xk_blkio_req io; /* first: done() finds the request from it */
	struct blk *b;
	struct blkq *rq; /* the queue it came from and is answered on */
	struct blkreq *next_free;
	uint64_t id, sector, total;
	uint8_t op;	/* the blkif operation (the indirect one's inner op) */
	uint8_t rsp_op; /* as answered */
	bool ordered;	/* flush/barrier */
	bool flushing;	/* its data is written, the flush is under way */
	bool mapped;	/* refs[0..nseg) are mapped */
	unsigned nseg;
	uint32_t refs[MAX_INDIRECT_SEGS];
	uint16_t slot[MAX_INDIRECT_SEGS];
	void *pages[MAX_INDIRECT_SEGS];
	struct iovec iov[MAX_INDIRECT_SEGS];
};

/* One queue (multi-queue-num-queues): its own ring, event channel and
 * requests; flush/barrier ordering is per queue, as blkif defines it. */
struct blkq {
	struct blk *b;
	unsigned idx;
	struct xk_ring_pages ring;
	uint32_t ring_refs[1u << MAX_RING_ORDER];
	bool ring_mapped;
	uint32_t port;
	bool bound;
	RING_IDX nr_ents; /* power of two */
	RING_IDX req_cons, rsp_prod_pvt;
	bool broken;
	struct xk_pgrants *pg; /* persistent grants negotiated */

	struct blkreq *reqs, *free_reqs;
	unsigned outstanding; /* handed to the I/O backend */
	struct blkreq *held;  /* an ordered request waiting for the others */
	bool ordered_busy;    /* an ordered request is under way */
	bool in_kick;
	struct event *kick_ev; /* the kick after a batch of completions */
};

struct blk {
	struct xk_dev *dev;
	struct xk_blkio *io;
	bool readonly, cdrom, discard;
	bool offer_persistent; /* feature-persistent */
	unsigned max_pgrants;  /* per queue */
	uint64_t sectors;
	unsigned max_order, max_indirect, max_queues;
	char *path, *vdev;

	struct blkq queues[MAX_QUEUES];
	unsigned nq;	      /* queues connected */
	unsigned outstanding; /* all queues */
	bool disconnecting;

	struct xk_blk_stats stats;
	/* scratch while a request is checked */
	struct blkif_request_segment segs[MAX_INDIRECT_SEGS];
};

/* ---- the shared ring ---- */

static RING_IDX *hdr_field(struct blkq *b, unsigned off)
{
	return (RING_IDX *)((uint8_t *)b->ring.page[0] + off);
}
#define REQ_PROD  0
#define REQ_EVENT 4
#define RSP_PROD  8
#define RSP_EVENT 12

static void put_response(struct blkq *b, uint64_t id, uint8_t op, int16_t status)
{
	struct blkif_response rsp = {.id = id, .operation = op, .status = status};
	size_t off = RING_HDR + (size_t)(b->rsp_prod_pvt & (b->nr_ents - 1)) * ENTRY_SIZE;

	if (status != BLKIF_RSP_OKAY)
		b->b->stats.errors++;
	if (!b->ring_mapped)
		return;
	xk_ring_write(&b->ring, off, &rsp, sizeof(rsp));
	b->rsp_prod_pvt++;
}

/* RING_PUSH_RESPONSES_AND_CHECK_NOTIFY */
static bool push_responses(struct blkq *b)
{
	RING_IDX old = __atomic_load_n(hdr_field(b, RSP_PROD), __ATOMIC_RELAXED);
	RING_IDX new = b->rsp_prod_pvt;

	if (old == new)
		return false;
	b->b->stats.rsp_pushes++;
	__atomic_store_n(hdr_field(b, RSP_PROD), new, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	RING_IDX ev = __atomic_load_n(hdr_field(b, RSP_EVENT), __ATOMIC_RELAXED);
	return (RING_IDX)(new - ev) < (RING_IDX)(new - old);
}

/* ---- requests ---- */

static bool in_range(struct blk *b, uint64_t sector, uint64_t n)
{
	return sector <= b->sectors && n <= b->sectors - sector;
}

/* Map n refs (write: the backend writes them) into pages[], through the
 * queue's persistent grants if it has them (slots[]) - all or nothing. */
static int map_refs(struct blk *b, struct blkq *rq, const uint32_t *refs, unsigned n, bool write,
		    void **pages, uint16_t *slots)
{
	const struct xk_grant_ops *g = &xk_dev_env(b->dev)->grant;

	if (!rq->pg)
		return g->map(g->opaque, xk_dev_domid(b->dev), refs, n, write, pages);
	for (unsigned i = 0; i < n; i++) {
		int rc = xk_pgrants_get(rq->pg, refs[i], write, &pages[i], &slots[i]);
		if (rc) {
			while (i--)
				xk_pgrants_put(rq->pg, slots[i], refs[i], write);
			return rc;
		}
	}
	return 0;
}

static void unmap_refs(struct blk *b, struct blkq *rq, const uint32_t *refs, unsigned n, bool write,
		       const uint16_t *slots)
{
	const struct xk_grant_ops *g = &xk_dev_env(b->dev)->grant;

	if (!rq->pg) {
		g->unmap(g->opaque, xk_dev_domid(b->dev), refs, n, write);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		xk_pgrants_put(rq->pg, slots[i], refs[i], write);
}

/* (A queue's persistent-grant cache, rq->pg, lives from connect to
 * disconnect, and disconnect drains every request first: a request maps
 * and unmaps through the same cache.) */
static void release(struct blk *b, struct blkreq *q)
{
	if (q->mapped) {
		unmap_refs(b, q->rq, q->refs, q->nseg, q->op == BLKIF_OP_READ, q->slot);
		q->mapped = false;
	}
	q->next_free = q->rq->free_reqs;
	q->rq->free_reqs = q;
}

static void answer(struct blk *b, struct blkreq *q, int16_t st)
{
	if (st != BLKIF_RSP_OKAY)
		xk_dev_log(b->dev, "request op %u (%u segments, sector %" PRIu64 ") refused: %d",
			   q->op, q->nseg, q->sector, st);
	put_response(q->rq, q->id, q->rsp_op, st);
	release(b, q);
}

static void blk_kick(void *arg);
static void io_done(struct xk_blkio_req *r, int err);

static void issue(struct blk *b, struct blkreq *q)
{
	struct xk_blkio_req *r = &q->io;

	*r = (struct xk_blkio_req){.done = io_done};
	if (q->ordered)
		q->rq->ordered_busy = true;
	if (q->op == BLKIF_OP_DISCARD) {
		r->op = XK_BLKIO_DISCARD;
		r->off = q->sector * SECTOR;
		r->len = q->total * SECTOR;
	} else if (q->nseg && !q->flushing) {
		r->op = q->op == BLKIF_OP_READ ? XK_BLKIO_READ : XK_BLKIO_WRITE;
		r->off = q->sector * SECTOR;
		r->len = q->total * SECTOR;
		r->iov = q->iov;
		r->niov = q->nseg;
	} else {
		q->flushing = true;
		r->op = XK_BLKIO_FLUSH;
		b->stats.flushes++;
	}
	b->outstanding++;
	q->rq->outstanding++;
	b->stats.issued++;
	b->stats.inflight_sum += q->rq->outstanding;
	if (q->rq->outstanding > b->stats.inflight_max)
		b->stats.inflight_max = q->rq->outstanding;
	xk_blkio_submit(b->io, r);
}

static void io_done(struct xk_blkio_req *r, int err)
{
	struct blkreq *q = (struct blkreq *)r;
	struct blk *b = q->b;
	struct blkq *rq = q->rq;

	b->outstanding--;
	rq->outstanding--;
	if (!err && q->ordered && !q->flushing) {
		/* Its data is written: now make it durable (that covers both
		 * the preflush and the FUA reading of a flush with data). */
		q->flushing = true;
		issue(b, q);
		return;
	}
	int16_t st = BLKIF_RSP_OKAY;
	if (err) {
		st = q->op == BLKIF_OP_DISCARD && err == -EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP
								     : BLKIF_RSP_ERROR;
		xk_dev_log(b->dev, "%s of %" PRIu64 " sectors at %" PRIu64 ": %s",
			   r->op == XK_BLKIO_READ    ? "read"
			   : r->op == XK_BLKIO_WRITE ? "write"
			   : r->op == XK_BLKIO_FLUSH ? "flush"
						     : "discard",
			   q->total, q->sector, strerror(-err));
	} else if (q->nseg && q->op == BLKIF_OP_READ) {
		b->stats.reads++;
		b->stats.sectors_read += q->total;
	} else if (q->nseg) {
		b->stats.writes++;
		b->stats.sectors_written += q->total;
	}
	if (q->ordered)
		rq->ordered_busy = false;
	answer(b, q, st);
	if (rq->held && !rq->outstanding && !b->disconnecting) {
		struct blkreq *h = rq->held;
		rq->held = NULL;
		issue(b, h);
	}
	if (!rq->in_kick && !b->disconnecting) {
		/* Answer, and go on with the ring: once for all the
		 * completions of this event-loop pass. */
		if (rq->kick_ev)
			event_active(rq->kick_ev, EV_TIMEOUT, 0);
		else
			blk_kick(rq);
	}
}

/* Check the segments in b->segs[0..nseg), map them into q. */
static int16_t prep_rw(struct blk *b, struct blkreq *q, uint64_t sector, unsigned nseg)
{
	bool write = q->op != BLKIF_OP_READ;
	uint64_t total = 0;

	if (write && b->readonly)
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0; i < nseg; i++) {
		const struct blkif_request_segment *s = &b->segs[i];
		if (s->first_sect > s->last_sect || s->last_sect >= SECTORS_PER_PAGE)
			return BLKIF_RSP_ERROR;
		total += (uint64_t)(s->last_sect - s->first_sect + 1);
		q->refs[i] = s->gref;
	}
	q->sector = sector;
	q->total = total;
	/* (An empty flush carries no meaningful sector.) */
	if (nseg && !in_range(b, sector, total))
		return BLKIF_RSP_ERROR;
	if (nseg) {
		/* A read fills guest pages: it needs a writable grant. */
		if (map_refs(b, q->rq, q->refs, nseg, !write, q->pages, q->slot))
			return BLKIF_RSP_ERROR;
		q->nseg = nseg;
		q->mapped = true;
		for (unsigned i = 0; i < nseg; i++) {
			const struct blkif_request_segment *s = &b->segs[i];
			q->iov[i].iov_base = (uint8_t *)q->pages[i] + s->first_sect * SECTOR;
			q->iov[i].iov_len = (size_t)(s->last_sect - s->first_sect + 1) * SECTOR;
		}
	}
	return BLKIF_RSP_OKAY;
}

static int16_t prep_indirect(struct blk *b, struct blkreq *q,
			     const struct blkif_request_indirect *r)
{
	unsigned nseg = r->nr_segments;
	uint32_t irefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	void *ipages[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint16_t islots[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

	b->stats.indirect++;
	if (q->op != BLKIF_OP_READ && q->op != BLKIF_OP_WRITE)
		return BLKIF_RSP_ERROR;
	if (nseg == 0 || nseg > b->max_indirect)
		return BLKIF_RSP_ERROR;
	unsigned npages = (unsigned)((nseg + SEGS_PER_IND_PAGE - 1) / SEGS_PER_IND_PAGE);
	memcpy(irefs, r->indirect_grefs, npages * sizeof(irefs[0]));
	if (map_refs(b, q->rq, irefs, npages, false, ipages, islots))
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0; i < nseg; i++)
		memcpy(&b->segs[i],
		       (const uint8_t *)ipages[i / SEGS_PER_IND_PAGE] +
			   (i % SEGS_PER_IND_PAGE) * sizeof(struct blkif_request_segment),
		       sizeof(struct blkif_request_segment));
	unmap_refs(b, q->rq, irefs, npages, false, islots);
	return prep_rw(b, q, r->sector_number, nseg);
}

static int16_t prep_discard(struct blk *b, struct blkreq *q, const struct blkif_request_discard *r)
{
	b->stats.discards++;
	if (!b->discard || b->readonly)
		return BLKIF_RSP_EOPNOTSUPP;
	if (r->flag & BLKIF_DISCARD_SECURE)
		return BLKIF_RSP_EOPNOTSUPP; /* discard-secure is not offered */
	if (!in_range(b, r->sector_number, r->nr_sectors))
		return BLKIF_RSP_ERROR;
	q->sector = r->sector_number;
	q->total = r->nr_sectors;
	return BLKIF_RSP_OKAY;
}

/* Check and map one request; start it, hold it, or answer it at once. */
static void start(struct blk *b, struct blkreq *q, const union req *r)
{
	int16_t st;

	b->stats.reqs++;
	q->b = b; /* (q->rq is set for good when the pool is made) */
	q->id = r->rw.id;
	q->op = q->rsp_op = r->rw.operation;
	q->sector = r->rw.sector_number;
	q->nseg = 0;
	q->total = 0;
	q->mapped = q->ordered = q->flushing = false;
	switch (r->rw.operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (r->rw.nr_segments == 0 || r->rw.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
			q->nseg = r->rw.nr_segments;
			st = BLKIF_RSP_ERROR;
			break;
		}
		memcpy(b->segs, r->rw.seg, r->rw.nr_segments * sizeof(b->segs[0]));
		st = prep_rw(b, q, r->rw.sector_number, r->rw.nr_segments);
		break;
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		if (b->readonly) {
			st = BLKIF_RSP_EOPNOTSUPP; /* not advertised */
			break;
		}
		if (r->rw.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
			st = BLKIF_RSP_ERROR;
			break;
		}
		memcpy(b->segs, r->rw.seg, r->rw.nr_segments * sizeof(b->segs[0]));
		st = prep_rw(b, q, r->rw.sector_number, r->rw.nr_segments);
		q->ordered = true;
		break;
	case BLKIF_OP_DISCARD:
		st = prep_discard(b, q, &r->discard);
		if (st == BLKIF_RSP_OKAY && !q->total) {
			answer(b, q, st); /* nothing to do */
			return;
		}
		break;
	case BLKIF_OP_INDIRECT:
		/* Answered as the operation it carried (what Linux's blkfront
		 * checks). */
		q->op = q->rsp_op = r->ind.indirect_op;
		q->sector = r->ind.sector_number;
		st = prep_indirect(b, q, &r->ind);
		break;
	default:
		st = BLKIF_RSP_EOPNOTSUPP;
		break;
	}
	if (st != BLKIF_RSP_OKAY) {
		answer(b, q, st);
		return;
	}
	if (q->ordered && q->rq->outstanding) {
		q->rq->held = q; /* after everything before it on its queue */
		return;
	}
	issue(b, q);
}

static void blk_kick(void *arg)
{
	struct blkq *b = arg;
	struct blk *blk = b->b;
	bool notify = false;

	if (b->broken || !b->ring_mapped || b->in_kick)
		return;
	b->in_kick = true;
	blk->stats.kicks++;
	for (;;) {
		RING_IDX rp = __atomic_load_n(hdr_field(b, REQ_PROD), __ATOMIC_ACQUIRE);
		/* More requests than slots once answered ones are counted out
		 * (RING_REQUEST_PROD_OVERFLOW). */
		if ((RING_IDX)(rp - b->rsp_prod_pvt) > b->nr_ents ||
		    (RING_IDX)(rp - b->req_cons) > b->nr_ents) {
			b->broken = true;
			if (push_responses(b))
				notify = true;
			if (notify)
				xk_dev_env(blk->dev)->evtchn.notify(
				    xk_dev_env(blk->dev)->evtchn.opaque, b->port);
			b->in_kick = false;
			xk_dev_fatal(blk->dev, EPROTO,
				     "ring index overflow on queue %u (req_prod %u, consumed %u, "
				     "ring of %u)",
				     b->idx, rp, b->req_cons, b->nr_ents);
			return;
		}
		bool blocked = false;
		while (b->req_cons != rp) {
			if (b->held || b->ordered_busy || !b->free_reqs) {
				blocked = true; /* a completion comes back here */
				break;
			}
			struct blkreq *q = b->free_reqs;
			b->free_reqs = q->next_free;
			union req r;
			size_t off =
			    RING_HDR + (size_t)(b->req_cons & (b->nr_ents - 1)) * ENTRY_SIZE;
			/* One copy: the guest may change the slot meanwhile. */
			xk_ring_read(&b->ring, off, &r, sizeof(r));
			b->req_cons++;
			start(blk, q, &r);
		}
		if (b->pg)
			xk_pgrants_purge(b->pg);
		xk_blkio_unplug(blk->io);
		if (push_responses(b))
			notify = true;
		if (blocked)
			break;
		if (b->outstanding >= BUSY_INFLIGHT) {
			/* Leave req_event behind: the frontend's next push
			 * sends no event (one VM exit and one launcher wake-up
			 * less); the next completion's kick reads the ring. */
			blk->stats.unarmed++;
			break;
		}
		/* RING_FINAL_CHECK_FOR_REQUESTS */
		__atomic_store_n(hdr_field(b, REQ_EVENT), b->req_cons + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(hdr_field(b, REQ_PROD), __ATOMIC_ACQUIRE) == b->req_cons)
			break;
	}
	b->in_kick = false;
	if (notify) {
		blk->stats.notifies++;
		xk_dev_env(blk->dev)->evtchn.notify(xk_dev_env(blk->dev)->evtchn.opaque, b->port);
	}
}

static void deferred_kick(evutil_socket_t fd, short what, void *arg)
{
	blk_kick(arg);
}

/* ---- xenbus ---- */

static void blk_disconnect(struct xk_dev *dev)
{
	struct blk *b = xk_dev_priv(dev);
	const struct xk_bus_env *env = xk_dev_env(dev);

	/* Requests in flight keep their grants until they complete. */
	b->disconnecting = true;
	xk_blkio_drain(b->io);
	for (unsigned i = 0; i < MAX_QUEUES; i++) {
		struct blkq *rq = &b->queues[i];
		if (rq->held) {
			struct blkreq *h = rq->held;
			rq->held = NULL;
			release(b, h);
		}
		rq->ordered_busy = false;
		/* Nothing is in flight: every persistent grant is idle. */
		if (rq->pg) {
			const struct xk_pgrants_stats *s = xk_pgrants_stats(rq->pg);
			xk_dev_log(dev,
				   "queue %u: %u persistent grants released; %" PRIu64
				   " reuses, %" PRIu64 " maps (%" PRIu64
				   " for one request), %" PRIu64 " upgraded to writable, %" PRIu64
				   " found changed, %" PRIu64 " purged",
				   i, xk_pgrants_count(rq->pg), s->hits, s->misses, s->oneshot,
				   s->upgrades, s->stale, s->purged);
		}
		xk_pgrants_free(rq->pg);
		rq->pg = NULL;
		if (rq->bound) {
			env->evtchn.unbind(env->evtchn.opaque, rq->port);
			rq->bound = false;
		}
		if (rq->ring_mapped) {
			env->grant.unmap(env->grant.opaque, xk_dev_domid(dev), rq->ring_refs,
					 rq->ring.n, true);
			rq->ring_mapped = false;
		}
		memset(&rq->ring, 0, sizeof(rq->ring));
		rq->broken = false;
	}
	b->disconnecting = false;
	b->nq = 0;
}

/* One queue's keys ("ring-ref"/"ring-refN", "event-channel") under dir
 * ("" for a single queue, "queue-N/"), its ring mapped and port bound. */
static int connect_queue(struct blk *b, struct blkq *q, const char *dir, bool paged, unsigned order,
			 bool persistent)
{
	struct xk_dev *dev = b->dev;
	const struct xk_bus_env *env = xk_dev_env(dev);
	uint64_t v;
	char key[48];
	int rc;

	unsigned n = 1u << order;
	for (unsigned i = 0; i < n; i++) {
		if (!paged)
			snprintf(key, sizeof(key), "%sring-ref", dir);
		else
			snprintf(key, sizeof(key), "%sring-ref%u", dir, i);
		if (xk_dev_fe_read_uint(dev, key, UINT32_MAX, &v)) {
			xk_dev_error(dev, EINVAL, "missing or bad %s", key);
			return -EINVAL;
		}
		q->ring_refs[i] = (uint32_t)v;
	}
	snprintf(key, sizeof(key), "%sevent-channel", dir);
	if (xk_dev_fe_read_uint(dev, key, UINT32_MAX, &v)) {
		xk_dev_error(dev, EINVAL, "missing or bad %s", key);
		return -EINVAL;
	}
	q->port = (uint32_t)v;
	for (unsigned i = 0; i < b->nq; i++) {
		if (&b->queues[i] != q && b->queues[i].bound && b->queues[i].port == q->port) {
			xk_dev_error(dev, EINVAL, "%s %u is queue %u's too", key, q->port, i);
			return -EINVAL;
		}
	}
	rc = env->grant.map(env->grant.opaque, xk_dev_domid(dev), q->ring_refs, n, true,
			    q->ring.page);
	if (rc) {
		xk_dev_error(dev, -rc, "cannot map the ring of queue %u (%u page%s)", q->idx, n,
			     n > 1 ? "s" : "");
		return rc;
	}
	q->ring.n = n;
	q->ring_mapped = true;
	/* __RING_SIZE: entries that fit, rounded down to a power of two. */
	size_t fit = (n * (size_t)PAGE - RING_HDR) / ENTRY_SIZE;
	q->nr_ents = 1;
	while ((size_t)q->nr_ents * 2 <= fit)
		q->nr_ents *= 2;
	/* The frontend initialised the shared indices (SHARED_RING_INIT). */
	q->req_cons = q->rsp_prod_pvt = __atomic_load_n(hdr_field(q, RSP_PROD), __ATOMIC_ACQUIRE);
	q->broken = false;
	rc = env->evtchn.bind ? env->evtchn.bind(env->evtchn.opaque, q->port, blk_kick, q) : 0;
	if (rc) {
		xk_dev_error(dev, -rc, "cannot bind event channel %u", q->port);
		return rc;
	}
	q->bound = true;
	if (persistent) {
		q->pg = xk_pgrants_new(b->max_pgrants, &env->grant, xk_dev_domid(dev));
		/* Without it every grant is unmapped at completion, which a
		 * persistent frontend copes with (it ends such grants). */
		if (!q->pg)
			xk_dev_log(dev, "queue %u: out of memory for persistent grants", q->idx);
	}
	xk_dev_log(dev, "connected queue %u: ring of %u page%s (%u entries), event channel %u%s",
		   q->idx, n, n > 1 ? "s" : "", q->nr_ents, q->port,
		   q->pg ? ", persistent grants" : "");
	return 0;
}

static int blk_connect(struct xk_dev *dev)
{
	struct blk *b = xk_dev_priv(dev);
	uint64_t order = 0, nq = 1;
	int rc;

	char *proto = xk_dev_fe_read(dev, "protocol");
	if (proto && strcmp(proto, XEN_IO_PROTO_ABI_X86_64)) {
		xk_dev_error(dev, EINVAL, "frontend protocol '%.32s' is not supported", proto);
		free(proto);
		return -EINVAL;
	}
	free(proto);
	rc = xk_dev_fe_read_uint(dev, "multi-queue-num-queues", b->max_queues, &nq);
	if (rc == -EINVAL || nq == 0) {
		xk_dev_error(dev, EINVAL, "bad multi-queue-num-queues (1 to %u)", b->max_queues);
		return -EINVAL;
	}
	if (rc == -ENOENT)
		nq = 1;
	rc = xk_dev_fe_read_uint(dev, "ring-page-order", b->max_order, &order);
	if (rc == -EINVAL) {
		xk_dev_error(dev, EINVAL, "bad ring-page-order (at most %u)", b->max_order);
		return rc;
	}
	bool paged = rc != -ENOENT;
	/* Persistent grants when both ends offer them (Linux blkback's
	 * connect_ring: any non-zero value; anything else is "no"). */
	uint64_t fp = 0;
	bool persistent = b->offer_persistent &&
			  !xk_dev_fe_read_uint(dev, "feature-persistent", UINT32_MAX, &fp) && fp;
	b->nq = (unsigned)nq;
	for (unsigned i = 0; i < b->nq; i++) {
		char dir[24] = "";
		if (b->nq > 1)
			snprintf(dir, sizeof(dir), "queue-%u/", i);
		rc = connect_queue(b, &b->queues[i], dir, paged, (unsigned)order, persistent);
		if (rc)
			return rc; /* the bus disconnects: every queue is undone */
	}
	for (unsigned i = 0; i < b->nq; i++)
		blk_kick(&b->queues[i]); /* requests queued before we bound */
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
	rc |= xk_dev_be_printf(dev, "multi-queue-max-queues", "%u", b->max_queues);
	rc |= xk_dev_be_printf(dev, "feature-persistent", "%d", b->offer_persistent);
	if (rc) {
		xk_dev_error(dev, EIO, "cannot write the backend keys");
		return -EIO;
	}
	return 0;
}

static void blk_free(struct xk_dev *dev)
{
	struct blk *b = xk_dev_priv(dev);
	const struct xk_blk_stats *s = &b->stats;

	if (xk_dev_env(dev)->verbose)
		fprintf(stderr,
			"xenkvm: %s: %" PRIu64 " requests (%" PRIu64 " reads, %" PRIu64
			" writes, %" PRIu64 " flushes), %" PRIu64 " ring scans (%" PRIu64
			" left unarmed), %" PRIu64 " response pushes, %" PRIu64
			" notifications; in flight at issue: mean %.1f, "
			"max %" PRIu64 "\n",
			b->vdev, s->reqs, s->reads, s->writes, s->flushes, s->kicks, s->unarmed,
			s->rsp_pushes, s->notifies,
			s->issued ? (double)s->inflight_sum / (double)s->issued : 0.0,
			s->inflight_max);
	xk_blkio_close(b->io);
	for (unsigned i = 0; i < MAX_QUEUES; i++) {
		free(b->queues[i].reqs);
		if (b->queues[i].kick_ev)
			event_free(b->queues[i].kick_ev);
	}
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

unsigned xk_blk_inflight(struct xk_dev *dev)
{
	return ((struct blk *)xk_dev_priv(dev))->outstanding;
}

unsigned xk_blk_pgrants(struct xk_dev *dev, struct xk_pgrants_stats *sum)
{
	struct blk *b = xk_dev_priv(dev);
	unsigned n = 0;

	if (sum)
		*sum = (struct xk_pgrants_stats){0};
	for (unsigned i = 0; i < b->nq; i++) {
		const struct xk_pgrants *pg = b->queues[i].pg;
		if (!pg)
			continue;
		n += xk_pgrants_count(pg);
		if (sum) {
			const struct xk_pgrants_stats *s = xk_pgrants_stats(pg);
			sum->hits += s->hits;
			sum->misses += s->misses;
			sum->upgrades += s->upgrades;
			sum->stale += s->stale;
			sum->oneshot += s->oneshot;
			sum->purged += s->purged;
		}
	}
	return n;
}

bool xk_blk_persistent(struct xk_dev *dev)
{
	struct blk *b = xk_dev_priv(dev);

	return b->nq && b->queues[0].pg;
}

const char *xk_blk_io_kind(struct xk_dev *dev)
{
	return ((struct blk *)xk_dev_priv(dev))->io->kind;
}

struct xk_dev *xk_blk_add(struct xk_bus *bus, const struct xk_blk_config *cfg)
{
	struct blk *b = calloc(1, sizeof(*b));
	const struct xk_bus_env *env = xk_bus_env(bus);

	if (!b)
		return NULL;
	b->readonly = cfg->readonly || cfg->cdrom;
	b->cdrom = cfg->cdrom;
	b->max_order = cfg->max_ring_page_order ? cfg->max_ring_page_order : MAX_RING_ORDER;
	if (b->max_order > MAX_RING_ORDER)
		b->max_order = MAX_RING_ORDER;
	b->max_indirect =
	    cfg->max_indirect_segments ? cfg->max_indirect_segments : MAX_INDIRECT_SEGS;
	if (b->max_indirect > MAX_INDIRECT_SEGS)
		b->max_indirect = MAX_INDIRECT_SEGS;
	/* Persistent grants need the grant ops' check() (xenbus.h). */
	b->offer_persistent = !cfg->no_persistent && env->grant.check;
	b->max_pgrants =
	    cfg->max_persistent_grants ? cfg->max_persistent_grants : XK_PGRANTS_DEFAULT;
	if (b->max_pgrants > XK_PGRANTS_MAX)
		b->max_pgrants = XK_PGRANTS_MAX;
	b->max_queues = cfg->max_queues ? cfg->max_queues : DEFAULT_QUEUES;
	if (b->max_queues > MAX_QUEUES)
		b->max_queues = MAX_QUEUES;
	b->path = strdup(cfg->path);
	b->vdev = strdup(cfg->vdev);
	if (!b->path || !b->vdev)
		goto fail_msg;
	for (unsigned i = 0; i < b->max_queues; i++) {
		struct blkq *rq = &b->queues[i];
		rq->b = b;
		rq->idx = i;
		rq->reqs = calloc(MAX_INFLIGHT, sizeof(*rq->reqs));
		if (!rq->reqs)
			goto fail_msg;
		for (unsigned j = 0; j < MAX_INFLIGHT; j++) {
			rq->reqs[j].rq = rq;
			release(b, &rq->reqs[j]);
		}
		if (env->base) {
			rq->kick_ev = event_new(env->base, -1, 0, deferred_kick, rq);
			if (!rq->kick_ev)
				goto fail_msg;
		}
	}

	struct xk_blkio_config ioc = {
	    .path = cfg->path,
	    .format = cfg->format,
	    .name = cfg->vdev,
	    .readonly = b->readonly,
	    .mode = cfg->io,
	    .base = env->base,
	    .verbose = env->verbose,
	};
	b->io = xk_blkio_open(&ioc);
	if (!b->io)
		goto fail;
	b->sectors = b->io->size / SECTOR;
	b->discard = b->io->can_discard;
	if (env->verbose)
		fprintf(stderr, "xenkvm: --disk %s: %s, %" PRIu64 " sectors, %s I/O\n", cfg->vdev,
			cfg->path, b->sectors, b->io->kind);

	char devid[16];
	snprintf(devid, sizeof(devid), "%" PRIu32, cfg->devid);
	const char *dtype = cfg->cdrom ? "cdrom" : "disk";
	const char *fmt = cfg->format && strcmp(cfg->format, "raw") ? "qdisk" : "phy";
	/* As libxl writes a vbd (libxl__device_disk_add). */
	/* clang-format off */
	const char *const be[] = {
		"params", cfg->path,
		"type", fmt,
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
fail_msg:
	fprintf(stderr, "xenkvm: out of memory\n");
fail:
	xk_blkio_close(b->io);
	for (unsigned i = 0; i < MAX_QUEUES; i++) {
		free(b->queues[i].reqs);
		if (b->queues[i].kick_ev)
			event_free(b->queues[i].kick_ev);
	}
	free(b->path);
	free(b->vdev);
	free(b);
	return NULL;
}
