/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Timers (pv-abi.md 2.2 C.4, 2.4, 3.6): pvclock from the registered
 * vcpu_info, VIRQ_TIMER, set_timer_op + SCHEDOP_block,
 * VCPUOP_set_singleshot_timer (future and past deadlines), set_timer_op(0)
 * cancelling, and SCHEDOP_poll with a timeout.
 */
#include "xkg.h"

const char test_title[] = "timer: pvclock, VIRQ_TIMER, set_timer_op, singleshot, block, poll";

#define MS    1000000UL
#define LIMIT (5000 * MS)

static struct vcpu_info *vi;
static struct shared_info *sh;
static evtchn_port_t tport;

static uint64_t now(void)
{
	return xkg_system_time(&vi->time);
}

/* Block until the timer port has fired `want` times in total. */
static bool block_until(uint32_t want, uint64_t start)
{
	for (int i = 0; i < 1000; i++) {
		if (xkg_ev.count[tport] >= want)
			return true;
		if (now() - start > LIMIT)
			break;
		long rc = HYPERVISOR_sched_op(SCHEDOP_block, NULL);
		if (rc) {
			xkg_fail("SCHEDOP_block = %ld", rc);
			return false;
		}
		/* block cleared the mask; the upcall's iret left it clear. */
		xkg_events_disable();
	}
	return xkg_ev.count[tport] >= want;
}

static void check_elapsed(const char *what, uint64_t t0, uint64_t min)
{
	uint64_t d = now() - t0;

	printf("%s: %lu.%03lu ms\n", what, d / MS, (d % MS) / 1000);
	CHECK(d >= min, "%s: woke after %lu ns, before the %lu ns deadline", what, d, min);
	CHECK(d < LIMIT, "%s: took %lu ns", what, d);
}

static void check_time(void)
{
	uint64_t a, b, t0, c0;

	printf("timer: time version %u sys %lu tsc %lu mul %u shift %d flags %#x\n",
	       vi->time.version, vi->time.system_time, vi->time.tsc_timestamp,
	       vi->time.tsc_to_system_mul, vi->time.tsc_shift, vi->time.flags);
	CHECK(vi->time.tsc_to_system_mul != 0, "vcpu_time_info not filled in (mul 0)");
	CHECK(!(vi->time.version & 1), "time version %u odd at rest", vi->time.version);
	a = now();
	b = now();
	CHECK(b >= a, "system time went backwards: %lu then %lu", a, b);

	/* Time advances at about the TSC's rate: spin ~20 ms by the clock and
	 * check the TSC moved too (at least 1 MHz worth). */
	t0 = now();
	c0 = rdtsc();
	while (now() - t0 < 20 * MS)
		;
	CHECK(rdtsc() - c0 > 20000, "20 ms of system time took only %lu TSC ticks", rdtsc() - c0);
}

/* set_timer_op(first), then set_timer_op(second): one event, after second
 * (and well before first when second is earlier). */
static void moved_deadline(uint64_t first, uint64_t second, uint32_t nth)
{
	uint64_t t0 = now();
	char what[64];

	snprintf(what, sizeof(what), "set_timer_op(+%lums, then +%lums)", first / MS, second / MS);
	CHECK_EQ(HYPERVISOR_set_timer_op(t0 + first), 0, "set_timer_op(first)");
	CHECK_EQ(HYPERVISOR_set_timer_op(t0 + second), 0, "set_timer_op(second)");
	CHECK(block_until(nth, t0), "%s: no timer event within 5 s", what);
	check_elapsed(what, t0, second);
	if (second < first)
		CHECK(now() - t0 < second + (first - second) * 9 / 10,
		      "%s: fired at the old deadline", what);
	CHECK_EQ(xkg_ev.count[tport], nth, "timer events after a moved deadline");
}

void test_main(void)
{
	struct evtchn_bind_virq bv = {.virq = VIRQ_TIMER, .vcpu = 0};
	struct vcpu_set_singleshot_timer ss = {0};
	struct sched_poll poll = {0};
	uint64_t t0;
	long rc;

	rc = xkg_setup_traps();
	if (!rc)
		rc = xkg_setup_callbacks();
	if (rc) {
		xkg_fail("trap table / callbacks = %ld", rc);
		return;
	}
	vi = xkg_register_vcpu_info(&rc);
	if (!vi) {
		xkg_fail("VCPUOP_register_vcpu_info = %ld", rc);
		return;
	}
	sh = xkg_map_shared_info(&rc);
	if (!sh) {
		/* Without the pending bitmap a timer event cannot be
		 * acknowledged, so nothing below can be checked. */
		xkg_fail("update_va_mapping(shared_info) = %ld", rc);
		return;
	}
	xkg_evtchn_init(vi, sh);
	xkg_events_enable(); /* take the spurious upcall from registration */
	xkg_events_disable();

	check_time();

	rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv);
	if (rc) {
		xkg_fail("EVTCHNOP_bind_virq(VIRQ_TIMER) = %ld", rc);
		return;
	}
	tport = bv.port;
	printf("timer: VIRQ_TIMER on port %u\n", tport);
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv);
	CHECK_EQ(rc, -XEN_EEXIST, "second EVTCHNOP_bind_virq(VIRQ_TIMER)");

	/* 1. set_timer_op + block. */
	t0 = now();
	rc = HYPERVISOR_set_timer_op(t0 + 10 * MS);
	CHECK_EQ(rc, 0, "set_timer_op(now + 10ms)");
	CHECK(block_until(1, t0), "set_timer_op: no timer event within 5 s");
	check_elapsed("set_timer_op(+10ms)", t0, 10 * MS);

	/* 2. VCPUOP_set_singleshot_timer. */
	t0 = now();
	ss.timeout_abs_ns = t0 + 20 * MS;
	rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss);
	CHECK_EQ(rc, 0, "VCPUOP_set_singleshot_timer(now + 20ms)");
	CHECK(block_until(2, t0), "singleshot: no timer event within 5 s");
	check_elapsed("singleshot(+20ms)", t0, 20 * MS);

	/* 3. A deadline in the past fires at once. */
	t0 = now();
	ss.timeout_abs_ns = t0 - 1 * MS;
	rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss);
	CHECK_EQ(rc, 0, "VCPUOP_set_singleshot_timer(past)");
	CHECK(block_until(3, t0), "past singleshot: no timer event within 5 s");
	check_elapsed("singleshot(past)", t0, 0);

	/* Singleshot timers are per calling vCPU only. */
	rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 1, &ss);
	CHECK(rc == -XEN_EINVAL || rc == -XEN_ENOENT, "singleshot on vCPU 1 = %ld", rc);

	/* 4. set_timer_op(0) cancels; SCHEDOP_poll on the timer port then
	 * returns at its own timeout with nothing pending. */
	t0 = now();
	rc = HYPERVISOR_set_timer_op(t0 + 10 * MS);
	CHECK_EQ(rc, 0, "set_timer_op(now + 10ms)");
	rc = HYPERVISOR_set_timer_op(0);
	CHECK_EQ(rc, 0, "set_timer_op(0)");
	set_xen_guest_handle(poll.ports, &tport);
	poll.nr_ports = 1;
	poll.timeout = t0 + 60 * MS;
	rc = HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
	CHECK_EQ(rc, 0, "SCHEDOP_poll (timeout)");
	check_elapsed("poll(+60ms) after cancel", t0, 50 * MS);
	CHECK(!(sh->evtchn_pending[tport / 64] & (1UL << (tport % 64))),
	      "cancelled timer fired anyway");
	CHECK_EQ(xkg_ev.count[tport], 3, "timer events after cancel");

	/* 5. SCHEDOP_poll wakes for a pending port even with events masked. */
	t0 = now();
	rc = HYPERVISOR_set_timer_op(t0 + 10 * MS);
	CHECK_EQ(rc, 0, "set_timer_op(now + 10ms)");
	poll.timeout = t0 + 2000 * MS;
	rc = HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
	CHECK_EQ(rc, 0, "SCHEDOP_poll (port)");
	check_elapsed("poll for the timer port", t0, 10 * MS);
	CHECK(sh->evtchn_pending[tport / 64] & (1UL << (tport % 64)),
	      "poll returned without the timer port pending");
	CHECK(now() - t0 < 1500 * MS, "poll waited for its timeout, not the event");
	/* Acknowledge it through the normal path. */
	xkg_events_enable();
	xkg_events_disable();
	CHECK_EQ(xkg_ev.count[tport], 4, "timer events after poll");

	/* 6. A deadline moved later fires once, at the later time (the stub
	 * keeps the earlier hardware deadline and re-arms when it fires);
	 * 7. one moved earlier fires at the earlier time. */
	moved_deadline(10 * MS, 40 * MS, 5);
	moved_deadline(1000 * MS, 10 * MS, 6);
}
