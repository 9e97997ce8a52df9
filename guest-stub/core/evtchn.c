/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event channels (pv-abi.md 4; Xen's common/event_channel.c): the port
 * table and the hypercalls, and the 2-level ABI's port operations.  The
 * FIFO ABI (evtchn_fifo.c) replaces those operations once the guest calls
 * EVTCHNOP_init_control.  Host backends are remote domain 0: the guest's
 * sends ring the launcher's ioeventfd doorbell; the launcher's sends arrive
 * as bits in the host_pending page plus an interrupt, drained here.
 * Interdomain channels with the domain itself (bind_interdomain to
 * DOMID_SELF) are loopbacks: a send raises the peer port.
 *
 * A frontend allocates its port with EVTCHNOP_alloc_unbound(remote_dom 0)
 * and publishes it in xenstore; on Xen the backend then binds it
 * (bind_interdomain).  Here the backend is the launcher, which binds by
 * reading xenstore, so an unbound port whose remote end is domain 0 already
 * carries events both ways (host_bound()).
 */
#include "core.h"
#include "evtchn.h"
#include "platform.h"

#define NR_PORTS   EVTCHN_NR_PORTS /* 2-level: 64 words x 64 bits */
#define ECS_FREE   0
#define ECS_RESVD  1
#define ECS_UNBOUND 2
#define ECS_INTERDOMAIN 3
#define ECS_VIRQ   5
#define ECS_IPI    6

struct evtchn {
	uint8_t state;
	uint8_t vcpu;     /* notify_vcpu_id */
	uint16_t virq;
	uint16_t remote_dom;
	uint32_t remote_port;
};

static struct evtchn chn[NR_PORTS];

/* Events on this port go to / come from the launcher's backends. */
static bool host_bound(const struct evtchn *c)
{
	return (c->state == ECS_INTERDOMAIN || c->state == ECS_UNBOUND) && c->remote_dom == 0;
}

/* Xen's virq_is_global(): these exist once per vCPU. */
static bool virq_is_per_vcpu(uint32_t virq)
{
	return virq == VIRQ_TIMER || virq == VIRQ_DEBUG || virq == VIRQ_XENOPROF ||
	       virq == VIRQ_XENPMU;
}

static bool vcpu_exists(uint32_t vcpu)
{
	return vcpu < dom.nr_vcpus && dom.pcpu[vcpu];
}

static bool test_and_set(volatile uint64_t *word, unsigned bit)
{
	uint8_t old;
	__asm__ volatile("lock btsq %2, %0; setc %1" : "+m"(*word), "=q"(old) : "r"((uint64_t)bit)
			 : "memory");
	return old;
}

static bool test_bit(const volatile uint64_t *word, unsigned bit)
{
	return (READ_ONCE(*word) >> bit) & 1;
}

static void clear_bit(volatile uint64_t *word, unsigned bit)
{
	__asm__ volatile("lock btrq %1, %0" : "+m"(*word) : "r"((uint64_t)bit) : "memory");
}

void evtchn_init(void)
{
	const struct xk_boot_info *bi = dom.bi;

	/* Ports pre-bound to the host backends before boot. */
	if (bi->console_port && bi->console_port < NR_PORTS) {
		chn[bi->console_port].state = ECS_INTERDOMAIN;
		chn[bi->console_port].remote_dom = 0;
	}
	if (bi->store_port && bi->store_port < NR_PORTS) {
		chn[bi->store_port].state = ECS_INTERDOMAIN;
		chn[bi->store_port].remote_dom = 0;
	}
}

void evtchn_kick_vcpu(unsigned vcpu)
{
	struct pcpu *target = vcpu < dom.nr_vcpus ? dom.pcpu[vcpu] : NULL;

	if (!target || target == this_pcpu())
		return;
	/* Cross-vCPU wake-ups arrive with SMP support. */
}

void vcpu_mark_events_pending(struct vcpu *v)
{
	WRITE_ONCE(v->vi->evtchn_upcall_pending, 1);
}

/* ---- 2-level ABI: shared_info bitmaps (Xen's event_2l.c semantics) ---- */

static void l2_set_pending(unsigned port, unsigned vcpu)
{
	struct shared_info *s = dom.shared;
	struct vcpu *v = &dom.pcpu[vcpu]->v;

	if (test_and_set((volatile uint64_t *)&s->evtchn_pending[port / 64], port % 64))
		return;
	if (!test_bit((volatile uint64_t *)&s->evtchn_mask[port / 64], port % 64) &&
	    !test_and_set((volatile uint64_t *)&v->vi->evtchn_pending_sel, port / 64)) {
		vcpu_mark_events_pending(v);
		evtchn_kick_vcpu(vcpu);
	}
}

static void l2_clear_pending(unsigned port)
{
	clear_bit((volatile uint64_t *)&dom.shared->evtchn_pending[port / 64], port % 64);
}

static void l2_unmask(unsigned port, unsigned vcpu)
{
	struct shared_info *s = dom.shared;
	struct vcpu *v = &dom.pcpu[vcpu]->v;

	clear_bit((volatile uint64_t *)&s->evtchn_mask[port / 64], port % 64);
	/* Re-raise a pending event that was masked. */
	if (test_bit((volatile uint64_t *)&s->evtchn_pending[port / 64], port % 64) &&
	    !test_and_set((volatile uint64_t *)&v->vi->evtchn_pending_sel, port / 64))
		vcpu_mark_events_pending(v);
}

static bool l2_is_pending(unsigned port)
{
	return test_bit((volatile uint64_t *)&dom.shared->evtchn_pending[port / 64], port % 64);
}

static bool l2_is_masked(unsigned port)
{
	return test_bit((volatile uint64_t *)&dom.shared->evtchn_mask[port / 64], port % 64);
}

static bool l2_is_busy(unsigned port)
{
	return false;
}

static const struct evtchn_port_ops evtchn_ops_2l = {
    .set_pending = l2_set_pending,
    .clear_pending = l2_clear_pending,
    .unmask = l2_unmask,
    .is_pending = l2_is_pending,
    .is_masked = l2_is_masked,
    .is_busy = l2_is_busy,
};

/* The ABI in use: 2-level until the guest's first init_control. */
static const struct evtchn_port_ops *port_ops = &evtchn_ops_2l;

/* Where a port's events go: its vCPU, or vCPU 0 if that one is not up
 * (-1: not even vCPU 0). */
static int notify_vcpu(unsigned port)
{
	if (vcpu_exists(chn[port].vcpu))
		return chn[port].vcpu;
	return vcpu_exists(0) ? 0 : -1;
}

int evtchn_bound_vcpu(unsigned port)
{
	if (port >= NR_PORTS || chn[port].state == ECS_FREE)
		return -1;
	return notify_vcpu(port);
}

void evtchn_switch_to_fifo(void)
{
	for (unsigned p = 1; p < NR_PORTS; p++)
		if (chn[p].state != ECS_FREE)
			evtchn_fifo_port_init(p, l2_is_pending(p));
	port_ops = &evtchn_ops_fifo;
}

static uint64_t nr_raised;

uint64_t evtchn_raised(void)
{
	return READ_ONCE(nr_raised);
}

void evtchn_set_pending(unsigned port)
{
	int vcpu = notify_vcpu(port);

	nr_raised++;
	if (vcpu >= 0)
		port_ops->set_pending(port, (unsigned)vcpu);
}

bool evtchn_port_pending(unsigned port)
{
	return port < NR_PORTS && port_ops->is_pending(port);
}

void evtchn_send_virq(struct pcpu *pc, unsigned virq)
{
	uint32_t port = pc->v.virq_to_evtchn[virq];

	if (port)
		evtchn_set_pending(port);
}

/* Launcher-side sends: bits the host set in host_pending, announced by
 * its ANY word (stubabi.h). */
void evtchn_drain_host(void)
{
	if (!__atomic_exchange_n(&dom.host_pending[XK_HP_ANY], 0, __ATOMIC_ACQ_REL))
		return;
	for (unsigned w = 0; w < XK_HOST_PORTS / 64; w++) {
		if (!READ_ONCE(dom.host_pending[w]))
			continue;
		uint64_t bits = __atomic_exchange_n(&dom.host_pending[w], 0, __ATOMIC_ACQ_REL);
		while (bits) {
			unsigned b = __builtin_ctzll(bits);
			bits &= bits - 1;
			unsigned port = w * 64 + b;
			if (host_bound(&chn[port]))
				evtchn_set_pending(port);
		}
	}
}

bool evtchn_host_due(void)
{
	return READ_ONCE(dom.host_pending[XK_HP_ANY]) != 0;
}

/* About to halt: tell the launcher to interrupt us for its next event;
 * false if one came meanwhile (drain instead of halting). */
bool evtchn_host_idle_enter(void)
{
	__atomic_store_n(&dom.host_pending[XK_HP_IDLE], 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the launcher's is in notify_guest */
	if (!evtchn_host_due())
		return true;
	evtchn_host_idle_exit();
	return false;
}

void evtchn_host_idle_exit(void)
{
	__atomic_store_n(&dom.host_pending[XK_HP_IDLE], 0, __ATOMIC_RELAXED);
}

static int alloc_port(void)
{
	for (unsigned p = 1; p < NR_PORTS; p++) {
		/* A closed port the guest has not yet popped from a FIFO
		 * queue waits (Xen's get_free_port). */
		if (chn[p].state == ECS_FREE && !port_ops->is_busy(p)) {
			chn[p].state = ECS_RESVD;
			chn[p].vcpu = 0;
			evtchn_fifo_port_init(p, false);
			return (int)p;
		}
	}
	return -ENOSPC;
}

static bool port_valid(uint32_t p)
{
	return p > 0 && p < NR_PORTS;
}

/* A bit that was set already is one the launcher has not taken yet: the
 * doorbell rung for it makes the launcher scan after our bit went in. */
static void notify_host(uint32_t port)
{
	uint64_t bit = 1ULL << (port % 64);

	if (!(__atomic_fetch_or(&dom.notify[port / 64], bit, __ATOMIC_RELEASE) & bit))
		plat_doorbell(port);
}

/* Closing one end of a loopback: the other goes back to unbound, open to
 * a new bind_interdomain (Xen's evtchn_close). */
static void close_peer(const struct evtchn *e)
{
	if (e->state != ECS_INTERDOMAIN || e->remote_dom == 0 || !port_valid(e->remote_port))
		return;
	struct evtchn *peer = &chn[e->remote_port];
	if (peer->state == ECS_INTERDOMAIN && peer->remote_dom == e->remote_dom) {
		peer->state = ECS_UNBOUND;
		peer->remote_port = 0;
	}
}

/*
 * The remote end must be a port unbound towards this domain.  Within the
 * domain (DOMID_SELF) that is a port from alloc_unbound(remote_dom self).
 * Domain 0 stands for the host backends, which offer no unbound ports:
 * the console and xenstore channels exist before boot and frontends
 * allocate theirs with alloc_unbound, so Xen's answer for a remote port
 * that is not unbound for us (-EINVAL) is the only one.
 */
static long bind_interdomain(uint64_t arg)
{
	struct evtchn_bind_interdomain b;
	uint16_t self = (uint16_t)dom.bi->domid;

	if (copy_from_guest(&b, arg, sizeof(b)))
		return -EFAULT;
	if (b.remote_dom == 0)
		return -EINVAL;
	if (b.remote_dom != DOMID_SELF && b.remote_dom != self)
		return -ESRCH;
	if (!port_valid(b.remote_port))
		return -EINVAL;
	struct evtchn *r = &chn[b.remote_port];
	if (r->state != ECS_UNBOUND || r->remote_dom != self)
		return -EINVAL;
	int p = alloc_port();
	if (p < 0)
		return p;
	chn[p].state = ECS_INTERDOMAIN;
	chn[p].remote_dom = self;
	chn[p].remote_port = b.remote_port;
	r->state = ECS_INTERDOMAIN;
	r->remote_port = (uint32_t)p;
	b.local_port = (uint32_t)p;
	/* Sends to the unbound port were dropped: like Xen, raise the new
	 * port once so that nothing waits for a lost notification. */
	evtchn_set_pending((unsigned)p);
	return copy_to_guest(arg, &b, sizeof(b));
}

/*
 * EVTCHNOP_reset: close every channel and go back to the 2-level ABI.
 * Channels to the host backends (host_bound()) stay: their backends hold
 * on to them and nothing would bind them again; their pending state is
 * dropped.
 */
static void evtchn_reset(void)
{
	for (unsigned p = 1; p < NR_PORTS; p++) {
		struct evtchn *e = &chn[p];
		if (e->state == ECS_FREE)
			continue;
		port_ops->clear_pending(p);
		if (host_bound(e))
			continue;
		if (e->state == ECS_VIRQ && vcpu_exists(e->vcpu))
			dom.pcpu[e->vcpu]->v.virq_to_evtchn[e->virq] = 0;
		memset(e, 0, sizeof(*e));
	}
	evtchn_fifo_destroy();
	port_ops = &evtchn_ops_2l;
	/* Bits left from before init_control would swallow first events. */
	memset(dom.shared->evtchn_pending, 0, sizeof(dom.shared->evtchn_pending));
}

long do_event_channel_op(struct pcpu *pc, uint64_t cmd, uint64_t arg)
{
	switch (cmd) {
	case EVTCHNOP_send: {
		struct evtchn_send s;
		if (copy_from_guest(&s, arg, sizeof(s)))
			return -EFAULT;
		if (!port_valid(s.port))
			return -EINVAL;
		struct evtchn *c = &chn[s.port];
		switch (c->state) {
		case ECS_IPI:
			evtchn_set_pending(s.port);
			return 0;
		case ECS_INTERDOMAIN:
		case ECS_UNBOUND:
			if (host_bound(c))
				notify_host(s.port);
			else if (c->state == ECS_INTERDOMAIN) /* loopback: the peer is ours */
				evtchn_set_pending(c->remote_port);
			/* else dropped silently, as Xen does on unbound ports */
			return 0;
		default:
			return -EINVAL;
		}
	}
	case EVTCHNOP_bind_virq: {
		struct evtchn_bind_virq b;
		if (copy_from_guest(&b, arg, sizeof(b)))
			return -EFAULT;
		if (b.virq >= NR_VIRQS)
			return -EINVAL;
		/* Per-vCPU VIRQs (timer, debug) bind on the named vCPU; the
		 * global ones only on vCPU 0 (checked first, as Xen). */
		if (!virq_is_per_vcpu(b.virq) && b.vcpu != 0)
			return -EINVAL;
		if (b.vcpu >= dom.nr_vcpus || !dom.pcpu[b.vcpu])
			return -ENOENT;
		struct vcpu *tv = &dom.pcpu[b.vcpu]->v;
		if (tv->virq_to_evtchn[b.virq])
			return -EEXIST;
		int p = alloc_port();
		if (p < 0)
			return p;
		chn[p].state = ECS_VIRQ;
		chn[p].virq = (uint16_t)b.virq;
		chn[p].vcpu = (uint8_t)b.vcpu;
		tv->virq_to_evtchn[b.virq] = (uint32_t)p;
		b.port = (uint32_t)p;
		return copy_to_guest(arg, &b, sizeof(b));
	}
	case EVTCHNOP_bind_ipi: {
		struct evtchn_bind_ipi b;
		if (copy_from_guest(&b, arg, sizeof(b)))
			return -EFAULT;
		if (!vcpu_exists(b.vcpu))
			return -ENOENT;
		int p = alloc_port();
		if (p < 0)
			return p;
		chn[p].state = ECS_IPI;
		chn[p].vcpu = (uint8_t)b.vcpu;
		b.port = (uint32_t)p;
		return copy_to_guest(arg, &b, sizeof(b));
	}
	case EVTCHNOP_alloc_unbound: {
		struct evtchn_alloc_unbound a;
		if (copy_from_guest(&a, arg, sizeof(a)))
			return -EFAULT;
		if (a.dom != DOMID_SELF && a.dom != dom.bi->domid)
			return -ESRCH;
		int p = alloc_port();
		if (p < 0)
			return p;
		chn[p].state = ECS_UNBOUND;
		chn[p].remote_dom = a.remote_dom == DOMID_SELF ? (uint16_t)dom.bi->domid
								: a.remote_dom;
		a.port = (uint32_t)p;
		return copy_to_guest(arg, &a, sizeof(a));
	}
	case EVTCHNOP_close: {
		struct evtchn_close c;
		if (copy_from_guest(&c, arg, sizeof(c)))
			return -EFAULT;
		if (!port_valid(c.port))
			return -EINVAL;
		struct evtchn *e = &chn[c.port];
		if (e->state == ECS_FREE)
			return -EINVAL;
		if (e->state == ECS_VIRQ && e->vcpu < dom.nr_vcpus && dom.pcpu[e->vcpu])
			dom.pcpu[e->vcpu]->v.virq_to_evtchn[e->virq] = 0;
		close_peer(e);
		memset(e, 0, sizeof(*e));
		/* A stale pending bit would swallow the next binding's first
		 * event (Xen's evtchn_free clears it). */
		port_ops->clear_pending(c.port);
		return 0;
	}
	case EVTCHNOP_unmask: {
		struct evtchn_unmask u;
		if (copy_from_guest(&u, arg, sizeof(u)))
			return -EFAULT;
		if (!port_valid(u.port))
			return -EINVAL;
		int vcpu = notify_vcpu(u.port);
		if (vcpu >= 0)
			port_ops->unmask(u.port, (unsigned)vcpu);
		return 0;
	}
	case EVTCHNOP_bind_vcpu: {
		struct evtchn_bind_vcpu b;
		if (copy_from_guest(&b, arg, sizeof(b)))
			return -EFAULT;
		if (!port_valid(b.port) || chn[b.port].state == ECS_FREE)
			return -EINVAL;
		if (!vcpu_exists(b.vcpu))
			return -ENOENT;
		if (chn[b.port].state == ECS_VIRQ && virq_is_per_vcpu(chn[b.port].virq))
			return -EINVAL; /* per-vCPU VIRQs stay where they are */
		if (chn[b.port].state == ECS_IPI)
			return -EINVAL; /* so do IPIs (Xen: bound at bind_ipi) */
		chn[b.port].vcpu = (uint8_t)b.vcpu;
		return 0;
	}
	case EVTCHNOP_status: {
		struct evtchn_status st;
		if (copy_from_guest(&st, arg, sizeof(st)))
			return -EFAULT;
		if (st.dom != DOMID_SELF && st.dom != dom.bi->domid)
			return -ESRCH;
		/* Port 0 exists, reserved: Xen reports it closed. */
		if (st.port >= NR_PORTS)
			return -EINVAL;
		struct evtchn *e = &chn[st.port];
		st.vcpu = e->vcpu;
		switch (e->state) {
		case ECS_FREE:
		case ECS_RESVD:
			st.status = EVTCHNSTAT_closed;
			break;
		case ECS_UNBOUND:
			st.status = EVTCHNSTAT_unbound;
			st.u.unbound.dom = e->remote_dom;
			break;
		case ECS_INTERDOMAIN:
			st.status = EVTCHNSTAT_interdomain;
			st.u.interdomain.dom = e->remote_dom;
			st.u.interdomain.port = e->remote_port;
			break;
		case ECS_VIRQ:
			st.status = EVTCHNSTAT_virq;
			st.u.virq = e->virq;
			break;
		case ECS_IPI:
			st.status = EVTCHNSTAT_ipi;
			break;
		}
		return copy_to_guest(arg, &st, sizeof(st));
	}
	case EVTCHNOP_bind_interdomain:
		return bind_interdomain(arg);
	case EVTCHNOP_reset: {
		struct evtchn_reset r;
		if (copy_from_guest(&r, arg, sizeof(r)))
			return -EFAULT;
		if (r.dom == 0)
			return -EPERM; /* the host's ports are not ours to close */
		if (r.dom != DOMID_SELF && r.dom != dom.bi->domid)
			return -ESRCH;
		evtchn_reset();
		return 0;
	}
	case EVTCHNOP_init_control:
		return evtchn_fifo_init_control(arg);
	case EVTCHNOP_expand_array:
		return evtchn_fifo_expand_array(arg);
	case EVTCHNOP_set_priority: {
		struct evtchn_set_priority sp;
		if (copy_from_guest(&sp, arg, sizeof(sp)))
			return -EFAULT;
		if (!port_valid(sp.port))
			return -EINVAL;
		return evtchn_fifo_set_priority(sp.port, sp.priority);
	}
	case EVTCHNOP_bind_pirq:
		return -ENOSYS; /* no physical IRQs in a domU */
	}
	return -ENOSYS;
}
