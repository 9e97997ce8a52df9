/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest descriptor tables (pv-abi.md 1.9): set_gdt, update_descriptor and
 * MMUEXT_SET_LDT for a 64-bit PV guest, with Xen's descriptor audit.
 *
 * Frames holding the guest's GDT or LDT are typed XK_FT_SEG_DESC (mm.c):
 * every descriptor is audited when a frame gains the type, no writable
 * mapping can exist while it is typed, and update_descriptor is the only
 * way to change an entry.  The hardware sees copies: each vCPU has its own
 * hardware GDT and LDT in the stub region (platform/x86/x86.c) and the
 * platform writes audited descriptors there (plat_gdt_entry /
 * plat_ldt_entry).  Copying instead of mapping the guest frames into the
 * stub's address space keeps the stub's page tables static; the price is
 * that update_descriptor propagates to every vCPU using the frame, and
 * that the LDT is copied when SET_LDT installs it rather than mapped on
 * first use (see desc_set_ldt).
 */
#include "core.h"
#include "platform.h"
#include "mm.h"

#define SEG_TYPE	 (0xfULL << 40)
#define SEG_S		 (1ULL << 44)
#define SEG_DPL		 (3ULL << 45)
#define SEG_P		 (1ULL << 47)
#define SEG_CODE	 (1ULL << 43)
#define SEG_RW		 (1ULL << 41) /* readable code / writable data */
#define TYPE_CALL_GATE64 0xcULL
#define LDT_MAX_ENTS	 8192
#define DESCS_PER_PAGE	 512

/*
 * Xen's rules for a 64-bit PV guest, one 8-byte descriptor (fixed up in
 * place): not-present is harmless; code/data get DPL >= 3 (the guest
 * kernel runs in ring 3); type 0 is the upper half of a 16-byte gate; the
 * only system descriptor a guest may write is a 64-bit call gate whose
 * target is a guest code selector (or FLAT_KERNEL_CS, or in the LDT),
 * stored with DPL 0 and the requested DPL in the target's RPL, so that a
 * use faults.  TSS, LDT, interrupt and trap gates are refused.
 */
bool desc_check(uint64_t *d)
{
	uint64_t v = *d;

	if (!(v & SEG_P))
		return true;
	uint64_t dpl = (v & SEG_DPL) >> 45;
	if (dpl < 3)
		dpl = 3;
	v = (v & ~SEG_DPL) | (dpl << 45);
	if (v & SEG_S) {
		*d = v;
		return true;
	}
	uint64_t type = (v & SEG_TYPE) >> 40;
	if (type == 0)
		return true;
	if (type != TYPE_CALL_GATE64)
		return false;
	uint16_t cs = (uint16_t)(v >> 16);
	if ((cs >> 3) >= FIRST_RESERVED_GDT_ENTRY && cs != FLAT_KERNEL_CS && !(cs & 4))
		return false;
	if ((v >> 32) & 0xff) /* reserved (IST/parameter count) bits */
		return false;
	v &= ~SEG_DPL;
	cs = (uint16_t)((cs & ~3) | dpl);
	v = (v & ~0xffff0000ULL) | ((uint64_t)cs << 16);
	*d = v;
	return true;
}

static uint64_t *frame_descs(uint64_t mfn)
{
	return gpa_to_virt(mfn << PAGE_SHIFT);
}

static uint64_t desc_base(uint64_t d)
{
	return ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
}

/* A descriptor the hardware may load a base from. */
static void note_base(uint64_t d)
{
	if ((d & SEG_P) && (d & SEG_S) && desc_base(d))
		dom.desc_bases = true;
}

/* mm.c, when a frame gains the SEG_DESC type. */
int desc_validate_frame(uint64_t mfn)
{
	uint64_t *t = frame_descs(mfn);

	for (unsigned i = 0; i < DESCS_PER_PAGE; i++) {
		uint64_t d = READ_ONCE(t[i]);
		if (!desc_check(&d))
			return -EINVAL;
		WRITE_ONCE(t[i], d);
	}
	return 0;
}

/* ---- GDT ---- */

static void show_gdt_frame(struct pcpu *pc, unsigned slot)
{
	const uint64_t *t = frame_descs(pc->v.gdt_frames[slot]);
	unsigned first = slot * DESCS_PER_PAGE;

	for (unsigned i = 0; i < DESCS_PER_PAGE && first + i < pc->v.gdt_ents; i++) {
		uint64_t d = READ_ONCE(t[i]);
		note_base(d);
		plat_gdt_entry(pc, first + i, d);
	}
}

long do_set_gdt(struct pcpu *pc, uint64_t frames_va, uint64_t entries)
{
	struct vcpu *v = &pc->v;
	uint64_t frames[FIRST_RESERVED_GDT_PAGE];
	unsigned nr, i;

	if (entries > FIRST_RESERVED_GDT_ENTRY)
		return -EINVAL;
	nr = (unsigned)(entries + DESCS_PER_PAGE - 1) / DESCS_PER_PAGE;
	if (nr && copy_from_guest(frames, frames_va, nr * sizeof(frames[0])))
		return -EFAULT;
	/* Type the new frames first: on failure the old GDT stays. */
	for (i = 0; i < nr; i++)
		if (mm_get_type(frames[i], XK_FT_SEG_DESC))
			break;
	if (i < nr) {
		while (i--)
			mm_put_type(frames[i]);
		return -EINVAL;
	}

	unsigned old_ents = v->gdt_ents, old_nr = (old_ents + DESCS_PER_PAGE - 1) / DESCS_PER_PAGE;
	for (i = 0; i < old_nr; i++)
		mm_put_type(v->gdt_frames[i]);
	for (i = 0; i < FIRST_RESERVED_GDT_PAGE; i++)
		v->gdt_frames[i] = i < nr ? frames[i] : 0;
	v->gdt_ents = (unsigned)entries;
	for (i = 0; i < nr; i++)
		show_gdt_frame(pc, i);
	for (unsigned e = (unsigned)entries; e < old_ents; e++)
		plat_gdt_entry(pc, e, 0);
	return 0;
}

/* ---- LDT ---- */

static void ldt_unload(struct pcpu *pc)
{
	struct vcpu *v = &pc->v;
	unsigned pages = (v->ldt_ents + DESCS_PER_PAGE - 1) / DESCS_PER_PAGE;

	for (unsigned p = 0; p < pages; p++) {
		if (v->ldt_loaded & (1u << p))
			mm_put_type(v->ldt_frames[p]);
		for (unsigned i = 0; i < DESCS_PER_PAGE && p * DESCS_PER_PAGE + i < v->ldt_ents;
		     i++)
			plat_ldt_entry(pc, p * DESCS_PER_PAGE + i, 0);
	}
	v->ldt_loaded = 0;
}

/*
 * Xen maps LDT pages lazily, from the guest's current page tables, when the
 * CPU first touches them.  Here each page is looked up in the guest kernel's
 * tables, typed and copied when SET_LDT installs the table: the guest
 * (Linux's alloc_ldt/write_ldt) has filled and write-protected it by then.
 * A page that is not mapped or cannot take the type stays empty, so that a
 * selector in it faults (#GP) instead of Xen's #PF on the LDT address.
 */
static void ldt_load_page(struct pcpu *pc, unsigned p)
{
	struct vcpu *v = &pc->v;
	uint64_t *pte = l1e_of(pc, v->ldt_base + (uint64_t)p * PAGE_SIZE, NULL);

	if (!pte)
		return;
	uint64_t e = READ_ONCE(*pte);
	uint64_t mfn = (e & PTE_ADDR) >> PAGE_SHIFT;
	if (!(e & PTE_P) || mm_get_type(mfn, XK_FT_SEG_DESC))
		return;
	v->ldt_frames[p] = mfn;
	v->ldt_loaded |= (uint16_t)(1u << p);
	const uint64_t *t = frame_descs(mfn);
	for (unsigned i = 0; i < DESCS_PER_PAGE && p * DESCS_PER_PAGE + i < v->ldt_ents; i++) {
		uint64_t d = READ_ONCE(t[i]);
		note_base(d);
		plat_ldt_entry(pc, p * DESCS_PER_PAGE + i, d);
	}
}

long desc_set_ldt(struct pcpu *pc, uint64_t base, uint64_t ents)
{
	struct vcpu *v = &pc->v;

	if (ents > LDT_MAX_ENTS || (base & (PAGE_SIZE - 1)) ||
	    (ents && !guest_va_ok(base, ents * 8)))
		return -EINVAL;
	if (!ents)
		base = 0;
	if (v->ldt_base == base && v->ldt_ents == ents)
		return 0; /* as Xen: an unchanged LDT is not reloaded */
	ldt_unload(pc);
	v->ldt_base = base;
	v->ldt_ents = (unsigned)ents;
	for (unsigned p = 0; p < (ents + DESCS_PER_PAGE - 1) / DESCS_PER_PAGE; p++)
		ldt_load_page(pc, p);
	plat_load_ldt(pc, v->ldt_ents);
	return 0;
}

/* ---- update_descriptor ---- */

/* A SEG_DESC frame changed at entry idx: refresh every copy of it. */
static void propagate(uint64_t mfn, unsigned idx, uint64_t d)
{
	for (unsigned c = 0; c < dom.nr_vcpus; c++) {
		struct pcpu *pc = dom.pcpu[c];
		if (!pc)
			continue;
		struct vcpu *v = &pc->v;
		for (unsigned s = 0; s < FIRST_RESERVED_GDT_PAGE; s++) {
			unsigned e = s * DESCS_PER_PAGE + idx;
			if (e < v->gdt_ents && v->gdt_frames[s] == mfn)
				plat_gdt_entry(pc, e, d);
		}
		for (unsigned p = 0; p < 16; p++) {
			unsigned e = p * DESCS_PER_PAGE + idx;
			if ((v->ldt_loaded & (1u << p)) && v->ldt_frames[p] == mfn &&
			    e < v->ldt_ents)
				plat_ldt_entry(pc, e, d);
		}
	}
}

long do_update_descriptor(struct pcpu *pc, uint64_t maddr, uint64_t desc)
{
	uint64_t mfn = maddr >> PAGE_SHIFT;

	if ((maddr & 7) || !mfn_is_ram(mfn) || !desc_check(&desc))
		return -EINVAL;
	/* A descriptor page in use, or an ordinary page (as through a
	 * writable mapping); never a page table. */
	unsigned type = frame_type(mfn);
	if (type != XK_FT_NONE && type != XK_FT_SEG_DESC)
		return -EINVAL;
	uint64_t *slot = (uint64_t *)gpa_to_virt(maddr);
	WRITE_ONCE(*slot, desc);
	if (type == XK_FT_SEG_DESC) {
		note_base(desc);
		propagate(mfn, (unsigned)(maddr & (PAGE_SIZE - 1)) / 8, desc);
	}
	return 0;
}

/* ---- selectors ---- */

static bool lookup(struct pcpu *pc, uint16_t sel, uint64_t *d)
{
	struct vcpu *v = &pc->v;
	unsigned idx = sel >> 3;

	if (sel & 4) {
		unsigned p = idx / DESCS_PER_PAGE;
		if (idx >= v->ldt_ents || !(v->ldt_loaded & (1u << p)))
			return false;
		*d = READ_ONCE(frame_descs(v->ldt_frames[p])[idx % DESCS_PER_PAGE]);
		return true;
	}
	if (idx >= v->gdt_ents)
		return false;
	*d = READ_ONCE(frame_descs(v->gdt_frames[idx / DESCS_PER_PAGE])[idx % DESCS_PER_PAGE]);
	return true;
}

/*
 * What loading sel into %gs gives as base, checked the way the CPU checks a
 * data-segment load (present, code or data, code readable; audited
 * descriptors all have DPL 3).  Only the guest's own entries count: the
 * stub's flat selectors (and the null selector) give base 0.
 */
bool desc_selector_base(struct pcpu *pc, uint16_t sel, uint64_t *base)
{
	uint64_t d;

	*base = 0;
	if (!(sel & ~3u))
		return true;
	if (!lookup(pc, sel, &d)) {
		/* Not a guest entry: the stub's flat user selectors are fine
		 * (base 0), anything else would fault. */
		uint16_t s = sel | 3;
		return s == FLAT_RING3_DS32 || s == FLAT_RING3_CS64 || s == FLAT_RING3_CS32 ||
		       s == 0x2b || s == 0x33 || s == 0x23;
	}
	if (!(d & SEG_P) || !(d & SEG_S) || ((d & SEG_CODE) && !(d & SEG_RW)))
		return false;
	*base = desc_base(d);
	return true;
}
