/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The real thing: Debian's current kernel (bzImage, XZ payload), located by
 * XENKVM_DEBIAN_VMLINUZ (tools/fetch-debian-kernel prints a path).  Checks
 * the notes against pv-abi.md 1.1 and builds a 256 MiB domain from it.
 * Skips (77) when the variable is unset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "builder.h"
#include "ptwalk.h"

static uint8_t *file;
static size_t file_len;

static void test_notes(void **state)
{
	struct xk_kernel k;
	char err[XK_ERRLEN];

	if (xk_kernel_parse(file, file_len, &k, err))
		fail_msg("parse: %s", err);
	assert_true(k.is_bzimage);
	assert_string_equal(k.compression, "xz");
	assert_string_equal(k.guest_os, "linux");
	assert_string_equal(k.guest_version, "2.6");
	assert_string_equal(k.xen_version, "xen-3.0");
	assert_string_equal(k.loader, "generic");
	assert_string_equal(k.features, "!writable_page_tables|pae_pgdir_above_4gb");
	assert_true(k.pae_yes);
	assert_int_equal(k.virt_base, 0xffffffff80000000ULL);
	assert_int_equal(k.paddr_offset, 0);
	assert_int_equal(k.init_p2m, 0x8000000000ULL);
	assert_int_equal(k.hv_start_low, 0xffff800000000000ULL);
	assert_true(k.mod_start_pfn);
	assert_true(k.l1_mfn_valid);
	assert_true(k.suspend_cancel);
	assert_true(k.phys32_entry != 0);
	assert_int_equal(k.feat_supported & 0x8801, 0x8801);
	/* 6.1.123 and later: no hypercall page. */
	assert_int_equal(k.hypercall_page, 0);
	assert_true(k.entry >= k.virt_kstart && k.entry < k.virt_kend);
	assert_int_equal(k.virt_kstart, 0xffffffff81000000ULL);
	/* .data..percpu: VirtAddr 0, loaded by paddr inside the image. */
	{
		bool found = false;

		for (unsigned i = 0; i < k.nr_seg; i++)
			found |= k.seg[i].paddr > 0x2000000 && k.seg[i].paddr < 0x4000000 &&
				 k.seg[i].memsz < 0x100000;
		assert_true(found);
	}
	printf("# entry 0x%llx kernel 0x%llx-0x%llx, %u segments, ELF %zu bytes\n",
	       (unsigned long long)k.entry, (unsigned long long)k.virt_kstart,
	       (unsigned long long)k.virt_kend, k.nr_seg, k.elf_len);
	xk_kernel_free(&k);
}

static void test_build(void **state)
{
	const uint64_t nr = 256ULL << 8;
	struct xk_kernel k;
	struct xk_build_params p = {0};
	struct xk_build_result r;
	char err[XK_ERRLEN];
	uint8_t *ram, rd[5000];
	struct ptw w = {0};
	uint64_t si;

	if (xk_kernel_parse(file, file_len, &k, err))
		fail_msg("parse: %s", err);
	ram = mmap(NULL, nr * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ram != MAP_FAILED);
	memset(rd, 0x42, sizeof(rd));
	p = (struct xk_build_params){.k = &k,
				     .nr_pages = nr,
				     .ram = ram,
				     .ramdisk = rd,
				     .ramdisk_len = sizeof(rd),
				     .cmdline = "console=hvc0"};
	if (xk_build(&p, &r, err))
		fail_msg("build: %s", err);
	printf("# layout: start_info pfn 0x%llx, %llu PT frames, mapped to pfn 0x%llx, "
	       "initrd pfn 0x%llx, p2m pfn 0x%llx+0x%llx (+%llu PTs)\n",
	       (unsigned long long)r.lay.start_info_pfn, (unsigned long long)r.lay.pt_pages,
	       (unsigned long long)r.lay.mapped_end_pfn, (unsigned long long)r.lay.ramdisk_pfn,
	       (unsigned long long)r.lay.init_p2m_pfn, (unsigned long long)r.lay.init_p2m_pages,
	       (unsigned long long)r.lay.init_p2m_pt_pages);

	/* The entry point's bytes are the ELF's, read through the tables. */
	for (unsigned i = 0; i < k.nr_seg; i++) {
		uint64_t va = k.virt_base + k.seg[i].paddr - k.paddr_offset;

		if (r.entry < va || r.entry >= va + k.seg[i].filesz)
			continue;
		assert_true(ptw_walk(ram, nr, r.l4_maddr, r.entry, &w));
		assert_memory_equal(ram + w.pa, k.elf + k.seg[i].offset + (r.entry - va), 16);
	}
	/* Every segment's first and last file byte. */
	for (unsigned i = 0; i < k.nr_seg; i++) {
		uint64_t va = k.virt_base + k.seg[i].paddr - k.paddr_offset;

		assert_true(ptw_walk(ram, nr, r.l4_maddr, va, &w));
		assert_int_equal(ram[w.pa], k.elf[k.seg[i].offset]);
		va += k.seg[i].filesz - 1;
		assert_true(ptw_walk(ram, nr, r.l4_maddr, va, &w));
		assert_int_equal(ram[w.pa], k.elf[k.seg[i].offset + k.seg[i].filesz - 1]);
	}
	si = r.start_info_va;
	assert_true(ptw_walk(ram, nr, r.l4_maddr, si, &w));
	assert_string_equal((char *)ram + w.pa, "xen-3.0-x86_64");
	assert_string_equal((char *)ram + w.pa + 128, "console=hvc0");
	assert_int_equal(*(uint64_t *)(ram + w.pa + 104), 0x8000000000ULL);
	assert_int_equal(*(uint32_t *)(ram + w.pa + 48), 0x18); /* MOD_START_PFN|VIRT_P2M */
	assert_true(ptw_walk(ram, nr, r.l4_maddr, 0x8000000000ULL + 8 * 1000, &w));
	assert_int_equal(*(uint64_t *)(ram + w.pa), 1000);
	munmap(ram, nr * 4096);
	xk_kernel_free(&k);
}

int main(void)
{
	const char *path = getenv("XENKVM_DEBIAN_VMLINUZ");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notes),
	    cmocka_unit_test(test_build),
	};
	FILE *f;
	long n;

	if (!path || !*path) {
		printf("SKIP: XENKVM_DEBIAN_VMLINUZ is not set (tools/fetch-debian-kernel "
		       "prints a path)\n");
		return 77;
	}
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0) {
		printf("cannot read %s\n", path);
		return 1;
	}
	rewind(f);
	file_len = (size_t)n;
	file = malloc(file_len);
	if (fread(file, 1, file_len, f) != file_len) {
		printf("short read on %s\n", path);
		return 1;
	}
	fclose(f);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
