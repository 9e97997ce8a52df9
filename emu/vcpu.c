/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vCPU threads: KVM_RUN and the few exits the stub causes on purpose
 * (hostcalls on XK_PORT_HOSTCALL); anything else is a stub or launcher bug
 * and ends the domain with a register dump and the crash exit code.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <xen/xen.h>
#include <xen/sched.h>

#include "xenkvm.h"
#include "backend.h"

void xk_vm_request_stop(struct xk_vm *vm, int exit_code)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->exit_code = exit_code;
	}
	pthread_mutex_unlock(&vm->lock);
	uint64_t one = 1;
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		perror("xenkvm: stop eventfd");
}

void xk_vcpus_kick(struct xk_vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct xk_vcpu *vc = &vm->vcpu[i];
		if (!vc->started)
			continue;
		vc->run->immediate_exit = 1;
		pthread_kill(vc->thread, SIGUSR1);
	}
}

static int shutdown_exit_code(uint64_t reason)
{
	switch (reason) {
	case SHUTDOWN_poweroff:
		return XK_EXIT_POWEROFF;
	case SHUTDOWN_reboot:
		return XK_EXIT_REBOOT;
	case SHUTDOWN_suspend:
		return XK_EXIT_SUSPEND;
	case SHUTDOWN_watchdog:
		return XK_EXIT_WATCHDOG;
	default: /* crash, soft_reset and anything unknown */
		return XK_EXIT_CRASH;
	}
}

/* The hostcall block is stub memory the guest could reach on PVM: bound
 * every length before use. */
static bool handle_hostcall(struct xk_vcpu *vc)
{
	struct xk_vm *vm = vc->vm;
	struct xk_boot_info *bi = vm->bi;
	struct xk_hostcall *hc =
		(struct xk_hostcall *)(vm->stub + bi->hostcall_off + (uint64_t)vc->id * 4096);
	/* The guest can write this page: the length is read once. */
	uint32_t len = __atomic_load_n(&hc->len, __ATOMIC_RELAXED);

	if (len > XK_HOSTCALL_BUF)
		len = XK_HOSTCALL_BUF;

	hc->ret = 0;
	switch (hc->op) {
	case XK_HC_CONSOLE_WRITE:
		xk_console_write(vm->console, hc->buf, len);
		break;
	case XK_HC_LOG:
		fprintf(stderr, "%.*s\n", (int)len, hc->buf);
		break;
	case XK_HC_CONSOLE_READ:
		hc->ret = 0; /* console input arrives with the console backend */
		break;
	case XK_HC_STARTED:
		vc->started = true;
		if (vm->opt.verbose)
			fprintf(stderr, "xenkvm: vcpu %u: stub (%.*s) running, entering guest\n",
				vc->id, (int)len, hc->buf);
		break;
	case XK_HC_SHUTDOWN:
		fflush(stdout);
		if (vm->opt.verbose)
			fprintf(stderr, "xenkvm: guest shutdown, reason %llu\n",
				(unsigned long long)hc->arg[0]);
		if (hc->arg[0] == SHUTDOWN_crash)
			fprintf(stderr, "xenkvm: the guest crashed (SHUTDOWN_crash, e.g. a kernel "
					"panic: its report is in the console output above)\n");
		else if (hc->arg[0] == SHUTDOWN_watchdog)
			fprintf(stderr, "xenkvm: the guest's watchdog expired\n");
		xk_vm_request_stop(vm, shutdown_exit_code(hc->arg[0]));
		return false;
	case XK_HC_CRASH:
		fflush(stdout);
		fprintf(stderr, "%.*s", (int)len, hc->buf);
		if (len && hc->buf[len - 1] != '\n')
			fputc('\n', stderr);
		xk_vm_request_stop(vm, XK_EXIT_CRASH);
		return false;
	default:
		fprintf(stderr, "xenkvm: vcpu %u: unknown hostcall %u\n", vc->id, hc->op);
		hc->ret = -1;
		break;
	}
	return true;
}

static void sigusr1(int sig)
{
	(void)sig;
}

void *xk_vcpu_thread(void *arg)
{
	struct xk_vcpu *vc = arg;
	struct xk_vm *vm = vc->vm;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (;;) {
		if (vm->stopping) {
			/* A hung guest: show where each vCPU was. */
			if (vm->exit_code == XK_EXIT_TIMEOUT) {
				xk_vcpu_dump(vc, "state at timeout");
				if (vc->started) {
					xk_vcpu_event_state(vc);
					xk_vcpu_check_stub_tables(vc);
				}
			} else if (vm->exit_code > 128 && vm->opt.verbose && vc->started) {
				/* Stopped by a signal: with -v, say where it
				 * stood (a harness stopping a stalled guest). */
				xk_vcpu_dump(vc, "state when stopped by a signal");
				xk_vcpu_event_state(vc);
			}
			break;
		}
		int rc = ioctl(vc->fd, KVM_RUN, 0);
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vc->run->immediate_exit = 0;
				continue;
			}
			fprintf(stderr, "xenkvm: vcpu %u: KVM_RUN: %s\n", vc->id, strerror(errno));
			xk_vm_request_stop(vm, XK_EXIT_ERROR);
			break;
		}
		vc->nr_exits++;
		struct kvm_run *run = vc->run;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			vc->nr_io_exits++;
			if (run->io.port == XK_PORT_HOSTCALL && run->io.direction == KVM_EXIT_IO_OUT) {
				if (!handle_hostcall(vc))
					goto done;
				continue;
			}
			if (vm->opt.verbose && vc->nr_io_exits < 8)
				fprintf(stderr, "xenkvm: vcpu %u: guest port I/O %s 0x%x\n", vc->id,
					run->io.direction == KVM_EXIT_IO_IN ? "in" : "out",
					run->io.port);
			/* On PVM the guest kernel runs as PVM supervisor, so its
			 * port I/O exits here instead of trapping to the stub:
			 * give it what the stub's emulation gives (reads float
			 * high, writes are dropped). */
			if (run->io.direction == KVM_EXIT_IO_IN)
				memset((uint8_t *)run + run->io.data_offset, 0xff,
				       (size_t)run->io.size * run->io.count);
			continue;
		case KVM_EXIT_INTR:
			continue;
		case KVM_EXIT_SHUTDOWN:
			xk_vcpu_dump(vc, vc->started ? "triple fault in the stub (VM shutdown)"
					      : (vm->platform == XK_PLATFORM_PVM
							 ? "stub failed to start: triple fault before it "
							   "reported in (unsupported PVM variant?)"
							 : "stub failed to start: triple fault"));
			if (vc->started) {
				xk_vcpu_post_mortem(vc);
				xk_vcpu_check_stub_tables(vc);
			}
			xk_vm_request_stop(vm, XK_EXIT_CRASH);
			goto done;
		case KVM_EXIT_HLT:
			xk_vcpu_dump(vc, "unexpected halt exit");
			xk_vm_request_stop(vm, XK_EXIT_CRASH);
			goto done;
		case KVM_EXIT_INTERNAL_ERROR: {
			char why[96];
			snprintf(why, sizeof(why), "KVM internal error, suberror %u",
				 run->internal.suberror);
			xk_vcpu_dump(vc, why);
			xk_vm_request_stop(vm, XK_EXIT_CRASH);
			goto done;
		}
		case KVM_EXIT_FAIL_ENTRY: {
			char why[96];
			snprintf(why, sizeof(why), "VM entry failed, reason 0x%llx",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			xk_vcpu_dump(vc, why);
			xk_vm_request_stop(vm, XK_EXIT_CRASH);
			goto done;
		}
		default: {
			char why[64];
			snprintf(why, sizeof(why), "unexpected KVM exit %u", run->exit_reason);
			xk_vcpu_dump(vc, why);
			xk_vm_request_stop(vm, XK_EXIT_CRASH);
			goto done;
		}
		}
	}
done:
	return NULL;
}
