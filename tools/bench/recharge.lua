-- tools/bench/recharge.lua: POST /api/v1/recharge, JSON body, key in X-API-Key. Every
-- request has its own mobile number (9 RUN THREAD NNNNNNN) so the duplicate guard never
-- refuses one, and its own request_id (bRUN-THREAD-N, which status.lua asks about); keys
-- (retailers) are taken in turn.
dofile((os.getenv("BENCH_DIR") or "tools/bench") .. "/common.lua")

function init(args)
	bench_init()
end

function request()
	n = n + 1
	local body = string.format(
		'{"mobile":"9%d%d%07d","operator":"AIRTEL","amount":10,"request_id":"b%d-%d-%d"}',
		run, id % 10, n % 10000000, run, id, n)
	return wrk.format("POST", "/api/v1/recharge",
		{ ["X-API-Key"] = keys[n % #keys + 1], ["Content-Type"] = "application/json" }, body)
end
