-- wrk script of bench/auth: GET of the URL with "Authorization: Bearer
-- <BENCH_TOKEN>".  One static request and no request()/response()
-- functions, so wrk sends it as cheaply as the anonymous GET it is compared
-- with; wrk itself counts answers that are not 2xx/3xx.
local token = os.getenv("BENCH_TOKEN")
assert(token and token ~= "", "BENCH_TOKEN is not set")
wrk.headers["Authorization"] = "Bearer " .. token
