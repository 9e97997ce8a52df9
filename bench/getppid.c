/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Native reference for bench/run-bench: the cost of a trivial system call
 * (getppid) on the kernel this runs on.  Same shape as the bench kernel's
 * loops: a warm-up, then 5 timed rounds; prints the median and best round
 * as "BENCH getppid_ns X" / "BENCH getppid_min_ns X".
 *
 * usage: getppid [COUNT]   (default 2000000)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 5

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The raw system call: glibc does not cache getppid, but say so anyway. */
static void loop(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint64_t n = 2000000, per_round, t[ROUNDS];
	char *end;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [COUNT]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		errno = 0;
		n = strtoull(argv[1], &end, 10);
		if (errno || *end || !*argv[1] || n < ROUNDS || n > (1ULL << 40)) {
			fprintf(stderr, "getppid: bad COUNT '%s'\n", argv[1]);
			return 2;
		}
	}
	per_round = n / ROUNDS;
	loop(per_round / 10 + 1);
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = now_ns();

		loop(per_round);
		t[r] = now_ns() - t0;
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_u64);
	printf("BENCH getppid_ns %.1f\n", (double)t[ROUNDS / 2] / (double)per_round);
	printf("BENCH getppid_min_ns %.1f\n", (double)t[0] / (double)per_round);
	printf("BENCH getppid_count %" PRIu64 "\n", per_round * ROUNDS);
	return 0;
}
