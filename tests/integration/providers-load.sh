#!/usr/bin/env bash
# 2,000 recharges through an http-json provider that answers PENDING and settles each one
# later, some by callback and some only through status polls: every transaction ends
# final, each retailer is told the result once, balances are exact, nothing is done twice.
. "$(dirname "$0")/../lib.sh"

N=${PROVIDERS_LOAD_N:-2000}
PROVSIM="$ROOT/$B/provsim"
T_PENDING_REPLY_S=30
t_setup providers-load
# provsim_up NAME ARGS...: a simulator on a free port; PORT_NAME
provsim_up() {
	local name=$1; shift
	"$PROVSIM" --listen 127.0.0.1:0 --shape json --mode pending --settle-ms 1500 "$@" \
		>"$T_DIR/$name.out" 2>"$T_DIR/$name.log" &
	T_PIDS="$T_PIDS $!"
	for _ in $(seq 1 100); do grep -q '^LISTENING' "$T_DIR/$name.out" && break; sleep 0.05; done
	eval "PORT_$name=$(sed -n 's/^LISTENING .*:\([0-9]*\)$/\1/p' "$T_DIR/$name.out")"
}
# AIRTEL goes to one that settles only by callback, JIO to one that settles only when polled
provsim_up cb --pending-then callback --callback-url "http://127.0.0.1:$T_HTTP_PORT/api/v1/callback/cb" \
	--callback-secret s3
provsim_up poll --pending-then poll
provider() {
	cat <<CONF
[provider.$1]
type = http-json
recharge_url = http://127.0.0.1:$2/recharge
recharge_method = POST
recharge_body = {"txn_id":"\${txn_id}","mobile":"\${mobile}","operator":"\${op}","amount":"\${amount}"}
status_url = http://127.0.0.1:$2/status?txn_id=\${txn_id}
status_field = data.txn.status
ref_field = data.txn.ref
success_values = SUCCESS
pending_values = PENDING
failure_values = FAILED
reversed_values = REVERSED
callback_secret = s3
max_connections = 32
CONF
}
{ provider cb "$PORT_cb"; provider poll "$PORT_poll"; printf '[engine]\nstatus_poll_s = 2\nstatus_poll_max = 60\n'; } >>"$T_CONF"
ctl route set AIRTEL cb >/dev/null
ctl route set JIO poll >/dev/null
for i in 0 1 2 3 4 5 6 7 8 9; do
	ctl retailer add 91980000001$i --name "Shop $i" >/dev/null
	ctl wallet credit 91980000001$i 10000 >/dev/null
done
sim_start
rd_start
check "binds" sim "wait_bound 10"
# 200 each from 10 retailers: targets 9600000000.. distinct
for i in 0 1 2 3 4 5 6 7 8 9; do
	op=AIRTEL; [ $((i % 2)) = 1 ] && op=JIO
	printf 'burst %d 91980000001%d RC 96%d%%07d %s 10\n' $((N / 10)) $i $i $op >&7
done
check "every MO answered" sim "wait_mo_resps 120"
left=1
for _ in $(seq 1 1200); do
	left=$(sql "SELECT count(*) FROM txns WHERE state = 'PENDING'")
	[ "$left" = 0 ] && break
	sleep 0.1
done
check "all $N transactions final ($left left)" test "$left" = 0 -a "$(sql "SELECT count(*) FROM txns")" = "$N"
for _ in $(seq 1 300); do [ "$(sql "SELECT count(*) FROM sms_out WHERE state = 'queued'")" = 0 ] && break; sleep 0.1; done
check "each retailer told the result once per recharge" test \
	"$(sql "SELECT count(*) FROM txns t WHERE (SELECT count(*) FROM sms_out o WHERE o.txn_id = t.id AND o.text NOT LIKE 'PENDING%') <> 1")" = 0
check "and every result reached the SMSC" test "$(sql "SELECT count(*) FROM sms_out WHERE state <> 'sent'")" = 0
stats() { curl -s --max-time 5 "http://127.0.0.1:$1/_stats" | jq -r "$2"; }
cbs=$(stats "$PORT_cb" .callbacks_sent)
check "half settled by callback ($cbs callbacks for $(sql "SELECT count(*) FROM txns WHERE provider = 'cb'"))" \
	test "$cbs" -ge "$((N / 2))" -a "$(sql "SELECT count(*) FROM txns WHERE provider = 'cb' AND state = 'SUCCESS'")" = "$((N / 2))"
check "half settled by status polls" test "$(sql "SELECT count(*) FROM txns WHERE provider = 'poll' AND state = 'SUCCESS'")" = "$((N / 2))"
check "balances exact: each wallet = 10000 - its successes" test "$(sql "SELECT count(*) FROM retailers r JOIN accounts w ON w.id = r.wallet_account
	WHERE w.balance <> 1000000 - (SELECT coalesce(sum(amount), 0) FROM txns t WHERE t.retailer_id = r.id AND t.state = 'SUCCESS')")" = 0
dups=$(( $(stats "$PORT_cb" .duplicates) + $(stats "$PORT_poll" .duplicates) ))
check "the provider did nothing twice ($dups)" test "$dups" = 0
out=$(ctl check 2>&1); check "rechargectl check passes" test $? -eq 0
rd_stop
t_done
