#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Hot-plug of a disk and a vif into a running Debian guest (pvm).

usage: hotplug.py --xenkvm PATH [--platform pvm] [--kernel VMLINUZ] [--timeout S]

The guest boots with no devices but xen-blkfront and xen-netfront loaded
from its initramfs.  Through the launcher's control socket (xenkvm
block-attach and friends) the test attaches a raw image as xvdb (the guest
sees /sys/block/xvdb appear and writes to it), detaches it (the device goes
away in the guest, the launcher keeps running, the host reads the bytes
written), attaches a slirp vif (udhcpc gets 10.0.2.15) and detaches it by
MAC.  Errors: an unknown guest, a bad spec, a duplicate vdev, a detach of a
device the guest does not have, malformed lines on the socket.  After
poweroff the socket and the run file are gone.  A second boot without
xen-blkfront: a disk whose frontend never starts detaches at once; one the
host fakes as Connected (dom0 writes its state through --xenstore-socket)
never closes, so block-detach fails after its 10 s timeout and -f removes it.
Exit: 0 pass, 1 fail, 77 skip.
"""
import glob
import hashlib
import json
import os
import random
import re
import shutil
import socket
import stat
import subprocess
import sys

import xktest

MAC = "00:16:3e:4a:11:02"


def main():
    return xktest.start(xktest.arg_parser(timeout=300).parse_args(), "hotplug", run)


def run(a, xenkvm, kernel, tmp):
    rundir = os.path.join(tmp, "run")
    os.environ["XENKVM_RUNTIME_DIR"] = rundir
    raw_img = os.path.join(tmp, "raw.img")
    with open(raw_img, "wb") as f:
        f.truncate(8 << 20)
    initrd = os.path.join(tmp, "initrd.cpio.gz")
    xktest.make_initramfs(initrd, os.path.join(xktest.HERE, "udhcpc-script"),
                          modules="xen-blkfront,xen-netfront", kernel=kernel)
    name = f"hotplug-{os.getpid()}"
    g = xktest.Guest(xktest.run_cmd(xenkvm, kernel, initrd, a.timeout, "--name", name,
                                    platform=a.platform))
    fails = []
    shell = xktest.Shell(g, a.platform)

    def xk(*args):
        return xktest.xk(xenkvm, *args)

    def step(name_, c, want, timeout=60):
        return shell.step(name_, c, want, fails, timeout, flags=0)

    def expect_err(what, r, pattern):
        if r.returncode == 0 or not re.search(pattern, r.stderr):
            fails.append(f"{what}: rc {r.returncode}, stderr {r.stderr!r}, want /{pattern}/")

    def wait_dev(path, present):
        test = "-e" if present else "! -e"
        return (f"i=0; while [ $i -lt 100 ] && ! [ {test} {path} ]; do sleep 0.1; i=$((i+1)); "
                f"done; [ {test} {path} ] && echo ok")

    written = None
    if g.wait_ready(a.timeout, fails):
        # The run file names the control socket, mode 0600.
        runs = [json.load(open(p)) for p in glob.glob(os.path.join(rundir, "*.json"))]
        ctl = runs[0].get("control") if runs else None
        if not ctl or not os.path.exists(ctl):
            fails.append(f"no control socket in the run file: {runs}")
        elif stat.S_IMODE(os.stat(ctl).st_mode) != 0o600:
            fails.append(f"{ctl}: mode {oct(os.stat(ctl).st_mode)}, want 0600")
        else:
            # Hostile lines: an error answer each, the launcher lives on.
            rnd = random.Random(7)
            junk = [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300))) + b"\n"
                    for _ in range(40)]
            junk = [j for j in junk if not re.match(rb"(block|network)-", j)]
            # connect and go, half a line then silence (answered after 5 s)
            s = socket.socket(socket.AF_UNIX)
            s.connect(ctl)
            s.close()
            for line in [b"bogus\n", b"block-attach\n", b"block-detach -f\n",
                         b"block-\x01attach x\n", b"A" * 5000 + b"\n",
                         b"network-detach 00:zz\n", b"block-list extra\n",
                         b"block-attach /dev/null,raw,xvdz,w", b"network-\n"] + junk:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(20)
                s.connect(ctl)
                s.sendall(line)
                ans = b""
                try:
                    while True:
                        d = s.recv(4096)
                        if not d:
                            break
                        ans += d
                except OSError:
                    pass
                s.close()
                if not ans.startswith(b"ERR\n"):
                    fails.append(f"control line {line[:40]!r}: answer {ans!r}, want ERR")

        expect_err("attach to an unknown guest",
                   xk("block-attach", "no-such-guest", f"{raw_img},raw,xvdb,w"),
                   r"no running guest")
        expect_err("a bad spec", xk("block-attach", name, f"{raw_img},raw,qqq9,w"),
                   r"not a virtual device")
        expect_err("a missing image", xk("block-attach", name, f"{tmp}/nope.img,raw,xvdb,w"),
                   r"nope\.img")
        expect_err("detach of an absent disk", xk("block-detach", name, "xvdq"), r"no disk xvdq")

        r = xk("block-attach", name, f"format=raw,vdev=xvdb,access=rw,target={raw_img}")
        if r.returncode != 0:
            fails.append(f"block-attach failed: {r.stderr}")
        else:
            expect_err("a duplicate vdev", xk("block-attach", name, f"{raw_img},raw,xvdb,r"),
                       r"already attached")
            l = xk("block-list", name)
            if l.returncode != 0 or not re.search(r"(?m)^xvdb\s+51728\s", l.stdout):
                fails.append(f"block-list: {l.stdout!r}")
            if step("xvdb-appears", wait_dev("/sys/block/xvdb", True) +
                    " && cat /sys/block/xvdb/size", r"ok\s+16384"):
                out = step("xvdb-write",
                           "dd if=/dev/urandom of=/tmp/r bs=4k count=256 2>/dev/null;"
                           " dd if=/tmp/r of=/dev/xvdb bs=64k conv=fsync 2>/dev/null;"
                           " md5sum < /tmp/r", r"^[0-9a-f]{32}")
                if out:
                    written = out.split()[0]
            r = xk("block-detach", name, "xvdb")
            if r.returncode != 0:
                fails.append(f"block-detach failed: {r.stderr}")
            step("xvdb-gone", wait_dev("/sys/block/xvdb", False), r"^ok$")
            l = xk("block-list", name)
            if "xvdb" in l.stdout:
                fails.append(f"block-list after detach: {l.stdout!r}")
            if written:
                with open(raw_img, "rb") as f:
                    host = hashlib.md5(f.read(1 << 20)).hexdigest()
                if host != written:
                    fails.append(f"raw image: host md5 {host}, guest wrote {written}")
            # attach again after the detach: the vdev is free
            r = xk("block-attach", name, f"{raw_img},raw,xvdb,r")
            if r.returncode != 0:
                fails.append(f"second block-attach failed: {r.stderr}")
            else:
                step("xvdb-again", wait_dev("/sys/block/xvdb", True) +
                     " && cat /sys/block/xvdb/ro", r"ok\s+1")
                r = xk("block-detach", name, "51728")
                if r.returncode != 0:
                    fails.append(f"block-detach by devid failed: {r.stderr}")
                step("xvdb-gone-again", wait_dev("/sys/block/xvdb", False), r"^ok$")
            # Detach while a guest process holds the disk open: either the
            # guest lets go (Linux 6.1's blkfront marks the disk dead) or
            # the detach fails after its timeout with a clear error and
            # -f removes it; the launcher runs on either way.
            r = xk("block-attach", name, f"{raw_img},raw,xvdc,w")
            if r.returncode != 0:
                fails.append(f"block-attach xvdc failed: {r.stderr}")
            elif step("xvdc-held", wait_dev("/sys/block/xvdc", True) +
                      " && (sleep 600 < /dev/xvdc &) && sleep 0.5 && echo held", r"ok\s+held"):
                r = xk("block-detach", name, "xvdc")
                if r.returncode != 0:
                    if not re.search(r"did not release .* -f", r.stderr):
                        fails.append(f"held detach: unclear error {r.stderr!r}")
                    r = xk("block-detach", "-f", name, "xvdc")
                    if r.returncode != 0:
                        fails.append(f"block-detach -f failed: {r.stderr}")
                print(f"held disk: detach {'forced' if '-f' in r.args else 'released'}",
                      flush=True)
                step("xvdc-gone", wait_dev("/sys/block/xvdc", False), r"^ok$")
                if "xvdc" in xk("block-list", name).stdout:
                    fails.append("xvdc still listed after its detach")

        expect_err("a bad vif spec", xk("network-attach", name, "mac=zz:16"), r"mac")
        r = xk("network-attach", name, f"mac={MAC}")
        if r.returncode != 0:
            fails.append(f"network-attach failed: {r.stderr}")
        else:
            l = xk("network-list", name)
            if MAC not in l.stdout:
                fails.append(f"network-list: {l.stdout!r}")
            step("eth0-appears", wait_dev("/sys/class/net/eth0", True) +
                 " && cat /sys/class/net/eth0/address", re.escape(MAC))
            step("dhcp", "udhcpc -i eth0 -n -q -t 5 -s /bin/udhcpc-script 2>&1 | grep lease:",
                 r"lease: 10\.0\.2\.15 router 10\.0\.2\.2", 90)
            r = xk("network-detach", name, MAC.upper())
            if r.returncode != 0:
                fails.append(f"network-detach failed: {r.stderr}")
            step("eth0-gone", wait_dev("/sys/class/net/eth0", False), r"^ok$")
        step(*xktest.splat_step())
        g.send("poweroff -f")
    rc = g.finish(60, fails)
    if not fails and rc != 0:
        fails.append(f"xenkvm exited {rc}, want 0 (poweroff)")
    if not fails:
        stuck_frontend(a, xenkvm, kernel, tmp, raw_img, fails)
    left = os.listdir(rundir) if os.path.isdir(rundir) else []
    if left:
        fails.append(f"left in the runtime dir after exit: {left}")
    return xktest.report(fails)


def stuck_frontend(a, xenkvm, kernel, tmp, raw_img, fails):
    """A guest without xen-blkfront: a frontend that never starts goes at
    once; one the host fakes as Connected (dom0 writes its state) never
    closes: the detach fails after its timeout, -f removes it."""
    if not shutil.which("xenstore-write"):
        print("SKIP (part): no xenstore-write for the stuck-frontend case")
        return
    initrd = os.path.join(tmp, "plain.cpio.gz")
    xktest.make_initramfs(initrd)
    sock = os.path.join(tmp, "xs.sock")
    name = f"hotplug-stuck-{os.getpid()}"
    g = xktest.Guest(xktest.run_cmd(xenkvm, kernel, initrd, a.timeout, "--name", name,
                                    "--xenstore-socket", sock, platform=a.platform, memory=256))
    xsenv = dict(os.environ, XENSTORED_PATH=sock)

    def xk(*args):
        return xktest.xk(xenkvm, *args)

    if g.wait_ready(a.timeout, fails, "stuck: the guest never reached its init"):
        r = xk("block-attach", name, f"{raw_img},raw,xvdb,w")
        r2 = xk("block-detach", name, "xvdb")
        if r.returncode or r2.returncode:
            fails.append(f"stuck: attach/detach without a driver: {r.stderr}{r2.stderr}")
        r = xk("block-attach", name, f"{raw_img},raw,xvdb,w")
        w = subprocess.run(["xenstore-write", "/local/domain/1/device/vbd/51728/state", "4"],
                           env=xsenv, capture_output=True, text=True)
        if r.returncode or w.returncode:
            fails.append(f"stuck: attach, fake Connected: {r.stderr}{w.stderr}")
        else:
            r = xk("block-detach", name, "xvdb")
            if r.returncode == 0 or not re.search(r"did not release .*-f", r.stderr):
                fails.append(f"stuck: detach rc {r.returncode} {r.stderr!r}, want a timeout error")
            if "xvdb" not in xk("block-list", name).stdout:
                fails.append("stuck: xvdb gone after a failed detach")
            r = xk("block-detach", "-f", name, "xvdb")
            if r.returncode:
                fails.append(f"stuck: block-detach -f: {r.stderr}")
            if "xvdb" in xk("block-list", name).stdout:
                fails.append("stuck: xvdb listed after -f")
            rd = subprocess.run(["xenstore-read", "/local/domain/0/backend/vbd/1/51728/state"],
                                env=xsenv, capture_output=True, text=True)
            if rd.returncode == 0:
                fails.append("stuck: the backend directory outlived -f")
        g.send("poweroff -f")
    rc = g.finish(60, fails, "stuck: the guest did not power off")
    if rc != 0:
        fails.append(f"stuck: xenkvm exited {rc}, want 0")


if __name__ == "__main__":
    sys.exit(main())
