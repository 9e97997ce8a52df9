/* SPDX-License-Identifier: GPL-2.0-only */
/* x86-64 mechanics shared by the hw and pvm platforms. */
#ifndef STUB_X86_H
#define STUB_X86_H

#include "stub.h"

#define MSR_EFER           0xc0000080
#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_CSTAR          0xc0000083
#define MSR_SFMASK         0xc0000084
#define MSR_FS_BASE        0xc0000100
#define MSR_GS_BASE        0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_APIC_BASE      0x0000001b
#define MSR_TSC_DEADLINE   0x000006e0
#define MSR_X2APIC_EOI     0x0000080b
#define MSR_X2APIC_SVR     0x0000080f
#define MSR_X2APIC_LVTT    0x00000832
#define MSR_X2APIC_ICR     0x00000830
#define MSR_KVM_PV_EOI_EN  0x4b564d04 /* Linux's arch/x86/include/uapi/asm/kvm_para.h */

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
}

struct x86_selectors {
	uint16_t stub_cs, stub_ss;
	uint16_t kernel_cs, kernel_ss; /* guest kernel mode, hardware values */
	bool ist_all; /* IST stacks for every vector (hosts that never switch stacks) */
	bool compat_syscall; /* CSTAR is only reached from compatibility mode */
	uint32_t fixed_gdt;  /* GDT entries (< 32) the guest's GDT cannot replace */
};

/* Build and load GDT/IDT/TSS, SYSCALL MSRs and the per-vCPU trampoline. */
void x86_cpu_init(struct pcpu *pc, const struct x86_selectors *sel);
/* x2APIC on, TSC-deadline timer vector XK_VEC_TIMER. */
void x86_lapic_init(void);

extern char entry_block[], entry_block_end[], eb_syscall[], eb_syscall32[], eb_idt[];
extern char eb_restore_hw[];
extern char eb_restore_pvm[], eb_pvm_window[], eb_pvm_iret[], eb_retry[];

/* Address of an entry-block symbol in this vCPU's copy of the block. */
static inline uint64_t eb_addr(const struct pcpu *pc, const char *sym)
{
	return (uint64_t)pc + AREA_ENTRY_OFF + (uint64_t)(sym - entry_block);
}

/* Return to the guest through this vCPU's copy of a restore routine. */
__attribute__((noreturn)) static inline void eb_return(struct pcpu *pc, const char *restore)
{
	void (*fn)(struct cpu_regs *) = (void (*)(struct cpu_regs *))eb_addr(pc, restore);
	fn(pc->guest_regs);
	__builtin_unreachable();
}

#endif
