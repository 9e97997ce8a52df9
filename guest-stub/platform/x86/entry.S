/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Trap, interrupt and SYSCALL entry shared by the hw and pvm platforms.
 *
 * Each vCPU runs its own copy of the "entry block" below (placed at
 * AREA_ENTRY_OFF in its area): RIP-relative operands in the copy reach that
 * vCPU's struct pcpu, so no register, GS base or swapgs is needed to find
 * it, whatever stack the CPU delivered the trap on.
 *
 * Every entry from the guest ends with a struct cpu_regs at the top of the
 * vCPU's stub stack.  On hw the CPU's TSS.rsp0 switch already puts the frame
 * there.  On PVM the guest kernel (at kernel-half addresses) runs as PVM
 * "supervisor": its traps arrive on the guest's own stack with no switch,
 * so the prologue moves the frame.  Traps that interrupted the stub itself
 * stay where they are.
 */
#define ENTRY_BLOCK_OFF 0x3000 /* AREA_ENTRY_OFF in stub.h */
#define PCPU_SCRATCH    0
#define PCPU_STACKTOP   8
#define PCPU_TRAP       16     /* stub_trap() */
#define PCPU_VIF        0x2000 /* AREA_VIF_OFF */
#define ENTRY_SYSCALL   0x100
#define ENTRY_SYSCALL32 0x102
#define VEC_RETRY       0x101
#define STUB_SLOT       0x1ffff06 /* XK_STUB_VA >> 39 */
#define FRAME_WORDS     7         /* vector, error, rip, cs, rflags, rsp, ss */

/* Restore the GPRs of a struct cpu_regs at %rsp and drop vector/error. */
.macro POP_FRAME
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
.endm

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

/* ---- the per-vCPU entry block template ---- */
	.text
	.balign 4096
	.globl entry_block, entry_block_end
entry_block:
#define PCPU(off) entry_block - ENTRY_BLOCK_OFF + (off)(%rip)

/* SYSCALL (LSTAR/CSTAR): RCX/R11 hold the guest RIP/RFLAGS. */
	.globl eb_syscall
eb_syscall:
	mov	%rsp, PCPU(PCPU_SCRATCH)
	mov	PCPU(PCPU_STACKTOP), %rsp
	sub	$8, %rsp		/* ss: set by core from the guest mode */
	pushq	PCPU(PCPU_SCRATCH)	/* rsp */
	push	%r11			/* rflags */
	pushq	$0			/* cs: set by core */
	push	%rcx			/* rip */
	pushq	$0			/* error code */
	pushq	$ENTRY_SYSCALL
	jmp	eb_common

/* SYSCALL from compatibility mode (CSTAR): 32-bit user programs. */
	.globl eb_syscall32
eb_syscall32:
	mov	%rsp, PCPU(PCPU_SCRATCH)
	mov	PCPU(PCPU_STACKTOP), %rsp
	sub	$8, %rsp
	pushq	PCPU(PCPU_SCRATCH)
	push	%r11
	pushq	$0
	push	%rcx
	pushq	$0
	pushq	$ENTRY_SYSCALL32
	jmp	eb_common

/* Frame relocation for traps.  Stack: vector, error, rip, cs, rflags, rsp,
 * ss. */
eb_prologue:
	/* Interrupt stubs cleared VIF.if_ (see eb_idt).  An interrupt only
	 * arrives while if_ is set, so what it interrupted goes on with if_
	 * clear and sets it again itself (exit path, idle, irq_enable).  On hw
	 * the VIF page is unused.  eb_retry's pseudo-vector clears it here. */
	cmpl	$VEC_RETRY, (%rsp)
	jne	0f
	movb	$0, PCPU(PCPU_VIF)
0:	push	%rax
	mov	24(%rsp), %rax		/* interrupted rip (rax, vector, error, rip) */
	shr	$39, %rax
	cmp	$STUB_SLOT, %rax
	je	2f
	cld				/* the guest may have left DF set */
	mov	PCPU(PCPU_STACKTOP), %rax
	sub	$(FRAME_WORDS * 8), %rax
	push	%rcx
	push	%rsi
	push	%rdi
	lea	32(%rsp), %rsi		/* the frame as delivered */
	cmp	%rax, %rsi
	je	1f
	mov	%rax, %rdi
	mov	$FRAME_WORDS, %ecx
	rep movsq
1:	pop	%rdi
	pop	%rsi
	pop	%rcx
	pop	%rax
	mov	PCPU(PCPU_STACKTOP), %rsp
	sub	$(FRAME_WORDS * 8), %rsp
	jmp	eb_common
2:	pop	%rax
	/* fall through */

/* Save GPRs and call stub_trap(regs, pcpu). */
eb_common:
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
	lea	PCPU(0), %rsi
	call	*PCPU(PCPU_TRAP)
	/* stub_trap returns only for traps taken inside the stub */
	mov	%rsp, %rdi
	.globl eb_restore_hw
eb_restore_hw:				/* rdi: frame to return to */
	mov	%rdi, %rsp
	POP_FRAME
	iretq

/* PVM return to the guest.  Interrupts are the byte VIF.if_, clear from
 * exit_to_guest()'s last check until the movb here.  An interrupt landing
 * in [eb_pvm_window, eb_pvm_iret] is sent through eb_retry by
 * plat_interrupted(), so no event waits for the guest's next trap. */
	.globl eb_restore_pvm, eb_pvm_window, eb_pvm_iret, eb_retry
eb_restore_pvm:
	mov	%rdi, %rsp
	POP_FRAME
	movb	$1, PCPU(PCPU_VIF)
eb_pvm_window:
	cmpb	$0, PCPU(PCPU_VIF + 1)	/* an interrupt waited while if_ was 0: */
	jz	eb_pvm_iret
	sti				/* one trap lets PVM inject it (-> eb_retry) */
eb_pvm_iret:
	iretq
eb_retry:				/* rsp: the guest's iret frame */
	pushq	$0
	pushq	$VEC_RETRY
	jmp	eb_prologue

/* IDT entry points: vector v at eb_idt + 32*v.  Interrupt vectors clear
 * VIF.if_ as their very first instruction: PVM delivers with if_ still set,
 * and a second interrupt injected before it is cleared would reuse the IST
 * stack under the first one's frame. */
	.balign 256
	.globl eb_idt
eb_idt:
	.set vec, 0
	.rept 256
	.balign 32
	.if vec >= 32
	movb	$0, PCPU(PCPU_VIF)
	.endif
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21)
	pushq	$vec
	.else
	pushq	$0
	pushq	$vec
	.endif
	jmp	eb_prologue
	.set vec, vec + 1
	.endr
entry_block_end:

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
