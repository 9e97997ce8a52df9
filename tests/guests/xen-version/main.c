/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HYPERVISOR_xen_version through inline `syscall`: see checks.c.
 */
#include "xkg.h"
#include "checks.h"

const char test_title[] = "xen-version: XENVER_* sub-ops";

void test_main(void)
{
	xen_version_checks();
}
