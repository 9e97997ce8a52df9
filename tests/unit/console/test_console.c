/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The console backend (backends/console.c) against a ring in memory and a
 * fake event channel: stdio through pipes, the log, hostile indices, the
 * last drain at free, and pty mode (backlog while nobody reads, drop-oldest,
 * replay on attach, the attached reader gets the last output at exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <event2/event.h>
#include <xen/xen.h>
#include <xen/io/console.h>

#include "backend.h"

static unsigned notified;

static void fake_notify(void *opaque, uint32_t port)
{
	notified++;
}

static const struct xk_evtchn_ops ev_ops = {fake_notify, NULL, NULL, NULL};

/* The guest side: put bytes in out[] as hvc_xen does. */
static size_t guest_write(struct xencons_interface *r, const char *buf, size_t len)
{
	size_t n = 0;

	while (n < len && r->out_prod - r->out_cons < sizeof(r->out))
		r->out[MASK_XENCONS_IDX(r->out_prod++, r->out)] = buf[n++];
	return n;
}

static size_t read_fd(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static char *tmp_log(void)
{
	static char path[64];

	snprintf(path, sizeof(path), "/tmp/xk-console-test-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return path;
}

static size_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, len);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

static void test_stdio_and_log(void **state)
{
	struct event_base *base = event_base_new();
	struct xencons_interface *r = calloc(1, sizeof(*r));
	int in[2], out[2];
	char *log = tmp_log();
	char buf[64];

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	/* the log is appended to */
	int lfd = open(log, O_WRONLY);
	assert_int_equal(write(lfd, "old\n", 4), 4);
	close(lfd);
	struct xk_console_config cfg = {XK_CONSOLE_STDIO, in[0], out[1], log};
	struct xk_console *c = xk_console_new(base, r, 3, &ev_ops, &cfg);
	assert_non_null(c);
	assert_null(xk_console_pty(c));

	guest_write(r, "hello\n", 6);
	notified = 0;
	xk_console_kick(c);
	assert_int_equal(r->out_cons, r->out_prod);
	assert_int_equal(notified, 1);
	assert_int_equal(read_fd(out[0], buf, 6, 1000), 6);
	assert_memory_equal(buf, "hello\n", 6);

	/* HYPERVISOR_console_io output goes the same way */
	xk_console_write(c, "io\n", 3);
	assert_int_equal(read_fd(out[0], buf, 3, 1000), 3);

	/* input: stdin to in[] */
	assert_int_equal(write(in[1], "ls\n", 3), 3);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(r->in_prod - r->in_cons, 3);
	assert_memory_equal(r->in, "ls\n", 3);

	/* written by the guest but never notified: drained at free */
	guest_write(r, "last\n", 5);
	xk_console_free(c);
	assert_int_equal(read_fd(out[0], buf, 5, 1000), 5);
	assert_memory_equal(buf, "last\n", 5);
	size_t n = slurp(log, buf, sizeof(buf));
	assert_int_equal(n, 4 + 6 + 3 + 5);
	assert_memory_equal(buf, "old\nhello\nio\nlast\n", n);

	unlink(log);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	free(r);
	event_base_free(base);
}

static void test_hostile_indices(void **state)
{
	struct xencons_interface *r = calloc(1, sizeof(*r));
	char *log = tmp_log();
	char buf[16];
	struct xk_console_config cfg = {XK_CONSOLE_NONE, -1, -1, log};
	struct xk_console *c = xk_console_new(NULL, r, 3, &ev_ops, &cfg);

	assert_non_null(c);
	r->out_prod = 5000; /* more than a ring's worth ahead */
	notified = 0;
	xk_console_kick(c);
	assert_int_equal(r->out_cons, 0);
	assert_int_equal(notified, 0);
	/* stopped for good: a later sane ring is not served either */
	r->out_prod = 3;
	xk_console_kick(c);
	xk_console_free(c);
	assert_int_equal(slurp(log, buf, sizeof(buf)), 0);
	unlink(log);
	free(r);
}

/* Run the loop until the pty's 100 ms poll has seen the reader. */
static void spin(struct event_base *base, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Read up to len bytes from fd while the loop writes them (the pty takes
 * only a few KiB at a time). */
static size_t pump_read(struct event_base *base, int fd, char *buf, size_t len, int idle_ms)
{
	size_t got = 0;
	int idle = 0;

	while (got < len && idle < idle_ms) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		size_t n = read_fd(fd, buf + got, len - got, 10);
		got += n;
		idle = n ? 0 : idle + 10;
	}
	return got;
}

static void test_pty_backlog(void **state)
{
	struct event_base *base = event_base_new();
	struct xencons_interface *r = calloc(1, sizeof(*r));
	struct xk_console_config cfg = {XK_CONSOLE_PTY, -1, -1, NULL};
	struct xk_console *c = xk_console_new(base, r, 3, &ev_ops, &cfg);
	size_t total = XK_CONSOLE_BACKLOG + 10000;
	char *data = malloc(total), *got = malloc(total);

	assert_non_null(c);
	const char *pty = xk_console_pty(c);
	assert_non_null(pty);
	for (size_t i = 0; i < total; i++)
		data[i] = (char)('a' + (i * 7 + i / 26) % 26);
	/* Nobody attached: the ring is drained anyway (the guest never waits)
	 * and the oldest output is dropped. */
	for (size_t off = 0; off < total;) {
		off += guest_write(r, data + off, total - off);
		xk_console_kick(c);
		assert_int_equal(r->out_cons, r->out_prod);
	}
	spin(base, 50);
	int s = open(pty, O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	spin(base, 300);
	size_t n = pump_read(base, s, got, total, 500);
	assert_int_equal(n, XK_CONSOLE_BACKLOG);
	assert_memory_equal(got, data + total - XK_CONSOLE_BACKLOG, n);

	/* attached: output flows straight through, input comes back */
	guest_write(r, "live\n", 5);
	xk_console_kick(c);
	assert_int_equal(read_fd(s, got, 5, 1000), 5);
	assert_memory_equal(got, "live\n", 5);
	assert_int_equal(write(s, "in", 2), 2);
	spin(base, 50);
	assert_int_equal(r->in_prod, 2);
	assert_memory_equal(r->in, "in", 2);

	/* the reader goes away and comes back: what was said meanwhile waits */
	close(s);
	spin(base, 50);
	guest_write(r, "while away\n", 11);
	xk_console_kick(c);
	s = open(pty, O_RDWR | O_NOCTTY);
	spin(base, 300);
	assert_int_equal(read_fd(s, got, 11, 1000), 11);
	assert_memory_equal(got, "while away\n", 11);
	close(s);
	xk_console_free(c);
	free(data);
	free(got);
	free(r);
	event_base_free(base);
}

struct reader {
	int fd;
	char buf[8192];
	size_t len;
};

static void *reader_thread(void *arg)
{
	struct reader *rd = arg;

	usleep(200000); /* slow: the launcher must wait for it */
	for (;;) {
		ssize_t n = read(rd->fd, rd->buf + rd->len, sizeof(rd->buf) - rd->len);
		if (n <= 0)
			return NULL;
		rd->len += (size_t)n;
	}
}

static void test_pty_last_output(void **state)
{
	struct event_base *base = event_base_new();
	struct xencons_interface *r = calloc(1, sizeof(*r));
	struct xk_console_config cfg = {XK_CONSOLE_PTY, -1, -1, NULL};
	struct xk_console *c = xk_console_new(base, r, 3, &ev_ops, &cfg);
	struct reader rd = {.len = 0};
	pthread_t t;

	assert_non_null(c);
	rd.fd = open(xk_console_pty(c), O_RDWR | O_NOCTTY);
	assert_true(rd.fd >= 0);
	spin(base, 300);
	assert_int_equal(pthread_create(&t, NULL, reader_thread, &rd), 0);
	/* the guest's last words, never notified, then the launcher exits */
	guest_write(r, "LAST-LINE\r\n", 11);
	xk_console_free(c);
	pthread_join(t, NULL);
	close(rd.fd);
	assert_int_equal(rd.len, 11);
	assert_memory_equal(rd.buf, "LAST-LINE\r\n", 11);
	free(r);
	event_base_free(base);
}

static void test_bad_log(void **state)
{
	struct xencons_interface *r = calloc(1, sizeof(*r));
	struct xk_console_config cfg = {XK_CONSOLE_NONE, -1, -1, "/nonexistent/dir/log"};

	assert_null(xk_console_new(NULL, r, 3, &ev_ops, &cfg));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stdio_and_log), cmocka_unit_test(test_hostile_indices),
	    cmocka_unit_test(test_pty_backlog),	  cmocka_unit_test(test_pty_last_output),
	    cmocka_unit_test(test_bad_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
