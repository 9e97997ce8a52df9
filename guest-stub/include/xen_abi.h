/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Xen's public ABI for the stub: Debian's libxen-dev headers, compiled
 * freestanding, with the sizes the guest depends on pinned.
 */
#ifndef STUB_XEN_ABI_H
#define STUB_XEN_ABI_H

#define __XEN_INTERFACE_VERSION__ 0x00040d00
#include <xen/xen.h>
#include <xen/vcpu.h>
#include <xen/sched.h>
#include <xen/event_channel.h>
#include <xen/callback.h>
#include <xen/version.h>
#include <xen/memory.h>
#include <xen/physdev.h>
#include <xen/grant_table.h>
#include <xen/features.h>
#include <xen/xen-compat.h>
#include <xen/arch-x86/cpuid.h>

_Static_assert(sizeof(struct shared_info) == 3136, "shared_info (pv-abi.md 1.6)");
_Static_assert(sizeof(struct start_info) == 1168, "start_info (pv-abi.md 1.5)");
_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info (pv-abi.md 1.6)");
_Static_assert(sizeof(struct trap_info) == 16, "trap_info");
_Static_assert(sizeof(struct multicall_entry) == 64, "multicall_entry");
_Static_assert(sizeof(struct mmu_update) == 16, "mmu_update");
_Static_assert(sizeof(struct mmuext_op) == 24, "mmuext_op");
_Static_assert(sizeof(struct vcpu_runstate_info) == 48, "runstate (pv-abi.md 3.6)");
_Static_assert(sizeof(struct vcpu_time_info) == 32, "vcpu_time_info");
_Static_assert(sizeof(struct iret_context) == 72, "iret frame (pv-abi.md 3.4)");

/* Xen errno values are Linux's (public/errno.h). */
#define EPERM   1
#define ENOENT  2
#define ESRCH   3
#define EINTR   4
#define EIO     5
#define E2BIG   7
#define EBADF   9
#define EAGAIN  11
#define ENOMEM  12
#define EACCES  13
#define EFAULT  14
#define EBUSY   16
#define EEXIST  17
#define EXDEV   18
#define ENODEV  19
#define EINVAL  22
#define ENOSPC  28
#define ERANGE  34
#define ETIME   62
#define ENOSYS  38
#define EALREADY 114
#define EOPNOTSUPP 95

#endif
