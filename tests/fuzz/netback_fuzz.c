/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for netback (backends/net.c, net-csum.c): the input is
 * what a hostile frontend controls -- its TX and RX ring pages, the pages
 * it grants, which grants are missing or read-only, its features -- plus
 * frames arriving from the packet backend.  netback must neither crash nor
 * touch memory outside the granted pages, whatever the input.
 *
 * Input: [ctl 8 bytes][tx ring page][rx ring page][data pages...], short
 * inputs padded with zeros.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

#define PG     4096
#define NPAGES 10 /* ref 0: TX ring, 1: RX ring, 2..9: data */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t (*pages)[PG];
static uint8_t ctl[8];
static int mapped;

static int g_map(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write,
		 void **out)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t r = refs[i];
		if (r >= NPAGES || (ctl[1] >> (r % 8) & 1) ||
		    (write && r >= 2 && (ctl[2] >> (r % 8) & 1)))
			return -1;
		out[i] = pages[r];
	}
	mapped += (int)n;
	return 0;
}

static void g_unmap(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write)
{
	mapped -= (int)n;
}

static void ev_notify(void *opaque, uint32_t port)
{
}

static xk_kick_fn route_fn[8];
static void *route_arg[8];

static int ev_bind(void *opaque, uint32_t port, xk_kick_fn fn, void *arg)
{
	if (port >= 8)
		return -22;
	if (route_fn[port])
		return -16;
	route_fn[port] = fn;
	route_arg[port] = arg;
	return 0;
}

static void ev_unbind(void *opaque, uint32_t port)
{
	if (port < 8)
		route_fn[port] = NULL;
}

static void kick(uint32_t port)
{
	if (port < 8 && route_fn[port])
		route_fn[port](route_arg[port]);
}

static void d_send(struct xk_netdev *d, const uint8_t *f, size_t len, const struct xk_pkt_meta *m)
{
	/* touch every byte: ASan checks the frame is ours */
	volatile uint8_t x = 0;
	for (size_t i = 0; i < len; i++)
		x ^= f[i];
	(void)x;
}

static void d_free(struct xk_netdev *d)
{
}

static const struct xk_netdev_ops ops = {d_send, NULL, d_free};

static void quiet(void *opaque, const char *msg)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (!pages)
		pages = aligned_alloc(PG, NPAGES * PG);
	memset(ctl, 0, sizeof(ctl));
	memcpy(ctl, in, size < sizeof(ctl) ? size : sizeof(ctl));
	size_t rest = size > sizeof(ctl) ? size - sizeof(ctl) : 0;
	memset(pages, 0, NPAGES * PG);
	memcpy(pages, in + sizeof(ctl), rest < NPAGES * PG ? rest : NPAGES * PG);

	struct xk_netdev dev = {.ops = &ops, .caps = ctl[0] & 3};
	struct xk_grant_ops gnt = {g_map, g_unmap, NULL};
	struct xk_evtchn_ops ev = {ev_notify, NULL, ev_bind, ev_unbind};
	struct xk_vif *v = xk_vif_new(1, 0, &dev, &gnt, &ev, quiet, NULL);
	struct xk_netfront_features f = {
	    .sg = ctl[3] & 1,
	    .gso_tcpv4 = ctl[3] & 2,
	    .gso_tcpv6 = ctl[3] & 4,
	    .csum = ctl[3] & 8,
	    .ipv6_csum = ctl[3] & 16,
	};
	bool split = ctl[3] & 32;
	struct xk_netq_config q = {0, 1, 1, split ? 2 : 1};

	memset(route_fn, 0, sizeof(route_fn));
	mapped = 0;
	if (xk_vif_connect(v, 1, &q, &f) == 0) {
		kick(1);
		/* Frames from the world, cut from data page 2 with metadata
		 * from the control bytes. */
		for (unsigned i = 0; i < (ctl[4] & 7); i++) {
			size_t len = ((size_t)ctl[5] << 8 | ctl[6]) >> (i & 3);
			if (len > PG * 7)
				len = PG * 7;
			struct xk_pkt_meta m = {
			    .flags = ctl[7] & 3,
			    .gso_type = (ctl[7] >> 2) % 3,
			    .gso_size = (uint16_t)(ctl[6] + 1),
			    .csum_start = 34,
			    .csum_offset = 16,
			};
			xk_netdev_deliver(&dev, pages[2], len, &m);
		}
		kick(split ? 2 : 1);
		kick(1);
	}
	xk_vif_free(v);
	if (mapped != 0)
		abort(); /* every map must be undone */
	return 0;
}
