#!/usr/bin/env bash
# Builds the libFuzzer target over the inbound SMPP path (tests/fuzz/fuzz_pdu.c) and runs
# it for FUZZ_SECONDS (default 30) from the seed corpus. Prints "ok fuzz_pdu" or
# "not ok fuzz_pdu". libsmpp34 is the clang ASan build from Debian's source when it can
# be made (tests/libsmpp34-asan.sh), so an overflow in our encoder's use of it shows too;
# else the system library.
set -u
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-30}
B=build-fuzz
mkdir -p "$B/corpus-pdu" "$B/artifacts"

lib=$(CC=clang bash tests/libsmpp34-asan.sh "$B/smpp34" 2>"$B/smpp34.log") || lib=""
if [ -z "$lib" ]; then
	echo "# no ASan libsmpp34 (see $B/smpp34.log): linking the system one"
fi
if ! make -s fuzz FUZZ_B="$B" ${lib:+FUZZ_SMPP34=$lib} >"$B/build.log" 2>&1; then
	tail -20 "$B/build.log"
	echo "not ok fuzz_pdu (build)"
	exit 1
fi
"$B/fuzz_pdu" -max_total_time="$SECS" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$B/artifacts/" \
    "$B/corpus-pdu" tests/fuzz/corpus/pdu >"$B/fuzz_pdu.log" 2>&1
rc=$?
grep -E '^(stat::number_of_executed_units|Done )' "$B/fuzz_pdu.log" | sed 's/^/# /'
if [ "$rc" -eq 0 ]; then
	echo "ok fuzz_pdu"
else
	grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$B/fuzz_pdu.log" | head -10 | sed 's/^/# /'
	echo "not ok fuzz_pdu"
	exit 1
fi
