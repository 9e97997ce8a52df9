#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Data safety: every write acknowledged through a flush survives SIGKILL.

usage: debian-disk-kill.py --xenkvm PATH [--kernel VMLINUZ] [--timeout S]

The guest (Debian's kernel, xen-blkfront) writes random 4 KiB blocks to a raw
disk, each with dd conv=fsync (a flush request), and prints each block's
checksum once dd returned.  The host kills the launcher with SIGKILL in the
middle of that stream and checks that every block the guest reported is in
the image.  Exit: 0 pass, 1 fail, 77 skip.
"""
import os
import re
import signal
import sys

import xktest
from xktest import md5

KILL_AFTER = 12  # acknowledged blocks before the kill


def main():
    return xktest.start(xktest.arg_parser().parse_args(), "kill", run)


def run(a, xenkvm, kernel, tmp):
    img = os.path.join(tmp, "raw.img")
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    initrd = os.path.join(tmp, "initrd.cpio.gz")
    xktest.make_initramfs(initrd, modules="xen-blkfront", kernel=kernel)
    g = xktest.Guest(xktest.run_cmd(xenkvm, kernel, initrd, a.timeout,
                                    "--disk", f"file:{img},xvda,w", platform=a.platform,
                                    memory=256))
    fails = []
    if g.wait_ready(a.timeout, fails):
        g.send("i=1; while [ $i -lt 3000 ]; do dd if=/dev/urandom of=/tmp/b bs=4k count=1"
               " 2>/dev/null && dd if=/tmp/b of=/dev/xvda bs=4k seek=$i conv=fsync"
               " 2>/dev/null && echo \"ACK $i $(md5sum < /tmp/b | cut -c1-32)\";"
               " i=$((i+1)); done")
        if not g.wait_for(rf"ACK {KILL_AFTER} [0-9a-f]{{32}}", 120):
            fails.append(f"the guest did not acknowledge {KILL_AFTER} blocks")
        g.p.send_signal(signal.SIGKILL)
    rc = g.finish(30, fails, "xenkvm did not end")
    if not fails and rc != -signal.SIGKILL:
        fails.append(f"xenkvm ended with {rc}, not by SIGKILL")
    acks = re.findall(r"ACK (\d+) ([0-9a-f]{32})\r?\n", g.text())
    with open(img, "rb") as f:
        data = f.read()
    for blk, want in acks:
        got = md5(data[int(blk) * 4096:(int(blk) + 1) * 4096])
        if got != want:
            fails.append(f"block {blk}: acknowledged {want}, image has {got}")
    print(f"{len(acks)} acknowledged blocks checked after SIGKILL")
    if len(acks) < KILL_AFTER - 1:  # the last may be cut off by the SIGKILL
        fails.append(f"only {len(acks)} acknowledgements seen")
    return xktest.report(fails)


if __name__ == "__main__":
    sys.exit(main())
