/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Images in qemu's formats (qcow2, vhd, vmdk, qcow, qed, vhdx) through a
 * qemu-nbd the launcher starts for each such disk, read with libnbd.
 *
 * The helper gets a listening unix socket the launcher made in a private
 * temporary directory (socket activation: LISTEN_FDS=1 on fd 3), so there
 * is no wait for the helper to create its socket: the launcher connects at
 * once (the connection waits in the backlog), then removes the socket and
 * the directory before the NBD handshake - nothing is left on disk even if
 * the launcher is killed.  The helper dies with the launcher
 * (PR_SET_PDEATHSIG), has its own process group (a terminal's ^C goes to
 * the launcher, which shuts the helper down in order), and exits when the
 * launcher disconnects (no --persistent): it closes the image cleanly,
 * qcow2 metadata included.  Its stderr goes to an unnamed file, read back
 * for a one-line error when the image cannot be served.
 *
 * Requests are asynchronous: submit() sends a request's NBD commands (its
 * segments, merged where the guest pages are adjacent in memory) and
 * returns; the launcher's event loop watches the socket and a request's
 * done() runs when its last command is answered, so a slow qcow2 read
 * holds up neither the other requests nor the other devices.  Without an
 * event loop a request completes inside submit().  Flush is NBD_CMD_FLUSH
 * (qemu-nbd runs with cache=writeback: it flushes the image and its host
 * file), issued by blk.c only after what it covers completed; discard is
 * NBD_CMD_TRIM when the export supports it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <event2/event.h>
#include <libnbd.h>

#include "blkio.h"

#define TRIM_CHUNK (1ULL << 30)
#define BOUNCE_MAX (2u << 20) /* a request is at most 256 pages */

struct nbd_io {
	struct xk_blkio io;
	struct nbd_handle *h;
	pid_t pid;
	int errfd; /* the helper's stderr */
	bool can_flush, can_trim;
	bool dead;		 /* the connection to the helper is gone */
	char name[32];		 /* the vdev, for messages */
	struct event *rev, *wev; /* NULL: no event loop, requests complete in submit() */
	struct nbd_slot *tab;	 /* the commands in flight, by cookie & mask */
	unsigned mask;
};

/* ---- the helper process ---- */

/* The helper's first message line (without its "qemu-nbd: " prefix). */
static void helper_message(int errfd, char *buf, size_t size)
{
	ssize_t n = pread(errfd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	char *p = buf;
	while (*p == '\n')
		p++;
	memmove(buf, p, strlen(p) + 1);
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	const char *prefix = "qemu-nbd: ";
	if (!strncmp(buf, prefix, strlen(prefix)))
		memmove(buf, buf + strlen(prefix), strlen(buf + strlen(prefix)) + 1);
	/* "Failed to blk_new_open '<our options>': <why>": keep why. */
	const char *open_prefix = "Failed to blk_new_open '";
	char *why = strstr(buf, "': ");
	if (!strncmp(buf, open_prefix, strlen(open_prefix)) && why)
		memmove(buf, why + 3, strlen(why + 3) + 1);
	if (!*buf)
		snprintf(buf, size, "qemu-nbd failed");
}

/* Wait up to ms for the helper; then SIGKILL it.  Reaped either way. */
static void reap_helper(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* "driver=FMT,file.driver=file,file.filename=PATH" with commas doubled:
 * the path is never taken as a protocol prefix or an option. */
static char *image_opts(const char *format, const char *path)
{
	size_t n = strlen(format) + 2 * strlen(path) + 64;
	char *s = malloc(n), *p;

	if (!s)
		return NULL;
	p = s + snprintf(s, n, "driver=%s,file.driver=file,file.filename=", format);
	for (const char *q = path; *q; q++) {
		if (*q == ',')
			*p++ = ',';
		*p++ = *q;
	}
	*p = 0;
	return s;
}

static void child(int lfd, int errfd, int statusfd, char **argv)
{
	int fds[3] = {lfd, errfd, statusfd};

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL); /* the launcher ignores it; exec keeps that */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Move the three fds out of the way, then to 3, 2 and 4. */
	for (int i = 0; i < 3; i++)
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 100);
	int null = open("/dev/null", O_RDONLY);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || null < 0 || dup2(null, 0) < 0 ||
	    dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0 || dup2(fds[0], 3) < 0 ||
	    dup3(fds[2], 4, O_CLOEXEC) < 0)
		_exit(126);
	close_range(5, ~0U, 0);
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	unsetenv("LISTEN_FDNAMES");
	execvp(argv[0], argv);
	int err = errno;
	if (write(4, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* Start the helper and connect to it: the connected socket, or -1 after a
 * message. */
static int start_helper(const struct xk_blkio_config *cfg, struct nbd_io *n)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX - 16], sock_path[PATH_MAX];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd = -1, cfd = -1, status[2] = {-1, -1};
	char *opts = NULL;
	const char *qemu_nbd = getenv("XENKVM_QEMU_NBD");

	if (!qemu_nbd || !*qemu_nbd)
		qemu_nbd = "qemu-nbd";
	snprintf(dir, sizeof(dir), "%s/xenkvm-nbd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr,
			"xenkvm: --disk %s: cannot make a directory for qemu-nbd's socket"
			" in %s: %s\n",
			cfg->name, tmp && *tmp ? tmp : "/tmp", strerror(errno));
		return -1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/nbd.sock", dir);
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "xenkvm: --disk %s: socket path %s is too long (set TMPDIR)\n",
			cfg->name, sock_path);
		goto fail;
	}
	strcpy(sa.sun_path, sock_path);
	n->errfd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (n->errfd < 0 || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1) || pipe2(status, O_CLOEXEC)) {
		fprintf(stderr, "xenkvm: --disk %s: cannot set up qemu-nbd's socket: %s\n",
			cfg->name, strerror(errno));
		goto fail;
	}
	opts = image_opts(cfg->format, cfg->path);
	if (!opts)
		goto fail;
	char *argv[] = {(char *)qemu_nbd,
			"--image-opts",
			"--cache=writeback",
			"--shared=1",
			cfg->readonly ? "--read-only" : "--discard=unmap",
			opts,
			NULL};
	n->pid = fork();
	if (n->pid < 0) {
		fprintf(stderr, "xenkvm: --disk %s: fork: %s\n", cfg->name, strerror(errno));
		goto fail;
	}
	if (n->pid == 0)
		child(lfd, n->errfd, status[1], argv);
	close(status[1]);
	status[1] = -1;
	close(lfd);
	lfd = -1;
	int err = 0;
	ssize_t got;
	while ((got = read(status[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	if (got > 0) {
		reap_helper(n->pid, 1000);
		n->pid = 0;
		fprintf(stderr, "xenkvm: --disk %s: cannot run %s: %s%s\n", cfg->name, qemu_nbd,
			strerror(err), err == ENOENT ? " (install qemu-utils)" : "");
		goto fail;
	}
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa))) {
		/* The helper exited before it listened: its message says why. */
		if (cfd >= 0)
			close(cfd);
		cfd = -1;
		goto fail_helper;
	}
	unlink(sock_path);
	rmdir(dir);
	close(status[0]);
	free(opts);
	return cfd;
fail_helper:
	reap_helper(n->pid, 10000);
	n->pid = 0;
	char msg[512];
	helper_message(n->errfd, msg, sizeof(msg));
	fprintf(stderr, "xenkvm: --disk %s: cannot serve %s as %s: %s\n", cfg->name, cfg->path,
		cfg->format, msg);
fail:
	if (lfd >= 0)
		close(lfd);
	if (status[0] >= 0)
		close(status[0]);
	if (status[1] >= 0)
		close(status[1]);
	free(opts);
	unlink(sock_path);
	rmdir(dir);
	return -1;
}

/* ---- I/O ---- */

/*
 * A request becomes one or more NBD commands (segments adjacent in guest
 * memory merged, trims in chunks); it is done when the last of them is.
 * Commands are found again by their libnbd cookie, through a table indexed
 * by cookie & mask: cookies count up per handle, so the in-flight ones
 * rarely collide, and a collision doubles the table.  Completions are
 * collected after libnbd ran (never from its callbacks: a request's done()
 * may submit the next one).
 */
struct nbd_pend {
	struct xk_blkio_req *r;
	unsigned left;	 /* commands not yet completed */
	int err;	 /* the first error */
	bool issuing;	 /* more commands may follow */
	uint8_t *bounce; /* the whole request in one buffer, or NULL */
};

struct nbd_slot {
	int64_t cookie; /* 0: free */
	struct nbd_pend *p;
};

static int nbd_err(void)
{
	int e = nbd_get_errno();
	return e ? -e : -EIO;
}

static void finish(struct nbd_io *n, struct nbd_pend *p)
{
	struct xk_blkio_req *r = p->r;
	int err = p->err;

	if (p->bounce && r->op == XK_BLKIO_READ && !err) {
		size_t off = 0;
		for (unsigned i = 0; i < r->niov; i++) {
			memcpy(r->iov[i].iov_base, p->bounce + off, r->iov[i].iov_len);
			off += r->iov[i].iov_len;
		}
	}
	free(p->bounce);
	free(p);
	n->io.inflight--;
	r->done(r, err);
}

static bool slot_put(struct nbd_slot *tab, unsigned mask, int64_t cookie, struct nbd_pend *p)
{
	struct nbd_slot *s = &tab[(uint64_t)cookie & mask];

	if (s->cookie)
		return false;
	*s = (struct nbd_slot){cookie, p};
	return true;
}

/* Remember cookie for p; false (nothing changed) without memory. */
static bool track(struct nbd_io *n, int64_t cookie, struct nbd_pend *p)
{
	while (!n->tab || !slot_put(n->tab, n->mask, cookie, p)) {
		unsigned size = n->tab ? 2 * (n->mask + 1) : 256;
		struct nbd_slot *t;
	again:
		t = calloc(size, sizeof(*t));
		if (!t || size > (1u << 24)) {
			free(t);
			return false;
		}
		for (unsigned i = 0; n->tab && i <= n->mask; i++)
			if (n->tab[i].cookie &&
			    !slot_put(t, size - 1, n->tab[i].cookie, n->tab[i].p)) {
				free(t);
				size *= 2;
				goto again;
			}
		free(n->tab);
		n->tab = t;
		n->mask = size - 1;
	}
	return true;
}

/* Every command retired since the last call: account it to its request. */
static void collect(struct nbd_io *n)
{
	int64_t c;

	while ((c = nbd_aio_peek_command_completed(n->h)) > 0) {
		int ok = nbd_aio_command_completed(n->h, (uint64_t)c);
		int err = ok == 1 ? 0 : nbd_err();
		struct nbd_slot *s = &n->tab[(uint64_t)c & n->mask];
		if (s->cookie != c) /* cannot happen: every cookie is tracked */
			continue;
		struct nbd_pend *p = s->p;
		*s = (struct nbd_slot){0, NULL};
		if (err && !p->err)
			p->err = err;
		if (--p->left == 0 && !p->issuing)
			finish(n, p);
	}
}

/* The connection is gone: every request in flight fails. */
static void fail_all(struct nbd_io *n)
{
	for (unsigned i = 0; n->tab && i <= n->mask; i++) {
		struct nbd_slot *s = &n->tab[i];
		if (!s->cookie)
			continue;
		struct nbd_pend *p = s->p;
		*s = (struct nbd_slot){0, NULL};
		if (!p->err)
			p->err = -EIO;
		if (--p->left == 0 && !p->issuing)
			finish(n, p);
	}
}

/* Watch for writability only while libnbd has something to send. */
static void update_events(struct nbd_io *n)
{
	if (!n->wev)
		return;
	if (nbd_aio_get_direction(n->h) & LIBNBD_AIO_DIRECTION_WRITE)
		event_add(n->wev, NULL);
	else
		event_del(n->wev);
}

static void after_notify(struct nbd_io *n, int rc)
{
	collect(n);
	if (rc < 0 || nbd_aio_is_dead(n->h) || nbd_aio_is_closed(n->h)) {
		if (!n->dead)
			fprintf(stderr, "xenkvm: --disk %s: lost qemu-nbd: %s\n", n->name,
				nbd_get_error() ? nbd_get_error() : "connection closed");
		n->dead = true;
		fail_all(n);
	}
	update_events(n);
}

static void on_nbd_read(evutil_socket_t fd, short what, void *arg)
{
	struct nbd_io *n = arg;

	after_notify(n, nbd_aio_notify_read(n->h));
}

static void on_nbd_write(evutil_socket_t fd, short what, void *arg)
{
	struct nbd_io *n = arg;

	after_notify(n, nbd_aio_notify_write(n->h));
}

/* One command of p: its cookie, or a negative errno. */
static int issue(struct nbd_io *n, struct nbd_pend *p, int64_t cookie)
{
	if (cookie < 0)
		return nbd_err();
	if (!track(n, cookie, p)) {
		/* Out of memory: wait for this command here rather than lose
		 * track of the guest pages it uses. */
		while (!nbd_aio_command_completed(n->h, (uint64_t)cookie))
			if (nbd_poll(n->h, -1) < 0)
				return nbd_err();
		return 0;
	}
	p->left++;
	return 0;
}

/* Segments that are not adjacent in memory (the usual case: blkfront's
 * pages are scattered) go through one buffer and one command: a command
 * per 4 KiB page costs a round trip to qemu-nbd each, ~8x the copy. */
static int nbd_rw_bounced(struct nbd_io *n, struct nbd_pend *p)
{
	struct xk_blkio_req *r = p->r;

	if (r->op == XK_BLKIO_WRITE) {
		size_t off = 0;
		for (unsigned i = 0; i < r->niov; i++) {
			memcpy(p->bounce + off, r->iov[i].iov_base, r->iov[i].iov_len);
			off += r->iov[i].iov_len;
		}
		return issue(
		    n, p, nbd_aio_pwrite(n->h, p->bounce, r->len, r->off, NBD_NULL_COMPLETION, 0));
	}
	return issue(n, p, nbd_aio_pread(n->h, p->bounce, r->len, r->off, NBD_NULL_COMPLETION, 0));
}

static int nbd_rw(struct nbd_io *n, struct nbd_pend *p)
{
	struct xk_blkio_req *r = p->r;
	bool write = r->op == XK_BLKIO_WRITE;
	uint64_t off = r->off;

	bool adjacent = true;
	for (unsigned i = 1; i < r->niov && adjacent; i++)
		adjacent = (uint8_t *)r->iov[i].iov_base ==
			   (uint8_t *)r->iov[i - 1].iov_base + r->iov[i - 1].iov_len;
	if (!adjacent && r->len <= BOUNCE_MAX && (p->bounce = malloc(r->len)))
		return nbd_rw_bounced(n, p);
	for (unsigned i = 0; i < r->niov;) {
		uint8_t *base = r->iov[i].iov_base;
		size_t len = r->iov[i].iov_len;
		/* Guest pages adjacent in memory go as one command. */
		for (i++;
		     i < r->niov && (uint8_t *)r->iov[i].iov_base == base + len && len < (1u << 20);
		     i++)
			len += r->iov[i].iov_len;
		int64_t c = write ? nbd_aio_pwrite(n->h, base, len, off, NBD_NULL_COMPLETION, 0)
				  : nbd_aio_pread(n->h, base, len, off, NBD_NULL_COMPLETION, 0);
		int rc = issue(n, p, c);
		if (rc)
			return rc;
		off += len;
	}
	return 0;
}

static int nbd_start(struct nbd_io *n, struct nbd_pend *p)
{
	struct xk_blkio_req *r = p->r;

	if (n->dead)
		return -EIO;
	switch (r->op) {
	case XK_BLKIO_READ:
	case XK_BLKIO_WRITE:
		return nbd_rw(n, p);
	case XK_BLKIO_FLUSH:
		/* blk.c issues a flush only once what it covers completed. */
		return n->can_flush ? issue(n, p, nbd_aio_flush(n->h, NBD_NULL_COMPLETION, 0)) : 0;
	case XK_BLKIO_DISCARD:
		if (!n->can_trim)
			return -EOPNOTSUPP;
		for (uint64_t done = 0; done < r->len;) {
			uint64_t len = r->len - done > TRIM_CHUNK ? TRIM_CHUNK : r->len - done;
			int rc = issue(
			    n, p, nbd_aio_trim(n->h, len, r->off + done, NBD_NULL_COMPLETION, 0));
			if (rc)
				return rc;
			done += len;
		}
		return 0;
	}
	return -EINVAL;
}

static void nbd_drain(struct xk_blkio *io)
{
	struct nbd_io *n = (struct nbd_io *)io;

	while (io->inflight && !n->dead) {
		int rc = nbd_poll(n->h, -1);
		after_notify(n, rc < 0 ? rc : 0);
	}
}

static void nbd_submit(struct xk_blkio *io, struct xk_blkio_req *r)
{
	struct nbd_io *n = (struct nbd_io *)io;
	struct nbd_pend *p = calloc(1, sizeof(*p));

	if (!p) {
		r->done(r, -ENOMEM);
		return;
	}
	p->r = r;
	p->issuing = true;
	io->inflight++;
	int rc = nbd_start(n, p);
	if (rc && !p->err)
		p->err = rc;
	p->issuing = false;
	if (!p->left) {
		finish(n, p);
		return;
	}
	/* Without an event loop (unit tests, tools): complete it here. */
	if (!n->rev)
		nbd_drain(io);
	else
		update_events(n);
}

static void nbd_io_close(struct xk_blkio *io)
{
	struct nbd_io *n = (struct nbd_io *)io;

	if (n->h) {
		nbd_drain(io);
		/* NBD_CMD_DISC: the helper closes the image and exits. */
		nbd_shutdown(n->h, 0);
		nbd_close(n->h);
	}
	if (n->rev)
		event_free(n->rev);
	if (n->wev)
		event_free(n->wev);
	if (n->pid > 0)
		reap_helper(n->pid, 30000);
	if (n->errfd >= 0)
		close(n->errfd);
	free(n->tab);
	free(n);
}

static const struct xk_blkio_ops nbd_ops = {
    .submit = nbd_submit,
    .drain = nbd_drain,
    .close = nbd_io_close,
};

/* Completions through the launcher's event loop. */
static int watch(struct nbd_io *n, struct event_base *base)
{
	int fd = nbd_aio_get_fd(n->h);

	if (fd < 0)
		return -1;
	n->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_nbd_read, n);
	n->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_nbd_write, n);
	if (!n->rev || !n->wev || event_add(n->rev, NULL))
		return -1;
	return 0;
}

struct xk_blkio *xk_blkio_nbd_open(const struct xk_blkio_config *cfg)
{
	struct nbd_io *n = calloc(1, sizeof(*n));

	if (!n) {
		fprintf(stderr, "xenkvm: out of memory\n");
		return NULL;
	}
	n->errfd = -1;
	snprintf(n->name, sizeof(n->name), "%s", cfg->name);
	n->io.ops = &nbd_ops;
	n->io.kind = "nbd";
	/* qemu-nbd opens the image itself: check it first for a clear
	 * message (and no helper) when it is missing or not writable. */
	if (access(cfg->path, cfg->readonly ? R_OK : R_OK | W_OK)) {
		fprintf(stderr, "xenkvm: --disk %s: cannot open %s%s: %s\n", cfg->name, cfg->path,
			cfg->readonly ? "" : " for writing", strerror(errno));
		free(n);
		return NULL;
	}
	int sock = start_helper(cfg, n);
	if (sock < 0) {
		nbd_io_close(&n->io);
		return NULL;
	}
	n->h = nbd_create();
	if (!n->h) {
		close(sock);
		fprintf(stderr, "xenkvm: --disk %s: libnbd: %s\n", cfg->name, nbd_get_error());
		goto fail;
	}
	/* The handle owns sock from here on. */
	if (nbd_connect_socket(n->h, sock)) {
		char msg[512];
		nbd_close(n->h);
		n->h = NULL;
		reap_helper(n->pid, 10000);
		n->pid = 0;
		helper_message(n->errfd, msg, sizeof(msg));
		fprintf(stderr, "xenkvm: --disk %s: cannot serve %s as %s: %s\n", cfg->name,
			cfg->path, cfg->format, msg);
		goto fail;
	}
	int64_t size = nbd_get_size(n->h);
	if (size < 0) {
		fprintf(stderr, "xenkvm: --disk %s: NBD export size: %s\n", cfg->name,
			nbd_get_error());
		goto fail;
	}
	n->io.size = (uint64_t)size;
	n->io.readonly = cfg->readonly;
	if (!cfg->readonly && nbd_is_read_only(n->h) == 1) {
		fprintf(stderr, "xenkvm: --disk %s: qemu-nbd exports %s read-only\n", cfg->name,
			cfg->path);
		goto fail;
	}
	n->can_flush = nbd_can_flush(n->h) == 1;
	n->can_trim = !cfg->readonly && nbd_can_trim(n->h) == 1;
	n->io.can_discard = n->can_trim;
	if (cfg->base && watch(n, cfg->base)) {
		fprintf(stderr, "xenkvm: --disk %s: cannot watch qemu-nbd's socket\n", cfg->name);
		goto fail;
	}
	if (cfg->verbose)
		fprintf(stderr,
			"xenkvm: --disk %s: %s served by qemu-nbd (pid %d) as %s, %lld bytes%s%s\n",
			cfg->name, cfg->path, (int)n->pid, cfg->format, (long long)size,
			n->can_flush ? ", flush" : "", n->can_trim ? ", trim" : "");
	return &n->io;
fail:
	nbd_io_close(&n->io);
	return NULL;
}
