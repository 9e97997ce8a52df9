#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""xenkvm run --disk: bad specs and missing images give one-line errors, exit 1.

usage: disk-cli.py XENKVM [KERNEL]   (the missing-image case needs a kernel
and this host's KVM; it is skipped without them)
"""
import os
import subprocess
import sys
import tempfile

xenkvm = sys.argv[1]
kernel = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("XENKVM_DEBIAN_VMLINUZ")
fails = []


def run(args):
    p = subprocess.run([xenkvm, "run"] + args, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


CASES = [
    (["--disk", "/x.img"], "no vdev specified"),
    (["--disk", "file:/x.img,xvda,w,bogus"], "config parsing error"),
    (["--disk", "vdev=foo0,target=/x.img"], "'foo0' is not a virtual device name"),
    (["--disk", "format=empty,vdev=xvda,target=/x.img"], "format=empty is not supported"),
    (["--disk", "vdev=xvda,devtype=cdrom"], "no image"),
    (["--disk", "file:/a.img,xvda,w", "--disk", "/b.img,raw,xvda,r"], "xvda is used twice"),
]
for args, want in CASES:
    rc, err = run(args + ["--kernel", "/nonexistent"])
    lines = [l for l in err.splitlines() if l.strip()]
    if rc != 1 or len(lines) != 1 or want not in err:
        fails.append(f"{args}: exit {rc}, stderr {err!r}; want exit 1 and one line with {want!r}")

det = subprocess.run([xenkvm, "detect"], capture_output=True, text=True).stdout.strip()
if kernel and os.path.exists(kernel) and det in ("hw", "pvm"):
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "missing.img")
        rc, err = run(["--kernel", kernel, "--disk", f"{missing},raw,xvda,w"])
        if rc != 1 or f"cannot open {missing}" not in err:
            fails.append(f"missing image: exit {rc}, stderr {err!r}")
        ro = os.path.join(d, "ro.img")
        with open(ro, "wb") as f:
            f.truncate(1 << 20)
        os.chmod(ro, 0o444)
        if os.geteuid() != 0:  # root opens it anyway
            rc, err = run(["--kernel", kernel, "--disk", f"{ro},raw,xvda,w"])
            if rc != 1 or "for writing" not in err:
                fails.append(f"read-only image in mode w: exit {rc}, stderr {err!r}")
else:
    print("(missing-image case skipped: no kernel or no KVM here)")

for f in fails:
    print("FAIL: " + f)
print("PASS" if not fails else f"{len(fails)} failure(s)")
sys.exit(1 if fails else 0)
