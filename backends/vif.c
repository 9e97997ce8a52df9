/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The "vif" device type: netback (net.c) behind the xenbus handshake of
 * the device model (xenbus.h), with the keys Linux's xen-netback writes
 * and reads, and the xl vif spec ("bridge=br0,mac=00:16:3e:..").
 *
 * Backend keys written at init: feature-sg, feature-gso-tcpv4/6,
 * feature-ipv6-csum-offload, feature-rx-copy (feature-rx-flip 0),
 * feature-split-event-channels, multi-queue-max-queues, mac, handle.
 * Frontend keys read at connect: request-rx-copy (required),
 * multi-queue-num-queues, then per queue (the frontend's directory itself,
 * or queue-N/ with more than one) tx-ring-ref, rx-ring-ref and
 * event-channel or event-channel-tx + event-channel-rx; feature-sg,
 * feature-gso-tcpv4/6, feature-no-csum-offload, feature-ipv6-csum-offload.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "net.h"
#include "xenbus.h"

static void spec_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void spec_err(const char *fmt, ...)
{
	va_list ap;

	fputs("xenkvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- spec ---- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1)
		return -1; /* multicast */
	return 0;
}

int xk_vif_spec_parse(const char *spec, struct xk_vif_config *out)
{
	char *s = strdup(spec), *save = NULL;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -1;
	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		char *eq = strchr(tok, '=');
		if (!eq) {
			spec_err("--vif: '%s' is not KEY=VALUE", tok);
			goto fail;
		}
		*eq = 0;
		const char *k = tok, *v = eq + 1;
		if (!strcmp(k, "mac")) {
			if (parse_mac(v, out->mac)) {
				spec_err("--vif: mac '%s' is not a unicast xx:xx:xx:xx:xx:xx", v);
				goto fail;
			}
			out->have_mac = true;
		} else if (!strcmp(k, "bridge")) {
			snprintf(out->bridge, sizeof(out->bridge), "%s", v);
			if (strlen(v) >= 16 || !*v) {
				spec_err("--vif: bridge name '%s' is empty or too long", v);
				goto fail;
			}
		} else if (!strcmp(k, "vifname")) {
			snprintf(out->vifname, sizeof(out->vifname), "%s", v);
			if (strlen(v) >= 16 || !*v) {
				spec_err("--vif: vifname '%s' is empty or too long", v);
				goto fail;
			}
		} else if (!strcmp(k, "backend")) {
			if (strcmp(v, "0") && strcmp(v, "Domain-0")) {
				spec_err(
				    "--vif: backend=%s: only the launcher (domain 0) serves vifs",
				    v);
				goto fail;
			}
		} else if (!strcmp(k, "type")) {
			if (strcmp(v, "vif")) {
				spec_err("--vif: type=%s: PV guests have type=vif only", v);
				goto fail;
			}
		} else if (!strcmp(k, "script") || !strcmp(k, "model") || !strcmp(k, "ip") ||
			   !strcmp(k, "rate") || !strcmp(k, "gatewaydev")) {
			/* xl keys with no meaning here: accepted, ignored */
		} else {
			spec_err("--vif: unknown key '%s'", k);
			goto fail;
		}
	}
	if (!out->have_mac) {
		/* Xen's prefix 00:16:3e, random rest (top bit clear, as libxl) */
		uint8_t r[3] = {0};
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			r[0] = (uint8_t)rand(), r[1] = (uint8_t)rand(), r[2] = (uint8_t)rand();
		uint8_t mac[6] = {0x00, 0x16, 0x3e, (uint8_t)(r[0] & 0x7f), r[1], r[2]};
		memcpy(out->mac, mac, 6);
	}
	free(s);
	return 0;
fail:
	free(s);
	return -1;
}

struct vifdev {
	struct xk_vif_config cfg;
	struct xk_vif *vif;
	struct xk_dev *dev;
	bool added; /* xk_bus_add() succeeded: ops->free owns the vifdev */
};

/* netback's reports of a misbehaving frontend go to the error node. */
static void vif_log(void *opaque, const char *msg)
{
	struct vifdev *vd = opaque;

	xk_dev_error(vd->dev, -EPROTO, "%s", msg);
}

static int vif_init(struct xk_dev *dev)
{
	struct vifdev *vd = xk_dev_priv(dev);
	const struct xk_bus_env *env = xk_dev_env(dev);
	struct xk_netdev *nd;

	vd->dev = dev;
	if (vd->cfg.bridge[0]) {
		nd = xk_netdev_tap_new(env->base, vd->cfg.vifname[0] ? vd->cfg.vifname : NULL,
				       vd->cfg.bridge);
		if (!nd) {
			xk_dev_error(dev, -errno, "cannot attach a tap device to bridge %s",
				     vd->cfg.bridge);
			return -1;
		}
		xk_dev_log(dev, "tap %s on bridge %s", xk_netdev_tap_name(nd), vd->cfg.bridge);
	} else {
#ifdef HAVE_SLIRP
		nd = xk_netdev_slirp_new(env->base);
		if (!nd) {
			xk_dev_error(dev, -ENOMEM, "cannot start slirp user networking");
			return -1;
		}
		xk_dev_log(dev, "slirp user networking (10.0.2.0/24)");
#else
		xk_dev_error(dev, -ENOSYS, "built without libslirp: give a bridge=");
		return -1;
#endif
	}
	vd->vif = xk_vif_new(xk_dev_domid(dev), xk_dev_devid(dev), nd, &env->grant, &env->evtchn,
			     vif_log, vd);
	if (!vd->vif) {
		nd->ops->free(nd);
		return -1;
	}
	if (env->base && xk_vif_set_event_base(vd->vif, env->base)) {
		xk_vif_free(vd->vif);
		vd->vif = NULL;
		return -1;
	}
	/* What Linux's netback announces when it probes a vif. */
	static const char *const one[] = {
	    "feature-sg",	 "feature-gso-tcpv4",
	    "feature-gso-tcpv6", "feature-ipv6-csum-offload",
	    "feature-rx-copy",	 "feature-split-event-channels",
	};
	static const char *const zero[] = {
	    "feature-rx-flip",
	    "feature-multicast-control",
	    "feature-dynamic-multicast-control",
	    "feature-ctrl-ring",
	};
	int err = 0;
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		err |= xk_dev_be_printf(dev, one[i], "1");
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		err |= xk_dev_be_printf(dev, zero[i], "0");
	err |= xk_dev_be_printf(dev, "multi-queue-max-queues", "%u", XK_NET_MAX_QUEUES);
	err |= xk_dev_be_printf(dev, "hotplug-status", "connected");
	if (err) {
		xk_vif_free(vd->vif); /* a failed init leaves nothing behind */
		vd->vif = NULL;
		return -1;
	}
	return 0;
}

/* A frontend flag: 1 when the key is "1", else 0. */
static bool fe_flag(struct xk_dev *dev, const char *key)
{
	uint64_t v;

	return xk_dev_fe_read_uint(dev, key, 1, &v) == 0 && v == 1;
}

static int vif_connect(struct xk_dev *dev)
{
	struct vifdev *vd = xk_dev_priv(dev);
	struct xk_netq_config q[XK_NET_MAX_QUEUES];
	struct xk_netfront_features f;
	uint64_t nq = 1;
	char key[64];
	int err;

	if (!fe_flag(dev, "request-rx-copy")) {
		xk_dev_error(dev, -EOPNOTSUPP, "frontend does not request rx-copy");
		return -EOPNOTSUPP;
	}
	err = xk_dev_fe_read_uint(dev, "multi-queue-num-queues", XK_NET_MAX_QUEUES, &nq);
	if ((err && err != -ENOENT) || nq == 0) {
		xk_dev_error(dev, -EINVAL, "multi-queue-num-queues is not 1..%u",
			     XK_NET_MAX_QUEUES);
		return -EINVAL;
	}
	for (unsigned i = 0; i < nq; i++) {
		char dir[16] = "";
		uint64_t tx, rx, p, ptx, prx;
		if (nq > 1)
			snprintf(dir, sizeof(dir), "queue-%u/", i);
#define FE(name, out)                                                                              \
	(snprintf(key, sizeof(key), "%s%s", dir, name),                                            \
	 xk_dev_fe_read_uint(dev, key, UINT32_MAX, out))
		if (FE("tx-ring-ref", &tx) || FE("rx-ring-ref", &rx)) {
			xk_dev_error(dev, -EINVAL, "queue %u: missing or bad ring refs", i);
			return -EINVAL;
		}
		if (FE("event-channel", &p) == 0) {
			ptx = prx = p;
		} else if (FE("event-channel-tx", &ptx) || FE("event-channel-rx", &prx)) {
			xk_dev_error(dev, -EINVAL, "queue %u: missing or bad event channels", i);
			return -EINVAL;
		}
#undef FE
		q[i] = (struct xk_netq_config){(uint32_t)tx, (uint32_t)rx, (uint32_t)ptx,
					       (uint32_t)prx};
	}
	f.sg = fe_flag(dev, "feature-sg");
	f.gso_tcpv4 = fe_flag(dev, "feature-gso-tcpv4");
	f.gso_tcpv6 = fe_flag(dev, "feature-gso-tcpv6");
	f.csum = !fe_flag(dev, "feature-no-csum-offload");
	f.ipv6_csum = fe_flag(dev, "feature-ipv6-csum-offload");
	err = xk_vif_connect(vd->vif, (unsigned)nq, q, &f);
	if (err) {
		xk_dev_error(dev, err, "cannot map the rings or bind the event channels");
		return err;
	}
	xk_dev_log(dev,
		   "connected: %u queue(s), rings %u/%u, ports %u/%u, sg %d, gso %d/%d, csum %d",
		   (unsigned)nq, q[0].tx_ring_ref, q[0].rx_ring_ref, q[0].tx_port, q[0].rx_port,
		   f.sg, f.gso_tcpv4, f.gso_tcpv6, f.csum);
	return 0;
}

static void vif_disconnect(struct xk_dev *dev)
{
	struct vifdev *vd = xk_dev_priv(dev);

	xk_vif_disconnect(vd->vif);
}

static void vif_free(struct xk_dev *dev)
{
	struct vifdev *vd = xk_dev_priv(dev);

	if (vd->vif) {
		const struct xk_vif_stats *st = xk_vif_stats(vd->vif);
		xk_dev_log(dev,
			   "tx %llu packets (%llu TSO), %llu bytes, %llu errors, %llu dropped; "
			   "rx %llu packets (%llu GSO), %llu bytes, %llu dropped",
			   (unsigned long long)st->tx_packets, (unsigned long long)st->tx_gso,
			   (unsigned long long)st->tx_bytes, (unsigned long long)st->tx_errors,
			   (unsigned long long)st->tx_dropped, (unsigned long long)st->rx_packets,
			   (unsigned long long)st->rx_gso, (unsigned long long)st->rx_bytes,
			   (unsigned long long)st->rx_dropped);
	}
	xk_vif_free(vd->vif); /* and its packet backend */
	vd->vif = NULL;
	if (vd->added)
		free(vd);
}

const struct xk_devops xk_vif_devops = {
    .type = "vif",
    .init = vif_init,
    .connect = vif_connect,
    .disconnect = vif_disconnect,
    .free = vif_free,
};

struct xk_dev *xk_vif_add(struct xk_bus *bus, uint32_t devid, const struct xk_vif_config *cfg)
{
	struct vifdev *vd = calloc(1, sizeof(*vd));
	char mac[18], handle[12];

	if (!vd)
		return NULL;
	vd->cfg = *cfg;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", cfg->mac[0], cfg->mac[1],
		 cfg->mac[2], cfg->mac[3], cfg->mac[4], cfg->mac[5]);
	snprintf(handle, sizeof(handle), "%u", devid);
	const char *bridge = cfg->bridge[0] ? cfg->bridge : NULL;
	const char *const be[] = {
	    "mac",  mac,  "handle", handle, "type", "vif", "script", "", bridge ? "bridge" : NULL,
	    bridge, NULL,
	};
	const char *const fe[] = {"mac", mac, "handle", handle, NULL};
	struct xk_dev *dev = xk_bus_add(bus, &xk_vif_devops, devid, be, fe, vd);
	if (!dev)
		free(vd); /* what init or ops->free opened is released already */
	else
		vd->added = true;
	return dev;
}
