#!/usr/bin/env bash
# Storage faults (issue 8): the database's disk fills up while SMS and API recharges
# flow. A batch whose commit fails is rolled back whole and every request in it is
# answered as not accepted (deliver_sm ESME_RX_T_APPN, API 3002 / HTTP 503); while the
# store takes no writes new work is refused at once (/healthz and /metrics say so, one
# log line); once space returns the daemon resumes by itself, without a restart, and
# the SMSC's retried MOs are processed once. The ledger invariants hold throughout.
#
# The disk: a 4 MB tmpfs (mount needs root or CAP_SYS_ADMIN) filled with a filler file;
# without mount, the daemon's RLIMIT_FSIZE (prlimit --pid) is cut to the database's
# current size, so its writes fail with EFBIG (SQLITE_FULL) the same way. Which one ran
# is printed. (A read-only remount is refused by the kernel while the daemon holds the
# database open for writing; SQLITE_READONLY takes the same path: db_fault_class.)
. "$(dirname "$0")/../lib.sh"

T_SIM_CONFIG="latency_ms = 0
[provider.slow]
type = sim
latency_ms = 1500"
# the kept JIO recharge is due a PENDING reply while degraded: the sweep must not knock
T_PENDING_REPLY_S=1
umount "$ROOT/$TEST_OUT/storage/mnt" 2>/dev/null   # left by a run killed mid-way
t_setup storage
A=919800000001
ctl retailer add $A --name "Disk Shop" >/dev/null
ctl wallet credit $A 100000 >/dev/null
KEY=$(ctl apikey create $A | tail -1)

DB="$T_DIR/rechargd.db"
MNT="$T_DIR/mnt"
MODE=fsize
mkdir -p "$MNT"
# STORAGE_FAULT=fsize runs the fallback even where mount works
if [ "${STORAGE_FAULT:-tmpfs}" = tmpfs ] && mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null; then
	MODE=tmpfs
	mv "$T_DIR"/rechargd.db* "$MNT"/
	DB="$MNT/rechargd.db"
	sed -i "s|^path = rechargd.db\$|path = $DB|" "$T_CONF"
fi
if [ $MODE = fsize ] && ! command -v prlimit >/dev/null; then
	not_ok "storage faults: neither mount (not root / no CAP_SYS_ADMIN) nor prlimit (util-linux) is available"
	exit 1
fi
s_cleanup() {
	t_cleanup
	[ "$MODE" = tmpfs ] && { umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; }
	return 0
}
trap s_cleanup EXIT
echo "# disk-full mechanism: $MODE ($([ $MODE = tmpfs ] && echo '4 MB tmpfs, filler file' || echo 'mount refused: RLIMIT_FSIZE via prlimit, EFBIG'))"
sql() { sqlite3 -batch -noheader -cmd ".timeout 5000" "$DB" "$@"; }
sql "INSERT INTO routes VALUES ('JIO', 'slow')"

# a provider outside the daemon (tools/provsim, http-json) takes VI: what it did is
# compared with rechargd's rows at the end (nothing sent for a rolled-back hold, nothing
# it did lost)
PROVSIM="$ROOT/$B/provsim"
# the first VI recharge is PENDING there and settled 2 s later; rechargd polls it (every
# second) while the disk is full, keeps the SUCCESS in memory and writes it after
"$PROVSIM" --listen 127.0.0.1:0 --shape json --key k1 --mode pending --pending-then poll \
	--settle-ms 2000 >"$T_DIR/agg.out" 2>"$T_DIR/agg.log" &
T_PIDS="$T_PIDS $!"
for _ in $(seq 1 100); do grep -q '^LISTENING' "$T_DIR/agg.out" 2>/dev/null && break; sleep 0.05; done
PORT_AGG=$(sed -n 's/^LISTENING .*:\([0-9]*\)$/\1/p' "$T_DIR/agg.out")
check "provsim listening" test -n "$PORT_AGG"
cat >>"$T_CONF" <<CONF
[provider.agg]
type = http-json
recharge_url = http://127.0.0.1:$PORT_AGG/recharge
recharge_method = POST
content_type = application/json
recharge_body = {"txn_id":"\${txn_id}","mobile":"\${mobile}","operator":"\${op}","amount":"\${amount}","key":"\${secret}"}
status_url = http://127.0.0.1:$PORT_AGG/status?txn_id=\${txn_id}&key=\${secret}
secret = k1
opcodes = VI:VF
status_field = data.txn.status
ref_field = data.txn.ref
message_field = data.txn.message
success_values = SUCCESS
pending_values = PENDING
failure_values = FAILED
reversed_values = REVERSED
timeout_ms = 1500
CONF
sed -i 's/^pending_reply_s = .*/&\nstatus_poll_s = 1/' "$T_CONF"
sql "INSERT INTO routes VALUES ('VI', 'agg')"
agg_stat() { curl -s --max-time 5 "http://127.0.0.1:$PORT_AGG/_stats" | jq -r ".$1"; }

fill() {
	if [ $MODE = tmpfs ]; then
		dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null   # until ENOSPC
	else
		# no write at any offset: the WAL's, the database's (its log goes to a pipe)
		prlimit --pid "$T_RD_PID" --fsize=1:unlimited
	fi
}
unfill() {
	if [ $MODE = tmpfs ]; then rm -f "$MNT/filler"; else prlimit --pid "$T_RD_PID" --fsize=unlimited:unlimited; fi
}

sim_start
if [ $MODE = tmpfs ]; then
	rd_start
else
	# the limit binds every file the daemon writes: its log goes through a pipe
	"$RECHARGD" -c "$T_CONF" > >(cat >>"$T_DIR/rechargd.log") 2>&1 &
	T_RD_PID=$!
	T_PIDS="$T_PIDS $T_RD_PID"
fi
U=http://127.0.0.1:$T_HTTP_PORT
check "daemon binds" sim "wait_bound 10"

# api JSON: POST /api/v1/recharge; sets CODE and BODY
api() {
	local out
	out=$(curl -s --max-time 10 -w '\n%{http_code}' -X POST "$U/api/v1/recharge" -H "X-API-Key: $KEY" \
		-H 'Content-Type: application/json' -d "$1")
	CODE=${out##*$'\n'}; BODY=${out%$'\n'*}
}
healthz() { curl -s --max-time 5 -w ' %{http_code}' "$U/healthz" | tr -d '\n'; }
# api_log ID MOBILE [OPERATOR]: a recharge with request_id ID; "ID HTTP-CODE ERROR-CODE" to api.txt
api_log() {
	local out
	out=$(curl -s --max-time 10 -w '\n%{http_code}' -X POST "$U/api/v1/recharge" -H "X-API-Key: $KEY" \
		-H 'Content-Type: application/json' \
		-d "{\"mobile\":\"$2\",\"operator\":\"${3:-AIRTEL}\",\"amount\":\"10\",\"request_id\":\"$1\"}")
	echo "$1 ${out##*$'\n'} $(jq -r '.error_code // 0' <<<"${out%$'\n'*}" 2>/dev/null)" >>"$T_DIR/api.txt"
}
metric() { curl -s --max-time 5 "$U/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

check "SMS recharge before the fault" sim "mo $A RC 9700000001 AIRTEL 10" "expect 5 $A ^SUCCESS"
api '{"mobile":"9600000001","operator":"AIRTEL","amount":"10","request_id":"before-1"}'
check "API recharge before the fault ($CODE)" test "$CODE" = 200
check "/healthz ok before" test "$(healthz)" = '{"status":"ok","smpp":"bound","database":"ok"} 200'

# a recharge whose hold is on disk and whose provider answers while the disk is full
check "slow JIO recharge accepted before the fault" sim "mo $A RC 9700000300 JIO 10" "expect_mo_resp 5 ESME_ROK"

# a VI recharge PENDING at provsim (its answer comes while the disk is full)
curl -s --max-time 60 -o "$T_DIR/vi-before-1.json" -X POST "$U/api/v1/recharge" -H "X-API-Key: $KEY" \
	-H 'Content-Type: application/json' \
	-d '{"mobile":"9500000001","operator":"VI","amount":"10","request_id":"vi-before-1"}' &
VI_PID=$!
for _ in $(seq 1 50); do [ "$(agg_stat recharges_done)" = 1 ] && break; sleep 0.1; done
check "a VI recharge taken by provsim before the fault, PENDING there" test "$(agg_stat by_status.PENDING)" = 1
curl -s --max-time 5 -H 'Content-Type: application/json' -d '{"mode":"success"}' \
	"http://127.0.0.1:$PORT_AGG/_control" >/dev/null

# ---- the disk fills while traffic flows --------------------------------------------
fill
# MOs one at a time, each to a new number, until one is refused (bounded)
# (with an API recharge at the same moment, so some share the batch whose commit fails)
refused=""
: >"$T_DIR/api.txt"
for i in $(seq 10 99); do
	api_log "fill-$i" "96000000$i" &
	p1=$!
	api_log "vi-fill-$i" "95000000$i" VI &
	p2=$!
	printf 'mo %s RC 97000000%02d AIRTEL 10\n' "$A" "$i" >&7
	sim "wait_mo_resps 5" >/dev/null
	wait $p1 $p2
	if grep -q '^MO_RESP .*status=ESME_RX_T_APPN' "$T_SIMLOG"; then refused=$i; break; fi
done
check "a deliver_sm is answered ESME_RX_T_APPN once the disk is full (MO ${refused:-none})" test -n "$refused"

# degraded: refused at once, by both channels
for i in 1 2 3; do printf 'mo %s RC 970000010%d AIRTEL 10\n' "$A" "$i" >&7; done
check "more MOs while degraded: answered" sim "wait_mo_resps 5"
check "the last MO while degraded gets ESME_RX_T_APPN" sim "expect_mo_resp 1 ESME_RX_T_APPN"
t0=$(date +%s%N)
api '{"mobile":"9600000100","operator":"AIRTEL","amount":"10","request_id":"degraded-1"}'
ms=$((($(date +%s%N) - t0) / 1000000))
check "API recharge while degraded: HTTP 503 with 3002 ($CODE, ${ms} ms)" \
	test "$CODE" = 503 -a "$(jq -r .error_code <<<"$BODY")" = 3002 -a "$(jq -r .status <<<"$BODY")" = error
check "... refused quickly (${ms} ms < 1000)" test "$ms" -lt 1000
check "/healthz says the database is degraded (503)" \
	test "$(healthz)" = '{"status":"degraded","smpp":"bound","database":"degraded"} 503'
check "/metrics: rechargd_storage_degraded 1" test "$(metric rechargd_storage_degraded)" = 1
check "/metrics: commit failures and refusals counted" \
	test "$(metric rechargd_db_commit_failures_total)" -ge 1 -a "$(metric rechargd_storage_refused_total)" -ge 1
n=$(grep -c 'storage degraded' "$T_DIR/rechargd.log")
check "one 'storage degraded' log line ($n)" test "$n" -eq 1

# the provider's answer cannot be written: kept, the transaction still PENDING on disk
for _ in $(seq 1 50); do grep -q 'kept in memory' "$T_DIR/rechargd.log" && break; sleep 0.1; done
check "the slow provider's SUCCESS is kept in memory while degraded, its reference logged" grep -qE 'TXN.* SUCCESS from slow \(provider reference [^ -][^ ]*\) kept in memory' "$T_DIR/rechargd.log"
check "... and its transaction is PENDING on disk" test "$(sql "SELECT state FROM txns WHERE target = '9700000300'")" = PENDING
# internal work (the PENDING-reply sweep, route retries, the stuck check, health) waits
# for the probe instead of joining the batch: refusals count new work only
r0=$(metric rechargd_storage_refused_total)
sleep 3
r1=$(metric rechargd_storage_refused_total)
check "refusals do not climb while degraded and idle ($r0 -> $r1 in 3 s)" test "$r1" = "$r0"

# rechargectl: a clear error at once (a full disk is not a lock: no retrying), no crash
t0=$(date +%s%N)
if [ $MODE = tmpfs ]; then out=$(ctl wallet credit $A 5 2>&1); rc=$?
else out=$(prlimit --fsize=1 "$RECHARGECTL" -c "$T_CONF" wallet credit $A 5 2>&1); rc=$?; fi
ms=$((($(date +%s%N) - t0) / 1000000))
echo "$out" | sed 's/^/    rechargectl: /' | head -2
check "rechargectl wallet credit on a full disk fails with exit 1 ($rc)" test "$rc" -eq 1
check "... and says the disk is full, nothing changed, what to do" \
	grep -qE '^rechargectl: database: commit: .*\(the disk is full, read-only or failing: nothing was changed; free space' <<<"$out"
check "... at once, without retrying (${ms} ms < 1500)" test "$ms" -lt 1500

# nothing half-written: a 3002 left nothing, a 200 is on disk
bad=0
while read -r id code err; do
	n=$(sql "SELECT count(*) FROM txns WHERE request_id = '$id'")
	case "$code $err" in
	"503 3002") [ "$n" = 0 ] || bad=$((bad + 1)) ;;
	"200 0") [ "$n" = 1 ] || bad=$((bad + 1)) ;;
	*) bad=$((bad + 1)); echo "    $id: HTTP $code error $err" ;;
	esac
done <"$T_DIR/api.txt"
echo "# API during the fill: $(grep -c ' 200 ' "$T_DIR/api.txt") accepted, $(grep -c ' 503 3002' "$T_DIR/api.txt") answered 3002"
check "API answers during the fill: 200 and on disk, or 503/3002 and nothing written ($bad wrong)" test "$bad" -eq 0
out=$(ctl check 2>&1); rc=$?
check "rechargectl check passes on the full disk" test $rc -eq 0
[ $rc -eq 0 ] || echo "$out" | head -5
check "no transaction without its hold posting" \
	test "$(sql "SELECT count(*) FROM txns t WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.txn_id = t.id AND p.kind = 'hold')")" = 0
check "no posting without lines, no line without its posting" \
	test "$(sql "SELECT (SELECT count(*) FROM postings p WHERE NOT EXISTS (SELECT 1 FROM ledger_lines l WHERE l.posting_id = p.id)) + (SELECT count(*) FROM ledger_lines l WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.id = l.posting_id))")" = 0
sim "mo_status $T_DIR/mo_status.txt" >/dev/null
awk '$2 != "0x00000000" && $2 != "ESME_ROK" { print $4 }' "$T_DIR/mo_status.txt" | sort -u >"$T_DIR/refused.txt"
nref=$(wc -l <"$T_DIR/refused.txt")
stored=0
while read -r target; do
	stored=$((stored + $(sql "SELECT (SELECT count(*) FROM txns WHERE target = '$target') + (SELECT count(*) FROM sms_in WHERE text LIKE '%$target%') + (SELECT count(*) FROM sms_out WHERE text LIKE '%$target%')")))
done <"$T_DIR/refused.txt"
check "no refused MO ($nref) left a message, a transaction or a reply behind ($stored)" test "$nref" -ge 4 -a "$stored" -eq 0

# ---- space returns -----------------------------------------------------------------
unfill
for _ in $(seq 1 100); do grep -q 'storage resumed' "$T_DIR/rechargd.log" && break; sleep 0.1; done
check "the daemon resumes by itself ('storage resumed' logged)" grep -q 'storage resumed' "$T_DIR/rechargd.log"
check "/healthz ok again" test "$(healthz)" = '{"status":"ok","smpp":"bound","database":"ok"} 200'
check "/metrics: rechargd_storage_degraded 0" test "$(metric rechargd_storage_degraded)" = 0
# its PENDING reply (due while degraded) may come first, then the SUCCESS
check "the kept recharge's reply comes once space returns" sim "expect 10 $A ^(PENDING|SUCCESS) 9700000300 JIO"
if grep '^MT to=919800000001 .*9700000300' "$T_SIMLOG" | tail -1 | grep -q 'text=PENDING'; then
	check "... the PENDING reply that was due, then the SUCCESS" sim "expect 10 $A ^SUCCESS 9700000300 JIO"
fi
check "the kept SUCCESS is written, the retailer told" \
	test "$(sql "SELECT count(*) FROM txns t JOIN sms_out o ON o.text LIKE 'SUCCESS 9700000300%' WHERE t.target = '9700000300' AND t.state = 'SUCCESS'")" = 1
check "... with one success posting" \
	test "$(sql "SELECT count(*) FROM postings p JOIN txns t ON t.id = p.txn_id WHERE t.target = '9700000300' AND p.kind = 'success'")" = 1
check "a new SMS recharge succeeds without a restart" sim "mo $A RC 9700000200 AIRTEL 10" "expect 5 $A ^SUCCESS 9700000200"
api '{"mobile":"9600000200","operator":"AIRTEL","amount":"10","request_id":"after-1"}'
check "a new API recharge succeeds ($CODE)" test "$CODE" = 200 -a "$(jq -r .status <<<"$BODY")" = success
api '{"mobile":"9600000100","operator":"AIRTEL","amount":"10","request_id":"degraded-1"}'
check "the refused API request, retried with its request_id, is taken ($CODE)" test "$CODE" = 200
while read -r id code err; do
	case "$id $code" in vi-*" 503") api_log "$id" "95000000${id##*-}" VI ;; esac
done < <(cat "$T_DIR/api.txt")
api '{"mobile":"9500000002","operator":"VI","amount":"10","request_id":"vi-after-1"}'
check "a new API VI recharge through provsim succeeds ($CODE)" test "$CODE" = 200

# the SMSC retries what it was refused: each processed once
while read -r target; do printf 'mo %s RC %s AIRTEL 10\n' "$A" "$target" >&7; done <"$T_DIR/refused.txt"
check "retried MOs answered" sim "wait_mo_resps 10"
left=$(wait_settled 100)
check "nothing left pending or unsent after the recovery" test "$left" = 0
# the provider outside: each recharge it took is one transaction given to it, and each it
# did is a SUCCESS here
done_agg=$(agg_stat recharges_done); ok_agg=$(agg_stat by_status.SUCCESS)
given=$(sql "SELECT count(*) FROM txns WHERE provider = 'agg'")
ok_rd=$(sql "SELECT count(*) FROM txns WHERE provider = 'agg' AND state = 'SUCCESS'")
echo "# provsim: $done_agg taken, $ok_agg done; rechargd: $given given to it, $ok_rd SUCCESS"
check "provsim took only what rechargd holds on disk ($done_agg taken, $given given)" \
	test "$done_agg" -ge 3 -a "$done_agg" = "$given"
check "every recharge provsim did is a SUCCESS in rechargd ($ok_agg done, $ok_rd SUCCESS)" \
	test "$ok_agg" = "$ok_rd" -a "$ok_agg" = "$done_agg"
check "provsim got no duplicate ($(agg_stat duplicates))" test "$(agg_stat duplicates)" = 0
wait $VI_PID
echo "# the PENDING VI recharge's API answer: $(tr -d '\n' <"$T_DIR/vi-before-1.json" | head -c 200)"
check "provsim's SUCCESS, polled while degraded, was kept in memory and written" \
	grep -q 'SUCCESS from agg (provider reference OPR[0-9]*) kept in memory' "$T_DIR/rechargd.log"
check "the PENDING VI recharge, settled at provsim while degraded, is SUCCESS" \
	test "$(sql "SELECT state FROM txns WHERE request_id = 'vi-before-1'")" = SUCCESS 
once=0
while read -r target; do
	[ "$(sql "SELECT count(*) FROM txns WHERE target = '$target' AND state = 'SUCCESS'")" = 1 ] && once=$((once + 1))
done <"$T_DIR/refused.txt"
check "every retried MO recharged exactly once ($once of $nref)" test "$once" -eq "$nref"
check "no target recharged twice" \
	test "$(sql "SELECT count(*) FROM (SELECT target FROM txns GROUP BY target HAVING count(*) > 1)")" = 0
spent=$(sql "SELECT coalesce(sum(amount), 0) FROM txns WHERE state = 'SUCCESS'")
bal=$(sql "SELECT balance FROM accounts WHERE name = 'wallet:$A'")
check "wallet = credit - successful recharges" test "$bal" -eq $((10000000 - spent))
out=$(ctl check 2>&1); rc=$?
check "rechargectl check passes after the recovery" test $rc -eq 0
[ $rc -eq 0 ] || echo "$out" | head -5
n=$(grep -c 'storage degraded' "$T_DIR/rechargd.log")
r=$(grep -c 'storage resumed' "$T_DIR/rechargd.log")
f=$(grep -c 'commit failed' "$T_DIR/rechargd.log")
echo "# degraded episodes logged: $n, resumed $r, commit failures $f; refused: $(metric rechargd_storage_refused_total)"
# one episode here; a second that flaps within a minute is not logged again
check "no log flood: at most 2 'storage degraded', 2 'resumed', 3 'commit failed' lines ($n, $r, $f)" \
	test "$n" -ge 1 -a "$n" -le 2 -a "$r" -ge 1 -a "$r" -le 2 -a "$f" -le 3

# ---- a stop while degraded: what the provider did is not lost from the log -----------
k0=$(grep -c 'SUCCESS from slow .*kept in memory' "$T_DIR/rechargd.log")
check "another slow JIO recharge accepted" sim "mo $A RC 9700000301 JIO 10" "expect_mo_resp 5 ESME_ROK"
fill
for i in $(seq 1 20); do
	printf 'mo %s RC 97000004%02d AIRTEL 10\n' "$A" "$i" >&7
	sim "wait_mo_resps 5" >/dev/null
	[ "$(metric rechargd_storage_degraded)" = 1 ] && break
done
for _ in $(seq 1 50); do
	k=$(grep -c 'SUCCESS from slow .*kept in memory' "$T_DIR/rechargd.log")
	[ "$k" -gt "$k0" ] && break
	sleep 0.1
done
check "degraded again, the second slow SUCCESS kept in memory" test "$k" -gt "$k0"
rd_stop
check "daemon stops cleanly while degraded" test "$T_RD_RC" -eq 0
line=$(grep 'was not written before the stop' "$T_DIR/rechargd.log" | tail -1)
echo "    log: ${line:0:300}"
check "the kept outcome is logged at the stop: reference and the rechargectl line" \
	grep -qE 'SUCCESS from slow \(provider reference ([^ -][^ ]*)\).* rechargectl txn resolve TXN[0-9]+ success --ref [^ ]+$' <<<"$line"
[ $MODE = tmpfs ] && rm -f "$MNT/filler"
# shellcheck disable=SC2086
ctl ${line##* run: rechargectl } >/dev/null 2>&1
check "... and that line settles it: SUCCESS with the provider's reference" \
	test "$(sql "SELECT state || ' ' || (operator_ref = '$(sed -n 's/.*provider reference \([^)]*\)).*/\1/p' <<<"$line")') FROM txns WHERE target = '9700000301'")" = "SUCCESS 1"
out=$(ctl check 2>&1); rc=$?
check "rechargectl check passes after the resolve" test $rc -eq 0
[ $rc -eq 0 ] || echo "$out" | head -5

# read-only: the kernel refuses remount,ro while the daemon has the database open for
# writing, so it is shown to rechargectl once the daemon is stopped
if [ $MODE = tmpfs ] && mount -o remount,ro "$MNT" 2>/dev/null; then
	out=$(ctl wallet credit $A 5 2>&1); rc=$?
	echo "$out" | sed 's/^/    rechargectl: /' | head -2
	check "rechargectl on a read-only filesystem fails cleanly (exit $rc) and says why" \
		test "$rc" -eq 1 -a -n "$(grep -i 'read-only' <<<"$out")"
	mount -o remount,rw "$MNT"
else
	echo "# read-only filesystem for rechargectl: not run ($MODE mode: no mount)"
fi
s_cleanup
t_done
