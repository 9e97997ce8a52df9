/* SPDX-License-Identifier: GPL-2.0-only */
/* Stand-in for "xenkvm xenstored" until the launcher's CLI dispatches to it. */
#include "xenstored.h"

int main(int argc, char **argv)
{
	return xk_xenstored_main(argc, argv);
}
