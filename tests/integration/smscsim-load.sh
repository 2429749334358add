#!/usr/bin/env bash
# The simulator's load mode (docs/smscsim.md), the benchmarks' SMSC: against the echo
# ESME every MO gets its reply, closed loop and open loop, and the LOAD line counts them;
# against rechargd every RC from 5 retailers is answered and the books still balance; an
# ESME killed mid-run makes it give up after its reply timeout with exit 1 and the
# missing replies counted. Prints "ok NAME" / "not ok NAME" per check.
. "$(dirname "$0")/../lib.sh"
ECHOESME="$ROOT/$B/echoesme"

t_setup smscsim-load

# load_run NAME ARGS...: the load tool in the background, its stdout in $T_DIR/NAME.out
load_run() {
	local name=$1; shift
	"$SMSCSIM" --listen "127.0.0.1:$T_SMPP_PORT" --system-id rechargd --password secret --load \
		"$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	L_PID=$!
	T_PIDS="$T_PIDS $L_PID"
	for _ in $(seq 1 50); do
		grep -q "listening" "$T_DIR/$name.err" 2>/dev/null && return 0
		sleep 0.1
	done
}
# load_wait SECONDS: the load tool's exit status (124 when it did not end in time)
load_wait() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		kill -0 "$L_PID" 2>/dev/null || { wait "$L_PID"; return $?; }
		sleep 0.1
	done
	return 124
}
# field NAME KEY: a key=value of NAME's LOAD line
field() { sed -n 's/^LOAD .*\b'"$2"'=\([0-9.]*\).*/\1/p' "$T_DIR/$1.out"; }
echo_start() {
	"$ECHOESME" --connect "127.0.0.1:$T_SMPP_PORT" --system-id rechargd --password secret \
		2>>"$T_DIR/echoesme.log" &
	E_PID=$!
	T_PIDS="$T_PIDS $E_PID"
}

# closed loop against the echo ESME
load_run closed --count 500 --senders 919800000000:7 --window 50 --reply-timeout 5
echo_start
load_wait 10; rc=$?
check "closed loop: exit 0 ($rc)" test "$rc" -eq 0
check "closed loop: one LOAD line after LOAD_BOUND" test "$(grep -c '^LOAD ' "$T_DIR/closed.out")" -eq 1 -a \
	"$(head -1 "$T_DIR/closed.out")" = LOAD_BOUND
check "closed loop: sent = replies = mo_ok = 500, missing 0 ($(grep '^LOAD ' "$T_DIR/closed.out"))" \
	test "$(field closed sent)" = 500 -a "$(field closed replies)" = 500 -a \
	"$(field closed mo_ok)" = 500 -a "$(field closed missing)" = 0
check "closed loop: percentiles in order" awk -v a="$(field closed p50_ms)" -v b="$(field closed p99_ms)" \
	-v c="$(field closed max_ms)" 'BEGIN { exit !(a > 0 && a <= b && b <= c) }'
wait "$E_PID" 2>/dev/null
check "echoesme ends 0 when the SMSC goes" test $? -eq 0

# open loop: 400 at 1,000/s take about 0.4 s
load_run open --count 400 --senders 919800000000:3 --rate 1000 --reply-timeout 5 --progress
echo_start
load_wait 10; rc=$?
el=$(field open elapsed_ms)
check "open loop: exit 0, 400 replies, missing 0 ($(grep '^LOAD ' "$T_DIR/open.out"))" \
	test "$rc" -eq 0 -a "$(field open replies)" = 400 -a "$(field open missing)" = 0
check "open loop: paced, 350 to 1500 ms ($el)" test "${el:-0}" -ge 350 -a "${el:-0}" -le 1500
wait "$E_PID" 2>/dev/null

# the ESME killed mid-run: nothing more comes; given up 2 s after the last send
load_run dead --count 5000 --senders 919800000000:3 --rate 500 --reply-timeout 2
echo_start
for _ in $(seq 1 50); do grep -q LOAD_BOUND "$T_DIR/dead.out" && break; sleep 0.1; done
sleep 1
{ kill -9 "$E_PID"; wait "$E_PID"; } 2>/dev/null
t0=$(date +%s%N)
load_wait 8; rc=$?
dt=$((($(date +%s%N) - t0) / 1000000))
check "dead ESME: exit 1 ($rc) within the reply timeout (${dt} ms)" test "$rc" -eq 1 -a "$dt" -lt 4000
check "dead ESME: missing > 0, replies < 5000 ($(grep '^LOAD ' "$T_DIR/dead.out"))" \
	test "$(field dead missing)" -gt 0 -a "$(field dead replies)" -lt 5000

# rechargd: 300 RC from 5 retailers, each answered to its sender
for i in 1 2 3 4 5; do
	ctl retailer add "91980000000$i" --name "Shop $i" >/dev/null
	ctl wallet credit "91980000000$i" 10000 >/dev/null
done
load_run rd --count 300 --senders 919800000001:5 --window 100 --reply-timeout 10
rd_start
load_wait 12; rc=$?
check "rechargd: exit 0, 300 replies, missing 0 ($(grep '^LOAD ' "$T_DIR/rd.out"))" \
	test "$rc" -eq 0 -a "$(field rd replies)" = 300 -a "$(field rd mo_ok)" = 300 -a \
	"$(field rd missing)" = 0
check "rechargd: 300 recharges SUCCESS" \
	test "$(sql "SELECT count(*) FROM txns WHERE state = 'SUCCESS'")" = 300
rd_stop
out=$(ctl check 2>&1); check "rechargectl check passes" test $? -eq 0
t_done
