/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A hostile blkfront against the launcher's blkback (run with a scratch
 * disk as xvda, see meson.build): it connects vbd 51712 by hand (grant
 * table, one-page ring, an unbound port for domain 0, the xenstore keys
 * through lib/xs.c) and sends requests one at a time, each answered before
 * the next goes out: a good write and read-back first, then grant refs
 * outside the table, never granted, granted read-only for a read (the
 * backend would write guest memory) or granted to another domain; too many
 * and zero segments; first_sect > last_sect and last_sect > 7; sector
 * ranges past the end of the disk or wrapping around; an unknown
 * operation; indirect requests with a bad indirect page, too many or zero
 * segments, a bad segment gref or a bad inner operation.  Each must get
 * BLKIF_RSP_ERROR (BLKIF_RSP_EOPNOTSUPP for the unknown operation) with its
 * id and the ring goes on: a good indirect read and a good read-back still
 * work.  Then an impossible req_prods[cq] (more than a ring's worth outstanding)
 * ends the connection (backend Closing, with a launcher message), and closing and
 * connecting again gives a ring that serves good requests.  Last, two
 * queues (multi-queue-num-queues 2, queue-N/ring-ref and event-channel):
 * each is served and answered on its own ring; 17 queues are refused, and
 * one queue works again.  Then persistent grants (feature-persistent on
 * both ends): the backend keeps the grants it used mapped (their in-use bits
 * stay set after the answer, so the frontend cannot end them); an entry
 * the guest rewrites anyway - pointed at another page, revoked, made
 * read-only - is never written through its old mapping: the data goes to
 * the page granted now, or the request fails and the page is untouched;
 * closing releases every kept grant.  Every answer means the launcher is
 * still alive (docs/devices.md, "Hostile frontends").
 */
#include "xkg.h"
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#include <xen/io/xenbus.h>

const char test_title[] = "blkfront-hostile: bad grants, bad segments, bad sectors, ring overflow";

#define RING_ENTRIES __CONST_RING_SIZE(blkif, XKG_PAGE_SIZE)
#define VBD	     "device/vbd/51712"

enum {
	REF_RING = 8,
	REF_DATA = 10, /* 10..13: data pages, writable */
	NDATA = 4,
	REF_IND = 14,	  /* indirect segment page (read-only grant) */
	REF_RO = 15,	  /* data[3], read-only */
	REF_OTHER = 16,	  /* data[2], granted to domain 5 */
	REF_UNUSED = 400, /* inside the table, never granted */
	REF_RING1 = 17,	  /* queue 1's ring */
	REF_OUTSIDE = 100000,
};

/* Two queues' rings; submit() and friends work on queue cq. */
static uint8_t ring_pages[2][XKG_PAGE_SIZE] __aligned(4096);
static unsigned cq;
#define sring	  (*(blkif_sring_t *)ring_pages[cq])
#define ring_page ring_pages[0]
static uint8_t data[NDATA][XKG_PAGE_SIZE] __aligned(4096);
static struct blkif_request_segment
    ind_page[XKG_PAGE_SIZE / sizeof(struct blkif_request_segment)] __aligned(4096);
static RING_IDX req_prods[2];
static uint32_t ports[2];
static struct xkg_xb vbd;
static grant_entry_v1_t *gnt;
static uint64_t disk_sectors;
static uint64_t next_id = 1000;

static void kick(void)
{
	xkg_notify(ports[cq]);
}

static void fe_write(const char *key, const char *fmt, unsigned long v)
{
	xkg_xb_write(&vbd, key, fmt, v);
}

static long be_state(void)
{
	return xkg_xb_be_state(&vbd);
}

static bool wait_be_state(long want)
{
	return xkg_xb_wait_be_state(&vbd, want);
}

/* A fresh ring, the keys, Connected. */
static void connect(void)
{
	memset(ring_page, 0, sizeof(ring_page));
	SHARED_RING_INIT(&sring);
	req_prods[cq] = 0;
	fe_write("ring-ref", "%lu", REF_RING);
	fe_write("event-channel", "%lu", ports[cq]);
	CHECK_EQ(xkg_xs_write(VBD "/protocol", "x86_64-abi"), 0, "protocol");
	fe_write("state", "%lu", XenbusStateInitialised);
	CHECK(wait_be_state(XenbusStateConnected), "backend did not connect (state %ld)",
	      be_state());
}

static void close_and_reopen(void)
{
	xkg_xb_restart(&vbd, true);
	connect();
}

/* Put one raw request in the ring, push, kick; wait for its answer and
 * return its status (or 1 when nothing came). */
static int submit(const char *what, const void *req)
{
	RING_IDX r0 = sring.rsp_prod;
	uint64_t id;

	memcpy(&id, (const uint8_t *)req + 8, sizeof(id)); /* id: same offset in every kind */
	memcpy(&sring.ring[req_prods[cq] % RING_ENTRIES].req, req, sizeof(struct blkif_request));
	req_prods[cq]++;
	__atomic_store_n(&sring.req_prod, req_prods[cq], __ATOMIC_RELEASE);
	kick();
	if (!xkg_wait_idx(&sring.rsp_prod, r0 + 1, 3000000UL)) {
		xkg_fail("%s: no response (backend state %ld)", what, be_state());
		return 1;
	}
	blkif_response_t rsp = sring.ring[r0 % RING_ENTRIES].rsp;
	CHECK(rsp.id == id, "%s: response id %lu, expected %lu", what, (unsigned long)rsp.id,
	      (unsigned long)id);
	CHECK(sring.rsp_prod == r0 + 1, "%s: %u responses to one request", what,
	      sring.rsp_prod - r0);
	return rsp.status;
}

static void expect(const char *what, const void *req, int want)
{
	int st = submit(what, req);
	CHECK(st == want, "%s: status %d, expected %d", what, st, want);
	if (st == want)
		printf("blkfront-hostile: %s: status %d as expected\n", what, st);
}

static struct blkif_request rw(uint8_t op, uint64_t sector, unsigned nseg)
{
	struct blkif_request r = {.operation = op,
				  .nr_segments = (uint8_t)nseg,
				  .handle = 0,
				  .id = next_id++,
				  .sector_number = sector};
	return r;
}

static void seg(struct blkif_request *r, unsigned i, uint32_t gref, uint8_t first, uint8_t last)
{
	r->seg[i] =
	    (struct blkif_request_segment){.gref = gref, .first_sect = first, .last_sect = last};
}

static void fill(uint8_t *p, uint8_t tag)
{
	for (unsigned i = 0; i < XKG_PAGE_SIZE; i++)
		p[i] = (uint8_t)(tag ^ i ^ (i >> 8));
}

/* Write a pattern to sectors 0..7 and 16..23 and read both back. */
static void good_io(const char *when, uint8_t tag)
{
	char what[96];
	struct blkif_request r;

	fill(data[0], tag);
	r = rw(BLKIF_OP_WRITE, 0, 1);
	seg(&r, 0, REF_DATA, 0, 7);
	snprintf(what, sizeof(what), "%s: good write", when);
	expect(what, &r, BLKIF_RSP_OKAY);

	memset(data[1], 0xee, XKG_PAGE_SIZE);
	r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	snprintf(what, sizeof(what), "%s: good read", when);
	expect(what, &r, BLKIF_RSP_OKAY);
	CHECK(!memcmp(data[0], data[1], XKG_PAGE_SIZE), "%s: read back differs", when);

	/* Two segments, half pages: sectors 16..19 from the first half of
	 * data[0] and 20..23 from its second half, read back in one. */
	r = rw(BLKIF_OP_WRITE, 16, 2);
	seg(&r, 0, REF_DATA, 0, 3);
	seg(&r, 1, REF_DATA, 4, 7);
	snprintf(what, sizeof(what), "%s: two-segment write", when);
	expect(what, &r, BLKIF_RSP_OKAY);
	memset(data[1], 0xee, XKG_PAGE_SIZE);
	r = rw(BLKIF_OP_READ, 16, 1);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	snprintf(what, sizeof(what), "%s: read of the two-segment write", when);
	expect(what, &r, BLKIF_RSP_OKAY);
	CHECK(!memcmp(data[0], data[1], XKG_PAGE_SIZE), "%s: two-segment read back differs", when);
}

static struct blkif_request_indirect ind(uint8_t op, uint64_t sector, unsigned nseg, uint32_t iref)
{
	struct blkif_request_indirect r = {.operation = BLKIF_OP_INDIRECT,
					   .indirect_op = op,
					   .nr_segments = (uint16_t)nseg,
					   .id = next_id++,
					   .sector_number = sector,
					   .handle = 0};
	r.indirect_grefs[0] = iref;
	return r;
}

static void hostile_requests(void)
{
	struct blkif_request r;

	/* Bad grant refs. */
	r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, REF_OUTSIDE, 0, 7);
	expect("read into a gref outside the table", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0, 1);
	seg(&r, 0, REF_OUTSIDE, 0, 7);
	expect("write from a gref outside the table", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, REF_UNUSED, 0, 7);
	expect("read into a gref never granted", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0, 1);
	seg(&r, 0, 0xffffffffu, 0, 7);
	expect("write from gref 0xffffffff", &r, BLKIF_RSP_ERROR);
	memset(data[3], 0x5a, XKG_PAGE_SIZE);
	r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, REF_RO, 0, 7);
	expect("read into a read-only grant", &r, BLKIF_RSP_ERROR);
	bool untouched = true;
	for (unsigned i = 0; i < XKG_PAGE_SIZE; i++)
		untouched &= data[3][i] == 0x5a;
	CHECK(untouched, "the read-only page was written");
	r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, REF_OTHER, 0, 7);
	expect("read into a grant for domain 5", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0, 1);
	seg(&r, 0, REF_OTHER, 0, 7);
	expect("write from a grant for domain 5", &r, BLKIF_RSP_ERROR);
	/* One good segment and one bad one: the whole request fails. */
	r = rw(BLKIF_OP_READ, 0, 2);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	seg(&r, 1, REF_UNUSED, 0, 7);
	expect("read with its second gref never granted", &r, BLKIF_RSP_ERROR);

	/* Segment counts and sector fields. */
	r = rw(BLKIF_OP_READ, 0, BLKIF_MAX_SEGMENTS_PER_REQUEST + 1);
	for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		seg(&r, i, REF_DATA + 1, 0, 0);
	expect("read of 12 segments without indirect", &r, BLKIF_RSP_ERROR);
	r.nr_segments = 255;
	r.id = next_id++;
	expect("read of 255 segments without indirect", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0, 0);
	expect("write of no segments", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, REF_DATA + 1, 3, 2);
	expect("first_sect > last_sect", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, REF_DATA + 1, 0, 8);
	expect("last_sect 8", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 0, 1);
	seg(&r, 0, REF_DATA, 200, 255);
	expect("first_sect 200, last_sect 255", &r, BLKIF_RSP_ERROR);

	/* Sector ranges. */
	r = rw(BLKIF_OP_READ, disk_sectors - 4, 1);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	expect("read across the end of the disk", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, disk_sectors, 1);
	seg(&r, 0, REF_DATA, 0, 0);
	expect("write just past the end of the disk", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, ~0ull - 3, 1);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	expect("read of a range wrapping around", &r, BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE, 1ull << 61, 1);
	seg(&r, 0, REF_DATA, 0, 7);
	expect("write at sector 2^61 (byte offset overflows)", &r, BLKIF_RSP_ERROR);
	/* The last sector is fine. */
	r = rw(BLKIF_OP_READ, disk_sectors - 1, 1);
	seg(&r, 0, REF_DATA + 1, 7, 7);
	expect("read of the last sector", &r, BLKIF_RSP_OKAY);

	/* Operations. */
	r = rw(77, 0, 1);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	expect("unknown operation 77", &r, BLKIF_RSP_EOPNOTSUPP);
	r = rw(BLKIF_OP_RESERVED_1, 0, 1);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	expect("reserved operation 4", &r, BLKIF_RSP_EOPNOTSUPP);

	/* Indirect requests. */
	struct blkif_request_indirect ir;
	for (unsigned i = 0; i < 2; i++)
		ind_page[i] = (struct blkif_request_segment){
		    .gref = REF_DATA + 1 + i, .first_sect = 0, .last_sect = 7};
	ir = ind(BLKIF_OP_READ, 0, 2, REF_OUTSIDE);
	expect("indirect read, indirect gref outside the table", &ir, BLKIF_RSP_ERROR);
	ir = ind(BLKIF_OP_READ, 0, 2, REF_UNUSED);
	expect("indirect read, indirect gref never granted", &ir, BLKIF_RSP_ERROR);
	ir = ind(BLKIF_OP_READ, 0, 2, REF_OTHER);
	expect("indirect read, indirect page granted to domain 5", &ir, BLKIF_RSP_ERROR);
	ir = ind(BLKIF_OP_READ, 0, 257, REF_IND);
	for (unsigned i = 1; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
		ir.indirect_grefs[i] = REF_IND;
	expect("indirect read of 257 segments", &ir, BLKIF_RSP_ERROR);
	ir = ind(BLKIF_OP_READ, 0, 65535, REF_IND);
	expect("indirect read of 65535 segments", &ir, BLKIF_RSP_ERROR);
	ir = ind(BLKIF_OP_READ, 0, 0, REF_IND);
	expect("indirect read of no segments", &ir, BLKIF_RSP_ERROR);
	ir = ind(BLKIF_OP_DISCARD, 0, 2, REF_IND);
	expect("indirect discard", &ir, BLKIF_RSP_ERROR);
	ir = ind(77, 0, 2, REF_IND);
	expect("indirect with inner operation 77", &ir, BLKIF_RSP_ERROR);
	ir = ind(BLKIF_OP_INDIRECT, 0, 2, REF_IND);
	expect("indirect inside indirect", &ir, BLKIF_RSP_ERROR);
	ind_page[1].gref = REF_UNUSED;
	ir = ind(BLKIF_OP_READ, 0, 2, REF_IND);
	expect("indirect read with a segment gref never granted", &ir, BLKIF_RSP_ERROR);
	ind_page[1] =
	    (struct blkif_request_segment){.gref = REF_DATA + 2, .first_sect = 5, .last_sect = 9};
	ir = ind(BLKIF_OP_READ, 0, 2, REF_IND);
	expect("indirect read with last_sect 9", &ir, BLKIF_RSP_ERROR);
	ind_page[1] =
	    (struct blkif_request_segment){.gref = REF_RO, .first_sect = 0, .last_sect = 7};
	ir = ind(BLKIF_OP_READ, 0, 2, REF_IND);
	expect("indirect read into a read-only grant", &ir, BLKIF_RSP_ERROR);
	ind_page[1] =
	    (struct blkif_request_segment){.gref = REF_DATA + 2, .first_sect = 0, .last_sect = 7};
	ir = ind(BLKIF_OP_READ, disk_sectors - 8, 2, REF_IND);
	expect("indirect read across the end of the disk", &ir, BLKIF_RSP_ERROR);

	/* A good indirect read: sectors 0..15 into data[1] and data[2]
	 * (sectors 0..7 hold what good_io() wrote from data[0]). */
	memset(data[1], 0xee, XKG_PAGE_SIZE);
	ir = ind(BLKIF_OP_READ, 0, 2, REF_IND);
	expect("good indirect read", &ir, BLKIF_RSP_OKAY);
	CHECK(!memcmp(data[0], data[1], XKG_PAGE_SIZE), "indirect read back differs");
}

static bool in_use(unsigned ref)
{
	return __atomic_load_n(&gnt[ref].flags, __ATOMIC_ACQUIRE) & (GTF_reading | GTF_writing);
}

/* Read sectors 0..7 into ref (as good_io left them: data[0]). */
static int read_into(const char *what, unsigned ref)
{
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, ref, 0, 7);
	return submit(what, &r);
}

static void persistent_grants(void)
{
	const unsigned ref = REF_DATA + 1;
	int st;

	CHECK(xkg_xb_be_num(&vbd, "feature-persistent") == 1, "backend feature-persistent %ld",
	      xkg_xb_be_num(&vbd, "feature-persistent"));
	fe_write("feature-persistent", "%lu", 1);
	close_and_reopen();
	good_io("persistent grants", 0x23);
	/* Kept: still marked in use after the answers (Linux's blkfront
	 * tells a kept grant by gnttab_try_end_foreign_access failing). */
	CHECK(in_use(REF_DATA) && (gnt[ref].flags & GTF_writing),
	      "persistent grants: data grants not kept (flags %#x, %#x)", gnt[REF_DATA].flags,
	      gnt[ref].flags);

	/* Pointed at another page behind the backend's back: the data goes
	 * to the page granted now. */
	memset(data[1], 0xee, XKG_PAGE_SIZE);
	memset(data[2], 0, XKG_PAGE_SIZE);
	gnt[ref].frame = (uint32_t)xkg_virt_to_mfn(data[2]);
	st = read_into("read into a kept grant moved to another page", ref);
	CHECK(st == BLKIF_RSP_OKAY, "moved kept grant: status %d", st);
	CHECK(!memcmp(data[2], data[0], XKG_PAGE_SIZE), "moved kept grant: new page not read into");
	for (unsigned i = 0; i < XKG_PAGE_SIZE; i++)
		if (data[1][i] != 0xee) {
			xkg_fail("moved kept grant: the old page was written (byte %u)", i);
			break;
		}
	gnt[ref].frame = (uint32_t)xkg_virt_to_mfn(data[1]);
	CHECK(read_into("read into it moved back", ref) == BLKIF_RSP_OKAY &&
		  !memcmp(data[1], data[0], XKG_PAGE_SIZE),
	      "kept grant moved back: not read into");

	/* Revoked (flags cleared despite the in-use bits), then made
	 * read-only: refused, the page untouched. */
	memset(data[1], 0xee, XKG_PAGE_SIZE);
	__atomic_store_n(&gnt[ref].flags, 0, __ATOMIC_SEQ_CST);
	st = read_into("read into a kept grant the guest revoked", ref);
	CHECK(st == BLKIF_RSP_ERROR && data[1][0] == 0xee && data[1][4095] == 0xee,
	      "revoked kept grant: status %d, page %#x", st, data[1][0]);
	xkg_grant(ref, data[1], 0, false);
	CHECK(read_into("read into it granted again", ref) == BLKIF_RSP_OKAY &&
		  !memcmp(data[1], data[0], XKG_PAGE_SIZE),
	      "granted again: not read into");
	memset(data[1], 0xee, XKG_PAGE_SIZE);
	__atomic_fetch_or(&gnt[ref].flags, GTF_readonly, __ATOMIC_SEQ_CST);
	st = read_into("read into a kept grant made read-only", ref);
	CHECK(st == BLKIF_RSP_ERROR && data[1][0] == 0xee && data[1][4095] == 0xee,
	      "read-only kept grant: status %d, page %#x", st, data[1][0]);
	if (xkg_status() <= XKG_SUCCESS)
		printf("blkfront-hostile: kept grants rewritten by the guest: never written "
		       "through\n");
	xkg_grant(ref, data[1], 0, false);

	/* Closing gives every kept grant back; then without the feature
	 * nothing stays in use after an answer. */
	good_io("persistent grants again", 0x29);
	CHECK(in_use(REF_DATA), "persistent grants again: not kept");
	fe_write("feature-persistent", "%lu", 0);
	close_and_reopen();
	CHECK(!in_use(REF_DATA) && !in_use(ref),
	      "kept grants still in use after closing (%#x, %#x)", gnt[REF_DATA].flags,
	      gnt[ref].flags);
	good_io("without persistent grants", 0x2b);
	CHECK(!in_use(REF_DATA) && !in_use(ref), "grants in use after the answers (%#x, %#x)",
	      gnt[REF_DATA].flags, gnt[ref].flags);
	if (xkg_status() <= XKG_SUCCESS)
		printf("blkfront-hostile: kept grants released on closing\n");
}

void test_main(void)
{
	char buf[64];

	gnt = xkg_gnttab_map();
	if (!gnt)
		return;
	xkg_grant(REF_RING, ring_pages[0], 0, false);
	xkg_grant(REF_RING1, ring_pages[1], 0, false);
	for (unsigned i = 0; i < NDATA; i++)
		xkg_grant(REF_DATA + i, data[i], 0, false);
	xkg_grant(REF_IND, ind_page, 0, true);
	xkg_grant(REF_RO, data[3], 0, true);
	xkg_grant(REF_OTHER, data[2], 5, false);

	ports[cq] = xkg_alloc_unbound(0);

	CHECK(xkg_xb_init(&vbd, VBD) == 0, "no vbd 51712 (run with --disk file:IMG,xvda,w)");
	if (xkg_status() > XKG_SUCCESS)
		return;
	CHECK(wait_be_state(XenbusStateInitWait), "backend not in InitWait");
	long sectors = xkg_xb_be_num(&vbd, "sectors");
	CHECK(sectors >= 64, "backend sectors %ld", sectors);
	if (xkg_status() > XKG_SUCCESS)
		return;
	disk_sectors = (uint64_t)sectors;
	printf("blkfront-hostile: backend %s, %lu sectors, port %u, ring of %u\n", vbd.be_path,
	       (unsigned long)disk_sectors, ports[0], (unsigned)RING_ENTRIES);

	connect();
	if (xkg_status() > XKG_SUCCESS)
		return;
	good_io("first connection", 0x31);
	hostile_requests();
	good_io("after the hostile requests", 0x47);

	/* Ring index overflow: more than a ring's worth outstanding. */
	RING_IDX r0 = sring.rsp_prod;
	__atomic_store_n(&sring.req_prod, r0 + RING_ENTRIES + 1, __ATOMIC_RELEASE);
	kick();
	CHECK(wait_be_state(XenbusStateClosing),
	      "backend not Closing after req_prods[cq] overflow (%ld)", be_state());
	CHECK(sring.rsp_prod == r0, "%u responses to an overflowing ring", sring.rsp_prod - r0);
	/* The reason is in dom0's error node, which this domain may not read
	 * (libxl's permissions); the runner checks the launcher's message. */
	char epath[192];
	snprintf(epath, sizeof(epath), "/local/domain/0/error/%s/error",
		 vbd.be_path + sizeof("/local/domain/0/") - 1);
	CHECK(xkg_xs_read(epath, buf, sizeof(buf)) < 0, "read dom0's error node %s: %s", epath,
	      buf);
	printf("blkfront-hostile: ring overflow ends the connection\n");

	close_and_reopen();
	good_io("reconnected", 0x5c);

	/* A second overflow right after connecting: the first kick sees it. */
	__atomic_store_n(&sring.req_prod, sring.rsp_prod + 1000, __ATOMIC_RELEASE);
	kick();
	CHECK(wait_be_state(XenbusStateClosing), "backend not Closing after a second overflow");
	close_and_reopen();
	good_io("reconnected again", 0x6d);

	/* Two queues (multi-queue-max-queues): each ring is served and
	 * answered on its own, through its own event channel. */
	char mq[16];
	CHECK(xkg_xs_read("/local/domain/0/backend/vbd/1/51712/multi-queue-max-queues", mq,
			  sizeof(mq)) > 0 &&
		  mq[0] >= '2',
	      "multi-queue-max-queues %s", mq);
	ports[1] = xkg_alloc_unbound(0);
	xkg_xb_restart(&vbd, true);
	for (unsigned i = 0; i < 2; i++) {
		memset(ring_pages[i], 0, XKG_PAGE_SIZE);
		SHARED_RING_INIT((blkif_sring_t *)ring_pages[i]);
		req_prods[i] = 0;
	}
	fe_write("multi-queue-num-queues", "%lu", 2);
	fe_write("queue-0/ring-ref", "%lu", REF_RING);
	fe_write("queue-0/event-channel", "%lu", ports[0]);
	fe_write("queue-1/ring-ref", "%lu", REF_RING1);
	fe_write("queue-1/event-channel", "%lu", ports[1]);
	fe_write("state", "%lu", XenbusStateInitialised);
	CHECK(wait_be_state(XenbusStateConnected), "two queues: backend did not connect (%ld)",
	      be_state());
	cq = 1;
	fill(data[0], 0x7e);
	struct blkif_request r = rw(BLKIF_OP_WRITE, 0, 1);
	seg(&r, 0, REF_DATA, 0, 7);
	expect("two queues: write on queue 1", &r, BLKIF_RSP_OKAY);
	cq = 0;
	CHECK(sring.rsp_prod == 0, "queue 0 got queue 1's answer");
	memset(data[1], 0xee, XKG_PAGE_SIZE);
	r = rw(BLKIF_OP_READ, 0, 1);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	expect("two queues: read on queue 0", &r, BLKIF_RSP_OKAY);
	CHECK(!memcmp(data[0], data[1], XKG_PAGE_SIZE), "two queues: read back differs");
	cq = 1;
	CHECK(sring.rsp_prod == 1, "queue 1 got queue 0's answer");
	r = rw(BLKIF_OP_READ, disk_sectors, 1);
	seg(&r, 0, REF_DATA + 1, 0, 7);
	expect("two queues: read past the end on queue 1", &r, BLKIF_RSP_ERROR);
	cq = 0;

	/* More queues than offered: refused; then one queue again. */
	xkg_xb_restart(&vbd, false);
	fe_write("multi-queue-num-queues", "%lu", 17);
	fe_write("state", "%lu", XenbusStateInitialised);
	CHECK(wait_be_state(XenbusStateClosing), "17 queues: backend not Closing (%ld)",
	      be_state());
	fe_write("multi-queue-num-queues", "%lu", 1);
	close_and_reopen();
	good_io("one queue again", 0x11);
	persistent_grants();
	printf("blkfront-hostile: the launcher is still here\n");
}
