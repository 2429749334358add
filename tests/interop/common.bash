# tests/interop/common.bash: sourced (after tests/lib.sh) by node-smpp.sh and net-smpp.sh,
# not a test by itself. One scenario and one set of database checks, run against each
# independent SMSC: the peer script checks its prerequisites and calls
#   interop_run LABEL SMSC_COMMAND...
# SMSC_COMMAND gets --port, --system-id, --password, --esme-addr, --reject-binds,
# --linger, --scenario and --record (smsc.js and smsc.pl take the same arguments, read
# the same scenario format and print "ok"/"not ok" lines and "# listening",
# "# scenario done" the same way).
HERE="$ROOT/tests/interop"

A=919800000001          # the retailer
U=919899999999          # an unregistered number
TXN='TXN[0-9]{9,}'
# a complaint of exactly 200 characters (no separator but single spaces, no PIN-like end)
LONG_CMP="Customer says recharge of Rs299 on 9876543210 shows success here but the operator has not credited the talktime even after two hours and the customer is angry and wants a refund or credit today thanks"
HINDI="रिचार्ज नहीं मिला"
HINDI_LONG="ग्राहक का रिचार्ज नहीं मिला। पैसे कट गए पर टॉकटाइम नहीं आया। ग्राहक दो घंटे से दुकान पर इंतज़ार कर रहा है। कृपया जल्दी जाँच करें।"
HELP_LINES=(
	"RC <mobile> <operator> <amount> [circle] [pin]"
	"RC <mobile> <amount> [pin]"
	"DTH <id> <operator> <amount> [pin]"
	"BAL [pin]"
	"ST <txn> [pin]"
	"LAST [pin]"
	"CMP <txn> <text> [pin]"
	"PIN <new> or PIN <old> <new>"
)

# ---- the scenario: one JSON step per line (format at the top of smsc.js) -----------------
js() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; printf '"%s"' "$s"; }
js_list() { local l out=; for l in "$@"; do out+="${out:+, }$(js "$l")"; done; printf '[%s]' "$out"; }
# mo NAME FROM DATA_CODING TEXT REGEX [extra step members]: one MO, one reply matching
# REGEX; MO_EXTRA adds members to the MO itself ("concat", "order")
mo() {
	printf '{"name": %s, "mo": {"from": %s, "data_coding": %s, "text": %s%s}, "expect": %s%s}\n' \
		"$(js "$1")" "$(js "$2")" "$3" "$(js "$4")" "${MO_EXTRA:+, $MO_EXTRA}" "$(js "$5")" "${6:+, $6}"
}
# mo_none NAME FROM DATA_CODING TEXT SECONDS: one MO, no reply within SECONDS
mo_none() {
	printf '{"name": %s, "mo": {"from": %s, "data_coding": %s, "text": %s}, "expect_none": %s}\n' \
		"$(js "$1")" "$(js "$2")" "$3" "$(js "$4")" "$5"
}

interop_scenario() {
	local ok_cmp="^OK Complaint [0-9]+ registered for {TXN}\$"
	echo '{"name": "bind_transceiver, retried after one ESME_RBINDFAIL", "bind": 20}'
	mo "BAL (GSM, data_coding 0)" $A 0 "BAL" '^BAL Bal:Rs10000\.00 Comm:Rs0\.00$' '"reply_dc": 0'
	mo "RC success (MT), starter plan 3% commission" $A 0 "RC 9876543210 AIRTEL 299" \
		"^SUCCESS 9876543210 AIRTEL Rs299\\.00 Txn:$TXN Ref:[A-Za-z0-9]+ Comm:Rs8\\.97 Bal:Rs9701\\.00\$" \
		"\"reply_dc\": 0, \"capture\": {\"TXN\": $(js "Txn:($TXN)")}"
	echo "{\"name\": \"delivery receipt for the SUCCESS reply answered, never replied to\", \"dlr\": \"$A\", \"match\": \"^SUCCESS \", \"expect_none\": 3}"
	mo "BAL (UCS-2, data_coding 8)" $A 8 "BAL" '^BAL Bal:Rs9701\.00 Comm:Rs[0-9]+\.[0-9]{2}$' '"reply_dc": 0'
	mo "CMP in Hindi (UCS-2): $HINDI" $A 8 "CMP {TXN} $HINDI" "$ok_cmp" '"reply_dc": 0'
	MO_EXTRA='"concat": true, "order": "reverse"' \
		mo "long CMP in Hindi (UCS-2, 3 UDH parts sent last first) reassembled" $A 8 "CMP {TXN} $HINDI_LONG" \
		"$ok_cmp" '"reply_dc": 0'
	MO_EXTRA='"concat": true' \
		mo "long CMP, 200-character text (GSM, 2 UDH parts) reassembled" $A 0 "CMP {TXN} $LONG_CMP" \
		"$ok_cmp" '"reply_dc": 0'
	mo "HELP (long MT) arrives in UDH parts, reassembled, every command line" $A 0 "HELP" \
		'^RC <mobile>[^\n]*(\n[^\n]+){7}$' "\"min_parts\": 2, \"reply_dc\": 0, \"lines\": $(js_list "${HELP_LINES[@]}")"
	mo "unregistered number gets ERR 1013" $U 0 "BAL" '^ERR 1013 Number not registered$'
	mo_none "ERR 1013 only once" $U 0 "BAL" 3
	echo '{"name": "enquire_link from the SMSC answered", "enquire_link": 5}'
	echo '{"name": "rechargd sends enquire_link (every 5 s)", "wait_enquire_link": 8}'
}

# ---- the run -------------------------------------------------------------------------------
# smsc_report: the check lines the SMSC printed since the last call, counted
T_SMSC_SEEN=0
smsc_report() {
	local n
	n=$(wc -l <"$T_SMSCLOG")
	sed -n "$((T_SMSC_SEEN + 1)),${n}p" "$T_SMSCLOG" | grep -E '^(ok |not ok |#   )'
	T_FAILED=$((T_FAILED + $(sed -n "$((T_SMSC_SEEN + 1)),${n}p" "$T_SMSCLOG" | grep -c '^not ok ')))
	T_SMSC_SEEN=$n
}

# db_is NAME EXPECTED SQL: ok when the query prints EXPECTED
db_is() {
	local got
	got=$(sql "$3")
	if [ "$got" = "$2" ]; then ok "$1"; else not_ok "$1"; printf '    expected: %s\n    database: %s\n' "$2" "$got"; fi
}

# interop_run LABEL SMSC_COMMAND...: the scenario against that SMSC, then the database
interop_run() {
	local label=$1 out db smsc rc_id
	shift
	ctl retailer add $A --name "Interop Shop" >/dev/null
	ctl wallet credit $A 10000 >/dev/null
	interop_scenario >"$T_DIR/scenario.jsonl"

	T_SMSCLOG="$T_DIR/smsc.log"
	"$@" --port "$T_SMPP_PORT" --system-id rechargd --password secret \
		--esme-addr 5555 --reject-binds 1 --linger 20 \
		--scenario "$T_DIR/scenario.jsonl" --record "$T_DIR/mt.tsv" >"$T_SMSCLOG" 2>&1 &
	T_SMSC_PID=$!
	T_PIDS="$T_PIDS $T_SMSC_PID"
	for _ in $(seq 1 50); do grep -q '^# listening' "$T_SMSCLOG" 2>/dev/null && break; sleep 0.1; done

	rd_start
	for _ in $(seq 1 2400); do
		grep -q '^# scenario done' "$T_SMSCLOG" && break
		kill -0 "$T_SMSC_PID" 2>/dev/null || break
		sleep 0.1
	done
	smsc_report
	check "$label ran the whole scenario" grep -q '^# scenario done' "$T_SMSCLOG"

	# ---- what the database says -----------------------------------------------------------
	check "the refused bind is logged with its status name" grep -q ESME_RBINDFAIL "$T_DIR/rechargd.log"
	if out=$(ctl check 2>&1); then ok "rechargectl check passes"
	else not_ok "rechargectl check passes"; echo "$out" | sed 's/^/    /'; fi
	db_is "wallet equals the last reply (Rs9701.00)" 970100 \
		"SELECT balance FROM accounts WHERE name = 'wallet:$A'"
	db_is "every MO stored once (long ones once, reassembled) and processed (9)" 9/9 \
		"SELECT count(*) || '/' || count(processed_at) FROM sms_in"
	db_is "three complaints, all on the recharge's transaction" 3/1 \
		"SELECT count(*) || '/' || count(DISTINCT txn_id) FROM complaints"
	db_is "the UCS-2 complaint is stored as sent (Hindi)" "$HINDI" \
		"SELECT text FROM complaints ORDER BY id LIMIT 1"
	db_is "the long UCS-2 complaint (parts last first) is stored whole" "$HINDI_LONG" \
		"SELECT text FROM complaints ORDER BY id LIMIT 1 OFFSET 1"
	db_is "the long GSM complaint is stored whole (length(text) = 200)" 200 \
		"SELECT length(text) FROM complaints ORDER BY id DESC LIMIT 1"
	db_is "the long GSM complaint is stored as sent" "$LONG_CMP" \
		"SELECT text FROM complaints ORDER BY id DESC LIMIT 1"
	rc_id=$(awk -F'\t' '$4 ~ /^"SUCCESS / { print $1 }' "$T_DIR/mt.tsv" 2>/dev/null | head -1)
	db_is "the receipt is recorded on the SUCCESS reply's row (message_id ${rc_id:-?}, DELIVRD)" "SUCCESS/DELIVRD" \
		"SELECT substr(text, 1, 7) || '/' || dlr_state FROM sms_out WHERE message_id = '${rc_id:-none}'"
	db_is "no other row has a receipt" 1 "SELECT count(*) FROM sms_out WHERE dlr_state IS NOT NULL"
	db_is "the receipt was not taken for an MO" 0 "SELECT count(*) FROM sms_in WHERE text LIKE 'id:%'"
	db_is "every sms_out row (8 replies) is state 'sent'" 0/8 \
		"SELECT count(*) FILTER (WHERE state <> 'sent') || '/' || count(*) FROM sms_out"
	db=$(sql "SELECT message_id FROM sms_out ORDER BY message_id" | tr '\n' ' ')
	smsc=$(cut -f1 "$T_DIR/mt.tsv" 2>/dev/null | LC_ALL=C sort | tr '\n' ' ')
	if [ -n "$db" ] && [ "$db" = "$smsc" ]; then
		ok "sms_out message_ids are the ones the SMSC gave (the last part's for a long reply)"
	else
		not_ok "sms_out message_ids are the ones the SMSC gave (the last part's for a long reply)"
		printf '    database: %s\n    SMSC:     %s\n' "$db" "$smsc"
	fi
	db=$(sql "SELECT message_id || char(9) || replace(text, char(10), '\\n') FROM sms_out" | LC_ALL=C sort)
	smsc=$(while IFS=$'\t' read -r id _ _ text; do
		printf '%s\t%s\n' "$id" "$(jq -r 'gsub("\n"; "\\n")' <<<"$text")"
	done <"$T_DIR/mt.tsv" 2>/dev/null | LC_ALL=C sort)
	if [ -n "$db" ] && [ "$db" = "$smsc" ]; then
		ok "each reply as the SMSC reassembled it is the text in sms_out"
	else
		not_ok "each reply as the SMSC reassembled it is the text in sms_out"
		diff <(echo "$db") <(echo "$smsc") | sed 's/^/    /'
	fi

	# ---- shutdown: rechargd unbinds, the SMSC then finishes -----------------------------------
	rd_stop
	check "SIGTERM stops rechargd with exit 0" test "${T_RD_RC:-1}" -eq 0
	for _ in $(seq 1 250); do kill -0 "$T_SMSC_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$T_SMSC_PID" 2>/dev/null
	wait "$T_SMSC_PID" 2>/dev/null
	T_SMSC_RC=$?
	smsc_report
	check "$label exits by itself (status $T_SMSC_RC: 0 all passed, 1 a step failed)" test "$T_SMSC_RC" -le 1
}
