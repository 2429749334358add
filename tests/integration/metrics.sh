#!/usr/bin/env bash
# GET /metrics: after SMS recharges and an API call the counters show them, the text
# parses as the Prometheus exposition format, the gauges are there, bind state 1.
. "$(dirname "$0")/../lib.sh"

T_SIM_CONFIG="latency_ms = 0
[provider.fail]
type = sim
success_pct = 0"
t_setup metrics

A=919800000001
ctl retailer add $A --name "Demo Shop" >/dev/null
ctl wallet credit $A 10000 >/dev/null
sql "INSERT INTO routes VALUES ('MTNL', 'fail');"
KA=$(ctl apikey create $A | tail -1)

sim_start
rd_start
U=http://127.0.0.1:$T_HTTP_PORT
check "daemon binds" sim "wait_bound 10"
for _ in $(seq 1 50); do curl -s -o /dev/null --max-time 1 "$U/healthz" && break; sleep 0.1; done

TXN='TXN[0-9]{9,}'
check "RC success 1" sim "mo $A RC 9876543210 AIRTEL 10" "expect 10 $A ^SUCCESS 9876543210 AIRTEL"
check "RC success 2" sim "mo $A RC 9876543211 AIRTEL 20" "expect 10 $A ^SUCCESS 9876543211 AIRTEL"
check "RC failed" sim "mo $A RC 9811000003 MTNL 10" "expect 10 $A ^FAILED 9811000003 MTNL"
check "BAL" sim "mo $A BAL" "expect 10 $A ^BAL "
CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-API-Key: $KA" "$U/api/v1/balance")
check "API balance 200" test "$CODE" = 200
CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-API-Key: rk_nosuchkey" "$U/api/v1/balance")
check "API bad key refused" test "$CODE" != 200
sleep 0.5      # the last replies' submit_sm_resp are recorded

M="$T_DIR/metrics.txt"
curl -s --max-time 10 -D "$T_DIR/mhdrs" -o "$M" "$U/metrics"
check "GET /metrics 200" grep -q '^HTTP/1.1 200' "$T_DIR/mhdrs"
check "Content-Type text/plain; version=0.0.4" grep -qi '^Content-Type: text/plain; version=0.0.4' "$T_DIR/mhdrs"
# v NAME-WITH-LABELS: the sample's value
v() { awk -v k="$1" '$1 == k { print $2 }' "$M"; }
check "sms in 4" test "$(v rechargd_sms_in_total)" = 4
check "sms out 4 accepted" test "$(v rechargd_sms_out_total)" = 4
check "sms out refused 0" test "$(v rechargd_sms_out_refused_total)" = 0
check "recharges SUCCESS AIRTEL sim 2" \
	test "$(v 'rechargd_recharges_total{status="SUCCESS",operator="AIRTEL",provider="sim"}')" = 2
check "recharges FAILED MTNL fail 1" \
	test "$(v 'rechargd_recharges_total{status="FAILED",operator="MTNL",provider="fail"}')" = 1
check "http 200 counted" test "$(v 'rechargd_http_requests_total{code="200"}')" -ge 1
check "http API refusal counted" grep -qE '^rechargd_http_requests_total\{code="40[13]"\} 1$' "$M"
check "latency histogram present" grep -q '^rechargd_provider_latency_ms_bucket{le="+Inf"} ' "$M"
check "bound 1" test "$(v rechargd_smpp_bound)" = 1
check "gauges present" test -n "$(v rechargd_engine_inflight)" -a -n "$(v rechargd_sms_outbox_inflight)" \
	-a -n "$(v rechargd_deliver_sm_waiting)"
check "no key in the text" bash -c "! grep -q 'rk_' '$M'"
check "exposition format parses" python3 - "$M" <<'PY'
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r'^(%s)(\{%s(?:,%s)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$' % (name, lab, lab))
typed, helped, n = {}, set(), 0
for line in open(sys.argv[1]).read().split('\n')[:-1]:
    if line.startswith('# HELP '):
        helped.add(line.split(' ')[2]); continue
    if line.startswith('# TYPE '):
        _, _, m, t = line.split(' ')
        assert t in ('counter', 'gauge', 'histogram'), line
        typed[m] = t; continue
    assert not line.startswith('#'), line
    mm = sample.match(line)
    assert mm, 'bad line: %r' % line
    base = re.sub(r'_(bucket|sum|count)$', '', mm.group(1)) if mm.group(1) not in typed else mm.group(1)
    assert base in typed and base in helped, 'no TYPE/HELP for %r' % line
    assert mm.group(1).startswith('rechargd_'), line
    n += 1
assert n > 10
PY
CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "$U/metrics")
check "POST /metrics 405" test "$CODE" = 405
C2=$(curl -s --max-time 10 "$U/metrics" | awk '$1 == "rechargd_http_requests_total{code=\"200\"}" { print $2 }')
check "scrapes counted" test "$C2" -gt "$(v 'rechargd_http_requests_total{code="200"}')"

rd_stop
check "SIGTERM stops with exit 0" test "${T_RD_RC:-1}" -eq 0
t_done
