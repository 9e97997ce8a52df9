/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Start-of-day layout (pv-abi.md 1.2), following libxc's allocation order
 * (xc_dom_build_image, alloc_p2m_list_x86_64, alloc_magic_pages_pv,
 * alloc_pgtables_pv): PFNs are handed out consecutively from 0 and the
 * mapped region is VIRT_BASE + pfn * 4096.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "builder.h"

#define PAGE_SHIFT  12
#define VADDR_MASK  ((1ULL << 48) - 1)
#define MASK_4M	    ((1ULL << 22) - 1)
#define EXTRA_PAGES (1 + 128)	 /* boot stack + 512 KiB kept free below the 4 MiB boundary */
#define MAX_PAGES   (1ULL << 32) /* 16 TiB */
#define HOLE_START  0xffff800000000000ULL
#define HOLE_END    0xffff880000000000ULL

static uint64_t pages_for(uint64_t bytes)
{
	return bytes / 4096 + (bytes % 4096 != 0);
}

static bool canonical(uint64_t va)
{
	return va < (1ULL << 47) || va >= ~((1ULL << 47) - 1);
}

/* [from, to] must be canonical, in one half, and clear of the Xen hole. */
static bool va_range_ok(uint64_t from, uint64_t to)
{
	if (to < from || !canonical(from) || !canonical(to))
		return false;
	if ((from >> 63) != (to >> 63))
		return false;
	return to < HOLE_START || from >= HOLE_END;
}

/*
 * Xen's count_pgtables(): the tables needed to map [from, to] as mapping m,
 * not counting those an earlier mapping already provides.  Tables are
 * placed from first_pfn on, top level first.
 */
static void count_pgtables(struct xk_layout *lay, unsigned m, uint64_t from, uint64_t to,
			   uint64_t first_pfn)
{
	struct xk_pt_map *map = &lay->map[m];
	int l;

	memset(map, 0, sizeof(*map));
	map->from = from & VADDR_MASK;
	map->to = to & VADDR_MASK;
	for (l = 3; l >= 0; l--) {
		struct xk_pt_level *lv = &map->lvl[l];
		unsigned bits = PAGE_SHIFT + (l + 1) * 9;
		uint64_t mask = (1ULL << bits) - 1;
		unsigned o;

		lv->pfn = first_pfn + map->pgtables;
		if (l == 3) {
			/* One L4, owned by the first mapping. */
			if (m == 0) {
				lv->from = 0;
				lv->to = VADDR_MASK;
				lv->count = 1;
				map->pgtables++;
			}
			continue;
		}
		lv->from = map->from & ~mask;
		lv->to = map->to | mask;
		for (o = 0; o < m; o++) {
			const struct xk_pt_level *ov = &lay->map[o].lvl[l];

			if (ov->from == ov->to)
				continue;
			if (lv->from >= ov->from && lv->to <= ov->to) {
				lv->from = lv->to = 0;
				break;
			}
			if (lv->from >= ov->from && lv->from <= ov->to)
				lv->from = ov->to + 1;
			if (lv->to >= ov->from && lv->to <= ov->to)
				lv->to = ov->from - 1;
		}
		if (lv->from < lv->to)
			lv->count = ((lv->to - lv->from) >> bits) + 1;
		map->pgtables += lv->count;
	}
}

/* Lay out for nr_pages without checking that it fits; returns pages used. */
static int lay_out(const struct xk_kernel *k, uint64_t nr_pages, size_t ramdisk_len,
		   struct xk_layout *lay, char *err)
{
	uint64_t pfn, pages, try_end = 0;
	const uint64_t vb = k->virt_base;
	const uint64_t p2m_pages = pages_for(nr_pages * 8);

	memset(lay, 0, sizeof(*lay));
	lay->nr_pages = nr_pages;

	lay->kernel_pfn = 0;
	lay->kernel_pages = (k->virt_kend - vb) >> PAGE_SHIFT;
	pfn = lay->kernel_pages;

	if (ramdisk_len && !k->mod_start_pfn) {
		lay->ramdisk_mapped = true;
		lay->ramdisk_pfn = pfn;
		lay->ramdisk_pages = pages_for(ramdisk_len);
		pfn += lay->ramdisk_pages;
	}
	if (!k->init_p2m) {
		lay->p2m_pfn = pfn;
		lay->p2m_pages = p2m_pages;
		pfn += p2m_pages;
	}
	lay->start_info_pfn = pfn++;
	lay->xenstore_pfn = pfn++;
	lay->console_pfn = pfn++;

	/* alloc_pgtables_pv(): grow the mapping until it also covers its own
	 * tables, the boot stack and 512 KiB of slack, rounded to 4 MiB. */
	pages = EXTRA_PAGES;
	for (;;) {
		uint64_t want = pfn + pages;

		if (want > MAX_PAGES * 2 || vb + (want << PAGE_SHIFT) + MASK_4M < vb) {
			snprintf(
			    err, XK_ERRLEN,
			    "initial mapping of %llu pages does not fit above VIRT_BASE 0x%llx",
			    (unsigned long long)want, (unsigned long long)vb);
			return -EINVAL;
		}
		try_end = (vb + (want << PAGE_SHIFT)) | MASK_4M;
		count_pgtables(lay, 0, vb, try_end, pfn);
		pages = lay->map[0].pgtables + EXTRA_PAGES;
		if ((pfn + pages) << PAGE_SHIFT <= try_end - vb + 1)
			break;
	}
	if (!va_range_ok(vb, try_end)) {
		snprintf(err, XK_ERRLEN,
			 "initial mapping 0x%llx-0x%llx is not canonical or hits the Xen hole",
			 (unsigned long long)vb, (unsigned long long)try_end);
		return -EINVAL;
	}
	lay->nr_maps = 1;
	lay->map[0].pfn = 0;
	lay->pt_pfn = pfn;
	lay->pt_pages = lay->map[0].pgtables;
	pfn += lay->pt_pages;
	lay->stack_pfn = pfn++;
	lay->mapped_end_pfn = (try_end - vb + 1) >> PAGE_SHIFT;
	pfn = lay->mapped_end_pfn;

	if (ramdisk_len && k->mod_start_pfn) {
		lay->ramdisk_pfn = pfn;
		lay->ramdisk_pages = pages_for(ramdisk_len);
		pfn += lay->ramdisk_pages;
	}

	if (k->init_p2m) {
		uint64_t from = k->init_p2m, to = from + (p2m_pages << PAGE_SHIFT) - 1;

		if (!va_range_ok(from, to) || (from < try_end && to > vb)) {
			snprintf(err, XK_ERRLEN,
				 "INIT_P2M list 0x%llx-0x%llx is not canonical, hits the Xen hole "
				 "or overlaps the initial mapping",
				 (unsigned long long)from, (unsigned long long)to);
			return -EINVAL;
		}
		count_pgtables(lay, 1, from, to, pfn + p2m_pages);
		lay->map[1].pfn = pfn;
		lay->nr_maps = 2;
		lay->init_p2m_pfn = pfn;
		lay->init_p2m_pages = p2m_pages;
		lay->init_p2m_pt_pfn = pfn + p2m_pages;
		lay->init_p2m_pt_pages = lay->map[1].pgtables;
		pfn += p2m_pages + lay->init_p2m_pt_pages;
	}
	lay->first_free_pfn = pfn;
	return 0;
}

int xk_layout_compute(const struct xk_kernel *k, uint64_t nr_pages, size_t ramdisk_len,
		      struct xk_layout *lay, char *err)
{
	uint64_t need;
	int rc, i;

	err[0] = '\0';
	if (nr_pages == 0 || nr_pages > MAX_PAGES) {
		snprintf(err, XK_ERRLEN, "guest memory of %llu pages is out of range",
			 (unsigned long long)nr_pages);
		return -EINVAL;
	}
	if (k->virt_kend <= k->virt_kstart || k->virt_kstart < k->virt_base) {
		snprintf(err, XK_ERRLEN, "kernel has not been parsed");
		return -EINVAL;
	}
	if (ramdisk_len > MAX_PAGES << PAGE_SHIFT) {
		snprintf(err, XK_ERRLEN, "ramdisk of %zu bytes is too large", ramdisk_len);
		return -EINVAL;
	}
	rc = lay_out(k, nr_pages, ramdisk_len, lay, err);
	if (rc)
		return rc;
	if (lay->first_free_pfn <= nr_pages)
		return 0;

	/* Report the smallest whole number of MiB (above what we have) that
	 * fits.  The layout grows with nr_pages (the p2m), so step up to the
	 * next MiB covering what the last attempt needed until one fits. */
	need = (lay->first_free_pfn + 255) & ~255ULL;
	for (i = 0; i < 64 && need <= MAX_PAGES; i++) {
		struct xk_layout tmp;

		if (lay_out(k, need, ramdisk_len, &tmp, err))
			break;
		if (tmp.first_free_pfn <= need)
			break;
		need = (tmp.first_free_pfn + 255) & ~255ULL;
	}
	snprintf(err, XK_ERRLEN,
		 "guest memory too small: this kernel%s needs at least %llu MiB (have %llu MiB)",
		 ramdisk_len ? " and ramdisk" : "", (unsigned long long)(need >> 8),
		 (unsigned long long)(nr_pages >> 8));
	return -ENOMEM;
}
