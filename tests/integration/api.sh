#!/usr/bin/env bash
# The REST API end to end: the real rechargd, curl as the client. The documented seed
# answer field by field (types, exact two-decimal money text), every error code an API
# call can produce with its HTTP status, JSON and form bodies, idempotency by request_id
# (also across a restart), the IP allow-list from a second loopback address, 200 parallel
# recharges from one retailer whose balance covers 100, SMS and API recharges of one
# retailer interleaved, hostile bodies, slow-loris clients, the connection cap, the rate
# limit; afterwards the ledger invariants hold and no key reached the log.
. "$(dirname "$0")/../lib.sh"

T_SIM_CONFIG="latency_ms = 0
[provider.down]
type = sim
down_pct = 100
[provider.fail]
type = sim
success_pct = 0
[provider.slow]
type = sim
latency_ms = 2500"
t_setup api
cp "$T_CONF" "$T_CONF.base"
# reconf: the base config with these [http] and [engine] values (RATE, BURST, MAXCONN,
# MAXINFLIGHT override them), reread with SIGHUP when the daemon runs
reconf() {
	{ cat "$T_CONF.base"
	  printf '[http]\nsync_wait_ms = 1000\nidle_timeout_s = 3\nrate_limit_per_key = %s\nrate_burst = %s\n' \
		"${RATE:-1000}" "${BURST:-1000}"
	  printf 'max_connections = %s\n[engine]\nmax_inflight = %s\n' "${MAXCONN:-1024}" "${MAXINFLIGHT:-20000}"
	} >"$T_CONF"
	if [ -n "${T_RD_PID:-}" ]; then
		kill -HUP "$T_RD_PID"
		for _ in $(seq 1 50); do
			[ "$(grep -c 'configuration reloaded\|reload refused' "$T_DIR/rechargd.log")" -gt "${T_RELOADS:-0}" ] && break
			sleep 0.1
		done
		T_RELOADS=$(grep -c 'configuration reloaded\|reload refused' "$T_DIR/rechargd.log")
	fi
}
reconf

A=919800000001; B=919800000002; C=919800000003; D=919800000004; E=919800000005; X=919800000006
ctl retailer add $A --name "Seed Shop" --plan platinum >/dev/null
ctl retailer add $B --name "Other Shop" >/dev/null
ctl retailer add $C --name "Poor Shop" >/dev/null
ctl retailer add $D --name "Busy Shop" >/dev/null
ctl retailer add $E --name "Both Shop" >/dev/null
ctl retailer add $X --name "Gone Shop" >/dev/null
ctl wallet credit $A 9841.50 >/dev/null
ctl wallet credit $B 1000 >/dev/null
ctl wallet credit $C 250.50 >/dev/null
ctl wallet credit $D 1000 >/dev/null
ctl wallet credit $E 300 >/dev/null
ctl wallet credit $X 100 >/dev/null
ctl retailer disable $X >/dev/null
key() { ctl apikey create "$@" | tail -1; }
KA=$(key $A); KB=$(key $B); KC=$(key $C); KD=$(key $D); KE=$(key $E); KX=$(key $X)
KR=$(key $A); KIP=$(key $A --allow-ip 127.0.0.2)
ctl apikey revoke "${KR:0:11}" >/dev/null
check "keys created" test ${#KA} -eq 46 -a ${#KIP} -eq 46
sql "INSERT INTO routes VALUES ('BSNL', 'down'), ('MTNL', 'fail'), ('JIO', 'slow');
     INSERT INTO operators (code, service, min_amount, max_amount) VALUES ('BESCOM', 'ELECTRICITY', 1000, 1000000);"

rd_start -vv
U=http://127.0.0.1:$T_HTTP_PORT
for _ in $(seq 1 50); do curl -s -o /dev/null --max-time 1 "$U/healthz" && break; sleep 0.1; done

# api CURL-ARGS...: sets CODE, BODY and HDRS (the response headers)
api() {
	local out
	out=$(curl -s --max-time 20 -D "$T_DIR/hdrs" -w '\n%{http_code}' "$@")
	CODE=${out##*$'\n'}; BODY=${out%$'\n'*}
	HDRS=$(tr -d '\r' <"$T_DIR/hdrs" 2>/dev/null)
}
# rc JSON [CURL-ARGS...]: POST /api/v1/recharge with a JSON body
rc() { local j=$1; shift; api -X POST "$U/api/v1/recharge" -H 'Content-Type: application/json' -d "$j" "$@"; }
jqe() { jq -e "$@" >/dev/null; }
jqb() { jq -r "$1" <<<"$BODY"; }
declare -A MSG=([1001]="Invalid API key" [1002]="Insufficient balance" [1003]="Invalid mobile number"
	[1004]="Invalid operator" [1005]="Invalid amount" [1006]="Duplicate recharge"
	[1007]="Rate limit exceeded" [1008]="Service not in your plan" [1009]="Missing or invalid parameter"
	[1012]="Account locked" [1014]="Transaction not found" [1015]="Daily limit reached"
	[2001]="Operator system down" [3002]="Service busy, retry later")
# is_err HTTP CODE [PARAM]: the last answer is exactly that error
is_err() {
	local msg=${MSG[$2]}
	[ -n "${3:-}" ] && msg="$msg: $3"
	[ "$CODE" = "$1" ] && [ "$BODY" = "{\"status\":\"error\",\"error_code\":\"$2\",\"message\":\"$msg\"}" ] && return 0
	echo "    got HTTP $CODE $BODY"; return 1
}
# e NAME HTTP CODE [PARAM] -- JSON [CURL-ARGS...]: a recharge answered with that error
e() {
	local name=$1 http=$2 code=$3 param=""
	shift 3
	if [ "$1" != "--" ]; then param=$1; shift; fi
	shift
	rc "$@"
	check "$code: $name" is_err "$http" "$code" "$param"
}
bal() { api -H "X-API-Key: $1" "$U/api/v1/balance"; jqb .balance; }
TXN='TXN[0-9]{9,}'

# ---- the documented seed answer -------------------------------------------------------
rc "{\"api_key\":\"$KA\",\"mobile\":\"1123456789\",\"operator\":\"TATAPLAY\",\"amount\":299,\"request_id\":\"seed-1\"}"
SEED_BODY=$BODY
check "seed: HTTP 200, JSON" test "$CODE" = 200 -a -n "$(grep -i '^content-type: application/json' <<<"$HDRS")"
check "seed: exactly the documented fields, in order" \
	test "$(jq -c keys_unsorted <<<"$BODY")" = '["status","transaction_id","message","amount","commission","balance"]'
check "seed: types and values" jqe '.status == "success" and (.transaction_id | test("^TXN[0-9]{9,}$"))
	and .message == "Recharge successful" and (.amount | type) == "number" and (.commission | type) == "number"
	and (.balance | type) == "number" and .amount == 299 and .commission == 17.94 and .balance == 9542.5' <<<"$BODY"
check "seed: raw body is the documented one, two-decimal money text" \
	grep -Eqx "\{\"status\":\"success\",\"transaction_id\":\"$TXN\",\"message\":\"Recharge successful\",\"amount\":299\.00,\"commission\":17\.94,\"balance\":9542\.50\}" <<<"$BODY"
SEED_TXN=$(jqb .transaction_id)

api -H "X-API-Key: $KA" "$U/api/v1/balance"
check "balance: the documented body, two-decimal money text" \
	test "$CODE:$BODY" = '200:{"status":"success","balance":9542.50,"commission_unsettled":17.94}'
api -X POST "$U/api/v1/balance" -d "api_key=$KA"
check "balance by POST with the key in a form body" test "$CODE:$BODY" = '200:{"status":"success","balance":9542.50,"commission_unsettled":17.94}'

api -H "X-API-Key: $KA" "$U/api/v1/status?transaction_id=$SEED_TXN"
check "status: documented fields, in order" test "$(jq -c keys_unsorted <<<"$BODY")" = \
	'["status","transaction_id","request_id","state","mobile","operator","amount","commission","operator_ref","error_code","created_at","updated_at"]'
check "status: values" jqe --arg t "$SEED_TXN" '.status == "success" and .transaction_id == $t and .request_id == "seed-1"
	and .state == "SUCCESS" and .mobile == "1123456789" and .operator == "TATAPLAY" and .amount == 299
	and .commission == 17.94 and (.operator_ref | test("^SIM[0-9]+$")) and .error_code == null
	and (.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\+05:30$"))
	and (.updated_at | test("\\+05:30$"))' <<<"$BODY"
check "status: money as two-decimal text" grep -q '"amount":299.00,"commission":17.94,' <<<"$BODY"
api -X POST "$U/api/v1/status" -H 'Content-Type: application/json' -d "{\"api_key\":\"$KA\",\"request_id\":\"seed-1\"}"
check "status by request_id (POST, JSON)" test "$CODE" = 200 -a "$(jqb .transaction_id)" = "$SEED_TXN"

# ---- bodies: form, numbers, strings ----------------------------------------------------
api -X POST "$U/api/v1/recharge" -d "api_key=$KA&mobile=%2B919876543210&operator=airtel&amount=10.5&circle=dl"
check "form-encoded body, +91 number, lowercase operator and circle" \
	test "$CODE" = 200 -a "$(jqb .status)" = success -a "$(jqb .amount)" = 10.5
rc '{"mobile":9876543211,"operator":"AT","amount":"20.00"}' -H "X-API-Key: $KA"
check "mobile as a JSON number, amount as a string, key in X-API-Key" test "$CODE" = 200 -a "$(jqb .status)" = success
rc '{"mobile":"9876543212","operator":"AIRTEL","amount":20.5}' -H "X-API-Key: $KA"
check "amount as a JSON real" test "$CODE" = 200 -a "$(jqb .amount)" = 20.5
check "raw 20.50" grep -q '"amount":20.50,' <<<"$BODY"
# escapes in names and values (jansson reads those bodies; plain ones are read in place)
rc '{"mobil\u0065":"9876543214","operator":"AIR\u0054EL","amount":10}' -H "X-API-Key: $KA"
check "escaped JSON names and values are decoded" test "$CODE" = 200 -a "$(jqb .status)" = success
api -X POST "$U/api/v1/recharge" -H 'Content-Type: application/x-www-form-urlencoded' \
	-d "{\"api_key\":\"$KA\",\"mobile\":\"9876543213\",\"operator\":\"AIRTEL\",\"amount\":10}"
check "JSON sent as a form (curl -d) is read as JSON" test "$CODE" = 200 -a "$(jqb .status)" = success

# ---- every error an API call can produce -------------------------------------------------
good='"mobile":"9876543299","operator":"AIRTEL","amount":10'
e "no key" 401 1001 -- "{$good}"
e "unknown key" 401 1001 -- "{\"api_key\":\"rk_nosuchkeynosuchkeynosuchkeynosuchkeynosuchk\",$good}"
e "revoked key" 401 1001 -- "{\"api_key\":\"$KR\",$good}"
e "huge key" 401 1001 -- "{\"api_key\":\"$(printf 'k%.0s' $(seq 1 500))\",$good}"
e "allow-listed key from another address" 401 1001 -- "{\"api_key\":\"$KIP\",$good}"
api -H "X-API-Key: $KIP" --interface 127.0.0.2 "$U/api/v1/balance"
check "allow-listed key from 127.0.0.2 (curl --interface)" test "$CODE" = 200 -a "$(jqb .status)" = success
api "$U/api/v1/balance?api_key=$KA"
check "1001: key in the URL is not taken" is_err 401 1001
rc "{\"api_key\":\"$KC\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":299}"
check "1002: the documented body exactly" \
	test "$CODE:$BODY" = '402:{"status":"error","error_code":"1002","message":"Insufficient balance","required_amount":299.00,"current_balance":250.50}'
e "bad mobile" 400 1003 -- "{\"api_key\":\"$KA\",\"mobile\":\"12345\",\"operator\":\"AIRTEL\",\"amount\":10}"
e "mobile starting 5" 400 1003 -- "{\"api_key\":\"$KA\",\"mobile\":\"5876543210\",\"operator\":\"AIRTEL\",\"amount\":10}"
e "bad DTH subscriber ID" 400 1003 -- "{\"api_key\":\"$KA\",\"mobile\":\"2123456789\",\"operator\":\"TATAPLAY\",\"amount\":200}"
e "overlong mobile" 400 1003 -- "{\"api_key\":\"$KA\",\"mobile\":\"$(printf '9%.0s' $(seq 1 100))\",\"operator\":\"AIRTEL\",\"amount\":10}"
e "unknown operator" 400 1004 -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"NOSUCH\",\"amount\":10}"
e "below the minimum" 400 1005 -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":5}"
e "three decimals (string)" 400 1005 -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":\"10.555\"}"
e "three decimals (number)" 400 1005 -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":10.555}"
e "negative" 400 1005 -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":-10}"
e "digit-group commas" 400 1005 -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":\"1,000\"}"
e "not a number" 400 1005 -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":\"ten\"}"
e "duplicate of the seed" 409 1006 -- "{\"api_key\":\"$KA\",\"mobile\":\"1123456789\",\"operator\":\"TATAPLAY\",\"amount\":299}"
e "service not in plan" 403 1008 -- "{\"api_key\":\"$KB\",\"mobile\":\"9876543210\",\"operator\":\"BESCOM\",\"amount\":100}"
e "missing mobile" 400 1009 mobile -- "{\"api_key\":\"$KA\",\"operator\":\"AIRTEL\",\"amount\":10}"
e "missing operator" 400 1009 operator -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"amount\":10}"
e "missing amount" 400 1009 amount -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\"}"
e "unknown circle" 400 1009 circle -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":10,\"circle\":\"XX\"}"
e "malformed circle" 400 1009 circle -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":10,\"circle\":\"D1\"}"
e "request_id of 65 characters" 400 1009 request_id -- "{\"api_key\":\"$KA\",$good,\"request_id\":\"$(printf 'r%.0s' $(seq 1 65))\"}"
e "empty request_id" 400 1009 request_id -- "{\"api_key\":\"$KA\",$good,\"request_id\":\"\"}"
e "amount of the wrong type" 400 1009 amount -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":true}"
e "mobile of the wrong type" 400 1009 mobile -- "{\"api_key\":\"$KA\",\"mobile\":{},\"operator\":\"AIRTEL\",\"amount\":10}"
e "operator of the wrong type" 400 1009 operator -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":5,\"amount\":10}"
e "malformed JSON" 400 1009 body -- "{\"api_key\":\"$KA\",\"mobile\":"
e "a JSON array" 400 1009 body -- "[\"$KA\"]"
e "duplicate JSON keys" 400 1009 body -- "{\"api_key\":\"$KA\",$good,\"amount\":20}"
e "duplicate JSON keys, one escaped" 400 1009 body -- "{\"api_key\":\"$KA\",$good,\"amoun\\u0074\":20}"
e "a JSON number with a leading zero" 400 1009 body -- "{\"api_key\":\"$KA\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":010}"
e "a NUL in a string" 400 1009 body -- "{\"api_key\":\"$KA\",\"mobile\":\"98765\\u00003210\",\"operator\":\"AIRTEL\",\"amount\":10}"
e "disabled retailer" 403 1012 -- "{\"api_key\":\"$KX\",$good}"
ctl retailer set-limit $B 20 >/dev/null
e "daily limit" 403 1015 -- "{\"api_key\":\"$KB\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":50}"
ctl retailer set-limit $B 0 >/dev/null
before=$(bal "$KA")
rc "{\"api_key\":\"$KA\",\"mobile\":\"9811000002\",\"operator\":\"BSNL\",\"amount\":10}"
check "2001: every provider down, HTTP 503 with transaction_id" \
	grep -Eqx "\{\"status\":\"error\",\"error_code\":\"2001\",\"message\":\"Operator system down\",\"transaction_id\":\"$TXN\"\}" <<<"$BODY"
check "2001: HTTP 503, Retry-After" test "$CODE" = 503 -a -n "$(grep -i '^retry-after: ' <<<"$HDRS")"
check "2001: hold refunded" test "$(bal "$KA")" = "$before"
rc "{\"api_key\":\"$KA\",\"mobile\":\"9811000003\",\"operator\":\"MTNL\",\"amount\":10}"
check "2002: failed, refunded balance, HTTP 200" test "$CODE" = 200 -a -n "$(grep -Ex "\{\"status\":\"failed\",\"transaction_id\":\"$TXN\",\"error_code\":\"2002\",\"message\":\"Recharge failed\",\"amount\":10\.00,\"balance\":[0-9]+\.[0-9]{2}\}" <<<"$BODY")"
check "2002: the balance is the refunded one" test "$(jqb .balance)" = "$before"
api -H "X-API-Key: $KA" "$U/api/v1/status?transaction_id=$(jqb .transaction_id)"
check "2002: status FAILED with error_code \"2002\"" test "$(jqb .state):$(jqb .error_code)" = 'FAILED:2002'

t0=$(date +%s%N)
rc "{\"api_key\":\"$KA\",\"mobile\":\"9811000004\",\"operator\":\"JIO\",\"amount\":10,\"request_id\":\"slow-1\"}"
t1=$(date +%s%N)
check "pending: not settled within sync_wait_ms (1 s)" grep -Eqx \
	"\{\"status\":\"pending\",\"transaction_id\":\"$TXN\",\"message\":\"Recharge pending\",\"amount\":10\.00,\"commission\":0\.00,\"balance\":[0-9]+\.[0-9]{2}\}" <<<"$BODY"
check "pending: after about sync_wait_ms ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -ge 900 -a $(( (t1 - t0) / 1000000 )) -lt 2400
SLOW_TXN=$(jqb .transaction_id)
rc "{\"api_key\":\"$KA\",\"mobile\":\"9811000099\",\"operator\":\"AIRTEL\",\"amount\":999,\"request_id\":\"slow-1\"}"
check "pending: a repeat of its request_id returns it pending, nothing held" \
	test "$(jqb .status):$(jqb .transaction_id):$(jqb .amount)" = "pending:$SLOW_TXN:10"
sleep 2
api -H "X-API-Key: $KA" "$U/api/v1/status?request_id=slow-1"
check "pending: settled later (status by request_id)" test "$(jqb .state)" = SUCCESS
rc "{\"api_key\":\"$KA\",\"mobile\":\"9811000004\",\"operator\":\"JIO\",\"amount\":10,\"request_id\":\"slow-1\"}"
check "pending: the repeat now says success" test "$(jqb .status):$(jqb .transaction_id)" = "success:$SLOW_TXN"

api -H "X-API-Key: $KA" "$U/api/v1/status?transaction_id=TXN999999999"
check "1014: unknown transaction" is_err 404 1014
api -H "X-API-Key: $KB" "$U/api/v1/status?transaction_id=$SEED_TXN"
check "1014: another retailer's transaction" is_err 404 1014
api -H "X-API-Key: $KB" "$U/api/v1/status?request_id=seed-1"
check "1014: another retailer's request_id" is_err 404 1014
api -H "X-API-Key: $KA" "$U/api/v1/status"
check "1009: status without an id" is_err 400 1009 transaction_id
api -H "X-API-Key: $KA" "$U/api/v1/transactions?from=2026-13-01"
check "1009: a bad date" is_err 400 1009 from
api -H "X-API-Key: $KA" "$U/api/v1/transactions?limit=0"
check "1009: a bad limit" is_err 400 1009 limit

# storage unavailable: another process holds the write lock
python3 - "$T_DIR/rechargd.db" "$T_DIR/locked" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(1.5)
c.execute("ROLLBACK")
PY
LOCKER=$!
for _ in $(seq 1 100); do [ -e "$T_DIR/locked" ] && break; sleep 0.05; done
rc "{\"api_key\":\"$KA\",\"mobile\":\"9876543290\",\"operator\":\"AIRTEL\",\"amount\":10,\"request_id\":\"locked-1\"}"
check "3002: storage unavailable, HTTP 503" is_err 503 3002
check "3002: with Retry-After" grep -qi '^retry-after: 1$' <<<"$HDRS"
wait $LOCKER
rc "{\"api_key\":\"$KA\",\"mobile\":\"9876543290\",\"operator\":\"AIRTEL\",\"amount\":10,\"request_id\":\"locked-1\"}"
check "3002: the same request_id succeeds once storage is back" test "$CODE:$(jqb .status)" = "200:success"

# the engine at max_inflight: a slow recharge in flight, a cap of one
MAXINFLIGHT=1 reconf
rc "{\"api_key\":\"$KA\",\"mobile\":\"9811000005\",\"operator\":\"JIO\",\"amount\":10}"
check "a slow one in flight (pending)" test "$(jqb .status)" = pending
rc "{\"api_key\":\"$KA\",\"mobile\":\"9876543291\",\"operator\":\"AIRTEL\",\"amount\":10}"
check "3002: at max_inflight, HTTP 503" is_err 503 3002
reconf
sleep 2

# rate limit per key: 3 at once, then one a second
RATE=1 BURST=3 reconf
codes=""
for i in 1 2 3 4; do api -H "X-API-Key: $KB" "$U/api/v1/balance"; codes="$codes$CODE "; done
check "rate: the burst passes, then 429 ($codes)" test "$codes" = "200 200 200 429 "
check "1007: rate limit exceeded" is_err 429 1007
check "1007: with Retry-After" grep -qi '^retry-after: [1-9]' <<<"$HDRS"
api -H "X-API-Key: $KC" "$U/api/v1/balance"
check "rate: another key is not limited" test "$CODE" = 200
sleep 1.1
api -H "X-API-Key: $KB" "$U/api/v1/balance"
check "rate: a token back after a second" test "$CODE" = 200
reconf

# paths and methods
api "$U/api/v1/nope"
check "unknown path: 404 JSON" test "$CODE:$(jqb .status)" = "404:error"
api "$U/api/v1/recharge"
check "GET /recharge: 405 with Allow: POST" test "$CODE" = 405 -a -n "$(grep -ix 'allow: POST' <<<"$HDRS")"
api -X DELETE -H "X-API-Key: $KA" "$U/api/v1/balance"
check "DELETE /balance: 405" test "$CODE" = 405
api -X POST -H "X-API-Key: $KA" "$U/api/v1/transactions"
check "POST /transactions: 405" test "$CODE" = 405
head -c 1048576 /dev/zero | tr '\0' 'a' >"$T_DIR/big"
api -X POST "$U/api/v1/recharge" -H "X-API-Key: $KA" --data-binary @"$T_DIR/big"
check "1 MiB body: 413" test "$CODE" = 413
check "413 leaks nothing" test -z "$(grep -Ei 'rechargd|libevent|sqlite|\.c:' <<<"$BODY")"
check "still serving after the 413" test "$(bal "$KA")" != ""

# ---- the statement ---------------------------------------------------------------------------
today=$(TZ=Asia/Kolkata date +%F)
api -H "X-API-Key: $KA" "$U/api/v1/transactions?limit=3"
check "transactions: 3 newest first" jqe '.status == "success" and .count == 3 and (.transactions | length) == 3
	and (.transactions[0].transaction_id > .transactions[1].transaction_id)
	and (.transactions[1].transaction_id > .transactions[2].transaction_id)' <<<"$BODY"
api -H "X-API-Key: $KA" "$U/api/v1/transactions?from=$today&to=$today&limit=500"
n_today=$(jqb .count)
check "transactions: today (IST) holds all of A's ($n_today)" test "$n_today" = "$(sql "SELECT count(*) FROM txns t JOIN retailers r ON r.id = t.retailer_id WHERE r.msisdn = '$A'")"
check "transactions: money as two-decimal text" grep -q '"amount":299.00,"commission":17.94,' <<<"$BODY"
api -H "X-API-Key: $KA" "$U/api/v1/transactions?from=2020-01-01&to=2020-01-02"
check "transactions: an old range is empty" test "$(jqb .count)" = 0
api -H "X-API-Key: $KB" "$U/api/v1/transactions"
check "transactions: only one's own" test "$(jq '[.transactions[].transaction_id] | index("'"$SEED_TXN"'")' <<<"$BODY")" = null

# ---- idempotency -----------------------------------------------------------------------------
rc "{\"api_key\":\"$KA\",\"mobile\":\"9876543280\",\"operator\":\"AIRTEL\",\"amount\":50,\"request_id\":\"idem-1\"}"
IDEM_TXN=$(jqb .transaction_id); IDEM_BAL=$(jqb .balance)
rc "{\"api_key\":\"$KA\",\"mobile\":\"9876543280\",\"operator\":\"AIRTEL\",\"amount\":50,\"request_id\":\"idem-1\"}"
check "idempotent: the same transaction again" test "$(jqb .status):$(jqb .transaction_id)" = "success:$IDEM_TXN"
rc "{\"api_key\":\"$KA\",\"mobile\":\"9876543281\",\"operator\":\"AIRTEL\",\"amount\":70,\"request_id\":\"idem-1\"}"
check "idempotent: other fields, same request_id: still the first" test "$(jqb .transaction_id):$(jqb .amount)" = "$IDEM_TXN:50"
check "idempotent: one hold only" test "$(bal "$KA")" = "$IDEM_BAL"
check "idempotent: one row" test "$(sql "SELECT count(*) FROM txns t JOIN retailers r ON r.id = t.retailer_id WHERE request_id = 'idem-1' AND r.msisdn = '$A'")" = 1
rc "{\"api_key\":\"$KB\",\"mobile\":\"9876543280\",\"operator\":\"AIRTEL\",\"amount\":50,\"request_id\":\"idem-1\"}"
check "idempotent: request_ids are per retailer" test "$(jqb .status)" = success -a "$(jqb .transaction_id)" != "$IDEM_TXN"

rd_stop
check "restart: SIGTERM exit 0" test "${T_RD_RC:-1}" -eq 0
rd_start -vv
for _ in $(seq 1 50); do curl -s -o /dev/null --max-time 1 "$U/healthz" && break; sleep 0.1; done
rc "{\"api_key\":\"$KA\",\"mobile\":\"9876543280\",\"operator\":\"AIRTEL\",\"amount\":50,\"request_id\":\"idem-1\"}"
check "idempotent across a restart: the same transaction" test "$CODE:$(jqb .status):$(jqb .transaction_id)" = "200:success:$IDEM_TXN"
check "idempotent across a restart: no second hold" test "$(bal "$KA")" = "$IDEM_BAL"
check "idempotent across a restart: one row" test "$(sql "SELECT count(*) FROM txns t JOIN retailers r ON r.id = t.retailer_id WHERE request_id = 'idem-1' AND r.msisdn = '$A'")" = 1
rc "{\"api_key\":\"$KA\",\"mobile\":\"1123456789\",\"operator\":\"TATAPLAY\",\"amount\":299,\"request_id\":\"seed-1\"}"
check "the seed's request_id across a restart" test "$(jqb .transaction_id)" = "$SEED_TXN"

# ---- 200 parallel recharges, balance for 100 -------------------------------------------
# each answer to its own file: curl writes body and -w separately, parallel ones interleave
mkdir -p "$T_DIR/conc"
t0=$(date +%s%N)
seq -w 1 200 | xargs -P 200 -I{} curl -s --max-time 60 -X POST "$U/api/v1/recharge" -H "X-API-Key: $KD" \
	-H 'Content-Type: application/json' -d '{"mobile":"96000{}00","operator":"AIRTEL","amount":10}' \
	-o "$T_DIR/conc/{}.json" -w '%{http_code} %{time_total}\n' >"$T_DIR/conc.txt"
t1=$(date +%s%N)
n_200=$(grep -c '^200 ' "$T_DIR/conc.txt"); n_402=$(grep -c '^402 ' "$T_DIR/conc.txt")
n_ok=$(grep -l '^{"status":"success",' "$T_DIR"/conc/*.json | wc -l)
n_1002=$(grep -lx '{"status":"error","error_code":"1002","message":"Insufficient balance","required_amount":10.00,"current_balance":[0-9]*\.[0-9][0-9]}' "$T_DIR"/conc/*.json | wc -l)
slowest=$(awk '{print $2}' "$T_DIR/conc.txt" | sort -n | tail -1)
echo "# 200 parallel: $n_ok success (HTTP 200: $n_200), $n_1002 x 1002 (HTTP 402: $n_402), $(( (t1 - t0) / 1000000 )) ms in all, slowest answer ${slowest}s"
check "concurrency: exactly 100 succeed (HTTP 200)" test "$n_ok:$n_200" = 100:100
check "concurrency: exactly 100 get 1002 (HTTP 402)" test "$n_1002:$n_402" = 100:100
api -H "X-API-Key: $KD" "$U/api/v1/balance"
check "concurrency: balance ends 0.00" test "$BODY" = '{"status":"success","balance":0.00,"commission_unsettled":30.00}'
check "concurrency: 100 SUCCESS rows" test "$(sql "SELECT count(*) FROM txns t JOIN retailers r ON r.id = t.retailer_id WHERE r.msisdn = '$D' AND state = 'SUCCESS'")" = 100
out=$(ctl check 2>&1); check "concurrency: rechargectl check passes" test $? -eq 0

# ---- SMS and API recharges of one retailer, interleaved (balance for 30 of 40) ------------
sim_start
check "SMSC bound" sim "wait_bound 15"
# one MO every 40 ms in the simulator, one API call every 40 ms here, side by side
for i in $(seq -w 1 20); do printf 'mo %s RC 97000000%s AIRTEL 10\nsleep 40\n' "$E" "$i" >&7; done
mkdir -p "$T_DIR/mixed"
pids=""
for i in $(seq -w 1 20); do
	curl -s --max-time 60 -X POST "$U/api/v1/recharge" -H "X-API-Key: $KE" \
		-d "mobile=95000000$i&operator=AIRTEL&amount=10" -o "$T_DIR/mixed/$i.json" &
	pids="$pids $!"
	sleep 0.04
done
wait $pids
check "the MOs answered" sim "wait_mo_resps 20"
for _ in $(seq 1 100); do
	sim "mt_dump $T_DIR/mt.txt" >/dev/null
	[ "$(grep -c "^$E " "$T_DIR/mt.txt")" -ge 20 ] && break
	sleep 0.2
done
api_ok=$(grep -l '^{"status":"success",' "$T_DIR"/mixed/*.json | wc -l)
api_1002=$(grep -l '"error_code":"1002"' "$T_DIR"/mixed/*.json | wc -l)
sms_ok=$(grep -c "^$E SUCCESS " "$T_DIR/mt.txt")
sms_1002=$(grep -c "^$E ERR 1002 " "$T_DIR/mt.txt")
echo "# interleaved: API $api_ok success + $api_1002 x 1002, SMS $sms_ok success + $sms_1002 x 1002"
check "interleaved: 30 succeed across SMS and API" test $((api_ok + sms_ok)) = 30
check "interleaved: the other 10 get 1002" test $((api_1002 + sms_1002)) = 10
check "interleaved: both channels got through" test "$api_ok" -gt 0 -a "$sms_ok" -gt 0
order=$(sql "SELECT group_concat(substr(channel, 1, 1), '') FROM (SELECT channel FROM txns t JOIN retailers r ON r.id = t.retailer_id WHERE r.msisdn = '$E' ORDER BY t.id)")
echo "# interleaved: accepted in the order $order (s: SMS, a: API)"
check "interleaved: the channels alternate" test "$(grep -o 'sa\|as' <<<"$order" | wc -l)" -ge 4
check "interleaved: balance ends 0.00" test "$(bal "$KE")" = 0
out=$(ctl check 2>&1); check "interleaved: rechargectl check passes" test $? -eq 0

# ---- slow-loris clients, an idle one, while normal calls still answer ---------------------
python3 - "$T_HTTP_PORT" 5 12 >"$T_DIR/loris.txt" 2>&1 <<'PY' &
import socket, sys, time
port, n, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
req = b"POST /api/v1/recharge HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n" + b"x" * 64
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n + 1)]   # the last one idle
start, closed, i = time.time(), [None] * (n + 1), 0
while time.time() - start < limit and None in closed:
    for k, s in enumerate(socks):
        if closed[k] is not None:
            continue
        try:
            if k < n:
                s.send(req[i:i + 1])            # one byte a second
            s.setblocking(False)
            try:
                if s.recv(4096) == b"":
                    closed[k] = time.time() - start
            except BlockingIOError:
                pass
            s.setblocking(True)
        except OSError:
            closed[k] = time.time() - start
    i += 1
    time.sleep(1)
print(" ".join("%.1f" % c if c is not None else "open" for c in closed))
PY
LORIS=$!
sleep 0.5
worst=0
for i in 1 2 3 4 5 6; do
	t0=$(date +%s%N); api -H "X-API-Key: $KB" "$U/api/v1/balance"; t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 )); [ "$ms" -gt "$worst" ] && worst=$ms
	[ "$CODE" = 200 ] || worst=99999
	sleep 0.5
done
check "slow-loris: normal calls answer meanwhile (slowest ${worst} ms)" test "$worst" -lt 500
wait $LORIS
loris=$(cat "$T_DIR/loris.txt")
echo "# slow-loris connections closed after (s): $loris"
check "slow-loris: every trickling and idle connection closed within idle_timeout_s (3 s) + 2" \
	python3 -c 'import sys; v = sys.argv[1].split(); sys.exit(0 if len(v) == 6 and all(x != "open" and float(x) <= 5 for x in v) else 1)' "$loris"

# ---- the connection cap --------------------------------------------------------------------
MAXCONN=10 reconf
python3 - "$T_HTTP_PORT" >"$T_DIR/cap.txt" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(3)
try:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = s.recv(4096)
except OSError as e:
    data = b""
print(data.decode().replace("\r\n", " | ") or "closed")
for h in held:
    h.close()
PY
check "cap: the connection over max_connections is refused with 503 and 3002" grep -Eq \
	'^HTTP/1.1 503 .*Retry-After: 1 .*Content-Length: 76 \|  \| \{"status":"error","error_code":"3002","message":"Service busy, retry later"\}$' "$T_DIR/cap.txt"
sleep 0.3
api -H "X-API-Key: $KB" "$U/api/v1/balance"
check "cap: served again once they close" test "$CODE" = 200
reconf

# ---- afterwards -----------------------------------------------------------------------------------
leaked=0
for k in "$KA" "$KB" "$KC" "$KD" "$KE" "$KX" "$KR" "$KIP"; do grep -qF "$k" "$T_DIR/rechargd.log" && leaked=1; done
check "no API key in the log (-vv)" test $leaked -eq 0
check "every reload taken" test "$(grep -c 'reload refused' "$T_DIR/rechargd.log")" = 0
out=$(ctl check 2>&1); check "rechargectl check passes" test $? -eq 0
rd_stop
check "SIGTERM: exit 0" test "${T_RD_RC:-1}" -eq 0
t_done
