/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bootloader = "pygrub": the kernel, initrd and arguments of the guest's
 * default boot entry, read out of its first disk as pygrub does (tools/
 * pygrub/src/pygrub): the partition (or whole disk) holding a GRUB
 * configuration, read through libxenfsimage (pygrub's own filesystem
 * library, Debian's libxenmisc4.17), loaded at run time.
 */
#ifndef XENKVM_BOOTLOADER_H
#define XENKVM_BOOTLOADER_H

#include <stdbool.h>
#include <stddef.h>

struct xk_boot_entry {
	char *title;
	char *kernel; /* a path inside the guest's filesystem */
	char *ramdisk;
	char *args;
};

/* The default entry of a GRUB 2 grub.cfg (grub2) or a GRUB legacy
 * menu.lst: "set default=N|TITLE" / "default N", entries counted in file
 * order (submenus flattened, as pygrub does).  0, or -1 with why in err. */
int xk_grub_pick(const char *text, bool grub2, struct xk_boot_entry *out, char *err, size_t errlen);
void xk_boot_entry_free(struct xk_boot_entry *e);

/*
 * Run the bootloader on image (a raw disk image or block device): with
 * kernel (and ramdisk) given, those paths inside it (pygrub's --kernel,
 * --ramdisk); else the GRUB configuration's default entry.  The files are
 * copied into dir as dir/kernel and dir/ramdisk; *cmdline is the entry's
 * arguments followed by extra (pygrub's --args), as xl boots them.
 * *chosen, if given, describes the pick ("/boot/vmlinuz-... from
 * /boot/grub/grub.cfg").  Out strings are malloc'ed.  0, or -1 after a
 * one-line error on stderr.
 */
int xk_bootloader_run(const char *image, const char *kernel, const char *ramdisk, const char *extra,
		      const char *dir, char **kernel_out, char **ramdisk_out, char **cmdline,
		      char **chosen);

#endif
