#!/usr/bin/env bash
# Interop: the real rechargd against an independent SMSC written with node-smpp
# (tests/interop/smsc.js, npm package "smpp"). The scenario below is what a retailer's
# phone and the SMSC do; smsc.js prints "ok"/"not ok" per step, this script adds what
# only the database can tell (ledger, outbox states, the SMSC's message IDs recorded).
. "$(dirname "$0")/../lib.sh"
HERE="$ROOT/tests/interop"

t_setup node-smpp

if [ ! -x "$RECHARGD" ] || ! command -v node >/dev/null; then
	not_ok "node-smpp: rechargd ($RECHARGD) and node are there"
	t_done; exit 1
fi
if [ ! -f "$HERE/node_modules/smpp/package.json" ]; then
	(cd "$HERE" && timeout 180 npm ci --no-audit --no-fund) >"$T_DIR/npm.log" 2>&1 ||
		{ not_ok "node-smpp: npm ci (see $T_DIR/npm.log)"; t_done; exit 1; }
fi

A=919800000001; U=919899999999
ctl retailer add $A --name "Interop Shop" >/dev/null
ctl wallet credit $A 10000 >/dev/null

# ---- the scenario: one JSON step per line (see smsc.js) ---------------------------------
js() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; printf '"%s"' "$s"; }
# mo NAME FROM DATA_CODING TEXT REGEX [extra JSON members]: one MO, one reply matching REGEX
mo() {
	printf '{"name": %s, "mo": {"from": %s, "data_coding": %s, "text": %s}, "expect": %s%s}\n' \
		"$(js "$1")" "$(js "$2")" "$3" "$(js "$4")" "$(js "$5")" "${6:+, $6}"
}
# mo_none NAME FROM DATA_CODING TEXT SECONDS: one MO, no reply within SECONDS
mo_none() {
	printf '{"name": %s, "mo": {"from": %s, "data_coding": %s, "text": %s}, "expect_none": %s}\n' \
		"$(js "$1")" "$(js "$2")" "$3" "$(js "$4")" "$5"
}
TXN='TXN[0-9]{9,}'
{
	echo '{"name": "bind_transceiver, retried after one ESME_RBINDFAIL", "bind": 20}'
	mo "BAL (GSM, data_coding 0)" $A 0 "BAL" '^BAL Bal:Rs10000\.00 Comm:Rs0\.00$' '"reply_dc": 0'
	mo "RC success, starter plan 3% commission" $A 0 "RC 9876543210 AIRTEL 299" \
		"^SUCCESS 9876543210 AIRTEL Rs299\\.00 Txn:$TXN Ref:[A-Za-z0-9]+ Comm:Rs8\\.97 Bal:Rs9701\\.00\$"
	mo "BAL (UCS-2, data_coding 8)" $A 8 "BAL" '^BAL Bal:Rs9701\.00 Comm:Rs[0-9]+\.[0-9]{2}$' '"reply_dc": 0'
	mo "HELP arrives in UDH parts, reassembled" $A 0 "HELP" \
		'^RC <mobile> <operator> <amount> \[circle\] \[pin\]\n.*\nPIN <new> or PIN <old> <new>$' '"min_parts": 2, "reply_dc": 0'
	mo "unregistered number gets ERR 1013" $U 0 "BAL" '^ERR 1013 Number not registered$'
	mo_none "ERR 1013 only once" $U 0 "BAL" 3
	echo "{\"name\": \"delivery receipt answered, never replied to\", \"dlr\": \"$A\", \"expect_none\": 3}"
	echo '{"name": "enquire_link from the SMSC answered", "enquire_link": 5}'
	echo '{"name": "rechargd sends enquire_link (every 5 s)", "wait_enquire_link": 8}'
} >"$T_DIR/scenario.jsonl"

# ---- run it ------------------------------------------------------------------------------
T_SMSCLOG="$T_DIR/smsc.log"
node "$HERE/smsc.js" --port "$T_SMPP_PORT" --system-id rechargd --password secret \
	--esme-addr 5555 --reject-binds 1 --linger 20 \
	--scenario "$T_DIR/scenario.jsonl" --record "$T_DIR/mt.tsv" >"$T_SMSCLOG" 2>&1 &
T_SMSC_PID=$!
T_PIDS="$T_PIDS $T_SMSC_PID"
for _ in $(seq 1 50); do grep -q '^# listening' "$T_SMSCLOG" 2>/dev/null && break; sleep 0.1; done

# smsc_report: the check lines smsc.js printed since the last call, counted
T_SMSC_SEEN=0
smsc_report() {
	local n
	n=$(wc -l <"$T_SMSCLOG")
	sed -n "$((T_SMSC_SEEN + 1)),${n}p" "$T_SMSCLOG" | grep -E '^(ok |not ok |#   )'
	T_FAILED=$((T_FAILED + $(sed -n "$((T_SMSC_SEEN + 1)),${n}p" "$T_SMSCLOG" | grep -c '^not ok ')))
	T_SMSC_SEEN=$n
}

rd_start
for _ in $(seq 1 2400); do
	grep -q '^# scenario done' "$T_SMSCLOG" && break
	kill -0 "$T_SMSC_PID" 2>/dev/null || break
	sleep 0.1
done
smsc_report
check "smsc.js ran the whole scenario" grep -q '^# scenario done' "$T_SMSCLOG"

# ---- what the database says ---------------------------------------------------------------
check "the refused bind is logged with its status name" grep -q ESME_RBINDFAIL "$T_DIR/rechargd.log"
if out=$(ctl check 2>&1); then ok "rechargectl check passes"
else not_ok "rechargectl check passes"; echo "$out" | sed 's/^/    /'; fi
check "wallet equals the last reply (Rs9701.00)" \
	test "$(sql "SELECT balance FROM accounts WHERE name = 'wallet:$A'")" = 970100
check "every MO stored once and processed (6)" \
	test "$(sql "SELECT count(*) || '/' || count(processed_at) FROM sms_in")" = 6/6
check "the receipt is recorded on the reply it names (DELIVRD)" \
	test "$(sql "SELECT count(*) FROM sms_out WHERE dlr_state = 'DELIVRD'")" -ge 1
check "the receipt was not taken for an MO" test "$(sql "SELECT count(*) FROM sms_in WHERE text LIKE 'id:%'")" = 0
check "every sms_out row (5 replies) is state 'sent'" \
	test "$(sql "SELECT count(*) FROM sms_out WHERE state <> 'sent'")/$(sql "SELECT count(*) FROM sms_out")" = 0/5
db_ids=$(sql "SELECT message_id FROM sms_out ORDER BY message_id" | tr '\n' ' ')
smsc_ids=$(cut -f1 "$T_DIR/mt.tsv" 2>/dev/null | LC_ALL=C sort | tr '\n' ' ')
if [ -n "$db_ids" ] && [ "$db_ids" = "$smsc_ids" ]; then
	ok "sms_out message_ids are the ones the SMSC gave (last part's for HELP)"
else
	not_ok "sms_out message_ids are the ones the SMSC gave (last part's for HELP)"
	printf '    database: %s\n    SMSC:     %s\n' "$db_ids" "$smsc_ids"
fi

# ---- shutdown: rechargd unbinds, smsc.js then finishes -------------------------------------
rd_stop
check "SIGTERM stops rechargd with exit 0" test "${T_RD_RC:-1}" -eq 0
for _ in $(seq 1 250); do kill -0 "$T_SMSC_PID" 2>/dev/null || break; sleep 0.1; done
kill -9 "$T_SMSC_PID" 2>/dev/null
wait "$T_SMSC_PID" 2>/dev/null
T_SMSC_RC=$?
smsc_report
check "smsc.js exits by itself (status $T_SMSC_RC: 0 all passed, 1 a step failed)" test "$T_SMSC_RC" -le 1
t_done
