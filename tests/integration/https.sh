#!/usr/bin/env bash
# HTTPS: with [http] tls_listen, tls_cert and tls_key the same API is served over TLS 1.2+
# on tls_listen (a self-signed certificate made here with the openssl CLI): /healthz and an
# API call over HTTPS, TLS 1.1 refused, plain HTTP to the TLS port closed cleanly while
# the daemon keeps serving both ports; bad TLS settings fail start-up (exit 2) naming the key.
. "$(dirname "$0")/../lib.sh"

t_setup https
T_TLS_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_DIR/other-key.pem" -out "$T_DIR/other-cert.pem" \
	-days 2 -subj /CN=other >/dev/null 2>&1
check "self-signed certificate made" test -s "$T_DIR/cert.pem" -a -s "$T_DIR/key.pem"
cp "$T_CONF" "$T_CONF.base"
# tlsconf LISTEN CERT KEY: the base config with these [http] TLS values (empty: not set)
tlsconf() {
	{ cat "$T_CONF.base"; echo "[http]"
	  [ -n "$1" ] && echo "tls_listen = $1"
	  [ -n "$2" ] && echo "tls_cert = $2"
	  [ -n "$3" ] && echo "tls_key = $3"
	} >"$T_CONF"
}
# bad NAME WANT: start-up must fail with exit 2 and a message naming WANT
bad() {
	local out rc
	out=$(timeout 10 "$RECHARGD" -c "$T_CONF" 2>&1 </dev/null); rc=$?
	if [ "$rc" -eq 2 ] && grep -q "'$2'" <<<"$out"; then ok "$1: exit 2 naming $2"
	else not_ok "$1: exit $rc, want 2 naming $2: $out"; fi
}
L=127.0.0.1:$T_TLS_PORT
tlsconf "$L" "$T_DIR/missing.pem" "$T_DIR/key.pem";      bad "unreadable certificate" tls_cert
tlsconf "$L" "$T_DIR/cert.pem" "$T_DIR/missing.pem";      bad "unreadable key" tls_key
tlsconf "$L" "$T_DIR/key.pem" "$T_DIR/key.pem";           bad "certificate file holds no certificate" tls_cert
tlsconf "$L" "$T_DIR/cert.pem" "$T_DIR/other-key.pem";    bad "key not matching the certificate" tls_key
tlsconf "$L" "" "";                                       bad "tls_listen alone" tls_cert
tlsconf "" "$T_DIR/cert.pem" "$T_DIR/key.pem";            bad "no tls_listen" tls_listen
tlsconf "$L" "$T_DIR/cert.pem" "";                        bad "no tls_key" tls_key
tlsconf "nope" "$T_DIR/cert.pem" "$T_DIR/key.pem";        bad "tls_listen not HOST:PORT" tls_listen
# relative paths are relative to the config file, like db path
tlsconf "$L" cert.pem key.pem

A=919800000001
ctl retailer add $A --name "TLS Shop" >/dev/null
ctl wallet credit $A 500 >/dev/null
KA=$(ctl apikey create $A | tail -1)
check "key created" test ${#KA} -eq 46

rd_start -v
U=http://127.0.0.1:$T_HTTP_PORT
S=https://127.0.0.1:$T_TLS_PORT
TLS=(--cacert "$T_DIR/cert.pem")
for _ in $(seq 1 50); do curl -s -o /dev/null --max-time 1 "${TLS[@]}" "$S/healthz" && break; sleep 0.1; done

out=$(curl -s --max-time 5 "${TLS[@]}" -w ' %{http_code}' "$S/healthz" | tr -d '\n')
check "GET /healthz over HTTPS (certificate verified): $out" grep -q '"database":"ok".* 200$' <<<"$out"
out=$(curl -s --max-time 5 "${TLS[@]}" -H "X-API-Key: $KA" -w ' %{http_code}' "$S/api/v1/balance")
check "GET /api/v1/balance over HTTPS: $out" grep -q '^{"status":"success","balance":500.00.* 200$' <<<"$out"
out=$(curl -s --max-time 5 "${TLS[@]}" -X POST -H 'Content-Type: application/json' \
	-d "{\"api_key\":\"$KA\"}" -w ' %{http_code}' "$S/api/v1/balance")
check "POST /api/v1/balance over HTTPS" grep -q '"balance":500.00.* 200$' <<<"$out"
out=$(curl -s --max-time 5 "${TLS[@]}" -H "X-API-Key: nope" -w ' %{http_code}' "$S/api/v1/balance")
check "a bad key over HTTPS: 1001" grep -q '"error_code":"1001"' <<<"$out"
out=$(curl -s --max-time 5 "${TLS[@]}" -w '%{http_code}' -o /dev/null "$S/nope")
check "unknown path over HTTPS: 404" test "$out" = 404
out=$(curl -s --max-time 5 "${TLS[@]}" --tlsv1.2 --tls-max 1.2 -w '%{http_code}' -o /dev/null "$S/healthz")
check "TLS 1.2 accepted" test "$out" = 200
curl -s --max-time 5 "${TLS[@]}" -o /dev/null -o /dev/null "$S/healthz" "$S/healthz" -w '%{num_connects}\n' >"$T_DIR/ka"
check "keep-alive over HTTPS (two requests, one connection)" test "$(paste -sd, "$T_DIR/ka")" = "1,0"

curl -s --max-time 5 "${TLS[@]}" --tlsv1.1 --tls-max 1.1 -o /dev/null "$S/healthz"; rc=$?
check "TLS 1.1 refused (curl exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 28
if openssl s_client -help 2>&1 | grep -q -- '-tls1_1'; then
	out=$(openssl s_client -connect "127.0.0.1:$T_TLS_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1)
	check "TLS 1.1 refused by the server (openssl s_client)" bash -c 'grep -q "alert protocol version" <<<"$1" && grep -q "no peer certificate" <<<"$1"' _ "$out"
fi
t0=$(date +%s)
curl -s --max-time 10 -o /dev/null "http://127.0.0.1:$T_TLS_PORT/healthz"; rc=$?
t1=$(date +%s)
check "plain HTTP to the TLS port fails (curl exit $rc) without waiting for a timeout" \
	test "$rc" -ne 0 -a "$rc" -ne 28 -a $((t1 - t0)) -lt 5
# garbage and a handshake cut off half way
timeout 10 python3 - "$T_TLS_PORT" <<'PY' >/dev/null 2>&1
import os, socket, sys
for data in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(40), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(data)
    s.settimeout(3)
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
PY
check "the daemon is still running" kill -0 "$T_RD_PID"
out=$(curl -s --max-time 5 "${TLS[@]}" -H "X-API-Key: $KA" -w ' %{http_code}' "$S/api/v1/balance")
check "HTTPS still served afterwards" grep -q '"balance":500.00.* 200$' <<<"$out"
out=$(curl -s --max-time 5 -H "X-API-Key: $KA" -w ' %{http_code}' "$U/api/v1/balance")
check "plain HTTP on listen still served" grep -q '"balance":500.00.* 200$' <<<"$out"
check "no key in the log" bash -c '! grep -qF "$1" "$2"' _ "$KA" "$T_DIR/rechargd.log"
out=$(curl -s --max-time 10 "${TLS[@]}" -H "X-API-Key: $KA" -H 'Content-Type: application/json' \
	-d '{"mobile":"9876543210","operator":"AIRTEL","amount":299,"request_id":"tls-1"}' -w ' %{http_code}' "$S/api/v1/recharge")
check "the seed recharge over HTTPS: exactly the documented body" grep -Eq \
	'^\{"status":"success","transaction_id":"TXN[0-9]{9,}","message":"Recharge successful","amount":299\.00,"commission":8\.97,"balance":201\.00\} 200$' <<<"$out"
rd_stop
check "SIGTERM: exit $T_RD_RC" test "$T_RD_RC" -eq 0
check "no sanitizer report" bash -c '! grep -q "Sanitizer\|runtime error" "$1"' _ "$T_DIR/rechargd.log"
check "the daemon logged the TLS listener" grep -q "listening on $L (TLS)" "$T_DIR/rechargd.log"
t_done
