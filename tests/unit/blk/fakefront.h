/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The frontend side of the blkback unit tests: a temporary image served by
 * blkback on the fake bus (fakebus.h) in one of three I/O modes, a fake
 * frontend's ring (refs 0.. are ring pages, DATA_REF.. data), requests
 * pushed and kicked, responses popped, the image checked.
 */
#ifndef XENKVM_TEST_FAKEFRONT_H
#define XENKVM_TEST_FAKEFRONT_H

#define xen_mb()  __sync_synchronize()
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()
#define wmb()	  __sync_synchronize()
#define rmb()	  __sync_synchronize()
#define mb()	  __sync_synchronize()

#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <event2/event.h>
#include <liburing.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>

#include "fakebus.h"
#include "blk.h"

#define BE	  "/local/domain/0/backend/vbd/1/51712"
#define FE	  "/local/domain/1/device/vbd/51712"
#define PORT	  7
#define DATA_REF  16 /* refs below are ring pages */
#define SECTORS	  2048
#define CHECK_REF (FAKE_NGRANTS - 1) /* check_image's page (nbd) */

enum mode { M_SYNC, M_URING, M_NBD };
static enum mode mode;
static struct event_base *base;
static char qimg[80];

static struct xk_bus *bus;
static struct xk_dev *dev;
static char img[64];
static int imgfd = -1;
static blkif_front_ring_t fr;

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9) * 13 + 1);
}

/* Persistent-grant settings for the next open_disk (0/false: defaults). */
static unsigned cfg_max_pgrants;
static bool cfg_no_persistent;

static int open_disk(bool readonly, bool cdrom)
{
	fake_reset();
	snprintf(img, sizeof(img), "/tmp/xenkvm-blk-XXXXXX");
	imgfd = mkstemp(img);
	assert_true(imgfd >= 0);
	static uint8_t buf[SECTORS * 512];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	assert_int_equal(pwrite(imgfd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	struct xk_bus_env env = fake_env();
	env.base = base;
	bus = xk_bus_new(&env, FAKE_DOMID, 0);
	struct xk_blk_config cfg = {
	    .path = img, .vdev = "xvda", .devid = 51712, .readonly = readonly, .cdrom = cdrom};
	cfg.io = mode == M_URING ? XK_BLKIO_URING : XK_BLKIO_SYNC;
	cfg.max_persistent_grants = cfg_max_pgrants;
	cfg.no_persistent = cfg_no_persistent;
	if (mode == M_NBD) {
		char cmd[256];
		snprintf(qimg, sizeof(qimg), "%s.qcow2", img);
		snprintf(cmd, sizeof(cmd), "qemu-img convert -f raw -O qcow2 %s %s", img, qimg);
		assert_int_equal(system(cmd), 0);
		cfg.path = qimg;
		cfg.format = "qcow2";
	}
	dev = xk_blk_add(bus, &cfg);
	assert_non_null(dev);
	assert_string_equal(xk_blk_io_kind(dev), mode == M_SYNC	   ? "sync"
						 : mode == M_URING ? "io_uring"
								   : "nbd");
	pump();
	return 0;
}

static int setup(void **state)
{
	return open_disk(false, false);
}

__attribute__((unused)) static int setup_ro(void **state)
{
	return open_disk(true, false);
}

static int teardown(void **state)
{
	xk_bus_free(bus);
	bus = NULL;
	dev = NULL;
	pump();
	assert_int_equal(fk.live_maps, 0); /* every mapping was given back */
	assert_int_equal(fk.bad_unmaps, 0);
	for (unsigned i = 0; i < FAKE_NGRANTS; i++)
		assert_true(!fk.rpins[i] && !fk.wpins[i]);
	close(imgfd);
	unlink(img);
	if (mode == M_NBD) {
		/* qemu-nbd is gone, and left a consistent image. */
		assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
		assert_int_equal(errno, ECHILD);
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "qemu-img check -q %s", qimg);
		assert_int_equal(system(cmd), 0);
		unlink(qimg);
	}
	return 0;
}

static const char *be_state(void)
{
	return fget(BE "/state");
}

/* Frontend side: a fresh ring of 1 << order pages at refs 0.., keys, state. */
static void fe_connect_at(unsigned order, RING_IDX start)
{
	char v[16];

	memset(fk.pages[0], 0, (size_t)4096 << order);
	blkif_sring_t *s = (blkif_sring_t *)fk.pages[0];
	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&fr, s, (size_t)4096 << order);
	s->req_prod = s->rsp_prod = fr.req_prod_pvt = fr.rsp_cons = start;
	s->req_event = s->rsp_event = start + 1;
	if (order) {
		snprintf(v, sizeof(v), "%u", order);
		fset(v, FE "/ring-page-order");
		for (unsigned i = 0; i < 1u << order; i++) {
			snprintf(v, sizeof(v), "%u", i);
			fset(v, FE "/ring-ref%u", i);
		}
	} else {
		fset("0", FE "/ring-ref");
	}
	snprintf(v, sizeof(v), "%u", PORT);
	fset(v, FE "/event-channel");
	fset("x86_64-abi", FE "/protocol");
	fset("3", FE "/state");
	pump();
}

static void fe_connect(unsigned order)
{
	fe_connect_at(order, 0);
}

/* The frontend closes and starts over: the backend waits in InitWait. */
static void fe_restart(void)
{
	fset("6", FE "/state");
	pump();
	fset("1", FE "/state");
	pump();
	assert_string_equal(be_state(), "2");
}

/* Run the event loop until no request is in flight (io_uring). */
static void settle(void)
{
	while (dev && xk_blk_inflight(dev))
		event_base_loop(base, EVLOOP_ONCE);
}

static void kick_nowait(void)
{
	assert_non_null(fk.kick[PORT]);
	fk.kick[PORT](fk.kick_arg[PORT]);
}

static void kick(void)
{
	kick_nowait();
	settle();
}

/* Into the ring, not yet published (req_prod). */
static void stage_sz(const void *req, size_t size)
{
	memset(RING_GET_REQUEST(&fr, fr.req_prod_pvt), 0, sizeof(struct blkif_request));
	memcpy(RING_GET_REQUEST(&fr, fr.req_prod_pvt), req, size);
	fr.req_prod_pvt++;
}

static void push_sz(const void *req, size_t size)
{
	stage_sz(req, size);
	RING_PUSH_REQUESTS(&fr);
}

static struct blkif_response pop(void)
{
	assert_true(RING_HAS_UNCONSUMED_RESPONSES(&fr));
	struct blkif_response r = *RING_GET_RESPONSE(&fr, fr.rsp_cons);
	fr.rsp_cons++;
	return r;
}

static struct blkif_response submit_sz(const void *req, size_t size)
{
	push_sz(req, size);
	kick();
	return pop();
}

/* Requests of any of the three layouts. */
#define push(r)	  push_sz((r), sizeof(*(r)))
#define submit(r) submit_sz((r), sizeof(*(r)))

static struct blkif_request rw(uint8_t op, uint64_t sector, unsigned nseg, uint32_t ref0)
{
	struct blkif_request r = {
	    .operation = op, .nr_segments = (uint8_t)nseg, .id = 0x1234, .sector_number = sector};
	for (unsigned i = 0; i < nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		r.seg[i] = (struct blkif_request_segment){
		    .gref = ref0 + i, .first_sect = 0, .last_sect = 7};
	return r;
}

static void check_image(uint64_t off, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len);
	if (mode != M_NBD) {
		assert_int_equal(pread(imgfd, got, len, (off_t)off), (ssize_t)len);
	} else {
		/* Through the ring, a page at a time; the counters are the
		 * test's, not ours. */
		struct xk_blk_stats saved = *xk_blk_stats(dev);
		for (size_t done = 0; done < len;) {
			uint64_t sec = (off + done) / 512;
			size_t in = (off + done) % 512, n = 4096 - in;
			if (sec + 8 > SECTORS)
				sec = SECTORS - 8, in = off + done - sec * 512, n = 4096 - in;
			struct blkif_request r = rw(BLKIF_OP_READ, sec, 1, CHECK_REF);
			assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
			if (n > len - done)
				n = len - done;
			memcpy(got + done, fk.pages[CHECK_REF] + in, n);
			done += n;
		}
		*(struct xk_blk_stats *)xk_blk_stats(dev) = saved;
	}
	assert_memory_equal(got, want, len);
	free(got);
}

#endif
