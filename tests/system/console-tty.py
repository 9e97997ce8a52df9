#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""`xenkvm run` with a terminal on stdin (what tools/setup gives a user).

The launcher puts the terminal in raw input mode: keys reach the guest's
shell once (no double echo), Ctrl-C interrupts the guest's command instead
of killing the launcher, Ctrl-] stops the guest (exit 130), and the
terminal's settings are restored afterwards.

usage: console-tty.py --xenkvm PATH [--kernel VMLINUZ]   (pvm; exit 77 elsewhere)
"""
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time

import xktest


def main():
    return xktest.start(xktest.arg_parser(timeout=None).parse_args(), "tty", run)


def run(a, xenkvm, kernel, tmp):
    initrd = os.path.join(tmp, "initrd.cpio.gz")
    xktest.make_initramfs(initrd)

    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    # no --platform: the launcher picks this host's
    p = subprocess.Popen(xktest.run_cmd(xenkvm, kernel, initrd, 120, memory=256, loglevel=1),
                         stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    buf = b""

    def wait_for(pattern, timeout=60, start=0):
        nonlocal buf
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = rx.search(buf, start)
            if m:
                return m
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    d = os.read(master, 65536)
                except OSError:
                    return None
                sys.stdout.buffer.write(d)
                sys.stdout.flush()
                buf += d
        return None

    fails = []
    if not wait_for(rb"Ctrl-\] stops the guest"):
        fails.append("no hint about Ctrl-] on the terminal")
    if not wait_for(rb"XENKVM-INIT: ready"):
        fails.append("the guest never reached its init")
    else:
        time.sleep(1)
        start = len(buf)
        os.write(master, b"echo tty-$((6*7))-ok\r")
        m = wait_for(rb"tty-42-ok", 30, start)
        if not m:
            fails.append("a command typed on the terminal did not run")
        # exactly one echo of the typed line
        time.sleep(0.5)
        wait_for(rb"\Zx", 0.5)
        echoes = buf[start:].count(b"echo tty-$((6*7))-ok")
        if echoes != 1:
            fails.append(f"the typed line was echoed {echoes} times, want 1")
        # Ctrl-C is a byte for the guest now: its tty turns it into SIGINT
        # for the foreground command, and the launcher keeps running.
        start = len(buf)
        os.write(master, b"sleep 60; echo not-interrupted\r")
        time.sleep(2)
        os.write(master, b"\x03")
        if not wait_for(rb"\^C", 30, start):
            fails.append("Ctrl-C did not reach the guest's terminal")
        start = len(buf)
        os.write(master, b"echo sleep-status-$?\r")
        m = wait_for(rb"sleep-status-(\d+)", 20, start)
        if not m:
            fails.append("the shell did not come back after Ctrl-C")
        elif m.group(1) != b"130":
            fails.append(f"Ctrl-C: sleep's status {m.group(1).decode()}, want 130 (SIGINT)")
        if b"not-interrupted" in buf[start:]:
            fails.append("Ctrl-C did not interrupt the command")
        time.sleep(2)
        if p.poll() is not None:
            fails.append("Ctrl-C stopped the launcher")
        os.write(master, b"\x1d")  # Ctrl-]
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
        fails.append("Ctrl-] did not stop the guest")
    wait_for(rb"\Zx", 0.5)
    if rc != 130:
        fails.append(f"exit status {rc}, want 130 (stopped with Ctrl-])")
    if termios.tcgetattr(slave) != before:
        fails.append("the terminal's settings were not restored")
    os.close(slave)
    os.close(master)
    return xktest.report(fails)


if __name__ == "__main__":
    sys.exit(main())
