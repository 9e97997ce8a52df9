/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The slirp packet backend on a real libevent loop: ARP for the gateway,
 * and a UDP datagram to 10.0.2.2 that reaches a socket on the host's
 * 127.0.0.1 and whose answer comes back as a frame with valid checksums.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <event2/event.h>

#include "net.h"

static const uint8_t guest_mac[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01};

struct sink {
	uint8_t frames[16][2048];
	size_t len[16];
	struct xk_pkt_meta m[16];
	unsigned n;
};

static void on_rx(void *opaque, const uint8_t *f, size_t len, const struct xk_pkt_meta *m)
{
	struct sink *s = opaque;

	if (s->n < 16 && len <= sizeof(s->frames[0])) {
		memcpy(s->frames[s->n], f, len);
		s->len[s->n] = len;
		s->m[s->n] = *m;
		s->n++;
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Run the loop until pred or about two seconds. */
static void spin(struct event_base *b, struct sink *s, unsigned want)
{
	for (int i = 0; i < 200 && s->n < want; i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(b, &tv);
		event_base_dispatch(b);
	}
}

static size_t arp_request(uint8_t *f)
{
	static const uint8_t tail[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01};
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	memcpy(f + 12, tail, sizeof(tail));
	memcpy(f + 22, guest_mac, 6);
	memcpy(f + 28, "\x0a\x00\x02\x0f", 4);
	memset(f + 32, 0, 6);
	memcpy(f + 38, "\x0a\x00\x02\x02", 4);
	return 42;
}

static void test_arp_and_udp(void **state)
{
	struct event_base *base = event_base_new();
	struct sink s = {0};
	uint8_t f[256];

	struct xk_netdev *d = xk_netdev_slirp_new(base);
	assert_non_null(d);
	d->rx = on_rx;
	d->rx_opaque = &s;

	/* ARP: who has 10.0.2.2? */
	d->ops->send(d, f, arp_request(f), &(struct xk_pkt_meta){0});
	spin(base, &s, 1);
	assert_true(s.n >= 1);
	assert_int_equal(get16(s.frames[0] + 12), 0x0806);
	assert_int_equal(get16(s.frames[0] + 20), 2); /* reply */
	assert_memory_equal(s.frames[0] + 28, "\x0a\x00\x02\x02", 4);
	uint8_t gw_mac[6];
	memcpy(gw_mac, s.frames[0] + 22, 6);
	s.n = 0;

	/* A UDP socket on the host's loopback, reached as 10.0.2.2. */
	int us = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(us, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(us, (struct sockaddr *)&sa, &sl), 0);

	/* 10.0.2.15:5555 -> 10.0.2.2:port "ping", checksum left to netback's
	 * helper as a guest with offload would. */
	memset(f, 0, sizeof(f));
	memcpy(f, gw_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14, *udp = ip + 20;
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + 4);
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += get16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, (uint16_t)~sum);
	put16(udp, 5555);
	put16(udp + 2, ntohs(sa.sin_port));
	put16(udp + 4, 12);
	memcpy(udp + 8, "ping", 4);
	assert_int_equal(xk_net_csum_fill(f, 14 + 32), 0);
	d->ops->send(d, f, 14 + 32, &(struct xk_pkt_meta){0});

	char buf[16];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = -1;
	for (int i = 0; i < 200 && n < 0; i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		n = recvfrom(us, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	}
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(sendto(us, "pong!", 5, 0, (struct sockaddr *)&from, fl), 5);
	spin(base, &s, 1);
	assert_true(s.n >= 1);
	const uint8_t *r = s.frames[0];
	assert_int_equal(get16(r + 12), 0x0800);
	assert_int_equal(r[14 + 9], IPPROTO_UDP);
	assert_int_equal(get16(r + 14 + 20 + 2), 5555);
	assert_memory_equal(r + 14 + 28, "pong!", 5);
	/* slirp's frames carry complete checksums: refilling changes nothing */
	uint8_t copy[2048];
	memcpy(copy, r, s.len[0]);
	assert_int_equal(xk_net_csum_fill(copy, s.len[0]), 0);
	assert_memory_equal(copy, r, s.len[0]);
	assert_true(s.m[0].flags & XK_PKT_CSUM_VALID);

	close(us);
	d->ops->free(d);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_arp_and_udp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
