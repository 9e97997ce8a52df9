/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for xl.cfg -> launcher options (emu/xlcfg.c): the input
 * up to the first 0x01 byte is the file; each further 0x01-separated piece
 * is a command-line KEY=VALUE setting.  Whatever libxlutil accepts goes
 * through the mapping, the disk and vif parsers and --dry-run's printer;
 * the file is also read as a GRUB configuration (pygrub's choice).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlcfg.h"
#include "bootloader.h"

#define MAX_EXTRA 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void xk_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	char *copy = malloc(size + 1);
	const char *extra[MAX_EXTRA];
	unsigned nr = 0;
	struct xk_xlcfg c;

	if (!null)
		null = fopen("/dev/null", "w");
	if (!copy || !null) {
		free(copy);
		return 0;
	}
	memcpy(copy, data, size);
	copy[size] = 0;
	char *sep = memchr(copy, 1, size);
	size_t len = sep ? (size_t)(sep - copy) : size;
	while (sep && nr < MAX_EXTRA) {
		*sep = 0;
		extra[nr++] = sep + 1;
		sep = memchr(sep + 1, 1, size - (size_t)(sep + 1 - copy));
	}
	if (sep)
		*sep = 0;
	/* the same text as a GRUB configuration (bootloader = "pygrub") */
	struct xk_boot_entry e;
	char err[256];
	copy[len] = 0;
	if (xk_grub_pick(copy, size & 1, &e, err, sizeof(err)) == 0)
		xk_boot_entry_free(&e);
	if (xk_xlcfg_parse(&c, "fuzz.cfg", copy, len, extra, nr, null) == 0)
		xk_xlcfg_print(&c, null);
	xk_xlcfg_free(&c);
	free(copy);
	return 0;
}
