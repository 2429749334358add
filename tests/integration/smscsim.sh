#!/usr/bin/env bash
# The SMSC simulator on its own, before any daemon: script syntax errors and timeouts
# fail with exit 1 and a FAIL line; against a tiny Python ESME (below) it binds, checks
# credentials, delivers MOs through the window, joins UDH (8- and 16-bit), SAR-less
# message_payload and UCS-2 MTs, records deliver_sm_resp statuses, queues MOs typed
# before the bind, redelivers after a dropped link, and closes on garbage.
# Prints "ok NAME" / "not ok NAME" per check.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
SIM="$PWD/$B/smscsim"
D="$PWD/${TEST_OUT:-tests/out}/smscsim"
rm -rf "$D"; mkdir -p "$D"
FAILED=0
PIDS=""

ok() { echo "ok $*"; }
not_ok() { echo "not ok $*"; FAILED=$((FAILED + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

# A tiny ESME: binds, answers every deliver_sm, replies to each MO by its text.
cat >"$D/esme.py" <<'PY'
import socket, struct, sys, time
port, sysid, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
bind = {"trx": 9, "tx": 2, "rx": 1}[sys.argv[4]]
mode = sys.argv[5]
s = socket.create_connection(("127.0.0.1", port))
seq = 0
def send(cmd, status, body=b"", sq=None):
    global seq
    if sq is None:
        seq += 1; sq = seq
    s.sendall(struct.pack(">IIII", 16 + len(body), cmd, status, sq) + body)
def cstr(b, i):
    j = b.index(b"\0", i); return b[i:j].decode("latin-1"), j + 1
def submit(dest, dc, sm, esm=0, tlv=b""):
    body = b"\0" + bytes([0, 0]) + b"5555\0" + bytes([1, 1]) + dest.encode() + b"\0"
    body += bytes([esm, 0, 0]) + b"\0\0" + bytes([1, 0, dc, 0, len(sm)]) + sm + tlv
    send(4, 0, body)
if mode == "garbage":
    s.sendall(b"\x00\x00\x00\x05\x00\x00\x00\x15")
    time.sleep(2); sys.exit(0)
send(bind, 0, sysid.encode() + b"\0" + pw.encode() + b"\0" + b"\0" + bytes([0x34, 0, 0]) + b"\0")
buf = b""
s.settimeout(20)
while True:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    if not d:
        break
    buf += d
    while len(buf) >= 16:
        ln, cmd, st, sq = struct.unpack(">IIII", buf[:16])
        if len(buf) < ln: break
        pdu, buf = buf[:ln], buf[ln:]
        b = pdu[16:]
        if cmd & 0x80000000:
            if cmd in (0x80000009, 0x80000002, 0x80000001) and st != 0:
                print("bind refused", hex(st), flush=True); sys.exit(3)
            if cmd == 0x80000006: sys.exit(0)
            continue
        if cmd == 0x15: send(0x80000015, 0, sq=sq); continue
        if cmd == 6: send(0x80000006, 0, sq=sq); sys.exit(0)
        if cmd != 5: continue
        i = 0
        _, i = cstr(b, i); i += 2
        src, i = cstr(b, i); i += 2
        dst, i = cstr(b, i)
        esm = b[i]; dc = b[i + 7]; i += 3
        _, i = cstr(b, i); _, i = cstr(b, i)
        i += 4; sml = b[i]; sm = b[i + 1:i + 1 + sml]
        if esm & 0x04:
            send(0x80000005, 0, b"\0", sq=sq); continue
        if esm & 0x40: sm = sm[1 + sm[0]:]
        text = sm.decode("utf-16-be") if dc == 8 else sm.decode("latin-1")
        if text.startswith("NACK"):
            send(0x80000005, 0x64, b"", sq=sq); continue
        if text.startswith("SLOW") and mode == "echo":
            continue
        send(0x80000005, 0, b"\0", sq=sq)
        if text == "LONG":
            for n, p in enumerate([b"part one ", b"part two ", b"part three"]):
                submit(src, 0, bytes([5, 0, 3, 7, 3, n + 1]) + p, esm=0x40)
        elif text == "LONG16":
            for n, p in reversed(list(enumerate([b"sixteen ", b"bit ref"]))):
                submit(src, 0, bytes([6, 8, 4, 1, 2, 2, n + 1]) + p, esm=0x40)
        elif text == "PAYLOAD":
            t = ("payload line\n" * 30).encode()
            submit(src, 0, b"", tlv=struct.pack(">HH", 0x0424, len(t)) + t)
        elif text == "UNI":
            submit(src, 8, "नमस्ते 😀".encode("utf-16-be"))
        elif text == "UNBIND":
            send(6, 0)
        else:
            submit(src, 0, ("ECHO " + text).encode("latin-1", "replace"))
PY

# sim_run NAME SCRIPT [smscsim options] [-- ESME_MODE...]: runs a script against the
# ESME (one ESME process per mode, one after the other, a new one after each drop);
# sets RC and OUT.
sim_run() {
	local name=$1 script=$2; shift 2
	local opts=() modes=() p sp port
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && { shift; modes=("$@"); }
	OUT="$D/$name.out"
	printf '%s\n' "$script" >"$D/$name.script"
	timeout 60 "$SIM" --listen 127.0.0.1:0 --script "$D/$name.script" --log "$D/$name.log" \
		"${opts[@]}" >"$OUT" &
	sp=$!
	PIDS="$PIDS $sp"
	for _ in $(seq 1 100); do grep -q '^LISTENING' "$OUT" 2>/dev/null && break; sleep 0.05; done
	port=$(sed -n 's/^LISTENING .*:\([0-9]*\)$/\1/p' "$OUT")
	if [ ${#modes[@]} -gt 0 ] && [ -n "$port" ]; then
		( for m in "${modes[@]}"; do
			timeout 30 python3 "$D/esme.py" "$port" rechargd secret "${ESME_BIND:-trx}" "$m"
		done ) >>"$D/$name.esme" 2>&1 &
		p=$!
		PIDS="$PIDS $p"
	fi
	wait "$sp"
	RC=$?
}
has() { grep -qE "$1" "$OUT"; }

# ---- without an ESME ------------------------------------------------------------
sim_run syntax $'echo first\nfoo bar'
check "syntax error: exit 1" test "$RC" -eq 1
check "syntax error: FAIL line names line and command" has "^FAIL line 2: unknown command 'foo'$"
check "syntax error in a file fails before running" bash -c "! grep -q '^first$' '$OUT'"

sim_run usage $'expect 5 919876543210'
check "missing argument: usage FAIL" has '^FAIL line 1: usage: expect SECONDS TO REGEX$'

sim_run badre $'expect 5 919876543210 ('
check "bad regex: FAIL" has '^FAIL line 1: expect: bad regex'

sim_run badtpl $'burst 5 919876543210 RC %d %d'
check "burst template with two numbers: FAIL" has '^FAIL line 1: burst: TEMPLATE'

sim_run waitbound $'echo start\nwait_bound 0.3'
check "wait_bound timeout: exit 1" test "$RC" -eq 1
check "wait_bound timeout: FAIL line" has '^FAIL line 2: wait_bound: no ESME bound within 0.3 s'

sim_run sleep $'sleep 100\necho after\nquit\necho never'
check "sleep, echo, quit: exit 0" test "$RC" -eq 0
check "quit stops the script" bash -c "grep -q '^after$' '$OUT' && ! grep -q '^never$' '$OUT'"

sim_run rawnone $'raw 00000010'
check "raw without a connection: FAIL" has '^FAIL line 1: raw: no ESME connection'

OUT="$D/stdin.out"
printf 'echo piped\nwait_bound 0.2\n' | timeout 10 "$SIM" --listen 127.0.0.1:0 --script - >"$OUT" 2>/dev/null
RC=$?
check "script on stdin: runs, fails wait_bound" bash -c "[ $RC -eq 1 ] && grep -q '^piped$' '$OUT'"

timeout 5 "$SIM" --console >/dev/null 2>&1
check "usage error: exit 2" test $? -eq 2

# ---- against the tiny ESME -----------------------------------------------------
if ! command -v python3 >/dev/null; then
	echo "# python3 missing: ESME checks skipped"
	[ "$FAILED" -eq 0 ]; exit
fi

sim_run basic 'mo 919876543210 before bind
wait_bound 10
expect 5 919876543210 ^ECHO before bind$
expect_mo_resp 5 ESME_ROK
mo 919876543210 LONG
expect 5 919876543210 ^part one part two part three$
mo 919876543210 LONG16
expect 5 919876543210 ^sixteen bit ref$
mo 919876543210 PAYLOAD
expect 5 919876543210 ^(payload line\n){30}$
mo 919876543210 UNI
expect 5 919876543210 ^नमस्ते 😀$
mo_dc 8 919876543210 ucs2 text
expect 5 919876543210 ^ECHO ucs2 text$
mo 919876543210 NACK me
expect_mo_resp 5 0x00000064
expect_none 0.3 919876543210
mt_dump '"$D"'/mt.txt
mo_status '"$D"'/mo.txt
mo 919876543210 UNBIND
wait_unbound 5' --system-id rechargd --password secret -- echo
check "basic: exit 0" test "$RC" -eq 0
check "basic: bound line" has '^BOUND transceiver system_id=rechargd$'
check "basic: MT line" has '^MT to=919876543210 dc=0 text=ECHO before bind$'
check "basic: MO_RESP lines" has '^MO_RESP seq=[0-9]+ status=ESME_RX_T_APPN mo=7$'
check "basic: ESME unbind" has '^UNBOUND system_id=rechargd$'
check "mt_dump escapes newlines" grep -qx '919876543210 \(payload line\\n\)\{30\}' "$D/mt.txt"
check "mo_status lists status and text" bash -c "grep -qx '1 0x00000000 before bind' '$D/mo.txt' && grep -qx '7 0x00000064 NACK me' '$D/mo.txt'"
[ "$RC" -eq 0 ] || grep '^FAIL' "$OUT" | sed 's/^/# /'

sim_run mismatch $'wait_bound 10\nmo 919876543210 hi\nexpect 5 919876543210 ^BYE' -- echo
check "expect mismatch: FAIL shows both texts" has "^FAIL line 3: expect: MT to 919876543210: expected /\\^BYE/, got 'ECHO hi'$"

sim_run moresp $'wait_bound 10\nmo 919876543210 NACK\nexpect_mo_resp 5 ESME_ROK' -- echo
check "expect_mo_resp mismatch: FAIL" has '^FAIL line 3: expect_mo_resp: MO 1: expected ESME_ROK, got ESME_RX_T_APPN$'

sim_run passwd $'sleep 1500' --system-id rechargd --password other -- echo
check "wrong password: bind_resp ESME_RINVPASWD" has '^BIND_REJECTED system_id=rechargd status=ESME_RINVPASWD$'

sim_run sysid $'sleep 1500' --system-id someone -- echo
check "wrong system_id: bind_resp ESME_RINVSYSID" has '^BIND_REJECTED system_id=rechargd status=ESME_RINVSYSID$'

sim_run garbage $'sleep 1000' -- garbage
check "impossible command_length closes the link" has '^CLOSED peer=.* reason=bad command_length$'

sim_run redeliver 'wait_bound 10
mo 919876543210 SLOW one
mo 919876543210 SLOW two
sleep 300
drop
wait_bound 10
expect 5 919876543210 ^ECHO SLOW one$
expect 5 919876543210 ^ECHO SLOW two$
wait_mo_resps 5' -- echo answer
check "unanswered MOs redelivered in order after drop" test "$RC" -eq 0
check "drop printed" has '^DROPPED peer='

sim_run unbind $'wait_bound 10\nunbind\nwait_unbound 5\necho after' -- echo
check "unbind from the SMSC: answered, UNBOUND" bash -c "[ $RC -eq 0 ] && grep -q '^UNBIND_SENT n=1$' '$OUT' && grep -q '^UNBOUND system_id=rechargd$' '$OUT'"

sim_run mtresp 'wait_bound 10
mt_resp ESME_RTHROTTLED 1
mo 919876543210 one
sleep 300
mo 919876543210 two
expect 5 919876543210 ^ECHO two$' -- echo
check "mt_resp: one submit_sm refused, the next accepted" bash -c "[ $RC -eq 0 ] && grep -q '^MT_REJECTED seq=[0-9]* to=919876543210 status=ESME_RTHROTTLED text=ECHO one$' '$OUT'"

sim_run noredeliver $'wait_bound 10\nmo 919876543210 SLOW\nsleep 300\ndrop\nwait_mo_resps 1' --no-redeliver -- echo
check "--no-redeliver: lost MO fails wait_mo_resps" has '^FAIL line 5: wait_mo_resps: 1 of 1 MOs lost'

sim_run burst 'wait_bound 10
burst 500 919800000001 RC 98%08d AIRTEL 10
wait_mo_resps 30
sleep 1500
mo_status '"$D"'/burst.txt' -- echo
check "burst of 500 through the window, all answered" bash -c "[ $RC -eq 0 ] && grep -q '^MO_RESPS n=500 ok=500 failed=0' '$OUT'"
check "burst substitutes %08d" grep -qx '500 0x00000000 RC 9800000499 AIRTEL 10' "$D/burst.txt"
check "burst MTs all arrived" test "$(grep -c '^MT to=919800000001 dc=0 text=ECHO RC 98' "$OUT")" -eq 500

[ "$FAILED" -eq 0 ]
