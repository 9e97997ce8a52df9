/* SPDX-License-Identifier: GPL-2.0-only */
/* Fake platform and world for host tests of guest-stub/core (see fake.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "fake.h"

struct fake_state fake;

static uint8_t *region;
static uint8_t *ram;
static struct pcpu *pcpus[FAKE_MAX_VCPUS];
static struct cpu_regs regs[FAKE_MAX_VCPUS];
static uint64_t hw_gdt[FAKE_MAX_VCPUS][FIRST_RESERVED_GDT_ENTRY];
static uint64_t hw_ldt[FAKE_MAX_VCPUS][8192];

static __attribute__((noreturn)) void escape(int reason)
{
	if (!fake.escape) {
		fail_msg("noreturn stub path (reason %d) taken outside FAKE_RUN", reason);
		abort();
	}
	fake.escape_reason = reason;
	longjmp(*fake.escape, 1);
}

void fake_world_init(unsigned nr_vcpus, uint64_t tsc_khz)
{
	if (!region) {
		region = aligned_alloc(4096, FAKE_REGION_SIZE);
		ram = aligned_alloc(4096, FAKE_NR_PAGES * 4096);
		for (unsigned i = 0; i < FAKE_MAX_VCPUS; i++)
			pcpus[i] =
			    aligned_alloc(4096, 4096 * ((sizeof(struct pcpu) + 4095) / 4096));
		assert_non_null(region);
		assert_non_null(ram);
	}
	assert_true(nr_vcpus >= 1 && nr_vcpus <= FAKE_MAX_VCPUS);
	memset(&fake, 0, sizeof(fake));
	fake.idle_limit = 100;
	memset(region, 0, FAKE_REGION_SIZE);
	memset(ram, 0, FAKE_NR_PAGES * 4096);
	memset(regs, 0, sizeof(regs));
	memset(hw_gdt, 0, sizeof(hw_gdt));
	memset(hw_ldt, 0, sizeof(hw_ldt));

	struct xk_boot_info *bi = (struct xk_boot_info *)region;
	bi->magic = XK_BOOT_MAGIC;
	bi->abi_version = XK_ABI_VERSION;
	bi->platform = XK_PLATFORM_PVM;
	bi->nr_vcpus = nr_vcpus;
	bi->domid = FAKE_DOMID;
	bi->nr_pages = FAKE_NR_PAGES;
	bi->stub_gpa = FAKE_NR_PAGES * 4096ULL;
	bi->stub_size = FAKE_REGION_SIZE;
	bi->total_frames = FAKE_NR_PAGES + FAKE_STUB_FRAMES;
	bi->m2p_va = XK_M2P_VA_PVM;
	bi->m2p_off = FAKE_M2P_OFF;
	bi->m2p_entries = bi->total_frames;
	bi->shared_info_off = FAKE_SHARED_OFF;
	bi->hostcall_off = FAKE_HOSTCALL_OFF;
	bi->host_pending_off = FAKE_HOSTPEND_OFF;
	bi->notify_off = FAKE_NOTIFY_OFF;
	bi->frame_info_off = FAKE_FRAMEINFO_OFF;
	bi->free_off = FAKE_REGION_SIZE;
	bi->tsc_khz = tsc_khz;
	bi->wallclock_ns = FAKE_WALLCLOCK_NS;
	bi->tsc_at_wallclock = rdtsc();
	bi->console_port = FAKE_CONSOLE_PORT;
	bi->store_port = FAKE_STORE_PORT;

	/* What stub_start() does on vCPU 0, with host buffers. */
	memset(&dom, 0, sizeof(dom));
	dom.bi = bi;
	dom.shared = (struct shared_info *)(region + bi->shared_info_off);
	dom.m2p = (uint64_t *)(region + bi->m2p_off);
	dom.directmap = ram;
	dom.nr_vcpus = nr_vcpus;
	dom.host_pending = (volatile uint64_t *)(region + bi->host_pending_off);
	dom.notify = (volatile uint64_t *)(region + bi->notify_off);
	for (unsigned i = 0; i < FAKE_MAX_VCPUS; i++) {
		struct pcpu *pc = pcpus[i];
		memset(pc, 0, sizeof(*pc));
		if (i >= nr_vcpus)
			continue;
		pc->hc = (struct xk_hostcall *)(region + bi->hostcall_off + i * 4096);
		pc->v.id = i;
		pc->v.vi = &dom.shared->vcpu_info[i];
		pc->v.vi->evtchn_upcall_mask = 1;
		pc->guest_regs = &regs[i];
		dom.pcpu[i] = pc;
	}
	core_test_evtchn_reset();
	mm_init();
	time_init();
	evtchn_init();
	for (unsigned i = 0; i < nr_vcpus; i++) {
		struct pcpu *pc = pcpus[i];
		struct vcpu *v = &pc->v;
		time_update_vcpu(pc);
		v->dr[6] = 0xffff0ff0;
		v->dr[7] = 0x400;
		v->runstate.state = RUNSTATE_running;
		v->runstate.state_entry_time = system_time_ns();
		v->in_kernel = true;
		v->kernel_ss = FLAT_KERNEL_SS64;
		v->online = true;
		v->initialised = true;
	}
	/* Start counting from here: setup calls are not the test's. */
	fake.arm_calls = 0;
	fake.hostcalls = 0;
	fake.raw_copies = 0;
}

struct pcpu *fake_pc(unsigned i)
{
	return pcpus[i];
}

struct cpu_regs *fake_regs(unsigned i)
{
	return &regs[i];
}

struct xk_boot_info *fake_bi(void)
{
	return (struct xk_boot_info *)region;
}

uint8_t *fake_ram(void)
{
	return ram;
}

uint64_t *fake_gdt(unsigned i)
{
	return hw_gdt[i];
}

uint64_t *fake_ldt(unsigned i)
{
	return hw_ldt[i];
}

uint32_t *fake_frame_info(void)
{
	return (uint32_t *)(region + FAKE_FRAMEINFO_OFF);
}

/* ---- guest access (platform/x86/uaccess.S on the real stub) ---- */

static bool faults(const void *p, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	if (!len)
		return false;
	return a < FAKE_FAULT_LIMIT || (a < fake.fault_hi && a + len > fake.fault_lo);
}

size_t raw_copy(void *dst, const void *src, size_t len)
{
	fake.raw_copies++;
	if (faults(dst, len) || faults(src, len))
		return len;
	memmove(dst, src, len);
	return 0;
}

bool fixup_exception(struct cpu_regs *r)
{
	return false;
}

/* console.c's printk finds its vCPU from %rsp, which is not a stub area
 * here: wrap_console.c renames it and this one records the line. */
void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fake.printk_last, sizeof(fake.printk_last), fmt, ap);
	va_end(ap);
	fake.printk_calls++;
}

/* ---- platform.h ---- */

void plat_cpu_init(struct pcpu *pc)
{
}

__attribute__((noreturn)) void plat_enter_guest(struct pcpu *pc)
{
	fake.enter_calls++;
	escape(FAKE_ESC_ENTER);
}

uint16_t plat_hw_cs(const struct pcpu *pc, bool kernel, bool compat)
{
	return kernel ? FAKE_HW_CS_KERNEL : compat ? FAKE_HW_CS_USER32 : FAKE_HW_CS_USER;
}

uint16_t plat_hw_ss(const struct pcpu *pc, bool kernel)
{
	return kernel ? FAKE_HW_SS_KERNEL : FAKE_HW_SS_USER;
}

bool plat_from_guest(const struct cpu_regs *r)
{
	return !fake.stub_mode;
}

uint64_t plat_read_cr2(struct pcpu *pc)
{
	return fake.cr2;
}

void plat_write_cr3(uint64_t cr3)
{
	fake.cr3_writes++;
	fake.cr3 = cr3;
}

uint64_t plat_read_cr3(void)
{
	return fake.cr3;
}

void plat_invlpg(uint64_t va)
{
	fake.invlpg_calls++;
	fake.invlpg_last = va;
}

void plat_flush_tlb(void)
{
	fake.flush_calls++;
}

void plat_set_ts(bool ts)
{
	fake.ts_calls++;
	fake.hw_ts = ts;
}

void plat_set_fs_base(uint64_t base)
{
	fake.fs_calls++;
	fake.fs_last = base;
}

void plat_set_gs_base(uint64_t base)
{
	fake.gs_calls++;
	fake.gs_last = base;
}

uint64_t plat_get_fs_base(void)
{
	return fake.fs_last;
}

uint64_t plat_get_gs_base(void)
{
	return fake.hw_gs_base;
}

void plat_load_gs_selector(uint16_t sel, uint64_t kernel_gs_base)
{
	fake.gs_sel_loads++;
	fake.gs_sel = sel;
	fake.gs_last = kernel_gs_base;
}

void plat_gdt_entry(struct pcpu *pc, unsigned idx, uint64_t desc)
{
	assert_true(idx < FIRST_RESERVED_GDT_ENTRY);
	hw_gdt[pc->v.id][idx] = desc;
}

void plat_ldt_entry(struct pcpu *pc, unsigned idx, uint64_t desc)
{
	assert_true(idx < 8192);
	hw_ldt[pc->v.id][idx] = desc;
}

void plat_load_ldt(struct pcpu *pc, unsigned nr_ents)
{
	fake.ldt_loads++;
	fake.ldt_ents = nr_ents;
}

void plat_arm_timer(uint64_t tsc)
{
	fake.arm_calls++;
	fake.arm_last = tsc;
}

void plat_timer_fired(void)
{
	/* (the fake LAPIC keeps no armed state) */
}

void plat_eoi(void)
{
	fake.eoi_calls++;
}

void plat_idle(void)
{
	unsigned n = ++fake.idle_calls;

	if (n > fake.idle_limit) {
		if (fake.escape)
			escape(FAKE_ESC_IDLE);
		fail_msg("plat_idle() called %u times: the vCPU would block forever", n);
		abort();
	}
	if (fake.idle_hook)
		fake.idle_hook(n);
}

void plat_irq_disable(void)
{
	fake.irq_disabled = 1;
}

void plat_irq_enable(void)
{
	fake.irq_disabled = 0;
}

void plat_hostcall(struct pcpu *pc)
{
	struct xk_hostcall *hc = pc->hc;
	size_t len = hc->len < XK_HOSTCALL_BUF ? hc->len : XK_HOSTCALL_BUF;

	fake.hostcalls++;
	fake.hc_last_op = hc->op;
	fake.hc_last_arg0 = hc->arg[0];
	fake.hc_last_len = hc->len;
	memcpy(fake.hc_last_buf, hc->buf, len);
	fake.hc_last_buf[len] = 0;
	hc->ret = fake.hc_ret;
	switch (hc->op) {
	case XK_HC_CONSOLE_WRITE:
		fake.console_bytes += hc->len;
		break;
	case XK_HC_CONSOLE_READ:
		if (fake.hc_read) {
			size_t n = strlen(fake.hc_read);
			if (n > hc->arg[0])
				n = hc->arg[0];
			memcpy(hc->buf, fake.hc_read, n);
			hc->ret = (int64_t)n;
		}
		break;
	case XK_HC_SHUTDOWN:
		fake.shutdown_reason = (unsigned)hc->arg[0];
		escape(FAKE_ESC_SHUTDOWN);
	case XK_HC_CRASH:
		memcpy(fake.crash_msg, hc->buf, len);
		fake.crash_msg[len] = 0;
		escape(FAKE_ESC_CRASH);
	}
}

void plat_doorbell(uint32_t port)
{
	fake.doorbell_calls++;
	fake.doorbell_last = port;
}

void plat_early_entry(uint64_t vcpu_id, struct xk_boot_info *bi)
{
	fail_msg("plat_early_entry is not used by core");
}

void plat_interrupted(struct pcpu *pc, struct cpu_regs *r)
{
	fake.interrupted_calls++;
}

/* Declared by newer platform.h versions; harmless where it is not. */
void plat_before_enter(struct pcpu *pc);
void plat_before_enter(struct pcpu *pc)
{
	fake.before_enter_calls++;
}

const char *plat_name(void)
{
	return "fake";
}

/* ---- privileged CR reads on the host ---- */

unsigned fake_cr_reads;
static uint64_t fake_cr[16];
static struct sigaction saved_segv;
static bool cr_trap_armed;

static const int greg_of[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static void cr_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	const uint8_t *ip = (const uint8_t *)uc->uc_mcontext.gregs[REG_RIP];
	unsigned rex = 0, n = 0;

	if ((ip[0] & 0xf0) == 0x40)
		rex = ip[n++];
	if (ip[n] != 0x0f || ip[n + 1] != 0x20 || (ip[n + 2] & 0xc0) != 0xc0) {
		/* Not ours: let the previous handler report the crash. */
		sigaction(SIGSEGV, &saved_segv, NULL);
		cr_trap_armed = false;
		return;
	}
	uint8_t modrm = ip[n + 2];
	unsigned cr = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
	unsigned reg = (modrm & 7) | ((rex & 1) ? 8 : 0);
	uc->uc_mcontext.gregs[greg_of[reg]] = (greg_t)fake_cr[cr];
	uc->uc_mcontext.gregs[REG_RIP] += n + 3;
	fake_cr_reads++;
}

void fake_cr_trap_on(uint64_t cr0, uint64_t cr4)
{
	struct sigaction sa;

	fake_cr[0] = cr0;
	fake_cr[4] = cr4;
	fake_cr_reads = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = cr_trap;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (!cr_trap_armed)
		sigaction(SIGSEGV, &sa, &saved_segv);
	cr_trap_armed = true;
}

void fake_cr_trap_off(void)
{
	if (cr_trap_armed)
		sigaction(SIGSEGV, &saved_segv, NULL);
	cr_trap_armed = false;
}
