/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A 32-bit user program for the compat paths of a PV guest: write(2)
 * through int $0x80, then through the vDSO's __kernel_vsyscall (SYSCALL or
 * SYSENTER in compat mode, whichever the kernel chose), then exit(7).
 * Built with gcc -m32 -nostdlib -static: no 32-bit libc needed.
 */
#define AT_SYSINFO 32

static const char m1[] = "hello from 32-bit int80\n";
static const char m2[] = "hello from 32-bit vsyscall\n";

static void write_int80(const char *s, int n)
{
	int ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(4), "b"(1), "c"(s), "d"(n) : "memory");
}

static void write_vsyscall(unsigned long entry, const char *s, int n)
{
	int ret;
	__asm__ volatile("call *%1" : "=a"(ret) : "r"(entry), "a"(4), "b"(1), "c"(s), "d"(n)
			 : "memory");
}

void start_c(unsigned long *sp)
{
	int argc = (int)sp[0];
	unsigned long *p = sp + 1 + argc + 1; /* past argv and its NULL */
	unsigned long vsys = 0;

	while (*p)
		p++; /* environment */
	for (p++; p[0]; p += 2)
		if (p[0] == AT_SYSINFO)
			vsys = p[1];
	write_int80(m1, sizeof(m1) - 1);
	if (vsys)
		write_vsyscall(vsys, m2, sizeof(m2) - 1);
	__asm__ volatile("int $0x80" ::"a"(1), "b"(7));
	for (;;)
		;
}

__asm__(".globl _start\n_start:\n\tmov %esp, %eax\n\tpush %eax\n\tcall start_c\n");
