/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event channels, FIFO ABI (pv-abi.md 4; public/event_channel.h).
 *
 * The guest owns the memory: one control block per vCPU (ready bitmap and
 * the head of each of the 16 priority queues) and the event array, one
 * 32-bit word per port (PENDING, MASKED, LINKED, BUSY and a 17-bit link to
 * the next port of the queue).  The stub only appends: it links a newly
 * pending, unmasked port after the queue's tail (or makes it the head when
 * the guest has consumed the tail) and sets the queue's ready bit; the
 * guest pops from the head, clearing LINKED as it goes.
 *
 * The stub never follows a link the guest wrote: the tail of each queue is
 * stub state, so a guest that scribbles over its words breaks only its own
 * queues.  PV guests name frames by MFN (control_gfn, array_gfn), and the
 * frames are held as ordinary writable pages (mm_get_writable) for as long
 * as the stub writes them.
 *
 * Concurrency: the stub runs one vCPU, and only one stub path at a time
 * touches this state; the guest's words are still updated with locked
 * operations, as the guest may run on another vCPU once SMP exists (the
 * queue tails will then want a lock).
 */
#include "core.h"
#include "evtchn.h"

#define WORDS_PER_PAGE	(PAGE_SIZE / sizeof(event_word_t))
#define MAX_ARRAY_PAGES (EVTCHN_NR_PORTS / WORDS_PER_PAGE)

#define W_PENDING (1u << EVTCHN_FIFO_PENDING)
#define W_MASKED  (1u << EVTCHN_FIFO_MASKED)
#define W_LINKED  (1u << EVTCHN_FIFO_LINKED)
#define W_BUSY	  (1u << EVTCHN_FIFO_BUSY)
#define W_LINK	  ((event_word_t)EVTCHN_FIFO_LINK_MASK)

_Static_assert(sizeof(struct evtchn_fifo_control_block) == 72, "control block layout");
_Static_assert(EVTCHN_NR_PORTS <= EVTCHN_FIFO_NR_CHANNELS, "ports fit in a link");

struct fifo_vcpu {
	struct evtchn_fifo_control_block *cb; /* NULL until init_control */
	uint64_t cb_mfn;
	uint32_t tail[EVTCHN_FIFO_MAX_QUEUES]; /* last port linked, 0 = none */
};

struct fifo_port {
	uint8_t priority;
	/* The queue this port was last linked on: if it is still that
	 * queue's tail when it is linked again, that queue is empty. */
	uint8_t last_vcpu, last_priority;
	/* Raised while its event word did not exist (expand_array pending). */
	bool pending;
};

static struct {
	bool active;
	unsigned nr_pages;
	event_word_t *page[MAX_ARRAY_PAGES];
	uint64_t page_mfn[MAX_ARRAY_PAGES];
	struct fifo_vcpu vcpu[XK_MAX_VCPUS];
	struct fifo_port port[EVTCHN_NR_PORTS];
} fifo;

static volatile event_word_t *word_of(unsigned port)
{
	if (port >= fifo.nr_pages * WORDS_PER_PAGE)
		return NULL;
	return &fifo.page[port / WORDS_PER_PAGE][port % WORDS_PER_PAGE];
}

static event_word_t word_or(volatile event_word_t *w, event_word_t bits)
{
	return __atomic_fetch_or(w, bits, __ATOMIC_SEQ_CST);
}

static void word_clear(volatile event_word_t *w, event_word_t bits)
{
	__atomic_fetch_and(w, ~bits, __ATOMIC_SEQ_CST);
}

bool evtchn_fifo_active(void)
{
	return fifo.active;
}

/*
 * Make the word w (the queue's tail) link to port, provided it is still
 * LINKED; false means the guest has consumed it, so the queue is empty.
 * The guest may change a LINKED word only by setting or clearing MASKED,
 * clearing PENDING, or clearing LINKED with the link; while it is BUSY the
 * guest does not unmask, so the compare-and-swap settles in a few rounds.
 * A guest that keeps rewriting the word anyway loses the event.
 */
static bool link_tail(volatile event_word_t *w, uint32_t port)
{
	bool busy = false;

	for (unsigned i = 0; i < 6; i++) {
		event_word_t old = READ_ONCE(*w);
		if (!(old & W_LINKED)) {
			if (busy)
				word_clear(w, W_BUSY);
			return false;
		}
		event_word_t new = (old & ~(W_BUSY | W_LINK)) | port;
		if (__atomic_compare_exchange_n(w, &old, new, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return true;
		if (!busy) {
			word_or(w, W_BUSY);
			busy = true;
		}
	}
	word_clear(w, W_BUSY);
	return true;
}

static void fifo_set_pending(unsigned port, unsigned vcpu)
{
	volatile event_word_t *w = word_of(port);
	struct fifo_port *fp = &fifo.port[port];
	struct fifo_vcpu *fv = &fifo.vcpu[vcpu];
	unsigned prio = fp->priority;
	bool linked = true;

	if (!w) {
		/* No event word yet: remembered until expand_array adds it. */
		fp->pending = true;
		return;
	}
	word_or(w, W_PENDING);
	/* No control block on that vCPU: the event stays pending, unqueued
	 * (the guest must not unmask before its init_control). */
	if (!fv->cb)
		return;
	if (!(READ_ONCE(*w) & W_MASKED) && !(word_or(w, W_LINKED) & W_LINKED)) {
		struct fifo_vcpu *ov = &fifo.vcpu[fp->last_vcpu];
		if (ov->tail[fp->last_priority] == port)
			ov->tail[fp->last_priority] = 0;
		fp->last_vcpu = (uint8_t)vcpu;
		fp->last_priority = (uint8_t)prio;
		linked = false;
		if (fv->tail[prio]) {
			volatile event_word_t *tw = word_of(fv->tail[prio]);
			linked = tw && link_tail(tw, port);
		}
		if (!linked)
			__atomic_store_n(&fv->cb->head[prio], port, __ATOMIC_SEQ_CST);
		fv->tail[prio] = port;
	}
	if (!linked &&
	    !(__atomic_fetch_or(&fv->cb->ready, 1u << prio, __ATOMIC_SEQ_CST) & (1u << prio))) {
		vcpu_mark_events_pending(&dom.pcpu[vcpu]->v);
		evtchn_kick_vcpu(vcpu);
	}
}

static void fifo_clear_pending(unsigned port)
{
	volatile event_word_t *w = word_of(port);

	fifo.port[port].pending = false;
	/* A stale LINKED entry stays in the guest's queue; the guest skips
	 * words that are not pending. */
	if (w)
		word_clear(w, W_PENDING);
}

static void fifo_unmask(unsigned port, unsigned vcpu)
{
	volatile event_word_t *w = word_of(port);

	if (!w)
		return;
	word_clear(w, W_MASKED);
	if (READ_ONCE(*w) & W_PENDING)
		fifo_set_pending(port, vcpu);
}

static bool fifo_is_pending(unsigned port)
{
	volatile event_word_t *w = word_of(port);

	return w && (READ_ONCE(*w) & W_PENDING);
}

static bool fifo_is_masked(unsigned port)
{
	volatile event_word_t *w = word_of(port);

	return !w || (READ_ONCE(*w) & W_MASKED);
}

static bool fifo_is_busy(unsigned port)
{
	volatile event_word_t *w = word_of(port);

	return w && (READ_ONCE(*w) & W_LINKED);
}

const struct evtchn_port_ops evtchn_ops_fifo = {
    .set_pending = fifo_set_pending,
    .clear_pending = fifo_clear_pending,
    .unmask = fifo_unmask,
    .is_pending = fifo_is_pending,
    .is_masked = fifo_is_masked,
    .is_busy = fifo_is_busy,
};

void evtchn_fifo_port_init(unsigned port, bool pending)
{
	struct fifo_port *fp = &fifo.port[port];

	fp->priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
	fp->pending = pending;
}

long evtchn_fifo_init_control(uint64_t arg)
{
	struct evtchn_init_control ic;

	if (copy_from_guest(&ic, arg, sizeof(ic)))
		return -EFAULT;
	if (ic.vcpu >= dom.nr_vcpus || !dom.pcpu[ic.vcpu])
		return -ENOENT;
	/* Inside one page, 8-byte aligned. */
	if (ic.offset > PAGE_SIZE - sizeof(struct evtchn_fifo_control_block) || (ic.offset & 7))
		return -EINVAL;
	struct fifo_vcpu *fv = &fifo.vcpu[ic.vcpu];
	if (fv->cb)
		return -EINVAL;
	ic.link_bits = EVTCHN_FIFO_LINK_BITS;
	if (copy_to_guest(arg, &ic, sizeof(ic)))
		return -EFAULT;
	/* Guest RAM, and not a page table or descriptor table (nor one
	 * later while the stub writes it). */
	if (mm_get_writable(ic.control_gfn))
		return -EINVAL;
	fv->cb_mfn = ic.control_gfn;
	fv->cb = gpa_to_virt((ic.control_gfn << PAGE_SHIFT) + ic.offset);
	memset(fv->tail, 0, sizeof(fv->tail));
	if (!fifo.active) {
		fifo.active = true;
		evtchn_switch_to_fifo();
	}
	return 0;
}

long evtchn_fifo_expand_array(uint64_t arg)
{
	struct evtchn_expand_array ea;

	if (copy_from_guest(&ea, arg, sizeof(ea)))
		return -EFAULT;
	if (!fifo.active)
		return -EOPNOTSUPP;
	if (fifo.nr_pages >= MAX_ARRAY_PAGES)
		return -ENOSPC;
	if (mm_get_writable(ea.array_gfn))
		return -EINVAL;
	unsigned first = fifo.nr_pages * WORDS_PER_PAGE;
	fifo.page[fifo.nr_pages] = gpa_to_virt(ea.array_gfn << PAGE_SHIFT);
	fifo.page_mfn[fifo.nr_pages] = ea.array_gfn;
	fifo.nr_pages++;
	/* Events raised while these words did not exist. */
	for (unsigned p = first; p < first + WORDS_PER_PAGE; p++) {
		if (!fifo.port[p].pending)
			continue;
		fifo.port[p].pending = false;
		int vcpu = evtchn_bound_vcpu(p);
		if (vcpu >= 0)
			fifo_set_pending(p, (unsigned)vcpu);
	}
	return 0;
}

long evtchn_fifo_set_priority(unsigned port, uint32_t priority)
{
	if (!fifo.active)
		return -ENOSYS; /* the 2-level ABI has no priorities */
	if (priority > EVTCHN_FIFO_PRIORITY_MIN)
		return -EINVAL;
	/* Future events only: a linked event stays on its queue. */
	fifo.port[port].priority = (uint8_t)priority;
	return 0;
}

void evtchn_fifo_destroy(void)
{
	for (unsigned i = 0; i < XK_MAX_VCPUS; i++)
		if (fifo.vcpu[i].cb)
			mm_put_writable(fifo.vcpu[i].cb_mfn);
	for (unsigned i = 0; i < fifo.nr_pages; i++)
		mm_put_writable(fifo.page_mfn[i]);
	memset(&fifo, 0, sizeof(fifo));
}
