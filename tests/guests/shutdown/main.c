/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SCHEDOP_shutdown with reason XKG_SHUTDOWN_REASON (set by meson): the
 * guest prints its result line, then shuts down with that reason; the
 * runner checks that the launcher's exit code matches the reason.
 */
#include "xkg.h"

#ifndef XKG_SHUTDOWN_REASON
#error "build with -DXKG_SHUTDOWN_REASON=<SHUTDOWN_* value>"
#endif

const char test_title[] = "shutdown: SCHEDOP_shutdown with a given reason";

void test_main(void)
{
	printf("shutdown: reason %d\n", XKG_SHUTDOWN_REASON);
	xkg_set_shutdown_reason(XKG_SHUTDOWN_REASON);
}
