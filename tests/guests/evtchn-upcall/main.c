/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event channel upcalls (pv-abi.md 2.2 C.1, 3.2, 4): register_vcpu_info
 * into our own page (the old contents are copied and a spurious upcall is
 * marked pending), map shared_info for the 2-level pending/mask bitmaps,
 * bind an IPI to ourselves and send it: masked (pending bits only),
 * unmasked (upcall on return from the hypercall), port-masked then
 * EVTCHNOP_unmask (re-raised), closed (-EINVAL), unbound (dropped).
 */
#include "xkg.h"

const char test_title[] = "evtchn-upcall: bind_ipi, send, upcall, mask/unmask, close";

static struct vcpu_info *vi;
static struct shared_info *sh;

static bool port_pending(evtchn_port_t p)
{
	return ACCESS_ONCE(sh->evtchn_pending[p / 64]) & (1UL << (p % 64));
}

static long send(evtchn_port_t port)
{
	struct evtchn_send s = {.port = port};

	return HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
}

/* Frame of the most recent upcall: kernel mode, no error code, IF = 1
 * because events were enabled when it came, and masked inside. */
static void check_upcall_frame(const char *what)
{
	CHECK((xkg_ev.last_cs & 3) == 0, "%s: upcall frame cs %#lx not kernel", what,
	      xkg_ev.last_cs);
	CHECK(xkg_ev.last_rflags & 0x200, "%s: upcall frame rflags %#lx without IF", what,
	      xkg_ev.last_rflags);
	CHECK(((xkg_ev.last_cs >> 32) & 0xff) == 0, "%s: saved mask in cs %#lx is not 0", what,
	      xkg_ev.last_cs);
	CHECK_EQ(xkg_ev.mask_in_handler, 1, "upcall mask inside the event callback");
}

void test_main(void)
{
	struct evtchn_bind_ipi bi = {.vcpu = 0};
	struct evtchn_close cl;
	struct evtchn_unmask um;
	struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = 0};
	evtchn_port_t port;
	uint64_t before;
	long rc;

	rc = xkg_setup_traps();
	if (!rc)
		rc = xkg_setup_callbacks();
	if (rc) {
		xkg_fail("trap table / callbacks = %ld", rc);
		return;
	}

	vi = xkg_register_vcpu_info(&rc);
	if (!vi) {
		xkg_fail("VCPUOP_register_vcpu_info = %ld", rc);
		return;
	}
	/* Contents copied: events are still masked. */
	CHECK_EQ(vi->evtchn_upcall_mask, 1, "upcall mask in the registered vcpu_info");
	printf("evtchn: vcpu_info at %p: pending %u mask %u sel %#lx\n", vi,
	       vi->evtchn_upcall_pending, vi->evtchn_upcall_mask, vi->evtchn_pending_sel);

	sh = xkg_map_shared_info(&rc);
	if (!sh)
		xkg_fail("update_va_mapping(shared_info) = %ld: pending bits not checked", rc);
	xkg_evtchn_init(vi, sh);

	/* Deliver whatever registration left pending (spurious is fine). */
	xkg_events_enable();
	xkg_events_disable();
	printf("evtchn: %lu upcall(s) after registration\n", xkg_ev.upcalls);
	CHECK_EQ(vi->evtchn_upcall_pending, 0, "upcall_pending after the first upcall");

	rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &bi);
	if (rc) {
		xkg_fail("EVTCHNOP_bind_ipi = %ld", rc);
		return;
	}
	port = bi.port;
	printf("evtchn: IPI port %u\n", port);
	CHECK(port > 0 && port < EVTCHN_2L_NR_CHANNELS, "bad IPI port %u", port);

	/* 1. Masked: pending state only, no upcall. */
	before = xkg_ev.upcalls;
	rc = send(port);
	CHECK_EQ(rc, 0, "EVTCHNOP_send (events masked)");
	CHECK_EQ(xkg_ev.upcalls, before, "upcalls while masked");
	CHECK_EQ(vi->evtchn_upcall_pending, 1, "upcall_pending after a masked send");
	CHECK(vi->evtchn_pending_sel & (1UL << (port / 64)), "pending_sel %#lx lacks word %u",
	      vi->evtchn_pending_sel, port / 64);
	if (sh)
		CHECK(port_pending(port), "evtchn_pending bit of port %u not set", port);

	/* 2. Unmask: the upcall comes on return from the forcing hypercall. */
	xkg_events_enable();
	CHECK_EQ(xkg_ev.upcalls, before + 1, "upcalls after unmasking");
	CHECK(xkg_ev.last_sel & (1UL << (port / 64)), "upcall saw pending_sel %#lx",
	      xkg_ev.last_sel);
	if (sh) {
		CHECK_EQ(xkg_ev.count[port], 1, "events seen on the IPI port");
		CHECK(!port_pending(port), "port %u still pending after the handler", port);
	}
	check_upcall_frame("masked send");

	/* 3. Send with events enabled: upcall on return from the send itself. */
	before = xkg_ev.upcalls;
	rc = send(port);
	CHECK_EQ(rc, 0, "EVTCHNOP_send (events enabled)");
	CHECK_EQ(xkg_ev.upcalls, before + 1, "upcall on return from EVTCHNOP_send");
	if (sh)
		CHECK_EQ(xkg_ev.count[port], 2, "events seen on the IPI port");
	check_upcall_frame("unmasked send");
	/* iret restored the mask from the frame's IF. */
	CHECK_EQ(vi->evtchn_upcall_mask, 0, "upcall mask after the upcall's iret");
	xkg_events_disable();

	if (sh) {
		/* 4. Port masked: pending bit set, no selector/upcall; unmask
		 * re-raises it. */
		__atomic_fetch_or(&sh->evtchn_mask[port / 64], 1UL << (port % 64),
				  __ATOMIC_SEQ_CST);
		xkg_events_enable();
		before = xkg_ev.upcalls;
		rc = send(port);
		CHECK_EQ(rc, 0, "EVTCHNOP_send (port masked)");
		CHECK_EQ(xkg_ev.upcalls, before, "upcalls for a masked port");
		CHECK(port_pending(port), "masked port %u not pending after send", port);
		um.port = port;
		rc = HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &um);
		CHECK_EQ(rc, 0, "EVTCHNOP_unmask");
		CHECK(!(sh->evtchn_mask[port / 64] & (1UL << (port % 64))),
		      "EVTCHNOP_unmask left the mask bit set");
		CHECK_EQ(xkg_ev.upcalls, before + 1, "upcall after EVTCHNOP_unmask");
		CHECK_EQ(xkg_ev.count[port], 3, "events seen on the IPI port");
		xkg_events_disable();
	}

	/* 5. Closed port: send fails. */
	cl.port = port;
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_close, &cl);
	CHECK_EQ(rc, 0, "EVTCHNOP_close");
	rc = send(port);
	CHECK_EQ(rc, -XEN_EINVAL, "EVTCHNOP_send on a closed port");

	/* 6. Unbound port: the notification is dropped. */
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
	CHECK_EQ(rc, 0, "EVTCHNOP_alloc_unbound");
	if (!rc) {
		printf("evtchn: unbound port %u\n", au.port);
		xkg_events_enable();
		before = xkg_ev.upcalls;
		rc = send(au.port);
		CHECK_EQ(rc, 0, "EVTCHNOP_send on an unbound port");
		CHECK_EQ(xkg_ev.upcalls, before, "upcalls from an unbound port");
		xkg_events_disable();
		cl.port = au.port;
		rc = HYPERVISOR_event_channel_op(EVTCHNOP_close, &cl);
		CHECK_EQ(rc, 0, "EVTCHNOP_close(unbound)");
	}
	printf("evtchn: %lu upcalls in total\n", xkg_ev.upcalls);
}
