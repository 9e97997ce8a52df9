/* SPDX-License-Identifier: GPL-2.0-only */
/* Interfaces between the files of core/ (the platform-independent Xen). */
#ifndef STUB_CORE_H
#define STUB_CORE_H

#include "stub.h"

/* trap.c / bounce.c */
void stub_trap(struct cpu_regs *regs, struct pcpu *pc);
__attribute__((noreturn)) void exit_to_guest(struct pcpu *pc);
/* Queue a guest exception: bounce frame onto the guest kernel stack. */
void inject_exception(struct pcpu *pc, unsigned vector, bool has_err, uint64_t err);
void inject_soft_int(struct pcpu *pc, unsigned vector);
/* Kernel <-> user mode switch as Xen's toggle_guest_mode(). */
void toggle_guest_mode(struct pcpu *pc);
long do_iret(struct pcpu *pc);
void bounce_syscall(struct pcpu *pc, bool compat);
void guest_regs_dump(struct pcpu *pc, const struct cpu_regs *r, char *buf, size_t len);

/* hypercall.c */
void do_hypercall(struct pcpu *pc, struct cpu_regs *regs);
#define HYPERCALL_IRET_DONE 0x7fffffff00000001L /* do_iret rewrote the frame */

/* emulate.c */
bool emulate_privileged(struct pcpu *pc, struct cpu_regs *regs);
bool emulate_invalid_op(struct pcpu *pc, struct cpu_regs *regs);
void guest_cpuid(struct pcpu *pc, uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* evtchn.c */
void evtchn_init(void);
void evtchn_set_pending(unsigned port);
void evtchn_send_virq(struct pcpu *pc, unsigned virq);
long do_event_channel_op(struct pcpu *pc, uint64_t cmd, uint64_t arg);
bool evtchn_port_pending(unsigned port);
/* Count of evtchn_set_pending() calls so far (SCHEDOP_poll of many ports). */
uint64_t evtchn_raised(void);
void evtchn_drain_host(void);
/* host_pending's ANY word is set: evtchn_drain_host() has work. */
bool evtchn_host_due(void);
/* Around a halt of vCPU 0 (stubabi.h XK_HP_IDLE): enter returns false when
 * an event is due (do not halt). */
bool evtchn_host_idle_enter(void);
void evtchn_host_idle_exit(void);
void vcpu_mark_events_pending(struct vcpu *v);
void evtchn_kick_vcpu(unsigned vcpu);

/* time.c */
void time_init(void);
uint64_t system_time_ns(void);
uint64_t ns_to_tsc(uint64_t ns);
void time_update_vcpu(struct pcpu *pc);
void timer_reprogram(struct pcpu *pc);
void timer_softirq(struct pcpu *pc);
long do_set_timer_op(struct pcpu *pc, uint64_t timeout);
long do_sched_op(struct pcpu *pc, uint64_t cmd, uint64_t arg);
void runstate_set(struct pcpu *pc, int state);

/* vcpu.c */
long do_vcpu_op(struct pcpu *pc, uint64_t cmd, uint64_t vcpuid, uint64_t arg);

/* mm.c (more in mm.h) */
void mm_init(void);
int mm_take_boot_tables(struct pcpu *pc, uint64_t l4_mfn);
int mm_get_writable(uint64_t mfn);
void mm_put_writable(uint64_t mfn);
long do_update_va_mapping(struct pcpu *pc, uint64_t va, uint64_t val, uint64_t flags);
long do_mmuext_op(struct pcpu *pc, uint64_t ops, uint64_t count, uint64_t pdone, uint64_t dom);
long do_mmu_update(struct pcpu *pc, uint64_t ureqs, uint64_t count, uint64_t pdone, uint64_t dom);
long do_memory_op(struct pcpu *pc, uint64_t cmd, uint64_t arg);
void load_guest_cr3(struct pcpu *pc);
int mm_get_type(uint64_t mfn, unsigned type);
void mm_put_type(uint64_t mfn);
bool mfn_is_ram(uint64_t mfn);

/* desc.c: GDT/LDT (pv-abi.md 1.9) */
bool desc_check(uint64_t *d);
int desc_validate_frame(uint64_t mfn);
long do_set_gdt(struct pcpu *pc, uint64_t frames_va, uint64_t entries);
long do_update_descriptor(struct pcpu *pc, uint64_t maddr, uint64_t desc);
long desc_set_ldt(struct pcpu *pc, uint64_t base, uint64_t ents);
/* Base a selector gives %gs (SEGBASE_GS_USER_SEL); false: not loadable. */
bool desc_selector_base(struct pcpu *pc, uint16_t sel, uint64_t *base);

/* grant.c */
long do_grant_table_op(struct pcpu *pc, uint64_t cmd, uint64_t uop, uint64_t count);
bool grant_frame(uint64_t mfn);

/* ptwr.c */
bool ptwr_emulate(struct pcpu *pc, struct cpu_regs *regs, uint64_t cr2);

/* hostcall helpers (console.c) */
int64_t hostcall(struct pcpu *pc, uint32_t op, uint64_t a0, const void *buf, size_t len);

#endif
