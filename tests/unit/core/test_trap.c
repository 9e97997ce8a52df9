/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/trap.c and core/bounce.c: every entry through stub_trap() up to the
 * exit into the guest (fake plat_enter_guest), bounce frames on the guest
 * kernel stack, the iret hypercall, event upcalls, guest system calls.
 */
#include <stdlib.h>
#include <string.h>

#include "fake.h"

#define KSTACK_SIZE	16384
#define H(n)		(0xffffffff81000000ULL + (n)*0x100) /* handler addresses */
#define FRAME_CS_KERNEL (FLAT_KERNEL_CS64 & ~3ULL)	    /* RPL 0, as Linux expects */
#define FRAME_SS_KERNEL FLAT_KERNEL_SS64

static uint8_t *kstack, *code;
static struct cpu_regs *r;

static struct vcpu *v0(void)
{
	return &fake_pc(0)->v;
}

static uint64_t kstack_top(void)
{
	return gva(kstack + KSTACK_SIZE);
}

static int setup(void **state)
{
	fake_world_init(1, 2100000);
	if (!kstack) {
		kstack = aligned_alloc(4096, KSTACK_SIZE);
		code = aligned_alloc(4096, 4096);
	}
	memset(kstack, 0, KSTACK_SIZE);
	memset(code, 0xcc, 4096);
	r = fake_regs(0);
	v0()->cr3_kernel = 0x1000;
	fake.cr3 = 0x1000;
	v0()->kernel_sp = kstack_top();
	v0()->vi->evtchn_upcall_mask = 0;
	/* a guest in kernel mode, somewhere in its text, on its stack */
	r->rip = gva(code);
	r->cs = FAKE_HW_CS_KERNEL;
	r->rsp = kstack_top() - 0x108; /* not 16-byte aligned */
	r->ss = FAKE_HW_SS_KERNEL;
	r->rflags = X86_EFLAGS_IF | 0x2;
	r->rcx = 0x1111;
	r->r11 = 0x2222;
	return 0;
}

static void set_trap(unsigned vec, unsigned flags)
{
	v0()->traps[vec] = (struct trap_info){
	    .vector = vec, .flags = flags, .cs = FLAT_KERNEL_CS, .address = H(vec)};
}

static int trap(unsigned vector, uint64_t err)
{
	r->vector = vector;
	r->error_code = err;
	return FAKE_RUN(stub_trap(r, fake_pc(0)));
}

static void place_code(const void *insn, size_t n)
{
	memset(code, 0xcc, 4096);
	memcpy(code, insn, n);
	r->rip = gva(code);
}

/* Xen's frame, upward from the new RSP: RCX, R11, [err], RIP, CS|mask<<32,
 * RFLAGS, RSP, SS. */
struct frame {
	uint64_t rcx, r11, err, rip, cs, rflags, rsp, ss;
};

static struct frame read_frame(bool has_err)
{
	const uint64_t *f = (const uint64_t *)(uintptr_t)r->rsp;
	struct frame fr = {.rcx = f[0], .r11 = f[1]};
	unsigned i = 2;

	if (has_err)
		fr.err = f[i++];
	fr.rip = f[i++];
	fr.cs = f[i++];
	fr.rflags = f[i++];
	fr.rsp = f[i++];
	fr.ss = f[i++];
	return fr;
}

static void test_hypercall_entry_and_exit(void **state)
{
	r->rflags = X86_EFLAGS_IOPL | 0x2; /* IF clear, IOPL 3: both fixed on exit */
	r->rax = __HYPERVISOR_xen_version;
	r->rdi = XENVER_version;
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rax, (4 << 16) | 17);
	assert_int_equal(r->cs, FAKE_HW_CS_KERNEL);
	assert_int_equal(r->ss, FAKE_HW_SS_KERNEL);
	assert_true(r->rflags & X86_EFLAGS_IF);
	assert_int_equal(r->rflags & X86_EFLAGS_IOPL, 0);
	assert_int_equal(v0()->nr_hypercalls, 1);
	assert_int_equal(r->rip, gva(code)); /* nothing bounced */
	assert_int_equal(fake.enter_calls, 1);
}

static void test_pf_from_kernel(void **state)
{
	uint64_t rsp = r->rsp, rip = r->rip;

	set_trap(14, 0);
	fake.cr2 = 0xffffc90000abc000ULL;
	r->rflags |= X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_AC | X86_EFLAGS_RF;
	assert_int_equal(trap(14, 0x6 /* W, U from the hardware CPL */), FAKE_ESC_ENTER);
	assert_int_equal(v0()->vi->arch.cr2, 0xffffc90000abc000ULL);
	assert_int_equal(r->rip, H(14));
	assert_int_equal(r->rsp, (rsp & ~0xfULL) - 8 * 8);
	struct frame f = read_frame(true);
	assert_int_equal(f.rcx, 0x1111);
	assert_int_equal(f.r11, 0x2222);
	assert_int_equal(f.err, 0x2); /* U reflects the guest's mode */
	assert_int_equal(f.rip, rip);
	assert_int_equal(f.cs, FRAME_CS_KERNEL); /* saved mask 0 */
	assert_true(f.rflags & X86_EFLAGS_IF);
	assert_int_equal(f.rsp, rsp);
	assert_int_equal(f.ss, FRAME_SS_KERNEL);
	/* the handler starts without TF/NT/AC/RF */
	assert_int_equal(
	    r->rflags & (X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_AC | X86_EFLAGS_RF), 0);
	assert_int_equal(r->cs, FAKE_HW_CS_KERNEL);
	assert_int_equal(v0()->vi->evtchn_upcall_mask, 0); /* trap flags bit 2 clear */
	assert_true(v0()->in_kernel);
}

static void test_trap_masking_events(void **state)
{
	set_trap(14, 4);
	v0()->vi->evtchn_upcall_mask = 0;
	assert_int_equal(trap(14, 0), FAKE_ESC_ENTER);
	assert_int_equal(v0()->vi->evtchn_upcall_mask, 1);
	struct frame f = read_frame(true);
	assert_int_equal(f.cs >> 32, 0); /* the mask before the trap */
	assert_true(f.rflags & X86_EFLAGS_IF);

	/* With events already masked, the frame says so. */
	set_trap(3, 3);
	r->rip = gva(code);
	assert_int_equal(trap(3, 0), FAKE_ESC_ENTER);
	f = read_frame(false);
	assert_int_equal(f.cs >> 32, 1);
	assert_false(f.rflags & X86_EFLAGS_IF);
}

static void enter_user_mode(void)
{
	struct vcpu *v = v0();

	v->in_kernel = false;
	v->cr3_user = 0x9000;
	fake.cr3 = 0x9000;
	v->gs_base_kernel = 0xffff888000010000ULL;
	v->gs_base_user = 0x7f0000010000ULL;
	r->cs = FAKE_HW_CS_USER;
	r->ss = FAKE_HW_SS_USER;
	r->rsp = 0x7ffffffde000ULL;
	r->rip = 0x401000;
}

static void test_pf_from_user(void **state)
{
	set_trap(14, 0);
	enter_user_mode();
	fake.cr2 = 0x10;
	assert_int_equal(trap(14, 0x4), FAKE_ESC_ENTER);
	assert_true(v0()->in_kernel);
	assert_int_equal(fake.gs_last, 0xffff888000010000ULL); /* kernel GS base */
	assert_int_equal(fake.cr3, 0x1000);		       /* kernel page tables */
	assert_int_equal(r->rsp, kstack_top() - 8 * 8);
	struct frame f = read_frame(true);
	assert_int_equal(f.err & 4, 4);
	assert_int_equal(f.rip, 0x401000);
	assert_int_equal(f.cs, 0x33);
	assert_int_equal(f.rsp, 0x7ffffffde000ULL);
	assert_int_equal(f.ss, 0x2b);
	assert_true(f.rflags & X86_EFLAGS_IF);
	assert_int_equal(r->rip, H(14));
	assert_int_equal(r->cs, FAKE_HW_CS_KERNEL);
	assert_int_equal(r->ss, FAKE_HW_SS_KERNEL);
}

/* PVM reports user-mode faults without U; the guest must see U=1. */
static void test_pf_from_user_sets_u(void **state)
{
	set_trap(14, 0);
	enter_user_mode();
	assert_int_equal(trap(14, 0x0), FAKE_ESC_ENTER);
	assert_int_equal(read_frame(true).err, 0x4);
}

static void test_unhandled_exception_crashes(void **state)
{
	assert_int_equal(trap(13, 0x18), FAKE_ESC_CRASH);
	assert_non_null(strstr(fake.crash_msg, "unhandled exception 13"));
	assert_true(dom.shutting_down);
}

static void test_int80_from_user(void **state)
{
	set_trap(0x80, 3);
	enter_user_mode();
	r->rip = gva(code);
	place_code((const uint8_t[]){0xcd, 0x80}, 2);
	assert_int_equal(trap(13, (0x80 << 3) | 2), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, H(0x80));
	struct frame f = read_frame(false);
	assert_int_equal(f.rip, gva(code) + 2); /* after the int */
	assert_int_equal(f.cs, 0x33);
}

static void test_int_dpl_refused(void **state)
{
	set_trap(0x80, 0); /* DPL 0: not for user mode */
	set_trap(13, 0);
	enter_user_mode();
	place_code((const uint8_t[]){0xcd, 0x80}, 2);
	assert_int_equal(trap(13, (0x80 << 3) | 2), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, H(13));
	struct frame f = read_frame(true);
	assert_int_equal(f.err, (0x80 << 3) | 2);
	assert_int_equal(f.rip, gva(code)); /* #GP points at the int */
}

static void test_int_from_kernel_ring1(void **state)
{
	/* The 64-bit PV kernel counts as ring 1: DPL 1 is enough. */
	set_trap(0x82, 1);
	place_code((const uint8_t[]){0xcd, 0x82}, 2);
	/* QEMU's TCG reports vector*16: the instruction decides */
	assert_int_equal(trap(13, (0x82 << 4) | 2), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, H(0x82));
	assert_int_equal(read_frame(false).rip, gva(code) + 2);
}

static void test_gp_emulation_kernel_only(void **state)
{
	uint64_t rsp = r->rsp;

	place_code((const uint8_t[]){0x0f, 0x09}, 2); /* wbinvd */
	assert_int_equal(trap(13, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, gva(code) + 2);
	assert_int_equal(r->rsp, rsp);

	set_trap(13, 0);
	enter_user_mode();
	place_code((const uint8_t[]){0x0f, 0x09}, 2);
	assert_int_equal(trap(13, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, H(13));
	assert_int_equal(read_frame(true).rip, gva(code));
}

static void test_ud_forced_emulation_and_bug(void **state)
{
	static const uint8_t fe[] = {0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2};

	place_code(fe, sizeof(fe));
	r->rax = 0x40000001;
	assert_int_equal(trap(6, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rax, (4 << 16) | 17);
	assert_int_equal(r->rip, gva(code) + 7);

	set_trap(6, 0);
	place_code((const uint8_t[]){0x0f, 0x0b}, 2); /* BUG() */
	uint64_t rsp = r->rsp;
	assert_int_equal(trap(6, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, H(6));
	assert_int_equal(r->rsp, (rsp & ~0xfULL) - 7 * 8); /* no error code */
	assert_int_equal(read_frame(false).rip, gva(code));
}

static void test_upcall_on_exit(void **state)
{
	struct vcpu *v = v0();
	uint64_t rip = r->rip;

	v->event_cb = H(0xe0);
	v->vi->evtchn_upcall_pending = 1;
	v->vi->evtchn_upcall_mask = 0;
	r->rax = __HYPERVISOR_xen_version; /* Linux's xen_force_evtchn_callback */
	r->rdi = XENVER_version;
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, H(0xe0));
	assert_int_equal(v->vi->evtchn_upcall_mask, 1);
	assert_int_equal(r->rax, (4 << 16) | 17);
	struct frame f = read_frame(false);
	assert_int_equal(f.rip, rip);
	assert_int_equal(f.cs, FRAME_CS_KERNEL);
	assert_true(f.rflags & X86_EFLAGS_IF);

	/* masked: no upcall */
	r->rip = rip;
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, rip);
}

static void test_host_event_interrupt_to_upcall(void **state)
{
	struct vcpu *v = v0();

	v->event_cb = H(0xe0);
	dom.host_pending[0] = 1ULL << FAKE_CONSOLE_PORT;
	dom.host_pending[XK_HP_ANY] = 1;
	assert_int_equal(trap(XK_VEC_EVENT, 0), FAKE_ESC_ENTER);
	assert_int_equal(fake.eoi_calls, 1);
	assert_true(evtchn_port_pending(FAKE_CONSOLE_PORT));
	assert_int_equal(r->rip, H(0xe0));
	assert_int_equal(fake_pc(0)->softirq, 0);
}

/* A host event the launcher raised without an MSI (the vCPU was running)
 * is delivered on the next return to the guest, here a hypercall's. */
static void test_host_event_without_interrupt(void **state)
{
	struct vcpu *v = v0();

	v->event_cb = H(0xe0);
	dom.host_pending[0] = 1ULL << FAKE_CONSOLE_PORT;
	dom.host_pending[XK_HP_ANY] = 1;
	r->rax = __HYPERVISOR_xen_version;
	r->rdi = XENVER_version;
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_int_equal(fake.eoi_calls, 0);
	assert_true(evtchn_port_pending(FAKE_CONSOLE_PORT));
	assert_int_equal(dom.host_pending[XK_HP_ANY], 0);
	assert_int_equal(r->rip, H(0xe0));
}

static void test_timer_interrupt_from_guest(void **state)
{
	struct evtchn_bind_virq b = {.virq = VIRQ_TIMER, .vcpu = 0};

	assert_int_equal(do_event_channel_op(fake_pc(0), EVTCHNOP_bind_virq, gva(&b)), 0);
	v0()->singleshot_tsc = 1; /* long passed */
	assert_int_equal(trap(XK_VEC_TIMER, 0), FAKE_ESC_ENTER);
	assert_true(evtchn_port_pending(b.port));
	assert_int_equal(v0()->singleshot_tsc, 0);
}

static void test_syscall_from_user(void **state)
{
	struct vcpu *v = v0();

	enter_user_mode();
	v->syscall_cb = H(0x50);
	v->syscall_mask_events = true;
	r->rcx = 0x401234; /* hardware: return RIP */
	r->r11 = 0x246 | X86_EFLAGS_DF;
	r->rflags = 0x246 | X86_EFLAGS_DF;
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_true(v->in_kernel);
	assert_int_equal(r->rip, H(0x50));
	assert_int_equal(v->vi->evtchn_upcall_mask, 1);
	assert_int_equal(r->rflags & X86_EFLAGS_DF, 0);
	assert_int_equal(r->rsp, kstack_top() - 7 * 8);
	struct frame f = read_frame(false);
	assert_int_equal(f.rcx, 0x401234);
	assert_int_equal(f.r11, 0x246 | X86_EFLAGS_DF);
	assert_int_equal(f.cs, 0x33);
	assert_int_equal(f.rsp, 0x7ffffffde000ULL);
	assert_int_equal(v->nr_hypercalls, 0); /* not a hypercall */
}

static void test_syscall_without_callback(void **state)
{
	set_trap(6, 0);
	enter_user_mode();
	r->rip = 0x401002; /* after the 2-byte syscall */
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rip, H(6));
	assert_int_equal(read_frame(false).rip, 0x401000);
}

static void put_iret_frame(uint64_t cs, uint64_t rflags, uint64_t flags)
{
	struct iret_context ic = {.rax = 0xaaaa,
				  .r11 = 0xbbbb,
				  .rcx = 0xcccc,
				  .flags = flags,
				  .rip = 0x402000,
				  .cs = cs,
				  .rflags = rflags,
				  .rsp = 0x7fffffff0000ULL,
				  .ss = 0x2b};
	r->rsp = kstack_top() - 0x200;
	memcpy((void *)(uintptr_t)r->rsp, &ic, sizeof(ic));
	r->rax = __HYPERVISOR_iret;
}

static void test_iret_to_user(void **state)
{
	struct vcpu *v = v0();

	v->cr3_user = 0x9000;
	v->gs_base_user = 0x7f0000020000ULL;
	v->vi->evtchn_upcall_mask = 1;
	put_iret_frame(0x33, X86_EFLAGS_IF | X86_EFLAGS_IOPL | X86_EFLAGS_NT | X86_EFLAGS_CF, 0);
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_false(v->in_kernel);
	assert_int_equal(r->rax, 0xaaaa);
	assert_int_equal(r->r11, 0xbbbb);
	assert_int_equal(r->rcx, 0xcccc);
	assert_int_equal(r->rip, 0x402000);
	assert_int_equal(r->rsp, 0x7fffffff0000ULL);
	/* arithmetic flags kept, IF forced, IOPL and NT never */
	assert_int_equal(r->rflags, X86_EFLAGS_IF | X86_EFLAGS_CF);
	assert_int_equal(v->vi->evtchn_upcall_mask, 0); /* frame IF set */
	assert_int_equal(r->cs, FAKE_HW_CS_USER);
	assert_int_equal(r->ss, FAKE_HW_SS_USER);
	assert_int_equal(fake.cr3, 0x9000);
	assert_int_equal(fake.gs_last, 0x7f0000020000ULL);
}

static void test_iret_variants(void **state)
{
	struct vcpu *v = v0();

	/* in_syscall: RCX/R11 as SYSRET leaves them */
	v->cr3_user = 0x9000;
	put_iret_frame(0x33, X86_EFLAGS_IF | X86_EFLAGS_ZF, VGCF_in_syscall);
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->rcx, 0x402000);
	assert_int_equal(r->r11, X86_EFLAGS_IF | X86_EFLAGS_ZF);

	/* back to kernel mode, events masked by the frame */
	setup(state);
	v->cr3_user = 0x9000;
	put_iret_frame(FRAME_CS_KERNEL, X86_EFLAGS_ZF, 0);
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_true(v->in_kernel);
	assert_int_equal(v->vi->evtchn_upcall_mask, 1);
	assert_int_equal(r->cs, FAKE_HW_CS_KERNEL);
	assert_true(r->rflags & X86_EFLAGS_IF); /* hardware IF stays on */

	/* 32-bit user code */
	setup(state);
	v->cr3_user = 0x9000;
	put_iret_frame(0x23, X86_EFLAGS_IF, 0);
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_ENTER);
	assert_int_equal(r->cs, FAKE_HW_CS_USER32);
}

static void test_iret_failures(void **state)
{
	put_iret_frame(0x33, X86_EFLAGS_IF, 0);
	v0()->cr3_user = 0;
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_CRASH);
	assert_non_null(strstr(fake.crash_msg, "user page table"));

	setup(state);
	r->rsp = FAKE_BAD_VA;
	r->rax = __HYPERVISOR_iret;
	assert_int_equal(trap(ENTRY_SYSCALL, 0), FAKE_ESC_CRASH);
	assert_non_null(strstr(fake.crash_msg, "iret"));
}

static bool canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* The iret frame is guest data.  A non-canonical RIP handed to the
 * platform's iretq faults inside the stub (entry.S has no fixup for it):
 * core must refuse it (crash the guest or give it a #GP) first. */
static void test_iret_noncanonical_rip(void **state)
{
	set_trap(13, 0);
	v0()->cr3_user = 0x9000;
	put_iret_frame(0x33, X86_EFLAGS_IF, 0);
	((struct iret_context *)(uintptr_t)r->rsp)->rip = 0x8000000000401000ULL;
	int rc = trap(ENTRY_SYSCALL, 0);
	if (rc == FAKE_ESC_ENTER)
		assert_true(canonical(r->rip));
	else
		assert_int_equal(rc, FAKE_ESC_CRASH);
}

static void test_unwritable_kernel_stack(void **state)
{
	set_trap(14, 0);
	r->rsp = FAKE_BAD_VA + 0x100;
	assert_int_equal(trap(14, 0), FAKE_ESC_CRASH);
	assert_non_null(strstr(fake.crash_msg, "exception frame"));
	/* a kernel stack pointing into the stub's hole is refused as well */
	setup(state);
	set_trap(14, 0);
	r->rsp = XK_STUB_VA + 0x1000;
	assert_int_equal(trap(14, 0), FAKE_ESC_CRASH);
}

static void test_stub_mode_traps(void **state)
{
	fake.stub_mode = true;
	assert_int_equal(trap(XK_VEC_TIMER, 0), FAKE_ESC_NONE);
	assert_true(fake_pc(0)->softirq & SOFTIRQ_TIMER);
	assert_int_equal(fake.eoi_calls, 1);
	assert_int_equal(fake.interrupted_calls, 1);
	assert_int_equal(fake.enter_calls, 0);
	assert_int_equal(trap(XK_VEC_EVENT, 0), FAKE_ESC_NONE);
	assert_true(fake_pc(0)->softirq & SOFTIRQ_EVENT);
	assert_int_equal(trap(XK_VEC_SPURIOUS, 0), FAKE_ESC_NONE);
	assert_int_equal(fake.eoi_calls, 2);	     /* no EOI for spurious */
	assert_int_equal(trap(2, 0), FAKE_ESC_NONE); /* NMI */
	assert_int_equal(trap(14, 0), FAKE_ESC_CRASH);
	assert_non_null(strstr(fake.crash_msg, "fault inside the stub"));
}

static void test_toggle_guest_mode(void **state)
{
	struct vcpu *v = v0();

	v->gs_base_kernel = 0xffff888000030000ULL;
	v->gs_base_user = 0x7f0000030000ULL;
	v->cr3_user = 0x9000;
	toggle_guest_mode(fake_pc(0));
	assert_false(v->in_kernel);
	assert_int_equal(fake.gs_last, 0x7f0000030000ULL);
	assert_int_equal(fake.cr3, 0x9000);
	toggle_guest_mode(fake_pc(0));
	assert_true(v->in_kernel);
	assert_int_equal(fake.gs_last, 0xffff888000030000ULL);
	assert_int_equal(fake.cr3, 0x1000);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_hypercall_entry_and_exit, setup),
    cmocka_unit_test_setup(test_pf_from_kernel, setup),
    cmocka_unit_test_setup(test_trap_masking_events, setup),
    cmocka_unit_test_setup(test_pf_from_user, setup),
    cmocka_unit_test_setup(test_pf_from_user_sets_u, setup),
    cmocka_unit_test_setup(test_unhandled_exception_crashes, setup),
    cmocka_unit_test_setup(test_int80_from_user, setup),
    cmocka_unit_test_setup(test_int_dpl_refused, setup),
    cmocka_unit_test_setup(test_int_from_kernel_ring1, setup),
    cmocka_unit_test_setup(test_gp_emulation_kernel_only, setup),
    cmocka_unit_test_setup(test_ud_forced_emulation_and_bug, setup),
    cmocka_unit_test_setup(test_upcall_on_exit, setup),
    cmocka_unit_test_setup(test_host_event_without_interrupt, setup),
    cmocka_unit_test_setup(test_host_event_interrupt_to_upcall, setup),
    cmocka_unit_test_setup(test_timer_interrupt_from_guest, setup),
    cmocka_unit_test_setup(test_syscall_from_user, setup),
    cmocka_unit_test_setup(test_syscall_without_callback, setup),
    cmocka_unit_test_setup(test_iret_to_user, setup),
    cmocka_unit_test_setup(test_iret_variants, setup),
    cmocka_unit_test_setup(test_iret_failures, setup),
    cmocka_unit_test_setup(test_unwritable_kernel_stack, setup),
    cmocka_unit_test_setup(test_stub_mode_traps, setup),
    cmocka_unit_test_setup(test_toggle_guest_mode, setup),
};

static const struct CMUnitTest bugs[] = {
    cmocka_unit_test_setup(test_iret_noncanonical_rip, setup),
};

CORE_TEST_MAIN("stubcore-trap", tests, bugs)
