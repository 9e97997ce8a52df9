/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `xenkvm console NAME|PID|PTY`: this terminal on a running guest's pty
 * console (the launcher runs with --console pty), raw, until Ctrl-] or the
 * guest goes away; and `xenkvm list`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include "xenkvm.h"
#include "runtime.h"

#define ESCAPE_CHAR 0x1d /* Ctrl-] */

static volatile sig_atomic_t got_signal;
static struct termios saved_tio;
static bool tio_saved;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void restore_terminal(void)
{
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tio_saved = false;
	}
}

/* NAME or PID -> the guest's pty; 0, or -1 after a one-line error. */
static int resolve(const char *target, char *pty, size_t len, char *label, size_t label_len)
{
	struct xk_run_info g;

	if (xk_runtime_find("console", target, &g))
		return -1;
	if (strcmp(g.console, "pty") || !g.pty[0]) {
		xk_err("console: guest %s (pid %ld) has no pty console (it runs with --console %s; "
		       "start it with --console pty)",
		       g.name, g.pid, g.console);
		return -1;
	}
	snprintf(pty, len, "%s", g.pty);
	snprintf(label, label_len, "%s", g.name);
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR && !got_signal)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void console_usage(FILE *f)
{
	fputs("Usage: xenkvm console NAME|PID|PTY\n"
	      "Attach this terminal to the console of a guest running with --console pty\n"
	      "or started by xenkvm create (found by its name, its launcher's pid, or the\n"
	      "pty's path).  Ctrl-] detaches; the guest keeps running.  Exit status: 0\n"
	      "detached or the guest shut down, 1 error (no such guest, no pty console,\n"
	      "already attached).\n",
	      f);
}

int xk_cmd_console(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			console_usage(stdout);
			return 0;
		}
		console_usage(stderr);
		return XK_EXIT_ERROR;
	}
	if (argc - optind != 1) {
		console_usage(stderr);
		return XK_EXIT_ERROR;
	}
	return xk_console_attach(argv[optind], NULL);
}

int xk_console_attach(const char *target, bool *gone)
{
	char pty[256], label[XK_NAME_MAX + 1];

	if (gone)
		*gone = false;
	if (target[0] == '/') {
		snprintf(pty, sizeof(pty), "%s", target);
		snprintf(label, sizeof(label), "%s", target);
	} else if (resolve(target, pty, sizeof(pty), label, sizeof(label))) {
		return XK_EXIT_ERROR;
	}

	int fd = open(pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		xk_err("console: %s: %s", pty, strerror(errno));
		return XK_EXIT_ERROR;
	}
	if (!isatty(fd)) {
		xk_err("console: %s is not a terminal", pty);
		close(fd);
		return XK_EXIT_ERROR;
	}
	/* One attached console at a time (readers would split the output). */
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		xk_err("console: %s is already attached (another 'xenkvm console')", label);
		close(fd);
		return XK_EXIT_ERROR;
	}
	struct termios t;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fprintf(stderr, "xenkvm: attached to %s (%s); Ctrl-] detaches\n", label, pty);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		/* Raw: Ctrl-C, Ctrl-Z, ... go to the guest. */
		struct termios raw = saved_tio;
		cfmakeraw(&raw);
		tio_saved = true;
		atexit(restore_terminal);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	}

	char buf[4096];
	bool in_open = true;
	const char *why = NULL;
	while (!got_signal && !why) {
		struct pollfd p[2] = {
		    {.fd = fd, .events = POLLIN},
		    {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			why = "poll failed";
			break;
		}
		if (p[0].revents) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n > 0) {
				if (write_all(STDOUT_FILENO, buf, (size_t)n))
					why = "cannot write the output";
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				why = "the guest's console closed (the guest is gone)";
			}
		}
		if (!why && p[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0) {
				char *esc = memchr(buf, ESCAPE_CHAR, (size_t)n);
				size_t len = esc ? (size_t)(esc - buf) : (size_t)n;
				if (len && write_all(fd, buf, len))
					why = "the guest's console closed (the guest is gone)";
				if (esc)
					break; /* detached */
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				break; /* end of input: detach */
			}
		}
	}
	restore_terminal();
	close(fd);
	if (why) {
		fprintf(stderr, "\r\nxenkvm: %s\n", why);
		if (gone)
			*gone = strstr(why, "gone") != NULL;
		return strstr(why, "gone") ? 0 : XK_EXIT_ERROR;
	}
	if (got_signal)
		fprintf(stderr, "\r\nxenkvm: detached from %s (signal %d)\n", label,
			(int)got_signal);
	else
		fprintf(stderr, "\r\nxenkvm: detached from %s; the guest keeps running\n", label);
	return 0;
}

int xk_cmd_list(int argc, char **argv)
{
	struct xk_run_info *v;
	size_t n;

	if (argc > 1) {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			puts("Usage: xenkvm list\nRunning guests: name, launcher pid, console.");
			return 0;
		}
		xk_err("list: unexpected argument '%s'", argv[1]);
		return XK_EXIT_ERROR;
	}
	if (xk_runtime_list(&v, &n)) {
		xk_err("out of memory");
		return XK_EXIT_ERROR;
	}
	printf("%-24s %8s  %s\n", "NAME", "PID", "CONSOLE");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %8ld  %s\n", v[i].name, v[i].pid,
		       v[i].pty[0] ? v[i].pty : v[i].console);
	free(v);
	return 0;
}
