#!/usr/bin/env python3
"""API load for the chaos soak (tests/soak/soak.sh).

Threads send POST /api/v1/recharge, each request with its own request_id. A connection
error, a timeout, 3001/3002 (500/503) or 1007 (429) means "not answered": the SAME
request_id is sent again once the daemon is back (bounded by --retry-s). Every request's
answers are written, one JSON line per request, to --out:
  {"rid", "msisdn", "mobile", "amount", "tries", "answers": [[http, body-dict], ...],
   "final": body-dict or null}
Runs until --stop FILE exists; then finishes the request in hand and exits.
"""
import argparse
import http.client
import json
import os
import random
import threading
import time

RETRY_CODES = {"3001", "3002", "1007"}


def one_call(port, key, body, timeout):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", "/api/v1/recharge", body=json.dumps(body),
                  headers={"Content-Type": "application/json", "X-API-Key": key})
        r = c.getresponse()
        raw = r.read()
        return r.status, raw
    finally:
        c.close()


def worker(args, idx, keys, out, lock, stop_at):
    rng = random.Random(args.seed * 1000 + idx)
    n = 0
    while not os.path.exists(args.stop):
        n += 1
        msisdn, key = rng.choice(keys)
        rec = {"rid": "soak-%d-%d-%d" % (args.seed, idx, n), "msisdn": msisdn,
               "mobile": "6%d%08d" % (idx, n), "operator": rng.choice(["AIRTEL", "AIRTEL", "JIO"]),
               "amount": rng.randint(10, 60), "tries": 0, "answers": [], "final": None}
        body = {"mobile": rec["mobile"], "operator": rec["operator"],
                "amount": rec["amount"], "request_id": rec["rid"]}
        deadline = time.time() + args.retry_s
        while time.time() < deadline:
            rec["tries"] += 1
            try:
                st, raw = one_call(args.port, key, body, args.timeout)
            except (OSError, http.client.HTTPException) as e:
                rec["answers"].append([0, {"error": type(e).__name__}])
                time.sleep(0.2 + rng.random() * 0.3)
                continue
            try:
                ans = json.loads(raw)
            except ValueError:
                ans = {"unparsed": raw[:200].decode("latin-1")}
            rec["answers"].append([st, ans])
            if not isinstance(ans, dict) or "status" not in ans or ans.get("error_code") in RETRY_CODES:
                time.sleep(0.2 + rng.random() * 0.3)
                continue
            rec["final"] = ans
            break
        with lock:
            out.write(json.dumps(rec) + "\n")
            out.flush()
        time.sleep(rng.random() * args.gap)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--keys", required=True, help="file: MSISDN KEY per line")
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--gap", type=float, default=0.2, help="max pause between requests (s)")
    ap.add_argument("--timeout", type=float, default=8.0)
    ap.add_argument("--retry-s", type=float, default=90.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    keys = [tuple(l.split()) for l in open(a.keys) if l.strip()]
    lock = threading.Lock()
    with open(a.out, "w") as out:
        ts = [threading.Thread(target=worker, args=(a, i, keys, out, lock, None)) for i in range(a.threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


if __name__ == "__main__":
    main()
