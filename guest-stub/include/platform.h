/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one interface between the stub's Xen core (core/) and the kind of host
 * it runs on (platform/hw: real ring 0; platform/pvm: this host's PVM variant).
 * core/ calls only these; platforms implement all of them.
 */
#ifndef STUB_PLATFORM_H
#define STUB_PLATFORM_H

#include "stub.h"

/* Per-vCPU hardware setup: descriptor tables, SYSCALL MSRs, LAPIC, and on
 * PVM the virtual-IF page.  Called once on each vCPU before anything else. */
void plat_cpu_init(struct pcpu *pc);

/* Leave the stub: restore *regs (the frame at the top of this vCPU's stack)
 * and return to the guest in the mode core chose.  Hardware selectors are
 * chosen by the platform from v->in_kernel and the guest's requested CS. */
__attribute__((noreturn)) void plat_enter_guest(struct pcpu *pc);

/* Selectors the hardware uses for the guest's kernel and user modes.  core
 * stores these in the return frame; guest-visible frames use Xen's values. */
uint16_t plat_hw_cs(const struct pcpu *pc, bool kernel, bool compat);
uint16_t plat_hw_ss(const struct pcpu *pc, bool kernel);

/* Did this trap frame interrupt guest code (true) or the stub (false)? */
bool plat_from_guest(const struct cpu_regs *regs);

/* Faulting address of the #PF being handled. */
uint64_t plat_read_cr2(struct pcpu *pc);

void plat_write_cr3(uint64_t cr3);
/* Hardware CR0.TS follows the guest's virtual TS (lazy-FPU kernels get
 * #NM on their next FPU instruction). */
void plat_set_ts(bool ts);
uint64_t plat_read_cr3(void);
void plat_invlpg(uint64_t va);
void plat_flush_tlb(void);

/* Guest segment bases as the hardware holds them while the guest runs. */
void plat_set_fs_base(uint64_t base);
void plat_set_gs_base(uint64_t base);

/* The hardware FS base (a guest selector load may have set it). */
uint64_t plat_get_fs_base(void);
/* The hardware GUEST GS base (user mode's after a selector load there). */
uint64_t plat_get_gs_base(void);
/* Load a (checked, loadable or null) selector into %gs for guest user mode
 * and put the kernel GS base back (SEGBASE_GS_USER_SEL, in kernel mode). */
void plat_load_gs_selector(uint16_t sel, uint64_t kernel_gs_base);

/* Guest descriptor tables (core/desc.c audits, the platform shows): write
 * entry idx (< FIRST_RESERVED_GDT_ENTRY) of vCPU pc's hardware GDT, or of
 * its hardware LDT (< 8192); 0 clears it.  Entries the platform's own
 * return path depends on stay the stub's (platform/x86/x86.c).  pc need
 * not be the running vCPU. */
void plat_gdt_entry(struct pcpu *pc, unsigned idx, uint64_t desc);
void plat_ldt_entry(struct pcpu *pc, unsigned idx, uint64_t desc);
/* Make the running vCPU's hardware LDT nr_ents entries long (0: none). */
void plat_load_ldt(struct pcpu *pc, unsigned nr_ents);

/* LAPIC TSC-deadline timer: fire XK_VEC_TIMER at tsc (0 = disarm). */
void plat_arm_timer(uint64_t tsc);
/* XK_VEC_TIMER arrived: the LAPIC holds no deadline now. */
void plat_timer_fired(void);
void plat_eoi(void);

/* Wait for an interrupt with interrupts enabled; returns after the handler
 * ran.  Callers re-check their condition (no lost wake-ups: the platform
 * enables interrupts and halts atomically). */
void plat_idle(void);
void plat_irq_disable(void);
void plat_irq_enable(void);

/* Synchronous request to the launcher (hostcall block of this vCPU). */
void plat_hostcall(struct pcpu *pc);
/* Doorbell: event-channel port notified towards a host backend. */
void plat_doorbell(uint32_t port);

/* First code of each vCPU (still emulated on PVM: keep it tiny). */
void plat_early_entry(uint64_t vcpu_id, struct xk_boot_info *bi);
/* An interrupt was taken inside the stub at regs (idle-race fixups). */
void plat_interrupted(struct pcpu *pc, struct cpu_regs *regs);

/* Last chance before plat_enter_guest(): repair hardware state a host may
 * have changed behind the stub's back (PVM: GS base after interrupts). */
void plat_before_enter(struct pcpu *pc);

/* Short platform name for logs. */
const char *plat_name(void);

#endif
