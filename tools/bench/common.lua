-- tools/bench/common.lua: what the wrk scripts share (loaded with dofile from each).
-- Counts, per thread, answers that are not 2xx and answers whose body is not
-- "status":"success" (an error answered with 200 is still not a recharge), paces requests
-- when BENCH_RATE is set, and prints one machine-readable line at the end:
--   WRK requests=N duration_s=S rps=R ok_rps=R non2xx=N notsuccess=N sockerr=N
--       p50_ms=X p99_ms=X p999_ms=X max_ms=X
-- Environment: BENCH_KEYS (file, one API key a line), BENCH_RUN (a digit that keeps the
-- numbers of one run apart from the others'), BENCH_RATE (requests a second over all
-- connections; 0 or unset: as fast as answers come), BENCH_CONNS (wrk's -c).

local threads = {}
local next_id = 0

-- runs in the main Lua state once per thread: give each thread its number
function setup(thread)
	thread:set("id", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end

keys = {}
n = 0
non2xx = 0
notsuccess = 0

-- the keys and the run's digit, read by each thread
function bench_init()
	local f = os.getenv("BENCH_KEYS")
	if f then
		for line in io.lines(f) do
			if #line > 0 then keys[#keys + 1] = line end
		end
	end
	if #keys == 0 then keys[1] = "none" end
	run = tonumber(os.getenv("BENCH_RUN") or "1") % 10
	math.randomseed(id * 7919 + run)
end

-- the answer is counted once its body is parsed (wrk calls this only when defined)
function response(status, headers, body)
	if status < 200 or status > 299 then non2xx = non2xx + 1 end
	if not body or not string.find(body, '"status":"success"', 1, true) then
		notsuccess = notsuccess + 1
		if notsuccess <= 3 and os.getenv("BENCH_DEBUG") then
			io.stderr:write(string.format("answer %d: %s\n", status, body or ""))
		end
	end
end

-- open loop-ish pacing: wrk waits delay() ms before each request of a connection, so a
-- connection's period is conns * 1000 / rate ms; jitter in [0.5, 1.5) of it keeps the
-- connections out of step and random rounding keeps whole milliseconds right on average
local rate = tonumber(os.getenv("BENCH_RATE") or "0")
local conns = tonumber(os.getenv("BENCH_CONNS") or "64")
if rate > 0 then
	local per = conns * 1000 / rate
	function delay()
		local d = per * (0.5 + math.random())
		local whole = math.floor(d)
		if math.random() < d - whole then whole = whole + 1 end
		return whole
	end
end

-- the main state, at the end: totals from every thread and the latency percentiles
function done(summary, latency, requests)
	local bad, notok = 0, 0
	for _, t in ipairs(threads) do
		bad = bad + t:get("non2xx")
		notok = notok + t:get("notsuccess")
	end
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format(
		"WRK requests=%d duration_s=%.2f rps=%.0f ok_rps=%.0f non2xx=%d notsuccess=%d sockerr=%d " ..
		"p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f\n",
		summary.requests, secs, summary.requests / secs, (summary.requests - notok) / secs,
		bad, notok, e.connect + e.read + e.write + e.timeout,
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		latency:percentile(99.9) / 1000, latency.max / 1000))
end
