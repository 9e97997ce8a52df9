/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: a unix socket per running launcher, <pid>.sock next
 * to its run file, served on the launcher's event loop, for hot-plug
 * (xenkvm block-attach and friends, control.h).
 *
 * Protocol: the client sends one line "COMMAND [ARGUMENT]\n" (at most
 * XK_CONTROL_LINE_MAX bytes, printable ASCII); the launcher answers with
 * "OK\n" or "ERR\n" followed by free text (the error, or a listing) and
 * closes the connection.  Commands:
 *   block-attach SPEC       network-attach SPEC
 *   block-detach [-f] VDEV  network-detach [-f] DEVID|MAC
 *   block-list              network-list
 * A detach waits (up to XK_DETACH_TIMEOUT_S) for the guest to close the
 * device; -f removes it without waiting, as xl's -f does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "xenkvm.h"
#include "devices.h"
#include "runtime.h"
#include "control.h"

#define XK_CONTROL_LINE_MAX 1024
#define XK_CONTROL_CLIENTS  16
#define XK_DETACH_TIMEOUT_S 10
#define XK_REPLY_MAX	    8192

struct client {
	struct xk_control *ctl;
	int fd;
	struct event *ev;    /* readable */
	struct event *timer; /* idle limit, then detach polling */
	char buf[XK_CONTROL_LINE_MAX + 1];
	size_t len;
	/* a detach waiting for the guest */
	bool waiting;
	const char *kind;
	uint32_t devid;
	struct timespec deadline;
};

struct xk_control {
	struct event_base *base;
	struct xk_devices *devices;
	int fd;
	struct event *ev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client *clients[XK_CONTROL_CLIENTS];
};

static void client_free(struct client *c)
{
	struct xk_control *ctl = c->ctl;

	for (int i = 0; i < XK_CONTROL_CLIENTS; i++)
		if (ctl->clients[i] == c)
			ctl->clients[i] = NULL;
	if (c->ev)
		event_free(c->ev);
	if (c->timer)
		event_free(c->timer);
	close(c->fd);
	free(c);
}

/* Best effort: a client that does not read its answer loses it. */
static void reply(struct client *c, bool ok, const char *text)
{
	char out[XK_REPLY_MAX + 8];
	int n = snprintf(out, sizeof(out), "%s\n%s", ok ? "OK" : "ERR", text ? text : "");
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(out) ? sizeof(out) - 1 : (size_t)n;
	size_t off = 0;

	while (off < len) {
		ssize_t w = send(c->fd, out + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w <= 0) {
			struct pollfd p = {.fd = c->fd, .events = POLLOUT};
			if (w < 0 && errno == EAGAIN && poll(&p, 1, 1000) == 1)
				continue;
			break;
		}
		off += (size_t)w;
	}
	client_free(c);
}

/* fn's one-line errors (the device code prints them on stderr) for the
 * client, and still on the launcher's stderr too. */
static int capture(char *msg, size_t len, int (*fn)(void *), void *arg)
{
	int rc = xk_capture_stderr(msg, len, fn, arg);

	fputs(msg, stderr);
	return rc;
}

struct op {
	struct xk_control *ctl;
	const char *kind;
	const char *arg;
	uint32_t devid;
};

static int op_attach(void *p)
{
	struct op *o = p;
	return xk_devices_attach(o->ctl->devices, o->kind, o->arg);
}

static int op_detach(void *p)
{
	struct op *o = p;
	return xk_devices_detach_start(o->ctl->devices, o->kind, o->arg, &o->devid);
}

static int op_shutdown(void *p)
{
	struct op *o = p;
	return xk_devices_request_shutdown(o->ctl->devices, o->arg);
}

static double until(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(t->tv_sec - now.tv_sec) + (double)(t->tv_nsec - now.tv_nsec) / 1e9;
}

static void on_client_timer(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	char msg[256];

	if (!c->waiting) {
		reply(c, false, "no complete command line in time\n");
		return;
	}
	if (!xk_devices_present(c->ctl->devices, c->kind, c->devid)) {
		reply(c, true, NULL);
		return;
	}
	if (until(&c->deadline) <= 0) {
		snprintf(msg, sizeof(msg),
			 "the guest did not release %s %u within %d s (in use, e.g. mounted?); "
			 "it stays in Closing: retry, or force with -f\n",
			 c->kind, c->devid, XK_DETACH_TIMEOUT_S);
		xk_err("detach: %s", msg);
		reply(c, false, msg);
		return;
	}
	struct timeval tv = {0, 100000};
	evtimer_add(c->timer, &tv);
}

static void run_command(struct client *c, char *line)
{
	struct xk_control *ctl = c->ctl;
	char msg[XK_REPLY_MAX];
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = 0;
	if (!strcmp(line, "shutdown")) {
		if (!arg || (strcmp(arg, "poweroff") && strcmp(arg, "reboot"))) {
			reply(c, false, "shutdown needs poweroff or reboot\n");
			return;
		}
		struct op so = {.ctl = ctl, .arg = arg};
		int rc = capture(msg, sizeof(msg), op_shutdown, &so);
		reply(c, rc == 0, msg);
		return;
	}
	if (!strcmp(line, "destroy")) {
		if (arg) {
			reply(c, false, "destroy takes no argument\n");
			return;
		}
		reply(c, true, NULL);
		xk_err("destroyed (xenkvm destroy)");
		xk_devices_destroy(ctl->devices);
		return;
	}
	bool blk = !strncmp(line, "block-", 6), net = !strncmp(line, "network-", 8);
	const char *verb = blk ? line + 6 : net ? line + 8 : "";
	struct op o = {.ctl = ctl, .kind = blk ? "vbd" : "vif", .arg = arg};

	if (!strcmp(verb, "list")) {
		if (arg) {
			reply(c, false, "list takes no argument\n");
			return;
		}
		FILE *f = fmemopen(msg, sizeof(msg), "w");
		if (!f) {
			reply(c, false, "out of memory\n");
			return;
		}
		xk_devices_list(ctl->devices, o.kind, f);
		fputc(0, f);
		fclose(f);
		msg[sizeof(msg) - 1] = 0;
		reply(c, true, msg);
	} else if (!strcmp(verb, "attach")) {
		if (!arg || !*arg) {
			reply(c, false, "attach needs a spec\n");
			return;
		}
		int rc = capture(msg, sizeof(msg), op_attach, &o);
		reply(c, rc == 0, msg);
	} else if (!strcmp(verb, "detach")) {
		bool force = arg && !strncmp(arg, "-f ", 3);
		if (force)
			o.arg = arg + 3;
		if (!o.arg || !*o.arg || strchr(o.arg, ' ')) {
			reply(c, false, "detach needs one device\n");
			return;
		}
		if (capture(msg, sizeof(msg), op_detach, &o)) {
			reply(c, false, msg);
			return;
		}
		if (force)
			xk_devices_remove_now(ctl->devices, o.kind, o.devid);
		c->waiting = true;
		c->kind = o.kind;
		c->devid = o.devid;
		clock_gettime(CLOCK_MONOTONIC, &c->deadline);
		c->deadline.tv_sec += XK_DETACH_TIMEOUT_S;
		evtimer_del(c->timer);
		on_client_timer(-1, 0, c);
	} else {
		snprintf(msg, sizeof(msg), "unknown command '%.64s'\n", line);
		reply(c, false, msg);
	}
}

static void on_client(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	if (c->waiting) {
		/* Only EOF is expected now: a client gone does not stop the
		 * removal, it just hears nothing. */
		char b[64];
		ssize_t n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			client_free(c);
		return;
	}
	ssize_t n = recv(c->fd, c->buf + c->len, XK_CONTROL_LINE_MAX - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	c->len += (size_t)n;
	char *nl = memchr(c->buf, '\n', c->len);
	if (!nl) {
		if (c->len == XK_CONTROL_LINE_MAX)
			reply(c, false, "command line too long\n");
		return;
	}
	*nl = 0;
	for (char *p = c->buf; p < nl; p++)
		if (*p < 0x20 || *p > 0x7e) {
			reply(c, false, "command contains a control or non-ASCII character\n");
			return;
		}
	/* No pipelining: one command per connection. */
	event_del(c->ev);
	event_assign(c->ev, c->ctl->base, c->fd, EV_READ | EV_PERSIST, on_client, c);
	run_command(c, c->buf);
	/* c may be gone now; when waiting, watch for the client leaving. */
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct xk_control *ctl = arg;
	int cfd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int slot = -1;

	if (cfd < 0)
		return;
	for (int i = 0; i < XK_CONTROL_CLIENTS && slot < 0; i++)
		if (!ctl->clients[i])
			slot = i;
	struct client *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		static const char busy[] = "ERR\ntoo many control connections\n";
		if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing to do */
		}
		close(cfd);
		return;
	}
	c->ctl = ctl;
	c->fd = cfd;
	c->ev = event_new(ctl->base, cfd, EV_READ | EV_PERSIST, on_client, c);
	c->timer = evtimer_new(ctl->base, on_client_timer, c);
	struct timeval idle = {5, 0};
	if (!c->ev || !c->timer || event_add(c->ev, NULL) || evtimer_add(c->timer, &idle)) {
		ctl->clients[slot] = c;
		client_free(c);
		return;
	}
	ctl->clients[slot] = c;
}

struct xk_control *xk_control_new(struct event_base *base, struct xk_devices *devices)
{
	char dir[256];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xk_control *ctl;

	if (xk_runtime_dir(dir, sizeof(dir), true))
		return NULL;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return NULL;
	ctl->base = base;
	ctl->devices = devices;
	int n = snprintf(ctl->path, sizeof(ctl->path), "%s/%ld.sock", dir, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(ctl->path)) {
		xk_err("warning: run directory %s too long for a control socket: no hot-plug", dir);
		free(ctl);
		return NULL;
	}
	memcpy(sa.sun_path, ctl->path, (size_t)n + 1);
	unlink(ctl->path); /* a stale one of a dead launcher with our pid */
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);
	int rc = ctl->fd < 0 ? -1 : bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || chmod(ctl->path, 0600) || listen(ctl->fd, 8)) {
		xk_err("warning: cannot serve a control socket at %s: %s (no hot-plug)", ctl->path,
		       strerror(errno));
		goto fail;
	}
	ctl->ev = event_new(base, ctl->fd, EV_READ | EV_PERSIST, on_accept, ctl);
	if (!ctl->ev || event_add(ctl->ev, NULL))
		goto fail;
	return ctl;
fail:
	if (ctl->fd >= 0) {
		close(ctl->fd);
		unlink(ctl->path);
	}
	free(ctl);
	return NULL;
}

const char *xk_control_path(const struct xk_control *ctl)
{
	return ctl ? ctl->path : NULL;
}

void xk_control_free(struct xk_control *ctl)
{
	if (!ctl)
		return;
	for (int i = 0; i < XK_CONTROL_CLIENTS; i++)
		if (ctl->clients[i])
			client_free(ctl->clients[i]);
	if (ctl->ev)
		event_free(ctl->ev);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl);
}

/* ---- the client: xenkvm block-attach and friends ---- */

static void hotplug_usage(FILE *f)
{
	fputs("xenkvm block-attach NAME|PID DISKSPEC     add a disk to a running guest\n"
	      "xenkvm block-detach [-f] NAME|PID VDEV    remove it (waits for the guest)\n"
	      "xenkvm block-list NAME|PID\n"
	      "xenkvm network-attach NAME|PID VIFSPEC    add a network interface\n"
	      "xenkvm network-detach [-f] NAME|PID DEVID|MAC\n"
	      "xenkvm network-list NAME|PID\n",
	      f);
}

static int call(const char *cmd, const char *target, const char *line, long *pid);

/* NAME or PID -> its control socket; 0, or -1 after a one-line error. */
static int resolve(const char *cmd, const char *target, char *path, size_t len, long *pid)
{
	struct xk_run_info g;

	if (xk_runtime_find(cmd, target, &g))
		return -1;
	if (pid)
		*pid = g.pid;
	if (!g.control[0]) {
		xk_err("%s: guest %s (pid %ld) has no control socket", cmd, g.name, g.pid);
		return -1;
	}
	snprintf(path, len, "%s", g.control);
	return 0;
}

int xk_cmd_hotplug(int argc, char **argv)
{
	const char *cmd = argv[0];
	bool list = strstr(cmd, "-list") != NULL, detach = strstr(cmd, "-detach") != NULL;
	bool force = false;
	int want = list ? 1 : 2;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			hotplug_usage(stdout);
			return 0;
		}
		if (detach && (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))) {
			force = true;
			continue;
		}
		xk_err("%s: unknown option '%s'", cmd, argv[i]);
		hotplug_usage(stderr);
		return XK_EXIT_ERROR;
	}
	if (argc - i != want) {
		xk_err("%s: expected %s", cmd, list ? "NAME|PID" : "NAME|PID and one argument");
		hotplug_usage(stderr);
		return XK_EXIT_ERROR;
	}
	const char *arg = list ? NULL : argv[i + 1];
	if (arg && (strlen(arg) > XK_CONTROL_LINE_MAX - 64 || strchr(arg, '\n') || !*arg)) {
		xk_err("%s: the argument is empty, too long or has a newline", cmd);
		return XK_EXIT_ERROR;
	}

	char line[XK_CONTROL_LINE_MAX + 64];
	int n = snprintf(line, sizeof(line), "%s%s%s%s\n", cmd, arg ? " " : "", force ? "-f " : "",
			 arg ? arg : "");
	if (n < 0 || (size_t)n >= sizeof(line)) {
		xk_err("%s: the argument is too long", cmd);
		return XK_EXIT_ERROR;
	}
	return call(cmd, argv[i], line, NULL);
}

/*
 * Send line to the launcher of target; its answer's text goes to stdout
 * (OK) or stderr (ERR).  XK_EXIT_ERROR or 0; *pid, if given, is the
 * launcher's.
 */
static int call(const char *cmd, const char *target, const char *line, long *pid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (resolve(cmd, target, sa.sun_path, sizeof(sa.sun_path), pid))
		return XK_EXIT_ERROR;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		xk_err("%s: cannot connect to %s: %s", cmd, sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return XK_EXIT_ERROR;
	}
	ssize_t n = (ssize_t)strlen(line);
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		xk_err("%s: cannot send the command: %s", cmd, strerror(errno));
		close(fd);
		return XK_EXIT_ERROR;
	}
	struct timeval tv = {XK_DETACH_TIMEOUT_S + 20, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char ans[XK_REPLY_MAX + 16];
	size_t got = 0;
	for (;;) {
		ssize_t r = recv(fd, ans + got, sizeof(ans) - 1 - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(ans) - 1)
			break;
	}
	close(fd);
	ans[got] = 0;
	if (!strncmp(ans, "OK\n", 3)) {
		fputs(ans + 3, stdout);
		return 0;
	}
	if (!strncmp(ans, "ERR\n", 4)) {
		const char *t = ans + 4;
		/* Messages from the device code already say "xenkvm: ". */
		if (strncmp(t, "xenkvm: ", 8))
			fprintf(stderr, "xenkvm: %s: ", cmd);
		fputs(*t ? t : "failed\n", stderr);
		return XK_EXIT_ERROR;
	}
	xk_err("%s: no answer from the launcher (it exited?)", cmd);
	return XK_EXIT_ERROR;
}

/* ---- xenkvm shutdown, reboot, destroy ---- */

static void domctl_usage(FILE *f)
{
	fputs("xenkvm shutdown [-w] NAME|PID   ask the guest to power off (control/shutdown,\n"
	      "                                as xl shutdown); -w: wait until it is gone\n"
	      "xenkvm reboot [-w] NAME|PID     ask the guest to reboot; -w: wait until this\n"
	      "                                boot is over\n"
	      "xenkvm destroy NAME|PID         stop the guest at once (as xl destroy)\n",
	      f);
}

int xk_cmd_domctl(int argc, char **argv)
{
	const char *cmd = argv[0];
	bool destroy = !strcmp(cmd, "destroy"), wait = false;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			domctl_usage(stdout);
			return 0;
		}
		if (!destroy && (!strcmp(argv[i], "-w") || !strcmp(argv[i], "--wait"))) {
			wait = true;
			continue;
		}
		xk_err("%s: unknown option '%s'", cmd, argv[i]);
		domctl_usage(stderr);
		return XK_EXIT_ERROR;
	}
	if (argc - i != 1) {
		xk_err("%s: expected NAME|PID", cmd);
		domctl_usage(stderr);
		return XK_EXIT_ERROR;
	}
	const char *line = "shutdown poweroff\n";
	if (destroy)
		line = "destroy\n";
	else if (!strcmp(cmd, "reboot"))
		line = "shutdown reboot\n";
	long pid = 0;
	int rc = call(cmd, argv[i], line, &pid);
	/* The guest is gone when its launcher is (a restarted guest has a new
	 * launcher process). */
	if (rc == 0 && (wait || destroy))
		while (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			usleep(50000);
	return rc;
}
