# tests/fuzz/fuzz.bash: shared by the fuzz scripts (not a test itself: run.sh runs *.sh).
# fuzz_run NAME MAX_LEN [MAKE ARGS...]: builds $FUZZ_BUILD/fuzz_NAME (default
# build-fuzz) and runs it for FUZZ_SECONDS (each script sets its default; together they
# keep CI's fuzz stage near 150 s, builds included: docs/fuzzing.md) from
# tests/fuzz/corpus/NAME; prints "ok fuzz_NAME" or "not ok fuzz_NAME" with the
# sanitizer's summary.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
B=${FUZZ_BUILD:-build-fuzz}
fuzz_run() {
	local name=$1 maxlen=$2 t=fuzz_$1 secs=${FUZZ_SECONDS:-10} rc
	shift 2
	mkdir -p "$B/corpus-$name" "$B/artifacts"
	if ! make -s "$B/$t" FUZZ_B="$B" "$@" >"$B/build-$name.log" 2>&1; then
		tail -20 "$B/build-$name.log"
		echo "not ok $t (build)"
		return 1
	fi
	"$B/$t" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$B/artifacts/" \
	    "$B/corpus-$name" "tests/fuzz/corpus/$name" >"$B/$t.log" 2>&1
	rc=$?
	grep -E '^(stat::number_of_executed_units|Done )' "$B/$t.log" | sed 's/^/# /'
	if [ "$rc" -eq 0 ]; then
		echo "ok $t"
		return 0
	fi
	grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$B/$t.log" | head -10 | sed 's/^/# /'
	echo "not ok $t"
	return 1
}
