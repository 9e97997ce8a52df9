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
import sys
import termios
import time

import xktest


def main():
    return xktest.start(xktest.arg_parser(timeout=None).parse_args(), "tty", run)


def run(a, xenkvm, kernel, tmp):
    initrd = os.path.join(tmp, "initrd.cpio.gz")
    xktest.make_initramfs(initrd)

    # no --platform: the launcher picks this host's
    g = xktest.PtyGuest(xktest.run_cmd(xenkvm, kernel, initrd, 120, memory=256, loglevel=1))

    fails = []
    if not g.wait_for(r"Ctrl-\] stops the guest", 60):
        fails.append("no hint about Ctrl-] on the terminal")
    if not g.wait_for(r"XENKVM-INIT: ready", 60):
        fails.append("the guest never reached its init")
    else:
        time.sleep(1)
        start = len(g.buf)
        g.send("echo tty-$((6*7))-ok")
        m = g.wait_for(r"tty-42-ok", 30, start)
        if not m:
            fails.append("a command typed on the terminal did not run")
        # exactly one echo of the typed line
        time.sleep(1)
        echoes = g.buf[start:].count(b"echo tty-$((6*7))-ok")
        if echoes != 1:
            fails.append(f"the typed line was echoed {echoes} times, want 1")
        # Ctrl-C is a byte for the guest now: its tty turns it into SIGINT
        # for the foreground command, and the launcher keeps running.
        start = len(g.buf)
        g.send("sleep 60; echo not-interrupted")
        time.sleep(2)
        g.key(b"\x03")
        if not g.wait_for(r"\^C", 30, start):
            fails.append("Ctrl-C did not reach the guest's terminal")
        start = len(g.buf)
        g.send("echo sleep-status-$?")
        m = g.wait_for(r"sleep-status-(\d+)", 20, start)
        if not m:
            fails.append("the shell did not come back after Ctrl-C")
        elif m.group(1) != b"130":
            fails.append(f"Ctrl-C: sleep's status {m.group(1).decode()}, want 130 (SIGINT)")
        if b"not-interrupted" in g.buf[start:]:
            fails.append("Ctrl-C did not interrupt the command")
        time.sleep(2)
        if g.p.poll() is not None:
            fails.append("Ctrl-C stopped the launcher")
        g.key(b"\x1d")  # Ctrl-]
    rc = g.finish(30, fails, "Ctrl-] did not stop the guest")
    if rc != 130:
        fails.append(f"exit status {rc}, want 130 (stopped with Ctrl-])")
    if termios.tcgetattr(g.slave) != g.before:
        fails.append("the terminal's settings were not restored")
    g.close()
    return xktest.report(fails)


if __name__ == "__main__":
    sys.exit(main())
