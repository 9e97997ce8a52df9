/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event channels, 2-level ABI (pv-abi.md 4; Xen's common/event_channel.c
 * and event_2l.c).  Host backends are remote domain 0: the guest's sends
 * ring the launcher's ioeventfd doorbell; the launcher's sends arrive as
 * bits in the host_pending page plus an interrupt, drained here.
 *
 * A frontend allocates its port with EVTCHNOP_alloc_unbound(remote_dom 0)
 * and publishes it in xenstore; on Xen the backend then binds it
 * (bind_interdomain).  Here the backend is the launcher, which binds by
 * reading xenstore, so an unbound port whose remote end is domain 0 already
 * carries events both ways (host_bound()).
 */
#include "core.h"
#include "platform.h"

#define NR_PORTS   4096 /* 2-level: 64 words x 64 bits */
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

void evtchn_set_pending(unsigned port)
{
	struct shared_info *s = dom.shared;
	struct evtchn *c = &chn[port];
	unsigned vcpu = vcpu_exists(c->vcpu) ? c->vcpu : 0;
	struct pcpu *target = dom.pcpu[vcpu];
	struct vcpu_info *vi;

	if (!target)
		return;
	vi = target->v.vi;
	if (test_and_set((volatile uint64_t *)&s->evtchn_pending[port / 64], port % 64))
		return;
	if (!test_bit((volatile uint64_t *)&s->evtchn_mask[port / 64], port % 64) &&
	    !test_and_set((volatile uint64_t *)&vi->evtchn_pending_sel, port / 64)) {
		vcpu_mark_events_pending(&target->v);
		evtchn_kick_vcpu(vcpu);
	}
}

bool evtchn_port_pending(unsigned port)
{
	return port < NR_PORTS && test_bit((volatile uint64_t *)&dom.shared->evtchn_pending[port / 64],
					   port % 64);
}

void evtchn_send_virq(struct pcpu *pc, unsigned virq)
{
	uint32_t port = pc->v.virq_to_evtchn[virq];

	if (port)
		evtchn_set_pending(port);
}

/* Launcher-side sends: bits the host set in host_pending. */
void evtchn_drain_host(void)
{
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

static int alloc_port(void)
{
	for (unsigned p = 1; p < NR_PORTS; p++) {
		if (chn[p].state == ECS_FREE) {
			chn[p].state = ECS_RESVD;
			chn[p].vcpu = 0;
			return (int)p;
		}
	}
	return -ENOSPC;
}

static bool port_valid(uint32_t p)
{
	return p > 0 && p < NR_PORTS;
}

static void notify_host(uint32_t port)
{
	__atomic_fetch_or(&dom.notify[port / 64], 1ULL << (port % 64), __ATOMIC_RELEASE);
	plat_doorbell(port);
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
		 * global ones only on vCPU 0. */
		if (b.vcpu >= dom.nr_vcpus || !dom.pcpu[b.vcpu])
			return -ENOENT;
		if (!virq_is_per_vcpu(b.virq) && b.vcpu != 0)
			return -EINVAL;
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
		memset(e, 0, sizeof(*e));
		/* A stale pending bit would swallow the next binding's first
		 * event (Xen's evtchn_free clears it). */
		clear_bit((volatile uint64_t *)&dom.shared->evtchn_pending[c.port / 64], c.port % 64);
		return 0;
	}
	case EVTCHNOP_unmask: {
		struct evtchn_unmask u;
		if (copy_from_guest(&u, arg, sizeof(u)))
			return -EFAULT;
		if (!port_valid(u.port))
			return -EINVAL;
		struct shared_info *s = dom.shared;
		clear_bit((volatile uint64_t *)&s->evtchn_mask[u.port / 64], u.port % 64);
		/* Re-raise a pending event that was masked (event_2l.c). */
		if (test_bit((volatile uint64_t *)&s->evtchn_pending[u.port / 64], u.port % 64)) {
			unsigned vcpu = vcpu_exists(chn[u.port].vcpu) ? chn[u.port].vcpu : 0;
			struct vcpu *tv = &dom.pcpu[vcpu]->v;
			if (!test_and_set((volatile uint64_t *)&tv->vi->evtchn_pending_sel,
					  u.port / 64))
				vcpu_mark_events_pending(tv);
		}
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
		chn[b.port].vcpu = (uint8_t)b.vcpu;
		return 0;
	}
	case EVTCHNOP_status: {
		struct evtchn_status st;
		if (copy_from_guest(&st, arg, sizeof(st)))
			return -EFAULT;
		if (st.dom != DOMID_SELF && st.dom != dom.bi->domid)
			return -ESRCH;
		if (!port_valid(st.port))
			return -EINVAL;
		struct evtchn *e = &chn[st.port];
		st.vcpu = e->vcpu;
		switch (e->state) {
		case ECS_FREE:
			st.status = EVTCHNSTAT_closed;
			break;
		case ECS_RESVD:
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
	case EVTCHNOP_init_control:
	case EVTCHNOP_expand_array:
	case EVTCHNOP_set_priority:
		/* FIFO ABI arrives with the PV MMU/boot issue; Linux falls
		 * back to 2-level on any init_control error. */
		return -ENOSYS;
	case EVTCHNOP_bind_interdomain:
	case EVTCHNOP_bind_pirq:
	case EVTCHNOP_reset:
		return -ENOSYS;
	}
	return -ENOSYS;
}
