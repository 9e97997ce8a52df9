/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/evtchn_fifo.c: the FIFO event-channel ABI on control blocks and event
 * array pages in fake guest RAM, with a guest-side consumer that pops the
 * queues the way the ABI prescribes (head from the control block, LINKED and
 * the link cleared on each pop, lowest ready priority first).
 */
#include <string.h>

#include "fake.h"
#include "evtchn.h"

#define CB_MFN	  40 /* control block page of vCPU 0 (vCPU 1: CB_MFN + 1) */
#define ARRAY_MFN 48 /* event array pages from here */

#define W_PENDING (1u << EVTCHN_FIFO_PENDING)
#define W_MASKED  (1u << EVTCHN_FIFO_MASKED)
#define W_LINKED  (1u << EVTCHN_FIFO_LINKED)
#define W_BUSY	  (1u << EVTCHN_FIFO_BUSY)
#define W_LINK	  ((uint32_t)EVTCHN_FIFO_LINK_MASK)

static int setup(void **state)
{
	fake_world_init(2, 2100000);
	return 0;
}

static long evop(uint64_t cmd, void *arg)
{
	return do_event_channel_op(fake_pc(0), cmd, gva(arg));
}

static void *page(uint64_t mfn)
{
	return fake_ram() + mfn * 4096;
}

static struct evtchn_fifo_control_block *cb(unsigned vcpu)
{
	return page(CB_MFN + vcpu);
}

static volatile uint32_t *word(unsigned port)
{
	return (volatile uint32_t *)page(ARRAY_MFN + port / 1024) + port % 1024;
}

static struct vcpu_info *vi(unsigned vcpu)
{
	return fake_pc(vcpu)->v.vi;
}

static long init_control(unsigned vcpu, uint64_t mfn, uint32_t offset)
{
	struct evtchn_init_control ic = {.control_gfn = mfn, .offset = offset, .vcpu = vcpu};
	long rc = evop(EVTCHNOP_init_control, &ic);
	if (rc == 0)
		assert_int_equal(ic.link_bits, EVTCHN_FIFO_LINK_BITS);
	return rc;
}

static long expand(uint64_t mfn)
{
	struct evtchn_expand_array ea = {.array_gfn = mfn};
	return evop(EVTCHNOP_expand_array, &ea);
}

static long set_priority(unsigned port, unsigned prio)
{
	struct evtchn_set_priority sp = {.port = port, .priority = prio};
	return evop(EVTCHNOP_set_priority, &sp);
}

static unsigned bind_ipi(unsigned vcpu)
{
	struct evtchn_bind_ipi b = {.vcpu = vcpu};
	assert_int_equal(evop(EVTCHNOP_bind_ipi, &b), 0);
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

/* FIFO on vCPU 0 with one event array page (ports 0..1023), words clear. */
static void fifo_on(void)
{
	assert_int_equal(init_control(0, CB_MFN, 0), 0);
	assert_int_equal(expand(ARRAY_MFN), 0);
}

/* Guest side: the next port of queue prio on vcpu, 0 if it is empty.
 * local_head is the guest's own copy of the head (0: reread the control
 * block), as the ABI allows. */
static uint32_t local_head[2][EVTCHN_FIFO_MAX_QUEUES];

static uint32_t pop(unsigned vcpu, unsigned prio)
{
	uint32_t port = local_head[vcpu][prio];

	if (!port)
		port = __atomic_load_n(&cb(vcpu)->head[prio], __ATOMIC_SEQ_CST);
	if (!port)
		return 0;
	volatile uint32_t *w = word(port);
	uint32_t old = *w, new;
	do {
		new = old & ~(W_LINKED | W_LINK);
	} while (
	    !__atomic_compare_exchange_n(w, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	uint32_t next = old & W_LINK;
	local_head[vcpu][prio] = next;
	if (!next)
		__atomic_fetch_and(&cb(vcpu)->ready, ~(1u << prio), __ATOMIC_SEQ_CST);
	/* Handled: clear PENDING. */
	__atomic_fetch_and(w, ~W_PENDING, __ATOMIC_SEQ_CST);
	return port;
}

/* Everything the guest would handle now, in delivery order. */
static unsigned drain(unsigned vcpu, uint32_t *out, unsigned max)
{
	unsigned n = 0;
	uint32_t ready = __atomic_exchange_n(&cb(vcpu)->ready, 0, __ATOMIC_SEQ_CST);

	vi(vcpu)->evtchn_upcall_pending = 0;
	while (ready) {
		unsigned q = __builtin_ctz(ready);
		uint32_t p = pop(vcpu, q);
		if (p && n < max)
			out[n++] = p;
		if (!local_head[vcpu][q])
			ready &= ~(1u << q);
		ready |= __atomic_exchange_n(&cb(vcpu)->ready, 0, __ATOMIC_SEQ_CST);
	}
	return n;
}

/* What the launcher does (stubabi.h): the bits, then ANY; then the drain
 * the stub does on its way back to the guest. */
static void host_drain(void)
{
	dom.host_pending[XK_HP_ANY] = 1;
	evtchn_drain_host();
}

static void test_init_control(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	assert_false(evtchn_fifo_active());
	assert_int_equal(init_control(0, CB_MFN, 0), 0);
	assert_true(evtchn_fifo_active());
	/* Once per vCPU. */
	assert_int_equal(init_control(0, CB_MFN + 2, 0), -EINVAL);
	/* Another vCPU, at the last offset that fits. */
	assert_int_equal(init_control(1, CB_MFN + 1, 4096 - 72), 0);
}

static void test_init_control_hostile(void **state)
{
	assert_int_equal(init_control(2, CB_MFN, 0), -ENOENT);
	assert_int_equal(init_control(0xffffffff, CB_MFN, 0), -ENOENT);
	assert_int_equal(init_control(0, CB_MFN, 4096 - 72 + 8), -EINVAL);
	assert_int_equal(init_control(0, CB_MFN, 0xfffffff8), -EINVAL);
	assert_int_equal(init_control(0, CB_MFN, 4), -EINVAL);
	/* Not guest RAM: past the end, the stub region, absurd. */
	assert_int_equal(init_control(0, FAKE_NR_PAGES, 0), -EINVAL);
	assert_int_equal(init_control(0, FAKE_SHARED_MFN, 0), -EINVAL);
	assert_int_equal(init_control(0, 1ULL << 52, 0), -EINVAL);
	assert_int_equal(init_control(0, ~0ULL, 0), -EINVAL);
	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_init_control, FAKE_BAD_VA),
			 -EFAULT);
	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_init_control, XK_STUB_VA),
			 -EFAULT);
	/* None of that switched the ABI. */
	assert_false(evtchn_fifo_active());
	assert_int_equal(expand(ARRAY_MFN), -EOPNOTSUPP);
}

/* A frame that is (or becomes) a page table cannot be a control block or
 * an event array page, and vice versa. */
static void test_frames_must_stay_writable(void **state)
{
	struct mmuext_op pin = {.cmd = MMUEXT_PIN_L1_TABLE};

	pin.arg1.mfn = CB_MFN;
	unsigned done = 0;
	assert_int_equal(do_mmuext_op(fake_pc(0), gva(&pin), 1, gva(&done), DOMID_SELF), 0);
	assert_int_equal(init_control(0, CB_MFN, 0), -EINVAL);
	assert_int_equal(init_control(0, CB_MFN + 1, 0), 0);
	pin.arg1.mfn = ARRAY_MFN;
	assert_int_equal(do_mmuext_op(fake_pc(0), gva(&pin), 1, gva(&done), DOMID_SELF), 0);
	assert_int_equal(expand(ARRAY_MFN), -EINVAL);
	assert_int_equal(expand(ARRAY_MFN + 1), 0);
	/* Held writable now: pinning them fails. */
	pin.arg1.mfn = CB_MFN + 1;
	assert_int_not_equal(do_mmuext_op(fake_pc(0), gva(&pin), 1, gva(&done), DOMID_SELF), 0);
	pin.arg1.mfn = ARRAY_MFN + 1;
	assert_int_not_equal(do_mmuext_op(fake_pc(0), gva(&pin), 1, gva(&done), DOMID_SELF), 0);
	/* EVTCHNOP_reset lets go of them. */
	struct evtchn_reset r = {.dom = DOMID_SELF};
	assert_int_equal(evop(EVTCHNOP_reset, &r), 0);
	assert_int_equal(do_mmuext_op(fake_pc(0), gva(&pin), 1, gva(&done), DOMID_SELF), 0);
}

static void test_expand_array_bounds(void **state)
{
	assert_int_equal(init_control(0, CB_MFN, 0), 0);
	assert_int_equal(expand(FAKE_NR_PAGES), -EINVAL);
	assert_int_equal(expand(~0ULL), -EINVAL);
	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_expand_array, FAKE_BAD_VA),
			 -EFAULT);
	/* 4096 ports: four pages, then no more. */
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(expand(ARRAY_MFN + i), 0);
	assert_int_equal(expand(ARRAY_MFN + 4), -ENOSPC);
	/* The last port's word is in the fourth page. */
	unsigned p = 0;
	for (unsigned i = 3; i < 4096; i++)
		p = bind_ipi(0);
	assert_int_equal(p, 4095);
	assert_int_equal(send(4095), 0);
	assert_true(*word(4095) & W_PENDING);
	assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 4095);
}

static void test_queue_links_in_order(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	fifo_on();
	unsigned a = bind_ipi(0), b = bind_ipi(0), c = bind_ipi(0);
	const unsigned q = EVTCHN_FIFO_PRIORITY_DEFAULT;

	assert_int_equal(send(a), 0);
	assert_int_equal(*word(a), W_PENDING | W_LINKED);
	assert_int_equal(cb(0)->head[q], a);
	assert_int_equal(cb(0)->ready, 1u << q);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
	vi(0)->evtchn_upcall_pending = 0;

	assert_int_equal(send(b), 0);
	assert_int_equal(send(c), 0);
	assert_int_equal(*word(a), W_PENDING | W_LINKED | b);
	assert_int_equal(*word(b), W_PENDING | W_LINKED | c);
	assert_int_equal(*word(c), W_PENDING | W_LINKED);
	assert_int_equal(cb(0)->head[q], a); /* appended, head unchanged */
	/* The queue was already ready: no new upcall. */
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);

	/* Already pending and linked: nothing changes. */
	assert_int_equal(send(b), 0);
	assert_int_equal(*word(b), W_PENDING | W_LINKED | c);
	assert_int_equal(*word(c), W_PENDING | W_LINKED);

	uint32_t got[8];
	assert_int_equal(drain(0, got, 8), 3);
	assert_int_equal(got[0], a);
	assert_int_equal(got[1], b);
	assert_int_equal(got[2], c);
	assert_int_equal(*word(a), 0);
	assert_int_equal(*word(c), 0);
	assert_true(evtchn_fifo_active());
	/* No 2-level state was touched. */
	assert_int_equal(dom.shared->evtchn_pending[0], 0);
	assert_int_equal(vi(0)->evtchn_pending_sel, 0);
}

/* The guest consumed the tail: the next event starts the queue afresh at
 * the head (the stub must not link after an unlinked word). */
static void test_queue_restarts_after_drain(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	fifo_on();
	unsigned a = bind_ipi(0), b = bind_ipi(0);
	uint32_t got[4];

	assert_int_equal(send(a), 0);
	assert_int_equal(drain(0, got, 4), 1);
	assert_int_equal(send(b), 0);
	assert_int_equal(*word(a), 0);
	assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], b);
	assert_int_equal(cb(0)->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
	assert_int_equal(drain(0, got, 4), 1);
	assert_int_equal(got[0], b);
	/* The same port again. */
	assert_int_equal(send(b), 0);
	assert_int_equal(drain(0, got, 4), 1);
	assert_int_equal(got[0], b);
}

/* The guest popped the tail but is still handling it (PENDING cleared
 * after the handler): a new event links it again. */
static void test_relink_while_handling(void **state)
{
	fifo_on();
	unsigned a = bind_ipi(0);

	assert_int_equal(send(a), 0);
	*word(a) &= ~(W_LINKED | W_LINK); /* popped, handler running */
	cb(0)->ready = 0;
	assert_int_equal(send(a), 0);
	assert_int_equal(*word(a), W_PENDING | W_LINKED);
	assert_int_equal(cb(0)->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
}

static void test_priorities(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	fifo_on();
	unsigned lo = bind_ipi(0), mid = bind_ipi(0), hi = bind_ipi(0), top = bind_ipi(0);

	assert_int_equal(set_priority(lo, EVTCHN_FIFO_PRIORITY_MIN), 0);
	assert_int_equal(set_priority(hi, 2), 0);
	assert_int_equal(set_priority(top, EVTCHN_FIFO_PRIORITY_MAX), 0);
	assert_int_equal(send(lo), 0);
	assert_int_equal(send(mid), 0);
	assert_int_equal(send(hi), 0);
	assert_int_equal(send(top), 0);
	assert_int_equal(cb(0)->ready, (1u << 15) | (1u << 7) | (1u << 2) | (1u << 0));
	assert_int_equal(cb(0)->head[15], lo);
	assert_int_equal(cb(0)->head[7], mid);
	assert_int_equal(cb(0)->head[2], hi);
	assert_int_equal(cb(0)->head[0], top);
	/* Each queue holds one event: nothing linked across queues. */
	assert_int_equal(*word(top) & W_LINK, 0);
	assert_int_equal(*word(hi) & W_LINK, 0);

	uint32_t got[8];
	assert_int_equal(drain(0, got, 8), 4);
	assert_int_equal(got[0], top);
	assert_int_equal(got[1], hi);
	assert_int_equal(got[2], mid);
	assert_int_equal(got[3], lo);

	/* Bad priorities and ports. */
	assert_int_equal(set_priority(lo, 16), -EINVAL);
	assert_int_equal(set_priority(lo, 0xffffffff), -EINVAL);
	assert_int_equal(set_priority(0, 3), -EINVAL);
	assert_int_equal(set_priority(4096, 3), -EINVAL);
	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_set_priority, FAKE_BAD_VA),
			 -EFAULT);
	/* A new binding starts at the default priority. */
	assert_int_equal(close_port(top), 0);
	assert_int_equal(bind_ipi(0), top);
	assert_int_equal(send(top), 0);
	assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], top);
}

/* A port moved to another queue while it was the tail of the old one: the
 * old queue must not link its next event after it (that would splice the
 * old queue into the new one). */
static void test_priority_change_forgets_old_tail(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	fifo_on();
	unsigned p = bind_ipi(0), q = bind_ipi(0), r = bind_ipi(0);
	uint32_t got[8];

	assert_int_equal(send(p), 0); /* tail of queue 7 */
	assert_int_equal(drain(0, got, 8), 1);
	assert_int_equal(set_priority(p, 2), 0);
	assert_int_equal(send(p), 0); /* now on queue 2 */
	assert_int_equal(set_priority(r, 2), 0);
	assert_int_equal(send(r), 0); /* behind p on queue 2 */
	assert_int_equal(send(q), 0); /* queue 7: must start afresh */
	assert_int_equal(*word(p) & W_LINK, r);
	assert_int_equal(cb(0)->head[7], q);
	assert_int_equal(drain(0, got, 8), 3);
	assert_int_equal(got[0], p);
	assert_int_equal(got[1], r);
	assert_int_equal(got[2], q);
}

static void test_mask_and_unmask_requeues(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	fifo_on();
	unsigned p = bind_ipi(0);

	*word(p) = W_MASKED; /* the guest masks (Linux starts every word masked) */
	assert_int_equal(send(p), 0);
	assert_int_equal(*word(p), W_MASKED | W_PENDING);
	assert_int_equal(cb(0)->ready, 0);
	assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], 0);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
	assert_true(evtchn_port_pending(p)); /* SCHEDOP_poll sees it */

	assert_int_equal(unmask(p), 0);
	assert_int_equal(*word(p), W_PENDING | W_LINKED);
	assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], p);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
	uint32_t got[2];
	assert_int_equal(drain(0, got, 2), 1);
	assert_int_equal(got[0], p);

	/* Unmasking a port that is not pending just clears the mask. */
	*word(p) = W_MASKED;
	assert_int_equal(unmask(p), 0);
	assert_int_equal(*word(p), 0);
	assert_int_equal(cb(0)->ready, 0);
	/* Ports without an event word: nothing to do, no crash. */
	unsigned far = 0;
	for (unsigned i = p + 1; i <= 1024; i++)
		far = bind_ipi(0);
	assert_int_equal(far, 1024);
	assert_int_equal(unmask(far), 0);
	assert_false(evtchn_port_pending(far));
}

/* Events raised before the port's event word exists wait for expand_array
 * (Linux binds console/xenstore ports and then adds the page). */
static void test_pending_before_array_page(void **state)
{
	assert_int_equal(init_control(0, CB_MFN, 0), 0);
	unsigned p = bind_ipi(0);
	assert_int_equal(send(p), 0);
	assert_false(evtchn_port_pending(p));
	assert_int_equal(cb(0)->ready, 0);
	memset(page(ARRAY_MFN), 0, 4096);
	assert_int_equal(expand(ARRAY_MFN), 0);
	assert_int_equal(*word(p), W_PENDING | W_LINKED);
	assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], p);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);
}

/* Events pending in the 2-level bitmaps when the guest switches carry over,
 * masked by Linux's initial words until it unmasks. */
static void test_2level_pending_carried_over(void **state)
{
	dom.host_pending[0] = 1ULL << FAKE_STORE_PORT;
	host_drain();
	assert_true(evtchn_port_pending(FAKE_STORE_PORT));
	vi(0)->evtchn_upcall_pending = 0;

	assert_int_equal(init_control(0, CB_MFN, 0), 0);
	for (unsigned i = 0; i < 1024; i++)
		word(0)[i] = W_MASKED;
	assert_int_equal(expand(ARRAY_MFN), 0);
	assert_int_equal(*word(FAKE_STORE_PORT), W_MASKED | W_PENDING);
	assert_int_equal(*word(FAKE_CONSOLE_PORT), W_MASKED);
	assert_int_equal(unmask(FAKE_STORE_PORT), 0);
	assert_int_equal(*word(FAKE_STORE_PORT), W_PENDING | W_LINKED);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 1);

	/* Host events now go through the FIFO queue. */
	*word(FAKE_CONSOLE_PORT) = 0;
	dom.host_pending[0] = 1ULL << FAKE_CONSOLE_PORT;
	host_drain();
	assert_int_equal(*word(FAKE_STORE_PORT) & W_LINK, FAKE_CONSOLE_PORT);
	/* Sends to the host still ring the doorbell. */
	assert_int_equal(send(FAKE_STORE_PORT), 0);
	assert_int_equal(fake.doorbell_last, FAKE_STORE_PORT);
}

/* A closed port still linked on a queue is not handed out again until the
 * guest has popped it (Xen's get_free_port). */
static void test_linked_port_not_reused(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	fifo_on();
	unsigned a = bind_ipi(0), b;

	assert_int_equal(send(a), 0);
	assert_int_equal(close_port(a), 0);
	assert_int_equal(*word(a), W_LINKED);
	b = bind_ipi(0);
	assert_int_not_equal(b, a);
	uint32_t got[2];
	assert_int_equal(drain(0, got, 2), 1); /* popped (not pending: skipped) */
	assert_int_equal(got[0], a);
	assert_int_equal(*word(a), 0);
	assert_int_equal(close_port(b), 0);
	assert_int_equal(bind_ipi(0), a);
}

static void test_close_clears_pending_word(void **state)
{
	fifo_on();
	unsigned p = bind_ipi(0);

	*word(p) = W_MASKED;
	assert_int_equal(send(p), 0);
	assert_int_equal(close_port(p), 0);
	assert_int_equal(*word(p), W_MASKED);
	assert_false(evtchn_port_pending(p));
}

/* Each vCPU has its own control block and queues; without one, events stay
 * pending in the word (the guest must init_control before unmasking). */
static void test_per_vcpu_queues(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	fifo_on();
	unsigned p1 = bind_ipi(1);

	assert_int_equal(send(p1), 0);
	assert_int_equal(*word(p1), W_PENDING);
	assert_int_equal(vi(1)->evtchn_upcall_pending, 0);

	assert_int_equal(init_control(1, CB_MFN + 1, 0), 0);
	*word(p1) = 0;
	assert_int_equal(send(p1), 0);
	assert_int_equal(cb(1)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], p1);
	assert_int_equal(cb(1)->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
	assert_int_equal(cb(0)->ready, 0);
	assert_int_equal(vi(1)->evtchn_upcall_pending, 1);
	assert_int_equal(vi(0)->evtchn_upcall_pending, 0);
}

static void test_virq_and_loopback(void **state)
{
	memset(local_head, 0, sizeof(local_head));
	fifo_on();
	struct evtchn_bind_virq bv = {.virq = VIRQ_TIMER, .vcpu = 0};
	assert_int_equal(evop(EVTCHNOP_bind_virq, &bv), 0);
	struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = DOMID_SELF};
	assert_int_equal(evop(EVTCHNOP_alloc_unbound, &au), 0);
	struct evtchn_bind_interdomain bi = {.remote_dom = DOMID_SELF, .remote_port = au.port};
	assert_int_equal(evop(EVTCHNOP_bind_interdomain, &bi), 0);
	uint32_t got[4];
	assert_int_equal(drain(0, got, 4), 1); /* bind raises the new port */
	assert_int_equal(got[0], bi.local_port);

	assert_int_equal(set_priority(bv.port, 1), 0);
	assert_int_equal(send(au.port), 0); /* -> local_port, priority 7 */
	evtchn_send_virq(fake_pc(0), VIRQ_TIMER);
	assert_int_equal(drain(0, got, 4), 2);
	assert_int_equal(got[0], bv.port);
	assert_int_equal(got[1], bi.local_port);
}

/* The stub never follows links the guest wrote: garbage in the words only
 * garbles the guest's own queue. */
static void test_hostile_words(void **state)
{
	fifo_on();
	unsigned a = bind_ipi(0), b = bind_ipi(0);

	assert_int_equal(send(a), 0);
	/* The guest points a's link at nonsense and sets every bit of b. */
	*word(a) = W_PENDING | W_LINKED | W_BUSY | W_LINK;
	*word(b) = 0xffffffff & ~W_MASKED & ~W_LINKED & ~W_PENDING;
	assert_int_equal(send(b), 0);
	assert_int_equal(*word(a), W_PENDING | W_LINKED | b); /* BUSY cleared, relinked */
	/* A control block in the last bytes of its page, ports at the end. */
	struct evtchn_reset r = {.dom = DOMID_SELF};
	assert_int_equal(evop(EVTCHNOP_reset, &r), 0);
	assert_false(evtchn_fifo_active());
	assert_int_equal(init_control(0, CB_MFN, 4096 - 72), 0);
	assert_int_equal(expand(ARRAY_MFN), 0);
	unsigned p = bind_ipi(0);
	*word(p) = 0;
	assert_int_equal(send(p), 0);
	struct evtchn_fifo_control_block *c = (void *)((uint8_t *)page(CB_MFN) + 4096 - 72);
	assert_int_equal(c->head[EVTCHN_FIFO_PRIORITY_DEFAULT], p);
}

/* SCHEDOP_poll on a FIFO port: pending (even masked) returns at once. */
static void test_poll_fifo_port(void **state)
{
	fifo_on();
	uint32_t port = bind_ipi(0);
	struct sched_poll sp = {.nr_ports = 1};

	set_xen_guest_handle(sp.ports, &port);
	*word(port) = W_MASKED;
	assert_int_equal(send(port), 0);
	assert_int_equal(do_sched_op(fake_pc(0), SCHEDOP_poll, gva(&sp)), 0);
	assert_int_equal(fake.idle_calls, 0);
}

/* Back to 2-level: reset, then 2-level delivery works and FIFO can be set up
 * again. */
static void test_reset_back_to_2level(void **state)
{
	fifo_on();
	unsigned p = bind_ipi(0);
	struct evtchn_reset r = {.dom = DOMID_SELF};

	assert_int_equal(evop(EVTCHNOP_reset, &r), 0);
	assert_false(evtchn_fifo_active());
	assert_int_equal(set_priority(FAKE_STORE_PORT, 1), -ENOSYS);
	assert_int_equal(bind_ipi(0), p);
	memset(page(ARRAY_MFN), 0, 4096);
	assert_int_equal(send(p), 0);
	assert_true((dom.shared->evtchn_pending[0] >> p) & 1);
	assert_int_equal(*word(p), 0);
	assert_int_equal(init_control(0, CB_MFN, 0), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_init_control, setup),
    cmocka_unit_test_setup(test_init_control_hostile, setup),
    cmocka_unit_test_setup(test_frames_must_stay_writable, setup),
    cmocka_unit_test_setup(test_expand_array_bounds, setup),
    cmocka_unit_test_setup(test_queue_links_in_order, setup),
    cmocka_unit_test_setup(test_queue_restarts_after_drain, setup),
    cmocka_unit_test_setup(test_relink_while_handling, setup),
    cmocka_unit_test_setup(test_priorities, setup),
    cmocka_unit_test_setup(test_priority_change_forgets_old_tail, setup),
    cmocka_unit_test_setup(test_mask_and_unmask_requeues, setup),
    cmocka_unit_test_setup(test_pending_before_array_page, setup),
    cmocka_unit_test_setup(test_2level_pending_carried_over, setup),
    cmocka_unit_test_setup(test_close_clears_pending_word, setup),
    cmocka_unit_test_setup(test_linked_port_not_reused, setup),
    cmocka_unit_test_setup(test_per_vcpu_queues, setup),
    cmocka_unit_test_setup(test_virq_and_loopback, setup),
    cmocka_unit_test_setup(test_hostile_words, setup),
    cmocka_unit_test_setup(test_poll_fifo_port, setup),
    cmocka_unit_test_setup(test_reset_back_to_2level, setup),
};

CORE_TEST_MAIN_NOBUGS("stubcore-evtchn-fifo", tests)
