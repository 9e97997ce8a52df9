#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The guest's console: pty mode, xenkvm console, --console-log, and no
output lost at shutdown (Debian's kernel on this host's platform).

usage: console-test.py --xenkvm PATH --case pty|last-line|cli [--platform pvm|hw]
                       [--kernel VMLINUZ]

  pty        --console pty: the pty shows the boot (replayed from the backlog)
             and runs commands; `xenkvm list`; `xenkvm console NAME` through a
             pty pair, Ctrl-] detaches (terminal restored, guest still runs),
             attach again by pid, a second attach refused, a duplicate --name
             refused; the last line before poweroff reaches the attached
             console and the log; the run file is gone afterwards.
  last-line  3 boots with --console stdio --console-log: `echo MARKER;
             poweroff -f` in one command line, the marker and the kernel's
             last message must be in stdout and in the log; a 4th boot with
             --console none is powered off through xenstore and its log must
             end with the kernel's last message; `xenkvm console` on a stdio
             guest is refused.
  cli        errors without a guest: bad --console/--name, unknown guest,
             not a terminal.

Exit: 0 pass, 1 fail, 77 skip (platform not here).
"""
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import termios
import threading
import time

import xktest

BOOT_TIMEOUT = 300
fails = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails.append(what)
    return cond


class Reader:
    """Collects everything read from fd (a pipe or a pty master) in a thread."""

    def __init__(self, fd, echo_prefix=""):
        self.fd = fd
        self.buf = b""
        self.lock = threading.Lock()
        self.eof = False
        self.stopping = False
        self.prefix = echo_prefix
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopping:
            if not select.select([self.fd], [], [], 0.1)[0]:
                continue
            try:
                d = os.read(self.fd, 65536)
            except OSError:  # EIO: a pty whose other side is gone
                d = b""
            if not d:
                self.eof = True
                return
            sys.stdout.write("".join(self.prefix + l + "\n" for l in
                                     d.decode(errors="replace").replace("\r", "").split("\n")
                                     if l))
            sys.stdout.flush()
            with self.lock:
                self.buf += d

    def stop(self):
        """Stop reading (before fd is closed: a read would go on)."""
        self.stopping = True
        self.t.join(5)

    def text(self):
        with self.lock:
            return self.buf

    def wait_for(self, pattern, timeout, start=0):
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                m = rx.search(self.buf, start)
            if m:
                return m
            if self.eof:
                with self.lock:
                    return rx.search(self.buf, start)
            time.sleep(0.05)
        return None


def run_step(reader, send, cmd, want, tag, timeout=120):
    """Run cmd in the guest's shell framed by markers; a segfault fails it
    (see xktest.Shell)."""
    t = f"{tag}x0"
    start = len(reader.text())
    send(f"echo @@B{t}@@; {cmd}; echo @@E{t}@@")
    m = reader.wait_for(rf"(?s)@@B{t}@@\r?\n(.*?)@@E{t}@@", timeout, start)
    if not m:
        return check(False, f"{tag}: {cmd!r} gave no output")
    out = m.group(1).decode(errors="replace")
    if "Segmentation fault" in out:
        return check(False, f"{tag}: {cmd!r}: a process segfaulted: {out.strip()!r}")
    return check(re.search(want, out) is not None, f"{tag}: {cmd!r} -> {out.strip()!r}")


class Env:
    def __init__(self, a):
        self.a = a
        self.xenkvm = os.path.abspath(a.xenkvm)
        self.tmp = tempfile.mkdtemp(prefix="xenkvm-con-", dir="/tmp")
        self.env = dict(os.environ, XENKVM_RUNTIME_DIR=os.path.join(self.tmp, "run"))
        self.kernel = None
        self.initrd = os.path.join(self.tmp, "initrd.cpio.gz")

    def prepare_guest(self):
        self.kernel = xktest.need_kernel(self.a)
        xktest.make_initramfs(self.initrd)

    def run_cmd(self, *extra):
        return xktest.run_cmd(self.xenkvm, self.kernel, self.initrd, BOOT_TIMEOUT + 120, *extra,
                              platform=self.a.platform)

    def xk(self, *args, timeout=30):
        return subprocess.run([self.xenkvm] + list(args), capture_output=True, text=True,
                              env=self.env, timeout=timeout, stdin=subprocess.DEVNULL)


def last_kernel_line(text):
    # what the kernel prints last on poweroff -f / a toolstack poweroff
    return re.search(rb"reboot: (System halted|Power down)", text)


def case_last_line(e):
    log = os.path.join(e.tmp, "console.log")
    for i in range(3):
        name = f"xk-last-{os.getpid()}-{i}"
        p = subprocess.Popen(e.run_cmd("--name", name, "--console-log", log), env=e.env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        out, err = Reader(p.stdout.fileno()), Reader(p.stderr.fileno(), "stderr: ")

        def send(line):
            p.stdin.write(line.encode() + b"\n")
            p.stdin.flush()

        if not check(out.wait_for(r"XENKVM-INIT: ready", BOOT_TIMEOUT) is not None,
                     f"boot {i}: the guest reached its init"):
            p.kill()
            p.wait()
            continue
        run_step(out, send, "echo up-$((20+1))", r"up-21", f"boot{i}")
        if i == 0:
            r = e.xk("console", name)
            check(r.returncode == 1 and "has no pty console" in r.stderr,
                  f"xenkvm console on a stdio guest refused: rc={r.returncode} {r.stderr.strip()!r}")
        # The typed line is echoed as "LAST-$((40+i))-LINE": only the shell's
        # output has the computed marker.
        marker = f"LAST-{40 + i}-LINE".encode()
        send(f"echo LAST-$((40+{i}))-LINE; poweroff -f")
        rc = xktest.wait_or_kill(p, 120)[0]
        out.t.join(5)
        err.t.join(5)
        text = out.text()
        check(rc == 0, f"boot {i}: xenkvm exited {rc}, want 0")
        check(re.search(rb"\n" + marker + rb"\r?\n", text) is not None,
              f"boot {i}: {marker.decode()} in stdout")
        m = last_kernel_line(text)
        check(m is not None and m.start() > text.rfind(marker),
              f"boot {i}: the kernel's last message after it in stdout")
        with open(log, "rb") as f:
            logged = f.read()
        check(re.search(rb"\n" + marker + rb"\r?\n", logged) is not None,
              f"boot {i}: {marker.decode()} in the log")
        check(logged.rstrip().endswith(text.rstrip()[-200:]),
              f"boot {i}: the log ends as stdout does")
    with open(log, "rb") as f:
        logged = f.read()
    check(logged.count(b"XENKVM-INIT: ready") == 3, "the log was appended to (3 boots)")

    # --console none: nothing on stdout, everything in the log.
    log2 = os.path.join(e.tmp, "none.log")
    sock = os.path.join(e.tmp, "xs.sock")
    p = subprocess.Popen(e.run_cmd("--console", "none", "--console-log", log2,
                                   "--xenstore-socket", sock),
                         env=e.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = Reader(p.stdout.fileno()), Reader(p.stderr.fileno(), "stderr: ")
    deadline = time.monotonic() + BOOT_TIMEOUT
    ready = False
    while time.monotonic() < deadline and p.poll() is None:
        if os.path.exists(log2) and b"XENKVM-INIT: ready" in open(log2, "rb").read():
            ready = True
            break
        time.sleep(0.2)
    if check(ready, "--console none: the log shows the boot"):
        w = subprocess.run(["xenstore-write", "/local/domain/1/control/shutdown", "poweroff"],
                           env=dict(os.environ, XENSTORED_PATH=sock),
                           capture_output=True, text=True)
        check(w.returncode == 0, "xenstore-write control/shutdown " + w.stderr.strip())
    rc = xktest.wait_or_kill(p, 120)[0]
    out.t.join(5)
    check(rc == 0, f"--console none: xenkvm exited {rc}, want 0")
    check(out.text() == b"", "--console none: nothing on stdout")
    logged = open(log2, "rb").read() if os.path.exists(log2) else b""
    m = last_kernel_line(logged)
    check(m is not None and not logged[m.end():].strip(),
          "--console none: the log ends with the kernel's last message")


def attach(e, target):
    """xenkvm console TARGET on a fresh pty pair, as a terminal would run it."""
    master, slave = os.openpty()
    p = subprocess.Popen([e.xenkvm, "console", target], stdin=slave, stdout=slave,
                         stderr=slave, env=e.env, close_fds=True)
    return p, master, slave, Reader(master, "attach: ")


def case_pty(e):
    name = f"xk-pty-{os.getpid()}"
    log = os.path.join(e.tmp, "pty.log")
    p = subprocess.Popen(e.run_cmd("--console", "pty", "--name", name, "--console-log", log),
                         env=e.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = Reader(p.stdout.fileno()), Reader(p.stderr.fileno(), "stderr: ")
    try:
        _case_pty(e, p, name, log, out, err)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def _case_pty(e, p, name, log, out, err):
    m = err.wait_for(rb"xenkvm: console on (/dev/pts/\d+)", 30)
    if not check(m is not None, "the launcher says where its pty is"):
        return
    pty = m.group(1).decode()
    r = e.xk("list")
    check(re.search(rf"^{re.escape(name)}\s+{p.pid}\s+{pty}$", r.stdout, re.M) is not None,
          f"xenkvm list shows the guest: {r.stdout.strip()!r}")
    # Boot output waits in the backlog until someone opens the pty: wait
    # for the log to show the shell, then open the pty.
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline and p.poll() is None:
        if os.path.exists(log) and b"XENKVM-INIT: ready" in open(log, "rb").read():
            break
        time.sleep(0.2)
    if not check(b"XENKVM-INIT: ready" in open(log, "rb").read(), "the log shows the boot"):
        return
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
    direct = Reader(fd, "pty: ")
    if not check(direct.wait_for(r"XENKVM-INIT: ready", 10) is not None,
                 "the pty replays the boot output from before it was opened"):
        return
    run_step(direct, lambda l: os.write(fd, l.encode() + b"\n"), "echo direct-$((2+3))",
             r"direct-5", "direct")
    direct.stop()
    os.close(fd)

    r = e.xk("console", "no-such-guest")
    check(r.returncode == 1 and "no running guest named no-such-guest" in r.stderr,
          f"unknown name: rc={r.returncode} {r.stderr.strip()!r}")
    r = e.xk("run", "--kernel", e.kernel, "--name", name)
    check(r.returncode == 1 and "a guest of that name is running" in r.stderr,
          f"duplicate --name: rc={r.returncode} {r.stderr.strip()!r}")

    # Attach by name through a terminal; Ctrl-] detaches.
    c, master, slave, cr = attach(e, name)
    before = termios.tcgetattr(slave)
    check(cr.wait_for(r"attached to", 10) is not None, "xenkvm console NAME attaches")
    time.sleep(0.3)
    r = e.xk("console", name)
    check(r.returncode == 1 and "already attached" in r.stderr,
          f"second attach refused: rc={r.returncode} {r.stderr.strip()!r}")
    run_step(cr, lambda l: os.write(master, l.encode() + b"\r"), "echo attach-$((6*7))",
             r"attach-42", "attach")
    os.write(master, b"\x1d")
    rc = xktest.wait_or_kill(c, 10)[0]
    check(rc == 0, f"Ctrl-] detaches (exit {rc})")
    check(cr.wait_for(r"detached", 5) is not None, "it says so")
    after = termios.tcgetattr(slave)
    check(after[3] & termios.ICANON and after[3] & termios.ECHO and after == before,
          "the terminal is restored")
    cr.stop()
    os.close(slave)
    os.close(master)
    check(p.poll() is None, "the guest keeps running after the detach")

    # Attach again, by pid; the last line before poweroff reaches it.
    c, master, slave, cr = attach(e, str(p.pid))
    check(cr.wait_for(r"attached to", 10) is not None, "xenkvm console PID attaches")
    os.close(slave)
    run_step(cr, lambda l: os.write(master, l.encode() + b"\r"), "echo again-$((3*3))",
             r"again-9", "again")
    os.write(master, b"echo LAST-$((40+2))-LINE; poweroff -f\r")
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, f"the guest powered off (xenkvm exit {rc})")
    crc = xktest.wait_or_kill(c, 10)[0]
    cr.stop()
    text = cr.text()
    check(crc == 0 and b"the guest is gone" in text,
          f"xenkvm console ends with the guest (exit {crc})")
    check(re.search(rb"\nLAST-42-LINE\r?\n", text) is not None,
          "the last line reached the attached console")
    check(last_kernel_line(text) is not None, "so did the kernel's last message")
    os.close(master)
    logged = open(log, "rb").read()
    for mk in (rb"XENKVM-INIT: ready", rb"\ndirect-5\r?\n", rb"\nattach-42\r?\n",
               rb"\nagain-9\r?\n", rb"\nLAST-42-LINE\r?\n"):
        check(re.search(mk, logged) is not None, f"the log has {mk!r}")
    check(last_kernel_line(logged) is not None, "the log has the kernel's last message")
    r = e.xk("list")
    check(name not in r.stdout, "the run file is gone")
    r = e.xk("console", name)
    check(r.returncode == 1 and "no running guest" in r.stderr,
          f"console after exit: {r.stderr.strip()!r}")


def case_cli(e):
    def bad(args, msg, rc=1):
        r = e.xk(*args)
        check(r.returncode == rc and msg in r.stderr,
              f"{' '.join(args)}: rc={r.returncode} {r.stderr.strip()!r}")

    bad(["run", "--kernel", "/nonexistent", "--console", "serial"],
        "--console: 'serial' is not stdio, pty or none")
    bad(["run", "--kernel", "/nonexistent", "--name", "1234"], "cannot be all digits")
    bad(["run", "--kernel", "/nonexistent", "--name", "a/b"], "--name 'a/b': use 1 to 64")
    bad(["run", "--kernel", "/nonexistent", "--name", "x" * 65], "use 1 to 64")
    bad(["console", "nothere"], "no running guest named nothere")
    bad(["console", "4242424"], "no running guest with pid 4242424")
    bad(["console", "/dev/null"], "/dev/null is not a terminal")
    bad(["console", "/nonexistent/pty"], "/nonexistent/pty: No such file or directory")
    bad(["console"], "Usage: xenkvm console")
    r = e.xk("list")
    check(r.returncode == 0 and r.stdout.split() == ["NAME", "PID", "CONSOLE"],
          f"xenkvm list with nothing running: {r.stdout!r}")
    r = e.xk("run", "--help")
    check("--console stdio|pty|none" in r.stdout and "--console-log" in r.stdout,
          "run --help documents the console options")
    # A stale run file (its launcher was killed) is ignored and removed.
    run = os.path.join(e.tmp, "run")
    os.makedirs(run, mode=0o700, exist_ok=True)
    stale = os.path.join(run, "4242424.json")
    with open(stale, "w") as f:
        f.write('{"name": "ghost", "pid": 4242424, "console": "pty", "pty": "/dev/pts/0"}\n')
    bad(["console", "ghost"], "no running guest named ghost")
    check(not os.path.exists(stale), "the stale run file was removed")


def main():
    ap = xktest.arg_parser(platforms=("pvm", "hw"), timeout=None)
    ap.add_argument("--case", required=True, choices=["pty", "last-line", "cli"])
    a = ap.parse_args()
    if a.case != "cli":
        xktest.need_platform(a)
    e = Env(a)
    if a.case == "cli":
        case_cli(e)
    else:
        e.prepare_guest()
        {"pty": case_pty, "last-line": case_last_line}[a.case](e)
    if not fails:
        shutil.rmtree(e.tmp, ignore_errors=True)
    return xktest.report(fails)


if __name__ == "__main__":
    sys.exit(main())
