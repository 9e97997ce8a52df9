# SPDX-License-Identifier: GPL-2.0-only
# Shared by the xenstore integration tests: start a private daemon on a
# temporary socket, point libxenstore/pyxs at it, count checks.

: "${XENSTORED_BIN:?set XENSTORED_BIN to the daemon command (xenkvm-xenstored, or 'xenkvm xenstored')}"
PASS=0
FAIL=0
TMP=$(mktemp -d /tmp/xs-it.XXXXXX)
export XENSTORED_PATH="$TMP/xenstored.sock"
DAEMON_PID=

start_daemon() {
	# Unquoted on purpose: may be "path/to/xenkvm xenstored".
	$XENSTORED_BIN --socket "$XENSTORED_PATH" "$@" 2>"$TMP/daemon.log" &
	DAEMON_PID=$!
	i=0
	while [ ! -S "$XENSTORED_PATH" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "daemon did not start:"; cat "$TMP/daemon.log"
			exit 1
		fi
		sleep 0.05
	done
}

cleanup() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "not ok - $1"; [ -n "$2" ] && printf '%s\n' "$2" | sed 's/^/#   /'; }

# check NAME EXPECTED COMMAND...: stdout (trailing newline stripped) must match
check() {
	name=$1 want=$2
	shift 2
	got=$("$@" 2>&1)
	if [ "$got" = "$want" ]; then ok "$name"; else bad "$name" "want: $want
got:  $got"; fi
}

# check_fails NAME COMMAND...: must exit non-zero
check_fails() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then bad "$name"; else ok "$name"; fi
}

finish() {
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		bad "daemon still running at the end" "$(cat "$TMP/daemon.log")"
	else
		# A clean stop on SIGTERM, with nothing from the sanitizers.
		kill "$DAEMON_PID"
		wait "$DAEMON_PID"
		rc=$?
		DAEMON_PID=
		if [ $rc -eq 0 ] && ! grep -qE "Sanitizer|runtime error" "$TMP/daemon.log"; then
			ok "daemon exits cleanly"
		else
			bad "daemon exits cleanly (rc $rc)" "$(cat "$TMP/daemon.log")"
		fi
		[ -S "$XENSTORED_PATH" ] && bad "socket removed at exit" || ok "socket removed at exit"
	fi
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
