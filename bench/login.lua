-- wrk script of bench/auth: POST /api/login of one user,
-- {"username":"<BENCH_LOGIN_USER>","password":"<BENCH_LOGIN_PASSWORD>"}
-- (neither may hold a quote or a backslash: bench/auth chooses them).  One
-- static request; wrk itself counts answers that are not 2xx/3xx.
local user = os.getenv("BENCH_LOGIN_USER")
local password = os.getenv("BENCH_LOGIN_PASSWORD")
assert(user and password, "BENCH_LOGIN_USER or BENCH_LOGIN_PASSWORD is not set")
wrk.method = "POST"
wrk.path   = "/api/login"
wrk.body   = '{"username":"' .. user .. '","password":"' .. password .. '"}'
wrk.headers["Content-Type"] = "application/json"
