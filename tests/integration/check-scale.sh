#!/usr/bin/env bash
# rechargectl check on a retailer with many transactions: the per-transaction wallet and
# commission invariants must look lines up by posting, not scan the wallet's lines for
# each transaction (that took minutes for 15000 recharges of one retailer in the soak).
# 20000 settled recharges are written straight into the ledger; check must pass in
# seconds, and still catch a line that breaks one of them.
. "$(dirname "$0")/../lib.sh"
t_setup check-scale
A=919800000001
ctl retailer add $A --name "Big Shop" >/dev/null
N=20000
sql <<SQL
BEGIN;
CREATE TEMP TABLE n(i INTEGER PRIMARY KEY);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $N) INSERT INTO n SELECT i FROM c;
INSERT INTO postings (id, kind, created_at) VALUES (1000000, 'credit', 0);
INSERT INTO ledger_lines (posting_id, account_id, amount) SELECT 1000000, 1, -$N * 1000 UNION ALL
  SELECT 1000000, wallet_account, $N * 1000 FROM retailers WHERE msisdn = '$A';
INSERT INTO txns (id, retailer_id, channel, service, operator, target, amount, state, provider,
  created_at, updated_at, final_at)
  SELECT i, (SELECT id FROM retailers), 'api', 'MOBILE', 'AIRTEL', '9876543210', 1000, 'SUCCESS', 'sim', 0, 0, 0 FROM n;
INSERT INTO postings (id, kind, txn_id, created_at) SELECT 2 * i, 'hold', i, 0 FROM n;
INSERT INTO postings (id, kind, txn_id, created_at) SELECT 2 * i + 1, 'success', i, 0 FROM n;
INSERT INTO ledger_lines (posting_id, account_id, amount) SELECT 2 * i, (SELECT wallet_account FROM retailers), -1000 FROM n;
INSERT INTO ledger_lines (posting_id, account_id, amount) SELECT 2 * i, 2, 1000 FROM n;
INSERT INTO ledger_lines (posting_id, account_id, amount) SELECT 2 * i + 1, 2, -1000 FROM n;
INSERT INTO ledger_lines (posting_id, account_id, amount) SELECT 2 * i + 1, 3, 1000 FROM n;
UPDATE accounts SET balance = (SELECT coalesce(sum(amount), 0) FROM ledger_lines WHERE account_id = accounts.id);
COMMIT;
SQL
start=$(date +%s%N)
out=$(timeout 20 "$RECHARGECTL" -c "$T_CONF" check 2>&1); rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "check passes on $N recharges of one retailer ($ms ms)" test "$rc" -eq 0
check "and takes seconds, not minutes ($ms ms < 10000)" test "$ms" -lt 10000
# one recharge's hold moved to the provider account instead of the wallet: caught
sql "UPDATE ledger_lines SET account_id = 3 WHERE posting_id = 2 * 777 AND amount = -1000;
     UPDATE accounts SET balance = (SELECT coalesce(sum(amount), 0) FROM ledger_lines WHERE account_id = accounts.id)"
out=$(timeout 20 "$RECHARGECTL" -c "$T_CONF" check 2>&1); rc=$?
check "a recharge whose wallet movement is wrong is still found" sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q TXN777" _ "$out"
t_done
