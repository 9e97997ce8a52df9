/* SPDX-License-Identifier: GPL-2.0-only */
/* First C code of each vCPU: domain and vCPU setup, then enter the guest. */
#include "core.h"
#include "platform.h"

struct domain dom;

void stub_start(uint64_t vcpu_id, struct xk_boot_info *bi);

void stub_start(uint64_t vcpu_id, struct xk_boot_info *bi)
{
	struct pcpu *pc = this_pcpu();
	struct vcpu *v = &pc->v;
	uint8_t *region = (uint8_t *)bi;

	if (bi->magic != XK_BOOT_MAGIC || bi->abi_version != XK_ABI_VERSION ||
	    vcpu_id >= bi->nr_vcpus || vcpu_id >= XK_MAX_VCPUS) {
		/* Launcher and stub disagree: nothing safe to do but stop. */
		for (;;)
			__asm__ volatile("hlt");
	}
	pc->hc = (struct xk_hostcall *)(region + bi->hostcall_off + vcpu_id * PAGE_SIZE);
	v->id = (unsigned)vcpu_id;
	if (vcpu_id == 0) {
		dom.bi = bi;
		bi->stats_off = offsetof(struct pcpu, v.stats);
		dom.shared = (struct shared_info *)(region + bi->shared_info_off);
		dom.m2p = (uint64_t *)(region + bi->m2p_off);
		dom.directmap = (uint8_t *)XK_DIRECTMAP_VA;
		dom.nr_vcpus = bi->nr_vcpus;
		dom.host_pending = (volatile uint64_t *)(region + bi->host_pending_off);
		dom.notify = (volatile uint64_t *)(region + bi->notify_off);
		dom.kernel_ring1 =
		    bi->platform == XK_PLATFORM_HW && (bi->features & XK_FEAT_KERNEL_RING1);
	}
	dom.pcpu[vcpu_id] = pc;
	plat_cpu_init(pc);

	v->vi = &dom.shared->vcpu_info[vcpu_id];
	v->vi->evtchn_upcall_mask = 1;
	if (vcpu_id == 0) {
		mm_init();
		time_init();
		evtchn_init();
	}
	time_update_vcpu(pc);
	v->dr[6] = 0xffff0ff0;
	v->dr[7] = 0x400;
	v->runstate.state = RUNSTATE_running;
	v->runstate.state_entry_time = system_time_ns();

	/* Start-of-day registers (pv-abi.md 1.4), in the frame every later
	 * entry from the guest also uses. */
	struct cpu_regs *r =
		(struct cpu_regs *)((uint8_t *)pc + AREA_STACK_TOP - sizeof(struct cpu_regs));
	memset(r, 0, sizeof(*r));
	r->rip = bi->vcpu0.rip;
	r->rsp = bi->vcpu0.rsp;
	r->rsi = bi->vcpu0.rsi;
	r->rflags = X86_EFLAGS_IF | 2;
	v->in_kernel = true;
	if (mm_take_boot_tables(pc, bi->vcpu0.cr3 >> PAGE_SHIFT))
		stub_crash(pc, NULL, "xenkvm stub: the bootstrap page tables do not validate");
	v->kernel_ss = FLAT_KERNEL_SS64;
	v->kernel_sp = bi->vcpu0.rsp;
	v->online = true;
	v->initialised = true;
	pc->guest_regs = r;
	load_guest_cr3(pc);

	hostcall(pc, XK_HC_STARTED, 0, plat_name(), strlen(plat_name()));
	exit_to_guest(pc);
}
