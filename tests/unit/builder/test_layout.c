/* SPDX-License-Identifier: GPL-2.0-only */
/* Start-of-day layout: order, 4 MiB alignment, page-table count, INIT_P2M and
 * MOD_START_PFN variants, memory-too-small errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder.h"
#include "elfgen.h"

#define MiB_PAGES 256ULL

static void kernel(struct xk_kernel *k, const struct eg_linux_opts *o)
{
	struct eg_elf e;
	char err[XK_ERRLEN];
	uint8_t *img;
	size_t len;

	eg_linux(&e, o);
	img = eg_build(&e, &len);
	if (xk_kernel_parse(img, len, k, err))
		fail_msg("parse: %s", err);
	free(img);
}

static void compute(const struct xk_kernel *k, uint64_t nr, size_t rd, struct xk_layout *l)
{
	char err[XK_ERRLEN];

	if (xk_layout_compute(k, nr, rd, l, err))
		fail_msg("layout: %s", err);
}

/* Tables needed for [from, to] counted independently of the builder: the
 * distinct 512 GiB, 1 GiB and 2 MiB regions touched, plus one L4. */
static uint64_t tables_for(uint64_t from, uint64_t to)
{
	uint64_t n = 1;

	for (unsigned bits = 39; bits >= 21; bits -= 9)
		n +=
		    ((to & ((1ULL << 48) - 1)) >> bits) - ((from & ((1ULL << 48) - 1)) >> bits) + 1;
	return n;
}

static void check_common(const struct xk_kernel *k, const struct xk_layout *l, uint64_t nr)
{
	uint64_t vend = k->virt_base + l->mapped_end_pfn * 4096;

	assert_int_equal(l->nr_pages, nr);
	assert_int_equal(l->kernel_pfn, 0);
	assert_int_equal(l->kernel_pages, (k->virt_kend - k->virt_base) / 4096);
	assert_int_equal(l->xenstore_pfn, l->start_info_pfn + 1);
	assert_int_equal(l->console_pfn, l->start_info_pfn + 2);
	assert_int_equal(l->pt_pfn, l->console_pfn + 1);
	assert_int_equal(l->stack_pfn, l->pt_pfn + l->pt_pages);
	/* Mapped region ends on 4 MiB with >= 512 KiB free after the stack,
	 * and is not a whole 4 MiB longer than needed. */
	assert_int_equal(vend % (4 << 20), 0);
	assert_true(l->mapped_end_pfn >= l->stack_pfn + 1 + 128);
	assert_true(l->mapped_end_pfn <= l->stack_pfn + 1 + 128 + 1024);
	/* The tables cover the whole mapped region, their own frames included. */
	assert_int_equal(l->pt_pages, tables_for(k->virt_base, vend - 1));
	assert_int_equal(l->map[0].from, k->virt_base & ((1ULL << 48) - 1));
	assert_int_equal(l->map[0].to, (vend - 1) & ((1ULL << 48) - 1));
	assert_int_equal(l->map[0].pgtables, l->pt_pages);
	assert_int_equal(l->map[0].lvl[3].pfn, l->pt_pfn);
	assert_int_equal(l->map[0].lvl[3].count, 1);
	assert_int_equal(l->map[0].lvl[2].pfn, l->pt_pfn + 1);
	assert_int_equal(l->map[0].lvl[0].pfn + l->map[0].lvl[0].count, l->pt_pfn + l->pt_pages);
	assert_true(l->first_free_pfn <= nr);
	assert_true(l->first_free_pfn >= l->mapped_end_pfn);
}

static void test_plain(void **state)
{
	struct eg_linux_opts o = {0};
	struct xk_kernel k;
	struct xk_layout l;
	uint64_t nr = 64 * MiB_PAGES + 3; /* not a multiple of 512 */

	kernel(&k, &o);
	compute(&k, nr, 0, &l);
	check_common(&k, &l, nr);
	assert_int_equal(l.nr_maps, 1);
	assert_int_equal(l.ramdisk_pages, 0);
	/* p2m in the mapped region right after the kernel: 8 bytes a page,
	 * rounded to whole pages (= a multiple of 512 entries). */
	assert_int_equal(l.p2m_pfn, l.kernel_pages);
	assert_int_equal(l.p2m_pages, (nr * 8 + 4095) / 4096);
	assert_int_equal(l.start_info_pfn, l.p2m_pfn + l.p2m_pages);
	assert_int_equal(l.init_p2m_pages, 0);
	assert_int_equal(l.init_p2m_pt_pages, 0);
	assert_int_equal(l.first_free_pfn, l.mapped_end_pfn);
	/* 2 MiB kernel base, ~16 KiB kernel, p2m 33 pages: one 4 MiB chunk. */
	assert_int_equal(l.mapped_end_pfn, 1024);
	assert_int_equal(l.pt_pages, 3 + 2);
	xk_kernel_free(&k);
}

/* Old kernels: ramdisk mapped after the kernel, mod_start a VA. */
static void test_mapped_ramdisk(void **state)
{
	struct eg_linux_opts o = {0};
	struct xk_kernel k;
	struct xk_layout l;
	uint64_t nr = 128 * MiB_PAGES;
	size_t rd = 10 * 1024 * 1024 + 1;

	kernel(&k, &o);
	compute(&k, nr, rd, &l);
	check_common(&k, &l, nr);
	assert_true(l.ramdisk_mapped);
	assert_int_equal(l.ramdisk_pfn, l.kernel_pages);
	assert_int_equal(l.ramdisk_pages, 2561);
	assert_int_equal(l.p2m_pfn, l.ramdisk_pfn + l.ramdisk_pages);
	assert_true(l.mapped_end_pfn > l.ramdisk_pfn + l.ramdisk_pages);
	xk_kernel_free(&k);
}

/* Linux 6.1: MOD_START_PFN + INIT_P2M: ramdisk and p2m above the mapping. */
static void test_init_p2m_mod_start_pfn(void **state)
{
	struct eg_linux_opts o = {.init_p2m = true, .mod_start_pfn = true, .kbase = 0x1000000};
	struct xk_kernel k;
	struct xk_layout l;
	uint64_t nr = 256 * MiB_PAGES + 100;
	size_t rd = 5000;
	uint64_t p2m_pages = (nr * 8 + 4095) / 4096;

	kernel(&k, &o);
	compute(&k, nr, rd, &l);
	check_common(&k, &l, nr);
	assert_false(l.ramdisk_mapped);
	assert_int_equal(l.p2m_pages, 0);
	assert_int_equal(l.start_info_pfn, l.kernel_pages);
	assert_int_equal(l.ramdisk_pfn, l.mapped_end_pfn);
	assert_int_equal(l.ramdisk_pages, 2);
	assert_int_equal(l.init_p2m_pfn, l.ramdisk_pfn + 2);
	assert_int_equal(l.init_p2m_pages, p2m_pages);
	assert_int_equal(l.init_p2m_pt_pfn, l.init_p2m_pfn + p2m_pages);
	/* 0x8000000000: its own L3 (slot 1), one L2, one L1 per 2 MiB of list. */
	assert_int_equal(l.nr_maps, 2);
	assert_int_equal(l.init_p2m_pt_pages, 1 + 1 + (p2m_pages + 511) / 512);
	assert_int_equal(l.map[1].lvl[3].count, 0);
	assert_int_equal(l.map[1].lvl[2].pfn, l.init_p2m_pt_pfn);
	assert_int_equal(l.map[1].lvl[2].count, 1);
	assert_int_equal(l.map[1].from, 0x8000000000ULL);
	assert_int_equal(l.map[1].to, 0x8000000000ULL + p2m_pages * 4096 - 1);
	assert_int_equal(l.map[1].pfn, l.init_p2m_pfn);
	assert_int_equal(l.first_free_pfn, l.init_p2m_pt_pfn + l.init_p2m_pt_pages);
	/* 16 MiB padding + kernel: 20 MiB mapped, 10 L1s. */
	assert_int_equal(l.mapped_end_pfn, 5 * 1024);
	assert_int_equal(l.pt_pages, 3 + 10);
	xk_kernel_free(&k);

	/* Without a ramdisk the p2m follows the mapped region directly. */
	kernel(&k, &o);
	compute(&k, nr, 0, &l);
	assert_int_equal(l.ramdisk_pages, 0);
	assert_int_equal(l.init_p2m_pfn, l.mapped_end_pfn);
	xk_kernel_free(&k);
}

/* Large guests: many L1s for the INIT_P2M list, no RAM needed to compute. */
static void test_large_memory(void **state)
{
	struct eg_linux_opts o = {.init_p2m = true, .mod_start_pfn = true};
	struct xk_kernel k;
	struct xk_layout l;
	uint64_t nr = 64ULL << 18; /* 64 GiB */

	kernel(&k, &o);
	compute(&k, nr, 0, &l);
	check_common(&k, &l, nr);
	assert_int_equal(l.init_p2m_pages, nr / 512);
	assert_int_equal(l.init_p2m_pt_pages, 1 + 1 + nr / 512 / 512);
	xk_kernel_free(&k);

	/* Without INIT_P2M a big p2m makes the mapped region (and its PTs) grow. */
	o.init_p2m = false;
	kernel(&k, &o);
	compute(&k, nr, 0, &l);
	check_common(&k, &l, nr);
	assert_int_equal(l.p2m_pages, nr / 512);
	assert_true(l.mapped_end_pfn > nr / 512);
	xk_kernel_free(&k);
}

/* Slide the end of the allocations across several 4 MiB boundaries (mapped
 * ramdisk growing a page at a time): the invariants hold at every step, and
 * the mapped region only grows by whole 4 MiB steps. */
static void test_boundary_sweep(void **state)
{
	struct eg_linux_opts o = {0};
	struct xk_kernel k;
	struct xk_layout l;
	uint64_t nr = 64 * MiB_PAGES, prev_end = 0, steps = 0;

	kernel(&k, &o);
	for (size_t rd = 4096; rd <= (size_t)(9 << 20); rd += 4096) {
		compute(&k, nr, rd, &l);
		check_common(&k, &l, nr);
		assert_int_equal(l.ramdisk_pages, rd / 4096);
		assert_true(l.mapped_end_pfn >= prev_end);
		if (l.mapped_end_pfn != prev_end) {
			assert_true(prev_end == 0 || l.mapped_end_pfn == prev_end + 1024);
			steps++;
		}
		prev_end = l.mapped_end_pfn;
	}
	assert_true(steps >= 3);
	xk_kernel_free(&k);
}

static uint64_t parse_need_mib(const char *err)
{
	const char *p = strstr(err, "needs at least ");

	if (!p)
		fail_msg("no 'needs at least' in '%s'", err);
	return strtoull(p + strlen("needs at least "), NULL, 10);
}

/* The reported minimum is exact: it fits, one MiB less does not. */
static void test_too_small(void **state)
{
	static const struct eg_linux_opts opts[] = {
	    {0},
	    {.kbase = 0x1000000},
	    {.init_p2m = true, .mod_start_pfn = true, .kbase = 0x1000000},
	};
	static const size_t rds[] = {0, 3 << 20, 40 << 20};

	for (unsigned i = 0; i < 3; i++) {
		for (unsigned j = 0; j < 3; j++) {
			struct xk_kernel k;
			struct xk_layout l;
			char err[XK_ERRLEN];
			uint64_t mib;
			int rc;

			kernel(&k, &opts[i]);
			rc = xk_layout_compute(&k, 2 * MiB_PAGES, rds[j], &l, err);
			assert_int_equal(rc, -ENOMEM);
			assert_non_null(strstr(err, "guest memory too small"));
			mib = parse_need_mib(err);
			assert_true(mib > 2);
			assert_int_equal(xk_layout_compute(&k, mib * MiB_PAGES, rds[j], &l, err),
					 0);
			assert_int_equal(
			    xk_layout_compute(&k, (mib - 1) * MiB_PAGES, rds[j], &l, err), -ENOMEM);
			xk_kernel_free(&k);
		}
	}
}

static void test_bad_inputs(void **state)
{
	struct eg_linux_opts o = {.init_p2m = true};
	struct xk_kernel k, bad;
	struct xk_layout l;
	char err[XK_ERRLEN];

	kernel(&k, &o);
	assert_int_equal(xk_layout_compute(&k, 0, 0, &l, err), -EINVAL);
	assert_int_equal(xk_layout_compute(&k, 1ULL << 40, 0, &l, err), -EINVAL);
	assert_int_equal(xk_layout_compute(&k, 64 * MiB_PAGES, SIZE_MAX, &l, err), -EINVAL);

	/* A kernel whose mapping would run into the Xen hole. */
	bad = k;
	bad.virt_base = 0xffff7fffffe00000ULL;
	bad.virt_kstart = bad.virt_base + 0x200000;
	bad.virt_kend = bad.virt_kstart + 0x10000;
	assert_int_equal(xk_layout_compute(&bad, 64 * MiB_PAGES, 0, &l, err), -EINVAL);
	assert_non_null(strstr(err, "hole"));

	/* One whose mapping would wrap past the top of the address space. */
	bad = k;
	bad.virt_base = 0xfffffffffff00000ULL;
	bad.virt_kstart = bad.virt_base;
	bad.virt_kend = bad.virt_base + 0x80000;
	assert_int_equal(xk_layout_compute(&bad, 64 * MiB_PAGES, 0, &l, err), -EINVAL);

	/* INIT_P2M list running into the initial mapping. */
	bad = k;
	bad.init_p2m = k.virt_base - 0x1000;
	assert_int_equal(xk_layout_compute(&bad, 64 * MiB_PAGES, 0, &l, err), -EINVAL);
	assert_non_null(strstr(err, "INIT_P2M"));
	/* ... or non-canonical. */
	bad.init_p2m = 0x7ffffffff000ULL;
	assert_int_equal(xk_layout_compute(&bad, 64 * MiB_PAGES, 0, &l, err), -EINVAL);
	xk_kernel_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_mapped_ramdisk),
	    cmocka_unit_test(test_init_p2m_mod_start_pfn),
	    cmocka_unit_test(test_large_memory),
	    cmocka_unit_test(test_boundary_sweep),
	    cmocka_unit_test(test_too_small),
	    cmocka_unit_test(test_bad_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
