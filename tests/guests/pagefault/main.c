/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * #PF delivery (pv-abi.md 3.1): error code (P, W, U = guest mode) and the
 * fault address in vcpu_info.arch.cr2.  Needs shared_info, which this test
 * maps with HYPERVISOR_update_va_mapping at a page of its own .bss, as Linux
 * does on its fixmap (pv-abi.md 1.6, 2.2 B.6).
 */
#include "xkg.h"

const char test_title[] = "pagefault: #PF error codes and CR2 in vcpu_info";

#define PFEC_PRESENT 1
#define PFEC_WRITE   2
#define PFEC_USER    4

static struct shared_info *sh;

static void expect_pf(const char *what, uint64_t addr, uint64_t rip, uint64_t ec)
{
	const struct xkg_fault *f = &xkg_last_fault;
	uint64_t cr2 = ACCESS_ONCE(sh->vcpu_info[0].arch.cr2);

	if (!f->valid) {
		xkg_fail("%s: no exception", what);
		return;
	}
	printf("%s: vector %lu ec %#lx rip %#lx cr2 %#lx\n", what, f->vector, f->error_code, f->rip,
	       cr2);
	CHECK_EQ(f->vector, 14, what);
	/* P, W, U and RSVD are defined; ignore PK/SS/SGX and I (NX-dependent). */
	CHECK_EQ(f->error_code & 0xf, ec, what);
	CHECK_EQ(f->rip, rip, what);
	CHECK_EQ(cr2, addr, what);
}

static void read_at(const char *what, uint64_t addr, uint64_t ec)
{
	uint64_t rip, v = addr;

	xkg_fault_clear();
	ACCESS_ONCE(sh->vcpu_info[0].arch.cr2) = 0;
	asm volatile("lea 1f(%%rip), %1\n"
		     "1: mov (%0), %0\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "+r"(v), "=&r"(rip)::"memory");
	expect_pf(what, addr, rip, ec);
}

static void write_at(const char *what, uint64_t addr, uint64_t ec)
{
	uint64_t rip, v = 0;

	xkg_fault_clear();
	ACCESS_ONCE(sh->vcpu_info[0].arch.cr2) = 0;
	asm volatile("lea 1f(%%rip), %0\n"
		     "1: movb %b2, (%1)\n2:\n\t" XKG_EXTABLE(1b, 2b)
		     : "=&r"(rip)
		     : "r"(addr), "r"(v)
		     : "memory");
	expect_pf(what, addr, rip, ec);
}

/* Fetch from an unmapped page through a call: the handler returns to the
 * caller by popping the return address off the interrupted stack. */
static uint64_t exec_fault_addr;
static bool exec_pf_handler(struct xkg_regs *r)
{
	if (r->rip != exec_fault_addr)
		return false;
	xkg_last_fault = (struct xkg_fault){.valid = true,
					    .vector = r->vector,
					    .error_code = r->error_code,
					    .rip = r->rip,
					    .cs = r->cs,
					    .rflags = r->rflags,
					    .rsp = r->rsp};
	r->rip = *(uint64_t *)r->rsp;
	r->rsp += 8;
	return true;
}

void test_main(void)
{
	uint64_t pt_base = xkg_start_info->pt_base;
	long rc;

	rc = xkg_setup_traps();
	if (rc) {
		xkg_fail("set_trap_table = %ld", rc);
		return;
	}
	sh = xkg_map_shared_info(&rc);
	if (!sh) {
		xkg_fail("cannot map shared_info: update_va_mapping = %ld", rc);
		return;
	}
	/* Start of day: every upcall mask is 1 (pv-abi.md 1.4). */
	CHECK_EQ(sh->vcpu_info[0].evtchn_upcall_mask, 1, "shared_info vcpu_info[0] upcall mask");

	read_at("read, not present (high)", XKG_UNMAPPED_VA, 0);
	read_at("read, not present (low)", 0x10000, 0);
	read_at("read, not present (offset)", XKG_UNMAPPED_VA + 0x123, 0);
	write_at("write, not present", XKG_UNMAPPED_VA + 8, PFEC_WRITE);
	/* Page tables are mapped read-only; top-level writes are never
	 * emulated, so this is a protection fault (P|W).  The byte written is
	 * the one already there, should a buggy hypervisor let it through. */
	{
		uint64_t rip;
		uint8_t cur = *(volatile uint8_t *)pt_base;

		xkg_fault_clear();
		ACCESS_ONCE(sh->vcpu_info[0].arch.cr2) = 0;
		asm volatile("lea 1f(%%rip), %0\n"
			     "1: movb %b2, (%1)\n2:\n\t" XKG_EXTABLE(1b, 2b)
			     : "=&r"(rip)
			     : "r"(pt_base), "r"(cur)
			     : "memory");
		expect_pf("write to the read-only L4", pt_base, rip, PFEC_PRESENT | PFEC_WRITE);
	}

	/* Instruction fetch from an unmapped page. */
	exec_fault_addr = XKG_UNMAPPED_VA + 0x40;
	xkg_set_handler(14, exec_pf_handler);
	xkg_fault_clear();
	ACCESS_ONCE(sh->vcpu_info[0].arch.cr2) = 0;
	asm volatile("call *%0"
		     :
		     : "r"(exec_fault_addr)
		     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
	xkg_set_handler(14, NULL);
	expect_pf("fetch, not present", exec_fault_addr, exec_fault_addr, 0);

	/* The mapping still reads back as the same shared_info. */
	CHECK_EQ(sh->vcpu_info[0].evtchn_upcall_mask, 1, "upcall mask after the faults");
}
