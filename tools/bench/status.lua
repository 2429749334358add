-- tools/bench/status.lua: GET /api/v1/status?request_id=... for recharges an earlier
-- recharge.lua run made: run BENCH_STATUS_RUN, thread 0 or 1, request numbers 1 to
-- BENCH_STATUS_N (from 11: wrk may make a first request it never sends), each asked with the key that made it (recharge.lua's key n % #keys + 1).
dofile((os.getenv("BENCH_DIR") or "tools/bench") .. "/common.lua")

function init(args)
	bench_init()
	srun = tonumber(os.getenv("BENCH_STATUS_RUN") or "1")
	smax = tonumber(os.getenv("BENCH_STATUS_N") or "1000")
	sthreads = tonumber(os.getenv("BENCH_STATUS_THREADS") or "2")
end

function request()
	local t = math.random(0, sthreads - 1)
	local k = math.random(11, smax)
	return wrk.format("GET", string.format("/api/v1/status?request_id=b%d-%d-%d", srun, t, k),
		{ ["X-API-Key"] = keys[k % #keys + 1] })
end
