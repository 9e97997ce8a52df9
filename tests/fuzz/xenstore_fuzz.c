/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the xenstore message parser and dispatcher.  The
 * input is a byte stream: the first byte picks how it is split between an
 * unprivileged guest connection (domain 5) and a dom0 connection, and how it
 * is chunked; the rest is fed as raw protocol.  Every input must leave a
 * consistent store, and both connections must keep answering or be dead.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"
#include "xs_ring.h"

static struct xs_conn *guest, *dom0;

/* RELEASE of domain 5 frees its connection: forget it here too. */
static void on_release(void *opaque, uint32_t domid)
{
	if (domid == 5)
		guest = NULL;
}

static void drain(struct xs_conn *c)
{
	const uint8_t *p;
	size_t n;

	while ((n = xs_conn_out_peek(c, &p)))
		xs_conn_out_consume(c, n);
}

static void feed(struct xs_conn **cp, const uint8_t *d, size_t len, size_t chunk)
{
	while (len && *cp && !(*cp)->dead) {
		struct xs_conn *c = *cp;
		size_t n = len < chunk ? len : chunk;
		long used = xs_conn_feed(c, d, n);
		bool want = used >= 0 && xs_conn_want_input(c);

		if (guest)
			drain(guest);
		drain(dom0);
		if (!*cp)
			return;
		if (used < 0)
			return;
		/* Back-pressure can only hold input while replies are queued. */
		if ((size_t)used < n && want)
			abort();
		d += used;
		len -= (size_t)used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_core_hooks hooks = { .release = on_release };
	struct xs_core *core;
	struct xs_domain *d;
	size_t split, chunk;
	int err;

	if (size < 1)
		return 0;
	core = xs_core_new(&hooks);
	if (!core)
		return 0;
	guest = xs_conn_new(core, 5, true, NULL, NULL);
	dom0 = xs_conn_new(core, 0, false, NULL, NULL);
	d = xs_domain_introduce(core, 5, guest, &err);
	if (!guest || !dom0 || !d)
		abort();
	core->quota.nodes = 50;
	core->quota.transaction_nodes = 50;
	split = (size - 1) * (data[0] & 0x0f) / 15;
	chunk = (size_t)1 << (data[0] >> 4);
	feed(&guest, data + 1, split, chunk);
	feed(&dom0, data + 1 + split, size - 1 - split, chunk);

	/* The ring copy helpers on the same bytes as a hostile page. */
	if (size >= sizeof(struct xenstore_domain_interface)) {
		struct xenstore_domain_interface ring;
		uint8_t buf[XENSTORE_RING_SIZE];

		memcpy(&ring, data, sizeof(ring));
		if (xs_ring_read(&ring, buf, sizeof(buf)) > XENSTORE_RING_SIZE ||
		    xs_ring_write(&ring, buf, sizeof(buf)) > XENSTORE_RING_SIZE)
			abort();
	}
	if (xs_core_check(core))
		abort();
	d = xs_domain_find(core, 5);
	if (d)
		xs_domain_release(core, d);
	if (xs_core_check(core))
		abort();
	xs_core_free(core);
	return 0;
}
