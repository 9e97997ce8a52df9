/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Trap, interrupt and SYSCALL entry shared by the hw and pvm platforms.
 * Every entry from the guest ends with a struct cpu_regs at the top of the
 * vCPU's stub stack; stub_trap() in core/trap.c takes it from there.
 */
#define AREA_MASK   (~(0x10000 - 1))
#define TRAMP_OFF   0x3000 /* AREA_TRAMP_OFF in stub.h */
#define PCPU_OFF_SCRATCH 0
#define PCPU_OFF_STACKTOP 8
#define PCPU_OFF_TARGET 16
#define ENTRY_SYSCALL 0x100

	.section .text.entry, "ax"
	.code64
	.globl _start
/* Launcher: RDI = vcpu id, RSI = boot info VA, RSP = top of the vCPU's
 * stack.  The platform's early hook runs first (on PVM it must escape the
 * instruction emulator before anything else). */
_start:
	sub	$(22 * 8), %rsp		/* the guest frame slot (struct cpu_regs) */
	mov	%rdi, %r12
	mov	%rsi, %r13
	call	plat_early_entry
	mov	%r12, %rdi
	mov	%r13, %rsi
	call	stub_start
	ud2

	.text
/* IDT entry points: vector v at idt_stubs + 16*v. */
	.balign 16
	.globl idt_stubs
idt_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21)
	pushq	$vec
	.else
	pushq	$0
	pushq	$vec
	.endif
	jmp	common_trap
	.set vec, vec + 1
	.endr

/* Vectors with a hardware error code land here with only the vector pushed
 * above the error code; normalise by swapping when needed. */
common_trap:
	/* stack: vector, [err|0], rip, cs, rflags, rsp, ss */
	cld
	push	%rdi
	push	%rsi
	push	%rdx
	push	%rcx
	push	%rax
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	call	stub_trap
	/* stub_trap returns only for traps taken inside the stub */
	mov	%rsp, %rdi
	.globl restore_and_iret
restore_and_iret:
	mov	%rdi, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rax
	pop	%rcx
	pop	%rdx
	pop	%rsi
	pop	%rdi
	add	$16, %rsp
	.globl iret_to_guest
iret_to_guest:
	iretq

/* SYSCALL from the guest (kernel: hypercall; user: guest system call).  The
 * per-vCPU trampoline has saved the guest %rsp in pcpu and switched to the
 * stub stack; RCX/R11 hold the guest RIP/RFLAGS. */
	.globl syscall_entry
syscall_entry:
	sub	$8, %rsp		/* ss: set by core from the guest mode */
	push	%rax			/* becomes the rsp slot */
	mov	%rsp, %rax
	and	$AREA_MASK, %rax
	mov	PCPU_OFF_SCRATCH(%rax), %rax
	xchg	%rax, (%rsp)
	push	%r11			/* rflags */
	pushq	$0			/* cs: set by core */
	push	%rcx			/* rip */
	pushq	$0			/* error code */
	pushq	$ENTRY_SYSCALL
	jmp	common_trap

/* Template of the per-vCPU SYSCALL trampoline, copied to the page that
 * sits TRAMP_OFF above the vCPU's struct pcpu; RIP-relative operands then
 * address that vCPU's pcpu.  LSTAR points at the copy. */
	.balign 4096
	.globl syscall_tramp_template, syscall_tramp_end
syscall_tramp_template:
	mov	%rsp, syscall_tramp_template - TRAMP_OFF + PCPU_OFF_SCRATCH(%rip)
	mov	syscall_tramp_template - TRAMP_OFF + PCPU_OFF_STACKTOP(%rip), %rsp
	jmp	*syscall_tramp_template - TRAMP_OFF + PCPU_OFF_TARGET(%rip)
syscall_tramp_end:

/* size_t raw_copy(void *dst, const void *src, size_t len): bytes NOT copied.
 * A fault on either side jumps to the fixup (see fixup_exception()). */
	.globl raw_copy
raw_copy:
	mov	%rdx, %rcx
1:	rep movsb
	mov	%rcx, %rax
	ret
2:	mov	%rcx, %rax
	ret
	.section .ex_table, "a"
	.balign 8
	.quad 1b, 2b
	.previous

	.section .note.GNU-stack, "", @progbits
