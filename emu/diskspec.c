/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --disk: xl's disk syntax (xl-disk-configuration(5)), parsed by libxlutil's
 * xlu_disk_parse() exactly as xl parses a domain config's disk=[...] entry,
 * then narrowed to what xenkvm serves.
 *
 * Formats: raw (served directly), and qcow2, qcow, vhd, qed and vmdk (served
 * by qemu-nbd).  libxlutil does not know "vmdk" (xl has no such format): a
 * vmdk token is swapped for raw before parsing and noted.  A spec that
 * names no format is raw for xl; here its image header is probed first, so
 * a qcow2/vhd/vmdk image works without format= (give format=raw for a raw
 * image a guest can write: the guest could write such a header).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm.h"
#include "devices.h"
#include "blkio.h"

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
	free(d->format);
	d->target = d->vdev = d->format = NULL;
}

#ifdef HAVE_XLUTIL
static const char *const xl_formats[] = {"raw", "qcow", "qcow2", "vhd", "qed", "vmdk", NULL};

static bool is_format(const char *tok, size_t len)
{
	for (const char *const *f = xl_formats; *f; f++)
		if (strlen(*f) == len && !strncmp(tok, *f, len))
			return true;
	return false;
}

/*
 * Scan the spec's comma-separated parameters before target= (which takes
 * the rest): does it name a format (format=X, a positional X, or an
 * X: target prefix)?  A vmdk one is rewritten to raw in place (*vmdk set).
 */
static bool scan_formats(char *s, bool *vmdk)
{
	bool given = false;

	*vmdk = false;
	for (char *tok = s; tok && *tok;) {
		char *end = strchr(tok, ',');
		size_t len = end ? (size_t)(end - tok) : strlen(tok);
		while (len && (*tok == ' ' || *tok == '\t')) {
			tok++;
			len--;
		}
		while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			len--;
		if (!strncmp(tok, "target=", 7))
			break;
		char *v = tok;
		size_t vlen = len;
		if (!strncmp(tok, "format=", 7)) {
			v = tok + 7;
			vlen = len - 7;
			given = true;
		} else {
			/* "qcow2:/path" (the legacy prefixed target) */
			char *colon = memchr(tok, ':', len);
			if (colon && is_format(tok, (size_t)(colon - tok))) {
				vlen = (size_t)(colon - tok);
				given = true;
			} else if (is_format(tok, len)) {
				given = true;
			}
		}
		if (vlen == 4 && !strncmp(v, "vmdk", 4)) {
			memcpy(v, "raw", 3);
			memmove(v + 3, v + 4, strlen(v + 4) + 1);
			*vmdk = true;
			if (end)
				end--;
		}
		tok = end ? end + 1 : NULL;
	}
	return given;
}

int xk_disk_spec_parse(const char *spec, struct xk_disk_spec *out)
{
	libxl_device_disk disk;
	int rc = -1;
	bool vmdk;
	char *copy = strdup(spec);

	memset(out, 0, sizeof(*out));
	if (!copy) {
		xk_err("--disk: out of memory");
		return -1;
	}
	bool given = scan_formats(copy, &vmdk);
	const char *specs[1] = {copy};

	/* xlu reports syntax errors on this stream, prefixed with its name. */
	XLU_Config *cfg = xlu_cfg_init(stderr, "xenkvm: --disk");
	if (!cfg) {
		xk_err("--disk: out of memory");
		free(copy);
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
	const char *format = NULL;
	switch (disk.format) {
	case LIBXL_DISK_FORMAT_UNKNOWN:
	case LIBXL_DISK_FORMAT_RAW:
		format = vmdk ? "vmdk" : NULL;
		break;
	case LIBXL_DISK_FORMAT_QCOW:
		format = "qcow";
		break;
	case LIBXL_DISK_FORMAT_QCOW2:
		format = "qcow2";
		break;
	case LIBXL_DISK_FORMAT_VHD:
		format = "vpc";
		break;
	case LIBXL_DISK_FORMAT_QED:
		format = "qed";
		break;
	default:
		xk_err("--disk '%s': format=%s is not supported", spec,
		       libxl_disk_format_to_string(disk.format));
		goto out;
	}
	if (!given)
		format = xk_blkio_probe_format(disk.pdev_path);
	if (disk.script) {
		xk_err("--disk '%s': script= is not supported", spec);
		goto out;
	}
	out->target = strdup(disk.pdev_path);
	out->vdev = strdup(disk.vdev);
	if (format)
		out->format = strdup(format);
	if (!out->target || !out->vdev || (format && !out->format)) {
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
	free(copy);
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
