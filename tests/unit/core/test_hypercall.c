/* SPDX-License-Identifier: GPL-2.0-only */
/* core/hypercall.c: dispatch through do_hypercall() and the small hypercalls. */
#include <stdlib.h>
#include <string.h>

#include "fake.h"

static struct cpu_regs *r;

static int setup(void **state)
{
	fake_world_init(1, 2100000);
	r = fake_regs(0);
	return 0;
}

/* A hypercall as the guest makes it: number in RAX, args RDI RSI RDX R10 R8. */
static long hc(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	r->rax = nr;
	r->rdi = a1;
	r->rsi = a2;
	r->rdx = a3;
	r->r10 = a4;
	r->r8 = a5;
	do_hypercall(fake_pc(0), r);
	return (long)r->rax;
}

static struct vcpu *v0(void)
{
	return &fake_pc(0)->v;
}

static void test_unknown_numbers(void **state)
{
	static const uint64_t nrs[] = {__HYPERVISOR_set_callbacks,
				       __HYPERVISOR_sched_op_compat,
				       __HYPERVISOR_platform_op,
				       11,
				       __HYPERVISOR_domctl,
				       __HYPERVISOR_hvm_op,
				       48,
				       63,
				       64,
				       127,
				       128,
				       4096,
				       ~0ULL};

	for (unsigned i = 0; i < ARRAY_SIZE(nrs); i++)
		assert_int_equal(hc(nrs[i], 1, 2, 3, 4, 5), -ENOSYS);
	assert_int_equal(v0()->nr_hypercalls, ARRAY_SIZE(nrs));
	/* logged once per number, not per call */
	unsigned logged = fake.printk_calls;
	assert_true(logged >= 1);
	assert_int_equal(hc(__HYPERVISOR_platform_op, 0, 0, 0, 0, 0), -ENOSYS);
	assert_int_equal(fake.printk_calls, logged);
}

static void test_xen_version(void **state)
{
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0), (4 << 16) | 17);
	struct xen_feature_info fi = {.submap_idx = 0, .submap = 0xffffffff};
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_get_features, gva(&fi), 0, 0, 0), 0);
	assert_true(fi.submap & (1u << XENFEAT_mmu_pt_update_preserve_ad)); /* bit 5 */
	assert_true(fi.submap & (1u << XENFEAT_gnttab_map_avail_bits));	    /* bit 7 */
	assert_false(fi.submap & (1u << XENFEAT_auto_translated_physmap));  /* bit 2 */
	assert_false(fi.submap & (1u << XENFEAT_dom0));
	assert_false(fi.submap & (1u << XENFEAT_writable_page_tables));
	assert_false(fi.submap & (1u << XENFEAT_supervisor_mode_kernel));
	assert_false(fi.submap & (1u << XENFEAT_hvm_callback_vector));
	fi.submap_idx = 1;
	fi.submap = 0xffffffff;
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_get_features, gva(&fi), 0, 0, 0), 0);
	assert_int_equal(fi.submap, 0);
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_get_features, FAKE_BAD_VA, 0, 0, 0),
			 -EFAULT);

	xen_extraversion_t ev;
	memset(ev, 'x', sizeof(ev));
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_extraversion, gva(ev), 0, 0, 0), 0);
	assert_non_null(memchr(ev, 0, sizeof(ev)));
	xen_capabilities_info_t caps;
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_capabilities, gva(caps), 0, 0, 0), 0);
	assert_string_equal(caps, "xen-3.0-x86_64");
	struct xen_platform_parameters pp;
	assert_int_equal(
	    hc(__HYPERVISOR_xen_version, XENVER_platform_parameters, gva(&pp), 0, 0, 0), 0);
	assert_int_equal(pp.virt_start, 0xffff800000000000ULL);
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_pagesize, 0, 0, 0, 0), 4096);
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_commandline, gva(caps), 0, 0, 0),
			 -EPERM);
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_capabilities, FAKE_BAD_VA, 0, 0, 0),
			 -EFAULT);
	assert_int_equal(hc(__HYPERVISOR_xen_version, 999, 0, 0, 0, 0), -ENOSYS);
}

static void test_multicall_results(void **state)
{
	struct multicall_entry mc[6];

	memset(mc, 0, sizeof(mc));
	for (unsigned i = 0; i < 6; i++)
		mc[i].result = 0x5555;
	mc[0].op = __HYPERVISOR_xen_version;
	mc[0].args[0] = XENVER_version;
	mc[1].op = 99;
	mc[2].op = __HYPERVISOR_stack_switch;
	mc[2].args[0] = FLAT_KERNEL_SS64;
	mc[2].args[1] = 0xffffc90000123ff0ULL;
	mc[3].op = __HYPERVISOR_multicall; /* no nesting */
	mc[3].args[0] = gva(mc);
	mc[3].args[1] = 1;
	mc[4].op = __HYPERVISOR_iret; /* never inside a batch */
	mc[5].op = __HYPERVISOR_set_debugreg;
	mc[5].args[0] = 4; /* invalid */
	assert_int_equal(hc(__HYPERVISOR_multicall, gva(mc), 6, 0, 0, 0), 0);
	assert_int_equal(mc[0].result, (4 << 16) | 17);
	assert_int_equal((long)mc[1].result, -ENOSYS);
	assert_int_equal(mc[2].result, 0);
	assert_int_equal(v0()->kernel_sp, 0xffffc90000123ff0ULL);
	assert_int_equal(v0()->kernel_ss, FLAT_KERNEL_SS64);
	assert_int_equal((long)mc[3].result, -ENOSYS);
	assert_int_equal((long)mc[4].result, -ENOSYS);
	assert_int_equal((long)mc[5].result, -EINVAL);
	/* the arguments are left as they were */
	assert_int_equal(mc[2].args[1], 0xffffc90000123ff0ULL);

	assert_int_equal(hc(__HYPERVISOR_multicall, gva(mc), 0, 0, 0, 0), 0);
	assert_int_equal(hc(__HYPERVISOR_multicall, gva(mc), 1025, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_multicall, FAKE_BAD_VA, 1, 0, 0, 0), -EFAULT);
}

static void test_multicall_fault_midway(void **state)
{
	/* Two entries on a page, the third on a faulting one. */
	uint8_t *buf = aligned_alloc(4096, 8192);
	struct multicall_entry *mc = (struct multicall_entry *)(buf + 4096 - 2 * sizeof(*mc));

	memset(buf, 0, 8192);
	mc[0].op = __HYPERVISOR_fpu_taskswitch;
	mc[0].args[0] = 1;
	mc[1].op = __HYPERVISOR_xen_version;
	fake.fault_lo = gva(buf + 4096);
	fake.fault_hi = fake.fault_lo + 4096;
	assert_int_equal(hc(__HYPERVISOR_multicall, gva(mc), 3, 0, 0, 0), -EFAULT);
	assert_true(v0()->fpu_ts); /* earlier entries ran */
	assert_int_equal(mc[1].result, (4 << 16) | 17);
	free(buf);
}

static void test_set_trap_table_merge_and_clear(void **state)
{
	struct trap_info t1[] = {
	    {.vector = 14, .flags = 0, .cs = FLAT_KERNEL_CS, .address = 0xffffffff81001400ULL},
	    {.vector = 0x80, .flags = 3, .cs = FLAT_KERNEL_CS, .address = 0xffffffff81008000ULL},
	    {0},
	};
	struct trap_info t2[] = {
	    {.vector = 3, .flags = 3 | 4, .cs = FLAT_KERNEL_CS, .address = 0xffffffff81000300ULL},
	    {0},
	    {.vector = 6, .address = 0xffffffff81000600ULL}, /* after the terminator */
	};

	assert_int_equal(hc(__HYPERVISOR_set_trap_table, gva(t1), 0, 0, 0, 0), 0);
	assert_int_equal(hc(__HYPERVISOR_set_trap_table, gva(t2), 0, 0, 0, 0), 0);
	assert_int_equal(v0()->traps[14].address, 0xffffffff81001400ULL);
	assert_int_equal(v0()->traps[0x80].flags, 3);
	assert_int_equal(v0()->traps[3].address, 0xffffffff81000300ULL);
	assert_int_equal(v0()->traps[3].flags, 7);
	assert_int_equal(v0()->traps[6].address, 0);
	/* NULL clears the whole virtual IDT */
	assert_int_equal(hc(__HYPERVISOR_set_trap_table, 0, 0, 0, 0, 0), 0);
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(v0()->traps[i].address, 0);
	assert_int_equal(hc(__HYPERVISOR_set_trap_table, FAKE_BAD_VA, 0, 0, 0, 0), -EFAULT);
}

static void test_set_trap_table_unterminated(void **state)
{
	size_t n = 5000;
	struct trap_info *t = calloc(n, sizeof(*t));

	for (size_t i = 0; i < n; i++) {
		t[i].vector = (uint8_t)i;
		t[i].address = 0xffffffff81000000ULL + i;
	}
	/* bounded: no vCPU held forever by a table without a terminator */
	assert_int_equal(hc(__HYPERVISOR_set_trap_table, gva(t), 0, 0, 0, 0), -E2BIG);
	free(t);
}

/* Xen's do_set_trap_table: !is_canonical_address(cur.address) -> -EINVAL.
 * A non-canonical handler would become the RIP of a bounce frame. */
static void test_set_trap_table_noncanonical(void **state)
{
	struct trap_info t[] = {
	    {.vector = 13, .cs = FLAT_KERNEL_CS, .address = 0x8000000000001000ULL},
	    {0},
	};
	assert_int_equal(hc(__HYPERVISOR_set_trap_table, gva(t), 0, 0, 0, 0), -EINVAL);
	assert_int_equal(v0()->traps[13].address, 0);
}

static long cb_register(unsigned type, unsigned flags, uint64_t addr)
{
	struct callback_register cb = {.type = type, .flags = flags, .address = addr};
	return hc(__HYPERVISOR_callback_op, CALLBACKOP_register, gva(&cb), 0, 0, 0);
}

static long cb_unregister(unsigned type)
{
	struct callback_unregister cb = {.type = type};
	return hc(__HYPERVISOR_callback_op, CALLBACKOP_unregister, gva(&cb), 0, 0, 0);
}

static void test_callback_op(void **state)
{
	struct vcpu *v = v0();

	assert_int_equal(cb_register(CALLBACKTYPE_event, 0, 0xffffffff81000010ULL), 0);
	assert_int_equal(
	    cb_register(CALLBACKTYPE_failsafe, CALLBACKF_mask_events, 0xffffffff81000020ULL), 0);
	assert_int_equal(
	    cb_register(CALLBACKTYPE_syscall, CALLBACKF_mask_events, 0xffffffff81000030ULL), 0);
	assert_int_equal(cb_register(CALLBACKTYPE_syscall32, 0, 0xffffffff81000040ULL), 0);
	assert_int_equal(cb_register(CALLBACKTYPE_sysenter, 0, 0xffffffff81000050ULL), 0);
	assert_int_equal(cb_register(CALLBACKTYPE_nmi, 0, 0xffffffff81000060ULL), 0);
	assert_int_equal(v->event_cb, 0xffffffff81000010ULL);
	assert_int_equal(v->failsafe_cb, 0xffffffff81000020ULL);
	assert_true(v->failsafe_mask_events);
	assert_int_equal(v->syscall_cb, 0xffffffff81000030ULL);
	assert_true(v->syscall_mask_events);
	assert_int_equal(v->syscall32_cb, 0xffffffff81000040ULL);
	assert_int_equal(v->sysenter_cb, 0xffffffff81000050ULL);
	assert_int_equal(v->nmi_cb, 0xffffffff81000060ULL);
	assert_int_equal(cb_register(CALLBACKTYPE_syscall, 0, 0xffffffff81000070ULL), 0);
	assert_false(v->syscall_mask_events);

	/* the event and failsafe callbacks are mandatory */
	assert_int_equal(cb_unregister(CALLBACKTYPE_event), -EINVAL);
	assert_int_equal(cb_unregister(CALLBACKTYPE_failsafe), -EINVAL);
	assert_int_equal(v->event_cb, 0xffffffff81000010ULL);
	assert_int_equal(cb_unregister(CALLBACKTYPE_nmi), 0);
	assert_int_equal(v->nmi_cb, 0);

	assert_int_not_equal(cb_register(99, 0, 0xffffffff81000000ULL), 0);
	assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_register, FAKE_BAD_VA, 0, 0, 0),
			 -EFAULT);
	assert_int_equal(hc(__HYPERVISOR_callback_op, CALLBACKOP_unregister, FAKE_BAD_VA, 0, 0, 0),
			 -EFAULT);
	assert_int_equal(hc(__HYPERVISOR_callback_op, 7, 0, 0, 0, 0), -ENOSYS);
}

/* Xen's register_guest_callback: non-canonical addresses are -EINVAL. */
static void test_callback_noncanonical(void **state)
{
	assert_int_equal(cb_register(CALLBACKTYPE_event, 0, 0x0000800000000000ULL), -EINVAL);
	assert_int_equal(cb_register(CALLBACKTYPE_syscall, 0, 0xfff0000000000000ULL), -EINVAL);
	assert_int_equal(v0()->event_cb, 0);
	assert_int_equal(v0()->syscall_cb, 0);
}

static void test_set_segment_base(void **state)
{
	struct vcpu *v = v0();

	assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0x7f0000002000ULL, 0, 0, 0),
			 0);
	assert_int_equal(v->fs_base, 0x7f0000002000ULL);
	assert_int_equal(fake.fs_last, 0x7f0000002000ULL);
	assert_int_equal(
	    hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL, 0xffff888000002000ULL, 0, 0, 0),
	    0);
	assert_int_equal(v->gs_base_kernel, 0xffff888000002000ULL);
	assert_int_equal(fake.gs_last, 0xffff888000002000ULL);
	unsigned gs_calls = fake.gs_calls;
	assert_int_equal(
	    hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER, 0x7f0000003000ULL, 0, 0, 0), 0);
	assert_int_equal(v->gs_base_user, 0x7f0000003000ULL);
	assert_int_equal(fake.gs_calls, gs_calls); /* kernel mode: user GS is inactive */
	assert_int_equal(hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER_SEL, 0x2b, 0, 0, 0), 0);
	assert_int_equal(v->gs_base_user, 0);
	assert_int_equal(hc(__HYPERVISOR_set_segment_base, 4, 0, 0, 0, 0), -EINVAL);
}

/* Xen's do_set_segment_base: non-canonical bases are -EINVAL.  Loading one
 * into the FS/GS base MSR faults (#GP) inside the stub on hardware. */
static void test_set_segment_base_noncanonical(void **state)
{
	unsigned fs = fake.fs_calls, gs = fake.gs_calls;

	assert_int_equal(
	    hc(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0x8000000000000000ULL, 0, 0, 0), -EINVAL);
	assert_int_equal(
	    hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL, 0x0000900000000000ULL, 0, 0, 0),
	    -EINVAL);
	assert_int_equal(
	    hc(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER, 0x0001000000000000ULL, 0, 0, 0),
	    -EINVAL);
	assert_int_equal(fake.fs_calls, fs);
	assert_int_equal(fake.gs_calls, gs);
}

static void test_small_hypercalls(void **state)
{
	struct vcpu *v = v0();

	assert_int_equal(hc(__HYPERVISOR_fpu_taskswitch, 1, 0, 0, 0, 0), 0);
	assert_true(v->fpu_ts);
	assert_int_equal(hc(__HYPERVISOR_fpu_taskswitch, 0, 0, 0, 0, 0), 0);
	assert_false(v->fpu_ts);

	assert_int_equal(hc(__HYPERVISOR_get_debugreg, 6, 0, 0, 0, 0), 0xffff0ff0);
	assert_int_equal(hc(__HYPERVISOR_get_debugreg, 7, 0, 0, 0, 0), 0x400);
	assert_int_equal(hc(__HYPERVISOR_set_debugreg, 1, 0x1234, 0, 0, 0), 0);
	assert_int_equal(hc(__HYPERVISOR_get_debugreg, 1, 0, 0, 0, 0), 0x1234);
	assert_int_equal(hc(__HYPERVISOR_set_debugreg, 4, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_set_debugreg, 5, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_set_debugreg, 8, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_get_debugreg, 8, 0, 0, 0, 0), -EINVAL);

	assert_int_equal(
	    hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, VMASST_TYPE_writable_pagetables, 0, 0, 0),
	    0);
	assert_true(dom.vm_assist & (1ULL << VMASST_TYPE_writable_pagetables));
	assert_int_equal(
	    hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, VMASST_TYPE_m2p_strict, 0, 0, 0), 0);
	assert_true(dom.vm_assist & (1ULL << VMASST_TYPE_m2p_strict));
	assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_disable,
			    VMASST_TYPE_writable_pagetables, 0, 0, 0),
			 0);
	assert_false(dom.vm_assist & (1ULL << VMASST_TYPE_writable_pagetables));
	assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, 6, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, 64, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, ~0ULL, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_vm_assist, 5, VMASST_TYPE_writable_pagetables, 0, 0, 0),
			 -ENOSYS);

	struct physdev_set_iopl si = {.iopl = 1};
	assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, gva(&si), 0, 0, 0), 0);
	assert_int_equal(v->iopl, 1);
	si.iopl = 4;
	assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, gva(&si), 0, 0, 0),
			 -EINVAL);
	assert_int_equal(v->iopl, 1);
	assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, FAKE_BAD_VA, 0, 0, 0),
			 -EFAULT);
	assert_int_equal(hc(__HYPERVISOR_physdev_op, PHYSDEVOP_pirq_eoi_gmfn_v2, 0, 0, 0, 0),
			 -ENOSYS);
}

static void test_console_io(void **state)
{
	char big[1300];

	memset(big, 'a', sizeof(big));
	memcpy(big, "hello", 5);
	assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_write, 5, gva(big), 0, 0), 5);
	assert_int_equal(fake.hc_last_op, XK_HC_CONSOLE_WRITE);
	assert_string_equal(fake.hc_last_buf, "hello");
	fake.console_bytes = 0;
	assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_write, sizeof(big), gva(big), 0, 0),
			 sizeof(big));
	assert_int_equal(fake.console_bytes, sizeof(big));
	assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_write, 0, FAKE_BAD_VA, 0, 0), 0);
	assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_write, 5, FAKE_BAD_VA, 0, 0),
			 -EFAULT);
	assert_int_equal(
	    hc(__HYPERVISOR_console_io, CONSOLEIO_write, (1u << 20) + 1, gva(big), 0, 0), -EINVAL);

	char in[16];
	memset(in, 0, sizeof(in));
	fake.hc_read = "typed";
	assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_read, sizeof(in), gva(in), 0, 0), 5);
	assert_string_equal(in, "typed");
	assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_read, 3, gva(in), 0, 0), 3);
	assert_int_equal(hc(__HYPERVISOR_console_io, CONSOLEIO_read, 8, FAKE_BAD_VA, 0, 0),
			 -EFAULT);
	assert_int_equal(hc(__HYPERVISOR_console_io, 9, 0, 0, 0, 0), -ENOSYS);
}

static void test_gdt_and_descriptors(void **state)
{
	uint64_t frames[16] = {3, 4};

	assert_int_equal(hc(__HYPERVISOR_set_gdt, gva(frames), 14 * 512 + 1, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_set_gdt, FAKE_BAD_VA, 16, 0, 0, 0), -EFAULT);
	frames[1] = FAKE_SHARED_MFN; /* not guest RAM */
	assert_int_equal(hc(__HYPERVISOR_set_gdt, gva(frames), 600, 0, 0, 0), -EINVAL);
	assert_int_equal(hc(__HYPERVISOR_update_descriptor, 5 * 4096 + 4, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(
	    hc(__HYPERVISOR_update_descriptor, (uint64_t)FAKE_NR_PAGES * 4096, 0, 0, 0, 0),
	    -EINVAL);
}

static void test_trace_flag_logs(void **state)
{
	fake_bi()->vcpu0.flags |= XK_BOOTF_TRACE_HYPERCALLS;
	assert_int_equal(hc(__HYPERVISOR_xen_version, XENVER_pagesize, 0, 0, 0, 0), 4096);
	assert_non_null(strstr(fake.printk_last, "xen_version"));
	fake_bi()->vcpu0.flags = 0;
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_unknown_numbers, setup),
    cmocka_unit_test_setup(test_xen_version, setup),
    cmocka_unit_test_setup(test_multicall_results, setup),
    cmocka_unit_test_setup(test_multicall_fault_midway, setup),
    cmocka_unit_test_setup(test_set_trap_table_merge_and_clear, setup),
    cmocka_unit_test_setup(test_set_trap_table_unterminated, setup),
    cmocka_unit_test_setup(test_callback_op, setup),
    cmocka_unit_test_setup(test_set_segment_base, setup),
    cmocka_unit_test_setup(test_small_hypercalls, setup),
    cmocka_unit_test_setup(test_console_io, setup),
    cmocka_unit_test_setup(test_gdt_and_descriptors, setup),
    cmocka_unit_test_setup(test_trace_flag_logs, setup),
};

static const struct CMUnitTest bugs[] = {
    cmocka_unit_test_setup(test_set_trap_table_noncanonical, setup),
    cmocka_unit_test_setup(test_callback_noncanonical, setup),
    cmocka_unit_test_setup(test_set_segment_base_noncanonical, setup),
};

CORE_TEST_MAIN("stubcore-hypercall", tests, bugs)
