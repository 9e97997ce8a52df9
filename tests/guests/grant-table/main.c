/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Grant tables from the frontend side (pv-abi.md 4): query_size,
 * setup_table, mapping the returned frame by machine address and writing an
 * entry through it, get_version, set_version 2 + get_status_frames, and the
 * errors: too many frames, unknown domain, unmappable frame numbers.
 */
#include "xkg.h"
#include <xen/grant_table.h>

const char test_title[] = "grant-table: query_size, setup_table, v1/v2, status frames";

static char grant_va[XKG_PAGE_SIZE] __aligned(4096);
static char status_va[XKG_PAGE_SIZE] __aligned(4096);

static long map_frame(void *va, uint64_t mfn)
{
	uint64_t pte = (mfn << 12) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
	return HYPERVISOR_update_va_mapping((unsigned long)va, pte, UVMF_INVLPG);
}

void test_main(void)
{
	struct gnttab_query_size q = {.dom = DOMID_SELF};
	xen_pfn_t frames[4] = {0};
	long rc;

	rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1);
	CHECK_EQ(rc, 0, "query_size");
	CHECK_EQ(q.status, GNTST_okay, "query_size status");
	CHECK(q.max_nr_frames >= 4, "max_nr_frames %u < 4", q.max_nr_frames);
	printf("grant-table: %u frames, max %u\n", q.nr_frames, q.max_nr_frames);

	struct gnttab_get_version gv = {.dom = DOMID_SELF};
	rc = HYPERVISOR_grant_table_op(GNTTABOP_get_version, &gv, 1);
	CHECK_EQ(rc, 0, "get_version");
	CHECK_EQ(gv.version, 1, "default grant version");

	struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 4};
	set_xen_guest_handle(st.frame_list, frames);
	rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
	CHECK_EQ(rc, 0, "setup_table(4)");
	CHECK_EQ(st.status, GNTST_okay, "setup_table status");
	for (int i = 1; i < 4; i++)
		CHECK(frames[i] != frames[0] && frames[i], "frame %d = %#lx", i,
		      (unsigned long)frames[i]);
	/* Grant frames are not guest RAM: their M2P entry is invalid. */
	CHECK(frames[0] >= xkg_start_info->nr_pages, "grant frame %#lx inside guest RAM",
	      (unsigned long)frames[0]);

	rc = map_frame(grant_va, frames[0]);
	CHECK_EQ(rc, 0, "update_va_mapping(grant frame 0)");
	if (!rc) {
		grant_entry_v1_t *g = (grant_entry_v1_t *)grant_va;
		g[8].domid = 0;
		g[8].frame = 0x1234;
		g[8].flags = GTF_permit_access;
		CHECK_EQ(ACCESS_ONCE(g[8].frame), 0x1234, "entry written through the mapping");
		g[8].flags = 0;
	}

	q.nr_frames = 0;
	rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1);
	CHECK_EQ(q.nr_frames, 4, "nr_frames after setup_table(4)");

	st.nr_frames = q.max_nr_frames + 1;
	rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
	CHECK_EQ(rc, 0, "setup_table(max + 1) hypercall");
	CHECK(st.status != GNTST_okay, "setup_table(max + 1) status %d", st.status);

	st.dom = 7;
	st.nr_frames = 1;
	rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
	CHECK_EQ(st.status, GNTST_bad_domain, "setup_table(dom 7) status");

	/* A frame beyond the grant table is not mappable. */
	rc = map_frame(status_va, frames[0] + q.max_nr_frames + 64);
	CHECK(rc < 0, "mapping a frame past the grant table = %ld", rc);

	/* Version 2 and its status frames. */
	struct gnttab_set_version sv = {.version = 2};
	rc = HYPERVISOR_grant_table_op(GNTTABOP_set_version, &sv, 1);
	CHECK_EQ(rc, 0, "set_version(2)");
	CHECK_EQ(sv.version, 2, "set_version result");
	uint64_t sframes[1] = {0};
	struct gnttab_get_status_frames gs = {.nr_frames = 1, .dom = DOMID_SELF};
	set_xen_guest_handle(gs.frame_list, sframes);
	rc = HYPERVISOR_grant_table_op(GNTTABOP_get_status_frames, &gs, 1);
	CHECK_EQ(rc, 0, "get_status_frames");
	CHECK_EQ(gs.status, GNTST_okay, "get_status_frames status");
	CHECK(sframes[0] && sframes[0] != frames[0], "status frame %#lx",
	      (unsigned long)sframes[0]);
	rc = map_frame(status_va, sframes[0]);
	CHECK_EQ(rc, 0, "update_va_mapping(status frame)");

	sv.version = 3;
	rc = HYPERVISOR_grant_table_op(GNTTABOP_set_version, &sv, 1);
	CHECK_EQ(rc, -XEN_EINVAL, "set_version(3)");
	rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, NULL, 1);
	CHECK_EQ(rc, -XEN_ENOSYS, "map_grant_ref from a domU");
}
