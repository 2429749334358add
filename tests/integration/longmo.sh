#!/usr/bin/env bash
# Long MOs in UDH parts: each part is stored before it is answered, so a crash between
# parts loses nothing; parts whose others never come are dropped after
# reassembly_timeout_s with a log line.
. "$(dirname "$0")/../lib.sh"

T_SMPP_CONFIG="reassembly_timeout_s = 2"
t_setup longmo
A=919800000001
ctl retailer add $A --name "Shop" >/dev/null
ctl wallet credit $A 1000 >/dev/null
sim_start
rd_start
check "binds" sim "wait_bound 10"
# UDH: 8-bit reference 0x21, 2 parts
check "first part answered, no reply yet" sim "raw $(pdu_hex $A 7001 'RC 98765432' 0 '' '' '' 050003210201)" "expect_none 1 $A"
check "the part is stored before it is answered" test "$(sql "SELECT count(*) FROM sms_parts")" -eq 1
kill -9 "$T_RD_PID"; wait "$T_RD_PID" 2>/dev/null
rd_start
check "after SIGKILL the last part completes the message" sim "wait_bound 15" \
	"raw $(pdu_hex $A 7002 '10 AIRTEL 10' 0 '' '' '' 050003210202)" \
	"expect 10 $A ^SUCCESS 9876543210 AIRTEL Rs10\.00 Txn:TXN[0-9]+ .*Bal:Rs990\.00$"
check "no part left behind" test "$(sql "SELECT count(*) FROM sms_parts")" -eq 0
check "a part sent twice counts once" sim \
	"raw $(pdu_hex $A 7003 'BA' 0 '' '' '' 050003220201)" \
	"raw $(pdu_hex $A 7004 'BA' 0 '' '' '' 050003220201)" \
	"raw $(pdu_hex $A 7005 'L' 0 '' '' '' 050003220202)" \
	"expect 10 $A ^BAL Bal:Rs990\.00" "expect_none 1 $A"
check "16-bit reference, UCS-2, parts in reverse order" sim \
	"raw $(pdu_hex $A 7008 004c 0 '' '' 8 06080412350202)" \
	"raw $(pdu_hex $A 7009 00420041 0 '' '' 8 06080412350201)" \
	"expect 10 $A ^BAL Bal:Rs990\.00"
check "an incomplete message is dropped after reassembly_timeout_s" sim \
	"raw $(pdu_hex $A 7010 'BA' 0 '' '' '' 050003330201)" "sleep 3500" \
	"raw $(pdu_hex $A 7011 'L' 0 '' '' '' 050003330202)" "expect_none 2 $A"
check "... with a log line" grep -q "long MO from $A (ref 51) dropped: 1 of 2 parts" "$T_DIR/rechargd.log"
rd_stop
out=$(ctl check 2>&1); check "rechargectl check passes" test $? -eq 0
t_done
