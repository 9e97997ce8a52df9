/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Domain construction on the host side: size and lay out the stub region
 * (boot info, stub image, per-vCPU areas, shared_info, M2P, the page tables
 * of the Xen hole), run the domain builder over guest RAM, fill the M2P and
 * the boot info the stub starts from.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "xenkvm.h"
#include "builder/builder.h"

#define PG 4096ULL
#define PTE_P   0x001ULL
#define PTE_RW  0x002ULL
#define PTE_U   0x004ULL
#define PTE_A   0x020ULL
#define PTE_D   0x040ULL
#define PTE_PSE 0x080ULL

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Offsets of the dynamic part of the stub region, a pure function of the
 * RAM size and vCPU count. */
struct stub_layout {
	uint64_t vcpu_area, hostcall, shared_info, host_pending, notify, frame_info;
	uint64_t grant, grant_status, desc;
	uint64_t m2p, m2p_entries, pt, pt_pages, size;
};

static void stub_layout(uint64_t ram_pages, unsigned nr_vcpus, uint64_t stub_gpa,
			struct stub_layout *l)
{
	uint64_t size = 8ULL << 20;

	/* The M2P covers every frame, its own included: iterate to a fixed
	 * point (sizes only grow, so this terminates). */
	for (;;) {
		uint64_t off = XK_STUB_DYN_OFF;
		l->vcpu_area = off;
		off += (uint64_t)nr_vcpus * XK_VCPU_AREA_SIZE;
		l->hostcall = off;
		off += (uint64_t)nr_vcpus * PG;
		l->shared_info = off;
		off += PG;
		l->host_pending = off;
		off += PG;
		l->notify = off;
		off += PG;
		l->frame_info = off;
		off += align_up(ram_pages * 8, PG);
		l->desc = off;
		off += (uint64_t)nr_vcpus * XK_DESC_AREA_SIZE;
		l->grant = off;
		off += XK_GRANT_FRAMES * PG;
		l->grant_status = off;
		off += XK_GRANT_STATUS_FRAMES * PG;
		l->m2p_entries = (stub_gpa + size) / PG;
		l->m2p = off;
		off += align_up(l->m2p_entries * 8, PG);
		l->pt = off;
		l->pt_pages = 8 + (size >> 21) + 1 + ((stub_gpa + size) >> 30) + 1 +
			      ((l->m2p_entries * 8) >> 21) + 1;
		off += l->pt_pages * PG;
		uint64_t need = align_up(off, 2ULL << 20);
		if (need <= size) {
			l->size = size;
			return;
		}
		size = need;
	}
}

struct pt_alloc {
	struct xk_vm *vm;
	uint64_t next, end; /* offsets in the stub region */
};

static uint64_t *pt_new(struct pt_alloc *pa, uint64_t *gpa)
{
	if (pa->next + PG > pa->end)
		return NULL;
	*gpa = pa->vm->stub_gpa + pa->next;
	uint64_t *t = (uint64_t *)(pa->vm->stub + pa->next);
	memset(t, 0, PG);
	pa->next += PG;
	return t;
}

static uint64_t *gpa_ptr(struct xk_vm *vm, uint64_t gpa)
{
	return (uint64_t *)(vm->stub + (gpa - vm->stub_gpa));
}

/* Map [va, va+len) -> [gpa, ...) with 4 KiB pages under L3 table l3 (one
 * L4 slot's worth). */
static int map_4k(struct pt_alloc *pa, uint64_t *l3, uint64_t va, uint64_t gpa, uint64_t len,
		  uint64_t upper, uint64_t leaf)
{
	for (uint64_t o = 0; o < len; o += PG) {
		uint64_t v = va + o, tg;
		uint64_t *l3e = &l3[(v >> 30) & 511];
		if (!*l3e) {
			if (!pt_new(pa, &tg))
				return -1;
			*l3e = tg | upper;
		}
		uint64_t *l2 = gpa_ptr(pa->vm, *l3e & ~0xfffULL);
		uint64_t *l2e = &l2[(v >> 21) & 511];
		if (!*l2e) {
			if (!pt_new(pa, &tg))
				return -1;
			*l2e = tg | upper;
		}
		uint64_t *l1 = gpa_ptr(pa->vm, *l2e & ~0xfffULL);
		l1[(v >> 12) & 511] = (gpa + o) | leaf;
	}
	return 0;
}

/* Build the tables behind the hole's L4 slots: the stub region (linear),
 * all GPAs (direct map, 2 MiB pages) and the read-only M2P. */
static int build_hole(struct xk_vm *vm, const struct stub_layout *l, uint64_t hole[16])
{
	struct pt_alloc pa = {vm, l->pt, l->pt + l->pt_pages * PG};
	bool pvm = vm->platform == XK_PLATFORM_PVM;
	/* On PVM everything the stub touches natively must be U=1
	 * (pvm-host-probe): the stub is not isolated from the guest there. */
	uint64_t u = pvm ? PTE_U : 0;
	uint64_t upper = PTE_P | PTE_RW | PTE_A | PTE_D | u;
	uint64_t leaf = PTE_P | PTE_RW | PTE_A | PTE_D | u;
	uint64_t g, total = vm->stub_gpa + vm->stub_size;

	memset(hole, 0, 16 * sizeof(hole[0]));

	uint64_t *l3 = pt_new(&pa, &g);
	if (!l3)
		return -1;
	hole[((XK_STUB_VA >> 39) & 511) - 256] = g | upper;
	if (map_4k(&pa, l3, XK_STUB_VA, vm->stub_gpa, vm->stub_size, upper, leaf))
		return -1;

	l3 = pt_new(&pa, &g);
	if (!l3)
		return -1;
	hole[((XK_DIRECTMAP_VA >> 39) & 511) - 256] = g | upper;
	for (uint64_t a = 0; a < total; a += 2ULL << 20) {
		uint64_t *l3e = &l3[(a >> 30) & 511], tg;
		if (!*l3e) {
			if (!pt_new(&pa, &tg))
				return -1;
			*l3e = tg | upper;
		}
		gpa_ptr(vm, *l3e & ~0xfffULL)[(a >> 21) & 511] = a | leaf | PTE_PSE;
	}

	/* M2P: read-only, user-readable (the guest reads it directly). */
	uint64_t m2p_va = pvm ? XK_M2P_VA_PVM : XK_M2P_VA_HW;
	l3 = pt_new(&pa, &g);
	if (!l3)
		return -1;
	hole[((m2p_va >> 39) & 511) - 256] = g | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_U;
	if (map_4k(&pa, l3, m2p_va, vm->stub_gpa + l->m2p, align_up(l->m2p_entries * 8, PG),
		   PTE_P | PTE_RW | PTE_A | PTE_D | PTE_U, PTE_P | PTE_A | PTE_U))
		return -1;
	return 0;
}

static int read_file(const char *path, const char *what, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		xk_err("cannot open %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		xk_err("%s '%s' is not a regular file", what, path);
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		xk_err("%s '%s' is empty", what, path);
		close(fd);
		return -1;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len);
	if (!*buf) {
		close(fd);
		xk_err("out of memory reading %s", path);
		return -1;
	}
	size_t got = 0;
	while (got < *len) {
		ssize_t n = read(fd, *buf + got, *len - got);
		if (n <= 0) {
			xk_err("reading %s '%s': %s", what, path, n ? strerror(errno) : "short read");
			free(*buf);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	return 0;
}

static uint64_t tsc_khz_of(struct xk_vm *vm)
{
	int khz = ioctl(vm->vcpu[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0)
		return (uint64_t)khz;
	/* Fall back to timing the host TSC (same rate without scaling). */
	struct timespec a, b;
	uint32_t lo, hi;
	clock_gettime(CLOCK_MONOTONIC, &a);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t t0 = ((uint64_t)hi << 32) | lo;
	usleep(50000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t t1 = ((uint64_t)hi << 32) | lo;
	uint64_t ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ULL + (uint64_t)b.tv_nsec -
		      (uint64_t)a.tv_nsec;
	return (t1 - t0) * 1000000ULL / ns;
}

static int guest_tsc_now(struct xk_vm *vm, uint64_t *tsc)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m;
	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.e[0].index = 0x10; /* IA32_TSC, as the guest sees it */
	if (ioctl(vm->vcpu[0].fd, KVM_GET_MSRS, &m) != 1)
		return -1;
	*tsc = m.e[0].data;
	return 0;
}

static uint64_t *make_p2m(uint64_t nr_pages, bool scramble)
{
	uint64_t *p2m = malloc(nr_pages * sizeof(*p2m));
	if (!p2m)
		return NULL;
	for (uint64_t i = 0; i < nr_pages; i++)
		p2m[i] = i;
	if (scramble) {
		/* Fisher-Yates: a random permutation, as real Xen hosts give
		 * non-contiguous machine frames. */
		for (uint64_t i = nr_pages - 1; i > 0; i--) {
			uint64_t r;
			if (getrandom(&r, sizeof(r), 0) != sizeof(r))
				r = (uint64_t)rand() * 2654435761ULL;
			uint64_t j = r % (i + 1), t = p2m[i];
			p2m[i] = p2m[j];
			p2m[j] = t;
		}
	}
	return p2m;
}

void xk_domain_handle(const struct xk_options *opt, uint8_t uuid[16])
{
	for (int i = 0; i < 16; i++)
		uuid[i] = opt->have_uuid ? opt->uuid[i] : (uint8_t)(0x5a ^ i);
}

int xk_domain_build(struct xk_vm *vm)
{
	const struct xk_options *o = &vm->opt;
	uint8_t *kimg = NULL, *rd = NULL;
	size_t klen = 0, rdlen = 0;
	struct xk_kernel k;
	struct xk_build_result *res = NULL;
	uint64_t *p2m = NULL;
	char err[XK_ERRLEN] = "";
	int rc = -1;

	memset(&k, 0, sizeof(k));
	if (read_file(o->kernel, "kernel", &kimg, &klen))
		return -1;
	if (o->ramdisk && read_file(o->ramdisk, "ramdisk", &rd, &rdlen))
		goto out;
	if (xk_kernel_parse(kimg, klen, &k, err)) {
		xk_err("kernel '%s': %s", o->kernel, err);
		goto out;
	}

	vm->ram_size = o->memory_mib << 20;
	uint64_t nr_pages = vm->ram_size / PG;
	struct xk_layout lay;
	if (xk_layout_compute(&k, nr_pages, rdlen, &lay, err)) {
		xk_err("kernel '%s': %s", o->kernel, err);
		goto out;
	}
	vm->stub_gpa = align_up(vm->ram_size, 2ULL << 20);
	struct stub_layout sl;
	stub_layout(nr_pages, vm->nr_vcpus, vm->stub_gpa, &sl);
	vm->stub_size = sl.size;

	if (xk_vm_create(vm))
		goto out;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (xk_vcpu_create(vm, i))
			goto out;

	/* Stub image and region. */
	const uint8_t *img = vm->platform == XK_PLATFORM_HW ? xk_stub_hw : xk_stub_pvm;
	size_t img_len = vm->platform == XK_PLATFORM_HW ? xk_stub_hw_len : xk_stub_pvm_len;
	if (img_len > XK_STUB_IMAGE_MAX) {
		xk_err("internal: stub image too large");
		goto out;
	}
	memcpy(vm->stub + XK_STUB_IMAGE_OFF, img, img_len);

	struct xk_boot_info *bi = (struct xk_boot_info *)(vm->stub + XK_BOOTINFO_OFF);
	vm->bi = bi;
	uint64_t hole[16];
	if (build_hole(vm, &sl, hole)) {
		xk_err("internal: stub page-table area too small");
		goto out;
	}

	p2m = make_p2m(nr_pages, o->scramble_p2m);
	res = calloc(1, sizeof(*res));
	if (!p2m || !res) {
		xk_err("out of memory");
		goto out;
	}
	struct xk_build_params bp = {
		.k = &k, .nr_pages = nr_pages, .ramdisk = rd, .ramdisk_len = rdlen,
		.cmdline = o->extra, .p2m = p2m, .ram = vm->ram,
		.shared_info_maddr = vm->stub_gpa + sl.shared_info,
		.console_evtchn = 1, .store_evtchn = 2, .domid = 1,
	};
	memcpy(bp.hole_l4e, hole, sizeof(hole));
	if (xk_build(&bp, res, err)) {
		xk_err("building the domain: %s", err);
		goto out;
	}

	/* M2P: RAM frames map back to their PFN, everything else is invalid. */
	uint64_t *m2p = (uint64_t *)(vm->stub + sl.m2p);
	for (uint64_t m = 0; m < sl.m2p_entries; m++)
		m2p[m] = ~0ULL;
	for (uint64_t pfn = 0; pfn < nr_pages; pfn++)
		m2p[p2m[pfn]] = pfn;

	bi->magic = XK_BOOT_MAGIC;
	bi->abi_version = XK_ABI_VERSION;
	/* XENKVM_NO_PV_EOI: benchmarks (the EOI exits PV EOI saves). */
	bi->features = vm->pv_eoi && !getenv("XENKVM_NO_PV_EOI") ? XK_FEAT_PV_EOI : 0;
	if (vm->platform == XK_PLATFORM_HW && vm->opt.kernel_ring != 3)
		bi->features |= XK_FEAT_KERNEL_RING1;
	if (vm->opt.verbose && vm->platform == XK_PLATFORM_HW)
		fprintf(stderr, "xenkvm: guest kernel in ring %d\n",
			bi->features & XK_FEAT_KERNEL_RING1 ? 1 : 3);
	if (vm->opt.verbose)
		fprintf(stderr, "xenkvm: KVM PV EOI: %s\n",
			bi->features & XK_FEAT_PV_EOI ? "used"
			: vm->pv_eoi		      ? "offered, not used"
						      : "not offered");
	bi->platform = vm->platform;
	bi->nr_vcpus = vm->nr_vcpus;
	bi->domid = 1;
	xk_domain_handle(&vm->opt, bi->handle);
	bi->nr_pages = nr_pages;
	bi->stub_gpa = vm->stub_gpa;
	bi->stub_size = vm->stub_size;
	bi->total_frames = (vm->stub_gpa + vm->stub_size) / PG;
	bi->m2p_va = vm->platform == XK_PLATFORM_PVM ? XK_M2P_VA_PVM : XK_M2P_VA_HW;
	bi->m2p_off = sl.m2p;
	bi->m2p_entries = sl.m2p_entries;
	bi->shared_info_off = sl.shared_info;
	bi->vcpu_area_off = sl.vcpu_area;
	bi->hostcall_off = sl.hostcall;
	bi->host_pending_off = sl.host_pending;
	bi->notify_off = sl.notify;
	bi->frame_info_off = sl.frame_info;
	bi->grant_off = sl.grant;
	bi->grant_frames = XK_GRANT_FRAMES;
	bi->grant_status_off = sl.grant_status;
	bi->grant_status_frames = XK_GRANT_STATUS_FRAMES;
	bi->desc_off = sl.desc;
	bi->free_off = sl.pt + sl.pt_pages * PG;
	memcpy(bi->hole_l4e, hole, sizeof(hole));
	bi->console_port = bp.console_evtchn;
	bi->store_port = bp.store_evtchn;
	bi->console_frame = res->console_mfn;
	bi->store_frame = res->store_mfn;
	bi->start_info_va = res->start_info_va;
	bi->vcpu0.rip = res->entry;
	bi->vcpu0.rsp = res->stack_top_va;
	bi->vcpu0.rsi = res->start_info_va;
	bi->vcpu0.cr3 = res->l4_maddr;
	bi->vcpu0.hypercall_page_va = res->hypercall_page_va;
	bi->vcpu0.flags = o->trace_hypercalls ? XK_BOOTF_TRACE_HYPERCALLS : 0;
	bi->tsc_khz = tsc_khz_of(vm);
	struct timespec ts;
	uint64_t tsc;
	if (guest_tsc_now(vm, &tsc)) {
		xk_err("cannot read the guest TSC (KVM_GET_MSRS): %s", strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	bi->tsc_at_wallclock = tsc;
	bi->wallclock_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (xk_vcpu_setup_regs(vm, i))
			goto out;
	if (o->verbose)
		fprintf(stderr,
			"xenkvm: %s platform, %llu MiB, kernel %s (%s%s), entry %llx, "
			"stub at GPA %llx (+%llu KiB)\n",
			vm->platform == XK_PLATFORM_HW ? "hw" : "pvm",
			(unsigned long long)o->memory_mib, o->kernel,
			k.is_bzimage ? "bzImage " : "ELF", k.is_bzimage ? k.compression : "",
			(unsigned long long)res->entry, (unsigned long long)vm->stub_gpa,
			(unsigned long long)(vm->stub_size >> 10));
	/* From here on the guest may write the page: keep what we wrote. */
	vm->bi_copy = *bi;
	vm->bi_live = bi;
	vm->bi = &vm->bi_copy;
	rc = 0;
out:
	xk_kernel_free(&k);
	free(kimg);
	free(rd);
	free(p2m);
	free(res);
	return rc;
}
