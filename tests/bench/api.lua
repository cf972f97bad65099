-- wrk script of tests/bench/api.sh: authenticated requests spread over the
-- benchmark's users, each request with its own user's token.
--
--   wrk -t THREADS ... -s api.lua URL -- MODE DATAFILE FIRST_OCTET THREADS
--
-- MODE write: PUT /api/v1/domains/{name}/rrsets with an A RRset holding an
--   address no earlier request of this run used (FIRST_OCTET.x.y.z from the
--   request's number and the thread), so every request really writes.
-- MODE read: GET /api/v1/dns-records/{id} of the user's record.
-- DATAFILE: one line per user: "DOMAIN TOKEN RECORD_ID".
--
-- Consecutive requests of a thread go to different users, and the two
-- threads interleave, so with fewer connections than users no two requests
-- in flight touch the same domain (no lock waits that a real spread of
-- clients would not have). done() prints one machine-readable line:
--   wrk-result requests=N duration_us=D non2xx=E socket_errors=S
-- (non2xx: wrk's count of answers with a status above 399; any is an error).

local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	mode = args[1]
	local file = args[2]
	first = tonumber(args[3] or "10")
	nthreads = tonumber(args[4] or "2")
	users = {}
	for line in io.lines(file) do
		local domain, token, id = line:match("^(%S+) (%S+) (%S+)$")
		if domain then
			table.insert(users, {
				domain = domain,
				headers = {
					["Authorization"] = "Bearer " .. token,
					["Content-Type"] = "application/json",
				},
				put = "/api/v1/domains/" .. domain .. "/rrsets",
				get = "/api/v1/dns-records/" .. id,
			})
		end
	end
	if #users == 0 then
		error("no users in " .. file)
	end
	n = 0
end

function request()
	-- tid is set by setup() in each thread's own state
	local k = n * nthreads + tid
	n = n + 1
	local u = users[(k % #users) + 1]
	if mode == "read" then
		return wrk.format("GET", u.get, u.headers)
	end
	-- 24 bits of k: unique within a run of fewer than 16.7 M requests
	local v = k % 16777216
	local addr = string.format("%d.%d.%d.%d", first, math.floor(v / 65536),
		math.floor(v / 256) % 256, v % 256)
	local body = '{"rrsets":[{"name":"' .. u.domain .. '","type":"A","records":["' ..
		addr .. '"]}]}'
	return wrk.format("PUT", u.put, u.headers, body)
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"wrk-result requests=%d duration_us=%d non2xx=%d socket_errors=%d " ..
		"p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
		summary.requests, summary.duration, e.status,
		e.connect + e.read + e.write + e.timeout,
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
