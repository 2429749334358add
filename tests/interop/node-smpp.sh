#!/usr/bin/env bash
# Interop: the real rechargd against an independent SMSC written with node-smpp
# (tests/interop/smsc.js, npm package "smpp"). The scenario (common.bash) is what a
# retailer's phone and the SMSC do; smsc.js prints "ok"/"not ok" per step, common.bash
# adds what only the database can tell (ledger, complaints, outbox states, the SMSC's
# message IDs and receipt recorded).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"

t_setup node-smpp

if [ ! -x "$RECHARGD" ] || ! command -v node >/dev/null || ! command -v jq >/dev/null; then
	not_ok "node-smpp: rechargd ($RECHARGD), node and jq are there"
	t_done; exit 1
fi
if [ ! -f "$HERE/node_modules/smpp/package.json" ]; then
	(cd "$HERE" && timeout 180 npm ci --no-audit --no-fund) >"$T_DIR/npm.log" 2>&1 ||
		{ not_ok "node-smpp: npm ci (see $T_DIR/npm.log)"; t_done; exit 1; }
fi

interop_run smsc.js node "$HERE/smsc.js"
t_done
