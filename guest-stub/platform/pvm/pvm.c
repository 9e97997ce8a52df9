/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Platform for this host's PVM variant (pvm-host-probe/README.md): the stub
 * runs at hardware CPL3 as PVM's "supervisor" once it registers a virtual-IF
 * page.  Rules followed here: IF is the byte vif[0] (cli/sti trap), CR2 comes
 * from vif+8, return with iretq, hlt only with vif[0] = 1, stub pages U=1.
 */
#include "platform.h"
#include "../x86/x86.h"

#define MSR_PVM_VIF  0x4b564d10 /* GPA | 0x10: also report #PF CR2 at +8 */
#define VIF_CR2_CELL 0x10

/* PVM switches stacks on no trap here (measured: traps from guest kernel
 * and guest user mode alike arrive on the interrupted stack, reported as
 * CS 0x10), so every vector gets an IST stack. */
static const struct x86_selectors pvm_sel = {
	.stub_cs = 0x10, .stub_ss = 0x18, .kernel_cs = 0x33, .kernel_ss = 0x2b, .ist_all = true,
	/* 0x10/0x18: what PVM reports for the supervisor; 0x23/0x2b/0x33:
	 * the host's user selectors the guest runs on */
	.fixed_gdt = 0x1fu << 2,
};

extern char pvm_idle_hlt[];

/* Runs first, still inside KVM's instruction emulator: keep it short. */
void plat_early_entry(uint64_t vcpu_id, struct xk_boot_info *bi)
{
	struct pcpu *pc = this_pcpu();
	uint64_t gpa = (uint64_t)pcpu_vif(pc) - XK_STUB_VA + bi->stub_gpa;

	wrmsr(MSR_PVM_VIF, gpa | VIF_CR2_CELL);
	__asm__ volatile("sti" ::: "memory");
	pcpu_vif(pc)[0] = 1;
}

void plat_cpu_init(struct pcpu *pc)
{
	x86_cpu_init(pc, &pvm_sel);
	x86_lapic_init();
}

uint16_t plat_hw_cs(const struct pcpu *pc, bool kernel, bool compat)
{
	return kernel ? 0x33 : (compat ? 0x23 : 0x33);
}

uint16_t plat_hw_ss(const struct pcpu *pc, bool kernel)
{
	return 0x2b;
}

/* PVM delivers some interrupts with GS_BASE and KERNEL_GS_BASE swapped
 * (plat_before_enter), so the hardware value at a trap from user mode is
 * not trustworthy, and PVM keeps no selector a user-mode load could have
 * set (docs/architecture.md): the user GS base is the one the stub set. */
uint64_t plat_get_gs_base(void)
{
	return this_pcpu()->v.gs_base_user;
}

void plat_load_gs_selector(uint16_t sel, uint64_t kernel_gs_base)
{
	/* PVM emulates selector loads without keeping the selector; the
	 * base is applied when the stub switches to user mode. */
}

bool plat_from_guest(const struct cpu_regs *regs)
{
	/* Everything runs at hardware CPL3 here; the stub is whatever executes
	 * from the stub's L4 slot. */
	return (regs->rip >> 39) != (XK_STUB_VA >> 39);
}

uint64_t plat_read_cr2(struct pcpu *pc)
{
	return *(volatile uint64_t *)(pcpu_vif(pc) + 8);
}

void plat_irq_disable(void)
{
	pcpu_vif(this_pcpu())[0] = 0;
	barrier();
}

void plat_irq_enable(void)
{
	struct pcpu *pc = this_pcpu();

	barrier();
	pcpu_vif(pc)[0] = 1;
	barrier();
	if (pcpu_vif(pc)[1]) /* an interrupt waited: one trap delivers it */
		__asm__ volatile("sti" ::: "memory");
}

void plat_idle(void)
{
	/* hlt traps to the host, which delivers a pending interrupt instead of
	 * halting; an interrupt that slips in before the hlt makes the handler
	 * skip it (see pvm_fixup_idle). */
	__asm__ volatile("movb $1, %0\n\t"
			 ".globl pvm_idle_hlt\n"
			 "pvm_idle_hlt: hlt\n\t"
			 "movb $0, %0" ::"m"(*pcpu_vif(this_pcpu()))
			 : "memory");
}

/* Called by core for interrupts taken inside the stub. */
void plat_interrupted(struct pcpu *pc, struct cpu_regs *regs)
{
	if (regs->rip == (uint64_t)pvm_idle_hlt)
		regs->rip++;
	else if (regs->rip >= eb_addr(pc, eb_pvm_window) && regs->rip <= eb_addr(pc, eb_pvm_iret))
		regs->rip = eb_addr(pc, eb_retry);
}

/* Measured: PVM sometimes swaps GS_BASE and KERNEL_GS_BASE when it
 * delivers an interrupt through an IST stack (never for exceptions).  The
 * guest's GS base is the stub's to keep, so after interrupts check it
 * (one trapped rdmsr, ~3.6 us, only on the interrupt path). */
void plat_before_enter(struct pcpu *pc)
{
	if (!pc->irq_seen)
		return;
	pc->irq_seen = false;
	uint64_t want = pc->v.in_kernel ? pc->v.gs_base_kernel : pc->v.gs_base_user;
	if (rdmsr(MSR_GS_BASE) != want) {
		wrmsr(MSR_KERNEL_GS_BASE, rdmsr(MSR_GS_BASE));
		wrmsr(MSR_GS_BASE, want);
	}
}

__attribute__((noreturn)) void plat_enter_guest(struct pcpu *pc)
{
	eb_return(pc, eb_restore_pvm);
}

const char *plat_name(void)
{
	return "pvm";
}
