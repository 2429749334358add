#!/usr/bin/env bash
# Admin SMS commands end to end (SPEC section 7, admin part): REG with the welcome SMS,
# TOPUP with the retailer's notice, BLOCK/UNBLOCK, every refusal, the admin PIN lockout
# and rechargectl admin unlock/list; audit rows; the ledger invariants hold.
. "$(dirname "$0")/../lib.sh"

t_setup admin-sms

ADMIN=919800000009; N=919800000010; A=919800000001; U=919899999999
ctl admin add $ADMIN --pin 4321 >/dev/null
ctl retailer add $A --name "Old Shop" >/dev/null

sim_start
rd_start
check "daemon binds" sim "wait_bound 10"

t() { local name=$1 from=$2 text=$3 re=$4; check "$name" sim "mo $from $text" "expect 10 $from $re"; }

# REG: reply to the admin, welcome to the new retailer, who can then use it
check "REG registers, welcome SMS reaches the retailer" sim "mo $ADMIN REG 9800000010 gold Ravi Mobile Store 4321" \
	"expect 10 $ADMIN ^OK REG 9800000010 gold Bal:Rs0\.00\$" \
	"expect 10 $N ^Welcome to rechargd, Ravi Mobile Store\. Recharge: RC <mobile> <operator> <amount>\. Balance: BAL\. Help: HELP\$"
check "REG stored the plan and name" test "$(sql "SELECT plan || '|' || name || '|' || pin_hash FROM retailers WHERE msisdn = '$N'")" = "gold|Ravi Mobile Store|"
t "new retailer can BAL" $N "BAL" '^BAL Bal:Rs0\.00 Comm:Rs0\.00$'
t "REG again: 1009 msisdn" $ADMIN "REG +$N gold Other 4321" '^ERR 1009 Missing or invalid parameter: msisdn$'
t "REG an admin's number: 1009 msisdn" $ADMIN "REG $ADMIN gold Me 4321" '^ERR 1009 Missing or invalid parameter: msisdn$'
t "REG unknown plan: 1009 plan" $ADMIN "REG 9800000011 diamond Some Shop 4321" '^ERR 1009 Missing or invalid parameter: plan$'
t "REG bad msisdn: 1003" $ADMIN "REG 12345 gold Some Shop 4321" '^ERR 1003 Invalid mobile number$'
t "REG without shop name: 1009" $ADMIN "REG 9800000011 gold 4321" '^ERR 1009 Missing or invalid parameter: '
check "refused REGs created nothing" test "$(sql "SELECT count(*) FROM retailers")" = 2

# TOPUP
check "TOPUP credits, the retailer is told" sim "mo $ADMIN TOPUP 09800000010 500 4321" \
	"expect 10 $ADMIN ^OK TOPUP 9800000010 Rs500\.00 Bal:Rs500\.00\$" \
	"expect 10 $N ^Wallet credited Rs500\.00 Bal:Rs500\.00\$"
check "second TOPUP" sim "mo $ADMIN *TOPUP*9800000010*1000.50*4321#" \
	"expect 10 $ADMIN ^OK TOPUP 9800000010 Rs1000\.50 Bal:Rs1500\.50\$" \
	"expect 10 $N ^Wallet credited Rs1000\.50 Bal:Rs1500\.50\$"
check "wallet show agrees" sh -c "'$RECHARGECTL' -c '$T_CONF' wallet show $N | grep -q 'balance: *1500\.50'"
t "retailer BAL agrees" $N "BAL" '^BAL Bal:Rs1500\.50 Comm:Rs0\.00$'
t "TOPUP unknown retailer: 1013" $ADMIN "TOPUP 9800000099 500 4321" '^ERR 1013 Number not registered$'
t "TOPUP three decimals: 1005" $ADMIN "TOPUP $N 10.555 4321" '^ERR 1005 Invalid amount$'
t "TOPUP zero: 1005" $ADMIN "TOPUP $N 0 4321" '^ERR 1005 Invalid amount$'
t "TOPUP bad msisdn: 1003" $ADMIN "TOPUP 555 100 4321" '^ERR 1003 Invalid mobile number$'
t "TOPUP without PIN: 1011" $ADMIN "TOPUP $N 100" '^ERR 1011 Invalid PIN$'

# BLOCK / UNBLOCK
t "BLOCK" $ADMIN "BLOCK $N 4321" '^OK BLOCK 9800000010$'
t "blocked retailer gets 1012" $N "BAL" '^ERR 1012 Account locked$'
t "blocked retailer cannot recharge" $N "RC 9876543210 AIRTEL 10" '^ERR 1012 Account locked$'
t "UNBLOCK" $ADMIN "unblock $N 4321" '^OK UNBLOCK 9800000010$'
t "unblocked retailer can BAL" $N "BAL" '^BAL Bal:Rs1500\.50'
t "BLOCK unknown retailer: 1013" $ADMIN "BLOCK 9800000099 4321" '^ERR 1013 Number not registered$'
# UNBLOCK undoes BLOCK only: a PIN lockout stays
sql "UPDATE retailers SET locked = 1 WHERE msisdn = '$A'"
t "UNBLOCK of a PIN-locked retailer: OK" $ADMIN "UNBLOCK $A 4321" '^OK UNBLOCK 9800000001$'
t "the PIN lockout stays" $A "BAL" '^ERR 1012 Account locked$'
ctl retailer unlock $A >/dev/null

# who may: retailers and strangers
t "retailer sending TOPUP: 1010" $A "TOPUP $N 100 4321" '^ERR 1010 Unknown command Send HELP$'
t "stranger sending TOPUP: 1013" $U "TOPUP $N 100 4321" '^ERR 1013 Number not registered$'
t "admin sending a retailer command: 1010" $ADMIN "BAL" '^ERR 1010 Unknown command Send HELP$'
t "admin HELP" $ADMIN "HELP" '^REG <msisdn> <plan> <shop name> <pin>'

# wrong admin PINs: 1011 with nothing changed, the fifth locks
audit_before=$(sql "SELECT count(*) FROM audit")
t "wrong admin PIN: 1011" $ADMIN "TOPUP $N 100 1111" '^ERR 1011 Invalid PIN$'
check "wrong PIN changed nothing" test "$(sql "SELECT balance FROM accounts WHERE name = 'wallet:$N'")" = 150050
t "wrong PIN on REG: nothing registered" $ADMIN "REG 9800000012 gold X Shop 1111" '^ERR 1011 Invalid PIN$'
t "wrong PIN on BLOCK" $ADMIN "BLOCK $N 1111" '^ERR 1011 Invalid PIN$'
check "nothing registered or blocked" test "$(sql "SELECT count(*) || blocked FROM retailers WHERE msisdn IN ('919800000012', '$N')")" = 10
check "no audit rows for refused commands" test "$(sql "SELECT count(*) FROM audit")" = "$audit_before"
t "wrong admin PIN 4" $ADMIN "BLOCK $N 1111" '^ERR 1011 Invalid PIN$'
t "fifth wrong admin PIN locks: 1012" $ADMIN "BLOCK $N 1111" '^ERR 1012 Account locked$'
t "locked admin, right PIN: 1012" $ADMIN "TOPUP $N 100 4321" '^ERR 1012 Account locked$'
check "admin list shows locked" sh -c "'$RECHARGECTL' -c '$T_CONF' admin list | grep -q '^$ADMIN *locked *5\$'"
check "admin list --json" sh -c "'$RECHARGECTL' -c '$T_CONF' admin list --json | grep -q '\"locked\": true'"
check "admin unlock" sh -c "'$RECHARGECTL' -c '$T_CONF' admin unlock $ADMIN | grep -q 'admin $ADMIN unlocked\$'"
check "admin unlock of an unknown admin fails" sh -c "! '$RECHARGECTL' -c '$T_CONF' admin unlock 9800000099 2>/dev/null"
t "unlocked admin works again" $ADMIN "TOPUP $N 100 4321" '^OK TOPUP 9800000010 Rs100\.00 Bal:Rs1600\.50$'
check "retailer told of the last credit" sim "expect 10 $N ^Wallet credited Rs100\.00 Bal:Rs1600\.50\$"
check "one good PIN reset the count" test "$(sql "SELECT pin_failures || locked FROM admins WHERE msisdn = '$ADMIN'")" = 00

# audit: every admin action, actor sms:<admin>, no PIN anywhere
audit=$(ctl audit list --limit 100 2>&1)
check "audit: retailer.add by sms" grep -q "sms:$ADMIN.*retailer.add.*$N" <<<"$audit"
check "audit: wallet.credit by sms" grep -q "sms:$ADMIN.*wallet.credit.*$N" <<<"$audit"
check "audit: retailer.block by sms" grep -q "sms:$ADMIN.*retailer.block.*$N" <<<"$audit"
check "audit: retailer.unblock by sms" grep -q "sms:$ADMIN.*retailer.unblock.*$N" <<<"$audit"
check "audit: admin.lock" grep -q "sms:$ADMIN.*admin.lock" <<<"$audit"
check "audit: admin.unlock by cli" grep -q "cli:.*admin.unlock.*$ADMIN" <<<"$audit"
check "audit: credit rows name the balances" test "$(sql "SELECT count(*) FROM audit WHERE actor = 'sms:$ADMIN' AND action = 'wallet.credit' AND before = 'balance=0.00' AND after = 'balance=500.00'")" = 1
check "ledger: credits by the admin's actor" test "$(sql "SELECT count(*) FROM postings WHERE kind = 'credit' AND actor = 'sms:$ADMIN'")" = 3
check "no PIN in the log" sh -c "! grep -Eq '4321|1111' '$T_DIR/rechargd.log'"

out=$(ctl check 2>&1)
check "rechargectl check passes" test $? -eq 0
check "every MO processed" test "$(sql "SELECT count(*) FROM sms_in WHERE processed_at IS NULL")" = 0
rd_stop
check "SIGTERM stops with exit 0" test "${T_RD_RC:-1}" -eq 0
t_done
