-- wrk script of bench/data: writes each of N keys once, as fast as the
-- server takes them, and stops.
--
-- Environment (set by bench/data):
--   BENCH_FILL_N       how many keys: PUT /kv/<prefix><i> for i in 0..N-1
--   BENCH_FILL_PREFIX  the keys' prefix, e.g. "p/"
--   BENCH_FILL_WIDTH   i zero-padded to this many digits (0: as is), so
--                      that key order is number order
--   BENCH_FILL_FILE    one JSON document a line, line i for key i; or
--   BENCH_FILL_VALUE   the one JSON value of every key
--   BENCH_THREADS      wrk's -t
--
-- Thread t of T sends keys t, t+T, t+2T, ...  wrk 4 calls request() once
-- before the run to check it and drops that request, so thread 0 returns
-- its first key twice.  A thread that has sent all its keys sends GET
-- /health, 20 ms apart, until its last PUT is answered, then prints
-- "FILL-DONE <thread>" and stops.  wrk itself runs for its -d whatever its
-- threads do, so bench/data interrupts it (SIGINT) once every thread is
-- done, and checks the store's key count.  done() prints one line that
-- bench/data checks:
--   FILL-CHECK ok=<PUTs answered 2xx> bad=<non-2xx> first_bad=<status>
--              statuses=<status>:<PUTs>,... (every PUT answered, by status)

local n      = tonumber(os.getenv("BENCH_FILL_N") or "0")
local prefix = os.getenv("BENCH_FILL_PREFIX") or "fill/"
local width  = tonumber(os.getenv("BENCH_FILL_WIDTH") or "0")
local file   = os.getenv("BENCH_FILL_FILE")
local value  = os.getenv("BENCH_FILL_VALUE") or '{"fill":true}'
local nthr   = tonumber(os.getenv("BENCH_THREADS") or "1")

local fmt = width > 0 and ("%0" .. width .. "d") or "%d"

-- main state ---------------------------------------------------------------

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("id", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

function done(summary, latency, requests)
   local ok, bad, first_bad = 0, 0, 0
   local by = {}
   for _, t in ipairs(threads) do
      ok = ok + (t:get("ok") or 0)
      bad = bad + (t:get("bad") or 0)
      local fb = t:get("first_bad") or 0
      if first_bad == 0 and fb ~= 0 then first_bad = fb end
      for st, c in pairs(t:get("statuses") or {}) do
         by[st] = (by[st] or 0) + c
      end
   end
   local list = {}
   for st, c in pairs(by) do list[#list + 1] = st .. ":" .. c end
   table.sort(list)
   io.write(string.format("FILL-CHECK ok=%d bad=%d first_bad=%d statuses=%s\n",
                          ok, bad, first_bad, table.concat(list, ",")))
end

-- thread states ------------------------------------------------------------

ok, bad, first_bad = 0, 0, 0
statuses = {}            -- status -> answers
local docs = {}          -- this thread's lines of BENCH_FILL_FILE
local mine = 0           -- keys of this thread
local sent = 0
local checked = false
local headers = { ["Content-Type"] = "application/json" }
local idle

function init(args)
   id = id or 0
   for i = id, n - 1, nthr do
      mine = mine + 1
   end
   if file then
      local f = assert(io.open(file, "r"))
      local i = 0
      for line in f:lines() do
         if i % nthr == id then
            docs[#docs + 1] = line
         end
         i = i + 1
      end
      f:close()
      assert(#docs >= mine, "BENCH_FILL_FILE has fewer than N lines")
   end
   idle = wrk.format("GET", "/health")
end

function request()
   if sent >= mine then
      return idle
   end
   local i = id + sent * nthr
   local body = file and docs[sent + 1] or value
   local r = wrk.format("PUT", "/kv/" .. prefix .. string.format(fmt, i),
                        headers, body)
   if id == 0 and not checked then
      checked = true         -- wrk's check: the same key comes again
   else
      sent = sent + 1
   end
   return r
end

function delay()
   return sent >= mine and 20 or 0
end

function response(status, headers, body)
   if not headers["ETag"] and not headers["etag"] and status == 200 then
      return                 -- an idle GET /health
   end
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == 0 then first_bad = status end
   end
   if ok + bad == mine then
      io.write(string.format("FILL-DONE %d\n", id))
      io.flush()
      wrk.thread:stop()
   end
end
