/* SPDX-License-Identifier: GPL-2.0-only */
/* Common definitions of the freestanding guest stub. */
#ifndef STUB_H
#define STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#include <xenkvm/stubabi.h>
#include "xen_abi.h"

/* One static image: every symbol is local to it (no GOT under -fpie). */
#pragma GCC visibility push(hidden)

#define PAGE_SIZE  4096UL
#define PAGE_SHIFT 12
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define barrier()   __asm__ __volatile__("" ::: "memory")
#define smp_mb()    __asm__ __volatile__("mfence" ::: "memory")
#define smp_wmb()   barrier()
#define smp_rmb()   barrier()
#define READ_ONCE(x)     (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* Register frame built by every entry path (platform/x86/entry.S). */
struct cpu_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi;
	uint32_t vector; /* exception/interrupt vector, or ENTRY_SYSCALL */
	uint32_t entry_flags;
	uint64_t error_code;
	/* hardware iret frame */
	uint64_t rip, cs, rflags, rsp, ss;
};
#define ENTRY_SYSCALL 0x100
#define ENTRY_SYSCALL32 0x102 /* SYSCALL from compatibility mode (CSTAR) */

_Static_assert(sizeof(struct cpu_regs) == 22 * 8, "frame layout used by entry.S");

#define X86_EFLAGS_CF   0x00000001UL
#define X86_EFLAGS_PF   0x00000004UL
#define X86_EFLAGS_AF   0x00000010UL
#define X86_EFLAGS_ZF   0x00000040UL
#define X86_EFLAGS_SF   0x00000080UL
#define X86_EFLAGS_TF   0x00000100UL
#define X86_EFLAGS_IF   0x00000200UL
#define X86_EFLAGS_DF   0x00000400UL
#define X86_EFLAGS_OF   0x00000800UL
#define X86_EFLAGS_IOPL 0x00003000UL
#define X86_EFLAGS_NT   0x00004000UL
#define X86_EFLAGS_RF   0x00010000UL
#define X86_EFLAGS_VM   0x00020000UL
#define X86_EFLAGS_AC   0x00040000UL
#define X86_EFLAGS_ARITH                                                                       \
	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | X86_EFLAGS_SF |        \
	 X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_OF | X86_EFLAGS_AC | 0x200000UL /* ID */)

/* Guest-visible per-vCPU state (the Xen view of one vCPU). */
struct vcpu {
	unsigned id;
	bool online;
	bool initialised;
	bool in_kernel;   /* guest kernel mode (vs guest user mode) */
	bool fpu_ts;      /* virtual CR0.TS */
	bool blocked;
	uint16_t kernel_ss;
	uint64_t kernel_sp;
	uint64_t cr3_kernel; /* machine addresses of the two L4s */
	uint64_t cr3_user;
	uint64_t fs_base, gs_base_kernel, gs_base_user;
	uint64_t cr4_guest;  /* guest-controlled CR4 bits */
	uint64_t dr[8];
	uint64_t event_cb, failsafe_cb, syscall_cb, syscall32_cb, sysenter_cb, nmi_cb;
	bool syscall_mask_events, syscall32_mask_events, failsafe_mask_events;
	struct trap_info traps[256];
	uint8_t trap_set[256 / 8];
	uint8_t iopl; /* virtual IOPL (PHYSDEVOP_set_iopl) */
	/* vcpu_info: defaults to shared_info->vcpu_info[id]; register_vcpu_info
	 * moves it into guest RAM (we hold a direct-map pointer). */
	struct vcpu_info *vi;
	uint64_t vi_mfn; /* guest frame holding vi, 0 while in shared_info */
	uint64_t runstate_va; /* guest VA of struct vcpu_runstate_info, 0 = none */
	uint64_t time_area_va;
	struct vcpu_runstate_info runstate;
	/* timers (TSC deadlines, 0 = off) */
	uint64_t singleshot_tsc;
	uint64_t periodic_ns, periodic_next_tsc;
	uint32_t virq_to_evtchn[NR_VIRQS];
	uint32_t poll_port; /* SCHEDOP_poll */
	uint64_t poll_deadline_tsc;
	union { /* read by the launcher through boot_info.stats_off */
		struct xk_vcpu_stats stats;
		struct {
			uint64_t nr_hypercalls, nr_bounces, nr_exits, nr_cr3_writes,
				nr_cr3_switches;
		};
	};
	/* Descriptor tables (core/desc.c): the guest's GDT frames (each holds
	 * a SEG_DESC type reference) and its LDT, whose pages are typed and
	 * copied when SET_LDT installs it (ldt_loaded: bit per LDT page). */
	uint64_t gdt_frames[FIRST_RESERVED_GDT_PAGE];
	unsigned gdt_ents;
	uint64_t ldt_base;
	unsigned ldt_ents;
	uint16_t ldt_loaded;
	uint64_t ldt_frames[16];
};

/* Stub-private per-vCPU data; lives at the bottom of the vCPU's area and is
 * found from %rsp (areas are XK_VCPU_AREA_SIZE aligned). */
struct pcpu {
	/* Offsets 0..79 are used by entry.S: keep in sync with its PCPU_*. */
	uint64_t syscall_scratch_rsp; /* 0: guest rsp saved by the trampoline */
	uint64_t stack_top;           /* 8: top of this vCPU's stub stack */
	uint64_t trap_target;         /* 16: stub_trap() */
	/* 24: the CR3 last loaded (plat_write_cr3): the launcher's post-mortem
	 * checks the stub's mappings through it (XK_PCPU_CR3_OFF). */
	uint64_t cr3_loaded;
	uint64_t pad0[4];
	/* ---- */
	struct vcpu v;
	struct xk_hostcall *hc;
	struct cpu_regs *guest_regs; /* frame at the stack top */
	volatile uint8_t softirq;    /* SOFTIRQ_* bits set from interrupt handlers */
	uint64_t in_stub_fault;      /* nesting guard for stub faults */
	volatile bool irq_seen;      /* an interrupt was delivered since the last check */
	uint64_t timer_armed;        /* TSC deadline last written (plat_arm_timer) */
	/* KVM's PV EOI word (bit 0: KVM will do the EOI itself), when on. */
	volatile uint64_t pv_eoi;
	bool pv_eoi_on;
};
#define SOFTIRQ_EVENT 1
#define SOFTIRQ_TIMER 2
#define VEC_RETRY 0x101 /* entry.S: an interrupt hit the PVM exit window */

/* Per-vCPU area layout (XK_VCPU_AREA_SIZE = 64 KiB). */
#define AREA_PCPU_OFF  0x0000
/* PVM virtual-IF page { u8 if_; u8 pending; u8 pad[6]; u64 cr2; }: the
 * registration MSR takes a page address (low bits are flags). */
#define AREA_VIF_OFF   0x2000
#define AREA_ENTRY_OFF 0x3000 /* copy of entry.S's entry block (12 KiB) */
#define AREA_IDT_OFF   0x6000
#define AREA_IST_OFF   0x7000 /* three 2 KiB IST stacks (x86.c), up to 0x8800 */
#define AREA_STACK_TOP XK_VCPU_AREA_SIZE

_Static_assert(sizeof(struct pcpu) <= AREA_VIF_OFF, "pcpu fits below the VIF page");
_Static_assert(__builtin_offsetof(struct pcpu, cr3_loaded) == XK_PCPU_CR3_OFF &&
		       AREA_IDT_OFF == XK_VCPU_IDT_OFF && AREA_IST_OFF + 0x800 == XK_VCPU_IST1_TOP,
	       "layout the launcher's post-mortem reads (stubabi.h)");
_Static_assert(__builtin_offsetof(struct pcpu, v.blocked) == XK_PCPU_BLOCKED_OFF &&
		       __builtin_offsetof(struct pcpu, v.vi) == XK_PCPU_VI_OFF &&
		       __builtin_offsetof(struct pcpu, v.singleshot_tsc) == XK_PCPU_SINGLESHOT_OFF &&
		       __builtin_offsetof(struct pcpu, softirq) == XK_PCPU_SOFTIRQ_OFF &&
		       __builtin_offsetof(struct pcpu, timer_armed) == XK_PCPU_TIMER_ARMED_OFF &&
		       __builtin_offsetof(struct pcpu, pv_eoi) == XK_PCPU_PV_EOI_OFF,
	       "event and timer state the launcher's post-mortem reads (stubabi.h)");

static inline volatile uint8_t *pcpu_vif(struct pcpu *pc)
{
	return (volatile uint8_t *)pc + AREA_VIF_OFF;
}

static inline uint8_t *pcpu_tss(struct pcpu *pc)
{
	return (uint8_t *)pc + XK_VCPU_TSS_OFF;
}

static inline struct pcpu *this_pcpu(void)
{
	uint64_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return (struct pcpu *)(sp & ~(XK_VCPU_AREA_SIZE - 1));
}

/* Domain-wide state. */
struct domain {
	struct xk_boot_info *bi;
	struct shared_info *shared;
	uint64_t *m2p;
	uint8_t *directmap; /* GPA 0 mapped here */
	unsigned nr_vcpus;
	struct pcpu *pcpu[XK_MAX_VCPUS];
	uint64_t vm_assist;
	uint32_t evtchn_unbound_hint;
	volatile uint64_t *host_pending; /* XK_HOST_PORTS bits */
	volatile uint64_t *notify;       /* XK_HOST_PORTS bits */
	bool shutting_down;
	/* A GDT/LDT descriptor with a non-zero base was installed: guest user
	 * mode may load its GS base from a selector (core/bounce.c). */
	bool desc_bases;
	/* XK_FEAT_KERNEL_RING1 (hw): the guest kernel runs at CPL1 with the
	 * U bit of its own PTEs honoured, so user mode runs on the kernel's
	 * L4 and no kernel<->user transition switches CR3. */
	bool kernel_ring1;
};
extern struct domain dom;

static inline void *gpa_to_virt(uint64_t gpa)
{
	return dom.directmap + gpa;
}

/* lib.c */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t n);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* console.c: diagnostics to the launcher's stderr, and fatal exits */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void stub_crash(struct pcpu *pc, const struct cpu_regs *regs,
					   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
__attribute__((noreturn)) void domain_shutdown(struct pcpu *pc, unsigned reason);
void console_write(struct pcpu *pc, const char *buf, size_t len);

/* guest_access: copies to/from guest virtual addresses that fault cleanly.
 * Return 0 or -EFAULT.  Addresses in the Xen hole are always refused. */
int copy_from_guest(void *dst, uint64_t src_va, size_t len);
int copy_to_guest(uint64_t dst_va, const void *src, size_t len);
bool guest_va_ok(uint64_t va, size_t len);
bool guest_canonical(uint64_t va);
/* Read up to max instruction bytes at rip; returns how many (0: none). */
size_t copy_insn_from_guest(uint8_t *buf, uint64_t rip, size_t max);
/* asm helpers with exception-table fixups (platform/x86/uaccess.S) */
size_t raw_copy(void *dst, const void *src, size_t len); /* returns bytes NOT copied */
bool fixup_exception(struct cpu_regs *regs);

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

#endif
