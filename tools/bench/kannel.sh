#!/usr/bin/env bash
# tools/bench/kannel.sh: the Kannel baseline of `make bench` (issue 7). Debian's Kannel
# (package `kannel`: /usr/sbin/bearerbox, /usr/sbin/smsbox) relays SMS between the load
# tool (smscsim --load, the SMSC) and a no-op HTTP backend (build/noop_http, libevent,
# answers each request with its `text` parameter), which smsbox sends back as the reply
# SMS: the work a Kannel-based recharge gateway does, minus the gateway's own. Prints ROW
# lines (tab-separated: ROW, section, figure, value, target or baseline, verdict) on
# stdout; all else goes to stderr and to files under ${BENCH_OUT:-build/bench}/kannel.
#
#  1. sustained relay rate: KANNEL_MESSAGES (100,000) MOs closed loop (window
#     KANNEL_WINDOW, 1000);
#  2. p99 at an open-loop 1,000/s for KANNEL_P99_S (10) seconds;
#  3. whether bearerbox and smsbox set TCP_NODELAY on their sockets (strace, when there).
#
# Kannel is tuned as an operator who wants throughput would (the config is written below):
#  - bearerbox: no message store (Kannel's default when store-location is unset; a file
#    store would fsync nothing either but rewrites its whole file at each dump),
#    sms-incoming/outgoing-queue-limit -1 (unbounded), dlr-storage internal, log-level 2
#    (warnings) for every box and the smsc, no access log;
#  - smsc (SMPP 3.4, transceiver): throughput unset (unlimited), max-pending-submits
#    KANNEL_PENDING (1000, default 10), no receipts asked, enquire-link every 30 s;
#  - smsbox: max-pending-requests KANNEL_HTTP_PENDING (2048, default 512) concurrent
#    get-url requests over keep-alive connections, http-request-retry 0; one default
#    sms-service, get-url to noop_http, max-messages 1, concatenation off, the body
#    (text/plain) is the reply.
# Quick run: KANNEL_MESSAGES=20000 KANNEL_P99_S=5.
set -u
cd "$(dirname "$0")/../.."
PART=kannel SECTION=Kannel
. tools/bench/part.bash
N=${KANNEL_MESSAGES:-100000}
WINDOW=${KANNEL_WINDOW:-1000}
P99_S=${KANNEL_P99_S:-10}
PENDING=${KANNEL_PENDING:-1000}
HTTP_PENDING=${KANNEL_HTTP_PENDING:-2048}
BEARERBOX=${BEARERBOX:-/usr/sbin/bearerbox}
SMSBOX=${SMSBOX:-/usr/sbin/smsbox}
SMSCSIM=$ROOT/$B/smscsim
NOOP=$ROOT/$B/noop_http
FIRST=919830000000
SENDERS=200

for f in "$BEARERBOX" "$SMSBOX"; do
	[ -x "$f" ] || { log "$f missing: apt-get install kannel (./make.sh bench does)"; exit 2; }
done
for f in "$SMSCSIM" "$NOOP"; do
	[ -x "$f" ] || { log "$f missing: run make first"; exit 2; }
done
rm -rf "$OUT"; mkdir -p "$OUT"
SMPP_PORT=$(free_port); ADMIN_PORT=$(free_port); BOX_PORT=$(free_port); SENDSMS_PORT=$(free_port)

# field NAME KEY: a key=value of run NAME's LOAD line
field() { sed -n 's/^LOAD .*\b'"$2"'=\([0-9.]*\).*/\1/p' "$OUT/$1.out" | tail -1; }

# the no-op backend
"$NOOP" --listen 127.0.0.1:0 >"$OUT/noop.out" 2>"$OUT/noop.err" &
PIDS="$PIDS $!"
for _ in $(seq 1 50); do grep -q '^LISTENING' "$OUT/noop.out" && break; sleep 0.1; done
NOOP_PORT=$(sed -n 's/^LISTENING .*:\([0-9]*\)$/\1/p' "$OUT/noop.out")
[ -n "$NOOP_PORT" ] || { log "noop_http did not start"; exit 1; }

CONF=$OUT/kannel.conf
(umask 077; : >"$CONF")
cat >"$CONF" <<CONF
group = core
admin-port = $ADMIN_PORT
admin-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = $BOX_PORT
box-allow-ip = "127.0.0.1"
log-file = "$OUT/bearerbox.log"
log-level = 2
sms-incoming-queue-limit = -1
sms-outgoing-queue-limit = -1
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = $SMPP_PORT
receive-port = 0
transceiver-mode = true
smsc-username = kannel
smsc-password = secret
system-type = ""
max-pending-submits = $PENDING
enquire-link-interval = 30
reconnect-delay = 1
log-file = "$OUT/smsc.log"
log-level = 2

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $BOX_PORT
sendsms-port = $SENDSMS_PORT
log-file = "$OUT/smsbox.log"
log-level = 2
max-pending-requests = $HTTP_PENDING
http-request-retry = 0

group = sms-service
keyword = default
get-url = "http://127.0.0.1:$NOOP_PORT/?from=%p&text=%a"
max-messages = 1
concatenation = false
omit-empty = false
catch-all = true
CONF

# load NAME ARGS...: smscsim's load mode on the SMPP port, with bearerbox and smsbox
# started after it listens; stdout in $OUT/NAME.out. The boxes of one run are stopped at
# its end so the next run starts from empty queues.
load() {
	local name=$1 sim rc bb sb all alive p; shift
	"$SMSCSIM" --listen "127.0.0.1:$SMPP_PORT" --system-id kannel --password secret \
		--load "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
	sim=$!; PIDS="$PIDS $sim"
	sleep 0.3
	${KANNEL_WRAP:-} "$BEARERBOX" "$CONF" >>"$OUT/bearerbox.out" 2>&1 &
	bb=$!; PIDS="$PIDS $bb"
	sleep 0.5
	${KANNEL_WRAP:-} "$SMSBOX" "$CONF" >>"$OUT/smsbox.out" 2>&1 &
	sb=$!; PIDS="$PIDS $sb"
	wait "$sim"; rc=$?
	log "$name: $(grep '^LOAD ' "$OUT/$name.out" || echo "no result (exit $rc; see $OUT/$name.err)")"
	# under a wrapper (strace) the boxes are its children: stop them too, by their ids
	all="$(pgrep -P "$sb") $(pgrep -P "$bb") $sb $bb"
	# shellcheck disable=SC2086
	kill -TERM $all 2>/dev/null
	for _ in $(seq 1 100); do
		alive=""
		for p in $all; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	[ -n "$alive" ] && kill -9 $alive 2>/dev/null
	wait "$sb" "$bb" 2>/dev/null
	grep -q '^LOAD ' "$OUT/$name.out"
}
failed=0

# 0. warm-up: a few messages to see the chain works at all
if ! load warmup --count 200 --senders "$FIRST:$SENDERS" --window 100 --reply-timeout 20; then
	log "Kannel relays nothing: see $OUT/*.log"
	row "sustained rate, Kannel (msg/s)" failed "baseline 2" missed
	exit 1
fi

# 1. sustained rate, closed loop
log "sustained rate: $N MOs closed loop, window $WINDOW"
if load max --count "$N" --senders "$FIRST:$SENDERS" --window "$WINDOW" --reply-timeout 30 --progress; then
	rate=$(field max rate)
	row "sustained rate, Kannel (msg/s)" "$rate" "baseline 2 (issue 7: ~3300 tuned)" info
	row "closed-loop p99, Kannel (ms, window $WINDOW)" "$(field max p99_ms)" "-" info
	miss=$(field max missing)
	[ "${miss:-1}" = 0 ] || row "missing replies, Kannel closed loop (of $N)" "$miss" "0" missed
else
	failed=1
	row "sustained rate, Kannel (msg/s)" failed "baseline 2" missed
fi

# 2. p99 at 1,000/s open loop
n=$((1000 * P99_S))
log "p99 at 1000/s: $n MOs open loop"
if load p1000 --count "$n" --senders "$FIRST:$SENDERS" --rate 1000 --reply-timeout 15; then
	row "p99 at 1,000/s open loop, Kannel (ms)" "$(field p1000 p99_ms)" "baseline 2" info
	row "p50 at 1,000/s open loop, Kannel (ms)" "$(field p1000 p50_ms)" "baseline 2" info
else
	failed=1
	row "p99 at 1,000/s open loop, Kannel (ms)" failed "baseline 2" missed
fi

# 3. TCP_NODELAY: the boxes' setsockopt calls during a short run
if command -v strace >/dev/null; then
	KANNEL_WRAP="strace -ff -qq -e trace=setsockopt -o $OUT/strace" \
		load nodelay --count 100 --senders "$FIRST:$SENDERS" --window 100 --reply-timeout 20 || true
	if cat "$OUT"/strace* 2>/dev/null | grep -q 'TCP_NODELAY'; then
		row "Kannel sets TCP_NODELAY" yes "-" info
	else
		row "Kannel sets TCP_NODELAY (strace of bearerbox, smsbox)" no "-" info
	fi
fi
exit $failed
