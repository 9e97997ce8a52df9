/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copying to and from the xenstore ring page.  The page is guest memory:
 * every index is read once, checked, and only our own copy is used after.
 */
#ifndef XENKVM_XENSTORE_RING_H
#define XENKVM_XENSTORE_RING_H

#include <stdint.h>
#include <xen/io/xs_wire.h>

/* Bytes copied out of the request ring (0: empty), or -1: bad indices. */
int xs_ring_read(struct xenstore_domain_interface *intf, void *buf, uint32_t len);
/* Bytes copied into the response ring (0: full), or -1: bad indices. */
int xs_ring_write(struct xenstore_domain_interface *intf, const void *buf, uint32_t len);

#endif
