/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Console output through HYPERVISOR_console_io(CONSOLEIO_write): short
 * lines, a 2000-character line in one hypercall, many numbered lines and
 * awkward buffers.  The runner checks the output (see meson.build), the
 * guest checks hypercall results and its own printf.
 */
#include "xkg.h"

const char test_title[] = "console: CONSOLEIO_write, long and many lines";

#define LONG_REPS  200
#define MANY_LINES 500

static char long_line[32 + LONG_REPS * 10];

static void check_fmt(const char *want, const char *fmt, ...) __printf(2, 3);
static void check_fmt(const char *want, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, want) || n != (int)strlen(want))
		xkg_fail("printf(\"%s\") gave \"%s\" (%d), want \"%s\"", fmt, buf, n, want);
}

static void printf_selftest(void)
{
	char small[8];
	int n;

	check_fmt("abc", "%s", "abc");
	check_fmt("[  abc]", "[%5s]", "abc");
	check_fmt("[abc  ]", "[%-5s]", "abc");
	check_fmt("ab", "%.2s", "abcdef");
	check_fmt("-42 42 0", "%d %i %u", -42, 42, 0U);
	check_fmt("4294967295", "%u", 0xffffffffU);
	check_fmt("-9223372036854775808", "%ld", (long)(-9223372036854775807L - 1));
	check_fmt("18446744073709551615", "%lu", ~0UL);
	check_fmt("deadbeef DEADBEEF", "%x %X", 0xdeadbeefU, 0xdeadbeefU);
	check_fmt("ffffffff80000000", "%lx", 0xffffffff80000000UL);
	check_fmt("0x1f", "%#x", 0x1fU);
	check_fmt("00ff", "%04x", 0xffU);
	check_fmt("-0042", "%05d", -42);
	check_fmt("0xffffffff80100000", "%p", (void *)0xffffffff80100000UL);
	check_fmt("x%y", "%c%%%c", 'x', 'y');

	n = snprintf(small, sizeof(small), "%s", "0123456789");
	CHECK(n == 10 && !strcmp(small, "0123456"), "snprintf truncation: %d \"%s\"", n, small);
}

void test_main(void)
{
	long rc;
	size_t len = 0;

	printf_selftest();

	rc = xkg_console_write("console: short line\n", 20);
	CHECK(rc >= 0, "CONSOLEIO_write(short) = %ld", rc);

	/* A write of zero bytes is valid and prints nothing. */
	rc = xkg_console_write("", 0);
	CHECK(rc >= 0, "CONSOLEIO_write(count 0) = %ld", rc);

	/* One line, two pieces: the line must come out whole. */
	rc = xkg_console_write("console: split ", 15);
	CHECK(rc >= 0, "CONSOLEIO_write(part 1) = %ld", rc);
	rc = xkg_console_write("line joined\n", 12);
	CHECK(rc >= 0, "CONSOLEIO_write(part 2) = %ld", rc);

	/* 2000+ bytes in a single hypercall. */
	memcpy(long_line, "console: long ", 14);
	len = 14;
	for (int i = 0; i < LONG_REPS; i++) {
		memcpy(long_line + len, "0123456789", 10);
		len += 10;
	}
	memcpy(long_line + len, " end\n", 5);
	len += 5;
	rc = xkg_console_write(long_line, len);
	CHECK(rc >= 0, "CONSOLEIO_write(%zu bytes) = %ld", len, rc);

	for (int i = 0; i < MANY_LINES; i++)
		printf("console: many %04d of %d\n", i, MANY_LINES);

	printf("console: tab\tand bytes %c%c%c done\n", 'x', 'y', 'z');
}
