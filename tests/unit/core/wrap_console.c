/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/console.c as is, except printk(): it finds its vCPU from %rsp, which
 * only works on a stub stack.  The fake platform provides printk instead.
 */
#define printk core_console_printk_unused
#include "../../../guest-stub/core/console.c"
