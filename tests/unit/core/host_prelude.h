/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Force-included (-include) first into every file of the host test build.
 * stub.h declares the C library functions under "visibility push(hidden)"
 * because the stub defines them itself (core/lib.c); on the host they come
 * from libc's shared object, which a hidden reference cannot bind to.  An
 * earlier declaration with explicit default visibility wins.
 */
#ifndef CORE_TEST_HOST_PRELUDE_H
#define CORE_TEST_HOST_PRELUDE_H

#include <stdarg.h>
#include <stddef.h>

#define CORE_TEST_LIBC __attribute__((visibility("default")))
CORE_TEST_LIBC void *memcpy(void *d, const void *s, size_t n);
CORE_TEST_LIBC void *memset(void *d, int c, size_t n);
CORE_TEST_LIBC void *memmove(void *d, const void *s, size_t n);
CORE_TEST_LIBC int memcmp(const void *a, const void *b, size_t n);
CORE_TEST_LIBC size_t strlen(const char *s);
CORE_TEST_LIBC size_t strnlen(const char *s, size_t n);
CORE_TEST_LIBC int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
CORE_TEST_LIBC int snprintf(char *buf, size_t size, const char *fmt, ...);
#undef CORE_TEST_LIBC

#endif
