/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Write the start-of-day image into guest RAM: kernel, ramdisk, p2m list,
 * start_info, xenstore/console pages, bootstrap page tables and the
 * hypercall page (libxc's xc_dom_build_image + setup_pgtables_pv +
 * start_info_x86_64, and Xen's pv_ring3_init_hypercall_page).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <stdint.h> /* the Xen public headers expect it */
/* The current interface: no console_mfn compatibility macros. */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>

#include "builder.h"

#define PAGE_SIZE  4096ULL
#define PTE_P	   0x001ULL
#define PTE_RW	   0x002ULL
#define PTE_U	   0x004ULL
#define PTE_A	   0x020ULL
#define PTE_D	   0x040ULL
/* libxc's x86_64 L1_PROT also has U.  It makes no difference under Xen (its
 * 64-bit PV kernels run in ring 3 and it forces U), nor for a ring-3 kernel
 * here (the stub's get_l1e forces it too); for a ring-1 kernel these are
 * kernel pages (Linux keeps the builder's L1s for its image), which user
 * mode must not reach. */
#define L1_PROT	   (PTE_P | PTE_RW | PTE_A)
#define UPPER_PROT (PTE_P | PTE_RW | PTE_A | PTE_D | PTE_U)

#define HYPERCALL_IRET 23

_Static_assert(sizeof(start_info_t) == 1168, "64-bit start_info layout");

struct ctx {
	const struct xk_build_params *p;
	const struct xk_layout *lay;
};

static uint64_t mfn_of(const struct ctx *c, uint64_t pfn)
{
	return c->p->p2m ? c->p->p2m[pfn] : pfn;
}

static uint8_t *page(const struct ctx *c, uint64_t pfn)
{
	return c->p->ram + mfn_of(c, pfn) * PAGE_SIZE;
}

/* Copy (or zero, src == NULL) len bytes at pseudo-physical byte offset off;
 * pages may be scattered by the p2m. */
static void guest_write(const struct ctx *c, uint64_t off, const uint8_t *src, uint64_t len)
{
	while (len) {
		uint64_t in_page = off % PAGE_SIZE;
		uint64_t n = PAGE_SIZE - in_page < len ? PAGE_SIZE - in_page : len;
		uint8_t *dst = page(c, off / PAGE_SIZE) + in_page;

		if (src) {
			memcpy(dst, src, n);
			src += n;
		} else {
			memset(dst, 0, n);
		}
		off += n;
		len -= n;
	}
}

static void put64(const struct ctx *c, uint64_t pfn, unsigned idx, uint64_t val)
{
	memcpy(page(c, pfn) + idx * 8, &val, 8);
}

static void load_kernel(const struct ctx *c)
{
	const struct xk_kernel *k = c->p->k;
	unsigned i;

	/* Segments in header order, each zero-extended, as elf_load_binary(). */
	for (i = 0; i < k->nr_seg; i++) {
		const struct xk_segment *s = &k->seg[i];
		uint64_t off = s->paddr - k->paddr_offset; /* VA - VIRT_BASE */

		guest_write(c, off, k->elf + s->offset, s->filesz);
		guest_write(c, off + s->filesz, NULL, s->memsz - s->filesz);
	}
}

/* 128 stubs of 32 bytes; hypercall n: push %rcx; push %r11; mov $n,%eax;
 * syscall; pop %r11; pop %rcx; ret.  iret (23) is jumped to and does not
 * return: push %rcx; push %r11; push %rax; mov $23,%eax; syscall. */
static void fill_hypercall_page(uint8_t *pg)
{
	unsigned i;

	memset(pg, 0xcc, PAGE_SIZE); /* int3 between stubs */
	for (i = 0; i < PAGE_SIZE / 32; i++) {
		uint8_t *s = pg + i * 32;
		uint32_t nr = i;

		s[0] = 0x51;
		s[1] = 0x41;
		s[2] = 0x53;
		if (i == HYPERCALL_IRET) {
			s[3] = 0x50;
			s[4] = 0xb8;
			memcpy(s + 5, &nr, 4);
			s[9] = 0x0f;
			s[10] = 0x05;
			continue;
		}
		s[3] = 0xb8;
		memcpy(s + 4, &nr, 4);
		s[8] = 0x0f;
		s[9] = 0x05;
		s[10] = 0x41;
		s[11] = 0x5b;
		s[12] = 0x59;
		s[13] = 0xc3;
	}
}

/* p2m list: machine frames, then ~0 up to the end of its last page (Linux
 * writes INVALID there up to a multiple of 512 entries). */
static void write_p2m(const struct ctx *c, uint64_t first_pfn, uint64_t pages)
{
	uint64_t i, n = pages * (PAGE_SIZE / 8);

	for (i = 0; i < n; i++) {
		uint64_t v = i < c->p->nr_pages ? mfn_of(c, i) : ~0ULL;

		put64(c, first_pfn + i / 512, i % 512, v);
	}
}

/* Is pfn one of the page-table frames (mapped read-only)? */
static bool is_pt_pfn(const struct xk_layout *lay, uint64_t pfn)
{
	unsigned m;

	for (m = 0; m < lay->nr_maps; m++) {
		uint64_t first = lay->map[m].lvl[3].pfn;

		if (pfn >= first && pfn < first + lay->map[m].pgtables)
			return true;
	}
	return false;
}

/*
 * setup_pgtables_pv(): tables of one level are consecutive frames indexed
 * as one array; each table range links to the child tables (or, for L1s,
 * the data pages) of every mapping that falls inside it.
 */
static void write_pagetables(const struct ctx *c)
{
	const struct xk_layout *lay = c->lay;
	unsigned m1, m2, i;
	int l;

	for (l = 3; l >= 0; l--) {
		unsigned shift = 12 + 9 * l;

		for (m1 = 0; m1 < lay->nr_maps; m1++) {
			const struct xk_pt_level *t = &lay->map[m1].lvl[l];

			if (!t->count)
				continue;
			for (m2 = 0; m2 < lay->nr_maps; m2++) {
				const struct xk_pt_map *cm = &lay->map[m2];
				uint64_t cfrom = l ? cm->lvl[l - 1].from : cm->from;
				uint64_t cto = l ? cm->lvl[l - 1].to : cm->to;
				uint64_t cpfn = l ? cm->lvl[l - 1].pfn : cm->pfn;
				uint64_t lo, hi, p, pe, child;

				if (l && !cm->lvl[l - 1].count)
					continue;
				if (cfrom >= t->to || cto <= t->from)
					continue;
				lo = cfrom > t->from ? cfrom : t->from;
				hi = cto < t->to ? cto : t->to;
				pe = (hi - t->from) >> shift;
				child = cpfn + ((lo - cfrom) >> shift);
				for (p = (lo - t->from) >> shift; p <= pe; p++, child++) {
					uint64_t prot = UPPER_PROT;

					if (!l)
						prot = is_pt_pfn(lay, child) ? L1_PROT & ~PTE_RW
									     : L1_PROT;
					put64(c, t->pfn + p / 512, p % 512,
					      mfn_of(c, child) << 12 | prot);
				}
			}
		}
	}
	/* Xen's own L4 slots (init_xen_l4_slots), as the stub wants them. */
	for (i = 0; i < 16; i++)
		put64(c, lay->map[0].lvl[3].pfn, 256 + i, c->p->hole_l4e[i]);
}

static void write_start_info(const struct ctx *c, struct xk_build_result *r)
{
	const struct xk_build_params *p = c->p;
	const struct xk_layout *lay = c->lay;
	const uint64_t vb = p->k->virt_base;
	start_info_t si;
	size_t n = 0;

	memset(&si, 0, sizeof(si));
	snprintf(si.magic, sizeof(si.magic), "xen-3.0-x86_64");
	si.nr_pages = p->nr_pages;
	si.shared_info = p->shared_info_maddr;
	/* libxc sets VIRT_P2M_4TOOLS for every domain: Linux then skips the
	 * 3-level frame list for the tools. */
	si.flags = SIF_VIRT_P2M_4TOOLS;
	si.store_mfn = mfn_of(c, lay->xenstore_pfn);
	si.store_evtchn = p->store_evtchn;
	si.console.domU.mfn = mfn_of(c, lay->console_pfn);
	si.console.domU.evtchn = p->console_evtchn;
	si.pt_base = vb + lay->pt_pfn * PAGE_SIZE;
	si.nr_pt_frames = lay->pt_pages;
	if (p->k->init_p2m) {
		si.mfn_list = p->k->init_p2m;
		si.first_p2m_pfn = lay->init_p2m_pfn;
		si.nr_p2m_frames = lay->init_p2m_pages + lay->init_p2m_pt_pages;
	} else {
		si.mfn_list = vb + lay->p2m_pfn * PAGE_SIZE;
	}
	/* mod_len is page-rounded, as libxc reports the module segment. */
	if (p->ramdisk_len) {
		si.mod_len = lay->ramdisk_pages * PAGE_SIZE;
		if (lay->ramdisk_mapped) {
			si.mod_start = vb + lay->ramdisk_pfn * PAGE_SIZE;
		} else {
			si.mod_start = lay->ramdisk_pfn;
			si.flags |= SIF_MOD_START_PFN;
		}
	}
	if (p->cmdline) {
		n = strnlen(p->cmdline, MAX_GUEST_CMDLINE);
		r->cmdline_truncated = n == MAX_GUEST_CMDLINE;
		if (r->cmdline_truncated)
			n = MAX_GUEST_CMDLINE - 1;
		memcpy(si.cmd_line, p->cmdline, n);
	}
	guest_write(c, lay->start_info_pfn * PAGE_SIZE, (const uint8_t *)&si, sizeof(si));
}

static int list_pagetables(const struct xk_layout *lay, const struct ctx *c,
			   struct xk_build_result *r, char *err)
{
	const unsigned max = sizeof(r->pt_mfn) / sizeof(r->pt_mfn[0]);
	unsigned m;
	int l;

	r->nr_pt = 0;
	for (m = 0; m < lay->nr_maps; m++) {
		for (l = 3; l >= 0; l--) {
			uint64_t i;

			for (i = 0; i < lay->map[m].lvl[l].count; i++) {
				if (r->nr_pt == max) {
					snprintf(err, XK_ERRLEN,
						 "more than %u bootstrap page tables (guest memory "
						 "too large for one INIT_P2M mapping)",
						 max);
					return -E2BIG;
				}
				r->pt_mfn[r->nr_pt] = mfn_of(c, lay->map[m].lvl[l].pfn + i);
				r->pt_level[r->nr_pt++] = (uint8_t)(l + 1);
			}
		}
	}
	return 0;
}

int xk_build(const struct xk_build_params *p, struct xk_build_result *r, char *err)
{
	const struct xk_kernel *k = p->k;
	struct ctx c = {.p = p, .lay = &r->lay};
	const struct xk_layout *lay = &r->lay;
	uint64_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	err[0] = '\0';
	if (!k || !k->elf || !p->ram || (p->ramdisk_len && !p->ramdisk)) {
		snprintf(err, XK_ERRLEN, "xk_build: missing kernel, RAM or ramdisk");
		return -EINVAL;
	}
	rc = xk_layout_compute(k, p->nr_pages, p->ramdisk_len, &r->lay, err);
	if (rc)
		return rc;
	if (p->p2m) {
		for (i = 0; i < p->nr_pages; i++) {
			if (p->p2m[i] >= p->nr_pages) {
				snprintf(err, XK_ERRLEN, "p2m[0x%llx] = 0x%llx is not a RAM frame",
					 (unsigned long long)i, (unsigned long long)p->p2m[i]);
				return -EINVAL;
			}
		}
	}
	rc = list_pagetables(lay, &c, r, err);
	if (rc)
		return rc;

	/* Everything the layout hands out starts zeroed (xc_dom_alloc_segment). */
	for (i = 0; i < lay->first_free_pfn; i++)
		memset(page(&c, i), 0, PAGE_SIZE);

	load_kernel(&c);
	if (k->hypercall_page) {
		fill_hypercall_page(page(&c, (k->hypercall_page - k->virt_base) / PAGE_SIZE));
		r->hypercall_page_va = k->hypercall_page;
	}
	if (p->ramdisk_len)
		guest_write(&c, lay->ramdisk_pfn * PAGE_SIZE, p->ramdisk, p->ramdisk_len);
	if (k->init_p2m)
		write_p2m(&c, lay->init_p2m_pfn, lay->init_p2m_pages);
	else
		write_p2m(&c, lay->p2m_pfn, lay->p2m_pages);
	write_start_info(&c, r);
	write_pagetables(&c);

	r->entry = k->entry;
	r->stack_top_va = k->virt_base + (lay->stack_pfn + 1) * PAGE_SIZE;
	r->start_info_va = k->virt_base + lay->start_info_pfn * PAGE_SIZE;
	r->pt_base_va = k->virt_base + lay->pt_pfn * PAGE_SIZE;
	r->l4_maddr = mfn_of(&c, lay->pt_pfn) * PAGE_SIZE;
	r->store_mfn = mfn_of(&c, lay->xenstore_pfn);
	r->console_mfn = mfn_of(&c, lay->console_pfn);
	return 0;
}
