-- signed-read.lua — wrk script for bench/http-reads: signed GETs, each set
-- of headers sent once.
--
--   wrk ... -s bench/signed-read.lua URL -- HEADERS_FILE PATH NTHREADS
--
-- HEADERS_FILE is the output of `medchain query --print-headers --count N
-- PATH`: sets of four "Name: value" lines, each set followed by a blank
-- line, each with its own nonce. A node refuses a (key, nonce) pair it has
-- seen (REQUEST_REPLAYED), so every request must carry a fresh set: thread
-- i of NTHREADS takes sets i, i + NTHREADS, ... and sends each once, in
-- order. wrk's request() must always return a request, so when a thread's
-- share runs out it resends its last set (answered 401, a non-2xx in wrk's
-- report) and counts it; done() prints how many sets were used and how many
-- requests went beyond the pool. Size the pool above duration x rate.

local threads = {}
local nsetup = 0

function setup(thread)
  thread:set("id", nsetup)
  nsetup = nsetup + 1
  table.insert(threads, thread)
end

function init(args)
  local file, path, nthreads = args[1], args[2], tonumber(args[3])
  assert(file and path and nthreads and nthreads >= 1, "usage: -- HEADERS_FILE PATH NTHREADS")
  reqs = {}
  used = 0
  over = 0
  local i, cur, n = 0, {}, 0
  for line in io.lines(file) do
    if line == "" then
      assert(n == 4, "a set has four header lines")
      if i % nthreads == id then
        reqs[#reqs + 1] = wrk.format("GET", path, cur)
      end
      i = i + 1
      cur, n = {}, 0
    else
      local name, value = line:match("^([^:]+): (.*)$")
      assert(name, "a header line is 'Name: value'")
      cur[name] = value
      n = n + 1
    end
  end
  pool = #reqs
  assert(pool > 0, "no header sets for this thread")
end

function request()
  if used < pool then
    used = used + 1
    return reqs[used]
  end
  over = over + 1
  return reqs[pool]
end

function done(summary, latency, requests)
  local u, o, p = 0, 0, 0
  for _, t in ipairs(threads) do
    u = u + t:get("used")
    o = o + t:get("over")
    p = p + t:get("pool")
  end
  io.write(string.format("signed sets: %d of %d used, %d requests beyond the pool\n", u, p, o))
end
