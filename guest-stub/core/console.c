/* SPDX-License-Identifier: GPL-2.0-only */
/* Hostcalls for console output, diagnostics, shutdown and fatal errors. */
#include "core.h"
#include "platform.h"

int64_t hostcall(struct pcpu *pc, uint32_t op, uint64_t a0, const void *buf, size_t len)
{
	struct xk_hostcall *hc = pc->hc;

	if (len > XK_HOSTCALL_BUF)
		len = XK_HOSTCALL_BUF;
	hc->op = op;
	hc->arg[0] = a0;
	hc->len = (uint32_t)len;
	if (buf && len)
		memcpy(hc->buf, buf, len);
	plat_hostcall(pc);
	return hc->ret;
}

void console_write(struct pcpu *pc, const char *buf, size_t len)
{
	while (len) {
		size_t n = len > XK_HOSTCALL_BUF ? XK_HOSTCALL_BUF : len;
		hostcall(pc, XK_HC_CONSOLE_WRITE, 0, buf, n);
		buf += n;
		len -= n;
	}
}

void printk(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	hostcall(this_pcpu(), XK_HC_LOG, 0, buf, (size_t)n);
}

__attribute__((noreturn)) void domain_shutdown(struct pcpu *pc, unsigned reason)
{
	dom.shutting_down = true;
	for (;;) {
		hostcall(pc, XK_HC_SHUTDOWN, reason, NULL, 0);
		/* The launcher never resumes a vCPU after shutdown. */
		plat_irq_disable();
		plat_idle();
	}
}

__attribute__((noreturn)) void stub_crash(struct pcpu *pc, const struct cpu_regs *regs,
					   const char *fmt, ...)
{
	char *buf = pc->hc->buf;
	va_list ap;
	int n;

	/* A fault while reporting a fault: report the bare minimum. */
	if (pc->in_stub_fault++) {
		static const char msg[] = "xenkvm stub: recursive fault while crashing\n";
		memcpy(buf, msg, sizeof(msg) - 1);
		pc->hc->len = sizeof(msg) - 1;
		pc->hc->op = XK_HC_CRASH;
		plat_hostcall(pc);
		for (;;)
			plat_idle();
	}
	va_start(ap, fmt);
	n = vsnprintf(buf, XK_HOSTCALL_BUF, fmt, ap);
	va_end(ap);
	if (n < XK_HOSTCALL_BUF - 1)
		buf[n++] = '\n';
	if (regs && n < XK_HOSTCALL_BUF)
		guest_regs_dump(pc, regs, buf + n, XK_HOSTCALL_BUF - n);
	pc->hc->len = (uint32_t)strnlen(buf, XK_HOSTCALL_BUF);
	pc->hc->op = XK_HC_CRASH;
	dom.shutting_down = true;
	for (;;) {
		plat_hostcall(pc);
		plat_irq_disable();
		plat_idle();
	}
}

bool guest_va_ok(uint64_t va, size_t len)
{
	uint64_t end = va + len;

	if (end < va)
		return false;
	/* canonical, and never inside the Xen hole where the stub lives */
	if (va < 0x0000800000000000ULL)
		return end <= 0x0000800000000000ULL;
	if (va < 0xffff880000000000ULL)
		return false;
	return true;
}

int copy_from_guest(void *dst, uint64_t src_va, size_t len)
{
	if (!guest_va_ok(src_va, len))
		return -EFAULT;
	return raw_copy(dst, (const void *)src_va, len) ? -EFAULT : 0;
}

size_t copy_insn_from_guest(uint8_t *buf, uint64_t rip, size_t max)
{
	/* Up to the end of rip's page, then what the next page allows: an
	 * instruction near an unmapped page must still be readable. */
	size_t first = PAGE_SIZE - (rip & (PAGE_SIZE - 1));

	memset(buf, 0, max);
	if (first > max)
		first = max;
	if (copy_from_guest(buf, rip, first))
		return 0;
	if (first < max && !copy_from_guest(buf + first, rip + first, max - first))
		return max;
	return first;
}

bool guest_canonical(uint64_t va)
{
	return va < 0x0000800000000000ULL || va >= 0xffff800000000000ULL;
}

int copy_to_guest(uint64_t dst_va, const void *src, size_t len)
{
	if (!guest_va_ok(dst_va, len))
		return -EFAULT;
	return raw_copy((void *)dst_va, src, len) ? -EFAULT : 0;
}
