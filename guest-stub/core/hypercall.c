/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hypercall dispatch (64-bit PV: SYSCALL from guest kernel mode, RAX = number,
 * args RDI RSI RDX R10 R8, result in RAX) and the small hypercalls that need
 * no subsystem of their own.  Numbers absent from the table are answered
 * -ENOSYS and logged once.
 */
#include "core.h"
#include "platform.h"

typedef long (*hypercall_fn)(struct pcpu *pc, uint64_t a1, uint64_t a2, uint64_t a3,
			     uint64_t a4, uint64_t a5);

struct hypercall_desc {
	const char *name;
	hypercall_fn fn;
	bool multicall_ok; /* may appear inside a multicall batch */
};

#define XEN_MAJOR 4
#define XEN_MINOR 17

static long hc_set_trap_table(struct pcpu *pc, uint64_t traps, uint64_t a2, uint64_t a3,
			      uint64_t a4, uint64_t a5)
{
	struct vcpu *v = &pc->v;
	struct trap_info ti;

	if (!traps) {
		memset(v->traps, 0, sizeof(v->traps));
		return 0;
	}
	/* Merges into the virtual IDT until an entry with address 0.  Bounded
	 * so that a looping table cannot hold the vCPU forever. */
	for (unsigned i = 0; i < 4096; i++) {
		if (copy_from_guest(&ti, traps + i * sizeof(ti), sizeof(ti)))
			return -EFAULT;
		if (!ti.address)
			return 0;
		if (!guest_canonical(ti.address))
			return -EINVAL;
		v->traps[ti.vector] = ti;
	}
	return -E2BIG;
}

static long hc_stack_switch(struct pcpu *pc, uint64_t ss, uint64_t sp, uint64_t a3,
			    uint64_t a4, uint64_t a5)
{
	pc->v.kernel_ss = (uint16_t)ss;
	pc->v.kernel_sp = sp;
	return 0;
}

static long hc_fpu_taskswitch(struct pcpu *pc, uint64_t set, uint64_t a2, uint64_t a3,
			      uint64_t a4, uint64_t a5)
{
	/* The guest owns the FPU state of its vCPU; TS only makes its next
	 * FPU instruction raise #NM (bounced to its handler). */
	pc->v.fpu_ts = !!set;
	plat_set_ts(pc->v.fpu_ts);
	return 0;
}

static long hc_set_debugreg(struct pcpu *pc, uint64_t reg, uint64_t val, uint64_t a3,
			    uint64_t a4, uint64_t a5)
{
	if (reg > 7 || reg == 4 || reg == 5)
		return -EINVAL;
	/* Recorded, not armed in hardware: guest breakpoints are not
	 * supported yet (Linux only writes zeros at boot). */
	pc->v.dr[reg] = val;
	return 0;
}

static long hc_get_debugreg(struct pcpu *pc, uint64_t reg, uint64_t a2, uint64_t a3,
			    uint64_t a4, uint64_t a5)
{
	if (reg > 7 || reg == 4 || reg == 5)
		return -EINVAL;
	if (reg == 6)
		return pc->v.dr[6] ? (long)pc->v.dr[6] : 0xffff0ff0;
	if (reg == 7)
		return pc->v.dr[7] ? (long)pc->v.dr[7] : 0x400;
	return (long)pc->v.dr[reg];
}

static long hc_set_gdt(struct pcpu *pc, uint64_t frames, uint64_t entries, uint64_t a3,
		       uint64_t a4, uint64_t a5)
{
	return do_set_gdt(pc, frames, entries);
}

static long hc_update_descriptor(struct pcpu *pc, uint64_t maddr, uint64_t desc, uint64_t a3,
				 uint64_t a4, uint64_t a5)
{
	return do_update_descriptor(pc, maddr, desc);
}

static long hc_xen_version(struct pcpu *pc, uint64_t cmd, uint64_t arg, uint64_t a3,
			   uint64_t a4, uint64_t a5)
{
	switch (cmd) {
	case XENVER_version:
		return (XEN_MAJOR << 16) | XEN_MINOR;
	case XENVER_extraversion: {
		xen_extraversion_t ev = ".0-xenkvm";
		return copy_to_guest(arg, ev, sizeof(ev));
	}
	case XENVER_compile_info: {
		struct xen_compile_info ci;
		memset(&ci, 0, sizeof(ci));
		memcpy(ci.compiler, "gcc", 4);
		memcpy(ci.compile_by, "xenkvm", 7);
		return copy_to_guest(arg, &ci, sizeof(ci));
	}
	case XENVER_capabilities: {
		xen_capabilities_info_t caps;
		memset(caps, 0, sizeof(caps));
		memcpy(caps, "xen-3.0-x86_64", 14);
		return copy_to_guest(arg, caps, sizeof(caps));
	}
	case XENVER_changeset: {
		xen_changeset_info_t cs;
		memset(cs, 0, sizeof(cs));
		memcpy(cs, "xenkvm", 6);
		return copy_to_guest(arg, cs, sizeof(cs));
	}
	case XENVER_platform_parameters: {
		struct xen_platform_parameters pp = {.virt_start = HYPERVISOR_VIRT_START};
		return copy_to_guest(arg, &pp, sizeof(pp));
	}
	case XENVER_get_features: {
		struct xen_feature_info fi;
		if (copy_from_guest(&fi, arg, sizeof(fi)))
			return -EFAULT;
		/* What Xen reports to a 64-bit PV domU; never
		 * auto_translated_physmap (2) or dom0 (11). */
		fi.submap = fi.submap_idx ? 0 :
			    (1u << XENFEAT_mmu_pt_update_preserve_ad) |
				    (1u << XENFEAT_highmem_assist) |
				    (1u << XENFEAT_gnttab_map_avail_bits) |
				    (1u << XENFEAT_memory_op_vnode_supported) |
				    (1u << XENFEAT_direct_mapped);
		return copy_to_guest(arg, &fi, sizeof(fi));
	}
	case XENVER_pagesize:
		return PAGE_SIZE;
	case XENVER_guest_handle: {
		xen_domain_handle_t h;
		memcpy(h, dom.bi->handle, sizeof(h));
		return copy_to_guest(arg, h, sizeof(h));
	}
	case XENVER_commandline:
	case XENVER_build_id:
		return -EPERM; /* as Xen for an unprivileged domain */
	}
	return -ENOSYS;
}

static long hc_console_io(struct pcpu *pc, uint64_t cmd, uint64_t count, uint64_t buf,
			  uint64_t a4, uint64_t a5)
{
	char tmp[512];

	switch (cmd) {
	case CONSOLEIO_write: {
		uint64_t done = 0;
		if (count > (1u << 20))
			return -EINVAL;
		while (done < count) {
			size_t n = count - done > sizeof(tmp) ? sizeof(tmp) : count - done;
			if (copy_from_guest(tmp, buf + done, n))
				return -EFAULT;
			console_write(pc, tmp, n);
			done += n;
		}
		return (long)count;
	}
	case CONSOLEIO_read: {
		if (count > sizeof(tmp))
			count = sizeof(tmp);
		int64_t n = hostcall(pc, XK_HC_CONSOLE_READ, count, NULL, 0);
		if (n < 0 || (uint64_t)n > count)
			return 0;
		if (copy_to_guest(buf, pc->hc->buf, (size_t)n))
			return -EFAULT;
		return n;
	}
	}
	return -ENOSYS;
}

static long hc_vm_assist(struct pcpu *pc, uint64_t cmd, uint64_t type, uint64_t a3,
			 uint64_t a4, uint64_t a5)
{
	/* Accepted types for 64-bit PV (Xen's VM_ASSIST_VALID). */
	const uint64_t valid = (1ULL << VMASST_TYPE_4gb_segments) |
			       (1ULL << VMASST_TYPE_4gb_segments_notify) |
			       (1ULL << VMASST_TYPE_writable_pagetables) |
			       (1ULL << VMASST_TYPE_pae_extended_cr3) |
			       (1ULL << VMASST_TYPE_architectural_iopl) |
			       (1ULL << VMASST_TYPE_runstate_update_flag) |
			       (1ULL << VMASST_TYPE_m2p_strict);

	if (type >= 64 || !(valid & (1ULL << type)))
		return -EINVAL;
	if (cmd == VMASST_CMD_enable)
		dom.vm_assist |= 1ULL << type;
	else if (cmd == VMASST_CMD_disable)
		dom.vm_assist &= ~(1ULL << type);
	else
		return -ENOSYS;
	return 0;
}

static long hc_set_segment_base(struct pcpu *pc, uint64_t which, uint64_t base, uint64_t a3,
				uint64_t a4, uint64_t a5)
{
	struct vcpu *v = &pc->v;

	/* A non-canonical base would fault in the stub's wrmsr. */
	if (!guest_canonical(base))
		return -EINVAL;
	switch (which) {
	case SEGBASE_FS:
		v->fs_base = base;
		plat_set_fs_base(base);
		return 0;
	case SEGBASE_GS_USER:
		v->gs_base_user = base;
		return 0;
	case SEGBASE_GS_KERNEL:
		v->gs_base_kernel = base;
		plat_set_gs_base(base);
		return 0;
	case SEGBASE_GS_USER_SEL: {
		/* Load the user %gs selector; its descriptor gives the user GS
		 * base.  A selector that would fault loads the null selector,
		 * as Xen's fixup does. */
		uint16_t sel = (uint16_t)base;
		if (!desc_selector_base(pc, sel, &v->gs_base_user))
			sel = 0;
		plat_load_gs_selector(sel, v->gs_base_kernel);
		return 0;
	}
	}
	return -EINVAL;
}

static long hc_callback_op(struct pcpu *pc, uint64_t cmd, uint64_t arg, uint64_t a3,
			   uint64_t a4, uint64_t a5)
{
	struct vcpu *v = &pc->v;

	if (cmd == CALLBACKOP_register) {
		struct callback_register cb;
		if (copy_from_guest(&cb, arg, sizeof(cb)))
			return -EFAULT;
		bool mask = cb.flags & CALLBACKF_mask_events;
		if (!guest_canonical(cb.address))
			return -EINVAL;
		switch (cb.type) {
		case CALLBACKTYPE_event:
			v->event_cb = cb.address;
			return 0;
		case CALLBACKTYPE_failsafe:
			v->failsafe_cb = cb.address;
			v->failsafe_mask_events = mask;
			return 0;
		case CALLBACKTYPE_syscall:
			v->syscall_cb = cb.address;
			v->syscall_mask_events = mask;
			return 0;
		case CALLBACKTYPE_syscall32:
			v->syscall32_cb = cb.address;
			v->syscall32_mask_events = mask;
			return 0;
		case CALLBACKTYPE_sysenter:
			v->sysenter_cb = cb.address;
			return 0;
		case CALLBACKTYPE_nmi:
			v->nmi_cb = cb.address;
			return 0;
		}
		return -EINVAL;
	}
	if (cmd == CALLBACKOP_unregister) {
		struct callback_unregister cb;
		if (copy_from_guest(&cb, arg, sizeof(cb)))
			return -EFAULT;
		switch (cb.type) {
		case CALLBACKTYPE_event:
		case CALLBACKTYPE_failsafe:
			return -EINVAL; /* mandatory callbacks, as Xen */
		case CALLBACKTYPE_syscall:
			v->syscall_cb = 0;
			return 0;
		case CALLBACKTYPE_syscall32:
			v->syscall32_cb = 0;
			return 0;
		case CALLBACKTYPE_sysenter:
			v->sysenter_cb = 0;
			return 0;
		case CALLBACKTYPE_nmi:
			v->nmi_cb = 0;
			return 0;
		}
		return -EINVAL;
	}
	return -ENOSYS;
}

static long hc_physdev_op(struct pcpu *pc, uint64_t cmd, uint64_t arg, uint64_t a3,
			  uint64_t a4, uint64_t a5)
{
	if (cmd == PHYSDEVOP_set_iopl) {
		struct physdev_set_iopl si;
		if (copy_from_guest(&si, arg, sizeof(si)))
			return -EFAULT;
		if (si.iopl > 3)
			return -EINVAL;
		pc->v.iopl = (uint8_t)si.iopl;
		return 0;
	}
	/* A domU has no physical devices: pirq_eoi_gmfn and friends are
	 * tolerated failures in Linux. */
	return -ENOSYS;
}

static long hc_iret(struct pcpu *pc, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		    uint64_t a5)
{
	return do_iret(pc);
}

static long hc_sched_op(struct pcpu *pc, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4,
			uint64_t a5)
{
	return do_sched_op(pc, cmd, arg);
}

static long hc_set_timer_op(struct pcpu *pc, uint64_t t, uint64_t a2, uint64_t a3, uint64_t a4,
			    uint64_t a5)
{
	return do_set_timer_op(pc, t);
}

static long hc_vcpu_op(struct pcpu *pc, uint64_t cmd, uint64_t id, uint64_t arg, uint64_t a4,
		       uint64_t a5)
{
	return do_vcpu_op(pc, cmd, id, arg);
}

static long hc_evtchn_op(struct pcpu *pc, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4,
			 uint64_t a5)
{
	return do_event_channel_op(pc, cmd, arg);
}

static long hc_memory_op(struct pcpu *pc, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4,
			 uint64_t a5)
{
	return do_memory_op(pc, cmd, arg);
}

static long hc_update_va_mapping(struct pcpu *pc, uint64_t va, uint64_t val, uint64_t flags,
				 uint64_t a4, uint64_t a5)
{
	return do_update_va_mapping(pc, va, val, flags);
}

static long hc_mmuext_op(struct pcpu *pc, uint64_t ops, uint64_t count, uint64_t pdone,
			 uint64_t dom_, uint64_t a5)
{
	return do_mmuext_op(pc, ops, count, pdone, dom_);
}

static long hc_mmu_update(struct pcpu *pc, uint64_t reqs, uint64_t count, uint64_t pdone,
			  uint64_t dom_, uint64_t a5)
{
	return do_mmu_update(pc, reqs, count, pdone, dom_);
}

static long hc_grant_table_op(struct pcpu *pc, uint64_t cmd, uint64_t uop, uint64_t count,
			      uint64_t a4, uint64_t a5)
{
	return do_grant_table_op(pc, cmd, uop, count);
}

static long hc_multicall(struct pcpu *pc, uint64_t calls, uint64_t nr, uint64_t a3,
			 uint64_t a4, uint64_t a5);

static const struct hypercall_desc hypercall_table[64] = {
	[__HYPERVISOR_set_trap_table] = {"set_trap_table", hc_set_trap_table, true},
	[__HYPERVISOR_mmu_update] = {"mmu_update", hc_mmu_update, true},
	[__HYPERVISOR_set_gdt] = {"set_gdt", hc_set_gdt, true},
	[__HYPERVISOR_stack_switch] = {"stack_switch", hc_stack_switch, true},
	[__HYPERVISOR_fpu_taskswitch] = {"fpu_taskswitch", hc_fpu_taskswitch, true},
	[__HYPERVISOR_set_debugreg] = {"set_debugreg", hc_set_debugreg, true},
	[__HYPERVISOR_get_debugreg] = {"get_debugreg", hc_get_debugreg, true},
	[__HYPERVISOR_update_descriptor] = {"update_descriptor", hc_update_descriptor, true},
	[__HYPERVISOR_memory_op] = {"memory_op", hc_memory_op, true},
	[__HYPERVISOR_multicall] = {"multicall", hc_multicall, false},
	[__HYPERVISOR_update_va_mapping] = {"update_va_mapping", hc_update_va_mapping, true},
	[__HYPERVISOR_set_timer_op] = {"set_timer_op", hc_set_timer_op, true},
	[__HYPERVISOR_xen_version] = {"xen_version", hc_xen_version, true},
	[__HYPERVISOR_console_io] = {"console_io", hc_console_io, true},
	[__HYPERVISOR_vm_assist] = {"vm_assist", hc_vm_assist, true},
	[__HYPERVISOR_iret] = {"iret", hc_iret, false},
	[__HYPERVISOR_vcpu_op] = {"vcpu_op", hc_vcpu_op, true},
	[__HYPERVISOR_set_segment_base] = {"set_segment_base", hc_set_segment_base, true},
	[__HYPERVISOR_mmuext_op] = {"mmuext_op", hc_mmuext_op, true},
	[__HYPERVISOR_sched_op] = {"sched_op", hc_sched_op, false},
	[__HYPERVISOR_callback_op] = {"callback_op", hc_callback_op, true},
	[__HYPERVISOR_event_channel_op] = {"event_channel_op", hc_evtchn_op, true},
	[__HYPERVISOR_physdev_op] = {"physdev_op", hc_physdev_op, true},
	[__HYPERVISOR_grant_table_op] = {"grant_table_op", hc_grant_table_op, true},
	/*
	 * Deliberately absent (-ENOSYS): set_callbacks (32-bit only),
	 * *_compat ops (pre-3.0.2 guests), platform_op/sysctl/domctl/dm_op
	 * (privileged), nmi_op, hvm_op, xsm_op, kexec, tmem, argo, hypfs,
	 * xenoprof; xenpmu_op (Linux tolerates -ENOSYS: no vPMU).
	 */
};

/* Unexpected -ENOSYS calls are logged once each; the deliberate ones Linux
 * probes at every boot (xenpmu_op) start out as already logged. */
static uint64_t enosys_logged[2] = {1ULL << __HYPERVISOR_xenpmu_op};

static long call_one(struct pcpu *pc, uint64_t nr, const uint64_t a[5], bool in_multicall)
{
	const struct hypercall_desc *d = nr < 64 ? &hypercall_table[nr] : NULL;

	if (nr < sizeof(pc->v.stats.nr_hc_op) / sizeof(pc->v.stats.nr_hc_op[0]))
		pc->v.stats.nr_hc_op[nr]++;

	if (!d || !d->fn || (in_multicall && !d->multicall_ok)) {
		if (nr < 128 && !(enosys_logged[nr / 64] & (1ULL << (nr % 64)))) {
			enosys_logged[nr / 64] |= 1ULL << (nr % 64);
			printk("xenkvm stub: hypercall %lu not implemented (-ENOSYS)", nr);
		}
		return -ENOSYS;
	}
	return d->fn(pc, a[0], a[1], a[2], a[3], a[4]);
}

static long hc_multicall(struct pcpu *pc, uint64_t calls, uint64_t nr, uint64_t a3,
			 uint64_t a4, uint64_t a5)
{
	struct multicall_entry mc;

	if (nr > 1024)
		return -EINVAL;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t va = calls + i * sizeof(mc);
		if (copy_from_guest(&mc, va, sizeof(mc)))
			return -EFAULT;
		uint64_t args[5] = {mc.args[0], mc.args[1], mc.args[2], mc.args[3], mc.args[4]};
		mc.result = (uint64_t)call_one(pc, mc.op, args, true);
		if (copy_to_guest(va + offsetof(struct multicall_entry, result), &mc.result,
				  sizeof(mc.result)))
			return -EFAULT;
	}
	return 0;
}

void do_hypercall(struct pcpu *pc, struct cpu_regs *regs)
{
	uint64_t nr = regs->rax;
	uint64_t a[5] = {regs->rdi, regs->rsi, regs->rdx, regs->r10, regs->r8};
	long ret;

	pc->v.nr_hypercalls++;
	ret = call_one(pc, nr, a, false);
	if (unlikely(dom.bi->vcpu0.flags & XK_BOOTF_TRACE_HYPERCALLS)) {
		const char *name = nr < 64 && hypercall_table[nr].name ? hypercall_table[nr].name
								       : "?";
		printk("hypercall %s(%lu)(%lx, %lx, %lx, %lx, %lx) = %ld", name, nr, a[0], a[1],
		       a[2], a[3], a[4], ret == HYPERCALL_IRET_DONE ? 0L : ret);
	}
	if (ret != HYPERCALL_IRET_DONE)
		regs->rax = (uint64_t)ret;
}
