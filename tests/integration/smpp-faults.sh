#!/usr/bin/env bash
# SMPP faults: the real rechargd (window 10, no TPS cap to speak of) against a
# misbehaving SMSC simulator. A burst of 1,000 recharges while the SMSC drops the link
# five times and throttles; SIGKILL with replies outstanding; throttling and a full
# queue; a permanent refusal; an SMSC that never answers; a silent link; refused binds;
# an MO delivered again because its answer was lost with the link or the process.
# Afterwards every MO has its reply accepted by the SMSC, each was processed once, and a
# reply came twice only if it was outstanding (sent, its answer not received) when a
# link broke, at most once per break. Prints "ok NAME" / "not ok NAME" per check; every wait is bounded.
. "$(dirname "$0")/../lib.sh"

N_PER=${FAULTS_PER_RETAILER:-200}         # (a): five retailers, 1,000 recharges
T_SIM_CONFIG="latency_ms = 1"
t_setup smpp-faults
# the [smpp] keys this test needs (t_setup writes the others; a key may appear once)
sed -i -e 's/^window = .*/window = 10/' -e 's/^enquire_link_s = .*/enquire_link_s = 2/' \
	-e 's/^dead_link_s = .*/dead_link_s = 3/' \
	-e 's/^submit_tps = .*/submit_tps = 100000\nresponse_timeout_s = 2/' "$T_CONF"

R=()
for i in $(seq 1 11); do
	R[$i]=$((919810000000 + i))
	ctl retailer add "${R[$i]}" --name "Fault Shop $i" >/dev/null
	ctl wallet credit "${R[$i]}" 10000 >/dev/null
done

# lines NAME: lines of the simulator's log matching an ERE
lines() { grep -cE "$1" "$T_SIMLOG" 2>/dev/null || true; }
# at_least N ERE: the simulator's log holds at least N lines matching ERE
at_least() { [ "$(lines "$2")" -ge "$1" ]; }
# wait_until SECONDS COMMAND...: polls (0.1 s) until the command succeeds
wait_until() {
	local s=$1 i; shift
	for i in $(seq 1 $((s * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
# left DESTS: replies still queued plus recharges still PENDING, for those retailers
left() {
	sql "SELECT (SELECT count(*) FROM sms_out WHERE state = 'queued' AND dest_addr IN ($1))
	     + (SELECT count(*) FROM txns t JOIN retailers r ON r.id = t.retailer_id
	        WHERE t.state = 'PENDING' AND r.msisdn IN ($1))"
}
settled() { [ "$(left "$1")" = 0 ]; }
dests() { local a="" d; for d in "$@"; do a="$a${a:+,}'$d'"; done; echo "$a"; }
# dups_ok LABEL DESTS: each reply came (MTs in the simulator) at least as often as the
# outbox holds it, and more often only by as many breaks as it was outstanding at
# (OUTSTANDING lines); prints the figures.
dups_ok() {
	local label=$1 in=$2
	sim "mt_dump $T_DIR/mt.txt" >/dev/null || return 1
	sql "SELECT dest_addr || ' ' || text FROM sms_out WHERE dest_addr IN ($in)" >"$T_DIR/db.txt"
	sed -n 's/^OUTSTANDING peer=[^ ]* seq=[0-9]* to=\([^ ]*\) why=[^ ]* text=\(.*\)$/\1 \2/p' \
		"$T_SIMLOG" >"$T_DIR/outstanding.txt"
	python3 - "$T_DIR" "$label" "${in//\'/}" <<'PY'
import collections, sys
d, label, dests = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
def load(name):
    c = collections.Counter()
    for line in open(f"{d}/{name}", encoding="utf-8"):
        line = line.rstrip("\n")
        if line.split(" ", 1)[0] in dests:
            c[line] += 1
    return c
mt, db, out = load("mt.txt"), load("db.txt"), load("outstanding.txt")
missing = sum(max(0, db[k] - mt[k]) for k in db)
phantom = sum(mt[k] for k in mt if db[k] == 0)
extra = {k: mt[k] - db[k] for k in mt if db[k] and mt[k] > db[k]}
unexplained = {k: v for k, v in extra.items() if v > out[k]}
print(f"# {label}: {sum(db.values())} replies in the outbox, {sum(mt.values())} MTs at the SMSC, "
      f"{sum(extra.values())} second copies, {sum(out.values())} submit_sm outstanding at breaks")
for k, v in list(unexplained.items())[:5]:
    print(f"#   {v} extra copies of '{k}', outstanding at {out[k]} breaks")
for k in [k for k in db if mt[k] < db[k]][:5]:
    print(f"#   missing at the SMSC: '{k}'")
sys.exit(0 if missing == 0 and phantom == 0 and not unexplained else 1)
PY
}

# ---- (g) a refused bind: logged with its status, retried with backoff, then bound ----
sim_start
sim "bind_resp ESME_RINVPASWD 2" >/dev/null
rd_start
check "(g) binds after two refused binds" sim "wait_bound 15"
check "(g) the SMSC refused two binds" test "$(lines '^BIND_REJECTED system_id=rechargd status=ESME_RINVPASWD$')" -eq 2
check "(g) each refusal logged with its status name" \
	test "$(grep -c 'bind rejected by 127.0.0.1:[0-9]*: ESME_RINVPASWD' "$T_DIR/rechargd.log")" -eq 2
mapfile -t delays < <(grep -o 'reconnecting in [0-9]* ms' "$T_DIR/rechargd.log" | head -2 | grep -o '[0-9]*')
check "(g) retried with a growing backoff (${delays[*]:-none} ms)" \
	test "${#delays[@]}" -eq 2 -a "${delays[0]:-0}" -ge 500 -a "${delays[0]:-0}" -le 1000 -a "${delays[1]:-0}" -ge 1000

# ---- (a) 1,000 recharges, five drops at different points, a throttle ------------------
A_IN=$(dests "${R[1]}" "${R[2]}" "${R[3]}" "${R[4]}" "${R[5]}")
N_A=$((5 * N_PER))
t0=$(date +%s)
drops0=$(lines '^DROPPED peer=')
# 1: the link drops as the 40th next submit_sm arrives, unanswered; answers are slow
# (100 ms) so the ESME's window is full then
sim "mt_delay 100" "drop_after_mt 40" "burst $N_PER ${R[1]} RC 971%07d AIRTEL 10" >/dev/null
wait_until 20 at_least $((drops0 + 1)) '^DROPPED peer='
# 2: right after answering one (the answer goes out first)
sim "mt_delay 0" "drop_after_mt_resp 40" "burst $N_PER ${R[2]} RC 972%07d AIRTEL 10" >/dev/null
wait_until 20 at_least $((drops0 + 2)) '^DROPPED peer='
# 3: mid-MO-burst, right behind the 60th next deliver_sm
sim "drop_after_mo 60" "burst $N_PER ${R[3]} RC 973%07d AIRTEL 10" >/dev/null
wait_until 20 at_least $((drops0 + 3)) '^DROPPED peer='
# the SMSC throttles every submit_sm for 2.5 s
sim "throttle 2.5" "burst $N_PER ${R[4]} RC 974%07d AIRTEL 10" >/dev/null
# 4: the SMSC accepts one but its answer is lost with the link (the duplicate case)
sim "drop_after_mt_resp 30 lost" "burst $((N_PER / 2)) ${R[5]} RC 9750%06d AIRTEL 10" >/dev/null
wait_until 20 at_least $((drops0 + 4)) '^DROPPED peer='
# 5: a plain drop in the middle of the last burst's MOs and replies
sim "wait_bound 10" "burst $((N_PER - N_PER / 2)) ${R[5]} RC 9751%06d AIRTEL 10" "drop" >/dev/null
check "(a) every MO answered" sim "wait_mo_resps 90" "mo_status $T_DIR/mo_status.txt"
wait_until 90 settled "$A_IN"
check "(a) nothing left queued or PENDING ($(left "$A_IN") left after $(( $(date +%s) - t0 )) s)" settled "$A_IN"
drops=$(( $(lines '^DROPPED peer=') - drops0 ))
check "(a) the SMSC dropped the link five times ($drops)" test "$drops" -eq 5
check "(a) the throttle refused submit_sm ($(lines 'status=ESME_RTHROTTLED') times)" test "$(lines 'status=ESME_RTHROTTLED')" -gt 0
ok_mos=$(grep -cE '^[0-9]+ 0x00000000 RC 97[1-5][0-9]{7} AIRTEL 10$' "$T_DIR/mo_status.txt")
check "(a) all $N_A MOs answered ESME_ROK ($ok_mos)" test "$ok_mos" -eq "$N_A"
n=$(sql "SELECT count(DISTINCT text) FROM sms_in WHERE source_addr IN ($A_IN)")
check "(a) every MO stored ($n)" test "$n" -eq "$N_A"
n=$(sql "SELECT count(*) FROM sms_out WHERE dest_addr IN ($A_IN) AND state <> 'sent'")
check "(a) every reply accepted by the SMSC ($n not)" test "$n" -eq 0
n=$(sql "SELECT count(*) FROM txns t JOIN retailers r ON r.id = t.retailer_id WHERE r.msisdn IN ($A_IN)")
check "(a) one recharge per MO ($n)" test "$n" -eq "$N_A"
n=$(sql "SELECT count(*) FROM txns t JOIN retailers r ON r.id = t.retailer_id WHERE r.msisdn IN ($A_IN)
         AND NOT EXISTS (SELECT 1 FROM sms_out o WHERE o.txn_id = t.id AND o.state = 'sent'
                         AND o.text LIKE 'SUCCESS%')")
check "(a) every recharge's final SMS accepted by the SMSC ($n without)" test "$n" -eq 0
check "(a) a second copy only of a reply outstanding at a drop, once per drop" dups_ok "(a)" "$A_IN"
repeats=$(sql "SELECT count(*) - count(DISTINCT dest_addr || text) FROM sms_out WHERE dest_addr IN ($A_IN)")
echo "# (a) the outbox itself repeats a text $repeats times"
n=$(sql "SELECT count(*) FROM sms_in WHERE source_addr IN ($A_IN)")
redelivered=$(grep -c "second delivery of message" "$T_DIR/rechargd.log")
check "(a) each MO processed once: $redelivered delivered again recognised ($n stored)" \
	test "$n" -eq "$N_A" -a "$redelivered" -gt 0
check "(a) simulator: MT_DUP at most drops + the outbox's own repeats ($(lines '^MT_DUP to=') seen)" \
	sim "expect_dups_at_most $((drops + repeats))"
out=$(ctl check 2>&1); rc=$?
check "(a) rechargectl check passes" test $rc -eq 0
[ $rc -eq 0 ] || echo "$out" | head -5 | sed 's/^/#   /'

# ---- (c) throttling: ESME_RTHROTTLED, then ESME_RMSGQFUL, for 2 s each ----------------
for st in ESME_RTHROTTLED ESME_RMSGQFUL; do
	r=${R[7]}; [ "$st" = ESME_RMSGQFUL ] && r=${R[8]}
	rej0=$(lines "^MT_REJECTED .* to=$r status=$st ")
	sim "throttle 2 $st" "burst 20 $r RC 97${r: -1}%07d AIRTEL 10" "wait_mo_resps 20" >/dev/null
	s0=$(date +%s%N)
	wait_until 20 settled "'$r'"
	ms=$(( ($(date +%s%N) - s0) / 1000000 ))
	rej=$(( $(lines "^MT_REJECTED .* to=$r status=$st ") - rej0 ))
	check "(c) $st: submit_sm refused ($rej), replies paused" test "$rej" -gt 0
	check "(c) $st: then all 20 accepted, none failed, in ${ms} ms" \
		test "$(sql "SELECT count(*) FROM sms_out WHERE dest_addr = '$r' AND state = 'sent'")" -eq 20 \
		-a "$(sql "SELECT count(*) FROM sms_out WHERE dest_addr = '$r' AND state <> 'sent'")" -eq 0 -a "$ms" -lt 9000
	# every refused text went again and was accepted
	miss=0
	while IFS= read -r t; do
		grep -qxF "MT to=$r dc=0 text=$t" "$T_SIMLOG" || miss=$((miss + 1))
	done < <(sed -n "s/^MT_REJECTED seq=[0-9]* to=$r status=$st text=//p" "$T_SIMLOG" | sort -u)
	check "(c) $st: the same messages retried and accepted ($miss not)" test "$miss" -eq 0
done

# ---- (d) a permanent refusal: recorded on the outbox row, not retried ------------------
r=${R[9]}
sim "mt_resp ESME_RINVDSTADR 1" "mo $r BAL" >/dev/null
failed_row() { [ "$(sql "SELECT count(*) FROM sms_out WHERE dest_addr = '$r' AND state = 'failed'")" = 1 ]; }
wait_until 10 failed_row
check "(d) refused reply: state failed, last_error ESME_RINVDSTADR, one attempt" \
	test "$(sql "SELECT state || ' ' || last_error || ' ' || attempts FROM sms_out WHERE dest_addr = '$r'")" = "failed ESME_RINVDSTADR 1"
sleep 2
check "(d) not sent again" test "$(lines "^MT(_REJECTED seq=[0-9]*)? to=$r ")" -eq 1

# ---- (e) an SMSC that never answers one submit_sm: reset after response_timeout_s -----
r=${R[10]}
closes0=$(lines '^CLOSED peer=')
check "(e) reply sent again after the reset and rebind" sim "mt_resp none 1" "mo $r BAL" "expect 15 $r ^BAL Bal:"
check "(e) rechargd reset the link: no submit_sm_resp within response_timeout_s" \
	grep -q 'no submit_sm_resp within response_timeout_s' "$T_DIR/rechargd.log"
check "(e) the SMSC saw the close with that submit_sm outstanding" \
	test "$(lines "^OUTSTANDING .* to=$r why=unanswered text=BAL ")" -ge 1 -a "$(lines '^CLOSED peer=')" -gt "$closes0"
check "(e) the outbox row: sent, two attempts" \
	test "$(sql "SELECT state || ' ' || attempts FROM sms_out WHERE dest_addr = '$r'")" = "sent 2"

# ---- (f) a silent SMSC: dead after dead_link_s, reconnected ---------------------------
r=${R[11]}
closes0=$(lines '^CLOSED peer=')
sim "silence on" >/dev/null
wait_until 10 at_least $((closes0 + 1)) '^CLOSED peer='
check "(f) rechargd found the silent link dead" grep -q 'silent past dead_link_s' "$T_DIR/rechargd.log"
check "(f) and reconnects once the SMSC speaks again" sim "silence off" "wait_bound 15" \
	"mo $r BAL" "expect 10 $r ^BAL Bal:"

# ---- (b) SIGKILL with replies outstanding -------------------------------------------
r=${R[6]}
un0=$(lines "^MT_UNANSWERED seq=[0-9]* to=$r$")
sim "mt_resp none" "burst 30 $r RC 976%07d AIRTEL 10" "wait_mo_resps 30" >/dev/null
wait_until 10 at_least $((un0 + 10)) "^MT_UNANSWERED seq=[0-9]* to=$r$"
closes0=$(lines '^CLOSED peer=')
kill -9 "$T_RD_PID"; wait "$T_RD_PID" 2>/dev/null
wait_until 5 at_least $((closes0 + 1)) '^CLOSED peer='
k=$(grep -E '^CLOSED peer=' "$T_SIMLOG" | tail -1 | sed -n 's/.* outstanding=\([0-9]*\) .*/\1/p')
check "(b) killed with $k replies outstanding" test "${k:-0}" -ge 10
sim "mt_resp ESME_ROK" >/dev/null
rd_start
check "(b) restarted daemon binds" sim "wait_bound 20"
wait_until 30 settled "'$r'"
check "(b) every reply accepted after the restart" \
	test "$(sql "SELECT count(*) FROM sms_out WHERE dest_addr = '$r' AND state = 'sent'")" -eq 30 -a "$(left "'$r'")" = 0
check "(b) a second copy only of a reply outstanding at the kill" dups_ok "(b)" "'$r'"

# ---- (h) an MO delivered again: its deliver_sm_resp lost with the link, or the process --
ADMIN=919810000099; TD=919810000050
ctl admin add $ADMIN --pin 4321 >/dev/null
ctl retailer add $TD --name "Topped Shop" >/dev/null
wallet() { sql "SELECT a.balance FROM accounts a JOIN retailers r ON r.wallet_account = a.id WHERE r.msisdn = '$TD'"; }
seen_again() { grep -c "MO from $ADMIN is the SMSC's second delivery" "$T_DIR/rechargd.log"; }
admin_mos() { sql "SELECT count(*) FROM sms_in WHERE source_addr = '$ADMIN' AND processed_at IS NOT NULL"; }
more_mos() { [ "$(admin_mos)" -gt "$1" ]; }
drop_after() {   # drop_after N MO...: the link drops behind the Nth deliver_sm of MO...
	local d0 n=$1; shift
	d0=$(lines '^DROPPED peer=')
	sim "wait_bound 15" "drop_after_mo $n" "$@" >/dev/null
	wait_until 20 at_least $((d0 + 1)) '^DROPPED peer='
}
drop_after 1 "mo $ADMIN TOPUP $TD 100 4321"
check "(h) link: the TOPUP is delivered again after the drop and answered" \
	sim "wait_bound 15" "wait_mo_resps 30" "expect 10 $ADMIN ^OK TOPUP"
check "(h) link: credited once (wallet $(wallet) paise), seen again once ($(seen_again))" \
	test "$(wallet)" = 10000 -a "$(seen_again)" = 1
check "(h) a question is answered each time, a drop between" sim "expect 10 $TD ^Wallet credited Rs100\.00" \
	"mo $TD BAL" "expect 10 $TD ^BAL Bal:Rs100\.00" \
	"drop" "wait_bound 15" "mo $TD BAL" "expect 10 $TD ^BAL Bal:Rs100\.00"
# a refused TOPUP (wrong PIN) delivered again is refused once; the retry with the right
# PIN right after is not taken for a copy
drop_after 1 "mo $ADMIN TOPUP $TD 7 9999"
check "(h) a wrong PIN: refused once, its copy recognised, the right one done" \
	sim "wait_bound 15" "wait_mo_resps 30" "expect 10 $ADMIN ^ERR" "mo $ADMIN TOPUP $TD 7 4321" \
	"expect 10 $ADMIN ^OK TOPUP"
check "(h) ... credited 7 (wallet $(wallet) paise), seen again twice in all ($(seen_again))" \
	test "$(wallet)" = 10700 -a "$(seen_again)" = 2
# a long MO (two parts) whose answers were lost: both parts come again and complete again
# (a REG whose shop name is too long: refused by the engine, answered once)
shop=$(printf 'Long Name Stores %.0s' $(seq 1 12))
in0=$(admin_mos)
drop_after 2 "mo $ADMIN REG 919810000051 starter $shop 4321"
check "(h) long MO: delivered again and answered" sim "wait_bound 15" "wait_mo_resps 30" \
	"expect 10 $ADMIN ^ERR 1009 .*shop_name"
check "(h) long MO: processed once ($(( $(admin_mos) - in0 )) stored), seen again ($(seen_again) in all)" \
	test "$(( $(admin_mos) - in0 ))" = 1 -a "$(seen_again)" = 3
# the process: stored and committed, the answer lost, the daemon killed before it rebinds
in0=$(admin_mos)
sim "bind_resp ESME_RBINDFAIL" >/dev/null
drop_after 1 "mo $ADMIN TOPUP $TD 50 4321"
wait_until 20 more_mos "$in0"
kill -9 "$T_RD_PID"; wait "$T_RD_PID" 2>/dev/null
sim "bind_resp ESME_ROK" >/dev/null
rd_start
check "(h) restart: delivered again to the new process and answered" sim "wait_bound 20" "wait_mo_resps 30"
check "(h) restart: credited once (wallet $(wallet) paise), seen again ($(seen_again) in all)" \
	test "$(wallet)" = 15700 -a "$(seen_again)" = 4

# ---- the whole run -------------------------------------------------------------------
sim "stats" >/dev/null
grep '^STATS ' "$T_SIMLOG" | tail -1 | sed 's/^/# /'
n=$(sql "SELECT count(*) FROM sms_out WHERE state <> 'sent'")
check "every reply accepted but the refused one ($n not sent)" test "$n" -eq 1
out=$(ctl check 2>&1); rc=$?
check "rechargectl check passes at the end" test $rc -eq 0
[ $rc -eq 0 ] || echo "$out" | head -5 | sed 's/^/#   /'
rd_stop
# the simulator ends its script cleanly, so a leak in it would be reported too
printf 'quit\n' >&7
for _ in $(seq 1 100); do kill -0 "$T_SIM_PID" 2>/dev/null || break; sleep 0.1; done
wait "$T_SIM_PID" 2>/dev/null
check "simulator quits with exit 0" test $? -eq 0
check "no sanitizer report" bash -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' '$T_DIR/rechargd.log' '$T_SIMLOG'"
t_done
