/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the domain builder: any byte string as a kernel file
 * (ELF, bzImage with any compression, gzip).  Whatever parses is laid out
 * and, if it fits, built into a 32 MiB RAM buffer with a scrambled p2m.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"

#define NR_PAGES 8192ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static uint64_t p2m[NR_PAGES];
	struct xk_kernel k;
	struct xk_layout lay;
	struct xk_build_params p;
	struct xk_build_result *r;
	char err[XK_ERRLEN];

	if (!ram) {
		ram = malloc(NR_PAGES * 4096);
		for (uint64_t i = 0; i < NR_PAGES; i++)
			p2m[i] = (i * 4099) % NR_PAGES; /* 4099 is prime: a permutation */
	}
	if (xk_kernel_parse(data, size, &k, err))
		return 0;
	if (xk_layout_compute(&k, NR_PAGES, size % 70000, &lay, err) == 0) {
		r = malloc(sizeof(*r));
		memset(&p, 0, sizeof(p));
		p.k = &k;
		p.nr_pages = NR_PAGES;
		p.ram = ram;
		p.p2m = (size & 1) ? p2m : NULL;
		p.ramdisk = data;
		p.ramdisk_len = size % 70000;
		p.cmdline = "console=hvc0";
		xk_build(&p, r, err);
		free(r);
	}
	xk_kernel_free(&k);
	return 0;
}
