/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * emu/gnttab.c: mapping the guest's grant entries (v1, and v2 with its
 * status frames) for backends, on a fake VM (RAM, a stub region with boot
 * info, grant frames, status frames, frame types); the check of a pin kept
 * across requests against an entry the guest rewrites.
 */
/* v2 entries are declared for interface versions from 3.2.10 on. */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "xenkvm.h"
#include "devices.h"

#define RAM_PAGES 64
#define DOMID	  1

static struct xk_vm vm;
static struct xk_gnttab *g;
static grant_entry_v1_t *gt;
static uint64_t *frame_info;

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	vm.ram_size = RAM_PAGES * 4096;
	vm.ram = calloc(RAM_PAGES, 4096);
	vm.stub_size = 16 * 4096;
	vm.stub = calloc(16, 4096);
	vm.bi = (struct xk_boot_info *)vm.stub;
	vm.bi_live = vm.bi;
	vm.bi->domid = DOMID;
	vm.bi->grant_off = 4096;
	vm.bi->grant_frames = 2;
	vm.bi->frame_info_off = 3 * 4096;
	vm.bi->grant_status_off = 4 * 4096;
	vm.bi->grant_status_frames = 1;
	gt = (grant_entry_v1_t *)(vm.stub + 4096);
	frame_info = (uint64_t *)(vm.stub + 3 * 4096);
	g = xk_gnttab_new(&vm);
	assert_non_null(g);
	return 0;
}

static int teardown(void **state)
{
	xk_gnttab_free(g);
	free(vm.ram);
	free(vm.stub);
	return 0;
}

static void grant(uint32_t ref, uint16_t domid, uint32_t frame, bool readonly)
{
	gt[ref].domid = domid;
	gt[ref].frame = frame;
	gt[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
}

static int map1(uint32_t ref, bool write, void **page)
{
	return xk_gnttab_map(g, DOMID, &ref, 1, write, page);
}

static void unmap1(uint32_t ref, bool write)
{
	xk_gnttab_unmap(g, DOMID, &ref, 1, write);
}

static void test_map_sets_and_clears_flags(void **state)
{
	void *p;

	grant(5, 0, 9, false);
	assert_int_equal(map1(5, false, &p), 0);
	assert_ptr_equal(p, vm.ram + 9 * 4096);
	assert_int_equal(gt[5].flags, GTF_permit_access | GTF_reading);
	assert_int_equal(map1(5, true, &p), 0);
	assert_int_equal(gt[5].flags, GTF_permit_access | GTF_reading | GTF_writing);
	unmap1(5, true);
	assert_int_equal(gt[5].flags, GTF_permit_access | GTF_reading); /* a reader is left */
	unmap1(5, false);
	assert_int_equal(gt[5].flags, GTF_permit_access);
	/* Unbalanced unmaps do not touch the entry. */
	gt[5].flags |= GTF_reading;
	unmap1(5, false);
	assert_int_equal(gt[5].flags, GTF_permit_access | GTF_reading);
}

/* As the launcher runs it (emu/domain.c): the layout comes from the
 * launcher's copy of the boot info; the page in the stub region, which the
 * guest can write, is read for the grant version only. */
static void test_layout_from_launcher_copy(void **state)
{
	struct xk_boot_info *live = vm.bi;
	void *p;

	vm.bi_copy = *live;
	vm.bi = &vm.bi_copy;
	vm.bi_live = live;
	live->grant_off = 1ULL << 62; /* a hostile guest's offsets */
	live->grant_frames = 1u << 30;
	live->frame_info_off = 1ULL << 61;
	grant(5, 0, 9, false);
	assert_int_equal(map1(5, true, &p), 0);
	assert_ptr_equal(p, vm.ram + 9 * 4096);
	unmap1(5, true);
	assert_int_equal(map1(1u << 20, false, &p), -EINVAL); /* beyond the real table */
	/* The version is the stub's to set: read from the live page. */
	live->grant_version = 2;
	grant(5, 0, 9, false); /* a v1 entry is not a valid v2 one */
	assert_int_not_equal(map1(5, false, &p), 0);
	vm.bi = live;
}

static void test_hostile_entries(void **state)
{
	void *p = NULL;

	grant(1, 0, 3, true);
	assert_int_equal(map1(1, true, &p), -EACCES); /* read-only grant */
	assert_int_equal(gt[1].flags, GTF_permit_access | GTF_readonly);
	assert_int_equal(map1(1, false, &p), 0);
	unmap1(1, false);

	grant(2, 7, 3, false); /* granted to another domain */
	assert_int_equal(map1(2, false, &p), -EPERM);
	gt[3].flags = GTF_accept_transfer;
	assert_int_equal(map1(3, false, &p), -EPERM);
	assert_int_equal(map1(4, false, &p), -EPERM); /* never granted */

	grant(6, 0, RAM_PAGES, false); /* frame past RAM (the stub region) */
	assert_int_equal(map1(6, false, &p), -EFAULT);
	assert_int_equal(gt[6].flags, GTF_permit_access); /* pin undone */
	grant(7, 0, 0xffffffff, false);
	assert_int_equal(map1(7, true, &p), -EFAULT);
	assert_int_equal(gt[7].flags, GTF_permit_access);

	uint32_t past = 2 * 4096 / sizeof(grant_entry_v1_t);
	assert_int_equal(map1(past, false, &p), -EINVAL); /* ref past the table */
	assert_int_equal(map1(UINT32_MAX, false, &p), -EINVAL);
	assert_int_equal(xk_gnttab_map(g, 2, (uint32_t[]){1}, 1, false, &p), -ESRCH);
	xk_gnttab_unmap(g, DOMID, (uint32_t[]){UINT32_MAX}, 1, true); /* ignored */
}

static void test_page_table_frames_not_writable(void **state)
{
	void *p;

	grant(8, 0, 12, false);
	frame_info[12] = XK_FT_L1 | (1ULL << 8);
	assert_int_equal(map1(8, true, &p), -EACCES);
	assert_int_equal(gt[8].flags, GTF_permit_access);
	assert_int_equal(map1(8, false, &p), 0); /* reading it is fine */
	unmap1(8, false);
}

static void test_many_all_or_nothing(void **state)
{
	void *pages[4];

	grant(10, 0, 20, false);
	grant(11, 0, 21, false);
	grant(12, 0, 22, true);
	uint32_t refs[3] = {10, 11, 12};
	assert_int_equal(xk_gnttab_map(g, DOMID, refs, 3, true, pages), -EACCES);
	assert_int_equal(gt[10].flags, GTF_permit_access); /* rolled back */
	assert_int_equal(gt[11].flags, GTF_permit_access);
	assert_int_equal(xk_gnttab_map(g, DOMID, refs, 3, false, pages), 0);
	assert_ptr_equal(pages[2], vm.ram + 22 * 4096);
	/* The same ref twice in one request pins twice. */
	uint32_t twice[2] = {10, 10};
	assert_int_equal(xk_gnttab_map(g, DOMID, twice, 2, false, pages), 0);
	xk_gnttab_unmap(g, DOMID, refs, 3, false);
	assert_true(gt[10].flags & GTF_reading);
	xk_gnttab_unmap(g, DOMID, twice, 2, false);
	assert_int_equal(gt[10].flags, GTF_permit_access);
	assert_int_equal(gt[12].flags, GTF_permit_access | GTF_readonly);
}

/* ---- version 2 ---- */

static grant_entry_v2_t *gt2(uint32_t ref)
{
	return (grant_entry_v2_t *)(vm.stub + 4096) + ref;
}

static grant_status_t *st2(uint32_t ref)
{
	return (grant_status_t *)(vm.stub + 4 * 4096) + ref;
}

static void grant2(uint32_t ref, uint16_t domid, uint64_t frame, uint16_t extra)
{
	gt2(ref)->full_page.hdr.domid = domid;
	gt2(ref)->full_page.frame = frame;
	gt2(ref)->hdr.flags = GTF_permit_access | extra;
}

static void test_v2_status_flags(void **state)
{
	void *p;

	vm.bi->grant_version = 2;
	grant2(5, 0, 9, 0);
	assert_int_equal(map1(5, false, &p), 0);
	assert_ptr_equal(p, vm.ram + 9 * 4096);
	/* The in-use bits go to the status word, the entry is untouched. */
	assert_int_equal(*st2(5), GTF_reading);
	assert_int_equal(gt2(5)->hdr.flags, GTF_permit_access);
	assert_int_equal(map1(5, true, &p), 0);
	assert_int_equal(*st2(5), GTF_reading | GTF_writing);
	unmap1(5, true);
	assert_int_equal(*st2(5), GTF_reading);
	unmap1(5, false);
	assert_int_equal(*st2(5), 0);
	/* A 64-bit frame field: a frame past 4 GiB pages is refused. */
	grant2(6, 0, (1ULL << 32) + 3, 0);
	assert_int_equal(map1(6, false, &p), -EFAULT);
	assert_int_equal(*st2(6), 0);
}

static void test_v2_hostile_entries(void **state)
{
	void *p = NULL;

	vm.bi->grant_version = 2;
	grant2(1, 0, 3, GTF_readonly);
	assert_int_equal(map1(1, true, &p), -EACCES);
	assert_int_equal(*st2(1), 0);
	assert_int_equal(map1(1, false, &p), 0);
	unmap1(1, false);
	grant2(2, 7, 3, 0); /* another domain */
	assert_int_equal(map1(2, false, &p), -EPERM);
	grant2(3, 0, 3, GTF_sub_page); /* copy-only on Xen */
	assert_int_equal(map1(3, false, &p), -EPERM);
	gt2(4)->hdr.flags = GTF_transitive;
	assert_int_equal(map1(4, false, &p), -EPERM);
	grant2(7, 0, 12, 0);
	frame_info[12] = XK_FT_L2 | (1ULL << 8);
	assert_int_equal(map1(7, true, &p), -EACCES); /* a page table */
	assert_int_equal(*st2(7), 0);
	/* Two v1 frames hold 512 v2 entries: ref 600 is a v1 ref only. */
	assert_int_equal(map1(600, false, &p), -EINVAL);
	vm.bi->grant_version = 1;
	grant(600, 0, 3, false);
	assert_int_equal(map1(600, false, &p), 0);
	unmap1(600, false);
}

/* A pin keeps the layout it was made in, even if the version changes
 * under it (the stub refuses that; a racing guest could do it). */
static void test_pin_keeps_its_version(void **state)
{
	void *p;

	grant(10, 0, 4, false);
	assert_int_equal(map1(10, false, &p), 0);
	assert_int_equal(gt[10].flags, GTF_permit_access | GTF_reading);
	vm.bi->grant_version = 2;
	assert_int_equal(map1(10, false, &p), 0); /* a second v1 pin */
	assert_ptr_equal(p, vm.ram + 4 * 4096);
	unmap1(10, false);
	unmap1(10, false);
	assert_int_equal(gt[10].flags, GTF_permit_access); /* v1 bits cleared */
	/* Unpinned: the next pin reads the v2 layout. */
	grant2(10, 0, 8, 0);
	assert_int_equal(map1(10, true, &p), 0);
	assert_ptr_equal(p, vm.ram + 8 * 4096);
	assert_int_equal(*st2(10), GTF_reading | GTF_writing);
	unmap1(10, true);
	assert_int_equal(*st2(10), 0);
}

/* A pin kept across requests is checked before each reuse. */
static void test_check_v1(void **state)
{
	void *p, *q;

	grant(5, 0, 9, false);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, vm.ram + 9 * 4096), -EINVAL);
	assert_int_equal(map1(5, false, &p), 0);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, p), 0);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, p), -EINVAL); /* no writable pin */
	assert_int_equal(xk_gnttab_check(g, 2, 5, false, p), -EINVAL);
	assert_int_equal(xk_gnttab_check(g, DOMID, UINT32_MAX, false, p), -EINVAL);
	assert_int_equal(map1(5, true, &q), 0);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, q), 0);
	/* The guest rewrites the entry despite the in-use bits. */
	gt[5].frame = 10;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, p), -ESTALE);
	gt[5].frame = 9;
	gt[5].flags |= GTF_readonly;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, q), -EACCES);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, p), 0);
	gt[5].flags &= (uint16_t)~GTF_readonly;
	gt[5].domid = 3;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, p), -EPERM);
	gt[5].domid = 0;
	gt[5].flags &= (uint16_t) ~(GTF_reading | GTF_writing); /* "ended" */
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, p), -ESTALE);
	gt[5].flags |= GTF_reading | GTF_writing;
	gt[5].flags = (gt[5].flags & (uint16_t)~GTF_type_mask) | GTF_invalid;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, p), -EPERM);
	gt[5].flags |= GTF_permit_access;
	/* The frame became a page table: no longer writable. */
	frame_info[9] = XK_FT_L1 | (1ULL << 8);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, q), -EACCES);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, p), 0);
	frame_info[9] = 0;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, q), 0);
	unmap1(5, true);
	unmap1(5, false);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, false, p), -EINVAL);
}

static void test_check_v2(void **state)
{
	void *p;

	vm.bi->grant_version = 2;
	grant2(5, 0, 9, 0);
	assert_int_equal(map1(5, true, &p), 0);
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, p), 0);
	gt2(5)->full_page.frame = 11;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, p), -ESTALE);
	gt2(5)->full_page.frame = 9;
	*st2(5) &= (uint16_t)~GTF_writing;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, p), -ESTALE);
	*st2(5) |= GTF_writing;
	gt2(5)->hdr.flags |= GTF_sub_page;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, p), -EPERM);
	gt2(5)->hdr.flags &= (uint16_t)~GTF_sub_page;
	assert_int_equal(xk_gnttab_check(g, DOMID, 5, true, p), 0);
	unmap1(5, true);
	assert_int_equal(*st2(5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_map_sets_and_clears_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_layout_from_launcher_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_page_table_frames_not_writable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_status_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_hostile_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pin_keeps_its_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_v2, setup, teardown),
	};
	return cmocka_run_group_tests_name("gnttab", tests, NULL, NULL);
}
