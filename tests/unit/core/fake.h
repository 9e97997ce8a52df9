/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host test harness for the guest stub's core/: a fake platform (every
 * plat_* call is recorded), a fake stub region (boot info, shared_info,
 * host_pending/notify pages, hostcall pages, frame_info) and guest RAM in
 * host memory used as the direct map.  Guest virtual addresses are host
 * pointers; the low 64 KiB (NULL page included) fault in raw_copy().
 */
#ifndef CORE_TEST_FAKE_H
#define CORE_TEST_FAKE_H

#include <setjmp.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <cmocka.h>

#include "core.h"
#include "platform.h"

#define FAKE_NR_PAGES	  64
#define FAKE_MAX_VCPUS	  4
#define FAKE_DOMID	  7
#define FAKE_CONSOLE_PORT 1
#define FAKE_STORE_PORT	  2
/* Guest addresses below this fault in raw_copy(), like an unmapped page. */
#define FAKE_FAULT_LIMIT  0x10000ULL
#define FAKE_BAD_VA	  0x2000ULL
#define FAKE_WALLCLOCK_NS 1700000000123456789ULL

/* Hardware selectors the fake platform hands out. */
#define FAKE_HW_CS_KERNEL 0x10
#define FAKE_HW_SS_KERNEL 0x18
#define FAKE_HW_CS_USER	  0x33
#define FAKE_HW_CS_USER32 0x23
#define FAKE_HW_SS_USER	  0x2b

/* Fake stub region layout (offsets from the boot info). */
#define FAKE_SHARED_OFF	   0x1000
#define FAKE_HOSTPEND_OFF  0x2000
#define FAKE_NOTIFY_OFF	   0x3000
#define FAKE_HOSTCALL_OFF  0x4000 /* FAKE_MAX_VCPUS pages */
#define FAKE_FRAMEINFO_OFF 0x8000
#define FAKE_M2P_OFF	   0x9000
#define FAKE_REGION_SIZE   0x10000
#define FAKE_STUB_FRAMES   (FAKE_REGION_SIZE / 4096)
/* MFN of the shared_info frame (the region follows guest RAM). */
#define FAKE_SHARED_MFN (FAKE_NR_PAGES + FAKE_SHARED_OFF / 4096)

enum fake_escape {
	FAKE_ESC_NONE = 0,
	FAKE_ESC_ENTER,	   /* plat_enter_guest() */
	FAKE_ESC_SHUTDOWN, /* XK_HC_SHUTDOWN hostcall */
	FAKE_ESC_CRASH,	   /* XK_HC_CRASH hostcall */
	FAKE_ESC_IDLE,	   /* plat_idle() beyond fake.idle_limit */
};

struct fake_state {
	unsigned arm_calls;
	uint64_t arm_last;
	unsigned doorbell_calls;
	uint32_t doorbell_last;
	unsigned flush_calls, invlpg_calls;
	unsigned ts_calls;
	bool hw_ts;
	uint64_t invlpg_last;
	unsigned fs_calls, gs_calls;
	uint64_t fs_last, gs_last;
	/* descriptor tables: plat_load_ldt, plat_load_gs_selector,
	 * plat_get_gs_base answers hw_gs_base */
	unsigned ldt_loads, ldt_ents;
	unsigned gs_sel_loads;
	uint16_t gs_sel;
	uint64_t hw_gs_base;
	unsigned cr3_writes;
	uint64_t cr3;
	uint64_t cr2;
	bool stub_mode; /* plat_from_guest() answers !stub_mode */
	unsigned eoi_calls, idle_calls, interrupted_calls;
	int irq_disabled;
	void (*idle_hook)(unsigned call);
	unsigned idle_limit; /* then FAKE_ESC_IDLE inside FAKE_RUN, else a failure */
	unsigned enter_calls, before_enter_calls;
	/* hostcalls */
	unsigned hostcalls;
	uint32_t hc_last_op;
	uint64_t hc_last_arg0;
	uint32_t hc_last_len;
	char hc_last_buf[XK_HOSTCALL_BUF + 1];
	int64_t hc_ret;	     /* what the launcher answers */
	const char *hc_read; /* XK_HC_CONSOLE_READ data */
	unsigned console_bytes;
	/* printk (console.c's own needs this_pcpu(), see wrap_console.c) */
	unsigned printk_calls;
	char printk_last[256];
	unsigned raw_copies;
	uint64_t fault_lo, fault_hi; /* one more faulting range [lo, hi) */
	/* non-local exits */
	jmp_buf *escape;
	int escape_reason;
	unsigned shutdown_reason;
	char crash_msg[XK_HOSTCALL_BUF + 1];
};
extern struct fake_state fake;

/* Set up a fresh domain: nr_vcpus vCPUs online (vCPU 0 current), the
 * launcher's pre-bound console/store ports, time_init() at tsc_khz. */
void fake_world_init(unsigned nr_vcpus, uint64_t tsc_khz);
struct pcpu *fake_pc(unsigned i);
struct cpu_regs *fake_regs(unsigned i);
struct xk_boot_info *fake_bi(void);
uint8_t *fake_ram(void);
uint32_t *fake_frame_info(void);
/* The hardware GDT (FIRST_RESERVED_GDT_ENTRY entries) and LDT (8192) the
 * fake platform shows for vCPU i. */
uint64_t *fake_gdt(unsigned i);
uint64_t *fake_ldt(unsigned i);
/* Set in wrap_evtchn.c: the event-channel table back to all-free. */
void core_test_evtchn_reset(void);

static inline uint64_t gva(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Run stmt; returns the fake_escape reason if it left through one of the
 * noreturn platform paths, FAKE_ESC_NONE if it returned. */
#define FAKE_RUN(stmt)                                                                             \
	({                                                                                         \
		jmp_buf jb_;                                                                       \
		volatile int r_ = FAKE_ESC_NONE;                                                   \
		fake.escape = &jb_;                                                                \
		fake.escape_reason = FAKE_ESC_NONE;                                                \
		if (setjmp(jb_) == 0) {                                                            \
			stmt;                                                                      \
		} else {                                                                           \
			r_ = fake.escape_reason;                                                   \
		}                                                                                  \
		fake.escape = NULL;                                                                \
		r_;                                                                                \
	})

/* Privileged "mov %crN, reg" faults on the host; while armed, a SIGSEGV
 * handler completes it with these values (emulate.c reads CR0/CR4). */
void fake_cr_trap_on(uint64_t cr0, uint64_t cr4);
void fake_cr_trap_off(void);
extern unsigned fake_cr_reads;

/* pvclock as a guest computes it (Linux's pvclock_scale_delta). */
static inline uint64_t pvclock_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/*
 * Each test program has two groups: tests that pass, and tests that fail
 * because of a known core bug (kept apart so the "unit" suite stays green;
 * meson runs them as <name>-bugs in suite "stubcore-bugs").  Move a test
 * into the first group when its bug is fixed.
 */
#define CORE_TEST_MAIN(name, ok, bugs)                                                             \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		if (argc > 1 && !strcmp(argv[1], "--bugs"))                                        \
			return _cmocka_run_group_tests(name "-bugs", bugs, ARRAY_SIZE(bugs), NULL, \
						       NULL);                                      \
		return _cmocka_run_group_tests(name, ok, ARRAY_SIZE(ok), NULL, NULL);              \
	}

#define CORE_TEST_MAIN_NOBUGS(name, ok)                                                            \
	int main(void)                                                                             \
	{                                                                                          \
		return _cmocka_run_group_tests(name, ok, ARRAY_SIZE(ok), NULL, NULL);              \
	}

#endif
