/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Network backend (netback): the netif protocol (xen/io/netif.h) of one
 * vif, between the guest's xen-netfront rings and a packet backend (slirp,
 * tap).  Everything runs on the launcher's event-loop thread.  The guest's
 * rings and granted pages are hostile: requests are copied before use, and
 * a frontend that breaks the protocol loses its vif (carrier off), never
 * the launcher.
 */
#ifndef XENKVM_NET_H
#define XENKVM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "xenbus.h"

struct event_base;

/* ---- packets between netback and a packet backend ---- */

#define XK_PKT_CSUM_PARTIAL 1 /* L4 checksum at csum_start + csum_offset is to be filled */
#define XK_PKT_CSUM_VALID   2 /* checksums already verified */

#define XK_PKT_GSO_NONE	 0
#define XK_PKT_GSO_TCPV4 1
#define XK_PKT_GSO_TCPV6 2

/* Offload metadata (the meaning of virtio_net_hdr).  For CSUM_PARTIAL the
 * checksum field holds the pseudo-header sum, as Linux leaves it. */
struct xk_pkt_meta {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t gso_size;   /* TCP payload bytes per segment */
	uint16_t hdr_len;    /* Ethernet + IP + TCP header bytes */
	uint16_t csum_start; /* from the start of the frame */
	uint16_t csum_offset;
};

/* What a packet backend can take in send() besides plain frames. */
#define XK_NETDEV_CAP_CSUM 1 /* CSUM_PARTIAL frames */
#define XK_NETDEV_CAP_GSO  2 /* GSO frames up to 64 KiB */

struct xk_netdev;
struct xk_netdev_ops {
	/* A frame from the guest (complete Ethernet frame, meta->flags and
	 * gso_type only as caps allow). */
	void (*send)(struct xk_netdev *d, const uint8_t *frame, size_t len,
		     const struct xk_pkt_meta *m);
	/* The vif can (not) take frames now: a backend that can wait (tap)
	 * stops reading; slirp drops and lets TCP retransmit. */
	void (*rx_ready)(struct xk_netdev *d, bool ready);
	void (*free)(struct xk_netdev *d);
};

/* Frames towards the guest: the backend calls rx(rx_opaque, ...). */
typedef void (*xk_netdev_rx_fn)(void *opaque, const uint8_t *frame, size_t len,
				const struct xk_pkt_meta *m);

struct xk_netdev {
	const struct xk_netdev_ops *ops;
	unsigned caps; /* XK_NETDEV_CAP_* */
	xk_netdev_rx_fn rx;
	void *rx_opaque;
};

/* Hand a frame to the vif attached to d (dropped when none is). */
static inline void xk_netdev_deliver(struct xk_netdev *d, const uint8_t *frame, size_t len,
				     const struct xk_pkt_meta *m)
{
	if (d->rx)
		d->rx(d->rx_opaque, frame, len, m);
}

/* libslirp user-mode networking: 10.0.2.0/24, guest DHCP 10.0.2.15, the
 * host (and its loopback) as 10.0.2.2, DNS 10.0.2.3. */
struct xk_netdev *xk_netdev_slirp_new(struct event_base *base);
/* A tap device named ifname (NULL: kernel's choice), attached to bridge
 * when not NULL, brought up.  Needs CAP_NET_ADMIN.  NULL with errno set. */
struct xk_netdev *xk_netdev_tap_new(struct event_base *base, const char *ifname,
				    const char *bridge);
/* The name the tap device got (ifname may have held a %d). */
const char *xk_netdev_tap_name(struct xk_netdev *d);

/* ---- the vif ---- */

/* Largest frame netback gives a guest: a 64 KiB IP packet (a TSO frame
 * from the host) with its Ethernet and VLAN headers.  Frames from a guest
 * are at most 65535 bytes (the first slot's 16-bit size). */
#define XK_NET_MAX_FRAME (65535 + 18)
/* Slots of one TX packet Linux netback accepts (XEN_NETIF_NR_SLOTS_MIN):
 * more are refused with error responses, far more disable the vif. */
#define XK_NET_MAX_TX_SLOTS   18
#define XK_NET_FATAL_TX_SLOTS 64
#define XK_NET_MAX_QUEUES     8

/* One queue as the frontend set it up (xenstore keys of its directory). */
struct xk_netq_config {
	uint32_t tx_ring_ref, rx_ring_ref;
	uint32_t tx_port, rx_port; /* the same port without split channels */
};

/* Frontend features (its feature-* keys). */
struct xk_netfront_features {
	bool sg;	/* RX packets may span slots */
	bool gso_tcpv4; /* RX GSO */
	bool gso_tcpv6;
	bool csum; /* !feature-no-csum-offload: csum_blank RX packets ok */
	bool ipv6_csum;
};

struct xk_vif_stats {
	uint64_t tx_packets, tx_bytes, tx_errors, tx_dropped;
	uint64_t tx_gso; /* of tx_packets: TSO frames from the frontend */
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t rx_gso; /* of rx_packets: GSO frames given to the frontend */
};

struct xk_vif;

/*
 * A vif of guest domid served by netback over dev (which it owns from now
 * on).  gnt maps the guest's pages; ev raises its ports and routes its
 * sends (bind/unbind are required).  log: one line per call, without
 * newline (protocol errors of the frontend); NULL means stderr.
 */
struct xk_vif *xk_vif_new(uint32_t domid, uint32_t handle, struct xk_netdev *dev,
			  const struct xk_grant_ops *gnt, const struct xk_evtchn_ops *ev,
			  void (*log)(void *opaque, const char *msg), void *log_opaque);
/* Serve at most a budget of TX packets per queue per turn of base's loop
 * and continue from a deferred event (without a base, a queue is served
 * until its ring is empty).  0 or -ENOMEM. */
int xk_vif_set_event_base(struct xk_vif *v, struct event_base *base);
/* Map the rings of nr queues, bind their ports and start serving them.
 * 0 or -errno (a ring ref that does not map, a port that does not bind:
 * the vif stays disconnected). */
int xk_vif_connect(struct xk_vif *v, unsigned nr, const struct xk_netq_config *q,
		   const struct xk_netfront_features *f);
/* Unbind the ports, unmap the rings (frontend closing); the vif can
 * connect again. */
void xk_vif_disconnect(struct xk_vif *v);
/* True while connected and the frontend has not broken the protocol. */
bool xk_vif_carrier(const struct xk_vif *v);
const struct xk_vif_stats *xk_vif_stats(const struct xk_vif *v);
/* Disconnects, frees the vif and its packet backend. */
void xk_vif_free(struct xk_vif *v);

/* ---- the "vif" device type (vif.c) ---- */

/* One vif: an xl vif spec, e.g. "bridge=br0,mac=00:16:3e:01:02:03". */
struct xk_vif_config {
	uint8_t mac[6]; /* generated in Xen's 00:16:3e when the spec has none */
	bool have_mac;
	char bridge[16];  /* "": libslirp user networking */
	char vifname[16]; /* tap name ("": xkvif%d) */
};
/* 0, or -1 after a one-line error on stderr.  Keys: mac, bridge, vifname;
 * backend (0 only), type (vif only), script/model/ip/rate/gatewaydev are
 * accepted and ignored. */
int xk_vif_spec_parse(const char *spec, struct xk_vif_config *out);

extern const struct xk_devops xk_vif_devops;
/* Add vif devid to bus (its directories, netback, the packet backend).
 * NULL on error (logged). */
struct xk_dev *xk_vif_add(struct xk_bus *bus, uint32_t devid, const struct xk_vif_config *cfg);

/* ---- helpers shared with the packet backends and tests (net-csum.c) ---- */

/* Where the headers of an Ethernet frame are (offsets from its start). */
struct xk_net_hdrs {
	size_t l3, l4, end; /* end: where the IP packet ends (before padding) */
	uint8_t proto;	    /* IPPROTO_TCP, IPPROTO_UDP, ... */
	bool ipv6;
};
/* 0, or -1 when the frame is not IPv4/IPv6 (one VLAN tag allowed), is
 * truncated or is a fragment. */
int xk_net_parse(const uint8_t *frame, size_t len, struct xk_net_hdrs *h);
/* Fill the TCP/UDP checksum of frame in software.  0, or -1 if the frame
 * has no TCP/UDP header to fill. */
int xk_net_csum_fill(uint8_t *frame, size_t len);
/* Turn a complete L4 checksum into CSUM_PARTIAL form (the field = the
 * pseudo-header sum) and fill m->csum_start/csum_offset.  0 or -1. */
int xk_net_csum_partial(uint8_t *frame, size_t len, struct xk_pkt_meta *m);
/* Segment a TCP GSO frame into frames of at most gso_size payload bytes
 * with complete checksums, calling out() for each.  0 or -1 (malformed). */
int xk_net_gso_segment(const uint8_t *frame, size_t len, uint16_t gso_size,
		       void (*out)(void *opaque, uint8_t *seg, size_t len), void *opaque);

#endif
