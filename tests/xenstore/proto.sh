#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Raw wire protocol over the socket: error strings, malformed and hostile
# input; the daemon must answer or drop that client, and keep serving others.
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
. "$(dirname "$0")/lib.sh"
start_daemon
python3 - <<'PYEOF'
import os, socket, struct, sys

path = os.environ["XENSTORED_PATH"]
passed = failed = 0
def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1; print("ok -", name)
    else:
        failed += 1; print("not ok -", name, detail)

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b

def call(s, typ, payload, req=1, tx=0):
    s.sendall(struct.pack("<IIII", typ, req, tx, len(payload)) + payload)
    while True:
        t, r, x, l = struct.unpack("<IIII", recv_exact(s, 16))
        body = recv_exact(s, l)
        if t != 15:  # skip watch events
            return t, r, x, body

READ, WRITE, ERROR, DIRECTORY, WATCH, TSTART, TEND = 2, 11, 16, 1, 4, 6, 7
s = conn()
check("read", call(s, READ, b"/local/domain/0/name\0") == (READ, 1, 0, b"Domain-0"))
check("req_id echoed", call(s, READ, b"/\0", req=77)[1] == 77)
check("ENOENT", call(s, READ, b"/nope\0") == (ERROR, 1, 0, b"ENOENT\0"))
check("EINVAL path", call(s, READ, b"/a//b\0")[3] == b"EINVAL\0")
check("EINVAL no NUL", call(s, READ, b"/local")[3] == b"EINVAL\0")
check("ENOSYS unknown", call(s, 12345, b"")[3] == b"ENOSYS\0")
check("ENOSYS reply type", call(s, ERROR, b"x\0")[3] == b"ENOSYS\0")
check("ENOENT bad tx", call(s, READ, b"/\0", tx=999)[3] == b"ENOENT\0")
t, r, x, tid = call(s, TSTART, b"\0")
tid = int(tid.rstrip(b"\0"))
check("tx in header echoed", call(s, WRITE, b"/p/x\0v", tx=tid)[2] == tid)
check("EINVAL end arg", call(s, TEND, b"Q\0", tx=tid)[3] == b"EINVAL\0")
check("commit", call(s, TEND, b"T\0", tx=tid)[3] == b"OK\0")
check("watch", call(s, WATCH, b"/p\0tok\0")[3] == b"OK\0")

# Pipelined requests: all answered, in order.
msgs = b"".join(struct.pack("<IIII", READ, i, 0, 3) + b"/p\0" for i in range(500))
s.sendall(msgs)
ids = []
while len(ids) < 500:
    t, r, x, l = struct.unpack("<IIII", recv_exact(s, 16))
    recv_exact(s, l)
    if t == READ:
        ids.append(r)
check("500 pipelined in order", ids == list(range(500)))

# Hostile clients: oversized length, truncated header, random bytes.
h = conn()
h.sendall(struct.pack("<IIII", READ, 1, 0, 100000))
try:
    got = h.recv(16)
except OSError:
    got = b""
check("oversized payload drops client", got == b"")
t = conn()
t.sendall(b"\x02\x00\x00")
t.close()
g = conn()
g.sendall(os.urandom(4096))
g.close()
check("others unaffected", call(s, READ, b"/local/domain/0/name\0")[3] == b"Domain-0")
s2 = conn()
check("new clients accepted", call(s2, READ, b"/local/domain/0/domid\0")[3] == b"0")
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PYEOF
[ $? -eq 0 ] && ok "protocol suite" || bad "protocol suite"
finish
