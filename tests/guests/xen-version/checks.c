/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks of HYPERVISOR_xen_version shared by the xen-version and
 * hypercall-page tests (pv-abi.md 2.2 A.1, 2.4): version >= 4.0, a
 * NUL-terminated extraversion, the feature submap a 64-bit PV domU must
 * (and must not) see, and capabilities/pagesize/platform parameters where
 * implemented.
 */
#include "xkg.h"
#include "checks.h"

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

void xen_version_checks(void)
{
	static xen_extraversion_t extra;
	static xen_capabilities_info_t caps;
	static xen_platform_parameters_t params;
	xen_feature_info_t fi = {.submap_idx = 0};
	long v, rc;

	v = HYPERVISOR_xen_version(XENVER_version, NULL);
	printf("XENVER_version = %#lx (%ld.%ld)\n", v, v >> 16, v & 0xffff);
	CHECK(v >= 0x40000, "XENVER_version %#lx < 4.0", v);

	memset(extra, 0x55, sizeof(extra));
	rc = HYPERVISOR_xen_version(XENVER_extraversion, extra);
	CHECK_EQ(rc, 0, "XENVER_extraversion rc");
	CHECK(strnlen(extra, sizeof(extra)) < sizeof(extra), "extraversion not NUL-terminated");
	CHECK(printable(extra, sizeof(extra)), "extraversion has unprintable bytes");
	printf("XENVER_extraversion = '%.16s'\n", extra);

	rc = HYPERVISOR_xen_version(XENVER_get_features, &fi);
	CHECK_EQ(rc, 0, "XENVER_get_features rc");
	printf("XENVER_get_features[0] = %#x\n", fi.submap);
	CHECK(fi.submap & (1U << XENFEAT_mmu_pt_update_preserve_ad),
	      "feature mmu_pt_update_preserve_ad (5) missing");
	CHECK(fi.submap & (1U << XENFEAT_gnttab_map_avail_bits),
	      "feature gnttab_map_avail_bits (7) missing");
	/* A PV domU never sees these (pv-abi.md 2.2 A.1). */
	static const unsigned int never[] = {
	    XENFEAT_writable_page_tables,
	    XENFEAT_writable_descriptor_tables,
	    XENFEAT_auto_translated_physmap,
	    XENFEAT_supervisor_mode_kernel,
	    XENFEAT_hvm_callback_vector,
	    XENFEAT_hvm_safe_pvclock,
	    XENFEAT_hvm_pirqs,
	    XENFEAT_dom0,
	};
	for (size_t i = 0; i < ARRAY_SIZE(never); i++)
		CHECK(!(fi.submap & (1U << never[i])), "feature %u must not be set for a PV domU",
		      never[i]);

	memset(caps, 0, sizeof(caps));
	rc = HYPERVISOR_xen_version(XENVER_capabilities, caps);
	if (rc < 0) {
		printf("XENVER_capabilities = %ld (not implemented: not checked)\n", rc);
	} else {
		CHECK(strnlen(caps, sizeof(caps)) < sizeof(caps), "capabilities not terminated");
		printf("XENVER_capabilities = '%s'\n", caps);
		CHECK(strstr(caps, "xen-3.0-x86_64"), "capabilities lack xen-3.0-x86_64");
	}

	rc = HYPERVISOR_xen_version(XENVER_pagesize, NULL);
	if (rc < 0)
		printf("XENVER_pagesize = %ld (not implemented: not checked)\n", rc);
	else
		CHECK_EQ(rc, 4096, "XENVER_pagesize");

	rc = HYPERVISOR_xen_version(XENVER_platform_parameters, &params);
	if (rc < 0) {
		printf("XENVER_platform_parameters = %ld (not implemented: not checked)\n", rc);
	} else {
		printf("XENVER_platform_parameters: virt_start %#lx\n", params.virt_start);
		CHECK_EQ(params.virt_start, 0xffff800000000000UL, "platform_parameters.virt_start");
	}
}
