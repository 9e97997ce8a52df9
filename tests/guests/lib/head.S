/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Entry point, Xen ELF notes, trap/callback entry stubs, the iret path and
 * user-mode entry for xkguest test kernels (64-bit PV).
 */
#include <xen/elfnote.h>

#define VIRT_BASE 0xffffffff80000000
#define HYPERVISOR_iret 23
#define FLAT_USER_CS64 0xe033
#define FLAT_USER_SS64 0xe02b
#define X86_EFLAGS_IF 0x200

#define ELFNOTE(type, desc)                      \
	.pushsection .note.Xen, "a", @note;      \
	.balign 4;                               \
	.long 2f - 1f;                           \
	.long 4f - 3f;                           \
	.long type;                              \
1:	.asciz "Xen";                            \
2:	.balign 4;                               \
3:	desc;                                    \
4:	.balign 4;                               \
	.popsection

	ELFNOTE(XEN_ELFNOTE_GUEST_OS, .asciz "xkguest")
	ELFNOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz "0.1")
	ELFNOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
	ELFNOTE(XEN_ELFNOTE_VIRT_BASE, .quad VIRT_BASE)
	ELFNOTE(XEN_ELFNOTE_PADDR_OFFSET, .quad 0)
	ELFNOTE(XEN_ELFNOTE_ENTRY, .quad _start)
	ELFNOTE(XEN_ELFNOTE_PAE_MODE, .asciz "yes")
	ELFNOTE(XEN_ELFNOTE_LOADER, .asciz "generic")
#ifdef XKG_HYPERCALL_PAGE
	ELFNOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page)
#endif

	.section .text.head, "ax", @progbits
	.code64
	.globl _start
_start:
	/* RSI = start_info (pv-abi.md 1.4); keep it across the bss clear. */
	cld
	mov	%rsi, %r12
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb
	mov	%r12, xkg_start_info(%rip)
	lea	xkg_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	xkg_main
	ud2

#ifdef XKG_HYPERCALL_PAGE
	/* Filled by the domain builder; int3 until then. */
	.section .text.hypercall_page, "ax", @progbits
	.balign 4096
	.globl hypercall_page
hypercall_page:
	.fill 4096, 1, 0xcc
	.size hypercall_page, 4096
#endif

	.text
/*
 * HYPERVISOR_iret: the caller has pushed {flags, rip, cs, rflags, rsp, ss}
 * (lowest first); rax/r11/rcx are still live and are saved here, completing
 * struct iret_context.  Does not return.
 */
	.globl xkg_hypercall_iret
xkg_hypercall_iret:
#ifdef XKG_HYPERCALL_PAGE
	jmp	hypercall_page + HYPERVISOR_iret * 32
#else
	push	%rcx
	push	%r11
	push	%rax
	mov	$HYPERVISOR_iret, %eax
	syscall
	ud2
#endif

/*
 * Entry stubs.  A PV bounce frame holds RCX, R11, [error code], RIP, CS,
 * RFLAGS, RSP, SS (pv-abi.md 3.1): restore RCX/R11 first, then make every
 * frame look alike (error code, vector) and go to the common path.
 */
	.balign 16
	.globl xkg_trap_stubs
xkg_trap_stubs:
	.set vec, 0
	.rept 256
9:
	pop	%rcx
	pop	%r11
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21)
	pushq	$0
	.endif
	pushq	$vec
	jmp	xkg_trap_common
	/* Stub n is at xkg_trap_stubs + 16*n; gas fails if one is longer. */
	.org	9b + 16, 0xcc
	.set vec, vec + 1
	.endr

	.balign 16
	.globl xkg_event_entry
xkg_event_entry:
	pop	%rcx
	pop	%r11
	pushq	$0
	pushq	$0x100
	jmp	xkg_trap_common

	.balign 16
	.globl xkg_syscall_entry
xkg_syscall_entry:
	pop	%rcx
	pop	%r11
	pushq	$0
	pushq	$0x101
	jmp	xkg_trap_common

/* The failsafe frame has DS/ES/FS/GS before RIP; the C side only reports. */
	.balign 16
	.globl xkg_failsafe_entry
xkg_failsafe_entry:
	pop	%rcx
	pop	%r11
	pushq	$0
	pushq	$0x102
	jmp	xkg_trap_common

xkg_trap_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	pushfq
	cld
	mov	%rsp, %rdi
	mov	%rsp, %rbx
	and	$-16, %rsp
	call	xkg_trap_dispatch
	mov	%rbx, %rsp
	add	$8, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp		/* vector, error code */
	pushq	$0			/* iret flags: plain return */
	jmp	xkg_hypercall_iret

/*
 * long xkg_enter_user(uint64_t rip, uint64_t rsp)
 * Saves the callee-saved registers, then iret to user mode.  The matching
 * xkg_exit_user(ret) runs on a kernel-mode handler's stack and unwinds to
 * here.
 */
	.globl xkg_enter_user
xkg_enter_user:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, xkg_user_saved_rsp(%rip)
	pushq	$FLAT_USER_SS64
	push	%rsi
	pushq	$(X86_EFLAGS_IF | 2)
	pushq	$FLAT_USER_CS64
	push	%rdi
	pushq	$0
	xor	%eax, %eax
	xor	%ecx, %ecx
	xor	%r11d, %r11d
	jmp	xkg_hypercall_iret

	.globl xkg_exit_user
xkg_exit_user:
	mov	%rdi, %rax
	mov	xkg_user_saved_rsp(%rip), %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret

	.bss
	.balign 8
xkg_user_saved_rsp:
	.skip 8
	.globl xkg_start_info
xkg_start_info:
	.skip 8

	.section .bss.stack, "aw", @nobits
	.balign 4096
xkg_stack:
	.skip 32768
	.globl xkg_stack_top
xkg_stack_top:

	.section .note.GNU-stack, "", @progbits
