/* SPDX-License-Identifier: GPL-2.0-only */
/* VCPUOP_* (pv-abi.md 2.2 C1, 2.3; Xen's common/domain.c do_vcpu_op). */
#include "core.h"
#include "platform.h"

static long register_vcpu_info(struct pcpu *pc, uint64_t arg)
{
	struct vcpu_register_vcpu_info r;
	struct vcpu *v = &pc->v;

	if (copy_from_guest(&r, arg, sizeof(r)))
		return -EFAULT;
	if (!mfn_is_ram(r.mfn) || r.offset > PAGE_SIZE - sizeof(struct vcpu_info))
		return -EINVAL;
	if (r.offset & 7)
		return -EINVAL;
	struct vcpu_info *nvi = gpa_to_virt((r.mfn << PAGE_SHIFT) + r.offset);
	if (nvi == v->vi)
		return -EINVAL;
	/* The stub writes this frame from now on: it must stay ordinary. */
	if (mm_get_writable(r.mfn))
		return -EINVAL;
	if (v->vi_mfn)
		mm_put_writable(v->vi_mfn);
	v->vi_mfn = r.mfn;
	/* Copy the old contents, then make the guest rescan every word
	 * (Xen's map_vcpu_info). */
	memcpy(nvi, v->vi, sizeof(*nvi));
	nvi->evtchn_pending_sel = ~0UL;
	nvi->evtchn_upcall_pending = 1;
	v->vi = nvi;
	time_update_vcpu(pc);
	return 0;
}

long do_vcpu_op(struct pcpu *pc, uint64_t cmd, uint64_t vcpuid, uint64_t arg)
{
	struct vcpu *v = &pc->v;

	if (vcpuid >= dom.nr_vcpus || !dom.pcpu[vcpuid])
		return -ENOENT;
	struct vcpu *tv = &dom.pcpu[vcpuid]->v;

	switch (cmd) {
	case VCPUOP_is_up:
		return tv->online ? 1 : 0;
	case VCPUOP_register_vcpu_info:
		if (tv != v)
			return -EINVAL; /* other vCPUs register before they come up */
		return register_vcpu_info(pc, arg);
	case VCPUOP_register_runstate_memory_area: {
		struct vcpu_register_runstate_memory_area r;
		if (copy_from_guest(&r, arg, sizeof(r)))
			return -EFAULT;
		uint64_t va = r.addr.p;
		if (va && !guest_va_ok(va, sizeof(struct vcpu_runstate_info)))
			return -EFAULT;
		tv->runstate_va = va;
		if (va && tv == v)
			runstate_set(pc, RUNSTATE_running);
		return 0;
	}
	case VCPUOP_register_vcpu_time_memory_area: {
		struct vcpu_register_time_memory_area r;
		if (copy_from_guest(&r, arg, sizeof(r)))
			return -EFAULT;
		uint64_t va = r.addr.p;
		if (va && !guest_va_ok(va, sizeof(struct vcpu_time_info)))
			return -EFAULT;
		tv->time_area_va = va;
		if (tv == v)
			time_update_vcpu(pc);
		return 0;
	}
	case VCPUOP_get_runstate_info: {
		struct vcpu_runstate_info r = tv->runstate;
		return copy_to_guest(arg, &r, sizeof(r));
	}
	case VCPUOP_set_singleshot_timer: {
		struct vcpu_set_singleshot_timer t;
		if (tv != v)
			return -EINVAL;
		if (copy_from_guest(&t, arg, sizeof(t)))
			return -EFAULT;
		if ((t.flags & VCPU_SSHOTTMR_future) && t.timeout_abs_ns < system_time_ns())
			return -ETIME;
		return do_set_timer_op(pc, t.timeout_abs_ns ? t.timeout_abs_ns : 1);
	}
	case VCPUOP_stop_singleshot_timer:
		if (tv != v)
			return -EINVAL;
		v->singleshot_tsc = 0;
		timer_reprogram(pc);
		return 0;
	case VCPUOP_set_periodic_timer: {
		struct vcpu_set_periodic_timer t;
		if (tv != v)
			return -EINVAL;
		if (copy_from_guest(&t, arg, sizeof(t)))
			return -EFAULT;
		if (t.period_ns < 1000000) /* Xen's minimum: 1 ms */
			return -EINVAL;
		v->periodic_ns = t.period_ns;
		v->periodic_next_tsc = ns_to_tsc(system_time_ns() + t.period_ns);
		timer_reprogram(pc);
		return 0;
	}
	case VCPUOP_stop_periodic_timer:
		if (tv != v)
			return -EINVAL;
		v->periodic_ns = 0;
		v->periodic_next_tsc = 0;
		timer_reprogram(pc);
		return 0;
	case VCPUOP_down: {
		/* The last vCPU going down powers the domain off, as Xen's
		 * do_vcpu_op() (Linux's halt/panic paths rely on it). */
		bool others = false;
		for (unsigned i = 0; i < dom.nr_vcpus; i++)
			if (i != vcpuid && dom.pcpu[i] && dom.pcpu[i]->v.online)
				others = true;
		if (!others)
			domain_shutdown(pc, SHUTDOWN_poweroff);
		return -EINVAL; /* taking one of several down comes with SMP */
	}
	case VCPUOP_initialise:
	case VCPUOP_up:
		/* Secondary vCPUs arrive with SMP support. */
		return -EINVAL;
	case VCPUOP_send_nmi:
		return -ENOSYS;
	}
	return -ENOSYS;
}
