/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A launcher using a standalone daemon: it writes the domU tree over the
 * socket and hands over the guest's ring with SCM_RIGHTS (memfd + eventfds);
 * the daemon then serves the guest like an in-process one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xs_core.h"
#include "xs_daemon.h"
#include "xenstored.h"

static struct event_base *base;
static struct xsd *xsd;
static char dir[] = "/tmp/xs-remote-XXXXXX";
static char sock[64];

static void quiet_log(void *opaque, int level, const char *msg)
{
}

/* Runs a blocking client step on a thread while the daemon's loop spins. */
struct step {
	int (*fn)(void *arg);
	void *arg;
	int ret;
	int done;
};

static void *step_thread(void *p)
{
	struct step *s = p;

	s->ret = s->fn(s->arg);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int in_client(int (*fn)(void *), void *arg)
{
	struct step s = { fn, arg, 0, 0 };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, step_thread, &s), 0);
	while (!__atomic_load_n(&s.done, __ATOMIC_ACQUIRE))
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	pthread_join(th, NULL);
	return s.ret;
}

struct launcher {
	struct xsd_remote *r;
	int memfd, kick, notify;
	uint64_t gfn;
};

static int do_setup_domain(void *p)
{
	struct launcher *l = p;
	struct xsd_dominfo di = {
		.domid = 2, .name = "remote-guest", .max_vcpus = 1, .store_mfn = 3, .store_port = 1
	};
	int err;

	l->r = xsd_remote_connect(sock);
	if (!l->r)
		return -errno;
	err = xsd_remote_write_tree(l->r, &di);
	if (!err)
		err = xsd_remote_introduce(l->r, 2, l->memfd, l->gfn, 1, l->kick, l->notify);
	return err;
}

static int do_bad_introduce(void *p)
{
	struct launcher *l = p;

	/* A page beyond the end of guest RAM is refused. */
	return xsd_remote_introduce(l->r, 4, l->memfd, 1000, 1, l->kick, l->notify);
}

static int do_release(void *p)
{
	struct launcher *l = p;
	int err = xsd_remote_request_shutdown(l->r, 2, "poweroff");

	if (!err)
		err = xsd_remote_release(l->r, 2);
	if (!err)
		err = xsd_remote_remove_tree(l->r, 2);
	return err;
}

static void guest_put(struct xenstore_domain_interface *p, const void *d, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p->req[MASK_XENSTORE_IDX(p->req_prod + i)] = ((const char *)d)[i];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	p->req_prod += (uint32_t)len;
}

static void test_remote_launcher(void **state)
{
	struct launcher l = { .gfn = 3 };
	struct xenstore_domain_interface *guest;
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = 1, .len = 5 };
	char reply[64];
	uint64_t cnt = 0;
	size_t i;
	char *v;

	l.memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	assert_true(l.memfd >= 0);
	assert_int_equal(ftruncate(l.memfd, 4 * 4096), 0);
	l.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l.notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	guest = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l.memfd, 3 * 4096);
	assert_true(guest != MAP_FAILED);

	assert_int_equal(in_client(do_setup_domain, &l), 0);
	assert_true(xsd_domain_is_introduced(xsd, 2));
	assert_int_equal(guest->server_features,
			 XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR);

	/* The guest asks through its ring and rings the doorbell eventfd. */
	guest_put(guest, &h, sizeof(h));
	guest_put(guest, "name", 5);
	cnt = 1;
	assert_int_equal(write(l.kick, &cnt, sizeof(cnt)), sizeof(cnt));
	for (i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(read(l.notify, &cnt, sizeof(cnt)), sizeof(cnt));
	assert_true(cnt >= 1);
	assert_int_equal(guest->rsp_prod, sizeof(h) + strlen("remote-guest"));
	for (i = 0; i < guest->rsp_prod; i++)
		reply[i] = guest->rsp[i];
	memcpy(&h, reply, sizeof(h));
	assert_int_equal(h.type, XS_READ);
	assert_memory_equal(reply + sizeof(h), "remote-guest", h.len);

	assert_int_equal(in_client(do_bad_introduce, &l), -EINVAL);
	assert_false(xsd_domain_is_introduced(xsd, 4));

	assert_int_equal(in_client(do_release, &l), 0);
	assert_false(xsd_domain_is_introduced(xsd, 2));
	v = xsd_read(xsd, "/local/domain/2", NULL);
	assert_null(v);
	xsd_remote_close(l.r);
	munmap(guest, 4096);
	close(l.memfd);
	close(l.kick);
	close(l.notify);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_launcher),
	};
	struct xsd_options o = { .log = quiet_log };
	int rc;

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	base = event_base_new();
	xsd = xsd_new(base, &o);
	if (!xsd || xsd_listen(xsd, sock))
		return 1;
	rc = cmocka_run_group_tests_name("xenstore-remote", tests, NULL, NULL);
	xsd_free(xsd);
	event_base_free(base);
	rmdir(dir);
	return rc;
}
