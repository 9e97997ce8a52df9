/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet backend: a tap device, attached to a host bridge the way xl's
 * vif-bridge script does (the tap gets fe:ff:ff:ff:ff:ff so that the
 * bridge never takes the guest's address, is added to the bridge and
 * brought up).  With IFF_VNET_HDR, checksum and TCP segmentation offloads
 * pass through as virtio_net_hdr; without it netback does them in software.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <event2/event.h>

#include "net.h"

struct tap_dev {
	struct xk_netdev dev; /* first: the ops get this pointer */
	int fd;
	bool vnet;
	struct event *ev;
	char name[IFNAMSIZ];
	uint8_t buf[sizeof(struct virtio_net_hdr) + XK_NET_MAX_FRAME + 1];
};

static void tap_read(evutil_socket_t fd, short what, void *arg)
{
	struct tap_dev *t = arg;
	size_t hl = t->vnet ? sizeof(struct virtio_net_hdr) : 0;

	/* A bounded batch, then back to the loop. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
		if (n < 0)
			return; /* EAGAIN: drained */
		if ((size_t)n <= hl)
			continue;
		struct xk_pkt_meta m = {0};
		if (t->vnet) {
			struct virtio_net_hdr h;
			memcpy(&h, t->buf, sizeof(h));
			if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
				m.flags |= XK_PKT_CSUM_PARTIAL;
				m.csum_start = h.csum_start;
				m.csum_offset = h.csum_offset;
			}
			if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID)
				m.flags |= XK_PKT_CSUM_VALID;
			switch (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
			case VIRTIO_NET_HDR_GSO_TCPV4:
				m.gso_type = XK_PKT_GSO_TCPV4;
				break;
			case VIRTIO_NET_HDR_GSO_TCPV6:
				m.gso_type = XK_PKT_GSO_TCPV6;
				break;
			}
			m.gso_size = h.gso_size;
			m.hdr_len = h.hdr_len;
		}
		xk_netdev_deliver(&t->dev, t->buf + hl, (size_t)n - hl, &m);
		if (!t->ev || !event_pending(t->ev, EV_READ, NULL))
			return; /* the vif asked us to stop */
	}
}

static void tap_send(struct xk_netdev *d, const uint8_t *frame, size_t len,
		     const struct xk_pkt_meta *m)
{
	struct tap_dev *t = (struct tap_dev *)d;
	struct virtio_net_hdr h = {0};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)frame, len}};

	if (t->vnet) {
		if (m->flags & XK_PKT_CSUM_PARTIAL) {
			h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h.csum_start = m->csum_start;
			h.csum_offset = m->csum_offset;
		} else if (m->flags & XK_PKT_CSUM_VALID) {
			h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
		}
		if (m->gso_type) {
			h.gso_type = m->gso_type == XK_PKT_GSO_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
								     : VIRTIO_NET_HDR_GSO_TCPV6;
			h.gso_size = m->gso_size;
			h.hdr_len = m->hdr_len;
		}
	}
	/* Non-blocking: a full tap queue drops the frame, as a NIC would. */
	if (writev(t->fd, t->vnet ? iov : iov + 1, t->vnet ? 2 : 1) < 0 && errno != EAGAIN)
		fprintf(stderr, "xenkvm: %s: write: %s\n", t->name, strerror(errno));
}

static void tap_rx_ready(struct xk_netdev *d, bool ready)
{
	struct tap_dev *t = (struct tap_dev *)d;

	if (ready)
		event_add(t->ev, NULL);
	else
		event_del(t->ev);
}

static void tap_free(struct xk_netdev *d)
{
	struct tap_dev *t = (struct tap_dev *)d;

	if (t->ev)
		event_free(t->ev);
	if (t->fd >= 0)
		close(t->fd); /* a non-persistent tap goes away with its fd */
	free(t);
}

static const struct xk_netdev_ops tap_ops = {
    .send = tap_send,
    .rx_ready = tap_rx_ready,
    .free = tap_free,
};

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	int r = ioctl(s, req, ifr);
	int e = errno;
	close(s);
	errno = e;
	return r;
}

struct xk_netdev *xk_netdev_tap_new(struct event_base *base, const char *ifname, const char *bridge)
{
	struct tap_dev *t = calloc(1, sizeof(*t));
	struct ifreq ifr;
	int e;

	if (!t)
		return NULL;
	t->dev.ops = &tap_ops;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		goto fail;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ifname && strlen(ifname) >= IFNAMSIZ) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname ? ifname : "xkvif%d");
	if (ioctl(t->fd, TUNSETIFF, &ifr) == 0) {
		t->vnet = true;
	} else {
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
		if (ioctl(t->fd, TUNSETIFF, &ifr))
			goto fail;
	}
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	if (t->vnet) {
		int sz = sizeof(struct virtio_net_hdr);
		/* Frames towards the guest may carry partial checksums and be
		 * TSO frames (netback segments them for a frontend without
		 * GSO). */
		if (ioctl(t->fd, TUNSETVNETHDRSZ, &sz) ||
		    ioctl(t->fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6))
			goto fail;
		t->dev.caps = XK_NETDEV_CAP_CSUM | XK_NETDEV_CAP_GSO;
	}

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memset(ifr.ifr_hwaddr.sa_data, 0xff, 6);
	ifr.ifr_hwaddr.sa_data[0] = (char)0xfe;
	if (if_ioctl(SIOCSIFHWADDR, &ifr))
		goto fail;
	if (bridge) {
		struct ifreq br;
		memset(&br, 0, sizeof(br));
		if (strlen(bridge) >= IFNAMSIZ) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		snprintf(br.ifr_name, IFNAMSIZ, "%s", bridge);
		br.ifr_ifindex = (int)if_nametoindex(t->name);
		if (!br.ifr_ifindex || if_ioctl(SIOCBRADDIF, &br))
			goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
	if (if_ioctl(SIOCGIFFLAGS, &ifr))
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (if_ioctl(SIOCSIFFLAGS, &ifr))
		goto fail;

	t->ev = event_new(base, t->fd, EV_READ | EV_PERSIST, tap_read, t);
	if (!t->ev || event_add(t->ev, NULL))
		goto fail;
	return &t->dev;
fail:
	e = errno;
	tap_free(&t->dev);
	errno = e;
	return NULL;
}

const char *xk_netdev_tap_name(struct xk_netdev *d)
{
	return ((struct tap_dev *)d)->name;
}
