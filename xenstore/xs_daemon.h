/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals shared by daemon.c, domtree.c and main.c. */
#ifndef XENKVM_XENSTORE_DAEMON_H
#define XENKVM_XENSTORE_DAEMON_H

#include <stdint.h>

struct xsd;
struct xs_core;

/* One request on the dom0 API connection; reply is malloc'd + NUL. */
int xsd_request(struct xsd *x, uint32_t type, const void *payload, uint32_t len, char **reply,
		uint32_t *rlen);
struct xs_core *xsd_core(struct xsd *x);

#endif
