#!/usr/bin/env bash
# The daemon as an operator meets it: config errors name file, line and key (exit 2),
# a missing database says what to run, SIGHUP rereads providers (and keeps running on a
# bad file), -v adds detail, SIGTERM stops with exit 0.
. "$(dirname "$0")/../lib.sh"

t_setup daemon

# bad_config NAME LINE-TO-APPEND EXPECTED-MESSAGE-REGEX
bad_config() {
	local name=$1 extra=$2 re=$3 f="$T_DIR/bad.conf" out rc
	{ cat "$T_CONF"; printf '%s\n' "$extra"; } >"$f"
	out=$("$RECHARGD" -c "$f" 2>&1); rc=$?
	if [ $rc -eq 2 ] && printf '%s' "$out" | grep -Eq "$re"; then ok "$name"; else not_ok "$name (exit $rc: $out)"; fi
}
lines=$(wc -l <"$T_CONF")
bad_config "unknown key: exit 2 naming file, line and key" "[http]
listen_port = 1" "bad\.conf:$((lines + 2)): key 'listen_port': unknown key in \[http\]"
bad_config "bad value" "[smpp]
response_timeout_s = soon" "bad\.conf:$((lines + 2)): key 'response_timeout_s': bad value: not an integer"
bad_config "value out of range" "[engine]
breaker_failures = 0" "key 'breaker_failures': bad value: out of range"
bad_config "db cache_mb out of range" "[db]
cache_mb = 0" "key 'cache_mb': bad value: out of range"
bad_config "unknown section" "[nosuch]
x = 1" "key 'x': unknown section \[nosuch\]"
bad_config "unknown provider key" "[provider.other]
type = sim
latency = 5" "bad\.conf:$((lines + 3)): key 'latency': unknown key for a provider of type sim"
bad_config "unknown provider type" "[provider.other]
type = carrier-pigeon" "unknown provider type 'carrier-pigeon'"
out=$("$RECHARGD" 2>&1); check "no -c: usage, exit 2" test $? -eq 2
out=$("$RECHARGD" -c "$T_DIR/nonexistent.conf" 2>&1); rc=$?
check "missing config file: exit 2 with the path" test $rc -eq 2 -a -n "$(printf '%s' "$out" | grep nonexistent.conf)"

mkdir -p "$T_DIR/empty"
sed 's|^path = .*|path = empty/none.db|' "$T_CONF" >"$T_DIR/nodb.conf"
out=$("$RECHARGD" -c "$T_DIR/nodb.conf" 2>&1); rc=$?
check "missing database: exit 1, says so" test $rc -eq 1 -a -n "$(printf '%s' "$out" | grep -i 'none.db')"

A=919800000001
ctl retailer add $A --name "Shop" >/dev/null
ctl wallet credit $A 1000 >/dev/null
sim_start
rd_start -vv
check "binds" sim "wait_bound 10"
check "recharge works" sim "mo $A RC 9876543210 AIRTEL 10" "expect 10 $A ^SUCCESS"
check "/healthz: bound, database ok" test "$(curl -s --max-time 5 http://127.0.0.1:$T_HTTP_PORT/healthz)" = '{"status":"ok","smpp":"bound","database":"ok"}'
check "unknown path: 404" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:$T_HTTP_PORT/nope)" = 404
check "callback for an unknown provider: 404, nothing changed" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -d 'txn=TXN000000001&status=FAILED' http://127.0.0.1:$T_HTTP_PORT/api/v1/callback/nosuch)" = 404
check "-vv logs more detail" grep -Eq ' (debug|trace) ' "$T_DIR/rechargd.log"

cp "$T_CONF" "$T_CONF.orig"
sed -i 's/^latency_ms = 0$/latency_ms = 0\nsuccess_pct = 0/' "$T_CONF"
kill -HUP "$T_RD_PID"; sleep 0.5
check "SIGHUP rereads the provider: recharge now fails" sim "mo $A RC 9876543211 AIRTEL 10" \
	"expect 10 $A ^FAILED 9876543211 AIRTEL Rs10\.00 Txn:TXN[0-9]+ Err:2002 Refunded Bal:Rs990\.00$"
printf '[bogus]\nx = 1\n' >>"$T_CONF"
kill -HUP "$T_RD_PID"; sleep 0.5
check "bad file on SIGHUP: refused and logged" grep -q "reload refused: .*unknown section \[bogus\]" "$T_DIR/rechargd.log"
check "still serving after a refused reload" sim "mo $A BAL" "expect 10 $A ^BAL Bal:Rs990\.00"
cp "$T_CONF.orig" "$T_CONF"

check "rechargectl works while rechargd runs" ctl wallet credit $A 5
check "and the daemon sees it at once" sim "mo $A BAL" "expect 10 $A ^BAL Bal:Rs995\.00"
rd_stop
check "SIGTERM: exit 0" test "${T_RD_RC:-1}" -eq 0
check "SIGTERM: unbind sent" grep -Eq 'UNBIND|UNBOUND' "$T_SIMLOG"
out=$(ctl check 2>&1); check "ledger invariants hold" test $? -eq 0
t_done
