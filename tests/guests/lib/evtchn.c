/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * 2-level event channel upcall handling (pv-abi.md 3.2 and 4).
 */
#include "xkg.h"

struct xkg_evtchn_state xkg_ev;

static bool upcall(struct xkg_regs *r)
{
	struct vcpu_info *vi = xkg_ev.vi;
	struct shared_info *sh = xkg_ev.sh;
	unsigned long sel;

	xkg_ev.upcalls++;
	xkg_ev.last_rip = r->rip;
	xkg_ev.last_cs = r->cs;
	xkg_ev.last_rflags = r->rflags;
	xkg_ev.mask_in_handler = ACCESS_ONCE(vi->evtchn_upcall_mask);

	/* Clear the summary flags before scanning, as Linux does, so that an
	 * event arriving during the scan raises a new upcall. */
	ACCESS_ONCE(vi->evtchn_upcall_pending) = 0;
	sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0UL, __ATOMIC_SEQ_CST);
	xkg_ev.last_sel |= sel;
	if (!sh)
		return true;

	while (sel) {
		unsigned int w = __builtin_ctzl(sel);
		unsigned long pend;

		sel &= sel - 1;
		pend = ACCESS_ONCE(sh->evtchn_pending[w]) & ~ACCESS_ONCE(sh->evtchn_mask[w]);
		while (pend) {
			unsigned int b = __builtin_ctzl(pend);

			pend &= pend - 1;
			__atomic_fetch_and(&sh->evtchn_pending[w], ~(1UL << b), __ATOMIC_SEQ_CST);
			xkg_ev.count[w * 64 + b]++;
		}
	}
	return true;
}

void xkg_evtchn_init(struct vcpu_info *vi, struct shared_info *sh)
{
	xkg_ev.vi = vi;
	xkg_ev.sh = sh;
	xkg_set_handler(XKG_VEC_EVENT, upcall);
}

void xkg_events_enable(void)
{
	ACCESS_ONCE(xkg_ev.vi->evtchn_upcall_mask) = 0;
	barrier();
	/* Any hypercall returns through the pending-upcall check. */
	if (ACCESS_ONCE(xkg_ev.vi->evtchn_upcall_pending))
		HYPERVISOR_xen_version(XENVER_version, NULL);
}

void xkg_events_disable(void)
{
	ACCESS_ONCE(xkg_ev.vi->evtchn_upcall_mask) = 1;
	barrier();
}
