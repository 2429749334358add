-- tools/bench/balance.lua: GET /api/v1/balance with the keys (retailers) in turn.
dofile((os.getenv("BENCH_DIR") or "tools/bench") .. "/common.lua")

function init(args)
	bench_init()
end

function request()
	n = n + 1
	return wrk.format("GET", "/api/v1/balance", { ["X-API-Key"] = keys[n % #keys + 1] })
end
