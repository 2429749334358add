#!/usr/bin/env bash
# Providers over real HTTP: rechargd's http-json provider against two provider simulators
# of different API shapes (POST JSON with a nested status; GET query string with flat
# numeric codes). Success, failure, failover on 503 only, all down (2001), 500/hang/garbage
# kept PENDING and polled (never failed over, never refunded), pending settled by callback
# and by polling, callbacks authenticated, reversal, the breaker, a restart that asks
# instead of calling again, balances and alerts; rechargectl check after each.
. "$(dirname "$0")/../lib.sh"

PROVSIM="$ROOT/$B/provsim"
# provsim_start NAME SHAPE ARGS...: a simulator on a free port; sets PORT_<NAME>
provsim_start() {
	local name=$1 shape=$2; shift 2
	"$PROVSIM" --listen 127.0.0.1:0 --shape "$shape" "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.log" &
	T_PIDS="$T_PIDS $!"
	for _ in $(seq 1 100); do
		grep -q '^LISTENING' "$T_DIR/$name.out" 2>/dev/null && break
		sleep 0.05
	done
	eval "PORT_$name=$(sed -n 's/^LISTENING .*:\([0-9]*\)$/\1/p' "$T_DIR/$name.out")"
}
# control NAME JSON: change a running simulator
control() {
	local port; eval "port=\$PORT_$1"
	curl -s --max-time 5 -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$port/_control" >/dev/null
}
# stat NAME FIELD: a number from its /_stats
stat() {
	local port; eval "port=\$PORT_$1"
	curl -s --max-time 5 "http://127.0.0.1:$port/_stats" | jq -r ".$2"
}
txn_done() {
	local port; eval "port=\$PORT_$1"
	curl -s --max-time 5 "http://127.0.0.1:$port/_txn?txn_id=$2" | jq -r '.done'
}
ledger_ok() { ctl check >/dev/null 2>&1; }
last_txn() { printf 'TXN%09d' "$(sql "SELECT max(id) FROM txns")"; }

T_PENDING_REPLY_S=1
t_setup providers
provsim_start agg json --key k1 --callback-url "http://127.0.0.1:$T_HTTP_PORT/api/v1/callback/agg" \
	--callback-secret cb-secret --settle-ms 800
provsim_start php flat --uid u1 --pwd p1 --balance 1000.00
check "two provider simulators listening" test -n "$PORT_agg" -a -n "$PORT_php"

cat >>"$T_CONF" <<CONF
[provider.agg]
type = http-json
recharge_url = http://127.0.0.1:$PORT_agg/recharge
recharge_method = POST
content_type = application/json
recharge_body = {"txn_id":"\${txn_id}","mobile":"\${mobile}","operator":"\${op}","amount":"\${amount}","circle":"\${circle}","key":"\${secret}"}
status_url = http://127.0.0.1:$PORT_agg/status?txn_id=\${txn_id}&key=\${secret}
balance_url = http://127.0.0.1:$PORT_agg/balance?key=\${secret}
secret = k1
opcodes = AIRTEL:AT,VI:VF,BSNL:BS
status_field = data.txn.status
ref_field = data.txn.ref
message_field = data.txn.message
balance_field = data.balance
success_values = SUCCESS
pending_values = PENDING
failure_values = FAILED
reversed_values = REVERSED
callback_secret = cb-secret
callback_txn_field = txn_id
callback_status_field = status
callback_ref_field = ref
timeout_ms = 1500
[provider.php]
type = http-json
recharge_url = http://127.0.0.1:$PORT_php/api/recharge.php?uid=u1&pwd=\${secret}&mn=\${mobile}&op=\${op}&amt=\${amount}&reqid=\${txn_id}
status_url = http://127.0.0.1:$PORT_php/api/status.php?uid=u1&pwd=\${secret}&reqid=\${txn_id}
balance_url = http://127.0.0.1:$PORT_php/api/balance.php?uid=u1&pwd=\${secret}
secret = p1
status_field = STATUS
ref_field = OPID
message_field = MSG
balance_field = BAL
success_values = 1
pending_values = 0
failure_values = 2
reversed_values = 3
timeout_ms = 1500
[engine]
status_poll_s = 1
status_poll_max = 20
breaker_failures = 3
breaker_cooldown_s = 3
balance_poll_s = 1
low_balance = 50000
stuck_pending_s = 3
CONF
A=919800000001; ADMIN=919800000099
ctl retailer add $A --name "Shop" >/dev/null
ctl wallet credit $A 10000 >/dev/null
ctl admin add $ADMIN --pin 9999 >/dev/null
ctl route set AIRTEL agg >/dev/null
ctl route set JIO php >/dev/null
ctl route set VI agg,php >/dev/null
ctl route set BSNL agg,php >/dev/null
ctl route set MTNL agg >/dev/null

sim_start
rd_start
check "binds" sim "wait_bound 10"
TXN='TXN[0-9]{9,}'
t() { local name=$1 text=$2; shift 2; local c=(); for re in "$@"; do c+=("expect 10 $A $re"); done
	check "$name" sim "mo $A $text" "${c[@]}"; }

t "json shape: SUCCESS with the operator's reference" "RC 9876543210 AIRTEL 100" \
	"^SUCCESS 9876543210 AIRTEL Rs100\.00 Txn:$TXN Ref:[A-Z0-9]+ Comm:Rs3\.00 Bal:Rs9900\.00\$"
check "  the provider did it once" test "$(txn_done agg "$(last_txn)")" = true
t "flat shape: SUCCESS" "RC 9876543211 JIO 100" "^SUCCESS 9876543211 JIO Rs100\.00 Txn:$TXN Ref:[A-Z0-9]+ .*Bal:Rs9800\.00\$"
control agg '{"mode":"failure"}'
t "provider failure: FAILED 2002, refunded" "RC 9876543212 AIRTEL 100" "^FAILED 9876543212 AIRTEL Rs100\.00 Txn:$TXN Err:2002 Refunded Bal:Rs9800\.00\$"
check "  ledger holds" ledger_ok
control agg '{"mode":"503"}'
t "503: not taken, fails over to the next provider" "RC 9876543213 VI 100" "^SUCCESS 9876543213 VI Rs100\.00 Txn:$TXN .*Bal:Rs9700\.00\$"
check "  the first did not do it" test "$(txn_done agg "$(last_txn)")" != true
control php '{"mode":"503"}'
t "every provider down: ERR 2001, refunded" "RC 9876543214 BSNL 100" "^ERR 2001 Operator system down Txn:$TXN Bal:Rs9700\.00\$"
t "  and again" "RC 9876543217 BSNL 100" "^ERR 2001 Operator system down Txn:$TXN Bal:Rs9700\.00\$"
check "  breaker opened after 3 failures in a row" grep -q "provider agg: .*breaker open" "$T_DIR/rechargd.log"
t "  an open breaker skips the provider" "RC 9876543215 BSNL 100" "^ERR 2001"
# balance polls keep coming; what matters is that agg never heard of this recharge
check "  ... without calling it" test "$(curl -s --max-time 5 "http://127.0.0.1:$PORT_agg/_txn?txn_id=$(last_txn)" | jq -r '.requests // 0')" = 0
control php '{"mode":"success"}'
control agg '{"mode":"success"}'
sleep 3.2
t "after the cool-down it is tried again and closes" "RC 9876543216 AIRTEL 100" "^SUCCESS 9876543216 AIRTEL Rs100\.00 .*Bal:Rs9600\.00\$"
check "  breaker closed" grep -q "provider agg: healthy again" "$T_DIR/rechargd.log"
check "  ledger holds" ledger_ok

for mode in 500 hang garbage; do
	control agg "{\"mode\":\"$mode\",\"error_done\":1}"
	sim "mo $A RC 98765433${#mode}0 AIRTEL 10" >/dev/null
	tx=""; for _ in $(seq 1 50); do tx=$(sql "SELECT max(id) FROM txns WHERE target = '98765433${#mode}0'"); [ -n "$tx" ] && break; sleep 0.1; done
	tid=$(printf 'TXN%09d' "$tx")
	check "$mode after the request: PENDING, not failed over" sim "expect 10 $A ^PENDING 98765433${#mode}0 AIRTEL Rs10\.00 Txn:$tid"
	check "  php never saw it" test "$(txn_done php "$tid")" != true
	control agg '{"mode":"success"}'
	check "  the status poll settles it (the provider did it)" sim "expect 15 $A ^SUCCESS 98765433${#mode}0 AIRTEL Rs10\.00 Txn:$tid"
	check "  never refunded, done once" test "$(stat agg duplicates)" = 0
done
check "ledger holds after the unknown cases" ledger_ok

control agg '{"mode":"pending","pending_then":"callback"}'
t "pending then a callback: PENDING, then SUCCESS" "RC 9876543400 AIRTEL 50" \
	"^PENDING 9876543400 AIRTEL Rs50\.00 Txn:$TXN Bal:Rs" "^SUCCESS 9876543400 AIRTEL Rs50\.00 Txn:$TXN Ref:"
control agg '{"mode":"pending","pending_then":"poll"}'
t "pending then polled: PENDING, then SUCCESS" "RC 9876543401 AIRTEL 50" \
	"^PENDING 9876543401 AIRTEL Rs50\.00 Txn:$TXN" "^SUCCESS 9876543401 AIRTEL Rs50\.00 Txn:$TXN Ref:"
check "callbacks were received" test "$(stat agg callbacks_sent)" -ge 1

cb() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
tid=$(last_txn)
state_before=$(sql "SELECT state, commission FROM txns WHERE id = ${tid#TXN}")
check "callback with a wrong secret: 403" test "$(cb -H 'X-Callback-Secret: nope' -d "txn_id=$tid&status=REVERSED" http://127.0.0.1:$T_HTTP_PORT/api/v1/callback/agg)" = 403
check "callback without a secret: 403" test "$(cb -d "txn_id=$tid&status=REVERSED" http://127.0.0.1:$T_HTTP_PORT/api/v1/callback/agg)" = 403
jtid=$(printf 'TXN%09d' "$(sql "SELECT max(id) FROM txns WHERE provider = 'php'")")
check "callback for another provider's transaction: 403" test "$(cb -H 'X-Callback-Secret: cb-secret' -d "txn_id=$jtid&status=FAILED" http://127.0.0.1:$T_HTTP_PORT/api/v1/callback/agg)" = 403
check "  nothing changed" test "$(sql "SELECT state, commission FROM txns WHERE id = ${tid#TXN}")" = "$state_before"

control agg "{\"pending_then\":\"both\"}"
control agg "{\"reverse_txn\":\"$tid\"}"
check "reversal by the provider: REVERSED, refunded, commission clawed back" sim "expect 10 $A ^REVERSED 9876543401 AIRTEL Rs50\.00 Txn:$tid Refunded Bal:Rs"
check "  state REVERSED" test "$(sql "SELECT state FROM txns WHERE id = ${tid#TXN}")" = REVERSED
check "  ledger holds after the reversal" ledger_ok

# restart: the provider that may have it is asked, never called again
control agg '{"mode":"pending","pending_then":"poll","settle_ms":4000}'
sim "mo $A RC 9876543500 AIRTEL 20" "expect 10 $A ^PENDING 9876543500" >/dev/null
kill -9 "$T_RD_PID"; wait "$T_RD_PID" 2>/dev/null
rd_start
check "after SIGKILL: polled to SUCCESS" sim "wait_bound 15" "expect 20 $A ^SUCCESS 9876543500 AIRTEL Rs20\.00"
check "  the provider was not called twice" test "$(stat agg duplicates)" = 0

control agg '{"mode":"success"}'
for _ in $(seq 1 80); do ctl provider list | grep -Eq '^agg .* [0-9]+\.[0-9]{2} at ' && break; sleep 0.1; done
check "balances read into provider list" bash -c "$(printf '%q ' "$RECHARGECTL") -c $(printf '%q' "$T_CONF") provider list | grep -E '^agg .* [0-9]+\.[0-9]{2} at '"
sim "mt_dump $T_DIR/mt.txt" >/dev/null
check "low balance: the admin is told by SMS" grep -Eq "^$ADMIN ALERT provider php balance Rs[0-9]+\.[0-9]{2} below Rs50000\.00$" "$T_DIR/mt.txt"
check "a recharge PENDING past stuck_pending_s: the admin is told" grep -Eq "^$ADMIN ALERT TXN[0-9]+ PENDING over 3 s: 9876543500 AIRTEL Rs20\.00 at agg$" "$T_DIR/mt.txt"
check "  once per recharge" test "$(grep -c "^$ADMIN ALERT TXN" "$T_DIR/mt.txt")" = "$(grep "^$ADMIN ALERT TXN" "$T_DIR/mt.txt" | cut -d' ' -f3 | sort -u | wc -l)"
check "rechargectl check passes at the end" ledger_ok
check "no provider did anything twice" test "$(stat agg duplicates)/$(stat php duplicates)" = 0/0
rd_stop
t_done
