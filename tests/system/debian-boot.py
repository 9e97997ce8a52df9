#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Boot Debian 12's stock kernel as a PV guest under xenkvm, drive its shell.

usage: debian-boot.py --xenkvm PATH [--platform pvm|hw] [--kvmbox PATH]
                      [--kernel VMLINUZ] [--initrd CPIO] [--scramble-p2m]
                      [--timeout S]

The kernel defaults to $XENKVM_DEBIAN_VMLINUZ or tools/fetch-debian-kernel;
the initramfs is built with tools/make-initramfs.  Exit: 0 pass, 1 fail,
77 skip (platform not available here).
"""
import os
import re
import subprocess
import sys

import xktest
# Guest, run_steps and fetch_kernel stay reachable as this file's own, for
# drivers that still load it by its path.
from xktest import SRC, Guest, fetch_kernel, run_steps  # noqa: F401

# Each step: a shell command and a regex its output must match.  Output is
# framed by markers so that echoes and kernel messages cannot fake a pass.
STEPS = [
    ("uname -r; uname -m", r"6\.1\.\d+-\d+-amd64\s+x86_64"),
    ("mount | grep -c -E 'proc|sysfs|devtmpfs|tmpfs'", r"^[4-9]$"),
    ("grep -c processor /proc/cpuinfo", r"^1$"),
    ("cat /sys/hypervisor/type 2>/dev/null || dmesg | grep -m1 -o 'Xen PV'", r"xen|Xen PV"),
    # event channels: the kernel took the FIFO ABI (init_control worked)
    ("dmesg | grep -o -m1 'xen:events: Using [A-Za-z0-9-]* ABI' || echo no-abi-line",
     r"^xen:events: Using FIFO-based ABI$"),
    ("awk '/MemTotal/ {print ($2 > 100000) ? \"memok\" : \"memlow\"}' /proc/meminfo", r"memok"),
    # fork/exec storm
    ("i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done; echo forks=$i", r"forks=300"),
    # page-fault heavy: 32 MiB through tmpfs, read back and checksummed
    ("dd if=/dev/zero of=/tmp/z bs=1M count=32 2>/dev/null; sha256sum /tmp/z | cut -c1-16;"
     " rm /tmp/z", r"^83ee47245398adee$"),
    ("dd if=/dev/urandom of=/tmp/r bs=1k count=4096 2>/dev/null; a=$(md5sum < /tmp/r);"
     " cp /tmp/r /tmp/s; b=$(md5sum < /tmp/s); [ \"$a\" = \"$b\" ] && echo same", r"same"),
    # pipes, process groups, signals
    ("seq 1 20000 | sort -rn | head -1", r"^20000$"),
    ("sh -c 'kill -TERM $$; sleep 5'; echo status=$?", r"status=143"),
    ("sleep 30 & p=$!; sleep 1; kill -KILL $p; wait $p; echo status=$?", r"status=137"),
    ("sh -c 'trap \"echo got\" USR1; kill -USR1 $$; true'", r"^got$"),
    # busybox applets through /proc/self/exe in pipelines: 600 processes,
    # none may segfault (pvm once lost user AVX-512 state here, about 1 in
    # 100; docs/architecture.md "AVX state on pvm")
    ("i=0; b=0; while [ $i -lt 300 ]; do mount | grep -c proc >/dev/null || b=$((b+1));"
     " i=$((i+1)); done; echo bad=$b", r"^bad=0$"),
    # a busy loop long enough for timer interrupts and preemption
    ("t0=$(cut -d. -f1 /proc/uptime); i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done;"
     " t1=$(cut -d. -f1 /proc/uptime); echo loop=$i", r"loop=20000"),
    # kernel splats (a WARN() prints "WARNING: CPU: n PID: ..."; plain
    # notices such as "Speculative Return Stack Overflow: WARNING: ..." are
    # not splats)
    ("dmesg | grep -E 'Oops|BUG:|WARNING: CPU:|Call Trace' || echo clean", r"\Aclean\Z"),
]


def main():
    ap = xktest.arg_parser(platforms=("pvm", "hw"))
    ap.add_argument("--initrd")
    ap.add_argument("--scramble-p2m", action="store_true")
    ap.add_argument("--xenstore-shutdown", action="store_true",
                    help="end with xenstore-write control/shutdown poweroff, as xl shutdown")
    a = ap.parse_args()
    box_args = (["--initrd", a.initrd] if a.initrd else []) + \
        (["--scramble-p2m"] if a.scramble_p2m else []) + \
        (["--xenstore-shutdown"] if a.xenstore_shutdown else [])
    return xktest.start(a, "sys", boot, box_args)


def boot(a, xenkvm, kernel, tmpdir):
    initrd = a.initrd or os.path.join(tmpdir, "initrd.cpio.gz")
    extra = []
    if not a.initrd:
        # A 32-bit user program for the compat paths (gcc -m32 -nostdlib
        # needs no 32-bit libc); required on hw, where it is run.
        h32 = os.path.join(tmpdir, "hello32")
        if subprocess.run(["gcc", "-m32", "-nostdlib", "-static", "-o", h32,
                           "-O1", "-ffreestanding", "-fno-pic", "-fno-stack-protector",
                           os.path.join(SRC, "tests", "system", "hello32.c")]).returncode == 0:
            extra.append(h32)
        elif a.platform == "hw":
            print("FAIL: cannot build the 32-bit test program (gcc -m32)")
            return 1
        xktest.make_initramfs(initrd, *extra)

    cmd = xktest.run_cmd(xenkvm, kernel, initrd, a.timeout, platform=a.platform)
    if a.scramble_p2m:
        cmd.append("--scramble-p2m")
    sock = os.path.join(tmpdir, "xenstored.sock")
    if a.xenstore_shutdown:
        cmd += ["--xenstore-socket", sock]
    g = Guest(cmd)
    fails = []
    if g.wait_ready(a.timeout, fails):
        steps = [(str(i), c, want) for i, (c, want) in enumerate(STEPS)]
        if extra:
            # Not on pvm: int $0x80 kills the VM there (the guest runs as
            # PVM supervisor, docs/architecture.md).
            if a.platform == "hw":
                steps.append(("hello32", "/bin/hello32; echo rc=$?",
                              r"hello from 32-bit int80\s+hello from 32-bit vsyscall\s+"
                              r"hello from 32-bit TLS\s+rc=7"))
        fails += run_steps(g, steps, a.platform, stop_on_mismatch=False)[0]
        if a.xenstore_shutdown and not fails:
            env = dict(os.environ, XENSTORED_PATH=sock)
            ls = subprocess.run(["xenstore-ls", "/local/domain/1"], env=env,
                                capture_output=True, text=True)
            print(ls.stdout + ls.stderr, flush=True)
            if ls.returncode or 'name = "' not in ls.stdout or "feature-poweroff" not in ls.stdout:
                fails.append("xenstore-ls of the guest's tree failed or is incomplete")
            w = subprocess.run(["xenstore-write", "/local/domain/1/control/shutdown", "poweroff"],
                               env=env, capture_output=True, text=True)
            if w.returncode:
                fails.append("xenstore-write control/shutdown failed: " + w.stderr.strip())
        else:
            g.send("poweroff -f")
    rc = g.finish(120 if not fails else 30, fails)
    text = g.text()
    # Kernel messages only (our own commands mention these words).
    klog = "\n".join(l for l in text.splitlines() if re.match(r"\s*\[\s*\d+\.\d+\]", l))
    for bad in ("Oops", "BUG:", "WARNING: CPU:", "Call Trace", "Kernel panic"):
        if bad in klog:
            fails.append(f"kernel log shows '{bad}'")
    if not fails and rc != 0:
        fails.append(f"xenkvm exited {rc}, want 0 (poweroff)")
    # The whole boot is run again, once, and said (xktest.known_triple_fault).
    if (not os.environ.get("XENKVM_TRIPLE_FAULT_RETRIED")
            and xktest.known_triple_fault(a, fails, text)):
        env = dict(os.environ, XENKVM_TRIPLE_FAULT_RETRIED="1")
        return subprocess.run([sys.executable] + sys.argv, env=env).returncode
    return xktest.report(fails)


if __name__ == "__main__":
    sys.exit(main())
