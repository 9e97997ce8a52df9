#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Network end to end: Debian's xen-netfront against xenkvm's netback.

usage: net-test.py --xenkvm PATH --mode slirp|tap [--platform pvm]
                   [--kernel VMLINUZ] [--timeout S]

slirp: the guest (xen-netfront loaded by the initramfs) gets 10.0.2.15 from slirp's DHCP
       (busybox udhcpc), downloads a random file over HTTP from a server on
       the host's 127.0.0.1 (reached as 10.0.2.2), checks its SHA-256, and
       uploads it back (HTTP POST of its base64: the host checks the SHA-256): both
       directions, with the frontend's checksum offload and TSO.
--queues N: first rebind xen-netfront with max_queues=N (the frontend
       closes and connects again, with N queues and their queue-N/ keys).
tap:   the same through a tap device on a bridge, inside a network
       namespace this test creates (unshare -n, needs root): the bridge
       has 192.168.77.1/24 and serves HTTP, the guest takes 192.168.77.2.

hw runs through the KVM box (tools/kvmbox) when the host has no VT-x/AMD-V:
the driver runs again inside it, as debian-boot.py does.
Exit: 0 pass, 1 fail, 77 skip.
"""
import argparse
import base64
import hashlib
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import xktest

BLOB_SIZE = 6 * 1024 * 1024 + 123
MAC = "00:16:3e:5a:17:01"


class Handler(http.server.BaseHTTPRequestHandler):
    blob = b""
    uploads = []

    def do_GET(self):
        if self.path != "/blob":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.blob)))
        self.end_headers()
        self.wfile.write(self.blob)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = b""
        while len(data) < n:
            d = self.rfile.read(n - len(data))
            if not d:
                break
            data += d
        # busybox wget --post-file stops at a NUL byte: the guest
        # posts base64
        if self.path == "/sink64":
            data = base64.b64decode(data)
        digest = hashlib.sha256(data).hexdigest()
        Handler.uploads.append((len(data), digest))
        body = f"upload {len(data)} {digest}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def run_steps(g, steps, platform):
    """Run (command, regex, timeout) steps in the guest shell; failures."""
    named = [(str(i), c, want, tmo) for i, (c, want, tmo) in enumerate(steps)]
    return xktest.run_steps(g, named, platform)[0]


def setup_netns():
    """Inside a fresh network namespace: lo up, bridge br0 192.168.77.1/24."""
    for cmd in (["ip", "link", "set", "lo", "up"],
                ["ip", "link", "add", "br0", "type", "bridge"],
                ["ip", "addr", "add", "192.168.77.1/24", "dev", "br0"],
                ["ip", "link", "set", "br0", "up"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            return f"{' '.join(cmd)}: {r.stderr.strip()}"
    return None


def main():
    ap = xktest.arg_parser(platforms=("pvm", "hw"))
    ap.add_argument("--mode", choices=["slirp", "tap"], default="slirp")
    ap.add_argument("--queues", type=int, default=1,
                    help="rebind xen-netfront with max_queues=N first (a reconnect, then "
                         "N queues)")
    ap.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    # hw without VT-x/AMD-V: as debian-boot.py, in the KVM box.
    xenkvm = xktest.need_platform(a, ["--mode", a.mode, "--queues", str(a.queues)])
    if a.mode == "tap" and not a.in_netns:
        if os.geteuid() != 0 or not os.path.exists("/dev/net/tun") or not shutil.which("unshare"):
            xktest.skip("the tap test needs root, /dev/net/tun and unshare")
        # Everything below runs in a network namespace of its own: the
        # bridge, the tap, the HTTP server.  Gone when we exit.
        args = [sys.executable, os.path.abspath(__file__), "--in-netns", "--xenkvm", xenkvm,
                "--mode", "tap", "--platform", a.platform, "--timeout", str(a.timeout),
                "--queues", str(a.queues)]
        if a.kernel:
            args += ["--kernel", a.kernel]
        return subprocess.run(["unshare", "-n"] + args).returncode

    kernel = xktest.need_kernel(a)
    if a.mode == "tap":
        err = setup_netns()
        if err:
            xktest.skip(f"cannot set up the bridge in the namespace ({err})")
        host = "192.168.77.1"
    else:
        host = "127.0.0.1"

    Handler.blob = os.urandom(BLOB_SIZE)
    want = hashlib.sha256(Handler.blob).hexdigest()
    srv = http.server.ThreadingHTTPServer((host, 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    try:
        with xktest.tmpdir("net") as tmpdir:
            return run(a, xenkvm, kernel, tmpdir, host, port, want)
    finally:
        srv.shutdown()


def run(a, xenkvm, kernel, tmpdir, host, port, want):
    initrd = os.path.join(tmpdir, "initrd.cpio.gz")
    xktest.make_initramfs(initrd, os.path.join(xktest.HERE, "udhcpc-script"),
                          modules="xen-netfront", kernel=kernel)
    vif = f"mac={MAC}" + (",bridge=br0,vifname=xkvif-test" if a.mode == "tap" else "")
    if a.mode == "slirp":
        server = f"10.0.2.2:{port}"
        addr_steps = [
            ("udhcpc -i eth0 -n -q -t 5 -s /bin/udhcpc-script 2>&1 | grep lease:",
             r"lease: 10\.0\.2\.15 router 10\.0\.2\.2", 60),
        ]
    else:
        server = f"{host}:{port}"
        addr_steps = [
            ("ip link set eth0 up && ip addr add 192.168.77.2/24 dev eth0 && echo up", r"^up$", 30),
            (f"ping -c 1 -w 10 {host} | grep -c ttl=", r"^1$", 30),
        ]
    steps = [
        # the init loaded xen-netfront; the vif has the spec's MAC
        ("cat /sys/class/net/eth0/address", re.escape(MAC), 60),
    ]
    if a.queues > 1:
        # unbind the driver (the frontend closes), raise max_queues, bind
        # again (it connects again, now with queue-N/ directories)
        want_q = " ".join([f"rx-{i}" for i in range(a.queues)] +
                          [f"tx-{i}" for i in range(a.queues)])
        steps.append((f"echo {a.queues} > /sys/module/xen_netfront/parameters/max_queues && "
                      "echo vif-0 > /sys/bus/xen/drivers/vif/unbind && "
                      "echo vif-0 > /sys/bus/xen/drivers/vif/bind && sleep 1 && "
                      "ls /sys/class/net/eth0/queues | tr '\\n' ' '", rf"^{want_q}$", 60))
    steps += addr_steps + [
        (f"wget -q -O /tmp/blob http://{server}/blob && sha256sum /tmp/blob", want, 120),
        (f"base64 /tmp/blob > /tmp/blob64 && wget -q -O - --post-file /tmp/blob64"
         f" http://{server}/sink64",
         rf"upload {BLOB_SIZE} {want}", 120),
        # the frontend saw no errors
        ("cat /sys/class/net/eth0/statistics/rx_errors /sys/class/net/eth0/statistics/tx_errors"
         " | tr '\\n' ' '", r"^0 0$", 30),
        ("dmesg | grep -E 'Oops|BUG:|WARNING: CPU:|Call Trace|xen_netfront.*(rror|fail)'"
         " || echo clean", r"\Aclean\Z", 30),
    ]
    for attempt in (1, 2):
        g = xktest.Guest(xktest.run_cmd(xenkvm, kernel, initrd, a.timeout, "--vif", vif, "-v",
                                        platform=a.platform))
        fails = []
        if g.wait_ready(a.timeout, fails):
            # libslirp writes to host sockets without MSG_NOSIGNAL: a peer
            # that closes its end (iperf3 at the end of a test) must not
            # kill the launcher, which ignores SIGPIPE (emu/main.c).
            os.kill(g.p.pid, signal.SIGPIPE)
            time.sleep(0.5)
            if g.p.poll() is not None:
                fails.append(f"the launcher died of SIGPIPE (exit {g.p.returncode})")
            else:
                fails += run_steps(g, steps, a.platform)
                g.send("poweroff -f")
        rc = g.finish(60 if not fails else 20, fails)
        text = g.text()
        if "carrier off" in text:
            fails.append("netback turned the vif's carrier off")
        if a.queues > 1 and f"connected: {a.queues} queue(s)" not in text:
            fails.append(f"the launcher never served {a.queues} queues")
        if not fails and rc != 0:
            fails.append(f"xenkvm exited {rc}, want 0 (poweroff)")
        if attempt == 1 and xktest.known_triple_fault(a, fails, text):
            continue
        return xktest.report(fails)


if __name__ == "__main__":
    sys.exit(main())
