/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest user mode (pv-abi.md 3.1, 3.3, 3.4): NEW_USER_BASEPTR, stack_switch,
 * HYPERVISOR_iret to CS 0xe033 (RPL 3 = user), then from user mode:
 * `syscall` -> syscall callback, `rdmsr` -> #GP(0) with a user frame (MSR
 * emulation is for the kernel only), `int $0x80` -> DPL-3 trap-table entry,
 * and a last `syscall` whose handler goes back to the kernel context
 * without returning to user mode.  More privileged instructions from user
 * mode: see user-privop.  On hw also which ring the kernel runs in and what
 * that means for a page without U read from user mode: a #PF in ring 1
 * (xenkvm's default), readable in ring 3 (as under Xen, which forces U).
 */
#include "xkg.h"

const char test_title[] = "user-mode: iret to user, syscall, #GP from user, int $0x80";

#define USER_MAGIC_SC1	 0x1111
#define USER_MAGIC_INT80 0x2222
#define USER_MAGIC_EXIT	 0x3333

static char user_stack[8192] __aligned(4096);
char user_pvm; /* read by the user code */
static char kernel_stack[16384] __aligned(4096);
/* Mapped without U after the image got it. */
uint32_t kernel_only_page[1024] __aligned(4096) = {0x6b6b6b6b};
uint32_t user_kread_val; /* what the user read there (0x4444: faulted) */

/* User code.  RSP is user_stack_top on entry and stays there. */
/* clang-format off */
extern const char user_entry[], user_after_sc1[], user_rdmsr[], user_after_rdmsr[],
	user_after_int80[], user_kread[], user_after_kread[], user_after_exit[];
asm(".pushsection .text\n"
    "user_entry:\n\t"
    "pushq $0x5a5a\n\t"          /* touch the user stack */
    "popq %rax\n\t"
    "mov $0x1111, %edi\n\t"
    "std\n\t"                    /* the callback must run with DF clear */
    "syscall\n"
    "user_after_sc1:\n\t"
    "cld\n\t"
    "cmpb $0, user_pvm(%rip)\n\t"  /* pvm: skip what KVM, not the stub, handles */
    "jne user_after_int80\n\t"
    "mov $0x1b, %ecx\n"           /* APIC_BASE: emulated for the kernel only */
    "user_rdmsr:\n\t"
    "rdmsr\n"
    "user_after_rdmsr:\n\t"
    "mov $0x2222, %edi\n\t"
    "int $0x80\n"
    "user_after_int80:\n\t"
    "mov $0x4444, %eax\n\t"
    "cmpb $0, user_pvm(%rip)\n\t"
    "jne user_after_kread\n"
    "user_kread:\n\t"
    "movl kernel_only_page(%rip), %eax\n"
    "user_after_kread:\n\t"
    "movl %eax, user_kread_val(%rip)\n\t"
    "mov $0x3333, %edi\n\t"
    "syscall\n"
    "user_after_exit:\n\t"
    "ud2\n"
    ".popsection");
/* clang-format on */

static struct {
	int syscalls, int80s, gps;
	uint64_t sc1_rcx, sc1_rip, sc1_cs, sc1_rsp, sc1_entry_rflags, sc1_rflags;
	uint64_t int80_rip, int80_cs, int80_rdi;
	uint64_t gp_rip, gp_cs, gp_ec;
	int pfs;
	uint64_t pf_ec, pf_cr2;
} seen;

static struct shared_info *sh;

static uint64_t user_stack_top(void)
{
	return (uint64_t)(user_stack + sizeof(user_stack));
}

static bool on_syscall(struct xkg_regs *r)
{
	seen.syscalls++;
	if (r->rdi == USER_MAGIC_SC1) {
		seen.sc1_rcx = r->rcx;
		seen.sc1_rip = r->rip;
		seen.sc1_cs = r->cs;
		seen.sc1_rsp = r->rsp;
		seen.sc1_entry_rflags = r->entry_rflags;
		seen.sc1_rflags = r->rflags;
		return true; /* back to user at the instruction after syscall */
	}
	if (r->rdi == USER_MAGIC_EXIT)
		xkg_exit_user(USER_MAGIC_EXIT);
	xkg_fail("syscall from user with unexpected rdi %#lx at %#lx", r->rdi, r->rip);
	xkg_exit_user(-1);
}

static bool on_int80(struct xkg_regs *r)
{
	seen.int80s++;
	seen.int80_rip = r->rip;
	seen.int80_cs = r->cs;
	seen.int80_rdi = r->rdi;
	return true;
}

static bool on_gp(struct xkg_regs *r)
{
	if ((r->cs & 3) != 3)
		return false; /* kernel #GP: not ours */
	seen.gps++;
	seen.gp_rip = r->rip;
	seen.gp_cs = r->cs;
	seen.gp_ec = r->error_code;
	if (r->rip == (uint64_t)user_rdmsr)
		r->rip = (uint64_t)user_after_rdmsr;
	else
		xkg_exit_user(-2);
	return true;
}

static bool on_pf(struct xkg_regs *r)
{
	if ((r->cs & 3) != 3 || r->rip != (uint64_t)user_kread)
		return false;
	seen.pfs++;
	seen.pf_ec = r->error_code;
	seen.pf_cr2 = sh ? sh->vcpu_info[0].arch.cr2 : 0;
	r->rip = (uint64_t)user_after_kread;
	return true;
}

void test_main(void)
{
	struct mmuext_op op = {.cmd = MMUEXT_NEW_USER_BASEPTR};
	unsigned int done = 0;
	uint64_t l4_mfn;
	long rc = xkg_image_user_accessible();

	if (rc) {
		xkg_fail("giving the image the U bit: %ld", rc);
		return;
	}
	rc = xkg_remap_own(kernel_only_page, false);
	if (rc) {
		xkg_fail("mapping a page without U: %ld", rc);
		return;
	}
	rc = xkg_setup_traps();
	if (rc) {
		xkg_fail("set_trap_table = %ld", rc);
		return;
	}
	rc = xkg_setup_callbacks();
	if (rc) {
		xkg_fail("CALLBACKOP_register = %ld", rc);
		return;
	}
	/* User mode runs with events enabled (IF=1): be ready for a
	 * spurious upcall if shared_info can be mapped. */
	sh = xkg_map_shared_info(&rc);
	if (sh)
		xkg_evtchn_init(&sh->vcpu_info[0], sh);
	else
		printf("user-mode: no shared_info (%ld); an upcall would be fatal\n", rc);
	xkg_set_handler(XKG_VEC_SYSCALL, on_syscall);
	xkg_set_handler(0x80, on_int80);
	xkg_set_handler(13, on_gp);
	xkg_set_handler(14, on_pf);

	/* The user page table is the kernel's own L4 (all our pages are
	 * accessible from user mode); its MFN comes through the p2m. */
	l4_mfn = xkg_virt_to_mfn((void *)xkg_start_info->pt_base);
	op.arg1.mfn = l4_mfn;
	rc = HYPERVISOR_mmuext_op(&op, 1, &done, DOMID_SELF);
	printf("user-mode: NEW_USER_BASEPTR(mfn %#lx) = %ld, done %u\n", l4_mfn, rc, done);
	if (rc) {
		xkg_fail("MMUEXT_NEW_USER_BASEPTR = %ld", rc);
		return;
	}
	CHECK_EQ(done, 1, "mmuext_op done count");

	/* Where the hypervisor puts frames on the way from user mode. */
	rc = HYPERVISOR_stack_switch(FLAT_KERNEL_SS,
				     (uint64_t)(kernel_stack + sizeof(kernel_stack)));
	if (rc) {
		xkg_fail("stack_switch = %ld", rc);
		return;
	}

	user_pvm = xkg_on_pvm();
	printf("user-mode: entering user mode at %p\n", user_entry);
	rc = xkg_enter_user((uint64_t)user_entry, user_stack_top());
	printf("user-mode: back in kernel mode, result %#lx\n", rc);
	CHECK_EQ(rc, USER_MAGIC_EXIT, "user-mode exit value");

	CHECK_EQ(seen.syscalls, 2, "syscall callbacks");
	CHECK_EQ(seen.sc1_rip, (uint64_t)user_after_sc1, "syscall frame rip");
	CHECK_EQ(seen.sc1_rcx, (uint64_t)user_after_sc1, "syscall frame rcx (= user rip)");
	CHECK((seen.sc1_cs & 3) == 3, "syscall frame cs %#lx is not a user selector", seen.sc1_cs);
	CHECK_EQ(seen.sc1_rsp, user_stack_top(), "syscall frame rsp");
	CHECK(seen.sc1_rflags & 0x400, "syscall frame rflags %#lx lost the user's DF",
	      seen.sc1_rflags);
	CHECK(!(seen.sc1_entry_rflags & 0x400), "syscall callback entered with DF set (%#lx)",
	      seen.sc1_entry_rflags);

	if (user_pvm) {
		printf("user-mode: rdmsr and int $0x80 from user mode not checked on pvm\n");
		return;
	}
	CHECK_EQ(seen.int80s, 1, "int $0x80 deliveries");
	CHECK_EQ(seen.int80_rip, (uint64_t)user_after_int80, "int $0x80 frame rip");
	CHECK((seen.int80_cs & 3) == 3, "int $0x80 frame cs %#lx is not a user selector",
	      seen.int80_cs);
	CHECK_EQ(seen.int80_rdi, USER_MAGIC_INT80, "rdi seen by the int $0x80 handler");

	CHECK_EQ(seen.gps, 1, "#GP from user mode");
	CHECK_EQ(seen.gp_rip, (uint64_t)user_rdmsr, "#GP (rdmsr) frame rip");
	CHECK_EQ(seen.gp_ec, 0, "#GP (rdmsr) error code");
	CHECK((seen.gp_cs & 3) == 3, "#GP frame cs %#lx is not a user selector", seen.gp_cs);

	unsigned int ring = xkg_kernel_ring();
	printf("user-mode: kernel in ring %u; user read of a page without U: %s (%#x)\n", ring,
	       seen.pfs ? "#PF" : "read", user_kread_val);
	CHECK_EQ(ring, xkg_expected_kernel_ring(), "the guest kernel's ring (%%cs RPL)");
	if (ring == 1) {
		CHECK_EQ(seen.pfs, 1, "#PF for a user read of a page without U (ring-1 kernel)");
		CHECK_EQ(seen.pf_ec, 5, "#PF error code (present, read, user)");
		if (sh)
			CHECK_EQ(seen.pf_cr2, (uint64_t)kernel_only_page, "#PF address");
		CHECK_EQ(user_kread_val, 0x4444, "value after the faulting read");
	} else {
		CHECK_EQ(seen.pfs, 0, "#PF for a user read of a page without U (ring-3 kernel)");
		CHECK_EQ(user_kread_val, 0x6b6b6b6b, "value read from the page without U");
	}
}
