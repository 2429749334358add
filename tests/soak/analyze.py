#!/usr/bin/env python3
"""The chaos soak's invariants (tests/soak/soak.sh explains how each one can fail).

Reads smscsim's log and mo_status dump, the API client's record, provsim's ledger over
its control API and the database; prints "ok NAME" / "not ok NAME" per check, a few
"#" lines with figures, and last the summary line "# soak: kills=.. sms=.. ...".
"""
import argparse
import collections
import http.client
import json
import re
import sqlite3
import sys
import urllib.parse

OK_STATUS = ("0x00000000", "ESME_ROK")


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x" and i + 3 < len(s):
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def field(line, name):
    """key=value field; text= runs to the end of the line."""
    if name == "text":
        k = line.find(" text=")
        return unescape(line[k + 6:]) if k >= 0 else None
    m = re.search(r"(?:^| )" + name + r"=(\S*)", line)
    return m.group(1) if m else None


class Report:
    def __init__(self):
        self.failed = 0

    def check(self, cond, name, detail=None):
        print(("ok " if cond else "not ok ") + name)
        if not cond:
            self.failed += 1
            for d in (detail or [])[:5]:
                print("    " + str(d))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--simlog", required=True)
    ap.add_argument("--mo-status", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("--provsim", required=True)
    ap.add_argument("--kills", type=int, required=True)
    ap.add_argument("--pfaults", type=int, default=0)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--min-kills", type=int, default=20)
    a = ap.parse_args()
    R = Report()
    db = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True)
    q = lambda sql, *p: db.execute(sql, p).fetchall()

    R.check(a.kills >= a.min_kills, "rechargd SIGKILLed and restarted %d times (>= %d)" % (a.kills, a.min_kills))

    # ---- smscsim's log, in order -----------------------------------------------------
    deliveries = collections.Counter()   # MO text -> deliver_sm written (redeliveries too)
    mt_copies = collections.Counter()    # (to, text) -> accepted MTs
    faults = []                          # [kind, set of outstanding (to, text)]
    seen_at = {}                         # (to, text) -> index into faults at its last copy
    dup_bad = []
    stats = ""
    for line in open(a.simlog, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("MO "):
            deliveries[field(line, "text")] += 1
        elif line.startswith("DROPPED ") or line.startswith("CLOSED "):
            faults.append([line.split()[0], set()])
        elif line.startswith("OUTSTANDING ") and faults:
            faults[-1][1].add((field(line, "to"), field(line, "text")))
        elif line.startswith("MT "):
            k = (field(line, "to"), field(line, "text"))
            mt_copies[k] += 1
            if k in seen_at and "Txn:" in k[1]:
                prev = seen_at[k]
                between = faults[prev:]
                if not between:
                    dup_bad.append("sent twice with no fault between: %s %s" % k)
                elif all(f[0] == "DROPPED" for f in between) and not any(k in f[1] for f in between):
                    dup_bad.append("resent after a drop though not outstanding: %s %s" % k)
            seen_at[k] = len(faults)
        elif line.startswith("STATS "):
            stats = line
    drops = sum(1 for f in faults if f[0] == "DROPPED")
    closes = len(faults) - drops

    # ---- MOs: answered, and each ROK one with exactly one outcome ---------------------
    mos = []
    for line in open(a.mo_status, errors="replace"):
        p = line.rstrip("\n").split(" ", 2)
        if len(p) == 3:
            mos.append((p[0], p[1], unescape(p[2])))
    unanswered = [m for m in mos if m[1] == "none"]
    rok = [m for m in mos if m[1] in OK_STATUS]
    refused = [m for m in mos if m[1] != "none" and m[1] not in OK_STATUS]
    R.check(mos and not unanswered, "every MO answered (%d made, %d ESME_ROK, %d refused)" % (len(mos), len(rok), len(refused)),
            unanswered)
    texts = collections.Counter(m[2] for m in mos)
    R.check(all(v == 1 for v in texts.values()), "every MO text unique (so outcomes can be matched)")

    rows = collections.defaultdict(list)   # text -> [(id, processed_at, txn_id)]
    for i, t, p, x in q("SELECT id, text, processed_at, txn_id FROM sms_in ORDER BY id"):
        rows[t].append((i, p, x))
    replied = set(r[0] for r in q("SELECT DISTINCT sms_in_id FROM sms_out WHERE sms_in_id IS NOT NULL"))
    txns_by_target = collections.defaultdict(list)
    for i, target, state in q("SELECT id, target, state FROM txns WHERE channel = 'sms' ORDER BY id"):
        txns_by_target[target].append((i, state))

    mo_lost, mo_twice, mo_doubled, mo_replayed, refused_done = [], 0, [], [], []
    for num, st, text in rok:
        rs = rows.get(text, [])
        target = text.split()[1]
        if not rs or any(p is None for _, p, _ in rs) or not all(x is not None or i in replied for i, _, x in rs):
            mo_lost.append("MO %s %r: rows %s" % (num, text, rs))
        if len(rs) > deliveries[text]:
            mo_replayed.append("MO %s %r processed %d times, delivered %d" % (num, text, len(rs), deliveries[text]))
        if len(rs) > 1:
            mo_twice += 1
        ts = txns_by_target.get(target, [])
        # only the last of a target's recharges may have kept money; more recharges than
        # deliveries processed means one was made from nothing
        if any(s != "FAILED" for _, s in ts[:-1]) or len(ts) > len(rs):
            mo_doubled.append("MO %s %r: txns %s, rows %d" % (num, text, ts, len(rs)))
    for num, st, text in refused:
        if len(rows.get(text, [])) >= deliveries[text]:
            refused_done.append("MO %s %s %r processed though refused" % (num, st, text))
    R.check(not refused_done, "every MO refused (%d) was not processed in that delivery" % len(refused), refused_done)
    R.check(not mo_lost, "every MO answered ESME_ROK (%d) is stored, processed and answered" % len(rok), mo_lost)
    R.check(not mo_replayed, "no MO processed more often than the SMSC delivered it", mo_replayed)
    R.check(not mo_doubled, "no MO made two recharges that kept money", mo_doubled)
    print("# MOs the SMSC delivered twice (answer lost to a kill or drop) and processed again: %d" % mo_twice)

    # ---- API: each request_id one transaction, answered ---------------------------------
    recs = [json.loads(l) for l in open(a.api) if l.strip()]
    db_rid = collections.defaultdict(list)
    for i, rid, state in q("SELECT id, request_id, state FROM txns WHERE channel = 'api'"):
        db_rid[rid].append((i, state))
    api_lost, api_bad, api_odd, api_1002 = [], [], [], 0
    tries = sum(r["tries"] for r in recs)
    for r in recs:
        fin = r["final"]
        named = set(ans.get("transaction_id") for _, ans in r["answers"] if isinstance(ans, dict) and ans.get("transaction_id"))
        have = db_rid.get(r["rid"], [])
        if fin is None:
            api_lost.append("%s: no answer after %d tries: %s" % (r["rid"], r["tries"], r["answers"][-2:]))
            continue
        if len(have) > 1 or len(named) > 1:
            api_bad.append("%s: db %s, answers named %s" % (r["rid"], have, named))
        elif named:
            tid = next(iter(named))
            if not have or "TXN%09d" % have[0][0] != tid:
                api_bad.append("%s: answered %s, db %s" % (r["rid"], tid, have))
        elif fin.get("error_code") == "1002":
            api_1002 += 1
            if have:
                api_bad.append("%s: answered 1002 but db has %s" % (r["rid"], have))
        else:
            api_odd.append("%s: %s" % (r["rid"], fin))
    client_rids = set(r["rid"] for r in recs)
    strays = [rid for rid in db_rid if rid not in client_rids]
    R.check(recs and not api_lost, "every API request answered in the end (%d requests, %d tries)" % (len(recs), tries), api_lost)
    R.check(not api_bad and not strays, "every API request_id maps to one transaction", api_bad + ["stray " + s for s in strays])
    R.check(not api_odd, "no unexpected API answers", api_odd)

    # ---- answers agree with the database -------------------------------------------------
    state_of = dict((i, s) for i, s in q("SELECT id, state FROM txns"))
    disagree = []
    for r in recs:
        for code, ans in r["answers"]:
            if not isinstance(ans, dict) or not ans.get("transaction_id"):
                continue
            s = state_of.get(int(ans["transaction_id"][3:]))
            want = {"success": "SUCCESS", "failed": "FAILED", "error": "FAILED"}.get(ans.get("status"))
            if want and s != want:
                disagree.append("API %s said %s, db %s" % (r["rid"], ans, s))
    told = collections.defaultdict(set)
    for (to, text), n in mt_copies.items():
        m = re.match(r"^(SUCCESS|FAILED|PENDING|REVERSED|ERR 2001) .*Txn:TXN(\d+)", text)
        if not m:
            continue
        word, tid = m.group(1), int(m.group(2))
        word = "FAILED" if word == "ERR 2001" else word
        told[tid].add(word)
        if word in ("SUCCESS", "FAILED") and state_of.get(tid) != word:
            disagree.append("SMS to %s said %r, db %s" % (to, text, state_of.get(tid)))
    R.check(not disagree, "every SUCCESS/FAILED answer (SMS and API) agrees with the database", disagree)
    untold = ["TXN%09d %s" % (i, s) for i, s in q("SELECT id, state FROM txns WHERE channel = 'sms'")
              if s not in told.get(i, set())]
    R.check(not untold, "every final SMS recharge was told its outcome", untold)

    # ---- replies accepted by the SMSC, copies only at faults -------------------------------
    out_rows = collections.Counter()
    not_sent = []
    for to, text, state in q("SELECT dest_addr, text, state FROM sms_out"):
        out_rows[(to, text)] += 1
        if state != "sent":
            not_sent.append("%s %s %r" % (state, to, text))
    missing = ["%s %r: %d rows, %d accepted" % (k[0], k[1], n, mt_copies[k]) for k, n in out_rows.items() if mt_copies[k] < n]
    R.check(not not_sent and not missing, "every reply (%d) accepted by the SMSC" % sum(out_rows.values()), not_sent + missing)
    extra = sum(max(0, n - out_rows[k]) for k, n in mt_copies.items())
    over = ["%s %r: %d copies for %d rows" % (k[0], k[1], n, out_rows[k]) for k, n in mt_copies.items()
            if n - out_rows[k] > len(faults)]
    R.check(not dup_bad and not over, "second copies only at faults, one per fault at most (%d extra copies, %d faults)" % (extra, len(faults)),
            dup_bad + over)

    # ---- wallets ---------------------------------------------------------------------------
    neg = q("SELECT a.name, min(run) FROM (SELECT account_id, sum(amount) OVER (PARTITION BY account_id "
            "ORDER BY posting_id ROWS UNBOUNDED PRECEDING) AS run FROM ledger_lines) l "
            "JOIN accounts a ON a.id = l.account_id WHERE a.kind = 'wallet' GROUP BY a.name HAVING min(run) < 0")
    neg += q("SELECT name, balance FROM accounts WHERE kind = 'wallet' AND balance < 0")
    R.check(not neg, "no wallet below zero at any posting", neg)
    sms_1002 = q("SELECT count(*) FROM sms_out WHERE text LIKE 'ERR 1002 %'")[0][0]
    R.check(sms_1002 + api_1002 > 0, "the poor wallets ran dry (%d SMS, %d API 1002 refusals)" % (sms_1002, api_1002))

    # ---- the provider's truth ------------------------------------------------------------
    u = urllib.parse.urlparse(a.provsim)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)

    def ps(path):
        conn.request("GET", path)
        r = conn.getresponse()
        return json.loads(r.read())
    ps_bad, ps_known, st = [], 0, {}
    try:
        ps_txns = [(r, ps("/_txn?txn_id=TXN%09d" % r[0]))
                   for r in q("SELECT id, state, provider, operator_ref FROM txns ORDER BY id")]
        st = ps("/_stats")
    except (OSError, ValueError, http.client.HTTPException) as e:
        ps_txns = []
        ps_bad.append("provsim's ledger unreadable: %r" % e)
    for (i, state, prov, ref), t in ps_txns:
        if t.get("done"):
            ps_known += 1
            if t["status"] == "SUCCESS" and (state != "SUCCESS" or prov != "agg" or ref != t.get("ref")):
                ps_bad.append("TXN%09d provsim SUCCESS ref %s, db %s %s ref %s" % (i, t.get("ref"), state, prov, ref))
            elif t["status"] == "FAILED" and state != "FAILED":
                ps_bad.append("TXN%09d provsim FAILED, db %s" % (i, state))
            elif t["status"] not in ("SUCCESS", "FAILED"):
                ps_bad.append("TXN%09d provsim %s, db %s" % (i, t["status"], state))
        elif state == "SUCCESS" and prov == "agg":
            ps_bad.append("TXN%09d never taken by provsim, db SUCCESS at agg" % i)
    if st and st.get("recharges_done") != ps_known:
        ps_bad.append("provsim took %s recharges, the database knows %d of them" % (st.get("recharges_done"), ps_known))
    R.check(not ps_bad, "provider agreement: nothing provsim did refunded, nothing it refused kept (%d taken)" % ps_known, ps_bad)

    # ---- summary ---------------------------------------------------------------------------
    pbad = sum(int(st.get(k, 0)) for k in ("answered_503", "answered_500", "answered_garbage", "hung_total"))
    counts = dict(q("SELECT state, count(*) FROM txns GROUP BY state"))
    print("# SMSC: %s" % stats)
    print("# provsim: %d requests, %d taken, 503=%s 500=%s garbage=%s hung=%s duplicates=%s, %d fault windows" % (
        st.get("requests", 0), ps_known, st.get("answered_503"), st.get("answered_500"), st.get("answered_garbage"),
        st.get("hung_total"), st.get("duplicates"), a.pfaults))
    print("# txns: %s; SMSC link faults: %d drops, %d other closes" % (
        " ".join("%s=%d" % kv for kv in sorted(counts.items())), drops, closes))
    lost = len(mo_lost) + len(api_lost) + len(not_sent) + len(missing) + len(untold)
    doubled = len(mo_doubled) + len(mo_replayed) + len(api_bad) + len(strays) + len(dup_bad) + len(over)
    print("# soak: kills=%d sms=%d api=%d faults=%d lost=%d doubled=%d seed=%s" % (
        a.kills, len(mos), len(recs), drops + pbad + a.pfaults, lost, doubled, a.seed))
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
