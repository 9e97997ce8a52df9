/* SPDX-License-Identifier: GPL-2.0-only */
/* The launcher's shared state: one VM running one PV domain. */
#ifndef XENKVM_LAUNCHER_H
#define XENKVM_LAUNCHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <xenkvm/stubabi.h>

/* Exit status of `xenkvm run` (docs/usage.md). */
enum xk_exit {
	XK_EXIT_POWEROFF = 0,
	XK_EXIT_ERROR = 1,    /* launcher error: arguments, files, KVM */
	XK_EXIT_REBOOT = 2,   /* guest asked for a reboot */
	XK_EXIT_CRASH = 3,    /* SHUTDOWN_crash, unhandled guest fault, stub fault */
	XK_EXIT_WATCHDOG = 4, /* SHUTDOWN_watchdog */
	XK_EXIT_SUSPEND = 5,  /* SHUTDOWN_suspend: save/restore not supported yet */
	XK_EXIT_TIMEOUT = 6,  /* --timeout expired */
	/* xenkvm destroy: as if killed by SIGTERM (never restarted by create) */
	XK_EXIT_DESTROYED = 128 + 15,
};

struct xk_options {
	const char *kernel;
	const char *ramdisk;
	const char *extra;
	uint64_t memory_mib;
	unsigned vcpus;
	enum xk_platform platform; /* NONE = detect */
	unsigned timeout_s;        /* 0 = none */
	bool trace_hypercalls;
	bool scramble_p2m;
	unsigned kernel_ring; /* --kernel-ring: 1 or 3 (hw only); 0 = default (1) */
	bool verbose;
	const char *xenstore_socket;
	const char *name;        /* --name: xenstore name, run file (runtime.c) */
	int console_mode;        /* --console: enum xk_console_mode (backends/backend.h) */
	const char *console_log; /* --console-log FILE, or NULL */
#define XK_MAX_DISKS 16
	const char *disk[XK_MAX_DISKS]; /* --disk specs, xl syntax (devices.h) */
	unsigned nr_disks;
#define XK_MAX_VIFS 8
	const char *vif[XK_MAX_VIFS]; /* --vif specs, xl syntax (backends/net.h) */
	unsigned nr_vifs;
	bool have_uuid; /* xl.cfg's uuid (xenkvm create), else a fixed one */
	uint8_t uuid[16];
};

struct xk_console;

struct xk_vcpu {
	struct xk_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t nr_exits, nr_io_exits;
};

struct xk_vm {
	struct xk_options opt;
	enum xk_platform platform;
	int kvm_fd, vm_fd;
	uint8_t *ram;       /* guest RAM, GPA 0 */
	uint64_t ram_size;
	uint8_t *stub;      /* stub region */
	uint64_t stub_gpa, stub_size;
	/* The boot info as the launcher wrote it (bi_copy): layout the
	 * launcher trusts.  bi_live is the page in the stub region, which the
	 * guest kernel can write (it is not isolated from the stub on pvm,
	 * nor in ring 1 on hw): only the fields the stub sets at run time
	 * (grant_version, stats_off) are read there, each once and checked. */
	struct xk_boot_info *bi;
	struct xk_boot_info *bi_live;
	struct xk_boot_info bi_copy;
	struct xk_vcpu vcpu[XK_MAX_VCPUS];
	unsigned nr_vcpus;
	int doorbell_fd; /* ioeventfd on XK_PORT_DOORBELL */
	bool pv_eoi;	 /* KVM offers PV EOI (CPUID 0x40000001) */

	pthread_mutex_t lock;
	bool stopping;
	int exit_code;
	int stop_fd; /* eventfd: a vCPU thread asks the main loop to stop */
	struct xk_console *console; /* set by devices.c: HYPERVISOR_console_io output */
};

/* kvm.c */
enum xk_platform xk_detect_platform(const char **why);
int xk_kvm_open(struct xk_vm *vm);
int xk_vm_create(struct xk_vm *vm);
int xk_vcpu_create(struct xk_vm *vm, unsigned id);
int xk_vcpu_setup_regs(struct xk_vm *vm, unsigned id);
void xk_vcpu_dump(struct xk_vcpu *vc, const char *why);
void xk_vcpu_post_mortem(struct xk_vcpu *vc);
void xk_vcpu_check_stub_tables(struct xk_vcpu *vc);
/* Interrupt, event-channel and timer state of a stalled vCPU (stderr). */
void xk_vcpu_event_state(struct xk_vcpu *vc);
void xk_vm_destroy(struct xk_vm *vm);

/* domain.c */
int xk_domain_build(struct xk_vm *vm);
/* The domain's uuid (handle): xl.cfg's, else a fixed one. */
void xk_domain_handle(const struct xk_options *opt, uint8_t uuid[16]);

/* vcpu.c */
void *xk_vcpu_thread(void *arg);
void xk_vm_request_stop(struct xk_vm *vm, int exit_code);
void xk_vcpus_kick(struct xk_vm *vm);

/* main.c */
/* Build and run one domain with opt until it stops; its exit status (enum
 * xk_exit, or 128+N).  ready(arg), if given, once the guest runs and can be
 * found (run file, control socket): `xenkvm create` detaches then. */
int xk_launch(const struct xk_options *opt, void (*ready)(void *arg), void *arg);
void xk_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A decimal number in [min, max] (no sign, nothing after it). */
bool xk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* --platform's "hw" or "pvm". */
bool xk_parse_platform(const char *s, enum xk_platform *out);
/* --kernel-ring 1|3; says what is wrong and returns -1 otherwise. */
int xk_parse_kernel_ring(const char *s, unsigned *out);
#define XK_TIMEOUT_MAX_S (86400 * 365) /* --timeout */
extern const uint8_t xk_stub_pvm[], xk_stub_hw[];
extern const size_t xk_stub_pvm_len, xk_stub_hw_len;

#endif
