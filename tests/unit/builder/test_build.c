/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xk_build into a malloc'ed RAM buffer, then check the result the way the
 * guest sees it: walk the page tables from CR3 and read kernel, start_info,
 * p2m list, ramdisk and hypercall page through them.  Runs with the identity
 * p2m and with a scrambled (permuted) one.
 */
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
#include "ptwalk.h"

#define MiB_PAGES   256ULL
#define UPPER_FLAGS (PTW_P | PTW_RW | PTW_A | PTW_D | PTW_U)

struct env {
	struct eg_elf e;
	struct eg_linux_opts o;
	struct xk_kernel k;
	uint64_t nr;
	uint8_t *ram;
	uint64_t *p2m; /* NULL = identity */
	uint8_t *rd;
	size_t rd_len;
	struct xk_build_params p;
	struct xk_build_result r;
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t mfn(const struct env *v, uint64_t pfn)
{
	return v->p2m ? v->p2m[pfn] : pfn;
}

static void env_init(struct env *v, const struct eg_linux_opts *o, uint64_t nr, bool scramble,
		     size_t rd_len, const char *cmdline)
{
	char err[XK_ERRLEN];
	uint8_t *img;
	size_t len;

	memset(v, 0, sizeof(*v));
	v->o = *o;
	eg_linux(&v->e, o);
	img = eg_build(&v->e, &len);
	if (xk_kernel_parse(img, len, &v->k, err))
		fail_msg("parse: %s", err);
	free(img);
	v->nr = nr;
	v->ram = malloc(nr * 4096);
	memset(v->ram, 0xa5, nr * 4096); /* the builder must zero what it hands out */
	if (scramble) {
		v->p2m = malloc(nr * sizeof(*v->p2m));
		for (uint64_t i = 0; i < nr; i++)
			v->p2m[i] = i;
		for (uint64_t i = nr - 1; i > 0; i--) {
			uint64_t j = next_rand() % (i + 1), t = v->p2m[i];

			v->p2m[i] = v->p2m[j];
			v->p2m[j] = t;
		}
	}
	v->rd_len = rd_len;
	if (rd_len) {
		v->rd = malloc(rd_len);
		for (size_t i = 0; i < rd_len; i++)
			v->rd[i] = (uint8_t)(next_rand() >> 7);
	}
	v->p = (struct xk_build_params){
	    .k = &v->k,
	    .nr_pages = nr,
	    .ramdisk = v->rd,
	    .ramdisk_len = rd_len,
	    .cmdline = cmdline,
	    .p2m = v->p2m,
	    .ram = v->ram,
	    .shared_info_maddr = 0xfeed0000ULL << 12,
	    .console_evtchn = 2,
	    .store_evtchn = 1,
	    .domid = 7,
	};
	for (unsigned i = 0; i < 16; i++)
		v->p.hole_l4e[i] = (i % 3 == 2) ? 0 : (0x123000ULL + i * 0x1000) | 0x5;
}

static void env_build(struct env *v)
{
	char err[XK_ERRLEN];

	if (xk_build(&v->p, &v->r, err))
		fail_msg("build: %s", err);
}

static void env_free(struct env *v)
{
	xk_kernel_free(&v->k);
	free(v->ram);
	free(v->p2m);
	free(v->rd);
}

static bool walk(const struct env *v, uint64_t va, struct ptw *w)
{
	return ptw_walk(v->ram, v->nr, v->r.l4_maddr, va, w);
}

/* Read guest-virtual memory through the page tables. */
static void read_va(const struct env *v, uint64_t va, void *dst, size_t len)
{
	uint8_t *d = dst;

	while (len) {
		struct ptw w;
		size_t n = 4096 - (va & 0xfff);

		if (n > len)
			n = len;
		if (!walk(v, va, &w))
			fail_msg("VA 0x%llx not mapped", (unsigned long long)va);
		memcpy(d, v->ram + w.pa, n);
		d += n;
		va += n;
		len -= n;
	}
}

static uint64_t rd64(const struct env *v, uint64_t va)
{
	uint64_t x;

	read_va(v, va, &x, 8);
	return x;
}

static bool is_pt_mfn(const struct env *v, uint64_t m)
{
	for (unsigned i = 0; i < v->r.nr_pt; i++)
		if (v->r.pt_mfn[i] == m)
			return true;
	return false;
}

static void check_pagetables(const struct env *v)
{
	const struct xk_layout *l = &v->r.lay;
	const uint64_t vb = v->k.virt_base;
	uint64_t l4[512];
	struct ptw w;
	unsigned i, n1 = 0, n2 = 0, n3 = 0;

	/* The result lists L4, L3s, L2s, L1s of the bootstrap tables (in PFN
	 * order from pt_pfn), then the INIT_P2M tables. */
	assert_int_equal(v->r.nr_pt, l->pt_pages + l->init_p2m_pt_pages);
	assert_int_equal(v->r.l4_maddr, mfn(v, l->pt_pfn) * 4096);
	assert_int_equal(v->r.pt_mfn[0] * 4096, v->r.l4_maddr);
	assert_int_equal(v->r.pt_level[0], 4);
	for (i = 0; i < l->pt_pages; i++) {
		assert_int_equal(v->r.pt_mfn[i], mfn(v, l->pt_pfn + i));
		if (i)
			assert_true(v->r.pt_level[i] <= v->r.pt_level[i - 1]);
	}
	for (i = 0; i < l->init_p2m_pt_pages; i++)
		assert_int_equal(v->r.pt_mfn[l->pt_pages + i], mfn(v, l->init_p2m_pt_pfn + i));

	/* Every page of the mapped region: VA = VIRT_BASE + pfn*4096 -> p2m[pfn];
	 * L1 P|A (no U: kernel pages) and RW unless the frame is a page table;
	 * upper P|RW|A|D|U. */
	for (uint64_t pfn = 0; pfn < l->mapped_end_pfn; pfn++) {
		if (!walk(v, vb + pfn * 4096, &w))
			fail_msg("pfn 0x%llx not mapped", (unsigned long long)pfn);
		assert_int_equal(w.pa, mfn(v, pfn) * 4096);
		assert_int_equal(w.l1e & 0xfff & ~PTW_RW, PTW_P | PTW_A);
		assert_int_equal(w.l1e >> 52, 0);
		assert_int_equal(!!(w.l1e & PTW_RW), !is_pt_mfn(v, mfn(v, pfn)));
		if (pfn >= l->pt_pfn && pfn < l->pt_pfn + l->pt_pages)
			assert_false(w.l1e & PTW_RW);
		for (i = 0; i < 3; i++)
			assert_int_equal(w.upper[i] & 0xfff, UPPER_FLAGS);
		for (i = 0; i < 4; i++) {
			if (!is_pt_mfn(v, w.table[i] / 4096))
				fail_msg("walk used a frame 0x%llx not listed as page table",
					 (unsigned long long)w.table[i] / 4096);
		}
	}
	/* Nothing mapped right outside the region. */
	assert_false(walk(v, vb + l->mapped_end_pfn * 4096, &w));
	assert_false(walk(v, vb - 4096, &w));

	/* Levels: one L4, then L3s, L2s, L1s (L1 count = 2 MiB chunks). */
	for (i = 0; i < l->pt_pages; i++) {
		n3 += v->r.pt_level[i] == 3;
		n2 += v->r.pt_level[i] == 2;
		n1 += v->r.pt_level[i] == 1;
	}
	assert_int_equal(1 + n3 + n2 + n1, l->pt_pages);
	assert_int_equal(n1, (l->mapped_end_pfn + (vb >> 12) % 512 + 511) / 512);

	/* L4: hole slots verbatim, only the expected others used. */
	memcpy(l4, v->ram + v->r.l4_maddr, sizeof(l4));
	for (i = 0; i < 16; i++)
		assert_int_equal(l4[256 + i], v->p.hole_l4e[i]);
	for (i = 0; i < 512; i++) {
		bool expect = i == ((vb >> 39) & 511) || (i >= 256 && i < 272) ||
			      (v->k.init_p2m && i == ((v->k.init_p2m >> 39) & 511));

		if (!expect)
			assert_int_equal(l4[i], 0);
		else if (i < 256 || i >= 272)
			assert_int_equal(l4[i] & 0xfff, UPPER_FLAGS);
	}
}

static void check_kernel(const struct env *v)
{
	const struct xk_kernel *k = &v->k;
	uint8_t buf[256];

	for (unsigned s = 0; s < k->nr_seg; s++) {
		uint64_t va = k->virt_base + k->seg[s].paddr - k->paddr_offset;

		for (uint64_t off = 0; off < k->seg[s].memsz; off += 97) {
			uint8_t want = off < k->seg[s].filesz ? eg_seg_byte(&v->e, s, off) : 0;

			if (k->hypercall_page && (va + off) >> 12 == k->hypercall_page >> 12)
				continue; /* overwritten, checked below */
			read_va(v, va + off, buf, 1);
			if (buf[0] != want)
				fail_msg("segment %u +0x%llx: 0x%02x != 0x%02x", s,
					 (unsigned long long)off, buf[0], want);
		}
	}
	/* The zeroed padding below the kernel. */
	read_va(v, k->virt_base, buf, sizeof(buf));
	for (unsigned i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	/* The hypercall page, filled over the kernel's placeholder. */
	if (v->o.hypercall_page) {
		static const uint8_t hc0[] = {0x51, 0x41, 0x53, 0xb8, 0,    0,	  0,   0,
					      0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3, 0xcc};
		static const uint8_t hc5[] = {0x51, 0x41, 0x53, 0xb8, 5,    0,	  0,   0,
					      0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3, 0xcc};
		static const uint8_t iret[] = {0x51, 0x41, 0x53, 0x50, 0xb8, 23,  0,
					       0,    0,	   0x0f, 0x05, 0xcc, 0xcc};
		uint8_t pg[4096];

		assert_int_equal(v->r.hypercall_page_va, k->hypercall_page);
		read_va(v, v->r.hypercall_page_va, pg, sizeof(pg));
		assert_memory_equal(pg, hc0, sizeof(hc0));
		assert_memory_equal(pg + 5 * 32, hc5, sizeof(hc5));
		assert_memory_equal(pg + 23 * 32, iret, sizeof(iret));
		assert_int_equal(pg[127 * 32 + 4], 127);
		for (unsigned i = 14; i < 32; i++)
			assert_int_equal(pg[64 + i], 0xcc);
	} else {
		assert_int_equal(v->r.hypercall_page_va, 0);
	}
}

static void check_start_info(const struct env *v, const char *cmdline)
{
	const struct xk_layout *l = &v->r.lay;
	const uint64_t vb = v->k.virt_base, si = v->r.start_info_va;
	uint8_t page[4096];
	uint32_t flags, want_flags = 0x10; /* SIF_VIRT_P2M_4TOOLS, as libxc */
	uint64_t mfn_list, nr_p2m_entries;
	struct ptw w;

	assert_int_equal(si, vb + l->start_info_pfn * 4096);
	assert_int_equal(v->r.stack_top_va, vb + (l->stack_pfn + 1) * 4096);
	assert_true(walk(v, v->r.stack_top_va - 8, &w) && (w.l1e & PTW_RW));
	assert_int_equal(v->r.entry, v->e.entry);
	assert_int_equal(v->r.pt_base_va, vb + l->pt_pfn * 4096);

	read_va(v, si, page, sizeof(page));
	assert_string_equal((char *)page, "xen-3.0-x86_64");
	assert_int_equal(rd64(v, si + 32), v->nr);
	assert_int_equal(rd64(v, si + 40), v->p.shared_info_maddr);
	memcpy(&flags, page + 48, 4);
	assert_int_equal(rd64(v, si + 56), mfn(v, l->xenstore_pfn));
	assert_int_equal(rd64(v, si + 56), v->r.store_mfn);
	assert_int_equal(rd64(v, si + 64) & 0xffffffff, 1);
	assert_int_equal(rd64(v, si + 72), mfn(v, l->console_pfn));
	assert_int_equal(rd64(v, si + 72), v->r.console_mfn);
	assert_int_equal(rd64(v, si + 80) & 0xffffffff, 2);
	assert_int_equal(rd64(v, si + 88), v->r.pt_base_va);
	assert_int_equal(rd64(v, si + 96), l->pt_pages);
	assert_string_equal((char *)page + 128, cmdline ? cmdline : "");

	/* xenstore and console pages zeroed. */
	for (unsigned i = 0; i < 4096; i++) {
		assert_int_equal(v->ram[v->r.store_mfn * 4096 + i], 0);
		assert_int_equal(v->ram[v->r.console_mfn * 4096 + i], 0);
	}

	/* Ramdisk: a VA for old kernels, a PFN (+ flag) with MOD_START_PFN;
	 * mod_len page-rounded as libxc reports it. */
	if (v->rd_len) {
		uint64_t ms = rd64(v, si + 112);
		uint8_t *got = malloc(v->rd_len);

		assert_int_equal(rd64(v, si + 120), (v->rd_len + 4095) & ~4095ULL);
		if (v->o.mod_start_pfn) {
			want_flags |= 8;
			assert_int_equal(ms, l->ramdisk_pfn);
			assert_true(ms >= l->mapped_end_pfn);
			for (size_t off = 0; off < v->rd_len; off += 4096) {
				size_t n = v->rd_len - off < 4096 ? v->rd_len - off : 4096;

				memcpy(got + off, v->ram + mfn(v, ms + off / 4096) * 4096, n);
			}
		} else {
			assert_int_equal(ms, vb + l->ramdisk_pfn * 4096);
			read_va(v, ms, got, v->rd_len);
		}
		assert_memory_equal(got, v->rd, v->rd_len);
		free(got);
	} else {
		assert_int_equal(rd64(v, si + 112), 0);
		assert_int_equal(rd64(v, si + 120), 0);
	}
	assert_int_equal(flags, want_flags);

	/* The p2m list, read through the guest mapping; writable up to a
	 * multiple of 512 entries, ~0 past nr_pages. */
	mfn_list = rd64(v, si + 104);
	nr_p2m_entries = (v->nr + 511) & ~511ULL;
	for (uint64_t i = 0; i < nr_p2m_entries; i++) {
		uint64_t e = rd64(v, mfn_list + i * 8);

		assert_int_equal(e, i < v->nr ? mfn(v, i) : ~0ULL);
		if (i % 512 == 0) {
			assert_true(walk(v, mfn_list + i * 8, &w));
			assert_true(w.l1e & PTW_RW);
			assert_false(is_pt_mfn(v, w.pa / 4096));
		}
	}
	if (v->o.init_p2m) {
		assert_int_equal(mfn_list, 0x8000000000ULL);
		assert_int_equal(rd64(v, si + 1152), l->init_p2m_pfn);
		assert_int_equal(rd64(v, si + 1160), l->init_p2m_pages + l->init_p2m_pt_pages);
		/* Exactly the list pages are mapped there, by INIT_P2M tables. */
		for (uint64_t i = 0; i < l->init_p2m_pages; i++) {
			assert_true(walk(v, mfn_list + i * 4096, &w));
			assert_int_equal(w.pa, mfn(v, l->init_p2m_pfn + i) * 4096);
			assert_int_equal(w.upper[0] & 0xfff, UPPER_FLAGS);
			assert_true(is_pt_mfn(v, w.table[1] / 4096));
			assert_true(is_pt_mfn(v, w.table[3] / 4096));
		}
		assert_false(walk(v, mfn_list + l->init_p2m_pages * 4096, &w));
	} else {
		assert_int_equal(mfn_list, vb + l->p2m_pfn * 4096);
		assert_int_equal(rd64(v, si + 1152), 0);
		assert_int_equal(rd64(v, si + 1160), 0);
	}
}

static void run_case(const struct eg_linux_opts *o, uint64_t nr, bool scramble, size_t rd_len)
{
	static const char cmdline[] = "console=hvc0 root=/dev/xvda1 earlyprintk=xen";
	struct env v;

	env_init(&v, o, nr, scramble, rd_len, cmdline);
	env_build(&v);
	check_pagetables(&v);
	check_kernel(&v);
	check_start_info(&v, cmdline);
	assert_false(v.r.cmdline_truncated);
	env_free(&v);
}

static void test_linux61(void **state)
{
	struct eg_linux_opts o = {.init_p2m = true, .mod_start_pfn = true, .kbase = 0x1000000};

	run_case(&o, 40 * MiB_PAGES + 5, false, 100 * 1024 + 7);
	run_case(&o, 40 * MiB_PAGES + 5, true, 100 * 1024 + 7);
	run_case(&o, 32 * MiB_PAGES, true, 0);
}

static void test_old_kernel(void **state)
{
	struct eg_linux_opts o = {.hypercall_page = true};

	run_case(&o, 24 * MiB_PAGES + 511, false, 3 * 4096);
	run_case(&o, 24 * MiB_PAGES + 511, true, 3 * 4096);
	run_case(&o, 12 * MiB_PAGES, true, 0);
}

static void test_hypercall_page_with_init_p2m(void **state)
{
	struct eg_linux_opts o = {.hypercall_page = true, .init_p2m = true};

	run_case(&o, 16 * MiB_PAGES, true, 5000);
}

/* Overlapping segments load in header order, each zero-extended (as
 * libelf's elf_load_binary): the later segment's data and bss win. */
static void test_overlapping_segments(void **state)
{
	struct eg_linux_opts o = {0};
	const uint64_t text = EG_VIRT_BASE + 0x200000;
	uint8_t b;
	struct env v;

	env_init(&v, &o, 16 * MiB_PAGES, true, 0, NULL);
	xk_kernel_free(&v.k);
	v.e.load[1].paddr = 0x200000 + 0x2000;
	v.e.load[1].vaddr = text + 0x2000;
	v.e.load[1].filesz = 0x800;
	v.e.load[1].memsz = 0x1800;
	{
		char err[XK_ERRLEN];
		size_t len;
		uint8_t *img = eg_build(&v.e, &len);

		if (xk_kernel_parse(img, len, &v.k, err))
			fail_msg("parse: %s", err);
		free(img);
	}
	env_build(&v);
	read_va(&v, text + 0x1fff, &b, 1);
	assert_int_equal(b, eg_seg_byte(&v.e, 0, 0x1fff));
	read_va(&v, text + 0x2100, &b, 1);
	assert_int_equal(b, eg_seg_byte(&v.e, 1, 0x100));
	read_va(&v, text + 0x2900, &b, 1);
	assert_int_equal(b, 0);
	read_va(&v, text + 0x2fff, &b, 1);
	assert_int_equal(b, 0);
	env_free(&v);
}

static void test_cmdline(void **state)
{
	struct eg_linux_opts o = {0};
	char longline[2000], si_cmd[1024];
	struct env v;

	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	env_init(&v, &o, 16 * MiB_PAGES, false, 0, longline);
	env_build(&v);
	assert_true(v.r.cmdline_truncated);
	read_va(&v, v.r.start_info_va + 128, si_cmd, sizeof(si_cmd));
	assert_int_equal(strnlen(si_cmd, sizeof(si_cmd)), 1023);
	assert_memory_equal(si_cmd, longline, 1023);
	env_free(&v);

	/* Exactly 1023 characters fit. */
	longline[1023] = '\0';
	env_init(&v, &o, 16 * MiB_PAGES, false, 0, longline);
	env_build(&v);
	assert_false(v.r.cmdline_truncated);
	env_free(&v);

	env_init(&v, &o, 16 * MiB_PAGES, false, 0, NULL);
	env_build(&v);
	check_start_info(&v, NULL);
	env_free(&v);
}

static void test_build_errors(void **state)
{
	struct eg_linux_opts o = {0};
	char err[XK_ERRLEN];
	struct env v;

	env_init(&v, &o, 16 * MiB_PAGES, true, 0, NULL);
	/* A p2m pointing outside RAM. */
	v.p2m[77] = v.nr;
	assert_int_equal(xk_build(&v.p, &v.r, err), -EINVAL);
	assert_non_null(strstr(err, "p2m"));
	v.p2m[77] = 77;
	/* Too little RAM for the layout. */
	v.p.nr_pages = 2 * MiB_PAGES;
	assert_int_equal(xk_build(&v.p, &v.r, err), -ENOMEM);
	assert_non_null(strstr(err, "needs at least"));
	v.p.nr_pages = v.nr;
	/* Missing pieces. */
	v.p.ram = NULL;
	assert_int_equal(xk_build(&v.p, &v.r, err), -EINVAL);
	v.p.ram = v.ram;
	v.p.ramdisk_len = 10;
	assert_int_equal(xk_build(&v.p, &v.r, err), -EINVAL);
	v.p.ramdisk_len = 0;
	assert_int_equal(xk_build(&v.p, &v.r, err), 0);
	env_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_linux61),
	    cmocka_unit_test(test_old_kernel),
	    cmocka_unit_test(test_hypercall_page_with_init_p2m),
	    cmocka_unit_test(test_overlapping_segments),
	    cmocka_unit_test(test_cmdline),
	    cmocka_unit_test(test_build_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
