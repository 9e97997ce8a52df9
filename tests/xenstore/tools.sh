#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Debian's xenstore-utils, unchanged, against xenkvm's daemon via XENSTORED_PATH.
for t in xenstore-ls xenstore-read xenstore-write xenstore-rm xenstore-chmod xenstore-watch \
	xenstore-list xenstore-exists; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed (xenstore-utils)"; exit 77; }
done
. "$(dirname "$0")/lib.sh"
start_daemon

check "initial dom0 name" "Domain-0" xenstore-read /local/domain/0/name
check "write several keys" "" xenstore-write /t/a 1 /t/b two /t/c/d deep
check "read back" "1
two" xenstore-read /t/a /t/b
check "list" "a
b
c" xenstore-list /t
check "ls" 'a = "1"
b = "two"
c = ""
 d = "deep"' xenstore-ls /t
check "ls -f" '/t/a = "1"
/t/b = "two"
/t/c = ""
/t/c/d = "deep"' xenstore-ls -f /t
check "exists" "" xenstore-exists /t/c/d
check_fails "exists missing" xenstore-exists /t/zzz
check_fails "read missing" xenstore-read /t/zzz
check_fails "invalid path" xenstore-write "/t/bad path" x
check "relative path is dom0's home" "" xenstore-write relkey rel
check "relative read" "rel" xenstore-read /local/domain/0/relkey

check "chmod" "" xenstore-chmod /t/a n0 r5 b7
check "perms" 'a = "1"  . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0,r5,b7)' \
	sh -c 'xenstore-ls -p /t | head -1'
check "chmod -r" "" xenstore-chmod -r /t/c r3
check "recursive perms" "2" sh -c 'xenstore-ls -fp /t | grep -c "^/t/c.*(r3)\$"'
check_fails "chmod bad perm" xenstore-chmod /t/a x5

# xenstore-watch: the registration event, then one per change.
timeout 10 xenstore-watch -n 4 /t >"$TMP/watch.out" 2>&1 &
WPID=$!
sleep 0.3
xenstore-write /t/a changed
xenstore-rm /t/b
xenstore-write /unrelated x
xenstore-write /t/c/new 1
wait $WPID
check "watch events" "/t
/t/a
/t/b
/t/c/new" cat "$TMP/watch.out"

check "rm subtree" "" xenstore-rm /t/c
check_fails "rm'd child gone" xenstore-read /t/c/d
check "rm of missing key with parent" "" xenstore-rm /t/nothing
check "deep write" "" xenstore-write /deep/er/est 1
check "rm -t" "" xenstore-rm -t /deep/er/est
check_fails "rm -t took the parents" xenstore-exists /deep

# Transactions: xenstore-write with several keys commits them together; a
# big batch still lands whole.
args=""
for i in $(seq 1 200); do args="$args /batch/k$i v$i"; done
check "batch write" "" xenstore-write $args
check "batch count" "200" sh -c 'xenstore-list /batch | wc -l'
check "batch last" "v200" xenstore-read /batch/k200

finish
