/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef XKG_XEN_VERSION_CHECKS_H
#define XKG_XEN_VERSION_CHECKS_H

/* XENVER_* checks; failures are recorded with xkg_fail(). */
void xen_version_checks(void);

#endif
