/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Descriptor tables (pv-abi.md 1.9, 2.4): set_gdt with our own frame
 * (refused while the frame is writable-mapped), descriptors audited in
 * place (DPL 0 data raised to 3, a call gate stored with DPL 0), the frame
 * then refuses writable mappings and direct stores, update_descriptor
 * changes entries and refuses TSS/LDT/interrupt-gate descriptors, bad
 * call-gate targets, misaligned addresses and page-table frames; a set_gdt
 * with a hostile frame fails and leaves the old GDT (and the frame untyped);
 * MMUEXT_SET_LDT with an entry used through an LDT selector.
 *
 * What the CPU sees differs by platform.  hw: the hardware GDT/LDT are the
 * stub's copies, so lsl/lar and selector loads see our descriptors.  pvm:
 * lsl/lar run natively against the host's GDT; a selector load that faults
 * there is emulated by the host against the stub's GDT (base applied, the
 * selector itself reads back 0), so the checks use the FS base.
 */
#include "xkg.h"

const char test_title[] = "descriptors: set_gdt, update_descriptor, SET_LDT, descriptor audit";

static uint64_t gdt[512] __aligned(4096);
static uint64_t bad_gdt[512] __aligned(4096);
static uint64_t ldt[512] __aligned(4096);

#define D_CODE32 0x00cffb000000ffffUL
#define D_DATA	 0x00cff3000000ffffUL
#define D_CODE64 0x00affb000000ffffUL
/* DPL-3 data, base 0x012000, byte limit 0x1234 */
#define D_SEL53	   0x0040f30120001234UL
#define D_SEL53_B  0x0040f30120002345UL /* limit 0x2345 */
#define D_DPL0	   0x0040930000005678UL /* DPL-0 data: audit raises DPL */
#define D_DPL0_FIX 0x0040f30000005678UL
/* DPL-3 data, base 0x00345000, 4 GiB: a TLS-style descriptor */
#define D_TLS	0x00cff3345000ffffUL
#define D_TLS_B 0x00cff3456000ffffUL /* base 0x00456000 */
#define D_LDT1	0x0040f35670000777UL /* base 0x00567000, limit 0x777 */
#define D_LDT1B 0x0040f35670000999UL
/* system descriptors a guest may not write */
#define D_TSS	  0x0000890000000067UL
#define D_LDTDESC 0x0000820000000fffUL
#define D_INTGATE 0x00008e0000101000UL
/* 64-bit call gate, DPL 3, target 0xe033 (FLAT_KERNEL_CS) / 0xe008 (Xen's) */
#define D_GATE_OK  0x0000ec00e0331000UL
#define D_GATE_FIX 0x00008c00e0331000UL /* DPL 0, target RPL 3 */
#define D_GATE_BAD 0x0000ec00e0081000UL

static uint64_t maddr(const void *p)
{
	return (xkg_virt_to_mfn(p) << 12) | ((uint64_t)p & 0xfff);
}

static long map(const void *va, bool rw)
{
	uint64_t pte = (xkg_virt_to_mfn(va) << 12) | _PAGE_PRESENT | _PAGE_ACCESSED;
	if (rw)
		pte |= _PAGE_RW | _PAGE_DIRTY;
	return HYPERVISOR_update_va_mapping((unsigned long)va, pte, UVMF_INVLPG);
}

static long set_gdt(const void *frame, unsigned ents)
{
	unsigned long mfn = xkg_virt_to_mfn(frame);
	return xkg_hcall(__HYPERVISOR_set_gdt, &mfn, ents, 0, 0, 0);
}

static long update_desc(uint64_t ma, uint64_t d)
{
	return xkg_hcall(__HYPERVISOR_update_descriptor, ma, d, 0, 0, 0);
}

static long set_ldt(const void *base, unsigned ents)
{
	struct mmuext_op op = {.cmd = MMUEXT_SET_LDT};
	op.arg1.linear_addr = (unsigned long)base;
	op.arg2.nr_ents = ents;
	return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

static long set_segment_base(unsigned which, uint64_t v)
{
	return xkg_hcall(__HYPERVISOR_set_segment_base, which, v, 0, 0, 0);
}

static bool lsl(uint16_t sel, uint32_t *lim)
{
	uint32_t l = 0;
	uint8_t ok;
	asm volatile("lsl %2, %0; setz %1" : "=r"(l), "=q"(ok) : "r"((uint32_t)sel));
	*lim = l;
	return ok;
}

static bool lar(uint16_t sel, uint32_t *ar)
{
	uint32_t a = 0;
	uint8_t ok;
	asm volatile("lar %2, %0; setz %1" : "=r"(a), "=q"(ok) : "r"((uint32_t)sel));
	*ar = a;
	return ok;
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

/* Load sel into %fs; false if it faulted (vector in *vec). */
static bool load_fs(uint16_t sel, uint64_t *vec)
{
	xkg_fault_clear();
	asm volatile("1: mov %w0, %%fs\n\t2:\n\t" XKG_EXTABLE(1b, 2b)::"r"(sel) : "memory");
	*vec = xkg_last_fault.valid ? xkg_last_fault.vector : ~0UL;
	return !xkg_last_fault.valid;
}

static uint16_t read_fs(void)
{
	uint16_t s;
	asm volatile("mov %%fs, %0" : "=r"(s));
	return s;
}

/* The hardware must see descriptor d behind sel: hw through lsl (limit)
 * and a load (selector kept), pvm through the base a load gives FS. */
static void expect_seen(uint16_t sel, uint64_t d, const char *what)
{
	uint32_t lim_want = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	if (d & (1UL << 55)) /* G: 4 KiB units */
		lim_want = (lim_want << 12) | 0xfff;
	uint64_t base_want = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	uint64_t vec;

	if (!xkg_on_pvm()) {
		uint32_t lim;
		CHECK(lsl(sel, &lim) && lim == lim_want, "%s: lsl %#x: %#x, want %#x", what, sel,
		      lim, lim_want);
	}
	CHECK(load_fs(sel, &vec), "%s: loading %#x into %%fs faulted (vector %lu)", what, sel, vec);
	if (!xkg_on_pvm())
		CHECK_EQ(read_fs(), sel, "selector in %fs");
	CHECK_EQ(rdmsr(0xc0000100), base_want, "FS base from the descriptor");
	load_fs(0, &vec);
}

static void expect_not_loadable(uint16_t sel, const char *what)
{
	uint64_t vec;
	CHECK(!load_fs(sel, &vec) && vec == 13, "%s: %#x loaded (or not #GP: %lu)", what, sel, vec);
	load_fs(0, &vec);
}

static void test_gdt(void)
{
	memset(gdt, 0, sizeof(gdt));
	gdt[4] = D_CODE32;
	gdt[5] = D_DATA;
	gdt[6] = D_CODE64;
	gdt[10] = D_SEL53;
	gdt[11] = D_DPL0;
	gdt[12] = D_TLS;
	gdt[14] = D_GATE_OK;

	CHECK_EQ(set_gdt(gdt, 16), -XEN_EINVAL, "set_gdt of a writable-mapped frame");
	CHECK_EQ(map(gdt, false), 0, "update_va_mapping(gdt, read-only)");
	CHECK_EQ(set_gdt(gdt, FIRST_RESERVED_GDT_ENTRY + 1), -XEN_EINVAL,
		 "set_gdt beyond FIRST_RESERVED_GDT_ENTRY");
	CHECK_EQ(set_gdt(gdt, 16), 0, "set_gdt(own frame, 16)");
	CHECK_EQ(ACCESS_ONCE(gdt[11]), D_DPL0_FIX, "DPL-0 data descriptor after the audit");
	CHECK_EQ(ACCESS_ONCE(gdt[14]), D_GATE_FIX, "call gate after the audit");
	CHECK_EQ(ACCESS_ONCE(gdt[10]), D_SEL53, "plain descriptor unchanged");

	expect_seen(0x53, D_SEL53, "set_gdt");
	expect_seen(0x63, D_TLS, "set_gdt (TLS-style)");
	if (!xkg_on_pvm()) {
		uint32_t ar;
		CHECK(lar(0x5b, &ar) && ((ar >> 13) & 3) == 3, "lar 0x5b: %#x (DPL must be 3)", ar);
	}

	/* The frame is typed: no writable mapping, no direct store. */
	CHECK(map(gdt, true) != 0, "a writable mapping of a GDT frame was accepted");
	xkg_fault_clear();
	asm volatile("1: movq $0, (%0)\n\t2:\n\t" XKG_EXTABLE(1b, 2b)::"r"(&gdt[13]) : "memory");
	CHECK(xkg_last_fault.valid && xkg_last_fault.vector == 14, "store into the GDT frame: %s",
	      xkg_last_fault.valid ? "not a #PF" : "no fault");

	/* update_descriptor: the only way to change an entry. */
	CHECK_EQ(update_desc(maddr(&gdt[10]), D_SEL53_B), 0, "update_descriptor(0x53)");
	CHECK_EQ(ACCESS_ONCE(gdt[10]), D_SEL53_B, "frame after update_descriptor");
	expect_seen(0x53, D_SEL53_B, "update_descriptor");
	CHECK_EQ(update_desc(maddr(&gdt[12]), D_TLS_B), 0, "update_descriptor(0x63)");
	expect_seen(0x63, D_TLS_B, "update_descriptor (TLS-style)");
	CHECK_EQ(update_desc(maddr(&gdt[13]), D_DPL0), 0, "update_descriptor(DPL 0)");
	CHECK_EQ(ACCESS_ONCE(gdt[13]), D_DPL0_FIX, "DPL raised by update_descriptor");

	static const struct {
		uint64_t d;
		const char *what;
	} bad[] = {
	    {D_TSS, "TSS"},
	    {D_LDTDESC | (1UL << 47), "LDT"},
	    {D_INTGATE, "interrupt gate"},
	    {D_GATE_BAD, "call gate to 0xe008"},
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ(update_desc(maddr(&gdt[20]), bad[i].d), -XEN_EINVAL, bad[i].what);
	CHECK_EQ(ACCESS_ONCE(gdt[20]), 0UL, "refused descriptors left the entry alone");
	CHECK_EQ(update_desc(maddr(&gdt[20]) + 4, D_DATA), -XEN_EINVAL,
		 "misaligned update_descriptor");
	uint64_t l4 = maddr((void *)xkg_start_info->pt_base);
	CHECK_EQ(update_desc(l4 + 8, D_DATA), -XEN_EINVAL, "update_descriptor into the L4");

	/* A hostile frame: refused as a whole, the old GDT stays. */
	memset(bad_gdt, 0, sizeof(bad_gdt));
	bad_gdt[5] = D_DATA;
	bad_gdt[300] = D_TSS;
	CHECK_EQ(map(bad_gdt, false), 0, "update_va_mapping(bad_gdt, read-only)");
	CHECK_EQ(set_gdt(bad_gdt, 512), -XEN_EINVAL, "set_gdt with a TSS descriptor");
	expect_seen(0x53, D_SEL53_B, "after the refused set_gdt");
	CHECK_EQ(map(bad_gdt, true), 0, "refused frame is untyped again (writable mapping)");
	CHECK_EQ(update_desc(maddr(&bad_gdt[7]), D_DATA), 0,
		 "update_descriptor on an ordinary page");
}

static void test_ldt(void)
{
	memset(ldt, 0, sizeof(ldt));
	ldt[1] = D_LDT1;
	CHECK_EQ(map(ldt, false), 0, "update_va_mapping(ldt, read-only)");
	CHECK_EQ(set_ldt((char *)ldt + 8, 4), -XEN_EINVAL, "SET_LDT, unaligned base");
	CHECK_EQ(set_ldt(ldt, 8193), -XEN_EINVAL, "SET_LDT, 8193 entries");
	CHECK_EQ(set_ldt(ldt, 4), 0, "SET_LDT(ldt, 4)");
	{
		expect_seen(0x0f, D_LDT1, "SET_LDT");
		CHECK_EQ(update_desc(maddr(&ldt[1]), D_LDT1B), 0, "update_descriptor in the LDT");
		expect_seen(0x0f, D_LDT1B, "update_descriptor in the LDT");
		expect_not_loadable(0x2f, "LDT entry 5 of 4");
	}
	CHECK(map(ldt, true) != 0, "a writable mapping of an LDT frame was accepted");
	CHECK_EQ(set_ldt(NULL, 0), 0, "SET_LDT(0, 0)");
	if (!xkg_on_pvm())
		expect_not_loadable(0x0f, "LDT selector without an LDT");
	CHECK_EQ(map(ldt, true), 0, "LDT frame writable again after SET_LDT(0)");
}

/* ---- the user GS selector: SEGBASE_GS_USER_SEL and user-mode loads ---- */

#define USER_MAGIC 0x4444
static char user_stack[8192] __aligned(4096);
static char kernel_stack[16384] __aligned(4096);
static struct {
	uint64_t gs_base_user, gps;
	uint16_t gs_sel;
} seen;

/* clang-format off */
extern const char user_entry[];
asm(".pushsection .text\n"
    "user_entry:\n\t"
    "mov $0x63, %eax\n\t"
    "mov %ax, %gs\n\t"       /* 32-bit TLS style: %gs from the GDT */
    "mov $0x4444, %edi\n\t"
    "syscall\n\t"
    "ud2\n"
    ".popsection");
/* clang-format on */

static uint16_t read_gs(void)
{
	uint16_t s;
	asm volatile("mov %%gs, %0" : "=r"(s));
	return s;
}

static bool on_syscall(struct xkg_regs *r)
{
	seen.gs_base_user = rdmsr(0xc0000102); /* MSR_KERNEL_GS_BASE: the user's */
	seen.gs_sel = read_gs();
	xkg_exit_user((long)r->rdi);
}

static bool on_gp(struct xkg_regs *r)
{
	if ((r->cs & 3) != 3)
		return false;
	seen.gps++;
	xkg_exit_user(-2);
}

static void test_gs_user(void)
{
	long rc;

	/* From the kernel: Linux's load_gs_index(). */
	CHECK_EQ(set_segment_base(SEGBASE_GS_USER_SEL, 0x63), 0,
		 "set_segment_base(GS_USER_SEL, 0x63)");
	/* pvm: KVM, not the stub, answers the kernel's rdmsr, and the
	 * selector is not kept: nothing to observe from here. */
	if (!xkg_on_pvm()) {
		CHECK_EQ(rdmsr(0xc0000102), 0x456000, "user GS base after GS_USER_SEL 0x63");
		CHECK_EQ(read_gs(), 0x63, "%gs after GS_USER_SEL 0x63");
	}
	CHECK_EQ(set_segment_base(SEGBASE_GS_USER_SEL, 0xa3), 0,
		 "set_segment_base(GS_USER_SEL, empty entry)");
	if (!xkg_on_pvm()) {
		CHECK_EQ(rdmsr(0xc0000102), 0, "user GS base after a selector that would fault");
		CHECK_EQ(read_gs(), 0, "%gs after a selector that would fault");
	}

	/* From user mode: the base a selector load gives must survive the
	 * way into the kernel. */
	struct shared_info *sh = xkg_map_shared_info(&rc);
	if (sh)
		xkg_evtchn_init(&sh->vcpu_info[0], sh);
	struct mmuext_op op = {.cmd = MMUEXT_NEW_USER_BASEPTR};
	op.arg1.mfn = xkg_virt_to_mfn((void *)xkg_start_info->pt_base);
	CHECK_EQ(HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF), 0, "NEW_USER_BASEPTR");
	CHECK_EQ(HYPERVISOR_stack_switch(FLAT_KERNEL_SS,
					 (uint64_t)(kernel_stack + sizeof(kernel_stack))),
		 0, "stack_switch");
	xkg_set_handler(XKG_VEC_SYSCALL, on_syscall);
	xkg_set_handler(13, on_gp);
	rc = xkg_enter_user((uint64_t)user_entry, (uint64_t)(user_stack + sizeof(user_stack)));
	printf("descriptors: user mode: result %#lx, #GP %lu, user GS base %#lx, %%gs %#x\n", rc,
	       seen.gps, seen.gs_base_user, seen.gs_sel);
	if (xkg_on_pvm()) {
		printf("descriptors: user-mode %%gs loads not checked on pvm\n");
	} else {
		CHECK_EQ(rc, USER_MAGIC, "user mode ran to its syscall");
		CHECK_EQ(seen.gs_base_user, 0x456000, "user GS base loaded in user mode");
		CHECK_EQ(seen.gs_sel, 0x63, "%gs loaded in user mode");
	}
	set_segment_base(SEGBASE_GS_USER_SEL, 0);
}

void test_main(void)
{
	long rc = xkg_image_user_accessible();
	if (rc) {
		xkg_error("giving the image the U bit: %ld", rc);
		return;
	}
	rc = xkg_setup_traps();
	if (rc) {
		xkg_error("set_trap_table = %ld", rc);
		return;
	}
	rc = xkg_setup_callbacks();
	if (rc) {
		xkg_error("CALLBACKOP_register = %ld", rc);
		return;
	}
	test_gdt();
	test_ldt();
	test_gs_user();
	uint64_t vec;
	load_fs(0, &vec);
}
