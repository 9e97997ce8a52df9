#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""xenkvm run --disk: bad specs and missing images give one-line errors, exit 1.

usage: disk-cli.py XENKVM [KERNEL]   (the missing-image case needs a kernel
and this host's KVM; it is skipped without them)
"""
import os
import sys
import tempfile

import xktest

xenkvm, kernel = xktest.cli_args()
fails = []


CASES = [
    (["--disk", "/x.img"], "no vdev specified"),
    (["--disk", "file:/x.img,xvda,w,bogus"], "config parsing error"),
    (["--disk", "vdev=foo0,target=/x.img"], "'foo0' is not a virtual device name"),
    (["--disk", "format=empty,vdev=xvda,target=/x.img"], "format=empty is not supported"),
    (["--disk", "vdev=xvda,devtype=cdrom"], "no image"),
    (["--disk", "file:/a.img,xvda,w", "--disk", "/b.img,raw,xvda,r"], "xvda is used twice"),
]
xktest.cli_errors(xenkvm, CASES, fails)

det = xktest.detect(xenkvm)
if kernel and os.path.exists(kernel) and det in ("hw", "pvm"):
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "missing.img")
        rc, err = xktest.run_status(xenkvm, ["--kernel", kernel, "--disk", f"{missing},raw,xvda,w"])
        if rc != 1 or f"cannot open {missing}" not in err:
            fails.append(f"missing image: exit {rc}, stderr {err!r}")
        ro = os.path.join(d, "ro.img")
        with open(ro, "wb") as f:
            f.truncate(1 << 20)
        os.chmod(ro, 0o444)
        if os.geteuid() != 0:  # root opens it anyway
            rc, err = xktest.run_status(xenkvm, ["--kernel", kernel, "--disk", f"{ro},raw,xvda,w"])
            if rc != 1 or "for writing" not in err:
                fails.append(f"read-only image in mode w: exit {rc}, stderr {err!r}")
else:
    print("(missing-image case skipped: no kernel or no KVM here)")

sys.exit(xktest.report(fails))
