#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""xenkvm run --vif: bad specs give one-line errors and exit 1.

usage: vif-cli.py XENKVM [KERNEL]   (the missing-bridge case needs a kernel,
this host's KVM, root and /dev/net/tun; it is skipped without them)
"""
import os
import sys

import xktest

xenkvm, kernel = xktest.cli_args()
fails = []


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
xktest.cli_errors(xenkvm, CASES, fails)

# xl's keys that mean nothing here are accepted.
rc, err = xktest.run_status(xenkvm, ["--vif", "mac=00:16:3e:00:00:01,script=vif-bridge,"
                                     "model=e1000,ip=1.2.3.4,type=vif,backend=0",
                                     "--kernel", "/nonexistent"])
if "--vif" in err:
    fails.append(f"accepted keys refused: {err!r}")

det = xktest.detect(xenkvm)
if (kernel and os.path.exists(kernel) and det in ("hw", "pvm") and os.geteuid() == 0
        and os.path.exists("/dev/net/tun")):
    rc, err = xktest.run_status(xenkvm, ["--kernel", kernel, "--vif", "bridge=xknosuchbr0",
                                         "--timeout", "10"])
    if rc != 1 or "cannot attach a tap device to bridge xknosuchbr0" not in err:
        fails.append(f"missing bridge: exit {rc}, stderr {err!r}")
else:
    print("(missing-bridge case skipped: no kernel, KVM, root or /dev/net/tun here)")

sys.exit(xktest.report(fails))
