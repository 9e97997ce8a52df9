/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon: guest rings (as a guest would drive them, including hostile
 * indices and oversized messages), the unix socket, the standard domU tree
 * and the control/shutdown hook.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xs_core.h"
#include "xs_daemon.h"
#include "xs_ring.h"
#include "xenstored.h"

static struct event_base *base;
static struct xsd *xsd;

static void quiet_log(void *opaque, int level, const char *msg)
{
}

static uint32_t released_domid;

static void on_released(void *opaque, uint32_t domid)
{
	released_domid = domid;
}

static int setup(void **state)
{
	struct xsd_options o = { .log = quiet_log, .released = on_released };

	base = event_base_new();
	xsd = xsd_new(base, &o);
	assert_non_null(xsd);
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(xs_core_check(xsd_core(xsd)), 0);
	xsd_free(xsd);
	event_base_free(base);
	return 0;
}

static void run(void)
{
	int i;

	for (i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

struct guest {
	struct xenstore_domain_interface *page;
	uint32_t domid;
	int notified;
	uint32_t req;
};

static void notify(void *opaque)
{
	((struct guest *)opaque)->notified++;
}

static void guest_init(struct guest *g, uint32_t domid)
{
	g->page = aligned_alloc(4096, 4096);
	memset(g->page, 0xaa, 4096);
	g->domid = domid;
	g->notified = 0;
	g->req = 0;
	assert_int_equal(xsd_domain_introduce(xsd, domid, g->page, notify, g), 0);
	assert_int_equal(g->page->req_prod, 0);
	assert_int_equal(g->page->server_features,
			 XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR);
}

/* The guest side of the ring, written the way a frontend does it. */
static size_t guest_put(struct guest *g, const uint8_t *data, size_t len)
{
	struct xenstore_domain_interface *p = g->page;
	size_t n = 0;

	while (n < len && p->req_prod - p->req_cons < XENSTORE_RING_SIZE) {
		p->req[MASK_XENSTORE_IDX(p->req_prod)] = (char)data[n++];
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		p->req_prod++;
	}
	return n;
}

static void guest_send(struct guest *g, uint32_t type, const void *payload, size_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = ++g->req, .len = (uint32_t)len };
	uint8_t buf[sizeof(h) + XENSTORE_PAYLOAD_MAX];
	size_t off = 0;
	int spins = 0;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	while (off < sizeof(h) + len) {
		off += guest_put(g, buf + off, sizeof(h) + len - off);
		xsd_domain_kick(xsd, g->domid);
		run();
		assert_true(++spins < 100);
	}
}

static size_t guest_avail(struct guest *g)
{
	return g->page->rsp_prod - g->page->rsp_cons;
}

/* Take len bytes, letting the daemon refill the ring as we go. */
static void guest_get(struct guest *g, void *buf, size_t len)
{
	struct xenstore_domain_interface *p = g->page;
	size_t i;
	int spins = 0;

	for (i = 0; i < len; i++) {
		while (!guest_avail(g)) {
			xsd_domain_kick(xsd, g->domid);
			run();
			assert_true(++spins < 100);
		}
		((char *)buf)[i] = p->rsp[MASK_XENSTORE_IDX(p->rsp_cons)];
		p->rsp_cons++;
	}
}

/* Next message for the guest; returns its type, payload in buf. */
static uint32_t guest_recv(struct guest *g, char *buf, uint32_t *len)
{
	struct xsd_sockmsg h;

	run();
	assert_true(guest_avail(g) >= sizeof(h));
	guest_get(g, &h, sizeof(h));
	guest_get(g, buf, h.len);
	buf[h.len] = 0;
	if (len)
		*len = h.len;
	return h.type;
}

static void guest_expect(struct guest *g, uint32_t type, const char *payload)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];

	assert_int_equal(guest_recv(g, buf, NULL), type);
	assert_string_equal(buf, payload);
}

static void guest_write(struct guest *g, const char *path, const char *val)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, vl = strlen(val);

	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	guest_send(g, XS_WRITE, buf, pl + vl);
}

static void test_ring_helpers(void **state)
{
	struct xenstore_domain_interface *p = calloc(1, sizeof(*p));
	char in[1500], out[1500];
	int i;

	for (i = 0; i < (int)sizeof(in); i++)
		in[i] = (char)i;
	/* Producer near the end of the index space and of the ring. */
	p->rsp_cons = p->rsp_prod = 0xfffffff0u;
	assert_int_equal(xs_ring_write(p, in, 100), 100);
	assert_int_equal(p->rsp_prod, 0xfffffff0u + 100);
	assert_memory_equal(p->rsp + 0x3f0, in, 16);
	assert_memory_equal(p->rsp, in + 16, 84);
	assert_int_equal(xs_ring_write(p, in, sizeof(in)), XENSTORE_RING_SIZE - 100);
	assert_int_equal(xs_ring_write(p, in, 10), 0);
	p->rsp_cons = p->rsp_prod + 1; /* more than a ring outstanding */
	assert_int_equal(xs_ring_write(p, in, 10), -1);

	p->req_cons = p->req_prod = 1000;
	memcpy(p->req + 1000, in, 24);
	memcpy(p->req, in + 24, 76);
	p->req_prod += 100;
	assert_int_equal(xs_ring_read(p, out, sizeof(out)), 100);
	assert_memory_equal(out, in, 100);
	assert_int_equal(p->req_cons, 1100);
	assert_int_equal(xs_ring_read(p, out, sizeof(out)), 0);
	p->req_prod = p->req_cons + XENSTORE_RING_SIZE + 1;
	assert_int_equal(xs_ring_read(p, out, sizeof(out)), -1);
	assert_int_equal(p->req_cons, 1100);
	free(p);
}

static void test_guest_roundtrip(void **state)
{
	struct guest g;
	static const char big_path[] = "/local/domain/5/data/big";
	char big[3000];

	guest_init(&g, 5);
	assert_true(xsd_domain_is_introduced(xsd, 5));
	guest_send(&g, XS_GET_DOMAIN_PATH, "5", 2);
	guest_expect(&g, XS_GET_DOMAIN_PATH, "/local/domain/5");
	assert_true(g.notified > 0);

	/* A request bigger than the ring crosses it in pieces. */
	assert_int_equal(xsd_mkdir(xsd, "/local/domain/5/data"), 0);
	assert_int_equal(xsd_set_perms(xsd, "/local/domain/5/data", "n5"), 0);
	assert_int_equal(xsd_set_perms(xsd, "/local/domain/5", "n0 r5"), 0);
	memset(big, 'v', sizeof(big));
	big[1800] = 0;
	guest_write(&g, big_path, big);
	guest_expect(&g, XS_WRITE, "OK");
	guest_send(&g, XS_READ, big_path, sizeof(big_path));
	guest_expect(&g, XS_READ, big);
	guest_send(&g, XS_READ, "name", 5);
	guest_expect(&g, XS_ERROR, "ENOENT");
	guest_send(&g, XS_READ, "/tool", 6);
	guest_expect(&g, XS_ERROR, "EACCES");
	released_domid = 0;
	assert_int_equal(xsd_domain_release(xsd, 5), 0);
	assert_false(xsd_domain_is_introduced(xsd, 5));
	assert_int_equal(released_domid, 5);
	free(g.page);
}

static void test_guest_hostile(void **state)
{
	struct guest good, bad;
	struct xsd_sockmsg h = { .type = XS_READ, .len = 5000 };

	guest_init(&good, 5);
	guest_init(&bad, 6);
	/* Impossible request indices: only that guest's connection stops. */
	bad.page->req_prod = bad.page->req_cons + 5000;
	xsd_domain_kick(xsd, 6);
	run();
	assert_int_equal(bad.page->error, XENSTORE_ERROR_RINGIDX);
	guest_send(&good, XS_GET_DOMAIN_PATH, "5", 2);
	guest_expect(&good, XS_GET_DOMAIN_PATH, "/local/domain/5");

	/* Ring reconnection brings it back. */
	bad.page->connection = XENSTORE_RECONNECT;
	xsd_domain_kick(xsd, 6);
	run();
	assert_int_equal(bad.page->connection, XENSTORE_CONNECTED);
	assert_int_equal(bad.page->error, XENSTORE_ERROR_NONE);
	assert_int_equal(bad.page->req_prod, 0);
	guest_send(&bad, XS_GET_DOMAIN_PATH, "6", 2);
	guest_expect(&bad, XS_GET_DOMAIN_PATH, "/local/domain/6");

	/* An oversized payload is a protocol error. */
	guest_put(&bad, (const uint8_t *)&h, sizeof(h));
	xsd_domain_kick(xsd, 6);
	run();
	assert_int_equal(bad.page->error, XENSTORE_ERROR_PROTO);

	/* Bogus response indices, detected when we reply. */
	good.page->rsp_cons = good.page->rsp_prod + 3000;
	guest_send(&good, XS_GET_DOMAIN_PATH, "5", 2);
	assert_int_equal(good.page->error, XENSTORE_ERROR_RINGIDX);
	assert_int_equal(xsd_domain_release(xsd, 5), 0);
	assert_int_equal(xsd_domain_release(xsd, 6), 0);
	free(good.page);
	free(bad.page);
}

static const char *perms_of(const char *path)
{
	static char out[128];
	char *r = NULL;
	uint32_t len = 0, off;

	if (xsd_request(xsd, XS_GET_PERMS, path, (uint32_t)strlen(path) + 1, &r, &len))
		return "(error)";
	out[0] = 0;
	for (off = 0; off < len; off += (uint32_t)strlen(r + off) + 1) {
		if (off)
			strcat(out, " ");
		strcat(out, r + off);
	}
	free(r);
	return out;
}

static void expect_read(const char *path, const char *val)
{
	char *v = xsd_read(xsd, path, NULL);

	if (!v)
		fail_msg("%s: %s", path, strerror(errno));
	assert_string_equal(v, val);
	free(v);
}

static void test_domain_tree(void **state)
{
	struct xsd_dominfo di = {
		.domid = 3,
		.name = "guest",
		.max_memkb = 524288,
		.target_memkb = 524288,
		.max_vcpus = 2,
		.avail_vcpus = 1,
		.store_port = 1,
		.store_mfn = 4660,
		.console_port = 2,
		.console_mfn = 4661,
		.uuid = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8 },
	};
	static const char *const vbd_back[] = { "frontend-id", "3", "online", "1",
						"state",       "1", "params", "/tmp/disk.img",
						NULL };
	static const char *const vbd_front[] = { "backend-id", "0",	"virtual-device",
						 "51712",      "state", "1",
						 NULL };
	struct xsd_device vbd = { .kind = "vbd",
				  .domid = 3,
				  .devid = 51712,
				  .backend = vbd_back,
				  .frontend = vbd_front };
	struct guest g;
	char *v;

	assert_int_equal(xsd_domain_write_tree(xsd, &di), 0);
	assert_int_equal(xsd_device_add(xsd, &vbd), 0);
	expect_read("/local/domain/3/name", "guest");
	expect_read("/local/domain/3/domid", "3");
	expect_read("/local/domain/3/vm", "/vm/12345678-9abc-def0-0102-030405060708");
	expect_read("/vm/12345678-9abc-def0-0102-030405060708/name", "guest");
	expect_read("/local/domain/3/memory/target", "524288");
	expect_read("/local/domain/3/cpu/0/availability", "online");
	expect_read("/local/domain/3/cpu/1/availability", "offline");
	expect_read("/local/domain/3/store/ring-ref", "4660");
	expect_read("/local/domain/3/console/port", "2");
	expect_read("/local/domain/3/console/type", "xenconsoled");
	expect_read("/local/domain/0/backend/console/3/0/frontend", "/local/domain/3/console");
	expect_read("/local/domain/3/device/vbd/51712/backend",
		    "/local/domain/0/backend/vbd/3/51712");
	expect_read("/local/domain/0/backend/vbd/3/51712/params", "/tmp/disk.img");
	expect_read("/libxl/3/type", "pv");
	assert_string_equal(perms_of("/local/domain/3"), "n0 r3");
	assert_string_equal(perms_of("/local/domain/3/name"), "n0 r3");
	assert_string_equal(perms_of("/local/domain/3/control/shutdown"), "n3");
	assert_string_equal(perms_of("/local/domain/3/data"), "n3");
	assert_string_equal(perms_of("/local/domain/3/console"), "n0 r3");
	assert_string_equal(perms_of("/local/domain/3/console/backend-id"), "n3 r0");
	assert_string_equal(perms_of("/local/domain/3/device/vbd/51712"), "n3 r0");
	assert_string_equal(perms_of("/local/domain/0/backend/vbd/3/51712"), "n0 r3");
	assert_string_equal(perms_of("/libxl/3"), "n0");

	/* Seen from the guest itself. */
	guest_init(&g, 3);
	guest_send(&g, XS_READ, "name", 5);
	guest_expect(&g, XS_READ, "guest");
	guest_write(&g, "name", "renamed");
	guest_expect(&g, XS_ERROR, "EACCES");
	guest_write(&g, "memory/target", "1");
	guest_expect(&g, XS_ERROR, "EACCES");
	guest_write(&g, "data/x", "1");
	guest_expect(&g, XS_WRITE, "OK");
	guest_write(&g, "device/vbd/51712/state", "4");
	guest_expect(&g, XS_WRITE, "OK");
	guest_send(&g, XS_READ, "/local/domain/0/backend/vbd/3/51712/state", 42);
	guest_expect(&g, XS_READ, "1");
	guest_send(&g, XS_READ, "/libxl/3/type", 14);
	guest_expect(&g, XS_ERROR, "EACCES");

	assert_int_equal(xsd_domain_release(xsd, 3), 0);
	/* What the guest owned is gone, the toolstack's part stays. */
	v = xsd_read(xsd, "/local/domain/3/data/x", NULL);
	assert_null(v);
	expect_read("/local/domain/3/name", "guest");
	assert_int_equal(xsd_domain_remove_tree(xsd, 3), 0);
	assert_null(xsd_read(xsd, "/local/domain/3", NULL));
	assert_null(xsd_read(xsd, "/local/domain/0/backend/vbd/3/51712", NULL));
	assert_null(xsd_read(xsd, "/local/domain/0/backend/console/3/0", NULL));
	assert_null(xsd_read(xsd, "/vm/12345678-9abc-def0-0102-030405060708", NULL));
	assert_null(xsd_read(xsd, "/libxl/3", NULL));
	free(g.page);
}

static char seen[8][32];
static int nseen;

static void on_shutdown(void *opaque, uint32_t domid, const char *value)
{
	assert_int_equal(domid, 4);
	assert_true(nseen < 8);
	snprintf(seen[nseen++], sizeof(seen[0]), "%s", value);
}

static void test_shutdown_hook(void **state)
{
	struct xsd_dominfo di = { .domid = 4, .name = "sd", .max_vcpus = 1 };
	struct guest g;

	nseen = 0;
	assert_int_equal(xsd_domain_write_tree(xsd, &di), 0);
	guest_init(&g, 4);
	assert_int_equal(xsd_watch_shutdown(xsd, 4, on_shutdown, NULL), 0);
	/* Registration reports the current value, but never synchronously. */
	assert_int_equal(nseen, 0);
	run();
	assert_int_equal(nseen, 1);
	assert_string_equal(seen[0], "");
	/* The guest sees the request on its watch, like under xl shutdown. */
	guest_send(&g, XS_WATCH, "control/shutdown\0ctl", 21);
	guest_expect(&g, XS_WATCH, "OK");
	guest_expect(&g, XS_WATCH_EVENT, "control/shutdown");
	assert_int_equal(xsd_request_shutdown(xsd, 4, "poweroff"), 0);
	run();
	assert_int_equal(nseen, 2);
	assert_string_equal(seen[1], "poweroff");
	guest_expect(&g, XS_WATCH_EVENT, "control/shutdown");
	guest_send(&g, XS_READ, "control/shutdown", 17);
	guest_expect(&g, XS_READ, "poweroff");
	/* It acknowledges by clearing the key (its own watch fires first). */
	guest_write(&g, "control/shutdown", "");
	guest_expect(&g, XS_WATCH_EVENT, "control/shutdown");
	guest_expect(&g, XS_WRITE, "OK");
	run();
	assert_int_equal(nseen, 3);
	assert_string_equal(seen[2], "");
	assert_int_equal(xsd_domain_shutdown(xsd, 4), 0);
	assert_int_equal(xsd_domain_release(xsd, 4), 0);
	free(g.page);
}

static void test_socket(void **state)
{
	char path[] = "/tmp/xs-unit-XXXXXX";
	char sock[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char name[] = "/local/domain/0/name";
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = 9, .len = sizeof(name) };
	char buf[64];
	int fd, bad;
	ssize_t n;

	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/sub/sock", path);
	assert_int_equal(xsd_listen(xsd, sock), 0);
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bad = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(connect(bad, (struct sockaddr *)&sa, sizeof(sa)), 0);
	run();
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), name, sizeof(name));
	assert_int_equal(write(fd, buf, sizeof(h) + sizeof(name)),
			 (ssize_t)(sizeof(h) + sizeof(name)));
	h.len = 100000;
	assert_int_equal(write(bad, &h, sizeof(h)), (ssize_t)sizeof(h));
	run();
	n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)sizeof(h) + 8);
	assert_memory_equal(buf + sizeof(h), "Domain-0", 8);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.type, XS_READ);
	assert_int_equal(h.req_id, 9);
	/* The misbehaving client was cut off. */
	n = read(bad, buf, sizeof(buf));
	assert_int_equal(n, 0);
	close(fd);
	close(bad);
	run();
	xsd_free(xsd);
	xsd = xsd_new(base, NULL);
	assert_int_equal(access(sock, F_OK), -1);
	snprintf(sock, sizeof(sock), "%s/sub", path);
	rmdir(sock);
	rmdir(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_helpers),
		cmocka_unit_test_setup_teardown(test_guest_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket, setup, teardown),
	};

	return cmocka_run_group_tests_name("xenstore-daemon", tests, NULL, NULL);
}
