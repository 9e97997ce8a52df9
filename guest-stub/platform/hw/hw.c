/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Platform for hardware virtualization (VT-x / AMD-V): the stub owns real
 * ring 0; the guest kernel runs at CPL1 (dom.kernel_ring1, the default) or,
 * as under Xen, at CPL3 on Xen's flat selectors.
 */
#include "platform.h"
#include "../x86/x86.h"

extern char hw_idle_hlt[];

static const struct x86_selectors hw_sel = {
	.stub_cs = 0xe008, .stub_ss = 0xe010, .kernel_cs = 0xe033, .kernel_ss = 0xe02b,
	.compat_syscall = true,
	/* 0x23/0x2b/0x33: guest user mode's hardware CS/SS (plat_hw_cs) */
	.fixed_gdt = (1u << 4) | (1u << 5) | (1u << 6),
};

void plat_early_entry(uint64_t vcpu_id, struct xk_boot_info *bi)
{
}

void plat_cpu_init(struct pcpu *pc)
{
	x86_cpu_init(pc, &hw_sel);
	x86_lapic_init();
}

/* Ring 1 uses Xen's FLAT_RING1_CS/DS slots (a 32-bit PV kernel's; a
 * 64-bit guest never loads them), made 64-bit code and data of DPL 1 by
 * x86.c.  The guest sees FLAT_KERNEL_CS64/SS64 in its frames either way. */
uint16_t plat_hw_cs(const struct pcpu *pc, bool kernel, bool compat)
{
	if (kernel)
		return dom.kernel_ring1 ? 0xe019 : 0xe033;
	return compat ? 0x23 : 0x33;
}

uint16_t plat_hw_ss(const struct pcpu *pc, bool kernel)
{
	if (kernel)
		return dom.kernel_ring1 ? 0xe021 : 0xe02b;
	return 0x2b;
}

uint64_t plat_get_gs_base(void)
{
	return rdmsr(MSR_GS_BASE);
}

void plat_load_gs_selector(uint16_t sel, uint64_t kernel_gs_base)
{
	/* The load puts the descriptor's base into the active (kernel) GS
	 * base; the kernel's goes back, the user's lives in the vcpu. */
	__asm__ volatile("mov %w0, %%gs" ::"r"(sel) : "memory");
	wrmsr(MSR_GS_BASE, kernel_gs_base);
}

bool plat_from_guest(const struct cpu_regs *regs)
{
	return (regs->cs & 3) != 0; /* ring 1 or 3 */
}

uint64_t plat_read_cr2(struct pcpu *pc)
{
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	return cr2;
}

void plat_irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

void plat_irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}

/* Not inlined: the label below must exist once. */
__attribute__((noinline)) void plat_idle(void)
{
	/* sti's interrupt shadow should make "enable and halt" atomic, but
	 * measured in the KVM box (TCG's nested SVM under kvm_amd): an
	 * interrupt can arrive with its return address ON the hlt, so the
	 * handler's softirq was set and the vCPU then halted on it - with
	 * the timer's own softirq pending nothing re-armed the timer and the
	 * guest stalled for good (LAPIC idle, softirq 0x3, RIP after the hlt:
	 * docs/architecture.md).  As on PVM, the handler skips the hlt. */
	__asm__ volatile("sti\n\t"
			 ".globl hw_idle_hlt\n"
			 "hw_idle_hlt: hlt\n\t"
			 "cli" ::: "memory");
}

/* Called by core for interrupts taken inside the stub. */
void plat_interrupted(struct pcpu *pc, struct cpu_regs *regs)
{
	if (regs->rip == (uint64_t)hw_idle_hlt) {
		pc->v.stats.nr_idle_fixups++;
		regs->rip++;
	}
}

void plat_before_enter(struct pcpu *pc)
{
}

__attribute__((noreturn)) void plat_enter_guest(struct pcpu *pc)
{
	eb_return(pc, eb_restore_hw);
}

const char *plat_name(void)
{
	return "hw";
}
