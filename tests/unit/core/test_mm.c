/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/mm.c and core/ptwr.c: the PV MMU on a small page-table tree in the
 * fake direct map (guest RAM in host memory), typed by mm_take_boot_tables
 * as at boot.
 */
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "mm.h"

#define P  PTE_P
#define RW PTE_RW
#define U  PTE_U

/* Bootstrap tree: L4 (1) -> L3 (2) -> L2 (3) -> L1 (4) covering VA 4-6 MiB. */
enum { F_L4 = 1, F_L3 = 2, F_L2 = 3, F_L1 = 4, F_L1B = 5, F_L4B = 6, F_DATA = 10 };
#define VA_BASE 0x400000ULL /* L4 0, L3 0, L2 2 */
#define VA(i)	(VA_BASE + (uint64_t)(i)*4096)
#define VA_L1	VA(4)		    /* the L1 itself, read-only */
#define NOT_RAM (FAKE_NR_PAGES + 3) /* a stub-region frame */

static struct cpu_regs *r;

static uint64_t *tbl(unsigned mfn)
{
	return (uint64_t *)(fake_ram() + (uint64_t)mfn * 4096);
}

static uint64_t pte(uint64_t mfn, uint64_t flags)
{
	return (mfn << 12) | flags;
}

static void build_tree(void)
{
	tbl(F_L4)[0] = pte(F_L3, P | RW);
	tbl(F_L3)[0] = pte(F_L2, P | RW);
	tbl(F_L2)[2] = pte(F_L1, P | RW);
	tbl(F_L1)[0] = pte(F_DATA, P | RW);
	tbl(F_L1)[1] = pte(F_DATA + 1, P);
	tbl(F_L1)[4] = pte(F_L1, P); /* the L1 maps itself read-only */
	tbl(F_L1)[5] = pte(F_L2, P); /* and its parent */
	for (unsigned i = 0; i < XK_HOLE_NR_SLOTS; i++)
		fake_bi()->hole_l4e[i] = 0xabc000 + i * 0x1000 + 0x63;
}

static int setup(void **state)
{
	fake_world_init(1, 2100000);
	build_tree();
	assert_int_equal(mm_take_boot_tables(fake_pc(0), F_L4), 0);
	r = fake_regs(0);
	return 0;
}

static int setup_bare(void **state)
{
	fake_world_init(1, 2100000);
	build_tree();
	r = fake_regs(0);
	return 0;
}

static long uvm(uint64_t va, uint64_t val, uint64_t flags)
{
	return do_update_va_mapping(fake_pc(0), va, val, flags);
}

static long mmuext1(unsigned cmd, uint64_t arg1, uint64_t arg2, uint32_t *done)
{
	struct mmuext_op op = {.cmd = cmd};
	op.arg1.mfn = arg1;
	op.arg2.nr_ents = (unsigned)arg2;
	if (cmd == MMUEXT_COPY_PAGE)
		op.arg2.src_mfn = arg2;
	return do_mmuext_op(fake_pc(0), gva(&op), 1, done ? gva(done) : 0, DOMID_SELF);
}

static long mmu1(uint64_t ptr, uint64_t val)
{
	struct mmu_update u = {.ptr = ptr, .val = val};
	uint32_t done = 77;
	long rc = do_mmu_update(fake_pc(0), gva(&u), 1, gva(&done), DOMID_SELF);
	assert_int_equal(done, rc ? 0 : 1);
	return rc;
}

static uint64_t ma(unsigned mfn, unsigned idx)
{
	return (uint64_t)mfn * 4096 + idx * 8;
}

static void test_boot_tables_typed(void **state)
{
	assert_int_equal(frame_type(F_L4), XK_FT_L4);
	assert_int_equal(frame_type(F_L3), XK_FT_L3);
	assert_int_equal(frame_type(F_L2), XK_FT_L2);
	assert_int_equal(frame_type(F_L1), XK_FT_L1);
	assert_int_equal(frame_type(F_DATA), XK_FT_NONE);
	assert_int_equal(frame_type(NOT_RAM), XK_FT_NONE);
	assert_int_equal(fake_pc(0)->v.cr3_kernel, F_L4 * 4096ULL);
	/* present entries carry U (the guest kernel runs at CPL3) */
	assert_true(tbl(F_L4)[0] & U);
	assert_true(tbl(F_L3)[0] & U);
	assert_true(tbl(F_L2)[2] & U);
	assert_true(tbl(F_L1)[0] & U);
	assert_true(tbl(F_L1)[4] & U);
	/* the stub's L4 slots */
	for (unsigned i = 0; i < XK_HOLE_NR_SLOTS; i++)
		assert_int_equal(tbl(F_L4)[XK_HOLE_FIRST_SLOT + i], fake_bi()->hole_l4e[i]);
	uint64_t mfn = 0;
	uint64_t *e = l1e_of(fake_pc(0), VA(1), &mfn);
	assert_ptr_equal(e, &tbl(F_L1)[1]);
	assert_int_equal(mfn, F_L1);
	assert_null(l1e_of(fake_pc(0), VA_BASE + 0x200000, NULL)); /* L2 slot 3: empty */
}

static void expect_untyped_tree(void)
{
	for (unsigned f = F_L4; f <= F_L1; f++)
		assert_int_equal(frame_type(f), XK_FT_NONE);
}

static void test_boot_tables_rw_pagetable_refused(void **state)
{
	tbl(F_L1)[6] = pte(F_L3, P | RW); /* page table mapped writable */
	assert_int_not_equal(mm_take_boot_tables(fake_pc(0), F_L4), 0);
	expect_untyped_tree();
	/* ...and nothing was left half-counted: fixed, the tree validates */
	tbl(F_L1)[6] = pte(F_L3, P);
	assert_int_equal(mm_take_boot_tables(fake_pc(0), F_L4), 0);
	assert_int_equal(frame_type(F_L3), XK_FT_L3);
}

static void test_boot_tables_bad_entries(void **state)
{
	tbl(F_L1)[7] = pte(NOT_RAM, P);
	assert_int_not_equal(mm_take_boot_tables(fake_pc(0), F_L4), 0);
	expect_untyped_tree();
	tbl(F_L1)[7] = pte(FAKE_SHARED_MFN, P | RW);	  /* shared_info is allowed */
	tbl(F_L2)[3] = pte(F_DATA + 2, P | RW | PTE_PSE); /* no superpages */
	assert_int_not_equal(mm_take_boot_tables(fake_pc(0), F_L4), 0);
	expect_untyped_tree();
	tbl(F_L2)[3] = 0;
	tbl(F_L3)[1] = pte(F_L3, P); /* no linear page tables */
	assert_int_not_equal(mm_take_boot_tables(fake_pc(0), F_L4), 0);
	expect_untyped_tree();
	tbl(F_L3)[1] = 0;
	assert_int_equal(mm_take_boot_tables(fake_pc(0), F_L4), 0);
	assert_int_not_equal(mm_take_boot_tables(fake_pc(0), NOT_RAM), 0);
}

static void test_update_va_mapping(void **state)
{
	assert_int_equal(uvm(VA(2), pte(12, P | RW), UVMF_INVLPG), 0);
	assert_int_equal(tbl(F_L1)[2], pte(12, P | RW | U));
	assert_int_equal(fake.invlpg_calls, 1);
	assert_int_equal(fake.invlpg_last, VA(2));
	assert_int_equal(uvm(VA(3), pte(13, P), UVMF_TLB_FLUSH), 0);
	assert_int_equal(fake.flush_calls, 1);
	assert_int_equal(uvm(VA(3), 0, 0), 0); /* unmap, no flush asked */
	assert_int_equal(tbl(F_L1)[3], 0);
	assert_int_equal(fake.flush_calls, 1);
	assert_int_equal(fake.invlpg_calls, 1);
	/* shared_info: the one non-RAM frame a guest may map */
	assert_int_equal(uvm(VA(6), pte(FAKE_SHARED_MFN, P | RW), 0), 0);
	assert_int_equal(tbl(F_L1)[6], pte(FAKE_SHARED_MFN, P | RW | U));
}

static void test_update_va_mapping_refusals(void **state)
{
	uint64_t before = tbl(F_L1)[2];

	assert_int_equal(uvm(VA(2), pte(F_L2, P | RW), 0), -EINVAL); /* PT writable */
	assert_int_equal(uvm(VA(2), pte(F_L1, P | RW), 0), -EINVAL);
	assert_int_equal(uvm(VA(2), pte(NOT_RAM, P), 0), -EINVAL);
	assert_int_equal(uvm(VA(2), pte(1ULL << 39, P), 0), -EINVAL);
	assert_int_equal(tbl(F_L1)[2], before);
	assert_int_equal(uvm(VA(2), pte(F_L2, P), 0), 0); /* read-only is fine */
	/* no L1 for the address, or not a guest address at all */
	assert_int_equal(uvm(VA_BASE + 0x200000, pte(12, P), 0), -EINVAL);
	assert_int_equal(uvm(0x7f0000000000ULL, pte(12, P), 0), -EINVAL);
	assert_int_equal(uvm(XK_STUB_VA, pte(12, P), 0), -EINVAL);
	assert_int_equal(uvm(0x0000800000000000ULL, pte(12, P), 0), -EINVAL);
}

static void test_writable_count_blocks_typing(void **state)
{
	uint32_t done;

	assert_int_equal(uvm(VA(2), pte(12, P | RW), 0), 0);
	assert_int_equal(uvm(VA(3), pte(12, P | RW), 0), 0);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 12, 0, &done), -EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(uvm(VA(2), pte(12, P), 0), 0);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 12, 0, NULL), -EINVAL); /* one left */
	assert_int_equal(uvm(VA(3), 0, 0), 0);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 12, 0, &done), 0);
	assert_int_equal(done, 1);
	assert_int_equal(frame_type(12), XK_FT_L1);
	assert_int_equal(uvm(VA(3), pte(12, P | RW), 0), -EINVAL);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 12, 0, NULL), -EINVAL); /* pinned */
	assert_int_equal(mmuext1(MMUEXT_UNPIN_TABLE, 12, 0, NULL), 0);
	assert_int_equal(frame_type(12), XK_FT_NONE);
	assert_int_equal(mmuext1(MMUEXT_UNPIN_TABLE, 12, 0, NULL), -EINVAL);
	assert_int_equal(uvm(VA(3), pte(12, P | RW), 0), 0);
}

/* Linux's make_lowmem_page_readonly() drops the writable mapping with
 * update_va_mapping(flags 0) and then pins/links the page as a table: Xen
 * flushes TLBs when a page gains a page-table type after it was writable.
 * Without that a stale writable TLB entry lets the guest write its page
 * table unvalidated. */
static void test_type_change_flushes_stale_writable_tlb(void **state)
{
	assert_int_equal(uvm(VA(2), pte(12, P | RW), UVMF_INVLPG), 0);
	unsigned flushes = fake.flush_calls, invlpgs = fake.invlpg_calls;
	assert_int_equal(uvm(VA(2), pte(12, P), 0), 0);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 12, 0, NULL), 0);
	assert_true(fake.flush_calls > flushes || fake.invlpg_calls > invlpgs);
}

static void test_mmu_update_l1(void **state)
{
	assert_int_equal(mmu1(ma(F_L1, 8) | MMU_NORMAL_PT_UPDATE, pte(14, P | RW)), 0);
	assert_int_equal(tbl(F_L1)[8], pte(14, P | RW | U));
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 14, 0, NULL), -EINVAL); /* mapped RW */
	assert_int_equal(mmu1(ma(F_L1, 8), pte(F_L3, P | RW)), -EINVAL);
	assert_int_equal(tbl(F_L1)[8], pte(14, P | RW | U));
	/* PRESERVE_AD keeps hardware-set accessed/dirty bits */
	tbl(F_L1)[8] |= PTE_A | PTE_D;
	assert_int_equal(mmu1(ma(F_L1, 8) | MMU_PT_UPDATE_PRESERVE_AD, pte(14, P)), 0);
	assert_int_equal(tbl(F_L1)[8], pte(14, P | U | PTE_A | PTE_D));
	assert_int_equal(mmu1(ma(F_L1, 8) | MMU_NORMAL_PT_UPDATE, pte(14, P)), 0);
	assert_int_equal(tbl(F_L1)[8], pte(14, P | U));
	/* the RW reference went with the old entry */
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 14, 0, NULL), 0);
}

static void test_mmu_update_upper_links_and_unlinks(void **state)
{
	tbl(F_L1B)[0] = pte(F_DATA + 3, P | RW);
	assert_int_equal(mmu1(ma(F_L2, 3), pte(F_L1B, P | RW)), 0);
	assert_int_equal(frame_type(F_L1B), XK_FT_L1); /* validated on first link */
	assert_true(tbl(F_L1B)[0] & U);
	assert_int_equal(uvm(VA(512), pte(15, P), 0), 0); /* usable for update_va_mapping */
	assert_int_equal(tbl(F_L1B)[0], pte(15, P | U));
	/* the replaced entry's writable reference to frame 13 went with it */
	assert_int_equal(mmuext1(MMUEXT_PIN_L2_TABLE, F_DATA + 3, 0, NULL), 0);
	unsigned flushes = fake.flush_calls;
	assert_int_equal(mmu1(ma(F_L2, 3), 0), 0);
	assert_int_equal(frame_type(F_L1B), XK_FT_NONE);
	assert_true(fake.flush_calls > flushes); /* paging-structure caches */
	/* linking a frame that is mapped writable is refused */
	assert_int_equal(uvm(VA(9), pte(F_L1B, P | RW), 0), 0);
	assert_int_equal(mmu1(ma(F_L2, 3), pte(F_L1B, P | RW)), -EINVAL);
	assert_int_equal(tbl(F_L2)[3], 0);
	/* superpages and non-RAM in upper levels */
	assert_int_equal(mmu1(ma(F_L2, 4), pte(16, P | RW | PTE_PSE)), -EINVAL);
	assert_int_equal(mmu1(ma(F_L3, 1), pte(NOT_RAM, P)), -EINVAL);
	/* type confusion: an L2 where an L1 belongs */
	assert_int_equal(mmu1(ma(F_L2, 4), pte(F_L2, P)), -EINVAL);
	assert_int_equal(mmu1(ma(F_L3, 1), pte(F_L1, P)), -EINVAL);
}

static void test_mmu_update_misc(void **state)
{
	/* the stub's L4 slots belong to the stub */
	assert_int_equal(mmu1(ma(F_L4, XK_HOLE_FIRST_SLOT + 6), pte(F_L3, P)), -EINVAL);
	assert_int_equal(tbl(F_L4)[XK_HOLE_FIRST_SLOT + 6], fake_bi()->hole_l4e[6]);
	assert_int_equal(mmu1(ma(F_L4, XK_HOLE_FIRST_SLOT + 6), 0), -EINVAL);
	/* an ordinary page: plain store */
	assert_int_equal(mmu1(ma(20, 3), 0x1234), 0);
	assert_int_equal(tbl(20)[3], 0x1234);
	/* M2P */
	assert_int_equal(mmu1(ma(20, 0) | MMU_MACHPHYS_UPDATE, 42), 0);
	assert_int_equal(dom.m2p[20], 42);
	assert_int_equal(mmu1(ma(NOT_RAM, 0) | MMU_MACHPHYS_UPDATE, 42), -EINVAL);
	assert_int_equal(mmu1(ma(NOT_RAM, 0), 0), -EINVAL);
	assert_int_not_equal(mmu1(ma(20, 0) | MMU_PT_UPDATE_NO_TRANSLATE, 5), 0);
	assert_int_equal(tbl(20)[0], 0);
	assert_int_equal(mmu1(ma(F_L1, 8) + 4, 0), -EINVAL); /* unaligned */

	struct mmu_update reqs[3] = {
	    {.ptr = ma(21, 0), .val = 1},
	    {.ptr = ma(NOT_RAM, 0), .val = 2},
	    {.ptr = ma(21, 1), .val = 3},
	};
	uint32_t done = 99;
	assert_int_equal(do_mmu_update(fake_pc(0), gva(reqs), 3, gva(&done), DOMID_SELF), -EINVAL);
	assert_int_equal(done, 1);
	assert_int_equal(tbl(21)[0], 1);
	assert_int_equal(tbl(21)[1], 0);
	assert_int_equal(do_mmu_update(fake_pc(0), gva(reqs), 1, gva(&done), 3), -ESRCH);
	assert_int_equal(do_mmu_update(fake_pc(0), gva(reqs), 1, gva(&done), FAKE_DOMID), 0);
	assert_int_equal(do_mmu_update(fake_pc(0), gva(reqs), (1u << 20) + 1, 0, DOMID_SELF),
			 -EINVAL);
	assert_int_equal(do_mmu_update(fake_pc(0), FAKE_BAD_VA, 1, gva(&done), DOMID_SELF),
			 -EFAULT);
	assert_int_equal(done, 0);
	assert_int_equal(do_mmu_update(fake_pc(0), gva(reqs), 1, FAKE_BAD_VA, DOMID_SELF), -EFAULT);
}

static void test_new_baseptr(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;

	tbl(F_L4B)[0] = pte(F_L3, P | RW); /* shares the L3 */
	assert_int_equal(mmuext1(MMUEXT_NEW_BASEPTR, F_L4B, 0, NULL), 0);
	assert_int_equal(v->cr3_kernel, F_L4B * 4096ULL);
	assert_int_equal(fake.cr3, F_L4B * 4096ULL);
	assert_int_equal(fake.cr3_writes, 1);
	assert_int_equal(frame_type(F_L4B), XK_FT_L4);
	assert_int_equal(tbl(F_L4B)[XK_HOLE_FIRST_SLOT], fake_bi()->hole_l4e[0]);
	/* reloading the same base costs no CR3 write */
	assert_int_equal(mmuext1(MMUEXT_NEW_BASEPTR, F_L4B, 0, NULL), 0);
	assert_int_equal(fake.cr3_writes, 1);
	assert_int_equal(frame_type(F_L4B), XK_FT_L4);

	/* the boot L4 is still pinned; unpinned, it loses its type, the
	 * shared L3 keeps its own */
	assert_int_equal(frame_type(F_L4), XK_FT_L4);
	assert_int_equal(mmuext1(MMUEXT_UNPIN_TABLE, F_L4, 0, NULL), 0);
	assert_int_equal(frame_type(F_L4), XK_FT_NONE);
	assert_int_equal(frame_type(F_L3), XK_FT_L3);
	assert_int_equal(uvm(VA(2), pte(F_L4, P | RW), 0), 0); /* now an ordinary page */

	assert_int_equal(mmuext1(MMUEXT_NEW_BASEPTR, 0, 0, NULL), -EINVAL);
	assert_int_equal(mmuext1(MMUEXT_NEW_BASEPTR, F_L4, 0, NULL), -EINVAL); /* mapped RW */
	assert_int_equal(mmuext1(MMUEXT_NEW_BASEPTR, F_L3, 0, NULL), -EINVAL); /* an L3 */
	assert_int_equal(mmuext1(MMUEXT_NEW_BASEPTR, NOT_RAM, 0, NULL), -EINVAL);
	assert_int_equal(v->cr3_kernel, F_L4B * 4096ULL);

	assert_int_equal(mmuext1(MMUEXT_NEW_USER_BASEPTR, F_L4B, 0, NULL), 0);
	assert_int_equal(v->cr3_user, F_L4B * 4096ULL);
	assert_int_equal(mmuext1(MMUEXT_NEW_USER_BASEPTR, 0, 0, NULL), 0);
	assert_int_equal(v->cr3_user, 0);
	assert_int_equal(frame_type(F_L4B), XK_FT_L4); /* still the kernel CR3 */
}

static void test_mmuext_misc(void **state)
{
	uint32_t done;

	assert_int_equal(mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0, 0, NULL), 0);
	assert_int_equal(fake.flush_calls, 1);
	assert_int_equal(mmuext1(MMUEXT_INVLPG_LOCAL, VA(3), 0, NULL), 0);
	assert_int_equal(fake.invlpg_last, VA(3));
	assert_int_equal(mmuext1(MMUEXT_INVLPG_LOCAL, XK_STUB_VA, 0, NULL), 0);
	assert_int_equal(fake.invlpg_calls, 1); /* no invlpg inside the hole */
	assert_int_equal(mmuext1(MMUEXT_SET_LDT, 0, 0, NULL), 0);
	assert_int_equal(mmuext1(MMUEXT_SET_LDT, 0x1008, 5, NULL), -EINVAL); /* test_desc.c */

	memset(tbl(22), 0x5a, 4096);
	assert_int_equal(mmuext1(MMUEXT_COPY_PAGE, 23, 22, NULL), 0);
	assert_memory_equal(tbl(23), tbl(22), 4096);
	assert_int_equal(mmuext1(MMUEXT_CLEAR_PAGE, 22, 0, NULL), 0);
	assert_int_equal(tbl(22)[100], 0);
	assert_int_equal(mmuext1(MMUEXT_CLEAR_PAGE, F_L1, 0, NULL), -EINVAL);
	assert_int_equal(tbl(F_L1)[0] & P, P);
	assert_int_equal(mmuext1(MMUEXT_COPY_PAGE, F_L2, 22, NULL), -EINVAL);
	assert_int_equal(mmuext1(MMUEXT_COPY_PAGE, 23, NOT_RAM, NULL), -EINVAL);
	assert_int_equal(mmuext1(MMUEXT_CLEAR_PAGE, NOT_RAM, 0, NULL), -EINVAL);
	assert_int_equal(mmuext1(99, 0, 0, &done), -ENOSYS);
	assert_int_equal(done, 0);

	struct mmuext_op ops[3] = {{.cmd = MMUEXT_TLB_FLUSH_LOCAL},
				   {.cmd = MMUEXT_TLB_FLUSH_LOCAL},
				   {.cmd = MMUEXT_PIN_L1_TABLE}};
	ops[2].arg1.mfn = F_L2;
	assert_int_equal(do_mmuext_op(fake_pc(0), gva(ops), 3, gva(&done), DOMID_SELF), -EINVAL);
	assert_int_equal(done, 2);
	assert_int_equal(do_mmuext_op(fake_pc(0), gva(ops), 1, 0, 3), -ESRCH);
	assert_int_equal(do_mmuext_op(fake_pc(0), FAKE_BAD_VA, 1, gva(&done), DOMID_SELF), -EFAULT);
	assert_int_equal(do_mmuext_op(fake_pc(0), gva(ops), (1u << 20) + 1, 0, DOMID_SELF),
			 -EINVAL);
}

static void test_pin_levels_and_rollback(void **state)
{
	/* An L2 whose second L1 maps a page table writable: the first L1's
	 * type must be rolled back with the failed pin. */
	tbl(30)[0] = pte(31, P | RW);
	tbl(30)[1] = pte(32, P | RW);
	tbl(31)[0] = pte(F_DATA + 5, P | RW);
	tbl(32)[0] = pte(30, P | RW); /* the L2 itself, writable */
	assert_int_equal(mmuext1(MMUEXT_PIN_L2_TABLE, 30, 0, NULL), -EINVAL);
	assert_int_equal(frame_type(30), XK_FT_NONE);
	assert_int_equal(frame_type(31), XK_FT_NONE);
	assert_int_equal(frame_type(32), XK_FT_NONE);
	/* frame 15's writable reference from L1 31 was dropped again */
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, F_DATA + 5, 0, NULL), 0);
	assert_int_equal(mmuext1(MMUEXT_UNPIN_TABLE, F_DATA + 5, 0, NULL), 0);
	tbl(32)[0] = pte(30, P);
	tbl(31)[0] = pte(F_DATA + 6, P | RW);
	assert_int_equal(mmuext1(MMUEXT_PIN_L2_TABLE, 30, 0, NULL), 0);
	assert_int_equal(frame_type(31), XK_FT_L1);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, F_DATA + 6, 0, NULL), -EINVAL);
	assert_int_equal(mmuext1(MMUEXT_UNPIN_TABLE, 30, 0, NULL), 0);
	assert_int_equal(frame_type(31), XK_FT_NONE);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, F_DATA + 6, 0, NULL), 0);
	/* wrong level */
	assert_int_equal(mmuext1(MMUEXT_PIN_L3_TABLE, F_L2, 0, NULL), -EINVAL);
	assert_int_equal(mmuext1(MMUEXT_PIN_L4_TABLE, NOT_RAM, 0, NULL), -EINVAL);
}

static void test_memory_op(void **state)
{
	struct pcpu *pc = fake_pc(0);
	struct xen_machphys_mapping m;

	assert_int_equal(do_memory_op(pc, XENMEM_machphys_mapping, gva(&m)), 0);
	assert_int_equal(m.v_start, XK_M2P_VA_PVM);
	assert_int_equal(m.max_mfn, FAKE_NR_PAGES + FAKE_STUB_FRAMES - 1);
	assert_int_equal(m.v_end, m.v_start + (m.max_mfn + 1) * 8);
	assert_int_equal(do_memory_op(pc, XENMEM_machphys_mapping, FAKE_BAD_VA), -EFAULT);

	struct {
		uint64_t addr, size;
		uint32_t type;
	} __attribute__((packed)) e820[4];
	struct xen_memory_map map = {.nr_entries = 4};
	memset(e820, 0xff, sizeof(e820));
	set_xen_guest_handle(map.buffer, (void *)e820);
	assert_int_equal(do_memory_op(pc, XENMEM_memory_map, gva(&map)), 0);
	assert_int_equal(map.nr_entries, 1);
	assert_int_equal(e820[0].addr, 0);
	assert_int_equal(e820[0].size, FAKE_NR_PAGES * 4096ULL);
	assert_int_equal(e820[0].type, 1);
	assert_int_equal(e820[1].addr, ~0ULL); /* nothing beyond the entry */
	map.nr_entries = 0;
	assert_int_equal(do_memory_op(pc, XENMEM_memory_map, gva(&map)), -EINVAL);
	map.nr_entries = 1;
	set_xen_guest_handle(map.buffer, (void *)FAKE_BAD_VA);
	assert_int_equal(do_memory_op(pc, XENMEM_memory_map, gva(&map)), -EFAULT);

	domid_t d = DOMID_SELF;
	assert_int_equal(do_memory_op(pc, XENMEM_current_reservation, gva(&d)), FAKE_NR_PAGES);
	assert_int_equal(do_memory_op(pc, XENMEM_maximum_reservation, gva(&d)), FAKE_NR_PAGES);
	d = FAKE_DOMID;
	assert_int_equal(do_memory_op(pc, XENMEM_current_reservation, gva(&d)), FAKE_NR_PAGES);
	d = 3;
	assert_int_equal(do_memory_op(pc, XENMEM_current_reservation, gva(&d)), -ESRCH);
	assert_int_equal(do_memory_op(pc, XENMEM_current_reservation, FAKE_BAD_VA), -EFAULT);
	assert_int_equal(do_memory_op(pc, XENMEM_maximum_gpfn, gva(&d)), FAKE_NR_PAGES - 1);
	assert_true(do_memory_op(pc, XENMEM_maximum_ram_page, 0) >= FAKE_NR_PAGES - 1);
	/* the upper bits carry a continuation extent, not a new command */
	assert_int_equal(do_memory_op(pc, XENMEM_maximum_gpfn | (5 << 6), 0), FAKE_NR_PAGES - 1);
	assert_int_equal(do_memory_op(pc, XENMEM_increase_reservation, gva(&d)), -ENOSYS);
}

/* ---- writable page tables (ptwr.c) ---- */

static uint8_t *code;

static bool ptwr(const uint8_t *insn, size_t n, uint64_t cr2)
{
	if (!code)
		code = aligned_alloc(4096, 2 * 4096);
	memset(code, 0xcc, 2 * 4096);
	memcpy(code, insn, n);
	r->rip = gva(code);
	return ptwr_emulate(fake_pc(0), r, cr2);
}

#define PTWR(cr2, ...)                                                                             \
	({                                                                                         \
		static const uint8_t b_[] = {__VA_ARGS__};                                         \
		ptwr(b_, sizeof(b_), cr2);                                                         \
	})

/* Linux writes entry i of the L1 through its read-only mapping at VA_L1. */
#define SLOT(i) (VA_L1 + (i)*8)

static void test_ptwr_mov(void **state)
{
	r->rdi = SLOT(9);
	r->rsi = pte(17, P | RW);
	assert_true(PTWR(SLOT(9), 0x48, 0x89, 0x37)); /* mov %rsi,(%rdi) */
	assert_int_equal(tbl(F_L1)[9], pte(17, P | RW | U));
	assert_int_equal(r->rip, gva(code) + 3);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 17, 0, NULL), -EINVAL); /* counted */
	/* movq $0,(%rdi): unmapping drops the writable reference */
	assert_true(PTWR(SLOT(9), 0x48, 0xc7, 0x07, 0, 0, 0, 0));
	assert_int_equal(tbl(F_L1)[9], 0);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 17, 0, NULL), 0);
	/* with a displacement and a high register: mov %r9,0x10(%rdi) */
	r->r9 = pte(18, P);
	assert_true(PTWR(SLOT(10), 0x4c, 0x89, 0x4f, 0x10));
	assert_int_equal(tbl(F_L1)[10], pte(18, P | U));
	assert_int_equal(r->rip, gva(code) + 4);
}

static void test_ptwr_refuses_invalid_entry(void **state)
{
	uint64_t before = tbl(F_L1)[9];

	r->rsi = pte(F_L2, P | RW);
	assert_false(PTWR(SLOT(9), 0x48, 0x89, 0x37));
	r->rsi = pte(NOT_RAM, P);
	assert_false(PTWR(SLOT(9), 0x48, 0x89, 0x37));
	assert_int_equal(tbl(F_L1)[9], before);
	assert_int_equal(r->rip, gva(code)); /* the guest gets its #PF */
}

static void test_ptwr_rmw(void **state)
{
	tbl(F_L1)[11] = pte(19, P | U | PTE_A);
	/* lock btrq $5,(%rdi): clear accessed, CF = old bit */
	r->rflags = 0x202;
	assert_true(PTWR(SLOT(11), 0xf0, 0x48, 0x0f, 0xba, 0x37, 0x05));
	assert_int_equal(tbl(F_L1)[11], pte(19, P | U));
	assert_true(r->rflags & X86_EFLAGS_CF);
	assert_int_equal(r->rip, gva(code) + 6);
	/* xchg %rsi,(%rdi): the old entry comes back */
	r->rsi = pte(20, P);
	assert_true(PTWR(SLOT(11), 0x48, 0x87, 0x37));
	assert_int_equal(r->rsi, pte(19, P | U));
	assert_int_equal(tbl(F_L1)[11], pte(20, P | U));
	/* lock cmpxchg %rsi,(%rdi): success */
	r->rax = pte(20, P | U);
	r->rsi = pte(21, P);
	assert_true(PTWR(SLOT(11), 0xf0, 0x48, 0x0f, 0xb1, 0x37));
	assert_true(r->rflags & X86_EFLAGS_ZF);
	assert_int_equal(tbl(F_L1)[11], pte(21, P | U));
	/* failure: RAX gets the current value, memory unchanged */
	r->rax = 0x1234;
	r->rsi = pte(22, P);
	assert_true(PTWR(SLOT(11), 0xf0, 0x48, 0x0f, 0xb1, 0x37));
	assert_false(r->rflags & X86_EFLAGS_ZF);
	assert_int_equal(r->rax, pte(21, P | U));
	assert_int_equal(tbl(F_L1)[11], pte(21, P | U));
	/* and %rsi,(%rdi): clear RW (wrprotect) */
	tbl(F_L1)[12] = pte(23, P | RW | U);
	r->rsi = ~RW;
	assert_true(PTWR(SLOT(12), 0x48, 0x21, 0x37));
	assert_int_equal(tbl(F_L1)[12], pte(23, P | U));
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 23, 0, NULL), 0); /* RW ref gone */
	/* or $2,(%rdi) on a now-typed frame: refused */
	assert_false(PTWR(SLOT(12), 0x48, 0x83, 0x0f, 0x02));
	assert_int_equal(tbl(F_L1)[12], pte(23, P | U));
}

static void test_ptwr_32bit_halves(void **state)
{
	tbl(F_L1)[13] = pte(24, P | U) | (1ULL << 63); /* NX */
	/* mov %esi,(%rdi): low half only */
	r->rsi = 0xffffffff00000000ULL | (uint32_t)pte(25, P);
	assert_true(PTWR(SLOT(13), 0x89, 0x37));
	assert_int_equal(tbl(F_L1)[13], pte(25, P | U) | (1ULL << 63));
	/* mov %esi,4(%rdi) at the high half: clear NX */
	r->rsi = 0;
	assert_true(PTWR(SLOT(13) + 4, 0x89, 0x77, 0x04));
	assert_int_equal(tbl(F_L1)[13], pte(25, P | U));
}

/* Linux's constant-bit clear_bit/set_bit become andb/orb on one PTE byte. */
static void test_ptwr_byte_and_word(void **state)
{
	tbl(F_L1)[16] = pte(28, P | RW | U);
	assert_true(PTWR(SLOT(16), 0x80, 0x27, 0xfd)); /* andb $~RW,(%rdi) */
	assert_int_equal(tbl(F_L1)[16], pte(28, P | U));
	assert_int_equal(r->rip, gva(code) + 3);
	assert_int_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 28, 0, NULL), 0); /* RW ref gone */
	assert_false(PTWR(SLOT(16), 0x80, 0x0f, 0x02)); /* orb $RW on a table: refused */
	assert_int_equal(tbl(F_L1)[16], pte(28, P | U));
	/* mov %si,2(%rdi): bits 16..31 only */
	tbl(F_L1)[17] = pte(29, P | U) | (1ULL << 63);
	r->rsi = 0xffffffffffff0000ULL;
	assert_true(PTWR(SLOT(17) + 2, 0x66, 0x89, 0x77, 0x02));
	assert_int_equal(tbl(F_L1)[17], (29ULL << 12 & 0xffff) | P | U | (1ULL << 63));
	/* mov %sil,(%rdi) (REX makes reg 6 SIL) */
	tbl(F_L1)[18] = pte(30, P | U);
	r->rsi = 0x100 | P;
	assert_true(PTWR(SLOT(18), 0x40, 0x88, 0x37));
	assert_int_equal(tbl(F_L1)[18], pte(30, P | U)); /* U forced again */
	r->rsi = 0x100 | P | RW;
	assert_true(PTWR(SLOT(18), 0x40, 0x88, 0x37));
	assert_int_equal(tbl(F_L1)[18], pte(30, P | RW | U));
	assert_int_not_equal(mmuext1(MMUEXT_PIN_L1_TABLE, 30, 0, NULL), 0); /* counted */
}

static void test_ptwr_declines(void **state)
{
	r->rsi = pte(26, P);
	/* misaligned */
	assert_false(PTWR(SLOT(14) + 2, 0x48, 0x89, 0x37));
	/* a read-only data page, not a page table */
	assert_false(PTWR(VA(1), 0x48, 0x89, 0x37));
	/* a writable mapping cannot take a write fault */
	assert_false(PTWR(VA(0), 0x48, 0x89, 0x37));
	/* the L2 is mapped read-only too, but L2 writes are never emulated */
	assert_false(PTWR(VA(5) + 8 * 7, 0x48, 0x89, 0x37));
	/* instructions outside the set: stosq, movs, a high-byte register */
	assert_false(PTWR(SLOT(14), 0x48, 0xab));
	assert_false(PTWR(SLOT(14), 0x48, 0xa5));
	assert_false(PTWR(SLOT(14), 0x88, 0x37)); /* mov %dh,(%rdi) */
	/* a 2-byte store at an odd address */
	assert_false(PTWR(SLOT(14) + 1, 0x66, 0x89, 0x37));
	assert_false(PTWR(SLOT(14), 0x48, 0x89, 0xc6)); /* register destination */
	r->rip = FAKE_BAD_VA;
	assert_false(ptwr_emulate(fake_pc(0), r, SLOT(14)));
	assert_int_equal(tbl(F_L1)[14], 0);
	/* no mapping for cr2 at all */
	assert_false(PTWR(VA_BASE + 0x200000, 0x48, 0x89, 0x37));
}

/* A 12-byte store (movq $imm32, abs32) ending exactly at a page boundary,
 * the next page unmapped: the emulator's 15-byte read fails, its 8-byte
 * fallback leaves bytes 8..11 (the immediate) uninitialised and still
 * decodes 15 bytes. */
static void test_ptwr_insn_at_page_end(void **state)
{
	uint32_t slot = (uint32_t)SLOT(15);
	uint32_t imm = (uint32_t)pte(27, P);
	uint8_t insn[12] = {0x48, 0xc7, 0x04, 0x25};

	if (!code)
		code = aligned_alloc(4096, 2 * 4096);
	memcpy(insn + 4, &slot, 4);
	memcpy(insn + 8, &imm, 4);
	memset(code, 0xcc, 2 * 4096);
	memcpy(code + 4096 - sizeof(insn), insn, sizeof(insn));
	fake.fault_lo = gva(code + 4096);
	fake.fault_hi = fake.fault_lo + 4096;
	r->rip = gva(code + 4096 - sizeof(insn));
	assert_true(ptwr_emulate(fake_pc(0), r, SLOT(15)));
	assert_int_equal(tbl(F_L1)[15], pte(27, P | U));
	assert_int_equal(r->rip, gva(code + 4096));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_boot_tables_typed, setup),
    cmocka_unit_test_setup(test_boot_tables_rw_pagetable_refused, setup_bare),
    cmocka_unit_test_setup(test_boot_tables_bad_entries, setup_bare),
    cmocka_unit_test_setup(test_update_va_mapping, setup),
    cmocka_unit_test_setup(test_update_va_mapping_refusals, setup),
    cmocka_unit_test_setup(test_writable_count_blocks_typing, setup),
    cmocka_unit_test_setup(test_mmu_update_l1, setup),
    cmocka_unit_test_setup(test_mmu_update_upper_links_and_unlinks, setup),
    cmocka_unit_test_setup(test_mmu_update_misc, setup),
    cmocka_unit_test_setup(test_new_baseptr, setup),
    cmocka_unit_test_setup(test_mmuext_misc, setup),
    cmocka_unit_test_setup(test_pin_levels_and_rollback, setup),
    cmocka_unit_test_setup(test_memory_op, setup),
    cmocka_unit_test_setup(test_ptwr_mov, setup),
    cmocka_unit_test_setup(test_ptwr_refuses_invalid_entry, setup),
    cmocka_unit_test_setup(test_ptwr_rmw, setup),
    cmocka_unit_test_setup(test_ptwr_32bit_halves, setup),
    cmocka_unit_test_setup(test_ptwr_byte_and_word, setup),
    cmocka_unit_test_setup(test_ptwr_declines, setup),
};

static const struct CMUnitTest bugs[] = {
    cmocka_unit_test_setup(test_type_change_flushes_stale_writable_tlb, setup),
    cmocka_unit_test_setup(test_ptwr_insn_at_page_end, setup),
};

CORE_TEST_MAIN("stubcore-mm", tests, bugs)
