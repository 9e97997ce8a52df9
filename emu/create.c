/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `xenkvm create [-c] [-F] [-n] CFG [KEY=VALUE ...]`: a guest from an xl
 * domain configuration file (xlcfg.c), as xl create (tools/xl/
 * xl_vmcontrol.c main_create/create_domain) runs one.
 *
 * Processes: `create` itself parses the file, then (unless -F) forks a
 * supervisor that leaves the terminal (setsid, stdin /dev/null).  The
 * supervisor forks one launcher process per boot (xk_launch(), the work
 * of `xenkvm run`), waits for it, and applies on_poweroff/on_reboot/
 * on_crash/on_watchdog: restart forks a fresh launcher (the same
 * configuration: a fresh process leaves nothing of the last boot behind).
 * A launcher says "started" on a pipe once its guest runs and its run file
 * is written; the supervisor passes it on and `create` returns (or, with
 * -c, attaches the console).  Until then errors reach create's stderr;
 * afterwards the supervisor and its launchers write to the log,
 * <runtime dir>/<name>.log (xl: /var/log/xen/xl-<name>.log).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xenkvm.h"
#include "backend.h"
#include "runtime.h"
#include "xlcfg.h"
#include "bootloader.h"

#define XK_CFG_MAX	    (1 << 20)
#define XK_RESTART_BURST    10 /* at most this many boots ... */
#define XK_RESTART_WINDOW_S 60 /* ... within this many seconds */

static void create_usage(FILE *f)
{
	fputs("Usage: xenkvm create [-c] [-F] [-n] [options] CFG [KEY=VALUE ...]\n"
	      "Start a guest from an xl domain configuration file (xl.cfg(5)), as xl create:\n"
	      "name, kernel, ramdisk, cmdline/root/extra, memory, vcpus (1), disk, vif,\n"
	      "on_poweroff/on_reboot/on_crash/on_watchdog (destroy or restart), type = 'pv',\n"
	      "bootloader = 'pygrub' (the first disk's GRUB default entry, read by xenkvm).\n"
	      "Other keys are ignored with a warning each.  KEY=VALUE settings are added\n"
	      "after the file's, as lines of it (e.g. memory=1024 'extra=\"single\"').\n"
	      "\n"
	      "The guest runs in the background (console on a pty: xenkvm console NAME;\n"
	      "stop it with xenkvm shutdown NAME or xenkvm destroy NAME; the launcher's\n"
	      "messages go to the log, its path is printed).\n"
	      "  -c, --console           attach this terminal to the console (Ctrl-] detaches;\n"
	      "                          the guest keeps running)\n"
	      "  -F, --foreground        stay in the foreground until the guest is gone; with\n"
	      "                          -c the console is this terminal (as xenkvm run), else\n"
	      "                          a pty; the exit status is that of xenkvm run\n"
	      "  -n, --dry-run           print the resulting configuration (and the matching\n"
	      "                          xenkvm run command line) and exit\n"
	      "  -f, --defconfig CFG     the configuration file (or give it as CFG)\n"
	      "  -q, --quiet             no 'started' message\n"
	      "      --platform hw|pvm   override host detection\n"
	      "      --kernel-ring 1|3   hw: the guest kernel's ring (see xenkvm help)\n"
	      "      --console-log FILE  also append all console output to FILE\n"
	      "      --timeout SECONDS   stop each boot after this long\n"
	      "  -v, --verbose           launcher diagnostics (in the log unless -F)\n"
	      "Exit status: 0 the guest started (or, with -F, powered off), 1 error\n"
	      "(a one-line message: FILE:LINE for a bad setting).\n",
	      f);
}

struct create {
	struct xk_xlcfg cfg;
	bool console, foreground, quiet;
	char log[512];
	int ready_fd; /* the launcher's end of its "started" pipe, or -1 */
	bool daemon;
	char boot_dir[600]; /* pygrub's copies of kernel and initrd, "" if none */
	char *boot_kernel, *boot_ramdisk, *boot_cmdline; /* opt's, with pygrub */
};

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(XK_CFG_MAX + 1);
	size_t n = 0;

	if (!f || !buf) {
		xk_err("cannot read %s: %s", path, strerror(f ? ENOMEM : errno));
		goto fail;
	}
	n = fread(buf, 1, XK_CFG_MAX + 1, f);
	if (ferror(f)) {
		xk_err("cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (n > XK_CFG_MAX) {
		xk_err("%s: larger than %d bytes: not a domain configuration", path, XK_CFG_MAX);
		goto fail;
	}
	fclose(f);
	*len = n;
	return buf;
fail:
	if (f)
		fclose(f);
	free(buf);
	return NULL;
}

static void log_line(const char *name, const char *fmt, const char *arg)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	fprintf(stderr, "xenkvm: %s %s: ", when, name);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fflush(stderr);
}

/* The bootloader's files are read by the domain builder before the guest
 * starts: removed then, or when the boot fails. */
static void boot_files_remove(struct create *cr)
{
	char p[700];

	if (!cr->boot_dir[0])
		return;
	snprintf(p, sizeof(p), "%s/kernel", cr->boot_dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ramdisk", cr->boot_dir);
	unlink(p);
	rmdir(cr->boot_dir);
	cr->boot_dir[0] = 0;
}

/* bootloader = "pygrub": this boot's kernel, initrd and cmdline from the
 * guest's disk, as libxl runs the bootloader before each boot (a kernel
 * the guest installed is the next boot's).  dir: where the copies go. */
static int run_bootloader(struct create *cr, const char *parent, bool dry_run)
{
	struct xk_xlcfg *c = &cr->cfg;
	char *k, *r, *cmd, *chosen;

	snprintf(cr->boot_dir, sizeof(cr->boot_dir), "%s/%s.boot.XXXXXX", parent, c->name);
	if (!mkdtemp(cr->boot_dir)) {
		xk_err("bootloader: cannot make %s: %s", cr->boot_dir, strerror(errno));
		cr->boot_dir[0] = 0;
		return -1;
	}
	if (xk_bootloader_run(c->boot_disk, c->kernel, c->ramdisk, c->cmdline, cr->boot_dir, &k, &r,
			      &cmd, &chosen)) {
		boot_files_remove(cr);
		return -1;
	}
	if (dry_run)
		printf("# bootloader: %s\n# cmdline = '%s'\n", chosen ? chosen : "?",
		       cmd ? cmd : "");
	else
		log_line(c->name, "bootloader: %s", chosen ? chosen : "?");
	free(chosen);
	c->opt.kernel = cr->boot_kernel = k;
	c->opt.ramdisk = cr->boot_ramdisk = r;
	c->opt.extra = cr->boot_cmdline = cmd;
	return 0;
}

/* The launcher's "started": tell the supervisor, then (in the background)
 * send stdout and stderr to the log. */
static void on_started(void *arg)
{
	struct create *cr = arg;

	boot_files_remove(cr);
	if (cr->ready_fd >= 0) {
		if (write(cr->ready_fd, "R", 1) != 1) {
			/* the supervisor is gone: nobody to tell */
		}
		close(cr->ready_fd);
		cr->ready_fd = -1;
	}
	if (cr->daemon) {
		int fd = open(cr->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0)
			fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		fflush(stdout);
		fflush(stderr);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		log_line(cr->cfg.name, "%s", "started");
	}
}

static volatile sig_atomic_t stop_sig;
static volatile pid_t launcher_pid;

/* The supervisor's SIGTERM/SIGINT/SIGHUP: end the guest, no restart. */
static void on_stop_signal(int sig)
{
	stop_sig = sig;
	if (launcher_pid > 0)
		kill(launcher_pid, SIGTERM);
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return XK_EXIT_ERROR;
	return WIFEXITED(st)	 ? WEXITSTATUS(st)
	       : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
				 : XK_EXIT_ERROR;
}

/* One boot in a new process; its exit status.  *started: it said so. */
static int boot(struct create *cr, int notify_fd, bool *started)
{
	int p[2];
	char b;

	*started = false;
	if (pipe2(p, O_CLOEXEC)) {
		xk_err("pipe: %s", strerror(errno));
		return XK_EXIT_ERROR;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		xk_err("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return XK_EXIT_ERROR;
	}
	if (pid == 0) {
		close(p[0]);
		if (notify_fd >= 0)
			close(notify_fd);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		cr->ready_fd = p[1];
		char dir[256];
		if (cr->cfg.bootloader && xk_runtime_dir(dir, sizeof(dir), true)) {
			xk_err("bootloader: no run-file directory for the kernel's copy");
			_exit(XK_EXIT_ERROR);
		}
		if (cr->cfg.bootloader && run_bootloader(cr, dir, false))
			_exit(XK_EXIT_ERROR);
		fflush(stderr);
		int rc = xk_launch(&cr->cfg.opt, on_started, cr);
		boot_files_remove(cr);
		_exit(rc);
	}
	launcher_pid = pid;
	close(p[1]);
	ssize_t r;
	while ((r = read(p[0], &b, 1)) < 0 && errno == EINTR)
		;
	close(p[0]);
	*started = r == 1;
	if (*started && notify_fd >= 0) {
		/* First boot of a background guest: the rest is for the log. */
		int fd = open(cr->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if (write(notify_fd, "R", 1) != 1) {
			/* create is gone (killed): the guest runs on */
		}
		close(notify_fd);
	}
	int rc = wait_status(pid);
	launcher_pid = 0;
	return rc;
}

/* What on_* says for a launcher's exit status; restart, or the end. */
static bool restart_for(struct create *cr, int rc)
{
	const struct xk_xlcfg *c = &cr->cfg;
	const char *what, *key;
	enum xk_xl_action a;

	switch (rc) {
	case XK_EXIT_POWEROFF:
		what = "powered off", key = "on_poweroff", a = c->on_poweroff;
		break;
	case XK_EXIT_REBOOT:
		what = "rebooted", key = "on_reboot", a = c->on_reboot;
		break;
	case XK_EXIT_CRASH:
		what = "crashed", key = "on_crash", a = c->on_crash;
		break;
	case XK_EXIT_WATCHDOG:
		what = "watchdog expired", key = "on_watchdog", a = c->on_watchdog;
		break;
	default:
		return false; /* launcher error, suspend, timeout, destroy, signal */
	}
	char msg[160];
	snprintf(msg, sizeof(msg), "the guest %s: %s (%s = '%s')", what,
		 a == XK_XL_RESTART ? "restarting" : "done", key, xk_xl_action_name(a));
	log_line(c->name, "%s", msg);
	return a == XK_XL_RESTART;
}

/* Boot, and boot again as on_* says.  The last launcher's exit status. */
static int supervise(struct create *cr, int notify_fd)
{
	struct sigaction sa;
	time_t starts[XK_RESTART_BURST] = {0};
	unsigned n = 0;
	bool started;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (;;) {
		starts[n++ % XK_RESTART_BURST] = time(NULL);
		rc = boot(cr, notify_fd, &started);
		notify_fd = -1;
		if (!started || stop_sig || !restart_for(cr, rc))
			break;
		if (n >= XK_RESTART_BURST &&
		    time(NULL) - starts[n % XK_RESTART_BURST] < XK_RESTART_WINDOW_S) {
			log_line(cr->cfg.name, "%s", "restarted 10 times within 60 s: giving up");
			break;
		}
	}
	if (cr->daemon && started)
		log_line(cr->cfg.name, "%s", "ended");
	return rc;
}

/* The launcher of the guest called name (with a pty console if pty),
 * other than not_pid; 0 if none. */
static long find_launcher(const char *name, long not_pid, bool pty)
{
	struct xk_run_info *v;
	size_t nr;
	long pid = 0;

	if (xk_runtime_list(&v, &nr))
		return 0;
	for (size_t j = 0; j < nr; j++)
		if (!strcmp(v[j].name, name) && (v[j].pty[0] || !pty) && v[j].pid != not_pid)
			pid = v[j].pid;
	free(v);
	return pid;
}

/* -c in the background: attach; after a reboot, attach to the next boot
 * (a new launcher: by pid, since the last one's run file may linger for a
 * moment after its console closed). */
static int attach_loop(struct create *cr, pid_t supervisor)
{
	long pid = find_launcher(cr->cfg.name, 0, true);

	while (pid) {
		char target[24];
		bool gone;
		snprintf(target, sizeof(target), "%ld", pid);
		int rc = xk_console_attach(target, &gone);
		if (rc) {
			usleep(300000); /* a launcher on its way out: gone soon */
			if (kill((pid_t)pid, 0) == 0)
				return rc; /* a real error (e.g. attached elsewhere) */
		}
		if (!rc && !gone)
			return 0; /* detached: the guest runs on */
		long old = pid;
		pid = 0;
		/* The supervisor restarts the guest or ends: wait for either. */
		for (int i = 0; i < 600 && !pid; i++) {
			if (waitpid(supervisor, NULL, WNOHANG) == supervisor)
				return 0;
			pid = find_launcher(cr->cfg.name, old, true);
			if (!pid)
				usleep(100000);
		}
	}
	return 0;
}

static int start_background(struct create *cr)
{
	char dir[256];
	int p[2];
	char b;

	if (xk_runtime_dir(dir, sizeof(dir), true)) {
		xk_err("create: no run-file directory (%s): a background guest could not be found "
		       "again; use -F",
		       dir);
		return XK_EXIT_ERROR;
	}
	snprintf(cr->log, sizeof(cr->log), "%s/%s.log", dir, cr->cfg.name);
	if (pipe2(p, O_CLOEXEC)) {
		xk_err("pipe: %s", strerror(errno));
		return XK_EXIT_ERROR;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t sup = fork();
	if (sup < 0) {
		xk_err("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return XK_EXIT_ERROR;
	}
	if (sup == 0) {
		close(p[0]);
		setsid();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		/* stdout: the launcher's verbose output goes to the log too */
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		cr->daemon = true;
		_exit(supervise(cr, p[1]));
	}
	close(p[1]);
	ssize_t r;
	while ((r = read(p[0], &b, 1)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (r != 1) /* the launcher said why on our stderr */
		return wait_status(sup) ?: XK_EXIT_ERROR;
	if (!cr->quiet)
		fprintf(stderr,
			"xenkvm: %s started (console: xenkvm console %s; stop: xenkvm shutdown %s; "
			"log: %s)\n",
			cr->cfg.name, cr->cfg.name, cr->cfg.name, cr->log);
	return cr->console ? attach_loop(cr, sup) : 0;
}

int xk_cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"console", no_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'F'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"dryrun", no_argument, NULL, 'n'},
	    {"defconfig", required_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"platform", required_argument, NULL, 'p'},
	    {"kernel-ring", required_argument, NULL, 'R'},
	    {"console-log", required_argument, NULL, 'L'},
	    {"timeout", required_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct create cr;
	const char *path = NULL, *platform = NULL, *console_log = NULL;
	unsigned kernel_ring = 0;
	bool dry_run = false, verbose = false;
	uint64_t timeout = 0;
	int c;

	memset(&cr, 0, sizeof(cr));
	cr.ready_fd = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "cFnf:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cr.console = true;
			break;
		case 'F':
			cr.foreground = true;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'f':
			path = optarg;
			break;
		case 'q':
			cr.quiet = true;
			break;
		case 'p':
			platform = optarg;
			break;
		case 'R':
			if (xk_parse_kernel_ring(optarg, &kernel_ring))
				return XK_EXIT_ERROR;
			break;
		case 'L':
			console_log = optarg;
			break;
		case 't':
			if (!xk_parse_u64(optarg, 1, XK_TIMEOUT_MAX_S, &timeout)) {
				xk_err("create: --timeout '%s' is not a number of seconds", optarg);
				return XK_EXIT_ERROR;
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			create_usage(stdout);
			return 0;
		default:
			fputs("Try 'xenkvm create --help'.\n", stderr);
			return XK_EXIT_ERROR;
		}
	}
	/* As xl: KEY=VALUE arguments are extra settings, the other one is
	 * the file. */
	const char **extra = calloc((size_t)argc + 1, sizeof(*extra));
	unsigned nr_extra = 0;
	if (!extra) {
		xk_err("out of memory");
		return XK_EXIT_ERROR;
	}
	for (int i = optind; i < argc; i++) {
		if (strchr(argv[i], '=')) {
			extra[nr_extra++] = argv[i];
		} else if (!path) {
			path = argv[i];
		} else {
			xk_err("create: two configuration files ('%s' and '%s'): settings are "
			       "KEY=VALUE",
			       path, argv[i]);
			free(extra);
			return XK_EXIT_ERROR;
		}
	}
	if (!path) {
		xk_err("create: no configuration file (xenkvm create CFG [KEY=VALUE ...])");
		free(extra);
		return XK_EXIT_ERROR;
	}
	size_t len;
	char *text = read_file(path, &len);
	int rc = XK_EXIT_ERROR;
	if (!text) {
		free(extra);
		return XK_EXIT_ERROR;
	}
	if (xk_xlcfg_parse(&cr.cfg, path, text, len, extra, nr_extra, stderr))
		goto out;
	struct xk_options *o = &cr.cfg.opt;
	if (platform && !xk_parse_platform(platform, &o->platform)) {
		xk_err("create: --platform '%s' is neither 'hw' nor 'pvm'", platform);
		goto out;
	}
	o->console_log = console_log;
	o->kernel_ring = kernel_ring;
	o->timeout_s = (unsigned)timeout;
	o->verbose = verbose;
	o->console_mode = cr.foreground && cr.console ? XK_CONSOLE_STDIO : XK_CONSOLE_PTY;
	if (dry_run) {
		xk_xlcfg_print(&cr.cfg, stdout);
		fflush(stdout);
		const char *tmp = getenv("TMPDIR");
		rc = cr.cfg.bootloader && run_bootloader(&cr, tmp && *tmp ? tmp : "/tmp", true)
			 ? XK_EXIT_ERROR
			 : 0;
		boot_files_remove(&cr);
		goto out;
	}
	/* As xl: a name is one guest (xk_launch checks again, for run). */
	long running = find_launcher(cr.cfg.name, 0, false);
	if (running) {
		xk_err("%s: a guest named %s is running (launcher pid %ld)", path, cr.cfg.name,
		       running);
		goto out;
	}
	if (cr.foreground)
		rc = supervise(&cr, -1);
	else
		rc = start_background(&cr);
out:
	free(cr.boot_kernel);
	free(cr.boot_ramdisk);
	free(cr.boot_cmdline);
	xk_xlcfg_free(&cr.cfg);
	free(text);
	free(extra);
	return rc;
}
