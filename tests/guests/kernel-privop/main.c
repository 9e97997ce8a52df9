/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Privileged instructions in guest kernel mode (pv-abi.md 1.10): they fault
 * at CPL3 and the hypervisor emulates them against the guest's *virtual*
 * state.  MSRs: FS/GS/KERNEL_GS base round trips (and %fs/%gs really use
 * them), PAT, APIC_BASE, EFER; CR0 (virtual TS via fpu_taskswitch, #NM);
 * CR4 shows only the PV-visible bits; cli/sti/in/out obey the virtual IOPL
 * (#GP(0) without PHYSDEVOP_set_iopl, then no-ops / all-ones reads); wbinvd
 * is a no-op.
 */
#include "xkg.h"

const char test_title[] = "kernel-privop: emulated MSRs, CRs, IOPL, #NM";

#define MSR_EFER	   0xc0000080
#define MSR_FS_BASE	   0xc0000100
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_PAT		   0x277
#define MSR_APIC_BASE	   0x1b

#define CR0_TS (1UL << 3)
/* pv-abi.md 1.10: TSD DE FSGSBASE OSXSAVE (guest) + PAE MCE OSFXSR OSXMMEXCPT */
#define CR4_PV_VISIBLE                                                                             \
	((1UL << 2) | (1UL << 3) | (1UL << 5) | (1UL << 6) | (1UL << 9) | (1UL << 10) |            \
	 (1UL << 16) | (1UL << 18))

/* rdmsr/wrmsr that report a fault instead of taking the test down. */
static bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;

	xkg_fault_clear();
	asm volatile("1: rdmsr\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "+a"(lo), "+d"(hi)
		     : "c"(msr)
		     : "memory");
	*val = ((uint64_t)hi << 32) | lo;
	return !xkg_last_fault.valid;
}

static bool wrmsr_safe(uint32_t msr, uint64_t val)
{
	xkg_fault_clear();
	asm volatile("1: wrmsr\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     :
		     : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
	return !xkg_last_fault.valid;
}

static uint64_t fs_word, gs_word;

static void test_msrs(void)
{
	uint64_t v, got;

	fs_word = 0xf5f5f5f5f5f5f5f5UL;
	gs_word = 0x6565656565656565UL;

	CHECK(wrmsr_safe(MSR_FS_BASE, (uint64_t)&fs_word), "wrmsr FS_BASE faulted");
	CHECK(rdmsr_safe(MSR_FS_BASE, &v) && v == (uint64_t)&fs_word,
	      "rdmsr FS_BASE = %#lx, want %p", v, &fs_word);
	asm volatile("mov %%fs:0, %0" : "=r"(got));
	CHECK_EQ(got, fs_word, "load through %fs after wrmsr FS_BASE");

	CHECK(wrmsr_safe(MSR_GS_BASE, (uint64_t)&gs_word), "wrmsr GS_BASE faulted");
	CHECK(rdmsr_safe(MSR_GS_BASE, &v) && v == (uint64_t)&gs_word,
	      "rdmsr GS_BASE = %#lx, want %p", v, &gs_word);
	asm volatile("mov %%gs:0, %0" : "=r"(got));
	CHECK_EQ(got, gs_word, "load through %gs after wrmsr GS_BASE");

	CHECK(wrmsr_safe(MSR_KERNEL_GS_BASE, 0x123456789000UL), "wrmsr KERNEL_GS_BASE faulted");
	CHECK(rdmsr_safe(MSR_KERNEL_GS_BASE, &v) && v == 0x123456789000UL,
	      "rdmsr KERNEL_GS_BASE = %#lx", v);
	/* The kernel GS base is untouched by writing the user one. */
	asm volatile("mov %%gs:0, %0" : "=r"(got));
	CHECK_EQ(got, gs_word, "load through %gs after wrmsr KERNEL_GS_BASE");

	CHECK(rdmsr_safe(MSR_PAT, &v), "rdmsr PAT faulted");
	printf("kernel-privop: PAT %#lx\n", v);
	CHECK_EQ(v, 0x0000050100070406UL, "PAT");

	CHECK(rdmsr_safe(MSR_APIC_BASE, &v), "rdmsr APIC_BASE faulted");
	printf("kernel-privop: APIC_BASE %#lx\n", v);
	/* 0xfee00000 | enabled (11) | optionally BSP (8); no x2APIC mode. */
	CHECK((v & ~0x100UL) == 0xfee00800UL, "APIC_BASE %#lx, want 0xfee00800 (|0x100)", v);

	CHECK(rdmsr_safe(MSR_EFER, &v), "rdmsr EFER faulted");
	printf("kernel-privop: EFER %#lx\n", v);
	CHECK(v & (1UL << 10), "EFER %#lx without LMA", v);
}

static uint64_t read_cr0(void)
{
	uint64_t v = 0;

	xkg_fault_clear();
	asm volatile("1: mov %%cr0, %0\n2:\n\t" XKG_EXTABLE(1b, 2b) : "+r"(v)::"memory");
	CHECK(!xkg_last_fault.valid, "mov from CR0 faulted (vector %lu)", xkg_last_fault.vector);
	return v;
}

static void test_crs(void)
{
	uint64_t cr0, cr4 = 0;
	long rc;

	cr0 = read_cr0();
	printf("kernel-privop: CR0 %#lx\n", cr0);
	CHECK(cr0 & 1, "CR0 %#lx without PE", cr0);
	CHECK(cr0 & (1UL << 31), "CR0 %#lx without PG", cr0);

	xkg_fault_clear();
	asm volatile("1: mov %%cr4, %0\n2:\n\t" XKG_EXTABLE(1b, 2b) : "+r"(cr4)::"memory");
	CHECK(!xkg_last_fault.valid, "mov from CR4 faulted");
	printf("kernel-privop: CR4 %#lx\n", cr4);
	CHECK(cr4 & (1UL << 5), "CR4 %#lx without PAE", cr4);
	CHECK(!(cr4 & ~CR4_PV_VISIBLE), "CR4 %#lx shows bits %#lx a PV guest must not see", cr4,
	      cr4 & ~CR4_PV_VISIBLE);

	/* Virtual TS. */
	rc = HYPERVISOR_fpu_taskswitch(1);
	CHECK_EQ(rc, 0, "fpu_taskswitch(1)");
	CHECK(read_cr0() & CR0_TS, "CR0.TS clear after fpu_taskswitch(1)");
	xkg_fault_clear();
	asm volatile("1: fnop\n2:\n\t" XKG_EXTABLE(1b, 2b)::: "memory");
	CHECK(xkg_last_fault.valid && xkg_last_fault.vector == 7,
	      "x87 instruction with TS set: fault %d vector %lu, want #NM", xkg_last_fault.valid,
	      xkg_last_fault.vector);
	rc = HYPERVISOR_fpu_taskswitch(0);
	CHECK_EQ(rc, 0, "fpu_taskswitch(0)");
	CHECK(!(read_cr0() & CR0_TS), "CR0.TS set after fpu_taskswitch(0)");
	xkg_fault_clear();
	asm volatile("1: fnop\n2:\n\t" XKG_EXTABLE(1b, 2b)::: "memory");
	CHECK(!xkg_last_fault.valid, "fnop with TS clear faulted (vector %lu)",
	      xkg_last_fault.vector);
}

static bool try_insn(const char *what, int which, uint8_t *in_val)
{
	uint8_t al = 0x5a;

	xkg_fault_clear();
	switch (which) {
	case 0:
		asm volatile("1: cli\n2:\n\t" XKG_EXTABLE(1b, 2b)::: "memory");
		break;
	case 1:
		asm volatile("1: sti\n2:\n\t" XKG_EXTABLE(1b, 2b)::: "memory");
		break;
	case 2:
		asm volatile("1: inb $0x71, %0\n2:\n\t" XKG_EXTABLE(1b, 2b) : "+a"(al)::"memory");
		break;
	case 3:
		asm volatile("1: outb %0, $0x80\n2:\n\t" XKG_EXTABLE(1b, 2b)
			     :
			     : "a"(al)
			     : "memory");
		break;
	}
	if (in_val)
		*in_val = al;
	if (xkg_last_fault.valid)
		printf("kernel-privop: %s -> vector %lu ec %#lx\n", what, xkg_last_fault.vector,
		       xkg_last_fault.error_code);
	else
		printf("kernel-privop: %s -> no fault\n", what);
	return !xkg_last_fault.valid;
}

static void test_iopl(void)
{
	static const char *const names[] = {"cli", "sti", "inb", "outb"};
	struct physdev_set_iopl iopl = {.iopl = 1};
	uint8_t v = 0;
	long rc;

	/* Virtual IOPL 0 (start of day): each one is #GP(0). */
	for (int i = 0; i < 4; i++) {
		bool ok = try_insn(names[i], i, NULL);

		CHECK(!ok && xkg_last_fault.vector == 13 && xkg_last_fault.error_code == 0,
		      "%s with virtual IOPL 0 did not give #GP(0)", names[i]);
	}

	rc = HYPERVISOR_physdev_op(PHYSDEVOP_set_iopl, &iopl);
	CHECK_EQ(rc, 0, "PHYSDEVOP_set_iopl(1)");
	if (rc)
		return;
	CHECK(try_insn("cli (IOPL 1)", 0, NULL), "cli with IOPL 1 faulted");
	CHECK(try_insn("sti (IOPL 1)", 1, NULL), "sti with IOPL 1 faulted");
	CHECK(try_insn("inb (IOPL 1)", 2, &v), "inb with IOPL 1 faulted");
	CHECK_EQ(v, 0xff, "inb from a port the domain does not own");
	CHECK(try_insn("outb (IOPL 1)", 3, NULL), "outb with IOPL 1 faulted");
}

void test_main(void)
{
	long rc = xkg_setup_traps();
	if (xkg_on_pvm()) {
		xkg_skip("on pvm the guest's privileged instructions run in KVM, not the stub "
			 "(docs/architecture.md)");
		return;
	}

	if (rc) {
		xkg_fail("set_trap_table = %ld", rc);
		return;
	}
	test_msrs();
	test_crs();

	xkg_fault_clear();
	asm volatile("1: wbinvd\n2:\n\t" XKG_EXTABLE(1b, 2b)::: "memory");
	CHECK(!xkg_last_fault.valid, "wbinvd faulted (vector %lu)", xkg_last_fault.vector);

	test_iopl();
}
