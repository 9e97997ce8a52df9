/* SPDX-License-Identifier: GPL-2.0-only */
/* core/vcpu.c (VCPUOP_*), core/console.c (guest access, hostcalls), and
 * core/grant.c's published grant-table version. */
#include <string.h>

#include "fake.h"

static int setup(void **state)
{
	fake_world_init(2, 2100000);
	return 0;
}

static long vcpuop(uint64_t cmd, uint64_t id, void *arg)
{
	return do_vcpu_op(fake_pc(0), cmd, id, gva(arg));
}

static long pin_l1(uint64_t mfn)
{
	struct mmuext_op op = {.cmd = MMUEXT_PIN_L1_TABLE};
	op.arg1.mfn = mfn;
	return do_mmuext_op(fake_pc(0), gva(&op), 1, 0, DOMID_SELF);
}

static void test_register_vcpu_info(void **state)
{
	struct vcpu *v = &fake_pc(0)->v;
	struct vcpu_register_vcpu_info ri = {.mfn = 12, .offset = 128};
	struct vcpu_info *nvi = (struct vcpu_info *)(fake_ram() + 12 * 4096 + 128);

	v->vi->evtchn_upcall_mask = 1;
	v->vi->arch.cr2 = 0x1234;
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), 0);
	assert_ptr_equal(v->vi, nvi);
	assert_int_equal(nvi->evtchn_upcall_mask, 1); /* old contents carried over */
	assert_int_equal(nvi->arch.cr2, 0x1234);
	assert_int_equal(nvi->evtchn_pending_sel, ~0UL); /* guest rescans everything */
	assert_int_equal(nvi->evtchn_upcall_pending, 1);
	assert_true(nvi->time.version != 0 && nvi->time.version % 2 == 0);

	/* events now land in the new vcpu_info */
	nvi->evtchn_upcall_pending = 0;
	nvi->evtchn_pending_sel = 0;
	struct evtchn_bind_ipi b = {.vcpu = 0};
	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_bind_ipi, gva(&b)), 0);
	struct evtchn_send s = {.port = b.port};
	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_send, gva(&s)), 0);
	assert_int_equal(nvi->evtchn_upcall_pending, 1);
	assert_int_equal(dom.shared->vcpu_info[0].evtchn_upcall_pending, 0);
}

static void test_register_vcpu_info_refusals(void **state)
{
	struct vcpu_register_vcpu_info ri = {.mfn = FAKE_NR_PAGES, .offset = 0};

	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), -EINVAL);
	ri.mfn = FAKE_SHARED_MFN;
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), -EINVAL);
	ri.mfn = 12;
	ri.offset = 4096 - sizeof(struct vcpu_info) + 8;
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), -EINVAL);
	ri.offset = 4;
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), -EINVAL);
	ri.offset = 4096 - sizeof(struct vcpu_info);
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 1, &ri), -EINVAL); /* not self */
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), 0);
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), -EINVAL); /* same place */
	assert_int_equal(do_vcpu_op(fake_pc(0), VCPUOP_register_vcpu_info, 0, FAKE_BAD_VA),
			 -EFAULT);
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 2, &ri), -ENOENT);
}

/* Xen's map_vcpu_info holds a writable-type reference on the frame, so it
 * can never be a page table while the hypervisor writes vcpu_info into it
 * (the guest steers evtchn_pending_sel bits by choosing ports).  The stub
 * writes through the direct map, past the guest's page tables. */
static void test_vcpu_info_frame_vs_page_tables(void **state)
{
	struct vcpu_register_vcpu_info ri = {.mfn = 12, .offset = 0};

	assert_int_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), 0);
	assert_int_not_equal(pin_l1(12), 0);

	setup(state);
	assert_int_equal(pin_l1(13), 0);
	ri.mfn = 13;
	assert_int_not_equal(vcpuop(VCPUOP_register_vcpu_info, 0, &ri), 0);
}

static void test_is_up_and_bad_vcpu(void **state)
{
	assert_int_equal(vcpuop(VCPUOP_is_up, 0, NULL), 1);
	assert_int_equal(vcpuop(VCPUOP_is_up, 1, NULL), 1);
	fake_pc(1)->v.online = false;
	assert_int_equal(vcpuop(VCPUOP_is_up, 1, NULL), 0);
	assert_int_equal(vcpuop(VCPUOP_is_up, 2, NULL), -ENOENT);
	assert_int_equal(vcpuop(VCPUOP_is_up, ~0ULL, NULL), -ENOENT);
	dom.pcpu[1] = NULL;
	assert_int_equal(vcpuop(VCPUOP_is_up, 1, NULL), -ENOENT);
	dom.pcpu[1] = fake_pc(1);
	assert_int_equal(vcpuop(VCPUOP_send_nmi, 0, NULL), -ENOSYS);
	assert_int_equal(vcpuop(999, 0, NULL), -ENOSYS);
	/* timers are per vCPU: no remote arming */
	struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = 1};
	assert_int_equal(vcpuop(VCPUOP_set_singleshot_timer, 1, &t), -EINVAL);
	assert_int_equal(vcpuop(VCPUOP_stop_periodic_timer, 1, NULL), -EINVAL);
}

static void test_down_last_vcpu_powers_off(void **state)
{
	/* with another vCPU online: refused, no shutdown */
	assert_int_equal(vcpuop(VCPUOP_down, 0, NULL), -EINVAL);
	assert_false(dom.shutting_down);
	fake_pc(1)->v.online = false;
	assert_int_equal(FAKE_RUN(vcpuop(VCPUOP_down, 0, NULL)), FAKE_ESC_SHUTDOWN);
	assert_int_equal(fake.shutdown_reason, SHUTDOWN_poweroff);
	assert_true(dom.shutting_down);
}

static void test_time_memory_area(void **state)
{
	struct vcpu_time_info t;
	struct vcpu_register_time_memory_area ra;

	memset(&t, 0, sizeof(t));
	ra.addr.v = &t;
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_time_memory_area, 0, &ra), 0);
	assert_memory_equal(&t, &fake_pc(0)->v.vi->time, sizeof(t));
	ra.addr.p = XK_STUB_VA;
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_time_memory_area, 0, &ra), -EFAULT);
	ra.addr.p = 0; /* unregister */
	assert_int_equal(vcpuop(VCPUOP_register_vcpu_time_memory_area, 0, &ra), 0);
	assert_int_equal(fake_pc(0)->v.time_area_va, 0);
}

static void test_guest_va_ok(void **state)
{
	assert_true(guest_va_ok(0x7ffffffff000ULL, 0x1000));
	assert_false(guest_va_ok(0x7ffffffff000ULL, 0x1001));
	assert_false(guest_va_ok(0x0000800000000000ULL, 1));
	assert_false(guest_va_ok(0xffff800000000000ULL, 1)); /* hole start */
	assert_false(guest_va_ok(XK_STUB_VA, 8));
	assert_false(guest_va_ok(XK_DIRECTMAP_VA, 8));
	assert_false(guest_va_ok(0xffff87fffffffff8ULL, 8)); /* hole end */
	assert_false(guest_va_ok(0xffff87fffffffff8ULL, 16));
	assert_true(guest_va_ok(0xffff880000000000ULL, 8));
	assert_true(guest_va_ok(0xffffffffff600000ULL, 0x1000));  /* vsyscall page */
	assert_false(guest_va_ok(0xfffffffffffff000ULL, 0x1001)); /* wraps */
	assert_false(guest_va_ok(0x7ffffffff000ULL, ~0ULL));
	/* ending in the hole from below the canonical boundary is refused */
	assert_false(guest_va_ok(0x00007ffffffff000ULL, 0xffff800000001000ULL - 0x7ffffffff000ULL));

	uint64_t x = 0;
	unsigned copies = fake.raw_copies;
	assert_int_equal(copy_to_guest(XK_STUB_VA, &x, 8), -EFAULT);
	assert_int_equal(copy_from_guest(&x, XK_DIRECTMAP_VA, 8), -EFAULT);
	assert_int_equal(fake.raw_copies, copies); /* never touched */
	assert_int_equal(copy_from_guest(&x, FAKE_BAD_VA, 8), -EFAULT);
}

static void test_hostcall_and_console(void **state)
{
	static char big[XK_HOSTCALL_BUF * 2 + 10];

	memset(big, 'q', sizeof(big));
	fake.hc_ret = 42;
	assert_int_equal(hostcall(fake_pc(0), XK_HC_LOG, 7, "abc", 3), 42);
	assert_int_equal(fake.hc_last_op, XK_HC_LOG);
	assert_int_equal(fake.hc_last_arg0, 7);
	assert_int_equal(fake.hc_last_len, 3);
	assert_string_equal(fake.hc_last_buf, "abc");
	/* longer than the block: truncated, never overflowing it */
	hostcall(fake_pc(0), XK_HC_LOG, 0, big, sizeof(big));
	assert_int_equal(fake.hc_last_len, XK_HOSTCALL_BUF);
	/* console output is split into block-sized pieces */
	fake.hostcalls = 0;
	fake.console_bytes = 0;
	console_write(fake_pc(0), big, sizeof(big));
	assert_int_equal(fake.hostcalls, 3);
	assert_int_equal(fake.console_bytes, sizeof(big));
	assert_int_equal(fake.hc_last_len, 10);
}

/* core/grant.c publishes the guest's grant-table version for the
 * launcher's grant mapping (boot info grant_version). */
static void test_grant_version_published(void **state)
{
	struct gnttab_set_version sv = {.version = 2};
	struct gnttab_get_version gv = {.dom = DOMID_SELF};

	assert_int_equal(do_grant_table_op(fake_pc(0), GNTTABOP_set_version, gva(&sv), 1), 0);
	assert_int_equal(sv.version, 2);
	assert_int_equal(dom.bi->grant_version, 2);
	assert_int_equal(do_grant_table_op(fake_pc(0), GNTTABOP_get_version, gva(&gv), 1), 0);
	assert_int_equal(gv.version, 2);
	sv.version = 3;
	assert_int_equal(do_grant_table_op(fake_pc(0), GNTTABOP_set_version, gva(&sv), 1), -EINVAL);
	assert_int_equal(dom.bi->grant_version, 2);
	sv.version = 1;
	assert_int_equal(do_grant_table_op(fake_pc(0), GNTTABOP_set_version, gva(&sv), 1), 0);
	assert_int_equal(dom.bi->grant_version, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_register_vcpu_info, setup),
    cmocka_unit_test_setup(test_register_vcpu_info_refusals, setup),
    cmocka_unit_test_setup(test_is_up_and_bad_vcpu, setup),
    cmocka_unit_test_setup(test_down_last_vcpu_powers_off, setup),
    cmocka_unit_test_setup(test_time_memory_area, setup),
    cmocka_unit_test_setup(test_guest_va_ok, setup),
    cmocka_unit_test_setup(test_hostcall_and_console, setup),
    cmocka_unit_test_setup(test_grant_version_published, setup),
};

static const struct CMUnitTest bugs[] = {
    cmocka_unit_test_setup(test_vcpu_info_frame_vs_page_tables, setup),
};

CORE_TEST_MAIN("stubcore-misc", tests, bugs)
