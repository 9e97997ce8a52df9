/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal xenstore client over the domain's ring (xen/io/xs_wire.h):
 * one request at a time, answered by polling.  Paths may be relative to
 * the domain's home (/local/domain/<domid>).
 */
#include "xkg.h"
#include <xen/io/xs_wire.h>

static char ring_va[XKG_PAGE_SIZE] __aligned(4096);
static struct xenstore_domain_interface *ring;
static uint32_t req_id;

static void notify(void)
{
	struct evtchn_send s = {.port = xkg_start_info->store_evtchn};
	HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
}

static long xs_init(void)
{
	if (ring)
		return 0;
	uint64_t pte = (xkg_start_info->store_mfn << 12) | _PAGE_PRESENT | _PAGE_RW |
		       _PAGE_ACCESSED | _PAGE_DIRTY;
	long rc = HYPERVISOR_update_va_mapping((unsigned long)ring_va, pte, UVMF_INVLPG);
	if (rc)
		return rc;
	ring = (struct xenstore_domain_interface *)ring_va;
	return 0;
}

static bool wait_until(bool (*ready)(void))
{
	for (unsigned long i = 0; i < 20000000UL; i++) {
		if (ready())
			return true;
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	return false;
}

static size_t out_len;
static bool req_room(void)
{
	XENSTORE_RING_IDX used = ACCESS_ONCE(ring->req_prod) - ACCESS_ONCE(ring->req_cons);
	return XENSTORE_RING_SIZE - used >= out_len;
}

static bool rsp_header(void)
{
	return ACCESS_ONCE(ring->rsp_prod) - ring->rsp_cons >= sizeof(struct xsd_sockmsg);
}

static size_t in_len;
static bool rsp_body(void)
{
	return ACCESS_ONCE(ring->rsp_prod) - ring->rsp_cons >= in_len;
}

static void ring_write(const void *p, size_t n)
{
	const char *s = p;
	for (size_t i = 0; i < n; i++)
		ring->req[MASK_XENSTORE_IDX(ring->req_prod + i)] = s[i];
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ring->req_prod += (XENSTORE_RING_IDX)n;
}

static void ring_read(void *p, size_t n)
{
	char *d = p;
	for (size_t i = 0; i < n; i++)
		d[i] = ring->rsp[MASK_XENSTORE_IDX(ring->rsp_cons + i)];
	__atomic_thread_fence(__ATOMIC_ACQ_REL);
	ring->rsp_cons += (XENSTORE_RING_IDX)n;
}

/* Send type(a\0[b]) and read the reply into buf (NUL-terminated).
 * Returns the reply length, or -1 (error reply or timeout). */
static long xs_request(uint32_t type, const char *a, const void *b, size_t blen, char *buf,
		       size_t size)
{
	struct xsd_sockmsg m = {.type = type, .req_id = ++req_id, .tx_id = 0};
	size_t alen = strlen(a) + 1;

	if (xs_init())
		return -1;
	m.len = (uint32_t)(alen + blen);
	out_len = sizeof(m) + m.len;
	if (out_len > XENSTORE_RING_SIZE || !wait_until(req_room))
		return -1;
	ring_write(&m, sizeof(m));
	ring_write(a, alen);
	if (blen)
		ring_write(b, blen);
	notify();
	for (;;) {
		struct xsd_sockmsg r;
		if (!wait_until(rsp_header))
			return -1;
		ring_read(&r, sizeof(r));
		in_len = r.len;
		if (r.len > XENSTORE_PAYLOAD_MAX || !wait_until(rsp_body))
			return -1;
		size_t keep = r.len < size - 1 ? r.len : size - 1;
		ring_read(buf, keep);
		buf[keep] = 0;
		char skip;
		for (size_t i = keep; i < r.len; i++)
			ring_read(&skip, 1);
		notify();
		if (r.type == XS_WATCH_EVENT)
			continue; /* not ours */
		return r.type == XS_ERROR ? -1 : (long)r.len;
	}
}

long xkg_xs_read(const char *path, char *buf, size_t size)
{
	return xs_request(XS_READ, path, NULL, 0, buf, size);
}

long xkg_xs_write(const char *path, const char *value)
{
	char ok[16];
	return xs_request(XS_WRITE, path, value, strlen(value), ok, sizeof(ok)) < 0 ? -1 : 0;
}
