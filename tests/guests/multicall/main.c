/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HYPERVISOR_multicall (pv-abi.md 2.4): entries run in order, each result is
 * stored in its entry, the call itself returns 0; an unknown op fails only
 * its own entry.
 */
#include "xkg.h"

const char test_title[] = "multicall: batched xen_version and friends";

static const char mc_line[] = "multicall: console line from entry 5\n";

void test_main(void)
{
	static xen_extraversion_t extra_direct, extra_mc;
	xen_feature_info_t fi_direct = {.submap_idx = 0}, fi_mc = {.submap_idx = 0};
	static multicall_entry_t mc[7];
	long version, rc;

	version = HYPERVISOR_xen_version(XENVER_version, NULL);
	CHECK(version > 0, "direct xen_version = %ld", version);
	rc = HYPERVISOR_xen_version(XENVER_extraversion, extra_direct);
	CHECK_EQ(rc, 0, "direct extraversion");
	rc = HYPERVISOR_xen_version(XENVER_get_features, &fi_direct);
	CHECK_EQ(rc, 0, "direct get_features");

	/* Results start as garbage so that "not written" is visible. */
	for (size_t i = 0; i < ARRAY_SIZE(mc); i++)
		mc[i].result = 0x5a5a5a5a5a5a5a5aUL;

	mc[0].op = __HYPERVISOR_xen_version;
	mc[0].args[0] = XENVER_version;
	mc[1].op = __HYPERVISOR_xen_version;
	mc[1].args[0] = XENVER_extraversion;
	mc[1].args[1] = (unsigned long)extra_mc;
	mc[2].op = __HYPERVISOR_xen_version;
	mc[2].args[0] = XENVER_get_features;
	mc[2].args[1] = (unsigned long)&fi_mc;
	mc[3].op = 60; /* no such hypercall */
	mc[4].op = __HYPERVISOR_xen_version;
	mc[4].args[0] = XENVER_version;
	mc[5].op = __HYPERVISOR_console_io;
	mc[5].args[0] = CONSOLEIO_write;
	mc[5].args[1] = sizeof(mc_line) - 1;
	mc[5].args[2] = (unsigned long)mc_line;
	mc[6].op = __HYPERVISOR_xen_version;
	mc[6].args[0] = XENVER_extraversion;
	mc[6].args[1] = XKG_UNMAPPED_VA; /* bad buffer: this entry alone fails */

	rc = HYPERVISOR_multicall(mc, ARRAY_SIZE(mc));
	CHECK_EQ(rc, 0, "multicall return value");
	for (size_t i = 0; i < ARRAY_SIZE(mc); i++)
		printf("multicall: entry %zu op %lu result %ld\n", i, mc[i].op, (long)mc[i].result);

	CHECK_EQ(mc[0].result, version, "entry 0 (XENVER_version) result");
	CHECK_EQ(mc[1].result, 0, "entry 1 (XENVER_extraversion) result");
	CHECK(!memcmp(extra_mc, extra_direct, sizeof(extra_mc)),
	      "extraversion via multicall '%.16s' != direct '%.16s'", extra_mc, extra_direct);
	CHECK_EQ(mc[2].result, 0, "entry 2 (XENVER_get_features) result");
	CHECK_EQ(fi_mc.submap, fi_direct.submap, "get_features submap via multicall");
	CHECK_EQ(mc[3].result, -XEN_ENOSYS, "entry 3 (unknown op 60) result");
	CHECK_EQ(mc[4].result, version, "entry 4 (XENVER_version after a failed entry) result");
	CHECK((long)mc[5].result >= 0, "entry 5 (console_io) result %ld", (long)mc[5].result);
	CHECK_EQ(mc[6].result, -XEN_EFAULT, "entry 6 (extraversion to a bad buffer) result");

	/* An empty batch is a no-op. */
	rc = HYPERVISOR_multicall(mc, 0);
	CHECK_EQ(rc, 0, "multicall with 0 entries");

	/* A one-entry batch. */
	mc[0].result = 0x5a5a5a5a5a5a5a5aUL;
	rc = HYPERVISOR_multicall(mc, 1);
	CHECK_EQ(rc, 0, "multicall with 1 entry");
	CHECK_EQ(mc[0].result, version, "single entry result");
}
