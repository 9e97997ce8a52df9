/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest memory management, first part: CR3 loading, update_va_mapping,
 * the mmuext_op commands a guest needs before it builds page tables of its
 * own, and memory_op queries.  Page-table validation (mmu_update, pinning,
 * writable page tables) is the PV MMU work of the Debian-boot issue; until
 * then only the builder's page tables exist and nothing here makes a page
 * table writable.
 */
#include "core.h"
#include "platform.h"

#define PTE_P   0x001ULL
#define PTE_RW  0x002ULL
#define PTE_U   0x004ULL
#define PTE_PSE 0x080ULL
#define PTE_ADDR 0x000ffffffffff000ULL

static uint32_t *frame_info;

void mm_init(void)
{
	frame_info = (uint32_t *)((uint8_t *)dom.bi + dom.bi->frame_info_off);
}

bool mfn_is_ram(uint64_t mfn)
{
	return mfn < dom.bi->nr_pages;
}

static unsigned frame_type(uint64_t mfn)
{
	return mfn_is_ram(mfn) ? frame_info[mfn] & XK_FT_TYPE_MASK : XK_FT_NONE;
}

void load_guest_cr3(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	uint64_t want = (!v->in_kernel && v->cr3_user) ? v->cr3_user : v->cr3_kernel;

	/* CR3 writes are expensive on PVM (~4.5 us): skip no-op reloads. */
	if (want && want != plat_read_cr3())
		plat_write_cr3(want);
}

/* Walk the current kernel page tables to the L1 entry mapping va. */
static uint64_t *l1e_of(struct pcpu *pc, uint64_t va)
{
	uint64_t table = pc->v.cr3_kernel & PTE_ADDR;

	for (int level = 4; level > 1; level--) {
		uint64_t *t = gpa_to_virt(table);
		uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];
		if (!(e & PTE_P) || (e & PTE_PSE))
			return NULL;
		table = e & PTE_ADDR;
		if (!mfn_is_ram(table >> PAGE_SHIFT))
			return NULL;
	}
	if (frame_type(table >> PAGE_SHIFT) != XK_FT_L1)
		return NULL;
	return (uint64_t *)gpa_to_virt(table) + ((va >> 12) & 511);
}

/* Validate a guest L1 entry: RAM frames (never a page table writable) or
 * the shared_info frame; the guest kernel runs at CPL3, so force U. */
static bool l1e_ok(uint64_t *val)
{
	if (!(*val & PTE_P))
		return true;
	uint64_t mfn = (*val & PTE_ADDR) >> PAGE_SHIFT;
	uint64_t si_mfn = (dom.bi->stub_gpa + dom.bi->shared_info_off) >> PAGE_SHIFT;
	if (mfn_is_ram(mfn)) {
		if ((*val & PTE_RW) && frame_type(mfn) != XK_FT_NONE)
			return false;
	} else if (mfn != si_mfn) {
		return false;
	}
	*val |= PTE_U;
	return true;
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

long do_update_va_mapping(struct pcpu *pc, uint64_t va, uint64_t val, uint64_t flags)
{
	if (!guest_va_ok(va, 1))
		return -EINVAL;
	uint64_t *pte = l1e_of(pc, va);
	if (!pte)
		return -EINVAL;
	if (!l1e_ok(&val))
		return -EINVAL;
	WRITE_ONCE(*pte, val);
	flush_flags(flags, va);
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
	for (i = 0; i < count && !rc; i++) {
		if (copy_from_guest(&op, ops + i * sizeof(op), sizeof(op))) {
			rc = -EFAULT;
			break;
		}
		uint64_t mfn = op.arg1.mfn;
		switch (op.cmd) {
		case MMUEXT_NEW_BASEPTR:
			if (frame_type(mfn) != XK_FT_L4) {
				rc = -EINVAL;
				break;
			}
			v->cr3_kernel = mfn << PAGE_SHIFT;
			load_guest_cr3(pc);
			break;
		case MMUEXT_NEW_USER_BASEPTR:
			if (mfn && frame_type(mfn) != XK_FT_L4) {
				rc = -EINVAL;
				break;
			}
			v->cr3_user = mfn << PAGE_SHIFT;
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
			break;
		case MMUEXT_SET_LDT:
			/* Only "no LDT" until descriptor tables are typed. */
			if (op.arg2.nr_ents)
				rc = -EINVAL;
			break;
		case MMUEXT_CLEAR_PAGE:
			if (!mfn_is_ram(mfn) || frame_type(mfn) != XK_FT_NONE) {
				rc = -EINVAL;
				break;
			}
			memset(gpa_to_virt(mfn << PAGE_SHIFT), 0, PAGE_SIZE);
			break;
		case MMUEXT_COPY_PAGE: {
			uint64_t src = op.arg2.src_mfn;
			if (!mfn_is_ram(mfn) || frame_type(mfn) != XK_FT_NONE || !mfn_is_ram(src)) {
				rc = -EINVAL;
				break;
			}
			memcpy(gpa_to_virt(mfn << PAGE_SHIFT), gpa_to_virt(src << PAGE_SHIFT),
			       PAGE_SIZE);
			break;
		}
		default:
			/* PIN/UNPIN and the rest come with page-table
			 * validation (PV MMU). */
			rc = -ENOSYS;
			break;
		}
		if (rc)
			break;
	}
	if (pdone) {
		uint32_t done = (uint32_t)i;
		if (copy_to_guest(pdone, &done, sizeof(done)))
			return -EFAULT;
	}
	return rc;
}

long do_mmu_update(struct pcpu *pc, uint64_t ureqs, uint64_t count, uint64_t pdone,
		   uint64_t domid)
{
	/* Needs page-table validation: PV MMU work (Debian-boot issue). */
	return -ENOSYS;
}

long do_memory_op(struct pcpu *pc, uint64_t cmd, uint64_t arg)
{
	const struct xk_boot_info *bi = dom.bi;

	switch (cmd & 0x3f) /* MEMOP_CMD_MASK: the low 6 bits (xen memory.h) */ {
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
