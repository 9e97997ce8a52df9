/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xkguest: a tiny library for 64-bit Xen PV test kernels.
 *
 * A test is one C file defining `test_title` and `test_main()`.  The library
 * provides the entry point, console output, result reporting, hypercall
 * wrappers, trap/callback plumbing and event-channel helpers.  Everything is
 * written against the public Xen PV ABI only.
 */
#ifndef XKG_H
#define XKG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/features.h>
#include <xen/errno.h>
#include <xen/physdev.h>
#include <xen/grant_table.h>

#include "hypercall.h"

/* Image layout: see xkguest.ld and the ELF notes in head.S. */
#define XKG_VIRT_BASE 0xffffffff80000000UL
#define XKG_PAGE_SIZE 4096UL

/* Unmapped by the domain builder: above the mapped region (L3 slot 511). */
#define XKG_UNMAPPED_VA	    0xffffffffc0000000UL
#define XKG_NONCANONICAL_VA 0x8000000000000000UL

#define _PAGE_PRESENT  0x001UL
#define _PAGE_RW       0x002UL
#define _PAGE_USER     0x004UL
#define _PAGE_ACCESSED 0x020UL
#define _PAGE_DIRTY    0x040UL

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define __aligned(n)   __attribute__((aligned(n)))
#define __noreturn     __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define barrier()      asm volatile("" ::: "memory")
#define ACCESS_ONCE(x) (*(volatile __typeof__(x) *)&(x))

/* ---- provided by each test ---- */
extern const char test_title[];
void test_main(void);

/* ---- start of day ---- */
extern start_info_t *xkg_start_info;

static inline uint64_t xkg_virt_to_pfn(const void *va)
{
	return ((uint64_t)va - XKG_VIRT_BASE) >> 12;
}

/* Machine frame of a page of the mapped region, through the p2m list. */
static inline uint64_t xkg_virt_to_mfn(const void *va)
{
	const unsigned long *p2m = (const unsigned long *)xkg_start_info->mfn_list;

	return p2m[xkg_virt_to_pfn(va)];
}

/* ---- string.c ---- */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *hay, const char *needle);

/* ---- console.c ---- */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int printf(const char *fmt, ...) __printf(1, 2);
/* Raw CONSOLEIO_write of len bytes; returns the hypercall's result. */
long xkg_console_write(const char *s, size_t len);

/* ---- report.c ---- */
enum xkg_status { XKG_RUNNING, XKG_SUCCESS, XKG_SKIP, XKG_ERROR, XKG_FAILURE };

/* Record a failure (the test goes on; the worst status wins). */
void xkg_fail(const char *fmt, ...) __printf(1, 2);
/* The test could not check what it wanted because its environment broke. */
void xkg_error(const char *fmt, ...) __printf(1, 2);
/* The feature under test is legitimately absent. */
void xkg_skip(const char *fmt, ...) __printf(1, 2);
bool xkg_on_pvm(void);
/* Is word (e.g. "xkg.kernel_ring=3") on the kernel command line? */
bool xkg_cmdline_has(const char *word);
/* hw: the ring the runner asked for (xkg.kernel_ring=3, else xenkvm's
 * default 1), and the one this kernel code runs in (%cs RPL). */
unsigned int xkg_expected_kernel_ring(void);
unsigned int xkg_kernel_ring(void);
enum xkg_status xkg_status(void);
/* SHUTDOWN_* used after the result line (default SHUTDOWN_poweroff). */
void xkg_set_shutdown_reason(unsigned int reason);
/* Print "Test result: ..." as the last console line and shut down. */
__noreturn void xkg_finish(void);
/* Library-detected impossible state: result ERROR, SHUTDOWN_crash. */
__noreturn void panic(const char *fmt, ...) __printf(1, 2);

#define CHECK(cond, fmt, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			xkg_fail("%s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__);                \
	} while (0)

/* Compare two integers, printing both on mismatch. */
#define CHECK_EQ(got, want, what)                                                                  \
	do {                                                                                       \
		long long __g = (long long)(got), __w = (long long)(want);                         \
		if (__g != __w)                                                                    \
			xkg_fail("%s:%d: %s: got %lld (0x%llx), want %lld (0x%llx)", __FILE__,     \
				 __LINE__, what, __g, (unsigned long long)__g, __w,                \
				 (unsigned long long)__w);                                         \
	} while (0)

/* ---- traps.c / head.S ---- */

/* Pseudo-vectors for callbacks, delivered through the same dispatcher. */
#define XKG_VEC_EVENT	 0x100
#define XKG_VEC_SYSCALL	 0x101
#define XKG_VEC_FAILSAFE 0x102
#define XKG_NR_VECTORS	 0x103

/*
 * Saved state of an exception, callback or upcall.  From `vector` upwards
 * this is the PV bounce frame (pv-abi.md 3.1) after the entry stub popped
 * RCX/R11 and pushed a zero error code where the frame had none.
 */
struct xkg_regs {
	uint64_t entry_rflags; /* hardware RFLAGS on entry to the stub */
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* cs bits 39:32 hold the upcall mask saved by the bounce. */
static inline unsigned int xkg_saved_mask(const struct xkg_regs *r)
{
	return (r->cs >> 32) & 0xff;
}

/* Return true if handled (the frame, possibly edited, is then resumed). */
typedef bool (*xkg_trap_handler_t)(struct xkg_regs *r);
void xkg_set_handler(unsigned int vector, xkg_trap_handler_t fn);

/*
 * Install trap-table entries for all 256 vectors (DPL 0 except 3, 4 and
 * 0x80, which get DPL 3), events masked on entry.  Returns the hypercall
 * result.
 */
long xkg_setup_traps(void);
/* Build a one-entry trap table update for vector v with the given flags. */
long xkg_set_trap(unsigned int vector, unsigned int flags);
/* Register event, failsafe and syscall callbacks. */
long xkg_setup_callbacks(void);
extern const char xkg_trap_stubs[]; /* 256 stubs, 16 bytes each */
extern const char xkg_event_entry[], xkg_failsafe_entry[], xkg_syscall_entry[];

/*
 * Exception table: a faulting instruction with an entry here resumes at
 * the fixup address; the fault is recorded in xkg_last_fault.
 */
struct xkg_fault {
	bool valid;
	uint64_t vector, error_code, rip, cs, rflags, rsp;
};
extern struct xkg_fault xkg_last_fault;
void xkg_fault_clear(void);

#define XKG_EXTABLE(fault, fixup)                                                                  \
	".pushsection .ex_table, \"a\"\n\t.balign 8\n\t.quad " #fault ", " #fixup "\n\t"           \
	".popsection\n\t"

/* ---- user mode (head.S) ---- */
/* Enter user mode at rip/rsp (CS 0xe033, SS 0xe02b, IF set) through
 * HYPERVISOR_iret; returns the value later passed to xkg_exit_user(). */
long xkg_enter_user(uint64_t rip, uint64_t rsp);
/* From a kernel-mode handler: abandon the user context and return from
 * xkg_enter_user() on its original stack. */
__noreturn void xkg_exit_user(long ret);

/* ---- xen.c ---- */
/* Map shared_info at a page of our .bss with update_va_mapping.  NULL on
 * failure (rc in *rc). */
struct shared_info *xkg_map_shared_info(long *rc);
/* Map a page of our image back to its own frame, RW, with or without U:
 * the update_va_mapping result. */
long xkg_remap_own(const void *page, bool user);
/* Give every page of the image the U bit (before user mode runs there, and
 * before anything remaps an image page): 0 or a Xen error. */
int xkg_image_user_accessible(void);
/* VCPUOP_register_vcpu_info for vCPU 0 into a page of our .bss. */
struct vcpu_info *xkg_register_vcpu_info(long *rc);
/* pvclock read (pv-abi.md 3.6). */
uint64_t xkg_system_time(const struct vcpu_time_info *t);
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Enlightened CPUID through the forced-emulation prefix. */
static inline void xen_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *a, uint32_t *b, uint32_t *c,
			     uint32_t *d)
{
	asm volatile(".byte 0x0f, 0x0b, 0x78, 0x65, 0x6e\n\tcpuid"
		     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "0"(leaf), "2"(subleaf));
}

/* ---- evtchn.c: 2-level event handling ---- */
struct xkg_evtchn_state {
	struct vcpu_info *vi;	/* where upcall_pending/pending_sel live */
	struct shared_info *sh; /* NULL: pending bits cannot be scanned */
	volatile uint64_t upcalls;
	volatile uint64_t last_sel; /* OR of pending_sel words seen */
	volatile uint64_t last_rip, last_cs, last_rflags;
	volatile unsigned int mask_in_handler;
	volatile uint32_t count[EVTCHN_2L_NR_CHANNELS];
};
extern struct xkg_evtchn_state xkg_ev;
/* Install the event-callback handler; vi/sh as above. */
void xkg_evtchn_init(struct vcpu_info *vi, struct shared_info *sh);
/* Unmask upcalls and force delivery of anything pending (like Linux's
 * xen_irq_enable); then mask again if `remask`. */
void xkg_events_enable(void);
void xkg_events_disable(void);

/* ---- xs.c: xenstore client (polling, one request at a time) ---- */
/* Value of path into buf (NUL-terminated); its length, or -1. */
long xkg_xs_read(const char *path, char *buf, size_t size);
/* 0 or -1. */
long xkg_xs_write(const char *path, const char *value);

/* ---- xenbus.c: a PV frontend by hand (the hostile frontend tests) ---- */
/* Grant-table frame 0, set up and mapped; NULL (and a failure) if not. */
grant_entry_v1_t *xkg_gnttab_map(void);
/* Grant page to dom at ref (read-only if ro), revoking the entry first. */
void xkg_grant(unsigned int ref, const void *page, domid_t dom, bool ro);
/* A port for remote to bind (a failure if none). */
uint32_t xkg_alloc_unbound(domid_t remote);
void xkg_notify(uint32_t port);
/* Poll (yielding) until *idx reaches want, tries times at most. */
bool xkg_wait_idx(volatile uint32_t *idx, uint32_t want, unsigned long tries);

struct xkg_xb {
	const char *node;  /* the frontend's directory, e.g. "device/vif/0" */
	char be_path[128]; /* its backend's, from node/backend */
};
/* -1 when node has no backend (the device is not there). */
long xkg_xb_init(struct xkg_xb *d, const char *node);
/* node/key = fmt(v); a failure if the write fails. */
void xkg_xb_write(struct xkg_xb *d, const char *key, const char *fmt, unsigned long v);
/* The backend's key as a decimal number, -1 if absent. */
long xkg_xb_be_num(struct xkg_xb *d, const char *key);
long xkg_xb_be_state(struct xkg_xb *d);
/* Poll the backend's state (a few seconds at most). */
bool xkg_xb_wait_be_state(struct xkg_xb *d, long want);
/* Closing, Closed, Initialising, each waiting for the backend to follow
 * (it ends in InitWait); a failure where it does not if check. */
void xkg_xb_restart(struct xkg_xb *d, bool check);

#endif
