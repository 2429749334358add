#!/usr/bin/env bash
# Builds the libFuzzer target over the http-json provider's answer mapping and templates
# (tests/fuzz/fuzz_provider.c: provider_http_fuzz_one in engine/provider_http.c) and
# runs it for FUZZ_SECONDS (default 20) from the seed corpus. Prints "ok fuzz_provider"
# or "not ok fuzz_provider".
set -u
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-20}
B=build-fuzz
T=fuzz_provider
mkdir -p "$B/corpus-provider" "$B/artifacts"

if ! make -s "$B/$T" FUZZ_B="$B" >"$B/build-provider.log" 2>&1; then
	tail -20 "$B/build-provider.log"
	echo "not ok $T (build)"
	exit 1
fi
"$B/$T" -max_total_time="$SECS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$B/artifacts/" \
    "$B/corpus-provider" tests/fuzz/corpus/provider >"$B/$T.log" 2>&1
rc=$?
grep -E '^(stat::number_of_executed_units|Done )' "$B/$T.log" | sed 's/^/# /'
if [ "$rc" -eq 0 ]; then
	echo "ok $T"
else
	grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$B/$T.log" | head -10 | sed 's/^/# /'
	echo "not ok $T"
	exit 1
fi
