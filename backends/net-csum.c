/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Header parsing, TCP/UDP checksums and software TCP segmentation for
 * frames whose offloads the packet backend cannot take (RFC 1071 sums).
 * Every length comes from the guest: each field is bounds-checked.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint64_t sum_bytes(const uint8_t *p, size_t n, uint64_t s)
{
	while (n > 1) {
		s += get16(p);
		p += 2;
		n -= 2;
	}
	if (n)
		s += (uint64_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

int xk_net_parse(const uint8_t *f, size_t len, struct xk_net_hdrs *h)
{
	size_t off = 14;

	if (len < off)
		return -1;
	uint16_t type = get16(f + 12);
	if (type == 0x8100 || type == 0x88a8) {
		if (len < 18)
			return -1;
		type = get16(f + 16);
		off = 18;
	}
	h->l3 = off;
	if (type == 0x0800) {
		if (len < off + 20 || f[off] >> 4 != 4)
			return -1;
		size_t ihl = (size_t)(f[off] & 15) * 4;
		size_t tot = get16(f + off + 2);
		if (ihl < 20 || tot < ihl || off + tot > len)
			return -1;
		if (get16(f + off + 6) & 0x3fff) /* MF or a fragment offset */
			return -1;
		h->ipv6 = false;
		h->proto = f[off + 9];
		h->l4 = off + ihl;
		h->end = off + tot;
		return 0;
	}
	if (type != 0x86dd || len < off + 40 || f[off] >> 4 != 6)
		return -1;
	size_t end = off + 40 + get16(f + off + 4);
	if (end > len)
		return -1;
	uint8_t nh = f[off + 6];
	size_t p = off + 40;
	for (int i = 0; i < 8; i++) {
		size_t ext;
		if (nh == 0 || nh == 43 || nh == 60) { /* hop-by-hop, routing, dstopts */
			if (p + 8 > end)
				return -1;
			ext = ((size_t)f[p + 1] + 1) * 8;
		} else if (nh == 51) { /* AH */
			if (p + 8 > end)
				return -1;
			ext = ((size_t)f[p + 1] + 2) * 4;
		} else {
			break;
		}
		if (p + ext > end)
			return -1;
		nh = f[p];
		p += ext;
	}
	if (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44) /* too deep, fragment */
		return -1;
	h->ipv6 = true;
	h->proto = nh;
	h->l4 = p;
	h->end = end;
	return 0;
}

/* Pseudo-header sum for an L4 segment of l4len bytes. */
static uint64_t pseudo_sum(const uint8_t *f, const struct xk_net_hdrs *h, size_t l4len)
{
	uint64_t s;

	if (h->ipv6) {
		s = sum_bytes(f + h->l3 + 8, 32, 0);
		s += (l4len >> 16) + (l4len & 0xffff);
	} else {
		s = sum_bytes(f + h->l3 + 12, 8, 0);
		s += l4len;
	}
	return s + h->proto;
}

/* Offset of the checksum field inside the L4 header, or 0. */
static size_t csum_field(const uint8_t *f, const struct xk_net_hdrs *h)
{
	if (h->proto == IPPROTO_TCP && h->l4 + 20 <= h->end)
		return 16;
	if (h->proto == IPPROTO_UDP && h->l4 + 8 <= h->end)
		return 6;
	return 0;
}

static int fill_l4(uint8_t *f, const struct xk_net_hdrs *h)
{
	size_t field = csum_field(f, h);

	if (!field)
		return -1;
	put16(f + h->l4 + field, 0);
	size_t l4len = h->end - h->l4;
	uint16_t c = (uint16_t)~fold(sum_bytes(f + h->l4, l4len, pseudo_sum(f, h, l4len)));
	if (c == 0 && h->proto == IPPROTO_UDP)
		c = 0xffff;
	put16(f + h->l4 + field, c);
	return 0;
}

int xk_net_csum_fill(uint8_t *frame, size_t len)
{
	struct xk_net_hdrs h;

	if (xk_net_parse(frame, len, &h))
		return -1;
	return fill_l4(frame, &h);
}

int xk_net_csum_partial(uint8_t *frame, size_t len, struct xk_pkt_meta *m)
{
	struct xk_net_hdrs h;

	if (xk_net_parse(frame, len, &h))
		return -1;
	size_t field = csum_field(frame, &h);
	if (!field)
		return -1;
	put16(frame + h.l4 + field, fold(pseudo_sum(frame, &h, h.end - h.l4)));
	m->flags |= XK_PKT_CSUM_PARTIAL;
	m->csum_start = (uint16_t)h.l4;
	m->csum_offset = (uint16_t)field;
	return 0;
}

static void ipv4_header_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;

	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~fold(sum_bytes(ip, ihl, 0)));
}

int xk_net_gso_segment(const uint8_t *frame, size_t len, uint16_t gso_size,
		       void (*out)(void *opaque, uint8_t *seg, size_t len), void *opaque)
{
	struct xk_net_hdrs h;

	if (!gso_size || xk_net_parse(frame, len, &h) || h.proto != IPPROTO_TCP ||
	    h.l4 + 20 > h.end)
		return -1;
	size_t thl = (size_t)(frame[h.l4 + 12] >> 4) * 4;
	if (thl < 20 || h.l4 + thl > h.end)
		return -1;
	size_t hdr = h.l4 + thl, payload = h.end - hdr;
	size_t mss = gso_size < payload ? gso_size : payload;
	uint8_t *buf = malloc(hdr + (mss ? mss : 1));
	if (!buf)
		return -1;
	uint32_t seq = get32(frame + h.l4 + 4);
	uint16_t id = h.ipv6 ? 0 : get16(frame + h.l3 + 4);
	uint8_t flags = frame[h.l4 + 13];
	size_t off = 0;
	unsigned i = 0;
	do {
		size_t n = payload - off < mss ? payload - off : mss;
		bool last = off + n >= payload;
		memcpy(buf, frame, hdr);
		memcpy(buf + hdr, frame + hdr + off, n);
		struct xk_net_hdrs sh = h;
		sh.end = hdr + n;
		if (h.ipv6) {
			put16(buf + h.l3 + 4, (uint16_t)(sh.end - h.l3 - 40));
		} else {
			put16(buf + h.l3 + 2, (uint16_t)(sh.end - h.l3));
			put16(buf + h.l3 + 4, (uint16_t)(id + i));
			ipv4_header_csum(buf + h.l3);
		}
		put32(buf + h.l4 + 4, seq + (uint32_t)off);
		uint8_t fl = flags;
		if (!last)
			fl &= (uint8_t)~0x09; /* FIN, PSH on the last segment only */
		if (i)
			fl &= (uint8_t)~0x80; /* CWR on the first only */
		buf[h.l4 + 13] = fl;
		fill_l4(buf, &sh);
		out(opaque, buf, sh.end);
		off += n;
		i++;
	} while (off < payload);
	free(buf);
	return 0;
}
