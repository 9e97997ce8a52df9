#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""`xenkvm create` from an xl domain configuration file (pvm).

usage: create-test.py --xenkvm PATH --case console|detached|pygrub|cli [--kernel VMLINUZ]

The guest is Debian 12's kernel with a busybox initramfs (xen-blkfront
loaded), described by an xl.cfg as xl would run it: name, kernel, a
relative ramdisk path (resolved against the working directory, as xl
does), root + extra (xl composes "root=... extra"), memory, a disk and a
setting the launcher ignores (a warning).

console:  `xenkvm create -c web01.cfg memory=384` on a terminal: the shell
          works, the disk is there (its size and the marker the host wrote),
          memory=384 from the command line won; after reboot -f the console
          follows the guest into its next boot (on_reboot = 'restart');
          poweroff -f ends the console and create with 0; nothing is left
          running.  Then `create -F -c ... on_reboot='destroy'`: the console
          on this terminal, and a reboot ends create with run's status 2.
detached: `xenkvm create web01.cfg` returns once the guest runs; `xenkvm
          list` shows it; `xenkvm console` attaches (a command runs) and
          Ctrl-] detaches with the guest still running; `xenkvm reboot -w`
          restarts it (on_reboot = 'restart': a new launcher); `xenkvm
          shutdown -w` powers it off (gone from the list, the supervisor
          ended, the log tells each step); a second create and `xenkvm
          destroy` stops it at once.
pygrub:   bootloader = 'pygrub' with no kernel= at all: the kernel, initrd
          and arguments of grub.cfg's default entry on the first partition
          (ext4, MBR) of the disk, with extra appended (as pygrub --args);
          --dry-run names them; the bootloader's copies are removed; a disk
          without a GRUB configuration is a one-line error.
cli:      errors in one line with FILE:LINE (syntax, a bad memory value, a
          missing kernel, vcpus=2, type='hvm', bootloader without a disk, another
          bootloader), --dry-run,
          --help; nothing left behind (no run file, no log).
Exit: 0 pass, 1 fail, 77 skip.
"""
import argparse
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time

import xktest

MARKER = b"XENKVM-CREATE-DISK-MARKER"


def write_cfg(tmp, kernel, name, extra_lines=""):
    cfg = os.path.join(tmp, f"{name}.cfg")
    with open(cfg, "w") as f:
        f.write(f"""# {name}: as it ran under Xen
name = "{name}"
type = "pv"
kernel = "{kernel}"
ramdisk = "initrd.cpio.gz"
root = "/dev/xvda ro"
extra = "console=hvc0 loglevel=4"
memory = 512
vcpus = 1
disk = [ 'format=raw, vdev=xvda, access=rw, target={tmp}/disk.img' ]
on_reboot = "restart"
uuid = "c0ffee00-1111-2222-3333-444455556666"
vfb = [ 'vnc=1' ]
{extra_lines}""")
    return cfg


def xk(xenkvm, *args, timeout=120, cwd=None):
    return xktest.xk(xenkvm, *args, cwd=cwd, timeout=timeout)


def listed(xenkvm, name):
    r = xk(xenkvm, "list")
    for line in r.stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == name:
            return int(f[1])
    return None


def steps_disk(mem_mib):
    lo, hi = (mem_mib - 64) * 1024, mem_mib * 1024
    return [
        ("shell", "echo create-$((6*7))-ok", r"^create-42-ok$"),
        ("cmdline", "cat /proc/cmdline", r"root=/dev/xvda ro console=hvc0 loglevel=4"),
        ("disk-size", "cat /sys/block/xvda/size", r"^16384$"),
        ("uuid", "cat /sys/hypervisor/uuid", r"^c0ffee00-1111-2222-3333-444455556666$"),
        ("disk-marker", f"head -c {len(MARKER)} /dev/xvda; echo", "^" + MARKER.decode() + "$"),
        ("memory", f"awk '/MemTotal/ {{print ($2 > {lo} && $2 <= {hi}) ? \"memok\" : $2}}' "
                   "/proc/meminfo", r"^memok$"),
    ]


def case_console(xenkvm, kernel, tmp, fails):
    name = f"cr-c-{os.getpid()}"
    cfg = write_cfg(tmp, kernel, name)
    g = xktest.PtyGuest([xenkvm, "create", "-c", "--platform", "pvm", os.path.basename(cfg),
                 "memory=384"], cwd=tmp)
    if not g.wait_for(rf"{name}\.cfg:\d+: warning: 'vfb' is not supported", 30):
        fails.append("no warning for the vfb setting")
    if not g.wait_for(r"XENKVM-INIT: ready", 240):
        fails.append("no shell: the guest never reached its init")
    else:
        time.sleep(1)
        fails += xktest.run_steps(g, steps_disk(384), "pvm", pos=len(g.buf))[0]
        pid = listed(xenkvm, name)
        if pid is None:
            fails.append(f"{name} is not in xenkvm list while it runs")
        # on_reboot = 'restart': a new boot, and create -c attaches to it
        pos = len(g.buf)
        g.send("reboot -f")
        if not g.wait_for(r"XENKVM-INIT: ready", 240, pos):
            fails.append("create -c did not follow the guest into its next boot")
        else:
            time.sleep(1)
            fails += xktest.run_steps(g, steps_disk(384)[:1], "pvm", pos=len(g.buf))[0]
            if listed(xenkvm, name) in (None, pid):
                fails.append("no new launcher after the reboot")
        g.send("poweroff -f")
    rc = g.finish(60, fails, "create -c did not return after poweroff")
    if rc != 0:
        fails.append(f"create -c exited {rc}, want 0")
    if not re.search(r"attached to " + re.escape(name), g.text()):
        fails.append("create -c did not attach the console")
    if termios.tcgetattr(g.slave) != g.before:
        fails.append("the terminal's settings were not restored")
    g.close()
    time.sleep(1)
    if listed(xenkvm, name) is not None:
        fails.append(f"{name} still listed after poweroff")
    # -F -c: in the foreground on this terminal, as xenkvm run; with
    # on_reboot = 'destroy' a reboot ends it with run's status 2
    f = xktest.PtyGuest([xenkvm, "create", "-F", "-c", "--platform", "pvm", os.path.basename(cfg),
                 "on_reboot='destroy'"], cwd=tmp)
    if not f.wait_for(r"Ctrl-\] stops the guest", 60) or not f.wait_for(r"XENKVM-INIT: ready", 240):
        fails.append("create -F -c: no console on the terminal or no shell")
    else:
        # (the launcher's stdout is this terminal: ONLCR makes "\r\r\n",
        # which run_steps' markers do not expect)
        time.sleep(1)
        pos = len(f.buf)
        f.send("echo fg-$((6*7))-ok")
        if not f.wait_for(r"fg-42-ok", 60, pos):
            fails.append("create -F -c: a command typed on the terminal did not run")
        f.send("reboot -f")
    rc = f.finish(60, [])
    if rc != 2 or "rebooted: done (on_reboot = 'destroy')" not in f.text():
        fails.append(f"create -F -c with on_reboot='destroy': rc {rc}, want 2 (reboot, no restart)")
    if termios.tcgetattr(f.slave) != f.before:
        fails.append("create -F -c did not restore the terminal")
    f.close()
    log = os.path.join(os.environ["XENKVM_RUNTIME_DIR"], f"{name}.log")
    text = open(log).read() if os.path.exists(log) else ""
    if ("rebooted: restarting" not in text or "powered off: done" not in text
            or "ended" not in text):
        fails.append(f"the log {log} does not tell the end: {text!r}")


def case_detached(xenkvm, kernel, tmp, fails):
    name = f"cr-d-{os.getpid()}"
    cfg = write_cfg(tmp, kernel, name)
    t0 = time.monotonic()
    r = xk(xenkvm, "create", "--platform", "pvm", cfg, cwd=tmp)
    if r.returncode != 0 or f"{name} started" not in r.stderr:
        fails.append(f"create: rc {r.returncode}, stderr {r.stderr!r}")
        return
    print(f"create returned after {time.monotonic() - t0:.1f} s", flush=True)
    pid = listed(xenkvm, name)
    if pid is None:
        fails.append(f"{name} is not in xenkvm list")
        return
    # Attach, run a command, detach with Ctrl-].
    c = xktest.PtyGuest([xenkvm, "console", name])
    if not c.wait_for(r"XENKVM-INIT: ready", 240):
        fails.append("the attached console never showed the guest's init (replayed)")
    time.sleep(1)
    f, _ = xktest.run_steps(c, steps_disk(512)[:4], "pvm", pos=len(c.buf))
    fails += f
    c.key(b"\x1d")
    rc = c.finish(20, [])
    c.close()
    if rc != 0 or "the guest keeps running" not in c.text():
        fails.append(f"Ctrl-] did not detach cleanly (rc {rc})")
    if listed(xenkvm, name) != pid:
        fails.append("the guest did not keep running after the console detached")
    # reboot: on_reboot = 'restart' boots a new launcher under the same name
    r = xk(xenkvm, "reboot", "-w", name, timeout=120)
    if r.returncode != 0:
        fails.append(f"reboot -w: rc {r.returncode}")
    new = None
    for _ in range(100):
        new = listed(xenkvm, name)
        if new and new != pid:
            break
        time.sleep(0.2)
    if not new or new == pid:
        fails.append(f"no new launcher after the reboot (old pid {pid}, now {new})")
    # wait for the new boot's shell before the shutdown request
    time.sleep(8)
    r = xk(xenkvm, "shutdown", "-w", name, timeout=120)
    if r.returncode != 0:
        fails.append(f"shutdown -w: rc {r.returncode}")
    time.sleep(1)
    if listed(xenkvm, name) is not None:
        fails.append(f"{name} still listed after shutdown -w")
    if subprocess.run(["pgrep", "-f", f"xenkvm create --platform pvm {cfg}"]).returncode == 0:
        fails.append("the supervisor is still running after shutdown")
    log = os.path.join(os.environ["XENKVM_RUNTIME_DIR"], f"{name}.log")
    text = open(log).read() if os.path.exists(log) else ""
    for want in ("started", "rebooted: restarting", "powered off: done", "ended"):
        if want not in text:
            fails.append(f"the log has no '{want}': {text!r}")
    # destroy: at once
    r = xk(xenkvm, "create", "-q", "--platform", "pvm", cfg, cwd=tmp)
    if r.returncode != 0:
        fails.append(f"second create: rc {r.returncode}")
    else:
        # one guest per name, as in xl
        r = xk(xenkvm, "create", "--platform", "pvm", cfg, cwd=tmp)
        if r.returncode != 1 or f"a guest named {name} is running" not in r.stderr:
            fails.append(f"a second guest of the same name: rc {r.returncode} {r.stderr!r}")
        time.sleep(2)
        t0 = time.monotonic()
        r = xk(xenkvm, "destroy", name)
        took = time.monotonic() - t0
        if r.returncode != 0 or listed(xenkvm, name) is not None or took > 10:
            fails.append(f"destroy: rc {r.returncode}, {took:.1f} s, still listed?")
    runs = glob.glob(os.path.join(os.environ["XENKVM_RUNTIME_DIR"], "*.json"))
    if runs:
        fails.append(f"run files left: {runs}")


GRUB_CFG = """if [ "${next_entry}" ] ; then
   set default="${next_entry}"
else
   set default="0"
fi
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple' {
\tinsmod ext2
\tlinux\t/boot/vmlinuz-guest root=/dev/xvda1 ro console=hvc0 loglevel=4 grubentry=default
\tinitrd\t/boot/initrd.img-guest
}
submenu 'Advanced options' {
\tmenuentry 'recovery' {
\t\tlinux\t/boot/vmlinuz-guest ro single grubentry=recovery
\t}
}
"""


def make_boot_disk(tmp, kernel):
    """An MBR disk whose first partition is ext4 (made by mkfs.ext4 -d, no
    mount) with the guest's /boot: kernel, initramfs, grub.cfg."""
    stage = os.path.join(tmp, "stage")
    os.makedirs(os.path.join(stage, "boot", "grub"))
    shutil.copy(kernel, os.path.join(stage, "boot", "vmlinuz-guest"))
    shutil.copy(os.path.join(tmp, "initrd.cpio.gz"), os.path.join(stage, "boot", "initrd.img-guest"))
    open(os.path.join(stage, "boot", "grub", "grub.cfg"), "w").write(GRUB_CFG)
    fs = os.path.join(tmp, "fs.img")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", stage, fs, "64M"], check=True)
    data = open(fs, "rb").read()
    mbr = bytearray(1 << 20)
    mbr[446:462] = bytes([0x80, 0, 0, 0, 0x83, 0, 0, 0]) + struct.pack("<II", 2048, len(data) // 512)
    mbr[510:512] = b"\x55\xaa"
    disk = os.path.join(tmp, "boot.img")
    with open(disk, "wb") as f:
        f.write(bytes(mbr) + data)
    os.unlink(fs)
    shutil.rmtree(stage)
    return disk


def case_pygrub(xenkvm, kernel, tmp, fails):
    name = f"cr-g-{os.getpid()}"
    disk = make_boot_disk(tmp, kernel)
    cfg = os.path.join(tmp, f"{name}.cfg")
    open(cfg, "w").write(f"""name = "{name}"
bootloader = "pygrub"
extra = "xenkvm.extra=1"
memory = 384
disk = [ 'format=raw, vdev=xvda, access=rw, target={disk}' ]
""")
    r = xk(xenkvm, "create", "-n", cfg)
    if (r.returncode != 0 or "# bootloader: /boot/vmlinuz-guest and /boot/initrd.img-guest "
            "from /boot/grub/grub.cfg" not in r.stdout
            or "grubentry=default xenkvm.extra=1" not in r.stdout):
        fails.append(f"dry run with pygrub: rc {r.returncode} {r.stdout!r}")
    g = xktest.PtyGuest([xenkvm, "create", "-c", "--platform", "pvm", cfg], cwd=tmp)
    if not g.wait_for(r"XENKVM-INIT: ready", 240):
        fails.append("no shell: the guest never reached its init")
    else:
        time.sleep(1)
        steps = [("cmdline", "cat /proc/cmdline",
                  r"^root=/dev/xvda1 ro console=hvc0 loglevel=4 grubentry=default xenkvm.extra=1$"),
                 ("disk", "cat /sys/block/xvda/xvda1/size", r"^131072$")]
        fails += xktest.run_steps(g, steps, "pvm", pos=len(g.buf))[0]
        g.send("poweroff -f")
    rc = g.finish(60, fails, "create -c did not return after poweroff")
    g.close()
    if rc != 0:
        fails.append(f"create -c exited {rc}, want 0")
    left = [p for p in os.listdir(os.environ["XENKVM_RUNTIME_DIR"]) if not p.endswith(".log")]
    if left:
        fails.append(f"left behind (the bootloader's copies?): {left}")
    # no GRUB configuration on the disk: a one-line error, nothing started
    with open(disk, "r+b") as f:
        f.truncate(0)
        f.truncate(8 << 20)
    r = xk(xenkvm, "create", "--platform", "pvm", cfg)
    if r.returncode != 1 or "no filesystem with a GRUB configuration" not in r.stderr:
        fails.append(f"pygrub without grub.cfg: rc {r.returncode} {r.stderr!r}")


def case_cli(xenkvm, tmp, fails):
    rundir = os.environ["XENKVM_RUNTIME_DIR"]
    kernel = os.path.join(tmp, "vmlinuz")
    open(kernel, "wb").write(b"\0" * 4096)

    def bad(args, pattern, cfg_text=None):
        if cfg_text is not None:
            open(os.path.join(tmp, "x.cfg"), "w").write(cfg_text)
        r = xk(xenkvm, "create", *args, cwd=tmp)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 1 or not re.search(pattern, r.stderr):
            fails.append(f"create {args}: rc {r.returncode}, stderr {r.stderr!r}, want /{pattern}/")
        elif not all(l.startswith("xenkvm: ") for l in lines):
            fails.append(f"create {args}: not one-line messages: {lines}")

    good = f"name = 'x'\nkernel = '{kernel}'\nmemory = 256\n"
    bad(["x.cfg"], r"^xenkvm: x\.cfg:3: config parsing error near `MiB'",
        "name = 'x'\nkernel = 'k'\nmemory = 256 MiB\n")
    bad(["x.cfg"], r"^xenkvm: x\.cfg:2: memory = '-5' is not a size in MiB",
        "name = 'x'\nmemory = '-5'\nkernel = 'vmlinuz'\n")
    bad(["x.cfg"], r"^xenkvm: x\.cfg:2: kernel '/nonexistent/vmlinuz': No such file",
        "name = 'x'\nkernel = '/nonexistent/vmlinuz'\n")
    bad(["x.cfg"], r"x\.cfg:4: vcpus = 2: .*add vcpus=1", good + "vcpus = 2\n")
    bad(["x.cfg"], r"x\.cfg:4: an HVM guest", good + "type = 'hvm'\n")
    bad(["x.cfg"], r"x\.cfg:4: bootloader = 'pygrub' needs a disk",
        good + "bootloader = 'pygrub'\n")
    bad(["x.cfg"], r"x\.cfg:4: bootloader = 'grub' is not supported",
        good + "bootloader = 'grub'\n")
    bad(["x.cfg", "memory='lots'"], r"command line 'memory='lots'': memory = 'lots'", good)
    bad(["nonexistent.cfg"], r"cannot read nonexistent\.cfg: No such file")
    bad([], r"no configuration file")
    bad(["x.cfg", "y.cfg"], r"two configuration files")
    # a relative kernel path is the working directory's, as in xl
    bad(["x.cfg"], r"x\.cfg:2: kernel 'sub/vmlinuz': No such file",
        "name='x'\nkernel='sub/vmlinuz'\n")
    # past the file: the launcher's own error (no Xen notes, or no KVM here)
    # reaches create's stderr, and nothing is left running or written
    bad(["--platform", "pvm", "x.cfg"], r"^xenkvm: ", good)
    bad(["--kernel-ring", "2", "x.cfg"], r"^xenkvm: --kernel-ring: '2' is neither 1 nor 3", good)
    bad(["--platform", "pvm", "--kernel-ring", "3", "x.cfg"],
        r"^xenkvm: --kernel-ring: only the hw platform", good)
    r = xk(xenkvm, "create", "-n", "--kernel-ring", "3", "x.cfg", "vcpus=1", "memory=300",
           cwd=tmp)
    if (r.returncode != 0 or "memory = 300" not in r.stdout or "--memory 300" not in r.stdout
            or "--kernel-ring 3" not in r.stdout):
        fails.append(f"dry run: rc {r.returncode}, {r.stdout!r}")
    # the kernel resolved from the working directory (which holds vmlinuz)
    open(os.path.join(tmp, "x.cfg"), "w").write("name='x'\nkernel='vmlinuz'\nserial='pty'\n")
    r = xk(xenkvm, "create", "--dry-run", "x.cfg", cwd=tmp)
    if (r.returncode != 0 or "kernel = 'vmlinuz'" not in r.stdout
            or "x.cfg:3: warning: 'serial' is not supported" not in r.stderr):
        fails.append(f"dry run with a warning: rc {r.returncode}, {r.stdout!r} {r.stderr!r}")
    r = xk(xenkvm, "create", "--help")
    if r.returncode != 0 or "xl domain configuration" not in r.stdout or "--dry-run" not in r.stdout:
        fails.append("create --help does not help")
    for c in ("shutdown", "destroy", "reboot"):
        r = xk(xenkvm, c, "no-such-guest")
        if r.returncode != 1 or "no running guest named no-such-guest" not in r.stderr:
            fails.append(f"{c} of an unknown guest: {r.returncode} {r.stderr!r}")
    left = os.listdir(rundir) if os.path.isdir(rundir) else []
    if left:
        fails.append(f"left behind in the run directory: {left}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xenkvm", required=True)
    ap.add_argument("--case", required=True, choices=["console", "detached", "pygrub", "cli"])
    ap.add_argument("--kernel")
    a = ap.parse_args()
    xenkvm = os.path.abspath(a.xenkvm)
    tmp = tempfile.mkdtemp(prefix="xenkvm-create-", dir="/tmp")
    os.environ["XENKVM_RUNTIME_DIR"] = os.path.join(tmp, "run")
    fails = []
    try:
        if a.case == "cli":
            case_cli(xenkvm, tmp, fails)
        else:
            det = xktest.detect(xenkvm)
            if det != "pvm":
                print(f"SKIP: this host's KVM is '{det}', not pvm")
                return 77
            kernel = a.kernel or xktest.fetch_kernel()
            if not kernel:
                print("FAIL: cannot get Debian's kernel (tools/fetch-debian-kernel)")
                return 1
            xktest.make_initramfs(os.path.join(tmp, "initrd.cpio.gz"), modules="xen-blkfront",
                                  kernel=kernel)
            with open(os.path.join(tmp, "disk.img"), "wb") as f:
                f.write(MARKER)
                f.truncate(8 << 20)
            if a.case == "console":
                case_console(xenkvm, kernel, tmp, fails)
            elif a.case == "pygrub":
                if not shutil.which("mkfs.ext4"):
                    print("SKIP: no mkfs.ext4 (e2fsprogs) to make the boot disk")
                    return 77
                case_pygrub(xenkvm, kernel, tmp, fails)
            else:
                case_detached(xenkvm, kernel, tmp, fails)
    finally:
        # a guest a failed test left behind
        for p in glob.glob(os.path.join(tmp, "run", "*.json")):
            try:
                os.kill(int(os.path.basename(p).split(".")[0]), 15)
            except (OSError, ValueError):
                pass
        time.sleep(0.5)
        shutil.rmtree(tmp, ignore_errors=True)
    return xktest.report(fails)


if __name__ == "__main__":
    sys.exit(main())
