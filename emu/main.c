/* SPDX-License-Identifier: GPL-2.0-only */
/* xenkvm: command line, and the main loop of `xenkvm run`. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <event2/event.h>
#include <linux/kvm.h>

#include "xenkvm.h"
#include "devices.h"
#include "backend.h"
#include "runtime.h"
#include "control.h"
#include "xlcfg.h"

#ifdef HAVE_XENSTORED
#include "xenstored.h"
#endif

void xk_err(const char *fmt, ...)
{
	va_list ap;

	fputs("xenkvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool libevent_verbose;

/* libevent's own warnings (e.g. an unpollable stdin) only with -v. */
static void libevent_log(int severity, const char *msg)
{
	if (libevent_verbose || severity >= EVENT_LOG_ERR)
		fprintf(stderr, "xenkvm: libevent: %s\n", msg);
}

static void usage(FILE *f)
{
	fputs("Usage: xenkvm COMMAND [OPTIONS]\n"
	      "Run unmodified Xen PV guests on KVM.\n"
	      "\n"
	      "Commands:\n"
	      "  create     start a guest from an xl domain config file (xenkvm create --help)\n"
	      "  run        boot a PV kernel in the foreground, console on stdio or a pty\n"
	      "  console    attach this terminal to a running guest's pty console\n"
	      "  list       list running guests (name, pid, console)\n"
	      "  shutdown [-w] NAME|PID  ask the guest to power off (-w: wait until it is gone)\n"
	      "  reboot [-w] NAME|PID    ask the guest to reboot\n"
	      "  destroy NAME|PID        stop the guest at once\n"
	      "  detect     print this host's kind of KVM: hw, pvm or none\n"
	      "  block-attach NAME|PID DISKSPEC        hot-plug a disk (xl disk syntax)\n"
	      "  block-detach [-f] NAME|PID VDEV       hot-unplug it: waits up to 10 s for the\n"
	      "                                        guest to let go; -f: without waiting\n"
	      "  block-list NAME|PID                   the guest's disks\n"
	      "  network-attach NAME|PID VIFSPEC       hot-plug a vif (xl vif syntax)\n"
	      "  network-detach [-f] NAME|PID DEVID|MAC  hot-unplug it\n"
	      "  network-list NAME|PID                 the guest's vifs\n"
#ifdef HAVE_XENSTORED
	      "  xenstored  run a standalone xenstore daemon (see xenkvm xenstored --help)\n"
#endif
	      "  help       this text\n"
	      "\n"
	      "xenkvm run --kernel FILE [options]\n"
	      "  -k, --kernel FILE       PV kernel (ELF or bzImage with Xen notes)\n"
	      "  -r, --ramdisk FILE      initial ramdisk\n"
	      "  -e, --extra STRING      kernel command line\n"
	      "  -m, --memory MIB        guest memory in MiB (default 256)\n"
	      "      --vcpus N           virtual CPUs (default 1; only 1 is supported yet)\n"
	      "      --platform hw|pvm   override host detection\n"
	      "      --timeout SECONDS   stop the guest after this long (exit status 6)\n"
	      "      --kernel-ring 1|3   hw platform: the guest kernel's CPU ring.  1 (the\n"
	      "                          default): one page table for kernel and user mode,\n"
	      "                          no page-table switch per system call, but the stub\n"
	      "                          is not protected from the guest kernel (as on pvm);\n"
	      "                          3: as Xen runs 64-bit PV kernels (separate user\n"
	      "                          page table, stub protected; slower)\n"
	      "      --scramble-p2m      give the guest non-contiguous machine frames\n"
	      "      --trace-hypercalls  log every hypercall with arguments and result\n"
	      "      --xenstore-socket PATH  serve the guest's xenstore to host tools there\n"
	      "      --name NAME         the guest's name (xenstore, xenkvm console NAME;\n"
	      "                          default " XK_DEFAULT_NAME ")\n"
	      "      --console stdio|pty|none  where the console goes (default stdio: stdout\n"
	      "                          and stdin); pty: a new pty, its path on stderr,\n"
	      "                          attach with 'xenkvm console NAME' (the launcher\n"
	      "                          stays in the foreground); none: nowhere\n"
	      "      --console-log FILE  also append all console output to FILE\n"
	      "      --disk SPEC         a virtual disk, xl syntax (repeatable), e.g.\n"
	      "                          'file:/x.img,xvda,w' or 'target=/y.iso,vdev=xvdb,devtype=cdrom,access=r'\n"
	      "      --vif SPEC          a network interface, xl syntax (repeatable), e.g.\n"
	      "                          'mac=00:16:3e:01:02:03,bridge=br0' (a tap on bridge br0);\n"
	      "                          without bridge=, user-mode networking (slirp, no root)\n"
	      "  -v, --verbose           launcher diagnostics on stderr\n"
	      "\n"
	      "Exit status of run: 0 guest powered off, 1 launcher error, 2 guest reboot,\n"
	      "3 guest crash (or unhandled fault), 4 watchdog, 5 suspend (unsupported),\n"
	      "6 timeout, 128+N killed by signal N (143 also after xenkvm destroy).\n"
	      "\n"
	      "xenkvm console NAME|PID|PTY   (Ctrl-] detaches)\n",
	      f);
}

static int cmd_detect(void)
{
	const char *why;
	enum xk_platform p = xk_detect_platform(&why);

	printf("%s\n", p == XK_PLATFORM_HW ? "hw" : p == XK_PLATFORM_PVM ? "pvm" : "none");
	fprintf(stderr, "xenkvm: %s\n", why);
	return p == XK_PLATFORM_NONE ? 1 : 0;
}

bool xk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool xk_parse_platform(const char *s, enum xk_platform *out)
{
	if (!strcmp(s, "hw"))
		*out = XK_PLATFORM_HW;
	else if (!strcmp(s, "pvm"))
		*out = XK_PLATFORM_PVM;
	else
		return false;
	return true;
}

int xk_parse_kernel_ring(const char *s, unsigned *out)
{
	if (strcmp(s, "1") && strcmp(s, "3")) {
		xk_err("--kernel-ring: '%s' is neither 1 nor 3", s);
		return -1;
	}
	*out = (unsigned)(s[0] - '0');
	return 0;
}

struct loop {
	struct xk_vm *vm;
	struct event_base *base;
	struct xk_devices *devices;
};

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("xenkvm: stop eventfd");
	event_base_loopbreak(l->base);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	fflush(stdout);
	xk_err("timeout after %u s: stopping the guest", l->vm->opt.timeout_s);
	xk_vm_request_stop(l->vm, XK_EXIT_TIMEOUT);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;

	xk_vm_request_stop(l->vm, 128 + (int)sig);
}

static int setup_doorbell(struct xk_vm *vm)
{
	vm->doorbell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct kvm_ioeventfd io = {
		.addr = XK_PORT_DOORBELL, .len = 4, .fd = vm->doorbell_fd,
		.flags = KVM_IOEVENTFD_FLAG_PIO,
	};
	if (vm->doorbell_fd < 0 || ioctl(vm->vm_fd, KVM_IOEVENTFD, &io)) {
		xk_err("KVM_IOEVENTFD: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The stub's event and timer counters, and hypercalls by number (-v). */
static void print_stub_events(unsigned id, const struct xk_vcpu_stats *st)
{
	fprintf(stderr,
		"xenkvm: vcpu %u: stub: irqs %llu event, %llu timer, %llu other; %llu EOIs "
		"(+%llu PV EOIs), %llu deadline writes (%llu later ones kept), %llu blocks, "
		"%llu halts (%llu interrupts on the hlt), %llu doorbells, %llu upcalls\n",
		id, (unsigned long long)st->nr_irq_event, (unsigned long long)st->nr_irq_timer,
		(unsigned long long)st->nr_irq_other, (unsigned long long)st->nr_eois,
		(unsigned long long)st->nr_pv_eois,
		(unsigned long long)st->nr_timer_writes, (unsigned long long)st->nr_timer_kept,
		(unsigned long long)st->nr_blocks,
		(unsigned long long)st->nr_halts, (unsigned long long)st->nr_idle_fixups,
		(unsigned long long)st->nr_doorbells,
		(unsigned long long)st->nr_upcalls);
	fprintf(stderr, "xenkvm: vcpu %u: stub: hypercalls by number:", id);
	for (unsigned n = 0; n < sizeof(st->nr_hc_op) / sizeof(st->nr_hc_op[0]); n++)
		if (st->nr_hc_op[n])
			fprintf(stderr, " %u:%llu", n, (unsigned long long)st->nr_hc_op[n]);
	fputc('\n', stderr);
}

/* An explicit --name must not be running already. */
static bool name_in_use(const char *name)
{
	struct xk_run_info *v;
	size_t n;
	bool used = false;

	if (xk_runtime_list(&v, &n))
		return false;
	for (size_t i = 0; i < n && !used; i++)
		if (!strcmp(v[i].name, name)) {
			xk_err("--name %s: a guest of that name is running (launcher pid %ld)",
			       name, v[i].pid);
			used = true;
		}
	free(v);
	return used;
}

/* Say where a pty console is, and write the run file xenkvm console reads. */
static char *register_guest(struct xk_vm *vm, struct xk_devices *d, const char *control)
{
	static const char *const modes[] = {"stdio", "pty", "none"};
	struct xk_run_info ri = {.pid = (long)getpid()};
	const char *pty = xk_devices_console_pty(d);

	snprintf(ri.name, sizeof(ri.name), "%s", vm->opt.name ? vm->opt.name : XK_DEFAULT_NAME);
	snprintf(ri.console, sizeof(ri.console), "%s", modes[vm->opt.console_mode]);
	if (control)
		snprintf(ri.control, sizeof(ri.control), "%s", control);
	if (pty) {
		snprintf(ri.pty, sizeof(ri.pty), "%s", pty);
		xk_err("console on %s (xenkvm console %s)", pty, vm->opt.name ? vm->opt.name : pty);
	}
	/* Only a guest one may want to attach to needs to hear about a
	 * missing run-file directory. */
	return xk_runtime_register(&ri, !pty && !vm->opt.name);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"ramdisk", required_argument, NULL, 'r'},
		{"extra", required_argument, NULL, 'e'},
		{"memory", required_argument, NULL, 'm'},
		{"vcpus", required_argument, NULL, 'c'},
		{"platform", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"scramble-p2m", no_argument, NULL, 's'},
		{"kernel-ring", required_argument, NULL, 'R'},
		{"trace-hypercalls", no_argument, NULL, 'T'},
		{"xenstore-socket", required_argument, NULL, 'X'},
		{"name", required_argument, NULL, 'N'},
		{"console", required_argument, NULL, 'C'},
		{"console-log", required_argument, NULL, 'L'},
		{"disk", required_argument, NULL, 'D'},
		{"vif", required_argument, NULL, 'V'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct xk_vm vm; /* only its options: xk_launch() has the VM */
	uint64_t n;
	int c;

	memset(&vm, 0, sizeof(vm));
	vm.opt.memory_mib = 256;
	vm.opt.vcpus = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:r:e:m:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			vm.opt.kernel = optarg;
			break;
		case 'r':
			vm.opt.ramdisk = optarg;
			break;
		case 'e':
			vm.opt.extra = optarg;
			break;
		case 'm':
			if (!xk_parse_u64(optarg, 4, 1 << 20, &n)) {
				xk_err("--memory: '%s' is not a size in MiB between 4 and 1048576",
				       optarg);
				return XK_EXIT_ERROR;
			}
			vm.opt.memory_mib = n;
			break;
		case 'c':
			if (!xk_parse_u64(optarg, 1, XK_MAX_VCPUS, &n)) {
				xk_err("--vcpus: '%s' is not a number between 1 and %d", optarg,
				       XK_MAX_VCPUS);
				return XK_EXIT_ERROR;
			}
			if (n != 1) {
				xk_err("--vcpus %s: only 1 vCPU is supported so far", optarg);
				return XK_EXIT_ERROR;
			}
			vm.opt.vcpus = (unsigned)n;
			break;
		case 'p':
			if (!xk_parse_platform(optarg, &vm.opt.platform)) {
				xk_err("--platform: '%s' is neither 'hw' nor 'pvm'", optarg);
				return XK_EXIT_ERROR;
			}
			break;
		case 't':
			if (!xk_parse_u64(optarg, 1, XK_TIMEOUT_MAX_S, &n)) {
				xk_err("--timeout: '%s' is not a number of seconds", optarg);
				return XK_EXIT_ERROR;
			}
			vm.opt.timeout_s = (unsigned)n;
			break;
		case 's':
			vm.opt.scramble_p2m = true;
			break;
		case 'R':
			if (xk_parse_kernel_ring(optarg, &vm.opt.kernel_ring))
				return XK_EXIT_ERROR;
			break;
		case 'T':
			vm.opt.trace_hypercalls = true;
			break;
		case 'X':
			vm.opt.xenstore_socket = optarg;
			break;
		case 'N':
			if (xk_name_check(optarg))
				return XK_EXIT_ERROR;
			vm.opt.name = optarg;
			break;
		case 'C':
			if (!strcmp(optarg, "stdio")) {
				vm.opt.console_mode = XK_CONSOLE_STDIO;
			} else if (!strcmp(optarg, "pty")) {
				vm.opt.console_mode = XK_CONSOLE_PTY;
			} else if (!strcmp(optarg, "none")) {
				vm.opt.console_mode = XK_CONSOLE_NONE;
			} else {
				xk_err("--console: '%s' is not stdio, pty or none", optarg);
				return XK_EXIT_ERROR;
			}
			break;
		case 'L':
			vm.opt.console_log = optarg;
			break;
		case 'V':
			if (vm.opt.nr_vifs == XK_MAX_VIFS) {
				xk_err("--vif: at most %d network interfaces", XK_MAX_VIFS);
				return XK_EXIT_ERROR;
			}
			if (xk_devices_check_vif(optarg))
				return XK_EXIT_ERROR;
			vm.opt.vif[vm.opt.nr_vifs++] = optarg;
			break;
		case 'D': {
			struct xk_disk_spec spec;
			if (vm.opt.nr_disks == XK_MAX_DISKS) {
				xk_err("--disk: at most %d disks", XK_MAX_DISKS);
				return XK_EXIT_ERROR;
			}
			/* Checked now, opened after the VM exists. */
			if (xk_disk_spec_parse(optarg, &spec))
				return XK_EXIT_ERROR;
			for (unsigned i = 0; i < vm.opt.nr_disks; i++) {
				struct xk_disk_spec o;
				if (!xk_disk_spec_parse(vm.opt.disk[i], &o)) {
					bool dup = o.devid == spec.devid;
					xk_disk_spec_free(&o);
					if (dup) {
						xk_err("--disk %s: %s is used twice", optarg, spec.vdev);
						xk_disk_spec_free(&spec);
						return XK_EXIT_ERROR;
					}
				}
			}
			xk_disk_spec_free(&spec);
			vm.opt.disk[vm.opt.nr_disks++] = optarg;
			break;
		}
		case 'v':
			vm.opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fputs("Try 'xenkvm help'.\n", stderr);
			return XK_EXIT_ERROR;
		}
	}
	if (optind < argc) {
		xk_err("run: unexpected argument '%s'", argv[optind]);
		return XK_EXIT_ERROR;
	}
	if (!vm.opt.kernel) {
		xk_err("run: --kernel FILE is required");
		return XK_EXIT_ERROR;
	}
	return xk_launch(&vm.opt, NULL, NULL);
}

int xk_launch(const struct xk_options *opt, void (*ready)(void *arg), void *ready_arg)
{
	static struct xk_vm vm;

	memset(&vm, 0, sizeof(vm));
	vm.opt = *opt;
	if (vm.opt.name && name_in_use(vm.opt.name))
		return XK_EXIT_ERROR;

	const char *why;
	enum xk_platform detected = xk_detect_platform(&why);
	if (vm.opt.platform == XK_PLATFORM_NONE && detected == XK_PLATFORM_NONE) {
		xk_err("%s", why);
		return XK_EXIT_ERROR;
	}
	vm.platform = vm.opt.platform ? vm.opt.platform : detected;
	if (vm.opt.kernel_ring && vm.platform != XK_PLATFORM_HW) {
		xk_err("--kernel-ring: only the hw platform has a choice (on pvm the guest kernel "
		       "runs as PVM supervisor)");
		return XK_EXIT_ERROR;
	}
	vm.nr_vcpus = vm.opt.vcpus;
	vm.kvm_fd = vm.vm_fd = -1;
	vm.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&vm.lock, NULL);

	int rc = XK_EXIT_ERROR;
	char *run_file = NULL;
	struct xk_control *control = NULL;
	struct loop l = {.vm = &vm};
	struct event *evs[5] = {NULL};
	if (vm.stop_fd < 0 || xk_kvm_open(&vm) || xk_domain_build(&vm) || setup_doorbell(&vm))
		goto out;

	libevent_verbose = vm.opt.verbose;
	event_set_log_callback(libevent_log);
	l.base = event_base_new();
	if (!l.base) {
		xk_err("cannot create the event loop");
		goto out;
	}
	l.devices = xk_devices_new(&vm, l.base);
	if (!l.devices)
		goto out;
	control = xk_control_new(l.base, l.devices);
	run_file = register_guest(&vm, l.devices, xk_control_path(control));
	evs[0] = event_new(l.base, vm.stop_fd, EV_READ | EV_PERSIST, on_stop, &l);
	evs[1] = evsignal_new(l.base, SIGINT, on_signal, &l);
	evs[2] = evsignal_new(l.base, SIGTERM, on_signal, &l);
	evs[3] = evsignal_new(l.base, SIGHUP, on_signal, &l);
	for (int i = 0; i < 4; i++)
		event_add(evs[i], NULL);
	if (vm.opt.timeout_s) {
		struct timeval tv = {vm.opt.timeout_s, 0};
		evs[4] = evtimer_new(l.base, on_timeout, &l);
		evtimer_add(evs[4], &tv);
	}

	/* vCPU threads get SIGUSR1 to leave KVM_RUN; others never see it. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (unsigned i = 0; i < vm.nr_vcpus; i++) {
		if (pthread_create(&vm.vcpu[i].thread, NULL, xk_vcpu_thread, &vm.vcpu[i])) {
			xk_err("cannot start vCPU thread");
			goto out;
		}
		vm.vcpu[i].started = true;
	}
	if (ready)
		ready(ready_arg);
	event_base_dispatch(l.base);

	pthread_mutex_lock(&vm.lock);
	vm.stopping = true;
	pthread_mutex_unlock(&vm.lock);
	xk_vcpus_kick(&vm);
	for (unsigned i = 0; i < vm.nr_vcpus; i++)
		if (vm.vcpu[i].started)
			pthread_join(vm.vcpu[i].thread, NULL);
	fflush(stdout);
	rc = vm.exit_code;
	if (vm.opt.verbose)
		for (unsigned i = 0; i < vm.nr_vcpus; i++) {
			fprintf(stderr, "xenkvm: vcpu %u: %llu exits to userspace (%llu port I/O)\n", i,
				(unsigned long long)vm.vcpu[i].nr_exits,
				(unsigned long long)vm.vcpu[i].nr_io_exits);
			/* The stub's counters (bench/boot-bench parses this line). */
			/* stats_off: set by the stub, so checked here */
			uint64_t so = __atomic_load_n(&vm.bi_live->stats_off, __ATOMIC_RELAXED);
			uint64_t off = vm.bi->vcpu_area_off + i * XK_VCPU_AREA_SIZE + so;
			if (so && so <= XK_VCPU_AREA_SIZE - sizeof(struct xk_vcpu_stats)) {
				struct xk_vcpu_stats st;
				memcpy(&st, vm.stub + off, sizeof(st));
				fprintf(stderr, "xenkvm: vcpu %u: stub: %llu hypercalls, %llu bounces, "
					"%llu CR3 writes (%llu L4 switches)\n", i,
					(unsigned long long)st.nr_hypercalls,
					(unsigned long long)st.nr_bounces,
					(unsigned long long)st.nr_cr3_writes,
					(unsigned long long)st.nr_cr3_switches);
				print_stub_events(i, &st);
			}
		}
	if (vm.opt.verbose)
		xk_devices_print_stats(l.devices, stderr);
out:
	xk_control_free(control); /* before the devices it reaches */
	xk_devices_free(l.devices); /* drains the console's last output */
	xk_runtime_unregister(run_file);
	for (int i = 0; i < 5; i++)
		if (evs[i])
			event_free(evs[i]);
	if (l.base)
		event_base_free(l.base);
	xk_vm_destroy(&vm);
	return rc;
}

int main(int argc, char **argv)
{
	/* A write to a socket or pipe whose reader left must be an EPIPE its
	 * caller handles, not the launcher's death: libslirp send()s to host
	 * sockets without MSG_NOSIGNAL (an iperf3 server closing its data
	 * connection killed the guest's launcher; QEMU ignores SIGPIPE too). */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return XK_EXIT_ERROR;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "create"))
		return xk_cmd_create(argc - 1, argv + 1);
	if (!strcmp(cmd, "shutdown") || !strcmp(cmd, "reboot") || !strcmp(cmd, "destroy"))
		return xk_cmd_domctl(argc - 1, argv + 1);
	if (!strcmp(cmd, "detect"))
		return cmd_detect();
	if (!strcmp(cmd, "console"))
		return xk_cmd_console(argc - 1, argv + 1);
	if (!strcmp(cmd, "list"))
		return xk_cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "block-attach") || !strcmp(cmd, "block-detach") ||
	    !strcmp(cmd, "block-list") || !strcmp(cmd, "network-attach") ||
	    !strcmp(cmd, "network-detach") || !strcmp(cmd, "network-list"))
		return xk_cmd_hotplug(argc - 1, argv + 1);
#ifdef HAVE_XENSTORED
	if (!strcmp(cmd, "xenstored"))
		return xk_xenstored_main(argc - 1, argv + 1);
#endif
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("xenkvm %s\n", XENKVM_VERSION);
		return 0;
	}
	xk_err("unknown command '%s'", cmd);
	fputs("Try 'xenkvm help'.\n", stderr);
	return XK_EXIT_ERROR;
}
