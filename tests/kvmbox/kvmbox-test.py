#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Meson test driver for tools/kvmbox.

usage: kvmbox-test.py KVMBOX CASE [ARGS...]
  exit-status          the box returns the command's exit status (7) and
                       passes its stdout and stderr through unchanged
  create-vm SMOKE.PY   inside the box /dev/kvm is kvm_amd and runs a guest
  box-error            a box failure (bad option) gives 125, not the command's

Exits 77 (skip) only when `kvmbox --check` says the box cannot run here.
"""
import subprocess
import sys

BOX_FAIL = 125


def run(cmd, timeout=900):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    print(f"exit {p.returncode}\n--- stdout ---\n{p.stdout.decode(errors='replace')}"
          f"--- stderr ---\n{p.stderr.decode(errors='replace')}", flush=True)
    return p


def expect(cond, what):
    if not cond:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    kvmbox, case = sys.argv[1], sys.argv[2]

    check = run([kvmbox, "--check"])
    if check.returncode != 0:
        print("SKIP: kvmbox cannot run here (see --check output above)")
        return 77

    if case == "exit-status":
        p = run([kvmbox, "sh", "-c",
                 "echo 'out: line 1'; echo 'err: line 1' >&2; printf 'no newline';"
                 "test -c /dev/kvm && grep -q svm /proc/cpuinfo && exit 7"])
        expect(p.returncode == 7, "exit status 7 passes through")
        expect(p.stdout == b"out: line 1\nno newline", "stdout is exactly the command's")
        expect(p.stderr == b"err: line 1\n", "stderr is exactly the command's")
    elif case == "create-vm":
        smoke = sys.argv[3]
        cmd = [kvmbox, "--timeout", "240", sys.executable, smoke, "--require-module", "kvm_amd"]
        p = run(cmd)
        if p.returncode == 124:
            # Seen once in CI: the L1 soft-locked in the smoke process after
            # its guest's HLT (QEMU TCG's nested SVM; the smoke test is plain
            # KVM, no xenkvm code): one more box, and say so.
            print("kvmbox timed out: the L1 hung; retrying once", flush=True)
            p = run(cmd)
        expect(p.returncode == 0, "KVM smoke guest ran inside the box")
        expect(b"KVM_CREATE_VM ok" in p.stdout, "KVM_CREATE_VM returned a VM fd")
        expect(b"KVM_EXIT_HLT ok" in p.stdout, "guest reached hlt")
    elif case == "box-error":
        p = run([kvmbox, "-m", "1", "true"])
        expect(p.returncode == BOX_FAIL, "invalid -m is a box failure (125)")
        p = run([kvmbox, "sh", "-c", "exit 0"])
        expect(p.returncode == 0, "exit status 0 passes through")
    else:
        print(f"unknown case {case}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
