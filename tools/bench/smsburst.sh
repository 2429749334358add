#!/bin/bash
# tools/bench/smsburst.sh: one burst of N RC messages from one retailer through smscsim's
# script mode; prints the end-to-end time and rechargd's CPU (utime+stime) per recharge.
# N (20000), B (build). Meant for before/after comparisons in the same minute.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
N=${N:-20000}
T_SMPP_CONFIG=""
t_setup "smsburst$$"
A=919800000001
ctl retailer add $A --name "Burst" >/dev/null
ctl wallet credit $A 10000000 >/dev/null
sim_start
rd_start
sim "wait_bound 10"
hz=$(getconf CLK_TCK)
cpu0=$(awk '{print $14+$15}' /proc/$T_RD_PID/stat)
start=$(date +%s.%N)
# PERF=FILE: perf record of the daemon during the burst
[ -n "${PERF:-}" ] && { perf record -q ${PERF_OPTS:--g} -o "$PERF" -p "$T_RD_PID" 2>/dev/null & perf_pid=$!; }
sim "burst $N $A RC 97%08d AIRTEL 10" "wait_mo_resps 120"
for _ in $(seq 1 600); do
	left=$(sql "SELECT count(*) FROM sms_out WHERE state='queued'")
	[ "$left" = 0 ] && break; sleep 0.1; done
end=$(date +%s.%N)
cpu1=$(awk '{print $14+$15}' /proc/$T_RD_PID/stat)
[ -n "${PERF:-}" ] && { kill -INT "$perf_pid"; wait "$perf_pid"; }
mts=$(grep -c '^MT ' "$T_SIMLOG")
secs=$(echo "$end - $start" | bc)
echo "N=$N secs=$secs rate=$(echo "$N / $secs" | bc) cpu_us_per_sms=$(echo "($cpu1 - $cpu0) * 1000000 / $hz / $N" | bc) mts=$mts"
rd_stop
ctl check | tail -1
rm -rf "$T_DIR"
