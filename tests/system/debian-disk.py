#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Debian 12's kernel with PV disks: xen-blkfront against xenkvm's blkback.

usage: debian-disk.py --xenkvm PATH [--platform pvm] [--kernel VMLINUZ] [--timeout S]

The host makes three raw images: an ext4 filesystem (xvda), a blank disk
(xvdb) and a read-only disk of random bytes (xvdc, access=r).  The guest
loads xen-blkfront and ext4 from its initramfs, mounts xvda, writes files
and reports their checksums, syncs and unmounts; writes random bytes to the
raw xvdb with dd; reads xvdc and fails to write it; trims; powers off.
Every disk runs with persistent grants (blkfront's connect line in dmesg
says so).  The host then checks the filesystem (e2fsck), reads the files back with
debugfs, compares the raw bytes and sees xvdc unchanged.
Exit: 0 pass, 1 fail, 77 skip.
"""
import os
import subprocess
import sys

import xktest
from xktest import md5

FILES = [("f1", 40), ("f2", 300), ("f3", 1), ("d/f4", 1100)]  # KiB of random bytes


def main():
    a = xktest.arg_parser().parse_args()
    xktest.need_tools(("mkfs.ext4", "debugfs", "e2fsck"), "e2fsprogs")
    return xktest.start(a, "disk", run)


def run(a, xenkvm, kernel, tmp):
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
    xktest.make_initramfs(initrd, modules="xen-blkfront,crc32c_generic,ext4", kernel=kernel)

    g = xktest.Guest(xktest.run_cmd(
        xenkvm, kernel, initrd, a.timeout, "--disk", f"file:{fs_img},xvda,w",
        "--disk", f"format=raw, vdev=xvdb, access=rw, target={raw_img}",
        "--disk", f"{ro_img},raw,xvdc,r", platform=a.platform))
    fails = []
    outs = {}
    steps = [
        ("devs", "cat /proc/partitions", r"202\s+0\s+131072 xvda(?s:.*)xvdb(?s:.*)xvdc"),
        ("ro-flag", "cat /sys/block/xvdc/ro /sys/block/xvda/ro | tr '\\n' ' '", r"^1 0$"),
        # blkfront uses min(multi-queue-max-queues = 4, its max_queues = 4,
        # the vCPUs) queues: one hardware queue per ring in blk-mq.
        ("queues", "n=$(ls /sys/block/xvda/mq | wc -l); c=$(nproc); [ $c -gt 4 ] && c=4;"
                   " [ $n = $c ] && echo queues=$n of $c", r"^queues=\d+ of \d+$"),
        # feature-persistent on both ends: blkfront's connect line says so
        # for every disk (the checks below then run over persistent grants).
        ("pgrants", "dmesg | grep -c 'blkfront: xvd[abc]: .*persistent grants: enabled;'",
         r"^3$"),
    ] + xktest.ext4_steps(FILES) + [
        ("raw", "dd if=/dev/urandom of=/tmp/r bs=4k count=1024 2>/dev/null;"
                " dd if=/tmp/r of=/dev/xvdb bs=64k conv=fsync 2>/dev/null; md5sum < /tmp/r",
         r"^[0-9a-f]{32}"),
        ("raw-read", "dd if=/dev/xvdb bs=4k count=1024 2>/dev/null | md5sum", r"^[0-9a-f]{32}"),
    ] + xktest.readonly_steps("xvdc") + [
        xktest.splat_step(also="|blkfront.*(error|fail)"),
    ]
    g.run_to_poweroff(a, steps, fails, outs)

    if not fails:
        # The filesystem is clean and holds what the guest wrote.
        xktest.check_ext4(fs_img, FILES, outs["write"], fails)
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
    return xktest.report(fails)


if __name__ == "__main__":
    sys.exit(main())
