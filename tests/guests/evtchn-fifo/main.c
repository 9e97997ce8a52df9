/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * FIFO event channels (pv-abi.md 4, public/event_channel.h): an IPI bound
 * and raised under the 2-level ABI, then EVTCHNOP_init_control and
 * expand_array (the pending event carries over into the new event word),
 * events consumed from the priority queues by our own upcall handler (head
 * from the control block, LINKED and the link cleared on each pop),
 * set_priority order, masking with EVTCHNOP_unmask re-queueing, an
 * interdomain loopback pair (alloc_unbound + bind_interdomain to
 * ourselves), VIRQ_TIMER through the queues, SCHEDOP_poll on a masked FIFO
 * port, and the error answers for bad arguments.
 */
#include "xkg.h"

const char test_title[] = "evtchn-fifo: init_control, expand_array, queues, priorities, masks";

#define MS	  1000000UL
#define NR_WORDS  (XKG_PAGE_SIZE / sizeof(event_word_t))
#define W_PENDING (1u << EVTCHN_FIFO_PENDING)
#define W_MASKED  (1u << EVTCHN_FIFO_MASKED)
#define W_LINKED  (1u << EVTCHN_FIFO_LINKED)
#define W_LINK	  ((event_word_t)EVTCHN_FIFO_LINK_MASK)

static char cb_page[XKG_PAGE_SIZE] __aligned(4096);
static event_word_t array_page[NR_WORDS] __aligned(4096);
static struct evtchn_fifo_control_block *cb;
static struct vcpu_info *vi;

/* What the upcall handler saw. */
static uint32_t local_head[EVTCHN_FIFO_MAX_QUEUES];
static volatile uint32_t seen[64], nr_seen;
static volatile uint32_t count[NR_WORDS];
static volatile unsigned upcalls;

static volatile event_word_t *word(evtchn_port_t p)
{
	return &array_page[p];
}

/* Pop the head of queue prio; *ready loses the bit when the queue ends. */
static void consume(unsigned prio, uint32_t *ready)
{
	uint32_t port = local_head[prio];

	if (!port)
		port = ACCESS_ONCE(cb->head[prio]);
	if (!port || port >= NR_WORDS) {
		xkg_fail("queue %u ready with head %u", prio, port);
		*ready &= ~(1u << prio);
		local_head[prio] = 0;
		return;
	}
	volatile event_word_t *w = word(port);
	event_word_t old = *w, new;
	do {
		new = old & ~(W_LINKED | W_LINK);
	} while (
	    !__atomic_compare_exchange_n(w, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	local_head[prio] = old & W_LINK;
	if (!local_head[prio])
		*ready &= ~(1u << prio);
	if ((old & W_PENDING) && !(old & W_MASKED)) {
		__atomic_fetch_and(w, ~W_PENDING, __ATOMIC_SEQ_CST);
		count[port]++;
		if (nr_seen < ARRAY_SIZE(seen))
			seen[nr_seen] = port;
		nr_seen++;
	}
}

static bool fifo_upcall(struct xkg_regs *r __attribute__((unused)))
{
	uint32_t ready;

	upcalls++;
	do {
		ACCESS_ONCE(vi->evtchn_upcall_pending) = 0;
		ready = __atomic_exchange_n(&cb->ready, 0, __ATOMIC_SEQ_CST);
		while (ready) {
			consume(__builtin_ctz(ready), &ready);
			ready |= __atomic_exchange_n(&cb->ready, 0, __ATOMIC_SEQ_CST);
		}
	} while (ACCESS_ONCE(vi->evtchn_upcall_pending));
	return true;
}

static long evop(int cmd, void *arg)
{
	return HYPERVISOR_event_channel_op(cmd, arg);
}

static long send(evtchn_port_t port)
{
	struct evtchn_send s = {.port = port};

	return evop(EVTCHNOP_send, &s);
}

static long set_priority(evtchn_port_t port, uint32_t prio)
{
	struct evtchn_set_priority sp = {.port = port, .priority = prio};

	return evop(EVTCHNOP_set_priority, &sp);
}

/* Linux's unmask: clear MASKED unless PENDING is set, in which case the
 * hypervisor must do it (and queue the event). */
static void unmask(evtchn_port_t port)
{
	volatile event_word_t *w = word(port);
	event_word_t old = *w;

	for (;;) {
		if (!(old & W_MASKED))
			return;
		if (old & W_PENDING) {
			struct evtchn_unmask u = {.port = port};
			CHECK_EQ(evop(EVTCHNOP_unmask, &u), 0, "EVTCHNOP_unmask");
			return;
		}
		if (__atomic_compare_exchange_n(w, &old, old & ~W_MASKED, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return;
	}
}

static void mask(evtchn_port_t port)
{
	__atomic_fetch_or(word(port), W_MASKED, __ATOMIC_SEQ_CST);
}

static evtchn_port_t bind_ipi(void)
{
	struct evtchn_bind_ipi b = {.vcpu = 0};
	long rc = evop(EVTCHNOP_bind_ipi, &b);

	CHECK_EQ(rc, 0, "EVTCHNOP_bind_ipi");
	return rc ? 0 : b.port;
}

static bool init_and_expand(evtchn_port_t pre)
{
	struct evtchn_init_control ic = {
	    .control_gfn = xkg_virt_to_mfn(cb_page), .offset = 0, .vcpu = 0};
	struct evtchn_expand_array ea = {.array_gfn = xkg_virt_to_mfn(array_page)};
	long rc;

	/* Bad arguments first: none of them may switch the ABI. */
	struct evtchn_init_control bad = ic;
	bad.offset = 4;
	CHECK_EQ(evop(EVTCHNOP_init_control, &bad), -XEN_EINVAL, "init_control(offset 4)");
	bad.offset = XKG_PAGE_SIZE - 64;
	CHECK_EQ(evop(EVTCHNOP_init_control, &bad), -XEN_EINVAL, "init_control(crossing page)");
	bad = ic;
	bad.vcpu = 1;
	CHECK_EQ(evop(EVTCHNOP_init_control, &bad), -XEN_ENOENT, "init_control(vCPU 1)");
	bad = ic;
	bad.control_gfn = 1UL << 40;
	CHECK_EQ(evop(EVTCHNOP_init_control, &bad), -XEN_EINVAL, "init_control(gfn 2^40)");
	CHECK_EQ(evop(EVTCHNOP_init_control, (void *)XKG_UNMAPPED_VA), -XEN_EFAULT,
		 "init_control(unmapped argument)");
	CHECK_EQ(evop(EVTCHNOP_expand_array, &ea), -XEN_EOPNOTSUPP,
		 "expand_array before init_control");
	CHECK_EQ(set_priority(pre, 3), -XEN_ENOSYS, "set_priority under the 2-level ABI");

	memset(cb_page, 0, sizeof(cb_page));
	rc = evop(EVTCHNOP_init_control, &ic);
	if (rc) {
		xkg_fail("EVTCHNOP_init_control(mfn %#lx) = %ld", (unsigned long)ic.control_gfn,
			 rc);
		return false;
	}
	CHECK_EQ(ic.link_bits, EVTCHN_FIFO_LINK_BITS, "init_control link_bits");
	cb = (struct evtchn_fifo_control_block *)cb_page;
	CHECK_EQ(evop(EVTCHNOP_init_control, &ic), -XEN_EINVAL, "second init_control");

	/* Linux starts every event word masked. */
	for (unsigned i = 0; i < NR_WORDS; i++)
		array_page[i] = W_MASKED;
	struct evtchn_expand_array bad_ea = {.array_gfn = 1UL << 40};
	CHECK_EQ(evop(EVTCHNOP_expand_array, &bad_ea), -XEN_EINVAL, "expand_array(gfn 2^40)");
	rc = evop(EVTCHNOP_expand_array, &ea);
	if (rc) {
		xkg_fail("EVTCHNOP_expand_array = %ld", rc);
		return false;
	}
	printf("fifo: control block mfn %#lx, event array mfn %#lx\n",
	       (unsigned long)ic.control_gfn, (unsigned long)ea.array_gfn);
	return true;
}

static void check_order(const char *what, const evtchn_port_t *want, unsigned n)
{
	CHECK_EQ(nr_seen, n, what);
	for (unsigned i = 0; i < n && i < nr_seen; i++)
		if (seen[i] != want[i])
			xkg_fail("%s: event %u was port %u, want %u", what, i, seen[i], want[i]);
}

void test_main(void)
{
	evtchn_port_t pre, b, u, l, t;
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
	xkg_evtchn_init(vi, NULL);
	xkg_set_handler(XKG_VEC_EVENT, fifo_upcall);

	/* 1. Raised under the 2-level ABI, events masked. */
	pre = bind_ipi();
	CHECK_EQ(send(pre), 0, "send (2-level)");
	if (!init_and_expand(pre))
		return;
	CHECK_EQ(*word(pre), W_MASKED | W_PENDING, "2-level pending event in its FIFO word");

	/* 2. Unmasking it queues it: the upcall comes on the unmask. */
	xkg_events_enable();
	nr_seen = 0;
	unmask(pre);
	CHECK_EQ(count[pre], 1, "events on the carried-over port");
	CHECK_EQ(*word(pre), 0, "word after the pop");

	/* 3. Send with events enabled: the upcall on return from the send. */
	CHECK_EQ(send(pre), 0, "send (FIFO)");
	CHECK_EQ(count[pre], 2, "events on the IPI port");
	CHECK_EQ(ACCESS_ONCE(cb->ready), 0, "ready bits after the upcall");

	/* 4. Interdomain loopback: alloc_unbound to ourselves, bind it. */
	struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = DOMID_SELF};
	CHECK_EQ(evop(EVTCHNOP_alloc_unbound, &au), 0, "alloc_unbound(self)");
	u = au.port;
	struct evtchn_bind_interdomain bi = {.remote_dom = DOMID_SELF, .remote_port = u};
	CHECK_EQ(evop(EVTCHNOP_bind_interdomain, &bi), 0, "bind_interdomain(self)");
	l = bi.local_port;
	printf("fifo: IPI %u, loopback %u <-> %u\n", pre, u, l);
	struct evtchn_status st = {.dom = DOMID_SELF, .port = l};
	CHECK_EQ(evop(EVTCHNOP_status, &st), 0, "status(loopback)");
	CHECK_EQ(st.status, EVTCHNSTAT_interdomain, "loopback status");
	CHECK_EQ(st.u.interdomain.port, u, "loopback peer port");
	/* The bind raised the new port once (masked: pending only). */
	CHECK_EQ(*word(l), W_MASKED | W_PENDING, "new loopback port after bind");
	unmask(u);
	unmask(l);
	CHECK_EQ(count[l], 1, "bind's event on the loopback port");
	CHECK_EQ(send(u), 0, "send on the loopback");
	CHECK_EQ(count[l], 2, "loopback: events at the other end");
	CHECK_EQ(count[u], 0, "loopback: events at the sending end");
	CHECK_EQ(send(l), 0, "send back");
	CHECK_EQ(count[u], 1, "loopback: events back");

	/* 5. Priorities: three queues, delivered highest (0) first. */
	b = bind_ipi();
	CHECK_EQ(*word(b), W_MASKED, "fresh port's word");
	unmask(b);
	CHECK_EQ(set_priority(pre, 10), 0, "set_priority(10)");
	CHECK_EQ(set_priority(l, 2), 0, "set_priority(2)");
	CHECK_EQ(set_priority(b, 16), -XEN_EINVAL, "set_priority(16)");
	CHECK_EQ(set_priority(4096, 3), -XEN_EINVAL, "set_priority(port 4096)");
	xkg_events_disable();
	nr_seen = 0;
	CHECK_EQ(send(pre), 0, "send prio 10");
	CHECK_EQ(send(b), 0, "send prio 7");
	CHECK_EQ(send(u), 0, "send prio 2 (loopback)");
	CHECK_EQ(send(pre), 0, "send prio 10 again (already queued)");
	CHECK_EQ(ACCESS_ONCE(cb->ready), (1u << 10) | (1u << 7) | (1u << 2), "ready bits");
	CHECK_EQ(cb->head[2], l, "head of queue 2");
	CHECK_EQ(vi->evtchn_upcall_pending, 1, "upcall pending while masked");
	unsigned before = upcalls;
	xkg_events_enable();
	CHECK_EQ(upcalls, before + 1, "one upcall for three queues");
	const evtchn_port_t want[] = {l, b, pre};
	check_order("priority order", want, 3);

	/* 6. Same queue: first in, first out. */
	evtchn_port_t c = bind_ipi();
	unmask(c);
	xkg_events_disable();
	nr_seen = 0;
	CHECK_EQ(send(c), 0, "send c");
	CHECK_EQ(send(b), 0, "send b");
	CHECK_EQ(*word(c) & W_LINK, b, "c links to b");
	xkg_events_enable();
	const evtchn_port_t fifo_order[] = {c, b};
	check_order("FIFO order", fifo_order, 2);

	/* 7. Masked port: pending, not queued; SCHEDOP_poll sees it; the
	 * unmask hypercall queues it. */
	mask(b);
	before = upcalls;
	CHECK_EQ(send(b), 0, "send (masked)");
	CHECK_EQ(upcalls, before, "upcalls for a masked port");
	CHECK_EQ(*word(b), W_MASKED | W_PENDING, "masked port's word");
	struct sched_poll poll = {.nr_ports = 1, .timeout = 0};
	set_xen_guest_handle(poll.ports, &b);
	uint64_t t0 = xkg_system_time(&vi->time);
	CHECK_EQ(HYPERVISOR_sched_op(SCHEDOP_poll, &poll), 0, "SCHEDOP_poll(masked FIFO port)");
	CHECK(xkg_system_time(&vi->time) - t0 < 1000 * MS, "poll of a pending port blocked");
	unmask(b);
	CHECK_EQ(upcalls, before + 1, "upcall after EVTCHNOP_unmask");
	CHECK_EQ(count[b], 3, "events on port b");

	/* 8. VIRQ_TIMER through the queues. */
	struct evtchn_bind_virq bv = {.virq = VIRQ_TIMER, .vcpu = 0};
	CHECK_EQ(evop(EVTCHNOP_bind_virq, &bv), 0, "bind_virq(VIRQ_TIMER)");
	t = bv.port;
	unmask(t);
	CHECK_EQ(set_priority(t, 0), 0, "set_priority(timer, 0)");
	t0 = xkg_system_time(&vi->time);
	CHECK_EQ(HYPERVISOR_set_timer_op(t0 + 5 * MS), 0, "set_timer_op(+5ms)");
	for (int i = 0; i < 100 && !count[t]; i++) {
		CHECK_EQ(HYPERVISOR_sched_op(SCHEDOP_block, NULL), 0, "SCHEDOP_block");
		if (xkg_system_time(&vi->time) - t0 > 5000 * MS)
			break;
	}
	CHECK_EQ(count[t], 1, "timer events through the FIFO queue");
	CHECK(xkg_system_time(&vi->time) - t0 >= 5 * MS, "timer fired early");

	/* 9. Close drops a pending event; bad interdomain binds. */
	mask(c);
	CHECK_EQ(send(c), 0, "send c (masked)");
	struct evtchn_close cl = {.port = c};
	CHECK_EQ(evop(EVTCHNOP_close, &cl), 0, "close");
	CHECK(!(*word(c) & W_PENDING), "closed port still pending (word %#x)", *word(c));
	bi.remote_port = c;
	CHECK_EQ(evop(EVTCHNOP_bind_interdomain, &bi), -XEN_EINVAL, "bind_interdomain(closed)");
	bi.remote_port = u;
	CHECK_EQ(evop(EVTCHNOP_bind_interdomain, &bi), -XEN_EINVAL, "bind_interdomain(bound)");
	bi.remote_dom = 0;
	bi.remote_port = 1;
	CHECK_EQ(evop(EVTCHNOP_bind_interdomain, &bi), -XEN_EINVAL, "bind_interdomain(dom0)");
	xkg_events_disable();
	printf("fifo: %u upcalls, %u events\n", upcalls, nr_seen);
}
