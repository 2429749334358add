#!/usr/bin/env bash
# Hostile and odd PDUs from the SMSC side, sent raw: valid deliver_sm with 29 and with
# 1000 empty TLVs (the sizes that overflow libsmpp34's trace buffer) get a clean answer;
# truncated bodies, unknown commands and an impossible length cost nothing but that PDU
# or that link, and the daemon keeps serving. Hostile SMS text is inert.
. "$(dirname "$0")/../lib.sh"

t_setup hostile
A=919800000001
ctl retailer add $A --name "Shop" >/dev/null
ctl wallet credit $A 1000 >/dev/null
sim_start
rd_start
check "binds" sim "wait_bound 10"

pdu() { pdu_hex "$A" "$@"; }

check "deliver_sm with 29 empty TLVs: answered" sim "raw $(pdu 9001 BAL 29)" "expect 10 $A ^BAL Bal:Rs1000\.00"
check "deliver_sm with 1000 empty TLVs: answered" sim "raw $(pdu 9002 BAL 1000)" "expect 10 $A ^BAL Bal:Rs1000\.00"
check "truncated deliver_sm: no reply, link kept" sim "raw $(pdu 9003 BAL 0 5 20)" "expect_none 2 $A" "mo $A BAL" "expect 10 $A ^BAL"
check "unknown command id: link kept" sim "raw $(pdu 9004 BAL 0 77)" "mo $A BAL" "expect 10 $A ^BAL"
check "TLV running past the end: link kept" sim "raw 0000001b0000000500000000000023290001013900000001" "mo $A BAL" "expect 10 $A ^BAL"
check "impossible command_length: link reset, rebinds" sim "raw 7fffffff0000000500000000" "wait_bound 15" "mo $A BAL" "expect 10 $A ^BAL"
check "hostile text is inert (quotes, SQL, format strings)" sim \
	"mo $A RC 9876543210 AIRTEL 10'; DROP TABLE txns;--" "expect 10 $A ^ERR 10(05|09|10)" \
	"mo $A %s%s%n%x\\x01BAL" "expect 10 $A ^ERR 1010" \
	"mo $A BAL" "expect 10 $A ^BAL Bal:Rs1000\.00"
check "UCS-2 with a lone surrogate is answered" sim "raw $(pdu 9005 d800004200410042 0 5 0 8)" "expect 10 $A ^ERR 1010"
check "still alive and ledger intact" test -n "$(sql "SELECT count(*) FROM txns")"
out=$(ctl check 2>&1); check "rechargectl check passes" test $? -eq 0
check "no memory error reported" bash -c "! grep -Eq 'AddressSanitizer|runtime error' '$T_DIR/rechargd.log'"
rd_stop
check "SIGTERM: exit 0" test "${T_RD_RC:-1}" -eq 0
t_done
