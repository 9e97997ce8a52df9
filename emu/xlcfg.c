/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xl.cfg -> the launcher's options (xlcfg.h).  The text goes through
 * libxlutil's parser (xlu_cfg_readdata, the one xl uses); each setting is
 * then read the way tools/xl/xl_parse.c reads it (parse_config_data) and
 * narrowed to what xenkvm runs.  Keys xenkvm does not know get a warning
 * each: libxlutil has no way to list the keys, so a small scanner walks the
 * (already validated) text for the names and lines of the settings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xlcfg.h"
#include "devices.h"
#include "runtime.h"
#include "net.h"

#ifdef HAVE_XLUTIL
#include <libxl.h>
#include <libxlutil.h>

struct key {
	char *name;
	int line; /* of the last assignment, which is the one xlu keeps */
};

struct ctx {
	const char *source;
	int first_extra_line; /* extra[i] is on line first_extra_line + i */
	const char *const *extra;
	unsigned nr_extra;
	FILE *msgs;
	struct key *keys;
	size_t nr_keys;
	bool failed;
	XLU_Config *cfg;
	struct xk_xlcfg *c;
};

/* "web01.cfg:3" or "command line 'memory=512'" for a line of the text. */
static void where(const struct ctx *x, int line, char *buf, size_t len)
{
	if (line >= x->first_extra_line && line - x->first_extra_line < (int)x->nr_extra)
		snprintf(buf, len, "command line '%s'", x->extra[line - x->first_extra_line]);
	else if (line > 0)
		snprintf(buf, len, "%s:%d", x->source, line);
	else
		snprintf(buf, len, "%s", x->source);
}

static int key_line(const struct ctx *x, const char *name)
{
	for (size_t i = 0; i < x->nr_keys; i++)
		if (!strcmp(x->keys[i].name, name))
			return x->keys[i].line;
	return 0;
}

static void __attribute__((format(printf, 4, 5)))
say(struct ctx *x, const char *key, bool warning, const char *fmt, ...)
{
	char at[600];
	va_list ap;

	where(x, key ? key_line(x, key) : 0, at, sizeof(at));
	fprintf(x->msgs, "xenkvm: %s: %s", at, warning ? "warning: " : "");
	va_start(ap, fmt);
	vfprintf(x->msgs, fmt, ap);
	va_end(ap);
	fputc('\n', x->msgs);
	if (warning)
		x->c->nr_warnings++;
	else
		x->failed = true;
}

#define ERR(x, key, ...)  say(x, key, false, __VA_ARGS__)
#define WARN(x, key, ...) say(x, key, true, __VA_ARGS__)

/*
 * The settings' names and lines, for the text libxlutil accepted: a
 * setting starts with an identifier ([a-z][._0-9a-z]*, libxlu_cfg_l.l) at
 * the start of a statement (after a newline or ';' outside brackets);
 * strings ('..' or "..", backslash escapes, never across lines) and
 * comments (# to the end of the line) are skipped.
 */
static int scan_keys(struct ctx *x, const char *t, size_t len)
{
	int line = 1, depth = 0;
	bool start = true;

	for (size_t i = 0; i < len; i++) {
		char ch = t[i];
		if (ch == '\n') {
			line++;
			start = depth == 0;
		} else if (ch == '#') {
			while (i + 1 < len && t[i + 1] != '\n')
				i++;
		} else if (ch == '\'' || ch == '"') {
			for (i++; i < len && t[i] != ch && t[i] != '\n'; i++)
				if (t[i] == '\\')
					i++;
			start = false;
		} else if (ch == '[') {
			depth++;
			start = false;
		} else if (ch == ']') {
			depth -= depth > 0;
		} else if (ch == ';') {
			start = depth == 0;
		} else if (ch == ' ' || ch == '\t') {
			continue;
		} else if (start && depth == 0 && ch >= 'a' && ch <= 'z') {
			size_t n = 1;
			while (i + n < len && ((t[i + n] >= 'a' && t[i + n] <= 'z') ||
					       (t[i + n] >= '0' && t[i + n] <= '9') ||
					       t[i + n] == '.' || t[i + n] == '_'))
				n++;
			size_t k = 0;
			while (k < x->nr_keys &&
			       (strlen(x->keys[k].name) != n || strncmp(x->keys[k].name, t + i, n)))
				k++;
			if (k == x->nr_keys) {
				struct key *nk = realloc(x->keys, (k + 1) * sizeof(*nk));
				if (!nk)
					return -1;
				x->keys = nk;
				nk[k].name = strndup(t + i, n);
				if (!nk[k].name)
					return -1;
				x->nr_keys++;
			}
			x->keys[k].line = line;
			i += n - 1;
			start = false;
		} else {
			start = false;
		}
	}
	return 0;
}

/* libxlutil's report lines ("source:LINE: ..."), with lines of the
 * command-line settings named as such. */
static void relay_report(struct ctx *x, char *rep)
{
	size_t sl = strlen(x->source);

	for (char *l = strtok(rep, "\n"); l; l = strtok(NULL, "\n")) {
		char *end;
		long line;
		if (!strncmp(l, x->source, sl) && l[sl] == ':' &&
		    (line = strtol(l + sl + 1, &end, 10)) > 0 && *end == ':') {
			char at[600];
			where(x, (int)line, at, sizeof(at));
			fprintf(x->msgs, "xenkvm: %s:%s\n", at, end + 1);
		} else {
			fprintf(x->msgs, "xenkvm: %s\n", l);
		}
	}
}

/* A single-valued setting; NULL if absent (or a list: an error). */
static const char *get_str(struct ctx *x, const char *key)
{
	const char *v = NULL;
	int e = xlu_cfg_get_string(x->cfg, key, &v, 1);

	if (e == EINVAL)
		ERR(x, key, "%s is a list but should be a single value", key);
	return e ? NULL : v;
}

static bool get_num(struct ctx *x, const char *key, long min, long max, const char *unit, long *out)
{
	const char *v = get_str(x, key);
	char *end;

	if (!v)
		return false;
	errno = 0;
	long l = strtol(v, &end, 0); /* base 0, as xlu_cfg_get_long */
	if (errno || end == v || *end || l < min || l > max) {
		ERR(x, key, "%s = '%s' is not %s between %ld and %ld", key, v, unit, min, max);
		return false;
	}
	*out = l;
	return true;
}

/* xl_parse.c compares with strncmp(buf, "hvm", strlen(buf)): any prefix
 * of the word matches (and "" matches the first tried). */
static bool xl_word(const char *v, const char *word)
{
	return !strncmp(v, word, strlen(v));
}

static void map_type(struct ctx *x)
{
	const char *type = get_str(x, "type"), *builder = get_str(x, "builder");
	const char *t = NULL, *b = NULL;

	if (type) {
		t = xl_word(type, "hvm")   ? "hvm"
		    : xl_word(type, "pv")  ? "pv"
		    : xl_word(type, "pvh") ? "pvh"
					   : NULL;
		if (!t)
			ERR(x, "type", "type = '%s' is not a domain type (pv, pvh, hvm)", type);
	}
	if (builder) { /* deprecated since Xen 4.10 */
		b = xl_word(builder, "hvm") ? "hvm" : xl_word(builder, "generic") ? "pv" : NULL;
		if (!b)
			ERR(x, "builder", "builder = '%s' is neither 'generic' nor 'hvm'", builder);
		else if (t && strcmp(t, b))
			ERR(x, "builder", "builder = '%s' contradicts type = '%s'", builder, type);
	}
	const char *k = b ? "builder" : "type";
	t = b ? b : t;
	if (t && !strcmp(t, "hvm"))
		ERR(x, k,
		    "an HVM guest: xenkvm runs PV guests only (run HVM guests with QEMU/KVM)");
	else if (t && !strcmp(t, "pvh"))
		ERR(x, k, "a PVH guest: xenkvm runs PV guests only (type = 'pv')");
}

static char *dup_or_fail(struct ctx *x, const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		ERR(x, NULL, "out of memory");
	return d;
}

/* xl_parse.c parse_cmdline(): cmdline wins; else "root=R EXTRA". */
static void map_cmdline(struct ctx *x)
{
	const char *cmd = get_str(x, "cmdline"), *root = get_str(x, "root");
	const char *extra = get_str(x, "extra");
	struct xk_xlcfg *c = x->c;

	if (cmd) {
		if (root || extra)
			WARN(x, "cmdline",
			     "ignoring root= and extra= in favour of cmdline= (as xl)");
		c->cmdline = dup_or_fail(x, cmd);
	} else if (root) {
		if (asprintf(&c->cmdline, "root=%s%s%s", root, extra ? " " : "",
			     extra ? extra : "") < 0) {
			c->cmdline = NULL;
			ERR(x, NULL, "out of memory");
		}
	} else {
		c->cmdline = dup_or_fail(x, extra);
	}
}

/* libxl's defaults for a PV guest: max_memkb 32 MiB, target = max. */
static void map_memory(struct ctx *x)
{
	long mem = 0, max = 0;
	bool have_mem = get_num(x, "memory", 4, 1 << 20, "a size in MiB", &mem);
	bool have_max = get_num(x, "maxmem", 4, 1L << 30, "a size in MiB", &max);

	if (!have_mem)
		mem = have_max ? max : 32;
	if (have_mem && have_max && max < mem)
		ERR(x, "maxmem", "maxmem = %ld is less than memory = %ld", max, mem);
	else if (have_mem && have_max && max > mem)
		WARN(x, "maxmem",
		     "maxmem = %ld ignored: no ballooning here, the guest has memory = %ld MiB",
		     max, mem);
	if (mem > (1 << 20))
		ERR(x, "maxmem", "memory = %ld MiB is more than xenkvm's 1048576", mem);
	x->c->opt.memory_mib = (uint64_t)mem;
}

static void map_vcpus(struct ctx *x)
{
	long n = 1, max = 0;

	if (get_num(x, "vcpus", 0, XK_MAX_VCPUS > 1024 ? XK_MAX_VCPUS : 1024, "a number", &n) &&
	    n > 1)
		ERR(x, "vcpus",
		    "vcpus = %ld: xenkvm runs guests with 1 vCPU so far (add vcpus=1 after "
		    "the file name to boot this one with 1)",
		    n);
	if (get_num(x, "maxvcpus", 0, 1024, "a number", &max) && max > 1)
		WARN(x, "maxvcpus", "maxvcpus = %ld ignored: no vCPU hot-plug, the guest has 1",
		     max);
	x->c->opt.vcpus = 1;
}

/* xl_parse.c action_on_shutdown_names, and what xenkvm makes of each. */
static enum xk_xl_action map_action(struct ctx *x, const char *key, const char *dflt)
{
	const char *v = get_str(x, key);

	if (!v)
		v = dflt;
	if (!strcmp(v, "destroy"))
		return XK_XL_DESTROY;
	if (!strcmp(v, "restart"))
		return XK_XL_RESTART;
	if (!strcmp(v, "rename-restart")) {
		WARN(x, key, "%s = '%s': restarted under the same name", key, v);
		return XK_XL_RESTART;
	}
	if (!strcmp(v, "coredump-restart")) {
		WARN(x, key, "%s = '%s': no core dump, restarted", key, v);
		return XK_XL_RESTART;
	}
	if (!strcmp(v, "coredump-destroy")) {
		WARN(x, key, "%s = '%s': no core dump, destroyed", key, v);
		return XK_XL_DESTROY;
	}
	if (!strcmp(v, "preserve") || !strcmp(v, "soft-reset")) {
		WARN(x, key, "%s = '%s': not supported, the guest is destroyed", key, v);
		return XK_XL_DESTROY;
	}
	ERR(x, key,
	    "%s = '%s' is not an action (destroy, restart, preserve, rename-restart, "
	    "coredump-destroy, coredump-restart, soft-reset)",
	    key, v);
	return XK_XL_DESTROY;
}

/* A disk or vif entry through its --disk/--vif parser, which reports on
 * stderr with that wording: captured (xk_capture_stderr) for spec_error. */
struct spec {
	const char *text;
	struct xk_disk_spec *disk; /* or */
	struct xk_vif_config *vif;
};

static int parse_spec(void *p)
{
	const struct spec *s = p;

	return s->disk ? xk_disk_spec_parse(s->text, s->disk) : xk_vif_spec_parse(s->text, s->vif);
}

/* A parser's message, reworded for the config file: its first line
 * without the "xenkvm: --disk" lead. */
static void spec_error(struct ctx *x, const char *key, unsigned i, const char *spec, char *msg)
{
	char *m = msg;

	m[strcspn(m, "\n")] = 0;
	if (!strncmp(m, "xenkvm: ", 8))
		m += 8;
	if (!strncmp(m, "--disk", 6) || !strncmp(m, "--vif ", 6) || !strncmp(m, "--vif:", 6))
		m += m[2] == 'd' ? 6 : 5;
	while (*m == ':' || *m == ' ')
		m++;
	ERR(x, key, "%s entry %u '%s': %s", key, i + 1, spec, *m ? m : "invalid");
}

/* A list setting's items (each a string); 0 items if absent; -1 on error. */
static int get_list(struct ctx *x, const char *key, XLU_ConfigList **list)
{
	int n = 0, e = xlu_cfg_get_list(x->cfg, key, list, &n, 1);

	if (e == ESRCH)
		return 0;
	if (e) {
		ERR(x, key, "%s must be a list: %s = [ '...', '...' ]", key, key);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (!xlu_cfg_get_listitem(*list, i)) {
			ERR(x, key, "%s entry %d is not a string", key, i + 1);
			return -1;
		}
	return n;
}

static void map_disks(struct ctx *x)
{
	XLU_ConfigList *list;
	int n = get_list(x, "disk", &list);
	struct xk_xlcfg *c = x->c;
	uint32_t devid[XK_MAX_DISKS]; /* of the entries taken */
	char msg[1024];

	if (n > XK_MAX_DISKS) {
		ERR(x, "disk", "%d disks: xenkvm serves at most %d", n, XK_MAX_DISKS);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *spec = xlu_cfg_get_listitem(list, i);
		struct xk_disk_spec d;
		if (xk_capture_stderr(msg, sizeof(msg), parse_spec,
				      &(struct spec){.text = spec, .disk = &d})) {
			spec_error(x, "disk", (unsigned)i, spec, msg);
			continue;
		}
		for (unsigned j = 0; j < c->opt.nr_disks; j++)
			if (devid[j] == d.devid)
				ERR(x, "disk", "disk entry %d '%s': %s is used twice", i + 1, spec,
				    d.vdev);
		devid[c->opt.nr_disks] = d.devid;
		xk_disk_spec_free(&d);
		c->disk[c->opt.nr_disks] = dup_or_fail(x, spec);
		c->opt.disk[c->opt.nr_disks] = c->disk[c->opt.nr_disks];
		c->opt.nr_disks++;
	}
}

/* A vif without mac= gets one now, as libxl does at creation: the guest
 * keeps it across reboots (restart boots the same configuration). */
static void map_vifs(struct ctx *x)
{
	XLU_ConfigList *list;
	int n = get_list(x, "vif", &list);
	struct xk_xlcfg *c = x->c;
	char msg[1024];

	if (n > XK_MAX_VIFS) {
		ERR(x, "vif", "%d vifs: xenkvm serves at most %d", n, XK_MAX_VIFS);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *spec = xlu_cfg_get_listitem(list, i);
		struct xk_vif_config v;
		if (xk_capture_stderr(msg, sizeof(msg), parse_spec,
				      &(struct spec){.text = spec, .vif = &v})) {
			spec_error(x, "vif", (unsigned)i, spec, msg);
			continue;
		}
		char *s = NULL;
		const uint8_t *m = v.mac;
		if (v.have_mac)
			s = strdup(spec);
		else if (asprintf(&s, "%s%smac=%02x:%02x:%02x:%02x:%02x:%02x", spec,
				  *spec ? "," : "", m[0], m[1], m[2], m[3], m[4], m[5]) < 0)
			s = NULL;
		if (!s) {
			ERR(x, NULL, "out of memory");
			return;
		}
		c->vif[c->opt.nr_vifs] = s;
		c->opt.vif[c->opt.nr_vifs++] = s;
	}
}

/* xl's uuid = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", read as xl_parse.c
 * does (libxl_uuid_from_string): the guest's /vm/<uuid> and
 * /sys/hypervisor/uuid. */
static void map_uuid(struct ctx *x)
{
	const char *v = get_str(x, "uuid");
	struct xk_options *o = &x->c->opt;
	libxl_uuid u;

	if (!v)
		return;
	if (libxl_uuid_from_string(&u, v)) {
		ERR(x, "uuid", "uuid = '%s' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
		    v);
		return;
	}
	memcpy(o->uuid, libxl_uuid_bytearray(&u), sizeof(o->uuid));
	o->have_uuid = true;
}

/* pygrub reads the first disk (libxl: disks[0]) as a raw image. */
static void map_boot_disk(struct ctx *x)
{
	struct xk_xlcfg *c = x->c;
	struct xk_disk_spec d;
	char msg[1024];

	if (!c->opt.nr_disks) {
		ERR(x, "bootloader", "bootloader = 'pygrub' needs a disk to read (the first one)");
		return;
	}
	if (xk_capture_stderr(msg, sizeof(msg), parse_spec,
			      &(struct spec){.text = c->disk[0], .disk = &d}))
		return; /* reported by map_disks */
	if (d.format)
		ERR(x, "disk",
		    "disk entry 1 is %s: bootloader = 'pygrub' reads raw images and block "
		    "devices only",
		    d.format);
	else
		c->boot_disk = dup_or_fail(x, d.target);
	xk_disk_spec_free(&d);
}

/* The settings read above; any other gets a warning. */
static const char *const known_keys[] = {
    "name",	     "type",	 "builder",	"kernel",     "ramdisk",
    "cmdline",	     "root",	 "extra",	"memory",     "maxmem",
    "vcpus",	     "maxvcpus", "disk",	"vif",	      "on_poweroff",
    "on_reboot",     "on_crash", "on_watchdog", "bootloader", "bootloader_args",
    "on_soft_reset", "uuid",	 NULL,
};

static bool known(const char *k)
{
	for (const char *const *p = known_keys; *p; p++)
		if (!strcmp(*p, k))
			return true;
	return false;
}

static void check_file(struct ctx *x, const char *key, const char *path)
{
	if (path && access(path, R_OK))
		ERR(x, key, "%s '%s': %s", key, path, strerror(errno));
}

static void map(struct ctx *x)
{
	struct xk_xlcfg *c = x->c;
	const char *v;

	for (size_t i = 0; i < x->nr_keys; i++)
		if (!known(x->keys[i].name))
			WARN(x, x->keys[i].name, "'%s' is not supported by xenkvm: ignored",
			     x->keys[i].name);
	map_type(x);
	map_uuid(x);
	if ((v = get_str(x, "name"))) {
		const char *why = xk_name_invalid(v);
		if (why)
			ERR(x, "name", "name = '%s': %s", v, why);
		c->name = dup_or_fail(x, v);
	} else if (!key_line(x, "name")) {
		ERR(x, NULL, "no name = '...': a domain name must be given (as for xl)");
	}
	if ((v = get_str(x, "bootloader")) && *v) {
		const char *base = strrchr(v, '/') ? strrchr(v, '/') + 1 : v;
		if (strcmp(base, "pygrub"))
			ERR(x, "bootloader",
			    "bootloader = '%s' is not supported: only pygrub's work (xenkvm reads "
			    "the guest's GRUB configuration itself), or give kernel = '...'",
			    v);
		c->bootloader = true;
	}
	if (get_str(x, "bootloader_args"))
		WARN(x, "bootloader_args", "bootloader_args ignored: the default entry boots");
	c->kernel = dup_or_fail(x, get_str(x, "kernel"));
	if (!c->kernel && !key_line(x, "kernel") && !c->bootloader)
		ERR(x, NULL,
		    "no kernel = '...': a PV guest needs its kernel's path (or "
		    "bootloader = 'pygrub')");
	c->ramdisk = dup_or_fail(x, get_str(x, "ramdisk"));
	map_cmdline(x);
	map_memory(x);
	map_vcpus(x);
	c->on_poweroff = map_action(x, "on_poweroff", "destroy");
	c->on_reboot = map_action(x, "on_reboot", "restart");
	c->on_crash = map_action(x, "on_crash", "destroy");
	c->on_watchdog = map_action(x, "on_watchdog", "destroy");
	if ((v = get_str(x, "on_soft_reset")) && strcmp(v, "soft-reset"))
		WARN(x, "on_soft_reset", "on_soft_reset ignored: a soft reset ends the guest");
	map_disks(x);
	map_vifs(x);
	if (c->bootloader) {
		map_boot_disk(x);
	} else {
		/* xl reads kernel and ramdisk relative to its working directory. */
		check_file(x, "kernel", c->kernel);
		check_file(x, "ramdisk", c->ramdisk);
	}

	c->opt.name = c->name;
	c->opt.kernel = c->kernel;
	c->opt.ramdisk = c->ramdisk;
	c->opt.extra = c->cmdline;
}

int xk_xlcfg_parse(struct xk_xlcfg *c, const char *source, const char *text, size_t len,
		   const char *const *extra, unsigned nr_extra, FILE *msgs)
{
	struct ctx x = {
	    .source = source, .extra = extra, .nr_extra = nr_extra, .msgs = msgs, .c = c};
	char *rep = NULL;
	size_t rep_len = 0;
	char *data = NULL;
	size_t dlen = 0;

	memset(c, 0, sizeof(*c));
	c->opt.memory_mib = 32;
	c->opt.vcpus = 1;
	c->on_reboot = XK_XL_RESTART;

	/* xl_vmcontrol.c create_domain(): "\n" + the key=value lines + "\n". */
	FILE *d = open_memstream(&data, &dlen);
	if (!d)
		goto oom;
	fwrite(text, 1, len, d);
	x.first_extra_line = 2;
	for (size_t i = 0; i < len; i++)
		x.first_extra_line += text[i] == '\n';
	if (nr_extra) {
		fputc('\n', d);
		for (unsigned i = 0; i < nr_extra; i++)
			fprintf(d, "%s\n", extra[i]);
	}
	if (fclose(d) || dlen > 64 << 20)
		goto oom;
	if (memchr(data, 0, dlen)) {
		ERR(&x, NULL, "not a text file (it has NUL bytes)");
		goto out;
	}

	FILE *r = open_memstream(&rep, &rep_len);
	if (!r)
		goto oom;
	x.cfg = xlu_cfg_init(r, source);
	int e = x.cfg ? xlu_cfg_readdata(x.cfg, data, (int)dlen) : ENOMEM;
	fclose(r);
	if (rep && *rep)
		relay_report(&x, rep);
	if (e) {
		if (!rep || !*rep)
			ERR(&x, NULL, "cannot parse: %s", strerror(e));
		x.failed = true;
		goto out;
	}
	if (scan_keys(&x, data, dlen))
		goto oom;
	map(&x);
	goto out;
oom:
	ERR(&x, NULL, "out of memory");
out:
	if (x.cfg)
		xlu_cfg_destroy(x.cfg);
	for (size_t i = 0; i < x.nr_keys; i++)
		free(x.keys[i].name);
	free(x.keys);
	free(rep);
	free(data);
	return x.failed ? -1 : 0;
}
#else
int xk_xlcfg_parse(struct xk_xlcfg *c, const char *source, const char *text, size_t len,
		   const char *const *extra, unsigned nr_extra, FILE *msgs)
{
	memset(c, 0, sizeof(*c));
	fprintf(msgs, "xenkvm: %s: built without libxlutil (install libxen-dev)\n", source);
	return -1;
}
#endif

void xk_xlcfg_free(struct xk_xlcfg *c)
{
	free(c->name);
	free(c->kernel);
	free(c->ramdisk);
	free(c->cmdline);
	free(c->boot_disk);
	for (unsigned i = 0; i < XK_MAX_DISKS; i++)
		free(c->disk[i]);
	for (unsigned i = 0; i < XK_MAX_VIFS; i++)
		free(c->vif[i]);
	memset(c, 0, sizeof(*c));
}

const char *xk_xl_action_name(enum xk_xl_action a)
{
	return a == XK_XL_RESTART ? "restart" : "destroy";
}

/* An xl.cfg string: '...' unless it has a quote; then "..." with escapes
 * (xlu's dequote knows \" and \\). */
static void put_cfg_str(FILE *f, const char *s)
{
	if (!strchr(s, '\'') && !strchr(s, '\\') && !strchr(s, '\n')) {
		fprintf(f, "'%s'", s);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* A word for sh: as is when safe, else '...' with ' as '\''. */
static void put_sh(FILE *f, const char *s)
{
	bool safe = *s != 0;

	for (const char *p = s; *p && safe; p++)
		safe = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			      "_-./:=,+@%",
			      *p) != NULL;
	if (safe) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

void xk_xlcfg_print(const struct xk_xlcfg *c, FILE *f)
{
	const struct xk_options *o = &c->opt;

	fputs("name = ", f);
	put_cfg_str(f, c->name ? c->name : "");
	fputs("\ntype = 'pv'", f);
	if (c->bootloader)
		fputs("\nbootloader = 'pygrub'", f);
	if (c->kernel || !c->bootloader) {
		fputs("\nkernel = ", f);
		put_cfg_str(f, c->kernel ? c->kernel : "");
	}
	if (c->ramdisk) {
		fputs("\nramdisk = ", f);
		put_cfg_str(f, c->ramdisk);
	}
	if (c->cmdline) {
		fputs("\ncmdline = ", f);
		put_cfg_str(f, c->cmdline);
	}
	fprintf(f, "\nmemory = %llu\nvcpus = %u\n", (unsigned long long)o->memory_mib, o->vcpus);
	if (o->have_uuid) {
		const uint8_t *u = o->uuid;
		fprintf(f,
			"uuid = "
			"'%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x'\n",
			u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
			u[12], u[13], u[14], u[15]);
	}
	for (int k = 0; k < 2; k++) {
		unsigned n = k ? o->nr_vifs : o->nr_disks;
		if (!n)
			continue;
		fprintf(f, "%s = [", k ? "vif" : "disk");
		for (unsigned i = 0; i < n; i++) {
			fputs(i ? ", " : " ", f);
			put_cfg_str(f, k ? o->vif[i] : o->disk[i]);
		}
		fputs(" ]\n", f);
	}
	fprintf(f, "on_poweroff = '%s'\non_reboot = '%s'\non_crash = '%s'\non_watchdog = '%s'\n",
		xk_xl_action_name(c->on_poweroff), xk_xl_action_name(c->on_reboot),
		xk_xl_action_name(c->on_crash), xk_xl_action_name(c->on_watchdog));
	if (c->bootloader)
		return; /* the kernel is the disk's, chosen at each boot */
	fputs("# one boot of it: xenkvm run --name ", f);
	put_sh(f, c->name ? c->name : "");
	fputs(" --kernel ", f);
	put_sh(f, c->kernel ? c->kernel : "");
	if (c->ramdisk) {
		fputs(" --ramdisk ", f);
		put_sh(f, c->ramdisk);
	}
	if (c->cmdline) {
		fputs(" --extra ", f);
		put_sh(f, c->cmdline);
	}
	fprintf(f, " --memory %llu", (unsigned long long)o->memory_mib);
	if (o->kernel_ring)
		fprintf(f, " --kernel-ring %u", o->kernel_ring);
	for (unsigned i = 0; i < o->nr_disks; i++) {
		fputs(" --disk ", f);
		put_sh(f, o->disk[i]);
	}
	for (unsigned i = 0; i < o->nr_vifs; i++) {
		fputs(" --vif ", f);
		put_sh(f, o->vif[i]);
	}
	fputc('\n', f);
}
