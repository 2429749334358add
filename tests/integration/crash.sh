#!/usr/bin/env bash
# Crash test: a burst of 500 RC messages, rechargd killed with SIGKILL mid-burst and
# restarted. Afterwards the ledger invariants hold, every deliver_sm answered ESME_ROK
# has exactly one outcome, and nothing is debited twice.
. "$(dirname "$0")/../lib.sh"

N=${CRASH_MESSAGES:-500}
T_SIM_CONFIG="latency_ms = 2"
t_setup crash
A=919800000001
ctl retailer add $A --name "Burst Shop" >/dev/null
ctl wallet credit $A 100000 >/dev/null

sim_start
rd_start
check "daemon binds" sim "wait_bound 10"

# the burst runs in the simulator while we watch its answers and pull the plug
printf 'burst %d %s RC 97%%08d AIRTEL 10\n' "$N" "$A" >&7
killed_at=""
for _ in $(seq 1 300); do
	n=$(grep -c '^MO_RESP ' "$T_SIMLOG" 2>/dev/null || true)
	if [ "${n:-0}" -ge $((N / 4)) ]; then
		kill -9 "$T_RD_PID"; wait "$T_RD_PID" 2>/dev/null
		killed_at=$n
		break
	fi
	sleep 0.02
done
check "SIGKILL landed mid-burst (after ${killed_at:-?} of $N answers)" test -n "$killed_at" -a "${killed_at:-$N}" -lt "$N"
rd_start
check "restarted daemon binds again" sim "wait_bound 20"
check "every MO answered after redelivery" sim "wait_mo_resps 90" "mo_status $T_DIR/mo_status.txt"

# wait (bounded) until every recharge is final and every reply accepted by the SMSC
left=$(wait_settled 300)
check "nothing left pending or unsent" test "$left" = 0

out=$(ctl check 2>&1); rc=$?
check "rechargectl check passes after SIGKILL" test $rc -eq 0
[ $rc -eq 0 ] || echo "$out" | head -5

awk '$2 == "0x00000000" || $2 == "ESME_ROK" { print $4 }' "$T_DIR/mo_status.txt" | sort >"$T_DIR/answered_ok.txt"
sql "SELECT target FROM txns ORDER BY target" >"$T_DIR/txn_targets.txt"
answered=$(wc -l <"$T_DIR/answered_ok.txt")
check "all $N deliver_sm answered ESME_ROK in the end ($answered)" test "$answered" -eq "$N"
missing=$(comm -23 "$T_DIR/answered_ok.txt" <(sort -u "$T_DIR/txn_targets.txt") | wc -l)
check "every MO answered ESME_ROK has a transaction ($missing missing)" test "$missing" -eq 0
twice=$(sql "SELECT count(*) FROM (SELECT target FROM txns GROUP BY target HAVING count(*) > 1)")
check "no target debited twice ($twice)" test "$twice" -eq 0
dups=$(sql "SELECT count(*) FROM sms_out WHERE text LIKE 'ERR 1006%'")
echo "# redelivered after the crash and answered as duplicates: $dups"
spent=$(sql "SELECT coalesce(sum(amount), 0) FROM txns WHERE state = 'SUCCESS'")
bal=$(sql "SELECT balance FROM accounts WHERE name = 'wallet:$A'")
check "wallet = credit - successful recharges" test "$bal" -eq $((10000000 - spent))
final=$(sql "SELECT count(*) FROM txns t WHERE NOT EXISTS (SELECT 1 FROM sms_out o WHERE o.txn_id = t.id AND o.text LIKE 'SUCCESS%')")
check "every recharge's result was sent to the retailer ($final without)" test "$final" -eq 0
rd_stop
t_done
