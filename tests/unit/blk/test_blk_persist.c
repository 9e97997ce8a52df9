/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkback's persistent grants (feature-persistent) against the fakes: the
 * negotiation (both ends, any non-zero value, off when either says no), a
 * ref mapped once and reused (read-only first, upgraded when a read needs
 * it writable), indirect pages kept too, the per-queue limit (a ref over
 * it mapped for its request only, then the least recently used idle ones
 * purged, never one in use), everything given back on disconnect, unplug
 * and reconnect; and a hostile frontend rewriting entries it granted
 * (revoked, read-only, pointed at another page) while they are kept: the
 * backend never touches a page that is no longer granted as it needs.
 * The cache (blk-persist.c) is also driven directly.  Runs with the
 * synchronous and the io_uring backend.
 */
#include "fakefront.h"
#include "blk-persist.h"

static void fe_connect_persist(const char *value)
{
	if (value)
		fset(value, FE "/feature-persistent");
	fe_connect(0);
	assert_string_equal(be_state(), "4");
}

static struct xk_pgrants_stats pstats(void)
{
	struct xk_pgrants_stats s;
	xk_blk_pgrants(dev, &s);
	return s;
}

static unsigned cached(void)
{
	return xk_blk_pgrants(dev, NULL);
}

static int setup_small(void **state)
{
	cfg_max_pgrants = 8;
	int rc = open_disk(false, false);
	cfg_max_pgrants = 0;
	return rc;
}

static int setup_off(void **state)
{
	cfg_no_persistent = true;
	int rc = open_disk(false, false);
	cfg_no_persistent = false;
	return rc;
}

/* ---- negotiation ---- */

static void test_negotiation(void **state)
{
	assert_string_equal(fget(BE "/feature-persistent"), "1");
	/* A frontend that does not ask: every grant unmapped at completion. */
	fe_connect_persist(NULL);
	assert_false(xk_blk_persistent(dev));
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 2, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.live_maps, 1); /* the ring */
	assert_int_equal(fk.wpins[DATA_REF], 0);

	const char *no[] = {"0", "x", "", "99999999999"};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		fe_restart();
		fe_connect_persist(no[i]);
		assert_false(xk_blk_persistent(dev));
		assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
		assert_int_equal(fk.live_maps, 1);
	}
	/* Any non-zero value asks (Linux reads it with %u). */
	const char *yes[] = {"1", "2"};
	for (size_t i = 0; i < 2; i++) {
		fe_restart();
		fe_connect_persist(yes[i]);
		assert_true(xk_blk_persistent(dev));
		assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
		assert_int_equal(fk.live_maps, 3); /* the ring and both pages, kept */
		assert_int_equal(fk.wpins[DATA_REF], 1);
		assert_int_equal(fk.wpins[DATA_REF + 1], 1);
		assert_int_equal(cached(), 2);
	}
}

/* The backend does not offer it: a frontend's request is ignored. */
static void test_not_offered(void **state)
{
	assert_string_equal(fget(BE "/feature-persistent"), "0");
	fe_connect_persist("1");
	assert_false(xk_blk_persistent(dev));
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 1, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.live_maps, 1);
}

/* ---- reuse ---- */

static void test_reuse(void **state)
{
	fe_connect_persist("1");
	for (unsigned i = 0; i < 3; i++)
		memset(fk.pages[DATA_REF + i], 0x61 + i, 4096);
	struct blkif_request w = rw(BLKIF_OP_WRITE, 40, 3, DATA_REF);
	unsigned maps = fk.map_calls;
	assert_int_equal(submit(&w).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.map_calls, maps + 3);
	/* A write only reads guest pages: read-only pins, kept. */
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(fk.rpins[DATA_REF + i], 1);
		assert_int_equal(fk.wpins[DATA_REF + i], 0);
		check_image((40 + 8 * i) * 512ULL, fk.pages[DATA_REF + i], 4096);
	}
	/* The same refs again, with other data: no map at all. */
	for (unsigned i = 0; i < 3; i++)
		memset(fk.pages[DATA_REF + i], 0x71 + i, 4096);
	maps = fk.map_calls;
	assert_int_equal(submit(&w).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.map_calls, maps);
	for (unsigned i = 0; i < 3; i++)
		check_image((40 + 8 * i) * 512ULL, fk.pages[DATA_REF + i], 4096);
	assert_int_equal(pstats().hits, 3);
	assert_int_equal(pstats().misses, 3);

	/* A read of them needs them writable: each pin is upgraded once. */
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 3, DATA_REF);
	for (unsigned i = 0; i < 3; i++)
		memset(fk.pages[DATA_REF + i], 0, 4096);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(fk.rpins[DATA_REF + i], 0);
		assert_int_equal(fk.wpins[DATA_REF + i], 1);
		assert_int_equal(fk.pages[DATA_REF + i][100], pattern(i * 4096 + 100));
	}
	assert_int_equal(pstats().upgrades, 3);
	maps = fk.map_calls;
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(submit(&w).status, BLKIF_RSP_OKAY); /* a writable pin serves a write */
	assert_int_equal(fk.map_calls, maps);
	assert_int_equal(cached(), 3);
	assert_int_equal(fk.live_maps, 4);
	/* Every use was checked against the entry. */
	assert_true(fk.check_calls >= pstats().hits);

	/* The same ref twice in one request: one entry, two users. */
	struct blkif_request d = rw(BLKIF_OP_READ, 8, 2, DATA_REF + 5);
	d.seg[1].gref = DATA_REF + 5;
	d.seg[1].first_sect = 0;
	d.seg[1].last_sect = 3;
	assert_int_equal(submit(&d).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.wpins[DATA_REF + 5], 1);
	assert_int_equal(cached(), 4);
}

static void test_indirect_kept(void **state)
{
	fe_connect_persist("1");
	uint32_t iref = DATA_REF + 60;
	struct blkif_request_segment *s = (void *)fk.pages[iref];
	for (unsigned i = 0; i < 20; i++) {
		memset(fk.pages[DATA_REF + i], 0x10 + i, 4096);
		s[i] = (struct blkif_request_segment){
		    .gref = DATA_REF + i, .first_sect = 0, .last_sect = 7};
	}
	struct blkif_request_indirect ind = {.operation = BLKIF_OP_INDIRECT,
					     .indirect_op = BLKIF_OP_WRITE,
					     .nr_segments = 20,
					     .id = 5,
					     .sector_number = 512,
					     .indirect_grefs = {iref}};
	assert_int_equal(submit(&ind).status, BLKIF_RSP_OKAY);
	assert_int_equal(cached(), 21); /* 20 data pages and the indirect page */
	assert_int_equal(fk.rpins[iref], 1);
	unsigned maps = fk.map_calls;
	ind.indirect_op = BLKIF_OP_READ;
	for (unsigned i = 0; i < 20; i++)
		memset(fk.pages[DATA_REF + i], 0, 4096);
	assert_int_equal(submit(&ind).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.map_calls, maps + 20); /* upgrades only */
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(fk.pages[DATA_REF + i][4095], 0x10 + i);
	assert_int_equal(fk.rpins[iref], 1); /* the backend only reads it */
	assert_int_equal(fk.wpins[iref], 0);
	/* A bad segment behind a kept indirect page: an error, nothing leaks. */
	s[7].gref = 5000;
	assert_int_equal(submit(&ind).status, BLKIF_RSP_ERROR);
	assert_int_equal(cached(), 21);
	assert_int_equal(fk.live_maps, 22);
}

/* ---- the limit ---- */

/* One single-segment write per ref. */
static void touch(uint32_t ref, int16_t want)
{
	struct blkif_request w = rw(BLKIF_OP_WRITE, 8 * (ref % 64), 1, ref);
	assert_int_equal(submit(&w).status, want);
}

static void test_limit(void **state)
{
	fe_connect_persist("1");
	for (unsigned i = 0; i < 8; i++)
		touch(DATA_REF + i, BLKIF_RSP_OKAY);
	assert_int_equal(cached(), 8);
	/* Over the limit: mapped for its request only, then the least
	 * recently used idle entry (the first ref) is purged. */
	touch(DATA_REF + 8, BLKIF_RSP_OKAY);
	assert_int_equal(fk.rpins[DATA_REF + 8], 0);
	assert_int_equal(pstats().oneshot, 1);
	assert_int_equal(cached(), 7);
	assert_int_equal(fk.rpins[DATA_REF], 0);
	assert_int_equal(fk.rpins[DATA_REF + 1], 1);
	/* Reusing ref 1 makes ref 2 the oldest. */
	touch(DATA_REF + 1, BLKIF_RSP_OKAY);
	touch(DATA_REF + 9, BLKIF_RSP_OKAY); /* fits in the freed slot */
	assert_int_equal(fk.rpins[DATA_REF + 9], 1);
	touch(DATA_REF + 10, BLKIF_RSP_OKAY);
	assert_int_equal(fk.rpins[DATA_REF + 10], 0);
	assert_int_equal(fk.rpins[DATA_REF + 2], 0);
	assert_int_equal(fk.rpins[DATA_REF + 1], 1);
	assert_int_equal(cached(), 7);

	/* A frontend cycling through many refs never holds more than the
	 * limit, whatever it sends. */
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < 70; i++) {
			touch(DATA_REF + i, BLKIF_RSP_OKAY);
			assert_true(cached() <= 8);
			assert_true(fk.live_maps <= 1 + 8);
		}
	/* 11 new refs in one request: 8 kept at most, all in use while it
	 * runs; the purge that follows takes only idle ones. */
	fe_restart();
	fe_connect_persist("1");
	struct blkif_request w = rw(BLKIF_OP_WRITE, 0, 11, DATA_REF + 20);
	push(&w);
	kick_nowait();
	if (mode == M_URING) {
		assert_int_equal(xk_blk_inflight(dev), 1);
		assert_int_equal(cached(), 8); /* none idle: none purged */
	}
	settle();
	assert_int_equal(pop().status, BLKIF_RSP_OKAY);
	assert_int_equal(pstats().oneshot, 3);
	assert_int_equal(fk.live_maps, 1 + cached());
	assert_true(cached() >= 7);
}

/* ---- release ---- */

static void test_release(void **state)
{
	fe_connect_persist("1");
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 4, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.live_maps, 5);
	/* Closing: every kept grant is unmapped (the frontend can end them). */
	fset("5", FE "/state");
	pump();
	assert_int_equal(fk.live_maps, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fk.wpins[DATA_REF + i], 0);
	fset("6", FE "/state");
	pump();
	fset("1", FE "/state");
	pump();
	/* Reconnect without it: nothing is kept any more. */
	f_rm(NULL, FE "/feature-persistent");
	fe_connect_persist(NULL);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.live_maps, 1);
	/* And with it again: a fresh cache. */
	fe_restart();
	fe_connect_persist("1");
	assert_int_equal(cached(), 0);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(pstats().misses, 4);
	assert_int_equal(pstats().hits, 0);

	/* Requests in flight at a disconnect complete, then all goes. */
	for (unsigned i = 0; i < 4; i++) {
		memset(fk.pages[DATA_REF + 10 + i], 0x40 + i, 4096);
		struct blkif_request w = rw(BLKIF_OP_WRITE, 300 + 8 * i, 1, DATA_REF + 10 + i);
		push(&w);
	}
	kick_nowait();
	fset("6", FE "/state");
	pump();
	assert_int_equal(xk_blk_inflight(dev), 0);
	assert_int_equal(fk.live_maps, 0);
	for (unsigned i = 0; i < 4; i++)
		check_image((300 + 8 * i) * 512ULL, fk.pages[DATA_REF + 10 + i], 4096);

	/* Hot-unplug of a connected device with kept grants. */
	fset("1", FE "/state");
	pump();
	fe_connect_persist("1");
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.live_maps, 5);
	xk_bus_remove(dev);
	pump();
	fset("6", FE "/state");
	pump();
	assert_null(xk_bus_find(bus, "vbd", 51712));
	dev = NULL;
	assert_int_equal(fk.live_maps, 0);
}

/* Guest shutdown (xk_bus_free) with kept grants: teardown checks. */
static void test_release_at_shutdown(void **state)
{
	fe_connect_persist("1");
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 11, DATA_REF);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.live_maps, 12);
}

/* ---- hostile ---- */

static void test_entry_rewritten(void **state)
{
	fe_connect_persist("1");
	uint32_t a = DATA_REF, b = DATA_REF + 1, c = DATA_REF + 2;
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 1, a);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);

	/* Revoked while kept: the kept entry goes, the request fails, the
	 * page is not written. */
	fk.revoked[a] = true;
	memset(fk.pages[a], 0xee, 4096);
	assert_int_equal(submit(&r).status, BLKIF_RSP_ERROR);
	assert_int_equal(fk.wpins[a], 0);
	assert_int_equal(fk.pages[a][0], 0xee);
	assert_int_equal(cached(), 0);
	assert_int_equal(pstats().stale, 1);
	fk.revoked[a] = false; /* granted again: mapped afresh */
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.pages[a][0], pattern(0));

	/* Pointed at another page: the data goes to the page granted now. */
	fk.moved[a] = c + 1;
	memset(fk.pages[a], 0xee, 4096);
	memset(fk.pages[c], 0, 4096);
	assert_int_equal(submit(&r).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.pages[a][0], 0xee);
	assert_int_equal(fk.pages[c][0], pattern(0));
	assert_int_equal(fk.wpins[a], 1); /* one pin, the new one */
	fk.moved[a] = 0;

	/* Made read-only under a writable pin: a read into it fails and
	 * drops the pin; a write from it maps it read-only. */
	struct blkif_request rb = rw(BLKIF_OP_READ, 8, 1, b);
	assert_int_equal(submit(&rb).status, BLKIF_RSP_OKAY);
	fk.readonly[b] = true;
	memset(fk.pages[b], 0xee, 4096);
	assert_int_equal(submit(&rb).status, BLKIF_RSP_ERROR);
	assert_int_equal(fk.wpins[b], 0);
	assert_int_equal(fk.pages[b][0], 0xee);
	struct blkif_request wb = rw(BLKIF_OP_WRITE, 8, 1, b);
	assert_int_equal(submit(&wb).status, BLKIF_RSP_OKAY);
	assert_int_equal(fk.rpins[b], 1);
	check_image(8 * 512, fk.pages[b], 4096);
	/* ... and a read still cannot upgrade it. */
	assert_int_equal(submit(&rb).status, BLKIF_RSP_ERROR);
	assert_int_equal(fk.rpins[b], 1);
	assert_int_equal(fk.wpins[b], 0);
	assert_int_equal(fk.pages[b][0], 0xee);

	/* A good ref kept, then a bad one in the same request: refused, the
	 * good one stays kept and idle, nothing leaks. */
	struct blkif_request mix = rw(BLKIF_OP_READ, 0, 2, c);
	mix.seg[1].gref = 4000;
	assert_int_equal(submit(&mix).status, BLKIF_RSP_ERROR);
	assert_int_equal(fk.live_maps, 1 + cached());
	assert_string_equal(be_state(), "4");
}

/* Rewritten while a request holding it is in flight (io_uring): that
 * request keeps its pin to the end; the next one maps the new page. */
static void test_rewritten_in_flight(void **state)
{
	fe_connect_persist("1");
	uint32_t a = DATA_REF + 3, c = DATA_REF + 4;
	memset(fk.pages[a], 0x5a, 4096);
	struct blkif_request w = rw(BLKIF_OP_WRITE, 64, 1, a);
	assert_int_equal(submit(&w).status, BLKIF_RSP_OKAY);
	push(&w);
	kick_nowait();
	fk.moved[a] = c + 1;
	memset(fk.pages[c], 0xa5, 4096);
	struct blkif_request w2 = rw(BLKIF_OP_WRITE, 72, 1, a);
	push(&w2);
	kick();
	assert_int_equal(pop().status, BLKIF_RSP_OKAY);
	assert_int_equal(pop().status, BLKIF_RSP_OKAY);
	check_image(64 * 512, fk.pages[a], 4096);
	check_image(72 * 512, fk.pages[c], 4096);
	assert_int_equal(fk.rpins[a], 1); /* the stale entry was dropped */
	assert_int_equal(cached(), 1);
	fk.moved[a] = 0;
}

/* ---- the cache alone ---- */

static void test_cache_direct(void **state)
{
	struct xk_bus_env env = fake_env();
	struct xk_pgrants *c = xk_pgrants_new(4, &env.grant, FAKE_DOMID);
	uint16_t slot[8];
	void *page[8];

	assert_non_null(c);
	assert_null(xk_pgrants_new(0, &env.grant, FAKE_DOMID));
	assert_null(xk_pgrants_new(XK_PGRANTS_MAX + 1, &env.grant, FAKE_DOMID));
	/* Six held at once: four kept, two for their request only. */
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(xk_pgrants_get(c, DATA_REF + i, false, &page[i], &slot[i]), 0);
		assert_ptr_equal(page[i], fk.pages[DATA_REF + i]);
	}
	assert_int_equal(slot[4], XK_PGRANT_NONE);
	assert_int_equal(slot[5], XK_PGRANT_NONE);
	assert_int_equal(xk_pgrants_count(c), 4);
	xk_pgrants_purge(c); /* all in use: nothing to take */
	assert_int_equal(xk_pgrants_count(c), 4);
	for (unsigned i = 6; i-- > 0;)
		xk_pgrants_put(c, slot[i], DATA_REF + i, false);
	assert_int_equal(fk.live_maps, 4);
	xk_pgrants_purge(c); /* nothing overflowed since the last one */
	assert_int_equal(xk_pgrants_count(c), 4);
	/* Idle in the order 3, 2, 1, 0: an overflow purges ref 3 first. */
	assert_int_equal(xk_pgrants_get(c, DATA_REF + 9, false, &page[0], &slot[0]), 0);
	assert_int_equal(slot[0], XK_PGRANT_NONE);
	xk_pgrants_put(c, slot[0], DATA_REF + 9, false);
	xk_pgrants_purge(c);
	assert_int_equal(fk.rpins[DATA_REF + 3], 0);
	assert_int_equal(fk.rpins[DATA_REF + 2], 1);
	/* A map that fails holds nothing. */
	assert_int_equal(xk_pgrants_get(c, 4000, false, &page[0], &slot[0]), -EPERM);
	fk.readonly[DATA_REF + 7] = true;
	assert_int_equal(xk_pgrants_get(c, DATA_REF + 7, true, &page[0], &slot[0]), -EPERM);
	/* Clear with one in use: the idle ones go now, that one at its put. */
	assert_int_equal(xk_pgrants_get(c, DATA_REF, false, &page[0], &slot[0]), 0);
	xk_pgrants_clear(c);
	assert_int_equal(fk.live_maps, 1);
	xk_pgrants_put(c, slot[0], DATA_REF, false);
	assert_int_equal(fk.live_maps, 0);
	assert_int_equal(xk_pgrants_count(c), 0);
	assert_int_equal(fk.bad_unmaps, 0);
	xk_pgrants_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_offered, setup_off, teardown),
	    cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limit, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_at_shutdown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_entry_rewritten, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rewritten_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_direct, setup, teardown),
	};
	int fails = 0;
	struct io_uring ring;
	bool have_uring = io_uring_queue_init(4, &ring, 0) == 0;

	base = event_base_new();
	mode = M_SYNC;
	fails += cmocka_run_group_tests_name("persistent grants (sync)", tests, NULL, NULL);
	if (have_uring) {
		io_uring_queue_exit(&ring);
		mode = M_URING;
		fails +=
		    cmocka_run_group_tests_name("persistent grants (io_uring)", tests, NULL, NULL);
	} else {
		printf("(io_uring unavailable here: its group skipped)\n");
	}
	event_base_free(base);
	return fails;
}
