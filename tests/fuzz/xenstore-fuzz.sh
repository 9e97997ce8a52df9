#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Runs the xenstore fuzz target for a bounded time on a scratch corpus seeded
# from tests/fuzz/xenstore-seeds.  Usage: xenstore-fuzz.sh FUZZER SEEDS [SECONDS]
set -e
fuzzer=$1 seeds=$2 secs=${3:-30}
corpus=$(mktemp -d /tmp/xs-fuzz.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
# Crash reproducers land in the current directory (the build dir under meson).
# -error_exitcode=1: libFuzzer's default, 77, is a skip for meson.
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	-error_exitcode=1 \
	-artifact_prefix="$PWD/xenstore-fuzz-" "$corpus" "$seeds"
