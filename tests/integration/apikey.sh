#!/usr/bin/env bash
# rechargectl apikey create/list/revoke on a scratch database: the key is printed once,
# alone on the last line, and only its SHA-256 and prefix are stored (no column, no audit
# row holds it); list in text and JSON never shows a hash; revoke by id and by prefix,
# exit 1 once nothing live matches; bad input exits 1 or 2 and changes nothing.
. "$(dirname "$0")/../lib.sh"

t_setup apikey
OUT=$T_DIR
# run ARGS...: rechargectl with the test config; sets rc, output in $OUT/stdout, stderr
run() { ctl "$@" >"$OUT/stdout" 2>"$OUT/stderr"; rc=$?; }
# expect NAME WANT ARGS...: the exit status decides (a sanitizer report never passes)
expect() {
	local name=$1 want=$2; shift 2
	run "$@"
	if grep -Eq 'Sanitizer|runtime error:' "$OUT/stderr"; then
		not_ok "$name (sanitizer report)"; sed 's/^/#   /' "$OUT/stderr"
	elif [ "$rc" -eq "$want" ]; then ok "$name"; else
		not_ok "$name"; echo "#   exit $rc, wanted $want: rechargectl $*"; sed 's/^/#   /' "$OUT/stderr" "$OUT/stdout"
	fi
}
state() { sql .dump | md5sum; }
jq_ok() { jq -e "$@" >/dev/null; }
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

ctl retailer add 9876543210 --name "Key Shop" >/dev/null || not_ok "retailer add"
ctl retailer add 9876543211 --name "Other Shop" >/dev/null || not_ok "retailer add"

# ---- create -----------------------------------------------------------------------
expect "create with two allowed IPs" 0 apikey create 09876543210 --allow-ip 203.0.113.7 --allow-ip=2001:DB8:0::1
KEY1=$(tail -n 1 "$OUT/stdout")
check "the key is alone on the last line (rk_ + 43 base64url)" \
	grep -Eqx 'rk_[A-Za-z0-9_-]{43}' <<<"$KEY1"
check "a line before it says it is shown once" grep -qi 'shown .*once' <(head -n -1 "$OUT/stdout")
check "the key appears once in the output" test "$(grep -c -F -- "$KEY1" "$OUT/stdout")" -eq 1
check "nothing on stderr" test ! -s "$OUT/stderr"
check "the hash of the key is stored" \
	test "$(sql "SELECT count(*) FROM api_keys WHERE hash = '$(sha256 "$KEY1")'")" = 1
check "the prefix is the first 11 characters" \
	test "$(sql "SELECT prefix FROM api_keys WHERE hash = '$(sha256 "$KEY1")'")" = "${KEY1:0:11}"
check "allowed IPs stored canonical" \
	test "$(sql "SELECT allow_ips FROM api_keys WHERE hash = '$(sha256 "$KEY1")'")" = "203.0.113.7,2001:db8::1"
check "no column of any table holds the key (dump)" bash -c "! sqlite3 '$T_DIR/rechargd.db' .dump | grep -qF -- '$KEY1'"
check "no column holds the key's secret part" bash -c "! sqlite3 '$T_DIR/rechargd.db' .dump | grep -qF -- '${KEY1:11}'"
check "the audit has the create, without the key" \
	test "$(sql "SELECT count(*) FROM audit WHERE action = 'apikey.create' AND subject = '919876543210'
	    AND after LIKE '%${KEY1:0:11}%' AND instr(after, '${KEY1:11}') = 0")" = 1

expect "create without an allow-list" 0 apikey create 9876543210
KEY2=$(tail -n 1 "$OUT/stdout")
check "two keys differ" test "$KEY1" != "$KEY2"
expect "create for another retailer" 0 apikey create +919876543211 --allow-ip ::1
KEY3=$(tail -n 1 "$OUT/stdout")
check "three hashes stored" test "$(sql "SELECT count(DISTINCT hash) FROM api_keys")" = 3
check "no key in the dump after three" bash -c "! sqlite3 '$T_DIR/rechargd.db' .dump | grep -qE -- '${KEY2:11}|${KEY3:11}'"

# ---- list -------------------------------------------------------------------------
expect "list" 0 apikey list
check "list shows the prefixes" bash -c "grep -qF '${KEY1:0:11}' '$OUT/stdout' && grep -qF '${KEY3:0:11}' '$OUT/stdout'"
check "list never shows a hash or a key" bash -c "! grep -qE '[0-9a-f]{64}|${KEY1:11}' '$OUT/stdout'"
check "list shows allowed IPs" grep -q '203.0.113.7,2001:db8::1' "$OUT/stdout"
expect "list one retailer" 0 apikey list 9876543211
check "only that retailer's key" bash -c "grep -qF '${KEY3:0:11}' '$OUT/stdout' && ! grep -qF '${KEY1:0:11}' '$OUT/stdout'"
expect "list --json" 0 apikey list --json
check "json: three keys, newest first, no hash" \
	jq_ok --arg p1 "${KEY1:0:11}" --arg p3 "${KEY3:0:11}" \
	'length == 3 and .[0].prefix == $p3 and .[2].prefix == $p1 and (.[2].allow_ips == ["203.0.113.7", "2001:db8::1"])
	 and .[2].retailer == "919876543210" and all(.[]; .live and .revoked_at == null and (has("hash") | not))' \
	"$OUT/stdout"
expect "list --json for a retailer" 0 apikey list 9876543210 --json
check "json: that retailer's two" jq_ok 'length == 2 and all(.[]; .retailer == "919876543210")' "$OUT/stdout"

# ---- revoke -----------------------------------------------------------------------
ID1=$(sql "SELECT id FROM api_keys WHERE hash = '$(sha256 "$KEY1")'")
expect "revoke by id" 0 apikey revoke "$ID1"
check "revoked_at set" test "$(sql "SELECT revoked_at > 0 FROM api_keys WHERE id = $ID1")" = 1
expect "revoke the same id again: nothing live" 1 apikey revoke "$ID1"
expect "revoke by prefix" 0 apikey revoke "${KEY2:0:11}"
check "revoked by prefix" test "$(sql "SELECT revoked_at > 0 FROM api_keys WHERE hash = '$(sha256 "$KEY2")'")" = 1
expect "revoke the same prefix again" 1 apikey revoke "${KEY2:0:11}"
expect "revoke an unknown id" 1 apikey revoke 999
expect "revoke an unknown prefix" 1 apikey revoke rk_zzzzzzzz
before=$(state)
expect "revoke by the whole key is refused" 1 apikey revoke "$KEY3"
check "the whole key is not echoed" bash -c "! grep -qF -- '${KEY3:11}' '$OUT/stderr' '$OUT/stdout'"
check "and nothing changed" test "$(state)" = "$before"
check "the other retailer's key is still live" \
	test "$(sql "SELECT revoked_at FROM api_keys WHERE hash = '$(sha256 "$KEY3")'")" = 0
check "two revokes audited" test "$(sql "SELECT count(*) FROM audit WHERE action = 'apikey.revoke'")" = 2
expect "list --json after revokes" 0 apikey list 9876543210 --json
check "json: both revoked with times" jq_ok 'all(.[]; (.live | not) and (.revoked_at | type) == "string")' "$OUT/stdout"
check "no key in the audit" bash -c "! sqlite3 '$T_DIR/rechargd.db' 'SELECT * FROM audit' | grep -qE -- '${KEY1:11}|${KEY2:11}|${KEY3:11}'"

# ---- bad input: exit 1 or 2, nothing written ----------------------------------------
before=$(state)
expect "unknown retailer: exit 1" 1 apikey create 9876500000
expect "invalid msisdn: exit 1" 1 apikey create 12345
expect "bad IP: exit 1" 1 apikey create 9876543210 --allow-ip 203.0.113
expect "hostname as IP: exit 1" 1 apikey create 9876543210 --allow-ip localhost
expect "CIDR as IP: exit 1" 1 apikey create 9876543210 --allow-ip 10.0.0.0/8
expect "comma list in one --allow-ip: exit 1" 1 apikey create 9876543210 --allow-ip 10.0.0.1,10.0.0.2
expect "empty IP: exit 1" 1 apikey create 9876543210 --allow-ip=
expect "missing msisdn: exit 2" 2 apikey create
expect "missing IP value: exit 2" 2 apikey create 9876543210 --allow-ip
expect "unknown option: exit 2" 2 apikey create 9876543210 --allow 10.0.0.1
expect "two msisdns: exit 2" 2 apikey create 9876543210 9876543211
expect "revoke without argument: exit 2" 2 apikey revoke
expect "revoke garbage: exit 1" 1 apikey revoke "x'; DROP TABLE api_keys; --"
expect "list unknown retailer: exit 1" 1 apikey list 9876500000
expect "list unknown option: exit 2" 2 apikey list --all
check "bad input changed nothing" test "$(state)" = "$before"
check "no key printed by failures" bash -c "! grep -qE 'rk_[A-Za-z0-9_-]{43}' '$OUT/stdout'"

t_done
