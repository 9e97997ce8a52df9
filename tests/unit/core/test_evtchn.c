/* SPDX-License-Identifier: GPL-2.0-only */
/* core/evtchn.c: 2-level event channels on a real shared_info in host memory. */
#include <string.h>

#include "fake.h"

static int setup(void **state)
{
	fake_world_init(2, 2100000);
	return 0;
}

static long evop(uint64_t cmd, void *arg)
{
	return do_event_channel_op(fake_pc(0), cmd, gva(arg));
}

static bool bit(const xen_ulong_t *words, unsigned n)
{
	return (words[n / 64] >> (n % 64)) & 1;
}

static bool pending(unsigned port)
{
	return bit(dom.shared->evtchn_pending, port);
}

static void mask(unsigned port, bool on)
{
	if (on)
		dom.shared->evtchn_mask[port / 64] |= 1ULL << (port % 64);
	else
		dom.shared->evtchn_mask[port / 64] &= ~(1ULL << (port % 64));
}

static struct vcpu_info *vi(unsigned vcpu)
{
	return fake_pc(vcpu)->v.vi;
}

/* Guest-side acknowledgement of everything (what Linux's upcall does). */
static void guest_ack_all(unsigned vcpu)
{
	vi(vcpu)->evtchn_upcall_pending = 0;
	vi(vcpu)->evtchn_pending_sel = 0;
	memset(dom.shared->evtchn_pending, 0, sizeof(dom.shared->evtchn_pending));
}

static unsigned bind_ipi(unsigned vcpu)
{
	struct evtchn_bind_ipi b = {.vcpu = vcpu};
	assert_int_equal(evop(EVTCHNOP_bind_ipi, &b), 0);
	assert_true(b.port > 0 && b.port < 4096);
	return b.port;
}

static unsigned bind_virq(unsigned virq, unsigned vcpu)
{
	struct evtchn_bind_virq b = {.virq = virq, .vcpu = vcpu};
	assert_int_equal(evop(EVTCHNOP_bind_virq, &b), 0);
	return b.port;
}

static long send(unsigned port)
{
	struct evtchn_send s = {.port = port};
	return evop(EVTCHNOP_send, &s);
}

static long unmask(unsigned port)
{
	struct evtchn_unmask u = {.port = port};
	return evop(EVTCHNOP_unmask, &u);
}

static long close_port(unsigned port)
{
	struct evtchn_close c = {.port = port};
	return evop(EVTCHNOP_close, &c);
}

static struct evtchn_status status(unsigned port)
{
	struct evtchn_status st = {.dom = DOMID_SELF, .port = port};
	assert_int_equal(evop(EVTCHNOP_status, &st), 0);
	return st;
}

/* What the launcher does (stubabi.h): the bits, then ANY; then the drain
 * the stub does on its way back to the guest. */
static void host_drain(void)
{
	dom.host_pending[XK_HP_ANY] = 1;
	evtchn_drain_host();
}

static void test_prebound_host_ports(void **state)
{
	struct evtchn_status st = status(FAKE_CONSOLE_PORT);
	assert_int_equal(st.status, EVTCHNSTAT_interdomain);
	assert_int_equal(st.u.interdomain.dom, 0);
	st = status(FAKE_STORE_PORT);
	assert_int_equal(st.status, EVTCHNSTAT_interdomain);
	/* The first free port follows them. */
	assert_int_equal(bind_ipi(0), 3);
	st = status(100);
	assert_int_equal(st.status, EVTCHNSTAT_closed);
}

static void test_ipi_send_raises_upcall(void **state)
{
	unsigned p = bind_ipi(0);

	assert_int_equal(send(p), 0);
	assert_true(pending(p));
	assert_true(bit(&vi(0)->evtchn_pending_sel, p / 64));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
	assert_int_equal(fake.doorbell_calls, 0); /* local: no host involvement */
	assert_true(evtchn_port_pending(p));
}

static void test_ipi_to_other_vcpu(void **state)
{
	unsigned p = bind_ipi(1);

	assert_int_equal(send(p), 0);
	assert_true(pending(p));
	assert_int_equal(vi(1)->evtchn_upcall_pending, 1);
	assert_true(bit(&vi(1)->evtchn_pending_sel, p / 64));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
	assert_int_equal(vi(0)->evtchn_pending_sel, 0);
	struct evtchn_status st = status(p);
	assert_int_equal(st.status, EVTCHNSTAT_ipi);
	assert_int_equal(st.vcpu, 1);
}

static void test_masked_port_no_upcall_then_unmask(void **state)
{
	unsigned p = bind_ipi(0);

	mask(p, true);
	assert_int_equal(send(p), 0);
	assert_true(pending(p));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
	assert_int_equal(vi(0)->evtchn_pending_sel, 0);

	assert_int_equal(unmask(p), 0);
	assert_false(bit(dom.shared->evtchn_mask, p));
	assert_true(bit(&vi(0)->evtchn_pending_sel, p / 64));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
}

static void test_unmask_without_pending_is_quiet(void **state)
{
	unsigned p = bind_ipi(0);

	mask(p, true);
	assert_int_equal(unmask(p), 0);
	assert_false(bit(dom.shared->evtchn_mask, p));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
	assert_int_equal(vi(0)->evtchn_pending_sel, 0);
}

static void test_already_pending_not_reraised(void **state)
{
	unsigned p = bind_ipi(0);

	assert_int_equal(send(p), 0);
	/* Guest consumed the selector and the upcall but not the port bit. */
	vi(0)->evtchn_upcall_pending = 0;
	vi(0)->evtchn_pending_sel = 0;
	assert_int_equal(send(p), 0);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
	/* After the guest clears the port, the next send raises again. */
	guest_ack_all(0);
	assert_int_equal(send(p), 0);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
}

static void test_selector_already_set_no_new_upcall(void **state)
{
	unsigned a = bind_ipi(0), b = bind_ipi(0);

	assert_int_equal(a / 64, b / 64);
	assert_int_equal(send(a), 0);
	vi(0)->evtchn_upcall_pending = 0; /* sel still set: guest is mid-scan */
	assert_int_equal(send(b), 0);
	assert_true(pending(b));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
}

static void test_high_port_selector_word(void **state)
{
	unsigned p = 0;

	/* Fill ports up to the second selector word. */
	for (unsigned i = 0; i < 70; i++)
		p = bind_ipi(0);
	assert_int_equal(p, 72);
	assert_int_equal(send(p), 0);
	assert_true(bit(&vi(0)->evtchn_pending_sel, 1));
	assert_false(bit(&vi(0)->evtchn_pending_sel, 0));
}

static void test_virq_bind_and_double_bind(void **state)
{
	unsigned p = bind_virq(VIRQ_TIMER, 0);
	struct evtchn_bind_virq b = {.virq = VIRQ_TIMER, .vcpu = 0};

	assert_int_equal(evop(EVTCHNOP_bind_virq, &b), -EEXIST);
	assert_int_equal(fake_pc(0)->v.virq_to_evtchn[VIRQ_TIMER], p);
	/* Per-vCPU VIRQ: vCPU 1 gets its own port. */
	unsigned p1 = bind_virq(VIRQ_TIMER, 1);
	assert_int_not_equal(p1, p);
	assert_int_equal(fake_pc(1)->v.virq_to_evtchn[VIRQ_TIMER], p1);

	struct evtchn_status st = status(p);
	assert_int_equal(st.status, EVTCHNSTAT_virq);
	assert_int_equal(st.u.virq, VIRQ_TIMER);

	evtchn_send_virq(fake_pc(1), VIRQ_TIMER);
	assert_true(pending(p1));
	assert_false(pending(p));
	assert_int_equal(vi(1)->evtchn_upcall_pending, 1);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
}

static void test_virq_bad_args(void **state)
{
	struct evtchn_bind_virq b = {.virq = NR_VIRQS, .vcpu = 0};
	assert_int_equal(evop(EVTCHNOP_bind_virq, &b), -EINVAL);
	b.virq = VIRQ_TIMER;
	b.vcpu = 2; /* only 2 vCPUs */
	assert_int_equal(evop(EVTCHNOP_bind_virq, &b), -ENOENT);
	b.vcpu = 0xffffffff;
	assert_int_equal(evop(EVTCHNOP_bind_virq, &b), -ENOENT);
}

static void test_virq_send_is_einval(void **state)
{
	unsigned p = bind_virq(VIRQ_DEBUG, 0);
	assert_int_equal(send(p), -EINVAL);
	assert_false(pending(p));
}

static void test_close_virq_allows_rebind(void **state)
{
	unsigned p = bind_virq(VIRQ_TIMER, 0);

	assert_int_equal(close_port(p), 0);
	assert_int_equal(fake_pc(0)->v.virq_to_evtchn[VIRQ_TIMER], 0);
	assert_int_equal(status(p).status, EVTCHNSTAT_closed);
	/* A VIRQ raised while unbound goes nowhere. */
	evtchn_send_virq(fake_pc(0), VIRQ_TIMER);
	assert_false(pending(p));
	unsigned q = bind_virq(VIRQ_TIMER, 0);
	assert_int_equal(q, p); /* lowest free port reused */
	assert_int_equal(close_port(q), 0);
	assert_int_equal(close_port(q), -EINVAL); /* already free */
}

/* Xen's evtchn_free(): "Clear pending event to avoid unexpected behavior on
 * re-bind".  A stale bit would also swallow the new binding's first event
 * (set_pending sees it already set and raises nothing). */
static void test_close_clears_pending(void **state)
{
	unsigned p = bind_ipi(0);

	mask(p, true);
	assert_int_equal(send(p), 0);
	assert_true(pending(p));
	assert_int_equal(close_port(p), 0);
	assert_false(pending(p));
}

static void test_bad_ports(void **state)
{
	assert_int_equal(send(0), -EINVAL);
	assert_int_equal(send(4096), -EINVAL);
	assert_int_equal(send(0xffffffff), -EINVAL);
	assert_int_equal(send(50), -EINVAL); /* free port */
	assert_int_equal(unmask(0), -EINVAL);
	assert_int_equal(unmask(4096), -EINVAL);
	assert_int_equal(close_port(0), -EINVAL);
	assert_int_equal(close_port(4096), -EINVAL);
	assert_int_equal(close_port(50), -EINVAL);
	struct evtchn_status st = {.dom = DOMID_SELF, .port = 4096};
	assert_int_equal(evop(EVTCHNOP_status, &st), -EINVAL);
	/* Port 0 exists (reserved): Xen reports it closed. */
	st.port = 0;
	assert_int_equal(evop(EVTCHNOP_status, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_closed);
	struct evtchn_bind_vcpu bv = {.port = 50, .vcpu = 0};
	assert_int_equal(evop(EVTCHNOP_bind_vcpu, &bv), -EINVAL);
	assert_false(evtchn_port_pending(4096));
	assert_false(evtchn_port_pending(0xffffffff));
}

static void test_bad_guest_pointers(void **state)
{
	uint64_t bad = FAKE_BAD_VA;
	uint64_t hole = XK_STUB_VA;
	const uint64_t cmds[] = {EVTCHNOP_send,		 EVTCHNOP_bind_virq, EVTCHNOP_bind_ipi,
				 EVTCHNOP_alloc_unbound, EVTCHNOP_close,     EVTCHNOP_unmask,
				 EVTCHNOP_bind_vcpu,	 EVTCHNOP_status};

	for (unsigned i = 0; i < ARRAY_SIZE(cmds); i++) {
		assert_int_equal(do_event_channel_op(fake_pc(0), cmds[i], bad), -EFAULT);
		unsigned copies = fake.raw_copies;
		assert_int_equal(do_event_channel_op(fake_pc(0), cmds[i], hole), -EFAULT);
		/* The hole is refused before any access. */
		assert_int_equal(fake.raw_copies, copies);
	}
	/* Nothing was allocated on the way. */
	assert_int_equal(bind_ipi(0), 3);
}

static void test_alloc_unbound_and_status(void **state)
{
	struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = 0};

	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &a), 0);
	struct evtchn_status st = status(a.port);
	assert_int_equal(st.status, EVTCHNSTAT_unbound);
	assert_int_equal(st.u.unbound.dom, 0);
	/* Its remote end is the launcher's backend (domain 0): a send
	 * rings the doorbell, not a local event. */
	assert_int_equal(send(a.port), 0);
	assert_false(pending(a.port));
	assert_int_equal(fake.doorbell_calls, 1);
	assert_int_equal(fake.doorbell_last, a.port);

	struct evtchn_alloc_unbound self = {.dom = FAKE_DOMID, .remote_dom = DOMID_SELF};
	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &self), 0);
	assert_int_equal(status(self.port).u.unbound.dom, FAKE_DOMID);
	/* Sends on a port unbound to anyone else are dropped, as Xen. */
	assert_int_equal(send(self.port), 0);
	assert_false(pending(self.port));
	assert_int_equal(fake.doorbell_calls, 1);

	struct evtchn_alloc_unbound other = {.dom = 3, .remote_dom = 0};
	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &other), -ESRCH);
	struct evtchn_status so = {.dom = 3, .port = a.port};
	assert_int_equal(evop(EVTCHNOP_status, &so), -ESRCH);
}

static void test_send_to_host_rings_doorbell(void **state)
{
	assert_int_equal(send(FAKE_STORE_PORT), 0);
	assert_int_equal(fake.doorbell_calls, 1);
	assert_int_equal(fake.doorbell_last, FAKE_STORE_PORT);
	assert_true((dom.notify[0] >> FAKE_STORE_PORT) & 1);
	assert_false((dom.notify[0] >> FAKE_CONSOLE_PORT) & 1);
	/* Not a local event. */
	assert_false(pending(FAKE_STORE_PORT));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
}

static void test_drain_host_interdomain_only(void **state)
{
	unsigned ipi = bind_ipi(0);

	dom.host_pending[0] = (1ULL << FAKE_CONSOLE_PORT) | (1ULL << ipi) | (1ULL << 40);
	dom.host_pending[63] = 1ULL << 63; /* port 4095: free */
	host_drain();
	assert_true(pending(FAKE_CONSOLE_PORT));
	assert_false(pending(FAKE_STORE_PORT));
	assert_false(pending(ipi)); /* the host cannot fake local events */
	assert_false(pending(40));
	assert_false(pending(4095));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
	/* The bitmap was consumed. */
	for (unsigned w = 0; w < XK_HOST_PORTS / 64; w++)
		assert_int_equal(dom.host_pending[w], 0);
}

/* Bits without ANY are not looked at (the launcher sets ANY after them);
 * a drain consumes ANY. */
static void test_drain_host_needs_any(void **state)
{
	dom.host_pending[0] = 1ULL << FAKE_CONSOLE_PORT;
	assert_false(evtchn_host_due());
	evtchn_drain_host();
	assert_false(pending(FAKE_CONSOLE_PORT));
	dom.host_pending[XK_HP_ANY] = 1;
	assert_true(evtchn_host_due());
	evtchn_drain_host();
	assert_true(pending(FAKE_CONSOLE_PORT));
	assert_int_equal(dom.host_pending[XK_HP_ANY], 0);
	assert_int_equal(dom.host_pending[0], 0);
	assert_false(evtchn_host_due());
}

/* Halting: IDLE is set for the launcher unless an event is due already. */
static void test_host_idle(void **state)
{
	assert_true(evtchn_host_idle_enter());
	assert_int_equal(dom.host_pending[XK_HP_IDLE], 1);
	evtchn_host_idle_exit();
	assert_int_equal(dom.host_pending[XK_HP_IDLE], 0);
	dom.host_pending[0] = 1ULL << FAKE_STORE_PORT;
	dom.host_pending[XK_HP_ANY] = 1;
	assert_false(evtchn_host_idle_enter());
	assert_int_equal(dom.host_pending[XK_HP_IDLE], 0);
	assert_int_equal(dom.host_pending[XK_HP_ANY], 1); /* left for the drain */
}

/* A second send before the launcher took the first bit rings no doorbell:
 * the launcher's scan for the first one sees both. */
static void test_send_doorbell_once_per_scan(void **state)
{
	assert_int_equal(send(FAKE_STORE_PORT), 0);
	assert_int_equal(send(FAKE_STORE_PORT), 0);
	assert_int_equal(fake.doorbell_calls, 1);
	assert_int_equal(send(FAKE_CONSOLE_PORT), 0); /* another port: its own */
	assert_int_equal(fake.doorbell_calls, 2);
	dom.notify[0] = 0; /* the launcher's exchange */
	assert_int_equal(send(FAKE_STORE_PORT), 0);
	assert_int_equal(fake.doorbell_calls, 3);
}

/* A frontend's port (alloc_unbound for domain 0, written to xenstore):
 * backend events arrive, and after EVTCHNOP_close neither direction works. */
static void test_frontend_port_to_host_and_close(void **state)
{
	struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = 0};
	struct evtchn_alloc_unbound self = {.dom = DOMID_SELF, .remote_dom = DOMID_SELF};

	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &a), 0);
	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &self), 0);
	dom.host_pending[a.port / 64] |= 1ULL << (a.port % 64);
	dom.host_pending[self.port / 64] |= 1ULL << (self.port % 64);
	host_drain();
	assert_true(pending(a.port));
	assert_false(pending(self.port)); /* not the host's to raise */
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
	guest_ack_all(0);

	assert_int_equal(send(a.port), 0);
	assert_int_equal(fake.doorbell_calls, 1);
	assert_true((dom.notify[a.port / 64] >> (a.port % 64)) & 1);

	assert_int_equal(close_port(a.port), 0);
	assert_int_equal(status(a.port).status, EVTCHNSTAT_closed);
	assert_int_equal(send(a.port), -EINVAL);
	assert_int_equal(fake.doorbell_calls, 1);
	dom.host_pending[a.port / 64] |= 1ULL << (a.port % 64);
	host_drain();
	assert_false(pending(a.port));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
	/* The port is reused by the next allocation. */
	struct evtchn_alloc_unbound b = {.dom = DOMID_SELF, .remote_dom = 0};
	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &b), 0);
	assert_int_equal(b.port, a.port);
}

static void test_drain_host_masked(void **state)
{
	mask(FAKE_STORE_PORT, true);
	dom.host_pending[0] = 1ULL << FAKE_STORE_PORT;
	host_drain();
	assert_true(pending(FAKE_STORE_PORT));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
	assert_int_equal(unmask(FAKE_STORE_PORT), 0);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
}

static unsigned alloc_unbound_self(void)
{
	struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = DOMID_SELF};
	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &a), 0);
	return a.port;
}

static long bind_interdomain(unsigned rdom, unsigned rport, unsigned *local)
{
	struct evtchn_bind_interdomain b = {.remote_dom = rdom, .remote_port = rport};
	long rc = evop(EVTCHNOP_bind_interdomain, &b);
	if (local)
		*local = b.local_port;
	return rc;
}

static void test_bind_vcpu(void **state)
{
	unsigned a = alloc_unbound_self(), p;
	assert_int_equal(bind_interdomain(DOMID_SELF, a, &p), 0);
	guest_ack_all(0);
	struct evtchn_bind_vcpu b = {.port = p, .vcpu = 1};

	assert_int_equal(evop(EVTCHNOP_bind_vcpu, &b), 0);
	assert_int_equal(send(a), 0); /* raises p */
	assert_true(pending(p));
	assert_int_equal(vi(1)->evtchn_upcall_pending, 1);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
	assert_int_equal(status(p).vcpu, 1);

	b.vcpu = 2;
	assert_int_equal(evop(EVTCHNOP_bind_vcpu, &b), -ENOENT);
	unsigned t = bind_virq(VIRQ_TIMER, 0);
	struct evtchn_bind_vcpu bt = {.port = t, .vcpu = 1};
	assert_int_equal(evop(EVTCHNOP_bind_vcpu, &bt), -EINVAL);
	/* Global VIRQs move; IPIs do not (Xen's evtchn_bind_vcpu). */
	unsigned c = bind_virq(VIRQ_CONSOLE, 0);
	struct evtchn_bind_vcpu bc = {.port = c, .vcpu = 1};
	assert_int_equal(evop(EVTCHNOP_bind_vcpu, &bc), 0);
	struct evtchn_bind_vcpu bi = {.port = bind_ipi(0), .vcpu = 1};
	assert_int_equal(evop(EVTCHNOP_bind_vcpu, &bi), -EINVAL);
	/* Unbound ports may move too. */
	struct evtchn_bind_vcpu bu = {.port = alloc_unbound_self(), .vcpu = 1};
	assert_int_equal(evop(EVTCHNOP_bind_vcpu, &bu), 0);
}

/* bind_interdomain with DOMID_SELF: a loopback pair. */
static void test_interdomain_loopback(void **state)
{
	unsigned a = alloc_unbound_self(), b;

	assert_int_equal(bind_interdomain(DOMID_SELF, a, &b), 0);
	assert_int_not_equal(a, b);
	/* Xen raises the new port once (sends to the unbound end were lost). */
	assert_true(pending(b));
	assert_false(pending(a));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
	guest_ack_all(0);

	struct evtchn_status st = status(b);
	assert_int_equal(st.status, EVTCHNSTAT_interdomain);
	assert_int_equal(st.u.interdomain.dom, FAKE_DOMID);
	assert_int_equal(st.u.interdomain.port, a);
	st = status(a);
	assert_int_equal(st.status, EVTCHNSTAT_interdomain);
	assert_int_equal(st.u.interdomain.dom, FAKE_DOMID);
	assert_int_equal(st.u.interdomain.port, b);

	/* Each end raises the other, never the host. */
	assert_int_equal(send(b), 0);
	assert_true(pending(a));
	assert_false(pending(b));
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
	guest_ack_all(0);
	assert_int_equal(send(a), 0);
	assert_true(pending(b));
	assert_false(pending(a));
	assert_int_equal(fake.doorbell_calls, 0);
	guest_ack_all(0);

	/* The host cannot raise loopback ports. */
	dom.host_pending[0] = (1ULL << a) | (1ULL << b);
	host_drain();
	assert_false(pending(a));
	assert_false(pending(b));

	/* Closing one end leaves the other unbound (to ourselves), and
	 * bindable again. */
	assert_int_equal(close_port(a), 0);
	st = status(b);
	assert_int_equal(st.status, EVTCHNSTAT_unbound);
	assert_int_equal(st.u.unbound.dom, FAKE_DOMID);
	assert_int_equal(send(b), 0); /* dropped */
	assert_false(pending(a));
	assert_false(pending(b));
	unsigned c;
	assert_int_equal(bind_interdomain(FAKE_DOMID, b, &c), 0);
	assert_int_equal(status(b).u.interdomain.port, c);
	guest_ack_all(0);
	assert_int_equal(send(c), 0);
	assert_true(pending(b));
}

static void test_interdomain_bad(void **state)
{
	unsigned ipi = bind_ipi(0);
	struct evtchn_alloc_unbound to_host = {.dom = DOMID_SELF, .remote_dom = 0};
	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &to_host), 0);

	/* Not unbound, or not unbound towards us. */
	assert_int_equal(bind_interdomain(DOMID_SELF, ipi, NULL), -EINVAL);
	assert_int_equal(bind_interdomain(DOMID_SELF, to_host.port, NULL), -EINVAL);
	assert_int_equal(bind_interdomain(DOMID_SELF, 100, NULL), -EINVAL);
	assert_int_equal(bind_interdomain(DOMID_SELF, FAKE_STORE_PORT, NULL), -EINVAL);
	assert_int_equal(bind_interdomain(DOMID_SELF, 0, NULL), -EINVAL);
	assert_int_equal(bind_interdomain(DOMID_SELF, 4096, NULL), -EINVAL);
	assert_int_equal(bind_interdomain(DOMID_SELF, 0xffffffff, NULL), -EINVAL);
	/* The host offers no unbound ports; other domains do not exist. */
	assert_int_equal(bind_interdomain(0, FAKE_STORE_PORT, NULL), -EINVAL);
	assert_int_equal(bind_interdomain(0, 5, NULL), -EINVAL);
	assert_int_equal(bind_interdomain(3, 5, NULL), -ESRCH);
	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_bind_interdomain, FAKE_BAD_VA),
			 -EFAULT);
	/* Nothing was allocated on the way. */
	unsigned next = bind_ipi(0);
	assert_int_equal(next, to_host.port + 1);
	/* An end already bound cannot be bound twice. */
	unsigned a = alloc_unbound_self();
	assert_int_equal(bind_interdomain(DOMID_SELF, a, NULL), 0);
	assert_int_equal(bind_interdomain(DOMID_SELF, a, NULL), -EINVAL);
}

static void test_reset(void **state)
{
	unsigned ipi = bind_ipi(0), t = bind_virq(VIRQ_TIMER, 0), a = alloc_unbound_self(), b;
	assert_int_equal(bind_interdomain(DOMID_SELF, a, &b), 0);
	assert_int_equal(send(ipi), 0);

	struct evtchn_reset r = {.dom = DOMID_SELF};
	assert_int_equal(evop(EVTCHNOP_reset, &r), 0);
	assert_int_equal(status(ipi).status, EVTCHNSTAT_closed);
	assert_int_equal(status(t).status, EVTCHNSTAT_closed);
	assert_int_equal(status(a).status, EVTCHNSTAT_closed);
	assert_int_equal(status(b).status, EVTCHNSTAT_closed);
	assert_false(pending(ipi));
	assert_false(pending(b));
	assert_int_equal(fake_pc(0)->v.virq_to_evtchn[VIRQ_TIMER], 0);
	/* The host channels stay. */
	assert_int_equal(status(FAKE_CONSOLE_PORT).status, EVTCHNSTAT_interdomain);
	assert_int_equal(status(FAKE_STORE_PORT).status, EVTCHNSTAT_interdomain);
	assert_int_equal(bind_ipi(0), 3);
	assert_int_equal(bind_virq(VIRQ_TIMER, 0), 4);

	r.dom = FAKE_DOMID;
	assert_int_equal(evop(EVTCHNOP_reset, &r), 0);
	r.dom = 0;
	assert_int_equal(evop(EVTCHNOP_reset, &r), -EPERM);
	r.dom = 3;
	assert_int_equal(evop(EVTCHNOP_reset, &r), -ESRCH);
	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_reset, FAKE_BAD_VA), -EFAULT);
}

static void test_unmask_reraises_on_bound_vcpu(void **state)
{
	unsigned p = bind_ipi(1);

	mask(p, true);
	assert_int_equal(send(p), 0);
	assert_int_equal(vi(1)->evtchn_upcall_pending, 0);
	/* vCPU 0 unmasks a port bound to vCPU 1: vCPU 1 gets the upcall. */
	assert_int_equal(unmask(p), 0);
	assert_int_equal(vi(1)->evtchn_upcall_pending, 1);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
}

/* Xen: global VIRQs bind on vCPU 0 only (evtchn_bind_virq: -EINVAL); the
 * stub's own comment says so, and it only raises them from vCPU 0's table. */
static void test_global_virq_only_on_vcpu0(void **state)
{
	struct evtchn_bind_virq b = {.virq = VIRQ_CONSOLE, .vcpu = 1};
	assert_int_equal(evop(EVTCHNOP_bind_virq, &b), -EINVAL);
	/* Even for a vCPU that does not exist. */
	b.vcpu = 0xffffffff;
	assert_int_equal(evop(EVTCHNOP_bind_virq, &b), -EINVAL);
}

/* A vCPU that exists in the domain but has not run stub_start yet. */
static void test_port_on_vcpu_without_pcpu(void **state)
{
	unsigned p = bind_ipi(0);

	dom.pcpu[1] = NULL;
	mask(p, true);
	assert_int_equal(send(p), 0);
	assert_true(pending(p));
	struct evtchn_bind_vcpu b = {.port = p, .vcpu = 1};
	long rc = evop(EVTCHNOP_bind_vcpu, &b);
	/* Either refuse the move, or keep working after it: never crash. */
	if (rc == 0)
		assert_int_equal(unmask(p), 0);
	else
		assert_int_equal(rc, -ENOENT);
	dom.pcpu[1] = fake_pc(1);
}

static void test_port_exhaustion(void **state)
{
	unsigned n = 0;
	struct evtchn_bind_ipi b = {.vcpu = 0};
	long rc;

	while ((rc = evop(EVTCHNOP_bind_ipi, &b)) == 0)
		n++;
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(n, 4096 - 3); /* ports 3..4095 */
	assert_int_equal(close_port(1000), 0);
	assert_int_equal(evop(EVTCHNOP_bind_ipi, &b), 0);
	assert_int_equal(b.port, 1000);
}

/* FIFO calls while the 2-level ABI is in use (test_evtchn_fifo.c has the
 * rest); unknown and unsupported commands. */
static void test_fifo_ops_before_init_control(void **state)
{
	struct evtchn_expand_array ea = {.array_gfn = 10};
	assert_int_equal(evop(EVTCHNOP_expand_array, &ea), -EOPNOTSUPP);
	struct evtchn_set_priority sp = {.port = FAKE_STORE_PORT, .priority = 3};
	assert_int_equal(evop(EVTCHNOP_set_priority, &sp), -ENOSYS);
	sp.port = 4096;
	assert_int_equal(evop(EVTCHNOP_set_priority, &sp), -EINVAL);
	struct evtchn_bind_pirq bp = {0};
	assert_int_equal(evop(EVTCHNOP_bind_pirq, &bp), -ENOSYS);
	assert_int_equal(evop(999, &ea), -ENOSYS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_prebound_host_ports, setup),
    cmocka_unit_test_setup(test_ipi_send_raises_upcall, setup),
    cmocka_unit_test_setup(test_ipi_to_other_vcpu, setup),
    cmocka_unit_test_setup(test_masked_port_no_upcall_then_unmask, setup),
    cmocka_unit_test_setup(test_unmask_without_pending_is_quiet, setup),
    cmocka_unit_test_setup(test_already_pending_not_reraised, setup),
    cmocka_unit_test_setup(test_selector_already_set_no_new_upcall, setup),
    cmocka_unit_test_setup(test_high_port_selector_word, setup),
    cmocka_unit_test_setup(test_virq_bind_and_double_bind, setup),
    cmocka_unit_test_setup(test_virq_bad_args, setup),
    cmocka_unit_test_setup(test_virq_send_is_einval, setup),
    cmocka_unit_test_setup(test_close_virq_allows_rebind, setup),
    cmocka_unit_test_setup(test_bad_ports, setup),
    cmocka_unit_test_setup(test_bad_guest_pointers, setup),
    cmocka_unit_test_setup(test_alloc_unbound_and_status, setup),
    cmocka_unit_test_setup(test_send_to_host_rings_doorbell, setup),
    cmocka_unit_test_setup(test_drain_host_interdomain_only, setup),
    cmocka_unit_test_setup(test_drain_host_masked, setup),
    cmocka_unit_test_setup(test_frontend_port_to_host_and_close, setup),
    cmocka_unit_test_setup(test_bind_vcpu, setup),
    cmocka_unit_test_setup(test_unmask_reraises_on_bound_vcpu, setup),
    cmocka_unit_test_setup(test_port_exhaustion, setup),
    cmocka_unit_test_setup(test_fifo_ops_before_init_control, setup),
    cmocka_unit_test_setup(test_interdomain_loopback, setup),
    cmocka_unit_test_setup(test_interdomain_bad, setup),
    cmocka_unit_test_setup(test_reset, setup),
    cmocka_unit_test_setup(test_drain_host_needs_any, setup),
    cmocka_unit_test_setup(test_host_idle, setup),
    cmocka_unit_test_setup(test_send_doorbell_once_per_scan, setup),
};

static const struct CMUnitTest bugs[] = {
    cmocka_unit_test_setup(test_close_clears_pending, setup),
    cmocka_unit_test_setup(test_global_virq_only_on_vcpu0, setup),
    cmocka_unit_test_setup(test_port_on_vcpu_without_pcpu, setup),
};

CORE_TEST_MAIN("stubcore-evtchn", tests, bugs)
