/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --disk: xl's disk syntax (xl-disk-configuration(5)), parsed by libxlutil's
 * xlu_disk_parse() exactly as xl parses a domain config's disk=[...] entry,
 * then narrowed to what xenkvm serves (raw images, r/w, cdrom).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm.h"
#include "devices.h"

#ifdef HAVE_XLUTIL
#include <libxl.h>
#include <libxlutil.h>
#endif

/* Letters a..z, aa.. as a bijective base-26 number minus one (Xen's rule
 * for xvd/hd/sd disk names); *end is the first non-letter. */
static int64_t disk_letters(const char *s, const char **end)
{
	int64_t n = 0;

	if (*s < 'a' || *s > 'z')
		return -1;
	while (*s >= 'a' && *s <= 'z') {
		n = n * 26 + (*s - 'a' + 1);
		if (n > (1 << 20))
			return -1;
		s++;
	}
	*end = s;
	return n - 1;
}

/* Optional partition number; -1 if malformed. */
static int64_t partition(const char *s)
{
	int64_t n = 0;

	if (!*s)
		return 0;
	if (*s == '0' && s[1])
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > 255)
			return -1;
	}
	return n;
}

static int64_t xvd_number(int64_t disk, int64_t part)
{
	if (disk < 16 && part < 16)
		return (202 << 8) | (disk << 4) | part;
	if (disk > 0xfffff || part > 255)
		return -1;
	return (1LL << 28) | (disk << 8) | part; /* extended scheme */
}

int64_t xk_vdev_to_devid(const char *vdev)
{
	const char *p;
	int64_t disk, part;

	if (!vdev || !*vdev)
		return -1;
	if (!strncmp(vdev, "xvd", 3)) {
		if ((disk = disk_letters(vdev + 3, &p)) < 0 || (part = partition(p)) < 0)
			return -1;
		return xvd_number(disk, part);
	}
	if (!strncmp(vdev, "hd", 2)) {
		/* hda/hdb on IDE major 3, hdc/hdd on 22; 64 partitions. */
		if ((disk = disk_letters(vdev + 2, &p)) < 0 || disk > 3 ||
		    (part = partition(p)) < 0 || part > 63)
			return -1;
		return ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | part;
	}
	if (!strncmp(vdev, "sd", 2)) {
		if ((disk = disk_letters(vdev + 2, &p)) < 0 || disk > 15 ||
		    (part = partition(p)) < 0 || part > 15)
			return -1;
		return (8 << 8) | (disk << 4) | part;
	}
	if (vdev[0] == 'd' && vdev[1] >= '0' && vdev[1] <= '9') {
		/* dN or dNpM */
		char *e;
		errno = 0;
		long long dn = strtoll(vdev + 1, &e, 10);
		if (errno || dn < 0 || dn > 0xfffff)
			return -1;
		part = 0;
		if (*e == 'p') {
			if (!e[1] || (part = partition(e + 1)) < 0)
				return -1;
		} else if (*e) {
			return -1;
		}
		return xvd_number(dn, part);
	}
	return -1;
}

void xk_disk_spec_free(struct xk_disk_spec *d)
{
	free(d->target);
	free(d->vdev);
	d->target = d->vdev = NULL;
}

#ifdef HAVE_XLUTIL
int xk_disk_spec_parse(const char *spec, struct xk_disk_spec *out)
{
	libxl_device_disk disk;
	const char *specs[1] = {spec};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* xlu reports syntax errors on this stream, prefixed with its name. */
	XLU_Config *cfg = xlu_cfg_init(stderr, "xenkvm: --disk");
	if (!cfg) {
		xk_err("--disk: out of memory");
		return -1;
	}
	libxl_device_disk_init(&disk);
	if (xlu_disk_parse(cfg, 1, specs, &disk))
		goto out; /* xlu printed why */
	if (!disk.vdev || !*disk.vdev) {
		xk_err("--disk '%s': no virtual device (e.g. xvda)", spec);
		goto out;
	}
	int64_t devid = xk_vdev_to_devid(disk.vdev);
	if (devid < 0) {
		xk_err("--disk '%s': '%s' is not a virtual device name (xvdX, hdX, sdX, dN)", spec,
		       disk.vdev);
		goto out;
	}
	if (!disk.pdev_path || !*disk.pdev_path) {
		xk_err("--disk '%s': no image (an empty cdrom drive is not supported)", spec);
		goto out;
	}
	if (disk.format != LIBXL_DISK_FORMAT_RAW && disk.format != LIBXL_DISK_FORMAT_UNKNOWN) {
		xk_err("--disk '%s': format=%s is not supported yet (raw images only)", spec,
		       libxl_disk_format_to_string(disk.format));
		goto out;
	}
	if (disk.script) {
		xk_err("--disk '%s': script= is not supported", spec);
		goto out;
	}
	out->target = strdup(disk.pdev_path);
	out->vdev = strdup(disk.vdev);
	if (!out->target || !out->vdev) {
		xk_disk_spec_free(out);
		xk_err("--disk: out of memory");
		goto out;
	}
	out->devid = (uint32_t)devid;
	out->readonly = !disk.readwrite;
	out->cdrom = disk.is_cdrom;
	if (out->cdrom)
		out->readonly = true; /* a cdrom is never written */
	rc = 0;
out:
	libxl_device_disk_dispose(&disk);
	xlu_cfg_destroy(cfg);
	return rc;
}
#else
int xk_disk_spec_parse(const char *spec, struct xk_disk_spec *out)
{
	memset(out, 0, sizeof(*out));
	xk_err("--disk: built without libxlutil (install libxen-dev)");
	return -1;
}
#endif
