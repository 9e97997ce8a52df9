/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Enlightened CPUID through the forced-emulation prefix
 * (ud2; .ascii "xen"; cpuid), pv-abi.md 1.10: the Xen leaves at 0x40000000
 * and the features that must be hidden from a PV guest.
 */
#include "xkg.h"

const char test_title[] = "cpuid: Xen leaves and hidden features via forced emulation";

#define BIT(n) (1U << (n))

struct hidden {
	uint32_t leaf, subleaf;
	int reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	unsigned int bit;
	const char *name;
};

/* pv-abi.md 1.10 "Hide from the PV view" (FSGSBASE is only advisable). */
static const struct hidden hidden[] = {
    {1, 0, 3, 3, "PSE"},
    {1, 0, 3, 12, "MTRR"},
    {1, 0, 3, 13, "PGE"},
    {1, 0, 3, 17, "PSE36"},
    {1, 0, 2, 3, "MONITOR"},
    {1, 0, 2, 5, "VMX"},
    {1, 0, 2, 17, "PCID"},
    {1, 0, 2, 21, "X2APIC"},
    {1, 0, 2, 24, "TSC_DEADLINE"},
    {7, 0, 1, 7, "SMEP"},
    {7, 0, 1, 10, "INVPCID"},
    {7, 0, 1, 20, "SMAP"},
    {7, 0, 2, 2, "UMIP"},
    {7, 0, 2, 3, "PKU"},
    {7, 0, 2, 16, "LA57"},
    {0xd, 1, 0, 3, "XSAVES"},
    {0x80000001, 0, 3, 26, "PAGE1GB"},
    {0x80000001, 0, 2, 2, "SVM"},
};

static void regs(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	xen_cpuid(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
}

void test_main(void)
{
	uint32_t r[4], max_basic, max_ext;
	char sig[13];
	long ver;

	/* Hypervisor leaves. */
	regs(0x40000000, 0, r);
	memcpy(sig, &r[1], 4);
	memcpy(sig + 4, &r[2], 4);
	memcpy(sig + 8, &r[3], 4);
	sig[12] = 0;
	printf("cpuid 0x40000000: max %#x signature '%s'\n", r[0], sig);
	CHECK(!memcmp(sig, "XenVMMXenVMM", 12), "signature '%s', want XenVMMXenVMM", sig);
	CHECK(r[0] >= 0x40000002 && r[0] < 0x40000100, "max Xen leaf %#x", r[0]);

	regs(0x40000001, 0, r);
	ver = HYPERVISOR_xen_version(XENVER_version, NULL);
	printf("cpuid 0x40000001: eax %#x (xen_version says %#lx)\n", r[0], ver);
	CHECK(r[0] >= 0x40000, "Xen version in cpuid %#x < 4.0", r[0]);
	CHECK_EQ(r[0], ver, "cpuid 0x40000001 eax vs XENVER_version");

	regs(0x40000002, 0, r);
	printf("cpuid 0x40000002: eax %#x ebx %#x ecx %#x edx %#x\n", r[0], r[1], r[2], r[3]);
	CHECK(r[0] >= 1, "hypercall pages %u", r[0]);
	CHECK_EQ(r[1], 0x40000000, "hypercall MSR base");
	CHECK(r[2] & 1, "MMU_PT_UPDATE_PRESERVE_AD not advertised in 0x40000002 ecx");

	/* No second hypervisor (e.g. KVM) signature at a higher base. */
	for (uint32_t base = 0x40000100; base < 0x40010000; base += 0x100) {
		regs(base, 0, r);
		if (!memcmp(&r[1], "KVMK", 4) || !memcmp(&r[1], "XenV", 4) ||
		    !memcmp(&r[1], "Micr", 4))
			xkg_fail("hypervisor signature %.4s%.4s%.4s at %#x", (char *)&r[1],
				 (char *)&r[2], (char *)&r[3], base);
	}

	/* Basic and extended leaves. */
	regs(0, 0, r);
	max_basic = r[0];
	memcpy(sig, &r[1], 4);
	memcpy(sig + 4, &r[3], 4);
	memcpy(sig + 8, &r[2], 4);
	printf("cpuid 0: max basic %#x vendor '%s'\n", max_basic, sig);
	CHECK(max_basic >= 1, "max basic leaf %#x", max_basic);
	regs(0x80000000, 0, r);
	max_ext = r[0];
	printf("cpuid 0x80000000: max extended %#x\n", max_ext);

	regs(1, 0, r);
	printf("cpuid 1: eax %#x ebx %#x ecx %#x edx %#x\n", r[0], r[1], r[2], r[3]);
	regs(7, 0, r);
	if (max_basic >= 7)
		printf("cpuid 7.0: ebx %#x ecx %#x edx %#x\n", r[1], r[2], r[3]);

	for (size_t i = 0; i < ARRAY_SIZE(hidden); i++) {
		const struct hidden *h = &hidden[i];

		if (h->leaf < 0x80000000 ? h->leaf > max_basic : h->leaf > max_ext)
			continue;
		regs(h->leaf, h->subleaf, r);
		CHECK(!(r[h->reg] & BIT(h->bit)), "%s (leaf %#x.%u reg %d bit %u) visible", h->name,
		      h->leaf, h->subleaf, h->reg, h->bit);
	}
}
