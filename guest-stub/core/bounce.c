/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bounce frames, the iret hypercall, guest mode switches and the exit path
 * back into the guest (pv-abi.md 3.1-3.4; Xen's x86_64/entry.S
 * create_bounce_frame and pv/iret.c).
 */
#include "core.h"
#include "platform.h"

#define TBF_ERRCODE 1
#define TBF_MASK    2

void toggle_guest_mode(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;

	/* User code may have loaded %gs from a guest descriptor (32-bit TLS):
	 * keep the base it got.  Only once such a descriptor exists, as the
	 * read costs a trapped rdmsr on PVM. */
	if (!v->in_kernel && dom.desc_bases)
		v->gs_base_user = plat_get_gs_base();
	v->in_kernel = !v->in_kernel;
	/* As Xen: the kernel and user GS bases swap with the mode (Linux PV
	 * never executes swapgs itself). */
	plat_set_gs_base(v->in_kernel ? v->gs_base_kernel : v->gs_base_user);
	/* A ring-1 kernel shares its L4 with user mode (load_guest_cr3). */
	if (!dom.kernel_ring1)
		load_guest_cr3(pc);
}

static void guest_crash(struct pcpu *pc, const char *why)
{
	stub_crash(pc, pc->guest_regs, "xenkvm: guest crashed: %s", why);
}

/* Build a Xen exception frame on the guest kernel stack and point the vCPU
 * at handler, in kernel mode. */
static void create_bounce_frame(struct pcpu *pc, uint64_t handler, unsigned flags, uint64_t err)
{
	struct vcpu *v = &pc->v;
	struct cpu_regs *r = pc->guest_regs;
	uint64_t frame[10], sp, cs_seen, ss_seen;
	unsigned n = 0;
	uint8_t saved_mask = v->vi->evtchn_upcall_mask;

	if (!handler)
		guest_crash(pc, "no handler registered for a trap or callback");

	if (v->in_kernel) {
		sp = r->rsp & ~0xfULL;
		/* The guest kernel sees its CS with RPL 0 (Linux user_mode()). */
		cs_seen = FLAT_KERNEL_CS64 & ~3ULL;
		ss_seen = FLAT_KERNEL_SS64;
	} else {
		/* user mode runs on Linux's user selectors on both platforms */
		cs_seen = r->cs == 0x23 ? 0x23 : 0x33;
		ss_seen = 0x2b;
		toggle_guest_mode(pc);
		sp = v->kernel_sp;
	}

	uint64_t rflags = r->rflags & ~(X86_EFLAGS_IF | X86_EFLAGS_IOPL);
	if (!saved_mask)
		rflags |= X86_EFLAGS_IF;

	frame[n++] = r->rcx;
	frame[n++] = r->r11;
	if (flags & TBF_ERRCODE)
		frame[n++] = err;
	frame[n++] = r->rip;
	frame[n++] = cs_seen | ((uint64_t)saved_mask << 32);
	frame[n++] = rflags;
	frame[n++] = r->rsp;
	frame[n++] = ss_seen;
	sp -= n * 8;
	if (copy_to_guest(sp, frame, n * 8)) {
		stub_crash(pc, r, "xenkvm: guest crashed: cannot write an exception frame at %lx "
				  "(kernel stack not mapped writable)", sp);
	}
	if (flags & TBF_MASK)
		v->vi->evtchn_upcall_mask = 1;
	r->rip = handler;
	r->rsp = sp;
	r->rflags &= ~(X86_EFLAGS_AC | X86_EFLAGS_VM | X86_EFLAGS_RF | X86_EFLAGS_NT |
		       X86_EFLAGS_TF);
	v->nr_bounces++;
}

void inject_exception(struct pcpu *pc, unsigned vector, bool has_err, uint64_t err)
{
	struct vcpu *v = &pc->v;
	const struct trap_info *ti = &v->traps[vector];

	if (!ti->address) {
		char why[96];
		snprintf(why, sizeof(why), "unhandled exception %u (no trap handler registered)",
			 vector);
		guest_crash(pc, why);
	}
	create_bounce_frame(pc, ti->address, (has_err ? TBF_ERRCODE : 0) |
						     ((ti->flags & 4) ? TBF_MASK : 0),
			    err);
}

void inject_soft_int(struct pcpu *pc, unsigned vector)
{
	const struct trap_info *ti = &pc->v.traps[vector];

	create_bounce_frame(pc, ti->address, (ti->flags & 4) ? TBF_MASK : 0, 0);
}

void bounce_syscall(struct pcpu *pc, bool compat)
{
	struct vcpu *v = &pc->v;
	struct cpu_regs *r = pc->guest_regs;
	uint64_t cb = compat ? v->syscall32_cb : v->syscall_cb;

	/* hardware SYSCALL: RCX = return RIP, R11 = RFLAGS; the frame carries
	 * the user context as if the kernel had been interrupted there.  A
	 * compat-mode SYSCALL goes to the syscall32 callback (Xen's
	 * cstar_enter); the guest kernel itself is never in compat mode. */
	r->cs = plat_hw_cs(pc, false, compat);
	r->ss = plat_hw_ss(pc, false);
	if (!cb || (compat && v->in_kernel)) {
		/* No callback: #UD at the syscall instruction (pv-abi.md 3.3). */
		r->rip -= 2;
		inject_exception(pc, 6, false, 0);
		return;
	}
	bool mask = compat ? v->syscall32_mask_events : v->syscall_mask_events;
	create_bounce_frame(pc, cb, mask ? TBF_MASK : 0, 0);
	r->rflags &= ~X86_EFLAGS_DF; /* as SYSCALL's mask would (pv-abi.md 3.3) */
}

/* HYPERVISOR_iret: RSP -> {rax, r11, rcx, flags, rip, cs, rflags, rsp, ss}. */
long do_iret(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	struct cpu_regs *r = pc->guest_regs;
	struct iret_context ic;

	if (copy_from_guest(&ic, r->rsp, sizeof(ic)))
		guest_crash(pc, "iret hypercall with an unreadable frame");
	if (!guest_canonical(ic.rip) || !guest_canonical(ic.rsp))
		guest_crash(pc, "iret hypercall to a non-canonical address");

	if ((ic.cs & 3) == 3) {
		if (!v->cr3_user)
			guest_crash(pc, "iret to user mode without a user page table");
		if (v->in_kernel)
			toggle_guest_mode(pc);
	} else if (!v->in_kernel) {
		guest_crash(pc, "iret to kernel mode from user mode");
	}

	r->rax = ic.rax;
	if (ic.flags & VGCF_in_syscall) {
		/* Returned via SYSRET on Xen: RCX/R11 are clobbered. */
		r->rcx = ic.rip;
		r->r11 = ic.rflags;
	} else {
		r->rcx = ic.rcx;
		r->r11 = ic.r11;
	}
	r->rip = ic.rip;
	r->rsp = ic.rsp;
	r->rflags = (ic.rflags & X86_EFLAGS_ARITH) | X86_EFLAGS_IF;
	v->vi->evtchn_upcall_mask = !(ic.rflags & X86_EFLAGS_IF);
	r->cs = v->in_kernel ? plat_hw_cs(pc, true, false)
			     : plat_hw_cs(pc, false, (ic.cs & 0xfffc) == (FLAT_USER_CS32 & 0xfffc) ||
						      (ic.cs & 0xfffc) == 0x20);
	r->ss = plat_hw_ss(pc, v->in_kernel);
	return HYPERCALL_IRET_DONE;
}

static void deliver_upcall_if_due(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	struct vcpu_info *vi = v->vi;

	if (READ_ONCE(vi->evtchn_upcall_pending) && !READ_ONCE(vi->evtchn_upcall_mask) &&
	    v->event_cb) {
		v->stats.nr_upcalls++;
		create_bounce_frame(pc, v->event_cb, TBF_MASK, 0);
	}
}

__attribute__((noreturn)) void exit_to_guest(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	struct cpu_regs *r = pc->guest_regs;

	for (;;) {
		plat_irq_disable();
		uint8_t work = pc->softirq;
		if (!work)
			break;
		pc->softirq = 0;
		plat_irq_enable();
		if (work & SOFTIRQ_EVENT)
			evtchn_drain_host();
		if (work & SOFTIRQ_TIMER)
			timer_softirq(pc);
	}
	/* Events the launcher raised without an interrupt (stubabi.h). */
	if (evtchn_host_due())
		evtchn_drain_host();
	deliver_upcall_if_due(pc);

	r->cs = plat_hw_cs(pc, v->in_kernel, !v->in_kernel && (r->cs == 0x23));
	r->ss = plat_hw_ss(pc, v->in_kernel);
	r->rflags = (r->rflags & ~X86_EFLAGS_IOPL) | X86_EFLAGS_IF;
	plat_before_enter(pc);
	plat_enter_guest(pc);
}
