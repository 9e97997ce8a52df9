#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Debian 12's kernel on qcow2, vhd and vmdk disks served through qemu-nbd.

usage: debian-disk-qcow2.py --xenkvm PATH [--platform pvm] [--kernel VMLINUZ] [--timeout S]

First the launcher's errors, each one line with exit status 1 and neither a
qemu-nbd left running nor a file left in TMPDIR: a corrupt qcow2, a
missing qemu-nbd, a good qcow2 next to a missing image (the helper already
started is stopped).

Then the guest: xvda is a qcow2 image made with `qemu-img create -f qcow2`
(format named in the spec); the guest makes an ext4 filesystem on it with
e2fsprogs' mkfs.ext4, mounts it, writes files and reports their checksums,
trims, unmounts.  xvdb is a VHD (format=vhd), xvdc a VMDK whose format is
probed from its header: random bytes written with dd and read back.  xvdd
is a read-only qcow2 whose bytes are read and whose writes fail.  After the
poweroff the host checks every image with `qemu-img check`, converts them
to raw with `qemu-img convert`, runs e2fsck on the filesystem, reads the
files back with debugfs and compares the raw bytes.
Exit: 0 pass, 1 fail, 77 skip.
"""
import os
import subprocess
import sys

import xktest
from xktest import md5

FILES = [("f1", 40), ("f2", 700), ("f3", 1), ("d/f4", 2100)]  # KiB of random bytes


def helpers_of(tmp):
    """Processes whose command line mentions tmp (a qemu-nbd left behind)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if tmp in cmd and "qemu-nbd" in cmd:
            found.append(f"{pid}: {cmd}")
    return found


def main():
    a = xktest.arg_parser().parse_args()
    xktest.need_tools(("qemu-img", "qemu-nbd", "mkfs.ext4", "debugfs", "e2fsck"),
                      "qemu-utils, e2fsprogs")
    return xktest.start(a, "qcow2", run)


def run(a, xenkvm, kernel, tmp):
    return xktest.report(errors(xenkvm, kernel, tmp) + guest(a, xenkvm, kernel, tmp))


def qemu_img(*args):
    subprocess.run(["qemu-img"] + list(args), check=True, capture_output=True)


def errors(xenkvm, kernel, tmp):
    fails = []
    good = os.path.join(tmp, "good.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", good, "16M")
    bad = os.path.join(tmp, "bad.qcow2")
    with open(bad, "wb") as f:  # a qcow2 magic and version, garbage after
        f.write(b"QFI\xfb\0\0\0\3" + os.urandom(4096))
    ttmp = os.path.join(tmp, "t")
    os.mkdir(ttmp)
    cases = [
        ("corrupt qcow2", [f"vdev=xvda, target={bad}"], {}, "cannot serve"),
        ("no qemu-nbd", [f"format=qcow2,vdev=xvda,target={good}"],
         {"XENKVM_QEMU_NBD": os.path.join(tmp, "no-such-qemu-nbd")}, "install qemu-utils"),
        ("second disk missing", [f"{good},qcow2,xvda,w", f"{tmp}/missing.img,raw,xvdb,w"], {},
         "cannot open"),
    ]
    for name, disks, env, want in cases:
        cmd = [xenkvm, "run", "--kernel", kernel, "--memory", "128", "--timeout", "20"]
        for d in disks:
            cmd += ["--disk", d]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, TMPDIR=ttmp, **env))
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        if p.returncode != 1 or len(lines) != 1 or want not in p.stderr:
            fails.append(f"{name}: exit {p.returncode}, stderr {p.stderr!r}; want exit 1 and"
                         f" one line with {want!r}")
        else:
            print(f"ok: {name}: {lines[0]}", flush=True)
        left = helpers_of(tmp)
        if left:
            fails.append(f"{name}: qemu-nbd still running: {left}")
        if os.listdir(ttmp):
            fails.append(f"{name}: left in TMPDIR: {os.listdir(ttmp)}")
    return fails


def guest(a, xenkvm, kernel, tmp):
    fails = []
    fs_img = os.path.join(tmp, "fs.qcow2")
    vhd_img = os.path.join(tmp, "b.vhd")
    vmdk_img = os.path.join(tmp, "c.vmdk")
    ro_img = os.path.join(tmp, "ro.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", fs_img, "256M")
    qemu_img("create", "-q", "-f", "vpc", vhd_img, "16M")
    qemu_img("create", "-q", "-f", "vmdk", vmdk_img, "16M")
    ro_raw = os.path.join(tmp, "ro.raw")
    ro_data = os.urandom(2 << 20)
    with open(ro_raw, "wb") as f:
        f.write(ro_data)
    qemu_img("convert", "-f", "raw", "-O", "qcow2", ro_raw, ro_img)
    ro_before = open(ro_img, "rb").read()

    initrd = os.path.join(tmp, "initrd.cpio.gz")
    xktest.make_initramfs(initrd, xktest.tool("mkfs.ext4"),
                          modules="xen-blkfront,crc32c_generic,ext4", kernel=kernel)

    ttmp = os.path.join(tmp, "t")
    os.makedirs(ttmp, exist_ok=True)
    g = xktest.Guest(xktest.run_cmd(
        xenkvm, kernel, initrd, a.timeout,
        "--disk", f"format=qcow2, vdev=xvda, access=rw, target={fs_img}",
        "--disk", f"format=vhd, vdev=xvdb, target={vhd_img}",
        "--disk", f"vdev=xvdc, access=w, target={vmdk_img}",
        "--disk", f"{ro_img},qcow2,xvdd,r", platform=a.platform),
        env=dict(os.environ, TMPDIR=ttmp))
    outs = {}
    raw_dd = ("dd if=/dev/urandom of=/tmp/{d} bs=4k count=1024 2>/dev/null;"
              " dd if=/tmp/{d} of=/dev/{d} bs=64k conv=fsync 2>/dev/null; md5sum < /tmp/{d};"
              " echo 3 > /proc/sys/vm/drop_caches;"
              " dd if=/dev/{d} bs=4k count=1024 2>/dev/null | md5sum")
    steps = [
        ("devs", "cat /proc/partitions",
         r"202\s+0\s+262144 xvda(?s:.*)xvdb(?s:.*)xvdc(?s:.*)xvdd"),
        ("mkfs", "mkfs.ext4 -q -F /dev/xvda && echo made", r"(?m)^made$"),
    ] + xktest.ext4_steps(FILES) + [
        ("vhd", raw_dd.format(d="xvdb"), r"^[0-9a-f]{32}\s+-\s+[0-9a-f]{32}"),
        ("vmdk", raw_dd.format(d="xvdc"), r"^[0-9a-f]{32}\s+-\s+[0-9a-f]{32}"),
    ] + xktest.readonly_steps("xvdd") + [
        xktest.splat_step(also="|blkfront.*(error|fail)"),
    ]
    g.run_to_poweroff(a, steps, fails, outs)
    left = helpers_of(tmp)
    if left:
        fails.append(f"qemu-nbd still running after the launcher exited: {left}")
    if os.listdir(ttmp):
        fails.append(f"left in TMPDIR: {os.listdir(ttmp)}")
    if fails:
        return fails

    # (qemu-img check does not check vpc images)
    for img, fmt in ((fs_img, "qcow2"), (vmdk_img, "vmdk"), (ro_img, "qcow2")):
        chk = subprocess.run(["qemu-img", "check", "-f", fmt, img], capture_output=True, text=True)
        if chk.returncode != 0:
            fails.append(f"qemu-img check {os.path.basename(img)}: {chk.stdout}{chk.stderr}")
    raw = {}
    for img, fmt in ((fs_img, "qcow2"), (vhd_img, "vpc"), (vmdk_img, "vmdk")):
        out = img + ".raw"
        qemu_img("convert", "-f", fmt, "-O", "raw", img, out)
        raw[img] = out
    xktest.check_ext4(raw[fs_img], FILES, outs["write"], fails)
    for step, img in (("vhd", vhd_img), ("vmdk", vmdk_img)):
        with open(raw[img], "rb") as f:
            data = f.read(4 << 20)
        wrote, read = outs[step].split()[0], outs[step].split()[2]
        if md5(data) != wrote:
            fails.append(f"{step}: host md5 {md5(data)}, guest wrote {wrote}")
        if read != wrote:
            fails.append(f"{step}: the guest read back other bytes than it wrote")
    if outs["ro-read"].split()[0] != md5(ro_data):
        fails.append("xvdd: the guest read other bytes than the image holds")
    if open(ro_img, "rb").read() != ro_before:
        fails.append("xvdd (access=r) was modified")
    return fails


if __name__ == "__main__":
    sys.exit(main())
