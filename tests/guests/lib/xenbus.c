/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The frontend half of a PV device done by hand, for the hostile frontend
 * tests: grant-table frame 0, grants to the backend, an unbound port for
 * it, and the xenbus handshake through lib/xs.c (the keys and states of
 * xen/io/xenbus.h, in the order Linux's xenbus frontends use them).
 */
#include "xkg.h"
#include <xen/io/xenbus.h>

static char gnt_va[XKG_PAGE_SIZE] __aligned(4096);
static grant_entry_v1_t *gnt;

grant_entry_v1_t *xkg_gnttab_map(void)
{
	xen_pfn_t frame = 0;
	struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 1};
	long rc;

	set_xen_guest_handle(st.frame_list, &frame);
	rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
	CHECK(rc == 0 && st.status == GNTST_okay, "setup_table: %ld/%d", rc, st.status);
	if (rc || st.status != GNTST_okay)
		return NULL;
	rc = HYPERVISOR_update_va_mapping(
	    (unsigned long)gnt_va,
	    (frame << 12) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY, UVMF_INVLPG);
	CHECK_EQ(rc, 0, "map grant frame");
	if (rc)
		return NULL;
	gnt = (grant_entry_v1_t *)gnt_va;
	return gnt;
}

void xkg_grant(unsigned int ref, const void *page, domid_t dom, bool ro)
{
	/* Revoke first: a backend must never see the new frame with the old
	 * domain or flags (Linux's gnttab_update_entry_v1 writes flags last
	 * for the same reason). */
	gnt[ref].flags = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	gnt[ref].domid = dom;
	gnt[ref].frame = (uint32_t)xkg_virt_to_mfn(page);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	gnt[ref].flags = GTF_permit_access | (ro ? GTF_readonly : 0);
}

uint32_t xkg_alloc_unbound(domid_t remote)
{
	struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = remote};

	CHECK_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au), 0, "alloc_unbound");
	return au.port;
}

void xkg_notify(uint32_t port)
{
	struct evtchn_send s = {.port = port};

	HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
}

bool xkg_wait_idx(volatile uint32_t *idx, uint32_t want, unsigned long tries)
{
	for (unsigned long i = 0; i < tries; i++) {
		if ((int32_t)(*idx - want) >= 0)
			return true;
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	return false;
}

long xkg_xb_init(struct xkg_xb *d, const char *node)
{
	char path[80];

	d->node = node;
	snprintf(path, sizeof(path), "%s/backend", node);
	return xkg_xs_read(path, d->be_path, sizeof(d->be_path)) > 0 ? 0 : -1;
}

void xkg_xb_write(struct xkg_xb *d, const char *key, const char *fmt, unsigned long v)
{
	char path[96], val[32];

	snprintf(path, sizeof(path), "%s/%s", d->node, key);
	snprintf(val, sizeof(val), fmt, v);
	CHECK_EQ(xkg_xs_write(path, val), 0, path);
}

long xkg_xb_be_num(struct xkg_xb *d, const char *key)
{
	char path[160], buf[32];
	long v = 0;

	snprintf(path, sizeof(path), "%s/%s", d->be_path, key);
	if (xkg_xs_read(path, buf, sizeof(buf)) <= 0)
		return -1;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return v;
}

long xkg_xb_be_state(struct xkg_xb *d)
{
	return xkg_xb_be_num(d, "state");
}

bool xkg_xb_wait_be_state(struct xkg_xb *d, long want)
{
	for (int i = 0; i < 20000; i++) {
		if (xkg_xb_be_state(d) == want)
			return true;
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	return false;
}

/* The frontend's half of each step, then the backend's answer. */
static void step(struct xkg_xb *d, long fe, long be, bool check, const char *what)
{
	xkg_xb_write(d, "state", "%lu", (unsigned long)fe);
	if (!xkg_xb_wait_be_state(d, be) && check)
		xkg_fail("%s: backend not %s (state %ld)", d->node, what, xkg_xb_be_state(d));
}

void xkg_xb_restart(struct xkg_xb *d, bool check)
{
	step(d, XenbusStateClosing, XenbusStateClosing, check, "Closing");
	step(d, XenbusStateClosed, XenbusStateClosed, check, "Closed");
	step(d, XenbusStateInitialising, XenbusStateInitWait, check, "back in InitWait");
}
