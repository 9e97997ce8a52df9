/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Privileged instructions from guest user mode (pv-abi.md 1.10: they fault
 * #GP(0) at CPL3 and are emulated for the guest kernel only): rdmsr, wrmsr,
 * mov from CR0/CR3, wbinvd, in, out, cli, sti, swapgs and hlt must each
 * reach the guest kernel as #GP(0) with a user-mode frame at that
 * instruction.  The handler prints each one as it arrives, so a hang points
 * at the next instruction in the list.
 */
#include "xkg.h"

const char test_title[] = "user-privop: privileged instructions in user mode give #GP(0)";

static char user_stack[8192] __aligned(4096);
static char kernel_stack[16384] __aligned(4096);

/* clang-format off */
#define INSNS(X)                                                                               \
	X(rdmsr, "mov $0x10, %ecx; 1: rdmsr")                                                   \
	X(wrmsr, "mov $0xc0000102, %ecx; xor %eax, %eax; xor %edx, %edx; 1: wrmsr")             \
	X(mov_cr0, "1: mov %cr0, %rax")                                                         \
	X(mov_cr3, "1: mov %cr3, %rax")                                                         \
	X(wbinvd, "1: wbinvd")                                                                  \
	X(inb, "1: inb $0x71, %al")                                                             \
	X(outb, "1: outb %al, $0x80")                                                           \
	X(cli, "1: cli")                                                                        \
	X(sti, "1: sti")                                                                        \
	X(swapgs, "1: swapgs")                                                                  \
	X(hlt, "1: hlt")

/* User code: each instruction, labelled at its start and end. */
#define ASM_INSN(name, code) code "\n" "up_" #name "_start = 1b\n" "up_" #name "_end:\n\t"
asm(".pushsection .text\n"
    "privop_user_entry:\n\t"
    INSNS(ASM_INSN)
    "mov $0x600d, %edi\n\t"
    "syscall\n\t"
    "ud2\n"
    ".popsection");
/* clang-format on */

#define DECL_INSN(name, code) extern const char up_##name##_start[], up_##name##_end[];
INSNS(DECL_INSN)
extern const char privop_user_entry[];

struct insn {
	const char *name;
	const char *start, *end;
	int faults;
	uint64_t vector, error_code, cs;
};

/* clang-format off */
#define TABLE_INSN(name, code) { #name, up_##name##_start, up_##name##_end, 0, 0, 0, 0 },
static struct insn insns[] = { INSNS(TABLE_INSN) };
/* clang-format on */

static bool on_fault(struct xkg_regs *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(insns); i++) {
		struct insn *in = &insns[i];

		if (r->rip != (uint64_t)in->start)
			continue;
		in->faults++;
		in->vector = r->vector;
		in->error_code = r->error_code;
		in->cs = r->cs;
		printf("user-privop: %s -> vector %lu ec %#lx cs %#lx\n", in->name, r->vector,
		       r->error_code, r->cs);
		r->rip = (uint64_t)in->end;
		return true;
	}
	if ((r->cs & 3) == 3) {
		xkg_fail("unexpected vector %lu from user mode at %#lx", r->vector, r->rip);
		xkg_exit_user(-1);
	}
	return false;
}

static bool on_syscall(struct xkg_regs *r)
{
	xkg_exit_user((long)r->rdi);
}

void test_main(void)
{
	struct mmuext_op op = {.cmd = MMUEXT_NEW_USER_BASEPTR};
	struct shared_info *sh;
	unsigned int done = 0;
	long rc = xkg_image_user_accessible();

	if (rc) {
		xkg_fail("giving the image the U bit: %ld", rc);
		return;
	}
	if (xkg_on_pvm()) {
		xkg_skip("on pvm the guest's privileged instructions run in KVM, not the stub "
			 "(docs/architecture.md)");
		return;
	}

	rc = xkg_setup_traps();
	if (!rc)
		rc = xkg_setup_callbacks();
	if (rc) {
		xkg_fail("trap table / callbacks = %ld", rc);
		return;
	}
	sh = xkg_map_shared_info(&rc);
	if (sh)
		xkg_evtchn_init(&sh->vcpu_info[0], sh);
	for (unsigned int v = 0; v < 32; v++)
		xkg_set_handler(v, on_fault);
	xkg_set_handler(XKG_VEC_SYSCALL, on_syscall);

	op.arg1.mfn = xkg_virt_to_mfn((void *)xkg_start_info->pt_base);
	rc = HYPERVISOR_mmuext_op(&op, 1, &done, DOMID_SELF);
	if (rc) {
		xkg_fail("MMUEXT_NEW_USER_BASEPTR = %ld", rc);
		return;
	}
	rc = HYPERVISOR_stack_switch(FLAT_KERNEL_SS,
				     (uint64_t)(kernel_stack + sizeof(kernel_stack)));
	if (rc) {
		xkg_fail("stack_switch = %ld", rc);
		return;
	}

	printf("user-privop: entering user mode\n");
	rc = xkg_enter_user((uint64_t)privop_user_entry,
			    (uint64_t)(user_stack + sizeof(user_stack)));
	CHECK_EQ(rc, 0x600d, "user-mode exit value");

	for (size_t i = 0; i < ARRAY_SIZE(insns); i++) {
		const struct insn *in = &insns[i];

		if (in->faults != 1) {
			xkg_fail("%s from user mode: %d faults, want one #GP(0)", in->name,
				 in->faults);
			continue;
		}
		CHECK(in->vector == 13 && in->error_code == 0,
		      "%s from user mode: vector %lu ec %#lx, want #GP(0)", in->name, in->vector,
		      in->error_code);
		CHECK((in->cs & 3) == 3, "%s: frame cs %#lx is not a user selector", in->name,
		      in->cs);
	}
}
