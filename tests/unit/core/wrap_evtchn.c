/* SPDX-License-Identifier: GPL-2.0-only */
/* core/evtchn.c as is, plus a reset of its static port table (and of the
 * FIFO ABI's state) between tests. */
#include "../../../guest-stub/core/evtchn.c"

void core_test_evtchn_reset(void);

void core_test_evtchn_reset(void)
{
	memset(chn, 0, sizeof(chn));
	evtchn_fifo_destroy();
	port_ops = &evtchn_ops_2l;
}
