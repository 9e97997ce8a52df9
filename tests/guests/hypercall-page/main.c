/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A kernel with the HYPERCALL_PAGE note: every hypercall of the library
 * (console, xen_version, set_trap_table, iret, shutdown) goes through the
 * page the domain builder filled in (pv-abi.md 1.7).  Runs the xen-version
 * checks, then an exception round trip whose return uses slot 23 (iret).
 */
#include "xkg.h"
#include "../xen-version/checks.h"

#ifndef XKG_HYPERCALL_PAGE
#error "the hypercall-page test must be built with -DXKG_HYPERCALL_PAGE"
#endif

const char test_title[] = "hypercall-page: hypercalls and iret through the hypercall page";

/* Call slot 17 (xen_version(XENVER_version)) with known RCX/R11: a slot
 * saves and restores them around its `syscall`. */
static void check_slot_preserves_rcx_r11(void)
{
	register uint64_t rdi asm("rdi") = XENVER_version;
	register uint64_t rsi asm("rsi") = 0;
	register uint64_t rcx asm("rcx") = 0x1122334455667788UL;
	register uint64_t r11 asm("r11") = 0x0102030405060708UL;
	long ret;

	asm volatile("call hypercall_page + 17 * 32"
		     : "=a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rcx), "+r"(r11)
		     :
		     : "rdx", "r8", "r9", "r10", "memory");
	CHECK(ret >= 0x40000, "xen_version through slot 17 = %#lx", ret);
	CHECK_EQ(rcx, 0x1122334455667788UL, "rcx after a hypercall-page call");
	CHECK_EQ(r11, 0x0102030405060708UL, "r11 after a hypercall-page call");
}

void test_main(void)
{
	const unsigned char *page = (const unsigned char *)hypercall_page;
	long rc;

	printf("hypercall page at %p: slot 0 starts %02x %02x %02x, slot 17 %02x %02x %02x\n", page,
	       page[0], page[1], page[2], page[17 * 32], page[17 * 32 + 1], page[17 * 32 + 2]);
	CHECK(page[0] != 0xcc && page[17 * 32] != 0xcc && page[23 * 32] != 0xcc,
	      "hypercall page not filled in by the domain builder");

	xen_version_checks();
	check_slot_preserves_rcx_r11();

	rc = xkg_setup_traps();
	if (rc) {
		xkg_fail("set_trap_table = %ld", rc);
		return;
	}
	/* #UD, resumed through iret = hypercall_page + 23 * 32. */
	xkg_fault_clear();
	asm volatile("1: ud2\n2:\n\t" XKG_EXTABLE(1b, 2b)::: "memory");
	CHECK(xkg_last_fault.valid && xkg_last_fault.vector == 6,
	      "ud2 did not come back as #UD (valid %d vector %lu)", xkg_last_fault.valid,
	      xkg_last_fault.vector);
	printf("hypercall-page: #UD round trip through the iret slot ok\n");
}
