#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""xenkvm run --vif: bad specs give one-line errors and exit 1.

usage: vif-cli.py XENKVM [KERNEL]   (the missing-bridge case needs a kernel,
this host's KVM, root and /dev/net/tun; it is skipped without them)
"""
import os
import subprocess
import sys

xenkvm = sys.argv[1]
kernel = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("XENKVM_DEBIAN_VMLINUZ")
fails = []


def run(args):
    p = subprocess.run([xenkvm, "run"] + args, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


CASES = [
    (["--vif", "mac=zz"], "mac 'zz' is not a unicast"),
    (["--vif", "mac=01:16:3e:00:00:01"], "is not a unicast"),
    (["--vif", "mac=00:16:3e:00:00:01:02"], "is not a unicast"),
    (["--vif", "bridge"], "'bridge' is not KEY=VALUE"),
    (["--vif", "colour=blue"], "unknown key 'colour'"),
    (["--vif", "backend=3"], "only the launcher (domain 0) serves vifs"),
    (["--vif", "type=ioemu"], "type=vif only"),
    (["--vif", "bridge=" + "b" * 16], "empty or too long"),
    (["--vif", "vifname="], "empty or too long"),
    (["--vif", ""] * 9, "at most 8 network interfaces"),
]
for args, want in CASES:
    rc, err = run(args + ["--kernel", "/nonexistent"])
    lines = [l for l in err.splitlines() if l.strip()]
    if rc != 1 or len(lines) != 1 or want not in err:
        fails.append(f"{args}: exit {rc}, stderr {err!r}; want exit 1 and one line with {want!r}")

# xl's keys that mean nothing here are accepted.
rc, err = run(["--vif", "mac=00:16:3e:00:00:01,script=vif-bridge,model=e1000,ip=1.2.3.4,"
               "type=vif,backend=0", "--kernel", "/nonexistent"])
if "--vif" in err:
    fails.append(f"accepted keys refused: {err!r}")

det = subprocess.run([xenkvm, "detect"], capture_output=True, text=True).stdout.strip()
if (kernel and os.path.exists(kernel) and det in ("hw", "pvm") and os.geteuid() == 0
        and os.path.exists("/dev/net/tun")):
    rc, err = run(["--kernel", kernel, "--vif", "bridge=xknosuchbr0", "--timeout", "10"])
    if rc != 1 or "cannot attach a tap device to bridge xknosuchbr0" not in err:
        fails.append(f"missing bridge: exit {rc}, stderr {err!r}")
else:
    print("(missing-bridge case skipped: no kernel, KVM, root or /dev/net/tun here)")

for f in fails:
    print("FAIL: " + f)
print("PASS" if not fails else f"{len(fails)} failure(s)")
sys.exit(1 if fails else 0)
