/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Descriptor tables, SYSCALL MSRs and the LAPIC, shared by both platforms.
 * One GDT for all vCPUs, sized like Xen's so that its reserved selectors
 * (0xe008..0xe033, pv-abi.md 1.9) exist; each vCPU has its own TSS slot.
 */
#include "x86.h"
#include "platform.h"
#include "core.h"

#define GDT_BYTES XK_DESC_GDT_BYTES
#define TSS_SEL(i) XK_TSS_SEL(i)
#define TSS_BYTES 104
#define LDT_SEL 0xe050 /* Xen's per-vCPU LDT selector */

/* Per-vCPU hardware GDT and LDT (boot_info.desc_off). */
static uint64_t *vcpu_gdt(const struct pcpu *pc)
{
	return (uint64_t *)((uint8_t *)dom.bi + dom.bi->desc_off +
			    (uint64_t)pc->v.id * XK_DESC_AREA_SIZE);
}

static uint64_t *vcpu_ldt(const struct pcpu *pc)
{
	return vcpu_gdt(pc) + XK_DESC_LDT_OFF / 8;
}

/* GDT entries (below 32) the stub keeps whatever the guest's GDT says:
 * those its own return path loads (x86_selectors.fixed_gdt). */
static uint32_t fixed_gdt;

static void set_desc(uint64_t *gdt, uint16_t sel, uint64_t d)
{
	gdt[sel >> 3] = d;
}

#define DESC_CODE64_DPL0 0x00af9b000000ffffULL
#define DESC_DATA_DPL0   0x00cf93000000ffffULL
#define DESC_CODE32_DPL3 0x00cffb000000ffffULL
#define DESC_DATA_DPL3   0x00cff3000000ffffULL
#define DESC_CODE64_DPL3 0x00affb000000ffffULL
#define DESC_CODE64_DPL1 0x00afbb000000ffffULL
#define DESC_DATA_DPL1	 0x00cfb3000000ffffULL

static void build_gdt(uint64_t *gdt)
{
	memset(gdt, 0, GDT_BYTES);
	/* Linux's own user selectors (its GDT entries 4..6) and a ring-0 pair
	 * at 0x10/0x18 (the PVM recipe's supervisor selectors): shown until
	 * the guest installs its GDT, and kept where fixed_gdt says so. */
	set_desc(gdt, 0x10, DESC_CODE64_DPL0);
	set_desc(gdt, 0x18, DESC_DATA_DPL0);
	set_desc(gdt, 0x23, DESC_CODE32_DPL3);
	set_desc(gdt, 0x2b, DESC_DATA_DPL3);
	set_desc(gdt, 0x33, DESC_CODE64_DPL3);
	/* Xen's reserved selectors (xen.h FLAT_RING3_*, FLAT_KERNEL_*). */
	set_desc(gdt, 0xe008, DESC_CODE64_DPL0);
	set_desc(gdt, 0xe010, DESC_DATA_DPL0);
	set_desc(gdt, 0xe023, DESC_CODE32_DPL3);
	set_desc(gdt, 0xe02b, DESC_DATA_DPL3);
	set_desc(gdt, 0xe033, DESC_CODE64_DPL3);
	/* Ring-1 guest kernel (hw, dom.kernel_ring1): 64-bit code and data of
	 * DPL 1 in Xen's FLAT_RING1_CS/DS slots. */
	set_desc(gdt, 0xe018, DESC_CODE64_DPL1);
	set_desc(gdt, 0xe020, DESC_DATA_DPL1);
}

void plat_gdt_entry(struct pcpu *pc, unsigned idx, uint64_t desc)
{
	if (idx >= FIRST_RESERVED_GDT_ENTRY || (idx < 32 && (fixed_gdt & (1u << idx))))
		return;
	WRITE_ONCE(vcpu_gdt(pc)[idx], desc);
}

void plat_ldt_entry(struct pcpu *pc, unsigned idx, uint64_t desc)
{
	if (idx < XK_DESC_LDT_OFF / 8)
		WRITE_ONCE(vcpu_ldt(pc)[idx], desc);
}

void plat_load_ldt(struct pcpu *pc, unsigned nr_ents)
{
	uint64_t *gdt = vcpu_gdt(pc);

	if (!nr_ents) {
		__asm__ volatile("lldt %w0" ::"r"(0));
		return;
	}
	uint64_t b = (uint64_t)vcpu_ldt(pc), lim = (uint64_t)nr_ents * 8 - 1;
	gdt[LDT_SEL >> 3] = (lim & 0xffff) | ((b & 0xffffff) << 16) | (0x82ULL << 40) |
			    (((lim >> 16) & 0xf) << 48) | (((b >> 24) & 0xff) << 56);
	gdt[(LDT_SEL >> 3) + 1] = b >> 32;
	__asm__ volatile("lldt %w0" ::"r"((uint16_t)LDT_SEL) : "memory");
}

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint64_t base;
};

void x86_cpu_init(struct pcpu *pc, const struct x86_selectors *sel)
{
	unsigned id = pc->v.id;
	uint64_t area = (uint64_t)pc;

	uint64_t *gdt = vcpu_gdt(pc);

	fixed_gdt = sel->fixed_gdt;
	build_gdt(gdt);

	/* TSS: rsp0 = stack top; ist1 for NMI/#DF/#MC; no I/O bitmap. */
	uint8_t *tss = pcpu_tss(pc);
	memset(tss, 0, TSS_BYTES);
	uint64_t rsp0 = area + AREA_STACK_TOP;
	memcpy(tss + 4, &rsp0, 8);
	for (unsigned i = 0; i < 3; i++) { /* IST1..3: 2 KiB each */
		uint64_t ist = area + AREA_IST_OFF + 0x800 * (i + 1);
		memcpy(tss + 36 + 8 * i, &ist, 8);
	}
	uint16_t iomap = TSS_BYTES;
	memcpy(tss + 102, &iomap, 2);
	uint64_t tb = (uint64_t)tss, lim = TSS_BYTES - 1;
	set_desc(gdt, TSS_SEL(id), (lim & 0xffff) | ((tb & 0xffffff) << 16) | (0x89ULL << 40) |
				      (((tb >> 24) & 0xff) << 56));
	gdt[(TSS_SEL(id) >> 3) + 1] = tb >> 32;
	memset(vcpu_ldt(pc), 0, XK_DESC_AREA_SIZE - XK_DESC_LDT_OFF);

	/* This vCPU's copy of the entry block, and its IDT pointing there. */
	memcpy((void *)(area + AREA_ENTRY_OFF), entry_block, entry_block_end - entry_block);
	uint64_t *idt = (uint64_t *)(area + AREA_IDT_OFF);
	for (unsigned v = 0; v < 256; v++) {
		uint64_t off = eb_addr(pc, eb_idt) + 32 * v;
		unsigned dpl = (v == 3 || v == 4) ? 3 : 0; /* int3/into, as Xen */
		/* IST1 #DF/NMI/#MC; with ist_all also IST2 for the other
		 * exceptions and IST3 for interrupts, so that an interrupt
		 * during an exception's entry never reuses its stack. */
		unsigned ist = (v == 2 || v == 8 || v == 18) ? 1 :
			       !sel->ist_all		  ? 0 :
			       v < 32			  ? 2 :
							    3;
		idt[2 * v] = (off & 0xffff) | ((uint64_t)sel->stub_cs << 16) |
			     ((uint64_t)ist << 32) | ((uint64_t)(0x8e | (dpl << 5)) << 40) |
			     (((off >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = off >> 32;
	}
	pc->stack_top = area + AREA_STACK_TOP;
	pc->trap_target = (uint64_t)stub_trap;
	pc->cr3_loaded = plat_read_cr3();

	struct dtr g = {GDT_BYTES - 1, (uint64_t)gdt}, i = {256 * 16 - 1, (uint64_t)idt};
	__asm__ volatile("lgdt %0" ::"m"(g));
	__asm__ volatile("lidt %0" ::"m"(i));
	/* Reload CS with a far return, then the data segments. */
	__asm__ volatile("pushq %q0\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %w1, %%ss\n\t"
			 "mov %w2, %%ds\n\t"
			 "mov %w2, %%es\n\t"
			 :
			 : "r"((uint64_t)sel->stub_cs), "r"(sel->stub_ss), "r"(0)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" ::"r"((uint16_t)TSS_SEL(id)));

	/* SYSCALL enters this vCPU's block copy, which finds its stack
	 * without swapgs or a scratch register. */
	wrmsr(MSR_STAR, ((uint64_t)(sel->kernel_cs - 16) << 48) | ((uint64_t)sel->stub_cs << 32));
	wrmsr(MSR_LSTAR, eb_addr(pc, eb_syscall));
	/* CSTAR (compat-mode SYSCALL) only where the host reports the mode
	 * faithfully: this PVM variant sometimes enters through CSTAR for
	 * 64-bit code (measured: misrouted 64-bit syscalls), and there the
	 * guest has no compat user mode we could tell apart anyway. */
	wrmsr(MSR_CSTAR, eb_addr(pc, sel->compat_syscall ? eb_syscall32 : eb_syscall));
	wrmsr(MSR_SFMASK, X86_EFLAGS_IF | X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_AC |
				  X86_EFLAGS_NT);
}

void x86_lapic_init(void)
{
	struct pcpu *pc = this_pcpu();

	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1ULL << 11) | (1ULL << 10));
	wrmsr(MSR_X2APIC_SVR, 0x100 | XK_VEC_SPURIOUS);
	wrmsr(MSR_X2APIC_LVTT, XK_VEC_TIMER | (2u << 17)); /* TSC-deadline mode */
	/* KVM's PV EOI (Documentation/virt/kvm/x86/msr.rst, as Linux's
	 * kvm_guest_cpu_init): KVM sets bit 0 of the word when it injects an
	 * interrupt whose EOI it can do itself at the next exit; the EOI is
	 * then clearing the bit, no MSR write.  The word is the vCPU's own
	 * (in its area: U=1 on PVM, so the guest could clear it; that only
	 * loses its own EOIs, and KVM still does them on its next exit). */
	if (dom.bi->features & XK_FEAT_PV_EOI) {
		pc->pv_eoi = 0;
		wrmsr(MSR_KVM_PV_EOI_EN,
		      ((uint64_t)&pc->pv_eoi - XK_STUB_VA + dom.bi->stub_gpa) | 1);
		pc->pv_eoi_on = true;
	}
}

void plat_arm_timer(uint64_t tsc)
{
	struct pcpu *pc = this_pcpu();
	uint64_t armed = pc->timer_armed;

	/* Each write is a VM exit on hw and a trapped wrmsr on PVM.  Disarming
	 * a deadline that has passed is not needed (the LAPIC disarms itself
	 * when it fires; at worst it still fires once, which timer_softirq
	 * ignores): one exit less per guest timer tick.
	 * Nor is moving a deadline that has not fired yet LATER: the earlier
	 * one stays, and when it fires timer_softirq finds nothing due and
	 * arms the later one then.  Linux's tick does exactly that around
	 * every short idle period (NO_HZ: a far deadline before SCHEDOP_block,
	 * the next tick again on wake-up), so two writes become none, at the
	 * cost of one early interrupt when the vCPU really sleeps past it.
	 * An earlier deadline is always written, and so is any deadline after
	 * the timer interrupt (plat_timer_fired): the LAPIC may fire before
	 * the TSC reaches the deadline, so a TSC still short of it does not
	 * prove it is still armed. */
	bool pending = armed > rdtsc(); /* (0: nothing armed) */
	if (tsc && pending && armed <= tsc) {
		pc->v.stats.nr_timer_kept++;
		return;
	}
	pc->timer_armed = tsc;
	if (!tsc && !pending)
		return;
	pc->v.stats.nr_timer_writes++;
	wrmsr(MSR_TSC_DEADLINE, tsc);
}

void plat_timer_fired(void)
{
	/* (If a later deadline was written while this interrupt waited, the
	 * LAPIC still holds that one: forgetting it costs a write at most.) */
	this_pcpu()->timer_armed = 0;
}

void plat_eoi(void)
{
	struct pcpu *pc = this_pcpu();

	/* The test and the clear must be ONE instruction (Linux's
	 * kvm_guest_apic_eoi_write uses btr): at every VM exit KVM clears a
	 * still-set flag and forgets the fast EOI (lapic.c's
	 * pv_eoi_test_and_clr_pending), and at the next entry sets it again
	 * only if no other interrupt is pending.  A load, an exit, then a
	 * store would skip the EOI MSR for an EOI KVM never does: the vector
	 * stays in service and blocks every interrupt at or below its
	 * priority (the hangs that got this reverted once). */
	if (pc->pv_eoi_on) {
		bool was_set;
		__asm__ volatile("btrq $0, %0" : "+m"(pc->pv_eoi), "=@ccc"(was_set)::"memory");
		if (was_set) {
			pc->v.stats.nr_pv_eois++;
			return;
		}
	}
	pc->v.stats.nr_eois++;
	wrmsr(MSR_X2APIC_EOI, 0);
}

uint64_t plat_read_cr3(void)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	return cr3;
}

void plat_write_cr3(uint64_t cr3)
{
	struct pcpu *pc = this_pcpu();

	pc->v.nr_cr3_writes++;
	pc->cr3_loaded = cr3;
	__asm__ volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
}

void plat_set_ts(bool ts)
{
	uint64_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	uint64_t want = ts ? cr0 | 8 : cr0 & ~8ULL;
	if (want != cr0)
		__asm__ volatile("mov %0, %%cr0" ::"r"(want) : "memory");
}

void plat_invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}

void plat_flush_tlb(void)
{
	plat_write_cr3(plat_read_cr3());
}

void plat_set_fs_base(uint64_t base)
{
	wrmsr(MSR_FS_BASE, base);
}

uint64_t plat_get_fs_base(void)
{
	return rdmsr(MSR_FS_BASE);
}

void plat_set_gs_base(uint64_t base)
{
	wrmsr(MSR_GS_BASE, base);
}

void plat_hostcall(struct pcpu *pc)
{
	__asm__ volatile("outl %0, %1" ::"a"((uint32_t)pc->v.id), "Nd"((uint16_t)XK_PORT_HOSTCALL)
			 : "memory");
}

void plat_doorbell(uint32_t port)
{
	this_pcpu()->v.stats.nr_doorbells++;
	__asm__ volatile("outl %0, %1" ::"a"(port), "Nd"((uint16_t)XK_PORT_DOORBELL) : "memory");
}

struct extable {
	uint64_t insn, fixup;
};
extern const struct extable __ex_table_start[], __ex_table_end[];

bool fixup_exception(struct cpu_regs *regs)
{
	for (const struct extable *e = __ex_table_start; e < __ex_table_end; e++) {
		if (e->insn == regs->rip) {
			regs->rip = e->fixup;
			return true;
		}
	}
	return false;
}
