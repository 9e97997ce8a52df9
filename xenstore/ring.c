/* SPDX-License-Identifier: GPL-2.0-only */
#include <string.h>

#include "xs_ring.h"

static inline uint32_t load_once(const XENSTORE_RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void store_once(XENSTORE_RING_IDX *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Full barrier, as xen_mb(): order index reads against data accesses. */
static inline void mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int xs_ring_read(struct xenstore_domain_interface *intf, void *buf, uint32_t len)
{
	uint32_t cons = load_once(&intf->req_cons), prod = load_once(&intf->req_prod);
	uint32_t avail, off, chunk;

	mb();
	avail = prod - cons;
	if (avail > XENSTORE_RING_SIZE)
		return -1;
	if (len > avail)
		len = avail;
	off = MASK_XENSTORE_IDX(cons);
	chunk = XENSTORE_RING_SIZE - off;
	if (chunk > len)
		chunk = len;
	memcpy(buf, intf->req + off, chunk);
	memcpy((char *)buf + chunk, intf->req, len - chunk);
	/* Done with the data before the guest may reuse the space. */
	mb();
	store_once(&intf->req_cons, cons + len);
	return (int)len;
}

int xs_ring_write(struct xenstore_domain_interface *intf, const void *buf, uint32_t len)
{
	uint32_t cons = load_once(&intf->rsp_cons), prod = load_once(&intf->rsp_prod);
	uint32_t used, space, off, chunk;

	mb();
	used = prod - cons;
	if (used > XENSTORE_RING_SIZE)
		return -1;
	space = XENSTORE_RING_SIZE - used;
	if (len > space)
		len = space;
	off = MASK_XENSTORE_IDX(prod);
	chunk = XENSTORE_RING_SIZE - off;
	if (chunk > len)
		chunk = len;
	memcpy(intf->rsp + off, buf, chunk);
	memcpy(intf->rsp, (const char *)buf + chunk, len - chunk);
	/* Data visible before the producer index that publishes it. */
	mb();
	store_once(&intf->rsp_prod, prod + len);
	return (int)len;
}
