/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Domain builder: parse a PV kernel image (ELF64 or bzImage with any of the
 * payload compressions Xen accepts), read its Xen notes, compute the
 * start-of-day layout of pv-abi.md section 1.2, and write it into guest RAM.
 *
 * Pure host code: no KVM.  Every function reports failures as a negative
 * errno plus a one-line message in err[] and never aborts on bad input.
 */
#ifndef XENKVM_BUILDER_H
#define XENKVM_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XK_ERRLEN 256

/* Largest decompressed kernel image and largest span of loaded segments. */
#define XK_MAX_KERNEL_SIZE (1u << 30)

struct xk_segment {
	uint64_t paddr;	 /* p_paddr of the PT_LOAD */
	uint64_t filesz; /* bytes copied from the image */
	uint64_t memsz;	 /* bytes in memory (rest zeroed) */
	uint64_t offset; /* file offset inside the ELF */
};

#define XK_MAX_SEGMENTS 16

/* What the kernel image says about itself (Xen ELF notes / __xen_guest). */
struct xk_kernel {
	uint8_t *elf; /* decompressed ELF image (owned) */
	size_t elf_len;
	bool is_bzimage;
	const char *compression; /* "none", "gzip", "xz", ... */

	char guest_os[32];
	char guest_version[32];
	char xen_version[32];
	char loader[32];
	char features[256];
	bool pae_yes;
	uint64_t virt_base;
	uint64_t paddr_offset;
	uint64_t entry;		 /* virtual */
	uint64_t hypercall_page; /* virtual, 0 = none */
	uint64_t init_p2m;	 /* virtual, 0 = none (or ignored, as libxc does) */
	uint64_t hv_start_low;
	bool mod_start_pfn;
	bool l1_mfn_valid;
	bool legacy_xen_guest; /* notes came from the __xen_guest section */
	bool suspend_cancel;
	uint64_t phys32_entry;	 /* PVH entry (unused by PV), 0 = none */
	uint32_t feat_supported; /* XENFEAT_* bitmap (FEATURES + SUPPORTED_FEATURES) */
	uint32_t feat_required;	 /* "!feature" entries of FEATURES */

	struct xk_segment seg[XK_MAX_SEGMENTS];
	unsigned nr_seg;
	uint64_t virt_kstart; /* VA of the lowest loaded byte (page aligned down) */
	uint64_t virt_kend;   /* VA one past the highest loaded byte (page aligned up) */
};

/* Load a kernel file's bytes: detects bzImage vs ELF, decompresses, parses
 * ELF headers and Xen notes.  Rejects: not ELF/bzImage, ELF32 ("32-bit PV
 * kernels are not supported yet"), no Xen notes ("built without
 * CONFIG_XEN_PV?"), truncated/corrupt images, segments outside the image. */
int xk_kernel_parse(const uint8_t *file, size_t len, struct xk_kernel *k, char *err);
void xk_kernel_free(struct xk_kernel *k);

/* First step of xk_kernel_parse, exposed for tools and the fuzzer: the ELF
 * bytes of a kernel file (bzImage payload decompressed, gzip'ed ELF
 * inflated, plain ELF copied).  *elf is malloc'ed; free() it. */
int xk_image_unpack(const uint8_t *file, size_t len, uint8_t **elf, size_t *elf_len,
		    const char **compression, bool *is_bzimage, char *err);

/* Start-of-day layout (pure function of its inputs; unit-tested). All PFNs
 * are guest-pseudo-physical; VAs are virt_base + pfn*4096 in the mapped
 * region. */
struct xk_layout {
	uint64_t nr_pages;
	uint64_t kernel_pfn, kernel_pages;   /* from pfn 0 (padding) to end of kernel */
	uint64_t ramdisk_pfn, ramdisk_pages; /* mapped (old kernels) or unmapped */
	bool ramdisk_mapped;
	uint64_t p2m_pfn, p2m_pages; /* in the mapped region when !init_p2m */
	uint64_t start_info_pfn;
	uint64_t xenstore_pfn;
	uint64_t console_pfn;
	uint64_t pt_pfn, pt_pages; /* bootstrap L4, L3s, L2s, L1s in that order */
	uint64_t stack_pfn;
	uint64_t mapped_end_pfn; /* first pfn after the mapped region (4 MiB aligned) */
	/* INIT_P2M kernels: p2m list + its own page tables, above mapped_end */
	uint64_t init_p2m_pfn, init_p2m_pages;	     /* list data */
	uint64_t init_p2m_pt_pfn, init_p2m_pt_pages; /* L3/L2/L1 that map it */
	uint64_t first_free_pfn;
	/*
	 * Page-table geometry as Xen's count_pgtables() computes it: map[0] is
	 * the bootstrap mapping, map[1] the INIT_P2M one (nr_maps = 2 only for
	 * INIT_P2M kernels).  VAs are masked to 48 bits; ranges are inclusive.
	 * lvl[0] are the L1 tables ... lvl[3] the L4 (count 1 in map[0] only).
	 * Tables of one level are consecutive frames from lvl[].pfn; a level
	 * of map[1] already covered by map[0]'s tables has count 0.
	 */
	struct xk_pt_map {
		uint64_t from, to; /* VA range mapped */
		uint64_t pfn;	   /* pfn mapped at VA from */
		struct xk_pt_level {
			uint64_t from, to; /* VA range the tables of this level cover */
			uint64_t pfn, count;
		} lvl[4];
		uint64_t pgtables; /* sum of lvl[].count */
	} map[2];
	unsigned nr_maps;
};

struct xk_build_params {
	const struct xk_kernel *k;
	uint64_t nr_pages;
	const uint8_t *ramdisk; /* may be NULL */
	size_t ramdisk_len;
	const char *cmdline; /* may be NULL; truncated to 1023 bytes with a warning */
	/* p2m[pfn] = machine frame; NULL = identity.  A permutation of
	 * [0, nr_pages) (the scrambled-p2m option). */
	const uint64_t *p2m;
	/* Guest RAM as the launcher mapped it: machine frame m lives at
	 * ram + m*4096, m < nr_pages. */
	uint8_t *ram;
	/* L4 entries for slots 256..271 of every guest L4 (0 = leave empty). */
	uint64_t hole_l4e[16];
	uint64_t shared_info_maddr;
	uint32_t console_evtchn;
	uint32_t store_evtchn;
	uint32_t domid;
};

struct xk_build_result {
	struct xk_layout lay;
	uint64_t entry;		/* RIP */
	uint64_t stack_top_va;	/* RSP */
	uint64_t start_info_va; /* RSI */
	uint64_t l4_maddr;	/* CR3: machine address of the bootstrap L4 */
	uint64_t pt_base_va;
	uint64_t store_mfn, console_mfn;
	uint64_t hypercall_page_va; /* 0 if none; page already filled */
	bool cmdline_truncated;	    /* the caller should warn */
	/* Machine frames holding page tables built here (bootstrap tables and,
	 * for INIT_P2M, the p2m-mapping tables); level[i] = 4,3,2,1. */
	uint64_t pt_mfn[1024];
	uint8_t pt_level[1024];
	unsigned nr_pt;
};

/* Compute the layout only (no memory written). */
int xk_layout_compute(const struct xk_kernel *k, uint64_t nr_pages, size_t ramdisk_len,
		      struct xk_layout *lay, char *err);

/* Write everything into p->ram: kernel segments, ramdisk, p2m, start_info,
 * zeroed console/xenstore pages, bootstrap page tables (pv-abi.md 1.3: L1
 * P|RW|A|U, upper P|RW|A|D|U, PT frames mapped RO, hole slots copied from
 * hole_l4e), hypercall page when the kernel asks for one.
 *
 * Frames [0, lay.first_free_pfn) are zeroed first; the rest of RAM is left
 * as the caller gave it (a fresh anonymous mapping is all zero).  As libxc:
 * start_info.flags has SIF_VIRT_P2M_4TOOLS (+ SIF_MOD_START_PFN for an
 * unmapped ramdisk), mod_len is the ramdisk rounded up to whole pages, and
 * the ramdisk is passed as given (not decompressed).  The p2m is checked
 * to point into RAM only; the caller derives the M2P from it. */
int xk_build(const struct xk_build_params *p, struct xk_build_result *r, char *err);

#endif
