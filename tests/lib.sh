# tests/lib.sh: shared by the integration tests. Each test starts the real rechargd
# against a real SMSC on loopback, drives it through the SMSC simulator's script mode
# (commands written to a FIFO, events read from its log) and prints "ok NAME" or
# "not ok NAME" per check. Every wait is bounded.
set -u
# configs hold the SMPP password: rechargd and rechargectl refuse them open to others
umask 077
B=${B:-build}
TEST_OUT=${TEST_OUT:-tests/out}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RECHARGD="$ROOT/$B/rechargd"
RECHARGECTL="$ROOT/$B/rechargectl"
SMSCSIM="$ROOT/$B/smscsim"
T_FAILED=0
T_PIDS=""

ok() { echo "ok $*"; }
not_ok() { echo "not ok $*"; T_FAILED=$((T_FAILED + 1)); }
# check NAME COMMAND...: ok when the command succeeds
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# t_setup NAME: a fresh folder, config, database. T_SMPP_CONFIG adds lines to [smpp],
# T_SIM_CONFIG to [provider.sim] (and may add sections after it).
t_setup() {
	T_NAME=$1
	T_DIR="$ROOT/$TEST_OUT/$T_NAME"
	rm -rf "$T_DIR"; mkdir -p "$T_DIR"
	T_SMPP_PORT=$(free_port)
	T_HTTP_PORT=$(free_port)
	T_CONF="$T_DIR/rechargd.conf"
	cat >"$T_CONF" <<CONF
[db]
path = rechargd.db
[smpp]
host = 127.0.0.1
port = $T_SMPP_PORT
system_id = rechargd
password = secret
source_addr = 5555
enquire_link_s = 5
dead_link_s = 15
reconnect_max_s = 2
window = ${T_WINDOW:-50}
submit_tps = 100000
${T_SMPP_CONFIG:-}
[http]
listen = 127.0.0.1:$T_HTTP_PORT
[engine]
default_provider = sim
pending_reply_s = ${T_PENDING_REPLY_S:-10}
[log]
level = ${T_LOG_LEVEL:-info}
[provider.sim]
type = sim
${T_SIM_CONFIG:-latency_ms = 0}
CONF
	ctl init >/dev/null || { not_ok "$T_NAME: rechargectl init"; exit 1; }
}

ctl() { "$RECHARGECTL" -c "$T_CONF" "$@"; }
# the daemon holds the write lock for a moment each loop turn: wait for it like rechargectl
sql() { sqlite3 -batch -noheader -cmd ".timeout 5000" "$T_DIR/rechargd.db" "$@"; }

# wait_settled TENTHS: waits (at most TENTHS x 0.1 s) until no recharge is PENDING, no
# reply queued and no MO unprocessed; prints how many are left (0: all settled)
wait_settled() {
	local left
	for _ in $(seq 1 "$1"); do
		left=$(sql "SELECT (SELECT count(*) FROM txns WHERE state = 'PENDING') +
		    (SELECT count(*) FROM sms_out WHERE state = 'queued') +
		    (SELECT count(*) FROM sms_in WHERE processed_at IS NULL)")
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	echo "$left"
}

# sim_start: the SMSC simulator in script mode, reading commands from a FIFO
sim_start() {
	T_FIFO="$T_DIR/sim.fifo"
	T_SIMLOG="$T_DIR/sim.log"
	T_SYNC=0
	rm -f "$T_FIFO"; mkfifo "$T_FIFO"
	"$SMSCSIM" --listen "127.0.0.1:$T_SMPP_PORT" --system-id rechargd --password secret \
		--script "$T_FIFO" "$@" >"$T_SIMLOG" 2>&1 &
	T_SIM_PID=$!
	T_PIDS="$T_PIDS $T_SIM_PID"
	exec 7>"$T_FIFO"
}

# sim "command" ...: runs simulator commands and waits until they are done (bounded).
# Returns 1 when the simulator failed an expectation (its FAIL line is shown).
sim() {
	T_SYNC=$((T_SYNC + 1))
	local mark="__sync_$T_SYNC" c
	for c in "$@"; do printf '%s\n' "$c" >&7; done
	printf 'echo %s\n' "$mark" >&7
	for _ in $(seq 1 1200); do
		grep -qx "$mark" "$T_SIMLOG" 2>/dev/null && return 0
		if ! kill -0 "$T_SIM_PID" 2>/dev/null; then
			grep -E '^FAIL' "$T_SIMLOG" | tail -1 | sed 's/^/    /'
			return 1
		fi
		sleep 0.1
	done
	echo "    simulator did not finish: $*"
	return 1
}

# rd_start [-v...]: the daemon, logging to its own file
# pdu_hex FROM SEQ TEXT NTLV [CMD] [TRUNC] [DC] [UDH]: a raw deliver_sm (or command CMD,
# hex) from FROM as hex, for the simulator's raw command: NTLV empty vendor TLVs, the body
# cut at TRUNC bytes, data_coding DC (8: TEXT is hex), UDH hex prepended (esm_class 0x40).
pdu_hex() {
	python3 - "$@" <<'PY'
import struct, sys
a = sys.argv[1:] + [""] * 8
src, seq, text, ntlv = a[0], int(a[1]), a[2].encode(), int(a[3] or 0)
cmd = int(a[4], 16) if a[4] else 5
trunc = int(a[5]) if a[5] else 0
dc = int(a[6]) if a[6] else 0
udh = bytes.fromhex(a[7]) if a[7] else b""
if dc == 8:
    text = bytes.fromhex(a[2])
sm = udh + text
body = b"\0" + bytes([1, 1]) + src.encode() + b"\0" + bytes([0, 0]) + b"5555\0"
body += bytes([0x40 if udh else 0, 0, 0]) + b"\0" + b"\0" + bytes([0, 0, dc, 0]) + bytes([len(sm)]) + sm
body += b"".join(struct.pack(">HH", 0x1400 + (i % 0x100), 0) for i in range(ntlv))
if trunc:
    body = body[:trunc]
print((struct.pack(">IIII", 16 + len(body), cmd, 0, seq) + body).hex())
PY
}

# RECHARGD_WRAPPER runs the daemon under a tool (valgrind); rd_stop reports its verdict.
rd_start() {
	${RECHARGD_WRAPPER:-} "$RECHARGD" -c "$T_CONF" "$@" >>"$T_DIR/rechargd.log" 2>&1 &
	T_RD_PID=$!
	T_PIDS="$T_PIDS $T_RD_PID"
}

rd_stop() {
	[ -n "${T_RD_PID:-}" ] || return 0
	kill -TERM "$T_RD_PID" 2>/dev/null
	for _ in $(seq 1 300); do kill -0 "$T_RD_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$T_RD_PID" 2>/dev/null
	T_RD_RC=$?
	T_RD_PID=""
	if [ -n "${RECHARGD_WRAPPER:-}" ]; then
		check "clean under ${RECHARGD_WRAPPER%% *} (exit $T_RD_RC)" test "$T_RD_RC" -eq 0
	fi
	return 0
}

t_cleanup() {
	exec 7>&- 2>/dev/null
	for p in $T_PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap t_cleanup EXIT

t_done() {
	t_cleanup
	trap - EXIT
	[ "$T_FAILED" -eq 0 ]
}
