/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xl domain configuration files (xl.cfg(5)) for `xenkvm create`: parsed by
 * libxlutil's own parser, as xl parses them, and mapped onto the launcher's
 * options (struct xk_options) plus what to do when the guest stops.
 */
#ifndef XENKVM_XLCFG_H
#define XENKVM_XLCFG_H

#include <stdio.h>

#include "xenkvm.h"

/* on_poweroff/on_reboot/on_crash/on_watchdog, narrowed to what xenkvm can
 * do: the launcher ends, or boots the same configuration again. */
enum xk_xl_action {
	XK_XL_DESTROY,
	XK_XL_RESTART,
};

struct xk_xlcfg {
	/* opt's strings point into the fields below; console, platform and
	 * the like are the caller's to set. */
	struct xk_options opt;
	enum xk_xl_action on_poweroff, on_reboot, on_crash, on_watchdog;
	char *name, *kernel, *ramdisk, *cmdline;
	char *disk[XK_MAX_DISKS];
	char *vif[XK_MAX_VIFS]; /* with the MAC filled in (the same every boot) */
	/* bootloader = "pygrub": kernel and ramdisk, if given, are paths in
	 * the guest's filesystem on boot_disk (the first disk's image) */
	bool bootloader;
	char *boot_disk;
	unsigned nr_warnings;
};

/*
 * Parse text (the contents of the file called source) followed by the
 * nr_extra command-line settings in extra ("key=value", appended as lines,
 * as `xl create cfg key=value` does) and map them into *c.  Warnings (a key
 * xenkvm ignores) and errors go to msgs, one line each starting with
 * "xenkvm: source:LINE: " (or "xenkvm: command line 'key=value': ").
 * 0, or -1 after at least one error; xk_xlcfg_free() in both cases.
 */
int xk_xlcfg_parse(struct xk_xlcfg *c, const char *source, const char *text, size_t len,
		   const char *const *extra, unsigned nr_extra, FILE *msgs);
void xk_xlcfg_free(struct xk_xlcfg *c);
/* The resulting configuration in xl.cfg syntax, and the equivalent
 * `xenkvm run` command line as a comment (xenkvm create --dry-run). */
void xk_xlcfg_print(const struct xk_xlcfg *c, FILE *f);
const char *xk_xl_action_name(enum xk_xl_action a);

/* create.c: xenkvm create */
int xk_cmd_create(int argc, char **argv);

#endif
