#!/usr/bin/env bash
# Back-pressure: with [engine] max_inflight recharges waiting on a slow provider, a further
# deliver_sm is answered ESME_RX_T_APPN (the SMSC keeps it and delivers it again) and
# nothing of it is stored; once the provider answers, MOs are taken again.
. "$(dirname "$0")/../lib.sh"

T_SIM_CONFIG="latency_ms = 2000"
t_setup backpressure
printf '[engine]\nmax_inflight = 3\n' >>"$T_CONF"
A=919800000001
ctl retailer add $A --name "Shop" >/dev/null
ctl wallet credit $A 1000 >/dev/null
sim_start --no-redeliver
rd_start
check "binds" sim "wait_bound 10"
check "a burst of 10 RC answered" sim "burst 10 $A RC 97%08d AIRTEL 10" "wait_mo_resps 10" "mo_status $T_DIR/mo.txt"
rok=$(awk '$2 == "0x00000000"' "$T_DIR/mo.txt" | wc -l)
appn=$(awk '$2 == "0x00000064"' "$T_DIR/mo.txt" | wc -l)
check "3 taken ($rok), 7 pushed back with ESME_RX_T_APPN ($appn)" test "$rok" -eq 3 -a "$appn" -eq 7
check "nothing stored of what was pushed back" test "$(sql "SELECT count(*) FROM sms_in")" -eq 3
check "the 3 taken settle" sim "expect 10 $A ^SUCCESS" "expect 10 $A ^SUCCESS" "expect 10 $A ^SUCCESS"
check "taken again once the provider answered" sim "mo $A BAL" "expect_mo_resp 5 ESME_ROK" "expect 10 $A ^BAL Bal:Rs970\.00"
rd_stop
out=$(ctl check 2>&1); check "rechargectl check passes" test $? -eq 0
t_done
