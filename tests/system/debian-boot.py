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
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXIT_SKIP = 77

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
    # a busy loop long enough for timer interrupts and preemption
    ("t0=$(cut -d. -f1 /proc/uptime); i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done;"
     " t1=$(cut -d. -f1 /proc/uptime); echo loop=$i", r"loop=20000"),
    # kernel splats (a WARN() prints "WARNING: CPU: n PID: ..."; plain
    # notices such as "Speculative Return Stack Overflow: WARNING: ..." are
    # not splats)
    ("dmesg | grep -E 'Oops|BUG:|WARNING: CPU:|Call Trace' || echo clean", r"\Aclean\Z"),
]


def fetch_kernel():
    k = os.environ.get("XENKVM_DEBIAN_VMLINUZ")
    if k and os.path.exists(k):
        return k
    out = subprocess.run([os.path.join(SRC, "tools", "fetch-debian-kernel")],
                         capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        sys.stderr.write(out.stderr)
        return None
    return out.stdout.strip().splitlines()[-1]


class Guest:
    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.buf = b""
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._reader, daemon=True)
        self.t.start()

    def _reader(self):
        while True:
            d = self.p.stdout.read1(65536)
            if not d:
                return
            sys.stdout.buffer.write(d)
            sys.stdout.flush()
            with self.lock:
                self.buf += d

    def wait_for(self, pattern, timeout, start=0):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern.encode())
        while time.monotonic() < deadline:
            with self.lock:
                m = rx.search(self.buf, start)
            if m:
                return m
            if self.p.poll() is not None and not self.t.is_alive():
                return None
            time.sleep(0.05)
        return None

    def send(self, line):
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()


def run_steps(g, steps, platform, pos=0, timeout=120, max_reruns=1, stop_on_mismatch=True,
              outs=None):
    """Run steps (name, shell command, regex[, timeout]) in the guest shell.

    Output is framed by markers so that echoes and kernel messages cannot
    fake a pass.  KNOWN BUG (pvm only, docs/architecture.md): about 1 in
    100 busybox processes segfaults there; a step whose output shows one is
    run again (steps are idempotent), at most max_reruns times per run in
    all, and said.  Returns (failures, position after the last output)."""
    fails = []
    reruns = 0
    for i, step in enumerate(steps):
        name, c, want = step[:3]
        tmo = step[3] if len(step) > 3 else timeout
        for attempt in range(max_reruns + 1):
            tag = f"{i}x{attempt}"
            g.send(f"echo @@B{tag}@@; {c}; echo @@E{tag}@@")
            m = g.wait_for(rf"(?s)@@B{tag}@@\r?\n(.*?)@@E{tag}@@", tmo, pos)
            if not m:
                break
            pos = m.end()
            out = m.group(1).decode(errors="replace").replace("\r", "").strip()
            if (platform == "pvm" and reruns < max_reruns
                    and "Segmentation fault" in out):
                reruns += 1
                print(f"KNOWN BUG (pvm): a process segfaulted in step {name}; "
                      "running the step again", flush=True)
                continue
            break
        if not m:
            fails.append(f"step {name} ({c!r}): no output")
            break
        if outs is not None:
            outs[name] = out
        if not re.search(want, out, re.M):
            fails.append(f"step {name} ({c!r}): got {out!r}, want /{want}/")
            if stop_on_mismatch:
                break
    return fails, pos


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xenkvm", required=True)
    ap.add_argument("--platform", default="pvm", choices=["pvm", "hw"])
    ap.add_argument("--kvmbox", default=os.path.join(SRC, "tools", "kvmbox"))
    ap.add_argument("--kernel")
    ap.add_argument("--initrd")
    ap.add_argument("--scramble-p2m", action="store_true")
    ap.add_argument("--xenstore-shutdown", action="store_true",
                    help="end with xenstore-write control/shutdown poweroff, as xl shutdown")
    ap.add_argument("--timeout", type=int, default=240, help="boot + test budget (s)")
    a = ap.parse_args()

    xenkvm = os.path.abspath(a.xenkvm)
    det = subprocess.run([xenkvm, "detect"], capture_output=True, text=True).stdout.strip()
    prefix = []
    if a.platform != det:
        if a.platform == "pvm":
            print(f"SKIP: this host's KVM is '{det}', not pvm")
            return EXIT_SKIP
        if subprocess.run([a.kvmbox, "--check"], capture_output=True).returncode != 0:
            print("SKIP: no hardware virtualization here and the KVM box cannot run")
            return EXIT_SKIP
        # The box gives its command no stdin: run this driver inside it.
        kernel = a.kernel or fetch_kernel()
        if not kernel:
            print("FAIL: cannot get Debian's kernel (tools/fetch-debian-kernel)")
            return 1
        args = [sys.executable, os.path.abspath(__file__), "--xenkvm", xenkvm, "--platform",
                "hw", "--kernel", kernel, "--timeout", str(a.timeout)]
        if a.initrd:
            args += ["--initrd", a.initrd]
        if a.scramble_p2m:
            args.append("--scramble-p2m")
        if a.xenstore_shutdown:
            args.append("--xenstore-shutdown")
        print("running in the KVM box: " + " ".join(args), flush=True)
        rc = subprocess.run([a.kvmbox, "--timeout", str(a.timeout + 120)] + args).returncode
        if rc in (124, 125):
            # the box failed (not the guest: it has a --timeout of its own)
            print("kvmbox failed (exit %d): retrying once" % rc, flush=True)
            rc = subprocess.run([a.kvmbox, "--timeout", str(a.timeout + 120)] + args).returncode
        return rc

    kernel = a.kernel or fetch_kernel()
    if not kernel:
        print("FAIL: cannot get Debian's kernel (tools/fetch-debian-kernel)")
        return 1
    tmpdir = tempfile.mkdtemp(prefix="xenkvm-sys-", dir="/tmp")
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
        subprocess.run([os.path.join(SRC, "tools", "make-initramfs"), initrd] + extra,
                       check=True)

    cmd = prefix + [xenkvm, "run", "--platform", a.platform, "--kernel", kernel,
                    "--ramdisk", initrd, "--memory", "512", "--extra",
                    "console=hvc0 loglevel=4", "--timeout", str(a.timeout)]
    if a.scramble_p2m:
        cmd.append("--scramble-p2m")
    sock = os.path.join(tmpdir, "xenstored.sock")
    if a.xenstore_shutdown:
        cmd += ["--xenstore-socket", sock]
    print("running: " + " ".join(cmd), flush=True)
    g = Guest(cmd)
    fails = []
    if not g.wait_for(r"XENKVM-INIT: ready", a.timeout):
        fails.append("no shell: the guest never reached its init")
    else:
        steps = [(str(i), c, want) for i, (c, want) in enumerate(STEPS)]
        if extra:
            # Not on pvm: int $0x80 kills the VM there (the guest runs as
            # PVM supervisor, docs/architecture.md).
            if a.platform == "hw":
                steps.append(("hello32", "/bin/hello32; echo rc=$?",
                              r"hello from 32-bit int80\s+hello from 32-bit vsyscall\s+"
                              r"hello from 32-bit TLS\s+rc=7"))
        # KNOWN BUG (pvm, docs/architecture.md): at most two steps per boot
        # are rerun on a busybox segfault (the rate doubles on a busy host).
        fails += run_steps(g, steps, a.platform, max_reruns=2, stop_on_mismatch=False)[0]
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
    try:
        rc = g.p.wait(timeout=120 if not fails else 30)
    except subprocess.TimeoutExpired:
        g.p.kill()
        rc = g.p.wait()
        fails.append("the guest did not power off")
    g.t.join(5)
    with g.lock:
        text = g.buf.decode(errors="replace")
    # Kernel messages only (our own commands mention these words).
    klog = "\n".join(l for l in text.splitlines() if re.match(r"\s*\[\s*\d+\.\d+\]", l))
    for bad in ("Oops", "BUG:", "WARNING: CPU:", "Call Trace", "Kernel panic"):
        if bad in klog:
            fails.append(f"kernel log shows '{bad}'")
    if not fails and rc != 0:
        fails.append(f"xenkvm exited {rc}, want 0 (poweroff)")
    for f in fails:
        print("FAIL: " + f)
    # KNOWN BUG (hw, issue notes): about 1 boot in 30 in the KVM box ends in
    # a triple fault right after an ordinary return to the guest; the
    # launcher prints the stub's post-mortem.  Cause not found yet (stub or
    # the box's emulated SVM).  The whole boot is run again, once, and said.
    if (fails and a.platform == "hw" and "triple fault in the stub" in text
            and not os.environ.get("XENKVM_TRIPLE_FAULT_RETRIED")):
        print("KNOWN BUG (hw): triple fault (post-mortem above); booting once more",
              flush=True)
        env = dict(os.environ, XENKVM_TRIPLE_FAULT_RETRIED="1")
        return subprocess.run([sys.executable] + sys.argv, env=env).returncode
    print("PASS" if not fails else f"{len(fails)} failure(s)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
