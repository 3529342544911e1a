# Rate limits on one node: the RateLimit-* headers of every answer under a
# limit, the 429 with Retry-After and its sentence once the window is full,
# and what is never limited (no limit set, /health, the signed internal
# endpoints).  Anonymous clients count by address: here every request
# comes from 127.0.0.1.  Reset is when the oldest request counted leaves
# the window of 60 s: with buckets of 3 s, 60 to 63 s after it came
# (README, Rate limits).
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;
use KVS::Token;

add_block_preprocessor(\&KVS::Blocks::empty_store);

our $Limit3 = ">>> node.yaml\ndata_dir: html/data\n"
            . "rate_limit_requests: 3\nrate_limit_window: 60\n";

# auth on (KVS::Blocks::auth_store's files) and a limit of 2
our $Auth2 = ">>> node.yaml\ndata_dir: html/data\nauth_enabled: true\n"
           . "jwt_secret_file: html/jwt.secret\n"
           . "admin_password_file: html/admin.pw\n"
           . "rate_limit_requests: 2\naudit_enabled: false\n"
           . ">>> jwt.secret\n$KVS::Token::Secret\n"
           . ">>> admin.pw\nadmin-password\n";

our $Too = qr/^\{"error":"too many requests: the limit of this client address is 3 per 60 seconds; retry in 6[0-3] seconds"\}\n$/;

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: under a limit every answer says the limit, what is left and when room comes
--- user_files eval
$::Limit3
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/a\n{\"n\":1}", "GET /kv/a", "GET /kv/missing"]
--- error_code eval
[200, 200, 404]
--- response_headers eval
["RateLimit-Limit: 3\nRateLimit-Remaining: 2\n!Retry-After",
 "RateLimit-Limit: 3\nRateLimit-Remaining: 1",
 "RateLimit-Limit: 3\nRateLimit-Remaining: 0"]
--- raw_response_headers_like eval
[(qr/RateLimit-Reset: 6[0-3]\r\n/) x 3]
--- response_body_like eval
[qr/"uuid"/, qr/^\{"n":1\}$/, qr/not found/]
--- no_error_log
[error]



=== TEST 2: the request over the limit is 429, with Retry-After and a JSON sentence, and changes nothing
--- user_files eval
$::Limit3
--- config
location / { kvs_api; }
--- request eval
["GET /kv/a", "GET /kv/a", "GET /kv/a", "PUT /kv/a\n1", "GET /kv/a"]
--- error_code eval
[404, 404, 404, 429, 429]
--- response_headers eval
["RateLimit-Remaining: 2", "RateLimit-Remaining: 1",
 "RateLimit-Remaining: 0",
 "RateLimit-Limit: 3\nRateLimit-Remaining: 0\nContent-Type: application/json",
 "RateLimit-Limit: 3\nRateLimit-Remaining: 0\nContent-Type: application/json"]
--- raw_response_headers_like eval
["", "", "", qr/Retry-After: 6[0-3]\r\n.*RateLimit-Reset: 6[0-3]\r\n|RateLimit-Reset: 6[0-3]\r\n.*Retry-After: 6[0-3]\r\n/s,
 qr/Retry-After: 6[0-3]\r\n/]
--- response_body_like eval
[qr/not found/, qr/not found/, qr/not found/, $::Too, $::Too]
--- no_error_log
[error]



=== TEST 3: rate_limit_requests 0, the default: no limit and no headers
--- config
location / { kvs_api; }
--- request eval
[("GET /kv/a") x 5]
--- error_code eval
[(404) x 5]
--- response_headers eval
[("!RateLimit-Limit\n!RateLimit-Remaining\n!RateLimit-Reset") x 5]
--- response_body_like eval
[(qr/not found/) x 5]



=== TEST 4: /health is never limited: a load balancer's probe must not be refused
--- user_files
>>> node.yaml
data_dir: html/data
rate_limit_requests: 1
--- config
location / { kvs_api; }
--- request eval
[("GET /health") x 4, "GET /kv/a", "GET /kv/a"]
--- error_code eval
[(200) x 4, 404, 429]
--- response_headers eval
[("!RateLimit-Limit") x 4, "RateLimit-Remaining: 0", "RateLimit-Remaining: 0"]
--- response_body_like eval
[(qr/"status":"ok"/) x 4, qr/not found/, qr/too many requests/]



=== TEST 5: the signed internal endpoints are never limited: an unsigned call is refused by its signature check, not by the limit
--- user_files
>>> node.yaml
data_dir: html/data
rate_limit_requests: 1
cluster_secret: 0123456789abcdef
--- config
location / { kvs_api; }
--- request eval
[("GET /_cluster/digest") x 3]
--- error_code eval
[(401) x 3]
--- response_headers eval
[("!RateLimit-Limit\n!Retry-After") x 3]



=== TEST 6: with auth on, a missing or bad token counts against the address; the 429 replaces the 401 and its challenge
--- user_files eval
$::Auth2
--- config
location / { kvs_api; }
--- more_headers
Authorization: Bearer not-a-token
--- request eval
[("GET /kv/team") x 3]
--- error_code eval
[401, 401, 429]
--- response_headers eval
["RateLimit-Remaining: 1\nWWW-Authenticate: Bearer realm=\"kvs\"",
 "RateLimit-Remaining: 0\nWWW-Authenticate: Bearer realm=\"kvs\"",
 "RateLimit-Remaining: 0\n!WWW-Authenticate"]
--- response_body_like eval
[qr/the token is malformed/, qr/the token is malformed/,
 qr/too many requests: the limit of this client address is 2 per 60 seconds/]



=== TEST 7: with auth on, logins are anonymous: failed ones count against the address
--- user_files eval
$::Auth2
--- config
location / { kvs_api; }
--- request eval
[("POST /api/login\n{\"username\":\"admin\",\"password\":\"wrong-password\"}") x 3]
--- error_code eval
[401, 401, 429]
--- response_headers eval
["RateLimit-Remaining: 1", "RateLimit-Remaining: 0",
 "RateLimit-Remaining: 0"]
--- response_body_like eval
[qr/wrong username or password|username or password/i,
 qr/username or password/i, qr/too many requests/]
