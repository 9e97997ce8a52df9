/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/emulate.c: privileged-instruction emulation from byte sequences,
 * the PV CPUID view and the forced-emulation prefix.  CPUID runs natively
 * on the host; CR0/CR4 reads are completed by fake_cr_trap_on().
 */
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

#define MSR_FS_BASE	   0xc0000100
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_EFER	   0xc0000080
#define MSR_TSC_AUX	   0xc0000103
#define MSR_APIC_BASE	   0x1b
#define MSR_PAT		   0x277
#define MSR_MISC_ENABLE	   0x1a0
#define MSR_SPEC_CTRL	   0x48
#define MSR_PRED_CMD	   0x49
#define MSR_TSC		   0x10

#define CR0_HW	       0x8005003bULL /* PG AM WP NE ET TS MP PE: TS set in "hardware" */
#define CR4_PAE	       (1ULL << 5)
#define CR4_MCE	       (1ULL << 6)
#define CR4_PGE	       (1ULL << 7)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_FSGSBASE   (1ULL << 16)
#define CR4_OSXSAVE    (1ULL << 18)
#define CR4_SMEP       (1ULL << 20)
#define CR4_TSD	       (1ULL << 2)
#define CR4_DE	       (1ULL << 3)
#define CR4_HW                                                                                     \
	(CR4_PAE | CR4_MCE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE | CR4_OSXSAVE |  \
	 CR4_SMEP)

static uint8_t *code; /* guest code page, followed by a faulting page */
static struct cpu_regs *r;

static int setup(void **state)
{
	fake_world_init(2, 2100000);
	if (!code)
		code = aligned_alloc(4096, 2 * 4096);
	memset(code, 0xcc, 2 * 4096);
	r = fake_regs(0);
	fake_pc(0)->v.iopl = 0;
	return 0;
}

static int teardown(void **state)
{
	fake_cr_trap_off();
	return 0;
}

static uint8_t *place(const void *bytes, size_t n, size_t at)
{
	memcpy(code + at, bytes, n);
	r->rip = gva(code + at);
	return code + at;
}

#define EMU(...)                                                                                   \
	({                                                                                         \
		static const uint8_t insn_[] = {__VA_ARGS__};                                      \
		place(insn_, sizeof(insn_), 0);                                                    \
		emulate_privileged(fake_pc(0), r);                                                 \
	})

static uint64_t rip0(void)
{
	return gva(code);
}

static bool wrmsr(uint32_t msr, uint64_t val)
{
	r->rcx = msr;
	r->rax = (uint32_t)val | 0xdead000000000000ULL; /* upper half ignored */
	r->rdx = val >> 32;
	return EMU(0x0f, 0x30);
}

static bool rdmsr(uint32_t msr, uint64_t *val)
{
	r->rcx = msr;
	r->rax = r->rdx = 0xdeaddeaddeaddeadULL;
	bool ok = EMU(0x0f, 0x32);
	if (ok) {
		/* 32-bit halves, zero-extended, as the hardware */
		assert_int_equal(r->rax >> 32, 0);
		assert_int_equal(r->rdx >> 32, 0);
		*val = (r->rdx << 32) | r->rax;
		assert_int_equal(r->rip, rip0() + 2);
	}
	return ok;
}

static void test_wrmsr_segment_bases(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	assert_true(wrmsr(MSR_GS_BASE, 0xffff888000001000ULL));
	assert_int_equal(r->rip, rip0() + 2);
	assert_int_equal(v->gs_base_kernel, 0xffff888000001000ULL);
	assert_int_equal(fake.gs_last, 0xffff888000001000ULL);
	assert_true(wrmsr(MSR_FS_BASE, 0x7f0000001000ULL));
	assert_int_equal(v->fs_base, 0x7f0000001000ULL);
	assert_int_equal(fake.fs_last, 0x7f0000001000ULL);
	unsigned gs_calls = fake.gs_calls;
	assert_true(wrmsr(MSR_KERNEL_GS_BASE, 0x1000));
	assert_int_equal(v->gs_base_user, 0x1000);
	assert_int_equal(fake.gs_calls, gs_calls); /* inactive base: no hardware write */

	/* Non-canonical or inside the hole: #GP, nothing changes. */
	static const uint64_t bad[] = {0x0000800000000000ULL, 0x8000000000000000ULL, XK_STUB_VA,
				       XK_DIRECTMAP_VA};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		r->rip = 0;
		assert_false(wrmsr(MSR_FS_BASE, bad[i]));
		assert_false(wrmsr(MSR_GS_BASE, bad[i]));
		assert_false(wrmsr(MSR_KERNEL_GS_BASE, bad[i]));
		assert_int_equal(r->rip, rip0()); /* not advanced */
	}
	assert_int_equal(v->fs_base, 0x7f0000001000ULL);
	assert_int_equal(v->gs_base_kernel, 0xffff888000001000ULL);
	assert_int_equal(v->gs_base_user, 0x1000);
}

static void test_rdmsr_values(void **state)
{
	uint64_t val;

	assert_true(rdmsr(MSR_EFER, &val));
	assert_int_equal(val, (1 << 0) | (1 << 8) | (1 << 10) | (1 << 11)); /* SCE LME LMA NX */
	assert_true(rdmsr(MSR_APIC_BASE, &val));
	assert_int_equal(val, 0xfee00000ULL | (1 << 11) | (1 << 8)); /* enabled, BSP */
	assert_true(rdmsr(MSR_PAT, &val));
	assert_int_equal(val, 0x0000050100070406ULL);
	assert_true(rdmsr(MSR_TSC_AUX, &val));
	assert_int_equal(val, 0);
	assert_true(rdmsr(MSR_SPEC_CTRL, &val));
	assert_int_equal(val, 0);
	assert_true(rdmsr(MSR_MISC_ENABLE, &val));
	assert_true(val & 1);
	fake_pc(0)->v.fs_base = 0x7fff12345678ULL;
	assert_true(rdmsr(MSR_FS_BASE, &val));
	assert_int_equal(val, 0x7fff12345678ULL);
	uint64_t before = rdtsc();
	assert_true(rdmsr(MSR_TSC, &val));
	assert_true(val >= before && val <= rdtsc());

	/* Unknown MSRs fault (Linux uses the _safe variants). */
	static const uint32_t unknown[] = {0, 0x3a /* FEATURE_CONTROL */, 0x1d9 /* DEBUGCTL */,
					   0xc0010015 /* AMD HWCR */,
					   0x40000000 /* hypercall page */};
	for (unsigned i = 0; i < ARRAY_SIZE(unknown); i++) {
		r->rip = 0;
		assert_false(rdmsr(unknown[i], &val));
		assert_int_equal(r->rax, 0xdeaddeaddeaddeadULL); /* untouched */
		assert_int_equal(r->rip, rip0());
	}
}

static void test_rdmsr_apic_base_secondary(void **state)
{
	struct pcpu *pc1 = fake_pc(1);
	uint64_t val;

	r->rcx = MSR_APIC_BASE;
	place((const uint8_t[]){0x0f, 0x32}, 2, 0);
	assert_true(emulate_privileged(pc1, r));
	val = (r->rdx << 32) | r->rax;
	assert_int_equal(val, 0xfee00000ULL | (1 << 11)); /* no BSP bit */
	r->rcx = MSR_TSC_AUX;
	r->rip = rip0();
	assert_true(emulate_privileged(pc1, r));
	assert_int_equal(r->rax, 1);
}

static void test_wrmsr_fixed_values(void **state)
{
	uint64_t efer;

	assert_true(rdmsr(MSR_EFER, &efer));
	assert_true(wrmsr(MSR_EFER, efer));
	assert_false(wrmsr(MSR_EFER, efer & ~(1ULL << 11))); /* NX off */
	assert_true(wrmsr(MSR_PAT, 0x0000050100070406ULL));
	assert_false(wrmsr(MSR_PAT, 0x0007040600070406ULL));
	assert_true(wrmsr(MSR_SPEC_CTRL, 0));
	assert_false(wrmsr(MSR_SPEC_CTRL, 1));
	assert_true(wrmsr(MSR_PRED_CMD, 1)); /* IBPB: accepted, nothing to do */
	assert_true(wrmsr(MSR_TSC_AUX, 5));
	uint64_t misc;
	assert_true(rdmsr(MSR_MISC_ENABLE, &misc));
	assert_true(wrmsr(MSR_MISC_ENABLE, misc));
	assert_false(wrmsr(MSR_MISC_ENABLE, misc | (1ULL << 16)));
	assert_false(wrmsr(MSR_APIC_BASE, 0xfee00900ULL));
	assert_false(wrmsr(0x12345, 0));
}

static void test_clts_wbinvd(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	v->fpu_ts = true;
	assert_true(EMU(0x0f, 0x06)); /* clts */
	assert_false(v->fpu_ts);
	assert_int_equal(r->rip, rip0() + 2);
	assert_true(EMU(0x0f, 0x09)); /* wbinvd */
	assert_int_equal(r->rip, rip0() + 2);
	assert_true(EMU(0x0f, 0x08)); /* invd */
}

static void test_mov_cr3_cr2(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	v->cr3_kernel = 0x5000;
	v->cr3_user = 0x9000;
	assert_true(EMU(0x0f, 0x20, 0xd8)); /* mov %cr3, %rax */
	assert_int_equal(r->rax, 0x5000);
	assert_int_equal(r->rip, rip0() + 3);
	assert_true(EMU(0x41, 0x0f, 0x20, 0xdf)); /* mov %cr3, %r15 */
	assert_int_equal(r->r15, 0x5000);
	assert_int_equal(r->rip, rip0() + 4);
	assert_true(EMU(0x0f, 0x20, 0xdc)); /* mov %cr3, %rsp: the guest's rsp */
	assert_int_equal(r->rsp, 0x5000);
	v->vi->arch.cr2 = 0xdeadbeef000ULL;
	assert_true(EMU(0x0f, 0x20, 0xd3)); /* mov %cr2, %rbx */
	assert_int_equal(r->rbx, 0xdeadbeef000ULL);
	/* CR3 loads go through mmuext_op; cr8 and friends do not exist */
	assert_false(EMU(0x0f, 0x22, 0xd8));
	assert_false(EMU(0x44, 0x0f, 0x20, 0xc0)); /* mov %cr8, %rax */
	assert_false(EMU(0x0f, 0x20, 0xe8));	   /* mov %cr5, %rax */
	assert_false(EMU(0x0f, 0x22, 0xd0));	   /* mov %rax, %cr2 */
}

static void test_mov_cr0(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	fake_cr_trap_on(CR0_HW, CR4_HW);
	v->fpu_ts = false;
	assert_true(EMU(0x0f, 0x20, 0xc1));	  /* mov %cr0, %rcx */
	assert_int_equal(r->rcx, CR0_HW & ~8ULL); /* hardware TS hidden */
	assert_int_equal(r->rip, rip0() + 3);
	v->fpu_ts = true;
	assert_true(EMU(0x49, 0x0f, 0x20, 0xc2)); /* mov %cr0, %r10 */
	assert_int_equal(r->r10, CR0_HW);
	assert_true(fake_cr_reads >= 2);

	r->rax = CR0_HW & ~8ULL; /* guest clears TS */
	assert_true(EMU(0x0f, 0x22, 0xc0));
	assert_false(v->fpu_ts);
	r->r9 = CR0_HW;
	assert_true(EMU(0x41, 0x0f, 0x22, 0xc1)); /* mov %r9, %cr0 */
	assert_true(v->fpu_ts);
	fake_cr_trap_off();
}

static void test_mov_cr4(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;
	const uint64_t visible = CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;

	fake_cr_trap_on(CR0_HW, CR4_HW);
	v->cr4_guest = 0;
	assert_true(EMU(0x0f, 0x20, 0xe0)); /* mov %cr4, %rax */
	/* PGE, SMEP and the hardware FSGSBASE stay hidden */
	assert_int_equal(r->rax, visible);
	r->rdx = visible | CR4_TSD | CR4_DE | CR4_FSGSBASE | CR4_PGE | CR4_SMEP;
	assert_true(EMU(0x0f, 0x22, 0xe2)); /* mov %rdx, %cr4 */
	assert_int_equal(v->cr4_guest & (CR4_PGE | CR4_SMEP | CR4_PAE), 0);
	assert_true(EMU(0x0f, 0x20, 0xe6)); /* mov %cr4, %rsi */
	assert_int_equal(r->rsi, visible | CR4_TSD | CR4_DE | CR4_FSGSBASE);
	assert_true(EMU(0x49, 0x0f, 0x20, 0xe3)); /* mov %cr4, %r11 (REX.B) */
	assert_int_equal(r->r11, visible | CR4_TSD | CR4_DE | CR4_FSGSBASE);
	assert_false(EMU(0x4c, 0x0f, 0x20, 0xe3)); /* REX.R: %cr12 */
	/* the hardware bits cannot be cleared by the guest */
	r->rax = 0;
	assert_true(EMU(0x0f, 0x22, 0xe0));
	assert_true(EMU(0x0f, 0x20, 0xe1)); /* mov %cr4, %rcx */
	assert_int_equal(r->rcx, visible);
	fake_cr_trap_off();
}

static void test_mov_dr(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	assert_true(EMU(0x0f, 0x21, 0xf8)); /* mov %dr7, %rax */
	assert_int_equal(r->rax, 0x400);
	assert_true(EMU(0x0f, 0x21, 0xf1)); /* mov %dr6, %rcx */
	assert_int_equal(r->rcx, 0xffff0ff0);
	r->rdx = 0xffffffff81000000ULL;
	assert_true(EMU(0x0f, 0x23, 0xc2)); /* mov %rdx, %dr0 */
	assert_int_equal(v->dr[0], 0xffffffff81000000ULL);
	assert_true(EMU(0x41, 0x0f, 0x21, 0xc4)); /* mov %dr0, %r12 */
	assert_int_equal(r->r12, 0xffffffff81000000ULL);
	assert_false(EMU(0x0f, 0x21, 0xe0)); /* dr4 */
	assert_false(EMU(0x0f, 0x23, 0xe8)); /* dr5 */
}

static void test_port_io_needs_iopl(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	assert_false(EMU(0xec));
	assert_false(EMU(0xee));
	assert_false(EMU(0xe4, 0x70));
	assert_false(EMU(0xfa));
	assert_false(EMU(0xfb));
	assert_int_equal(r->rip, rip0());
	v->iopl = 1;
	r->rax = 0x1122334455667788ULL;
	assert_true(EMU(0xec)); /* in (%dx), %al */
	assert_int_equal(r->rax, 0x11223344556677ffULL);
	assert_int_equal(r->rip, rip0() + 1);
	r->rax = 0x1122334455667788ULL;
	assert_true(EMU(0x66, 0xed)); /* in (%dx), %ax */
	assert_int_equal(r->rax, 0x112233445566ffffULL);
	assert_int_equal(r->rip, rip0() + 2);
	r->rax = 0x1122334455667788ULL;
	assert_true(EMU(0xe5, 0x71)); /* in $0x71, %eax: zero-extends */
	assert_int_equal(r->rax, 0xffffffffULL);
	assert_int_equal(r->rip, rip0() + 2);
	r->rax = 0x1122334455667788ULL;
	assert_true(EMU(0xe4, 0x61)); /* in $0x61, %al */
	assert_int_equal(r->rax, 0x11223344556677ffULL);
	assert_int_equal(r->rip, rip0() + 2);
	assert_true(EMU(0xe6, 0x80)); /* out %al, $0x80: dropped */
	assert_int_equal(r->rip, rip0() + 2);
	assert_true(EMU(0xef)); /* out %eax, (%dx) */
	assert_int_equal(r->rip, rip0() + 1);
	assert_true(EMU(0x66, 0xef));
	assert_int_equal(r->rip, rip0() + 2);
}

static void test_cli_sti_event_mask(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	v->iopl = 1;
	v->vi->evtchn_upcall_mask = 0;
	assert_true(EMU(0xfa)); /* cli */
	assert_int_equal(v->vi->evtchn_upcall_mask, 1);
	assert_int_equal(r->rip, rip0() + 1);
	assert_true(EMU(0xfb)); /* sti */
	assert_int_equal(v->vi->evtchn_upcall_mask, 0);
}

static void test_prefixes_and_unknown(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	v->iopl = 1;
	/* segment/address-size prefixes are skipped and counted */
	assert_true(EMU(0x3e, 0x67, 0xec));
	assert_int_equal(r->rip, rip0() + 3);
	/* a REX prefix on cli */
	assert_true(EMU(0x48, 0xfa));
	assert_int_equal(r->rip, rip0() + 2);
	/* 14 prefixes is more than an instruction may have */
	assert_false(EMU(0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e,
			 0x3e, 0x3e, 0xec));
	assert_false(EMU(0x90));	     /* nop never #GPs */
	assert_false(EMU(0xf4));	     /* hlt: Linux PV uses SCHEDOP_block */
	assert_false(EMU(0x0f, 0x01, 0xf8)); /* swapgs */
	assert_false(EMU(0x0f, 0x00, 0xd8)); /* ltr */
	assert_false(EMU(0x0f, 0x01, 0x10)); /* lgdt */
	assert_false(EMU(0x0f, 0x05));	     /* syscall */
	assert_false(EMU(0x6c));	     /* insb: not emulated */
	assert_int_equal(r->rip, rip0());
	r->rip = FAKE_BAD_VA;
	assert_false(emulate_privileged(fake_pc(0), r));
	r->rip = XK_STUB_VA;
	assert_false(emulate_privileged(fake_pc(0), r));
}

static void test_xsetbv_validation(void **state)
{
	/* Only the refusals: a valid xsetbv would execute for real. */
	r->rcx = 1;
	r->rax = 3;
	r->rdx = 0;
	assert_false(EMU(0x0f, 0x01, 0xd1));
	r->rcx = 0;
	r->rax = 2; /* x87 bit clear */
	assert_false(EMU(0x0f, 0x01, 0xd1));
	r->rax = 1;
	r->rdx = 0x80000000; /* a component no CPU has */
	assert_false(EMU(0x0f, 0x01, 0xd1));
}

/* An instruction close to the end of a mapped page followed by an unmapped
 * one (module text before a vmalloc guard page): the emulator reads 16
 * bytes and refuses, so the guest gets #GP for a legal wrmsr/rdmsr. */
static void test_insn_at_page_end(void **state)
{
	uint64_t val;

	fake.fault_lo = gva(code + 4096);
	fake.fault_hi = fake.fault_lo + 4096;
	place((const uint8_t[]){0x0f, 0x32}, 2, 4096 - 2);
	r->rcx = MSR_PAT;
	assert_true(emulate_privileged(fake_pc(0), r));
	val = (r->rdx << 32) | (uint32_t)r->rax;
	assert_int_equal(val, 0x0000050100070406ULL);
	assert_int_equal(r->rip, gva(code + 4096));
}

/* ---- CPUID ---- */

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	guest_cpuid(fake_pc(0), leaf, sub, out);
}

static void test_cpuid_xen_leaves(void **state)
{
	uint32_t c[4];
	char sig[13] = {0};

	cpuid(0x40000000, 0, c);
	memcpy(sig, &c[1], 4);
	memcpy(sig + 4, &c[2], 4);
	memcpy(sig + 8, &c[3], 4);
	assert_string_equal(sig, "XenVMMXenVMM");
	assert_true(c[0] >= 0x40000002 && c[0] < 0x40000100);
	cpuid(0x40000001, 0, c);
	assert_int_equal(c[0], (4 << 16) | 17);
	assert_true((c[0] >> 16) >= 4);
	cpuid(0x40000002, 0, c);
	assert_int_equal(c[0], 1);
	assert_int_equal(c[1], 0x40000000);
	assert_true(c[2] & XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD);
	cpuid(0x40000003, 0, c);
	assert_int_equal(c[2], 2100000);
	cpuid(0x40000005, 0, c);
	assert_int_equal(c[1] & 0xff, 0); /* keeps Linux on grant v1 */
	/* No second hypervisor (KVM) signature at a higher base. */
	for (uint32_t base = 0x40000100; base < 0x40010000; base += 0x100) {
		cpuid(base, 0, c);
		assert_int_equal(c[0] | c[1] | c[2] | c[3], 0);
	}
}

static void test_cpuid_leaf1(void **state)
{
	uint32_t c[4], n[4];

	fake_cr_trap_on(CR0_HW, CR4_HW);
	__cpuid_count(1, 0, n[0], n[1], n[2], n[3]);
	cpuid(1, 0, c);
	const uint32_t ecx_hidden =
	    (1u << 3) | (1u << 5) | (1u << 6) | (1u << 17) | (1u << 21) | (1u << 24);
	const uint32_t edx_hidden =
		(1u << 3) | (1u << 7) | (1u << 12) | (1u << 13) | (1u << 14) | (1u << 17);
	assert_int_equal(c[2] & ecx_hidden, 0);
	assert_int_equal(c[3] & edx_hidden, 0);
	assert_true(c[2] & (1u << 31)); /* hypervisor */
	assert_true(c[2] & (1u << 27)); /* OSXSAVE: "hardware" CR4 has it */
	/* everything else passes through */
	assert_int_equal(c[0], n[0]);
	assert_int_equal(c[2] & ~(ecx_hidden | (1u << 27) | (1u << 31)),
			 n[2] & ~(ecx_hidden | (1u << 27) | (1u << 31)));
	assert_int_equal(c[3], n[3] & ~edx_hidden);

	fake_cr_trap_on(CR0_HW, CR4_HW & ~CR4_OSXSAVE);
	cpuid(1, 0, c);
	assert_false(c[2] & (1u << 27));
	fake_cr_trap_off();
}

static void test_cpuid_other_leaves(void **state)
{
	uint32_t c[4], n[4];

	cpuid(5, 0, c);
	assert_int_equal(c[0] | c[1] | c[2] | c[3], 0);
	__cpuid_count(0, 0, n[0], n[1], n[2], n[3]);
	if (n[0] >= 7) {
		cpuid(7, 0, c);
		assert_int_equal(c[1] & ((1u << 0) | (1u << 7) | (1u << 10) | (1u << 20)), 0);
		assert_int_equal(c[2] & ((1u << 2) | (1u << 3) | (1u << 4) | (1u << 16)), 0);
	}
	if (n[0] >= 0xd) {
		cpuid(0xd, 1, c);
		assert_int_equal(c[0] & (1u << 3), 0);
	}
	cpuid(0x80000001, 0, c);
	assert_int_equal(c[2] & (1u << 2), 0);
	assert_int_equal(c[3] & (1u << 26), 0);
	__cpuid_count(0x80000001, 0, n[0], n[1], n[2], n[3]);
	assert_int_equal(c[3] & (1u << 29), n[3] & (1u << 29)); /* long mode stays */
}

static void test_forced_emulation_prefix(void **state)
{
	static const uint8_t fe[] = {0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2};
	char sig[13] = {0};

	place(fe, sizeof(fe), 100);
	r->rax = 0x40000000;
	r->rcx = 0;
	assert_true(emulate_invalid_op(fake_pc(0), r));
	assert_int_equal(r->rip, gva(code + 107));
	memcpy(sig, &r->rbx, 4);
	memcpy(sig + 4, &r->rcx, 4);
	memcpy(sig + 8, &r->rdx, 4);
	assert_string_equal(sig, "XenVMMXenVMM");
	assert_int_equal(r->rbx >> 32, 0);

	/* A plain ud2 (BUG()) and near misses are left to the guest's #UD. */
	static const uint8_t ud2[] = {0x0f, 0x0b, 0x90, 0x90, 0x90, 0x90, 0x90};
	place(ud2, sizeof(ud2), 200);
	assert_false(emulate_invalid_op(fake_pc(0), r));
	assert_int_equal(r->rip, gva(code + 200));
	static const uint8_t xen_nocpuid[] = {0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0x05};
	place(xen_nocpuid, sizeof(xen_nocpuid), 300);
	assert_false(emulate_invalid_op(fake_pc(0), r));
	static const uint8_t xem[] = {0x0f, 0x0b, 'x', 'e', 'm', 0x0f, 0xa2};
	place(xem, sizeof(xem), 400);
	assert_false(emulate_invalid_op(fake_pc(0), r));
	r->rip = FAKE_BAD_VA;
	assert_false(emulate_invalid_op(fake_pc(0), r));
	/* exactly at the end of the page: 7 bytes are all it reads */
	fake.fault_lo = gva(code + 4096);
	fake.fault_hi = fake.fault_lo + 4096;
	place(fe, sizeof(fe), 4096 - sizeof(fe));
	r->rax = 1;
	fake_cr_trap_on(CR0_HW, CR4_HW);
	assert_true(emulate_invalid_op(fake_pc(0), r));
	assert_int_equal(r->rip, gva(code + 4096));
	fake_cr_trap_off();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_wrmsr_segment_bases, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rdmsr_values, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rdmsr_apic_base_secondary, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wrmsr_fixed_values, setup, teardown),
    cmocka_unit_test_setup_teardown(test_clts_wbinvd, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mov_cr3_cr2, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mov_cr0, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mov_cr4, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mov_dr, setup, teardown),
    cmocka_unit_test_setup_teardown(test_port_io_needs_iopl, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cli_sti_event_mask, setup, teardown),
    cmocka_unit_test_setup_teardown(test_prefixes_and_unknown, setup, teardown),
    cmocka_unit_test_setup_teardown(test_xsetbv_validation, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cpuid_xen_leaves, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cpuid_leaf1, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cpuid_other_leaves, setup, teardown),
    cmocka_unit_test_setup_teardown(test_forced_emulation_prefix, setup, teardown),
};

static const struct CMUnitTest bugs[] = {
    cmocka_unit_test_setup_teardown(test_insn_at_page_end, setup, teardown),
};

CORE_TEST_MAIN("stubcore-emulate", tests, bugs)
