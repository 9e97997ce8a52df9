/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Console backend: the xencons ring (xen/io/console.h) of a domU, as
 * xenconsoled serves it.  Indices are read once, checked, and only then is
 * data copied (the guest may scribble on the page at any time).
 *
 * Output goes to a log file (every byte, written as it arrives) and to one
 * terminal: stdio, a pty, or nowhere.  The ring is always drained at once:
 * Linux's hvc_xen spins (yielding) while out[] is full, so a backend that
 * stopped reading would hang the guest's printk.  A pty nobody reads
 * therefore gets a bounded backlog instead: output waits there while no one
 * has the pty open or the reader is slow, the oldest bytes are dropped when
 * it is full, and what is left is replayed to whoever attaches.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <event2/event.h>
#include <xen/xen.h>
#include <xen/io/console.h>

#include "backend.h"

#define OUT_SIZE sizeof(((struct xencons_interface *)0)->out)
#define IN_SIZE	 sizeof(((struct xencons_interface *)0)->in)

/* How often a pty nobody has open is checked for a reader. */
#define PTY_POLL_MS 100

struct xk_console {
	struct xencons_interface *ring;
	uint32_t port;
	struct xk_evtchn_ops ev;
	enum xk_console_mode mode;
	bool verbose;
	unsigned char escape;
	void (*on_escape)(void *opaque);
	void *escape_opaque;
	int in_fd, out_fd; /* pty mode: both the master */
	int log_fd;
	struct event *in_ev;
	bool in_eof;
	bool broken; /* guest corrupted the ring: stop serving it */
	char pending_in[IN_SIZE];
	size_t pending_len;

	/* Guards the output side: log and terminal writes, the backlog. */
	pthread_mutex_t lock;

	/* pty mode (the fields below the lock are the event loop's own) */
	char pty_path[64];
	bool connected; /* someone has the pty's slave open */
	struct event *out_ev, *poll_ev, *wake_ev;
	int wake_fd; /* another thread queued output */
	char *backlog;
	size_t bl_cap, bl_head, bl_len;
	uint64_t dropped;
};

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* output closed: drop, never block the guest */
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* ---- the pty's backlog (lock held) ---- */

static void backlog_push(struct xk_console *c, const char *buf, size_t n)
{
	if (n >= c->bl_cap) {
		c->dropped += c->bl_len + (n - c->bl_cap);
		buf += n - c->bl_cap;
		n = c->bl_cap;
		c->bl_head = c->bl_len = 0;
	} else if (c->bl_len + n > c->bl_cap) {
		size_t drop = c->bl_len + n - c->bl_cap;
		c->bl_head = (c->bl_head + drop) % c->bl_cap;
		c->bl_len -= drop;
		c->dropped += drop;
	}
	size_t tail = (c->bl_head + c->bl_len) % c->bl_cap;
	size_t first = c->bl_cap - tail < n ? c->bl_cap - tail : n;
	memcpy(c->backlog + tail, buf, first);
	memcpy(c->backlog, buf + first, n - first);
	c->bl_len += n;
}

static void pty_hangup(struct xk_console *c)
{
	struct timeval tv = {0, PTY_POLL_MS * 1000};

	c->connected = false;
	event_del(c->in_ev);
	event_del(c->out_ev);
	event_add(c->poll_ev, &tv);
}

/* Write the backlog to the pty without blocking; the rest waits for
 * EV_WRITE (a slow reader) or for a reader (nobody attached). */
static void pty_flush(struct xk_console *c)
{
	while (c->bl_len && c->connected) {
		size_t chunk =
		    c->bl_cap - c->bl_head < c->bl_len ? c->bl_cap - c->bl_head : c->bl_len;
		ssize_t n = write(c->out_fd, c->backlog + c->bl_head, chunk);
		if (n > 0) {
			c->bl_head = (c->bl_head + (size_t)n) % c->bl_cap;
			c->bl_len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			event_add(c->out_ev, NULL);
			return;
		}
		pty_hangup(c); /* EIO: the last reader closed the pty */
		return;
	}
}

/* True if some process has the pty's slave side open. */
static bool pty_has_reader(struct xk_console *c)
{
	struct pollfd p = {.fd = c->out_fd, .events = POLLOUT};

	return poll(&p, 1, 0) == 1 && !(p.revents & POLLHUP);
}

static void on_pty_poll(evutil_socket_t fd, short what, void *arg)
{
	struct xk_console *c = arg;

	if (!pty_has_reader(c))
		return; /* EV_PERSIST timer: look again later */
	pthread_mutex_lock(&c->lock);
	event_del(c->poll_ev);
	c->connected = true;
	if (!c->in_eof && c->pending_len < IN_SIZE)
		event_add(c->in_ev, NULL);
	pty_flush(c);
	pthread_mutex_unlock(&c->lock);
}

static void on_pty_writable(evutil_socket_t fd, short what, void *arg)
{
	struct xk_console *c = arg;

	pthread_mutex_lock(&c->lock);
	pty_flush(c);
	pthread_mutex_unlock(&c->lock);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct xk_console *c = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	on_pty_writable(-1, 0, c);
}

/* Every byte the guest prints comes through here (lock held). */
static void sink(struct xk_console *c, const char *buf, size_t n)
{
	if (c->log_fd >= 0)
		write_all(c->log_fd, buf, n);
	switch (c->mode) {
	case XK_CONSOLE_STDIO:
		write_all(c->out_fd, buf, n);
		break;
	case XK_CONSOLE_PTY:
		backlog_push(c, buf, n);
		break;
	case XK_CONSOLE_NONE:
		break;
	}
}

void xk_console_write(struct xk_console *c, const char *buf, size_t len)
{
	if (!c) {
		write_all(STDOUT_FILENO, buf, len);
		return;
	}
	pthread_mutex_lock(&c->lock);
	sink(c, buf, len);
	pthread_mutex_unlock(&c->lock);
	if (c->mode == XK_CONSOLE_PTY) {
		/* Not the event loop's thread: it writes the pty. */
		uint64_t one = 1;
		if (write(c->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			perror("xenkvm: console eventfd");
	}
}

/* ---- the ring ---- */

static bool drain_out(struct xk_console *c)
{
	struct xencons_interface *r = c->ring;
	XENCONS_RING_IDX cons = __atomic_load_n(&r->out_cons, __ATOMIC_RELAXED);
	XENCONS_RING_IDX prod = __atomic_load_n(&r->out_prod, __ATOMIC_ACQUIRE);
	char buf[OUT_SIZE];

	if ((XENCONS_RING_IDX)(prod - cons) > OUT_SIZE) {
		c->broken = true; /* impossible indices: a hostile or broken guest */
		return false;
	}
	size_t n = 0;
	while (cons != prod)
		buf[n++] = r->out[MASK_XENCONS_IDX(cons++, r->out)];
	if (!n)
		return false;
	__atomic_store_n(&r->out_cons, cons, __ATOMIC_RELEASE);
	pthread_mutex_lock(&c->lock);
	sink(c, buf, n);
	if (c->mode == XK_CONSOLE_PTY)
		pty_flush(c);
	pthread_mutex_unlock(&c->lock);
	return true;
}

static bool fill_in(struct xk_console *c)
{
	struct xencons_interface *r = c->ring;
	XENCONS_RING_IDX cons = __atomic_load_n(&r->in_cons, __ATOMIC_ACQUIRE);
	XENCONS_RING_IDX prod = __atomic_load_n(&r->in_prod, __ATOMIC_RELAXED);
	size_t used = (XENCONS_RING_IDX)(prod - cons), i = 0;

	if (used > IN_SIZE) {
		c->broken = true;
		return false;
	}
	while (i < c->pending_len && used < IN_SIZE) {
		r->in[MASK_XENCONS_IDX(prod++, r->in)] = c->pending_in[i++];
		used++;
	}
	if (!i)
		return false;
	memmove(c->pending_in, c->pending_in + i, c->pending_len - i);
	c->pending_len -= i;
	__atomic_store_n(&r->in_prod, prod, __ATOMIC_RELEASE);
	return true;
}

static void on_input(evutil_socket_t fd, short what, void *arg)
{
	struct xk_console *c = arg;
	ssize_t n = read(fd, c->pending_in + c->pending_len, IN_SIZE - c->pending_len);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (c->mode == XK_CONSOLE_PTY) {
			/* EIO: the last reader closed the pty; wait for the next */
			pthread_mutex_lock(&c->lock);
			pty_hangup(c);
			pthread_mutex_unlock(&c->lock);
			return;
		}
		c->in_eof = true; /* EOF: no more input */
		event_del(c->in_ev);
		return;
	}
	if (c->escape && c->on_escape) {
		char *e = memchr(c->pending_in + c->pending_len, c->escape, (size_t)n);
		if (e) {
			n = e - (c->pending_in + c->pending_len);
			c->on_escape(c->escape_opaque);
		}
	}
	c->pending_len += (size_t)n;
	if (c->pending_len == IN_SIZE)
		event_del(c->in_ev); /* resumed by xk_console_kick() */
	if (!c->broken && fill_in(c))
		c->ev.notify(c->ev.opaque, c->port);
}

void xk_console_kick(struct xk_console *c)
{
	bool notify = false;

	if (c->broken)
		return;
	notify |= drain_out(c);
	notify |= fill_in(c);
	if (c->in_ev && !c->in_eof && c->pending_len < IN_SIZE &&
	    (c->mode != XK_CONSOLE_PTY || c->connected) && !event_pending(c->in_ev, EV_READ, NULL))
		event_add(c->in_ev, NULL);
	if (notify && !c->broken)
		c->ev.notify(c->ev.opaque, c->port);
}

/* ---- setup and teardown ---- */

static int open_pty(struct xk_console *c, struct event_base *base)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct termios t;

	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, c->pty_path, sizeof(c->pty_path))) {
		fprintf(stderr, "xenkvm: --console pty: cannot allocate a pty: %s\n",
			strerror(errno));
		if (m >= 0)
			close(m);
		return -1;
	}
	c->in_fd = c->out_fd = m;
	/* Raw, as a serial line: no echo of the guest's output back into its
	 * input, no CR/LF translation.  Termios set on the master applies to
	 * the slave and outlives its readers. */
	if (tcgetattr(m, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(m, TCSANOW, &t);
	}
	/* Open and close the slave once: until a slave has been closed, the
	 * master does not report POLLHUP, and that is how a reader is seen. */
	int s = open(c->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s >= 0)
		close(s);
	c->bl_cap = XK_CONSOLE_BACKLOG;
	c->backlog = malloc(c->bl_cap);
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->in_ev = event_new(base, m, EV_READ | EV_PERSIST, on_input, c);
	c->out_ev = event_new(base, m, EV_WRITE, on_pty_writable, c);
	c->poll_ev = event_new(base, -1, EV_PERSIST, on_pty_poll, c);
	c->wake_ev =
	    c->wake_fd >= 0 ? event_new(base, c->wake_fd, EV_READ | EV_PERSIST, on_wake, c) : NULL;
	if (!c->backlog || !c->in_ev || !c->out_ev || !c->poll_ev || !c->wake_ev ||
	    event_add(c->wake_ev, NULL)) {
		fprintf(stderr, "xenkvm: --console pty: out of memory\n");
		return -1;
	}
	pty_hangup(c); /* nobody attached yet */
	return 0;
}

struct xk_console *xk_console_new(struct event_base *base, struct xencons_interface *ring,
				  uint32_t port, const struct xk_evtchn_ops *ev,
				  const struct xk_console_config *cfg)
{
	struct xk_console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ring = ring;
	c->port = port;
	c->ev = *ev;
	c->mode = cfg->mode;
	c->escape = cfg->escape;
	c->on_escape = cfg->on_escape;
	c->escape_opaque = cfg->escape_opaque;
	c->verbose = cfg->verbose;
	c->in_fd = c->out_fd = c->wake_fd = -1;
	c->log_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	if (cfg->log_path) {
		c->log_fd = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (c->log_fd < 0) {
			fprintf(stderr, "xenkvm: --console-log %s: %s\n", cfg->log_path,
				strerror(errno));
			goto fail;
		}
	}
	switch (c->mode) {
	case XK_CONSOLE_STDIO:
		c->in_fd = cfg->in_fd;
		c->out_fd = cfg->out_fd;
		if (c->in_fd >= 0 && base) {
			/* Input that epoll cannot watch (/dev/null, a regular
			 * file) means no console input. */
			c->in_ev = event_new(base, c->in_fd, EV_READ | EV_PERSIST, on_input, c);
			if (c->in_ev && event_add(c->in_ev, NULL)) {
				event_free(c->in_ev);
				c->in_ev = NULL;
			}
		}
		break;
	case XK_CONSOLE_PTY:
		if (!base || open_pty(c, base))
			goto fail;
		break;
	case XK_CONSOLE_NONE:
		break;
	}
	return c;
fail:
	xk_console_free(c);
	return NULL;
}

const char *xk_console_pty(const struct xk_console *c)
{
	return c && c->mode == XK_CONSOLE_PTY && c->pty_path[0] ? c->pty_path : NULL;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms =
	    (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/*
 * The launcher is exiting: give the pty's reader what is left.  Bytes the
 * reader has not read yet are lost when the master closes (the slave is
 * hung up), so wait, up to a bound, until its input queue is empty.
 */
static void pty_final_flush(struct xk_console *c)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += XK_CONSOLE_FINAL_WAIT_S;
	if (!c->connected && pty_has_reader(c))
		c->connected = true; /* attached since the last look */
	while (c->connected && c->bl_len && ms_left(&deadline)) {
		struct pollfd p = {.fd = c->out_fd, .events = POLLOUT};
		if (poll(&p, 1, (int)ms_left(&deadline)) <= 0 || (p.revents & (POLLHUP | POLLERR)))
			break;
		size_t chunk =
		    c->bl_cap - c->bl_head < c->bl_len ? c->bl_cap - c->bl_head : c->bl_len;
		ssize_t n = write(c->out_fd, c->backlog + c->bl_head, chunk);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			break;
		if (n > 0) {
			c->bl_head = (c->bl_head + (size_t)n) % c->bl_cap;
			c->bl_len -= (size_t)n;
		}
	}
	if (!c->connected || !pty_has_reader(c))
		return;
	int s = open(c->pty_path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (s < 0)
		return;
	for (int idle = 0; idle < 2 && ms_left(&deadline);) {
		int q = 0;
		if (ioctl(s, FIONREAD, &q) || !pty_has_reader(c))
			break;
		idle = q ? 0 : idle + 1; /* twice empty: nothing left in flight */
		usleep(10000);
	}
	close(s);
}

void xk_console_free(struct xk_console *c)
{
	if (!c)
		return;
	if (!c->broken && c->ring)
		drain_out(c); /* no output lost at shutdown */
	if (c->mode == XK_CONSOLE_PTY && c->out_fd >= 0 && c->backlog) {
		pty_final_flush(c);
		if (c->verbose && (c->dropped || c->bl_len))
			fprintf(stderr,
				"xenkvm: console: %llu bytes dropped from the pty's backlog, %zu "
				"never read (the log has everything)\n",
				(unsigned long long)c->dropped, c->bl_len);
	}
	if (c->in_ev)
		event_free(c->in_ev);
	if (c->out_ev)
		event_free(c->out_ev);
	if (c->poll_ev)
		event_free(c->poll_ev);
	if (c->wake_ev)
		event_free(c->wake_ev);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (c->mode == XK_CONSOLE_PTY && c->out_fd >= 0)
		close(c->out_fd);
	if (c->log_fd >= 0)
		close(c->log_fd);
	free(c->backlog);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
