/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PV MMU: direct paging with page typing (Xen's arch/x86/mm.c model,
 * pv-abi.md 2.4).  Every guest RAM frame has a type (none, L1..L4, segment
 * descriptors) held by a count of typed references (links from validated
 * tables, pins, CR3 loads) and a count of writable mappings.  A frame is
 * never both writable-mapped and a page table; a table is validated when it
 * gains its first typed reference and devalidated when it loses its last.
 * Writable-page-table emulation (direct PTE stores) is in ptwr.c.
 */
#include "core.h"
#include "platform.h"
#include "mm.h"

/* frame_info word: type | pinned | type refs | writable mappings */
#define FI_TYPE_MASK  0xfULL
#define FI_PINNED     0x10ULL
#define FI_TCOUNT_SH  8
#define FI_TCOUNT_MAX 0xffffffULL
#define FI_WCOUNT_SH  32
#define FI_WCOUNT_MAX 0xffffffffULL

static uint64_t *frame_info;
static uint64_t shared_info_mfn;
/* A frame gained a page-table type: TLBs may still hold writable
 * translations of it from before (Linux drops the mapping with
 * update_va_mapping(flags 0) and then pins).  Flushed once per hypercall. */
static bool need_flush;

static void flush_if_needed(void)
{
	if (need_flush) {
		need_flush = false;
		plat_flush_tlb();
	}
}

/* End of an mmu_update/mmuext_op batch: one flush, then *pdone. */
static long finish_batch(uint64_t pdone, uint64_t done, long rc)
{
	flush_if_needed();
	if (pdone) {
		uint32_t d = (uint32_t)done;
		if (copy_to_guest(pdone, &d, sizeof(d)))
			return -EFAULT;
	}
	return rc;
}

/* A frame the stub itself writes (vcpu_info): counted as a writable
 * mapping so that it can never become a page table. */
int mm_get_writable(uint64_t mfn)
{
	if (!mfn_is_ram(mfn))
		return -EINVAL;
	uint64_t f = frame_info[mfn];
	if ((f & 0xf) != XK_FT_NONE || (f >> 32) == 0xffffffffULL)
		return -EINVAL;
	frame_info[mfn] = f + (1ULL << 32);
	return 0;
}

void mm_put_writable(uint64_t mfn)
{
	if (mfn_is_ram(mfn) && (frame_info[mfn] >> 32))
		frame_info[mfn] -= 1ULL << 32;
}

static unsigned fi_type(uint64_t f)
{
	return f & FI_TYPE_MASK;
}

static uint64_t fi_tcount(uint64_t f)
{
	return (f >> FI_TCOUNT_SH) & FI_TCOUNT_MAX;
}

static uint64_t fi_wcount(uint64_t f)
{
	return f >> FI_WCOUNT_SH;
}

bool mfn_is_ram(uint64_t mfn)
{
	return mfn < dom.bi->nr_pages;
}

unsigned frame_type(uint64_t mfn)
{
	return mfn_is_ram(mfn) ? fi_type(frame_info[mfn]) : XK_FT_NONE;
}

static uint64_t *table(uint64_t mfn)
{
	return gpa_to_virt(mfn << PAGE_SHIFT);
}

/* L4 slots that belong to the stub (256..271), as Xen's is_guest_l4_slot. */
static bool hole_slot(unsigned i)
{
	return i >= XK_HOLE_FIRST_SLOT && i < XK_HOLE_FIRST_SLOT + XK_HOLE_NR_SLOTS;
}

/* ---- L1 entries: references on the mapped frame ---- */

/* Check and normalise a new L1 entry and take its reference: RAM frames
 * (writable only if not typed), or the shared_info frame.  A guest kernel
 * at CPL3 needs U on every present entry (as Xen's adjust_guest_l1e adds
 * it); at CPL1 the guest's own U bit is what keeps user mode out of kernel
 * pages, so it stays as the guest wrote it. */
int get_l1e(uint64_t *e)
{
	if (!(*e & PTE_P))
		return 0;
	uint64_t force_u = dom.kernel_ring1 ? 0 : PTE_U;
	uint64_t mfn = (*e & PTE_ADDR) >> PAGE_SHIFT;
	if (!mfn_is_ram(mfn)) {
		/* Frames Xen hands the guest: shared_info, grant frames. */
		if (mfn != shared_info_mfn && !grant_frame(mfn))
			return -EINVAL;
		*e |= force_u;
		return 0;
	}
	if (*e & PTE_RW) {
		uint64_t f = frame_info[mfn];
		if (fi_type(f) != XK_FT_NONE || fi_wcount(f) == FI_WCOUNT_MAX)
			return -EINVAL;
		frame_info[mfn] = f + (1ULL << FI_WCOUNT_SH);
	}
	*e |= force_u;
	return 0;
}

void put_l1e(uint64_t e)
{
	if (!(e & PTE_P) || !(e & PTE_RW))
		return;
	uint64_t mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
	if (mfn_is_ram(mfn) && fi_wcount(frame_info[mfn]))
		frame_info[mfn] -= 1ULL << FI_WCOUNT_SH;
}

/* ---- upper levels: typed references on the child table ---- */

static int get_type(uint64_t mfn, unsigned type);
static void put_type(uint64_t mfn);

static int get_upper(uint64_t *e, unsigned level)
{
	if (!(*e & PTE_P))
		return 0;
	/* No superpages (PSE is hidden from PV guests) and no linear
	 * page tables. */
	if (*e & PTE_PSE)
		return -EINVAL;
	uint64_t mfn = (*e & PTE_ADDR) >> PAGE_SHIFT;
	if (!mfn_is_ram(mfn))
		return -EINVAL;
	int rc = get_type(mfn, level - 1);
	if (rc)
		return rc;
	*e |= PTE_U;
	return 0;
}

static void put_upper(uint64_t e)
{
	if (e & PTE_P)
		put_type((e & PTE_ADDR) >> PAGE_SHIFT);
}

static int get_entry(uint64_t *e, unsigned level)
{
	return level == XK_FT_L1 ? get_l1e(e) : get_upper(e, level);
}

static void put_entry(uint64_t e, unsigned level)
{
	if (level == XK_FT_L1)
		put_l1e(e);
	else
		put_upper(e);
}

/* Take references for every entry of a table becoming typed; on failure
 * drop the ones already taken.  Entries are normalised in place (U bit),
 * L4s get the stub's hole slots. */
static int validate(uint64_t mfn, unsigned level)
{
	uint64_t *t = table(mfn);
	unsigned i;
	int rc = 0;

	for (i = 0; i < 512; i++) {
		if (level == XK_FT_L4 && hole_slot(i))
			continue;
		uint64_t e = READ_ONCE(t[i]);
		rc = get_entry(&e, level);
		if (rc)
			break;
		WRITE_ONCE(t[i], e);
	}
	if (rc) {
		while (i--)
			if (!(level == XK_FT_L4 && hole_slot(i)))
				put_entry(t[i], level);
		return rc;
	}
	if (level == XK_FT_L4)
		for (i = 0; i < XK_HOLE_NR_SLOTS; i++)
			t[XK_HOLE_FIRST_SLOT + i] = dom.bi->hole_l4e[i];
	return 0;
}

static void devalidate(uint64_t mfn, unsigned level)
{
	uint64_t *t = table(mfn);

	for (unsigned i = 0; i < 512; i++)
		if (!(level == XK_FT_L4 && hole_slot(i)))
			put_entry(t[i], level);
}

static int get_type(uint64_t mfn, unsigned type)
{
	uint64_t f = frame_info[mfn];

	if (fi_tcount(f)) {
		if (fi_type(f) != type || fi_tcount(f) == FI_TCOUNT_MAX)
			return -EINVAL;
		frame_info[mfn] = f + (1ULL << FI_TCOUNT_SH);
		return 0;
	}
	/* First typed reference: no writable mappings may exist. */
	if (fi_wcount(f))
		return -EINVAL;
	frame_info[mfn] = (f & ~(FI_TYPE_MASK | FI_PINNED)) | type | (1ULL << FI_TCOUNT_SH);
	need_flush = true;
	int rc = 0;
	if (type >= XK_FT_L1 && type <= XK_FT_L4)
		rc = validate(mfn, type);
	else if (type == XK_FT_SEG_DESC)
		rc = desc_validate_frame(mfn); /* all 512 descriptors audited */
	if (rc) {
		frame_info[mfn] = f;
		return rc;
	}
	return 0;
}

static void put_type(uint64_t mfn)
{
	uint64_t f = frame_info[mfn];

	if (!fi_tcount(f))
		return;
	if (fi_tcount(f) > 1) {
		frame_info[mfn] = f - (1ULL << FI_TCOUNT_SH);
		return;
	}
	unsigned type = fi_type(f);
	frame_info[mfn] = f & ~(FI_TYPE_MASK | FI_PINNED | (FI_TCOUNT_MAX << FI_TCOUNT_SH));
	if (type >= XK_FT_L1 && type <= XK_FT_L4)
		devalidate(mfn, type);
}

/* Typed references for descriptor tables (core/desc.c). */
int mm_get_type(uint64_t mfn, unsigned type)
{
	if (!mfn_is_ram(mfn))
		return -EINVAL;
	int rc = get_type(mfn, type);
	flush_if_needed();
	return rc;
}

void mm_put_type(uint64_t mfn)
{
	if (mfn_is_ram(mfn))
		put_type(mfn);
}

void mm_init(void)
{
	frame_info = (uint64_t *)((uint8_t *)dom.bi + dom.bi->frame_info_off);
	shared_info_mfn = (dom.bi->stub_gpa + dom.bi->shared_info_off) >> PAGE_SHIFT;
}

/* The builder's L4 arrives pinned (as xc_dom_boot's PIN_L4_TABLE) and as
 * vCPU 0's CR3: type the whole bootstrap tree. */
int mm_take_boot_tables(struct pcpu *pc, uint64_t l4_mfn)
{
	if (!mfn_is_ram(l4_mfn) || get_type(l4_mfn, XK_FT_L4))
		return -EINVAL;
	frame_info[l4_mfn] |= FI_PINNED;
	get_type(l4_mfn, XK_FT_L4); /* the CR3 reference */
	pc->v.cr3_kernel = l4_mfn << PAGE_SHIFT;
	need_flush = false; /* nothing was mapped writable before boot */
	return 0;
}

void load_guest_cr3(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	/* A ring-1 kernel's L4 maps user space too (Linux's xen_set_pgd writes
	 * user entries into both), and user mode cannot reach its
	 * supervisor-only pages: one L4 serves both modes. */
	bool user_l4 = !v->in_kernel && v->cr3_user && !dom.kernel_ring1;
	uint64_t want = user_l4 ? v->cr3_user : v->cr3_kernel;

	/* CR3 writes are expensive on PVM (~4.5 us): skip no-op reloads. */
	if (want && want != plat_read_cr3()) {
		v->nr_cr3_switches++;
		plat_write_cr3(want);
	}
}

/* Walk the current kernel page tables to the L1 entry mapping va. */
uint64_t *l1e_of(struct pcpu *pc, uint64_t va, uint64_t *l1_mfn)
{
	uint64_t mfn = pc->v.cr3_kernel >> PAGE_SHIFT;

	for (int level = 4; level > 1; level--) {
		uint64_t e = table(mfn)[(va >> (12 + 9 * (level - 1))) & 511];
		if (!(e & PTE_P) || (e & PTE_PSE))
			return NULL;
		mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
		if (!mfn_is_ram(mfn))
			return NULL;
	}
	if (frame_type(mfn) != XK_FT_L1)
		return NULL;
	if (l1_mfn)
		*l1_mfn = mfn;
	return table(mfn) + ((va >> 12) & 511);
}

static void flush_flags(uint64_t flags, uint64_t va)
{
	switch (flags & UVMF_FLUSHTYPE_MASK) {
	case UVMF_TLB_FLUSH:
		plat_flush_tlb();
		break;
	case UVMF_INVLPG:
		plat_invlpg(va);
		break;
	}
}

/* Replace one L1 entry, references and all.  preserve_ad keeps the
 * hardware-set accessed/dirty bits of the old entry. */
int mod_l1_entry(uint64_t *slot, uint64_t val, bool preserve_ad)
{
	int rc = get_l1e(&val);
	if (rc)
		return rc;
	uint64_t old = __atomic_load_n(slot, __ATOMIC_RELAXED);
	uint64_t nv;
	do {
		nv = preserve_ad ? val | (old & (PTE_A | PTE_D)) : val;
	} while (!__atomic_compare_exchange_n(slot, &old, nv, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	put_l1e(old);
	return 0;
}

static int mod_upper_entry(uint64_t mfn, unsigned idx, unsigned level, uint64_t val)
{
	uint64_t *slot = table(mfn) + idx;

	if (level == XK_FT_L4 && hole_slot(idx))
		return -EINVAL;
	int rc = get_upper(&val, level);
	if (rc)
		return rc;
	uint64_t old = __atomic_exchange_n(slot, val, __ATOMIC_SEQ_CST);
	put_upper(old);
	/* Dropping or changing a present upper entry may leave stale
	 * paging-structure caches. */
	if (old & PTE_P)
		plat_flush_tlb();
	return 0;
}

long do_update_va_mapping(struct pcpu *pc, uint64_t va, uint64_t val, uint64_t flags)
{
	if (!guest_va_ok(va, 1))
		return -EINVAL;
	uint64_t *pte = l1e_of(pc, va, NULL);
	if (!pte)
		return -EINVAL;
	int rc = mod_l1_entry(pte, val, false);
	if (rc)
		return rc;
	flush_flags(flags, va);
	flush_if_needed();
	return 0;
}

long do_mmu_update(struct pcpu *pc, uint64_t ureqs, uint64_t count, uint64_t pdone,
		   uint64_t domid)
{
	struct mmu_update req;
	uint64_t i;
	long rc = 0;

	if (domid != DOMID_SELF && domid != dom.bi->domid)
		return -ESRCH;
	if (count > (1u << 20))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		if (copy_from_guest(&req, ureqs + i * sizeof(req), sizeof(req))) {
			rc = -EFAULT;
			break;
		}
		unsigned cmd = req.ptr & 3;
		uint64_t ptr = req.ptr & ~3ULL;
		uint64_t mfn = ptr >> PAGE_SHIFT;
		if (!mfn_is_ram(mfn)) {
			rc = -EINVAL;
			break;
		}
		if (cmd == MMU_MACHPHYS_UPDATE) {
			dom.m2p[mfn] = req.val;
			continue;
		}
		if (cmd != MMU_NORMAL_PT_UPDATE && cmd != MMU_PT_UPDATE_PRESERVE_AD) {
			rc = -ENOSYS;
			break;
		}
		if (ptr & 7) {
			rc = -EINVAL;
			break;
		}
		unsigned type = frame_type(mfn);
		uint64_t *slot = (uint64_t *)gpa_to_virt(ptr);
		switch (type) {
		case XK_FT_L1:
			rc = mod_l1_entry(slot, req.val, cmd == MMU_PT_UPDATE_PRESERVE_AD);
			break;
		case XK_FT_L2:
		case XK_FT_L3:
		case XK_FT_L4:
			rc = mod_upper_entry(mfn, (ptr & 0xfff) / 8, type, req.val);
			break;
		case XK_FT_NONE:
			/* An ordinary page: a plain store, as through a
			 * writable mapping. */
			WRITE_ONCE(*slot, req.val);
			break;
		default:
			rc = -EINVAL;
			break;
		}
		if (rc)
			break;
	}
	return finish_batch(pdone, i, rc);
}

static int set_baseptr(uint64_t *cr3, uint64_t mfn)
{
	uint64_t old = *cr3 >> PAGE_SHIFT;

	if (mfn) {
		if (!mfn_is_ram(mfn))
			return -EINVAL;
		int rc = get_type(mfn, XK_FT_L4);
		if (rc)
			return rc;
	}
	*cr3 = mfn << PAGE_SHIFT;
	if (old)
		put_type(old);
	return 0;
}

long do_mmuext_op(struct pcpu *pc, uint64_t ops, uint64_t count, uint64_t pdone, uint64_t domid)
{
	struct vcpu *v = &pc->v;
	struct mmuext_op op;
	uint64_t i;
	long rc = 0;

	if (domid != DOMID_SELF && domid != dom.bi->domid)
		return -ESRCH;
	if (count > (1u << 20))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		if (copy_from_guest(&op, ops + i * sizeof(op), sizeof(op))) {
			rc = -EFAULT;
			break;
		}
		uint64_t mfn = op.arg1.mfn;
		switch (op.cmd) {
		case MMUEXT_PIN_L1_TABLE:
		case MMUEXT_PIN_L2_TABLE:
		case MMUEXT_PIN_L3_TABLE:
		case MMUEXT_PIN_L4_TABLE: {
			unsigned type = XK_FT_L1 + (op.cmd - MMUEXT_PIN_L1_TABLE);
			if (!mfn_is_ram(mfn) || (frame_info[mfn] & FI_PINNED)) {
				rc = -EINVAL;
				break;
			}
			rc = get_type(mfn, type);
			if (!rc)
				frame_info[mfn] |= FI_PINNED;
			break;
		}
		case MMUEXT_UNPIN_TABLE:
			if (!mfn_is_ram(mfn) || !(frame_info[mfn] & FI_PINNED)) {
				rc = -EINVAL;
				break;
			}
			frame_info[mfn] &= ~FI_PINNED;
			put_type(mfn);
			break;
		case MMUEXT_NEW_BASEPTR:
			if (!mfn) {
				rc = -EINVAL;
				break;
			}
			rc = set_baseptr(&v->cr3_kernel, mfn);
			if (!rc)
				load_guest_cr3(pc);
			break;
		case MMUEXT_NEW_USER_BASEPTR:
			rc = set_baseptr(&v->cr3_user, mfn);
			break;
		case MMUEXT_TLB_FLUSH_LOCAL:
		case MMUEXT_TLB_FLUSH_MULTI:
		case MMUEXT_TLB_FLUSH_ALL:
			plat_flush_tlb();
			break;
		case MMUEXT_INVLPG_LOCAL:
		case MMUEXT_INVLPG_MULTI:
		case MMUEXT_INVLPG_ALL:
			if (guest_va_ok(op.arg1.linear_addr, 1))
				plat_invlpg(op.arg1.linear_addr);
			break;
		case MMUEXT_FLUSH_CACHE:
		case MMUEXT_FLUSH_CACHE_GLOBAL:
			break;
		case MMUEXT_SET_LDT:
			rc = desc_set_ldt(pc, op.arg1.linear_addr, op.arg2.nr_ents);
			break;
		case MMUEXT_CLEAR_PAGE:
			if (!mfn_is_ram(mfn) || frame_type(mfn) != XK_FT_NONE) {
				rc = -EINVAL;
				break;
			}
			memset(table(mfn), 0, PAGE_SIZE);
			break;
		case MMUEXT_COPY_PAGE: {
			uint64_t src = op.arg2.src_mfn;
			if (!mfn_is_ram(mfn) || frame_type(mfn) != XK_FT_NONE || !mfn_is_ram(src)) {
				rc = -EINVAL;
				break;
			}
			memcpy(table(mfn), table(src), PAGE_SIZE);
			break;
		}
		default:
			rc = -ENOSYS;
			break;
		}
		if (rc)
			break;
	}
	return finish_batch(pdone, i, rc);
}

long do_memory_op(struct pcpu *pc, uint64_t cmd, uint64_t arg)
{
	const struct xk_boot_info *bi = dom.bi;

	switch (cmd & 0x3f) { /* MEMOP_CMD_MASK: the low 6 bits (Xen's memory.h) */
	case XENMEM_machphys_mapping: {
		struct xen_machphys_mapping m = {
			.v_start = bi->m2p_va,
			.v_end = bi->m2p_va + bi->m2p_entries * 8,
			.max_mfn = bi->m2p_entries - 1,
		};
		return copy_to_guest(arg, &m, sizeof(m));
	}
	case XENMEM_memory_map: {
		struct xen_memory_map map;
		struct {
			uint64_t addr, size;
			uint32_t type;
		} __attribute__((packed)) e820 = {0, bi->nr_pages * PAGE_SIZE, 1};
		if (copy_from_guest(&map, arg, sizeof(map)))
			return -EFAULT;
		if (map.nr_entries < 1)
			return -EINVAL;
		uint64_t buf;
		memcpy(&buf, &map.buffer, sizeof(buf));
		if (copy_to_guest(buf, &e820, sizeof(e820)))
			return -EFAULT;
		map.nr_entries = 1;
		return copy_to_guest(arg, &map, sizeof(map));
	}
	case XENMEM_maximum_ram_page:
		return (long)bi->total_frames - 1;
	case XENMEM_current_reservation:
	case XENMEM_maximum_reservation: {
		domid_t d;
		if (copy_from_guest(&d, arg, sizeof(d)))
			return -EFAULT;
		if (d != DOMID_SELF && d != bi->domid)
			return -ESRCH;
		return (long)bi->nr_pages;
	}
	case XENMEM_maximum_gpfn:
		return (long)bi->nr_pages - 1;
	}
	/* Ballooning (reservation ops), exchange and the rest: -ENOSYS for
	 * now; Linux treats them as "no balloon". */
	return -ENOSYS;
}
