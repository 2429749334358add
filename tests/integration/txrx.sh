#!/usr/bin/env bash
# bind = tx_rx: a transmitter and a receiver connection instead of one transceiver. MOs
# arrive on the receiver, replies leave on the transmitter; a drop of either rebinds both.
. "$(dirname "$0")/../lib.sh"

T_SMPP_CONFIG="bind = tx_rx"
t_setup txrx
A=919800000001
ctl retailer add $A --name "Shop" >/dev/null
ctl wallet credit $A 1000 >/dev/null
sim_start
rd_start
check "binds a transmitter and a receiver" sim "wait_bound 10" "sleep 500"
check "both binds seen by the SMSC" test "$(grep -c '^BOUND \(transmitter\|receiver\)' "$T_SIMLOG")" -eq 2
check "MO in, reply out" sim "mo $A RC 9876543210 AIRTEL 10" "expect 10 $A ^SUCCESS 9876543210 AIRTEL Rs10\.00 .*Bal:Rs990\.00$"
check "a long reply (HELP) in parts" sim "mo $A HELP" "expect 10 $A ^RC <mobile> <operator> <amount>.*PIN <new> or PIN <old> <new>$"
check "link dropped: both rebind, service goes on" sim "drop" "wait_bound 15" "mo $A BAL" "expect 10 $A ^BAL Bal:Rs990\.00"
rd_stop
check "SIGTERM: exit 0" test "${T_RD_RC:-1}" -eq 0
out=$(ctl check 2>&1); check "rechargectl check passes" test $? -eq 0
t_done
