#!/usr/bin/env bash
# docs/openapi.yaml against the real rechargd: the document validates (swagger-parser from
# npm, installed in tests/openapi/), every documented response example fits its schema,
# and every documented request example, sent with curl to a running daemon, gets a status
# the document lists with a body that fits that status's schema (ajv).
. "$(dirname "$0")/../lib.sh"
HERE="$ROOT/tests/openapi"
DOC="$ROOT/docs/openapi.yaml"

t_setup openapi
if [ ! -d "$HERE/node_modules/@apidevtools/swagger-parser" ] || [ ! -d "$HERE/node_modules/ajv" ]; then
	(cd "$HERE" && timeout 180 npm ci --no-audit --no-fund) >"$T_DIR/npm.log" 2>&1 ||
		{ not_ok "openapi: npm ci (see $T_DIR/npm.log)"; t_done; exit 1; }
fi
ok "openapi: validator installed"

A=919800000001
ctl retailer add $A --name "Seed Shop" --plan platinum >/dev/null
ctl wallet credit $A 9841.50 >/dev/null
KEY=$(ctl apikey create $A | tail -1)
check "openapi: api key created" test ${#KEY} -eq 46

rd_start
U=http://127.0.0.1:$T_HTTP_PORT
for _ in $(seq 1 50); do curl -s -o /dev/null --max-time 1 "$U/healthz" && break; sleep 0.1; done

timeout 120 node "$HERE/check.js" "$DOC" "$U" "$KEY" >"$T_DIR/check.out" 2>&1
rc=$?
grep '^ok \|^not ok ' "$T_DIR/check.out"
grep -q '^not ok ' "$T_DIR/check.out" && T_FAILED=$((T_FAILED + $(grep -c '^not ok ' "$T_DIR/check.out")))
check "openapi: check.js ran to the end (exit $rc)" grep -q '^[0-9]* passed, [0-9]* failed$' "$T_DIR/check.out"
check "openapi: the seed recharge answered as documented" \
	grep -q '^ok openapi: POST /api/v1/recharge application/json seed: 200' "$T_DIR/check.out"
check "openapi: no key in the log" bash -c "! grep -qF '$KEY' '$T_DIR/rechargd.log'"

rd_stop
t_done
