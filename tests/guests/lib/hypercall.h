/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hypercall wrappers for 64-bit PV guests (pv-abi.md 2.1).
 *
 * Default build: inline `syscall` from guest kernel mode, RAX = number,
 * arguments in RDI RSI RDX R10 R8, result in RAX, RCX/R11 lost.
 * With XKG_HYPERCALL_PAGE the same wrappers call slot n of the hypercall page
 * the domain builder filled in (entry n at hypercall_page + 32*n).
 *
 * Xen may clobber argument registers it did not use (debug builds poison
 * them), so every argument register is an in/out operand.
 */
#ifndef XKG_HYPERCALL_H
#define XKG_HYPERCALL_H

#include <stdint.h>

#ifdef XKG_HYPERCALL_PAGE
extern char hypercall_page[4096];
#define XKG_HCALL_INSN "call hypercall_page + %c[slot]"
#else
#define XKG_HCALL_INSN "syscall"
#endif

/* nr must be a compile-time constant (it selects the page slot). */
#define xkg_hcall(nr, a1, a2, a3, a4, a5)                                                          \
	({                                                                                         \
		long __res;                                                                        \
		register unsigned long __a1 asm("rdi") = (unsigned long)(a1);                      \
		register unsigned long __a2 asm("rsi") = (unsigned long)(a2);                      \
		register unsigned long __a3 asm("rdx") = (unsigned long)(a3);                      \
		register unsigned long __a4 asm("r10") = (unsigned long)(a4);                      \
		register unsigned long __a5 asm("r8") = (unsigned long)(a5);                       \
		asm volatile(XKG_HCALL_INSN                                                        \
			     : "=a"(__res), "+r"(__a1), "+r"(__a2), "+r"(__a3), "+r"(__a4),        \
			       "+r"(__a5)                                                          \
			     : "0"((unsigned long)(nr)), [slot] "i"((nr)*32)                       \
			     : "rcx", "r11", "memory");                                            \
		__res;                                                                             \
	})

/*
 * Always a raw `syscall` with a run-time number: for probing numbers that
 * have no hypercall-page slot (>= 128) or that must not exist.
 */
static inline long xkg_hypercall_raw(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
				     uint64_t a4, uint64_t a5)
{
	long res;
	register uint64_t r1 asm("rdi") = a1;
	register uint64_t r2 asm("rsi") = a2;
	register uint64_t r3 asm("rdx") = a3;
	register uint64_t r4 asm("r10") = a4;
	register uint64_t r5 asm("r8") = a5;

	asm volatile("syscall"
		     : "=a"(res), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5)
		     : "0"(nr)
		     : "rcx", "r11", "memory");
	return res;
}

static inline long HYPERVISOR_set_trap_table(const struct trap_info *t)
{
	return xkg_hcall(__HYPERVISOR_set_trap_table, t, 0, 0, 0, 0);
}

static inline long HYPERVISOR_mmu_update(struct mmu_update *req, unsigned int count,
					 unsigned int *done, domid_t dom)
{
	return xkg_hcall(__HYPERVISOR_mmu_update, req, count, done, dom, 0);
}

static inline long HYPERVISOR_stack_switch(unsigned long ss, unsigned long sp)
{
	return xkg_hcall(__HYPERVISOR_stack_switch, ss, sp, 0, 0, 0);
}

static inline long HYPERVISOR_fpu_taskswitch(int set)
{
	return xkg_hcall(__HYPERVISOR_fpu_taskswitch, set, 0, 0, 0, 0);
}

static inline long HYPERVISOR_multicall(struct multicall_entry *calls, unsigned int nr)
{
	return xkg_hcall(__HYPERVISOR_multicall, calls, nr, 0, 0, 0);
}

static inline long HYPERVISOR_update_va_mapping(unsigned long va, uint64_t pte, unsigned long flags)
{
	return xkg_hcall(__HYPERVISOR_update_va_mapping, va, pte, flags, 0, 0);
}

static inline long HYPERVISOR_set_timer_op(uint64_t timeout_abs_ns)
{
	return xkg_hcall(__HYPERVISOR_set_timer_op, timeout_abs_ns, 0, 0, 0, 0);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
	return xkg_hcall(__HYPERVISOR_xen_version, cmd, arg, 0, 0, 0);
}

static inline long HYPERVISOR_console_io(int cmd, unsigned int count, const char *buf)
{
	return xkg_hcall(__HYPERVISOR_console_io, cmd, count, buf, 0, 0);
}

static inline long HYPERVISOR_vcpu_op(int cmd, unsigned int vcpu, void *arg)
{
	return xkg_hcall(__HYPERVISOR_vcpu_op, cmd, vcpu, arg, 0, 0);
}

static inline long HYPERVISOR_mmuext_op(struct mmuext_op *ops, unsigned int count,
					unsigned int *done, domid_t dom)
{
	return xkg_hcall(__HYPERVISOR_mmuext_op, ops, count, done, dom, 0);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
	return xkg_hcall(__HYPERVISOR_sched_op, cmd, arg, 0, 0, 0);
}

static inline long HYPERVISOR_callback_op(int cmd, const void *arg)
{
	return xkg_hcall(__HYPERVISOR_callback_op, cmd, arg, 0, 0, 0);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
	return xkg_hcall(__HYPERVISOR_event_channel_op, cmd, arg, 0, 0, 0);
}

static inline long HYPERVISOR_grant_table_op(int cmd, void *uop, unsigned int count)
{
	return xkg_hcall(__HYPERVISOR_grant_table_op, cmd, uop, count, 0, 0);
}

static inline long HYPERVISOR_physdev_op(int cmd, void *arg)
{
	return xkg_hcall(__HYPERVISOR_physdev_op, cmd, arg, 0, 0, 0);
}

#endif
