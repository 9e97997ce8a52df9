/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The launcher's PV devices: routing of event-channel ports between the
 * guest and the backends (a table by port), the in-process xenstore daemon
 * with the guest's standard tree, the console, and the xenbus devices
 * (disks) with the store/evtchn/grant ops backends are written against.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>
#include <event2/event.h>
#include <linux/kvm.h>

#include "xenkvm.h"
#include "devices.h"
#include "backend.h"

#ifdef HAVE_XENSTORED
#include "xenstored.h"
#include "xenbus.h"
#include "blk.h"
#include "net.h"
#endif

struct port_route {
	xk_kick_fn kick;
	void *arg;
};

struct xk_devices {
	struct xk_vm *vm;
	struct event_base *base;
	struct event *doorbell_ev;
	struct port_route route[XK_HOST_PORTS];
	struct xk_console *console;
	struct xk_gnttab *gnttab;
	/* The delayed MSI for a busy vCPU (notify_guest). */
	int msi_timer_fd;
	struct event *msi_timer_ev;
	bool msi_timer_armed;
	long msi_delay_ns;
	/* -v at exit: the notification paths (docs/performance.md, I/O) */
	uint64_t nr_doorbells, nr_port_kicks, nr_notifies, nr_msis, nr_msis_late, nr_timer_arms;
#ifdef HAVE_XENSTORED
	struct xsd *xsd;
	struct xk_bus *bus;
#endif
};

/* ---- the terminal of a stdio console ---- */

/* A terminal on stdin is put in raw input mode, as xl console does, so that
 * the guest's shell sees every key (no double echo, ^C goes to the guest);
 * Ctrl-] stops the guest instead.  Output processing is left alone. */
static struct termios saved_tio;
static bool tio_saved;

static void restore_terminal(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	tio_saved = false;
}

static void on_escape(void *opaque)
{
	struct xk_vm *vm = opaque;

	fprintf(stderr, "\r\nxenkvm: Ctrl-] pressed: stopping the guest\r\n");
	xk_vm_request_stop(vm, 128 + 2);
}

static bool raw_terminal(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return false;
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL | ISIG | IEXTEN);
	t.c_iflag &= ~(tcflag_t)(IXON | ICRNL | INLCR | IGNCR | ISTRIP | BRKINT);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t))
		return false;
	tio_saved = true;
	atexit(restore_terminal);
	fprintf(stderr,
		"xenkvm: the guest's console is on this terminal; Ctrl-] stops the guest\n");
	return true;
}

/* ---- event channels ---- */

static volatile uint64_t *host_pending(struct xk_devices *d)
{
	return (volatile uint64_t *)(d->vm->stub + d->vm->bi->host_pending_off);
}

static void send_msi(struct xk_devices *d)
{
	struct kvm_msi msi = {.address_lo = 0xfee00000, .data = XK_VEC_EVENT};

	d->nr_msis++;
	if (ioctl(d->vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 && d->vm->opt.verbose)
		perror("xenkvm: KVM_SIGNAL_MSI");
}

/*
 * Raise a guest event-channel port from the host (architecture.md, stub
 * channels; the protocol is in stubabi.h at XK_HP_ANY).  The stub drains
 * host_pending on every return to the guest, so a vCPU that is running
 * needs no interrupt: each MSI costs the guest an interrupt, an EOI and
 * (hw) VM exits, and while the guest works through a burst of I/O it
 * enters the stub many times per request anyway.  An MSI goes out at once
 * only to a halted vCPU; a running one gets it msi_delay_ns later if it
 * has not drained the bits by then (a vCPU in a user-mode loop, or one the
 * host did not run).  The delay bounds that latency; it is long enough for
 * the timer to be armed rarely (each arming and firing is a syscall and a
 * wake-up of this thread): measured on pvm, 100 us armed it for nearly
 * every notification and cost more launcher time per request than 1 ms,
 * while the MSIs the timer sent were a few per cent of the notifications
 * either way (docs/performance.md, I/O).  If ANY
 * was set already, the stub has not drained since the last notification,
 * which has arranged for the drain.
 */
static void notify_guest(void *opaque, uint32_t port)
{
	struct xk_devices *d = opaque;
	volatile uint64_t *pending = host_pending(d);

	if (port >= XK_HOST_PORTS)
		return;
	d->nr_notifies++;
	__atomic_fetch_or(&pending[port / 64], 1ULL << (port % 64), __ATOMIC_RELEASE);
	if (__atomic_exchange_n(&pending[XK_HP_ANY], 1, __ATOMIC_SEQ_CST))
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the stub's is in idle_enter */
	if (__atomic_load_n(&pending[XK_HP_IDLE], __ATOMIC_RELAXED) || d->msi_timer_fd < 0) {
		send_msi(d);
		return;
	}
	if (!d->msi_timer_armed) {
		struct itimerspec it = {.it_value = {0, d->msi_delay_ns}};
		if (timerfd_settime(d->msi_timer_fd, 0, &it, NULL)) {
			send_msi(d);
			return;
		}
		d->msi_timer_armed = true;
		d->nr_timer_arms++;
	}
}

static void on_msi_timer(evutil_socket_t fd, short what, void *arg)
{
	struct xk_devices *d = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	d->msi_timer_armed = false;
	if (__atomic_load_n(&host_pending(d)[XK_HP_ANY], __ATOMIC_ACQUIRE)) {
		d->nr_msis_late++;
		send_msi(d);
	}
}

static int bind_port(void *opaque, uint32_t port, xk_kick_fn kick, void *arg)
{
	struct xk_devices *d = opaque;

	if (port == 0 || port >= XK_HOST_PORTS || !kick)
		return -EINVAL;
	if (d->route[port].kick)
		return -EBUSY;
	d->route[port] = (struct port_route){kick, arg};
	return 0;
}

static void unbind_port(void *opaque, uint32_t port)
{
	struct xk_devices *d = opaque;

	if (port < XK_HOST_PORTS)
		d->route[port] = (struct port_route){NULL, NULL};
}

/* The guest sent on host-bound ports: the stub set their bits in the
 * notify page and rang the ioeventfd. */
static void on_doorbell(evutil_socket_t fd, short what, void *arg)
{
	struct xk_devices *d = arg;
	uint64_t v;
	volatile uint64_t *notify = (volatile uint64_t *)(d->vm->stub + d->vm->bi->notify_off);

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	d->nr_doorbells++;
	for (unsigned w = 0; w < XK_HOST_PORTS / 64; w++) {
		if (!notify[w])
			continue;
		uint64_t bits = __atomic_exchange_n(&notify[w], 0, __ATOMIC_ACQ_REL);
		while (bits) {
			uint32_t port = w * 64 + (uint32_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			struct port_route *r = &d->route[port];
			d->nr_port_kicks++;
			if (r->kick)
				r->kick(r->arg);
		}
	}
}

static void kick_console(void *arg)
{
	xk_console_kick(arg);
}

#ifdef HAVE_XENSTORED
static void notify_store(void *opaque)
{
	struct xk_devices *d = opaque;
	notify_guest(d, d->vm->bi->store_port);
}

static void kick_store(void *arg)
{
	struct xk_devices *d = arg;
	xsd_domain_kick(d->xsd, d->vm->bi->domid);
}

/* ---- xenstore ops for the device model ---- */

static char *st_read(void *opaque, const char *path)
{
	return xsd_read(opaque, path, NULL);
}

static int st_write(void *opaque, const char *path, const char *value)
{
	return xsd_write(opaque, path, value, strlen(value));
}

static int st_rm(void *opaque, const char *path)
{
	return xsd_rm(opaque, path);
}

static int st_watch(void *opaque, const char *path, const char *token, xk_watch_fn fn, void *arg)
{
	return xsd_watch(opaque, path, token, fn, arg);
}

static int st_unwatch(void *opaque, const char *path, const char *token)
{
	return xsd_unwatch(opaque, path, token);
}

static int st_device_add(void *opaque, const char *type, uint32_t domid, uint32_t devid,
			 const char *const *be, const char *const *fe)
{
	struct xsd_device dev = {
	    .kind = type,
	    .domid = domid,
	    .devid = devid,
	    .backend_domid = 0,
	    .backend = be,
	    .frontend = fe,
	};
	return xsd_device_add(opaque, &dev);
}

static int setup_xenstore(struct xk_devices *d)
{
	struct xk_vm *vm = d->vm;
	const struct xk_boot_info *bi = vm->bi;
	struct xsd_options xo = {.trace = vm->opt.trace_hypercalls};

	d->xsd = xsd_new(d->base, &xo);
	if (!d->xsd)
		return -1;
	struct xsd_dominfo info = {
	    .domid = bi->domid,
	    .name = vm->opt.name ? vm->opt.name : "xenkvm-guest",
	    .max_memkb = vm->ram_size >> 10,
	    .target_memkb = vm->ram_size >> 10,
	    .max_vcpus = vm->nr_vcpus,
	    .store_port = bi->store_port,
	    .store_mfn = bi->store_frame,
	    .console_port = bi->console_port,
	    .console_mfn = bi->console_frame,
	};
	xk_domain_handle(&vm->opt, info.uuid);
	if (xsd_domain_write_tree(d->xsd, &info) ||
	    xsd_domain_introduce(d->xsd, bi->domid, (void *)(vm->ram + bi->store_frame * 4096),
				 notify_store, d) ||
	    bind_port(d, bi->store_port, kick_store, d)) {
		xk_err("cannot set up the guest's xenstore connection");
		return -1;
	}
	if (vm->opt.xenstore_socket && xsd_listen(d->xsd, vm->opt.xenstore_socket)) {
		xk_err("cannot listen on %s", vm->opt.xenstore_socket);
		return -1;
	}
	return 0;
}

/* One disk in xl syntax: the same path at start (--disk) and hot-plug. */
static int add_disk(struct xk_devices *d, const char *spec)
{
	struct xk_disk_spec s;

	if (xk_disk_spec_parse(spec, &s))
		return -1;
	if (xk_bus_find(d->bus, "vbd", s.devid)) {
		xk_err("disk '%s': %s is already attached", spec, s.vdev);
		xk_disk_spec_free(&s);
		return -1;
	}
	struct xk_blk_config cfg = {
	    .path = s.target,
	    .format = s.format,
	    .vdev = s.vdev,
	    .devid = s.devid,
	    .readonly = s.readonly,
	    .cdrom = s.cdrom,
	};
	struct xk_dev *dev = xk_blk_add(d->bus, &cfg);
	xk_disk_spec_free(&s);
	return dev ? 0 : -1;
}

static int setup_bus(struct xk_devices *d)
{
	struct xk_vm *vm = d->vm;
	struct xk_bus_env env = {
	    .store = {st_read, st_write, st_rm, st_watch, st_unwatch, st_device_add, d->xsd},
	    .evtchn = {notify_guest, d, bind_port, unbind_port},
	    .grant = {xk_gnttab_map, xk_gnttab_unmap, NULL, xk_gnttab_check},
	    .base = d->base,
	    .verbose = vm->opt.verbose,
	};

	d->gnttab = xk_gnttab_new(vm);
	if (!d->gnttab)
		return -1;
	env.grant.opaque = d->gnttab;
	d->bus = xk_bus_new(&env, vm->bi->domid, 0);
	if (!d->bus)
		return -1;
	for (unsigned i = 0; i < vm->opt.nr_disks; i++) {
		if (add_disk(d, vm->opt.disk[i]))
			return -1;
	}
	/* vifs are numbered in command-line order, as xl does. */
	for (unsigned i = 0; i < vm->opt.nr_vifs; i++) {
		struct xk_vif_config cfg;
		if (xk_vif_spec_parse(vm->opt.vif[i], &cfg) || !xk_vif_add(d->bus, i, &cfg))
			return -1;
	}
	return 0;
}
#endif

#ifdef HAVE_XENSTORED
#define XK_HOTPLUG_MAX_VIFS 64

int xk_devices_attach(struct xk_devices *d, const char *kind, const char *spec)
{
	if (!strcmp(kind, "vbd"))
		return add_disk(d, spec);
	if (strcmp(kind, "vif"))
		return -1;
	struct xk_vif_config cfg;
	if (xk_vif_spec_parse(spec, &cfg))
		return -1;
	/* The lowest free devid, as xl picks for network-attach. */
	uint32_t devid = 0;
	while (devid < XK_HOTPLUG_MAX_VIFS && xk_bus_find(d->bus, "vif", devid))
		devid++;
	if (devid == XK_HOTPLUG_MAX_VIFS) {
		xk_err("vif '%s': the guest has %d network interfaces already", spec,
		       XK_HOTPLUG_MAX_VIFS);
		return -1;
	}
	return xk_vif_add(d->bus, devid, &cfg) ? 0 : -1;
}

/* A vif's MAC as the backend wrote it equals text (case-insensitive). */
static bool vif_mac_is(struct xk_dev *dev, const char *text)
{
	char *mac = xk_dev_be_read(dev, "mac");
	bool eq = mac && !strcasecmp(mac, text);

	free(mac);
	return eq;
}

int xk_devices_detach_start(struct xk_devices *d, const char *kind, const char *id, uint32_t *devid)
{
	struct xk_dev *dev = NULL;
	bool vbd = !strcmp(kind, "vbd");
	char *end;

	errno = 0;
	unsigned long n = strtoul(id, &end, 10);
	bool number = *id >= '0' && *id <= '9' && !*end && !errno && n <= UINT32_MAX;
	if (vbd) {
		int64_t v = number ? (int64_t)n : xk_vdev_to_devid(id);
		if (v >= 0)
			dev = xk_bus_find(d->bus, "vbd", (uint32_t)v);
		else {
			xk_err("block-detach: '%s' is not a virtual device (xvdX, hdX, sdX, dN) or "
			       "a devid",
			       id);
			return -1;
		}
	} else if (number) {
		dev = xk_bus_find(d->bus, "vif", (uint32_t)n);
	} else {
		for (struct xk_dev *x = xk_bus_next(d->bus, NULL); x && !dev;
		     x = xk_bus_next(d->bus, x))
			if (!strcmp(xk_dev_type(x), "vif") && vif_mac_is(x, id))
				dev = x;
	}
	if (!dev) {
		xk_err("%s: the guest has no %s %s", vbd ? "block-detach" : "network-detach",
		       vbd ? "disk" : "network interface", id);
		return -1;
	}
	*devid = xk_dev_devid(dev);
	if (xk_dev_removing(dev))
		return 0;   /* a detach is under way already: wait for it too */
	xk_bus_remove(dev); /* may free dev */
	return 0;
}

bool xk_devices_present(struct xk_devices *d, const char *kind, uint32_t devid)
{
	return xk_bus_find(d->bus, kind, devid) != NULL;
}

void xk_devices_remove_now(struct xk_devices *d, const char *kind, uint32_t devid)
{
	struct xk_dev *dev = xk_bus_find(d->bus, kind, devid);

	if (dev)
		xk_bus_remove_now(dev);
}

void xk_devices_list(struct xk_devices *d, const char *kind, FILE *f)
{
	bool vbd = !strcmp(kind, "vbd");

	fprintf(f, vbd ? "Vdev  Devid  BE-state  FE-state  Mode  Target\n"
		       : "Idx  BE-state  FE-state  Mac\n");
	for (struct xk_dev *x = xk_bus_next(d->bus, NULL); x; x = xk_bus_next(d->bus, x)) {
		if (strcmp(xk_dev_type(x), kind))
			continue;
		char *fe = xk_dev_fe_read(x, "state");
		if (vbd) {
			char *dev = xk_dev_be_read(x, "dev"), *mode = xk_dev_be_read(x, "mode");
			char *params = xk_dev_be_read(x, "params");
			fprintf(f, "%-5s %-6u %-9d %-9s %-5s %s\n", dev ? dev : "?",
				xk_dev_devid(x), (int)xk_dev_state(x), fe ? fe : "-",
				mode ? mode : "?", params ? params : "?");
			free(dev);
			free(mode);
			free(params);
		} else {
			char *mac = xk_dev_be_read(x, "mac");
			fprintf(f, "%-4u %-9d %-9s %s\n", xk_dev_devid(x), (int)xk_dev_state(x),
				fe ? fe : "-", mac ? mac : "?");
			free(mac);
		}
		free(fe);
	}
}

int xk_devices_request_shutdown(struct xk_devices *d, const char *reason)
{
	if (xsd_request_shutdown(d->xsd, d->vm->bi->domid, reason)) {
		xk_err("cannot write control/shutdown");
		return -1;
	}
	return 0;
}

#else
int xk_devices_request_shutdown(struct xk_devices *d, const char *reason)
{
	xk_err("built without the xenstore daemon: no control/shutdown");
	return -1;
}

int xk_devices_attach(struct xk_devices *d, const char *kind, const char *spec)
{
	xk_err("built without the xenstore daemon: no hot-plug");
	return -1;
}

int xk_devices_detach_start(struct xk_devices *d, const char *kind, const char *id, uint32_t *devid)
{
	xk_err("built without the xenstore daemon: no hot-plug");
	return -1;
}

bool xk_devices_present(struct xk_devices *d, const char *kind, uint32_t devid)
{
	return false;
}

void xk_devices_remove_now(struct xk_devices *d, const char *kind, uint32_t devid)
{
}

void xk_devices_list(struct xk_devices *d, const char *kind, FILE *f)
{
}
#endif

void xk_devices_destroy(struct xk_devices *d)
{
	xk_vm_request_stop(d->vm, XK_EXIT_DESTROYED);
}

int xk_devices_check_vif(const char *spec)
{
#ifdef HAVE_XENSTORED
	struct xk_vif_config cfg;
	return xk_vif_spec_parse(spec, &cfg);
#else
	xk_err("--vif: built without the xenstore daemon");
	return -1;
#endif
}

const char *xk_devices_console_pty(const struct xk_devices *d)
{
	return d ? xk_console_pty(d->console) : NULL;
}

/* XENKVM_MSI_DELAY_US (benchmarks): the delay for a running vCPU; 0 sends
 * every MSI at once, as before. */
#define MSI_DELAY_US 500

static int setup_msi_timer(struct xk_devices *d)
{
	const char *env = getenv("XENKVM_MSI_DELAY_US");
	long us = env ? strtol(env, NULL, 10) : MSI_DELAY_US;

	if (us <= 0)
		return 0;
	d->msi_delay_ns = (us > 100000 ? 100000 : us) * 1000;
	d->msi_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->msi_timer_fd < 0)
		return 0; /* MSIs at once */
	d->msi_timer_ev =
	    event_new(d->base, d->msi_timer_fd, EV_READ | EV_PERSIST, on_msi_timer, d);
	if (!d->msi_timer_ev || event_add(d->msi_timer_ev, NULL)) {
		xk_err("cannot watch the MSI timer");
		return -1;
	}
	return 0;
}

struct xk_devices *xk_devices_new(struct xk_vm *vm, struct event_base *base)
{
	const struct xk_boot_info *bi = vm->bi;
	uint64_t nr_pages = vm->ram_size >> 12;
	struct xk_devices *d = calloc(1, sizeof(*d));

	if (!d) {
		xk_err("out of memory");
		return NULL;
	}
	d->vm = vm;
	d->base = base;
	d->msi_timer_fd = -1;
	if (setup_msi_timer(d))
		goto fail;
	if (bi->console_frame >= nr_pages || bi->store_frame >= nr_pages) {
		xk_err("internal: console/xenstore frames outside RAM");
		goto fail;
	}
	struct xk_evtchn_ops ev = {notify_guest, d, bind_port, unbind_port};
	struct xk_console_config cc = {
	    .mode = (enum xk_console_mode)vm->opt.console_mode,
	    .in_fd = STDIN_FILENO,
	    .out_fd = STDOUT_FILENO,
	    .log_path = vm->opt.console_log,
	    .verbose = vm->opt.verbose,
	};
	if (cc.mode == XK_CONSOLE_STDIO && raw_terminal()) {
		cc.escape = 0x1d; /* Ctrl-] */
		cc.on_escape = on_escape;
		cc.escape_opaque = vm;
	}
	d->console = xk_console_new(base, (void *)(vm->ram + bi->console_frame * 4096),
				    bi->console_port, &ev, &cc);
	if (!d->console || bind_port(d, bi->console_port, kick_console, d->console))
		goto fail;
	vm->console = d->console;
#ifdef HAVE_XENSTORED
	if (setup_xenstore(d) || setup_bus(d))
		goto fail;
#else
	if (vm->opt.nr_disks) {
		xk_err("--disk: built without the xenstore daemon");
		goto fail;
	}
#endif
	d->doorbell_ev = event_new(base, vm->doorbell_fd, EV_READ | EV_PERSIST, on_doorbell, d);
	if (!d->doorbell_ev || event_add(d->doorbell_ev, NULL)) {
		xk_err("cannot watch the doorbell");
		goto fail;
	}
	return d;
fail:
	xk_devices_free(d);
	return NULL;
}

void xk_devices_print_stats(const struct xk_devices *d, FILE *f)
{
	if (d)
		fprintf(f,
			"xenkvm: devices: %llu doorbell wake-ups, %llu port kicks; %llu guest "
			"notifications, %llu MSIs sent (%llu after the %ld us delay, timer armed "
			"%llu times)\n",
			(unsigned long long)d->nr_doorbells, (unsigned long long)d->nr_port_kicks,
			(unsigned long long)d->nr_notifies, (unsigned long long)d->nr_msis,
			(unsigned long long)d->nr_msis_late, d->msi_delay_ns / 1000,
			(unsigned long long)d->nr_timer_arms);
}

void xk_devices_free(struct xk_devices *d)
{
	if (!d)
		return;
	if (d->doorbell_ev)
		event_free(d->doorbell_ev);
	if (d->msi_timer_ev)
		event_free(d->msi_timer_ev);
	if (d->msi_timer_fd >= 0)
		close(d->msi_timer_fd);
#ifdef HAVE_XENSTORED
	xk_bus_free(d->bus); /* unmaps every grant before the table goes */
#endif
	xk_gnttab_free(d->gnttab);
	if (d->vm->console == d->console)
		d->vm->console = NULL;
	xk_console_free(d->console); /* drains what the guest wrote last */
	restore_terminal();
#ifdef HAVE_XENSTORED
	if (d->xsd)
		xsd_free(d->xsd);
#endif
	free(d);
}
