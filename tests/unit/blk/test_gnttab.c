/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * emu/gnttab.c: mapping the guest's v1 grant entries for backends, on a
 * fake VM (RAM, a stub region with boot info, grant frames, frame types).
 */
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
	vm.bi->domid = DOMID;
	vm.bi->grant_off = 4096;
	vm.bi->grant_frames = 2;
	vm.bi->frame_info_off = 3 * 4096;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_map_sets_and_clears_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_page_table_frames_not_writable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_all_or_nothing, setup, teardown),
	};
	return cmocka_run_group_tests_name("gnttab", tests, NULL, NULL);
}
