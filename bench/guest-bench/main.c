/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Foundation benchmark kernel: timed round trips of the paths every PV
 * guest leans on, measured with rdtsc inside the guest.
 *
 *   hypercall    HYPERVISOR_xen_version(XENVER_version)
 *   console0     HYPERVISOR_console_io(CONSOLEIO_write) of 0 bytes
 *   bounce_int3  int3 -> trap-table bounce -> handler -> HYPERVISOR_iret
 *   bounce_ud2   ud2, same path (the handler steps over the 2 bytes)
 *
 * Command line (xenkvm --extra): "n=COUNT ops=NAME,NAME,... settle=MS"
 * (defaults: n=200000, all ops, settle=0).  Per op, the output for
 * bench/run-bench is "BENCH <op>_ns" (median of 5 rounds, ns per op by the
 * guest's TSC), "BENCH <op>_min_ns" (best round), "BENCH <op>_timed" and
 * "_count" (ops timed / run), with "BENCH mark <op> ready|start|end"
 * around the timed rounds (see run_op), then the usual "Test result" line.
 * The TSC rate comes from the hypervisor ("BENCH tsc_khz"); the runner
 * cross-checks it by timing the marks with its own clock.
 */
#include "xkg.h"

const char test_title[] = "bench: hypercall, console_io and exception-bounce round trips";

#define DEFAULT_N 200000UL
#define ROUNDS	  5

static bool op_hypercall(void)
{
	return HYPERVISOR_xen_version(XENVER_version, NULL) > 0;
}

static bool op_console0(void)
{
	return HYPERVISOR_console_io(CONSOLEIO_write, 0, "") >= 0;
}

static volatile uint64_t bounces;

static bool op_int3(void)
{
	uint64_t before = bounces;

	asm volatile("int3" ::: "memory");
	return bounces == before + 1;
}

static bool op_ud2(void)
{
	uint64_t before = bounces;

	asm volatile("ud2" ::: "memory");
	return bounces == before + 1;
}

/* int3 is a trap: the frame's RIP is already past the instruction. */
static bool on_int3(struct xkg_regs *r)
{
	if (((const uint8_t *)r->rip)[-1] != 0xcc)
		return false;
	bounces++;
	return true;
}

/* ud2 is a fault: step over its two bytes, as Linux's BUG() handling does. */
static bool on_ud2(struct xkg_regs *r)
{
	const uint8_t *ip = (const uint8_t *)r->rip;

	if (ip[0] != 0x0f || ip[1] != 0x0b)
		return false;
	r->rip += 2;
	bounces++;
	return true;
}

static const struct bench_op {
	const char *name;
	bool (*fn)(void);
} ops[] = {
    {"hypercall", op_hypercall},
    {"console0", op_console0},
    {"bounce_int3", op_int3},
    {"bounce_ud2", op_ud2},
};

static uint64_t parse_u64(const char *s, const char **end)
{
	uint64_t v = 0;

	while (*s >= '0' && *s <= '9' && v < (1UL << 40))
		v = v * 10 + (uint64_t)(*s++ - '0');
	*end = s;
	return v;
}

/* Is `name` in the comma-separated list [list, list_end)? */
static bool in_list(const char *list, const char *list_end, const char *name)
{
	size_t len = strlen(name);

	while (list < list_end) {
		const char *comma = list;

		while (comma < list_end && *comma != ',')
			comma++;
		if ((size_t)(comma - list) == len && !strncmp(list, name, len))
			return true;
		list = comma + 1;
	}
	return false;
}

static uint64_t n_ops = DEFAULT_N;
static uint64_t settle_ms;
static uint64_t khz;
static bool selected[ARRAY_SIZE(ops)];

static void parse_cmdline(void)
{
	const char *p = (const char *)xkg_start_info->cmd_line;
	const char *end = p + strnlen(p, sizeof(xkg_start_info->cmd_line));
	bool have_ops = false;

	while (p < end) {
		const char *tok = p, *tok_end = p, *q;

		while (tok_end < end && *tok_end != ' ')
			tok_end++;
		if (!strncmp(tok, "n=", 2)) {
			n_ops = parse_u64(tok + 2, &q);
			if (q != tok_end)
				panic("bad n= in the command line '%s'", xkg_start_info->cmd_line);
		} else if (!strncmp(tok, "settle=", 7)) {
			settle_ms = parse_u64(tok + 7, &q);
			if (q != tok_end)
				panic("bad settle= in the command line '%s'",
				      xkg_start_info->cmd_line);
		} else if (!strncmp(tok, "ops=", 4)) {
			size_t want = 1, got = 0;

			for (q = tok + 4; q < tok_end; q++)
				want += *q == ',';
			have_ops = true;
			for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
				selected[i] = in_list(tok + 4, tok_end, ops[i].name);
				got += selected[i];
			}
			if (got != want)
				panic("unknown or repeated op in '%s'", xkg_start_info->cmd_line);
		}
		p = tok_end + 1;
	}
	if (!have_ops)
		for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
			selected[i] = true;
}

/*
 * TSC frequency: Xen's CPUID leaf 0x40000003 (subleaf 0, ecx = kHz) as the
 * launcher fills it; failing that, derive it from the pvclock scale in
 * vcpu_time_info (ns = ((tsc << shift) * mul) >> 32).
 */
static uint64_t get_tsc_khz(const char **source)
{
	uint32_t a, b, c, d;
	struct shared_info *sh;
	const struct vcpu_time_info *t;
	uint64_t khz;
	long rc;

	xen_cpuid(0x40000003, 0, &a, &b, &c, &d);
	if (c) {
		*source = "cpuid";
		return c;
	}
	sh = xkg_map_shared_info(&rc);
	if (!sh)
		return 0;
	t = &sh->vcpu_info[0].time;
	if (!t->tsc_to_system_mul)
		return 0;
	khz = (1000000UL << 32) / t->tsc_to_system_mul;
	if (t->tsc_shift < 0)
		khz <<= -t->tsc_shift;
	else
		khz >>= t->tsc_shift;
	*source = "pvclock";
	return khz;
}

static void sort_u64(uint64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
}

/* Print cycles-per-round as ns per op with one decimal, without floats. */
static void print_ns(const char *op, const char *suffix, uint64_t cycles, uint64_t per_round)
{
	/*
	 * ns = cycles * 10^6 / kHz.  Both products stay far below 2^64 for
	 * any op shorter than a second.
	 */
	uint64_t milli_cycles = per_round ? cycles * 1000 / per_round : 0;
	uint64_t ns10 = (milli_cycles * 10000 + khz / 2) / khz;

	printf("BENCH %s%s %lu.%lu\n", op, suffix, ns10 / 10, ns10 % 10);
}

/* Busy-wait without hypercalls, so the runner can read counters while we
 * stand still. */
static void settle(void)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < settle_ms * khz)
		asm volatile("pause");
}

/*
 * Warm-up, then ROUNDS timed rounds.  Around them, "BENCH mark" lines for
 * the runner: "ready" and "end" are each followed by settle= ms of quiet,
 * in which it reads KVM's exit counters; it times "start" to "end" with
 * its own clock.  With n=0 nothing runs but every line is still printed,
 * so that run is the baseline for exit counts.
 */
static void run_op(const struct bench_op *op)
{
	uint64_t per_round = n_ops / ROUNDS, t[ROUNDS] = {0}, bad = 0, warm, total;

	if (n_ops && !per_round)
		per_round = 1;
	warm = n_ops ? per_round / 10 + 1 : 0;
	total = warm + per_round * ROUNDS;
	/* Warm caches and the stub's paths; not timed. */
	for (uint64_t i = 0; i < warm; i++)
		bad += !op->fn();
	printf("BENCH mark %s ready\n", op->name);
	settle();
	printf("BENCH mark %s start\n", op->name);
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = rdtsc();

		for (uint64_t i = 0; i < per_round; i++)
			bad += !op->fn();
		t[r] = rdtsc() - t0;
	}
	printf("BENCH mark %s end\n", op->name);
	settle();
	if (bad) {
		xkg_fail("%s: %lu of %lu operations failed", op->name, bad, total);
		return;
	}
	sort_u64(t, ROUNDS);
	print_ns(op->name, "_ns", t[ROUNDS / 2], per_round);
	print_ns(op->name, "_min_ns", t[0], per_round);
	printf("BENCH %s_timed %lu\n", op->name, per_round * ROUNDS);
	/* Every operation, warm-up included: what whole-run exits divide by. */
	printf("BENCH %s_count %lu\n", op->name, total);
}

void test_main(void)
{
	const char *source = "none";
	long rc;

	parse_cmdline();
	khz = get_tsc_khz(&source);
	if (!khz) {
		xkg_error("no TSC frequency (CPUID 0x40000003 and pvclock both empty)");
		return;
	}
	printf("BENCH tsc_khz %lu %s\n", khz, source);
	printf("BENCH n %lu\n", n_ops);

	rc = xkg_setup_traps();
	if (rc) {
		xkg_error("set_trap_table = %ld", rc);
		return;
	}
	xkg_set_handler(3, on_int3);
	xkg_set_handler(6, on_ud2);

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (selected[i])
			run_op(&ops[i]);
}
