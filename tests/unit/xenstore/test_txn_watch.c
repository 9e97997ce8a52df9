/* SPDX-License-Identifier: GPL-2.0-only */
/* xenstore core: transactions, watches, and the per-domain limits on both. */
#include "harness.h"

static void test_txn_commit(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *w = client(0, false);
	uint32_t tx;
	int err;

	assert_int_equal(xwatch(w, "/t", "tok"), 0);
	expect_event(w, "/t", "tok");
	tx = xtx_start(d0);
	assert_true(tx != 0);
	assert_int_equal(xwrite_tx(d0, tx, "/t/a", "1"), 0);
	assert_string_equal(xread_tx(d0, tx, "/t/a", &err), "1");
	/* Invisible outside until commit, and no event yet. */
	assert_null(xread(d0, "/t/a", &err));
	assert_int_equal(err, ENOENT);
	expect_no_event(w);
	assert_int_equal(xtx_end(d0, tx, true), 0);
	assert_string_equal(xread(d0, "/t/a", &err), "1");
	expect_event(w, "/t/a", "tok");
	expect_no_event(w);
	/* The id is gone after the end. */
	assert_int_equal(xwrite_tx(d0, tx, "/t/b", "2"), ENOENT);
}

static void test_txn_abort(void **state)
{
	struct tc *d0 = client(0, false);
	uint32_t tx;
	int err;

	assert_int_equal(xwrite(d0, "/ab", "old"), 0);
	tx = xtx_start(d0);
	assert_int_equal(xwrite_tx(d0, tx, "/ab", "new"), 0);
	assert_int_equal(xone(d0, XS_RM, tx, "/tool", NULL), 0);
	assert_int_equal(xtx_end(d0, tx, false), 0);
	assert_string_equal(xread(d0, "/ab", &err), "old");
	assert_string_equal(xread(d0, "/tool/xenstored", &err), "");
}

static void test_txn_snapshot_conflict(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *o = client(0, false);
	uint32_t tx;
	int err;

	assert_int_equal(xwrite(d0, "/s", "1"), 0);
	tx = xtx_start(d0);
	assert_string_equal(xread_tx(d0, tx, "/s", &err), "1");
	assert_int_equal(xwrite(o, "/s", "2"), 0);
	/* The transaction keeps its view... */
	assert_string_equal(xread_tx(d0, tx, "/s", &err), "1");
	assert_int_equal(xwrite_tx(d0, tx, "/other", "x"), 0);
	/* ...and cannot commit on top of the change. */
	assert_int_equal(xtx_end(d0, tx, true), EAGAIN);
	assert_string_equal(xread(d0, "/s", &err), "2");
	assert_null(xread(d0, "/other", &err));
	assert_int_equal(xtx_end(d0, tx, true), ENOENT);
}

static void test_txn_two_writers(void **state)
{
	struct tc *a = client(0, false);
	struct tc *b = client(0, false);
	uint32_t ta, tb;
	int err;

	assert_int_equal(xwrite(a, "/cnt", "0"), 0);
	ta = xtx_start(a);
	tb = xtx_start(b);
	assert_string_equal(xread_tx(a, ta, "/cnt", &err), "0");
	assert_string_equal(xread_tx(b, tb, "/cnt", &err), "0");
	assert_int_equal(xwrite_tx(a, ta, "/cnt", "1"), 0);
	assert_int_equal(xwrite_tx(b, tb, "/cnt", "1"), 0);
	assert_int_equal(xtx_end(a, ta, true), 0);
	assert_int_equal(xtx_end(b, tb, true), EAGAIN);
	assert_string_equal(xread(a, "/cnt", &err), "1");
	/* Created vs. absent also conflicts. */
	ta = xtx_start(a);
	assert_null(xread_tx(a, ta, "/fresh", &err));
	assert_int_equal(xwrite(b, "/fresh", "b"), 0);
	assert_int_equal(xwrite_tx(a, ta, "/fresh2", "a"), 0);
	assert_int_equal(xtx_end(a, ta, true), EAGAIN);
}

static void test_txn_disjoint(void **state)
{
	struct tc *a = client(0, false);
	struct tc *b = client(0, false);
	uint32_t ta;
	int err;

	assert_int_equal(xwrite(a, "/x/one", "1"), 0);
	assert_int_equal(xwrite(a, "/y/two", "2"), 0);
	ta = xtx_start(a);
	assert_int_equal(xwrite_tx(a, ta, "/x/one", "11"), 0);
	assert_int_equal(xwrite(b, "/y/two", "22"), 0);
	assert_int_equal(xtx_end(a, ta, true), 0);
	assert_string_equal(xread(a, "/x/one", &err), "11");
	assert_string_equal(xread(a, "/y/two", &err), "22");
}

static void test_txn_structure(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *w = client(0, false);
	struct tmsg m;
	uint32_t tx;
	int err;

	assert_int_equal(xwrite(d0, "/r/a/b", "1"), 0);
	assert_int_equal(xwrite(d0, "/r/keep", "k"), 0);
	assert_int_equal(xwatch(w, "/r", "r"), 0);
	expect_event(w, "/r", "r");
	tx = xtx_start(d0);
	assert_int_equal(xone(d0, XS_RM, tx, "/r/a", NULL), 0);
	assert_int_equal(xwrite_tx(d0, tx, "/r/new/deep", "n"), 0);
	assert_int_equal(xchmod(d0, "/r/keep", "r0"), 0); /* outside, unrelated */
	assert_int_equal(xone(d0, XS_DIRECTORY, tx, "/r", &m), 0);
	assert_int_equal(m.h.len, sizeof("keep\0new"));
	assert_int_equal(xtx_end(d0, tx, true), 0);
	assert_int_equal(xs_core_check(core), 0);
	assert_null(xread(d0, "/r/a", &err));
	assert_string_equal(xread(d0, "/r/new/deep", &err), "n");
	/*
	 * The outside change fired at once, the commit's in access order; the
	 * removed child only for watches on exactly it.
	 */
	expect_event(w, "/r/keep", "r");
	expect_event(w, "/r/a", "r");
	expect_event(w, "/r/new/deep", "r");
	expect_no_event(w);
}

static void test_txn_errors(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	uint32_t tx;
	int i, err = 0;

	assert_int_equal(xtx_end(d0, 0, true), ENOENT);
	assert_int_equal(xwrite_tx(d0, 4242, "/x", "1"), ENOENT);
	tx = xtx_start(d0);
	assert_int_equal(req(d0, XS_TRANSACTION_START, tx, ARG(""), NULL), EBUSY);
	assert_int_equal(req(d0, XS_TRANSACTION_END, tx, ARG("maybe"), NULL), EINVAL);
	assert_int_equal(xtx_end(d0, tx, false), 0);
	/* A domain may hold a limited number of open transactions. */
	for (i = 0; i < 20 && !err; i++)
		err = req(d5, XS_TRANSACTION_START, 0, ARG(""), NULL);
	assert_int_equal(err, ENOSPC);
	assert_int_equal(i - 1, core->quota.transactions);
	/* RESET_WATCHES drops them all. */
	assert_int_equal(req(d5, XS_RESET_WATCHES, 0, ARG(""), NULL), 0);
	assert_int_equal(d5->c->ntxns, 0);
}

static void test_txn_node_quota(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	char p[32];
	uint32_t tx;
	int i, err = 0;

	core->quota.transaction_nodes = 5;
	assert_int_equal(xwrite(d0, "/q", ""), 0);
	assert_int_equal(xchmod(d0, "/q", "r0"), 0);
	tx = xtx_start(d5);
	for (i = 0; i < 10 && !err; i++) {
		snprintf(p, sizeof(p), "/q/%d", i);
		xread_tx(d5, tx, p, &err);
		if (err == ENOENT)
			err = 0;
	}
	assert_int_equal(err, ENOSPC);
	assert_int_equal(xtx_end(d5, tx, false), 0);
}

static void test_txn_quota_refusal_keeps_txn(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	char big[2100];
	uint32_t tx;
	int err, i;

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(xone(d0, XS_MKDIR, 0, "/local/domain/5/data", NULL), 0);
	assert_int_equal(xchmod(d0, "/local/domain/5/data", "n5"), 0);
	for (i = 0; i < 8; i++) {
		char p[48];

		snprintf(p, sizeof(p), "/local/domain/5/data/sub/n%d", i);
		assert_int_equal(xwrite(d0, p, "x"), 0);
	}
	core->quota.transaction_nodes = 6;
	tx = xtx_start(d5);
	assert_int_equal(xwrite_tx(d5, tx, "data/ok", "1"), 0);
	/* Refused up front: too big, and a removal touching too many nodes. */
	assert_int_equal(xwrite_tx(d5, tx, "data/big", big), ENOSPC);
	assert_int_equal(xone(d5, XS_RM, tx, "data/sub", NULL), ENOSPC);
	assert_int_equal(xtx_end(d5, tx, true), 0);
	assert_string_equal(xread(d0, "/local/domain/5/data/ok", &err), "1");
	assert_string_equal(xread(d0, "/local/domain/5/data/sub/n7", &err), "x");
}

static void test_watch_basic(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *w = client(0, false);
	struct tmsg m;

	assert_int_equal(xwatch(w, "/w", "tok"), 0);
	/* Fired once on registration, after the OK. */
	expect_event(w, "/w", "tok");
	expect_no_event(w);
	assert_int_equal(xwrite(d0, "/w", "1"), 0);
	expect_event(w, "/w", "tok");
	assert_int_equal(xwrite(d0, "/w/child/deeper", "1"), 0);
	expect_event(w, "/w/child/deeper", "tok");
	assert_int_equal(xwrite(d0, "/wx", "1"), 0);		/* not a child */
	assert_int_equal(xone(d0, XS_MKDIR, 0, "/w", NULL), 0); /* exists: no change */
	expect_no_event(w);
	assert_int_equal(xchmod(d0, "/w", "n0 r3"), 0);
	expect_event(w, "/w", "tok");
	assert_int_equal(xwatch(w, "/w", "tok"), EEXIST);
	assert_int_equal(xwatch(w, "/w", "tok2"), 0);
	expect_event(w, "/w", "tok2");
	assert_int_equal(xtwo(w, XS_UNWATCH, "/w", "tok"), 0);
	assert_int_equal(xtwo(w, XS_UNWATCH, "/w", "tok"), ENOENT);
	assert_int_equal(xwatch(w, "bad//path", "t"), EINVAL);
	/* The reply to WATCH comes before the initial event. */
	assert_int_equal(req(w, XS_WATCH, 0, ARG("/o\0t"), &m), 0);
	assert_int_equal(w->box[w->n - 1].h.type, XS_WATCH_EVENT);
}

static void test_watch_order(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *w1 = client(0, false);
	struct tc *w2 = client(0, false);

	assert_int_equal(xwatch(w1, "/o", "t1"), 0);
	assert_int_equal(xwatch(w1, "/o/x", "t2"), 0);
	assert_int_equal(xwatch(w2, "/", "t3"), 0);
	expect_event(w1, "/o", "t1");
	expect_event(w1, "/o/x", "t2");
	expect_event(w2, "/", "t3");
	assert_int_equal(xwrite(d0, "/o/x", "1"), 0);
	assert_int_equal(xwrite(d0, "/o/y", "2"), 0);
	assert_int_equal(xwrite(d0, "/o/x", "3"), 0);
	/* Per connection: in change order, then registration order. */
	expect_event(w1, "/o/x", "t1");
	expect_event(w1, "/o/x", "t2");
	expect_event(w1, "/o/y", "t1");
	expect_event(w1, "/o/x", "t1");
	expect_event(w1, "/o/x", "t2");
	expect_no_event(w1);
	expect_event(w2, "/o/x", "t3");
	expect_event(w2, "/o/y", "t3");
	expect_event(w2, "/o/x", "t3");
	expect_no_event(w2);
}

static void test_watch_rm(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *w = client(0, false);

	assert_int_equal(xwrite(d0, "/d/b/c", "1"), 0);
	assert_int_equal(xwatch(w, "/d/b/c", "c"), 0);
	assert_int_equal(xwatch(w, "/d", "d"), 0);
	expect_event(w, "/d/b/c", "c");
	expect_event(w, "/d", "d");
	assert_int_equal(xone(d0, XS_RM, 0, "/d", NULL), 0);
	/* Children first, exact; the removed root for watches above it. */
	expect_event(w, "/d/b/c", "c");
	expect_event(w, "/d", "d");
	expect_no_event(w);
}

static void test_watch_relative_and_perms(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);

	assert_int_equal(xone(d0, XS_MKDIR, 0, "/local/domain/5/device", NULL), 0);
	assert_int_equal(xchmod(d0, "/local/domain/5", "n0 r5"), 0);
	assert_int_equal(xchmod(d0, "/local/domain/5/device", "n0 r5"), 0);
	assert_int_equal(xwatch(d5, "device", "rel"), 0);
	expect_event(d5, "device", "rel");
	assert_int_equal(xwrite(d0, "/local/domain/5/device/vbd", "x"), 0);
	expect_event(d5, "device/vbd", "rel");
	/* No events about nodes it cannot read (nor their parent). */
	assert_int_equal(xwatch(d5, "/secret", "s"), 0);
	expect_event(d5, "/secret", "s");
	assert_int_equal(xwrite(d0, "/secret/x", "1"), 0);
	expect_no_event(d5);
	assert_int_equal(xchmod(d0, "/secret/x", "n0 r5"), 0);
	expect_event(d5, "/secret/x", "s");
	/* Losing access still tells about that change (old permissions). */
	assert_int_equal(xchmod(d0, "/secret/x", "n0"), 0);
	expect_event(d5, "/secret/x", "s");
	assert_int_equal(xwrite(d0, "/secret/x", "2"), 0);
	expect_no_event(d5);
}

static void test_watch_depth(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *w = client(0, false);

	assert_int_equal(req(w, XS_WATCH, 0,
			     ARG("/dd\0t\0"
				 "1"),
			     NULL),
			 0);
	expect_event(w, "/dd", "t");
	assert_int_equal(xwrite(d0, "/dd/x/y", "1"), 0);
	expect_no_event(w);
	assert_int_equal(xwrite(d0, "/dd/x", "1"), 0);
	expect_event(w, "/dd/x", "t");
	assert_int_equal(req(w, XS_WATCH, 0, ARG("/dd\0t2\0abc"), NULL), EINVAL);
}

static void test_watch_special(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	int err;

	assert_int_equal(xwatch(d5, "@releaseDomain", "r"), 0);
	expect_event(d5, "@releaseDomain", "r");
	assert_int_equal(xwatch(d0, "@releaseDomain/9", "r9"), 0);
	expect_event(d0, "@releaseDomain/9", "r9");
	assert_non_null(xs_domain_introduce(core, 8, NULL, &err));
	assert_non_null(xs_domain_introduce(core, 9, NULL, &err));
	/* Without an ACL entry a domain hears nothing. */
	xs_domain_release(core, xs_domain_find(core, 8));
	drain_all();
	expect_no_event(d5);
	expect_no_event(d0);
	assert_int_equal(xchmod(d5, "@releaseDomain", "n5"), EACCES);
	assert_int_equal(xchmod(d0, "@releaseDomain", "n0 r5"), 0);
	assert_int_equal(xchmod(d0, "@bogus", "n0"), EINVAL);
	xs_domain_shutdown(core, xs_domain_find(core, 9));
	xs_domain_shutdown(core, xs_domain_find(core, 9)); /* once */
	drain_all();
	expect_event(d5, "@releaseDomain", "r");
	expect_no_event(d5);
	expect_event(d0, "@releaseDomain/9", "r9");
}

static void test_watch_quota(void **state)
{
	struct tc *d5 = client(5, true);
	char tok[16];
	int i, err = 0;

	core->quota.watches = 4;
	for (i = 0; i < 10 && !err; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		err = xwatch(d5, "/any", tok);
	}
	assert_int_equal(err, E2BIG);
	assert_int_equal(d5->c->nwatches, 4);
}

static void test_event_backlog_bounded(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	/* Watchers that never read (not drained by the harness). */
	struct xs_conn *lazy0 = xs_conn_new(core, 0, false, NULL, NULL);
	struct xs_conn *lazy5 = xs_conn_new(core, 5, true, NULL, NULL);
	struct xsd_sockmsg h = { .type = XS_WATCH, .len = 4 };
	uint8_t buf[sizeof(h) + 4];
	char longname[1801], path[1900];
	int i;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "/\0t", 4);
	assert_int_equal(xs_conn_feed(lazy0, buf, sizeof(buf)), (long)sizeof(buf));
	assert_int_equal(xs_conn_feed(lazy5, buf, sizeof(buf)), (long)sizeof(buf));
	assert_int_equal(xchmod(d0, "/", "r0"), 0);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	/* ~1.8 KiB per event: 4000 of them are far more than 4 MiB. */
	for (i = 0; i < 4000; i++) {
		snprintf(path, sizeof(path), "/flood/%d/%s", i, longname);
		assert_int_equal(xwrite(d0, path, ""), 0);
	}
	assert_true(lazy5->out_events <= core->quota.pending_events);
	assert_true(lazy0->out_bytes < (4u << 20) + 8192);
	assert_true(lazy0->out_bytes > (4u << 20) - 8192);
	(void)d5;
	xs_conn_free(lazy0);
	xs_conn_free(lazy5);
}

static void test_outstanding_quota(void **state)
{
	struct tc *d5 = client(5, true);
	static const char p[] = "/local/domain/5";
	struct xsd_sockmsg h = { .type = XS_GET_DOMAIN_PATH, .len = 2 };
	uint8_t buf[40 * (sizeof(h) + 2)];
	size_t one = sizeof(h) + 2, i;
	long used;

	(void)p;
	for (i = 0; i < 40; i++) {
		h.req_id = (uint32_t)i + 1;
		memcpy(buf + i * one, &h, sizeof(h));
		memcpy(buf + i * one + sizeof(h), "5", 2);
	}
	/* A guest that does not take its replies stops being read. */
	used = xs_conn_feed(d5->c, buf, sizeof(buf));
	assert_int_equal(used, (long)(core->quota.outstanding * one));
	assert_false(xs_conn_want_input(d5->c));
	drain(d5);
	assert_true(xs_conn_want_input(d5->c));
	used = xs_conn_feed(d5->c, buf + used, sizeof(buf) - (size_t)used);
	assert_int_equal(used, (long)(20 * one));
	drain(d5);
	assert_int_equal(d5->n, 40);
}

static void test_random_input(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	uint8_t buf[512];
	unsigned seed = 12345;
	int round, i, err;

	/* Random requests of valid framing: answered, never a crash. */
	for (round = 0; round < 3000; round++) {
		struct xsd_sockmsg h;
		uint32_t len = (uint32_t)(rand_r(&seed) % 64);
		struct tc *t = (round & 1) ? d0 : d5;

		h.type = (uint32_t)(rand_r(&seed) % (XS_TYPE_COUNT + 2));
		h.req_id = (uint32_t)round;
		h.tx_id = (rand_r(&seed) % 4) ? 0 : (uint32_t)(rand_r(&seed) % 3);
		h.len = len;
		for (i = 0; i < (int)len; i++) {
			static const char alpha[] = "/ab\0@0123rwbnT";

			buf[sizeof(h) + i] = (uint8_t)alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		}
		if (h.type == XS_INTRODUCE || h.type == XS_RELEASE)
			continue; /* harness conns are not introduced domains */
		memcpy(buf, &h, sizeof(h));
		assert_int_equal(xs_conn_feed(t->c, buf, sizeof(h) + len), (long)(sizeof(h) + len));
		drain_all();
		take_reply(t, h.req_id);
		t->n = 0;
		if (t == d0)
			d5->n = 0;
		else
			d0->n = 0;
	}
	assert_int_equal(xs_core_check(core), 0);
	assert_string_equal(xread(d0, "/tool/xenstored", &err), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_txn_commit, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_txn_abort, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_txn_snapshot_conflict, setup_core,
						teardown_core),
		cmocka_unit_test_setup_teardown(test_txn_two_writers, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_txn_disjoint, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_txn_structure, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_txn_errors, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_txn_node_quota, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_txn_quota_refusal_keeps_txn, setup_core,
						teardown_core),
		cmocka_unit_test_setup_teardown(test_watch_basic, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_watch_order, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_watch_rm, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_watch_relative_and_perms, setup_core,
						teardown_core),
		cmocka_unit_test_setup_teardown(test_watch_depth, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_watch_special, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_watch_quota, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_outstanding_quota, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_event_backlog_bounded, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_random_input, setup_core, teardown_core),
	};

	return cmocka_run_group_tests_name("xenstore-txn-watch", tests, NULL, NULL);
}
