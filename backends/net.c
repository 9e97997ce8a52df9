/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netback: serves the TX and RX rings of a vif (xen/io/netif.h) with
 * rx-copy, scatter-gather, TCP GSO and checksum offload, one or more
 * queues, shared or split event channels.
 *
 * Every request is copied out of the shared ring before it is looked at,
 * ring indices are checked against the ring size, and each grant is mapped
 * through the grant ops (which refuse refs the guest did not grant).  A
 * packet the backend cannot take gets error responses; a frontend that
 * breaks the ring protocol (impossible indices, a packet that runs past
 * req_prod, a slot crossing its page, unknown extra types) loses the vif:
 * carrier off, its rings are no longer served, the launcher carries on.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <event2/event.h>
#include <xen/xen.h>
#include <xen/io/netif.h>

#include "net.h"

#define PAGE_SIZE    4096u
#define TX_RING_SIZE __CONST_RING_SIZE(netif_tx, PAGE_SIZE)
#define RX_RING_SIZE __CONST_RING_SIZE(netif_rx, PAGE_SIZE)
#define ETH_HLEN     14
#define TX_BUDGET    64 /* packets per queue per turn of the event loop */

/* Frames waiting for RX buffers, per queue. */
#define RX_PENDING_MAX	 512
#define RX_PENDING_BYTES (4u << 20)

struct pkt {
	struct pkt *next;
	size_t len;
	struct xk_pkt_meta m;
	uint8_t data[];
};

struct netq {
	struct xk_vif *vif;
	struct xk_netq_config cfg;
	netif_tx_sring_t *tx;
	netif_rx_sring_t *rx;
	RING_IDX tx_cons, tx_rsp; /* next request to read, next response to write */
	RING_IDX rx_cons, rx_rsp;
	bool tx_bound, rx_bound;
	bool tx_more; /* TX budget used up: continue from the deferred event */
	struct pkt *head, **tailp;
	unsigned npending;
	size_t pending_bytes;
};

struct xk_vif {
	uint32_t domid, handle;
	struct xk_netdev *dev;
	struct xk_grant_ops gnt;
	struct xk_evtchn_ops ev;
	void (*log)(void *opaque, const char *msg);
	void *log_opaque;
	bool connected, broken, rx_stopped;
	struct event *defer; /* TX work left over by the budget (NULL: no budget) */
	unsigned nr_queues;
	struct netq q[XK_NET_MAX_QUEUES];
	struct xk_netfront_features f;
	struct xk_vif_stats st;
	/* One linearised TX frame; an RX frame whose checksum is filled here
	 * (separate: a packet backend may answer while a TX frame is sent). */
	uint8_t txbuf[XK_NET_MAX_FRAME + 1];
	uint8_t rxbuf[XK_NET_MAX_FRAME + 1];
};

static void vlog(struct xk_vif *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(struct xk_vif *v, const char *fmt, ...)
{
	char msg[256];
	/* The log callback's owner names the device itself. */
	int n = v->log ? 0 : snprintf(msg, sizeof(msg), "vif%u.%u: ", v->domid, v->handle);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (v->log)
		v->log(v->log_opaque, msg);
	else
		fprintf(stderr, "xenkvm: %s\n", msg);
}

/* The frontend broke the protocol: stop serving the vif. */
static void fatal(struct xk_vif *v, const char *why)
{
	if (!v->broken)
		vlog(v, "%s: frontend disabled (carrier off)", why);
	v->broken = true;
}

static RING_IDX load_acq(const RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Publish responses up to new_prod; true when the frontend asked to be told
 * (its rsp_event lies in the newly published range). */
static bool push_responses(RING_IDX *rsp_prod, RING_IDX *rsp_event, RING_IDX new_prod)
{
	RING_IDX old = *rsp_prod;

	__atomic_store_n(rsp_prod, new_prod, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	RING_IDX ev = __atomic_load_n(rsp_event, __ATOMIC_RELAXED);
	return (RING_IDX)(new_prod - ev) < (RING_IDX)(new_prod - old);
}

static void *map1(struct xk_vif *v, uint32_t ref, bool write)
{
	void *page;

	if (v->gnt.map(v->gnt.opaque, v->domid, &ref, 1, write, &page))
		return NULL;
	return page;
}

static void unmap1(struct xk_vif *v, uint32_t ref, bool write)
{
	v->gnt.unmap(v->gnt.opaque, v->domid, &ref, 1, write);
}

/* ---- TX: guest -> packet backend ---- */

static void send_segment(void *opaque, uint8_t *seg, size_t len)
{
	struct xk_vif *v = opaque;
	struct xk_pkt_meta m = {.flags = XK_PKT_CSUM_VALID};

	v->dev->ops->send(v->dev, seg, len, &m);
}

/* Hand one linearised frame to the packet backend, doing in software the
 * offloads it cannot. */
static void tx_deliver(struct xk_vif *v, uint8_t *f, size_t len, uint16_t flags,
		       const struct netif_extra_info *gso)
{
	struct xk_pkt_meta m = {0};
	unsigned caps = v->dev->caps;

	if (gso) {
		uint8_t type = gso->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ? XK_PKT_GSO_TCPV4
									   : XK_PKT_GSO_TCPV6;
		struct xk_net_hdrs h;
		if ((caps & XK_NETDEV_CAP_GSO) && (caps & XK_NETDEV_CAP_CSUM) &&
		    !xk_net_parse(f, len, &h) && h.proto == IPPROTO_TCP && h.l4 + 20 <= h.end &&
		    h.ipv6 == (type == XK_PKT_GSO_TCPV6) && !xk_net_csum_partial(f, len, &m)) {
			m.gso_type = type;
			m.gso_size = gso->u.gso.size;
			m.hdr_len = (uint16_t)(h.l4 + (size_t)(f[h.l4 + 12] >> 4) * 4);
			v->dev->ops->send(v->dev, f, len, &m);
		} else if (xk_net_gso_segment(f, len, gso->u.gso.size, send_segment, v)) {
			v->st.tx_dropped++;
			return;
		}
	} else if (flags & NETTXF_csum_blank) {
		/* Not TCP/UDP: nothing to fill, the frame goes as it is. */
		if (caps & XK_NETDEV_CAP_CSUM)
			xk_net_csum_partial(f, len, &m);
		else if (!xk_net_csum_fill(f, len))
			m.flags = XK_PKT_CSUM_VALID;
		v->dev->ops->send(v->dev, f, len, &m);
	} else {
		if (flags & NETTXF_data_validated)
			m.flags = XK_PKT_CSUM_VALID;
		v->dev->ops->send(v->dev, f, len, &m);
	}
	v->st.tx_packets++;
	v->st.tx_bytes += len;
	if (gso)
		v->st.tx_gso++;
}

static void tx_response(struct netq *q, uint16_t id, int16_t status)
{
	netif_tx_response_t r = {.id = id, .status = status};
	union netif_tx_sring_entry *e = &q->tx->ring[q->tx_rsp++ % TX_RING_SIZE];

	memcpy(&e->rsp, &r, sizeof(r));
}

static void copy_tx_req(struct netq *q, RING_IDX i, void *out)
{
	memcpy(out, (const void *)&q->tx->ring[i % TX_RING_SIZE].req, sizeof(netif_tx_request_t));
}

/*
 * Take one packet starting at tx_cons (avail requests are there): its
 * first request, extra-info slots, then the more_data fragments.  Returns
 * false when the frontend broke the protocol.
 */
static bool tx_packet(struct netq *q, RING_IDX avail)
{
	struct xk_vif *v = q->vif;
	netif_tx_request_t txs[XK_NET_FATAL_TX_SLOTS];
	struct netif_extra_info gso = {0};
	bool have_gso = false;
	unsigned used = 1, nextra = 0, n = 1;

	copy_tx_req(q, q->tx_cons, &txs[0]);
	if (txs[0].flags & NETTXF_extra_info) {
		struct netif_extra_info ex;
		do {
			if (used >= avail) {
				fatal(v, "tx: extra info past req_prod");
				return false;
			}
			if (nextra == XEN_NETIF_EXTRA_TYPE_MAX) {
				fatal(v, "tx: too many extra info slots");
				return false;
			}
			static_assert(sizeof(ex) <= sizeof(netif_tx_request_t),
				      "extra in one slot");
			memcpy(&ex, (const void *)&q->tx->ring[(q->tx_cons + used) % TX_RING_SIZE],
			       sizeof(ex));
			used++;
			nextra++;
			if (ex.type == XEN_NETIF_EXTRA_TYPE_NONE ||
			    ex.type >= XEN_NETIF_EXTRA_TYPE_MAX) {
				fatal(v, "tx: unknown extra info type");
				return false;
			}
			if (ex.type == XEN_NETIF_EXTRA_TYPE_GSO) {
				gso = ex;
				have_gso = true;
			}
		} while (ex.flags & XEN_NETIF_EXTRA_FLAG_MORE);
	}
	while (txs[n - 1].flags & NETTXF_more_data) {
		if (used >= avail) {
			fatal(v, "tx: packet runs past req_prod");
			return false;
		}
		if (n == XK_NET_FATAL_TX_SLOTS) {
			fatal(v, "tx: packet of too many slots");
			return false;
		}
		copy_tx_req(q, q->tx_cons + used, &txs[n]);
		used++;
		n++;
	}

	/* Sizes: the first slot carries the whole packet's size. */
	int16_t status = NETIF_RSP_OKAY;
	size_t total = txs[0].size, first_len = total;
	for (unsigned i = 1; i < n; i++) {
		if (txs[i].size > first_len) {
			fatal(v, "tx: fragments larger than the packet");
			return false;
		}
		first_len -= txs[i].size;
	}
	for (unsigned i = 0; i < n; i++) {
		size_t len = i ? txs[i].size : first_len;
		if (txs[i].offset + len > PAGE_SIZE) {
			fatal(v, "tx: slot crosses a page boundary");
			return false;
		}
	}
	if (n > XK_NET_MAX_TX_SLOTS || total < ETH_HLEN)
		status = NETIF_RSP_ERROR;
	if (have_gso && (gso.u.gso.size == 0 || (gso.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
						 gso.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)))
		status = NETIF_RSP_ERROR;

	/* Gather the data. */
	size_t pos = 0;
	for (unsigned i = 0; i < n && status == NETIF_RSP_OKAY; i++) {
		size_t len = i ? txs[i].size : first_len;
		const uint8_t *page = map1(v, txs[i].gref, false);
		if (!page) {
			status = NETIF_RSP_ERROR;
			break;
		}
		memcpy(v->txbuf + pos, page + txs[i].offset, len);
		unmap1(v, txs[i].gref, false);
		pos += len;
	}
	if (status == NETIF_RSP_OKAY)
		tx_deliver(v, v->txbuf, total, txs[0].flags, have_gso ? &gso : NULL);
	else
		v->st.tx_errors++;

	/* One response per slot, in ring order: the first request, a null
	 * response per extra slot, then the fragments. */
	tx_response(q, txs[0].id, status);
	for (unsigned i = 0; i < nextra; i++)
		tx_response(q, 0, NETIF_RSP_NULL);
	for (unsigned i = 1; i < n; i++)
		tx_response(q, txs[i].id, status);
	q->tx_cons += used;
	return true;
}

static void tx_work(struct netq *q)
{
	struct xk_vif *v = q->vif;
	bool notify = false, more = false;
	unsigned done = 0;

	for (;;) {
		RING_IDX prod = load_acq(&q->tx->req_prod);
		if ((RING_IDX)(prod - q->tx_cons) > TX_RING_SIZE) {
			fatal(v, "tx: req_prod out of range");
			return;
		}
		while (q->tx_cons != prod && !v->broken) {
			if (v->defer && done == TX_BUDGET) {
				more = true;
				break;
			}
			if (!tx_packet(q, prod - q->tx_cons))
				return;
			done++;
		}
		if (v->broken)
			return;
		notify |= push_responses(&q->tx->rsp_prod, &q->tx->rsp_event, q->tx_rsp);
		if (more) {
			/* A guest that keeps its ring full must not keep the
			 * event loop (other devices) waiting: go on later. */
			static const struct timeval now = {0, 0};
			q->tx_more = true;
			/* A timer, not event_active(): libevent runs events
			 * activated from callbacks in the same pass, before
			 * polling the other descriptors again. */
			event_add(v->defer, &now);
			break;
		}
		/* Ask to be notified of the next request, then look again. */
		__atomic_store_n(&q->tx->req_event, q->tx_cons + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (load_acq(&q->tx->req_prod) == q->tx_cons)
			break;
	}
	if (notify)
		v->ev.notify(v->ev.opaque, q->cfg.tx_port);
}

/* ---- RX: packet backend -> guest ---- */

enum { RX_DONE, RX_NO_ROOM, RX_BROKEN };

/* The frontend takes GSO frames of type t (which come with partial
 * checksums: it must take those too). */
static unsigned gso_type_ok(const struct xk_vif *v, uint8_t t)
{
	if (!v->f.sg || !v->f.csum)
		return 0;
	if (t == XK_PKT_GSO_TCPV4 && v->f.gso_tcpv4)
		return XEN_NETIF_GSO_TYPE_TCPV4;
	if (t == XK_PKT_GSO_TCPV6 && v->f.gso_tcpv6 && v->f.ipv6_csum)
		return XEN_NETIF_GSO_TYPE_TCPV6;
	return 0;
}

/* Copy one frame into the guest's posted RX buffers. */
static int rx_put(struct netq *q, const uint8_t *f, size_t len, const struct xk_pkt_meta *m)
{
	struct xk_vif *v = q->vif;
	unsigned xen_gso = m->gso_type ? gso_type_ok(v, m->gso_type) : 0;
	uint16_t flags = 0;

	if ((m->gso_type && !xen_gso) || (len > PAGE_SIZE && !v->f.sg)) {
		v->st.rx_dropped++; /* the frontend cannot take it */
		return RX_DONE;
	}
	if (m->flags & XK_PKT_CSUM_PARTIAL) {
		struct xk_net_hdrs h;
		bool v6 = !xk_net_parse(f, len, &h) && h.ipv6;
		if (v->f.csum && (!v6 || v->f.ipv6_csum)) {
			flags = NETRXF_csum_blank | NETRXF_data_validated;
		} else if (!xen_gso) {
			memcpy(v->rxbuf, f, len); /* fill it here */
			xk_net_csum_fill(v->rxbuf, len);
			f = v->rxbuf;
		} else {
			v->st.rx_dropped++;
			return RX_DONE;
		}
	} else if (m->flags & XK_PKT_CSUM_VALID) {
		flags = NETRXF_data_validated;
	}

	unsigned data_slots = (unsigned)((len + PAGE_SIZE - 1) / PAGE_SIZE);
	unsigned need = data_slots + (xen_gso ? 1 : 0);
	RING_IDX prod = load_acq(&q->rx->req_prod);
	if ((RING_IDX)(prod - q->rx_cons) > RX_RING_SIZE) {
		fatal(v, "rx: req_prod out of range");
		return RX_BROKEN;
	}
	if ((RING_IDX)(prod - q->rx_cons) < need) {
		__atomic_store_n(&q->rx->req_event, q->rx_cons + need, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		prod = load_acq(&q->rx->req_prod);
		if ((RING_IDX)(prod - q->rx_cons) > RX_RING_SIZE) {
			fatal(v, "rx: req_prod out of range");
			return RX_BROKEN;
		}
		if ((RING_IDX)(prod - q->rx_cons) < need)
			return RX_NO_ROOM;
	}

	size_t pos = 0;
	bool failed = false;
	for (unsigned i = 0; i < data_slots; i++) {
		netif_rx_request_t req;
		memcpy(&req, (const void *)&q->rx->ring[q->rx_cons++ % RX_RING_SIZE].req,
		       sizeof(req));
		size_t chunk = len - pos < PAGE_SIZE ? len - pos : PAGE_SIZE;
		uint8_t *page = failed ? NULL : map1(v, req.gref, true);
		if (page) {
			memcpy(page, f + pos, chunk);
			unmap1(v, req.gref, true);
		} else {
			failed = true;
		}
		netif_rx_response_t r = {
		    .id = req.id,
		    .offset = 0,
		    .flags = (uint16_t)((i == 0 ? flags : 0) |
					(i + 1 < data_slots ? NETRXF_more_data : 0) |
					(i == 0 && xen_gso ? NETRXF_extra_info : 0)),
		    .status = (int16_t)chunk,
		};
		memcpy((void *)&q->rx->ring[q->rx_rsp++ % RX_RING_SIZE].rsp, &r, sizeof(r));
		pos += chunk;
		if (i == 0 && xen_gso) {
			struct netif_extra_info ex = {
			    .type = XEN_NETIF_EXTRA_TYPE_GSO,
			    .u.gso = {.size = m->gso_size, .type = (uint8_t)xen_gso},
			};
			static_assert(sizeof(ex) <= sizeof(netif_rx_response_t), "extra fits");
			q->rx_cons++; /* the extra slot uses up a request */
			memcpy((void *)&q->rx->ring[q->rx_rsp++ % RX_RING_SIZE].rsp, &ex,
			       sizeof(ex));
		}
	}
	if (failed) {
		/* A grant that does not map: the whole packet is an error
		 * (rewrite the statuses of its data slots). */
		for (RING_IDX i = q->rx_rsp - need; i != q->rx_rsp; i++) {
			netif_rx_response_t *r = (void *)&q->rx->ring[i % RX_RING_SIZE].rsp;
			if (xen_gso && i == q->rx_rsp - need + 1)
				continue; /* the extra slot */
			r->status = NETIF_RSP_ERROR;
		}
		v->st.rx_dropped++;
	} else {
		v->st.rx_packets++;
		v->st.rx_bytes += len;
		if (xen_gso)
			v->st.rx_gso++;
	}
	if (push_responses(&q->rx->rsp_prod, &q->rx->rsp_event, q->rx_rsp))
		v->ev.notify(v->ev.opaque, q->cfg.rx_port);
	return RX_DONE;
}

static void rx_flush(struct netq *q)
{
	struct xk_vif *v = q->vif;
	struct pkt *p;

	while ((p = q->head) && !v->broken) {
		if (rx_put(q, p->data, p->len, &p->m) != RX_DONE)
			break;
		q->head = p->next;
		if (!q->head)
			q->tailp = &q->head;
		q->npending--;
		q->pending_bytes -= p->len;
		free(p);
	}
	if (v->rx_stopped && q->npending < RX_PENDING_MAX / 2) {
		v->rx_stopped = false;
		if (v->dev->ops->rx_ready)
			v->dev->ops->rx_ready(v->dev, true);
	}
}

static void drop_pending(struct netq *q)
{
	struct pkt *p;

	while ((p = q->head)) {
		q->head = p->next;
		free(p);
	}
	q->tailp = &q->head;
	q->npending = 0;
	q->pending_bytes = 0;
}

/* Spread flows over the queues (addresses and ports, both directions
 * alike is not needed: only the guest's receive side uses it). */
static unsigned pick_queue(const struct xk_vif *v, const uint8_t *f, size_t len)
{
	struct xk_net_hdrs h;
	uint32_t hash = 2166136261u;

	if (v->nr_queues == 1 || xk_net_parse(f, len, &h))
		return 0;
	size_t a = h.ipv6 ? h.l3 + 8 : h.l3 + 12, alen = h.ipv6 ? 32 : 8;
	for (size_t i = 0; i < alen; i++)
		hash = (hash ^ f[a + i]) * 16777619u;
	if ((h.proto == IPPROTO_TCP || h.proto == IPPROTO_UDP) && h.l4 + 4 <= h.end)
		for (size_t i = 0; i < 4; i++)
			hash = (hash ^ f[h.l4 + i]) * 16777619u;
	return hash % v->nr_queues;
}

static void on_frame(void *opaque, const uint8_t *f, size_t len, const struct xk_pkt_meta *meta);

static void rx_segment(void *opaque, uint8_t *seg, size_t len)
{
	struct xk_pkt_meta m = {.flags = XK_PKT_CSUM_VALID};

	on_frame(opaque, seg, len, &m);
}

static void on_frame(void *opaque, const uint8_t *f, size_t len, const struct xk_pkt_meta *meta)
{
	struct xk_vif *v = opaque;
	struct xk_pkt_meta none = {0};
	const struct xk_pkt_meta *m = meta ? meta : &none;

	if (!v->connected || v->broken || len < ETH_HLEN || len > XK_NET_MAX_FRAME) {
		v->st.rx_dropped++;
		return;
	}
	if (m->gso_type && !gso_type_ok(v, m->gso_type)) {
		/* A TSO frame the frontend cannot take: its segments instead. */
		if (xk_net_gso_segment(f, len, m->gso_size, rx_segment, v))
			v->st.rx_dropped++;
		return;
	}
	struct netq *q = &v->q[pick_queue(v, f, len)];
	if (!q->head) {
		int r = rx_put(q, f, len, m);
		if (r != RX_NO_ROOM)
			return;
	}
	if (q->npending >= RX_PENDING_MAX || q->pending_bytes + len > RX_PENDING_BYTES) {
		v->st.rx_dropped++;
		if (!v->rx_stopped && v->dev->ops->rx_ready) {
			v->rx_stopped = true;
			v->dev->ops->rx_ready(v->dev, false);
		}
		return;
	}
	struct pkt *p = malloc(sizeof(*p) + len);
	if (!p) {
		v->st.rx_dropped++;
		return;
	}
	p->next = NULL;
	p->len = len;
	p->m = *m;
	memcpy(p->data, f, len);
	*q->tailp = p;
	q->tailp = &p->next;
	q->npending++;
	q->pending_bytes += len;
}

/* ---- the vif ---- */

struct xk_vif *xk_vif_new(uint32_t domid, uint32_t handle, struct xk_netdev *dev,
			  const struct xk_grant_ops *gnt, const struct xk_evtchn_ops *ev,
			  void (*log)(void *opaque, const char *msg), void *log_opaque)
{
	struct xk_vif *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->domid = domid;
	v->handle = handle;
	v->dev = dev;
	v->gnt = *gnt;
	v->ev = *ev;
	v->log = log;
	v->log_opaque = log_opaque;
	for (unsigned i = 0; i < XK_NET_MAX_QUEUES; i++) {
		v->q[i].vif = v;
		v->q[i].tailp = &v->q[i].head;
	}
	dev->rx = on_frame;
	dev->rx_opaque = v;
	return v;
}

/* The guest sent on a queue's TX port (which is also its RX port without
 * split event channels). */
static void kick_tx(void *arg)
{
	struct netq *q = arg;
	struct xk_vif *v = q->vif;

	if (!v->connected || v->broken)
		return;
	tx_work(q);
	if (q->cfg.rx_port == q->cfg.tx_port && !v->broken)
		rx_flush(q);
}

static void kick_rx(void *arg)
{
	struct netq *q = arg;

	if (q->vif->connected && !q->vif->broken)
		rx_flush(q);
}

int xk_vif_connect(struct xk_vif *v, unsigned nr, const struct xk_netq_config *cfg,
		   const struct xk_netfront_features *f)
{
	if (v->connected)
		xk_vif_disconnect(v);
	if (nr == 0 || nr > XK_NET_MAX_QUEUES)
		return -EINVAL;
	v->nr_queues = nr;
	for (unsigned i = 0; i < nr; i++) {
		struct netq *q = &v->q[i];
		int err;
		q->cfg = cfg[i];
		q->tx = map1(v, cfg[i].tx_ring_ref, true);
		q->rx = map1(v, cfg[i].rx_ring_ref, true);
		if (!q->tx || !q->rx) {
			vlog(v, "queue %u: ring refs %u/%u do not map", i, cfg[i].tx_ring_ref,
			     cfg[i].rx_ring_ref);
			xk_vif_disconnect(v);
			return -EFAULT;
		}
		q->tx_cons = q->tx_rsp = load_acq(&q->tx->rsp_prod);
		q->rx_cons = q->rx_rsp = load_acq(&q->rx->rsp_prod);
		err = v->ev.bind(v->ev.opaque, cfg[i].tx_port, kick_tx, q);
		q->tx_bound = !err;
		if (!err && cfg[i].rx_port != cfg[i].tx_port) {
			err = v->ev.bind(v->ev.opaque, cfg[i].rx_port, kick_rx, q);
			q->rx_bound = !err;
		}
		if (err) {
			vlog(v, "queue %u: event channels %u/%u do not bind", i, cfg[i].tx_port,
			     cfg[i].rx_port);
			xk_vif_disconnect(v);
			return err;
		}
	}
	v->f = *f;
	v->broken = false;
	v->connected = true;
	for (unsigned i = 0; i < nr && !v->broken; i++) {
		tx_work(&v->q[i]);
		rx_flush(&v->q[i]);
	}
	return 0;
}

void xk_vif_disconnect(struct xk_vif *v)
{
	for (unsigned i = 0; i < v->nr_queues; i++) {
		struct netq *q = &v->q[i];
		if (q->tx_bound)
			v->ev.unbind(v->ev.opaque, q->cfg.tx_port);
		if (q->rx_bound)
			v->ev.unbind(v->ev.opaque, q->cfg.rx_port);
		q->tx_bound = q->rx_bound = false;
		q->tx_more = false;
		if (q->tx)
			unmap1(v, q->cfg.tx_ring_ref, true);
		if (q->rx)
			unmap1(v, q->cfg.rx_ring_ref, true);
		q->tx = NULL;
		q->rx = NULL;
		drop_pending(q);
	}
	v->nr_queues = 0;
	v->connected = false;
	if (v->rx_stopped && v->dev->ops->rx_ready)
		v->dev->ops->rx_ready(v->dev, true);
	v->rx_stopped = false;
}

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct xk_vif *v = arg;

	for (unsigned i = 0; i < v->nr_queues; i++) {
		struct netq *q = &v->q[i];
		if (q->tx_more && v->connected && !v->broken) {
			q->tx_more = false;
			tx_work(q);
		}
	}
}

int xk_vif_set_event_base(struct xk_vif *v, struct event_base *base)
{
	if (v->defer)
		event_free(v->defer);
	v->defer = base ? event_new(base, -1, 0, on_defer, v) : NULL;
	return base && !v->defer ? -ENOMEM : 0;
}

bool xk_vif_carrier(const struct xk_vif *v)
{
	return v->connected && !v->broken;
}

const struct xk_vif_stats *xk_vif_stats(const struct xk_vif *v)
{
	return &v->st;
}

void xk_vif_free(struct xk_vif *v)
{
	if (!v)
		return;
	xk_vif_disconnect(v);
	if (v->defer)
		event_free(v->defer);
	v->dev->rx = NULL;
	if (v->dev->ops->free)
		v->dev->ops->free(v->dev);
	free(v);
}
