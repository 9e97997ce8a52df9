/* SPDX-License-Identifier: GPL-2.0-only */
/* xenstore core: tree operations, permissions, malformed input, domains. */
#include "harness.h"

static void test_initial_tree(void **state)
{
	struct tc *d0 = client(0, false);
	struct tmsg m;
	int err;

	assert_int_equal(xone(d0, XS_DIRECTORY, 0, "/", &m), 0);
	assert_int_equal(m.h.len, 5);
	assert_memory_equal(m.data, "tool\0", 5);
	assert_string_equal(xperms(d0, "/", &err), "n0");
	assert_string_equal(xread(d0, "/tool/xenstored", &err), "");
}

static void test_write_read(void **state)
{
	struct tc *d0 = client(0, false);
	struct tmsg m;
	int err;

	assert_int_equal(xwrite(d0, "/a/b/c", "v1"), 0);
	assert_string_equal(xread(d0, "/a/b/c", &err), "v1");
	/* Missing parents are created empty. */
	assert_string_equal(xread(d0, "/a/b", &err), "");
	assert_int_equal(xwrite(d0, "/a/b/c", "longer value"), 0);
	assert_string_equal(xread(d0, "/a/b/c", &err), "longer value");
	assert_int_equal(xwrite(d0, "/a/b/d", ""), 0);
	assert_int_equal(xone(d0, XS_DIRECTORY, 0, "/a/b", &m), 0);
	assert_int_equal(m.h.len, 4);
	assert_memory_equal(m.data, "c\0d\0", 4);
	/* Binary values with NULs survive. */
	assert_int_equal(req(d0, XS_WRITE, 0, RAW("/bin\0x\0y\0"), NULL), 0);
	assert_int_equal(xone(d0, XS_READ, 0, "/bin", &m), 0);
	assert_int_equal(m.h.len, 4);
	assert_memory_equal(m.data, "x\0y\0", 4);
	assert_null(xread(d0, "/nope", &err));
	assert_int_equal(err, ENOENT);
	/* Relative paths of socket clients are under /local/domain/0. */
	assert_int_equal(xwrite(d0, "rel", "r"), 0);
	assert_string_equal(xread(d0, "/local/domain/0/rel", &err), "r");
}

static void test_mkdir_rm(void **state)
{
	struct tc *d0 = client(0, false);
	int err;

	assert_int_equal(xwrite(d0, "/m", "keep"), 0);
	assert_int_equal(xone(d0, XS_MKDIR, 0, "/m", NULL), 0);
	assert_string_equal(xread(d0, "/m", &err), "keep");
	assert_int_equal(xone(d0, XS_MKDIR, 0, "/m/x/y", NULL), 0);
	assert_string_equal(xread(d0, "/m/x/y", &err), "");

	assert_int_equal(xone(d0, XS_RM, 0, "/m/x", NULL), 0);
	assert_null(xread(d0, "/m/x/y", &err));
	assert_int_equal(err, ENOENT);
	/* Gone already, parent exists: fine.  Parent missing too: ENOENT. */
	assert_int_equal(xone(d0, XS_RM, 0, "/m/x", NULL), 0);
	assert_int_equal(xone(d0, XS_RM, 0, "/m/x/y", NULL), ENOENT);
	assert_int_equal(xone(d0, XS_RM, 0, "/", NULL), EINVAL);
	assert_int_equal(xone(d0, XS_RM, 0, "/m", NULL), 0);
	assert_int_equal(xone(d0, XS_DIRECTORY, 0, "/m", NULL), ENOENT);
}

static void test_invalid_paths(void **state)
{
	static const char *const bad[] = { "/a//b", "/a/", "/a b", "/a\tb", "/a.b", "/é", "" };
	struct tc *d0 = client(0, false);
	char longp[XENSTORE_ABS_PATH_MAX + 8];
	size_t i;
	int err;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(xwrite(d0, bad[i], "x"), EINVAL);
		assert_null(xread(d0, bad[i], &err));
		assert_int_equal(err, EINVAL);
	}
	/* Too long below the home directory. */
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[XENSTORE_REL_PATH_MAX + 2] = 0;
	assert_int_equal(xwrite(d0, longp, "x"), EINVAL);
	longp[XENSTORE_REL_PATH_MAX] = 0;
	assert_int_equal(xwrite(d0, longp, "x"), 0);
	/* Special names are only for watches and their ACLs. */
	assert_int_equal(xwrite(d0, "@releaseDomain", "x"), EINVAL);
	assert_null(xperms(d0, "@releaseDomain", &err));
	assert_int_equal(err, EINVAL);
}

static void test_malformed(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	uint8_t hdr[sizeof(struct xsd_sockmsg)];
	struct xsd_sockmsg h = { .type = XS_READ, .len = XENSTORE_PAYLOAD_MAX + 1 };
	int err;

	/* Single-argument ops want exactly one NUL, at the end. */
	assert_int_equal(req(d0, XS_READ, 0, RAW("/tool"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_READ, 0, ARG("/tool\0/local"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_READ, 0, "", 0, NULL), EINVAL);
	assert_int_equal(req(d0, XS_WRITE, 0, RAW("/nonul"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_DIRECTORY_PART, 0, ARG("/"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_WATCH, 0, ARG("/a"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_WATCH, 0, ARG("/a\0t\0x"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_UNWATCH, 0, ARG("/a"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_SET_PERMS, 0, ARG("/tool"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_TRANSACTION_END, 0, ARG("X"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_INTRODUCE, 0, ARG("5\0001"), NULL), EINVAL);
	assert_int_equal(req(d0, XS_CONTROL, 0, "", 0, NULL), EINVAL);
	/* Unknown and reply-only types: ENOSYS, connection keeps working. */
	assert_int_equal(req(d0, 999, 0, ARG("/"), NULL), ENOSYS);
	assert_int_equal(req(d0, XS_WATCH_EVENT, 0, ARG("/"), NULL), ENOSYS);
	assert_int_equal(req(d0, XS_ERROR, 0, ARG("/"), NULL), ENOSYS);
	assert_int_equal(req(d0, XS_INVALID, 0, ARG("/"), NULL), ENOSYS);
	assert_int_equal(req(d5, 20, 0, ARG("/"), NULL), ENOSYS); /* was XS_RESTRICT */
	assert_string_equal(xread(d0, "/tool/xenstored", &err), "");

	/* A payload over 4096 bytes kills only that connection. */
	memcpy(hdr, &h, sizeof(h));
	assert_int_equal(xs_conn_feed(d5->c, hdr, sizeof(hdr)), -1);
	assert_true(d5->c->dead);
	assert_false(xs_conn_want_input(d5->c));
	assert_string_equal(xread(d0, "/tool/xenstored", &err), "");
}

static void test_fragmented_input(void **state)
{
	struct tc *d0 = client(0, false);
	static const char p1[] = "/f\0one", p2[] = "/g\0two";
	struct xsd_sockmsg h1 = { .type = XS_WRITE, .req_id = 7, .len = sizeof(p1) - 1 };
	struct xsd_sockmsg h2 = { .type = XS_WRITE, .req_id = 8, .len = sizeof(p2) - 1 };
	uint8_t buf[128];
	size_t n = 0, i;
	int err;

	memcpy(buf + n, &h1, sizeof(h1)), n += sizeof(h1);
	memcpy(buf + n, p1, h1.len), n += h1.len;
	memcpy(buf + n, &h2, sizeof(h2)), n += sizeof(h2);
	memcpy(buf + n, p2, h2.len), n += h2.len;
	/* Byte by byte: both requests are understood. */
	for (i = 0; i < n; i++)
		assert_int_equal(xs_conn_feed(d0->c, buf + i, 1), 1);
	drain_all();
	assert_int_equal(take_reply(d0, 7).h.type, XS_WRITE);
	assert_int_equal(take_reply(d0, 8).h.type, XS_WRITE);
	assert_string_equal(xread(d0, "/f", &err), "one");
	assert_string_equal(xread(d0, "/g", &err), "two");
}

static void test_perms_basic(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	struct tc *d7 = client(7, true);
	int err;

	assert_int_equal(xone(d0, XS_MKDIR, 0, "/local/domain/5", NULL), 0);
	assert_int_equal(xchmod(d0, "/local/domain/5", "n0 r5"), 0);
	assert_int_equal(xwrite(d0, "/local/domain/5/name", "guest"), 0);
	/* Inherited on create: readable by 5, not by 7, writable by neither. */
	assert_string_equal(xperms(d0, "/local/domain/5/name", &err), "n0 r5");
	assert_string_equal(xread(d5, "name", &err), "guest");
	assert_null(xread(d7, "/local/domain/5/name", &err));
	assert_int_equal(err, EACCES);
	assert_int_equal(xwrite(d5, "name", "evil"), EACCES);
	assert_int_equal(xone(d5, XS_RM, 0, "name", NULL), EACCES);
	/* Existence is not revealed below what one cannot read. */
	assert_null(xread(d7, "/local/domain/5/missing", &err));
	assert_int_equal(err, EACCES);
	assert_null(xread(d5, "missing", &err));
	assert_int_equal(err, ENOENT);
	assert_null(xread(d5, "/tool", &err));
	assert_int_equal(err, EACCES);
	/* Privileged-only operations. */
	assert_int_equal(xone(d5, XS_INTRODUCE, 0, "9", NULL), EACCES);
	assert_int_equal(xone(d5, XS_IS_DOMAIN_INTRODUCED, 0, "0", NULL), EACCES);
	assert_int_equal(xone(d5, XS_CONTROL, 0, "help", NULL), EACCES);
}

static void test_perms_domu_owns(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	struct tc *d7 = client(7, true);
	int err;

	assert_int_equal(xone(d0, XS_MKDIR, 0, "/local/domain/5/data", NULL), 0);
	assert_int_equal(xchmod(d0, "/local/domain/5/data", "n5"), 0);
	assert_int_equal(xwrite(d5, "data/x/y", "1"), 0);
	assert_string_equal(xperms(d5, "data/x/y", &err), "n5");
	assert_string_equal(xperms(d5, "data/x", &err), "n5");
	assert_null(xread(d7, "/local/domain/5/data/x/y", &err));
	assert_int_equal(err, EACCES);
	/* The owner may share, but not give away. */
	assert_int_equal(xchmod(d5, "data/x/y", "n5 r7"), 0);
	assert_string_equal(xread(d7, "/local/domain/5/data/x/y", &err), "1");
	assert_int_equal(xchmod(d5, "data/x/y", "b7"), EPERM);
	assert_int_equal(xchmod(d7, "/local/domain/5/data/x/y", "n7"), EACCES);
	/* dom0 may. */
	assert_int_equal(xchmod(d0, "/local/domain/5/data/x/y", "b7"), 0);
	assert_string_equal(xperms(d0, "/local/domain/5/data/x/y", &err), "b7");
}

static void test_perms_entries(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	struct tc *d7 = client(7, true);
	struct tc *d9 = client(9, true);
	int err;

	assert_int_equal(xwrite(d0, "/acl", "v"), 0);
	assert_int_equal(xchmod(d0, "/acl", "n0 r5 w7"), 0);
	assert_string_equal(xread(d5, "/acl", &err), "v");
	assert_int_equal(xwrite(d5, "/acl", "x"), EACCES);
	assert_int_equal(xwrite(d7, "/acl", "w7"), 0);
	assert_null(xread(d7, "/acl", &err));
	assert_int_equal(err, EACCES);
	assert_null(xread(d9, "/acl", &err));
	assert_int_equal(err, EACCES);
	/* Entry 0's flags are what everybody else gets. */
	assert_int_equal(xchmod(d0, "/acl", "r0"), 0);
	assert_string_equal(xread(d9, "/acl", &err), "w7");
	assert_int_equal(xchmod(d0, "/acl", "b0"), 0);
	assert_int_equal(xwrite(d9, "/acl", "x"), 0);

	/* Bad permission strings. */
	assert_int_equal(xchmod(d0, "/acl", "x5"), EINVAL);
	assert_int_equal(xchmod(d0, "/acl", "r"), EINVAL);
	assert_int_equal(xchmod(d0, "/acl", "r70000"), EINVAL);
	assert_int_equal(xchmod(d0, "/acl", "r5x"), EINVAL);
	assert_int_equal(xchmod(d0, "/nonexistent", "r5"), ENOENT);
	/* Too many entries for a domain. */
	assert_int_equal(xwrite(d0, "/local/domain/9/own", ""), 0);
	assert_int_equal(xchmod(d0, "/local/domain/9/own", "n9"), 0);
	assert_int_equal(xchmod(d9, "/local/domain/9/own", "n9 r1 r2 r3 r4 r5 r6"), ENOSPC);
	assert_int_equal(xchmod(d9, "/local/domain/9/own", "n9 r1 r2 r3 r4"), 0);
}

static void test_set_target(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	struct tc *d6 = client(6, true);
	int err;

	assert_non_null(xs_domain_introduce(core, 5, d5->c, &err));
	assert_non_null(xs_domain_introduce(core, 6, d6->c, &err));
	assert_int_equal(xwrite(d0, "/t5", "mine"), 0);
	assert_int_equal(xchmod(d0, "/t5", "n5"), 0);
	assert_null(xread(d6, "/t5", &err));
	assert_int_equal(err, EACCES);
	assert_int_equal(xtwo(d0, XS_SET_TARGET, "6", "5"), 0);
	assert_string_equal(xread(d6, "/t5", &err), "mine");
	assert_int_equal(xwrite(d6, "/t5", "yours"), 0);
	assert_int_equal(xtwo(d0, XS_SET_TARGET, "6", "8"), ENOENT);
	assert_int_equal(xtwo(d5, XS_SET_TARGET, "6", "5"), EACCES);
}

static void test_directory_part(void **state)
{
	struct tc *d0 = client(0, false);
	char path[128], all[32768], got[32768], arg[160];
	size_t alen = 0, glen = 0;
	struct tmsg m;
	const char *gen = NULL;
	int i;

	for (i = 0; i < 200; i++) {
		int n = snprintf(path, sizeof(path), "/dp/child-with-a-long-name-%04d", i);

		assert_int_equal(xwrite(d0, path, ""), 0);
		memcpy(all + alen, path + 4, (size_t)n - 4 + 1);
		alen += (size_t)n - 4 + 1;
	}
	/* Over one payload: DIRECTORY refuses, DIRECTORY_PART pages. */
	assert_int_equal(xone(d0, XS_DIRECTORY, 0, "/dp", NULL), E2BIG);
	for (;;) {
		size_t gl;
		int n = snprintf(arg, sizeof(arg), "/dp%c%zu", 0, glen);

		assert_int_equal(req(d0, XS_DIRECTORY_PART, 0, arg, (size_t)n + 1, &m), 0);
		gl = strlen(m.data) + 1;
		if (gen)
			assert_string_equal(gen, m.data);
		else
			gen = strdup(m.data);
		assert_true(m.h.len > gl);
		/* A trailing empty name marks the end. */
		if (m.h.len >= gl + 1 && m.data[m.h.len - 1] == 0 &&
		    (m.h.len == gl + 1 || m.data[m.h.len - 2] == 0)) {
			memcpy(got + glen, m.data + gl, m.h.len - gl - 1);
			glen += m.h.len - gl - 1;
			break;
		}
		memcpy(got + glen, m.data + gl, m.h.len - gl);
		glen += m.h.len - gl;
	}
	assert_int_equal(glen, alen);
	assert_memory_equal(got, all, alen);
	/* Past the end: generation and an empty list. */
	assert_int_equal(req(d0, XS_DIRECTORY_PART, 0,
			     ARG("/dp\0"
				 "99999"),
			     &m),
			 0);
	assert_int_equal(m.h.len, strlen(gen) + 2);
	free((void *)gen);
}

static void test_domain_ops(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *w = client(0, false);
	struct tmsg m;

	assert_int_equal(xone(d0, XS_GET_DOMAIN_PATH, 0, "7", &m), 0);
	assert_string_equal(m.data, "/local/domain/7");
	assert_int_equal(xone(d0, XS_IS_DOMAIN_INTRODUCED, 0, "7", &m), 0);
	assert_string_equal(m.data, "F");
	assert_int_equal(xone(d0, XS_IS_DOMAIN_INTRODUCED, 0, "32752", &m), 0);
	assert_string_equal(m.data, "T"); /* DOMID_SELF */
	assert_int_equal(xwatch(w, "@introduceDomain", "in"), 0);
	assert_int_equal(xwatch(w, "@releaseDomain", "out"), 0);
	expect_event(w, "@introduceDomain", "in");
	expect_event(w, "@releaseDomain", "out");

	assert_int_equal(req(d0, XS_INTRODUCE, 0,
			     ARG("7\0"
				 "1234\0"
				 "3"),
			     NULL),
			 0);
	expect_event(w, "@introduceDomain", "in");
	assert_int_equal(xone(d0, XS_IS_DOMAIN_INTRODUCED, 0, "7", &m), 0);
	assert_string_equal(m.data, "T");
	assert_int_equal(req(d0, XS_INTRODUCE, 0,
			     ARG("7\0"
				 "1234\0"
				 "0"),
			     NULL),
			 EINVAL);
	assert_int_equal(req(d0, XS_INTRODUCE, 0,
			     ARG("0\0"
				 "1234\0"
				 "3"),
			     NULL),
			 EINVAL);
	assert_int_equal(xone(d0, XS_RESUME, 0, "7", NULL), 0);
	assert_int_equal(xone(d0, XS_RESUME, 0, "8", NULL), ENOENT);
	assert_int_equal(xone(d0, XS_RELEASE, 0, "7", NULL), 0);
	expect_event(w, "@releaseDomain", "out");
	expect_no_event(w);
	assert_int_equal(xone(d0, XS_RELEASE, 0, "7", NULL), ENOENT);
	assert_int_equal(xone(d0, XS_RELEASE, 0, "0", NULL), EINVAL);
	assert_int_equal(xone(d0, XS_IS_DOMAIN_INTRODUCED, 0, "7", &m), 0);
	assert_string_equal(m.data, "F");
}

static void test_release_forgets(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	int err;

	assert_non_null(xs_domain_introduce(core, 5, d5->c, &err));
	assert_int_equal(xone(d0, XS_MKDIR, 0, "/local/domain/5/data", NULL), 0);
	assert_int_equal(xchmod(d0, "/local/domain/5/data", "n5"), 0);
	assert_int_equal(xwrite(d5, "data/a/b", "1"), 0);
	assert_int_equal(xwrite(d0, "/shared", "s"), 0);
	assert_int_equal(xchmod(d0, "/shared", "n0 r5 r6"), 0);
	xs_domain_release(core, xs_domain_find(core, 5));
	d5->c = NULL;
	/* What it owned is gone; its ACL entries too. */
	assert_null(xread(d0, "/local/domain/5/data", &err));
	assert_int_equal(err, ENOENT);
	assert_string_equal(xread(d0, "/local/domain/5", &err), "");
	assert_string_equal(xperms(d0, "/shared", &err), "n0 r6");
	assert_int_equal(core->owned[5], 0);
}

static void test_control(void **state)
{
	struct tc *d0 = client(0, false);
	struct tmsg m;

	assert_int_equal(xone(d0, XS_CONTROL, 0, "help", &m), 0);
	assert_non_null(strstr(m.data, "print"));
	assert_int_equal(req(d0, XS_CONTROL, 0, ARG("print\0hello"), NULL), 0);
	assert_int_equal(req(d0, XS_CONTROL, 0, ARG("log\0on"), NULL), 0);
	assert_true(core->trace);
	assert_int_equal(req(d0, XS_CONTROL, 0, ARG("log\0off"), NULL), 0);
	assert_false(core->trace);
	assert_int_equal(req(d0, XS_CONTROL, 0, ARG("log\0maybe"), NULL), EINVAL);
	assert_int_equal(xone(d0, XS_CONTROL, 0, "check", NULL), 0);
	assert_int_equal(xone(d0, XS_CONTROL, 0, "no-such-command", NULL), EINVAL);
	assert_int_equal(xone(d0, XS_CONTROL, 0, "quota", &m), 0);
	assert_non_null(strstr(m.data, "nodes"));
	assert_int_equal(req(d0, XS_CONTROL, 0,
			     ARG("quota\0set\0nodes\0"
				 "77"),
			     NULL),
			 0);
	assert_int_equal(core->quota.nodes, 77);
	assert_int_equal(req(d0, XS_CONTROL, 0,
			     ARG("quota\0set\0bogus\0"
				 "1"),
			     NULL),
			 EINVAL);
	assert_int_equal(req(d0, XS_CONTROL, 0,
			     ARG("quota\0set\0nodes\0"
				 "0"),
			     NULL),
			 EINVAL);
}

static void test_node_size_quota(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(xone(d0, XS_MKDIR, 0, "/local/domain/5/data", NULL), 0);
	assert_int_equal(xchmod(d0, "/local/domain/5/data", "n5"), 0);
	assert_int_equal(xwrite(d5, "data/big", big), ENOSPC);
	big[1900] = 0;
	assert_int_equal(xwrite(d5, "data/big", big), 0);
	big[1900] = 'x';
	assert_int_equal(xwrite(d5, "data/big", big), ENOSPC);
	/* dom0 is not limited. */
	assert_int_equal(xwrite(d0, "/local/domain/5/data/big", big), 0);
}

static void test_nodes_quota(void **state)
{
	struct tc *d0 = client(0, false);
	struct tc *d5 = client(5, true);
	char p[64];
	int i, err = 0;

	core->quota.nodes = 20;
	assert_int_equal(xone(d0, XS_MKDIR, 0, "/local/domain/5/data", NULL), 0);
	assert_int_equal(xchmod(d0, "/local/domain/5/data", "n5"), 0);
	assert_int_equal(core->owned[5], 1);
	for (i = 0; i < 30 && !err; i++) {
		snprintf(p, sizeof(p), "data/n%d", i);
		err = xwrite(d5, p, "x");
	}
	assert_int_equal(err, ENOSPC);
	assert_int_equal(core->owned[5], 20);
	/* Several levels at once are all-or-nothing. */
	assert_int_equal(xone(d5, XS_RM, 0, "data/n0", NULL), 0);
	assert_int_equal(xwrite(d5, "data/deep/er", "x"), ENOSPC);
	assert_null(xread(d5, "data/deep", &err));
	assert_int_equal(err, ENOENT);
	assert_int_equal(xwrite(d5, "data/deep", "x"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_initial_tree, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_write_read, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_mkdir_rm, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_invalid_paths, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_malformed, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_fragmented_input, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_perms_basic, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_perms_domu_owns, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_perms_entries, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_set_target, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_directory_part, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_domain_ops, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_release_forgets, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_control, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_node_size_quota, setup_core, teardown_core),
		cmocka_unit_test_setup_teardown(test_nodes_quota, setup_core, teardown_core),
	};

	return cmocka_run_group_tests_name("xenstore-tree", tests, NULL, NULL);
}
