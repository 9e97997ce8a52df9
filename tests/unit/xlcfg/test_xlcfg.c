/* SPDX-License-Identifier: GPL-2.0-only */
/* xl.cfg -> launcher options (emu/xlcfg.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "xlcfg.h"
#include "bootloader.h"

void xk_err(const char *fmt, ...)
{
	va_list ap;

	fputs("xenkvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static char dir[] = "/tmp/xk-xlcfg-XXXXXX";
static char kernel[64], initrd[64], img[64], img2[64];

static void touch(char *path, const char *name, size_t size)
{
	snprintf(path, 64, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	if (size)
		assert_int_equal(ftruncate(fileno(f), (off_t)size), 0);
	fclose(f);
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	touch(kernel, "vmlinuz", 4096);
	touch(initrd, "initrd.gz", 4096);
	touch(img, "d.img", 1 << 20);
	touch(img2, "e.img", 1 << 20);
	return 0;
}

static int teardown(void **state)
{
	unlink(kernel);
	unlink(initrd);
	unlink(img);
	unlink(img2);
	rmdir(dir);
	return 0;
}

static char *msgs;
static size_t msgs_len;

/* Parse text (with %K = the kernel, %R = the initrd, %D/%E = images) and
 * the extra settings; the messages land in msgs. */
static int parse_extra(struct xk_xlcfg *c, const char *tmpl, const char *const *extra, unsigned nr)
{
	char text[4096] = "";
	size_t o = 0;

	for (const char *p = tmpl; *p && o < sizeof(text) - 80; p++) {
		const char *sub = NULL;
		if (*p == '%' && p[1] == 'K')
			sub = kernel;
		else if (*p == '%' && p[1] == 'R')
			sub = initrd;
		else if (*p == '%' && p[1] == 'D')
			sub = img;
		else if (*p == '%' && p[1] == 'E')
			sub = img2;
		if (sub) {
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", sub);
			p++;
		} else {
			text[o++] = *p;
		}
	}
	free(msgs);
	msgs = NULL;
	FILE *f = open_memstream(&msgs, &msgs_len);
	assert_non_null(f);
	int rc = xk_xlcfg_parse(c, "web01.cfg", text, o, extra, nr, f);
	fclose(f);
	fputs(msgs, stderr);
	return rc;
}

static int parse(struct xk_xlcfg *c, const char *tmpl)
{
	return parse_extra(c, tmpl, NULL, 0);
}

static unsigned nr_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define assert_msg(s) assert_non_null(strstr(msgs, (s)))

static void test_full(void **state)
{
	struct xk_xlcfg c;

	assert_int_equal(parse(&c, "# web01, as it ran under Xen\n"
				   "name = \"web01\"\n"
				   "kernel = \"%K\"\n"
				   "ramdisk = '%R'\n"
				   "root = '/dev/xvda1 ro'\n"
				   "extra = 'console=hvc0'\n"
				   "memory = 512\n"
				   "vcpus = 1\n"
				   "disk = [ 'file:%D,xvda,w',\n"
				   "         'format=raw, vdev=xvdb, access=r, target=%E' ]\n"
				   "vif = [ 'mac=00:16:3e:01:02:03,bridge=br0', '' ]\n"
				   "on_reboot = 'destroy'; on_crash = 'restart'\n"),
			 0);
	assert_string_equal(msgs, "");
	assert_string_equal(c.opt.name, "web01");
	assert_string_equal(c.opt.kernel, kernel);
	assert_string_equal(c.opt.ramdisk, initrd);
	/* xl_parse.c parse_cmdline(): "root=" root " " extra */
	assert_string_equal(c.opt.extra, "root=/dev/xvda1 ro console=hvc0");
	assert_int_equal(c.opt.memory_mib, 512);
	assert_int_equal(c.opt.vcpus, 1);
	assert_int_equal(c.opt.nr_disks, 2);
	assert_non_null(strstr(c.opt.disk[0], "xvda"));
	assert_non_null(strstr(c.opt.disk[1], "vdev=xvdb"));
	assert_int_equal(c.opt.nr_vifs, 2);
	assert_string_equal(c.opt.vif[0], "mac=00:16:3e:01:02:03,bridge=br0");
	/* a MAC is chosen once, in Xen's prefix */
	assert_int_equal(strncmp(c.opt.vif[1], "mac=00:16:3e:", 13), 0);
	assert_int_equal(c.on_poweroff, XK_XL_DESTROY);
	assert_int_equal(c.on_reboot, XK_XL_DESTROY);
	assert_int_equal(c.on_crash, XK_XL_RESTART);
	assert_int_equal(c.on_watchdog, XK_XL_DESTROY);
	assert_int_equal(c.nr_warnings, 0);

	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	xk_xlcfg_print(&c, f);
	fclose(f);
	assert_non_null(strstr(out, "name = 'web01'\n"));
	assert_non_null(strstr(out, "cmdline = 'root=/dev/xvda1 ro console=hvc0'\n"));
	assert_non_null(strstr(out, "memory = 512\n"));
	assert_non_null(strstr(out, "on_reboot = 'destroy'\n"));
	assert_non_null(strstr(out, "--extra 'root=/dev/xvda1 ro console=hvc0' --memory 512"));
	free(out);
	xk_xlcfg_free(&c);
}

static void test_defaults(void **state)
{
	struct xk_xlcfg c;

	/* libxl's PV defaults: 32 MiB; reboot restarts, the rest destroys */
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\n"), 0);
	assert_int_equal(c.opt.memory_mib, 32);
	assert_null(c.opt.extra);
	assert_null(c.opt.ramdisk);
	assert_int_equal(c.on_reboot, XK_XL_RESTART);
	assert_int_equal(c.on_poweroff, XK_XL_DESTROY);
	assert_int_equal(c.on_crash, XK_XL_DESTROY);
	xk_xlcfg_free(&c);
	/* maxmem alone is the memory */
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nmaxmem=300\n"), 0);
	assert_int_equal(c.opt.memory_mib, 300);
	xk_xlcfg_free(&c);
	/* maxmem above memory: no ballooning, a warning */
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nmemory=256\nmaxmem=1024\n"), 0);
	assert_int_equal(c.opt.memory_mib, 256);
	assert_int_equal(c.nr_warnings, 1);
	assert_msg("web01.cfg:4: warning: maxmem = 1024 ignored");
	xk_xlcfg_free(&c);
	/* a hex number and a quoted one, as xlu_cfg_get_long reads them */
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nmemory='0x100'\n"), 0);
	assert_int_equal(c.opt.memory_mib, 256);
	xk_xlcfg_free(&c);
	/* vcpus = 0 is 1 for xl */
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nvcpus=0\n"), 0);
	assert_int_equal(c.opt.vcpus, 1);
	xk_xlcfg_free(&c);
}

static void test_cmdline(void **state)
{
	struct xk_xlcfg c;

	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\ncmdline='x=1'\nroot='/dev/xvda'\n"), 0);
	assert_string_equal(c.opt.extra, "x=1");
	assert_msg("warning: ignoring root= and extra= in favour of cmdline=");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nroot='/dev/xvda'\n"), 0);
	assert_string_equal(c.opt.extra, "root=/dev/xvda");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nextra=\"a 'b' \\\"c\\\"\"\n"), 0);
	assert_string_equal(c.opt.extra, "a 'b' \"c\"");
	xk_xlcfg_free(&c);
}

static void test_extra_settings(void **state)
{
	struct xk_xlcfg c;
	const char *ok[] = {"memory=1024", "vcpus=1", "extra='single'"};
	const char *bad[] = {"memory=1024", "memory='lots'"};
	const char *syntax[] = {"memory=1024", "extra=no quotes"};

	/* later lines win, as in xl */
	assert_int_equal(parse_extra(&c, "name='a'\nkernel='%K'\nmemory=256\nvcpus=4\n", ok, 3), 0);
	assert_int_equal(c.opt.memory_mib, 1024);
	assert_int_equal(c.opt.vcpus, 1);
	assert_string_equal(c.opt.extra, "single");
	xk_xlcfg_free(&c);
	/* errors on a command-line setting name it, not a line of the file */
	assert_int_equal(parse_extra(&c, "name='a'\nkernel='%K'", bad, 2), -1);
	assert_msg("xenkvm: command line 'memory='lots'': memory = 'lots' is not a size");
	xk_xlcfg_free(&c);
	assert_int_equal(parse_extra(&c, "name='a'\nkernel='%K'\n", syntax, 2), -1);
	assert_msg("xenkvm: command line 'extra=no quotes':");
	xk_xlcfg_free(&c);
}

static void test_syntax_error(void **state)
{
	struct xk_xlcfg c;

	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\n\nmemory = 512 MiB\n"), -1);
	assert_non_null(strstr(msgs, "xenkvm: web01.cfg:4:"));
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel=/boot/vmlinuz\n"), -1);
	assert_non_null(strstr(msgs, "xenkvm: web01.cfg:2:"));
	xk_xlcfg_free(&c);
	/* an unterminated list */
	assert_int_equal(parse(&c, "name='a'\ndisk=['x',\n"), -1);
	assert_non_null(strstr(msgs, "web01.cfg:"));
	xk_xlcfg_free(&c);
	char nul[] = "name='a'\0kernel='x'\n";
	free(msgs);
	FILE *f = open_memstream(&msgs, &msgs_len);
	assert_int_equal(xk_xlcfg_parse(&c, "web01.cfg", nul, sizeof(nul) - 1, NULL, 0, f), -1);
	fclose(f);
	assert_msg("not a text file");
	xk_xlcfg_free(&c);
}

static void test_required(void **state)
{
	struct xk_xlcfg c;

	assert_int_equal(parse(&c, "kernel='%K'\n"), -1);
	assert_msg("xenkvm: web01.cfg: no name = '...'");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\n"), -1);
	assert_msg("no kernel = '...'");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='/nonexistent/vmlinuz'\n"), -1);
	assert_msg("xenkvm: web01.cfg:2: kernel '/nonexistent/vmlinuz': No such file");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nramdisk='/nonexistent/i'\n"), -1);
	assert_msg("web01.cfg:3: ramdisk '/nonexistent/i': No such file");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a b'\nkernel='%K'\n"), -1);
	assert_msg("web01.cfg:1: name = 'a b': use 1 to 64");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='123'\nkernel='%K'\n"), -1);
	assert_msg("all digits");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name=['a']\nkernel='%K'\n"), -1);
	assert_msg("web01.cfg:1: name is a list but should be a single value");
	xk_xlcfg_free(&c);
}

static void test_unsupported(void **state)
{
	struct xk_xlcfg c;

	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nvcpus=2\n"), -1);
	assert_msg("web01.cfg:3: vcpus = 2: xenkvm runs guests with 1 vCPU so far (add vcpus=1");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\ntype='hvm'\n"), -1);
	assert_msg("web01.cfg:3: an HVM guest: xenkvm runs PV guests only");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\ntype='pvh'\n"), -1);
	assert_msg("a PVH guest");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\ntype='xen'\n"), -1);
	assert_msg("type = 'xen' is not a domain type");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nbuilder='generic'\ntype='pv'\n"), 0);
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nbuilder='hvm'\ntype='pv'\n"), -1);
	assert_msg("builder = 'hvm' contradicts type = 'pv'");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nbootloader='pygrub'\n"), -1);
	assert_msg("web01.cfg:2: bootloader = 'pygrub' needs a disk");
	assert_null(strstr(msgs, "no kernel"));
	xk_xlcfg_free(&c);
	assert_int_equal(
	    parse(&c, "name='a'\nbootloader='/usr/bin/grub'\ndisk=['%D,raw,xvda,w']\n"), -1);
	assert_msg("web01.cfg:2: bootloader = '/usr/bin/grub' is not supported");
	xk_xlcfg_free(&c);
	assert_int_equal(
	    parse(&c, "name='a'\nbootloader='pygrub'\ndisk=['format=qcow2,vdev=xvda,target=%D']\n"),
	    -1);
	assert_msg("web01.cfg:3: disk entry 1 is qcow2: bootloader = 'pygrub' reads raw");
	xk_xlcfg_free(&c);
	/* with pygrub, kernel= is a path in the image: not checked here */
	assert_int_equal(parse(&c, "name='a'\nbootloader='/usr/lib/xen-4.17/bin/pygrub'\n"
				   "kernel='/boot/vmlinuz'\nextra='x=1'\n"
				   "disk=['%D,raw,xvda,w', '%E,raw,xvdb,w']\n"),
			 0);
	assert_true(c.bootloader);
	assert_string_equal(c.boot_disk, img);
	assert_string_equal(c.opt.kernel, "/boot/vmlinuz");
	assert_string_equal(c.opt.extra, "x=1");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\non_crash='explode'\n"), -1);
	assert_msg("web01.cfg:3: on_crash = 'explode' is not an action");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\non_crash='rename-restart'\n"
				   "on_poweroff='preserve'\n"),
			 0);
	assert_int_equal(c.on_crash, XK_XL_RESTART);
	assert_int_equal(c.on_poweroff, XK_XL_DESTROY);
	assert_int_equal(c.nr_warnings, 2);
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nmemory=256\nmaxmem=128\n"), -1);
	assert_msg("web01.cfg:4: maxmem = 128 is less than memory = 256");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nmemory=2\n"), -1);
	assert_msg("web01.cfg:3: memory = '2' is not a size in MiB between 4 and 1048576");
	xk_xlcfg_free(&c);
}

static void test_unknown_keys(void **state)
{
	struct xk_xlcfg c;

	/* One warning per key, at its (last) line; names inside strings,
	 * lists and comments are not keys. */
	assert_int_equal(parse(&c, "name='a' ; serial='pty'\n"
				   "kernel='%K'\n"
				   "# vnc = 1\n"
				   "extra = 'uuid = x # y'\n"
				   "disk = [\n"
				   "  'file:%D,xvda,w', # pci = 1\n"
				   "]\n"
				   "pci = [ '01:00.0' ]\n"
				   "serial = 'none'\n"
				   "uuid = '5a5a5a5a-0000-0000-0000-000000000000'\n"),
			 0);
	assert_int_equal(c.nr_warnings, 2);
	assert_int_equal(nr_lines(msgs), 2);
	assert_msg("xenkvm: web01.cfg:9: warning: 'serial' is not supported by xenkvm: ignored");
	assert_msg("xenkvm: web01.cfg:8: warning: 'pci' is not supported");
	assert_int_equal(c.opt.nr_disks, 1);
	/* the uuid is the guest's */
	assert_true(c.opt.have_uuid);
	assert_int_equal(c.opt.uuid[0], 0x5a);
	assert_int_equal(c.opt.uuid[15], 0);
	xk_xlcfg_free(&c);
	assert_int_equal(
	    parse(&c, "name='a'\nkernel='%K'\nuuid='C0FFEE00-1111-2222-3333-444455556666'\n"), 0);
	assert_int_equal(c.opt.uuid[0], 0xc0);
	assert_int_equal(c.opt.uuid[15], 0x66);
	xk_xlcfg_free(&c);
	assert_int_equal(
	    parse(&c, "name='a'\nkernel='%K'\nuuid='c0ffee00-1111-2222-3333-44445555666'\n"), -1);
	assert_msg("web01.cfg:3: uuid = 'c0ffee00-1111-2222-3333-44445555666' is not a UUID");
	xk_xlcfg_free(&c);
}

static void test_devices(void **state)
{
	struct xk_xlcfg c;

	assert_int_equal(
	    parse(&c, "name='a'\nkernel='%K'\ndisk=['file:%D,xvda,w','%E,raw,xvda,r']\n"), -1);
	assert_msg("web01.cfg:3: disk entry 2");
	assert_msg("xvda is used twice");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\n\ndisk=['%D']\n"), -1);
	assert_msg("web01.cfg:4: disk entry 1 '");
	assert_null(strstr(msgs, "--disk"));
	assert_int_equal(nr_lines(msgs), 1);
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\ndisk='file:%D,xvda,w'\n"), -1);
	assert_msg("web01.cfg:3: disk must be a list");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\ndisk=[['x']]\n"), -1);
	assert_msg("disk entry 1 is not a string");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nvif=['mac=01:00:00:00:00:00']\n"), -1);
	assert_msg("web01.cfg:3: vif entry 1 'mac=01:00:00:00:00:00': mac");
	assert_null(strstr(msgs, "--vif"));
	xk_xlcfg_free(&c);
	assert_int_equal(
	    parse(&c, "name='a'\nkernel='%K'\nvif=['', '', '', '', '', '', '', '', '']\n"), -1);
	assert_msg("9 vifs: xenkvm serves at most 8");
	xk_xlcfg_free(&c);
	assert_int_equal(parse(&c, "name='a'\nkernel='%K'\nvif=[]\ndisk=[]\n"), 0);
	assert_int_equal(c.opt.nr_vifs + c.opt.nr_disks, 0);
	xk_xlcfg_free(&c);
}

static void test_grub(void **state)
{
	struct xk_boot_entry e;
	char err[128];

	/* Debian 12's grub.cfg, shortened: the last "set default" wins,
	 * submenus are flattened, device prefixes dropped */
	const char *deb = "if [ \"${next_entry}\" ] ; then\n"
			  "   set default=\"${next_entry}\"\n"
			  "else\n"
			  "   set default=\"0\"\n"
			  "fi\n"
			  "function load_video {\n  insmod all_video\n}\n"
			  "menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'x' {\n"
			  "\tload_video\n"
			  "\tlinux\t(hd0,msdos1)/boot/vmlinuz-6.1 root=UUID=abc ro quiet\n"
			  "\tinitrd\t/boot/initrd.img-6.1\n"
			  "}\n"
			  "submenu 'Advanced options' {\n"
			  "\tmenuentry 'Debian, recovery' {\n"
			  "\t\tlinux /boot/vmlinuz-6.1 root=UUID=abc ro single\n"
			  "\t\tinitrd /boot/initrd.img-6.1\n"
			  "\t}\n"
			  "}\n"
			  "menuentry 'Other' {\n\tlinux /vmlinuz-old ro\n}\n";
	assert_int_equal(xk_grub_pick(deb, true, &e, err, sizeof(err)), 0);
	assert_string_equal(e.title, "Debian GNU/Linux");
	assert_string_equal(e.kernel, "/boot/vmlinuz-6.1");
	assert_string_equal(e.ramdisk, "/boot/initrd.img-6.1");
	assert_string_equal(e.args, "root=UUID=abc ro quiet");
	xk_boot_entry_free(&e);
	char *two = malloc(strlen(deb) + 32);
	strcpy(two, "set default=2\n");
	strcat(two, strstr(deb, "function"));
	assert_int_equal(xk_grub_pick(two, true, &e, err, sizeof(err)), 0);
	assert_string_equal(e.kernel, "/vmlinuz-old");
	assert_null(e.ramdisk);
	xk_boot_entry_free(&e);
	strcpy(two, "set default='Debian, recovery'\n");
	strcat(two, strstr(deb, "function"));
	assert_int_equal(xk_grub_pick(two, true, &e, err, sizeof(err)), 0);
	assert_string_equal(e.args, "root=UUID=abc ro single");
	xk_boot_entry_free(&e);
	free(two);
	/* GRUB legacy */
	assert_int_equal(
	    xk_grub_pick("default 1\ntimeout 5\n"
			 "title A\n root (hd0,0)\n kernel /boot/a ro\n"
			 "title B\n kernel /boot/b root=/dev/xvda1\n initrd /boot/ib\n",
			 false, &e, err, sizeof(err)),
	    0);
	assert_string_equal(e.title, "B");
	assert_string_equal(e.kernel, "/boot/b");
	assert_string_equal(e.ramdisk, "/boot/ib");
	xk_boot_entry_free(&e);
	assert_int_equal(xk_grub_pick("set timeout=5\n", true, &e, err, sizeof(err)), -1);
	assert_string_equal(err, "no boot entry");
	assert_int_equal(xk_grub_pick("menuentry 'x' {\n echo hi\n}\n", true, &e, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "has no kernel"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),	 cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_cmdline),	 cmocka_unit_test(test_extra_settings),
	    cmocka_unit_test(test_syntax_error), cmocka_unit_test(test_required),
	    cmocka_unit_test(test_unsupported),	 cmocka_unit_test(test_unknown_keys),
	    cmocka_unit_test(test_devices),	 cmocka_unit_test(test_grub),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	free(msgs);
	return rc;
}
