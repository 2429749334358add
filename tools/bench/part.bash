# tools/bench/part.bash: what the bench parts (sms.sh, http.sh, kannel.sh) share; sourced
# from the top of the tree after the part sets PART (its name) and SECTION (its table
# section). Gives ROOT, B (the build directory) and OUT (the part's folder under
# BENCH_OUT), log and row (the ROW lines bench.sh collects), the cleanup of every process
# in PIDS at exit, free_port, the verdict helpers and /proc readings.

ROOT=$PWD
B=${B:-build}
OUT=${BENCH_OUT:-build/bench}/$PART
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac

log() { echo "$PART.sh: $*" >&2; }
# row FIGURE VALUE TARGET VERDICT: one result line for bench.sh's table
row() { printf 'ROW\t%s\t%s\t%s\t%s\t%s\n' "$SECTION" "$1" "$2" "$3" "$4"; }
# cleanup: TERM every process the part started (PIDS), then KILL what is left
cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
}
PIDS=""
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# fcmp A OP B: floating-point comparison for verdicts
fcmp() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }
verdict() { if fcmp "$1" "$2" "$3"; then echo met; else echo missed; fi; }
# rss_kb PID: resident set size of a process
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# cpu_ticks PID: user + system time of a process, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# bench_conf SMPP_PORT HTTP_PORT SMPP_LINES HTTP_LINES: rechargd's config for the part in
# CONF ($OUT/rechargd.conf), with the sim provider at 0 ms and warnings only; 0600, as it
# holds the SMPP password (rechargd refuses it open to others, docs/security.md)
bench_conf() {
	CONF=$OUT/rechargd.conf
	(umask 077; : >"$CONF")
	cat >"$CONF" <<CONF
[db]
path = rechargd.db
[smpp]
host = 127.0.0.1
port = $1
system_id = rechargd
password = secret
source_addr = 5555
$3
[http]
listen = 127.0.0.1:$2
$4
[engine]
default_provider = sim
max_inflight = 50000
[log]
level = warn
[provider.sim]
type = sim
latency_ms = 0
CONF
}
