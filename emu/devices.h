/* SPDX-License-Identifier: GPL-2.0-only */
/* The launcher's side of the PV devices: event-channel routing, grant
 * access, the xenstore daemon, the console and the xenbus devices. */
#ifndef XENKVM_DEVICES_H
#define XENKVM_DEVICES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct xk_vm;
struct event_base;

/* gnttab.c: the guest's grant table, mapped for backends (struct
 * xk_grant_ops in backends/xenbus.h; opaque = the xk_gnttab). */
struct xk_gnttab;
struct xk_gnttab *xk_gnttab_new(struct xk_vm *vm);
void xk_gnttab_free(struct xk_gnttab *g);
int xk_gnttab_map(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write,
		  void **pages);
void xk_gnttab_unmap(void *opaque, uint32_t domid, const uint32_t *refs, unsigned n, bool write);
int xk_gnttab_check(void *opaque, uint32_t domid, uint32_t ref, bool write, const void *page);

/* diskspec.c: one --disk, in xl's disk syntax (xl-disk-configuration). */
struct xk_disk_spec {
	char *target;	/* image path */
	char *vdev;	/* xvda, hdb, sdc, ... */
	char *format;	/* qemu's format name (qcow2, vpc, vmdk, ...), NULL: raw */
	uint32_t devid; /* virtual-device number (xenstore devid) */
	bool readonly;
	bool cdrom;
};
/* 0, or -1 after a one-line error on stderr. */
int xk_disk_spec_parse(const char *spec, struct xk_disk_spec *out);
void xk_disk_spec_free(struct xk_disk_spec *d);
/* Xen's vdev -> virtual-device number (xvdX, hdX, sdX, dN[pM]); -1 if
 * malformed. */
int64_t xk_vdev_to_devid(const char *vdev);

/* devices.c */
/* Check one --vif spec (xl syntax); 0, or -1 after a one-line error. */
int xk_devices_check_vif(const char *spec);
struct xk_devices;
/* Console, xenstore (with the guest's standard tree), grant access, disks;
 * reads the doorbell on base.  NULL after a one-line error. */
struct xk_devices *xk_devices_new(struct xk_vm *vm, struct event_base *base);
/* The console's pty (--console pty), else NULL. */
const char *xk_devices_console_pty(const struct xk_devices *d);
/*
 * Hot-plug (the control socket, control.c).  Errors go to stderr as
 * one-line messages, like --disk/--vif at start.  kind: "vbd" or "vif".
 * attach: 0, or -1.  detach_start: find id (vbd: a vdev or a devid; vif: a
 * devid or a MAC) and start the closing handshake; *devid is set; 0, or -1.
 * present: whether kind/devid is still on the bus.  remove_now: force it.
 * list: one line per device into f.
 */
int xk_devices_attach(struct xk_devices *d, const char *kind, const char *spec);
int xk_devices_detach_start(struct xk_devices *d, const char *kind, const char *id,
			    uint32_t *devid);
bool xk_devices_present(struct xk_devices *d, const char *kind, uint32_t devid);
void xk_devices_remove_now(struct xk_devices *d, const char *kind, uint32_t devid);
void xk_devices_list(struct xk_devices *d, const char *kind, FILE *f);
/* xenkvm shutdown/reboot: ask the guest through control/shutdown
 * ("poweroff", "reboot"), as xl does; 0 or -1 after a one-line error. */
int xk_devices_request_shutdown(struct xk_devices *d, const char *reason);
/* xenkvm destroy: stop the guest now (exit status XK_EXIT_DESTROYED). */
void xk_devices_destroy(struct xk_devices *d);
/* Tears devices down (drains the console). */
void xk_devices_free(struct xk_devices *d);
/* Notification counters (-v at exit). */
void xk_devices_print_stats(const struct xk_devices *d, FILE *f);

#endif
