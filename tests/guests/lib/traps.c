/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Trap table, callbacks and the C side of exception dispatch.
 */
#include "xkg.h"

struct xkg_fault xkg_last_fault;
static xkg_trap_handler_t handlers[XKG_NR_VECTORS];

struct extable_entry {
	uint64_t fault, fixup;
};
extern const struct extable_entry __start_ex_table[], __stop_ex_table[];

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void xkg_set_handler(unsigned int vector, xkg_trap_handler_t fn)
{
	if (vector >= XKG_NR_VECTORS)
		panic("xkg_set_handler: bad vector %u", vector);
	handlers[vector] = fn;
}

void xkg_fault_clear(void)
{
	memset(&xkg_last_fault, 0, sizeof(xkg_last_fault));
}

static bool extable_fixup(struct xkg_regs *r)
{
	for (const struct extable_entry *e = __start_ex_table; e < __stop_ex_table; e++) {
		if (e->fault != r->rip)
			continue;
		xkg_last_fault = (struct xkg_fault){
		    .valid = true,
		    .vector = r->vector,
		    .error_code = r->error_code,
		    .rip = r->rip,
		    .cs = r->cs,
		    .rflags = r->rflags,
		    .rsp = r->rsp,
		};
		r->rip = e->fixup;
		return true;
	}
	return false;
}

static const char *vec_name(uint64_t v)
{
	if (v < 32 && exc_names[v])
		return exc_names[v];
	if (v == XKG_VEC_EVENT)
		return "event upcall";
	if (v == XKG_VEC_SYSCALL)
		return "syscall callback";
	if (v == XKG_VEC_FAILSAFE)
		return "failsafe callback";
	return "int";
}

void xkg_trap_dispatch(struct xkg_regs *r);
void xkg_trap_dispatch(struct xkg_regs *r)
{
	if (r->vector < XKG_NR_VECTORS && handlers[r->vector] && handlers[r->vector](r))
		return;
	if (r->vector < 256 && extable_fixup(r))
		return;

	if (r->vector == XKG_VEC_FAILSAFE) {
		/* Frame: DS ES FS GS RIP CS RFLAGS RSP SS (pv-abi.md 3.5). */
		const uint64_t *f = &r->rip;

		printf("failsafe callback: ds %#lx es %#lx fs %#lx gs %#lx rip %#lx cs %#lx\n",
		       f[0], f[1], f[2], f[3], f[4], f[5]);
	}
	printf("unexpected %s (vector %#lx) error code %#lx\n", vec_name(r->vector), r->vector,
	       r->error_code);
	printf("  rip %#lx cs %#lx rflags %#lx rsp %#lx ss %#lx\n", r->rip, r->cs, r->rflags,
	       r->rsp, r->ss);
	printf("  rax %#lx rbx %#lx rcx %#lx rdx %#lx rsi %#lx rdi %#lx\n", r->rax, r->rbx, r->rcx,
	       r->rdx, r->rsi, r->rdi);
	printf("  rbp %#lx r8 %#lx r9 %#lx r10 %#lx r11 %#lx\n", r->rbp, r->r8, r->r9, r->r10,
	       r->r11);
	printf("  r12 %#lx r13 %#lx r14 %#lx r15 %#lx\n", r->r12, r->r13, r->r14, r->r15);
	xkg_fail("unexpected %s (vector %#lx, error code %#lx) at rip %#lx", vec_name(r->vector),
		 r->vector, r->error_code, r->rip);
	xkg_set_shutdown_reason(SHUTDOWN_crash);
	xkg_finish();
}

static unsigned int default_flags(unsigned int v)
{
	/* int3, into and int $0x80 may be used from user mode. */
	unsigned int dpl = (v == 3 || v == 4 || v == 0x80) ? 3 : 0;

	return dpl | 4; /* bit 2: mask events on entry */
}

long xkg_set_trap(unsigned int vector, unsigned int flags)
{
	struct trap_info t[2] = {
	    {
		.vector = (uint8_t)vector,
		.flags = (uint8_t)flags,
		.cs = FLAT_KERNEL_CS,
		.address = (unsigned long)(xkg_trap_stubs + 16 * vector),
	    },
	    {0},
	};

	return HYPERVISOR_set_trap_table(t);
}

long xkg_setup_traps(void)
{
	static struct trap_info table[257];

	for (unsigned int v = 0; v < 256; v++)
		table[v] = (struct trap_info){
		    .vector = (uint8_t)v,
		    .flags = (uint8_t)default_flags(v),
		    .cs = FLAT_KERNEL_CS,
		    .address = (unsigned long)(xkg_trap_stubs + 16 * v),
		};
	table[256].address = 0;
	return HYPERVISOR_set_trap_table(table);
}

long xkg_setup_callbacks(void)
{
	static const struct {
		uint16_t type;
		const char *entry;
	} cbs[] = {
	    {CALLBACKTYPE_event, xkg_event_entry},
	    {CALLBACKTYPE_failsafe, xkg_failsafe_entry},
	    {CALLBACKTYPE_syscall, xkg_syscall_entry},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cbs); i++) {
		struct callback_register cb = {
		    .type = cbs[i].type,
		    .flags = CALLBACKF_mask_events,
		    .address = (unsigned long)cbs[i].entry,
		};
		long rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);

		if (rc) {
			printf("CALLBACKOP_register(type %u) = %ld\n", cbs[i].type, rc);
			return rc;
		}
	}
	return 0;
}
