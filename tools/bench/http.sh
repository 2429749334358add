#!/usr/bin/env bash
# tools/bench/http.sh: the HTTP part of `make bench` (issue 7). wrk (Debian's `wrk`)
# against the real rechargd with the sim provider at 0 ms, HTTP_CONNS (64) keep-alive
# connections on HTTP_THREADS (2) threads; Lua scripts beside this file build the
# requests and count answers (tools/bench/common.lua prints one WRK line per run).
# Prints ROW lines (tab-separated: ROW, section, figure, value, target or baseline,
# verdict) on stdout; all else goes to stderr and to files under ${BENCH_OUT:-build/bench}/http.
#
#  1. recharge: max rate for HTTP_DURATION (10) s; JSON body, key in X-API-Key, a new
#     mobile number and request_id per request, HTTP_RETAILERS (64) retailers with one key
#     each taken in turn ([http] rate limit set far above the load). The figure is the
#     rate of answers with "status":"success" (an error answered fast is not a recharge).
#  2. balance: max rate (GET, header key).
# 1 and 2 also print rechargd's CPU per answer (utime+stime), steadier than rates under load.
#  3. status: max rate (GET by request_id of recharges made in 1).
#  4. recharge p99 at half the rate measured in 1, paced with wrk's delay(): wrk waits
#     that long after an answer, so a short calibration run first finds how much the
#     answer time lowers the rate and the measured run asks for correspondingly more; the
#     figure names the rate achieved.
# then rechargectl check (daemon stopped; bounded by HTTP_CHECK_TIMEOUT, 300 s).
# Quick run: HTTP_DURATION=3.
set -u
cd "$(dirname "$0")/../.."
PART=http SECTION=HTTP
. tools/bench/part.bash
DURATION=${HTTP_DURATION:-10}
CONNS=${HTTP_CONNS:-64}
THREADS=${HTTP_THREADS:-2}
RETAILERS=${HTTP_RETAILERS:-64}
CHECK_TIMEOUT=${HTTP_CHECK_TIMEOUT:-300}
RECHARGD=$ROOT/$B/rechargd
RECHARGECTL=$ROOT/$B/rechargectl
export BENCH_DIR=$ROOT/tools/bench
FIRST=919820000000              # retailer i is FIRST + i
RD_PID=""

command -v wrk >/dev/null || { log "wrk missing: apt-get install wrk (./make.sh bench does)"; exit 2; }
for f in "$RECHARGD" "$RECHARGECTL"; do
	[ -x "$f" ] || { log "$f missing: run make first"; exit 2; }
done
rm -rf "$OUT"; mkdir -p "$OUT"
HTTP_PORT=$(free_port)
SMPP_PORT=$(free_port)          # nothing listens: the SMS side stays down, as it may
URL=http://127.0.0.1:$HTTP_PORT

# field NAME KEY: a key=value of run NAME's WRK line
field() { sed -n 's/^WRK .*\b'"$2"'=\([0-9.]*\).*/\1/p' "$OUT/$1.out" | tail -1; }

bench_conf "$SMPP_PORT" "$HTTP_PORT" "reconnect_max_s = 30" "max_connections = 1024
rate_limit_per_key = 1000000
rate_burst = 1000000"
ctl() { "$RECHARGECTL" -c "$CONF" "$@"; }
ctl init >/dev/null 2>>"$OUT/setup.log" || { log "rechargectl init failed"; exit 1; }
log "$RETAILERS retailers with a key each"
: >"$OUT/keys"
for i in $(seq 0 $((RETAILERS - 1))); do
	m=$((FIRST + i))
	ctl retailer add "$m" --name "HTTP bench $i" >/dev/null 2>>"$OUT/setup.log" &&
	ctl wallet credit "$m" 100000000 >/dev/null 2>>"$OUT/setup.log" &&
	ctl apikey create "$m" 2>>"$OUT/setup.log" | tail -1 >>"$OUT/keys" ||
		{ log "setting up retailer $m failed (see $OUT/setup.log)"; exit 1; }
done
export BENCH_KEYS=$OUT/keys BENCH_CONNS=$CONNS

"$RECHARGD" -c "$CONF" >>"$OUT/rechargd.log" 2>&1 &
RD_PID=$!
PIDS="$PIDS $RD_PID"
for _ in $(seq 1 100); do
	curl -s -o /dev/null "$URL/healthz" && break
	kill -0 "$RD_PID" 2>/dev/null || { log "rechargd exited (see $OUT/rechargd.log)"; exit 1; }
	sleep 0.1
done

# bench NAME SCRIPT SECONDS [ENV=VALUE...]: one wrk run, its output in $OUT/NAME.out
bench() {
	local name=$1 script=$2 secs=$3; shift 3
	env "$@" wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --timeout 10s \
		-s "$BENCH_DIR/$script" "$URL/" >"$OUT/$name.out" 2>"$OUT/$name.err"
	log "$name: $(grep '^WRK ' "$OUT/$name.out" || echo "no result (see $OUT/$name.err)")"
	grep -q '^WRK ' "$OUT/$name.out"
}
failed=0
# rechargd's CPU (utime+stime) in ms: a run's CPU per answer compares builds on a busy
# machine, where the rates move with the load
HZ=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$HZ" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$RD_PID/stat"; }
# cpu_row WHAT C0 C1 N: the CPU per answer in microseconds
cpu_row() { row "rechargd CPU per $1 answered (us)" "$(( ($3 - $2) * 1000 / ($4 > 0 ? $4 : 1) ))" "-" info; }

# warm-up (page cache, SQLite's caches, the first connections)
bench warmup recharge.lua 2 BENCH_RUN=0 || failed=1

# 1. recharge max (PERF=FILE: perf record of the daemon meanwhile, PERF_OPTS its options)
c0=$(cpu_ms)
[ -n "${PERF:-}" ] && { perf record -q ${PERF_OPTS:--g} -o "$PERF" -p "$RD_PID" 2>/dev/null & perf_pid=$!; }
if bench recharge recharge.lua "$DURATION" BENCH_RUN=1; then
	c1=$(cpu_ms)
	[ -n "${PERF:-}" ] && { kill -INT "$perf_pid"; wait "$perf_pid"; }
	ok=$(field recharge ok_rps); all=$(field recharge rps)
	row "recharge max rate, $CONNS keep-alive conns (successes/s)" "$ok" ">= 10000" "$(verdict "$ok" ">=" 10000)"
	n=$(field recharge requests); bad=$(field recharge notsuccess); non2xx=$(field recharge non2xx)
	row "recharge answers not success / non-2xx (of $n; answers/s $all)" "$bad / $non2xx" "0" \
		"$([ "$bad" = 0 ] && echo met || echo missed)"
	row "recharge p99 at max rate (ms)" "$(field recharge p99_ms)" "-" info
	cpu_row recharge "$c0" "$c1" "$n"
	# status asks about run 1's request numbers 11 .. a quarter of the answers (each of
	# the two threads made about half of them)
	STATUS_N=$(( n / (THREADS * 2) ))
	[ "$STATUS_N" -gt 20 ] || STATUS_N=20
else
	ok=0; STATUS_N=20; failed=1
	row "recharge max rate, $CONNS keep-alive conns (successes/s)" failed ">= 10000" missed
fi

# 2. balance max
c0=$(cpu_ms)
if bench balance balance.lua "$DURATION" BENCH_RUN=1; then
	c1=$(cpu_ms)
	b=$(field balance ok_rps)
	row "balance max rate, $CONNS keep-alive conns (successes/s)" "$b" ">= 30000" "$(verdict "$b" ">=" 30000)"
	row "balance p99 at max rate (ms)" "$(field balance p99_ms)" "-" info
	cpu_row balance "$c0" "$c1" "$(field balance requests)"
else
	failed=1; row "balance max rate, $CONNS keep-alive conns (successes/s)" failed ">= 30000" missed
fi

# 3. status max
if bench status status.lua "$DURATION" BENCH_RUN=1 BENCH_STATUS_RUN=1 BENCH_STATUS_N="$STATUS_N" \
	BENCH_STATUS_THREADS="$THREADS"; then
	s=$(field status ok_rps)
	row "status (by request_id) max rate (successes/s)" "$s" "-" info
	row "status answers not success (of $(field status requests))" "$(field status notsuccess)" "0" \
		"$([ "$(field status notsuccess)" = 0 ] && echo met || echo missed)"
else
	failed=1; row "status (by request_id) max rate (successes/s)" failed "-" missed
fi

# 4. recharge p99 at half the max
half=$(awk -v a="$ok" 'BEGIN { printf "%d", a / 2 }')
if [ "$half" -gt 0 ]; then
	calib=$(( DURATION < 5 ? DURATION : 5 ))
	bench calib recharge.lua "$calib" BENCH_RUN=2 BENCH_RATE="$half" || failed=1
	got=$(field calib rps)
	# ask for more by the ratio lost to the answer time (at most twice the target)
	ask=$(awk -v h="$half" -v g="${got:-0}" 'BEGIN { r = (g > 0) ? h * h / g : h; if (r > 2 * h) r = 2 * h; printf "%d", r }')
	if bench half recharge.lua "$DURATION" BENCH_RUN=3 BENCH_RATE="$ask"; then
		p99=$(field half p99_ms); got=$(field half ok_rps)
		row "recharge p99 at half load ($got/s achieved of $half/s) (ms)" "$p99" "< 20 ms" \
			"$(verdict "$p99" "<" 20)"
		row "recharge p50 / p99.9 at half load (ms)" "$(field half p50_ms) / $(field half p999_ms)" "-" info
	else
		failed=1; row "recharge p99 at half load (ms)" failed "< 20 ms" missed
	fi
else
	row "recharge p99 at half load (ms)" "not run (no max rate)" "< 20 ms" missed
fi

# the books, with the daemon stopped
kill -TERM "$RD_PID" 2>/dev/null
for _ in $(seq 1 300); do kill -0 "$RD_PID" 2>/dev/null || break; sleep 0.1; done
if timeout "$CHECK_TIMEOUT" "$RECHARGECTL" -c "$CONF" check >"$OUT/check.log" 2>&1; then
	row "rechargectl check" pass pass met
elif [ $? = 124 ]; then
	row "rechargectl check" "not done in ${CHECK_TIMEOUT} s" pass missed
else
	row "rechargectl check" fail pass missed
fi
exit $failed
