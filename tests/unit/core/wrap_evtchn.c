/* SPDX-License-Identifier: GPL-2.0-only */
/* core/evtchn.c as is, plus a reset of its static port table between tests. */
#include "../../../guest-stub/core/evtchn.c"

void core_test_evtchn_reset(void);

void core_test_evtchn_reset(void)
{
	memset(chn, 0, sizeof(chn));
}
