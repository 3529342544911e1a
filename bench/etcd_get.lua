-- wrk script for the etcd GET run of bench/run: one static request,
-- POST <BENCH_ETCD_RANGE> {"key":"<BENCH_ETCD_KEY_B64>"} (etcd's v3 JSON
-- gateway).  No request()/response() functions, so wrk sends it as cheaply
-- as a plain GET; wrk itself reports non-2xx/3xx answers.
wrk.method = "POST"
wrk.path   = os.getenv("BENCH_ETCD_RANGE") or "/v3/kv/range"
wrk.body   = '{"key":"' .. (os.getenv("BENCH_ETCD_KEY_B64") or "") .. '"}'
wrk.headers["Content-Type"] = "application/json"
