-- wrk script for the durable PUT runs of bench/run, bench/ops and
-- bench/write.
--
-- Environment (set by the bench):
--   BENCH_TARGET  "kvs"    -> PUT  /kv/bench/put/<n>       body = the JSON
--                 "etcd"   -> POST <BENCH_ETCD_PUT>         body = {"key":b64,"value":b64}
--                 "etcdv2" -> PUT  /v2/keys/bench/put/<n>  body = value=<v>,
--                             a form, v the JSON url-encoded
--   BENCH_VALUE   the JSON value
--   BENCH_KEYS    how many distinct keys (default 10000)
--   BENCH_ETCD_PUT  the gateway path, e.g. /v3/kv/put
--   BENCH_THREADS   wrk's -t
--
-- Every request is built once in init(), so request() costs wrk only a table
-- lookup.  Thread t of T sends keys t, t+T, t+2T, ... (mod BENCH_KEYS).
-- response() counts the answers by status; done() prints one line that
-- bench/run and bench/data check:
--   PUT-CHECK ok=<n> bad=<n> first_bad=<status> statuses=<status>:<n>,...

local target = os.getenv("BENCH_TARGET") or "kvs"
local value  = os.getenv("BENCH_VALUE") or '{"name":"John Doe","age":30,"email":"john@example.com"}'
local nkeys  = tonumber(os.getenv("BENCH_KEYS") or "10000")
local etcd_put = os.getenv("BENCH_ETCD_PUT") or "/v3/kv/put"
local nthr   = tonumber(os.getenv("BENCH_THREADS") or "1")

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
   local out = {}
   for i = 1, #s, 3 do
      local a, b, c = s:byte(i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      local c1 = math.floor(n / 262144) % 64
      local c2 = math.floor(n / 4096) % 64
      local c3 = math.floor(n / 64) % 64
      local c4 = n % 64
      out[#out + 1] = b64chars:sub(c1 + 1, c1 + 1)
                   .. b64chars:sub(c2 + 1, c2 + 1)
                   .. (b and b64chars:sub(c3 + 1, c3 + 1) or "=")
                   .. (c and b64chars:sub(c4 + 1, c4 + 1) or "=")
   end
   return table.concat(out)
end

-- a form field's value (application/x-www-form-urlencoded): every byte but
-- the unreserved ones as %XX
local function form(s)
   return (s:gsub("[^%w%-%._~]", function(c)
      return string.format("%%%02X", c:byte())
   end))
end

-- main state ---------------------------------------------------------------

local threads = {}
local nthreads = 0

-- wrk starts thread i before it calls setup() for thread i+1, so the thread
-- count comes from the environment, not from counting setup() calls.
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
   io.write(string.format("PUT-CHECK ok=%d bad=%d first_bad=%d statuses=%s\n",
                          ok, bad, first_bad, table.concat(list, ",")))
end

-- thread states ------------------------------------------------------------

ok, bad, first_bad = 0, 0, 0
statuses = {}            -- status -> answers
local reqs = {}
local counter = 0

function init(args)
   local vb64 = b64(value)
   local headers = { ["Content-Type"] = "application/json" }
   local form_headers =
      { ["Content-Type"] = "application/x-www-form-urlencoded" }
   local fvalue = "value=" .. form(value)
   for i = 0, nkeys - 1 do
      if target == "etcdv2" then
         reqs[i] = wrk.format("PUT", "/v2/keys/bench/put/" .. i, form_headers,
                              fvalue)
      elseif target == "etcd" then
         local body = '{"key":"' .. b64("bench/put/" .. i) .. '","value":"'
                      .. vb64 .. '"}'
         reqs[i] = wrk.format("POST", etcd_put, headers, body)
      else
         reqs[i] = wrk.format("PUT", "/kv/bench/put/" .. i, headers, value)
      end
   end
end

function request()
   local r = reqs[(counter * nthr + (id or 0)) % nkeys]
   counter = counter + 1
   return r
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == 0 then first_bad = status end
   end
end
