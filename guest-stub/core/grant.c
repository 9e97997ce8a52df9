/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Grant tables, the guest (frontend) side: versions 1 and 2, setup_table,
 * query_size, get_status_frames (Xen's common/grant_table.c).  The frames
 * live in the stub region, outside guest RAM, and the guest maps them by
 * machine frame number like any frame Xen hands it.  Mapping and copying
 * grants is what backends do; here the backends run in the launcher and
 * read the entries directly, so those ops are not offered to the guest.
 */
#include "core.h"

static unsigned version = 1;
static unsigned nr_shared; /* frames handed out so far */

static uint64_t grant_mfn(unsigned i)
{
	return (dom.bi->stub_gpa + dom.bi->grant_off) / PAGE_SIZE + i;
}

static uint64_t status_mfn(unsigned i)
{
	return (dom.bi->stub_gpa + dom.bi->grant_status_off) / PAGE_SIZE + i;
}

bool grant_frame(uint64_t mfn)
{
	uint64_t g0 = grant_mfn(0), s0 = status_mfn(0);
	return (mfn >= g0 && mfn < g0 + dom.bi->grant_frames) ||
	       (version == 2 && mfn >= s0 && mfn < s0 + dom.bi->grant_status_frames);
}

static bool self(domid_t d)
{
	return d == DOMID_SELF || d == dom.bi->domid;
}

/* Status frames needed for n shared frames of v2 entries (256 per frame). */
static unsigned status_frames_for(unsigned n)
{
	return (n * 256 * 2 + PAGE_SIZE - 1) / PAGE_SIZE;
}

static long setup_table(uint64_t uop)
{
	struct gnttab_setup_table t;
	uint64_t list;

	if (copy_from_guest(&t, uop, sizeof(t)))
		return -EFAULT;
	memcpy(&list, &t.frame_list, sizeof(list));
	if (!self(t.dom)) {
		t.status = GNTST_bad_domain;
	} else if (t.nr_frames > dom.bi->grant_frames) {
		t.status = GNTST_general_error;
	} else {
		t.status = GNTST_okay;
		for (unsigned i = 0; i < t.nr_frames; i++) {
			xen_pfn_t mfn = grant_mfn(i);
			if (copy_to_guest(list + i * sizeof(mfn), &mfn, sizeof(mfn)))
				return -EFAULT;
		}
		if (t.nr_frames > nr_shared)
			nr_shared = t.nr_frames;
	}
	return copy_to_guest(uop, &t, sizeof(t));
}

static long query_size(uint64_t uop)
{
	struct gnttab_query_size q;

	if (copy_from_guest(&q, uop, sizeof(q)))
		return -EFAULT;
	if (!self(q.dom)) {
		q.status = GNTST_bad_domain;
	} else {
		q.nr_frames = nr_shared;
		q.max_nr_frames = dom.bi->grant_frames;
		q.status = GNTST_okay;
	}
	return copy_to_guest(uop, &q, sizeof(q));
}

static long get_status_frames(uint64_t uop)
{
	struct gnttab_get_status_frames g;
	uint64_t list;

	if (copy_from_guest(&g, uop, sizeof(g)))
		return -EFAULT;
	memcpy(&list, &g.frame_list, sizeof(list));
	if (!self(g.dom)) {
		g.status = GNTST_bad_domain;
	} else if (version != 2 || g.nr_frames > status_frames_for(nr_shared ? nr_shared : 1) ||
		   g.nr_frames > dom.bi->grant_status_frames) {
		g.status = GNTST_general_error;
	} else {
		g.status = GNTST_okay;
		for (unsigned i = 0; i < g.nr_frames; i++) {
			uint64_t mfn = status_mfn(i);
			if (copy_to_guest(list + i * sizeof(mfn), &mfn, sizeof(mfn)))
				return -EFAULT;
		}
	}
	return copy_to_guest(uop, &g, sizeof(g));
}

static bool grants_in_use(void)
{
	const uint8_t *base = (const uint8_t *)dom.bi;

	if (version == 1) {
		const grant_entry_v1_t *g = (const void *)(base + dom.bi->grant_off);
		for (size_t i = 0; i < (size_t)dom.bi->grant_frames * PAGE_SIZE / sizeof(*g); i++)
			if (READ_ONCE(g[i].flags) & (GTF_reading | GTF_writing))
				return true;
		return false;
	}
	const grant_status_t *st = (const void *)(base + dom.bi->grant_status_off);
	for (size_t i = 0; i < (size_t)dom.bi->grant_status_frames * PAGE_SIZE / sizeof(*st); i++)
		if (READ_ONCE(st[i]) & (GTF_reading | GTF_writing))
			return true;
	return false;
}

long do_grant_table_op(struct pcpu *pc, uint64_t cmd, uint64_t uop, uint64_t count)
{
	long rc = 0;

	if (count > 512)
		return -EINVAL;
	for (uint64_t i = 0; i < count && !rc; i++) {
		switch (cmd) {
		case GNTTABOP_setup_table:
			rc = setup_table(uop + i * sizeof(struct gnttab_setup_table));
			break;
		case GNTTABOP_query_size:
			rc = query_size(uop + i * sizeof(struct gnttab_query_size));
			break;
		case GNTTABOP_get_status_frames:
			rc = get_status_frames(uop + i * sizeof(struct gnttab_get_status_frames));
			break;
		case GNTTABOP_set_version: {
			struct gnttab_set_version sv;
			if (copy_from_guest(&sv, uop, sizeof(sv)))
				return -EFAULT;
			if (sv.version != 1 && sv.version != 2)
				return -EINVAL;
			/* Entries a backend is using would change meaning: only
			 * switch while none is mapped or being copied (Xen
			 * checks its active entries; here that is what the
			 * reading/writing flags record). */
			if (sv.version != version) {
				if (grants_in_use())
					return -EBUSY;
				version = sv.version;
				/* The launcher's backends read entries in
				 * this layout from now on. */
				WRITE_ONCE(dom.bi->grant_version, version);
			}
			sv.version = version;
			return copy_to_guest(uop, &sv, sizeof(sv));
		}
		case GNTTABOP_get_version: {
			struct gnttab_get_version gv;
			if (copy_from_guest(&gv, uop, sizeof(gv)))
				return -EFAULT;
			if (!self(gv.dom))
				return -ESRCH;
			gv.version = version;
			return copy_to_guest(uop, &gv, sizeof(gv));
		}
		default:
			/* map/unmap/copy/transfer serve backends, which are host
			 * processes here: not offered to the guest. */
			return -ENOSYS;
		}
	}
	return rc;
}
