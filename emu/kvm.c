/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /dev/kvm: host detection, the capability table, VM and vCPU creation.
 * Two kinds of KVM host: hardware (VT-x/AMD-V) and this project's
 * development hosts' PVM variant (module kvm_pvm), each with its own stub.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "xenkvm.h"

static bool path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static bool cpu_has_flag(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (char *tok = strtok(line, " \t\n:"); tok; tok = strtok(NULL, " \t\n:"))
			if (!strcmp(tok, flag))
				found = true;
		break;
	}
	fclose(f);
	return found;
}

enum xk_platform xk_detect_platform(const char **why)
{
	if (!path_exists("/dev/kvm")) {
		*why = "no /dev/kvm: KVM is not available on this host "
		       "(load kvm_intel or kvm_amd, or enable nested virtualization)";
		return XK_PLATFORM_NONE;
	}
	/* PVM first: a PVM host may also report vmx/svm of an outer level. */
	if (path_exists("/sys/module/kvm_pvm")) {
		*why = "kvm_pvm is loaded";
		return XK_PLATFORM_PVM;
	}
	if (path_exists("/sys/module/kvm_intel") || path_exists("/sys/module/kvm_amd") ||
	    cpu_has_flag("vmx") || cpu_has_flag("svm")) {
		*why = "hardware virtualization (VT-x/AMD-V)";
		return XK_PLATFORM_HW;
	}
	*why = "/dev/kvm exists but its kind is unknown (neither kvm_intel, kvm_amd nor kvm_pvm)";
	return XK_PLATFORM_NONE;
}

/* Required capabilities, checked at startup (kvmtool's style). */
static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
	{KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
	{KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
	{KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
	{KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER"},
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

int xk_kvm_open(struct xk_vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		if (errno == EACCES || errno == EPERM)
			xk_err("permission denied on /dev/kvm: run as root or add your user to "
			       "the 'kvm' group");
		else
			xk_err("cannot open /dev/kvm: %s", strerror(errno));
		return -1;
	}
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		xk_err("/dev/kvm speaks KVM API %d, xenkvm needs %d", api, KVM_API_VERSION);
		return -1;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			xk_err("this host's KVM lacks %s, which xenkvm requires",
			       required_caps[i].name);
			return -1;
		}
	}
	return 0;
}

static int set_mem(struct xk_vm *vm, unsigned slot, uint64_t gpa, void *host, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r)) {
		xk_err("KVM_SET_USER_MEMORY_REGION(slot %u, %llu MiB): %s", slot,
		       (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	return 0;
}

/* Anonymous guest memory, 2 MiB aligned and THP-advised, as QEMU does: KVM
 * maps guest frames with 2 MiB pages only where the host address is
 * congruent to the guest address modulo 2 MiB.  With 4 KiB mappings a
 * Debian boot took ~22,000 nested page faults on hw (bench/boot-bench) vs
 * ~1,400 for the same kernel under QEMU.  Not advised on PVM: there THP
 * made the same boot ~1.5x slower (shadow paging gains nothing from it).
 * munmap(ptr, size) frees it. */
static void *guest_mem(uint64_t size, bool thp)
{
	const uint64_t huge = 2ULL << 20;
	uint8_t *p = mmap(NULL, size + huge, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return MAP_FAILED;
	uint8_t *a = (uint8_t *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + size < p + size + huge)
		munmap(a + size, (size_t)(p + size + huge - (a + size)));
	if (thp)
		madvise(a, size, MADV_HUGEPAGE); /* advice only: failure is harmless */
	return a;
}

int xk_vm_create(struct xk_vm *vm)
{
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		xk_err("KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0)) {
		xk_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	/* On PVM the guest kernel's port I/O reaches KVM, not the stub: an
	 * in-kernel PIT answers Linux's CPU-frequency calibration (ports
	 * 0x40-0x43, 0x61) without ~100k exits to userspace per boot. */
	if (vm->platform == XK_PLATFORM_PVM) {
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
		if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) && vm->opt.verbose)
			fprintf(stderr, "xenkvm: KVM_CREATE_PIT2: %s (continuing)\n",
				strerror(errno));
	}
	bool thp = vm->platform == XK_PLATFORM_HW;
	vm->ram = guest_mem(vm->ram_size, thp);
	vm->stub = guest_mem(vm->stub_size, thp);
	if (vm->ram == MAP_FAILED || vm->stub == MAP_FAILED) {
		xk_err("cannot allocate %llu MiB of guest memory: %s",
		       (unsigned long long)(vm->ram_size >> 20), strerror(errno));
		vm->ram = vm->stub = NULL;
		return -1;
	}
	if (set_mem(vm, 0, 0, vm->ram, vm->ram_size) ||
	    set_mem(vm, 1, vm->stub_gpa, vm->stub, vm->stub_size))
		return -1;
	return 0;
}

int xk_vcpu_create(struct xk_vm *vm, unsigned id)
{
	struct xk_vcpu *vc = &vm->vcpu[id];
	int sz;

	vc->vm = vm;
	vc->id = id;
	vc->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vc->fd < 0) {
		xk_err("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return -1;
	}
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vc->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vc->fd, 0);
	if (vc->run == MAP_FAILED) {
		xk_err("mmap kvm_run: %s", strerror(errno));
		return -1;
	}

	/* CPUID as KVM supports it, plus x2APIC and the TSC-deadline timer
	 * that the stub programs (hidden again in the guest's PV view). */
	int n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -1;
	c->nent = n;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c)) {
		xk_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return -1;
	}
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1) {
			e->ecx |= (1u << 21) | (1u << 24);
			e->ebx = (e->ebx & 0x00ffffff) | (id << 24); /* initial APIC id */
		}
		/* KVM_FEATURE_PV_EOI: the stub then skips most EOI writes
		 * (each one a VM exit on hw, a trapped wrmsr on PVM). */
		if (e->function == 0x40000001 && (e->eax & (1u << 6)))
			vm->pv_eoi = true;
	}
	if (ioctl(vc->fd, KVM_SET_CPUID2, c)) {
		xk_err("KVM_SET_CPUID2: %s", strerror(errno));
		free(c);
		return -1;
	}
	free(c);
	return 0;
}

int xk_vcpu_setup_regs(struct xk_vm *vm, unsigned id)
{
	struct xk_vcpu *vc = &vm->vcpu[id];
	struct kvm_sregs s;
	bool hw = vm->platform == XK_PLATFORM_HW;

	if (ioctl(vc->fd, KVM_GET_SREGS, &s)) {
		xk_err("KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	/* Long mode, ring 0, on the selectors the stub's own GDT will hold;
	 * the stub loads its GDT/IDT/TSS itself. */
	struct kvm_segment cs = {.base = 0, .limit = 0xffffffff, .selector = hw ? 0xe008 : 0x10,
				 .type = 11, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1,
				 .g = 1};
	struct kvm_segment ds = {.base = 0, .limit = 0xffffffff, .selector = hw ? 0xe010 : 0x18,
				 .type = 3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0,
				 .g = 1};
	/* TR points at the TSS the stub fills in before any exception can
	 * happen; PVM uses this one rather than the stub's later ltr. */
	uint64_t tss = XK_STUB_VA + vm->bi->vcpu_area_off + (uint64_t)id * XK_VCPU_AREA_SIZE +
		       XK_VCPU_TSS_OFF;
	struct kvm_segment tr = {.base = tss, .limit = 0x67, .selector = XK_TSS_SEL(id),
				 .type = 11, .present = 1, .s = 0};
	s.cs = cs;
	s.ss = s.ds = s.es = s.fs = s.gs = ds;
	s.tr = tr;
	s.gdt.base = 0;
	s.gdt.limit = 0;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = 0x80050033; /* PG AM WP NE ET MP PE */
	s.cr4 = 0x6a0;      /* OSXMMEXCPT OSFXSR PGE PAE */
	s.efer = 0xd01;     /* NXE LMA LME SCE */
	s.cr3 = vm->bi->vcpu0.cr3;
	/* PVM: CR4.OSXSAVE makes the stub report XSAVE to the guest kernel
	 * (and KVM accept its xsetbv), so that Linux context-switches the
	 * AVX/AVX-512 state its user space uses natively on this host
	 * (docs/architecture.md, "AVX state on pvm"). */
	if (!hw)
		s.cr4 |= 1u << 18; /* OSXSAVE */
	if (ioctl(vc->fd, KVM_SET_SREGS, &s)) {
		xk_err("KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}
	struct kvm_regs r;
	memset(&r, 0, sizeof(r));
	r.rip = XK_STUB_VA + XK_STUB_IMAGE_OFF;
	r.rsp = XK_STUB_VA + vm->bi->vcpu_area_off + (uint64_t)(id + 1) * XK_VCPU_AREA_SIZE;
	r.rdi = id;
	r.rsi = XK_STUB_VA + XK_BOOTINFO_OFF;
	r.rflags = 2;
	if (ioctl(vc->fd, KVM_SET_REGS, &r)) {
		xk_err("KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void xk_vcpu_dump(struct xk_vcpu *vc, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vc->fd, KVM_GET_REGS, &r) || ioctl(vc->fd, KVM_GET_SREGS, &s)) {
		fprintf(stderr, "xenkvm: vcpu %u: %s (registers unavailable)\n", vc->id, why);
		return;
	}
	fprintf(stderr,
		"xenkvm: vcpu %u: %s\n"
		"  rip %016llx rsp %016llx rflags %08llx\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n"
		"  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n"
		"  r13 %016llx r14 %016llx r15 %016llx\n"
		"  cs %04x ss %04x cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx\n",
		vc->id, why, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
		r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cs.selector,
		s.ss.selector, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

/* After a triple fault the CPU state is gone (SVM resets the vCPU), but the
 * stub's memory is not: print the frame of the last entry from the guest
 * (struct cpu_regs at the stack top, guest-stub/include/stub.h) and the
 * words an exception pushed on IST1 (#DF/NMI/#MC, guest-stub x86.c). */
void xk_vcpu_post_mortem(struct xk_vcpu *vc)
{
	struct xk_vm *vm = vc->vm;
	const uint8_t *area = vm->stub + vm->bi->vcpu_area_off + (uint64_t)vc->id * XK_VCPU_AREA_SIZE;
	const uint64_t *f = (const uint64_t *)(area + XK_VCPU_AREA_SIZE) - 22;
	const uint64_t *ist1 = (const uint64_t *)(area + 0x7800) - 7;

	fprintf(stderr,
		"  last guest entry: vector %#llx error %#llx rip %016llx cs %llx rflags %llx "
		"rsp %016llx ss %llx\n"
		"    rax %016llx rcx %016llx rdx %016llx rdi %016llx rsi %016llx\n",
		(unsigned long long)(f[15] & 0xffffffff), (unsigned long long)f[16],
		(unsigned long long)f[17], (unsigned long long)f[18], (unsigned long long)f[19],
		(unsigned long long)f[20], (unsigned long long)f[21], (unsigned long long)f[10],
		(unsigned long long)f[11], (unsigned long long)f[12], (unsigned long long)f[14],
		(unsigned long long)f[13]);
	fprintf(stderr, "  IST1 top: %016llx %016llx %016llx %016llx %016llx %016llx %016llx\n",
		(unsigned long long)ist1[0], (unsigned long long)ist1[1],
		(unsigned long long)ist1[2], (unsigned long long)ist1[3],
		(unsigned long long)ist1[4], (unsigned long long)ist1[5],
		(unsigned long long)ist1[6]);
	/* Stub return addresses still on the stack below the frame. */
	fprintf(stderr, "  stub text addresses on the stack:");
	unsigned n = 0;
	for (const uint64_t *p = f - 1; p >= (const uint64_t *)(area + 0x8800) && n < 24; p--)
		if ((*p >> 39) == (XK_STUB_VA >> 39) && *p < XK_STUB_VA + vm->bi->vcpu_area_off) {
			fprintf(stderr, " %llx@%llx", (unsigned long long)(*p - XK_STUB_VA),
				(unsigned long long)((const uint8_t *)p - area));
			n++;
		}
	fprintf(stderr, "\n");
}

/* A guest-physical address of RAM or of the stub region, or NULL. */
static const uint8_t *pm_gpa(const struct xk_vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa < vm->ram_size && len <= vm->ram_size - gpa)
		return vm->ram + gpa;
	if (gpa >= vm->stub_gpa && gpa - vm->stub_gpa < vm->stub_size &&
	    len <= vm->stub_size - (gpa - vm->stub_gpa))
		return vm->stub + (gpa - vm->stub_gpa);
	return NULL;
}

/* Walk va through the 4-level tables at cr3; the GPA, or ~0 (and why). */
static uint64_t pm_walk(const struct xk_vm *vm, uint64_t cr3, uint64_t va, bool write,
			const char **why)
{
	uint64_t table = cr3 & 0x000ffffffffff000ULL;

	for (int level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		const uint8_t *t = pm_gpa(vm, table, 4096);
		if (!t) {
			*why = "table outside guest memory";
			return ~0ULL;
		}
		uint64_t e;
		memcpy(&e, t + ((va >> shift) & 511) * 8, 8);
		if (!(e & 1)) {
			*why = level == 4 ? "L4 entry not present" : "entry not present";
			return ~0ULL;
		}
		if (write && !(e & 2)) {
			*why = "read-only";
			return ~0ULL;
		}
		uint64_t addr = e & 0x000ffffffffff000ULL;
		if (level == 1 || ((level == 2 || level == 3) && (e & 0x80))) {
			uint64_t mask = (1ULL << shift) - 1;
			return (addr & ~mask) | (va & mask);
		}
		table = addr;
	}
	*why = "unreachable";
	return ~0ULL;
}

static void print_vectors(const char *name, const uint8_t *regs, unsigned base)
{
	fprintf(stderr, " %s", name);
	unsigned n = 0;
	for (unsigned v = 0; v < 256; v++) {
		uint32_t w;
		memcpy(&w, regs + base + (v / 32) * 0x10, 4);
		if (w & (1u << (v % 32))) {
			fprintf(stderr, " %#x", v);
			n++;
		}
	}
	if (!n)
		fprintf(stderr, " -");
}

/* A stalled guest (timeout, or a signal with -v): where its interrupts,
 * events and timer stood - the LAPIC's in-service and requested vectors
 * and deadline, the stub's pending softirqs and armed deadline, KVM's PV
 * EOI word, the vcpu_info upcall flags.  A vector stuck in service, an
 * upcall pending but masked, or a guest deadline with no LAPIC deadline
 * behind it each name a different bug. */
void xk_vcpu_event_state(struct xk_vcpu *vc)
{
	const struct xk_vm *vm = vc->vm;
	const uint8_t *area =
	    vm->stub + vm->bi->vcpu_area_off + (uint64_t)vc->id * XK_VCPU_AREA_SIZE;
	struct kvm_lapic_state lapic;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[2];
	} msrs = {.h.nmsrs = 2,
		  .e = {{.index = 0x10 /* TSC */}, {.index = 0x6e0 /* TSC_DEADLINE */}}};

	fprintf(stderr, "  events:");
	if (!ioctl(vc->fd, KVM_GET_LAPIC, &lapic)) {
		const uint8_t *r = (const uint8_t *)lapic.regs;
		uint32_t lvtt;
		memcpy(&lvtt, r + 0x320, 4);
		print_vectors("LAPIC ISR", r, 0x100);
		print_vectors("IRR", r, 0x200);
		fprintf(stderr, " LVTT %#x", lvtt);
	}
	if (ioctl(vc->fd, KVM_GET_MSRS, &msrs) == 2)
		fprintf(stderr, "; TSC %llu deadline %llu", (unsigned long long)msrs.e[0].data,
			(unsigned long long)msrs.e[1].data);
	uint64_t armed, single, pv_eoi, vi, cr3;
	uint8_t softirq, blocked;
	memcpy(&armed, area + XK_PCPU_TIMER_ARMED_OFF, 8);
	memcpy(&single, area + XK_PCPU_SINGLESHOT_OFF, 8);
	memcpy(&pv_eoi, area + XK_PCPU_PV_EOI_OFF, 8);
	memcpy(&vi, area + XK_PCPU_VI_OFF, 8);
	memcpy(&cr3, area + XK_PCPU_CR3_OFF, 8);
	softirq = area[XK_PCPU_SOFTIRQ_OFF];
	blocked = area[XK_PCPU_BLOCKED_OFF];
	fprintf(stderr,
		"\n  stub: softirq %#x blocked %u timer armed %llu guest singleshot %llu "
		"PV EOI word %#llx",
		softirq, blocked, (unsigned long long)armed, (unsigned long long)single,
		(unsigned long long)pv_eoi);
	const char *why = "no vcpu_info";
	uint64_t gpa = vi ? pm_walk(vm, cr3, vi, false, &why) : ~0ULL;
	const uint8_t *p = gpa != ~0ULL ? pm_gpa(vm, gpa, 16) : NULL;
	if (p) {
		uint64_t sel;
		memcpy(&sel, p + 8, 8);
		fprintf(stderr, "; vcpu_info upcall pending %u mask %u pending_sel %#llx\n", p[0],
			p[1], (unsigned long long)sel);
	} else {
		fprintf(stderr, "; vcpu_info at %#llx unreadable (%s)\n", (unsigned long long)vi,
			why);
	}
}

/* After a triple fault: were the tables the CPU needs to deliver an
 * exception from the guest (IDT, GDT, TSS, stub stack, IST1) reachable and
 * sane through the CR3 the stub last loaded?  If all of them are, the
 * stub's state allowed delivery and the fault lies below it (the CPU, or
 * in the KVM box the emulated SVM). */
void xk_vcpu_check_stub_tables(struct xk_vcpu *vc)
{
	const struct xk_vm *vm = vc->vm;
	const struct xk_boot_info *bi = vm->bi;
	const uint8_t *area = vm->stub + bi->vcpu_area_off + (uint64_t)vc->id * XK_VCPU_AREA_SIZE;
	uint64_t area_va = XK_STUB_VA + bi->vcpu_area_off + (uint64_t)vc->id * XK_VCPU_AREA_SIZE;
	uint64_t gdt_va = XK_STUB_VA + bi->desc_off + (uint64_t)vc->id * XK_DESC_AREA_SIZE;
	uint64_t cr3;
	unsigned bad = 0;

	memcpy(&cr3, area + XK_PCPU_CR3_OFF, 8);
	fprintf(stderr, "  stub tables through CR3 %llx:", (unsigned long long)cr3);
	const uint8_t *l4 = pm_gpa(vm, cr3 & ~0xfffULL, 4096);
	if (!l4) {
		fprintf(stderr, " CR3 outside guest memory\n");
		return;
	}
	for (unsigned i = 0; i < XK_HOLE_NR_SLOTS; i++) {
		uint64_t e;
		memcpy(&e, l4 + (XK_HOLE_FIRST_SLOT + i) * 8, 8);
		if (e != bi->hole_l4e[i]) {
			fprintf(stderr, " L4[%u]=%llx (want %llx)", XK_HOLE_FIRST_SLOT + i,
				(unsigned long long)e, (unsigned long long)bi->hole_l4e[i]);
			bad++;
		}
	}
	static const struct {
		const char *name;
		uint64_t off; /* from the area, or from the GDT if gdt */
		bool gdt, write;
	} need[] = {
		{"IDT", XK_VCPU_IDT_OFF, false, false},
		{"IDT end", XK_VCPU_IDT_OFF + 4095, false, false},
		{"entry block", 0x3000, false, false},
		{"TSS", XK_VCPU_TSS_OFF, false, false},
		{"stack top", XK_VCPU_AREA_SIZE - 8, false, true},
		{"IST1 top", XK_VCPU_IST1_TOP - 8, false, true},
		{"GDT", 0, true, false},
		{"GDT 0xe000", 0xe000, true, false},
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		uint64_t va = (need[i].gdt ? gdt_va : area_va) + need[i].off;
		const char *why = NULL;
		uint64_t gpa = pm_walk(vm, cr3, va, need[i].write, &why);
		if (gpa != vm->stub_gpa + (va - XK_STUB_VA)) {
			fprintf(stderr, " %s: %s", need[i].name,
				gpa == ~0ULL ? why : "maps the wrong frame");
			bad++;
		}
	}
	/* The gates the failing deliveries would use: #DF, #GP, #PF, the
	 * timer and event interrupts. */
	static const unsigned vecs[] = {8, 13, 14, XK_VEC_EVENT, XK_VEC_TIMER};
	const uint8_t *idt = area + XK_VCPU_IDT_OFF;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		uint64_t lo, hi;
		memcpy(&lo, idt + 16 * vecs[i], 8);
		memcpy(&hi, idt + 16 * vecs[i] + 8, 8);
		uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ULL) | (hi << 32);
		unsigned type = (lo >> 40) & 0xff, ist = (lo >> 32) & 7;
		if (!(type & 0x80) || (type & 0x1f) != 0xe || target < area_va + 0x3000 ||
		    target >= area_va + XK_VCPU_IDT_OFF || (vecs[i] == 8 && ist != 1)) {
			fprintf(stderr, " gate %#x: %016llx %016llx", vecs[i],
				(unsigned long long)lo, (unsigned long long)hi);
			bad++;
		}
	}
	const uint8_t *tss = area + XK_VCPU_TSS_OFF;
	uint64_t rsp0, ist1;
	memcpy(&rsp0, tss + 4, 8);
	memcpy(&ist1, tss + 36, 8);
	if (rsp0 != area_va + XK_VCPU_AREA_SIZE || ist1 != area_va + XK_VCPU_IST1_TOP) {
		fprintf(stderr, " TSS rsp0 %llx ist1 %llx", (unsigned long long)rsp0,
			(unsigned long long)ist1);
		bad++;
	}
	const uint8_t *gdt = vm->stub + bi->desc_off + (uint64_t)vc->id * XK_DESC_AREA_SIZE;
	uint64_t tlo, thi;
	memcpy(&tlo, gdt + XK_TSS_SEL(vc->id), 8);
	memcpy(&thi, gdt + XK_TSS_SEL(vc->id) + 8, 8);
	uint64_t tbase = ((tlo >> 16) & 0xffffff) | (((tlo >> 56) & 0xff) << 24) | (thi << 32);
	if (((tlo >> 40) & 0x9d) != 0x89 || tbase != area_va + XK_VCPU_TSS_OFF) {
		fprintf(stderr, " TSS descriptor %016llx %016llx", (unsigned long long)tlo,
			(unsigned long long)thi);
		bad++;
	}
	fprintf(stderr, bad ? " (%u problems)\n" : " all reachable and consistent\n", bad);
}

void xk_vm_destroy(struct xk_vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu[i].fd > 0)
			close(vm->vcpu[i].fd);
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	if (vm->stub)
		munmap(vm->stub, vm->stub_size);
	if (vm->vm_fd > 0)
		close(vm->vm_fd);
	if (vm->kvm_fd > 0)
		close(vm->kvm_fd);
}
