/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shared_info / vcpu_info access and pvclock.
 */
#include "xkg.h"

/* Pages of our own image whose L1 entries exist (the builder maps all of
 * the image): one gets the shared_info frame, one holds vcpu_info. */
static char shared_info_va[XKG_PAGE_SIZE] __aligned(4096);
static char vcpu_info_page[XKG_PAGE_SIZE] __aligned(4096);

/* Not at offset 0, to exercise the offset field. */
#define VCPU_INFO_OFFSET 0x240

struct shared_info *xkg_map_shared_info(long *rc)
{
	uint64_t maddr = xkg_start_info->shared_info;
	/* As Linux maps it: a kernel RW mapping, no U bit (the hypervisor
	 * adjusts guest-kernel mappings itself). */
	uint64_t pte = maddr | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
	long r;

	if (maddr & (XKG_PAGE_SIZE - 1)) {
		*rc = -XEN_EINVAL;
		printf("start_info.shared_info %#lx is not page aligned\n", (unsigned long)maddr);
		return NULL;
	}
	r = HYPERVISOR_update_va_mapping((unsigned long)shared_info_va, pte, UVMF_INVLPG);
	*rc = r;
	if (r) {
		printf("update_va_mapping(%p, shared_info %#lx) = %ld\n", shared_info_va,
		       (unsigned long)maddr, r);
		return NULL;
	}
	return (struct shared_info *)shared_info_va;
}

struct vcpu_info *xkg_register_vcpu_info(long *rc)
{
	struct vcpu_register_vcpu_info info = {
	    .mfn = xkg_virt_to_mfn(vcpu_info_page),
	    .offset = VCPU_INFO_OFFSET,
	};
	long r = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &info);

	*rc = r;
	if (r) {
		printf("VCPUOP_register_vcpu_info(mfn %#lx, offset %#x) = %ld\n",
		       (unsigned long)info.mfn, info.offset, r);
		return NULL;
	}
	return (struct vcpu_info *)(vcpu_info_page + VCPU_INFO_OFFSET);
}

long xkg_remap_own(const void *page, bool user)
{
	uint64_t pte = (xkg_virt_to_mfn(page) << 12) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED |
		       _PAGE_DIRTY | (user ? _PAGE_USER : 0);

	return HYPERVISOR_update_va_mapping((unsigned long)page, pte, UVMF_INVLPG);
}

int xkg_image_user_accessible(void)
{
	extern char _image_start[], _end[];

	/* Under Xen (ring-3 kernel) U is forced on every guest mapping; a
	 * ring-1 kernel (xenkvm's default on hw) honours it as native paging
	 * does, so pages run in user mode need it, as Linux's user pages
	 * have it.  The builder maps the whole image RW. */
	for (char *p = _image_start; p < _end; p += XKG_PAGE_SIZE) {
		long r = xkg_remap_own(p, true);
		if (r) {
			printf("update_va_mapping(%p, +U) = %ld\n", p, r);
			return (int)r;
		}
	}
	return 0;
}

uint64_t xkg_system_time(const struct vcpu_time_info *t)
{
	uint32_t version, mul;
	uint64_t sys, stamp, tsc, delta;
	int8_t shift;

	do {
		version = ACCESS_ONCE(t->version);
		barrier();
		tsc = rdtsc();
		sys = ACCESS_ONCE(t->system_time);
		stamp = ACCESS_ONCE(t->tsc_timestamp);
		mul = ACCESS_ONCE(t->tsc_to_system_mul);
		shift = ACCESS_ONCE(t->tsc_shift);
		barrier();
	} while ((version & 1) || version != ACCESS_ONCE(t->version));

	delta = tsc - stamp;
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return sys + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/* The runner passes "xkg.platform=pvm|hw" on the command line.  On this
 * project's PVM hosts the guest kernel runs as PVM supervisor, so KVM, not
 * the stub, handles its privileged instructions and `int $n` kills the VM
 * (docs/architecture.md): tests skip those checks there. */
bool xkg_cmdline_has(const char *word)
{
	const char *c = (const char *)xkg_start_info->cmd_line;
	size_t n = strlen(word);

	/* Bounded by the field, not by a terminator we did not write. */
	for (unsigned i = 0; i + n <= sizeof(xkg_start_info->cmd_line) && c[i]; i++) {
		unsigned k = 0;
		while (k < n && c[i + k] == word[k])
			k++;
		if (k == n)
			return true;
	}
	return false;
}

bool xkg_on_pvm(void)
{
	return xkg_cmdline_has("xkg.platform=pvm");
}

unsigned int xkg_expected_kernel_ring(void)
{
	return xkg_cmdline_has("xkg.kernel_ring=3") ? 3 : 1;
}

unsigned int xkg_kernel_ring(void)
{
	uint16_t cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}
