#!/usr/bin/env bash
# The provider simulator on its own, with curl as the client: both API shapes, the
# outcomes, idempotency (a repeated txn_id is counted, never done twice), 503 / 500 /
# hang / garbage, PENDING settled through the status endpoint and through callbacks
# (caught by a small Python receiver that checks the shared secret and the HMAC),
# reversal, the balance, /_control switching (with for_ms) and hostile input. Prints
# "ok NAME" / "not ok NAME" per check; every wait is bounded.
set -u
. "$(dirname "$0")/../lib.sh"
PROVSIM="$ROOT/$B/provsim"
D="$ROOT/$TEST_OUT/provsim"
rm -rf "$D"; mkdir -p "$D"
SECRET=cb-secret-42

# ---- helpers ---------------------------------------------------------------------------

# ps_start VAR NAME ARGS...: starts provsim, waits for its LISTENING line, sets VAR to
# its base URL and VAR_PID to its pid.
ps_start() {
	local var=$1 name=$2 pid addr; shift 2
	"$PROVSIM" "$@" -v >"$D/$name.out" 2>"$D/$name.err" &
	pid=$!
	T_PIDS="$T_PIDS $pid"
	eval "${var}_PID=$pid"
	for _ in $(seq 1 100); do grep -q '^LISTENING ' "$D/$name.out" && break; sleep 0.1; done
	addr=$(sed -n 's/^LISTENING //p' "$D/$name.out")
	eval "$var=http://$addr"
	[ -n "$addr" ]
}

# jget PATH: a value from the JSON on stdin ("data.txn.status"); <nojson> or <none>.
jget() {
	python3 -c '
import json, sys
try:
    v = json.loads(sys.stdin.read())
except Exception:
    print("<nojson>"); sys.exit(0)
for k in [k for k in sys.argv[1].split(".") if k]:
    try:
        v = v[k] if isinstance(v, dict) else v[int(k)]
    except Exception:
        print("<none>"); sys.exit(0)
print(str(v).lower() if isinstance(v, bool) else v)' "$1"
}

# req URL [curl args...]: the body goes to $D/body, the HTTP status to stdout
req() { local url=$1; shift; curl -s -m 5 -o "$D/body" -w '%{http_code}' "$@" "$url"; }
body() { jget "$1" <"$D/body"; }
# control BASE JSON: POST /_control; prints the HTTP status
control() { req "$1/_control" -X POST -H 'Content-Type: application/json' -d "$2"; }
stat() { curl -s -m 5 "$1/_stats" | jget "$2"; }
txn() { curl -s -m 5 "$1/_txn?txn_id=$2" | jget "$3"; }
# recharge_json BASE TXN AMOUNT: POST /recharge with a JSON body; status to stdout
recharge_json() {
	req "$1/recharge" -X POST -H 'Content-Type: application/json' \
	    -d "{\"txn_id\":\"$2\",\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":\"$3\",\"circle\":\"DL\",\"key\":\"${KEY:-}\"}"
}
status_json() { req "$1/status?txn_id=$2"; }
# wait_until TENTHS COMMAND...: polls the command until it succeeds
wait_until() {
	local n=$1; shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
eq() { [ "$1" = "$2" ] || { echo "    got '$1', want '$2'"; return 1; }; }
txn_is() { [ "$(txn "$1" "$2" "$3")" = "$4" ]; }
stat_is() { [ "$(stat "$1" "$2")" = "$3" ]; }
# cb_get TXN STATUS KEY: a field of the callback for TXN with STATUS
cb_get() {
	python3 - "$D/callbacks.jsonl" "$1" "$2" "$3" <<'PY'
import json, sys
path, txn, st, key = sys.argv[1:5]
try:
    lines = open(path).read().splitlines()
except OSError:
    lines = []
for l in lines:
    r = json.loads(l)
    if r["fields"].get("txn_id") == txn and r["fields"].get("status") == st:
        v = r.get(key, r["fields"].get(key, "<none>"))
        print(str(v).lower() if isinstance(v, bool) else v)
        break
else:
    print("<none>")
PY
}
has_cb() { [ "$(cb_get "$1" "$2" method)" != "<none>" ]; }

# A callback receiver: records every request as one JSON line (method, path, the
# fields from the query and the form or JSON body, the secret header, whether the
# X-Signature is the HMAC-SHA256 of the raw body, or of the query for GET); answers
# 500 on paths with /fail, 200 otherwise.
cat >"$D/receiver.py" <<'PY'
import hashlib, hmac, http.server, json, sys, urllib.parse
port_file, log_path, secret = sys.argv[1], sys.argv[2], sys.argv[3].encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        u = urllib.parse.urlsplit(self.path)
        fields = dict(urllib.parse.parse_qsl(u.query))
        if body:
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                fields.update(json.loads(body))
            else:
                fields.update(dict(urllib.parse.parse_qsl(body.decode())))
        signed = body if self.command == "POST" else u.query.encode()
        want = hmac.new(secret, signed, hashlib.sha256).hexdigest()
        rec = {"method": self.command, "path": u.path, "fields": fields,
               "hdr_secret": self.headers.get("X-Callback-Secret") or "",
               "sig_ok": hmac.compare_digest(want, self.headers.get("X-Signature") or ""),
               "content_type": self.headers.get("Content-Type") or ""}
        with open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        code = 500 if "/fail" in u.path else 200
        out = b"ok\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = handle_any
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
python3 "$D/receiver.py" "$D/receiver.port" "$D/callbacks.jsonl" "$SECRET" 2>"$D/receiver.err" &
T_PIDS="$T_PIDS $!"
wait_until 100 test -s "$D/receiver.port"
RPORT=$(cat "$D/receiver.port")
CB="http://127.0.0.1:$RPORT/api/v1/callback/sim"

# ---- the json shape ----------------------------------------------------------------------

JPORT=$(free_port)
check "json: LISTENING on the port asked for" ps_start J json --listen "127.0.0.1:$JPORT" \
    --shape json --callback-url "$CB" --callback-secret "$SECRET" --callback-retries 0
[ -n "${J_PID:-}" ] && kill -0 "$J_PID" || { not_ok "json: provsim runs"; t_done; exit 1; }
check "json: the URL is the port given" eq "$J" "http://127.0.0.1:$JPORT"

check "json: recharge (JSON body) -> 200" eq "$(recharge_json "$J" TXN000000001 299)" 200
check "json: nested status SUCCESS" eq "$(body data.txn.status)" SUCCESS
REF1=$(body data.txn.ref)
check "json: an operator reference" test -n "$REF1" -a "$REF1" != "<none>"
check "json: recharge (form body) -> SUCCESS" eq "$(req "$J/recharge" -X POST \
    -d 'txn_id=TXN000000002&mobile=9876543211&operator=JIO&amount=149.50&circle=MH' >/dev/null; body data.txn.status)" SUCCESS
check "json: balance down by both" eq "$(req "$J/balance" >/dev/null; body data.balance)" 99551.50

check "json: duplicate answered with the first result" eq \
    "$(recharge_json "$J" TXN000000001 299 >/dev/null; body data.txn.ref)" "$REF1"
check "json: duplicate counted" stat_is "$J" duplicates 1
check "json: duplicate not done twice" stat_is "$J" recharges_done 2
check "json: duplicate leaves the balance" eq "$(req "$J/balance" >/dev/null; body data.balance)" 99551.50
check "json: /_txn requests 2" txn_is "$J" TXN000000001 requests 2
check "json: /_txn done, SUCCESS, amount" eq "$(txn "$J" TXN000000001 done)/$(txn "$J" TXN000000001 status)/$(txn "$J" TXN000000001 amount)" "true/SUCCESS/299.00"
check "json: status endpoint SUCCESS" eq "$(status_json "$J" TXN000000001; body data.txn.status)" 200SUCCESS
check "json: status of an unknown txn: NOT_FOUND" eq "$(status_json "$J" TXN999; body data.txn.status)" 200NOT_FOUND
check "json: /_txn of an unknown txn: 404, not done" eq "$(req "$J/_txn?txn_id=TXN999"; body done)" 404false

check "json: control mode failure" eq "$(control "$J" '{"mode":"failure"}')" 200
check "json: failure -> FAILED" eq "$(recharge_json "$J" TXN000000003 100 >/dev/null; body data.txn.status)" FAILED
check "json: failure refunded" eq "$(req "$J/balance" >/dev/null; body data.balance)" 99551.50
check "json: by_status FAILED 1" stat_is "$J" by_status.FAILED 1

check "json: bad control key -> 400" eq "$(control "$J" '{"mode":"success","nonsense":1}')" 400
check "json: bad mode -> 400" eq "$(control "$J" '{"mode":"sometimes"}')" 400
check "json: bad percent -> 400" eq "$(control "$J" '{"success_pct":101}')" 400
check "json: a refused control changes nothing" eq "$(curl -s "$J/_control" | jget mode)" failure
check "json: control by form" eq "$(req "$J/_control" -X POST -d 'mode=success&latency_ms=0')" 200
check "json: form control applied" eq "$(curl -s "$J/_control" | jget mode)" success

# auth
control "$J" '{"key":"k1"}' >/dev/null
check "json: wrong key -> 401" eq "$(KEY=nope recharge_json "$J" TXN000000004 10)" 401
check "json: 401 takes nothing" eq "$(req "$J/_txn?txn_id=TXN000000004")" 404
check "json: X-Api-Key header accepted" eq "$(req "$J/balance" -H 'X-Api-Key: k1')" 200
check "json: right key -> SUCCESS" eq "$(KEY=k1 recharge_json "$J" TXN000000004 10 >/dev/null; body data.txn.status)" SUCCESS
control "$J" '{"key":""}' >/dev/null

# 503: down, nothing taken; for_ms brings the old mode back
check "json: 503 for 800 ms" eq "$(control "$J" '{"mode":"503","for_ms":800}')" 200
check "json: 503 answered" eq "$(recharge_json "$J" TXN000000005 50)" 503
check "json: 503 takes nothing" eq "$(req "$J/_txn?txn_id=TXN000000005"; body done)" 404false
check "json: status and balance are down too" eq "$(status_json "$J" TXN000000001)$(req "$J/balance")" 503503
check "json: back to success after for_ms" wait_until 50 eval \
    '[ "$(curl -s "$J/_control" | jget mode)" = success ]'
check "json: the same txn_id is taken after the 503" eq \
    "$(recharge_json "$J" TXN000000005 50 >/dev/null; body data.txn.status)" SUCCESS
check "json: answered_503 counted" stat_is "$J" answered_503 3

# 500: taken or not, per error_done
control "$J" '{"mode":"500","error_done":true}' >/dev/null
check "json: 500 answered" eq "$(recharge_json "$J" TXN000000006 20)" 500
check "json: 500 with error_done: done, SUCCESS" eq "$(txn "$J" TXN000000006 done)/$(txn "$J" TXN000000006 status)/$(txn "$J" TXN000000006 via)" true/SUCCESS/500
control "$J" '{"mode":"500","error_done":false}' >/dev/null
check "json: 500 answered (error_done 0)" eq "$(recharge_json "$J" TXN000000007 20)" 500
check "json: 500 without error_done: not done" eq "$(req "$J/_txn?txn_id=TXN000000007"; body done)" 404false
control "$J" '{"mode":"success","error_done":true}' >/dev/null
check "json: the unknown case resolves by status" eq "$(status_json "$J" TXN000000006; body data.txn.status)" 200SUCCESS

# garbage: none of the bodies carries a string status
control "$J" '{"mode":"garbage","garbage":"cycle"}' >/dev/null
GOOD=0
for i in 1 2 3 4; do
	code=$(recharge_json "$J" "TXN00000001$i" 10)
	st=$(body data.txn.status)
	case "$st" in SUCCESS|PENDING|FAILED|REVERSED) ;; *) [ "$code" = 200 ] && GOOD=$((GOOD + 1)) ;; esac
done
check "json: 4 garbage bodies, 200 and no readable status" eq "$GOOD" 4
check "json: garbage counted" stat_is "$J" answered_garbage 4
check "json: garbage with error_done: taken" txn_is "$J" TXN000000011 done true
control "$J" '{"mode":"garbage","garbage":"truncated"}' >/dev/null
check "json: truncated JSON does not parse" eq "$(recharge_json "$J" TXN000000015 10 >/dev/null; body data)" "<nojson>"

# hang: never answered; released when the client gives up
control "$J" '{"mode":"hang"}' >/dev/null
curl -s -m 2 -o /dev/null -X POST "$J/recharge" -d 'txn_id=TXN000000020&mobile=9876543210&operator=VI&amount=10' &
HPID=$!
check "json: hung request held" wait_until 50 stat_is "$J" hung 1
wait "$HPID"
check "json: the client gave up (curl timeout)" test $? -eq 28
check "json: hung request released after the client left" wait_until 50 stat_is "$J" hung 0
check "json: hang with error_done: taken" txn_is "$J" TXN000000020 done true
control "$J" '{"mode":"success"}' >/dev/null

# latency
control "$J" '{"latency_ms":400}' >/dev/null
T=$(curl -s -m 5 -o /dev/null -w '%{time_total}' "$J/balance")
check "json: latency 400 ms ($T s)" python3 -c "import sys; sys.exit(0 if float('$T') >= 0.39 else 1)"
control "$J" '{"latency_ms":0}' >/dev/null

# pending, settled through the status endpoint only (no callback)
control "$J" '{"mode":"pending","pending_then":"poll","settle_ms":500}' >/dev/null
check "json: pending answered PENDING" eq "$(recharge_json "$J" TXN000000030 30 >/dev/null; body data.txn.status)" PENDING
check "json: status PENDING before settle_ms" eq "$(status_json "$J" TXN000000030; body data.txn.status)" 200PENDING
check "json: status SUCCESS after settle_ms" wait_until 50 eval \
    '[ "$(status_json "$J" TXN000000030; body data.txn.status)" = 200SUCCESS ]'
check "json: poll mode sends no callback" eq "$(cb_get TXN000000030 SUCCESS method)" "<none>"

# pending then failure: refunded at settle
BAL=$(req "$J/balance" >/dev/null; body data.balance)
control "$J" '{"mode":"pending","success_pct":0,"settle_ms":300}' >/dev/null
recharge_json "$J" TXN000000031 500 >/dev/null
check "json: PENDING holds the amount" eq "$(req "$J/balance" >/dev/null; body data.balance)" \
    "$(python3 -c "print('%.2f' % ($BAL - 500))")"
check "json: pending settles FAILED" wait_until 50 txn_is "$J" TXN000000031 status FAILED
check "json: and is refunded" eq "$(req "$J/balance" >/dev/null; body data.balance)" "$BAL"

# pending, settled by callback only (secret): the status endpoint keeps saying PENDING
control "$J" '{"mode":"pending","success_pct":100,"pending_then":"callback","settle_ms":300}' >/dev/null
recharge_json "$J" TXN000000032 40 >/dev/null
check "json: callback SUCCESS received" wait_until 50 has_cb TXN000000032 SUCCESS
check "json: callback POST JSON to the URL" eq "$(cb_get TXN000000032 SUCCESS method) $(cb_get TXN000000032 SUCCESS path) $(cb_get TXN000000032 SUCCESS content_type)" \
    "POST /api/v1/callback/sim application/json"
check "json: callback carries the ref" eq "$(cb_get TXN000000032 SUCCESS ref)" "$(txn "$J" TXN000000032 ref)"
check "json: callback secret field and header" eq "$(cb_get TXN000000032 SUCCESS secret)/$(cb_get TXN000000032 SUCCESS hdr_secret)" "$SECRET/$SECRET"
check "json: callback-only: status still PENDING" eq "$(status_json "$J" TXN000000032; body data.txn.status)" 200PENDING
check "json: /_txn knows it is SUCCESS" eq "$(txn "$J" TXN000000032 status)/$(txn "$J" TXN000000032 reported)" SUCCESS/PENDING
check "json: callbacks_sent counted" wait_until 30 stat_is "$J" callbacks_sent 1

# both, with HMAC instead of the secret
control "$J" '{"pending_then":"both","callback_hmac":true}' >/dev/null
recharge_json "$J" TXN000000033 40 >/dev/null
check "json: callback (hmac) received" wait_until 50 has_cb TXN000000033 SUCCESS
check "json: X-Signature is the HMAC-SHA256 of the body" eq "$(cb_get TXN000000033 SUCCESS sig_ok)" true
check "json: no secret sent with HMAC" eq "$(cb_get TXN000000033 SUCCESS secret)/$(cb_get TXN000000033 SUCCESS hdr_secret)" "<none>/"
check "json: both: status SUCCESS too" eq "$(status_json "$J" TXN000000033; body data.txn.status)" 200SUCCESS
control "$J" '{"callback_hmac":false,"mode":"success"}' >/dev/null

# reversal on command
BAL=$(req "$J/balance" >/dev/null; body data.balance)
check "json: reverse_txn" eq "$(control "$J" '{"reverse_txn":"TXN000000004"}')" 200
check "json: status REVERSED" eq "$(status_json "$J" TXN000000004; body data.txn.status)" 200REVERSED
check "json: reversal refunded" eq "$(req "$J/balance" >/dev/null; body data.balance)" \
    "$(python3 -c "print('%.2f' % ($BAL + 10))")"
check "json: reversal callback" wait_until 50 has_cb TXN000000004 REVERSED
check "json: reversing it again -> 409" eq "$(control "$J" '{"reverse_txn":"TXN000000004"}')" 409
check "json: reversing an unknown txn -> 404" eq "$(control "$J" '{"reverse_txn":"TXN404"}')" 404
check "json: reversing a FAILED one -> 409" eq "$(control "$J" '{"reverse_txn":"TXN000000003"}')" 409
# reversal drawn
control "$J" '{"reverse_pct":100,"reverse_ms":200}' >/dev/null
recharge_json "$J" TXN000000034 25 >/dev/null
check "json: reverse_pct: SUCCESS first" eq "$(body data.txn.status)" SUCCESS
check "json: reverse_pct: REVERSED later" wait_until 50 txn_is "$J" TXN000000034 status REVERSED
check "json: reverse_pct: callback REVERSED" wait_until 50 has_cb TXN000000034 REVERSED
check "json: reversals counted" stat_is "$J" reversals 2
control "$J" '{"reverse_pct":0}' >/dev/null

# callback_all, and a failing receiver
control "$J" '{"callback_all":true}' >/dev/null
recharge_json "$J" TXN000000035 25 >/dev/null
check "json: callback_all: callback for an immediate SUCCESS" wait_until 50 has_cb TXN000000035 SUCCESS
FAILED0=$(stat "$J" callbacks_failed)
control "$J" "{\"callback_url\":\"http://127.0.0.1:$RPORT/fail\",\"callback_retries\":1}" >/dev/null
recharge_json "$J" TXN000000036 25 >/dev/null
check "json: a 500 from the receiver counts as failed" wait_until 50 eval \
    '[ "$(stat "$J" callbacks_failed)" -gt "$FAILED0" ]'
check "json: /_txn last_callback_code 500" txn_is "$J" TXN000000036 last_callback_code 500
check "json: a 5xx is retried (callback_retries 1)" wait_until 50 txn_is "$J" TXN000000036 callbacks_failed 2
check "json: callbacks_retried counted" stat_is "$J" callbacks_retried 1
check "json: the receiver saw both tries" eq "$(grep -c '"txn_id": "TXN000000036"' "$D/callbacks.jsonl")" 2
control "$J" "{\"callback_url\":\"http://127.0.0.1:$(free_port)/closed\",\"callback_retries\":0}" >/dev/null
recharge_json "$J" TXN000000037 25 >/dev/null
check "json: no receiver at all counts as failed" wait_until 50 txn_is "$J" TXN000000037 callbacks_failed 1
check "json: bad callback_url refused" eq "$(control "$J" '{"callback_url":"ftp://x/y"}')" 400
control "$J" "{\"callback_url\":\"$CB\",\"callback_all\":false}" >/dev/null

# mix
control "$J" '{"mode":"mix","down_pct":50,"success_pct":100}' >/dev/null
SEEN=""
for i in $(seq 1 40); do SEEN="$SEEN $(recharge_json "$J" "TXN0000001$(printf %02d "$i")" 1)"; done
check "json: mix gives both 503 and 200" eval 'case "$SEEN" in *503*200*|*200*503*) true ;; *) false ;; esac'
control "$J" '{"mode":"success","down_pct":0}' >/dev/null

# hostile input: the simulator answers and lives
check "json: body not JSON -> 400" eq "$(req "$J/recharge" -X POST -H 'Content-Type: application/json' -d '{"txn_id":')" 400
check "json: JSON array body -> 400" eq "$(req "$J/recharge" -X POST -d '[1,2]')" 400
check "json: wrong types: no txn_id -> 400" eq "$(req "$J/recharge" -X POST -d '{"txn_id":{"a":1},"amount":[1]}')" 400
check "json: wrong types elsewhere: FAILED" eq "$(req "$J/recharge" -X POST -d '{"txn_id":"TXN000000040","mobile":true,"amount":[1]}' >/dev/null; body data.txn.status)" FAILED
check "json: numeric amount accepted" eq "$(req "$J/recharge" -X POST -d '{"txn_id":"TXN000000041","mobile":"9876543210","operator":"JIO","amount":19.5}' >/dev/null; body data.txn.amount)" 19.50
check "json: bad amount -> FAILED" eq "$(req "$J/recharge" -X POST -d 'txn_id=TXN000000042&mobile=1&operator=X&amount=-5' >/dev/null; body data.txn.status)" FAILED
head -c 70000 /dev/zero | tr '\0' 'a' >"$D/big"
check "json: oversized body -> 413" eq "$(req "$J/recharge" -X POST --data-binary @"$D/big")" 413
head -c 3000 /dev/urandom >"$D/junk"
req "$J/recharge" -X POST --data-binary @"$D/junk" >/dev/null
check "json: a txn_id with spaces -> 400" eq "$(req "$J/status?txn_id=a%20b")" 400
check "json: unknown path -> 404" eq "$(req "$J/nothing")" 404
check "json: PUT -> 405" eq "$(req "$J/recharge" -X PUT)" 405
printf 'GARBAGE\r\n\r\n' | timeout 3 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(sys.stdin.buffer.read()); s.settimeout(2)
try: s.recv(100)
except Exception: pass' "$JPORT"
check "json: still alive after hostile input" eq "$(req "$J/_stats")" 200

# ---- the flat shape (port 0, uid/pwd, GET callbacks, a single hung request) -------------

check "flat: LISTENING with the port picked" ps_start F flat --listen 127.0.0.1:0 --shape flat \
    --uid u1 --pwd p1 --max-hung 1 --balance 500 --callback-url "$CB" \
    --callback-secret "$SECRET" --callback-method GET --pending-then both --settle-ms 300
[ -n "${F_PID:-}" ] && kill -0 "$F_PID" || { not_ok "flat: provsim runs"; t_done; exit 1; }
check "flat: a real port" eval 'case "$F" in *:0) false ;; *) true ;; esac'
AUTH="uid=u1&pwd=p1"
flat_rc() { req "$F/api/recharge.php?$AUTH&mn=9876543210&op=AT&amt=$2&reqid=$1"; }

check "flat: recharge -> 200" eq "$(flat_rc TXN000000101 100)" 200
check "flat: STATUS 1 with OPID" eq "$(body STATUS)/$(body OPID | cut -c1-2)" 1/OP
OPID1=$(body OPID)
check "flat: status.php 1" eq "$(req "$F/api/status.php?$AUTH&reqid=TXN000000101"; body STATUS)" 2001
check "flat: balance.php BAL" eq "$(req "$F/api/balance.php?$AUTH"; body BAL)" 200400.00
check "flat: wrong pwd -> 401" eq "$(req "$F/api/recharge.php?uid=u1&pwd=x&mn=9876543210&op=AT&amt=1&reqid=TXN000000102")" 401
check "flat: duplicate counted, same OPID" eq "$(flat_rc TXN000000101 100 >/dev/null; body STATUS)/$(body OPID)/$(stat "$F" duplicates)" "1/$OPID1/1"
check "flat: insufficient balance -> STATUS 2" eq "$(flat_rc TXN000000103 1000 >/dev/null; body STATUS)" 2
check "flat: unknown reqid -> STATUS 4" eq "$(req "$F/api/status.php?$AUTH&reqid=TXN9"; body STATUS)" 2004
control "$F" '{"mode":"failure"}' >/dev/null
check "flat: failure -> STATUS 2" eq "$(flat_rc TXN000000104 10 >/dev/null; body STATUS)" 2
control "$F" '{"mode":"pending"}' >/dev/null
check "flat: pending -> STATUS 0" eq "$(flat_rc TXN000000105 10 >/dev/null; body STATUS)" 0
check "flat: GET callback with status 1" wait_until 50 has_cb TXN000000105 1
check "flat: GET callback method and secret" eq "$(cb_get TXN000000105 1 method)/$(cb_get TXN000000105 1 secret)/$(cb_get TXN000000105 1 hdr_secret)" "GET/$SECRET/$SECRET"
check "flat: status.php 1 after settle" eq "$(req "$F/api/status.php?$AUTH&reqid=TXN000000105"; body STATUS)" 2001
control "$F" "{\"callback_hmac\":true,\"callback_url\":\"$CB?src=flat\"}" >/dev/null
flat_rc TXN000000107 10 >/dev/null
check "flat: GET callback (hmac) received" wait_until 50 has_cb TXN000000107 1
check "flat: GET X-Signature is the HMAC of the whole query string" eq "$(cb_get TXN000000107 1 sig_ok)/$(cb_get TXN000000107 1 src)/$(cb_get TXN000000107 1 secret)" "true/flat/<none>"
control "$F" "{\"callback_hmac\":false,\"callback_url\":\"$CB\"}" >/dev/null
control "$F" '{"mode":"success"}' >/dev/null
check "flat: reverse -> STATUS 3" eq "$(control "$F" '{"reverse_txn":"TXN000000101"}')$(req "$F/api/status.php?$AUTH&reqid=TXN000000101"; body STATUS)" 2002003
check "flat: reversal callback status 3" wait_until 50 has_cb TXN000000101 3
check "flat: balance back" eq "$(req "$F/api/balance.php?$AUTH"; body BAL)" 200480.00
check "flat: POST form works too" eq "$(req "$F/api/recharge.php" -X POST -d "$AUTH&mn=9876543210&op=JO&amt=5&reqid=TXN000000106"; body STATUS)" 2001

# the hung bound: one held, the next refused with 503
control "$F" '{"mode":"hang"}' >/dev/null
curl -s -m 3 -o /dev/null "$F/api/balance.php?$AUTH" &
HPID=$!
wait_until 30 stat_is "$F" hung 1
check "flat: past --max-hung: 503" eq "$(req "$F/api/balance.php?$AUTH")" 503
check "flat: hung_refused counted" stat_is "$F" hung_refused 1
wait "$HPID"
check "flat: the held one released" wait_until 50 stat_is "$F" hung 0
control "$F" '{"mode":"success"}' >/dev/null

# ---- a clean stop ---------------------------------------------------------------------------

for v in J F; do
	eval "pid=\$${v}_PID"
	kill -TERM "$pid"
	wait "$pid"
	check "$v: exits 0 on SIGTERM" test $? -eq 0
done
for f in "$D"/json.err "$D"/flat.err; do
	check "no sanitizer report in $(basename "$f")" eval "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$f'"
done
t_done
