#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Debian 12's kernel with PV disks: xen-blkfront against xenkvm's blkback.

usage: debian-disk.py --xenkvm PATH [--platform pvm] [--kernel VMLINUZ] [--timeout S]

The host makes three raw images: an ext4 filesystem (xvda), a blank disk
(xvdb) and a read-only disk of random bytes (xvdc, access=r).  The guest
loads xen-blkfront and ext4 from its initramfs, mounts xvda, writes files
and reports their checksums, syncs and unmounts; writes random bytes to the
raw xvdb with dd; reads xvdc and fails to write it; trims; powers off.  The
host then checks the filesystem (e2fsck), reads the files back with
debugfs, compares the raw bytes and sees xvdc unchanged.
Exit: 0 pass, 1 fail, 77 skip.
"""
import argparse
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
EXIT_SKIP = 77

spec = importlib.util.spec_from_file_location("debian_boot", os.path.join(HERE, "debian-boot.py"))
boot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(boot)

FILES = [("f1", 40), ("f2", 300), ("f3", 1), ("d/f4", 1100)]  # KiB of random bytes


def md5(data):
    return hashlib.md5(data).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xenkvm", required=True)
    ap.add_argument("--platform", default="pvm", choices=["pvm"])
    ap.add_argument("--kernel")
    ap.add_argument("--timeout", type=int, default=240)
    a = ap.parse_args()

    xenkvm = os.path.abspath(a.xenkvm)
    det = subprocess.run([xenkvm, "detect"], capture_output=True, text=True).stdout.strip()
    if det != a.platform:
        print(f"SKIP: this host's KVM is '{det}', not {a.platform}")
        return EXIT_SKIP
    for tool in ("mkfs.ext4", "debugfs", "e2fsck"):
        if not shutil.which(tool) and not os.path.exists("/sbin/" + tool):
            print(f"SKIP: {tool} not installed (e2fsprogs)")
            return EXIT_SKIP
    kernel = a.kernel or boot.fetch_kernel()
    if not kernel:
        print("FAIL: cannot get Debian's kernel (tools/fetch-debian-kernel)")
        return 1
    kdir = os.path.dirname(os.path.dirname(kernel))  # the unpacked package root

    tmp = tempfile.mkdtemp(prefix="xenkvm-disk-", dir="/tmp")
    try:
        return run(a, xenkvm, kernel, kdir, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(a, xenkvm, kernel, kdir, tmp):
    fs_img = os.path.join(tmp, "fs.img")
    raw_img = os.path.join(tmp, "raw.img")
    ro_img = os.path.join(tmp, "ro.img")
    with open(fs_img, "wb") as f:
        f.truncate(128 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "nodiscard", fs_img], check=True)
    with open(raw_img, "wb") as f:
        f.truncate(8 << 20)
    ro_data = os.urandom(2 << 20)
    with open(ro_img, "wb") as f:
        f.write(ro_data)

    initrd = os.path.join(tmp, "initrd.cpio.gz")
    subprocess.run([os.path.join(SRC, "tools", "make-initramfs"), "--modules",
                    "xen-blkfront,crc32c_generic,ext4", "--kernel-dir", kdir, initrd],
                   check=True)

    cmd = [xenkvm, "run", "--platform", a.platform, "--kernel", kernel, "--ramdisk", initrd,
           "--memory", "512", "--extra", "console=hvc0 loglevel=4", "--timeout", str(a.timeout),
           "--disk", f"file:{fs_img},xvda,w",
           "--disk", f"format=raw, vdev=xvdb, access=rw, target={raw_img}",
           "--disk", f"{ro_img},raw,xvdc,r"]
    print("running: " + " ".join(cmd), flush=True)
    g = boot.Guest(cmd)
    fails = []
    outs = {}
    steps = [
        ("devs", "cat /proc/partitions", r"202\s+0\s+131072 xvda(?s:.*)xvdb(?s:.*)xvdc"),
        ("ro-flag", "cat /sys/block/xvdc/ro /sys/block/xvda/ro | tr '\\n' ' '", r"^1 0$"),
        # blkfront uses min(multi-queue-max-queues = 4, its max_queues = 4,
        # the vCPUs) queues: one hardware queue per ring in blk-mq.
        ("queues", "n=$(ls /sys/block/xvda/mq | wc -l); c=$(nproc); [ $c -gt 4 ] && c=4;"
                   " [ $n = $c ] && echo queues=$n of $c", r"^queues=\d+ of \d+$"),
        ("mount", "mkdir -p /mnt; grep -q ' /mnt ' /proc/mounts || mount -t ext4 /dev/xvda /mnt;"
                  " grep -q '^/dev/xvda /mnt ext4 rw' /proc/mounts && echo mounted", r"^mounted$"),
        ("write", "mkdir -p /mnt/d; " + "; ".join(
            f"dd if=/dev/urandom of=/mnt/{n} bs=1k count={k} 2>/dev/null" for n, k in FILES) +
         "; seq 1 20000 > /mnt/d/seq; cd /mnt && md5sum " +
         " ".join(n for n, _ in FILES) + " d/seq; cd /", r"(?m)^[0-9a-f]{32}  d/seq$"),
        ("sync", "sync; fstrim /mnt >/dev/null 2>&1; grep -q ' /mnt ' /proc/mounts && umount /mnt;"
                 " grep -q ' /mnt ' /proc/mounts || echo unmounted", r"^unmounted$"),
        ("raw", "dd if=/dev/urandom of=/tmp/r bs=4k count=1024 2>/dev/null;"
                " dd if=/tmp/r of=/dev/xvdb bs=64k conv=fsync 2>/dev/null; md5sum < /tmp/r",
         r"^[0-9a-f]{32}"),
        ("raw-read", "dd if=/dev/xvdb bs=4k count=1024 2>/dev/null | md5sum", r"^[0-9a-f]{32}"),
        ("ro-read", "md5sum < /dev/xvdc", r"^[0-9a-f]{32}"),
        ("ro-write", "dd if=/dev/zero of=/dev/xvdc bs=4k count=1 conv=fsync 2>/dev/null;"
                     " echo rc=$?", r"rc=[1-9]"),
        ("splats", "dmesg | grep -E 'Oops|BUG:|WARNING: CPU:|Call Trace|blkfront.*(error|fail)'"
                   " || echo clean", r"\Aclean\Z"),
    ]
    if not g.wait_for(r"XENKVM-INIT: ready", a.timeout):
        fails.append("no shell: the guest never reached its init")
    else:
        # KNOWN BUG (pvm, see debian-boot.py): a busybox segfault reruns a
        # step once (the steps are idempotent).
        fails += boot.run_steps(g, steps, a.platform, outs=outs)[0]
        g.send("poweroff -f")
    try:
        rc = g.p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        g.p.kill()
        rc = g.p.wait()
        fails.append("the guest did not power off")
    g.t.join(5)
    if not fails and rc != 0:
        fails.append(f"xenkvm exited {rc}, want 0 (poweroff)")

    if not fails:
        # The filesystem is clean and holds what the guest wrote.
        fsck = subprocess.run(["e2fsck", "-fn", fs_img], capture_output=True, text=True)
        if fsck.returncode != 0:
            fails.append("e2fsck: " + fsck.stdout + fsck.stderr)
        sums = dict((l.split()[1], l.split()[0]) for l in outs["write"].splitlines()
                    if re.match(r"^[0-9a-f]{32}  ", l))
        for name in [n for n, _ in FILES] + ["d/seq"]:
            data = subprocess.run(["debugfs", "-R", f"cat /{name}", fs_img],
                                  capture_output=True).stdout
            if md5(data) != sums.get(name):
                fails.append(f"/{name}: host reads md5 {md5(data)} ({len(data)} bytes),"
                             f" guest wrote {sums.get(name)}")
        seq = subprocess.run(["debugfs", "-R", "cat /d/seq", fs_img], capture_output=True).stdout
        if seq != "".join(f"{i}\n" for i in range(1, 20001)).encode():
            fails.append("/d/seq differs from seq 1 20000")
        # Raw bytes through the block device.
        with open(raw_img, "rb") as f:
            raw = f.read(4 << 20)
        want = outs["raw"].split()[0]
        if md5(raw) != want:
            fails.append(f"raw xvdb: host md5 {md5(raw)}, guest wrote {want}")
        if outs["raw-read"].split()[0] != want:
            fails.append("raw xvdb: the guest read back other bytes than it wrote")
        # The read-only disk: read right, never written.
        if outs["ro-read"].split()[0] != md5(ro_data):
            fails.append("xvdc: the guest read other bytes than the image holds")
        with open(ro_img, "rb") as f:
            if f.read() != ro_data:
                fails.append("xvdc (access=r) was modified")
    for f in fails:
        print("FAIL: " + f)
    print("PASS" if not fails else f"{len(fails)} failure(s)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
