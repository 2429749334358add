#!/usr/bin/env bash
# The whole test run, in three stages:
#   1. the plain build: unit tests (cmocka), integration tests (the real daemon on
#      loopback against the SMSC simulator), interop (node-smpp SMSC), fuzz smoke runs;
#   2. ASan + UBSan, linked with an ASan build of libsmpp34 from Debian's source: unit
#      tests and the integration tests again;
#   3. valgrind (leaks are errors) on the daemon in the SMS, hostile-PDU, API and crash tests.
# Each script prints "ok NAME" or "not ok NAME" per check; this counts them and ends with
# "N passed, N failed". TEST_STAGES=1 (or "1 2") runs fewer stages.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
OUT=${TEST_OUT:-tests/out}
STAGES=${TEST_STAGES:-1 2 3}
rm -rf "$OUT"; mkdir -p "$OUT"
export TEST_OUT=$OUT
passed=0; failed=0

# run_unit BUILD LABEL: every cmocka binary of a build
run_unit() {
	local b=$1 label=$2 t name log rc p f
	for t in "$b"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		log="$OUT/$label-$name.log"
		CMOCKA_MESSAGE_OUTPUT=stdout timeout 300 "$t" >"$log" 2>&1
		rc=$?
		p=$(grep -c '^\[       OK \]' "$log")
		f=$(grep -c '^\[  FAILED  \] [a-z_]' "$log")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "  $label $name exited $rc"; tail -5 "$log"; fi
		if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$log"; then
			f=$((f + 1)); echo "  $label $name: sanitizer report"; grep -E -m3 'Sanitizer|runtime error' "$log"
		fi
		grep '^\[  FAILED  \] [a-z_]' "$log" | sed "s/^/  $label /"
		passed=$((passed + p)); failed=$((failed + f))
		echo "$label $name: $p passed, $f failed"
	done
}

# run_scripts LABEL SCRIPT...: test scripts, each counted by its ok / not ok lines
run_scripts() {
	local label=$1 t name log rc p f; shift
	for t in "$@"; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		log="$OUT/$label-$(basename "$(dirname "$t")")-$name.log"
		t0=$SECONDS
		TEST_OUT="$OUT/$label" timeout 900 bash "$t" >"$log" 2>&1
		rc=$?
		p=$(grep -c '^ok ' "$log")
		f=$(grep -c '^not ok ' "$log")
		grep '^not ok ' "$log" | sed "s/^/  $label $name: /"
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1; echo "  $label $name exited $rc without a failed check"; tail -5 "$log"
		fi
		passed=$((passed + p)); failed=$((failed + f))
		echo "$label $name: $p passed, $f failed ($((SECONDS - t0)) s)"
	done
}

for stage in $STAGES; do
	case $stage in
	1)
		B=$B run_unit "$B" plain
		B=$B run_scripts plain tests/integration/*.sh tests/interop/*.sh tests/fuzz/*.sh
		;;
	2)
		# ASan + UBSan; libsmpp34 itself instrumented when its source can be fetched
		smpp34=$(bash tests/libsmpp34-asan.sh 2>"$OUT/libsmpp34-asan.log")
		if [ -n "$smpp34" ] && [ -f "$smpp34/libsmpp34.a" ]; then
			echo "ok libsmpp34 ASan build from Debian's source"; passed=$((passed + 1))
		else
			echo "not ok libsmpp34 ASan build from Debian's source (see $OUT/libsmpp34-asan.log)"
			failed=$((failed + 1)); smpp34=""
		fi
		if make -s -j"$(nproc)" SANITIZER=address ${smpp34:+SMPP34_ASAN=$smpp34} all unit \
		    >"$OUT/asan-build.log" 2>&1; then
			export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
			export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
			run_unit build-address asan
			B=build-address run_scripts asan tests/integration/sms.sh tests/integration/hostile.sh \
			    tests/integration/crash.sh tests/integration/daemon.sh tests/integration/smpp-faults.sh \
			    tests/integration/txrx.sh tests/integration/backpressure.sh tests/integration/longmo.sh \
			    tests/integration/ctl-txn.sh tests/integration/providers.sh tests/integration/apikey.sh \
			    tests/integration/admin-sms.sh tests/integration/ctl-ops.sh tests/integration/settle.sh \
			    tests/integration/api.sh tests/integration/https.sh tests/integration/metrics.sh tests/integration/storage.sh tests/integration/checkpoint.sh \
			    tests/integration/security.sh tests/integration/providers-load.sh tests/integration/smscsim-load.sh \
			    tests/integration/ctl.sh tests/integration/check-scale.sh tests/integration/openapi.sh \
			    tests/integration/smscsim.sh tests/integration/lanes.sh tests/integration/chaos.sh \
			    tests/interop/node-smpp.sh \
			    tests/interop/net-smpp.sh
			unset ASAN_OPTIONS UBSAN_OPTIONS
		else
			echo "not ok ASan build"; tail -20 "$OUT/asan-build.log"; failed=$((failed + 1))
		fi
		;;
	3)
		if command -v valgrind >/dev/null; then
			B=$B RECHARGD_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite" \
			    run_scripts valgrind tests/integration/sms.sh tests/integration/hostile.sh \
			    tests/integration/api.sh tests/integration/crash.sh
		else
			echo "not ok valgrind is not installed"; failed=$((failed + 1))
		fi
		;;
	esac
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
