#!/usr/bin/env bash
# Security (issue 8, docs/security.md): files holding secrets refused when others may read
# them (exit 2 naming the file and the chmod), and what we create is never o+r; PIN brute
# force by SMS stops at the lockout, where even the right PIN is refused and no money
# moves (retailer and admin); admin commands from other numbers refused; injection
# strings in every text field a user reaches are stored or refused inertly, the schema and
# other rows unchanged; callbacks with a wrong secret or for another provider's
# transaction change nothing; oversized and malformed input gets a clear error; and after
# a whole session with known secrets (SMPP password, provider and callback secrets, API
# keys, PINs) none appears in the daemon's trace log, rechargectl output, /metrics, any
# answer body, or the database files (sms_in keeps the text with the PIN masked).
. "$(dirname "$0")/../lib.sh"

PROVSIM="$ROOT/$B/provsim"
SP=Zq7Kp2Wv                          # SMPP password (8 characters at most)
PS=PsK_7f3e9a1c55d2                  # provider secret (${secret} in its URLs and bodies)
CS=CbS_51c0de77aa90                  # callback secret
PIN_A=604917; PIN_A2=583026; PIN_ADM=729461; PIN_B=318264
A=919800000001; B2=919800000002; ADMIN=919800000009; U=919899999999

T_LOG_LEVEL=trace
t_setup security
sed -i "s/^password = secret\$/password = $SP/" "$T_CONF"

# every rechargectl output of the session lands in ctl.out (grepped for secrets at the end)
c() { ctl "$@" >>"$T_DIR/ctl.out" 2>&1; }

# ---- file modes -------------------------------------------------------------------
rd_once() { timeout 10 "$RECHARGD" -c "$1" >"$T_DIR/once.out" 2>&1; echo $?; }
chmod 644 "$T_CONF"
check "config with secrets, mode 0644: rechargd exits 2" test "$(rd_once "$T_CONF")" = 2
check "... naming the file and the fix" grep -qF "$T_CONF is readable or writable by others (mode 0644) and holds secrets" "$T_DIR/once.out"
check "... chmod 640" grep -qF "chmod 640 $T_CONF" "$T_DIR/once.out"
out=$(ctl retailer list 2>&1); rc=$?
check "config with secrets, mode 0644: rechargectl exits 2 with the fix" test $rc = 2 -a -n "$(grep -F "chmod 640 $T_CONF" <<<"$out")"
chmod 602 "$T_CONF"
check "world-writable config: refused too" test "$(rd_once "$T_CONF")" = 2
chmod 640 "$T_CONF"
check "group-readable config (0640): rechargectl runs" c retailer list
chmod 600 "$T_CONF"
# a config without secrets may be open to others: a warning only
sed -e 's/^password = .*/password =/' "$T_CONF" >"$T_DIR/nosecret.conf"
chmod 644 "$T_DIR/nosecret.conf"
out=$("$RECHARGECTL" -c "$T_DIR/nosecret.conf" retailer list 2>&1); rc=$?
check "config without secrets, 0644: rechargectl runs, warns" test $rc = 0 -a -n "$(grep -F "warning: $T_DIR/nosecret.conf is readable" <<<"$out")"
"$RECHARGD" -c "$T_DIR/nosecret.conf" >"$T_DIR/nosecret.log" 2>&1 &
nspid=$!; T_PIDS="$T_PIDS $nspid"
for _ in $(seq 1 50); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$T_HTTP_PORT/healthz" && break; sleep 0.1; done
check "config without secrets, 0644: rechargd starts (serves /healthz), warns" \
	bash -c "kill -0 $nspid && grep -qF 'warning: $T_DIR/nosecret.conf is readable' '$T_DIR/nosecret.log'"
kill -TERM $nspid; wait $nspid 2>/dev/null
for f in rechargd.db rechargd.pepper; do
	chmod 644 "$T_DIR/$f"
	check "$f readable by others: rechargd exits 2 naming it" \
		bash -c "test \"\$(timeout 10 '$RECHARGD' -c '$T_CONF' 2>&1 >/dev/null | grep -cF '$T_DIR/$f is readable or writable by others (mode 0644)')\" = 1"
	check "$f readable by others: rechargectl exits 2" bash -c "'$RECHARGECTL' -c '$T_CONF' retailer list >/dev/null 2>&1; test \$? = 2"
	chmod 640 "$T_DIR/$f"
done
check "database and pepper 0640: rechargectl runs" c retailer list
# the TLS key: checked before it is loaded, so an empty stand-in shows the refusal
: >"$T_DIR/tls.crt"; : >"$T_DIR/tls.key"; chmod 644 "$T_DIR/tls.key"
{ cat "$T_CONF"; printf '[http]\ntls_listen = 127.0.0.1:1\ntls_cert = tls.crt\ntls_key = tls.key\n'; } >"$T_DIR/tls.conf"
out=$(timeout 10 "$RECHARGD" -c "$T_DIR/tls.conf" 2>&1); rc=$?
check "TLS key readable by others: rechargd exits 2 naming it" \
	test $rc = 2 -a -n "$(grep -F "$T_DIR/tls.key is readable or writable by others (mode 0644) and holds the TLS private key" <<<"$out")"
# made under a loose umask, files still come out closed to others
mkdir -p "$T_DIR/fresh"
sed 's|^path = .*|path = fresh/r.db|' "$T_CONF" >"$T_DIR/fresh.conf"
printf '[security]\npepper_file = fresh/r.pepper\n' >>"$T_DIR/fresh.conf"
(umask 022; "$RECHARGECTL" -c "$T_DIR/fresh.conf" init >/dev/null 2>&1)
check "init under umask 022: database and pepper not open to others" \
	test -z "$(find "$T_DIR/fresh" -type f -perm /o=rwx)" -a -f "$T_DIR/fresh/r.db" -a -f "$T_DIR/fresh/r.pepper"

# ---- the session ------------------------------------------------------------------
provsim_start() {
	"$PROVSIM" --listen 127.0.0.1:0 --shape json "$@" >"$T_DIR/agg.out" 2>"$T_DIR/agg.log" &
	T_PIDS="$T_PIDS $!"
	for _ in $(seq 1 100); do grep -q '^LISTENING' "$T_DIR/agg.out" 2>/dev/null && break; sleep 0.05; done
	PORT_agg=$(sed -n 's/^LISTENING .*:\([0-9]*\)$/\1/p' "$T_DIR/agg.out")
}
provsim_start --key "$PS"
check "provider simulator listening" test -n "$PORT_agg"
cat >>"$T_CONF" <<CONF
[provider.agg]
type = http-json
recharge_url = http://127.0.0.1:$PORT_agg/recharge
recharge_method = POST
content_type = application/json
recharge_body = {"txn_id":"\${txn_id}","mobile":"\${mobile}","operator":"\${op}","amount":"\${amount}","key":"\${secret}"}
status_url = http://127.0.0.1:$PORT_agg/status?txn_id=\${txn_id}&key=\${secret}
secret = $PS
opcodes = AIRTEL:AT
status_field = data.txn.status
ref_field = data.txn.ref
message_field = data.txn.message
success_values = SUCCESS
pending_values = PENDING
failure_values = FAILED
reversed_values = REVERSED
callback_secret = $CS
timeout_ms = 2000
CONF

c retailer add $A --name "Pin Shop" --pin $PIN_A
c wallet credit $A 1000
c retailer add $B2 --name "Api Shop"
c retailer set-pin $B2 $PIN_B
c wallet credit $B2 1000
c admin add $ADMIN --pin $PIN_ADM
c route set AIRTEL agg
KEY=$(ctl apikey create $B2 2>/dev/null | tail -n 1)
KEY_OLD=$(ctl apikey create $B2 2>/dev/null | tail -n 1)
c apikey revoke "${KEY_OLD:0:11}"
check "API keys made" grep -Eq '^rk_' <<<"$KEY$KEY_OLD"

umask 022   # the daemon makes -wal and -shm: they must not be open to others either
sim_start --password "$SP"
rd_start
umask 077
check "binds with the SMPP password" sim "wait_bound 10"

t() { local name=$1 from=$2 text=$3 re=$4; check "$name" sim "mo $from $text" "expect 10 $from $re"; }
bal() { sql "SELECT balance FROM accounts WHERE name = 'wallet:$1'"; }
# money and state: balances, transactions, postings
money() { sql "SELECT name, balance FROM accounts ORDER BY name; SELECT id, state, provider FROM txns ORDER BY id; SELECT count(*) FROM postings" | md5sum; }

t "RC with the PIN" $A "RC 9876543210 AIRTEL 10 $PIN_A" '^SUCCESS 9876543210 AIRTEL Rs10\.00 '
TX_AGG=$(printf 'TXN%09d' "$(sql "SELECT max(id) FROM txns")")
t "RC on the sim provider" $A "RC 9876543211 VI 10 $PIN_A" '^SUCCESS 9876543211 VI Rs10\.00 '
TX_SIM=$(printf 'TXN%09d' "$(sql "SELECT max(id) FROM txns")")
check "the two went to agg and sim" test "$(sql "SELECT group_concat(provider) FROM (SELECT provider FROM txns ORDER BY id)")" = agg,sim
t "PIN change" $A "PIN $PIN_A $PIN_A2" '^OK PIN changed$'
t "new PIN works" $A "BAL $PIN_A2" '^BAL Bal:Rs980\.00'

# ---- retailer PIN brute force -------------------------------------------------------
before=$(money)
for i in 1 2 3 4; do t "wrong retailer PIN $i: 1011" $A "RC 9876543210 AIRTEL 10 11111$i" '^ERR 1011 Invalid PIN$'; done
t "fifth wrong retailer PIN: 1012 locked" $A "BAL 111115" '^ERR 1012 Account locked$'
t "locked: the right PIN is refused" $A "RC 9876543210 AIRTEL 10 $PIN_A2" '^ERR 1012 Account locked$'
t "locked: BAL with the right PIN refused" $A "BAL $PIN_A2" '^ERR 1012 Account locked$'
t "locked: a PIN change refused" $A "PIN $PIN_A2 135790" '^ERR 1012 Account locked$'
check "brute force moved no money, made no transaction" test "$(money)" = "$before"
check "locked in the database" test "$(sql "SELECT locked FROM retailers WHERE msisdn = '$A'")" = 1
c retailer unlock $A
t "unlocked: the right PIN works again" $A "BAL $PIN_A2" '^BAL Bal:Rs980\.00'

# ---- admin PIN brute force, admin commands from other numbers ----------------------
before=$(money)
t "retailer sends TOPUP with the admin's PIN: 1010" $A "TOPUP $A 500 $PIN_ADM" '^ERR 1010 '
t "stranger sends TOPUP with the admin's PIN: 1013" $U "TOPUP $A 500 $PIN_ADM" '^ERR 1013 '
t "retailer sends REG: 1010" $A "REG 9800000077 gold Fake Shop $PIN_ADM" '^ERR 1010 '
t "retailer sends BLOCK: 1010" $A "BLOCK $B2 $PIN_ADM" '^ERR 1010 '
for i in 1 2 3 4; do t "wrong admin PIN $i: 1011" $ADMIN "TOPUP $A 500 22222$i" '^ERR 1011 Invalid PIN$'; done
t "fifth wrong admin PIN: 1012" $ADMIN "TOPUP $A 500 222225" '^ERR 1012 Account locked$'
t "locked admin, right PIN: 1012" $ADMIN "TOPUP $A 500 $PIN_ADM" '^ERR 1012 Account locked$'
check "no money moved, nobody registered or blocked" test "$(money)" = "$before" \
	-a "$(sql "SELECT count(*) FROM retailers WHERE msisdn = '919800000077' OR blocked = 1")" = 0
c admin unlock $ADMIN
check "wallet credited only by the real admin" sim "mo $ADMIN TOPUP $A 5 $PIN_ADM" \
	"expect 10 $ADMIN ^OK TOPUP 9800000001 Rs5\.00" "expect 10 $A ^Wallet credited Rs5\.00"

# ---- injection strings in every text field ----------------------------------------
SCHEMA=$(sql .schema | md5sum)
INJ1="'; DROP TABLE txns;--"
INJ2='${secret} ${txn_id} %s%n%x "}'   # (smscsim's TEXT unescapes backslashes)
LONG=$(printf 'x%.0s' $(seq 1 300))
# admin REG: the shop name, stored and echoed as sent (nothing expanded)
t "REG with SQL and template injection in the shop name" $ADMIN \
	"REG 9800000021 gold O'Brien $INJ1 $PIN_ADM" '^OK REG 9800000021 gold'
check "... stored verbatim" test "$(sql "SELECT name FROM retailers WHERE msisdn = '919800000021'")" = "O'Brien $INJ1"
check "... welcome SMS carries it verbatim" sim "expect 10 919800000021 ^Welcome to rechargd, O'Brien '; DROP TABLE txns;--\."
t "REG with format strings and \${secret} in the name" $ADMIN \
	"REG 9800000022 gold $INJ2 $PIN_ADM" '^OK REG 9800000022 gold'
check "... stored verbatim (no expansion)" test "$(sql "SELECT name FROM retailers WHERE msisdn = '919800000022'")" = "$INJ2"
check "... welcome SMS says \${secret}, not the secret" sim 'expect 10 919800000022 ^Welcome to rechargd, \$\{secret\} \$\{txn_id\} %s%n%x "\}\.'
t "REG with a control byte in the name: refused or stored" $ADMIN "REG 9800000023 gold A\\x01B $PIN_ADM" '^(OK REG|ERR 10)'
t "REG with UTF-8 oddities (combining marks, 4-byte, RTL)" $ADMIN \
	"REG 9800000024 gold Caf\\xc3\\xa9\\xcc\\x81 \\xf0\\x9d\\x84\\x9e \\xe2\\x80\\xae $PIN_ADM" '^(OK REG|ERR 10)'
t "REG with an overlong name: refused or cut" $ADMIN "REG 9800000025 gold $LONG $PIN_ADM" '^(OK REG|ERR 10)'
# complaint text
t "CMP with SQL injection" $A "CMP $TX_AGG $INJ1 $PIN_A2" '^OK Complaint [0-9]+ registered'
check "... complaint stored verbatim" test "$(sql "SELECT text FROM complaints ORDER BY id DESC LIMIT 1")" = "$INJ1"
t "CMP with format strings" $A "CMP $TX_AGG $INJ2 $PIN_A2" '^OK Complaint [0-9]+ registered'
check "... stored verbatim" test "$(sql "SELECT text FROM complaints ORDER BY id DESC LIMIT 1")" = "$INJ2"
t "CMP with control bytes: answered" $A "CMP $TX_AGG a\\x01\\x1bb $PIN_A2" '^(OK Complaint|ERR 10)'
t "RC with injection as the operator: 1004" $A "RC 9876543210 AIR'--TEL 10 $PIN_A2" '^ERR 10(04|09|10)'
t "an SMS of 300 characters: a clear error" $A "$LONG" '^ERR 1010 '
# rechargectl: names and notes
c retailer add 919800000031 --name "$INJ1"
check "rechargectl retailer add: SQL text stored verbatim" test "$(sql "SELECT name FROM retailers WHERE msisdn = '919800000031'")" = "$INJ1"
c retailer add 919800000032 --name "$INJ2"
check "rechargectl retailer add: \${secret} %n stored verbatim" test "$(sql "SELECT name FROM retailers WHERE msisdn = '919800000032'")" = "$INJ2"
check "rechargectl retailer show echoes it as sent" bash -c "'$RECHARGECTL' -c '$T_CONF' retailer show 919800000032 | grep -qF -- '$INJ2'"
out=$(ctl retailer add 919800000033 --name "$(printf 'a\001b')" 2>&1); rc=$?
check "rechargectl: a control byte in a name is refused (exit 1 or 2) or stored" \
	test "$rc" -ne 0 -o "$(sql "SELECT count(*) FROM retailers WHERE msisdn = '919800000033'")" = 1
cid=$(sql "SELECT max(id) FROM complaints")
c complaint close "$cid" --note "$INJ2"
check "complaint close note stored verbatim" test "$(sql "SELECT note FROM complaints WHERE id = $cid")" = "$INJ2"
check "... and the retailer's SMS carries it verbatim" sim 'expect 10 919800000001 \$\{secret\} \$\{txn_id\} %s%n%x'

# ---- the API --------------------------------------------------------------------------
H="http://127.0.0.1:$T_HTTP_PORT"
# api CURL-ARGS...: sets CODE and BODY; every body is kept for the secret scan
api() {
	local out
	out=$(curl -s --max-time 10 -w '\n%{http_code}' "$@" 2>/dev/null)
	CODE=${out##*$'\n'}; BODY=${out%$'\n'*}; [ "$BODY" = "$CODE" ] && BODY=
	printf '%s\n' "$BODY" >>"$T_DIR/bodies"
}
json_ok() { jq -e . >/dev/null 2>&1 <<<"$BODY"; }
rc_json() { api -X POST "$H/api/v1/recharge" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' -d "$1"; }
api "$H/api/v1/balance" -H "X-API-Key: $KEY"
check "API balance with the key" test "$CODE" = 200
api "$H/api/v1/balance" -H "X-API-Key: $KEY_OLD"
check "revoked key: 401, JSON, key not echoed" test "$CODE" = 401 -a -z "$(grep -F "$KEY_OLD" <<<"$BODY")"
api "$H/api/v1/balance?api_key=$KEY"
check "key in the URL: ignored (401)" test "$CODE" = 401
api -X POST "$H/api/v1/balance" -d "api_key=$KEY"
check "key in a form body: 200" test "$CODE" = 200
api "$H/api/v1/balance" -H "X-API-Key: rk_$(printf 'W%.0s' $(seq 1 43))"
check "unknown key: 401" test "$CODE" = 401
before=$(money)
rc_json "{\"mobile\":\"9876543212\",\"operator\":\"AIRTEL\",\"amount\":10,\"request_id\":\"$INJ1\"}"
check "request_id with SQL injection: a normal recharge" test "$CODE" = 200 -a "$(jq -r .status <<<"$BODY")" = success
check "... request_id stored verbatim" test "$(sql "SELECT count(*) FROM txns WHERE request_id = '''; DROP TABLE txns;--'")" = 1
api "$H/api/v1/status?request_id=%27%3B%20DROP%20TABLE%20txns%3B--" -H "X-API-Key: $KEY"
check "... status by it echoes it as sent" test "$CODE" = 200 -a "$(jq -r '.request_id' <<<"$BODY")" = "$INJ1"
rc_json '{"mobile":"9876543212","operator":"AIRTEL","amount":11,"request_id":"${secret}%s%n"}'
check "request_id \${secret}%s%n: a normal recharge, stored verbatim" \
	test "$CODE" = 200 -a "$(sql "SELECT count(*) FROM txns WHERE request_id = '\${secret}%s%n'")" = 1
api "$H/api/v1/status?request_id=%24%7Bsecret%7D%25s%25n" -H "X-API-Key: $KEY"
check "... status by it echoes it as sent" test "$CODE" = 200 -a "$(jq -r '.request_id' <<<"$BODY")" = '${secret}%s%n'
rc_json "{\"mobile\":\"9876543210\",\"operator\":\"$INJ1\",\"amount\":10,\"request_id\":\"i3\"}"
check "operator with SQL injection: 400 1004, JSON" test "$CODE" = 400 -a "$(jq -r .error_code <<<"$BODY")" = 1004
rc_json '{"mobile":"9876543210'"'"' OR 1=1--","operator":"AIRTEL","amount":10,"request_id":"i4"}'
check "mobile with SQL injection: 400 1003" test "$CODE" = 400 -a "$(jq -r .error_code <<<"$BODY")" = 1003
rc_json '{"mobile":"9876543210","operator":"AIRTEL","amount":"10; DROP TABLE txns","request_id":"i5"}'
check "amount with SQL injection: 400 1005" test "$CODE" = 400 -a "$(jq -r .error_code <<<"$BODY")" = 1005
rc_json '{"mobile":"9876543210","operator":"AIRTEL","amount":10,"request_id":"a\u0000b"}'
check "NUL in a JSON string: 400 1009, JSON" test "$CODE" = 400 && json_ok
rc_json "{\"mobile\":\"9876543210\",\"operator\":\"AIRTEL\",\"amount\":10,\"request_id\":\"$LONG\"}"
check "overlong request_id: 400 1009" test "$CODE" = 400 -a "$(jq -r .error_code <<<"$BODY")" = 1009
rc_json '{"mobile":"9876543210","operator":"AIRTEL","amount":10,"request_id":"\ud800x"}'
check "lone surrogate in a string: answered, JSON" test "$CODE" -lt 500 && json_ok
api -X POST "$H/api/v1/recharge" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' --data-binary $'{"mobile":"\xff\xfe","amount":1}'
check "invalid UTF-8 body: 400, JSON" test "$CODE" = 400 && json_ok
rc_json '{"mobile":"9876543210",'
check "truncated JSON: 400 1009" test "$CODE" = 400 -a "$(jq -r .error_code <<<"$BODY")" = 1009
INJ_F="f'; DELETE FROM retailers;--"
api -X POST "$H/api/v1/recharge" -H "X-API-Key: $KEY" --data-urlencode "mobile=9876543212" \
	--data-urlencode "operator=AIRTEL" -d amount=12 --data-urlencode "request_id=$INJ_F"
check "form fields with SQL injection: a normal recharge, stored verbatim" \
	test "$CODE" = 200 -a "$(sql "SELECT count(*) FROM txns WHERE request_id = 'f''; DELETE FROM retailers;--'")" = 1
check "three API recharges, nothing else moved" test "$(sql "SELECT count(*) FROM txns WHERE channel = 'api'")" = 3
# oversized
api -X POST "$H/api/v1/recharge" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
	--data-binary "{\"request_id\":\"$(head -c 40000 /dev/zero | tr '\0' x)\"}"
check "body over max_body: 413" test "$CODE" = 413
api "$H/api/v1/balance" -H "X-API-Key: $KEY" -H "X-Big: $(head -c 10000 /dev/zero | tr '\0' y)"
check "a 10 KB header: refused with a 4xx" test "$CODE" -ge 400 -a "$CODE" -lt 500
api "$H/api/v1/status?request_id=$(head -c 10000 /dev/zero | tr '\0' z)" -H "X-API-Key: $KEY"
check "a 10 KB query: refused with a 4xx" test "$CODE" -ge 400 -a "$CODE" -lt 500
api "$H/api/v1/balance" -H "X-API-Key: $KEY"
check "still serving after the oversized requests" test "$CODE" = 200

# ---- provider callbacks ------------------------------------------------------------
before=$(money)
cb() { api -X POST "$H/api/v1/callback/$1" "${@:2}"; }
cb agg -H "X-Callback-Secret: wrong-$CS" -d "txn_id=$TX_AGG&status=REVERSED"
check "callback with a wrong secret: 403" test "$CODE" = 403
cb agg -d "txn_id=$TX_AGG&status=REVERSED&secret=${CS}x"
check "callback with a wrong secret field: 403" test "$CODE" = 403
cb agg -H "X-Callback-Secret: $CS" -d "txn_id=$TX_SIM&status=REVERSED"
check "callback for another provider's transaction: 403" test "$CODE" = 403
cb agg -H "X-Callback-Secret: $CS" --data-urlencode "txn_id=$INJ1" -d status=REVERSED
check "callback with SQL injection as the txn: 4xx" test "$CODE" -ge 400 -a "$CODE" -lt 500
cb agg -H "X-Callback-Secret: $CS" -d "txn_id=$TX_AGG" --data-urlencode 'status=${secret}'
check "callback with an unknown status: 4xx or ignored" test "$CODE" -ge 200 -a "$CODE" -lt 500
cb "sim'--" -H "X-Callback-Secret: $CS" -d "txn_id=$TX_AGG&status=REVERSED"
check "callback to a provider name with injection: 4xx" test "$CODE" -ge 400 -a "$CODE" -lt 500
check "callbacks changed no money and no state" test "$(money)" = "$before"

# ---- afterwards: schema, rows, ledger -------------------------------------------------
check "schema unchanged" test "$(sql .schema | md5sum)" = "$SCHEMA"
check "txns and retailers intact" test "$(sql "SELECT count(*) FROM txns")" = 5 -a "$(sql "SELECT count(*) FROM retailers")" -ge 7
out=$(ctl check 2>&1); rc=$?; echo "$out" >>"$T_DIR/ctl.out"
check "rechargectl check passes" test $rc = 0
c txn list --limit 50; c txn show "$TX_AGG"; c retailer list; c apikey list; c audit list --limit 200
c provider list; c complaint list; c admin list; c retailer show $A
curl -s --max-time 5 "$H/metrics" >"$T_DIR/metrics.txt"
check "/metrics served" grep -q '^rechargd_' "$T_DIR/metrics.txt"
# a reload re-checks: a config opened to others meanwhile is refused, the running one kept
chmod 644 "$T_CONF"; kill -HUP "$T_RD_PID"
for _ in $(seq 1 50); do grep -q 'reload refused: .*chmod 640' "$T_DIR/rechargd.log" && break; sleep 0.1; done
check "SIGHUP with the config open to others: reload refused naming the fix" grep -qF "reload refused: $T_CONF is readable" "$T_DIR/rechargd.log"
chmod 600 "$T_CONF"
api "$H/api/v1/balance" -H "X-API-Key: $KEY"
check "... and the daemon keeps serving" test "$CODE" = 200
rd_stop
check "SIGTERM: exit 0" test "${T_RD_RC:-1}" = 0

# ---- no secret anywhere ----------------------------------------------------------------
sql .dump >"$T_DIR/dump.sql"
SCAN=("$T_DIR/rechargd.log" "$T_DIR/ctl.out" "$T_DIR/metrics.txt" "$T_DIR/bodies" "$T_DIR/dump.sql")
for f in "${SCAN[@]}"; do check "scanned file is there: ${f##*/}" test -s "$f"; done
for s in "$SP" "$PS" "$CS" "$KEY" "$KEY_OLD" "${KEY:11}"; do
	hit=$(grep -lF -- "$s" "${SCAN[@]}" "$T_DIR"/rechargd.db* 2>/dev/null | sed 's|.*/||' | tr '\n' ' ')
	check "secret ${s:0:4}... appears nowhere${hit:+ (found in: $hit)}" test -z "$hit"
done
for p in $PIN_A $PIN_A2 $PIN_ADM $PIN_B; do
	hit=$(grep -lw -- "$p" "${SCAN[@]}" 2>/dev/null | sed 's|.*/||' | tr '\n' ' ')
	check "PIN $p appears nowhere${hit:+ (found in: $hit)}" test -z "$hit"
	hit=$(grep -al -- "$p" "$T_DIR"/rechargd.db* 2>/dev/null | sed 's|.*/||' | tr '\n' ' ')
	check "PIN $p not in the database files' bytes${hit:+ (found in: $hit)}" test -z "$hit"
done
check "sms_in keeps the text with the PIN masked" \
	test "$(sql "SELECT count(*) FROM sms_in WHERE text = 'RC 9876543210 AIRTEL 10 ******'")" -ge 1
check "PIN changes stored masked" test "$(sql "SELECT count(*) FROM sms_in WHERE text = 'PIN ****** ******'")" = 2
check "database files not open to others" test -z "$(find "$T_DIR" -maxdepth 1 \( -name 'rechargd.db*' -o -name rechargd.pepper \) -perm /o=rwx)"
check "no memory error reported" bash -c "! grep -Eq 'AddressSanitizer|runtime error' '$T_DIR/rechargd.log'"
t_done
