/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Grant mapping for the launcher's backends: the guest's grant table lives
 * in the stub region (boot info grant_off, written by the guest through the
 * frames GNTTABOP_setup_table gave it); the granted frames are guest RAM.
 *
 * Semantics of Xen's map (common/grant_table.c): the entry must permit
 * access to the mapping domain (0 here), must not be read-only for a
 * writable mapping; the flags are updated atomically against the guest
 * changing the entry (GTF_reading, and GTF_writing for a writable map), so
 * the guest can see the page is in use and must not revoke it.  The flags
 * are cleared when the last mapping of that kind goes.
 *
 * Every entry is hostile: refs, flags, domids and frames are checked before
 * anything is touched, and no value read from the table is read twice.
 *
 * Versions: the stub publishes the guest's choice (GNTTABOP_set_version) in
 * boot info grant_version.  v1: 8-byte entries, flags+domid+32-bit frame,
 * GTF_reading/GTF_writing in the entry's flags.  v2: 16-byte entries
 * (flags+domid, then a 64-bit frame for a full-page grant), the
 * reading/writing bits in a separate status array (uint16 per entry, the
 * status frames); as in Xen, the flags are set in the status word first,
 * then the shared entry is read again and the pin is undone if it changed.
 * Sub-page and transitive v2 grants can be copied but not mapped on Xen:
 * they are refused.  A pin remembers the version it was made under (the
 * stub refuses to switch while a grant is pinned, but a hostile guest can
 * race the check: then it only confuses its own grants).
 */
/* v2 entries are declared for interface versions from 3.2.10 on. */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "xenkvm.h"
#include "devices.h"

/* v1 entry: uint16 flags, uint16 domid, uint32 frame (xen/grant_table.h). */
_Static_assert(sizeof(grant_entry_v1_t) == 8, "grant v1 entry");
_Static_assert(sizeof(grant_entry_v2_t) == 16, "grant v2 entry");
_Static_assert(sizeof(grant_status_t) == 2, "grant v2 status");

struct xk_gnttab {
	struct xk_vm *vm;
	uint32_t nr_v1, nr_v2; /* entries in each layout */
	struct pin {
		uint16_t readers, writers;
		uint8_t version; /* of the first pin, while pinned */
	} * pins;
};

struct xk_gnttab *xk_gnttab_new(struct xk_vm *vm)
{
	struct xk_gnttab *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->vm = vm;
	g->nr_v1 = vm->bi->grant_frames * (4096 / sizeof(grant_entry_v1_t));
	g->nr_v2 = vm->bi->grant_frames * (4096 / sizeof(grant_entry_v2_t));
	/* Every v2 entry needs its status word. */
	uint32_t nr_status = vm->bi->grant_status_frames * (4096 / sizeof(grant_status_t));
	if (g->nr_v2 > nr_status)
		g->nr_v2 = nr_status;
	g->pins = calloc(g->nr_v1, sizeof(*g->pins));
	if (!g->pins) {
		free(g);
		return NULL;
	}
	return g;
}

void xk_gnttab_free(struct xk_gnttab *g)
{
	if (!g)
		return;
	free(g->pins);
	free(g);
}

static unsigned version(struct xk_gnttab *g)
{
	return __atomic_load_n(&g->vm->bi_live->grant_version, __ATOMIC_ACQUIRE) == 2 ? 2 : 1;
}

static grant_entry_v1_t *entry_v1(struct xk_gnttab *g, uint32_t ref)
{
	return (grant_entry_v1_t *)(g->vm->stub + g->vm->bi->grant_off) + ref;
}

static grant_entry_v2_t *entry_v2(struct xk_gnttab *g, uint32_t ref)
{
	return (grant_entry_v2_t *)(g->vm->stub + g->vm->bi->grant_off) + ref;
}

static grant_status_t *status_v2(struct xk_gnttab *g, uint32_t ref)
{
	return (grant_status_t *)(g->vm->stub + g->vm->bi->grant_status_off) + ref;
}

/* The flags+domid half of an entry (v1 and v2 alike) as one word (little
 * endian: flags low). */
static uint32_t *flags_word(void *e)
{
	return (uint32_t *)e;
}

static void unpin(struct xk_gnttab *g, uint32_t ref, bool write)
{
	struct pin *p = &g->pins[ref];
	uint16_t clear = 0;

	if (write && p->writers) {
		if (!--p->writers)
			clear |= GTF_writing;
	} else if (!write && p->readers) {
		p->readers--;
	} else {
		return; /* not ours to unpin */
	}
	if (!p->readers && !p->writers)
		clear |= GTF_reading;
	if (!clear)
		return;
	if (p->version == 2)
		__atomic_fetch_and(status_v2(g, ref), (uint16_t)~clear, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(&entry_v1(g, ref)->flags, (uint16_t)~clear, __ATOMIC_SEQ_CST);
}

/* Check a flags+domid word for a map; 0 or a negative errno. */
static int check_entry(uint32_t word, bool write, unsigned ver)
{
	uint16_t flags = (uint16_t)word, gdom = (uint16_t)(word >> 16);

	if ((flags & GTF_type_mask) != GTF_permit_access || gdom != 0)
		return -EPERM;
	if (ver == 2 && (flags & GTF_sub_page))
		return -EPERM; /* not mappable (Xen: copy only) */
	if (write && (flags & GTF_readonly))
		return -EACCES;
	return 0;
}

/* v1: the in-use bits live in the entry itself: one compare-and-swap. */
static int pin_flags_v1(struct xk_gnttab *g, uint32_t ref, bool write, uint64_t *frame)
{
	grant_entry_v1_t *e = entry_v1(g, ref);
	uint32_t *w = flags_word(e);
	uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);

	/* The guest may rewrite the entry under us: a bounded retry, then
	 * refuse (Xen gives up after a few rounds as well). */
	for (int tries = 0;; tries++) {
		if (tries == 8)
			return -EAGAIN;
		int rc = check_entry(old, write, 1);
		if (rc)
			return rc;
		uint32_t nw = old | GTF_reading | (write ? GTF_writing : 0);
		if (__atomic_compare_exchange_n(w, &old, nw, false, __ATOMIC_SEQ_CST,
						__ATOMIC_ACQUIRE))
			break;
	}
	/* Flags are now pinned: the frame must be read after the flags
	 * (Xen: "check that the entry is still valid" ordering). */
	*frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
	return 0;
}

/* v2: set the status bits, then see the entry unchanged (else undo and
 * retry); the frame is read after that. */
static int pin_flags_v2(struct xk_gnttab *g, uint32_t ref, bool write, bool first, uint64_t *frame)
{
	grant_entry_v2_t *e = entry_v2(g, ref);
	grant_status_t *st = status_v2(g, ref);
	uint32_t *w = flags_word(e);
	uint16_t set = GTF_reading | (write ? GTF_writing : 0);

	for (int tries = 0;; tries++) {
		if (tries == 8)
			return -EAGAIN;
		uint32_t word = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		int rc = check_entry(word, write, 2);
		if (rc)
			return rc;
		uint16_t before = __atomic_fetch_or(st, set, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(w, __ATOMIC_SEQ_CST) == word)
			break;
		/* Changed under us: take back only the bits we added (a
		 * pin already held keeps its bits). */
		uint16_t added = (uint16_t)(set & ~before);
		if (!first)
			added &= (uint16_t)~GTF_reading;
		if (added)
			__atomic_fetch_and(st, (uint16_t)~added, __ATOMIC_SEQ_CST);
	}
	*frame = __atomic_load_n(&e->full_page.frame, __ATOMIC_ACQUIRE);
	return 0;
}

static int pin(struct xk_gnttab *g, uint32_t domid, uint32_t ref, bool write, void **page)
{
	struct xk_vm *vm = g->vm;
	uint64_t nr_pages = vm->ram_size / 4096;
	struct pin *p;
	uint64_t frame;
	int rc;

	if (ref >= g->nr_v1)
		return -EINVAL;
	p = &g->pins[ref];
	/* A pinned entry keeps the layout it was pinned in. */
	unsigned ver = p->readers || p->writers ? p->version : version(g);
	if (ver == 2 && ref >= g->nr_v2)
		return -EINVAL;
	if ((write ? p->writers : p->readers) == UINT16_MAX)
		return -EBUSY;
	if (ver == 2)
		rc = pin_flags_v2(g, ref, write, !p->readers && !p->writers, &frame);
	else
		rc = pin_flags_v1(g, ref, write, &frame);
	if (rc)
		return rc;
	int err = 0;
	if (frame >= nr_pages) {
		err = -EFAULT;
	} else if (write) {
		/* A page-table or descriptor page must not be written behind
		 * the stub's back (Xen refuses writable type for them). */
		const uint64_t *fi = (const uint64_t *)(vm->stub + vm->bi->frame_info_off);
		if ((__atomic_load_n(&fi[frame], __ATOMIC_ACQUIRE) & 0xf) != XK_FT_NONE)
			err = -EACCES;
	}
	p->version = (uint8_t)ver;
	if (write)
		p->writers++;
	else
		p->readers++;
	if (err) {
		unpin(g, ref, write);
		return err;
	}
	*page = vm->ram + frame * 4096;
	(void)domid;
	return 0;
}

int xk_gnttab_map(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write,
		  void **pages)
{
	struct xk_gnttab *g = opaque;

	if (domid != g->vm->bi->domid)
		return -ESRCH;
	for (unsigned i = 0; i < n; i++) {
		int rc = pin(g, domid, refs[i], write, &pages[i]);
		if (rc) {
			while (i--)
				unpin(g, refs[i], write);
			return rc;
		}
	}
	return 0;
}

void xk_gnttab_unmap(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write)
{
	struct xk_gnttab *g = opaque;

	for (unsigned i = 0; i < n; i++)
		if (refs[i] < g->nr_v1)
			unpin(g, refs[i], write);
}

/*
 * A pin held across requests (blkif persistent grants) stays usable only
 * while the entry still grants what was mapped.  On Xen the guest cannot
 * end access while a grant is mapped (the in-use bits make its
 * compare-and-swap fail, and the page keeps a reference and, for a
 * writable map, its writable type); a guest that rewrites the entry anyway
 * only breaks its own bookkeeping.  Here the frame is guest RAM read
 * through the entry, and the stub does not see the launcher's pins when it
 * types a frame, so before each reuse: the entry still permits domain 0
 * (writes too, for write), still carries the in-use bits this pin set,
 * names the same frame, and for write that frame is still not a page
 * table or descriptor page.
 */
int xk_gnttab_check(void *opaque, uint32_t domid, uint32_t ref, bool write, const void *page)
{
	struct xk_gnttab *g = opaque;
	struct xk_vm *vm = g->vm;
	uint16_t want = GTF_reading | (write ? GTF_writing : 0);
	uint32_t word;
	uint16_t inuse;
	uint64_t frame;

	if (domid != vm->bi->domid || ref >= g->nr_v1)
		return -EINVAL;
	struct pin *p = &g->pins[ref];
	if (!(write ? p->writers : p->readers))
		return -EINVAL; /* not pinned by us */
	if (p->version == 2) {
		if (ref >= g->nr_v2)
			return -EINVAL;
		grant_entry_v2_t *e = entry_v2(g, ref);
		word = __atomic_load_n(flags_word(e), __ATOMIC_ACQUIRE);
		inuse = __atomic_load_n(status_v2(g, ref), __ATOMIC_ACQUIRE);
		frame = __atomic_load_n(&e->full_page.frame, __ATOMIC_ACQUIRE);
	} else {
		grant_entry_v1_t *e = entry_v1(g, ref);
		word = __atomic_load_n(flags_word(e), __ATOMIC_ACQUIRE);
		inuse = (uint16_t)word;
		frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
	}
	int rc = check_entry(word, write, p->version);
	if (rc)
		return rc;
	if ((inuse & want) != want)
		return -ESTALE;
	if (frame >= vm->ram_size / 4096 || (const uint8_t *)page != vm->ram + frame * 4096)
		return -ESTALE;
	if (write) {
		const uint64_t *fi = (const uint64_t *)(vm->stub + vm->bi->frame_info_off);
		if ((__atomic_load_n(&fi[frame], __ATOMIC_ACQUIRE) & 0xf) != XK_FT_NONE)
			return -EACCES;
	}
	return 0;
}
