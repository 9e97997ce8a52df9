/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test start and result reporting.  The result is the last console line,
 * "Test result: SUCCESS|SKIP|ERROR|FAILURE[ (reason)]", followed by
 * SCHEDOP_shutdown; tests/guests/run-guest-test parses it.
 */
#include "xkg.h"

static enum xkg_status status = XKG_RUNNING;
static char reason[160];
static unsigned int shutdown_reason = SHUTDOWN_poweroff;

static const char *const status_name[] = {
    [XKG_RUNNING] = "RUNNING", [XKG_SUCCESS] = "SUCCESS", [XKG_SKIP] = "SKIP",
    [XKG_ERROR] = "ERROR",     [XKG_FAILURE] = "FAILURE",
};

/* The worst status wins; the first reason of that status is kept. */
static void set_status(enum xkg_status s, const char *fmt, va_list ap)
{
	char msg[sizeof(reason)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	printf("%s: %s\n", status_name[s], msg);
	if (s > status) {
		status = s;
		memcpy(reason, msg, sizeof(reason));
	}
}

void xkg_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_status(XKG_FAILURE, fmt, ap);
	va_end(ap);
}

void xkg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_status(XKG_ERROR, fmt, ap);
	va_end(ap);
}

void xkg_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_status(XKG_SKIP, fmt, ap);
	va_end(ap);
}

enum xkg_status xkg_status(void)
{
	return status;
}

void xkg_set_shutdown_reason(unsigned int r)
{
	shutdown_reason = r;
}

static __noreturn void shutdown(unsigned int r)
{
	struct sched_shutdown sd = {.reason = r};
	long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);

	/* Only reached if the hypervisor refused: say so, then try crash. */
	printf("Test result: ERROR (SCHEDOP_shutdown(%u) returned %ld)\n", r, rc);
	sd.reason = SHUTDOWN_crash;
	HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_block, NULL);
}

void xkg_finish(void)
{
	if (status == XKG_RUNNING)
		status = XKG_SUCCESS;
	if (status == XKG_SUCCESS)
		printf("Test result: SUCCESS\n");
	else
		printf("Test result: %s (%s)\n", status_name[status], reason);
	shutdown(shutdown_reason);
}

void panic(const char *fmt, ...)
{
	char msg[sizeof(reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("PANIC: %s\n", msg);
	printf("Test result: ERROR (panic: %s)\n", msg);
	shutdown(SHUTDOWN_crash);
}

void xkg_main(void);
void xkg_main(void)
{
	const start_info_t *si = xkg_start_info;

	printf("xkguest: %s\n", test_title);
	if (!si || strncmp(si->magic, "xen-3.0-x86_64", 14))
		panic("bad start_info %p (RSI at entry)", si);
	printf("xkguest: start_info %p magic '%.32s' nr_pages %lu pt_base %#lx\n", si, si->magic,
	       si->nr_pages, si->pt_base);
	test_main();
	xkg_finish();
}
