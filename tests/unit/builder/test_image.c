/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel image parsing: ELF64 + Xen notes, legacy __xen_guest, bzImage with
 * every compression, and rejection of bad / truncated / corrupt images. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <xen/elfnote.h>

#include "builder.h"
#include "elfgen.h"

static const char *const comps[] = {"gzip", "xz", "lzma", "bzip2", "lz4", "zstd", "none"};
#define NR_COMPS (sizeof(comps) / sizeof(comps[0]))

/* Parse must fail with a message containing `want`. */
static void expect_fail(const uint8_t *img, size_t len, const char *want)
{
	struct xk_kernel k;
	char err[XK_ERRLEN];
	int rc = xk_kernel_parse(img, len, &k, err);

	if (rc == 0)
		fail_msg("parse of %zu bytes unexpectedly succeeded (want '%s')", len, want);
	assert_true(rc < 0);
	assert_null(k.elf);
	assert_true(strlen(err) > 0 && strlen(err) < XK_ERRLEN);
	assert_null(strchr(err, '\n'));
	if (want && !strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void parse_ok(const uint8_t *img, size_t len, struct xk_kernel *k)
{
	char err[XK_ERRLEN];
	int rc = xk_kernel_parse(img, len, k, err);

	if (rc)
		fail_msg("parse failed: %s", err);
}

static void check_linux_fields(const struct xk_kernel *k, const struct eg_elf *e, uint64_t kb)
{
	assert_string_equal(k->guest_os, "linux");
	assert_string_equal(k->guest_version, "2.6");
	assert_string_equal(k->xen_version, "xen-3.0");
	assert_string_equal(k->loader, "generic");
	assert_string_equal(k->features, "!writable_page_tables|pae_pgdir_above_4gb");
	assert_true(k->pae_yes);
	assert_true(k->l1_mfn_valid);
	assert_true(k->suspend_cancel);
	assert_false(k->legacy_xen_guest);
	assert_int_equal(k->virt_base, EG_VIRT_BASE);
	assert_int_equal(k->paddr_offset, 0);
	assert_int_equal(k->entry, e->entry);
	assert_int_equal(k->hv_start_low, 0xffff800000000000ULL);
	assert_int_equal(k->phys32_entry, kb + 0x200);
	/* SUPPORTED_FEATURES 0x8801 plus the two named in FEATURES (bits 0, 4). */
	assert_int_equal(k->feat_supported, 0x8811);
	assert_int_equal(k->feat_required, 0x1);
	assert_int_equal(k->nr_seg, 3);
	assert_int_equal(k->seg[2].paddr, kb + EG_TEXT_SIZE + EG_DATA_MEMSZ);
	assert_int_equal(k->seg[1].filesz, EG_DATA_FILESZ);
	assert_int_equal(k->seg[1].memsz, EG_DATA_MEMSZ);
	assert_int_equal(k->virt_kstart, EG_VIRT_BASE + kb);
	assert_int_equal(k->virt_kend,
			 EG_VIRT_BASE + kb + EG_TEXT_SIZE + EG_DATA_MEMSZ + EG_PERCPU_SIZE);
}

static void test_elf_notes(void **state)
{
	struct eg_linux_opts o = {.init_p2m = true, .mod_start_pfn = true};
	struct eg_elf e;
	struct xk_kernel k;
	uint8_t *img;
	size_t len;

	eg_linux(&e, &o);
	img = eg_build(&e, &len);
	parse_ok(img, len, &k);
	check_linux_fields(&k, &e, 0x200000);
	assert_false(k.is_bzimage);
	assert_string_equal(k.compression, "none");
	assert_int_equal(k.elf_len, len);
	assert_memory_equal(k.elf, img, len);
	assert_int_equal(k.init_p2m, 0x8000000000ULL);
	assert_true(k.mod_start_pfn);
	assert_int_equal(k.hypercall_page, 0);
	xk_kernel_free(&k);
	assert_null(k.elf);
	free(img);

	/* Same kernel with a hypercall page and without INIT_P2M/MOD_START_PFN. */
	o = (struct eg_linux_opts){.hypercall_page = true};
	eg_linux(&e, &o);
	img = eg_build(&e, &len);
	parse_ok(img, len, &k);
	assert_int_equal(k.hypercall_page, EG_VIRT_BASE + 0x200000 + 0x2000);
	assert_int_equal(k.init_p2m, 0);
	assert_false(k.mod_start_pfn);
	xk_kernel_free(&k);
	free(img);
}

/* Notes only in a SHT_NOTE section (no PT_NOTE), and 16 MiB text base. */
static void test_section_notes(void **state)
{
	struct eg_linux_opts o = {.notes_section_only = true, .kbase = 0x1000000};
	struct eg_elf e;
	struct xk_kernel k;
	uint8_t *img;
	size_t len;

	eg_linux(&e, &o);
	img = eg_build(&e, &len);
	parse_ok(img, len, &k);
	check_linux_fields(&k, &e, 0x1000000);
	xk_kernel_free(&k);
	free(img);
}

/* 4-byte numeric notes (a kernel linked in the low half). */
static void test_notes_4byte(void **state)
{
	struct eg_elf e = {0};
	struct xk_kernel k;
	uint8_t *img;
	size_t len;

	e.entry = 0xc0100040;
	e.load[0] = (struct eg_load){
	    .vaddr = 0xc0100000, .paddr = 0x100000, .filesz = 0x800, .memsz = 0x1800};
	e.nr_load = 1;
	e.notes_phdr = true;
	eg_note_str(&e, XEN_ELFNOTE_GUEST_OS, "linux");
	eg_note_str(&e, XEN_ELFNOTE_XEN_VERSION, "xen-3.0");
	eg_note_num(&e, XEN_ELFNOTE_VIRT_BASE, 0xc0000000, 4);
	eg_note_num(&e, XEN_ELFNOTE_ENTRY, 0xc0100080, 4);
	eg_note_num(&e, XEN_ELFNOTE_HYPERCALL_PAGE, 0xc0101000, 4);
	eg_note_num(&e, XEN_ELFNOTE_MOD_START_PFN, 1, 1);
	img = eg_build(&e, &len);
	parse_ok(img, len, &k);
	assert_int_equal(k.virt_base, 0xc0000000);
	assert_int_equal(k.paddr_offset, 0);
	assert_int_equal(k.entry, 0xc0100080); /* the note wins over e_entry */
	assert_int_equal(k.hypercall_page, 0xc0101000);
	assert_true(k.mod_start_pfn);
	assert_int_equal(k.virt_kstart, 0xc0100000);
	assert_int_equal(k.virt_kend, 0xc0102000);
	assert_string_equal(k.loader, "");
	xk_kernel_free(&k);
	free(img);
}

/* Legacy __xen_guest string; p_paddr holds virtual addresses. */
static void test_legacy_xen_guest(void **state)
{
	struct eg_elf e = {0};
	struct xk_kernel k;
	uint8_t *img;
	size_t len;

	e.entry = 0xffffffff80100000ULL;
	e.load[0] = (struct eg_load){.vaddr = 0xffffffff80100000ULL,
				     .paddr = 0xffffffff80100000ULL,
				     .filesz = 0x3000,
				     .memsz = 0x4000};
	e.nr_load = 1;
	e.xen_guest = "GUEST_OS=linux,GUEST_VER=2.6,XEN_VER=xen-3.0,VIRT_BASE=0xffffffff80000000,"
		      "HYPERCALL_PAGE=0x101,LOADER=generic,PAE=yes[extended-cr3],"
		      "FEATURES=writable_page_tables|!pae_pgdir_above_4gb";
	img = eg_build(&e, &len);
	parse_ok(img, len, &k);
	assert_true(k.legacy_xen_guest);
	assert_string_equal(k.guest_os, "linux");
	assert_string_equal(k.guest_version, "2.6");
	assert_string_equal(k.xen_version, "xen-3.0");
	assert_string_equal(k.loader, "generic");
	assert_true(k.pae_yes);
	assert_int_equal(k.virt_base, 0xffffffff80000000ULL);
	/* Legacy default: ELF_PADDR_OFFSET = VIRT_BASE. */
	assert_int_equal(k.paddr_offset, 0xffffffff80000000ULL);
	assert_int_equal(k.virt_kstart, 0xffffffff80100000ULL);
	assert_int_equal(k.virt_kend, 0xffffffff80104000ULL);
	assert_int_equal(k.entry, 0xffffffff80100000ULL); /* e_entry */
	assert_int_equal(k.hypercall_page, 0xffffffff80101000ULL);
	assert_int_equal(k.feat_required, 1u << 4);
	assert_int_equal(k.feat_supported, 1u << 4 | 1u);
	xk_kernel_free(&k);
	free(img);

	/* Explicit ELF_PADDR_OFFSET and VIRT_ENTRY. */
	e.load[0].paddr = 0x100000;
	e.xen_guest = "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xffffffff80000000,"
		      "ELF_PADDR_OFFSET=0,VIRT_ENTRY=0xffffffff80100010";
	img = eg_build(&e, &len);
	parse_ok(img, len, &k);
	assert_int_equal(k.paddr_offset, 0);
	assert_int_equal(k.entry, 0xffffffff80100010ULL);
	assert_int_equal(k.virt_kstart, 0xffffffff80100000ULL);
	assert_int_equal(k.hypercall_page, 0);
	xk_kernel_free(&k);
	free(img);

	/* ELF_PADDR_OFFSET without VIRT_BASE is refused, as Xen does. */
	e.xen_guest = "GUEST_OS=linux,XEN_VER=xen-3.0,ELF_PADDR_OFFSET=0";
	img = eg_build(&e, &len);
	expect_fail(img, len, "VIRT_BASE unset");
	free(img);
}

static void test_rejects(void **state)
{
	struct eg_linux_opts o = {0};
	struct eg_elf e;
	uint8_t *img, junk[4096];
	size_t len;

	/* No notes at all, and notes with another owner only. */
	eg_linux(&e, &o);
	e.nr_note = 0;
	img = eg_build(&e, &len);
	expect_fail(img, len, "has no Xen ELF notes: kernel built without CONFIG_XEN_PV?");
	free(img);
	eg_linux(&e, &o);
	for (unsigned i = 0; i < e.nr_note; i++)
		e.note[i].name = "GNU";
	img = eg_build(&e, &len);
	expect_fail(img, len, "CONFIG_XEN_PV");
	free(img);

	/* ELF32. */
	eg_linux(&e, &o);
	e.elf32 = true;
	img = eg_build(&e, &len);
	expect_fail(img, len, "32-bit PV kernels are not supported yet");
	free(img);

	/* Other machine. */
	eg_linux(&e, &o);
	e.machine = EM_AARCH64;
	img = eg_build(&e, &len);
	expect_fail(img, len, "not x86-64");
	free(img);

	/* GUEST_OS missing; wrong OS and loader; wrong Xen version. */
	eg_linux(&e, &o);
	e.note[0].type = 0x7777; /* unknown types are ignored */
	img = eg_build(&e, &len);
	expect_fail(img, len, "GUEST_OS");
	free(img);
	eg_linux(&e, &o);
	eg_note_str(&e, XEN_ELFNOTE_GUEST_OS, "Plan9");
	eg_note_str(&e, XEN_ELFNOTE_LOADER, "plan9");
	img = eg_build(&e, &len);
	expect_fail(img, len, "Linux or generic-loader");
	free(img);
	eg_linux(&e, &o);
	eg_note_str(&e, XEN_ELFNOTE_XEN_VERSION, "xen-2.0");
	img = eg_build(&e, &len);
	expect_fail(img, len, "xen-3.0");
	free(img);

	/* Required features we cannot provide, and unknown required ones. */
	eg_linux(&e, &o);
	eg_note_str(&e, XEN_ELFNOTE_FEATURES, "!dom0");
	img = eg_build(&e, &len);
	expect_fail(img, len, "'dom0'");
	free(img);
	eg_linux(&e, &o);
	eg_note_str(&e, XEN_ELFNOTE_FEATURES, "pae_pgdir_above_4gb|!frobnicate");
	img = eg_build(&e, &len);
	expect_fail(img, len, "unknown Xen feature 'frobnicate'");
	free(img);

	/* Entry outside the kernel; VIRT_BASE above the kernel. */
	eg_linux(&e, &o);
	eg_note_num(&e, XEN_ELFNOTE_ENTRY, EG_VIRT_BASE + 0x100000, 8);
	img = eg_build(&e, &len);
	expect_fail(img, len, "out of bounds");
	free(img);
	eg_linux(&e, &o);
	eg_note_num(&e, XEN_ELFNOTE_VIRT_BASE, EG_VIRT_BASE + 0x400000, 8);
	img = eg_build(&e, &len);
	expect_fail(img, len, "out of bounds");
	free(img);

	/* Hypercall page outside the image; INIT_P2M inside it. */
	eg_linux(&e, &o);
	eg_note_num(&e, XEN_ELFNOTE_HYPERCALL_PAGE, EG_VIRT_BASE + 0x100000, 8);
	img = eg_build(&e, &len);
	expect_fail(img, len, "HYPERCALL_PAGE");
	free(img);
	eg_linux(&e, &o);
	eg_note_num(&e, XEN_ELFNOTE_INIT_P2M, EG_VIRT_BASE + 0x201000, 8);
	img = eg_build(&e, &len);
	expect_fail(img, len, "INIT_P2M");
	free(img);

	/* No loadable segment. */
	eg_linux(&e, &o);
	e.load[0].type = e.load[1].type = e.load[2].type = PT_GNU_STACK;
	img = eg_build(&e, &len);
	expect_fail(img, len, "no loadable segments");
	free(img);

	/* Not a kernel. */
	memset(junk, 0x5a, sizeof(junk));
	expect_fail(junk, sizeof(junk), "not a kernel image");
	expect_fail(junk, 0, "not a kernel image");
}

/* INIT_P2M at or above VIRT_BASE, or unaligned, is ignored (as libxc). */
static void test_init_p2m_ignored(void **state)
{
	static const uint64_t bad[] = {0xffffffff90000000ULL, 0x8000000800ULL};
	struct eg_linux_opts o = {0};
	struct eg_elf e;
	struct xk_kernel k;
	uint8_t *img;
	size_t len;

	for (unsigned i = 0; i < 2; i++) {
		eg_linux(&e, &o);
		eg_note_num(&e, XEN_ELFNOTE_INIT_P2M, bad[i], 8);
		img = eg_build(&e, &len);
		parse_ok(img, len, &k);
		assert_int_equal(k.init_p2m, 0);
		xk_kernel_free(&k);
		free(img);
	}
}

/* Every prefix of a valid image is rejected cleanly (the section headers
 * sit at the end, so any cut removes something the parser needs). */
static void test_truncated_everywhere(void **state)
{
	struct eg_linux_opts o = {.hypercall_page = true};
	struct eg_elf e;
	uint8_t *img;
	size_t len, cut;

	eg_linux(&e, &o);
	img = eg_build(&e, &len);
	for (cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */

		memcpy(copy, img, cut);
		expect_fail(copy, cut, NULL);
		free(copy);
	}
	free(img);
}

static void patch_and_expect(const uint8_t *img, size_t len, size_t off, const void *val, size_t n,
			     const char *want)
{
	uint8_t *copy = malloc(len);

	memcpy(copy, img, len);
	memcpy(copy + off, val, n);
	expect_fail(copy, len, want);
	free(copy);
}

/* Header fields with absurd values. */
static void test_absurd_headers(void **state)
{
	struct eg_linux_opts o = {0};
	struct eg_elf e;
	Elf64_Ehdr eh;
	uint8_t *img;
	size_t len, ph0, ph1, phn;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	eg_linux(&e, &o);
	img = eg_build(&e, &len);
	memcpy(&eh, img, sizeof(eh));
	ph0 = eh.e_phoff;
	ph1 = ph0 + sizeof(Elf64_Phdr);
	phn = ph0 + 3 * sizeof(Elf64_Phdr); /* the PT_NOTE */

	v16 = 0xfffe;
	patch_and_expect(img, len, offsetof(Elf64_Ehdr, e_phnum), &v16, 2, "program headers");
	v16 = 0xffff;
	patch_and_expect(img, len, offsetof(Elf64_Ehdr, e_phnum), &v16, 2, "program headers");
	v16 = 0;
	patch_and_expect(img, len, offsetof(Elf64_Ehdr, e_phnum), &v16, 2, "program headers");
	v16 = 8;
	patch_and_expect(img, len, offsetof(Elf64_Ehdr, e_phentsize), &v16, 2, "program headers");
	v64 = ~0ULL - 8;
	patch_and_expect(img, len, offsetof(Elf64_Ehdr, e_phoff), &v64, 8, "program headers");
	patch_and_expect(img, len, offsetof(Elf64_Ehdr, e_shoff), &v64, 8, "section headers");
	v16 = 0x7fff;
	patch_and_expect(img, len, offsetof(Elf64_Ehdr, e_shnum), &v16, 2, "section headers");

	/* Segment offsets/sizes. */
	v64 = len;
	patch_and_expect(img, len, ph0 + offsetof(Elf64_Phdr, p_offset), &v64, 8, "segment 0");
	v64 = ~0ULL;
	patch_and_expect(img, len, ph0 + offsetof(Elf64_Phdr, p_filesz), &v64, 8, "segment 0");
	v64 = 0x10; /* memsz < filesz */
	patch_and_expect(img, len, ph1 + offsetof(Elf64_Phdr, p_memsz), &v64, 8, "bad sizes");
	v64 = 2ULL << 30; /* 2 GiB of bss */
	patch_and_expect(img, len, ph1 + offsetof(Elf64_Phdr, p_memsz), &v64, 8, "bad sizes");
	v64 = ~0ULL - 0x100; /* paddr + memsz wraps */
	patch_and_expect(img, len, ph1 + offsetof(Elf64_Phdr, p_paddr), &v64, 8, "bad sizes");
	v64 = 0x7fff0000000ULL; /* segments 8 TiB apart */
	patch_and_expect(img, len, ph1 + offsetof(Elf64_Phdr, p_paddr), &v64, 8, "out of bounds");

	/* Note segment out of range, and a note claiming a huge descriptor. */
	v64 = len - 4;
	patch_and_expect(img, len, phn + offsetof(Elf64_Phdr, p_offset), &v64, 8, "note");
	{
		Elf64_Phdr nph;

		memcpy(&nph, img + phn, sizeof(nph));
		v32 = 0xfffffff0;
		patch_and_expect(img, len, nph.p_offset + 4, &v32, 4, "note");
		patch_and_expect(img, len, nph.p_offset, &v32, 4, "note");
	}
	free(img);

	/* More segments than the builder keeps. */
	eg_linux(&e, &o);
	for (unsigned i = 3; i < XK_MAX_SEGMENTS + 1; i++) {
		e.load[i] = e.load[2];
		e.load[i].paddr += 0x1000 * (i - 2);
	}
	e.nr_load = XK_MAX_SEGMENTS + 1;
	img = eg_build(&e, &len);
	expect_fail(img, len, "more than");
	free(img);
}

/* A section table with a bad string table index or name offsets is not
 * fatal for note lookup, but out-of-range sections are. */
static void test_bad_sections(void **state)
{
	struct eg_elf e = {0};
	struct xk_kernel k;
	Elf64_Ehdr eh;
	Elf64_Shdr sh;
	uint8_t *img;
	size_t len;
	uint16_t v16;

	e.entry = 0xffffffff80100000ULL;
	e.load[0] =
	    (struct eg_load){.vaddr = e.entry, .paddr = e.entry, .filesz = 0x100, .memsz = 0x100};
	e.nr_load = 1;
	e.xen_guest = "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xffffffff80000000";
	img = eg_build(&e, &len);
	memcpy(&eh, img, sizeof(eh));

	/* Without the string table the legacy section cannot be found. */
	v16 = 99;
	patch_and_expect(img, len, offsetof(Elf64_Ehdr, e_shstrndx), &v16, 2, "CONFIG_XEN_PV");
	/* A section name pointing past the string table. */
	memcpy(&sh, img + eh.e_shoff + sizeof(sh), sizeof(sh));
	sh.sh_name = 0x7fffffff;
	patch_and_expect(img, len, eh.e_shoff + sizeof(sh), &sh, sizeof(sh), "CONFIG_XEN_PV");
	/* A section outside the file. */
	memcpy(&sh, img + eh.e_shoff + sizeof(sh), sizeof(sh));
	sh.sh_offset = len;
	patch_and_expect(img, len, eh.e_shoff + sizeof(sh), &sh, sizeof(sh), "section 1");
	/* Sanity: unpatched it parses. */
	parse_ok(img, len, &k);
	xk_kernel_free(&k);
	free(img);
}

/* bzImage with each payload compression gives the same ELF. */
static void test_bzimage_all_compressions(void **state)
{
	struct eg_linux_opts o = {.init_p2m = true, .mod_start_pfn = true};
	struct eg_elf e;
	uint8_t *elf;
	size_t elf_len;

	eg_linux(&e, &o);
	elf = eg_build(&e, &elf_len);
	for (unsigned i = 0; i < NR_COMPS; i++) {
		for (unsigned sects = 0; sects < 40; sects += 39) {
			struct xk_kernel k;
			size_t plen, blen;
			uint8_t *pl = eg_compress(comps[i], elf, elf_len, &plen);
			uint8_t *bz = eg_bzimage(pl, plen, (uint8_t)sects, &blen);

			parse_ok(bz, blen, &k);
			assert_true(k.is_bzimage);
			assert_string_equal(k.compression, comps[i]);
			assert_int_equal(k.elf_len, elf_len);
			assert_memory_equal(k.elf, elf, elf_len);
			check_linux_fields(&k, &e, 0x200000);
			xk_kernel_free(&k);
			free(bz);
			free(pl);
		}
	}
	free(elf);
}

/* Cut, lying trailers and flipped bytes in each compressed payload. */
static void test_bzimage_corrupt(void **state)
{
	struct eg_linux_opts o = {0};
	struct eg_elf e;
	uint8_t *elf;
	size_t elf_len;

	eg_linux(&e, &o);
	elf = eg_build(&e, &elf_len);
	for (unsigned i = 0; i + 1 < NR_COMPS; i++) {
		const char *c = comps[i];
		bool gz = !strcmp(c, "gzip");
		size_t plen, blen, cut;
		uint8_t *pl = eg_compress(c, elf, elf_len, &plen);
		uint8_t *bz, *copy = malloc(plen + 16);
		uint32_t sz;

		/* Payload cut short (the trailer kept where the format has one). */
		for (cut = 1; cut < plen - 4; cut += 1 + cut / 3) {
			memcpy(copy, pl, plen - 4 - cut);
			memcpy(copy + plen - 4 - cut, pl + plen - 4, 4);
			bz = eg_bzimage(copy, plen - cut, 4, &blen);
			expect_fail(bz, blen, gz ? NULL : c);
			free(bz);
		}
		/* Trailer one too big / too small. */
		for (int d = -1; d <= 1; d += 2) {
			memcpy(copy, pl, plen);
			memcpy(&sz, copy + plen - 4, 4);
			sz += (uint32_t)d;
			memcpy(copy + plen - 4, &sz, 4);
			bz = eg_bzimage(copy, plen, 4, &blen);
			expect_fail(bz, blen, c);
			free(bz);
		}
		/* Absurd trailer: refused before allocating. */
		memcpy(copy, pl, plen);
		sz = 0xfffffff0;
		memcpy(copy + plen - 4, &sz, 4);
		bz = eg_bzimage(copy, plen, 4, &blen);
		expect_fail(bz, blen, "limit");
		free(bz);
		/* Flipped bytes in the body: caught by the formats with checksums. */
		if (!strcmp(c, "lz4") || !strcmp(c, "lzma")) {
			free(copy);
			free(pl);
			continue;
		}
		for (size_t at = 20; at + 8 < plen; at += plen / 7) {
			memcpy(copy, pl, plen);
			copy[at] ^= 0x5a;
			bz = eg_bzimage(copy, plen, 4, &blen);
			expect_fail(bz, blen, NULL);
			free(bz);
		}
		free(copy);
		free(pl);
	}
	free(elf);
}

static void test_bzimage_bad_headers(void **state)
{
	static const uint8_t elf_magic[] = "\x7f"
					   "ELF"
					   "junkjunkjunk";
	uint8_t *pl, *bz;
	size_t plen, blen;
	uint32_t v;
	uint16_t ver;

	pl = eg_compress("xz", elf_magic, sizeof(elf_magic), &plen);
	bz = eg_bzimage(pl, plen, 4, &blen);
	/* The payload decompresses but is not a usable ELF. */
	expect_fail(bz, blen, NULL);
	/* Payload beyond the end of the file. */
	v = 0x7fffffff;
	memcpy(bz + 0x248, &v, 4);
	expect_fail(bz, blen, "truncated");
	v = 0x3c0;
	memcpy(bz + 0x248, &v, 4);
	v = (uint32_t)blen;
	memcpy(bz + 0x24c, &v, 4);
	expect_fail(bz, blen, "truncated");
	v = 0;
	memcpy(bz + 0x24c, &v, 4);
	expect_fail(bz, blen, "truncated");
	/* Boot protocol before payload fields. */
	v = (uint32_t)plen;
	memcpy(bz + 0x24c, &v, 4);
	ver = 0x0206;
	memcpy(bz + 0x206, &ver, 2);
	expect_fail(bz, blen, "too old");
	ver = 0x020f;
	memcpy(bz + 0x206, &ver, 2);
	/* LZO and unknown compressions. */
	memcpy(bz + 5 * 512 + 0x3c0, "\x89LZO\0", 5);
	expect_fail(bz, blen, "LZO");
	memcpy(bz + 5 * 512 + 0x3c0, "\x42\x42\x42\x42", 4);
	expect_fail(bz, blen, "unknown compression");
	/* Header cut off. */
	expect_fail(bz, 0x240, "not a kernel image");
	free(bz);
	free(pl);

	/* Payload is not an ELF at all. */
	pl = eg_compress("gzip", (const uint8_t *)"hello, world", 12, &plen);
	bz = eg_bzimage(pl, plen, 4, &blen);
	expect_fail(bz, blen, "not an ELF");
	free(bz);
	free(pl);
}

/* A gzip'ed vmlinux (no bzImage wrapper) is accepted, as libxc does. */
static void test_gzip_elf(void **state)
{
	struct eg_linux_opts o = {0};
	struct eg_elf e;
	struct xk_kernel k;
	uint8_t *elf, *gz;
	size_t elf_len, gz_len;

	eg_linux(&e, &o);
	elf = eg_build(&e, &elf_len);
	gz = eg_compress("gzip", elf, elf_len, &gz_len);
	parse_ok(gz, gz_len, &k);
	assert_false(k.is_bzimage);
	assert_string_equal(k.compression, "gzip");
	assert_memory_equal(k.elf, elf, elf_len);
	xk_kernel_free(&k);
	expect_fail(gz, gz_len - 9, "gzip");
	free(gz);
	free(elf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elf_notes),
	    cmocka_unit_test(test_section_notes),
	    cmocka_unit_test(test_notes_4byte),
	    cmocka_unit_test(test_legacy_xen_guest),
	    cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_init_p2m_ignored),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_absurd_headers),
	    cmocka_unit_test(test_bad_sections),
	    cmocka_unit_test(test_bzimage_all_compressions),
	    cmocka_unit_test(test_bzimage_corrupt),
	    cmocka_unit_test(test_bzimage_bad_headers),
	    cmocka_unit_test(test_gzip_elf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
