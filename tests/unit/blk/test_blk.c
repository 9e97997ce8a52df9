/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkback and the device model against fakes (fakebus.h): the xenbus
 * handshake, reads and writes through grants into a temporary image,
 * flush, discard, indirect requests, multi-page rings, and hostile
 * frontends (bad grant refs, too many segments, bad sector ranges, ring
 * index overflow, bad keys) - refused with an error response or by closing
 * the device, never by crashing, and never leaking a grant mapping.
 *
 * Every test runs three times, once per I/O backend: synchronous, io_uring
 * (completions come from a real event loop, pumped until nothing is in
 * flight), and qemu-nbd on a qcow2 copy of the image (the image is then
 * checked through the ring, and with qemu-img check after each test; no
 * helper process may be left).  Tests of their own: ordering of flushes
 * against writes in flight, grants held until completion, a disconnect
 * with requests in flight, format probing, qemu-nbd errors.
 */
#include "fakefront.h"

/* ---- handshake ---- */

static void test_handshake_keys(void **state)
{
	assert_string_equal(be_state(), "2"); /* InitWait */
	assert_string_equal(fget(FE "/state"), "1");
	assert_string_equal(fget(FE "/backend"), BE);
	assert_string_equal(fget(FE "/backend-id"), "0");
	assert_string_equal(fget(FE "/virtual-device"), "51712");
	assert_string_equal(fget(BE "/frontend"), FE);
	assert_string_equal(fget(BE "/frontend-id"), "1");
	assert_string_equal(fget(BE "/online"), "1");
	assert_string_equal(fget(BE "/sectors"), "2048");
	assert_string_equal(fget(BE "/info"), "0");
	assert_string_equal(fget(BE "/sector-size"), "512");
	assert_string_equal(fget(BE "/mode"), "w");
	assert_string_equal(fget(BE "/feature-flush-cache"), "1");
	assert_string_equal(fget(BE "/feature-discard"), "1");
	assert_string_equal(fget(BE "/max-ring-page-order"), "4");
	assert_string_equal(fget(BE "/feature-max-indirect-segments"), "256");
	fe_connect(0);
	assert_string_equal(be_state(), "4");
	assert_non_null(fk.kick[PORT]);
	assert_int_equal(fk.live_maps, 1); /* the ring */
}

static void test_close_reopen(void **state)
{
	fe_connect(0);
	fset("5", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");
	assert_null(fk.kick[PORT]);
	assert_int_equal(fk.live_maps, 0);
	fset("6", FE "/state");
	pump();
	assert_string_equal(be_state(), "6");
	/* The frontend starts over (module reload). */
	fset("1", FE "/state");
	pump();
	assert_string_equal(be_state(), "2");
	fe_connect(1);
	assert_string_equal(be_state(), "4");
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 1, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
}

static void test_hot_unplug(void **state)
{
	fe_connect(0);
	xk_bus_remove(dev);
	pump();
	assert_string_equal(fget(BE "/online"), "0");
	assert_string_equal(be_state(), "5");
	fset("6", FE "/state"); /* blkfront closes */
	pump();
	assert_null(fget(BE "/state"));
	assert_null(fget(FE "/state"));
	assert_null(xk_bus_find(bus, "vbd", 51712));
	assert_int_equal(fk.live_maps, 0);
}

static void test_bad_frontend_keys(void **state)
{
	fset("0", FE "/ring-ref");
	fset("7x", FE "/event-channel");
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");
	assert_non_null(fget("/local/domain/0/error/backend/vbd/1/51712/error"));
	assert_int_equal(fk.live_maps, 0);

	fset("1", FE "/state");
	fset("6", FE "/state");
	pump();
	fset("1", FE "/state");
	pump();
	assert_string_equal(be_state(), "2");
	fset("5", FE "/ring-page-order"); /* above max-ring-page-order */
	fset("7", FE "/event-channel");
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");

	fset("6", FE "/state");
	pump();
	fset("1", FE "/state");
	pump();
	fset("0", FE "/ring-page-order");
	fset("x86_32-abi", FE "/protocol");
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");

	fset("6", FE "/state");
	pump();
	fset("1", FE "/state");
	pump();
	fset("x86_64-abi", FE "/protocol");
	fset("4000", FE "/ring-ref0"); /* not a valid grant */
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");
	assert_int_equal(fk.live_maps, 0);
}

/* ---- I/O ---- */

static void test_write_then_read(void **state)
{
	fe_connect(0);
	for (unsigned i = 0; i < 3; i++)
		memset(fk.pages[DATA_REF + i], 0xa0 + i, 4096);
	struct blkif_request w = rw(BLKIF_OP_WRITE, 16, 3, DATA_REF);
	w.seg[1].first_sect = 2;
	w.seg[1].last_sect = 5; /* 4 sectors */
	struct blkif_response rsp = submit(&w);
	assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
	assert_int_equal(rsp.id, 0x1234);
	assert_int_equal(rsp.operation, BLKIF_OP_WRITE);
	uint8_t want[20 * 512];
	memset(want, 0xa0, 4096);
	memset(want + 4096, 0xa1, 2048);
	memset(want + 6144, 0xa2, 4096);
	check_image(16 * 512, want, sizeof(want));
	assert_true(fk.notifies > 0);
	assert_int_equal(fk.last_notify, PORT);

	struct blkif_request r = rw(BLKIF_OP_READ, 16, 1, DATA_REF + 5);
	r.seg[0].first_sect = 3;
	r.seg[0].last_sect = 7; /* into the second half of the page */
	memset(fk.pages[DATA_REF + 5], 0, 4096);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_memory_equal(fk.pages[DATA_REF + 5] + 3 * 512, want, 5 * 512);
	uint8_t zero[3 * 512] = {0};
	assert_memory_equal(fk.pages[DATA_REF + 5], zero, sizeof(zero));
	assert_int_equal(fk.live_maps, 1);
	assert_int_equal(xk_blk_stats(dev)->writes, 1);
	assert_int_equal(xk_blk_stats(dev)->reads, 1);

	/* Three pages scattered in memory, read as one request (nbd: through
	 * its bounce buffer): each gets its own part of the image. */
	static const uint32_t refs[3] = {DATA_REF + 9, DATA_REF + 3, DATA_REF + 7};
	struct blkif_request m = rw(BLKIF_OP_READ, 100, 3, 0);
	for (unsigned k = 0; k < 3; k++) {
		m.seg[k].gref = refs[k];
		memset(fk.pages[refs[k]], 0, 4096);
	}
	assert_int_equal(submit(&m).status, BLKIF_RSP_OKAY);
	for (unsigned k = 0; k < 3; k++)
		for (unsigned j = 0; j < 4096; j++)
			assert_int_equal(fk.pages[refs[k]][j], pattern(100 * 512 + k * 4096 + j));
}

static void test_flush_and_barrier(void **state)
{
	fe_connect(0);
	struct blkif_request f = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0);
	f.sector_number = ~0ULL; /* meaningless for an empty flush */
	assert_int_equal(submit(&f).status, BLKIF_RSP_OKAY);
	memset(fk.pages[DATA_REF], 0x55, 4096);
	struct blkif_request b = rw(BLKIF_OP_WRITE_BARRIER, 100, 1, DATA_REF);
	struct blkif_response rsp = submit(&b);
	assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
	assert_int_equal(rsp.operation, BLKIF_OP_WRITE_BARRIER);
	check_image(100 * 512, fk.pages[DATA_REF], 4096);
	assert_int_equal(xk_blk_stats(dev)->flushes, 2);
}

static void test_discard(void **state)
{
	fe_connect(0);
	struct blkif_request_discard d = {
	    .operation = BLKIF_OP_DISCARD, .id = 9, .sector_number = 64, .nr_sectors = 64};
	assert_int_equal(submit(&d).status, BLKIF_RSP_OKAY);
	uint8_t zero[64 * 512] = {0};
	/* A hole in a file reads as zeros; qcow2 may keep a partly
	 * discarded cluster's data (a discard promises nothing). */
	if (mode != M_NBD)
		check_image(64 * 512, zero, sizeof(zero));
	d.flag = BLKIF_DISCARD_SECURE;
	assert_int_equal(submit(&d).status, BLKIF_RSP_EOPNOTSUPP);
	d.flag = 0;
	d.sector_number = SECTORS - 8;
	d.nr_sectors = 9;
	assert_int_equal(submit(&d).status, BLKIF_RSP_ERROR);
	d.sector_number = 8;
	d.nr_sectors = ~0ULL - 4;
	assert_int_equal(submit(&d).status, BLKIF_RSP_ERROR);
}

static void put_indirect_segs(uint32_t ref, unsigned n, uint32_t data_ref)
{
	struct blkif_request_segment *s = (void *)fk.pages[ref];
	for (unsigned i = 0; i < n; i++)
		s[i] = (struct blkif_request_segment){
		    .gref = data_ref + (i % 40), .first_sect = 0, .last_sect = 7};
}

static void test_indirect(void **state)
{
	fe_connect(0);
	/* 40 segments of 8 sectors from refs DATA_REF..+39, one indirect page. */
	for (unsigned i = 0; i < 40; i++)
		memset(fk.pages[DATA_REF + i], i + 1, 4096);
	uint32_t iref = DATA_REF + 60;
	put_indirect_segs(iref, 40, DATA_REF);
	struct blkif_request_indirect ind = {.operation = BLKIF_OP_INDIRECT,
					     .indirect_op = BLKIF_OP_WRITE,
					     .nr_segments = 40,
					     .id = 77,
					     .sector_number = 320,
					     .indirect_grefs = {iref}};
	struct blkif_response rsp = submit(&ind);
	assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
	assert_int_equal(rsp.operation, BLKIF_OP_WRITE); /* as blkfront expects */
	assert_int_equal(rsp.id, 77);
	for (unsigned i = 0; i < 40; i++)
		check_image((320 + i * 8) * 512ULL, fk.pages[DATA_REF + i], 4096);
	assert_int_equal(xk_blk_stats(dev)->indirect, 1);

	/* Hostile variants. */
	ind.nr_segments = 257; /* above feature-max-indirect-segments */
	assert_int_equal(submit(&ind).status, BLKIF_RSP_ERROR);
	ind.nr_segments = 0;
	assert_int_equal(submit(&ind).status, BLKIF_RSP_ERROR);
	ind.nr_segments = 40;
	ind.indirect_op = BLKIF_OP_DISCARD;
	assert_int_equal(submit(&ind).status, BLKIF_RSP_ERROR);
	ind.indirect_op = BLKIF_OP_READ;
	ind.indirect_grefs[0] = 5000; /* bad indirect page */
	assert_int_equal(submit(&ind).status, BLKIF_RSP_ERROR);
	ind.indirect_grefs[0] = iref;
	((struct blkif_request_segment *)fk.pages[iref])[39].gref = 9999;
	assert_int_equal(submit(&ind).status, BLKIF_RSP_ERROR);
	put_indirect_segs(iref, 40, DATA_REF);
	((struct blkif_request_segment *)fk.pages[iref])[3].last_sect = 8;
	assert_int_equal(submit(&ind).status, BLKIF_RSP_ERROR);
	assert_int_equal(fk.live_maps, 1);
}

static void test_multipage_ring(void **state)
{
	fe_connect(2); /* 4 pages: (16384 - 64) / 112 = 145 -> 128 entries */
	assert_int_equal(RING_SIZE(&fr), 128);
	assert_int_equal(fk.live_maps, 4);
	/* Three rounds over the whole ring: slots straddle page boundaries. */
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 128; i++) {
			struct blkif_request r =
			    rw(BLKIF_OP_READ, (i * 8) % SECTORS, 1, DATA_REF + (i % 64));
			r.id = round * 1000 + i;
			push(&r);
		}
		kick();
		/* Each answered once, in any order (qemu-nbd completes them
		 * out of order; blkif allows it). */
		bool seen[128] = {false};
		for (unsigned i = 0; i < 128; i++) {
			struct blkif_response rsp = pop();
			assert_in_range(rsp.id, round * 1000, round * 1000 + 127);
			assert_false(seen[rsp.id - round * 1000]);
			seen[rsp.id - round * 1000] = true;
			assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
		}
		assert_false(RING_HAS_UNCONSUMED_RESPONSES(&fr));
	}
	uint8_t want[4096];
	for (unsigned i = 0; i < 4096; i++)
		want[i] = pattern(((127 * 8) % SECTORS) * 512 + i);
	assert_memory_equal(fk.pages[DATA_REF + 63], want, 4096);
}

/* ---- hostile requests ---- */

static void test_bad_requests(void **state)
{
	fe_connect(0);
	struct blkif_request r;
	struct blkif_response rsp;
	unsigned maps = fk.map_calls;

	r = rw(BLKIF_OP_READ, 0, 1, 4000); /* bad gref */
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 12, DATA_REF); /* nr_segments > 11 */
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0, 255, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 0, DATA_REF); /* no segment */
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1, DATA_REF);
	r.seg[0].first_sect = 5;
	r.seg[0].last_sect = 4;
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	r.seg[0].first_sect = 0;
	r.seg[0].last_sect = 8; /* past the page */
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	/* Only the bad-gref request got as far as mapping. */
	assert_int_equal(fk.map_calls, maps + 1);

	r = rw(BLKIF_OP_READ, SECTORS - 7, 1, DATA_REF); /* 1 sector past the end */
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, SECTORS - 8, 1, DATA_REF); /* the last page: fine */
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_WRITE, ~0ULL - 3, 1, DATA_REF); /* wraps around */
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);

	/* A read needs a writable grant (the backend fills the page). */
	fk.readonly[DATA_REF + 1] = true;
	r = rw(BLKIF_OP_READ, 0, 2, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0, 2, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);

	struct blkif_request u = {.operation = 42, .id = 5};
	rsp = submit(&u);
	assert_int_equal(rsp.status, BLKIF_RSP_EOPNOTSUPP);
	assert_int_equal(rsp.operation, 42);
	assert_int_equal(rsp.id, 5);
	assert_int_equal(fk.live_maps, 1);
	assert_string_equal(be_state(), "4"); /* still serving */
	r = rw(BLKIF_OP_READ, 0, 1, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
}

static void test_ring_index_overflow(void **state)
{
	fe_connect(0);
	blkif_sring_t *s = (blkif_sring_t *)fk.pages[0];
	s->req_prod = 1000; /* 1000 requests on a 32-entry ring */
	kick();
	pump();
	assert_string_equal(be_state(), "5"); /* refused: closing */
	assert_non_null(fget("/local/domain/0/error/backend/vbd/1/51712/error"));
	assert_null(fk.kick[PORT]);
	assert_int_equal(fk.live_maps, 0);
	assert_int_equal(s->rsp_prod, 0); /* nothing was served */

	/* Wrapping indices are fine: a ring that starts near UINT32_MAX. */
	fset("6", FE "/state");
	pump();
	fset("1", FE "/state");
	pump();
	fe_connect_at(0, 0xfffffff0u);
	assert_string_equal(be_state(), "4");
	s = (blkif_sring_t *)fk.pages[0];
	for (unsigned i = 0; i < 40; i++) {
		struct blkif_request r = rw(BLKIF_OP_READ, 0, 1, DATA_REF);
		r.id = i;
		assert_int_equal(submit(&r).id, i);
	}
	assert_true(fr.req_prod_pvt < 0x100);
}

static void test_readonly_disk(void **state)
{
	assert_string_equal(fget(BE "/mode"), "r");
	assert_string_equal(fget(BE "/info"), "4"); /* VDISK_READONLY */
	assert_string_equal(fget(BE "/feature-flush-cache"), "0");
	assert_string_equal(fget(BE "/feature-discard"), "0");
	fe_connect(0);
	struct blkif_request r = rw(BLKIF_OP_WRITE, 0, 1, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	struct blkif_request_discard d = {.operation = BLKIF_OP_DISCARD, .nr_sectors = 8};
	assert_int_equal(submit(&d).status, BLKIF_RSP_EOPNOTSUPP);
	r = rw(BLKIF_OP_READ, 8, 1, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	uint8_t want[4096];
	for (unsigned i = 0; i < 4096; i++)
		want[i] = pattern(8 * 512 + i);
	assert_memory_equal(fk.pages[DATA_REF], want, 4096);
	check_image(0, (uint8_t[]){pattern(0), pattern(1)}, 2);
}

static void test_missing_image(void **state)
{
	struct xk_blk_config cfg = {
	    .path = "/nonexistent/xenkvm.img", .vdev = "xvdb", .devid = 51728};
	assert_null(xk_blk_add(bus, &cfg));
	assert_null(fget("/local/domain/1/device/vbd/51728/state"));
	/* The same devid twice is refused. */
	struct xk_blk_config dup = {.path = img, .vdev = "xvda", .devid = 51712, .readonly = true};
	assert_null(xk_blk_add(bus, &dup));
	assert_string_equal(be_state(), "2");
}

/* ---- ordering and in-flight requests ---- */

/* Writes, a flush, a write: the flush is answered after the writes before
 * it, and the write after it starts only once the flush is answered. */
static void test_flush_orders_writes(void **state)
{
	fe_connect(0);
	for (unsigned i = 0; i < 3; i++)
		memset(fk.pages[DATA_REF + i], 0x31 + i, 4096);
	struct blkif_request w1 = rw(BLKIF_OP_WRITE, 0, 1, DATA_REF);
	struct blkif_request w2 = rw(BLKIF_OP_WRITE, 8, 1, DATA_REF + 1);
	struct blkif_request f = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0);
	struct blkif_request w3 = rw(BLKIF_OP_WRITE, 16, 1, DATA_REF + 2);
	w1.id = 1, w2.id = 2, f.id = 3, w3.id = 4;
	push(&w1);
	push(&w2);
	push(&f);
	push(&w3);
	kick();
	uint64_t order[4];
	for (unsigned i = 0; i < 4; i++) {
		struct blkif_response r = pop();
		assert_int_equal(r.status, BLKIF_RSP_OKAY);
		order[i] = r.id;
	}
	assert_false(RING_HAS_UNCONSUMED_RESPONSES(&fr));
	/* 1 and 2 in either order, then 3, then 4. */
	assert_true((order[0] == 1 && order[1] == 2) || (order[0] == 2 && order[1] == 1));
	assert_int_equal(order[2], 3);
	assert_int_equal(order[3], 4);
	check_image(0, fk.pages[DATA_REF], 4096);
	check_image(16 * 512, fk.pages[DATA_REF + 2], 4096);
	assert_int_equal(xk_blk_stats(dev)->flushes, 1);
	/* A flush with data: written, then flushed, answered once. */
	struct blkif_request fd = rw(BLKIF_OP_FLUSH_DISKCACHE, 24, 1, DATA_REF + 1);
	fd.id = 5;
	struct blkif_response r = submit(&fd);
	assert_int_equal(r.status, BLKIF_RSP_OKAY);
	assert_int_equal(r.id, 5);
	assert_false(RING_HAS_UNCONSUMED_RESPONSES(&fr));
	check_image(24 * 512, fk.pages[DATA_REF + 1], 4096);
	assert_int_equal(xk_blk_stats(dev)->flushes, 2);
}

/* io_uring, qemu-nbd: the guest pages stay mapped until the completion is
 * seen. */
static void test_grants_held_in_flight(void **state)
{
	fe_connect(0);
	memset(fk.pages[DATA_REF], 0x77, 4096);
	memset(fk.pages[DATA_REF + 1], 0x78, 4096);
	struct blkif_request w = rw(BLKIF_OP_WRITE, 40, 2, DATA_REF);
	push(&w);
	kick_nowait();
	if (mode != M_SYNC) {
		assert_int_equal(xk_blk_inflight(dev), 1);
		assert_int_equal(fk.live_maps, 3); /* the ring and two pages */
		assert_false(RING_HAS_UNCONSUMED_RESPONSES(&fr));
	}
	settle();
	assert_int_equal(fk.live_maps, 1);
	assert_int_equal(pop().status, BLKIF_RSP_OKAY);
	check_image(40 * 512, fk.pages[DATA_REF], 4096);
}

/* A full ring of reads is in flight at once (io_uring, qemu-nbd: nothing
 * waits for the one before), and each gets its own data. */
static void test_all_in_flight(void **state)
{
	fe_connect(0);
	for (unsigned i = 0; i < 32; i++) {
		struct blkif_request r = rw(BLKIF_OP_READ, 8 * (31 - i), 1, DATA_REF + i);
		r.id = i;
		push(&r);
	}
	kick_nowait();
	if (mode != M_SYNC)
		assert_int_equal(xk_blk_inflight(dev), 32);
	settle();
	for (unsigned i = 0; i < 32; i++) {
		struct blkif_response rsp = pop();
		assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
		assert_in_range(rsp.id, 0, 31);
	}
	for (unsigned i = 0; i < 32; i++) {
		uint8_t want[4096];
		for (unsigned k = 0; k < 4096; k++)
			want[k] = pattern(8 * (31 - i) * 512 + k);
		assert_memory_equal(fk.pages[DATA_REF + i], want, 4096);
	}
}

/* A busy queue asks for no notification: requests pushed while four or
 * more are in flight send no event, and the completions' kicks find them;
 * once the queue is idle the frontend is asked again. */
static void test_busy_queue_unarmed(void **state)
{
	int notify;

	fe_connect(0);
	for (unsigned i = 0; i < 8; i++) {
		struct blkif_request r = rw(BLKIF_OP_READ, 8 * i, 1, DATA_REF + i);
		r.id = i;
		push(&r);
	}
	kick_nowait();
	for (unsigned i = 8; i < 12; i++) {
		struct blkif_request r = rw(BLKIF_OP_READ, 8 * i, 1, DATA_REF + i);
		r.id = i;
		stage_sz(&r, sizeof(r));
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fr, notify);
	/* Synchronous I/O completes inside the kick: never busy. */
	assert_int_equal(notify, mode == M_SYNC);
	if (mode == M_SYNC)
		kick_nowait();
	settle();
	unsigned seen = 0;
	for (unsigned i = 0; i < 12; i++) {
		struct blkif_response rsp = pop();
		assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
		assert_in_range(rsp.id, 0, 11);
		seen |= 1u << rsp.id;
	}
	assert_int_equal(seen, 0xfff);
	assert_false(RING_HAS_UNCONSUMED_RESPONSES(&fr));
	for (unsigned i = 0; i < 12; i++) {
		uint8_t want[4096];
		for (unsigned k = 0; k < 4096; k++)
			want[k] = pattern(8 * i * 512 + k);
		assert_memory_equal(fk.pages[DATA_REF + i], want, 4096);
	}
	if (mode != M_SYNC)
		assert_true(xk_blk_stats(dev)->unarmed > 0);
	/* Idle again: the next request is notified. */
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 1, DATA_REF);
	stage_sz(&r, sizeof(r));
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&fr, notify);
	assert_true(notify);
	kick();
	assert_int_equal(pop().status, BLKIF_RSP_OKAY);
}

/* The frontend closes with requests in flight: they complete (the data is
 * written) before their grants and the ring are given back. */
static void test_disconnect_in_flight(void **state)
{
	fe_connect(0);
	for (unsigned i = 0; i < 4; i++) {
		memset(fk.pages[DATA_REF + i], 0x90 + i, 4096);
		struct blkif_request w = rw(BLKIF_OP_WRITE, 200 + 8 * i, 1, DATA_REF + i);
		push(&w);
	}
	kick_nowait();
	fset("6", FE "/state");
	pump();
	assert_int_equal(xk_blk_inflight(dev), 0);
	assert_int_equal(fk.live_maps, 0);
	if (mode != M_NBD)
		for (unsigned i = 0; i < 4; i++)
			check_image((200 + 8 * i) * 512ULL, fk.pages[DATA_REF + i], 4096);
}

/* ---- image formats ---- */

static void test_probe_format(void **state)
{
	char dir[] = "/tmp/xenkvm-probe-XXXXXX", path[64], cmd[256];
	assert_non_null(mkdtemp(dir));
	const struct {
		const char *fmt, *want;
	} cases[] = {{"qcow2", "qcow2"}, {"vpc", "vpc"},   {"vmdk", "vmdk"},
		     {"qed", "qed"},	 {"vhdx", "vhdx"}, {"raw", NULL}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/i.%s", dir, cases[i].fmt);
		snprintf(cmd, sizeof(cmd), "qemu-img create -q -f %s %s 4M", cases[i].fmt, path);
		assert_int_equal(system(cmd), 0);
		const char *got = xk_blkio_probe_format(path);
		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else
			assert_null(got);
		unlink(path);
	}
	/* A fixed VHD: raw data and a footer at the end. */
	snprintf(path, sizeof(path), "%s/fixed.vhd", dir);
	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f vpc -o subformat=fixed %s 4M", path);
	assert_int_equal(system(cmd), 0);
	assert_string_equal(xk_blkio_probe_format(path), "vpc");
	unlink(path);
	assert_null(xk_blkio_probe_format("/nonexistent/x.qcow2"));
	assert_null(xk_blkio_probe_format("/dev/null"));
	rmdir(dir);
}

/* Corrupt image, missing helper, missing image: NULL, no process and no
 * file left behind. */
static void test_nbd_errors(void **state)
{
	char dir[] = "/tmp/xenkvm-nbd-test-XXXXXX", path[64], tmpdir[80];
	assert_non_null(mkdtemp(dir));
	snprintf(tmpdir, sizeof(tmpdir), "%s/t", dir);
	assert_int_equal(mkdir(tmpdir, 0700), 0);
	const char *old_tmp = getenv("TMPDIR");
	setenv("TMPDIR", tmpdir, 1);
	snprintf(path, sizeof(path), "%s/bad.qcow2", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	uint8_t junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	memcpy(junk, "QFI\xfb\0\0\0\3", 8);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);

	struct xk_blkio_config cfg = {.path = path, .format = "qcow2", .name = "xvda"};
	assert_null(xk_blkio_open(&cfg));
	cfg.format = "vmdk";
	assert_null(xk_blkio_open(&cfg));
	setenv("XENKVM_QEMU_NBD", "/nonexistent/qemu-nbd", 1);
	char good[64], cmd[160];
	snprintf(good, sizeof(good), "%s/good.qcow2", dir);
	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 %s 1M", good);
	assert_int_equal(system(cmd), 0);
	cfg.path = good;
	cfg.format = "qcow2";
	assert_null(xk_blkio_open(&cfg));
	unsetenv("XENKVM_QEMU_NBD");
	cfg.path = "/nonexistent/x.qcow2";
	assert_null(xk_blkio_open(&cfg));
	/* The good one opens, read-only: the export says so, 1 MiB. */
	cfg.path = good;
	cfg.readonly = true;
	struct xk_blkio *io = xk_blkio_open(&cfg);
	assert_non_null(io);
	assert_int_equal(io->size, 1 << 20);
	assert_true(io->readonly);
	assert_false(io->can_discard);
	xk_blkio_close(io);

	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(rmdir(tmpdir), 0); /* empty: no socket left */
	if (old_tmp)
		setenv("TMPDIR", old_tmp, 1);
	else
		unsetenv("TMPDIR");
	unlink(path);
	unlink(good);
	rmdir(dir);
}

/* ---- multi-queue ---- */

/* nq queues of 2 pages each: queue i's ring at refs 2i, 2i+1, port 10 + i. */
static blkif_front_ring_t mq[4];

static void fe_connect_mq(unsigned nq)
{
	char v[16];

	fset("1", FE "/ring-page-order");
	snprintf(v, sizeof(v), "%u", nq);
	fset(v, FE "/multi-queue-num-queues");
	for (unsigned i = 0; i < nq; i++) {
		memset(fk.pages[2 * i], 0, 2 * 4096);
		blkif_sring_t *s = (blkif_sring_t *)fk.pages[2 * i];
		SHARED_RING_INIT(s);
		FRONT_RING_INIT(&mq[i], s, 2 * 4096);
		snprintf(v, sizeof(v), "%u", 2 * i);
		fset(v, FE "/queue-%u/ring-ref0", i);
		snprintf(v, sizeof(v), "%u", 2 * i + 1);
		fset(v, FE "/queue-%u/ring-ref1", i);
		snprintf(v, sizeof(v), "%u", 10 + i);
		fset(v, FE "/queue-%u/event-channel", i);
	}
	fset("x86_64-abi", FE "/protocol");
	fset("3", FE "/state");
	pump();
}

static struct blkif_response mq_submit(unsigned qi, const struct blkif_request *req)
{
	blkif_front_ring_t *f = &mq[qi];
	*RING_GET_REQUEST(f, f->req_prod_pvt) = *req;
	f->req_prod_pvt++;
	RING_PUSH_REQUESTS(f);
	assert_non_null(fk.kick[10 + qi]);
	fk.kick[10 + qi](fk.kick_arg[10 + qi]);
	settle();
	assert_true(RING_HAS_UNCONSUMED_RESPONSES(f));
	struct blkif_response r = *RING_GET_RESPONSE(f, f->rsp_cons);
	f->rsp_cons++;
	return r;
}

static void test_multi_queue(void **state)
{
	assert_string_equal(fget(BE "/multi-queue-max-queues"), "4");
	fe_connect_mq(3);
	assert_string_equal(be_state(), "4");
	assert_int_equal(fk.live_maps, 6);
	for (unsigned i = 0; i < 3; i++)
		assert_non_null(fk.kick[10 + i]);
	assert_null(fk.kick[13]);

	/* Each queue serves its own ring and answers there: a write on
	 * queue 1, read back on queues 2 and 0. */
	memset(fk.pages[DATA_REF], 0x3c, 4096);
	struct blkif_request w = rw(BLKIF_OP_WRITE, 8, 1, DATA_REF);
	w.id = 11;
	struct blkif_response rsp = mq_submit(1, &w);
	assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
	assert_int_equal(rsp.id, 11);
	assert_int_equal(fk.last_notify, 11);
	assert_int_equal(mq[0].sring->rsp_prod, 0);
	assert_int_equal(mq[2].sring->rsp_prod, 0);
	for (unsigned qi = 2;; qi = 0) {
		struct blkif_request r = rw(BLKIF_OP_READ, 8, 1, DATA_REF + 1 + qi);
		r.id = 20 + qi;
		memset(fk.pages[DATA_REF + 1 + qi], 0, 4096);
		rsp = mq_submit(qi, &r);
		assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
		assert_int_equal(rsp.id, 20 + qi);
		assert_int_equal(fk.last_notify, 10 + qi);
		assert_memory_equal(fk.pages[DATA_REF + 1 + qi], fk.pages[DATA_REF], 4096);
		if (!qi)
			break;
	}
	/* A flush on queue 0 while queue 2 is idle. */
	struct blkif_request f = {.operation = BLKIF_OP_FLUSH_DISKCACHE, .id = 30};
	assert_int_equal(mq_submit(0, &f).status, BLKIF_RSP_OKAY);
	/* A bad request on one queue does not touch the others. */
	struct blkif_request bad = rw(BLKIF_OP_READ, SECTORS, 1, DATA_REF);
	assert_int_equal(mq_submit(2, &bad).status, BLKIF_RSP_ERROR);
	assert_int_equal(mq[1].sring->rsp_prod, 1);

	/* An overflowing ring on one queue ends the whole connection. */
	mq[1].sring->req_prod = 500;
	fk.kick[11](fk.kick_arg[11]);
	settle();
	pump();
	assert_string_equal(be_state(), "5");
	for (unsigned i = 0; i < 3; i++)
		assert_null(fk.kick[10 + i]);
	assert_int_equal(fk.live_maps, 0);

	/* Bad keys: more queues than offered, none, a missing event channel,
	 * one port for two queues, a queue's bad ring ref. */
	fe_restart();
	fset("5", FE "/multi-queue-num-queues");
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");
	fe_restart();
	fset("0", FE "/multi-queue-num-queues");
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");
	fe_restart();
	fe_connect_mq(2);
	assert_string_equal(be_state(), "4");
	fe_restart();
	fset("2", FE "/multi-queue-num-queues");
	f_rm(NULL, FE "/queue-1/event-channel");
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");
	assert_int_equal(fk.live_maps, 0);
	fe_restart();
	fset("10", FE "/queue-1/event-channel");
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");
	assert_int_equal(fk.live_maps, 0);
	fe_restart();
	fset("11", FE "/queue-1/event-channel");
	fset("4000", FE "/queue-1/ring-ref1");
	fset("3", FE "/state");
	pump();
	assert_string_equal(be_state(), "5");
	assert_int_equal(fk.live_maps, 0);
	assert_null(fk.kick[10]);

	/* Back to one queue: the top-level keys. */
	fe_restart();
	f_rm(NULL, FE "/multi-queue-num-queues");
	f_rm(NULL, FE "/ring-page-order");
	fe_connect(0);
	assert_string_equal(be_state(), "4");
	struct blkif_request r = rw(BLKIF_OP_READ, 8, 1, DATA_REF + 5);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_memory_equal(fk.pages[DATA_REF + 5], fk.pages[DATA_REF], 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_handshake_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hot_unplug, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_frontend_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_and_barrier, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multipage_ring, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multi_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_index_overflow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly_disk, setup_ro, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_image, setup, teardown),
	};
	const struct CMUnitTest own[] = {
	    cmocka_unit_test_setup_teardown(test_flush_orders_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grants_held_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_queue_unarmed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disconnect_in_flight, setup, teardown),
	};
	const struct CMUnitTest nbd[] = {
	    cmocka_unit_test(test_probe_format),
	    cmocka_unit_test(test_nbd_errors),
	};
	int fails = 0;
	struct io_uring ring;
	bool have_uring = io_uring_queue_init(4, &ring, 0) == 0;
	bool have_nbd = system("qemu-nbd --version >/dev/null 2>&1 && "
			       "qemu-img --version >/dev/null 2>&1") == 0;

	base = event_base_new();
	mode = M_SYNC;
	fails += cmocka_run_group_tests_name("blkback (sync)", tests, NULL, NULL);
	fails += cmocka_run_group_tests_name("blkback ordering (sync)", own, NULL, NULL);
	if (have_uring) {
		io_uring_queue_exit(&ring);
		mode = M_URING;
		fails += cmocka_run_group_tests_name("blkback (io_uring)", tests, NULL, NULL);
		fails +=
		    cmocka_run_group_tests_name("blkback ordering (io_uring)", own, NULL, NULL);
	} else {
		printf("(io_uring unavailable here: its groups skipped)\n");
	}
	if (have_nbd) {
		mode = M_NBD;
		fails +=
		    cmocka_run_group_tests_name("blkback (qemu-nbd, qcow2)", tests, NULL, NULL);
		fails +=
		    cmocka_run_group_tests_name("blkback ordering (qemu-nbd)", own, NULL, NULL);
		fails += cmocka_run_group_tests_name("blkio (qemu-nbd)", nbd, NULL, NULL);
	} else {
		printf("(qemu-nbd/qemu-img not installed: their groups skipped)\n");
	}
	event_base_free(base);
	return fails;
}
