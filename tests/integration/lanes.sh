#!/usr/bin/env bash
# Outbox lanes: an answer to an MO just received (BAL) is handed to the SMSC before a
# backlog of bulk notifications queued earlier, and a recipient with a bulk reply still
# queued gets the answer after it (one conversation keeps its order).
. "$(dirname "$0")/../lib.sh"

t_setup lanes
Q=919800000011; P=919800000012
ctl retailer add $Q --name "Asker" >/dev/null
ctl retailer add $P --name "Notified" >/dev/null
ctl wallet credit $Q 100 >/dev/null
ctl wallet credit $P 200 >/dev/null
# 400 recharge results for other retailers fell due while the link was down, then one for P
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
     INSERT INTO sms_out (dest_addr, dest_ton, dest_npi, text, created_at)
     SELECT printf('9198770%05d', i), 1, 1, 'SUCCESS backlog ' || i, 0 FROM n;
     INSERT INTO sms_out (dest_addr, dest_ton, dest_npi, text, created_at)
     VALUES ('$P', 1, 1, 'SUCCESS notice for P', 0);"
check "old rows are bulk" test "$(sql "SELECT count(*) FROM sms_out WHERE lane = 1 AND state = 'queued'")" = 401

sim_start
sim "mt_delay 100" >/dev/null      # 50 submit_sm at a time, 100 ms each: about 0.8 s of backlog
rd_start
check "daemon binds" sim "wait_bound 10"
check "BAL answered; P's notice first" sim "mo $Q BAL" "mo $P BAL" "expect 10 $Q ^BAL Bal:Rs100\.00" \
	"expect 10 $P ^SUCCESS notice for P" "expect 10 $P ^BAL Bal:Rs200\.00"
for _ in $(seq 1 100); do
	[ "$(sql "SELECT count(*) FROM sms_out WHERE state = 'queued'")" = 0 ] && break
	sleep 0.1
done
check "backlog sent" test "$(sql "SELECT count(*) FROM sms_out WHERE state = 'sent'")" = 403
q_at=$(sql "SELECT o.id FROM sms_out o JOIN sms_in i ON i.id = o.sms_in_id WHERE o.dest_addr = '$Q'")
check "Q's answer in the answer lane" test "$(sql "SELECT lane FROM sms_out WHERE id = $q_at")" = 0
# sent_at is the SMSC's answer, in submit order (mt_delay answers in order)
before=$(sql "SELECT count(*) FROM sms_out WHERE lane = 1 AND sent_at < (SELECT sent_at FROM sms_out WHERE id = $q_at)")
echo "# bulk replies answered before Q's BAL: $before of 401" >&2
check "BAL overtakes most of the backlog" test "$before" -lt 200
p_ans=$(sql "SELECT o.id FROM sms_out o JOIN sms_in i ON i.id = o.sms_in_id WHERE o.dest_addr = '$P'")
check "P's answer waits in the bulk lane" test "$(sql "SELECT lane FROM sms_out WHERE id = $p_ans")" = 1
check "P's notice before P's answer" test "$(sql "SELECT (SELECT sent_at FROM sms_out WHERE text = 'SUCCESS notice for P') <= (SELECT sent_at FROM sms_out WHERE id = $p_ans)")" = 1
rd_stop
t_done
