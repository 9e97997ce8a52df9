/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xenstore daemon core: the node tree with permissions, transactions,
 * watches, quotas and the wire-protocol dispatch.  Pure C: no file
 * descriptors, no event loop, no clock.  Transports feed request bytes into a
 * connection and drain its output queue; everything else happens here.
 */
#ifndef XENKVM_XENSTORE_CORE_H
#define XENKVM_XENSTORE_CORE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "xs_list.h"
#include "xs_map.h"

/* Permission bits as stored on nodes.  OWNER is only ever computed. */
#define XS_P_NONE  0u
#define XS_P_READ  1u
#define XS_P_WRITE 2u
#define XS_P_BOTH  (XS_P_READ | XS_P_WRITE)
#define XS_P_OWNER 4u

#define XS_DOMID_MAX  0xffffu
#define XS_DOMID_SELF 0x7ff0u /* DOMID_SELF in xen.h */

/* A generation no node ever has: "did not exist". */
#define XS_NO_GEN UINT64_MAX

struct xs_perm {
	uint32_t id;
	uint32_t perms;
};

struct xs_perms {
	uint32_t num; /* >= 1: entry 0 is the owner and the default for others */
	struct xs_perm *p;
};

struct xs_node {
	char *path; /* canonical absolute path, also the map key */
	uint64_t gen;
	struct xs_perms perms;
	uint32_t vlen;
	uint8_t *value;
	uint32_t clen;
	char *children; /* leaf names, each NUL-terminated, in creation order */
};

/* Default quotas mirror Xen's xenstored defaults; 0 disables a check. */
struct xs_quota {
	uint32_t nodes;		    /* nodes owned per domain */
	uint32_t node_size;	    /* bytes per node (value + children + perms) */
	uint32_t watches;	    /* watches per domain connection */
	uint32_t transactions;	    /* open transactions per domain connection */
	uint32_t transaction_nodes; /* nodes touched by one transaction */
	uint32_t outstanding;	    /* replies queued but not taken by the guest */
	uint32_t permissions;	    /* ACL entries per node */
	uint32_t path_max;	    /* relative path length below the home dir */
	uint32_t pending_events;    /* queued watch events before new ones drop */
};

struct xs_core;
struct xs_conn;

/* Transport callbacks of a connection. */
struct xs_conn_ops {
	/* Output was queued (or the connection wants input again). */
	void (*wakeup)(struct xs_conn *conn, void *opaque);
};

/* One queued outgoing message: header and payload, contiguous. */
struct xs_outmsg {
	struct xs_list link;
	bool is_event;
	uint32_t len; /* header + payload */
	uint8_t data[];
};

/* Incremental request framing (shared by ring and socket transports). */
struct xs_parser {
	uint32_t have; /* bytes of the current stage received */
	bool in_payload;
	struct xsd_sockmsg hdr;
	uint8_t payload[XENSTORE_PAYLOAD_MAX + 1]; /* +1: room for a guard NUL */
};

struct xs_conn {
	struct xs_list link; /* core->conns */
	struct xs_core *core;
	uint32_t id;	 /* domid the requests are checked as */
	bool is_domain;	 /* a guest ring: quotas apply, relative paths */
	bool privileged; /* dom0 (every socket client) */
	bool dead;	 /* protocol error: ignore until reset */
	int32_t target;	 /* SET_TARGET: domid this one acts for, or -1 */
	char home[32];	 /* implicit path for relative names */

	struct xs_list watches;
	uint32_t nwatches;
	struct xs_list txns;
	uint32_t ntxns;
	uint32_t next_txid;

	struct xs_list outq;
	uint32_t out_off; /* bytes of the head message already sent */
	uint32_t out_replies;
	uint32_t out_events;
	size_t out_bytes;

	struct xs_parser parser;

	const struct xs_conn_ops *ops;
	void *opaque;
};

struct xs_domain {
	struct xs_list link;
	uint32_t domid;
	bool shutdown;
	struct xs_conn *conn; /* NULL for a domain introduced without a ring */
};

/* Hooks the core calls into the embedding daemon; all optional. */
struct xs_core_hooks {
	void (*log)(void *opaque, int level, const char *msg);
	/*
	 * INTRODUCE from a client: attach a transport for domid.  Return 0 to
	 * accept (possibly without a ring), or an errno.
	 */
	int (*introduce)(void *opaque, struct xs_conn *from, uint32_t domid, uint64_t gfn,
			 uint32_t port);
	/* A domain was released (RELEASE or API): drop its transport. */
	void (*release)(void *opaque, uint32_t domid);
	void *opaque;
};

#define XS_LOG_ERR   0
#define XS_LOG_INFO  1
#define XS_LOG_TRACE 2

struct xs_core {
	struct xs_map nodes;
	uint64_t generation;
	struct xs_quota quota;
	uint32_t *owned; /* nodes owned, indexed by domid */
	struct xs_list conns;
	struct xs_list domains;
	struct xs_perms special_introduce;
	struct xs_perms special_release;
	bool trace;
	struct xs_core_hooks hooks;
};

/* Per-request context: the connection and transaction it runs in. */
struct xs_txn;
struct xs_op {
	struct xs_core *core;
	struct xs_conn *conn; /* NULL for internal (daemon-side) changes */
	struct xs_txn *txn;
	const struct xsd_sockmsg *hdr;
	const char *payload; /* NUL-guarded copy of the request payload */
	uint32_t len;
	bool replied;
};

/* ---- core.c (lifetime, quotas, logging) ---- */
struct xs_core *xs_core_new(const struct xs_core_hooks *hooks);
void xs_core_free(struct xs_core *core);
void xs_quota_defaults(struct xs_quota *q);
void xs_log(struct xs_core *core, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Consistency check of the whole store; 0 or EIO. */
int xs_core_check(struct xs_core *core);

/* ---- tree.c ---- */
bool xs_path_valid(const struct xs_core *core, const char *path);
/* Absolute form of a client-supplied path (relative ones join conn home). */
char *xs_canonicalize(const struct xs_conn *conn, const char *path);
uint32_t xs_perm_for(const struct xs_conn *conn, const struct xs_perms *perms);
bool xs_conn_unpriv(const struct xs_conn *conn);
int xs_perms_parse(const char *strings, uint32_t len, uint32_t num, struct xs_perms *out);
/* Renders "b0\0r5\0"; returns malloc'd buffer or NULL. */
char *xs_perms_format(const struct xs_perms *perms, uint32_t *len);
int xs_perms_copy(struct xs_perms *dst, const struct xs_perms *src);
/* Node access within op (global store or its transaction). */
struct xs_node *xs_node_read(struct xs_op *op, const char *path, int *err);
/* Like xs_node_read plus permission check and Xen's errno hiding. */
struct xs_node *xs_node_get(struct xs_op *op, const char *path, uint32_t perm, int *err);
int xs_node_write(struct xs_op *op, struct xs_node *node);
int xs_node_set_value(struct xs_op *op, struct xs_node *node, const void *v, uint32_t len);
/* Creates path and missing parents; fires watches.  Existing: no-op. */
int xs_node_create(struct xs_op *op, const char *path, const void *v, uint32_t len,
		   struct xs_node **out);
int xs_node_rm(struct xs_op *op, const char *path);
int xs_node_set_perms(struct xs_op *op, struct xs_node *node, struct xs_perms *perms);
void xs_node_free(struct xs_node *node);
struct xs_node *xs_node_dup(const struct xs_node *n);
/* Direct global-store helpers for the core's own bookkeeping. */
struct xs_node *xs_global_get(struct xs_core *core, const char *path);
void xs_owned_adjust(struct xs_core *core, uint32_t domid, int delta);
/* Remove nodes owned by domid and its ACL entries everywhere. */
void xs_tree_forget_domain(struct xs_core *core, uint32_t domid);

/* ---- txn.c ---- */
struct xs_tentry {
	struct xs_list link;
	char *path;
	struct xs_node *node; /* NULL: absent in this transaction */
	uint64_t base_gen;    /* global generation at first access */
	struct xs_perms old_perms;
	bool modified;
	bool fire;
	bool fire_exact;
};

struct xs_txn {
	struct xs_list link;
	struct xs_conn *conn;
	uint32_t id;
	bool failed;
	struct xs_map entries;
	struct xs_list order;
	uint32_t nentries;
	uint32_t ndeltas;
	struct {
		uint32_t domid;
		int32_t delta;
	} * deltas;
};

struct xs_txn *xs_txn_find(struct xs_conn *conn, uint32_t id);
int xs_txn_start(struct xs_conn *conn, struct xs_txn **out);
/* commit=false aborts.  The transaction is freed either way. */
int xs_txn_end(struct xs_op *op, struct xs_txn *txn, bool commit);
void xs_txn_free(struct xs_txn *txn);
struct xs_tentry *xs_txn_entry(struct xs_txn *txn, const char *path);
/* Entry for path, copying the global node on first access (quota-checked). */
struct xs_tentry *xs_txn_access(struct xs_op *op, const char *path, int *err);
int xs_txn_owned(struct xs_txn *txn, uint32_t domid);
int xs_txn_owned_adjust(struct xs_txn *txn, uint32_t domid, int delta);

/* ---- watch.c ---- */
struct xs_watch {
	struct xs_list link;
	char *path; /* canonical (absolute or @special) */
	char *token;
	bool relative;
	int depth; /* -1: unlimited */
};

int xs_watch_add(struct xs_conn *conn, const char *path, const char *token, int depth);
int xs_watch_remove(struct xs_conn *conn, const char *path, const char *token);
void xs_watch_clear(struct xs_conn *conn);
/*
 * A node changed.  exact: only watches on exactly this path fire (used for
 * the children of a removed subtree).  old: the node's permissions before
 * the change, or NULL.
 */
void xs_fire(struct xs_op *op, const char *path, bool exact, const struct xs_perms *old);
void xs_fire_global(struct xs_core *core, const char *path, bool exact, const struct xs_perms *old);
void xs_fire_special(struct xs_core *core, const char *name, uint32_t domid);

/* ---- conn.c ---- */
struct xs_conn *xs_conn_new(struct xs_core *core, uint32_t domid, bool is_domain,
			    const struct xs_conn_ops *ops, void *opaque);
void xs_conn_free(struct xs_conn *conn);
/* Drop watches, transactions, queued output and partial input. */
void xs_conn_reset(struct xs_conn *conn);
bool xs_conn_want_input(const struct xs_conn *conn);
/* Bytes the parser needs to finish its current stage. */
uint32_t xs_conn_input_need(const struct xs_conn *conn);
/*
 * Feed request bytes; complete messages are dispatched at once.  Returns
 * bytes consumed (stops early when the connection should not take more
 * input), or -1 on a protocol violation (the connection is then dead).
 */
long xs_conn_feed(struct xs_conn *conn, const void *buf, size_t len);
/* Contiguous bytes at the head of the output queue; 0 when empty. */
size_t xs_conn_out_peek(const struct xs_conn *conn, const uint8_t **p);
void xs_conn_out_consume(struct xs_conn *conn, size_t n);
int xs_conn_queue(struct xs_conn *conn, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *data, uint32_t len, bool is_event);
void xs_conn_wakeup(struct xs_conn *conn);

/* ---- wire.c ---- */
#define XS_OPF_NOTID  (1u << 0) /* tx_id in the header is ignored */
#define XS_OPF_PRIV   (1u << 1) /* privileged (dom0) connections only */
#define XS_OPF_MUTATE (1u << 2) /* changes the store */

struct xs_opdesc {
	const char *name;
	int (*fn)(struct xs_op *op);
	uint32_t flags;
};

const struct xs_opdesc *xs_op_lookup(uint32_t type);
const char *xs_op_name(uint32_t type);
const char *xs_errname(int err);
/* Dispatch one complete request (payload of hdr->len bytes). */
void xs_process(struct xs_conn *conn, const struct xsd_sockmsg *hdr, const void *payload);
int xs_reply(struct xs_op *op, const void *data, uint32_t len);
int xs_reply_ok(struct xs_op *op);
/* Payload helpers, Xen semantics. */
const char *xs_onearg(const struct xs_op *op);
uint32_t xs_get_strings(const struct xs_op *op, const char **vec, uint32_t num);
uint32_t xs_atou(const char *s);

/* ---- domain.c ---- */
struct xs_domain *xs_domain_find(struct xs_core *core, uint32_t domid);
/* Register a domain (optionally with its connection); fires @introduceDomain. */
struct xs_domain *xs_domain_introduce(struct xs_core *core, uint32_t domid, struct xs_conn *conn,
				      int *err);
/* Forget a domain: its nodes, its connection, fires @releaseDomain. */
void xs_domain_release(struct xs_core *core, struct xs_domain *d);
void xs_domain_shutdown(struct xs_core *core, struct xs_domain *d);
int xs_op_introduce(struct xs_op *op);
int xs_op_release(struct xs_op *op);
int xs_op_get_domain_path(struct xs_op *op);
int xs_op_is_domain_introduced(struct xs_op *op);
int xs_op_resume(struct xs_op *op);
int xs_op_set_target(struct xs_op *op);
int xs_op_control(struct xs_op *op);
struct xs_perms *xs_special_perms(struct xs_core *core, const char *name);

#endif
