/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The stub <-> launcher ABI: memory layout of the stub region, the boot-info
 * block the launcher fills before the first KVM_RUN, and the synchronous
 * hostcall block.  Freestanding: included by the stub and by host code.
 */
#ifndef XENKVM_STUBABI_H
#define XENKVM_STUBABI_H

#include <stdint.h>

/*
 * Virtual layout inside the Xen hole (L4 slots 256-271).  Slot 256 holds the
 * read-only M2P as Xen has it; on PVM hosts slot 256 is unusable
 * (pvm-host-probe/README.md), so the M2P moves to slot 257 there and the guest
 * learns its address from XENMEM_machphys_mapping.
 */
#define XK_HOLE_FIRST_SLOT 256
#define XK_HOLE_NR_SLOTS   16
#define XK_M2P_VA_HW       0xffff800000000000ULL /* slot 256 */
#define XK_M2P_VA_PVM      0xffff808000000000ULL /* slot 257 */
#define XK_M2P_SPAN        0x0000004000000000ULL /* 256 GiB of VA, as Xen */
#define XK_STUB_VA         0xffff830000000000ULL /* slot 262: stub region, linear */
#define XK_DIRECTMAP_VA    0xffff878000000000ULL /* slot 271: all GPAs, linear */

/* Offsets inside the stub region (which starts at boot_info.stub_gpa). */
#define XK_BOOTINFO_OFF   0x0ULL     /* struct xk_boot_info, one page */
#define XK_STUB_IMAGE_OFF 0x10000ULL /* the stub binary; entry = first byte */
#define XK_STUB_IMAGE_MAX 0x1f0000ULL
#define XK_STUB_DYN_OFF   0x200000ULL /* launcher-allocated areas start here */

/* Per-vCPU stub area: stack + per-vCPU data, aligned so that the stub can
 * find its vCPU from %rsp (as Xen's get_cpu_info()). */
#define XK_VCPU_AREA_SIZE 0x10000ULL
#define XK_MAX_VCPUS      64
/* The vCPU's 64-bit TSS inside its area, and its GDT selector.  The
 * launcher also loads TR with it (KVM_SET_SREGS): PVM takes the TSS from
 * there, not from a later ltr. */
#define XK_VCPU_TSS_OFF   0x2f80ULL
/* Where the stub keeps the CR3 it last loaded (struct pcpu, read by the
 * launcher's post-mortem), and its IDT and IST1 top (#DF, NMI, #MC). */
#define XK_PCPU_CR3_OFF   0x18ULL
/* More of struct pcpu for the post-mortem of a stalled guest (where its
 * events and timer stood); guest-stub/include/stub.h pins each. */
#define XK_PCPU_BLOCKED_OFF     0x48ULL   /* bool v.blocked */
#define XK_PCPU_VI_OFF          0x1128ULL /* struct vcpu_info *v.vi (stub VA) */
#define XK_PCPU_SINGLESHOT_OFF  0x1178ULL /* u64 v.singleshot_tsc */
/* (after struct vcpu: they move when its stats grow; the assert says so) */
#define XK_PCPU_SOFTIRQ_OFF     0x1520ULL /* u8 softirq */
#define XK_PCPU_TIMER_ARMED_OFF 0x1538ULL /* u64 timer_armed */
#define XK_PCPU_PV_EOI_OFF      0x1540ULL /* u64 pv_eoi */
#define XK_VCPU_IDT_OFF   0x6000ULL
#define XK_VCPU_IST1_TOP  0x7800ULL
#define XK_TSS_SEL(i)     (0xe060 + 16 * (i))

/* Per-vCPU descriptor tables (boot_info.desc_off, one area per vCPU): the
 * hardware GDT (Xen's layout: guest entries in the first 14 pages, the
 * stub's reserved selectors from 0xe000) and the hardware LDT (8192
 * entries), both filled by the stub with audited copies of the guest's. */
#define XK_DESC_AREA_SIZE 0x20000ULL
#define XK_DESC_GDT_BYTES 0xf000ULL
#define XK_DESC_LDT_OFF   0x10000ULL

/* I/O ports the stub uses towards the launcher (never seen by the guest,
 * whose port I/O is emulated by the stub).  0x80/0x87 are dropped on PVM. */
#define XK_PORT_HOSTCALL 0x0510 /* outl vcpu_id: sync request, KVM_EXIT_IO */
#define XK_PORT_DOORBELL 0x0514 /* outl port: ioeventfd, no exit to userspace */

/* Interrupt vectors the stub programs / the launcher injects. */
#define XK_VEC_EVENT    0xf0 /* host -> stub: host_pending bitmap has news */
#define XK_VEC_TIMER    0xf1 /* LAPIC TSC-deadline timer */
#define XK_VEC_IPI      0xf2 /* stub -> stub (other vCPU) */
#define XK_VEC_SPURIOUS 0xff

#define XK_BOOT_MAGIC   0x314f4f424b584bULL /* "XKBOO1\0" */
#define XK_ABI_VERSION  2 /* 2: host_pending's ANY/IDLE words */

enum xk_platform {
	XK_PLATFORM_NONE = 0,
	XK_PLATFORM_HW = 1,  /* VT-x / AMD-V: real ring 0 */
	XK_PLATFORM_PVM = 2, /* this host's PVM variant (VIF page) */
};

/* Host -> stub event-channel doorbell bitmap size (ports). */
#define XK_HOST_PORTS 4096

/*
 * The host_pending page, as uint64_t words: the XK_HOST_PORTS pending bits,
 * then two words.  The launcher sets a port's bit, then ANY; the stub
 * exchanges ANY with 0 before it scans the bits, and checks ANY on every
 * return to the guest, so a busy vCPU picks events up without an
 * interrupt.  The stub sets IDLE (vCPU 0, the MSI target) before it
 * halts, then looks at ANY once more; the launcher sets ANY, then looks at
 * IDLE and sends the MSI at once only for a halted (or halting) vCPU, else
 * after a short delay if ANY is still set then (a vCPU that stays in guest
 * user mode).  Both sides fence between their store and their load.
 */
/* boot_info.features */
#define XK_FEAT_PV_EOI (1ULL << 0) /* KVM's PV EOI (MSR_KVM_PV_EOI_EN) is offered */
/* hw only: the 64-bit guest kernel runs in ring 1 on one page table for
 * kernel and user mode (docs/architecture.md, "Guest kernel in ring 1"). */
#define XK_FEAT_KERNEL_RING1 (1ULL << 1)

#define XK_HP_ANY  (XK_HOST_PORTS / 64)
#define XK_HP_IDLE (XK_HOST_PORTS / 64 + 1)

/* Grant-table size: frames of shared entries (Xen's default maximum is 64;
 * 32 v1 frames = 16384 grants) and the v2 status frames that go with them
 * (2 bytes per v2 entry, 256 v2 entries per shared frame). */
#define XK_GRANT_FRAMES        32
#define XK_GRANT_STATUS_FRAMES ((XK_GRANT_FRAMES * 256 * 2 + 4095) / 4096)

struct xk_boot_vcpu0 {
	/* Guest start-of-day registers (pv-abi.md 1.4). */
	uint64_t rip, rsp, rsi;
	uint64_t cr3;        /* machine address of the pinned bootstrap L4 */
	uint64_t flags;      /* XK_BOOTF_* */
	uint64_t hypercall_page_va; /* 0 if none: filled by the builder already */
};

#define XK_BOOTF_TRACE_HYPERCALLS 1ULL /* stub logs each hypercall via hostcall */

struct xk_boot_info {
	uint64_t magic;
	uint32_t abi_version;
	uint32_t platform; /* enum xk_platform */
	uint32_t nr_vcpus;
	uint32_t domid;
	uint64_t nr_pages;    /* guest RAM frames [0, nr_pages) */
	uint64_t stub_gpa;    /* GPA of this region */
	uint64_t stub_size;
	uint64_t total_frames; /* all GPA frames: RAM + stub region */
	uint64_t m2p_va;      /* XK_M2P_VA_HW or XK_M2P_VA_PVM */
	uint64_t m2p_off;     /* offset of the M2P in the stub region */
	uint64_t m2p_entries; /* M2P length (>= total_frames) */
	uint64_t shared_info_off;  /* one page */
	uint64_t vcpu_area_off;    /* nr_vcpus * XK_VCPU_AREA_SIZE */
	uint64_t hostcall_off;     /* nr_vcpus pages: struct xk_hostcall */
	uint64_t host_pending_off; /* one page: host->stub pending ports (atomic) */
	uint64_t notify_off;       /* one page: stub->host notified ports (atomic) */
	uint64_t frame_info_off;   /* uint64_t per guest RAM frame, kept by the stub */
	uint64_t free_off;         /* first unused byte of the region */
	uint64_t hole_l4e[XK_HOLE_NR_SLOTS]; /* entries the stub inserts into guest L4s */
	uint64_t tsc_khz;
	uint64_t wallclock_ns; /* UTC ns at tsc_at_wallclock */
	uint64_t tsc_at_wallclock;
	uint32_t console_port, store_port; /* event channels pre-bound to the host */
	uint64_t console_frame, store_frame; /* MFNs of the rings */
	uint64_t start_info_va;
	uint64_t features; /* XK_FEAT_* negotiated by the launcher */
	/* Grant table: shared frames (v1 or v2 entries) and v2 status frames,
	 * in the stub region (not guest RAM, as on Xen). */
	uint64_t grant_off, grant_status_off;
	uint32_t grant_frames, grant_status_frames;
	struct xk_boot_vcpu0 vcpu0;
	uint64_t desc_off; /* nr_vcpus * XK_DESC_AREA_SIZE: GDT + LDT per vCPU */
	/* The grant-table version the guest chose (GNTTABOP_set_version),
	 * written by the stub, read by the launcher's grant mapping; 0 means
	 * 1.  Only changes while no grant is mapped. */
	uint32_t grant_version;
	uint32_t pad0;
	/* Set by the stub: offset of its struct xk_vcpu_stats in each vCPU
	 * area (0 = none); the launcher prints them at exit with -v. */
	uint64_t stats_off;
	/* The domain handle (xl.cfg's uuid; the one in xenstore's /vm/<uuid>):
	 * XENVER_guest_handle, Linux's /sys/hypervisor/uuid. */
	uint8_t handle[16];
};

/* Counters the stub keeps per vCPU (bench/boot-bench). */
struct xk_vcpu_stats {
	uint64_t nr_hypercalls;   /* hypercalls taken, multicall entries not counted */
	uint64_t nr_bounces;      /* exception/event frames built on the guest stack */
	uint64_t nr_exits;        /* unused */
	uint64_t nr_cr3_writes;   /* mov to CR3 by the stub: switches and TLB flushes */
	uint64_t nr_cr3_switches; /* of which guest L4 changes (kernel<->user, new_baseptr) */
	/* The event and timer paths (docs/performance.md, I/O). */
	uint64_t nr_irq_event;	  /* XK_VEC_EVENT interrupts (launcher MSIs) */
	uint64_t nr_irq_timer;	  /* TSC-deadline interrupts */
	uint64_t nr_irq_other;	  /* IPIs, spurious, unknown */
	uint64_t nr_eois;	  /* x2APIC EOI writes */
	uint64_t nr_pv_eois;	  /* EOIs KVM's PV EOI flag made unnecessary */
	uint64_t nr_timer_writes; /* TSC-deadline writes */
	uint64_t nr_halts;	  /* idle hlt */
	uint64_t nr_blocks;	  /* SCHEDOP_block and blocking SCHEDOP_poll */
	uint64_t nr_doorbells;	  /* doorbell port writes to the launcher */
	uint64_t nr_upcalls;	  /* event upcall frames built */
	uint64_t nr_hc_op[48];	  /* hypercalls by number (multicall entries too) */
	uint64_t nr_timer_kept;	  /* later deadlines not written (plat_arm_timer) */
	uint64_t nr_idle_fixups;  /* interrupts that arrived ON the idle hlt (hw) */
};

_Static_assert(sizeof(struct xk_boot_info) <= 4096, "boot info fits a page");

/* Frame types kept per guest RAM frame (page typing, pv-abi.md 2.4): the
 * launcher leaves the array zeroed, the stub types the builder's tables
 * when it takes the bootstrap L4. */
#define XK_FT_NONE     0
#define XK_FT_L1       1
#define XK_FT_L2       2
#define XK_FT_L3       3
#define XK_FT_L4       4
#define XK_FT_SEG_DESC 5

/* Synchronous stub -> launcher requests (outl vcpu, XK_PORT_HOSTCALL). */
enum xk_hostcall_op {
	XK_HC_NONE = 0,
	XK_HC_CONSOLE_WRITE = 1, /* buf[0..len) to the console stream */
	XK_HC_SHUTDOWN = 2,      /* arg[0] = SHUTDOWN_* reason */
	XK_HC_CRASH = 3,         /* buf = decoded dump text; fatal stub/guest state */
	XK_HC_LOG = 4,           /* buf = stub diagnostic line (stderr) */
	XK_HC_CONSOLE_READ = 5,  /* ret = bytes placed in buf, up to arg[0] */
	XK_HC_STARTED = 6,       /* stub init done; arg[0] = platform feature bits */
};

#define XK_HOSTCALL_BUF 3840
struct xk_hostcall {
	uint32_t op;
	uint32_t len;
	uint64_t arg[4];
	int64_t ret;
	uint8_t pad[16];
	char buf[XK_HOSTCALL_BUF];
};

_Static_assert(sizeof(struct xk_hostcall) <= 4096, "hostcall block fits a page");

#endif
