/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A hostile netfront against the launcher's netback (run with --vif, slirp):
 * it sets up vif 0 by hand (grant table, rings, an unbound port for domain
 * 0, the xenstore keys), checks that a good packet (an ARP request for the
 * slirp gateway) is answered on both rings, that bad grant refs and packets
 * of too many slots get error responses, that a slot crossing its page
 * makes netback drop the vif (no more responses) while the guest and the
 * launcher carry on, that the frontend can close and connect again, and
 * that an impossible RX req_prod disables the vif the same way.
 */
#include "xkg.h"
#include <xen/grant_table.h>
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

const char test_title[] = "netfront-hostile: bad refs, bad slots, ring overflow";

#define TX_SIZE __CONST_RING_SIZE(netif_tx, XKG_PAGE_SIZE)
#define RX_SIZE __CONST_RING_SIZE(netif_rx, XKG_PAGE_SIZE)

enum { REF_TX = 8, REF_RX = 9, REF_DATA = 10, NDATA = 4 };

static uint8_t tx_page[XKG_PAGE_SIZE] __aligned(4096);
static uint8_t rx_page[XKG_PAGE_SIZE] __aligned(4096);
#define tx_ring (*(netif_tx_sring_t *)tx_page)
#define rx_ring (*(netif_rx_sring_t *)rx_page)
static uint8_t data[NDATA][XKG_PAGE_SIZE] __aligned(4096);
static RING_IDX tx_prod, rx_prod;
static uint32_t port;
static struct xkg_xb vif;

/* Poll until *idx reaches want (a few seconds at most). */
static bool wait_idx(volatile RING_IDX *idx, RING_IDX want)
{
	return xkg_wait_idx(idx, want, 3000000UL);
}

/* Nothing arrives: a shorter look (netback answers within microseconds). */
static bool nothing_comes(volatile RING_IDX *idx, RING_IDX want)
{
	return !xkg_wait_idx(idx, want, 200000UL);
}

static void fe_write(const char *key, const char *fmt, unsigned long v)
{
	xkg_xb_write(&vif, key, fmt, v);
}

/* Fresh rings, post one RX buffer, write the keys, go Connected. */
static void connect(void)
{
	memset(tx_page, 0, sizeof(tx_page));
	memset(rx_page, 0, sizeof(rx_page));
	SHARED_RING_INIT(&tx_ring);
	SHARED_RING_INIT(&rx_ring);
	tx_prod = rx_prod = 0;
	fe_write("tx-ring-ref", "%lu", REF_TX);
	fe_write("rx-ring-ref", "%lu", REF_RX);
	fe_write("event-channel", "%lu", port);
	fe_write("request-rx-copy", "%lu", 1);
	fe_write("feature-rx-notify", "%lu", 1);
	fe_write("state", "%lu", XenbusStateConnected);
	CHECK(xkg_xb_wait_be_state(&vif, XenbusStateConnected),
	      "backend did not connect (state %ld)", xkg_xb_be_state(&vif));
}

static void tx_req(uint32_t gref, uint16_t off, uint16_t flags, uint16_t id, uint16_t size)
{
	netif_tx_request_t r = {
	    .gref = gref, .offset = off, .flags = flags, .id = id, .size = size};
	tx_ring.ring[tx_prod++ % TX_SIZE].req = r;
}

static void tx_push(void)
{
	__atomic_store_n(&tx_ring.req_prod, tx_prod, __ATOMIC_RELEASE);
	xkg_notify(port);
}

static void rx_post(uint32_t gref)
{
	netif_rx_request_t r = {.id = (uint16_t)(rx_prod % RX_SIZE), .gref = gref};
	rx_ring.ring[rx_prod++ % RX_SIZE].req = r;
	__atomic_store_n(&rx_ring.req_prod, rx_prod, __ATOMIC_RELEASE);
	xkg_notify(port);
}

/* An ARP request "who has 10.0.2.2, tell 10.0.2.15" in data page 0. */
static uint16_t arp_request(void)
{
	static const uint8_t f[42] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x16, 0x3e, 0x5a, 0x17, 0x02, 0x08, 0x06,
	    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x16, 0x3e, 0x5a, 0x17, 0x02,
	    10,	  0,	2,    15,   0,	  0,	0,    0,    0,	  0,	10,   0,    2,	  2,
	};
	memcpy(data[0], f, sizeof(f));
	return sizeof(f);
}

/* A good packet goes out and its answer comes back (skipping anything
 * else slirp may send meanwhile, such as an IPv6 router advertisement). */
static void good_packet(const char *when)
{
	RING_IDX rx0 = rx_ring.rsp_prod, tx0 = tx_ring.rsp_prod;

	rx_post(REF_DATA + 1);
	tx_req(REF_DATA, 0, 0, 77, arp_request());
	tx_push();
	CHECK(wait_idx(&tx_ring.rsp_prod, tx0 + 1), "%s: no TX response", when);
	netif_tx_response_t t = tx_ring.ring[tx0 % TX_SIZE].rsp;
	CHECK_EQ(t.id, 77, "TX response id");
	CHECK_EQ(t.status, NETIF_RSP_OKAY, "TX response status");
	for (int tries = 0; tries < 4; tries++, rx0++) {
		if (!wait_idx(&rx_ring.rsp_prod, rx0 + 1))
			break;
		netif_rx_response_t r = rx_ring.ring[rx0 % RX_SIZE].rsp;
		const uint8_t *p = data[1] + r.offset;
		if (r.status >= 42 && p[12] == 0x08 && p[13] == 0x06 && p[21] == 2) {
			printf("netfront-hostile: %s: ARP reply of %d bytes\n", when, r.status);
			return;
		}
		printf("netfront-hostile: %s: skipping a frame (status %d, type %02x%02x)\n", when,
		       r.status, p[12], p[13]);
		rx_post(REF_DATA + 1);
	}
	xkg_fail("%s: no ARP reply", when);
}

void test_main(void)
{
	if (!xkg_gnttab_map())
		return;
	xkg_grant(REF_TX, tx_page, 0, false);
	xkg_grant(REF_RX, rx_page, 0, false);
	for (unsigned i = 0; i < NDATA; i++)
		xkg_grant(REF_DATA + i, data[i], 0, false);

	port = xkg_alloc_unbound(0);

	CHECK(xkg_xb_init(&vif, "device/vif/0") == 0, "no vif 0 (run with --vif)");
	if (xkg_status() > XKG_SUCCESS)
		return;
	printf("netfront-hostile: backend %s, port %u\n", vif.be_path, port);
	CHECK(xkg_xb_wait_be_state(&vif, XenbusStateInitWait), "backend not in InitWait");
	connect();
	good_packet("first connection");

	/* Bad refs: out of the table, not granted, read-only for RX. */
	RING_IDX t0 = tx_ring.rsp_prod;
	tx_req(100000, 0, 0, 1, 60);
	tx_req(4000, 0, 0, 2, 60);
	/* 19 slots: more than a netfront may send */
	for (unsigned i = 0; i < 19; i++)
		tx_req(REF_DATA, 0, i < 18 ? NETTXF_more_data : 0, (uint16_t)(10 + i),
		       i ? 10 : 1900);
	tx_push();
	CHECK(wait_idx(&tx_ring.rsp_prod, t0 + 21), "no responses to bad requests");
	for (unsigned i = 0; i < 21; i++)
		CHECK_EQ(tx_ring.ring[(t0 + i) % TX_SIZE].rsp.status, NETIF_RSP_ERROR,
			 "bad request's status");
	xkg_grant(REF_DATA + 2, data[2], 0, true);
	RING_IDX r0 = rx_ring.rsp_prod;
	rx_post(REF_DATA + 2); /* read-only: the reply cannot land there */
	tx_req(REF_DATA, 0, 0, 78, arp_request());
	tx_push();
	CHECK(wait_idx(&rx_ring.rsp_prod, r0 + 1), "no RX response on a read-only buffer");
	CHECK_EQ(rx_ring.ring[r0 % RX_SIZE].rsp.status, NETIF_RSP_ERROR, "read-only RX buffer");
	/* Its TX answer may come after the RX one: wait, or good_packet()
	 * below would take it for its own. */
	CHECK(wait_idx(&tx_ring.rsp_prod, tx_prod), "no TX response to the packet for the "
						    "read-only buffer");
	xkg_grant(REF_DATA + 2, data[2], 0, false);
	good_packet("after bad refs");

	/* A slot crossing its page: netback drops the vif. */
	t0 = tx_ring.rsp_prod;
	tx_req(REF_DATA, 4000, 0, 5, 200);
	tx_push();
	tx_req(REF_DATA, 0, 0, 6, arp_request());
	tx_push();
	CHECK(nothing_comes(&tx_ring.rsp_prod, t0 + 1), "netback answered a slot crossing a page");
	printf("netfront-hostile: vif dropped after a slot crossing its page\n");

	/* Close and start over: the backend serves the new rings. */
	xkg_xb_restart(&vif, true);
	connect();
	good_packet("reconnected");

	/* An impossible RX req_prod: dropped again. */
	__atomic_store_n(&rx_ring.req_prod, rx_ring.rsp_prod + 1000, __ATOMIC_RELEASE);
	t0 = tx_ring.rsp_prod;
	tx_req(REF_DATA, 0, 0, 79, arp_request());
	tx_push();
	nothing_comes(&tx_ring.rsp_prod, t0 + 1); /* answered or not: the RX side fails */
	t0 = tx_ring.rsp_prod;
	tx_req(REF_DATA, 0, 0, 80, arp_request());
	tx_push();
	CHECK(nothing_comes(&tx_ring.rsp_prod, t0 + 1), "netback still serves after RX overflow");
	printf("netfront-hostile: vif dropped after an impossible RX req_prod\n");

	/* TX req_prod overflow on a fresh connection. */
	xkg_xb_restart(&vif, false);
	connect();
	__atomic_store_n(&tx_ring.req_prod, TX_SIZE + 5, __ATOMIC_RELEASE);
	xkg_notify(port);
	CHECK(nothing_comes(&tx_ring.rsp_prod, 1), "netback answered an overflowing TX ring");
	printf("netfront-hostile: the launcher is still here\n");
}
