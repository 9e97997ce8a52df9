#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Create a KVM VM with one vCPU and run a 5-byte real-mode guest on it.

The guest does `mov al, 42; out 0x10, al; hlt`. Passing needs a /dev/kvm
that runs real-mode code. With --require-module NAME it also checks that
/dev/kvm is served by that module (e.g. kvm_amd inside tools/kvmbox).
Exit 0 on success, 1 on any failure, with the reason on stderr.
"""
import ctypes
import fcntl
import mmap
import os
import struct
import sys

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_GET_VCPU_MMAP_SIZE = 0xAE04
KVM_CREATE_VCPU = 0xAE41
KVM_SET_USER_MEMORY_REGION = 0x4020AE46  # _IOW(KVMIO, 0x46, 32 bytes)
KVM_RUN = 0xAE80
KVM_SET_REGS = 0x4090AE82  # _IOW(KVMIO, 0x82, struct kvm_regs: 144 bytes)
KVM_GET_SREGS = 0x8138AE83  # _IOR(KVMIO, 0x83, struct kvm_sregs: 312 bytes)
KVM_SET_SREGS = 0x4138AE84
KVM_EXIT_IO = 2
KVM_EXIT_HLT = 5
KVM_EXIT_IO_OUT = 1

GUEST_BASE = 0x1000
GUEST_CODE = bytes([0xB0, 42, 0xE6, 0x10, 0xF4])
MEM_SIZE = 0x10000


def fail(msg):
    print(f"kvm-smoke: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--require-module":
        if not os.path.isdir(f"/sys/module/{sys.argv[2]}"):
            fail(f"module {sys.argv[2]} is not loaded")
        print(f"module {sys.argv[2]} loaded")
    elif len(sys.argv) != 1:
        fail("usage: kvm-smoke.py [--require-module NAME]")
    try:
        kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        fail(f"open /dev/kvm: {e}")
    api = fcntl.ioctl(kvm, KVM_GET_API_VERSION)
    if api != 12:
        fail(f"KVM_GET_API_VERSION returned {api}, expected 12")
    try:
        vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    except OSError as e:
        fail(f"KVM_CREATE_VM: {e}")
    print(f"KVM_CREATE_VM ok (api {api}, fd {vm})")

    mem = mmap.mmap(-1, MEM_SIZE)
    mem[GUEST_BASE:GUEST_BASE + len(GUEST_CODE)] = GUEST_CODE
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    region = struct.pack("=IIQQQ", 0, 0, 0, MEM_SIZE, addr)
    fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION, region)

    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    run_size = fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE)
    run = mmap.mmap(vcpu, run_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)

    # Real mode with CS base 0; kvm_segment is base(8) limit(4) selector(2)...
    sregs = bytearray(fcntl.ioctl(vcpu, KVM_GET_SREGS, bytes(312)))
    struct.pack_into("=QIH", sregs, 0, 0, 0xFFFF, 0)
    fcntl.ioctl(vcpu, KVM_SET_SREGS, bytes(sregs))
    regs = [0] * 18  # rax..r15, rip, rflags
    regs[16] = GUEST_BASE
    regs[17] = 0x2
    fcntl.ioctl(vcpu, KVM_SET_REGS, struct.pack("=18Q", *regs))

    seen_out = False
    for _ in range(16):
        fcntl.ioctl(vcpu, KVM_RUN, 0)
        (reason,) = struct.unpack_from("=I", run, 8)
        if reason == KVM_EXIT_IO:
            direction, size, port, count, off = struct.unpack_from("=BBHIQ", run, 32)
            value = run[off]
            if (direction, size, port, count, value) != (KVM_EXIT_IO_OUT, 1, 0x10, 1, 42):
                fail(f"unexpected I/O exit dir={direction} size={size} port={port:#x} "
                     f"count={count} value={value}")
            print("KVM_EXIT_IO out 0x10 = 42 ok")
            seen_out = True
        elif reason == KVM_EXIT_HLT:
            if not seen_out:
                fail("KVM_EXIT_HLT before the expected I/O exit")
            print("KVM_EXIT_HLT ok")
            return 0
        else:
            fail(f"unexpected exit reason {reason}")
    fail("guest did not halt")


if __name__ == "__main__":
    sys.exit(main())
