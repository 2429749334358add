#!/usr/bin/env bash
# The whole test run: unit tests (cmocka), integration tests (the real daemon on
# loopback against the SMSC simulator), interop tests (node-smpp SMSC), fuzz smoke runs.
# Each test script prints "ok NAME" or "not ok NAME" per check; this script counts them
# and ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
export B
OUT=${TEST_OUT:-tests/out}
rm -rf "$OUT"; mkdir -p "$OUT"
export TEST_OUT=$OUT
passed=0; failed=0

count() {   # count ok/not ok lines of a log
	local log=$1 p f
	p=$(grep -c '^ok ' "$log" || true)
	f=$(grep -c '^not ok ' "$log" || true)
	passed=$((passed + p)); failed=$((failed + f))
	grep '^not ok ' "$log" | sed 's/^/  /'
}

for t in "$B"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	log="$OUT/$name.log"
	CMOCKA_MESSAGE_OUTPUT=stdout "$t" >"$log" 2>&1
	rc=$?
	# cmocka prints "[       OK ] name" and "[  FAILED  ] name" per test
	p=$(grep -c '^\[       OK \]' "$log" || true)
	f=$(grep -c '^\[  FAILED  \] [a-z_]' "$log" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "  $name crashed (exit $rc)"; tail -5 "$log"; fi
	passed=$((passed + p)); failed=$((failed + f))
	echo "unit $name: $p passed, $f failed"
done

for dir in tests/integration tests/interop tests/fuzz; do
	for t in "$dir"/*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		log="$OUT/$(basename "$dir")-$name.log"
		timeout 600 bash "$t" >"$log" 2>&1
		rc=$?
		before=$((passed + failed)); bf=$failed
		count "$log"
		if [ "$rc" -ne 0 ] && [ "$failed" -eq "$bf" ]; then
			failed=$((failed + 1)); echo "  $dir/$name exited $rc without a failed check"; tail -5 "$log"
		fi
		echo "$(basename "$dir") $name: $((passed + failed - before)) checks"
	done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
