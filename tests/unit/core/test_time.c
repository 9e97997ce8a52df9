/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/time.c: TSC scale factors, pvclock and wallclock, the one-shot and
 * periodic timers (fake LAPIC deadline = plat_arm_timer), sched_op.
 * rdtsc() is the host's real TSC; the stub's view of its rate is tsc_khz.
 */
#include <string.h>

#include "fake.h"

static const uint64_t khz_list[] = {1000000, 2100000, 3700000, 100000, 2999999, 32768};

static int setup(void **state)
{
	fake_world_init(1, 2100000);
	return 0;
}

static struct pcpu *pc0(void)
{
	return fake_pc(0);
}

static uint64_t tsc0(void)
{
	return fake_bi()->tsc_at_wallclock;
}

/* Exact conversions at hz (128-bit, truncating). */
static uint64_t exact_ns(uint64_t ticks, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)ticks * 1000000000ULL / hz);
}

static uint64_t exact_ticks(uint64_t ns, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)ns * hz / 1000000000ULL);
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static void test_scale_factors(void **state)
{
	for (unsigned k = 0; k < ARRAY_SIZE(khz_list); k++) {
		uint64_t hz = khz_list[k] * 1000;
		fake_world_init(1, khz_list[k]);
		const struct vcpu_time_info *t = &dom.shared->vcpu_info[0].time;
		/* Normalised as Xen's set_time_scale: mul in [2^31, 2^32). */
		assert_true(t->tsc_to_system_mul >= 0x80000000u);
		assert_true(t->tsc_shift >= -31 && t->tsc_shift <= 31);
		/* One second of ticks is one second, within 1 ns. */
		uint64_t ns = pvclock_scale(hz, t->tsc_to_system_mul, t->tsc_shift);
		print_message("tsc_khz %lu: mul %#x shift %d -> 1 s = %lu ns\n",
			      (unsigned long)khz_list[k], t->tsc_to_system_mul, t->tsc_shift,
			      (unsigned long)ns);
		assert_true(absdiff(ns, 1000000000ULL) <= 1);
		/* And an hour within 1 ns per second. */
		ns = pvclock_scale(hz * 3600, t->tsc_to_system_mul, t->tsc_shift);
		assert_true(absdiff(ns, 3600000000000ULL) <= 3600);
	}
}

/*
 * ns_to_tsc's 32.32 factor is truncated: relative error below
 * 1e9 / (hz * 2^32), i.e. under a quarter tick per second at any rate.  The
 * round trip through the guest's pvclock adds the scale's 1 ns per second.
 */
static void test_ns_to_tsc_round_trip(void **state)
{
	static const uint64_t ns_list[] = {
	    0, 1, 999, 1000000, 1000000000ULL, 3600000000000ULL, 86400000000000ULL * 365};

	for (unsigned k = 0; k < ARRAY_SIZE(khz_list); k++) {
		uint64_t hz = khz_list[k] * 1000;
		fake_world_init(1, khz_list[k]);
		const struct vcpu_time_info *t = &dom.shared->vcpu_info[0].time;
		uint64_t tick_ns = 1000000000ULL / hz + 1;
		for (unsigned i = 0; i < ARRAY_SIZE(ns_list); i++) {
			uint64_t ns = ns_list[i], secs = ns / 1000000000ULL;
			uint64_t ticks = ns_to_tsc(ns) - tsc0();
			uint64_t tick_err = absdiff(ticks, exact_ticks(ns, hz));
			uint64_t back = pvclock_scale(ticks, t->tsc_to_system_mul, t->tsc_shift);
			uint64_t ns_err = absdiff(back, ns);
			if (tick_err > 1 + secs / 4 || ns_err > (1 + secs / 4) * tick_ns + secs + 1)
				fail_msg("tsc_khz %lu ns %lu: %lu ticks off, round trip %lu ns off",
					 (unsigned long)khz_list[k], (unsigned long)ns,
					 (unsigned long)tick_err, (unsigned long)ns_err);
		}
		/* At GHz rates that is the brief's 1 ns per second. */
		if (hz >= 1000000000ULL) {
			uint64_t ns = 3600000000000ULL;
			uint64_t back = pvclock_scale(ns_to_tsc(ns) - tsc0(), t->tsc_to_system_mul,
						      t->tsc_shift);
			assert_true(absdiff(back, ns) <= 3600 + 2);
		}
	}
}

static void test_system_time_tracks_tsc(void **state)
{
	for (unsigned k = 0; k < ARRAY_SIZE(khz_list); k++) {
		uint64_t hz = khz_list[k] * 1000;
		uint64_t back = 10 * hz; /* system time 0 was 10 s ago */
		fake_world_init(1, khz_list[k]);
		if (rdtsc() < back)
			back = rdtsc() / 2;
		fake_bi()->tsc_at_wallclock = rdtsc() - back;
		time_init();
		uint64_t before = rdtsc();
		uint64_t st = system_time_ns();
		uint64_t after = rdtsc();
		uint64_t lo = exact_ns(before - tsc0(), hz), hi = exact_ns(after - tsc0(), hz);
		uint64_t slack = (lo / 1000000000ULL) + 2; /* 1 ns per second */
		assert_true(st + slack >= lo);
		assert_true(st <= hi + slack);
	}
	/* Before system time 0 (TSC behind the launcher's stamp): 0. */
	fake_bi()->tsc_at_wallclock = rdtsc() + 1000000000000ULL;
	time_init();
	assert_int_equal(system_time_ns(), 0);
}

static void test_wallclock(void **state)
{
	struct shared_info *s = dom.shared;

	assert_int_equal(s->wc_version, 2); /* one update: odd, then even */
	assert_int_equal(s->wc_sec, 1700000000);
	assert_int_equal(s->wc_nsec, 123456789);
	assert_int_equal(s->wc_sec_hi, 0);
	/* Past 2106: the seconds need wc_sec_hi. */
	fake_bi()->wallclock_ns = ((1ULL << 32) + 17) * 1000000000ULL + 999999999;
	time_init();
	assert_int_equal(s->wc_version, 4);
	assert_int_equal(s->wc_sec, 17);
	assert_int_equal(s->wc_sec_hi, 1);
	assert_int_equal(s->wc_nsec, 999999999);
}

static void test_vcpu_time_info(void **state)
{
	struct vcpu_time_info *t = &pc0()->v.vi->time;
	uint32_t ver = t->version;

	assert_int_equal(ver % 2, 0);
	uint64_t before = rdtsc();
	time_update_vcpu(pc0());
	uint64_t after = rdtsc();
	assert_int_equal(t->version, ver + 2);
	assert_true(t->tsc_timestamp >= before && t->tsc_timestamp <= after);
	assert_true(t->flags & XEN_PVCLOCK_TSC_STABLE_BIT);
	/* system_time is the pvclock of the timestamp, as the guest computes */
	assert_int_equal(t->system_time, pvclock_scale(t->tsc_timestamp - tsc0(),
						       t->tsc_to_system_mul, t->tsc_shift));
}

static void test_time_area_and_moved_vcpu_info(void **state)
{
	struct vcpu *v = &pc0()->v;
	struct vcpu_time_info area;
	struct vcpu_info *moved = (struct vcpu_info *)(fake_ram() + 5 * 4096 + 64);

	memset(&area, 0xaa, sizeof(area));
	v->time_area_va = gva(&area);
	v->vi = moved;
	uint32_t shared_ver = dom.shared->vcpu_info[0].time.version;
	time_update_vcpu(pc0());
	/* the guest's copy equals the vcpu_info one */
	assert_memory_equal(&area, &moved->time, sizeof(area));
	assert_int_equal(area.version % 2, 0);
	/* vCPU 0's shared_info copy stays current for TSC calibration */
	assert_int_equal(dom.shared->vcpu_info[0].time.version, shared_ver + 2);
	assert_int_equal(dom.shared->vcpu_info[0].time.tsc_timestamp, moved->time.tsc_timestamp);
	/* a time area that faults is dropped, not retried forever */
	v->time_area_va = FAKE_BAD_VA;
	time_update_vcpu(pc0());
	assert_int_equal(v->time_area_va, 0);
}

static void test_set_timer_future_past_zero(void **state)
{
	struct pcpu *pc = pc0();
	uint64_t deadline = system_time_ns() + 5000000000ULL;

	assert_int_equal(do_set_timer_op(pc, deadline), 0);
	assert_int_equal(fake.arm_calls, 1);
	assert_int_equal(fake.arm_last, ns_to_tsc(deadline));
	assert_true(fake.arm_last > rdtsc());
	assert_int_equal(pc->softirq & SOFTIRQ_TIMER, 0);

	assert_int_equal(do_set_timer_op(pc, 0), 0);
	assert_int_equal(fake.arm_last, 0); /* disarmed */
	assert_int_equal(pc->v.singleshot_tsc, 0);

	/* Already expired: the timer softirq runs before the guest resumes. */
	assert_int_equal(do_set_timer_op(pc, 1), 0);
	assert_true(pc->softirq & SOFTIRQ_TIMER);
	assert_true(pc->v.singleshot_tsc != 0);
}

static void test_earliest_deadline_armed(void **state)
{
	struct pcpu *pc = pc0();
	uint64_t now = system_time_ns();

	pc->v.periodic_ns = 1000000;
	pc->v.periodic_next_tsc = ns_to_tsc(now + 2000000);
	assert_int_equal(do_set_timer_op(pc, now + 9000000), 0);
	assert_int_equal(fake.arm_last, pc->v.periodic_next_tsc);
	assert_int_equal(do_set_timer_op(pc, now + 1000000), 0);
	assert_int_equal(fake.arm_last, ns_to_tsc(now + 1000000));
}

static unsigned bind_timer_virq(void)
{
	struct evtchn_bind_virq b = {.virq = VIRQ_TIMER, .vcpu = 0};
	assert_int_equal(do_event_channel_op(pc0(), EVTCHNOP_bind_virq, gva(&b)), 0);
	return b.port;
}

static void test_timer_softirq_fires_virq(void **state)
{
	struct pcpu *pc = pc0();
	unsigned port = bind_timer_virq();
	uint32_t ver = pc->v.vi->time.version;

	assert_int_equal(do_set_timer_op(pc, 1), 0);
	timer_softirq(pc);
	assert_true(evtchn_port_pending(port));
	assert_int_equal(pc->v.vi->evtchn_upcall_pending, 1);
	assert_int_equal(pc->v.singleshot_tsc, 0); /* one-shot */
	assert_int_equal(fake.arm_last, 0);
	assert_int_equal(pc->v.vi->time.version, ver + 2); /* fresh pvclock */
}

static void test_timer_softirq_not_due(void **state)
{
	struct pcpu *pc = pc0();
	unsigned port = bind_timer_virq();
	uint64_t deadline = system_time_ns() + 10000000000ULL;

	assert_int_equal(do_set_timer_op(pc, deadline), 0);
	timer_softirq(pc); /* spurious interrupt */
	assert_false(evtchn_port_pending(port));
	assert_int_equal(pc->v.singleshot_tsc, ns_to_tsc(deadline));
	assert_int_equal(fake.arm_last, ns_to_tsc(deadline));
}

static void test_timer_without_virq(void **state)
{
	struct pcpu *pc = pc0();

	assert_int_equal(do_set_timer_op(pc, 1), 0);
	timer_softirq(pc);
	assert_int_equal(pc->v.singleshot_tsc, 0);
	assert_int_equal(pc->v.vi->evtchn_upcall_pending, 0);
	for (unsigned w = 0; w < 64; w++)
		assert_int_equal(dom.shared->evtchn_pending[w], 0);
}

static void test_periodic_catch_up(void **state)
{
	struct pcpu *pc = pc0();
	unsigned port = bind_timer_virq();
	struct vcpu_set_periodic_timer p = {.period_ns = 1000000};

	assert_int_equal(do_vcpu_op(pc, VCPUOP_set_periodic_timer, 0, gva(&p)), 0);
	uint64_t period = ns_to_tsc(1000000) - tsc0();
	assert_int_equal(fake.arm_last, pc->v.periodic_next_tsc);
	/* Pretend 5.5 periods were missed. */
	uint64_t first = rdtsc() - period * 11 / 2;
	pc->v.periodic_next_tsc = first;
	timer_softirq(pc);
	uint64_t now = rdtsc();
	assert_true(evtchn_port_pending(port));
	assert_true(pc->v.periodic_next_tsc > now - period);
	assert_true(pc->v.periodic_next_tsc <= now + period);
	assert_int_equal((pc->v.periodic_next_tsc - first) % period, 0);
	assert_int_equal(fake.arm_last, pc->v.periodic_next_tsc);

	struct vcpu_set_periodic_timer tooshort = {.period_ns = 999999};
	assert_int_equal(do_vcpu_op(pc, VCPUOP_set_periodic_timer, 0, gva(&tooshort)), -EINVAL);
	assert_int_equal(do_vcpu_op(pc, VCPUOP_stop_periodic_timer, 0, 0), 0);
	assert_int_equal(pc->v.periodic_next_tsc, 0);
	assert_int_equal(fake.arm_last, 0);
}

static void test_vcpuop_singleshot(void **state)
{
	struct pcpu *pc = pc0();
	struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = 1, .flags = VCPU_SSHOTTMR_future};

	assert_int_equal(do_vcpu_op(pc, VCPUOP_set_singleshot_timer, 0, gva(&t)), -ETIME);
	assert_int_equal(pc->v.singleshot_tsc, 0);
	t.flags = 0;
	assert_int_equal(do_vcpu_op(pc, VCPUOP_set_singleshot_timer, 0, gva(&t)), 0);
	assert_true(pc->softirq & SOFTIRQ_TIMER);
	t.timeout_abs_ns = system_time_ns() + 1000000000ULL;
	t.flags = VCPU_SSHOTTMR_future;
	assert_int_equal(do_vcpu_op(pc, VCPUOP_set_singleshot_timer, 0, gva(&t)), 0);
	assert_int_equal(fake.arm_last, ns_to_tsc(t.timeout_abs_ns));
	assert_int_equal(do_vcpu_op(pc, VCPUOP_stop_singleshot_timer, 0, 0), 0);
	assert_int_equal(fake.arm_last, 0);
	assert_int_equal(do_vcpu_op(pc, VCPUOP_set_singleshot_timer, 0, FAKE_BAD_VA), -EFAULT);
}

/* Xen's do_set_timer_op treats timeouts wrapped negative or more than
 * ~13 days out as "in 100 ms" (old Linux kernels pass such values when
 * they have no timer).  Whatever the policy, a far-future timeout must
 * never arm a deadline that has already passed: that is an interrupt storm. */
static void test_far_future_timeout_not_in_past(void **state)
{
	static const uint64_t far[] = {~0ULL, 1ULL << 63, (1ULL << 63) - 1, 1ULL << 62};

	for (unsigned k = 0; k < ARRAY_SIZE(khz_list); k++) {
		fake_world_init(1, khz_list[k]);
		for (unsigned i = 0; i < ARRAY_SIZE(far); i++) {
			struct pcpu *pc = pc0();
			pc->softirq = 0;
			assert_int_equal(do_set_timer_op(pc, far[i]), 0);
			if (fake.arm_last && fake.arm_last <= rdtsc())
				fail_msg("tsc_khz %lu timeout %#lx armed a past deadline %#lx",
					 (unsigned long)khz_list[k], (unsigned long)far[i],
					 (unsigned long)fake.arm_last);
			assert_int_equal(pc->softirq & SOFTIRQ_TIMER, 0);
		}
	}
}

/* Xen accepts periodic timers up to STIME_DELTA_MAX (2^63 - 1 ns).  Where
 * ns_to_tsc's 64-bit result wraps inside that range, the first deadline
 * lands in the past (and the catch-up loop in timer_softirq() steps
 * through the whole uptime in wrapped, tiny periods). */
static void test_huge_periodic_timer(void **state)
{
	for (unsigned k = 0; k < ARRAY_SIZE(khz_list); k++) {
		fake_world_init(1, khz_list[k]);
		uint64_t lo = 1ULL << 62, hi = (1ULL << 63) - 1;
		uint64_t base = ns_to_tsc(lo) - tsc0();
		if (ns_to_tsc(hi) - tsc0() >= base)
			continue;     /* no wrap below 2^63 ns at this rate */
		while (hi - lo > 1) { /* first period whose tick count wrapped */
			uint64_t mid = lo + (hi - lo) / 2;
			if (ns_to_tsc(mid) - tsc0() >= base)
				lo = mid;
			else
				hi = mid;
		}
		struct vcpu_set_periodic_timer p = {.period_ns = hi};
		long rc = do_vcpu_op(pc0(), VCPUOP_set_periodic_timer, 0, gva(&p));
		if (rc == 0 && fake.arm_last <= rdtsc())
			fail_msg("tsc_khz %lu: period %#lx ns armed a past deadline",
				 (unsigned long)khz_list[k], (unsigned long)hi);
	}
}

/* ---- sched_op ---- */

static long sched(uint64_t cmd, void *arg)
{
	return do_sched_op(pc0(), cmd, gva(arg));
}

static void raise_console_event(unsigned call)
{
	dom.host_pending[0] |= 1ULL << FAKE_CONSOLE_PORT;
	dom.host_pending[XK_HP_ANY] = 1;
	pc0()->softirq |= SOFTIRQ_EVENT; /* what the XK_VEC_EVENT handler does */
}

/* The LAPIC deadline timer: wait for the armed deadline, then interrupt. */
static void fire_armed_timer(unsigned call)
{
	if (!fake.arm_last)
		fail_msg("blocked with no timer armed and nothing else to wake it");
	while (rdtsc() < fake.arm_last)
		cpu_relax();
	pc0()->softirq |= SOFTIRQ_TIMER;
}

/* As fire_armed_timer, but an idle period without a timer is fine. */
static void fire_armed_timer_or_idle(unsigned call)
{
	if (fake.arm_last)
		fire_armed_timer(call);
}

static void test_block_returns_on_pending_upcall(void **state)
{
	struct vcpu_info *vi = pc0()->v.vi;

	vi->evtchn_upcall_mask = 1;
	vi->evtchn_upcall_pending = 1;
	assert_int_equal(sched(SCHEDOP_block, NULL), 0);
	assert_int_equal(vi->evtchn_upcall_mask, 0); /* block enables events */
	assert_int_equal(fake.idle_calls, 0);
	assert_int_equal(pc0()->v.runstate.state, RUNSTATE_running);
	assert_false(pc0()->v.blocked);
}

static void test_block_wakes_on_host_event(void **state)
{
	struct vcpu_info *vi = pc0()->v.vi;

	fake.idle_hook = raise_console_event;
	assert_int_equal(sched(SCHEDOP_block, NULL), 0);
	assert_int_equal(fake.idle_calls, 1);
	assert_true(evtchn_port_pending(FAKE_CONSOLE_PORT));
	assert_int_equal(vi->evtchn_upcall_pending, 1);
	assert_int_equal(fake.irq_disabled, 0);
	assert_int_equal(pc0()->softirq, 0);
}

/* The launcher's side of a halt (stubabi.h XK_HP_IDLE): IDLE is set while
 * the vCPU halts, so the launcher interrupts it; cleared once awake. */
static unsigned idle_seen;

static void raise_console_event_check_idle(unsigned call)
{
	idle_seen = (unsigned)dom.host_pending[XK_HP_IDLE];
	raise_console_event(call);
}

static void test_block_sets_idle_for_the_launcher(void **state)
{
	fake.idle_hook = raise_console_event_check_idle;
	assert_int_equal(sched(SCHEDOP_block, NULL), 0);
	assert_int_equal(fake.idle_calls, 1);
	assert_int_equal(idle_seen, 1);
	assert_int_equal(dom.host_pending[XK_HP_IDLE], 0);
	assert_true(evtchn_port_pending(FAKE_CONSOLE_PORT));
}

/* An event the launcher raised without an interrupt (ANY set, no softirq)
 * is found before halting: no halt at all. */
static void test_block_event_without_interrupt(void **state)
{
	dom.host_pending[0] = 1ULL << FAKE_CONSOLE_PORT;
	dom.host_pending[XK_HP_ANY] = 1;
	assert_int_equal(sched(SCHEDOP_block, NULL), 0);
	assert_int_equal(fake.idle_calls, 0);
	assert_true(evtchn_port_pending(FAKE_CONSOLE_PORT));
	assert_int_equal(pc0()->v.vi->evtchn_upcall_pending, 1);
	assert_int_equal(dom.host_pending[XK_HP_ANY], 0);
	assert_int_equal(dom.host_pending[XK_HP_IDLE], 0);
}

static void test_block_wakes_on_timer(void **state)
{
	unsigned port = bind_timer_virq();

	assert_int_equal(do_set_timer_op(pc0(), system_time_ns() + 2000000), 0);
	fake.idle_hook = fire_armed_timer;
	uint64_t t0 = system_time_ns();
	assert_int_equal(sched(SCHEDOP_block, NULL), 0);
	assert_true(system_time_ns() - t0 >= 1900000);
	assert_true(evtchn_port_pending(port));
	assert_int_equal(fake.idle_calls, 1);
	/* The blocked time was accounted. */
	assert_true(pc0()->v.runstate.time[RUNSTATE_blocked] >= 1900000);
}

static void test_block_masked_timer_keeps_sleeping(void **state)
{
	unsigned port = bind_timer_virq();

	dom.shared->evtchn_mask[0] |= 1ULL << port;
	assert_int_equal(do_set_timer_op(pc0(), system_time_ns() + 1000000), 0);
	fake.idle_hook = fire_armed_timer_or_idle;
	fake.idle_limit = 3;
	/* The masked timer event must not wake the vCPU: still asleep after
	 * the timer fired (the idle limit ends the test). */
	assert_int_equal(FAKE_RUN(sched(SCHEDOP_block, NULL)), FAKE_ESC_IDLE);
	assert_true(evtchn_port_pending(port));
	assert_int_equal(pc0()->v.vi->evtchn_upcall_pending, 0);
}

static void test_yield_drains_host(void **state)
{
	dom.host_pending[0] = 1ULL << FAKE_STORE_PORT;
	dom.host_pending[XK_HP_ANY] = 1;
	assert_int_equal(sched(SCHEDOP_yield, NULL), 0);
	assert_true(evtchn_port_pending(FAKE_STORE_PORT));
	assert_int_equal(dom.host_pending[0], 0);
}

static void test_poll_pending_port(void **state)
{
	uint32_t port = FAKE_STORE_PORT;
	struct sched_poll p = {.nr_ports = 1, .timeout = 0};

	set_xen_guest_handle(p.ports, &port);
	/* Pending counts even when masked (Linux's spinlock kicker). */
	dom.shared->evtchn_mask[0] |= 1ULL << port;
	dom.shared->evtchn_pending[0] |= 1ULL << port;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_int_equal(fake.idle_calls, 0);
	assert_int_equal(pc0()->v.poll_port, 0);
	assert_int_equal(pc0()->v.poll_deadline_tsc, 0);
}

static void test_poll_wakes_on_host_event(void **state)
{
	uint32_t port = FAKE_CONSOLE_PORT;
	struct sched_poll p = {.nr_ports = 1};

	set_xen_guest_handle(p.ports, &port);
	dom.shared->evtchn_mask[0] |= 1ULL << port;
	fake.idle_hook = raise_console_event;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_int_equal(fake.idle_calls, 1);
	assert_true(evtchn_port_pending(port));
}

static void test_poll_timeout(void **state)
{
	uint32_t port = 100;
	struct sched_poll p = {.nr_ports = 1};

	set_xen_guest_handle(p.ports, &port);
	p.timeout = system_time_ns() + 2000000;
	fake.idle_hook = fire_armed_timer;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_true(system_time_ns() >= p.timeout - 1000);
	assert_int_equal(fake.idle_calls, 1);
	assert_int_equal(pc0()->v.poll_deadline_tsc, 0);
	assert_int_equal(fake.arm_last, 0); /* nothing left armed */

	/* A timeout already in the past returns without sleeping. */
	fake.idle_calls = 0;
	p.timeout = 1;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_int_equal(fake.idle_calls, 0);
}

static void test_poll_bad_args(void **state)
{
	uint32_t ports[129] = {FAKE_CONSOLE_PORT, FAKE_STORE_PORT};
	struct sched_poll p = {.nr_ports = 129}; /* Xen's limit is 128 */

	set_xen_guest_handle(p.ports, ports);
	assert_int_equal(sched(SCHEDOP_poll, &p), -EINVAL);
	/* A bad port anywhere in the list. */
	p.nr_ports = 3;
	ports[2] = 4096;
	assert_int_equal(sched(SCHEDOP_poll, &p), -EINVAL);
	/* The list must be readable as a whole. */
	set_xen_guest_handle(p.ports, (uint32_t *)(FAKE_FAULT_LIMIT - 4));
	assert_int_equal(sched(SCHEDOP_poll, &p), -EFAULT);
	uint32_t big = 4096;
	set_xen_guest_handle(p.ports, &big);
	p.nr_ports = 1;
	assert_int_equal(sched(SCHEDOP_poll, &p), -EINVAL);
	set_xen_guest_handle(p.ports, (uint32_t *)FAKE_BAD_VA);
	assert_int_equal(sched(SCHEDOP_poll, &p), -EFAULT);
	assert_int_equal(do_sched_op(pc0(), SCHEDOP_poll, FAKE_BAD_VA), -EFAULT);
	assert_int_equal(fake.idle_calls, 0);
}

/* Several ports: any one pending returns at once (masked or not). */
static void test_poll_many_ports_pending(void **state)
{
	uint32_t ports[3] = {100, 200, FAKE_STORE_PORT};
	struct sched_poll p = {.nr_ports = 3};

	set_xen_guest_handle(p.ports, ports);
	dom.shared->evtchn_mask[0] |= 1ULL << FAKE_STORE_PORT;
	dom.shared->evtchn_pending[0] |= 1ULL << FAKE_STORE_PORT;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_int_equal(fake.idle_calls, 0);
}

/* Several ports (or none), nothing pending: woken by any event raised in
 * the domain, as Xen's poll_evtchn -1; then by the timeout. */
static void test_poll_many_ports_wakes_on_any_event(void **state)
{
	uint32_t ports[2] = {100, 200};
	struct sched_poll p = {.nr_ports = 2};

	set_xen_guest_handle(p.ports, ports);
	dom.shared->evtchn_mask[0] |= 1ULL << FAKE_CONSOLE_PORT;
	fake.idle_hook = raise_console_event;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_int_equal(fake.idle_calls, 1);
	assert_int_equal(pc0()->v.poll_port, 0);

	fake.idle_calls = 0;
	p.nr_ports = 0;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_int_equal(fake.idle_calls, 1);

	/* One port: another port's event does not end the poll. */
	fake.idle_calls = 0;
	p.nr_ports = 1;
	p.timeout = system_time_ns() + 2000000;
	fake.idle_hook = fire_armed_timer;
	dom.host_pending[0] = 1ULL << FAKE_CONSOLE_PORT;
	dom.host_pending[XK_HP_ANY] = 1;
	pc0()->softirq |= SOFTIRQ_EVENT;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_int_equal(fake.idle_calls, 1);
	assert_true(system_time_ns() >= p.timeout - 1000);
}

/* An event already deliverable returns before the ports are even read. */
static void test_poll_deliverable_event_first(void **state)
{
	uint32_t bad = 4096;
	struct sched_poll p = {.nr_ports = 1};

	set_xen_guest_handle(p.ports, &bad);
	pc0()->v.vi->evtchn_upcall_pending = 1;
	pc0()->v.vi->evtchn_upcall_mask = 0;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_int_equal(fake.idle_calls, 0);
}

/* Xen's do_poll() stops early only for a *deliverable* event
 * (local_events_need_delivery: pending && !mask).  An upcall that is
 * pending but masked (Linux polls with interrupts off in its spinlock slow
 * path) must not turn the poll into a busy loop. */
static void test_poll_ignores_masked_upcall(void **state)
{
	uint32_t port = 100;
	struct sched_poll p = {.nr_ports = 1};

	set_xen_guest_handle(p.ports, &port);
	pc0()->v.vi->evtchn_upcall_pending = 1;
	pc0()->v.vi->evtchn_upcall_mask = 1;
	p.timeout = system_time_ns() + 1000000;
	fake.idle_hook = fire_armed_timer;
	assert_int_equal(sched(SCHEDOP_poll, &p), 0);
	assert_true(fake.idle_calls >= 1);
}

static void test_shutdown(void **state)
{
	struct sched_shutdown s = {.reason = SHUTDOWN_reboot};

	assert_int_equal(FAKE_RUN(sched(SCHEDOP_shutdown, &s)), FAKE_ESC_SHUTDOWN);
	assert_int_equal(fake.shutdown_reason, SHUTDOWN_reboot);
	assert_int_equal(fake.hc_last_op, XK_HC_SHUTDOWN);
	assert_true(dom.shutting_down);

	dom.shutting_down = false;
	s.reason = SHUTDOWN_MAX + 1;
	assert_int_equal(sched(SCHEDOP_shutdown, &s), -EINVAL);
	assert_int_equal(do_sched_op(pc0(), SCHEDOP_shutdown, FAKE_BAD_VA), -EFAULT);
	assert_false(dom.shutting_down);
}

static void test_sched_misc(void **state)
{
	assert_int_equal(sched(SCHEDOP_shutdown_code, NULL), 0);
	assert_int_equal(sched(SCHEDOP_remote_shutdown, NULL), -EPERM);
	assert_int_equal(sched(SCHEDOP_watchdog, NULL), -EPERM);
	assert_int_equal(sched(77, NULL), -ENOSYS);
}

static void test_runstate_area(void **state)
{
	struct pcpu *pc = pc0();
	struct vcpu_runstate_info area;
	struct vcpu_register_runstate_memory_area r;

	memset(&area, 0xff, sizeof(area));
	r.addr.p = gva(&area);
	assert_int_equal(do_vcpu_op(pc, VCPUOP_register_runstate_memory_area, 0, gva(&r)), 0);
	assert_int_equal(area.state, RUNSTATE_running);
	runstate_set(pc, RUNSTATE_blocked);
	uint64_t t = rdtsc();
	while (rdtsc() - t < 2100000) /* ~1 ms of fake time */
		cpu_relax();
	runstate_set(pc, RUNSTATE_running);
	assert_int_equal(area.state, RUNSTATE_running);
	assert_true(area.time[RUNSTATE_blocked] >= 1000000);
	assert_int_equal(area.state_entry_time, pc->v.runstate.state_entry_time);

	struct vcpu_runstate_info got;
	assert_int_equal(do_vcpu_op(pc, VCPUOP_get_runstate_info, 0, gva(&got)), 0);
	assert_memory_equal(&got, &pc->v.runstate, sizeof(got));

	/* A hole address is refused up front; a faulting one is dropped. */
	r.addr.p = XK_STUB_VA;
	assert_int_equal(do_vcpu_op(pc, VCPUOP_register_runstate_memory_area, 0, gva(&r)), -EFAULT);
	pc->v.runstate_va = FAKE_BAD_VA;
	runstate_set(pc, RUNSTATE_running);
	assert_int_equal(pc->v.runstate_va, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_scale_factors, setup),
    cmocka_unit_test_setup(test_ns_to_tsc_round_trip, setup),
    cmocka_unit_test_setup(test_system_time_tracks_tsc, setup),
    cmocka_unit_test_setup(test_wallclock, setup),
    cmocka_unit_test_setup(test_vcpu_time_info, setup),
    cmocka_unit_test_setup(test_time_area_and_moved_vcpu_info, setup),
    cmocka_unit_test_setup(test_set_timer_future_past_zero, setup),
    cmocka_unit_test_setup(test_earliest_deadline_armed, setup),
    cmocka_unit_test_setup(test_timer_softirq_fires_virq, setup),
    cmocka_unit_test_setup(test_timer_softirq_not_due, setup),
    cmocka_unit_test_setup(test_timer_without_virq, setup),
    cmocka_unit_test_setup(test_periodic_catch_up, setup),
    cmocka_unit_test_setup(test_vcpuop_singleshot, setup),
    cmocka_unit_test_setup(test_block_returns_on_pending_upcall, setup),
    cmocka_unit_test_setup(test_block_wakes_on_host_event, setup),
    cmocka_unit_test_setup(test_block_sets_idle_for_the_launcher, setup),
    cmocka_unit_test_setup(test_block_event_without_interrupt, setup),
    cmocka_unit_test_setup(test_block_wakes_on_timer, setup),
    cmocka_unit_test_setup(test_block_masked_timer_keeps_sleeping, setup),
    cmocka_unit_test_setup(test_yield_drains_host, setup),
    cmocka_unit_test_setup(test_poll_pending_port, setup),
    cmocka_unit_test_setup(test_poll_wakes_on_host_event, setup),
    cmocka_unit_test_setup(test_poll_timeout, setup),
    cmocka_unit_test_setup(test_poll_bad_args, setup),
    cmocka_unit_test_setup(test_poll_many_ports_pending, setup),
    cmocka_unit_test_setup(test_poll_many_ports_wakes_on_any_event, setup),
    cmocka_unit_test_setup(test_poll_deliverable_event_first, setup),
    cmocka_unit_test_setup(test_shutdown, setup),
    cmocka_unit_test_setup(test_sched_misc, setup),
    cmocka_unit_test_setup(test_runstate_area, setup),
};

static const struct CMUnitTest bugs[] = {
    cmocka_unit_test_setup(test_far_future_timeout_not_in_past, setup),
    cmocka_unit_test_setup(test_huge_periodic_timer, setup),
    cmocka_unit_test_setup(test_poll_ignores_masked_upcall, setup),
};

CORE_TEST_MAIN("stubcore-time", tests, bugs)
