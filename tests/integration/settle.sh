#!/usr/bin/env bash
# rechargectl settle (SPEC 5) over three IST days, without the daemon: each recharge is
# recorded PENDING with its hold as the engine does (SQL, there is no CLI for it), then
# settled by `rechargectl txn resolve` / `txn reverse` with RECHARGD_CLOCK_OFFSET_S
# putting the clock on the day wanted. Day 1: successes, a failure, one left PENDING;
# day 2: that one succeeds late, a day-1 success is reversed after payout (A's batch goes
# negative and is carried; B's clawback is netted in its next batch); day 3: A's carry is
# recovered. TDS is recomputed here on paise integers; the CSVs must add up to the
# ledger; running a date twice settles nothing twice; `rechargectl check` after each step.
. "$(dirname "$0")/../lib.sh"

T_SIM_CONFIG="latency_ms = 0
[settlement]
tds_pct = 2.00"
t_setup settle
TDS_BP=200

run() { ctl "$@" >"$T_DIR/stdout" 2>"$T_DIR/stderr"; rc=$?; }
expect() {
	local name=$1 want=$2; shift 2
	run "$@"
	if grep -Eq 'Sanitizer|runtime error:' "$T_DIR/stderr"; then
		not_ok "$name (sanitizer report)"; sed 's/^/#   /' "$T_DIR/stderr"
	elif [ "$rc" -eq "$want" ]; then ok "$name"; else
		not_ok "$name"; echo "#   exit $rc, wanted $want: rechargectl $*"; sed 's/^/#   /' "$T_DIR/stderr" "$T_DIR/stdout"
	fi
}
err_has() { grep -Eq -- "$1" "$T_DIR/stderr"; }
# at "YYYY-MM-DD HH:MM" ARGS...: rechargectl with its clock at that IST time
at() {
	local when=$1; shift
	RECHARGD_CLOCK_OFFSET_S=$(( $(date -d "$when +0530" +%s) - $(date +%s) )) expect "$@"
}
ms_of() { echo $(( $(date -d "$1 +0530" +%s) * 1000 )); }
checked() { expect "  rechargectl check $1" 0 check; }
# pending MSISDN PAISE TARGET "YYYY-MM-DD HH:MM": a PENDING recharge with its hold; prints its id
pending() {
	local ms; ms=$(ms_of "$4")
	sql "BEGIN IMMEDIATE;
	INSERT INTO txns (retailer_id, channel, service, operator, target, amount, state, created_at, updated_at)
	  SELECT id, 'api', 'MOBILE', 'AIRTEL', '$3', $2, 'PENDING', $ms, $ms FROM retailers WHERE msisdn = '$1';
	INSERT INTO postings (kind, txn_id, actor, created_at) VALUES ('hold', (SELECT max(id) FROM txns), 'test', $ms);
	INSERT INTO ledger_lines (posting_id, account_id, amount) SELECT (SELECT max(id) FROM postings), wallet_account, -$2 FROM retailers WHERE msisdn = '$1';
	INSERT INTO ledger_lines (posting_id, account_id, amount) VALUES ((SELECT max(id) FROM postings), 2, $2);
	UPDATE accounts SET balance = balance - $2 WHERE id = (SELECT wallet_account FROM retailers WHERE msisdn = '$1');
	UPDATE accounts SET balance = balance + $2 WHERE id = 2;
	COMMIT; SELECT printf('TXN%09d', max(id)) FROM txns;"
}
balance() { sql "SELECT balance FROM accounts WHERE name = '$1'"; }
paise() { awk -v v="$1" 'BEGIN { s = 1; if (v ~ /^-/) { s = -1; v = substr(v, 2) } split(v, p, "."); print s * (p[1] * 100 + p[2]) }'; }
# independent TDS: exact quotient of gross x bp / 10000, half up to the paisa
tds_of() { awk -v g="$1" -v bp="$TDS_BP" 'BEGIN { t = g * bp; q = int(t / 10000); if ((t - q * 10000) * 2 >= 10000) q++; print q }'; }
# csv_check FILE: every row's tds is the rule's and net = gross - tds (money fields are the last three)
csv_check() {
	local bad=0 g t n
	while IFS= read -r line; do
		g=$(paise "$(echo "$line" | awk -F, '{ print $(NF-2) }')")
		t=$(paise "$(echo "$line" | awk -F, '{ print $(NF-1) }')")
		n=$(paise "$(echo "$line" | awk -F, '{ print $NF }')")
		[ "$t" = "$(tds_of "$g")" ] && [ $((g - t)) = "$n" ] || { echo "#   bad row: $line"; bad=1; }
	done < <(tail -n +2 "$1")
	return $bad
}
# csv_sum FILE COLUMN(1 gross, 2 tds, 3 net from the end): paise
csv_sum() {
	local s=0 v
	for v in $(tail -n +2 "$1" | awk -F, -v k="$2" '{ print $(NF - 3 + k) }'); do s=$((s + $(paise "$v"))); done
	echo $s
}
row_of() { grep -E "^[0-9]+,$2," "$1"; }

A=919800000021; B=919800000022
ctl retailer add $A --name "Gupta Mobile" >/dev/null
ctl retailer add $B --name 'Sharma, "Sons" Telecom' >/dev/null
ctl retailer set-bank $A --account 123456789012 --ifsc HDFC0001234 >/dev/null
ctl retailer set-bank $B --account 987654321 --ifsc SBIN0000456 >/dev/null
ctl wallet credit $A 10000 >/dev/null
ctl wallet credit $B 10000 >/dev/null
check "payout and tds accounts exist (migration 5)" test "$(sql "SELECT count(*) FROM accounts WHERE kind = 'system' AND name IN ('payout', 'tds')")" = 2

# ---- day 1: 2030-03-10 -------------------------------------------------------------------
t1=$(pending $A 57500 9812345601 "2030-03-10 11:00")    # 3%: 17.25
t2=$(pending $A 50000 9812345602 "2030-03-10 11:05")    # 15.00
t3=$(pending $A 10000 9812345603 "2030-03-10 11:10")    # fails
t4=$(pending $A 20000 9812345604 "2030-03-10 23:50")    # succeeds on day 2: 6.00
t5=$(pending $B 100000 9812345605 "2030-03-10 12:00")   # 30.00
at "2030-03-10 11:01" "day 1: $t1 success" 0 txn resolve $t1 success --ref R1
at "2030-03-10 11:06" "day 1: $t2 success" 0 txn resolve $t2 success --ref R2
at "2030-03-10 11:11" "day 1: $t3 failed" 0 txn resolve $t3 failed
at "2030-03-10 12:01" "day 1: $t5 success" 0 txn resolve $t5 success --ref R5
checked "after day 1"
at "2030-03-10 18:00" "settle a day not ended yet: exit 1" 1 settle --date 2030-03-10
check "  says so" err_has "has not ended yet"
expect "settle without --date: exit 2" 2 settle
expect "settle --date 2030-02-30: exit 1" 1 settle --date 2030-02-30

at "2030-03-11 09:00" "settle day 1" 0 settle --date 2030-03-10 --out "$T_DIR/day1.csv"
check "  header" test "$(head -1 "$T_DIR/day1.csv")" = "batch,msisdn,shop_name,bank_account,ifsc,count,gross,tds,net"
check "  two paid batches" test "$(($(wc -l <"$T_DIR/day1.csv") - 1))" = 2
check "  A: 2 postings, gross 32.25, TDS 0.65 (64.5 paise half up), net 31.60" \
	test "$(row_of "$T_DIR/day1.csv" $A)" = "$(sql "SELECT id FROM settlement_batches WHERE date = '2030-03-10' AND retailer_id = 1"),$A,Gupta Mobile,123456789012,HDFC0001234,2,32.25,0.65,31.60"
check "  B: shop name CSV-quoted, gross 30.00, TDS 0.60" \
	grep -qE "^[0-9]+,$B,\"Sharma, \"\"Sons\"\" Telecom\",987654321,SBIN0000456,1,30.00,0.60,29.40\$" "$T_DIR/day1.csv"
check "  every TDS right to the paisa (recomputed on paise)" csv_check "$T_DIR/day1.csv"
check "  the summary on stderr" err_has "2030-03-10 settled at .*2 paid \(gross 62.25, tds 1.25, net 61.00\)"
check "  the failed and the PENDING one are not settled" \
	test "$(sql "SELECT count(*) FROM settlement_items s JOIN postings p ON p.id = s.posting_id WHERE p.txn_id IN ($((10#${t3#TXN})), $((10#${t4#TXN})))")" = 0
check "  A's unsettled commission is 0.00 now" test "$(balance commission:$A)" = 0
checked "after settling day 1"

# ---- day 2: 2030-03-11 -------------------------------------------------------------------
t6=$(pending $B 200000 9812345606 "2030-03-11 10:00")   # 60.00
at "2030-03-11 10:30" "day 2: late success of day 1's $t4" 0 txn resolve $t4 success --ref R4
at "2030-03-11 10:31" "day 2: $t6 success" 0 txn resolve $t6 success --ref R6
at "2030-03-11 14:00" "day 2: $t1 reversed after payout" 0 txn reverse $t1 --note "operator reversal"
at "2030-03-11 14:05" "day 2: $t5 reversed after payout" 0 txn reverse $t5
check "  A's commission account is negative: -11.25" test "$(balance commission:$A)" = -1125
checked "with a negative commission account"

at "2030-03-12 09:00" "settle day 2" 0 settle --date 2030-03-11 --out "$T_DIR/day2.csv"
check "  one paid batch: B only" test "$(($(wc -l <"$T_DIR/day2.csv") - 1))" = 1
check "  B: the clawback netted in its next batch: 60.00 - 30.00, TDS 0.60" \
	grep -qE "^[0-9]+,$B,.*,2,30.00,0.60,29.40\$" "$T_DIR/day2.csv"
check "  A's batch (late 6.00, clawback 17.25) carried, not paid" err_has "of $A carried forward: -11.25 not paid \(2 postings\)"
check "  stored: gross -1125, no posting" \
	test "$(sql "SELECT gross, tds, net, posting_id IS NULL FROM settlement_batches WHERE date = '2030-03-11' AND retailer_id = 1")" = "-1125|0|0|1"
check "  TDS right to the paisa" csv_check "$T_DIR/day2.csv"
checked "after settling day 2"

# ---- day 3: 2030-03-12 -------------------------------------------------------------------
t7=$(pending $A 100000 9812345607 "2030-03-12 10:00")   # 30.00
at "2030-03-12 10:01" "day 3: $t7 success" 0 txn resolve $t7 success --ref R7
at "2030-03-13 09:00" "settle day 3" 0 settle --date 2030-03-12 --out "$T_DIR/day3.csv"
check "  A: 30.00 less the carried 11.25 = 18.75, TDS 0.38 (37.5 half up), net 18.37" \
	grep -qE "^[0-9]+,$A,Gupta Mobile,123456789012,HDFC0001234,1,18.75,0.38,18.37\$" "$T_DIR/day3.csv"
check "  carried_from is A's day-2 batch" \
	test "$(sql "SELECT carried_from FROM settlement_batches WHERE date = '2030-03-12' AND retailer_id = 1")" = \
	"$(sql "SELECT id FROM settlement_batches WHERE date = '2030-03-11' AND retailer_id = 1")"
check "  TDS right to the paisa" csv_check "$T_DIR/day3.csv"
checked "after settling day 3"

# ---- twice, earlier, the ledger ------------------------------------------------------------
before=$(sql "SELECT count(*) FROM postings; SELECT count(*) FROM settlement_items; SELECT count(*) FROM settlement_batches; SELECT group_concat(balance) FROM accounts" | md5sum)
at "2030-03-13 10:00" "settle day 3 again" 0 settle --date 2030-03-12 --out "$T_DIR/day3-again.csv"
check "  marked already settled" err_has "2030-03-12 already settled at .*no money moved"
check "  the same CSV" cmp -s "$T_DIR/day3.csv" "$T_DIR/day3-again.csv"
at "2030-03-13 10:00" "settle day 1 again (to stdout)" 0 settle --date 2030-03-10
check "  the same batches" cmp -s "$T_DIR/day1.csv" "$T_DIR/stdout"
check "  nothing settled twice, no money moved" test "$(sql "SELECT count(*) FROM postings; SELECT count(*) FROM settlement_items; SELECT count(*) FROM settlement_batches; SELECT group_concat(balance) FROM accounts" | md5sum)" = "$before"
at "2030-03-13 10:00" "settle an earlier, unsettled date: exit 1" 1 settle --date 2030-03-09
check "  says why" err_has "before 2030-03-12, already settled"
check "  still nothing moved" test "$(sql "SELECT count(*) FROM postings; SELECT count(*) FROM settlement_items; SELECT count(*) FROM settlement_batches; SELECT group_concat(balance) FROM accounts" | md5sum)" = "$before"
check "every commission and clawback posting settled exactly once" \
	test "$(sql "SELECT count(*) FROM postings p LEFT JOIN settlement_items s ON s.posting_id = p.id WHERE p.kind IN ('commission', 'clawback') AND s.batch_id IS NULL")" = 0

all="$T_DIR/all.csv"
{ cat "$T_DIR/day1.csv"; tail -n +2 "$T_DIR/day2.csv"; tail -n +2 "$T_DIR/day3.csv"; } >"$all"
check "CSV nets add up to the payout account ($(balance payout) paise)" test "$(csv_sum "$all" 3)" = "$(balance payout)"
check "CSV TDS adds up to the tds account ($(balance tds) paise)" test "$(csv_sum "$all" 2)" = "$(balance tds)"
check "CSV gross = commission - clawbacks ($(csv_sum "$all" 1) paise)" test "$(csv_sum "$all" 1)" = \
	"$(sql "SELECT sum(l.amount) FROM ledger_lines l JOIN postings p ON p.id = l.posting_id JOIN retailers r ON r.commission_account = l.account_id WHERE p.kind IN ('commission', 'clawback')")"
check "both commission accounts end at 0.00" test "$(balance commission:$A)|$(balance commission:$B)" = "0|0"
check "one audit row per run" test "$(sql "SELECT count(*) FROM audit WHERE action = 'settle'")" = 3

# a tampered batch is caught
sql "UPDATE settlement_batches SET count = count + 1 WHERE date = '2030-03-12'"
expect "check catches a batch that differs from its postings: exit 1" 1 check
check "  names it" grep -q "settlement batch differs from its postings" "$T_DIR/stdout"

t_done
