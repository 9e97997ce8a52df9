/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A 32-bit user program for the compat paths of a PV guest: write(2)
 * through int $0x80, then through the vDSO's __kernel_vsyscall (SYSCALL or
 * SYSENTER in compat mode, whichever the kernel chose), then i386 TLS as
 * glibc sets it up (set_thread_area, %gs from the GDT entry it got, which
 * the PV kernel writes with update_descriptor) read across a system call
 * and a sleep (context switches reload %gs), then exit(7).
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

static int sys3(int nr, long b, long c, long d)
{
	int ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(b), "c"(c), "d"(d) : "memory");
	return ret;
}

struct user_desc {
	unsigned entry_number, base_addr, limit;
	unsigned flags; /* seg_32bit, contents:2, read_exec_only, limit_in_pages, ... */
};

static unsigned tls_block[4] = {0x7e57c0deu, 1, 2, 3};

static unsigned gs_word0(void)
{
	unsigned v;
	__asm__ volatile("movl %%gs:0, %0" : "=r"(v));
	return v;
}

static void say(const char *s)
{
	int n = 0;
	while (s[n])
		n++;
	write_int80(s, n);
}

static void tls_check(void)
{
	struct user_desc u = {~0u, (unsigned)(unsigned long)tls_block, 0xfffff,
			      1u | (1u << 4) | (1u << 6)};
	struct {
		long sec, nsec;
	} ts = {0, 20000000};
	unsigned short sel, back;

	if (sys3(243 /* set_thread_area */, (long)&u, 0, 0) != 0) {
		say("32-bit TLS: set_thread_area failed\n");
		return;
	}
	sel = (unsigned short)(u.entry_number * 8 + 3);
	__asm__ volatile("movw %0, %%gs" ::"r"(sel));
	unsigned a = gs_word0();
	sys3(20 /* getpid */, 0, 0, 0);
	unsigned b = gs_word0();
	sys3(162 /* nanosleep */, (long)&ts, 0, 0);
	unsigned c = gs_word0();
	__asm__ volatile("movw %%gs, %0" : "=r"(back));
	if (a == tls_block[0] && b == a && c == a && back == sel)
		say("hello from 32-bit TLS\n");
	else
		say("32-bit TLS: wrong %gs data or selector\n");
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
	tls_check();
	__asm__ volatile("int $0x80" ::"a"(1), "b"(7));
	for (;;)
		;
}

__asm__(".globl _start\n_start:\n\tmov %esp, %eax\n\tpush %eax\n\tcall start_c\n");
