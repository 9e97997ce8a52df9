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
 * Only v1 entries are served: the guest is kept on v1 (the stub reports no
 * machine address width, so Linux never asks for v2).
 */
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

struct xk_gnttab {
	struct xk_vm *vm;
	uint32_t nr_entries;
	struct pin {
		uint16_t readers, writers;
	} * pins;
};

struct xk_gnttab *xk_gnttab_new(struct xk_vm *vm)
{
	struct xk_gnttab *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->vm = vm;
	g->nr_entries = vm->bi->grant_frames * (4096 / sizeof(grant_entry_v1_t));
	g->pins = calloc(g->nr_entries, sizeof(*g->pins));
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

static grant_entry_v1_t *entry(struct xk_gnttab *g, uint32_t ref)
{
	return (grant_entry_v1_t *)(g->vm->stub + g->vm->bi->grant_off) + ref;
}

/* The flags+domid half of an entry as one word (little endian: flags low). */
static uint32_t *flags_word(grant_entry_v1_t *e)
{
	return (uint32_t *)e;
}

static void unpin(struct xk_gnttab *g, uint32_t ref, bool write)
{
	struct pin *p = &g->pins[ref];
	uint16_t clear = 0;
	grant_entry_v1_t *e = entry(g, ref);

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
	if (clear)
		__atomic_fetch_and(&e->flags, (uint16_t)~clear, __ATOMIC_SEQ_CST);
}

static int pin(struct xk_gnttab *g, uint32_t domid, uint32_t ref, bool write, void **page)
{
	struct xk_vm *vm = g->vm;
	uint64_t nr_pages = vm->ram_size / 4096;

	if (ref >= g->nr_entries)
		return -EINVAL;
	struct pin *p = &g->pins[ref];
	if ((write ? p->writers : p->readers) == UINT16_MAX)
		return -EBUSY;
	grant_entry_v1_t *e = entry(g, ref);
	uint32_t *w = flags_word(e);
	uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);
	/* The guest may rewrite the entry under us: a bounded retry, then
	 * refuse (Xen gives up after a few rounds as well). */
	for (int tries = 0;; tries++) {
		uint16_t flags = (uint16_t)old, gdom = (uint16_t)(old >> 16);
		if (tries == 8)
			return -EAGAIN;
		if ((flags & GTF_type_mask) != GTF_permit_access || gdom != 0)
			return -EPERM;
		if (write && (flags & GTF_readonly))
			return -EACCES;
		uint32_t nw = old | GTF_reading | (write ? GTF_writing : 0);
		if (__atomic_compare_exchange_n(w, &old, nw, false, __ATOMIC_SEQ_CST,
						__ATOMIC_ACQUIRE))
			break;
	}
	/* Flags are now pinned: the frame must be read after the flags
	 * (Xen: "check that the entry is still valid" ordering). */
	uint64_t frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
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
		if (refs[i] < g->nr_entries)
			unpin(g, refs[i], write);
}
