/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exception delivery through the trap table (pv-abi.md 3.1): #UD, #GP(0),
 * #BP, #DE, `int n` against the trap-table DPL, and the shape of the
 * kernel-mode bounce frame (vector, error code, RIP, RPL-cleared CS with the
 * saved upcall mask, RFLAGS.IF = !mask, RSP).  Each fault resumes after
 * the instruction via HYPERVISOR_iret; all GPRs must survive.
 */
#include "xkg.h"

const char test_title[] = "exceptions: #UD #GP #BP #DE int-n and the bounce frame";

struct expect {
	const char *what;
	uint64_t vector, error_code, rip, rsp;
};

static void check_frame(const struct expect *e)
{
	const struct xkg_fault *f = &xkg_last_fault;

	if (!f->valid) {
		xkg_fail("%s: no exception recorded", e->what);
		return;
	}
	printf("%s: vector %lu ec %#lx rip %#lx cs %#lx rflags %#lx rsp %#lx\n", e->what, f->vector,
	       f->error_code, f->rip, f->cs, f->rflags, f->rsp);
	CHECK_EQ(f->vector, e->vector, e->what);
	CHECK_EQ(f->error_code, e->error_code, e->what);
	CHECK_EQ(f->rip, e->rip, e->what);
	CHECK_EQ(f->rsp, e->rsp, e->what);
	/* Kernel-mode frame: RPL cleared, 0xe030 (FLAT_KERNEL_CS64 & ~3). */
	CHECK((f->cs & 0xffff) == (FLAT_KERNEL_CS64 & ~3),
	      "%s: frame cs %#lx, want selector 0xe030", e->what, f->cs);
	/* Events were masked (start of day): saved mask 1 and IF clear. */
	CHECK(((f->cs >> 32) & 0xff) == 1, "%s: saved upcall mask in cs %#lx is not 1", e->what,
	      f->cs);
	CHECK(!(f->rflags & 0x200), "%s: frame rflags %#lx has IF with events masked", e->what,
	      f->rflags);
}

static void test_ud(void)
{
	struct expect e = {.what = "#UD (ud2)", .vector = 6};

	xkg_fault_clear();
	asm volatile("lea 1f(%%rip), %0\n\t"
		     "mov %%rsp, %1\n"
		     "1: ud2\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "=&r"(e.rip), "=&r"(e.rsp)::"memory");
	check_frame(&e);

	/* ud2 + "xe" + 'o' is not the forced-emulation prefix. */
	e.what = "#UD (ud2 'xeo')";
	xkg_fault_clear();
	asm volatile("lea 1f(%%rip), %0\n\t"
		     "mov %%rsp, %1\n"
		     "1: .byte 0x0f, 0x0b, 0x78, 0x65, 0x6f\n\tjmp 2f\n\t"
		     "nop\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "=&r"(e.rip), "=&r"(e.rsp)::"memory");
	check_frame(&e);

	/* The prefix followed by something other than cpuid is a plain #UD. */
	e.what = "#UD (prefix + nop)";
	xkg_fault_clear();
	asm volatile("lea 1f(%%rip), %0\n\t"
		     "mov %%rsp, %1\n"
		     "1: .byte 0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x90\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "=&r"(e.rip), "=&r"(e.rsp)::"memory");
	check_frame(&e);
}

static void test_gp(void)
{
	struct expect e = {.what = "#GP (non-canonical load)", .vector = 13};
	uint64_t v = XKG_NONCANONICAL_VA;

	xkg_fault_clear();
	asm volatile("lea 1f(%%rip), %1\n\t"
		     "mov %%rsp, %2\n"
		     "1: mov (%0), %0\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "+r"(v), "=&r"(e.rip), "=&r"(e.rsp)::"memory");
	check_frame(&e);

	/* An MSR no CPU has: rdmsr must fault #GP(0), not return data. */
	e.what = "#GP (rdmsr 0x1337)";
	xkg_fault_clear();
	asm volatile("lea 1f(%%rip), %0\n\t"
		     "mov %%rsp, %1\n"
		     "1: rdmsr\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "=&r"(e.rip), "=&r"(e.rsp)
		     : "c"(0x1337)
		     : "rax", "rdx", "memory");
	check_frame(&e);
}

static void test_bp(void)
{
	struct expect e = {.what = "#BP (int3)", .vector = 3};

	/* A trap: the frame's RIP is after the instruction. */
	xkg_fault_clear();
	asm volatile("lea 2f(%%rip), %0\n\t"
		     "mov %%rsp, %1\n"
		     "int3\n2:\n\t" XKG_EXTABLE(2b, 2b)
		     : "=&r"(e.rip), "=&r"(e.rsp)::"memory");
	check_frame(&e);
}

static void test_de(void)
{
	struct expect e = {.what = "#DE (div by 0)", .vector = 0};
	uint64_t a = 1, d = 0;

	xkg_fault_clear();
	asm volatile("lea 1f(%%rip), %2\n\t"
		     "mov %%rsp, %3\n"
		     "1: div %4\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "+a"(a), "+d"(d), "=&r"(e.rip), "=&r"(e.rsp)
		     : "r"(0UL)
		     : "memory");
	check_frame(&e);
}

static void test_softint(void)
{
	struct expect e = {.what = "int $0x21 (DPL 1)", .vector = 0x21};
	long rc;

	/* DPL 1 admits `int n` from guest kernel mode: delivered as vector
	 * 0x21 with RIP after the instruction, no error code. */
	rc = xkg_set_trap(0x21, 1 | 4);
	CHECK_EQ(rc, 0, "set_trap_table(0x21, DPL 1)");
	xkg_fault_clear();
	asm volatile("lea 2f(%%rip), %0\n\t"
		     "mov %%rsp, %1\n"
		     "int $0x21\n2:\n\t" XKG_EXTABLE(2b, 2b)
		     : "=&r"(e.rip), "=&r"(e.rsp)::"memory");
	check_frame(&e);

	/* DPL 0: #GP with the IDT error code (vector << 3 | 2) at the int. */
	rc = xkg_set_trap(0x20, 0 | 4);
	CHECK_EQ(rc, 0, "set_trap_table(0x20, DPL 0)");
	e = (struct expect){
	    .what = "int $0x20 (DPL 0)", .vector = 13, .error_code = (0x20 << 3) | 2};
	xkg_fault_clear();
	asm volatile("lea 1f(%%rip), %0\n\t"
		     "mov %%rsp, %1\n"
		     "1: int $0x20\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "=&r"(e.rip), "=&r"(e.rsp)::"memory");
	check_frame(&e);
}

/*
 * Load a pattern into every GPR but RSP, take #UD, resume, store them all.
 * out[] order: rax rbx rcx rdx rsi rdi rbp r8..r15.
 */
/* clang-format off */
extern void exc_roundtrip(uint64_t out[15]);
asm(".pushsection .text\n"
    "exc_roundtrip:\n\t"
    "push %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "push %rdi\n\t"
    "movabs $0xa0a0a0a0a0a0a0a0, %rax\n\t"
    "movabs $0xa1a1a1a1a1a1a1a1, %rbx\n\t"
    "movabs $0xa2a2a2a2a2a2a2a2, %rcx\n\t"
    "movabs $0xa3a3a3a3a3a3a3a3, %rdx\n\t"
    "movabs $0xa4a4a4a4a4a4a4a4, %rsi\n\t"
    "movabs $0xa5a5a5a5a5a5a5a5, %rdi\n\t"
    "movabs $0xa6a6a6a6a6a6a6a6, %rbp\n\t"
    "movabs $0xa8a8a8a8a8a8a8a8, %r8\n\t"
    "movabs $0xa9a9a9a9a9a9a9a9, %r9\n\t"
    "movabs $0xaaaaaaaaaaaaaaaa, %r10\n\t"
    "movabs $0xabababababababab, %r11\n\t"
    "movabs $0xacacacacacacacac, %r12\n\t"
    "movabs $0xadadadadadadadad, %r13\n\t"
    "movabs $0xaeaeaeaeaeaeaeae, %r14\n\t"
    "movabs $0xafafafafafafafaf, %r15\n"
    "1: ud2\n"
    "2:\n\t"
    XKG_EXTABLE(1b, 2b)
    "push %rdi\n\t"
    "mov 8(%rsp), %rdi\n\t"
    "mov %rax, 0(%rdi)\n\tmov %rbx, 8(%rdi)\n\tmov %rcx, 16(%rdi)\n\t"
    "mov %rdx, 24(%rdi)\n\tmov %rsi, 32(%rdi)\n\tpop %rax\n\tmov %rax, 40(%rdi)\n\t"
    "mov %rbp, 48(%rdi)\n\tmov %r8, 56(%rdi)\n\tmov %r9, 64(%rdi)\n\t"
    "mov %r10, 72(%rdi)\n\tmov %r11, 80(%rdi)\n\tmov %r12, 88(%rdi)\n\t"
    "mov %r13, 96(%rdi)\n\tmov %r14, 104(%rdi)\n\tmov %r15, 112(%rdi)\n\t"
    "pop %rdi\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\t"
    "ret\n"
    ".popsection");
/* clang-format on */

static void test_registers(void)
{
	static const char *const names[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
					    "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
	static const uint64_t want[] = {
	    0xa0a0a0a0a0a0a0a0UL, 0xa1a1a1a1a1a1a1a1UL, 0xa2a2a2a2a2a2a2a2UL, 0xa3a3a3a3a3a3a3a3UL,
	    0xa4a4a4a4a4a4a4a4UL, 0xa5a5a5a5a5a5a5a5UL, 0xa6a6a6a6a6a6a6a6UL, 0xa8a8a8a8a8a8a8a8UL,
	    0xa9a9a9a9a9a9a9a9UL, 0xaaaaaaaaaaaaaaaaUL, 0xababababababababUL, 0xacacacacacacacacUL,
	    0xadadadadadadadadUL, 0xaeaeaeaeaeaeaeaeUL, 0xafafafafafafafafUL,
	};
	uint64_t out[15];

	xkg_fault_clear();
	exc_roundtrip(out);
	CHECK(xkg_last_fault.valid && xkg_last_fault.vector == 6,
	      "register round trip: no #UD recorded");
	for (size_t i = 0; i < ARRAY_SIZE(out); i++)
		CHECK(out[i] == want[i], "%s = %#lx after an exception round trip, want %#lx",
		      names[i], out[i], want[i]);
	printf("registers preserved across #UD + iret\n");
}

void test_main(void)
{
	long rc = xkg_setup_traps();

	if (rc) {
		xkg_fail("set_trap_table = %ld", rc);
		return;
	}
	printf("exceptions: trap table installed\n");
	test_ud();
	test_gp();
	test_bp();
	test_de();
	test_registers();
	if (xkg_on_pvm())
		printf("exceptions: int $n from kernel mode not checked on pvm (KVM's emulator "
		       "fails on it there)\n");
	else
		test_softint();
}
