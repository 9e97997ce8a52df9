/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/desc.c: the descriptor audit, set_gdt, update_descriptor and
 * MMUEXT_SET_LDT on a small page-table tree in the fake direct map; the
 * fake platform records what the hardware GDT/LDT would show.
 */
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "mm.h"

#define P  PTE_P
#define RW PTE_RW

/* L4 (1) -> L3 (2) -> L2 (3) -> L1 (4) covering VA 4-6 MiB. */
enum {
	F_L4 = 1,
	F_L3 = 2,
	F_L2 = 3,
	F_L1 = 4,
	F_GDT = 20,
	F_GDT2 = 21,
	F_LDT = 22,
	F_LDT2 = 23,
	F_RW = 24,
	F_BAD = 25
};
#define VA(i) (0x400000ULL + (uint64_t)(i)*4096)
/* VA(0) GDT, VA(1) GDT2, VA(2..3) LDT pages, VA(4) RW page, VA(5) BAD,
 * VA(6) unmapped */
#define VA_LDT VA(2)

#define D_DATA		 0x00cff3000000ffffULL
#define D_DATA_DPL0	 0x00cf93000000ffffULL
#define D_CODE_DPL1	 0x00afbb000000ffffULL
#define D_CODE_XO	 0x00aff8000000ffffULL /* execute-only code */
#define D_BASED		 0x00cff3345000ffffULL /* base 0x345000 */
#define D_TSS		 0x0000890000000067ULL
#define D_LDT		 0x0000820000000fffULL
#define D_INTGATE	 0x00008e0000101000ULL
#define D_TRAPGATE	 0x00008f0000101000ULL
#define D_GATE(sel, dpl) (0x00008c0000001000ULL | ((uint64_t)(sel) << 16) | ((uint64_t)(dpl) << 45))

static uint64_t *tbl(unsigned mfn)
{
	return (uint64_t *)(fake_ram() + (uint64_t)mfn * 4096);
}

static uint64_t pte(uint64_t mfn, uint64_t flags)
{
	return (mfn << 12) | flags;
}

static uint64_t fi(unsigned mfn)
{
	return ((uint64_t *)((uint8_t *)fake_bi() + FAKE_FRAMEINFO_OFF))[mfn];
}

static unsigned tcount(unsigned mfn)
{
	return (unsigned)((fi(mfn) >> 8) & 0xffffff);
}

static struct pcpu *pc0;

static int setup_n(unsigned nr)
{
	fake_world_init(nr, 2100000);
	tbl(F_L4)[0] = pte(F_L3, P | RW);
	tbl(F_L3)[0] = pte(F_L2, P | RW);
	tbl(F_L2)[2] = pte(F_L1, P | RW);
	tbl(F_L1)[0] = pte(F_GDT, P);
	tbl(F_L1)[1] = pte(F_GDT2, P);
	tbl(F_L1)[2] = pte(F_LDT, P);
	tbl(F_L1)[3] = pte(F_LDT2, P);
	tbl(F_L1)[4] = pte(F_RW, P | RW);
	tbl(F_L1)[5] = pte(F_BAD, P);
	assert_int_equal(mm_take_boot_tables(fake_pc(0), F_L4), 0);
	for (unsigned i = 1; i < nr; i++)
		fake_pc(i)->v.cr3_kernel = fake_pc(0)->v.cr3_kernel;
	pc0 = fake_pc(0);
	return 0;
}

static int setup(void **state)
{
	return setup_n(1);
}

static int setup2(void **state)
{
	return setup_n(2);
}

static long set_gdt(struct pcpu *pc, const uint64_t *frames, uint64_t ents)
{
	return do_set_gdt(pc, gva(frames), ents);
}

static long set_ldt(uint64_t base, unsigned ents)
{
	struct mmuext_op op = {.cmd = MMUEXT_SET_LDT};
	op.arg1.linear_addr = base;
	op.arg2.nr_ents = ents;
	return do_mmuext_op(pc0, gva(&op), 1, 0, DOMID_SELF);
}

static void test_audit(void **state)
{
	uint64_t d;

	d = D_DATA & ~(1ULL << 47); /* not present: anything goes */
	d |= 0xf00ULL << 32;
	uint64_t np = d;
	assert_true(desc_check(&d));
	assert_int_equal(d, np);

	d = D_DATA;
	assert_true(desc_check(&d));
	assert_int_equal(d, D_DATA);
	d = D_DATA_DPL0; /* DPL 0 -> 3 */
	assert_true(desc_check(&d));
	assert_int_equal(d, D_DATA_DPL0 | (3ULL << 45));
	d = D_CODE_DPL1;
	assert_true(desc_check(&d));
	assert_int_equal(d, D_CODE_DPL1 | (3ULL << 45));

	static const uint64_t refused[] = {D_TSS,
					   D_LDT | (1ULL << 47),
					   D_INTGATE,
					   D_TRAPGATE,
					   0x00008b0000000067ULL /* busy TSS */,
					   0x0000840000000000ULL /* 16-bit call gate */};
	for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
		d = refused[i];
		assert_false(desc_check(&d));
	}

	/* Call gates: guest or FLAT_KERNEL_CS or LDT targets only; stored
	 * with DPL 0 and the (raised) DPL in the target's RPL. */
	d = D_GATE(0x10, 3);
	assert_true(desc_check(&d));
	assert_int_equal(d, D_GATE(0x13, 0));
	d = D_GATE(0x10, 0);
	assert_true(desc_check(&d));
	assert_int_equal(d, D_GATE(0x13, 0));
	d = D_GATE(FLAT_KERNEL_CS, 3);
	assert_true(desc_check(&d));
	d = D_GATE(0xe00c, 3); /* LDT selector */
	assert_true(desc_check(&d));
	d = D_GATE(0xe008, 3); /* the stub's ring-0 CS */
	assert_false(desc_check(&d));
	d = D_GATE(0x10, 3) | (1ULL << 32); /* reserved bits */
	assert_false(desc_check(&d));
	d = 0x0000000012345678ULL; /* type 0: upper half of a gate */
	assert_true(desc_check(&d));
	assert_int_equal(d, 0x0000000012345678ULL);
}

static void test_set_gdt(void **state)
{
	uint64_t frames[2] = {F_GDT, F_GDT2};

	tbl(F_GDT)[5] = D_DATA;
	tbl(F_GDT)[11] = D_DATA_DPL0;
	tbl(F_GDT)[511] = D_DATA;
	tbl(F_GDT2)[0] = D_BASED;
	tbl(F_GDT2)[100] = D_DATA; /* beyond the entries: not shown */
	assert_int_equal(set_gdt(pc0, frames, 513), 0);
	assert_int_equal(frame_type(F_GDT), XK_FT_SEG_DESC);
	assert_int_equal(frame_type(F_GDT2), XK_FT_SEG_DESC);
	assert_int_equal(tcount(F_GDT), 1);
	/* audited in place, shown to the hardware */
	assert_int_equal(tbl(F_GDT)[11], D_DATA_DPL0 | (3ULL << 45));
	assert_int_equal(fake_gdt(0)[11], D_DATA_DPL0 | (3ULL << 45));
	assert_int_equal(fake_gdt(0)[5], D_DATA);
	assert_int_equal(fake_gdt(0)[511], D_DATA);
	assert_int_equal(fake_gdt(0)[512], D_BASED);
	assert_int_equal(fake_gdt(0)[612], 0);
	assert_true(dom.desc_bases);
	assert_int_equal(pc0->v.gdt_ents, 513);

	/* Typed frames take no writable mapping. */
	assert_int_not_equal(do_update_va_mapping(pc0, VA(0), pte(F_GDT, P | RW), 0), 0);
	assert_int_equal(tbl(F_L1)[0] & RW, 0);

	/* A smaller GDT on one frame: the second is released and hidden. */
	assert_int_equal(set_gdt(pc0, frames, 16), 0);
	assert_int_equal(frame_type(F_GDT2), XK_FT_NONE);
	assert_int_equal(tcount(F_GDT), 1);
	assert_int_equal(fake_gdt(0)[512], 0);
	assert_int_equal(fake_gdt(0)[511], 0);
	assert_int_equal(fake_gdt(0)[5], D_DATA);
	assert_int_equal(do_update_va_mapping(pc0, VA(1), pte(F_GDT2, P | RW), 0), 0);

	/* No GDT at all. */
	assert_int_equal(set_gdt(pc0, frames, 0), 0);
	assert_int_equal(frame_type(F_GDT), XK_FT_NONE);
	assert_int_equal(fake_gdt(0)[5], 0);
}

static void test_set_gdt_refusals(void **state)
{
	uint64_t frames[FIRST_RESERVED_GDT_PAGE + 1];

	for (unsigned i = 0; i < ARRAY_SIZE(frames); i++)
		frames[i] = F_GDT;
	tbl(F_GDT)[3] = D_DATA;
	assert_int_equal(set_gdt(pc0, frames, 1), 0);

	assert_int_equal(set_gdt(pc0, frames, FIRST_RESERVED_GDT_ENTRY + 1), -EINVAL);
	assert_int_equal(do_set_gdt(pc0, FAKE_BAD_VA, 16), -EFAULT);
	uint64_t nonram[1] = {FAKE_NR_PAGES + 3};
	assert_int_equal(set_gdt(pc0, nonram, 16), -EINVAL);
	uint64_t huge[1] = {~0ULL};
	assert_int_equal(set_gdt(pc0, huge, 16), -EINVAL);
	/* writable-mapped frame */
	uint64_t rw[1] = {F_RW};
	assert_int_equal(set_gdt(pc0, rw, 16), -EINVAL);
	assert_int_equal(frame_type(F_RW), XK_FT_NONE);
	/* a page table */
	uint64_t pt[1] = {F_L1};
	assert_int_equal(set_gdt(pc0, pt, 16), -EINVAL);
	/* hostile second frame: the first one's new reference is rolled
	 * back, the old GDT stays */
	tbl(F_BAD)[300] = D_TSS;
	uint64_t two[2] = {F_GDT2, F_BAD};
	assert_int_equal(set_gdt(pc0, two, 1024), -EINVAL);
	assert_int_equal(frame_type(F_GDT2), XK_FT_NONE);
	assert_int_equal(frame_type(F_BAD), XK_FT_NONE);
	assert_int_equal(pc0->v.gdt_ents, 1);
	assert_int_equal(tcount(F_GDT), 1);
	assert_int_equal(fake_gdt(0)[0], tbl(F_GDT)[0]);

	/* The same frame in every slot: one reference per slot. */
	assert_int_equal(set_gdt(pc0, frames, FIRST_RESERVED_GDT_ENTRY), 0);
	assert_int_equal(tcount(F_GDT), FIRST_RESERVED_GDT_PAGE);
	assert_int_equal(fake_gdt(0)[13 * 512 + 3], D_DATA);
	assert_int_equal(set_gdt(pc0, frames, 0), 0);
	assert_int_equal(tcount(F_GDT), 0);
	assert_int_equal(frame_type(F_GDT), XK_FT_NONE);
}

static void test_update_descriptor(void **state)
{
	uint64_t frames[1] = {F_GDT};
	uint64_t ma = (uint64_t)F_GDT << 12;

	assert_int_equal(set_gdt(pc0, frames, 32), 0);
	assert_int_equal(set_gdt(fake_pc(1), frames, 16), 0);
	assert_int_equal(tcount(F_GDT), 2);

	/* Written to the frame and to every vCPU showing that entry. */
	assert_int_equal(do_update_descriptor(pc0, ma + 12 * 8, D_DATA_DPL0), 0);
	assert_int_equal(tbl(F_GDT)[12], D_DATA_DPL0 | (3ULL << 45));
	assert_int_equal(fake_gdt(0)[12], D_DATA_DPL0 | (3ULL << 45));
	assert_int_equal(fake_gdt(1)[12], D_DATA_DPL0 | (3ULL << 45));
	assert_int_equal(do_update_descriptor(pc0, ma + 20 * 8, D_DATA), 0);
	assert_int_equal(fake_gdt(0)[20], D_DATA);
	assert_int_equal(fake_gdt(1)[20], 0); /* beyond vCPU 1's 16 entries */

	/* Refusals leave everything alone. */
	static const uint64_t bad[] = {D_TSS, D_LDT | (1ULL << 47), D_INTGATE, D_GATE(0xe008, 3)};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(do_update_descriptor(pc0, ma + 13 * 8, bad[i]), -EINVAL);
	assert_int_equal(tbl(F_GDT)[13], 0);
	assert_int_equal(fake_gdt(0)[13], 0);
	assert_int_equal(do_update_descriptor(pc0, ma + 13 * 8 + 4, D_DATA), -EINVAL);
	assert_int_equal(do_update_descriptor(pc0, (uint64_t)F_L1 << 12, D_DATA), -EINVAL);
	assert_int_equal(tbl(F_L1)[0], pte(F_GDT, P | PTE_U));
	assert_int_equal(do_update_descriptor(pc0, (uint64_t)(FAKE_NR_PAGES + 1) << 12, D_DATA),
			 -EINVAL);
	assert_int_equal(do_update_descriptor(pc0, ~7ULL, D_DATA), -EINVAL);

	/* An ordinary page: a plain store, nothing shown. */
	assert_int_equal(do_update_descriptor(pc0, ((uint64_t)F_RW << 12) + 8, D_DATA), 0);
	assert_int_equal(tbl(F_RW)[1], D_DATA);
	assert_int_equal(frame_type(F_RW), XK_FT_NONE);
	assert_false(dom.desc_bases);
	assert_int_equal(do_update_descriptor(pc0, ma + 14 * 8, D_BASED), 0);
	assert_true(dom.desc_bases);
}

static void test_set_ldt(void **state)
{
	tbl(F_LDT)[1] = D_DATA;
	tbl(F_LDT2)[0] = D_BASED;
	tbl(F_LDT2)[1] = D_DATA; /* entry 513: beyond 513 entries */

	assert_int_equal(set_ldt(VA_LDT + 8, 4), -EINVAL);
	assert_int_equal(set_ldt(VA_LDT, 8193), -EINVAL);
	assert_int_equal(set_ldt(0xffff830000000000ULL, 4), -EINVAL); /* the stub's */
	assert_int_equal(fake.ldt_loads, 0);

	assert_int_equal(set_ldt(VA_LDT, 513), 0);
	assert_int_equal(fake.ldt_loads, 1);
	assert_int_equal(fake.ldt_ents, 513);
	assert_int_equal(frame_type(F_LDT), XK_FT_SEG_DESC);
	assert_int_equal(frame_type(F_LDT2), XK_FT_SEG_DESC);
	assert_int_equal(fake_ldt(0)[1], D_DATA);
	assert_int_equal(fake_ldt(0)[512], D_BASED);
	assert_int_equal(fake_ldt(0)[513], 0);
	/* LDT frames take no writable mapping while loaded */
	assert_int_not_equal(do_update_va_mapping(pc0, VA_LDT, pte(F_LDT, P | RW), 0), 0);
	/* update_descriptor reaches the copy */
	assert_int_equal(do_update_descriptor(pc0, ((uint64_t)F_LDT << 12) + 16, D_DATA), 0);
	assert_int_equal(fake_ldt(0)[2], D_DATA);

	/* unchanged: not reloaded (as Xen) */
	assert_int_equal(set_ldt(VA_LDT, 513), 0);
	assert_int_equal(fake.ldt_loads, 1);

	/* none: types dropped, copies cleared */
	assert_int_equal(set_ldt(0, 0), 0);
	assert_int_equal(fake.ldt_loads, 2);
	assert_int_equal(fake.ldt_ents, 0);
	assert_int_equal(frame_type(F_LDT), XK_FT_NONE);
	assert_int_equal(frame_type(F_LDT2), XK_FT_NONE);
	assert_int_equal(fake_ldt(0)[1], 0);
	assert_int_equal(fake_ldt(0)[512], 0);
	assert_int_equal(do_update_va_mapping(pc0, VA_LDT, pte(F_LDT, P | RW), 0), 0);
}

static void test_set_ldt_bad_pages(void **state)
{
	/* A writable page, a hostile page and an unmapped one: accepted (as
	 * Xen's lazy mapping would), left empty, nothing typed. */
	tbl(F_RW)[0] = D_DATA;
	assert_int_equal(set_ldt(VA(4), 10), 0);
	assert_int_equal(frame_type(F_RW), XK_FT_NONE);
	assert_int_equal(fake_ldt(0)[0], 0);
	tbl(F_BAD)[7] = D_TSS;
	tbl(F_BAD)[0] = D_DATA;
	assert_int_equal(set_ldt(VA(5), 10), 0);
	assert_int_equal(frame_type(F_BAD), XK_FT_NONE);
	assert_int_equal(fake_ldt(0)[0], 0);
	assert_int_equal(set_ldt(VA(6), 10), 0);
	assert_int_equal(pc0->v.ldt_loaded, 0);
	uint64_t sel_base;
	assert_false(desc_selector_base(pc0, 0x07, &sel_base));
	assert_int_equal(set_ldt(0, 0), 0);
}

static long hc(uint64_t nr, uint64_t a1, uint64_t a2)
{
	struct cpu_regs *r = fake_regs(0);
	r->rax = nr;
	r->rdi = a1;
	r->rsi = a2;
	do_hypercall(pc0, r);
	return (long)r->rax;
}

static void test_gs_user_sel(void **state)
{
	uint64_t frames[1] = {F_GDT};

	tbl(F_GDT)[12] = D_BASED;
	tbl(F_GDT)[13] = D_CODE_XO;
	tbl(F_GDT)[14] = D_DATA & ~(1ULL << 47);
	tbl(F_LDT)[0] = 0x00cff3abc000ffffULL; /* base 0xabc000 */
	assert_int_equal(set_gdt(pc0, frames, 16), 0);
	assert_int_equal(set_ldt(VA_LDT, 1), 0);
	pc0->v.gs_base_kernel = 0x7777;

	assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, 0x63), 0);
	assert_int_equal(fake.gs_sel, 0x63);
	assert_int_equal(fake.gs_last, 0x7777); /* kernel base put back */
	assert_int_equal(pc0->v.gs_base_user, 0x345000);
	assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, 0x07), 0);
	assert_int_equal(fake.gs_sel, 0x07);
	assert_int_equal(pc0->v.gs_base_user, 0xabc000);
	/* would fault: the null selector, base 0 */
	static const uint16_t bad[] = {0x6b /* execute-only */, 0x73 /* not present */,
				       0x83 /* beyond 16 */, 0x0f /* beyond the LDT */,
				       0xe008 /* stub's */};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		pc0->v.gs_base_user = 1;
		assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, bad[i]), 0);
		assert_int_equal(fake.gs_sel, 0);
		assert_int_equal(pc0->v.gs_base_user, 0);
	}
	/* flat ones */
	assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, 0xe02b), 0);
	assert_int_equal(fake.gs_sel, 0xe02b);
	assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, 0), 0);
	assert_int_equal(fake.gs_sel, 0);

	/* A user-mode %gs load is kept across the switch to the kernel once
	 * based descriptors exist. */
	pc0->v.cr3_user = pc0->v.cr3_kernel;
	pc0->v.gs_base_user = 0x1000;
	toggle_guest_mode(pc0); /* to user */
	fake.hw_gs_base = 0x345000;
	toggle_guest_mode(pc0); /* back */
	assert_int_equal(pc0->v.gs_base_user, 0x345000);
	assert_int_equal(fake.gs_last, 0x7777);
	assert_int_equal(set_ldt(0, 0), 0);
}

static void test_toggle_without_based_descriptors(void **state)
{
	pc0->v.cr3_user = pc0->v.cr3_kernel;
	pc0->v.gs_base_user = 0x1000;
	fake.hw_gs_base = 0x2000;
	toggle_guest_mode(pc0);
	toggle_guest_mode(pc0);
	assert_int_equal(pc0->v.gs_base_user, 0x1000);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_audit),
    cmocka_unit_test_setup(test_set_gdt, setup),
    cmocka_unit_test_setup(test_set_gdt_refusals, setup),
    cmocka_unit_test_setup(test_update_descriptor, setup2),
    cmocka_unit_test_setup(test_set_ldt, setup),
    cmocka_unit_test_setup(test_set_ldt_bad_pages, setup),
    cmocka_unit_test_setup(test_gs_user_sel, setup),
    cmocka_unit_test_setup(test_toggle_without_based_descriptors, setup),
};

CORE_TEST_MAIN_NOBUGS("stubcore-desc", tests)
