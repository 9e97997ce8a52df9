#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Debian's python3-pyxs, unchanged, against xenkvm's daemon via XENSTORED_PATH.
# Debian's own interpreter: pyxs is a Debian package, not on other pythons.
PY=/usr/bin/python3
[ -x $PY ] && $PY -c 'import pyxs' 2>/dev/null || { echo "SKIP: python3-pyxs not installed"; exit 77; }
. "$(dirname "$0")/lib.sh"
start_daemon
$PY - <<'PYEOF'
import errno, sys, threading
import pyxs
from pyxs import Client, PyXSError
from pyxs._internal import Op

passed = failed = 0
def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1; print("ok -", name)
    else:
        failed += 1; print("not ok -", name, detail)

def err_of(fn):
    try:
        fn()
    except PyXSError as e:
        return e.args[0]
    return None

# No path given: pyxs finds the socket through XENSTORED_PATH, like libxenstore.
with Client() as c:
    check("dom0 name", c.read(b"/local/domain/0/name") == b"Domain-0")
    c.write(b"/py/a", b"1")
    c.mkdir(b"/py/dir")
    check("read", c.read(b"/py/a") == b"1")
    check("list", sorted(c.list(b"/py")) == [b"a", b"dir"])
    check("exists", c.exists(b"/py/dir") and not c.exists(b"/py/nope"))
    check("ENOENT", err_of(lambda: c.read(b"/py/nope")) == errno.ENOENT)
    c.set_perms(b"/py/a", [b"n0", b"r5"])
    check("perms", c.get_perms(b"/py/a") == [b"n0", b"r5"])
    # pyxs validates permissions itself; send a bad one raw.
    check("EINVAL perms", err_of(lambda: c.execute_command(
        Op.SET_PERMS, b"/py/a\0", b"q5\0")) == errno.EINVAL)
    c.delete(b"/py/dir")
    check("delete", not c.exists(b"/py/dir"))
    walk = [p for p, v, ch in c.walk(b"/py")]
    check("walk", walk == [b"/py", b"/py/a"], walk)
    check("domain path", c.get_domain_path(7) == b"/local/domain/7")
    check("not introduced", c.is_domain_introduced(7) is False)

    # Transaction: commit, then a conflicting one gets EAGAIN (commit False).
    c.transaction()
    c.write(b"/py/t", b"x")
    check("commit", c.commit() is True)
    with Client() as other:
        c.transaction()
        v = c.read(b"/py/t")
        other.write(b"/py/t", b"changed")
        c.write(b"/py/t", v + b"y")
        check("conflict -> EAGAIN", c.commit() is False)
    check("conflicting write lost", c.read(b"/py/t") == b"changed")
    c.transaction()
    c.write(b"/py/r", b"x")
    c.rollback()
    check("rollback", not c.exists(b"/py/r"))

    # Watches via a monitor, including the special domain events.
    Client.SU = True  # pyxs' own guard for RELEASE (we are dom0)
    with c.monitor() as mon:
        events = mon.wait()
        class M:
            watch = mon.watch
            wait = staticmethod(lambda: tuple(next(events)))
        m = M()
        m.watch(b"/py", b"tok")
        check("initial event", m.wait() == (b"/py", b"tok"))
        c.write(b"/py/w", b"1")
        check("change event", m.wait() == (b"/py/w", b"tok"))
        m.watch(b"@introduceDomain", b"in")
        m.watch(b"@releaseDomain", b"out")
        check("initial special 1", m.wait() == (b"@introduceDomain", b"in"))
        check("initial special 2", m.wait() == (b"@releaseDomain", b"out"))
        c.introduce_domain(9, 1234, 3)
        check("@introduceDomain", m.wait() == (b"@introduceDomain", b"in"))
        check("introduced", c.is_domain_introduced(9) is True)
        c.release_domain(9)
        check("@releaseDomain", m.wait() == (b"@releaseDomain", b"out"))
        check("released", c.is_domain_introduced(9) is False)
        check("release again ENOENT", err_of(lambda: c.release_domain(9)) == errno.ENOENT)
        check("resume unknown ENOENT", err_of(lambda: c.resume_domain(9)) == errno.ENOENT)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PYEOF
rc=$?
[ $rc -eq 0 ] && ok "pyxs suite" || bad "pyxs suite"
finish
