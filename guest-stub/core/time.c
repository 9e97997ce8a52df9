/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Time: pvclock in vcpu_info, wallclock in shared_info, the one-shot and
 * periodic timers on the LAPIC TSC-deadline timer, and sched_op
 * (pv-abi.md 3.6, 2.4; Xen's arch/x86/time.c and common/sched/core.c).
 */
#include "core.h"
#include "evtchn.h"
#include "platform.h"

static uint32_t tsc_mul;  /* tsc delta -> ns: (delta << shift) * mul >> 32 */
static int8_t tsc_shift;
static uint64_t ns_to_tsc_mul; /* ns -> tsc: ns * mul >> 32 */
static uint64_t tsc0;          /* TSC at system time 0 */

void time_init(void)
{
	uint64_t hz = dom.bi->tsc_khz * 1000;
	uint64_t tps64 = hz;
	int shift = 0;

	/* Xen's set_time_scale(): normalise to (1e9/2, 1e9] then take the
	 * 32-bit fraction 1e9 / tps. */
	while (tps64 > 2000000000ULL) {
		tps64 >>= 1;
		shift--;
	}
	uint32_t tps32 = (uint32_t)tps64;
	while (tps32 <= 1000000000U) {
		tps32 <<= 1;
		shift++;
	}
	tsc_mul = (uint32_t)((1000000000ULL << 32) / tps32);
	tsc_shift = (int8_t)shift;
	ns_to_tsc_mul = (dom.bi->tsc_khz << 32) / 1000000ULL;
	tsc0 = dom.bi->tsc_at_wallclock;

	struct shared_info *s = dom.shared;
	uint64_t wc = dom.bi->wallclock_ns;
	s->wc_version++;
	smp_wmb();
	s->wc_sec = (uint32_t)(wc / 1000000000ULL);
	s->wc_sec_hi = (uint32_t)((wc / 1000000000ULL) >> 32);
	s->wc_nsec = (uint32_t)(wc % 1000000000ULL);
	smp_wmb();
	s->wc_version++;
}

static uint64_t scale_delta(uint64_t delta)
{
	if (tsc_shift < 0)
		delta >>= -tsc_shift;
	else
		delta <<= tsc_shift;
	return (uint64_t)(((unsigned __int128)delta * tsc_mul) >> 32);
}

uint64_t system_time_ns(void)
{
	uint64_t t = rdtsc();
	return t > tsc0 ? scale_delta(t - tsc0) : 0;
}

/* Saturates: a timeout too far away to represent never fires. */
uint64_t ns_to_tsc(uint64_t ns)
{
	unsigned __int128 t = (((unsigned __int128)ns * ns_to_tsc_mul) >> 32) + tsc0;
	return t > ~0ULL >> 1 ? ~0ULL >> 1 : (uint64_t)t;
}

static void write_time_info(struct vcpu_time_info *t, uint64_t tsc)
{
	t->version++;
	smp_wmb();
	t->tsc_timestamp = tsc;
	t->system_time = tsc > tsc0 ? scale_delta(tsc - tsc0) : 0;
	t->tsc_to_system_mul = tsc_mul;
	t->tsc_shift = tsc_shift;
	t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
	smp_wmb();
	t->version++;
}

void time_update_vcpu(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	uint64_t tsc = rdtsc();

	write_time_info(&v->vi->time, tsc);
	/* vcpu 0's copy in shared_info stays valid for TSC calibration even
	 * after the guest moves its vcpu_info. */
	if (v->id == 0 && v->vi != &dom.shared->vcpu_info[0])
		write_time_info(&dom.shared->vcpu_info[0].time, tsc);
	if (v->time_area_va) {
		struct vcpu_time_info t = v->vi->time;
		if (copy_to_guest(v->time_area_va, &t, sizeof(t)))
			v->time_area_va = 0;
	}
}

void runstate_set(struct pcpu *pc, int state)
{
	struct vcpu *v = &pc->v;
	uint64_t now = system_time_ns();

	if (v->runstate.state >= 0 && v->runstate.state < 4)
		v->runstate.time[v->runstate.state] += now - v->runstate.state_entry_time;
	v->runstate.state = state;
	v->runstate.state_entry_time = now;
	if (v->runstate_va) {
		struct vcpu_runstate_info r = v->runstate;
		if (copy_to_guest(v->runstate_va, &r, sizeof(r)))
			v->runstate_va = 0;
	}
}

void timer_reprogram(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	uint64_t next = v->singleshot_tsc;

	if (v->periodic_next_tsc && (!next || v->periodic_next_tsc < next))
		next = v->periodic_next_tsc;
	/* A poll deadline only needs to wake the vCPU once: never re-arm one
	 * that has passed (it would fire forever). */
	if (v->poll_deadline_tsc && v->poll_deadline_tsc > rdtsc() &&
	    (!next || v->poll_deadline_tsc < next))
		next = v->poll_deadline_tsc;
	plat_arm_timer(next);
}

void timer_softirq(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	uint64_t now = rdtsc();
	bool fire = false;

	if (v->singleshot_tsc && now >= v->singleshot_tsc) {
		v->singleshot_tsc = 0;
		fire = true;
	}
	if (v->periodic_next_tsc && now >= v->periodic_next_tsc) {
		uint64_t period = ns_to_tsc(v->periodic_ns) - tsc0;
		if (!period)
			period = 1;
		/* Skip missed periods in one step (one event, as Xen). */
		v->periodic_next_tsc += ((now - v->periodic_next_tsc) / period + 1) * period;
		fire = true;
	}
	if (fire) {
		time_update_vcpu(pc);
		evtchn_send_virq(pc, VIRQ_TIMER);
	}
	timer_reprogram(pc);
}

long do_set_timer_op(struct pcpu *pc, uint64_t timeout)
{
	struct vcpu *v = &pc->v;

	if (!timeout) {
		v->singleshot_tsc = 0;
	} else {
		uint64_t t = ns_to_tsc(timeout);
		v->singleshot_tsc = t ? t : 1;
		/* In the past: fire now (Xen's set_timer on an expired time). */
		if (timeout <= system_time_ns())
			pc->softirq |= SOFTIRQ_TIMER;
	}
	timer_reprogram(pc);
	return 0;
}

static bool upcall_deliverable(struct vcpu *v)
{
	return READ_ONCE(v->vi->evtchn_upcall_pending) && !READ_ONCE(v->vi->evtchn_upcall_mask);
}

/* Halt until an event is pending for this vCPU (or cond holds). */
static void block_until(struct pcpu *pc, bool (*cond)(struct pcpu *))
{
	struct vcpu *v = &pc->v;

	runstate_set(pc, RUNSTATE_blocked);
	v->blocked = true;
	v->stats.nr_blocks++;
	for (;;) {
		plat_irq_disable();
		uint8_t work = pc->softirq;
		pc->softirq = 0;
		if (work || evtchn_host_due()) {
			plat_irq_enable();
			evtchn_drain_host();
			if (work & SOFTIRQ_TIMER)
				timer_softirq(pc);
			plat_irq_disable();
		}
		if (upcall_deliverable(v) || (cond && cond(pc)) || dom.shutting_down)
			break;
		/* Only vCPU 0 receives the launcher's interrupts (XK_HP_IDLE). */
		bool host_idle = v->id == 0;
		if (!pc->softirq && (!host_idle || evtchn_host_idle_enter())) {
			v->stats.nr_halts++;
			plat_idle();
			if (host_idle)
				evtchn_host_idle_exit();
		}
		plat_irq_enable();
	}
	plat_irq_enable();
	v->blocked = false;
	runstate_set(pc, RUNSTATE_running);
}

/* SCHEDOP_poll of several ports (or none) wakes on any event raised in the
 * domain, as Xen's; poll_port is then POLL_ANY and poll_raised[] holds
 * evtchn_raised() from the start of the poll. */
#define POLL_MAX_PORTS 128 /* Xen's limit */
#define POLL_ANY       0xffffffffU
static uint64_t poll_raised[XK_MAX_VCPUS];

static bool poll_done(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;

	if (v->poll_port == POLL_ANY ? evtchn_raised() != poll_raised[v->id]
				     : evtchn_port_pending(v->poll_port))
		return true;
	return v->poll_deadline_tsc && rdtsc() >= v->poll_deadline_tsc;
}

long do_sched_op(struct pcpu *pc, uint64_t cmd, uint64_t arg)
{
	struct vcpu *v = &pc->v;

	switch (cmd) {
	case SCHEDOP_yield:
		/* The backends run on host threads of their own: nothing to
		 * hand over, but pick up any events they raised. */
		evtchn_drain_host();
		return 0;
	case SCHEDOP_block:
		v->vi->evtchn_upcall_mask = 0;
		block_until(pc, NULL);
		return 0;
	case SCHEDOP_shutdown: {
		struct sched_shutdown s;
		if (copy_from_guest(&s, arg, sizeof(s)))
			return -EFAULT;
		if (s.reason > SHUTDOWN_MAX)
			return -EINVAL;
		domain_shutdown(pc, s.reason);
	}
	case SCHEDOP_poll: {
		/* Xen's do_poll: return at once if an event is deliverable or
		 * a polled port is pending (masked or not); else block until
		 * the port (one polled) or any port (several, or none) is
		 * raised, an event becomes deliverable, or the timeout. */
		struct sched_poll p;
		uint32_t port = 0;
		uint64_t va;
		if (copy_from_guest(&p, arg, sizeof(p)))
			return -EFAULT;
		if (p.nr_ports > POLL_MAX_PORTS)
			return -EINVAL;
		memcpy(&va, &p.ports, sizeof(va));
		if (p.nr_ports && !guest_va_ok(va, p.nr_ports * sizeof(port)))
			return -EFAULT;
		if (upcall_deliverable(v))
			return 0;
		for (unsigned i = 0; i < p.nr_ports; i++) {
			if (copy_from_guest(&port, va + i * sizeof(port), sizeof(port)))
				return -EFAULT;
			if (port >= EVTCHN_NR_PORTS)
				return -EINVAL;
			if (evtchn_port_pending(port))
				return 0;
		}
		v->poll_port = p.nr_ports == 1 ? port : POLL_ANY;
		poll_raised[v->id] = evtchn_raised();
		v->poll_deadline_tsc = p.timeout ? ns_to_tsc(p.timeout) : 0;
		if (!poll_done(pc)) {
			timer_reprogram(pc);
			block_until(pc, poll_done);
		}
		v->poll_deadline_tsc = 0;
		v->poll_port = 0;
		timer_reprogram(pc);
		return 0;
	}
	case SCHEDOP_shutdown_code:
		return 0;
	case SCHEDOP_remote_shutdown:
	case SCHEDOP_watchdog:
	case SCHEDOP_pin_override:
		return -EPERM;
	}
	return -ENOSYS;
}
