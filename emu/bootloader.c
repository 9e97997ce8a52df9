/* SPDX-License-Identifier: GPL-2.0-only */
/* bootloader = "pygrub" (bootloader.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenkvm.h"
#include "bootloader.h"

#define XK_BOOT_FILE_MAX (1ULL << 30)

void xk_boot_entry_free(struct xk_boot_entry *e)
{
	free(e->title);
	free(e->kernel);
	free(e->ramdisk);
	free(e->args);
	memset(e, 0, sizeof(*e));
}

static char *skip_ws(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* The first word of s (quotes removed) and where the rest starts. */
static char *word(char *s, char **rest)
{
	s = skip_ws(s);
	char q = (*s == '"' || *s == '\'') ? *s++ : 0;
	char *end = s;
	while (*end && (q ? *end != q : *end != ' ' && *end != '\t'))
		end++;
	if (*end)
		*end++ = 0;
	*rest = skip_ws(end);
	return s;
}

/* GRUB 2 paths may name a device first: "(hd0,msdos1)/vmlinuz". */
static char *grub_path(const char *p)
{
	if (*p == '(' && strchr(p, ')'))
		p = strchr(p, ')') + 1;
	return strdup(p);
}

int xk_grub_pick(const char *text, bool grub2, struct xk_boot_entry *out, char *err, size_t errlen)
{
	char *copy = strdup(text), *save = NULL;
	struct xk_boot_entry *v = NULL;
	size_t n = 0;
	char dflt[256] = "0";
	bool in_entry = false;
	int depth = 0, entry_depth = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *rest, *cmd;
		l = skip_ws(l);
		l[strcspn(l, "\r")] = 0;
		if (!*l || *l == '#')
			continue;
		cmd = word(l, &rest);
		bool opens = grub2 && strchr(rest, '{') != NULL;
		if ((grub2 && !strcmp(cmd, "menuentry")) || (!grub2 && !strcmp(cmd, "title"))) {
			struct xk_boot_entry *nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv)
				goto out;
			v = nv;
			memset(&v[n], 0, sizeof(v[n]));
			if (grub2) {
				char *r2;
				v[n].title = strdup(word(rest, &r2));
			} else {
				v[n].title = strdup(rest);
			}
			n++;
			in_entry = true;
			entry_depth = depth;
		} else if (grub2 && !strcmp(cmd, "set") && !in_entry &&
			   !strncmp(rest, "default=", 8)) {
			char *r2, *val = rest + 8;
			snprintf(dflt, sizeof(dflt), "%s", word(val, &r2));
		} else if (!grub2 && !strcmp(cmd, "default")) {
			snprintf(dflt, sizeof(dflt), "%s", rest);
		} else if (in_entry && n &&
			   (!strcmp(cmd, "linux") || !strcmp(cmd, "linux16") ||
			    !strcmp(cmd, "linuxefi") || (!grub2 && !strcmp(cmd, "kernel")))) {
			char *args, *path = word(rest, &args);
			free(v[n - 1].kernel);
			free(v[n - 1].args);
			v[n - 1].kernel = grub_path(path);
			v[n - 1].args = strdup(args);
		} else if (in_entry && n &&
			   (!strcmp(cmd, "initrd") || !strcmp(cmd, "initrd16") ||
			    !strcmp(cmd, "initrdefi"))) {
			char *r2;
			free(v[n - 1].ramdisk);
			v[n - 1].ramdisk = grub_path(word(rest, &r2));
		}
		if (opens)
			depth++;
		if (grub2 && !strcmp(cmd, "}")) {
			depth -= depth > 0;
			if (in_entry && depth <= entry_depth)
				in_entry = false;
		}
	}
	if (!n) {
		snprintf(err, errlen, "no boot entry");
		goto out;
	}
	/* default: an index, or a title (pygrub's get_entry_idx) */
	char *end;
	long idx = strtol(dflt, &end, 10);
	if (end == dflt || *end) {
		idx = 0;
		for (size_t i = 0; i < n; i++)
			if (v[i].title && !strcmp(v[i].title, dflt))
				idx = (long)i;
	}
	if (idx < 0 || (size_t)idx >= n)
		idx = 0; /* pygrub: an out-of-range default is the first */
	if (!v[idx].kernel) {
		snprintf(err, errlen, "boot entry %ld ('%s') has no kernel", idx,
			 v[idx].title ? v[idx].title : "");
		goto out;
	}
	*out = v[idx];
	memset(&v[idx], 0, sizeof(v[idx]));
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		xk_boot_entry_free(&v[i]);
	free(v);
	free(copy);
	return rc;
}

/* ---- libxenfsimage, loaded at run time (no headers in libxen-dev) ---- */

/* libxenfsimage 4.17 keeps each opened file's buffer (fsig_file_alloc)
 * after fsi_close_file: its leak, reported by LeakSanitizer in sanitizer
 * builds (the hook is unused otherwise). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libxenfsimage.so\n";
}

struct fsi;
struct fsi_file;
static struct {
	struct fsi *(*open_fsimage)(const char *, uint64_t, const char *);
	void (*close_fsimage)(struct fsi *);
	int (*file_exists)(struct fsi *, const char *);
	struct fsi_file *(*open_file)(struct fsi *, const char *);
	int (*close_file)(struct fsi_file *);
	ssize_t (*read_file)(struct fsi_file *, void *, size_t);
} fsi;

static int load_fsimage(void)
{
	static const char *const names[] = {
	    "libxenfsimage.so.4.17", "libxenfsimage.so",
	    "/usr/lib/xen-4.17/lib/x86_64-linux-gnu/libxenfsimage.so.4.17.0"};
	void *h = NULL;

	if (fsi.open_fsimage)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !h; i++)
		h = dlopen(names[i], RTLD_NOW);
	glob_t g;
	if (!h && !glob("/usr/lib/xen-*/lib/*/libxenfsimage.so*", 0, NULL, &g)) {
		for (size_t i = 0; i < g.gl_pathc && !h; i++)
			h = dlopen(g.gl_pathv[i], RTLD_NOW);
		globfree(&g);
	}
	if (!h) {
		xk_err("bootloader: pygrub's filesystem library libxenfsimage was not found "
		       "(Debian: libxenmisc4.17)");
		return -1;
	}
	*(void **)&fsi.close_fsimage = dlsym(h, "fsi_close_fsimage");
	*(void **)&fsi.file_exists = dlsym(h, "fsi_file_exists");
	*(void **)&fsi.open_file = dlsym(h, "fsi_open_file");
	*(void **)&fsi.close_file = dlsym(h, "fsi_close_file");
	*(void **)&fsi.read_file = dlsym(h, "fsi_read_file");
	*(void **)&fsi.open_fsimage = dlsym(h, "fsi_open_fsimage");
	if (!fsi.close_fsimage || !fsi.file_exists || !fsi.open_file || !fsi.close_file ||
	    !fsi.read_file || !fsi.open_fsimage) {
		fsi.open_fsimage = NULL;
		xk_err("bootloader: libxenfsimage lacks the fsi_* functions");
		return -1;
	}
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Where filesystems may start (pygrub's get_partition_offsets): the whole
 * disk without an MBR; else the MBR's partitions, the active one first,
 * or a GPT's. */
static size_t partition_offsets(const char *image, uint64_t *offs, size_t max)
{
	uint8_t mbr[512], hdr[512], ent[128];
	size_t n = 0;
	int fd = open(image, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || pread(fd, mbr, sizeof(mbr), 0) != (ssize_t)sizeof(mbr) || mbr[510] != 0x55 ||
	    mbr[511] != 0xaa) {
		if (fd >= 0)
			close(fd);
		offs[0] = 0;
		return 1;
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 4 && n < max; i++) {
			const uint8_t *p = mbr + 446 + 16 * i;
			uint64_t start = (uint64_t)le32(p + 8) * 512;
			bool active = p[0] == 0x80;
			if (!start || p[4] == 0 || p[4] == 0x05 || p[4] == 0x0f || p[4] == 0x85)
				continue;
			if (p[4] == 0xee) {
				if (pass)
					continue;
				/* GPT: header at LBA 1, entries where it says */
				if (pread(fd, hdr, sizeof(hdr), 512) != (ssize_t)sizeof(hdr) ||
				    memcmp(hdr, "EFI PART", 8))
					continue;
				uint64_t lba = le64(hdr + 72);
				uint32_t nr = le32(hdr + 80), sz = le32(hdr + 84);
				for (uint32_t e = 0;
				     e < nr && e < 128 && n < max && sz >= 128 && sz <= 4096; e++) {
					if (pread(fd, ent, sizeof(ent),
						  (off_t)(lba * 512 + e * sz)) !=
					    (ssize_t)sizeof(ent))
						break;
					static const uint8_t zero[16];
					if (memcmp(ent, zero, 16) && le64(ent + 32))
						offs[n++] = le64(ent + 32) * 512;
				}
				continue;
			}
			if (active == (pass == 0))
				offs[n++] = start;
		}
	close(fd);
	if (!n)
		offs[n++] = 0;
	return n;
}

/* A whole file of the guest's filesystem into memory (*len bytes). */
static char *slurp(struct fsi *fs, const char *path, size_t *len)
{
	struct fsi_file *f = fsi.open_file(fs, path);
	size_t cap = 1 << 16, n = 0;
	char *buf = f ? malloc(cap + 1) : NULL;

	if (!buf) {
		if (f)
			fsi.close_file(f);
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			char *nb = cap < XK_BOOT_FILE_MAX ? realloc(buf, cap * 2 + 1) : NULL;
			if (!nb) {
				free(buf);
				fsi.close_file(f);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = fsi.read_file(f, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			fsi.close_file(f);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	fsi.close_file(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* path in fs, or as pygrub also tries, the same path with or without
 * /boot (a separate /boot partition); NULL if neither is there. */
static const char *find(struct fsi *fs, const char *path, char *alt, size_t len)
{
	if (fsi.file_exists(fs, path))
		return path;
	if (!strncmp(path, "/boot/", 6))
		snprintf(alt, len, "%s", path + 5);
	else
		snprintf(alt, len, "/boot%s%s", *path == '/' ? "" : "/", path);
	return fsi.file_exists(fs, alt) ? alt : NULL;
}

/* Copy path out of fs into out; the path used in *used. */
static int copy_out(struct fsi *fs, const char *path, const char *out, char **used)
{
	char alt[4096];
	const char *p = find(fs, path, alt, sizeof(alt));

	if (!p) {
		xk_err("bootloader: %s is not in the guest's filesystem", path);
		return -1;
	}
	size_t len;
	char *data = slurp(fs, p, &len);
	if (!data) {
		xk_err("bootloader: cannot read %s from the guest's filesystem", p);
		return -1;
	}
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t w = fd >= 0 ? write(fd, data, len) : -1;
	free(data);
	if (fd < 0 || w != (ssize_t)len || close(fd)) {
		xk_err("bootloader: cannot write %s: %s", out, strerror(errno));
		if (fd >= 0)
			unlink(out);
		return -1;
	}
	*used = strdup(p);
	return 0;
}

/* pygrub's list of configuration files, GRUB 2 first. */
static const struct {
	const char *path;
	bool grub2;
} configs[] = {
    {"/boot/grub/grub.cfg", true}, {"/grub/grub.cfg", true},	   {"/boot/grub2/grub.cfg", true},
    {"/grub2/grub.cfg", true},	   {"/boot/grub/menu.lst", false}, {"/boot/grub/grub.conf", false},
    {"/grub/menu.lst", false},	   {"/grub/grub.conf", false},
};

int xk_bootloader_run(const char *image, const char *kernel, const char *ramdisk, const char *extra,
		      const char *dir, char **kernel_out, char **ramdisk_out, char **cmdline,
		      char **chosen)
{
	uint64_t offs[16];
	struct xk_boot_entry e = {0};
	struct fsi *fs = NULL;
	const char *cfgfile = NULL;
	char err[256] = "";
	int rc = -1;

	*kernel_out = *ramdisk_out = *cmdline = NULL;
	if (chosen)
		*chosen = NULL;
	if (load_fsimage())
		return -1;
	size_t n = partition_offsets(image, offs, 16);
	for (size_t i = 0; i < n && !cfgfile; i++) {
		fs = fsi.open_fsimage(image, offs[i], NULL);
		if (!fs)
			continue;
		if (kernel) {
			char alt[4096];
			if (find(fs, kernel, alt, sizeof(alt))) {
				cfgfile = "kernel=";
				e.kernel = strdup(kernel);
				e.ramdisk = ramdisk ? strdup(ramdisk) : NULL;
				e.args = strdup("");
				break;
			}
		} else {
			for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
				size_t len;
				char *text;
				if (!fsi.file_exists(fs, configs[c].path) ||
				    !(text = slurp(fs, configs[c].path, &len)))
					continue;
				int r = xk_grub_pick(text, configs[c].grub2, &e, err, sizeof(err));
				free(text);
				if (r == 0) {
					cfgfile = configs[c].path;
					break;
				}
			}
			if (cfgfile)
				break;
		}
		fsi.close_fsimage(fs);
		fs = NULL;
	}
	if (!cfgfile) {
		if (kernel)
			xk_err("bootloader: %s: no filesystem with %s", image, kernel);
		else if (err[0])
			xk_err("bootloader: %s: the GRUB configuration has %s", image, err);
		else
			xk_err("bootloader: %s: no filesystem with a GRUB configuration (grub.cfg "
			       "or menu.lst) that libxenfsimage can read",
			       image);
		goto out;
	}
	char kpath[4096], rpath[4096];
	char *kused = NULL, *rused = NULL;
	snprintf(kpath, sizeof(kpath), "%s/kernel", dir);
	snprintf(rpath, sizeof(rpath), "%s/ramdisk", dir);
	if (copy_out(fs, e.kernel, kpath, &kused))
		goto out;
	if (e.ramdisk && copy_out(fs, e.ramdisk, rpath, &rused)) {
		unlink(kpath);
		free(kused);
		goto out;
	}
	*kernel_out = strdup(kpath);
	*ramdisk_out = rused ? strdup(rpath) : NULL;
	const char *a = e.args ? e.args : "";
	if (asprintf(cmdline, "%s%s%s", a, *a && extra && *extra ? " " : "", extra ? extra : "") <
	    0)
		*cmdline = NULL;
	if (chosen && asprintf(chosen, "%s%s%s from %s", kused, rused ? " and " : "",
			       rused ? rused : "", cfgfile) < 0)
		*chosen = NULL;
	free(kused);
	free(rused);
	rc = 0;
out:
	if (fs)
		fsi.close_fsimage(fs);
	xk_boot_entry_free(&e);
	return rc;
}
