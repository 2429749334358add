#!/usr/bin/env bash
# tools/bench/inflight.sh: many recharges waiting on slow providers at once.
#  1. INFLIGHT_N (10,000) recharges by SMS at the sim provider answering after 2 s;
#  2. INFLIGHT_HTTP_N (1,000) at tools/provsim (http-json) answering after 2 s.
# Meanwhile: peak in flight (rechargd_engine_inflight from /metrics), peak RSS, /healthz
# latency p99 (curl) and BAL-by-SMS latency p99 (deliver_sm received -> reply answered
# by the SMSC, from rechargd's own sms_in.received_at / sms_out.sent_at). Result rows on
# stdout (docs/performance.md, /tmp/notes/bench-iface.md); everything else on stderr.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${BENCH_OUT:-build/bench}
case "$OUT" in /*) OUT=$(realpath -m --relative-to="$ROOT" "$OUT") ;; esac
export TEST_OUT=$OUT
. "$ROOT/tests/lib.sh"
N=${INFLIGHT_N:-10000}
HN=${INFLIGHT_HTTP_N:-1000}
LAT=${INFLIGHT_LATENCY_MS:-2000}
PROVSIM="$ROOT/$B/provsim"
SEC=inflight

row() { printf 'ROW\t%s\t%s\t%s\t%s\t%s\n' "$SEC" "$1" "$2" "$3" "$4" >&3; }
# verdict VALUE OP LIMIT: met or missed
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == "<") ? v < l : v >= l; print ok ? "met" : "missed" }'; }
p99() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; printf "%.1f\n", a[i] }'; }
cleanup() { kill $T_PIDS ${SAMPLER:-} ${HZ:-} 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT
exec 3>&1 1>&2

# sampler FILE: every 100 ms "inflight rss_kb" of the running rechargd, until killed
sampler() {
	while :; do
		local inf rss
		inf=$(curl -s --max-time 1 "http://127.0.0.1:$T_HTTP_PORT/metrics" | awk '$1 == "rechargd_engine_inflight" { print $2 }')
		rss=$(ps -o rss= -p "$T_RD_PID" 2>/dev/null | tr -d ' ')
		echo "${inf:-0} ${rss:-0}" >>"$1"
		sleep 0.1
	done
}
# healthz FILE: /healthz latency in ms every 20 ms, until killed
healthz() {
	while :; do
		curl -s -o /dev/null --max-time 2 -w '%{time_total}\n' "http://127.0.0.1:$T_HTTP_PORT/healthz" |
			awk '{ printf "%.2f\n", $1 * 1000 }' >>"$1"
		sleep 0.02
	done
}
# watch PHASE: starts both loops for the phase
watch_start() { : >"$T_DIR/$1.samples"; : >"$T_DIR/$1.healthz"
	sampler "$T_DIR/$1.samples" & SAMPLER=$!; healthz "$T_DIR/$1.healthz" & HZ=$!; }
watch_stop() { kill $SAMPLER $HZ 2>/dev/null; wait $SAMPLER $HZ 2>/dev/null; SAMPLER= HZ=; }
# bal_p99: ms from a BAL deliver_sm being stored to its reply being answered by the SMSC
bal_p99() { sql "SELECT o.sent_at - i.received_at FROM sms_in i JOIN sms_out o ON o.sms_in_id = i.id
	WHERE i.text = 'BAL' AND o.sent_at IS NOT NULL" | p99; }
# report PHASE WANTED: the rows of a phase
report() {
	local ph=$1 want=$2 peak rss hz bal nbal
	peak=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$T_DIR/$ph.samples")
	rss=$(awk '$2 > m { m = $2 } END { printf "%.1f\n", m / 1024 }' "$T_DIR/$ph.samples")
	hz=$(p99 <"$T_DIR/$ph.healthz")
	bal=$(bal_p99)
	nbal=$(sql "SELECT count(*) FROM sms_in WHERE text = 'BAL'")
	row "$ph: peak recharges in flight" "$peak" ">= $want" "$(verdict "$peak" '>=' "$want")"
	row "$ph: peak RSS (MB)" "$rss" "< 64" "$(verdict "$rss" '<' 64)"
	row "$ph: /healthz p99 (ms) meanwhile, $(wc -l <"$T_DIR/$ph.healthz") calls" "$hz" "< 50" "$(verdict "${hz/n\/a/999}" '<' 50)"
	row "$ph: BAL by SMS p99 (ms) meanwhile, $nbal messages" "$bal" "< 50" "$(verdict "${bal/n\/a/999}" '<' 50)"
}
# wait_final: until no transaction is PENDING and no reply queued (bounded)
wait_final() {
	for _ in $(seq 1 600); do
		[ "$(sql "SELECT (SELECT count(*) FROM txns WHERE state = 'PENDING') + (SELECT count(*) FROM sms_out WHERE state = 'queued')")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
# load COUNT TEMPLATE_PREFIX OPERATOR: COUNT recharges from 10 retailers, 4 BALs after each tenth
load() {
	local per=$(($1 / 10)) i j
	for i in 0 1 2 3 4 5 6 7 8 9; do
		printf 'burst %d 91980000001%d RC %s%d%%07d %s 10\n' "$per" "$i" "$2" "$i" "$3" >&7
		for j in 1 2 3 4; do printf 'mo 919800000099 BAL\nsleep 25\n' >&7; done
	done
	# and some while the last ones wait on the provider
	for j in $(seq 1 20); do printf 'mo 919800000099 BAL\nsleep 50\n' >&7; done
	sim "wait_mo_resps 300"
}
setup_people() {
	local i
	for i in 0 1 2 3 4 5 6 7 8 9; do
		ctl retailer add 91980000001$i --name "Shop $i" >/dev/null 2>&1
		ctl wallet credit 91980000001$i 1000000 >/dev/null
	done
	ctl retailer add 919800000099 --name "Balance asker" >/dev/null
}
check_row() {
	if ctl check >"$T_DIR/check.out" 2>&1; then row "$1: rechargectl check" pass pass met
	else row "$1: rechargectl check" fail pass missed; fi
}

# --- 1: the sim provider ---------------------------------------------------------------
T_WINDOW=1000 T_PENDING_REPLY_S=30 T_SIM_CONFIG="latency_ms = $LAT"
t_setup bench-inflight-sim
printf '[engine]\nmax_inflight = %d\n' $((N * 2)) >>"$T_CONF"
setup_people 2>/dev/null
sim_start
rd_start
sim "wait_bound 10" || { row "sim: binds" fail bound missed; exit 1; }
watch_start sim
load "$N" 96 AIRTEL
wait_final || echo "inflight: sim phase did not settle" >&2
watch_stop
report sim "$N"
ok=$(sql "SELECT count(*) FROM txns WHERE state = 'SUCCESS'")
row "sim: recharges settled" "$ok" "$N" "$(verdict "$ok" '>=' "$N")"
check_row sim
rd_stop

# --- 2: provsim over HTTP --------------------------------------------------------------
T_WINDOW=1000 T_PENDING_REPLY_S=30 T_SIM_CONFIG="latency_ms = 0"
t_setup bench-inflight-http
"$PROVSIM" --listen 127.0.0.1:0 --shape json --latency-ms "$LAT" --max-hung $((HN * 2)) \
	>"$T_DIR/provsim.out" 2>"$T_DIR/provsim.log" &
T_PIDS="$T_PIDS $!"
for _ in $(seq 1 100); do grep -q '^LISTENING' "$T_DIR/provsim.out" && break; sleep 0.05; done
PORT=$(sed -n 's/^LISTENING .*:\([0-9]*\)$/\1/p' "$T_DIR/provsim.out")
cat >>"$T_CONF" <<CONF
[provider.ps]
type = http-json
recharge_url = http://127.0.0.1:$PORT/recharge
recharge_method = POST
recharge_body = {"txn_id":"\${txn_id}","mobile":"\${mobile}","operator":"\${op}","amount":"\${amount}"}
status_url = http://127.0.0.1:$PORT/status?txn_id=\${txn_id}
status_field = data.txn.status
ref_field = data.txn.ref
success_values = SUCCESS
pending_values = PENDING
failure_values = FAILED
reversed_values = REVERSED
max_connections = $((HN < 2048 ? HN : 2048))
timeout_ms = $((LAT * 5))
[engine]
max_inflight = $((HN * 4))
CONF
ctl route set AIRTEL ps >/dev/null
setup_people 2>/dev/null
sim_start
rd_start
sim "wait_bound 10" || { row "http: binds" fail bound missed; exit 1; }
watch_start http
load "$HN" 95 AIRTEL
wait_final || echo "inflight: http phase did not settle" >&2
watch_stop
SEC=inflight
report http "$HN"
ok=$(sql "SELECT count(*) FROM txns WHERE state = 'SUCCESS'")
row "http: recharges settled" "$ok" "$HN" "$(verdict "$ok" '>=' "$HN")"
check_row http
rd_stop
exit 0
