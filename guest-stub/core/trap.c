/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every entry into the stub lands in stub_trap(): hypercalls and guest
 * system calls (SYSCALL), guest exceptions, interrupts, and faults of the
 * stub itself.
 */
#include "core.h"
#include "platform.h"

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void guest_regs_dump(struct pcpu *pc, const struct cpu_regs *r, char *buf, size_t len)
{
	unsigned v = r->vector;
	const char *name = v < 32 && exc_names[v] ? exc_names[v] :
			   v == ENTRY_SYSCALL ? "syscall" : "irq";

	snprintf(buf, len,
		 "vcpu %u (%s mode) vector %u %s err %lx cr2 %lx\n"
		 "rip %016lx rsp %016lx rflags %08lx cs %lx ss %lx\n"
		 "rax %016lx rbx %016lx rcx %016lx rdx %016lx\n"
		 "rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n"
		 "r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n"
		 "r13 %016lx r14 %016lx r15 %016lx\n"
		 "cr3 %016lx kernel_cr3 %016lx user_cr3 %016lx\n",
		 pc->v.id, pc->v.in_kernel ? "kernel" : "user", v, name, r->error_code,
		 v == 14 ? plat_read_cr2(pc) : 0UL, r->rip, r->rsp, r->rflags, r->cs, r->ss,
		 r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->r8, r->r9, r->r10,
		 r->r11, r->r12, r->r13, r->r14, r->r15, plat_read_cr3(), pc->v.cr3_kernel,
		 pc->v.cr3_user);
}

static void handle_interrupt(struct pcpu *pc, unsigned vector)
{
	pc->irq_seen = true;
	switch (vector) {
	case XK_VEC_EVENT:
		pc->v.stats.nr_irq_event++;
		pc->softirq |= SOFTIRQ_EVENT;
		plat_eoi();
		break;
	case XK_VEC_TIMER:
		pc->v.stats.nr_irq_timer++;
		plat_timer_fired();
		pc->softirq |= SOFTIRQ_TIMER;
		plat_eoi();
		break;
	case XK_VEC_IPI:
		pc->v.stats.nr_irq_other++;
		pc->softirq |= SOFTIRQ_EVENT;
		plat_eoi();
		break;
	case XK_VEC_SPURIOUS:
	case VEC_RETRY: /* not an interrupt: see entry.S eb_retry */
		break;
	default:
		pc->v.stats.nr_irq_other++;
		plat_eoi();
		break;
	}
}

/* A trap taken while the stub itself was running. */
static void stub_mode_trap(struct pcpu *pc, struct cpu_regs *regs)
{
	if (regs->vector >= 32) {
		handle_interrupt(pc, regs->vector);
		plat_interrupted(pc, regs);
		return;
	}
	if (regs->vector == 2) /* NMI: nothing to do, never injected by us */
		return;
	if (regs->vector == 14 && fixup_exception(regs))
		return;
	stub_crash(pc, regs, "xenkvm stub: fault inside the stub (%s, platform %s)",
		   regs->vector < 32 && exc_names[regs->vector] ? exc_names[regs->vector] : "?",
		   plat_name());
}

static void guest_exception(struct pcpu *pc, struct cpu_regs *regs)
{
	struct vcpu *v = &pc->v;
	unsigned vec = regs->vector;

	switch (vec) {
	case 2:  /* NMI */
	case 18: /* #MC: the host owns machine checks */
		return;
	case 6: /* #UD: Xen's forced-emulation prefix (cpuid) */
		if (emulate_invalid_op(pc, regs))
			return;
		break;
	case 13:
		/* int $n whose IDT gate is DPL0 (all but 3/4) arrives as #GP
		 * with the IDT bit: deliver it through the guest trap table. */
		if ((regs->error_code & 3) == 2) {
			/* Take the vector from the instruction (cd nn): QEMU's
			 * TCG reports vector*16 in this error code, hardware
			 * vector*8. */
			uint8_t insn[2];
			unsigned n = (unsigned)(regs->error_code >> 3) & 0xff;
			if (!copy_from_guest(insn, regs->rip, 2) && insn[0] == 0xcd)
				n = insn[1];
			const struct trap_info *ti = &v->traps[n];
			/* Xen's permit_softint(): the 64-bit PV kernel counts
			 * as ring 1, user mode as ring 3. */
			if (ti->address && (ti->flags & 3) >= (v->in_kernel ? 1u : 3u)) {
				regs->rip += 2; /* cd nn */
				inject_soft_int(pc, n);
				return;
			}
			regs->error_code = (n << 3) | 2;
			break;
		}
		if (regs->error_code == 0 && v->in_kernel && emulate_privileged(pc, regs))
			return;
		break;
	case 14: {
		uint64_t cr2 = plat_read_cr2(pc);
		/* A kernel write to one of its read-only L1 tables. */
		if (v->in_kernel && (regs->error_code & 3) == 3 && ptwr_emulate(pc, regs, cr2))
			return;
		v->vi->arch.cr2 = cr2;
		/* The U bit reflects the guest's mode, not the hardware CPL
		 * (PVM reports user-mode faults without it). */
		if (v->in_kernel)
			regs->error_code &= ~4ULL;
		else
			regs->error_code |= 4ULL;
		break;
	}
	}
	inject_exception(pc, vec, vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21,
			 regs->error_code);
}

/* pc comes from the entry block: a trap nested inside the PVM frame
 * relocation runs on the guest's stack, where this_pcpu() cannot work. */
void stub_trap(struct cpu_regs *regs, struct pcpu *pc)
{

	bool is_syscall = regs->vector == ENTRY_SYSCALL || regs->vector == ENTRY_SYSCALL32;

	if (!is_syscall && !plat_from_guest(regs)) {
		stub_mode_trap(pc, regs);
		return;
	}
	pc->guest_regs = regs;
	if (regs->vector == ENTRY_SYSCALL32) {
		bounce_syscall(pc, true);
	} else if (regs->vector == ENTRY_SYSCALL) {
		if (pc->v.in_kernel)
			do_hypercall(pc, regs);
		else
			bounce_syscall(pc, false);
	} else if (regs->vector < 32) {
		if (unlikely(dom.bi->vcpu0.flags & XK_BOOTF_TRACE_HYPERCALLS))
			printk("trap %u err %lx rip %lx cs %lx rsp %lx rflags %lx (%s mode)",
			       regs->vector, regs->error_code, regs->rip, regs->cs, regs->rsp,
			       regs->rflags, pc->v.in_kernel ? "kernel" : "user");
		guest_exception(pc, regs);
	} else {
		handle_interrupt(pc, regs->vector);
	}
	exit_to_guest(pc);
}
