#!/usr/bin/env bash
# make run: the demo. A config and database in demo/ (made once: a retailer holding
# Rs10,000.00), rechargd with the built-in sim provider in the background (its log in
# demo/rechargd.log), and the SMSC simulator's phone console in the foreground: type
# SMS as the demo retailer and see the replies.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
DIR=demo
PORT=${DEMO_SMPP_PORT:-12775}
RETAILER=919876500001
mkdir -p "$DIR"
# the config holds the SMPP password: rechargd refuses it (and the database) open to
# others; demo folders made before that rule are tightened too
umask 077
chmod go-rwx "$DIR"/rechargd.* 2>/dev/null || true
if [ ! -f "$DIR/rechargd.conf" ]; then
	cat >"$DIR/rechargd.conf" <<CONF
# The demo's configuration: every key is described in docs/config.md.
[db]
path = rechargd.db
[smpp]
host = 127.0.0.1
port = $PORT
system_id = rechargd
password = demo
source_addr = 5555
reconnect_max_s = 2
[http]
listen = 127.0.0.1:18080
[engine]
default_provider = sim
pending_reply_s = 5
[provider.sim]
type = sim
latency_ms = 400
success_pct = 100
pending_pct = 10
pending_settle_ms = 8000
CONF
fi
if [ ! -f "$DIR/rechargd.db" ]; then
	"$B/rechargectl" -c "$DIR/rechargd.conf" init >/dev/null
	"$B/rechargectl" -c "$DIR/rechargd.conf" retailer add $RETAILER --name "Demo Store" --plan gold >/dev/null
	"$B/rechargectl" -c "$DIR/rechargd.conf" wallet credit $RETAILER 10000 --note "demo float" >/dev/null
fi
"$B/rechargd" -c "$DIR/rechargd.conf" >>"$DIR/rechargd.log" 2>&1 &
RD=$!
trap 'kill -TERM $RD 2>/dev/null; wait $RD 2>/dev/null' EXIT
cat <<TXT
rechargd demo: you are the retailer ${RETAILER#91} (Demo Store, Rs10,000.00 in the wallet).
Try:  BAL    RC 9876543210 AIRTEL 299    RC 9811012345 49    *RC*9876543210*JIO*199#
      DTH 1123456789 TATAPLAY 300    LAST    ST TXN000000001    PIN 1234    HELP
The daemon's log is $DIR/rechargd.log; rechargectl -c $DIR/rechargd.conf check verifies the ledger.
TXT
"$B/smscsim" --listen "127.0.0.1:$PORT" --system-id rechargd --password demo --console --from $RETAILER
