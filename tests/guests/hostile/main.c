/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hostile hypercalls: bad guest pointers give -EFAULT, unknown hypercall
 * numbers -ENOSYS, bad sub-commands -ENOSYS/-EINVAL, unknown vCPUs
 * -ENOENT, and the guest keeps running.  Also checks that a hypercall
 * preserves the registers it does not use for arguments.
 */
#include "xkg.h"

const char test_title[] = "hostile: bad pointers, numbers and commands";

/* clang-format off */
static const uint64_t bad_ptrs[] = {
	XKG_NONCANONICAL_VA,
	XKG_UNMAPPED_VA,
	0x10000,                  /* lower half, nothing mapped there */
	0xffff800000001000UL,     /* hypervisor hole */
	0x00007ffffffff000UL,     /* top of the lower half */
};
/* clang-format on */

static void check_bad_pointers(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_ptrs); i++) {
		uint64_t p = bad_ptrs[i];
		long rc;

		printf("hostile: bad pointer %#lx\n", p);
		rc = xkg_hypercall_raw(__HYPERVISOR_console_io, CONSOLEIO_write, 16, p, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "console_io(write) from a bad buffer");
		rc = xkg_hypercall_raw(__HYPERVISOR_set_trap_table, p, 0, 0, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "set_trap_table(bad pointer)");
		rc = xkg_hypercall_raw(__HYPERVISOR_multicall, p, 1, 0, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "multicall(bad pointer, 1)");
		rc = xkg_hypercall_raw(__HYPERVISOR_xen_version, XENVER_extraversion, p, 0, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "xen_version(extraversion, bad pointer)");
		rc = xkg_hypercall_raw(__HYPERVISOR_xen_version, XENVER_get_features, p, 0, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "xen_version(get_features, bad pointer)");
		rc = xkg_hypercall_raw(__HYPERVISOR_sched_op, SCHEDOP_shutdown, p, 0, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "sched_op(shutdown, bad pointer)");
		rc = xkg_hypercall_raw(__HYPERVISOR_event_channel_op, EVTCHNOP_send, p, 0, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "event_channel_op(send, bad pointer)");
		rc = xkg_hypercall_raw(__HYPERVISOR_callback_op, CALLBACKOP_register, p, 0, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "callback_op(register, bad pointer)");
		rc = xkg_hypercall_raw(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0, p, 0, 0);
		CHECK_EQ(rc, -XEN_EFAULT, "vcpu_op(register_vcpu_info, bad pointer)");
	}
}

static void check_bad_numbers(void)
{
	/* clang-format off */
	static const uint64_t nrs[] = {
		11, 60, 63, 64, 127, 128, 200, 0xffff, 0xffffffffUL, 0xffffffffffffffffUL,
		/* A valid number (xen_version) in the low half: a hypervisor that
		 * truncates RAX to 32 bits would run it. */
		(1UL << 32) | __HYPERVISOR_xen_version,
	};
	/* clang-format on */

	for (size_t i = 0; i < ARRAY_SIZE(nrs); i++) {
		long rc = xkg_hypercall_raw(nrs[i], XENVER_version, 0, 0, 0, 0);

		printf("hostile: hypercall %#lx = %ld\n", nrs[i], rc);
		CHECK_EQ(rc, -XEN_ENOSYS, "unknown hypercall number");
	}
}

static void check_bad_commands(void)
{
	struct evtchn_send send = {.port = 100000};
	struct evtchn_bind_virq bv = {.virq = 1000, .vcpu = 0};
	struct evtchn_bind_virq bv2 = {.virq = VIRQ_TIMER, .vcpu = 1000};
	struct callback_register cb = {.type = 1000, .address = 0xffffffff80100000UL};
	long rc;

	rc = HYPERVISOR_sched_op(1000, NULL);
	CHECK(rc == -XEN_ENOSYS || rc == -XEN_EINVAL, "sched_op(1000) = %ld", rc);
	rc = HYPERVISOR_event_channel_op(1000, &send);
	CHECK(rc == -XEN_ENOSYS || rc == -XEN_EINVAL, "event_channel_op(1000) = %ld", rc);
	rc = HYPERVISOR_vcpu_op(1000, 0, NULL);
	CHECK(rc == -XEN_ENOSYS || rc == -XEN_EINVAL, "vcpu_op(1000) = %ld", rc);
	rc = HYPERVISOR_xen_version(0x7fff, NULL);
	CHECK(rc == -XEN_ENOSYS || rc == -XEN_EINVAL, "xen_version(0x7fff) = %ld", rc);
	rc = HYPERVISOR_console_io(1000, 0, NULL);
	CHECK(rc == -XEN_ENOSYS || rc == -XEN_EINVAL, "console_io(1000) = %ld", rc);
	rc = HYPERVISOR_callback_op(1000, &cb);
	CHECK(rc == -XEN_ENOSYS || rc == -XEN_EINVAL, "callback_op(1000) = %ld", rc);
	rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
	CHECK(rc == -XEN_ENOSYS || rc == -XEN_EINVAL, "callback_op(register type 1000) = %ld", rc);

	rc = HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
	CHECK_EQ(rc, -XEN_EINVAL, "EVTCHNOP_send to port 100000");
	send.port = 0;
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
	CHECK_EQ(rc, -XEN_EINVAL, "EVTCHNOP_send to port 0");
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv);
	CHECK_EQ(rc, -XEN_EINVAL, "EVTCHNOP_bind_virq(virq 1000)");
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv2);
	CHECK_EQ(rc, -XEN_ENOENT, "EVTCHNOP_bind_virq(vcpu 1000)");

	/* pv-abi.md 2.3: unknown vCPU -> -ENOENT. */
	rc = HYPERVISOR_vcpu_op(VCPUOP_is_up, 1000, NULL);
	CHECK_EQ(rc, -XEN_ENOENT, "VCPUOP_is_up(1000)");
	rc = HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, NULL);
	CHECK_EQ(rc, 1, "VCPUOP_is_up(0)");
}

/* A hypercall returns in RAX and may clobber RCX, R11 and argument
 * registers; RBX, RBP, R9 and R12-R15 must survive. */
/* clang-format off */
extern void hostile_preserve(uint64_t out[7]);
asm(".pushsection .text\n"
    "hostile_preserve:\n\t"
    "push %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "push %rdi\n\t"
    "movabs $0xb0b0b0b0b0b0b0b0, %rbx\n\t"
    "movabs $0xb1b1b1b1b1b1b1b1, %rbp\n\t"
    "movabs $0xb9b9b9b9b9b9b9b9, %r9\n\t"
    "movabs $0xbcbcbcbcbcbcbcbc, %r12\n\t"
    "movabs $0xbdbdbdbdbdbdbdbd, %r13\n\t"
    "movabs $0xbebebebebebebebe, %r14\n\t"
    "movabs $0xbfbfbfbfbfbfbfbf, %r15\n\t"
    "xor %edi, %edi\n\txor %esi, %esi\n\t"
    "mov $17, %eax\n\t" /* xen_version(XENVER_version) */
    "syscall\n\t"
    "pop %rdi\n\t"
    "mov %rbx, 0(%rdi)\n\tmov %rbp, 8(%rdi)\n\tmov %r9, 16(%rdi)\n\t"
    "mov %r12, 24(%rdi)\n\tmov %r13, 32(%rdi)\n\tmov %r14, 40(%rdi)\n\t"
    "mov %r15, 48(%rdi)\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\t"
    "ret\n"
    ".popsection");
/* clang-format on */

static void check_preserved(void)
{
	static const char *const names[] = {"rbx", "rbp", "r9", "r12", "r13", "r14", "r15"};
	static const uint64_t want[] = {
	    0xb0b0b0b0b0b0b0b0UL, 0xb1b1b1b1b1b1b1b1UL, 0xb9b9b9b9b9b9b9b9UL, 0xbcbcbcbcbcbcbcbcUL,
	    0xbdbdbdbdbdbdbdbdUL, 0xbebebebebebebebeUL, 0xbfbfbfbfbfbfbfbfUL,
	};
	uint64_t out[7];

	hostile_preserve(out);
	for (size_t i = 0; i < ARRAY_SIZE(out); i++)
		CHECK(out[i] == want[i], "%s = %#lx after a hypercall, want %#lx", names[i], out[i],
		      want[i]);
}

void test_main(void)
{
	check_preserved();
	check_bad_numbers();
	check_bad_commands();
	check_bad_pointers();
	/* Still alive, and hypercalls still work. */
	CHECK(HYPERVISOR_xen_version(XENVER_version, NULL) >= 0x40000,
	      "xen_version broken after the hostile calls");
	printf("hostile: still running\n");
}
