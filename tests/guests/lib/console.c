/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Console output through HYPERVISOR_console_io(CONSOLEIO_write) and a small
 * printf: %s %c %d %i %u %x %X %p %% with l/ll/z length, width, precision
 * (strings only) and the flags '0', '-' and '#'.
 */
#include "xkg.h"

long xkg_console_write(const char *s, size_t len)
{
	return HYPERVISOR_console_io(CONSOLEIO_write, (unsigned int)len, s);
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_field(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
	size_t w = width > 0 ? (size_t)width : 0;

	if (!left && pad == '0' && n && (*s == '-') && w > n) {
		/* Sign goes before zero padding. */
		put(o, *s++);
		n--;
		w--;
	}
	for (; !left && w > n; w--)
		put(o, pad);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	for (; left && w > n; w--)
		put(o, ' ');
}

static size_t utoa(char *tmp, unsigned long long v, unsigned int base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	size_t n = 0, i;

	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	for (i = 0; i < n; i++)
		tmp[i] = rev[n - 1 - i];
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};

	for (; *fmt; fmt++) {
		char tmp[32];
		bool left = false, alt = false;
		char pad = ' ';
		int width = 0, lng = 0, prec = -1;
		size_t n;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			for (fmt++; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		}
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}

		switch (*fmt) {
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_field(&o, tmp, 1, width, left, ' ');
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			if (!s)
				s = "(null)";
			put_field(&o, s, prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s), width,
				  left, ' ');
			break;
		}
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
			unsigned long long u =
			    v < 0 ? -(unsigned long long)v : (unsigned long long)v;

			n = 0;
			if (v < 0)
				tmp[n++] = '-';
			n += utoa(tmp + n, u, 10, false);
			put_field(&o, tmp, n, width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v =
			    lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);

			n = 0;
			if (alt && *fmt != 'u') {
				tmp[n++] = '0';
				tmp[n++] = 'x';
			}
			n += utoa(tmp + n, v, *fmt == 'u' ? 10 : 16, *fmt == 'X');
			put_field(&o, tmp, n, width, left, pad);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);

			tmp[0] = '0';
			tmp[1] = 'x';
			n = 2 + utoa(tmp + 2, v, 16, false);
			put_field(&o, tmp, n, width, left, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			/* Unknown conversion: show it verbatim. */
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xkg_console_write(buf, strnlen(buf, sizeof(buf)));
	return n;
}
