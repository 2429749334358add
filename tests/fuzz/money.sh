#!/usr/bin/env bash
# Builds the libFuzzer target over money and MSISDN text (tests/fuzz/fuzz_money.c:
# common/money.c, common/msisdn.c) and runs it for FUZZ_SECONDS (default 20) from the
# seed corpus. Prints "ok fuzz_money" or "not ok fuzz_money".
set -u
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-20}
B=build-fuzz
T=fuzz_money
mkdir -p "$B/corpus-money" "$B/artifacts"

if ! make -s "$B/$T" FUZZ_B="$B" >"$B/build-money.log" 2>&1; then
	tail -20 "$B/build-money.log"
	echo "not ok $T (build)"
	exit 1
fi
"$B/$T" -max_total_time="$SECS" -max_len=256 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$B/artifacts/" \
    "$B/corpus-money" tests/fuzz/corpus/money >"$B/$T.log" 2>&1
rc=$?
grep -E '^(stat::number_of_executed_units|Done )' "$B/$T.log" | sed 's/^/# /'
if [ "$rc" -eq 0 ]; then
	echo "ok $T"
else
	grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$B/$T.log" | head -10 | sed 's/^/# /'
	echo "not ok $T"
	exit 1
fi
