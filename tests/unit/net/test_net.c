/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netback unit tests: a fake frontend drives the TX/RX rings through fake
 * grant and event-channel ops; a fake packet backend records frames.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <xen/xen.h>
#include <xen/io/netif.h>

#include "net.h"

#define PG	4096
#define NPAGES	96
#define TX_SIZE __CONST_RING_SIZE(netif_tx, PG)
#define RX_SIZE __CONST_RING_SIZE(netif_rx, PG)

/* ---- fake grant table: ref i = page i ---- */

struct fake_gnt {
	uint8_t (*pages)[PG];
	bool granted[NPAGES], readonly[NPAGES];
	int mapped; /* outstanding maps */
	unsigned nmaps;
};

static int g_map(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write,
		 void **pages)
{
	struct fake_gnt *g = opaque;

	assert_int_equal(domid, 1);
	for (unsigned i = 0; i < n; i++)
		if (refs[i] >= NPAGES || !g->granted[refs[i]] || (write && g->readonly[refs[i]]))
			return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		pages[i] = g->pages[refs[i]];
	g->mapped += (int)n;
	g->nmaps += n;
	return 0;
}

static void g_unmap(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write)
{
	struct fake_gnt *g = opaque;

	for (unsigned i = 0; i < n; i++)
		assert_true(refs[i] < NPAGES);
	g->mapped -= (int)n;
}

/* ---- fake event channels: notifications counted, sends routed ---- */

static unsigned notified[16];
static struct {
	xk_kick_fn fn;
	void *arg;
} route[16];

static void ev_notify(void *opaque, uint32_t port)
{
	assert_true(port < 16);
	notified[port]++;
}

static int ev_bind(void *opaque, uint32_t port, xk_kick_fn fn, void *arg)
{
	if (port == 0 || port >= 16)
		return -EINVAL;
	if (route[port].fn)
		return -EBUSY;
	route[port].fn = fn;
	route[port].arg = arg;
	return 0;
}

static void ev_unbind(void *opaque, uint32_t port)
{
	assert_true(port < 16);
	assert_non_null(route[port].fn);
	route[port].fn = NULL;
}

/* The guest sends on port (the doorbell). */
static void kick(uint32_t port)
{
	if (route[port].fn)
		route[port].fn(route[port].arg);
}

/* ---- fake packet backend ---- */

struct frame {
	uint8_t *data;
	size_t len;
	struct xk_pkt_meta m;
};

struct fake_dev {
	struct xk_netdev dev;
	struct frame sent[256];
	unsigned nsent;
	int ready; /* last rx_ready() */
	bool freed;
};

static void d_send(struct xk_netdev *d, const uint8_t *f, size_t len, const struct xk_pkt_meta *m)
{
	struct fake_dev *fd = (struct fake_dev *)d;

	assert_true(fd->nsent < 256);
	struct frame *fr = &fd->sent[fd->nsent++];
	fr->data = malloc(len);
	memcpy(fr->data, f, len);
	fr->len = len;
	fr->m = *m;
}

static void d_rx_ready(struct xk_netdev *d, bool r)
{
	((struct fake_dev *)d)->ready = r;
}

static void d_free(struct xk_netdev *d)
{
	struct fake_dev *fd = (struct fake_dev *)d;

	for (unsigned i = 0; i < fd->nsent; i++)
		free(fd->sent[i].data);
	fd->freed = true;
}

static const struct xk_netdev_ops dev_ops = {d_send, d_rx_ready, d_free};

/* ---- the test bench ---- */

struct bench {
	struct fake_gnt g;
	struct fake_dev d;
	struct xk_vif *v;
	netif_tx_sring_t *tx[2];
	netif_rx_sring_t *rx[2];
	RING_IDX tx_prod[2], rx_prod[2];
	char log[512];
	unsigned nlog;
};

static void logger(void *opaque, const char *msg)
{
	struct bench *b = opaque;

	snprintf(b->log, sizeof(b->log), "%s", msg);
	b->nlog++;
}

/* Queue q uses refs 2q (tx ring) and 2q+1 (rx ring), ports 2q+1/2q+2
 * when split, else 2q+1; data pages are refs 8.. */
#define DATA(i) (8 + (i))

static struct bench *bench_new(unsigned caps, unsigned nq, bool split,
			       const struct xk_netfront_features *f)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct xk_grant_ops gops = {g_map, g_unmap, &b->g};
	struct xk_evtchn_ops eops = {ev_notify, NULL, ev_bind, ev_unbind};
	struct xk_netq_config qc[2];
	struct xk_netfront_features none = {.csum = true};

	b->g.pages = aligned_alloc(PG, (size_t)NPAGES * PG);
	memset(b->g.pages, 0, (size_t)NPAGES * PG);
	for (unsigned i = 0; i < NPAGES; i++)
		b->g.granted[i] = true;
	b->d.dev.ops = &dev_ops;
	b->d.dev.caps = caps;
	b->d.ready = -1;
	memset(notified, 0, sizeof(notified));
	memset(route, 0, sizeof(route));
	for (unsigned q = 0; q < nq; q++) {
		b->tx[q] = (void *)b->g.pages[2 * q];
		b->rx[q] = (void *)b->g.pages[2 * q + 1];
		SHARED_RING_INIT(b->tx[q]);
		SHARED_RING_INIT(b->rx[q]);
		qc[q] = (struct xk_netq_config){2 * q, 2 * q + 1, 2 * q + 1,
						split ? 2 * q + 2 : 2 * q + 1};
	}
	b->v = xk_vif_new(1, 0, &b->d.dev, &gops, &eops, logger, b);
	assert_non_null(b->v);
	assert_int_equal(xk_vif_connect(b->v, nq, qc, f ? f : &none), 0);
	assert_true(xk_vif_carrier(b->v));
	return b;
}

static void bench_free(struct bench *b)
{
	xk_vif_free(b->v);
	assert_true(b->d.freed);
	assert_int_equal(b->g.mapped, 0); /* every map was unmapped */
	for (unsigned i = 0; i < 16; i++)
		assert_null(route[i].fn); /* and every port unbound */
	free(b->g.pages);
	free(b);
}

static void tx_slot(struct bench *b, unsigned q, uint32_t gref, uint16_t off, uint16_t flags,
		    uint16_t id, uint16_t size)
{
	netif_tx_request_t r = {gref, off, flags, id, size};
	memcpy(&b->tx[q]->ring[b->tx_prod[q]++ % TX_SIZE].req, &r, sizeof(r));
}

static void tx_extra_gso(struct bench *b, unsigned q, uint8_t type, uint16_t size)
{
	struct netif_extra_info ex = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
	ex.u.gso.type = type;
	ex.u.gso.size = size;
	memset(&b->tx[q]->ring[b->tx_prod[q] % TX_SIZE], 0, sizeof(b->tx[q]->ring[0]));
	memcpy(&b->tx[q]->ring[b->tx_prod[q]++ % TX_SIZE], &ex, sizeof(ex));
}

static void tx_push(struct bench *b, unsigned q)
{
	__atomic_store_n(&b->tx[q]->req_prod, b->tx_prod[q], __ATOMIC_RELEASE);
	kick(2 * q + 1);
}

static netif_tx_response_t tx_rsp(struct bench *b, unsigned q, RING_IDX i)
{
	netif_tx_response_t r;
	memcpy(&r, &b->tx[q]->ring[i % TX_SIZE].rsp, sizeof(r));
	return r;
}

static void rx_post(struct bench *b, unsigned q, unsigned n, uint32_t first_ref)
{
	for (unsigned i = 0; i < n; i++) {
		netif_rx_request_t r = {.id = (uint16_t)(b->rx_prod[q] % RX_SIZE),
					.gref = first_ref + i % 64};
		memcpy(&b->rx[q]->ring[b->rx_prod[q]++ % RX_SIZE].req, &r, sizeof(r));
	}
	__atomic_store_n(&b->rx[q]->req_prod, b->rx_prod[q], __ATOMIC_RELEASE);
}

static netif_rx_response_t rx_rsp(struct bench *b, unsigned q, RING_IDX i)
{
	netif_rx_response_t r;
	memcpy(&r, &b->rx[q]->ring[i % RX_SIZE].rsp, sizeof(r));
	return r;
}

/* ---- frames ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ethernet + IPv4/IPv6 + TCP (20 bytes) or UDP header + payload of
 * pattern bytes; checksums zero. */
static size_t make_frame(uint8_t *f, bool v6, uint8_t proto, size_t payload)
{
	size_t l3 = 14, iph = v6 ? 40 : 20, l4h = proto == IPPROTO_TCP ? 20 : 8;
	size_t l4 = l3 + iph, len = l4 + l4h + payload;

	memset(f, 0, len);
	memcpy(f, "\x00\x16\x3e\x00\x00\x01\x00\x16\x3e\x00\x00\x02", 12);
	if (v6) {
		put16(f + 12, 0x86dd);
		f[l3] = 0x60;
		put16(f + l3 + 4, (uint16_t)(l4h + payload));
		f[l3 + 6] = proto;
		f[l3 + 7] = 64;
		f[l3 + 8] = 0xfe;
		f[l3 + 23] = 1;
		f[l3 + 24] = 0xfe;
		f[l3 + 39] = 2;
	} else {
		put16(f + 12, 0x0800);
		f[l3] = 0x45;
		put16(f + l3 + 2, (uint16_t)(iph + l4h + payload));
		put16(f + l3 + 4, 0x1234);
		f[l3 + 8] = 64;
		f[l3 + 9] = proto;
		memcpy(f + l3 + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	}
	put16(f + l4, 40000);
	put16(f + l4 + 2, 80);
	if (proto == IPPROTO_TCP) {
		f[l4 + 4] = 0x10; /* seq 0x10000000 */
		f[l4 + 12] = 5 << 4;
		f[l4 + 13] = 0x18 | 0x01 | 0x80; /* PSH ACK FIN CWR */
	} else {
		put16(f + l4 + 4, (uint16_t)(8 + payload));
	}
	for (size_t i = 0; i < payload; i++)
		f[l4 + l4h + i] = (uint8_t)(i * 7 + 3);
	return len;
}

/* Independent checksum check: ones-complement sum over the pseudo header
 * and the L4 segment must be 0xffff. */
static bool l4_csum_ok(const uint8_t *f, size_t len)
{
	bool v6 = get16(f + 12) == 0x86dd;
	size_t l3 = 14, l4 = l3 + (v6 ? 40 : (size_t)(f[l3] & 15) * 4);
	size_t end = v6 ? l3 + 40 + get16(f + l3 + 4) : l3 + get16(f + l3 + 2);
	uint8_t proto = v6 ? f[l3 + 6] : f[l3 + 9];
	uint64_t s = 0;

	assert_true(end <= len);
	if (v6)
		for (size_t i = 0; i < 32; i += 2)
			s += get16(f + l3 + 8 + i);
	else
		for (size_t i = 0; i < 8; i += 2)
			s += get16(f + l3 + 12 + i);
	s += proto + (end - l4);
	for (size_t i = l4; i < end; i += 2)
		s += i + 1 < end ? get16(f + i) : (uint64_t)f[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

static bool ip_csum_ok(const uint8_t *f)
{
	uint64_t s = 0;
	for (size_t i = 0; i < 20; i += 2)
		s += get16(f + 14 + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* Scatter frame f over data pages starting at DATA(first), slot i of
 * sizes[i] bytes at offset off; the first slot's size field is the total. */
static void tx_sg(struct bench *b, const uint8_t *f, size_t len, const size_t *sizes, unsigned n,
		  uint16_t off, uint16_t flags0, bool gso, uint8_t gso_type, uint16_t gso_size)
{
	size_t pos = 0;
	for (unsigned i = 0; i < n; i++) {
		memcpy(b->g.pages[DATA(i)] + off, f + pos, sizes[i]);
		uint16_t fl = (uint16_t)((i + 1 < n ? NETTXF_more_data : 0) | (i ? 0 : flags0) |
					 (i == 0 && gso ? NETTXF_extra_info : 0));
		tx_slot(b, 0, DATA(i), off, fl, (uint16_t)(100 + i),
			(uint16_t)(i ? sizes[i] : len));
		if (i == 0 && gso)
			tx_extra_gso(b, 0, gso_type, gso_size);
		pos += sizes[i];
	}
	assert_int_equal(pos, len);
	tx_push(b, 0);
}

/* ---- TX tests ---- */

static void test_tx_single(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	uint8_t f[2048];
	size_t len = make_frame(f, false, IPPROTO_UDP, 100);
	size_t sz[] = {len};

	tx_sg(b, f, len, sz, 1, 64, 0, false, 0, 0);
	assert_int_equal(b->d.nsent, 1);
	assert_int_equal(b->d.sent[0].len, len);
	assert_memory_equal(b->d.sent[0].data, f, len);
	assert_int_equal(b->tx[0]->rsp_prod, 1);
	assert_int_equal(tx_rsp(b, 0, 0).id, 100);
	assert_int_equal(tx_rsp(b, 0, 0).status, NETIF_RSP_OKAY);
	assert_int_equal(notified[1], 1);
	assert_int_equal(b->tx[0]->req_event, 2); /* asks for the next one */
	assert_int_equal(xk_vif_stats(b->v)->tx_packets, 1);
	bench_free(b);
}

static void test_tx_scatter_gather(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	static uint8_t f[9000];
	size_t len = make_frame(f, false, IPPROTO_UDP, 8000);
	size_t sz[] = {100, 4000, len - 4100};

	tx_sg(b, f, len, sz, 3, 0, 0, false, 0, 0);
	assert_int_equal(b->d.nsent, 1);
	assert_int_equal(b->d.sent[0].len, len);
	assert_memory_equal(b->d.sent[0].data, f, len);
	assert_int_equal(b->tx[0]->rsp_prod, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(tx_rsp(b, 0, i).id, 100 + i);
		assert_int_equal(tx_rsp(b, 0, i).status, NETIF_RSP_OKAY);
	}
	bench_free(b);
}

static void test_tx_csum_software(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	uint8_t f[2048];

	for (int v6 = 0; v6 < 2; v6++)
		for (int tcp = 0; tcp < 2; tcp++) {
			size_t len = make_frame(f, v6, tcp ? IPPROTO_TCP : IPPROTO_UDP, 333);
			size_t sz[] = {len};
			tx_sg(b, f, len, sz, 1, 0, NETTXF_csum_blank | NETTXF_data_validated, false,
			      0, 0);
			struct frame *fr = &b->d.sent[b->d.nsent - 1];
			assert_true(l4_csum_ok(fr->data, fr->len));
			assert_int_equal(fr->m.flags & XK_PKT_CSUM_PARTIAL, 0);
		}
	assert_int_equal(b->d.nsent, 4);
	bench_free(b);
}

static void test_tx_csum_offload(void **state)
{
	struct bench *b = bench_new(XK_NETDEV_CAP_CSUM, 1, false, NULL);
	uint8_t f[2048];
	size_t len = make_frame(f, false, IPPROTO_TCP, 500);
	size_t sz[] = {len};

	put16(f + 34 + 16, 0xdead); /* garbage: netback rewrites the pseudo sum */
	tx_sg(b, f, len, sz, 1, 0, NETTXF_csum_blank, false, 0, 0);
	struct frame *fr = &b->d.sent[0];
	assert_true(fr->m.flags & XK_PKT_CSUM_PARTIAL);
	assert_int_equal(fr->m.csum_start, 34);
	assert_int_equal(fr->m.csum_offset, 16);
	/* Completing it as a NIC would gives a valid checksum. */
	uint8_t g[2048];
	memcpy(g, fr->data, len);
	uint64_t s = 0;
	for (size_t i = 34; i < len; i += 2)
		s += get16(g + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	put16(g + 50, (uint16_t)~s);
	assert_true(l4_csum_ok(g, len));
	bench_free(b);
}

static void check_segments(struct bench *b, const uint8_t *f, bool v6, size_t payload, size_t mss)
{
	size_t hdr = 14 + (v6 ? 40 : 20) + 20;
	unsigned nseg = (unsigned)((payload + mss - 1) / mss);

	assert_int_equal(b->d.nsent, nseg);
	for (unsigned i = 0; i < nseg; i++) {
		struct frame *fr = &b->d.sent[i];
		size_t n = i + 1 < nseg ? mss : payload - mss * (nseg - 1);
		size_t l4 = 14 + (v6 ? 40 : 20);
		assert_int_equal(fr->len, hdr + n);
		assert_memory_equal(fr->data + hdr, f + hdr + i * mss, n);
		assert_true(l4_csum_ok(fr->data, fr->len));
		if (!v6) {
			assert_true(ip_csum_ok(fr->data));
			assert_int_equal(get16(fr->data + 16), 20 + 20 + n);
			assert_int_equal(get16(fr->data + 18), 0x1234 + i);
		} else {
			assert_int_equal(get16(fr->data + 18), 20 + n);
		}
		uint32_t seq = (uint32_t)fr->data[l4 + 4] << 24 | fr->data[l4 + 5] << 16 |
			       fr->data[l4 + 6] << 8 | fr->data[l4 + 7];
		assert_int_equal(seq, 0x10000000u + i * mss);
		uint8_t fl = fr->data[l4 + 13];
		assert_int_equal(!!(fl & 0x01), i + 1 == nseg); /* FIN last */
		assert_int_equal(!!(fl & 0x08), i + 1 == nseg); /* PSH last */
		assert_int_equal(!!(fl & 0x80), i == 0);	/* CWR first */
		assert_true(fl & 0x10);
	}
}

static void test_tx_gso_software(void **state)
{
	static uint8_t f[70000];

	for (int v6 = 0; v6 < 2; v6++) {
		struct bench *b = bench_new(0, 1, false, NULL);
		size_t payload = 16 * 1448 + 100;
		size_t len = make_frame(f, v6, IPPROTO_TCP, payload);
		size_t sz[8] = {200}, rest = len - 200;
		unsigned n = 1;
		while (rest) {
			sz[n] = rest < PG ? rest : PG;
			rest -= sz[n++];
		}
		tx_sg(b, f, len, sz, n, 0, NETTXF_csum_blank | NETTXF_data_validated, true,
		      v6 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4, 1448);
		check_segments(b, f, v6, payload, 1448);
		/* first, a null response for the extra slot, the fragments */
		assert_int_equal(b->tx[0]->rsp_prod, n + 1);
		assert_int_equal(tx_rsp(b, 0, 0).id, 100);
		assert_int_equal(tx_rsp(b, 0, 0).status, NETIF_RSP_OKAY);
		assert_int_equal(tx_rsp(b, 0, 1).status, NETIF_RSP_NULL);
		for (unsigned i = 2; i < n + 1; i++) {
			assert_int_equal(tx_rsp(b, 0, i).id, 100 + i - 1);
			assert_int_equal(tx_rsp(b, 0, i).status, NETIF_RSP_OKAY);
		}
		bench_free(b);
	}
}

static void test_tx_gso_offload(void **state)
{
	struct bench *b = bench_new(XK_NETDEV_CAP_CSUM | XK_NETDEV_CAP_GSO, 1, false, NULL);
	static uint8_t f[10000];
	size_t len = make_frame(f, false, IPPROTO_TCP, 6000);
	size_t sz[] = {3000, len - 3000};

	tx_sg(b, f, len, sz, 2, 0, NETTXF_csum_blank, true, XEN_NETIF_GSO_TYPE_TCPV4, 1400);
	assert_int_equal(b->d.nsent, 1);
	struct frame *fr = &b->d.sent[0];
	assert_int_equal(fr->len, len);
	assert_int_equal(fr->m.gso_type, XK_PKT_GSO_TCPV4);
	assert_int_equal(fr->m.gso_size, 1400);
	assert_int_equal(fr->m.hdr_len, 54);
	assert_true(fr->m.flags & XK_PKT_CSUM_PARTIAL);
	bench_free(b);
}

static void test_csum_helpers(void **state)
{
	uint8_t f[2048];
	struct xk_net_hdrs h;

	size_t len = make_frame(f, false, IPPROTO_UDP, 51); /* odd length */
	assert_int_equal(xk_net_csum_fill(f, len), 0);
	assert_true(l4_csum_ok(f, len));
	/* Ethernet padding after the IP packet is not summed. */
	len = make_frame(f, false, IPPROTO_TCP, 2);
	memset(f + len, 0xaa, 60 - len);
	assert_int_equal(xk_net_csum_fill(f, 60), 0);
	assert_true(l4_csum_ok(f, 60));
	/* Fragments, truncated or non-IP frames are refused. */
	len = make_frame(f, false, IPPROTO_UDP, 10);
	f[14 + 6] = 0x20; /* MF */
	assert_int_equal(xk_net_parse(f, len, &h), -1);
	len = make_frame(f, false, IPPROTO_UDP, 10);
	assert_int_equal(xk_net_parse(f, len - 1, &h), -1);
	put16(f + 12, 0x0806);
	assert_int_equal(xk_net_parse(f, len, &h), -1);
	/* VLAN tag */
	len = make_frame(f + 4, true, IPPROTO_TCP, 10);
	memmove(f, f + 4, 12);
	put16(f + 12, 0x8100);
	put16(f + 14, 5);
	assert_int_equal(xk_net_parse(f, len + 4, &h), 0);
	assert_int_equal(h.l3, 18);
	assert_int_equal(h.l4, 58);
	assert_true(h.ipv6);
	/* an IPv6 hop-by-hop header before TCP */
	len = make_frame(f, true, IPPROTO_TCP, 10);
	memmove(f + 62, f + 54, len - 54);
	memset(f + 54, 0, 8);
	f[54] = IPPROTO_TCP;
	f[20] = 0;
	put16(f + 18, (uint16_t)(get16(f + 18) + 8));
	assert_int_equal(xk_net_parse(f, len + 8, &h), 0);
	assert_int_equal(h.l4, 62);
	assert_int_equal(h.proto, IPPROTO_TCP);
}

/* ---- RX tests ---- */

static void test_rx_copy(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	uint8_t f[2048];
	size_t len = make_frame(f, false, IPPROTO_UDP, 300);
	struct xk_pkt_meta m = {.flags = XK_PKT_CSUM_VALID};

	rx_post(b, 0, 4, DATA(0));
	xk_netdev_deliver(&b->d.dev, f, len, &m);
	assert_int_equal(b->rx[0]->rsp_prod, 1);
	netif_rx_response_t r = rx_rsp(b, 0, 0);
	assert_int_equal(r.id, 0);
	assert_int_equal(r.offset, 0);
	assert_int_equal(r.status, len);
	assert_int_equal(r.flags, NETRXF_data_validated);
	assert_memory_equal(b->g.pages[DATA(0)], f, len);
	assert_int_equal(notified[1], 1);
	assert_int_equal(xk_vif_stats(b->v)->rx_packets, 1);
	bench_free(b);
}

static void test_rx_waits_for_buffers(void **state)
{
	struct bench *b = bench_new(0, 1, true, NULL);
	uint8_t f[2048];
	size_t len = make_frame(f, false, IPPROTO_UDP, 300);

	for (int i = 0; i < 3; i++) {
		f[60] = (uint8_t)i;
		xk_netdev_deliver(&b->d.dev, f, len, NULL);
	}
	assert_int_equal(b->rx[0]->rsp_prod, 0);
	assert_int_equal(b->rx[0]->req_event, 1); /* tell me about 1 buffer */
	rx_post(b, 0, 2, DATA(0));
	kick(1); /* the TX port of a split queue: not RX */
	assert_int_equal(b->rx[0]->rsp_prod, 0);
	kick(2);
	assert_int_equal(b->rx[0]->rsp_prod, 2);
	assert_int_equal(b->g.pages[DATA(1)][60], 1);
	assert_int_equal(notified[2], 1);
	rx_post(b, 0, 1, DATA(2));
	kick(2);
	assert_int_equal(b->rx[0]->rsp_prod, 3);
	assert_int_equal(b->g.pages[DATA(2)][60], 2);
	bench_free(b);
}

static void test_rx_sg_gso(void **state)
{
	struct xk_netfront_features ft = {.sg = true, .gso_tcpv4 = true, .csum = true};
	struct bench *b = bench_new(0, 1, false, &ft);
	static uint8_t f[10000];
	size_t len = make_frame(f, false, IPPROTO_TCP, 9000);
	struct xk_pkt_meta m = {.flags = XK_PKT_CSUM_PARTIAL,
				.gso_type = XK_PKT_GSO_TCPV4,
				.gso_size = 1448,
				.hdr_len = 54,
				.csum_start = 34,
				.csum_offset = 16};

	rx_post(b, 0, 8, DATA(0));
	xk_netdev_deliver(&b->d.dev, f, len, &m);
	/* 3 data slots + 1 extra */
	assert_int_equal(b->rx[0]->rsp_prod, 4);
	netif_rx_response_t r0 = rx_rsp(b, 0, 0);
	assert_int_equal(r0.status, PG);
	assert_int_equal(r0.flags, NETRXF_csum_blank | NETRXF_data_validated | NETRXF_more_data |
				       NETRXF_extra_info);
	struct netif_extra_info ex;
	memcpy(&ex, &b->rx[0]->ring[1], sizeof(ex));
	assert_int_equal(ex.type, XEN_NETIF_EXTRA_TYPE_GSO);
	assert_int_equal(ex.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV4);
	assert_int_equal(ex.u.gso.size, 1448);
	netif_rx_response_t r2 = rx_rsp(b, 0, 2), r3 = rx_rsp(b, 0, 3);
	assert_int_equal(r2.id, 2);
	assert_int_equal(r2.status, PG);
	assert_int_equal(r2.flags, NETRXF_more_data);
	assert_int_equal(r3.id, 3);
	assert_int_equal(r3.status, len - 2 * PG);
	assert_int_equal(r3.flags, 0);
	assert_memory_equal(b->g.pages[DATA(0)], f, PG);
	assert_memory_equal(b->g.pages[DATA(2)], f + PG, PG);
	assert_memory_equal(b->g.pages[DATA(3)], f + 2 * PG, len - 2 * PG);
	bench_free(b);
}

static void test_rx_no_sg_drops_big(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	static uint8_t f[10000];
	size_t len = make_frame(f, false, IPPROTO_UDP, 5000);
	uint8_t g[2048];
	size_t glen = make_frame(g, false, IPPROTO_UDP, 10);
	struct xk_pkt_meta m = {.flags = XK_PKT_CSUM_PARTIAL};

	rx_post(b, 0, 4, DATA(0));
	xk_netdev_deliver(&b->d.dev, f, len, NULL);
	assert_int_equal(b->rx[0]->rsp_prod, 0);
	assert_int_equal(xk_vif_stats(b->v)->rx_dropped, 1);
	/* A frontend without checksum offload gets a filled checksum. */
	struct xk_netfront_features ft = {.csum = false};
	struct xk_netq_config qc = {0, 1, 1, 1};
	xk_vif_connect(b->v, 1, &qc, &ft);
	xk_netdev_deliver(&b->d.dev, g, glen, &m);
	assert_int_equal(b->rx[0]->rsp_prod, 1);
	assert_int_equal(rx_rsp(b, 0, 0).flags, 0);
	assert_true(l4_csum_ok(b->g.pages[DATA(0)], glen));
	bench_free(b);
}

static void test_rx_gso_segmented(void **state)
{
	/* A frontend without RX GSO gets the segments of a TSO frame. */
	struct xk_netfront_features ft = {.sg = true, .csum = true};
	struct bench *b = bench_new(0, 1, false, &ft);
	static uint8_t f[10000];
	size_t len = make_frame(f, false, IPPROTO_TCP, 4000);
	struct xk_pkt_meta m = {.flags = XK_PKT_CSUM_PARTIAL,
				.gso_type = XK_PKT_GSO_TCPV4,
				.gso_size = 1448,
				.hdr_len = 54};

	rx_post(b, 0, 8, DATA(0));
	xk_netdev_deliver(&b->d.dev, f, len, &m);
	assert_int_equal(b->rx[0]->rsp_prod, 3);
	for (unsigned i = 0; i < 3; i++) {
		netif_rx_response_t r = rx_rsp(b, 0, i);
		size_t n = i < 2 ? 1448 : 4000 - 2 * 1448;
		assert_int_equal(r.status, 54 + n);
		assert_int_equal(r.flags, NETRXF_data_validated);
		assert_true(l4_csum_ok(b->g.pages[DATA(i)], r.status));
		assert_memory_equal(b->g.pages[DATA(i)] + 54, f + 54 + i * 1448, n);
	}
	assert_int_equal(xk_vif_stats(b->v)->rx_packets, 3);
	/* GSO but no checksum offload (contradictory): segments too */
	struct xk_netfront_features nocsum = {.sg = true, .gso_tcpv4 = true};
	struct xk_netq_config qc = {0, 1, 1, 1};
	assert_int_equal(xk_vif_connect(b->v, 1, &qc, &nocsum), 0);
	rx_post(b, 0, 3, DATA(0));
	xk_netdev_deliver(&b->d.dev, f, len, &m);
	assert_int_equal(b->rx[0]->rsp_prod, 6);
	assert_true(l4_csum_ok(b->g.pages[DATA(0)], rx_rsp(b, 0, 3).status));
	bench_free(b);
}

static void test_rx_backpressure(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	uint8_t f[128];
	size_t len = make_frame(f, false, IPPROTO_UDP, 20);

	for (int i = 0; i < 600; i++)
		xk_netdev_deliver(&b->d.dev, f, len, NULL);
	assert_int_equal(b->d.ready, 0); /* told to stop */
	assert_int_equal(xk_vif_stats(b->v)->rx_dropped, 600 - 512);
	for (int round = 0; round < 3; round++) {
		rx_post(b, 0, RX_SIZE, DATA(0));
		kick(1);
		/* the guest consumes */
		__atomic_store_n(&b->rx[0]->rsp_event, b->rx[0]->rsp_prod + 1, __ATOMIC_RELAXED);
	}
	assert_int_equal(xk_vif_stats(b->v)->rx_packets, 512);
	assert_int_equal(b->d.ready, 1);
	bench_free(b);
}

/* A full ring is served a budget at a time when there is an event loop. */
static void test_tx_budget(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	struct event_base *base = event_base_new();
	uint8_t f[256];
	size_t len = make_frame(f, false, IPPROTO_UDP, 20);

	assert_int_equal(xk_vif_set_event_base(b->v, base), 0);
	memcpy(b->g.pages[DATA(0)], f, len);
	for (unsigned i = 0; i < 200; i++)
		tx_slot(b, 0, DATA(0), 0, 0, (uint16_t)i, (uint16_t)len);
	tx_push(b, 0);
	assert_int_equal(b->d.nsent, 64);
	assert_int_equal(b->tx[0]->rsp_prod, 64); /* answered so far */
	unsigned turns = 0;
	while (b->d.nsent < 200 && turns++ < 10)
		event_base_loop(base, EVLOOP_ONCE); /* one pass: other fds polled in between */
	assert_int_equal(b->d.nsent, 200);
	assert_int_equal(turns, 3);
	assert_int_equal(b->tx[0]->rsp_prod, 200);
	assert_int_equal(b->tx[0]->req_event, 201);
	bench_free(b);
	event_base_free(base);
}

/* ---- multi-queue ---- */

static void test_multiqueue_split(void **state)
{
	struct bench *b = bench_new(0, 2, true, NULL);
	uint8_t f[256];
	size_t len = make_frame(f, false, IPPROTO_UDP, 20);

	memcpy(b->g.pages[DATA(0)], f, len);
	netif_tx_request_t r = {DATA(0), 0, 0, 7, (uint16_t)len};
	memcpy(&b->tx[1]->ring[0].req, &r, sizeof(r));
	b->tx[1]->req_prod = 1;
	kick(1); /* queue 0's TX port: nothing there */
	assert_int_equal(b->d.nsent, 0);
	kick(3);
	assert_int_equal(b->d.nsent, 1);
	assert_int_equal(b->tx[1]->rsp_prod, 1);
	assert_int_equal(notified[3], 1);
	/* RX flows are spread over both queues */
	rx_post(b, 0, 64, DATA(10));
	rx_post(b, 1, 64, DATA(10));
	for (int i = 0; i < 64; i++) {
		f[14 + 12] = (uint8_t)i; /* source address */
		xk_netdev_deliver(&b->d.dev, f, len, NULL);
	}
	assert_true(b->rx[0]->rsp_prod > 0);
	assert_true(b->rx[1]->rsp_prod > 0);
	assert_int_equal(b->rx[0]->rsp_prod + b->rx[1]->rsp_prod, 64);
	bench_free(b);
}

/* ---- hostile frontends ---- */

static void test_tx_bad_gref(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	uint8_t f[256];
	size_t len = make_frame(f, false, IPPROTO_UDP, 20);

	tx_slot(b, 0, 5000, 0, 0, 1, (uint16_t)len); /* out of range */
	b->g.granted[DATA(3)] = false;
	tx_slot(b, 0, DATA(3), 0, 0, 2, (uint16_t)len); /* not granted */
	memcpy(b->g.pages[DATA(0)], f, len);
	tx_slot(b, 0, DATA(0), 0, 0, 3, (uint16_t)len);
	tx_push(b, 0);
	assert_int_equal(b->tx[0]->rsp_prod, 3);
	assert_int_equal(tx_rsp(b, 0, 0).status, NETIF_RSP_ERROR);
	assert_int_equal(tx_rsp(b, 0, 1).status, NETIF_RSP_ERROR);
	assert_int_equal(tx_rsp(b, 0, 2).status, NETIF_RSP_OKAY);
	assert_int_equal(b->d.nsent, 1);
	assert_true(xk_vif_carrier(b->v));
	assert_int_equal(xk_vif_stats(b->v)->tx_errors, 2);
	bench_free(b);
}

static void test_tx_bad_sizes(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);

	tx_slot(b, 0, DATA(0), 0, 0, 1, 10); /* shorter than an Ethernet header */
	/* 19 slots: more than a netfront sends: refused, not fatal */
	for (unsigned i = 0; i < 19; i++)
		tx_slot(b, 0, DATA(i), 0, i < 18 ? NETTXF_more_data : 0, (uint16_t)(10 + i),
			i ? 100 : 1900);
	tx_push(b, 0);
	assert_true(xk_vif_carrier(b->v));
	assert_int_equal(b->tx[0]->rsp_prod, 20);
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(tx_rsp(b, 0, i).status, NETIF_RSP_ERROR);
	assert_int_equal(b->d.nsent, 0);
	bench_free(b);
}

static void expect_fatal(struct bench *b)
{
	RING_IDX before = b->tx[0]->rsp_prod;

	assert_false(xk_vif_carrier(b->v));
	assert_int_equal(b->nlog, 1);
	assert_non_null(strstr(b->log, "carrier off"));
	/* A disabled vif ignores further kicks and frames. */
	kick(1);
	uint8_t f[64] = {0};
	xk_netdev_deliver(&b->d.dev, f, sizeof(f), NULL);
	assert_int_equal(b->tx[0]->rsp_prod, before);
	assert_int_equal(b->nlog, 1);
}

static void test_tx_index_overflow(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);

	b->tx[0]->req_prod = TX_SIZE + 1;
	kick(1);
	expect_fatal(b);
	bench_free(b);
}

static void test_tx_past_req_prod(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);

	tx_slot(b, 0, DATA(0), 0, NETTXF_more_data, 1, 200); /* promises more */
	tx_push(b, 0);
	expect_fatal(b);
	bench_free(b);
}

static void test_tx_crosses_page(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);

	tx_slot(b, 0, DATA(0), 4000, 0, 1, 200);
	tx_push(b, 0);
	expect_fatal(b);
	bench_free(b);
}

static void test_tx_fragment_too_big(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);

	tx_slot(b, 0, DATA(0), 0, NETTXF_more_data, 1, 100);
	tx_slot(b, 0, DATA(1), 0, 0, 2, 200);
	tx_push(b, 0);
	expect_fatal(b);
	bench_free(b);
}

static void test_tx_slot_flood(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);

	for (unsigned i = 0; i < TX_SIZE; i++)
		tx_slot(b, 0, DATA(0), 0, NETTXF_more_data, (uint16_t)i, 60000);
	tx_push(b, 0);
	expect_fatal(b);
	bench_free(b);
}

static void test_tx_bad_extra(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	struct netif_extra_info ex = {.type = 77};

	tx_slot(b, 0, DATA(0), 0, NETTXF_extra_info, 1, 100);
	memcpy(&b->tx[0]->ring[b->tx_prod[0]++], &ex, sizeof(ex));
	tx_push(b, 0);
	expect_fatal(b);
	bench_free(b);
}

static void test_tx_bad_gso(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	uint8_t f[4096];
	size_t len = make_frame(f, false, IPPROTO_TCP, 20);
	size_t sz[] = {len};

	tx_sg(b, f, len, sz, 1, 0, 0, true, XEN_NETIF_GSO_TYPE_TCPV4, 0); /* size 0 */
	tx_sg(b, f, len, sz, 1, 0, 0, true, 9, 1000);			  /* unknown type */
	assert_true(xk_vif_carrier(b->v));
	assert_int_equal(b->d.nsent, 0);
	assert_int_equal(tx_rsp(b, 0, 0).status, NETIF_RSP_ERROR);
	assert_int_equal(tx_rsp(b, 0, 1).status, NETIF_RSP_NULL);
	assert_int_equal(tx_rsp(b, 0, 2).status, NETIF_RSP_ERROR);
	/* a GSO frame that is not TCP is dropped, its slots answered */
	len = make_frame(f, false, IPPROTO_UDP, 3000);
	size_t sz2[] = {2000, len - 2000};
	tx_sg(b, f, len, sz2, 2, 0, 0, true, XEN_NETIF_GSO_TYPE_TCPV4, 1000);
	assert_int_equal(b->d.nsent, 0);
	assert_int_equal(b->tx[0]->rsp_prod, 7);
	assert_int_equal(xk_vif_stats(b->v)->tx_dropped, 1);
	bench_free(b);
}

static void test_rx_hostile(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	uint8_t f[256];
	size_t len = make_frame(f, false, IPPROTO_UDP, 20);

	/* read-only and bad grefs: error responses, the vif stays up */
	b->g.readonly[DATA(0)] = true;
	rx_post(b, 0, 1, DATA(0));
	rx_post(b, 0, 1, 9999);
	rx_post(b, 0, 1, DATA(1));
	for (int i = 0; i < 3; i++)
		xk_netdev_deliver(&b->d.dev, f, len, NULL);
	assert_int_equal(b->rx[0]->rsp_prod, 3);
	assert_int_equal(rx_rsp(b, 0, 0).status, NETIF_RSP_ERROR);
	assert_int_equal(rx_rsp(b, 0, 1).status, NETIF_RSP_ERROR);
	assert_int_equal(rx_rsp(b, 0, 2).status, len);
	assert_true(xk_vif_carrier(b->v));
	/* an impossible req_prod: carrier off */
	b->rx[0]->req_prod += 1000;
	xk_netdev_deliver(&b->d.dev, f, len, NULL);
	assert_false(xk_vif_carrier(b->v));
	bench_free(b);
}

static void test_connect_bad_ring_ref(void **state)
{
	struct bench *b = bench_new(0, 1, false, NULL);
	struct xk_netfront_features ft = {0};
	struct xk_netq_config qc = {0, 4242, 1, 1};

	assert_int_equal(xk_vif_connect(b->v, 1, &qc, &ft), -EFAULT);
	assert_false(xk_vif_carrier(b->v));
	assert_int_equal(b->g.mapped, 0);
	qc.rx_ring_ref = 1;
	assert_int_equal(xk_vif_connect(b->v, 9, &qc, &ft), -EINVAL);
	/* a port someone else has bound, or one out of range */
	route[5].fn = (xk_kick_fn)abort;
	struct xk_netq_config busy = {0, 1, 1, 5};
	assert_int_equal(xk_vif_connect(b->v, 1, &busy, &ft), -EBUSY);
	assert_false(xk_vif_carrier(b->v));
	assert_int_equal(b->g.mapped, 0);
	assert_null(route[1].fn); /* the TX port it did bind is released */
	route[5].fn = NULL;
	busy.tx_port = 99;
	assert_int_equal(xk_vif_connect(b->v, 1, &busy, &ft), -EINVAL);
	assert_int_equal(xk_vif_connect(b->v, 1, &qc, &ft), 0);
	assert_true(xk_vif_carrier(b->v));
	bench_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tx_single),
	    cmocka_unit_test(test_tx_scatter_gather),
	    cmocka_unit_test(test_tx_csum_software),
	    cmocka_unit_test(test_tx_csum_offload),
	    cmocka_unit_test(test_tx_gso_software),
	    cmocka_unit_test(test_tx_gso_offload),
	    cmocka_unit_test(test_tx_budget),
	    cmocka_unit_test(test_csum_helpers),
	    cmocka_unit_test(test_rx_copy),
	    cmocka_unit_test(test_rx_waits_for_buffers),
	    cmocka_unit_test(test_rx_sg_gso),
	    cmocka_unit_test(test_rx_no_sg_drops_big),
	    cmocka_unit_test(test_rx_gso_segmented),
	    cmocka_unit_test(test_rx_backpressure),
	    cmocka_unit_test(test_multiqueue_split),
	    cmocka_unit_test(test_tx_bad_gref),
	    cmocka_unit_test(test_tx_bad_sizes),
	    cmocka_unit_test(test_tx_index_overflow),
	    cmocka_unit_test(test_tx_past_req_prod),
	    cmocka_unit_test(test_tx_crosses_page),
	    cmocka_unit_test(test_tx_fragment_too_big),
	    cmocka_unit_test(test_tx_slot_flood),
	    cmocka_unit_test(test_tx_bad_extra),
	    cmocka_unit_test(test_tx_bad_gso),
	    cmocka_unit_test(test_rx_hostile),
	    cmocka_unit_test(test_connect_bad_ring_ref),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
